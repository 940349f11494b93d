/*
 * signals.c — SIGHUP reloads the configuration.
 *
 * Design: libfuse's fuse_set_signal_handlers() makes SIGHUP end the
 * session. After it is installed (and after the daemon forked), SIGHUP is
 * blocked in the main thread, so every thread created afterwards
 * (libfuse's workers, the library's flusher) inherits the block, and one
 * thread reads it from a signalfd and calls mmapfs_reload(). The thread
 * also polls an eventfd that mmapfs_signals_stop() writes to end it.
 * A service manager hears RELOADING=1 before and READY=1 after each
 * SIGHUP reload (systemctl reload sends SIGHUP), whatever the outcome.
 * SIGINT and SIGTERM stay with libfuse: they end the session loop.
 * Stopping waits for the thread at most STOP_WAIT_MS: a reload that hangs
 * reading the config (reload.c) must not hang the exit; the thread is
 * then left to end with the process (its descriptors stay open for it),
 * and mmapfs_reload_shutdown() has made sure its reload applies nothing.
 *
 * Threads: the reader thread; start and stop from the main thread.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/notify.h"
#include "logic/log.h"
#include "model/reload.h"

#define STOP_WAIT_MS 2000

static int sig_fd = -1, stop_fd = -1;
static pthread_t thread;
static bool started;

static void *signals_main(void *arg)
{
	struct pollfd pfd[2] = {
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};

	(void)arg;
	for (;;) {
		struct signalfd_siginfo si;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			mmapfs_err("signal thread: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			mmapfs_notice("SIGHUP: reloading the configuration");
			(void)mmapfs_notify_reloading();
			(void)mmapfs_reload();
			(void)mmapfs_notify("READY=1");
		}
	}
}

int mmapfs_signals_start(void)
{
	sigset_t set;
	int res;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	res = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (res)
		return -res;
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sig_fd < 0)
		return -errno;
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0) {
		res = -errno;
		close(sig_fd);
		sig_fd = -1;
		return res;
	}
	res = pthread_create(&thread, NULL, signals_main, NULL);
	if (res) {
		close(sig_fd);
		close(stop_fd);
		sig_fd = stop_fd = -1;
		return -res;
	}
	started = true;
	return 0;
}

void mmapfs_signals_stop(void)
{
	uint64_t one = 1;
	struct timespec deadline;

	if (!started)
		return;
	mmapfs_reload_shutdown();
	if (write(stop_fd, &one, sizeof(one)) != sizeof(one))
		mmapfs_err("cannot stop the signal thread: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_WAIT_MS / 1000;
	deadline.tv_nsec += (STOP_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(thread, NULL, &deadline) != 0) {
		mmapfs_warn("a reload is still reading the config: exiting "
			    "without waiting for it");
		pthread_detach(thread);
		started = false;
		return;
	}
	close(sig_fd);
	close(stop_fd);
	sig_fd = stop_fd = -1;
	started = false;
}
