/*
 * ctl_parse.c — parses the commands written to `.ctl/<verb>`
 * (docs/control.md) into struct mmapfs_ctl_cmd, resolves their byte ranges
 * against a file size, and escapes paths for clients.
 *
 * Design: a command is checked as a whole first (length, NUL and control
 * bytes, UTF-8), then split into fields at runs of unescaped spaces, then
 * each field is converted by its role for the verb (PATH, OFFSET, LENGTH,
 * ADVICE, POLICY). The first problem found is the error; the message names
 * the field. Nothing here touches the file system: resolving PATH beneath
 * the root is the daemon's job (control.h), so this parser only guarantees
 * that PATH is lexically relative and free of "..".
 *
 * Invariants of a successful parse: out->path is NUL-terminated, never
 * starts with '/', has no empty, "." or ".." component, and is non-empty
 * for every verb but reload and `flush *`.
 *
 * Threads: pure functions, no global state; safe from any thread.
 */
#include "ctl_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "size_parse.h"

/* The most fields any verb takes: advise PATH ADVICE OFFSET LENGTH. */
#define CTL_FIELDS_MAX 4

/* Shown of a bad field in an error message, in bytes. */
#define CTL_ERR_FIELD_MAX 48

struct ctl_field {
	const char *s;
	size_t len;
};

struct ctl_syntax {
	const char *name;
	unsigned min_fields;
	unsigned max_fields;
	const char *usage;
};

static const struct ctl_syntax ctl_syntax[MMAPFS_CTL_VERB_COUNT] = {
	[MMAPFS_CTL_PREFETCH] = { "prefetch", 1, 3, "PATH [OFFSET [LENGTH]]" },
	[MMAPFS_CTL_ADVISE]   = { "advise", 2, 4, "PATH ADVICE [OFFSET [LENGTH]]" },
	[MMAPFS_CTL_FLUSH]    = { "flush", 1, 1, "PATH or *" },
	[MMAPFS_CTL_LOCK]     = { "lock", 1, 3, "PATH [OFFSET [LENGTH]]" },
	[MMAPFS_CTL_UNLOCK]   = { "unlock", 1, 3, "PATH [OFFSET [LENGTH]]" },
	[MMAPFS_CTL_EVICT]    = { "evict", 1, 1, "PATH" },
	[MMAPFS_CTL_POLICY]   = { "policy", 2, 2, "PATH POLICY or PATH default" },
	[MMAPFS_CTL_RELOAD]   = { "reload", 0, 0, "(any text)" },
};

static const char *const advice_names[] = {
	[MMAPIO_ADV_NORMAL] = "normal",
	[MMAPIO_ADV_RANDOM] = "random",
	[MMAPIO_ADV_SEQUENTIAL] = "sequential",
	[MMAPIO_ADV_WILLNEED] = "willneed",
	[MMAPIO_ADV_DONTNEED] = "dontneed",
};

__attribute__((format(printf, 4, 5)))
static int ctl_error(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

const char *mmapfs_ctl_verb_name(enum mmapfs_ctl_verb verb)
{
	if ((unsigned)verb >= MMAPFS_CTL_VERB_COUNT)
		return NULL;
	return ctl_syntax[verb].name;
}

int mmapfs_ctl_verb_from_name(const char *name, enum mmapfs_ctl_verb *out)
{
	for (unsigned v = 0; v < MMAPFS_CTL_VERB_COUNT; v++) {
		if (strcmp(name, ctl_syntax[v].name) == 0) {
			*out = (enum mmapfs_ctl_verb)v;
			return 0;
		}
	}
	return -EINVAL;
}

size_t mmapfs_utf8_char_len(const char *s, size_t avail)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t need;
	uint32_t cp, min;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;   /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	if (avail < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* Checks the command as a whole: UTF-8 without NUL or control bytes. */
static int ctl_check_text(const char *buf, size_t len, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)buf[i];
		size_t n;

		if (c == 0)
			return ctl_error(-EINVAL, err, errlen,
					 "NUL byte at offset %zu", i);
		if (c < 0x20 || c == 0x7f)
			return ctl_error(-EINVAL, err, errlen,
					 "control character 0x%02x at offset %zu "
					 "(escape tabs and newlines in PATH as \\t, \\n)",
					 c, i);
		n = mmapfs_utf8_char_len(buf + i, len - i);
		if (n == 0)
			return ctl_error(-EINVAL, err, errlen,
					 "invalid UTF-8 at offset %zu", i);
		i += n;
	}
	return 0;
}

/* Splits buf into fields at runs of unescaped spaces. A backslash keeps the
 * next byte in the field (its validity is checked by the field's parser).
 * Returns the number of fields, or -EINVAL. */
static int ctl_split(const char *buf, size_t len, struct ctl_field *fields,
		     unsigned max, char *err, size_t errlen)
{
	unsigned n = 0;
	size_t i = 0;

	for (;;) {
		size_t start;

		while (i < len && buf[i] == ' ')
			i++;
		if (i == len)
			return (int)n;
		if (n == max)
			return ctl_error(-EINVAL, err, errlen,
					 "too many fields (at most %u)", max);
		start = i;
		while (i < len && buf[i] != ' ') {
			if (buf[i] == '\\') {
				if (i + 1 == len)
					return ctl_error(-EINVAL, err, errlen,
							 "backslash at the end of the command");
				i++;
			}
			i++;
		}
		fields[n].s = buf + start;
		fields[n].len = i - start;
		n++;
	}
}

static bool field_is(const struct ctl_field *f, const char *word)
{
	size_t n = strlen(word);

	return f->len == n && memcmp(f->s, word, n) == 0;
}

/* Unescapes a PATH field into out (room for f->len + 1 bytes) and
 * normalises it: drops empty and "." components, rejects "..". */
static int ctl_parse_path(const struct ctl_field *f, char *out,
			  char *err, size_t errlen)
{
	size_t n = 0, w = 0, r = 0;

	for (size_t i = 0; i < f->len; i++) {
		char c = f->s[i];

		if (c == '\\') {
			switch (f->s[++i]) {
			case ' ':  c = ' '; break;
			case 't':  c = '\t'; break;
			case 'n':  c = '\n'; break;
			case '\\': c = '\\'; break;
			default:
				return ctl_error(-EINVAL, err, errlen,
						 "invalid escape '\\%c' in PATH "
						 "(use \\ , \\t, \\n or \\\\)",
						 f->s[i]);
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (out[0] == '/')
		return ctl_error(-EPERM, err, errlen,
				 "absolute PATH: give it relative to the mount root");

	/* Compact in place: w (write) never passes r (read). */
	while (r < n) {
		size_t end = r;

		while (end < n && out[end] != '/')
			end++;
		if (end - r == 2 && out[r] == '.' && out[r + 1] == '.')
			return ctl_error(-EPERM, err, errlen,
					 "'..' in PATH escapes the mount root");
		if (!(end == r || (end - r == 1 && out[r] == '.'))) {
			if (w > 0)
				out[w++] = '/';
			memmove(out + w, out + r, end - r);
			w += end - r;
		}
		r = end + 1;
	}
	out[w] = '\0';
	if (w == 0)
		return ctl_error(-EINVAL, err, errlen,
				 "empty PATH (it must name a file below the root)");
	return 0;
}

/* OFFSET or LENGTH: bytes, with an optional binary unit as in the config
 * (size_parse.h). */
static int ctl_parse_u64(const struct ctl_field *f, const char *what,
			 uint64_t *out, char *err, size_t errlen)
{
	const char *why;

	if (mmapfs_size_parse(f->s, f->len, out, &why) == 0)
		return 0;
	return ctl_error(-EINVAL, err, errlen, "%s '%.*s' %s", what,
			 (int)(f->len < CTL_ERR_FIELD_MAX ? f->len :
			       CTL_ERR_FIELD_MAX), f->s, why);
}

/* OFFSET and LENGTH from fields[first..n). */
static int ctl_parse_range(const struct ctl_field *fields, unsigned first,
			   unsigned n, struct mmapfs_ctl_cmd *out,
			   char *err, size_t errlen)
{
	int ret;

	if (n > first) {
		ret = ctl_parse_u64(&fields[first], "OFFSET", &out->off,
				    err, errlen);
		if (ret < 0)
			return ret;
		out->flags |= MMAPFS_CTL_HAS_OFF;
	}
	if (n > first + 1) {
		ret = ctl_parse_u64(&fields[first + 1], "LENGTH", &out->len,
				    err, errlen);
		if (ret < 0)
			return ret;
		out->flags |= MMAPFS_CTL_HAS_LEN;
	}
	return 0;
}

static int ctl_parse_advice(const struct ctl_field *f, enum mmapio_advice *out,
			    char *err, size_t errlen)
{
	for (size_t a = 0; a < sizeof(advice_names) / sizeof(advice_names[0]); a++) {
		if (field_is(f, advice_names[a])) {
			*out = (enum mmapio_advice)a;
			return 0;
		}
	}
	return ctl_error(-EINVAL, err, errlen,
			 "unknown ADVICE '%.*s' (normal, random, sequential, "
			 "willneed or dontneed)",
			 (int)(f->len < CTL_ERR_FIELD_MAX ? f->len : CTL_ERR_FIELD_MAX),
			 f->s);
}

static int ctl_parse_policy(const struct ctl_field *f, struct mmapfs_ctl_cmd *out,
			    char *err, size_t errlen)
{
	char text[MMAPFS_CTL_MAX + 1];
	char why[MMAPFS_CTL_ERR_MAX];
	int ret;

	if (field_is(f, "default")) {
		out->policy_default = true;
		return 0;
	}
	if (memchr(f->s, '\\', f->len))
		return ctl_error(-EINVAL, err, errlen,
				 "backslash in POLICY");
	memcpy(text, f->s, f->len);
	text[f->len] = '\0';
	why[0] = '\0';
	ret = mmapio_policy_parse(text, &out->policy, why, sizeof(why));
	if (ret < 0)
		return ctl_error(-EINVAL, err, errlen, "bad POLICY: %s", why);
	return 0;
}

int mmapfs_ctl_parse(enum mmapfs_ctl_verb verb, const char *buf, size_t len,
		     struct mmapfs_ctl_cmd *out, char *err, size_t errlen)
{
	struct ctl_field fields[CTL_FIELDS_MAX];
	const struct ctl_syntax *syn;
	int n, ret;

	if ((unsigned)verb >= MMAPFS_CTL_VERB_COUNT)
		return ctl_error(-EINVAL, err, errlen, "unknown command");
	syn = &ctl_syntax[verb];
	if (len > MMAPFS_CTL_MAX)
		return ctl_error(-EINVAL, err, errlen,
				 "%s: command of %zu bytes is longer than %d",
				 syn->name, len, MMAPFS_CTL_MAX);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	ret = ctl_check_text(buf, len, err, errlen);
	if (ret < 0)
		return ret;

	memset(out, 0, offsetof(struct mmapfs_ctl_cmd, path));
	out->path[0] = '\0';
	out->verb = verb;
	if (verb == MMAPFS_CTL_RELOAD)
		return 0;

	n = ctl_split(buf, len, fields, syn->max_fields, err, errlen);
	if (n < 0) {
		/* Prefix the verb's usage to splitting errors. */
		char why[MMAPFS_CTL_ERR_MAX];

		snprintf(why, sizeof(why), "%s", err && errlen ? err : "");
		return ctl_error(n, err, errlen, "%s: %s; usage: %s %s",
				 syn->name, why, syn->name, syn->usage);
	}
	if ((unsigned)n < syn->min_fields)
		return ctl_error(-EINVAL, err, errlen, "%s: %s; usage: %s %s",
				 syn->name, n == 0 ? "empty command" :
				 "missing field", syn->name, syn->usage);

	if (verb == MMAPFS_CTL_FLUSH && field_is(&fields[0], "*")) {
		out->all = true;
		return 0;
	}
	ret = ctl_parse_path(&fields[0], out->path, err, errlen);
	if (ret < 0)
		return ret;

	switch (verb) {
	case MMAPFS_CTL_PREFETCH:
	case MMAPFS_CTL_LOCK:
	case MMAPFS_CTL_UNLOCK:
		return ctl_parse_range(fields, 1, (unsigned)n, out, err, errlen);
	case MMAPFS_CTL_ADVISE:
		ret = ctl_parse_advice(&fields[1], &out->advice, err, errlen);
		if (ret < 0)
			return ret;
		return ctl_parse_range(fields, 2, (unsigned)n, out, err, errlen);
	case MMAPFS_CTL_POLICY:
		return ctl_parse_policy(&fields[1], out, err, errlen);
	case MMAPFS_CTL_FLUSH:
	case MMAPFS_CTL_EVICT:
	case MMAPFS_CTL_RELOAD:
	case MMAPFS_CTL_VERB_COUNT:
		break;
	}
	return 0;
}

int mmapfs_ctl_resolve_range(const struct mmapfs_ctl_cmd *cmd, uint64_t size,
			     uint64_t *off, uint64_t *len,
			     char *err, size_t errlen)
{
	uint64_t o = (cmd->flags & MMAPFS_CTL_HAS_OFF) ? cmd->off : 0;

	if (o > size)
		return ctl_error(-EINVAL, err, errlen,
				 "OFFSET %llu is past the end of the file (%llu bytes)",
				 (unsigned long long)o, (unsigned long long)size);
	if (!(cmd->flags & MMAPFS_CTL_HAS_LEN)) {
		*off = o;
		*len = size - o;
		return 0;
	}
	if (cmd->len > UINT64_MAX - o)
		return ctl_error(-EINVAL, err, errlen,
				 "OFFSET + LENGTH overflows");
	if (o + cmd->len > size)
		return ctl_error(-EINVAL, err, errlen,
				 "range %llu+%llu ends past the end of the file (%llu bytes)",
				 (unsigned long long)o,
				 (unsigned long long)cmd->len,
				 (unsigned long long)size);
	*off = o;
	*len = cmd->len;
	return 0;
}

size_t mmapfs_ctl_escape_path(const char *path, char *buf, size_t buflen)
{
	size_t n = 0;

	for (const char *p = path; *p; p++) {
		char esc = 0;

		switch (*p) {
		case ' ':  esc = ' '; break;
		case '\t': esc = 't'; break;
		case '\n': esc = 'n'; break;
		case '\\': esc = '\\'; break;
		default:   break;
		}
		if (esc) {
			if (n + 1 < buflen)
				buf[n] = '\\';
			n++;
		}
		if (n + 1 < buflen)
			buf[n] = esc ? esc : *p;
		n++;
	}
	if (buflen > 0)
		buf[n < buflen ? n : buflen - 1] = '\0';
	return n;
}
