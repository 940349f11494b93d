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
 *   file.map_lock (rwlock): read side for every access to base/len (copies,
 *     views while being created, msync); write side for resize/remap.
 *   file.pin_lock + pin_cv: count of pinned views; resize waits for 0.
 *   fstate.lock (mutex): bitmap, policy, deadline, sticky error, heap index.
 *   Counters readable without locks are _Atomic.
 */
#ifndef MMAPIO_INTERNAL_H
#define MMAPIO_INTERNAL_H

#include "mmapio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

struct mmapio_fstate;

struct mmapio_file {
	atomic_uint refs;
	enum mmapio_mode mode;
	bool writable;            /* PROT_WRITE mapping (RW, or COW+writable) */
	bool preallocate;
	bool anon;
	int fd;                   /* -1 for anonymous */
	char *path;               /* may be NULL */

	pthread_rwlock_t map_lock;
	uint8_t *base;            /* NULL while len == 0; guarded by map_lock */
	_Atomic uint64_t len;     /* file length == mapped length */
	uint64_t reserved;        /* bytes of address space reserved at base */

	pthread_mutex_t pin_lock;
	pthread_cond_t pin_cv;
	unsigned pins;            /* live views; resize waits for 0 */

	_Atomic uint64_t locked_bytes;   /* mlock()ed by mmapio_lock */

	struct mmapio_fstate *state;     /* never NULL after open */
};

/* --- SIGBUS guard (sigbus.c) -------------------------------------------
 * Copies under a per-thread sigsetjmp scope; a SIGBUS/SIGSEGV inside the
 * mapping during the copy makes it return -EIO. Faults outside a scope are
 * passed to the previous handler. */
int mmapio_guarded_copy(void *dst, const void *src, size_t n);
/* Runs fn(arg) under the guard; returns its result or -EIO on a fault.
 * fn must not take locks or allocate (it may be abandoned mid-way). */
int mmapio_guarded_call(int (*fn)(void *arg), void *arg);

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
