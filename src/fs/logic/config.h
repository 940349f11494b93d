/*
 * config.h — the mmapfs configuration (docs/configuration.md): an immutable
 * snapshot built from built-in defaults or an INI file, and the per-path
 * lookup.
 *
 * A loaded config never changes. Reload builds a new one and swaps the
 * daemon's pointer; readers keep a reference (mmapfs_config_ref/unref) for
 * as long as they use one, so a reload never frees a config in use.
 */
#ifndef MMAPFS_CONFIG_H
#define MMAPFS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmapio.h"

enum mmapfs_log_level {
	MMAPFS_LOG_ERROR = 0,
	MMAPFS_LOG_WARNING,
	MMAPFS_LOG_NOTICE,
	MMAPFS_LOG_INFO,
	MMAPFS_LOG_DEBUG,
};

/* How requests travel between the kernel and the daemon. */
enum mmapfs_transport {
	MMAPFS_TRANSPORT_AUTO = 0,     /* the ring when the kernel offers it */
	MMAPFS_TRANSPORT_DEV,          /* read/write on /dev/fuse */
	MMAPFS_TRANSPORT_IO_URING,     /* FUSE over io_uring, or no mount */
};

/* Whether the daemon looks for changes made to backing files from
 * outside the mount (docs/reliability.md). */
enum mmapfs_outside_changes {
	MMAPFS_OUTSIDE_NOTICE = 0,     /* bracket own changes, watch, check */
	MMAPFS_OUTSIDE_IGNORE,         /* the admin says there are none */
};

/* Settings that [match GLOB] sections may set per path. */
struct mmapfs_file_settings {
	struct mmapio_policy flush;    /* flush = never | always | thresholds */
	bool prefetch_on_open;
	bool preallocate;
	bool lock;                     /* mlock the whole file while mapped */
	bool hugepages;
};

/* Settings only [global] may set. */
struct mmapfs_global_settings {
	uint64_t max_mapped_files;     /* LRU cap on idle mappings */
	uint64_t max_mapped_bytes;     /* cap on mapped address space; 0:
					* half of what the daemon has */
	uint64_t max_locked_bytes;     /* cap on .ctl/lock and lock = true */
	bool writeback_cache;          /* only with every policy = never */
	bool keep_cache;               /* FOPEN_KEEP_CACHE on open */
	bool cache_readdir;            /* FOPEN_CACHE_DIR on opendir */
	double attr_timeout;           /* seconds */
	double entry_timeout;          /* seconds */
	bool show_control;             /* list .ctl/.stats in readdir */
	char control_dir[NAME_MAX + 1];
	char stats_dir[NAME_MAX + 1];
	uint64_t metrics_max_files;
	char metrics_listen[64];       /* "off" or ADDR:PORT (listen_addr.h) */
	uint64_t closed_files_max;     /* recently closed files kept */
	char stats_group[NAME_MAX + 1];/* "-" (the mounting user's) or a group
					* name or number: may read the stats
					* directory as its mode says */
	unsigned stats_mode;           /* mode of the stats directory: 0500
					* plus group/other r-x bits */
	enum mmapfs_log_level log_level;
	enum mmapfs_transport transport; /* fixed when the connection starts */
	enum mmapfs_outside_changes outside_changes; /* fixed at start */
};

struct mmapfs_config;

/* The built-in defaults (the values documented in conf/mmapfs.ini).
 * Returns 0 or -ENOMEM. */
int mmapfs_config_defaults(struct mmapfs_config **out);

/* Parses the INI file at path. On success returns 0 and *out. On failure
 * returns -EINVAL (or -errno for an unreadable file) and, when errors is not
 * NULL, a malloc'd text of one "FILE:LINE: message" line per problem found
 * (the caller frees it). */
int mmapfs_config_load(const char *path, struct mmapfs_config **out,
		       char **errors);

/* As mmapfs_config_load() on an in-memory text; name is used as FILE in
 * messages. */
int mmapfs_config_parse_text(const char *text, size_t len, const char *name,
			     struct mmapfs_config **out, char **errors);

/* A [global] key given on the command line: -o KEY=VALUE. */
struct mmapfs_config_override {
	const char *key;
	const char *value;
};

/* True when name is a config key: [global] accepts every key. */
bool mmapfs_config_is_key(const char *name);

/* Loads the INI file at path as mmapfs_config_load() does (path NULL: the
 * built-in defaults), then sets each of the nov overrides in [global], in
 * order, as if [global] said "KEY = VALUE" in place of the file's value
 * (a later override of the same key wins); [match] sections still win for
 * the paths they match. Values are checked exactly as in the file, except
 * that a policy's thresholds may also be separated by ':' (a ',' would end
 * the mount option). The checks across keys run on the result. Errors in
 * an override read "-o: KEY: message". Returns as mmapfs_config_load(). */
int mmapfs_config_load_with(const char *path,
			    const struct mmapfs_config_override *ov,
			    size_t nov, struct mmapfs_config **out,
			    char **errors);

struct mmapfs_config *mmapfs_config_ref(struct mmapfs_config *c);
void mmapfs_config_unref(struct mmapfs_config *c);

const struct mmapfs_global_settings *
mmapfs_config_global(const struct mmapfs_config *c);

/* The settings for relpath (relative to the backing root, no leading '/'):
 * for each key the first [match] section whose glob matches (fnmatch,
 * FNM_PATHNAME) and sets it, else [global]. */
void mmapfs_config_settings_for(const struct mmapfs_config *c,
				const char *relpath,
				struct mmapfs_file_settings *out);

/* True when every policy in c ([global] and every [match]) is never. */
bool mmapfs_config_all_never(const struct mmapfs_config *c);

/* Writes c in INI form (the effective config, every key explicit) to out.
 * Returns 0 or -errno. */
int mmapfs_config_write_ini(const struct mmapfs_config *c, FILE *out);

/* The file c was loaded from, or NULL for the built-in defaults. */
const char *mmapfs_config_source(const struct mmapfs_config *c);

/* True when a and b give every path the same settings and have the same
 * [global] values and [match] sections (the source is not compared). */
bool mmapfs_config_equal(const struct mmapfs_config *a,
			 const struct mmapfs_config *b);

/* Checks that fresh may replace running on a reload: writeback_cache is
 * fixed when the FUSE connection starts (docs/configuration.md), so it must not
 * change. Returns 0, or -EINVAL and, when errors is not NULL, a malloc'd
 * "FILE:LINE: message" text naming fresh's writeback_cache line (the
 * caller frees it); -ENOMEM. */
int mmapfs_config_reload_check(const struct mmapfs_config *running,
			       const struct mmapfs_config *fresh,
			       char **errors);

/* "error", "warning", "notice", "info", "debug"; NULL when out of range. */
const char *mmapfs_log_level_name(enum mmapfs_log_level level);
/* The inverse of mmapfs_log_level_name(): 0, or -EINVAL for other text. */
int mmapfs_log_level_parse(const char *text, enum mmapfs_log_level *out);

/* "auto", "dev", "io_uring"; NULL when out of range. */
const char *mmapfs_transport_name(enum mmapfs_transport t);
/* The inverse of mmapfs_transport_name(): 0, or -EINVAL for other text. */
int mmapfs_transport_parse(const char *text, enum mmapfs_transport *out);
/* "notice", "ignore"; NULL when out of range. */
const char *mmapfs_outside_changes_name(enum mmapfs_outside_changes o);
/* The inverse of mmapfs_outside_changes_name(): 0, or -EINVAL. */
int mmapfs_outside_changes_parse(const char *text,
				 enum mmapfs_outside_changes *out);

#endif /* MMAPFS_CONFIG_H */
