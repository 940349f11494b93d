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
 *   - The first open of an inode takes its current path (relative to
 *     the backing root, from the names the kernel sent: inode.c), looks
 *     its settings up in the running config, and maps the file with the
 *     daemon's own credentials:
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
 *   - The sticky flush error (docs/durability.md) must last until the last FUSE
 *     release, but libmmapio forgets it when the file's last mapping
 *     goes: the sweep never evicts a file with a sticky error, and the
 *     error an eviction's unmap reports (a close-rule flush that failed,
 *     or the sticky error of a file evicted through .ctl/evict) is kept
 *     in the inode (evict_error) and reported like the sticky error.
 *   - Address space is capped too (max_mapped_bytes; 0: half of what the
 *     daemon has, from RLIMIT_AS or the size of the user address space):
 *     mapped_bytes counts the page-rounded lengths of mapped files
 *     (mapped_len, brought up to date when a request unpins the mapping,
 *     so growth counts), and the sweep evicts while either cap is
 *     exceeded. A file longer than the cap is served by pread/pwrite
 *     (options.no_mapping) once the request that mapped or grew it has
 *     unpinned it, so no user can make the daemon keep more than the cap
 *     mapped, and threads, heap and stacks keep room.
 *   - A mapping that cannot follow the file's growth (mremap fails,
 *     usually ENOMEM: no address space) must not make acknowledged bytes
 *     unreadable: the write path reports it (mmapfs_mapping_cannot_follow)
 *     before it replies; reads and writes then go around the mapping
 *     (mmapfs_mapping_stale, ops_file.c), and once no request pins it the
 *     mapping is unmapped (demote: flushed first with no lock held, as an
 *     eviction) and the file is served by pread/pwrite until its last
 *     release (map_unmapped). A mapping that cannot be made again after
 *     an eviction for want of address space is made without one too
 *     (libmmapio's unmapped_fallback covers ENOMEM).
 *   - Open inodes are linked in one list (for reload, stats and exit).
 *   - Counters (logic/closed_files.h): libmmapio's counters belong to the
 *     file's state, which goes when its last mapping goes with nothing
 *     pending. So whenever a mapping goes (eviction, last release) what
 *     it counted is added to the inode's counts_carry (the close rule's
 *     flush is run first, outside the lock, so it is counted too), the
 *     last release files the result in the table of recently closed
 *     files, and the next first open of the file takes it back. A release
 *     and a first open of the same file that overlap (the open maps the
 *     file before the release's close) may count the events between the
 *     two in both; the counters only err upwards.
 *
 *   - No lock is held across a flush, a sync or an unmap that may sync:
 *     choose under the lock, do the slow part outside it. The last
 *     release takes the mapping out of the inode and closes it (the
 *     close rule) after the lock is dropped; an eviction flushes its
 *     victim with no lock held and unmaps it only once the unmap has
 *     nothing to sync; a reload or .ctl/policy sets the new policies
 *     (a stricter one may flush at once) after the locks are dropped.
 *     One slow disk then stalls the requests of the files on it, not
 *     every open.
 *
 * Invariants: mf != NULL or map_fd >= 0 only while open_count > 0, never
 * both (a mapping taken out by the last release is closed by that release
 * alone). An inode is listed exactly while open_count > 0 once the open or
 * release that changed it has returned. mapped_count counts inodes whose
 * mf is mapped (mmapio_is_mapped), and those whose last release is still
 * closing it.
 *
 * Locking (outermost first):
 *   policy_lock    serialises policy changes (reload, .ctl/policy) and is
 *                  held while they are applied, flushes included; no
 *                  request takes it.
 *   open_lock      the open list and the clock hand.
 *   inode.lock     (map.lock) the mapping group of one inode.
 * Never the reverse: open and release update the list after dropping
 * inode.lock (list_sync()). Requests take only inode.lock, briefly.
 * Functions named *_locked are called with inode.lock held (asserted in
 * debug builds).
 */
#include "model/mapping.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logic/closed_files.h"
#include "logic/counters.h"
#include "logic/log.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/mount.h"
#include "model/outside.h"
#include "model/running_config.h"

static struct mmapfs_lock policy_lock = MMAPFS_LOCK_INITIALIZER;
static struct mmapfs_lock open_lock = MMAPFS_LOCK_INITIALIZER;
static struct mmapfs_inode *open_list;   /* guarded by open_lock */
static struct mmapfs_inode *clock_hand;  /* guarded by open_lock */
static _Atomic uint64_t mapped_count;
static _Atomic uint64_t max_mapped = 4096;
static _Atomic uint64_t max_locked;
static _Atomic uint64_t locked_total;
static _Atomic uint64_t mapped_bytes;    /* sum of map.mapped_len */
static _Atomic uint64_t max_bytes = UINT64_MAX;

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
	mmapfs_lock(&in->map.lock);
	h->inode = in;
	h->prev = NULL;
	h->next = in->map.handles;
	if (in->map.handles)
		in->map.handles->prev = h;
	in->map.handles = h;
	mmapfs_unlock(&in->map.lock);
}

static void handle_unlink_locked(struct mmapfs_inode *in,
				 struct mmapfs_handle *h)
{
	assert(mmapfs_lock_held(&in->map.lock));
	if (h->prev)
		h->prev->next = h->next;
	else
		in->map.handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->next = h->prev = NULL;
}

void mmapfs_handle_detach(struct mmapfs_inode *in, struct mmapfs_handle *h)
{
	mmapfs_lock(&in->map.lock);
	handle_unlink_locked(in, h);
	mmapfs_unlock(&in->map.lock);
}

/* Brings the inode's list membership in line with its open count. */
static void list_sync(struct mmapfs_inode *in)
{
	bool want;

	mmapfs_lock(&open_lock);
	mmapfs_lock(&in->map.lock);
	want = in->map.open_count > 0;
	if (want && !in->map.listed) {
		in->map.open_prev = NULL;
		in->map.open_next = open_list;
		if (open_list)
			open_list->map.open_prev = in;
		open_list = in;
		in->map.listed = true;
	} else if (!want && in->map.listed) {
		if (clock_hand == in)
			clock_hand = in->map.open_next;
		if (in->map.open_prev)
			in->map.open_prev->map.open_next = in->map.open_next;
		else
			open_list = in->map.open_next;
		if (in->map.open_next)
			in->map.open_next->map.open_prev = in->map.open_prev;
		in->map.open_next = in->map.open_prev = NULL;
		in->map.listed = false;
	}
	mmapfs_unlock(&in->map.lock);
	mmapfs_unlock(&open_lock);
}

/* mlock()s the whole file when its settings ask, within max_locked_bytes.
 * Called with in->lock held and in->mf set. */
static void lock_if_asked(struct mmapfs_inode *in)
{
	uint64_t len, total;
	int res;

	assert(mmapfs_lock_held(&in->map.lock));
	len = mmapio_len(in->map.mf);
	if (!in->map.settings.lock || in->map.locked_bytes || len == 0 ||
	    !mmapio_is_mapped(in->map.mf))
		return;
	total = atomic_fetch_add(&locked_total, len) + len;
	if (total > atomic_load(&max_locked)) {
		atomic_fetch_sub(&locked_total, len);
		mmapfs_warn("%s: not locked in memory: max_locked_bytes reached",
			    in->map.relpath);
		return;
	}
	res = mmapio_lock(in->map.mf, 0, len);
	if (res < 0) {
		atomic_fetch_sub(&locked_total, len);
		mmapfs_warn("%s: cannot lock in memory: %s", in->map.relpath,
			    strerror(-res));
		return;
	}
	in->map.locked_bytes = len;
}

/* Forgets the memory lock (the mapping is going away). in->lock held. */
static void unlock_accounting(struct mmapfs_inode *in)
{
	assert(mmapfs_lock_held(&in->map.lock));
	atomic_fetch_sub(&locked_total, in->map.locked_bytes);
	in->map.locked_bytes = 0;
}

static void log_mapped(const struct mmapfs_inode *in, bool rw)
{
	char policy[MMAPIO_POLICY_TEXT_MAX];

	if (mmapio_policy_format(&in->map.settings.flush, policy,
				 sizeof(policy)) < 0)
		snprintf(policy, sizeof(policy), "?");
	if (mmapio_is_mapped(in->map.mf))
		mmapfs_debug("%s: mapped %s, %llu bytes, policy %s",
			     in->map.relpath, rw ? "rw" : "ro",
			     (unsigned long long)mmapio_len(in->map.mf), policy);
	else
		mmapfs_info("%s: cannot be mapped, served by pread/pwrite "
			    "(%s, policy %s)", in->map.relpath, rw ? "rw" : "ro",
			    policy);
}

/* max_mapped_bytes = 0: half the address space the daemon may have. */
static uint64_t auto_max_bytes(void)
{
	uintptr_t top = (uintptr_t)__builtin_frame_address(0);
	uint64_t space = 1;
	struct rlimit rl;

	/* The stack sits at the top of the user address space: the power
	 * of two above it is that space's size (128 TiB on x86-64 with 4
	 * page-table levels). */
	while (space <= top && space < (UINT64_C(1) << 63))
		space <<= 1;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (uint64_t)rl.rlim_cur < space)
		space = (uint64_t)rl.rlim_cur;
	return space / 2;
}

/* Brings in's share of mapped_bytes in line with its mapping's length
 * (0 without a mapping). in->lock held. */
static void account_len_locked(struct mmapfs_inode *in)
{
	uint64_t want = 0;

	assert(mmapfs_lock_held(&in->map.lock));
	if (in->map.mf && mmapio_is_mapped(in->map.mf)) {
		uint64_t page = mmapio_page_size();

		want = (mmapio_len(in->map.mf) + page - 1) / page * page;
	}
	if (want == in->map.mapped_len)
		return;
	atomic_fetch_add(&mapped_bytes, want - in->map.mapped_len);
	in->map.mapped_len = want;
}

static void mapped_locked(struct mmapfs_inode *in);

/* Opens fd (owned from now on; closed on failure) as in->mf, mapped when
 * the kernel allows and the file was not demoted (a file longer than
 * max_mapped_bytes is demoted by its first unpin). fl: fd's F_GETFL flags
 * when known, else -1; st: its attributes when just read, else NULL
 * (libmmapio asks for what is not known). in->lock held. Returns 0 or
 * -errno. */
static int map_fd_locked(struct mmapfs_inode *in, int fd, int fl,
			 const struct stat *st)
{
	bool rw = fl >= 0 ? (fl & O_ACCMODE) == O_RDWR : true;
	struct mmapio_options o;
	struct mmapio_file *mf;
	int res;

	assert(mmapfs_lock_held(&in->map.lock));
	mmapio_options_init(&o);
	o.mode = rw ? MMAPIO_RW : MMAPIO_RO;
	o.policy = in->map.settings.flush;
	o.preallocate = in->map.settings.preallocate;
	o.hugepages = in->map.settings.hugepages;
	o.unmapped_fallback = true;
	o.no_mapping = in->map.map_unmapped || atomic_load(&in->map.lazy);
	res = mmapio_from_fd_known(fd, &o, in->map.relpath, fl, st, &mf);
	if (res < 0) {
		close(fd);
		return res;
	}
	in->map.mf = mf;
	/* Counts a state libmmapio kept (a file closed with writes pending)
	 * brings along are not this mapping's. */
	mmapio_stats(mf, &in->map.counts_base);
	log_mapped(in, rw);
	if (mmapio_is_mapped(mf))
		mapped_locked(in);
	return 0;
}

/* in->mf was just mapped (at open, again after an eviction, or a lazily
 * mapped file now): its address space, advice and locking. in->lock
 * held. */
static void mapped_locked(struct mmapfs_inode *in)
{
	struct mmapio_file *mf = in->map.mf;
	uint64_t len;

	assert(mmapfs_lock_held(&in->map.lock));
	account_len_locked(in);
	/* Longer than the cap (no stat of its own for it: the first open
	 * of every file would pay one): the first unpin demotes it. */
	if (in->map.mapped_len > atomic_load(&max_bytes))
		in->map.demote = true;
	/* Page faults in the daemon read just their page: the READ handler
	 * reads ahead exactly what the kernel asked for (ops_file.c). The
	 * default read-around of the backing device (up to read_ahead_kb,
	 * often 8 MiB, zero-filled for holes) made random reads of large
	 * sparse files a thousand times slower than native. The whole
	 * mapping: a write may grow it meanwhile (the length is read
	 * before libmmapio's lock), and advice on a part only splits the
	 * mapping in two, which then moves piece by piece when it grows. */
	do {
		len = mmapio_len(mf);
		(void)mmapio_advise(mf, 0, len, MMAPIO_ADV_RANDOM);
	} while (mmapio_len(mf) > len);
	atomic_fetch_add(&mapped_count, 1);
	lock_if_asked(in);
}

/* Applies the inode's .ctl/policy override, if any, to in->settings
 * (after filling them from the config). in->lock held. */
static void override_apply_locked(struct mmapfs_inode *in)
{
	assert(mmapfs_lock_held(&in->map.lock));
	if (in->map.policy_override)
		in->map.settings.flush = in->map.override_policy;
}

/* The first open: path, settings, descriptor, mapping. in->lock held;
 * pfd: the inode's pinned O_PATH descriptor (-1 with GIVE_FD); how and st:
 * mmapfs_mapping_open's (MMAPFS_OPEN_GIVE_FD: h->fd becomes the
 * mapping's). */
static int first_open_locked(struct mmapfs_inode *in, int pfd,
			     struct mmapfs_handle *h, unsigned how,
			     const struct stat *st)
{
	struct mmapfs_config *cfg;
	char proc[64];
	bool rw = true;
	int fd, res;

	assert(mmapfs_lock_held(&in->map.lock));
	res = mmapfs_inode_path(in, &in->map.relpath);
	if (res == -ENOENT) {
		/* Known only by descriptor (no name the kernel sent): no
		 * path to match. */
		mmapfs_warn("a file of unknown path: default settings");
		in->map.relpath = strdup("");
		res = in->map.relpath ? 0 : -ENOMEM;
	}
	if (res < 0)
		return res;
	cfg = mmapfs_config_current();
	mmapfs_config_settings_for(cfg, in->map.relpath, &in->map.settings);
	mmapfs_config_unref(cfg);
	override_apply_locked(in);
	(void)mmapfs_closed_take(in->dev, in->ino, &in->map.counts_carry);
	/* Nothing to map yet: mapped by the first request that needs the
	 * mapping (map_lazy_locked). */
	atomic_store(&in->map.lazy, (how & MMAPFS_OPEN_EMPTY) != 0);
	if ((how & MMAPFS_OPEN_GIVE_FD) && h->fd >= 0) {
		/* The create's own read-write descriptor, opened without
		 * status flags (ops_file.c create_gives_fd): no reopen, and
		 * nothing for libmmapio to ask. */
		fd = h->fd;
		h->fd = -1;
		return map_fd_locked(in, fd, O_RDWR, st);
	}

	assert(pfd >= 0);	/* only a create that gives its fd has none */
	mmapfs_fd_procpath(pfd, proc, sizeof(proc));
	fd = open(proc, O_RDWR | O_CLOEXEC);
	if (fd < 0 && mmapfs_fdcache_relieve(errno))
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
	res = map_fd_locked(in, fd, rw ? O_RDWR : O_RDONLY, NULL);
	if (res == 0 && in->map.mf && in->map.settings.prefetch_on_open)
		(void)mmapio_prefetch(in->map.mf, 0, mmapio_len(in->map.mf));
	return res;
}

/* libmmapio's sticky flush error of mf (0 or -errno). */
static int mf_sticky_error(struct mmapio_file *mf)
{
	struct mmapio_stats st;

	mmapio_stats(mf, &st);
	return st.sticky_error;
}

/* True when unmapping mf now would sync: the close rule flushes what is
 * pending under any policy but never. */
static bool unmap_would_sync(struct mmapio_file *mf)
{
	struct mmapio_policy p;

	mmapio_flush_policy(mf, &p);
	return p.kind != MMAPIO_POLICY_NEVER &&
	       (mmapio_pending_bytes(mf) || mmapio_pending_writes(mf));
}

/* The mapping whose counters are st went: keeps them in counts_carry.
 * in->lock held. */
static void counts_fold_locked(struct mmapfs_inode *in,
			       const struct mmapio_stats *st)
{
	assert(mmapfs_lock_held(&in->map.lock));
	mmapfs_file_counts_add_delta(&in->map.counts_carry, st,
				     &in->map.counts_base);
	memset(&in->map.counts_base, 0, sizeof(in->map.counts_base));
}

void mmapfs_mapping_counts_locked(struct mmapfs_inode *in,
				  struct mmapfs_file_counts *out)
{
	struct mmapio_stats st;

	assert(mmapfs_lock_held(&in->map.lock));
	*out = in->map.counts_carry;
	if (in->map.mf) {
		mmapio_stats(in->map.mf, &st);
		mmapfs_file_counts_add_delta(out, &st, &in->map.counts_base);
	}
}

/* What the last release took out of an inode, to be closed once its lock
 * is dropped: closing may flush (the close rule of the policy). The
 * counters are filed in the table of recently closed files then. */
struct released {
	struct mmapio_file *mf;  /* NULL: none */
	bool was_mapped;
	uint64_t mapped_len;     /* its share of mapped_bytes */
	int map_fd;              /* -1: none */
	char *relpath;
	struct mmapfs_inode *in; /* alive until the release is answered */
	struct mmapfs_closed_file closed;   /* relpath set at the filing */
	struct mmapio_stats base;           /* counts_base of mf */
};

/* Files the counters of a release as they are now, before the close
 * rule's flush, so that the file keeps a row in the stats while its
 * release finishes with no lock held (release_count() then replaces the
 * entry with the final counters). */
static void file_provisional(const struct released *r)
{
	struct mmapfs_closed_file f = r->closed;
	struct mmapio_stats st;

	f.relpath = r->relpath;
	if (r->mf) {
		mmapio_stats(r->mf, &st);
		mmapfs_file_counts_add_delta(&f.counts, &st, &r->base);
		f.size = mmapio_len(r->mf);
		f.rw = mmapio_mode(r->mf) == MMAPIO_RW;
	}
	(void)mmapfs_closed_put(&f);   /* a failure: release_count() retries */
}

/* Takes the mapping, descriptor and path out of in (its last release, or
 * a failed first open). in->lock held. */
static void release_detach_locked(struct mmapfs_inode *in,
				  struct released *r)
{
	assert(mmapfs_lock_held(&in->map.lock));
	r->mf = in->map.mf;
	r->was_mapped = r->mf && mmapio_is_mapped(r->mf);
	if (r->mf)
		unlock_accounting(in);
	r->mapped_len = in->map.mapped_len;
	in->map.mapped_len = 0;
	in->map.mf = NULL;
	r->map_fd = in->map.map_fd;
	in->map.map_fd = -1;
	r->relpath = in->map.relpath;
	in->map.relpath = NULL;
	in->map.evict_error = 0;
	in->map.evict_state = MMAPFS_EVICT_NONE;
	in->map.map_unmapped = false;
	in->map.demote = false;
	atomic_store(&in->map.stale, false);
	atomic_store(&in->map.lazy, false);
	memset(&r->closed, 0, sizeof(r->closed));
	r->in = in;
	r->closed.dev = in->dev;
	r->closed.ino = in->ino;
	r->closed.policy = in->map.settings.flush;
	r->closed.counts = in->map.counts_carry;
	r->base = in->map.counts_base;
	memset(&in->map.counts_carry, 0, sizeof(in->map.counts_carry));
	memset(&in->map.counts_base, 0, sizeof(in->map.counts_base));
	file_provisional(r);
}

/* Files the counters of a released file in the table of recently closed
 * files, under its current path (it may have been renamed since its first
 * open). No lock held. */
static void file_closed(struct released *r)
{
	char *path = NULL;

	r->closed.relpath = r->relpath;
	if (!mmapfs_file_counts_zero(&r->closed.counts) && r->in &&
	    mmapfs_inode_path(r->in, &path) == 0)
		r->closed.relpath = path;
	if (mmapfs_closed_put(&r->closed) < 0)
		mmapfs_warn("%s: counters lost at close: out of memory",
			    r->relpath ? r->relpath : "?");
	free(path);
	memset(&r->closed.counts, 0, sizeof(r->closed.counts));
}

/* The counters of a released mapping: the close rule's flush is run
 * here, before the close would run it, so that it is counted. No lock
 * held. */
static void release_count(struct released *r)
{
	struct mmapio_stats st;
	struct stat sb;
	int res;

	if (r->mf) {
		if (unmap_would_sync(r->mf)) {
			res = mmapio_flush(r->mf);
			if (res < 0)
				mmapfs_debug("%s: close-rule flush failed: %s",
					     r->relpath, strerror(-res));
		}
		mmapio_stats(r->mf, &st);
		mmapfs_file_counts_add_delta(&r->closed.counts, &st, &r->base);
		r->closed.size = mmapio_len(r->mf);
		r->closed.rw = mmapio_mode(r->mf) == MMAPIO_RW;
		file_closed(r);
		return;
	}
	if (r->map_fd >= 0) {
		if (fstat(r->map_fd, &sb) == 0)
			r->closed.size = (uint64_t)sb.st_size;
		r->closed.rw = (fcntl(r->map_fd, F_GETFL) & O_ACCMODE) ==
			       O_RDWR;
	}
	file_closed(r);
}

/* Closes what release_detach_locked() took, with no lock held. */
static void release_finish(struct released *r)
{
	release_count(r);
	if (r->mf) {
		int res = mmapio_close(r->mf);

		if (res < 0)
			mmapfs_err("%s: flush at close failed: %s", r->relpath,
				   strerror(-res));
		else
			mmapfs_debug("%s: unmapped (last close)", r->relpath);
		if (r->was_mapped)
			atomic_fetch_sub(&mapped_count, 1);
		atomic_fetch_sub(&mapped_bytes, r->mapped_len);
	}
	if (r->map_fd >= 0)
		close(r->map_fd);
	free(r->relpath);
}

/* Unmaps in's mapping and keeps its descriptor for the next request
 * (eviction). in->lock held, no request in flight, and nothing for the
 * unmap to sync (unmap_would_sync() false): the flush happened before,
 * outside the lock. Returns 0, -EBUSY (another reference holds the
 * mapping: a view, a flush of every file; nothing changed) or the sticky
 * error the library reported at the unmap (kept in evict_error). */
static int unmap_locked(struct mmapfs_inode *in)
{
	uint64_t locked = in->map.locked_bytes;
	bool was_mapped = mmapio_is_mapped(in->map.mf);
	struct mmapio_stats st;
	int fd, res;

	assert(mmapfs_lock_held(&in->map.lock));
	/* Nothing to sync: what the mapping counted is final. */
	mmapio_stats(in->map.mf, &st);
	unlock_accounting(in);
	res = mmapio_unmap(in->map.mf, &fd);
	if (res == -EBUSY) {
		in->map.locked_bytes = locked;
		atomic_fetch_add(&locked_total, locked);
		return res;
	}
	/* Unmapped, also when it reported an error. */
	counts_fold_locked(in, &st);
	mmapfs_count(MMAPFS_CNT_EVICTIONS, 1);
	in->map.evict_state = MMAPFS_EVICT_NONE;
	in->map.mf = NULL;
	if (was_mapped)
		atomic_fetch_sub(&mapped_count, 1);
	account_len_locked(in);
	atomic_store(&in->map.stale, false);
	in->map.map_fd = fd;
	if (res < 0 && !in->map.evict_error)
		in->map.evict_error = res;
	return res;
}

/* Flushes mf (a reference of the caller's, dropped here) with no lock
 * held: the slow part of an eviction. */
static void flush_before_unmap(struct mmapio_file *mf, const char *why)
{
	int res = mmapio_flush(mf);

	if (res < 0)
		mmapfs_err("flush before %s failed: %s", why, strerror(-res));
	res = mmapio_close(mf);
	if (res < 0)
		mmapfs_err("flush at close failed: %s", strerror(-res));
}

/* True when the sweep may unmap in now: mapped, no request in flight,
 * not being flushed by another sweep, and without a sticky error unless
 * its eviction's own flush left it (libmmapio forgets a sticky error with
 * the last mapping; evict_error keeps the one the unmap reports). in->lock
 * held. */
static bool evictable_locked(struct mmapfs_inode *in)
{
	assert(mmapfs_lock_held(&in->map.lock));
	if (!in->map.mf || !mmapio_is_mapped(in->map.mf) ||
	    in->map.inflight > 0 ||
	    in->map.evict_state == MMAPFS_EVICT_FLUSHING)
		return false;
	return in->map.evict_state == MMAPFS_EVICT_FLUSHED ||
	       !mf_sticky_error(in->map.mf);
}

/* After an eviction flushed in with no lock held: in may have been
 * released, even freed, meanwhile, so it is looked for on the open list
 * before it is touched; if still open, the next sweep may unmap it. */
static void flushed_for_eviction(struct mmapfs_inode *in)
{
	mmapfs_lock(&open_lock);
	for (struct mmapfs_inode *o = open_list; o; o = o->map.open_next) {
		if (o != in)
			continue;
		mmapfs_lock(&in->map.lock);
		if (in->map.evict_state == MMAPFS_EVICT_FLUSHING)
			in->map.evict_state = MMAPFS_EVICT_FLUSHED;
		mmapfs_unlock(&in->map.lock);
		break;
	}
	mmapfs_unlock(&open_lock);
}

/* How many flushes one sweep may wait for before it leaves the cap
 * exceeded (files written to without pause would keep it busy). */
#define EVICT_FLUSHES_PER_SWEEP 8

/* Unmaps the least recently used idle mappings while over the cap. The
 * sweep chooses under the open-list lock; a victim with writes its policy
 * would flush at the unmap is flushed first with no lock held, and
 * chosen again. */
static void evict_if_needed(void)
{
	unsigned flushes = 0;

	while (atomic_load(&mapped_count) > atomic_load(&max_mapped) ||
	       atomic_load(&mapped_bytes) > atomic_load(&max_bytes)) {
		struct mmapfs_inode *in, *victim = NULL, *flushing = NULL;
		struct mmapio_file *to_flush = NULL;
		uint64_t steps = 0, limit;
		int res;

		mmapfs_lock(&open_lock);
		limit = 2 * atomic_load(&mapped_count) + 2;
		for (in = clock_hand ? clock_hand : open_list;
		     in && steps < limit && !victim; steps++) {
			struct mmapfs_inode *next = in->map.open_next ?
				in->map.open_next : open_list;

			mmapfs_lock(&in->map.lock);
			if (evictable_locked(in) &&
			    !atomic_exchange(&in->map.referenced, false)) {
				victim = in;	/* its lock stays held */
				clock_hand = next;
				break;
			}
			mmapfs_unlock(&in->map.lock);
			in = next;
		}
		if (victim && unmap_would_sync(victim->map.mf)) {
			if (flushes++ < EVICT_FLUSHES_PER_SWEEP) {
				to_flush = mmapio_ref(victim->map.mf);
				flushing = victim;
				victim->map.evict_state = MMAPFS_EVICT_FLUSHING;
			}
			mmapfs_unlock(&victim->map.lock);
			victim = NULL;
		} else if (victim) {
			res = unmap_locked(victim);
			if (res == 0)
				mmapfs_debug("%s: unmapped (max_mapped_files)",
					     victim->map.relpath);
			else if (res != -EBUSY)
				mmapfs_err("%s: unmapped (max_mapped_files); "
					   "its sticky error: %s",
					   victim->map.relpath, strerror(-res));
			mmapfs_unlock(&victim->map.lock);
			if (res == -EBUSY)
				victim = NULL;
		}
		mmapfs_unlock(&open_lock);
		if (to_flush) {
			flush_before_unmap(to_flush, "eviction");
			flushed_for_eviction(flushing);
			continue;
		}
		if (!victim)
			return;
	}
}

/* A demoted file with no request in flight: unmapped now, mapped again
 * by the next request without a mapping. Returns a reference to flush
 * with no lock held (the unmap would sync) before trying again, or NULL.
 * in->lock held. */
static struct mmapio_file *demote_locked(struct mmapfs_inode *in)
{
	int res;

	assert(mmapfs_lock_held(&in->map.lock));
	if (!in->map.demote || in->map.inflight > 0 ||
	    in->map.evict_state == MMAPFS_EVICT_FLUSHING)
		return NULL;
	if (!in->map.mf || !mmapio_is_mapped(in->map.mf)) {
		in->map.demote = false;
		return NULL;
	}
	if (unmap_would_sync(in->map.mf))
		return mmapio_ref(in->map.mf);
	res = unmap_locked(in);
	if (res == -EBUSY)
		return NULL;	/* a view still replying: a later unpin */
	in->map.demote = false;
	in->map.map_unmapped = true;
	mmapfs_notice("%s: served by pread/pwrite from now on (its mapping "
		      "could not grow with it, or it outgrew "
		      "max_mapped_bytes)", in->map.relpath);
	return NULL;
}

void mmapfs_mapping_cannot_follow(struct mmapfs_inode *in, int err)
{
	mmapfs_lock(&in->map.lock);
	if (in->map.mf && mmapio_is_mapped(in->map.mf) &&
	    !atomic_load(&in->map.stale)) {
		atomic_store(&in->map.stale, true);
		in->map.demote = true;
		mmapfs_info("%s: the mapping cannot grow with the file (%s): "
			    "reads and writes go around it", in->map.relpath,
			    strerror(-err));
	}
	mmapfs_unlock(&in->map.lock);
}

bool mmapfs_mapping_stale(struct mmapfs_inode *in)
{
	return atomic_load_explicit(&in->map.stale, memory_order_acquire);
}

static bool map_lazy_locked(struct mmapfs_inode *in);

int mmapfs_mapping_open(struct mmapfs_inode *in, struct mmapfs_handle *h,
			unsigned how, const struct stat *st, bool *changed)
{
	bool created = (how & MMAPFS_OPEN_CREATED) != 0, size_known;
	struct stat now;
	int res = 0, pfd = -1;

	/* A create that gives its descriptor needs none of the inode's: the
	 * mapping takes the create's, and a new file has no outside change
	 * to check (a new file's inode may have none open: inode.c). */
	if (!created || !(how & MMAPFS_OPEN_GIVE_FD)) {
		pfd = mmapfs_inode_fd_get(in);
		if (pfd < 0)
			return pfd;
	}
	mmapfs_lock(&in->map.lock);
	if (in->map.open_count == 0) {
		res = first_open_locked(in, pfd, h, how, st);
		if (res < 0) {
			struct released r;

			release_detach_locked(in, &r);
			mmapfs_unlock(&in->map.lock);
			if (pfd >= 0)
				mmapfs_inode_fd_put(in);
			release_finish(&r);
			return res;
		}
		/* Watched from WATCH_DELAY_MS on; the watcher checks it
		 * once then, for changes between this check and its watch. */
		mmapfs_outside_watch_later(in);
	} else if (!(how & MMAPFS_OPEN_EMPTY)) {
		/* A plain open of a file still mapped lazily (the release of
		 * the open that created it may not have arrived yet: FUSE
		 * sends RELEASE in the background) maps it, as its first
		 * open would have. */
		(void)map_lazy_locked(in);
	}
	/* The kernel's cache of the file may predate a change made from
	 * outside (it outlives closes: keep_cache). A file just created has
	 * none; a change from outside after this check is seen by the
	 * watcher (its check after adding the watch, then its events), or
	 * by the next check (its ctime is newer than any this daemon has
	 * seen). */
	*changed = !created && mmapfs_outside_check_fresh(in, pfd, &now);
	size_known = *changed;
	/* Under outside_changes = ignore nothing is checked, but an open
	 * still follows the file's size, so a file grown or cut behind the
	 * daemon's back reads as long as it is from its next open on. */
	if (!created && !mmapfs_outside_noticed())
		size_known = fstat(pfd, &now) == 0;
	if (size_known && in->map.mf && in->map.inflight == 0 &&
	    (uint64_t)now.st_size != mmapio_len(in->map.mf))
		(void)mmapio_refresh(in->map.mf);
	if (pfd >= 0)
		mmapfs_inode_fd_put(in);
	in->map.open_count++;
	h->inode = in;
	h->prev = NULL;
	h->next = in->map.handles;
	if (in->map.handles)
		in->map.handles->prev = h;
	in->map.handles = h;
	atomic_store(&in->map.referenced, true);
	mmapfs_unlock(&in->map.lock);
	list_sync(in);
	evict_if_needed();
	return 0;
}

void mmapfs_mapping_release(struct mmapfs_inode *in, struct mmapfs_handle *h)
{
	struct released r = { .map_fd = -1 };

	mmapfs_lock(&in->map.lock);
	handle_unlink_locked(in, h);
	if (--in->map.open_count == 0) {
		/* Before the reply: no FORGET can free in under the
		 * watcher (outside.c). */
		mmapfs_outside_watch_remove(in);
		release_detach_locked(in, &r);
	}
	mmapfs_unlock(&in->map.lock);
	list_sync(in);
	/* The close rule's flush, with no lock held (the file may be
	 * opened again meanwhile: its pending counts belong to the file,
	 * so the policy's bound still holds). */
	release_finish(&r);
	mmapfs_handle_free(h);
}

/* Maps in again from the descriptor its unmap kept (map_fd). Returns
 * true when in has an mf again. in->lock held. */
static bool remap_locked(struct mmapfs_inode *in)
{
	int fd = in->map.map_fd;
	int fl = fcntl(fd, F_GETFL);

	assert(mmapfs_lock_held(&in->map.lock));
	in->map.map_fd = -1;
	if (map_fd_locked(in, fd, fl, NULL) < 0)
		mmapfs_err("%s: cannot map again after eviction; its opens "
			   "fail with EIO (ops_file.c data_fd)",
			   in->map.relpath);
	return in->map.mf != NULL;
}

/* A lazily mapped file (in->lazy) is mapped now, in place (mmapio_map:
 * the same mf, its pending counts unchanged). A file the kernel will not
 * map stays served by pread/pwrite. Returns true when it mapped one.
 * in->lock held. */
static bool map_lazy_locked(struct mmapfs_inode *in)
{
	int res;

	assert(mmapfs_lock_held(&in->map.lock));
	if (!atomic_load(&in->map.lazy))
		return false;
	atomic_store(&in->map.lazy, false);
	if (!in->map.mf || mmapio_is_mapped(in->map.mf))
		return false;
	res = mmapio_map(in->map.mf);
	if (res < 0) {
		mmapfs_info("%s: cannot be mapped (%s): served by pread/pwrite",
			    in->map.relpath, strerror(-res));
		return false;
	}
	mapped_locked(in);
	return true;
}

void mmapfs_mapping_map(struct mmapfs_inode *in)
{
	bool mapped;

	mmapfs_lock(&in->map.lock);
	mapped = map_lazy_locked(in);
	mmapfs_unlock(&in->map.lock);
	if (mapped)	/* the caller's pin keeps in itself from the sweep */
		evict_if_needed();
}

bool mmapfs_mapping_lazy(struct mmapfs_inode *in)
{
	return atomic_load_explicit(&in->map.lazy, memory_order_relaxed);
}

/* mmapfs_mapping_get (map: a lazily mapped file is mapped first) and
 * mmapfs_mapping_get_lazy. */
static struct mmapio_file *get(struct mmapfs_inode *in, bool map)
{
	struct mmapio_file *mf;
	bool remapped = false;

	mmapfs_lock(&in->map.lock);
	if (!in->map.mf && in->map.map_fd >= 0)
		remapped = remap_locked(in);
	if (map && map_lazy_locked(in))
		remapped = true;
	in->map.inflight++;
	/* The caller's own reference: the last RELEASE may close the
	 * inode's mapping while a request without a file handle (setattr by
	 * path, a control command) still uses it. */
	mf = in->map.mf ? mmapio_ref(in->map.mf) : NULL;
	mmapfs_unlock(&in->map.lock);
	atomic_store_explicit(&in->map.referenced, true, memory_order_relaxed);
	if (remapped)
		evict_if_needed();
	return mf;
}

struct mmapio_file *mmapfs_mapping_get(struct mmapfs_inode *in)
{
	return get(in, true);
}

struct mmapio_file *mmapfs_mapping_get_lazy(struct mmapfs_inode *in)
{
	return get(in, false);
}

void mmapfs_mapping_put(struct mmapfs_inode *in, struct mmapio_file *mf)
{
	/* Usually not the last reference; when it is, this applies the
	 * close rule of the policy that the release left to us. Dropped
	 * before the pin, so an eviction that sees no request in flight
	 * holds the only reference (mmapio_unmap needs it). */
	int res = mmapio_close(mf);

	struct mmapio_file *to_flush;
	bool over;

	if (res < 0)
		mmapfs_err("flush at close failed: %s", strerror(-res));
	mmapfs_lock(&in->map.lock);
	in->map.inflight--;
	/* The request may have grown the file: its address space counts,
	 * and a file grown past max_mapped_bytes goes to pread/pwrite. */
	account_len_locked(in);
	if (in->map.mapped_len > atomic_load(&max_bytes))
		in->map.demote = true;
	to_flush = demote_locked(in);
	mmapfs_unlock(&in->map.lock);
	if (to_flush) {
		/* The request still holds the kernel's inode: in stays. */
		flush_before_unmap(to_flush, "demotion");
		mmapfs_lock(&in->map.lock);
		to_flush = demote_locked(in);
		mmapfs_unlock(&in->map.lock);
		if (to_flush)	/* written again meanwhile: a later unpin */
			(void)mmapio_close(to_flush);
	}
	over = atomic_load(&mapped_bytes) > atomic_load(&max_bytes);
	if (over)
		evict_if_needed();
}

bool mmapfs_mapping_has_fd(struct mmapfs_inode *in)
{
	bool has;

	mmapfs_lock(&in->map.lock);
	has = in->map.mf || in->map.map_fd >= 0;
	mmapfs_unlock(&in->map.lock);
	return has;
}

int mmapfs_mapping_dup_fd(struct mmapfs_inode *in)
{
	int fd;

	mmapfs_lock(&in->map.lock);
	fd = in->map.mf ? mmapio_fd(in->map.mf) : in->map.map_fd;
	if (fd >= 0) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = -ENOENT;
	}
	mmapfs_unlock(&in->map.lock);
	return fd;
}

int mmapfs_mapping_sticky_error(struct mmapfs_inode *in)
{
	int err = 0;

	mmapfs_lock(&in->map.lock);
	if (in->map.mf)
		err = mf_sticky_error(in->map.mf);
	if (!err)
		err = in->map.evict_error;
	mmapfs_unlock(&in->map.lock);
	return err;
}

bool mmapfs_mapping_check_size(struct mmapfs_inode *in, off_t size)
{
	bool changed = false;

	mmapfs_lock(&in->map.lock);
	if (in->map.mf && in->map.inflight == 0 &&
	    (uint64_t)size != mmapio_len(in->map.mf)) {
		int64_t res = mmapio_refresh(in->map.mf);

		if (res < 0 && !atomic_load(&in->map.stale)) {
			/* Grown from outside past what can be mapped: as for
			 * the daemon's own growth (which set stale before and
			 * is not reported again), reads go around the
			 * mapping and the next unpin replaces it. */
			mmapfs_warn("%s: cannot follow a size change from "
				    "outside: %s", in->map.relpath,
				    strerror((int)-res));
			atomic_store(&in->map.stale, true);
			in->map.demote = true;
		}
		changed = true;
	}
	account_len_locked(in);
	mmapfs_unlock(&in->map.lock);
	return changed;
}

int mmapfs_settings_effective(struct mmapfs_inode *in,
			      struct mmapfs_file_settings *out)
{
	struct mmapfs_config *cfg;
	bool known = false, overridden;
	char *rel;
	int res;

	mmapfs_lock(&in->map.lock);
	if (in->map.open_count > 0 && in->map.relpath) {
		known = true;
		*out = in->map.settings;
	}
	mmapfs_unlock(&in->map.lock);
	if (known)
		return 0;
	res = mmapfs_inode_path(in, &rel);
	if (res < 0)
		return res;
	cfg = mmapfs_config_current();
	mmapfs_config_settings_for(cfg, rel, out);
	mmapfs_config_unref(cfg);
	free(rel);
	mmapfs_lock(&in->map.lock);
	overridden = in->map.policy_override;
	if (overridden)
		out->flush = in->map.override_policy;
	mmapfs_unlock(&in->map.lock);
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
	mmapfs_lock(&in->map.lock);
	overridden = in->map.policy_override;
	mmapfs_unlock(&in->map.lock);
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

	if (p && p->kind != MMAPIO_POLICY_NEVER && mmapfs_d.writeback_cache) {
		/* The kernel acknowledges writes before the daemon sees
		 * them: no policy but never can hold on this mount. */
		mmapfs_err(".ctl/policy: only 'never' on a mount with the "
			   "writeback cache (writeback_cache = true): remount "
			   "without it for another policy");
		return -EINVAL;
	}
	mmapfs_lock(&policy_lock);
	mmapfs_lock(&in->map.lock);
	in->map.policy_override = p != NULL;
	if (p)
		in->map.override_policy = *p;
	if (in->map.relpath) {
		/* Open: its settings are in use; back to the config's
		 * policy for `default`. */
		if (p) {
			in->map.settings.flush = *p;
		} else {
			cfg = mmapfs_config_current();
			mmapfs_config_settings_for(cfg, in->map.relpath, &s);
			mmapfs_config_unref(cfg);
			in->map.settings.flush = s.flush;
		}
		if (in->map.mf)
			mf = mmapio_ref(in->map.mf);
		now = in->map.settings.flush;
	}
	mmapfs_unlock(&in->map.lock);
	/* A stricter policy may flush at once: outside the inode lock. */
	if (mf) {
		res = mmapio_set_policy(mf, &now);
		if (mmapio_close(mf) < 0 && res == 0)
			res = -EIO;
	}
	mmapfs_unlock(&policy_lock);
	return res;
}

/* Puts the file's event counters c into st (the library's counters
 * restart with each mapping; the file's are kept here). */
static void stats_set_counts(struct mmapio_stats *st,
			     const struct mmapfs_file_counts *c)
{
	st->writes = c->writes;
	st->bytes_written = c->bytes_written;
	st->flushes = c->flushes;
	st->flush_errors = c->flush_errors;
	st->last_flush_ns = c->last_flush_ns;
}

int mmapfs_mapping_stats(struct mmapfs_inode *in, struct mmapio_stats *st,
			 bool *mapped)
{
	struct mmapfs_file_counts counts;
	bool counted = false, open;

	memset(st, 0, sizeof(*st));
	*mapped = false;
	mmapfs_lock(&in->map.lock);
	open = in->map.open_count > 0;
	if (in->map.mf) {
		*mapped = mmapio_is_mapped(in->map.mf);
		mmapio_stats(in->map.mf, st);
		counted = true;
	}
	if (open)
		mmapfs_mapping_counts_locked(in, &counts);
	mmapfs_unlock(&in->map.lock);
	/* No mf: the library may still keep its counters (closed or
	 * evicted with writes pending under never). */
	if (!counted)
		(void)mmapio_stats_by_id(in->dev, in->ino, st);
	/* The file's own counters: kept across evictions while open, in
	 * the table of recently closed files after its close. */
	if (open || mmapfs_closed_find(in->dev, in->ino, &counts))
		stats_set_counts(st, &counts);
	return 0;
}

void mmapfs_mapping_for_each_open(void (*fn)(struct mmapfs_inode *in,
					     void *ctx), void *ctx)
{
	mmapfs_lock(&open_lock);
	for (struct mmapfs_inode *in = open_list; in; in = in->map.open_next)
		fn(in, ctx);
	mmapfs_unlock(&open_lock);
}

/* A policy to apply to one open mapping once the locks are dropped. */
struct policy_change {
	struct mmapio_file *mf;  /* a reference of the change's own */
	struct mmapio_policy policy;
	char *relpath;
};

/* Collects the open mappings' new policies under the locks. */
struct policy_changes {
	struct policy_change *v;
	size_t n, cap;
	bool short_of_memory;
};

static void collect_change_locked(struct mmapfs_inode *in,
				  struct policy_changes *pc)
{
	struct policy_change *c;

	assert(mmapfs_lock_held(&in->map.lock));
	if (!in->map.mf)
		return;
	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? 2 * pc->cap : 64;
		struct policy_change *v = reallocarray(pc->v, cap, sizeof(*v));

		if (!v) {
			pc->short_of_memory = true;
			return;
		}
		pc->v = v;
		pc->cap = cap;
	}
	c = &pc->v[pc->n++];
	c->mf = mmapio_ref(in->map.mf);
	c->policy = in->map.settings.flush;
	c->relpath = in->map.relpath ? strdup(in->map.relpath) : NULL;
}

/* Applies the collected policies with no lock held (a stricter policy
 * may flush at once). */
static void apply_changes(struct policy_changes *pc)
{
	if (pc->short_of_memory)
		mmapfs_err("reload: out of memory: some open files keep their "
			   "previous policy until they are opened again");
	for (size_t i = 0; i < pc->n; i++) {
		struct policy_change *c = &pc->v[i];
		int res = mmapio_set_policy(c->mf, &c->policy);

		if (res < 0)
			mmapfs_err("%s: flush on policy change failed: %s",
				   c->relpath ? c->relpath : "?",
				   strerror(-res));
		res = mmapio_close(c->mf);
		if (res < 0)
			mmapfs_err("%s: flush at close failed: %s",
				   c->relpath ? c->relpath : "?",
				   strerror(-res));
		free(c->relpath);
	}
	free(pc->v);
}

void mmapfs_mapping_apply_config(const struct mmapfs_config *c)
{
	const struct mmapfs_global_settings *g = mmapfs_config_global(c);
	struct policy_changes pc = { 0 };

	atomic_store(&max_mapped, g->max_mapped_files);
	atomic_store(&max_bytes, g->max_mapped_bytes ? g->max_mapped_bytes :
				 auto_max_bytes());
	atomic_store(&max_locked, g->max_locked_bytes);
	mmapfs_lock(&policy_lock);
	mmapfs_lock(&open_lock);
	for (struct mmapfs_inode *in = open_list; in; in = in->map.open_next) {
		mmapfs_lock(&in->map.lock);
		if (in->map.relpath) {
			mmapfs_config_settings_for(c, in->map.relpath,
						   &in->map.settings);
			override_apply_locked(in);
			collect_change_locked(in, &pc);
			if (in->map.mf)
				lock_if_asked(in);
		}
		mmapfs_unlock(&in->map.lock);
	}
	mmapfs_unlock(&open_lock);
	apply_changes(&pc);
	mmapfs_unlock(&policy_lock);
	evict_if_needed();
}

/* How often .ctl/evict flushes a file that keeps being written before it
 * gives up with EBUSY. */
#define EVICT_TRIES 3

int mmapfs_mapping_evict(struct mmapfs_inode *in)
{
	for (int tries = 0; tries < EVICT_TRIES; tries++) {
		struct mmapio_file *to_flush = NULL;
		int res = 0;

		mmapfs_lock(&in->map.lock);
		if (in->map.mf && in->map.inflight > 0)
			res = -EBUSY;
		else if (in->map.mf && unmap_would_sync(in->map.mf))
			to_flush = mmapio_ref(in->map.mf);
		else if (in->map.mf)
			res = unmap_locked(in);
		mmapfs_unlock(&in->map.lock);
		if (!to_flush)
			return res;
		/* The close rule's flush, before the unmap and outside the
		 * lock; then try again. */
		flush_before_unmap(to_flush, ".ctl/evict");
	}
	return -EBUSY;
}

int mmapfs_mapping_reserve_lock_budget(uint64_t n)
{
	if (atomic_fetch_add(&locked_total, n) + n > atomic_load(&max_locked)) {
		atomic_fetch_sub(&locked_total, n);
		return -ENOMEM;
	}
	return 0;
}

void mmapfs_mapping_unreserve_lock_budget(uint64_t n)
{
	atomic_fetch_sub(&locked_total, n);
}

/* At exit, after the session loop ended: no request runs, so holding the
 * locks across the close rule's flushes stalls nobody. */
void mmapfs_mapping_close_all(void)
{
	unsigned long long files = 0, bytes = 0;

	mmapfs_lock(&open_lock);
	for (struct mmapfs_inode *in = open_list; in; in = in->map.open_next) {
		mmapfs_lock(&in->map.lock);
		if (in->map.mf) {
			struct mmapio_policy pol;
			uint64_t pending = mmapio_pending_bytes(in->map.mf);
			bool was_mapped = mmapio_is_mapped(in->map.mf);
			int res;

			mmapio_flush_policy(in->map.mf, &pol);
			unlock_accounting(in);
			res = mmapio_close(in->map.mf);
			if (res < 0)
				mmapfs_err("%s: flush at exit failed: %s",
					   in->map.relpath, strerror(-res));
			else if (pol.kind != MMAPIO_POLICY_NEVER && pending) {
				files++;
				bytes += pending;
			}
			in->map.mf = NULL;
			if (was_mapped)
				atomic_fetch_sub(&mapped_count, 1);
		}
		if (in->map.map_fd >= 0) {
			close(in->map.map_fd);
			in->map.map_fd = -1;
		}
		mmapfs_unlock(&in->map.lock);
	}
	mmapfs_unlock(&open_lock);
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
	if (atomic_exchange_explicit(&in->map.mtime_tick, tick,
				     memory_order_relaxed) == tick)
		return;
	/* A failure leaves the old times, as a lost update would. */
	(void)futimens(fd, times);
}

void mmapfs_mapping_inode_gone(struct mmapfs_inode *in)
{
	mmapfs_outside_forget(in);
	while (in->map.handles) {
		struct mmapfs_handle *h = in->map.handles;

		in->map.handles = h->next;
		mmapfs_handle_free(h);
	}
	if (in->map.mf)
		(void)mmapio_close(in->map.mf);
	if (in->map.map_fd >= 0)
		close(in->map.map_fd);
	free(in->map.relpath);
	in->map.relpath = NULL;
}
