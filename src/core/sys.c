/*
 * sys.c — the platform facts of libmmapio: the syscall and clock table
 * (see sys.h; the defaults are the real libc calls, tests swap entries to
 * inject faults and time), and the page sizes.
 *
 * The page size lives here and only here: read once (pthread_once) from
 * sysconf(_SC_PAGESIZE), and every file of src/core asks
 * mmapio_page_size(). The huge page size is read once too, at its first
 * use: the transparent huge page size
 * (/sys/kernel/mm/transparent_hugepage/hpage_pmd_size), else the default
 * hugetlbfs page size ("Hugepagesize:" in /proc/meminfo), else 0.
 */
#include "mmapio.h"
#include "sys.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t page_once = PTHREAD_ONCE_INIT;
static size_t page_size_value;

static void page_size_init(void)
{
	long v = sysconf(_SC_PAGESIZE);

	page_size_value = v > 0 ? (size_t)v : 4096;
}

size_t mmapio_page_size(void)
{
	pthread_once(&page_once, page_size_init);
	return page_size_value;
}

static pthread_once_t huge_once = PTHREAD_ONCE_INIT;
static size_t huge_page_size_value;

/* The first "%" SCNu64 of the first line of path starting with prefix
 * (the whole file when prefix is ""), or 0. */
static uint64_t read_number(const char *path, const char *prefix)
{
	char line[256];
	uint64_t v = 0;
	size_t plen = strlen(prefix);
	FILE *fp = fopen(path, "re");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, prefix, plen) == 0) {
			if (sscanf(line + plen, " %" SCNu64, &v) != 1)
				v = 0;
			break;
		}
	}
	fclose(fp);
	return v;
}

static void huge_page_size_init(void)
{
	uint64_t v = read_number(
		"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "");

	if (!v)
		v = read_number("/proc/meminfo", "Hugepagesize:") * 1024;
	huge_page_size_value = (size_t)v;
}

size_t mmapio_huge_page_size(void)
{
	pthread_once(&huge_once, huge_page_size_init);
	return huge_page_size_value;
}

int64_t mmapio__monotonic_ns(void)
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
	.now_ns = mmapio__monotonic_ns,
};

struct mmapio_sys_ops mmapio__sys = {
	.mmap = mmap,
	.msync = msync,
	.fdatasync = fdatasync,
	.fsync = fsync,
	.fallocate = fallocate,
	.ftruncate = ftruncate,
	.sync_file_range = real_sync_file_range,
	.mincore = mincore,
	.pwrite = pwrite,
	.now_ns = mmapio__monotonic_ns,
};

void mmapio__sys_reset(void)
{
	mmapio__sys = real_ops;
}
