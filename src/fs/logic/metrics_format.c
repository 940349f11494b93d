/*
 * metrics_format.c — the daemon-wide families of metrics.prom
 * (metrics_format.h).
 *
 * Design: reads the counters of req_stats.c, counters.c and
 * closed_files.c (relaxed atomic loads, so a scrape never blocks a
 * request) and prints them with a mount label on every sample. errno
 * labels carry the symbolic name (ENOENT), or the number when glibc has
 * none. Only families and series with something to say are printed where
 * the label set is open-ended (operations, errnos); fixed ones always.
 *
 * Threads: callable from any thread (stats opens, the HTTP endpoint).
 */
#include "metrics_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "closed_files.h"
#include "counters.h"
#include "req_stats.h"
#include "stats_format.h"

struct labels {
	struct mmapfs_buf alone;    /* mount="..." or "" */
	struct mmapfs_buf first;    /* mount="...", or "" */
};

static int family(struct mmapfs_buf *b, const char *name, const char *type,
		  const char *help)
{
	return mmapfs_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n",
				 name, help, name, type);
}

static int sample_u64(struct mmapfs_buf *b, const char *name,
		      const struct labels *l, const char *extra, uint64_t v)
{
	if (!l->alone.data[0] && !extra[0])
		return mmapfs_buf_printf(b, "%s %" PRIu64 "\n", name, v);
	return mmapfs_buf_printf(b, "%s{%s%s} %" PRIu64 "\n", name,
				 extra[0] ? l->first.data : l->alone.data,
				 extra, v);
}

static int sample_seconds(struct mmapfs_buf *b, const char *name,
			  const struct labels *l, double v)
{
	if (!l->alone.data[0])
		return mmapfs_buf_printf(b, "%s %.3f\n", name, v);
	return mmapfs_buf_printf(b, "%s{%s} %.3f\n", name, l->alone.data, v);
}

static int counter1(struct mmapfs_buf *b, const struct labels *l,
		    const char *name, const char *help, uint64_t v)
{
	int ret = family(b, name, "counter", help);

	return ret ? ret : sample_u64(b, name, l, "", v);
}

static int gauge1(struct mmapfs_buf *b, const struct labels *l,
		  const char *name, const char *help, uint64_t v)
{
	int ret = family(b, name, "gauge", help);

	return ret ? ret : sample_u64(b, name, l, "", v);
}

static void errno_label(unsigned err, char *buf, size_t len)
{
	const char *name = err ? strerrorname_np((int)err) : NULL;

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%u", err);
}

static int requests(struct mmapfs_buf *b, const struct labels *l)
{
	char extra[96];
	int ret;

	ret = family(b, "mmapfs_fuse_requests_total", "counter",
		     "FUSE requests answered (or, without reply, processed), by operation.");
	for (unsigned op = 0; op < MMAPFS_REQ_OPS && ret == 0; op++) {
		uint64_t n = mmapfs_req_count(op);

		if (!n)
			continue;
		snprintf(extra, sizeof(extra), "op=\"%s\"", mmapfs_req_op_name(op));
		ret = sample_u64(b, "mmapfs_fuse_requests_total", l, extra, n);
	}
	if (ret == 0)
		ret = family(b, "mmapfs_fuse_request_errors_total", "counter",
			     "FUSE requests answered with an error, by operation and errno.");
	for (unsigned op = 0; op < MMAPFS_REQ_OPS && ret == 0; op++) {
		for (unsigned e = 1; e < MMAPFS_REQ_ERRNOS && ret == 0; e++) {
			uint64_t n = mmapfs_req_errors(op, e);
			char name[32];

			if (!n)
				continue;
			errno_label(e, name, sizeof(name));
			snprintf(extra, sizeof(extra), "op=\"%s\",errno=\"%s\"",
				 mmapfs_req_op_name(op), name);
			ret = sample_u64(b, "mmapfs_fuse_request_errors_total",
					 l, extra, n);
		}
	}
	if (ret == 0)
		ret = family(b, "mmapfs_fuse_request_duration_seconds",
			     "histogram",
			     "Time from reading a FUSE request to writing its reply, by operation.");
	for (unsigned op = 0; op < MMAPFS_REQ_OPS && ret == 0; op++) {
		struct mmapfs_hist_snapshot s;
		struct mmapfs_buf lab = MMAPFS_BUF_INIT;

		mmapfs_req_latency(op, &s);
		if (!s.count)
			continue;
		ret = mmapfs_buf_printf(&lab, "%sop=\"%s\"", l->first.data,
					mmapfs_req_op_name(op));
		if (ret == 0)
			ret = mmapfs_hist_format(b,
				"mmapfs_fuse_request_duration_seconds",
				lab.data, &s);
		mmapfs_buf_free(&lab);
	}
	return ret;
}

static int data_and_syncs(struct mmapfs_buf *b, const struct labels *l)
{
	struct mmapfs_req_totals t;
	static const char *const kinds[] = {
		"fsync", "fdatasync", "fsyncdir", "control",
	};
	uint64_t syncs[4];
	int ret;

	mmapfs_req_totals(&t);
	syncs[0] = t.fsyncs;
	syncs[1] = t.fdatasyncs;
	syncs[2] = t.fsyncdirs;
	syncs[3] = mmapfs_counter(MMAPFS_CNT_CTL_FLUSHES);
	ret = counter1(b, l, "mmapfs_reads_total",
		       "Read requests answered with data or end of file.", t.reads);
	if (ret == 0)
		ret = counter1(b, l, "mmapfs_bytes_read_total",
			       "Bytes read through the mount.", t.bytes_read);
	if (ret == 0)
		ret = family(b, "mmapfs_syncs_total", "counter",
			     "Syncs asked for: fsync(2), fdatasync(2), fsync of a directory, .ctl/flush commands.");
	for (unsigned i = 0; i < 4 && ret == 0; i++) {
		char extra[32];

		snprintf(extra, sizeof(extra), "kind=\"%s\"", kinds[i]);
		ret = sample_u64(b, "mmapfs_syncs_total", l, extra, syncs[i]);
	}
	return ret;
}

static int flushes(struct mmapfs_buf *b, const struct labels *l)
{
	struct mmapfs_hist_snapshot s;
	int ret;

	ret = counter1(b, l, "mmapfs_bytes_flushed_total",
		       "Pending bytes made durable by flushes (page granularity).",
		       mmapfs_counter(MMAPFS_CNT_BYTES_FLUSHED));
	if (ret == 0)
		ret = family(b, "mmapfs_flush_errors_by_errno_total", "counter",
			     "Failed flushes, by errno.");
	for (unsigned e = 1; e < MMAPFS_CNT_ERRNOS && ret == 0; e++) {
		uint64_t n = mmapfs_counter_flush_errors(e);
		char name[32], extra[48];

		if (!n)
			continue;
		errno_label(e, name, sizeof(name));
		snprintf(extra, sizeof(extra), "errno=\"%s\"", name);
		ret = sample_u64(b, "mmapfs_flush_errors_by_errno_total", l,
				 extra, n);
	}
	if (ret == 0)
		ret = family(b, "mmapfs_flush_duration_seconds", "histogram",
			     "Time spent in each flush's sync (msync or fdatasync).");
	if (ret == 0) {
		mmapfs_counters_flush_duration(&s);
		ret = mmapfs_hist_format(b, "mmapfs_flush_duration_seconds",
					 l->alone.data, &s);
	}
	return ret;
}

static int daemon_state(struct mmapfs_buf *b, const struct labels *l)
{
	uint64_t open_fds, budget;
	int ret;

	mmapfs_counters_fd_cache(&open_fds, &budget);
	ret = counter1(b, l, "mmapfs_evictions_total",
		       "Mappings unmapped by max_mapped_files or .ctl/evict.",
		       mmapfs_counter(MMAPFS_CNT_EVICTIONS));
	if (ret == 0)
		ret = family(b, "mmapfs_reloads_total", "counter",
			     "Config reloads, by result.");
	if (ret == 0)
		ret = sample_u64(b, "mmapfs_reloads_total", l, "result=\"ok\"",
				 mmapfs_counter(MMAPFS_CNT_RELOADS_OK));
	if (ret == 0)
		ret = sample_u64(b, "mmapfs_reloads_total", l,
				 "result=\"failed\"",
				 mmapfs_counter(MMAPFS_CNT_RELOADS_FAILED));
	if (ret == 0)
		ret = family(b, "mmapfs_last_reload_success_timestamp_seconds",
			     "gauge",
			     "Unix time of the last successful config load (start or reload).");
	if (ret == 0)
		ret = sample_seconds(b, "mmapfs_last_reload_success_timestamp_seconds",
				     l, mmapfs_counters_last_reload_ok());
	if (ret == 0)
		ret = counter1(b, l, "mmapfs_fd_cache_hits_total",
			       "Inode descriptors found open in the fd cache.",
			       mmapfs_counter(MMAPFS_CNT_FD_HITS));
	if (ret == 0)
		ret = counter1(b, l, "mmapfs_fd_cache_reopens_total",
			       "Inode descriptors reopened from their file handle.",
			       mmapfs_counter(MMAPFS_CNT_FD_REOPENS));
	if (ret == 0)
		ret = gauge1(b, l, "mmapfs_fd_cache_open_fds",
			     "Inode descriptors open now.", open_fds);
	if (ret == 0)
		ret = gauge1(b, l, "mmapfs_fd_cache_budget_fds",
			     "Idle inode descriptors kept open at most.", budget);
	if (ret == 0)
		ret = gauge1(b, l, "mmapfs_closed_files",
			     "Closed files kept in the table of recently closed files.",
			     mmapfs_closed_count());
	return ret;
}

int mmapfs_metrics_format_daemon(const char *mount, struct mmapfs_buf *out)
{
	struct labels l = { MMAPFS_BUF_INIT, MMAPFS_BUF_INIT };
	int ret;

	ret = mmapfs_prom_mount_label(&l.alone, mount, "");
	if (ret == 0)
		ret = mmapfs_prom_mount_label(&l.first, mount, ",");
	if (ret == 0)
		ret = family(out, "mmapfs_process_start_time_seconds", "gauge",
			     "Unix time the daemon started.");
	if (ret == 0)
		ret = sample_seconds(out, "mmapfs_process_start_time_seconds",
				     &l, mmapfs_counters_start_time());
	if (ret == 0)
		ret = requests(out, &l);
	if (ret == 0)
		ret = data_and_syncs(out, &l);
	if (ret == 0)
		ret = flushes(out, &l);
	if (ret == 0)
		ret = daemon_state(out, &l);
	mmapfs_buf_free(&l.alone);
	mmapfs_buf_free(&l.first);
	return ret;
}
