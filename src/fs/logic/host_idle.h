/*
 * host_idle.h — whether this machine's idle CPUs halt at once: a virtual
 * machine whose cpuidle driver is haltpoll with guest_halt_poll_ns = 0
 * halts a vCPU the moment it goes idle, and waking a halted vCPU costs
 * the host's scheduling of it (tens of µs). Every FUSE request that finds
 * the daemon's CPU idle pays that wake-up, and so does every reply that
 * finds the client's CPU idle (docs/operations.md, "Virtual machines").
 */
#ifndef MMAPFS_HOST_IDLE_H
#define MMAPFS_HOST_IDLE_H

#include <stdbool.h>

/* True when driver (the text of
 * /sys/devices/system/cpu/cpuidle/current_driver) is "haltpoll" and
 * poll_ns (/sys/module/haltpoll/parameters/guest_halt_poll_ns) is 0.
 * Either may be NULL (the file could not be read) or end in a newline;
 * anything unreadable or malformed is false: no claim without evidence. */
bool mmapfs_idle_halts_at_once(const char *driver, const char *poll_ns);

#endif /* MMAPFS_HOST_IDLE_H */
