/*
 * metadata_sync.c — durable names under the `always` policy. A create,
 * rename, link, unlink or truncation is durable once the entry itself
 * (its data and inode: fsync) and the directory that names it (fsync of
 * the directory) are; a crash after the reply then finds the name, as the
 * `always` row of the durability table promises. Other policies make no
 * promise for names, so nothing is synced for them.
 *
 * The policy is the config's for the entry's path (a new name has no
 * inode yet, and so no .ctl/policy override).
 *
 * Threads: any request thread; no lock of its own.
 */
#include "model/metadata_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "model/fdcache.h"
#include "model/inode.h"
#include "model/running_config.h"

static int fsync_fd(int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

int mmapfs_sync_metadata(struct mmapfs_inode *parent, const char *name,
			 int fd)
{
	struct mmapfs_file_settings s;
	struct mmapfs_config *cfg = mmapfs_config_current();
	char *rel;
	int res, dfd, pfd;

	if (mmapfs_config_all_never(cfg)) {
		mmapfs_config_unref(cfg);
		return 0;
	}
	res = mmapfs_inode_entry_path(parent, name, &rel);
	if (res < 0) {
		mmapfs_config_unref(cfg);
		return res;
	}
	mmapfs_config_settings_for(cfg, rel, &s);
	mmapfs_config_unref(cfg);
	free(rel);
	if (s.flush.kind != MMAPIO_POLICY_ALWAYS)
		return 0;
	pfd = mmapfs_inode_fd_get(parent);
	if (pfd < 0)
		return pfd;
	if (fd >= 0) {
		res = fsync_fd(fd);
	} else if (fd == MMAPFS_SYNC_OPEN_DIR) {
		dfd = openat(pfd, name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		res = dfd < 0 ? -errno : fsync_fd(dfd);
		if (dfd >= 0)
			close(dfd);
	}
	if (res == 0) {
		dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		res = dfd < 0 ? -errno : fsync_fd(dfd);
		if (dfd >= 0)
			close(dfd);
	}
	mmapfs_inode_fd_put(parent);
	return res;
}

