/*
 * model/reload.h — installing the first configuration and reloading it.
 */
#ifndef MMAPFS_MODEL_RELOAD_H
#define MMAPFS_MODEL_RELOAD_H

#include "logic/config.h"

/* Installs the config loaded at start (takes over the reference). */
void mmapfs_config_install(struct mmapfs_config *c);
/* Reloads the config file: a good one replaces the running config and
 * applies to open files; a bad one is logged and kept as the last error.
 * Returns 0 or -errno. */
int mmapfs_reload(void);
/* At exit, before the config goes: no reload applies from now on (one
 * still reading the file discards what it read). Never waits for one. */
void mmapfs_reload_shutdown(void);

#endif /* MMAPFS_MODEL_RELOAD_H */
