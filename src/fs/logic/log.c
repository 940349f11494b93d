/*
 * log.c — the daemon's log.
 *
 * Design: a message is formatted into a stack buffer with its level prefix
 * and written with one write(2) to stderr (so lines from different threads
 * never interleave), or handed to syslog(3) when the daemon runs in the
 * background. Messages above the current level are dropped before
 * formatting, so a disabled debug line costs one atomic load. When stderr
 * is the systemd journal (log_journal.c), a line is "<PRIORITY>LEVEL:
 * message" instead (the journal adds the program's name) and the journal
 * files it at that priority.
 *
 * Threads: any thread may log. The level is an atomic; the sink is chosen
 * by mmapfs_log_init() and mmapfs_log_use_syslog() before threads start.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log_journal.h"

static atomic_int log_level = MMAPFS_LOG_NOTICE;
static bool log_to_syslog;
static bool stderr_is_journal;

static const int syslog_priorities[] = {
	[MMAPFS_LOG_ERROR] = LOG_ERR,
	[MMAPFS_LOG_WARNING] = LOG_WARNING,
	[MMAPFS_LOG_NOTICE] = LOG_NOTICE,
	[MMAPFS_LOG_INFO] = LOG_INFO,
	[MMAPFS_LOG_DEBUG] = LOG_DEBUG,
};

void mmapfs_log_init(bool to_syslog, enum mmapfs_log_level level)
{
	log_to_syslog = to_syslog;
	stderr_is_journal = mmapfs_log_fd_is_journal(STDERR_FILENO,
						     getenv("JOURNAL_STREAM"));
	atomic_store(&log_level, (int)level);
	if (to_syslog)
		openlog("mmapfs", LOG_PID, LOG_DAEMON);
}

void mmapfs_log_use_syslog(void)
{
	if (log_to_syslog)
		return;
	openlog("mmapfs", LOG_PID, LOG_DAEMON);
	log_to_syslog = true;
}

void mmapfs_log_set_level(enum mmapfs_log_level level)
{
	atomic_store(&log_level, (int)level);
}

void mmapfs_log(enum mmapfs_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, prefix;

	if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	if (stderr_is_journal && !log_to_syslog)
		prefix = snprintf(line, sizeof(line), "<%d>%s: ",
				  syslog_priorities[level],
				  mmapfs_log_level_name(level));
	else
		prefix = snprintf(line, sizeof(line), "mmapfs: %s: ",
				  mmapfs_log_level_name(level));
	va_start(ap, fmt);
	n = vsnprintf(line + prefix, sizeof(line) - (size_t)prefix - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - (size_t)prefix - 2)
		n = (int)(sizeof(line) - (size_t)prefix - 2);
	if (log_to_syslog) {
		syslog(syslog_priorities[level], "%s", line + prefix);
		return;
	}
	line[prefix + n] = '\n';
	/* A failed write to stderr has nowhere to be reported. */
	if (write(STDERR_FILENO, line, (size_t)(prefix + n + 1)) < 0)
		return;
}

void mmapfs_log_close(void)
{
	if (log_to_syslog)
		closelog();
}
