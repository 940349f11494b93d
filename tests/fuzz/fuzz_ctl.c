/*
 * fuzz_ctl.c — libFuzzer target for the control-command parser
 * (src/fs/ctl_parse.c).
 *
 * Input: the first byte picks the verb (modulo the number of verbs), the
 * rest is the bytes written to `.ctl/<verb>`. Besides memory errors
 * (ASan) and undefined behaviour (UBSan), it checks the parser's promises
 * and aborts when one is broken:
 *   - a failure is -EINVAL or -EPERM with a non-empty message;
 *   - a parsed PATH is NUL-terminated, relative, free of empty, "." and
 *     ".." components, and empty only for reload and `flush *`;
 *   - escaping a parsed PATH and parsing it again gives the same PATH;
 *   - a resolved range lies inside the file size it was resolved against.
 * Seeds: tests/fuzz/corpus/ctl/ (first byte 0..7 = prefetch, advise, flush,
 * lock, unlock, evict, policy, reload).
 *
 * Threads: libFuzzer calls the target from one thread.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logic/ctl_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_path(const struct mmapfs_ctl_cmd *cmd)
{
	const char *p = cmd->path;
	size_t len = strnlen(p, sizeof(cmd->path));

	check(len < sizeof(cmd->path));
	if (cmd->verb == MMAPFS_CTL_RELOAD || cmd->all) {
		check(len == 0);
		return;
	}
	check(len > 0 && p[0] != '/' && p[len - 1] != '/');
	for (const char *c = p; c < p + len;) {
		const char *end = memchr(c, '/', (size_t)(p + len - c));
		size_t n = end ? (size_t)(end - c) : (size_t)(p + len - c);

		check(n > 0);
		check(!(n == 1 && c[0] == '.'));
		check(!(n == 2 && c[0] == '.' && c[1] == '.'));
		c += n + 1;
	}
}

static void check_round_trip(const struct mmapfs_ctl_cmd *cmd)
{
	static struct mmapfs_ctl_cmd again;
	static char esc[2 * MMAPFS_CTL_MAX + 1];
	char err[MMAPFS_CTL_ERR_MAX];
	size_t n;

	if (cmd->path[0] == '\0')
		return;
	n = mmapfs_ctl_escape_path(cmd->path, esc, sizeof(esc));
	check(n < sizeof(esc) && strlen(esc) == n);
	if (n > MMAPFS_CTL_MAX)
		return;
	check(mmapfs_ctl_parse(MMAPFS_CTL_EVICT, esc, n, &again, err,
			       sizeof(err)) == 0);
	check(strcmp(again.path, cmd->path) == 0);
}

static void check_ranges(const struct mmapfs_ctl_cmd *cmd)
{
	static const uint64_t sizes[] = { 0, 1, 4096, 1ull << 40, UINT64_MAX };
	char err[MMAPFS_CTL_ERR_MAX];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t off = 0, len = 0;
		int ret = mmapfs_ctl_resolve_range(cmd, sizes[i], &off, &len,
						   err, sizeof(err));

		if (ret == 0)
			check(off <= sizes[i] && len <= sizes[i] - off);
		else
			check(ret == -EINVAL && err[0] != '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mmapfs_ctl_cmd cmd;
	char err[MMAPFS_CTL_ERR_MAX];
	enum mmapfs_ctl_verb verb;
	int ret;

	if (size == 0)
		return 0;
	verb = (enum mmapfs_ctl_verb)(data[0] % MMAPFS_CTL_VERB_COUNT);
	err[0] = '\0';
	ret = mmapfs_ctl_parse(verb, (const char *)data + 1, size - 1, &cmd,
			       err, sizeof(err));
	if (ret < 0) {
		check(ret == -EINVAL || ret == -EPERM);
		check(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));
		return 0;
	}
	check(ret == 0 && cmd.verb == verb);
	check_path(&cmd);
	check_round_trip(&cmd);
	check_ranges(&cmd);
	return 0;
}
