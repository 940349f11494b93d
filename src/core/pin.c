/*
 * pin.c — pins of mappings (views, atomic views, chunk walks) and the
 * waiting of remaps for them, with detection of a thread that would wait
 * for its own pins (issue 19: a view holder calling mmapio_write_grow hung
 * in mmapio__wait_unpinned for ever).
 *
 * Design
 *   - f->pins counts the pins of f (atomic, no lock: taking and dropping a
 *     view costs no mutex). A remap that would move or cut the mapping
 *     checks it under map_lock (write), and waits for 0 on pin_cv with
 *     map_lock dropped.
 *   - Each thread has a pin table: records (file, count), where a pin is
 *     counted by the thread that took it. A remap that must wait first
 *     looks in its own thread's table: a record of f with a count means the
 *     wait could never end, so it fails with -EDEADLK instead.
 *   - A view may be released by another thread than the one that took it:
 *     the view keeps a pointer to its record, and the count is atomic, so
 *     any thread may decrement it. Only the owning thread ever sets a
 *     record's file, and only while its count is 0 (nobody else can touch
 *     a record then: every decrement belongs to a pin counted in it).
 *   - Tables are never freed: a thread's table goes back to a pool at
 *     thread exit (a pthread key destructor), and a new thread takes a
 *     pooled table whose counts are all 0 (so a view that outlives the
 *     thread that took it never leaves a stale record in a live thread's
 *     table), or allocates one. Memory: one table per thread that ever
 *     pinned, alive or pooled at once. A thread pinning more than
 *     PIN_RECS files at once chains a further table.
 *
 * Threads: any. The pool lock is taken only at a thread's first pin and at
 * its exit.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#define PIN_RECS 16

struct mmapio__pin {
	const struct mmapio_file *_Atomic file;  /* set by the owner only */
	atomic_uint n;                           /* pins counted here */
};

struct pin_table {
	struct mmapio__pin rec[PIN_RECS];
	struct pin_table *more;      /* chained when rec[] is full */
	struct pin_table *pool_next; /* in the pool (whole chains only) */
};

static struct {
	struct mmapio__mutex lock;
	struct pin_table *free;      /* chains of exited threads */
	pthread_key_t key;
	bool key_ok;
} pool = { .lock = MMAPIO__MUTEX_INITIALIZER };

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
/* Initial-exec TLS, as sigbus.c's: one %fs-relative load on the view path. */
static __thread struct pin_table *my_table
	__attribute__((tls_model("initial-exec")));

static bool chain_idle(const struct pin_table *t)
{
	for (; t; t = t->more)
		for (unsigned i = 0; i < PIN_RECS; i++)
			if (atomic_load(&t->rec[i].n))
				return false;
	return true;
}

/* Thread exit: the chain goes back to the pool. */
static void table_release(void *arg)
{
	struct pin_table *t = arg;

	mmapio__mutex_lock(&pool.lock);
	t->pool_next = pool.free;
	pool.free = t;
	mmapio__mutex_unlock(&pool.lock);
}

static void pool_init(void)
{
	pool.key_ok = pthread_key_create(&pool.key, table_release) == 0;
}

/* The calling thread's table, taken from the pool or allocated at its
 * first pin. NULL without memory. */
static struct pin_table *table_get(void)
{
	struct pin_table *t = my_table, **pp;

	if (t)
		return t;
	pthread_once(&pool_once, pool_init);
	mmapio__mutex_lock(&pool.lock);
	for (pp = &pool.free; *pp; pp = &(*pp)->pool_next) {
		if (chain_idle(*pp)) {
			t = *pp;
			*pp = t->pool_next;
			break;
		}
	}
	mmapio__mutex_unlock(&pool.lock);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
	}
	t->pool_next = NULL;
	if (pool.key_ok)
		pthread_setspecific(pool.key, t);
	my_table = t;
	return t;
}

/* A record of the calling thread to count a pin of f in: the first one
 * that is idle or already counts f (usually rec[0]: a thread seldom holds
 * pins of several files at once). A file may end up counted in two
 * records; every pin still counts once, in the record its view keeps. */
static struct mmapio__pin *record_for(const struct mmapio_file *f)
{
	struct pin_table *t = my_table ? my_table : table_get(), *last = NULL;

	for (; t; last = t, t = t->more) {
		for (unsigned i = 0; i < PIN_RECS; i++) {
			struct mmapio__pin *r = &t->rec[i];

			if (!atomic_load_explicit(&r->n, memory_order_relaxed)) {
				atomic_store_explicit(&r->file, f,
						      memory_order_relaxed);
				return r;
			}
			if (atomic_load_explicit(&r->file,
						 memory_order_relaxed) == f)
				return r;
		}
	}
	if (!last)
		return NULL;
	last->more = calloc(1, sizeof(*last->more));
	if (!last->more)
		return NULL;
	atomic_store_explicit(&last->more->rec[0].file, f,
			      memory_order_relaxed);
	return &last->more->rec[0];
}

struct mmapio__pin *mmapio__pin(struct mmapio_file *f)
{
	struct mmapio__pin *rec;

	MMAPIO__ASSERT_LOCKED(&f->map_lock);
	rec = record_for(f);
	if (rec)
		atomic_fetch_add_explicit(&rec->n, 1, memory_order_relaxed);
	atomic_fetch_add(&f->pins, 1);
	return rec;
}

void mmapio__unpin(struct mmapio_file *f, struct mmapio__pin *rec)
{
	if (rec)
		atomic_fetch_sub_explicit(&rec->n, 1, memory_order_relaxed);
	if (atomic_fetch_sub(&f->pins, 1) != 1 ||
	    atomic_load(&f->pin_waiters) == 0)
		return;
	/* The lock orders this wake-up after the waiter's check. */
	mmapio__mutex_lock(&f->pin_lock);
	pthread_cond_broadcast(&f->pin_cv);
	mmapio__mutex_unlock(&f->pin_lock);
}

bool mmapio__pinned_by_self(const struct mmapio_file *f)
{
	for (const struct pin_table *t = my_table; t; t = t->more)
		for (unsigned i = 0; i < PIN_RECS; i++)
			if (atomic_load(&t->rec[i].n) &&
			    atomic_load_explicit(&t->rec[i].file,
						 memory_order_relaxed) == f)
				return true;
	return false;
}

int mmapio__pinned_error(const struct mmapio_file *f)
{
	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);
	return mmapio__pinned_by_self(f) ? -EDEADLK : -EBUSY;
}

int mmapio__wait_unpinned(struct mmapio_file *f)
{
	if (mmapio__pinned_by_self(f))
		return -EDEADLK;
	mmapio__mutex_lock(&f->pin_lock);
	atomic_fetch_add(&f->pin_waiters, 1);
	while (atomic_load(&f->pins))
		mmapio__cond_wait(&f->pin_cv, &f->pin_lock);
	atomic_fetch_sub(&f->pin_waiters, 1);
	mmapio__mutex_unlock(&f->pin_lock);
	return 0;
}
