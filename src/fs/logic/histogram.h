/*
 * histogram.h — a fixed-bucket latency histogram for Prometheus, updated
 * with relaxed atomic adds (no lock on the request path) and formatted as
 * a `histogram` family (_bucket{le=...}, _sum in seconds, _count).
 */
#ifndef MMAPFS_HISTOGRAM_H
#define MMAPFS_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "stats_format.h"

/* Upper bounds of the buckets, in seconds: 10 µs ... 10 s; one more
 * bucket (+Inf) takes the rest. */
#define MMAPFS_HIST_BOUNDS 19

/* Zero-initialised (static storage or memset) it is an empty histogram. */
struct mmapfs_hist {
	_Atomic uint64_t count[MMAPFS_HIST_BOUNDS + 1]; /* per bucket, not
							  * cumulative */
	_Atomic uint64_t sum_ns;
};

/* A consistent-enough copy: count is the sum of the buckets, so the +Inf
 * bucket always equals it; sum_ns may include an observation whose
 * bucket was not yet added (a few ns of skew under concurrency). */
struct mmapfs_hist_snapshot {
	uint64_t cumulative[MMAPFS_HIST_BOUNDS + 1];
	uint64_t count;
	uint64_t sum_ns;
};

/* The bound of bucket i in nanoseconds (i < MMAPFS_HIST_BOUNDS). */
uint64_t mmapfs_hist_bound_ns(unsigned i);
/* Adds one observation of ns nanoseconds. Thread-safe, lock-free. */
void mmapfs_hist_observe(struct mmapfs_hist *h, uint64_t ns);
void mmapfs_hist_snapshot(const struct mmapfs_hist *h,
			  struct mmapfs_hist_snapshot *out);
/* Appends the sample lines of family name (its HELP/TYPE lines are the
 * caller's) with labels (text inside the braces, already escaped, e.g.
 * `mount="/m",op="read"`; "" for none): name_bucket{...,le="..."},
 * name_sum{...} in seconds, name_count{...}. Returns 0 or -ENOMEM. */
int mmapfs_hist_format(struct mmapfs_buf *b, const char *name,
		       const char *labels, const struct mmapfs_hist_snapshot *s);

#endif /* MMAPFS_HISTOGRAM_H */
