/*
 * bench_accounting.c — cost of the write accumulator per small write
 * (target: < 100 ns on the project machine).
 *
 * Measures, on a 64 MiB file in DIR (default: the current directory):
 *   account/...  mmapio__state_account() alone (the hook every write path
 *               calls after its bytes landed) for a dirty-page rewrite, a
 *               fresh page each time, and under bytes/ms policies that do
 *               not fire during the run;
 *   write/...    a 64-byte mmapio_write() vs. a 64-byte memcpy into the
 *               same mapping: the difference is what libmmapio adds;
 *   2 threads   two writers accounting on one file (lock contention).
 * Prints ns per call. Not run by the test suite.
 *
 * Usage: bench_accounting [DIR]
 */
#include "state.h"
#include "sys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (64ull << 20)
#define PS 4096ull

static char path[4096];

static struct mmapio_file *open_policy(const char *policy)
{
	struct mmapio_options o;
	struct mmapio_file *f;
	int rc;

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_OPEN_OR_CREATE;
	o.size = FILE_SIZE;
	if (mmapio_policy_parse(policy, &o.policy, NULL, 0)) {
		fprintf(stderr, "bad policy %s\n", policy);
		exit(1);
	}
	rc = mmapio_open(path, &o, &f);
	if (rc) {
		fprintf(stderr, "open %s: %s\n", path, strerror(-rc));
		exit(1);
	}
	return f;
}

static double now_s(void)
{
	return (double)mmapio__monotonic_ns() / 1e9;
}

static void report(const char *what, double secs, uint64_t n)
{
	printf("%-44s %8.1f ns/write\n", what, secs / (double)n * 1e9);
}

/* n accounts of one page each, walking pages with stride (0: same page). */
static void bench_account(const char *label, const char *policy,
			  uint64_t n, uint64_t stride)
{
	struct mmapio_file *f = open_policy(policy);
	double t0;
	int rc;

	t0 = now_s();
	for (uint64_t i = 0; i < n; i++)
		if ((rc = mmapio__state_account(f, (i * stride) % FILE_SIZE, 64))) {
			fprintf(stderr, "account: %d\n", rc);
			exit(1);
		}
	report(label, now_s() - t0, n);
	if (mmapio_flush(f) || mmapio_close(f))
		fprintf(stderr, "flush/close failed\n");
}

static void bench_write_vs_memcpy(uint64_t n)
{
	struct mmapio_file *f = open_policy("never");
	char buf[64];
	uint8_t *base = mmapio_mut_ptr(f);
	double t0, t_copy, t_write;

	memset(buf, 'x', sizeof(buf));
	/* fault the pages in first */
	for (uint64_t off = 0; off < 1 << 20; off += PS)
		base[off] = 1;
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		memcpy(base + (i * 64) % (1 << 20), buf, sizeof(buf));
		__asm__ __volatile__("" ::: "memory");
	}
	t_copy = now_s() - t0;
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++)
		if (mmapio_write(f, (i * 64) % (1 << 20), buf, sizeof(buf)))
			exit(1);
	t_write = now_s() - t0;
	report("write/memcpy 64 B into the mapping", t_copy, n);
	report("write/mmapio_write 64 B (never)", t_write, n);
	report("write/added by libmmapio", t_write - t_copy, n);
	if (mmapio_flush(f) || mmapio_close(f))
		fprintf(stderr, "flush/close failed\n");
}

struct thr {
	struct mmapio_file *f;
	uint64_t n, base;
};

static void *account_thread(void *p)
{
	struct thr *t = p;

	for (uint64_t i = 0; i < t->n; i++)
		if (mmapio__state_account(t->f, t->base + (i % 64) * PS, 64))
			exit(1);
	return NULL;
}

static void bench_two_threads(uint64_t n)
{
	struct mmapio_file *f = open_policy("never");
	struct thr t[2] = { { f, n, 0 }, { f, n, 32ull << 20 } };
	pthread_t th[2];
	double t0 = now_s();

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, account_thread, &t[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	report("account/2 threads, one file (per write, wall)", now_s() - t0, 2 * n);
	if (mmapio_flush(f) || mmapio_close(f))
		fprintf(stderr, "flush/close failed\n");
}

int main(int argc, char **argv)
{
	const uint64_t n = 10000000;

	snprintf(path, sizeof(path), "%s/bench_accounting.%d.tmp",
		 argc > 1 ? argv[1] : ".", (int)getpid());
	printf("libmmapio accounting cost, %llu calls each, file %s\n",
	       (unsigned long long)n, path);
	bench_account("account/rewrite of a dirty page (never)", "never", n, 0);
	bench_account("account/fresh page each time (never)", "never", n, PS);
	bench_account("account/rewrite, bytes=1GiB", "bytes=1GiB", n, 0);
	bench_account("account/rewrite, ms=60000 (armed)", "ms=60000", n, 0);
	bench_account("account/fresh page, bytes=1GiB,writes=1e9,ms=60000",
		      "bytes=1GiB,writes=1000000000,ms=60000", n, PS);
	bench_write_vs_memcpy(n);
	bench_two_threads(n / 2);
	mmapio_shutdown();
	unlink(path);
	return 0;
}
