/*
 * uring_frame.h — the framing of FUSE requests and replies in a ring entry
 * of FUSE over io_uring, kept apart from the rings so that it can be
 * tested without a kernel.
 *
 * A request arrives split in three (fuse_in_header, the opcode's fixed
 * argument, the rest in the payload buffer); libfuse's dispatch wants it as
 * /dev/fuse delivers it, in one piece. A reply leaves libfuse as an iovec
 * (fuse_out_header, then the arguments); the kernel wants the header in
 * the entry's header buffer and the arguments in its payload buffer.
 */
#ifndef MMAPFS_URING_FRAME_H
#define MMAPFS_URING_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fuse_uring_uapi.h"

/* Bytes writable in front of the payload buffer, where the two request
 * headers are laid out (fuse_in_header and at most 128 bytes of fixed
 * argument); a page keeps the payload page-aligned. */
#define URING_FRAME_FRONT 4096

/* One ring entry's buffers. payload has URING_FRAME_FRONT writable bytes
 * before it. */
struct uring_frame {
	struct mmapfs_fuse_uring_req_header *hdr;
	char *payload;
	size_t payload_size;
};

/* Lays the request the kernel left in the entry out as /dev/fuse would
 * deliver it: fuse_in_header, fixed argument, payload, contiguous and
 * ending where the payload's bytes end. Only the headers are copied (into
 * the room in front of the payload). On success *start and *len describe
 * the request and *unique is its id. Returns 0, or -EPROTO when the
 * header's sizes do not add up (len, payload_sz, the 128-byte areas). */
int uring_frame_request(const struct uring_frame *f, char **start,
			size_t *len, uint64_t *unique);

/* Copies a reply given as libfuse writes it to /dev/fuse (iov[0] the
 * fuse_out_header, the other elements the arguments) into the entry: the
 * header into the header buffer, the arguments into the payload, and
 * payload_sz. fault_safe copies the arguments through the kernel
 * (process_vm_readv), so a source page that cannot be read (a mapping of
 * a truncated file) fails with -EFAULT instead of raising SIGBUS. Returns
 * the reply's length, -EINVAL when iov[0] is not an out header,
 * -EMSGSIZE when the arguments do not fit, -EFAULT. On failure the entry
 * holds nothing usable: call uring_frame_error(). */
ssize_t uring_frame_reply(const struct uring_frame *f, const struct iovec *iov,
			  int count, bool fault_safe);

/* Writes an error reply (error < 0, no arguments) for request unique. */
void uring_frame_error(const struct uring_frame *f, uint64_t unique,
		       int error);

#endif /* MMAPFS_URING_FRAME_H */
