/*
 * daemon/notify.c — the sd_notify protocol without libsystemd.
 *
 * Design: the service manager passes the name of a datagram socket in
 * $NOTIFY_SOCKET; a notification is one datagram of "KEY=VALUE" lines
 * sent there (sd_notify(3)). A path names a socket in the file system, a
 * leading '@' an abstract one (the '@' becomes a NUL byte). The daemon
 * sends READY=1 once it serves the mount, RELOADING=1 ... READY=1 around
 * a SIGHUP reload and STOPPING=1 when the session ends; a unit of
 * Type=notify then knows when the mount is usable, when a reload is done,
 * and that the stop has begun (the final flush may take a while).
 *
 * Invariants: without $NOTIFY_SOCKET nothing is sent and nothing fails.
 * The environment is read, never changed.
 *
 * Threads: any thread; each call uses its own socket.
 */
#include "daemon/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int mmapfs_notify(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	ssize_t sent;
	int fd, res = 0;

	if (!name || !*name)
		return 0;
	len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	/* an abstract name's length is exact; a path's includes its NUL */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			    (name[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
		      (const struct sockaddr *)&sa, salen);
	if (sent < 0)
		res = -errno;
	close(fd);
	return res;
}

int mmapfs_notify_reloading(void)
{
	struct timespec now;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000ull +
		 (unsigned long long)now.tv_nsec / 1000ull);
	return mmapfs_notify(state);
}
