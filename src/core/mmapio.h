/*
 * mmapio.h — libmmapio: managed memory mappings of files with policy-driven
 * durability. The only header of src/core that other code may include.
 *
 * Conventions
 *   - Every function returns 0 (or a non-negative count) on success and a
 *     negative errno value on failure. errno itself is never the channel.
 *   - Constructors return the object through an out-parameter; on failure
 *     the out-parameter is left untouched and nothing is leaked.
 *   - struct mmapio_file is opaque, reference counted and thread-safe: any
 *     function may be called from any thread on a file that the caller holds
 *     a reference to.
 *   - Ranges are (offset, length) in bytes. A range whose end lies beyond the
 *     current length, or whose offset + length overflows, is -ERANGE unless
 *     stated otherwise. A zero-length range is valid at any offset <= length.
 *   - Copies to and from a mapping run under a SIGBUS guard: if the backing
 *     file was truncated by someone else, the disk is full under a hole, or
 *     the device reports an I/O error, the call returns -EIO and the process
 *     lives on.
 *
 * Durability (see docs/durability.md for the full table)
 *   Each file has a flush policy. Writes through any path (mmapio_write,
 *   mutable views on release, mutable chunk iteration, atomics, declared raw
 *   writes) are counted by the write accumulator: pending bytes at page
 *   granularity (a page dirtied twice counts once) and pending write calls.
 *   When a threshold of the policy is reached, the write that reached it
 *   makes the file durable before it returns. Flushes are always durable
 *   (msync MS_SYNC / fdatasync), never MS_ASYNC.
 *
 *   What a machine crash can lose, after a write call returned:
 *     never     what the kernel has not written back yet (Linux: ~30 s)
 *     always    nothing: the written range is durable before return
 *     bytes=N   at most N bytes of acknowledged writes (page granularity)
 *     writes=N  at most N-1 acknowledged write calls
 *     ms=T      acknowledged writes older than T ms, plus one flush duration
 *   A process crash loses nothing that reached a shared mapping: it is the
 *   kernel's page cache.
 */
#ifndef MMAPIO_H
#define MMAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMAPIO_WUR __attribute__((warn_unused_result))

/* ------------------------------------------------------------------------
 * Flush policies (policy.c)
 * ------------------------------------------------------------------------ */

enum mmapio_policy_kind {
	MMAPIO_POLICY_NEVER = 0,     /* flush only when asked */
	MMAPIO_POLICY_ALWAYS,        /* every write is durable before it returns */
	MMAPIO_POLICY_THRESHOLD,     /* first of bytes / writes / ms reached */
};

/* A flush policy. For MMAPIO_POLICY_THRESHOLD at least one of the three
 * thresholds is non-zero; zero means "not set". */
struct mmapio_policy {
	enum mmapio_policy_kind kind;
	uint64_t bytes;   /* flush when pending bytes >= bytes */
	uint64_t writes;  /* flush when pending write calls >= writes */
	uint64_t ms;      /* flush when the oldest pending write is ms old */
};

/* Longest canonical policy text, including the terminating NUL. */
#define MMAPIO_POLICY_TEXT_MAX 96

/* Parses "never", "always" or a comma-separated combination of "bytes=SIZE",
 * "writes=N", "ms=N" (each at most once, in any order; surrounding blanks
 * allowed). SIZE takes an optional binary unit K/KiB, M/MiB, G/GiB.
 * Returns 0, or -EINVAL with a one-line message saying what is wrong written
 * to err (when err is not NULL; truncated to errlen). Zero, negative and
 * overflowing values are invalid. Thread-safe, no allocation. */
int mmapio_policy_parse(const char *text, struct mmapio_policy *out,
			char *err, size_t errlen);

/* Writes the canonical text of p ("never", "always", or thresholds in the
 * order bytes, writes, ms joined by commas, sizes in the largest binary unit
 * that divides them: "bytes=4MiB,ms=500") to buf. Returns the text length
 * (snprintf-style: it may exceed len - 1, then the text was truncated), or
 * -EINVAL for an invalid policy. */
int mmapio_policy_format(const struct mmapio_policy *p, char *buf, size_t len);

/* True when a and b are the same policy. */
bool mmapio_policy_equal(const struct mmapio_policy *a,
			 const struct mmapio_policy *b);

/* Returns 0 when p is a valid policy, else -EINVAL. */
int mmapio_policy_validate(const struct mmapio_policy *p);

/* ------------------------------------------------------------------------
 * Opening and closing (file.c)
 * ------------------------------------------------------------------------ */

struct mmapio_file;

enum mmapio_mode {
	MMAPIO_RO = 0,   /* PROT_READ, MAP_SHARED; writes are -EBADF */
	MMAPIO_RW,       /* PROT_READ|PROT_WRITE, MAP_SHARED */
	MMAPIO_COW,      /* MAP_PRIVATE: writes (when cow_writable) never reach
			  * the file; flush is a no-op and returns
			  * MMAPIO_FLUSH_NOT_SHARED */
};

enum mmapio_open_how {
	MMAPIO_OPEN_EXISTING = 0,   /* the file must exist */
	MMAPIO_CREATE,              /* O_CREAT|O_EXCL, set to size */
	MMAPIO_OPEN_OR_CREATE,      /* race-free; never truncates; an existing
				     * empty file is extended to size */
};

/* The C builder: everything mmapio_open() can be told. Initialise with
 * mmapio_options_init() and change what you need. */
struct mmapio_options {
	enum mmapio_mode mode;        /* default MMAPIO_RO */
	enum mmapio_open_how how;     /* default MMAPIO_OPEN_EXISTING */
	uint64_t size;                /* CREATE / OPEN_OR_CREATE: initial size */
	mode_t create_mode;           /* default 0644 (before umask) */
	struct mmapio_policy policy;  /* default never */
	bool cow_writable;            /* COW: map PROT_WRITE too (default false) */
	bool populate;                /* touch hint: fault pages in at open */
	bool hugepages;               /* hint: MADV_HUGEPAGE on the mapping */
	bool preallocate;             /* default true: fallocate ranges before
				       * writing into them (DESIGN §3.3) */
	uint64_t reserve;             /* address space to reserve up front so
				       * growth up to it never moves the mapping
				       * (0: none) */
	bool unmapped_fallback;       /* default false. When the kernel refuses
				       * to map the file (ENODEV: a file system
				       * without shared mmap, e.g. a FUSE file
				       * system serving direct_io files; or
				       * ENOMEM: no address space left for it),
				       * open the file anyway without a
				       * mapping: see "Files without a mapping"
				       * below. RO and RW only; COW stays
				       * -ENODEV / -ENOMEM. */
	bool no_mapping;              /* default false. Open without a mapping
				       * whatever the kernel would say (a caller
				       * that bounds its address space); RO and
				       * RW only (COW: -EINVAL). */
};

void mmapio_options_init(struct mmapio_options *o);

/* Opens (or creates) path as told by o and maps it.
 * Errors: -EINVAL bad options; -ENOENT, -EEXIST, -EACCES, -EISDIR, ... from
 * open(2); -ENODEV a file that cannot be mapped (unless
 * o->unmapped_fallback; an empty file is probed with a one-page mapping, so
 * the answer comes at open, not at the first growth); -ENOMEM; -ENOSPC
 * when growing.
 *
 * Files without a mapping (o->no_mapping; or o->unmapped_fallback, and the
 * kernel said ENODEV or ENOMEM): mmapio_is_mapped() is false. The object keeps the fd and the
 * length (from fstat) and the same durability state as any file: pending
 * counts, ms deadlines through the flusher, the sticky error, the close
 * rule. Then
 *   - mmapio_read/mmapio_write/mmapio_write_grow (and segments' reads and
 *     writes) use pread/pwrite with the same bounds, growth and allocation
 *     rules; a write is accounted like a write through the mapping (pages
 *     dirtied, one write call, the policy applied, `always` durable before
 *     return). A short pread (the file was cut from outside) is -EIO, as a
 *     fault in the mapping would be.
 *   - every flush is fdatasync(fd); resize, truncate, refresh and prefetch
 *     work on the fd; mmapio_unmap hands the fd back as usual.
 *   - views, chunk walks, cursors, atomics, segments, declared raw writes,
 *     advise, touch, lock and unlock are -ENODEV; mmapio_ptr and
 *     mmapio_mut_ptr return NULL; mmapio_hugepage_backed is 0. */
int mmapio_open(const char *path, const struct mmapio_options *o,
		struct mmapio_file **out);

int mmapio_open_ro(const char *path, struct mmapio_file **out);
int mmapio_open_rw(const char *path, struct mmapio_file **out);
/* writable: map PROT_WRITE (changes stay private to this mapping). */
int mmapio_open_cow(const char *path, bool writable, struct mmapio_file **out);
/* Creates path exclusively (O_EXCL) with the given size, mode RW. */
int mmapio_create_rw(const char *path, uint64_t size, struct mmapio_file **out);
/* Opens path RW, creating it with default_size if missing; never truncates;
 * an existing empty file is extended to default_size. */
int mmapio_open_or_create(const char *path, uint64_t default_size,
			  struct mmapio_file **out);

/* Wraps a caller-opened fd (its access mode must fit mode). On success the
 * file owns fd: mmapio_close() closes it, mmapio_unmap() hands it back.
 * On failure the caller keeps fd. path is used for messages, stats and
 * mmapio_watch only (may be NULL); it is copied.
 * Errors: -EBADF fd not open, an O_PATH fd, or an access mode that does not
 * fit (RW needs O_RDWR; RO and COW need a readable fd); -EISDIR; -ENODEV
 * not a regular file, or a file the kernel cannot map; -ENOMEM. */
int mmapio_from_fd(int fd, enum mmapio_mode mode, const char *path,
		   struct mmapio_file **out);
/* As mmapio_from_fd() with full options (o->how and o->size are ignored). */
int mmapio_from_fd_opts(int fd, const struct mmapio_options *o,
			const char *path, struct mmapio_file **out);

/* An anonymous shared mapping of size bytes (RW, no file, flush no-op). */
int mmapio_anon(uint64_t size, struct mmapio_file **out);

/* Takes one more reference. Returns f. */
struct mmapio_file *mmapio_ref(struct mmapio_file *f);

/* Drops one reference. The last one applies the close rule of the policy
 * (anything but never: pending writes are flushed first), unmaps and closes
 * the fd. Returns the result of that flush (or 0); the file is released
 * either way. NULL is accepted. */
int mmapio_close(struct mmapio_file *f);

/* When f holds the only reference: flushes as mmapio_close() would, stops
 * its flusher registration, unmaps, frees f and returns the fd through
 * *fd_out (ownership passes to the caller); a failed flush is returned but
 * f is still released and *fd_out set. Otherwise returns -EBUSY and leaves
 * f and *fd_out untouched (a live view or segment holds a reference too).
 * Anonymous mappings return -EINVAL. */
int mmapio_unmap(struct mmapio_file *f, int *fd_out);

/* ------------------------------------------------------------------------
 * O(1) accessors (file.c)
 * ------------------------------------------------------------------------ */

uint64_t mmapio_len(const struct mmapio_file *f);
bool mmapio_is_empty(const struct mmapio_file *f);
enum mmapio_mode mmapio_mode(const struct mmapio_file *f);
/* The path given at open (NULL for anonymous mappings or none given). */
const char *mmapio_path(const struct mmapio_file *f);
/* The fd (owned by f; -1 for anonymous mappings). Do not close it. */
int mmapio_fd(const struct mmapio_file *f);
void mmapio_flush_policy(const struct mmapio_file *f, struct mmapio_policy *out);
/* False for a file opened without a mapping (options.unmapped_fallback);
 * true for every other file, anonymous mappings and empty files included.
 * Constant for the life of f. */
bool mmapio_is_mapped(const struct mmapio_file *f);
uint64_t mmapio_pending_bytes(const struct mmapio_file *f);
uint64_t mmapio_pending_writes(const struct mmapio_file *f);

struct mmapio_stats {
	uint64_t bytes_written;     /* bytes accounted by all write paths */
	uint64_t writes;            /* write calls accounted */
	uint64_t flushes;           /* successful durable flushes */
	uint64_t flush_errors;      /* failed flushes */
	uint64_t pending_bytes;     /* dirty bytes (pages x page size) */
	uint64_t pending_writes;    /* write calls since the last flush */
	int64_t last_flush_ns;      /* CLOCK_MONOTONIC of the last flush; 0 never */
	uint64_t last_flush_duration_ns;
	int sticky_error;           /* 0 or the first failed sync's -errno */
};

/* A snapshot of f's counters. Never blocks writers. */
void mmapio_stats(const struct mmapio_file *f, struct mmapio_stats *out);

/* The counters of the backing file (st_dev, st_ino) when the library keeps
 * them: while it is mapped, or after its last mapping closed with writes
 * still pending (policy never; see docs/durability.md for the bound on how
 * many such files are kept). Returns 0, or -ENOENT when none are kept. */
int mmapio_stats_by_id(dev_t dev, ino_t ino, struct mmapio_stats *out);

/* A file whose counters are kept without an open mapping. */
struct mmapio_file_info {
	dev_t dev;
	ino_t ino;
	const char *path;            /* the path given to its last mapping, or
				      * NULL; valid during the callback only */
	bool rw;                     /* its last mapping was MMAPIO_RW */
	struct mmapio_policy policy;
	struct mmapio_stats stats;
};
typedef int (*mmapio_detached_fn)(const struct mmapio_file_info *info,
				  void *ctx);
/* Calls fn for each such file, oldest first, under the library's registry
 * lock: fn must not call back into libmmapio. A non-zero return from fn
 * stops the walk and is returned. */
int mmapio_for_each_detached(mmapio_detached_fn fn, void *ctx);

/* ------------------------------------------------------------------------
 * Copying access (access.c)
 * ------------------------------------------------------------------------ */

/* Copies len bytes at off into buf. Returns 0; -ERANGE; -EIO (SIGBUS).
 * On a file without a mapping (mmapio_is_mapped false) the copies of this
 * section are pread/pwrite, which add their own -errno (-EIO for a file
 * cut short from outside). */
int mmapio_read(struct mmapio_file *f, uint64_t off, void *buf, size_t len);

/* Copies len bytes from data to off and accounts the write; applies the
 * policy (may flush before returning). Returns 0; -ERANGE; -EBADF on RO
 * (and COW unless writable); -EIO; -ENOSPC (preallocation); or the
 * policy flush's error. */
int mmapio_write(struct mmapio_file *f, uint64_t off, const void *data,
		 size_t len);

/* As mmapio_write(), but first grows the file (and mapping) when the write
 * ends past the current length; a gap before off stays a hole. Concurrent
 * growers never shrink the file or lose each other's bytes. A zero-length
 * write never grows (like pwrite). More errors: -EFBIG past INT64_MAX;
 * -ERANGE for COW and anonymous mappings, which cannot grow. If the copy
 * fails after the growth (-EIO, -ENOSPC in a hole before the old end), the
 * file keeps its new length. */
int mmapio_write_grow(struct mmapio_file *f, uint64_t off, const void *data,
		      size_t len);

/* ------------------------------------------------------------------------
 * Zero-copy views, raw pointers, iteration, atomics, segments (view.c ...)
 *
 * All of these need the mapping: on a file without one (mmapio_is_mapped
 * false) they return -ENODEV, the raw pointers NULL.
 * ------------------------------------------------------------------------ */

/* A pinned window of a mapping. While any view is held, resize and truncate
 * of that file wait. Fields are read-only for the caller. */
struct mmapio_view {
	struct mmapio_file *file;
	void *data;
	uint64_t off;
	size_t len;
	bool writable;
};

/* Pins [off, off+len) and points v at it. The caller must not touch bytes
 * outside [data, data+len) and must release the view. A view holds its own
 * reference to f (f stays mapped until the release, even if every other
 * reference is dropped meanwhile). Accessing the bytes is NOT under the
 * SIGBUS guard (use mmapio_read for that). A view holds no lock: its holder
 * may keep using f, but must not itself resize or refresh f (that waits
 * for the view). Returns 0; -ERANGE. */
int mmapio_view(struct mmapio_file *f, uint64_t off, size_t len,
		struct mmapio_view *v);
/* Mutable view (RW, or COW when writable): its bytes are accounted as
 * written when it is released. Holes in the range are allocated first
 * (preallocate). Returns 0; -ERANGE; -EBADF; -ENOSPC. */
int mmapio_view_mut(struct mmapio_file *f, uint64_t off, size_t len,
		    struct mmapio_view *v);
/* Unpins; a mutable view accounts its range and applies the policy, whose
 * flush result is returned; then drops the view's reference (when that was
 * the last one, the result of that close is returned as mmapio_close()
 * would). v is cleared; releasing a cleared view does nothing. */
int mmapio_view_release(struct mmapio_view *v);

/* Raw pointers — contract: the pointer is valid only while the caller holds
 * a reference AND no resize/truncate can run (the caller serialises them,
 * e.g. it is the only user). Bytes stored through mmapio_mut_ptr() are NOT
 * accounted until declared with mmapio_declare_written(). Returns NULL for
 * an empty mapping, or (mut) a mode that is not writable. */
const void *mmapio_ptr(const struct mmapio_file *f);
void *mmapio_mut_ptr(struct mmapio_file *f);
/* Accounts [off, off+len) as written through a raw pointer and applies the
 * policy. Returns 0; -ERANGE; -EBADF; or the policy flush's error. */
int mmapio_declare_written(struct mmapio_file *f, uint64_t off, size_t len);

/* Calls cb for consecutive chunks of [off, off+len), each at most chunk
 * bytes (chunk 0: the page size), without allocating. The mapping is pinned
 * and the SIGBUS guard armed during the walk (a fault returns -EIO). cb
 * returns 0 to go on; anything else stops the walk and is returned. */
typedef int (*mmapio_chunk_fn)(const void *data, size_t len, uint64_t off,
			       void *ctx);
typedef int (*mmapio_chunk_mut_fn)(void *data, size_t len, uint64_t off,
				   void *ctx);
int mmapio_for_each_chunk(struct mmapio_file *f, uint64_t off, uint64_t len,
			  size_t chunk, mmapio_chunk_fn cb, void *ctx);
/* Mutable walk: each chunk the callback saw is accounted as written. */
int mmapio_for_each_chunk_mut(struct mmapio_file *f, uint64_t off,
			      uint64_t len, size_t chunk,
			      mmapio_chunk_mut_fn cb, void *ctx);

/* Cursor form of the page walk, for callers that prefer a loop:
 *   struct mmapio_cursor c; mmapio_cursor_init(&c, f, off, len, 0);
 *   while (mmapio_cursor_next(&c, &p, &n) > 0) use(p, n);
 * The cursor does not pin; the caller ensures no concurrent shrink. */
struct mmapio_cursor {
	struct mmapio_file *file;
	uint64_t next, end;
	size_t chunk;
};
int mmapio_cursor_init(struct mmapio_cursor *c, struct mmapio_file *f,
		       uint64_t off, uint64_t len, size_t chunk);
/* Returns 1 with the next chunk, 0 at the end, or -errno. */
int mmapio_cursor_next(struct mmapio_cursor *c, const void **data, size_t *len);

/* Atomic integers inside the mapping, at naturally aligned offsets
 * (-EINVAL when misaligned, -ERANGE out of bounds; stores -EBADF when the
 * file is not writable; -EIO on a fault). Stores, exchanges and additions
 * are accounted as writes. */
int mmapio_atomic_load_u32(struct mmapio_file *f, uint64_t off, uint32_t *out);
int mmapio_atomic_load_u64(struct mmapio_file *f, uint64_t off, uint64_t *out);
int mmapio_atomic_store_u32(struct mmapio_file *f, uint64_t off, uint32_t v);
int mmapio_atomic_store_u64(struct mmapio_file *f, uint64_t off, uint64_t v);
/* old may be NULL. */
int mmapio_atomic_fetch_add_u64(struct mmapio_file *f, uint64_t off,
				uint64_t add, uint64_t *old);
/* Returns 1 when *expected matched and desired was stored, 0 when not
 * (then *expected is the current value; nothing is accounted), or -errno. */
int mmapio_atomic_cas_u64(struct mmapio_file *f, uint64_t off,
			  uint64_t *expected, uint64_t desired);

/* A sub-range of a file that re-validates its bounds on every use against
 * the file's current length (so a shrink makes it -ERANGE, not a fault).
 * The segment holds a reference to f until mmapio_segment_release(). */
struct mmapio_segment {
	struct mmapio_file *file;
	uint64_t off;
	uint64_t len;
};
int mmapio_segment(struct mmapio_file *f, uint64_t off, uint64_t len,
		   struct mmapio_segment *out);
int mmapio_segment_read(const struct mmapio_segment *s, uint64_t off,
			void *buf, size_t len);
int mmapio_segment_write(const struct mmapio_segment *s, uint64_t off,
			 const void *data, size_t len);
void mmapio_segment_release(struct mmapio_segment *s);

/* ------------------------------------------------------------------------
 * Size, allocation (resize.c)
 * ------------------------------------------------------------------------ */

/* Sets the file's length. Grow: extend the file (fallocate when preallocate
 * is on, else ftruncate), then mremap. Shrink: remap first, then truncate.
 * Waits for pinned views. The mapping never extends past EOF.
 * Returns 0; -EBADF (RO/COW/anon cannot change the file's size... anon and
 * COW: -EINVAL); -ENOSPC; -EFBIG; -ENOMEM. */
int mmapio_resize(struct mmapio_file *f, uint64_t size);

/* As mmapio_resize(), but with ftruncate(2)'s semantics for growth: the
 * new range is a hole (nothing allocated, even with preallocate; writes
 * into it later allocate what they touch). For a filesystem's setattr. */
int mmapio_truncate(struct mmapio_file *f, uint64_t size);

/* Re-reads the backing file's size (after a change made from outside) and
 * adjusts the mapping to it; also forgets what it knew about allocated
 * ranges (call it after punching holes through the fd). Waits for views
 * when the file shrank. Returns the new length (>= 0) or -errno (-EINVAL
 * for anonymous mappings). */
int64_t mmapio_refresh(struct mmapio_file *f);

/* ------------------------------------------------------------------------
 * Advice, prefetch, residency (advice.c)
 * ------------------------------------------------------------------------ */

enum mmapio_advice {
	MMAPIO_ADV_NORMAL = 0,
	MMAPIO_ADV_RANDOM,
	MMAPIO_ADV_SEQUENTIAL,
	MMAPIO_ADV_WILLNEED,
	MMAPIO_ADV_DONTNEED,
};

/* madvise() on the range (start widened down to a page boundary).
 * Returns 0; -ERANGE; -EINVAL; -ENODEV without a mapping (so are touch,
 * lock and unlock; prefetch works on the fd). */
int mmapio_advise(struct mmapio_file *f, uint64_t off, uint64_t len,
		  enum mmapio_advice advice);
/* posix_fadvise(WILLNEED) on the fd: starts read-ahead into the page cache;
 * complementary to mmapio_advise(WILLNEED) on the mapping. Returns 0
 * (also for anonymous mappings: nothing to read); -ERANGE. */
int mmapio_prefetch(struct mmapio_file *f, uint64_t off, uint64_t len);
/* Faults the range in (MADV_POPULATE_READ/WRITE where the kernel has it,
 * else a read of one byte per page under the SIGBUS guard). */
int mmapio_touch(struct mmapio_file *f, uint64_t off, uint64_t len);
/* mlock()/munlock() the range. Returns 0; -ERANGE; -ENOMEM; -EPERM. */
int mmapio_lock(struct mmapio_file *f, uint64_t off, uint64_t len);
int mmapio_unlock(struct mmapio_file *f, uint64_t off, uint64_t len);
/* Bytes currently mlock()ed through mmapio_lock() (page-rounded sums of
 * the ranges locked minus those unlocked; clamped to the mapping on
 * shrink). O(1). */
uint64_t mmapio_locked_bytes(const struct mmapio_file *f);
/* 1 when part of the mapping is backed by huge pages (from
 * /proc/self/smaps), 0 when not, -errno when it cannot tell. */
int mmapio_hugepage_backed(const struct mmapio_file *f);

/* ------------------------------------------------------------------------
 * Flushing and policy (flush.c)
 * ------------------------------------------------------------------------ */

/* Returned by flushes of private (COW) and anonymous mappings: nothing was
 * made durable because nothing there reaches a file. */
#define MMAPIO_FLUSH_NOT_SHARED 1

/* Makes everything written to the file durable (fdatasync of the file,
 * which also covers pages dirtied through the shared mapping and writes
 * made around it), even when nothing is pending. Returns 0; the file's
 * sticky error; MMAPIO_FLUSH_NOT_SHARED. */
MMAPIO_WUR int mmapio_flush(struct mmapio_file *f);
/* Makes [off, off+len) durable and debits exactly the pages it covered.
 * Returns as mmapio_flush(), or -ERANGE. */
MMAPIO_WUR int mmapio_flush_range(struct mmapio_file *f, uint64_t off,
				  uint64_t len);
/* Starts write-back of the range (sync_file_range WRITE). NOT durable:
 * neither the data nor the metadata is guaranteed on disk afterwards, and
 * nothing is debited. */
int mmapio_schedule_flush(struct mmapio_file *f, uint64_t off, uint64_t len);

/* Changes f's policy. It applies to the next write; a lowered threshold
 * that the pending counts already reach flushes now (whose result is
 * returned). Returns 0; -EINVAL. */
MMAPIO_WUR int mmapio_set_policy(struct mmapio_file *f,
				 const struct mmapio_policy *p);

/* Accounts a write that reached the file without going through the mapping
 * (pwrite fallback, copy_file_range, fallocate punch/zero) and applies the
 * policy. Returns 0; -ERANGE; or the policy flush's error. */
MMAPIO_WUR int mmapio_account_external_write(struct mmapio_file *f,
					     uint64_t off, uint64_t len);

/* Shuts the flusher service down: flushes what is due, joins its thread.
 * Files may still be used afterwards; the service restarts lazily. */
void mmapio_shutdown(void);

/* ------------------------------------------------------------------------
 * Watching for changes made outside (watch.c)
 * ------------------------------------------------------------------------ */

enum mmapio_watch_event {
	MMAPIO_WATCH_MODIFIED = 1 << 0,  /* content written */
	MMAPIO_WATCH_ATTRIB   = 1 << 1,  /* metadata (incl. size) changed */
	MMAPIO_WATCH_DELETED  = 1 << 2,  /* unlinked or moved away */
};

struct mmapio_watch;

/* Watches f's file with inotify, through its descriptor (renames and the
 * path's form do not matter; without /proc, through the path given at
 * open). An unlink that leaves no link is DELETED at once, although the
 * mapping keeps the inode alive. Returns 0; -EINVAL (anonymous); -errno. */
int mmapio_watch(struct mmapio_file *f, struct mmapio_watch **out);
/* A pollable fd (readable when events are pending). */
int mmapio_watch_fd(const struct mmapio_watch *w);
/* Waits up to timeout_ms (-1: forever, 0: poll) and returns the OR of the
 * events seen (0 on timeout) or -errno. */
int mmapio_watch_wait(struct mmapio_watch *w, int timeout_ms);
void mmapio_watch_close(struct mmapio_watch *w);

/* The library version string. */
const char *mmapio_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MMAPIO_H */
