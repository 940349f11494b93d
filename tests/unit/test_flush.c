/*
 * test_flush.c — unit tests of src/core/flush.c through real mappings
 * (mmapio_create_rw/mmapio_write): each threshold exactly, always, never,
 * ranged flushes debiting exactly, the sticky error under injected faults,
 * schedule_flush, set_policy, external writes and the statistics.
 *
 * The clock is injected and the flusher is in manual mode (dur_util.c),
 * so every test is deterministic; syscalls are counted, not mocked (the
 * real msync/fdatasync still run unless a fault is injected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "dur_util.h"

#define PS 4096u

static void test_bytes_threshold_page_multiple(void **state)
{
	struct mmapio_file *f = dur_create("b8", 64 * PS, "bytes=32KiB");

	(void)state;
	/* 7 pages of dirty data: below 8 pages, no flush */
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(dur_write(f, i * PS, PS, 'a'), 0);
	assert_int_equal(mmapio_pending_bytes(f), 7 * PS);
	assert_int_equal(dur_syncs(), 0);
	/* rewriting dirty pages adds nothing */
	assert_int_equal(dur_write(f, 100, 3 * PS, 'b'), 0);
	assert_int_equal(mmapio_pending_bytes(f), 7 * PS);
	assert_int_equal(dur_syncs(), 0);
	/* the 8th page reaches N: flushed before the write returns */
	assert_int_equal(dur_write(f, 7 * PS, 1, 'c'), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_bytes_threshold_not_page_multiple(void **state)
{
	struct mmapio_file *f = dur_create("b6000", 16 * PS, "bytes=6000");

	(void)state;
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(mmapio_pending_bytes(f), PS);   /* 4096 < 6000 */
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(dur_write(f, PS, 1, 'a'), 0);   /* 8192 >= 6000 */
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_bytes_threshold_one_big_write(void **state)
{
	struct mmapio_file *f = dur_create("big", 64 * PS, "bytes=8KiB");

	(void)state;
	assert_int_equal(dur_write(f, 0, 40 * PS, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_writes_threshold(void **state)
{
	struct mmapio_file *f = dur_create("w5", 4 * PS, "writes=5");

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(dur_write(f, 0, 10, 'a'), 0);
	assert_int_equal(mmapio_pending_writes(f), 4);
	assert_int_equal(mmapio_pending_bytes(f), PS);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(dur_write(f, 0, 10, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_pending_writes(f), 0);
	/* and again: counts restart after the flush */
	for (int i = 0; i < 4; i++)
		assert_int_equal(dur_write(f, PS, 10, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_combination_first_reached(void **state)
{
	struct mmapio_file *f = dur_create("combo", 64 * PS, "bytes=16KiB,writes=3");

	(void)state;
	/* bytes first: one write of 4 pages */
	assert_int_equal(dur_write(f, 0, 4 * PS, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	/* writes first: 3 small writes to one page */
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(dur_write(f, 1, 1, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(dur_write(f, 2, 1, 'a'), 0);
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_always(void **state)
{
	struct mmapio_file *f = dur_create("always", 16 * PS, "always");

	(void)state;
	assert_int_equal(dur_write(f, PS + 5, 2 * PS, 'a'), 0);
	assert_int_equal(atomic_load(&dur.msync), 1);
	assert_int_equal(atomic_load(&dur.fdatasync), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(atomic_load(&dur.msync), 2);
	/* close has nothing left to flush */
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(dur_syncs(), 2);
}

/* Pages left pending under never before an open switched the file to
 * always are made durable by the next write too (a full flush). */
static void test_always_after_never_flushes_old_pages(void **state)
{
	struct mmapio_file *f = dur_create("always2", 16 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 8 * PS, PS, 'a'), 0);
	assert_int_equal(mmapio_close(f), 0);
	f = dur_open("always2", "always");
	assert_int_equal(mmapio_pending_bytes(f), PS);
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(atomic_load(&dur.msync), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_never_and_explicit_flush(void **state)
{
	struct mmapio_file *f = dur_create("never", 16 * PS, "never");

	(void)state;
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(dur_write(f, i * PS, PS, 'a'), 0);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio_pending_bytes(f), 16 * PS);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	/* flush always syncs, even with nothing pending */
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(dur_syncs(), 2);
}

static void test_overlapping_writes_counted_once(void **state)
{
	struct mmapio_file *f = dur_create("overlap", 16 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 0, 3 * PS, 'a'), 0);
	assert_int_equal(dur_write(f, PS, PS, 'b'), 0);
	assert_int_equal(dur_write(f, 2 * PS + 100, 2 * PS, 'c'), 0);  /* 2..4 */
	assert_int_equal(mmapio_pending_bytes(f), 5 * PS);
	assert_int_equal(mmapio_pending_writes(f), 3);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_flush_range_debits_exactly(void **state)
{
	struct mmapio_file *f = dur_create("range", 16 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 0, 10 * PS, 'a'), 0);
	/* [2PS+1, 3PS+1) touches pages 2 and 3 */
	assert_int_equal(mmapio_flush_range(f, 2 * PS + 1, PS), 0);
	assert_int_equal(atomic_load(&dur.msync), 1);
	assert_int_equal(mmapio_pending_bytes(f), 8 * PS);
	assert_int_equal(mmapio_pending_writes(f), 1);
	/* a clean range debits nothing but still syncs */
	assert_int_equal(mmapio_flush_range(f, 12 * PS, 2 * PS), 0);
	assert_int_equal(atomic_load(&dur.msync), 2);
	assert_int_equal(mmapio_pending_bytes(f), 8 * PS);
	/* bounds */
	assert_int_equal(mmapio_flush_range(f, 15 * PS, 2 * PS), -ERANGE);
	assert_int_equal(mmapio_flush_range(f, UINT64_MAX, 2), -ERANGE);
	assert_int_equal(mmapio_flush_range(f, 16 * PS, 0), 0);
	assert_int_equal(atomic_load(&dur.msync), 2);
	/* the rest: pending goes to 0 and so do the write calls */
	assert_int_equal(mmapio_flush_range(f, 0, 16 * PS), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	assert_int_equal(mmapio_pending_writes(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_sticky_error(void **state)
{
	struct mmapio_file *f = dur_create("sticky", 8 * PS, "never");
	struct mmapio_stats st;

	(void)state;
	assert_int_equal(dur_write(f, 0, PS, 'a'), 0);
	atomic_store(&dur.fail_fdatasync, EIO);
	assert_int_equal(mmapio_flush(f), -EIO);
	atomic_store(&dur.fail_fdatasync, 0);
	/* the retry syncs fine but must not report success */
	assert_int_equal(mmapio_flush(f), -EIO);
	assert_int_equal(mmapio_flush_range(f, 0, PS), -EIO);
	/* a later, different failure does not replace the first */
	atomic_store(&dur.fail_fdatasync, ENOSPC);
	assert_int_equal(mmapio_flush(f), -EIO);
	atomic_store(&dur.fail_fdatasync, 0);
	mmapio_stats(f, &st);
	assert_int_equal(st.flush_errors, 2);
	assert_int_equal(st.flushes, 2);
	assert_int_equal(st.sticky_error, -EIO);
	/* a policy flush reports it too: set_policy's and a write's */
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);   /* never: no flush */
	assert_int_equal(mmapio_set_policy(f, &(struct mmapio_policy){
		.kind = MMAPIO_POLICY_THRESHOLD, .writes = 1 }), -EIO);
	assert_int_equal(dur_write(f, 0, 1, 'a'), -EIO);
	/* the last close reports it and clears it */
	assert_int_equal(mmapio_close(f), -EIO);
	f = dur_open("sticky", "never");
	assert_int_equal(mmapio_flush(f), 0);
	mmapio_stats(f, &st);
	assert_int_equal(st.sticky_error, 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_sticky_error_from_policy_flush(void **state)
{
	struct mmapio_file *f = dur_create("sticky2", 8 * PS, "always");

	(void)state;
	atomic_store(&dur.fail_msync, EIO);
	assert_int_equal(dur_write(f, 0, 10, 'a'), -EIO);
	atomic_store(&dur.fail_msync, 0);
	assert_int_equal(dur_write(f, 0, 10, 'a'), -EIO);
	assert_int_equal(mmapio_flush(f), -EIO);
	assert_int_equal(mmapio_close(f), -EIO);
}

static void test_schedule_flush_not_durable(void **state)
{
	struct mmapio_file *f = dur_create("sched", 8 * PS, "never");

	(void)state;
	assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
	assert_int_equal(mmapio_schedule_flush(f, 0, 2 * PS), 0);
	assert_int_equal(atomic_load(&dur.sync_file_range), 1);
	assert_int_equal(dur_syncs(), 0);
	assert_int_equal(mmapio_pending_bytes(f), 2 * PS);   /* nothing debited */
	assert_int_equal(mmapio_schedule_flush(f, 0, 9 * PS), -ERANGE);
	assert_int_equal(mmapio_schedule_flush(f, 0, 0), 0);
	assert_int_equal(atomic_load(&dur.sync_file_range), 1);
	assert_int_equal(mmapio_flush(f), 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_set_policy(void **state)
{
	struct mmapio_file *f = dur_create("setp", 16 * PS, "never");
	struct mmapio_policy p;
	char buf[MMAPIO_POLICY_TEXT_MAX];

	(void)state;
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(dur_write(f, i * PS, 1, 'a'), 0);
	/* a threshold above the counts: nothing yet, applies to next write */
	assert_int_equal(mmapio_policy_parse("bytes=6", &p, NULL, 0), 0);
	p.bytes = 6 * PS;
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(dur_syncs(), 0);
	mmapio_flush_policy(f, &p);
	assert_int_equal(mmapio_policy_format(&p, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "bytes=24KiB");
	assert_int_equal(dur_write(f, 5 * PS, 1, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	/* a lowered threshold the counts already reach flushes now */
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(dur_write(f, i * PS, 1, 'a'), 0);
	assert_int_equal(dur_syncs(), 1);
	assert_int_equal(mmapio_policy_parse("writes=3", &p, NULL, 0), 0);
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(dur_syncs(), 2);
	assert_int_equal(mmapio_pending_writes(f), 0);
	/* switching to always with pending data flushes it */
	assert_int_equal(dur_write(f, 0, 1, 'a'), 0);
	assert_int_equal(mmapio_policy_parse("always", &p, NULL, 0), 0);
	assert_int_equal(mmapio_set_policy(f, &p), 0);
	assert_int_equal(dur_syncs(), 3);
	/* invalid */
	p = (struct mmapio_policy){ .kind = MMAPIO_POLICY_THRESHOLD };
	assert_int_equal(mmapio_set_policy(f, &p), -EINVAL);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_external_write(void **state)
{
	struct mmapio_file *f = dur_create("ext", 16 * PS, "bytes=8KiB");

	(void)state;
	assert_int_equal(mmapio_account_external_write(f, 0, PS), 0);
	assert_int_equal(mmapio_pending_bytes(f), PS);
	assert_int_equal(dur_syncs(), 0);
	/* past the mapped length is fine (the write grew the file) */
	assert_int_equal(mmapio_account_external_write(f, 40 * PS, 1), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 1);
	assert_int_equal(mmapio_account_external_write(f, UINT64_MAX, 2), -ERANGE);
	/* under always: fdatasync, since msync does not cover it */
	assert_int_equal(mmapio_set_policy(f, &(struct mmapio_policy){
		.kind = MMAPIO_POLICY_ALWAYS }), 0);
	assert_int_equal(mmapio_account_external_write(f, 0, 10), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 2);
	assert_int_equal(atomic_load(&dur.msync), 0);
	assert_int_equal(mmapio_pending_bytes(f), 0);
	/* a ranged flush after an external write adds an fdatasync */
	assert_int_equal(mmapio_set_policy(f, &(struct mmapio_policy){
		.kind = MMAPIO_POLICY_NEVER }), 0);
	assert_int_equal(mmapio_account_external_write(f, PS, 10), 0);
	assert_int_equal(mmapio_flush_range(f, 0, 2 * PS), 0);
	assert_int_equal(atomic_load(&dur.fdatasync), 3);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_stats(void **state)
{
	struct mmapio_file *f = dur_create("stats", 16 * PS, "never");
	struct mmapio_stats st;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	mmapio_stats(f, &st);
	assert_int_equal(st.bytes_written, 0);
	assert_int_equal(st.last_flush_ns, 0);
	assert_int_equal(st.flushes, 0);
	assert_int_equal(dur_write(f, 0, 100, 'a'), 0);
	assert_int_equal(dur_write(f, 50, 100, 'a'), 0);
	mmapio_stats(f, &st);
	assert_int_equal(st.bytes_written, 200);
	assert_int_equal(st.writes, 2);
	assert_int_equal(st.pending_bytes, PS);
	assert_int_equal(st.pending_writes, 2);
	atomic_store(&dur.now, 5000000000);
	atomic_store(&dur.sync_cost, 3000000);    /* each sync takes 3 ms */
	assert_int_equal(mmapio_flush(f), 0);
	mmapio_stats(f, &st);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.flush_errors, 0);
	assert_int_equal(st.last_flush_ns, 5003000000);
	assert_int_equal(st.last_flush_duration_ns, 3000000);
	assert_int_equal(st.pending_bytes, 0);
	assert_int_equal(st.pending_writes, 0);
	assert_int_equal(st.bytes_written, 200);   /* cumulative */
	assert_int_equal(st.sticky_error, 0);
	assert_int_equal(mmapio_close(f), 0);
}

static void test_cow_and_anon_not_shared(void **state)
{
	struct mmapio_file *f = dur_create("cowsrc", 4 * PS, "never"), *c, *a;
	struct mmapio_stats st;

	(void)state;
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(mmapio_open_cow(dur_path("cowsrc"), true, &c), 0);
	assert_int_equal(dur_write(c, 0, PS, 'a'), 0);
	assert_int_equal(mmapio_pending_bytes(c), 0);
	/* Nothing to make durable is success, not a positive "error". */
	assert_true(mmapio_is_private(c));
	assert_int_equal(mmapio_flush(c), 0);
	assert_int_equal(mmapio_flush_range(c, 0, PS), 0);
	assert_int_equal(mmapio_schedule_flush(c, 0, PS), 0);
	mmapio_stats(c, &st);
	assert_int_equal(st.writes, 1);
	assert_int_equal(mmapio_close(c), 0);

	assert_int_equal(mmapio_anon(4 * PS, &a), 0);
	assert_int_equal(mmapio_set_policy(a, &(struct mmapio_policy){
		.kind = MMAPIO_POLICY_ALWAYS }), 0);
	assert_int_equal(dur_write(a, 0, PS, 'a'), 0);
	assert_true(mmapio_is_private(a));
	assert_int_equal(mmapio_flush(a), 0);
	assert_int_equal(mmapio_close(a), 0);
	assert_int_equal(dur_syncs(), 0);
}

/* The flush observer sees every sync with what it debited, failures
 * included, and the close rule's flush after the file is gone. */
static struct {
	unsigned calls, errors;
	uint64_t bytes;
} observed;

static void observe_flush(const struct mmapio_flush_event *ev)
{
	observed.calls++;
	observed.bytes += ev->bytes;
	if (ev->error)
		observed.errors++;
}

static void test_flush_observer(void **state)
{
	struct mmapio_file *f = dur_create("observed", 16 * PS, "bytes=8KiB");

	(void)state;
	memset(&observed, 0, sizeof(observed));
	mmapio_set_flush_observer(observe_flush);
	/* a policy flush: two dirty pages */
	assert_int_equal(dur_write(f, 0, 2 * PS, 'a'), 0);
	assert_int_equal(observed.calls, 1);
	assert_int_equal(observed.bytes, 2 * PS);
	/* a ranged flush debits only its pages */
	assert_int_equal(dur_write(f, 4 * PS, 1, 'b'), 0);
	assert_int_equal(mmapio_flush_range(f, 0, PS), 0);
	assert_int_equal(observed.calls, 2);
	assert_int_equal(observed.bytes, 2 * PS);
	/* a failed sync is reported with its error */
	atomic_store(&dur.fail_fdatasync, EIO);
	assert_int_equal(mmapio_flush(f), -EIO);
	atomic_store(&dur.fail_fdatasync, 0);
	assert_int_equal(observed.calls, 3);
	assert_int_equal(observed.errors, 1);
	assert_int_equal(observed.bytes, 3 * PS);
	assert_int_equal(mmapio_close(f), -EIO);
	/* the close rule's flush is reported too */
	f = dur_open("observed", "bytes=8KiB");
	assert_int_equal(dur_write(f, 0, 1, 'c'), 0);
	assert_int_equal(mmapio_close(f), 0);
	assert_int_equal(observed.calls, 4);
	assert_int_equal(observed.bytes, 4 * PS);
	mmapio_set_flush_observer(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, dur_setup, dur_teardown)
		T(test_bytes_threshold_page_multiple),
		T(test_bytes_threshold_not_page_multiple),
		T(test_bytes_threshold_one_big_write),
		T(test_writes_threshold),
		T(test_combination_first_reached),
		T(test_always),
		T(test_always_after_never_flushes_old_pages),
		T(test_never_and_explicit_flush),
		T(test_overlapping_writes_counted_once),
		T(test_flush_range_debits_exactly),
		T(test_sticky_error),
		T(test_sticky_error_from_policy_flush),
		T(test_schedule_flush_not_durable),
		T(test_set_policy),
		T(test_external_write),
		T(test_stats),
		T(test_cow_and_anon_not_shared),
		T(test_flush_observer),
#undef T
	};

	return cmocka_run_group_tests(tests, dur_group_setup, dur_group_teardown);
}
