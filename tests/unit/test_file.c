/*
 * test_file.c — unit tests of src/core/file.c: the constructors and their
 * error paths, modes, reference counting, unmap, accessors.
 *
 * Each test works in a fresh temporary directory (removed afterwards).
 * Single-threaded except the open-or-create race test.
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
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("file");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static void write_file(const char *p, const char *text, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static off_t size_of(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void test_open_ro_reads(void **state)
{
	struct mmapio_file *f;
	char buf[6] = { 0 };

	(void)state;
	write_file(tmpdir_path("a"), "hello", 5);
	assert_int_equal(mmapio_open_ro(tmpdir_path("a"), &f), 0);
	assert_int_equal(mmapio_len(f), 5);
	assert_false(mmapio_is_empty(f));
	assert_int_equal(mmapio_mode(f), MMAPIO_RO);
	assert_string_equal(mmapio_path(f), tmpdir_path("a"));
	assert_true(mmapio_fd(f) >= 0);
	assert_true(fcntl(mmapio_fd(f), F_GETFD) & FD_CLOEXEC);
	assert_int_equal(mmapio_read(f, 0, buf, 5), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(mmapio_write(f, 0, "x", 1), -EBADF);
	assert_null(mmapio_mut_ptr(f));
	assert_non_null(mmapio_ptr(f));
	assert_int_equal(mmapio_close(f), 0);
}

static void test_open_errors(void **state)
{
	struct mmapio_file *f = (struct mmapio_file *)0x1;
	struct mmapio_options o;

	(void)state;
	assert_int_equal(mmapio_open_ro(tmpdir_path("missing"), &f), -ENOENT);
	assert_int_equal(mmapio_open_rw(tmpdir_root(), &f), -EISDIR);
	assert_int_equal(mmapio_open_ro(tmpdir_root(), &f), -EISDIR);
	assert_int_equal(mkfifo(tmpdir_path("fifo"), 0644), 0);
	assert_int_equal(mmapio_open_ro(tmpdir_path("fifo"), &f), -ENODEV);
	/* Out-parameter untouched on failure. */
	assert_ptr_equal(f, (struct mmapio_file *)0x1);

	mmapio_options_init(&o);
	o.mode = (enum mmapio_mode)42;
	assert_int_equal(mmapio_open(tmpdir_path("x"), &o, &f), -EINVAL);
	mmapio_options_init(&o);
	o.how = MMAPIO_CREATE;   /* creating needs RW */
	assert_int_equal(mmapio_open(tmpdir_path("x"), &o, &f), -EINVAL);
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = (uint64_t)INT64_MAX + 1;
	assert_int_equal(mmapio_open(tmpdir_path("x"), &o, &f), -EFBIG);
	assert_int_equal(mmapio_open(NULL, &o, &f), -EINVAL);
	/* A threshold policy without a threshold is refused up front. */
	o.size = 1;
	o.policy.kind = MMAPIO_POLICY_THRESHOLD;
	assert_int_equal(mmapio_open(tmpdir_path("x"), &o, &f), -EINVAL);
	assert_int_equal(access(tmpdir_path("x"), F_OK), -1);
}

static void test_empty_file(void **state)
{
	struct mmapio_file *f;
	char c;

	(void)state;
	write_file(tmpdir_path("e"), "", 0);
	assert_int_equal(mmapio_open_rw(tmpdir_path("e"), &f), 0);
	assert_true(mmapio_is_empty(f));
	assert_int_equal(mmapio_len(f), 0);
	assert_null(mmapio_ptr(f));
	assert_null(mmapio_mut_ptr(f));
	assert_int_equal(mmapio_read(f, 0, &c, 0), 0);
	assert_int_equal(mmapio_write(f, 0, &c, 0), 0);
	assert_int_equal(mmapio_read(f, 0, &c, 1), -ERANGE);
	assert_int_equal(mmapio_read(f, 1, &c, 0), -ERANGE);
	assert_int_equal(mmapio_write_grow(f, 0, "abc", 3), 0);
	assert_int_equal(mmapio_len(f), 3);
	assert_int_equal(size_of(tmpdir_path("e")), 3);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_create_rw(void **state)
{
	struct mmapio_file *f;
	struct stat st;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("c"), 10000, &f), 0);
	assert_int_equal(mmapio_len(f), 10000);
	assert_int_equal(mmapio_mode(f), MMAPIO_RW);
	assert_int_equal(mmapio_write(f, 9999, "z", 1), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(stat(tmpdir_path("c"), &st), 0);
	assert_int_equal(st.st_size, 10000);
	/* Preallocated: no hole. */
	assert_true(st.st_blocks * 512 >= 10000);
	assert_int_equal(mmapio_create_rw(tmpdir_path("c"), 10, &f), -EEXIST);
	assert_int_equal(size_of(tmpdir_path("c")), 10000);
}

static void test_create_zero_size(void **state)
{
	struct mmapio_file *f;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("z"), 0, &f), 0);
	assert_true(mmapio_is_empty(f));
	assert_int_equal(mmapio_close(f), 0);
}

static int enospc_fallocate(int fd, int mode, off_t off, off_t len)
{
	(void)fd;
	(void)mode;
	(void)off;
	(void)len;
	errno = ENOSPC;
	return -1;
}

static void test_create_enospc_removes_file(void **state)
{
	struct mmapio_file *f;

	(void)state;
	mmapio__sys.fallocate = enospc_fallocate;
	assert_int_equal(mmapio_create_rw(tmpdir_path("full"), 4096, &f), -ENOSPC);
	mmapio__sys_reset();
	assert_int_equal(access(tmpdir_path("full"), F_OK), -1);
}

static void test_open_or_create(void **state)
{
	struct mmapio_file *f;
	char buf[4];

	(void)state;
	/* Missing: created with the default size. */
	assert_int_equal(mmapio_open_or_create(tmpdir_path("o"), 8192, &f), 0);
	assert_int_equal(mmapio_len(f), 8192);
	assert_int_equal(mmapio_write(f, 0, "abcd", 4), 0);
	assert_int_equal(mmapio_close(f), 0);
	/* Existing: never truncated, never resized. */
	assert_int_equal(mmapio_open_or_create(tmpdir_path("o"), 16, &f), 0);
	assert_int_equal(mmapio_len(f), 8192);
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(mmapio_close(f), 0);
	/* Existing but empty: extended to the default size. */
	write_file(tmpdir_path("oe"), "", 0);
	assert_int_equal(mmapio_open_or_create(tmpdir_path("oe"), 100, &f), 0);
	assert_int_equal(mmapio_len(f), 100);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(size_of(tmpdir_path("oe")), 100);
	/* Errors from open(2) pass through. */
	assert_int_equal(mmapio_open_or_create(tmpdir_path("nodir/x"), 1, &f),
			 -ENOENT);
}

struct race {
	pthread_barrier_t *bar;
	const char *path;   /* copied before the threads start */
	int rc;
};

static void *race_open(void *arg)
{
	struct race *r = arg;
	struct mmapio_file *f;

	pthread_barrier_wait(r->bar);
	r->rc = mmapio_open_or_create(r->path, 4096, &f);
	if (r->rc == 0) {
		r->rc = mmapio_atomic_fetch_add_u64(f, 0, 1, NULL);
		mmapio_close(f);
	}
	return NULL;
}

static void test_open_or_create_race(void **state)
{
	enum { N = 8 };
	pthread_barrier_t bar;
	pthread_t t[N];
	struct race r[N];
	struct mmapio_file *f;
	char path[PATH_MAX + 64];
	uint64_t v;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s", tmpdir_path("race"));
	pthread_barrier_init(&bar, NULL, N);
	for (i = 0; i < N; i++) {
		r[i].bar = &bar;
		r[i].path = path;
		pthread_create(&t[i], NULL, race_open, &r[i]);
	}
	for (i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, 0);
	}
	pthread_barrier_destroy(&bar);
	/* Nobody truncated anybody's increment. */
	assert_int_equal(mmapio_open_ro(tmpdir_path("race"), &f), 0);
	assert_int_equal(mmapio_len(f), 4096);
	assert_int_equal(mmapio_atomic_load_u64(f, 0, &v), 0);
	assert_int_equal(v, N);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_cow(void **state)
{
	struct mmapio_file *f;
	char buf[5];
	int fd;

	(void)state;
	write_file(tmpdir_path("cow"), "hello", 5);
	assert_int_equal(mmapio_open_cow(tmpdir_path("cow"), false, &f), 0);
	assert_int_equal(mmapio_mode(f), MMAPIO_COW);
	assert_int_equal(mmapio_write(f, 0, "J", 1), -EBADF);
	assert_int_equal(mmapio_resize(f, 10), -ENOTSUP);
	assert_int_equal(mmapio_close(f), 0);

	assert_int_equal(mmapio_open_cow(tmpdir_path("cow"), true, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "J", 1), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 5), 0);
	assert_memory_equal(buf, "Jello", 5);
	/* Private: the file never sees it. */
	fd = open(tmpdir_path("cow"), O_RDONLY);
	assert_int_equal(pread(fd, buf, 5, 0), 5);
	close(fd);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(mmapio_write_grow(f, 4, "xy", 2), -ENOTSUP);
	assert_int_equal(mmapio_resize(f, 100), -ENOTSUP);
	mmapio_close(f);
	fd = open(tmpdir_path("cow"), O_RDONLY);
	assert_int_equal(pread(fd, buf, 5, 0), 5);
	close(fd);
	assert_memory_equal(buf, "hello", 5);
}

static void test_from_fd(void **state)
{
	struct mmapio_file *f;
	char buf[3];
	int fd, back;

	(void)state;
	write_file(tmpdir_path("fd"), "abc", 3);
	fd = open(tmpdir_path("fd"), O_RDONLY);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, "fd", &f), -EBADF);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RO, "fd", &f), 0);
	assert_string_equal(mmapio_path(f), "fd");
	assert_int_equal(mmapio_fd(f), fd);
	assert_int_equal(mmapio_read(f, 0, buf, 3), 0);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(mmapio_unmap(f, &back), 0);
	assert_int_equal(back, fd);
	/* Ownership came back: the fd is still open and ours. */
	assert_int_equal(pread(fd, buf, 1, 0), 1);
	close(fd);

	fd = open(tmpdir_path("fd"), O_WRONLY);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RO, NULL, &f), -EBADF);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_COW, NULL, &f), -EBADF);
	close(fd);
	fd = open(tmpdir_path("fd"), O_PATH);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RO, NULL, &f), -EBADF);
	close(fd);
	fd = open(tmpdir_root(), O_RDONLY | O_DIRECTORY);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RO, NULL, &f), -EISDIR);
	close(fd);
	assert_int_equal(mmapio_from_fd(-1, MMAPIO_RO, NULL, &f), -EBADF);
	/* A pipe is not a regular file; the caller keeps its fd. */
	{
		int p[2];

		assert_int_equal(pipe(p), 0);
		assert_int_equal(mmapio_from_fd(p[0], MMAPIO_RO, NULL, &f),
				 -ENODEV);
		assert_int_equal(close(p[0]), 0);
		close(p[1]);
	}
	/* RW from an O_RDWR fd, closed by mmapio_close. */
	fd = open(tmpdir_path("fd"), O_RDWR);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, NULL, &f), 0);
	assert_null(mmapio_path(f));
	assert_int_equal(mmapio_write(f, 0, "X", 1), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

static void test_from_fd_opts(void **state)
{
	struct mmapio_options o;
	struct mmapio_file *f;
	int fd;

	(void)state;
	write_file(tmpdir_path("fo"), "abc", 3);
	fd = open(tmpdir_path("fo"), O_RDWR);
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;     /* ignored */
	o.size = 1 << 20;          /* ignored */
	o.reserve = 1 << 20;
	o.populate = true;
	o.hugepages = true;
	assert_int_equal(mmapio_from_fd_opts(fd, &o, "fo", &f), 0);
	assert_int_equal(mmapio_len(f), 3);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_anon(void **state)
{
	struct mmapio_file *f, *e;
	char buf[4];
	int fd;

	(void)state;
	assert_int_equal(mmapio_anon(10000, &f), 0);
	assert_int_equal(mmapio_len(f), 10000);
	assert_int_equal(mmapio_fd(f), -1);
	assert_null(mmapio_path(f));
	assert_int_equal(mmapio_mode(f), MMAPIO_RW);
	assert_int_equal(mmapio_write(f, 9996, "abcd", 4), 0);
	assert_int_equal(mmapio_read(f, 9996, buf, 4), 0);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(mmapio_resize(f, 20000), -ENOTSUP);
	assert_int_equal(mmapio_refresh(f), -EINVAL);
	assert_int_equal(mmapio_write_grow(f, 9999, "ab", 2), -ENOTSUP);
	assert_int_equal(mmapio_unmap(f, &fd), -EINVAL);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_anon(0, &e), 0);
	assert_true(mmapio_is_empty(e));
	assert_int_equal(mmapio_close(e), 0);
	assert_int_equal(mmapio_anon((uint64_t)INT64_MAX + 1, &e), -EFBIG);
}

static void test_ref_and_unmap_busy(void **state)
{
	struct mmapio_file *f;
	int fd = -7;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("r"), 100, &f), 0);
	assert_ptr_equal(mmapio_ref(f), f);
	assert_int_equal(mmapio_unmap(f, &fd), -EBUSY);
	assert_int_equal(fd, -7);
	/* Untouched: still usable. */
	assert_int_equal(mmapio_write(f, 0, "a", 1), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_write(f, 1, "b", 1), 0);
	assert_int_equal(mmapio_unmap(f, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(mmapio_close(NULL), 0);
}

static int eio_msync(void *addr, size_t len, int flags)
{
	(void)addr;
	(void)len;
	(void)flags;
	errno = EIO;
	return -1;
}

static int eio_sync(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

/* The last close (and unmap) apply the policy's close rule and return its
 * flush's result; the file is released either way. */
static void test_close_returns_flush_error(void **state)
{
	struct mmapio_options o;
	struct mmapio_file *f;
	int fd = -1;

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = 4096;
	o.policy.kind = MMAPIO_POLICY_THRESHOLD;
	o.policy.bytes = 1ull << 30;
	assert_int_equal(mmapio_open(tmpdir_path("cl"), &o, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "pending", 7), 0);
	mmapio__sys.msync = eio_msync;
	mmapio__sys.fdatasync = eio_sync;
	mmapio__sys.fsync = eio_sync;
	assert_int_equal(mmapio_close(f), -EIO);
	mmapio__sys_reset();

	o.how = MMAPIO_OPEN_EXISTING;
	assert_int_equal(mmapio_open(tmpdir_path("cl"), &o, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "again", 5), 0);
	mmapio__sys.msync = eio_msync;
	mmapio__sys.fdatasync = eio_sync;
	mmapio__sys.fsync = eio_sync;
	assert_int_equal(mmapio_unmap(f, &fd), -EIO);
	mmapio__sys_reset();
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
}

static void test_options_defaults(void **state)
{
	struct mmapio_options o;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	mmapio_options_init(&o);
	assert_int_equal(o.mode, MMAPIO_RO);
	assert_int_equal(o.how, MMAPIO_OPEN_EXISTING);
	assert_int_equal(o.create_mode, 0644);
	assert_int_equal(o.policy.kind, MMAPIO_POLICY_NEVER);
	assert_true(o.preallocate);
	assert_false(o.cow_writable);
	assert_false(o.populate);
	assert_false(o.hugepages);
	assert_int_equal(o.reserve, 0);
	assert_int_equal(o.size, 0);
}

static void test_create_mode_and_version(void **state)
{
	struct mmapio_options o;
	struct mmapio_file *f;
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.create_mode = 0600;
	o.size = 1;
	assert_int_equal(mmapio_open(tmpdir_path("m"), &o, &f), 0);
	umask(old);
	assert_int_equal(stat(tmpdir_path("m"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mmapio_close(f), 0);
	assert_non_null(mmapio_version());
	assert_true(strlen(mmapio_version()) > 0);
}

/* --- page sizes and the manager conveniences (issue 19) ------------------ */

static void test_page_sizes(void **state)
{
	size_t ps = mmapio_page_size(), hps = mmapio_huge_page_size();

	(void)state;
	assert_int_equal(ps, (size_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(ps & (ps - 1), 0);
	/* 0 (none known), else a power of two above the page size. */
	if (hps) {
		assert_true(hps > ps);
		assert_int_equal(hps & (hps - 1), 0);
	}
	assert_int_equal(mmapio_huge_page_size(), hps);   /* read once */
}

static void test_create_truncates_and_load_maps(void **state)
{
	struct mmapio_file *f;
	char buf[8];

	(void)state;
	write_file(tmpdir_path("ct"), "old contents", 12);
	assert_int_equal(mmapio_create(tmpdir_path("ct"), 100, &f), 0);
	assert_int_equal(mmapio_mode(f), MMAPIO_RW);
	assert_int_equal(mmapio_len(f), 100);
	assert_int_equal(mmapio_read(f, 0, buf, 3), 0);
	assert_memory_equal(buf, "\0\0\0", 3);           /* cut to 0 first */
	assert_int_equal(mmapio_write(f, 0, "new", 3), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(size_of(tmpdir_path("ct")), 100);
	/* A new path is created. */
	assert_int_equal(mmapio_create(tmpdir_path("ct2"), 10, &f), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(size_of(tmpdir_path("ct2")), 10);

	assert_int_equal(mmapio_load(tmpdir_path("ct"), MMAPIO_RO, &f), 0);
	assert_int_equal(mmapio_len(f), 100);
	assert_int_equal(mmapio_write(f, 0, "x", 1), -EBADF);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_load(tmpdir_path("ct"), MMAPIO_COW, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "COW", 3), 0);   /* private */
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_load(tmpdir_path("ct"), MMAPIO_RW, &f), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 3), 0);
	assert_memory_equal(buf, "new", 3);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_load(tmpdir_path("none"), MMAPIO_RO, &f), -ENOENT);
}

static void test_copy(void **state)
{
	struct mmapio_file *f, *c, *a;
	char buf[16];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("src"), 3 << 20, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "head", 4), 0);
	assert_int_equal(mmapio_write(f, (3 << 20) - 4, "tail", 4), 0);
	write_file(tmpdir_path("dst"), "something longer than nothing", 29);
	assert_int_equal(mmapio_copy(f, tmpdir_path("dst")), 0);
	assert_int_equal(size_of(tmpdir_path("dst")), 3 << 20);
	assert_int_equal(mmapio_open_ro(tmpdir_path("dst"), &c), 0);
	assert_int_equal(mmapio_read(c, 0, buf, 4), 0);
	assert_memory_equal(buf, "head", 4);
	assert_int_equal(mmapio_read(c, (3 << 20) - 4, buf, 4), 0);
	assert_memory_equal(buf, "tail", 4);
	assert_int_equal(mmapio_close(c), 0);
	/* Onto itself: refused, and nothing was cut. */
	assert_int_equal(mmapio_copy(f, tmpdir_path("src")), -EINVAL);
	assert_int_equal(size_of(tmpdir_path("src")), 3 << 20);
	assert_int_equal(mmapio_close(f), 0);

	/* What a COW mapping shows, its private bytes included. */
	assert_int_equal(mmapio_open_cow(tmpdir_path("src"), true, &c), 0);
	assert_int_equal(mmapio_write(c, 0, "priv", 4), 0);
	assert_int_equal(mmapio_copy(c, tmpdir_path("cowcopy")), 0);
	assert_int_equal(mmapio_close(c), 0);
	assert_int_equal(mmapio_open_ro(tmpdir_path("cowcopy"), &c), 0);
	assert_int_equal(mmapio_read(c, 0, buf, 4), 0);
	assert_memory_equal(buf, "priv", 4);
	assert_int_equal(mmapio_close(c), 0);

	/* Anonymous memory, and an empty copy. */
	assert_int_equal(mmapio_anon(10, &a), 0);
	assert_int_equal(mmapio_write(a, 0, "anonymous!", 10), 0);
	assert_int_equal(mmapio_copy(a, tmpdir_path("anoncopy")), 0);
	assert_int_equal(size_of(tmpdir_path("anoncopy")), 10);
	assert_int_equal(mmapio_close(a), 0);
	assert_int_equal(mmapio_anon(0, &a), 0);
	assert_int_equal(mmapio_copy(a, tmpdir_path("empty")), 0);
	assert_int_equal(size_of(tmpdir_path("empty")), 0);
	assert_int_equal(mmapio_copy(a, tmpdir_path("nodir/x")), -ENOENT);
	assert_int_equal(mmapio_copy(a, NULL), -EINVAL);
	assert_int_equal(mmapio_close(a), 0);
}

static void test_delete(void **state)
{
	struct mmapio_file *f, *g, *a;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("del"), 64, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "live", 4), 0);
	g = mmapio_ref(f);
	assert_int_equal(mmapio_delete(f), 0);           /* f's reference gone */
	assert_int_equal(access(tmpdir_path("del"), F_OK), -1);
	/* Other references keep the (unlinked) mapping. */
	assert_int_equal(mmapio_read(g, 0, buf, 4), 0);
	assert_memory_equal(buf, "live", 4);
	/* Gone from the path: the path names nothing. */
	assert_int_equal(mmapio_delete(g), -ENOENT);
	/* The path now names another file: left alone. */
	write_file(tmpdir_path("del"), "other", 5);
	assert_int_equal(mmapio_delete(g), -ESTALE);
	assert_int_equal(size_of(tmpdir_path("del")), 5);
	assert_int_equal(mmapio_close(g), 0);
	assert_int_equal(mmapio_anon(8, &a), 0);
	assert_int_equal(mmapio_delete(a), -EINVAL);
	assert_int_equal(mmapio_close(a), 0);
	assert_int_equal(mmapio_delete(NULL), -EINVAL);
}

/* mmapio_from_fd_known: what a caller that just opened the descriptor
 * knows is taken as given, not asked again. */
static void test_from_fd_known(void **state)
{
	struct mmapio_options o;
	struct mmapio_file *f = NULL;
	struct stat st;
	int fd;

	(void)state;
	write_file(tmpdir_path("k"), "0123456789", 10);
	fd = open(tmpdir_path("k"), O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	/* flags said to be write-only: refused without asking */
	assert_int_equal(mmapio_from_fd_known(fd, &o, NULL, O_WRONLY, NULL,
					      &f), -EBADF);
	/* the given attributes are the object's length (they are the
	 * caller's word: here they say 4 bytes) */
	st.st_size = 4;
	assert_int_equal(mmapio_from_fd_known(fd, &o, NULL, O_RDWR, &st, &f),
			 0);
	assert_int_equal(mmapio_len(f), 4);
	assert_int_equal(mmapio_refresh(f), 10);
	assert_int_equal(mmapio_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_ro_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_zero_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_enospc_removes_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_or_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_or_create_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_fd_known, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_fd_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ref_and_unmap_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_returns_flush_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_mode_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_truncates_and_load_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
