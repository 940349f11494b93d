/*
 * sys.h — the syscall and clock table of libmmapio (private).
 *
 * Every durability-relevant syscall of the core, and the mmap of a file's
 * pages, goes through mmapio__sys so unit tests can inject faults (a failing
 * msync/fdatasync, ENOSPC from fallocate, ENODEV from mmap as on a file
 * system without shared mappings, pages that are not in the page cache)
 * and a deterministic clock. Production
 * code never changes it. Tests change fields before use and call
 * mmapio__sys_reset() after; the table is not synchronised, so change it
 * only while no other thread uses the library.
 */
#ifndef MMAPIO_SYS_H
#define MMAPIO_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mmapio_sys_ops {
	/* Mappings of file pages only (not the anonymous reserve). */
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off);
	int (*msync)(void *addr, size_t len, int flags);
	int (*fdatasync)(int fd);
	int (*fsync)(int fd);
	int (*fallocate)(int fd, int mode, off_t off, off_t len);
	int (*ftruncate)(int fd, off_t len);
	int (*sync_file_range)(int fd, off64_t off, off64_t n, unsigned flags);
	/* The write-without-read path of access.c (and the unmapped files'
	 * pwrite): page-cache residency and the write itself. */
	int (*mincore)(void *addr, size_t len, unsigned char *vec);
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	/* CLOCK_MONOTONIC in nanoseconds. */
	int64_t (*now_ns)(void);
};

extern struct mmapio_sys_ops mmapio__sys;

/* Restores the real syscalls and clock. */
void mmapio__sys_reset(void);

/* The real monotonic clock (what now_ns points to by default). */
int64_t mmapio__monotonic_ns(void);

#endif /* MMAPIO_SYS_H */
