/*
 * test_watch.c — unit tests of src/core/watch.c: events for outside
 * writes, truncation, attribute changes, unlink (with and without another
 * link) and rename; the watch follows the descriptor, not the path;
 * timeouts; the pollable fd; the anonymous error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("watch");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove();
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_events(void **state)
{
	struct mmapio_file *f;
	struct mmapio_watch *w;
	struct pollfd pfd;
	int fd;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("w"), 100, &f), 0);
	assert_int_equal(mmapio_watch(f, &w), 0);
	assert_true(mmapio_watch_fd(w) >= 0);
	/* Nothing yet: a poll answers 0 at once. */
	assert_int_equal(mmapio_watch_wait(w, 0), 0);
	/* Our own stores through the mapping are not events. */
	assert_int_equal(mmapio_write(f, 0, "own", 3), 0);
	assert_int_equal(mmapio_watch_wait(w, 0), 0);

	fd = open(tmpdir_path("w"), O_RDWR);
	assert_int_equal(pwrite(fd, "outside", 7, 10), 7);
	pfd = (struct pollfd){ .fd = mmapio_watch_fd(w), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(mmapio_watch_wait(w, 1000), MMAPIO_WATCH_MODIFIED);
	/* Drained. */
	assert_int_equal(mmapio_watch_wait(w, 0), 0);

	assert_int_equal(ftruncate(fd, 10), 0);
	assert_true(mmapio_watch_wait(w, 1000) & MMAPIO_WATCH_MODIFIED);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(mmapio_watch_wait(w, 1000), MMAPIO_WATCH_ATTRIB);
	close(fd);

	{
		char from[PATH_MAX + 64];

		snprintf(from, sizeof(from), "%s", tmpdir_path("w"));
		assert_int_equal(rename(from, tmpdir_path("w2")), 0);
	}
	assert_true(mmapio_watch_wait(w, 1000) & MMAPIO_WATCH_DELETED);
	mmapio_watch_close(w);
	mmapio_watch_close(NULL);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_unlink(void **state)
{
	struct mmapio_file *f;
	struct mmapio_watch *w;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("u"), 1, &f), 0);
	assert_int_equal(mmapio_watch(f, &w), 0);
	/* A second link: its removal is only ATTRIB. */
	{
		char other[PATH_MAX + 64];

		snprintf(other, sizeof(other), "%s", tmpdir_path("u2"));
		assert_int_equal(link(tmpdir_path("u"), other), 0);
		assert_int_equal(mmapio_watch_wait(w, 1000), MMAPIO_WATCH_ATTRIB);
		assert_int_equal(unlink(other), 0);
	}
	assert_int_equal(mmapio_watch_wait(w, 1000), MMAPIO_WATCH_ATTRIB);
	/* The last link: DELETED while the mapping still holds the inode. */
	assert_int_equal(unlink(tmpdir_path("u")), 0);
	assert_true(mmapio_watch_wait(w, 1000) & MMAPIO_WATCH_DELETED);
	assert_int_equal(mmapio_close(f), 0);
	mmapio_watch_close(w);
}

/* The watch follows the file, not the path: a relative or stale path
 * given at open does not matter. */
static void test_follows_descriptor(void **state)
{
	struct mmapio_file *f;
	struct mmapio_watch *w;
	int fd, other;

	(void)state;
	fd = open(tmpdir_path("d"), O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RO, "not/a/real/path", &f), 0);
	assert_int_equal(mmapio_watch(f, &w), 0);
	other = open(tmpdir_path("d"), O_RDWR);
	assert_int_equal(pwrite(other, "x", 1, 0), 1);
	close(other);
	assert_int_equal(mmapio_watch_wait(w, 1000), MMAPIO_WATCH_MODIFIED);
	mmapio_watch_close(w);
	assert_int_equal(mmapio_close(f), 0);

	fd = open(tmpdir_path("d"), O_RDWR);
	assert_int_equal(mmapio_from_fd(fd, MMAPIO_RW, NULL, &f), 0);
	assert_int_equal(mmapio_watch(f, &w), 0);
	assert_int_equal(truncate(tmpdir_path("d"), 0), 0);
	assert_true(mmapio_watch_wait(w, 1000) & MMAPIO_WATCH_MODIFIED);
	mmapio_watch_close(w);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_timeout(void **state)
{
	struct mmapio_file *f;
	struct mmapio_watch *w;
	int64_t t0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("t"), 1, &f), 0);
	assert_int_equal(mmapio_watch(f, &w), 0);
	t0 = now_ms();
	assert_int_equal(mmapio_watch_wait(w, 120), 0);
	assert_true(now_ms() - t0 >= 100);
	mmapio_watch_close(w);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_errors(void **state)
{
	struct mmapio_file *anon;
	struct mmapio_watch *w = NULL;

	(void)state;
	assert_int_equal(mmapio_anon(10, &anon), 0);
	assert_int_equal(mmapio_watch(anon, &w), -EINVAL);
	assert_null(w);
	assert_int_equal(mmapio_close(anon), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follows_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
