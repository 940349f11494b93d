/*
 * req_stats.h — FUSE requests by operation, measured at the transport: the
 * count, the errors by errno and the latency of every request, and the
 * bytes moved by READ, WRITE and COPY_FILE_RANGE, learnt from the raw
 * kernel messages (linux/fuse.h) the transport reads and writes.
 *
 * A transport (kernel_io.c for /dev/fuse; any other that carries the same
 * messages) calls mmapfs_req_received() with each request it read and
 * mmapfs_req_replied() with each reply before it writes it, on the thread
 * that processes the request (libfuse's low-level session answers on the
 * thread that read the request). Data totals leave out the virtual
 * files (node ids with the top bit set). Cost per request: two clock_gettime
 * (CLOCK_MONOTONIC) calls and a few relaxed atomic adds; no lock.
 */
#ifndef MMAPFS_REQ_STATS_H
#define MMAPFS_REQ_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "histogram.h"

/* Operations are FUSE opcodes below this; others count as "other". */
#define MMAPFS_REQ_OPS 64
/* errnos counted one by one (below this); larger ones under the last. */
#define MMAPFS_REQ_ERRNOS 134

/* Notes the request in buf (a whole message as read from the kernel). */
void mmapfs_req_received(const void *buf, size_t len);
/* Records the outcome of the request this thread is processing when iov
 * (a reply as handed to writev: the fuse_out_header first) answers it;
 * notifications (unique 0) and other replies are ignored. */
void mmapfs_req_replied(const struct iovec *iov, int count);

/* The name of operation op ("lookup", "read", ...; "other" for opcodes
 * without one), as used in the op label. */
const char *mmapfs_req_op_name(unsigned op);

/* Reading the counters (snapshots are per value, relaxed). */
uint64_t mmapfs_req_count(unsigned op);
uint64_t mmapfs_req_errors(unsigned op, unsigned err);
void mmapfs_req_latency(unsigned op, struct mmapfs_hist_snapshot *out);

/* Daemon-wide data totals from the replies. */
struct mmapfs_req_totals {
	uint64_t reads, bytes_read;
	uint64_t writes, bytes_written;    /* WRITE and COPY_FILE_RANGE */
	uint64_t fsyncs, fdatasyncs, fsyncdirs;   /* successful ones */
};
void mmapfs_req_totals(struct mmapfs_req_totals *out);

/* Forgets every count (unit tests). */
void mmapfs_req_stats_reset(void);

#endif /* MMAPFS_REQ_STATS_H */
