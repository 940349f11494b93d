/*
 * test_view.c — unit tests of src/core/view.c: views (bounds, pinning,
 * mutable accounting on release), raw pointers and declared writes, the
 * chunk walk (callback, early stop, mutable accounting), the cursor, and
 * segments re-validating against the current length.
 *
 * Accounting is observed through mmapio_stats (bytes_written, writes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tmpdir.h"
#include "sys.h"

static int setup(void **state)
{
	(void)state;
	return tmpdir_create("view");
}

static int teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static struct mmapio_stats stats_of(struct mmapio_file *f)
{
	struct mmapio_stats st;

	mmapio_stats(f, &st);
	return st;
}

static void test_view_bounds_and_data(void **state)
{
	struct mmapio_file *f;
	struct mmapio_view v;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("v"), 100, &f), 0);
	assert_int_equal(mmapio_write(f, 40, "window", 6), 0);
	assert_int_equal(mmapio_view(f, 40, 6, &v), 0);
	assert_ptr_equal(v.file, f);
	assert_int_equal(v.off, 40);
	assert_int_equal(v.len, 6);
	assert_false(v.writable);
	assert_memory_equal(v.data, "window", 6);
	assert_int_equal(mmapio_view_release(&v), 0);
	assert_null(v.file);
	/* Releasing a cleared view is harmless. */
	assert_int_equal(mmapio_view_release(&v), 0);

	assert_int_equal(mmapio_view(f, 100, 0, &v), 0);
	assert_int_equal(mmapio_view_release(&v), 0);
	assert_int_equal(mmapio_view(f, 95, 6, &v), -ERANGE);
	assert_int_equal(mmapio_view(f, 101, 0, &v), -ERANGE);
	assert_int_equal(mmapio_view(f, UINT64_MAX, 2, &v), -ERANGE);
	assert_int_equal(mmapio_view(f, 1, SIZE_MAX, &v), -ERANGE);
	assert_int_equal(mmapio_view_mut(f, UINT64_MAX - 1, 4, &v), -ERANGE);
	assert_int_equal(atomic_load(&f->pins), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_view_mut_accounts_on_release(void **state)
{
	struct mmapio_file *f, *ro;
	struct mmapio_view v;
	struct mmapio_stats before, after;
	char buf[5];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("m"), 8192, &f), 0);
	before = stats_of(f);
	assert_int_equal(mmapio_view_mut(f, 4000, 200, &v), 0);
	assert_true(v.writable);
	memcpy(v.data, "mutab", 5);
	/* Nothing counted until the release. */
	assert_int_equal(stats_of(f).bytes_written, before.bytes_written);
	assert_int_equal(mmapio_view_release(&v), 0);
	after = stats_of(f);
	assert_int_equal(after.bytes_written - before.bytes_written, 200);
	assert_int_equal(after.writes - before.writes, 1);
	assert_int_equal(mmapio_read(f, 4000, buf, 5), 0);
	assert_memory_equal(buf, "mutab", 5);

	assert_int_equal(mmapio_open_ro(tmpdir_path("m"), &ro), 0);
	assert_int_equal(mmapio_view_mut(ro, 0, 1, &v), -EBADF);
	assert_int_equal(mmapio_view(ro, 4000, 5, &v), 0);
	assert_memory_equal(v.data, "mutab", 5);
	assert_int_equal(mmapio_view_release(&v), 0);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static int enospc_fallocate(int fd, int mode, off_t off, off_t len)
{
	(void)fd;
	(void)mode;
	(void)off;
	(void)len;
	errno = ENOSPC;
	return -1;
}

static int fill_chunk(void *data, size_t len, uint64_t off, void *ctx)
{
	(void)off;
	(void)ctx;
	memset(data, 'f', len);
	return 0;
}

/* Mutable views and walks allocate holes up front: a full disk is
 * -ENOSPC when they start, never a fault in the caller's stores. */
/* A view keeps its file alive: the holder's reference may go first. */
static void test_view_outlives_close(void **state)
{
	struct mmapio_file *f;
	struct mmapio_view v;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("o"), 64, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "alive", 5), 0);
	assert_int_equal(mmapio_view(f, 0, 5, &v), 0);
	assert_int_equal(atomic_load(&f->refs), 2);
	/* Not the last reference: the view's is. */
	assert_int_equal(mmapio_close(f), 0);
	assert_memory_equal(v.data, "alive", 5);
	/* The release is the last close (ASan checks nothing leaks). */
	assert_int_equal(mmapio_view_release(&v), 0);
}

static void test_mutable_access_allocates(void **state)
{
	size_t page = mmapio_page_size();
	struct mmapio_file *f;
	struct mmapio_view v;
	struct stat st;
	int fd;

	(void)state;
	fd = open(tmpdir_path("sparse"), O_RDWR | O_CREAT, 0644);
	assert_int_equal(ftruncate(fd, 16 * page), 0);
	close(fd);
	assert_int_equal(mmapio_open_rw(tmpdir_path("sparse"), &f), 0);
	mmapio__sys.fallocate = enospc_fallocate;
	assert_int_equal(mmapio_view_mut(f, 4 * page, page, &v), -ENOSPC);
	assert_int_equal(mmapio_for_each_chunk_mut(f, 8 * page, page, 0,
						   fill_chunk, NULL), -ENOSPC);
	assert_int_equal(atomic_load(&f->pins), 0);
	/* Read-only access needs no allocation. */
	assert_int_equal(mmapio_view(f, 4 * page, page, &v), 0);
	assert_int_equal(mmapio_view_release(&v), 0);
	mmapio__sys_reset();
	assert_int_equal(mmapio_view_mut(f, 4 * page, page, &v), 0);
	memset(v.data, 'v', page);
	assert_int_equal(mmapio_view_release(&v), 0);
	assert_int_equal(mmapio_for_each_chunk_mut(f, 8 * page, page, 0,
						   fill_chunk, NULL), 0);
	assert_int_equal(stat(tmpdir_path("sparse"), &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 >= 2 * page);
	assert_true((uint64_t)st.st_blocks * 512 < 16 * page);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_raw_pointers(void **state)
{
	struct mmapio_file *f, *ro, *empty;
	struct mmapio_stats before;
	char *p;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("p"), 64, &f), 0);
	p = mmapio_mut_ptr(f);
	assert_non_null(p);
	assert_ptr_equal(mmapio_ptr(f), p);
	before = stats_of(f);
	memcpy(p + 10, "raw", 3);
	assert_int_equal(mmapio_declare_written(f, 10, 3), 0);
	assert_int_equal(stats_of(f).bytes_written - before.bytes_written, 3);
	assert_int_equal(mmapio_declare_written(f, 64, 0), 0);
	assert_int_equal(mmapio_declare_written(f, 62, 3), -ERANGE);
	assert_int_equal(mmapio_declare_written(f, UINT64_MAX, 2), -ERANGE);
	assert_int_equal(mmapio_declare_written(f, 65, 0), -ERANGE);

	assert_int_equal(mmapio_open_ro(tmpdir_path("p"), &ro), 0);
	assert_null(mmapio_mut_ptr(ro));
	assert_memory_equal((const char *)mmapio_ptr(ro) + 10, "raw", 3);
	assert_int_equal(mmapio_declare_written(ro, 0, 1), -EBADF);
	assert_int_equal(mmapio_close(ro), 0);

	assert_int_equal(mmapio_create_rw(tmpdir_path("e"), 0, &empty), 0);
	assert_null(mmapio_ptr(empty));
	assert_null(mmapio_mut_ptr(empty));
	assert_int_equal(mmapio_close(empty), 0);
	assert_int_equal(mmapio_close(f), 0);
}

struct collect {
	char text[64];
	size_t used;
	int calls;
	int stop_after;
	uint64_t last_off;
};

static int collect_chunk(const void *data, size_t len, uint64_t off, void *ctx)
{
	struct collect *c = ctx;

	memcpy(c->text + c->used, data, len);
	c->used += len;
	c->last_off = off;
	if (++c->calls == c->stop_after)
		return 99;
	return 0;
}

static int upcase_chunk(void *data, size_t len, uint64_t off, void *ctx)
{
	char *p = data;
	size_t i;

	(void)off;
	for (i = 0; i < len; i++)
		p[i] = (char)(p[i] - 'a' + 'A');
	return ++*(int *)ctx == 2 ? 5 : 0;
}

static void test_chunks(void **state)
{
	struct mmapio_file *f, *ro;
	struct collect c = { 0 };
	struct mmapio_stats before, after;
	char buf[12];
	int calls = 0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("c"), 20, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "abcdefghijklmnopqrst", 20), 0);
	assert_int_equal(mmapio_for_each_chunk(f, 2, 10, 4, collect_chunk, &c), 0);
	assert_int_equal(c.calls, 3);
	assert_int_equal(c.used, 10);
	assert_memory_equal(c.text, "cdefghijkl", 10);
	assert_int_equal(c.last_off, 10);

	/* A non-zero return stops the walk and is returned. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(mmapio_for_each_chunk(f, 0, 20, 3, collect_chunk, &c), 99);
	assert_int_equal(c.calls, 2);
	/* chunk 0 means one page: a single call here. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(mmapio_for_each_chunk(f, 0, 20, 0, collect_chunk, &c), 0);
	assert_int_equal(c.calls, 1);
	/* Empty walk: no call. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(mmapio_for_each_chunk(f, 20, 0, 4, collect_chunk, &c), 0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(mmapio_for_each_chunk(f, 18, 3, 4, collect_chunk, &c),
			 -ERANGE);
	assert_int_equal(mmapio_for_each_chunk(f, UINT64_MAX, 2, 4,
					       collect_chunk, &c), -ERANGE);
	assert_int_equal(mmapio_for_each_chunk(f, 0, 1, 4, NULL, NULL), -EINVAL);

	/* Mutable walk: the chunks seen (two of 4 bytes) are accounted. */
	before = stats_of(f);
	assert_int_equal(mmapio_for_each_chunk_mut(f, 0, 12, 4, upcase_chunk,
						   &calls), 5);
	after = stats_of(f);
	assert_int_equal(after.bytes_written - before.bytes_written, 8);
	assert_int_equal(after.writes - before.writes, 1);
	assert_int_equal(mmapio_read(f, 0, buf, 12), 0);
	assert_memory_equal(buf, "ABCDEFGHijkl", 12);
	assert_int_equal(mmapio_for_each_chunk_mut(f, 0, 21, 4, upcase_chunk,
						   &calls), -ERANGE);
	assert_int_equal(mmapio_for_each_chunk_mut(f, 4, UINT64_MAX - 2, 4,
						   upcase_chunk, &calls), -ERANGE);
	assert_int_equal(atomic_load(&f->pins), 0);

	assert_int_equal(mmapio_open_ro(tmpdir_path("c"), &ro), 0);
	assert_int_equal(mmapio_for_each_chunk_mut(ro, 0, 4, 4, upcase_chunk,
						   &calls), -EBADF);
	assert_int_equal(mmapio_close(ro), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_cursor(void **state)
{
	struct mmapio_cursor cur;
	struct mmapio_file *f;
	const void *p;
	size_t n, total = 0;
	char text[32];
	int rc, steps = 0;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("k"), 30, &f), 0);
	assert_int_equal(mmapio_write(f, 0, "0123456789abcdefghijklmnopqrst", 30), 0);
	assert_int_equal(mmapio_cursor_init(&cur, f, 5, 20, 8), 0);
	while ((rc = mmapio_cursor_next(&cur, &p, &n)) > 0) {
		memcpy(text + total, p, n);
		total += n;
		steps++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(steps, 3);
	assert_int_equal(total, 20);
	assert_memory_equal(text, "56789abcdefghijklmno", 20);
	assert_int_equal(mmapio_cursor_init(&cur, f, 25, 6, 8), -ERANGE);
	assert_int_equal(mmapio_cursor_init(&cur, f, UINT64_MAX, 2, 8), -ERANGE);
	/* A shrink under the cursor is -ERANGE at the next step. */
	assert_int_equal(mmapio_cursor_init(&cur, f, 0, 30, 10), 0);
	assert_int_equal(mmapio_cursor_next(&cur, &p, &n), 1);
	assert_int_equal(mmapio_resize(f, 15), 0);
	assert_int_equal(mmapio_cursor_next(&cur, &p, &n), -ERANGE);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_segments(void **state)
{
	struct mmapio_segment s, s2;
	struct mmapio_file *f;
	char buf[8];

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("s"), 100, &f), 0);
	assert_int_equal(mmapio_segment(f, 50, 101, &s), -ERANGE);
	assert_int_equal(mmapio_segment(f, UINT64_MAX, 2, &s), -ERANGE);
	assert_int_equal(mmapio_segment(f, 40, 20, &s), 0);
	/* The segment holds its own reference. */
	assert_int_equal(atomic_load(&f->refs), 2);
	assert_int_equal(mmapio_segment_write(&s, 0, "seg", 3), 0);
	assert_int_equal(mmapio_read(f, 40, buf, 3), 0);
	assert_memory_equal(buf, "seg", 3);
	assert_int_equal(mmapio_segment_read(&s, 17, buf, 3), 0);
	assert_int_equal(mmapio_segment_read(&s, 18, buf, 3), -ERANGE);
	assert_int_equal(mmapio_segment_write(&s, 20, buf, 1), -ERANGE);
	assert_int_equal(mmapio_segment_read(&s, UINT64_MAX, buf, 2), -ERANGE);
	assert_int_equal(mmapio_segment_write(&s, UINT64_MAX - 1, buf, 4), -ERANGE);
	assert_int_equal(mmapio_segment(f, 10, UINT64_MAX - 5, &s2), -ERANGE);
	assert_int_equal(mmapio_segment_write(&s, 20, buf, 0), 0);
	/* Shrinking the file under the segment: -ERANGE, not a fault. */
	assert_int_equal(mmapio_resize(f, 45), 0);
	assert_int_equal(mmapio_segment_read(&s, 0, buf, 5), 0);
	assert_int_equal(mmapio_segment_read(&s, 4, buf, 2), -ERANGE);
	assert_int_equal(mmapio_segment_write(&s, 10, "x", 1), -ERANGE);
	mmapio_segment_release(&s);
	assert_null(s.file);
	mmapio_segment_release(&s);
	assert_int_equal(atomic_load(&f->refs), 1);
	assert_int_equal(mmapio_close(f), 0);
}

/* --- a thread's own pins: -EDEADLK, not a hang (issue 19) ---------------- */

static uint64_t size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Occupies the address space right after f's mapping, so that growth
 * cannot extend it in place and must move it (the usual case without a
 * reserve, made certain). Returns the blocker (munmap it after). */
static void *block_after(struct mmapio_file *f)
{
	size_t ps = mmapio_page_size();
	uint8_t *end = (uint8_t *)mmapio_ptr(f) + mmapio__page_up(mmapio_len(f));
	void *p = mmap(end, 16 * ps, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	/* EEXIST: something is there already, which blocks as well. */
	assert_true(p == end || (p == MAP_FAILED && errno == EEXIST));
	return p == MAP_FAILED ? NULL : p;
}

static void test_view_holder_growth_is_edeadlk(void **state)
{
	size_t ps = mmapio_page_size();
	char *page = malloc(ps), back[4];
	struct mmapio_view v;
	struct mmapio_file *f;
	void *blocker;

	(void)state;
	memset(page, 'g', ps);
	assert_int_equal(mmapio_create_rw(tmpdir_path("dl"), 2 * ps, &f), 0);
	blocker = block_after(f);
	assert_int_equal(mmapio_view(f, 0, 4, &v), 0);
	/* Writing is allowed to a view holder; a growth that must move the
	 * mapping would wait for this very view: told, not hung. */
	assert_int_equal(mmapio_write(f, ps, page, ps), 0);
	assert_int_equal(mmapio_write_grow(f, 2 * ps, page, ps), -EDEADLK);
	assert_int_equal(mmapio_len(f), 2 * ps);
	assert_int_equal(size_of(tmpdir_path("dl")), 2 * ps);   /* taken back */
	assert_int_equal(mmapio_resize(f, 64 * ps), -EDEADLK);
	assert_int_equal(mmapio_resize(f, ps), -EDEADLK);        /* shrink */
	assert_int_equal(mmapio_truncate(f, 0), -EDEADLK);
	assert_int_equal(size_of(tmpdir_path("dl")), 2 * ps);
	assert_int_equal(mmapio_view_release(&v), 0);
	/* Released: the same calls go through. */
	assert_int_equal(mmapio_write_grow(f, 2 * ps, page, ps), 0);
	assert_int_equal(mmapio_len(f), 3 * ps);
	assert_int_equal(mmapio_read(f, 2 * ps, back, 4), 0);
	assert_memory_equal(back, "gggg", 4);
	if (blocker)
		munmap(blocker, 16 * ps);
	assert_int_equal(mmapio_close(f), 0);
	free(page);
}

struct grow_in_walk {
	struct mmapio_file *f;
	int rc;
};

static int grow_from_callback(const void *data, size_t len, uint64_t off,
			      void *ctx)
{
	struct grow_in_walk *g = ctx;
	size_t ps = mmapio_page_size();

	(void)data, (void)len, (void)off;
	g->rc = mmapio_write_grow(g->f, 64 * ps, "x", 1);
	return 0;
}

static void test_chunk_walk_growth_is_edeadlk(void **state)
{
	size_t ps = mmapio_page_size();
	struct grow_in_walk g;
	void *blocker;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("dw"), ps, &g.f), 0);
	blocker = block_after(g.f);
	g.rc = 1;
	assert_int_equal(mmapio_for_each_chunk(g.f, 0, ps, 0, grow_from_callback,
					       &g), 0);
	assert_int_equal(g.rc, -EDEADLK);
	assert_int_equal(mmapio_len(g.f), ps);
	if (blocker)
		munmap(blocker, 16 * ps);
	assert_int_equal(mmapio_close(g.f), 0);
}

struct releaser {
	struct mmapio_view *v;
	int rc;
};

static void *release_view(void *arg)
{
	struct releaser *r = arg;

	r->rc = mmapio_view_release(r->v);
	return NULL;
}

/* A view released by another thread leaves no pin behind in the thread
 * that took it; another thread's view is waited for, not -EDEADLK. */
static void test_view_released_by_another_thread(void **state)
{
	size_t ps = mmapio_page_size();
	struct mmapio_view v;
	struct releaser r = { &v, -1 };
	struct mmapio_file *f;
	pthread_t t;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("rt"), 4 * ps, &f), 0);
	assert_int_equal(mmapio_view(f, 0, ps, &v), 0);
	assert_true(mmapio__pinned_by_self(f));
	assert_int_equal(pthread_create(&t, NULL, release_view, &r), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.rc, 0);
	assert_false(mmapio__pinned_by_self(f));
	assert_int_equal(mmapio_resize(f, ps), 0);
	assert_int_equal(mmapio_close(f), 0);
}

/* More files pinned at once than one pin table holds: every pin counted,
 * every one found. */
static void test_many_pins_in_one_thread(void **state)
{
	enum { N = 40 };
	struct mmapio_file *f[N];
	struct mmapio_view v[N];
	char name[16];
	int i;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		assert_int_equal(mmapio_create_rw(tmpdir_path(name), 64, &f[i]), 0);
		assert_int_equal(mmapio_view(f[i], 0, 8, &v[i]), 0);
	}
	for (i = 0; i < N; i++)
		assert_true(mmapio__pinned_by_self(f[i]));
	for (i = 0; i < N; i++) {
		assert_int_equal(mmapio_view_release(&v[i]), 0);
		assert_false(mmapio__pinned_by_self(f[i]));
		assert_int_equal(mmapio_close(f[i]), 0);
	}
}

/* Segments release like views: cleared first, a second release is a
 * no-op, and the last close's result comes back. */
static void test_segment_release_is_idempotent(void **state)
{
	struct mmapio_segment s, zero = { 0 };
	struct mmapio_file *f;

	(void)state;
	assert_int_equal(mmapio_create_rw(tmpdir_path("sr"), 64, &f), 0);
	assert_int_equal(mmapio_segment(f, 8, 8, &s), 0);
	assert_int_equal(mmapio_close(f), 0);     /* the segment's ref remains */
	assert_int_equal(mmapio_segment_write(&s, 0, "seg", 3), 0);
	assert_int_equal(mmapio_segment_release(&s), 0);   /* the last close */
	assert_null(s.file);
	assert_int_equal(mmapio_segment_release(&s), 0);
	assert_int_equal(mmapio_segment_release(&zero), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_view_bounds_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_mut_accounts_on_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_outlives_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutable_access_allocates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_pointers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_holder_growth_is_edeadlk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_walk_growth_is_edeadlk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_released_by_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_pins_in_one_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segment_release_is_idempotent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
