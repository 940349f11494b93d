/*
 * test_state.c — unit tests of src/core/state.c: one state per backing
 * file shared by every mapping, counts surviving close/reopen under never,
 * the close rule under the other policies, the sticky error's lifetime,
 * the bound on detached states, truncation, private states, and writers
 * on several mappings of one file.
 *
 * Injected clock and manual flusher (dur_util.c); the teardown checks that
 * no state is left in the registry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dur_util.h"

#define PS 4096u

static void test_shared_between_mappings(void **state)
{
	struct mmapio_file *a = dur_create("shared", 16 * PS, "never");
	struct mmapio_file *b = dur_open("shared", "never");

	(void)state;
	assert_ptr_equal(a->state, b->state);
	assert_int_equal(mmapio__registry_states(), 1);
	assert_int_equal(dur_write(a, 0, PS, 'a'), 0);
	assert_int_equal(dur_write(b, PS, PS, 'b'), 0);
	assert_int_equal(mmapio_pending_bytes(a), 2 * PS);
	assert_int_equal(mmapio_pending_writes(b), 2);
	assert_int_equal(mmapio_flush(b), 0);
	assert_int_equal(mmapio_pending_bytes(a), 0);
	assert_int_equal(mmapio_close(a), 0);
	assert_int_equal(mmapio_close(b), 0);
	/* nothing pending: the state is gone */
	assert_int_equal(mmapio__registry_states(), 0);
}

static void test_never_counts_survive_close(void **state)
{
	struct mmapio_file *f = dur_create("keep", 16 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 0, 3 * PS, 'a'), 0);
	assert_int_equal(dur_write(f, 8 * PS, 1, 'a'), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(dur_syncs(), 0);               /* never: no sync */
	assert_int_equal(mmapio__registry_detached(), 1);
	f = dur_open("keep", "never");
	assert_int_equal(mmapio__registry_detached(), 0);
	assert_int_equal(mmapio_pending_bytes(f), 4 * PS);
	assert_int_equal(mmapio_pending_writes(f), 2);
	/* unmap keeps them too */
	{
		int fd = -1;
		struct mmapio_file *g;

		assert_int_equal(mmapio_unmap(f, &fd), 0);
		assert_int_equal(dur_syncs(), 0);
		assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, NULL, &g), 0);
		assert_int_equal(mmapio_pending_bytes(g), 4 * PS);
		f = g;
	}
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio__registry_states(), 0);
}

static void test_reopen_with_threshold_applies_to_old_counts(void **state)
{
	struct mmapio_file *f = dur_create("reopen", 16 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 0, 3 * PS, 'a'), 0);
	assert_int_equal(mmapio_close(f), 0);
	f = dur_open("reopen", "bytes=16KiB");
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(dur_write(f, 3 * PS, 1, 'a'), 0);   /* 4 pages */
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_close_rule_flushes_under_thresholds(void **state)
{
	static const char *const policies[] = {
		"bytes=1GiB", "writes=1000", "ms=60000", "bytes=1M,writes=9,ms=9",
	};

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct mmapio_file *f = dur_create("close", 16 * PS, policies[i]);
		int before;

		assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
		before = dur_syncs();
		assert_int_equal(mmapio_close(f), 0);
		assert_int_equal(dur_syncs(), before + 1);
		assert_int_equal(mmapio__registry_states(), 0);
		assert_int_equal(mmapio__flusher_armed(), 0);
	}
}

static void test_close_rule_at_last_mapping_only(void **state)
{
	struct mmapio_file *a = dur_create("last", 16 * PS, "bytes=1GiB");
	struct mmapio_file *b = dur_open("last", "bytes=1GiB");

	(void)state;
	assert_int_equal(dur_write(a, 0, PS, 'a'), 0);
	assert_int_equal(mmapio_close(a), 0);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio_pending_bytes(b), PS);
	assert_int_equal(mmapio_close(b), 0);
	assert_int_equal(dur_syncs(), 1);
}

static void test_sticky_until_every_handle_released(void **state)
{
	struct mmapio_file *a = dur_create("stk", 4 * PS, "never");
	struct mmapio_file *b = dur_open("stk", "never");
	struct mmapio_stats st;

	(void)state;
	atomic_store(&dur.fail_fdatasync, EIO);
	assert_int_equal(mmapio_flush(a), -EIO);
	atomic_store(&dur.fail_fdatasync, 0);
	/* the other mapping of the file sees it */
	assert_int_equal(mmapio_flush(b), -EIO);
	assert_int_equal(mmapio_close(a), -EIO);
	a = dur_open("stk", "never");      /* b still holds the file */
	assert_int_equal(mmapio_flush(a), -EIO);
	assert_int_equal(mmapio_close(a), -EIO);
	mmapio_stats(b, &st);
	assert_int_equal(st.sticky_error, -EIO);
	assert_int_equal(st.flush_errors, 1);
	assert_int_equal(mmapio_close(b), -EIO);
	/* every handle released: forgotten */
	a = dur_open("stk", "never");
	assert_int_equal(mmapio_flush(a), 0);
	assert_int_equal(mmapio_close(a), 0);
}

static void test_detached_cap_drops_oldest(void **state)
{
	size_t old = mmapio__registry_set_detached_cap(2);
	const char *names[] = { "cap0", "cap1", "cap2" };
	struct mmapio_file *f;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		f = dur_create(names[i], 4 * PS, "never");
		assert_int_equal(dur_write(f, 0, (i + 1) * PS, 'a'), 0);
		assert_int_equal(mmapio_close(f), 0);
	}
	assert_int_equal(mmapio__registry_detached(), 2);
	assert_int_equal(mmapio__registry_states(), 2);
	f = dur_open("cap0", "never");           /* the oldest was dropped */
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
	f = dur_open("cap2", "never");
	assert_int_equal(mmapio_pending_bytes(f), 3 * PS);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
	mmapio__registry_set_detached_cap(old);
	/* cap1 is still kept; the teardown's cap 0 drops it */
	assert_int_equal(mmapio__registry_detached(), 1);
}

static void test_many_files_registry(void **state)
{
	enum { N = 300 };
	struct mmapio_file *f[N];
	char name[32];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many%u", i);
		f[i] = dur_create(name, PS, "never");
		assert_int_equal(dur_write(f[i], 0, 1, 'a'), 0);
	}
	assert_int_equal(mmapio__registry_states(), N);
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many%u", i);
		assert_int_equal(mmapio_pending_bytes(f[i]), PS);
		assert_int_equal(mmapio_flush(f[i]), 0);
		assert_int_equal(mmapio_close(f[i]), 0);
		unlink(dur_path(name));
	}
	assert_int_equal(mmapio__registry_states(), 0);
}

static void test_truncate_forgets_pages(void **state)
{
	struct mmapio_file *f = dur_create("trunc", 16 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 0, 10 * PS, 'a'), 0);
	assert_int_equal(mmapio_resize(f, 3 * PS + 1), 0);
	assert_int_equal(mmapio_pending_bytes(f), 4 * PS);
	assert_int_equal(mmapio_pending_writes(f), 1);
	assert_int_equal(mmapio_resize(f, 32 * PS), 0);
	assert_int_equal(mmapio_pending_bytes(f), 4 * PS);
	assert_int_equal(mmapio_resize(f, 0), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

struct writer_arg {
	struct mmapio_file *f;
	unsigned id;        /* 1..4: the writer's own 16-page region, so
			     * the bytes themselves do not race (TSan) */
	unsigned seed;
	int rc;
};

static void *writer(void *p)
{
	struct writer_arg *w = p;
	char buf[512];

	memset(buf, 'w', sizeof(buf));
	for (int i = 0; i < 5000 && !w->rc; i++) {
		w->seed = w->seed * 1103515245u + 12345u;
		w->rc = mmapio_write(w->f, (w->id - 1) * 16 * PS +
				     (w->seed >> 8) % (16 * PS - sizeof(buf)),
				     buf, sizeof(buf));
	}
	return NULL;
}

/* Writers on two mappings of one file under bytes=N: no write lost from
 * the counts, pending never above N + one write's pages at the end. */
static void test_concurrent_writers_one_file(void **state)
{
	struct mmapio_file *a = dur_create("conc", 64 * PS, "bytes=64KiB");
	struct mmapio_file *b = dur_open("conc", "bytes=64KiB");
	struct writer_arg w[4] = {
		{ a, 1, 1, 0 }, { b, 2, 2, 0 }, { a, 3, 3, 0 }, { b, 4, 4, 0 },
	};
	pthread_t th[4];
	struct mmapio_stats st;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, &w[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	mmapio_stats(a, &st);
	assert_int_equal(st.writes, 20000);
	assert_int_equal(st.bytes_written, 20000 * 512);
	assert_true(st.pending_bytes < 64 * 1024);
	assert_true(st.flushes > 0);
	assert_int_equal(st.flush_errors, 0);
	assert_int_equal(mmapio_close(a), 0);
	assert_int_equal(mmapio_close(b), 0);
	assert_int_equal(mmapio__registry_states(), 0);
}

struct detached_seen {
	int n;
	bool found;
	dev_t dev;
	ino_t ino;
	struct mmapio_file_info info;
	char path[256];
};

static int collect_detached(const struct mmapio_file_info *info, void *ctx)
{
	struct detached_seen *seen = ctx;

	seen->n++;
	if (info->dev == seen->dev && info->ino == seen->ino) {
		seen->found = true;
		seen->info = *info;
		/* info->path lives only during the callback: keep a copy,
		 * never the pointer. */
		seen->info.path = NULL;
		snprintf(seen->path, sizeof(seen->path), "%s",
			 info->path ? info->path : "");
	}
	return 0;
}

static void test_counters_readable_after_close(void **state)
{
	struct mmapio_file *f = dur_create("closed", 16 * PS, "never");
	struct detached_seen seen = { 0 };
	struct mmapio_stats st;
	struct stat sb;

	(void)state;
	assert_int_equal(fstat(mmapio_fd(f), &sb), 0);
	seen.dev = sb.st_dev;
	seen.ino = sb.st_ino;
	assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
	/* while mapped: by id, and not listed as detached */
	assert_int_equal(mmapio_stats_by_id(sb.st_dev, sb.st_ino, &st), 0);
	assert_int_equal(st.pending_bytes, 2 * PS);
	assert_int_equal(mmapio_for_each_detached(collect_detached, &seen), 0);
	assert_false(seen.found);
	assert_int_equal(mmapio_close(f), 0);

	/* after close under never: kept, readable by id and listed */
	memset(&st, 0, sizeof(st));
	assert_int_equal(mmapio_stats_by_id(sb.st_dev, sb.st_ino, &st), 0);
	assert_int_equal(st.pending_bytes, 2 * PS);
	assert_int_equal(st.pending_writes, 1);
	assert_int_equal(mmapio_for_each_detached(collect_detached, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_true(seen.found);
	assert_string_equal(seen.path, dur_path("closed"));
	assert_true(seen.info.rw);
	assert_int_equal(seen.info.policy.kind, MMAPIO_POLICY_NEVER);
	assert_int_equal(seen.info.stats.pending_bytes, 2 * PS);

	/* a flush through a new mapping empties the counts: gone */
	f = dur_open("closed", "never");
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_stats_by_id(sb.st_dev, sb.st_ino, &st), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, dur_setup, dur_teardown)
		T(test_shared_between_mappings),
		T(test_never_counts_survive_close),
		T(test_counters_readable_after_close),
		T(test_reopen_with_threshold_applies_to_old_counts),
		T(test_close_rule_flushes_under_thresholds),
		T(test_close_rule_at_last_mapping_only),
		T(test_sticky_until_every_handle_released),
		T(test_detached_cap_drops_oldest),
		T(test_many_files_registry),
		T(test_truncate_forgets_pages),
		T(test_concurrent_writers_one_file),
#undef T
	};

	return cmocka_run_group_tests(tests, dur_group_setup, dur_group_teardown);
}
