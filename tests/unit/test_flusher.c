/*
 * test_flusher.c — unit tests of src/core/flusher.c: the timer heap as a
 * pure data structure (against a model), the ms policy with an injected
 * clock and mmapio__flusher_run_due() (no sleeps), set_policy moving and
 * dropping deadlines, shutdown/restart, one real-time test of the
 * background thread, and writer threads on several files racing the
 * flusher and closes (run under ASan/UBSan; TSan build optional).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dur_util.h"

#define PS 4096u
#define MS 1000000ll

/* --- the heap alone ------------------------------------------------- */

static void check_heap(const struct timer_heap *h)
{
	for (size_t i = 0; i < h->n; i++) {
		assert_int_equal(h->v[i]->index, i);
		if (i)
			assert_true(h->v[(i - 1) / 2]->deadline_ns <= h->v[i]->deadline_ns);
	}
}

static void test_heap_against_model(void **state)
{
	enum { N = 500 };
	struct mmapio_timer *t = calloc(N, sizeof(*t));
	struct timer_heap h = { 0 };
	uint64_t seed = 99;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < N; i++)
		t[i].index = TIMER_IDLE;
	for (int step = 0; step < 100000; step++) {
		struct mmapio_timer *x;
		int i;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		i = (int)((seed >> 33) % N);
		x = &t[i];
		switch ((seed >> 20) % 4) {
		case 0:
		case 1:
			if (x->index == TIMER_IDLE) {
				x->deadline_ns = (int64_t)((seed >> 40) % 1000);
				assert_int_equal(mmapio__timer_heap_push(&h, x), 0);
			} else {
				mmapio__timer_heap_update(&h, x, (int64_t)((seed >> 40) % 1000));
			}
			break;
		case 2:
			mmapio__timer_heap_remove(&h, x);
			assert_int_equal(x->index, TIMER_IDLE);
			break;
		default: {
			/* pop: the top is the minimum of the armed timers */
			struct mmapio_timer *top = mmapio__timer_heap_top(&h);
			int64_t min = INT64_MAX;

			for (int k = 0; k < N; k++)
				if (t[k].index != TIMER_IDLE && t[k].deadline_ns < min)
					min = t[k].deadline_ns;
			if (!top) {
				assert_true(min == INT64_MAX);
				break;
			}
			assert_int_equal(top->deadline_ns, min);
			mmapio__timer_heap_remove(&h, top);
			break;
		}
		}
		if (step % 97 == 0)
			check_heap(&h);
	}
	check_heap(&h);
	mmapio__timer_heap_free(&h);
	free(t);
}

/* --- the ms policy on an injected clock ----------------------------- */

static void test_ms_fires_at_deadline(void **state)
{
	struct mmapio_file *f = dur_create("ms", 16 * PS, "ms=100");
	int64_t t0 = atomic_load(&dur.now);

	(void)state;
	assert_int_equal(mmapio__flusher_armed(), 0);    /* clean: nothing armed */
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	assert_false(mmapio__flusher_running());         /* manual mode */
	/* later writes do not move the deadline (it is the first's + T) */
	atomic_store(&dur.now, t0 + 60 * MS);
	assert_int_equal(dur_write(f, PS, PS, 'a'), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 100 * MS - 1), 0);
	assert_int_equal(dur_syncs(), 0);
	atomic_store(&dur.sync_cost, 7 * MS);
	assert_int_equal(mmapio__flusher_run_due(t0 + 100 * MS), 1);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio__flusher_armed(), 0);
	{
		struct mmapio_stats st;

		mmapio_stats(f, &st);
		assert_int_equal(st.last_flush_duration_ns, 7 * MS);
		assert_int_equal(st.flushes, 1);
	}
	/* the next first write arms a new deadline from its own time */
	atomic_store(&dur.now, t0 + 500 * MS);
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 599 * MS), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 600 * MS), 1);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_ms_with_bytes_first_reached(void **state)
{
	struct mmapio_file *f = dur_create("msb", 16 * PS, "bytes=8KiB,ms=1000");
	int64_t t0 = atomic_load(&dur.now);

	(void)state;
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	assert_int_equal(dur_write(f, PS, PS, 'a'), 0);    /* bytes reached */
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio__flusher_armed(), 0);       /* flush disarmed */
	assert_int_equal(mmapio__flusher_run_due(t0 + 2000 * MS), 0);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_explicit_flush_disarms(void **state)
{
	struct mmapio_file *f = dur_create("msx", 16 * PS, "ms=100");
	int64_t t0 = atomic_load(&dur.now);

	(void)state;
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio__flusher_armed(), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 1000 * MS), 0);
	assert_int_equal(dur_syncs(), 1);
	/* a ranged flush that leaves pages pending keeps the deadline */
	assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
	assert_int_equal(mmapio_flush_range(f, 0, PS), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	assert_int_equal(mmapio__flusher_run_due(t0 + 1000 * MS), 1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_set_policy_and_deadlines(void **state)
{
	struct mmapio_file *f = dur_create("msp", 16 * PS, "never");
	int64_t t0 = atomic_load(&dur.now);
	struct mmapio_policy p;

	(void)state;
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);       /* first write at t0 */
	/* to ms=1000 at t0+200ms: deadline t0+1000ms */
	atomic_store(&dur.now, t0 + 200 * MS);
	assert_int_equal(mmapio_policy_parse("ms=1000", &p, NULL, 0), 0);
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	/* lowered to ms=500: moved to t0+500ms */
	assert_int_equal(mmapio_policy_parse("ms=500", &p, NULL, 0), 0);
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 499 * MS), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 500 * MS), 1);
	assert_int_equal(dur_syncs(), 1);
	/* lowered below the age of the pending data: flushes now */
	atomic_store(&dur.now, t0 + 2000 * MS);
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);        /* armed +500 */
	atomic_store(&dur.now, t0 + 2300 * MS);
	assert_int_equal(mmapio_policy_parse("ms=200", &p, NULL, 0), 0);
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio__flusher_armed(), 0);
	/* to never: disarmed, nothing fires */
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	assert_int_equal(mmapio_policy_parse("never", &p, NULL, 0), 0);
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(mmapio__flusher_armed(), 0);
	assert_int_equal(mmapio__flusher_run_due(INT64_MAX / 2), 0);
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* The deadline belongs to the file: it fires through another mapping
 * after the writer's mapping closed, and reopening under ms re-arms
 * counts left by a never mapping from their first write's time. */
static void test_deadline_belongs_to_file(void **state)
{
	struct mmapio_file *a = dur_create("msf", 16 * PS, "ms=100");
	struct mmapio_file *b = dur_open("msf", "ms=100");
	int64_t t0 = atomic_load(&dur.now);

	(void)state;
	assert_int_equal(dur_write(a, 0, PS, 'a'), 0);
	assert_int_equal(mmapio_close(a), 0);        /* not the last mapping */
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 100 * MS), 1);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_pending_bytes(b), 0);
	assert_int_equal(mmapio_set_policy(b, &(struct mmapio_policy){
		.kind = MMAPIO_POLICY_NEVER }), 0);
	atomic_store(&dur.now, t0 + 1000 * MS);
	assert_int_equal(dur_write(b, 0, PS, 'a'), 0);
	assert_int_equal(mmapio_close(b), 0);        /* never: kept, no sync */
	assert_int_equal(dur_syncs(), 1);
	a = dur_open("msf", "ms=100");
	assert_int_equal(mmapio__flusher_armed(), 1);
	assert_int_equal(mmapio__flusher_run_due(t0 + 1099 * MS), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 1100 * MS), 1);
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio_close(a), 0);
}

static void test_shutdown_flushes_armed_and_restarts(void **state)
{
	struct mmapio_file *f = dur_create("msd", 16 * PS, "ms=60000");

	(void)state;
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	mmapio_shutdown();
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio__flusher_armed(), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	/* still usable */
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	mmapio_shutdown();
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio_close(f), 0);
}

/* --- the real thread ------------------------------------------------ */

static int64_t real_ms(void)
{
	return mmapio__monotonic_ns() / MS;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * MS };

	nanosleep(&ts, NULL);
}

static void test_real_thread_fires(void **state)
{
	struct mmapio_file *f;
	int64_t start, elapsed;

	(void)state;
	dur_use_real_clock();
	mmapio_shutdown();
	assert_false(mmapio__flusher_running());
	f = dur_create("real", 16 * PS, "ms=50");
	assert_false(mmapio__flusher_running());          /* lazy: no arm yet */
	start = real_ms();
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_true(mmapio__flusher_running());
	while (mmapio_pending_bytes(f) && real_ms() - start < 5000)
		sleep_ms(1);
	elapsed = real_ms() - start;
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_true(elapsed >= 50);
	/* T plus one flush plus scheduling slack on a loaded machine */
	assert_true(elapsed < 50 + 1000);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	/* shutdown joins the thread; the next arm restarts it */
	mmapio_shutdown();
	assert_false(mmapio__flusher_running());
	start = real_ms();
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	assert_true(mmapio__flusher_running());
	while (mmapio_pending_bytes(f) && real_ms() - start < 5000)
		sleep_ms(1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* A daemon forks after the library was used: the child has no flusher
 * thread and must start its own at its first arm. */
static void test_fork_child_starts_its_own_thread(void **state)
{
	struct mmapio_file *f;
	int status = -1;
	pid_t pid;

	(void)state;
#if defined(__SANITIZE_THREAD__)
	skip();   /* TSan cannot start threads after a multi-threaded fork */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	skip();
#endif
#endif
	dur_use_real_clock();
	f = dur_create("forkp", 4 * PS, "ms=5");
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_true(mmapio__flusher_running());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mmapio_file *g = NULL;
		struct mmapio_options o;
		int64_t start = real_ms();

		mmapio_options_init(&o);
		o.mode = MMAPIO_RW;
		o.how = MMAPIO_CREATE;
		o.size = 4 * PS;
		o.policy = (struct mmapio_policy){ .kind = MMAPIO_POLICY_THRESHOLD,
						   .ms = 5 };
		if (mmapio__flusher_running() || mmapio_open(dur_path("forkc"), &o, &g) ||
		    mmapio_write(g, 0, "x", 1) || !mmapio__flusher_running())
			_exit(2);
		while (mmapio_pending_bytes(g) && real_ms() - start < 5000)
			sleep_ms(1);
		_exit(mmapio_pending_bytes(g) ? 3 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* --- concurrency ------------------------------------------------------ */

struct cycler {
	int id;
	int rc;
};

static const char *const conc_policies[] = {
	"ms=1", "ms=2,bytes=32KiB", "writes=50,ms=1", "bytes=16KiB",
};

/* Opens, writes, and closes its file over and over while the flusher
 * fires deadlines on it: detach races fire. */
static void *cycle_files(void *p)
{
	struct cycler *c = p;
	char name[32], buf[300];

	memset(buf, 'c', sizeof(buf));
	snprintf(name, sizeof(name), "conc%d", c->id);
	for (int round = 0; round < 40 && !c->rc; round++) {
		struct mmapio_file *f = NULL;
		struct mmapio_options o;

		mmapio_options_init(&o);
		o.mode = MMAPIO_RW;
		o.how = MMAPIO_OPEN_OR_CREATE;
		o.size = 32 * PS;
		if (mmapio_policy_parse(conc_policies[c->id % 4], &o.policy, NULL, 0) ||
		    mmapio_open(dur_path(name), &o, &f)) {
			c->rc = -1;
			break;
		}
		for (int i = 0; i < 200 && !c->rc; i++)
			c->rc = mmapio_write(f, (uint64_t)(i * 977 + round * 31) %
					     (32 * PS - sizeof(buf)), buf, sizeof(buf));
		if (mmapio_close(f))
			c->rc = -2;
	}
	return NULL;
}

static void test_writers_against_flusher(void **state)
{
	enum { N = 8 };
	struct cycler c[N];
	pthread_t th[N];

	(void)state;
	dur_use_real_clock();
	for (int i = 0; i < N; i++) {
		c[i] = (struct cycler){ .id = i % 6, .rc = 0 };   /* two pairs share a file */
		assert_int_equal(pthread_create(&th[i], NULL, cycle_files, &c[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].rc, 0);
	}
	assert_int_equal(mmapio__flusher_armed(), 0);
	assert_int_equal(mmapio__registry_states(), 0);
	assert_true(dur_syncs() > 0);
}

/* --- asynchronous flushes (issue 19) ------------------------------------ */

struct done_seen {
	atomic_int calls;
	int rc;
	int syncs_at_call;          /* fdatasync calls when done ran */
	pthread_t thread;
	uint64_t pending_at_call;
	struct mmapio_file *f;
};

static void on_done(struct mmapio_file *f, int rc, void *ctx)
{
	struct done_seen *d = ctx;

	d->rc = rc;
	d->syncs_at_call = atomic_load(&dur.fdatasync);
	d->thread = pthread_self();
	d->pending_at_call = mmapio_pending_bytes(f);
	d->f = f;
	atomic_fetch_add(&d->calls, 1);
}

/* Manual mode: the job runs in run_due, durable when it reports 0. */
static void test_flush_async_runs_as_a_job(void **state)
{
	struct mmapio_file *f = dur_create("async", 8 * PS, "never");
	struct done_seen d = { 0 };

	(void)state;
	assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
	assert_int_equal(mmapio_flush_async(f, on_done, &d), 0);
	assert_int_equal(mmapio__flusher_queued(), 1);
	assert_int_equal(atomic_load(&d.calls), 0);       /* not yet */
	/* The caller may drop its reference: the request holds one. */
	assert_int_equal(mmapio_close(f), 0);
	mmapio__flusher_run_due(atomic_load(&dur.now));
	assert_int_equal(atomic_load(&d.calls), 1);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.syncs_at_call, 1);             /* synced before */
	assert_int_equal(d.pending_at_call, 0);
	assert_int_equal(mmapio__flusher_queued(), 0);
	assert_int_equal(mmapio_flush_async(NULL, on_done, &d), -EINVAL);
}

/* A failed sync reaches the callback as the sticky error. */
static void test_flush_async_reports_errors(void **state)
{
	struct mmapio_file *f = dur_create("asyncerr", 8 * PS, "never");
	struct done_seen d = { 0 };

	(void)state;
	assert_int_equal(mmapio_flush_async(f, NULL, &d), -EINVAL);
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	atomic_store(&dur.fail_fdatasync, EIO);
	assert_int_equal(mmapio_flush_async(f, on_done, &d), 0);
	mmapio__flusher_run_due(atomic_load(&dur.now));
	assert_int_equal(atomic_load(&d.calls), 1);
	assert_int_equal(d.rc, -EIO);
	atomic_store(&dur.fail_fdatasync, 0);
	assert_int_equal(mmapio_close(f), -EIO);
}

/* The real thread: the callback runs there, in order, and a shutdown
 * runs what is queued before it returns. COW flushes report 0. */
static void test_flush_async_on_the_flusher_thread(void **state)
{
	enum { N = 16 };
	struct mmapio_file *f, *c;
	struct done_seen d[N], dc = { 0 };

	(void)state;
	dur_use_real_clock();
	f = dur_create("asyncthr", 8 * PS, "never");
	memset(d, 0, sizeof(d));
	for (int i = 0; i < N; i++) {
		assert_int_equal(dur_write(f, (uint64_t)(i % 8) * PS, 10, 'b'), 0);
		assert_int_equal(mmapio_flush_async(f, on_done, &d[i]), 0);
	}
	assert_int_equal(mmapio_open_cow(dur_path("asyncthr"), true, &c), 0);
	assert_int_equal(mmapio_flush_async(c, on_done, &dc), 0);
	assert_int_equal(mmapio_close(c), 0);
	mmapio_shutdown();     /* runs the queued ones first */
	for (int i = 0; i < N; i++) {
		assert_int_equal(atomic_load(&d[i].calls), 1);
		assert_int_equal(d[i].rc, 0);
		assert_false(pthread_equal(d[i].thread, pthread_self()));
		if (i)   /* in order */
			assert_true(d[i].syncs_at_call > d[i - 1].syncs_at_call);
	}
	assert_int_equal(atomic_load(&dc.calls), 1);
	assert_int_equal(dc.rc, 0);
	assert_int_equal(mmapio__flusher_queued(), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* A close from inside the callback (the request's file) is fine, and so
 * is a shutdown asked there (it cannot join its own thread: a no-op). */
static void close_in_done(struct mmapio_file *f, int rc, void *ctx)
{
	struct done_seen *d = ctx;

	(void)f;
	d->rc = rc;
	mmapio_shutdown();
	d->rc = d->rc ? d->rc : mmapio_close(d->f);
	atomic_fetch_add(&d->calls, 1);
}

static void test_flush_async_callback_may_close(void **state)
{
	struct mmapio_file *f;
	struct done_seen d = { 0 };

	(void)state;
	dur_use_real_clock();
	f = dur_create("asyncclose", 8 * PS, "always");
	d.f = f;
	assert_int_equal(mmapio_flush_async(f, close_in_done, &d), 0);
	for (int i = 0; i < 5000 && !atomic_load(&d.calls); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&d.calls), 1);
	assert_int_equal(d.rc, 0);
	mmapio_shutdown();
}

/* --- lock ownership checks (lock.h) -------------------------------------- */

static struct mmapio__mutex test_mutex = MMAPIO__MUTEX_INITIALIZER;

static void *held_elsewhere(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)mmapio__mutex_held(&test_mutex);
}

static void test_lock_ownership(void **state)
{
	struct mmapio__rwlock rw;
	pthread_t t;
	void *res;

	(void)state;
#ifdef NDEBUG
	skip();
#endif
	assert_false(mmapio__mutex_held(&test_mutex));
	mmapio__mutex_lock(&test_mutex);
	assert_true(mmapio__mutex_held(&test_mutex));
	assert_int_equal(pthread_create(&t, NULL, held_elsewhere, NULL), 0);
	pthread_join(t, &res);
	assert_int_equal((intptr_t)res, 0);     /* held, but not by that one */
	mmapio__mutex_unlock(&test_mutex);
	assert_false(mmapio__mutex_held(&test_mutex));

	mmapio__rwlock_init(&rw);
	assert_false(mmapio__locked(&rw));
	mmapio__rdlock(&rw);
	assert_true(mmapio__locked(&rw));
	assert_false(mmapio__wrlocked(&rw));
	mmapio__rwunlock(&rw);
	assert_false(mmapio__locked(&rw));
	mmapio__wrlock(&rw);
	assert_true(mmapio__wrlocked(&rw));
	assert_true(mmapio__locked(&rw));
	mmapio__rwunlock(&rw);
	assert_false(mmapio__locked(&rw));
	mmapio__rwlock_destroy(&rw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_against_model),
#define T(fn) cmocka_unit_test_setup_teardown(fn, dur_setup, dur_teardown)
		T(test_ms_fires_at_deadline),
		T(test_ms_with_bytes_first_reached),
		T(test_explicit_flush_disarms),
		T(test_set_policy_and_deadlines),
		T(test_deadline_belongs_to_file),
		T(test_shutdown_flushes_armed_and_restarts),
		T(test_real_thread_fires),
		T(test_fork_child_starts_its_own_thread),
		T(test_writers_against_flusher),
		T(test_flush_async_runs_as_a_job),
		T(test_flush_async_reports_errors),
		T(test_flush_async_on_the_flusher_thread),
		T(test_flush_async_callback_may_close),
		cmocka_unit_test(test_lock_ownership),
#undef T
	};

	return cmocka_run_group_tests(tests, dur_group_setup, dur_group_teardown);
}
