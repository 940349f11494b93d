/*
 * ctl_parse.h — the parser of control commands written to `.ctl/<verb>`
 * (docs/control.md), and the inverse escaping used by clients (mmapfsctl).
 *
 * Pure functions: no I/O, no allocation, thread-safe. The command syntax is
 * documented in docs/control.md; the choices this parser makes where
 * docs/control.md leaves open are listed with mmapfs_ctl_parse() below.
 */
#ifndef MMAPFS_CTL_PARSE_H
#define MMAPFS_CTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"

/* Longest command accepted by one write, in bytes (docs/control.md). */
#define MMAPFS_CTL_MAX 4096

/* Room for an error message from the parser (messages are cut to fit). */
#define MMAPFS_CTL_ERR_MAX 160

/* The control files; the verb is the file name the command was written to. */
enum mmapfs_ctl_verb {
	MMAPFS_CTL_PREFETCH = 0,
	MMAPFS_CTL_ADVISE,
	MMAPFS_CTL_FLUSH,
	MMAPFS_CTL_LOCK,
	MMAPFS_CTL_UNLOCK,
	MMAPFS_CTL_EVICT,
	MMAPFS_CTL_POLICY,
	MMAPFS_CTL_RELOAD,
	MMAPFS_CTL_VERB_COUNT,
};

/* Which optional fields a command gave. */
enum mmapfs_ctl_flags {
	MMAPFS_CTL_HAS_OFF = 1u << 0,
	MMAPFS_CTL_HAS_LEN = 1u << 1,
};

/* One parsed command. path is the unescaped, normalised path relative to
 * the mount root (no leading '/', no empty, "." or ".." component, NUL
 * terminated); it is "" for reload and for `flush *` (all = true). */
struct mmapfs_ctl_cmd {
	enum mmapfs_ctl_verb verb;
	unsigned flags;                 /* enum mmapfs_ctl_flags */
	uint64_t off;                   /* valid with MMAPFS_CTL_HAS_OFF, else 0 */
	uint64_t len;                   /* valid with MMAPFS_CTL_HAS_LEN, else 0 */
	enum mmapio_advice advice;      /* advise */
	struct mmapio_policy policy;    /* policy, unless policy_default */
	bool policy_default;            /* `policy PATH default` */
	bool all;                       /* `flush *` */
	char path[MMAPFS_CTL_MAX + 1];
};

/* The file name of verb ("prefetch", ...), or NULL when out of range. */
const char *mmapfs_ctl_verb_name(enum mmapfs_ctl_verb verb);

/* Finds the verb named name (exact, case-sensitive). Returns 0 or -EINVAL. */
int mmapfs_ctl_verb_from_name(const char *name, enum mmapfs_ctl_verb *out);

/* Parses one command for verb from buf[0..len) (not NUL-terminated).
 *
 * Rules (docs/control.md, and the choices made here):
 *   - len <= MMAPFS_CTL_MAX; the bytes are valid UTF-8 (no overlong forms,
 *     surrogates or code points past U+10FFFF) without NUL or other ASCII
 *     control characters, except one trailing newline, which is ignored.
 *     Raw tabs and newlines inside a command are rejected: write `\t`, `\n`.
 *   - Fields are separated by runs of spaces; leading and trailing spaces
 *     are ignored. In PATH, `\ ` `\t` `\n` `\\` are a space, a tab, a
 *     newline and a backslash; any other backslash sequence is invalid.
 *     Other fields contain no backslash.
 *   - PATH is relative to the mount root. A leading '/' or a ".."
 *     component is -EPERM (it would escape). Redundant slashes and "."
 *     components are dropped ("./a//b/" is "a/b"); a PATH that is empty
 *     after that is -EINVAL. For flush, the field `*` exactly means every
 *     file (write `./` then `*` for a file named "*").
 *   - OFFSET and LENGTH are bytes: decimal digits with an optional
 *     binary unit as in the config (K or KiB, M or MiB, G or GiB:
 *     `1M`, `4KiB`; size_parse.h); no sign, no hex, no blanks; a value
 *     above UINT64_MAX is -EINVAL. LENGTH 0 is allowed.
 *   - reload accepts any text (after the length, UTF-8 and control
 *     character checks) and ignores it.
 *
 * Returns 0 with *out filled, or -EINVAL (malformed) / -EPERM (escaping
 * path) with a one-line message in err (when err is not NULL; cut to
 * errlen). *out is unspecified on failure. */
int mmapfs_ctl_parse(enum mmapfs_ctl_verb verb, const char *buf, size_t len,
		     struct mmapfs_ctl_cmd *out, char *err, size_t errlen);

/* Resolves cmd's (OFFSET, LENGTH) against a file of size bytes: OFFSET
 * omitted is 0, LENGTH omitted is "to the end". Returns 0 with the range in
 * *off, *len, or -EINVAL (message in err) when OFFSET > size, OFFSET +
 * LENGTH overflows or OFFSET + LENGTH > size. */
int mmapfs_ctl_resolve_range(const struct mmapfs_ctl_cmd *cmd, uint64_t size,
			     uint64_t *off, uint64_t *len,
			     char *err, size_t errlen);

/* Writes path (a NUL-terminated relative path) to buf escaped as a PATH
 * field: space, tab, newline and backslash as `\ ` `\t` `\n` `\\`. Returns
 * the escaped length, snprintf-style (it may exceed buflen - 1, then the
 * text was cut; buf is NUL-terminated when buflen > 0). */
size_t mmapfs_ctl_escape_path(const char *path, char *buf, size_t buflen);

/* The length (1-4) of the valid UTF-8 sequence at s, which has avail > 0
 * bytes, or 0 when s does not start one (truncated, overlong, surrogate,
 * past U+10FFFF, stray continuation byte). Shared with the stats
 * formatter. */
size_t mmapfs_utf8_char_len(const char *s, size_t avail);

#endif /* MMAPFS_CTL_PARSE_H */
