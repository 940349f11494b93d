/*
 * sys.c — the syscall and clock table (see sys.h). The defaults are the
 * real libc calls; tests swap entries to inject faults and time.
 */
#include "sys.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int64_t mmapio_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int real_sync_file_range(int fd, off64_t off, off64_t n, unsigned flags)
{
	return sync_file_range(fd, off, n, flags);
}

static const struct mmapio_sys_ops real_ops = {
	.mmap = mmap,
	.msync = msync,
	.fdatasync = fdatasync,
	.fsync = fsync,
	.fallocate = fallocate,
	.ftruncate = ftruncate,
	.sync_file_range = real_sync_file_range,
	.mincore = mincore,
	.pwrite = pwrite,
	.now_ns = mmapio_monotonic_ns,
};

struct mmapio_sys_ops mmapio_sys = {
	.mmap = mmap,
	.msync = msync,
	.fdatasync = fdatasync,
	.fsync = fsync,
	.fallocate = fallocate,
	.ftruncate = ftruncate,
	.sync_file_range = real_sync_file_range,
	.mincore = mincore,
	.pwrite = pwrite,
	.now_ns = mmapio_monotonic_ns,
};

void mmapio_sys_reset(void)
{
	mmapio_sys = real_ops;
}
