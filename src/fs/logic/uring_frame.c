/*
 * uring_frame.c — request and reply framing for FUSE over io_uring ring
 * entries (see uring_frame.h).
 *
 * Design: the payload buffer is registered with a page of room in front
 * of it. A request's fuse_in_header and fixed argument (at most
 * 40 + 128 bytes) are copied into that room, right before the payload,
 * so the whole request is contiguous without copying the payload (a
 * 1 MiB WRITE is not copied again). The size of the fixed argument is
 * not sent; it is what the header's len leaves after the in header and
 * the payload.
 *
 * Threads: pure functions over the buffers they are given.
 */
#include "uring_frame.h"

#include <errno.h>
#include <linux/fuse.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(struct fuse_in_header) +
	       MMAPFS_FUSE_URING_OP_IN_OUT_SZ <= URING_FRAME_FRONT,
	       "the request headers fit in front of the payload");
_Static_assert(sizeof(struct fuse_in_header) <=
	       MMAPFS_FUSE_URING_IN_OUT_HEADER_SZ,
	       "fuse_in_header fits the in_out area");

int uring_frame_request(const struct uring_frame *f, char **start,
			size_t *len, uint64_t *unique)
{
	const struct mmapfs_fuse_uring_ent_in_out *io = &f->hdr->ring_ent_in_out;
	struct fuse_in_header in;
	size_t payload = io->payload_sz, op;
	char *p;

	memcpy(&in, f->hdr->in_out, sizeof(in));
	if (payload > f->payload_size || in.len < sizeof(in) + payload)
		return -EPROTO;
	op = in.len - sizeof(in) - payload;
	if (op > MMAPFS_FUSE_URING_OP_IN_OUT_SZ)
		return -EPROTO;
	p = f->payload - op - sizeof(in);
	memcpy(p, &in, sizeof(in));
	memcpy(p + sizeof(in), f->hdr->op_in, op);
	*start = p;
	*len = in.len;
	*unique = in.unique;
	return 0;
}

/* Copies the iovec's bytes to dst through the kernel: -EFAULT instead of
 * SIGBUS on a page that cannot be read. */
static int copy_fault_safe(char *dst, size_t total, const struct iovec *iov,
			   int count)
{
	struct iovec local = { dst, total };
	ssize_t n = total ? process_vm_readv(getpid(), &local, 1, iov,
					     (unsigned long)count, 0) : 0;

	if (n < 0)
		return -errno;
	return (size_t)n == total ? 0 : -EFAULT;
}

ssize_t uring_frame_reply(const struct uring_frame *f, const struct iovec *iov,
			  int count, bool fault_safe)
{
	struct mmapfs_fuse_uring_ent_in_out *io = &f->hdr->ring_ent_in_out;
	struct fuse_out_header out;
	size_t body = 0;
	int res;

	if (count < 1 || iov[0].iov_len != sizeof(out))
		return -EINVAL;
	for (int i = 1; i < count; i++)
		body += iov[i].iov_len;
	if (body > f->payload_size)
		return -EMSGSIZE;
	if (fault_safe) {
		res = copy_fault_safe(f->payload, body, iov + 1, count - 1);
		if (res < 0)
			return res;
	} else {
		char *p = f->payload;

		for (int i = 1; i < count; i++) {
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
			p += iov[i].iov_len;
		}
	}
	memcpy(&out, iov[0].iov_base, sizeof(out));
	out.len = (uint32_t)(sizeof(out) + body);
	memcpy(f->hdr->in_out, &out, sizeof(out));
	io->payload_sz = (uint32_t)body;
	return (ssize_t)(sizeof(out) + body);
}

void uring_frame_error(const struct uring_frame *f, uint64_t unique,
		       int error)
{
	struct fuse_out_header out = {
		.len = sizeof(out),
		.error = error,
		.unique = unique,
	};

	memcpy(f->hdr->in_out, &out, sizeof(out));
	f->hdr->ring_ent_in_out.payload_sz = 0;
}
