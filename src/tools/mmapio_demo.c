/*
 * mmapio_demo.c — a short tour of libmmapio: creates a file in a fresh
 * temporary directory, writes and reads it back through the mapping, takes
 * a zero-copy view, uses atomics, grows and shrinks the file, flushes it
 * durably, and removes everything it made. Prints each step; exits 0 when
 * every step did what it says, 1 otherwise.
 *
 * `mmapio-demo --bench` instead times the copy fast path (random aligned
 * reads and writes of 64 B, 4 KiB and 64 KiB in a 64 MiB page-cached file,
 * next to pread/pwrite on the same file), taking and releasing a view, and
 * 4 KiB appends through mmapio_write_grow: the numbers quoted in
 * docs/libmmapio.md.
 *
 * Uses only the public header (mmapio.h). Single-threaded.
 */
#include "mmapio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

/* Prints one step and its result; counts failures. */
static void step(const char *what, int rc)
{
	printf("  %-58s %s\n", what, rc < 0 ? strerror(-rc) : "ok");
	if (rc < 0)
		failures++;
}

static int run_demo(const char *path)
{
	struct mmapio_options o;
	struct mmapio_policy pol;
	struct mmapio_file *f;
	struct mmapio_view v;
	struct mmapio_stats st;
	char buf[64] = { 0 };
	uint64_t counter = 0;
	char text[MMAPIO_POLICY_TEXT_MAX];
	int rc;

	printf("libmmapio %s demo in %s\n", mmapio_version(), path);

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = 4096;
	rc = mmapio_policy_parse("bytes=64KiB,ms=500", &pol, NULL, 0);
	step("parse policy bytes=64KiB,ms=500", rc);
	if (rc == 0)
		o.policy = pol;
	rc = mmapio_open(path, &o, &f);
	step("create a 4 KiB file (O_EXCL, preallocated) and map it", rc);
	if (rc < 0)
		return rc;
	mmapio_flush_policy(f, &pol);
	if (mmapio_policy_format(&pol, text, sizeof(text)) >= 0)
		printf("  policy of the file: %s\n", text);

	step("write \"hello, mapping\" at offset 100",
	     mmapio_write(f, 100, "hello, mapping", 14));
	rc = mmapio_read(f, 100, buf, 14);
	step("read it back", rc);
	printf("    -> \"%s\"\n", buf);
	if (rc == 0 && memcmp(buf, "hello, mapping", 14) != 0)
		step("read-back matches", -EIO);

	rc = mmapio_view(f, 100, 5, &v);
	step("zero-copy view of 5 bytes (pins the mapping)", rc);
	if (rc == 0) {
		printf("    -> \"%.*s\"\n", (int)v.len, (const char *)v.data);
		step("release the view", mmapio_view_release(&v));
	}

	step("atomic fetch_add 40 at offset 0",
	     mmapio_atomic_fetch_add_u64(f, 0, 40, NULL));
	step("atomic fetch_add 2 at offset 0",
	     mmapio_atomic_fetch_add_u64(f, 0, 2, NULL));
	rc = mmapio_atomic_load_u64(f, 0, &counter);
	step("atomic load at offset 0", rc);
	printf("    -> %llu\n", (unsigned long long)counter);
	step("misaligned atomic is refused (expect -EINVAL)",
	     mmapio_atomic_load_u64(f, 3, &counter) == -EINVAL ? 0 : -EPROTO);

	step("out-of-range read is refused (expect -ERANGE)",
	     mmapio_read(f, 4090, buf, 10) == -ERANGE ? 0 : -EPROTO);
	step("write_grow past EOF extends the file",
	     mmapio_write_grow(f, 1 << 20, "tail", 4));
	printf("    -> length %llu\n", (unsigned long long)mmapio_len(f));
	step("resize to 8 KiB (shrink: remap, then truncate)",
	     mmapio_resize(f, 8192));
	printf("    -> length %llu\n", (unsigned long long)mmapio_len(f));

	mmapio_stats(f, &st);
	printf("  accounted: %llu bytes in %llu writes, %llu pending bytes\n",
	       (unsigned long long)st.bytes_written,
	       (unsigned long long)st.writes,
	       (unsigned long long)st.pending_bytes);
	step("flush (msync MS_SYNC + fdatasync: durable)", mmapio_flush(f));
	printf("  pending after flush: %llu bytes\n",
	       (unsigned long long)mmapio_pending_bytes(f));
	step("close (applies the close rule of the policy)", mmapio_close(f));
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum bench_op { B_WRITE, B_READ, B_PWRITE, B_PREAD };

/* ns per operation of op with n-byte requests at random n-aligned offsets
 * of a size-byte file; -1 on an error. */
static double time_op(struct mmapio_file *f, int fd, enum bench_op op,
		      size_t n, uint64_t size, long iters, char *buf)
{
	unsigned seed = 1;
	double t0 = now_s();
	long i;

	for (i = 0; i < iters; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % (size / n) * n;
		int rc;

		switch (op) {
		case B_WRITE:
			rc = mmapio_write(f, off, buf, n);
			break;
		case B_READ:
			rc = mmapio_read(f, off, buf, n);
			break;
		case B_PWRITE:
			rc = pwrite(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
			break;
		default:
			rc = pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
			break;
		}
		if (rc)
			return -1;
	}
	return (now_s() - t0) / (double)iters * 1e9;
}

static int run_bench(const char *path, const char *path2)
{
	static char buf[64 << 10];
	const uint64_t size = 64 << 20;
	const size_t sizes[] = { 64, 4096, 64 << 10 };
	const long iters[] = { 2000000, 500000, 50000 };
	struct mmapio_file *f, *g;
	double t0;
	long i, appends = 20000;
	size_t k;
	int fd;

	memset(buf, 'b', sizeof(buf));
	if (mmapio_create_rw(path, size, &f) < 0 ||
	    mmapio_touch(f, 0, size) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	printf("size      mmapio_write  mmapio_read   pwrite        pread  (ns/op)\n");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		printf("%-8zu  %12.0f  %11.0f  %7.0f  %11.0f\n", sizes[k],
		       time_op(f, fd, B_WRITE, sizes[k], size, iters[k], buf),
		       time_op(f, fd, B_READ, sizes[k], size, iters[k], buf),
		       time_op(f, fd, B_PWRITE, sizes[k], size, iters[k], buf),
		       time_op(f, fd, B_PREAD, sizes[k], size, iters[k], buf));
	close(fd);
	t0 = now_s();
	for (i = 0; i < 2000000; i++) {
		struct mmapio_view v;

		if (mmapio_view(f, (uint64_t)(i % 1024) * 4096, 4096, &v) < 0)
			return -1;
		mmapio_view_release(&v);
	}
	printf("view + release (no copy): %.0f ns/op\n",
	       (now_s() - t0) / 2000000 * 1e9);
	mmapio_close(f);

	if (mmapio_create_rw(path2, 0, &g) < 0)
		return -1;
	t0 = now_s();
	for (i = 0; i < appends; i++)
		if (mmapio_write_grow(g, (uint64_t)i * 4096, buf, 4096) < 0)
			return -1;
	printf("append 4096 B with mmapio_write_grow: %.1f us/op\n",
	       (now_s() - t0) / (double)appends * 1e6);
	return mmapio_close(g);
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], path[4200], path2[4200];
	bool bench = argc > 1 && strcmp(argv[1], "--bench") == 0;

	snprintf(dir, sizeof(dir), "%s/mmapio-demo-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/demo.bin", dir);
	snprintf(path2, sizeof(path2), "%s/append.bin", dir);
	if (bench) {
		if (run_bench(path, path2) < 0)
			step("benchmark", -EIO);
		unlink(path2);
	} else {
		run_demo(path);
	}
	/* Stops the flusher service the ms= policy started. */
	mmapio_shutdown();
	unlink(path);
	rmdir(dir);
	printf("%s\n", failures ? "demo FAILED" : "demo done");
	return failures ? 1 : 0;
}
