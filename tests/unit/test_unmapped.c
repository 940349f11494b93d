/*
 * test_unmapped.c — unit tests of files opened without a mapping
 * (options.unmapped_fallback): the kernel's refusal is injected through
 * mmapio__sys.mmap (ENODEV for every shared mapping of a file, as a FUSE
 * file system serving direct_io files answers), then reads, writes and
 * growth through pread/pwrite, every flush policy (bytes, writes, ms,
 * always, never) flushing at the same moment as for a mapped file, the
 * counters, the sticky error, the close rule, resize/truncate/refresh, and
 * -ENODEV from everything that needs the mapping; ENOMEM (no address
 * space) handled like ENODEV, and options.no_mapping.
 *
 * The clock is injected and the flusher is in manual mode (dur_util.c);
 * fdatasync/msync are counted (and really run unless a fault is injected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dur_util.h"

#define PS 4096u
#define MS 1000000

static atomic_int refused_mmaps;

/* The kernel of a file system without shared mmap: MAP_SHARED of a file
 * is ENODEV; private and anonymous mappings work. */
static void *refuse_shared(void *addr, size_t len, int prot, int flags,
			   int fd, off_t off)
{
	if ((flags & MAP_SHARED) && !(flags & MAP_ANONYMOUS)) {
		atomic_fetch_add(&refused_mmaps, 1);
		errno = ENODEV;
		return MAP_FAILED;
	}
	return mmap(addr, len, prot, flags, fd, off);
}

static int setup(void **state)
{
	int rc = dur_setup(state);

	atomic_store(&refused_mmaps, 0);
	mmapio__sys.mmap = refuse_shared;
	return rc;
}

/* Opens dir/name (created with size bytes when create) RW without a
 * mapping, under policy text. Returns the open's result. */
static int open_unmapped(const char *name, bool create, uint64_t size,
			 const char *policy, bool fallback,
			 struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.unmapped_fallback = fallback;
	if (create) {
		unlink(dur_path(name));
		o.how = MMAPIO_CREATE;
		o.size = size;
	}
	assert_int_equal(mmapio_policy_parse(policy, &o.policy, NULL, 0), 0);
	return mmapio_open(dur_path(name), &o, out);
}

static struct mmapio_file *create_unmapped(const char *name, uint64_t size,
					   const char *policy)
{
	struct mmapio_file *f = NULL;

	assert_int_equal(open_unmapped(name, true, size, policy, true, &f), 0);
	assert_non_null(f);
	assert_false(mmapio_is_mapped(f));
	return f;
}

/* The file's bytes as another reader sees them (not through f). */
static void assert_file_bytes(const char *name, uint64_t off, size_t len,
			      int c)
{
	char *buf = malloc(len);
	int fd = open(dur_path(name), O_RDONLY | O_CLOEXEC);

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal((unsigned char)buf[i], c);
	close(fd);
	free(buf);
}

static uint64_t file_size(const char *name)
{
	struct stat st;

	assert_int_equal(stat(dur_path(name), &st), 0);
	return (uint64_t)st.st_size;
}

static void test_open_needs_the_option(void **state)
{
	struct mmapio_file *f = NULL;
	struct mmapio_options o;
	int fd;

	(void)state;
	/* without the option: -ENODEV, nothing left behind */
	assert_int_equal(open_unmapped("opt", true, 4 * PS, "never", false, &f),
			 -ENODEV);
	assert_null(f);
	/* an empty file is probed at open, not refused at its first growth */
	assert_int_equal(open_unmapped("empty", true, 0, "never", false, &f),
			 -ENODEV);
	assert_int_equal(open_unmapped("empty", true, 0, "never", true, &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_len(f), 0);
	assert_int_equal(mmapio_close(f), 0);
	/* with it: an object without a mapping, length from the file */
	f = create_unmapped("opt", 3 * PS + 5, "never");
	assert_int_equal(mmapio_len(f), 3 * PS + 5);
	assert_true(mmapio_fd(f) >= 0);
	assert_int_equal(mmapio_mode(f), MMAPIO_RW);
	assert_true(atomic_load(&refused_mmaps) > 0);
	assert_int_equal(mmapio_close(f), 0);
	/* a reserve is given back, the result is the same */
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.reserve = 64 * PS;
	o.unmapped_fallback = true;
	assert_int_equal(mmapio_open(dur_path("opt"), &o, &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_close(f), 0);
	/* from_fd too; COW cannot stand in with pwrite: still -ENODEV */
	fd = open(dur_path("opt"), O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	mmapio_options_init(&o);
	o.mode = MMAPIO_RO;
	o.unmapped_fallback = true;
	assert_int_equal(mmapio_from_fd_opts(fd, &o, "opt", &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_unmap(f, &fd), 0);
	/* a mapped file (private mappings work here) says so */
	assert_int_equal(mmapio_open_cow(dur_path("opt"), true, &f), 0);
	assert_true(mmapio_is_mapped(f));
	assert_int_equal(mmapio_close(f), 0);
	o.mode = MMAPIO_COW;
	o.cow_writable = true;
	assert_int_equal(mmapio_from_fd_opts(fd, &o, "opt", &f), 0);
	assert_true(mmapio_is_mapped(f));
	assert_int_equal(mmapio_unmap(f, &fd), 0);
	close(fd);
}

static void test_read_write_round_trip(void **state)
{
	struct mmapio_file *f = create_unmapped("rw", 4 * PS, "never");
	char buf[3 * PS], back[3 * PS];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 1);
	assert_int_equal(mmapio_write(f, PS / 2, buf, sizeof(buf)), 0);
	assert_int_equal(mmapio_read(f, PS / 2, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	/* it is in the file, for any reader */
	{
		int fd = open(dur_path("rw"), O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		memset(back, 0, sizeof(back));
		assert_int_equal(pread(fd, back, sizeof(back), PS / 2),
				 (ssize_t)sizeof(back));
		assert_memory_equal(buf, back, sizeof(back));
		close(fd);
	}
	/* the same bounds as a mapping */
	assert_int_equal(mmapio_read(f, 4 * PS - 1, back, 2), -ERANGE);
	assert_int_equal(mmapio_write(f, 4 * PS, buf, 1), -ERANGE);
	assert_int_equal(mmapio_write(f, UINT64_MAX, buf, 2), -ERANGE);
	assert_int_equal(mmapio_read(f, 4 * PS, back, 0), 0);
	assert_int_equal(mmapio_write(f, 4 * PS, buf, 0), 0);
	/* cut from outside: a read of the lost bytes is -EIO, as a fault */
	assert_int_equal(truncate(dur_path("rw"), PS), 0);
	assert_int_equal(mmapio_read(f, 2 * PS, back, 10), -EIO);
	assert_int_equal(mmapio_refresh(f), PS);
	assert_int_equal(mmapio_read(f, 2 * PS, back, 10), -ERANGE);
	assert_int_equal(mmapio_close(f), 0);
	/* read-only: reads work, writes are -EBADF */
	{
		struct mmapio_file *ro;
		struct mmapio_options o;

		mmapio_options_init(&o);
		o.unmapped_fallback = true;
		assert_int_equal(mmapio_open(dur_path("rw"), &o, &ro), 0);
		assert_false(mmapio_is_mapped(ro));
		assert_int_equal(mmapio_read(ro, PS / 2, back, 100), 0);
		assert_memory_equal(back, buf, 100);
		assert_int_equal(mmapio_write(ro, 0, buf, 1), -EBADF);
		assert_int_equal(mmapio_write_grow(ro, PS, buf, 1), -EBADF);
		assert_int_equal(mmapio_close(ro), 0);
	}
}

static void test_write_grow(void **state)
{
	struct mmapio_file *f = create_unmapped("grow", 0, "never");
	char buf[100];

	(void)state;
	memset(buf, 'g', sizeof(buf));
	/* a zero-length write never grows */
	assert_int_equal(mmapio_write_grow(f, 10 * PS, buf, 0), 0);
	assert_int_equal(mmapio_len(f), 0);
	/* an append, then one past a gap */
	assert_int_equal(mmapio_write_grow(f, 0, buf, sizeof(buf)), 0);
	assert_int_equal(mmapio_len(f), sizeof(buf));
	assert_int_equal(mmapio_write_grow(f, 3 * PS, buf, sizeof(buf)), 0);
	assert_int_equal(mmapio_len(f), 3 * PS + sizeof(buf));
	assert_int_equal(file_size("grow"), 3 * PS + sizeof(buf));
	assert_file_bytes("grow", 0, sizeof(buf), 'g');
	assert_file_bytes("grow", sizeof(buf), PS, 0);
	assert_file_bytes("grow", 3 * PS, sizeof(buf), 'g');
	/* counted like any write: pages 0 and 3 */
	assert_int_equal(mmapio_pending_bytes(f), 2 * PS);
	assert_int_equal(mmapio_pending_writes(f), 2);
	assert_int_equal(mmapio_write_grow(f, INT64_MAX, buf, 2), -EFBIG);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_bytes_policy(void **state)
{
	struct mmapio_file *f = create_unmapped("bytes", 16 * PS,
						"bytes=12KiB");

	(void)state;
	assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
	assert_int_equal(mmapio_pending_bytes(f), 2 * PS);
	assert_int_equal(dur_syncs(), 0);
	/* rewriting dirty pages adds nothing */
	assert_int_equal(dur_write(f, 10, PS, 'b'), 0);
	assert_int_equal(mmapio_pending_bytes(f), 2 * PS);
	assert_int_equal(mmapio_pending_writes(f), 2);
	assert_int_equal(dur_syncs(), 0);
	/* the third page reaches N: durable (fdatasync) before return */
	assert_int_equal(dur_write(f, 5 * PS + 1, 1, 'c'), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(atomic_load(&dur.msync), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	/* growth counts the same way */
	assert_int_equal(dur_write(f, 0, 1, 'd'), 0);
	{
		char buf[2 * PS];

		memset(buf, 'e', sizeof(buf));
		assert_int_equal(mmapio_write_grow(f, 16 * PS, buf,
						   sizeof(buf)), 0);
	}
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_writes_policy(void **state)
{
	struct mmapio_file *f = create_unmapped("writes", 4 * PS, "writes=3");

	(void)state;
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(dur_write(f, 1, 1, 'a'), 0);
	assert_int_equal(mmapio_pending_writes(f), 2);
	assert_int_equal(mmapio_pending_bytes(f), PS);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(dur_write(f, 2, 1, 'a'), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_ms_policy(void **state)
{
	struct mmapio_file *f = create_unmapped("ms", 4 * PS, "ms=100");
	int64_t t0 = atomic_load(&dur.now);

	(void)state;
	assert_int_equal(dur_write(f, 0, 10, 'a'), 0);
	assert_int_equal(mmapio__flusher_armed(), 1);
	atomic_store(&dur.now, t0 + 50 * MS);
	assert_int_equal(dur_write(f, PS, 10, 'a'), 0);
	/* the deadline runs from the first pending write */
	assert_int_equal(mmapio__flusher_run_due(t0 + 100 * MS - 1), 0);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio__flusher_run_due(t0 + 100 * MS), 1);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(mmapio__flusher_armed(), 0);
	/* the next write arms a deadline of its own */
	atomic_store(&dur.now, t0 + 200 * MS);
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	atomic_store(&dur.now, t0 + 400 * MS);
	assert_int_equal(mmapio__flusher_run_due(t0 + 400 * MS), 1);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_always_policy(void **state)
{
	struct mmapio_file *f = create_unmapped("always", 4 * PS, "always");
	char buf[10];

	(void)state;
	assert_int_equal(dur_write(f, PS + 5, 2 * PS, 'a'), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(atomic_load(&dur.msync), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(mmapio_write_grow(f, 8 * PS, buf, sizeof(buf)), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_file_bytes("always", 8 * PS, sizeof(buf), 'z');
	assert_int_equal(mmapio_close(f), 0);
	/* nothing pending: the close syncs nothing more */
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
}

static void test_never_flush_and_range(void **state)
{
	struct mmapio_file *f = create_unmapped("never", 8 * PS, "never");
	struct mmapio_stats st;

	(void)state;
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(dur_write(f, i * PS, 10, 'n'), 0);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio_pending_bytes(f), 4 * PS);
	/* a ranged flush debits exactly its pages, and is durable */
	assert_int_equal(mmapio_flush_range(f, PS, 2 * PS), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(atomic_load(&dur.msync), 0);
	assert_int_equal(mmapio_pending_bytes(f), 2 * PS);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	/* a flush always syncs */
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 3);
	mmapio_stats(f, &st);
	assert_int_equal(st.bytes_written, 40);
	assert_int_equal(st.writes, 4);
	assert_int_equal(st.flushes, 3);
	assert_int_equal(st.flush_errors, 0);
	assert_int_equal(mmapio_flush_range(f, 0, 9 * PS), -ERANGE);
	/* never: the close syncs nothing */
	assert_int_equal(dur_write(f, 0, 1, 'n'), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 3);
}

static void test_close_rule_and_unmap(void **state)
{
	struct mmapio_file *f = create_unmapped("close", 8 * PS, "bytes=1MiB");
	struct mmapio_stats st;
	int fd = -1;

	(void)state;
	assert_int_equal(dur_write(f, 0, 3 * PS, 'c'), 0);
	assert_int_equal(dur_syncs(), 0);
	/* the last close flushes what is pending */
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	/* unmap: flushes as close would, hands the fd back */
	f = create_unmapped("close", 8 * PS, "writes=100");
	assert_int_equal(dur_write(f, 0, 1, 'c'), 0);
	assert_int_equal(mmapio_unmap(f, &fd), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);
	/* never: pending counts outlive the object (bound across reopen) */
	f = create_unmapped("close", 8 * PS, "never");
	assert_int_equal(dur_write(f, 0, 2 * PS, 'c'), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(open_unmapped("close", false, 0, "bytes=12KiB", true,
				       &f), 0);
	mmapio_stats(f, &st);
	assert_int_equal(st.pending_bytes, 2 * PS);
	/* the first write under the new policy reaches it */
	assert_int_equal(dur_write(f, 4 * PS, 1, 'c'), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 3);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_sticky_error(void **state)
{
	struct mmapio_file *f = create_unmapped("sticky", 8 * PS, "writes=2");
	struct mmapio_stats st;

	(void)state;
	assert_int_equal(dur_write(f, 0, 1, 's'), 0);
	atomic_store(&dur.fail_fdatasync, EIO);
	/* the policy flush fails: the write reports it */
	assert_int_equal(dur_write(f, 0, 1, 's'), -EIO);
	atomic_store(&dur.fail_fdatasync, 0);
	/* and every later flush, although the sync now succeeds */
	assert_int_equal(mmapio_flush(f), -EIO);
	assert_int_equal(mmapio_flush_range(f, 0, PS), -EIO);
	assert_int_equal(dur_write(f, 0, 1, 's'), 0);
	assert_int_equal(dur_write(f, 0, 1, 's'), -EIO);
	mmapio_stats(f, &st);
	assert_int_equal(st.sticky_error, -EIO);
	assert_int_equal(st.flush_errors, 1);
	/* until the last close, which reports it too */
	assert_int_equal(mmapio_close(f), -EIO);
	assert_int_equal(open_unmapped("sticky", false, 0, "never", true, &f),
			 0);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_resize_truncate_refresh(void **state)
{
	struct mmapio_file *f = create_unmapped("size", 4 * PS, "never");

	(void)state;
	assert_int_equal(mmapio_resize(f, 10 * PS), 0);
	assert_int_equal(mmapio_len(f), 10 * PS);
	assert_int_equal(file_size("size"), 10 * PS);
	assert_int_equal(dur_write(f, 9 * PS, 10, 'r'), 0);
	assert_int_equal(dur_write(f, 0, 10, 'r'), 0);
	assert_int_equal(mmapio_pending_bytes(f), 2 * PS);
	/* a shrink forgets the dirty pages past the end */
	assert_int_equal(mmapio_truncate(f, 2 * PS), 0);
	assert_int_equal(mmapio_len(f), 2 * PS);
	assert_int_equal(file_size("size"), 2 * PS);
	assert_int_equal(mmapio_pending_bytes(f), PS);
	assert_int_equal(mmapio_truncate(f, 5 * PS), 0);
	assert_int_equal(file_size("size"), 5 * PS);
	assert_file_bytes("size", 2 * PS, 3 * PS, 0);
	/* a change from outside is followed */
	assert_int_equal(truncate(dur_path("size"), 7 * PS + 1), 0);
	assert_int_equal(mmapio_refresh(f), 7 * PS + 1);
	assert_int_equal(mmapio_len(f), 7 * PS + 1);
	assert_int_equal(dur_write(f, 7 * PS, 1, 'r'), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static int chunk_cb(const void *data, size_t len, uint64_t off, void *ctx)
{
	(void)data;
	(void)len;
	(void)off;
	(void)ctx;
	return 0;
}

static int chunk_mut_cb(void *data, size_t len, uint64_t off, void *ctx)
{
	(void)data;
	(void)len;
	(void)off;
	(void)ctx;
	return 0;
}

static void test_mapping_calls_enodev(void **state)
{
	struct mmapio_file *f = create_unmapped("nodev", 4 * PS, "writes=1");
	struct mmapio_view v = { 0 };
	struct mmapio_cursor c;
	struct mmapio_segment seg = { 0 };
	uint32_t u32;
	uint64_t u64 = 0;

	(void)state;
	assert_int_equal(mmapio_view(f, 0, 10, &v), -ENODEV);
	assert_int_equal(mmapio_view_mut(f, 0, 10, &v), -ENODEV);
	assert_null(v.file);
	assert_null(mmapio_ptr(f));
	assert_null(mmapio_mut_ptr(f));
	assert_int_equal(mmapio_declare_written(f, 0, 10), -ENODEV);
	assert_int_equal(mmapio_for_each_chunk(f, 0, PS, 0, chunk_cb, NULL),
			 -ENODEV);
	assert_int_equal(mmapio_for_each_chunk_mut(f, 0, PS, 0, chunk_mut_cb,
						   NULL), -ENODEV);
	assert_int_equal(mmapio_cursor_init(&c, f, 0, PS, 0), -ENODEV);
	assert_int_equal(mmapio_segment(f, 0, PS, &seg), -ENODEV);
	assert_null(seg.file);
	assert_int_equal(mmapio_atomic_load_u32(f, 0, &u32), -ENODEV);
	assert_int_equal(mmapio_atomic_load_u64(f, 0, &u64), -ENODEV);
	assert_int_equal(mmapio_atomic_store_u32(f, 0, 1), -ENODEV);
	assert_int_equal(mmapio_atomic_store_u64(f, 0, 1), -ENODEV);
	assert_int_equal(mmapio_atomic_fetch_add_u64(f, 0, 1, NULL), -ENODEV);
	assert_int_equal(mmapio_atomic_cas_u64(f, 0, &u64, 1), -ENODEV);
	assert_int_equal(mmapio_advise(f, 0, PS, MMAPIO_ADV_RANDOM), -ENODEV);
	assert_int_equal(mmapio_touch(f, 0, PS), -ENODEV);
	assert_int_equal(mmapio_lock(f, 0, PS), -ENODEV);
	assert_int_equal(mmapio_unlock(f, 0, PS), -ENODEV);
	assert_int_equal(mmapio_locked_bytes(f), 0);
	assert_int_equal(mmapio_hugepage_backed(f), 0);
	/* prefetch uses the fd: it works */
	assert_int_equal(mmapio_prefetch(f, 0, PS), 0);
	assert_int_equal(mmapio_prefetch(f, 0, 5 * PS), -ERANGE);
	/* none of that counted a write or flushed */
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* No address space for a shared mapping: MAP_SHARED of a file is
 * ENOMEM. */
static void *no_address_space(void *addr, size_t len, int prot, int flags,
			      int fd, off_t off)
{
	if ((flags & MAP_SHARED) && !(flags & MAP_ANONYMOUS)) {
		atomic_fetch_add(&refused_mmaps, 1);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return mmap(addr, len, prot, flags, fd, off);
}

static void test_enomem_and_no_mapping(void **state)
{
	struct mmapio_file *f = NULL;
	struct mmapio_options o;
	char buf[8];

	(void)state;
	mmapio__sys.mmap = no_address_space;
	/* without the fallback the open fails as the mapping did */
	assert_int_equal(open_unmapped("nomem", true, 4 * PS, "never", false,
				       &f), -ENOMEM);
	assert_null(f);
	/* with it: served by pread/pwrite */
	assert_int_equal(open_unmapped("nomem", true, 4 * PS, "never", true,
				       &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_write_grow(f, 8 * PS, "DATA", 4), 0);
	assert_int_equal(mmapio_read(f, 8 * PS, buf, 4), 0);
	assert_memory_equal(buf, "DATA", 4);
	assert_int_equal(mmapio_close(f), 0);

	/* no_mapping: never mapped, whatever the kernel would say */
	mmapio__sys.mmap = mmap;
	atomic_store(&refused_mmaps, 0);
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.no_mapping = true;
	assert_int_equal(mmapio_open(dur_path("nomem"), &o, &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_len(f), 8 * PS + 4);
	assert_int_equal(mmapio_read(f, 8 * PS, buf, 4), 0);
	assert_memory_equal(buf, "DATA", 4);
	assert_int_equal(atomic_load(&refused_mmaps), 0);
	assert_int_equal(mmapio_close(f), 0);
	/* COW cannot do without its private mapping */
	o.mode = MMAPIO_COW;
	assert_int_equal(mmapio_open(dur_path("nomem"), &o, &f), -EINVAL);
}

/* mmapio_map: an object opened with no_mapping is mapped in place; what
 * was written through pwrite stays pending under its policy and is synced
 * by the next flush; views work from then on. A kernel that refuses the
 * mapping leaves the object as it was. */
static void test_map_in_place(void **state)
{
	struct mmapio_file *f = NULL;
	struct mmapio_options o;
	struct mmapio_view v;
	char buf[4];
	int syncs;

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.no_mapping = true;
	unlink(dur_path("lazy"));
	assert_int_equal(mmapio_policy_parse("bytes=1MiB", &o.policy, NULL, 0),
			 0);
	assert_int_equal(mmapio_open(dur_path("lazy"), &o, &f), 0);
	assert_false(mmapio_is_mapped(f));
	assert_int_equal(mmapio_write_grow(f, 0, "ABCD", 4), 0);
	assert_int_equal(mmapio_view(f, 0, 4, &v), -ENODEV);
	assert_int_equal(mmapio_pending_bytes(f), PS);

	/* refused: stays unmapped, nothing lost */
	mmapio__sys.mmap = refuse_shared;
	assert_int_equal(mmapio_map(f), -ENODEV);
	assert_false(mmapio_is_mapped(f));
	mmapio__sys.mmap = mmap;

	assert_int_equal(mmapio_map(f), 0);
	assert_true(mmapio_is_mapped(f));
	assert_int_equal(mmapio_map(f), 0);	/* mapped already */
	assert_int_equal(mmapio_pending_bytes(f), PS);
	assert_int_equal(mmapio_view(f, 0, 4, &v), 0);
	assert_memory_equal(v.data, "ABCD", 4);
	assert_int_equal(mmapio_view_release(&v), 0);
	assert_int_equal(dur_write(f, 1, 2, 'z'), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "AzzD", 4);
	{	/* as another reader sees the file */
		int fd = open(dur_path("lazy"), O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, buf, 4, 0), 4);
		close(fd);
		assert_memory_equal(buf, "AzzD", 4);
	}
	syncs = dur_syncs();
	assert_int_equal(mmapio_flush(f), 0);
	assert_true(dur_syncs() > syncs);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, dur_teardown)
		T(test_open_needs_the_option),
		T(test_read_write_round_trip),
		T(test_write_grow),
		T(test_bytes_policy),
		T(test_writes_policy),
		T(test_ms_policy),
		T(test_always_policy),
		T(test_never_flush_and_range),
		T(test_close_rule_and_unmap),
		T(test_sticky_error),
		T(test_resize_truncate_refresh),
		T(test_mapping_calls_enodev),
		T(test_enomem_and_no_mapping),
		T(test_map_in_place),
#undef T
	};

	return cmocka_run_group_tests(tests, dur_group_setup, dur_group_teardown);
}
