/*
 * view.c — zero-copy access (docs/libmmapio.md): pinned views, raw pointers
 * with declared writes, chunk iteration (callback and cursor) and segments.
 *
 * Design
 *   - A view is created under map_lock (read side): bounds are checked and
 *     the pin count raised before the lock is dropped, so a remap that
 *     would move or cut the mapping (which checks pins under the write
 *     lock) waits for the view's release. Holding a view holds no lock: the
 *     holder may call mmapio_read and friends, but must not resize the same
 *     file itself (it would wait for its own pin).
 *   - A view also holds a reference to its file, so the mapping outlives
 *     every view even when other threads drop their references meanwhile
 *     (a FUSE release racing the reply that is still being sent from a
 *     view); the view's release may then be the last close.
 *   - A mutable view accounts its whole range as written on release. Like
 *     a mutable walk, it applies the allocation rule to its range when it
 *     is created, so a full disk is -ENOSPC there, not a SIGBUS later.
 *   - The chunk walk pins the mapping once, then calls the callback for
 *     each chunk under the SIGBUS guard; a fault returns -EIO. A mutable
 *     walk accounts the chunks the callback saw, once, after the walk.
 *   - The cursor does not pin (caller's contract); each step re-reads base
 *     and len under the read lock, so a grow that moved the mapping is
 *     followed and a shrink is -ERANGE.
 *   - Segments keep (off, len) and a reference; every use re-validates
 *     against the file's current length through mmapio_read/mmapio_write.
 *     Releasing one clears it first, so a second release does nothing.
 *   - An atomic view is a view of one naturally aligned 4- or 8-byte
 *     integer (the mapping's base is page-aligned, so the address is
 *     aligned too): a pointer the caller may use as an _Atomic object for
 *     as long as it holds the view, since the pin keeps any remap that
 *     would move or cut the mapping waiting. Mutable when the file is
 *     writable, accounted as one write of its bytes at release.
 *   - Pins are recorded per thread (pin.c): a view holder whose own
 *     resize or growth would have to wait for its view gets -EDEADLK.
 *   - A file without a mapping (f->unmapped) has no bytes to point at:
 *     views, walks, cursors, segments and declared raw writes are -ENODEV,
 *     the raw pointers NULL (its base is NULL).
 *
 * Threads: all functions are safe to call concurrently on one file; one
 * view/cursor/segment object belongs to one thread at a time.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* Checks the range and pins under the read lock; returns the address of
 * off (NULL for an empty range of an unmapped file) through *data. A range
 * that will be written first gets the allocation rule (-ENOSPC here rather
 * than a SIGBUS in the caller's stores). */
static int pin_range(struct mmapio_file *f, uint64_t off, uint64_t len,
		     bool for_write, uint8_t **data, struct mmapio__pin **rec)
{
	int rc = 0;

	mmapio__rdlock(&f->map_lock);
	if (!mmapio__range_ok(off, len, atomic_load_explicit(&f->len,
							    memory_order_relaxed)))
		rc = -ERANGE;
	else if (for_write)
		rc = mmapio__prepare_write(f, off, len);
	if (rc == 0) {
		*rec = mmapio__pin(f);
		*data = f->base ? f->base + off : NULL;
	}
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

static int make_view(struct mmapio_file *f, uint64_t off, size_t len,
		     bool writable, struct mmapio_view *v)
{
	struct mmapio__pin *rec = NULL;
	uint8_t *data = NULL;
	int rc;

	if (mmapio__unmapped(f))
		return -ENODEV;
	rc = pin_range(f, off, len, writable, &data, &rec);
	if (rc < 0)
		return rc;
	v->file = mmapio_ref(f);
	v->priv = rec;
	v->data = data;
	v->off = off;
	v->len = len;
	v->writable = writable;
	return 0;
}

int mmapio_view(struct mmapio_file *f, uint64_t off, size_t len,
		struct mmapio_view *v)
{
	return make_view(f, off, len, false, v);
}

int mmapio_view_mut(struct mmapio_file *f, uint64_t off, size_t len,
		    struct mmapio_view *v)
{
	if (!f->writable)
		return -EBADF;
	return make_view(f, off, len, true, v);
}

int mmapio_view_release(struct mmapio_view *v)
{
	struct mmapio_file *f = v->file;
	struct mmapio__pin *rec = v->priv;
	uint64_t off = v->off;
	size_t len = v->len;
	bool writable = v->writable;
	int rc = 0, crc;

	if (!f)
		return 0;
	memset(v, 0, sizeof(*v));
	mmapio__unpin(f, rec);
	if (writable && len)
		rc = mmapio__state_account(f, off, len);
	/* The view's own reference; the last one closes f here. */
	crc = mmapio_close(f);
	return rc < 0 ? rc : crc;
}

const void *mmapio_ptr(const struct mmapio_file *f)
{
	return mmapio_len(f) ? f->base : NULL;
}

void *mmapio_mut_ptr(struct mmapio_file *f)
{
	return f->writable && mmapio_len(f) ? f->base : NULL;
}

int mmapio_declare_written(struct mmapio_file *f, uint64_t off, size_t len)
{
	if (mmapio__unmapped(f))
		return -ENODEV;
	if (!f->writable)
		return -EBADF;
	if (!mmapio__range_ok(off, len, mmapio_len(f)))
		return -ERANGE;
	if (!len)
		return 0;
	return mmapio__state_account(f, off, len);
}

/* One walk, read-only or mutable; runs under the guard. */
struct walk {
	uint8_t *base;         /* address of offset `off` */
	uint64_t off, len;
	size_t chunk;
	mmapio_chunk_fn cb;
	mmapio_chunk_mut_fn cb_mut;
	void *ctx;
	uint64_t seen;         /* bytes handed to the callback so far */
};

static int walk_chunks(void *arg)
{
	struct walk *w = arg;
	uint64_t pos = 0;
	int rc = 0;

	while (pos < w->len && rc == 0) {
		size_t n = w->len - pos < w->chunk ? (size_t)(w->len - pos)
						   : w->chunk;

		w->seen = pos + n;
		if (w->cb_mut)
			rc = w->cb_mut(w->base + pos, n, w->off + pos, w->ctx);
		else
			rc = w->cb(w->base + pos, n, w->off + pos, w->ctx);
		pos += n;
	}
	return rc;
}

static int walk(struct mmapio_file *f, struct walk *w)
{
	struct mmapio__pin *rec = NULL;
	int rc, arc;

	if (mmapio__unmapped(f))
		return -ENODEV;
	if (!w->chunk)
		w->chunk = mmapio_page_size();
	rc = pin_range(f, w->off, w->len, w->cb_mut != NULL, &w->base, &rec);
	if (rc < 0)
		return rc;
	w->seen = 0;
	if (w->len)
		rc = mmapio__guarded_call(walk_chunks, w);
	mmapio__unpin(f, rec);
	if (w->cb_mut && w->seen) {
		arc = mmapio__state_account(f, w->off, w->seen);
		if (rc == 0)
			rc = arc;
	}
	return rc;
}

int mmapio_for_each_chunk(struct mmapio_file *f, uint64_t off, uint64_t len,
			  size_t chunk, mmapio_chunk_fn cb, void *ctx)
{
	struct walk w = { .off = off, .len = len, .chunk = chunk, .cb = cb,
			  .ctx = ctx };

	if (!cb)
		return -EINVAL;
	return walk(f, &w);
}

int mmapio_for_each_chunk_mut(struct mmapio_file *f, uint64_t off,
			      uint64_t len, size_t chunk,
			      mmapio_chunk_mut_fn cb, void *ctx)
{
	struct walk w = { .off = off, .len = len, .chunk = chunk,
			  .cb_mut = cb, .ctx = ctx };

	if (!cb)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	return walk(f, &w);
}

int mmapio_cursor_init(struct mmapio_cursor *c, struct mmapio_file *f,
		       uint64_t off, uint64_t len, size_t chunk)
{
	if (mmapio__unmapped(f))
		return -ENODEV;
	if (!mmapio__range_ok(off, len, mmapio_len(f)))
		return -ERANGE;
	c->file = f;
	c->next = off;
	c->end = off + len;
	c->chunk = chunk ? chunk : mmapio_page_size();
	return 0;
}

int mmapio_cursor_next(struct mmapio_cursor *c, const void **data, size_t *len)
{
	struct mmapio_file *f = c->file;
	uint64_t left = c->end - c->next;
	size_t n;
	int rc = 1;

	if (!left)
		return 0;
	n = left < c->chunk ? (size_t)left : c->chunk;
	mmapio__rdlock(&f->map_lock);
	if (!mmapio__range_ok(c->next, n, atomic_load_explicit(&f->len,
							      memory_order_relaxed)))
		rc = -ERANGE;
	else
		*data = f->base + c->next;
	mmapio__rwunlock(&f->map_lock);
	if (rc < 0)
		return rc;
	*len = n;
	c->next += n;
	return 1;
}

int mmapio_segment(struct mmapio_file *f, uint64_t off, uint64_t len,
		   struct mmapio_segment *out)
{
	if (mmapio__unmapped(f))
		return -ENODEV;
	if (!mmapio__range_ok(off, len, mmapio_len(f)))
		return -ERANGE;
	out->file = mmapio_ref(f);
	out->off = off;
	out->len = len;
	return 0;
}

int mmapio_segment_read(const struct mmapio_segment *s, uint64_t off,
			void *buf, size_t len)
{
	if (!mmapio__range_ok(off, len, s->len))
		return -ERANGE;
	return mmapio_read(s->file, s->off + off, buf, len);
}

int mmapio_segment_write(const struct mmapio_segment *s, uint64_t off,
			 const void *data, size_t len)
{
	if (!mmapio__range_ok(off, len, s->len))
		return -ERANGE;
	return mmapio_write(s->file, s->off + off, data, len);
}

int mmapio_segment_release(struct mmapio_segment *s)
{
	struct mmapio_file *f = s->file;

	if (!f)
		return 0;
	/* Cleared first, as a view is: a second release does nothing. */
	memset(s, 0, sizeof(*s));
	return mmapio_close(f);
}

/* A view of one naturally aligned integer of `width` bytes at off. */
static int atomic_view(struct mmapio_file *f, uint64_t off, size_t width,
		       struct mmapio_view *v)
{
	if (mmapio__unmapped(f))
		return -ENODEV;
	if (off % width)
		return -EINVAL;
	return make_view(f, off, width, f->writable, v);
}

int mmapio_atomic_view_u32(struct mmapio_file *f, uint64_t off,
			   struct mmapio_view *v)
{
	return atomic_view(f, off, 4, v);
}

int mmapio_atomic_view_u64(struct mmapio_file *f, uint64_t off,
			   struct mmapio_view *v)
{
	return atomic_view(f, off, 8, v);
}
