/*
 * test_term_escape.c — unit tests of mmapfs_term_escape (src/fs/
 * term_escape.c): every C0 and C1 control and DEL escaped, valid UTF-8
 * kept, invalid UTF-8 escaped byte by byte, tab/newline kept only when
 * asked, truncation never inside an escape or a character, and the
 * snprintf-style length.
 *
 * Single-threaded; no files touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "logic/term_escape.h"

static void check(const char *in, size_t n, bool keep, const char *want)
{
	char buf[256];
	size_t len = mmapfs_term_escape(in, n, keep, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(len, strlen(want));
}

static void test_terminal_injection(void **state)
{
	static const char name[] = "esc\x1b]0;owned\x07\x1b[2J\r!";

	(void)state;
	check(name, sizeof(name) - 1, false,
	      "esc\\x1b]0;owned\\x07\\x1b[2J\\x0d!");
}

static void test_every_control_byte(void **state)
{
	char in[2], want[8];

	(void)state;
	for (int b = 1; b < 0x80; b++) {
		in[0] = (char)b;
		if (b < 0x20 || b == 0x7f)
			snprintf(want, sizeof(want), "\\x%02x", b);
		else
			snprintf(want, sizeof(want), "%c", b);
		check(in, 1, false, want);
	}
	check("\0", 1, false, "\\x00");
}

static void test_tab_newline(void **state)
{
	(void)state;
	check("a\tb\nc", 5, false, "a\\x09b\\x0ac");
	check("a\tb\nc\rd", 7, true, "a\tb\nc\\x0dd");
	/* Backslash is the caller's own escape: kept. */
	check("a\\tb", 4, true, "a\\tb");
}

static void test_utf8(void **state)
{
	(void)state;
	/* Valid: kept whole (2, 3 and 4 bytes). */
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, false,
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* C1 controls encoded in UTF-8 (U+009B CSI, U+0085 NEL). */
	check("x\xc2\x9b" "2J", 5, false, "x\\xc2\\x9b2J");
	check("\xc2\x85", 2, false, "\\xc2\\x85");
	/* U+00A0 is the first code point after C1: kept. */
	check("\xc2\xa0", 2, false, "\xc2\xa0");
	/* Invalid: a lone 8-bit CSI, a truncated sequence, an overlong
	 * encoding of ESC, a surrogate: each byte escaped, the scan goes
	 * on with the next byte. */
	check("\x9b" "2J", 3, false, "\\x9b2J");
	check("\xe2\x82", 2, false, "\\xe2\\x82");
	check("\xc0\x9b", 2, false, "\\xc0\\x9b");
	check("\xed\xa0\x80", 3, false, "\\xed\\xa0\\x80");
	check("\xe2\x82" "A", 3, false, "\\xe2\\x82A");
	check("\xf4\x90\x80\x80", 4, false, "\\xf4\\x90\\x80\\x80");
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	/* "ab\x1b" needs 6 bytes; with 5 of room the escape is left out
	 * whole. */
	assert_int_equal(mmapfs_term_escape("ab\x1b", 3, false, buf, 5), 6);
	assert_string_equal(buf, "ab");
	assert_int_equal(mmapfs_term_escape("ab\x1b", 3, false, buf, 7), 6);
	assert_string_equal(buf, "ab\\x1b");
	/* A character is never split. */
	assert_int_equal(mmapfs_term_escape("a\xe2\x82\xac", 4, false, buf, 4),
			 4);
	assert_string_equal(buf, "a");
	/* Length only. */
	assert_int_equal(mmapfs_term_escape("\x07\x07", 2, false, NULL, 0), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal_injection),
		cmocka_unit_test(test_every_control_byte),
		cmocka_unit_test(test_tab_newline),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
