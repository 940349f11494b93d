/*
 * test_metrics.c — unit tests of the daemon's observability logic: the
 * latency histogram (histogram.c), FUSE request statistics fed with raw
 * kernel messages (req_stats.c), the daemon-wide counters and the flush
 * observer (counters.c), the table of recently closed files
 * (closed_files.c), metrics_listen addresses (listen_addr.c) and the
 * daemon part of metrics.prom (metrics_format.c).
 *
 * Single-threaded (the modules' atomics are exercised for their values,
 * not for races); every test resets the global counters it reads.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "logic/closed_files.h"
#include "logic/counters.h"
#include "logic/histogram.h"
#include "logic/listen_addr.h"
#include "logic/metrics_format.h"
#include "logic/req_stats.h"

/* --- histogram ------------------------------------------------------------ */

static void test_hist_buckets(void **state)
{
	struct mmapfs_hist h;
	struct mmapfs_hist_snapshot s;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	memset(&h, 0, sizeof(h));
	mmapfs_hist_observe(&h, 10000);        /* on the first bound: le 1e-5 */
	mmapfs_hist_observe(&h, 10001);        /* next bucket */
	mmapfs_hist_observe(&h, 2000000000);   /* 2 s: le 2.5 */
	mmapfs_hist_observe(&h, UINT64_C(60000000000));   /* +Inf */
	mmapfs_hist_snapshot(&h, &s);
	assert_int_equal(s.count, 4);
	assert_int_equal(s.cumulative[0], 1);
	assert_int_equal(s.cumulative[1], 2);
	assert_int_equal(s.cumulative[MMAPFS_HIST_BOUNDS - 1], 3);
	assert_int_equal(s.cumulative[MMAPFS_HIST_BOUNDS], 4);
	assert_int_equal(mmapfs_hist_format(&b, "x_seconds", "a=\"1\"", &s), 0);
	assert_non_null(strstr(b.data, "x_seconds_bucket{a=\"1\",le=\"0.00001\"} 1\n"
				       "x_seconds_bucket{a=\"1\",le=\"0.000025\"} 2\n"));
	assert_non_null(strstr(b.data, "x_seconds_bucket{a=\"1\",le=\"2.5\"} 3\n"));
	assert_non_null(strstr(b.data, "x_seconds_bucket{a=\"1\",le=\"10\"} 3\n"
				       "x_seconds_bucket{a=\"1\",le=\"+Inf\"} 4\n"
				       "x_seconds_sum{a=\"1\"} 62.000020001\n"
				       "x_seconds_count{a=\"1\"} 4\n"));
	mmapfs_buf_free(&b);
}

/* --- req_stats -------------------------------------------------------------- */

static void receive(uint32_t opcode, uint64_t unique, uint64_t nodeid,
		    uint32_t fsync_flags)
{
	char msg[sizeof(struct fuse_in_header) + sizeof(struct fuse_fsync_in)];
	struct fuse_in_header in = {
		.len = sizeof(msg), .opcode = opcode, .unique = unique,
		.nodeid = nodeid,
	};
	struct fuse_fsync_in fin = { .fsync_flags = fsync_flags };

	memcpy(msg, &in, sizeof(in));
	memcpy(msg + sizeof(in), &fin, sizeof(fin));
	mmapfs_req_received(msg, sizeof(msg));
}

static void reply(uint64_t unique, int error, const void *body, size_t len)
{
	struct fuse_out_header out = {
		.len = (uint32_t)(sizeof(out) + len), .error = error,
		.unique = unique,
	};
	struct iovec iov[2] = { { &out, sizeof(out) }, { (void *)body, len } };

	mmapfs_req_replied(iov, len ? 2 : 1);
}

static void test_req_stats(void **state)
{
	struct fuse_write_out wo = { .size = 4096 };
	struct mmapfs_hist_snapshot s;
	struct mmapfs_req_totals t;
	char data[100] = { 0 };

	(void)state;
	mmapfs_req_stats_reset();
	receive(FUSE_WRITE, 1, 5, 0);
	reply(1, 0, &wo, sizeof(wo));
	receive(FUSE_READ, 2, 5, 0);
	reply(2, 0, data, sizeof(data));
	receive(FUSE_LOOKUP, 3, 1, 0);
	reply(3, -ENOENT, NULL, 0);
	receive(FUSE_FSYNC, 4, 5, FUSE_FSYNC_FDATASYNC);
	reply(4, 0, NULL, 0);
	receive(FUSE_FSYNC, 5, 5, 0);
	reply(5, 0, NULL, 0);
	/* A reply to another request (another thread's) is not ours. */
	receive(FUSE_GETATTR, 6, 5, 0);
	reply(99, 0, NULL, 0);
	reply(6, 0, NULL, 0);
	/* FORGET has no reply; a write to a virtual file moves no data. */
	receive(FUSE_FORGET, 7, 5, 0);
	receive(FUSE_WRITE, 8, UINT64_C(1) << 63 | 0x101, 0);
	reply(8, 0, &wo, sizeof(wo));
	/* An opcode without a name counts as "other". */
	receive(9999, 9, 1, 0);
	reply(9, -ENOSYS, NULL, 0);

	assert_int_equal(mmapfs_req_count(FUSE_WRITE), 2);
	assert_int_equal(mmapfs_req_count(FUSE_READ), 1);
	assert_int_equal(mmapfs_req_count(FUSE_GETATTR), 1);
	assert_int_equal(mmapfs_req_count(FUSE_FORGET), 1);
	assert_int_equal(mmapfs_req_count(0), 1);
	assert_string_equal(mmapfs_req_op_name(0), "other");
	assert_string_equal(mmapfs_req_op_name(FUSE_COPY_FILE_RANGE),
			    "copy_file_range");
	assert_int_equal(mmapfs_req_errors(FUSE_LOOKUP, ENOENT), 1);
	assert_int_equal(mmapfs_req_errors(0, ENOSYS), 1);
	mmapfs_req_latency(FUSE_WRITE, &s);
	assert_int_equal(s.count, 2);
	mmapfs_req_latency(FUSE_FORGET, &s);
	assert_int_equal(s.count, 0);
	mmapfs_req_totals(&t);
	assert_int_equal(t.writes, 1);
	assert_int_equal(t.bytes_written, 4096);
	assert_int_equal(t.reads, 1);
	assert_int_equal(t.bytes_read, 100);
	assert_int_equal(t.fsyncs, 1);
	assert_int_equal(t.fdatasyncs, 1);
}

/* --- counters ------------------------------------------------------------- */

static void test_counters_flush_observer(void **state)
{
	struct mmapio_flush_event ok = { 0, 8192, 3000000 };
	struct mmapio_flush_event bad = { -EIO, 0, 1000 };
	struct mmapio_flush_event odd = { -100000, 0, 1000 };
	struct mmapfs_hist_snapshot s;

	(void)state;
	mmapfs_counters_reset();
	mmapfs_counters_flush_observed(&ok);
	mmapfs_counters_flush_observed(&ok);
	mmapfs_counters_flush_observed(&bad);
	mmapfs_counters_flush_observed(&odd);
	assert_int_equal(mmapfs_counter(MMAPFS_CNT_FLUSHES), 2);
	assert_int_equal(mmapfs_counter(MMAPFS_CNT_FLUSH_ERRORS), 2);
	assert_int_equal(mmapfs_counter(MMAPFS_CNT_BYTES_FLUSHED), 16384);
	assert_int_equal(mmapfs_counter_flush_errors(EIO), 1);
	assert_int_equal(mmapfs_counter_flush_errors(MMAPFS_CNT_ERRNOS - 1), 1);
	mmapfs_counters_flush_duration(&s);
	assert_int_equal(s.count, 4);
	assert_int_equal(s.sum_ns, 6002000);
	mmapfs_count(MMAPFS_CNT_EVICTIONS, 3);
	assert_int_equal(mmapfs_counter(MMAPFS_CNT_EVICTIONS), 3);
	assert_int_equal(mmapfs_counter(MMAPFS_CNT_COUNT), 0);
}

/* --- closed files ----------------------------------------------------------- */

static struct mmapfs_closed_file closed(ino_t ino, const char *path,
					uint64_t flushes)
{
	struct mmapfs_closed_file f;

	memset(&f, 0, sizeof(f));
	f.dev = 1;
	f.ino = ino;
	f.relpath = path;
	f.counts.flushes = flushes;
	f.counts.writes = flushes;
	return f;
}

static int collect(const struct mmapfs_closed_file *f, void *ctx)
{
	char *out = ctx;

	strcat(out, f->relpath);
	strcat(out, " ");
	return 0;
}

static void test_closed_files(void **state)
{
	struct mmapfs_file_counts c;
	struct mmapfs_closed_file f;
	char seen[256] = "";

	(void)state;
	mmapfs_closed_clear();
	mmapfs_closed_set_capacity(3);
	for (ino_t i = 1; i <= 4; i++) {
		char path[8];

		snprintf(path, sizeof(path), "f%u", (unsigned)i);
		f = closed(i, path, i);
		assert_int_equal(mmapfs_closed_put(&f), 0);
	}
	/* All-zero counters are not kept. */
	f = closed(9, "zero", 0);
	assert_int_equal(mmapfs_closed_put(&f), 0);
	/* Newest first, the oldest (f1) out. */
	assert_int_equal(mmapfs_closed_for_each(collect, seen), 0);
	assert_string_equal(seen, "f4 f3 f2 ");
	/* Closing f2 again replaces its entry and makes it the newest. */
	f = closed(2, "f2-renamed", 7);
	assert_int_equal(mmapfs_closed_put(&f), 0);
	seen[0] = '\0';
	mmapfs_closed_for_each(collect, seen);
	assert_string_equal(seen, "f2-renamed f4 f3 ");
	/* A reopen takes the counters back out. */
	assert_true(mmapfs_closed_take(1, 2, &c));
	assert_int_equal(c.flushes, 7);
	assert_false(mmapfs_closed_take(1, 2, &c));
	assert_int_equal(c.flushes, 0);
	assert_int_equal(mmapfs_closed_count(), 2);
	mmapfs_closed_set_capacity(1);
	assert_int_equal(mmapfs_closed_count(), 1);
	mmapfs_closed_set_capacity(0);
	f = closed(5, "f5", 1);
	assert_int_equal(mmapfs_closed_put(&f), 0);
	assert_int_equal(mmapfs_closed_count(), 0);
	mmapfs_closed_set_capacity(256);
}

static void test_counts_add_delta(void **state)
{
	struct mmapfs_file_counts c = { 10, 100, 2, 1, 5 };
	struct mmapio_stats then, now;

	(void)state;
	memset(&then, 0, sizeof(then));
	memset(&now, 0, sizeof(now));
	then.writes = 3;
	then.flushes = 1;
	now.writes = 8;
	now.bytes_written = 50;
	now.flushes = 4;
	now.last_flush_ns = 77;
	mmapfs_file_counts_add_delta(&c, &now, &then);
	assert_int_equal(c.writes, 15);
	assert_int_equal(c.bytes_written, 150);
	assert_int_equal(c.flushes, 5);
	assert_int_equal(c.flush_errors, 1);
	assert_int_equal(c.last_flush_ns, 77);
	/* A counter below its base (a state libmmapio dropped) adds 0. */
	now.writes = 1;
	mmapfs_file_counts_add_delta(&c, &now, &then);
	assert_int_equal(c.writes, 15);
	assert_false(mmapfs_file_counts_zero(&c));
}

/* --- listen addresses ------------------------------------------------------- */

static void test_listen_addr(void **state)
{
	static const struct {
		const char *in, *text;
	} good[] = {
		{ "off", "off" },
		{ "9567", "127.0.0.1:9567" },
		{ "localhost:80", "127.0.0.1:80" },
		{ "0.0.0.0:65535", "0.0.0.0:65535" },
		{ "[::1]:9100", "[::1]:9100" },
		{ "[0:0::1]:1", "[::1]:1" },
	};
	static const char *const bad[] = {
		"", "0", "65536", "host.example:80", "127.0.0.1:", ":80",
		"[::1]", "[::1]80", "1.2.3:4", "127.0.0.1:8o", "-1",
		"[zz::1]:80", "127.0.0.1:99999999999999999999",
	};
	struct mmapfs_listen l;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(mmapfs_listen_parse(good[i].in, &l, err,
						     sizeof(err)), 0);
		assert_string_equal(l.text, good[i].text);
		assert_true(l.on == (strcmp(good[i].in, "off") != 0));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(mmapfs_listen_parse(bad[i], &l, err,
						     sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
	}
}

/* --- metrics_format ----------------------------------------------------------- */

static void test_metrics_daemon_text(void **state)
{
	struct fuse_write_out wo = { .size = 10 };
	struct mmapio_flush_event bad = { -ENOSPC, 0, 1000 };
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	mmapfs_req_stats_reset();
	mmapfs_counters_reset();
	mmapfs_closed_clear();
	receive(FUSE_WRITE, 1, 5, 0);
	reply(1, 0, &wo, sizeof(wo));
	receive(FUSE_OPEN, 2, 5, 0);
	reply(2, -EACCES, NULL, 0);
	mmapfs_counters_flush_observed(&bad);
	mmapfs_count(MMAPFS_CNT_RELOADS_FAILED, 1);
	assert_int_equal(mmapfs_metrics_format_daemon("/m", &b), 0);
	assert_non_null(strstr(b.data,
		"# TYPE mmapfs_fuse_requests_total counter\n"
		"mmapfs_fuse_requests_total{mount=\"/m\",op=\"open\"} 1\n"
		"mmapfs_fuse_requests_total{mount=\"/m\",op=\"write\"} 1\n"));
	assert_non_null(strstr(b.data,
		"mmapfs_fuse_request_errors_total{mount=\"/m\",op=\"open\","
		"errno=\"EACCES\"} 1\n"));
	assert_non_null(strstr(b.data,
		"mmapfs_fuse_request_duration_seconds_count{mount=\"/m\","
		"op=\"write\"} 1\n"));
	assert_non_null(strstr(b.data,
		"mmapfs_flush_errors_by_errno_total{mount=\"/m\","
		"errno=\"ENOSPC\"} 1\n"));
	assert_non_null(strstr(b.data,
		"mmapfs_reloads_total{mount=\"/m\",result=\"failed\"} 1\n"));
	assert_non_null(strstr(b.data,
		"mmapfs_syncs_total{mount=\"/m\",kind=\"control\"} 0\n"));
	assert_non_null(strstr(b.data, "mmapfs_closed_files{mount=\"/m\"} 0\n"));
	/* No operation seen: no series of it. */
	assert_null(strstr(b.data, "op=\"mkdir\""));
	/* Every sample is labelled; every family has HELP and TYPE. */
	for (char *line = b.data, *next; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		if (line[0] != '#')
			assert_non_null(strstr(line, "{mount=\"/m\""));
		else
			assert_true(strncmp(line, "# HELP mmapfs_", 14) == 0 ||
				    strncmp(line, "# TYPE mmapfs_", 14) == 0);
	}
	mmapfs_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_req_stats),
		cmocka_unit_test(test_counters_flush_observer),
		cmocka_unit_test(test_closed_files),
		cmocka_unit_test(test_counts_add_delta),
		cmocka_unit_test(test_listen_addr),
		cmocka_unit_test(test_metrics_daemon_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
