/*
 * config_parse.c — reading the INI config (docs/configuration.md) with inih,
 * and validating every key, section and value.
 *
 * Design: inih (Debian's libinih) passes no line numbers to its handler,
 * splits lines longer than its buffer silently, truncates section names to
 * 49 bytes and reads an indented line as the continuation of the previous
 * value. So the text reaches inih only through read_line(), our
 * ini_parse_stream() reader, which sees every line first:
 *   - counts lines, so the handler knows the line it is called for (inih
 *     calls the handler for a line before it reads the next one);
 *   - rejects control characters, over-long key and header lines (longer
 *     than inih's buffer minus "\r\n\0"; comments may be longer, they never
 *     reach inih), and indented keys or section headers (keys start in
 *     column 1; indented comments and blank lines are fine);
 *   - parses and checks section headers itself ([global], [match GLOB]) and
 *     keeps the current section in the parser, so a glob is limited only by
 *     the line length and a ']' inside it is an error, not a silent cut;
 *   - rejects lines inih would reject (no '=' or ':' before a comment).
 * A rejected line, a header or a comment reaches inih as an empty line, so
 * inih sees only blank lines and well-formed "key = value" lines, splits
 * them (inline comments start with ';' after a blank) and calls on_key().
 * Every problem is reported (not only the first) as "FILE:LINE: message"
 * naming the section and key; any problem fails the whole parse.
 *
 * mmapfs_config_load() reads only a regular file of at most
 * CONFIG_FILE_MAX bytes (opened O_NONBLOCK, checked with fstat: a FIFO in
 * the config's place must not block a reload) and refuses an empty one,
 * at mount as on reload: a zero-byte file is most likely one caught
 * halfway through a rewrite, and no config at all is how the built-in
 * defaults are asked for.
 *
 * Command-line overrides (-o KEY=VALUE, mmapfs_config_load_with()) go
 * through the same handler after the file, as keys of [global] that may
 * replace the file's value; they have no line (0), and their messages
 * read "-o KEY: message".
 *
 * Invariants: a config returned has passed every check below; a failed
 * parse returns nothing and leaks nothing.
 *
 * Threads: a parse touches only its own state (inih's option globals are
 * read, never written), so parses may run concurrently.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_private.h"
#include "size_parse.h"

/* Largest config file mmapfs_config_load() reads. */
#define CONFIG_FILE_MAX (1u << 20)

/* One problem found; reported sorted by line, then in the order found. */
struct config_error {
	unsigned line;
	size_t seq;
	char *text;
};

enum section_kind {
	SECTION_NONE,       /* before the first header */
	SECTION_GLOBAL,
	SECTION_MATCH,      /* p->c->match[p->c->nmatch - 1] */
	SECTION_INVALID,    /* a bad header (reported); its keys are skipped */
};

struct parser {
	const char *name;           /* FILE in messages */
	const char *text;
	size_t len, pos;
	unsigned lineno;            /* of the line last handed to inih */
	struct config_error *errs;  /* in the order found */
	size_t nerrors, errs_cap;
	bool oom;
	struct mmapfs_config *c;
	size_t match_cap;
	enum section_kind kind;
	unsigned global_header;     /* line of the [global] header; 0: none yet */
	unsigned (*match_key_line)[CONFIG_NPATH_KEYS];  /* per [match] */
	bool overriding;            /* handing on_key() the -o overrides */
	unsigned overridden;        /* bit i: config_keys[i] set by -o */
};

static void report(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	if (p->nerrors == p->errs_cap) {
		size_t cap = p->errs_cap ? 2 * p->errs_cap : 16;
		struct config_error *e = realloc(p->errs, cap * sizeof(*e));

		if (!e) {
			p->oom = true;
			return;
		}
		p->errs = e;
		p->errs_cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->oom = true;
		return;
	}
	p->errs[p->nerrors] = (struct config_error){
		.line = line, .seq = p->nerrors, .text = text,
	};
	p->nerrors++;
}

static int error_order(const void *a, const void *b)
{
	const struct config_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The messages sorted by line, "FILE:LINE: text\n" each, as one malloc'd
 * text; NULL when out of memory. Frees the messages. */
static char *join_errors(struct parser *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	qsort(p->errs, p->nerrors, sizeof(*p->errs), error_order);
	for (size_t i = 0; i < p->nerrors; i++) {
		if (f && p->errs[i].line == 0)   /* an -o override */
			fprintf(f, "%s\n", p->errs[i].text);
		else if (f)
			fprintf(f, "%s:%u: %s\n", p->name, p->errs[i].line,
				p->errs[i].text);
		free(p->errs[i].text);
	}
	p->nerrors = 0;
	if (!f || fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static struct config_match *current_match(struct parser *p)
{
	return &p->c->match[p->c->nmatch - 1];
}

/* "[global]" or "[match GLOB]" for the current section ("-o" for an
 * override), into buf. */
static const char *section_label(struct parser *p, char *buf, size_t len)
{
	if (p->overriding)
		snprintf(buf, len, "-o");
	else if (p->kind == SECTION_MATCH)
		snprintf(buf, len, "[match %s]", current_match(p)->glob);
	else
		snprintf(buf, len, "[global]");
	return buf;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- section headers ------------------------------------------------- */

/* Checks a glob; returns NULL or what is wrong with it. */
static const char *glob_problem(const char *g, size_t n)
{
	if (g[0] == '/')
		return "it must be relative to the root (no leading '/')";
	if (g[n - 1] == '/')
		return "it ends with '/' and would never match a file";
	for (size_t i = 0; i < n; i++) {
		if (g[i] == '\\') {
			if (++i == n)
				return "it ends with a lone '\\'";
		} else if (g[i] == '[') {
			return "'[' opens a bracket expression that cannot be "
			       "closed (']' cannot appear in a section header); "
			       "write '\\[' for a literal '['";
		}
	}
	return NULL;
}

static void add_match(struct parser *p, const char *glob, size_t n)
{
	struct mmapfs_config *c = p->c;

	for (size_t i = 0; i < c->nmatch; i++) {
		if (strlen(c->match[i].glob) == n &&
		    memcmp(c->match[i].glob, glob, n) == 0) {
			report(p, p->lineno,
			       "duplicate section [match %s] (first at line %u)",
			       c->match[i].glob, c->match[i].line);
			break;
		}
	}
	if (c->nmatch == p->match_cap) {
		size_t cap = p->match_cap ? 2 * p->match_cap : 8;
		struct config_match *m = realloc(c->match, cap * sizeof(*m));
		unsigned (*lines)[CONFIG_NPATH_KEYS];

		if (!m) {
			p->oom = true;
			return;
		}
		c->match = m;
		lines = realloc(p->match_key_line, cap * sizeof(*lines));
		if (!lines) {
			p->oom = true;
			return;
		}
		p->match_key_line = lines;
		p->match_cap = cap;
	}
	c->match[c->nmatch] = (struct config_match){
		.glob = strndup(glob, n),
		.line = p->lineno,
	};
	if (!c->match[c->nmatch].glob) {
		p->oom = true;
		return;
	}
	memset(p->match_key_line[c->nmatch], 0, sizeof(*p->match_key_line));
	c->nmatch++;
	p->kind = SECTION_MATCH;
}

/* A line starting with '[' (n > 0). */
static void read_header(struct parser *p, const char *line, size_t n)
{
	const char *close = memchr(line, ']', n);
	const char *s, *e, *rest;

	p->kind = SECTION_INVALID;
	if (!close) {
		report(p, p->lineno, "section header without ']'");
		return;
	}
	for (rest = close + 1; rest < line + n && is_blank(*rest); rest++)
		;
	if (rest < line + n && *rest != ';' && *rest != '#') {
		report(p, p->lineno,
		       "unexpected text after ']' in section header "
		       "(a ']' cannot appear in a glob)");
		return;
	}
	for (s = line + 1; s < close && is_blank(*s); s++)
		;
	for (e = close; e > s && is_blank(e[-1]); e--)
		;
	if (e - s == 6 && memcmp(s, "global", 6) == 0) {
		if (p->global_header)
			report(p, p->lineno,
			       "duplicate section [global] (first at line %u)",
			       p->global_header);
		else
			p->global_header = p->lineno;
		p->kind = SECTION_GLOBAL;
		return;
	}
	if (e - s >= 5 && memcmp(s, "match", 5) == 0 &&
	    (e - s == 5 || is_blank(s[5]))) {
		const char *g = s + 5, *problem;

		while (g < e && is_blank(*g))
			g++;
		if (g == e) {
			report(p, p->lineno,
			       "section [match] needs a glob: [match GLOB]");
			return;
		}
		problem = glob_problem(g, (size_t)(e - g));
		if (problem) {
			report(p, p->lineno, "bad glob in [match %.*s]: %s",
			       (int)(e - g), g, problem);
			return;
		}
		add_match(p, g, (size_t)(e - g));
		return;
	}
	report(p, p->lineno,
	       "unknown section [%.*s] (expected [global] or [match GLOB])",
	       (int)(e - s), s);
}

/* ---- the reader ------------------------------------------------------ */

/* True when the key line has '=' or ':' before any inline comment, which
 * is what inih needs to call the handler (its find_chars_or_comment()). */
static bool has_separator(const char *line, size_t n)
{
	bool was_blank = false;

	for (size_t i = 0; i < n; i++) {
		if (line[i] == '=' || line[i] == ':')
			return true;
		if (was_blank && line[i] == ';')
			return false;
		was_blank = is_blank(line[i]);
	}
	return false;
}

/* The ini_reader: hands inih the next line (or an empty line in its place,
 * see the top of the file). num is inih's buffer size. */
static char *read_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *line = p->text + p->pos, *nl;
	size_t n, i, max = num > 3 ? (size_t)num - 3 : 0;

	if (p->pos >= p->len)
		return NULL;
	nl = memchr(line, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += n + (nl != NULL);
	p->lineno++;
	if (n && line[n - 1] == '\r')
		n--;
	if (p->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3;
		n -= 3;
	}
	strcpy(str, "\n");

	for (i = 0; i < n && is_blank(line[i]); i++)
		;
	for (size_t j = 0; j < n; j++) {
		unsigned char ch = (unsigned char)line[j];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			report(p, p->lineno, "control character 0x%02x in line",
			       ch);
			if (line[i] == '[')
				p->kind = SECTION_INVALID;
			return str;
		}
	}
	/* Blank lines and comments never reach inih, so they may be longer
	 * than its buffer (.stats/config quotes long messages in comments). */
	if (i == n || line[i] == ';' || line[i] == '#')
		return str;
	if (line[i] == '[' && (i > 0 || n > max)) {
		/* a header we cannot read: skip the keys under it rather
		 * than give them to the section before */
		p->kind = SECTION_INVALID;
	}
	if (n > max) {
		report(p, p->lineno, "line longer than %zu characters", max);
		return str;
	}
	if (i > 0) {
		report(p, p->lineno,
		       "indented line: keys and section headers start in "
		       "column 1 (inih would read this line as a continuation "
		       "of the previous value)");
		return str;
	}
	if (line[0] == '[') {
		read_header(p, line, n);
		return str;
	}
	if (!has_separator(line, n)) {
		report(p, p->lineno,
		       "expected 'key = value', a [section] header or a comment");
		return str;
	}
	memcpy(str, line, n);
	memcpy(str + n, "\n", 2);
	return str;
}

/* ---- values ---------------------------------------------------------- */

static int bad_value(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad_value(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_bool(const char *v, bool *out, char *msg, size_t len)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*out = strcmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return bad_value(msg, len,
			 "bad boolean '%s' (expected true/false, yes/no, "
			 "on/off or 1/0)", v);
}

/* Decimal digits at *s into *out; advances *s. -EOVERFLOW or -EINVAL (no
 * digit). */
static int parse_digits(const char **s, uint64_t *out)
{
	const char *d = *s;
	uint64_t n = 0;
	bool overflow = false;

	for (; *d >= '0' && *d <= '9'; d++) {
		unsigned digit = (unsigned)(*d - '0');

		if (n > (UINT64_MAX - digit) / 10)
			overflow = true;
		else
			n = n * 10 + digit;
	}
	if (d == *s)
		return -EINVAL;
	*s = d;
	*out = n;
	return overflow ? -EOVERFLOW : 0;
}

static int check_range(const struct config_key *k, const char *v, uint64_t n,
		       char *msg, size_t len)
{
	if (n < k->min)
		return n == 0 ? bad_value(msg, len, "must not be zero")
			      : bad_value(msg, len,
					  "value '%s' is below the minimum %llu",
					  v, (unsigned long long)k->min);
	if (n > k->max)
		return bad_value(msg, len, "value '%s' is above the maximum %llu",
				 v, (unsigned long long)k->max);
	return 0;
}

static int parse_number(const struct config_key *k, const char *v,
			uint64_t *out, char *msg, size_t len)
{
	const char *s = v;
	uint64_t n;
	unsigned shift = 0;
	int rc;

	if (*v == '-')
		return bad_value(msg, len, "negative value '%s'", v);
	rc = parse_digits(&s, &n);
	if (rc == -EINVAL)
		return bad_value(msg, len,
				 "bad number '%s' (expected decimal digits)", v);
	if (rc == -EOVERFLOW)
		return bad_value(msg, len, "value '%s' overflows", v);
	if (*s) {
		int unit = mmapfs_size_unit_shift(s, strlen(s));

		if (k->type != CONFIG_SIZE)
			return bad_value(msg, len,
					 "bad number '%s' (expected decimal digits)",
					 v);
		if (unit < 0)
			return bad_value(msg, len,
					 "unknown unit '%s' in '%s' (units: K, "
					 "KiB, M, MiB, G, GiB)", s, v);
		shift = (unsigned)unit;
	}
	if (n > UINT64_MAX >> shift)
		return bad_value(msg, len, "value '%s' overflows", v);
	n <<= shift;
	rc = check_range(k, v, n, msg, len);
	if (rc)
		return rc;
	*out = n;
	return 0;
}

/* Decimal seconds with at most three decimals, kept exact in ms. */
static int parse_seconds(const struct config_key *k, const char *v,
			 double *out, char *msg, size_t len)
{
	const char *s = v;
	uint64_t whole, ms;
	unsigned decimals = 0;
	int rc;

	if (*v == '-')
		return bad_value(msg, len, "negative value '%s'", v);
	rc = parse_digits(&s, &whole);
	if (rc == -EINVAL)
		goto bad;
	if (rc == -EOVERFLOW || whole > k->max / 1000)
		return bad_value(msg, len,
				 "value '%s' is above the maximum %llu seconds",
				 v, (unsigned long long)(k->max / 1000));
	ms = whole * 1000;
	if (*s == '.') {
		unsigned scale = 100;

		for (s++; *s >= '0' && *s <= '9'; s++, decimals++) {
			if (decimals == 3)
				return bad_value(msg, len,
						 "value '%s' has more than 3 "
						 "decimals (the resolution is "
						 "1 ms)", v);
			ms += (uint64_t)(*s - '0') * scale;
			scale /= 10;
		}
		if (!decimals)
			goto bad;
	}
	if (*s)
		goto bad;
	if (ms > k->max)
		return bad_value(msg, len,
				 "value '%s' is above the maximum %llu seconds",
				 v, (unsigned long long)(k->max / 1000));
	*out = (double)ms / 1000.0;
	return 0;
bad:
	return bad_value(msg, len,
			 "bad duration '%s' (expected seconds, e.g. 1 or 0.25)",
			 v);
}

static int parse_dirname(const char *v, char *out, char *msg, size_t len)
{
	if (strchr(v, '/'))
		return bad_value(msg, len,
				 "'%s' must be a single name (no '/')", v);
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return bad_value(msg, len, "'%s' is not a usable name", v);
	if (v[0] == ';')   /* written back as "key = ;x", a comment */
		return bad_value(msg, len, "'%s' must not start with ';'", v);
	if (strlen(v) > NAME_MAX)
		return bad_value(msg, len, "name longer than %d bytes",
				 NAME_MAX);
	strcpy(out, v);
	return 0;
}

static int parse_listen(const char *v, char *out, char *msg, size_t len)
{
	struct mmapfs_listen l;
	char why[128];

	if (mmapfs_listen_parse(v, &l, why, sizeof(why)) < 0)
		return bad_value(msg, len, "%s", why);
	strcpy(out, l.text);
	return 0;
}

/* "-", a decimal gid, or the name of a group that exists now. */
static int parse_group(const char *v, char *out, char *msg, size_t len)
{
	char buf[4096];
	struct group gr, *found = NULL;
	size_t digits = strspn(v, "0123456789");

	if (strlen(v) > NAME_MAX)
		return bad_value(msg, len, "name longer than %d bytes",
				 NAME_MAX);
	if (strcmp(v, "-") != 0 && !(digits == strlen(v) && digits <= 9) &&
	    (getgrnam_r(v, &gr, buf, sizeof(buf), &found) != 0 || !found))
		return bad_value(msg, len, "no group '%s' (expected -, a "
				 "group name or a number)", v);
	strcpy(out, v);
	return 0;
}

/* Octal permission bits of the stats directory: 0500 (the owner's) plus
 * any of the group's and others' read and search bits. */
static int parse_mode(const char *v, unsigned *out, char *msg, size_t len)
{
	unsigned m = 0;

	if (strspn(v, "01234567") != strlen(v) || strlen(v) > 4)
		return bad_value(msg, len, "bad mode '%s' (expected octal, "
				 "e.g. 0550)", v);
	for (const char *p = v; *p; p++)
		m = m * 8 + (unsigned)(*p - '0');
	if ((m & 0700) != 0500 || (m & ~0555u))
		return bad_value(msg, len, "mode '%s' must be 0500 plus read "
				 "and search bits for group or others (0550, "
				 "0555, ...): the stats files are read-only",
				 v);
	*out = m;
	return 0;
}

/* Parses v as k's type into field (at least config_value_size(k) bytes). */
static int parse_value(const struct config_key *k, const char *v, void *field,
		       char *msg, size_t len)
{
	if (!*v)
		return bad_value(msg, len, "empty value");
	switch (k->type) {
	case CONFIG_POLICY:
		return mmapio_policy_parse(v, field, msg, len);
	case CONFIG_BOOL:
		return parse_bool(v, field, msg, len);
	case CONFIG_COUNT:
	case CONFIG_SIZE:
		return parse_number(k, v, field, msg, len);
	case CONFIG_SECONDS:
		return parse_seconds(k, v, field, msg, len);
	case CONFIG_DIRNAME:
		return parse_dirname(v, field, msg, len);
	case CONFIG_LOG_LEVEL:
		if (mmapfs_log_level_parse(v, field) == 0)
			return 0;
		return bad_value(msg, len,
				 "bad log level '%s' (expected error, warning, "
				 "notice, info or debug)", v);
	case CONFIG_LISTEN:
		return parse_listen(v, field, msg, len);
	case CONFIG_GROUP:
		return parse_group(v, field, msg, len);
	case CONFIG_MODE:
		return parse_mode(v, field, msg, len);
	case CONFIG_TRANSPORT:
		if (mmapfs_transport_parse(v, field) == 0)
			return 0;
		return bad_value(msg, len,
				 "bad transport '%s' (expected auto, dev or "
				 "io_uring)", v);
	case CONFIG_OUTSIDE:
		if (mmapfs_outside_changes_parse(v, field) == 0)
			return 0;
		return bad_value(msg, len,
				 "bad outside_changes '%s' (expected notice or "
				 "ignore)", v);
	}
	return bad_value(msg, len, "internal: unknown value type");
}

/* ---- the handler ----------------------------------------------------- */

static const struct config_key *find_key(const char *name, unsigned *index)
{
	for (unsigned i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0) {
			*index = i;
			return &config_keys[i];
		}
	}
	return NULL;
}

/* inih's handler, called for the line p->lineno. Returns 1 always (inih's
 * "success"): problems are reported here, not through inih. */
static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parser *p = user;
	union {
		struct mmapio_policy policy;
		bool b;
		uint64_t n;
		double seconds;
		char dirname[NAME_MAX + 1];
		enum mmapfs_log_level level;
		enum mmapfs_transport transport;
	} parsed;
	char label[PATH_MAX], msg[256];
	const struct config_key *k;
	unsigned idx, *first_line;
	void *field;

	(void)section;  /* always "": headers never reach inih */
	if (p->kind == SECTION_INVALID)
		return 1;
	if (p->kind == SECTION_NONE) {
		report(p, p->lineno,
		       "key '%s' outside any section (start with [global] or "
		       "[match GLOB])", name);
		return 1;
	}
	section_label(p, label, sizeof(label));
	if (!*name) {
		report(p, p->lineno, "%s: missing key before '='", label);
		return 1;
	}
	k = find_key(name, &idx);
	if (!k) {
		report(p, p->lineno, "%s: unknown key '%s'", label, name);
		return 1;
	}
	if (p->kind == SECTION_MATCH && !k->per_path) {
		report(p, p->lineno, "%s: key '%s' is only allowed in [global]",
		       label, name);
		return 1;
	}
	first_line = p->kind == SECTION_MATCH
		? &p->match_key_line[p->c->nmatch - 1][idx]
		: &p->c->global_key_line[idx];
	if (*first_line && !p->overriding) {
		report(p, p->lineno,
		       "%s: duplicate key '%s' (first at line %u)", label, name,
		       *first_line);
		return 1;
	}
	*first_line = p->lineno;
	if (p->overriding)
		p->overridden |= 1u << idx;
	if (parse_value(k, value, &parsed, msg, sizeof(msg)) != 0) {
		report(p, p->lineno, "%s %s: %s", label, name, msg);
		return 1;
	}
	if (p->kind == SECTION_MATCH) {
		struct config_match *m = current_match(p);

		field = (char *)&m->file + k->offset;
		m->set |= 1u << idx;
	} else {
		field = (void *)config_global_field(p->c, k);
	}
	memcpy(field, &parsed, config_value_size(k));
	return 1;
}

/* ---- checks across keys ---------------------------------------------- */

static void check_writeback(struct parser *p, const struct mmapio_policy *flush,
			    const char *label, unsigned line, unsigned wb_line)
{
	char text[MMAPIO_POLICY_TEXT_MAX], wb_where[32] = "-o";

	if (flush->kind == MMAPIO_POLICY_NEVER)
		return;
	mmapio_policy_format(flush, text, sizeof(text));
	if (wb_line)
		snprintf(wb_where, sizeof(wb_where), "line %u", wb_line);
	report(p, line,
	       "%s flush: '%s' is not allowed with writeback_cache = true "
	       "(%s): the kernel's writeback cache acknowledges writes "
	       "before mmapfs sees them, so only 'never' holds", label, text,
	       wb_where);
}

static void check_across_keys(struct parser *p)
{
	struct mmapfs_config *c = p->c;

	if (strcmp(c->global.control_dir, c->global.stats_dir) == 0) {
		unsigned line = c->global_key_line[CONFIG_KEY_STATS_DIR]
			? c->global_key_line[CONFIG_KEY_STATS_DIR]
			: c->global_key_line[CONFIG_KEY_CONTROL_DIR];

		report(p, line, "%s: control_dir and stats_dir are both '%s'",
		       line ? "[global]" : "-o", c->global.control_dir);
	}
	if (c->global.writeback_cache) {
		unsigned wb = c->global_key_line[CONFIG_KEY_WRITEBACK_CACHE];

		check_writeback(p, &c->file.flush,
				p->overridden & (1u << CONFIG_KEY_FLUSH) ?
				"-o" : "[global]",
				c->global_key_line[CONFIG_KEY_FLUSH], wb);
		for (size_t i = 0; i < c->nmatch; i++) {
			char label[PATH_MAX];

			if (!(c->match[i].set & (1u << CONFIG_KEY_FLUSH)))
				continue;
			snprintf(label, sizeof(label), "[match %s]",
				 c->match[i].glob);
			check_writeback(p, &c->match[i].file.flush, label,
					p->match_key_line[i][CONFIG_KEY_FLUSH], wb);
		}
	}
}

/* ---- entry points ---------------------------------------------------- */

/* Hands the -o overrides to on_key() as keys of [global] without a line. */
static void apply_overrides(struct parser *p,
			    const struct mmapfs_config_override *ov, size_t nov)
{
	p->kind = SECTION_GLOBAL;
	p->overriding = true;
	p->lineno = 0;
	for (size_t i = 0; i < nov; i++) {
		char policy[CONFIG_VALUE_TEXT_MAX + 64];
		const char *value = ov[i].value;
		unsigned idx;
		const struct config_key *k = find_key(ov[i].key, &idx);

		/* "bytes=1M:ms=5"; a longer text fails as a policy anyway */
		if (k && k->type == CONFIG_POLICY &&
		    strlen(value) < sizeof(policy)) {
			strcpy(policy, value);
			for (char *s = policy; *s; s++)
				if (*s == ':')
					*s = ',';
			value = policy;
		}
		on_key(p, "", ov[i].key, value);
	}
}

/* Parses text, then the overrides; name is FILE in messages. */
static int parse_with(const char *text, size_t len, const char *name,
		      const struct mmapfs_config_override *ov, size_t nov,
		      struct mmapfs_config **out, char **errors)
{
	struct parser p = { .name = name, .text = text, .len = len };
	int rc = 0, ini_rc;

	if (errors)
		*errors = NULL;
	p.c = config_new_defaults();
	if (!p.c)
		return -ENOMEM;
	ini_rc = ini_parse_stream(read_line, &p, on_key, &p);
	if (ini_rc > 0)   /* a line our reader passed but inih refused */
		report(&p, (unsigned)ini_rc, "syntax error");
	apply_overrides(&p, ov, nov);
	check_across_keys(&p);
	if (ini_rc == -2 || p.oom)
		rc = -ENOMEM;
	else if (p.nerrors)
		rc = -EINVAL;
	else if (!(p.c->source = strdup(name)))
		rc = -ENOMEM;
	if (rc == -EINVAL && errors) {
		*errors = join_errors(&p);
		if (!*errors)
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < p.nerrors; i++)
		free(p.errs[i].text);
	free(p.errs);
	free(p.match_key_line);
	if (rc) {
		mmapfs_config_unref(p.c);
		return rc;
	}
	*out = p.c;
	return 0;
}

int mmapfs_config_parse_text(const char *text, size_t len, const char *name,
			     struct mmapfs_config **out, char **errors)
{
	return parse_with(text, len, name, NULL, 0, out, errors);
}

/* Why read_file() cannot be refused: the text for "FILE: cannot read: ". */
static const char *unreadable_reason(int rc, const struct stat *st)
{
	if (rc != -EINVAL)
		return strerror(-rc);
	if (S_ISFIFO(st->st_mode))
		return "not a regular file (a FIFO); refused";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return "not a regular file (a device); refused";
	if (S_ISSOCK(st->st_mode))
		return "not a regular file (a socket); refused";
	return "not a regular file; refused";
}

/* Reads the whole file at path into a malloc'd buffer. Only a regular
 * file is read: it is opened with O_NONBLOCK, so a FIFO (or a device)
 * put in the config's place cannot block the open, and fstat refuses it
 * before any read. Returns 0 or -errno: -EISDIR, -EINVAL another file
 * that is not regular (*st says what it is), -EFBIG beyond CONFIG_FILE_MAX (by fstat, then by what
 * was read: the file may grow meanwhile). */
static int read_file(const char *path, char **text, size_t *len,
		     struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	size_t n = 0;
	char *buf;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		rc = -errno;
	else if (S_ISDIR(st->st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st->st_mode))
		rc = -EINVAL;
	else if (st->st_size > (off_t)CONFIG_FILE_MAX)
		rc = -EFBIG;
	if (rc) {
		close(fd);
		return rc;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n <= CONFIG_FILE_MAX) {
		ssize_t got = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (!rc && n > CONFIG_FILE_MAX)
		rc = -EFBIG;
	if (rc) {
		free(buf);
		return rc;
	}
	*text = buf;
	*len = n;
	return 0;
}

int mmapfs_config_load(const char *path, struct mmapfs_config **out,
		       char **errors)
{
	return mmapfs_config_load_with(path, NULL, 0, out, errors);
}

bool mmapfs_config_is_key(const char *name)
{
	unsigned idx;

	return find_key(name, &idx) != NULL;
}

int mmapfs_config_load_with(const char *path,
			    const struct mmapfs_config_override *ov,
			    size_t nov, struct mmapfs_config **out,
			    char **errors)
{
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	int rc;

	if (errors)
		*errors = NULL;
	if (!path) {   /* the built-in defaults: no source */
		rc = parse_with("", 0, "-o", ov, nov, out, errors);
		if (rc == 0) {
			free((*out)->source);
			(*out)->source = NULL;
		}
		return rc;
	}
	memset(&st, 0, sizeof(st));
	rc = read_file(path, &text, &len, &st);
	if (rc) {
		if (errors && asprintf(errors, "%s: cannot read: %s\n", path,
				       unreadable_reason(rc, &st)) < 0)
			*errors = NULL;
		return rc;
	}
	if (len == 0) {
		/* Most likely caught halfway through a rewrite (an editor
		 * that truncates before it writes): applying it would drop
		 * every setting to its default. */
		free(text);
		if (errors && asprintf(errors, "%s: empty file (0 bytes): "
				       "refused; to run with the built-in "
				       "defaults, mount without -o config\n",
				       path) < 0)
			*errors = NULL;
		return -EINVAL;
	}
	rc = parse_with(text, len, path, ov, nov, out, errors);
	free(text);
	return rc;
}
