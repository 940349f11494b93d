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
 *                        close, reopen, unmap and eviction (DESIGN §3.4).
 *
 * Locking (order: registry lock -> fstate.lock -> file.map_lock is NEVER
 * taken in that direction; the only allowed nesting is
 *   file.map_lock (read) -> fstate.lock
 * i.e. a writer holding the mapping for read may take the state lock to
 * account, and a flush takes the mapping for read then the state lock).
 *   file.map_lock (rwlock, writer-preferring so resizes are not starved:
 *     never take its read side twice in one thread): read side for every
 *     access to base/len (copies, views while being created, msync); write
 *     side for resize/remap.
 *   file.pins (atomic) + pin_lock/pin_cv: count of pinned views; a remap
 *     that would move or cut the mapping waits for 0 under pin_lock WITHOUT
 *     holding map_lock. pin_lock is a leaf: nothing is taken under it.
 *   fstate.lock (mutex): bitmap, policy, deadline, sticky error, heap index.
 *   Counters readable without locks are _Atomic.
 */
#ifndef MMAPIO_INTERNAL_H
#define MMAPIO_INTERNAL_H

#include "mmapio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>

struct mmapio_fstate;

struct mmapio_file {
	atomic_uint refs;
	enum mmapio_mode mode;
	bool writable;            /* PROT_WRITE mapping (RW, or COW+writable) */
	bool anon;
	bool hugepages;           /* MADV_HUGEPAGE on every (re)mapping */
	bool unmapped;            /* no mapping ever (the kernel refused one,
				   * options.unmapped_fallback): base stays
				   * NULL, copies use pread/pwrite, len
				   * still tracks the file under map_lock.
				   * Set at open, then constant. */
	int fd;                   /* -1 for anonymous */
	int prot;                 /* PROT_* of the mapping */
	int map_flags;            /* MAP_SHARED or MAP_PRIVATE (| MAP_ANONYMOUS) */
	char *path;               /* may be NULL */

	pthread_rwlock_t map_lock;
	uint8_t *base;            /* NULL while nothing is mapped; guarded by
				   * map_lock. With a reserve, base is the
				   * reservation's start even while len == 0. */
	_Atomic uint64_t len;     /* file length == mapped length; written only
				   * with map_lock held for writing */
	size_t mapped;            /* bytes of file mapped at base: len rounded
				   * up to the page size; guarded by map_lock */
	uint64_t reserved;        /* bytes of address space reserved at base
				   * (0: none); guarded by map_lock */

	/* Allocation rule (DESIGN §3.3). preallocate is cleared for good when
	 * the file system answers EOPNOTSUPP; alloc_upto is a lower bound of
	 * the first hole of the file: [0, alloc_upto) is known allocated, so
	 * writes below it skip the hole probe. Both only ever change
	 * monotonically under the read lock (CAS), or arbitrarily under the
	 * write lock (shrink, refresh). fiemap_ok: the probe may use FIEMAP
	 * (cleared for good when the file system has none; resize.c). */
	atomic_bool preallocate;
	_Atomic uint64_t alloc_upto;
	atomic_bool fiemap_ok;

	/* Pins: live views and chunk walks. pins is changed atomically, with
	 * no lock (the read path stays mutex-free); pins are only taken under
	 * map_lock (read), so while a thread holds map_lock for writing, pins
	 * can only go down. A remap that must wait registers in pin_waiters
	 * and sleeps on pin_cv under pin_lock; the unpin that reaches 0 takes
	 * pin_lock and wakes it only when pin_waiters is non-zero (both
	 * counters seq_cst: either the waiter sees 0 or the unpinner sees the
	 * waiter). */
	atomic_uint pins;
	atomic_uint pin_waiters;
	pthread_mutex_t pin_lock;
	pthread_cond_t pin_cv;

	_Atomic uint64_t locked_bytes;   /* mlock()ed by mmapio_lock */

	struct mmapio_fstate *state;     /* never NULL after open */
};

/* --- SIGBUS guard (sigbus.c) -------------------------------------------
 * Copies under a per-thread sigsetjmp scope; a SIGBUS during the copy
 * makes it return -EIO. Faults outside a scope are passed to the previous
 * handler. Scopes nest. */
void mmapio_sigbus_install(void);
/* Re-installs the handler if something replaced it since (the test
 * harness cmocka swaps SIGBUS handlers around every test); the replacing
 * handler becomes the one faults outside a scope are chained to. */
void mmapio_sigbus_rearm(void);
int mmapio_guarded_copy(void *dst, const void *src, size_t n);
/* Runs fn(arg) under the guard; returns its result or -EIO on a fault.
 * fn must not take locks or allocate (it may be abandoned mid-way). */
int mmapio_guarded_call(int (*fn)(void *arg), void *arg);

/* --- Mapping helpers (file.c, resize.c) ------------------------------- */

/* The page size (cached; defined in state.c). */
size_t mmapio_page_size(void);
/* Rounds n up to a multiple of the page size. */
static inline uint64_t mmapio_page_up(uint64_t n)
{
	uint64_t p = mmapio_page_size();

	return (n + p - 1) & ~(p - 1);
}
/* True when [off, off + n) lies inside [0, len) (overflow-safe). */
static inline bool mmapio_range_ok(uint64_t off, uint64_t n, uint64_t len)
{
	return off <= len && n <= len - off;
}
/* Waits (holding no lock of f) until no view of f is pinned. A remap that
 * got -EBUSY drops map_lock, calls this, and starts over. */
void mmapio_wait_unpinned(struct mmapio_file *f);
/* With map_lock held for writing and new_len > len: extends the file to
 * new_len (allocating [alloc_from, new_len) when preallocate is on, so the
 * rest of a sparse file stays sparse; alloc_from >= new_len allocates
 * nothing), then grows the mapping to it.
 * Returns 0; -EBUSY when the mapping must move while views are pinned (the
 * file may stay extended: retry after mmapio_wait_unpinned); -ENOSPC,
 * -EFBIG, -ENOMEM (the file is then back at its old length). */
int mmapio_grow_locked(struct mmapio_file *f, uint64_t new_len,
		       uint64_t alloc_from);
/* With map_lock held (either side) and [off, off + n) inside the file:
 * applies the allocation rule before bytes are copied into that range.
 * Returns 0 or -errno (-ENOSPC). No syscall below alloc_upto. */
int mmapio_prepare_write(struct mmapio_file *f, uint64_t off, uint64_t n);
/* With map_lock held for writing (or before f is shared): recomputes
 * alloc_upto from the file's first hole (after an outside change). */
void mmapio_reset_alloc_locked(struct mmapio_file *f);

/* --- Advice (advice.c) ------------------------------------------------- */

/* Reads smaps text from fp: 1 when a VMA overlapping [lo, hi) reports
 * AnonHugePages, FilePmdMapped or ShmemPmdMapped > 0, else 0. */
int mmapio_smaps_huge(FILE *fp, uintptr_t lo, uintptr_t hi);

/* --- Durability state (state.c, accum.c, flush.c, flusher.c) ----------- */

/* Called by open once the mapping exists: finds or creates f's fstate
 * (by fstat of f->fd; a private state for COW and anonymous mappings) and
 * applies policy p when the state is new or p is not NULL. */
int mmapio_state_attach(struct mmapio_file *f, const struct mmapio_policy *p);
/* Called at the last close/unmap: applies the close rule (anything but
 * never flushes what is pending) and detaches; returns the flush result. */
int mmapio_state_detach(struct mmapio_file *f);
/* Called after bytes [off, off+len) landed in the mapping (or the file):
 * marks pages dirty, counts one write call, applies the policy. Must be
 * called WITHOUT map_lock held (it may flush, which takes it). */
int mmapio_state_account(struct mmapio_file *f, uint64_t off, uint64_t len);
/* Called by resize (with map_lock held for writing) when the length
 * changes: forgets dirty pages past the new end. */
void mmapio_state_truncated(struct mmapio_file *f, uint64_t new_len);

#endif /* MMAPIO_INTERNAL_H */
