/*
 * killpriv.c — what the daemon owes the kernel under
 * FUSE_HANDLE_KILLPRIV_V2. With it the kernel leaves the dropping of
 * set-ID bits and capabilities to the daemon and tells it, per request,
 * whether the caller lacked CAP_FSETID (FUSE_WRITE_KILL_SUIDGID,
 * FUSE_OPEN_KILL_SUIDGID, FATTR_KILL_SUIDGID). After a change of a file's
 * data the daemon clears set-user-ID, and set-group-ID of a
 * group-executable file, when the request says so, and drops
 * security.capability on every write and truncation — as a local file
 * system would.
 *
 * FALLOCATE and COPY_FILE_RANGE carry no kill flag, and the kernel leaves
 * them to the daemon as well (with killpriv_v2 its file_modified() clears
 * nothing). Local file systems drop the bits there too unless the caller
 * has CAP_FSETID, so those handlers ask for the caller's own answer
 * (mmapfs_killpriv_ask_caller): the effective capabilities of the
 * requesting process, read from /proc/PID/status only when the file has a
 * set-ID bit to lose. A caller that cannot be looked up (gone, or in
 * another PID namespace) counts as lacking CAP_FSETID unless its uid is
 * 0: losing a bit is safe, keeping one is not.
 *
 * Threads: active is written once, by the transport, before any request
 * but INIT; the request flag is thread-local: the transport sets it in the
 * thread that then handles that request, before the thread takes the
 * next one.
 */
#include "model/killpriv.h"

#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "model/fdcache.h"
#include "model/inode.h"

/* CAP_FSETID's bit in the capability sets (linux/capability.h). */
#define CAP_FSETID_BIT 4

static atomic_bool killpriv_active;
static _Thread_local bool request_kills_suidgid;
/* Set by mmapfs_killpriv_ask_caller for this request: decide by the
 * caller's capabilities (pid, uid of the request). */
static _Thread_local bool request_asks_caller;
static _Thread_local pid_t request_pid;
static _Thread_local uid_t request_uid;

void mmapfs_killpriv_set_active(void)
{
	atomic_store(&killpriv_active, true);
}

void mmapfs_killpriv_set_request(bool kill_suidgid)
{
	request_kills_suidgid = kill_suidgid;
	request_asks_caller = false;
}

void mmapfs_killpriv_ask_caller(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	request_asks_caller = true;
	request_pid = ctx->pid;
	request_uid = ctx->uid;
}

/* True when the process pid has CAP_FSETID in its effective set; uid
 * decides for a process that cannot be looked up. */
static bool caller_has_fsetid(pid_t pid, uid_t uid)
{
	unsigned long long eff;
	char path[64], line[256];
	bool found = false;
	FILE *f;

	if (pid <= 0)
		return uid == 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return uid == 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	if (!found)
		return uid == 0;
	return (eff >> CAP_FSETID_BIT) & 1;
}

bool mmapfs_killpriv_v2(void)
{
	return atomic_load_explicit(&killpriv_active, memory_order_relaxed);
}

/* Clears the set-ID bits the kernel would have cleared: 1 when it did. */
static int kill_suidgid(int fd, const char *path, mode_t mode)
{
	mode_t keep = mode & 07777;

	keep &= ~(mode_t)S_ISUID;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		keep &= ~(mode_t)S_ISGID;
	if (keep == (mode & 07777))
		return 0;
	return (fd >= 0 ? fchmod(fd, keep) : chmod(path, keep)) == 0;
}

/* Drops security.capability unless it is known to be absent: 1 when it
 * was there. */
static int kill_capability(struct mmapfs_inode *in, int fd,
			   const char *path)
{
	static const char cap[] = "security.capability";

	if (mmapfs_inode_nocap_known(in))
		return 0;
	return (fd >= 0 ? fremovexattr(fd, cap) : removexattr(path, cap)) == 0;
}

bool mmapfs_kill_privs_needs_stat(struct mmapfs_inode *in)
{
	return mmapfs_killpriv_v2() &&
	       (request_kills_suidgid || request_asks_caller ||
		!mmapfs_inode_nocap_known(in));
}

bool mmapfs_kill_privs(struct mmapfs_inode *in, int fd, const struct stat *st)
{
	char proc[64] = "";
	bool changed = false;
	int pfd = -1;

	if (!mmapfs_killpriv_v2() || !S_ISREG(st->st_mode))
		return false;
	if (fd < 0) {
		/* Truncated by path: through the inode's descriptor. */
		pfd = mmapfs_inode_fd_get(in);
		if (pfd < 0)
			return false;
		mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	}
	/* Failures leave the bits, as a lost race with chmod would. */
	if (request_asks_caller && (st->st_mode & (S_ISUID | S_ISGID)) &&
	    !caller_has_fsetid(request_pid, request_uid))
		request_kills_suidgid = true;
	if (request_kills_suidgid)
		changed = kill_suidgid(fd, proc, st->st_mode) > 0;
	if (kill_capability(in, fd, proc) > 0)
		changed = true;
	if (pfd >= 0)
		mmapfs_inode_fd_put(in);
	return changed;
}
