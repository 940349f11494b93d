/*
 * kernel_io.c — the daemon's reads and writes of /dev/fuse (libfuse's
 * custom I/O hooks), to negotiate FUSE_HANDLE_KILLPRIV_V2, which libfuse
 * 3.14 cannot ask for, and to hand its per-request flags to the handlers.
 *
 * Why: without killpriv_v2 the kernel asks the daemon for the file's
 * security.capability (a GETXATTR round trip) before every write(2)
 * through the mount, to know whether it must drop it: two round trips per
 * small write instead of one. With killpriv_v2 the kernel marks its
 * super block SB_NOSEC (an inode found free of set-ID bits and
 * capabilities is not asked again) and leaves the dropping to the daemon,
 * telling it per request whether the caller lacked CAP_FSETID
 * (FUSE_WRITE_KILL_SUIDGID, FUSE_OPEN_KILL_SUIDGID, FATTR_KILL_SUIDGID).
 *
 * Design:
 *   - read: passes each request through; notes the unique id of INIT (and
 *     whether the kernel offers killpriv_v2), and for WRITE, OPEN, CREATE
 *     and SETATTR the kill flag in a thread-local: libfuse processes a
 *     request in the thread that read it, before that thread reads again,
 *     so the handler of this request sees the flag of this request.
 *   - writev: passes each reply through, except the INIT reply, whose
 *     flags get FUSE_HANDLE_KILLPRIV_V2 when the kernel offered it (a copy
 *     of the reply body is sent; libfuse's own buffer is not touched).
 *   - What the daemon then owes the kernel (mmapfs_kill_privs, called by
 *     the handlers that change a file's data): clear set-user-ID, and
 *     set-group-ID of a group-executable file, when the request says so;
 *     drop security.capability on every write and truncation.
 *   - FALLOCATE and COPY_FILE_RANGE carry no kill flag, and the kernel
 *     leaves them to the daemon as well (with killpriv_v2 its
 *     file_modified() no longer clears anything). Local file systems drop
 *     the bits there too unless the caller has CAP_FSETID, so those
 *     handlers ask for the caller's own answer
 *     (mmapfs_killpriv_ask_caller): the effective capabilities of the
 *     requesting process, read from /proc/PID/status only when the file
 *     has a set-ID bit to lose. A caller that cannot be looked up (gone,
 *     or in another PID namespace) counts as lacking CAP_FSETID unless
 *     its uid is 0: losing a bit is safe, keeping one is not.
 *
 * Threads: the hooks run in every session thread; the INIT state is
 * written once by the thread that reads INIT, before any other request.
 */
#include "fs.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"

/* CAP_FSETID's bit in the capability sets (linux/capability.h). */
#define CAP_FSETID_BIT 4

static _Atomic uint64_t init_unique;     /* 0: INIT answered or not seen */
static atomic_bool killpriv_offered;
static atomic_bool killpriv_active;
static _Thread_local bool request_kills_suidgid;
/* Set by mmapfs_killpriv_ask_caller for this request: decide by the
 * caller's capabilities (pid, uid of the request). */
static _Thread_local bool request_asks_caller;
static _Thread_local pid_t request_pid;
static _Thread_local uid_t request_uid;

bool mmapfs_killpriv_v2(void)
{
	return atomic_load_explicit(&killpriv_active, memory_order_relaxed);
}

/* The flag field of a request body, or 0 when the body is too short. */
static uint32_t body_u32(const char *buf, size_t len, size_t off)
{
	uint32_t v;

	if (len < sizeof(struct fuse_in_header) + off + sizeof(v))
		return 0;
	memcpy(&v, buf + sizeof(struct fuse_in_header) + off, sizeof(v));
	return v;
}

static void note_request(const char *buf, size_t len)
{
	struct fuse_in_header in;
	bool kill = false;

	if (len < sizeof(in)) {
		request_kills_suidgid = false;
		return;
	}
	memcpy(&in, buf, sizeof(in));
	switch (in.opcode) {
	case FUSE_INIT: {
		uint32_t minor = body_u32(buf, len,
					  offsetof(struct fuse_init_in, minor));
		uint32_t flags = body_u32(buf, len,
					  offsetof(struct fuse_init_in, flags));

		atomic_store(&killpriv_offered,
			     minor >= 33 && (flags & FUSE_HANDLE_KILLPRIV_V2));
		atomic_store(&init_unique, in.unique);
		break;
	}
	case FUSE_WRITE:
		kill = body_u32(buf, len, offsetof(struct fuse_write_in,
						   write_flags)) &
		       FUSE_WRITE_KILL_SUIDGID;
		break;
	case FUSE_OPEN:
		kill = body_u32(buf, len, offsetof(struct fuse_open_in,
						   open_flags)) &
		       FUSE_OPEN_KILL_SUIDGID;
		break;
	case FUSE_CREATE:
		kill = body_u32(buf, len, offsetof(struct fuse_create_in,
						   open_flags)) &
		       FUSE_OPEN_KILL_SUIDGID;
		break;
	case FUSE_SETATTR:
		kill = body_u32(buf, len, offsetof(struct fuse_setattr_in,
						   valid)) &
		       FATTR_KILL_SUIDGID;
		break;
	default:
		break;
	}
	request_kills_suidgid = kill;
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

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	(void)userdata;
	if (n > 0)
		note_request(buf, (size_t)n);
	return n;
}

/* The INIT reply with FUSE_HANDLE_KILLPRIV_V2 added to its flags. */
static ssize_t write_init_reply(int fd, struct iovec *iov, int count)
{
	struct fuse_init_out out;
	struct iovec copy[2];
	size_t len = iov[1].iov_len;

	if (count != 2 || len < offsetof(struct fuse_init_out, flags) +
				 sizeof(out.flags) || len > sizeof(out))
		return writev(fd, iov, count);
	memset(&out, 0, sizeof(out));
	memcpy(&out, iov[1].iov_base, len);
	out.flags |= FUSE_HANDLE_KILLPRIV_V2;
	copy[0] = iov[0];
	copy[1].iov_base = &out;
	copy[1].iov_len = len;
	atomic_store(&killpriv_active, true);
	mmapfs_info("kernel: killpriv_v2 negotiated (set-ID bits and "
		    "capabilities are dropped by the daemon)");
	return writev(fd, copy, count);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
			 void *userdata)
{
	uint64_t unique = atomic_load_explicit(&init_unique,
					       memory_order_relaxed);
	struct fuse_out_header out;

	(void)userdata;
	if (unique && count > 0 && iov[0].iov_len >= sizeof(out)) {
		memcpy(&out, iov[0].iov_base, sizeof(out));
		if (out.unique == unique) {
			atomic_store(&init_unique, 0);
			if (out.error == 0 && atomic_load(&killpriv_offered))
				return write_init_reply(fd, iov, count);
		}
	}
	return writev(fd, iov, count);
}

int mmapfs_kernel_io_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
	};
	int res = fuse_session_custom_io(se, &io, fuse_session_fd(se));

	return res < 0 ? res : 0;
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

	if (atomic_load_explicit(&in->nocap_ctime, memory_order_relaxed))
		return 0;
	return (fd >= 0 ? fremovexattr(fd, cap) : removexattr(path, cap)) == 0;
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
