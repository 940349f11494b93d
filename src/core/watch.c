/*
 * watch.c — watching a mapped file for changes made outside (DESIGN §3.3):
 * one inotify instance per watch, on the path the file was opened with.
 *
 * Design: IN_MODIFY is MMAPIO_WATCH_MODIFIED (truncation included: the
 * kernel reports it as a modification), IN_ATTRIB is ATTRIB, and
 * IN_DELETE_SELF / IN_MOVE_SELF / IN_IGNORED (the watch went away) are
 * DELETED. The inotify fd is non-blocking and close-on-exec; waiting polls
 * it against a CLOCK_MONOTONIC deadline (EINTR restarts with the time
 * left), then drains every queued event.
 *
 * The watch follows the path's inode at mmapio_watch() time; if the path
 * was replaced before that, it watches the new file (inotify has no fd
 * form). Our own writes through a shared mapping do not generate IN_MODIFY
 * (the kernel does not see stores into page-cache pages as writes).
 *
 * Threads: one watch is used by one thread at a time; watches of the same
 * file are independent.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

struct mmapio_watch {
	int fd;
};

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

int mmapio_watch(struct mmapio_file *f, struct mmapio_watch **out)
{
	struct mmapio_watch *w;
	int rc;

	if (!f->path || f->anon)
		return -EINVAL;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		rc = -errno;
		free(w);
		return rc;
	}
	if (inotify_add_watch(w->fd, f->path, WATCH_MASK) < 0) {
		rc = -errno;
		close(w->fd);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int mmapio_watch_fd(const struct mmapio_watch *w)
{
	return w->fd;
}

/* Reads every queued event; returns their OR, or -errno. */
static int drain(struct mmapio_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	int seen = 0;

	for (;;) {
		n = read(w->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN)
				return seen;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_MODIFY)
				seen |= MMAPIO_WATCH_MODIFIED;
			if (ev->mask & IN_ATTRIB)
				seen |= MMAPIO_WATCH_ATTRIB;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
				seen |= MMAPIO_WATCH_DELETED;
		}
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mmapio_watch_wait(struct mmapio_watch *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int wait = timeout_ms, rc;

	for (;;) {
		rc = poll(&pfd, 1, wait);
		if (rc > 0)
			return drain(w);
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
		if (timeout_ms > 0) {
			int64_t left = deadline - now_ms();

			wait = left > 0 ? (int)left : 0;
		}
	}
}

void mmapio_watch_close(struct mmapio_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}
