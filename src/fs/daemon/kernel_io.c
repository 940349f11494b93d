/*
 * kernel_io.c — the daemon's reads and writes of /dev/fuse (libfuse's
 * custom I/O hooks), to negotiate FUSE_HANDLE_KILLPRIV_V2 and FUSE over
 * io_uring, which libfuse 3.14 cannot ask for, to hand the per-request
 * flags to the handlers, and to route replies to ring entries.
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
 *   - writev: a reply to a request the calling thread serves from an
 *     io_uring ring entry is stored in that entry (uring_transport.c);
 *     the others pass through, except the INIT reply, whose flags get
 *     FUSE_HANDLE_KILLPRIV_V2 and FUSE_OVER_IO_URING when the kernel
 *     offered them and the daemon wants them (a copy of the reply is
 *     sent; libfuse's own buffer is not touched). After that reply the
 *     rings are started, with request_arrived() for the requests they
 *     fetch.
 *   - Both hooks, and the rings' requests, also feed logic/req_stats.c
 *     (requests by operation: count, errors, latency, bytes), which parses
 *     the same messages.
 *   - What the daemon then owes the kernel is model/killpriv.c's: this
 *     file tells it that killpriv_v2 is on and what each request asked.
 *   - The first request after INIT calls the root's first_request hook
 *     (the mount's read-ahead is tuned there: the kernel sets it while it
 *     processes the INIT reply).
 *
 * Threads: the hooks run in every session thread and ring thread; the
 * INIT state is written once by the thread that reads INIT, before any
 * other request.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/uring_transport.h"
#include "logic/fuse_uring_uapi.h"
#include "logic/log.h"
#include "logic/req_stats.h"
#include "model/killpriv.h"

/* The kernel's FUSE_DEFAULT_MAX_PAGES_PER_REQ, when INIT sets none. */
#define DEFAULT_MAX_PAGES 32

static _Atomic uint64_t init_unique;     /* 0: INIT answered or not seen */
static atomic_bool killpriv_offered;
static atomic_bool uring_offered;
static atomic_bool init_answered;
static atomic_bool first_seen;
static void (*on_first_request)(void);
static struct fuse_session *session;

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
		mmapfs_killpriv_set_request(false);
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
		atomic_store(&uring_offered,
			     (flags & MMAPFS_FUSE_INIT_EXT) &&
			     (body_u32(buf, len,
				       offsetof(struct fuse_init_in, flags2)) &
			      MMAPFS_FUSE_OVER_IO_URING_FLAGS2));
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
	if (in.opcode != FUSE_INIT && on_first_request &&
	    atomic_load_explicit(&init_answered, memory_order_acquire) &&
	    !atomic_exchange(&first_seen, true))
		on_first_request();
	mmapfs_killpriv_set_request(kill);
}

/* Every request, read from /dev/fuse or fetched from a ring, before its
 * dispatch. */
static void request_arrived(const char *buf, size_t len)
{
	note_request(buf, len);
	mmapfs_req_received(buf, len);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	(void)userdata;
	if (n > 0)
		request_arrived(buf, (size_t)n);
	return n;
}

/* The payload buffer a ring entry needs: the kernel's
 * max(FUSE_MIN_READ_BUFFER, max_write, max_pages pages). */
static size_t ring_payload_size(const struct fuse_init_out *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size = out->max_write;
	size_t pages = (out->flags & FUSE_MAX_PAGES) && out->max_pages ?
		       out->max_pages : DEFAULT_MAX_PAGES;

	if (size < MMAPFS_FUSE_MIN_READ_BUFFER)
		size = MMAPFS_FUSE_MIN_READ_BUFFER;
	if (size < pages * page)
		size = pages * page;
	return size;
}

/* The INIT reply with FUSE_HANDLE_KILLPRIV_V2 and FUSE_OVER_IO_URING
 * added to its flags as offered and wanted; then the rings start. */
static ssize_t write_init_reply(int fd, struct iovec *iov, int count)
{
	struct fuse_out_header head;
	struct fuse_init_out out;
	struct iovec copy[2];
	size_t len = iov[1].iov_len;
	size_t flags2_end = offsetof(struct fuse_init_out, flags2) +
			    sizeof(out.flags2);
	bool killpriv = atomic_load(&killpriv_offered), ring;
	ssize_t n;

	/* libfuse sends the header and the body: anything else goes out
	 * untouched. */
	if (count != 2 || iov[0].iov_len != sizeof(head) ||
	    len < offsetof(struct fuse_init_out, flags) + sizeof(out.flags) ||
	    len > sizeof(out))
		return writev(fd, iov, count);
	ring = mmapfs_uring_take_init(atomic_load(&uring_offered));
	memcpy(&head, iov[0].iov_base, sizeof(head));
	memset(&out, 0, sizeof(out));
	memcpy(&out, iov[1].iov_base, len);
	if (killpriv)
		out.flags |= FUSE_HANDLE_KILLPRIV_V2;
	if (ring) {
		out.flags |= MMAPFS_FUSE_INIT_EXT;
		out.flags2 |= MMAPFS_FUSE_OVER_IO_URING_FLAGS2;
		if (len < flags2_end)
			len = flags2_end;
	}
	head.len = (uint32_t)(sizeof(head) + len);
	copy[0].iov_base = &head;
	copy[0].iov_len = sizeof(head);
	copy[1].iov_base = &out;
	copy[1].iov_len = len;
	n = writev(fd, copy, count);
	if (n < 0)
		return n;
	if (killpriv) {
		mmapfs_killpriv_set_active();
		mmapfs_info("kernel: killpriv_v2 negotiated (set-ID bits and "
			    "capabilities are dropped by the daemon)");
	}
	if (ring)
		(void)mmapfs_uring_start(session, fuse_session_fd(session),
					 ring_payload_size(&out),
					 request_arrived);
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
			 void *userdata)
{
	uint64_t unique = atomic_load_explicit(&init_unique,
					       memory_order_relaxed);
	struct fuse_out_header out;
	ssize_t res;

	(void)userdata;
	mmapfs_req_replied(iov, count);
	if (mmapfs_uring_take_reply(iov, count, &res))
		return res;
	if (unique && count > 0 && iov[0].iov_len >= sizeof(out)) {
		memcpy(&out, iov[0].iov_base, sizeof(out));
		if (out.unique == unique) {
			atomic_store(&init_unique, 0);
			atomic_store_explicit(&init_answered, true,
					      memory_order_release);
			if (out.error == 0)
				return write_init_reply(fd, iov, count);
		}
	}
	return writev(fd, iov, count);
}

int mmapfs_kernel_io_install(struct fuse_session *se,
			     void (*first_request)(void))
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
	};
	int res;

	on_first_request = first_request;
	session = se;
	res = fuse_session_custom_io(se, &io, fuse_session_fd(se));

	return res < 0 ? res : 0;
}
