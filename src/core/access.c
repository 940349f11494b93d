/*
 * access.c — copying reads and writes (docs/libmmapio.md): mmapio_read,
 * mmapio_write, mmapio_write_grow.
 *
 * Design: the fast path is map_lock (read side), a bounds check, the
 * allocation rule's cached test (one atomic load), a guarded memcpy, the
 * unlock, then the accounting hook. No allocation, no syscall. A write that
 * ends past EOF (write_grow) retakes map_lock for writing, re-checks the
 * length (another grower may have won), grows, and copies under the write
 * lock, so concurrent growers never lose each other's bytes or shrink the
 * file.
 *
 * A file without a mapping (f->unmapped) takes the same paths, locks and
 * accounting; only the copy itself is a full-length pread/pwrite (retried
 * on EINTR and short counts) instead of a guarded memcpy. A pread that
 * meets EOF early (the file was cut from outside) is -EIO, as the fault
 * in a mapping would be. The accounting hook then debits the flush as an
 * external write (fdatasync, state.c).
 *
 * Write without read: storing into a page that is not in the page cache
 * makes the kernel read that page from disk before the copy (the fault
 * must fill it), so a 4 KiB random write into a cold file costs a disk
 * read. When a write covers whole pages and one of them is not resident
 * (mincore), the write goes through pwrite(2) on the file's descriptor
 * instead: the kernel fills whole pages without reading them, and the
 * shared mapping sees the same page-cache pages. Whole pages a write
 * stored into lately (within about a second: resident_hint) are taken as
 * resident without asking, so a steady-state overwrite makes no system
 * call. Only for MAP_SHARED
 * read-write files (a COW mapping's private pages are not the file's),
 * and only on descriptors without O_APPEND, O_DIRECT or O_SYNC/O_DSYNC
 * (f->fd_status, from mmapio_from_fd): O_APPEND would put the bytes at
 * EOF whatever the offset, O_DIRECT refuses unaligned buffers, O_SYNC
 * would make some writes synchronous and not others. Those descriptors
 * always store through the mapping. A file without a mapping never has
 * such a descriptor (file.c refuses the fallback for them).
 *
 * Write-through: under the policy `always` (each write made durable before
 * it returns) every write of such a file goes through pwrite(2) too. A
 * store dirties the whole folio it lands in (the file system's
 * page_mkwrite marks every block of it), and the page cache now holds
 * files in large folios (up to megabytes once written in large chunks),
 * so syncing a 4 KiB store wrote back the whole folio: 2,200 durable
 * 4 KiB writes/s into a file laid out with 1 MiB writes, against 11,400
 * with pwrite, which dirties only the blocks it writes (ext4 on a RAM
 * disk; native O_DSYNC 17,600). Only there: for writes that are not
 * synced at once a store is cheaper (no syscall, no timestamp update per
 * write; pwrite for every write halved 4 KiB random writes).
 *
 * The allocation rule has run first either way, and the accounting is
 * the same; a failed pwrite returns its errno (-EIO, -ENOSPC) as a
 * faulting copy would.
 *
 * Invariants: bytes are only copied inside [0, len) of the current
 * mapping (or file); accounting happens after the copy and without
 * map_lock, as mmapio__state_account requires.
 *
 * Threads: any thread, any number at once; per-file rwlock only.
 */
#include "internal.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

/* Reads exactly n bytes at off of an unmapped file. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	ssize_t got;

	while (n) {
		got = pread(fd, p, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO;
		p += got;
		off += (uint64_t)got;
		n -= (size_t)got;
	}
	return 0;
}

/* Writes exactly n bytes at off of an unmapped file. */
static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t put;

	while (n) {
		put = mmapio__sys.pwrite(fd, p, n, (off_t)off);
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		if (put == 0)
			return -EIO;
		p += put;
		off += (uint64_t)put;
		n -= (size_t)put;
	}
	return 0;
}

/* Pages whose residency one write looks up (1 MiB of 4 KiB pages: the
 * daemon's largest write); a longer write checks its first pages only. */
#define RESIDENCY_PAGES 256

/* The whole pages inside a byte range: page index of the first, count
 * (0: the range covers none). */
struct whole_pages {
	uint64_t first;
	size_t n;
};

static struct whole_pages whole_pages_of(uint64_t off, size_t n)
{
	uint64_t ps = mmapio_page_size();
	uint64_t first = (off + ps - 1) & ~(ps - 1);
	uint64_t end = (off + n) & ~(ps - 1);

	return (struct whole_pages){
		.first = first / ps,
		.n = end > first ? (size_t)((end - first) / ps) : 0,
	};
}

/* True when a write may go through pwrite on f's descriptor instead of a
 * store: only for MAP_SHARED read-write files and our own descriptors'
 * kind: under O_APPEND the kernel ignores pwrite's offset (the bytes would
 * land at EOF), under O_DIRECT an unaligned buffer is EINVAL, and under
 * O_SYNC the write would be synchronous where a store is not
 * (mmapio_from_fd). */
static bool pwrite_allowed(const struct mmapio_file *f)
{
	return f->mode == MMAPIO_RW && !f->anon && !f->fd_status;
}

/* The resident_hint entry of page (internal.h), valid this epoch. */
static uint64_t hint_entry(uint64_t page, uint64_t epoch)
{
	return (page + 1) << 16 | (epoch & 0xffff);
}

static uint64_t hint_epoch(void)
{
	return (uint64_t)mmapio__sys.now_ns() >> 30;
}

static _Atomic uint64_t *hint_slot(struct mmapio_file *f, uint64_t page)
{
	return &f->resident_hint[page % MMAPIO__RESIDENT_SLOTS];
}

/* True when every one of the first pages pages of w is in the hint. */
static bool hinted_resident(struct mmapio_file *f, struct whole_pages w,
			    size_t pages, uint64_t epoch)
{
	size_t i;

	if (pages > MMAPIO__RESIDENT_SLOTS)
		return false;
	for (i = 0; i < pages; i++)
		if (atomic_load_explicit(hint_slot(f, w.first + i),
					 memory_order_relaxed) !=
		    hint_entry(w.first + i, epoch))
			return false;
	return true;
}

/* Records the pages of w as resident: a write just put them in the page
 * cache (a store or a pwrite). Entries already right are not written
 * again, so writers of the same pages do not bounce the cache line. */
static void hint_resident(struct mmapio_file *f, struct whole_pages w,
			  uint64_t epoch)
{
	size_t i, pages = w.n < MMAPIO__RESIDENT_SLOTS ? w.n :
			  MMAPIO__RESIDENT_SLOTS;

	for (i = 0; i < pages; i++) {
		_Atomic uint64_t *slot = hint_slot(f, w.first + i);
		uint64_t entry = hint_entry(w.first + i, epoch);

		if (atomic_load_explicit(slot, memory_order_relaxed) != entry)
			atomic_store_explicit(slot, entry,
					      memory_order_relaxed);
	}
}

/*
 * True when one of the first RESIDENCY_PAGES whole pages w of a write
 * (pwrite_allowed, at least one page) is not in the page cache: then
 * pwrite beats a store that would read it first. Pages written within
 * the current epoch (about a second) are taken as still resident without
 * asking mincore: that is what keeps a steady-state overwrite free of
 * system calls. The page cache may have dropped one meanwhile (memory
 * pressure, an outside fadvise): the store then faults it in, which is
 * all the check saves.
 */
static bool write_without_read(struct mmapio_file *f, struct whole_pages w,
			       uint64_t epoch)
{
	unsigned char resident[RESIDENCY_PAGES];
	uint64_t ps = mmapio_page_size();
	size_t pages = w.n < RESIDENCY_PAGES ? w.n : RESIDENCY_PAGES, i;

	if (hinted_resident(f, w, pages, epoch))
		return false;
	if (mmapio__sys.mincore(f->base + w.first * ps, pages * ps,
				resident) < 0)
		return false;
	for (i = 0; i < pages; i++)
		if (!(resident[i] & 1))
			return true;
	return false;
}

/* True when a write to f goes through pwrite because it is synced at
 * once (write-through, above). */
static bool write_through(const struct mmapio_file *f)
{
	return pwrite_allowed(f) && mmapio__state_write_through(f);
}

/* With map_lock held and the range checked: allocation rule, then copy. */
static int store_locked(struct mmapio_file *f, uint64_t off, const void *data,
			size_t n)
{
	struct whole_pages w;
	uint64_t epoch;
	int rc;

	MMAPIO__ASSERT_LOCKED(&f->map_lock);
	rc = mmapio__prepare_write(f, off, n);
	if (rc < 0)
		return rc;
	if (mmapio__unmapped(f) || write_through(f))
		return pwrite_full(f->fd, data, n, off);
	w = whole_pages_of(off, n);
	if (!pwrite_allowed(f) || !w.n)
		return mmapio__guarded_copy(f->base + off, data, n);
	epoch = hint_epoch();
	if (write_without_read(f, w, epoch))
		rc = pwrite_full(f->fd, data, n, off);
	else
		rc = mmapio__guarded_copy(f->base + off, data, n);
	if (rc == 0)
		hint_resident(f, w, epoch);
	return rc;
}

/* With map_lock held and the range checked: copy out. */
static int load_locked(struct mmapio_file *f, uint64_t off, void *buf,
		       size_t n)
{
	MMAPIO__ASSERT_LOCKED(&f->map_lock);
	if (mmapio__unmapped(f))
		return pread_full(f->fd, buf, n, off);
	return mmapio__guarded_copy(buf, f->base + off, n);
}

int mmapio_read(struct mmapio_file *f, uint64_t off, void *buf, size_t len)
{
	int rc = 0;

	mmapio__rdlock(&f->map_lock);
	if (!mmapio__range_ok(off, len, atomic_load_explicit(&f->len,
							    memory_order_relaxed)))
		rc = -ERANGE;
	else if (len)
		rc = load_locked(f, off, buf, len);
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

int mmapio_write(struct mmapio_file *f, uint64_t off, const void *data,
		 size_t len)
{
	int rc = 0;

	if (!f->writable)
		return -EBADF;
	mmapio__rdlock(&f->map_lock);
	if (!mmapio__range_ok(off, len, atomic_load_explicit(&f->len,
							    memory_order_relaxed)))
		rc = -ERANGE;
	else if (len)
		rc = store_locked(f, off, data, len);
	mmapio__rwunlock(&f->map_lock);
	if (rc < 0 || !len)
		return rc;
	return mmapio__state_account(f, off, len);
}

/* The slow path of write_grow: grow under the write lock, then copy. */
static int write_growing(struct mmapio_file *f, uint64_t off,
			 const void *data, size_t len)
{
	uint64_t end = off + len;
	uint64_t cur;
	int rc;

	for (;;) {
		mmapio__wrlock(&f->map_lock);
		cur = atomic_load_explicit(&f->len, memory_order_relaxed);
		rc = 0;
		if (end > cur)
			rc = mmapio__grow_locked(f, end, off > cur ? off : cur);
		if (rc == 0)
			rc = store_locked(f, off, data, len);
		mmapio__rwunlock(&f->map_lock);
		if (rc != -EBUSY)
			break;
		/* -EDEADLK: this thread holds a view of f itself. */
		rc = mmapio__wait_unpinned(f);
		if (rc < 0)
			break;
	}
	if (rc < 0)
		return rc;
	return mmapio__state_account(f, off, len);
}

int mmapio_write_grow(struct mmapio_file *f, uint64_t off, const void *data,
		      size_t len)
{
	uint64_t cur;
	int rc = 0;

	if (!f->writable)
		return -EBADF;
	if (len > UINT64_MAX - off)
		return -ERANGE;
	if (!len)
		/* Like pwrite(2) of nothing: never extends the file. */
		return 0;
	mmapio__rdlock(&f->map_lock);
	cur = atomic_load_explicit(&f->len, memory_order_relaxed);
	if (off + len <= cur)
		rc = store_locked(f, off, data, len);
	mmapio__rwunlock(&f->map_lock);
	if (off + len > cur) {
		/* Only a shared read-write file can change its length: the
		 * one error for that cause (mmapio.h). */
		if (f->anon || f->mode != MMAPIO_RW)
			return -ENOTSUP;
		if (off + len > INT64_MAX)
			return -EFBIG;
		return write_growing(f, off, data, len);
	}
	if (rc < 0)
		return rc;
	return mmapio__state_account(f, off, len);
}
