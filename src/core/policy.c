/*
 * policy.c — flush policies: parse, validate, compare and print the
 * canonical text (docs/durability.md).
 *
 * Grammar (blanks = spaces and tabs):
 *   policy  := blanks ( "never" | "always" | item { "," item } ) blanks
 *   item    := blanks key blanks "=" blanks value blanks
 *   key     := "bytes" | "writes" | "ms"          (each at most once)
 *   value   := digits [ unit ]                     (unit for bytes only)
 *   unit    := "K" | "KiB" | "M" | "MiB" | "G" | "GiB"   (binary: 1024^n)
 *
 * Case: keywords, keys and units are matched exactly as written above.
 * Lowercase units ("k", "mib") and SI spellings ("KB", "MB") are rejected
 * on purpose: "m" reads as milli and "KB" as 1000 to many users, and a
 * durability bound must not depend on a guess.
 *
 * Invariants of a valid policy: NEVER and ALWAYS have every threshold 0;
 * THRESHOLD has at least one threshold set, and ms <= MMAPIO_POLICY_MS_MAX
 * so that a deadline in nanoseconds (now + ms * 10^6) cannot overflow.
 *
 * Threads: pure functions, no state, no allocation.
 */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

static int policy_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int policy_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A (pointer, length) view of part of the input text. */
struct token {
	const char *s;
	size_t n;
};

static struct token token_trim(struct token t)
{
	while (t.n && is_blank(t.s[0])) {
		t.s++;
		t.n--;
	}
	while (t.n && is_blank(t.s[t.n - 1]))
		t.n--;
	return t;
}

static bool token_is(struct token t, const char *word)
{
	return strlen(word) == t.n && memcmp(t.s, word, t.n) == 0;
}

struct unit {
	const char *name;
	uint64_t factor;
};

static const struct unit units[] = {
	{ "K", KIB }, { "KiB", KIB },
	{ "M", MIB }, { "MiB", MIB },
	{ "G", GIB }, { "GiB", GIB },
};

/* Parses "digits[unit]" of key into *out. */
static int parse_value(const char *key, struct token v, bool sizes,
		       uint64_t *out, char *err, size_t errlen)
{
	uint64_t n = 0, factor = 1;
	size_t i = 0;

	if (v.n == 0)
		return policy_error(err, errlen, "missing value for '%s'", key);
	if (v.s[0] == '-')
		return policy_error(err, errlen,
				    "negative value '%.*s' for '%s'",
				    (int)v.n, v.s, key);
	for (; i < v.n && v.s[i] >= '0' && v.s[i] <= '9'; i++) {
		unsigned d = (unsigned)(v.s[i] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return policy_error(err, errlen,
					    "value '%.*s' for '%s' overflows",
					    (int)v.n, v.s, key);
		n = n * 10 + d;
	}
	if (i == 0)
		return policy_error(err, errlen,
				    "bad number '%.*s' for '%s' (expected decimal digits)",
				    (int)v.n, v.s, key);
	if (i < v.n) {
		struct token u = { v.s + i, v.n - i };
		size_t k;

		if (!sizes)
			return policy_error(err, errlen,
					    "'%s' takes a plain number, not '%.*s'",
					    key, (int)v.n, v.s);
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (token_is(u, units[k].name))
				break;
		if (k == sizeof(units) / sizeof(units[0]))
			return policy_error(err, errlen,
					    "unknown unit '%.*s' in '%s=%.*s' (units: K, KiB, M, MiB, G, GiB)",
					    (int)u.n, u.s, key, (int)v.n, v.s);
		factor = units[k].factor;
	}
	if (n == 0)
		return policy_error(err, errlen, "'%s' must not be zero", key);
	if (n > UINT64_MAX / factor)
		return policy_error(err, errlen,
				    "value '%.*s' for '%s' overflows",
				    (int)v.n, v.s, key);
	*out = n * factor;
	return 0;
}

/* Parses one "key=value" item into p. */
static int parse_item(struct token item, struct mmapio_policy *p,
		      char *err, size_t errlen)
{
	const char *eq = memchr(item.s, '=', item.n);
	struct token key, val;
	uint64_t *slot;
	const char *name;
	int rc;

	key = token_trim((struct token){ item.s, eq ? (size_t)(eq - item.s) : item.n });
	val = eq ? token_trim((struct token){ eq + 1, item.n - (size_t)(eq + 1 - item.s) })
		 : (struct token){ NULL, 0 };

	if (token_is(key, "bytes")) {
		slot = &p->bytes;
		name = "bytes";
	} else if (token_is(key, "writes")) {
		slot = &p->writes;
		name = "writes";
	} else if (token_is(key, "ms")) {
		slot = &p->ms;
		name = "ms";
	} else if (token_is(key, "never") || token_is(key, "always")) {
		return policy_error(err, errlen,
				    "'%.*s' cannot be combined with thresholds",
				    (int)key.n, key.s);
	} else if (key.n == 0) {
		return policy_error(err, errlen, "missing key before '='");
	} else {
		return policy_error(err, errlen,
				    "unknown key '%.*s' (expected bytes, writes or ms)",
				    (int)key.n, key.s);
	}
	if (!eq)
		return policy_error(err, errlen, "missing value for '%s' (write %s=N)",
				    name, name);
	if (*slot)
		return policy_error(err, errlen, "duplicate key '%s'", name);
	rc = parse_value(name, val, slot == &p->bytes, slot, err, errlen);
	if (rc)
		return rc;
	if (slot == &p->ms && p->ms > MMAPIO_POLICY_MS_MAX)
		return policy_error(err, errlen,
				    "value %" PRIu64 " for 'ms' overflows (at most %" PRIu64 ")",
				    p->ms, (uint64_t)MMAPIO_POLICY_MS_MAX);
	return 0;
}

int mmapio_policy_parse(const char *text, struct mmapio_policy *out,
			char *err, size_t errlen)
{
	struct mmapio_policy p = { .kind = MMAPIO_POLICY_THRESHOLD };
	struct token all;
	const char *s, *end;
	int rc;

	if (!text || !out)
		return policy_error(err, errlen, "no policy text");
	all = token_trim((struct token){ text, strlen(text) });
	if (all.n == 0)
		return policy_error(err, errlen,
				    "empty policy (expected never, always or bytes=/writes=/ms= thresholds)");
	if (token_is(all, "never") || token_is(all, "always")) {
		*out = (struct mmapio_policy){
			.kind = all.s[0] == 'n' ? MMAPIO_POLICY_NEVER
						: MMAPIO_POLICY_ALWAYS,
		};
		return 0;
	}
	s = all.s;
	end = all.s + all.n;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		struct token item = token_trim((struct token){
			s, (size_t)((comma ? comma : end) - s) });

		if (item.n == 0)
			return policy_error(err, errlen,
					    "empty item in '%.*s' (stray comma?)",
					    (int)all.n, all.s);
		rc = parse_item(item, &p, err, errlen);
		if (rc)
			return rc;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = p;
	return 0;
}

int mmapio_policy_validate(const struct mmapio_policy *p)
{
	if (!p)
		return -EINVAL;
	switch (p->kind) {
	case MMAPIO_POLICY_NEVER:
	case MMAPIO_POLICY_ALWAYS:
		return p->bytes || p->writes || p->ms ? -EINVAL : 0;
	case MMAPIO_POLICY_THRESHOLD:
		if (!p->bytes && !p->writes && !p->ms)
			return -EINVAL;
		return p->ms > MMAPIO_POLICY_MS_MAX ? -EINVAL : 0;
	}
	return -EINVAL;
}

/* Appends text to buf at *pos, snprintf-style (counts what did not fit). */
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < len ? buf + *pos : NULL,
		      *pos < len ? len - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

int mmapio_policy_format(const struct mmapio_policy *p, char *buf, size_t len)
{
	size_t pos = 0;
	const char *sep = "";

	if (mmapio_policy_validate(p))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	if (p->kind == MMAPIO_POLICY_NEVER) {
		append(buf, len, &pos, "never");
		return (int)pos;
	}
	if (p->kind == MMAPIO_POLICY_ALWAYS) {
		append(buf, len, &pos, "always");
		return (int)pos;
	}
	if (p->bytes) {
		if (p->bytes % GIB == 0)
			append(buf, len, &pos, "bytes=%" PRIu64 "GiB", p->bytes / GIB);
		else if (p->bytes % MIB == 0)
			append(buf, len, &pos, "bytes=%" PRIu64 "MiB", p->bytes / MIB);
		else if (p->bytes % KIB == 0)
			append(buf, len, &pos, "bytes=%" PRIu64 "KiB", p->bytes / KIB);
		else
			append(buf, len, &pos, "bytes=%" PRIu64, p->bytes);
		sep = ",";
	}
	if (p->writes) {
		append(buf, len, &pos, "%swrites=%" PRIu64, sep, p->writes);
		sep = ",";
	}
	if (p->ms)
		append(buf, len, &pos, "%sms=%" PRIu64, sep, p->ms);
	return (int)pos;
}

bool mmapio_policy_equal(const struct mmapio_policy *a,
			 const struct mmapio_policy *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind != MMAPIO_POLICY_THRESHOLD)
		return true;
	return a->bytes == b->bytes && a->writes == b->writes && a->ms == b->ms;
}
