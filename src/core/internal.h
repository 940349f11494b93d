/*
 * internal.h — private structures of libmmapio, shared by the files of
 * src/core and by the unit tests. Never included by src/fs.
 *
 * Two objects:
 *   struct mmapio_file   one mapping of one open file description (or an
 *                        anonymous region). Owned by its references.
 *   struct mmapio_fstate the durability state of one backing file, keyed by
 *                        (st_dev, st_ino) in a process-wide registry and
 *                        shared by every mapping of that file, so that the
 *                        pending counts, deadline and sticky error outlive
 *                        close, reopen, unmap and eviction
 *                        (docs/durability.md).
 *
 * Locks — the one table of every lock of src/core, in lock order: a thread
 * that holds a lock may take only locks BELOW it in this table, never one
 * above. Each is a struct mmapio__mutex / mmapio__rwlock (lock.h), so debug
 * builds assert in every *_locked function (and every function documented
 * "caller holds ...") that the caller holds what it needs.
 *
 *   lock                   file      guards
 *   registry.lock (mutex)  state.c   the registry hash table, the detached
 *                                    list, each state's dev/ino/links/
 *                                    attached count/detached_path. Never
 *                                    held across a sync. Never nested with
 *                                    fstate.flush_lock (either way).
 *   fstate.flush_lock      state.h   one flush of a file at a time; held by
 *     (mutex)                        detach while it removes a mapping, so a
 *                                    flush that borrowed one never sees it
 *                                    unmapped.
 *   file.map_lock          internal.h base, mapped, reserved and writes of
 *     (rwlock, writer-               len: read side for every use of the
 *     preferring; never              mapping's address (copies, view
 *     read twice in one              creation, atomics, msync), write side
 *     thread)                        for every change (resize, growth,
 *                                    refresh, the open-time hole scan).
 *   fstate.lock (mutex)    state.h   attached files, policy, accumulator,
 *                                    pending counts, first_dirty_ns,
 *                                    flush_gen, external_pending, sticky
 *                                    error, timer_armed. No syscall but the
 *                                    clock inside.
 *   flusher.lock (mutex)   flusher.c the timer heap: every timer's
 *                                    deadline, heap index and holds; the
 *                                    job queue; the thread's bookkeeping.
 *   file.pin_lock (mutex)  internal.h nothing but the pin_cv wake-up (a
 *                                    leaf: no lock is taken under it, and
 *                                    it is never taken under another).
 *   pin pool lock (mutex)  pin.c     the pool of per-thread pin tables (a
 *                                    leaf; cold path only).
 *
 * Pins (views, chunk walks, atomic views) are atomic counters, not locks:
 * a remap that would move or cut a pinned mapping drops map_lock and waits
 * for the pins to drain (mmapio__wait_unpinned), holding no lock; when the
 * pins are the waiting thread's own it fails with -EDEADLK instead.
 * Counters readable without locks are _Atomic.
 */
#ifndef MMAPIO_INTERNAL_H
#define MMAPIO_INTERNAL_H

#include "lock.h"
#include "mmapio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>

struct mmapio_fstate;

/* Entries of struct mmapio_file's resident_hint. */
#define MMAPIO__RESIDENT_SLOTS 64

struct mmapio_file {
	atomic_uint refs;
	enum mmapio_mode mode;
	bool writable;            /* PROT_WRITE mapping (RW, or COW+writable) */
	bool anon;
	bool hugepages;           /* MADV_HUGEPAGE on every (re)mapping */
	atomic_bool unmapped;     /* no mapping (the kernel refused one,
				   * options.unmapped_fallback, or
				   * options.no_mapping): base stays NULL,
				   * copies use pread/pwrite, len still
				   * tracks the file under map_lock. Set at
				   * open; only mmapio_map() clears it, under
				   * map_lock held for writing, once the
				   * mapping is made (read it with
				   * mmapio__unmapped()). */
	int fd;                   /* -1 for anonymous */
	int fd_status;            /* O_APPEND, O_DIRECT, O_SYNC/O_DSYNC of a
				   * caller's fd (mmapio_from_fd); 0 for the
				   * fds the library opens. Set at open, then
				   * constant. Any of them: no pwrite on the
				   * fd (access.c). */
	int prot;                 /* PROT_* of the mapping */
	int map_flags;            /* MAP_SHARED or MAP_PRIVATE (| MAP_ANONYMOUS) */
	char *path;               /* may be NULL */

	struct mmapio__rwlock map_lock;
	uint8_t *base;            /* NULL while nothing is mapped; guarded by
				   * map_lock. With a reserve, base is the
				   * reservation's start even while len == 0. */
	_Atomic uint64_t len;     /* file length == mapped length; written only
				   * with map_lock held for writing */
	size_t mapped;            /* bytes of file mapped at base: len rounded
				   * up to the page size; guarded by map_lock */
	uint64_t reserved;        /* bytes of address space reserved at base
				   * (0: none); guarded by map_lock */

	/* Allocation rule (docs/libmmapio.md). preallocate is cleared for good when
	 * the file system answers EOPNOTSUPP; alloc_upto is a lower bound of
	 * the first hole of the file: [0, alloc_upto) is known allocated, so
	 * writes below it skip the hole probe. Both only ever change
	 * monotonically under the read lock (CAS), or arbitrarily under the
	 * write lock (shrink, refresh). fiemap_ok: the probe may use FIEMAP
	 * (cleared for good when the file system has none; resize.c). */
	atomic_bool preallocate;
	_Atomic uint64_t alloc_upto;
	atomic_bool fiemap_ok;

	/* Pins: live views, atomic views and chunk walks (pin.c). pins is
	 * changed atomically, with no lock (the read path stays mutex-free);
	 * pins are only taken under map_lock (read), so while a thread holds
	 * map_lock for writing, pins can only go down. Each pin is also
	 * recorded in the pinning thread's pin table, so a thread that would
	 * wait for its own pins is told (-EDEADLK). A remap that must wait
	 * registers in pin_waiters and sleeps on pin_cv under pin_lock; the
	 * unpin that reaches 0 takes pin_lock and wakes it only when
	 * pin_waiters is non-zero (both counters seq_cst: either the waiter
	 * sees 0 or the unpinner sees the waiter). */
	atomic_uint pins;
	atomic_uint pin_waiters;
	struct mmapio__mutex pin_lock;
	pthread_cond_t pin_cv;

	_Atomic uint64_t locked_bytes;   /* mlock()ed by mmapio_lock */

	/* Pages a write found (or left) in the page cache lately, so that
	 * steady-state writes into them skip mincore (access.c, "write
	 * without read"): a direct-mapped set, slot = page % slots, each
	 * entry (page + 1) << 16 | epoch (the monotonic clock >> 30, about
	 * a second). Relaxed atomics with no lock: a lost or stale entry
	 * only costs one mincore, or one read fault. */
	_Atomic uint64_t resident_hint[MMAPIO__RESIDENT_SLOTS];

	struct mmapio_fstate *state;     /* never NULL after open */
};

/* --- SIGBUS guard (sigbus.c) -------------------------------------------
 * Copies under a per-thread sigsetjmp scope; a SIGBUS during the copy
 * makes it return -EIO. Faults outside a scope are passed to the previous
 * handler. Scopes nest. */
void mmapio__sigbus_install(void);
/* Re-installs the handler if something replaced it since (the test
 * harness cmocka swaps SIGBUS handlers around every test); the replacing
 * handler becomes the one faults outside a scope are chained to. */
void mmapio__sigbus_rearm(void);
int mmapio__guarded_copy(void *dst, const void *src, size_t n);
/* Runs fn(arg) under the guard; returns its result or -EIO on a fault.
 * fn must not take locks or allocate (it may be abandoned mid-way). */
int mmapio__guarded_call(int (*fn)(void *arg), void *arg);

/* --- Mapping helpers (file.c, resize.c) ------------------------------- */

/* Rounds n up to a multiple of the page size (mmapio_page_size(), sys.c). */
static inline uint64_t mmapio__page_up(uint64_t n)
{
	uint64_t p = mmapio_page_size();

	return (n + p - 1) & ~(p - 1);
}
/* True while f has no mapping (f->unmapped; acquire: a false read here
 * comes after the mapping mmapio_map() made). */
static inline bool mmapio__unmapped(const struct mmapio_file *f)
{
	return atomic_load_explicit(&f->unmapped, memory_order_acquire);
}
/* True when [off, off + n) lies inside [0, len) (overflow-safe). */
static inline bool mmapio__range_ok(uint64_t off, uint64_t n, uint64_t len)
{
	return off <= len && n <= len - off;
}
/* --- Pins (pin.c) -------------------------------------------------------
 * A pin keeps the mapping where it is: a remap that would move or cut it
 * waits until no pin is left. Pins are counted in f->pins and recorded in
 * the pinning thread's table, so the library can tell a thread that it is
 * waiting for itself. */
struct mmapio__pin;
/* With map_lock held (read side): pins f for the calling thread. Returns
 * the record to unpin with, or NULL when no record could be allocated
 * (the pin still counts; that thread's own pins of f are then not
 * detected as a deadlock). */
struct mmapio__pin *mmapio__pin(struct mmapio_file *f);
/* Drops one pin of f taken with rec (any thread may drop it); wakes a
 * waiting remap when it was the last. */
void mmapio__unpin(struct mmapio_file *f, struct mmapio__pin *rec);
/* True when the calling thread itself holds a pin of f. */
bool mmapio__pinned_by_self(const struct mmapio_file *f);
/* Holding no lock of f, waits until no view of f is pinned. Returns 0, or
 * -EDEADLK at once when the calling thread holds a pin of f itself. A
 * remap that got -EBUSY drops map_lock, calls this, and starts over. */
int mmapio__wait_unpinned(struct mmapio_file *f);
/* The error of a remap that would move or cut a pinned mapping, with
 * map_lock held for writing: -EDEADLK when the caller's own pins are among
 * them, else -EBUSY (drop the lock, mmapio__wait_unpinned, start over). */
int mmapio__pinned_error(const struct mmapio_file *f);
/* With map_lock held for writing and new_len > len: extends the file to
 * new_len (allocating [alloc_from, new_len) when preallocate is on, so the
 * rest of a sparse file stays sparse; alloc_from >= new_len allocates
 * nothing), then grows the mapping to it.
 * Returns 0; -EBUSY when the mapping must move while views are pinned (the
 * file may stay extended: retry after mmapio__wait_unpinned); -EDEADLK
 * when those pins are the calling thread's own; -ENOSPC, -EFBIG, -ENOMEM
 * (after -EDEADLK and these the file is back at its old length). */
int mmapio__grow_locked(struct mmapio_file *f, uint64_t new_len,
		       uint64_t alloc_from);
/* With map_lock held (either side) and [off, off + n) inside the file:
 * applies the allocation rule before bytes are copied into that range.
 * Returns 0 or -errno (-ENOSPC). No syscall below alloc_upto. */
int mmapio__prepare_write(struct mmapio_file *f, uint64_t off, uint64_t n);
/* With map_lock held for writing: recomputes alloc_upto from the file's
 * first hole (at open, and after an outside change). */
void mmapio__reset_alloc_locked(struct mmapio_file *f);

/* --- Advice (advice.c) ------------------------------------------------- */

/* Reads smaps text from fp: 1 when a VMA overlapping [lo, hi) reports
 * AnonHugePages, FilePmdMapped or ShmemPmdMapped > 0, else 0. */
int mmapio__smaps_huge(FILE *fp, uintptr_t lo, uintptr_t hi);

/* --- Durability state (state.c, accum.c, flush.c, flusher.c) ----------- */

/* Called by open once the mapping exists: finds or creates f's fstate
 * (by the device and inode of st, f->fd's fstat, or of a new fstat when
 * st is NULL; a private state for COW and anonymous mappings) and applies
 * policy p when the state is new or p is not NULL. */
int mmapio__state_attach(struct mmapio_file *f, const struct mmapio_policy *p,
			 const struct stat *st);
/* Called at the last close/unmap: applies the close rule (anything but
 * never flushes what is pending) and detaches; returns the flush result. */
int mmapio__state_detach(struct mmapio_file *f);
/* Called after bytes [off, off+len) landed in the mapping (or the file):
 * marks pages dirty, counts one write call, applies the policy. Must be
 * called WITHOUT map_lock held (it may flush, which takes it). */
int mmapio__state_account(struct mmapio_file *f, uint64_t off, uint64_t len);
/* Called by resize (with map_lock held for writing) when the length
 * shrinks: forgets dirty pages past the new end. */
void mmapio__state_truncated(struct mmapio_file *f, uint64_t new_len);

#endif /* MMAPIO_INTERNAL_H */
