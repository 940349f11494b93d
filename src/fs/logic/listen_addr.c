/*
 * listen_addr.c — parsing metrics_listen addresses (listen_addr.h).
 *
 * Design: inet_pton for the address (no resolver: a mount must not wait
 * for DNS), a strict decimal port, and inet_ntop to print the canonical
 * text back, so equal addresses compare equal as text.
 *
 * Threads: no state; reentrant.
 */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_port(const char *s, unsigned *out)
{
	unsigned v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int mmapfs_listen_parse(const char *text, struct mmapfs_listen *out,
			char *err, size_t errlen)
{
	char host[MMAPFS_LISTEN_TEXT_MAX], shown[INET6_ADDRSTRLEN];
	const char *port_text, *colon;
	unsigned port;

	memset(out, 0, sizeof(*out));
	if (strcmp(text, "off") == 0) {
		snprintf(out->text, sizeof(out->text), "off");
		return 0;
	}
	if (strlen(text) >= sizeof(host))
		return fail(err, errlen, "address '%.64s' is too long", text);
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':')
			return fail(err, errlen, "bad address '%s' (expected "
				    "[IPV6]:PORT)", text);
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		port_text = end + 2;
	} else if ((colon = strrchr(text, ':'))) {
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port_text = colon + 1;
	} else {
		snprintf(host, sizeof(host), "127.0.0.1");
		port_text = text;
	}
	if (parse_port(port_text, &port) < 0)
		return fail(err, errlen, "bad port in '%s' (expected 1 to "
			    "65535)", text);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (text[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return fail(err, errlen, "bad address '%s' (expected "
				    "PORT, IPV4:PORT or [IPV6]:PORT; no host "
				    "names)", text);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->addr_len = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, shown, sizeof(shown));
		snprintf(out->text, sizeof(out->text), "%s:%u", shown, port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return fail(err, errlen, "bad IPv6 address in '%s'",
				    text);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->addr_len = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, shown, sizeof(shown));
		snprintf(out->text, sizeof(out->text), "[%s]:%u", shown, port);
	}
	out->on = true;
	return 0;
}
