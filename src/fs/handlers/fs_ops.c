/*
 * fs_ops.c — the FUSE low-level operation table and connection setup
 * (init).
 *
 * Connection choices (init):
 *   - no splice: replies come straight from mappings and must be copied by
 *     the kernel while the view is pinned (vmsplice would keep references
 *     to the pages past the reply);
 *   - atomic_o_trunc: O_TRUNC arrives with OPEN, so truncation goes through
 *     the mapping;
 *   - no auto_inval_data: it would drop a file's cache after every write
 *     through the mount (the mtime moved), racing other clients' writes;
 *     the daemon drops the cache itself for changes made from outside
 *     (model/outside.c, model/invalidate.c);
 *   - no handle_killpriv (v1); FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14
 *     cannot ask for, is negotiated by the transport (daemon/kernel_io.c),
 *     and the daemon then drops set-ID bits and capabilities itself after
 *     each change of data (model/killpriv.c);
 *   - cache_symlinks where the kernel offers it;
 *   - writeback_cache only when the config asks (every policy is never);
 *   - POSIX ACLs when the kernel checks permissions (default_permissions);
 *   - max_write at libfuse's limit (1 MiB with 4 KiB pages).
 *
 * Threads: init runs once, before any other request.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "logic/log.h"
#include "model/mount.h"

#define MAX_WRITE (1024 * 1024)

static void mmapfs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
				  FUSE_CAP_SPLICE_READ |
				  FUSE_CAP_HANDLE_KILLPRIV);
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Not auto_inval_data: it drops a file's cache after every write
	 * through the mount (the mtime moved), racing other clients' writes;
	 * the daemon drops it itself for changes from outside (outside.c). */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (mmapfs_d.writeback_cache) {
		if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		else
			mmapfs_warn("the kernel has no writeback cache for FUSE");
	}
	if (mmapfs_d.default_permissions &&
	    (conn->capable & FUSE_CAP_POSIX_ACL))
		conn->want |= FUSE_CAP_POSIX_ACL;
	conn->max_write = MAX_WRITE;
}

const struct fuse_lowlevel_ops mmapfs_ops = {
	.init = mmapfs_init,
	.lookup = mmapfs_op_lookup,
	.forget = mmapfs_op_forget,
	.forget_multi = mmapfs_op_forget_multi,
	.getattr = mmapfs_op_getattr,
	.setattr = mmapfs_op_setattr,
	.access = mmapfs_op_access,
	.readlink = mmapfs_op_readlink,
	.mknod = mmapfs_op_mknod,
	.mkdir = mmapfs_op_mkdir,
	.symlink = mmapfs_op_symlink,
	.link = mmapfs_op_link,
	.unlink = mmapfs_op_unlink,
	.rmdir = mmapfs_op_rmdir,
	.rename = mmapfs_op_rename,
	.statfs = mmapfs_op_statfs,
	.opendir = mmapfs_op_opendir,
	.readdir = mmapfs_op_readdir,
	.readdirplus = mmapfs_op_readdirplus,
	.releasedir = mmapfs_op_releasedir,
	.fsyncdir = mmapfs_op_fsyncdir,
	.open = mmapfs_op_open,
	.create = mmapfs_op_create,
	.read = mmapfs_op_read,
	.write = mmapfs_op_write,
	.flush = mmapfs_op_flush,
	.release = mmapfs_op_release,
	.fsync = mmapfs_op_fsync,
	.fallocate = mmapfs_op_fallocate,
	.lseek = mmapfs_op_lseek,
	.copy_file_range = mmapfs_op_copy_file_range,
	.setxattr = mmapfs_op_setxattr,
	.getxattr = mmapfs_op_getxattr,
	.listxattr = mmapfs_op_listxattr,
	.removexattr = mmapfs_op_removexattr,
};
