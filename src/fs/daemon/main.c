/*
 * main.c — the mmapfs daemon: command line, checks, mount, daemonize,
 * signals, the session loop, and an orderly exit.
 *
 * Order of start-up (each step before the one that needs it):
 *   1. parse the command line; --help/--version/--check-config end here;
 *   2. detach a dead mmapfs mount on MOUNTPOINT (dead_mount.c), resolve
 *      BACKING_DIR, MOUNTPOINT and the config file to absolute
 *      paths (fuse_daemonize changes directory to /), check them, open the
 *      backing directory (before mounting: `mmapfs /data /data` mounts over
 *      it and must still reach what lies beneath), load the config
 *      (a bad one mounts nothing);
 *   3. raise RLIMIT_NOFILE to its hard limit, umask 0 (modes arrive from
 *      the kernel already masked);
 *   4. create the session, reset SIGHUP/SIGINT/SIGTERM to their default
 *      disposition (a shell may have left them ignored), install
 *      libfuse's signal handlers, mount, daemonize (unless -f);
 *   5. only now start threads (a thread started before the fork would be
 *      gone in the child): the invalidation thread, the SIGHUP reader; the
 *      library's flusher starts lazily on first use.
 * Once serving, READY=1 goes to a service manager that asked for it
 * ($NOTIFY_SOCKET, notify.c), STOPPING=1 when the loop ends.
 * Exit (unmount, SIGTERM, SIGINT): close every mapping (flushing the
 * policies other than never), shut libmmapio's flusher down, unmount, and
 * exit 0.
 *
 * Threads: main thread only; the session loop spawns the workers.
 */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/dead_mount.h"
#include "daemon/metrics_http.h"
#include "daemon/notify.h"
#include "daemon/uring_transport.h"
#include "handlers/handlers.h"
#include "logic/closed_files.h"
#include "logic/cmdline.h"
#include "logic/counters.h"
#include "logic/listen_addr.h"
#include "logic/log.h"
#include "logic/mountinfo.h"
#include "mmapfs_config.h"
#include "model/creds.h"
#include "model/ctl_lock.h"
#include "model/fdcache.h"
#include "model/inode.h"
#include "model/invalidate.h"
#include "model/mapping.h"
#include "model/mount.h"
#include "model/outside.h"
#include "model/reload.h"
#include "model/running_config.h"
#include "virtual/virtual.h"

#define EXIT_USAGE 1
#define EXIT_PATHS 2
#define EXIT_MOUNT 3

#define MAX_WORKER_THREADS 64
#define MMAPFS_READAHEAD_KB 1024
#define MAX_IDLE_THREADS 16
/* Ring threads per queue (per CPU) under FUSE over io_uring; -s: one. */
#define RING_THREADS_PER_QUEUE 2

static void print_help(const char *prog)
{
	printf(
"usage: %s BACKING_DIR MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]\n"
"       %s --check-config FILE | --help | --version\n"
"\n"
"Mounts BACKING_DIR at MOUNTPOINT; every read and write of a regular file\n"
"goes through a managed memory mapping of the backing file, flushed as the\n"
"file's policy in the config says. MOUNTPOINT may be BACKING_DIR itself.\n"
"Options may come before or after the paths.\n"
"\n"
"  -f                  stay in the foreground (log to stderr, else syslog)\n"
"  -d                  FUSE debug output (implies -f)\n"
"  -s                  single-threaded session loop\n"
"  -h, --help          this text\n"
"  -V, --version       print the version\n"
"  --check-config FILE validate FILE, print its errors, exit 0 or 1;\n"
"                      mounts nothing\n"
"  -o config=FILE      INI configuration (default: built-in defaults, the\n"
"                      values documented in conf/mmapfs.ini)\n"
"  -o log_level=LEVEL  error, warning, notice, info or debug (overrides the\n"
"                      config's log_level; default notice)\n"
"  -o metrics_listen=ADDR:PORT  serve .stats/metrics.prom over HTTP at\n"
"                      http://ADDR:PORT/metrics for Prometheus (a bare PORT:\n"
"                      127.0.0.1; default off; overrides the config)\n"
"  -o KEY=VALUE        any key of the config's [global]: flush,\n"
"                      prefetch_on_open, preallocate, lock, hugepages,\n"
"                      max_mapped_files, max_mapped_bytes, max_locked_bytes,\n"
"                      writeback_cache, keep_cache, cache_readdir,\n"
"                      attr_timeout, entry_timeout,\n"
"                      show_control, control_dir, stats_dir,\n"
"                      metrics_max_files, closed_files_max, stats_group,\n"
"                      stats_mode, outside_changes (see mmapfs.ini(5));\n"
"                      checked as in the file, applied over the config\n"
"                      file's [global] (also on reload); join a policy's\n"
"                      thresholds with ':' (flush=bytes=4MiB:ms=500)\n"
"  -o allow_other      let other users use the mount (turns on\n"
"                      default_permissions); as root, new files belong to\n"
"                      the requesting user\n"
"  -o default_permissions  the kernel checks permissions (and POSIX ACLs)\n"
"  -o transport=KIND   auto, dev or io_uring (overrides the config's\n"
"                      transport; default auto: FUSE over io_uring when the\n"
"                      kernel offers it and auto_unmount is not given, else\n"
"                      /dev/fuse; io_uring refuses to mount without it)\n"
"  -o auto_unmount     unmount when the daemon dies\n"
"  -o ro               read-only mount\n"
"  -o fsname=NAME, -o subtype=NAME, -o max_read=N and the other options of\n"
"                      libfuse's fuse_session_new() and mount (see\n"
"                      mount.fuse3(8))\n"
"  mount(8)'s generic options are accepted: rw, ro, defaults, noatime,\n"
"  atime, relatime, dev, nodev, suid, nosuid, exec, noexec, auto, noauto,\n"
"  nofail, _netdev, user, users, x-*. Any other unknown option is an error.\n"
"\n"
"Signals: SIGHUP reloads the config file (a bad one is logged and the\n"
"running config stays); SIGTERM and SIGINT flush and unmount.\n"
"\n"
"Exit status:\n"
"  0  clean unmount, SIGTERM or SIGINT; --help, --version; a good config\n"
"  1  bad command line or unknown option; bad config (nothing mounted);\n"
"     RLIMIT_NOFILE below 128 that cannot be raised\n"
"  2  BACKING_DIR or MOUNTPOINT missing, unreadable, not a directory, or\n"
"     MOUNTPOINT busy (already a FUSE mount)\n"
"  3  the mount or the FUSE session failed; transport=io_uring without\n"
"     FUSE over io_uring in the kernel\n",
	       prog, prog);
}

static int check_config(const char *path)
{
	struct mmapfs_config *c;
	char *errors = NULL;
	int res = mmapfs_config_load(path, &c, &errors);

	if (res < 0) {
		if (errors)
			fputs(errors, stderr);
		else
			fprintf(stderr, "%s: %s\n", path, strerror(-res));
		free(errors);
		return EXIT_USAGE;
	}
	free(errors);
	mmapfs_config_unref(c);
	printf("%s: OK\n", path);
	return 0;
}

/* When the top mount on path is a FUSE mount: true, and its device
 * ("MAJ:MIN") in dev. */
static bool find_fuse_mount(const char *path, char *dev, size_t devlen)
{
	char fstype[64];

	return mmapfs_mountinfo_top(path, fstype, sizeof(fstype), dev,
				    devlen) &&
	       strncmp(fstype, "fuse", 4) == 0;
}

static bool is_fuse_mountpoint(const char *path)
{
	char dev[32];

	return find_fuse_mount(path, dev, sizeof(dev));
}

static const char *tune_mountpoint;

/* Raises the kernel's read-ahead of the mount from the 128 KiB a FUSE
 * connection starts with to max_write, so sequential reads arrive in
 * 1 MiB requests. The INIT reply cannot raise it above what the kernel
 * offered, and the kernel sets it while it processes that reply, so this
 * runs at the first request after INIT (kernel_io.c calls it once).
 * Best effort: needs a writable /sys (root). */
static void tune_readahead_once(void)
{
	char dev[32], path[96];
	FILE *f;

	if (!find_fuse_mount(tune_mountpoint, dev, sizeof(dev)))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "we");
	if (!f) {
		mmapfs_debug("read-ahead stays at the default: %s: %s", path,
			     strerror(errno));
		return;
	}
	fprintf(f, "%d\n", MMAPFS_READAHEAD_KB);
	if (fclose(f) != 0)
		mmapfs_debug("read-ahead stays at the default: %s: %s", path,
			     strerror(errno));
}

/* Resolves and checks a directory argument. Returns 0 or an exit code. */
static int resolve_dir(const char *what, const char *arg, char **out)
{
	struct stat st;

	if (stat(arg, &st) < 0) {
		if (errno == ENOTCONN)
			fprintf(stderr, "mmapfs: %s %s: a FUSE mount whose daemon "
				"is gone; unmount it first (fusermount3 -u %s)\n",
				what, arg, arg);
		else
			fprintf(stderr, "mmapfs: %s %s: %s\n", what, arg,
				strerror(errno));
		return EXIT_PATHS;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mmapfs: %s %s: not a directory\n", what, arg);
		return EXIT_PATHS;
	}
	*out = realpath(arg, NULL);
	if (!*out) {
		fprintf(stderr, "mmapfs: %s %s: %s\n", what, arg,
			strerror(errno));
		return EXIT_PATHS;
	}
	return 0;
}

/* Opens the backing directory: O_PATH for the root inode, after checking
 * that the daemon may list it. Returns the fd or -1 (message printed). */
static int open_backing(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "mmapfs: backing directory %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "mmapfs: backing directory %s: %s\n", path,
			strerror(errno));
	return fd;
}

/* The config file (or the built-in defaults when path is NULL) with the
 * command line's -o KEY=VALUE overrides applied. */
static int load_config(const char *path, const struct mmapfs_cmdline *cl,
		       struct mmapfs_config **out)
{
	char *errors = NULL;
	int res;

	res = mmapfs_config_load_with(path, cl->overrides, cl->noverrides, out,
				      &errors);
	if (res < 0) {
		if (errors)
			fputs(errors, stderr);
		else
			fprintf(stderr, "mmapfs: config %s: %s\n",
				path ? path : "(built-in)", strerror(-res));
		fprintf(stderr, "mmapfs: bad config, nothing mounted\n");
	}
	free(errors);
	return res;
}

/* The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open), or 0. */
static rlim_t nr_open(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return (rlim_t)v;
}

/* Open files hold descriptors, and so do the inodes the kernel knows
 * (all of them without file handles; with them, at most a quarter of the
 * soft limit for idle ones, fdcache.c). Raise the soft limit to the hard
 * one; as root (CAP_SYS_RESOURCE), raise both to fs.nr_open. Call before
 * mmapfs_inode_table_init(), which sizes the fd cache from it. */
static void raise_nofile_limit(void)
{
	struct rlimit rl;
	rlim_t ceiling = nr_open();

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (ceiling > rl.rlim_max) {
		struct rlimit up = { ceiling, ceiling };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			mmapfs_warn("cannot raise RLIMIT_NOFILE: %s",
				    strerror(errno));
	}
}

/* The inode table's teardown hook: what the modules above the table keep
 * in an inode, .ctl/lock's first (its open is one of the mapping's
 * handles). */
static void inode_gone(struct mmapfs_inode *in)
{
	mmapfs_ctl_inode_gone(in);
	mmapfs_mapping_inode_gone(in);
}

/* After raise_nofile_limit: true when the soft limit leaves the daemon
 * room to work (its own descriptors, the fd cache's budget, one per open
 * file); else says so on stderr. */
static bool nofile_limit_workable(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= MMAPFS_MIN_NOFILE)
		return true;
	fprintf(stderr, "mmapfs: RLIMIT_NOFILE is %llu and cannot be raised; "
		"mmapfs needs at least %d open files (raise the hard limit: "
		"ulimit -Hn, prlimit --nofile, LimitNOFILE=); nothing "
		"mounted\n", (unsigned long long)rl.rlim_cur,
		MMAPFS_MIN_NOFILE);
	return false;
}

/* glibc loads libgcc_s the first time a thread is cancelled (libfuse
 * cancels its workers at exit); with every descriptor in use that load
 * fails and glibc aborts the daemon at unmount. Load it up front. */
static void preload_unwinder(void)
{
	(void)dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
}

/* Appends text to *opts (malloc'd), escaping commas and backslashes when
 * escape is set. Returns 0 or -ENOMEM. */
static int append_opt(char **opts, const char *text, bool escape)
{
	size_t n = strlen(*opts);
	char *grown = realloc(*opts, n + 2 * strlen(text) + 1), *p;

	if (!grown)
		return -ENOMEM;
	*opts = grown;
	p = grown + n;
	for (const char *s = text; *s; s++) {
		if (escape && (*s == ',' || *s == '\\'))
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return 0;
}

/* Builds libfuse's argument vector: -d, and -o with the options for it
 * plus subtype=mmapfs and fsname=BACKING unless given. */
static int build_fuse_args(const struct mmapfs_cmdline *cl,
			   const char *backing, struct fuse_args *args)
{
	char *opts = strdup(cl->fuse_opts);
	int res = opts ? 0 : -ENOMEM;

	if (res == 0 && !cl->has_subtype)
		res = append_opt(&opts, ",subtype=mmapfs", false);
	if (res == 0 && !cl->has_fsname) {
		res = append_opt(&opts, ",fsname=", false);
		if (res == 0)
			res = append_opt(&opts, backing, true);
	}
	if (res == 0 &&
	    (fuse_opt_add_arg(args, "mmapfs") < 0 ||
	     (cl->debug && fuse_opt_add_arg(args, "-d") < 0) ||
	     fuse_opt_add_arg(args, "-o") < 0 ||
	     fuse_opt_add_arg(args, opts[0] == ',' ? opts + 1 : opts) < 0))
		res = -ENOMEM;
	free(opts);
	return res;
}

/* A daemon started in the background by a non-interactive shell inherits
 * SIGINT ignored (and under nohup SIGHUP), and fuse_set_signal_handlers()
 * installs its handlers only over the default disposition. Resetting them
 * first makes SIGINT and SIGTERM always end the session and SIGHUP always
 * reach the reload thread. Returns 0 or -errno. */
static int reset_signal_dispositions(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM };
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	return 0;
}

static int run_loop(struct fuse_session *se, bool single_thread)
{
	struct fuse_loop_config *lc;
	int res;

	if (single_thread)
		return fuse_session_loop(se);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, 1);
	fuse_loop_cfg_set_idle_threads(lc, MAX_IDLE_THREADS);
	fuse_loop_cfg_set_max_threads(lc, MAX_WORKER_THREADS);
	res = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return res;
}

/* Tells a service manager (Type=notify) that the mount is up. */
static void notify_serving(const char *backing, const char *mountpoint)
{
	char *state;
	int res;

	if (asprintf(&state, "READY=1\nMAINPID=%ld\nSTATUS=serving %s on %s",
		     (long)getpid(), backing, mountpoint) < 0)
		return;
	res = mmapfs_notify(state);
	if (res < 0)
		mmapfs_warn("cannot notify the service manager: %s",
			    strerror(-res));
	free(state);
}

/* Whether the running config has the daemon look for changes made from
 * outside (outside_changes; fixed for the daemon's life). */
static bool notice_outside_changes(void)
{
	struct mmapfs_config *c = mmapfs_config_current();
	bool notice = mmapfs_config_global(c)->outside_changes ==
		      MMAPFS_OUTSIDE_NOTICE;

	mmapfs_config_unref(c);
	return notice;
}

/* Mounts, serves until unmount or signal, and cleans up. Returns the exit
 * status. */
static int serve(const struct mmapfs_cmdline *cl, const char *mountpoint,
		 const char *backing, const struct mmapfs_listen *metrics,
		 enum mmapfs_transport transport)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char why[320];
	int res, status = 0;

	if (mmapfs_uring_choose(transport, cl->single_thread ? 1 :
				RING_THREADS_PER_QUEUE, cl->auto_unmount, why,
				sizeof(why)) < 0) {
		fprintf(stderr, "mmapfs: transport = io_uring: %s; nothing "
			"mounted\n", why);
		return EXIT_MOUNT;
	}

	if (build_fuse_args(cl, backing, &args) < 0) {
		fprintf(stderr, "mmapfs: out of memory\n");
		return EXIT_MOUNT;
	}
	mmapfs_d.se = fuse_session_new(&args, &mmapfs_ops, sizeof(mmapfs_ops),
				       NULL);
	fuse_opt_free_args(&args);
	if (!mmapfs_d.se) {
		fprintf(stderr, "mmapfs: bad options (see mmapfs --help)\n");
		return EXIT_USAGE;
	}
	if (reset_signal_dispositions() < 0 ||
	    fuse_set_signal_handlers(mmapfs_d.se) < 0) {
		fprintf(stderr, "mmapfs: cannot install signal handlers\n");
		status = EXIT_MOUNT;
		goto out_destroy;
	}
	res = mmapfs_metrics_http_bind(metrics);
	if (res < 0) {
		fprintf(stderr, "mmapfs: metrics_listen %s: %s; nothing "
			"mounted\n", metrics->text, strerror(-res));
		status = EXIT_MOUNT;
		goto out_signals;
	}
	if (fuse_session_mount(mmapfs_d.se, mountpoint) < 0) {
		fprintf(stderr, "mmapfs: cannot mount on %s\n", mountpoint);
		status = EXIT_MOUNT;
		goto out_signals;
	}
	res = mmapfs_kernel_io_install(mmapfs_d.se, tune_readahead_once);
	if (res < 0)
		/* Plain libfuse I/O then: the kernel asks for
		 * security.capability before every write. */
		mmapfs_warn("cannot hook /dev/fuse I/O: %s", strerror(-res));
	tune_mountpoint = mountpoint;
	if (fuse_daemonize(cl->foreground) < 0) {
		status = EXIT_MOUNT;
		goto out_unmount;
	}
	if (!cl->foreground)
		mmapfs_log_use_syslog();
	/* SIGHUP is blocked first, so every thread started later inherits
	 * the block and only the signalfd reader sees it. */
	res = mmapfs_signals_start();
	if (res == 0)
		res = mmapfs_invalidate_start();
	if (res == 0)
		res = mmapfs_outside_start(notice_outside_changes());
	if (res == 0)
		res = mmapfs_metrics_http_start();
	if (res < 0) {
		mmapfs_err("cannot start threads: %s", strerror(-res));
		status = EXIT_MOUNT;
		goto out_threads;
	}
	mmapfs_notice("serving %s on %s", backing, mountpoint);
	mmapfs_host_hints_log();
	notify_serving(backing, mountpoint);
	res = run_loop(mmapfs_d.se, cl->single_thread);
	(void)mmapfs_notify("STOPPING=1\nSTATUS=flushing and unmounting");
	if (res == -ECONNABORTED) {
		/* The kernel ended the connection (an unmount that raced
		 * requests in flight, umount -f, or an abort through
		 * fusectl): the end of the session, as ENODEV would be.
		 * Files are flushed below all the same. */
		mmapfs_notice("the kernel aborted the FUSE connection");
	} else if (res < 0) {
		mmapfs_err("session loop failed: %s", strerror(-res));
		status = EXIT_MOUNT;
	}
	if (mmapfs_uring_failed())
		status = EXIT_MOUNT;
	mmapfs_notice("unmounting %s", mountpoint);
out_threads:
	/* No request may run while files are closed below. */
	mmapfs_uring_stop();
	mmapfs_metrics_http_stop();
	mmapfs_signals_stop();
	mmapfs_outside_stop();
	mmapfs_mapping_close_all();
	mmapio_shutdown();
	mmapfs_invalidate_stop();
out_unmount:
	fuse_session_unmount(mmapfs_d.se);
out_signals:
	mmapfs_metrics_http_stop();
	fuse_remove_signal_handlers(mmapfs_d.se);
out_destroy:
	fuse_session_destroy(mmapfs_d.se);
	mmapfs_d.se = NULL;
	/* After /dev/fuse is closed: the kernel is done with the rings. */
	mmapfs_uring_destroy();
	return status;
}

int main(int argc, char **argv)
{
	struct mmapfs_cmdline cl;
	struct mmapfs_config *cfg;
	enum mmapfs_log_level level = MMAPFS_LOG_NOTICE;
	struct mmapfs_listen metrics;
	enum mmapfs_transport transport;
	char err[256], *backing = NULL, *mountpoint = NULL, *config = NULL;
	int root_fd, status;

	if (mmapfs_cmdline_parse(argc, argv, &cl, err, sizeof(err)) < 0) {
		fprintf(stderr, "mmapfs: %s\nTry 'mmapfs --help'.\n", err);
		return EXIT_USAGE;
	}
	if (cl.help || cl.version || cl.check_config) {
		if (cl.help)
			print_help(argv[0]);
		else if (cl.version)
			printf("mmapfs %s (libmmapio %s, libfuse %s)\n",
			       MMAPFS_VERSION, mmapio_version(),
			       fuse_pkgversion());
		status = cl.check_config && !cl.help && !cl.version ?
			 check_config(cl.check_config) : 0;
		mmapfs_cmdline_free(&cl);
		return status;
	}
	status = EXIT_USAGE;
	if (!cl.backing || !cl.mountpoint) {
		fprintf(stderr, "mmapfs: need BACKING_DIR and MOUNTPOINT\n"
			"Try 'mmapfs --help'.\n");
		goto out;
	}
	if (cl.log_level && mmapfs_log_level_parse(cl.log_level, &level) < 0) {
		fprintf(stderr, "mmapfs: bad log_level '%s' (error, warning, "
			"notice, info, debug)\n", cl.log_level);
		goto out;
	}
	if (cl.transport && mmapfs_transport_parse(cl.transport, &transport) < 0) {
		fprintf(stderr, "mmapfs: bad transport '%s' (auto, dev, "
			"io_uring)\n", cl.transport);
		goto out;
	}
	status = EXIT_PATHS;
	/* after a crash: a restart must not meet its predecessor's mount */
	(void)mmapfs_clear_dead_mount(cl.mountpoint);
	if (resolve_dir("backing directory", cl.backing, &backing) ||
	    resolve_dir("mountpoint", cl.mountpoint, &mountpoint))
		goto out;
	if (is_fuse_mountpoint(mountpoint)) {
		fprintf(stderr, "mmapfs: mountpoint %s is busy: already a FUSE "
			"mount\n", mountpoint);
		goto out;
	}
	if (cl.config && !(config = realpath(cl.config, NULL))) {
		fprintf(stderr, "mmapfs: config %s: %s\nmmapfs: bad config, "
			"nothing mounted\n", cl.config, strerror(errno));
		status = EXIT_USAGE;
		goto out;
	}
	root_fd = open_backing(backing);
	if (root_fd < 0)
		goto out;
	status = EXIT_USAGE;
	if (load_config(config, &cl, &cfg) < 0) {
		close(root_fd);
		goto out;
	}
	if (mmapfs_config_global(cfg)->writeback_cache &&
	    !mmapfs_config_all_never(cfg)) {
		fprintf(stderr, "mmapfs: writeback_cache = true needs every "
			"flush policy to be never; nothing mounted\n");
		mmapfs_config_unref(cfg);
		close(root_fd);
		goto out;
	}

	/* Checked by the parsers already (cmdline.c, config_parse.c). */
	(void)mmapfs_listen_parse(cl.metrics_listen ? cl.metrics_listen :
				  mmapfs_config_global(cfg)->metrics_listen,
				  &metrics, NULL, 0);
	mmapfs_d.metrics_listen_forced = cl.metrics_listen != NULL;
	snprintf(mmapfs_d.metrics_listen, sizeof(mmapfs_d.metrics_listen),
		 "%s", metrics.text);
	mmapfs_d.is_root = geteuid() == 0;
	mmapfs_d.default_permissions = cl.default_permissions;
	mmapfs_d.foreground = cl.foreground;
	mmapfs_d.writeback_cache = mmapfs_config_global(cfg)->writeback_cache;
	mmapfs_d.config_path = config;
	mmapfs_d.mountpoint = mountpoint;
	mmapfs_d.overrides = cl.overrides;
	mmapfs_d.noverrides = cl.noverrides;
	mmapfs_d.log_level_forced = cl.log_level != NULL;
	mmapfs_log_init(false, cl.log_level ? level :
			mmapfs_config_global(cfg)->log_level);
	raise_nofile_limit();
	if (!nofile_limit_workable()) {
		mmapfs_config_unref(cfg);
		close(root_fd);
		status = EXIT_USAGE;
		goto out;
	}
	preload_unwinder();
	umask(0);
	mmapfs_creds_init();
	/* The model's upward calls, wired here so that each module calls
	 * only the modules below it: the inode table's teardown belongs to
	 * the .ctl/lock state and the mappings, the fd cache's stand-in
	 * descriptor to the mappings. */
	mmapfs_inode_set_teardown(inode_gone);
	mmapfs_fdcache_set_stand_in(mmapfs_mapping_dup_fd);
	/* Daemon-wide totals outlive every file (logic/counters.c). */
	mmapfs_counters_mark_start();
	mmapfs_counters_mark_reload_ok();
	mmapio_set_flush_observer(mmapfs_counters_flush_observed);
	if (mmapfs_inode_table_init(root_fd) < 0) {
		fprintf(stderr, "mmapfs: cannot set up the inode table\n");
		mmapfs_config_unref(cfg);
		close(root_fd);
		status = EXIT_MOUNT;
		goto out;
	}
	mmapfs_config_install(cfg);

	if (!cl.transport)
		transport = mmapfs_config_global(cfg)->transport;
	status = serve(&cl, mountpoint, backing, &metrics, transport);

	mmapfs_virtual_cleanup();
	mmapfs_closed_clear();
	mmapfs_inode_table_destroy();
	mmapfs_config_uninstall();
	mmapfs_log_close();
out:
	free(backing);
	free(mountpoint);
	free(config);
	mmapfs_cmdline_free(&cl);
	return status;
}
