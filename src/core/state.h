/*
 * state.h — private header of the durability engine (policy.c, accum.c,
 * state.c, flush.c, flusher.c) and of its unit tests. Not for src/fs.
 *
 * Pieces, bottom up:
 *   struct mmapio_accum   dirty-page bitmap (accum.c), a pure data structure
 *   struct mmapio_timer   a deadline in the flusher's min-heap (flusher.h,
 *                         which knows nothing of file states: a timer
 *                         fires the callback it was initialised with)
 *   struct mmapio_fstate  the durability state of one backing file (state.c)
 *
 * Locking: the fields of struct mmapio_fstate say which lock guards them;
 * the locks and their order are in the one table of internal.h ("Locks"):
 * registry.lock, fstate.flush_lock, file.map_lock, fstate.lock,
 * flusher.lock. The timer's fields (deadline, heap index, holds) belong to
 * flusher.lock, not to fstate.lock; fstate.lock guards only timer_armed.
 *
 * Statistics are _Atomic and written only under fstate.lock (relaxed stores
 * of values computed under it), so readers never block writers.
 */
#ifndef MMAPIO_STATE_H
#define MMAPIO_STATE_H

#include "flusher.h"
#include "internal.h"

#include <stdint.h>

/* ms thresholds are capped so that now_ns + ms * 10^6 stays far below
 * INT64_MAX (about 146 years). */
#define MMAPIO_POLICY_MS_MAX ((uint64_t)INT64_MAX / 2 / 1000000)

/* ------------------------------------------------------------------------
 * Dirty-page bitmap (accum.c)
 *
 * Two levels: a directory of leaf pointers, one per ACCUM_LEAF_PAGES pages
 * (128 MiB of file with 4 KiB pages); a leaf is allocated at the first
 * write into its span and sized to the part of the span that lies inside
 * the file (64 pages = 8 bytes granularity), so memory stays below
 * file size / 32768 plus one word per leaf and only touched spans cost
 * anything. Leaves are kept when cleared, so a steady write/flush cycle
 * allocates nothing; they are freed by truncation and destroy.
 * Not thread-safe: the owner (fstate.lock) serialises.
 * ------------------------------------------------------------------------ */

#define ACCUM_LEAF_PAGES 32768u
#define ACCUM_LEAF_WORDS (ACCUM_LEAF_PAGES / 64)

struct accum_leaf {
	uint32_t nwords;   /* bits[] capacity in 64-bit words */
	uint32_t dirty;    /* set bits in this leaf */
	uint64_t bits[];
};

struct mmapio_accum {
	struct accum_leaf **dir;   /* ndir slots; NULL = untouched span */
	size_t ndir;
	uint64_t dirty_pages;
	unsigned page_shift;
	size_t mem_bytes;          /* bytes allocated (directory + leaves) */
};

void mmapio__accum_init(struct mmapio_accum *a, size_t page_size);
void mmapio__accum_destroy(struct mmapio_accum *a);
/* Marks the pages touched by [off, off + len) dirty; file_len (the file's
 * length, >= off + len or not) bounds how large new leaves are made.
 * Returns the number of pages that became dirty (0 when all were already),
 * or -ENOMEM (nothing marked then). */
int64_t mmapio__accum_mark(struct mmapio_accum *a, uint64_t off, uint64_t len,
		   uint64_t file_len);
/* Clears the pages touched by [off, off + len); returns how many were dirty. */
uint64_t mmapio__accum_clear_range(struct mmapio_accum *a, uint64_t off, uint64_t len);
/* Clears every page; returns how many were dirty. No allocation, no free. */
uint64_t mmapio__accum_clear_all(struct mmapio_accum *a);
/* Forgets pages past new_len (the page holding byte new_len - 1 stays) and
 * frees leaves wholly past it. Returns how many dirty pages were dropped. */
uint64_t mmapio__accum_truncate(struct mmapio_accum *a, uint64_t new_len);
bool mmapio__accum_test(const struct mmapio_accum *a, uint64_t page);

/* ------------------------------------------------------------------------
 * Per-file durability state (state.c) and flushes (flush.c)
 * ------------------------------------------------------------------------ */

struct mmapio_fstate {
	/* Guarded by registry.lock. */
	dev_t dev;
	ino_t ino;
	struct mmapio_fstate *hash_next;
	struct mmapio_fstate *lru_prev, *lru_next;   /* detached list */
	bool on_lru;
	unsigned attached;              /* mappings attached */
	bool private_state;             /* COW/anonymous: not in the registry;
					 * set at creation, then constant */
	char *detached_path;            /* while detached: the path of the
					 * last mapping (may be NULL) */
	bool detached_rw;               /* while detached: it was RW */

	struct mmapio__mutex flush_lock;

	/* Guarded by lock. */
	struct mmapio__mutex lock;
	struct mmapio_file **files;     /* the attached mappings (flushes of
					 * the flusher borrow files[0]) */
	unsigned nfiles, files_cap;
	struct mmapio_policy policy;    /* set with mmapio__state_set_policy */
	struct mmapio_accum accum;
	uint64_t pending_writes_n;
	int64_t first_dirty_ns;         /* when the file last became dirty */
	uint64_t flush_gen;             /* full-flush snapshots taken */
	bool external_pending;          /* an external write since last flush */
	int sticky;                     /* first failed sync's -errno, or 0 */
	bool timer_armed;               /* a deadline is armed or firing */

	/* Its fields are guarded by flusher.lock (flusher.h); initialised with
	 * mmapio__flush_deadline_fired as its callback. */
	struct mmapio_timer timer;

	/* policy.kind == ALWAYS, for access.c's choice of copy without the
	 * lock: written under lock, read lock-free. */
	atomic_bool write_through;

	/* Statistics: written under lock, read lock-free. */
	_Atomic uint64_t st_bytes_written;
	_Atomic uint64_t st_writes;
	_Atomic uint64_t st_flushes;
	_Atomic uint64_t st_flush_errors;
	_Atomic uint64_t st_pending_bytes;
	_Atomic uint64_t st_pending_writes;
	_Atomic int64_t st_last_flush_ns;
	_Atomic uint64_t st_last_flush_duration_ns;
	_Atomic int st_sticky;
};

/* Sets s's policy (and write_through with it; flush.c). Caller holds
 * s->lock. */
void mmapio__state_set_policy(struct mmapio_fstate *s,
			      const struct mmapio_policy *p);
/* True when every write to f is made durable at once (policy `always`):
 * access.c then copies with pwrite instead of a store (see there). */
bool mmapio__state_write_through(const struct mmapio_file *f);

/* Refreshes the pending statistics from the locked fields (flush.c).
 * Caller holds s->lock. */
void mmapio__state_publish_pending(struct mmapio_fstate *s);

/* Flushes s durably through mapping f (any mapping attached to s), with
 * s->flush_lock held by the caller: snapshot and clear the accumulator,
 * sync, record the result. Returns 0 or the sticky error. */
int mmapio__flush_full_locked(struct mmapio_file *f, struct mmapio_fstate *s);
/* The callback of every state's timer (given at mmapio__timer_init), run
 * by the flusher when the deadline came: flushes the state when still due
 * (through any attached mapping). */
void mmapio__flush_deadline_fired(struct mmapio_timer *t, int64_t now_ns);
/* Accounts [off, off + len) written to f (through the mapping, or around
 * it when external) and applies the policy. See flush.c. */
int mmapio__flush_account(struct mmapio_file *f, uint64_t off, uint64_t len,
		  bool external);

/* Registry introspection and bounds (tests). */
size_t mmapio__registry_states(void);
size_t mmapio__registry_detached(void);
/* Sets the cap on detached states kept for their pending counts (default
 * MMAPIO_DETACHED_CAP); returns the previous cap. */
size_t mmapio__registry_set_detached_cap(size_t cap);

#define MMAPIO_DETACHED_CAP 65536

#endif /* MMAPIO_STATE_H */
