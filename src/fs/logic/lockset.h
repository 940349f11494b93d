/*
 * lockset.h — a set of page numbers kept as sorted, disjoint, non-adjacent
 * intervals: which pages of one file are locked in memory through
 * .ctl/lock, so that the max_locked_bytes budget is charged per page of
 * the file, not per command (locking the same range twice charges once;
 * unlocking gives back only what was locked).
 *
 * Pure logic: no locking of its own (the caller's lock guards a set), no
 * system calls.
 */
#ifndef MMAPFS_LOCKSET_H
#define MMAPFS_LOCKSET_H

#include <stddef.h>
#include <stdint.h>

struct mmapfs_lockset {
	struct mmapfs_lockrun {
		uint64_t first, end;   /* pages [first, end), first < end */
	} *runs;
	size_t n, cap;
	uint64_t pages;               /* pages in the set */
};

#define MMAPFS_LOCKSET_INIT { NULL, 0, 0, 0 }

/* Makes room for the next add or remove: after it returned 0, neither
 * fails. Returns 0 or -ENOMEM. */
int mmapfs_lockset_prepare(struct mmapfs_lockset *s);
/* Pages of [first, end) that are in the set. */
uint64_t mmapfs_lockset_count(const struct mmapfs_lockset *s, uint64_t first,
			      uint64_t end);
/* Adds [first, end). Returns the pages that were not in the set before
 * (0 or more), or -ENOMEM (the set unchanged; never after a successful
 * mmapfs_lockset_prepare()). */
int64_t mmapfs_lockset_add(struct mmapfs_lockset *s, uint64_t first,
			   uint64_t end);
/* Removes [first, end) (end UINT64_MAX: everything from first). Returns
 * the pages removed, or -ENOMEM (splitting a run needs room; the set is
 * unchanged then; never after a successful mmapfs_lockset_prepare()). */
int64_t mmapfs_lockset_remove(struct mmapfs_lockset *s, uint64_t first,
			      uint64_t end);
/* Empties the set and frees its memory. */
void mmapfs_lockset_clear(struct mmapfs_lockset *s);

#endif /* MMAPFS_LOCKSET_H */
