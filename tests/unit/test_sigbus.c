/*
 * test_sigbus.c — unit tests of the SIGBUS guard (src/core/sigbus.c):
 * a file truncated from a second descriptor makes every copying path
 * return -EIO and the process lives on; scopes nest; faults outside a scope
 * reach the previous handler (or kill, as without the library).
 *
 * cmocka swaps the SIGBUS handler around every test and fixture, so each
 * test body re-arms the library's handler first (mmapio__sigbus_rearm). The chaining tests
 * run in forked children, which are always reaped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("sigbus");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

/* A 3-page RW file full of 'a', then cut to 0 from another descriptor. */
static struct mmapio_file *truncated_file(void)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char buf[64];
	int fd;

	memset(buf, 'a', sizeof(buf));
	assert_int_equal(mmapio_create_rw(tmpdir_path("t"), 3 * page, &f), 0);
	assert_int_equal(mmapio_write(f, 0, buf, sizeof(buf)), 0);
	assert_int_equal(mmapio_write(f, 2 * page, buf, sizeof(buf)), 0);
	fd = open(tmpdir_path("t"), O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	close(fd);
	mmapio__sigbus_rearm();
	return f;
}

static void test_guarded_copy_plain(void **state)
{
	char a[16] = "guarded", b[16];

	(void)state;
	assert_int_equal(mmapio__guarded_copy(b, a, sizeof(a)), 0);
	assert_string_equal(b, "guarded");
	assert_int_equal(mmapio__guarded_copy(b, a, 0), 0);
}

static int count_chunk(const void *data, size_t len, uint64_t off, void *ctx)
{
	(void)data;
	(void)off;
	*(size_t *)ctx += len;
	return 0;
}

static int read_chunk(const void *data, size_t len, uint64_t off, void *ctx)
{
	volatile const char *p = data;
	size_t i;

	(void)off;
	(void)ctx;
	for (i = 0; i < len; i++)
		(void)p[i];
	return 0;
}

static void test_truncated_file_is_eio(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f = truncated_file();
	char buf[64];
	uint64_t v;
	size_t seen = 0;

	(void)state;
	/* The mapping still says 3 pages; every copy meets the fault. */
	assert_int_equal(mmapio_len(f), 3 * page);
	assert_int_equal(mmapio_read(f, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_read(f, 2 * page, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_write(f, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_write(f, page + 5, buf, 3), -EIO);
	assert_int_equal(mmapio_atomic_load_u64(f, 8, &v), -EIO);
	assert_int_equal(mmapio_atomic_store_u64(f, 8, 1), -EIO);
	assert_int_equal(mmapio_for_each_chunk(f, 0, page, 0, read_chunk, NULL),
			 -EIO);
	/* A walk that never touches the bytes does not fault. */
	assert_int_equal(mmapio_for_each_chunk(f, 0, 3 * page, 0, count_chunk,
					       &seen), 0);
	assert_int_equal(seen, 3 * page);
	/* Still alive, and refresh follows the outside change. */
	assert_int_equal(mmapio_refresh(f), 0);
	assert_int_equal(mmapio_len(f), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 1), -ERANGE);
	assert_int_equal(mmapio_write_grow(f, 0, "ok", 2), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 2), 0);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_truncated_cow_and_ro(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *ro, *cow;
	char buf[8];
	int fd;

	(void)state;
	mmapio__sigbus_rearm();
	fd = open(tmpdir_path("r"), O_RDWR | O_CREAT, 0644);
	assert_int_equal(ftruncate(fd, 2 * page), 0);
	assert_int_equal(mmapio_open_ro(tmpdir_path("r"), &ro), 0);
	assert_int_equal(mmapio_open_cow(tmpdir_path("r"), true, &cow), 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	close(fd);
	assert_int_equal(mmapio_read(ro, page, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_read(cow, page, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_write(cow, page, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_refresh(ro), 0);
	assert_int_equal(mmapio_refresh(cow), 0);
	assert_int_equal(mmapio_close(ro), 0);
	mmapio_close(cow);
}

struct nest {
	struct mmapio_file *f;
	int inner;
};

static int nested_body(void *arg)
{
	struct nest *n = arg;
	char buf[4];

	n->inner = mmapio_read(n->f, 0, buf, sizeof(buf));
	return 7;
}

static void test_nested_scopes(void **state)
{
	struct nest n = { .f = truncated_file() };
	char buf[4];

	(void)state;
	/* The inner fault ends the inner scope only. */
	assert_int_equal(mmapio__guarded_call(nested_body, &n), 7);
	assert_int_equal(n.inner, -EIO);
	/* And the outer scope is gone afterwards: a new one still works. */
	assert_int_equal(mmapio_read(n.f, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(mmapio_close(n.f), 0);
}

static void *fault_loop(void *arg)
{
	struct mmapio_file *f = arg;
	char buf[16];
	int i, eio = 0;

	for (i = 0; i < 2000; i++)
		eio += mmapio_read(f, 0, buf, sizeof(buf)) == -EIO;
	return (void *)(intptr_t)eio;
}

static void test_threads_fault_independently(void **state)
{
	struct mmapio_file *bad = truncated_file(), *good;
	char buf[16];
	pthread_t t;
	void *res;
	int i;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("good"), 4096, &good), 0);
	assert_int_equal(mmapio_write(good, 0, "good", 4), 0);
	pthread_create(&t, NULL, fault_loop, bad);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(mmapio_read(good, 0, buf, 4), 0);
		assert_memory_equal(buf, "good", 4);
	}
	pthread_join(t, &res);
	assert_int_equal((intptr_t)res, 2000);
	assert_int_equal(mmapio_close(good), 0);
	assert_int_equal(mmapio_close(bad), 0);
}

static volatile sig_atomic_t chained_sig;

static void chained_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	chained_sig = sig;
}

static void no_core(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
}

static int wait_child(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Outside a scope, a SIGBUS goes to the handler installed before ours. */
static void test_chains_to_previous_handler(void **state)
{
	struct sigaction sa;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = chained_handler;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		mmapio__sigbus_rearm();
		raise(SIGBUS);
		_exit(chained_sig == SIGBUS ? 42 : 1);
	}
	status = wait_child(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
}

/* Outside a scope with no previous handler, a real fault kills as usual. */
static void test_unguarded_fault_kills(void **state)
{
	size_t page = mmapio_page_size();
	struct sigaction sa;
	volatile char *p;
	pid_t pid;
	int fd, status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		no_core();
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGBUS, &sa, NULL);
		mmapio__sigbus_rearm();
		fd = open(tmpdir_path("k"), O_RDWR | O_CREAT, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)page) < 0)
			_exit(2);
		p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED || ftruncate(fd, 0) < 0)
			_exit(3);
		(void)p[0];
		_exit(4);
	}
	status = wait_child(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guarded_copy_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_file_is_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_cow_and_ro, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_fault_independently, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chains_to_previous_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unguarded_fault_kills, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
