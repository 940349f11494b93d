/*
 * resize.c — changing the length of a file and its mapping, and the
 * allocation rule (docs/libmmapio.md).
 *
 * Design
 *   - Grow: extend the file first (fallocate mode 0 of the new range when
 *     preallocate is on, else ftruncate), then the mapping: inside the
 *     address-space reserve by mapping the new pages MAP_FIXED after the
 *     old ones (never moves); otherwise mremap in place, and only when that
 *     fails mremap MREMAP_MAYMOVE, which needs no view pinned. A mapping
 *     in several VMAs (parts locked or advised differently), which
 *     mremap refuses with EFAULT, is moved piece by piece (move_pieces).
 *   - Shrink: needs no view pinned; cut the mapping first (the reserve gets
 *     PROT_NONE pages back), then truncate the file. So the mapping never
 *     covers bytes past EOF that this object removed.
 *   - Views pin the mapping without holding map_lock. A remap that would
 *     move or cut the mapping while pinned returns -EBUSY; the caller drops
 *     map_lock, waits for the pins to drain (mmapio__wait_unpinned, pin.c)
 *     and starts over. A view holder can therefore still call mmapio_read
 *     while a resize waits for it. When the pins include the calling
 *     thread's own (it holds a view, or runs inside a chunk walk), the wait
 *     could never end: the remap fails with -EDEADLK instead, and a growth
 *     that extended the file first takes the extension back.
 *   - Length changes of a mapping whose length is fixed (RO, COW,
 *     anonymous) are -ENOTSUP, the one error for that cause.
 *   - Allocation rule: before bytes are stored into a range that may hold
 *     a hole, that range (page-aligned outward, capped at EOF) is allocated
 *     with fallocate(2) mode 0, so a full disk is -ENOSPC and not a SIGBUS.
 *     alloc_upto caches "no hole below X": a rewrite of allocated data costs
 *     no syscall. mmapio_refresh rescans from 0 (holes punched from
 *     outside), except after pure growth with no hole below the old end,
 *     where only the new part is scanned (appends through the fd). Where fallocate is EOPNOTSUPP, preallocate is switched off
 *     for the file and the SIGBUS guard is the fallback (-EIO).
 *   - Holes are found with FIEMAP where the file system has it: it counts
 *     fallocated-but-unwritten (and delayed-allocation) extents as
 *     allocated, which they are, where SEEK_HOLE reports them as holes
 *     (ext4, xfs) and is slow on them (it scans the page cache). Without
 *     FIEMAP (tmpfs), SEEK_HOLE.
 *
 *   - A file without a mapping (f->unmapped) takes the same paths: the
 *     file is extended, allocated and truncated alike, and only the
 *     mapping steps are skipped (len alone follows the file).
 *
 * Invariants: mapped == page_up(len) (0 when unmapped); base..base+mapped
 * maps the file (inside a reserve of `reserved` bytes when non-zero);
 * alloc_upto <= len.
 *
 * Locking: everything here runs with map_lock held for writing, except
 * mmapio__prepare_write (read side suffices: it only reads base/len and
 * moves alloc_upto up by CAS) and mmapio__wait_unpinned (no lock).
 */
#include "internal.h"
#include "sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Extents asked for per FIEMAP call. */
#define FIEMAP_BATCH 32

/* With map_lock held for writing: no new pin can appear meanwhile.
 * Waiting for the pins is pin.c's (mmapio__wait_unpinned). */
static bool is_pinned(struct mmapio_file *f)
{
	return atomic_load(&f->pins) != 0;
}

static void hint_hugepages(struct mmapio_file *f)
{
	/* A hint: kernels without THP answer EINVAL, which changes nothing. */
	if (f->hugepages && f->mapped)
		madvise(f->base, f->mapped, MADV_HUGEPAGE);
}

/* One piece moved by move_pieces: at from before, at to now. */
struct moved_piece {
	uint8_t *from, *to;
	size_t len;
};

/* Puts the pieces move_pieces moved back where they were. */
static void unmove_pieces(const struct moved_piece *m, size_t n)
{
	while (n--)
		(void)mremap(m[n].to, m[n].len, m[n].len,
			     MREMAP_MAYMOVE | MREMAP_FIXED, m[n].from);
}

/*
 * Moves [base, base + have) to a new place with room for want bytes and
 * maps the file's [have, want) behind it; returns the new base or
 * MAP_FAILED (errno set; nothing changed). For a mapping made of several
 * VMAs: a part of it locked (mmapio_lock) or advised differently
 * (mmapio_advise) is a VMA of its own, and mremap refuses to move or grow
 * a range across VMAs (EFAULT). Each piece is moved by itself (from the
 * current offset, a range mremap takes, found by halving; pieces of one
 * VMA merge again where they land), so it keeps its lock and advice. A
 * rare path: only a grown mapping whose pages are not all alike and that
 * cannot grow in place.
 */
static void *move_pieces(struct mmapio_file *f, size_t have, size_t want)
{
	size_t ps = mmapio_page_size(), off = 0, n = 0, cap = 16;
	struct moved_piece *m = malloc(cap * sizeof(*m));
	uint8_t *dst;
	int err = 0;

	if (!m)
		return MAP_FAILED;
	dst = mmap(NULL, want, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (dst == MAP_FAILED) {
		free(m);
		return MAP_FAILED;
	}
	while (off < have && !err) {
		size_t len = have - off;
		void *p;

		for (;;) {
			p = mremap(f->base + off, len, len,
				   MREMAP_MAYMOVE | MREMAP_FIXED, dst + off);
			if (p != MAP_FAILED || errno != EFAULT || len == ps)
				break;
			len = ((len / 2) + ps - 1) & ~(ps - 1);
		}
		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		if (n == cap) {
			struct moved_piece *more = realloc(m, 2 * cap *
							   sizeof(*m));

			if (!more) {
				err = ENOMEM;
				unmove_pieces(&(struct moved_piece){
					f->base + off, dst + off, len }, 1);
				break;
			}
			m = more;
			cap *= 2;
		}
		m[n++] = (struct moved_piece){ f->base + off, dst + off, len };
		off += len;
	}
	if (!err && mmapio__sys.mmap(dst + have, want - have, f->prot,
				     f->map_flags | MAP_FIXED, f->fd,
				     (off_t)have) == MAP_FAILED)
		err = errno;
	if (err) {
		unmove_pieces(m, n);
		munmap(dst + off, want - off);	/* the rest of the room */
		free(m);
		errno = err;
		return MAP_FAILED;
	}
	free(m);
	return dst;
}

/* Grows the mapping to cover new_len (> len; the file is already that
 * long). */
static int remap_grow(struct mmapio_file *f, uint64_t new_len)
{
	size_t want = mmapio__page_up(new_len);
	size_t have = f->mapped;
	void *p;

	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);
	if (want == have || mmapio__unmapped(f))
		goto done;
	if (f->reserved && want <= f->reserved) {
		p = mmapio__sys.mmap(f->base + have, want - have, f->prot,
				    f->map_flags | MAP_FIXED, f->fd,
				    (off_t)have);
		if (p == MAP_FAILED)
			return -errno;
	} else {
		if (f->reserved) {
			/* Outgrown: give the unused reserve back and become a
			 * plain mapping that mremap may extend or move. */
			munmap(f->base + have, f->reserved - have);
			f->reserved = 0;
			if (!have)
				f->base = NULL;
		}
		if (!f->base) {
			p = mmapio__sys.mmap(NULL, want, f->prot, f->map_flags,
					    f->fd, 0);
		} else {
			p = mremap(f->base, have, want, 0);
			if (p == MAP_FAILED) {
				if (is_pinned(f))
					return mmapio__pinned_error(f);
				p = mremap(f->base, have, want, MREMAP_MAYMOVE);
			}
			/* A mapping of several VMAs (move_pieces). */
			if (p == MAP_FAILED && errno == EFAULT)
				p = move_pieces(f, have, want);
		}
		if (p == MAP_FAILED)
			return -errno;
		f->base = p;
	}
	f->mapped = want;
	hint_hugepages(f);
done:
	atomic_store_explicit(&f->len, new_len, memory_order_release);
	return 0;
}

/* Shrinks the mapping to new_len (< len). */
static int remap_shrink(struct mmapio_file *f, uint64_t new_len)
{
	size_t want = mmapio__page_up(new_len);
	size_t have = f->mapped;
	void *p;

	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);
	if (is_pinned(f))
		return mmapio__pinned_error(f);
	if (want != have && !mmapio__unmapped(f)) {
		if (f->reserved) {
			p = mmap(f->base + want, have - want, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				 MAP_FIXED, -1, 0);
			if (p == MAP_FAILED)
				return -errno;
		} else if (!want) {
			munmap(f->base, have);
			f->base = NULL;
		} else {
			/* Shrinking in place never moves. */
			p = mremap(f->base, have, want, 0);
			if (p == MAP_FAILED)
				return -errno;
		}
		f->mapped = want;
		if (atomic_load(&f->locked_bytes) > want)
			atomic_store(&f->locked_bytes, want);
	}
	atomic_store_explicit(&f->len, new_len, memory_order_release);
	mmapio__state_truncated(f, new_len);
	if (atomic_load(&f->alloc_upto) > new_len)
		atomic_store(&f->alloc_upto, new_len);
	return 0;
}

/* Raises alloc_upto to at least upto (never lowers it). */
static void advance_alloc(struct mmapio_file *f, uint64_t upto)
{
	uint64_t cur = atomic_load_explicit(&f->alloc_upto,
					    memory_order_relaxed);

	while (cur < upto &&
	       !atomic_compare_exchange_weak(&f->alloc_upto, &cur, upto))
		;
}

/* Extends the file to new_len. Returns 1 when this call changed the size,
 * 0 when the file was already that long (grown from outside), -errno. */
static int extend_file(struct mmapio_file *f, uint64_t new_len,
		       uint64_t alloc_from)
{
	uint64_t old = atomic_load_explicit(&f->len, memory_order_relaxed);
	uint64_t start = alloc_from & ~((uint64_t)mmapio_page_size() - 1);
	struct stat st;

	if (atomic_load(&f->preallocate) && alloc_from < new_len) {
		/* Mode 0 sets the size to start + len when that is larger. */
		if (mmapio__sys.fallocate(f->fd, 0, (off_t)start,
					 (off_t)(new_len - start)) == 0) {
			if (start <= old &&
			    atomic_load(&f->alloc_upto) >= old)
				advance_alloc(f, new_len);
			return 1;
		}
		if (errno != EOPNOTSUPP)
			return -errno;
		atomic_store(&f->preallocate, false);
	}
	/* Never shrink a file someone else grew meanwhile. */
	if (fstat(f->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size >= new_len)
		return 0;
	if (mmapio__sys.ftruncate(f->fd, (off_t)new_len) < 0)
		return -errno;
	return 1;
}

int mmapio__grow_locked(struct mmapio_file *f, uint64_t new_len,
		       uint64_t alloc_from)
{
	uint64_t old = atomic_load_explicit(&f->len, memory_order_relaxed);
	int extended, rc;

	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);
	extended = extend_file(f, new_len, alloc_from);

	if (extended < 0)
		return extended;
	rc = remap_grow(f, new_len);
	/* Undo only our own extension (-EBUSY retries with it in place;
	 * -EDEADLK does not retry: the file keeps the length its mapping
	 * shows). */
	if (rc < 0 && rc != -EBUSY && extended)
		mmapio__sys.ftruncate(f->fd, (off_t)old);
	return rc;
}

/* FIEMAP: the first offset >= from (and < len) that no extent covers,
 * or len. Returns -EOPNOTSUPP where the file system has no FIEMAP. */
static int64_t fiemap_first_hole(int fd, uint64_t from, uint64_t len)
{
	/* struct fiemap ends in a flexible array: room for FIEMAP_BATCH
	 * extents after it (a union keeps the alignment, ISO C). */
	union {
		struct fiemap map;
		unsigned char room[sizeof(struct fiemap) +
				   FIEMAP_BATCH * sizeof(struct fiemap_extent)];
	} req;
	uint64_t pos = from;

	while (pos < len) {
		memset(&req, 0, sizeof(req));
		req.map.fm_start = pos;
		req.map.fm_length = len - pos;
		req.map.fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, &req.map) < 0)
			return errno == ENOTTY ? -EOPNOTSUPP : -errno;
		if (req.map.fm_mapped_extents == 0)
			return (int64_t)pos;
		for (uint32_t i = 0; i < req.map.fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &req.map.fm_extents[i];

			if (e->fe_logical > pos)
				return (int64_t)pos;
			if (e->fe_logical + e->fe_length > pos)
				pos = e->fe_logical + e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				return (int64_t)(pos < len ? pos : len);
		}
	}
	return (int64_t)len;
}

/* The first hole at or after from, or len: FIEMAP, else SEEK_HOLE.
 * Returns -errno (-ENXIO: the file was cut below from). */
static int64_t first_hole(struct mmapio_file *f, uint64_t from, uint64_t len)
{
	int64_t hole;

	if (atomic_load_explicit(&f->fiemap_ok, memory_order_relaxed)) {
		hole = fiemap_first_hole(f->fd, from, len);
		if (hole != -EOPNOTSUPP)
			return hole;
		atomic_store(&f->fiemap_ok, false);
	}
	hole = lseek(f->fd, (off_t)from, SEEK_HOLE);
	return hole < 0 ? -errno : hole;
}

/* The slow path of mmapio__prepare_write: does a hole intersect
 * [off, end)? If so allocate the range. Then move alloc_upto forward over
 * what is now known allocated (and, when [off, end) was allocated already,
 * over whatever is allocated from alloc_upto on). */
static int __attribute__((noinline))
allocate_holes(struct mmapio_file *f, uint64_t off, uint64_t end)
{
	uint64_t page = mmapio_page_size();
	uint64_t len = atomic_load_explicit(&f->len, memory_order_relaxed);
	uint64_t start = off, covered, upto;
	int64_t hole;

	hole = first_hole(f, off, len);
	if (hole < 0)
		/* ENXIO: the file was cut below off from outside; the copy
		 * will meet the guard. */
		return hole == -ENXIO ? 0 : (int)hole;
	covered = (uint64_t)hole;
	upto = atomic_load(&f->alloc_upto);
	if (covered >= end && off > upto) {
		/* No hole here: maybe none below either (a file laid out
		 * by fallocate, whose writes come in random order). */
		hole = first_hole(f, upto, len);
		if (hole > 0)
			advance_alloc(f, (uint64_t)hole);
		return 0;
	}
	if (covered < end) {
		start = covered & ~(page - 1);
		covered = (end + page - 1) & ~(page - 1);
		if (covered > len)
			covered = len;
		if (mmapio__sys.fallocate(f->fd, 0, (off_t)start,
					 (off_t)(covered - start)) < 0) {
			if (errno != EOPNOTSUPP)
				return -errno;
			atomic_store(&f->preallocate, false);
			return 0;
		}
		if (start > off)
			start = off;
	}
	/* [start, covered) is allocated; it extends [0, alloc_upto) when the
	 * two touch. */
	if (start <= atomic_load(&f->alloc_upto))
		advance_alloc(f, covered < len ? covered : len);
	return 0;
}

int mmapio__prepare_write(struct mmapio_file *f, uint64_t off, uint64_t n)
{
	uint64_t end = off + n;

	MMAPIO__ASSERT_LOCKED(&f->map_lock);
	if (!n || !atomic_load_explicit(&f->preallocate, memory_order_relaxed) ||
	    end <= atomic_load_explicit(&f->alloc_upto, memory_order_relaxed))
		return 0;
	return allocate_holes(f, off, end);
}

void mmapio__reset_alloc_locked(struct mmapio_file *f)
{
	uint64_t len = atomic_load_explicit(&f->len, memory_order_relaxed);
	int64_t hole = 0;

	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);
	if (atomic_load(&f->preallocate) && len) {
		hole = first_hole(f, 0, len);
		if (hole < 0)
			hole = 0;
	}
	atomic_store(&f->alloc_upto,
		     (uint64_t)hole < len ? (uint64_t)hole : len);
}

/* After growth from old to len: alloc_upto (>= old) moves over what is
 * allocated of the new part; written: the caller's own write covered all
 * of it (allocated or reserved by that write: no scan). map_lock held
 * exclusively. */
static void extend_alloc_locked(struct mmapio_file *f, uint64_t old,
				uint64_t len, bool written)
{
	int64_t hole;

	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);
	if (!atomic_load(&f->preallocate))
		return;
	hole = written ? (int64_t)len : first_hole(f, old, len);
	if (hole > 0)
		advance_alloc(f, (uint64_t)hole < len ? (uint64_t)hole : len);
}

/* Sets the length; growth allocates the new range (preallocate) unless
 * sparse, which extends with a hole as ftruncate(2) does. */
static int set_length(struct mmapio_file *f, uint64_t size, bool sparse)
{
	uint64_t old;
	int rc;

	/* One error for "this mapping's length cannot change", whatever the
	 * reason (mmapio.h). */
	if (f->anon || f->mode != MMAPIO_RW)
		return -ENOTSUP;
	if (size > INT64_MAX)
		return -EFBIG;
	for (;;) {
		mmapio__wrlock(&f->map_lock);
		old = atomic_load_explicit(&f->len, memory_order_relaxed);
		if (size > old) {
			rc = mmapio__grow_locked(f, size, sparse ? size : old);
		} else if (size < old) {
			rc = remap_shrink(f, size);
			if (rc == 0 &&
			    mmapio__sys.ftruncate(f->fd, (off_t)size) < 0) {
				rc = -errno;
				/* The file kept its length: map all of it
				 * again (nothing is pinned). If even that
				 * fails, the shorter mapping is still safe. */
				(void)remap_grow(f, old);
			}
		} else {
			rc = 0;
		}
		mmapio__rwunlock(&f->map_lock);
		if (rc != -EBUSY)
			return rc;
		rc = mmapio__wait_unpinned(f);
		if (rc < 0)
			return rc;
	}
}

int mmapio_resize(struct mmapio_file *f, uint64_t size)
{
	return set_length(f, size, false);
}

int mmapio_truncate(struct mmapio_file *f, uint64_t size)
{
	return set_length(f, size, true);
}

/* mmapio_refresh and mmapio_refresh_written: written says the caller
 * wrote [off, end) through the descriptor. */
static int64_t refresh(struct mmapio_file *f, bool written, uint64_t off,
		       uint64_t end, bool trusted, struct stat *out)
{
	struct stat st;
	uint64_t old, size;
	int rc;

	if (f->anon)
		return -EINVAL;
	for (;;) {
		mmapio__wrlock(&f->map_lock);
		old = atomic_load_explicit(&f->len, memory_order_relaxed);
		if (trusted) {
			/* The caller's write is the only change: the file
			 * ends where it ended, or where that write did. */
			size = end > old ? end : old;
		} else if (fstat(f->fd, &st) < 0) {
			rc = -errno;
			mmapio__rwunlock(&f->map_lock);
			return rc;
		} else {
			size = (uint64_t)st.st_size;
		}
		if (size > old)
			rc = remap_grow(f, size);
		else if (size < old)
			rc = remap_shrink(f, size);
		else
			rc = 0;
		if (rc == 0 && size > old &&
		    atomic_load(&f->alloc_upto) >= old)
			/* Grown (an append through the fd): only the new part
			 * can hold holes, so a file that is appended to all
			 * the time is not scanned from 0 at every append; and
			 * not at all when the caller's own write, from at most
			 * the old end, made all of it. */
			extend_alloc_locked(f, old, size,
					    written && off <= old && end >= size);
		else if (rc == 0)
			mmapio__reset_alloc_locked(f);
		mmapio__rwunlock(&f->map_lock);
		if (rc == -EBUSY) {
			rc = mmapio__wait_unpinned(f);
			if (rc < 0)
				return rc;
			continue;
		}
		if (out && !trusted)
			*out = st;
		return rc < 0 ? rc : (int64_t)size;
	}
}

int64_t mmapio_refresh(struct mmapio_file *f)
{
	return refresh(f, false, 0, 0, false, NULL);
}

int64_t mmapio_refresh_written(struct mmapio_file *f, uint64_t off,
			       uint64_t len, struct stat *st)
{
	if (len > UINT64_MAX - off)
		return -EINVAL;
	return refresh(f, len > 0, off, off + len, false, st);
}

int64_t mmapio_note_written(struct mmapio_file *f, uint64_t off,
			    uint64_t len)
{
	if (len > UINT64_MAX - off)
		return -EINVAL;
	return refresh(f, len > 0, off, off + len, true, NULL);
}
