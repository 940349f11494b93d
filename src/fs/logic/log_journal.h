/*
 * log_journal.h — is stderr the systemd journal? When it is, each log line
 * starts with its syslog priority, "<3>" ... "<7>" (sd-daemon(3)), so the
 * journal files it at the right level instead of at info.
 */
#ifndef MMAPFS_LOG_JOURNAL_H
#define MMAPFS_LOG_JOURNAL_H

#include <stdbool.h>

/* True when journal_stream (the value of $JOURNAL_STREAM, "DEV:INO" in
 * decimal, set by systemd for a service whose stderr is the journal)
 * names the file open on fd: the same device and inode. False for NULL,
 * malformed text or another file (e.g. stderr redirected by a script the
 * service runs). */
bool mmapfs_log_fd_is_journal(int fd, const char *journal_stream);

#endif /* MMAPFS_LOG_JOURNAL_H */
