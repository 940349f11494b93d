/*
 * logic/lock.h — a mutex that knows its holder in debug builds, so that a
 * function named *_locked can assert that its caller holds the lock (the
 * style of SQLite's unixMutexHeld()).
 *
 * With NDEBUG the owner is not tracked and mmapfs_lock_held() is true: the
 * assertions compile away. Otherwise each lock and unlock also stores the
 * holder's thread id (one relaxed atomic store).
 *
 * Use mmapfs_lock()/mmapfs_unlock() on the lock itself; a condition
 * variable waits on &l->mutex through mmapfs_lock_wait().
 */
#ifndef MMAPFS_LOGIC_LOCK_H
#define MMAPFS_LOGIC_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct mmapfs_lock {
	pthread_mutex_t mutex;
#ifndef NDEBUG
	atomic_ulong holder;    /* pthread_self() of the holder, 0: free */
#endif
};

#define MMAPFS_LOCK_INITIALIZER { .mutex = PTHREAD_MUTEX_INITIALIZER }

static inline void mmapfs_lock_init(struct mmapfs_lock *l)
{
	pthread_mutex_init(&l->mutex, NULL);
#ifndef NDEBUG
	atomic_init(&l->holder, 0);
#endif
}

static inline void mmapfs_lock_destroy(struct mmapfs_lock *l)
{
	pthread_mutex_destroy(&l->mutex);
}

static inline void mmapfs_lock(struct mmapfs_lock *l)
{
	pthread_mutex_lock(&l->mutex);
#ifndef NDEBUG
	atomic_store_explicit(&l->holder, (unsigned long)pthread_self(),
			      memory_order_relaxed);
#endif
}

static inline void mmapfs_unlock(struct mmapfs_lock *l)
{
#ifndef NDEBUG
	atomic_store_explicit(&l->holder, 0, memory_order_relaxed);
#endif
	pthread_mutex_unlock(&l->mutex);
}

/* True when this thread holds l (always true with NDEBUG): for assert(). */
static inline bool mmapfs_lock_held(struct mmapfs_lock *l)
{
#ifndef NDEBUG
	return atomic_load_explicit(&l->holder, memory_order_relaxed) ==
	       (unsigned long)pthread_self();
#else
	(void)l;
	return true;
#endif
}

#endif /* MMAPFS_LOGIC_LOCK_H */
