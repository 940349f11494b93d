/*
 * model/truncate.h — changing a regular file's size: through its mapping
 * when it has one, else through a descriptor; the change bracketed as the
 * daemon's own (outside.c) and set-ID bits dropped (killpriv.c).
 */
#ifndef MMAPFS_MODEL_TRUNCATE_H
#define MMAPFS_MODEL_TRUNCATE_H

#include "model/inode.h"

/* Truncates an inode to size, through its mapping when it has one.
 * fd: an open descriptor of the file, or -1. Returns 0 or -errno. */
int mmapfs_file_truncate(struct mmapfs_inode *in, int fd, off_t size);

#endif /* MMAPFS_MODEL_TRUNCATE_H */
