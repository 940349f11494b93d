/*
 * model/lookup.h — looking names up for requests: the inode of an entry
 * (model/inode.h) with the kernel's cache of a regular file dropped when
 * the file changed from outside since the kernel last saw it.
 */
#ifndef MMAPFS_MODEL_LOOKUP_H
#define MMAPFS_MODEL_LOOKUP_H

#include "model/inode.h"

/* Looks name up under parent (no symlink followed) and fills e, taking one
 * lookup reference. Returns 0 or -errno. */
int mmapfs_lookup(struct mmapfs_inode *parent, const char *name,
		  struct fuse_entry_param *e);
/* The same for an entry that the calling request just created, open as
 * made_fd or -1 (fewer syscalls; see mmapfs_inode_created_entry). */
int mmapfs_lookup_created(struct mmapfs_inode *parent, const char *name,
			  int made_fd, struct fuse_entry_param *e);
/* The same for an entry of parent's listing, whose inode number
 * (listed_ino, from getdents) tells whether the table may hold it. */
int mmapfs_lookup_listed(struct mmapfs_inode *parent, const char *name,
			 ino_t listed_ino, struct fuse_entry_param *e);

#endif /* MMAPFS_MODEL_LOOKUP_H */
