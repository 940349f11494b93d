/*
 * model/ctl_lock.c — `.ctl/lock` and `.ctl/unlock`: pages of a file
 * locked in memory (mlock) on request, within max_locked_bytes, and given
 * back when they can no longer be used; and the open a control command
 * makes of a file (mmapfs_ctl_open, also for prefetch, advise, flush).
 *
 * Design:
 *   - Each inode keeps the set of its pages locked through .ctl/lock
 *     (ctl_locks, lockset.h). The budget (mapping.c's total, shared with
 *     `lock = true`) is charged for the pages a lock adds to that set and
 *     credited for the pages an unlock removes from it: locking a range
 *     twice charges once, and an unlock of pages never locked gives
 *     nothing back.
 *   - While the set is not empty the file keeps an open of its own
 *     (ctl_handle, through mmapfs_ctl_open), the mapping's pin (so the
 *     max_mapped_files sweep passes it by) and one lookup reference (so
 *     the inode outlives the kernel's FORGET and a later unlock by path
 *     finds it). The last page leaving the set drops all three.
 *   - Pages leave the set without an unlock when the file can no longer
 *     hold them: a truncation through the mount (mmapfs_ctl_locks_
 *     truncated: the kernel unlocked them with the pages), a shrink from
 *     outside (every lock or unlock first trims the set to the mapping's
 *     length), and the kernel's eviction of its inode (FORGET) when the
 *     file's last name is gone (mmapfs_ctl_forget): nobody can name it to
 *     unlock it, and its last open was closed (an open keeps the kernel's
 *     inode). The mapping itself is never evicted while pages are locked
 *     (the pin: .ctl/evict answers EBUSY). A file that still has a name
 *     keeps its pages locked after a FORGET: `unlock PATH` finds it.
 *
 * Locking: ctl_lock serialises all of it and guards every inode's
 * ctl_handle and ctl_locks; it is taken before any inode.lock (mapping.c's
 * functions take those inside), and may be held while the inode table
 * forgets a reference. locked_files (atomic) counts inodes with a
 * non-empty set, so FORGET and truncation skip ctl_lock while none has.
 */
#include "model/ctl_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/fdcache.h"
#include "model/invalidate.h"
#include "model/mapping.h"

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint locked_files;

int mmapfs_ctl_open(struct mmapfs_inode *in, struct mmapfs_handle **hp)
{
	struct mmapfs_handle *h = calloc(1, sizeof(*h));
	bool changed;
	int res;

	if (!h)
		return -ENOMEM;
	h->fd = -1;
	h->flags = O_RDONLY;
	res = mmapfs_mapping_open(in, h, 0, NULL, &changed);
	if (res < 0) {
		mmapfs_handle_free(h);
		return res;
	}
	if (changed)
		mmapfs_invalidate_queue(mmapfs_inode_nodeid(in));
	*hp = h;
	return 0;
}

static uint64_t page_bytes(void)
{
	return mmapio_page_size();
}

/* The mapping the ctl open pins (ctl_handle set, ctl_lock held). */
static struct mmapio_file *pinned_mf(struct mmapfs_inode *in)
{
	struct mmapio_file *mf;

	mmapfs_lock(&in->map.lock);
	mf = in->map.mf;
	mmapfs_unlock(&in->map.lock);
	return mf;
}

/* Gives back the pages of in's set from page `from` on (the file no longer
 * has them), and when the set is empty drops the open, the pin and the
 * lookup reference. ctl_lock held, ctl_handle set. */
static void release_from(struct mmapfs_inode *in, uint64_t from)
{
	int64_t gone = mmapfs_lockset_remove(&in->ctl.locks, from, UINT64_MAX);

	if (gone < 0) {
		/* No room to cut a run: let go of all of it. */
		gone = (int64_t)in->ctl.locks.pages;
		mmapfs_lockset_clear(&in->ctl.locks);
	}
	mmapfs_mapping_unreserve_lock_budget((uint64_t)gone * page_bytes());
	if (in->ctl.locks.pages)
		return;
	mmapfs_lockset_clear(&in->ctl.locks);
	mmapfs_mapping_put(in, pinned_mf(in));
	mmapfs_mapping_release(in, in->ctl.handle);
	in->ctl.handle = NULL;
	atomic_fetch_sub(&locked_files, 1);
	mmapfs_inode_forget(in, 1);
}

/* Pages past the mapping's end (a shrink from outside) leave the set.
 * ctl_lock held, ctl_handle set. */
static void trim_to_length(struct mmapfs_inode *in, struct mmapio_file *mf)
{
	uint64_t page = page_bytes();

	if (mf)
		release_from(in, (mmapio_len(mf) + page - 1) / page);
}

/* The first lock of in: an open, the pin and a lookup reference of the
 * set's own. ctl_lock held. Returns the pinned mapping (NULL: served by
 * pread/pwrite) or -errno in *res. */
static struct mmapio_file *hold(struct mmapfs_inode *in, int *res)
{
	struct mmapfs_inode *held;
	struct stat st;
	int fd = mmapfs_inode_fd_get(in);

	if (fd >= 0) {
		int copy = dup(fd);

		fd = copy < 0 ? -errno : copy;
		mmapfs_inode_fd_put(in);
	}
	*res = fd < 0 ? fd : mmapfs_inode_from_fd(-1, NULL, fd, &st, &held);
	if (*res < 0)
		return NULL;
	*res = mmapfs_ctl_open(in, &in->ctl.handle);
	if (*res < 0) {
		mmapfs_inode_forget(held, 1);
		return NULL;
	}
	atomic_fetch_add(&locked_files, 1);
	return mmapfs_mapping_get(in);
}

int mmapfs_ctl_lock(struct mmapfs_inode *in, uint64_t off, uint64_t len)
{
	uint64_t page = page_bytes(), first = off / page, end, added;
	struct mmapio_file *mf;
	int res = 0;

	if (len == 0)
		return 0;
	end = (off + len - 1) / page + 1;
	pthread_mutex_lock(&ctl_lock);
	if (!in->ctl.handle) {
		mf = hold(in, &res);
		if (res < 0)
			goto out;
	} else {
		mf = pinned_mf(in);
		trim_to_length(in, mf);
		if (!in->ctl.handle)	/* trimmed to nothing: start over */
			mf = hold(in, &res);
		if (res < 0)
			goto out;
	}
	if (!mf) {
		res = -ENODEV;	/* served by pread/pwrite: nothing to lock */
	} else if (mmapfs_lockset_prepare(&in->ctl.locks) < 0) {
		res = -ENOMEM;
	} else {
		added = (end - first) -
			mmapfs_lockset_count(&in->ctl.locks, first, end);
		res = mmapfs_mapping_reserve_lock_budget(added * page);
		if (res == 0) {
			res = mmapio_lock(mf, off, len);
			if (res < 0)
				mmapfs_mapping_unreserve_lock_budget(added * page);
			else
				(void)mmapfs_lockset_add(&in->ctl.locks, first,
							 end);
		}
	}
	if (in->ctl.handle && in->ctl.locks.pages == 0)
		release_from(in, 0);
out:
	pthread_mutex_unlock(&ctl_lock);
	return res;
}

int mmapfs_ctl_unlock(struct mmapfs_inode *in, uint64_t off, uint64_t len)
{
	uint64_t page = page_bytes(), first = off / page, end;
	struct mmapio_file *mf;
	int64_t gone;
	int res = 0;

	pthread_mutex_lock(&ctl_lock);
	if (!in->ctl.handle)	/* nothing of it locked through .ctl/lock */
		goto out;
	mf = pinned_mf(in);	/* pinned since the first lock */
	trim_to_length(in, mf);
	if (!in->ctl.handle || len == 0)
		goto out;
	end = (off + len - 1) / page + 1;
	res = mmapfs_lockset_prepare(&in->ctl.locks);
	if (res == 0)
		res = mmapio_unlock(mf, off, len);
	if (res == 0) {
		gone = mmapfs_lockset_remove(&in->ctl.locks, first, end);
		mmapfs_mapping_unreserve_lock_budget((uint64_t)gone * page);
		if (in->ctl.locks.pages == 0)
			release_from(in, 0);
	}
out:
	pthread_mutex_unlock(&ctl_lock);
	return res;
}

void mmapfs_ctl_locks_truncated(struct mmapfs_inode *in, uint64_t size)
{
	uint64_t page = page_bytes();

	if (atomic_load(&locked_files) == 0)
		return;
	pthread_mutex_lock(&ctl_lock);
	if (in->ctl.handle)
		release_from(in, (size + page - 1) / page);
	pthread_mutex_unlock(&ctl_lock);
}

/* True when in's file has no name left (its ctl open's mapping says). */
static bool unlinked(struct mmapfs_inode *in)
{
	struct mmapio_file *mf = pinned_mf(in);
	struct stat st;

	return mf && fstat(mmapio_fd(mf), &st) == 0 && st.st_nlink == 0;
}

void mmapfs_ctl_inode_gone(struct mmapfs_inode *in)
{
	/* No request runs any more (the table's teardown): the open is
	 * freed with the inode's handles, the pages with the mapping. */
	mmapfs_lockset_clear(&in->ctl.locks);
	in->ctl.handle = NULL;
}

void mmapfs_ctl_forget(struct mmapfs_inode *in, uint64_t n)
{
	bool held;

	if (atomic_load(&locked_files) == 0) {
		mmapfs_inode_forget(in, n);
		return;
	}
	pthread_mutex_lock(&ctl_lock);
	held = in->ctl.handle != NULL;
	/* With held, the set's own reference keeps in alive. */
	mmapfs_inode_forget(in, n);
	if (held && unlinked(in))
		release_from(in, 0);
	pthread_mutex_unlock(&ctl_lock);
}
