/*
 * daemon/notify.h — state notifications to the service manager (systemd's
 * sd_notify protocol, sd_notify(3)), for units of Type=notify.
 */
#ifndef MMAPFS_DAEMON_NOTIFY_H
#define MMAPFS_DAEMON_NOTIFY_H

/* Sends state, newline-separated "KEY=VALUE" assignments ("READY=1",
 * "STOPPING=1", "STATUS=text"), as one datagram to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or an abstract name written "@name").
 * Returns 0 when sent, 0 when $NOTIFY_SOCKET is unset or empty (nothing to
 * tell), -EINVAL for a bad socket name, else -errno of socket or sendto.
 * Thread-safe; never blocks for long (a datagram, MSG_DONTWAIT). */
int mmapfs_notify(const char *state);

/* "RELOADING=1" with MONOTONIC_USEC (the reload's start, as systemd 253's
 * Type=notify-reload wants it); send "READY=1" when the reload is over,
 * whatever its outcome. Returns as mmapfs_notify(). */
int mmapfs_notify_reloading(void);

#endif /* MMAPFS_DAEMON_NOTIFY_H */
