/*
 * config.c — the mmapfs configuration object (docs/configuration.md):
 * built-in defaults, reference counting, the per-path lookup and the INI
 * writer. The INI reader and all validation live in config_parse.c.
 *
 * Design: a config is an immutable snapshot: [global] (every key, defaults
 * filled in) plus the [match GLOB] sections in file order, each with the
 * bit set of the per-path keys it sets. The settings of a path are resolved
 * key by key: the first [match] section whose glob matches the path
 * (fnmatch(3), FNM_PATHNAME) and sets the key wins, [global] supplies the
 * rest. The key table config_keys[] is the one list of keys: the parser,
 * the writer and the lookup all walk it.
 *
 * Invariants: a config handed out is valid (every value within its range,
 * every policy valid); mmapfs_config_write_ini() prints text that parses
 * back to an equal config (mmapfs_config_equal()).
 *
 * Threads: nothing changes after construction except the reference count
 * (atomic), so any thread holding a reference may read a config without
 * locks. The last mmapfs_config_unref() frees it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"

#define PATH_KEY(id, n, t, field) \
	[id] = { n, t, true, offsetof(struct mmapfs_file_settings, field), 0, 0 }
#define GLOBAL_KEY(id, n, t, field, lo, hi) \
	[id] = { n, t, false, offsetof(struct mmapfs_global_settings, field), \
		 lo, hi }

const struct config_key config_keys[CONFIG_NKEYS] = {
	PATH_KEY(CONFIG_KEY_FLUSH, "flush", CONFIG_POLICY, flush),
	PATH_KEY(CONFIG_KEY_PREFETCH_ON_OPEN, "prefetch_on_open", CONFIG_BOOL,
		 prefetch_on_open),
	PATH_KEY(CONFIG_KEY_PREALLOCATE, "preallocate", CONFIG_BOOL,
		 preallocate),
	PATH_KEY(CONFIG_KEY_LOCK, "lock", CONFIG_BOOL, lock),
	PATH_KEY(CONFIG_KEY_HUGEPAGES, "hugepages", CONFIG_BOOL, hugepages),
	GLOBAL_KEY(CONFIG_KEY_MAX_MAPPED_FILES, "max_mapped_files",
		   CONFIG_COUNT, max_mapped_files, 1, 1000000),
	GLOBAL_KEY(CONFIG_KEY_MAX_MAPPED_BYTES, "max_mapped_bytes",
		   CONFIG_SIZE, max_mapped_bytes, 0, UINT64_MAX),
	GLOBAL_KEY(CONFIG_KEY_MAX_LOCKED_BYTES, "max_locked_bytes",
		   CONFIG_SIZE, max_locked_bytes, 0, UINT64_MAX),
	GLOBAL_KEY(CONFIG_KEY_WRITEBACK_CACHE, "writeback_cache",
		   CONFIG_BOOL, writeback_cache, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_KEEP_CACHE, "keep_cache",
		   CONFIG_BOOL, keep_cache, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_CACHE_READDIR, "cache_readdir",
		   CONFIG_BOOL, cache_readdir, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_ATTR_TIMEOUT, "attr_timeout",
		   CONFIG_SECONDS, attr_timeout, 0, 86400000),
	GLOBAL_KEY(CONFIG_KEY_ENTRY_TIMEOUT, "entry_timeout",
		   CONFIG_SECONDS, entry_timeout, 0, 86400000),
	GLOBAL_KEY(CONFIG_KEY_SHOW_CONTROL, "show_control",
		   CONFIG_BOOL, show_control, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_CONTROL_DIR, "control_dir",
		   CONFIG_DIRNAME, control_dir, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_STATS_DIR, "stats_dir",
		   CONFIG_DIRNAME, stats_dir, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_METRICS_MAX_FILES, "metrics_max_files",
		   CONFIG_COUNT, metrics_max_files, 0, 1000000),
	GLOBAL_KEY(CONFIG_KEY_METRICS_LISTEN, "metrics_listen",
		   CONFIG_LISTEN, metrics_listen, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_CLOSED_FILES_MAX, "closed_files_max",
		   CONFIG_COUNT, closed_files_max, 0, 1000000),
	GLOBAL_KEY(CONFIG_KEY_STATS_GROUP, "stats_group",
		   CONFIG_GROUP, stats_group, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_STATS_MODE, "stats_mode",
		   CONFIG_MODE, stats_mode, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_LOG_LEVEL, "log_level",
		   CONFIG_LOG_LEVEL, log_level, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_TRANSPORT, "transport",
		   CONFIG_TRANSPORT, transport, 0, 0),
	GLOBAL_KEY(CONFIG_KEY_OUTSIDE_CHANGES, "outside_changes",
		   CONFIG_OUTSIDE, outside_changes, 0, 0),
};

#define NAMES(a) (sizeof(a) / sizeof(*(a)))

/* names[v], or NULL when v is out of range: the text of an enum value. */
static const char *enum_name(const char *const *names, unsigned n,
			     unsigned v)
{
	return v < n ? names[v] : NULL;
}

/* The index of text in names: 0 and *out, or -EINVAL. */
static int enum_parse(const char *const *names, unsigned n, const char *text,
		      unsigned *out)
{
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const log_level_names[] = {
	[MMAPFS_LOG_ERROR] = "error",
	[MMAPFS_LOG_WARNING] = "warning",
	[MMAPFS_LOG_NOTICE] = "notice",
	[MMAPFS_LOG_INFO] = "info",
	[MMAPFS_LOG_DEBUG] = "debug",
};

const char *mmapfs_log_level_name(enum mmapfs_log_level level)
{
	return enum_name(log_level_names, NAMES(log_level_names), level);
}

int mmapfs_log_level_parse(const char *text, enum mmapfs_log_level *out)
{
	unsigned v;

	if (enum_parse(log_level_names, NAMES(log_level_names), text, &v) < 0)
		return -EINVAL;
	*out = (enum mmapfs_log_level)v;
	return 0;
}

static const char *const transport_names[] = {
	[MMAPFS_TRANSPORT_AUTO] = "auto",
	[MMAPFS_TRANSPORT_DEV] = "dev",
	[MMAPFS_TRANSPORT_IO_URING] = "io_uring",
};

const char *mmapfs_transport_name(enum mmapfs_transport t)
{
	return enum_name(transport_names, NAMES(transport_names), t);
}

int mmapfs_transport_parse(const char *text, enum mmapfs_transport *out)
{
	unsigned v;

	if (enum_parse(transport_names, NAMES(transport_names), text, &v) < 0)
		return -EINVAL;
	*out = (enum mmapfs_transport)v;
	return 0;
}

static const char *const outside_names[] = {
	[MMAPFS_OUTSIDE_NOTICE] = "notice",
	[MMAPFS_OUTSIDE_IGNORE] = "ignore",
};

const char *mmapfs_outside_changes_name(enum mmapfs_outside_changes o)
{
	return enum_name(outside_names, NAMES(outside_names), o);
}

int mmapfs_outside_changes_parse(const char *text,
				 enum mmapfs_outside_changes *out)
{
	unsigned v;

	if (enum_parse(outside_names, NAMES(outside_names), text, &v) < 0)
		return -EINVAL;
	*out = (enum mmapfs_outside_changes)v;
	return 0;
}

struct mmapfs_config *config_new_defaults(void)
{
	struct mmapfs_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->file = (struct mmapfs_file_settings){
		.flush = { .kind = MMAPIO_POLICY_NEVER },
		.prefetch_on_open = false,
		.preallocate = true,
		.lock = false,
		.hugepages = false,
	};
	c->global = (struct mmapfs_global_settings){
		.max_mapped_files = 4096,
		.max_mapped_bytes = 0,
		.max_locked_bytes = 64ull << 20,
		.writeback_cache = false,
		.keep_cache = true,
		.cache_readdir = false,
		.attr_timeout = 1.0,
		.entry_timeout = 1.0,
		.show_control = false,
		.control_dir = ".ctl",
		.stats_dir = ".stats",
		.metrics_max_files = 100,
		.metrics_listen = "off",
		.closed_files_max = 256,
		.stats_group = "-",
		.stats_mode = 0500,
		.log_level = MMAPFS_LOG_NOTICE,
		.transport = MMAPFS_TRANSPORT_AUTO,
		.outside_changes = MMAPFS_OUTSIDE_NOTICE,
	};
	return c;
}

int mmapfs_config_defaults(struct mmapfs_config **out)
{
	struct mmapfs_config *c = config_new_defaults();

	if (!c)
		return -ENOMEM;
	*out = c;
	return 0;
}

struct mmapfs_config *mmapfs_config_ref(struct mmapfs_config *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void mmapfs_config_unref(struct mmapfs_config *c)
{
	if (!c || atomic_fetch_sub_explicit(&c->refs, 1,
					    memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < c->nmatch; i++)
		free(c->match[i].glob);
	free(c->match);
	free(c->source);
	free(c);
}

const struct mmapfs_global_settings *
mmapfs_config_global(const struct mmapfs_config *c)
{
	return &c->global;
}

const char *mmapfs_config_source(const struct mmapfs_config *c)
{
	return c->source;
}

const void *config_global_field(const struct mmapfs_config *c,
				const struct config_key *k)
{
	if (k->per_path)
		return (const char *)&c->file + k->offset;
	return (const char *)&c->global + k->offset;
}

size_t config_value_size(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_POLICY:
		return sizeof(struct mmapio_policy);
	case CONFIG_BOOL:
		return sizeof(bool);
	case CONFIG_COUNT:
	case CONFIG_SIZE:
		return sizeof(uint64_t);
	case CONFIG_SECONDS:
		return sizeof(double);
	case CONFIG_DIRNAME:
		return NAME_MAX + 1;
	case CONFIG_LOG_LEVEL:
		return sizeof(enum mmapfs_log_level);
	case CONFIG_LISTEN:
		return MMAPFS_LISTEN_TEXT_MAX;
	case CONFIG_GROUP:
		return NAME_MAX + 1;
	case CONFIG_MODE:
		return sizeof(unsigned);
	case CONFIG_TRANSPORT:
		return sizeof(enum mmapfs_transport);
	case CONFIG_OUTSIDE:
		return sizeof(enum mmapfs_outside_changes);
	}
	return 0;
}

void mmapfs_config_settings_for(const struct mmapfs_config *c,
				const char *relpath,
				struct mmapfs_file_settings *out)
{
	unsigned unresolved = (1u << CONFIG_NPATH_KEYS) - 1;

	*out = c->file;
	for (size_t i = 0; i < c->nmatch && unresolved; i++) {
		const struct config_match *m = &c->match[i];
		unsigned take = m->set & unresolved;

		if (!take || fnmatch(m->glob, relpath, FNM_PATHNAME) != 0)
			continue;
		for (unsigned k = 0; k < CONFIG_NPATH_KEYS; k++) {
			const struct config_key *key = &config_keys[k];

			if (take & (1u << k))
				memcpy((char *)out + key->offset,
				       (const char *)&m->file + key->offset,
				       config_value_size(key));
		}
		unresolved &= ~take;
	}
}

bool mmapfs_config_all_never(const struct mmapfs_config *c)
{
	if (c->file.flush.kind != MMAPIO_POLICY_NEVER)
		return false;
	for (size_t i = 0; i < c->nmatch; i++) {
		if ((c->match[i].set & (1u << CONFIG_KEY_FLUSH)) &&
		    c->match[i].file.flush.kind != MMAPIO_POLICY_NEVER)
			return false;
	}
	return true;
}

/* Sizes in the largest binary unit that divides them exactly, as policies
 * print theirs (docs/durability.md). */
static int format_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "GiB", "MiB", "KiB" };

	for (unsigned i = 0; v && i < 3; i++) {
		unsigned shift = 30 - 10 * i;

		if (v % (1ull << shift) == 0)
			return snprintf(buf, len, "%llu%s",
					(unsigned long long)(v >> shift), units[i]);
	}
	return snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* Seconds with at most three decimals, trailing zeros dropped ("1.5"). */
static int format_seconds(double s, char *buf, size_t len)
{
	unsigned long long ms = (unsigned long long)(s * 1000.0 + 0.5);
	unsigned long long frac = ms % 1000;
	int digits = 3;

	if (!frac)
		return snprintf(buf, len, "%llu", ms / 1000);
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	return snprintf(buf, len, "%llu.%0*llu", ms / 1000, digits, frac);
}

int config_format_value(const struct config_key *k, const void *field,
			char *buf, size_t len)
{
	switch (k->type) {
	case CONFIG_POLICY:
		return mmapio_policy_format(field, buf, len);
	case CONFIG_BOOL:
		return snprintf(buf, len, "%s",
				*(const bool *)field ? "true" : "false");
	case CONFIG_COUNT:
		return snprintf(buf, len, "%llu",
				(unsigned long long)*(const uint64_t *)field);
	case CONFIG_SIZE:
		return format_size(*(const uint64_t *)field, buf, len);
	case CONFIG_SECONDS:
		return format_seconds(*(const double *)field, buf, len);
	case CONFIG_DIRNAME:
		return snprintf(buf, len, "%s", (const char *)field);
	case CONFIG_LOG_LEVEL: {
		const char *name = mmapfs_log_level_name(
			*(const enum mmapfs_log_level *)field);

		return name ? snprintf(buf, len, "%s", name) : -EINVAL;
	}
	case CONFIG_LISTEN:
	case CONFIG_GROUP:
		return snprintf(buf, len, "%s", (const char *)field);
	case CONFIG_MODE:
		return snprintf(buf, len, "%04o", *(const unsigned *)field);
	case CONFIG_TRANSPORT: {
		const char *name = mmapfs_transport_name(
			*(const enum mmapfs_transport *)field);

		return name ? snprintf(buf, len, "%s", name) : -EINVAL;
	}
	case CONFIG_OUTSIDE: {
		const char *name = mmapfs_outside_changes_name(
			*(const enum mmapfs_outside_changes *)field);

		return name ? snprintf(buf, len, "%s", name) : -EINVAL;
	}
	}
	return -EINVAL;
}

static int write_key(FILE *out, const struct config_key *k, const void *field)
{
	char value[CONFIG_VALUE_TEXT_MAX];
	int n = config_format_value(k, field, value, sizeof(value));

	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(value))
		return -EOVERFLOW;
	return fprintf(out, "%s = %s\n", k->name, value) < 0 ? -EIO : 0;
}

int mmapfs_config_write_ini(const struct mmapfs_config *c, FILE *out)
{
	int rc;

	if (fputs("[global]\n", out) == EOF)
		return -EIO;
	for (unsigned k = 0; k < CONFIG_NKEYS; k++) {
		rc = write_key(out, &config_keys[k],
			       config_global_field(c, &config_keys[k]));
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < c->nmatch; i++) {
		const struct config_match *m = &c->match[i];

		if (fprintf(out, "\n[match %s]\n", m->glob) < 0)
			return -EIO;
		for (unsigned k = 0; k < CONFIG_NPATH_KEYS; k++) {
			if (!(m->set & (1u << k)))
				continue;
			rc = write_key(out, &config_keys[k],
				       (const char *)&m->file + config_keys[k].offset);
			if (rc)
				return rc;
		}
	}
	return fflush(out) == EOF ? -EIO : 0;
}

static bool values_equal(const struct config_key *k, const void *a,
			 const void *b)
{
	switch (k->type) {
	case CONFIG_POLICY:
		return mmapio_policy_equal(a, b);
	case CONFIG_BOOL:
		return *(const bool *)a == *(const bool *)b;
	case CONFIG_COUNT:
	case CONFIG_SIZE:
		return *(const uint64_t *)a == *(const uint64_t *)b;
	case CONFIG_SECONDS:
		return *(const double *)a == *(const double *)b;
	case CONFIG_DIRNAME:
		return strcmp(a, b) == 0;
	case CONFIG_LOG_LEVEL:
		return *(const enum mmapfs_log_level *)a ==
		       *(const enum mmapfs_log_level *)b;
	case CONFIG_LISTEN:
	case CONFIG_GROUP:
		return strcmp(a, b) == 0;
	case CONFIG_MODE:
		return *(const unsigned *)a == *(const unsigned *)b;
	case CONFIG_TRANSPORT:
		return *(const enum mmapfs_transport *)a ==
		       *(const enum mmapfs_transport *)b;
	case CONFIG_OUTSIDE:
		return *(const enum mmapfs_outside_changes *)a ==
		       *(const enum mmapfs_outside_changes *)b;
	}
	return false;
}

bool mmapfs_config_equal(const struct mmapfs_config *a,
			 const struct mmapfs_config *b)
{
	if (a->nmatch != b->nmatch)
		return false;
	for (unsigned k = 0; k < CONFIG_NKEYS; k++) {
		const struct config_key *key = &config_keys[k];

		if (!values_equal(key,
				  config_global_field(a, key),
				  config_global_field(b, key)))
			return false;
	}
	for (size_t i = 0; i < a->nmatch; i++) {
		const struct config_match *ma = &a->match[i], *mb = &b->match[i];

		if (strcmp(ma->glob, mb->glob) != 0 || ma->set != mb->set)
			return false;
		for (unsigned k = 0; k < CONFIG_NPATH_KEYS; k++) {
			const struct config_key *key = &config_keys[k];

			if ((ma->set & (1u << k)) &&
			    !values_equal(key,
					  (const char *)&ma->file + key->offset,
					  (const char *)&mb->file + key->offset))
				return false;
		}
	}
	return true;
}

int mmapfs_config_reload_check(const struct mmapfs_config *running,
			       const struct mmapfs_config *fresh,
			       char **errors)
{
	bool now = running->global.writeback_cache;
	unsigned line = fresh->global_key_line[CONFIG_KEY_WRITEBACK_CACHE];
	const char *name = fresh->source ? fresh->source : "(built-in)";
	char where[32] = "";
	int n;

	if (errors)
		*errors = NULL;
	if (fresh->global.writeback_cache == now)
		return 0;
	if (!errors)
		return -EINVAL;
	if (line)
		snprintf(where, sizeof(where), ":%u", line);
	n = asprintf(errors, "%s%s: [global] writeback_cache: cannot change on "
		     "reload (%s now; it is fixed when the connection starts: "
		     "remount to change it)\n", name, where,
		     now ? "true" : "false");
	if (n < 0) {
		*errors = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}
