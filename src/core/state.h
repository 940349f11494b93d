/*
 * state.h — private header of the durability engine (policy.c, accum.c,
 * state.c, flush.c, flusher.c) and of its unit tests. Not for src/fs.
 *
 * Pieces, bottom up:
 *   struct mmapio_accum   dirty-page bitmap (accum.c), a pure data structure
 *   struct mmapio_timer   a deadline in the flusher's min-heap (flusher.c);
 *                         the heap itself is a pure data structure too
 *   struct mmapio_fstate  the durability state of one backing file (state.c)
 *
 * Locking of struct mmapio_fstate, in lock order (take left before right,
 * never the other way):
 *
 *   registry.lock -> fstate.flush_lock -> file.map_lock (read)
 *                 -> fstate.lock -> flusher.lock
 *
 *   registry.lock   (state.c) the hash table, the detached list, and each
 *                   state's dev/ino/hash_next/lru links/attached count.
 *                   Never held across a sync.
 *   flush_lock      serialises flushes of one file (one at a time). Also
 *                   held by detach while it removes a mapping, so a flush
 *                   that borrowed a mapping of the state (the flusher does)
 *                   never sees it unmapped under it.
 *   map_lock        the mapping (owned by file.c); a ranged msync reads
 *                   base/len under it.
 *   lock            attached mappings (files), policy, accumulator,
 *                   pending counts, first_dirty_ns, flush_gen,
 *                   external_pending, sticky error, timer_armed. Short
 *                   critical sections only: no syscall but the clock.
 *   flusher.lock    (flusher.c) the heap, every timer's deadline/index/holds.
 *
 * Statistics are _Atomic and written only under fstate.lock (relaxed stores
 * of values computed under it), so readers never block writers.
 */
#ifndef MMAPIO_STATE_H
#define MMAPIO_STATE_H

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

void accum_init(struct mmapio_accum *a, size_t page_size);
void accum_destroy(struct mmapio_accum *a);
/* Marks the pages touched by [off, off + len) dirty; file_len (the file's
 * length, >= off + len or not) bounds how large new leaves are made.
 * Returns the number of pages that became dirty (0 when all were already),
 * or -ENOMEM (nothing marked then). */
int64_t accum_mark(struct mmapio_accum *a, uint64_t off, uint64_t len,
		   uint64_t file_len);
/* Clears the pages touched by [off, off + len); returns how many were dirty. */
uint64_t accum_clear_range(struct mmapio_accum *a, uint64_t off, uint64_t len);
/* Clears every page; returns how many were dirty. No allocation, no free. */
uint64_t accum_clear_all(struct mmapio_accum *a);
/* Forgets pages past new_len (the page holding byte new_len - 1 stays) and
 * frees leaves wholly past it. Returns how many dirty pages were dropped. */
uint64_t accum_truncate(struct mmapio_accum *a, uint64_t new_len);
bool accum_test(const struct mmapio_accum *a, uint64_t page);

/* ------------------------------------------------------------------------
 * Timer heap and flusher service (flusher.c)
 * ------------------------------------------------------------------------ */

/* Fields guarded by flusher.lock (the heap's owner). */
struct mmapio_timer {
	int64_t deadline_ns;   /* mmapio_sys.now_ns() clock */
	size_t index;          /* position in the heap; TIMER_IDLE when out */
	unsigned holds;        /* flusher passes running this timer's state */
};

#define TIMER_IDLE SIZE_MAX

/* A binary min-heap of timers ordered by deadline; O(log n) push, remove
 * and update, index kept in each timer. Pure data structure (no locks). */
struct timer_heap {
	struct mmapio_timer **v;
	size_t n, cap;
};

int timer_heap_push(struct timer_heap *h, struct mmapio_timer *t);
void timer_heap_remove(struct timer_heap *h, struct mmapio_timer *t);
/* Moves t (in the heap) to its new deadline. */
void timer_heap_update(struct timer_heap *h, struct mmapio_timer *t,
		       int64_t deadline_ns);
struct mmapio_timer *timer_heap_top(const struct timer_heap *h);
void timer_heap_free(struct timer_heap *h);

/* Arms (or moves) s's deadline and starts the flusher thread if needed.
 * Caller holds s->lock. Returns 0, or -errno when the thread cannot start
 * (the caller then flushes at once, which keeps the bound). */
int mmapio_flusher_arm(struct mmapio_fstate *s, int64_t deadline_ns);
/* Takes s's deadline out of the heap (no-op if not armed). Caller holds
 * s->lock. */
void mmapio_flusher_disarm(struct mmapio_fstate *s);
/* Before freeing s: disarms it and waits until no flusher pass holds it.
 * Caller holds registry.lock but neither s->flush_lock nor s->lock. */
void mmapio_flusher_forget(struct mmapio_fstate *s);
/* Runs every deadline due at now_ns, synchronously in the calling thread
 * (tests with an injected clock; shutdown). Returns how many fired. */
unsigned mmapio_flusher_run_due(int64_t now_ns);
/* Manual mode (tests): no thread is ever started; deadlines fire only
 * through mmapio_flusher_run_due(). Stops a running thread first. */
void mmapio_flusher_set_manual(bool manual);
/* True while the flusher thread runs (tests). */
bool mmapio_flusher_running(void);
/* Number of armed deadlines (tests). */
size_t mmapio_flusher_armed(void);

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

	pthread_mutex_t flush_lock;

	/* Guarded by lock. */
	pthread_mutex_t lock;
	struct mmapio_file **files;     /* the attached mappings (flushes of
					 * the flusher borrow files[0]) */
	unsigned nfiles, files_cap;
	struct mmapio_policy policy;
	struct mmapio_accum accum;
	uint64_t pending_writes_n;
	int64_t first_dirty_ns;         /* when the file last became dirty */
	uint64_t flush_gen;             /* full-flush snapshots taken */
	bool external_pending;          /* an external write since last flush */
	int sticky;                     /* first failed sync's -errno, or 0 */
	bool timer_armed;               /* a deadline is armed or firing */

	/* Guarded by flusher.lock. */
	struct mmapio_timer timer;

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

/* The page size the accumulator counts in. */
size_t mmapio_page_size(void);

/* Refreshes the pending statistics from the locked fields. Caller holds
 * s->lock. */
void state_publish_pending(struct mmapio_fstate *s);

/* Flushes s durably through mapping f (any mapping attached to s), with
 * s->flush_lock held by the caller: snapshot and clear the accumulator,
 * sync, record the result. Returns 0 or the sticky error. */
int flush_full_locked(struct mmapio_file *f, struct mmapio_fstate *s);
/* Called by the flusher for a state whose deadline came: flushes it when
 * still due (through any attached mapping). */
void flush_deadline_fired(struct mmapio_fstate *s, int64_t now_ns);
/* Accounts [off, off + len) written to f (through the mapping, or around
 * it when external) and applies the policy. See flush.c. */
int flush_account(struct mmapio_file *f, uint64_t off, uint64_t len,
		  bool external);

/* Registry introspection and bounds (tests). */
size_t mmapio_registry_states(void);
size_t mmapio_registry_detached(void);
/* Sets the cap on detached states kept for their pending counts (default
 * MMAPIO_DETACHED_CAP); returns the previous cap. */
size_t mmapio_registry_set_detached_cap(size_t cap);

#define MMAPIO_DETACHED_CAP 65536

#endif /* MMAPIO_STATE_H */
