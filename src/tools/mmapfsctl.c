/*
 * mmapfsctl.c — the command-line client of an mmapfs mount's control and
 * stats files (docs/control.md).
 *
 * Design: every command first finds the mount root of its path argument:
 * the innermost mount containing it in /proc/self/mountinfo, which must be
 * a FUSE mount whose `<stats_dir>/version` reads "mmapfs ..." (the
 * directory names default to .ctl and .stats; --ctl-dir / --stats-dir name
 * configured ones, since hidden directories cannot be discovered). Without
 * /proc, it walks up the path probing for that file instead. Control
 * commands are one write(2) of "ESCAPED-PATH [ARGS]\n" to
 * `<root>/<ctl_dir>/<verb>`; errno is explained in words. `top` reads
 * `files` and `metrics.prom` every interval and computes write and flush
 * rates from the differences of the per-file counters
 * (mmapfs_file_bytes_written_total, flushes) between two snapshots.
 * Everything read from the mount (file names above all: any user who may
 * create files chooses them) is printed through mmapfs_text_escape, so no
 * control byte reaches the terminal raw (text_fit.h): top, the files
 * table (field by field, its tabs and newlines kept), stats and the
 * messages.
 *
 * Invariants: `top` restores the terminal (termios, cursor, main screen)
 * on every exit path once it has changed it: q, Ctrl-C, SIGTERM, SIGHUP
 * and errors.
 *
 * Threads: single-threaded; signal handlers only set a flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "logic/ctl_parse.h"
#include "mmapfs_config.h"
#include "logic/stats_format.h"
#include "logic/stats_json.h"
#include "logic/text_fit.h"

#define PROG "mmapfsctl"

/* Where the control and stats directories are, once found. */
struct mount_ctx {
	char root[PATH_MAX];
	char ctl_dir[NAME_MAX + 1];
	char stats_dir[NAME_MAX + 1];
};

static int print_escaped(FILE *out, const char *s, size_t n);

/* Messages may name paths from the mount: escaped like everything else. */
__attribute__((format(printf, 1, 2)))
static void die_msg(const char *fmt, ...)
{
	char msg[2 * PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	fputs(PROG ": ", stderr);
	(void)print_escaped(stderr, msg,
			    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	fputc('\n', stderr);
}

/* Prints the n bytes of s (no NUL among them) to out with every control
 * byte escaped (text_fit.h). Returns 0 or -ENOMEM. */
static int print_escaped(FILE *out, const char *s, size_t n)
{
	/* The worst case: every byte as \xHH (4), a C1 pair as 8. */
	char *in = strndup(s, n), *buf = malloc(4 * n + 1);

	if (!in || !buf) {
		free(in);
		free(buf);
		return -ENOMEM;
	}
	mmapfs_text_escape(in, buf, 4 * n + 1);
	fputs(buf, out);
	free(in);
	free(buf);
	return 0;
}

/* Prints a TSV text (.stats/files) with every field escaped: its tabs
 * and newlines are the table's, names carry theirs as \t and \n
 * already. Returns 0 or -ENOMEM. */
static int print_tsv_escaped(FILE *out, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\t\n");
		int ret = print_escaped(out, text, n);

		if (ret < 0)
			return ret;
		text += n;
		if (*text)
			fputc(*text++, out);
	}
	return 0;
}

static void usage(FILE *out)
{
	fputs("usage: " PROG " [--ctl-dir NAME] [--stats-dir NAME] COMMAND ARGS...\n"
	      "\n"
	      "Commands (FILE: a file on an mmapfs mount; MNT: any path on one):\n"
	      "  stats MNT [--json]              totals: pending bytes and writes, flushes, errors\n"
	      "  files MNT [--json]              per-file table (TSV, .stats/files; --json: an array)\n"
	      "  prefetch FILE [OFF [LEN]]       start read-ahead of a range (default: whole file)\n"
	      "  advise FILE ADVICE [OFF [LEN]]  madvise: normal random sequential willneed dontneed\n"
	      "  flush FILE|MNT                  make a file (or, given the mount, every file) durable\n"
	      "  lock FILE [OFF [LEN]]           mlock a range (capped by max_locked_bytes)\n"
	      "  unlock FILE [OFF [LEN]]         munlock a range\n"
	      "  evict FILE                      drop an idle file's mapping\n"
	      "  policy FILE POLICY|default      override the flush policy (never, always,\n"
	      "                                  bytes=SIZE,writes=N,ms=N) or return to the config\n"
	      "  reload MNT                      reload the config file\n"
	      "  top MNT [-b] [-d SECONDS] [-n FRAMES]\n"
	      "                                  live view of the busiest files (q quits); -b: batch\n"
	      "                                  mode, plain text frame after frame (also when stdout\n"
	      "                                  is not a terminal), -n: stop after FRAMES frames\n"
	      "\n"
	      "Options:\n"
	      "  --ctl-dir NAME     name of the control directory (config control_dir; default .ctl)\n"
	      "  --stats-dir NAME   name of the stats directory (config stats_dir; default .stats)\n"
	      "  -h, --help         this text\n"
	      "  -V, --version      the version\n"
	      "\n"
	      "OFF and LEN are bytes, with an optional binary unit (4K, 1M, 2GiB: K, KiB,\n"
	      "M, MiB, G, GiB); LEN omitted means to the end of the file. Commands are\n"
	      "checked here with the daemon's own parser first, so a mistake is named.\n",
	      out);
}

/* --- Small I/O helpers -------------------------------------------------- */

/* Reads the whole file at path (which may report size 0: direct_io) into a
 * malloc'd NUL-terminated buffer. Returns 0 or -errno. */
static int read_all(const char *path, char **out, size_t *len_out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			char *p = realloc(buf, cap * 2);

			if (!p) {
				ret = -ENOMEM;
				break;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	if (len_out)
		*len_out = len;
	return 0;
}

static int stats_path(const struct mount_ctx *m, const char *name, char *buf,
		      size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s", strcmp(m->root, "/") ? m->root : "",
			 m->stats_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int read_stats(const struct mount_ctx *m, const char *name, char **out)
{
	char path[PATH_MAX];
	int ret = stats_path(m, name, path, sizeof(path));

	if (ret < 0)
		return ret;
	return read_all(path, out, NULL);
}

/* --- Finding the mount -------------------------------------------------- */

/* Decodes mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape_mountinfo(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) |
				      (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* True when dir is path or one of its ancestors (component-wise). */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* True when dir/<stats_dir>/version starts with "mmapfs ". */
static bool probe_stats(const char *dir, const char *stats_dir)
{
	char path[PATH_MAX], *text = NULL;
	bool ok;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s/version",
		     strcmp(dir, "/") ? dir : "", stats_dir);
	if (n < 0 || (size_t)n >= sizeof(path) || read_all(path, &text, NULL) < 0)
		return false;
	ok = strncmp(text, "mmapfs ", 7) == 0;
	free(text);
	return ok;
}

/* The innermost mount containing abs, from /proc/self/mountinfo: its mount
 * point in mnt and its type in type. Returns 0, -ENOENT (none), -errno. */
static int innermost_mount(const char *abs, char *mnt, size_t mntlen,
			   char *type, size_t typelen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0, best = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *field[5], *sep, *fstype;
		unsigned i;

		line[strcspn(line, "\n")] = '\0';
		field[0] = strtok_r(line, " ", &save);
		for (i = 1; i < 5 && field[i - 1]; i++)
			field[i] = strtok_r(NULL, " ", &save);
		if (i < 5 || !field[4])
			continue;
		/* Optional fields end at " - ", then the type. */
		sep = save ? strstr(save, " - ") : NULL;
		if (!sep)
			continue;
		fstype = strtok_r(sep + 3, " ", &save);
		if (!fstype)
			continue;
		unescape_mountinfo(field[4]);
		/* ">=": a later mount on the same point hides the earlier. */
		if (path_within(abs, field[4]) && strlen(field[4]) >= best) {
			best = strlen(field[4]);
			snprintf(mnt, mntlen, "%s", field[4]);
			snprintf(type, typelen, "%s", fstype);
			ret = 0;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

/* Walks up from abs looking for a directory with <stats_dir>/version. */
static int walk_up_for_root(const char *abs, const char *stats_dir, char *root)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", abs);
	for (;;) {
		char *slash;

		if (probe_stats(dir, stats_dir)) {
			snprintf(root, PATH_MAX, "%s", dir);
			return 0;
		}
		slash = strrchr(dir, '/');
		if (!slash || strcmp(dir, "/") == 0)
			return -ENOENT;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

/* Finds the mount of arg; *rel receives arg's path relative to the root
 * ("" for the root), pointing into relbuf. Prints the error itself. */
static int find_mount(const char *arg, struct mount_ctx *m, char *relbuf,
		      size_t rellen, const char **rel)
{
	char abs[PATH_MAX], type[64];
	int ret;

	if (!realpath(arg, abs)) {
		die_msg("%s: %s", arg, strerror(errno));
		return -1;
	}
	ret = innermost_mount(abs, m->root, sizeof(m->root), type, sizeof(type));
	if (ret == 0) {
		if (strncmp(type, "fuse", 4) != 0) {
			die_msg("%s is not on an mmapfs mount (it is on %s, type %s)",
				arg, m->root, type);
			return -1;
		}
		if (!probe_stats(m->root, m->stats_dir)) {
			if (strcmp(type, "fuse.mmapfs") == 0)
				die_msg("%s is an mmapfs mount without %s/version: "
					"if its config sets stats_dir, pass --stats-dir NAME",
					m->root, m->stats_dir);
			else
				die_msg("%s is not on an mmapfs mount (%s is a %s mount "
					"without %s/version)", arg, m->root, type,
					m->stats_dir);
			return -1;
		}
	} else if (walk_up_for_root(abs, m->stats_dir, m->root) < 0) {
		die_msg("%s is not on an mmapfs mount (no %s/version above it)",
			arg, m->stats_dir);
		return -1;
	}
	if (strcmp(m->root, "/") == 0)
		snprintf(relbuf, rellen, "%s", abs + 1);
	else
		snprintf(relbuf, rellen, "%s", abs + strlen(m->root) +
			 (abs[strlen(m->root)] == '/'));
	*rel = relbuf;
	return 0;
}

/* --- Control commands --------------------------------------------------- */

static const char *explain(int err, const char *verb)
{
	switch (err) {
	case EINVAL:
		return strcmp(verb, "reload") == 0 ?
			"the config file was rejected (see the daemon log or "
			"the stats config file)" :
			"rejected by the daemon (the file changed since it was "
			"checked here? the daemon log says why)";
	case ENOENT:
		return "no such file below the mount";
	case EPERM:
		return "not permitted: the path leaves the mount or passes a "
		       "symlink, or you are not the user who mounted it";
	case EACCES:
		return "permission denied: only the user who mounted it may "
		       "use the control files";
	case EBUSY:
		return "the mapping is in use (a request in flight or a locked "
		       "range); try again";
	case ENOMEM:
		return "out of memory, or over the max_locked_bytes cap";
	default:
		return strerror(err);
	}
}

/* Checks the command text with the daemon's own parser (ctl_parse.c) and,
 * for a range, against the size of the file (local: its path here), so a
 * mistake is reported with the daemon's exact reason before anything is
 * sent. Returns 0 or 2 (the exit status of a usage error). */
static int check_locally(const char *verb, const struct mmapfs_buf *cmd,
			 const char *local)
{
	char err[MMAPFS_CTL_ERR_MAX] = "";
	struct mmapfs_ctl_cmd *parsed;
	enum mmapfs_ctl_verb v;
	uint64_t off, len;
	struct stat st;
	int ret = 0;

	if (mmapfs_ctl_verb_from_name(verb, &v) < 0)
		return 0;
	parsed = malloc(sizeof(*parsed));
	if (!parsed)
		return 0;   /* the daemon checks it all the same */
	if (mmapfs_ctl_parse(v, cmd->data, cmd->len, parsed, err,
			     sizeof(err)) < 0)
		ret = 2;
	else if ((parsed->flags & (MMAPFS_CTL_HAS_OFF | MMAPFS_CTL_HAS_LEN)) &&
		 local && stat(local, &st) == 0 && S_ISREG(st.st_mode) &&
		 mmapfs_ctl_resolve_range(parsed, (uint64_t)st.st_size, &off,
					  &len, err, sizeof(err)) < 0)
		ret = 2;
	if (ret)
		die_msg("%s: %s", verb, err);
	free(parsed);
	return ret;
}

/* After the daemon answered EINVAL to reload: its reason, from the
 * comments `config` ends with after a rejected reload. */
static void print_reload_error(const struct mount_ctx *m)
{
	char *text, *p;

	if (read_stats(m, "config", &text) < 0)
		return;
	p = strstr(text, "; The last reload was rejected");
	if (p)
		fputs(p, stderr);
	free(text);
}

/* Writes "ESCAPED-REL ARGS...\n" to <root>/<ctl_dir>/<verb>; local: the
 * file's path as given (for the local range check), or NULL. */
static int send_command(const struct mount_ctx *m, const char *verb,
			const char *rel, const char *const *args, int nargs,
			const char *local)
{
	struct mmapfs_buf cmd = MMAPFS_BUF_INIT;
	char path[PATH_MAX], esc[2 * PATH_MAX + 2];
	int fd, n, ret = 0;
	ssize_t w;

	n = snprintf(path, sizeof(path), "%s/%s/%s",
		     strcmp(m->root, "/") ? m->root : "", m->ctl_dir, verb);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		die_msg("%s: path too long", m->root);
		return 1;
	}
	if (rel) {
		if (mmapfs_ctl_escape_path(rel, esc, sizeof(esc)) >= sizeof(esc) ||
		    mmapfs_buf_append(&cmd, esc, strlen(esc)) < 0)
			ret = -ENOMEM;
	}
	for (int i = 0; i < nargs && ret == 0; i++) {
		/* Arguments are single fields: no blanks or control bytes. */
		for (const char *p = args[i]; *p; p++) {
			if ((unsigned char)*p <= ' ' || *p == 0x7f) {
				die_msg("%s: argument '%s' may not contain blanks",
					verb, args[i]);
				mmapfs_buf_free(&cmd);
				return 2;
			}
		}
		ret = mmapfs_buf_printf(&cmd, "%s%s", cmd.len ? " " : "", args[i]);
	}
	if (ret == 0)
		ret = mmapfs_buf_append(&cmd, "\n", 1);
	if (ret < 0) {
		die_msg("%s: %s", verb, strerror(-ret));
		mmapfs_buf_free(&cmd);
		return 1;
	}
	ret = check_locally(verb, &cmd, local);
	if (ret) {
		mmapfs_buf_free(&cmd);
		return ret;
	}

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno;
		die_msg("%s: %s", path, ret == EACCES ? explain(ret, verb) :
			strerror(ret));
		mmapfs_buf_free(&cmd);
		return 1;
	}
	w = write(fd, cmd.data, cmd.len);
	ret = w < 0 ? errno : 0;
	close(fd);
	if (w < 0) {
		if (rel && *rel)
			die_msg("%s %s: %s", verb, rel, explain(ret, verb));
		else
			die_msg("%s: %s", verb, explain(ret, verb));
		if (ret == EINVAL && strcmp(verb, "reload") == 0)
			print_reload_error(m);
		ret = 1;
	} else if ((size_t)w != cmd.len) {
		die_msg("%s: short write (%zd of %zu bytes)", verb, w, cmd.len);
		ret = 1;
	}
	mmapfs_buf_free(&cmd);
	return ret;
}

/* FILE commands: prefetch advise lock unlock evict policy. */
static int cmd_file(struct mount_ctx *m, const char *verb, int argc,
		    char **argv, int min_args, int max_args)
{
	char relbuf[PATH_MAX];
	const char *rel;

	if (argc < 1 + min_args || argc > 1 + max_args) {
		die_msg("%s: wrong number of arguments (see --help)", verb);
		return 2;
	}
	if (find_mount(argv[0], m, relbuf, sizeof(relbuf), &rel) < 0)
		return 1;
	if (rel[0] == '\0') {
		die_msg("%s: %s is the mount root; give a file below it",
			verb, argv[0]);
		return 2;
	}
	return send_command(m, verb, rel, (const char *const *)(argv + 1),
			    argc - 1, argv[0]);
}

static int cmd_flush(struct mount_ctx *m, int argc, char **argv)
{
	char relbuf[PATH_MAX];
	const char *rel;
	const char *const all[] = { "*" };

	if (argc != 1) {
		die_msg("flush: give one FILE or MNT");
		return 2;
	}
	if (find_mount(argv[0], m, relbuf, sizeof(relbuf), &rel) < 0)
		return 1;
	if (rel[0] == '\0')
		return send_command(m, "flush", NULL, all, 1, NULL);
	return send_command(m, "flush", rel, NULL, 0, NULL);
}

static int cmd_reload(struct mount_ctx *m, int argc, char **argv)
{
	char relbuf[PATH_MAX];
	const char *rel;

	if (argc != 1) {
		die_msg("reload: give MNT");
		return 2;
	}
	if (find_mount(argv[0], m, relbuf, sizeof(relbuf), &rel) < 0)
		return 1;
	return send_command(m, "reload", NULL, NULL, 0, NULL);
}

/* --- stats, files ------------------------------------------------------- */

/* files --json: the rows of `files` as a JSON array. */
static int print_files_json(char *text)
{
	struct mmapfs_buf out = MMAPFS_BUF_INIT;
	struct mmapfs_stats_row *rows = NULL;
	size_t n = 0, cap = 0;
	char *line, *next;
	int ret = 0;

	line = strchr(text, '\n');   /* past the header */
	for (line = line ? line + 1 : text + strlen(text); *line && ret == 0;
	     line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct mmapfs_stats_row *p = reallocarray(rows, ncap,
								  sizeof(*p));

			if (!p) {
				ret = -ENOMEM;
				break;
			}
			rows = p;
			cap = ncap;
		}
		/* Paths point into text, unescaped in place. */
		if (mmapfs_stats_parse_files_row(line, &rows[n]) == 0)
			n++;
	}
	if (ret == 0)
		ret = mmapfs_stats_json_files(rows, n, &out);
	if (ret == 0)
		fputs(out.data, stdout);
	mmapfs_buf_free(&out);
	free(rows);
	return ret;
}

static int cmd_stats(struct mount_ctx *m, int argc, char **argv, bool files)
{
	static const char *const names[] = {
		"version", "pending_bytes", "pending_writes", "flushes",
		"flush_errors",
	};
	struct mmapfs_json_total totals[5];
	char *values[5] = { NULL };
	const char *what = files ? "files" : "stats", *mnt = NULL;
	struct mmapfs_buf out = MMAPFS_BUF_INIT;
	char relbuf[PATH_MAX];
	const char *rel;
	bool json = false;
	char *text;
	int ret = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (!mnt) {
			mnt = argv[i];
		} else {
			die_msg("%s: unexpected argument '%s'", what, argv[i]);
			return 2;
		}
	}
	if (!mnt) {
		die_msg("%s: give MNT", what);
		return 2;
	}
	if (find_mount(mnt, m, relbuf, sizeof(relbuf), &rel) < 0)
		return 1;
	if (files) {
		ret = read_stats(m, "files", &text);
		if (ret < 0) {
			die_msg("%s/%s/files: %s", m->root, m->stats_dir,
				strerror(-ret));
			return 1;
		}
		if (json)
			ret = print_files_json(text);
		else
			ret = print_tsv_escaped(stdout, text);
		free(text);
		if (ret < 0)
			die_msg("files: %s", strerror(-ret));
		return ret < 0 ? 1 : 0;
	}
	for (size_t i = 0; i < 5; i++) {
		ret = read_stats(m, names[i], &values[i]);
		if (ret < 0) {
			die_msg("%s/%s/%s: %s", m->root, m->stats_dir, names[i],
				strerror(-ret));
			ret = 1;
			goto out;
		}
		values[i][strcspn(values[i], "\n")] = '\0';
		totals[i] = (struct mmapfs_json_total){ names[i], values[i] };
	}
	if (json) {
		ret = mmapfs_stats_json_totals(m->root, totals, 5, &out);
		if (ret == 0)
			fputs(out.data, stdout);
		else
			die_msg("stats: %s", strerror(-ret));
		ret = ret < 0 ? 1 : 0;
		goto out;
	}
	fputs("mount           ", stdout);
	ret = print_escaped(stdout, m->root, strlen(m->root));
	fputc('\n', stdout);
	for (size_t i = 0; i < 5 && ret == 0; i++) {
		printf("%-15s ", names[i]);
		ret = print_escaped(stdout, values[i], strlen(values[i]));
		fputc('\n', stdout);
	}
	ret = ret < 0 ? 1 : 0;
out:
	mmapfs_buf_free(&out);
	for (size_t i = 0; i < 5; i++)
		free(values[i]);
	return ret;
}

/* --- top ---------------------------------------------------------------- */

struct top_entry {
	char *path;
	struct mmapfs_stats_row row;
	char policy[MMAPIO_POLICY_TEXT_MAX];
	double bytes_written;     /* -1: not in metrics.prom */
	double write_rate;        /* bytes/s; -1: unknown (first frame) */
	double flush_rate;        /* flushes/s; -1: unknown */
};

struct top_frame {
	struct top_entry *e;
	size_t n;
	double t;                 /* CLOCK_MONOTONIC seconds */
};

static volatile sig_atomic_t top_stop;
static bool term_changed;
static struct termios term_saved;

static void top_on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void term_restore(void)
{
	if (!term_changed)
		return;
	fputs("\x1b[?25h\x1b[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSANOW, &term_saved);
	term_changed = false;
}

/* Raw-ish input (no echo, byte at a time; signals stay on so Ctrl-C is
 * SIGINT), alternate screen, hidden cursor. */
static void term_setup(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &term_saved) < 0)
		return;
	t = term_saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return;
	term_changed = true;
	atexit(term_restore);
	if (isatty(STDOUT_FILENO))
		fputs("\x1b[?1049h\x1b[?25l", stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void frame_free(struct top_frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->e[i].path);
	free(f->e);
	f->e = NULL;
	f->n = 0;
}

static int entry_cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct top_entry *)a)->path,
		      ((const struct top_entry *)b)->path);
}

static struct top_entry *frame_find(const struct top_frame *f, const char *path)
{
	struct top_entry key = { .path = (char *)path };

	if (f->n == 0)
		return NULL;
	return bsearch(&key, f->e, f->n, sizeof(*f->e), entry_cmp_path);
}

/* Reads files and metrics.prom into f (entries sorted by path). */
static int frame_read(const struct mount_ctx *m, struct top_frame *f)
{
	char *files = NULL, *prom = NULL, *line, *next;
	size_t cap = 0;
	int ret;

	f->t = now_s();
	ret = read_stats(m, "files", &files);
	if (ret == 0)
		ret = read_stats(m, "metrics.prom", &prom);
	if (ret < 0)
		goto out;

	line = strchr(files, '\n');   /* skip the header */
	for (line = line ? line + 1 : files + strlen(files); *line; line = next) {
		struct mmapfs_stats_row row;
		struct top_entry *e;

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (mmapfs_stats_parse_files_row(line, &row) < 0)
			continue;
		if (f->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct top_entry *p = reallocarray(f->e, ncap, sizeof(*p));

			if (!p) {
				ret = -ENOMEM;
				goto out;
			}
			f->e = p;
			cap = ncap;
		}
		e = &f->e[f->n];
		memset(e, 0, sizeof(*e));
		e->path = strdup(row.relpath);
		if (!e->path) {
			ret = -ENOMEM;
			goto out;
		}
		e->row = row;
		e->row.relpath = e->path;
		if (mmapio_policy_format(&row.policy, e->policy, sizeof(e->policy)) < 0)
			snprintf(e->policy, sizeof(e->policy), "?");
		e->bytes_written = -1;
		e->write_rate = -1;
		e->flush_rate = -1;
		f->n++;
	}
	qsort(f->e, f->n, sizeof(*f->e), entry_cmp_path);

	for (line = prom; *line; line = next) {
		struct mmapfs_prom_sample s;
		struct top_entry *e;

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (mmapfs_prom_parse_line(line, &s) != 1 || !s.path ||
		    strcmp(s.name, "mmapfs_file_bytes_written_total") != 0)
			continue;
		e = frame_find(f, s.path);
		if (e)
			e->bytes_written = s.value;
	}
out:
	free(files);
	free(prom);
	return ret;
}

static void frame_rates(struct top_frame *cur, const struct top_frame *prev)
{
	double dt = cur->t - prev->t;

	if (dt <= 0)
		return;
	for (size_t i = 0; i < cur->n; i++) {
		struct top_entry *e = &cur->e[i];
		const struct top_entry *p = frame_find(prev, e->path);

		if (!p)
			continue;
		if (e->row.flushes >= p->row.flushes)
			e->flush_rate = (double)(e->row.flushes - p->row.flushes) / dt;
		if (e->bytes_written >= 0 && p->bytes_written >= 0 &&
		    e->bytes_written >= p->bytes_written)
			e->write_rate = (e->bytes_written - p->bytes_written) / dt;
	}
}

/* Busiest first: pending bytes, then write rate, then path. */
static int entry_cmp_busy(const void *a, const void *b)
{
	const struct top_entry *x = *(const struct top_entry *const *)a;
	const struct top_entry *y = *(const struct top_entry *const *)b;

	if (x->row.pending_bytes != y->row.pending_bytes)
		return x->row.pending_bytes > y->row.pending_bytes ? -1 : 1;
	if (x->write_rate != y->write_rate)
		return x->write_rate > y->write_rate ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void fmt_bytes(double v, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

static void fmt_age(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "never");
	else if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", ms / 60000,
			 ms / 1000 % 60);
	else
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", ms / 3600000,
			 ms / 60000 % 60);
}

/* How top prints: on a terminal (full screen, redrawn in place) or in
 * batch mode (-b, or stdout not a terminal: plain lines, frame after
 * frame, no escape sequences). */
struct top_view {
	bool batch;
	double interval;
};

/* Rows and columns to fill: the terminal's; in batch mode COLUMNS when
 * set, else wide enough for any line (nothing is cut), and no row limit. */
static void term_size(const struct top_view *tv, unsigned *rows,
		      unsigned *cols)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	*rows = 24;
	*cols = 80;
	if (!tv->batch && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
		return;
	}
	if (tv->batch) {
		*rows = UINT_MAX;
		*cols = env && atoi(env) > 0 ? (unsigned)atoi(env) : 4096;
	}
}

/* Daemon-wide totals for the header (they outlive closed files). */
static void read_total(const struct mount_ctx *m, const char *name,
		       uint64_t *out)
{
	char *text;

	if (read_stats(m, name, &text) == 0) {
		*out = strtoull(text, NULL, 10);
		free(text);
	}
}

/* Prints one line cut to cols characters (marking the cut with …) and
 * empties it. Returns 0 or -ENOMEM. */
static int put_line(const struct top_view *tv, struct mmapfs_buf *line,
		    unsigned cols)
{
	size_t room = 4 * (size_t)cols + 4;
	char *fitted = malloc(room);

	if (!fitted)
		return -ENOMEM;
	mmapfs_text_fit(line->data ? line->data : "", cols, false, fitted,
			room);
	fputs(fitted, stdout);
	fputs(tv->batch ? "\n" : "\r\n", stdout);
	free(fitted);
	line->len = 0;
	if (line->data)
		line->data[0] = '\0';
	return 0;
}

/* The columns before POLICY: "%9s %10s %8s %9s  ". */
#define TOP_FIXED_COLS 41

static int frame_draw(const struct mount_ctx *m, const struct top_frame *f,
		      const struct top_view *tv)
{
	const struct top_entry **v = NULL;
	struct mmapfs_stats_totals t;
	unsigned rows, cols, shown;
	size_t pol_w = 6, path_w, avail;
	struct mmapfs_buf line = MMAPFS_BUF_INIT;
	char root[4 * PATH_MAX], tot[48];
	int ret = 0;

	term_size(tv, &rows, &cols);
	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < f->n; i++) {
		t.pending_bytes += f->e[i].row.pending_bytes;
		t.mapped_files += f->e[i].row.mapped;
		if (strlen(f->e[i].policy) > pol_w)
			pol_w = strlen(f->e[i].policy);
	}
	read_total(m, "flushes", &t.flushes);
	read_total(m, "flush_errors", &t.flush_errors);
	if (f->n) {
		v = calloc(f->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < f->n; i++)
			v[i] = &f->e[i];
		qsort(v, f->n, sizeof(*v), entry_cmp_busy);
	}
	/* POLICY gets its longest value when it fits in half of what is
	 * left after the numbers; PATH the rest. */
	avail = cols > TOP_FIXED_COLS + 1 ? cols - TOP_FIXED_COLS - 1 : 0;
	if (pol_w > avail / 2)
		pol_w = avail / 2 > 6 ? avail / 2 : 6;
	path_w = avail > pol_w ? avail - pol_w : 4;

	fmt_bytes((double)t.pending_bytes, tot, sizeof(tot));
	if (!tv->batch)
		fputs("\x1b[H\x1b[2J", stdout);
	mmapfs_text_escape(m->root, root, sizeof(root));
	ret = mmapfs_buf_printf(&line, "mmapfs top  %s  every %.1fs%s", root,
				tv->interval, tv->batch ? "" : "  (q quits)");
	if (ret == 0)
		ret = put_line(tv, &line, cols);
	if (ret == 0)
		ret = mmapfs_buf_printf(&line, "%zu files, %" PRIu64 " mapped, "
					"pending %s, %" PRIu64 " flushes, %"
					PRIu64 " flush errors", f->n,
					t.mapped_files, tot, t.flushes,
					t.flush_errors);
	if (ret == 0)
		ret = put_line(tv, &line, cols);
	if (ret == 0)
		ret = put_line(tv, &line, cols);
	if (ret == 0)
		ret = mmapfs_buf_printf(&line, "%9s %10s %8s %9s  %-*s %s",
					"PENDING", "WRITE/s", "FLUSH/s",
					"LASTFLUSH", (int)pol_w, "POLICY",
					"PATH");
	if (ret == 0)
		ret = put_line(tv, &line, cols);
	shown = rows > 5 ? rows - 5 : 1;
	for (size_t i = 0; i < f->n && i < shown && ret == 0; i++) {
		const struct top_entry *e = v[i];
		char pend[48], wr[48], fr[48], age[48], pol[64], pol_fit[64];
		char esc[4 * PATH_MAX], ctl_esc[2 * PATH_MAX + 2];
		char path_fit[4 * PATH_MAX];

		fmt_bytes((double)e->row.pending_bytes, pend, sizeof(pend));
		if (e->write_rate < 0)
			snprintf(wr, sizeof(wr), "-");
		else
			fmt_bytes(e->write_rate, wr, sizeof(wr));
		if (e->flush_rate < 0)
			snprintf(fr, sizeof(fr), "-");
		else
			snprintf(fr, sizeof(fr), "%.1f", e->flush_rate);
		fmt_age(e->row.last_flush_age_ms, age, sizeof(age));
		mmapfs_text_escape(e->policy, pol, sizeof(pol));
		mmapfs_text_fit(pol, pol_w, false, pol_fit, sizeof(pol_fit));
		/* Tabs, newlines and spaces as in commands (\t, \n, \ ),
		 * other control bytes as \xHH: a name cannot drive the
		 * terminal. */
		mmapfs_ctl_escape_path(e->path, ctl_esc, sizeof(ctl_esc));
		mmapfs_text_escape(ctl_esc, esc, sizeof(esc));
		mmapfs_text_fit(esc, path_w, true, path_fit, sizeof(path_fit));
		ret = mmapfs_buf_printf(&line, "%9s %10s %8s %9s  %s%*s %s",
					pend, wr, fr, age, pol_fit,
					(int)(pol_w - mmapfs_text_width(pol_fit)),
					"", path_fit);
		if (ret == 0)
			ret = put_line(tv, &line, cols);
	}
	if (tv->batch)
		fputs("\n", stdout);
	fflush(stdout);
	mmapfs_buf_free(&line);
	free(v);
	return ret;
}

/* Waits up to seconds for a key; returns true when asked to quit. */
static bool top_wait(double seconds)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	double end = now_s() + seconds;

	while (!top_stop) {
		double left = end - now_s();
		char c;
		int n;

		if (left <= 0)
			return false;
		n = poll(&pfd, term_changed ? 1 : 0, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			return true;
		if (n <= 0 || !(pfd.revents & POLLIN))
			continue;
		if (read(STDIN_FILENO, &c, 1) != 1)
			continue;
		if (c == 'q' || c == 'Q' || c == 3 || c == 4)
			return true;
	}
	return true;
}

static int cmd_top(struct mount_ctx *m, int argc, char **argv)
{
	struct top_frame prev = { NULL, 0, 0 }, cur = { NULL, 0, 0 };
	char relbuf[PATH_MAX], *end;
	const char *rel, *mnt = NULL;
	struct top_view tv = { !isatty(STDOUT_FILENO), 1.0 };
	long frames = 0, drawn = 0;
	struct sigaction sa;
	int ret = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-b") == 0) {
			tv.batch = true;
		} else if ((strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "-n") == 0) &&
		    i + 1 < argc) {
			errno = 0;
			if (argv[i][1] == 'd') {
				tv.interval = strtod(argv[i + 1], &end);
				if (*end || errno || !(tv.interval >= 0.1 &&
						       tv.interval <= 3600)) {
					die_msg("top: -d takes seconds from 0.1 to 3600");
					return 2;
				}
			} else {
				frames = strtol(argv[i + 1], &end, 10);
				if (*end || errno || frames < 1) {
					die_msg("top: -n takes a positive count");
					return 2;
				}
			}
			i++;
		} else if (!mnt) {
			mnt = argv[i];
		} else {
			die_msg("top: unexpected argument '%s'", argv[i]);
			return 2;
		}
	}
	if (!mnt) {
		die_msg("top: give MNT");
		return 2;
	}
	if (find_mount(mnt, m, relbuf, sizeof(relbuf), &rel) < 0)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_on_signal;   /* no SA_RESTART: poll wakes up */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (!tv.batch)
		term_setup();

	while (!top_stop) {
		ret = frame_read(m, &cur);
		if (ret < 0) {
			term_restore();
			die_msg("%s/%s: %s", m->root, m->stats_dir, strerror(-ret));
			ret = 1;
			break;
		}
		if (prev.t > 0)
			frame_rates(&cur, &prev);
		ret = frame_draw(m, &cur, &tv);
		if (ret < 0) {
			term_restore();
			die_msg("top: %s", strerror(-ret));
			ret = 1;
			break;
		}
		frame_free(&prev);
		prev = cur;
		cur = (struct top_frame){ NULL, 0, 0 };
		if (frames && ++drawn >= frames)
			break;
		if (top_wait(tv.interval))
			break;
	}
	frame_free(&prev);
	frame_free(&cur);
	term_restore();
	return ret;
}

/* --- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl-dir", required_argument, NULL, 'c' },
		{ "stats-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct mount_ctx m;
	const char *cmd;
	int c;

	memset(&m, 0, sizeof(m));
	snprintf(m.ctl_dir, sizeof(m.ctl_dir), ".ctl");
	snprintf(m.stats_dir, sizeof(m.stats_dir), ".stats");
	/* "+": stop at the command, so its own options (top -d) stay. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 's':
			if (!optarg[0] || strchr(optarg, '/') ||
			    strlen(optarg) > NAME_MAX) {
				die_msg("--%s takes a directory name",
					c == 'c' ? "ctl-dir" : "stats-dir");
				return 2;
			}
			snprintf(c == 'c' ? m.ctl_dir : m.stats_dir, NAME_MAX + 1,
				 "%s", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " %s\n", MMAPFS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;

	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(&m, argc, argv, false);
	if (strcmp(cmd, "files") == 0)
		return cmd_stats(&m, argc, argv, true);
	if (strcmp(cmd, "prefetch") == 0 || strcmp(cmd, "lock") == 0 ||
	    strcmp(cmd, "unlock") == 0)
		return cmd_file(&m, cmd, argc, argv, 0, 2);
	if (strcmp(cmd, "advise") == 0)
		return cmd_file(&m, cmd, argc, argv, 1, 3);
	if (strcmp(cmd, "evict") == 0)
		return cmd_file(&m, cmd, argc, argv, 0, 0);
	if (strcmp(cmd, "policy") == 0)
		return cmd_file(&m, cmd, argc, argv, 1, 1);
	if (strcmp(cmd, "flush") == 0)
		return cmd_flush(&m, argc, argv);
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload(&m, argc, argv);
	if (strcmp(cmd, "top") == 0)
		return cmd_top(&m, argc, argv);
	die_msg("unknown command '%s' (see --help)", cmd);
	return 2;
}
