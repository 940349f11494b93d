/*
 * virtual.c — the virtual inodes of docs/control.md: `<control_dir>/` (0700)
 * with one write-only file per verb (0200), and `<stats_dir>/` (0500) with
 * its read-only snapshot files (0400), all owned by the mounting user.
 *
 * Design:
 *   - Node ids: MMAPFS_VIRTUAL_INO_BIT | n, where n is NODE_CTL_DIR,
 *     NODE_STATS_DIR, NODE_CTL_FILE + verb or NODE_STATS_FILE + stats
 *     file. They are constants, so lookup counts are not kept (FORGET of
 *     a virtual id is a no-op) and every request on them is stateless,
 *     except an open stats file, whose handle owns its snapshot.
 *   - The two directory names come from the running config at each
 *     lookup in the root (a reload may rename them); entries and
 *     attributes are handed out with zero timeouts so a rename shows at
 *     once. A backing entry of the same name in the root is shadowed: it
 *     is neither reachable nor listed, and a warning is logged once.
 *   - Control files: open (write-only, owner or root) with direct_io, so
 *     one write(2) is one WRITE request; the write offset is ignored and
 *     the reply is mmapfs_control_execute()'s (control.c checks the uid
 *     again). Truncation (O_TRUNC of `>` in a shell) is accepted and does
 *     nothing. No virtual file asks for FLUSH at close (FOPEN_NOFLUSH):
 *     each write's reply is its command's result, so a close has nothing
 *     to report.
 *   - Stats files: open (read-only, owner or root) builds the snapshot
 *     with mmapfs_control_stats_open() into a buffer owned by the handle;
 *     reads reply from it (direct_io: the size attribute is 0); release
 *     frees it. The snapshot is reference-counted (the handle, and each
 *     read while it replies): the client may close, and RELEASE free the
 *     handle's reference on another thread, as soon as the kernel has
 *     the reply, while the replying thread still holds the buffer.
 *     Open snapshots are listed, so that those the kernel never released
 *     (RELEASE is asynchronous and may lose the race with unmounting) are
 *     freed at exit (mmapfs_virtual_cleanup).
 *   - Root listing: with show_control, the two directories are listed
 *     first. Their d_off values are two reserved offsets (ROOT_OFF_*),
 *     which a later readdir at them turns back into offset 0 of the
 *     backing stream. Backing filesystems hand out d_off cookies below
 *     them (ext4's largest 64-bit hash cookie is INT64_MAX, its EOF mark).
 *   - Who may read `<stats_dir>/`: the owner and root, plus the group
 *     stats_group and others as stats_mode says (0500 by default: nobody
 *     else), so a monitoring agent of its own user (node_exporter) can
 *     read metrics.prom on a mount with allow_other. Its files get the
 *     read bits of that mode. The group name is resolved once per name
 *     (group_lock), not at every request.
 *   - Everything else on a virtual inode (mknod, mkdir, unlink, rename,
 *     link, symlink, fallocate, ...) is EPERM.
 *
 * Threads: any request thread. Shared state: the list of open snapshots
 * (snap_lock), the record of shadowed names already warned about
 * (warn_lock), the creation time (set once). Neither lock is held while
 * taking another.
 */
#include "virtual/virtual.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logic/log.h"
#include "model/inode.h"
#include "model/mount.h"
#include "model/running_config.h"

#define NODE_CTL_DIR 1u
#define NODE_STATS_DIR 2u
#define NODE_CTL_FILE 0x100u
#define NODE_STATS_FILE 0x200u

/* st_ino of virtual node n: far above the inode numbers of backing files. */
#define VIRTUAL_ST_INO(n) (UINT64_C(0xffffffffffff0000) | (n))

/* d_off of the virtual directories in the root's listing (see above). */
#define ROOT_OFF_CTL ((off_t)INT64_MAX - 2)
#define ROOT_OFF_STATS ((off_t)INT64_MAX - 1)

enum vkind { V_CTL_DIR, V_STATS_DIR, V_CTL_FILE, V_STATS_FILE };

struct vnode {
	enum vkind kind;
	unsigned index;          /* verb or stats file, for the files */
};

static pthread_once_t born_once = PTHREAD_ONCE_INIT;
static struct timespec born;

/* The snapshot of an open stats file (fuse_file_info.fh). */
struct snapshot {
	atomic_uint refs;        /* the handle, and each read replying */
	struct mmapfs_buf text;
	struct snapshot *next, *prev;    /* open_snaps, under snap_lock */
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *open_snaps;

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;

/* The last stats_group resolved, and its gid (group_lock). */
static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static char group_name[NAME_MAX + 1];
static gid_t group_gid;
static char warned[2][NAME_MAX + 1];     /* guarded by warn_lock */

static fuse_ino_t node_id(unsigned n)
{
	return MMAPFS_VIRTUAL_INO_BIT | n;
}

/* Decodes a virtual node id. Returns false for ids that name nothing. */
static bool vnode_of(fuse_ino_t ino, struct vnode *v)
{
	uint64_t n = ino & ~MMAPFS_VIRTUAL_INO_BIT;

	if (!mmapfs_ino_is_virtual(ino))
		return false;
	if (n == NODE_CTL_DIR) {
		v->kind = V_CTL_DIR;
	} else if (n == NODE_STATS_DIR) {
		v->kind = V_STATS_DIR;
	} else if (n >= NODE_CTL_FILE &&
		   n < NODE_CTL_FILE + MMAPFS_CTL_VERB_COUNT) {
		v->kind = V_CTL_FILE;
		v->index = (unsigned)(n - NODE_CTL_FILE);
	} else if (n >= NODE_STATS_FILE &&
		   n < NODE_STATS_FILE + MMAPFS_STATS_FILE_COUNT) {
		v->kind = V_STATS_FILE;
		v->index = (unsigned)(n - NODE_STATS_FILE);
	} else {
		return false;
	}
	return true;
}

static void set_born(void)
{
	clock_gettime(CLOCK_REALTIME, &born);
}

/* The gid of stats_group text g: "-" the daemon's own, a number, or a
 * group name (a name gone since the config was loaded: the daemon's). */
static gid_t stats_gid(const char *g)
{
	char buf[4096];
	struct group gr, *found = NULL;
	gid_t gid;

	if (strcmp(g, "-") == 0)
		return getegid();
	if (g[0] >= '0' && g[0] <= '9')
		return (gid_t)strtoul(g, NULL, 10);
	pthread_mutex_lock(&group_lock);
	if (strcmp(group_name, g) == 0) {
		gid = group_gid;
		pthread_mutex_unlock(&group_lock);
		return gid;
	}
	pthread_mutex_unlock(&group_lock);
	gid = getgrnam_r(g, &gr, buf, sizeof(buf), &found) == 0 && found ?
	      found->gr_gid : getegid();
	pthread_mutex_lock(&group_lock);
	snprintf(group_name, sizeof(group_name), "%s", g);
	group_gid = gid;
	pthread_mutex_unlock(&group_lock);
	return gid;
}

/* The group and mode of the stats directory in the running config. */
static void stats_access(gid_t *gid, unsigned *mode)
{
	struct mmapfs_config *cfg = mmapfs_config_current();
	const struct mmapfs_global_settings *g = mmapfs_config_global(cfg);

	*gid = stats_gid(g->stats_group);
	*mode = g->stats_mode;
	mmapfs_config_unref(cfg);
}

static void vnode_attr(fuse_ino_t ino, const struct vnode *v, struct stat *st)
{
	unsigned smode = 0500;
	gid_t sgid = getegid();

	pthread_once(&born_once, set_born);
	if (v->kind == V_STATS_DIR || v->kind == V_STATS_FILE)
		stats_access(&sgid, &smode);
	memset(st, 0, sizeof(*st));
	st->st_ino = VIRTUAL_ST_INO(ino & ~MMAPFS_VIRTUAL_INO_BIT);
	switch (v->kind) {
	case V_CTL_DIR:
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
		break;
	case V_STATS_DIR:
		st->st_mode = S_IFDIR | smode;
		st->st_nlink = 2;
		break;
	case V_CTL_FILE:
		st->st_mode = S_IFREG | 0200;
		st->st_nlink = 1;
		break;
	case V_STATS_FILE:
		st->st_mode = S_IFREG | (smode & 0444);
		st->st_nlink = 1;
		break;
	}
	st->st_uid = geteuid();
	st->st_gid = sgid;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = born;
}

static void snapshot_free(struct snapshot *snap)
{
	mmapfs_buf_free(&snap->text);
	free(snap);
}

static void snapshot_list(struct snapshot *snap)
{
	pthread_mutex_lock(&snap_lock);
	snap->prev = NULL;
	snap->next = open_snaps;
	if (open_snaps)
		open_snaps->prev = snap;
	open_snaps = snap;
	pthread_mutex_unlock(&snap_lock);
}

static void snapshot_put(struct snapshot *snap)
{
	if (atomic_fetch_sub(&snap->refs, 1) != 1)
		return;
	pthread_mutex_lock(&snap_lock);
	if (snap->prev)
		snap->prev->next = snap->next;
	else
		open_snaps = snap->next;
	if (snap->next)
		snap->next->prev = snap->prev;
	pthread_mutex_unlock(&snap_lock);
	snapshot_free(snap);
}

void mmapfs_virtual_cleanup(void)
{
	pthread_mutex_lock(&snap_lock);
	while (open_snaps) {
		struct snapshot *snap = open_snaps;

		open_snaps = snap->next;
		snapshot_free(snap);
	}
	pthread_mutex_unlock(&snap_lock);
}

/* True when the requester may use the virtual files: the mounting user or
 * root (the modes give nobody else any access). */
static bool requester_is_owner(fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	return uid == geteuid() || uid == 0;
}

/* True when the requester may read the stats directory: the owner and
 * root, others with the read bit for others, members of stats_group with
 * the group's. */
static bool requester_reads_stats(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[64], gid;
	unsigned mode;
	int n;

	if (requester_is_owner(req))
		return true;
	stats_access(&gid, &mode);
	if (mode & 0004)
		return true;
	if (!(mode & 0040))
		return false;
	if (ctx->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 64, groups);
	for (int i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static void fill_entry(fuse_ino_t ino, const struct vnode *v,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	vnode_attr(ino, v, &e->attr);
}

static void reply_entry(fuse_req_t req, unsigned n)
{
	struct fuse_entry_param e;
	struct vnode v;

	vnode_of(node_id(n), &v);
	fill_entry(node_id(n), &v, &e);
	/* An interrupted reply leaves no lookup count to give back. */
	(void)fuse_reply_entry(req, &e);
}

/* The names and show_control of the running config. */
static void listing_names(struct mmapfs_virtual_listing *l)
{
	struct mmapfs_config *cfg = mmapfs_config_current();
	const struct mmapfs_global_settings *g = mmapfs_config_global(cfg);

	l->show = g->show_control;
	snprintf(l->ctl, sizeof(l->ctl), "%s", g->control_dir);
	snprintf(l->stats, sizeof(l->stats), "%s", g->stats_dir);
	mmapfs_config_unref(cfg);
}

/* Logs once per name (the last two names remembered) that a backing
 * entry in the root is shadowed. exists: the entry is known to exist;
 * otherwise it is looked for. */
static void warn_shadowed(const char *name, bool exists)
{
	struct stat st;

	pthread_mutex_lock(&warn_lock);
	if (strcmp(warned[0], name) == 0 || strcmp(warned[1], name) == 0) {
		pthread_mutex_unlock(&warn_lock);
		return;
	}
	pthread_mutex_unlock(&warn_lock);
	if (!exists && fstatat(mmapfs_d.root.fds.fd, name, &st,
			       AT_SYMLINK_NOFOLLOW) < 0)
		return;
	pthread_mutex_lock(&warn_lock);
	memcpy(warned[1], warned[0], sizeof(warned[1]));
	snprintf(warned[0], sizeof(warned[0]), "%s", name);
	pthread_mutex_unlock(&warn_lock);
	mmapfs_warn("the backing entry '%s' in the root is shadowed by the "
		    "virtual directory of that name (set control_dir or "
		    "stats_dir to another name to reach it)", name);
}

/* The node of name in virtual directory dir, or 0. */
static unsigned child_of(const struct vnode *dir, const char *name)
{
	enum mmapfs_ctl_verb verb;
	enum mmapfs_stats_file f;

	if (dir->kind == V_CTL_DIR &&
	    mmapfs_ctl_verb_from_name(name, &verb) == 0)
		return NODE_CTL_FILE + (unsigned)verb;
	if (dir->kind == V_STATS_DIR &&
	    mmapfs_stats_file_from_name(name, &f) == 0)
		return NODE_STATS_FILE + (unsigned)f;
	return 0;
}

bool mmapfs_virtual_lookup(fuse_req_t req, fuse_ino_t parent,
			   const char *name)
{
	struct mmapfs_virtual_listing l;
	struct vnode pv;
	unsigned child;

	if (mmapfs_ino_is_virtual(parent)) {
		if (!vnode_of(parent, &pv))
			fuse_reply_err(req, ENOENT);
		else if (pv.kind != V_CTL_DIR && pv.kind != V_STATS_DIR)
			fuse_reply_err(req, ENOTDIR);
		else if ((child = child_of(&pv, name)) == 0)
			fuse_reply_err(req, ENOENT);
		else
			reply_entry(req, child);
		return true;
	}
	if (parent != FUSE_ROOT_ID)
		return false;
	listing_names(&l);
	if (strcmp(name, l.ctl) == 0) {
		warn_shadowed(name, false);
		reply_entry(req, NODE_CTL_DIR);
		return true;
	}
	if (strcmp(name, l.stats) == 0) {
		warn_shadowed(name, false);
		reply_entry(req, NODE_STATS_DIR);
		return true;
	}
	return false;
}

bool mmapfs_virtual_entry_refused(fuse_req_t req, fuse_ino_t parent,
				  const char *name)
{
	struct mmapfs_virtual_listing l;

	if (!mmapfs_ino_is_virtual(parent)) {
		if (parent != FUSE_ROOT_ID)
			return false;
		listing_names(&l);
		if (strcmp(name, l.ctl) != 0 && strcmp(name, l.stats) != 0)
			return false;
	}
	fuse_reply_err(req, EPERM);
	return true;
}

void mmapfs_virtual_reply(fuse_req_t req)
{
	fuse_reply_err(req, EPERM);
}

void mmapfs_virtual_reply_ok(fuse_req_t req)
{
	fuse_reply_err(req, 0);
}

void mmapfs_virtual_getattr(fuse_req_t req, fuse_ino_t ino)
{
	struct stat st;
	struct vnode v;

	if (!vnode_of(ino, &v)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	vnode_attr(ino, &v, &st);
	fuse_reply_attr(req, &st, 0);
}

void mmapfs_virtual_setattr(fuse_req_t req, fuse_ino_t ino, int valid,
			    const struct stat *attr)
{
	/* What a shell's `>` sends before writing: truncation to 0 (and the
	 * times that go with it). */
	const int truncation = FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
			       FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			       FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;
	struct vnode v;

	if (!vnode_of(ino, &v)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (v.kind != V_CTL_FILE || !requester_is_owner(req) ||
	    (valid & ~truncation) ||
	    ((valid & FUSE_SET_ATTR_SIZE) && attr->st_size != 0)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	mmapfs_virtual_getattr(req, ino);
}

void mmapfs_virtual_open(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE;
	struct mmapfs_control c;
	struct snapshot *snap;
	struct vnode v;
	int res;

	if (!vnode_of(ino, &v)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (v.kind == V_CTL_DIR || v.kind == V_STATS_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (!(v.kind == V_CTL_FILE ? requester_is_owner(req) :
				     requester_reads_stats(req)) ||
	    acc != (v.kind == V_CTL_FILE ? O_WRONLY : O_RDONLY)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->noflush = 1;	/* a close has nothing to report: no FLUSH */
	fi->fh = 0;
	if (v.kind == V_CTL_FILE) {
		(void)fuse_reply_open(req, fi);
		return;
	}
	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	atomic_init(&snap->refs, 1);
	mmapfs_control_instance(&c);
	res = mmapfs_control_stats_open(&c, mmapfs_stats_file_name(v.index),
					&snap->text);
	if (res < 0) {
		snapshot_put(snap);
		fuse_reply_err(req, -res);
		return;
	}
	snapshot_list(snap);
	fi->fh = (uintptr_t)snap;
	if (fuse_reply_open(req, fi) < 0)
		snapshot_put(snap);	/* the opener is gone: no RELEASE */
}

void mmapfs_virtual_read(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	struct snapshot *snap = (struct snapshot *)(uintptr_t)fi->fh;
	const struct mmapfs_buf *text;
	struct vnode v;

	if (!vnode_of(ino, &v) || v.kind != V_STATS_FILE || !snap) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* The handle's reference is ours until this read is answered. */
	atomic_fetch_add(&snap->refs, 1);
	text = &snap->text;
	if (off < 0 || (uint64_t)off >= text->len) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		if (size > text->len - (size_t)off)
			size = text->len - (size_t)off;
		fuse_reply_buf(req, text->data + off, size);
	}
	snapshot_put(snap);
}

void mmapfs_virtual_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			  size_t size, struct fuse_file_info *fi)
{
	struct mmapfs_control c;
	struct vnode v;
	ssize_t n;

	(void)fi;
	if (!vnode_of(ino, &v) || v.kind != V_CTL_FILE) {
		fuse_reply_err(req, EBADF);
		return;
	}
	mmapfs_control_instance(&c);
	n = mmapfs_control_execute(&c, mmapfs_ctl_verb_name(v.index), buf,
				   size, fuse_req_ctx(req)->uid);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

void mmapfs_virtual_release(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi)
{
	struct snapshot *snap = (struct snapshot *)(uintptr_t)fi->fh;
	struct vnode v;

	if (vnode_of(ino, &v) && v.kind == V_STATS_FILE && snap)
		snapshot_put(snap);
	fuse_reply_err(req, 0);
}

void mmapfs_virtual_opendir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi)
{
	struct vnode v;

	if (!vnode_of(ino, &v)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (v.kind != V_CTL_DIR && v.kind != V_STATS_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (!(v.kind == V_CTL_DIR ? requester_is_owner(req) :
				    requester_reads_stats(req))) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->fh = 0;
	(void)fuse_reply_open(req, fi);
}

/* Adds one entry to buf: name of node n, or when n is 0 a directory
 * entry without a node ("." and "..", inode number dot_ino). Returns its
 * size, 0 when it does not fit. */
static size_t add_dirent(fuse_req_t req, char *buf, size_t rem,
			 const char *name, unsigned n, uint64_t dot_ino,
			 off_t next, bool plus)
{
	struct fuse_entry_param e;
	struct vnode v;
	size_t len;

	memset(&e, 0, sizeof(e));
	if (n) {
		vnode_of(node_id(n), &v);
		fill_entry(node_id(n), &v, &e);
	} else {
		e.attr.st_ino = dot_ino;
		e.attr.st_mode = S_IFDIR;
	}
	/* readdirplus hands the kernel a lookup count for e.ino: virtual
	 * nodes keep none, so nothing is to be given back when it does not
	 * fit. */
	len = plus ? fuse_add_direntry_plus(req, buf, rem, name, &e, next) :
		     fuse_add_direntry(req, buf, rem, name, &e.attr, next);
	return len > rem ? 0 : len;
}

void mmapfs_virtual_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			    off_t off, bool plus)
{
	uint64_t dot = VIRTUAL_ST_INO(ino & ~MMAPFS_VIRTUAL_INO_BIT);
	unsigned count, base;
	struct vnode v;
	size_t rem = size, n;
	char *buf;

	if (!vnode_of(ino, &v) || (v.kind != V_CTL_DIR &&
				   v.kind != V_STATS_DIR)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	count = v.kind == V_CTL_DIR ? MMAPFS_CTL_VERB_COUNT :
				      MMAPFS_STATS_FILE_COUNT;
	base = v.kind == V_CTL_DIR ? NODE_CTL_FILE : NODE_STATS_FILE;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Offsets: 0 ".", 1 "..", 2 + i the i-th file; d_off is the next. */
	for (off_t i = off < 0 ? 0 : off; i < 2 + (off_t)count; i++) {
		const char *name;
		unsigned node = 0;

		if (i < 2) {
			name = i == 0 ? "." : "..";
		} else {
			node = base + (unsigned)(i - 2);
			name = v.kind == V_CTL_DIR ?
			       mmapfs_ctl_verb_name(node - base) :
			       mmapfs_stats_file_name(node - base);
		}
		n = add_dirent(req, buf + (size - rem), rem, name, node,
			       i == 0 ? dot : FUSE_ROOT_ID, i + 1, plus);
		if (n == 0)
			break;
		rem -= n;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void mmapfs_virtual_getxattr(fuse_req_t req, size_t size)
{
	(void)size;
	fuse_reply_err(req, ENODATA);
}

void mmapfs_virtual_listxattr(fuse_req_t req, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

size_t mmapfs_virtual_readdir_root(fuse_req_t req, fuse_ino_t ino,
				   struct mmapfs_virtual_listing *l,
				   char *buf, size_t *rem, off_t *off,
				   bool plus)
{
	size_t added = 0, n;

	memset(l, 0, sizeof(*l));
	l->root = ino == FUSE_ROOT_ID;
	if (!l->root)
		return 0;
	listing_names(l);
	if (*off != 0 && *off != ROOT_OFF_CTL && *off != ROOT_OFF_STATS)
		return 0;
	/* The kernel's buffer (a page) always holds both entries; were it
	 * smaller, an entry that does not fit is left out of this listing
	 * rather than breaking the offsets of the backing entries. */
	if (l->show && *off == 0) {
		n = add_dirent(req, buf, *rem, l->ctl, NODE_CTL_DIR, 0,
			       ROOT_OFF_CTL, plus);
		added += n;
		*rem -= n;
	}
	if (l->show && *off != ROOT_OFF_STATS) {
		n = add_dirent(req, buf + added, *rem, l->stats,
			       NODE_STATS_DIR, 0, ROOT_OFF_STATS, plus);
		added += n;
		*rem -= n;
	}
	*off = 0;
	return added;
}

bool mmapfs_virtual_hidden(const struct mmapfs_virtual_listing *l,
			   const char *name)
{
	if (!l->root || (strcmp(name, l->ctl) != 0 &&
			 strcmp(name, l->stats) != 0))
		return false;
	warn_shadowed(name, true);
	return true;
}
