/*
 * daemon/daemon.h — the composition root's own modules: the /dev/fuse
 * transport hooks (kernel_io.c), the SIGHUP reader (signals.c) and the
 * start-up note on the host (host_hints.c). Nothing below the root
 * includes this header.
 */
#ifndef MMAPFS_DAEMON_H
#define MMAPFS_DAEMON_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>

/* Routes the session's /dev/fuse reads and writes through kernel_io.c
 * (after fuse_session_mount): negotiates FUSE_HANDLE_KILLPRIV_V2 and
 * passes each request's kill flags to model/killpriv.c; calls
 * first_request once, before the first request after INIT is handled.
 * Returns 0 or -errno. */
int mmapfs_kernel_io_install(struct fuse_session *se,
			     void (*first_request)(void));

/* Blocks SIGHUP in this thread (and so in every thread created later) and
 * starts the thread that reads it from a signalfd. Call after
 * fuse_set_signal_handlers() and after daemonizing. */
int mmapfs_signals_start(void);
void mmapfs_signals_stop(void);

/* Logs, once, what the host costs every round trip, when it is known to
 * (idle vCPUs that halt at once). Never fails. */
void mmapfs_host_hints_log(void);

#endif /* MMAPFS_DAEMON_H */
