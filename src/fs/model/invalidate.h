/*
 * model/invalidate.h — the thread that drops the kernel's caches of inodes
 * (invalidating from a request handler can deadlock).
 */
#ifndef MMAPFS_MODEL_INVALIDATE_H
#define MMAPFS_MODEL_INVALIDATE_H

#include "model/inode.h"

int mmapfs_invalidate_start(void);
void mmapfs_invalidate_stop(void);
/* Queues an invalidation of the inode's cached data and attributes. Never
 * blocks; drops the request when the queue is full (logged once). */
void mmapfs_invalidate_queue(fuse_ino_t ino);

#endif /* MMAPFS_MODEL_INVALIDATE_H */
