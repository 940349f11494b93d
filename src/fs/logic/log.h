/*
 * log.h — the daemon's log: one line per event, to stderr in the
 * foreground and to syslog when daemonized, filtered by level.
 */
#ifndef MMAPFS_LOG_H
#define MMAPFS_LOG_H

#include <stdbool.h>

#include "config.h"

/* Chooses the sink (syslog when to_syslog) and the lowest level logged.
 * Call before any thread starts; the level may change later (reload). */
void mmapfs_log_init(bool to_syslog, enum mmapfs_log_level level);
void mmapfs_log_set_level(enum mmapfs_log_level level);
/* Switches to syslog (after the daemon went to the background). */
void mmapfs_log_use_syslog(void);
/* Logs one line (no trailing newline needed). Thread-safe. */
void mmapfs_log(enum mmapfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mmapfs_log_close(void);

#define mmapfs_err(...) mmapfs_log(MMAPFS_LOG_ERROR, __VA_ARGS__)
#define mmapfs_warn(...) mmapfs_log(MMAPFS_LOG_WARNING, __VA_ARGS__)
#define mmapfs_notice(...) mmapfs_log(MMAPFS_LOG_NOTICE, __VA_ARGS__)
#define mmapfs_info(...) mmapfs_log(MMAPFS_LOG_INFO, __VA_ARGS__)
#define mmapfs_debug(...) mmapfs_log(MMAPFS_LOG_DEBUG, __VA_ARGS__)

#endif /* MMAPFS_LOG_H */
