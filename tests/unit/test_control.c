/*
 * test_control.c — unit tests of the `.ctl/` dispatcher and the `.stats/`
 * snapshot builder (src/fs/control.c) against a fake daemon: an ops table
 * over a small in-memory file table that records every call.
 *
 * Checks: who may control, routing of each verb with its resolved range,
 * errors mapped as docs/control.md says, rejected commands logged, every
 * resolved node put exactly once, empty ranges never reaching an op, and
 * the stats files built from the rows the daemon reports.
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

#include "logic/control.h"
#include "logic/counters.h"
#include "logic/req_stats.h"
#include "mmapfs_config.h"

#define OWNER 1000

struct mmapfs_control_node {
	const char *path;
	uint64_t size;
	int resolve_error;   /* returned by resolve for this path */
};

static struct mmapfs_control_node nodes[] = {
	{ "data/big.bin", 1 << 20, 0 },
	{ "empty", 0, 0 },
	{ "link-out", 0, -EPERM },
	{ "a dir", 0, -EINVAL },
};

/* What the fake saw. */
static struct {
	const char *op;
	const struct mmapfs_control_node *node;
	uint64_t off, len;
	enum mmapio_advice advice;
	bool policy_set;
	struct mmapio_policy policy;
	unsigned resolves, puts, calls;
	int result;              /* returned by the next op */
	char log[600];
	enum mmapfs_log_level log_level;
	unsigned logs;
	const char *last_error;  /* reload error shown in .stats/config */
	int walk_error;
} fake;

static int fake_resolve(void *ctx, const char *relpath,
			struct mmapfs_control_node **out)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (strcmp(nodes[i].path, relpath) != 0)
			continue;
		if (nodes[i].resolve_error)
			return nodes[i].resolve_error;
		fake.resolves++;
		*out = &nodes[i];
		return 0;
	}
	return -ENOENT;
}

static void fake_put(void *ctx, struct mmapfs_control_node *node)
{
	(void)ctx;
	assert_non_null(node);
	fake.puts++;
}

static int fake_size(void *ctx, struct mmapfs_control_node *node, uint64_t *out)
{
	(void)ctx;
	*out = node->size;
	return 0;
}

static int record(const char *op, struct mmapfs_control_node *node,
		  uint64_t off, uint64_t len)
{
	fake.op = op;
	fake.node = node;
	fake.off = off;
	fake.len = len;
	fake.calls++;
	return fake.result;
}

static int fake_prefetch(void *ctx, struct mmapfs_control_node *node,
			 uint64_t off, uint64_t len)
{
	(void)ctx;
	return record("prefetch", node, off, len);
}

static int fake_advise(void *ctx, struct mmapfs_control_node *node,
		       uint64_t off, uint64_t len, enum mmapio_advice advice)
{
	(void)ctx;
	fake.advice = advice;
	return record("advise", node, off, len);
}

static int fake_lock(void *ctx, struct mmapfs_control_node *node,
		     uint64_t off, uint64_t len)
{
	(void)ctx;
	return record("lock", node, off, len);
}

static int fake_unlock(void *ctx, struct mmapfs_control_node *node,
		       uint64_t off, uint64_t len)
{
	(void)ctx;
	return record("unlock", node, off, len);
}

static int fake_flush(void *ctx, struct mmapfs_control_node *node)
{
	(void)ctx;
	return record("flush", node, 0, 0);
}

static int fake_flush_all(void *ctx)
{
	(void)ctx;
	return record("flush_all", NULL, 0, 0);
}

static int fake_evict(void *ctx, struct mmapfs_control_node *node)
{
	(void)ctx;
	return record("evict", node, 0, 0);
}

static int fake_set_policy(void *ctx, struct mmapfs_control_node *node,
			   const struct mmapio_policy *p)
{
	(void)ctx;
	fake.policy_set = p != NULL;
	if (p)
		fake.policy = *p;
	return record("set_policy", node, 0, 0);
}

static int fake_reload(void *ctx)
{
	(void)ctx;
	return record("reload", NULL, 0, 0);
}

static int fake_for_each_file(void *ctx, mmapfs_control_row_fn cb, void *cbctx)
{
	/* Rows live on this stack frame only: the dispatcher must copy. */
	char path0[] = "logs/app.log";
	char path1[] = "db/x.sqlite";
	struct mmapfs_stats_row r[2] = {
		{ .relpath = path0, .size = 100, .mapped = true, .rw = true,
		  .policy = { MMAPIO_POLICY_NEVER, 0, 0, 0 },
		  .pending_bytes = 8192, .pending_writes = 2, .flushes = 1,
		  .last_flush_age_ms = 10, .bytes_written = 9000, .writes = 2 },
		{ .relpath = path1, .size = 50, .mapped = false, .rw = false,
		  .policy = { MMAPIO_POLICY_ALWAYS, 0, 0, 0 },
		  .flushes = 4, .flush_errors = 1, .last_flush_age_ms = -1 },
	};
	int ret;

	(void)ctx;
	for (size_t i = 0; i < 2; i++) {
		ret = cb(cbctx, &r[i]);
		if (ret < 0)
			return ret;
		memset(r[i].relpath == path0 ? path0 : path1, 'X',
		       strlen(r[i].relpath));
		if (fake.walk_error)
			return fake.walk_error;
	}
	return 0;
}

static int fake_config(void *ctx, struct mmapfs_config **cfg, char **last_error)
{
	int ret;

	(void)ctx;
	ret = mmapfs_config_defaults(cfg);
	if (ret < 0)
		return ret;
	*last_error = fake.last_error ? strdup(fake.last_error) : NULL;
	return 0;
}

static void fake_log(void *ctx, enum mmapfs_log_level level, const char *msg)
{
	(void)ctx;
	snprintf(fake.log, sizeof(fake.log), "%s", msg);
	fake.log_level = level;
	fake.logs++;
}

static const struct mmapfs_control_ops fake_ops = {
	.resolve = fake_resolve,
	.put = fake_put,
	.size = fake_size,
	.prefetch = fake_prefetch,
	.advise = fake_advise,
	.lock = fake_lock,
	.unlock = fake_unlock,
	.flush = fake_flush,
	.flush_all = fake_flush_all,
	.evict = fake_evict,
	.set_policy = fake_set_policy,
	.reload = fake_reload,
	.for_each_file = fake_for_each_file,
	.config = fake_config,
	.log = fake_log,
};

static const struct mmapfs_control ctl = { &fake_ops, NULL, OWNER, NULL };

static int reset(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	return 0;
}

/* Every resolved node was put; used as each test's teardown. */
static int check_balanced(void **state)
{
	(void)state;
	assert_int_equal(fake.resolves, fake.puts);
	return 0;
}

static ssize_t run(const char *verb, const char *text, uid_t uid)
{
	return mmapfs_control_execute(&ctl, verb, text, strlen(text), uid);
}

static void test_who_may_control(void **state)
{
	(void)state;
	assert_int_equal(run("flush", "*\n", 1001), -EPERM);
	assert_int_equal(fake.calls, 0);
	assert_non_null(strstr(fake.log, "uid 1001"));
	assert_int_equal(fake.log_level, MMAPFS_LOG_WARNING);
	assert_int_equal(run("flush", "*\n", OWNER), 2);
	assert_string_equal(fake.op, "flush_all");
	assert_int_equal(run("flush", "*", 0), 1);
	assert_int_equal(fake.calls, 2);
}

static void test_unknown_verb(void **state)
{
	(void)state;
	assert_int_equal(run("frobnicate", "x\n", OWNER), -EINVAL);
	assert_int_equal(run("", "x\n", OWNER), -EINVAL);
	assert_int_equal(fake.calls, 0);
	assert_non_null(strstr(fake.log, "unknown command file"));
}

static void test_prefetch_ranges(void **state)
{
	(void)state;
	assert_int_equal(run("prefetch", "data/big.bin\n", OWNER), 13);
	assert_string_equal(fake.op, "prefetch");
	assert_ptr_equal(fake.node, &nodes[0]);
	assert_int_equal(fake.off, 0);
	assert_int_equal(fake.len, 1 << 20);

	assert_int_equal(run("prefetch", "./data//big.bin 4096 8192", OWNER), 25);
	assert_int_equal(fake.off, 4096);
	assert_int_equal(fake.len, 8192);

	assert_int_equal(run("prefetch", "data/big.bin 1048000", OWNER), 20);
	assert_int_equal(fake.off, 1048000);
	assert_int_equal(fake.len, (1 << 20) - 1048000);
	assert_int_equal(fake.calls, 3);
}

static void test_range_outside(void **state)
{
	(void)state;
	assert_int_equal(run("prefetch", "data/big.bin 1048576 1", OWNER), -EINVAL);
	assert_non_null(strstr(fake.log, "past the end"));
	assert_int_equal(run("lock", "data/big.bin 1048577", OWNER), -EINVAL);
	assert_int_equal(run("advise", "data/big.bin random 1 18446744073709551615",
			     OWNER), -EINVAL);
	assert_non_null(strstr(fake.log, "overflow"));
	assert_int_equal(fake.calls, 0);
	/* Resolved and put even though the range was refused. */
	assert_int_equal(fake.resolves, 3);
}

static void test_empty_range_skips_op(void **state)
{
	(void)state;
	assert_int_equal(run("prefetch", "empty", OWNER), 5);
	assert_int_equal(run("lock", "data/big.bin 1048576", OWNER), 20);
	assert_int_equal(run("advise", "data/big.bin dontneed 5 0", OWNER), 25);
	assert_int_equal(fake.calls, 0);
}

static void test_range_ops(void **state)
{
	(void)state;
	assert_int_equal(run("advise", "data/big.bin sequential 0 4096\n", OWNER), 31);
	assert_string_equal(fake.op, "advise");
	assert_int_equal(fake.advice, MMAPIO_ADV_SEQUENTIAL);
	assert_int_equal(fake.len, 4096);
	assert_int_equal(run("lock", "data/big.bin 0 4096", OWNER), 19);
	assert_string_equal(fake.op, "lock");
	assert_int_equal(run("unlock", "data/big.bin", OWNER), 12);
	assert_string_equal(fake.op, "unlock");
	assert_int_equal(fake.len, 1 << 20);

	/* The file shrank between size and op: the core's -ERANGE. */
	fake.result = -ERANGE;
	assert_int_equal(run("prefetch", "data/big.bin", OWNER), -EINVAL);
	assert_non_null(strstr(fake.log, "shrank"));
	/* Other op errors pass through. */
	fake.result = -ENOMEM;
	assert_int_equal(run("lock", "data/big.bin", OWNER), -ENOMEM);
	assert_non_null(strstr(fake.log, "lock data/big.bin failed"));
}

static void test_resolve_errors(void **state)
{
	(void)state;
	assert_int_equal(run("prefetch", "missing\n", OWNER), -ENOENT);
	assert_int_equal(run("flush", "link-out", OWNER), -EPERM);
	assert_int_equal(run("evict", "a\\ dir", OWNER), -EINVAL);
	assert_non_null(strstr(fake.log, "evict a\\ dir failed"));
	assert_int_equal(fake.calls, 0);
	assert_int_equal(fake.resolves, 0);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_int_equal(run("prefetch", "/etc/passwd\n", OWNER), -EPERM);
	assert_non_null(strstr(fake.log, "prefetch rejected"));
	assert_int_equal(run("prefetch", "../../etc/passwd", OWNER), -EPERM);
	assert_int_equal(mmapfs_control_execute(&ctl, "evict", "a\0b", 3, OWNER),
			 -EINVAL);
	assert_non_null(strstr(fake.log, "NUL"));
	assert_int_equal(run("advise", "data/big.bin often", OWNER), -EINVAL);
	assert_int_equal(run("policy", "data/big.bin bytes=-1", OWNER), -EINVAL);
	assert_int_equal(fake.resolves, 0);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(fake.logs, 5);
}

static void test_flush_evict_policy_reload(void **state)
{
	(void)state;
	assert_int_equal(run("flush", "data/big.bin\n", OWNER), 13);
	assert_string_equal(fake.op, "flush");
	assert_ptr_equal(fake.node, &nodes[0]);

	fake.result = -EIO;
	assert_int_equal(run("flush", "*", OWNER), -EIO);
	assert_string_equal(fake.op, "flush_all");
	assert_non_null(strstr(fake.log, "flush * failed"));

	fake.result = -EBUSY;
	assert_int_equal(run("evict", "data/big.bin", OWNER), -EBUSY);
	assert_string_equal(fake.op, "evict");
	fake.result = 0;

	assert_int_equal(run("policy", "data/big.bin writes=10\n", OWNER), 23);
	assert_string_equal(fake.op, "set_policy");
	assert_true(fake.policy_set);
	assert_int_equal(fake.policy.kind, MMAPIO_POLICY_THRESHOLD);
	assert_int_equal(fake.policy.writes, 10);
	assert_int_equal(run("policy", "data/big.bin default", OWNER), 20);
	assert_false(fake.policy_set);

	assert_int_equal(run("reload", "", OWNER), 0);
	assert_string_equal(fake.op, "reload");
	fake.result = -EINVAL;
	assert_int_equal(run("reload", "go\n", OWNER), -EINVAL);
	assert_non_null(strstr(fake.log, "reload"));
}

static char *stats(const char *name, int *ret)
{
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	*ret = mmapfs_control_stats_open(&ctl, name, &b);
	if (*ret < 0) {
		mmapfs_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The daemon-wide flush counters, as libmmapio's observer would set
 * them: 5 flushes, 1 failure (they need not match the rows' sums: files
 * closed since counted too). */
static void observe_flushes(void)
{
	struct mmapio_flush_event ok = { 0, 4096, 1000 }, bad = { -EIO, 0, 10 };

	mmapfs_counters_reset();
	for (int i = 0; i < 5; i++)
		mmapfs_counters_flush_observed(&ok);
	mmapfs_counters_flush_observed(&bad);
}

static void test_stats_files(void **state)
{
	char *text;
	int ret;

	(void)state;
	observe_flushes();
	text = stats("pending_bytes", &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(text, "8192\n");
	free(text);
	text = stats("pending_writes", &ret);
	assert_string_equal(text, "2\n");
	free(text);
	text = stats("flushes", &ret);
	assert_string_equal(text, "5\n");
	free(text);
	/* A total of events is the daemon's, not the sum of the rows. */
	mmapfs_counters_flush_observed(&(struct mmapio_flush_event){ 0, 0, 0 });
	text = stats("flushes", &ret);
	assert_string_equal(text, "6\n");
	free(text);
	observe_flushes();
	text = stats("flush_errors", &ret);
	assert_string_equal(text, "1\n");
	free(text);
	text = stats("version", &ret);
	assert_string_equal(text, "mmapfs " MMAPFS_VERSION "\n");
	free(text);

	text = stats("files", &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(text, MMAPFS_STATS_FILES_HEADER "\n"
		"db/x.sqlite\t50\tno\tro\talways\t0\t0\t4\t1\t-\n"
		"logs/app.log\t100\tyes\trw\tnever\t8192\t2\t1\t0\t10\n");
	free(text);

	text = stats("metrics.prom", &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, "mmapfs_files 2\n"));
	assert_non_null(strstr(text, "mmapfs_flushes_total 5\n"));
	assert_non_null(strstr(text, "mmapfs_bytes_flushed_total 20480\n"));
	assert_non_null(strstr(text,
		"mmapfs_flush_errors_by_errno_total{errno=\"EIO\"} 1\n"));
	assert_non_null(strstr(text,
		"mmapfs_flush_duration_seconds_bucket{le=\"0.00001\"} 6\n"));
	assert_non_null(strstr(text,
		"mmapfs_file_bytes_written_total{path=\"logs/app.log\"} 9000\n"
		"mmapfs_file_bytes_written_total{path=\"db/x.sqlite\"} 0\n"));
	free(text);

	assert_null(stats("nonesuch", &ret));
	assert_int_equal(ret, -ENOENT);

	fake.walk_error = -EIO;
	assert_null(stats("files", &ret));
	assert_int_equal(ret, -EIO);
}

static void test_stats_config(void **state)
{
	char *text;
	int ret;

	(void)state;
	text = stats("config", &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, "[global]\n"));
	assert_null(strstr(text, "reload was rejected"));
	free(text);

	fake.last_error = "/etc/mmapfs.ini:3: unknown key 'flsh'\n"
			  "/etc/mmapfs.ini:9: bad value";
	text = stats("config", &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, "[global]\n"));
	assert_non_null(strstr(text,
		"\n; The last reload was rejected; the config above stays in effect:\n"
		"; /etc/mmapfs.ini:3: unknown key 'flsh'\n"
		"; /etc/mmapfs.ini:9: bad value\n"));
	free(text);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, reset, check_balanced)
	const struct CMUnitTest tests[] = {
		T(test_who_may_control),
		T(test_unknown_verb),
		T(test_prefetch_ranges),
		T(test_range_outside),
		T(test_empty_range_skips_op),
		T(test_range_ops),
		T(test_resolve_errors),
		T(test_parse_errors),
		T(test_flush_evict_policy_reload),
		T(test_stats_files),
		T(test_stats_config),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
