/*
 * creds.c — runs a request's file-creating syscalls with the requester's
 * credentials, so new files, directories, symlinks and nodes are owned by
 * the requesting uid/gid and the backing file system checks its
 * supplementary groups (setgid directories, default ACLs), as on a local
 * disk.
 *
 * Design: only a daemon running as root switches (an unprivileged daemon
 * serves its own user only). The switch is per thread: setfsuid(2) and
 * setfsgid(2) act on the calling thread, and the supplementary groups are
 * set with the raw setgroups system call, because glibc's setgroups()
 * broadcasts the change to every thread of the process. Order on entry:
 * groups, fs gid, fs uid (changing the uid last keeps the privilege needed
 * for the others); leave restores in the reverse order.
 *
 * Threads: any request thread; the state is the thread's own credentials.
 * The daemon's own groups are captured by mmapfs_creds_init() before any
 * thread starts and read-only afterwards.
 */
#include "model/creds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "logic/log.h"
#include "model/mount.h"

#define GROUPS_ON_STACK 64

static gid_t daemon_groups[GROUPS_ON_STACK];
static int daemon_ngroups;

int mmapfs_creds_init(void)
{
	int n = getgroups(GROUPS_ON_STACK, daemon_groups);

	if (n < 0) {
		/* More groups than we keep: run with none while switched
		 * back, which only drops privileges root does not need. */
		daemon_ngroups = 0;
		return 0;
	}
	daemon_ngroups = n;
	return 0;
}

static int set_groups_thread(size_t n, const gid_t *list)
{
	if (syscall(SYS_setgroups, n, list) < 0)
		return -errno;
	return 0;
}

int mmapfs_creds_enter(fuse_req_t req, struct mmapfs_creds_saved *saved)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t stack_groups[GROUPS_ON_STACK], *groups = stack_groups;
	int n, res;

	saved->switched = false;
	if (!mmapfs_d.is_root || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	n = fuse_req_getgroups(req, GROUPS_ON_STACK, stack_groups);
	if (n > GROUPS_ON_STACK) {
		groups = malloc((size_t)n * sizeof(*groups));
		if (!groups)
			return -ENOMEM;
		n = fuse_req_getgroups(req, n, groups);
	}
	if (n < 0)
		n = 0;	/* the requester is gone or /proc is unreadable */
	res = set_groups_thread((size_t)n, groups);
	if (groups != stack_groups)
		free(groups);
	if (res < 0)
		return res;
	saved->switched = true;
	setfsgid(ctx->gid);
	setfsuid(ctx->uid);
	if ((uid_t)setfsuid((uid_t)-1) != ctx->uid ||
	    (gid_t)setfsgid((gid_t)-1) != ctx->gid) {
		mmapfs_creds_leave(saved);
		return -EPERM;
	}
	return 0;
}

void mmapfs_creds_leave(struct mmapfs_creds_saved *saved)
{
	if (!saved->switched)
		return;
	setfsuid(geteuid());
	setfsgid(getegid());
	if (set_groups_thread((size_t)daemon_ngroups, daemon_groups) < 0)
		mmapfs_err("cannot restore the daemon's groups: %s",
			   strerror(errno));
	saved->switched = false;
}
