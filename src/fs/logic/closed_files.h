/*
 * closed_files.h — the bounded table of recently closed files: the
 * counters of a file outlive its last close here, so `.stats/files` and
 * metrics.prom keep a row for it (oldest out first when the table is
 * full; its size is the config key closed_files_max).
 *
 * A file's counters are carried across closes: the first open of a file
 * still in the table takes its counters back (mmapfs_closed_take), and the
 * daemon adds what the new mapping counts on top of them, so a file's
 * counters only grow while it stays in the table.
 */
#ifndef MMAPFS_CLOSED_FILES_H
#define MMAPFS_CLOSED_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mmapio.h"

/* The event counters of one file. */
struct mmapfs_file_counts {
	uint64_t writes;
	uint64_t bytes_written;
	uint64_t flushes;
	uint64_t flush_errors;
	int64_t last_flush_ns;      /* CLOCK_MONOTONIC; 0: never flushed */
};

/* One closed file. */
struct mmapfs_closed_file {
	dev_t dev;
	ino_t ino;
	const char *relpath;        /* its path at its last open */
	uint64_t size;              /* at close */
	bool rw;
	struct mmapio_policy policy;
	struct mmapfs_file_counts counts;
};

/* counts + (now - then), field by field (last_flush_ns: now's if set,
 * else counts'). */
void mmapfs_file_counts_add_delta(struct mmapfs_file_counts *counts,
				  const struct mmapio_stats *now,
				  const struct mmapio_stats *then);
/* True when no event was counted. */
bool mmapfs_file_counts_zero(const struct mmapfs_file_counts *c);

/* Sets the capacity (0: keep none), dropping the oldest entries beyond
 * it. */
void mmapfs_closed_set_capacity(size_t cap);
/* Records f (copied) as the newest entry, replacing one of the same
 * (dev, ino); nothing when its counters are all zero or the capacity is
 * 0. Returns 0 or -ENOMEM (the table is unchanged). */
int mmapfs_closed_put(const struct mmapfs_closed_file *f);
/* Removes the entry of (dev, ino) and returns its counters in *out:
 * true, or false (and *out zeroed) when there is none. */
bool mmapfs_closed_take(dev_t dev, ino_t ino, struct mmapfs_file_counts *out);
/* Copies the counters of the entry of (dev, ino) to *out, leaving it in
 * the table: true, or false when there is none. */
bool mmapfs_closed_find(dev_t dev, ino_t ino, struct mmapfs_file_counts *out);
/* Calls fn for each entry, newest first, under the table's lock (fn must
 * not call back into this module). A non-zero return stops the walk and
 * is returned. */
int mmapfs_closed_for_each(int (*fn)(const struct mmapfs_closed_file *f,
				     void *ctx), void *ctx);
size_t mmapfs_closed_count(void);
/* Empties the table (at exit, and tests). */
void mmapfs_closed_clear(void);

#endif /* MMAPFS_CLOSED_FILES_H */
