/*
 * lock.c — the per-thread bookkeeping of the debug-build lock checks
 * (lock.h): the thread's identity byte and the list of rwlocks it holds
 * for reading, so that MMAPIO__ASSERT_LOCKED() can tell whether the
 * calling thread holds a map_lock. Release builds (NDEBUG) never touch
 * them.
 *
 * Threads: each thread touches only its own copies.
 */
#include "lock.h"

__thread char mmapio__me MMAPIO__TLS;
__thread const struct mmapio__rwlock *mmapio__rd[MMAPIO__RD_MAX] MMAPIO__TLS;
__thread unsigned mmapio__rd_n MMAPIO__TLS;
__thread unsigned mmapio__rd_lost MMAPIO__TLS;
