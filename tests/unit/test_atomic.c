/*
 * test_atomic.c — unit tests of src/core/atomic.c: load/store/fetch_add/
 * compare-exchange at aligned offsets; misalignment (-EINVAL), bounds and
 * overflow (-ERANGE), modes (-EBADF), accounting of stores (and not of a
 * failed compare-exchange), and atomicity under threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("atomic");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static uint64_t bytes_written(struct mmapio_file *f)
{
	struct mmapio_stats st;

	mmapio_stats(f, &st);
	return st.bytes_written;
}

static void test_load_store(void **state)
{
	struct mmapio_file *f;
	uint32_t v32;
	uint64_t v64, b;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("a"), 64, &f), 0);
	b = bytes_written(f);
	assert_int_equal(mmapio_atomic_store_u32(f, 4, 0xdeadbeef), 0);
	assert_int_equal(mmapio_atomic_load_u32(f, 4, &v32), 0);
	assert_int_equal(v32, 0xdeadbeef);
	assert_int_equal(mmapio_atomic_store_u64(f, 56, 0x0123456789abcdefull), 0);
	assert_int_equal(mmapio_atomic_load_u64(f, 56, &v64), 0);
	assert_int_equal(v64, 0x0123456789abcdefull);
	assert_int_equal(bytes_written(f) - b, 12);
	/* Loads account nothing. */
	assert_int_equal(mmapio_atomic_load_u64(f, 0, &v64), 0);
	assert_int_equal(bytes_written(f) - b, 12);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_errors(void **state)
{
	struct mmapio_file *f, *ro;
	uint32_t v32;
	uint64_t v64 = 0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("e"), 64, &f), 0);
	assert_int_equal(mmapio_atomic_load_u32(f, 2, &v32), -EINVAL);
	assert_int_equal(mmapio_atomic_store_u32(f, 1, 0), -EINVAL);
	assert_int_equal(mmapio_atomic_load_u64(f, 4, &v64), -EINVAL);
	assert_int_equal(mmapio_atomic_store_u64(f, 12, 0), -EINVAL);
	assert_int_equal(mmapio_atomic_fetch_add_u64(f, 3, 1, &v64), -EINVAL);
	assert_int_equal(mmapio_atomic_cas_u64(f, 9, &v64, 1), -EINVAL);
	assert_int_equal(mmapio_atomic_load_u32(f, 64, &v32), -ERANGE);
	assert_int_equal(mmapio_atomic_load_u64(f, 64, &v64), -ERANGE);
	assert_int_equal(mmapio_atomic_store_u64(f, 64, 0), -ERANGE);
	assert_int_equal(mmapio_atomic_fetch_add_u64(f, 64, 1, NULL), -ERANGE);
	assert_int_equal(mmapio_atomic_cas_u64(f, 64, &v64, 1), -ERANGE);
	/* Aligned and overflowing. */
	assert_int_equal(mmapio_atomic_load_u64(f, UINT64_MAX - 7, &v64), -ERANGE);
	assert_int_equal(mmapio_atomic_store_u32(f, UINT64_MAX - 3, 0), -ERANGE);
	assert_int_equal(mmapio_atomic_load_u32(f, 60, &v32), 0);

	assert_int_equal(mmapio_open_ro(tmpdir_path("e"), &ro), 0);
	assert_int_equal(mmapio_atomic_load_u64(ro, 0, &v64), 0);
	assert_int_equal(mmapio_atomic_store_u64(ro, 0, 1), -EBADF);
	assert_int_equal(mmapio_atomic_store_u32(ro, 0, 1), -EBADF);
	assert_int_equal(mmapio_atomic_fetch_add_u64(ro, 0, 1, NULL), -EBADF);
	assert_int_equal(mmapio_atomic_cas_u64(ro, 0, &v64, 1), -EBADF);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_fetch_add_and_cas(void **state)
{
	struct mmapio_file *f;
	uint64_t old, expected, b;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("c"), 16, &f), 0);
	assert_int_equal(mmapio_atomic_fetch_add_u64(f, 8, 5, &old), 0);
	assert_int_equal(old, 0);
	assert_int_equal(mmapio_atomic_fetch_add_u64(f, 8, 2, &old), 0);
	assert_int_equal(old, 5);
	b = bytes_written(f);
	expected = 1;
	assert_int_equal(mmapio_atomic_cas_u64(f, 8, &expected, 100), 0);
	assert_int_equal(expected, 7);
	assert_int_equal(bytes_written(f), b);
	assert_int_equal(mmapio_atomic_cas_u64(f, 8, &expected, 100), 1);
	assert_int_equal(expected, 7);
	assert_int_equal(bytes_written(f) - b, 8);
	assert_int_equal(mmapio_atomic_load_u64(f, 8, &old), 0);
	assert_int_equal(old, 100);
	assert_int_equal(mmapio_close(f), 0);
}

enum { ADDERS = 4, ADDS = 5000 };

static void *adder(void *arg)
{
	struct mmapio_file *f = arg;
	uint64_t cur;
	int i;

	for (i = 0; i < ADDS; i++) {
		mmapio_atomic_fetch_add_u64(f, 0, 1, NULL);
		/* A CAS loop increments the second counter. */
		mmapio_atomic_load_u64(f, 8, &cur);
		while (mmapio_atomic_cas_u64(f, 8, &cur, cur + 1) == 0)
			;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct mmapio_file *f;
	pthread_t t[ADDERS];
	uint64_t v;
	int i;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("t"), 16, &f), 0);
	for (i = 0; i < ADDERS; i++)
		pthread_create(&t[i], NULL, adder, f);
	for (i = 0; i < ADDERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(mmapio_atomic_load_u64(f, 0, &v), 0);
	assert_int_equal(v, ADDERS * ADDS);
	assert_int_equal(mmapio_atomic_load_u64(f, 8, &v), 0);
	assert_int_equal(v, ADDERS * ADDS);
	assert_int_equal(mmapio_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_add_and_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
