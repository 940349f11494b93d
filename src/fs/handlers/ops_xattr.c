/*
 * ops_xattr.c — FUSE handlers for extended attributes (and so POSIX
 * ACLs): getxattr, setxattr, listxattr, removexattr, passed to the backing
 * object.
 *
 * Design: the inode's O_PATH descriptor cannot serve f*xattr(), so the
 * path variants run on "/proc/self/fd/N": the magic link resolves to the
 * object itself (for a symlink, the symlink), never to anything outside
 * the backing directory; the descriptor is pinned around the call
 * (mmapfs_inode_fd_get). Permission checks are the kernel's (VFS xattr
 * namespace rules, default_permissions); the per-file virtual attributes
 * user.mmapfs.* are xattr_virtual.c's (one hook first in each handler).
 *
 * The kernel asks for security.capability before every write (FUSE sets
 * no SB_NOSEC, so file_remove_privs always asks): an absent one is cached
 * in the inode (nocap_ctime) with the ctime seen just before asking, and
 * answered without a syscall until a setxattr or removexattr through the
 * mount, an open that sees an outside change, or a getattr/lookup that
 * sees another ctime (an outside setcap changes it) forgets it.
 *
 * Threads: any request thread; no locks (nocap_ctime is atomic).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "handlers/handlers.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/outside.h"
#include "virtual/virtual.h"

#define CAPABILITY_XATTR "security.capability"

/* Replies to a get/list whose result went to buf (size 0: only asked for
 * the length). n is the syscall's result, or -errno. */
static void reply_xattr_result(fuse_req_t req, ssize_t n, const char *buf,
			       size_t size)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void mmapfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct mmapfs_inode *in;
	char proc[64], *buf = NULL;
	int64_t ctime_ns = 0;
	struct stat st;
	ssize_t n;
	int fd;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_getxattr(req, size));
	if (mmapfs_xattr_virtual_get(req, ino, name, size))
		return;
	in = mmapfs_inode_get(ino);
	if (strcmp(name, CAPABILITY_XATTR) == 0) {
		if (mmapfs_inode_nocap_known(in)) {
			fuse_reply_err(req, ENODATA);
			return;
		}
		/* The ctime before asking: a change in between shows as a
		 * newer ctime at the next getattr. */
		if (mmapfs_inode_stat(in, &st) == 0)
			ctime_ns = mmapfs_ctime_ns(&st);
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = mmapfs_inode_fd_get(in);
	if (fd >= 0) {
		mmapfs_fd_procpath(fd, proc, sizeof(proc));
		n = getxattr(proc, name, buf, size);
		if (n < 0)
			n = -errno;
		mmapfs_inode_fd_put(in);
	} else {
		n = fd;
	}
	if (n == -ENODATA && ctime_ns)
		mmapfs_inode_nocap_set(in, ctime_ns);
	reply_xattr_result(req, n, buf, size);
	free(buf);
}

void mmapfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mmapfs_inode *in;
	char proc[64], *buf = NULL;
	ssize_t n;
	int fd;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_listxattr(req, size));
	if (mmapfs_xattr_virtual_list(req, ino, size))
		return;
	in = mmapfs_inode_get(ino);
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = mmapfs_inode_fd_get(in);
	if (fd >= 0) {
		mmapfs_fd_procpath(fd, proc, sizeof(proc));
		n = listxattr(proc, buf, size);
		if (n < 0)
			n = -errno;
		mmapfs_inode_fd_put(in);
	} else {
		n = fd;
	}
	reply_xattr_result(req, n, buf, size);
	free(buf);
}

/* setxattr (remove false) or removexattr of the backing object, a change
 * of the daemon's own (outside.c). */
static void change_xattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 bool remove, const char *value, size_t size, int flags)
{
	struct mmapfs_inode *in;
	char proc[64];
	int fd, res;

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	if (mmapfs_xattr_virtual_refused(req, name))
		return;
	in = mmapfs_inode_get(ino);
	fd = mmapfs_inode_fd_get(in);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	mmapfs_fd_procpath(fd, proc, sizeof(proc));
	mmapfs_own_change_begin(in, fd);
	res = (remove ? removexattr(proc, name) :
			setxattr(proc, name, value, size, flags)) < 0 ? errno : 0;
	mmapfs_own_change_end(in, fd);
	mmapfs_inode_fd_put(in);
	mmapfs_inode_nocap_forget(in);
	fuse_reply_err(req, res);
}

void mmapfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	change_xattr(req, ino, name, false, value, size, flags);
}

void mmapfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	change_xattr(req, ino, name, true, NULL, 0, 0);
}
