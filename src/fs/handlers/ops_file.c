/*
 * ops_file.c — FUSE handlers for regular files: open, create, read, write,
 * flush, release, fsync, fallocate, lseek, copy_file_range; and truncation.
 *
 * Design:
 *   - Each open shares the inode's mapping (mapping.c) and its descriptor:
 *     the open's own descriptor, opened with the access mode asked for,
 *     checks access (and serves O_TRUNC and create's sync) and is closed
 *     before the reply, so an open file costs one descriptor. Only a file
 *     without a mapping descriptor (unmappable, or one the daemon may not
 *     read) keeps the open's own (struct mmapfs_handle.fd). data_fd()
 *     picks the one that serves a request.
 *   - read replies straight from the mapping: the range is pinned with a
 *     view, its pages faulted in (MADV_POPULATE_READ; a failure falls back
 *     to pread) and handed to fuse_reply_data() as one memory buffer, which
 *     the kernel copies out of our address space while the view is held. A
 *     page that the backing file loses after that (truncated from outside)
 *     makes the copy fail inside the kernel: the client gets EIO, the
 *     daemon only sees the write to /dev/fuse fail (no SIGBUS: the fault
 *     happens in the kernel's copy, not in our code).
 *   - write goes through mmapio_write_grow (policy applied there). O_APPEND
 *     writes at the mapping's current length. stores into a shared mapping
 *     do not update mtime reliably, so it is set explicitly (at most once
 *     per coarse clock tick).
 *   - A write at or past the mapping's end (an append) goes through
 *     pwrite on the mapping's descriptor instead, accounted like the
 *     fallback's: the page cache the mapping shares is filled by the file
 *     system's write path, where a store into freshly grown pages would
 *     take a read fault and a page_mkwrite per page (2.5x less daemon CPU
 *     for sequential 1 MiB writes); the mapping follows the new size.
 *   - A file the kernel will not map has an mf without a mapping
 *     (mapping.c): its reads are preads of data_fd() (no view to reply
 *     from), its writes, appends included, go through mmapio_write_grow,
 *     which pwrites and applies the policy as for a mapped file.
 *   - Files without a writable mf (read-only mapping, or none: the daemon
 *     cannot open the file itself) are served by pread/pwrite on
 *     data_fd(); writes that bypass the mapping (that fallback,
 *     copy_file_range, fallocate) are accounted to the file's policy.
 *   - O_TRUNC (atomic_o_trunc) and setattr(size) resize through the
 *     mapping, which waits for pinned views.
 *   - Read-only opens ask the kernel for no FLUSH at close
 *     (FOPEN_NOFLUSH): they can dirty nothing, so a FLUSH would only
 *     report a sticky error to a reader; writers' closes report it.
 *   - The kernel page cache of the mount stays (keep_cache from the
 *     config) unless the file changed from outside; no direct_io, so that
 *     applications' mmap of files on the mount shares the kernel's cache
 *     with read/write users and reaches the backing file on msync/fsync
 *     (the kernel writes dirty pages back as WRITE requests).
 *
 * Threads: any request thread. Per request the inode's lock is taken only
 * inside mmapfs_mapping_get/put.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "logic/log.h"
#include "model/creds.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/invalidate.h"
#include "model/killpriv.h"
#include "model/lookup.h"
#include "model/mapping.h"
#include "model/metadata_sync.h"
#include "model/mount.h"
#include "model/outside.h"
#include "model/truncate.h"
#include "virtual/virtual.h"

static struct mmapfs_handle *handle_of(struct fuse_file_info *fi)
{
	return (struct mmapfs_handle *)(uintptr_t)fi->fh;
}

/* The flags for the handle's own descriptor. O_NOFOLLOW goes: the kernel
 * already refused a symlink as the last component, and the descriptor is
 * opened through its /proc/self/fd magic link (create adds it back for
 * its name). */
static int backing_open_flags(int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_DIRECT |
		   O_NOFOLLOW);
	if (mmapfs_d.writeback_cache) {
		/* The kernel reads pages of write-only files and handles
		 * O_APPEND itself. */
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags | O_CLOEXEC;
}

/* The descriptor serving the open h outside the mapping: its own, else
 * the mapping's (mf: pinned by the caller). -EIO when there is neither
 * (a mapping that could not be mapped again after its eviction). */
static int data_fd(const struct mmapfs_handle *h, struct mmapio_file *mf)
{
	if (h->fd >= 0)
		return h->fd;
	return mf ? mmapio_fd(mf) : -EIO;
}

/* After the open is set up: a file with a mapping descriptor needs no
 * descriptor of the open's own. */
static void drop_own_fd(struct mmapfs_inode *in, struct mmapfs_handle *h)
{
	if (h->fd >= 0 && mmapfs_mapping_has_fd(in)) {
		close(h->fd);
		h->fd = -1;
	}
}

/* A handle for an open with fi's flags, or NULL (ENOMEM). Under the
 * writeback cache the kernel handles O_APPEND itself. */
static struct mmapfs_handle *handle_new(const struct fuse_file_info *fi)
{
	struct mmapfs_handle *h = calloc(1, sizeof(*h));

	if (h) {
		h->flags = fi->flags;
		if (mmapfs_d.writeback_cache)
			h->flags &= ~O_APPEND;
	}
	return h;
}

/* Registers h (fd already open) as an open of in and applies O_TRUNC
 * (nothing to truncate in a file this create just made). how and st: for
 * mmapfs_mapping_open (CREATED, GIVE_FD; EMPTY is added for O_TRUNC). On
 * failure h is freed. Returns 0 or -errno. */
static int open_handle(struct mmapfs_inode *in, struct mmapfs_handle *h,
		       struct fuse_file_info *fi, unsigned how,
		       const struct stat *st)
{
	bool created = (how & MMAPFS_OPEN_CREATED) != 0;
	bool changed;
	int res;

	if (created || ((fi->flags & O_TRUNC) &&
			(fi->flags & O_ACCMODE) != O_RDONLY))
		how |= MMAPFS_OPEN_EMPTY;
	res = mmapfs_mapping_open(in, h, how, st, &changed);
	if (res < 0) {
		mmapfs_handle_free(h);
		return res;
	}
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY &&
	    !created) {
		res = mmapfs_file_truncate(in, h->fd, 0);
		if (res == 0 && mmapfs_inode_policy_always(in) && fsync(h->fd) < 0)
			res = -errno;
		if (res < 0) {
			mmapfs_mapping_release(in, h);
			return res;
		}
	}
	fi->fh = (uintptr_t)h;
	/* Changed from outside: the kernel drops its cache at this open (the
	 * check already forgot the cached absence of security.capability). */
	fi->keep_cache = atomic_load(&mmapfs_d.keep_cache) && !changed;
	fi->direct_io = (fi->flags & O_DIRECT) != 0;
	/* A read-only descriptor flushes nothing at close: the kernel is told
	 * not to send FLUSH for it (FOPEN_NOFLUSH), a round trip less per
	 * read-only open, and its close reports no sticky error (the
	 * descriptors that can write, and every fsync, still do). */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	return 0;
}

void mmapfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mmapfs_inode *in;
	struct mmapfs_handle *h;
	char proc[64];
	int res;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_open(req, ino, fi));
	in = mmapfs_inode_get(ino);
	h = handle_new(fi);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	res = mmapfs_inode_fd_get(in);
	if (res >= 0) {
		mmapfs_fd_procpath(res, proc, sizeof(proc));
		h->fd = open(proc, backing_open_flags(fi->flags));
		if (h->fd < 0 && mmapfs_fdcache_relieve(errno))
			h->fd = open(proc, backing_open_flags(fi->flags));
		res = h->fd < 0 ? -errno : 0;
		mmapfs_inode_fd_put(in);
	}
	if (res < 0) {
		free(h);
		fuse_reply_err(req, -res);
		return;
	}
	res = open_handle(in, h, fi, 0, NULL);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	drop_own_fd(in, h);
	if (fuse_reply_open(req, fi) < 0)
		mmapfs_mapping_release(in, h);	/* the opener is gone */
}

/* openat(O_CREAT) that says whether it made the file: O_EXCL first (with
 * make_flags: see create_gives_fd), then an open of the existing file
 * (flags; retried if it vanished in between), so a create that fails
 * later (EMFILE for the inode's descriptor, say) can take back a file it
 * made instead of leaving it behind. */
static int create_at(int dirfd, const char *name, int make_flags, int flags,
		     mode_t mode, bool *created)
{
	int fd;

	for (;;) {
		fd = openat(dirfd, name, make_flags | O_CREAT | O_EXCL, mode);
		if (fd < 0 && mmapfs_fdcache_relieve(errno))
			continue;
		if (fd >= 0) {
			*created = true;
			return fd;
		}
		if (errno != EEXIST || (flags & O_EXCL))
			return -errno;
		fd = openat(dirfd, name, flags, mode);
		if (fd >= 0) {
			*created = false;
			return fd;
		}
		if (errno != ENOENT)
			return -errno;
	}
}

/* Removes the file create_at() made, if the name still holds it. */
static void uncreate_at(int dirfd, const char *name, int fd)
{
	struct stat made, now;

	if (fstat(fd, &made) == 0 &&
	    fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    made.st_dev == now.st_dev && made.st_ino == now.st_ino)
		unlinkat(dirfd, name, 0);
}

/* True when a create makes the new file read-write without status flags
 * (the open asks for none): its descriptor then becomes the file's mapping
 * descriptor (mmapfs_mapping_open's GIVE_FD), which saves reopening it and
 * closing the open's own. The creator may write a file it makes whatever
 * its mode. (The kernel's O_LARGEFILE bit is in fi->flags, but glibc's
 * O_LARGEFILE is 0 on 64-bit: the flags that matter are named.) */
static bool create_gives_fd(const struct fuse_file_info *fi)
{
	return !(fi->flags & (O_APPEND | O_DIRECT | O_SYNC | O_DSYNC));
}

/* create's work with the parent's descriptor dfd pinned: creates name,
 * looks it up (*e) and registers h as its open. Returns 0 or -errno (h
 * freed, nothing left behind). Replies nothing: the caller unpins the
 * parent first (the kernel may forget it once replied to). */
static int create_in(fuse_req_t req, struct mmapfs_inode *dir, int dfd,
		     const char *name, mode_t mode, struct fuse_file_info *fi,
		     struct mmapfs_handle *h, struct fuse_entry_param *e)
{
	int flags = backing_open_flags(fi->flags) | O_NOFOLLOW |
		    (fi->flags & O_EXCL);
	bool created = false, give = create_gives_fd(fi);
	struct mmapfs_creds_saved saved;
	struct mmapfs_inode *in;
	int res;

	res = mmapfs_creds_enter(req, &saved);
	if (res < 0) {
		free(h);
		return res;
	}
	mmapfs_own_change_begin(dir, dfd);
	h->fd = create_at(dfd, name,
			  give ? O_RDWR | O_CLOEXEC | O_NOFOLLOW : flags, flags,
			  mode, &created);
	mmapfs_own_change_end(dir, dfd);
	res = h->fd < 0 ? h->fd : 0;
	mmapfs_creds_leave(&saved);
	/* A new file is synced (under `always`) while the create's
	 * descriptor is still the open's own: the mapping may take it. */
	if (res == 0 && created)
		res = mmapfs_sync_metadata(dir, name, h->fd);
	if (res == 0)
		res = created ? mmapfs_lookup_created(dir, name, h->fd, e) :
				mmapfs_lookup(dir, name, e);
	if (res < 0) {
		if (h->fd >= 0) {
			if (created)
				uncreate_at(dfd, name, h->fd);
			close(h->fd);
		}
		free(h);
		return res;
	}
	in = mmapfs_inode_get(e->ino);
	/* A file this request made exclusively has no security.capability:
	 * the kernel's GETXATTR before its first write is answered from the
	 * inode (the absence is tied to e->attr's ctime, like one read by
	 * getxattr; only a capability set from outside in the microseconds
	 * between the create and that stat would be missed, and setting one
	 * takes CAP_SETFCAP). */
	if (created)
		mmapfs_inode_nocap_set(in, mmapfs_ctime_ns(&e->attr));
	res = open_handle(in, h, fi, created ? MMAPFS_OPEN_CREATED |
			  (give ? MMAPFS_OPEN_GIVE_FD : 0) : 0, &e->attr);
	if (res == 0 && !created) {
		/* An existing file: after open_handle's O_TRUNC. */
		res = mmapfs_sync_metadata(dir, name, h->fd);
		if (res < 0)
			mmapfs_mapping_release(in, h);
	}
	if (res == 0)
		drop_own_fd(in, h);
	if (res < 0) {
		int fd = created ? mmapfs_inode_fd_get(in) : -1;

		if (fd >= 0) {
			uncreate_at(dfd, name, fd);
			mmapfs_inode_fd_put(in);
		}
		mmapfs_inode_forget(in, 1);
		return res;
	}
	return 0;
}

void mmapfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct mmapfs_inode *dir, *in;
	struct fuse_entry_param e;
	struct mmapfs_handle *h;
	int dfd, res;

	if (mmapfs_virtual_entry_refused(req, parent, name))
		return;
	dir = mmapfs_inode_get(parent);
	h = handle_new(fi);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	dfd = mmapfs_inode_fd_get(dir);
	if (dfd < 0) {
		free(h);
		fuse_reply_err(req, -dfd);
		return;
	}
	res = create_in(req, dir, dfd, name, mode, fi, h, &e);
	mmapfs_inode_fd_put(dir);
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	in = mmapfs_inode_get(e.ino);
	if (fuse_reply_create(req, &e, fi) < 0) {
		mmapfs_mapping_release(in, h);
		mmapfs_inode_forget(in, 1);
	}
}

/* Reads through fd (no usable mapping; -errno: fails with it). */
static void read_fallback(fuse_req_t req, int fd, size_t size, off_t off)
{
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		fuse_reply_err(req, fd < 0 ? -fd : ENOMEM);
		return;
	}
	n = pread(fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* Faults the view's pages in before the kernel copies them out: a page
 * that cannot be had (a hole of a full tmpfs, whose read fault allocates;
 * a page cut off by an outside truncation) fails here, where the read can
 * still fall back to pread, instead of failing the reply with EIO. */
/* A READ at least this large comes from the kernel's read-ahead. */
#define SEQUENTIAL_REQUEST (128 * 1024)

static int populate(const struct mmapio_view *v)
{
	uintptr_t start = (uintptr_t)v->data &
			  ~(uintptr_t)(mmapio_page_size() - 1);

	/* The mapping is MADV_RANDOM (mapping.c): a fault reads only its
	 * own page, never megabytes around it. The range asked for is read
	 * here in one go, so the faults below wait for I/O in flight instead
	 * of issuing one read per page. A large request is the kernel's FUSE
	 * read-ahead of a sequential reader: the next one is started too, so
	 * the backing device stays busy while this one is copied out. */
	size_t ahead = v->len >= SEQUENTIAL_REQUEST ? 2 * v->len : v->len;

	(void)readahead(mmapio_fd(v->file), (off64_t)v->off, ahead);
	if (madvise((void *)start, (uintptr_t)v->data + v->len - start,
		    MADV_POPULATE_READ) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

void mmapfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct mmapfs_inode *in;
	struct mmapio_file *mf;
	struct mmapio_view v;
	uint64_t len;
	int res, fd = -1;

	MMAPFS_ROUTE_VIRTUAL_TO(ino,
				mmapfs_virtual_read(req, ino, size, off, fi));
	in = mmapfs_inode_get(ino);
	mf = mmapfs_mapping_get(in);
	if (!mf) {
		mmapfs_mapping_put(in, mf);
		read_fallback(req, data_fd(handle_of(fi), NULL), size, off);
		return;
	}
	len = mmapio_len(mf);
	if (mmapfs_mapping_stale(in)) {
		/* The file grew past what its mapping could follow
		 * (mapping.c): the descriptor serves all of it. */
		res = -ERANGE;
		goto fallback;
	}
	if ((uint64_t)off >= len || size == 0) {
		mmapfs_mapping_put(in, mf);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - (uint64_t)off)
		size = (size_t)(len - (uint64_t)off);
	res = mmapio_view(mf, (uint64_t)off, size, &v);
	if (res == 0 && populate(&v) < 0) {
		(void)mmapio_view_release(&v);
		res = -ERANGE;
	}
fallback:
	/* The fallback gets a descriptor of its own: the mapping's may be
	 * closed once the pin is dropped. */
	if (res == -ERANGE || res == -ENODEV) {
		fd = fcntl(data_fd(handle_of(fi), mf), F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	}
	/* The view holds its own reference to the mapping. Once the reply
	 * is sent, the kernel may release and forget the inode at once: the
	 * inode is not touched after the reply. */
	mmapfs_mapping_put(in, mf);
	if (res == -ERANGE || res == -ENODEV) {
		/* Shrunk meanwhile, or a page that cannot be faulted in (a
		 * hole of a full tmpfs): the file serves what it has. ENODEV:
		 * a file without a mapping, nothing to view. */
		read_fallback(req, fd, size, off);
		if (fd >= 0)
			close(fd);
	} else if (res < 0) {
		fuse_reply_err(req, -res);
	} else {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(v.len);

		bv.buf[0].mem = v.data;
		/* A failure here (EFAULT: the kernel met a page the file
		 * lost) already answered EIO to the client. */
		(void)fuse_reply_data(req, &bv, FUSE_BUF_NO_SPLICE);
		(void)mmapio_view_release(&v);
	}
}

/* Writes through data_fd() and accounts the write to the
 * mapping's policy (or, unmapped, applies `always` itself). *seen: *after
 * holds the file's attributes read after the write (the mapping's refresh
 * took them for its size). Returns the bytes written or -errno. */
static ssize_t write_fallback(struct mmapfs_inode *in, struct mmapio_file *mf,
			      struct mmapfs_handle *h, const char *buf,
			      size_t size, off_t off, struct stat *after,
			      bool *seen)
{
	/* The open's own descriptor appends by itself; the mapping's is
	 * written at off, the end the caller found. */
	bool append = (h->flags & O_APPEND) && h->fd >= 0;
	int res, fd = data_fd(h, mf);
	ssize_t n;

	*seen = false;
	if (fd < 0)
		return fd;
	n = append ? write(fd, buf, size) : pwrite(fd, buf, size, off);
	if (n < 0)
		return -errno;
	if (mf) {
		/* An appending descriptor's position is the end it wrote. */
		if (append)
			off = lseek(fd, 0, SEEK_CUR) - n;
		/* The mapping follows the size first, so the range is in it
		 * (-ERANGE: the file shrank meanwhile, nothing to count); what
		 * this write grew needs no hole scan. A mapping that cannot
		 * grow (no address space) must not hide what was written:
		 * reads go around it from now on. With no changes from
		 * outside (outside_changes = ignore) the size is known
		 * without a stat. */
		bool noticed = mmapfs_outside_noticed();
		int64_t len = noticed ?
			mmapio_refresh_written(mf, (uint64_t)off, (uint64_t)n,
					       after) :
			mmapio_note_written(mf, (uint64_t)off, (uint64_t)n);

		if (len >= 0) {
			*seen = noticed;
			res = mmapio_account_external_write(mf, (uint64_t)off,
							    (uint64_t)n);
			if (res < 0 && res != -ERANGE)
				return res;
		} else {
			mmapfs_mapping_cannot_follow(in, (int)len);
		}
	} else if (mmapfs_inode_policy_always(in) && fdatasync(fd) < 0) {
		return -errno;
	}
	return n;
}

void mmapfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct mmapfs_handle *h = handle_of(fi);
	struct mmapfs_inode *in;
	struct mmapio_file *mf;
	struct stat after;
	bool seen = false;
	ssize_t res;

	MMAPFS_ROUTE_VIRTUAL_TO(ino,
				mmapfs_virtual_write(req, ino, buf, size, fi));
	in = mmapfs_inode_get(ino);
	mf = mmapfs_mapping_get_lazy(in);	/* an append needs no mapping */
	mmapfs_own_change_begin(in, data_fd(h, mf));
	if (!mf || mmapio_mode(mf) != MMAPIO_RW) {
		res = write_fallback(in, mf, h, buf, size, off, &after, &seen);
	} else {
		if (h->flags & O_APPEND) {
			/* The file may have grown from outside. Under
			 * outside_changes = ignore its end is the larger of
			 * the daemon's and the kernel's idea of it: either
			 * may lag, and bytes past the smaller end are not
			 * overwritten. */
			uint64_t known = mmapio_len(mf);
			int64_t cur = mmapfs_outside_noticed() ?
				      mmapio_refresh(mf) :
				      (int64_t)(known > (uint64_t)off ?
						known : (uint64_t)off);
			struct stat st;
			uint64_t end;

			if (cur < 0) {
				/* The mapping lags behind: the file's end. */
				mmapfs_mapping_cannot_follow(in, (int)cur);
				cur = fstat(mmapio_fd(mf), &st) == 0 ?
				      st.st_size : (int64_t)mmapio_len(mf);
			}
			end = (uint64_t)cur;

			if (end != (uint64_t)off) {
				/* The kernel's idea of the end was stale. */
				mmapfs_invalidate_queue(ino);
				off = (off_t)end;
			}
		}
		/* Growth goes through the descriptor (the mapping follows),
		 * and so does every write once the mapping could not. A
		 * lazily mapped file is mapped for a write inside it. */
		bool lazy = mmapfs_mapping_lazy(in);
		bool grows = (uint64_t)off + size > mmapio_len(mf);

		if (lazy && !grows) {
			mmapfs_mapping_map(in);
			lazy = false;
		}
		if ((mmapio_is_mapped(mf) || lazy) &&
		    (grows || mmapfs_mapping_stale(in)))
			res = write_fallback(in, mf, h, buf, size, off, &after,
					     &seen);
		else
			res = mmapio_write_grow(mf, (uint64_t)off, buf, size);
		if (res == 0) {
			mmapfs_mapping_touch_mtime(in, mmapio_fd(mf));
			res = (ssize_t)size;
		}
	}
	/* A write through the descriptor left the attributes its refresh
	 * read (nothing changed them since: no mtime touch on that path). */
	mmapfs_own_change_end_data_seen(in, data_fd(h, mf),
					seen ? &after : NULL);
	mmapfs_mapping_put(in, mf);
	if (res < 0)
		fuse_reply_err(req, (int)-res);
	else
		fuse_reply_write(req, (size_t)res);
}

void mmapfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply_ok(req));
	fuse_reply_err(req, -mmapfs_mapping_sticky_error(mmapfs_inode_get(ino)));
}

void mmapfs_op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_release(req, ino, fi));
	mmapfs_mapping_release(mmapfs_inode_get(ino), handle_of(fi));
	fuse_reply_err(req, 0);
}

void mmapfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct mmapfs_handle *h = handle_of(fi);
	struct mmapfs_inode *in;
	struct mmapio_file *mf;
	int res = 0;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply_ok(req));
	in = mmapfs_inode_get(ino);
	mf = mmapfs_mapping_get_lazy(in);
	if (mf) {
		res = mmapio_flush(mf);
	}
	if (res == 0)	/* a flush that failed when mf was evicted */
		res = mmapfs_mapping_sticky_error(in);
	/* The mapping's flush is a data sync; fsync adds the metadata, and
	 * without a mapping the open's descriptor does it all. */
	if (res == 0 && (!datasync || !mf)) {
		int fd = data_fd(h, mf);

		if (fd < 0)
			res = fd;
		else if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
			res = -errno;
	}
	mmapfs_mapping_put(in, mf);
	fuse_reply_err(req, -res);
}

void mmapfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length, struct fuse_file_info *fi)
{
	struct mmapfs_handle *h = handle_of(fi);
	struct mmapfs_inode *in;
	struct mmapio_file *mf;
	int res = 0, fd;

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	in = mmapfs_inode_get(ino);
	mf = mmapfs_mapping_get_lazy(in);
	fd = data_fd(h, mf);
	mmapfs_own_change_begin(in, fd);
	if (fd < 0)
		res = fd;
	else if (fallocate(fd, mode, offset, length) < 0)
		res = -errno;
	if (res == 0 && mf) {
		int64_t len = mmapio_refresh(mf);

		if (len < 0)
			mmapfs_mapping_cannot_follow(in, (int)len);
		if (len >= 0 && (mode & (FALLOC_FL_PUNCH_HOLE |
					 FALLOC_FL_ZERO_RANGE)) &&
		    offset < len) {
			uint64_t n = (uint64_t)length;

			if (n > (uint64_t)(len - offset))
				n = (uint64_t)(len - offset);
			res = mmapio_account_external_write(mf,
							    (uint64_t)offset, n);
		}
	}
	if (res == 0 && mmapfs_inode_policy_always(in) && fsync(fd) < 0)
		res = -errno;
	/* Every mode changes data (or may): set-ID bits and capabilities go
	 * as on a local file system. */
	mmapfs_killpriv_ask_caller(req);
	mmapfs_own_change_end_data(in, fd);
	mmapfs_mapping_put(in, mf);
	fuse_reply_err(req, -res);
}

void mmapfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct mmapfs_inode *in;
	struct mmapio_file *mf;
	off_t res;
	int fd;

	MMAPFS_ROUTE_VIRTUAL(req, ino);
	in = mmapfs_inode_get(ino);
	mf = mmapfs_mapping_get_lazy(in);
	/* SEEK_DATA/SEEK_HOLE (the kernel keeps the file position): the
	 * shared descriptor's position does not matter. */
	fd = data_fd(handle_of(fi), mf);
	res = fd < 0 ? fd : lseek(fd, off, whence);
	if (res < 0 && fd >= 0)
		res = -errno;
	mmapfs_mapping_put(in, mf);
	if (res < 0)
		fuse_reply_err(req, (int)-res);
	else
		fuse_reply_lseek(req, res);
}

void mmapfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags)
{
	struct mmapfs_inode *in, *out;
	struct mmapio_file *mf, *mf_in;
	off_t start = off_out;
	ssize_t n = 0;
	int res = 0, fd_in, fd_out;

	MMAPFS_ROUTE_VIRTUAL(req, ino_in);
	MMAPFS_ROUTE_VIRTUAL(req, ino_out);
	in = mmapfs_inode_get(ino_in);
	out = mmapfs_inode_get(ino_out);
	mf_in = mmapfs_mapping_get(in);
	mf = mmapfs_mapping_get(out);
	fd_in = data_fd(handle_of(fi_in), mf_in);
	fd_out = data_fd(handle_of(fi_out), mf);
	mmapfs_own_change_begin(out, fd_out);
	if (fd_in < 0 || fd_out < 0) {
		res = fd_in < 0 ? fd_in : fd_out;
	} else {
		n = copy_file_range(fd_in, &off_in, fd_out, &off_out, len,
				    (unsigned)flags);
		if (n < 0)
			res = -errno;
	}
	if (n > 0 && mf) {
		int64_t grown = mmapio_refresh(mf);

		if (grown >= 0)
			res = mmapio_account_external_write(mf,
							    (uint64_t)start,
							    (uint64_t)n);
		else
			mmapfs_mapping_cannot_follow(out, (int)grown);
	}
	mmapfs_killpriv_ask_caller(req);
	mmapfs_own_change_end_data(out, fd_out);
	mmapfs_mapping_put(out, mf);
	mmapfs_mapping_put(in, mf_in);
	if (res < 0)
		fuse_reply_err(req, -res);
	else
		fuse_reply_write(req, (size_t)n);
}
