/*
 * fuse_uring_uapi.h — the kernel's FUSE-over-io_uring interface, as
 * defined in Linux 6.14's include/uapi/linux/fuse.h (FUSE protocol 7.42).
 *
 * Debian 12's linux-libc-dev (Linux 6.1, protocol 7.37) predates them, so
 * the few definitions the daemon needs are carried here, under their
 * kernel names with an MMAPFS_ prefix (no clash when a newer <linux/fuse.h>
 * defines the originals). The layouts are checked at compile time.
 *
 * How the kernel uses them (fs/fuse/dev_uring.c):
 *   - INIT: the kernel offers FUSE_OVER_IO_URING in fuse_init_in.flags2
 *     when the fuse module parameter enable_uring is Y; the daemon takes
 *     it by setting the bit in fuse_init_out.flags2 (with FUSE_INIT_EXT).
 *   - A ring is set up with IORING_SETUP_SQE128: the 80-byte command area
 *     of each IORING_OP_URING_CMD SQE on the /dev/fuse fd holds a
 *     struct fuse_uring_cmd_req; sqe->addr points at two iovecs (the
 *     header buffer, a struct fuse_uring_req_header, and the payload
 *     buffer of at least max(8 KiB, max_write, max_pages pages)).
 *   - REGISTER hands an entry to queue qid (one queue per possible CPU; the
 *     kernel routes requests through the rings only once every queue has
 *     an entry). Its completion carries a request: fuse_in_header in
 *     in_out, the opcode's fixed argument (in_args[0]) in op_in, the other
 *     arguments in the payload (payload_sz bytes), commit_id = unique.
 *   - COMMIT_AND_FETCH (commit_id = that unique) hands back the reply:
 *     fuse_out_header in in_out, all reply arguments in the payload
 *     (payload_sz bytes); it completes when the next request is there.
 */
#ifndef MMAPFS_FUSE_URING_UAPI_H
#define MMAPFS_FUSE_URING_UAPI_H

#include <stddef.h>
#include <stdint.h>

/* fuse_init_in/out flags2 bit: 1ULL << 41 in the 64-bit flag word. */
#define MMAPFS_FUSE_OVER_IO_URING_FLAGS2 (1u << (41 - 32))
/* flags bit saying flags2 is valid (protocol 7.36). */
#define MMAPFS_FUSE_INIT_EXT (1u << 30)

#define MMAPFS_FUSE_URING_IN_OUT_HEADER_SZ 128
#define MMAPFS_FUSE_URING_OP_IN_OUT_SZ 128

/* The smallest payload buffer the kernel accepts (FUSE_MIN_READ_BUFFER). */
#define MMAPFS_FUSE_MIN_READ_BUFFER 8192

struct mmapfs_fuse_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;     /* the request's unique id */
	uint32_t payload_sz;    /* bytes used in the payload buffer */
	uint32_t padding;
	uint64_t reserved;
};

struct mmapfs_fuse_uring_req_header {
	char in_out[MMAPFS_FUSE_URING_IN_OUT_HEADER_SZ]; /* in/out header */
	char op_in[MMAPFS_FUSE_URING_OP_IN_OUT_SZ];      /* in_args[0] */
	struct mmapfs_fuse_uring_ent_in_out ring_ent_in_out;
};

enum mmapfs_fuse_uring_cmd {
	MMAPFS_FUSE_IO_URING_CMD_INVALID = 0,
	MMAPFS_FUSE_IO_URING_CMD_REGISTER = 1,
	MMAPFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2,
};

/* In the 80-byte command area of an SQE128. */
struct mmapfs_fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;     /* 0 for REGISTER */
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct mmapfs_fuse_uring_ent_in_out) == 32,
	       "fuse_uring_ent_in_out is 32 bytes");
_Static_assert(sizeof(struct mmapfs_fuse_uring_req_header) == 288,
	       "fuse_uring_req_header is 288 bytes");
_Static_assert(offsetof(struct mmapfs_fuse_uring_req_header,
			ring_ent_in_out) == 256,
	       "ring_ent_in_out follows the two 128-byte areas");
_Static_assert(sizeof(struct mmapfs_fuse_uring_cmd_req) == 24,
	       "fuse_uring_cmd_req is 24 bytes");

#endif /* MMAPFS_FUSE_URING_UAPI_H */
