/*
 * stats_format.h — the texts of the `.stats/` files (docs/control.md),
 * produced by pure functions from an array of per-file rows, and the parsers
 * a client (mmapfsctl) uses to read them back.
 *
 * The daemon takes a snapshot at open (control.h collects the rows), formats
 * the requested file into a struct mmapfs_buf and serves reads from it with
 * direct_io, so the size need not be known in advance.
 */
#ifndef MMAPFS_STATS_FORMAT_H
#define MMAPFS_STATS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"

/* A growable byte buffer. Initialise with MMAPFS_BUF_INIT or zeroes; the
 * text is NUL-terminated after every successful append (data may be NULL
 * while len == 0). */
struct mmapfs_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define MMAPFS_BUF_INIT { NULL, 0, 0 }

/* Appends len bytes. Returns 0 or -ENOMEM (b unchanged). */
int mmapfs_buf_append(struct mmapfs_buf *b, const void *data, size_t len);
/* Appends printf-formatted text. Returns 0, -ENOMEM or -EINVAL (bad
 * format). */
__attribute__((format(printf, 2, 3)))
int mmapfs_buf_printf(struct mmapfs_buf *b, const char *fmt, ...);
/* Frees the bytes and empties b (it may be reused). */
void mmapfs_buf_free(struct mmapfs_buf *b);

/* One file of a stats snapshot. */
struct mmapfs_stats_row {
	const char *relpath;        /* relative to the mount root, no '/' first */
	uint64_t size;
	bool mapped;                /* an open mapping exists */
	bool rw;                    /* mapping mode: read-write (else read-only) */
	struct mmapio_policy policy;
	uint64_t pending_bytes;
	uint64_t pending_writes;
	uint64_t flushes;
	uint64_t flush_errors;
	int64_t last_flush_age_ms;  /* -1: never flushed */
	uint64_t bytes_written;     /* counters for rates (metrics.prom) */
	uint64_t writes;
};

/* Totals over a snapshot. */
struct mmapfs_stats_totals {
	uint64_t files;
	uint64_t mapped_files;
	uint64_t pending_bytes;
	uint64_t pending_writes;
	uint64_t flushes;
	uint64_t flush_errors;
	uint64_t bytes_written;
	uint64_t writes;
	uint64_t mapped_bytes;      /* sizes of the files with a mapping */
};

/* The files of `.stats/`. */
enum mmapfs_stats_file {
	MMAPFS_STATS_PENDING_BYTES = 0,
	MMAPFS_STATS_PENDING_WRITES,
	MMAPFS_STATS_FLUSHES,
	MMAPFS_STATS_FLUSH_ERRORS,
	MMAPFS_STATS_FILES,
	MMAPFS_STATS_CONFIG,
	MMAPFS_STATS_METRICS,
	MMAPFS_STATS_VERSION,
	MMAPFS_STATS_FILE_COUNT,
};

/* The header line of `files` (without its newline). */
#define MMAPFS_STATS_FILES_HEADER \
	"path\tsize\tmapped\tmode\tpolicy\tpending_bytes\tpending_writes\t" \
	"flushes\tflush_errors\tlast_flush_age_ms"

/* The name of f in `.stats/` ("pending_bytes", ..., "metrics.prom"), or
 * NULL when out of range. */
const char *mmapfs_stats_file_name(enum mmapfs_stats_file f);
/* Finds the stats file called name. Returns 0 or -ENOENT. */
int mmapfs_stats_file_from_name(const char *name, enum mmapfs_stats_file *out);

/* Sums rows into *out (saturating at UINT64_MAX). The daemon then
 * replaces the event totals (flushes, flush_errors, bytes_written,
 * writes) with its daemon-wide counters, which outlive closed files. */
void mmapfs_stats_sum(const struct mmapfs_stats_row *rows, size_t n,
		      struct mmapfs_stats_totals *out);

/* `pending_bytes`, `pending_writes`, `flushes`, `flush_errors`: the total
 * as one decimal integer and a newline. f must be one of those four.
 * Returns 0, -ENOMEM or -EINVAL (another f). */
int mmapfs_stats_format_total(enum mmapfs_stats_file f,
			      const struct mmapfs_stats_totals *t,
			      struct mmapfs_buf *out);

/* `files`: the header line, then one row per element of rows sorted by
 * path (byte order), paths with tab, newline and backslash escaped as
 * `\t` `\n` `\\`. Returns 0, -ENOMEM, or -EINVAL for a row whose policy
 * is invalid. */
int mmapfs_stats_format_files(const struct mmapfs_stats_row *rows, size_t n,
			      struct mmapfs_buf *out);

/* `metrics.prom`: Prometheus text exposition format 0.0.4. Totals always
 * (mmapfs_info, mmapfs_files, mmapfs_mapped_files, mmapfs_mapped_bytes,
 * mmapfs_pending_bytes, mmapfs_pending_writes, mmapfs_flushes_total,
 * mmapfs_flush_errors_total, mmapfs_bytes_written_total,
 * mmapfs_writes_total); per-file families mmapfs_file_* labelled
 * path="..." for at most max_files rows, the busiest first: most pending
 * bytes, then most bytes written, then path. mount (may be NULL: no such
 * label) is the value of a mount="..." label put first on every sample;
 * transport (the one in use, "dev" or "io_uring"; NULL: no such label) is
 * a label of mmapfs_info.
 * Label values escape backslash, double quote and newline; bytes that are
 * not valid UTF-8 become U+FFFD. transport (the one in use, "dev" or
 * "io_uring") is a label of mmapfs_info; NULL leaves it out. Returns 0,
 * -ENOMEM. */
int mmapfs_stats_format_metrics(const struct mmapfs_stats_row *rows, size_t n,
				const struct mmapfs_stats_totals *t,
				uint64_t max_files, const char *mount,
				const char *transport, struct mmapfs_buf *out);

/* Appends s as a Prometheus label value (without the quotes), escaped as
 * above. Returns 0 or -ENOMEM. */
int mmapfs_prom_label_value(struct mmapfs_buf *b, const char *s);
/* Appends `mount="MOUNT"` (escaped) followed by sep, or nothing when
 * mount is NULL: the label every series of a mount carries. Returns 0 or
 * -ENOMEM. */
int mmapfs_prom_mount_label(struct mmapfs_buf *b, const char *mount,
			    const char *sep);

/* `version`: "mmapfs VERSION\n". Returns 0 or -ENOMEM. */
int mmapfs_stats_format_version(struct mmapfs_buf *out);

/* --- Reading the texts back (clients) ------------------------------------ */

/* Parses one data line of `files` (no newline) in place: the path is
 * unescaped inside line and row->relpath points into it; bytes_written and
 * writes are 0 (files does not carry them). Returns 0 or -EINVAL. */
int mmapfs_stats_parse_files_row(char *line, struct mmapfs_stats_row *row);

/* One sample line of metrics.prom. */
struct mmapfs_prom_sample {
	const char *name;   /* metric name */
	const char *path;   /* unescaped value of the path label, or NULL */
	double value;
};

/* Parses one line of metrics.prom (no newline) in place. Returns 1 with
 * *s for a sample, 0 for a comment or blank line, -EINVAL otherwise. */
int mmapfs_prom_parse_line(char *line, struct mmapfs_prom_sample *s);

#endif /* MMAPFS_STATS_FORMAT_H */
