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
#include <stdatomic.h>
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

/* Every read-modify-write of both widths: the old value comes back, the
 * new one is stored, and each is one accounted write. */
static void test_every_rmw_both_widths(void **state)
{
	struct mmapio_file *f;
	struct mmapio_stats st;
	uint32_t o32, e32;
	uint64_t o64, e64, v64, writes0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("rmw"), 64, &f), 0);
	/* (an earlier file's counts may live on under a reused inode) */
	mmapio_stats(f, &st);
	writes0 = st.writes;
	assert_int_equal(mmapio_atomic_store_u32(f, 0, 10), 0);
	assert_int_equal(mmapio_atomic_fetch_add_u32(f, 0, 5, &o32), 0);
	assert_int_equal(o32, 10);
	assert_int_equal(mmapio_atomic_fetch_sub_u32(f, 0, 20, &o32), 0);
	assert_int_equal(o32, 15);
	assert_int_equal(mmapio_atomic_load_u32(f, 0, &o32), 0);
	assert_int_equal(o32, UINT32_MAX - 4);   /* wraps */
	assert_int_equal(mmapio_atomic_exchange_u32(f, 0, 0xf0f0, &o32), 0);
	assert_int_equal(o32, UINT32_MAX - 4);
	assert_int_equal(mmapio_atomic_fetch_and_u32(f, 0, 0xff00, &o32), 0);
	assert_int_equal(o32, 0xf0f0);
	assert_int_equal(mmapio_atomic_fetch_or_u32(f, 0, 0x000f, NULL), 0);
	assert_int_equal(mmapio_atomic_fetch_xor_u32(f, 0, 0xffff, &o32), 0);
	assert_int_equal(o32, 0xf00f);
	assert_int_equal(mmapio_atomic_load_u32(f, 0, &o32), 0);
	assert_int_equal(o32, 0x0ff0);
	e32 = 1;
	assert_int_equal(mmapio_atomic_cas_u32(f, 0, &e32, 7), 0);
	assert_int_equal(e32, 0x0ff0);
	assert_int_equal(mmapio_atomic_cas_u32(f, 0, &e32, 7), 1);
	assert_int_equal(mmapio_atomic_load_u32(f, 0, &o32), 0);
	assert_int_equal(o32, 7);
	/* The neighbour of a 32-bit slot is untouched. */
	assert_int_equal(mmapio_atomic_load_u32(f, 4, &o32), 0);
	assert_int_equal(o32, 0);

	assert_int_equal(mmapio_atomic_store_u64(f, 8, 1ull << 40), 0);
	assert_int_equal(mmapio_atomic_fetch_sub_u64(f, 8, 1, &o64), 0);
	assert_int_equal(o64, 1ull << 40);
	assert_int_equal(mmapio_atomic_exchange_u64(f, 8, 0xff, &o64), 0);
	assert_int_equal(o64, (1ull << 40) - 1);
	assert_int_equal(mmapio_atomic_fetch_and_u64(f, 8, 0x0f, &o64), 0);
	assert_int_equal(mmapio_atomic_fetch_or_u64(f, 8, 1ull << 63, &o64), 0);
	assert_int_equal(o64, 0x0f);
	assert_int_equal(mmapio_atomic_fetch_xor_u64(f, 8, 1, NULL), 0);
	assert_int_equal(mmapio_atomic_load_u64(f, 8, &v64), 0);
	assert_int_equal(v64, (1ull << 63) | 0x0e);
	e64 = v64;
	assert_int_equal(mmapio_atomic_cas_u64(f, 8, &e64, 3), 1);
	mmapio_stats(f, &st);
	/* 2 stores, 6 + 5 rmw, 2 successful CAS; the failed CAS and the loads
	 * are not writes. */
	assert_int_equal(st.writes - writes0, 2 + 11 + 2);
	/* Misaligned, out of range, not writable. */
	assert_int_equal(mmapio_atomic_fetch_sub_u32(f, 2, 1, NULL), -EINVAL);
	assert_int_equal(mmapio_atomic_fetch_or_u64(f, 4, 1, NULL), -EINVAL);
	assert_int_equal(mmapio_atomic_exchange_u64(f, 64, 1, NULL), -ERANGE);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_open_ro(tmpdir_path("rmw"), &f), 0);
	assert_int_equal(mmapio_atomic_fetch_xor_u32(f, 0, 1, NULL), -EBADF);
	e32 = 7;
	assert_int_equal(mmapio_atomic_cas_u32(f, 0, &e32, 8), -EBADF);
	assert_int_equal(mmapio_close(f), 0);
}

struct shrinker {
	struct mmapio_file *f;
	uint64_t size;
	atomic_int done;
	int rc;
};

static void *shrink_thread(void *arg)
{
	struct shrinker *s = arg;

	s->rc = mmapio_resize(s->f, s->size);
	atomic_store(&s->done, 1);
	return NULL;
}

/* mmap-io's atomic_u64 returning a reference: a pointer into the mapping
 * that stays valid while the view is held, because a shrink waits. */
static void test_atomic_view_blocks_shrink(void **state)
{
	size_t ps = mmapio_page_size();
	struct shrinker s = { .size = 0 };
	struct mmapio_view v, v32;
	struct mmapio_stats st;
	struct mmapio_file *f;
	pthread_t t;
	uint64_t w, writes0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("av"), 4 * ps, &f), 0);
	mmapio_stats(f, &st);
	writes0 = st.writes;
	assert_int_equal(mmapio_atomic_view_u64(f, 3 * ps + 4, &v), -EINVAL);
	assert_int_equal(mmapio_atomic_view_u64(f, 4 * ps, &v), -ERANGE);
	assert_int_equal(mmapio_atomic_view_u32(f, 3 * ps + 4, &v32), 0);
	assert_int_equal(mmapio_view_release(&v32), 0);
	assert_int_equal(mmapio_atomic_view_u64(f, 3 * ps + 8, &v), 0);
	assert_true(v.writable);
	assert_int_equal(v.len, 8);
	atomic_fetch_add(MMAPIO_ATOMIC_U64(&v), 41);
	atomic_fetch_add(MMAPIO_ATOMIC_U64(&v), 1);
	/* The holder's own shrink would wait for itself. */
	assert_int_equal(mmapio_resize(f, ps), -EDEADLK);
	/* Another thread's shrink waits for the release. */
	s.f = f;
	s.size = ps;
	assert_int_equal(pthread_create(&t, NULL, shrink_thread, &s), 0);
	usleep(100 * 1000);
	assert_int_equal(atomic_load(&s.done), 0);
	assert_int_equal(atomic_load(MMAPIO_ATOMIC_U64(&v)), 42);
	assert_int_equal(mmapio_atomic_load_u64(f, 3 * ps + 8, &w), 0);
	assert_int_equal(w, 42);
	mmapio_stats(f, &st);
	assert_int_equal(st.writes - writes0, 1);   /* the u32 view's release */
	assert_int_equal(mmapio_view_release(&v), 0);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, 0);
	assert_int_equal(mmapio_len(f), ps);
	mmapio_stats(f, &st);
	assert_int_equal(st.writes - writes0, 2);   /* once, at release */
	assert_int_equal(mmapio_close(f), 0);
	/* Read-only file: a read-only view, loads only. */
	assert_int_equal(mmapio_open_ro(tmpdir_path("av"), &f), 0);
	assert_int_equal(mmapio_atomic_view_u32(f, 0, &v32), 0);
	assert_false(v32.writable);
	assert_int_equal(atomic_load(MMAPIO_ATOMIC_U32(&v32)), 0);
	assert_int_equal(mmapio_view_release(&v32), 0);
	assert_int_equal(mmapio_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_add_and_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_rmw_both_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_view_blocks_shrink, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
