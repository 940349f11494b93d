/*
 * ops_dir.c — FUSE handlers for directories: opendir, readdir,
 * readdirplus, releasedir, fsyncdir.
 *
 * Design: an open directory is a DIR stream on a descriptor opened beneath
 * the inode's O_PATH descriptor (pinned for that open only: the stream
 * needs no O_PATH descriptor afterwards). The handle remembers the offset it has
 * reached and an entry read but not yet returned (it did not fit in the
 * reply), so sequential reads never re-read or skip; a read at another
 * offset seeks (telldir cookies are the d_off values we hand out).
 * readdirplus looks each entry up (one lookup reference each, given back
 * when the entry does not fit), except "." and "..", which go without
 * attributes; the entry's inode number from getdents lets the lookup open
 * an entry the inode table does not hold without a stat by name first.
 *
 * Cached listings (cache_readdir, default off): opendir replies with
 * FOPEN_CACHE_DIR, so the kernel keeps what it read of the listing and
 * serves the next opendir/rewinddir from it; it drops it by itself after
 * changes through the mount, and at an opendir replied without
 * keep_cache, which outside.c asks for when the directory changed from
 * outside since the previous opendir (it also watches open directories).
 *
 * Threads: the kernel serialises readdir on one open directory; the
 * handle needs no lock of its own.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "logic/log.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/lookup.h"
#include "model/mapping.h"
#include "model/mount.h"
#include "model/outside.h"
#include "virtual/virtual.h"

void mmapfs_op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct mmapfs_inode *in;
	struct mmapfs_handle *h;
	int fd, err;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_opendir(req, ino, fi));
	in = mmapfs_inode_get(ino);
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = mmapfs_inode_fd_get(in);
	if (fd >= 0) {
		int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 && mmapfs_fdcache_relieve(errno))
			dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY |
				     O_CLOEXEC);
		fd = dfd < 0 ? -errno : dfd;
		mmapfs_inode_fd_put(in);
	}
	if (fd < 0) {
		err = -fd;
		free(h);
		fuse_reply_err(req, err);
		return;
	}
	h->fd = fd;
	h->dp = fdopendir(fd);
	if (!h->dp) {
		err = errno;
		close(fd);
		free(h);
		fuse_reply_err(req, err);
		return;
	}
	mmapfs_handle_attach(in, h);
	fi->fh = (uintptr_t)h;
	if (atomic_load(&mmapfs_d.cache_readdir)) {
		/* Only cached listings need the stat and the watch. */
		fi->cache_readdir = 1;
		fi->keep_cache = !mmapfs_outside_dir_opened(in, fd);
	}
	if (fuse_reply_open(req, fi) < 0) {
		/* The opener is gone: no RELEASEDIR will come. */
		mmapfs_handle_detach(in, h);
		mmapfs_outside_dir_closed(in);
		mmapfs_handle_free(h);
	}
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Appends the handle's pending entry to buf. Returns its size, 0 when it
 * does not fit, or -errno (-ENOENT: it vanished, skip it). */
static long add_entry(fuse_req_t req, struct mmapfs_inode *dir,
		      struct dirent *d, char *buf, size_t rem, bool plus)
{
	struct fuse_entry_param e;
	size_t n;
	int res;

	if (!plus || is_dot_or_dotdot(d->d_name)) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->d_ino;
		e.attr.st_mode = (mode_t)d->d_type << 12;
		n = plus ? fuse_add_direntry_plus(req, buf, rem, d->d_name,
						  &e, d->d_off) :
			   fuse_add_direntry(req, buf, rem, d->d_name,
					     &e.attr, d->d_off);
		return n > rem ? 0 : (long)n;
	}
	res = mmapfs_lookup_listed(dir, d->d_name, d->d_ino, &e);
	if (res < 0)
		return res;
	n = fuse_add_direntry_plus(req, buf, rem, d->d_name, &e, d->d_off);
	if (n > rem) {
		mmapfs_inode_forget(mmapfs_inode_get(e.ino), 1);
		return 0;
	}
	return (long)n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, bool plus)
{
	struct mmapfs_handle *h = (struct mmapfs_handle *)(uintptr_t)fi->fh;
	struct mmapfs_virtual_listing vl;
	struct mmapfs_inode *dir;
	size_t rem = size;
	char *buf, *p;
	int err = 0;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_readdir(req, ino, size, off,
							    plus));
	dir = mmapfs_inode_get(ino);
	mmapfs_debug("readdir%s of backing inode %llu at %lld", plus ? "plus" : "",
		     (unsigned long long)dir->ino, (long long)off);
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	/* The root lists the virtual directories first (show_control). */
	p += mmapfs_virtual_readdir_root(req, ino, &vl, p, &rem, &off, plus);
	if (off != h->pos) {
		seekdir(h->dp, off);
		h->entry = NULL;
		h->pos = off;
	}
	for (;;) {
		long n;

		if (!h->entry) {
			errno = 0;
			h->entry = readdir(h->dp);
			if (!h->entry) {
				err = errno;
				break;
			}
		}
		if (mmapfs_virtual_hidden(&vl, h->entry->d_name))
			n = -ENOENT;	/* shadowed: skipped as if vanished */
		else
			n = add_entry(req, dir, h->entry, p, rem, plus);
		if (n == 0)
			break;
		if (n > 0) {
			p += n;
			rem -= (size_t)n;
		} else if (n != -ENOENT) {
			err = (int)-n;
			break;
		}
		h->pos = h->entry->d_off;
		h->entry = NULL;
	}
	if (err && rem == size)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void mmapfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void mmapfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void mmapfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct mmapfs_handle *h = (struct mmapfs_handle *)(uintptr_t)fi->fh;
	struct mmapfs_inode *in;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply_ok(req));
	in = mmapfs_inode_get(ino);
	mmapfs_handle_detach(in, h);
	/* Before the reply: no FORGET can free in under the watcher. */
	mmapfs_outside_dir_closed(in);
	mmapfs_handle_free(h);
	fuse_reply_err(req, 0);
}

void mmapfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct mmapfs_handle *h = (struct mmapfs_handle *)(uintptr_t)fi->fh;
	int fd, res;

	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply_ok(req));
	fd = dirfd(h->dp);
	res = datasync ? fdatasync(fd) : fsync(fd);
	fuse_reply_err(req, res < 0 ? errno : 0);
}
