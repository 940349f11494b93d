/*
 * lock.h — the locks of libmmapio (private): pthread mutexes and rwlocks
 * that know, in debug builds, which thread holds them, so that every
 * function that needs a lock held can assert it (the style of SQLite's
 * unixMutexHeld()).
 *
 * Every lock of src/core is one of these; the table of all of them, in
 * lock order, is in internal.h ("Locks").
 *
 *   MMAPIO__ASSERT_HELD(m)        the calling thread holds mutex m
 *   MMAPIO__ASSERT_WRLOCKED(l)    ... holds rwlock l for writing
 *   MMAPIO__ASSERT_LOCKED(l)      ... holds rwlock l, either side
 *
 * With NDEBUG the wrappers are the bare pthread calls and the assertions
 * compile to nothing. Without it a mutex records its owner, an rwlock its
 * writer, and each thread the rwlocks it holds for reading (a short
 * thread-local list: the library never holds more than two read sides at
 * once; past MMAPIO__RD_MAX nested read locks the check gives up and
 * passes).
 *
 * Threads: as pthread's. A condition wait goes through
 * mmapio__cond_wait/_timedwait, which hand the ownership over.
 */
#ifndef MMAPIO_LOCK_H
#define MMAPIO_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The debug fields are there in every build (one layout whatever NDEBUG
 * says in the including file); only debug builds maintain them. */
struct mmapio__mutex {
	pthread_mutex_t m;
	_Atomic uintptr_t owner;   /* mmapio__self() of the holder, or 0 */
};

struct mmapio__rwlock {
	pthread_rwlock_t l;
	_Atomic uintptr_t writer;  /* mmapio__self() of the writer, or 0 */
};

#define MMAPIO__MUTEX_INITIALIZER { .m = PTHREAD_MUTEX_INITIALIZER }

/* Per-thread bookkeeping of debug builds (lock.c). Initial-exec TLS: a
 * %fs-relative access, no call, on the paths that take map_lock. */
#define MMAPIO__TLS __attribute__((tls_model("initial-exec")))
#define MMAPIO__RD_MAX 8
extern __thread char mmapio__me MMAPIO__TLS;
extern __thread const struct mmapio__rwlock *mmapio__rd[MMAPIO__RD_MAX]
	MMAPIO__TLS;
extern __thread unsigned mmapio__rd_n MMAPIO__TLS;
extern __thread unsigned mmapio__rd_lost MMAPIO__TLS;

/* A value unique to the calling thread among live threads: the address
 * of its own TLS byte. */
static inline uintptr_t mmapio__self(void)
{
	return (uintptr_t)&mmapio__me;
}

/* Read sides held by this thread: a short list, newest last (a release
 * is almost always of the newest). */
static inline void mmapio__rd_note(const struct mmapio__rwlock *l, bool taken)
{
	unsigned n = mmapio__rd_n;

	if (taken) {
		if (n < MMAPIO__RD_MAX) {
			mmapio__rd[n] = l;
			mmapio__rd_n = n + 1;
		} else {
			mmapio__rd_lost++;
		}
		return;
	}
	for (unsigned i = n; i-- > 0;) {
		if (mmapio__rd[i] == l) {
			mmapio__rd[i] = mmapio__rd[n - 1];
			mmapio__rd_n = n - 1;
			return;
		}
	}
	if (mmapio__rd_lost)
		mmapio__rd_lost--;
}

static inline bool mmapio__rd_held(const struct mmapio__rwlock *l)
{
	if (mmapio__rd_lost)
		return true;   /* lost track: cannot tell, so do not fail */
	for (unsigned i = 0; i < mmapio__rd_n; i++)
		if (mmapio__rd[i] == l)
			return true;
	return false;
}

static inline void mmapio__mutex_init(struct mmapio__mutex *m)
{
	pthread_mutex_init(&m->m, NULL);
	atomic_init(&m->owner, 0);
}

static inline void mmapio__mutex_destroy(struct mmapio__mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

static inline void mmapio__mutex_lock(struct mmapio__mutex *m)
{
	pthread_mutex_lock(&m->m);
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, mmapio__self(), memory_order_relaxed);
#endif
}

static inline void mmapio__mutex_unlock(struct mmapio__mutex *m)
{
#ifndef NDEBUG
	assert(atomic_load_explicit(&m->owner, memory_order_relaxed) ==
	       mmapio__self());
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
	pthread_mutex_unlock(&m->m);
}

/* Debug builds: true when the calling thread holds m. */
static inline bool mmapio__mutex_held(const struct mmapio__mutex *m)
{
#ifndef NDEBUG
	return atomic_load_explicit(&m->owner, memory_order_relaxed) ==
	       mmapio__self();
#else
	(void)m;
	return true;
#endif
}

static inline void mmapio__cond_wait(pthread_cond_t *cv,
				     struct mmapio__mutex *m)
{
#ifndef NDEBUG
	assert(mmapio__mutex_held(m));
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
	pthread_cond_wait(cv, &m->m);
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, mmapio__self(), memory_order_relaxed);
#endif
}

static inline void mmapio__cond_timedwait(pthread_cond_t *cv,
					  struct mmapio__mutex *m,
					  const struct timespec *ts)
{
#ifndef NDEBUG
	assert(mmapio__mutex_held(m));
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
	pthread_cond_timedwait(cv, &m->m, ts);
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, mmapio__self(), memory_order_relaxed);
#endif
}

/* A writer-preferring rwlock (so a stream of readers cannot starve a
 * resize); never take its read side twice in one thread. */
static inline void mmapio__rwlock_init(struct mmapio__rwlock *l)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&l->l, &attr);
	pthread_rwlockattr_destroy(&attr);
	atomic_init(&l->writer, 0);
}

static inline void mmapio__rwlock_destroy(struct mmapio__rwlock *l)
{
	pthread_rwlock_destroy(&l->l);
}

static inline void mmapio__rdlock(struct mmapio__rwlock *l)
{
	pthread_rwlock_rdlock(&l->l);
#ifndef NDEBUG
	mmapio__rd_note(l, true);
#endif
}

static inline void mmapio__wrlock(struct mmapio__rwlock *l)
{
	pthread_rwlock_wrlock(&l->l);
#ifndef NDEBUG
	atomic_store_explicit(&l->writer, mmapio__self(), memory_order_relaxed);
#endif
}

/* Releases either side. */
static inline void mmapio__rwunlock(struct mmapio__rwlock *l)
{
#ifndef NDEBUG
	if (atomic_load_explicit(&l->writer, memory_order_relaxed) ==
	    mmapio__self())
		atomic_store_explicit(&l->writer, 0, memory_order_relaxed);
	else
		mmapio__rd_note(l, false);
#endif
	pthread_rwlock_unlock(&l->l);
}

static inline bool mmapio__wrlocked(const struct mmapio__rwlock *l)
{
#ifndef NDEBUG
	return atomic_load_explicit(&l->writer, memory_order_relaxed) ==
	       mmapio__self();
#else
	(void)l;
	return true;
#endif
}

static inline bool mmapio__locked(const struct mmapio__rwlock *l)
{
#ifndef NDEBUG
	return mmapio__wrlocked(l) || mmapio__rd_held(l);
#else
	(void)l;
	return true;
#endif
}

#define MMAPIO__ASSERT_HELD(m) assert(mmapio__mutex_held(m))
#define MMAPIO__ASSERT_WRLOCKED(l) assert(mmapio__wrlocked(l))
#define MMAPIO__ASSERT_LOCKED(l) assert(mmapio__locked(l))

#endif /* MMAPIO_LOCK_H */
