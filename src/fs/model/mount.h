/*
 * model/mount.h — the state of the mount as a whole: the daemon singleton
 * (session, root inode, who the daemon runs as, the kernel cache settings
 * a reload may change) and the timeouts of the replies.
 *
 * Ownership: the composition root (daemon/main.c) fills the fields before
 * the session starts; afterwards only the atomics change, through
 * mmapfs_mount_apply_globals() (model/reload.c, at reload).
 */
#ifndef MMAPFS_MODEL_MOUNT_H
#define MMAPFS_MODEL_MOUNT_H

#include "model/inode.h"

/* The daemon singleton. Set up by daemon/main.c before the session starts; the
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
	const struct mmapfs_config_override *overrides;  /* -o KEY=VALUE,
							  * reapplied on
							  * reload */
	size_t noverrides;
	const char *mountpoint;       /* absolute; the mount label of metrics */
	/* The metrics endpoint's address in force ("off" or canonical,
	 * logic/listen_addr.h), fixed at mount; forced: by -o metrics_listen,
	 * the config's key is then ignored. */
	char metrics_listen[64];
	bool metrics_listen_forced;
	bool log_level_forced;        /* -o log_level given: the config's
				       * log_level is ignored */
	/* The transport in use, MMAPFS_TRANSPORT_DEV or _IO_URING: written
	 * by daemon/uring_transport.c when the connection starts (and
	 * ends), read by the stats files. */
	_Atomic enum mmapfs_transport transport;
};

extern struct mmapfs_daemon mmapfs_d;

/* The reply timeouts in force (seconds; updated on reload). */
double mmapfs_attr_timeout(void);
double mmapfs_entry_timeout(void);
/* Takes the global settings of a (re)loaded config that are not per file:
 * timeouts, kernel cache choices, log level, the size of the table of
 * recently closed files; logs that a changed metrics_listen waits for the
 * next mount. */
void mmapfs_mount_apply_globals(const struct mmapfs_config *c);

#endif /* MMAPFS_MODEL_MOUNT_H */
