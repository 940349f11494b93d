/*
 * reload.c — the running configuration and its reload (SIGHUP; later also
 * .ctl/reload).
 *
 * Design: a loaded config is immutable. The daemon holds one reference in
 * `running`; readers take their own reference under config_lock and use
 * it unlocked, so a reload that swaps the pointer never frees a config in
 * use. A reload parses the file again; a good config replaces the running
 * one and is applied at once to every open file (its policy for its path),
 * and to the timeouts, cache and log settings; a bad one is logged, kept
 * as the last error, and changes nothing. writeback_cache is fixed when
 * the connection starts (DESIGN §4), so a config that changes it is
 * refused.
 *
 * The file is read and parsed before any lock is taken (config_parse.c
 * refuses anything but a non-empty regular file, without blocking on a
 * FIFO): a read that hangs anyway (a backing store of the config that
 * stopped answering) holds nothing that the session or the shutdown
 * needs. Each reload takes a ticket before it reads; a result is applied
 * only when no later-read one was applied already, and after
 * mmapfs_reload_shutdown() none is (the shutdown does not wait for a
 * reload still reading: signals.c stops waiting for it).
 *
 * Locking: config_lock guards running and last_error; nothing else is
 * taken while it is held. Applying a reload is serialised by reload_lock
 * (taken before config_lock, never inside it), which also guards
 * applied_ticket and shutting_down; next_ticket is atomic.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmapfs_config *running;
static char *last_error;
static atomic_uint_fast64_t next_ticket;
static uint64_t applied_ticket;
static bool shutting_down;

/* Applies the global settings that are not per file. */
static void apply_globals(const struct mmapfs_config *c)
{
	const struct mmapfs_global_settings *g = mmapfs_config_global(c);

	atomic_store(&mmapfs_d.attr_timeout, g->attr_timeout);
	atomic_store(&mmapfs_d.entry_timeout, g->entry_timeout);
	atomic_store(&mmapfs_d.keep_cache, g->keep_cache);
	atomic_store(&mmapfs_d.cache_readdir, g->cache_readdir);
	if (!mmapfs_d.log_level_forced)
		mmapfs_log_set_level(g->log_level);
}

void mmapfs_config_install(struct mmapfs_config *c)
{
	pthread_mutex_lock(&config_lock);
	running = c;
	pthread_mutex_unlock(&config_lock);
	apply_globals(c);
	mmapfs_mapping_apply_config(c);
}

struct mmapfs_config *mmapfs_config_current(void)
{
	struct mmapfs_config *c;

	pthread_mutex_lock(&config_lock);
	c = mmapfs_config_ref(running);
	pthread_mutex_unlock(&config_lock);
	return c;
}

static void set_last_error(char *text)
{
	pthread_mutex_lock(&config_lock);
	free(last_error);
	last_error = text;
	pthread_mutex_unlock(&config_lock);
}

char *mmapfs_reload_last_error(void)
{
	char *copy = NULL;

	pthread_mutex_lock(&config_lock);
	if (last_error)
		copy = strdup(last_error);
	pthread_mutex_unlock(&config_lock);
	return copy;
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

/* Logs and records a refused reload (errors: malloc'd, or NULL for the
 * plain text of res). reload_lock held. */
static void refuse(char *errors, int res)
{
	if (!errors && asprintf(&errors, "%s: %s", mmapfs_d.config_path,
				strerror(-res)) < 0)
		errors = NULL;
	if (errors)
		log_lines(errors);
	set_last_error(errors);
}

int mmapfs_reload(void)
{
	struct mmapfs_config *fresh = NULL, *old;
	char *errors = NULL;
	uint64_t ticket;
	int res;

	if (!mmapfs_d.config_path) {
		mmapfs_notice("reload: no config file (-o config=FILE); the "
			      "built-in defaults stay");
		return 0;
	}
	ticket = atomic_fetch_add(&next_ticket, 1) + 1;
	res = mmapfs_config_load(mmapfs_d.config_path, &fresh, &errors);
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
		refuse(errors, res);
		pthread_mutex_unlock(&reload_lock);
		return res;
	}
	free(errors);
	if (mmapfs_config_global(fresh)->writeback_cache !=
	    mmapfs_d.writeback_cache) {
		refuse(strdup("writeback_cache cannot change on reload "
			      "(it is fixed at mount)"), -EINVAL);
		mmapfs_config_unref(fresh);
		pthread_mutex_unlock(&reload_lock);
		return -EINVAL;
	}
	applied_ticket = ticket;
	pthread_mutex_lock(&config_lock);
	old = running;
	running = fresh;
	free(last_error);
	last_error = NULL;
	pthread_mutex_unlock(&config_lock);
	apply_globals(fresh);
	mmapfs_mapping_apply_config(fresh);
	/* The root's listing names the virtual directories as the config
	 * says (show_control, control_dir, stats_dir): drop the kernel's
	 * cached copy of it (cache_readdir). */
	mmapfs_invalidate_queue(FUSE_ROOT_ID);
	mmapfs_config_unref(old);
	pthread_mutex_unlock(&reload_lock);
	mmapfs_notice("reload: %s applied", mmapfs_d.config_path);
	return 0;
}

void mmapfs_reload_shutdown(void)
{
	pthread_mutex_lock(&reload_lock);
	shutting_down = true;
	pthread_mutex_unlock(&reload_lock);
}

void mmapfs_config_uninstall(void)
{
	pthread_mutex_lock(&config_lock);
	mmapfs_config_unref(running);
	running = NULL;
	free(last_error);
	last_error = NULL;
	pthread_mutex_unlock(&config_lock);
}
