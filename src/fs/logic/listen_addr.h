/*
 * listen_addr.h — the address of the metrics HTTP endpoint
 * (metrics_listen): its text form, shared by the config, the command line
 * and the endpoint, and the socket address it names.
 *
 * Accepted: `off`; `PORT` (127.0.0.1:PORT, loopback by default);
 * `IPV4:PORT`; `[IPV6]:PORT`; `localhost:PORT` (127.0.0.1). PORT is
 * 1..65535 in decimal. Host names other than localhost are refused: the
 * daemon resolves nothing. The canonical text is `off`, `IPV4:PORT` or
 * `[IPV6]:PORT` in the address's standard form.
 */
#ifndef MMAPFS_LISTEN_ADDR_H
#define MMAPFS_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for the canonical text, NUL included. */
#define MMAPFS_LISTEN_TEXT_MAX 64

struct mmapfs_listen {
	bool on;                        /* false: off */
	struct sockaddr_storage addr;   /* AF_INET or AF_INET6, port set */
	socklen_t addr_len;
	char text[MMAPFS_LISTEN_TEXT_MAX];   /* canonical */
};

/* Parses text. Returns 0 with *out, or -EINVAL with a reason in err
 * (errlen bytes, may be 0). */
int mmapfs_listen_parse(const char *text, struct mmapfs_listen *out,
			char *err, size_t errlen);

#endif /* MMAPFS_LISTEN_ADDR_H */
