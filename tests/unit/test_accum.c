/*
 * test_accum.c — unit tests of src/core/accum.c, the dirty-page bitmap, as
 * a pure data structure: page-granular counting, overlapping and repeated
 * writes, exact ranged clears, truncation, the memory bound, and no
 * allocation in a steady write/clear cycle. Compared against a plain
 * byte-per-page model in the randomized test. No files, no threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "state.h"

#define PS 4096ull
#define MIB (1024ull * 1024)
#define LEAF_SPAN (PS * ACCUM_LEAF_PAGES)   /* bytes one leaf covers */

static void test_mark_counts_pages(void **state)
{
	struct mmapio_accum a;

	(void)state;
	mmapio__accum_init(&a, PS);
	assert_int_equal(mmapio__accum_mark(&a, 0, 1, 1 << 20), 1);
	assert_int_equal(mmapio__accum_mark(&a, 0, PS, 1 << 20), 0);      /* same page */
	assert_int_equal(mmapio__accum_mark(&a, 100, 10, 1 << 20), 0);
	assert_int_equal(mmapio__accum_mark(&a, PS - 1, 2, 1 << 20), 1);  /* straddles */
	assert_int_equal(a.dirty_pages, 2);
	assert_int_equal(mmapio__accum_mark(&a, 3 * PS, 3 * PS, 1 << 20), 3);
	assert_int_equal(mmapio__accum_mark(&a, 2 * PS, 4 * PS, 1 << 20), 1);
	assert_int_equal(a.dirty_pages, 6);
	assert_int_equal(mmapio__accum_mark(&a, 5 * PS, 0, 1 << 20), 0);  /* empty */
	assert_true(mmapio__accum_test(&a, 0) && mmapio__accum_test(&a, 5));
	assert_false(mmapio__accum_test(&a, 6));
	assert_false(mmapio__accum_test(&a, 1u << 30));
	mmapio__accum_destroy(&a);
}

static void test_clear_range_exact(void **state)
{
	struct mmapio_accum a;

	(void)state;
	mmapio__accum_init(&a, PS);
	assert_int_equal(mmapio__accum_mark(&a, 0, 16 * PS, 16 * PS), 16);
	/* [PS+1, 3PS-1) touches pages 1 and 2 */
	assert_int_equal(mmapio__accum_clear_range(&a, PS + 1, 2 * PS - 2), 2);
	assert_int_equal(a.dirty_pages, 14);
	assert_false(mmapio__accum_test(&a, 1));
	assert_false(mmapio__accum_test(&a, 2));
	assert_true(mmapio__accum_test(&a, 3));
	/* clearing clean pages debits nothing */
	assert_int_equal(mmapio__accum_clear_range(&a, PS, 2 * PS), 0);
	/* beyond anything allocated */
	assert_int_equal(mmapio__accum_clear_range(&a, 1ull << 40, PS), 0);
	assert_int_equal(mmapio__accum_clear_range(&a, 0, UINT64_MAX), 14);
	assert_int_equal(a.dirty_pages, 0);
	mmapio__accum_destroy(&a);
}

static void test_across_leaves(void **state)
{
	struct mmapio_accum a;
	uint64_t flen = 3 * LEAF_SPAN;

	(void)state;
	mmapio__accum_init(&a, PS);
	/* 2 pages before the first boundary, a full leaf, 2 pages after */
	assert_int_equal(mmapio__accum_mark(&a, LEAF_SPAN - 2 * PS,
				    LEAF_SPAN + 4 * PS, flen),
			 ACCUM_LEAF_PAGES + 4);
	assert_int_equal(mmapio__accum_clear_range(&a, LEAF_SPAN - PS, 2 * PS), 2);
	assert_int_equal(a.dirty_pages, ACCUM_LEAF_PAGES + 2);
	assert_int_equal(mmapio__accum_clear_all(&a), ACCUM_LEAF_PAGES + 2);
	assert_int_equal(a.dirty_pages, 0);
	assert_false(mmapio__accum_test(&a, ACCUM_LEAF_PAGES));
	mmapio__accum_destroy(&a);
}

static void test_truncate(void **state)
{
	struct mmapio_accum a;
	uint64_t flen = 2 * LEAF_SPAN + 10 * PS;
	size_t mem_before;

	(void)state;
	mmapio__accum_init(&a, PS);
	assert_int_equal(mmapio__accum_mark(&a, 0, flen, flen),
			 2 * ACCUM_LEAF_PAGES + 10);
	mem_before = a.mem_bytes;
	/* keep 5 pages and a byte: page 5 (holding the last byte) stays */
	assert_int_equal(mmapio__accum_truncate(&a, 5 * PS + 1),
			 2 * ACCUM_LEAF_PAGES + 10 - 6);
	assert_int_equal(a.dirty_pages, 6);
	assert_true(mmapio__accum_test(&a, 5));
	assert_false(mmapio__accum_test(&a, 6));
	assert_true(a.mem_bytes < mem_before / 100);
	/* growing again marks fresh pages */
	assert_int_equal(mmapio__accum_mark(&a, 6 * PS, PS, LEAF_SPAN), 1);
	assert_int_equal(mmapio__accum_truncate(&a, 0), 7);
	assert_int_equal(a.dirty_pages, 0);
	assert_int_equal(a.mem_bytes, 0);
	/* truncating past everything changes nothing */
	assert_int_equal(mmapio__accum_mark(&a, 0, PS, PS), 1);
	assert_int_equal(mmapio__accum_truncate(&a, 1ull << 40), 0);
	assert_int_equal(a.dirty_pages, 1);
	mmapio__accum_destroy(&a);
}

/* One bit per page of the touched spans: <= file size / 32768 plus a
 * word per leaf and the directory. Random writes over a 64 GiB file
 * that touch 100 leaves do not allocate the other 412. */
static void test_memory_bound(void **state)
{
	struct mmapio_accum a;
	uint64_t flen = 64 * 1024 * MIB, seed = 1;
	size_t full_leaf = sizeof(struct accum_leaf) + ACCUM_LEAF_WORDS * 8;
	size_t dir = (size_t)(flen / LEAF_SPAN) * sizeof(void *);

	(void)state;
	mmapio__accum_init(&a, PS);
	for (int i = 0; i < 100; i++) {
		uint64_t leaf = (seed = seed * 6364136223846793005ull + 1) >> 55;

		mmapio__accum_mark(&a, leaf * LEAF_SPAN + (seed >> 40) % LEAF_SPAN, 1, flen);
	}
	assert_true(a.mem_bytes <= 100 * full_leaf + dir);
	/* now fill everything (never policy, random writes): bounded */
	for (uint64_t off = 0; off < flen; off += 8 * MIB)
		mmapio__accum_mark(&a, off, 8 * MIB, flen);
	assert_int_equal(a.dirty_pages, flen / PS);
	assert_true(a.mem_bytes <= flen / 32768 + (flen / LEAF_SPAN) * 16 + dir);
	mmapio__accum_destroy(&a);
}

/* A small file's leaf is sized to the file, not to 128 MiB. */
static void test_small_file_leaf(void **state)
{
	struct mmapio_accum a;

	(void)state;
	mmapio__accum_init(&a, PS);
	assert_int_equal(mmapio__accum_mark(&a, 0, 1, 10 * PS), 1);
	assert_int_equal(a.mem_bytes,
			 sizeof(void *) + sizeof(struct accum_leaf) + 8);
	/* the file grows: the leaf grows with it */
	assert_int_equal(mmapio__accum_mark(&a, 200 * PS, 1, 201 * PS), 1);
	assert_int_equal(a.mem_bytes,
			 sizeof(void *) + sizeof(struct accum_leaf) + 4 * 8);
	mmapio__accum_destroy(&a);
}

static void test_steady_state_no_allocation(void **state)
{
	struct mmapio_accum a;
	uint64_t flen = 256 * MIB;
	size_t mem;

	(void)state;
	mmapio__accum_init(&a, PS);
	for (uint64_t off = 0; off < flen; off += 3 * MIB)
		mmapio__accum_mark(&a, off, 1, flen);
	mmapio__accum_clear_all(&a);
	mem = a.mem_bytes;
	for (int round = 0; round < 100; round++) {
		for (uint64_t off = 0; off < flen; off += 3 * MIB + PS)
			mmapio__accum_mark(&a, off, PS, flen);
		mmapio__accum_clear_range(&a, 0, flen / 2);
		mmapio__accum_clear_all(&a);
	}
	assert_int_equal(a.mem_bytes, mem);
	mmapio__accum_destroy(&a);
}

/* Randomized: against a byte-per-page model over 3 leaves. */
static void test_random_against_model(void **state)
{
	enum { PAGES = 3 * ACCUM_LEAF_PAGES };
	struct mmapio_accum a;
	unsigned char *model = calloc(PAGES, 1);
	uint64_t seed = 7, flen = (uint64_t)PAGES * PS, dirty = 0;

	(void)state;
	assert_non_null(model);
	mmapio__accum_init(&a, PS);
	for (int i = 0; i < 20000; i++) {
		uint64_t off, len, first, last, expect = 0;
		unsigned op;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		op = (unsigned)(seed >> 60) % 8;
		off = (seed >> 8) % flen;
		len = (seed >> 33) % (op == 6 ? flen : 64 * PS) + 1;
		if (off + len > flen)
			len = flen - off;
		first = off / PS;
		last = (off + len - 1) / PS;
		if (op < 5) {
			for (uint64_t p = first; p <= last; p++)
				if (!model[p]) {
					model[p] = 1;
					expect++;
				}
			dirty += expect;
			assert_int_equal(mmapio__accum_mark(&a, off, len, flen), expect);
		} else if (op < 7) {
			for (uint64_t p = first; p <= last; p++)
				if (model[p]) {
					model[p] = 0;
					expect++;
				}
			dirty -= expect;
			assert_int_equal(mmapio__accum_clear_range(&a, off, len), expect);
		} else {
			assert_int_equal(mmapio__accum_clear_all(&a), dirty);
			memset(model, 0, PAGES);
			dirty = 0;
		}
		assert_int_equal(a.dirty_pages, dirty);
	}
	for (uint64_t p = 0; p < PAGES; p++)
		assert_int_equal(mmapio__accum_test(&a, p), model[p]);
	mmapio__accum_destroy(&a);
	free(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_counts_pages),
		cmocka_unit_test(test_clear_range_exact),
		cmocka_unit_test(test_across_leaves),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_small_file_leaf),
		cmocka_unit_test(test_steady_state_no_allocation),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
