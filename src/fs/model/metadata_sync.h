/*
 * model/metadata_sync.h — durable names under the `always` policy: after a
 * create, rename, link, unlink or truncation, the entry and its parent
 * directory are synced before the request returns.
 */
#ifndef MMAPFS_MODEL_METADATA_SYNC_H
#define MMAPFS_MODEL_METADATA_SYNC_H

#include "model/inode.h"

/* Under the `always` policy of parent/name: fsyncs the entry (fd when
 * >= 0; the directory name when fd is MMAPFS_SYNC_OPEN_DIR; nothing when
 * -1) and then the parent directory. Returns 0 or -errno. */
#define MMAPFS_SYNC_OPEN_DIR (-2)
int mmapfs_sync_metadata(struct mmapfs_inode *parent, const char *name,
			 int fd);

#endif /* MMAPFS_MODEL_METADATA_SYNC_H */
