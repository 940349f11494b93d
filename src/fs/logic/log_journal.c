/*
 * log_journal.c — recognises a stderr connected to the systemd journal.
 *
 * Design: systemd sets $JOURNAL_STREAM to "DEV:INO" of the stream it
 * connects to stdout/stderr (systemd.exec(5)). The variable is inherited
 * by children whose stderr may go elsewhere, so it counts only when fstat
 * of the descriptor gives the same device and inode. Pure apart from one
 * fstat(2).
 */
#include "log_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Decimal digits at *s up to stop; advances *s past them. */
static bool parse_decimal(const char **s, char stop, uintmax_t *out)
{
	char *end;

	if (**s < '0' || **s > '9')
		return false;
	errno = 0;
	*out = strtoumax(*s, &end, 10);
	if (errno || *end != stop)
		return false;
	*s = end + (stop != '\0');
	return true;
}

bool mmapfs_log_fd_is_journal(int fd, const char *journal_stream)
{
	const char *s = journal_stream;
	uintmax_t dev, ino;
	struct stat st;

	if (!s || !parse_decimal(&s, ':', &dev) ||
	    !parse_decimal(&s, '\0', &ino))
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}
