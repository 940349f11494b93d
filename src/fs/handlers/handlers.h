/*
 * handlers/handlers.h — the FUSE request handlers: the low-level operation
 * table (fs_ops.c) and one file per group of operations (entries,
 * directories, files, xattrs). Handlers are short: route virtual node ids
 * first (virtual/), look the inode up, one model call, reply.
 */
#ifndef MMAPFS_HANDLERS_H
#define MMAPFS_HANDLERS_H

#include "model/inode.h"
#include "virtual/virtual.h"

/* First statement of every handler taking a node id: requests on virtual
 * inodes go to their own handler (virtual/virtual.h): call, or with
 * MMAPFS_ROUTE_VIRTUAL, an EPERM reply for operations they do not have. */
#define MMAPFS_ROUTE_VIRTUAL_TO(ino, call)              \
	do {                                            \
		if (mmapfs_ino_is_virtual(ino)) {       \
			call;                           \
			return;                         \
		}                                       \
	} while (0)
#define MMAPFS_ROUTE_VIRTUAL(req, ino)                  \
	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply(req))

/* fs_ops.c: the operation table (init and every handler below) */
extern const struct fuse_lowlevel_ops mmapfs_ops;

/* ops_entry.c */
void mmapfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void mmapfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void mmapfs_op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets);
void mmapfs_op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void mmapfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi);
void mmapfs_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void mmapfs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void mmapfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev);
void mmapfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode);
void mmapfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name);
void mmapfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname);
void mmapfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void mmapfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void mmapfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags);
void mmapfs_op_statfs(fuse_req_t req, fuse_ino_t ino);

/* ops_dir.c */
void mmapfs_op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void mmapfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi);
void mmapfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi);
void mmapfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi);
void mmapfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi);

/* ops_file.c */
void mmapfs_op_open(fuse_req_t req, fuse_ino_t ino,
		    struct fuse_file_info *fi);
void mmapfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi);
void mmapfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void mmapfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi);
void mmapfs_op_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi);
void mmapfs_op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void mmapfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi);
void mmapfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length,
			 struct fuse_file_info *fi);
void mmapfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi);
void mmapfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags);
/* ops_xattr.c */
void mmapfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags);
void mmapfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size);
void mmapfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void mmapfs_op_removexattr(fuse_req_t req, fuse_ino_t ino,
			   const char *name);

#endif /* MMAPFS_HANDLERS_H */
