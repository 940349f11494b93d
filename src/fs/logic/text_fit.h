/*
 * text_fit.h — text for a terminal (mmapfsctl top): file names made safe
 * to print (control bytes escaped, so a name cannot move the cursor or
 * change colours) and fitted into a column, marking what is cut with `…`.
 *
 * Widths are counted in characters (one column each: wide East Asian
 * characters are not measured).
 */
#ifndef MMAPFS_TEXT_FIT_H
#define MMAPFS_TEXT_FIT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes s to out (outlen bytes, NUL-terminated, cut at a character
 * boundary when too small) with C0 control bytes, DEL, the UTF-8 forms of
 * the C1 controls (U+0080-U+009F, `\xc2\x9b` for CSI) and bytes that are
 * not valid UTF-8 as `\xHH` (ESC shows as `\x1b`). Backslashes stay as
 * they are: escape them first (mmapfs_ctl_escape_path writes `\\`) where
 * a name could spell `\x1b` itself. Returns the characters written. */
size_t mmapfs_text_escape(const char *s, char *out, size_t outlen);

/* The number of characters of UTF-8 text s (invalid bytes count one). */
size_t mmapfs_text_width(const char *s);

/* Fits s (safe text, e.g. from mmapfs_text_escape) into width characters:
 * unchanged when it fits, else cut to width - 1 characters plus `…`,
 * keeping the end of s (cut_start: a path keeps its file name) or its
 * start. out (outlen bytes) receives it, NUL-terminated; width 0 gives
 * "". */
void mmapfs_text_fit(const char *s, size_t width, bool cut_start, char *out,
		     size_t outlen);

#endif /* MMAPFS_TEXT_FIT_H */
