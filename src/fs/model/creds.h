/*
 * model/creds.h — per-request credentials (the requester's fs uid, gid and
 * groups on this thread).
 */
#ifndef MMAPFS_MODEL_CREDS_H
#define MMAPFS_MODEL_CREDS_H

#include "model/inode.h"

struct mmapfs_creds_saved {
	bool switched;
};
/* Captures the daemon's own groups; call once before threads start. */
int mmapfs_creds_init(void);
/* Switches this thread's fs uid/gid and supplementary groups to the
 * requester's (only when the daemon runs as root). Returns 0 or -errno. */
int mmapfs_creds_enter(fuse_req_t req, struct mmapfs_creds_saved *saved);
/* Restores the daemon's own credentials. */
void mmapfs_creds_leave(struct mmapfs_creds_saved *saved);

#endif /* MMAPFS_MODEL_CREDS_H */
