/*
 * watch.c — watching a mapped file for changes made outside
 * (docs/libmmapio.md), one inotify instance per watch.
 *
 * Design
 *   - The watch is put on the file's own inode through /proc/self/fd/N
 *     (inotify resolves the magic link), so it follows the mapped file
 *     whatever its path was (the daemon passes paths relative to its
 *     backing root) and whatever renames happen. Without /proc it falls
 *     back to the path given at open.
 *   - IN_MODIFY is MMAPIO_WATCH_MODIFIED (truncation included: the kernel
 *     reports it as a modification); IN_ATTRIB is ATTRIB; IN_MOVE_SELF,
 *     IN_DELETE_SELF, IN_IGNORED, and an ATTRIB after which the file has
 *     no link left (unlink: the mapping keeps the inode alive, so
 *     DELETE_SELF cannot come while it is open) are DELETED. The link count
 *     is read with fstat on a duplicate of the file's descriptor.
 *   - The inotify fd is non-blocking and close-on-exec; waiting polls it
 *     against a CLOCK_MONOTONIC deadline (EINTR restarts with the time
 *     left), then drains every queued event.
 *   - Stores into a shared mapping (ours or anyone's) are invisible to
 *     inotify.
 *
 * Threads: one watch is used by one thread at a time; watches are
 * independent of each other and of the file's locks.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct mmapio_watch {
	int fd;        /* inotify instance */
	int file_fd;   /* duplicate of the watched file's fd, for fstat */
};

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static int add_watch(int ifd, const struct mmapio_file *f)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", f->fd);
	if (inotify_add_watch(ifd, self, WATCH_MASK) >= 0)
		return 0;
	if (errno != ENOENT || !f->path)
		return -errno;
	if (inotify_add_watch(ifd, f->path, WATCH_MASK) >= 0)
		return 0;
	return -errno;
}

int mmapio_watch(struct mmapio_file *f, struct mmapio_watch **out)
{
	struct mmapio_watch *w;
	int rc;

	if (f->anon)
		return -EINVAL;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->file_fd = -1;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = add_watch(w->fd, f);
	if (rc < 0)
		goto fail;
	w->file_fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (w->file_fd < 0) {
		rc = -errno;
		goto fail;
	}
	*out = w;
	return 0;

fail:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return rc;
}

int mmapio_watch_fd(const struct mmapio_watch *w)
{
	return w->fd;
}

static bool unlinked(const struct mmapio_watch *w)
{
	struct stat st;

	return fstat(w->file_fd, &st) == 0 && st.st_nlink == 0;
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
		if (seen & MMAPIO_WATCH_ATTRIB && unlinked(w))
			seen |= MMAPIO_WATCH_DELETED;
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
	close(w->file_fd);
	free(w);
}
