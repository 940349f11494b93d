/*
 * fs.h — the mmapfs daemon's shared state: the daemon singleton, the inode
 * table entry, open-file handles, and the interfaces between the daemon's
 * files (inode table, credentials, mappings, invalidation, reload, ops).
 *
 * FUSE node ids. A regular node id is the address of its struct
 * mmapfs_inode (FUSE_ROOT_ID stands for the root). Node ids with
 * MMAPFS_VIRTUAL_INO_BIT set are reserved for virtual inodes (the .ctl/ and
 * .stats/ control files, virtual.c): no user-space address has that bit,
 * and every request is routed through mmapfs_ino_is_virtual() first.
 *
 * Locking (lock order, outermost first):
 *   .ctl/lock lock (control_ops.c) -> any of the locks below
 *   config lock (reload.c)      -> nothing else is taken while held
 *   open-list lock (mapping.c)  -> inode.lock (only with trylock)
 *   inode.lock                  -> open-list lock, watch lock
 *   open-list lock              -> fd-cache lock
 *   watch lock (outside.c)      -> nothing else is taken while held
 *   mmapfs_inode_fd_get() takes inode.lock (outside the fd-cache lock):
 *   never call it with an inode.lock held.
 *   table shard lock (inode.c)  -> nothing else is taken while held
 *   fd-cache lock (fdcache.c)   -> nothing else is taken while held
 * The data path (read, write) takes only its own inode.lock, briefly, to
 * pin the mapping (inflight++), and again to unpin it; the mapping calls
 * themselves run unlocked.
 */
#ifndef MMAPFS_FS_H
#define MMAPFS_FS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"
#include "mmapio.h"

#define MMAPFS_VIRTUAL_INO_BIT (UINT64_C(1) << 63)

/* One backing object (file, directory, symlink, node) known to the kernel.
 *
 * Locking:
 *   dev, ino, type: immutable after creation. handle: set before the
 *   inode enters the table, then replaced (rename) under the fd-cache
 *   lock.
 *   fd, fd_pins, on_lru, lru_next, lru_prev: the fd-cache lock
 *   (fdcache.c); use fd only between mmapfs_inode_fd_get() and _put()
 *   (the root's fd is never closed and may be used directly).
 *   nlookup, hash_next, unhashed: the table shard lock (inode.c);
 *   hash_next of an unhashed inode: also the dead-list lock.
 *   open_count, inflight, mf, map_fd, evict_error, relpath, settings,
 *   locked_bytes, handles: lock. While open_count > 0 the kernel holds
 *   the inode, so no FORGET can free it.
 *   open_next, open_prev, listed: the open-list lock (mapping.c).
 *   referenced, mtime_tick, nocap_ctime, change_seen_ns, own_busy,
 *   own_gen, listing_ctime_ns: atomics, no lock.
 *   watch_wd, watch_next: the watch lock of outside.c; watch_users:
 *   atomic.
 *   policy_override, override_policy: lock. ctl_handle, ctl_locked_bytes:
 *   the .ctl/lock lock of control_ops.c.
 */
struct mmapfs_inode {
	int fd;                  /* O_PATH | O_NOFOLLOW; -1 while the
				  * fd cache has it closed */
	struct file_handle *handle; /* NULL: fd stays open until FORGET */
	unsigned fd_pins;        /* users of fd right now */
	bool on_lru;             /* idle, fd open: may be closed */
	struct mmapfs_inode *lru_next, *lru_prev;
	dev_t dev;
	ino_t ino;
	mode_t type;             /* S_IFMT bits */

	uint64_t nlookup;
	struct mmapfs_inode *hash_next;
	bool unhashed;           /* its object is gone: out of the table */

	pthread_mutex_t lock;
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

	struct mmapfs_inode *open_next, *open_prev;
	bool listed;             /* on the open list */
	atomic_bool referenced;  /* used since the clock hand last passed */
	_Atomic int64_t mtime_tick; /* coarse time of the last mtime update */
	/* The backing object's ctime (ns, never 0) when security.capability
	 * was last found absent; 0: unknown. The kernel asks for that
	 * attribute before every write (file_remove_privs); ops_xattr.c
	 * answers from here while the ctime seen by getattr/lookup still
	 * matches. */
	_Atomic int64_t nocap_ctime;
	/* Changes from outside (outside.c): the newest backing ctime (ns)
	 * the kernel's cache of this inode accounts for; changes through
	 * the mount in progress / finished. */
	_Atomic int64_t change_seen_ns;
	atomic_uint own_busy, own_gen;
	/* Directories: the backing ctime (ns) at the last opendir, 0 before
	 * the first; the kernel keeps its cached listing (cache_readdir)
	 * only while it is unchanged (outside.c). */
	_Atomic int64_t listing_ctime_ns;
	int watch_wd;            /* inotify watch while open, else -1 */
	struct mmapfs_inode *watch_next;
	atomic_uint watch_users; /* the watcher thread is checking it */

	/* .ctl/policy override (control_ops.c): replaces the config's
	 * policy in settings.flush wherever settings are filled in. */
	bool policy_override;
	struct mmapio_policy override_policy;
	/* .ctl/lock (control_ops.c): the open that keeps the mapping pinned
	 * while bytes of it are locked, and how many (whole pages). */
	struct mmapfs_handle *ctl_handle;
	uint64_t ctl_locked_bytes;
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

/* The daemon singleton. Set up by main.c before the session starts; the
 * fields are read-only afterwards except where noted. */
struct mmapfs_daemon {
	struct fuse_session *se;
	struct mmapfs_inode root;
	bool is_root;            /* running with euid 0: switch credentials */
	bool default_permissions;/* the kernel checks permissions */
	bool foreground;
	_Atomic double attr_timeout;  /* updated on reload */
	_Atomic double entry_timeout; /* updated on reload */
	atomic_bool keep_cache;       /* updated on reload */
	atomic_bool cache_readdir;    /* updated on reload */
	bool writeback_cache;         /* fixed at mount */
	const char *config_path;      /* -o config=FILE, or NULL */
	bool log_level_forced;        /* -o log_level given: the config's
				       * log_level is ignored */
};

extern struct mmapfs_daemon mmapfs_d;

/* The one routing predicate: true for node ids reserved for virtual
 * inodes (control and stats files). */
static inline bool mmapfs_ino_is_virtual(fuse_ino_t ino)
{
	return (ino & MMAPFS_VIRTUAL_INO_BIT) != 0;
}

/* First statement of every handler taking a node id: requests on virtual
 * inodes go to their own handler (virtual.h): call, or with
 * MMAPFS_ROUTE_VIRTUAL, an EPERM reply for operations they do not have. */
#define MMAPFS_ROUTE_VIRTUAL_TO(ino, call)              \
	do {                                            \
		if (mmapfs_ino_is_virtual(ino)) {       \
			call;                           \
			return;                         \
		}                                       \
	} while (0)
#define MMAPFS_ROUTE_VIRTUAL(req, ino)                  \
	MMAPFS_ROUTE_VIRTUAL_TO(ino, mmapfs_virtual_reply(req))

/* ---- inode.c: the inode table --------------------------------------- */

int mmapfs_inode_table_init(int root_fd);
/* Frees every inode (at exit; no request may run). */
void mmapfs_inode_table_destroy(void);
/* The inode of a (non-virtual) node id. */
struct mmapfs_inode *mmapfs_inode_get(fuse_ino_t ino);
fuse_ino_t mmapfs_inode_nodeid(const struct mmapfs_inode *in);
/* Looks name up under parent (no symlink followed) and fills e, taking one
 * lookup reference. Returns 0 or -errno. */
int mmapfs_inode_lookup(struct mmapfs_inode *parent, const char *name,
			struct fuse_entry_param *e);
/* The same for an entry of parent's listing, whose inode number
 * (listed_ino, from getdents) tells whether the table may hold it: one
 * syscall less for an entry it does not hold. */
int mmapfs_inode_lookup_listed(struct mmapfs_inode *parent, const char *name,
			       ino_t listed_ino, struct fuse_entry_param *e);
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
/* Forgets a cached absent security.capability when st (fresh attributes
 * of in) shows another ctime than the one it was cached at. */
void mmapfs_inode_nocap_check(struct mmapfs_inode *in, const struct stat *st);
/* The ctime of st in nanoseconds, never 0 (the "unknown" value). */
int64_t mmapfs_ctime_ns(const struct stat *st);
/* "/proc/self/fd/N" of fd (an inode's pinned descriptor). */
void mmapfs_fd_procpath(int fd, char *buf, size_t len);
/* The current path of fd relative to the backing root (malloc'd, "" for
 * the root itself), read back from /proc/self/fd. Returns 0 or -errno
 * (-ESTALE: a file opened by handle that is not connected to the tree,
 * fdcache.c). */
int mmapfs_relpath_of_fd(int fd, char **out);
/* After a rename to name beneath dirfd: the moved file's inode, if the
 * table has it, takes its file handle there (fdcache.c). */
void mmapfs_inode_moved(int dirfd, const char *name);
/* Relative path of the entry name in directory parent (malloc'd). */
int mmapfs_relpath_of_entry(struct mmapfs_inode *parent,
			    const char *name, char **out);

/* ---- fdcache.c: the inodes' descriptors as a bounded cache ---------- */

/* Chooses the mode (file handles or one descriptor per inode) and the
 * budget of idle descriptors; after RLIMIT_NOFILE was raised. Returns 0
 * (a missing feature only selects the fallback mode). */
int mmapfs_fdcache_init(int root_fd);
void mmapfs_fdcache_destroy(void);
/* A new inode (in->fd, type, dev, ino set; not yet in the table) looked
 * up as name beneath dirfd (-1: made from a bare descriptor): records its
 * handle and pins its fd for the creator. */
void mmapfs_fdcache_prepare(struct mmapfs_inode *in, int dirfd,
			    const char *name);
/* The new inode is in the table: counts its fd and drops the creator's
 * pin. */
void mmapfs_fdcache_admit(struct mmapfs_inode *in);
/* in (a file) is now name beneath dirfd (renamed): takes its handle
 * there, so that it reconnects through its new parent. */
void mmapfs_fdcache_rehandle(struct mmapfs_inode *in, int dirfd,
			     const char *name);
/* The inode is being freed: closes its fd and frees its handle. */
void mmapfs_fdcache_drop(struct mmapfs_inode *in);
/* Pins the inode's O_PATH descriptor and returns it (opened again from
 * the inode's handle when the cache had closed it), or -errno: -ENOENT
 * when the object no longer exists (ESTALE from the handle), -EMFILE,
 * -ENOMEM. A successful call is paired with mmapfs_inode_fd_put(in);
 * the descriptor and its /proc/self/fd path are valid until then (a
 * failed call holds no pin). Thread-safe. */
int mmapfs_inode_fd_get(struct mmapfs_inode *in);
void mmapfs_inode_fd_put(struct mmapfs_inode *in);

/* ---- creds.c: per-request credentials ------------------------------- */

struct mmapfs_creds_saved {
	bool switched;
};
/* Captures the daemon's own groups; call once before threads start. */
int mmapfs_creds_init(void);
/* Switches this thread's fs uid/gid and supplementary groups to the
 * requester's (only when the daemon runs as root). Returns 0 or -errno. */
int mmapfs_creds_enter(fuse_req_t req, struct mmapfs_creds_saved *saved);
/* Restores the daemon's own credentials. */
void mmapfs_creds_leave(struct mmapfs_creds_saved *saved);

/* ---- mapping.c: per-inode shared mappings --------------------------- */

/* Registers an open of a regular file through handle h: on the first
 * open maps the file (daemon credentials; RW, else RO) with the settings
 * for its path and watches it for changes from outside. *changed: the
 * file was changed from outside since the kernel may have cached it (the
 * caller drops the kernel's cache). Returns 0 or -errno. */
int mmapfs_mapping_open(struct mmapfs_inode *in, struct mmapfs_handle *h,
			bool *changed);
/* Unregisters the open of h; the last one closes the mapping (policy
 * flush). Frees h. */
void mmapfs_mapping_release(struct mmapfs_inode *in, struct mmapfs_handle *h);
/* Adds/removes a directory handle to/from the inode's handle list. */
void mmapfs_handle_attach(struct mmapfs_inode *in, struct mmapfs_handle *h);
void mmapfs_handle_detach(struct mmapfs_inode *in, struct mmapfs_handle *h);
/* Closes a handle's descriptors and frees it. */
void mmapfs_handle_free(struct mmapfs_handle *h);
/* True when the open file in has its mapping's descriptor (mapped or
 * evicted): its opens need no descriptor of their own. */
bool mmapfs_mapping_has_fd(struct mmapfs_inode *in);
/* A duplicate (O_CLOEXEC) of the open file's mapping descriptor, or
 * -ENOENT when it has none, -EMFILE... */
int mmapfs_mapping_dup_fd(struct mmapfs_inode *in);
/* The file's sticky flush error (0 or -errno) for close(2) and fsync to
 * report: libmmapio's, or the one an eviction of the mapping reported
 * (evict_error). The max_mapped_files sweep never evicts a mapping with a
 * sticky error, so libmmapio keeps it until the last release. */
int mmapfs_mapping_sticky_error(struct mmapfs_inode *in);
/* After a getattr: when the backing size differs from the mapping's (a
 * change from outside), adjusts the mapping and returns true (the caller
 * has the kernel's cache dropped). */
bool mmapfs_mapping_check_size(struct mmapfs_inode *in, off_t size);
/* True when the file's policy is `always` (settings of an open file, else
 * looked up by its current path). */
bool mmapfs_inode_policy_always(struct mmapfs_inode *in);
/* Pins the inode's mapping for one request (remapping an evicted one) and
 * returns it with a reference of the caller's own (so a concurrent last
 * RELEASE cannot free it), or NULL for files served by pread/pwrite. Every
 * call is paired with mmapfs_mapping_put(in, the returned mf). */
struct mmapio_file *mmapfs_mapping_get(struct mmapfs_inode *in);
void mmapfs_mapping_put(struct mmapfs_inode *in, struct mmapio_file *mf);
/* Calls fn for every inode with open files, under the open-list lock
 * (fn must not block for long, nor call mapping functions). */
void mmapfs_mapping_for_each_open(void (*fn)(struct mmapfs_inode *in,
					     void *ctx), void *ctx);
/* Re-applies the settings of c to every open file (reload). */
void mmapfs_mapping_apply_config(const struct mmapfs_config *c);
/* Closes every mapping (flushing per policy); at exit. */
void mmapfs_mapping_close_all(void);
/* Unmaps the inode's mapping now, as the max_mapped_files sweep would
 * (also one with a sticky error). Returns 0 (also when not mapped),
 * -EBUSY while it is pinned, or the close flush's or sticky error, which
 * is kept in evict_error for fsync and close(2). */
int mmapfs_mapping_evict(struct mmapfs_inode *in);
/* Reserves n bytes of max_locked_bytes (-ENOMEM when over) / gives them
 * back. */
int mmapfs_mapping_reserve_locked(uint64_t n);
void mmapfs_mapping_unreserve_locked(uint64_t n);
/* Sets st_mtime/st_ctime of the file to now after a write, at most once
 * per coarse clock tick. */
void mmapfs_mapping_touch_mtime(struct mmapfs_inode *in, int fd);

/* ---- invalidate.c: kernel cache invalidation thread ----------------- */

int mmapfs_invalidate_start(void);
void mmapfs_invalidate_stop(void);
/* Queues an invalidation of the inode's cached data and attributes. Never
 * blocks; drops the request when the queue is full (logged once). */
void mmapfs_invalidate_queue(fuse_ino_t ino);

/* ---- outside.c: changes made to backing files from outside --------- */

/* Starts/stops the inotify watcher of open files (after daemonizing). */
int mmapfs_outside_start(void);
void mmapfs_outside_stop(void);
/* Bracket every change the daemon makes to a file's data or attributes;
 * end stats fd (or the inode when fd is -1) to learn the ctime it left.
 * begin, when no other change of the daemon's to the file is in flight,
 * stats fd (a descriptor of in; -1: skip) first: a change from outside
 * since the daemon's last one is reported there, before this change's end
 * could take it for its own. */
void mmapfs_own_change_begin(struct mmapfs_inode *in, int fd);
void mmapfs_own_change_end(struct mmapfs_inode *in, int fd);
/* The end of a write or truncation: also drops set-ID bits and
 * capabilities as the kernel would have (killpriv_v2, kernel_io.c). */
void mmapfs_own_change_end_data(struct mmapfs_inode *in, int fd);
/* True when st (attributes just read) shows a change made from outside
 * since the kernel's cache of in was last known good; records it, so
 * each change is reported once. */
bool mmapfs_outside_check(struct mmapfs_inode *in, const struct stat *st);
/* The same with attributes it reads itself into *st: of fd (a pinned
 * descriptor of in), or of the inode when fd is -1 (mmapfs_inode_fd_get:
 * not with an inode.lock held). */
bool mmapfs_outside_check_fresh(struct mmapfs_inode *in, int fd,
				struct stat *st);
/* Watches an open file for changes from outside (first open; fd: a
 * pinned descriptor of it) / stops (last release). Call with in->lock
 * held. */
void mmapfs_outside_watch_add(struct mmapfs_inode *in, int fd);
void mmapfs_outside_watch_remove(struct mmapfs_inode *in);
/* Directories (cache_readdir). After an opendir attached its handle
 * (fd: the handle's directory descriptor): watches the directory while it
 * has open handles, and returns whether the kernel must drop its cached
 * listing (the directory changed since the last opendir). After a
 * releasedir detached its handle, before the reply: stops watching when
 * no handle is left. */
bool mmapfs_outside_dir_opened(struct mmapfs_inode *in, int fd);
void mmapfs_outside_dir_closed(struct mmapfs_inode *in);
/* Before in is freed: waits until the watcher thread no longer uses it
 * (it was removed from the watch table at its last release). */
void mmapfs_outside_forget(struct mmapfs_inode *in);

/* ---- kernel_io.c: /dev/fuse I/O, killpriv_v2 ------------------------ */

/* Routes the session's /dev/fuse reads and writes through kernel_io.c
 * (after fuse_session_mount). Returns 0 or -errno. */
int mmapfs_kernel_io_install(struct fuse_session *se);
/* Notes what the handlers need from a request about to be dispatched
 * (called for each request read, and for each fetched from a ring). */
void mmapfs_kernel_io_note_request(const char *buf, size_t len);
/* True once the kernel accepted FUSE_HANDLE_KILLPRIV_V2. */
bool mmapfs_killpriv_v2(void);
/* Under killpriv_v2, after a write or truncation of in (fd: a descriptor
 * of it, or -1; st: its attributes): clears set-user-ID and set-group-ID
 * as the current request asks, and drops security.capability. True when
 * it changed something. */
bool mmapfs_kill_privs(struct mmapfs_inode *in, int fd, const struct stat *st);

/* ---- reload.c: configuration and SIGHUP ----------------------------- */

/* Installs the config loaded at start (takes over the reference). */
void mmapfs_config_install(struct mmapfs_config *c);
/* A reference to the running config; release with mmapfs_config_unref. */
struct mmapfs_config *mmapfs_config_current(void);
/* Reloads the config file: a good one replaces the running config and
 * applies to open files; a bad one is logged and kept as the last error.
 * Returns 0 or -errno. */
int mmapfs_reload(void);
/* The text of the last failed reload (malloc'd copy), or NULL. */
char *mmapfs_reload_last_error(void);
/* Drops the running config (at exit). */
void mmapfs_config_uninstall(void);

/* ---- signals.c: SIGHUP -> mmapfs_reload ------------------------------ */

/* Blocks SIGHUP in this thread (and so in every thread created later) and
 * starts the thread that reads it from a signalfd. Call after
 * fuse_set_signal_handlers() and after daemonizing. */
int mmapfs_signals_start(void);
void mmapfs_signals_stop(void);

/* ---- main.c --------------------------------------------------------- */

/* Raises the mount's kernel read-ahead, once; called by the first
 * requests after INIT (cheap afterwards: one relaxed atomic load). */
void mmapfs_tune_readahead_once(void);

/* ---- the operation handlers ----------------------------------------- */

/* fs_ops.c */
extern const struct fuse_lowlevel_ops mmapfs_ops;
/* Entry-reply helpers shared by the handlers. */
void mmapfs_reply_entry_or_err(fuse_req_t req, int res,
			       const struct fuse_entry_param *e);
double mmapfs_attr_timeout(void);
double mmapfs_entry_timeout(void);
/* Under the `always` policy of parent/name: fsyncs the entry (fd when
 * >= 0; the directory name when fd is MMAPFS_SYNC_OPEN_DIR; nothing when
 * -1) and then the parent directory. Returns 0 or -errno. */
#define MMAPFS_SYNC_OPEN_DIR (-2)
int mmapfs_sync_metadata(struct mmapfs_inode *parent, const char *name,
			 int fd);

/* ops_entry.c */
void mmapfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void mmapfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void mmapfs_op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets);
void mmapfs_op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void mmapfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi);
void mmapfs_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void mmapfs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void mmapfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev);
void mmapfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode);
void mmapfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name);
void mmapfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname);
void mmapfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void mmapfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void mmapfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags);
void mmapfs_op_statfs(fuse_req_t req, fuse_ino_t ino);

/* ops_dir.c */
void mmapfs_op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void mmapfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi);
void mmapfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi);
void mmapfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi);
void mmapfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi);

/* ops_file.c */
void mmapfs_op_open(fuse_req_t req, fuse_ino_t ino,
		    struct fuse_file_info *fi);
void mmapfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi);
void mmapfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void mmapfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi);
void mmapfs_op_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi);
void mmapfs_op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void mmapfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi);
void mmapfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length,
			 struct fuse_file_info *fi);
void mmapfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi);
void mmapfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags);
/* Reads the page size; call once at start. */
void mmapfs_file_init(void);
/* Truncates an inode to size, through its mapping when it has one.
 * fd: an open descriptor of the file, or -1. Returns 0 or -errno. */
int mmapfs_file_truncate(struct mmapfs_inode *in, int fd, off_t size);

/* ops_xattr.c */
void mmapfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags);
void mmapfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size);
void mmapfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void mmapfs_op_removexattr(fuse_req_t req, fuse_ino_t ino,
			   const char *name);

/* virtual.c, control_ops.c, xattr_virtual.c */
#include "virtual.h"

#endif /* MMAPFS_FS_H */
