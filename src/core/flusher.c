/*
 * flusher.c — the one flusher service of the process: fires the ms=T
 * deadlines of every file (DESIGN §3.4).
 *
 * DESIGN
 *   Jobs: each file state under a policy with ms=T has at most one timer,
 *   armed when the file goes from clean to dirty, at (time of that first
 *   pending write) + T. Timers live in one binary min-heap ordered by
 *   deadline (the timer keeps its heap index, so arm, move and disarm are
 *   O(log n)). Deadlines are absolute CLOCK_MONOTONIC times from
 *   mmapio_sys.now_ns(): a late wake-up never shifts the next deadline (no
 *   subtracted sleeps).
 *
 *   Thread: one, started lazily by the first arm (so a daemon that forks
 *   into the background starts it in the child), with every signal blocked.
 *   It sleeps on a condvar bound to CLOCK_MONOTONIC with
 *   pthread_cond_timedwait until the earliest deadline or a signal that the
 *   earliest deadline moved. A due timer is taken out of the heap and its
 *   state flushed with the flusher lock dropped (flush_deadline_fired()).
 *
 *   Lifetime: the heap does not own states. While a pass runs a state it
 *   counts a hold in the timer; mmapio_flusher_forget(), called before a
 *   state is freed, disarms it and waits until the holds drop to zero. The
 *   flush itself borrows one of the state's mappings under the state's
 *   flush_lock, which detach also takes, so the mapping cannot be unmapped
 *   under it.
 *
 *   Shutdown (mmapio_shutdown): stops and joins the thread, then flushes
 *   every file that still has a deadline armed (early flushing never breaks
 *   a bound, and nothing is left waiting for a thread that no longer runs).
 *   The service restarts at the next arm. After fork() the child starts
 *   with no thread (pthread_atfork resets the bookkeeping).
 *
 *   Manual mode (tests): no thread; mmapio_flusher_run_due(now) fires due
 *   deadlines synchronously against an injected clock, without sleeps.
 *
 * Locking: flusher.lock guards the heap, every timer's fields and the
 * thread bookkeeping. It is the innermost lock of the engine: callers may
 * hold fstate.lock when they arm or disarm; a pass drops flusher.lock
 * before it flushes.
 */
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* --- binary min-heap ------------------------------------------------ */

static void heap_place(struct timer_heap *h, size_t i, struct mmapio_timer *t)
{
	h->v[i] = t;
	t->index = i;
}

static void heap_sift_up(struct timer_heap *h, size_t i)
{
	struct mmapio_timer *t = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->v[parent]->deadline_ns <= t->deadline_ns)
			break;
		heap_place(h, i, h->v[parent]);
		i = parent;
	}
	heap_place(h, i, t);
}

static void heap_sift_down(struct timer_heap *h, size_t i)
{
	struct mmapio_timer *t = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->deadline_ns < h->v[c]->deadline_ns)
			c++;
		if (t->deadline_ns <= h->v[c]->deadline_ns)
			break;
		heap_place(h, i, h->v[c]);
		i = c;
	}
	heap_place(h, i, t);
}

int timer_heap_push(struct timer_heap *h, struct mmapio_timer *t)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		struct mmapio_timer **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	heap_place(h, h->n++, t);
	heap_sift_up(h, t->index);
	return 0;
}

void timer_heap_remove(struct timer_heap *h, struct mmapio_timer *t)
{
	size_t i = t->index;
	struct mmapio_timer *last;

	if (i == TIMER_IDLE)
		return;
	t->index = TIMER_IDLE;
	last = h->v[--h->n];
	if (last == t)
		return;
	heap_place(h, i, last);
	if (i > 0 && h->v[(i - 1) / 2]->deadline_ns > last->deadline_ns)
		heap_sift_up(h, i);
	else
		heap_sift_down(h, i);
}

void timer_heap_update(struct timer_heap *h, struct mmapio_timer *t,
		       int64_t deadline_ns)
{
	int64_t old = t->deadline_ns;

	t->deadline_ns = deadline_ns;
	if (deadline_ns < old)
		heap_sift_up(h, t->index);
	else
		heap_sift_down(h, t->index);
}

struct mmapio_timer *timer_heap_top(const struct timer_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

void timer_heap_free(struct timer_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* --- the service ---------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* CLOCK_MONOTONIC; deadline moved or stop */
	pthread_cond_t released;   /* a timer's holds dropped to zero */
	struct timer_heap heap;
	pthread_t thread;
	bool running;              /* thread started and not yet joined */
	bool stopping;
	bool manual;
} flusher = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.released = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;

static void flusher_atfork_prepare(void)
{
	pthread_mutex_lock(&flusher.lock);
}

static void flusher_atfork_parent(void)
{
	pthread_mutex_unlock(&flusher.lock);
}

/* The child has no flusher thread; the next arm starts one. */
static void flusher_atfork_child(void)
{
	flusher.running = false;
	flusher.stopping = false;
	pthread_mutex_unlock(&flusher.lock);
}

static void flusher_init_once(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&flusher.wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_atfork(flusher_atfork_prepare, flusher_atfork_parent,
		       flusher_atfork_child);
}

static struct mmapio_fstate *timer_state(struct mmapio_timer *t)
{
	return (struct mmapio_fstate *)((char *)t - offsetof(struct mmapio_fstate, timer));
}

/* Takes the due timer t out of the heap and flushes its state with the
 * lock dropped. Called and returns with flusher.lock held. */
static void fire_locked(struct mmapio_timer *t, int64_t now_ns)
{
	timer_heap_remove(&flusher.heap, t);
	t->holds++;
	pthread_mutex_unlock(&flusher.lock);
	flush_deadline_fired(timer_state(t), now_ns);
	pthread_mutex_lock(&flusher.lock);
	if (--t->holds == 0)
		pthread_cond_broadcast(&flusher.released);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&flusher.lock);
	while (!flusher.stopping) {
		struct mmapio_timer *t = timer_heap_top(&flusher.heap);
		struct timespec ts;
		int64_t now, wait_ns;

		if (!t) {
			pthread_cond_wait(&flusher.wake, &flusher.lock);
			continue;
		}
		now = mmapio_sys.now_ns();
		if (t->deadline_ns <= now) {
			fire_locked(t, now);
			continue;
		}
		/* Sleep until the deadline on the real monotonic clock. */
		wait_ns = t->deadline_ns - now;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(wait_ns / 1000000000);
		ts.tv_nsec += (long)(wait_ns % 1000000000);
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&flusher.wake, &flusher.lock, &ts);
	}
	pthread_mutex_unlock(&flusher.lock);
	return NULL;
}

/* Starts the thread with every signal blocked. flusher.lock held. */
static int flusher_start_locked(void)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&flusher.thread, NULL, flusher_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	flusher.running = true;
	return 0;
}

/* Stops and joins the thread if it runs. Called without flusher.lock. */
static void flusher_stop(void)
{
	pthread_t th;

	pthread_mutex_lock(&flusher.lock);
	if (!flusher.running || flusher.stopping) {
		pthread_mutex_unlock(&flusher.lock);
		return;
	}
	flusher.stopping = true;
	th = flusher.thread;
	pthread_cond_signal(&flusher.wake);
	pthread_mutex_unlock(&flusher.lock);

	pthread_join(th, NULL);

	pthread_mutex_lock(&flusher.lock);
	flusher.running = false;
	flusher.stopping = false;
	pthread_mutex_unlock(&flusher.lock);
}

int mmapio_flusher_arm(struct mmapio_fstate *s, int64_t deadline_ns)
{
	struct mmapio_timer *t = &s->timer;
	int rc = 0;

	pthread_once(&flusher_once, flusher_init_once);
	pthread_mutex_lock(&flusher.lock);
	if (t->index == TIMER_IDLE) {
		t->deadline_ns = deadline_ns;
		rc = timer_heap_push(&flusher.heap, t);
	} else {
		timer_heap_update(&flusher.heap, t, deadline_ns);
	}
	if (!rc && !flusher.running && !flusher.manual) {
		rc = flusher_start_locked();
		if (rc)
			timer_heap_remove(&flusher.heap, t);
	}
	if (!rc && timer_heap_top(&flusher.heap) == t)
		pthread_cond_signal(&flusher.wake);
	pthread_mutex_unlock(&flusher.lock);
	return rc;
}

void mmapio_flusher_disarm(struct mmapio_fstate *s)
{
	pthread_mutex_lock(&flusher.lock);
	timer_heap_remove(&flusher.heap, &s->timer);
	pthread_mutex_unlock(&flusher.lock);
}

void mmapio_flusher_forget(struct mmapio_fstate *s)
{
	pthread_mutex_lock(&flusher.lock);
	timer_heap_remove(&flusher.heap, &s->timer);
	while (s->timer.holds)
		pthread_cond_wait(&flusher.released, &flusher.lock);
	pthread_mutex_unlock(&flusher.lock);
}

/* Fires due timers, at most max of them (so writers that keep arming
 * cannot hold a forced pass forever). */
static unsigned run_due_bounded(int64_t now_ns, size_t max)
{
	struct mmapio_timer *t;
	unsigned fired = 0;

	pthread_mutex_lock(&flusher.lock);
	while (fired < max && (t = timer_heap_top(&flusher.heap)) &&
	       t->deadline_ns <= now_ns) {
		fire_locked(t, now_ns);
		fired++;
	}
	pthread_mutex_unlock(&flusher.lock);
	return fired;
}

unsigned mmapio_flusher_run_due(int64_t now_ns)
{
	return run_due_bounded(now_ns, SIZE_MAX);
}

void mmapio_shutdown(void)
{
	flusher_stop();
	/* Every deadline armed now counts as due: flush them all. */
	run_due_bounded(INT64_MAX, mmapio_flusher_armed());
}

void mmapio_flusher_set_manual(bool manual)
{
	if (manual)
		flusher_stop();
	pthread_once(&flusher_once, flusher_init_once);
	pthread_mutex_lock(&flusher.lock);
	flusher.manual = manual;
	if (!manual && !flusher.running && flusher.heap.n)
		flusher_start_locked();
	pthread_mutex_unlock(&flusher.lock);
}

bool mmapio_flusher_running(void)
{
	bool r;

	pthread_mutex_lock(&flusher.lock);
	r = flusher.running;
	pthread_mutex_unlock(&flusher.lock);
	return r;
}

size_t mmapio_flusher_armed(void)
{
	size_t n;

	pthread_mutex_lock(&flusher.lock);
	n = flusher.heap.n;
	pthread_mutex_unlock(&flusher.lock);
	return n;
}
