/*
 * mount.c — the state of the mount as a whole: the daemon singleton and
 * the settings of a config that apply to the mount rather than to files
 * (reply timeouts, kernel cache choices, log level).
 *
 * Threads: mmapfs_d is filled by the composition root before the session
 * starts; afterwards its atomics change only here (a reload), and every
 * request thread reads them with relaxed loads.
 */
#include "model/mount.h"

#include <string.h>

#include "logic/closed_files.h"
#include "logic/listen_addr.h"
#include "logic/log.h"

struct mmapfs_daemon mmapfs_d;

double mmapfs_attr_timeout(void)
{
	return atomic_load_explicit(&mmapfs_d.attr_timeout,
				    memory_order_relaxed);
}

double mmapfs_entry_timeout(void)
{
	return atomic_load_explicit(&mmapfs_d.entry_timeout,
				    memory_order_relaxed);
}

/* The metrics endpoint is bound at mount (daemon/metrics_http.c): a
 * config that names another address says so in the log. */
static void note_metrics_listen(const char *configured)
{
	struct mmapfs_listen l;

	if (mmapfs_d.metrics_listen_forced || !mmapfs_d.metrics_listen[0] ||
	    mmapfs_listen_parse(configured, &l, NULL, 0) < 0 ||
	    strcmp(l.text, mmapfs_d.metrics_listen) == 0)
		return;
	mmapfs_notice("reload: metrics_listen = %s takes effect at the next "
		      "mount (serving %s)", l.text, mmapfs_d.metrics_listen);
}

void mmapfs_mount_apply_globals(const struct mmapfs_config *c)
{
	const struct mmapfs_global_settings *g = mmapfs_config_global(c);

	atomic_store(&mmapfs_d.attr_timeout, g->attr_timeout);
	atomic_store(&mmapfs_d.entry_timeout, g->entry_timeout);
	atomic_store(&mmapfs_d.keep_cache, g->keep_cache);
	atomic_store(&mmapfs_d.cache_readdir, g->cache_readdir);
	if (!mmapfs_d.log_level_forced)
		mmapfs_log_set_level(g->log_level);
	mmapfs_closed_set_capacity((size_t)g->closed_files_max);
	note_metrics_listen(g->metrics_listen);
}
