/*
 * test_access.c — unit tests of src/core/access.c and the allocation rule:
 * mmapio_read / mmapio_write / mmapio_write_grow bounds (overflow near
 * UINT64_MAX), modes, growth, ENOSPC injection through mmapio__sys,
 * sparse files staying sparse, the no-syscall fast path, concurrent
 * growers, and the write-without-read path (whole pages that are not in
 * the page cache go through pwrite; residency and pwrite injected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "state.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("access");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static struct stat stat_of(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st;
}

/* Counting / failing fallocate and ftruncate. */
static int fallocate_calls, ftruncate_calls;
static int fallocate_errno;

static int counting_fallocate(int fd, int mode, off_t off, off_t len)
{
	fallocate_calls++;
	if (fallocate_errno) {
		errno = fallocate_errno;
		return -1;
	}
	return fallocate(fd, mode, off, len);
}

static int counting_ftruncate(int fd, off_t len)
{
	ftruncate_calls++;
	return ftruncate(fd, len);
}

static void count_syscalls(int fail_errno)
{
	fallocate_calls = 0;
	ftruncate_calls = 0;
	fallocate_errno = fail_errno;
	mmapio__sys.fallocate = counting_fallocate;
	mmapio__sys.ftruncate = counting_ftruncate;
}

static void test_roundtrip(void **state)
{
	struct mmapio_file *f;
	char buf[16];
	int fd;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("a"), 100, &f), 0);
	assert_int_equal(mmapio_write(f, 10, "hello", 5), 0);
	assert_int_equal(mmapio_read(f, 10, buf, 5), 0);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(mmapio_write(f, 95, "world", 5), 0);
	fd = open(tmpdir_path("a"), O_RDONLY);
	assert_int_equal(pread(fd, buf, 5, 95), 5);
	close(fd);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_bounds(void **state)
{
	struct mmapio_file *f;
	char buf[16] = { 0 };

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("b"), 100, &f), 0);
	/* Exact end and zero length at the end are fine. */
	assert_int_equal(mmapio_read(f, 90, buf, 10), 0);
	assert_int_equal(mmapio_write(f, 90, buf, 10), 0);
	assert_int_equal(mmapio_read(f, 100, buf, 0), 0);
	assert_int_equal(mmapio_write(f, 100, buf, 0), 0);
	assert_int_equal(mmapio_write_grow(f, 100, buf, 0), 0);
	/* One past. */
	assert_int_equal(mmapio_read(f, 91, buf, 10), -ERANGE);
	assert_int_equal(mmapio_write(f, 91, buf, 10), -ERANGE);
	assert_int_equal(mmapio_read(f, 101, buf, 0), -ERANGE);
	assert_int_equal(mmapio_write(f, 101, buf, 0), -ERANGE);
	/* Overflowing off + len. */
	assert_int_equal(mmapio_read(f, UINT64_MAX, buf, 2), -ERANGE);
	assert_int_equal(mmapio_write(f, UINT64_MAX, buf, 2), -ERANGE);
	assert_int_equal(mmapio_write_grow(f, UINT64_MAX, buf, 2), -ERANGE);
	assert_int_equal(mmapio_read(f, UINT64_MAX - 1, buf, 16), -ERANGE);
	assert_int_equal(mmapio_write_grow(f, UINT64_MAX - 1, buf, 16), -ERANGE);
	assert_int_equal(mmapio_read(f, 50, buf, SIZE_MAX), -ERANGE);
	assert_int_equal(mmapio_write(f, 50, buf, SIZE_MAX), -ERANGE);
	/* Past what a file can be. */
	assert_int_equal(mmapio_write_grow(f, (uint64_t)INT64_MAX, buf, 2),
			 -EFBIG);
	assert_int_equal(mmapio_len(f), 100);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_write_modes(void **state)
{
	struct mmapio_file *ro, *cow;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("m"), 10, &ro), 0);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_open_ro(tmpdir_path("m"), &ro), 0);
	assert_int_equal(mmapio_write(ro, 0, "x", 1), -EBADF);
	assert_int_equal(mmapio_write_grow(ro, 0, "x", 1), -EBADF);
	assert_int_equal(mmapio_write_grow(ro, 100, "x", 1), -EBADF);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_open_cow(tmpdir_path("m"), false, &cow), 0);
	assert_int_equal(mmapio_write(cow, 0, "x", 1), -EBADF);
	assert_int_equal(mmapio_write_grow(cow, 0, "x", 1), -EBADF);
	mmapio_close(cow);
}

static void test_write_grow(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char buf[8];
	struct stat st;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("g"), 0, &f), 0);
	/* Byte-exact growth, in place and across pages. */
	assert_int_equal(mmapio_write_grow(f, 0, "abc", 3), 0);
	assert_int_equal(mmapio_len(f), 3);
	assert_int_equal(stat_of(tmpdir_path("g")).st_size, 3);
	assert_int_equal(mmapio_write_grow(f, 3, "defg", 4), 0);
	assert_int_equal(mmapio_write_grow(f, page - 2, "XYZW", 4), 0);
	assert_int_equal(mmapio_len(f), page + 2);
	assert_int_equal(mmapio_read(f, 0, buf, 7), 0);
	assert_memory_equal(buf, "abcdefg", 7);
	assert_int_equal(mmapio_read(f, page - 2, buf, 4), 0);
	assert_memory_equal(buf, "XYZW", 4);
	/* Inside the file: no growth. */
	assert_int_equal(mmapio_write_grow(f, 1, "B", 1), 0);
	assert_int_equal(mmapio_len(f), page + 2);
	/* Far past EOF: the gap stays a hole, the written range is allocated. */
	assert_int_equal(mmapio_write_grow(f, 64 * page, "far", 3), 0);
	assert_int_equal(mmapio_len(f), 64 * page + 3);
	st = stat_of(tmpdir_path("g"));
	assert_int_equal(st.st_size, 64 * page + 3);
	assert_true((uint64_t)st.st_blocks * 512 < 16 * page);
	{
		int fd = open(tmpdir_path("g"), O_RDONLY);
		off_t hole = lseek(fd, 0, SEEK_HOLE);

		assert_true(hole > 0 && hole < (off_t)(64 * page));
		assert_int_equal(pread(fd, buf, 3, 64 * page), 3);
		assert_memory_equal(buf, "far", 3);
		close(fd);
	}
	assert_int_equal(mmapio_read(f, 10 * page, buf, 4), 0);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_grow_enospc(void **state)
{
	struct mmapio_file *f;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("n"), 10, &f), 0);
	count_syscalls(ENOSPC);
	assert_int_equal(mmapio_write_grow(f, 8, "abcd", 4), -ENOSPC);
	assert_int_equal(fallocate_calls, 1);
	assert_int_equal(mmapio_len(f), 10);
	assert_int_equal(stat_of(tmpdir_path("n")).st_size, 10);
	assert_int_equal(mmapio_resize(f, 4096), -ENOSPC);
	assert_int_equal(mmapio_len(f), 10);
	mmapio__sys_reset();
	assert_int_equal(mmapio_write_grow(f, 8, "abcd", 4), 0);
	assert_int_equal(mmapio_read(f, 8, buf, 4), 0);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(mmapio_close(f), 0);
}

/* A sparse file made from outside: writes into holes fallocate exactly
 * their range; ENOSPC there is -ENOSPC and nothing is written. */
static void test_hole_allocation(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char buf[4];
	struct stat st;
	int fd;

	(void)state;
	fd = open(tmpdir_path("s"), O_RDWR | O_CREAT, 0644);
	assert_int_equal(ftruncate(fd, 256 * page), 0);
	close(fd);
	assert_int_equal(mmapio_open_rw(tmpdir_path("s"), &f), 0);
	assert_int_equal(atomic_load(&f->alloc_upto), 0);

	count_syscalls(ENOSPC);
	assert_int_equal(mmapio_write(f, 100 * page + 10, "full", 4), -ENOSPC);
	assert_int_equal(fallocate_calls, 1);
	assert_int_equal(mmapio_read(f, 100 * page + 10, buf, 4), 0);
	assert_memory_equal(buf, "\0\0\0\0", 4);

	count_syscalls(0);
	assert_int_equal(mmapio_write(f, 100 * page + 10, "data", 4), 0);
	assert_int_equal(fallocate_calls, 1);
	/* Rewriting allocated data allocates nothing more. */
	assert_int_equal(mmapio_write(f, 100 * page + 20, "more", 4), 0);
	assert_int_equal(fallocate_calls, 1);
	/* The rest stays sparse. */
	st = stat_of(tmpdir_path("s"));
	assert_true((uint64_t)st.st_blocks * 512 <= 8 * page);
	fd = open(tmpdir_path("s"), O_RDONLY);
	assert_int_equal(lseek(fd, 0, SEEK_HOLE), 0);
	assert_int_equal(lseek(fd, 0, SEEK_DATA), (off_t)(100 * page));
	close(fd);

	/* Filling from the start moves the no-hole mark forward. */
	assert_int_equal(mmapio_write(f, 0, "head", 4), 0);
	assert_true(atomic_load(&f->alloc_upto) >= page);
	assert_int_equal(mmapio_close(f), 0);
}

/* A dense file: writes cost no fallocate, and the mark covers it all. */
static void test_dense_fast_path(void **state)
{
	struct mmapio_file *f;
	int i;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("d"), 1 << 20, &f), 0);
	assert_int_equal(atomic_load(&f->alloc_upto), 1 << 20);
	count_syscalls(0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(mmapio_write(f, (uint64_t)i * 1000, "x", 1), 0);
	assert_int_equal(fallocate_calls, 0);
	/* Appends keep the mark at EOF. */
	assert_int_equal(mmapio_write_grow(f, 1 << 20, "tail", 4), 0);
	assert_int_equal(fallocate_calls, 1);
	assert_int_equal(atomic_load(&f->alloc_upto), (1 << 20) + 4);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_eopnotsupp_falls_back(void **state)
{
	struct mmapio_file *f;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("e"), 0, &f), 0);
	count_syscalls(EOPNOTSUPP);
	assert_int_equal(mmapio_write_grow(f, 0, "abcd", 4), 0);
	assert_int_equal(fallocate_calls, 1);
	assert_int_equal(ftruncate_calls, 1);
	assert_false(atomic_load(&f->preallocate));
	/* Switched off for good: no more fallocate attempts. */
	assert_int_equal(mmapio_write_grow(f, 4, "efgh", 4), 0);
	assert_int_equal(fallocate_calls, 1);
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_no_preallocate(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_options o;
	struct mmapio_file *f;

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.preallocate = false;
	o.size = 64 * page;
	count_syscalls(0);
	assert_int_equal(mmapio_open(tmpdir_path("np"), &o, &f), 0);
	assert_int_equal(fallocate_calls, 0);
	assert_int_equal(mmapio_write(f, 5 * page, "x", 1), 0);
	assert_int_equal(mmapio_write_grow(f, 128 * page, "y", 1), 0);
	assert_int_equal(fallocate_calls, 0);
	assert_true(ftruncate_calls >= 2);
	assert_true((uint64_t)stat_of(tmpdir_path("np")).st_blocks * 512 < 16 * page);
	assert_int_equal(mmapio_close(f), 0);
}

struct grower {
	struct mmapio_file *f;
	int id;
	int rc;
};

enum { GROWERS = 4, GROW_STEPS = 200, SLICE = 512 };

static void *grow_thread(void *arg)
{
	struct grower *g = arg;
	unsigned char buf[SLICE];
	int i;

	memset(buf, 'A' + g->id, sizeof(buf));
	for (i = 0; i < GROW_STEPS && g->rc == 0; i++)
		g->rc = mmapio_write_grow(g->f,
			((uint64_t)i * GROWERS + (uint64_t)g->id) * SLICE,
			buf, sizeof(buf));
	return NULL;
}

static void test_concurrent_growers(void **state)
{
	struct grower g[GROWERS];
	pthread_t t[GROWERS];
	struct mmapio_file *f;
	unsigned char buf[SLICE];
	uint64_t i;
	int k;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("cg"), 0, &f), 0);
	for (k = 0; k < GROWERS; k++) {
		g[k] = (struct grower){ .f = f, .id = k };
		pthread_create(&t[k], NULL, grow_thread, &g[k]);
	}
	for (k = 0; k < GROWERS; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(g[k].rc, 0);
	}
	assert_int_equal(mmapio_len(f), (uint64_t)GROWERS * GROW_STEPS * SLICE);
	for (i = 0; i < (uint64_t)GROWERS * GROW_STEPS; i++) {
		assert_int_equal(mmapio_read(f, i * SLICE, buf, SLICE), 0);
		assert_int_equal(buf[0], 'A' + i % GROWERS);
		assert_int_equal(buf[SLICE - 1], 'A' + i % GROWERS);
	}
	assert_int_equal(mmapio_close(f), 0);
}

/* Injected page-cache residency and a counting (or failing) pwrite. */
static int pwrite_calls, pwrite_errno;
static unsigned char residency = 0; /* what mincore reports for each page */

static int fake_mincore(void *addr, size_t len, unsigned char *vec)
{
	size_t ps = mmapio_page_size();

	assert_int_equal((uintptr_t)addr % ps, 0);
	memset(vec, residency, (len + ps - 1) / ps);
	return 0;
}

static ssize_t counting_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	pwrite_calls++;
	if (pwrite_errno) {
		errno = pwrite_errno;
		return -1;
	}
	return pwrite(fd, buf, n, off);
}

static void inject_residency(unsigned char resident, int fail_errno)
{
	residency = resident;
	pwrite_calls = 0;
	pwrite_errno = fail_errno;
	mmapio__sys.mincore = fake_mincore;
	mmapio__sys.pwrite = counting_pwrite;
}

/* Opens tmpdir/name (4 pages) with mode and the bytes=1GiB policy, so the
 * accumulator counts without flushing. */
static struct mmapio_file *open_counted(const char *name, enum mmapio_mode mode)
{
	struct mmapio_options o;
	struct mmapio_file *f;

	/* Earlier tests' files left counts keyed by inode numbers that this
	 * test's files may reuse: drop them. */
	mmapio__registry_set_detached_cap(mmapio__registry_set_detached_cap(0));
	mmapio_options_init(&o);
	o.mode = mode;
	o.how = MMAPIO_OPEN_OR_CREATE;
	o.size = 4 * mmapio_page_size();
	o.cow_writable = true;
	assert_int_equal(mmapio_policy_parse("bytes=1GiB", &o.policy, NULL, 0), 0);
	assert_int_equal(mmapio_open(tmpdir_path(name), &o, &f), 0);
	return f;
}

static void test_whole_cold_pages_are_written_without_read(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = malloc(2 * ps + 10), *back = malloc(2 * ps + 10);
	struct mmapio_file *f;
	int fd;

	(void)state;
	memset(data, 'w', 2 * ps + 10);
	f = open_counted("w", MMAPIO_RW);
	inject_residency(0, 0);
	/* Two whole pages and 10 bytes of a third, from a page boundary. */
	assert_int_equal(mmapio_write(f, ps, data, 2 * ps + 10), 0);
	assert_int_equal(pwrite_calls, 1);
	assert_int_equal(mmapio_pending_bytes(f), 3 * ps);
	assert_int_equal(mmapio_pending_writes(f), 1);
	/* The mapping sees the bytes (same page cache)... */
	assert_int_equal(mmapio_read(f, ps, back, 2 * ps + 10), 0);
	assert_memory_equal(back, data, 2 * ps + 10);
	/* ...and so does the file. */
	fd = open(tmpdir_path("w"), O_RDONLY);
	assert_int_equal(pread(fd, back, 2 * ps + 10, (off_t)ps),
			 (ssize_t)(2 * ps + 10));
	close(fd);
	assert_memory_equal(back, data, 2 * ps + 10);
	/* Less than a whole page is a store into the mapping. */
	assert_int_equal(mmapio_write(f, 10, data, ps - 20), 0);
	assert_int_equal(mmapio_write(f, ps / 2, data, ps), 0);
	assert_int_equal(pwrite_calls, 1);
	/* Growth takes the same path. */
	assert_int_equal(mmapio_write_grow(f, 4 * ps, data, ps), 0);
	assert_int_equal(pwrite_calls, 2);
	assert_int_equal(mmapio_len(f), 5 * ps);
	assert_int_equal(mmapio_close(f), 0);
	free(data);
	free(back);
}

static void test_resident_pages_are_stored(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = calloc(1, 2 * ps);
	struct mmapio_file *f;

	(void)state;
	f = open_counted("r", MMAPIO_RW);
	inject_residency(1, 0);
	assert_int_equal(mmapio_write(f, 0, data, 2 * ps), 0);
	assert_int_equal(pwrite_calls, 0);
	assert_int_equal(mmapio_close(f), 0);
	/* A COW mapping's pages are private: never pwrite to the file. */
	assert_int_equal(mmapio_open_cow(tmpdir_path("r"), true, &f), 0);
	inject_residency(0, 0);
	assert_int_equal(mmapio_write(f, 0, data, 2 * ps), 0);
	assert_int_equal(pwrite_calls, 0);
	assert_int_equal(mmapio_close(f), 0);
	free(data);
}

/* Under `always` every write (resident pages, parts of a page) goes
 * through pwrite: a store would dirty its whole folio, and the sync that
 * follows would write all of it. Other policies store again after a
 * switch. */
static void test_always_writes_through(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = calloc(1, 2 * ps), back[100];
	struct mmapio_policy always, bytes;
	struct mmapio_file *f;

	(void)state;
	memset(data, 'a', 2 * ps);
	assert_int_equal(mmapio_policy_parse("always", &always, NULL, 0), 0);
	assert_int_equal(mmapio_policy_parse("bytes=1GiB", &bytes, NULL, 0), 0);
	f = open_counted("t", MMAPIO_RW);
	inject_residency(1, 0);
	assert_int_equal(mmapio_set_policy(f, &always), 0);
	assert_int_equal(mmapio_write(f, 10, data, 100), 0);
	assert_int_equal(mmapio_write(f, 0, data, 2 * ps), 0);
	assert_int_equal(mmapio_write_grow(f, 4 * ps + 5, data, 100), 0);
	assert_int_equal(pwrite_calls, 3);
	/* Durable and counted as with a store: nothing pending. */
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_read(f, 4 * ps + 5, back, 100), 0);
	assert_memory_equal(back, data, 100);
	/* Back to a policy that syncs later: stores again. */
	assert_int_equal(mmapio_set_policy(f, &bytes), 0);
	assert_int_equal(mmapio_write(f, 10, data, 100), 0);
	assert_int_equal(pwrite_calls, 3);
	assert_int_equal(mmapio_pending_bytes(f), ps);
	assert_int_equal(mmapio_close(f), 0);
	/* A COW mapping's pages are private: never pwrite to the file. */
	assert_int_equal(mmapio_open_cow(tmpdir_path("t"), true, &f), 0);
	assert_int_equal(mmapio_set_policy(f, &always), 0);
	assert_int_equal(mmapio_write(f, 0, data, 100), 0);
	assert_int_equal(pwrite_calls, 3);
	assert_int_equal(mmapio_close(f), 0);
	free(data);
}

static void test_failed_pwrite_is_reported_and_not_counted(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = calloc(1, ps);
	struct mmapio_file *f;

	(void)state;
	f = open_counted("e", MMAPIO_RW);
	inject_residency(0, EIO);
	assert_int_equal(mmapio_write(f, 0, data, ps), -EIO);
	assert_int_equal(mmapio_write_grow(f, 4 * ps, data, ps), -EIO);
	assert_int_equal(pwrite_calls, 2);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	mmapio__sys_reset();
	assert_int_equal(mmapio_close(f), 0);
	free(data);
}

/* Counting mincore and a settable clock, for the residency hint. */
static int mincore_calls;
static int64_t fake_now;

static int counting_mincore(void *addr, size_t len, unsigned char *vec)
{
	mincore_calls++;
	return fake_mincore(addr, len, vec);
}

static int64_t fake_clock(void)
{
	return fake_now;
}

/* Whole pages a write stored into are not looked up again within the
 * hint's epoch (about a second): a steady-state overwrite makes no
 * system call. A page the write did not cover, a later epoch or a
 * failed write asks mincore again. */
static void test_written_pages_skip_mincore(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = calloc(1, 3 * ps);
	struct mmapio_file *f;

	(void)state;
	f = open_counted("h", MMAPIO_RW);
	inject_residency(1, 0);
	mincore_calls = 0;
	fake_now = 5LL << 30;
	mmapio__sys.mincore = counting_mincore;
	mmapio__sys.now_ns = fake_clock;
	assert_int_equal(mmapio_write(f, ps, data, ps), 0);
	assert_int_equal(mincore_calls, 1);
	/* The same page again, a part of it, and again: no lookup. */
	assert_int_equal(mmapio_write(f, ps, data, ps), 0);
	assert_int_equal(mmapio_write(f, ps + 8, data, 100), 0);
	assert_int_equal(mmapio_write(f, ps, data, ps), 0);
	assert_int_equal(mincore_calls, 1);
	/* Two pages, one of them not written yet: asked, then known. */
	assert_int_equal(mmapio_write(f, ps, data, 2 * ps), 0);
	assert_int_equal(mincore_calls, 2);
	assert_int_equal(mmapio_write(f, 2 * ps, data, ps), 0);
	assert_int_equal(mincore_calls, 2);
	/* A new epoch forgets. */
	fake_now += 1LL << 30;
	assert_int_equal(mmapio_write(f, ps, data, ps), 0);
	assert_int_equal(mincore_calls, 3);
	/* A cold page written by pwrite is resident afterwards. */
	residency = 0;
	assert_int_equal(mmapio_write(f, 3 * ps, data, ps), 0);
	assert_int_equal(pwrite_calls, 1);
	assert_int_equal(mincore_calls, 4);
	assert_int_equal(mmapio_write(f, 3 * ps, data, ps), 0);
	assert_int_equal(pwrite_calls, 1);
	assert_int_equal(mincore_calls, 4);
	/* A failed write leaves nothing behind. */
	pwrite_errno = EIO;
	assert_int_equal(mmapio_write(f, 0, data, ps), -EIO);
	assert_int_equal(mincore_calls, 5);
	assert_int_equal(mmapio_write(f, 0, data, ps), -EIO);
	assert_int_equal(mincore_calls, 6);
	mmapio__sys_reset();
	assert_int_equal(mmapio_close(f), 0);
	free(data);
}

/* --- descriptors given to mmapio_from_fd (issue 19) --------------------- */

/* Creates tmpdir/name with `pages` pages of 'o' and opens it with flags.
 * Returns the fd, or -errno of open(2). */
static int make_fd(const char *name, size_t pages, int flags)
{
	size_t ps = mmapio_page_size();
	char *buf = malloc(pages * ps);
	int fd;

	/* Counts kept for an earlier test's file whose inode number this one
	 * may reuse: drop them. */
	mmapio__registry_set_detached_cap(mmapio__registry_set_detached_cap(0));
	memset(buf, 'o', pages * ps);
	fd = open(tmpdir_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, pages * ps, 0), (ssize_t)(pages * ps));
	close(fd);
	free(buf);
	fd = open(tmpdir_path(name), flags);
	return fd < 0 ? -errno : fd;
}

/* The whole-page write into a cold page of 32 KiB, as the black-box test
 * did: page 4 gets the new bytes, nothing else changes. */
static void write_cold_page_4(struct mmapio_file *f, const char *name,
			      const char *data)
{
	size_t ps = mmapio_page_size();
	char *back = malloc(ps);
	struct stat st;
	int fd;

	inject_residency(0, 0);   /* every page cold: the shortcut's case */
	assert_int_equal(mmapio_write(f, 4 * ps, data, ps), 0);
	assert_int_equal(pwrite_calls, 0);   /* stored through the mapping */
	assert_int_equal(mmapio_len(f), 8 * ps);
	st = stat_of(tmpdir_path(name));
	assert_int_equal(st.st_size, 8 * ps);
	fd = open(tmpdir_path(name), O_RDONLY);
	assert_int_equal(pread(fd, back, ps, (off_t)(4 * ps)), (ssize_t)ps);
	assert_memory_equal(back, data, ps);
	assert_int_equal(pread(fd, back, ps, (off_t)(5 * ps)), (ssize_t)ps);
	assert_int_equal(back[0], 'o');
	close(fd);
	mmapio__sys_reset();
	free(back);
}

static void test_append_fd_writes_at_the_offset(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = malloc(ps);
	struct mmapio_file *f;
	int fd;

	(void)state;
	memset(data, 'A', ps);
	fd = make_fd("app", 8, O_RDWR | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, tmpdir_path("app"), &f), 0);
	write_cold_page_4(f, "app", data);
	/* write_grow too: the growth is fallocate, the bytes a store. */
	inject_residency(0, 0);
	assert_int_equal(mmapio_write_grow(f, 9 * ps, data, ps), 0);
	assert_int_equal(pwrite_calls, 0);
	assert_int_equal(mmapio_len(f), 10 * ps);
	assert_int_equal(stat_of(tmpdir_path("app")).st_size, 10 * ps);
	mmapio__sys_reset();
	assert_int_equal(mmapio_close(f), 0);
	free(data);
}

static void test_direct_fd_takes_unaligned_buffers(void **state)
{
	size_t ps = mmapio_page_size();
	char *raw = malloc(ps + 1), *data = raw + 1;   /* unaligned */
	struct mmapio_file *f;
	int fd;

	(void)state;
	memset(data, 'D', ps);
	fd = make_fd("dir", 8, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd == -EINVAL) {
		free(raw);
		skip();   /* the file system has no O_DIRECT */
	}
	assert_true(fd >= 0);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, NULL, &f), 0);
	write_cold_page_4(f, "dir", data);
	assert_int_equal(mmapio_close(f), 0);
	free(raw);
}

static void test_sync_fd_stores_and_policy_decides(void **state)
{
	size_t ps = mmapio_page_size();
	char *data = malloc(ps);
	struct mmapio_file *f;
	int fd;

	(void)state;
	memset(data, 'S', ps);
	fd = make_fd("sync", 8, O_RDWR | O_DSYNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, NULL, &f), 0);
	write_cold_page_4(f, "sync", data);
	/* Not synchronous by itself: the policy (never) keeps it pending. */
	assert_int_equal(mmapio_pending_bytes(f), ps);
	assert_int_equal(mmapio_close(f), 0);
	free(data);
}

static void *refuse_mmap(void *addr, size_t len, int prot, int flags, int fd,
			 off_t off)
{
	(void)addr, (void)len, (void)prot, (void)flags, (void)fd, (void)off;
	errno = ENODEV;
	return MAP_FAILED;
}

/* Without a mapping only pread/pwrite are left: a descriptor on which
 * they cannot address any byte is refused, as without the fallback. */
static void test_unmapped_fallback_refuses_append_and_direct(void **state)
{
	struct mmapio_options o;
	struct mmapio_file *f;
	char buf[4];
	int fd;

	(void)state;
	mmapio_options_init(&o);
	o.unmapped_fallback = true;
	mmapio__sys.mmap = refuse_mmap;

	o.mode = MMAPIO_RW;
	fd = make_fd("ua", 2, O_RDWR | O_APPEND | O_CLOEXEC);
	assert_int_equal(mmapio_from_fd_opts(fd, &o, NULL, &f), -ENODEV);
	/* The caller keeps its fd, with its flags. */
	assert_true(fcntl(fd, F_GETFL) & O_APPEND);
	close(fd);

	/* Read-only, O_APPEND changes nothing: accepted. */
	o.mode = MMAPIO_RO;
	fd = make_fd("ua", 2, O_RDONLY | O_APPEND | O_CLOEXEC);
	assert_int_equal(mmapio_from_fd_opts(fd, &o, NULL, &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "oooo", 4);
	assert_int_equal(mmapio_close(f), 0);

	fd = make_fd("ud", 2, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(mmapio_from_fd_opts(fd, &o, NULL, &f), -ENODEV);
		close(fd);
	}
	/* A plain descriptor still falls back. */
	o.mode = MMAPIO_RW;
	fd = make_fd("up", 2, O_RDWR | O_CLOEXEC);
	assert_int_equal(mmapio_from_fd_opts(fd, &o, NULL, &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_write(f, 1, "xy", 2), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "oxyo", 4);
	assert_int_equal(mmapio_close(f), 0);
	mmapio__sys_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_allocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dense_fast_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eopnotsupp_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_preallocate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_growers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_cold_pages_are_written_without_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resident_pages_are_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_always_writes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_pwrite_is_reported_and_not_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_written_pages_skip_mincore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_fd_writes_at_the_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_fd_takes_unaligned_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_fd_stores_and_policy_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_fallback_refuses_append_and_direct, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
