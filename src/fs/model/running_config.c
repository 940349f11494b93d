/*
 * running_config.c — the configuration in force. A loaded config is
 * immutable: this module holds one reference in `running`; readers take
 * their own reference under config_lock and use it unlocked, so a reload
 * that swaps the pointer never frees a config in use. It also keeps the
 * text of the last failed reload, for .stats/config.
 *
 * Locking: config_lock guards running and last_error; nothing else is
 * taken while it is held.
 */
#include "model/running_config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmapfs_config *running;
static char *last_error;

struct mmapfs_config *mmapfs_config_current(void)
{
	struct mmapfs_config *c;

	pthread_mutex_lock(&config_lock);
	c = mmapfs_config_ref(running);
	pthread_mutex_unlock(&config_lock);
	return c;
}

struct mmapfs_config *mmapfs_running_config_swap(struct mmapfs_config *c)
{
	struct mmapfs_config *old;

	pthread_mutex_lock(&config_lock);
	old = running;
	running = c;
	free(last_error);
	last_error = NULL;
	pthread_mutex_unlock(&config_lock);
	return old;
}

void mmapfs_running_config_set_error(char *text)
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

void mmapfs_config_uninstall(void)
{
	mmapfs_config_unref(mmapfs_running_config_swap(NULL));
}
