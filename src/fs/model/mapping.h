/*
 * model/mapping.h — one shared mmapio_file per open regular file, its settings,
 * and the cap on mapped files.
 */
#ifndef MMAPFS_MODEL_MAPPING_H
#define MMAPFS_MODEL_MAPPING_H

#include "model/inode.h"

/* How an open came about (mmapfs_mapping_open's how, or'ed):
 *   CREATED   the open's request made the file: the kernel has nothing
 *             of it cached, so no stat is spent on *changed;
 *   EMPTY     the file is empty, or about to be (O_TRUNC): on a first
 *             open it is mapped lazily (mmapfs_mapping_lazy); an open
 *             without EMPTY maps a lazily mapped file;
 *   GIVE_FD   h->fd is a read-write descriptor of the file without
 *             status flags (O_APPEND, O_DIRECT, O_SYNC) that a first open
 *             takes as its mapping's (h->fd is -1 then) instead of
 *             opening one. */
enum {
	MMAPFS_OPEN_CREATED = 1,
	MMAPFS_OPEN_EMPTY = 2,
	MMAPFS_OPEN_GIVE_FD = 4,
};
/* Registers an open of a regular file through handle h: on the first
 * open maps the file (daemon credentials; RW, else RO) with the settings
 * for its path and watches it for changes from outside. st: the file's
 * attributes when the caller has just read them (a create's), else NULL.
 * *changed: the file was changed from outside since the kernel may have
 * cached it (the caller drops the kernel's cache); never for a CREATED
 * one. Returns 0 or -errno. */
int mmapfs_mapping_open(struct mmapfs_inode *in, struct mmapfs_handle *h,
			unsigned how, const struct stat *st, bool *changed);
/* True while the open file in is mapped lazily: its mf (not mapped yet)
 * is served by pread/pwrite. mmapfs_mapping_get() maps it;
 * mmapfs_mapping_get_lazy() leaves it for requests that need no mapping
 * (an append, a truncation, a sync), and mmapfs_mapping_map() maps it
 * when such a request finds it needs one after all (a write inside the
 * file). A file only ever appended to is never mapped: no mapping to
 * make, grow and unmap for a file written once. */
bool mmapfs_mapping_lazy(struct mmapfs_inode *in);
void mmapfs_mapping_map(struct mmapfs_inode *in);
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
/* The effective settings of in, the one answer to "which settings apply
 * to this file": those of its open mapping (the config's for its path at
 * first open, with its .ctl/policy override), else the config's for its
 * current path with its override. Returns 0 or -errno. */
int mmapfs_settings_effective(struct mmapfs_inode *in,
			      struct mmapfs_file_settings *out);
/* True when the effective policy of in is `always`. */
bool mmapfs_inode_policy_always(struct mmapfs_inode *in);
/* Sets the .ctl/policy override of in (p), or drops it (NULL: back to the
 * config's). An open file takes it at once (a stricter policy may flush
 * now). The override lasts until dropped or until the kernel forgets the
 * inode; a reload keeps it. Returns 0, -EINVAL (a policy other than never
 * on a mount with the writeback cache) or the flush's -errno. */
int mmapfs_mapping_set_policy_override(struct mmapfs_inode *in,
				       const struct mmapio_policy *p);
/* The counters of in and whether it is mapped now: pending counts from
 * the library (its mapping's, else those it keeps for the closed file),
 * events from the file's own counters (kept across evictions, and in the
 * table of recently closed files after the last close). Returns 0. */
int mmapfs_mapping_stats(struct mmapfs_inode *in, struct mmapio_stats *st,
			 bool *mapped);
/* The file's event counters now (see counts_carry). in->lock held. */
void mmapfs_mapping_counts_locked(struct mmapfs_inode *in,
				  struct mmapfs_file_counts *out);
/* Pins the inode's mapping for one request (remapping an evicted one) and
 * returns it with a reference of the caller's own (so a concurrent last
 * RELEASE cannot free it), or NULL for files served by pread/pwrite. Every
 * call is paired with mmapfs_mapping_put(in, the returned mf). */
struct mmapio_file *mmapfs_mapping_get(struct mmapfs_inode *in);
struct mmapio_file *mmapfs_mapping_get_lazy(struct mmapfs_inode *in);
void mmapfs_mapping_put(struct mmapfs_inode *in, struct mmapio_file *mf);
/* Calls fn for every inode with open files, under the open-list lock
 * (fn must not block for long, nor call mapping functions). */
void mmapfs_mapping_for_each_open(void (*fn)(struct mmapfs_inode *in,
					     void *ctx), void *ctx);
/* Re-applies the settings of c to every open file (reload). */
void mmapfs_mapping_apply_config(const struct mmapfs_config *c);
/* The inode table's teardown hook (mmapfs_inode_set_teardown): frees
 * what an inode that is being freed still holds here (handles the kernel
 * never released, its mapping and descriptor) and stops watching it. */
void mmapfs_mapping_inode_gone(struct mmapfs_inode *in);
/* Closes every mapping (flushing per policy); at exit. */
void mmapfs_mapping_close_all(void);
/* Unmaps the inode's mapping now, as the max_mapped_files sweep would
 * (also one with a sticky error). Returns 0 (also when not mapped),
 * -EBUSY while it is pinned, or the close flush's or sticky error, which
 * is kept in evict_error for fsync and close(2). */
int mmapfs_mapping_evict(struct mmapfs_inode *in);
/* Reserves n bytes of max_locked_bytes (-ENOMEM when over) / gives them
 * back. */
int mmapfs_mapping_reserve_lock_budget(uint64_t n);
void mmapfs_mapping_unreserve_lock_budget(uint64_t n);
/* Sets st_mtime/st_ctime of the file to now after a write, at most once
 * per coarse clock tick. */
void mmapfs_mapping_touch_mtime(struct mmapfs_inode *in, int fd);
/* True while the file's mapping lags behind its length (it could not
 * grow with it): requests use the descriptor, not the mapping. */
bool mmapfs_mapping_stale(struct mmapfs_inode *in);
/* After a change through the mount grew the file and the mapping could
 * not follow (err, from mmapio_refresh): reads and writes of the file go
 * around the mapping from now on, and the file is served by pread/pwrite
 * once no request uses the mapping. Never fails. */
void mmapfs_mapping_cannot_follow(struct mmapfs_inode *in, int err);

#endif /* MMAPFS_MODEL_MAPPING_H */
