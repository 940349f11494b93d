/*
 * control_ops.c — struct mmapfs_control_ops (control.h) on the daemon's
 * inode table and shared mappings: what `.ctl/` commands do and where the
 * rows of `.stats/` come from.
 *
 * Design:
 *   - resolve: PATH is opened beneath the backing root without following
 *     any symlink — openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where
 *     the kernel has it, else one O_NOFOLLOW component at a time — and
 *     its inode is taken from the inode table with one lookup reference
 *     (the node handed to control.c is the struct mmapfs_inode itself).
 *   - A command that needs the mapping opens the file as a FUSE open
 *     would, through a handle of its own with no descriptor
 *     (mmapfs_mapping_open: daemon credentials, settings of its path), and
 *     pins the mapping for the call (mmapfs_mapping_get/put). prefetch,
 *     advise and flush release that handle at once (the last release
 *     applies the policy's close rule as a close would). The open is
 *     model/ctl_lock.c's (mmapfs_ctl_open), and so are lock and unlock
 *     (per-file page sets within max_locked_bytes; a locked file is
 *     pinned, so evict answers EBUSY).
 *   - policy: the override is the mappings' state
 *     (mmapfs_mapping_set_policy_override): it replaces the config's
 *     policy wherever the settings of the file are filled in (first open,
 *     reload), so it survives reloads, evictions and reopens while the
 *     inode is known; `default` clears it.
 *   - Stats rows: every inode with open files (mapping.c's open list),
 *     with its counters (mapping.c keeps them across evictions and
 *     reopens); then the recently closed files (closed_files.c) that are
 *     not open, with the pending counts libmmapio still keeps for them;
 *     then any other file libmmapio keeps pending counts for. A file is
 *     listed once: the ids listed so far are kept, sorted, for the later
 *     walks.
 *
 * Locking: no lock of its own. flush_all copies references to the mappings
 * under the open-list lock and flushes after dropping it.
 */
#include "virtual/virtual.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "logic/clock.h"
#include "logic/log.h"
#include "mmapfs_config.h"
#include "model/ctl_lock.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/invalidate.h"
#include "model/mapping.h"
#include "model/mount.h"
#include "model/reload.h"
#include "model/running_config.h"

#if HAVE_OPENAT2
#include <linux/openat2.h>
#endif

/* Retries of openat2 when it reports a concurrent rename (EAGAIN). */
#define OPENAT2_RETRIES 8


static struct mmapfs_inode *inode_of(struct mmapfs_control_node *node)
{
	return (struct mmapfs_inode *)node;
}

/* ---- resolve ------------------------------------------------------------- */

/* Opens relpath component by component beneath the root with O_NOFOLLOW.
 * Returns an O_PATH descriptor or -errno (-EPERM for a symlink on the
 * way). */
static int open_beneath_walk(const char *relpath)
{
	char *copy = strdup(relpath), *comp, *save = NULL;
	int dirfd = -1, fd = -1;

	if (!copy)
		return -ENOMEM;
	for (comp = strtok_r(copy, "/", &save); comp;
	     comp = strtok_r(NULL, "/", &save)) {
		struct stat st;
		int at = dirfd >= 0 ? dirfd : mmapfs_d.root.fds.fd;

		fd = openat(at, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			break;
		}
		if (fstat(fd, &st) < 0) {
			close(fd);
			fd = -errno;
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			close(fd);
			fd = -EPERM;
			break;
		}
		if (dirfd >= 0)
			close(dirfd);
		dirfd = -1;
		if (save && *save) {
			if (!S_ISDIR(st.st_mode)) {
				close(fd);
				fd = -ENOENT;
				break;
			}
			dirfd = fd;
			fd = -1;
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	free(copy);
	return fd;
}

/* Opens relpath beneath the root without following symlinks. Returns an
 * O_PATH descriptor (of a symlink itself when the last component is one)
 * or -errno. */
static int open_beneath(const char *relpath)
{
#if HAVE_OPENAT2
	static atomic_bool no_openat2;
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};

	for (int i = 0; i < OPENAT2_RETRIES &&
	     !atomic_load_explicit(&no_openat2, memory_order_relaxed); i++) {
		long fd = syscall(SYS_openat2, mmapfs_d.root.fds.fd, relpath, &how,
				  sizeof(how));

		if (fd >= 0)
			return (int)fd;
		switch (errno) {
		case EAGAIN:
			continue;
		case ENOSYS:
		case E2BIG:
			atomic_store(&no_openat2, true);
			break;
		case ELOOP:	/* a symlink on the way */
		case EXDEV:	/* the walk would leave the root */
			return -EPERM;
		case ENOTDIR:	/* a file where a directory was needed */
			return -ENOENT;
		default:
			return -errno;
		}
	}
#endif
	return open_beneath_walk(relpath);
}

static int ops_resolve(void *ctx, const char *relpath,
		       struct mmapfs_control_node **out)
{
	struct mmapfs_inode *in;
	struct stat st;
	int fd, res;

	(void)ctx;
	fd = open_beneath(relpath);
	if (fd < 0)
		return fd;
	res = mmapfs_inode_from_fd(mmapfs_d.root.fds.fd, relpath, fd, &st, &in);
	if (res < 0)
		return res;
	mmapfs_inode_named_once(in, relpath);
	if (!S_ISREG(st.st_mode)) {
		mmapfs_inode_forget(in, 1);
		return S_ISLNK(st.st_mode) ? -EPERM : -EINVAL;
	}
	*out = (struct mmapfs_control_node *)in;
	return 0;
}

static void ops_put(void *ctx, struct mmapfs_control_node *node)
{
	(void)ctx;
	mmapfs_inode_forget(inode_of(node), 1);
}

static int ops_size(void *ctx, struct mmapfs_control_node *node,
		    uint64_t *out)
{
	struct mmapfs_inode *in = inode_of(node);
	struct stat st;
	bool mapped;
	int res;

	(void)ctx;
	mmapfs_lock(&in->map.lock);
	mapped = in->map.mf != NULL;
	if (mapped)
		*out = mmapio_len(in->map.mf);
	mmapfs_unlock(&in->map.lock);
	if (mapped)
		return 0;
	res = mmapfs_inode_stat(in, &st);
	if (res < 0)
		return res;
	*out = (uint64_t)st.st_size;
	return 0;
}

/* An fd of in's file for the calls that need no mapping (a file served by
 * pread/pwrite). Returns the fd or -errno. */
static int open_data_fd(struct mmapfs_inode *in)
{
	char proc[64];
	int fd = mmapfs_inode_fd_get(in);

	if (fd < 0)
		return fd;
	mmapfs_fd_procpath(fd, proc, sizeof(proc));
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fd = -errno;
	mmapfs_inode_fd_put(in);
	return fd;
}

/* ---- range ops ----------------------------------------------------------- */

static int ops_prefetch(void *ctx, struct mmapfs_control_node *node,
			uint64_t off, uint64_t len)
{
	struct mmapfs_inode *in = inode_of(node);
	struct mmapfs_handle *h;
	struct mmapio_file *mf;
	int res, fd;

	(void)ctx;
	res = mmapfs_ctl_open(in, &h);
	if (res < 0)
		return res;
	mf = mmapfs_mapping_get(in);
	if (mf) {
		res = mmapio_prefetch(mf, off, len);
		if (res == 0 && mmapio_is_mapped(mf))
			res = mmapio_advise(mf, off, len, MMAPIO_ADV_WILLNEED);
	} else {
		fd = open_data_fd(in);
		res = fd;
		if (fd >= 0) {
			res = -posix_fadvise(fd, (off_t)off, (off_t)len,
					     POSIX_FADV_WILLNEED);
			close(fd);
		}
	}
	mmapfs_mapping_put(in, mf);
	mmapfs_mapping_release(in, h);
	return res;
}

static int ops_advise(void *ctx, struct mmapfs_control_node *node,
		      uint64_t off, uint64_t len, enum mmapio_advice advice)
{
	struct mmapfs_inode *in = inode_of(node);
	struct mmapfs_handle *h;
	struct mmapio_file *mf;
	int res;

	(void)ctx;
	res = mmapfs_ctl_open(in, &h);
	if (res < 0)
		return res;
	mf = mmapfs_mapping_get(in);
	/* A file served by pread/pwrite has no mapping to advise. */
	res = mf ? mmapio_advise(mf, off, len, advice) : -ENODEV;
	mmapfs_mapping_put(in, mf);
	mmapfs_mapping_release(in, h);
	return res;
}

static int ops_lock(void *ctx, struct mmapfs_control_node *node,
		    uint64_t off, uint64_t len)
{
	(void)ctx;
	return mmapfs_ctl_lock(inode_of(node), off, len);
}

static int ops_unlock(void *ctx, struct mmapfs_control_node *node,
		      uint64_t off, uint64_t len)
{
	(void)ctx;
	return mmapfs_ctl_unlock(inode_of(node), off, len);
}

/* ---- flush, evict, policy, reload ---------------------------------------- */

static int ops_flush(void *ctx, struct mmapfs_control_node *node)
{
	struct mmapfs_inode *in = inode_of(node);
	struct mmapfs_handle *h;
	struct mmapio_file *mf;
	int res, fd;

	(void)ctx;
	res = mmapfs_ctl_open(in, &h);
	if (res < 0)
		return res;
	mf = mmapfs_mapping_get_lazy(in);	/* a flush needs no mapping */
	if (mf) {
		res = mmapio_flush(mf);
	} else {
		fd = open_data_fd(in);
		res = fd;
		if (fd >= 0) {
			res = fsync(fd) < 0 ? -errno : 0;
			close(fd);
		}
	}
	mmapfs_mapping_put(in, mf);
	mmapfs_mapping_release(in, h);
	return res;
}

struct mapping_refs {
	struct mmapio_file **mf;
	size_t n, cap;
	int err;
};

static void collect_mapping(struct mmapfs_inode *in, void *cbctx)
{
	struct mapping_refs *refs = cbctx;

	if (refs->err)
		return;
	if (refs->n == refs->cap) {
		size_t cap = refs->cap ? 2 * refs->cap : 64;
		struct mmapio_file **mf = reallocarray(refs->mf, cap,
						       sizeof(*mf));

		if (!mf) {
			refs->err = -ENOMEM;
			return;
		}
		refs->mf = mf;
		refs->cap = cap;
	}
	mmapfs_lock(&in->map.lock);
	if (in->map.mf)
		refs->mf[refs->n++] = mmapio_ref(in->map.mf);
	mmapfs_unlock(&in->map.lock);
}

struct path_list {
	char **v;
	size_t n, cap;
	int err;
};

/* Collects the paths of closed files with pending counts. Called under
 * libmmapio's registry lock: no library calls here. */
static int collect_closed_path(const struct mmapio_file_info *info, void *ctx)
{
	struct path_list *l = ctx;
	char *copy;

	if (!info->path)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	copy = strdup(info->path);
	if (!copy)
		return -ENOMEM;
	l->v[l->n++] = copy;
	return 0;
}

/* `flush *` also covers files closed with writes pending (policy never):
 * each is opened as a first open would and flushed, which debits the
 * counters the library kept for it. A path that no longer resolves
 * beneath the root is skipped (the file was moved or removed). */
static int flush_closed_files(void *ctx)
{
	struct path_list l = { NULL, 0, 0, 0 };
	struct mmapfs_control_node *node;
	int first = mmapio_for_each_detached(collect_closed_path, &l);

	for (size_t i = 0; i < l.n; i++) {
		if (ops_resolve(ctx, l.v[i], &node) == 0) {
			int res = ops_flush(ctx, node);

			if (res < 0 && first == 0)
				first = res;
			ops_put(ctx, node);
		}
		free(l.v[i]);
	}
	free(l.v);
	return first;
}

static int ops_flush_all(void *ctx)
{
	struct mapping_refs refs = { NULL, 0, 0, 0 };
	int first = 0, closed;

	(void)ctx;
	mmapfs_mapping_for_each_open(collect_mapping, &refs);
	for (size_t i = 0; i < refs.n; i++) {
		int res = mmapio_flush(refs.mf[i]);

		if (res < 0 && first == 0)
			first = res;
		/* Our reference may be the last one now (the file was
		 * released meanwhile): closing it applies the close rule. */
		res = mmapio_close(refs.mf[i]);
		if (res < 0 && first == 0)
			first = res;
	}
	free(refs.mf);
	if (refs.err)
		return refs.err;
	closed = flush_closed_files(ctx);
	return first ? first : closed;
}

static int ops_evict(void *ctx, struct mmapfs_control_node *node)
{
	(void)ctx;
	return mmapfs_mapping_evict(inode_of(node));
}

static int ops_set_policy(void *ctx, struct mmapfs_control_node *node,
			  const struct mmapio_policy *p)
{
	(void)ctx;
	return mmapfs_mapping_set_policy_override(inode_of(node), p);
}

static int ops_reload(void *ctx)
{
	(void)ctx;
	return mmapfs_reload() < 0 ? -EINVAL : 0;
}

/* ---- stats --------------------------------------------------------------- */

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct row_walk {
	mmapfs_control_row_fn cb;
	void *cbctx;
	int err;
	int64_t now_ns;
	struct file_id *open;    /* the open files listed, sorted before the
				  * walk of closed ones */
	size_t nopen, cap;
};

static int file_id_cmp(const void *a, const void *b)
{
	const struct file_id *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static void remember_open(struct row_walk *w, dev_t dev, ino_t ino)
{
	if (w->nopen == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct file_id *v = realloc(w->open, cap * sizeof(*v));

		if (!v) {
			w->err = -ENOMEM;
			return;
		}
		w->open = v;
		w->cap = cap;
	}
	w->open[w->nopen++] = (struct file_id){ dev, ino };
}

/* Copies a file's counters into its stats row; now_ns (CLOCK_MONOTONIC,
 * as last_flush_ns) gives the age of the last flush. */
static void row_set_counts(struct mmapfs_stats_row *row,
			   const struct mmapfs_file_counts *c, int64_t now_ns)
{
	row->flushes = c->flushes;
	row->flush_errors = c->flush_errors;
	row->bytes_written = c->bytes_written;
	row->writes = c->writes;
	row->last_flush_age_ms = -1;
	if (c->last_flush_ns > 0)
		row->last_flush_age_ms = now_ns > c->last_flush_ns ?
			(now_ns - c->last_flush_ns) / 1000000 : 0;
}

static void row_set_counters(struct mmapfs_stats_row *row,
			     const struct mmapio_stats *st, int64_t now_ns)
{
	struct mmapfs_file_counts c = { 0, 0, 0, 0, 0 };
	struct mmapio_stats zero;

	memset(&zero, 0, sizeof(zero));
	mmapfs_file_counts_add_delta(&c, st, &zero);
	row_set_counts(row, &c, now_ns);
	row->pending_bytes = st->pending_bytes;
	row->pending_writes = st->pending_writes;
}

/* One row for an open inode. Called under the open-list lock. */
static void file_row(struct mmapfs_inode *in, void *cbctx)
{
	struct row_walk *w = cbctx;
	struct mmapfs_file_counts counts;
	struct mmapfs_stats_row row;
	struct mmapio_stats st;
	struct stat sb;
	char *path = NULL;
	int fd;

	if (w->err)
		return;
	memset(&row, 0, sizeof(row));
	row.last_flush_age_ms = -1;
	/* The current name: the one at first open may be stale. */
	if (mmapfs_inode_path(in, &path) < 0)
		path = NULL;
	fd = mmapfs_inode_fd_get(in);
	/* The size of an unmapped file, asked before in->lock is taken
	 * (the fd cache may take it, for an unlinked open file). */
	if (fd < 0 || fstatat(fd, "", &sb, AT_EMPTY_PATH) < 0)
		sb.st_size = -1;
	if (fd >= 0)
		mmapfs_inode_fd_put(in);
	mmapfs_lock(&in->map.lock);
	if (in->map.open_count == 0 || (!in->map.relpath && !path)) {
		/* Released (its counters go to the table of recently closed
		 * files as the release finishes), or never opened as a
		 * file. */
		mmapfs_unlock(&in->map.lock);
		free(path);
		return;
	}
	remember_open(w, in->dev, in->ino);
	row.relpath = path ? path : in->map.relpath;
	row.policy = in->map.settings.flush;
	mmapfs_mapping_counts_locked(in, &counts);
	row_set_counts(&row, &counts, w->now_ns);
	if (in->map.mf) {
		row.pending_bytes = mmapio_pending_bytes(in->map.mf);
		row.pending_writes = mmapio_pending_writes(in->map.mf);
	} else if (mmapio_stats_by_id(in->dev, in->ino, &st) == 0) {
		row.pending_bytes = st.pending_bytes;
		row.pending_writes = st.pending_writes;
	}
	if (in->map.mf) {
		row.size = mmapio_len(in->map.mf);
		row.mapped = mmapio_is_mapped(in->map.mf);
		row.rw = mmapio_mode(in->map.mf) == MMAPIO_RW;
	} else {
		row.rw = in->map.map_fd >= 0 &&
			 (fcntl(in->map.map_fd, F_GETFL) & O_ACCMODE) == O_RDWR;
		if (sb.st_size >= 0)
			row.size = (uint64_t)sb.st_size;
	}
	w->err = w->cb(w->cbctx, &row);
	mmapfs_unlock(&in->map.lock);
	free(path);
}

/* One row for a file with no open handle whose counters the library still
 * keeps (closed with writes pending under never). Called under libmmapio's
 * registry lock: no library calls here. The path is the one of its last
 * mapping; a file since removed or replaced there gets no row. Open files
 * were listed by file_row already and are skipped. */
static int detached_row(const struct mmapio_file_info *info, void *cbctx)
{
	struct row_walk *w = cbctx;
	struct file_id id = { info->dev, info->ino };
	struct mmapfs_stats_row row;
	struct stat sb;

	if (!info->path ||
	    (w->nopen &&
	     bsearch(&id, w->open, w->nopen, sizeof(id), file_id_cmp)) ||
	    fstatat(mmapfs_d.root.fds.fd, info->path, &sb, AT_SYMLINK_NOFOLLOW) ||
	    sb.st_dev != info->dev || sb.st_ino != info->ino)
		return 0;
	memset(&row, 0, sizeof(row));
	row.relpath = info->path;
	row.size = (uint64_t)sb.st_size;
	row.rw = info->rw;
	row.policy = info->policy;
	row.last_flush_age_ms = -1;
	row_set_counters(&row, &info->stats, w->now_ns);
	return w->cb(w->cbctx, &row);
}

static bool listed(const struct row_walk *w, dev_t dev, ino_t ino)
{
	struct file_id id = { dev, ino };

	return w->nopen &&
	       bsearch(&id, w->open, w->nopen, sizeof(id), file_id_cmp);
}

/* One row for a recently closed file that is not open (closed_files.c);
 * pending counts from libmmapio when it still keeps the file's state.
 * Called under the table's lock (libmmapio's registry lock is taken
 * inside it, never the other way round). The ids listed are added after
 * the walk (w->open must stay sorted during it). */
static int closed_row(const struct mmapfs_closed_file *f, void *cbctx)
{
	struct row_walk *w = cbctx;
	struct mmapfs_stats_row row;
	struct mmapio_stats st;

	if (listed(w, f->dev, f->ino))
		return 0;
	memset(&row, 0, sizeof(row));
	row.relpath = f->relpath;
	row.size = f->size;
	row.rw = f->rw;
	row.policy = f->policy;
	row_set_counts(&row, &f->counts, w->now_ns);
	if (mmapio_stats_by_id(f->dev, f->ino, &st) == 0) {
		row.pending_bytes = st.pending_bytes;
		row.pending_writes = st.pending_writes;
	}
	return w->cb(w->cbctx, &row);
}

static int remember_closed(const struct mmapfs_closed_file *f, void *cbctx)
{
	struct row_walk *w = cbctx;

	remember_open(w, f->dev, f->ino);
	return w->err;
}

static void sort_listed(struct row_walk *w)
{
	if (w->nopen)
		qsort(w->open, w->nopen, sizeof(*w->open), file_id_cmp);
}

static int ops_for_each_file(void *ctx, mmapfs_control_row_fn cb, void *cbctx)
{
	struct row_walk w = { cb, cbctx, 0, mmapfs_monotonic_ns(), NULL, 0, 0 };

	(void)ctx;
	mmapfs_mapping_for_each_open(file_row, &w);
	sort_listed(&w);
	if (!w.err)
		w.err = mmapfs_closed_for_each(closed_row, &w);
	if (!w.err)
		w.err = mmapfs_closed_for_each(remember_closed, &w);
	sort_listed(&w);
	if (!w.err)
		w.err = mmapio_for_each_detached(detached_row, &w);
	free(w.open);
	return w.err;
}

static int ops_config(void *ctx, struct mmapfs_config **cfg,
		      char **last_error)
{
	(void)ctx;
	*cfg = mmapfs_config_current();
	*last_error = mmapfs_reload_last_error();
	return 0;
}

static void ops_log(void *ctx, enum mmapfs_log_level level, const char *msg)
{
	(void)ctx;
	mmapfs_log(level, "%s", msg);
}

static const char *ops_transport(void *ctx)
{
	(void)ctx;
	return mmapfs_transport_name(atomic_load_explicit(
		&mmapfs_d.transport, memory_order_relaxed));
}

static const struct mmapfs_control_ops control_ops = {
	.resolve = ops_resolve,
	.put = ops_put,
	.size = ops_size,
	.prefetch = ops_prefetch,
	.advise = ops_advise,
	.lock = ops_lock,
	.unlock = ops_unlock,
	.flush = ops_flush,
	.flush_all = ops_flush_all,
	.evict = ops_evict,
	.set_policy = ops_set_policy,
	.reload = ops_reload,
	.for_each_file = ops_for_each_file,
	.config = ops_config,
	.log = ops_log,
	.transport = ops_transport,
};

void mmapfs_control_instance(struct mmapfs_control *c)
{
	c->ops = &control_ops;
	c->ctx = NULL;
	c->owner = geteuid();
	c->mount = mmapfs_d.mountpoint;
}
