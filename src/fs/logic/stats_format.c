/*
 * stats_format.c — formats the `.stats/` files (docs/control.md) from a
 * snapshot of per-file rows, and parses `files` rows and metrics.prom samples
 * back for clients.
 *
 * Design: every formatter appends to a struct mmapfs_buf and is a pure
 * function of its arguments, so unit tests compare exact texts. Rows are
 * never reordered in place: formatters that sort (files by path, metrics
 * by business) sort an array of pointers. Output is deterministic for a
 * given input: ties are broken by path.
 *
 * Invariants: the buffer text stays NUL-terminated after each successful
 * append; on -ENOMEM the buffer holds a prefix of the text (the caller
 * frees it and fails the open).
 *
 * Threads: no global state; safe from any thread on distinct buffers.
 */
#include "stats_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse.h"
#include "mmapfs_config.h"

static const char *const stats_file_names[MMAPFS_STATS_FILE_COUNT] = {
	[MMAPFS_STATS_PENDING_BYTES] = "pending_bytes",
	[MMAPFS_STATS_PENDING_WRITES] = "pending_writes",
	[MMAPFS_STATS_FLUSHES] = "flushes",
	[MMAPFS_STATS_FLUSH_ERRORS] = "flush_errors",
	[MMAPFS_STATS_FILES] = "files",
	[MMAPFS_STATS_CONFIG] = "config",
	[MMAPFS_STATS_METRICS] = "metrics.prom",
	[MMAPFS_STATS_VERSION] = "version",
};

/* --- Buffer ------------------------------------------------------------- */

static int buf_reserve(struct mmapfs_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int mmapfs_buf_append(struct mmapfs_buf *b, const void *data, size_t len)
{
	int ret = buf_reserve(b, len);

	if (ret < 0)
		return ret;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int mmapfs_buf_printf(struct mmapfs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	ret = buf_reserve(b, (size_t)n);
	if (ret < 0)
		return ret;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void mmapfs_buf_free(struct mmapfs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* --- Names, totals ------------------------------------------------------ */

const char *mmapfs_stats_file_name(enum mmapfs_stats_file f)
{
	if ((unsigned)f >= MMAPFS_STATS_FILE_COUNT)
		return NULL;
	return stats_file_names[f];
}

int mmapfs_stats_file_from_name(const char *name, enum mmapfs_stats_file *out)
{
	for (unsigned f = 0; f < MMAPFS_STATS_FILE_COUNT; f++) {
		if (strcmp(name, stats_file_names[f]) == 0) {
			*out = (enum mmapfs_stats_file)f;
			return 0;
		}
	}
	return -ENOENT;
}

static void add_sat(uint64_t *acc, uint64_t v)
{
	*acc = v > UINT64_MAX - *acc ? UINT64_MAX : *acc + v;
}

void mmapfs_stats_sum(const struct mmapfs_stats_row *rows, size_t n,
		      struct mmapfs_stats_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const struct mmapfs_stats_row *r = &rows[i];

		add_sat(&out->files, 1);
		add_sat(&out->mapped_files, r->mapped ? 1 : 0);
		add_sat(&out->pending_bytes, r->pending_bytes);
		add_sat(&out->pending_writes, r->pending_writes);
		add_sat(&out->flushes, r->flushes);
		add_sat(&out->flush_errors, r->flush_errors);
		add_sat(&out->bytes_written, r->bytes_written);
		add_sat(&out->writes, r->writes);
		add_sat(&out->mapped_bytes, r->mapped ? r->size : 0);
	}
}

int mmapfs_stats_format_total(enum mmapfs_stats_file f,
			      const struct mmapfs_stats_totals *t,
			      struct mmapfs_buf *out)
{
	uint64_t v;

	switch (f) {
	case MMAPFS_STATS_PENDING_BYTES:  v = t->pending_bytes; break;
	case MMAPFS_STATS_PENDING_WRITES: v = t->pending_writes; break;
	case MMAPFS_STATS_FLUSHES:        v = t->flushes; break;
	case MMAPFS_STATS_FLUSH_ERRORS:   v = t->flush_errors; break;
	default:                          return -EINVAL;
	}
	return mmapfs_buf_printf(out, "%" PRIu64 "\n", v);
}

int mmapfs_stats_format_version(struct mmapfs_buf *out)
{
	return mmapfs_buf_printf(out, "mmapfs %s\n", MMAPFS_VERSION);
}

/* --- Sorting ------------------------------------------------------------ */

static int cmp_path(const void *a, const void *b)
{
	const struct mmapfs_stats_row *ra = *(const struct mmapfs_stats_row *const *)a;
	const struct mmapfs_stats_row *rb = *(const struct mmapfs_stats_row *const *)b;

	return strcmp(ra->relpath, rb->relpath);
}

/* Busiest first: bytes written, then pending bytes, both descending, then
 * path. Bytes written only grow while the daemon knows the file (closed
 * files keep their row), so the files shown change only when another file
 * out-writes one of them, not at every flush: the per-file series stay
 * stable from one scrape to the next. */
static int cmp_busiest(const void *a, const void *b)
{
	const struct mmapfs_stats_row *ra = *(const struct mmapfs_stats_row *const *)a;
	const struct mmapfs_stats_row *rb = *(const struct mmapfs_stats_row *const *)b;

	if (ra->bytes_written != rb->bytes_written)
		return ra->bytes_written > rb->bytes_written ? -1 : 1;
	if (ra->pending_bytes != rb->pending_bytes)
		return ra->pending_bytes > rb->pending_bytes ? -1 : 1;
	return strcmp(ra->relpath, rb->relpath);
}

/* An array of pointers to rows, sorted by cmp. NULL (and *ret = -ENOMEM)
 * when it cannot be allocated; NULL with *ret = 0 for n == 0. */
static const struct mmapfs_stats_row **
sorted_rows(const struct mmapfs_stats_row *rows, size_t n,
	    int (*cmp)(const void *, const void *), int *ret)
{
	const struct mmapfs_stats_row **v;

	*ret = 0;
	if (n == 0)
		return NULL;
	v = calloc(n, sizeof(*v));
	if (!v) {
		*ret = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &rows[i];
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

/* --- files -------------------------------------------------------------- */

static int append_tsv_path(struct mmapfs_buf *b, const char *path)
{
	const char *run = path;
	int ret = 0;

	for (const char *p = path; *p && ret == 0; p++) {
		const char *esc;

		switch (*p) {
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\\': esc = "\\\\"; break;
		default:   continue;
		}
		ret = mmapfs_buf_append(b, run, (size_t)(p - run));
		if (ret == 0)
			ret = mmapfs_buf_append(b, esc, 2);
		run = p + 1;
	}
	if (ret == 0)
		ret = mmapfs_buf_append(b, run, strlen(run));
	return ret;
}

static int append_files_row(struct mmapfs_buf *b, const struct mmapfs_stats_row *r)
{
	char policy[MMAPIO_POLICY_TEXT_MAX];
	int ret;

	ret = mmapio_policy_format(&r->policy, policy, sizeof(policy));
	if (ret < 0)
		return ret;
	if ((size_t)ret >= sizeof(policy))
		return -EINVAL;
	ret = append_tsv_path(b, r->relpath);
	if (ret < 0)
		return ret;
	ret = mmapfs_buf_printf(b, "\t%" PRIu64 "\t%s\t%s\t%s\t%" PRIu64 "\t%"
				PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t",
				r->size, r->mapped ? "yes" : "no",
				r->rw ? "rw" : "ro", policy, r->pending_bytes,
				r->pending_writes, r->flushes, r->flush_errors);
	if (ret < 0)
		return ret;
	if (r->last_flush_age_ms < 0)
		return mmapfs_buf_append(b, "-\n", 2);
	return mmapfs_buf_printf(b, "%" PRId64 "\n", r->last_flush_age_ms);
}

int mmapfs_stats_format_files(const struct mmapfs_stats_row *rows, size_t n,
			      struct mmapfs_buf *out)
{
	const struct mmapfs_stats_row **v;
	int ret;

	v = sorted_rows(rows, n, cmp_path, &ret);
	if (ret < 0)
		return ret;
	ret = mmapfs_buf_append(out, MMAPFS_STATS_FILES_HEADER "\n",
				sizeof(MMAPFS_STATS_FILES_HEADER));
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = append_files_row(out, v[i]);
	free(v);
	return ret;
}

/* --- metrics.prom ------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped; invalid
 * UTF-8 bytes replaced by U+FFFD (the format requires UTF-8). */
int mmapfs_prom_label_value(struct mmapfs_buf *b, const char *s)
{
	size_t len = strlen(s), i = 0;
	int ret = 0;

	while (i < len && ret == 0) {
		size_t n = mmapfs_utf8_char_len(s + i, len - i);

		if (n == 0) {
			ret = mmapfs_buf_append(b, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		switch (s[i]) {
		case '\\': ret = mmapfs_buf_append(b, "\\\\", 2); break;
		case '"':  ret = mmapfs_buf_append(b, "\\\"", 2); break;
		case '\n': ret = mmapfs_buf_append(b, "\\n", 2); break;
		default:   ret = mmapfs_buf_append(b, s + i, n); break;
		}
		i += n;
	}
	return ret;
}

static int append_family(struct mmapfs_buf *b, const char *name,
			 const char *type, const char *help)
{
	return mmapfs_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n",
				 name, help, name, type);
}

/* A family of one sample; labels: "" or `mount="..."` (no comma). */
static int append_total(struct mmapfs_buf *b, const char *labels,
			const char *name, const char *type, const char *help,
			uint64_t v)
{
	int ret = append_family(b, name, type, help);

	if (ret == 0 && labels[0])
		ret = mmapfs_buf_printf(b, "%s{%s} %" PRIu64 "\n", name,
					labels, v);
	else if (ret == 0)
		ret = mmapfs_buf_printf(b, "%s %" PRIu64 "\n", name, v);
	return ret;
}

int mmapfs_prom_mount_label(struct mmapfs_buf *b, const char *mount,
			    const char *sep)
{
	int ret;

	if (!mount)
		return mmapfs_buf_append(b, "", 0);
	ret = mmapfs_buf_append(b, "mount=\"", 7);
	if (ret == 0)
		ret = mmapfs_prom_label_value(b, mount);
	if (ret == 0)
		ret = mmapfs_buf_printf(b, "\"%s", sep);
	return ret;
}

enum file_metric {
	FM_SIZE, FM_MAPPED, FM_PENDING_BYTES, FM_PENDING_WRITES, FM_FLUSHES,
	FM_FLUSH_ERRORS, FM_BYTES_WRITTEN, FM_WRITES, FM_LAST_FLUSH_AGE,
	FM_COUNT,
};

static const struct {
	const char *name, *type, *help;
} file_metrics[FM_COUNT] = {
	[FM_SIZE] = { "mmapfs_file_size_bytes", "gauge",
		"Size of the file in bytes." },
	[FM_MAPPED] = { "mmapfs_file_mapped", "gauge",
		"1 when the file has an open mapping, else 0." },
	[FM_PENDING_BYTES] = { "mmapfs_file_pending_bytes", "gauge",
		"Bytes written to the file and not yet durable (page granularity)." },
	[FM_PENDING_WRITES] = { "mmapfs_file_pending_writes", "gauge",
		"Write calls to the file since its last durable flush." },
	[FM_FLUSHES] = { "mmapfs_file_flushes_total", "counter",
		"Successful durable flushes of the file." },
	[FM_FLUSH_ERRORS] = { "mmapfs_file_flush_errors_total", "counter",
		"Failed flushes of the file." },
	[FM_BYTES_WRITTEN] = { "mmapfs_file_bytes_written_total", "counter",
		"Bytes written to the file." },
	[FM_WRITES] = { "mmapfs_file_writes_total", "counter",
		"Write calls to the file." },
	[FM_LAST_FLUSH_AGE] = { "mmapfs_file_last_flush_age_seconds", "gauge",
		"Seconds since the last durable flush of the file (absent when never flushed)." },
};

static int append_file_sample(struct mmapfs_buf *b, enum file_metric m,
			      const struct mmapfs_stats_row *r,
			      const char *mount_label)
{
	uint64_t v;
	int ret;

	if (m == FM_LAST_FLUSH_AGE && r->last_flush_age_ms < 0)
		return 0;
	ret = mmapfs_buf_printf(b, "%s{%spath=\"", file_metrics[m].name,
				mount_label);
	if (ret == 0)
		ret = mmapfs_prom_label_value(b, r->relpath);
	if (ret < 0)
		return ret;
	switch (m) {
	case FM_SIZE:           v = r->size; break;
	case FM_MAPPED:         v = r->mapped ? 1 : 0; break;
	case FM_PENDING_BYTES:  v = r->pending_bytes; break;
	case FM_PENDING_WRITES: v = r->pending_writes; break;
	case FM_FLUSHES:        v = r->flushes; break;
	case FM_FLUSH_ERRORS:   v = r->flush_errors; break;
	case FM_BYTES_WRITTEN:  v = r->bytes_written; break;
	case FM_WRITES:         v = r->writes; break;
	case FM_LAST_FLUSH_AGE:
		return mmapfs_buf_printf(b, "\"} %" PRId64 ".%03" PRId64 "\n",
					 r->last_flush_age_ms / 1000,
					 r->last_flush_age_ms % 1000);
	case FM_COUNT:
	default:
		return -EINVAL;
	}
	return mmapfs_buf_printf(b, "\"} %" PRIu64 "\n", v);
}

static int append_totals(struct mmapfs_buf *out, const char *labels,
			 const struct mmapfs_stats_totals *t)
{
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} totals[] = {
		{ "mmapfs_files", "gauge",
		  "Files with an open mapping or non-zero counters.",
		  offsetof(struct mmapfs_stats_totals, files) },
		{ "mmapfs_mapped_files", "gauge", "Files with an open mapping.",
		  offsetof(struct mmapfs_stats_totals, mapped_files) },
		{ "mmapfs_mapped_bytes", "gauge",
		  "Sizes of the files with an open mapping, in bytes.",
		  offsetof(struct mmapfs_stats_totals, mapped_bytes) },
		{ "mmapfs_pending_bytes", "gauge",
		  "Bytes written and not yet durable, over all files.",
		  offsetof(struct mmapfs_stats_totals, pending_bytes) },
		{ "mmapfs_pending_writes", "gauge",
		  "Write calls since the last durable flush, over all files.",
		  offsetof(struct mmapfs_stats_totals, pending_writes) },
		{ "mmapfs_flushes_total", "counter",
		  "Successful durable flushes since the daemon started.",
		  offsetof(struct mmapfs_stats_totals, flushes) },
		{ "mmapfs_flush_errors_total", "counter",
		  "Failed flushes since the daemon started.",
		  offsetof(struct mmapfs_stats_totals, flush_errors) },
		{ "mmapfs_bytes_written_total", "counter",
		  "Bytes written since the daemon started.",
		  offsetof(struct mmapfs_stats_totals, bytes_written) },
		{ "mmapfs_writes_total", "counter",
		  "Write requests since the daemon started.",
		  offsetof(struct mmapfs_stats_totals, writes) },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]) && ret == 0;
	     i++) {
		uint64_t v;

		memcpy(&v, (const char *)t + totals[i].offset, sizeof(v));
		ret = append_total(out, labels, totals[i].name, totals[i].type,
				   totals[i].help, v);
	}
	return ret;
}

int mmapfs_stats_format_metrics(const struct mmapfs_stats_row *rows, size_t n,
				const struct mmapfs_stats_totals *t,
				uint64_t max_files, const char *mount,
				const char *transport,
				struct mmapfs_buf *out)
{
	struct mmapfs_buf labels = MMAPFS_BUF_INIT, prefix = MMAPFS_BUF_INIT;
	const struct mmapfs_stats_row **v = NULL;
	size_t shown = n < max_files ? n : (size_t)max_files;
	int ret;

	/* The mount label alone, and as the first of a list. */
	ret = mmapfs_prom_mount_label(&labels, mount, "");
	if (ret == 0)
		ret = mmapfs_prom_mount_label(&prefix, mount, ",");
	if (ret == 0)
		ret = append_family(out, "mmapfs_info", "gauge",
				    "Version of the mmapfs daemon and the transport "
				    "in use, as labels.");
	if (ret == 0)
		ret = mmapfs_buf_printf(out, "mmapfs_info{%sversion=\"%s\"",
					prefix.data, MMAPFS_VERSION);
	if (ret == 0 && transport)
		ret = mmapfs_buf_printf(out, ",transport=\"%s\"", transport);
	if (ret == 0)
		ret = mmapfs_buf_printf(out, "} 1\n");
	if (ret == 0)
		ret = append_totals(out, labels.data, t);
	if (ret == 0 && shown > 0)
		v = sorted_rows(rows, n, cmp_busiest, &ret);
	for (unsigned m = 0; m < FM_COUNT && ret == 0 && shown > 0; m++) {
		ret = append_family(out, file_metrics[m].name,
				    file_metrics[m].type, file_metrics[m].help);
		for (size_t i = 0; i < shown && ret == 0; i++)
			ret = append_file_sample(out, (enum file_metric)m, v[i],
						 prefix.data);
	}
	free(v);
	mmapfs_buf_free(&labels);
	mmapfs_buf_free(&prefix);
	return ret;
}

/* --- Parsing (clients) -------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned char)*s - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Unescapes a `files` path in place (\t, \n, \\). */
static int unescape_tsv_path(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		switch (*++r) {
		case 't':  *w++ = '\t'; break;
		case 'n':  *w++ = '\n'; break;
		case '\\': *w++ = '\\'; break;
		default:   return -EINVAL;
		}
	}
	*w = '\0';
	return 0;
}

#define FILES_COLUMNS 10

int mmapfs_stats_parse_files_row(char *line, struct mmapfs_stats_row *row)
{
	char *col[FILES_COLUMNS];
	uint64_t age;
	char *p = line;

	for (unsigned i = 0; i < FILES_COLUMNS; i++) {
		char *tab = strchr(p, '\t');

		col[i] = p;
		if (i + 1 < FILES_COLUMNS) {
			if (!tab)
				return -EINVAL;
			*tab = '\0';
			p = tab + 1;
		} else if (tab) {
			return -EINVAL;
		}
	}
	memset(row, 0, sizeof(*row));
	if (col[0][0] == '\0' || unescape_tsv_path(col[0]) < 0)
		return -EINVAL;
	row->relpath = col[0];
	if (parse_u64(col[1], &row->size) < 0)
		return -EINVAL;
	if (strcmp(col[2], "yes") != 0 && strcmp(col[2], "no") != 0)
		return -EINVAL;
	row->mapped = col[2][0] == 'y';
	if (strcmp(col[3], "rw") != 0 && strcmp(col[3], "ro") != 0)
		return -EINVAL;
	row->rw = col[3][1] == 'w';
	if (mmapio_policy_parse(col[4], &row->policy, NULL, 0) < 0)
		return -EINVAL;
	if (parse_u64(col[5], &row->pending_bytes) < 0 ||
	    parse_u64(col[6], &row->pending_writes) < 0 ||
	    parse_u64(col[7], &row->flushes) < 0 ||
	    parse_u64(col[8], &row->flush_errors) < 0)
		return -EINVAL;
	if (strcmp(col[9], "-") == 0) {
		row->last_flush_age_ms = -1;
		return 0;
	}
	if (parse_u64(col[9], &age) < 0 || age > INT64_MAX)
		return -EINVAL;
	row->last_flush_age_ms = (int64_t)age;
	return 0;
}

/* Parses the label set at *p (just past '{') up to '}', unescaping each
 * value in place; remembers the value of "path". */
static int parse_labels(char **p, const char **path)
{
	char *s = *p;

	while (*s != '}') {
		char *name = s, *w;

		while (*s && *s != '=')
			s++;
		if (*s != '=' || s[1] != '"')
			return -EINVAL;
		*s = '\0';
		s += 2;
		w = s;
		if (strcmp(name, "path") == 0)
			*path = s;
		while (*s != '"') {
			if (*s == '\0')
				return -EINVAL;
			if (*s == '\\') {
				s++;
				if (*s == 'n')
					*w++ = '\n';
				else if (*s == '\\' || *s == '"')
					*w++ = *s;
				else
					return -EINVAL;
				s++;
				continue;
			}
			*w++ = *s++;
		}
		*w = '\0';
		s++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return -EINVAL;
	}
	*p = s + 1;
	return 0;
}

int mmapfs_prom_parse_line(char *line, struct mmapfs_prom_sample *s)
{
	char *p = line, *end;

	if (*p == '\0' || *p == '#')
		return 0;
	s->name = p;
	s->path = NULL;
	while (*p && *p != '{' && *p != ' ')
		p++;
	if (p == line)
		return -EINVAL;
	if (*p == '{') {
		*p++ = '\0';
		if (parse_labels(&p, &s->path) < 0)
			return -EINVAL;
	} else if (*p == ' ') {
		*p++ = '\0';
	} else {
		return -EINVAL;
	}
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return -EINVAL;
	s->value = strtod(p, &end);
	if (end == p || (*end != '\0' && *end != ' '))
		return -EINVAL;
	return 1;
}
