/*
 * tmpdir.c — the temporary directory of the core unit tests (tmpdir.h).
 */
#include "tmpdir.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char dir[PATH_MAX];

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int tmpdir_create(const char *tag)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/mmapio-%s-XXXXXX", t ? t : "/tmp", tag);
	return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_remove(void)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tmpdir_root(void)
{
	return dir;
}

/* A per-thread ring of TMPDIR_PATH_SLOTS buffers: threads never share one
 * (a shared static buffer let 8 racing threads read each other's
 * half-written paths: test_open_or_create_race, issue 15), and one
 * expression may hold several results (rename(tmpdir_path("a"),
 * tmpdir_path("b"))). */
const char *tmpdir_path(const char *name)
{
	static _Thread_local char ring[TMPDIR_PATH_SLOTS][PATH_MAX + 64];
	static _Thread_local unsigned next;
	char *p = ring[next++ % TMPDIR_PATH_SLOTS];

	snprintf(p, sizeof(ring[0]), "%s/%s", dir, name);
	return p;
}
