/*
 * mountinfo.c — the top mount on a path, from /proc/self/mountinfo.
 *
 * Format (proc(5)): "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [FIELDS] -
 * FSTYPE SOURCE SUPER", where MOUNTPOINT has space, tab, newline and
 * backslash written as octal escapes (\040 ...). Later lines are mounted
 * over earlier ones, so the last line for a mount point is the mount a
 * path lookup reaches.
 *
 * Threads: no state; any thread.
 */
#include "mountinfo.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Decodes the octal escapes (\040 ...) of a mountinfo field in place. */
static void unescape_field(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

bool mmapfs_mountinfo_top_in(FILE *f, const char *path, char *fstype,
			     size_t fstype_len, char *majmin,
			     size_t majmin_len)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], dev[32], type[64], *sep = strstr(line, " - ");

		if (!sep ||
		    sscanf(line, "%*s %*s %31s %*s %4095s", dev, mnt) != 2 ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		unescape_field(mnt);
		if (strcmp(mnt, path) != 0)
			continue;
		snprintf(fstype, fstype_len, "%s", type);
		snprintf(majmin, majmin_len, "%s", dev);
		found = true;
	}
	free(line);
	return found;
}

bool mmapfs_mountinfo_top(const char *path, char *fstype, size_t fstype_len,
			  char *majmin, size_t majmin_len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found;

	if (!f)
		return false;
	found = mmapfs_mountinfo_top_in(f, path, fstype, fstype_len, majmin,
					majmin_len);
	fclose(f);
	return found;
}
