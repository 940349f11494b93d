/*
 * logic/mountinfo.h — the top mount on a path, read from
 * /proc/self/mountinfo (proc(5)): its file system type and device. Used to
 * tell whether a mount point is already a FUSE mount, to find the mount's
 * device for its read-ahead setting, and whether a dead mount is
 * mmapfs's.
 */
#ifndef MMAPFS_LOGIC_MOUNTINFO_H
#define MMAPFS_LOGIC_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The last (top) mount whose mount point is path (absolute, as mountinfo
 * writes it once its octal escapes are decoded) in the mountinfo text f:
 * true, with its type ("fuse.mmapfs") in fstype and its device ("0:52")
 * in majmin, each cut to its buffer; false when no mount is on path. */
bool mmapfs_mountinfo_top_in(FILE *f, const char *path, char *fstype,
			     size_t fstype_len, char *majmin,
			     size_t majmin_len);
/* The same, of /proc/self/mountinfo (false when it cannot be read). */
bool mmapfs_mountinfo_top(const char *path, char *fstype, size_t fstype_len,
			  char *majmin, size_t majmin_len);

#endif /* MMAPFS_LOGIC_MOUNTINFO_H */
