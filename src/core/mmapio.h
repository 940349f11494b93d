/*
 * mmapio.h — libmmapio: managed memory mappings of files with policy-driven
 * durability. The only header of src/core that other code may include.
 * ABI: soname libmmapio.so.1 (CHANGELOG.md says what changed from .so.0).
 *
 * Conventions (every function below follows them unless it says otherwise)
 *   Return values: 0 (or a non-negative count) on success, a negative errno
 *     value on failure. errno itself is never the channel. Each function
 *     lists the errors it returns for its own reasons; errors of the
 *     syscalls it makes (open(2), fstat(2), mmap(2), ...) pass through as
 *     they are, as -errno.
 *   One error per cause, across every call:
 *     -EINVAL   a bad argument (NULL where an object is needed, a bad enum,
 *               an invalid policy, a misaligned atomic offset), or an
 *               anonymous mapping asked for something only a file has
 *     -ERANGE   a range past the current length, or whose off + len
 *               overflows; a zero-length range is valid at any off <= len
 *     -EBADF    a write (of bytes, a mutable view, an atomic store) to a
 *               mapping that is not writable: RO, or COW opened without
 *               cow_writable
 *     -ENOTSUP  a change of length of a mapping whose length is fixed: RO,
 *               COW and anonymous mappings cannot grow or shrink (resize,
 *               truncate, and write_grow past the end)
 *     -ENODEV   a file the kernel cannot map, or a call that needs the
 *               mapping on a file opened without one
 *     -EDEADLK  the calling thread would wait for its own view (or chunk
 *               walk, or atomic view) of the same file
 *     -EIO      a fault (SIGBUS) while copying, or an I/O error
 *     -ENOSPC   no room to allocate the bytes a write needs
 *     -ENOMEM   out of memory or address space
 *   Out-parameters: constructors fill theirs only on success; on failure
 *     they are left untouched and nothing is leaked.
 *   Ownership: struct mmapio_file is opaque and reference counted; whoever
 *     gets one from a constructor or mmapio_ref() owns one reference and
 *     gives it back with mmapio_close() (or mmapio_unmap(), mmapio_delete()).
 *     Buffers passed in stay the caller's and are not kept after the call;
 *     strings returned point into the library and live as long as stated.
 *   Thread-safety: a struct mmapio_file is thread-safe: any function may be
 *     called from any thread on a file the caller holds a reference to,
 *     concurrently with any other, except where a function says otherwise
 *     (the last close, one view/cursor/segment object used by two threads).
 *   SIGBUS: copies to and from a mapping run under a guard: if the backing
 *     file was truncated by someone else, the disk is full under a hole, or
 *     the device reports an I/O error, the call returns -EIO and the
 *     process lives on.
 *   Durability: a write is durable when the file's policy says (below);
 *     each write call says what it adds. Calls that do not write bytes make
 *     nothing durable unless they say so.
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
 *   kernel's page cache. COW and anonymous mappings reach no file: nothing
 *   of them is ever durable (mmapio_is_private()).
 */
#ifndef MMAPIO_H
#define MMAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: default visibility, even
 * when the library itself is compiled with -fvisibility=hidden. */
#pragma GCC visibility push(default)

#define MMAPIO_WUR __attribute__((warn_unused_result))

/* ------------------------------------------------------------------------
 * Flush policies (policy.c). All of these are pure functions: thread-safe,
 * no allocation, nothing kept, nothing made durable.
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

/* Parses text ("never", "always" or a comma-separated combination of
 * "bytes=SIZE", "writes=N", "ms=N", each at most once, in any order;
 * surrounding blanks allowed; SIZE takes an optional binary unit K/KiB,
 * M/MiB, G/GiB) into *out. err (may be NULL) receives a one-line message
 * saying what is wrong, truncated to errlen. Returns 0; -EINVAL (bad text;
 * zero, negative and overflowing values are invalid; *out untouched). */
int mmapio_policy_parse(const char *text, struct mmapio_policy *out,
			char *err, size_t errlen);

/* Writes the canonical text of p ("never", "always", or thresholds in the
 * order bytes, writes, ms joined by commas, sizes in the largest binary unit
 * that divides them: "bytes=4MiB,ms=500") to buf (len bytes). Returns the
 * text length (snprintf-style: it may exceed len - 1, then the text was
 * truncated); -EINVAL for an invalid policy. */
int mmapio_policy_format(const struct mmapio_policy *p, char *buf, size_t len);

/* Returns true when a and b are the same policy. */
bool mmapio_policy_equal(const struct mmapio_policy *a,
			 const struct mmapio_policy *b);

/* Returns 0 when p is a valid policy; -EINVAL. */
int mmapio_policy_validate(const struct mmapio_policy *p);

/* ------------------------------------------------------------------------
 * Opening and closing (file.c)
 *
 * Constructors: thread-safe; each opens its own descriptor (O_CLOEXEC) and
 * gives the caller one reference. Nothing is made durable at open.
 * ------------------------------------------------------------------------ */

struct mmapio_file;

enum mmapio_mode {
	MMAPIO_RO = 0,   /* PROT_READ, MAP_SHARED; writes are -EBADF */
	MMAPIO_RW,       /* PROT_READ|PROT_WRITE, MAP_SHARED */
	MMAPIO_COW,      /* MAP_PRIVATE: writes (when cow_writable) never reach
			  * the file; flushes make nothing durable and
			  * return 0 (mmapio_is_private) */
};

enum mmapio_open_how {
	MMAPIO_OPEN_EXISTING = 0,   /* the file must exist */
	MMAPIO_CREATE,              /* O_CREAT|O_EXCL, set to size */
	MMAPIO_OPEN_OR_CREATE,      /* race-free; never truncates; an existing
				     * empty file is extended to size */
	MMAPIO_CREATE_OR_TRUNCATE,  /* O_CREAT|O_TRUNC: whatever was there is
				     * cut to 0, then set to size */
};

/* The C builder: everything mmapio_open() can be told. Initialise with
 * mmapio_options_init() and change what you need. */
struct mmapio_options {
	enum mmapio_mode mode;        /* default MMAPIO_RO */
	enum mmapio_open_how how;     /* default MMAPIO_OPEN_EXISTING */
	uint64_t size;                /* every how but OPEN_EXISTING: initial
				       * size */
	mode_t create_mode;           /* default 0644 (before umask) */
	struct mmapio_policy policy;  /* default never */
	bool cow_writable;            /* COW: map PROT_WRITE too (default false) */
	bool populate;                /* touch hint: fault pages in at open */
	bool hugepages;               /* hint: MADV_HUGEPAGE on the mapping */
	bool preallocate;             /* default true: fallocate ranges before
				       * writing into them (docs/libmmapio.md,
				       * "The allocation rule") */
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

/* Sets *o to the defaults above. Thread-safe (touches only *o). */
void mmapio_options_init(struct mmapio_options *o);

/* Opens (or creates) path as told by o and maps it; *out gets the first
 * reference. path and o stay the caller's (path is copied).
 * Errors: -EINVAL (NULL argument, bad mode/how, an invalid policy, a how
 * that creates with a mode other than RW); -EFBIG (size or reserve past
 * INT64_MAX); -ENOENT, -EEXIST, -EACCES, -EISDIR, ... from open(2);
 * -ENODEV (not a regular file, or a file that cannot be mapped, unless
 * o->unmapped_fallback; an empty file is probed with a one-page mapping,
 * so the answer comes at open, not at the first growth); -ENOMEM; -ENOSPC
 * when sizing a new file. A file this call created exclusively is removed
 * again on failure.
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
 *   - views, chunk walks, cursors, atomics, atomic views, segments,
 *     declared raw writes, advise, touch, lock and unlock are -ENODEV;
 *     mmapio_ptr and mmapio_mut_ptr return NULL; mmapio_hugepage_backed is
 *     0. */
int mmapio_open(const char *path, const struct mmapio_options *o,
		struct mmapio_file **out);

/* mmapio_open() of an existing file in mode RO, RW, or COW (writable: map
 * PROT_WRITE; the changes stay private to this mapping). Errors as
 * mmapio_open(). */
int mmapio_open_ro(const char *path, struct mmapio_file **out);
int mmapio_open_rw(const char *path, struct mmapio_file **out);
int mmapio_open_cow(const char *path, bool writable, struct mmapio_file **out);
/* Creates path exclusively (O_EXCL) with size bytes, mode RW. Errors as
 * mmapio_open() (-EEXIST when path exists). */
int mmapio_create_rw(const char *path, uint64_t size, struct mmapio_file **out);
/* Opens path RW, creating it with default_size if missing; never truncates;
 * an existing empty file is extended to default_size. Race-free against
 * other openers and unlinkers. Errors as mmapio_open(). */
int mmapio_open_or_create(const char *path, uint64_t default_size,
			  struct mmapio_file **out);
/* Create-and-map (mmap-io's create_mmap): creates path, or truncates the
 * existing file to 0, sets it to size bytes and maps it RW. What the file
 * held is gone (other mappings of it see -EIO past the new end). Errors as
 * mmapio_open(). Durability: the new size is not synced. */
int mmapio_create(const char *path, uint64_t size, struct mmapio_file **out);
/* Load (mmap-io's load_mmap): maps the whole existing file in mode (COW
 * mappings are writable, privately). Errors as mmapio_open(). */
int mmapio_load(const char *path, enum mmapio_mode mode,
		struct mmapio_file **out);

/* Wraps a caller-opened fd (its access mode must fit mode). On success the
 * file owns fd: mmapio_close() closes it, mmapio_unmap() hands it back;
 * until then the caller must neither close it nor change its file status
 * flags (fcntl F_SETFL). On failure the caller keeps fd. path is used for
 * messages, stats, mmapio_watch and mmapio_delete only (may be NULL); it is
 * copied.
 * What the descriptor's status flags change:
 *   O_APPEND  the kernel ignores the offset of pwrite(2) on such an fd, so
 *             the library never pwrites on it: every write is a store
 *             through the mapping (the write-without-read shortcut is off).
 *             Without a mapping there is no other way to write at an
 *             offset: with unmapped_fallback a writable (RW) O_APPEND fd of
 *             a file the kernel will not map is -ENODEV. Growth works
 *             (fallocate/ftruncate ignore O_APPEND).
 *   O_DIRECT  the mapping goes through the page cache whatever the fd
 *             says; the library never preads or pwrites on such an fd
 *             (unaligned buffers would be -EINVAL): every write is a store
 *             through the mapping, and without a mapping (unmapped_fallback)
 *             the fd is -ENODEV in any mode.
 *   O_SYNC, O_DSYNC  not a durability policy: stores through a mapping
 *             are not synchronous, so the library never pwrites on such an
 *             fd either (some writes would be synchronous and others not);
 *             durability is the policy's (o->policy; `always` for
 *             synchronous writes). Without a mapping its pwrites are
 *             synchronous as the fd says, on top of the policy.
 * Errors: -EBADF (fd < 0 or not open, an O_PATH fd, an O_WRONLY fd, or RW
 * without O_RDWR); -EINVAL (NULL o or out, bad options); -EISDIR; -ENODEV
 * (not a regular file, a file the kernel cannot map, or as said above);
 * -ENOMEM. */
int mmapio_from_fd(int fd, enum mmapio_mode mode, const char *path,
		   struct mmapio_file **out);
/* As mmapio_from_fd() with full options (o->how and o->size are ignored). */
int mmapio_from_fd_opts(int fd, const struct mmapio_options *o,
			const char *path, struct mmapio_file **out);
/* As mmapio_from_fd_opts() for a caller that has just opened fd itself
 * and knows what the call would ask the kernel: fd's fcntl(F_GETFL)
 * flags, and its attributes read after fd was opened and before anything
 * changed the file through it (st; NULL: the call stats fd). Both are
 * taken as given. */
int mmapio_from_fd_known(int fd, const struct mmapio_options *o,
			 const char *path, int flags, const struct stat *st,
			 struct mmapio_file **out);

/* An anonymous shared mapping of size bytes (RW, no file: nothing of it is
 * ever durable, flushes return 0). Errors: -EINVAL (NULL out); -EFBIG;
 * -ENOMEM. */
int mmapio_anon(uint64_t size, struct mmapio_file **out);

/* Takes one more reference to f (the caller must hold one). Returns f.
 * Thread-safe, never fails. */
struct mmapio_file *mmapio_ref(struct mmapio_file *f);

/* Drops one reference. The last one applies the close rule of the policy
 * (anything but never: pending writes are flushed, durably, first), unmaps
 * and closes the fd. Returns the result of that flush (the file's sticky
 * error, or an error of close(2), which is where NFS reports a failed
 * write-back), or 0; the file is released either way. NULL is accepted.
 * The last close must not race with other use of f (the caller gave up its
 * reference). */
int mmapio_close(struct mmapio_file *f);

/* When f holds the only reference: flushes as mmapio_close() would, stops
 * its flusher registration, unmaps, frees f and returns the fd through
 * *fd_out (ownership passes to the caller); a failed flush is returned but
 * f is still released and *fd_out set. Errors (f and *fd_out untouched):
 * -EBUSY (another reference is alive: a live view, segment or atomic view
 * holds one too); -EINVAL (NULL argument, or an anonymous mapping). */
int mmapio_unmap(struct mmapio_file *f, int *fd_out);

/* ------------------------------------------------------------------------
 * Whole-file conveniences (manager.c), after mmap-io's manager module
 * ------------------------------------------------------------------------ */

/* Copies what f shows, [0, mmapio_len(f)) as read through the mapping (a
 * COW mapping's private changes and an anonymous mapping's memory
 * included), to a new file at dst_path: created 0644 (before umask), or an
 * existing one truncated first. Not atomic against concurrent writers of
 * f (like cp). Durability: the copy's data is durable (fdatasync) when
 * this returns 0; its directory entry is not (fsync the directory).
 * Errors: -EINVAL (NULL argument; dst_path names f's own file, which is
 * then left alone; or not a regular file); -ERANGE (f shrank during the
 * copy); -EIO; -ENOSPC; -ENOMEM; errors of open(2). A failed copy removes
 * dst_path. Thread-safe. */
int mmapio_copy(struct mmapio_file *f, const char *dst_path);

/* Deletes the file behind f: unlinks the path given at open, after
 * checking that it still names f's file, then drops the caller's
 * reference (mmapio_close(), whose result it returns). The mapping stays
 * valid for other references (the unlinked inode lives until the last one
 * is gone). Errors (f and the file untouched): -EINVAL (NULL f, an
 * anonymous mapping or no path); -ESTALE (the path now names another
 * file); -ENOENT and other errors of stat(2)/unlink(2). */
int mmapio_delete(struct mmapio_file *f);

/* ------------------------------------------------------------------------
 * O(1) accessors (file.c, state.c). Thread-safe, lock-free, never fail;
 * f must be a live reference.
 * ------------------------------------------------------------------------ */

/* The current length in bytes. */
uint64_t mmapio_len(const struct mmapio_file *f);
/* True when the length is 0. */
bool mmapio_is_empty(const struct mmapio_file *f);
/* The mode given at open. */
enum mmapio_mode mmapio_mode(const struct mmapio_file *f);
/* The path given at open (NULL for anonymous mappings or none given);
 * owned by f, valid while the caller holds its reference. */
const char *mmapio_path(const struct mmapio_file *f);
/* The fd (owned by f; -1 for anonymous mappings). Do not close it. */
int mmapio_fd(const struct mmapio_file *f);
/* Copies f's current policy to *out. */
void mmapio_flush_policy(const struct mmapio_file *f, struct mmapio_policy *out);
/* False for a file opened without a mapping (options.unmapped_fallback,
 * options.no_mapping) until mmapio_map() maps it; true for every other
 * file, anonymous mappings and empty files included. */
bool mmapio_is_mapped(const struct mmapio_file *f);
/* Maps a file that was opened without a mapping (options.no_mapping, or
 * the fallback) now, in place: the same object, its durability state and
 * pending counts unchanged (writes made by pwrite before stay flushed by
 * fdatasync until flushed), every later access through the mapping. For
 * a caller that opens files unmapped until it needs the mapping (an
 * empty file that may only ever be appended to). Returns 0 (also when f
 * was mapped already), or the mmap error (-ENODEV, -ENOMEM; -EINVAL for
 * COW), and f stays as it was. Thread-safe: it waits for accesses in
 * progress (map_lock), and an access that started before it may still
 * take the unmapped path once. */
int mmapio_map(struct mmapio_file *f);
/* True for COW and anonymous mappings: nothing written through f reaches a
 * file, so their flushes (sync or async) make nothing durable and return
 * 0. Constant for the life of f. */
bool mmapio_is_private(const struct mmapio_file *f);
/* Bytes (whole pages) and write calls pending since the last flush. */
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

/* A snapshot of f's counters into *out. Never blocks writers. */
void mmapio_stats(const struct mmapio_file *f, struct mmapio_stats *out);

/* The counters of the backing file (st_dev, st_ino) when the library keeps
 * them: while it is mapped, or after its last mapping closed with writes
 * still pending (policy never; see docs/durability.md for the bound on how
 * many such files are kept). Returns 0; -ENOENT (none kept). Thread-safe
 * (takes the registry lock briefly). */
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
 * lock: fn must not call back into libmmapio, nor keep info past its
 * return. A non-zero return from fn stops the walk and is returned; else
 * 0. Thread-safe. */
int mmapio_for_each_detached(mmapio_detached_fn fn, void *ctx);

/* ------------------------------------------------------------------------
 * Page sizes (sys.c). Thread-safe; each read from the system once.
 * ------------------------------------------------------------------------ */

/* The page size (sysconf(_SC_PAGESIZE)): the granularity of mappings, of
 * the pending-bytes count and of advice. Never fails. */
size_t mmapio_page_size(void);
/* The huge page size: the transparent huge page size where the kernel has
 * THP (/sys/kernel/mm/transparent_hugepage/hpage_pmd_size), else the
 * default hugetlbfs page size (Hugepagesize in /proc/meminfo), else 0
 * (none, or it cannot be told). */
size_t mmapio_huge_page_size(void);

/* ------------------------------------------------------------------------
 * Copying access (access.c)
 *
 * Thread-safe, any number at once on one file; buffers stay the caller's.
 * ------------------------------------------------------------------------ */

/* Copies len bytes at off into buf. Returns 0; -ERANGE; -EIO (SIGBUS).
 * On a file without a mapping (mmapio_is_mapped false) the copies of this
 * section are pread/pwrite, which add their own -errno (-EIO for a file
 * cut short from outside). */
int mmapio_read(struct mmapio_file *f, uint64_t off, void *buf, size_t len);

/* Copies len bytes from data to off and accounts the write; applies the
 * policy (may flush, durably, before returning: under `always` the range
 * is durable on return). Returns 0; -ERANGE; -EBADF (not writable); -EIO;
 * -ENOSPC (allocation rule); or the policy flush's error (the sticky
 * error). */
int mmapio_write(struct mmapio_file *f, uint64_t off, const void *data,
		 size_t len);

/* As mmapio_write(), but first grows the file (and mapping) when the write
 * ends past the current length; a gap before off stays a hole. Concurrent
 * growers never shrink the file or lose each other's bytes. A zero-length
 * write never grows (like pwrite). More errors: -ENOTSUP (a COW or
 * anonymous mapping, whose length is fixed, when the write ends past it);
 * -EFBIG past INT64_MAX; -EDEADLK when the mapping would have to move while
 * the calling thread itself holds a view, atomic view or chunk walk of f
 * (without a `reserve` growth usually moves it: nothing is changed then,
 * the file keeps its length). If the copy fails after the growth (-EIO,
 * -ENOSPC in a hole before the old end), the file keeps its new length.
 * Durability: as mmapio_write(); the new length is made durable with the
 * bytes (fdatasync covers the size). */
int mmapio_write_grow(struct mmapio_file *f, uint64_t off, const void *data,
		      size_t len);

/* ------------------------------------------------------------------------
 * Zero-copy views, raw pointers, iteration, atomics, segments (view.c ...)
 *
 * All of these need the mapping: on a file without one (mmapio_is_mapped
 * false) they return -ENODEV, the raw pointers NULL.
 * ------------------------------------------------------------------------ */

/* A pinned window of a mapping. While any view is held, a resize, truncate
 * or growth that would move or cut the mapping waits for it (or, from the
 * view's own thread, fails with -EDEADLK). Fields are read-only for the
 * caller. A zeroed struct is a released view. */
struct mmapio_view {
	struct mmapio_file *file;
	void *data;
	uint64_t off;
	size_t len;
	bool writable;
	void *priv;            /* private to libmmapio (the pin's record) */
};

/* Pins [off, off+len) of f and points *v at it. The caller must not touch
 * bytes outside [data, data+len) and must release the view. A view holds
 * its own reference to f (f stays mapped until the release, even if every
 * other reference is dropped meanwhile). Accessing the bytes is NOT under
 * the SIGBUS guard (use mmapio_read for that). A view holds no lock: its
 * holder may keep reading and writing f; its own resize or growth of f
 * that would have to move or cut the mapping is -EDEADLK. Returns 0;
 * -ERANGE. Thread-safe; one view object belongs to one thread at a time
 * (any thread may release it). */
int mmapio_view(struct mmapio_file *f, uint64_t off, size_t len,
		struct mmapio_view *v);
/* Mutable view (RW, or COW when writable): its bytes are accounted as
 * written when it is released (durable as the policy says from then on).
 * Holes in the range are allocated first (preallocate). Returns 0;
 * -ERANGE; -EBADF; -ENOSPC. */
int mmapio_view_mut(struct mmapio_file *f, uint64_t off, size_t len,
		    struct mmapio_view *v);
/* Unpins; a mutable view accounts its range and applies the policy, whose
 * flush result is returned; then drops the view's reference (when that was
 * the last one, the result of that close is returned as mmapio_close()
 * would). v is cleared; releasing a cleared (or zeroed) view does nothing
 * and returns 0. */
int mmapio_view_release(struct mmapio_view *v);

/* Raw pointers — contract: the pointer is valid only while the caller holds
 * a reference AND no resize/truncate can run (the caller serialises them,
 * e.g. it is the only user). Bytes stored through mmapio_mut_ptr() are NOT
 * accounted (nor made durable by the policy) until declared with
 * mmapio_declare_written(). Returns NULL for an empty mapping, a file
 * without a mapping, or (mut) a mode that is not writable. */
const void *mmapio_ptr(const struct mmapio_file *f);
void *mmapio_mut_ptr(struct mmapio_file *f);
/* Accounts [off, off+len) as written through a raw pointer (or an atomic
 * view) and applies the policy (which may flush, durably). Returns 0;
 * -ERANGE; -EBADF; -ENODEV; or the policy flush's error. */
int mmapio_declare_written(struct mmapio_file *f, uint64_t off, size_t len);

/* Calls cb for consecutive chunks of [off, off+len), each at most chunk
 * bytes (chunk 0: the page size), without allocating. The mapping is pinned
 * and the SIGBUS guard armed during the walk (a fault returns -EIO; cb may
 * then be abandoned mid-way, so it must not hold locks or allocations
 * across touching the bytes). cb returns 0 to go on; anything else stops
 * the walk and is returned. cb may call libmmapio on f, but a growth or
 * resize of f that would move or cut the mapping is -EDEADLK there.
 * Returns 0; -EINVAL (NULL cb); -ERANGE; -EIO; cb's value. */
typedef int (*mmapio_chunk_fn)(const void *data, size_t len, uint64_t off,
			       void *ctx);
typedef int (*mmapio_chunk_mut_fn)(void *data, size_t len, uint64_t off,
				   void *ctx);
int mmapio_for_each_chunk(struct mmapio_file *f, uint64_t off, uint64_t len,
			  size_t chunk, mmapio_chunk_fn cb, void *ctx);
/* Mutable walk: each chunk the callback saw is accounted as written, as one
 * write call after the walk (the policy may then flush). More errors:
 * -EBADF; -ENOSPC (holes are allocated first); the policy flush's. */
int mmapio_for_each_chunk_mut(struct mmapio_file *f, uint64_t off,
			      uint64_t len, size_t chunk,
			      mmapio_chunk_mut_fn cb, void *ctx);

/* Cursor form of the page walk, for callers that prefer a loop:
 *   struct mmapio_cursor c; mmapio_cursor_init(&c, f, off, len, 0);
 *   while (mmapio_cursor_next(&c, &p, &n) > 0) use(p, n);
 * The cursor does not pin: the caller ensures no concurrent shrink (each
 * step re-checks the length: -ERANGE after one). It holds no reference.
 * init returns 0; -ERANGE; -ENODEV. */
struct mmapio_cursor {
	struct mmapio_file *file;
	uint64_t next, end;
	size_t chunk;
};
int mmapio_cursor_init(struct mmapio_cursor *c, struct mmapio_file *f,
		       uint64_t off, uint64_t len, size_t chunk);
/* Returns 1 with the next chunk in *data and *len, 0 at the end; -ERANGE. */
int mmapio_cursor_next(struct mmapio_cursor *c, const void **data, size_t *len);

/* Atomic integers inside the mapping, at naturally aligned offsets. Every
 * operation is sequentially consistent, lock-free, and atomic with respect
 * to other processes mapping the same file too; it runs under the SIGBUS
 * guard. Every operation but a load and a failed compare-exchange is
 * accounted as one write of its bytes (the policy applies, and may flush).
 * old may be NULL; when not, it gets the value before the operation.
 * Errors: -EINVAL (misaligned); -ERANGE; -EBADF (a store to a mapping that
 * is not writable); -ENODEV; -EIO (fault); the policy flush's error. */
int mmapio_atomic_load_u32(struct mmapio_file *f, uint64_t off, uint32_t *out);
int mmapio_atomic_load_u64(struct mmapio_file *f, uint64_t off, uint64_t *out);
int mmapio_atomic_store_u32(struct mmapio_file *f, uint64_t off, uint32_t v);
int mmapio_atomic_store_u64(struct mmapio_file *f, uint64_t off, uint64_t v);
/* Stores v, returning the value before through *old. */
int mmapio_atomic_exchange_u32(struct mmapio_file *f, uint64_t off,
			       uint32_t v, uint32_t *old);
int mmapio_atomic_exchange_u64(struct mmapio_file *f, uint64_t off,
			       uint64_t v, uint64_t *old);
/* *p += v, -= v, &= v, |= v, ^= v (wrapping), old value through *old. */
int mmapio_atomic_fetch_add_u32(struct mmapio_file *f, uint64_t off,
				uint32_t v, uint32_t *old);
int mmapio_atomic_fetch_add_u64(struct mmapio_file *f, uint64_t off,
				uint64_t v, uint64_t *old);
int mmapio_atomic_fetch_sub_u32(struct mmapio_file *f, uint64_t off,
				uint32_t v, uint32_t *old);
int mmapio_atomic_fetch_sub_u64(struct mmapio_file *f, uint64_t off,
				uint64_t v, uint64_t *old);
int mmapio_atomic_fetch_and_u32(struct mmapio_file *f, uint64_t off,
				uint32_t v, uint32_t *old);
int mmapio_atomic_fetch_and_u64(struct mmapio_file *f, uint64_t off,
				uint64_t v, uint64_t *old);
int mmapio_atomic_fetch_or_u32(struct mmapio_file *f, uint64_t off,
			       uint32_t v, uint32_t *old);
int mmapio_atomic_fetch_or_u64(struct mmapio_file *f, uint64_t off,
			       uint64_t v, uint64_t *old);
int mmapio_atomic_fetch_xor_u32(struct mmapio_file *f, uint64_t off,
				uint32_t v, uint32_t *old);
int mmapio_atomic_fetch_xor_u64(struct mmapio_file *f, uint64_t off,
				uint64_t v, uint64_t *old);
/* Compare-exchange. Returns 1 when *expected matched and desired was
 * stored, 0 when not (then *expected is the current value; nothing is
 * accounted), or -errno. */
int mmapio_atomic_cas_u32(struct mmapio_file *f, uint64_t off,
			  uint32_t *expected, uint32_t desired);
int mmapio_atomic_cas_u64(struct mmapio_file *f, uint64_t off,
			  uint64_t *expected, uint64_t desired);

/* Pinned atomic views (mmap-io's atomic_u32/atomic_u64 returning a
 * reference): a view of the naturally aligned 4- or 8-byte integer at off,
 * whose address the caller uses as an _Atomic object (MMAPIO_ATOMIC_U32 and
 * _U64 below, or the __atomic builtins) for as long as it holds the view.
 * Like every view it pins the mapping: a shrinking resize or truncate (and
 * a growth that would move the mapping) waits until the release, so the
 * memory under the pointer never moves or goes away; its own thread gets
 * -EDEADLK instead of waiting. Mutable when the file is writable (RW, COW
 * with cow_writable): then the release accounts one write of its bytes
 * (stores through the pointer are not accounted one by one: use
 * mmapio_declare_written to account them earlier, e.g. before a flush
 * that must cover them); on a read-only file only loads are allowed.
 * Not under the SIGBUS guard. Release with mmapio_view_release().
 * Returns 0; -EINVAL (misaligned); -ERANGE; -ENODEV; -ENOSPC (holes are
 * allocated first). Thread-safe. */
int mmapio_atomic_view_u32(struct mmapio_file *f, uint64_t off,
			   struct mmapio_view *v);
int mmapio_atomic_view_u64(struct mmapio_file *f, uint64_t off,
			   struct mmapio_view *v);
#ifndef __cplusplus
/* The _Atomic object of an atomic view (C11). */
#define MMAPIO_ATOMIC_U32(v) ((_Atomic uint32_t *)(v)->data)
#define MMAPIO_ATOMIC_U64(v) ((_Atomic uint64_t *)(v)->data)
#endif

/* A sub-range of a file that re-validates its bounds on every use against
 * the file's current length (so a shrink makes it -ERANGE, not a fault).
 * The segment holds a reference to f until mmapio_segment_release(). It
 * does not pin. mmapio_segment returns 0; -ERANGE; -ENODEV. */
struct mmapio_segment {
	struct mmapio_file *file;
	uint64_t off;
	uint64_t len;
};
int mmapio_segment(struct mmapio_file *f, uint64_t off, uint64_t len,
		   struct mmapio_segment *out);
/* mmapio_read/mmapio_write of [off, off+len) of the segment: errors (and
 * durability) as those, -ERANGE past the segment. */
int mmapio_segment_read(const struct mmapio_segment *s, uint64_t off,
			void *buf, size_t len);
int mmapio_segment_write(const struct mmapio_segment *s, uint64_t off,
			 const void *data, size_t len);
/* Drops the segment's reference and clears s; returns that close's result
 * (as mmapio_close(): non-zero only when it was the last reference and its
 * flush failed). Idempotent like mmapio_view_release(): releasing a
 * cleared (or zeroed) segment does nothing and returns 0. */
int mmapio_segment_release(struct mmapio_segment *s);

/* ------------------------------------------------------------------------
 * Size, allocation (resize.c)
 *
 * Length changes: RW mappings only (-ENOTSUP for RO, COW and anonymous
 * ones). They wait for other threads' views; the calling thread's own views
 * are -EDEADLK. Thread-safe. Durability: a new length is made durable by
 * the next flush (fdatasync covers the size), not by these calls.
 * ------------------------------------------------------------------------ */

/* Sets the file's length. Grow: extend the file (fallocate when preallocate
 * is on, else ftruncate), then mremap. Shrink: remap first, then truncate.
 * The mapping never extends past EOF. Returns 0; -ENOTSUP; -EDEADLK;
 * -ENOSPC; -EFBIG; -ENOMEM. */
int mmapio_resize(struct mmapio_file *f, uint64_t size);

/* As mmapio_resize(), but with ftruncate(2)'s semantics for growth: the
 * new range is a hole (nothing allocated, even with preallocate; writes
 * into it later allocate what they touch). For a filesystem's setattr.
 * Errors as mmapio_resize(). */
int mmapio_truncate(struct mmapio_file *f, uint64_t size);

/* Re-reads the backing file's size (after a change made from outside) and
 * adjusts the mapping to it; also forgets what it knew about allocated
 * ranges (call it after punching holes through the fd). Waits for views
 * when the file shrank. Any mode but anonymous. Returns the new length
 * (>= 0); -EINVAL (anonymous: no file); -EDEADLK; errors of fstat(2) and
 * mremap(2). */
int64_t mmapio_refresh(struct mmapio_file *f);

/* mmapio_refresh() after the caller wrote [off, off + len) through the
 * file's descriptor (a write(2) or pwrite(2) that succeeded): when that
 * write is what grew the file past its old end, the grown range is known
 * to be allocated (the write allocated it, or reserved it as delayed
 * allocation, which counts the same) and is not scanned for holes. st,
 * when not NULL, receives the fstat(2) the refresh took (the file's
 * attributes after the write), so the caller need not take another.
 * Returns and fails as mmapio_refresh(). */
int64_t mmapio_refresh_written(struct mmapio_file *f, uint64_t off,
			       uint64_t len, struct stat *st);

/* As mmapio_refresh_written(), without the fstat(2): for a caller that
 * knows nothing but its own write changed the file's size since the
 * library last saw it (the file is used only through this object). The
 * length becomes the larger of the known length and off + len; it never
 * shrinks. Returns the new length; -EINVAL; -EDEADLK; errors of
 * mremap(2). */
int64_t mmapio_note_written(struct mmapio_file *f, uint64_t off,
			    uint64_t len);

/* ------------------------------------------------------------------------
 * Advice, prefetch, residency (advice.c). Thread-safe; nothing of these is
 * durable or accounted as a write.
 * ------------------------------------------------------------------------ */

enum mmapio_advice {
	MMAPIO_ADV_NORMAL = 0,
	MMAPIO_ADV_RANDOM,
	MMAPIO_ADV_SEQUENTIAL,
	MMAPIO_ADV_WILLNEED,
	MMAPIO_ADV_DONTNEED,
};

/* madvise() on the range (start widened down to a page boundary).
 * Returns 0; -ERANGE; -EINVAL (bad advice); -ENODEV without a mapping (so
 * are touch, lock and unlock; prefetch works on the fd). */
int mmapio_advise(struct mmapio_file *f, uint64_t off, uint64_t len,
		  enum mmapio_advice advice);
/* posix_fadvise(WILLNEED) on the fd: starts read-ahead into the page cache;
 * complementary to mmapio_advise(WILLNEED) on the mapping. Returns 0
 * (also for anonymous mappings: nothing to read); -ERANGE. */
int mmapio_prefetch(struct mmapio_file *f, uint64_t off, uint64_t len);
/* Faults the range in (MADV_POPULATE_READ/WRITE where the kernel has it,
 * else a read of one byte per page under the SIGBUS guard). Returns 0;
 * -ERANGE; -ENODEV; -EIO (a page could not be faulted in). */
int mmapio_touch(struct mmapio_file *f, uint64_t off, uint64_t len);
/* mlock()/munlock() the range. Returns 0; -ERANGE; -ENODEV; -ENOMEM;
 * -EPERM. */
int mmapio_lock(struct mmapio_file *f, uint64_t off, uint64_t len);
int mmapio_unlock(struct mmapio_file *f, uint64_t off, uint64_t len);
/* Bytes currently mlock()ed through mmapio_lock() (page-rounded sums of
 * the ranges locked minus those unlocked; clamped to the mapping on
 * shrink). O(1). */
uint64_t mmapio_locked_bytes(const struct mmapio_file *f);
/* 1 when part of the mapping is backed by huge pages (from
 * /proc/self/smaps), 0 when not (or no mapping), -errno when it cannot
 * tell (fopen of smaps). */
int mmapio_hugepage_backed(const struct mmapio_file *f);

/* ------------------------------------------------------------------------
 * Flushing and policy (flush.c, async.c)
 *
 * Thread-safe; flushes of one file run one at a time (others wait).
 * ------------------------------------------------------------------------ */

/* Makes everything written to the file durable (fdatasync of the file,
 * which also covers pages dirtied through the shared mapping, writes made
 * around it and the size), even when nothing is pending. Returns 0 (also
 * for COW and anonymous mappings, where nothing reaches a file:
 * mmapio_is_private tells them apart); the file's sticky error (-EIO,
 * -ENOSPC, ...: the first failed sync of the file; it stays until the last
 * mapping of the file is closed). */
MMAPIO_WUR int mmapio_flush(struct mmapio_file *f);
/* Makes [off, off+len) durable and debits exactly the pages it covered.
 * Returns as mmapio_flush(), or -ERANGE. */
MMAPIO_WUR int mmapio_flush_range(struct mmapio_file *f, uint64_t off,
				  uint64_t len);
/* Starts write-back of the range (sync_file_range WRITE). NOT durable:
 * neither the data nor the metadata is guaranteed on disk afterwards, and
 * nothing is debited. Returns 0 (also for COW and anonymous mappings:
 * nothing to write back); -ERANGE; errors of sync_file_range(2). */
int mmapio_schedule_flush(struct mmapio_file *f, uint64_t off, uint64_t len);

/* Called once per mmapio_flush_async(), on the flusher thread, when the
 * flush is done: rc is what mmapio_flush(f) returned (0: everything
 * written to f before the request was made is durable). f is valid during
 * the call (the request holds a reference); done may call libmmapio on f
 * or any file, but not mmapio_shutdown(), and should be short: the other
 * requests and the ms deadlines of every file wait for it. */
typedef void (*mmapio_flush_done_fn)(struct mmapio_file *f, int rc,
				     void *ctx);
/* Asynchronous flush: queues a full flush of f (mmapio_flush) for the
 * flusher thread and returns; done(f, rc, ctx) runs there once it is over
 * (durable when rc is 0). Requests run in the order they were made. The
 * request holds its own reference to f until done returned, so the caller
 * may close f meanwhile (the close then completes on the flusher thread).
 * mmapio_shutdown() runs the queued requests before it returns. Returns 0
 * (queued: done will be called exactly once); -EINVAL (NULL f or done);
 * -ENOMEM; -EAGAIN (the flusher thread could not start; done will not be
 * called). Thread-safe. */
int mmapio_flush_async(struct mmapio_file *f, mmapio_flush_done_fn done,
		       void *ctx);

/* Changes f's policy (every mapping of the same file shares it). It applies
 * to the next write; a lowered threshold that the pending counts already
 * reach flushes now, durably (whose result is returned). Returns 0;
 * -EINVAL; the flush's error. */
MMAPIO_WUR int mmapio_set_policy(struct mmapio_file *f,
				 const struct mmapio_policy *p);

/* Accounts a write that reached the file without going through the mapping
 * (pwrite fallback, copy_file_range, fallocate punch/zero) and applies the
 * policy (which may flush, durably). Returns 0; -ERANGE (off + len
 * overflows); or the policy flush's error. */
MMAPIO_WUR int mmapio_account_external_write(struct mmapio_file *f,
					     uint64_t off, uint64_t len);

/* One completed sync of a file (any flush: policy, deadline, close rule,
 * explicit, asynchronous), as reported to the flush observer. */
struct mmapio_flush_event {
	int error;                  /* 0, or the sync's -errno */
	uint64_t bytes;             /* pending bytes the flush debited */
	uint64_t duration_ns;       /* time spent in the sync call */
};
typedef void (*mmapio_flush_observer_fn)(const struct mmapio_flush_event *ev);
/* Installs fn (NULL: none) to be called after every sync of every file,
 * on the thread that flushed (a writer, the flusher, a closer), with no
 * library lock held. fn must be quick, thread-safe and must not call
 * libmmapio. Process-wide; set it before files are opened. A process
 * keeps monotonic totals (flushes, errors, bytes, durations) this way
 * that outlive every file, which per-file statistics cannot. */
void mmapio_set_flush_observer(mmapio_flush_observer_fn fn);

/* Shuts the flusher service down: runs the queued asynchronous flushes
 * (their callbacks on the flusher thread), joins the thread, then flushes
 * (durably) every file whose deadline is armed. Files may still be used
 * afterwards; the service restarts lazily. Call it from one thread, never
 * from a flush_async callback. */
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
 * mapping keeps the inode alive. *out is the caller's until
 * mmapio_watch_close(); it does not hold a reference to f. Returns 0;
 * -EINVAL (anonymous); -ENOMEM; errors of inotify(7). Thread-safe; one
 * watch is used by one thread at a time. */
int mmapio_watch(struct mmapio_file *f, struct mmapio_watch **out);
/* A pollable fd (readable when events are pending), owned by w. */
int mmapio_watch_fd(const struct mmapio_watch *w);
/* Waits up to timeout_ms (-1: forever, 0: poll) and returns the OR of the
 * events seen (0 on timeout); errors of poll(2) and read(2). */
int mmapio_watch_wait(struct mmapio_watch *w, int timeout_ms);
/* Closes w (NULL accepted). */
void mmapio_watch_close(struct mmapio_watch *w);

/* The library version string (static storage). */
const char *mmapio_version(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MMAPIO_H */
