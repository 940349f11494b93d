/*
 * lockset.c — sets of page intervals (lockset.h).
 *
 * Design: a sorted array of runs, merged on insert (overlapping or
 * adjacent runs become one), cut on removal. Sets are small (one run per
 * distinct range a user locked), so insertion and removal shift the array
 * (O(n)); lookups scan it. The page count is kept up to date so that the
 * caller's budget needs no walk.
 *
 * Invariants: runs[i].first < runs[i].end < runs[i + 1].first; pages is
 * the sum of the runs' lengths.
 */
#include "lockset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

uint64_t mmapfs_lockset_count(const struct mmapfs_lockset *s, uint64_t first,
			      uint64_t end)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n && s->runs[i].first < end; i++) {
		uint64_t a = max_u64(first, s->runs[i].first);
		uint64_t b = min_u64(end, s->runs[i].end);

		if (a < b)
			n += b - a;
	}
	return n;
}

int mmapfs_lockset_prepare(struct mmapfs_lockset *s)
{
	struct mmapfs_lockrun *r;
	size_t cap;

	if (s->n < s->cap)
		return 0;
	cap = s->cap ? 2 * s->cap : 4;
	r = realloc(s->runs, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->runs = r;
	s->cap = cap;
	return 0;
}

int64_t mmapfs_lockset_add(struct mmapfs_lockset *s, uint64_t first,
			   uint64_t end)
{
	uint64_t added;
	size_t i, j;

	if (first >= end)
		return 0;
	if (mmapfs_lockset_prepare(s) < 0)
		return -ENOMEM;
	added = (end - first) - mmapfs_lockset_count(s, first, end);
	/* Runs i..j-1 touch [first, end) (overlap or adjacency): they merge
	 * into one with it. */
	for (i = 0; i < s->n && s->runs[i].end < first; i++)
		;
	for (j = i; j < s->n && s->runs[j].first <= end; j++) {
		first = min_u64(first, s->runs[j].first);
		end = max_u64(end, s->runs[j].end);
	}
	if (j == i) {
		memmove(&s->runs[i + 1], &s->runs[i],
			(s->n - i) * sizeof(*s->runs));
		s->n++;
	} else if (j > i + 1) {
		memmove(&s->runs[i + 1], &s->runs[j],
			(s->n - j) * sizeof(*s->runs));
		s->n -= j - i - 1;
	}
	s->runs[i].first = first;
	s->runs[i].end = end;
	s->pages += added;
	return (int64_t)added;
}

int64_t mmapfs_lockset_remove(struct mmapfs_lockset *s, uint64_t first,
			      uint64_t end)
{
	uint64_t removed = mmapfs_lockset_count(s, first, end);
	size_t i = 0;

	if (!removed)
		return 0;
	if (mmapfs_lockset_prepare(s) < 0)
		return -ENOMEM;
	while (i < s->n) {
		struct mmapfs_lockrun *r = &s->runs[i];

		if (r->end <= first || r->first >= end) {
			i++;
		} else if (r->first < first && r->end > end) {
			/* Cut in two. */
			memmove(&s->runs[i + 1], &s->runs[i],
				(s->n - i) * sizeof(*s->runs));
			s->n++;
			s->runs[i].end = first;
			s->runs[i + 1].first = end;
			break;
		} else if (r->first < first) {
			r->end = first;
			i++;
		} else if (r->end > end) {
			r->first = end;
			i++;
		} else {
			memmove(&s->runs[i], &s->runs[i + 1],
				(s->n - i - 1) * sizeof(*s->runs));
			s->n--;
		}
	}
	s->pages -= removed;
	return (int64_t)removed;
}

void mmapfs_lockset_clear(struct mmapfs_lockset *s)
{
	free(s->runs);
	s->runs = NULL;
	s->n = s->cap = 0;
	s->pages = 0;
}
