/*
 * test_policy.c — unit tests of src/core/policy.c: parsing (every accepted
 * form and every error class with its message), validation, equality, the
 * canonical printer, and round trips over generated policies.
 * Pure functions: no files, no threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)

static void expect_policy(const char *text, enum mmapio_policy_kind kind,
			  uint64_t bytes, uint64_t writes, uint64_t ms)
{
	struct mmapio_policy p;
	char err[160] = "";
	int rc = mmapio_policy_parse(text, &p, err, sizeof(err));

	if (rc)
		fail_msg("'%s' rejected: %s", text, err);
	assert_int_equal(p.kind, kind);
	assert_int_equal(p.bytes, bytes);
	assert_int_equal(p.writes, writes);
	assert_int_equal(p.ms, ms);
	assert_int_equal(mmapio_policy_validate(&p), 0);
}

/* text must be rejected with -EINVAL and a message containing what. */
static void expect_error(const char *text, const char *what)
{
	struct mmapio_policy p = { .kind = MMAPIO_POLICY_ALWAYS };
	char err[160] = "";
	int rc = mmapio_policy_parse(text, &p, err, sizeof(err));

	if (rc != -EINVAL)
		fail_msg("'%s' gave %d, expected -EINVAL", text, rc);
	if (!strstr(err, what))
		fail_msg("'%s': message '%s' lacks '%s'", text, err, what);
	/* out untouched on failure */
	assert_int_equal(p.kind, MMAPIO_POLICY_ALWAYS);
}

static void test_parse_keywords(void **state)
{
	(void)state;
	expect_policy("never", MMAPIO_POLICY_NEVER, 0, 0, 0);
	expect_policy("always", MMAPIO_POLICY_ALWAYS, 0, 0, 0);
	expect_policy("  never\t", MMAPIO_POLICY_NEVER, 0, 0, 0);
}

static void test_parse_thresholds(void **state)
{
	(void)state;
	expect_policy("bytes=4MiB,ms=500", MMAPIO_POLICY_THRESHOLD, 4 * MIB, 0, 500);
	expect_policy("ms=500,bytes=4M", MMAPIO_POLICY_THRESHOLD, 4 * MIB, 0, 500);
	expect_policy("writes=1000", MMAPIO_POLICY_THRESHOLD, 0, 1000, 0);
	expect_policy("bytes=1", MMAPIO_POLICY_THRESHOLD, 1, 0, 0);
	expect_policy("bytes=3K", MMAPIO_POLICY_THRESHOLD, 3 * KIB, 0, 0);
	expect_policy("bytes=3KiB", MMAPIO_POLICY_THRESHOLD, 3 * KIB, 0, 0);
	expect_policy("bytes=2G", MMAPIO_POLICY_THRESHOLD, 2 * GIB, 0, 0);
	expect_policy("bytes=2GiB", MMAPIO_POLICY_THRESHOLD, 2 * GIB, 0, 0);
	expect_policy("bytes=007", MMAPIO_POLICY_THRESHOLD, 7, 0, 0);
	expect_policy(" bytes = 8KiB , writes= 3 ,ms =1 ",
		      MMAPIO_POLICY_THRESHOLD, 8 * KIB, 3, 1);
	expect_policy("bytes=18446744073709551615", MMAPIO_POLICY_THRESHOLD,
		      UINT64_MAX, 0, 0);
	expect_policy("writes=18446744073709551615", MMAPIO_POLICY_THRESHOLD,
		      0, UINT64_MAX, 0);
	expect_policy("bytes=17179869183G", MMAPIO_POLICY_THRESHOLD,
		      17179869183ull * GIB, 0, 0);
}

static void test_parse_errors(void **state)
{
	char text[64];

	(void)state;
	expect_error("", "empty");
	expect_error("   ", "empty");
	expect_error("sometimes", "unknown key 'sometimes'");
	expect_error("size=4", "unknown key 'size'");
	expect_error("bytes", "missing value for 'bytes'");
	expect_error("bytes=", "missing value for 'bytes'");
	expect_error("ms= ", "missing value for 'ms'");
	expect_error("=5", "missing key");
	expect_error("bytes=abc", "bad number 'abc'");
	expect_error("bytes=+5", "bad number");
	expect_error("bytes=0x10", "unknown unit 'x10'");
	expect_error("bytes=0", "must not be zero");
	expect_error("bytes=0KiB", "must not be zero");
	expect_error("writes=0", "must not be zero");
	expect_error("ms=0", "must not be zero");
	expect_error("bytes=-1", "negative");
	expect_error("ms=-500", "negative");
	expect_error("bytes=18446744073709551616", "overflows");
	expect_error("writes=99999999999999999999", "overflows");
	expect_error("bytes=17179869184G", "overflows");
	expect_error("bytes=16777216T", "unknown unit 'T'");
	snprintf(text, sizeof(text), "ms=%" PRIu64, MMAPIO_POLICY_MS_MAX + 1);
	expect_error(text, "overflows");
	expect_error("bytes=4MB", "unknown unit 'MB'");
	expect_error("bytes=4k", "unknown unit 'k'");
	expect_error("bytes=4mib", "unknown unit 'mib'");
	expect_error("bytes=4 MiB", "unknown unit");
	expect_error("writes=4K", "'writes' takes a plain number");
	expect_error("ms=4K", "'ms' takes a plain number");
	expect_error("ms=1.5", "'ms' takes a plain number");
	expect_error("bytes=1,bytes=2", "duplicate key 'bytes'");
	expect_error("ms=1,writes=2,ms=1", "duplicate key 'ms'");
	expect_error("never,bytes=1", "'never' cannot be combined");
	expect_error("bytes=1,always", "'always' cannot be combined");
	expect_error("never,always", "'never' cannot be combined");
	expect_error("bytes=1,", "empty item");
	expect_error(",bytes=1", "empty item");
	expect_error("bytes=1,,ms=2", "empty item");
	expect_error("Never", "unknown key 'Never'");
	expect_error("BYTES=1", "unknown key 'BYTES'");
}

static void test_parse_null_and_short_err(void **state)
{
	struct mmapio_policy p;
	char err[8];

	(void)state;
	assert_int_equal(mmapio_policy_parse(NULL, &p, NULL, 0), -EINVAL);
	assert_int_equal(mmapio_policy_parse("bogus", &p, NULL, 0), -EINVAL);
	/* The message is truncated, never overrun. */
	assert_int_equal(mmapio_policy_parse("bogus", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_validate(void **state)
{
	struct mmapio_policy p = { .kind = MMAPIO_POLICY_NEVER };

	(void)state;
	assert_int_equal(mmapio_policy_validate(&p), 0);
	p.bytes = 1;
	assert_int_equal(mmapio_policy_validate(&p), -EINVAL);
	p = (struct mmapio_policy){ .kind = MMAPIO_POLICY_ALWAYS, .ms = 1 };
	assert_int_equal(mmapio_policy_validate(&p), -EINVAL);
	p = (struct mmapio_policy){ .kind = MMAPIO_POLICY_THRESHOLD };
	assert_int_equal(mmapio_policy_validate(&p), -EINVAL);
	p.writes = 1;
	assert_int_equal(mmapio_policy_validate(&p), 0);
	p.ms = MMAPIO_POLICY_MS_MAX + 1;
	assert_int_equal(mmapio_policy_validate(&p), -EINVAL);
	p.kind = (enum mmapio_policy_kind)7;
	assert_int_equal(mmapio_policy_validate(&p), -EINVAL);
	assert_int_equal(mmapio_policy_validate(NULL), -EINVAL);
}

static void test_equal(void **state)
{
	struct mmapio_policy a = { .kind = MMAPIO_POLICY_THRESHOLD, .bytes = 4096 };
	struct mmapio_policy b = a;

	(void)state;
	assert_true(mmapio_policy_equal(&a, &b));
	b.ms = 1;
	assert_false(mmapio_policy_equal(&a, &b));
	b = (struct mmapio_policy){ .kind = MMAPIO_POLICY_NEVER };
	assert_false(mmapio_policy_equal(&a, &b));
	a = (struct mmapio_policy){ .kind = MMAPIO_POLICY_NEVER };
	assert_true(mmapio_policy_equal(&a, &b));
}

static void expect_format(const char *in, const char *canonical)
{
	struct mmapio_policy p;
	char buf[MMAPIO_POLICY_TEXT_MAX];
	int n;

	assert_int_equal(mmapio_policy_parse(in, &p, NULL, 0), 0);
	n = mmapio_policy_format(&p, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(canonical));
	assert_string_equal(buf, canonical);
}

static void test_format_canonical(void **state)
{
	(void)state;
	expect_format("never", "never");
	expect_format(" always ", "always");
	expect_format("ms=500,bytes=4194304", "bytes=4MiB,ms=500");
	expect_format("bytes=4096K", "bytes=4MiB");
	expect_format("bytes=1024M", "bytes=1GiB");
	expect_format("bytes=1536K", "bytes=1536KiB");
	expect_format("bytes=1536", "bytes=1536");
	expect_format("bytes=1025", "bytes=1025");
	expect_format("bytes=3072", "bytes=3KiB");
	expect_format("bytes=5G", "bytes=5GiB");
	expect_format("bytes=2048G", "bytes=2048GiB");
	expect_format("ms=7,writes=3,bytes=1", "bytes=1,writes=3,ms=7");
	expect_format("writes=1,ms=2", "writes=1,ms=2");
	expect_format("ms=1000", "ms=1000");
	expect_format("bytes=18446744073709551615,writes=18446744073709551615,ms=1",
		      "bytes=18446744073709551615,writes=18446744073709551615,ms=1");
}

static void test_format_truncation_and_invalid(void **state)
{
	struct mmapio_policy p = { .kind = MMAPIO_POLICY_THRESHOLD,
				   .bytes = 4 * MIB, .ms = 500 };
	char buf[6];

	(void)state;
	/* snprintf-style: returns the full length, writes what fits. */
	assert_int_equal(mmapio_policy_format(&p, buf, sizeof(buf)), 17);
	assert_string_equal(buf, "bytes");
	assert_int_equal(mmapio_policy_format(&p, NULL, 0), 17);
	p.kind = MMAPIO_POLICY_NEVER;
	assert_int_equal(mmapio_policy_format(&p, buf, sizeof(buf)), -EINVAL);
}

/* xorshift64*: deterministic generated values. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* A value that often lands on unit multiples and edges. */
static uint64_t gen_value(uint64_t *s)
{
	static const uint64_t units[] = { 1, KIB, MIB, GIB };
	uint64_t v;

	switch (rnd(s) % 5) {
	case 0:
		v = rnd(s);
		break;
	case 1:
		v = (rnd(s) % 100000 + 1) * units[rnd(s) % 4];
		break;
	case 2:
		v = rnd(s) % 4096 + 1;
		break;
	case 3:
		v = UINT64_MAX - rnd(s) % 3;
		break;
	default:
		v = ((uint64_t)1 << (rnd(s) % 64)) + (rnd(s) % 3) - 1;
		break;
	}
	return v ? v : 1;
}

static void test_round_trip_generated(void **state)
{
	uint64_t seed = 0x9E3779B97F4A7C15ull;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		struct mmapio_policy p = { .kind = MMAPIO_POLICY_THRESHOLD }, q;
		char buf[MMAPIO_POLICY_TEXT_MAX], buf2[MMAPIO_POLICY_TEXT_MAX];
		char err[160];
		unsigned which = (unsigned)(rnd(&seed) % 8);
		int n;

		if (which == 0) {
			p.kind = rnd(&seed) & 1 ? MMAPIO_POLICY_NEVER
						: MMAPIO_POLICY_ALWAYS;
		} else {
			if (which & 1)
				p.bytes = gen_value(&seed);
			if (which & 2)
				p.writes = gen_value(&seed);
			if (which & 4)
				p.ms = gen_value(&seed) % MMAPIO_POLICY_MS_MAX + 1;
		}
		n = mmapio_policy_format(&p, buf, sizeof(buf));
		assert_true(n > 0 && n < MMAPIO_POLICY_TEXT_MAX);
		if (mmapio_policy_parse(buf, &q, err, sizeof(err)))
			fail_msg("'%s' does not parse back: %s", buf, err);
		if (!mmapio_policy_equal(&p, &q))
			fail_msg("'%s' parsed back differently", buf);
		/* format of a parsed text is canonical: a fixed point */
		assert_int_equal(mmapio_policy_format(&q, buf2, sizeof(buf2)), n);
		assert_string_equal(buf, buf2);
	}
}

/* Non-canonical spellings of generated values format to the canonical. */
static void test_noncanonical_inputs_generated(void **state)
{
	static const char *const unit_names[][2] = {
		{ "K", "KiB" }, { "M", "MiB" }, { "G", "GiB" },
	};
	uint64_t seed = 42;

	(void)state;
	for (int i = 0; i < 50000; i++) {
		uint64_t n = rnd(&seed) % 5000000 + 1;
		unsigned u = (unsigned)(rnd(&seed) % 3);
		uint64_t factor = u == 0 ? KIB : u == 1 ? MIB : GIB;
		char in[64], canon[MMAPIO_POLICY_TEXT_MAX], again[MMAPIO_POLICY_TEXT_MAX];
		struct mmapio_policy p, q;

		if (n > UINT64_MAX / factor)
			continue;
		snprintf(in, sizeof(in), " ms=%" PRIu64 " , bytes=%" PRIu64 "%s",
			 n, n, unit_names[u][rnd(&seed) & 1]);
		assert_int_equal(mmapio_policy_parse(in, &p, NULL, 0), 0);
		assert_int_equal(p.bytes, n * factor);
		assert_int_equal(p.ms, n);
		assert_true(mmapio_policy_format(&p, canon, sizeof(canon)) > 0);
		assert_int_equal(mmapio_policy_parse(canon, &q, NULL, 0), 0);
		assert_true(mmapio_policy_equal(&p, &q));
		mmapio_policy_format(&q, again, sizeof(again));
		assert_string_equal(canon, again);
		assert_true(strncmp(canon, "bytes=", 6) == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_keywords),
		cmocka_unit_test(test_parse_thresholds),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_null_and_short_err),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_format_canonical),
		cmocka_unit_test(test_format_truncation_and_invalid),
		cmocka_unit_test(test_round_trip_generated),
		cmocka_unit_test(test_noncanonical_inputs_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
