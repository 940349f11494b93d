/*
 * counters.h — daemon-wide event totals that live outside any file: they
 * only grow for the life of the daemon (a file's close, eviction or
 * forgetting never lowers them), as Prometheus requires of a counter.
 *
 * Flushes are learnt from libmmapio's flush observer (every sync of every
 * file: policy, deadline, close rule, explicit), the other events from
 * one-line calls where they happen (eviction, reload, .ctl/flush, the fd
 * cache). FUSE requests and the bytes they move are in req_stats.h.
 */
#ifndef MMAPFS_COUNTERS_H
#define MMAPFS_COUNTERS_H

#include <stdint.h>

#include "histogram.h"
#include "mmapio.h"

enum mmapfs_counter {
	MMAPFS_CNT_FLUSHES,          /* successful syncs */
	MMAPFS_CNT_FLUSH_ERRORS,     /* failed syncs */
	MMAPFS_CNT_BYTES_FLUSHED,    /* pending bytes the syncs debited */
	MMAPFS_CNT_CTL_FLUSHES,      /* .ctl/flush commands that succeeded */
	MMAPFS_CNT_EVICTIONS,        /* mappings unmapped by the cap or .ctl/evict */
	MMAPFS_CNT_RELOADS_OK,
	MMAPFS_CNT_RELOADS_FAILED,
	MMAPFS_CNT_FD_HITS,          /* fd cache: a descriptor was open */
	MMAPFS_CNT_FD_REOPENS,       /* fd cache: reopened from its handle */
	MMAPFS_CNT_COUNT,
};

/* errnos of failed flushes counted one by one (below this). */
#define MMAPFS_CNT_ERRNOS 134

/* Adds n to counter c. Lock-free. */
void mmapfs_count(enum mmapfs_counter c, uint64_t n);
uint64_t mmapfs_counter(enum mmapfs_counter c);

/* libmmapio's flush observer (install with mmapio_set_flush_observer):
 * counts the flush, its bytes, its duration, and its errno if it failed. */
void mmapfs_counters_flush_observed(const struct mmapio_flush_event *ev);
/* Failed flushes with errno err (the last slot takes larger errnos). */
uint64_t mmapfs_counter_flush_errors(unsigned err);
void mmapfs_counters_flush_duration(struct mmapfs_hist_snapshot *out);

/* Wall-clock times (Unix seconds, with ns): the daemon's start (set once
 * at start) and the last successful config load or reload (0: none). */
void mmapfs_counters_mark_start(void);
double mmapfs_counters_start_time(void);
void mmapfs_counters_mark_reload_ok(void);
double mmapfs_counters_last_reload_ok(void);

/* Gauges of the fd cache, set by it as they change. */
void mmapfs_counters_set_fd_cache(uint64_t open_fds, uint64_t budget);
void mmapfs_counters_fd_cache(uint64_t *open_fds, uint64_t *budget);

/* Forgets everything (unit tests). */
void mmapfs_counters_reset(void);

#endif /* MMAPFS_COUNTERS_H */
