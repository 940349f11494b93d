/*
 * virtual/virtual.h — the daemon side of the control and stats files
 * (docs/control.md):
 * the virtual inodes of `<control_dir>/` and `<stats_dir>/` (virtual.c),
 * the control ops on the daemon's inodes and mappings (control_ops.c),
 * and the read-only `user.mmapfs.*` xattrs of regular files
 * (xattr_virtual.c).
 *
 * The FUSE handlers (handlers/) route a request here with one
 * call first: node ids with MMAPFS_VIRTUAL_INO_BIT go to the
 * mmapfs_virtual_* handler of that operation (MMAPFS_ROUTE_VIRTUAL_TO), or
 * to mmapfs_virtual_reply() for operations a virtual inode does not
 * support; lookups in the root and entry changes in the root check the
 * two reserved names; the root's readdir adds and hides entries.
 *
 * Locks of this layer, outermost first (each is taken before any lock of
 * the model, model/inode.h; .ctl/lock's is the model's, ctl_lock.c):
 *   snap_lock, warn_lock        the open stats snapshots, the shadowed
 *              (virtual.c)      names warned about: leaves
 */
#ifndef MMAPFS_VIRTUAL_H
#define MMAPFS_VIRTUAL_H

#include "model/inode.h"

#include <limits.h>

#include "logic/control.h"

/* ---- virtual.c: the virtual inodes ---------------------------------- */

/* Lookup hook, first in the lookup handler: answers lookups in a virtual
 * directory, and of the control and stats directory names in the root.
 * Returns true when it replied. */
bool mmapfs_virtual_lookup(fuse_req_t req, fuse_ino_t parent,
			   const char *name);
/* Entry hook of the handlers that create, remove, link or rename name in
 * parent: refuses (EPERM) a virtual parent, and in the root the names of
 * the virtual directories (which would otherwise reach the shadowed
 * backing entry). Returns true when it replied. */
bool mmapfs_virtual_entry_refused(fuse_req_t req, fuse_ino_t parent,
				  const char *name);
/* Replies EPERM: the operation does not apply to a virtual inode. */
void mmapfs_virtual_reply(fuse_req_t req);
/* Replies 0 (flush, fsync, fsyncdir: nothing to make durable). */
void mmapfs_virtual_reply_ok(fuse_req_t req);

void mmapfs_virtual_getattr(fuse_req_t req, fuse_ino_t ino);
void mmapfs_virtual_setattr(fuse_req_t req, fuse_ino_t ino, int valid,
			    const struct stat *attr);
void mmapfs_virtual_open(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi);
void mmapfs_virtual_read(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi);
void mmapfs_virtual_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			  size_t size, struct fuse_file_info *fi);
void mmapfs_virtual_release(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi);
void mmapfs_virtual_opendir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi);
void mmapfs_virtual_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			    off_t off, bool plus);
void mmapfs_virtual_getxattr(fuse_req_t req, size_t size);
void mmapfs_virtual_listxattr(fuse_req_t req, size_t size);
/* Frees the stats snapshots the kernel never released (at exit, when no
 * request runs any more). */
void mmapfs_virtual_cleanup(void);

/* The root directory's listing: which backing entries the virtual
 * directories shadow (hidden always) and whether to list the virtual ones
 * (show_control). Taken once per readdir request. */
struct mmapfs_virtual_listing {
	bool root;                     /* the listed directory is the root */
	bool show;                     /* show_control */
	char ctl[NAME_MAX + 1];
	char stats[NAME_MAX + 1];
};

/* Readdir hook, before the backing entries: fills l for the directory
 * ino; in the root with show_control, at the start of the listing, adds
 * the virtual directories to buf (at most *rem bytes; *rem is reduced) and
 * turns the offsets handed out for them back into the backing stream's
 * (*off). Returns the bytes added. */
size_t mmapfs_virtual_readdir_root(fuse_req_t req, fuse_ino_t ino,
				   struct mmapfs_virtual_listing *l,
				   char *buf, size_t *rem, off_t *off,
				   bool plus);
/* True when the backing entry name must not be listed (shadowed). */
bool mmapfs_virtual_hidden(const struct mmapfs_virtual_listing *l,
			   const char *name);

/* ---- control_ops.c: struct mmapfs_control_ops on the daemon ----------- */

/* The control instance of the daemon (its ops, owner = the daemon's
 * effective uid). */
void mmapfs_control_instance(struct mmapfs_control *c);

/* ---- xattr_virtual.c: user.mmapfs.* --------------------------------- */

/* Hooks, first in the xattr handlers of non-virtual inodes. Each returns
 * true when it replied: getxattr of a user.mmapfs.* name, listxattr of a
 * regular file (its real names, then the virtual ones), setxattr and
 * removexattr of a user.mmapfs.* name (EPERM). */
bool mmapfs_xattr_virtual_get(fuse_req_t req, fuse_ino_t ino,
			      const char *name, size_t size);
bool mmapfs_xattr_virtual_list(fuse_req_t req, fuse_ino_t ino, size_t size);
bool mmapfs_xattr_virtual_refused(fuse_req_t req, const char *name);

#endif /* MMAPFS_VIRTUAL_H */
