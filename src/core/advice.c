/*
 * advice.c — advice, prefetch, residency and locking of mappings
 * (docs/libmmapio.md): mmapio_advise, mmapio_prefetch, mmapio_touch,
 * mmapio_lock/unlock, mmapio_hugepage_backed.
 *
 * Design
 *   - Ranges are checked like every other ranged call, then widened to
 *     whole pages (start down, end up; the end stays inside the mapping,
 *     which covers whole pages).
 *   - mmapio_touch uses MADV_POPULATE_READ when the build has it and the
 *     kernel accepts it (remembered after the first EINVAL), else reads one
 *     byte per page under the SIGBUS guard. It uses POPULATE_WRITE only for
 *     anonymous mappings: a write-populate of a shared file mapping would
 *     dirty every page behind the accumulator's back (and allocate blocks),
 *     of a private one it would copy every page.
 *   - locked_bytes is the page-rounded sum of locked minus unlocked ranges
 *     (an overlapping lock counts twice; unlock never goes below zero).
 *   - Huge-page backing is read from /proc/self/smaps: the VMAs that
 *     overlap the mapping, AnonHugePages / FilePmdMapped / ShmemPmdMapped.
 *   - A file without a mapping: advise, touch, lock and unlock are -ENODEV
 *     (nothing to advise or fault in); prefetch works (it uses the fd);
 *     huge-page backing is 0.
 *
 * Threads: every call holds map_lock (read side) while it uses the
 * mapping's address.
 */
#include "internal.h"
#include "mmapfs_config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Page-aligned [start, start + len) covering [off, off + n) of f. */
struct span {
	uint8_t *addr;
	size_t len;
};

/* Checks the range and widens it; map_lock must be held. Returns 0 with an
 * empty span for an empty range, -ERANGE, -ENODEV (no mapping). */
static int page_span(struct mmapio_file *f, uint64_t off, uint64_t n,
		     struct span *s)
{
	uint64_t page = mmapio_page_size();
	uint64_t start, end;

	MMAPIO__ASSERT_LOCKED(&f->map_lock);

	if (mmapio__unmapped(f))
		return -ENODEV;
	if (!mmapio__range_ok(off, n, atomic_load_explicit(&f->len,
							  memory_order_relaxed)))
		return -ERANGE;
	s->addr = NULL;
	s->len = 0;
	if (!n)
		return 0;
	start = off & ~(page - 1);
	end = (off + n + page - 1) & ~(page - 1);
	s->addr = f->base + start;
	s->len = end - start;
	return 0;
}

static int to_madvice(enum mmapio_advice a)
{
	switch (a) {
	case MMAPIO_ADV_NORMAL:
		return MADV_NORMAL;
	case MMAPIO_ADV_RANDOM:
		return MADV_RANDOM;
	case MMAPIO_ADV_SEQUENTIAL:
		return MADV_SEQUENTIAL;
	case MMAPIO_ADV_WILLNEED:
		return MADV_WILLNEED;
	case MMAPIO_ADV_DONTNEED:
		return MADV_DONTNEED;
	}
	return -1;
}

int mmapio_advise(struct mmapio_file *f, uint64_t off, uint64_t len,
		  enum mmapio_advice advice)
{
	int adv = to_madvice(advice);
	struct span s;
	int rc;

	if (adv < 0)
		return -EINVAL;
	mmapio__rdlock(&f->map_lock);
	rc = page_span(f, off, len, &s);
	if (rc == 0 && s.len && madvise(s.addr, s.len, adv) < 0)
		rc = -errno;
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

int mmapio_prefetch(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	int err;

	if (!mmapio__range_ok(off, len, mmapio_len(f)))
		return -ERANGE;
	/* Nothing to read ahead for an anonymous mapping. */
	if (f->anon || !len)
		return 0;
	err = posix_fadvise(f->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
	return -err;
}

struct touch_req {
	const volatile uint8_t *addr;
	size_t len;
	size_t page;
};

static int touch_pages(void *arg)
{
	struct touch_req *t = arg;
	size_t i;

	for (i = 0; i < t->len; i += t->page)
		(void)t->addr[i];
	return 0;
}

#if HAVE_MADV_POPULATE_READ && HAVE_MADV_POPULATE_WRITE
/* Cleared when the kernel answers EINVAL (older than 5.14). */
static atomic_bool populate_works = true;

/* Returns 1 when madvise did the work (rc in *rc), 0 to fall back. */
static int populate(struct mmapio_file *f, const struct span *s, int *rc)
{
	int adv = f->anon ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;

	if (!atomic_load_explicit(&populate_works, memory_order_relaxed))
		return 0;
	if (madvise(s->addr, s->len, adv) == 0) {
		*rc = 0;
		return 1;
	}
	if (errno == EINVAL) {
		atomic_store(&populate_works, false);
		return 0;
	}
	/* EFAULT/EHWPOISON: a page could not be faulted in (past EOF after
	 * an outside truncate, I/O error): the guard's answer. */
	*rc = errno == EFAULT || errno == EHWPOISON ? -EIO : -errno;
	return 1;
}
#else
static int populate(struct mmapio_file *f, const struct span *s, int *rc)
{
	(void)f;
	(void)s;
	(void)rc;
	return 0;
}
#endif

int mmapio_touch(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	struct span s;
	int rc;

	mmapio__rdlock(&f->map_lock);
	rc = page_span(f, off, len, &s);
	if (rc == 0 && s.len && !populate(f, &s, &rc)) {
		struct touch_req t = { s.addr, s.len, mmapio_page_size() };

		rc = mmapio__guarded_call(touch_pages, &t);
	}
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

int mmapio_lock(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	struct span s;
	int rc;

	mmapio__rdlock(&f->map_lock);
	rc = page_span(f, off, len, &s);
	if (rc == 0 && s.len) {
		if (mlock(s.addr, s.len) < 0)
			rc = -errno;
		else
			atomic_fetch_add(&f->locked_bytes, s.len);
	}
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

int mmapio_unlock(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	struct span s;
	uint64_t cur, next;
	int rc;

	mmapio__rdlock(&f->map_lock);
	rc = page_span(f, off, len, &s);
	if (rc == 0 && s.len) {
		if (munlock(s.addr, s.len) < 0) {
			rc = -errno;
		} else {
			cur = atomic_load(&f->locked_bytes);
			do {
				next = cur > s.len ? cur - s.len : 0;
			} while (!atomic_compare_exchange_weak(&f->locked_bytes,
							       &cur, next));
		}
	}
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

int mmapio__smaps_huge(FILE *fp, uintptr_t lo, uintptr_t hi)
{
	char line[512];
	uintptr_t start, end;
	uint64_t kb;
	bool inside = false;
	int found = 0;

	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = start < hi && end > lo;
			continue;
		}
		if (!inside)
			continue;
		if ((sscanf(line, "AnonHugePages: %" SCNu64, &kb) == 1 ||
		     sscanf(line, "FilePmdMapped: %" SCNu64, &kb) == 1 ||
		     sscanf(line, "ShmemPmdMapped: %" SCNu64, &kb) == 1) && kb)
			found = 1;
	}
	return found;
}

int mmapio_hugepage_backed(const struct mmapio_file *f)
{
	/* The lock is not part of the value the caller sees as const. */
	struct mmapio_file *mf = (struct mmapio_file *)f;

	FILE *fp;
	int rc = 0;

	mmapio__rdlock(&mf->map_lock);
	if (mf->base && mf->mapped) {
		fp = fopen("/proc/self/smaps", "re");
		if (!fp) {
			rc = -errno;
		} else {
			rc = mmapio__smaps_huge(fp, (uintptr_t)mf->base,
					       (uintptr_t)mf->base + mf->mapped);
			fclose(fp);
		}
	}
	mmapio__rwunlock(&mf->map_lock);
	return rc;
}
