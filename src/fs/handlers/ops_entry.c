/*
 * ops_entry.c — FUSE handlers for names and attributes: lookup, forget,
 * getattr, setattr, access, readlink, mknod, mkdir, symlink, link,
 * unlink, rmdir, rename, statfs.
 *
 * Design: each handler looks its inodes up, pins their O_PATH descriptors
 * (mmapfs_inode_fd_get: the fd cache may have closed an idle one), makes
 * one *at() call relative to them (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, or
 * the /proc/self/fd/N path of the descriptor where the syscall has no *at
 * form), unpins, and replies; -errno turns into a FUSE error at the reply. Objects
 * are created, and renamed, with the requester's credentials (creds.c).
 * Under the
 * `always` policy the metadata change is made durable before the reply
 * (mmapfs_sync_metadata).
 *
 * Threads: any request thread; no lock of this file's own.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "logic/log.h"
#include "model/creds.h"
#include "model/ctl_lock.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/invalidate.h"
#include "model/lookup.h"
#include "model/mapping.h"
#include "model/metadata_sync.h"
#include "model/mount.h"
#include "model/outside.h"
#include "model/truncate.h"
#include "virtual/virtual.h"

void mmapfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int res;

	if (mmapfs_virtual_lookup(req, parent, name))
		return;
	res = mmapfs_lookup(mmapfs_inode_get(parent), name, &e);
	if (res == -ENOENT) {
		/* A negative entry: the kernel caches the absence for
		 * entry_timeout, as it caches names that exist (a create
		 * through the mount replaces it at once). Saves the repeated
		 * lookups of a name about to be created. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = mmapfs_entry_timeout();
		fuse_reply_entry(req, &e);
		return;
	}
	mmapfs_reply_entry_or_err(req, res, &e);
}

void mmapfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (!mmapfs_ino_is_virtual(ino))
		mmapfs_ctl_forget(mmapfs_inode_get(ino), nlookup);
	fuse_reply_none(req);
}

void mmapfs_op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++) {
		if (!mmapfs_ino_is_virtual(forgets[i].ino))
			mmapfs_ctl_forget(mmapfs_inode_get(forgets[i].ino),
					  forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

/* Replies with the current attributes of in (known: read just now, or
 * NULL: stat it), and has the kernel's cache of a file dropped when they
 * show a change made from outside. */
static void reply_attr(fuse_req_t req, struct mmapfs_inode *in,
		       const struct stat *known)
{
	struct stat st;
	int res = 0;

	if (known)
		st = *known;
	else
		res = mmapfs_inode_stat(in, &st);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	if (S_ISREG(st.st_mode)) {
		/* Both run: each records what it saw. */
		bool outside = mmapfs_outside_check(in, &st);
		bool resized = mmapfs_mapping_check_size(in, st.st_size);

		if (outside || resized)
			mmapfs_invalidate_queue(mmapfs_inode_nodeid(in));
	}
	mmapfs_inode_nocap_check(in, &st);
	fuse_reply_attr(req, &st, mmapfs_attr_timeout());
}

void mmapfs_op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)fi;
	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_getattr(req, ino));
	reply_attr(req, mmapfs_inode_get(ino), NULL);
}

/* pfd: the inode's pinned O_PATH descriptor; fd: an open one, or -1. */
static int set_times(struct mmapfs_inode *in, int pfd, int fd,
		     const struct stat *attr, int valid)
{
	struct timespec tv[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	char proc[64];

	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (fd >= 0)
		return futimens(fd, tv) < 0 ? -errno : 0;
	if (S_ISLNK(in->type)) {
		/* Linux has no utimensat(AT_EMPTY_PATH). */
		if (utimensat(pfd, "", tv, AT_EMPTY_PATH) < 0)
			return errno == EINVAL ? -EPERM : -errno;
		return 0;
	}
	mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	return utimensat(AT_FDCWD, proc, tv, 0) < 0 ? -errno : 0;
}

/* fsync of an inode's file (fd when given, else a fresh descriptor opened
 * through pfd, its pinned O_PATH descriptor). */
static int fsync_inode(int pfd, int fd)
{
	char proc[64];
	int res = 0;

	if (fd >= 0)
		return fsync(fd) < 0 ? -errno : 0;
	mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		res = -errno;
	close(fd);
	return res;
}

/* pfd: the inode's pinned O_PATH descriptor; fd: the open's, or -1. */
static int do_setattr(struct mmapfs_inode *in, int pfd, struct stat *attr,
		      int valid, int fd)
{
	char proc[64];
	int res;

	mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	if (valid & FUSE_SET_ATTR_MODE) {
		res = fd >= 0 ? fchmod(fd, attr->st_mode) :
				fchmodat(AT_FDCWD, proc, attr->st_mode, 0);
		if (res < 0)
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid :
							  (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid :
							  (gid_t)-1;

		if (fchownat(pfd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		res = mmapfs_file_truncate(in, fd, attr->st_size);
		if (res < 0)
			return res;
		if (mmapfs_inode_policy_always(in)) {
			res = fsync_inode(pfd, fd);
			if (res < 0)
				return res;
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		     FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) {
		res = set_times(in, pfd, fd, attr, valid);
		if (res < 0)
			return res;
	}
	return 0;
}

void mmapfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	struct mmapfs_inode *in;
	struct stat st;
	int fd, res, pfd;
	bool seen;

	MMAPFS_ROUTE_VIRTUAL_TO(ino,
				mmapfs_virtual_setattr(req, ino, valid, attr));
	in = mmapfs_inode_get(ino);
	fd = fi ? ((struct mmapfs_handle *)(uintptr_t)fi->fh)->fd : -1;
	pfd = mmapfs_inode_fd_get(in);
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	mmapfs_own_change_begin(in, pfd);
	res = do_setattr(in, pfd, attr, valid, fd);
	seen = mmapfs_own_change_end_attrs(in, fd >= 0 ? fd : pfd, &st);
	mmapfs_inode_fd_put(in);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	reply_attr(req, in, seen ? &st : NULL);
}

void mmapfs_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct mmapfs_inode *in;
	char proc[64];
	int res;

	/* Only sent without default_permissions, i.e. to a daemon serving
	 * its own user: the backing file system answers for the daemon's
	 * credentials, which are the requester's. */
	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply_ok(req));
	in = mmapfs_inode_get(ino);
	res = mmapfs_inode_fd_get(in);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	mmapfs_fd_procpath(res, proc, sizeof(proc));
	res = faccessat(AT_FDCWD, proc, mask, 0) < 0 ? errno : 0;
	mmapfs_inode_fd_put(in);
	fuse_reply_err(req, res);
}

void mmapfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mmapfs_inode *in;
	char buf[PATH_MAX + 1];
	ssize_t n;
	int fd;

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	in = mmapfs_inode_get(ino);
	fd = mmapfs_inode_fd_get(in);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		n = -errno;
	mmapfs_inode_fd_put(in);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	if ((size_t)n >= sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

enum new_kind { NEW_NODE, NEW_DIR, NEW_SYMLINK };

/* Creates name under parent with the requester's credentials, looks it
 * up, makes it durable under `always`, and replies. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       enum new_kind kind, mode_t mode, dev_t rdev,
		       const char *target)
{
	struct mmapfs_inode *dir;
	struct mmapfs_creds_saved saved;
	struct fuse_entry_param e;
	int res, dfd;

	if (mmapfs_virtual_entry_refused(req, parent, name))
		return;
	dir = mmapfs_inode_get(parent);
	dfd = mmapfs_inode_fd_get(dir);
	if (dfd < 0) {
		fuse_reply_err(req, -dfd);
		return;
	}
	res = mmapfs_creds_enter(req, &saved);
	if (res == 0) {
		mmapfs_own_change_begin(dir, dfd);
		if (kind == NEW_DIR)
			res = mkdirat(dfd, name, mode);
		else if (kind == NEW_SYMLINK)
			res = symlinkat(target, dfd, name);
		else
			res = mknodat(dfd, name, mode, rdev);
		if (res < 0)
			res = -errno;
		mmapfs_own_change_end(dir, dfd);
		mmapfs_creds_leave(&saved);
	}
	mmapfs_inode_fd_put(dir);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	res = mmapfs_sync_metadata(dir, name,
				   kind == NEW_DIR ? MMAPFS_SYNC_OPEN_DIR : -1);
	if (res == 0)
		res = mmapfs_lookup_created(dir, name, -1, &e);
	mmapfs_reply_entry_or_err(req, res, &e);
}

void mmapfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make_entry(req, parent, name, NEW_NODE, mode, rdev, NULL);
}

void mmapfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_entry(req, parent, name, NEW_DIR, mode, 0, NULL);
}

void mmapfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_entry(req, parent, name, NEW_SYMLINK, 0, 0, link);
}

/* Pins the descriptors of a and b (link, rename); on failure replies the
 * error and pins nothing. Returns 0 or -errno. */
static int pin_both(fuse_req_t req, struct mmapfs_inode *a, int *afd,
		    struct mmapfs_inode *b, int *bfd)
{
	*afd = mmapfs_inode_fd_get(a);
	if (*afd < 0) {
		fuse_reply_err(req, -*afd);
		return *afd;
	}
	*bfd = mmapfs_inode_fd_get(b);
	if (*bfd < 0) {
		mmapfs_inode_fd_put(a);
		fuse_reply_err(req, -*bfd);
		return *bfd;
	}
	return 0;
}

void mmapfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct mmapfs_inode *in, *dir;
	struct fuse_entry_param e;
	char proc[64];
	int res, fd, dfd;

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	if (mmapfs_virtual_entry_refused(req, newparent, newname))
		return;
	in = mmapfs_inode_get(ino);
	dir = mmapfs_inode_get(newparent);
	if (pin_both(req, in, &fd, dir, &dfd) < 0)
		return;
	mmapfs_own_change_begin(in, fd); /* the link count is in the ctime */
	mmapfs_own_change_begin(dir, dfd);
	res = linkat(fd, "", dfd, newname, AT_EMPTY_PATH);
	if (res < 0 && (errno == ENOENT || errno == EPERM) && !mmapfs_d.is_root) {
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH. */
		mmapfs_fd_procpath(fd, proc, sizeof(proc));
		res = linkat(AT_FDCWD, proc, dfd, newname, AT_SYMLINK_FOLLOW);
	}
	res = res < 0 ? -errno : 0;
	mmapfs_own_change_end(dir, dfd);
	mmapfs_own_change_end(in, fd);
	mmapfs_inode_fd_put(dir);
	mmapfs_inode_fd_put(in);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	res = mmapfs_sync_metadata(dir, newname, -1);
	if (res == 0)
		res = mmapfs_lookup(dir, newname, &e);
	mmapfs_reply_entry_or_err(req, res, &e);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 int flags)
{
	struct mmapfs_inode *dir;
	int res, dfd;

	if (mmapfs_virtual_entry_refused(req, parent, name))
		return;
	dir = mmapfs_inode_get(parent);
	dfd = mmapfs_inode_fd_get(dir);
	if (dfd < 0) {
		fuse_reply_err(req, -dfd);
		return;
	}
	mmapfs_own_change_begin(dir, dfd);
	res = unlinkat(dfd, name, flags) < 0 ? -errno : 0;
	mmapfs_own_change_end(dir, dfd);
	mmapfs_inode_fd_put(dir);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	res = mmapfs_sync_metadata(dir, name, -1);
	fuse_reply_err(req, -res);
}

void mmapfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, 0);
}

void mmapfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, AT_REMOVEDIR);
}

void mmapfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct mmapfs_inode *dir, *newdir;
	struct mmapfs_creds_saved saved;
	int res, dfd, newdfd;

	if (mmapfs_virtual_entry_refused(req, parent, name) ||
	    mmapfs_virtual_entry_refused(req, newparent, newname))
		return;
	dir = mmapfs_inode_get(parent);
	newdir = mmapfs_inode_get(newparent);
	if (pin_both(req, dir, &dfd, newdir, &newdfd) < 0)
		return;
	/* With the requester's credentials, as create: the backing file
	 * system checks as the caller, and the whiteout RENAME_WHITEOUT
	 * leaves behind belongs to the caller (not to the daemon). */
	res = mmapfs_creds_enter(req, &saved);
	if (res == 0) {
		mmapfs_own_change_begin(dir, dfd);
		if (newdir != dir)
			mmapfs_own_change_begin(newdir, newdfd);
		res = renameat2(dfd, name, newdfd, newname, flags) < 0 ?
		      -errno : 0;
		if (newdir != dir)
			mmapfs_own_change_end(newdir, newdfd);
		mmapfs_own_change_end(dir, dfd);
		mmapfs_creds_leave(&saved);
	}
	if (res == 0) {
		/* The moved objects' paths (and, for files that changed
		 * parent, their handles) follow. */
		mmapfs_inode_moved(newdir, newdfd, newname, newdir != dir);
		if (flags & RENAME_EXCHANGE)
			mmapfs_inode_moved(dir, dfd, name, newdir != dir);
	}
	mmapfs_inode_fd_put(newdir);
	mmapfs_inode_fd_put(dir);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	res = mmapfs_sync_metadata(newdir, newname, -1);
	if (res == 0 && newdir != dir)
		res = mmapfs_sync_metadata(dir, name, -1);
	fuse_reply_err(req, -res);
}

void mmapfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct mmapfs_inode *in;
	struct statvfs sv;
	int res;

	/* The control and stats files live on the mount: its numbers. */
	in = mmapfs_inode_get(mmapfs_ino_is_virtual(ino) ? FUSE_ROOT_ID : ino);
	res = mmapfs_inode_fd_get(in);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	res = fstatvfs(res, &sv) < 0 ? errno : 0;
	mmapfs_inode_fd_put(in);
	if (res) {
		fuse_reply_err(req, res);
		return;
	}
	fuse_reply_statfs(req, &sv);
}
