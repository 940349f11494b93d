/*
 * logic/clock.h — the daemon's one monotonic clock in nanoseconds
 * (CLOCK_MONOTONIC, the clock libmmapio stamps flushes with), for
 * latencies, ages and deadlines. A vDSO call: no system call.
 */
#ifndef MMAPFS_LOGIC_CLOCK_H
#define MMAPFS_LOGIC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mmapfs_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* MMAPFS_LOGIC_CLOCK_H */
