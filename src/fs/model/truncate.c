/*
 * truncate.c — changing a regular file's size (setattr size, O_TRUNC at
 * open). A read-write mapping truncates through libmmapio (which remaps
 * before it shrinks the file, so the daemon never maps past the end);
 * otherwise a descriptor (the open's, the mapping's, or the inode's by
 * path) does it and the mapping follows. The change is the daemon's own
 * (outside.c) and drops set-ID bits as a local file system would
 * (killpriv.c); mtime and ctime are set explicitly. Pages locked through
 * .ctl/lock past the new end leave the lock budget (ctl_lock.c).
 *
 * Threads: any request thread; the mapping is pinned for the call.
 */
#include "model/truncate.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "model/ctl_lock.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/mapping.h"
#include "model/outside.h"

/* Sets the file's mtime to now through fd (open), or else through the
 * inode's pinned O_PATH descriptor pfd. */
static void set_mtime_now(int pfd, int fd)
{
	static const struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_NOW },
	};
	char proc[64];

	if (fd >= 0) {
		(void)futimens(fd, times);
		return;
	}
	mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	(void)utimensat(AT_FDCWD, proc, times, 0);
}

int mmapfs_file_truncate(struct mmapfs_inode *in, int fd, off_t size)
{
	/* Truncation works without a mapping: a lazily mapped file stays
	 * so. */
	struct mmapio_file *mf = mmapfs_mapping_get_lazy(in);
	char proc[64];
	int res, pfd = -1;

	if (!mf && fd < 0) {
		/* Neither a mapping nor an open descriptor: by path. */
		pfd = mmapfs_inode_fd_get(in);
		if (pfd < 0) {
			mmapfs_mapping_put(in, mf);
			return pfd;
		}
	}
	mmapfs_own_change_begin(in, fd >= 0 ? fd : mf ? mmapio_fd(mf) : pfd);
	/* A mapping that lags behind the file (it could not grow with it,
	 * mapping.c) does not know the file's length: the descriptor
	 * truncates, the mapping follows as far as it can. */
	if (mf && mmapio_mode(mf) == MMAPIO_RW &&
	    !mmapfs_mapping_stale(in)) {
		res = mmapio_truncate(mf, (uint64_t)size);
	} else {
		if (fd >= 0 || mf) {
			res = ftruncate(fd >= 0 ? fd : mmapio_fd(mf), size);
		} else {
			mmapfs_fd_procpath(pfd, proc, sizeof(proc));
			res = truncate(proc, size);
		}
		res = res < 0 ? -errno : 0;
		if (res == 0 && mf)
			(void)mmapio_refresh(mf);
	}
	if (fd < 0 && mf)
		fd = mmapio_fd(mf);
	if (res == 0)
		set_mtime_now(pfd, fd);
	/* fd (-1 without one: the inode's own is O_PATH, no good for
	 * fchmod) */
	mmapfs_own_change_end_data(in, fd);
	if (pfd >= 0)
		mmapfs_inode_fd_put(in);
	mmapfs_mapping_put(in, mf);
	if (res == 0)	/* pages past the end are no longer locked */
		mmapfs_ctl_locks_truncated(in, (uint64_t)size);
	return res;
}

