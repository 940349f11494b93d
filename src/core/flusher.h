/*
 * flusher.h — the timer heap and the one flusher service of the process
 * (flusher.c), private to src/core.
 *
 * The flusher knows timers and jobs, nothing else: a timer fires the
 * callback it was initialised with (the durability engine gives
 * mmapio__flush_deadline_fired, flush.c), a job runs its own function. So
 * flusher.c depends on no other file of the engine, and the engine's
 * dependencies point one way: state.c -> flush.c -> flusher.c.
 *
 * Locking: flusher.lock (internal.h, "Locks") guards the heap, every
 * timer's fields below and the job queue. It is the innermost lock of the
 * engine but for the leaves: callers may hold fstate.lock when they arm or
 * disarm; the service drops it before it fires a timer or runs a job.
 */
#ifndef MMAPIO_FLUSHER_H
#define MMAPIO_FLUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mmapio_timer;

/* Runs on the flusher thread (or in mmapio__flusher_run_due), with no lock
 * of the flusher held, when t's deadline came. */
typedef void (*mmapio__timer_fn)(struct mmapio_timer *t, int64_t now_ns);

/* Fields guarded by flusher.lock (the heap's owner); fire is set once by
 * mmapio__timer_init, before the timer is armed. */
struct mmapio_timer {
	int64_t deadline_ns;   /* mmapio__sys.now_ns() clock */
	size_t index;          /* position in the heap; TIMER_IDLE when out */
	unsigned holds;        /* flusher passes running this timer */
	mmapio__timer_fn fire; /* what a due timer runs */
};

#define TIMER_IDLE SIZE_MAX

void mmapio__timer_init(struct mmapio_timer *t, mmapio__timer_fn fire);

/* A binary min-heap of timers ordered by deadline; O(log n) push, remove
 * and update, index kept in each timer. Pure data structure (no locks). */
struct timer_heap {
	struct mmapio_timer **v;
	size_t n, cap;
};

int mmapio__timer_heap_push(struct timer_heap *h, struct mmapio_timer *t);
void mmapio__timer_heap_remove(struct timer_heap *h, struct mmapio_timer *t);
/* Moves t (in the heap) to its new deadline. */
void mmapio__timer_heap_update(struct timer_heap *h, struct mmapio_timer *t,
			       int64_t deadline_ns);
struct mmapio_timer *mmapio__timer_heap_top(const struct timer_heap *h);
void mmapio__timer_heap_free(struct timer_heap *h);

/* Arms (or moves) t's deadline and starts the flusher thread if needed.
 * The caller serialises arm/disarm of one timer (the engine holds the
 * state's fstate.lock). Returns 0, or -errno when the thread cannot start
 * (the caller then flushes at once, which keeps the bound). */
int mmapio__flusher_arm(struct mmapio_timer *t, int64_t deadline_ns);
/* Takes t out of the heap (no-op if not armed). */
void mmapio__flusher_disarm(struct mmapio_timer *t);
/* Before freeing t: disarms it and waits until no flusher pass holds it.
 * The caller holds no lock that t's callback takes. */
void mmapio__flusher_forget(struct mmapio_timer *t);

/* A job for the flusher thread: run(j) is called once, on that thread,
 * with no lock of the flusher held; it owns j from then on. */
struct mmapio__job {
	struct mmapio__job *next;     /* queue link (flusher.lock) */
	void (*run)(struct mmapio__job *j);
};
/* Queues j (FIFO) and starts the flusher thread if needed. Returns 0, or
 * -errno when the thread cannot start (j was not queued). */
int mmapio__flusher_submit(struct mmapio__job *j);

/* Runs every queued job and every deadline due at now_ns, synchronously in
 * the calling thread (tests with an injected clock; shutdown). Returns how
 * many timers fired. */
unsigned mmapio__flusher_run_due(int64_t now_ns);
/* Manual mode (tests): no thread is ever started; deadlines fire and jobs
 * run only through mmapio__flusher_run_due(). Stops a running thread
 * first. */
void mmapio__flusher_set_manual(bool manual);
/* True while the flusher thread runs (tests). */
bool mmapio__flusher_running(void);
/* Number of armed deadlines (tests). */
size_t mmapio__flusher_armed(void);
/* Number of queued jobs (tests). */
size_t mmapio__flusher_queued(void);

#endif /* MMAPIO_FLUSHER_H */
