/*
 * host_hints.c — one log line at start about the machine the daemon runs
 * on, when a setting of it costs every FUSE round trip: a virtual machine
 * whose idle vCPUs halt at once (logic/host_idle.h). Measured on such a
 * guest (docs/performance.md, "The guest's idle policy"): letting idle
 * vCPUs poll before halting doubled new small files and one-job 4 KiB
 * writes through every FUSE file system tried. The daemon only says so;
 * the setting is the admin's (docs/operations.md, "Virtual machines").
 *
 * Threads: called once by the main thread; no state.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "logic/host_idle.h"
#include "logic/log.h"

#define CPUIDLE_DRIVER "/sys/devices/system/cpu/cpuidle/current_driver"
#define HALT_POLL_NS "/sys/module/haltpoll/parameters/guest_halt_poll_ns"

/* The first len - 1 bytes of path, NUL-terminated, or NULL when it cannot
 * be read. */
static const char *read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

void mmapfs_host_hints_log(void)
{
	char driver[32], poll_ns[32];

	if (mmapfs_idle_halts_at_once(
		    read_small(CPUIDLE_DRIVER, driver, sizeof(driver)),
		    read_small(HALT_POLL_NS, poll_ns, sizeof(poll_ns))))
		mmapfs_notice("host: idle vCPUs halt at once (haltpoll, "
			      "guest_halt_poll_ns = 0): a FUSE round trip that "
			      "finds an idle CPU waits for a vCPU to wake "
			      "(docs/operations.md, \"Virtual machines\")");
}
