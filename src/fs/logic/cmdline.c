/*
 * cmdline.c — parses the mmapfs command line into struct mmapfs_cmdline.
 *
 * Design: one pass over argv. Flags (-f -d -s -h -V --help --version
 * --check-config) and -o lists are recognised anywhere, positional
 * arguments fill BACKING_DIR then MOUNTPOINT ("--" ends the flags).
 * Each -o list is split on unescaped commas and every option is sorted
 * into: mmapfs's own (config=, log_level=, metrics_listen=, transport=),
 * config keys given as KEY=VALUE (overrides, kept in order for the config
 * loader), mount(8)'s generic options that mean nothing to a FUSE daemon
 * (dropped), and options for libfuse (re-joined, escaped, into fuse_opts).
 * Pure logic: no I/O, no globals.
 */
#include "cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen_addr.h"

/* mount(8) options with no meaning for mmapfs: accepted and dropped. */
static const char *const dropped_options[] = {
	"defaults", "auto", "noauto", "nofail", "_netdev", "user", "nouser",
	"users", "owner", "group", "atime", "relatime", "norelatime",
	"strictatime", "nostrictatime", "lazytime", "nolazytime", "iversion",
	"noiversion", "loud", "silent", NULL,
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_dropped(const char *opt)
{
	if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0)
		return true;
	for (size_t i = 0; dropped_options[i]; i++)
		if (strcmp(opt, dropped_options[i]) == 0)
			return true;
	return false;
}

/* Appends opt to c->fuse_opts, escaping commas and backslashes. */
static int add_fuse_opt(struct mmapfs_cmdline *c, const char *opt)
{
	size_t old = strlen(c->fuse_opts), extra = 1;
	char *grown, *p;

	for (const char *s = opt; *s; s++)
		extra += (*s == ',' || *s == '\\') ? 2 : 1;
	grown = realloc(c->fuse_opts, old + extra + 1);
	if (!grown)
		return -ENOMEM;
	c->fuse_opts = grown;
	p = grown + old;
	if (old)
		*p++ = ',';
	for (const char *s = opt; *s; s++) {
		if (*s == ',' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return 0;
}

static int set_value(char **slot, const char *value, const char *name,
		     char *err, size_t errlen)
{
	if (*value == '\0')
		return fail(err, errlen, "option %s needs a value", name);
	free(*slot);
	*slot = strdup(value);
	return *slot ? 0 : -ENOMEM;
}

/* Keeps opt ("KEY=VALUE", KEY a config key) as an override. Returns 1
 * when kept, 0 when opt is not a config key, -errno. */
static int add_override(struct mmapfs_cmdline *c, const char *opt, char *err,
			size_t errlen)
{
	size_t keylen = strcspn(opt, "=");
	struct mmapfs_config_override *grown;
	char name[64], *copy;

	if (keylen >= sizeof(name))
		return 0;
	memcpy(name, opt, keylen);
	name[keylen] = '\0';
	if (!mmapfs_config_is_key(name))
		return 0;
	if (opt[keylen] != '=' || opt[keylen + 1] == '\0')
		return fail(err, errlen, "option %s needs a value (%s=VALUE)",
			    name, name);
	grown = realloc(c->overrides, (c->noverrides + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->overrides = grown;
	copy = strdup(opt);
	if (!copy)
		return -ENOMEM;
	copy[keylen] = '\0';
	grown[c->noverrides++] = (struct mmapfs_config_override){
		.key = copy, .value = copy + keylen + 1,
	};
	return 1;
}

static int one_option(struct mmapfs_cmdline *c, const char *opt, char *err,
		      size_t errlen)
{
	int res;

	if (*opt == '\0')
		return 0;
	if (strncmp(opt, "config=", 7) == 0)
		return set_value(&c->config, opt + 7, "config=", err, errlen);
	if (strncmp(opt, "metrics_listen=", 15) == 0) {
		struct mmapfs_listen l;
		char why[128];

		if (opt[15] && mmapfs_listen_parse(opt + 15, &l, why,
						   sizeof(why)) < 0)
			return fail(err, errlen, "metrics_listen: %s", why);
		return set_value(&c->metrics_listen, opt + 15,
				 "metrics_listen=", err, errlen);
	}
	if (strncmp(opt, "log_level=", 10) == 0)
		return set_value(&c->log_level, opt + 10, "log_level=", err,
				 errlen);
	if (strncmp(opt, "transport=", 10) == 0)
		return set_value(&c->transport, opt + 10, "transport=", err,
				 errlen);
	if (is_dropped(opt))
		return 0;
	res = add_override(c, opt, err, errlen);
	if (res != 0)
		return res < 0 ? res : 0;
	if (strcmp(opt, "allow_other") == 0)
		c->allow_other = true;
	else if (strcmp(opt, "default_permissions") == 0)
		c->default_permissions = true;
	else if (strcmp(opt, "auto_unmount") == 0)
		c->auto_unmount = true;
	else if (strncmp(opt, "fsname=", 7) == 0)
		c->has_fsname = true;
	else if (strncmp(opt, "subtype=", 8) == 0)
		c->has_subtype = true;
	return add_fuse_opt(c, opt);
}

/* Splits an -o list on unescaped commas. */
static int option_list(struct mmapfs_cmdline *c, const char *list, char *err,
		       size_t errlen)
{
	char *opt = malloc(strlen(list) + 1), *p = opt;
	int res = 0;

	if (!opt)
		return -ENOMEM;
	for (const char *s = list;; s++) {
		if (*s == '\\' && s[1]) {
			*p++ = *++s;
			continue;
		}
		if (*s == ',' || *s == '\0') {
			*p = '\0';
			res = one_option(c, opt, err, errlen);
			p = opt;
			if (res < 0 || *s == '\0')
				break;
			continue;
		}
		*p++ = *s;
	}
	free(opt);
	return res;
}

static int parse(int argc, char **argv, struct mmapfs_cmdline *c, char *err,
		 size_t errlen)
{
	bool flags_done = false;
	int res;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (flags_done || a[0] != '-' || a[1] == '\0') {
			if (!c->backing)
				c->backing = a;
			else if (!c->mountpoint)
				c->mountpoint = a;
			else
				return fail(err, errlen,
					    "unexpected argument '%s'", a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			flags_done = true;
		} else if (strcmp(a, "-f") == 0) {
			c->foreground = true;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0) {
			c->debug = c->foreground = true;
		} else if (strcmp(a, "-s") == 0) {
			c->single_thread = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			c->help = true;
		} else if (strcmp(a, "-V") == 0 ||
			   strcmp(a, "--version") == 0) {
			c->version = true;
		} else if (strcmp(a, "--check-config") == 0) {
			if (i + 1 >= argc)
				return fail(err, errlen,
					    "--check-config needs a FILE");
			c->check_config = argv[++i];
		} else if (strncmp(a, "--check-config=", 15) == 0) {
			c->check_config = a + 15;
		} else if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc)
				return fail(err, errlen,
					    "-o needs a list of options");
			res = option_list(c, argv[++i], err, errlen);
			if (res < 0)
				return res;
		} else if (strncmp(a, "-o", 2) == 0) {
			res = option_list(c, a + 2, err, errlen);
			if (res < 0)
				return res;
		} else {
			return fail(err, errlen, "unknown option '%s'", a);
		}
	}
	if (c->allow_other && !c->default_permissions) {
		c->default_permissions = true;
		return add_fuse_opt(c, "default_permissions");
	}
	return 0;
}

int mmapfs_cmdline_parse(int argc, char **argv, struct mmapfs_cmdline *out,
			 char *err, size_t errlen)
{
	int res;

	memset(out, 0, sizeof(*out));
	out->fuse_opts = strdup("");
	if (!out->fuse_opts)
		return -ENOMEM;
	res = parse(argc, argv, out, err, errlen);
	if (res == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (res < 0)
		mmapfs_cmdline_free(out);
	return res;
}

void mmapfs_cmdline_free(struct mmapfs_cmdline *c)
{
	free(c->config);
	free(c->log_level);
	free(c->transport);
	free(c->metrics_listen);
	free(c->fuse_opts);
	c->config = c->log_level = c->metrics_listen = c->transport = NULL;
	c->fuse_opts = NULL;
	for (size_t i = 0; i < c->noverrides; i++)
		free((char *)c->overrides[i].key);   /* holds the value too */
	free(c->overrides);
	c->overrides = NULL;
	c->noverrides = 0;
}
