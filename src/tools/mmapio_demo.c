/*
 * mmapio_demo.c — a short tour of libmmapio: creates a file in a fresh
 * temporary directory, writes and reads it back through the mapping, takes
 * a zero-copy view, uses atomics, grows and shrinks the file, flushes it
 * durably, and removes everything it made. Prints each step; exits 0 when
 * every step did what it says, 1 otherwise.
 *
 * Uses only the public header (mmapio.h). Single-threaded.
 */
#include "mmapio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], path[4200];

	snprintf(dir, sizeof(dir), "%s/mmapio-demo-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/demo.bin", dir);
	run_demo(path);
	/* Stops the flusher service the ms= policy started. */
	mmapio_shutdown();
	unlink(path);
	rmdir(dir);
	printf("%s\n", failures ? "demo FAILED" : "demo done");
	return failures ? 1 : 0;
}
