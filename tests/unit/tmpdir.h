/*
 * tmpdir.h — a per-test temporary directory for the core unit tests
 * (cmocka setup/teardown): created under $TMPDIR (or /tmp) as
 * mmapio-TAG-XXXXXX, removed with everything in it. One directory at a
 * time per process: tests create and remove it from the main thread while
 * no other thread runs; tmpdir_root() and tmpdir_path() may be called from
 * any thread in between.
 */
#ifndef TMPDIR_H
#define TMPDIR_H

/* Creates the directory. Returns 0, or -1 (cmocka fails the test). */
int tmpdir_create(const char *tag);
/* Removes it and all it holds. Returns 0 or -1. */
int tmpdir_remove(void);
/* The directory's path. */
const char *tmpdir_root(void);
/* Results of tmpdir_path() stay valid for this many further calls in the
 * same thread. */
#define TMPDIR_PATH_SLOTS 8
/* root/name, in a buffer of the calling thread's own, valid until that
 * thread has made TMPDIR_PATH_SLOTS more calls (copy a path that must live
 * longer, or that another thread will read). */
const char *tmpdir_path(const char *name);

#endif /* TMPDIR_H */
