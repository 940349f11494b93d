/*
 * config_private.h — the inside of struct mmapfs_config, shared by config.c
 * (the object, the per-path lookup, the INI writer) and config_parse.c (the
 * INI reader and validation). Nothing else includes it.
 */
#ifndef MMAPFS_CONFIG_PRIVATE_H
#define MMAPFS_CONFIG_PRIVATE_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"
#include "listen_addr.h"

/* What a key's value is. */
enum config_type {
	CONFIG_POLICY,      /* struct mmapio_policy, mmapio_policy_parse() */
	CONFIG_BOOL,        /* bool */
	CONFIG_COUNT,       /* uint64_t, plain decimal */
	CONFIG_SIZE,        /* uint64_t, decimal with an optional binary unit */
	CONFIG_SECONDS,     /* double, decimal seconds, at most 3 decimals */
	CONFIG_DIRNAME,     /* char[NAME_MAX + 1], one path component */
	CONFIG_LOG_LEVEL,   /* enum mmapfs_log_level */
	CONFIG_LISTEN,      /* char[MMAPFS_LISTEN_TEXT_MAX], listen_addr.h */
	CONFIG_GROUP,       /* char[NAME_MAX + 1]: "-", a group name or gid */
	CONFIG_MODE,        /* unsigned, octal permission bits */
	CONFIG_TRANSPORT,   /* enum mmapfs_transport */
	CONFIG_OUTSIDE,     /* enum mmapfs_outside_changes */
};

/* One key of the config. Per-path keys come first in config_keys[] so that
 * their index is also their bit in struct config_match.set. */
struct config_key {
	const char *name;
	enum config_type type;
	bool per_path;      /* allowed in [match]; else [global] only */
	size_t offset;      /* into mmapfs_file_settings when per_path, else
			     * into mmapfs_global_settings */
	uint64_t min, max;  /* COUNT and SIZE: inclusive range; SECONDS: in ms */
};

/* Indexes into config_keys[]: the per-path keys first. */
enum config_key_index {
	CONFIG_KEY_FLUSH,
	CONFIG_KEY_PREFETCH_ON_OPEN,
	CONFIG_KEY_PREALLOCATE,
	CONFIG_KEY_LOCK,
	CONFIG_KEY_HUGEPAGES,
	CONFIG_NPATH_KEYS,
	CONFIG_KEY_MAX_MAPPED_FILES = CONFIG_NPATH_KEYS,
	CONFIG_KEY_MAX_MAPPED_BYTES,
	CONFIG_KEY_MAX_LOCKED_BYTES,
	CONFIG_KEY_WRITEBACK_CACHE,
	CONFIG_KEY_KEEP_CACHE,
	CONFIG_KEY_CACHE_READDIR,
	CONFIG_KEY_ATTR_TIMEOUT,
	CONFIG_KEY_ENTRY_TIMEOUT,
	CONFIG_KEY_SHOW_CONTROL,
	CONFIG_KEY_CONTROL_DIR,
	CONFIG_KEY_STATS_DIR,
	CONFIG_KEY_METRICS_MAX_FILES,
	CONFIG_KEY_METRICS_LISTEN,
	CONFIG_KEY_CLOSED_FILES_MAX,
	CONFIG_KEY_STATS_GROUP,
	CONFIG_KEY_STATS_MODE,
	CONFIG_KEY_LOG_LEVEL,
	CONFIG_KEY_TRANSPORT,
	CONFIG_KEY_OUTSIDE_CHANGES,
	CONFIG_NKEYS
};
extern const struct config_key config_keys[CONFIG_NKEYS];

/* A [match GLOB] section. */
struct config_match {
	char *glob;
	unsigned line;                      /* of the section header */
	unsigned set;                       /* bit i: config_keys[i] set here */
	struct mmapfs_file_settings file;   /* only the fields in set count */
};

/*
 * Immutable once built; shared between threads by reference count only
 * (refs is the one field that changes, atomically).
 */
struct mmapfs_config {
	atomic_uint refs;
	char *source;                        /* NULL: built-in defaults */
	struct mmapfs_global_settings global;
	struct mmapfs_file_settings file;    /* [global]'s per-path values */
	unsigned global_key_line[CONFIG_NKEYS];  /* where [global] set each key;
						  * 0: the default (messages) */
	size_t nmatch;
	struct config_match *match;          /* in file order */
};

/* A config holding the built-in defaults, no source, no [match]; NULL when
 * out of memory. */
struct mmapfs_config *config_new_defaults(void);

/* Where the value of key k lives in c's [global] (per-path keys: in
 * c->file, the others in c->global). A [match] section keeps its value at
 * the same offset in its own file settings. */
const void *config_global_field(const struct mmapfs_config *c,
				const struct config_key *k);

/* The size of the value of key k. */
size_t config_value_size(const struct config_key *k);

/* Writes the canonical text of the value at field (of key k's type) to buf.
 * Returns the length (snprintf-style) or -EINVAL. */
int config_format_value(const struct config_key *k, const void *field,
			char *buf, size_t len);

/* The longest canonical value text, including the NUL. */
#define CONFIG_VALUE_TEXT_MAX (NAME_MAX + MMAPIO_POLICY_TEXT_MAX)

#endif /* MMAPFS_CONFIG_PRIVATE_H */
