/*
 * test_stats_format.c — unit tests of the `.stats/` formatters and their
 * client-side parsers (src/fs/stats_format.c): exact texts of every file,
 * escaping of hostile paths, the metrics_max_files cut and "busiest
 * first" order, and round trips through the parsers.
 *
 * Single-threaded; no files touched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mmapfs_config.h"
#include "logic/stats_format.h"

#define WEIRD_PATH "we\tird\nname\\x \"q\""

static struct mmapfs_stats_row rows[3];

static int setup_rows(void **state)
{
	(void)state;
	memset(rows, 0, sizeof(rows));
	rows[0] = (struct mmapfs_stats_row){
		.relpath = "logs/app.log", .size = 8192, .mapped = true,
		.rw = true,
		.policy = { MMAPIO_POLICY_THRESHOLD, 4u << 20, 0, 1000 },
		.pending_bytes = 4096, .pending_writes = 3, .flushes = 7,
		.flush_errors = 0, .last_flush_age_ms = 1234,
		.bytes_written = 100000, .writes = 50,
	};
	rows[1] = (struct mmapfs_stats_row){
		.relpath = "db/main.sqlite", .size = 4096, .mapped = true,
		.rw = true, .policy = { MMAPIO_POLICY_ALWAYS, 0, 0, 0 },
		.flushes = 10, .flush_errors = 2, .last_flush_age_ms = 5,
		.bytes_written = 40960, .writes = 10,
	};
	rows[2] = (struct mmapfs_stats_row){
		.relpath = WEIRD_PATH, .size = 0, .mapped = false, .rw = false,
		.policy = { MMAPIO_POLICY_NEVER, 0, 0, 0 },
		.last_flush_age_ms = -1,
	};
	return 0;
}

static void test_buf(void **state)
{
	struct mmapfs_buf b = MMAPFS_BUF_INIT;
	char big[1000];

	(void)state;
	assert_int_equal(mmapfs_buf_append(&b, "", 0), 0);
	assert_string_equal(b.data, "");
	assert_int_equal(mmapfs_buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data, "42-x");
	memset(big, 'z', sizeof(big));
	assert_int_equal(mmapfs_buf_append(&b, big, sizeof(big)), 0);
	assert_int_equal(mmapfs_buf_printf(&b, "%s", "!"), 0);
	assert_int_equal(b.len, 4 + sizeof(big) + 1);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.data[b.len - 1], '!');
	assert_true(b.cap > b.len);
	mmapfs_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_file_names(void **state)
{
	enum mmapfs_stats_file f;

	(void)state;
	for (unsigned i = 0; i < MMAPFS_STATS_FILE_COUNT; i++) {
		const char *name = mmapfs_stats_file_name((enum mmapfs_stats_file)i);

		assert_non_null(name);
		assert_int_equal(mmapfs_stats_file_from_name(name, &f), 0);
		assert_int_equal(f, i);
	}
	assert_string_equal(mmapfs_stats_file_name(MMAPFS_STATS_METRICS),
			    "metrics.prom");
	assert_int_equal(mmapfs_stats_file_from_name("metrics", &f), -ENOENT);
	assert_null(mmapfs_stats_file_name(MMAPFS_STATS_FILE_COUNT));
}

static void test_totals(void **state)
{
	struct mmapfs_stats_totals t;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	mmapfs_stats_sum(rows, 3, &t);
	assert_int_equal(t.files, 3);
	assert_int_equal(t.mapped_files, 2);
	assert_int_equal(t.pending_bytes, 4096);
	assert_int_equal(t.pending_writes, 3);
	assert_int_equal(t.flushes, 17);
	assert_int_equal(t.flush_errors, 2);
	assert_int_equal(t.bytes_written, 140960);
	assert_int_equal(t.writes, 60);

	assert_int_equal(mmapfs_stats_format_total(MMAPFS_STATS_PENDING_BYTES, &t, &b), 0);
	assert_int_equal(mmapfs_stats_format_total(MMAPFS_STATS_PENDING_WRITES, &t, &b), 0);
	assert_int_equal(mmapfs_stats_format_total(MMAPFS_STATS_FLUSHES, &t, &b), 0);
	assert_int_equal(mmapfs_stats_format_total(MMAPFS_STATS_FLUSH_ERRORS, &t, &b), 0);
	assert_string_equal(b.data, "4096\n3\n17\n2\n");
	assert_int_equal(mmapfs_stats_format_total(MMAPFS_STATS_FILES, &t, &b), -EINVAL);
	mmapfs_buf_free(&b);

	/* Empty snapshot; saturation. */
	mmapfs_stats_sum(NULL, 0, &t);
	assert_int_equal(t.files, 0);
	assert_int_equal(t.flushes, 0);
	struct mmapfs_stats_row two[2] = {
		{ .relpath = "a", .flushes = UINT64_MAX - 1 },
		{ .relpath = "b", .flushes = 5 },
	};
	mmapfs_stats_sum(two, 2, &t);
	assert_true(t.flushes == UINT64_MAX);
}

static void test_version(void **state)
{
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	assert_int_equal(mmapfs_stats_format_version(&b), 0);
	assert_string_equal(b.data, "mmapfs " MMAPFS_VERSION "\n");
	mmapfs_buf_free(&b);
}

static void test_files_exact(void **state)
{
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	assert_int_equal(mmapfs_stats_format_files(rows, 3, &b), 0);
	assert_string_equal(b.data,
		"path\tsize\tmapped\tmode\tpolicy\tpending_bytes\tpending_writes\t"
		"flushes\tflush_errors\tlast_flush_age_ms\n"
		"db/main.sqlite\t4096\tyes\trw\talways\t0\t0\t10\t2\t5\n"
		"logs/app.log\t8192\tyes\trw\tbytes=4MiB,ms=1000\t4096\t3\t7\t0\t1234\n"
		"we\\tird\\nname\\\\x \"q\"\t0\tno\tro\tnever\t0\t0\t0\t0\t-\n");
	/* The rows themselves are not reordered. */
	assert_string_equal(rows[0].relpath, "logs/app.log");
	mmapfs_buf_free(&b);

	assert_int_equal(mmapfs_stats_format_files(NULL, 0, &b), 0);
	assert_string_equal(b.data, MMAPFS_STATS_FILES_HEADER "\n");
	mmapfs_buf_free(&b);
}

static void test_files_bad_policy(void **state)
{
	struct mmapfs_buf b = MMAPFS_BUF_INIT;
	struct mmapfs_stats_row bad = rows[0];

	(void)state;
	bad.policy = (struct mmapio_policy){ MMAPIO_POLICY_THRESHOLD, 0, 0, 0 };
	assert_int_equal(mmapfs_stats_format_files(&bad, 1, &b), -EINVAL);
	mmapfs_buf_free(&b);
}

#define TOTALS_TEXT \
	"# HELP mmapfs_info Version of the mmapfs daemon and the transport in " \
	"use, as labels.\n" \
	"# TYPE mmapfs_info gauge\n" \
	"mmapfs_info{version=\"" MMAPFS_VERSION "\",transport=\"io_uring\"} 1\n" \
	"# HELP mmapfs_files Files with an open mapping or non-zero counters.\n" \
	"# TYPE mmapfs_files gauge\n" \
	"mmapfs_files 3\n" \
	"# HELP mmapfs_mapped_files Files with an open mapping.\n" \
	"# TYPE mmapfs_mapped_files gauge\n" \
	"mmapfs_mapped_files 2\n" \
	"# HELP mmapfs_mapped_bytes Sizes of the files with an open mapping, in bytes.\n" \
	"# TYPE mmapfs_mapped_bytes gauge\n" \
	"mmapfs_mapped_bytes 12288\n" \
	"# HELP mmapfs_pending_bytes Bytes written and not yet durable, over all files.\n" \
	"# TYPE mmapfs_pending_bytes gauge\n" \
	"mmapfs_pending_bytes 4096\n" \
	"# HELP mmapfs_pending_writes Write calls since the last durable flush, over all files.\n" \
	"# TYPE mmapfs_pending_writes gauge\n" \
	"mmapfs_pending_writes 3\n" \
	"# HELP mmapfs_flushes_total Successful durable flushes since the daemon started.\n" \
	"# TYPE mmapfs_flushes_total counter\n" \
	"mmapfs_flushes_total 17\n" \
	"# HELP mmapfs_flush_errors_total Failed flushes since the daemon started.\n" \
	"# TYPE mmapfs_flush_errors_total counter\n" \
	"mmapfs_flush_errors_total 2\n" \
	"# HELP mmapfs_bytes_written_total Bytes written since the daemon started.\n" \
	"# TYPE mmapfs_bytes_written_total counter\n" \
	"mmapfs_bytes_written_total 140960\n" \
	"# HELP mmapfs_writes_total Write requests since the daemon started.\n" \
	"# TYPE mmapfs_writes_total counter\n" \
	"mmapfs_writes_total 60\n"

static void test_metrics_totals_only(void **state)
{
	struct mmapfs_stats_totals t;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	mmapfs_stats_sum(rows, 3, &t);
	assert_int_equal(mmapfs_stats_format_metrics(rows, 3, &t, 0, NULL,
						     "io_uring", &b), 0);
	assert_string_equal(b.data, TOTALS_TEXT);
	mmapfs_buf_free(&b);
}

static void test_metrics_exact(void **state)
{
	struct mmapfs_stats_totals t;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	mmapfs_stats_sum(rows, 3, &t);
	/* Two of three: logs/app.log (most pending bytes), then
	 * db/main.sqlite (more bytes written than the third). */
	assert_int_equal(mmapfs_stats_format_metrics(rows, 3, &t, 2, NULL,
						     "io_uring", &b), 0);
	assert_string_equal(b.data, TOTALS_TEXT
		"# HELP mmapfs_file_size_bytes Size of the file in bytes.\n"
		"# TYPE mmapfs_file_size_bytes gauge\n"
		"mmapfs_file_size_bytes{path=\"logs/app.log\"} 8192\n"
		"mmapfs_file_size_bytes{path=\"db/main.sqlite\"} 4096\n"
		"# HELP mmapfs_file_mapped 1 when the file has an open mapping, else 0.\n"
		"# TYPE mmapfs_file_mapped gauge\n"
		"mmapfs_file_mapped{path=\"logs/app.log\"} 1\n"
		"mmapfs_file_mapped{path=\"db/main.sqlite\"} 1\n"
		"# HELP mmapfs_file_pending_bytes Bytes written to the file and not yet durable (page granularity).\n"
		"# TYPE mmapfs_file_pending_bytes gauge\n"
		"mmapfs_file_pending_bytes{path=\"logs/app.log\"} 4096\n"
		"mmapfs_file_pending_bytes{path=\"db/main.sqlite\"} 0\n"
		"# HELP mmapfs_file_pending_writes Write calls to the file since its last durable flush.\n"
		"# TYPE mmapfs_file_pending_writes gauge\n"
		"mmapfs_file_pending_writes{path=\"logs/app.log\"} 3\n"
		"mmapfs_file_pending_writes{path=\"db/main.sqlite\"} 0\n"
		"# HELP mmapfs_file_flushes_total Successful durable flushes of the file.\n"
		"# TYPE mmapfs_file_flushes_total counter\n"
		"mmapfs_file_flushes_total{path=\"logs/app.log\"} 7\n"
		"mmapfs_file_flushes_total{path=\"db/main.sqlite\"} 10\n"
		"# HELP mmapfs_file_flush_errors_total Failed flushes of the file.\n"
		"# TYPE mmapfs_file_flush_errors_total counter\n"
		"mmapfs_file_flush_errors_total{path=\"logs/app.log\"} 0\n"
		"mmapfs_file_flush_errors_total{path=\"db/main.sqlite\"} 2\n"
		"# HELP mmapfs_file_bytes_written_total Bytes written to the file.\n"
		"# TYPE mmapfs_file_bytes_written_total counter\n"
		"mmapfs_file_bytes_written_total{path=\"logs/app.log\"} 100000\n"
		"mmapfs_file_bytes_written_total{path=\"db/main.sqlite\"} 40960\n"
		"# HELP mmapfs_file_writes_total Write calls to the file.\n"
		"# TYPE mmapfs_file_writes_total counter\n"
		"mmapfs_file_writes_total{path=\"logs/app.log\"} 50\n"
		"mmapfs_file_writes_total{path=\"db/main.sqlite\"} 10\n"
		"# HELP mmapfs_file_last_flush_age_seconds Seconds since the last durable flush of the file (absent when never flushed).\n"
		"# TYPE mmapfs_file_last_flush_age_seconds gauge\n"
		"mmapfs_file_last_flush_age_seconds{path=\"logs/app.log\"} 1.234\n"
		"mmapfs_file_last_flush_age_seconds{path=\"db/main.sqlite\"} 0.005\n");
	mmapfs_buf_free(&b);
}

static void test_metrics_mount_label(void **state)
{
	struct mmapfs_stats_totals t;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	mmapfs_stats_sum(rows, 3, &t);
	assert_int_equal(mmapfs_stats_format_metrics(rows, 3, &t, 1,
						     "/mnt/a \"b\"", "dev", &b),
			 0);
	assert_non_null(strstr(b.data,
		"mmapfs_info{mount=\"/mnt/a \\\"b\\\"\",version=\""));
	assert_non_null(strstr(b.data,
		"mmapfs_files{mount=\"/mnt/a \\\"b\\\"\"} 3\n"));
	assert_non_null(strstr(b.data,
		"mmapfs_file_size_bytes{mount=\"/mnt/a \\\"b\\\"\","
		"path=\"logs/app.log\"} 8192\n"));
	/* Every sample line carries the label. */
	for (char *line = b.data, *next; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		if (line[0] != '#')
			assert_non_null(strstr(line, "{mount=\"/mnt/a "));
	}
	mmapfs_buf_free(&b);
}

static void test_metrics_label_escaping(void **state)
{
	struct mmapfs_stats_row r[2];
	struct mmapfs_stats_totals t;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	r[0] = rows[2];
	r[1] = rows[2];
	r[1].relpath = "bad\xff\xc3utf8\xe2\x82\xac";
	r[1].pending_bytes = 1;
	mmapfs_stats_sum(r, 2, &t);
	assert_int_equal(mmapfs_stats_format_metrics(r, 2, &t, 100, NULL,
						     "io_uring", &b), 0);
	assert_non_null(strstr(b.data,
		"mmapfs_file_size_bytes{path=\"bad\xef\xbf\xbd\xef\xbf\xbdutf8\xe2\x82\xac\"} 0\n"
		"mmapfs_file_size_bytes{path=\"we\tird\\nname\\\\x \\\"q\\\"\"} 0\n"));
	/* Never flushed: no age series. */
	assert_null(strstr(b.data, "mmapfs_file_last_flush_age_seconds{"));
	mmapfs_buf_free(&b);
}

static void test_parse_files_round_trip(void **state)
{
	struct mmapfs_buf b = MMAPFS_BUF_INIT;
	struct mmapfs_stats_row got;
	char *line, *next;
	unsigned n = 0;

	(void)state;
	assert_int_equal(mmapfs_stats_format_files(rows, 3, &b), 0);
	line = strchr(b.data, '\n') + 1;   /* skip the header */
	for (; *line; line = next) {
		const struct mmapfs_stats_row *want = NULL;

		next = strchr(line, '\n');
		*next++ = '\0';
		assert_int_equal(mmapfs_stats_parse_files_row(line, &got), 0);
		for (unsigned i = 0; i < 3; i++)
			if (strcmp(rows[i].relpath, got.relpath) == 0)
				want = &rows[i];
		assert_non_null(want);
		assert_int_equal(got.size, want->size);
		assert_int_equal(got.mapped, want->mapped);
		assert_int_equal(got.rw, want->rw);
		assert_true(mmapio_policy_equal(&got.policy, &want->policy));
		assert_int_equal(got.pending_bytes, want->pending_bytes);
		assert_int_equal(got.pending_writes, want->pending_writes);
		assert_int_equal(got.flushes, want->flushes);
		assert_int_equal(got.flush_errors, want->flush_errors);
		assert_int_equal(got.last_flush_age_ms, want->last_flush_age_ms);
		n++;
	}
	assert_int_equal(n, 3);
	mmapfs_buf_free(&b);
}

static void test_parse_files_bad(void **state)
{
	static const char *const bad[] = {
		"",
		MMAPFS_STATS_FILES_HEADER,
		"a\t1\tyes\trw\tnever\t0\t0\t0\t0",
		"a\t1\tyes\trw\tnever\t0\t0\t0\t0\t-\textra",
		"a\t1\tmaybe\trw\tnever\t0\t0\t0\t0\t-",
		"a\t1\tyes\two\tnever\t0\t0\t0\t0\t-",
		"a\t1\tyes\trw\tsometimes\t0\t0\t0\t0\t-",
		"a\t-1\tyes\trw\tnever\t0\t0\t0\t0\t-",
		"a\t1\tyes\trw\tnever\t0\t0\t0\t0\t9223372036854775808",
		"a\\q\t1\tyes\trw\tnever\t0\t0\t0\t0\t-",
		"\t1\tyes\trw\tnever\t0\t0\t0\t0\t-",
	};
	struct mmapfs_stats_row row;
	char line[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "%s", bad[i]);
		assert_int_equal(mmapfs_stats_parse_files_row(line, &row), -EINVAL);
	}
	snprintf(line, sizeof(line), "a\t1\tno\tro\tnever\t0\t0\t0\t0\t9223372036854775807");
	assert_int_equal(mmapfs_stats_parse_files_row(line, &row), 0);
	assert_true(row.last_flush_age_ms == INT64_MAX);
}

static void test_parse_prom(void **state)
{
	struct mmapfs_stats_totals t;
	struct mmapfs_buf b = MMAPFS_BUF_INIT;
	struct mmapfs_prom_sample s;
	char *line, *next;
	bool seen_weird = false, seen_total = false;

	(void)state;
	mmapfs_stats_sum(rows, 3, &t);
	assert_int_equal(mmapfs_stats_format_metrics(rows, 3, &t, 3, NULL,
						     "io_uring", &b), 0);
	for (line = b.data; *line; line = next) {
		int ret;

		next = strchr(line, '\n');
		*next++ = '\0';
		ret = mmapfs_prom_parse_line(line, &s);
		assert_true(ret == 0 || ret == 1);
		if (ret == 0)
			continue;
		if (strcmp(s.name, "mmapfs_bytes_written_total") == 0) {
			assert_null(s.path);
			assert_true(s.value == 140960.0);
			seen_total = true;
		}
		if (strcmp(s.name, "mmapfs_file_bytes_written_total") == 0 &&
		    strcmp(s.path, WEIRD_PATH) == 0) {
			assert_true(s.value == 0.0);
			seen_weird = true;
		}
	}
	assert_true(seen_total);
	assert_true(seen_weird);
	mmapfs_buf_free(&b);

	char ok[] = "m{a=\"x\",path=\"p\\\\q\"} 2.5";
	assert_int_equal(mmapfs_prom_parse_line(ok, &s), 1);
	assert_string_equal(s.name, "m");
	assert_string_equal(s.path, "p\\q");
	assert_true(s.value == 2.5);

	static const char *const bad[] = {
		"m", "m ", "{path=\"x\"} 1", "m{path=\"x} 1", "m{path=x} 1",
		"m{path=\"\\t\"} 1", "m{path=\"x\"", "m 1x", "m{path=\"x\"}",
	};
	char line2[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line2, sizeof(line2), "%s", bad[i]);
		assert_int_equal(mmapfs_prom_parse_line(line2, &s), -EINVAL);
	}
	snprintf(line2, sizeof(line2), "# TYPE m gauge");
	assert_int_equal(mmapfs_prom_parse_line(line2, &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test_setup(test_totals, setup_rows),
		cmocka_unit_test(test_version),
		cmocka_unit_test_setup(test_files_exact, setup_rows),
		cmocka_unit_test_setup(test_files_bad_policy, setup_rows),
		cmocka_unit_test_setup(test_metrics_totals_only, setup_rows),
		cmocka_unit_test_setup(test_metrics_exact, setup_rows),
		cmocka_unit_test_setup(test_metrics_label_escaping, setup_rows),
		cmocka_unit_test_setup(test_metrics_mount_label, setup_rows),
		cmocka_unit_test_setup(test_parse_files_round_trip, setup_rows),
		cmocka_unit_test(test_parse_files_bad),
		cmocka_unit_test_setup(test_parse_prom, setup_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
