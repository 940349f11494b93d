/*
 * test_config.c — unit tests of the mmapfs config (src/fs/config.c,
 * src/fs/config_parse.c).
 *
 * Golden files in $MMAPIO_TEST_DATA/config/ (see the README there):
 *   good/NAME.ini parses, and mmapfs_config_write_ini() prints exactly
 *     good/NAME.expected, which parses back to an equal config;
 *   bad/NAME.ini fails with -EINVAL and exactly the messages in
 *     bad/NAME.errors (FILE is NAME.ini).
 * The other tests check the built-in defaults against conf/mmapfs.ini, the
 * per-path lookup (first matching section that sets a key wins, fnmatch
 * with FNM_PATHNAME), the line-length limit at its boundary, number edges,
 * loading from a path, -o KEY=VALUE overrides and reference counting.
 *
 * Threads: single-threaded; every test frees what it allocates (ASan).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "logic/config.h"

static char data_dir[PATH_MAX];

/* snprintf into buf that fails the test instead of truncating. */
static void format_checked(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void format_checked(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static void set_data_dir(void)
{
	const char *d = getenv("MMAPIO_TEST_DATA");

	assert_non_null(d);
	format_checked(data_dir, sizeof(data_dir), "%s/config", d);
}

/* Reads a whole file; NULL when it does not exist. */
static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		if (got == 0)
			break;
		n += got;
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *ini_text(const struct mmapfs_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(mmapfs_config_write_ini(c, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static struct mmapfs_config *parse_ok(const char *text)
{
	struct mmapfs_config *c = NULL;
	char *errors = NULL;
	int rc = mmapfs_config_parse_text(text, strlen(text), "t.ini", &c,
					  &errors);

	if (rc != 0)
		fail_msg("unexpected errors: %s", errors ? errors : "(none)");
	assert_null(errors);
	return c;
}

/* Parses text expecting failure; returns the error text (caller frees). */
static char *parse_bad(const char *text)
{
	struct mmapfs_config *c = NULL;
	char *errors = NULL;

	assert_int_equal(mmapfs_config_parse_text(text, strlen(text), "t.ini",
						  &c, &errors), -EINVAL);
	assert_null(c);
	assert_non_null(errors);
	return errors;
}

static void assert_policy(const struct mmapio_policy *p, const char *text)
{
	char buf[MMAPIO_POLICY_TEXT_MAX];

	assert_true(mmapio_policy_format(p, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, text);
}

/* Calls fn(dir, name-without-.ini) for every NAME.ini in data_dir/sub;
 * returns how many. */
static unsigned for_each_ini(const char *sub,
			     void (*fn)(const char *dir, const char *name))
{
	char dir[PATH_MAX];
	struct dirent **list;
	unsigned count = 0;
	int n;

	format_checked(dir, sizeof(dir), "%s/%s", data_dir, sub);
	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(list[i]->d_name);

		if (len > 4 && strcmp(list[i]->d_name + len - 4, ".ini") == 0) {
			char name[NAME_MAX + 1];

			format_checked(name, sizeof(name), "%.*s", (int)(len - 4),
				 list[i]->d_name);
			fn(dir, name);
			count++;
		}
		free(list[i]);
	}
	free(list);
	return count;
}

/* ---- golden files ----------------------------------------------------- */

static void check_good(const char *dir, const char *name)
{
	char path[PATH_MAX], file[NAME_MAX + 1];
	struct mmapfs_config *c = NULL, *again = NULL;
	char *text, *expected, *out, *out2, *errors = NULL;
	size_t len, elen;
	int rc;

	format_checked(path, sizeof(path), "%s/%s.ini", dir, name);
	format_checked(file, sizeof(file), "%s.ini", name);
	text = read_text(path, &len);
	assert_non_null(text);
	rc = mmapfs_config_parse_text(text, len, file, &c, &errors);
	if (rc != 0)
		fail_msg("%s: unexpected errors:\n%s", file,
			 errors ? errors : "(none)");
	assert_string_equal(mmapfs_config_source(c), file);

	format_checked(path, sizeof(path), "%s/%s.expected", dir, name);
	expected = read_text(path, &elen);
	if (!expected)
		fail_msg("missing golden file %s", path);
	out = ini_text(c);
	if (strcmp(out, expected) != 0)
		print_error("%s: write_ini differs from %s.expected\n", file,
			    name);
	assert_string_equal(out, expected);

	/* round trip: the written text parses back to an equal config and
	 * is written identically */
	rc = mmapfs_config_parse_text(out, strlen(out), "again.ini", &again,
				      &errors);
	if (rc != 0)
		fail_msg("%s: written config does not parse:\n%s", file,
			 errors ? errors : "(none)");
	assert_true(mmapfs_config_equal(c, again));
	assert_true(mmapfs_config_equal(again, c));
	out2 = ini_text(again);
	assert_string_equal(out2, out);

	free(out2);
	free(out);
	free(expected);
	free(text);
	mmapfs_config_unref(again);
	mmapfs_config_unref(c);
}

static void check_bad(const char *dir, const char *name)
{
	char path[PATH_MAX], file[NAME_MAX + 1];
	struct mmapfs_config *c = NULL;
	char *text, *expected, *errors = NULL;
	size_t len, elen;

	format_checked(path, sizeof(path), "%s/%s.ini", dir, name);
	format_checked(file, sizeof(file), "%s.ini", name);
	text = read_text(path, &len);
	assert_non_null(text);
	format_checked(path, sizeof(path), "%s/%s.errors", dir, name);
	expected = read_text(path, &elen);
	if (!expected)
		fail_msg("missing golden file %s", path);

	assert_int_equal(mmapfs_config_parse_text(text, len, file, &c, &errors),
			 -EINVAL);
	assert_null(c);
	assert_non_null(errors);
	if (strcmp(errors, expected) != 0)
		print_error("%s: messages differ from %s.errors\n", file, name);
	assert_string_equal(errors, expected);
	free(errors);

	/* errors may be NULL: same result, nothing leaks */
	assert_int_equal(mmapfs_config_parse_text(text, len, file, &c, NULL),
			 -EINVAL);
	assert_null(c);

	free(expected);
	free(text);
}

static void test_good_goldens(void **state)
{
	(void)state;
	assert_true(for_each_ini("good", check_good) >= 8);
}

static void test_bad_goldens(void **state)
{
	(void)state;
	assert_true(for_each_ini("bad", check_bad) >= 20);
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct mmapfs_config *c = NULL;
	const struct mmapfs_global_settings *g;
	struct mmapfs_file_settings s;

	(void)state;
	assert_int_equal(mmapfs_config_defaults(&c), 0);
	assert_null(mmapfs_config_source(c));
	assert_true(mmapfs_config_all_never(c));
	g = mmapfs_config_global(c);
	assert_int_equal(g->max_mapped_files, 4096);
	assert_int_equal(g->max_locked_bytes, 64 << 20);
	assert_false(g->writeback_cache);
	assert_true(g->keep_cache);
	assert_false(g->cache_readdir);
	assert_true(g->attr_timeout == 1.0);
	assert_true(g->entry_timeout == 1.0);
	assert_false(g->show_control);
	assert_string_equal(g->control_dir, ".ctl");
	assert_string_equal(g->stats_dir, ".stats");
	assert_int_equal(g->metrics_max_files, 100);
	assert_int_equal(g->log_level, MMAPFS_LOG_NOTICE);

	mmapfs_config_settings_for(c, "any/file.log", &s);
	assert_int_equal(s.flush.kind, MMAPIO_POLICY_NEVER);
	assert_false(s.prefetch_on_open);
	assert_true(s.preallocate);
	assert_false(s.lock);
	assert_false(s.hugepages);
	mmapfs_config_unref(c);
}

/* conf/mmapfs.ini documents the built-in defaults: it must equal them. */
static void test_default_ini_is_the_defaults(void **state)
{
	struct mmapfs_config *defaults = NULL, *c = NULL;
	char path[PATH_MAX], *errors = NULL;
	int rc;

	(void)state;
	format_checked(path, sizeof(path), "%s/../../../../conf/mmapfs.ini",
		 data_dir);
	rc = mmapfs_config_load(path, &c, &errors);
	if (rc != 0)
		fail_msg("%s: %s", path, errors ? errors : strerror(-rc));
	assert_int_equal(mmapfs_config_defaults(&defaults), 0);
	assert_true(mmapfs_config_equal(c, defaults));
	assert_true(mmapfs_config_all_never(c));
	mmapfs_config_unref(defaults);
	mmapfs_config_unref(c);
}

/* ---- lookup ------------------------------------------------------------- */

struct expect {
	const char *path;
	const char *flush;
	bool prefetch_on_open, preallocate, lock, hugepages;
};

static void test_precedence(void **state)
{
	static const struct expect cases[] = {
		/* *.log sets flush; lock comes from [global] */
		{ "x.log", "bytes=4MiB", false, true, true, false },
		/* *.log is first for flush; a* gives prefetch, ab* lock and
		 * hugepages */
		{ "abc.log", "bytes=4MiB", true, true, false, true },
		/* a* matches, ab* does not */
		{ "a", "ms=10", true, true, true, false },
		/* FNM_PATHNAME: the globs without '/' do not match here;
		 * the one-directory-level glob comes before the sub one */
		{ "sub/x.log", "writes=3", false, true, true, false },
		{ "abc/x", "writes=3", false, true, true, false },
		/* two slashes: no glob with one '/' matches */
		{ "sub/deeper/x.log", "always", false, true, true, false },
		/* no FNM_PERIOD: a leading dot is matched by '*' */
		{ ".hidden.log", "bytes=4MiB", false, true, true, false },
		/* [match *] sets nothing: [global] */
		{ "zzz", "always", false, true, true, false },
	};
	struct mmapfs_config *c = NULL;
	char path[PATH_MAX], *errors = NULL;

	(void)state;
	format_checked(path, sizeof(path), "%s/good/precedence.ini", data_dir);
	assert_int_equal(mmapfs_config_load(path, &c, &errors), 0);
	assert_string_equal(mmapfs_config_source(c), path);
	assert_false(mmapfs_config_all_never(c));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mmapfs_file_settings s;

		mmapfs_config_settings_for(c, cases[i].path, &s);
		print_message("lookup %s\n", cases[i].path);
		assert_policy(&s.flush, cases[i].flush);
		assert_int_equal(s.prefetch_on_open, cases[i].prefetch_on_open);
		assert_int_equal(s.preallocate, cases[i].preallocate);
		assert_int_equal(s.lock, cases[i].lock);
		assert_int_equal(s.hugepages, cases[i].hugepages);
	}
	mmapfs_config_unref(c);
}

static void test_escaped_glob(void **state)
{
	struct mmapfs_config *c;
	struct mmapfs_file_settings s;

	(void)state;
	c = parse_ok("[match \\[x\\*]\nlock = true\n[match d?r/*]\nhugepages = on\n");
	mmapfs_config_settings_for(c, "[x*", &s);
	assert_true(s.lock);
	mmapfs_config_settings_for(c, "[xy", &s);
	assert_false(s.lock);
	mmapfs_config_settings_for(c, "dir/f", &s);
	assert_true(s.hugepages);
	mmapfs_config_settings_for(c, "dr/f", &s);
	assert_false(s.hugepages);
	mmapfs_config_unref(c);
}

/* ---- limits and edges ----------------------------------------------------- */

/* A line of exactly n characters: "log_level = notice" padded with blanks
 * before an inline comment. */
static char *line_of(size_t n)
{
	static const char head[] = "[global]\n";
	static const char key[] = "log_level = notice";
	char *text = malloc(sizeof(head) + n + 2);
	size_t k = strlen(key);

	assert_non_null(text);
	assert_true(n >= k + 2);
	strcpy(text, head);
	memcpy(text + strlen(head), key, k);
	memset(text + strlen(head) + k, ' ', n - k - 1);
	strcpy(text + strlen(head) + n - 1, ";\n");
	return text;
}

static void test_line_limit(void **state)
{
	struct mmapfs_config *c;
	char *text, *errors;

	(void)state;
	text = line_of(197);
	c = parse_ok(text);
	mmapfs_config_unref(c);
	free(text);

	text = line_of(198);
	errors = parse_bad(text);
	assert_string_equal(errors, "t.ini:2: line longer than 197 characters\n");
	free(errors);
	free(text);

	/* comments never reach inih: they may be longer */
	text = malloc(400);
	assert_non_null(text);
	memset(text, ' ', 399);
	memcpy(text, "; long comment", 14);
	strcpy(text + 380, "\n  ; indented\n");
	c = parse_ok(text);
	mmapfs_config_unref(c);
	free(text);

	/* CRLF does not count toward the limit */
	text = line_of(197);
	text[strlen(text) - 1] = '\r';
	c = parse_ok(text);
	mmapfs_config_unref(c);
	free(text);
}

static void test_numbers(void **state)
{
	static const struct { const char *text; uint64_t bytes; } sizes[] = {
		{ "0", 0 }, { "1", 1 }, { "1K", 1024 }, { "1KiB", 1024 },
		{ "3M", 3 << 20 }, { "3MiB", 3 << 20 }, { "5G", 5ull << 30 },
		{ "5GiB", 5ull << 30 },
		{ "17179869183G", 17179869183ull << 30 },
		{ "18446744073709551615", UINT64_MAX },
	};
	char text[256], *errors;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mmapfs_config *c;

		format_checked(text, sizeof(text), "[global]\nmax_locked_bytes = %s\n",
			 sizes[i].text);
		c = parse_ok(text);
		assert_int_equal(mmapfs_config_global(c)->max_locked_bytes,
				 sizes[i].bytes);
		mmapfs_config_unref(c);
	}
	errors = parse_bad("[global]\nmax_locked_bytes = 1 K\n");
	assert_string_equal(errors, "t.ini:2: [global] max_locked_bytes: "
			    "unknown unit ' K' in '1 K' (units: K, KiB, M, MiB, G, GiB)\n");
	free(errors);
	errors = parse_bad("[global]\nmax_mapped_files = 4K\n");
	assert_string_equal(errors, "t.ini:2: [global] max_mapped_files: "
			    "bad number '4K' (expected decimal digits)\n");
	free(errors);
	errors = parse_bad("[global]\nmax_mapped_files = +4\n");
	assert_string_equal(errors, "t.ini:2: [global] max_mapped_files: "
			    "bad number '+4' (expected decimal digits)\n");
	free(errors);
}

static void test_seconds(void **state)
{
	static const struct { const char *in, *out; double v; } cases[] = {
		{ "0", "0", 0.0 }, { "0.1", "0.1", 0.1 }, { "1.50", "1.5", 1.5 },
		{ "0.001", "0.001", 0.001 }, { "2.250", "2.25", 2.25 },
		{ "86400", "86400", 86400.0 }, { "007", "7", 7.0 },
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mmapfs_config *c;
		char *out, *line;

		format_checked(text, sizeof(text), "[global]\nattr_timeout = %s\n",
			 cases[i].in);
		c = parse_ok(text);
		assert_true(mmapfs_config_global(c)->attr_timeout == cases[i].v);
		out = ini_text(c);
		line = strstr(out, "attr_timeout = ");
		assert_non_null(line);
		format_checked(text, sizeof(text), "attr_timeout = %s\n",
			 cases[i].out);
		assert_memory_equal(line, text, strlen(text));
		free(out);
		mmapfs_config_unref(c);
	}
}

static void test_booleans_and_levels(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char text[128];

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct mmapfs_config *c;

		format_checked(text, sizeof(text),
			 "[global]\nshow_control = %s\nkeep_cache = %s\n"
			 "cache_readdir = %s\n", yes[i], no[i], yes[i]);
		c = parse_ok(text);
		assert_true(mmapfs_config_global(c)->show_control);
		assert_false(mmapfs_config_global(c)->keep_cache);
		assert_true(mmapfs_config_global(c)->cache_readdir);
		mmapfs_config_unref(c);
	}
	for (int l = MMAPFS_LOG_ERROR; l <= MMAPFS_LOG_DEBUG; l++) {
		enum mmapfs_log_level back;
		const char *name = mmapfs_log_level_name(l);

		assert_non_null(name);
		assert_int_equal(mmapfs_log_level_parse(name, &back), 0);
		assert_int_equal(back, l);
	}
	assert_null(mmapfs_log_level_name(MMAPFS_LOG_DEBUG + 1));
}

/* ---- objects ------------------------------------------------------------ */

static void test_equal(void **state)
{
	static const char *const variants[] = {
		"[global]\nflush = always\n",
		"[global]\nflush = bytes=1M\n",
		"[match *.log]\nflush = never\n",
		"[match *.txt]\nflush = never\n",
		"[match *.log]\nlock = false\n",
		"[match *.log]\n",
		"[global]\nattr_timeout = 0.5\n",
		"[global]\ncontrol_dir = c\n",
	};
	struct mmapfs_config *c[sizeof(variants) / sizeof(variants[0])];
	size_t n = sizeof(variants) / sizeof(variants[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		c[i] = parse_ok(variants[i]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			assert_int_equal(mmapfs_config_equal(c[i], c[j]), i == j);
	for (size_t i = 0; i < n; i++)
		mmapfs_config_unref(c[i]);
}

static void test_refcount(void **state)
{
	struct mmapfs_config *c = NULL;

	(void)state;
	assert_int_equal(mmapfs_config_defaults(&c), 0);
	assert_ptr_equal(mmapfs_config_ref(c), c);
	mmapfs_config_unref(c);
	assert_int_equal(mmapfs_config_global(c)->max_mapped_files, 4096);
	mmapfs_config_unref(c);
	mmapfs_config_unref(NULL);
}

static void test_load_errors(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[PATH_MAX];
	struct mmapfs_config *c = NULL;
	char *errors = NULL, expected[PATH_MAX + 64];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	format_checked(path, sizeof(path), "%s/missing.ini", dir);
	assert_int_equal(mmapfs_config_load(path, &c, &errors), -ENOENT);
	format_checked(expected, sizeof(expected),
		 "%s: cannot read: No such file or directory\n", path);
	assert_string_equal(errors, expected);
	free(errors);

	assert_int_equal(mmapfs_config_load(dir, &c, &errors), -EISDIR);
	free(errors);

	/* A FIFO is refused without blocking (nobody writes to it). */
	format_checked(path, sizeof(path), "%s/fifo.ini", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(mmapfs_config_load(path, &c, &errors), -EINVAL);
	assert_null(c);
	format_checked(expected, sizeof(expected),
		 "%s: cannot read: not a regular file (a FIFO); refused\n",
		 path);
	assert_string_equal(errors, expected);
	free(errors);
	unlink(path);

	/* An empty file is refused: no config at all gives the defaults. */
	format_checked(path, sizeof(path), "%s/empty.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mmapfs_config_load(path, &c, &errors), -EINVAL);
	assert_null(c);
	format_checked(expected, sizeof(expected),
		 "%s: empty file (0 bytes): refused; to run with the built-in "
		 "defaults, mount without -o config\n", path);
	assert_string_equal(errors, expected);
	free(errors);
	unlink(path);

	format_checked(path, sizeof(path), "%s/bad.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[global]\nflush = sometimes\n", f);
	fclose(f);
	assert_int_equal(mmapfs_config_load(path, &c, &errors), -EINVAL);
	assert_null(c);
	format_checked(expected, sizeof(expected),
		 "%s:2: [global] flush: unknown key 'sometimes' (expected "
		 "bytes, writes or ms)\n", path);
	assert_string_equal(errors, expected);
	free(errors);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Errors are sorted by line; cross-key errors land on the line they name. */
static void test_error_order(void **state)
{
	char *errors;

	(void)state;
	errors = parse_bad("[match *.log]\nflush = always\n[global]\n"
			   "writeback_cache = true\nbogus = 1\n");
	assert_string_equal(errors,
		"t.ini:2: [match *.log] flush: 'always' is not allowed with "
		"writeback_cache = true (line 4): the kernel's writeback cache "
		"acknowledges writes before mmapfs sees them, so only 'never' "
		"holds\n"
		"t.ini:5: [global]: unknown key 'bogus'\n");
	free(errors);
}

static void test_reload_check(void **state)
{
	struct mmapfs_config *running, *fresh, *wb;
	char *errors = (char *)"untouched";

	(void)state;
	running = parse_ok("[global]\nflush = always\n");
	fresh = parse_ok("[global]\nlog_level = info\n");
	assert_int_equal(mmapfs_config_reload_check(running, fresh, &errors), 0);
	assert_null(errors);

	wb = parse_ok("[global]\nflush = never\nwriteback_cache = true\n");
	assert_int_equal(mmapfs_config_reload_check(running, wb, &errors),
			 -EINVAL);
	assert_string_equal(errors, "t.ini:3: [global] writeback_cache: cannot "
			    "change on reload (false now; it is fixed when the "
			    "connection starts: remount to change it)\n");
	free(errors);
	assert_int_equal(mmapfs_config_reload_check(running, wb, NULL), -EINVAL);

	/* the default differs from a running true: no line to name */
	assert_int_equal(mmapfs_config_reload_check(wb, fresh, &errors),
			 -EINVAL);
	assert_string_equal(errors, "t.ini: [global] writeback_cache: cannot "
			    "change on reload (true now; it is fixed when the "
			    "connection starts: remount to change it)\n");
	free(errors);
	assert_int_equal(mmapfs_config_reload_check(wb, wb, &errors), 0);

	mmapfs_config_unref(wb);
	mmapfs_config_unref(fresh);
	mmapfs_config_unref(running);
}

/* -o KEY=VALUE overrides: applied over the file's [global] (also when the
 * file sets the key), [match] still wins for its paths, values checked as
 * in the file (a policy may join thresholds with ':'), a later override
 * wins, cross-key checks see the result, messages name "-o KEY". */
static void test_overrides(void **state)
{
	static const struct mmapfs_config_override ov[] = {
		{ "flush", "bytes=4MiB:ms=500" },
		{ "max_mapped_files", "7" },
		{ "max_mapped_files", "9" },
		{ "show_control", "yes" },
	};
	static const struct mmapfs_config_override bad[] = {
		{ "flush", "sometimes" },
		{ "max_mapped_files", "0" },
		{ "nosuchkey", "1" },
	};
	static const struct mmapfs_config_override wb[] = {
		{ "writeback_cache", "true" },
	};
	static const struct mmapfs_config_override dirs[] = {
		{ "stats_dir", ".ctl" },
	};
	char dir[] = "/tmp/test_config.XXXXXX", path[PATH_MAX];
	char expected[PATH_MAX + 256], *errors = NULL;
	struct mmapfs_file_settings fs;
	struct mmapfs_config *c = NULL;
	FILE *f;

	(void)state;
	assert_true(mmapfs_config_is_key("flush"));
	assert_true(mmapfs_config_is_key("metrics_max_files"));
	assert_false(mmapfs_config_is_key("config"));
	assert_false(mmapfs_config_is_key("allow_other"));

	/* no file: the built-in defaults, no source */
	assert_int_equal(mmapfs_config_load_with(NULL, ov, 4, &c, &errors), 0);
	assert_null(errors);
	assert_null(mmapfs_config_source(c));
	mmapfs_config_settings_for(c, "a", &fs);
	assert_policy(&fs.flush, "bytes=4MiB,ms=500");
	assert_int_equal(mmapfs_config_global(c)->max_mapped_files, 9);
	assert_true(mmapfs_config_global(c)->show_control);
	mmapfs_config_unref(c);

	assert_non_null(mkdtemp(dir));
	format_checked(path, sizeof(path), "%s/o.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[global]\nflush = never\nmax_mapped_files = 3\n"
	      "[match *.db]\nflush = always\n", f);
	fclose(f);
	assert_int_equal(mmapfs_config_load_with(path, ov, 4, &c, &errors), 0);
	assert_string_equal(mmapfs_config_source(c), path);
	mmapfs_config_settings_for(c, "x.log", &fs);
	assert_policy(&fs.flush, "bytes=4MiB,ms=500");
	mmapfs_config_settings_for(c, "x.db", &fs);
	assert_policy(&fs.flush, "always");
	assert_int_equal(mmapfs_config_global(c)->max_mapped_files, 9);
	mmapfs_config_unref(c);

	c = NULL;
	assert_int_equal(mmapfs_config_load_with(path, bad, 3, &c, &errors),
			 -EINVAL);
	assert_null(c);
	assert_string_equal(errors,
		"-o flush: unknown key 'sometimes' (expected bytes, writes or "
		"ms)\n"
		"-o max_mapped_files: must not be zero\n"
		"-o: unknown key 'nosuchkey'\n");
	free(errors);

	/* the file's [match *.db] flush = always (line 5) refuses it */
	assert_int_equal(mmapfs_config_load_with(path, wb, 1, &c, &errors),
			 -EINVAL);
	format_checked(expected, sizeof(expected),
		"%s:5: [match *.db] flush: 'always' is not allowed with "
		"writeback_cache = true (-o): the kernel's writeback cache "
		"acknowledges writes before mmapfs sees them, so only 'never' "
		"holds\n", path);
	assert_string_equal(errors, expected);
	free(errors);

	assert_int_equal(mmapfs_config_load_with(NULL, dirs, 1, &c, &errors),
			 -EINVAL);
	assert_string_equal(errors,
		"-o: control_dir and stats_dir are both '.ctl'\n");
	free(errors);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_ini_is_the_defaults),
		cmocka_unit_test(test_good_goldens),
		cmocka_unit_test(test_bad_goldens),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_escaped_glob),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_booleans_and_levels),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_error_order),
		cmocka_unit_test(test_reload_check),
		cmocka_unit_test(test_overrides),
	};

	set_data_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
