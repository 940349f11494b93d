/*
 * metrics_format.h — the daemon-wide part of metrics.prom: FUSE requests
 * by operation (req_stats.h), flushes, syncs, evictions, reloads and the
 * fd cache (counters.h), and the process start time, every sample with
 * the mount label. Appended after mmapfs_stats_format_metrics()'s text.
 */
#ifndef MMAPFS_METRICS_FORMAT_H
#define MMAPFS_METRICS_FORMAT_H

#include "stats_format.h"

/* Appends the families below (HELP and TYPE lines included), reading the
 * daemon's counters now; mount: the value of the mount label (NULL: no
 * label). Families of requests appear per operation once it was seen;
 * error series per (operation, errno) once non-zero. Returns 0 or
 * -ENOMEM.
 *   mmapfs_process_start_time_seconds            gauge
 *   mmapfs_fuse_requests_total{op}                counter
 *   mmapfs_fuse_request_errors_total{op,errno}    counter
 *   mmapfs_fuse_request_duration_seconds{op}      histogram
 *   mmapfs_reads_total, mmapfs_bytes_read_total   counter
 *   mmapfs_syncs_total{kind}                      counter
 *   mmapfs_bytes_flushed_total                    counter
 *   mmapfs_flush_errors_by_errno_total{errno}     counter
 *   mmapfs_flush_duration_seconds                 histogram
 *   mmapfs_evictions_total                        counter
 *   mmapfs_reloads_total{result}                  counter
 *   mmapfs_last_reload_success_timestamp_seconds  gauge
 *   mmapfs_fd_cache_hits_total, _reopens_total    counter
 *   mmapfs_fd_cache_open_fds, _budget_fds         gauge
 *   mmapfs_closed_files                           gauge */
int mmapfs_metrics_format_daemon(const char *mount, struct mmapfs_buf *out);

#endif /* MMAPFS_METRICS_FORMAT_H */
