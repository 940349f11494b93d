/*
 * daemon/dead_mount.c — detaches a dead mmapfs mount at the mount point
 * before a new daemon mounts there.
 *
 * Design: a daemon that dies without unmounting leaves its mount in
 * place; every access to it fails with ENOTCONN (ECONNABORTED while the
 * kernel tears down the io_uring queues of a killed daemon), and a new
 * mount on the same path would be stacked over it (or, for `mmapfs /data
 * /data`, could not even reach the backing directory). Only a mount that
 * is provably dead and provably mmapfs's is touched: ENOTCONN or
 * ECONNABORTED from stat(2) or statfs(2) on the path (a live daemon
 * answers, a hung one blocks; stat alone may answer from attributes the
 * kernel cached before the daemon died, statfs always asks the daemon),
 * and the type fuse.mmapfs on the last mountinfo entry for the absolute
 * path (the mount that stat reached). The absolute path is built from
 * realpath of the parent directory (realpath of the path itself fails
 * with ENOTCONN). Detaching is lazy (MNT_DETACH, fusermount3 -z):
 * processes that still hold files of the dead mount keep their error,
 * nothing else does.
 *
 * Runs in the main thread at start-up, before anything is mounted.
 */
#include "daemon/dead_mount.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logic/mountinfo.h"

extern char **environ;

/* True when the last mount on abs (the one on top) is of type type. */
static bool top_mount_is(const char *abs, const char *type)
{
	char fstype[64], majmin[32];

	return mmapfs_mountinfo_top(abs, fstype, sizeof(fstype), majmin,
				    sizeof(majmin)) &&
	       strcmp(fstype, type) == 0;
}

/* The absolute, canonical form of path whose last component cannot be
 * resolved (it is the dead mount). Returns 0 or -errno. */
static int absolute_path(const char *path, char *out, size_t len)
{
	char copy[PATH_MAX], *parent, *base, *dir;
	size_t n = strlen(path);
	int res = 0;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(copy))
		return -EINVAL;
	memcpy(copy, path, n);
	copy[n] = '\0';
	base = strrchr(copy, '/');
	if (!base) {
		parent = ".";
		base = copy;
	} else if (base == copy) {
		parent = "/";
		base++;
	} else {
		*base++ = '\0';
		parent = copy;
	}
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	dir = realpath(parent, NULL);
	if (!dir)
		return -errno;
	if ((size_t)snprintf(out, len, "%s/%s",
			     strcmp(dir, "/") == 0 ? "" : dir, base) >= len)
		res = -ENAMETOOLONG;
	free(dir);
	return res;
}

/* fusermount3 -u -z abs, for a user who may not umount2(). */
static int fusermount_detach(const char *abs)
{
	char *argv[] = { "fusermount3", "-u", "-z", (char *)abs, NULL };
	pid_t pid;
	int status, res;

	res = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
	if (res)
		return -res;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

/* The errors of a connection whose daemon is gone: ENOTCONN, and, while
 * the kernel still tears down the io_uring queues of a killed daemon,
 * ECONNABORTED. */
static bool dead_errno(int e)
{
	return e == ENOTCONN || e == ECONNABORTED;
}

/* True when path is on a FUSE connection whose daemon is gone. */
static bool connection_is_dead(const char *path)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st) < 0)
		return dead_errno(errno);
	return statfs(path, &sfs) < 0 && dead_errno(errno);
}

int mmapfs_clear_dead_mount(const char *path)
{
	char abs[PATH_MAX];
	int res;

	if (!connection_is_dead(path))
		return 0;
	if (absolute_path(path, abs, sizeof(abs)) < 0 ||
	    !top_mount_is(abs, "fuse.mmapfs"))
		return 0;
	res = umount2(abs, MNT_DETACH) == 0 ? 0 : -errno;
	if (res == -EPERM)
		res = fusermount_detach(abs);
	if (res < 0) {
		fprintf(stderr, "mmapfs: mountpoint %s: cannot detach the dead "
			"mount of an earlier mmapfs: %s\n", abs, strerror(-res));
		return res;
	}
	fprintf(stderr, "mmapfs: mountpoint %s: detached the dead mount of an "
		"earlier mmapfs (its daemon is gone)\n", abs);
	return 1;
}
