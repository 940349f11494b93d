/*
 * inode.c — the inode table: every backing object the kernel knows, keyed
 * by its backing (st_dev, st_ino), each with an O_PATH descriptor (and a
 * file handle: the descriptors of idle inodes are a bounded cache,
 * fdcache.c).
 *
 * Design: as in libfuse's passthrough_ll, a node id is the address of the
 * struct mmapfs_inode (the root is FUSE_ROOT_ID). A lookup opens the name
 * with O_PATH | O_NOFOLLOW beneath its parent's descriptor, so no symlink
 * and no ".." resolves outside the backing directory; hard links share one
 * inode (and so one mapping). The kernel's lookup count (nlookup) is kept
 * per inode; FORGET drops it and the last one frees the inode. A lookup
 * first stats the name: when the table already has that (dev, ino), the
 * reply needs no descriptor (one syscall instead of open, stat, close);
 * only a new object is opened. Every use of an inode's descriptor pins it
 * (mmapfs_inode_fd_get/put); a lookup pins its parent.
 *
 * Inode numbers are reused: an idle inode keeps only a file handle, so
 * its object may be deleted (from outside, or by an rm through the mount
 * whose FORGET has not come yet) and a new object get the same number. A
 * lookup or create that finds (dev, ino) in the table therefore checks
 * that the entry's object is still there (its descriptor opens); a dead
 * entry is taken out of the table (dead list) and a fresh one made.
 *
 * Invariants: an inode is in the table or on the dead list exactly while
 * nlookup > 0 (the root always in the table), and in the table only
 * while its object exists as far as the daemon knows. An inode with open
 * files has nlookup > 0 (the kernel holds it), so FORGET never frees an
 * inode that a handle points at.
 *
 * Locking: the table is split into shards by hash, each with its own
 * mutex guarding its buckets and the nlookup/hash_next of its inodes; the
 * dead-list lock is taken inside a shard lock only. No other lock is
 * taken while a shard lock is held; the descriptor is opened
 * and stat'ed, and its handle recorded, before the shard lock is taken;
 * the fd cache is told after it is dropped.
 */
#include "model/inode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logic/log.h"
#include "model/fdcache.h"
#include "model/mount.h"

#define SHARDS 64
#define BUCKETS_PER_SHARD 4096

struct shard {
	pthread_mutex_t lock;
	struct mmapfs_inode *buckets[BUCKETS_PER_SHARD];
};

static struct shard *shards;

/* Inodes taken out of the table (unhash_dead) that the kernel still
 * knows: freed at their FORGET or at exit. Linked by hash_next; guarded by
 * dead_lock, taken inside a shard lock. */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmapfs_inode *dead_list;

static uint64_t hash_key(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * UINT64_C(0x9E3779B97F4A7C15);

	h ^= (uint64_t)dev * UINT64_C(0xC2B2AE3D27D4EB4F);
	return h ^ (h >> 29);
}

static struct shard *shard_of(uint64_t h)
{
	return &shards[h % SHARDS];
}

static struct mmapfs_inode **bucket_of(struct shard *s, uint64_t h)
{
	return &s->buckets[(h / SHARDS) % BUCKETS_PER_SHARD];
}

static void inode_init_fields(struct mmapfs_inode *in, int fd,
			      const struct stat *st)
{
	in->fds.fd = fd;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->type = st->st_mode & S_IFMT;
	in->tab.nlookup = 1;
	in->tab.hash_next = NULL;
	in->tab.unhashed = false;
	in->tab.path = NULL;
	mmapfs_lock_init(&in->map.lock);
	in->map.open_count = 0;
	in->map.inflight = 0;
	in->map.mf = NULL;
	in->map.map_fd = -1;
	in->map.evict_error = 0;
	in->map.relpath = NULL;
	in->map.locked_bytes = 0;
	in->map.handles = NULL;
	in->map.listed = false;
	in->map.open_next = in->map.open_prev = NULL;
	atomic_init(&in->map.referenced, false);
	atomic_init(&in->map.mtime_tick, 0);
	atomic_init(&in->tab.nocap_ctime, 0);
	/* A new inode has nothing cached in the kernel yet. */
	atomic_init(&in->out.change_seen_ns, mmapfs_ctime_ns(st));
	atomic_init(&in->out.own_busy, 0);
	atomic_init(&in->out.own_gen, 0);
	atomic_init(&in->out.listing_ctime_ns, 0);
	in->out.watch_wd = -1;
	in->out.watch_next = NULL;
	in->out.watch_pending = false;
	in->out.pending_next = in->out.pending_prev = NULL;
	in->out.pending_due_ns = 0;
	atomic_init(&in->out.watch_users, 0);
	in->map.policy_override = false;
	in->map.evict_state = MMAPFS_EVICT_NONE;
	in->map.mapped_len = 0;
	in->map.map_unmapped = false;
	in->map.demote = false;
	atomic_init(&in->map.stale, false);
	atomic_init(&in->map.lazy, false);
	memset(&in->map.override_policy, 0, sizeof(in->map.override_policy));
	in->ctl.handle = NULL;
	in->ctl.locks = (struct mmapfs_lockset)MMAPFS_LOCKSET_INIT;
}

int mmapfs_inode_table_init(int root_fd)
{
	struct stat st;
	uint64_t h;
	struct shard *s;

	if (fstatat(root_fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	shards = calloc(SHARDS, sizeof(*shards));
	if (!shards)
		return -ENOMEM;
	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_init(&shards[i].lock, NULL);
	inode_init_fields(&mmapfs_d.root, root_fd, &st);
	h = hash_key(st.st_dev, st.st_ino);
	s = shard_of(h);
	*bucket_of(s, h) = &mmapfs_d.root;
	/* The root stays pinned: its descriptor is never closed. */
	mmapfs_fdcache_prepare(&mmapfs_d.root, -1, NULL);
	return mmapfs_fdcache_init(root_fd);
}

/* Set before the session starts, read-only afterwards. */
static void (*teardown_hook)(struct mmapfs_inode *in);

void mmapfs_inode_set_teardown(void (*fn)(struct mmapfs_inode *in))
{
	teardown_hook = fn;
}

static void inode_free(struct mmapfs_inode *in)
{
	if (teardown_hook)
		teardown_hook(in);
	free(in->tab.path);
	mmapfs_lock_destroy(&in->map.lock);
	mmapfs_fdcache_drop(in);
	if (in != &mmapfs_d.root)
		free(in);
}

void mmapfs_inode_table_destroy(void)
{
	if (!shards)
		return;
	for (int i = 0; i < SHARDS; i++) {
		for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
			struct mmapfs_inode *in = shards[i].buckets[b], *next;

			for (; in; in = next) {
				next = in->tab.hash_next;
				inode_free(in);
			}
		}
		pthread_mutex_destroy(&shards[i].lock);
	}
	free(shards);
	shards = NULL;
	while (dead_list) {
		struct mmapfs_inode *in = dead_list;

		dead_list = in->tab.hash_next;
		inode_free(in);
	}
	mmapfs_fdcache_destroy();
}

struct mmapfs_inode *mmapfs_inode_get(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &mmapfs_d.root;
	return (struct mmapfs_inode *)(uintptr_t)ino;
}

fuse_ino_t mmapfs_inode_nodeid(const struct mmapfs_inode *in)
{
	if (in == &mmapfs_d.root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)in;
}

int mmapfs_inode_stat(struct mmapfs_inode *in, struct stat *st)
{
	int fd = mmapfs_inode_fd_get(in), res = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		res = -errno;
	mmapfs_inode_fd_put(in);
	return res;
}

int64_t mmapfs_ctime_ns(const struct stat *st)
{
	int64_t ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
		     st->st_ctim.tv_nsec;

	return ns ? ns : 1;
}

bool mmapfs_inode_nocap_known(struct mmapfs_inode *in)
{
	return atomic_load_explicit(&in->tab.nocap_ctime,
				    memory_order_relaxed) != 0;
}

void mmapfs_inode_nocap_set(struct mmapfs_inode *in, int64_t ctime_ns)
{
	atomic_store(&in->tab.nocap_ctime, ctime_ns);
}

void mmapfs_inode_nocap_forget(struct mmapfs_inode *in)
{
	atomic_store(&in->tab.nocap_ctime, 0);
}

void mmapfs_inode_nocap_check(struct mmapfs_inode *in, const struct stat *st)
{
	int64_t seen = atomic_load_explicit(&in->tab.nocap_ctime,
					    memory_order_relaxed);

	if (seen && seen != mmapfs_ctime_ns(st))
		atomic_store(&in->tab.nocap_ctime, 0);
}

/* The inode (dev, ino) in bucket h of s, or NULL. s->lock held. */
static struct mmapfs_inode *bucket_find(struct shard *s, uint64_t h,
					dev_t dev, ino_t ino)
{
	struct mmapfs_inode *in;

	for (in = *bucket_of(s, h); in; in = in->tab.hash_next)
		if (in->dev == dev && in->ino == ino)
			break;
	return in;
}

/* Finds (dev, ino) and takes one lookup reference, or inserts fresh
 * (whose nlookup is already 1). Returns the inode in the table. */
static struct mmapfs_inode *table_get_or_insert(const struct stat *st,
						struct mmapfs_inode *fresh)
{
	uint64_t h = hash_key(st->st_dev, st->st_ino);
	struct shard *s = shard_of(h);
	struct mmapfs_inode **head = bucket_of(s, h), *in;

	pthread_mutex_lock(&s->lock);
	in = bucket_find(s, h, st->st_dev, st->st_ino);
	if (in) {
		in->tab.nlookup++;
	} else {
		fresh->tab.hash_next = *head;
		*head = in = fresh;
	}
	pthread_mutex_unlock(&s->lock);
	return in;
}

/* Finds (dev, ino) of st and takes one lookup reference; NULL when the
 * table does not have it. */
static struct mmapfs_inode *table_find_ref(const struct stat *st)
{
	uint64_t h = hash_key(st->st_dev, st->st_ino);
	struct shard *s = shard_of(h);
	struct mmapfs_inode *in;

	pthread_mutex_lock(&s->lock);
	in = bucket_find(s, h, st->st_dev, st->st_ino);
	if (in)
		in->tab.nlookup++;
	pthread_mutex_unlock(&s->lock);
	return in;
}

/* True when the table holds an inode (dev, ino). A hint only: the
 * answer may change as soon as the shard lock is dropped. */
static bool table_holds(dev_t dev, ino_t ino)
{
	uint64_t h = hash_key(dev, ino);
	struct shard *s = shard_of(h);
	bool held;

	pthread_mutex_lock(&s->lock);
	held = bucket_find(s, h, dev, ino) != NULL;
	pthread_mutex_unlock(&s->lock);
	return held;
}

/* True while the object of in (found by its dev and inode number) still
 * exists: its descriptor is open or opens again. Without a descriptor of
 * its own an idle inode holds nothing that keeps its object alive, so the
 * object may have been deleted and its inode number given to a new one:
 * that new object must not be taken for the old. */
static bool still_there(struct mmapfs_inode *in)
{
	int fd = mmapfs_inode_fd_get(in);

	if (fd >= 0) {
		mmapfs_inode_fd_put(in);
		return true;
	}
	return fd != -ENOENT && fd != -ESTALE;
}

/* Takes in, whose object is gone, out of the table (its node id stays
 * valid until the kernel forgets it) and drops the lookup reference the
 * caller took. */
static void unhash_dead(struct mmapfs_inode *in)
{
	uint64_t h = hash_key(in->dev, in->ino);
	struct shard *s = shard_of(h);
	struct mmapfs_inode **pp;

	pthread_mutex_lock(&s->lock);
	if (!in->tab.unhashed) {
		for (pp = bucket_of(s, h); *pp != in; pp = &(*pp)->tab.hash_next)
			;
		*pp = in->tab.hash_next;
		in->tab.unhashed = true;
		pthread_mutex_lock(&dead_lock);
		in->tab.hash_next = dead_list;
		dead_list = in;
		pthread_mutex_unlock(&dead_lock);
	}
	pthread_mutex_unlock(&s->lock);
	mmapfs_inode_forget(in, 1);
}

/* Enters fresh (fields set from st, descriptor fd or -1, handle
 * prepared) in the table, or drops it for an inode the table already has
 * for the object. */
static void insert_fresh(struct mmapfs_inode *fresh, const struct stat *st,
			 struct mmapfs_inode **out)
{
	struct mmapfs_inode *in;

	while ((in = table_get_or_insert(st, fresh)) != fresh &&
	       !still_there(in))
		unhash_dead(in);
	if (in != fresh) {
		mmapfs_lock_destroy(&fresh->map.lock);
		free(fresh->fds.handle);
		if (fresh->fds.fd >= 0)
			close(fresh->fds.fd);
		free(fresh);
	} else {
		mmapfs_fdcache_admit(fresh);
	}
	*out = in;
}

int mmapfs_inode_from_fd(int dirfd, const char *name, int fd, struct stat *st,
			 struct mmapfs_inode **out)
{
	struct mmapfs_inode *fresh;

	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	fresh = malloc(sizeof(*fresh));
	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	inode_init_fields(fresh, fd, st);
	mmapfs_fdcache_prepare(fresh, dirfd, name);
	insert_fresh(fresh, st, out);
	return 0;
}

/* The inode of the file made as name beneath dirfd and open as made_fd
 * (the create's own descriptor, which stays the caller's), with its
 * attributes in *st. With a file handle the inode starts without a
 * descriptor of its own, as if the fd cache had closed it: most new
 * files are written through made_fd and closed, and never need one
 * (the first request that does opens it by the handle). Without a
 * handle it gets one through made_fd, which is the object for sure. */
static int inode_from_made(int dirfd, const char *name, int made_fd,
			   struct stat *st, struct mmapfs_inode **out)
{
	struct mmapfs_inode *fresh;
	int res;

	if (fstat(made_fd, st) < 0)
		return -errno;
	fresh = malloc(sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	inode_init_fields(fresh, -1, st);
	res = mmapfs_fdcache_prepare_made(fresh, dirfd, name, made_fd);
	if (res < 0) {
		mmapfs_lock_destroy(&fresh->map.lock);
		free(fresh);
		return res;
	}
	insert_fresh(fresh, st, out);
	return 0;
}

/* The lookup proper. listed_ino: the entry's inode number from the
 * parent's listing, or 0. An entry the table does not hold is opened at
 * once: the stat by name only serves to find inodes the table has
 * (without opening them), and the descriptor's own stat fills e. */
static int lookup_in(struct mmapfs_inode *parent, const char *name,
		     ino_t listed_ino, bool created, int made_fd,
		     struct fuse_entry_param *e)
{
	struct mmapfs_inode *in = NULL;
	int dfd, fd, res = 0;

	/* ".." of the root would leave the backing directory. */
	if (parent == &mmapfs_d.root && strcmp(name, "..") == 0)
		name = ".";
	memset(e, 0, sizeof(*e));
	dfd = mmapfs_inode_fd_get(parent);
	if (dfd < 0)
		return dfd;
	if (!created && (!listed_ino || table_holds(parent->dev, listed_ino))) {
		if (fstatat(dfd, name, &e->attr, AT_SYMLINK_NOFOLLOW) < 0)
			res = -errno;
		in = res < 0 ? NULL : table_find_ref(&e->attr);
		if (in && !still_there(in)) {
			unhash_dead(in);
			in = NULL;
		}
	}
	if (made_fd >= 0) {
		res = inode_from_made(dfd, name, made_fd, &e->attr, &in);
	} else if (res == 0 && !in) {
		fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && mmapfs_fdcache_relieve(errno))
			fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		res = fd < 0 ? -errno :
			mmapfs_inode_from_fd(dfd, name, fd, &e->attr, &in);
	}
	mmapfs_inode_fd_put(parent);
	if (res < 0)
		return res;
	if (!in)
		return -EIO;	/* not reached: res 0 always comes with in */
	mmapfs_inode_named(in, parent, name);
	mmapfs_inode_nocap_check(in, &e->attr);
	e->ino = mmapfs_inode_nodeid(in);
	e->attr_timeout = mmapfs_attr_timeout();
	e->entry_timeout = mmapfs_entry_timeout();
	return 0;
}

int mmapfs_inode_find_entry(struct mmapfs_inode *parent, const char *name,
			    ino_t listed_ino, struct fuse_entry_param *e)
{
	return lookup_in(parent, name, listed_ino, false, -1, e);
}

int mmapfs_inode_created_entry(struct mmapfs_inode *parent, const char *name,
			       int made_fd, struct fuse_entry_param *e)
{
	return lookup_in(parent, name, 0, true, made_fd, e);
}

void mmapfs_inode_forget(struct mmapfs_inode *in, uint64_t n)
{
	uint64_t h = hash_key(in->dev, in->ino);
	struct shard *s = shard_of(h);
	struct mmapfs_inode **pp;

	if (in == &mmapfs_d.root)
		return;
	pthread_mutex_lock(&s->lock);
	if (n > in->tab.nlookup) {
		mmapfs_warn("forget of %llu lookups on an inode with %llu",
			    (unsigned long long)n,
			    (unsigned long long)in->tab.nlookup);
		n = in->tab.nlookup;
	}
	in->tab.nlookup -= n;
	if (in->tab.nlookup > 0) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (in->tab.unhashed) {
		pthread_mutex_lock(&dead_lock);
		for (pp = &dead_list; *pp != in; pp = &(*pp)->tab.hash_next)
			;
		*pp = in->tab.hash_next;
		pthread_mutex_unlock(&dead_lock);
	} else {
		for (pp = bucket_of(s, h); *pp != in; pp = &(*pp)->tab.hash_next)
			;
		*pp = in->tab.hash_next;
	}
	pthread_mutex_unlock(&s->lock);
	inode_free(in);
}

/* ---- names -------------------------------------------------------------
 *
 * Each inode keeps its path relative to the backing root as the daemon
 * learnt it from the names the kernel sent: a LOOKUP (also the one after a
 * CREATE, MKNOD, MKDIR, SYMLINK or LINK, and of readdirplus) names the
 * child of a named parent; a RENAME renames, and a directory's rename
 * rewrites the paths beneath it; a .ctl command names what it resolved
 * from the root. Nothing is read back from /proc, so a path longer than
 * PATH_MAX once the backing directory's own path is prepended works as it
 * does natively. A hard-linked file has the last name it was reached by;
 * an unlinked one keeps its last name. names_lock guards tab.path of every
 * inode (taken before a shard lock, never inside one).
 */

static pthread_rwlock_t names_lock = PTHREAD_RWLOCK_INITIALIZER;

/* "parent_path/name" (or name under the root), malloc'd; NULL when the
 * parent's path is unknown or memory is short. names_lock held. */
static char *join_locked(const struct mmapfs_inode *parent, const char *name)
{
	char *path;

	if (parent == &mmapfs_d.root)
		return strdup(name);
	if (!parent->tab.path)
		return NULL;
	if (asprintf(&path, "%s/%s", parent->tab.path, name) < 0)
		return NULL;
	return path;
}

int mmapfs_inode_path(struct mmapfs_inode *in, char **out)
{
	if (in == &mmapfs_d.root) {
		*out = strdup("");
		return *out ? 0 : -ENOMEM;
	}
	pthread_rwlock_rdlock(&names_lock);
	*out = in->tab.path ? strdup(in->tab.path) : NULL;
	pthread_rwlock_unlock(&names_lock);
	if (*out)
		return 0;
	return in->tab.path ? -ENOMEM : -ENOENT;
}

int mmapfs_inode_entry_path(struct mmapfs_inode *parent, const char *name,
			    char **out)
{
	pthread_rwlock_rdlock(&names_lock);
	*out = join_locked(parent, name);
	pthread_rwlock_unlock(&names_lock);
	return *out ? 0 : -ENOMEM;
}

/* Whether in's path is already "parent_path/name". names_lock held. */
static bool named_so_locked(const struct mmapfs_inode *in,
			    const struct mmapfs_inode *parent, const char *name)
{
	size_t plen;

	if (!in->tab.path)
		return false;
	if (parent == &mmapfs_d.root)
		return strcmp(in->tab.path, name) == 0;
	if (!parent->tab.path)
		return false;
	plen = strlen(parent->tab.path);
	return strncmp(in->tab.path, parent->tab.path, plen) == 0 &&
	       in->tab.path[plen] == '/' &&
	       strcmp(in->tab.path + plen + 1, name) == 0;
}

void mmapfs_inode_named(struct mmapfs_inode *in, struct mmapfs_inode *parent,
			const char *name)
{
	char *path;

	if (in == &mmapfs_d.root || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return;
	pthread_rwlock_rdlock(&names_lock);
	if (named_so_locked(in, parent, name)) {
		pthread_rwlock_unlock(&names_lock);
		return;
	}
	pthread_rwlock_unlock(&names_lock);
	pthread_rwlock_wrlock(&names_lock);
	path = join_locked(parent, name);
	if (path) {
		free(in->tab.path);
		in->tab.path = path;
	}
	pthread_rwlock_unlock(&names_lock);
}

void mmapfs_inode_named_once(struct mmapfs_inode *in, const char *relpath)
{
	pthread_rwlock_wrlock(&names_lock);
	if (!in->tab.path && in != &mmapfs_d.root)
		in->tab.path = strdup(relpath);
	pthread_rwlock_unlock(&names_lock);
}

/* After a directory's path changed from old to its current one: every
 * inode whose path starts with "old/" gets the new prefix. names_lock held
 * for writing. */
static void rename_beneath_locked(const char *old, const char *new)
{
	size_t olen = strlen(old);

	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&shards[i].lock);
		for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
			for (struct mmapfs_inode *in = shards[i].buckets[b]; in;
			     in = in->tab.hash_next) {
				char *path;

				if (!in->tab.path ||
				    strncmp(in->tab.path, old, olen) != 0 ||
				    in->tab.path[olen] != '/')
					continue;
				if (asprintf(&path, "%s%s", new,
					     in->tab.path + olen) < 0)
					continue;	/* keeps the old name */
				free(in->tab.path);
				in->tab.path = path;
			}
		}
		pthread_mutex_unlock(&shards[i].lock);
	}
}

void mmapfs_inode_moved(struct mmapfs_inode *newdir, int newdfd,
			const char *newname, bool new_parent)
{
	struct mmapfs_inode *in;
	struct stat st;
	char *old, *path;

	if (fstatat(newdfd, newname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	in = table_find_ref(&st);
	if (!in)
		return;
	pthread_rwlock_wrlock(&names_lock);
	path = join_locked(newdir, newname);
	if (path) {
		old = in->tab.path;
		in->tab.path = path;
		if (old && S_ISDIR(st.st_mode))
			rename_beneath_locked(old, path);
		free(old);
	}
	pthread_rwlock_unlock(&names_lock);
	if (new_parent && !S_ISDIR(st.st_mode))
		mmapfs_fdcache_rehandle(in, newdfd, newname);
	mmapfs_inode_forget(in, 1);
}

void mmapfs_reply_entry_or_err(fuse_req_t req, int res,
			       const struct fuse_entry_param *e)
{
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	if (fuse_reply_entry(req, e) < 0)
		/* The request was interrupted: the kernel did not take the
		 * lookup reference. */
		mmapfs_inode_forget(mmapfs_inode_get(e->ino), 1);
}
