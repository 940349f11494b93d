/*
 * fuzz_config.c — libFuzzer target for the config parser
 * (src/fs/config.c, src/fs/config_parse.c; both compiled into this target
 * with the fuzz flags, so their coverage guides the fuzzer).
 *
 * Input: the bytes of a config file, handed to mmapfs_config_parse_text().
 * Besides memory errors (ASan) and undefined behaviour (UBSan), it checks
 * the parser's promises and aborts when one is broken:
 *   - a failure is -EINVAL with a non-empty error text whose every line is
 *     "fuzz.ini:LINE: message" with LINE between 1 and the input's line
 *     count;
 *   - a success writes back (mmapfs_config_write_ini) to text that parses
 *     without error into an equal config (mmapfs_config_equal), and writing
 *     that one gives the same text again (the output is canonical);
 *   - every path looked up gets a valid policy.
 * Seeds: tests/fuzz/corpus/config/; dictionary: tests/fuzz/config.dict.
 *
 * Threads: libFuzzer calls the target from one thread.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logic/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static unsigned count_lines(const uint8_t *data, size_t size)
{
	unsigned n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size && data[size - 1] != '\n');
}

static void check_errors(const char *errors, unsigned nlines)
{
	const char *s = errors;

	check(s && *s);
	while (*s) {
		const char *nl = strchr(s, '\n');
		char *end;
		unsigned long line;

		check(nl != NULL);
		check(strncmp(s, "fuzz.ini:", 9) == 0);
		line = strtoul(s + 9, &end, 10);
		check(line >= 1 && line <= nlines);
		check(end[0] == ':' && end[1] == ' ' && end + 2 < nl);
		s = nl + 1;
	}
}

static char *write_ini(const struct mmapfs_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	check(f != NULL);
	check(mmapfs_config_write_ini(c, f) == 0);
	check(fclose(f) == 0);
	return buf;
}

static void check_lookup(const struct mmapfs_config *c)
{
	static const char *const paths[] = {
		"a", "a.log", "db/x.sqlite", "logs/2024/app.log", ".hidden",
		"dir/sub/file", "x y", "\\", "*",
	};
	struct mmapfs_file_settings s;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		mmapfs_config_settings_for(c, paths[i], &s);
		check(mmapio_policy_validate(&s.flush) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmapfs_config *c, *again, *third;
	char *errors = NULL, *text, *text2;
	size_t len, len2;
	int ret;

	ret = mmapfs_config_parse_text((const char *)data, size, "fuzz.ini",
				       &c, &errors);
	if (ret != 0) {
		check(ret == -EINVAL);
		check_errors(errors, count_lines(data, size));
		free(errors);
		return 0;
	}
	check(errors == NULL);
	check_lookup(c);

	text = write_ini(c, &len);
	ret = mmapfs_config_parse_text(text, len, "again.ini", &again, &errors);
	if (ret != 0) {
		fprintf(stderr, "round trip failed:\n%s---\n%s", text,
			errors ? errors : "(no message)\n");
		abort();
	}
	check(mmapfs_config_equal(c, again));
	text2 = write_ini(again, &len2);
	check(len2 == len && memcmp(text, text2, len) == 0);
	ret = mmapfs_config_parse_text(text2, len2, "third.ini", &third, NULL);
	check(ret == 0 && mmapfs_config_equal(again, third));

	mmapfs_config_unref(third);
	free(text2);
	mmapfs_config_unref(again);
	free(text);
	mmapfs_config_unref(c);
	return 0;
}
