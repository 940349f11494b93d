/*
 * ops_xattr.c — FUSE handlers for extended attributes (and so POSIX
 * ACLs): getxattr, setxattr, listxattr, removexattr, passed to the backing
 * object.
 *
 * Design: the inode's O_PATH descriptor cannot serve f*xattr(), so the
 * path variants run on "/proc/self/fd/N": the magic link resolves to the
 * object itself (for a symlink, the symlink), never to anything outside
 * the backing directory. Permission checks are the kernel's (VFS xattr
 * namespace rules, default_permissions); the per-file virtual attributes
 * user.mmapfs.* are xattr_virtual.c's (one hook first in each handler).
 *
 * Threads: any request thread; no locks.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

/* Replies to a get/list whose result went to buf (size 0: only asked for
 * the length). n is the syscall's result. */
static void reply_xattr_result(fuse_req_t req, ssize_t n, const char *buf,
			       size_t size)
{
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void mmapfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	char proc[64], *buf = NULL;
	ssize_t n;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_getxattr(req, size));
	if (mmapfs_xattr_virtual_get(req, ino, name, size))
		return;
	mmapfs_inode_procpath(mmapfs_inode_get(ino), proc, sizeof(proc));
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = getxattr(proc, name, buf, size);
	reply_xattr_result(req, n, buf, size);
	free(buf);
}

void mmapfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char proc[64], *buf = NULL;
	ssize_t n;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_listxattr(req, size));
	if (mmapfs_xattr_virtual_list(req, ino, size))
		return;
	mmapfs_inode_procpath(mmapfs_inode_get(ino), proc, sizeof(proc));
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = listxattr(proc, buf, size);
	reply_xattr_result(req, n, buf, size);
	free(buf);
}

void mmapfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	char proc[64];

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	if (mmapfs_xattr_virtual_refused(req, name))
		return;
	mmapfs_inode_procpath(mmapfs_inode_get(ino), proc, sizeof(proc));
	fuse_reply_err(req, setxattr(proc, name, value, size, flags) < 0 ?
			    errno : 0);
}

void mmapfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char proc[64];

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	if (mmapfs_xattr_virtual_refused(req, name))
		return;
	mmapfs_inode_procpath(mmapfs_inode_get(ino), proc, sizeof(proc));
	fuse_reply_err(req, removexattr(proc, name) < 0 ? errno : 0);
}
