/*
 * state.c — per-file durability state and its process-wide registry
 * (docs/durability.md): attach/detach/truncate hooks, accessors and statistics.
 *
 * Design: every mapping of a backing file shares one struct mmapio_fstate,
 * found by (st_dev, st_ino) in a chained hash table. The state holds the
 * policy, the dirty-page accumulator, the pending write count, the ms
 * deadline and the sticky error, so they belong to the FILE and survive
 * close, reopen, unmap and eviction of any one mapping. COW and anonymous
 * mappings get a private state outside the registry (their writes never
 * reach a file: nothing is pending, flushes return 0 and sync nothing).
 *
 * Close rule (mmapio__state_detach): under any policy but never, the detach
 * of the file's last mapping flushes what is pending before it returns, so
 * the policy's bound holds after close (while other mappings stay attached
 * the policy keeps applying through them); under never nothing is synced
 * at close, unmap or eviction, and the counts stay for a reopen. The
 * sticky error is returned by every detach while it is set, and cleared
 * when the last mapping of the file detaches.
 *
 * Registry bound: a state whose last mapping detached is freed at once
 * when nothing is pending; otherwise (only possible under never, or after
 * a failed close flush) it is kept on a detached list, oldest first, so a
 * reopen sees its pending counts. At most MMAPIO_DETACHED_CAP (65536)
 * detached states are kept; beyond that the oldest is dropped, losing only
 * its counts (its data stays in the page cache for the kernel to write
 * back). About 360 bytes plus the bitmap each: ~25 MiB at the cap. A state
 * is keyed by inode number, so a deleted file whose inode number is reused
 * by a new file passes its leftover counts on (harmless: counts only err
 * on the side of flushing sooner).
 *
 * Locking: see state.h. registry.lock guards the table, the detached list
 * and each state's attached count and links; fstate.lock guards the files
 * array, which flushes borrow a mapping from.
 */
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	struct mmapio__mutex lock;
	struct mmapio_fstate **buckets;
	size_t nbuckets;
	size_t count;                    /* states in the table */
	struct mmapio_fstate *lru_old;   /* detached list: oldest ... */
	struct mmapio_fstate *lru_new;   /* ... newest */
	size_t ndetached;
	size_t detached_cap;
} reg = {
	.lock = MMAPIO__MUTEX_INITIALIZER,
	.detached_cap = MMAPIO_DETACHED_CAP,
};

static struct mmapio_fstate *state_new(void)
{
	struct mmapio_fstate *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	mmapio__mutex_init(&s->lock);
	mmapio__mutex_init(&s->flush_lock);
	mmapio__accum_init(&s->accum, mmapio_page_size());
	s->policy.kind = MMAPIO_POLICY_NEVER;
	/* The flusher fires this callback; it knows nothing of states. */
	mmapio__timer_init(&s->timer, mmapio__flush_deadline_fired);
	return s;
}

static void state_free(struct mmapio_fstate *s)
{
	free(s->detached_path);
	mmapio__accum_destroy(&s->accum);
	mmapio__mutex_destroy(&s->lock);
	mmapio__mutex_destroy(&s->flush_lock);
	free(s->files);
	free(s);
}

/* --- registry (registry.lock held) ---------------------------------- */

static size_t reg_hash(dev_t dev, ino_t ino, size_t nbuckets)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;

	h ^= h >> 29;
	return (size_t)(h & (nbuckets - 1));
}

static struct mmapio_fstate *reg_find(dev_t dev, ino_t ino)
{
	struct mmapio_fstate *s;

	MMAPIO__ASSERT_HELD(&reg.lock);

	if (!reg.nbuckets)
		return NULL;
	for (s = reg.buckets[reg_hash(dev, ino, reg.nbuckets)]; s; s = s->hash_next)
		if (s->dev == dev && s->ino == ino)
			return s;
	return NULL;
}

/* Doubles the table when it is full; a failed resize keeps the old table
 * (longer chains, still correct). */
static void reg_grow(void)
{
	size_t n = reg.nbuckets ? 2 * reg.nbuckets : 64;
	struct mmapio_fstate **b;

	MMAPIO__ASSERT_HELD(&reg.lock);

	if (reg.count < reg.nbuckets)
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < reg.nbuckets; i++) {
		struct mmapio_fstate *s = reg.buckets[i], *next;

		for (; s; s = next) {
			size_t h = reg_hash(s->dev, s->ino, n);

			next = s->hash_next;
			s->hash_next = b[h];
			b[h] = s;
		}
	}
	free(reg.buckets);
	reg.buckets = b;
	reg.nbuckets = n;
}

static int reg_insert(struct mmapio_fstate *s)
{
	size_t h;

	MMAPIO__ASSERT_HELD(&reg.lock);

	reg_grow();
	if (!reg.nbuckets)
		return -ENOMEM;
	h = reg_hash(s->dev, s->ino, reg.nbuckets);
	s->hash_next = reg.buckets[h];
	reg.buckets[h] = s;
	reg.count++;
	return 0;
}

static void reg_unhash(struct mmapio_fstate *s)
{
	struct mmapio_fstate **pp = &reg.buckets[reg_hash(s->dev, s->ino, reg.nbuckets)];

	MMAPIO__ASSERT_HELD(&reg.lock);

	while (*pp != s)
		pp = &(*pp)->hash_next;
	*pp = s->hash_next;
	reg.count--;
}

static void lru_remove(struct mmapio_fstate *s)
{
	MMAPIO__ASSERT_HELD(&reg.lock);
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		reg.lru_old = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		reg.lru_new = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
	s->on_lru = false;
	reg.ndetached--;
}

static void lru_append(struct mmapio_fstate *s)
{
	MMAPIO__ASSERT_HELD(&reg.lock);
	s->lru_prev = reg.lru_new;
	s->lru_next = NULL;
	if (reg.lru_new)
		reg.lru_new->lru_next = s;
	else
		reg.lru_old = s;
	reg.lru_new = s;
	s->on_lru = true;
	reg.ndetached++;
}

/* Removes a detached state from the registry and frees it. */
static void reg_drop(struct mmapio_fstate *s)
{
	MMAPIO__ASSERT_HELD(&reg.lock);
	if (s->on_lru)
		lru_remove(s);
	reg_unhash(s);
	mmapio__flusher_forget(&s->timer);
	state_free(s);
}

static void reg_enforce_cap(void)
{
	MMAPIO__ASSERT_HELD(&reg.lock);
	while (reg.ndetached > reg.detached_cap)
		reg_drop(reg.lru_old);
}

size_t mmapio__registry_states(void)
{
	size_t n;

	mmapio__mutex_lock(&reg.lock);
	n = reg.count;
	mmapio__mutex_unlock(&reg.lock);
	return n;
}

size_t mmapio__registry_detached(void)
{
	size_t n;

	mmapio__mutex_lock(&reg.lock);
	n = reg.ndetached;
	mmapio__mutex_unlock(&reg.lock);
	return n;
}

size_t mmapio__registry_set_detached_cap(size_t cap)
{
	size_t old;

	mmapio__mutex_lock(&reg.lock);
	old = reg.detached_cap;
	reg.detached_cap = cap;
	reg_enforce_cap();
	mmapio__mutex_unlock(&reg.lock);
	return old;
}

/* --- policy application at attach ---------------------------------- */

/* Sets s's policy at attach time and arms the deadline an ms policy needs
 * for counts already pending. s->lock held. A failed arm is retried by the
 * next write, which flushes at once if it fails again. */
static void state_adopt_policy(struct mmapio_fstate *s,
			       const struct mmapio_policy *p)
{
	bool dirty = s->accum.dirty_pages || s->pending_writes_n;

	MMAPIO__ASSERT_HELD(&s->lock);

	mmapio__state_set_policy(s, p);
	if (p->kind == MMAPIO_POLICY_THRESHOLD && p->ms && dirty) {
		if (mmapio__flusher_arm(&s->timer, s->first_dirty_ns +
					  (int64_t)p->ms * 1000000) == 0)
			s->timer_armed = true;
	} else if (s->timer_armed) {
		mmapio__flusher_disarm(&s->timer);
		s->timer_armed = false;
	}
}

/* --- hooks ---------------------------------------------------------- */

static int files_add(struct mmapio_fstate *s, struct mmapio_file *f)
{
	MMAPIO__ASSERT_HELD(&s->lock);
	if (s->nfiles == s->files_cap) {
		unsigned cap = s->files_cap ? 2 * s->files_cap : 4;
		struct mmapio_file **v = realloc(s->files, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->files = v;
		s->files_cap = cap;
	}
	s->files[s->nfiles++] = f;
	return 0;
}

static void files_remove(struct mmapio_fstate *s, struct mmapio_file *f)
{
	MMAPIO__ASSERT_HELD(&s->lock);
	for (unsigned i = 0; i < s->nfiles; i++) {
		if (s->files[i] == f) {
			s->files[i] = s->files[--s->nfiles];
			return;
		}
	}
}

int mmapio__state_attach(struct mmapio_file *f, const struct mmapio_policy *p,
			 const struct stat *known)
{
	static const struct mmapio_policy never = { .kind = MMAPIO_POLICY_NEVER };
	struct mmapio_fstate *s;
	struct stat st;
	bool fresh = false;
	int rc;

	if (p && mmapio_policy_validate(p))
		return -EINVAL;
	if (f->anon || f->mode == MMAPIO_COW || f->fd < 0) {
		s = state_new();
		if (!s)
			return -ENOMEM;
		s->private_state = true;
		s->attached = 1;
		s->policy = p ? *p : never;   /* not shared: no lock yet */
		f->state = s;
		return 0;
	}
	if (known)
		st = *known;
	else if (fstat(f->fd, &st))
		return -errno;

	mmapio__mutex_lock(&reg.lock);
	s = reg_find(st.st_dev, st.st_ino);
	if (!s) {
		s = state_new();
		if (!s) {
			mmapio__mutex_unlock(&reg.lock);
			return -ENOMEM;
		}
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		if (reg_insert(s)) {
			mmapio__mutex_unlock(&reg.lock);
			state_free(s);
			return -ENOMEM;
		}
		fresh = true;
	}
	mmapio__mutex_lock(&s->lock);
	rc = files_add(s, f);
	if (!rc && (p || fresh))
		state_adopt_policy(s, p ? p : &never);
	mmapio__mutex_unlock(&s->lock);
	if (rc) {
		if (fresh)
			reg_drop(s);
		mmapio__mutex_unlock(&reg.lock);
		return rc;
	}
	if (s->on_lru)
		lru_remove(s);
	free(s->detached_path);
	s->detached_path = NULL;
	s->attached++;
	mmapio__mutex_unlock(&reg.lock);
	f->state = s;
	return 0;
}

int mmapio__state_detach(struct mmapio_file *f)
{
	struct mmapio_fstate *s = f->state;
	bool flush, keep;
	int rc;

	if (!s)
		return 0;
	if (s->private_state) {
		mmapio__flusher_forget(&s->timer);
		state_free(s);
		f->state = NULL;
		return 0;
	}

	/* Detaches serialise on flush_lock, so exactly one of them sees
	 * itself as the file's last mapping (nfiles == 1). */
	mmapio__mutex_lock(&s->flush_lock);
	mmapio__mutex_lock(&s->lock);
	flush = s->nfiles == 1 && s->policy.kind != MMAPIO_POLICY_NEVER &&
		(s->accum.dirty_pages || s->pending_writes_n);
	rc = s->sticky;
	mmapio__mutex_unlock(&s->lock);
	if (flush)
		rc = mmapio__flush_full_locked(f, s);
	mmapio__mutex_lock(&s->lock);
	files_remove(s, f);
	mmapio__mutex_unlock(&s->lock);
	mmapio__mutex_unlock(&s->flush_lock);

	mmapio__mutex_lock(&reg.lock);
	if (--s->attached == 0) {
		mmapio__mutex_lock(&s->lock);
		s->sticky = 0;
		atomic_store_explicit(&s->st_sticky, 0, memory_order_relaxed);
		keep = s->accum.dirty_pages || s->pending_writes_n;
		mmapio__mutex_unlock(&s->lock);
		if (keep) {
			/* Remembered for mmapio_for_each_detached(); a
			 * failed copy only loses the name in listings. */
			s->detached_path = f->path ? strdup(f->path) : NULL;
			s->detached_rw = f->mode == MMAPIO_RW;
			lru_append(s);
			reg_enforce_cap();
		} else {
			reg_drop(s);
		}
	}
	mmapio__mutex_unlock(&reg.lock);
	f->state = NULL;
	return rc;
}

int mmapio__state_account(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	/* Without a mapping, the bytes went around it (pwrite). */
	return mmapio__flush_account(f, off, len, mmapio__unmapped(f));
}

void mmapio__state_truncated(struct mmapio_file *f, uint64_t new_len)
{
	struct mmapio_fstate *s = f->state;

	MMAPIO__ASSERT_WRLOCKED(&f->map_lock);

	mmapio__mutex_lock(&s->lock);
	/* Only pages cut off by a shrink are forgotten; when none is left
	 * the write calls that dirtied them are moot too. */
	if (mmapio__accum_truncate(&s->accum, new_len) && !s->accum.dirty_pages) {
		s->pending_writes_n = 0;
		s->external_pending = false;
		if (s->timer_armed) {
			mmapio__flusher_disarm(&s->timer);
			s->timer_armed = false;
		}
	}
	mmapio__state_publish_pending(s);
	mmapio__mutex_unlock(&s->lock);
}

/* --- accessors ------------------------------------------------------ */

void mmapio_flush_policy(const struct mmapio_file *f, struct mmapio_policy *out)
{
	struct mmapio_fstate *s = f->state;

	mmapio__mutex_lock(&s->lock);
	*out = s->policy;
	mmapio__mutex_unlock(&s->lock);
}

uint64_t mmapio_pending_bytes(const struct mmapio_file *f)
{
	return atomic_load_explicit(&f->state->st_pending_bytes,
				    memory_order_relaxed);
}

uint64_t mmapio_pending_writes(const struct mmapio_file *f)
{
	return atomic_load_explicit(&f->state->st_pending_writes,
				    memory_order_relaxed);
}

/* Reads s's statistics; lock-free (atomics), so it never blocks writers. */
static void state_read_stats(const struct mmapio_fstate *s,
			     struct mmapio_stats *out)
{
	out->bytes_written = atomic_load_explicit(&s->st_bytes_written, memory_order_relaxed);
	out->writes = atomic_load_explicit(&s->st_writes, memory_order_relaxed);
	out->flushes = atomic_load_explicit(&s->st_flushes, memory_order_relaxed);
	out->flush_errors = atomic_load_explicit(&s->st_flush_errors, memory_order_relaxed);
	out->pending_bytes = atomic_load_explicit(&s->st_pending_bytes, memory_order_relaxed);
	out->pending_writes = atomic_load_explicit(&s->st_pending_writes, memory_order_relaxed);
	out->last_flush_ns = atomic_load_explicit(&s->st_last_flush_ns, memory_order_relaxed);
	out->last_flush_duration_ns =
		atomic_load_explicit(&s->st_last_flush_duration_ns, memory_order_relaxed);
	out->sticky_error = atomic_load_explicit(&s->st_sticky, memory_order_relaxed);
}

void mmapio_stats(const struct mmapio_file *f, struct mmapio_stats *out)
{
	state_read_stats(f->state, out);
}

int mmapio_stats_by_id(dev_t dev, ino_t ino, struct mmapio_stats *out)
{
	struct mmapio_fstate *s;

	mmapio__mutex_lock(&reg.lock);
	s = reg_find(dev, ino);
	if (s)
		state_read_stats(s, out);
	mmapio__mutex_unlock(&reg.lock);
	return s ? 0 : -ENOENT;
}

int mmapio_for_each_detached(mmapio_detached_fn fn, void *ctx)
{
	struct mmapio_file_info info;
	int rc = 0;

	mmapio__mutex_lock(&reg.lock);
	for (struct mmapio_fstate *s = reg.lru_old; s && !rc; s = s->lru_next) {
		info.dev = s->dev;
		info.ino = s->ino;
		info.path = s->detached_path;
		info.rw = s->detached_rw;
		mmapio__mutex_lock(&s->lock);
		info.policy = s->policy;
		mmapio__mutex_unlock(&s->lock);
		state_read_stats(s, &info.stats);
		rc = fn(&info, ctx);
	}
	mmapio__mutex_unlock(&reg.lock);
	return rc;
}
