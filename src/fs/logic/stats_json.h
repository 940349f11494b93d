/*
 * stats_json.h — `.stats/` snapshots as JSON for scripts (mmapfsctl stats
 * --json, files --json): one object of totals, an array of file rows.
 */
#ifndef MMAPFS_STATS_JSON_H
#define MMAPFS_STATS_JSON_H

#include "stats_format.h"

/* Appends s as a JSON string (quotes included): `"` `\` and control
 * characters escaped, bytes that are not valid UTF-8 as U+FFFD. Returns 0
 * or -ENOMEM. */
int mmapfs_json_string(struct mmapfs_buf *b, const char *s);

/* One value of the totals object. */
struct mmapfs_json_total {
	const char *name;
	const char *text;   /* a decimal integer (emitted as a number), or
			     * any other text (emitted as a string) */
};

/* {"mount": mount, name: value, ...}\n. Returns 0 or -ENOMEM. */
int mmapfs_stats_json_totals(const char *mount,
			     const struct mmapfs_json_total *t, size_t n,
			     struct mmapfs_buf *out);

/* [{"path": ..., "size": N, "mapped": bool, "mode": "rw", "policy": ...,
 * "pending_bytes": N, "pending_writes": N, "flushes": N,
 * "flush_errors": N, "last_flush_age_ms": N or null}, ...]\n, one object
 * per row in the given order. Returns 0, -ENOMEM or -EINVAL (a row's
 * policy is invalid). */
int mmapfs_stats_json_files(const struct mmapfs_stats_row *rows, size_t n,
			    struct mmapfs_buf *out);

#endif /* MMAPFS_STATS_JSON_H */
