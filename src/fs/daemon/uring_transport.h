/*
 * uring_transport.h — FUSE over io_uring beneath libfuse 3.14's low-level
 * API (Linux 6.14+, fuse module parameter enable_uring): the daemon's
 * second transport next to read/write on /dev/fuse.
 *
 * Life cycle (main.c and kernel_io.c call these in this order):
 *   1. mmapfs_uring_choose() before mounting: turns the configured
 *      transport into the one to ask for, or refuses (io_uring without the
 *      kernel side);
 *   2. at INIT, mmapfs_uring_take_init() says whether the INIT reply takes
 *      the ring, and after that reply mmapfs_uring_start() registers the
 *      queues;
 *   3. mmapfs_uring_take_reply() captures, in every /dev/fuse write, the
 *      replies that belong to a ring entry;
 *   4. mmapfs_uring_stop() after the session loop ends, before files are
 *      closed; mmapfs_uring_destroy() after the session is destroyed.
 */
#ifndef MMAPFS_URING_TRANSPORT_H
#define MMAPFS_URING_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "logic/config.h"

struct fuse_session;

/* Decides, before mounting, what to ask the kernel for. wanted is the
 * configured transport; threads_per_queue the ring threads of each queue;
 * auto_unmount: -o auto_unmount was given. auto: the ring when the kernel
 * side is on and auto_unmount is not asked for, else /dev/fuse with one
 * log line saying why (written at INIT, after daemonizing). io_uring:
 * refuses without the kernel side. Returns 0, or -EOPNOTSUPP with the
 * reason in why (io_uring only). */
int mmapfs_uring_choose(enum mmapfs_transport wanted,
			unsigned threads_per_queue, bool auto_unmount,
			char *why, size_t len);

/* At INIT: offered says whether the kernel offered FUSE_OVER_IO_URING.
 * True when the INIT reply must take it. When the ring was required and
 * is not offered, logs and ends the session. */
bool mmapfs_uring_take_init(bool offered);

/* After the INIT reply that took the ring was written: sets up one queue
 * per possible CPU on fd (the session's /dev/fuse), with payload buffers
 * of payload_size bytes, and returns once every ring entry is registered
 * or failed. note_request sees each fetched request before its dispatch
 * (as kernel_io.c's read hook sees those read from /dev/fuse). On failure
 * the connection stays on /dev/fuse (auto) or the session ends
 * (io_uring). Returns 0 or -errno. */
int mmapfs_uring_start(struct fuse_session *se, int fd, size_t payload_size,
		       void (*note_request)(const char *buf, size_t len));

/* Called with every reply libfuse writes to /dev/fuse. When the reply
 * answers the ring request the calling thread is serving, stores it in the
 * ring entry (it is sent with the entry's next commit), sets *res to what
 * writev would return (the length, or -1 with errno) and returns true;
 * otherwise returns false and the reply goes to /dev/fuse. */
bool mmapfs_uring_take_reply(const struct iovec *iov, int count,
			     ssize_t *res);

/* Ends the ring threads (each finishes the request it serves and commits
 * its reply). Idempotent. */
void mmapfs_uring_stop(void);

/* Frees the rings' buffers; after the session is destroyed. */
void mmapfs_uring_destroy(void);

/* True when transport = io_uring could not be set up (the exit status). */
bool mmapfs_uring_failed(void);

#endif /* MMAPFS_URING_TRANSPORT_H */
