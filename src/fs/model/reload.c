/*
 * reload.c — reloading the configuration (SIGHUP, .ctl/reload) and
 * installing the first one: the config file parsed again, and a good
 * config applied to the mount (model/mount.c) and to every open file
 * (model/mapping.c). The running config itself is held by
 * running_config.c, below the modules that read it.
 *
 * Design: a loaded config is immutable. The daemon holds one reference in
 * `running`; readers take their own reference under config_lock and use
 * it unlocked, so a reload that swaps the pointer never frees a config in
 * use. A reload parses the file again (and the -o KEY=VALUE overrides
 * over it, so the command line keeps winning); a good config replaces the running
 * one and is applied at once to every open file (its policy for its path),
 * and to the timeouts, cache and log settings; a bad one is logged, kept
 * as the last error, and changes nothing. writeback_cache is fixed when
 * the connection starts, so a config that changes it is
 * refused.
 *
 * The file is read and parsed before any lock is taken (config_parse.c
 * refuses anything but a non-empty regular file, without blocking on a
 * FIFO): a read that hangs anyway (a store of the config that stopped
 * answering) holds nothing that the session or the shutdown needs. Each
 * reload takes a ticket before it reads; a result is applied only when no
 * later-read one was applied already, and after mmapfs_reload_shutdown()
 * none is (the exit does not wait for a reload still reading:
 * daemon/signals.c stops waiting for it).
 *
 * Locking: applying a reload is serialised by reload_lock (taken before
 * running_config.c's lock, never inside it), which also guards
 * applied_ticket and shutting_down; next_ticket is atomic.
 */
#include "model/reload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logic/counters.h"
#include "logic/log.h"
#include "model/invalidate.h"
#include "model/mapping.h"
#include "model/mount.h"
#include "model/outside.h"
#include "model/running_config.h"

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t next_ticket;
static uint64_t applied_ticket;
static bool shutting_down;

void mmapfs_config_install(struct mmapfs_config *c)
{
	mmapfs_config_unref(mmapfs_running_config_swap(c));
	mmapfs_mount_apply_globals(c);
	mmapfs_mapping_apply_config(c);
}

/* A rejected reload: counted (metrics.prom), and its text kept for
 * .stats/config. */
static void reload_rejected(char *text)
{
	mmapfs_count(MMAPFS_CNT_RELOADS_FAILED, 1);
	mmapfs_running_config_set_error(text);
}

/* Logs each line of a multi-line error text. */
static void log_lines(const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		mmapfs_err("reload: %.*s", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

int mmapfs_reload(void)
{
	struct mmapfs_config *fresh = NULL, *old;
	bool outside_fixed;
	char *errors = NULL;
	uint64_t ticket;
	int res;

	if (!mmapfs_d.config_path) {
		mmapfs_notice("reload: no config file (-o config=FILE); the "
			      "built-in defaults stay");
		return 0;
	}
	ticket = atomic_fetch_add(&next_ticket, 1) + 1;
	res = mmapfs_config_load_with(mmapfs_d.config_path, mmapfs_d.overrides,
				      mmapfs_d.noverrides, &fresh, &errors);
	pthread_mutex_lock(&reload_lock);
	if (shutting_down || ticket < applied_ticket) {
		/* Exiting, or a reload that read the file later was applied
		 * already: this older text must not replace it. */
		pthread_mutex_unlock(&reload_lock);
		free(errors);
		if (res == 0)
			mmapfs_config_unref(fresh);
		return shutting_down ? -ECANCELED : 0;
	}
	if (res < 0) {
		if (!errors && asprintf(&errors, "%s: %s", mmapfs_d.config_path,
					strerror(-res)) < 0)
			errors = NULL;
		if (errors)
			log_lines(errors);
		reload_rejected(errors);
		pthread_mutex_unlock(&reload_lock);
		return res;
	}
	free(errors);
	if (mmapfs_config_global(fresh)->writeback_cache !=
	    mmapfs_d.writeback_cache) {
		char *msg = strdup("writeback_cache cannot change on reload "
				   "(it is fixed at mount)");

		if (msg)
			log_lines(msg);
		reload_rejected(msg);
		mmapfs_config_unref(fresh);
		pthread_mutex_unlock(&reload_lock);
		return -EINVAL;
	}
	applied_ticket = ticket;
	/* Fixed at start (outside.c): a change waits for the next mount. */
	outside_fixed = (mmapfs_config_global(fresh)->outside_changes ==
			 MMAPFS_OUTSIDE_NOTICE) != mmapfs_outside_noticed();
	old = mmapfs_running_config_swap(fresh);
	mmapfs_mount_apply_globals(fresh);
	mmapfs_mapping_apply_config(fresh);
	/* The root's listing names the virtual directories as the config
	 * says (show_control, control_dir, stats_dir): drop the kernel's
	 * cached copy of it (cache_readdir). */
	mmapfs_invalidate_queue(FUSE_ROOT_ID);
	mmapfs_config_unref(old);
	pthread_mutex_unlock(&reload_lock);
	mmapfs_count(MMAPFS_CNT_RELOADS_OK, 1);
	mmapfs_counters_mark_reload_ok();
	mmapfs_notice("reload: %s applied", mmapfs_d.config_path);
	if (outside_fixed)
		mmapfs_notice("reload: outside_changes stays %s until the "
			      "next mount", mmapfs_outside_noticed() ?
			      "notice" : "ignore");
	return 0;
}

void mmapfs_reload_shutdown(void)
{
	pthread_mutex_lock(&reload_lock);
	shutting_down = true;
	pthread_mutex_unlock(&reload_lock);
}
