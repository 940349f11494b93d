/*
 * test_ctl_parse.c — unit tests of the control-command parser
 * (src/fs/ctl_parse.c): every verb's syntax, PATH escapes and
 * normalisation, hostile input (NUL, control bytes, bad UTF-8, escaping
 * paths, huge numbers), range resolution and path escaping.
 *
 * Single-threaded; no files touched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logic/ctl_parse.h"

static struct mmapfs_ctl_cmd cmd;
static char err[MMAPFS_CTL_ERR_MAX];

/* Parses a string literal (which may contain NUL bytes). */
#define PARSE(verb, lit) \
	mmapfs_ctl_parse((verb), (lit), sizeof(lit) - 1, &cmd, err, sizeof(err))

static int parse_str(enum mmapfs_ctl_verb verb, const char *s)
{
	err[0] = '\0';
	return mmapfs_ctl_parse(verb, s, strlen(s), &cmd, err, sizeof(err));
}

/* Expects a failure with ret and a message. */
static void expect_fail(enum mmapfs_ctl_verb verb, const char *s, int ret)
{
	err[0] = '\0';
	assert_int_equal(parse_str(verb, s), ret);
	assert_true(err[0] != '\0');
}

static void test_verb_names(void **state)
{
	enum mmapfs_ctl_verb v;

	(void)state;
	for (unsigned i = 0; i < MMAPFS_CTL_VERB_COUNT; i++) {
		const char *name = mmapfs_ctl_verb_name((enum mmapfs_ctl_verb)i);

		assert_non_null(name);
		assert_int_equal(mmapfs_ctl_verb_from_name(name, &v), 0);
		assert_int_equal(v, i);
	}
	assert_string_equal(mmapfs_ctl_verb_name(MMAPFS_CTL_POLICY), "policy");
	assert_null(mmapfs_ctl_verb_name(MMAPFS_CTL_VERB_COUNT));
	assert_int_equal(mmapfs_ctl_verb_from_name("Flush", &v), -EINVAL);
	assert_int_equal(mmapfs_ctl_verb_from_name("", &v), -EINVAL);
	assert_int_equal(mmapfs_ctl_verb_from_name("flush ", &v), -EINVAL);
}

static void test_prefetch_forms(void **state)
{
	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "data/big.bin\n"), 0);
	assert_int_equal(cmd.verb, MMAPFS_CTL_PREFETCH);
	assert_string_equal(cmd.path, "data/big.bin");
	assert_int_equal(cmd.flags, 0);
	assert_int_equal(cmd.off, 0);
	assert_int_equal(cmd.len, 0);
	assert_false(cmd.all);

	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 4096"), 0);
	assert_int_equal(cmd.flags, MMAPFS_CTL_HAS_OFF);
	assert_int_equal(cmd.off, 4096);

	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 4096 65536\n"), 0);
	assert_int_equal(cmd.flags, MMAPFS_CTL_HAS_OFF | MMAPFS_CTL_HAS_LEN);
	assert_int_equal(cmd.off, 4096);
	assert_int_equal(cmd.len, 65536);

	/* Runs of spaces separate; leading and trailing spaces are ignored. */
	assert_int_equal(parse_str(MMAPFS_CTL_LOCK, "  f   1  2  \n"), 0);
	assert_string_equal(cmd.path, "f");
	assert_int_equal(cmd.off, 1);
	assert_int_equal(cmd.len, 2);

	expect_fail(MMAPFS_CTL_PREFETCH, "f 1 2 3", -EINVAL);
	expect_fail(MMAPFS_CTL_UNLOCK, "f 1 2 3", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "\n", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "   \n", -EINVAL);
}

static void test_newline_rules(void **state)
{
	(void)state;
	/* Only one trailing newline is ignored; raw tabs and newlines inside
	 * are control characters. */
	expect_fail(MMAPFS_CTL_EVICT, "f\n\n", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "a\nb", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "a\tb", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "f\r\n", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "f\x7f", -EINVAL);
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT, "f\n"), 0);
	assert_string_equal(cmd.path, "f");
}

static void test_path_escapes(void **state)
{
	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT,
				   "my\\ dir/a\\tb\\nc\\\\d\n"), 0);
	assert_string_equal(cmd.path, "my dir/a\tb\nc\\d");

	/* An escaped space does not split fields. */
	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "a\\ 1 2"), 0);
	assert_string_equal(cmd.path, "a 1");
	assert_int_equal(cmd.off, 2);
	assert_int_equal(cmd.flags, MMAPFS_CTL_HAS_OFF);

	expect_fail(MMAPFS_CTL_EVICT, "a\\x", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "a\\/b", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "a\\", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "a\\\n", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "\\.\\./x", -EINVAL);
}

static void test_path_escaping_rejected(void **state)
{
	(void)state;
	expect_fail(MMAPFS_CTL_PREFETCH, "/etc/passwd", -EPERM);
	expect_fail(MMAPFS_CTL_PREFETCH, "//etc/passwd", -EPERM);
	expect_fail(MMAPFS_CTL_PREFETCH, "..", -EPERM);
	expect_fail(MMAPFS_CTL_PREFETCH, "../x", -EPERM);
	expect_fail(MMAPFS_CTL_PREFETCH, "a/../../etc/shadow", -EPERM);
	/* Even when it would stay inside: ".." is never accepted. */
	expect_fail(MMAPFS_CTL_PREFETCH, "a/../b", -EPERM);
	expect_fail(MMAPFS_CTL_PREFETCH, "a/..", -EPERM);
	expect_fail(MMAPFS_CTL_FLUSH, "./../x", -EPERM);
	expect_fail(MMAPFS_CTL_POLICY, "../x never", -EPERM);

	/* Names that merely contain dots are fine. */
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT, ".../..a/b..\n"), 0);
	assert_string_equal(cmd.path, ".../..a/b..");
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT, ".hidden"), 0);
	assert_string_equal(cmd.path, ".hidden");
}

static void test_path_normalised(void **state)
{
	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT, "./a//b/./c/"), 0);
	assert_string_equal(cmd.path, "a/b/c");
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT, "a/."), 0);
	assert_string_equal(cmd.path, "a");
	expect_fail(MMAPFS_CTL_EVICT, ".", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "./", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "././/.", -EINVAL);
}

static void test_hostile_bytes(void **state)
{
	(void)state;
	err[0] = '\0';
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "a\0b\n"), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(PARSE(MMAPFS_CTL_RELOAD, "\0"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\0"), -EINVAL);
	/* Overlong '/', surrogate, past U+10FFFF, stray continuation, cut. */
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xc0\xaf"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xe0\x80\xaf"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xed\xa0\x80"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xf4\x90\x80\x80"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xf5\x80\x80\x80"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "a\x80"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "a\xe2\x82"), -EINVAL);
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xc2\x85"), 0); /* U+0085 */
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT,
			       "caf\xc3\xa9/\xf0\x9f\x92\xbe \n"), 0);
	assert_string_equal(cmd.path, "caf\xc3\xa9/\xf0\x9f\x92\xbe");
	assert_int_equal(PARSE(MMAPFS_CTL_EVICT, "\xf4\x8f\xbf\xbf"), 0);
}

static void test_length_limit(void **state)
{
	char *buf = malloc(MMAPFS_CTL_MAX + 2);

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', MMAPFS_CTL_MAX + 1);
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, buf, MMAPFS_CTL_MAX,
					  &cmd, err, sizeof(err)), 0);
	assert_int_equal(strlen(cmd.path), MMAPFS_CTL_MAX);
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, buf, MMAPFS_CTL_MAX + 1,
					  &cmd, err, sizeof(err)), -EINVAL);
	/* The limit is on the write, newline included. */
	buf[MMAPFS_CTL_MAX] = '\n';
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, buf, MMAPFS_CTL_MAX + 1,
					  &cmd, err, sizeof(err)), -EINVAL);
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_RELOAD, buf, MMAPFS_CTL_MAX + 1,
					  &cmd, err, sizeof(err)), -EINVAL);
	free(buf);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH,
				   "f 18446744073709551615 0"), 0);
	assert_true(cmd.off == UINT64_MAX);
	assert_int_equal(cmd.len, 0);
	assert_int_equal(cmd.flags, MMAPFS_CTL_HAS_OFF | MMAPFS_CTL_HAS_LEN);
	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 007"), 0);
	assert_int_equal(cmd.off, 7);

	expect_fail(MMAPFS_CTL_PREFETCH, "f 18446744073709551616", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f 0 99999999999999999999", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f +1", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f -1", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f 0x10", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f 1e3", -EINVAL);
	/* Sizes take the config's binary units. */
	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 1K 1M"), 0);
	assert_int_equal(cmd.off, 1024);
	assert_int_equal(cmd.len, 1048576);
	assert_int_equal(parse_str(MMAPFS_CTL_LOCK, "f 4KiB 2GiB"), 0);
	assert_int_equal(cmd.off, 4096);
	assert_true(cmd.len == UINT64_C(2) << 30);
	expect_fail(MMAPFS_CTL_PREFETCH, "f 1k", -EINVAL);
	assert_non_null(strstr(err, "unknown unit"));
	expect_fail(MMAPFS_CTL_PREFETCH, "f 1KB", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f K", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f 17179869184G", -EINVAL);
	assert_non_null(strstr(err, "too large"));
	expect_fail(MMAPFS_CTL_PREFETCH, "f 1\\ ", -EINVAL);
	expect_fail(MMAPFS_CTL_PREFETCH, "f \xef\xbc\x91", -EINVAL); /* fullwidth 1 */
	assert_non_null(strstr(err, "OFFSET"));
	expect_fail(MMAPFS_CTL_LOCK, "f 1 x", -EINVAL);
	assert_non_null(strstr(err, "LENGTH"));
}

static void test_advise(void **state)
{
	static const struct {
		const char *text;
		enum mmapio_advice advice;
	} cases[] = {
		{ "f normal", MMAPIO_ADV_NORMAL },
		{ "f random", MMAPIO_ADV_RANDOM },
		{ "f sequential", MMAPIO_ADV_SEQUENTIAL },
		{ "f willneed", MMAPIO_ADV_WILLNEED },
		{ "f dontneed", MMAPIO_ADV_DONTNEED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_str(MMAPFS_CTL_ADVISE, cases[i].text), 0);
		assert_int_equal(cmd.advice, cases[i].advice);
		assert_int_equal(cmd.flags, 0);
	}
	assert_int_equal(parse_str(MMAPFS_CTL_ADVISE, "f willneed 10 20\n"), 0);
	assert_int_equal(cmd.advice, MMAPIO_ADV_WILLNEED);
	assert_int_equal(cmd.off, 10);
	assert_int_equal(cmd.len, 20);
	assert_int_equal(cmd.flags, MMAPFS_CTL_HAS_OFF | MMAPFS_CTL_HAS_LEN);

	expect_fail(MMAPFS_CTL_ADVISE, "f", -EINVAL);
	expect_fail(MMAPFS_CTL_ADVISE, "f WILLNEED", -EINVAL);
	expect_fail(MMAPFS_CTL_ADVISE, "f hugepage", -EINVAL);
	assert_non_null(strstr(err, "hugepage"));
	expect_fail(MMAPFS_CTL_ADVISE, "f 10", -EINVAL);
	expect_fail(MMAPFS_CTL_ADVISE, "f random 1 2 3", -EINVAL);
}

static void test_flush_evict(void **state)
{
	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_FLUSH, "*\n"), 0);
	assert_true(cmd.all);
	assert_string_equal(cmd.path, "");
	assert_int_equal(parse_str(MMAPFS_CTL_FLUSH, " * "), 0);
	assert_true(cmd.all);
	/* A file named "*". */
	assert_int_equal(parse_str(MMAPFS_CTL_FLUSH, "./*"), 0);
	assert_false(cmd.all);
	assert_string_equal(cmd.path, "*");
	assert_int_equal(parse_str(MMAPFS_CTL_FLUSH, "logs/app.log"), 0);
	assert_false(cmd.all);
	assert_string_equal(cmd.path, "logs/app.log");

	expect_fail(MMAPFS_CTL_FLUSH, "* x", -EINVAL);
	expect_fail(MMAPFS_CTL_FLUSH, "f 0 1", -EINVAL);
	expect_fail(MMAPFS_CTL_FLUSH, "", -EINVAL);
	expect_fail(MMAPFS_CTL_EVICT, "f 0", -EINVAL);
	assert_non_null(strstr(err, "usage: evict PATH"));
}

static void test_policy(void **state)
{
	char text[MMAPIO_POLICY_TEXT_MAX];

	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_POLICY,
				   "logs/app.log bytes=4MiB,ms=500\n"), 0);
	assert_string_equal(cmd.path, "logs/app.log");
	assert_false(cmd.policy_default);
	assert_int_equal(cmd.policy.kind, MMAPIO_POLICY_THRESHOLD);
	assert_int_equal(cmd.policy.bytes, 4u << 20);
	assert_int_equal(cmd.policy.writes, 0);
	assert_int_equal(cmd.policy.ms, 500);
	assert_int_equal(mmapio_policy_format(&cmd.policy, text, sizeof(text)),
			 (int)strlen("bytes=4MiB,ms=500"));
	assert_string_equal(text, "bytes=4MiB,ms=500");

	assert_int_equal(parse_str(MMAPFS_CTL_POLICY, "db/x always"), 0);
	assert_int_equal(cmd.policy.kind, MMAPIO_POLICY_ALWAYS);
	assert_int_equal(parse_str(MMAPFS_CTL_POLICY, "db/x never"), 0);
	assert_int_equal(cmd.policy.kind, MMAPIO_POLICY_NEVER);
	assert_int_equal(parse_str(MMAPFS_CTL_POLICY, "db/x default\n"), 0);
	assert_true(cmd.policy_default);

	expect_fail(MMAPFS_CTL_POLICY, "f", -EINVAL);
	expect_fail(MMAPFS_CTL_POLICY, "f bytes=0", -EINVAL);
	assert_non_null(strstr(err, "POLICY"));
	expect_fail(MMAPFS_CTL_POLICY, "f sometimes", -EINVAL);
	expect_fail(MMAPFS_CTL_POLICY, "f bytes=4MiB, ms=500", -EINVAL);
	expect_fail(MMAPFS_CTL_POLICY, "f never\\ ", -EINVAL);
	expect_fail(MMAPFS_CTL_POLICY, "f Default", -EINVAL);
}

static void test_reload(void **state)
{
	(void)state;
	assert_int_equal(PARSE(MMAPFS_CTL_RELOAD, ""), 0);
	assert_int_equal(cmd.verb, MMAPFS_CTL_RELOAD);
	assert_string_equal(cmd.path, "");
	assert_int_equal(PARSE(MMAPFS_CTL_RELOAD, "\n"), 0);
	assert_int_equal(PARSE(MMAPFS_CTL_RELOAD, "now please \\q ../../x\n"), 0);
	assert_string_equal(cmd.path, "");
	assert_int_equal(PARSE(MMAPFS_CTL_RELOAD, "a\x01"), -EINVAL);
}

static void test_err_optional(void **state)
{
	(void)state;
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, "/x", 2, &cmd,
					  NULL, 0), -EPERM);
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, "a b", 3, &cmd,
					  NULL, 0), -EINVAL);
	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_VERB_COUNT, "a", 1, &cmd,
					  err, sizeof(err)), -EINVAL);
	/* A short error buffer is cut, not overrun. */
	char small[8];

	assert_int_equal(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, "/x", 2, &cmd,
					  small, sizeof(small)), -EPERM);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_resolve_range(void **state)
{
	uint64_t off, len;

	(void)state;
	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f"), 0);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 1000, &off, &len, err,
						  sizeof(err)), 0);
	assert_int_equal(off, 0);
	assert_int_equal(len, 1000);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 0, &off, &len, err,
						  sizeof(err)), 0);
	assert_int_equal(len, 0);

	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 100"), 0);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 1000, &off, &len, err,
						  sizeof(err)), 0);
	assert_int_equal(off, 100);
	assert_int_equal(len, 900);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 100, &off, &len, err,
						  sizeof(err)), 0);
	assert_int_equal(len, 0);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 99, &off, &len, err,
						  sizeof(err)), -EINVAL);

	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 100 900"), 0);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 1000, &off, &len, err,
						  sizeof(err)), 0);
	assert_int_equal(off, 100);
	assert_int_equal(len, 900);
	err[0] = '\0';
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, 999, &off, &len, err,
						  sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "past the end"));

	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 1 18446744073709551615"), 0);
	err[0] = '\0';
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, UINT64_MAX, &off, &len,
						  err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "overflow"));

	assert_int_equal(parse_str(MMAPFS_CTL_PREFETCH, "f 0 18446744073709551615"), 0);
	assert_int_equal(mmapfs_ctl_resolve_range(&cmd, UINT64_MAX, &off, &len,
						  err, sizeof(err)), 0);
	assert_true(len == UINT64_MAX);
}

static void test_escape_path(void **state)
{
	char buf[64];
	const char *path = "my dir/a\tb\nc\\d";

	(void)state;
	assert_int_equal(mmapfs_ctl_escape_path(path, buf, sizeof(buf)),
			 strlen("my\\ dir/a\\tb\\nc\\\\d"));
	assert_string_equal(buf, "my\\ dir/a\\tb\\nc\\\\d");
	/* Round trip through the parser. */
	assert_int_equal(parse_str(MMAPFS_CTL_EVICT, buf), 0);
	assert_string_equal(cmd.path, path);

	/* Cut, snprintf-style. */
	assert_int_equal(mmapfs_ctl_escape_path("a b c", buf, 4), 7);
	assert_string_equal(buf, "a\\ ");
	assert_int_equal(mmapfs_ctl_escape_path("abc", NULL, 0), 3);
}

static void test_utf8_char_len(void **state)
{
	(void)state;
	assert_int_equal(mmapfs_utf8_char_len("a", 1), 1);
	assert_int_equal(mmapfs_utf8_char_len("\xc3\xa9", 2), 2);
	assert_int_equal(mmapfs_utf8_char_len("\xc3\xa9", 1), 0);
	assert_int_equal(mmapfs_utf8_char_len("\xe2\x82\xac", 3), 3);
	assert_int_equal(mmapfs_utf8_char_len("\xf0\x9f\x92\xbe", 4), 4);
	assert_int_equal(mmapfs_utf8_char_len("\xc1\xbf", 2), 0);
	assert_int_equal(mmapfs_utf8_char_len("\xbf", 1), 0);
	assert_int_equal(mmapfs_utf8_char_len("\xff", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_prefetch_forms),
		cmocka_unit_test(test_newline_rules),
		cmocka_unit_test(test_path_escapes),
		cmocka_unit_test(test_path_escaping_rejected),
		cmocka_unit_test(test_path_normalised),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_advise),
		cmocka_unit_test(test_flush_evict),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_err_optional),
		cmocka_unit_test(test_resolve_range),
		cmocka_unit_test(test_escape_path),
		cmocka_unit_test(test_utf8_char_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
