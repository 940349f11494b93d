/*
 * control.h — serving `.ctl/` and `.stats/` (docs/control.md): what the
 * daemon provides (struct mmapfs_control_ops) and what it calls
 * (mmapfs_control_execute, mmapfs_control_stats_open).
 *
 * Division of work
 *   control.c (pure logic, unit-tested with a fake ops table): checks the
 *   caller, parses the command (ctl_parse.h), resolves its byte range
 *   against the file size, routes it to one op, maps errors to the ones
 *   docs/control.md promises, logs rejected commands; builds stats
 *   snapshots and formats them (stats_format.h).
 *
 *   The daemon (src/fs, FUSE layer): the virtual inodes and one predicate,
 *   checked first in each handler, that routes requests on them here:
 *     - `<control_dir>/` 0700 and its files (one per verb: prefetch advise
 *       flush lock unlock evict policy reload) 0200, owner = the mounting
 *       user; `<stats_dir>/` 0500 and its files (mmapfs_stats_file_name())
 *       0400. Both reachable by lookup, listed by readdir only with
 *       show_control = true; a backing entry of the same name is shadowed
 *       (warning in the log).
 *     - open of a control file: FOPEN_DIRECT_IO. write: the offset is
 *       ignored; reply with the result of mmapfs_control_execute() (the
 *       length written, or fuse_reply_err(req, -ret)).
 *     - open of a stats file: FOPEN_DIRECT_IO; build the snapshot with
 *       mmapfs_control_stats_open() into a buffer owned by the file handle;
 *       reads copy from it (offset past the end: 0 bytes); release frees
 *       it (mmapfs_buf_free()).
 *     - the ops below.
 *
 * Threads: mmapfs_control_execute() and mmapfs_control_stats_open() may be
 * called from any number of FUSE worker threads at once; they keep no
 * state of their own, so the ops must be thread-safe.
 */
#ifndef MMAPFS_CONTROL_H
#define MMAPFS_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ctl_parse.h"
#include "mmapio.h"
#include "stats_format.h"

/* The daemon's handle on one resolved regular file (its inode). Opaque
 * here: control.c only passes it back to the ops, so the daemon may define
 * it or simply cast its own inode pointer to and from it. */
struct mmapfs_control_node;

/* Called by for_each_file for each file of the snapshot. row and the
 * strings it points to need to live only during the call (they are
 * copied). Returns 0 to go on, or -errno to stop the walk with that error. */
typedef int (*mmapfs_control_row_fn)(void *cbctx,
				     const struct mmapfs_stats_row *row);

/* What the daemon implements. ctx is mmapfs_control.ctx. Every op returns
 * 0 or -errno and may run concurrently with any other op and with the
 * file system's own requests. */
struct mmapfs_control_ops {
	/* Resolves relpath (from the parser: relative, normalised, no "..")
	 * beneath the backing root without following any symlink
	 * (openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) where HAVE_OPENAT2,
	 * else component by component with O_NOFOLLOW) and takes a reference
	 * on the inode found. Returns 0; -ENOENT missing; -EPERM when a
	 * component is a symlink or the walk would leave the root (map
	 * openat2's ELOOP/EXDEV to it); -EINVAL not a regular file; -errno. */
	int (*resolve)(void *ctx, const char *relpath,
		       struct mmapfs_control_node **out);
	/* Drops the reference taken by resolve. */
	void (*put)(void *ctx, struct mmapfs_control_node *node);
	/* The file's current size in bytes (its mapping's length when
	 * mapped, else fstat). */
	int (*size)(void *ctx, struct mmapfs_control_node *node, uint64_t *out);

	/* The range ops get a range inside the file (0 < len, off + len <=
	 * the size just read; the file may shrink meanwhile: the core's
	 * -ERANGE is then turned into -EINVAL here). Each acts on the inode's
	 * shared mapping; when the file is not open, the daemon maps it as a
	 * first open would (daemon credentials, the path's config) and keeps
	 * that mapping as long as the effect needs it (prefetch and advise
	 * may drop it at once: the page cache keeps what was read; lock keeps
	 * it until the range is unlocked). Core calls:
	 *   prefetch: mmapio_prefetch(); advise: mmapio_advise();
	 *   lock: mmapio_lock(), keeping the total locked bytes under
	 *   max_locked_bytes (-ENOMEM when over) and the mapping out of the
	 *   eviction sweep while any of it is locked; unlock: mmapio_unlock(). */
	int (*prefetch)(void *ctx, struct mmapfs_control_node *node,
			uint64_t off, uint64_t len);
	int (*advise)(void *ctx, struct mmapfs_control_node *node,
		      uint64_t off, uint64_t len, enum mmapio_advice advice);
	int (*lock)(void *ctx, struct mmapfs_control_node *node,
		    uint64_t off, uint64_t len);
	int (*unlock)(void *ctx, struct mmapfs_control_node *node,
		      uint64_t off, uint64_t len);

	/* Makes the file durable: mmapio_flush() of its mapping, else fsync
	 * of the backing file. Returns 0 or the error (the sticky one). */
	int (*flush)(void *ctx, struct mmapfs_control_node *node);
	/* flush of every mapped file; returns the first error, having tried
	 * them all. */
	int (*flush_all)(void *ctx);
	/* Unmaps the file now, as the max_mapped_files sweep would: open
	 * handles keep working (the next request maps it again) and the
	 * counters live on in the core. 0 also when it was not mapped;
	 * -EBUSY while a request has the mapping pinned or a range of it is
	 * locked. */
	int (*evict)(void *ctx, struct mmapfs_control_node *node);
	/* Sets (p) or clears (NULL: back to the config) the inode's policy
	 * override and applies the result to its mapping, if any, with
	 * mmapio_set_policy(). The override lives until cleared or the inode
	 * is forgotten; a reload keeps it. */
	int (*set_policy)(void *ctx, struct mmapfs_control_node *node,
			  const struct mmapio_policy *p);
	/* Reloads the config file as SIGHUP does. Returns 0, or -EINVAL when
	 * the new config was rejected (the running one stays; the error is
	 * logged and remembered for .stats/config). */
	int (*reload)(void *ctx);

	/* Calls cb once per file with an open mapping or non-zero counters
	 * (relpath: its current path relative to the root), under whatever
	 * lock keeps the walk consistent; cb only copies, never calls back.
	 * Returns 0 or cb's error. */
	int (*for_each_file)(void *ctx, mmapfs_control_row_fn cb, void *cbctx);
	/* The running config (a reference, dropped here with
	 * mmapfs_config_unref()) and the last reload error (a malloc'd copy,
	 * freed here; NULL when the last reload succeeded or none happened). */
	int (*config)(void *ctx, struct mmapfs_config **cfg, char **last_error);
	/* Writes one line to the daemon's log (msg has no newline). */
	void (*log)(void *ctx, enum mmapfs_log_level level, const char *msg);
	/* The transport in use ("dev" or "io_uring"), for .stats/config and
	 * metrics.prom; may be NULL (not shown). */
	const char *(*transport)(void *ctx);
};

struct mmapfs_control {
	const struct mmapfs_control_ops *ops;
	void *ctx;
	uid_t owner;            /* the mounting user: may write .ctl files */
	const char *mount;      /* the mount point: the mount label of
				 * metrics.prom (NULL: no label) */
};

/* Runs the command written to the control file called verb (its name in
 * the control directory). uid is the requesting uid: only the owner and
 * root may control. Returns len on success, else
 *   -EPERM   not the owner or root; a PATH that escapes (absolute, "..",
 *            a symlink on the way)
 *   -EINVAL  unknown verb, malformed command (see mmapfs_ctl_parse()), a
 *            range outside the file, PATH not a regular file, a config
 *            rejected by reload
 *   -ENOENT  PATH does not exist
 *   or an op's error (-EIO and the sticky flush error, -ENOMEM over
 *   max_locked_bytes, -EBUSY evicting a pinned or locked mapping, ...).
 * A rejected command is logged (warning) with the reason. A range that
 * resolves to zero bytes succeeds without calling the op. */
ssize_t mmapfs_control_execute(const struct mmapfs_control *c,
			       const char *verb, const char *buf, size_t len,
			       uid_t uid);

/* Builds the snapshot of the stats file called name into out (appended;
 * out is normally empty). Gauges (pending bytes, writes, files) are
 * summed over the rows; event totals (flushes, flush errors, writes,
 * bytes written) are the daemon-wide counters (counters.h, req_stats.h),
 * which only grow. Returns 0; -ENOENT unknown name; -ENOMEM; or
 * an op's error. */
int mmapfs_control_stats_open(const struct mmapfs_control *c,
			      const char *name, struct mmapfs_buf *out);

#endif /* MMAPFS_CONTROL_H */
