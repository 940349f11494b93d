/*
 * test_notify.c — unit tests of the sd_notify sender (src/fs/daemon/notify.c) and
 * of the journal check of the log (src/fs/logic/log_journal.c): a datagram
 * reaches a socket named by a path and by an abstract name, nothing is
 * sent (and nothing fails) without NOTIFY_SOCKET, bad names are -EINVAL,
 * a vanished socket is an error; JOURNAL_STREAM counts only when it names
 * the very file open on the descriptor.
 *
 * Single-threaded; changes NOTIFY_SOCKET in its own environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/notify.h"
#include "logic/log_journal.h"

/* Binds a datagram socket to name ("/path" or "@abstract"). */
static int listen_on(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(len < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un,
						   sun_path) + len +
					  (name[0] == '/'))), 0);
	return fd;
}

static void expect_datagram(int fd, const char *text)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void test_path_and_abstract(void **state)
{
	char dir[] = "/tmp/test_notify.XXXXXX", path[128], abstract[64];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listen_on(path);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	assert_int_equal(mmapfs_notify("READY=1\nSTATUS=up"), 0);
	expect_datagram(fd, "READY=1\nSTATUS=up");
	assert_int_equal(mmapfs_notify_reloading(), 0);
	{
		char buf[128];
		unsigned long long usec;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

		assert_true(n > 0);
		buf[n] = '\0';
		assert_int_equal(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu",
					&usec), 1);
		assert_true(usec > 0);
	}
	close(fd);
	/* the listener is gone: the error is reported, nothing crashes */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mmapfs_notify("READY=1"), -ENOENT);
	assert_int_equal(rmdir(dir), 0);

	snprintf(abstract, sizeof(abstract), "@test_notify-%ld",
		 (long)getpid());
	fd = listen_on(abstract);
	assert_int_equal(setenv("NOTIFY_SOCKET", abstract, 1), 0);
	assert_int_equal(mmapfs_notify("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_no_or_bad_socket(void **state)
{
	char longname[200];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(mmapfs_notify("READY=1"), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(mmapfs_notify("READY=1"), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/name", 1), 0);
	assert_int_equal(mmapfs_notify("READY=1"), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(setenv("NOTIFY_SOCKET", longname, 1), 0);
	assert_int_equal(mmapfs_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

static void test_journal_stream(void **state)
{
	char path[] = "/tmp/test_journal.XXXXXX", text[64];
	struct stat st;
	int fd = mkstemp(path), other;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(text, sizeof(text), "%" PRIuMAX ":%" PRIuMAX,
		 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	assert_true(mmapfs_log_fd_is_journal(fd, text));
	snprintf(text, sizeof(text), "%" PRIuMAX ":%" PRIuMAX,
		 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	assert_false(mmapfs_log_fd_is_journal(fd, text));
	assert_false(mmapfs_log_fd_is_journal(fd, NULL));
	assert_false(mmapfs_log_fd_is_journal(fd, ""));
	assert_false(mmapfs_log_fd_is_journal(fd, "12"));
	assert_false(mmapfs_log_fd_is_journal(fd, "1:2:3"));
	assert_false(mmapfs_log_fd_is_journal(fd, ":5"));
	assert_false(mmapfs_log_fd_is_journal(fd, "-1:5"));
	assert_false(mmapfs_log_fd_is_journal(fd, "99999999999999999999999:1"));
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(text, sizeof(text), "%" PRIuMAX ":%" PRIuMAX,
		 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	assert_false(mmapfs_log_fd_is_journal(other, text));
	close(other);
	assert_false(mmapfs_log_fd_is_journal(-1, text));
	close(fd);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_and_abstract),
		cmocka_unit_test(test_no_or_bad_socket),
		cmocka_unit_test(test_journal_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
