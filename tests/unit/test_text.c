/*
 * test_text.c — unit tests of the text helpers of mmapfsctl that live in
 * the logic library: terminal escaping and fitting (text_fit.c), JSON
 * (stats_json.c) and byte sizes with units (size_parse.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logic/size_parse.h"
#include "logic/stats_json.h"
#include "logic/text_fit.h"

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(mmapfs_text_escape("plain", out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	mmapfs_text_escape("esc\x1b[31mred\x7f", out, sizeof(out));
	assert_string_equal(out, "esc\\x1b[31mred\\x7f");
	mmapfs_text_escape("a\\b", out, sizeof(out));
	assert_string_equal(out, "a\\b");
	/* Valid UTF-8 stays, invalid bytes are escaped. */
	mmapfs_text_escape("caf\xc3\xa9\xff", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9\\xff");
	/* Too small: cut at a whole escape. */
	mmapfs_text_escape("\x01\x02", out, 6);
	assert_string_equal(out, "\\x01");
}

/* Issue 22: a hostile file name (OSC title, screen clear, carriage
 * return), every C0 byte, C1 controls in UTF-8 and malformed UTF-8. */
static void test_escape_terminal_injection(void **state)
{
	char out[256], in[2], want[8];

	(void)state;
	mmapfs_text_escape("esc\x1b]0;owned\x07\x1b[2J\r!", out, sizeof(out));
	assert_string_equal(out, "esc\\x1b]0;owned\\x07\\x1b[2J\\x0d!");
	for (int b = 1; b < 0x80; b++) {
		in[0] = (char)b;
		in[1] = '\0';
		if (b < 0x20 || b == 0x7f)
			snprintf(want, sizeof(want), "\\x%02x", b);
		else
			snprintf(want, sizeof(want), "%c", b);
		mmapfs_text_escape(in, out, sizeof(out));
		assert_string_equal(out, want);
	}
	/* C1 controls (U+009B CSI, U+0085 NEL); U+00A0 is printable. */
	mmapfs_text_escape("x\xc2\x9b" "2J\xc2\x85\xc2\xa0", out, sizeof(out));
	assert_string_equal(out, "x\\xc2\\x9b2J\\xc2\\x85\xc2\xa0");
	/* A lone 8-bit CSI, an overlong ESC, a surrogate, a cut sequence. */
	mmapfs_text_escape("\x9b" "2J", out, sizeof(out));
	assert_string_equal(out, "\\x9b2J");
	mmapfs_text_escape("\xc0\x9b", out, sizeof(out));
	assert_string_equal(out, "\\xc0\\x9b");
	mmapfs_text_escape("\xed\xa0\x80", out, sizeof(out));
	assert_string_equal(out, "\\xed\\xa0\\x80");
	mmapfs_text_escape("\xe2\x82" "A", out, sizeof(out));
	assert_string_equal(out, "\\xe2\\x82A");
	/* Room for "x" and half a C1 escape: the escape is left out whole. */
	mmapfs_text_escape("x\xc2\x9b", out, 6);
	assert_string_equal(out, "x");
}

static void test_fit(void **state)
{
	char out[64];

	(void)state;
	mmapfs_text_fit("short", 10, true, out, sizeof(out));
	assert_string_equal(out, "short");
	mmapfs_text_fit("dir/sub/file.log", 10, true, out, sizeof(out));
	assert_string_equal(out, "\xe2\x80\xa6" "/file.log");
	assert_int_equal(mmapfs_text_width(out), 10);
	mmapfs_text_fit("bytes=64KiB,ms=1000", 18, false, out, sizeof(out));
	assert_string_equal(out, "bytes=64KiB,ms=10\xe2\x80\xa6");
	mmapfs_text_fit("bytes=64KiB,ms=1000", 19, false, out, sizeof(out));
	assert_string_equal(out, "bytes=64KiB,ms=1000");
	/* Characters, not bytes: é is one column and never split. */
	mmapfs_text_fit("\xc3\xa9\xc3\xa9\xc3\xa9", 2, false, out, sizeof(out));
	assert_string_equal(out, "\xc3\xa9\xe2\x80\xa6");
	mmapfs_text_fit("abc", 0, true, out, sizeof(out));
	assert_string_equal(out, "");
	mmapfs_text_fit("abcdef", 1, true, out, sizeof(out));
	assert_string_equal(out, "\xe2\x80\xa6");
}

static void test_json(void **state)
{
	struct mmapfs_stats_row rows[2];
	struct mmapfs_json_total t[2] = {
		{ "version", "mmapfs 1.0" }, { "flushes", "17" },
	};
	struct mmapfs_buf b = MMAPFS_BUF_INIT;

	(void)state;
	assert_int_equal(mmapfs_json_string(&b, "q\"\\\n\x1b\xff\xc3\xa9"), 0);
	assert_string_equal(b.data, "\"q\\\"\\\\\\u000a\\u001b\\ufffd\xc3\xa9\"");
	mmapfs_buf_free(&b);
	assert_int_equal(mmapfs_stats_json_totals("/m", t, 2, &b), 0);
	assert_string_equal(b.data, "{\"mount\": \"/m\", \"version\": "
			    "\"mmapfs 1.0\", \"flushes\": 17}\n");
	mmapfs_buf_free(&b);
	memset(rows, 0, sizeof(rows));
	rows[0].relpath = "a";
	rows[0].size = 10;
	rows[0].mapped = true;
	rows[0].rw = true;
	rows[0].policy.kind = MMAPIO_POLICY_ALWAYS;
	rows[0].flushes = 3;
	rows[0].last_flush_age_ms = 5;
	rows[1].relpath = "b";
	rows[1].policy.kind = MMAPIO_POLICY_NEVER;
	rows[1].last_flush_age_ms = -1;
	assert_int_equal(mmapfs_stats_json_files(rows, 2, &b), 0);
	assert_string_equal(b.data,
		"[{\"path\": \"a\", \"size\": 10, \"mapped\": true, \"mode\": \"rw\", "
		"\"policy\": \"always\", \"pending_bytes\": 0, \"pending_writes\": 0, "
		"\"flushes\": 3, \"flush_errors\": 0, \"last_flush_age_ms\": 5},\n"
		" {\"path\": \"b\", \"size\": 0, \"mapped\": false, \"mode\": \"ro\", "
		"\"policy\": \"never\", \"pending_bytes\": 0, \"pending_writes\": 0, "
		"\"flushes\": 0, \"flush_errors\": 0, \"last_flush_age_ms\": null}]\n");
	mmapfs_buf_free(&b);
	assert_int_equal(mmapfs_stats_json_files(NULL, 0, &b), 0);
	assert_string_equal(b.data, "[]\n");
	mmapfs_buf_free(&b);
}

static void test_sizes(void **state)
{
	const char *why = NULL;
	uint64_t v;

	(void)state;
	assert_int_equal(mmapfs_size_parse("4096", 4, &v, &why), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mmapfs_size_parse("4K", 2, &v, &why), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mmapfs_size_parse("1MiB", 4, &v, &why), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(mmapfs_size_parse("3G", 2, &v, &why), 0);
	assert_true(v == UINT64_C(3) << 30);
	/* len bounds the text: "12" of "123". */
	assert_int_equal(mmapfs_size_parse("123", 2, &v, &why), 0);
	assert_int_equal(v, 12);
	assert_int_equal(mmapfs_size_parse("1KB", 3, &v, &why), -EINVAL);
	assert_non_null(strstr(why, "unknown unit"));
	assert_int_equal(mmapfs_size_parse("M", 1, &v, &why), -EINVAL);
	assert_int_equal(mmapfs_size_parse("", 0, &v, &why), -EINVAL);
	assert_int_equal(mmapfs_size_parse("18446744073709551616", 20, &v,
					   &why), -EOVERFLOW);
	assert_int_equal(mmapfs_size_parse("17179869184G", 12, &v, &why),
			 -EOVERFLOW);
	assert_int_equal(mmapfs_size_unit_shift("KiB", 3), 10);
	assert_int_equal(mmapfs_size_unit_shift("Ki", 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_terminal_injection),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
