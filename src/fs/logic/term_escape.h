/*
 * term_escape.h — text safe to print on a terminal: every control byte of
 * a name shown as a visible escape (\x1b), as ls(1) does.
 *
 * Why: file names are chosen by any user who may create files on the
 * mount; mmapfsctl prints them (files, top) to the administrator's
 * terminal, where ESC, CSI or BEL sequences would run (retitle the window,
 * clear the screen, move the cursor), and a carriage return would hide
 * what came before it.
 */
#ifndef MMAPFS_TERM_ESCAPE_H
#define MMAPFS_TERM_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the n bytes of s to buf (NUL-terminated, truncated to buflen - 1
 * bytes, never inside an escape) with every byte a terminal may act on
 * shown as \xHH: C0 controls (0x00-0x1f) and DEL (0x7f), the UTF-8
 * encodings of the C1 controls (U+0080-U+009F, e.g. \xc2\x9b, CSI), and
 * each byte that is not part of valid UTF-8 (a lone 0x9b is CSI on an
 * 8-bit terminal). keep_tab_nl: tab and newline pass unchanged (a TSV
 * text whose fields were escaped already). Everything else, valid
 * printable UTF-8 and backslash included, is copied as it is.
 * Returns the length the whole escaped text needs (without the NUL),
 * snprintf-style. */
size_t mmapfs_term_escape(const char *s, size_t n, bool keep_tab_nl,
			  char *buf, size_t buflen);

#endif /* MMAPFS_TERM_ESCAPE_H */
