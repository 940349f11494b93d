/*
 * term_escape.c — escaping of text for a terminal (term_escape.h).
 *
 * Design: one pass over the bytes. A byte below 0x80 is copied unless it
 * is a control (C0 or DEL). A byte from 0x80 starts a UTF-8 sequence,
 * checked as the Unicode standard defines well-formed UTF-8 (no overlong
 * forms, no surrogates, nothing above U+10FFFF): a valid sequence is
 * copied whole unless it encodes a C1 control; each byte of an invalid
 * one is escaped alone, and the scan goes on at the next byte. Output
 * that does not fit is cut before the escape or sequence that would
 * overflow, so a truncated result never ends in half an escape or half a
 * character.
 *
 * Threads: pure function, no state.
 */
#include "term_escape.h"

#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at s[0..n) (2 to 4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	uint32_t c;

	if (b >= 0xc2 && b <= 0xdf) {
		len = 2;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (b == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;	/* overlong */
		else if (b == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* Appends the n bytes at p when all of them fit; counts them either way. */
static void put(char *buf, size_t buflen, size_t *out, bool *full,
		const char *p, size_t n)
{
	if (!*full && *out + n < buflen) {
		for (size_t i = 0; i < n; i++)
			buf[*out + i] = p[i];
	} else {
		*full = true;
	}
	*out += n;
}

static void put_hex(char *buf, size_t buflen, size_t *out, bool *full,
		    const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char esc[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };

		put(buf, buflen, out, full, esc, sizeof(esc));
	}
}

size_t mmapfs_term_escape(const char *s, size_t n, bool keep_tab_nl,
			  char *buf, size_t buflen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t out = 0, kept = 0, i = 0;
	bool full = buflen == 0;

	while (i < n) {
		unsigned char b = u[i];
		size_t len = 1;
		uint32_t cp = 0;

		if (b < 0x80) {
			if ((b < 0x20 || b == 0x7f) &&
			    !(keep_tab_nl && (b == '\t' || b == '\n')))
				put_hex(buf, buflen, &out, &full, u + i, 1);
			else
				put(buf, buflen, &out, &full, s + i, 1);
		} else {
			len = utf8_len(u + i, n - i, &cp);
			if (len == 0) {
				len = 1;
				put_hex(buf, buflen, &out, &full, u + i, 1);
			} else if (cp <= 0x9f) {
				put_hex(buf, buflen, &out, &full, u + i, len);
			} else {
				put(buf, buflen, &out, &full, s + i, len);
			}
		}
		if (!full)
			kept = out;
		i += len;
	}
	if (buflen)
		buf[kept] = '\0';
	return out;
}
