/*
 * dur_util.c — see dur_util.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dur_util.h"
#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct dur_sys dur;

static int count_msync(void *addr, size_t len, int flags)
{
	int e = atomic_load(&dur.fail_msync);

	atomic_fetch_add(&dur.msync, 1);
	atomic_fetch_add(&dur.now, atomic_load(&dur.sync_cost));
	if (e) {
		errno = e;
		return -1;
	}
	return msync(addr, len, flags);
}

static int count_fdatasync(int fd)
{
	int e = atomic_load(&dur.fail_fdatasync);

	atomic_fetch_add(&dur.fdatasync, 1);
	atomic_fetch_add(&dur.now, atomic_load(&dur.sync_cost));
	if (e) {
		errno = e;
		return -1;
	}
	return fdatasync(fd);
}

static int count_sync_file_range(int fd, off64_t off, off64_t n, unsigned flags)
{
	atomic_fetch_add(&dur.sync_file_range, 1);
	return sync_file_range(fd, off, n, flags);
}

static int64_t fake_now(void)
{
	return atomic_load(&dur.now);
}

int dur_group_setup(void **state)
{
	(void)state;
	return tmpdir_create("dur");
}

int dur_group_teardown(void **state)
{
	(void)state;
	mmapio__sys_reset();
	return tmpdir_remove();
}

static void dur_counters_reset(void)
{
	atomic_store(&dur.msync, 0);
	atomic_store(&dur.fdatasync, 0);
	atomic_store(&dur.sync_file_range, 0);
	atomic_store(&dur.fail_msync, 0);
	atomic_store(&dur.fail_fdatasync, 0);
	atomic_store(&dur.now, 1000000000);
	atomic_store(&dur.sync_cost, 0);
}

int dur_setup(void **state)
{
	(void)state;
	mmapio__flusher_set_manual(true);
	dur_counters_reset();
	mmapio__sys.msync = count_msync;
	mmapio__sys.fdatasync = count_fdatasync;
	mmapio__sys.sync_file_range = count_sync_file_range;
	mmapio__sys.now_ns = fake_now;
	return 0;
}

void dur_use_real_clock(void)
{
	mmapio__sys.now_ns = mmapio__monotonic_ns;
	mmapio__flusher_set_manual(false);
}

int dur_teardown(void **state)
{
	size_t cap;

	(void)state;
	mmapio_shutdown();
	mmapio__flusher_set_manual(false);
	mmapio__sys_reset();
	cap = mmapio__registry_set_detached_cap(0);
	mmapio__registry_set_detached_cap(cap);
	return mmapio__registry_states() == 0 ? 0 : -1;
}

const char *dur_path(const char *name)
{
	/* tmpdir_path's per-thread ring: two results may be used at once. */
	return tmpdir_path(name);
}

static struct mmapio_file *open_with(const char *name, const char *policy,
				     enum mmapio_open_how how, uint64_t size)
{
	struct mmapio_options o;
	struct mmapio_file *f = NULL;
	char err[128] = "";

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = how;
	o.size = size;
	if (mmapio_policy_parse(policy, &o.policy, err, sizeof(err)))
		fail_msg("policy '%s': %s", policy, err);
	assert_int_equal(mmapio_open(dur_path(name), &o, &f), 0);
	assert_non_null(f);
	return f;
}

struct mmapio_file *dur_create(const char *name, uint64_t size,
			       const char *policy)
{
	unlink(dur_path(name));
	return open_with(name, policy, MMAPIO_CREATE, size);
}

struct mmapio_file *dur_open(const char *name, const char *policy)
{
	return open_with(name, policy, MMAPIO_OPEN_EXISTING, 0);
}

int dur_write(struct mmapio_file *f, uint64_t off, size_t len, int c)
{
	char *buf = malloc(len ? len : 1);
	int rc;

	assert_non_null(buf);
	memset(buf, c, len);
	rc = mmapio_write(f, off, buf, len);
	free(buf);
	return rc;
}

int dur_syncs(void)
{
	return atomic_load(&dur.msync) + atomic_load(&dur.fdatasync);
}
