/*
 * test_advice.c — unit tests of src/core/advice.c: advise (every advice,
 * an unknown one, bounds), prefetch, touch (including -EIO past an outside
 * truncate), lock/unlock and locked_bytes, huge-page hint and detection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("advice");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static void test_advise(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f, *empty;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("a"), 8 * page + 3, &f), 0);
	assert_int_equal(mmapio_write(f, page + 1, "data", 4), 0);
	assert_int_equal(mmapio_advise(f, 0, 8 * page + 3, MMAPIO_ADV_NORMAL), 0);
	assert_int_equal(mmapio_advise(f, 7, 100, MMAPIO_ADV_RANDOM), 0);
	assert_int_equal(mmapio_advise(f, page + 1, 2, MMAPIO_ADV_SEQUENTIAL), 0);
	assert_int_equal(mmapio_advise(f, 3, 8 * page, MMAPIO_ADV_WILLNEED), 0);
	/* DONTNEED on a shared mapping drops pages, not data. */
	assert_int_equal(mmapio_advise(f, 0, 8 * page + 3, MMAPIO_ADV_DONTNEED), 0);
	assert_int_equal(mmapio_read(f, page + 1, buf, 4), 0);
	assert_memory_equal(buf, "data", 4);
	assert_int_equal(mmapio_advise(f, 8 * page + 3, 0, MMAPIO_ADV_NORMAL), 0);
	assert_int_equal(mmapio_advise(f, 0, 8 * page + 4, MMAPIO_ADV_NORMAL),
			 -ERANGE);
	assert_int_equal(mmapio_advise(f, UINT64_MAX, 2, MMAPIO_ADV_NORMAL),
			 -ERANGE);
	assert_int_equal(mmapio_advise(f, 0, 1, (enum mmapio_advice)77), -EINVAL);
	assert_int_equal(mmapio_create_rw(tmpdir_path("e"), 0, &empty), 0);
	assert_int_equal(mmapio_advise(empty, 0, 0, MMAPIO_ADV_WILLNEED), 0);
	assert_int_equal(mmapio_touch(empty, 0, 0), 0);
	assert_int_equal(mmapio_close(empty), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_prefetch(void **state)
{
	struct mmapio_file *f, *anon;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("p"), 1 << 20, &f), 0);
	assert_int_equal(mmapio_prefetch(f, 0, 1 << 20), 0);
	assert_int_equal(mmapio_prefetch(f, 4096, 10), 0);
	assert_int_equal(mmapio_prefetch(f, 1 << 20, 0), 0);
	assert_int_equal(mmapio_prefetch(f, 1, 1 << 20), -ERANGE);
	assert_int_equal(mmapio_prefetch(f, UINT64_MAX, 2), -ERANGE);
	assert_int_equal(mmapio_anon(4096, &anon), 0);
	assert_int_equal(mmapio_prefetch(anon, 0, 4096), 0);
	assert_int_equal(mmapio_close(anon), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_touch(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f, *anon;
	unsigned char vec[16];
	int fd, i, resident = 0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("t"), 16 * page, &f), 0);
	assert_int_equal(mmapio_advise(f, 0, 16 * page, MMAPIO_ADV_DONTNEED), 0);
	assert_int_equal(mmapio_touch(f, 0, 16 * page), 0);
	assert_int_equal(mincore((void *)mmapio_ptr(f), 16 * page, vec), 0);
	for (i = 0; i < 16; i++)
		resident += vec[i] & 1;
	assert_int_equal(resident, 16);
	assert_int_equal(mmapio_touch(f, 5, 1), 0);
	assert_int_equal(mmapio_touch(f, 0, 16 * page + 1), -ERANGE);
	assert_int_equal(mmapio_touch(f, UINT64_MAX, 2), -ERANGE);
	/* Pages past an outside truncate cannot be faulted in: -EIO. */
	mmapio__sigbus_rearm();
	fd = open(tmpdir_path("t"), O_RDWR);
	assert_int_equal(ftruncate(fd, page), 0);
	close(fd);
	assert_int_equal(mmapio_advise(f, 0, 16 * page, MMAPIO_ADV_DONTNEED), 0);
	assert_int_equal(mmapio_touch(f, 0, page), 0);
	assert_int_equal(mmapio_touch(f, 4 * page, page), -EIO);
	assert_int_equal(mmapio_refresh(f), (int64_t)page);
	assert_int_equal(mmapio_close(f), 0);

	assert_int_equal(mmapio_anon(4 * page, &anon), 0);
	assert_int_equal(mmapio_touch(anon, 0, 4 * page), 0);
	assert_int_equal(mmapio_close(anon), 0);
}

/* The populate hint faults the whole file in at open. */
static void test_populate_hint(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_options o;
	struct mmapio_file *f;
	unsigned char vec[32];
	int i, resident = 0;

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = 32 * page;
	o.populate = true;
	assert_int_equal(mmapio_open(tmpdir_path("pop"), &o, &f), 0);
	assert_int_equal(mincore((void *)mmapio_ptr(f), 32 * page, vec), 0);
	for (i = 0; i < 32; i++)
		resident += vec[i] & 1;
	assert_int_equal(resident, 32);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_lock_unlock(void **state)
{
	size_t page = mmapio_page_size();
	struct rlimit rl;
	struct mmapio_file *f;

	(void)state;
	getrlimit(RLIMIT_MEMLOCK, &rl);
	assert_int_equal(mmapio_create_rw(tmpdir_path("l"), 8 * page, &f), 0);
	assert_int_equal(mmapio_locked_bytes(f), 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4 * page && geteuid())
		skip();
	/* Widened to whole pages. */
	assert_int_equal(mmapio_lock(f, 10, page), 0);
	assert_int_equal(mmapio_locked_bytes(f), 2 * page);
	assert_int_equal(mmapio_lock(f, 0, 8 * page + 1), -ERANGE);
	assert_int_equal(mmapio_lock(f, UINT64_MAX, 2), -ERANGE);
	assert_int_equal(mmapio_unlock(f, 0, 8 * page + 1), -ERANGE);
	assert_int_equal(mmapio_unlock(f, UINT64_MAX, 2), -ERANGE);
	assert_int_equal(mmapio_lock(f, page, UINT64_MAX), -ERANGE);
	assert_int_equal(mmapio_unlock(f, 10, page), 0);
	assert_int_equal(mmapio_locked_bytes(f), 0);
	/* Never below zero. */
	assert_int_equal(mmapio_unlock(f, 0, 8 * page), 0);
	assert_int_equal(mmapio_locked_bytes(f), 0);
	/* A shrink clamps the count to what is still mapped. */
	assert_int_equal(mmapio_lock(f, 0, 8 * page), 0);
	assert_int_equal(mmapio_resize(f, 2 * page), 0);
	assert_int_equal(mmapio_locked_bytes(f), 2 * page);
	assert_int_equal(mmapio_lock(f, 0, 0), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_hugepages(void **state)
{
	struct mmapio_options o;
	struct mmapio_file *f, *anon, *empty;
	size_t size = 8u << 20;
	int rc;

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = size;
	o.hugepages = true;
	o.populate = true;
	assert_int_equal(mmapio_open(tmpdir_path("h"), &o, &f), 0);
	/* Regular files on ext4 are not PMD-mapped: a definite answer. */
	rc = mmapio_hugepage_backed(f);
	assert_true(rc == 0 || rc == 1);
	assert_int_equal(mmapio_resize(f, 2 * size), 0);
	assert_int_equal(mmapio_close(f), 0);

	/* Anonymous shared memory may be (shmem THP); either way no error. */
	assert_int_equal(mmapio_anon(size, &anon), 0);
	assert_int_equal(mmapio_touch(anon, 0, size), 0);
	rc = mmapio_hugepage_backed(anon);
	assert_true(rc == 0 || rc == 1);
	assert_int_equal(mmapio_close(anon), 0);

	assert_int_equal(mmapio_anon(0, &empty), 0);
	assert_int_equal(mmapio_hugepage_backed(empty), 0);
	assert_int_equal(mmapio_close(empty), 0);
}

/* The smaps parser, on text shaped like /proc/self/smaps. */
static void test_smaps_parser(void **state)
{
	static const char text[] =
		"7f0000000000-7f0000200000 rw-s 00000000 00:01 42 /dev/zero (deleted)\n"
		"Size:               2048 kB\n"
		"AnonHugePages:         0 kB\n"
		"ShmemPmdMapped:     2048 kB\n"
		"FilePmdMapped:         0 kB\n"
		"VmFlags: rd wr sh mr mw me ms sd\n"
		"7f0000400000-7f0000600000 r--s 00000000 fd:01 43 /data/file\n"
		"Size:               2048 kB\n"
		"AnonHugePages:         0 kB\n"
		"ShmemPmdMapped:        0 kB\n"
		"FilePmdMapped:         0 kB\n"
		"7f0000800000-7f0000a00000 rw-p 00000000 00:00 0\n"
		"AnonHugePages:      2048 kB\n"
		"7f0000c00000-7f0000e00000 r--p 00000000 fd:01 44 /lib/x.so\n"
		"FilePmdMapped:      2048 kB\n";
	static const struct {
		uintptr_t lo, hi;
		int want;
	} cases[] = {
		{ 0x7f0000000000, 0x7f0000200000, 1 },  /* shmem PMD */
		{ 0x7f00001ff000, 0x7f0000400000, 1 },  /* overlaps its end */
		{ 0x7f0000400000, 0x7f0000600000, 0 },  /* none */
		{ 0x7f0000200000, 0x7f0000400000, 0 },  /* the gap */
		{ 0x7f0000900000, 0x7f0000901000, 1 },  /* anon THP */
		{ 0x7f0000c00000, 0x7f0000c01000, 1 },  /* file PMD */
		{ 0x7f0000e00000, 0x7f0001000000, 0 },  /* past every VMA */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *fp = fmemopen((void *)text, sizeof(text) - 1, "r");

		assert_non_null(fp);
		assert_int_equal(mmapio__smaps_huge(fp, cases[i].lo, cases[i].hi),
				 cases[i].want);
		fclose(fp);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_advise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_populate_hint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_unlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hugepages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smaps_parser, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
