/*
 * metrics_http.h — the /metrics HTTP endpoint (metrics_http.c).
 */
#ifndef MMAPFS_METRICS_HTTP_H
#define MMAPFS_METRICS_HTTP_H

#include "logic/listen_addr.h"

/* Binds and listens on l's address (nothing when l is off), before the
 * mount. Returns 0 or -errno (-EADDRINUSE, -EACCES, ...). */
int mmapfs_metrics_http_bind(const struct mmapfs_listen *l);
/* Starts the server thread on the bound socket (nothing when none);
 * after daemonizing. Returns 0 or -EIO. */
int mmapfs_metrics_http_start(void);
/* Stops the thread and closes the socket. Idempotent. */
void mmapfs_metrics_http_stop(void);

#endif /* MMAPFS_METRICS_HTTP_H */
