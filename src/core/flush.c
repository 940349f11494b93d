/*
 * flush.c — accounting writes and making them durable (docs/durability.md):
 * the policy decision after each write, full and ranged flushes, the sticky
 * error, mmapio_flush/_range, schedule_flush, set_policy and external
 * writes.
 *
 * How a flush is made durable (measured on ext4, see docs/durability.md):
 *   full flush   fdatasync(fd). On Linux msync(MS_SYNC) is
 *                vfs_fsync_range(file, start, end, datasync=1), so
 *                fdatasync over the whole file is the same operation; it
 *                also covers pages written through other mappings of the
 *                file, writes made around the mapping (pwrite fallback,
 *                copy_file_range, fallocate) and the size, needs no
 *                map_lock, and one call costs less than msync + fdatasync.
 *   ranged flush msync(MS_SYNC) of the page-aligned range (under map_lock
 *                for reading); plus fdatasync when an external write is
 *                pending. Used by mmapio_flush_range and by the always
 *                policy for a write through the mapping. msync's datasync
 *                commit includes the metadata needed to read the range
 *                back (the size after a growing write) on ext4/xfs/btrfs.
 *                A file without a mapping has nothing to msync: its
 *                writes are all external (state.c), so every ranged flush
 *                of it is fdatasync.
 *   never MS_ASYNC (a no-op on Linux). mmapio_schedule_flush is
 *   sync_file_range(WRITE): it starts write-back only, is NOT durable and
 *   debits nothing.
 *
 * Debit protocol (one flush of a file at a time: fstate.flush_lock):
 *   1. under fstate.lock, snapshot and clear what the flush will cover
 *      (all pages, or the range's pages) and bump flush_gen;
 *   2. sync with fstate.lock dropped, so writers keep accounting;
 *   3. under fstate.lock, record the result.
 *   A write is accounted after its bytes landed, so a write accounted
 *   before step 1 is covered by the sync of step 2, and one accounted
 *   after step 1 stays pending (at worst it was synced too and is counted
 *   once more: the count only errs towards flushing early). Nothing is
 *   lost from the counts.
 *
 *   On failure the pages are NOT re-marked: Linux clears the dirty state
 *   of pages whose write-back failed and reports the error once per file
 *   description (errseq), so a retry would sync nothing and succeed. The
 *   loss is recorded as the sticky error instead, which every later flush
 *   of the file, and every write whose policy flush runs, returns until
 *   the last mapping of the file is released (state.c). flush_errors
 *   counts failed syncs.
 *
 *   A writer that reached a threshold and finds, once it holds flush_lock,
 *   that another full flush took its snapshot after this write was
 *   accounted (flush_gen moved) does not sync again: its bytes were
 *   covered; it returns the sticky error (0 if none).
 *
 * Observer: every recorded sync is reported to the process-wide flush
 * observer (mmapio_set_flush_observer) after fstate.lock is dropped, with
 * the bytes the flush debited, so a caller can keep totals that outlive
 * the file's state.
 *
 * Locking: see state.h. Order flush_lock -> map_lock (read) -> fstate.lock
 * -> flusher.lock.
 */
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>

enum flush_action { ACT_NONE, ACT_RANGE, ACT_FULL };

static _Atomic(mmapio_flush_observer_fn) flush_observer;

void mmapio_set_flush_observer(mmapio_flush_observer_fn fn)
{
	atomic_store(&flush_observer, fn);
}

void mmapio__state_publish_pending(struct mmapio_fstate *s)
{
	MMAPIO__ASSERT_HELD(&s->lock);
	atomic_store_explicit(&s->st_pending_bytes,
			      s->accum.dirty_pages << s->accum.page_shift,
			      memory_order_relaxed);
	atomic_store_explicit(&s->st_pending_writes, s->pending_writes_n,
			      memory_order_relaxed);
}

static int64_t ms_to_ns(uint64_t ms)
{
	return (int64_t)ms * 1000000;
}

static int sync_whole(struct mmapio_file *f)
{
	return mmapio__sys.fdatasync(f->fd) ? -errno : 0;
}

/* msync(MS_SYNC) of the pages holding [off, off + len), clamped to the
 * current mapping. */
static int sync_range(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	uint64_t ps = mmapio_page_size(), start, end, flen;
	int rc = 0;

	mmapio__rdlock(&f->map_lock);
	flen = atomic_load(&f->len);
	end = off + len < flen ? off + len : flen;
	start = off & ~(ps - 1);
	if (f->base && start < end &&
	    mmapio__sys.msync(f->base + start, (size_t)(end - start), MS_SYNC))
		rc = -errno;
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

/* Disarms the deadline once nothing is pending. s->lock held. */
static void state_went_clean(struct mmapio_fstate *s)
{
	MMAPIO__ASSERT_HELD(&s->lock);
	s->pending_writes_n = 0;
	s->external_pending = false;
	s->first_dirty_ns = 0;
	if (s->timer_armed) {
		mmapio__flusher_disarm(&s->timer);
		s->timer_armed = false;
	}
}

/* Records a sync's outcome (bytes: what it debited) and reports it to the
 * observer; returns what the flush reports: the sticky error if the file
 * has one (this or an earlier failure), else 0. */
static int record_sync(struct mmapio_fstate *s, int rc, uint64_t bytes,
		       int64_t t0, int64_t t1)
{
	mmapio_flush_observer_fn observe = atomic_load(&flush_observer);
	int ret;

	mmapio__mutex_lock(&s->lock);
	if (rc) {
		atomic_store_explicit(&s->st_flush_errors,
				      s->st_flush_errors + 1, memory_order_relaxed);
		if (!s->sticky) {
			s->sticky = rc;
			atomic_store_explicit(&s->st_sticky, rc, memory_order_relaxed);
		}
	} else {
		atomic_store_explicit(&s->st_flushes, s->st_flushes + 1,
				      memory_order_relaxed);
		atomic_store_explicit(&s->st_last_flush_ns, t1, memory_order_relaxed);
		atomic_store_explicit(&s->st_last_flush_duration_ns,
				      (uint64_t)(t1 - t0), memory_order_relaxed);
	}
	ret = s->sticky;
	mmapio__mutex_unlock(&s->lock);
	if (observe) {
		struct mmapio_flush_event ev = {
			.error = rc, .bytes = bytes,
			.duration_ns = t1 > t0 ? (uint64_t)(t1 - t0) : 0,
		};

		observe(&ev);
	}
	return ret;
}

int mmapio__flush_full_locked(struct mmapio_file *f, struct mmapio_fstate *s)
{
	uint64_t bytes;
	int64_t t0;
	int rc;

	MMAPIO__ASSERT_HELD(&s->flush_lock);
	mmapio__mutex_lock(&s->lock);
	bytes = s->accum.dirty_pages << s->accum.page_shift;
	mmapio__accum_clear_all(&s->accum);
	state_went_clean(s);
	s->flush_gen++;
	mmapio__state_publish_pending(s);
	mmapio__mutex_unlock(&s->lock);

	t0 = mmapio__sys.now_ns();
	rc = sync_whole(f);
	return record_sync(s, rc, bytes, t0, mmapio__sys.now_ns());
}

/* Makes the pages of [off, off + len) durable and debits exactly them;
 * external: the bytes went around the mapping (fdatasync). flush_lock held. */
static int flush_range_locked(struct mmapio_file *f, struct mmapio_fstate *s,
			      uint64_t off, uint64_t len, bool external)
{
	uint64_t dirty;
	int64_t t0;
	int rc;

	MMAPIO__ASSERT_HELD(&s->flush_lock);
	mmapio__mutex_lock(&s->lock);
	dirty = s->accum.dirty_pages;
	mmapio__accum_clear_range(&s->accum, off, len);
	dirty = (dirty - s->accum.dirty_pages) << s->accum.page_shift;
	external = external || s->external_pending || mmapio__unmapped(f);
	if (!s->accum.dirty_pages)
		state_went_clean(s);
	mmapio__state_publish_pending(s);
	mmapio__mutex_unlock(&s->lock);

	t0 = mmapio__sys.now_ns();
	rc = external ? 0 : sync_range(f, off, len);
	if (!rc && external)
		rc = sync_whole(f);
	return record_sync(s, rc, dirty, t0, mmapio__sys.now_ns());
}

/* Which flush the policy wants now; arms the ms deadline when the file
 * has pending writes and none is armed. s->lock held. */
static enum flush_action policy_decide(struct mmapio_fstate *s)
{
	const struct mmapio_policy *p = &s->policy;
	uint64_t pending_bytes = s->accum.dirty_pages << s->accum.page_shift;

	MMAPIO__ASSERT_HELD(&s->lock);
	if (!s->accum.dirty_pages && !s->pending_writes_n)
		return ACT_NONE;
	switch (p->kind) {
	case MMAPIO_POLICY_NEVER:
		return ACT_NONE;
	case MMAPIO_POLICY_ALWAYS:
		return ACT_FULL;
	case MMAPIO_POLICY_THRESHOLD:
		break;
	}
	if (p->bytes && pending_bytes >= p->bytes)
		return ACT_FULL;
	if (p->writes && s->pending_writes_n >= p->writes)
		return ACT_FULL;
	if (p->ms && !s->timer_armed) {
		int64_t deadline = s->first_dirty_ns + ms_to_ns(p->ms);

		if (deadline <= mmapio__sys.now_ns())
			return ACT_FULL;
		if (mmapio__flusher_arm(&s->timer, deadline))
			return ACT_FULL;   /* no flusher thread: keep the bound */
		s->timer_armed = true;
	}
	return ACT_NONE;
}

/* Runs the flush an account or set_policy asked for. gen: flush_gen when
 * the request was made. */
static int flush_run(struct mmapio_file *f, struct mmapio_fstate *s,
		     enum flush_action act, uint64_t gen, uint64_t off,
		     uint64_t len, bool external)
{
	int rc;

	mmapio__mutex_lock(&s->flush_lock);
	mmapio__mutex_lock(&s->lock);
	if (s->flush_gen != gen) {
		/* A full flush snapshotted after our request: covered. */
		rc = s->sticky;
		mmapio__mutex_unlock(&s->lock);
	} else {
		mmapio__mutex_unlock(&s->lock);
		if (act == ACT_RANGE)
			rc = flush_range_locked(f, s, off, len, external);
		else
			rc = mmapio__flush_full_locked(f, s);
	}
	mmapio__mutex_unlock(&s->flush_lock);
	return rc;
}

/* Pages touched by [off, off + len). */
static uint64_t range_pages(const struct mmapio_fstate *s, uint64_t off,
			    uint64_t len)
{
	unsigned sh = s->accum.page_shift;

	if (!len)
		return 0;
	if (off + len < off)
		len = UINT64_MAX - off;
	return ((off + len - 1) >> sh) - (off >> sh) + 1;
}

int mmapio__flush_account(struct mmapio_file *f, uint64_t off, uint64_t len,
		  bool external)
{
	struct mmapio_fstate *s = f->state;
	enum flush_action act = ACT_NONE;
	uint64_t gen, flen;
	int64_t added = 0;

	mmapio__mutex_lock(&s->lock);
	atomic_store_explicit(&s->st_bytes_written, s->st_bytes_written + len,
			      memory_order_relaxed);
	atomic_store_explicit(&s->st_writes, s->st_writes + 1,
			      memory_order_relaxed);
	if (s->private_state) {
		mmapio__mutex_unlock(&s->lock);
		return 0;
	}
	if (!s->accum.dirty_pages && !s->pending_writes_n)
		s->first_dirty_ns = mmapio__sys.now_ns();
	flen = atomic_load_explicit(&f->len, memory_order_relaxed);
	added = mmapio__accum_mark(&s->accum, off, len, flen > off + len ? flen : off + len);
	s->pending_writes_n++;
	s->external_pending |= external;

	if (added < 0) {
		/* No memory to track these pages: make them durable now. */
		act = ACT_FULL;
	} else if (s->policy.kind == MMAPIO_POLICY_ALWAYS) {
		/* Just this write's pages, unless older ones are pending too
		 * (left by another policy before an open switched it). */
		act = s->accum.dirty_pages > range_pages(s, off, len) ? ACT_FULL
								      : ACT_RANGE;
	} else {
		act = policy_decide(s);
	}
	gen = s->flush_gen;
	mmapio__state_publish_pending(s);
	mmapio__mutex_unlock(&s->lock);

	if (act == ACT_NONE)
		return 0;
	return flush_run(f, s, act, gen, off, len, external);
}

static int check_range(const struct mmapio_file *f, uint64_t off, uint64_t len)
{
	uint64_t flen = atomic_load(&f->len);

	if (off + len < off || off + len > flen)
		return -ERANGE;
	return 0;
}

int mmapio_flush(struct mmapio_file *f)
{
	struct mmapio_fstate *s = f->state;
	int rc;

	if (s->private_state)
		return 0;   /* nothing of it reaches a file: nothing to make durable */
	mmapio__mutex_lock(&s->flush_lock);
	rc = mmapio__flush_full_locked(f, s);
	mmapio__mutex_unlock(&s->flush_lock);
	return rc;
}

int mmapio_flush_range(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	struct mmapio_fstate *s = f->state;
	int rc;

	if (check_range(f, off, len))
		return -ERANGE;
	if (s->private_state)
		return 0;
	if (len == 0) {
		mmapio__mutex_lock(&s->lock);
		rc = s->sticky;
		mmapio__mutex_unlock(&s->lock);
		return rc;
	}
	mmapio__mutex_lock(&s->flush_lock);
	rc = flush_range_locked(f, s, off, len, false);
	mmapio__mutex_unlock(&s->flush_lock);
	return rc;
}

int mmapio_schedule_flush(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	if (check_range(f, off, len))
		return -ERANGE;
	if (f->state->private_state)
		return 0;
	if (len == 0)   /* sync_file_range reads 0 as "to the end of file" */
		return 0;
	if (mmapio__sys.sync_file_range(f->fd, (off64_t)off, (off64_t)len,
				       SYNC_FILE_RANGE_WRITE))
		return -errno;
	return 0;
}

void mmapio__state_set_policy(struct mmapio_fstate *s,
			      const struct mmapio_policy *p)
{
	MMAPIO__ASSERT_HELD(&s->lock);
	s->policy = *p;
	atomic_store_explicit(&s->write_through,
			      p->kind == MMAPIO_POLICY_ALWAYS,
			      memory_order_relaxed);
}

bool mmapio__state_write_through(const struct mmapio_file *f)
{
	return f->state && atomic_load_explicit(&f->state->write_through,
						memory_order_relaxed);
}

int mmapio_set_policy(struct mmapio_file *f, const struct mmapio_policy *p)
{
	struct mmapio_fstate *s = f->state;
	enum flush_action act = ACT_NONE;
	uint64_t gen;

	if (mmapio_policy_validate(p))
		return -EINVAL;
	mmapio__mutex_lock(&s->lock);
	mmapio__state_set_policy(s, p);
	if (!s->private_state) {
		/* Re-arm from scratch: T may have changed, or ms gone. */
		if (s->timer_armed) {
			mmapio__flusher_disarm(&s->timer);
			s->timer_armed = false;
		}
		act = policy_decide(s);
	}
	gen = s->flush_gen;
	mmapio__mutex_unlock(&s->lock);
	if (act == ACT_NONE)
		return 0;
	return flush_run(f, s, ACT_FULL, gen, 0, 0, false);
}

int mmapio_account_external_write(struct mmapio_file *f, uint64_t off,
				  uint64_t len)
{
	if (off + len < off)
		return -ERANGE;
	return mmapio__flush_account(f, off, len, true);
}

void mmapio__flush_deadline_fired(struct mmapio_timer *t, int64_t now_ns)
{
	struct mmapio_fstate *s = (struct mmapio_fstate *)
		((char *)t - offsetof(struct mmapio_fstate, timer));
	const struct mmapio_policy *p = &s->policy;
	struct mmapio_file *f = NULL;

	mmapio__mutex_lock(&s->flush_lock);
	mmapio__mutex_lock(&s->lock);
	if (p->kind != MMAPIO_POLICY_THRESHOLD || !p->ms ||
	    (!s->accum.dirty_pages && !s->pending_writes_n)) {
		/* Flushed, or the policy changed, since it was armed. */
		mmapio__flusher_disarm(&s->timer);
		s->timer_armed = false;
	} else if (s->first_dirty_ns + ms_to_ns(p->ms) > now_ns) {
		/* Not due (the file was flushed and dirtied again, or T
		 * changed): wait again. A failed arm leaves it to the next
		 * write, which then flushes. */
		if (mmapio__flusher_arm(&s->timer, s->first_dirty_ns + ms_to_ns(p->ms)))
			s->timer_armed = false;
	} else if (s->nfiles) {
		f = s->files[0];
	} else {
		mmapio__flusher_disarm(&s->timer);
		s->timer_armed = false;
	}
	mmapio__mutex_unlock(&s->lock);
	if (f)
		(void)mmapio__flush_full_locked(f, s);   /* outcome kept in stats/sticky */
	mmapio__mutex_unlock(&s->flush_lock);
}
