/*
 * histogram.c — fixed-bucket latency histograms (histogram.h).
 *
 * Design: one relaxed atomic add for the bucket and one for the sum per
 * observation; the bucket is found by a linear scan of 19 bounds (cheaper
 * than the clock reads around it). Buckets are stored per bucket and made
 * cumulative only when a snapshot is taken, so an observation touches one
 * counter, not all those above it.
 *
 * Threads: any number of observers and snapshot takers at once.
 */
#include "histogram.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static const uint64_t bounds_ns[MMAPFS_HIST_BOUNDS] = {
	10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 500000000,
	1000000000, 2500000000, 5000000000, 10000000000,
};

uint64_t mmapfs_hist_bound_ns(unsigned i)
{
	return i < MMAPFS_HIST_BOUNDS ? bounds_ns[i] : UINT64_MAX;
}

void mmapfs_hist_observe(struct mmapfs_hist *h, uint64_t ns)
{
	unsigned i = 0;

	while (i < MMAPFS_HIST_BOUNDS && ns > bounds_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->count[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void mmapfs_hist_snapshot(const struct mmapfs_hist *h,
			  struct mmapfs_hist_snapshot *out)
{
	uint64_t acc = 0;

	out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
	for (unsigned i = 0; i <= MMAPFS_HIST_BOUNDS; i++) {
		acc += atomic_load_explicit(&h->count[i], memory_order_relaxed);
		out->cumulative[i] = acc;
	}
	out->count = acc;
}

/* A bound in seconds without trailing zeros ("0.00001", "2.5", "10"). */
static int append_seconds(struct mmapfs_buf *b, uint64_t ns)
{
	char frac[16];
	int n;

	if (ns % 1000000000 == 0)
		return mmapfs_buf_printf(b, "%" PRIu64, ns / 1000000000);
	n = snprintf(frac, sizeof(frac), "%09" PRIu64, ns % 1000000000);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	return mmapfs_buf_printf(b, "%" PRIu64 ".%s", ns / 1000000000, frac);
}

int mmapfs_hist_format(struct mmapfs_buf *b, const char *name,
		       const char *labels, const struct mmapfs_hist_snapshot *s)
{
	const char *sep = labels[0] ? "," : "";
	int ret = 0;

	for (unsigned i = 0; i <= MMAPFS_HIST_BOUNDS && ret == 0; i++) {
		ret = mmapfs_buf_printf(b, "%s_bucket{%s%sle=\"", name, labels,
					sep);
		if (ret == 0)
			ret = i < MMAPFS_HIST_BOUNDS ?
			      append_seconds(b, bounds_ns[i]) :
			      mmapfs_buf_printf(b, "+Inf");
		if (ret == 0)
			ret = mmapfs_buf_printf(b, "\"} %" PRIu64 "\n",
						s->cumulative[i]);
	}
	if (ret == 0)
		ret = mmapfs_buf_printf(b, "%s_sum{%s} %" PRIu64 ".%09" PRIu64
					"\n", name, labels,
					s->sum_ns / 1000000000,
					s->sum_ns % 1000000000);
	if (ret == 0)
		ret = mmapfs_buf_printf(b, "%s_count{%s} %" PRIu64 "\n", name,
					labels, s->count);
	return ret;
}
