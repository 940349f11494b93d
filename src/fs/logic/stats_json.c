/*
 * stats_json.c — JSON texts of stats snapshots (stats_json.h).
 *
 * Design: append-only into a struct mmapfs_buf like the other formatters;
 * strings are made valid JSON whatever bytes a file name holds (control
 * bytes as \u00XX, invalid UTF-8 as U+FFFD), numbers are printed as
 * integers, so a script reads them without rounding below 2^53.
 *
 * Threads: pure functions; reentrant.
 */
#include "stats_json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ctl_parse.h"

int mmapfs_json_string(struct mmapfs_buf *b, const char *s)
{
	size_t len = strlen(s), i = 0;
	int ret = mmapfs_buf_append(b, "\"", 1);

	while (i < len && ret == 0) {
		size_t n = mmapfs_utf8_char_len(s + i, len - i);
		unsigned char c = (unsigned char)s[i];

		if (n == 0) {
			ret = mmapfs_buf_append(b, "\\ufffd", 6);
			i++;
			continue;
		}
		if (c == '"' || c == '\\')
			ret = mmapfs_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			ret = mmapfs_buf_printf(b, "\\u%04x", c);
		else
			ret = mmapfs_buf_append(b, s + i, n);
		i += n;
	}
	if (ret == 0)
		ret = mmapfs_buf_append(b, "\"", 1);
	return ret;
}

static bool is_integer(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 21;
}

int mmapfs_stats_json_totals(const char *mount,
			     const struct mmapfs_json_total *t, size_t n,
			     struct mmapfs_buf *out)
{
	int ret = mmapfs_buf_append(out, "{\"mount\": ", 10);

	if (ret == 0)
		ret = mmapfs_json_string(out, mount);
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = mmapfs_buf_append(out, ", ", 2);
		if (ret == 0)
			ret = mmapfs_json_string(out, t[i].name);
		if (ret == 0)
			ret = mmapfs_buf_append(out, ": ", 2);
		if (ret == 0)
			ret = is_integer(t[i].text) ?
			      mmapfs_buf_append(out, t[i].text,
						strlen(t[i].text)) :
			      mmapfs_json_string(out, t[i].text);
	}
	if (ret == 0)
		ret = mmapfs_buf_append(out, "}\n", 2);
	return ret;
}

static int json_row(struct mmapfs_buf *b, const struct mmapfs_stats_row *r)
{
	char policy[MMAPIO_POLICY_TEXT_MAX];
	int ret;

	ret = mmapio_policy_format(&r->policy, policy, sizeof(policy));
	if (ret < 0 || (size_t)ret >= sizeof(policy))
		return -EINVAL;
	ret = mmapfs_buf_append(b, "{\"path\": ", 9);
	if (ret == 0)
		ret = mmapfs_json_string(b, r->relpath);
	if (ret == 0)
		ret = mmapfs_buf_printf(b, ", \"size\": %" PRIu64
					", \"mapped\": %s, \"mode\": \"%s\""
					", \"policy\": \"%s\""
					", \"pending_bytes\": %" PRIu64
					", \"pending_writes\": %" PRIu64
					", \"flushes\": %" PRIu64
					", \"flush_errors\": %" PRIu64
					", \"last_flush_age_ms\": ",
					r->size, r->mapped ? "true" : "false",
					r->rw ? "rw" : "ro", policy,
					r->pending_bytes, r->pending_writes,
					r->flushes, r->flush_errors);
	if (ret == 0)
		ret = r->last_flush_age_ms < 0 ?
		      mmapfs_buf_append(b, "null}", 5) :
		      mmapfs_buf_printf(b, "%" PRId64 "}", r->last_flush_age_ms);
	return ret;
}

int mmapfs_stats_json_files(const struct mmapfs_stats_row *rows, size_t n,
			    struct mmapfs_buf *out)
{
	int ret = mmapfs_buf_append(out, "[", 1);

	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = mmapfs_buf_append(out, i ? ",\n " : "", i ? 3 : 0);
		if (ret == 0)
			ret = json_row(out, &rows[i]);
	}
	if (ret == 0)
		ret = mmapfs_buf_append(out, "]\n", 2);
	return ret;
}
