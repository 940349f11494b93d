/*
 * accum.c — the write accumulator's dirty-page bitmap (docs/durability.md).
 *
 * Design: one bit per page of the file, in two levels. The directory has
 * one pointer per ACCUM_LEAF_PAGES pages (128 MiB of file with 4 KiB
 * pages); a leaf is allocated at the first write into its span, sized to
 * the part of the span inside the file (in 64-page words), and grown when
 * the file grows into it. Pending bytes are therefore exact at page
 * granularity: a write dirties the pages it touches, rewriting a dirty
 * page adds nothing, and a ranged flush clears exactly the pages it synced.
 *
 * Memory bound: one bit per page (= file size / 32768 with 4 KiB pages)
 * for the touched spans only, rounded up to a word per leaf, plus one
 * pointer per 128 MiB of file. Random writes under the never policy fill
 * bits but cannot grow memory past that. Cleared leaves are kept, so a
 * steady write/flush cycle allocates nothing (no allocation on the write
 * path in steady state); truncation and destroy free them.
 *
 * Invariants: dirty_pages == sum of leaf->dirty == set bits; no bit is set
 * at or past a leaf's nwords * 64.
 *
 * Threads: not thread-safe; the owning state serialises (fstate.lock).
 */
#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t leaf_bytes(uint32_t nwords)
{
	return sizeof(struct accum_leaf) + (size_t)nwords * sizeof(uint64_t);
}

void mmapio__accum_init(struct mmapio_accum *a, size_t page_size)
{
	memset(a, 0, sizeof(*a));
	a->page_shift = (unsigned)__builtin_ctzll(page_size);
}

void mmapio__accum_destroy(struct mmapio_accum *a)
{
	for (size_t i = 0; i < a->ndir; i++)
		free(a->dir[i]);
	free(a->dir);
	a->dir = NULL;
	a->ndir = 0;
	a->dirty_pages = 0;
	a->mem_bytes = 0;
}

/* Bits lo..hi (inclusive, 0..63) of a word. */
static uint64_t word_mask(unsigned lo, unsigned hi)
{
	uint64_t upper = hi == 63 ? UINT64_MAX : (((uint64_t)1 << (hi + 1)) - 1);

	return upper & ~(((uint64_t)1 << lo) - 1);
}

/* Words a leaf needs to cover pages [leaf_start, min(cap_pages, span end)). */
static uint32_t leaf_words_for(uint64_t leaf_start, uint64_t cap_pages)
{
	uint64_t pages = cap_pages - leaf_start;

	if (pages > ACCUM_LEAF_PAGES)
		pages = ACCUM_LEAF_PAGES;
	return (uint32_t)((pages + 63) / 64);
}

/* Makes sure leaf li exists with at least want words. */
static int leaf_reserve(struct mmapio_accum *a, size_t li, uint32_t want)
{
	struct accum_leaf *l = a->dir[li], *n;
	uint32_t have = l ? l->nwords : 0;

	if (have >= want)
		return 0;
	n = realloc(l, leaf_bytes(want));
	if (!n)
		return -ENOMEM;
	if (!l)
		n->dirty = 0;
	memset(&n->bits[have], 0, (size_t)(want - have) * sizeof(uint64_t));
	n->nwords = want;
	a->mem_bytes += leaf_bytes(want) - (l ? leaf_bytes(have) : 0);
	a->dir[li] = n;
	return 0;
}

static int dir_reserve(struct mmapio_accum *a, size_t nleaves)
{
	struct accum_leaf **d;

	if (nleaves <= a->ndir)
		return 0;
	d = realloc(a->dir, nleaves * sizeof(*d));
	if (!d)
		return -ENOMEM;
	memset(&d[a->ndir], 0, (nleaves - a->ndir) * sizeof(*d));
	a->mem_bytes += (nleaves - a->ndir) * sizeof(*d);
	a->dir = d;
	a->ndir = nleaves;
	return 0;
}

/* Sets (set) or clears bits [lo, hi] of leaf l (hi < nwords * 64);
 * returns how many changed. */
static uint32_t leaf_change(struct accum_leaf *l, uint64_t lo, uint64_t hi,
			    bool set)
{
	uint32_t changed = 0;
	uint64_t w = lo / 64, wl = hi / 64;

	for (; w <= wl; w++) {
		uint64_t m = word_mask(w == lo / 64 ? (unsigned)(lo % 64) : 0,
				       w == wl ? (unsigned)(hi % 64) : 63);
		uint64_t flip = set ? m & ~l->bits[w] : m & l->bits[w];

		changed += (uint32_t)__builtin_popcountll(flip);
		l->bits[w] ^= flip;
	}
	if (set)
		l->dirty += changed;
	else
		l->dirty -= changed;
	return changed;
}

/* First and last page touched by [off, off + len), len > 0 (saturating). */
static void page_span(const struct mmapio_accum *a, uint64_t off, uint64_t len,
		      uint64_t *first, uint64_t *last)
{
	uint64_t end = off + len - 1;

	if (end < off)
		end = UINT64_MAX;
	*first = off >> a->page_shift;
	*last = end >> a->page_shift;
}

int64_t mmapio__accum_mark(struct mmapio_accum *a, uint64_t off, uint64_t len,
		   uint64_t file_len)
{
	uint64_t first, last, cap_pages, added = 0;
	size_t fl, ll;

	if (len == 0)
		return 0;
	page_span(a, off, len, &first, &last);
	cap_pages = (file_len >> a->page_shift) +
		    ((file_len & ((1u << a->page_shift) - 1)) != 0);
	if (cap_pages < last + 1)
		cap_pages = last + 1;
	fl = (size_t)(first / ACCUM_LEAF_PAGES);
	ll = (size_t)(last / ACCUM_LEAF_PAGES);

	/* Fast path: one existing leaf already large enough. */
	if (fl == ll && ll < a->ndir && a->dir[fl] &&
	    a->dir[fl]->nwords * 64ull > last % ACCUM_LEAF_PAGES)
		goto mark;

	if (dir_reserve(a, ll + 1))
		return -ENOMEM;
	for (size_t li = fl; li <= ll; li++)
		if (leaf_reserve(a, li, leaf_words_for(li * (uint64_t)ACCUM_LEAF_PAGES,
							cap_pages)))
			return -ENOMEM;
mark:
	for (size_t li = fl; li <= ll; li++) {
		uint64_t start = li * (uint64_t)ACCUM_LEAF_PAGES;
		uint64_t lo = li == fl ? first - start : 0;
		uint64_t hi = li == ll ? last - start : ACCUM_LEAF_PAGES - 1;

		added += leaf_change(a->dir[li], lo, hi, true);
	}
	a->dirty_pages += added;
	return (int64_t)added;
}

uint64_t mmapio__accum_clear_range(struct mmapio_accum *a, uint64_t off, uint64_t len)
{
	uint64_t first, last, cleared = 0;
	size_t fl, ll;

	if (len == 0 || a->dirty_pages == 0)
		return 0;
	page_span(a, off, len, &first, &last);
	fl = (size_t)(first / ACCUM_LEAF_PAGES);
	ll = (size_t)(last / ACCUM_LEAF_PAGES);
	if (ll >= a->ndir)
		ll = a->ndir - 1;
	for (size_t li = fl; li < a->ndir && li <= ll; li++) {
		struct accum_leaf *l = a->dir[li];
		uint64_t start = li * (uint64_t)ACCUM_LEAF_PAGES;
		uint64_t lo = li == fl ? first - start : 0;
		uint64_t hi = last - start < ACCUM_LEAF_PAGES ? last - start
							      : ACCUM_LEAF_PAGES - 1;

		if (!l || !l->dirty || lo >= l->nwords * 64ull)
			continue;
		if (hi >= l->nwords * 64ull)
			hi = l->nwords * 64ull - 1;
		cleared += leaf_change(l, lo, hi, false);
	}
	a->dirty_pages -= cleared;
	return cleared;
}

uint64_t mmapio__accum_clear_all(struct mmapio_accum *a)
{
	uint64_t cleared = a->dirty_pages;

	for (size_t li = 0; cleared && li < a->ndir; li++) {
		struct accum_leaf *l = a->dir[li];

		if (l && l->dirty) {
			memset(l->bits, 0, (size_t)l->nwords * sizeof(uint64_t));
			l->dirty = 0;
		}
	}
	a->dirty_pages = 0;
	return cleared;
}

uint64_t mmapio__accum_truncate(struct mmapio_accum *a, uint64_t new_len)
{
	uint64_t keep = (new_len >> a->page_shift) +
			((new_len & ((1u << a->page_shift) - 1)) != 0);
	size_t keep_leaves = (size_t)((keep + ACCUM_LEAF_PAGES - 1) / ACCUM_LEAF_PAGES);
	uint64_t dropped = 0;

	if (keep_leaves >= a->ndir && keep % ACCUM_LEAF_PAGES == 0)
		return 0;
	for (size_t li = keep_leaves; li < a->ndir; li++) {
		struct accum_leaf *l = a->dir[li];

		if (l) {
			dropped += l->dirty;
			a->mem_bytes -= leaf_bytes(l->nwords);
			free(l);
		}
	}
	if (keep_leaves < a->ndir) {
		a->mem_bytes -= (a->ndir - keep_leaves) * sizeof(*a->dir);
		a->ndir = keep_leaves;
		if (keep_leaves == 0) {
			free(a->dir);
			a->dir = NULL;
		}
		/* A shrinking realloc that fails keeps the larger block: fine. */
		else {
			struct accum_leaf **d = realloc(a->dir, keep_leaves * sizeof(*d));

			if (d)
				a->dir = d;
		}
	}
	if (keep % ACCUM_LEAF_PAGES && keep_leaves > 0 &&
	    keep_leaves - 1 < a->ndir && a->dir[keep_leaves - 1]) {
		size_t li = keep_leaves - 1;
		struct accum_leaf *l = a->dir[li], *n;
		uint64_t lo = keep - li * (uint64_t)ACCUM_LEAF_PAGES;
		uint32_t want = (uint32_t)((lo + 63) / 64);

		if (lo < l->nwords * 64ull)
			dropped += leaf_change(l, lo, l->nwords * 64ull - 1, false);
		if (want < l->nwords) {
			n = realloc(l, leaf_bytes(want));
			if (n) {
				a->mem_bytes -= leaf_bytes(n->nwords) - leaf_bytes(want);
				n->nwords = want;
				a->dir[li] = n;
			}
		}
	}
	a->dirty_pages -= dropped;
	return dropped;
}

bool mmapio__accum_test(const struct mmapio_accum *a, uint64_t page)
{
	size_t li = (size_t)(page / ACCUM_LEAF_PAGES);
	uint64_t bit = page % ACCUM_LEAF_PAGES;
	const struct accum_leaf *l;

	if (li >= a->ndir || !(l = a->dir[li]) || bit >= l->nwords * 64ull)
		return false;
	return (l->bits[bit / 64] >> (bit % 64)) & 1;
}
