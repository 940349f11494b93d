/*
 * test_resize.c — unit tests of src/core/resize.c: mmapio_resize (grow,
 * shrink, modes, limits, rollback on a failed truncate), the address-space
 * reserve, pinned views holding a shrink back without deadlocking readers,
 * mmapio_refresh after outside changes, and a concurrency smoke test
 * (readers and writers while another thread resizes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("resize");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static off_t size_of(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_grow_and_shrink(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("r"), 10, &f), 0);
	assert_int_equal(mmapio_write(f, 6, "keep", 4), 0);
	assert_int_equal(mmapio_resize(f, 100 * page + 1), 0);
	assert_int_equal(mmapio_len(f), 100 * page + 1);
	assert_int_equal(size_of(tmpdir_path("r")), (off_t)(100 * page + 1));
	assert_int_equal(mmapio_write(f, 100 * page - 3, "endx", 4), 0);
	assert_int_equal(mmapio_read(f, 6, buf, 4), 0);
	assert_memory_equal(buf, "keep", 4);
	/* Same size: nothing to do. */
	assert_int_equal(mmapio_resize(f, 100 * page + 1), 0);
	assert_int_equal(mmapio_resize(f, 8), 0);
	assert_int_equal(mmapio_len(f), 8);
	assert_int_equal(size_of(tmpdir_path("r")), 8);
	assert_int_equal(mmapio_read(f, 6, buf, 2), 0);
	assert_memory_equal(buf, "ke", 2);
	assert_int_equal(mmapio_read(f, 6, buf, 4), -ERANGE);
	/* To empty and back: nothing mapped, still usable. */
	assert_int_equal(mmapio_resize(f, 0), 0);
	assert_true(mmapio_is_empty(f));
	assert_null(mmapio_ptr(f));
	assert_int_equal(mmapio_resize(f, 3), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 3), 0);
	assert_memory_equal(buf, "\0\0\0", 3);
	assert_int_equal(mmapio_close(f), 0);
}

/* truncate grows with a hole; resize allocates the new range. */
static void test_truncate_is_sparse(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f, *ro;
	struct stat st;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("sp"), 0, &f), 0);
	assert_int_equal(mmapio_truncate(f, 256 * page + 5), 0);
	assert_int_equal(mmapio_len(f), 256 * page + 5);
	assert_int_equal(stat(tmpdir_path("sp"), &st), 0);
	assert_int_equal(st.st_size, (off_t)(256 * page + 5));
	assert_int_equal(st.st_blocks, 0);
	assert_int_equal(mmapio_write(f, 256 * page + 1, "tail", 4), 0);
	assert_int_equal(mmapio_read(f, 256 * page + 1, buf, 4), 0);
	assert_memory_equal(buf, "tail", 4);
	assert_int_equal(stat(tmpdir_path("sp"), &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 <= 8 * page);
	assert_int_equal(mmapio_truncate(f, page), 0);
	assert_int_equal(mmapio_len(f), page);
	assert_int_equal(mmapio_resize(f, 64 * page), 0);
	assert_int_equal(stat(tmpdir_path("sp"), &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 >= 63 * page);
	assert_int_equal(mmapio_truncate(f, (uint64_t)INT64_MAX + 1), -EFBIG);
	assert_int_equal(mmapio_open_ro(tmpdir_path("sp"), &ro), 0);
	assert_int_equal(mmapio_truncate(ro, 1), -ENOTSUP);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_resize_errors(void **state)
{
	struct mmapio_file *f, *ro, *cow, *anon;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("e"), 10, &f), 0);
	assert_int_equal(mmapio_resize(f, (uint64_t)INT64_MAX + 1), -EFBIG);
	assert_int_equal(mmapio_resize(f, UINT64_MAX), -EFBIG);
	assert_int_equal(mmapio_open_ro(tmpdir_path("e"), &ro), 0);
	/* One error for "this mapping cannot change its length". */
	assert_int_equal(mmapio_resize(ro, 20), -ENOTSUP);
	assert_int_equal(mmapio_open_cow(tmpdir_path("e"), true, &cow), 0);
	assert_int_equal(mmapio_resize(cow, 20), -ENOTSUP);
	assert_int_equal(mmapio_truncate(cow, 2), -ENOTSUP);
	assert_int_equal(mmapio_write_grow(cow, 10, "x", 1), -ENOTSUP);
	assert_int_equal(mmapio_anon(10, &anon), 0);
	assert_int_equal(mmapio_resize(anon, 20), -ENOTSUP);
	assert_int_equal(mmapio_write_grow(anon, 10, "x", 1), -ENOTSUP);
	/* A write to a mapping that is not writable stays -EBADF. */
	assert_int_equal(mmapio_write_grow(ro, 10, "x", 1), -EBADF);
	assert_int_equal(size_of(tmpdir_path("e")), 10);
	assert_int_equal(mmapio_close(anon), 0);
	mmapio_close(cow);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static int eperm_ftruncate(int fd, off_t len)
{
	(void)fd;
	(void)len;
	errno = EPERM;
	return -1;
}

static void test_failed_truncate_keeps_file(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("t"), 4 * page, &f), 0);
	assert_int_equal(mmapio_write(f, 3 * page, "last", 4), 0);
	mmapio__sys.ftruncate = eperm_ftruncate;
	assert_int_equal(mmapio_resize(f, page), -EPERM);
	mmapio__sys_reset();
	assert_int_equal(size_of(tmpdir_path("t")), (off_t)(4 * page));
	assert_int_equal(mmapio_len(f), 4 * page);
	assert_int_equal(mmapio_read(f, 3 * page, buf, 4), 0);
	assert_memory_equal(buf, "last", 4);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_reserve_keeps_address(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_options o;
	struct mmapio_file *f;
	const void *base;
	char buf[4];

	(void)state;
	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = page;
	o.reserve = 64 * page;
	assert_int_equal(mmapio_open(tmpdir_path("res"), &o, &f), 0);
	base = mmapio_ptr(f);
	assert_non_null(base);
	assert_int_equal(mmapio_write(f, 0, "base", 4), 0);
	assert_int_equal(mmapio_resize(f, 10 * page + 7), 0);
	assert_ptr_equal(mmapio_ptr(f), base);
	assert_int_equal(mmapio_write_grow(f, 64 * page - 4, "edge", 4), 0);
	assert_ptr_equal(mmapio_ptr(f), base);
	assert_int_equal(mmapio_resize(f, 2 * page), 0);
	assert_ptr_equal(mmapio_ptr(f), base);
	assert_int_equal(mmapio_resize(f, 0), 0);
	assert_null(mmapio_ptr(f));
	assert_int_equal(mmapio_resize(f, 3 * page), 0);
	assert_ptr_equal(mmapio_ptr(f), base);
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	assert_int_equal(mmapio_write(f, 0, "base", 4), 0);
	/* Beyond the reserve it becomes a plain mapping. */
	assert_int_equal(mmapio_write_grow(f, 200 * page, "far", 3), 0);
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(buf, "base", 4);
	assert_int_equal(mmapio_read(f, 200 * page, buf, 3), 0);
	assert_memory_equal(buf, "far", 3);
	assert_int_equal(mmapio_resize(f, page), 0);
	assert_int_equal(mmapio_close(f), 0);
}

struct resizer {
	struct mmapio_file *f;
	uint64_t size;
	atomic_int done;
	int rc;
};

static void *resize_thread(void *arg)
{
	struct resizer *r = arg;

	r->rc = mmapio_resize(r->f, r->size);
	atomic_store(&r->done, 1);
	return NULL;
}

static void test_shrink_waits_for_view(void **state)
{
	size_t page = mmapio_page_size();
	struct resizer r = { .size = page };
	struct mmapio_view v;
	struct mmapio_file *f;
	pthread_t t;
	char buf[4];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("p"), 8 * page, &f), 0);
	assert_int_equal(mmapio_write(f, 5 * page, "view", 4), 0);
	r.f = f;
	assert_int_equal(mmapio_view(f, 5 * page, 4, &v), 0);
	pthread_create(&t, NULL, resize_thread, &r);
	sleep_ms(100);
	assert_int_equal(atomic_load(&r.done), 0);
	/* The view holder can still use the file meanwhile. */
	assert_int_equal(mmapio_read(f, 0, buf, 4), 0);
	assert_memory_equal(v.data, "view", 4);
	assert_int_equal(atomic_load(&r.done), 0);
	assert_int_equal(mmapio_view_release(&v), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(mmapio_len(f), page);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_refresh(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f, *ro;
	char buf[5];
	int fd;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("x"), 100, &f), 0);
	assert_int_equal(mmapio_open_ro(tmpdir_path("x"), &ro), 0);
	assert_int_equal(mmapio_refresh(f), 100);
	fd = open(tmpdir_path("x"), O_RDWR);
	assert_int_equal(pwrite(fd, "grown", 5, 3 * page), 5);
	assert_int_equal(mmapio_refresh(f), (int64_t)(3 * page + 5));
	assert_int_equal(mmapio_refresh(ro), (int64_t)(3 * page + 5));
	assert_int_equal(mmapio_read(ro, 3 * page, buf, 5), 0);
	assert_memory_equal(buf, "grown", 5);
	assert_int_equal(ftruncate(fd, 50), 0);
	assert_int_equal(mmapio_refresh(ro), 50);
	assert_int_equal(mmapio_refresh(f), 50);
	assert_int_equal(mmapio_len(f), 50);
	assert_int_equal(mmapio_read(f, 50, buf, 1), -ERANGE);
	/* A hole punched from outside is noticed by refresh. */
	assert_int_equal(ftruncate(fd, 16 * page), 0);
	assert_int_equal(mmapio_refresh(f), (int64_t)(16 * page));
	assert_true(atomic_load(&f->alloc_upto) <= page);
	/* Appended through the fd with no hole below: the new bytes count as
	 * allocated (only they are scanned), so writes to them need no
	 * fallocate. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(mmapio_refresh(f), 0);
	for (int i = 0; i < 3; i++) {
		char block[4096];

		memset(block, 'a' + i, sizeof(block));
		assert_int_equal(pwrite(fd, block, sizeof(block),
					(off_t)(i * sizeof(block))),
				 (ssize_t)sizeof(block));
		assert_int_equal(mmapio_refresh(f),
				 (int64_t)((i + 1) * sizeof(block)));
		assert_int_equal(atomic_load(&f->alloc_upto),
				 (i + 1) * sizeof(block));
	}
	close(fd);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* refresh_written: growth by the caller's own write counts as allocated;
 * growth it did not write (a hole from outside, a write past the old end)
 * is scanned as by mmapio_refresh, so a hole is never taken for data. */
static void test_refresh_written(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char block[4096];
	struct stat st;
	int fd;

	(void)state;
	memset(block, 'w', sizeof(block));
	assert_int_equal(mmapio_create_rw(tmpdir_path("rw"), 0, &f), 0);
	fd = open(tmpdir_path("rw"), O_RDWR);
	/* Appends from the old end: allocated up to the new end. */
	for (int i = 0; i < 3; i++) {
		off_t at = (off_t)(i * sizeof(block));

		assert_int_equal(pwrite(fd, block, sizeof(block), at),
				 (ssize_t)sizeof(block));
		assert_int_equal(mmapio_refresh_written(f, (uint64_t)at,
							sizeof(block), NULL),
				 (int64_t)((i + 1) * sizeof(block)));
		assert_int_equal(atomic_load(&f->alloc_upto),
				 (i + 1) * sizeof(block));
	}
	/* Grown further from outside than the write reached: the hole
	 * beyond it is found by the scan. */
	assert_int_equal(pwrite(fd, block, 10, 3 * sizeof(block)), 10);
	assert_int_equal(ftruncate(fd, (off_t)(16 * page)), 0);
	assert_int_equal(mmapio_refresh_written(f, 3 * sizeof(block), 10, &st),
			 (int64_t)(16 * page));
	/* The attributes it read come back. */
	assert_int_equal(st.st_size, (off_t)(16 * page));
	assert_true(atomic_load(&f->alloc_upto) < 16 * page);
	/* A write past the old end leaves a hole below it: scanned. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(mmapio_refresh(f), 0);
	assert_int_equal(pwrite(fd, block, sizeof(block), (off_t)(8 * page)),
			 (ssize_t)sizeof(block));
	assert_int_equal(mmapio_refresh_written(f, 8 * page, sizeof(block),
						NULL),
			 (int64_t)(8 * page + sizeof(block)));
	assert_true(atomic_load(&f->alloc_upto) <= 8 * page);
	assert_int_equal(mmapio_refresh_written(f, UINT64_MAX, 2, NULL),
			 -EINVAL);
	close(fd);
	assert_int_equal(mmapio_close(f), 0);
}

/* note_written: the caller vouches its write is the only change, so the
 * length follows it without asking the file: it grows to the write's
 * end, never shrinks, the mapping covers what was written, and growth
 * from outside is not seen (that is the caller's promise). */
/* A mapping split into several VMAs (a part advised or locked on its
 * own) that cannot grow in place still grows: mremap refuses to move a
 * range across VMAs (EFAULT), so the pieces move one by one, keeping
 * their bytes, and the file's new pages follow. */
static void test_grow_split_mapping(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char buf[64];
	void *block;
	int i;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("split"), 4 * page, &f),
			 0);
	for (i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "page %d", i);
		assert_int_equal(mmapio_write(f, (uint64_t)i * page, buf,
					      strlen(buf) + 1), 0);
	}
	/* Three VMAs: [0,1) normal, [1,2) random, [2,4) normal. */
	assert_int_equal(mmapio_advise(f, page, page, MMAPIO_ADV_RANDOM), 0);
	/* Nothing may follow the mapping in place. */
	block = mmap((uint8_t *)mmapio_ptr(f) + 4 * page, page, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_int_equal(mmapio_resize(f, 64 * page), 0);
	assert_int_equal(mmapio_len(f), 64 * page);
	for (i = 0; i < 4; i++) {
		char want[64];

		snprintf(want, sizeof(want), "page %d", i);
		assert_int_equal(mmapio_read(f, (uint64_t)i * page, buf,
					     strlen(want) + 1), 0);
		assert_string_equal(buf, want);
	}
	assert_int_equal(mmapio_write(f, 63 * page, "end", 4), 0);
	assert_int_equal(mmapio_read(f, 63 * page, buf, 4), 0);
	assert_string_equal(buf, "end");
	/* And again, now from its new place, after a shrink. */
	assert_int_equal(mmapio_resize(f, 2 * page), 0);
	assert_int_equal(mmapio_resize(f, 80 * page), 0);
	assert_int_equal(mmapio_read(f, page, buf, 7), 0);
	assert_string_equal(buf, "page 1");
	if (block != MAP_FAILED)
		munmap(block, page);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_note_written(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	char block[4096], back[4096];
	int fd;

	(void)state;
	memset(block, 'n', sizeof(block));
	assert_int_equal(mmapio_create_rw(tmpdir_path("nw"), 0, &f), 0);
	fd = open(tmpdir_path("nw"), O_RDWR);
	assert_int_equal(pwrite(fd, block, sizeof(block), 0),
			 (ssize_t)sizeof(block));
	assert_int_equal(mmapio_note_written(f, 0, sizeof(block)),
			 (int64_t)sizeof(block));
	assert_int_equal(mmapio_len(f), sizeof(block));
	assert_int_equal(mmapio_read(f, 0, back, sizeof(back)), 0);
	assert_memory_equal(back, block, sizeof(block));
	/* Allocated: the write made it, from the old end. */
	assert_int_equal(atomic_load(&f->alloc_upto), sizeof(block));
	/* A write inside the file changes nothing. */
	assert_int_equal(mmapio_note_written(f, 10, 20),
			 (int64_t)sizeof(block));
	/* A write past the end leaves a hole below it: mapped, scanned. */
	assert_int_equal(pwrite(fd, block, 100, (off_t)(4 * page)), 100);
	assert_int_equal(mmapio_note_written(f, 4 * page, 100),
			 (int64_t)(4 * page + 100));
	assert_int_equal(mmapio_read(f, 4 * page, back, 100), 0);
	assert_memory_equal(back, block, 100);
	assert_true(atomic_load(&f->alloc_upto) < 4 * page + 100);
	/* Grown from outside: not seen until a refresh. */
	assert_int_equal(ftruncate(fd, (off_t)(8 * page)), 0);
	assert_int_equal(mmapio_note_written(f, 0, 1),
			 (int64_t)(4 * page + 100));
	assert_int_equal(mmapio_refresh(f), (int64_t)(8 * page));
	assert_int_equal(mmapio_note_written(f, UINT64_MAX, 2), -EINVAL);
	close(fd);
	assert_int_equal(mmapio_close(f), 0);
}

/* Concurrency smoke test: readers, writers and view users on the first
 * 64 KiB while a resizer moves the length between 64 KiB and 4 MiB. The
 * first 32 KiB hold 'r' and are only read; each thread writes its own
 * slice of the next 32 KiB and checks it reads back, so the test is free
 * of data races on the bytes themselves (ThreadSanitizer-clean) and any
 * lost or torn write shows. */
enum { SMOKE_LOW = 64 << 10, SMOKE_HIGH = 4 << 20, SMOKE_RO = 32 << 10,
       SMOKE_THREADS = 4, SMOKE_SLICE = (SMOKE_LOW - SMOKE_RO) / SMOKE_THREADS };

struct smoke {
	struct mmapio_file *f;
	atomic_int stop;
	atomic_int errors;
	atomic_int next_id;
};

static int smoke_step(struct smoke *s, unsigned *seed, uint64_t mine,
		      unsigned char *stamp)
{
	unsigned char buf[256], want[256];
	struct mmapio_view v;
	uint64_t off = (uint64_t)(rand_r(seed) % (SMOKE_HIGH - 256));
	int rc;

	switch (rand_r(seed) % 4) {
	case 0:
		rc = mmapio_read(s->f, off % (SMOKE_RO - 256), buf, 256);
		if (rc == 0 && (buf[0] != 'r' || buf[255] != 'r'))
			rc = -EILSEQ;
		return rc;
	case 1:
		++*stamp;
		memset(want, *stamp, sizeof(want));
		rc = mmapio_write(s->f, mine, want, sizeof(want));
		if (rc == 0)
			rc = mmapio_read(s->f, mine, buf, sizeof(buf));
		if (rc == 0 && memcmp(buf, want, sizeof(buf)) != 0)
			rc = -EILSEQ;
		return rc;
	case 2:
		/* Anywhere up to the high mark: fits, or is -ERANGE. The
		 * bytes past the low mark are only ever written by the
		 * kernel (truncate, extension). */
		if (off < SMOKE_LOW)
			off += SMOKE_LOW;
		rc = mmapio_read(s->f, off, buf, 256);
		return rc == -ERANGE ? 0 : rc;
	default:
		rc = mmapio_view(s->f, off % (SMOKE_RO - 256), 256, &v);
		if (rc == 0) {
			if (((const unsigned char *)v.data)[255] != 'r')
				rc = -EILSEQ;
			mmapio_view_release(&v);
		}
		return rc;
	}
}

static void *smoke_io(void *arg)
{
	struct smoke *s = arg;
	int id = atomic_fetch_add(&s->next_id, 1);
	unsigned seed = (unsigned)id + 1;
	uint64_t mine = SMOKE_RO + (uint64_t)id * SMOKE_SLICE;
	unsigned char stamp = 0;

	while (!atomic_load(&s->stop))
		if (smoke_step(s, &seed, mine, &stamp))
			atomic_fetch_add(&s->errors, 1);
	return NULL;
}

static void test_concurrency_smoke(void **state)
{
	struct smoke s = { 0 };
	pthread_t t[SMOKE_THREADS];
	unsigned char ro[SMOKE_RO];
	int i;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("smoke"), SMOKE_LOW, &s.f), 0);
	memset(ro, 'r', sizeof(ro));
	assert_int_equal(mmapio_write(s.f, 0, ro, sizeof(ro)), 0);
	for (i = 0; i < SMOKE_THREADS; i++)
		pthread_create(&t[i], NULL, smoke_io, &s);
	for (i = 0; i < 200; i++) {
		assert_int_equal(mmapio_resize(s.f, i % 2 ? SMOKE_LOW
							  : SMOKE_HIGH), 0);
		assert_true(mmapio_refresh(s.f) >= SMOKE_LOW);
	}
	atomic_store(&s.stop, 1);
	for (i = 0; i < SMOKE_THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&s.errors), 0);
	assert_int_equal(mmapio_len(s.f), SMOKE_LOW);
	assert_int_equal(mmapio_close(s.f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grow_and_shrink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_is_sparse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_truncate_keeps_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_keeps_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_waits_for_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_split_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency_smoke, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
