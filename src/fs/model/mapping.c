/*
 * mapping.c — one shared mmapio_file per open regular file, its settings,
 * and the cap on mapped files.
 *
 * Design:
 *   - An open file's descriptor is its mapping's (mmapio_fd, or map_fd
 *     while evicted): the open itself keeps none (ops_file.c), and the
 *     inode's O_PATH descriptor may be closed by the fd cache like any
 *     other; when it no longer opens by handle (an unlinked open file),
 *     mmapfs_mapping_dup_fd() stands in for it (fdcache.c).
 *   - The first open of an inode reads back its current path (relative to
 *     the backing root) from its descriptor, looks its settings up in the
 *     running config, and maps the file with the daemon's own credentials:
 *     read-write when the daemon may, else read-only (a read-only backing
 *     file system, or a file the daemon's user may only read). Later opens
 *     share the mapping; the last release closes it, which applies the
 *     policy's close rule. An open keeps a descriptor of its own (the
 *     handle's fd, opened by ops_file.c with the access mode asked for)
 *     only while the file has no mapping descriptor.
 *   - A file the kernel will not map (a backing file system without shared
 *     mmap, e.g. a FUSE file system serving direct_io files) still gets an
 *     mf, opened with options.unmapped_fallback: libmmapio serves it with
 *     pread/pwrite and applies its policy like any other (counts,
 *     deadlines, sticky error, close rule); it holds no address space, so
 *     it does not count against max_mapped_files. Only a file that the
 *     daemon cannot open by itself (a write-only file of an unprivileged
 *     daemon) has no mf: the handle's own fd serves it.
 *   - Requests pin the mapping (inflight) for their duration. Mapped files
 *     are capped at max_mapped_files: when over, a clock sweep (second
 *     chance, an approximation of LRU that keeps the data path free of any
 *     global lock) unmaps open files with no request in flight, keeping
 *     their descriptor; the next request maps them again. Pending counts
 *     belong to the file in libmmapio, so eviction keeps every bound.
 *   - The sticky flush error (DESIGN §3.4) must last until the last FUSE
 *     release, but libmmapio forgets it when the file's last mapping
 *     goes: the sweep never evicts a file with a sticky error, and the
 *     error an eviction's unmap reports (a close-rule flush that failed,
 *     or the sticky error of a file evicted through .ctl/evict) is kept
 *     in the inode (evict_error) and reported like the sticky error.
 *   - Open inodes are linked in one list (for reload, stats and exit).
 *
 * Invariants: mf != NULL or map_fd >= 0 only while open_count > 0, never
 * both. An inode is listed exactly while open_count > 0 once the open or
 * release that changed it has returned. mapped_count counts inodes whose
 * mf is mapped (mmapio_is_mapped).
 *
 * Locking: order open-list lock -> inode.lock (never the reverse: open and
 * release update the list after dropping inode.lock, see list_sync()).
 * Requests take only inode.lock, briefly.
 */
#include "model/mapping.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logic/log.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/outside.h"
#include "model/running_config.h"

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmapfs_inode *open_list;   /* guarded by open_lock */
static struct mmapfs_inode *clock_hand;  /* guarded by open_lock */
static _Atomic uint64_t mapped_count;
static _Atomic uint64_t max_mapped = 4096;
static _Atomic uint64_t max_locked;
static _Atomic uint64_t locked_total;

void mmapfs_handle_free(struct mmapfs_handle *h)
{
	if (h->dp)
		closedir(h->dp);
	else if (h->fd >= 0)
		close(h->fd);
	free(h);
}

void mmapfs_handle_attach(struct mmapfs_inode *in, struct mmapfs_handle *h)
{
	pthread_mutex_lock(&in->lock);
	h->inode = in;
	h->prev = NULL;
	h->next = in->handles;
	if (in->handles)
		in->handles->prev = h;
	in->handles = h;
	pthread_mutex_unlock(&in->lock);
}

static void handle_unlink_locked(struct mmapfs_inode *in,
				 struct mmapfs_handle *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		in->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->next = h->prev = NULL;
}

void mmapfs_handle_detach(struct mmapfs_inode *in, struct mmapfs_handle *h)
{
	pthread_mutex_lock(&in->lock);
	handle_unlink_locked(in, h);
	pthread_mutex_unlock(&in->lock);
}

/* Brings the inode's list membership in line with its open count. */
static void list_sync(struct mmapfs_inode *in)
{
	bool want;

	pthread_mutex_lock(&open_lock);
	pthread_mutex_lock(&in->lock);
	want = in->open_count > 0;
	if (want && !in->listed) {
		in->open_prev = NULL;
		in->open_next = open_list;
		if (open_list)
			open_list->open_prev = in;
		open_list = in;
		in->listed = true;
	} else if (!want && in->listed) {
		if (clock_hand == in)
			clock_hand = in->open_next;
		if (in->open_prev)
			in->open_prev->open_next = in->open_next;
		else
			open_list = in->open_next;
		if (in->open_next)
			in->open_next->open_prev = in->open_prev;
		in->open_next = in->open_prev = NULL;
		in->listed = false;
	}
	pthread_mutex_unlock(&in->lock);
	pthread_mutex_unlock(&open_lock);
}

/* mlock()s the whole file when its settings ask, within max_locked_bytes.
 * Called with in->lock held and in->mf set. */
static void lock_if_asked(struct mmapfs_inode *in)
{
	uint64_t len = mmapio_len(in->mf);
	uint64_t total;
	int res;

	if (!in->settings.lock || in->locked_bytes || len == 0 ||
	    !mmapio_is_mapped(in->mf))
		return;
	total = atomic_fetch_add(&locked_total, len) + len;
	if (total > atomic_load(&max_locked)) {
		atomic_fetch_sub(&locked_total, len);
		mmapfs_warn("%s: not locked in memory: max_locked_bytes reached",
			    in->relpath);
		return;
	}
	res = mmapio_lock(in->mf, 0, len);
	if (res < 0) {
		atomic_fetch_sub(&locked_total, len);
		mmapfs_warn("%s: cannot lock in memory: %s", in->relpath,
			    strerror(-res));
		return;
	}
	in->locked_bytes = len;
}

/* Forgets the memory lock (the mapping is going away). in->lock held. */
static void unlock_accounting(struct mmapfs_inode *in)
{
	atomic_fetch_sub(&locked_total, in->locked_bytes);
	in->locked_bytes = 0;
}

static void log_mapped(const struct mmapfs_inode *in, bool rw)
{
	char policy[MMAPIO_POLICY_TEXT_MAX];

	if (mmapio_policy_format(&in->settings.flush, policy,
				 sizeof(policy)) < 0)
		snprintf(policy, sizeof(policy), "?");
	if (mmapio_is_mapped(in->mf))
		mmapfs_debug("%s: mapped %s, %llu bytes, policy %s",
			     in->relpath, rw ? "rw" : "ro",
			     (unsigned long long)mmapio_len(in->mf), policy);
	else
		mmapfs_info("%s: cannot be mapped, served by pread/pwrite "
			    "(%s, policy %s)", in->relpath, rw ? "rw" : "ro",
			    policy);
}

/* Opens fd (owned from now on; closed on failure) as in->mf, mapped when
 * the kernel allows. in->lock held. Returns 0 or -errno. */
static int map_fd_locked(struct mmapfs_inode *in, int fd, bool rw)
{
	struct mmapio_options o;
	struct mmapio_file *mf;
	int res;

	mmapio_options_init(&o);
	o.mode = rw ? MMAPIO_RW : MMAPIO_RO;
	o.policy = in->settings.flush;
	o.preallocate = in->settings.preallocate;
	o.hugepages = in->settings.hugepages;
	o.unmapped_fallback = true;
	res = mmapio_from_fd_opts(fd, &o, in->relpath, &mf);
	if (res < 0) {
		close(fd);
		return res;
	}
	in->mf = mf;
	log_mapped(in, rw);
	if (!mmapio_is_mapped(mf))
		return 0;
	/* Page faults in the daemon read just their page: the READ handler
	 * reads ahead exactly what the kernel asked for (ops_file.c). The
	 * default read-around of the backing device (up to read_ahead_kb,
	 * often 8 MiB, zero-filled for holes) made random reads of large
	 * sparse files a thousand times slower than native. */
	(void)mmapio_advise(mf, 0, mmapio_len(mf), MMAPIO_ADV_RANDOM);
	atomic_fetch_add(&mapped_count, 1);
	lock_if_asked(in);
	return 0;
}

/* Applies the inode's .ctl/policy override, if any, to in->settings
 * (after filling them from the config). in->lock held. */
static void override_apply_locked(struct mmapfs_inode *in)
{
	if (in->policy_override)
		in->settings.flush = in->override_policy;
}

/* The first open: path, settings, descriptor, mapping. in->lock held;
 * pfd: the inode's pinned O_PATH descriptor. */
static int first_open_locked(struct mmapfs_inode *in, int pfd)
{
	struct mmapfs_config *cfg;
	char proc[64];
	bool rw = true;
	int fd, res;

	res = mmapfs_relpath_of_fd(pfd, &in->relpath);
	if (res == -ESTALE) {
		/* Opened by handle after it moved to another directory
		 * from outside the mount and left the dcache (fdcache.c):
		 * no path to match. */
		mmapfs_warn("a file of unknown path (opened by handle after "
			    "a move): default settings");
		in->relpath = strdup("");
		res = in->relpath ? 0 : -ENOMEM;
	}
	if (res < 0)
		return res;
	cfg = mmapfs_config_current();
	mmapfs_config_settings_for(cfg, in->relpath, &in->settings);
	mmapfs_config_unref(cfg);
	override_apply_locked(in);

	mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	fd = open(proc, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS ||
		       errno == ETXTBSY)) {
		rw = false;
		fd = open(proc, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		/* The daemon itself may not read it (a write-only file of an
		 * unprivileged daemon): the handle's fd serves it. */
		return 0;
	}
	res = map_fd_locked(in, fd, rw);
	if (res == 0 && in->mf && in->settings.prefetch_on_open)
		(void)mmapio_prefetch(in->mf, 0, mmapio_len(in->mf));
	return res;
}

/* libmmapio's sticky flush error of mf (0 or -errno). */
static int mf_sticky_error(struct mmapio_file *mf)
{
	struct mmapio_stats st;

	mmapio_stats(mf, &st);
	return st.sticky_error;
}

/* Forgets in->mf once it was closed or unmapped. in->lock held. */
static void mf_gone_locked(struct mmapfs_inode *in, bool was_mapped)
{
	in->mf = NULL;
	if (was_mapped)
		atomic_fetch_sub(&mapped_count, 1);
}

static void release_state_locked(struct mmapfs_inode *in)
{
	if (in->mf) {
		bool was_mapped = mmapio_is_mapped(in->mf);
		int res;

		unlock_accounting(in);
		res = mmapio_close(in->mf);
		if (res < 0)
			mmapfs_err("%s: flush at close failed: %s", in->relpath,
				   strerror(-res));
		else
			mmapfs_debug("%s: unmapped (last close)", in->relpath);
		mf_gone_locked(in, was_mapped);
	}
	if (in->map_fd >= 0) {
		close(in->map_fd);
		in->map_fd = -1;
	}
	free(in->relpath);
	in->relpath = NULL;
	in->evict_error = 0;
}

/* Unmaps the least recently used idle mappings while over the cap. */
static void evict_if_needed(void)
{
	while (atomic_load(&mapped_count) > atomic_load(&max_mapped)) {
		struct mmapfs_inode *in, *victim = NULL;
		uint64_t steps = 0, limit;

		pthread_mutex_lock(&open_lock);
		limit = 2 * atomic_load(&mapped_count) + 2;
		for (in = clock_hand ? clock_hand : open_list;
		     in && steps < limit && !victim; steps++) {
			struct mmapfs_inode *next = in->open_next ?
				in->open_next : open_list;

			pthread_mutex_lock(&in->lock);
			if (in->mf && mmapio_is_mapped(in->mf) &&
			    in->inflight == 0 && !mf_sticky_error(in->mf)) {
				if (atomic_exchange(&in->referenced, false)) {
					pthread_mutex_unlock(&in->lock);
				} else {
					victim = in;
					clock_hand = next;
					break;
				}
			} else {
				pthread_mutex_unlock(&in->lock);
			}
			in = next;
		}
		if (victim) {
			int fd, res;

			/* victim->lock is held (taken in the sweep). */
			unlock_accounting(victim);
			res = mmapio_unmap(victim->mf, &fd);
			if (res != -EBUSY) {
				/* Unmapped even when its flush failed. */
				mf_gone_locked(victim, true);
				victim->map_fd = fd;
				mmapfs_debug("%s: unmapped (max_mapped_files)",
					     victim->relpath);
			}
			if (res < 0 && res != -EBUSY) {
				mmapfs_err("%s: flush at eviction failed: %s",
					   victim->relpath, strerror(-res));
				if (!victim->evict_error)
					victim->evict_error = res;
			}
			pthread_mutex_unlock(&victim->lock);
			if (res == -EBUSY)
				victim = NULL;
		}
		pthread_mutex_unlock(&open_lock);
		if (!victim)
			return;
	}
}

int mmapfs_mapping_open(struct mmapfs_inode *in, struct mmapfs_handle *h,
			bool *changed)
{
	struct stat st;
	int res = 0, pfd;

	pfd = mmapfs_inode_fd_get(in);
	if (pfd < 0)
		return pfd;
	pthread_mutex_lock(&in->lock);
	if (in->open_count == 0) {
		res = first_open_locked(in, pfd);
		if (res < 0) {
			release_state_locked(in);
			pthread_mutex_unlock(&in->lock);
			mmapfs_inode_fd_put(in);
			return res;
		}
		/* Watched before the check: a change from outside after the
		 * check is then seen by the watcher. */
		mmapfs_outside_watch_add(in, pfd);
	}
	/* The kernel's cache of the file may predate a change made from
	 * outside (it outlives closes: keep_cache). */
	*changed = mmapfs_outside_check_fresh(in, pfd, &st);
	if (*changed && in->mf && in->inflight == 0 &&
	    (uint64_t)st.st_size != mmapio_len(in->mf))
		(void)mmapio_refresh(in->mf);
	mmapfs_inode_fd_put(in);
	in->open_count++;
	h->inode = in;
	h->prev = NULL;
	h->next = in->handles;
	if (in->handles)
		in->handles->prev = h;
	in->handles = h;
	atomic_store(&in->referenced, true);
	pthread_mutex_unlock(&in->lock);
	list_sync(in);
	evict_if_needed();
	return 0;
}

void mmapfs_mapping_release(struct mmapfs_inode *in, struct mmapfs_handle *h)
{
	pthread_mutex_lock(&in->lock);
	handle_unlink_locked(in, h);
	if (--in->open_count == 0) {
		/* Before the reply: no FORGET can free in under the
		 * watcher (outside.c). */
		mmapfs_outside_watch_remove(in);
		release_state_locked(in);
	}
	pthread_mutex_unlock(&in->lock);
	list_sync(in);
	mmapfs_handle_free(h);
}

struct mmapio_file *mmapfs_mapping_get(struct mmapfs_inode *in)
{
	struct mmapio_file *mf;
	bool remapped = false;

	pthread_mutex_lock(&in->lock);
	if (!in->mf && in->map_fd >= 0) {
		int fd = in->map_fd;
		int fl = fcntl(fd, F_GETFL);

		in->map_fd = -1;
		if (map_fd_locked(in, fd, (fl & O_ACCMODE) == O_RDWR) < 0)
			mmapfs_err("%s: cannot map again after eviction; "
				   "its opens fail with EIO (ops_file.c "
				   "data_fd)", in->relpath);
		remapped = in->mf != NULL;
	}
	in->inflight++;
	/* The caller's own reference: the last RELEASE may close the
	 * inode's mapping while a request without a file handle (setattr by
	 * path, a control command) still uses it. */
	mf = in->mf ? mmapio_ref(in->mf) : NULL;
	pthread_mutex_unlock(&in->lock);
	atomic_store_explicit(&in->referenced, true, memory_order_relaxed);
	if (remapped)
		evict_if_needed();
	return mf;
}

void mmapfs_mapping_put(struct mmapfs_inode *in, struct mmapio_file *mf)
{
	/* Usually not the last reference; when it is, this applies the
	 * close rule of the policy that the release left to us. Dropped
	 * before the pin, so an eviction that sees no request in flight
	 * holds the only reference (mmapio_unmap needs it). */
	int res = mmapio_close(mf);

	if (res < 0)
		mmapfs_err("flush at close failed: %s", strerror(-res));
	pthread_mutex_lock(&in->lock);
	in->inflight--;
	pthread_mutex_unlock(&in->lock);
}

bool mmapfs_mapping_has_fd(struct mmapfs_inode *in)
{
	bool has;

	pthread_mutex_lock(&in->lock);
	has = in->mf || in->map_fd >= 0;
	pthread_mutex_unlock(&in->lock);
	return has;
}

int mmapfs_mapping_dup_fd(struct mmapfs_inode *in)
{
	int fd;

	pthread_mutex_lock(&in->lock);
	fd = in->mf ? mmapio_fd(in->mf) : in->map_fd;
	if (fd >= 0) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = -ENOENT;
	}
	pthread_mutex_unlock(&in->lock);
	return fd;
}

int mmapfs_mapping_sticky_error(struct mmapfs_inode *in)
{
	int err = 0;

	pthread_mutex_lock(&in->lock);
	if (in->mf)
		err = mf_sticky_error(in->mf);
	if (!err)
		err = in->evict_error;
	pthread_mutex_unlock(&in->lock);
	return err;
}

bool mmapfs_mapping_check_size(struct mmapfs_inode *in, off_t size)
{
	bool changed = false;

	pthread_mutex_lock(&in->lock);
	if (in->mf && in->inflight == 0 &&
	    (uint64_t)size != mmapio_len(in->mf)) {
		int64_t res = mmapio_refresh(in->mf);

		if (res < 0)
			mmapfs_warn("%s: cannot follow a size change from "
				    "outside: %s", in->relpath,
				    strerror((int)-res));
		changed = true;
	}
	pthread_mutex_unlock(&in->lock);
	return changed;
}

int mmapfs_settings_effective(struct mmapfs_inode *in,
			      struct mmapfs_file_settings *out)
{
	struct mmapfs_config *cfg;
	bool known = false, overridden;
	char *rel;
	int fd, res;

	pthread_mutex_lock(&in->lock);
	if (in->open_count > 0 && in->relpath) {
		known = true;
		*out = in->settings;
	}
	pthread_mutex_unlock(&in->lock);
	if (known)
		return 0;
	fd = mmapfs_inode_fd_get(in);
	res = fd < 0 ? fd : mmapfs_relpath_of_fd(fd, &rel);
	if (fd >= 0)
		mmapfs_inode_fd_put(in);
	if (res < 0)
		return res;
	cfg = mmapfs_config_current();
	mmapfs_config_settings_for(cfg, rel, out);
	mmapfs_config_unref(cfg);
	free(rel);
	pthread_mutex_lock(&in->lock);
	overridden = in->policy_override;
	if (overridden)
		out->flush = in->override_policy;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

bool mmapfs_inode_policy_always(struct mmapfs_inode *in)
{
	struct mmapfs_file_settings s;
	struct mmapfs_config *cfg;
	bool none, overridden;

	/* The common case costs no path: every policy is never and no
	 * override exists. */
	cfg = mmapfs_config_current();
	none = mmapfs_config_all_never(cfg);
	mmapfs_config_unref(cfg);
	pthread_mutex_lock(&in->lock);
	overridden = in->policy_override;
	pthread_mutex_unlock(&in->lock);
	if (none && !overridden)
		return false;
	if (mmapfs_settings_effective(in, &s) < 0)
		return false;
	return s.flush.kind == MMAPIO_POLICY_ALWAYS;
}

int mmapfs_mapping_set_policy_override(struct mmapfs_inode *in,
				       const struct mmapio_policy *p)
{
	struct mmapfs_file_settings s;
	struct mmapfs_config *cfg;
	struct mmapio_file *mf = NULL;
	struct mmapio_policy now;
	int res = 0;

	pthread_mutex_lock(&in->lock);
	in->policy_override = p != NULL;
	if (p)
		in->override_policy = *p;
	if (in->relpath) {
		/* Open: its settings are in use; back to the config's
		 * policy for `default`. */
		if (p) {
			in->settings.flush = *p;
		} else {
			cfg = mmapfs_config_current();
			mmapfs_config_settings_for(cfg, in->relpath, &s);
			mmapfs_config_unref(cfg);
			in->settings.flush = s.flush;
		}
		if (in->mf)
			mf = mmapio_ref(in->mf);
		now = in->settings.flush;
	}
	pthread_mutex_unlock(&in->lock);
	/* A stricter policy may flush at once: outside the lock. */
	if (mf) {
		res = mmapio_set_policy(mf, &now);
		if (mmapio_close(mf) < 0 && res == 0)
			res = -EIO;
	}
	return res;
}

int mmapfs_mapping_stats(struct mmapfs_inode *in, struct mmapio_stats *st,
			 bool *mapped)
{
	bool counted = false;

	memset(st, 0, sizeof(*st));
	*mapped = false;
	pthread_mutex_lock(&in->lock);
	if (in->mf) {
		*mapped = mmapio_is_mapped(in->mf);
		mmapio_stats(in->mf, st);
		counted = true;
	}
	pthread_mutex_unlock(&in->lock);
	/* No mf: the library may still keep its counters (closed or
	 * evicted with writes pending under never). */
	if (!counted)
		(void)mmapio_stats_by_id(in->dev, in->ino, st);
	return 0;
}

void mmapfs_mapping_for_each_open(void (*fn)(struct mmapfs_inode *in,
					     void *ctx), void *ctx)
{
	pthread_mutex_lock(&open_lock);
	for (struct mmapfs_inode *in = open_list; in; in = in->open_next)
		fn(in, ctx);
	pthread_mutex_unlock(&open_lock);
}

void mmapfs_mapping_apply_config(const struct mmapfs_config *c)
{
	const struct mmapfs_global_settings *g = mmapfs_config_global(c);

	atomic_store(&max_mapped, g->max_mapped_files);
	atomic_store(&max_locked, g->max_locked_bytes);
	pthread_mutex_lock(&open_lock);
	for (struct mmapfs_inode *in = open_list; in; in = in->open_next) {
		pthread_mutex_lock(&in->lock);
		if (in->relpath) {
			mmapfs_config_settings_for(c, in->relpath,
						   &in->settings);
			override_apply_locked(in);
			if (in->mf) {
				int res = mmapio_set_policy(in->mf,
						&in->settings.flush);

				if (res < 0)
					mmapfs_err("%s: flush on policy change "
						   "failed: %s", in->relpath,
						   strerror(-res));
				lock_if_asked(in);
			}
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_mutex_unlock(&open_lock);
	evict_if_needed();
}

int mmapfs_mapping_evict(struct mmapfs_inode *in)
{
	int fd, res = 0;

	pthread_mutex_lock(&in->lock);
	if (in->mf && in->inflight > 0)
		res = -EBUSY;
	if (in->mf && res == 0) {
		uint64_t locked = in->locked_bytes;
		bool was_mapped = mmapio_is_mapped(in->mf);

		unlock_accounting(in);
		res = mmapio_unmap(in->mf, &fd);
		if (res == -EBUSY) {
			/* Another reference (a flush of every file): the
			 * mapping stays, and so does its lock. */
			in->locked_bytes = locked;
			atomic_fetch_add(&locked_total, locked);
		} else {
			/* Unmapped, also when its flush failed. */
			mf_gone_locked(in, was_mapped);
			in->map_fd = fd;
			if (res < 0 && !in->evict_error)
				in->evict_error = res;
		}
	}
	pthread_mutex_unlock(&in->lock);
	return res;
}

int mmapfs_mapping_reserve_locked(uint64_t n)
{
	if (atomic_fetch_add(&locked_total, n) + n > atomic_load(&max_locked)) {
		atomic_fetch_sub(&locked_total, n);
		return -ENOMEM;
	}
	return 0;
}

void mmapfs_mapping_unreserve_locked(uint64_t n)
{
	atomic_fetch_sub(&locked_total, n);
}

void mmapfs_mapping_close_all(void)
{
	unsigned long long files = 0, bytes = 0;

	pthread_mutex_lock(&open_lock);
	for (struct mmapfs_inode *in = open_list; in; in = in->open_next) {
		pthread_mutex_lock(&in->lock);
		if (in->mf) {
			struct mmapio_policy pol;
			uint64_t pending = mmapio_pending_bytes(in->mf);
			bool was_mapped = mmapio_is_mapped(in->mf);
			int res;

			mmapio_flush_policy(in->mf, &pol);
			unlock_accounting(in);
			res = mmapio_close(in->mf);
			if (res < 0)
				mmapfs_err("%s: flush at exit failed: %s",
					   in->relpath, strerror(-res));
			else if (pol.kind != MMAPIO_POLICY_NEVER && pending) {
				files++;
				bytes += pending;
			}
			mf_gone_locked(in, was_mapped);
		}
		if (in->map_fd >= 0) {
			close(in->map_fd);
			in->map_fd = -1;
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_mutex_unlock(&open_lock);
	/* One line at exit, so an operator sees what the policies required. */
	mmapfs_notice("exit: flushed %llu pending bytes of %llu open files",
		      bytes, files);
}

void mmapfs_mapping_touch_mtime(struct mmapfs_inode *in, int fd)
{
	static const struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_NOW },
	};
	struct timespec now;
	int64_t tick;

	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	tick = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (atomic_exchange_explicit(&in->mtime_tick, tick,
				     memory_order_relaxed) == tick)
		return;
	/* A failure leaves the old times, as a lost update would. */
	(void)futimens(fd, times);
}

void mmapfs_mapping_inode_gone(struct mmapfs_inode *in)
{
	mmapfs_outside_forget(in);
	while (in->handles) {
		struct mmapfs_handle *h = in->handles;

		in->handles = h->next;
		mmapfs_handle_free(h);
	}
	if (in->mf)
		(void)mmapio_close(in->mf);
	if (in->map_fd >= 0)
		close(in->map_fd);
	free(in->relpath);
	in->relpath = NULL;
}
