/*
 * counters.c — daemon-wide monotonic totals (counters.h).
 *
 * Design: a fixed array of relaxed atomics, one flush-duration histogram,
 * one array of failed flushes by errno, and a few wall-clock times kept
 * as nanoseconds. Nothing here knows files: totals survive every close.
 *
 * Threads: everything is atomic; callable from any thread, including
 * libmmapio's flusher thread (through the flush observer, which holds no
 * library lock when it calls).
 */
#include "counters.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

static _Atomic uint64_t counters[MMAPFS_CNT_COUNT];
static _Atomic uint64_t flush_errnos[MMAPFS_CNT_ERRNOS];
static struct mmapfs_hist flush_duration;
static _Atomic int64_t start_ns, reload_ok_ns;
static _Atomic uint64_t fd_open, fd_budget;

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mmapfs_count(enum mmapfs_counter c, uint64_t n)
{
	if ((unsigned)c < MMAPFS_CNT_COUNT)
		atomic_fetch_add_explicit(&counters[c], n,
					  memory_order_relaxed);
}

uint64_t mmapfs_counter(enum mmapfs_counter c)
{
	if ((unsigned)c >= MMAPFS_CNT_COUNT)
		return 0;
	return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

void mmapfs_counters_flush_observed(const struct mmapio_flush_event *ev)
{
	mmapfs_hist_observe(&flush_duration, ev->duration_ns);
	if (ev->error < 0) {
		unsigned err = (unsigned)-ev->error;

		mmapfs_count(MMAPFS_CNT_FLUSH_ERRORS, 1);
		atomic_fetch_add_explicit(&flush_errnos[err < MMAPFS_CNT_ERRNOS ?
					  err : MMAPFS_CNT_ERRNOS - 1], 1,
					  memory_order_relaxed);
		return;
	}
	mmapfs_count(MMAPFS_CNT_FLUSHES, 1);
	mmapfs_count(MMAPFS_CNT_BYTES_FLUSHED, ev->bytes);
}

uint64_t mmapfs_counter_flush_errors(unsigned err)
{
	if (err >= MMAPFS_CNT_ERRNOS)
		return 0;
	return atomic_load_explicit(&flush_errnos[err], memory_order_relaxed);
}

void mmapfs_counters_flush_duration(struct mmapfs_hist_snapshot *out)
{
	mmapfs_hist_snapshot(&flush_duration, out);
}

void mmapfs_counters_mark_start(void)
{
	atomic_store(&start_ns, realtime_ns());
}

double mmapfs_counters_start_time(void)
{
	return (double)atomic_load(&start_ns) / 1e9;
}

void mmapfs_counters_mark_reload_ok(void)
{
	atomic_store(&reload_ok_ns, realtime_ns());
}

double mmapfs_counters_last_reload_ok(void)
{
	return (double)atomic_load(&reload_ok_ns) / 1e9;
}

void mmapfs_counters_set_fd_cache(uint64_t open_fds, uint64_t budget)
{
	atomic_store_explicit(&fd_open, open_fds, memory_order_relaxed);
	atomic_store_explicit(&fd_budget, budget, memory_order_relaxed);
}

void mmapfs_counters_fd_cache(uint64_t *open_fds, uint64_t *budget)
{
	*open_fds = atomic_load_explicit(&fd_open, memory_order_relaxed);
	*budget = atomic_load_explicit(&fd_budget, memory_order_relaxed);
}

void mmapfs_counters_reset(void)
{
	for (unsigned i = 0; i < MMAPFS_CNT_COUNT; i++)
		atomic_store(&counters[i], 0);
	for (unsigned i = 0; i < MMAPFS_CNT_ERRNOS; i++)
		atomic_store(&flush_errnos[i], 0);
	memset(&flush_duration, 0, sizeof(flush_duration));
	atomic_store(&start_ns, 0);
	atomic_store(&reload_ok_ns, 0);
	atomic_store(&fd_open, 0);
	atomic_store(&fd_budget, 0);
}
