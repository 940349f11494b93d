/*
 * bench_policy_cost.c — what a durability policy costs against the
 * physical limit of the file system.
 *
 * In DIR (default: the current directory), each measured ROUNDS times
 * (median reported), 4 MiB written in 64 KiB steps over a preallocated
 * file:
 *   mmapio bytes=64KiB   mmapio_write() under bytes=64KiB (every step
 *                        reaches the threshold and flushes: fdatasync)
 *   mmapio always        mmapio_write() under always (msync MS_SYNC of
 *                        each 64 KiB range)
 *   mmapio never         no sync at all (reference)
 *   pwrite+fdatasync     the physical limit: pwrite(64 KiB) + fdatasync
 *   raw mmap + msync     memcpy into a plain shared mapping + msync
 *                        MS_SYNC of the 64 KiB (the limit of any mmap
 *                        design: write faults, page_mkwrite, journal)
 *   raw mmap + fdatasync the same with fdatasync
 * and prints the ratios of mmapio to pwrite and to raw mmap. Then the full-flush primitives after
 * dirtying 64 KiB through a plain shared mapping of a 64 MiB file:
 * msync(MS_SYNC) of the whole mapping, fdatasync, and both — the
 * measurement behind flush.c's choice of fdatasync alone.
 *
 * Usage: bench_policy_cost [DIR [ROUNDS]]
 */
#include "state.h"
#include "sys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TOTAL (4u << 20)
#define STEP (64u << 10)

static const char *dir = ".";
static char buf[STEP];

static double now_s(void)
{
	return (double)mmapio__monotonic_ns() / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void make_path(char *p, size_t len, const char *what)
{
	snprintf(p, len, "%s/bench_policy_cost.%s.%d.tmp", dir, what, (int)getpid());
}

/* 4 MiB in 64 KiB steps through mmapio under policy; seconds. */
static double run_mmapio(const char *policy)
{
	struct mmapio_options o;
	struct mmapio_file *f;
	char path[4096];
	double t0, t;

	make_path(path, sizeof(path), "mmapio");
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_OPEN_OR_CREATE;
	o.size = TOTAL;
	if (mmapio_policy_parse(policy, &o.policy, NULL, 0) ||
	    mmapio_open(path, &o, &f)) {
		fprintf(stderr, "open %s under %s failed\n", path, policy);
		exit(1);
	}
	if (mmapio_flush(f))
		exit(1);
	t0 = now_s();
	for (uint32_t off = 0; off < TOTAL; off += STEP)
		if (mmapio_write(f, off, buf, STEP)) {
			fprintf(stderr, "write failed\n");
			exit(1);
		}
	t = now_s() - t0;
	if (mmapio_close(f))
		exit(1);
	return t;
}

/* The same with pwrite + fdatasync every 64 KiB. */
static double run_pwrite(void)
{
	char path[4096];
	double t0, t;
	int fd;

	make_path(path, sizeof(path), "pwrite");
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || fallocate(fd, 0, 0, TOTAL) || fdatasync(fd))
		exit(1);
	t0 = now_s();
	for (uint32_t off = 0; off < TOTAL; off += STEP)
		if (pwrite(fd, buf, STEP, off) != STEP || fdatasync(fd))
			exit(1);
	t = now_s() - t0;
	close(fd);
	return t;
}

enum sync_kind { SYNC_MSYNC, SYNC_FDATASYNC, SYNC_BOTH };

/* The same through a plain shared mapping, synced as told per step. */
static double run_raw_mmap(enum sync_kind k)
{
	char path[4096];
	uint8_t *p;
	double t0, t;
	int fd;

	make_path(path, sizeof(path), "raw");
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || fallocate(fd, 0, 0, TOTAL) || fdatasync(fd))
		exit(1);
	p = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		exit(1);
	t0 = now_s();
	for (uint32_t off = 0; off < TOTAL; off += STEP) {
		memcpy(p + off, buf, STEP);
		if ((k == SYNC_MSYNC && msync(p + off, STEP, MS_SYNC)) ||
		    (k == SYNC_FDATASYNC && fdatasync(fd)))
			exit(1);
	}
	t = now_s() - t0;
	munmap(p, TOTAL);
	close(fd);
	return t;
}

/* Dirty 64 KiB of a 64 MiB shared mapping, then sync it as told; mean
 * seconds per cycle over n cycles. */
static double run_sync_kind(enum sync_kind k, int n)
{
	const size_t len = 64u << 20;
	char path[4096];
	uint8_t *p;
	double t0;
	int fd;

	make_path(path, sizeof(path), "sync");
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || fallocate(fd, 0, 0, (off_t)len))
		exit(1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		exit(1);
	memset(p, 1, len);
	fdatasync(fd);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		memset(p + (size_t)(i % 1000) * STEP, i, STEP);
		if ((k != SYNC_FDATASYNC && msync(p, len, MS_SYNC)) ||
		    (k != SYNC_MSYNC && fdatasync(fd)))
			exit(1);
	}
	t0 = (now_s() - t0) / n;
	munmap(p, len);
	close(fd);
	unlink(path);
	return t0;
}

int main(int argc, char **argv)
{
	int rounds = 9;
	double mm[64], al[64], nv[64], pw[64], rm[64], rf[64];
	double m_mm, m_al, m_nv, m_pw, m_rm, m_rf;
	char path[4096];

	if (argc > 1)
		dir = argv[1];
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (rounds < 1 || rounds > 64)
		rounds = 9;
	memset(buf, 'p', sizeof(buf));

	for (int r = 0; r < rounds; r++) {
		mm[r] = run_mmapio("bytes=64KiB");
		al[r] = run_mmapio("always");
		nv[r] = run_mmapio("never");
		pw[r] = run_pwrite();
		rm[r] = run_raw_mmap(SYNC_MSYNC);
		rf[r] = run_raw_mmap(SYNC_FDATASYNC);
	}
	m_mm = median(mm, rounds);
	m_al = median(al, rounds);
	m_nv = median(nv, rounds);
	m_pw = median(pw, rounds);
	m_rm = median(rm, rounds);
	m_rf = median(rf, rounds);
	printf("4 MiB in 64 KiB steps, %s, median of %d rounds:\n", dir, rounds);
	printf("  %-22s %8.2f ms  (%6.1f us per 64 KiB)\n", "mmapio bytes=64KiB",
	       m_mm * 1e3, m_mm * 1e6 / (TOTAL / STEP));
	printf("  %-22s %8.2f ms  (%6.1f us per 64 KiB)\n", "mmapio always",
	       m_al * 1e3, m_al * 1e6 / (TOTAL / STEP));
	printf("  %-22s %8.2f ms\n", "mmapio never", m_nv * 1e3);
	printf("  %-22s %8.2f ms  (%6.1f us per 64 KiB)\n", "pwrite+fdatasync",
	       m_pw * 1e3, m_pw * 1e6 / (TOTAL / STEP));
	printf("  %-22s %8.2f ms  (%6.1f us per 64 KiB)\n", "raw mmap + msync",
	       m_rm * 1e3, m_rm * 1e6 / (TOTAL / STEP));
	printf("  %-22s %8.2f ms  (%6.1f us per 64 KiB)\n", "raw mmap + fdatasync",
	       m_rf * 1e3, m_rf * 1e6 / (TOTAL / STEP));
	printf("  ratio bytes=64KiB / pwrite+fdatasync: %.2f\n", m_mm / m_pw);
	printf("  ratio always      / pwrite+fdatasync: %.2f\n", m_al / m_pw);
	printf("  ratio bytes=64KiB / raw mmap+fdatasync: %.2f\n", m_mm / m_rf);
	printf("  ratio always      / raw mmap+msync:     %.2f\n", m_al / m_rm);

	/* interleaved, so a burst of load hits all three alike */
	for (int r = 0; r < rounds; r++) {
		mm[r] = run_sync_kind(SYNC_MSYNC, 20);
		al[r] = run_sync_kind(SYNC_FDATASYNC, 20);
		nv[r] = run_sync_kind(SYNC_BOTH, 20);
	}
	printf("full-flush primitive after 64 KiB dirtied in a 64 MiB mapping "
	       "(median of %d x 20):\n", rounds);
	printf("  %-28s %7.1f us\n", "msync(MS_SYNC) whole mapping",
	       median(mm, rounds) * 1e6);
	printf("  %-28s %7.1f us\n", "fdatasync", median(al, rounds) * 1e6);
	printf("  %-28s %7.1f us\n", "msync + fdatasync", median(nv, rounds) * 1e6);

	make_path(path, sizeof(path), "mmapio");
	unlink(path);
	make_path(path, sizeof(path), "pwrite");
	unlink(path);
	make_path(path, sizeof(path), "raw");
	unlink(path);
	mmapio_shutdown();
	return 0;
}
