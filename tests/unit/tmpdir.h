/*
 * tmpdir.h — a per-test temporary directory for the core unit tests
 * (cmocka setup/teardown): created under $TMPDIR (or /tmp) as
 * mmapio-TAG-XXXXXX, removed with everything in it. One directory at a
 * time per process; not thread-safe (tests create and remove it from the
 * main thread).
 */
#ifndef TMPDIR_H
#define TMPDIR_H

/* Creates the directory. Returns 0, or -1 (cmocka fails the test). */
int tmpdir_create(const char *tag);
/* Removes it and all it holds. Returns 0 or -1. */
int tmpdir_remove(void);
/* The directory's path. */
const char *tmpdir_root(void);
/* root/name, in a static buffer valid until the next call. */
const char *tmpdir_path(const char *name);

#endif /* TMPDIR_H */
