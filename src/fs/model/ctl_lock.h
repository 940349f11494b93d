/*
 * model/ctl_lock.h — `.ctl/lock` and `.ctl/unlock` on the model's inodes
 * and mappings: each file's locked pages, charged to max_locked_bytes once
 * per page, and given back on unlock, truncation, a shrink from outside
 * and the FORGET of a file with no name left; and the open a control
 * command makes of a file.
 */
#ifndef MMAPFS_MODEL_CTL_LOCK_H
#define MMAPFS_MODEL_CTL_LOCK_H

#include "model/inode.h"

/* Opens in as a FUSE open would, through a handle without a descriptor
 * (for a control command). Returns 0 with *hp, or -errno. */
int mmapfs_ctl_open(struct mmapfs_inode *in, struct mmapfs_handle **hp);
/* mlock()s the pages of [off, off + len) of in's mapping, charging
 * max_locked_bytes for the pages not locked through .ctl/lock before.
 * Returns 0, -ENOMEM (over the budget, or mlock's), -ENODEV (a file
 * served by pread/pwrite), or another -errno. */
int mmapfs_ctl_lock(struct mmapfs_inode *in, uint64_t off, uint64_t len);
/* munlock()s the pages of [off, off + len) and gives back the budget of
 * those that .ctl/lock had locked. Returns 0 or -errno. */
int mmapfs_ctl_unlock(struct mmapfs_inode *in, uint64_t off, uint64_t len);
/* After in was truncated to size through the mount: its locked pages
 * past the new end leave the budget. No lock may be held. */
void mmapfs_ctl_locks_truncated(struct mmapfs_inode *in, uint64_t size);
/* FORGET of n lookups of in (the FORGET handlers call it instead of
 * mmapfs_inode_forget): a file with locked pages and no name left
 * (unlinked, last open closed) lets go of them. */
void mmapfs_ctl_forget(struct mmapfs_inode *in, uint64_t n);
/* Part of the inode table's teardown (before the mapping's): frees what
 * the inode's .ctl/lock state holds. No request may run. */
void mmapfs_ctl_inode_gone(struct mmapfs_inode *in);

#endif /* MMAPFS_MODEL_CTL_LOCK_H */
