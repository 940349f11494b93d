/*
 * lock.c — the per-thread list of rwlocks held for reading, which debug
 * builds keep so that MMAPIO__ASSERT_LOCKED() can tell whether the calling
 * thread holds a map_lock (lock.h). Release builds never call it.
 *
 * Threads: each thread touches only its own list.
 */
#include "lock.h"

#include <stddef.h>

static __thread const struct mmapio__rwlock *rd_held[MMAPIO__RD_MAX];
static __thread unsigned rd_n;         /* entries in rd_held */
static __thread unsigned rd_overflow;  /* read sides past MMAPIO__RD_MAX */

void mmapio__rd_note(const struct mmapio__rwlock *l, bool taken)
{
	if (taken) {
		if (rd_n < MMAPIO__RD_MAX)
			rd_held[rd_n++] = l;
		else
			rd_overflow++;
		return;
	}
	for (unsigned i = rd_n; i-- > 0;) {
		if (rd_held[i] == l) {
			rd_held[i] = rd_held[--rd_n];
			return;
		}
	}
	if (rd_overflow)
		rd_overflow--;
}

bool mmapio__rd_held(const struct mmapio__rwlock *l)
{
	if (rd_overflow)
		return true;   /* lost track: cannot tell, so do not fail */
	for (unsigned i = 0; i < rd_n; i++)
		if (rd_held[i] == l)
			return true;
	return false;
}
