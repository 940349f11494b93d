/*
 * cmdline.h — the mmapfs command line (docs/architecture.md), parsed without
 * side effects so it can be unit-tested:
 *   mmapfs BACKING_DIR MOUNTPOINT [-f] [-d] [-s] [-o opt,...]
 *   mmapfs --help | --version | --check-config FILE
 */
#ifndef MMAPFS_CMDLINE_H
#define MMAPFS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct mmapfs_cmdline {
	const char *backing;        /* first positional argument (argv) */
	const char *mountpoint;     /* second positional argument (argv) */
	const char *check_config;   /* --check-config FILE (argv) */
	bool foreground;            /* -f (and -d) */
	bool debug;                 /* -d */
	bool single_thread;         /* -s */
	bool help;                  /* -h, --help */
	bool version;               /* -V, --version */
	bool allow_other;           /* -o allow_other */
	bool default_permissions;   /* asked, or implied by allow_other */
	bool auto_unmount;          /* -o auto_unmount (also passed on) */
	bool has_fsname;            /* -o fsname= given */
	bool has_subtype;           /* -o subtype= given */
	char *config;               /* -o config=FILE (malloc'd) or NULL */
	char *log_level;            /* -o log_level=LEVEL (malloc'd) or NULL */
	char *metrics_listen;       /* -o metrics_listen=ADDR:PORT (malloc'd)
				     * or NULL; checked by listen_addr.h */
	char *transport;            /* -o transport=KIND (malloc'd) or NULL */
	char *fuse_opts;            /* options for libfuse, comma-separated,
				     * commas inside values escaped (malloc'd;
				     * "" when none) */
	struct mmapfs_config_override *overrides;  /* -o KEY=VALUE for config
						    * keys, in order (each
						    * key and value one
						    * malloc'd text) */
	size_t noverrides;
};

/* Parses argv. Options may come before or after the paths. -o takes a
 * comma-separated list ("\," is a literal comma) and may repeat; mount(8)'s
 * generic options are dropped (rw, ro and the kernel flags libfuse
 * understands are passed on), config=, log_level=, metrics_listen= and transport= are
 * mmapfs's own, KEY=VALUE for any other config key is an override of the
 * config's [global] (checked when the config is loaded,
 * mmapfs_config_load_with()),
 * and everything else goes to libfuse, which rejects what it does not
 * know. allow_other adds default_permissions. Returns 0, or -EINVAL with
 * a one-line message in err, or -ENOMEM. On failure out holds nothing to
 * free. */
int mmapfs_cmdline_parse(int argc, char **argv, struct mmapfs_cmdline *out,
			 char *err, size_t errlen);

void mmapfs_cmdline_free(struct mmapfs_cmdline *c);

#endif /* MMAPFS_CMDLINE_H */
