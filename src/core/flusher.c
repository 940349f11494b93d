/*
 * flusher.c — the one flusher service of the process: fires the ms=T
 * deadlines of every file (docs/durability.md).
 *
 * Design
 *   Timers: each file state under a policy with ms=T has at most one timer,
 *   armed when the file goes from clean to dirty, at (time of that first
 *   pending write) + T. Timers live in one binary min-heap ordered by
 *   deadline (the timer keeps its heap index, so arm, move and disarm are
 *   O(log n)). Deadlines are absolute CLOCK_MONOTONIC times from
 *   mmapio__sys.now_ns(): a late wake-up never shifts the next deadline (no
 *   subtracted sleeps).
 *
 *   Thread: one, started lazily by the first arm (so a daemon that forks
 *   into the background starts it in the child), with every signal blocked.
 *   It sleeps on a condvar bound to CLOCK_MONOTONIC with
 *   pthread_cond_timedwait until the earliest deadline or a signal that the
 *   earliest deadline moved. A due timer is taken out of the heap and its
 *   callback (the one given to mmapio__timer_init: the durability engine's
 *   mmapio__flush_deadline_fired, which flushes the state) runs with the
 *   flusher lock dropped. The flusher knows nothing else of file states.
 *
 *   Jobs (mmapio__flusher_submit): a FIFO of functions to run on the
 *   flusher thread, before the next due timer (mmapio_flush_async queues
 *   its flushes here). A stop runs the queued jobs before the thread
 *   exits.
 *
 *   Lifetime: the heap does not own states. While a pass runs a state it
 *   counts a hold in the timer; mmapio__flusher_forget(), called before a
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
 *   Manual mode (tests): no thread; mmapio__flusher_run_due(now) fires due
 *   deadlines synchronously against an injected clock, without sleeps.
 *
 * Locking: flusher.lock guards the heap, every timer's fields, the job
 * queue and the thread bookkeeping. It is the innermost lock of the engine
 * (internal.h, "Locks"): callers may hold fstate.lock when they arm or
 * disarm; a pass drops flusher.lock before it fires a timer or runs a
 * job.
 */
#include "flusher.h"
#include "lock.h"
#include "mmapio.h"
#include "sys.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* --- binary min-heap ------------------------------------------------ */

void mmapio__timer_init(struct mmapio_timer *t, mmapio__timer_fn fire)
{
	t->deadline_ns = 0;
	t->index = TIMER_IDLE;
	t->holds = 0;
	t->fire = fire;
}

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

int mmapio__timer_heap_push(struct timer_heap *h, struct mmapio_timer *t)
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

void mmapio__timer_heap_remove(struct timer_heap *h, struct mmapio_timer *t)
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

void mmapio__timer_heap_update(struct timer_heap *h, struct mmapio_timer *t,
		       int64_t deadline_ns)
{
	int64_t old = t->deadline_ns;

	t->deadline_ns = deadline_ns;
	if (deadline_ns < old)
		heap_sift_up(h, t->index);
	else
		heap_sift_down(h, t->index);
}

struct mmapio_timer *mmapio__timer_heap_top(const struct timer_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

void mmapio__timer_heap_free(struct timer_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* --- the service ---------------------------------------------------- */

static struct {
	struct mmapio__mutex lock;
	pthread_cond_t wake;       /* CLOCK_MONOTONIC; deadline moved or stop */
	pthread_cond_t released;   /* a timer's holds dropped to zero */
	struct timer_heap heap;
	struct mmapio__job *jobs, *jobs_tail;   /* FIFO */
	size_t njobs;
	pthread_t thread;
	bool running;              /* thread started and not yet joined */
	bool stopping;
	bool manual;
} flusher = {
	.lock = MMAPIO__MUTEX_INITIALIZER,
	.released = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;

static void flusher_atfork_prepare(void)
{
	mmapio__mutex_lock(&flusher.lock);
}

static void flusher_atfork_parent(void)
{
	mmapio__mutex_unlock(&flusher.lock);
}

/* The child has no flusher thread; the next arm starts one. */
static void flusher_atfork_child(void)
{
	flusher.running = false;
	flusher.stopping = false;
	/* Jobs belong to the parent (their callbacks, their references). */
	flusher.jobs = flusher.jobs_tail = NULL;
	flusher.njobs = 0;
	mmapio__mutex_unlock(&flusher.lock);
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

/* Takes the due timer t out of the heap and runs its callback with the
 * lock dropped. Called and returns with flusher.lock held. */
static void fire_locked(struct mmapio_timer *t, int64_t now_ns)
{
	MMAPIO__ASSERT_HELD(&flusher.lock);
	mmapio__timer_heap_remove(&flusher.heap, t);
	t->holds++;
	mmapio__mutex_unlock(&flusher.lock);
	t->fire(t, now_ns);
	mmapio__mutex_lock(&flusher.lock);
	if (--t->holds == 0)
		pthread_cond_broadcast(&flusher.released);
}

/* Runs the oldest queued job with the lock dropped. Called and returns
 * with flusher.lock held; there is a job. */
static void run_job_locked(void)
{
	struct mmapio__job *j = flusher.jobs;

	MMAPIO__ASSERT_HELD(&flusher.lock);
	flusher.jobs = j->next;
	if (!flusher.jobs)
		flusher.jobs_tail = NULL;
	flusher.njobs--;
	mmapio__mutex_unlock(&flusher.lock);
	j->next = NULL;
	j->run(j);
	mmapio__mutex_lock(&flusher.lock);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	mmapio__mutex_lock(&flusher.lock);
	/* A stop waits for the queued jobs: their callbacks run here. */
	while (!flusher.stopping || flusher.jobs) {
		struct mmapio_timer *t;
		struct timespec ts;
		int64_t now, wait_ns;

		if (flusher.jobs) {
			run_job_locked();
			continue;
		}
		t = mmapio__timer_heap_top(&flusher.heap);
		if (!t) {
			mmapio__cond_wait(&flusher.wake, &flusher.lock);
			continue;
		}
		now = mmapio__sys.now_ns();
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
		mmapio__cond_timedwait(&flusher.wake, &flusher.lock, &ts);
	}
	mmapio__mutex_unlock(&flusher.lock);
	return NULL;
}

/* Starts the thread with every signal blocked. flusher.lock held. */
static int flusher_start_locked(void)
{
	sigset_t all, old;
	int rc;

	MMAPIO__ASSERT_HELD(&flusher.lock);
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

	mmapio__mutex_lock(&flusher.lock);
	/* Not from the flusher thread itself (a job's callback): it cannot
	 * join itself. It stops when asked from any other thread. */
	if (!flusher.running || flusher.stopping ||
	    pthread_equal(flusher.thread, pthread_self())) {
		mmapio__mutex_unlock(&flusher.lock);
		return;
	}
	flusher.stopping = true;
	th = flusher.thread;
	pthread_cond_signal(&flusher.wake);
	mmapio__mutex_unlock(&flusher.lock);

	pthread_join(th, NULL);

	mmapio__mutex_lock(&flusher.lock);
	flusher.running = false;
	flusher.stopping = false;
	mmapio__mutex_unlock(&flusher.lock);
}

int mmapio__flusher_arm(struct mmapio_timer *t, int64_t deadline_ns)
{
	int rc = 0;

	pthread_once(&flusher_once, flusher_init_once);
	mmapio__mutex_lock(&flusher.lock);
	if (t->index == TIMER_IDLE) {
		t->deadline_ns = deadline_ns;
		rc = mmapio__timer_heap_push(&flusher.heap, t);
	} else {
		mmapio__timer_heap_update(&flusher.heap, t, deadline_ns);
	}
	if (!rc && !flusher.running && !flusher.manual) {
		rc = flusher_start_locked();
		if (rc)
			mmapio__timer_heap_remove(&flusher.heap, t);
	}
	if (!rc && mmapio__timer_heap_top(&flusher.heap) == t)
		pthread_cond_signal(&flusher.wake);
	mmapio__mutex_unlock(&flusher.lock);
	return rc;
}

void mmapio__flusher_disarm(struct mmapio_timer *t)
{
	mmapio__mutex_lock(&flusher.lock);
	mmapio__timer_heap_remove(&flusher.heap, t);
	mmapio__mutex_unlock(&flusher.lock);
}

void mmapio__flusher_forget(struct mmapio_timer *t)
{
	mmapio__mutex_lock(&flusher.lock);
	mmapio__timer_heap_remove(&flusher.heap, t);
	while (t->holds)
		mmapio__cond_wait(&flusher.released, &flusher.lock);
	mmapio__mutex_unlock(&flusher.lock);
}

int mmapio__flusher_submit(struct mmapio__job *j)
{
	int rc = 0;

	pthread_once(&flusher_once, flusher_init_once);
	mmapio__mutex_lock(&flusher.lock);
	if (!flusher.running && !flusher.manual)
		rc = flusher_start_locked();
	if (rc == 0) {
		j->next = NULL;
		if (flusher.jobs_tail)
			flusher.jobs_tail->next = j;
		else
			flusher.jobs = j;
		flusher.jobs_tail = j;
		flusher.njobs++;
		pthread_cond_signal(&flusher.wake);
	}
	mmapio__mutex_unlock(&flusher.lock);
	return rc;
}

/* Runs the queued jobs, then fires due timers, at most max of them (so
 * writers that keep arming cannot hold a forced pass forever). */
static unsigned run_due_bounded(int64_t now_ns, size_t max)
{
	struct mmapio_timer *t;
	unsigned fired = 0;
	size_t jobs;

	mmapio__mutex_lock(&flusher.lock);
	/* Only those queued now: a job may queue another. */
	for (jobs = flusher.njobs; jobs && flusher.jobs; jobs--)
		run_job_locked();
	while (fired < max && (t = mmapio__timer_heap_top(&flusher.heap)) &&
	       t->deadline_ns <= now_ns) {
		fire_locked(t, now_ns);
		fired++;
	}
	mmapio__mutex_unlock(&flusher.lock);
	return fired;
}

unsigned mmapio__flusher_run_due(int64_t now_ns)
{
	return run_due_bounded(now_ns, SIZE_MAX);
}

void mmapio_shutdown(void)
{
	flusher_stop();
	/* Every deadline armed now counts as due: flush them all. */
	run_due_bounded(INT64_MAX, mmapio__flusher_armed());
}

void mmapio__flusher_set_manual(bool manual)
{
	if (manual)
		flusher_stop();
	pthread_once(&flusher_once, flusher_init_once);
	mmapio__mutex_lock(&flusher.lock);
	flusher.manual = manual;
	if (!manual && !flusher.running && (flusher.heap.n || flusher.jobs))
		flusher_start_locked();
	mmapio__mutex_unlock(&flusher.lock);
}

bool mmapio__flusher_running(void)
{
	bool r;

	mmapio__mutex_lock(&flusher.lock);
	r = flusher.running;
	mmapio__mutex_unlock(&flusher.lock);
	return r;
}

size_t mmapio__flusher_queued(void)
{
	size_t n;

	mmapio__mutex_lock(&flusher.lock);
	n = flusher.njobs;
	mmapio__mutex_unlock(&flusher.lock);
	return n;
}

size_t mmapio__flusher_armed(void)
{
	size_t n;

	mmapio__mutex_lock(&flusher.lock);
	n = flusher.heap.n;
	mmapio__mutex_unlock(&flusher.lock);
	return n;
}
