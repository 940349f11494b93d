/*
 * req_stats.c — FUSE request statistics from the raw kernel messages
 * (req_stats.h).
 *
 * Design: mmapfs_req_received() keeps the opcode, the unique id, the
 * fsync flags and the start time of the request in thread-local storage;
 * mmapfs_req_replied() matches the reply's unique id against it and adds
 * the request's outcome to per-opcode atomics: a count, a count per
 * errno, a latency histogram (read to reply, the reply's write excluded)
 * and the byte totals. Requests that get no reply (FORGET, BATCH_FORGET,
 * an INTERRUPTed request answered on another thread) are counted when
 * the thread reads its next request, without a latency.
 *
 * Requests on node ids with the top bit set (the daemon's virtual
 * control and stats files, fs.h) count as requests but move no file data:
 * a .ctl command is not a write of data.
 *
 * Invariants: every counter only grows (until mmapfs_req_stats_reset, for
 * tests). A request is counted at most once (the thread-local unique is
 * cleared when counted).
 *
 * Threads: any number of transport threads; all shared state is atomic.
 */
#include "req_stats.h"

#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "clock.h"

struct op_stats {
	_Atomic uint64_t count;
	_Atomic uint64_t errors[MMAPFS_REQ_ERRNOS];
	struct mmapfs_hist latency;
};

static struct op_stats ops[MMAPFS_REQ_OPS];
static _Atomic uint64_t reads, bytes_read, writes, bytes_written;
static _Atomic uint64_t fsyncs, fdatasyncs, fsyncdirs;

/* The request this thread is processing. */
static _Thread_local struct {
	uint64_t unique;         /* 0: none pending */
	uint32_t opcode;
	uint32_t fsync_flags;
	bool virtual_node;
	int64_t t0_ns;
} cur;

static const char *const op_names[MMAPFS_REQ_OPS] = {
	[FUSE_LOOKUP] = "lookup", [FUSE_FORGET] = "forget",
	[FUSE_GETATTR] = "getattr", [FUSE_SETATTR] = "setattr",
	[FUSE_READLINK] = "readlink", [FUSE_SYMLINK] = "symlink",
	[FUSE_MKNOD] = "mknod", [FUSE_MKDIR] = "mkdir",
	[FUSE_UNLINK] = "unlink", [FUSE_RMDIR] = "rmdir",
	[FUSE_RENAME] = "rename", [FUSE_LINK] = "link",
	[FUSE_OPEN] = "open", [FUSE_READ] = "read", [FUSE_WRITE] = "write",
	[FUSE_STATFS] = "statfs", [FUSE_RELEASE] = "release",
	[FUSE_FSYNC] = "fsync", [FUSE_SETXATTR] = "setxattr",
	[FUSE_GETXATTR] = "getxattr", [FUSE_LISTXATTR] = "listxattr",
	[FUSE_REMOVEXATTR] = "removexattr", [FUSE_FLUSH] = "flush",
	[FUSE_INIT] = "init", [FUSE_OPENDIR] = "opendir",
	[FUSE_READDIR] = "readdir", [FUSE_RELEASEDIR] = "releasedir",
	[FUSE_FSYNCDIR] = "fsyncdir", [FUSE_GETLK] = "getlk",
	[FUSE_SETLK] = "setlk", [FUSE_SETLKW] = "setlkw",
	[FUSE_ACCESS] = "access", [FUSE_CREATE] = "create",
	[FUSE_INTERRUPT] = "interrupt", [FUSE_BMAP] = "bmap",
	[FUSE_DESTROY] = "destroy", [FUSE_IOCTL] = "ioctl",
	[FUSE_POLL] = "poll", [FUSE_NOTIFY_REPLY] = "notify_reply",
	[FUSE_BATCH_FORGET] = "batch_forget", [FUSE_FALLOCATE] = "fallocate",
	[FUSE_READDIRPLUS] = "readdirplus", [FUSE_RENAME2] = "rename2",
	[FUSE_LSEEK] = "lseek", [FUSE_COPY_FILE_RANGE] = "copy_file_range",
	[FUSE_SETUPMAPPING] = "setupmapping",
	[FUSE_REMOVEMAPPING] = "removemapping", [FUSE_SYNCFS] = "syncfs",
	[FUSE_TMPFILE] = "tmpfile",
};

/* Index 0 (no FUSE opcode) collects the opcodes without a name. */
static unsigned op_index(uint32_t opcode)
{
	return opcode < MMAPFS_REQ_OPS && op_names[opcode] ? opcode : 0;
}

const char *mmapfs_req_op_name(unsigned op)
{
	return op < MMAPFS_REQ_OPS && op_names[op] ? op_names[op] : "other";
}

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void mmapfs_req_received(const void *buf, size_t len)
{
	struct fuse_in_header in;

	if (cur.unique) {
		/* The last request got no reply on this thread. */
		add(&ops[op_index(cur.opcode)].count, 1);
		cur.unique = 0;
	}
	if (len < sizeof(in))
		return;
	memcpy(&in, buf, sizeof(in));
	cur.opcode = in.opcode;
	cur.fsync_flags = 0;
	cur.virtual_node = (in.nodeid >> 63) != 0;
	if ((in.opcode == FUSE_FSYNC || in.opcode == FUSE_FSYNCDIR) &&
	    len >= sizeof(in) + sizeof(struct fuse_fsync_in))
		memcpy(&cur.fsync_flags, (const char *)buf + sizeof(in) +
		       offsetof(struct fuse_fsync_in, fsync_flags),
		       sizeof(cur.fsync_flags));
	if (in.opcode == FUSE_FORGET || in.opcode == FUSE_BATCH_FORGET) {
		add(&ops[op_index(in.opcode)].count, 1);
		return;
	}
	cur.t0_ns = mmapfs_monotonic_ns();
	cur.unique = in.unique;
}

/* Total length of the reply's body (after the header). */
static size_t body_len(const struct iovec *iov, int count)
{
	size_t n = 0;

	for (int i = 0; i < count; i++)
		n += iov[i].iov_len;
	return n - sizeof(struct fuse_out_header);
}

/* The size field of a fuse_write_out body, or 0 when it is not there. */
static uint32_t write_out_size(const struct iovec *iov, int count)
{
	struct fuse_write_out wo;

	if (iov[0].iov_len >= sizeof(struct fuse_out_header) + sizeof(wo)) {
		memcpy(&wo, (const char *)iov[0].iov_base +
		       sizeof(struct fuse_out_header), sizeof(wo));
		return wo.size;
	}
	if (count >= 2 && iov[1].iov_len >= sizeof(wo)) {
		memcpy(&wo, iov[1].iov_base, sizeof(wo));
		return wo.size;
	}
	return 0;
}

static void count_data(uint32_t opcode, const struct iovec *iov, int count)
{
	switch (opcode) {
	case FUSE_READ:
		add(&reads, 1);
		add(&bytes_read, body_len(iov, count));
		break;
	case FUSE_WRITE:
	case FUSE_COPY_FILE_RANGE:
		add(&writes, 1);
		add(&bytes_written, write_out_size(iov, count));
		break;
	case FUSE_FSYNC:
		add(cur.fsync_flags & FUSE_FSYNC_FDATASYNC ? &fdatasyncs :
							     &fsyncs, 1);
		break;
	case FUSE_FSYNCDIR:
		add(&fsyncdirs, 1);
		break;
	default:
		break;
	}
}

void mmapfs_req_replied(const struct iovec *iov, int count)
{
	struct fuse_out_header out;
	struct op_stats *op;
	int64_t t1;
	unsigned err;

	if (!cur.unique || count < 1 || iov[0].iov_len < sizeof(out))
		return;
	memcpy(&out, iov[0].iov_base, sizeof(out));
	if (out.unique != cur.unique)
		return;
	t1 = mmapfs_monotonic_ns();
	cur.unique = 0;
	op = &ops[op_index(cur.opcode)];
	add(&op->count, 1);
	mmapfs_hist_observe(&op->latency,
			    t1 > cur.t0_ns ? (uint64_t)(t1 - cur.t0_ns) : 0);
	if (out.error < 0) {
		err = (unsigned)-out.error;
		add(&op->errors[err < MMAPFS_REQ_ERRNOS ? err :
				MMAPFS_REQ_ERRNOS - 1], 1);
		return;
	}
	if (!cur.virtual_node)
		count_data(cur.opcode, iov, count);
}

uint64_t mmapfs_req_count(unsigned op)
{
	return op < MMAPFS_REQ_OPS ?
	       atomic_load_explicit(&ops[op].count, memory_order_relaxed) : 0;
}

uint64_t mmapfs_req_errors(unsigned op, unsigned err)
{
	if (op >= MMAPFS_REQ_OPS || err >= MMAPFS_REQ_ERRNOS)
		return 0;
	return atomic_load_explicit(&ops[op].errors[err],
				    memory_order_relaxed);
}

void mmapfs_req_latency(unsigned op, struct mmapfs_hist_snapshot *out)
{
	mmapfs_hist_snapshot(&ops[op < MMAPFS_REQ_OPS ? op : 0].latency, out);
}

void mmapfs_req_totals(struct mmapfs_req_totals *out)
{
	out->reads = atomic_load(&reads);
	out->bytes_read = atomic_load(&bytes_read);
	out->writes = atomic_load(&writes);
	out->bytes_written = atomic_load(&bytes_written);
	out->fsyncs = atomic_load(&fsyncs);
	out->fdatasyncs = atomic_load(&fdatasyncs);
	out->fsyncdirs = atomic_load(&fsyncdirs);
}

void mmapfs_req_stats_reset(void)
{
	memset(ops, 0, sizeof(ops));
	atomic_store(&reads, 0);
	atomic_store(&bytes_read, 0);
	atomic_store(&writes, 0);
	atomic_store(&bytes_written, 0);
	atomic_store(&fsyncs, 0);
	atomic_store(&fdatasyncs, 0);
	atomic_store(&fsyncdirs, 0);
	cur.unique = 0;
}
