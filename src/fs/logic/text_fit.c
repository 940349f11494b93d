/*
 * text_fit.c — escaping and fitting text for a terminal (text_fit.h).
 *
 * Design: everything walks UTF-8 characters with mmapfs_utf8_char_len
 * (ctl_parse.c), so a cut never splits a character and invalid bytes are
 * handled the same way everywhere (escaped, one column each).
 *
 * Threads: pure functions; reentrant.
 */
#include "text_fit.h"

#include <stdio.h>
#include <string.h>

#include "ctl_parse.h"

#define ELLIPSIS "\xe2\x80\xa6"   /* U+2026 */

/* Length of the character at s (len bytes left): invalid bytes are one. */
static size_t char_len(const char *s, size_t len)
{
	size_t n = mmapfs_utf8_char_len(s, len);

	return n ? n : 1;
}

size_t mmapfs_text_escape(const char *s, char *out, size_t outlen)
{
	size_t len = strlen(s), i = 0, w = 0, chars = 0;

	if (outlen == 0)
		return 0;
	while (i < len) {
		size_t n = mmapfs_utf8_char_len(s + i, len - i);
		unsigned char c = (unsigned char)s[i];
		char esc[16];
		const char *piece = s + i;
		size_t plen = n;

		if (n == 0 || c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			piece = esc;
			plen = 4;
			n = 1;
		} else if (n == 2 && c == 0xc2 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			/* A C1 control (U+0080-U+009F; U+009B is CSI), which
			 * terminals may obey in UTF-8 too. */
			snprintf(esc, sizeof(esc), "\\xc2\\x%02x",
				 (unsigned char)s[i + 1]);
			piece = esc;
			plen = 8;
		}
		if (w + plen >= outlen)
			break;
		memcpy(out + w, piece, plen);
		w += plen;
		chars += piece == s + i ? 1 : plen;
		i += n;
	}
	out[w] = '\0';
	return chars;
}

size_t mmapfs_text_width(const char *s)
{
	size_t len = strlen(s), n = 0;

	for (size_t i = 0; i < len; i += char_len(s + i, len - i))
		n++;
	return n;
}

/* Copies at most outlen - 1 bytes of [s, s + n) to out, whole characters. */
static void copy_chars(const char *s, size_t n, char *out, size_t outlen)
{
	size_t w = 0;

	while (w < n) {
		size_t c = char_len(s + w, n - w);

		if (w + c >= outlen)
			break;
		w += c;
	}
	memcpy(out, s, w);
	out[w] = '\0';
}

void mmapfs_text_fit(const char *s, size_t width, bool cut_start, char *out,
		     size_t outlen)
{
	size_t len = strlen(s), chars = mmapfs_text_width(s), keep, i = 0;
	size_t w;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (width == 0)
		return;
	if (chars <= width) {
		copy_chars(s, len, out, outlen);
		return;
	}
	keep = width - 1;
	if (!cut_start) {
		/* The first keep characters, then the mark. */
		for (size_t k = 0; k < keep; k++)
			i += char_len(s + i, len - i);
		copy_chars(s, i, out, outlen);
		w = strlen(out);
		if (w + sizeof(ELLIPSIS) <= outlen)
			memcpy(out + w, ELLIPSIS, sizeof(ELLIPSIS));
		return;
	}
	/* The mark, then the last keep characters. */
	for (size_t k = 0; k < chars - keep; k++)
		i += char_len(s + i, len - i);
	if (outlen < sizeof(ELLIPSIS))
		return;
	memcpy(out, ELLIPSIS, sizeof(ELLIPSIS));
	copy_chars(s + i, len - i, out + sizeof(ELLIPSIS) - 1,
		   outlen - (sizeof(ELLIPSIS) - 1));
}
