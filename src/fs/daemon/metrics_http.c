/*
 * metrics_http.c — the metrics HTTP endpoint: GET /metrics answers the
 * text of `.stats/metrics.prom` (the same builder, so both always agree)
 * for Prometheus to scrape, with libmicrohttpd. Off unless metrics_listen
 * (config key or -o option) names an address; 127.0.0.1 unless the admin
 * names another.
 *
 * Design:
 *   - The socket is bound in mmapfs_metrics_http_bind(), before the mount:
 *     an address in use or not allowed refuses the mount with a message,
 *     instead of a daemon running without the endpoint it was asked for.
 *     The server thread starts in mmapfs_metrics_http_start(), after the
 *     daemon forked into the background (a thread does not survive fork)
 *     and after SIGHUP was blocked (so the thread inherits the mask).
 *   - One internal polling thread answers every request (a scrape costs
 *     one snapshot; there is no reason for more), at most 16 connections,
 *     10 s idle timeout: a slow or hostile client cannot tie the daemon
 *     up. Only GET and HEAD of /metrics are answered (200); other paths
 *     get 404, other methods 405.
 *   - The address is fixed at mount (model/mount.c logs a reload that
 *     names another; it applies at the next mount).
 *
 * Threads: bind/start/stop from the main thread; the handler runs on
 * libmicrohttpd's thread and uses only thread-safe builders (control.h).
 */
#include "daemon/metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "logic/control.h"
#include "logic/log.h"
#include "virtual/virtual.h"

#define HTTP_MAX_CONNECTIONS 16
#define HTTP_TIMEOUT_S 10

static int listen_fd = -1;
static struct MHD_Daemon *server;
static struct mmapfs_listen bound;

int mmapfs_metrics_http_bind(const struct mmapfs_listen *l)
{
	int fd, one = 1;

	if (!l->on)
		return 0;
	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0 ||
	    listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	listen_fd = fd;
	bound = *l;
	return 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
			      const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **req_cls)
{
	static const char plain[] = "text/plain; charset=utf-8";
	struct mmapfs_buf text = MMAPFS_BUF_INIT;
	struct mmapfs_control c;
	enum MHD_Result ret;
	int res;

	(void)cls;
	(void)version;
	(void)upload;
	if (!*req_cls) {
		/* First call: headers only. Answer on the next. */
		*req_cls = conn;
		return MHD_YES;
	}
	if (*upload_size)
		*upload_size = 0;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, plain,
			      "only GET /metrics\n", 18);
	if (strcmp(url, "/metrics") != 0)
		return answer(conn, MHD_HTTP_NOT_FOUND, plain,
			      "not found: the metrics are at /metrics\n", 39);
	mmapfs_control_instance(&c);
	res = mmapfs_control_stats_open(&c, "metrics.prom", &text);
	if (res < 0) {
		mmapfs_buf_free(&text);
		mmapfs_warn("metrics endpoint: %s", strerror(-res));
		return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, plain,
			      "cannot build the metrics\n", 25);
	}
	ret = answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; "
		     "charset=utf-8", text.data, text.len);
	mmapfs_buf_free(&text);
	return ret;
}

int mmapfs_metrics_http_start(void)
{
	if (listen_fd < 0)
		return 0;
	server = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				  MHD_USE_EPOLL_LINUX_ONLY,
				  0, NULL, NULL, handle, NULL,
				  MHD_OPTION_LISTEN_SOCKET, listen_fd,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)HTTP_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)HTTP_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!server)
		return -EIO;
	mmapfs_notice("metrics: serving http://%s/metrics", bound.text);
	return 0;
}

void mmapfs_metrics_http_stop(void)
{
	if (server) {
		MHD_stop_daemon(server);
		server = NULL;
		/* MHD closed the listening socket it was given. */
		listen_fd = -1;
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
}
