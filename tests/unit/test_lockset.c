/*
 * test_lockset.c — unit tests of the page-interval sets behind the
 * .ctl/lock budget (src/fs/lockset.c): a range added twice counts once,
 * merges of overlapping and adjacent runs, removal that cuts a run in two,
 * removal of what was never added, and removal to the end (truncation),
 * checked against a bitmap model.
 *
 * Single-threaded; no files touched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logic/lockset.h"

static void check_runs(const struct mmapfs_lockset *s)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < s->n; i++) {
		assert_true(s->runs[i].first < s->runs[i].end);
		if (i + 1 < s->n)
			assert_true(s->runs[i].end < s->runs[i + 1].first);
		pages += s->runs[i].end - s->runs[i].first;
	}
	assert_int_equal(pages, s->pages);
}

static void test_same_range_charged_once(void **state)
{
	struct mmapfs_lockset s = MMAPFS_LOCKSET_INIT;

	(void)state;
	assert_int_equal(mmapfs_lockset_add(&s, 0, 256), 256);
	assert_int_equal(mmapfs_lockset_add(&s, 0, 256), 0);
	assert_int_equal(mmapfs_lockset_add(&s, 0, 256), 0);
	assert_int_equal(s.pages, 256);
	assert_int_equal(mmapfs_lockset_add(&s, 128, 384), 128);
	assert_int_equal(s.pages, 384);
	assert_int_equal(s.n, 1);
	assert_int_equal(mmapfs_lockset_remove(&s, 0, 384), 384);
	assert_int_equal(mmapfs_lockset_remove(&s, 0, 384), 0);
	assert_int_equal(s.pages, 0);
	mmapfs_lockset_clear(&s);
}

static void test_merge_and_cut(void **state)
{
	struct mmapfs_lockset s = MMAPFS_LOCKSET_INIT;

	(void)state;
	assert_int_equal(mmapfs_lockset_add(&s, 10, 20), 10);
	assert_int_equal(mmapfs_lockset_add(&s, 30, 40), 10);
	assert_int_equal(mmapfs_lockset_add(&s, 0, 5), 5);
	assert_int_equal(s.n, 3);
	/* Adjacent on both sides: one run. */
	assert_int_equal(mmapfs_lockset_add(&s, 20, 30), 10);
	assert_int_equal(s.n, 2);
	check_runs(&s);
	/* A hole in the middle. */
	assert_int_equal(mmapfs_lockset_remove(&s, 15, 25), 10);
	assert_int_equal(s.n, 3);
	assert_int_equal(mmapfs_lockset_count(&s, 0, 100), 25);
	/* Truncation: everything from 12 on. */
	assert_int_equal(mmapfs_lockset_remove(&s, 12, UINT64_MAX), 18);
	assert_int_equal(s.pages, 7);
	check_runs(&s);
	mmapfs_lockset_clear(&s);
	assert_int_equal(s.pages, 0);
	assert_int_equal(mmapfs_lockset_add(&s, 3, 3), 0);
	mmapfs_lockset_clear(&s);
}

/* Random adds and removes against a bitmap of 512 pages. */
static void test_against_model(void **state)
{
	struct mmapfs_lockset s = MMAPFS_LOCKSET_INIT;
	bool model[512];
	unsigned seed = 12345;

	(void)state;
	memset(model, 0, sizeof(model));
	for (int round = 0; round < 20000; round++) {
		uint64_t a, b, want = 0;
		int64_t got;

		seed = seed * 1103515245u + 12345u;
		a = (seed >> 8) % 512;
		seed = seed * 1103515245u + 12345u;
		b = a + (seed >> 8) % 64;
		if (b > 512)
			b = 512;
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) & 1) {
			for (uint64_t p = a; p < b; p++) {
				want += !model[p];
				model[p] = true;
			}
			got = mmapfs_lockset_add(&s, a, b);
		} else {
			for (uint64_t p = a; p < b; p++) {
				want += model[p];
				model[p] = false;
			}
			got = mmapfs_lockset_remove(&s, a, b);
		}
		assert_int_equal(got, (int64_t)want);
		check_runs(&s);
	}
	for (uint64_t p = 0; p < 512; p++)
		assert_int_equal(mmapfs_lockset_count(&s, p, p + 1), model[p]);
	mmapfs_lockset_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_range_charged_once),
		cmocka_unit_test(test_merge_and_cut),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
