/*
 * model/inode.h — the inode table: one struct mmapfs_inode per backing
 * object the kernel knows (keyed by device and inode number), the open
 * handles (struct mmapfs_handle), node ids, and the paths of inodes
 * relative to the backing root.
 *
 * FUSE node ids. A regular node id is the address of its struct
 * mmapfs_inode (FUSE_ROOT_ID stands for the root). Node ids with
 * MMAPFS_VIRTUAL_INO_BIT set are reserved for virtual inodes (the control
 * and stats files, virtual/): no user-space address has that bit, and
 * every request is routed through mmapfs_ino_is_virtual() first.
 *
 * Each group of fields of struct mmapfs_inode is owned by one module of
 * the model, named beside it: only that module changes it (the layering
 * check, tests/layers, enforces it).
 *
 * Locks of the model, outermost first (a lock may be taken while holding
 * one above it, never one below it):
 *   reload_lock  (reload.c)      serialises reloads
 *   ctl_lock     (ctl_lock.c)    serialises .ctl/lock and unlock (and the
 *                                FORGET of a file with locked pages); held
 *                                across the release of their open
 *   policy_lock  (mapping.c)     serialises policy changes; held while a
 *                                stricter policy flushes (no request
 *                                takes it)
 *   open_lock    (mapping.c)     the open list, the eviction clock hand
 *   inode lock   (map.lock,      the mapping group of one inode
 *                 mapping.c)
 *   watch_lock   (outside.c)     the inotify watch table
 *   cache_lock   (fdcache.c)     the fd cache's LRU and counts
 *   shard locks, dead_lock       the inode table
 *                (inode.c)
 *   config_lock  (running_config.c), ring_lock (invalidate.c): leaves,
 *                                nothing is taken while they are held
 * mmapfs_inode_fd_get() may take an inode lock (its stand-in descriptor):
 * never call it with an inode lock held. No lock of the model is held
 * across a flush, a sync or an unmap that may sync, except policy_lock
 * (and at exit). libmmapio's locks are below all of these.
 */
#ifndef MMAPFS_MODEL_INODE_H
#define MMAPFS_MODEL_INODE_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "logic/closed_files.h"
#include "logic/config.h"
#include "logic/lock.h"
#include "logic/lockset.h"
#include "mmapio.h"

#define MMAPFS_VIRTUAL_INO_BIT (UINT64_C(1) << 63)

/* One backing object (file, directory, symlink, node) known to the kernel.
 *
 * Its fields come in groups, each owned by one module of the model: only
 * the owner changes them (after inode.c's constructor set their first
 * values); other modules call the owner's functions. The comment of each
 * group names its owner and its lock.
 *
 * dev, ino, type: immutable after creation; anyone may read them.
 */
struct mmapfs_inode;

/* The inode's O_PATH descriptor as an entry of the fd cache.
 * Locking: the fd-cache lock; use fd only between mmapfs_inode_fd_get()
 * and _put() (the root's fd is never closed: mmapfs_root_fd()). handle:
 * set before the inode enters the table, then replaced (rename) under the
 * fd-cache lock. */
struct mmapfs_inode_fds {
	int fd;                  /* O_PATH | O_NOFOLLOW; -1 while the
				  * fd cache has it closed */
	struct file_handle *handle; /* NULL: fd stays open until FORGET */
	bool handle_checked;     /* handle opened this inode's object once;
				  * a file's handle is taken by name, and the
				  * name may have been given to another object
				  * from outside in between */
	unsigned pins;           /* users of fd right now */
	bool on_lru;             /* idle, fd open: may be closed */
	struct mmapfs_inode *lru_next, *lru_prev;
};

/* The inode's entry in the table.
 * Locking: the table shard lock; hash_next of an unhashed inode: also the
 * dead-list lock. nocap_ctime: atomic. */
struct mmapfs_inode_entry {
	uint64_t nlookup;
	struct mmapfs_inode *hash_next;
	bool unhashed;           /* its object is gone: out of the table */
	/* The path relative to the backing root, from the names the kernel
	 * sent (inode.c, "names"); NULL: none known. Guarded by inode.c's
	 * names_lock. */
	char *path;
	/* The backing object's ctime (ns, never 0) when security.capability
	 * was last found absent; 0: unknown. The kernel asks for that
	 * attribute before every write (file_remove_privs); ops_xattr.c
	 * answers from here while the ctime seen by getattr/lookup still
	 * matches (mmapfs_inode_nocap_*). */
	_Atomic int64_t nocap_ctime;
};

/* The shared mapping of an open regular file, its settings and handles.
 * Locking: lock (the inode lock) guards open_count, inflight, mf, map_fd,
 * evict_error, relpath, settings, locked_bytes, handles, policy_override,
 * override_policy, evict_state, mapped_len, map_unmapped and demote;
 * open_next, open_prev, listed: the open-list lock (mapping.c);
 * counts_carry, counts_base: lock; referenced, mtime_tick, stale, lazy:
 * atomics (stale and lazy set under lock). While
 * open_count > 0 the kernel holds the inode, so no FORGET can free it. */
struct mmapfs_inode_mapping {
	struct mmapfs_lock lock;
	unsigned open_count;     /* FUSE opens not yet released */
	unsigned inflight;       /* requests using mf right now */
	struct mmapio_file *mf;  /* the shared mmapio_file (mapped, or served
				  * by pread/pwrite inside libmmapio when the
				  * kernel will not map it); NULL while
				  * evicted or when the daemon cannot open
				  * the file itself */
	int map_fd;              /* the mapping's fd while evicted, else -1 */
	int evict_error;         /* 0, or the -errno the unmap of an eviction
				  * reported (a failed close-rule flush, the
				  * sticky error): libmmapio forgot it with
				  * the last mapping, so it is kept here and
				  * reported like the sticky error until the
				  * last release */
	char *relpath;           /* path relative to the root at first open */
	struct mmapfs_file_settings settings;
	uint64_t locked_bytes;   /* bytes mlock()ed for settings.lock */
	struct mmapfs_handle *handles;
	/* .ctl/policy override: replaces the config's policy in
	 * settings.flush wherever settings are filled in. */
	bool policy_override;
	struct mmapio_policy override_policy;
	/* An eviction's progress: the sweep flushes its victim with no lock
	 * held (FLUSHING: other sweeps pass it by), then unmaps it (FLUSHED:
	 * also when that flush left a sticky error, which evict_error then
	 * keeps). */
	enum { MMAPFS_EVICT_NONE, MMAPFS_EVICT_FLUSHING,
	       MMAPFS_EVICT_FLUSHED } evict_state;
	/* Address space: the bytes of mf's mapping counted against
	 * max_mapped_bytes; the next mapping is made without one (the file
	 * outgrew what may be mapped); the mapping is to be replaced by
	 * pread/pwrite once no request uses it; and, until then, the file
	 * grew past what the mapping could follow, so reads and writes go
	 * around it (mmapfs_mapping_stale). */
	uint64_t mapped_len;
	bool map_unmapped;
	bool demote;
	atomic_bool stale;
	/* Mapped lazily: the file was empty at its first open (created, or
	 * opened with O_TRUNC), so mf is served by pread/pwrite until a
	 * request needs the mapping (a read, a write inside the file), which
	 * maps it in place. A file written only by appends (most new files)
	 * never gets mapped. */
	atomic_bool lazy;

	/* The file's event counters: those of its earlier mappings (and,
	 * taken back at the first open, of the table of recently closed
	 * files) in counts_carry, and what libmmapio counted when the
	 * current mapping was made in counts_base; the file's counters are
	 * counts_carry + (mmapio_stats(mf) - counts_base). */
	struct mmapfs_file_counts counts_carry;
	struct mmapio_stats counts_base;

	struct mmapfs_inode *open_next, *open_prev;
	bool listed;             /* on the open list */
	atomic_bool referenced;  /* used since the clock hand last passed */
	_Atomic int64_t mtime_tick; /* coarse time of the last mtime update */
};

/* Changes made from outside the mount.
 * Locking: watch_wd, watch_next, watch_pending, pending_*: the watch lock
 * of outside.c; the rest atomics. */
struct mmapfs_inode_outside {
	/* The newest backing ctime (ns) the kernel's cache of this inode
	 * accounts for; changes through the mount in progress / finished. */
	_Atomic int64_t change_seen_ns;
	atomic_uint own_busy, own_gen;
	/* Directories: the backing ctime (ns) at the last opendir, 0 before
	 * the first; the kernel keeps its cached listing (cache_readdir)
	 * only while it is unchanged. */
	_Atomic int64_t listing_ctime_ns;
	int watch_wd;            /* inotify watch while open, else -1 */
	struct mmapfs_inode *watch_next;
	/* Waiting for its watch (an open file, outside.c): on the pending
	 * list since due_ns - WATCH_DELAY. */
	bool watch_pending;
	struct mmapfs_inode *pending_next, *pending_prev;
	int64_t pending_due_ns;
	atomic_uint watch_users; /* the watcher thread is checking it */
};

/* .ctl/lock: the open that keeps the mapping pinned while pages of it are
 * locked, and which pages.
 * Locking: the .ctl/lock lock of ctl_lock.c. */
struct mmapfs_inode_control {
	struct mmapfs_handle *handle;
	struct mmapfs_lockset locks;
};

struct mmapfs_inode {
	dev_t dev;
	ino_t ino;
	mode_t type;             /* S_IFMT bits */
	struct mmapfs_inode_fds fds;         /* owner: model/fdcache.c */
	struct mmapfs_inode_entry tab;       /* owner: model/inode.c */
	struct mmapfs_inode_mapping map;     /* owner: model/mapping.c */
	struct mmapfs_inode_outside out;     /* owner: model/outside.c */
	struct mmapfs_inode_control ctl;     /* owner: model/ctl_lock.c */
};

/* An open file or directory (fuse_file_info.fh).
 *
 * Files: fd is -1 when the file has a mapping descriptor (mapped, or
 * evicted), which serves fallocate, lseek, fsync, copy_file_range and
 * appends for every open (ops_file.c); the open's own descriptor, opened
 * with the access mode asked for, only checks access and is closed at
 * once. A file without one (unmappable, or the daemon may not read it)
 * keeps it in fd: it serves the pread/pwrite fallback and the rest.
 * Directories: dp is a stream on the directory, pos/entry the readdir
 * cursor (guarded by the kernel, which serialises readdir per open).
 *
 * Every handle is on its inode's handles list (guarded by inode.lock), so
 * handles the kernel never released (an unmount by signal) are freed at
 * exit. */
struct mmapfs_handle {
	struct mmapfs_inode *inode;
	struct mmapfs_handle *next, *prev;
	int fd;
	int flags;               /* the open(2) flags */
	DIR *dp;
	off_t pos;
	struct dirent *entry;    /* read but not yet returned */
};

/* The one routing predicate: true for node ids reserved for virtual
 * inodes (control and stats files). */
static inline bool mmapfs_ino_is_virtual(fuse_ino_t ino)
{
	return (ino & MMAPFS_VIRTUAL_INO_BIT) != 0;
}

int mmapfs_inode_table_init(int root_fd);
/* The function that releases what the modules above the table keep in an
 * inode (its mapping, handles, watch) just before the table frees it: set
 * once by the composition root, before the session starts. */
void mmapfs_inode_set_teardown(void (*fn)(struct mmapfs_inode *in));
/* Frees every inode (at exit; no request may run). */
void mmapfs_inode_table_destroy(void);
/* The inode of a (non-virtual) node id. */
struct mmapfs_inode *mmapfs_inode_get(fuse_ino_t ino);
fuse_ino_t mmapfs_inode_nodeid(const struct mmapfs_inode *in);
/* Finds or makes the inode of name under parent (no symlink followed) and
 * fills e, taking one lookup reference. listed_ino: the entry's inode
 * number from parent's listing (getdents), which tells whether the table
 * may hold it (one syscall less for an entry it does not hold), or 0.
 * Returns 0 or -errno. Requests use model/lookup.h, which also notices
 * changes from outside. */
int mmapfs_inode_find_entry(struct mmapfs_inode *parent, const char *name,
			    ino_t listed_ino, struct fuse_entry_param *e);
/* The same for an entry this request just created (O_CREAT|O_EXCL, mknod,
 * mkdir...): no stat by name to find it in the table first (the table
 * cannot hold a new object; an inode whose number the new one reuses is
 * found dead when the new one is inserted). made_fd: the creator's open
 * descriptor of the new file (stays the caller's), or -1: with one, the
 * inode is made from it (no lookup by name, and no descriptor of its own
 * while it has a file handle). */
int mmapfs_inode_created_entry(struct mmapfs_inode *parent, const char *name,
			       int made_fd, struct fuse_entry_param *e);
/* Drops n lookup references; frees the inode at zero. */
void mmapfs_inode_forget(struct mmapfs_inode *in, uint64_t n);
/* The inode of the object an O_PATH descriptor fd refers to (taking over
 * fd), with one lookup reference, and its attributes in *st. fd was
 * opened as name beneath dirfd (for its file handle), or dirfd is -1.
 * Returns 0 or -errno (fd closed). */
int mmapfs_inode_from_fd(int dirfd, const char *name, int fd, struct stat *st,
			 struct mmapfs_inode **out);
/* fstat of the inode's backing object. Returns 0 or -errno. */
int mmapfs_inode_stat(struct mmapfs_inode *in, struct stat *st);
/* The cached absence of security.capability (killpriv, getxattr): known
 * absent; record its absence at the backing ctime ctime_ns (never 0);
 * forget it (the attribute may have changed). */
bool mmapfs_inode_nocap_known(struct mmapfs_inode *in);
void mmapfs_inode_nocap_set(struct mmapfs_inode *in, int64_t ctime_ns);
void mmapfs_inode_nocap_forget(struct mmapfs_inode *in);
/* Forgets a cached absent security.capability when st (fresh attributes
 * of in) shows another ctime than the one it was cached at. */
void mmapfs_inode_nocap_check(struct mmapfs_inode *in, const struct stat *st);
/* The ctime of st in nanoseconds, never 0 (the "unknown" value). */
int64_t mmapfs_ctime_ns(const struct stat *st);
/* "/proc/self/fd/N" of fd (an inode's pinned descriptor). */
void mmapfs_fd_procpath(int fd, char *buf, size_t len);
/* The path of in relative to the backing root ("" for the root), from the
 * names the kernel sent (malloc'd). Returns 0, -ENOENT (no name known:
 * an object the daemon only knows by descriptor) or -ENOMEM. */
int mmapfs_inode_path(struct mmapfs_inode *in, char **out);
/* The path of the entry name in directory parent (malloc'd). Returns 0 or
 * -ENOMEM (also when parent's path is unknown). */
int mmapfs_inode_entry_path(struct mmapfs_inode *parent, const char *name,
			    char **out);
/* in was reached as name in parent (a lookup): its path becomes
 * parent's/name ("." and ".." change nothing). */
void mmapfs_inode_named(struct mmapfs_inode *in, struct mmapfs_inode *parent,
			const char *name);
/* in was resolved as relpath from the root (a .ctl command): its path,
 * unless it already has one from the kernel's names. */
void mmapfs_inode_named_once(struct mmapfs_inode *in, const char *relpath);
/* After a rename to newname in newdir (newdfd: its pinned descriptor): the
 * moved object's inode, if the table has it, takes its new path (a
 * directory's also rewrites the paths beneath it) and, a file that
 * changed parent (new_parent), its file handle there (fdcache.c). */
void mmapfs_inode_moved(struct mmapfs_inode *newdir, int newdfd,
			const char *newname, bool new_parent);

/* Replies an entry of a lookup-like request (res 0), or the error res;
 * drops the lookup reference the kernel did not take when the reply
 * fails (an interrupted request). */
void mmapfs_reply_entry_or_err(fuse_req_t req, int res,
			       const struct fuse_entry_param *e);

#endif /* MMAPFS_MODEL_INODE_H */
