/*
 * model/fdcache.h — the inodes' O_PATH descriptors as a bounded cache (file handles
 * reopen what the cache closed).
 */
#ifndef MMAPFS_MODEL_FDCACHE_H
#define MMAPFS_MODEL_FDCACHE_H

#include "model/inode.h"

/* Chooses the mode (file handles or one descriptor per inode) and the
 * budget of idle descriptors; after RLIMIT_NOFILE was raised. Returns 0
 * (a missing feature only selects the fallback mode). */
int mmapfs_fdcache_init(int root_fd);
void mmapfs_fdcache_destroy(void);
/* A new inode (in->fd, type, dev, ino set; not yet in the table) looked
 * up as name beneath dirfd (-1: made from a bare descriptor): records its
 * handle and pins its fd for the creator. */
void mmapfs_fdcache_prepare(struct mmapfs_inode *in, int dirfd,
			    const char *name);
/* The same for a file this request made and holds open as made_fd: with
 * a handle the inode starts without a descriptor (in->fd -1); without
 * one it gets an O_PATH descriptor of made_fd's object. Returns 0 or
 * -errno (nothing to undo). */
int mmapfs_fdcache_prepare_made(struct mmapfs_inode *in, int dirfd,
				const char *name, int made_fd);
/* The new inode is in the table: counts its fd and drops the creator's
 * pin. */
void mmapfs_fdcache_admit(struct mmapfs_inode *in);
/* in (a file) is now name beneath dirfd (renamed): takes its handle
 * there, so that it reconnects through its new parent. */
void mmapfs_fdcache_rehandle(struct mmapfs_inode *in, int dirfd,
			     const char *name);
/* The inode is being freed: closes its fd and frees its handle. */
void mmapfs_fdcache_drop(struct mmapfs_inode *in);
/* The function that gives a descriptor for an object that no longer opens
 * by handle (an unlinked file kept open: its mapping's descriptor), or
 * -ENOENT: set once by the composition root, before the session starts. */
void mmapfs_fdcache_set_stand_in(int (*fn)(struct mmapfs_inode *in));
/* Pins the inode's O_PATH descriptor and returns it (opened again from
 * the inode's handle when the cache had closed it), or -errno: -ENOENT
 * when the object no longer exists (ESTALE from the handle), -EMFILE,
 * -ENOMEM. A successful call is paired with mmapfs_inode_fd_put(in);
 * the descriptor and its /proc/self/fd path are valid until then (a
 * failed call holds no pin). Thread-safe. */
int mmapfs_inode_fd_get(struct mmapfs_inode *in);
void mmapfs_inode_fd_put(struct mmapfs_inode *in);
/* After an open failed with err: when err is EMFILE or ENFILE, closes
 * idle cached descriptors (also below the budget) and returns true when
 * it closed any (the caller retries its open once); else false. */
bool mmapfs_fdcache_relieve(int err);
/* The smallest RLIMIT_NOFILE the daemon starts with (daemon/main.c). */
#define MMAPFS_MIN_NOFILE 128

#endif /* MMAPFS_MODEL_FDCACHE_H */
