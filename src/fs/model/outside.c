/*
 * outside.c — notices changes made to backing files from outside the
 * mount, so the kernel's cache of the mount can be dropped for them and
 * only for them.
 *
 * Why: the kernel keeps the mount's page cache across opens (keep_cache)
 * and is not told when another process writes the backing file. libfuse's
 * auto_inval_data would have the kernel drop a file's cache whenever a
 * GETATTR reply shows a new mtime — which is also the case after every
 * write through the mount, and dropping the cache while another client's
 * write is between the kernel's cache and the daemon let readers see the
 * old bytes again (docs/reliability.md, "stale read"). So the daemon tells
 * its own changes from others' itself, and the kernel's cache is dropped
 * only for the latter.
 *
 * Design:
 *   - Every change the daemon makes to a file (write, truncate, fallocate,
 *     copy_file_range, setattr, xattrs, link) or to a directory's entries
 *     (create, mknod, mkdir, symlink, link, unlink, rmdir, rename: the
 *     parents) is bracketed by
 *     mmapfs_own_change_begin/end. The end stats the file and raises the
 *     inode's change_seen_ns to its ctime; for writes and truncations
 *     (end_data) it first drops what killpriv_v2 leaves to the daemon
 *     (kernel_io.c), inside the bracket. Reading the ctime is what makes
 *     this exact: Linux (6.13+, multigrain timestamps on ext4, xfs, btrfs,
 *     tmpfs) gives the next change after a ctime was read a fine-grained
 *     ctime greater than the one read, so any later change from outside
 *     has ctime > change_seen_ns. On file systems with coarse timestamps
 *     only, an outside change within the same clock tick as a change
 *     through the mount can go unnoticed (as it would with mtime checks).
 *   - A begin with no other change of ours in flight stats the file
 *     first: a ctime newer than change_seen_ns there is a change from
 *     outside since our last change ended (reported at once, else this
 *     change's end would take it for its own). Without that, an outside
 *     change followed by a write through the mount before any GETATTR
 *     stayed hidden for good (seen: test_outside_truncation_under_writers_
 *     and_mmaps, 2 runs in 12 under load).
 *   - mmapfs_outside_check() compares fresh attributes with change_seen_ns:
 *     a newer ctime, seen while no own change was in progress or finished
 *     meanwhile (own_busy/own_gen, read before and after the stat), is a
 *     change from outside. Callers: GETATTR and LOOKUP replies (queue an
 *     invalidation), OPEN (open without keep_cache).
 *   - Open files are also watched with inotify (one instance, one thread),
 *     because a client that keeps a descriptor open and reads from the
 *     kernel's cache sends no GETATTR: an event (write, truncate, attribute
 *     change, close after writing) stats the file and runs the check, once
 *     per file per batch; the thread pauses WATCH_PAUSE_MS between batches
 *     so that a stream of writes costs a check per pause. The
 *     daemon's own pwrite/ftruncate/fallocate cause events too; the check
 *     recognises them. Stores into mappings (also an outside process's)
 *     cause no inotify events; those are noticed at the next GETATTR,
 *     LOOKUP or OPEN.
 *   - A file is watched from WATCH_DELAY_MS after its first open on: the
 *     open puts it on the pending list (kicking the watcher only when it
 *     sleeps without a timeout), the watcher adds the watch when it is
 *     due and then runs the check once, for changes made between the
 *     open's check and the watch. A file opened, written and closed
 *     within the delay (most new files) costs no inotify_add_watch, no
 *     inotify_rm_watch and no IN_IGNORED wake-up; its release just takes
 *     it off the list. After the last pending file the watcher keeps
 *     waking every WATCH_DELAY_MS for WATCH_LINGER_MS, so a stream of
 *     creates does not kick it for every file.
 *   - A change from outside queues an invalidation (invalidate.c sends it
 *     from its own thread) and forgets the cached absence of
 *     security.capability.
 *   - Directories (cache_readdir): the kernel caches a directory's
 *     listing (FOPEN_CACHE_DIR) and drops it by itself after changes
 *     through the mount. For changes from outside, each opendir stats the
 *     directory and compares its ctime with the one the previous opendir
 *     saw (listing_ctime_ns): when it moved, the opendir replies without
 *     keep_cache, so the kernel lists afresh. Read right after a change
 *     (multigrain timestamps), the ctime moves with every later change.
 *     Directories with open handles are watched too (entry events only):
 *     an event whose directory ctime differs from listing_ctime_ns queues
 *     an invalidation, which drops the listing, so rewinddir(3) on a
 *     handle kept open also sees changes made from outside. Changes
 *     through the mount raise such events as well; their invalidations
 *     are redundant, never wrong.
 *
 * Invariants: an inode is in the watch table exactly while it has open
 * files (directories: open handles) and its watch could be added
 * (watch_wd >= 0); a file is on the pending list (watch_pending) only
 * while open and not yet watched; only the watcher thread adds files'
 * watches (an inode's watches share one wd), and it inserts one into the
 * table only under the inode's lock with the file still open.
 *
 * Locking: watch_lock guards the watch table, the pending list,
 * watcher_idle and every inode's watch_wd, watch_next, watch_pending and
 * pending links; nothing else is taken while it is held. Order:
 * inode.lock -> watch_lock. The watcher finds an inode under watch_lock
 * and counts itself in the inode's watch_users before it lets go; the
 * last release removes the inode from the table (under watch_lock), and
 * freeing the inode after its FORGET waits for watch_users to drop to 0
 * (mmapfs_outside_forget), so the watcher never uses a freed inode.
 */
#include "model/outside.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "logic/clock.h"
#include "logic/log.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/invalidate.h"
#include "model/killpriv.h"

#define WATCH_BUCKETS 1024
#define WATCH_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE)
#define DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define WATCH_BATCH 64      /* events read at once; distinct files checked */
#define WATCH_PAUSE_MS 10   /* between batches: outside changes to open
			     * files are noticed within about this */
#define WATCH_DELAY_MS 10   /* an open file is watched once open this long */
#define WATCH_LINGER_MS 200 /* after the last file waited for its watch, the
			     * watcher wakes every WATCH_DELAY_MS this long
			     * before it sleeps until kicked */
#define NS_PER_MS 1000000LL

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmapfs_inode *watch_table[WATCH_BUCKETS];
static int inotify_fd = -1;
static int stop_fd = -1;
static int kick_fd = -1;   /* wakes a watcher that sleeps without timeout */
/* Open files waiting for their watch, oldest (first due) first; the
 * watcher sleeps until kicked (watcher_idle). Both under watch_lock. */
static struct mmapfs_inode *pending_head, *pending_tail;
static bool watcher_idle;
static bool started;
/* outside_changes = ignore: the admin says the backing files change only
 * through the mount. Set once by mmapfs_outside_start, before requests. */
static bool ignoring;
static atomic_bool warned_add;   /* watchers' add failures said once */
static pthread_t thread;

static void raise_seen(struct mmapfs_inode *in, int64_t ctime_ns)
{
	int64_t seen = atomic_load(&in->out.change_seen_ns);

	while (seen < ctime_ns &&
	       !atomic_compare_exchange_weak(&in->out.change_seen_ns, &seen,
					     ctime_ns))
		;
}

static int stat_fd_or_inode(struct mmapfs_inode *in, int fd, struct stat *st)
{
	return fd >= 0 ? (fstat(fd, st) < 0 ? -errno : 0) :
			 mmapfs_inode_stat(in, st);
}

/* Only regular files are bracketed: nothing reads a directory's (or
 * another object's) change_seen_ns. A directory's listing is checked by
 * its ctime at opendir and by the watcher (listing_moved), and the kernel
 * drops its own cache of a directory the daemon changed for it. Two
 * fstat fewer for every create, unlink, mkdir, rename and link. */
static bool bracketed(const struct mmapfs_inode *in)
{
	return S_ISREG(in->type);
}

/* The end of a change: data (a write, truncation...: drops set-ID bits
 * and capabilities), nocap (the change adds no capability: a known
 * absence of security.capability stays known); known: the attributes
 * already read after the change, or NULL. Returns whether *out (if not
 * NULL) holds the attributes read after it. */
static bool own_change_done(struct mmapfs_inode *in, int fd, bool data,
			    bool nocap, const struct stat *known,
			    struct stat *out)
{
	struct stat st;
	int res = 0;

	if (!bracketed(in))
		return false;
	if (ignoring && !known && !out &&
	    !(data && mmapfs_kill_privs_needs_stat(in))) {
		/* Nothing to tell apart, and nothing to drop. */
		atomic_fetch_add(&in->out.own_gen, 1);
		atomic_fetch_sub(&in->out.own_busy, 1);
		return false;
	}
	if (known)
		st = *known;
	else
		res = stat_fd_or_inode(in, fd, &st);

	/* Without the bracket no ctime was compared since the daemon's last
	 * change: a capability set from outside meanwhile must not hide
	 * behind a cached absence. */
	if (res == 0 && data && ignoring)
		mmapfs_inode_nocap_check(in, &st);
	if (res == 0 && data && mmapfs_kill_privs(in, fd, &st))
		res = stat_fd_or_inode(in, fd, &st);
	if (res == 0) {
		raise_seen(in, mmapfs_ctime_ns(&st));
		/* The daemon's own change added no capability: a known
		 * absence stays known (and under killpriv_v2 a data change
		 * just made it so). */
		if ((data && mmapfs_killpriv_v2()) ||
		    (nocap && mmapfs_inode_nocap_known(in)))
			mmapfs_inode_nocap_set(in, mmapfs_ctime_ns(&st));
		if (out)
			*out = st;
	}
	atomic_fetch_add(&in->out.own_gen, 1);
	atomic_fetch_sub(&in->out.own_busy, 1);
	return res == 0 && out;
}

void mmapfs_own_change_end(struct mmapfs_inode *in, int fd)
{
	own_change_done(in, fd, false, false, NULL, NULL);
}

bool mmapfs_own_change_end_attrs(struct mmapfs_inode *in, int fd,
				 struct stat *st)
{
	return own_change_done(in, fd, false, true, NULL, st);
}

void mmapfs_own_change_end_data(struct mmapfs_inode *in, int fd)
{
	own_change_done(in, fd, true, false, NULL, NULL);
}

void mmapfs_own_change_end_data_seen(struct mmapfs_inode *in, int fd,
				     const struct stat *st)
{
	own_change_done(in, fd, true, false, st, NULL);
}

/* The check proper. st must have been taken between the two reads of
 * own_busy/own_gen that the caller passes (busy0/gen0 before it); mine:
 * the caller's own changes counted in own_busy (1 in a begin, whose
 * change has not started yet; else 0). */
static bool check_stat(struct mmapfs_inode *in, const struct stat *st,
		       unsigned mine, unsigned busy0, unsigned gen0)
{
	int64_t ctime_ns = mmapfs_ctime_ns(st);

	if (ignoring)
		return false;
	if (busy0 != mine || atomic_load(&in->out.own_busy) != mine ||
	    atomic_load(&in->out.own_gen) != gen0)
		return false;	/* ours, or too close to ours to tell */
	if (ctime_ns <= atomic_load(&in->out.change_seen_ns))
		return false;
	raise_seen(in, ctime_ns);
	mmapfs_inode_nocap_forget(in);
	mmapfs_debug("backing inode %llu changed from outside: dropping the "
		     "kernel's cache of it", (unsigned long long)in->ino);
	return true;
}

void mmapfs_own_change_begin(struct mmapfs_inode *in, int fd)
{
	unsigned gen0;
	struct stat st;

	if (!bracketed(in))
		return;
	if (atomic_fetch_add(&in->out.own_busy, 1) != 0 || fd < 0 || ignoring)
		return;	/* another change of ours is in flight: cannot tell */
	gen0 = atomic_load(&in->out.own_gen);
	if (fstat(fd, &st) == 0 && check_stat(in, &st, 1, 1, gen0))
		mmapfs_invalidate_queue(mmapfs_inode_nodeid(in));
}

bool mmapfs_outside_noticed(void)
{
	return !ignoring;
}

bool mmapfs_outside_check(struct mmapfs_inode *in, const struct stat *st)
{
	/* st was taken before this call, so a change of ours that ended in
	 * between is not seen by busy/gen: its ctime is then covered by
	 * change_seen_ns already, which is what is compared. A change of
	 * ours that began before st and is still running is seen by busy. */
	return check_stat(in, st, 0, 0, atomic_load(&in->out.own_gen));
}

bool mmapfs_outside_check_fresh(struct mmapfs_inode *in, int fd,
				struct stat *st)
{
	unsigned busy0 = atomic_load(&in->out.own_busy);
	unsigned gen0 = atomic_load(&in->out.own_gen);

	if (ignoring || stat_fd_or_inode(in, fd, st) < 0)
		return false;
	return check_stat(in, st, 0, busy0, gen0);
}

static struct mmapfs_inode **bucket_of(int wd)
{
	return &watch_table[(unsigned)wd % WATCH_BUCKETS];
}

/* Says once that watches cannot be added (err: inotify_add_watch's). */
static void warn_add_failed(int err)
{
	if (!atomic_exchange(&warned_add, true))
		mmapfs_warn("cannot watch an open file for changes from "
			    "outside (%s; fs.inotify.max_user_watches?): such "
			    "changes are seen at the next stat or open",
			    strerror(err));
}

/* Enters in, watched as wd, in the watch table. watch_lock held. */
static void table_insert_locked(struct mmapfs_inode *in, int wd)
{
	in->out.watch_wd = wd;
	in->out.watch_next = *bucket_of(wd);
	*bucket_of(wd) = in;
}

void mmapfs_outside_watch_add(struct mmapfs_inode *in, int fd)
{
	char proc[64];
	int wd;

	assert(mmapfs_lock_held(&in->map.lock));
	if (inotify_fd < 0 || in->out.watch_wd >= 0)
		return;
	mmapfs_fd_procpath(fd, proc, sizeof(proc));
	pthread_mutex_lock(&watch_lock);
	wd = inotify_add_watch(inotify_fd, proc, S_ISDIR(in->type) ?
			       DIR_EVENTS : WATCH_EVENTS);
	if (wd < 0)
		warn_add_failed(errno);
	else
		table_insert_locked(in, wd);
	pthread_mutex_unlock(&watch_lock);
}

static void pending_unlink_locked(struct mmapfs_inode *in)
{
	if (in->out.pending_prev)
		in->out.pending_prev->out.pending_next = in->out.pending_next;
	else
		pending_head = in->out.pending_next;
	if (in->out.pending_next)
		in->out.pending_next->out.pending_prev = in->out.pending_prev;
	else
		pending_tail = in->out.pending_prev;
	in->out.pending_next = in->out.pending_prev = NULL;
	in->out.watch_pending = false;
}

void mmapfs_outside_watch_later(struct mmapfs_inode *in)
{
	uint64_t one = 1;
	bool kick = false;

	assert(mmapfs_lock_held(&in->map.lock));
	if (inotify_fd < 0)
		return;
	pthread_mutex_lock(&watch_lock);
	if (in->out.watch_wd < 0 && !in->out.watch_pending) {
		in->out.watch_pending = true;
		in->out.pending_due_ns = mmapfs_monotonic_ns() +
					 WATCH_DELAY_MS * NS_PER_MS;
		in->out.pending_next = NULL;
		in->out.pending_prev = pending_tail;
		if (pending_tail)
			pending_tail->out.pending_next = in;
		else
			pending_head = in;
		pending_tail = in;
		kick = watcher_idle;
		watcher_idle = false;
	}
	pthread_mutex_unlock(&watch_lock);
	if (kick && write(kick_fd, &one, sizeof(one)) < 0)
		mmapfs_err("outside-change watcher: cannot wake it: %s",
			   strerror(errno));
}

/* The watcher's part of mmapfs_outside_watch_later: watches in (taken off
 * the pending list; watch_users counts the caller) if it is still open,
 * then checks it once, for a change from outside between its open and
 * the watch. No lock held. */
static void watch_now(struct mmapfs_inode *in)
{
	char proc[64];
	struct stat st;
	bool added = false, drop = false;
	int fd, wd;

	fd = mmapfs_inode_fd_get(in);
	if (fd < 0)
		return;		/* gone: nothing to watch */
	mmapfs_fd_procpath(fd, proc, sizeof(proc));
	wd = inotify_add_watch(inotify_fd, proc, WATCH_EVENTS);
	mmapfs_inode_fd_put(in);
	if (wd < 0) {
		warn_add_failed(errno);
		return;
	}
	mmapfs_lock(&in->map.lock);
	pthread_mutex_lock(&watch_lock);
	if (in->map.open_count > 0 && in->out.watch_wd < 0) {
		table_insert_locked(in, wd);
		added = true;
	} else {
		/* Released meanwhile (or watched already: the same wd). */
		drop = in->out.watch_wd != wd;
	}
	pthread_mutex_unlock(&watch_lock);
	mmapfs_unlock(&in->map.lock);
	if (drop)
		(void)inotify_rm_watch(inotify_fd, wd);
	if (added && mmapfs_outside_check_fresh(in, -1, &st))
		mmapfs_invalidate_queue(mmapfs_inode_nodeid(in));
}

/* Watches the open files that have waited WATCH_DELAY_MS. */
static void watch_due(void)
{
	int64_t now = mmapfs_monotonic_ns();

	for (;;) {
		struct mmapfs_inode *in;

		pthread_mutex_lock(&watch_lock);
		in = pending_head;
		if (!in || in->out.pending_due_ns > now) {
			pthread_mutex_unlock(&watch_lock);
			return;
		}
		pending_unlink_locked(in);
		atomic_fetch_add(&in->out.watch_users, 1);
		pthread_mutex_unlock(&watch_lock);
		watch_now(in);
		atomic_fetch_sub(&in->out.watch_users, 1);
	}
}

void mmapfs_outside_watch_remove(struct mmapfs_inode *in)
{
	struct mmapfs_inode **p;

	assert(mmapfs_lock_held(&in->map.lock));
	pthread_mutex_lock(&watch_lock);
	if (in->out.watch_pending)
		pending_unlink_locked(in);
	if (in->out.watch_wd >= 0) {
		for (p = bucket_of(in->out.watch_wd); *p; p = &(*p)->out.watch_next) {
			if (*p == in) {
				*p = in->out.watch_next;
				break;
			}
		}
		(void)inotify_rm_watch(inotify_fd, in->out.watch_wd);
		in->out.watch_wd = -1;
		in->out.watch_next = NULL;
	}
	pthread_mutex_unlock(&watch_lock);
}

/* Runs the check for the inode watched as wd. The check stats the file
 * (which may reopen its descriptor and take inode.lock), so it runs
 * without watch_lock; watch_users keeps the inode from being freed
 * meanwhile (mmapfs_outside_forget). */
/* True when the directory in changed since the opendir that read the
 * listing the kernel may cache (listing_ctime_ns). */
static bool listing_moved(struct mmapfs_inode *in)
{
	struct stat st;

	return mmapfs_inode_stat(in, &st) == 0 &&
	       mmapfs_ctime_ns(&st) != atomic_load(&in->out.listing_ctime_ns);
}

static void check_watched(int wd)
{
	struct mmapfs_inode *in;
	struct stat st;
	bool changed;

	pthread_mutex_lock(&watch_lock);
	for (in = *bucket_of(wd); in; in = in->out.watch_next) {
		if (in->out.watch_wd == wd)
			break;
	}
	if (in)
		atomic_fetch_add(&in->out.watch_users, 1);
	pthread_mutex_unlock(&watch_lock);
	if (!in)
		return;
	changed = S_ISDIR(in->type) ? listing_moved(in) :
				      mmapfs_outside_check_fresh(in, -1, &st);
	if (changed)
		mmapfs_invalidate_queue(mmapfs_inode_nodeid(in));
	atomic_fetch_sub(&in->out.watch_users, 1);
}

bool mmapfs_outside_dir_opened(struct mmapfs_inode *in, int fd)
{
	struct stat st;
	int64_t ctime_ns;

	if (ignoring)
		return false;
	/* Watched before the stat: a change after it is seen by the
	 * watcher. */
	mmapfs_lock(&in->map.lock);
	if (in->map.handles)
		mmapfs_outside_watch_add(in, fd);
	mmapfs_unlock(&in->map.lock);
	if (fstat(fd, &st) < 0)
		return true;
	ctime_ns = mmapfs_ctime_ns(&st);
	return atomic_exchange(&in->out.listing_ctime_ns, ctime_ns) != ctime_ns;
}

void mmapfs_outside_dir_closed(struct mmapfs_inode *in)
{
	mmapfs_lock(&in->map.lock);
	if (!in->map.handles)
		mmapfs_outside_watch_remove(in);
	mmapfs_unlock(&in->map.lock);
}

/* The queue overflowed: events were lost, so check every open file. */
static void check_all_watched(void)
{
	int *wds = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&watch_lock);
	for (unsigned b = 0; b < WATCH_BUCKETS; b++) {
		for (struct mmapfs_inode *in = watch_table[b]; in;
		     in = in->out.watch_next) {
			if (n == cap) {
				size_t more = cap ? 2 * cap : 256;
				int *p = realloc(wds, more * sizeof(*wds));

				if (!p)
					goto out;
				wds = p;
				cap = more;
			}
			wds[n++] = in->out.watch_wd;
		}
	}
out:
	pthread_mutex_unlock(&watch_lock);
	for (size_t i = 0; i < n; i++)
		check_watched(wds[i]);
	free(wds);
}

/* True when wd is among the first n of seen (adding it when not and there
 * is room). */
static bool seen_before(int *seen, unsigned *n, int wd)
{
	for (unsigned i = 0; i < *n; i++) {
		if (seen[i] == wd)
			return true;
	}
	if (*n < WATCH_BATCH)
		seen[(*n)++] = wd;
	return false;
}

/* Checks each file or directory named by a batch of events once. */
static void handle_events(const char *buf, ssize_t len)
{
	const struct inotify_event *ev;
	int seen[WATCH_BATCH];
	unsigned nseen = 0;

	for (const char *p = buf; p < buf + len;
	     p += sizeof(*ev) + ev->len) {
		ev = (const struct inotify_event *)(const void *)p;
		if (ev->mask & IN_Q_OVERFLOW)
			check_all_watched();
		else if ((ev->mask & (WATCH_EVENTS | DIR_EVENTS)) &&
			 !seen_before(seen, &nseen, ev->wd))
			check_watched(ev->wd);
	}
}

void mmapfs_outside_forget(struct mmapfs_inode *in)
{
	/* An inode freed while open (the table's teardown at exit) may
	 * still wait for its watch. */
	pthread_mutex_lock(&watch_lock);
	if (in->out.watch_pending)
		pending_unlink_locked(in);
	pthread_mutex_unlock(&watch_lock);
	while (atomic_load(&in->out.watch_users))
		sched_yield();
}

/* Milliseconds from now to t for poll (0 when due). */
static int ms_until(int64_t t, int64_t now)
{
	return t <= now ? 0 : (int)((t - now + NS_PER_MS - 1) / NS_PER_MS);
}

static int earlier(int timeout, int ms)
{
	return timeout < 0 || ms < timeout ? ms : timeout;
}

/* The poll timeout (-1: none, idle until kicked) for what is due next:
 * inotify events again after a pause (events_from), the first pending
 * watch, or a lingering wake-up. */
static int next_timeout(int64_t now, int64_t events_from, int64_t *linger)
{
	int timeout = now < events_from ? ms_until(events_from, now) : -1;

	pthread_mutex_lock(&watch_lock);
	if (pending_head) {
		timeout = earlier(timeout,
				  ms_until(pending_head->out.pending_due_ns, now));
		*linger = now + WATCH_LINGER_MS * NS_PER_MS;
	} else if (now < *linger) {
		timeout = earlier(timeout, WATCH_DELAY_MS);
	}
	watcher_idle = timeout < 0;
	pthread_mutex_unlock(&watch_lock);
	return timeout;
}

static void *watch_main(void *arg)
{
	char buf[WATCH_BATCH * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd pfd[3] = {
		{ .fd = inotify_fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
		{ .fd = kick_fd, .events = POLLIN },
	};
	int64_t events_from = 0, linger = 0;

	(void)arg;
	for (;;) {
		int64_t now = mmapfs_monotonic_ns();
		int timeout = next_timeout(now, events_from, &linger);
		uint64_t kicks;
		ssize_t n;

		/* Paused: a negative fd is left out by poll. */
		pfd[0].fd = now < events_from ? -1 : inotify_fd;
		if (poll(pfd, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			mmapfs_err("outside-change watcher: poll: %s",
				   strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if ((pfd[2].revents & POLLIN) &&
		    read(kick_fd, &kicks, sizeof(kicks)) < 0 && errno != EAGAIN)
			mmapfs_err("outside-change watcher: read: %s",
				   strerror(errno));
		if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN)) {
			n = read(inotify_fd, buf, sizeof(buf));
			if (n < 0 && errno != EINTR && errno != EAGAIN) {
				mmapfs_err("outside-change watcher: read: %s",
					   strerror(errno));
				break;
			}
			if (n > 0)
				handle_events(buf, n);
			/* Let events gather: inotify merges repeats of an
			 * unread event, so a file written all the time
			 * (also by the daemon itself: its pwrite appends
			 * raise events too) costs one check per pause, not
			 * one per write. */
			events_from = mmapfs_monotonic_ns() + WATCH_PAUSE_MS * NS_PER_MS;
		}
		watch_due();
	}
	return NULL;
}

int mmapfs_outside_start(bool notice)
{
	int res;

	if (!notice) {
		ignoring = true;
		mmapfs_info("outside_changes = ignore: changes made to backing "
			    "files from outside the mount are not looked for");
		return 0;
	}
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd < 0) {
		/* Not fatal: changes are then seen at stat and open. */
		mmapfs_warn("inotify: %s; changes from outside to open files "
			    "are seen at the next stat or open",
			    strerror(errno));
		return 0;
	}
	stop_fd = eventfd(0, EFD_CLOEXEC);
	kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_fd < 0 || kick_fd < 0) {
		res = -errno;
		goto fail;
	}
	res = -pthread_create(&thread, NULL, watch_main, NULL);
	if (res < 0)
		goto fail;
	started = true;
	return 0;
fail:
	if (stop_fd >= 0)
		close(stop_fd);
	if (kick_fd >= 0)
		close(kick_fd);
	close(inotify_fd);
	inotify_fd = stop_fd = kick_fd = -1;
	return res;
}

void mmapfs_outside_stop(void)
{
	uint64_t one = 1;

	if (!started)
		return;
	if (write(stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		mmapfs_err("outside-change watcher: cannot stop it: %s",
			   strerror(errno));
	pthread_join(thread, NULL);
	started = false;
	close(stop_fd);
	stop_fd = -1;
	close(kick_fd);
	kick_fd = -1;
	/* Watches of files still open (an unmount by signal) go with the
	 * instance. */
	close(inotify_fd);
	inotify_fd = -1;
}
