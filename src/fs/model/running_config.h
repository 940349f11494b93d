/*
 * model/running_config.h — the configuration in force, and the error of
 * the last failed reload. Changed only by model/reload.c (and at exit).
 */
#ifndef MMAPFS_MODEL_RUNNING_CONFIG_H
#define MMAPFS_MODEL_RUNNING_CONFIG_H

#include "logic/config.h"

/* A reference to the running config; release with mmapfs_config_unref.
 * Thread-safe. */
struct mmapfs_config *mmapfs_config_current(void);
/* Makes c (a reference handed over; NULL at exit) the running config and
 * forgets the last reload error. Returns the previous config's reference,
 * for the caller to drop. */
struct mmapfs_config *mmapfs_running_config_swap(struct mmapfs_config *c);
/* Keeps text (malloc'd, handed over; NULL clears) as the last reload
 * error. */
void mmapfs_running_config_set_error(char *text);
/* The text of the last failed reload (malloc'd copy), or NULL. */
char *mmapfs_reload_last_error(void);
/* Drops the running config (at exit). */
void mmapfs_config_uninstall(void);

#endif /* MMAPFS_MODEL_RUNNING_CONFIG_H */
