/*
 * fdcache.c — the inodes' O_PATH descriptors as a bounded cache, so that
 * inodes the kernel remembers but nobody uses hold no descriptor.
 *
 * Design: a new inode records its file handle (name_to_handle_at) next to
 * the O_PATH descriptor it was looked up with. Every use of an inode's
 * descriptor is bracketed by mmapfs_inode_fd_get()/mmapfs_inode_fd_put():
 * get pins the descriptor (fd_pins) and, when the cache had closed it,
 * opens it again from the handle (open_by_handle_at beneath the backing
 * root's mount). A descriptor whose pin count falls to 0 goes to the tail
 * of one LRU list; while more descriptors are open than the budget, those
 * at the head (least recently used) are closed. get, put and the eviction
 * are O(1) each (one list unlink or append per inode).
 *
 * Budget: a quarter of RLIMIT_NOFILE's soft limit (read after main.c
 * raised it), at least MIN_BUDGET: the rest stays for mappings, open
 * files' descriptors and directory streams. Only descriptors of inodes
 * with a handle count; they can be closed again. main.c refuses to start
 * below MMAPFS_MIN_NOFILE, so the budget is always below the limit. When
 * the process runs out of descriptors all the same (EMFILE, or ENFILE for
 * the system), the caller of the failed open asks
 * mmapfs_fdcache_relieve() to close idle descriptors below the budget
 * too, and retries once: an open that can be served by closing an idle
 * one never fails.
 *
 * Handles of files: a directory opened by handle is always connected to
 * the tree (the kernel reconnects it), but a plain handle of a file whose
 * dentry left the dcache opens a disconnected dentry. So files get a
 * *connectable* handle (AT_HANDLE_CONNECTABLE, Linux 6.13: it also names
 * the parent directory; the kernel takes none from a bare descriptor),
 * taken by name beneath the parent at lookup. The name may have been
 * given to another object from outside since the lookup opened the
 * inode's descriptor: the first open by that handle checks the object's
 * (dev, ino) (handle_checked), so a lookup costs no stat for it and only
 * an inode whose descriptor the cache closed pays one, once; opened by
 * handle, the
 * kernel reconnects the file through that parent. When the file has
 * moved to another directory since (and its dentry left the dcache) that
 * fails with ESTALE: get then opens it without the parent (the handle's
 * connectable flag cleared). A rename through the mount takes a new
 * handle under the new parent (mmapfs_fdcache_rehandle). Paths do not
 * depend on any of this: they come from the names the kernel sent
 * (inode.c, "names").
 *
 * Modes (chosen once at start, logged at info level): handles need a
 * backing file system that exports them and CAP_DAC_READ_SEARCH for
 * open_by_handle_at (root has it); both are tried on the backing root.
 * Without them no inode gets a handle and every inode keeps its
 * descriptor until FORGET, as before. Without connectable handles (an
 * older kernel) only directories get handles. An inode on another mount
 * beneath the root (its handle would not open under the root's mount),
 * an inode made from a bare descriptor (no parent and name) and the root
 * itself get no handle either.
 *
 * Invariants: a pinned descriptor (fd_pins > 0, fd >= 0) is never closed
 * or replaced, so a caller may use it, and /proc/self/fd/N of it, until
 * its put. on_lru <=> fd >= 0 && fd_pins == 0 && handle != NULL. open_fds
 * counts inodes with a handle and fd >= 0.
 *
 * Open files: their O_PATH descriptors are cached like any other, so an
 * open file costs one descriptor (its mapping's, mapping.c). An open
 * file that was unlinked may no longer open by handle (ESTALE; ext4
 * still opens the orphan inode by its plain handle, disconnected): get
 * then takes a duplicate of its mapping's descriptor instead (not O_PATH,
 * but it serves fstatat, fchownat, linkat and /proc/self/fd paths
 * alike).
 *
 * Objects that are gone: a handle whose object was deleted (all its names
 * removed and no open file) fails with ESTALE; get reports -ENOENT, what
 * a path lookup of the removed name reports too.
 *
 * Locking: cache_lock guards every inode's fd, fd_pins, on_lru,
 * handle_checked and LRU links, the list and open_fds. It is a leaf: no
 * other lock is taken while it is held (callers may hold the open-list
 * lock, never an inode.lock: get may take in->lock for the mapping's
 * descriptor; inode.c never calls in under a table shard lock). The syscalls
 * (open_by_handle_at, name_to_handle_at, close) run outside it. handle is
 * set before the inode enters the table; afterwards only a rename
 * replaces it (under cache_lock; get copies it under the lock).
 */
#include "model/fdcache.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "logic/counters.h"
#include "logic/log.h"
#include "mmapfs_config.h"
#include "model/inode.h"
#include "model/mount.h"

#if !HAVE_AT_HANDLE_CONNECTABLE
#define AT_HANDLE_CONNECTABLE 0x002
#endif
/* The handle_type flag of a connectable handle (linux/exportfs.h). */
#define HANDLE_TYPE_CONNECTABLE 0x10000

#define MIN_BUDGET 16

/* Room for any file handle. */
union handle_buf {
	struct file_handle fh;
	char bytes[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};
/* Descriptors closed per pass outside the lock. */
#define EVICT_BATCH 16
/* Idle descriptors closed by one mmapfs_fdcache_relieve(). */
#define RELIEVE_BATCH 64

static struct mmapfs_lock cache_lock = MMAPFS_LOCK_INITIALIZER;
static struct mmapfs_inode *lru_head, *lru_tail; /* head: least recent */
static uint64_t open_fds;
static uint64_t budget = MIN_BUDGET;
/* A non-O_PATH descriptor of the backing root (open_by_handle_at refuses
 * O_PATH ones), -1 without handles; and the root's mount id. */
static int mount_fd = -1;
static int root_mount_id;
static bool connectable;   /* the kernel gives connectable handles */

static void lru_unlink(struct mmapfs_inode *in)
{
	if (in->fds.lru_prev)
		in->fds.lru_prev->fds.lru_next = in->fds.lru_next;
	else
		lru_head = in->fds.lru_next;
	if (in->fds.lru_next)
		in->fds.lru_next->fds.lru_prev = in->fds.lru_prev;
	else
		lru_tail = in->fds.lru_prev;
	in->fds.lru_next = in->fds.lru_prev = NULL;
	in->fds.on_lru = false;
}

static void lru_append(struct mmapfs_inode *in)
{
	in->fds.lru_next = NULL;
	in->fds.lru_prev = lru_tail;
	if (lru_tail)
		lru_tail->fds.lru_next = in;
	else
		lru_head = in;
	lru_tail = in;
	in->fds.on_lru = true;
}

/* Takes up to EVICT_BATCH idle descriptors off the LRU head while over
 * the budget; the caller closes them after dropping cache_lock. Returns
 * how many were put in fds. */
static int evict_locked(int fds[EVICT_BATCH])
{
	int n = 0;

	assert(mmapfs_lock_held(&cache_lock));
	while (open_fds > budget && lru_head && n < EVICT_BATCH) {
		struct mmapfs_inode *in = lru_head;

		lru_unlink(in);
		fds[n++] = in->fds.fd;
		in->fds.fd = -1;
		open_fds--;
	}
	return n;
}

static void close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

bool mmapfs_fdcache_relieve(int err)
{
	int fds[RELIEVE_BATCH], n = 0;

	if (err != EMFILE && err != ENFILE)
		return false;
	mmapfs_lock(&cache_lock);
	while (lru_head && n < RELIEVE_BATCH) {
		struct mmapfs_inode *in = lru_head;

		lru_unlink(in);
		fds[n++] = in->fds.fd;
		in->fds.fd = -1;
		open_fds--;
	}
	mmapfs_unlock(&cache_lock);
	close_all(fds, n);
	return n > 0;
}

/* Drops one pin (cache_lock held); collects descriptors to close. */
static int unpin_locked(struct mmapfs_inode *in, int fds[EVICT_BATCH])
{
	assert(mmapfs_lock_held(&cache_lock));
	if (--in->fds.pins == 0 && in->fds.fd >= 0 && in->fds.handle)
		lru_append(in);
	return evict_locked(fds);
}

/* The handle of name beneath dirfd (name_to_handle_at flags), malloc'd
 * exactly handle_bytes long; NULL when there is none. */
static struct file_handle *handle_at(int dirfd, const char *name,
				     int flags, int *mount_id)
{
	union handle_buf buf;
	struct file_handle *fh;
	size_t len;

	buf.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dirfd, name, &buf.fh, mount_id, flags) < 0)
		return NULL;
	len = sizeof(buf.fh) + buf.fh.handle_bytes;
	fh = malloc(len);
	if (fh)
		memcpy(fh, &buf, len);
	return fh;
}

/* A connectable handle of the file name beneath dirfd. Not checked
 * against the inode here: the name could have been given to another
 * object since the inode's descriptor was opened, which the first open by
 * handle finds out (handle_checked). */
static struct file_handle *file_handle_at(int dirfd, const char *name,
					  int *mount_id)
{
	return handle_at(dirfd, name, AT_HANDLE_CONNECTABLE, mount_id);
}

static uint64_t budget_from_rlimit(void)
{
	struct rlimit rl;
	uint64_t b;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return MIN_BUDGET;
	b = (uint64_t)rl.rlim_cur / 4;
	return b < MIN_BUDGET ? MIN_BUDGET : b;
}

int mmapfs_fdcache_init(int root_fd)
{
	struct file_handle *fh;
	const char *why = NULL;
	int fd, mfd;

	budget = budget_from_rlimit();
	fh = handle_at(root_fd, "", AT_EMPTY_PATH, &root_mount_id);
	mfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!fh) {
		why = "the backing file system gives no file handles";
	} else if (mfd < 0) {
		why = "the backing root cannot be opened for reading";
	} else {
		fd = open_by_handle_at(mfd, fh, O_PATH | O_NOFOLLOW |
				       O_CLOEXEC);
		if (fd < 0)
			why = errno == EPERM ? "open_by_handle_at needs "
					       "CAP_DAC_READ_SEARCH" :
					       "open_by_handle_at fails";
		else
			close(fd);
	}
	free(fh);
	if (why) {
		if (mfd >= 0)
			close(mfd);
		mmapfs_info("inode descriptors: one per inode the kernel knows "
			    "(%s)", why);
		return 0;
	}
	mount_fd = mfd;
	mmapfs_counters_set_fd_cache(0, budget);
	fh = handle_at(root_fd, ".", AT_HANDLE_CONNECTABLE, &mfd);
	connectable = fh != NULL;
	free(fh);
	mmapfs_info("inode descriptors: file handles%s; at most %llu idle "
		    "descriptors kept open",
		    connectable ? "" : " for directories only (the kernel "
		    "has no connectable handles)",
		    (unsigned long long)budget);
	return 0;
}

void mmapfs_fdcache_destroy(void)
{
	if (mount_fd >= 0)
		close(mount_fd);
	mount_fd = -1;
}

void mmapfs_fdcache_prepare(struct mmapfs_inode *in, int dirfd,
			    const char *name)
{
	int mount_id;

	in->fds.pins = 1;
	in->fds.on_lru = false;
	in->fds.lru_next = in->fds.lru_prev = NULL;
	in->fds.handle = NULL;
	in->fds.handle_checked = false;
	if (mount_fd < 0 || in == &mmapfs_d.root)
		return;
	if (S_ISDIR(in->type)) {
		/* Taken from the descriptor itself: the inode's object. */
		in->fds.handle = handle_at(in->fds.fd, "", AT_EMPTY_PATH,
					   &mount_id);
		in->fds.handle_checked = true;
	} else if (connectable && dirfd >= 0) {
		in->fds.handle = file_handle_at(dirfd, name, &mount_id);
	}
	if (in->fds.handle && mount_id != root_mount_id) {
		free(in->fds.handle);
		in->fds.handle = NULL;
	}
}

int mmapfs_fdcache_prepare_made(struct mmapfs_inode *in, int dirfd,
				const char *name, int made_fd)
{
	char proc[64];
	int fd;

	mmapfs_fdcache_prepare(in, dirfd, name);
	if (in->fds.handle)
		return 0;	/* closed, as if evicted: opened when needed */
	mmapfs_fd_procpath(made_fd, proc, sizeof(proc));
	fd = open(proc, O_PATH | O_CLOEXEC);
	if (fd < 0 && mmapfs_fdcache_relieve(errno))
		fd = open(proc, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	in->fds.fd = fd;
	return 0;
}

/* Publishes open_fds and budget for metrics.prom. cache_lock held. */
static void publish_locked(void)
{
	mmapfs_counters_set_fd_cache(open_fds, budget);
}

void mmapfs_fdcache_admit(struct mmapfs_inode *in)
{
	int fds[EVICT_BATCH], n;

	mmapfs_lock(&cache_lock);
	if (in->fds.handle && in->fds.fd >= 0)
		open_fds++;
	n = unpin_locked(in, fds);
	publish_locked();
	mmapfs_unlock(&cache_lock);
	close_all(fds, n);
}

void mmapfs_fdcache_drop(struct mmapfs_inode *in)
{
	int fd;

	mmapfs_lock(&cache_lock);
	if (in->fds.on_lru)
		lru_unlink(in);
	if (in->fds.fd >= 0 && in->fds.handle)
		open_fds--;
	fd = in->fds.fd;
	in->fds.fd = -1;
	publish_locked();
	mmapfs_unlock(&cache_lock);
	if (fd >= 0)
		close(fd);
	free(in->fds.handle);
	in->fds.handle = NULL;
}

/* Opens the handle in hb beneath the root's mount: first connected
 * (through the parent a connectable handle names), then, when that fails
 * because the file left that parent, without the parent. Returns the fd
 * or -errno. */
static int open_by_handle(union handle_buf *hb)
{
	int fd;

	fd = open_by_handle_at(mount_fd, &hb->fh,
			       O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if ((errno != ESTALE && errno != EACCES) ||
	    !(hb->fh.handle_type & HANDLE_TYPE_CONNECTABLE))
		return -errno;
	hb->fh.handle_type &= ~HANDLE_TYPE_CONNECTABLE;
	fd = open_by_handle_at(mount_fd, &hb->fh,
			       O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void mmapfs_fdcache_rehandle(struct mmapfs_inode *in, int dirfd,
			     const char *name)
{
	struct file_handle *fh;
	int mount_id;

	if (mount_fd < 0 || !connectable || S_ISDIR(in->type))
		return;
	fh = file_handle_at(dirfd, name, &mount_id);
	if (fh && mount_id != root_mount_id) {
		free(fh);
		fh = NULL;
	}
	mmapfs_lock(&cache_lock);
	/* An inode without a handle keeps its descriptor for good (it is
	 * not counted in open_fds): it gets none now either. */
	if (fh && in->fds.handle) {
		struct file_handle *old = in->fds.handle;

		in->fds.handle = fh;
		in->fds.handle_checked = false;
		fh = old;
	}
	mmapfs_unlock(&cache_lock);
	free(fh);
}

/* Set before the session starts, read-only afterwards. */
static int (*stand_in)(struct mmapfs_inode *in);

void mmapfs_fdcache_set_stand_in(int (*fn)(struct mmapfs_inode *in))
{
	stand_in = fn;
}

/* A descriptor standing in for an object that no longer opens by handle
 * (an unlinked open file), or -ENOENT. */
static int stand_in_fd(struct mmapfs_inode *in)
{
	return stand_in ? stand_in(in) : -ENOENT;
}

/* Whether fd, opened by a handle taken by name, is in's object: -ESTALE
 * (fd closed) when the name had been given to another object. */
static int check_opened(struct mmapfs_inode *in, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && st.st_dev == in->dev &&
	    st.st_ino == in->ino)
		return fd;
	close(fd);
	return -ESTALE;
}

static bool same_handle(const struct file_handle *a,
			const struct file_handle *b)
{
	return a && a->handle_type == b->handle_type &&
	       a->handle_bytes == b->handle_bytes &&
	       memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

int mmapfs_inode_fd_get(struct mmapfs_inode *in)
{
	int fds[EVICT_BATCH], n, fd, mine, err;
	bool checked = true, verified = false;
	union handle_buf hb;

	mmapfs_lock(&cache_lock);
	in->fds.pins++;
	if (in->fds.on_lru)
		lru_unlink(in);
	fd = in->fds.fd;
	if (fd < 0) {	/* a rename may replace the handle meanwhile */
		memcpy(&hb, in->fds.handle,
		       sizeof(*in->fds.handle) + in->fds.handle->handle_bytes);
		checked = in->fds.handle_checked;
	}
	mmapfs_unlock(&cache_lock);
	if (fd >= 0) {
		mmapfs_count(MMAPFS_CNT_FD_HITS, 1);
		return fd;
	}
	mmapfs_count(MMAPFS_CNT_FD_REOPENS, 1);

	/* Closed by the cache (so it has a handle): open it again. Another
	 * request may do the same meanwhile; the first one in keeps its
	 * descriptor. */
	mine = open_by_handle(&hb);
	if ((mine == -EMFILE || mine == -ENFILE) &&
	    mmapfs_fdcache_relieve(-mine))
		mine = open_by_handle(&hb);
	if (mine >= 0 && !checked) {
		mine = check_opened(in, mine);
		verified = mine >= 0;
	}
	if (mine == -ESTALE || mine == -ENOENT)
		/* Gone, or an unlinked open file: its mapping's descriptor
		 * stands in (-ENOENT when not open). */
		mine = stand_in_fd(in);
	err = mine < 0 ? mine : 0;
	mmapfs_lock(&cache_lock);
	if (verified && same_handle(in->fds.handle, &hb.fh))
		in->fds.handle_checked = true;
	if (err == 0 && in->fds.fd < 0) {
		in->fds.fd = mine;
		mine = -1;
		open_fds++;
	}
	fd = in->fds.fd;
	if (err < 0)
		n = unpin_locked(in, fds);
	else
		n = evict_locked(fds);
	publish_locked();
	mmapfs_unlock(&cache_lock);
	if (mine >= 0)
		close(mine);
	close_all(fds, n);
	return err < 0 ? err : fd;
}

void mmapfs_inode_fd_put(struct mmapfs_inode *in)
{
	int fds[EVICT_BATCH], n;

	mmapfs_lock(&cache_lock);
	n = unpin_locked(in, fds);
	mmapfs_unlock(&cache_lock);
	close_all(fds, n);
}

void mmapfs_fd_procpath(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}
