/*
 * control.c — the dispatcher of `.ctl/` commands and the builder of
 * `.stats/` snapshots (docs/control.md), on top of the ops the daemon provides
 * (control.h).
 *
 * Design: execute = check the caller -> parse (ctl_parse.c) -> resolve the
 * PATH through ops->resolve -> read the size and resolve the range -> one
 * op -> put the node. Errors are mapped once, here, to the set docs/control.md
 * promises (a core -ERANGE after a concurrent shrink becomes -EINVAL), and
 * every failure is logged with its reason, since a write(2) can only
 * return a number. A stats open collects rows through ops->for_each_file
 * into private copies (so the daemon's locks are held only while copying),
 * then formats them (stats_format.c).
 *
 * Invariants: every node taken by ops->resolve is put exactly once; the
 * ops are never called with an empty range.
 *
 * Threads: no state of its own; callable from any FUSE worker thread at
 * once, as long as the ops are thread-safe.
 */
#include "control.h"

#include "counters.h"
#include "metrics_format.h"
#include "req_stats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for one log line: verb, escaped path (cut) and the reason. */
#define CONTROL_LOG_MAX 512

__attribute__((format(printf, 3, 4)))
static void control_log(const struct mmapfs_control *c,
			enum mmapfs_log_level level, const char *fmt, ...)
{
	char msg[CONTROL_LOG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ops->log(c->ctx, level, msg);
}

/* Runs a range op (prefetch, advise, lock, unlock) on node. */
static int control_range_op(const struct mmapfs_control *c,
			    const struct mmapfs_ctl_cmd *cmd,
			    struct mmapfs_control_node *node,
			    char *err, size_t errlen)
{
	const struct mmapfs_control_ops *ops = c->ops;
	uint64_t size, off, len;
	int ret;

	ret = ops->size(c->ctx, node, &size);
	if (ret < 0)
		return ret;
	ret = mmapfs_ctl_resolve_range(cmd, size, &off, &len, err, errlen);
	if (ret < 0 || len == 0)
		return ret;
	switch (cmd->verb) {
	case MMAPFS_CTL_PREFETCH:
		ret = ops->prefetch(c->ctx, node, off, len);
		break;
	case MMAPFS_CTL_ADVISE:
		ret = ops->advise(c->ctx, node, off, len, cmd->advice);
		break;
	case MMAPFS_CTL_LOCK:
		ret = ops->lock(c->ctx, node, off, len);
		break;
	case MMAPFS_CTL_UNLOCK:
		ret = ops->unlock(c->ctx, node, off, len);
		break;
	default:
		return -EINVAL;
	}
	if (ret == -ERANGE) {
		snprintf(err, errlen, "the file shrank below the range");
		ret = -EINVAL;
	}
	return ret;
}

/* Counts a .ctl/flush command that succeeded (syncs of kind control). */
static int counted_flush(int ret)
{
	if (ret == 0)
		mmapfs_count(MMAPFS_CNT_CTL_FLUSHES, 1);
	return ret;
}

/* Runs a parsed command. err receives the reason of a failure when one is
 * known beyond the errno. */
static int control_run(const struct mmapfs_control *c,
		       const struct mmapfs_ctl_cmd *cmd, char *err,
		       size_t errlen)
{
	const struct mmapfs_control_ops *ops = c->ops;
	struct mmapfs_control_node *node;
	int ret;

	if (cmd->verb == MMAPFS_CTL_RELOAD)
		return ops->reload(c->ctx);
	if (cmd->all)
		return counted_flush(ops->flush_all(c->ctx));

	ret = ops->resolve(c->ctx, cmd->path, &node);
	if (ret < 0)
		return ret;
	switch (cmd->verb) {
	case MMAPFS_CTL_PREFETCH:
	case MMAPFS_CTL_ADVISE:
	case MMAPFS_CTL_LOCK:
	case MMAPFS_CTL_UNLOCK:
		ret = control_range_op(c, cmd, node, err, errlen);
		break;
	case MMAPFS_CTL_FLUSH:
		ret = counted_flush(ops->flush(c->ctx, node));
		break;
	case MMAPFS_CTL_EVICT:
		ret = ops->evict(c->ctx, node);
		break;
	case MMAPFS_CTL_POLICY:
		ret = ops->set_policy(c->ctx, node,
				      cmd->policy_default ? NULL : &cmd->policy);
		break;
	case MMAPFS_CTL_RELOAD:
	case MMAPFS_CTL_VERB_COUNT:
	default:
		ret = -EINVAL;
		break;
	}
	ops->put(c->ctx, node);
	return ret;
}

ssize_t mmapfs_control_execute(const struct mmapfs_control *c,
			       const char *verb, const char *buf, size_t len,
			       uid_t uid)
{
	/* The command is large (it holds a PATH of up to 4 KiB): not on the
	 * FUSE worker's stack. */
	struct mmapfs_ctl_cmd *cmd;
	char err[MMAPFS_CTL_ERR_MAX] = "";
	char shown[128];
	enum mmapfs_ctl_verb v;
	int ret;

	if (uid != c->owner && uid != 0) {
		control_log(c, MMAPFS_LOG_WARNING,
			    "control: %s refused: uid %u is not the owner (%u)",
			    verb, (unsigned)uid, (unsigned)c->owner);
		return -EPERM;
	}
	if (mmapfs_ctl_verb_from_name(verb, &v) < 0) {
		control_log(c, MMAPFS_LOG_WARNING,
			    "control: unknown command file '%.64s'", verb);
		return -EINVAL;
	}
	cmd = malloc(sizeof(*cmd));
	if (!cmd)
		return -ENOMEM;
	ret = mmapfs_ctl_parse(v, buf, len, cmd, err, sizeof(err));
	if (ret < 0) {
		control_log(c, MMAPFS_LOG_WARNING, "control: %s rejected: %s",
			    verb, err);
		free(cmd);
		return ret;
	}
	ret = control_run(c, cmd, err, sizeof(err));
	if (ret < 0) {
		mmapfs_ctl_escape_path(cmd->all ? "*" : cmd->path, shown,
				       sizeof(shown));
		control_log(c, MMAPFS_LOG_WARNING, "control: %s %s failed: %s%s%s",
			    verb, shown, strerror(-ret), err[0] ? ": " : "", err);
	} else {
		control_log(c, MMAPFS_LOG_DEBUG, "control: %s done", verb);
	}
	free(cmd);
	return ret < 0 ? ret : (ssize_t)len;
}

/* --- Stats -------------------------------------------------------------- */

struct row_set {
	struct mmapfs_stats_row *rows;
	size_t n, cap;
};

static int row_set_add(void *cbctx, const struct mmapfs_stats_row *row)
{
	struct row_set *set = cbctx;
	char *path;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct mmapfs_stats_row *rows;

		rows = reallocarray(set->rows, cap, sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		set->rows = rows;
		set->cap = cap;
	}
	path = strdup(row->relpath);
	if (!path)
		return -ENOMEM;
	set->rows[set->n] = *row;
	set->rows[set->n].relpath = path;
	set->n++;
	return 0;
}

static void row_set_free(struct row_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free((char *)set->rows[i].relpath);
	free(set->rows);
}

/* `config`: the running config in INI form; after a rejected reload, its
 * error as INI comments, so the text stays a valid config. */
static int format_config(const struct mmapfs_control *c, struct mmapfs_buf *out)
{
	struct mmapfs_config *cfg = NULL;
	char *last_error = NULL, *text = NULL;
	size_t text_len = 0;
	FILE *mem;
	int ret;

	ret = c->ops->config(c->ctx, &cfg, &last_error);
	if (ret < 0)
		return ret;
	mem = open_memstream(&text, &text_len);
	if (!mem) {
		ret = -errno;
		goto out;
	}
	ret = mmapfs_config_write_ini(cfg, mem);
	if (fclose(mem) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret == 0)
		ret = mmapfs_buf_append(out, text, text_len);
	if (ret == 0 && c->ops->transport)
		ret = mmapfs_buf_printf(out, "\n; transport in use: %s\n",
					c->ops->transport(c->ctx));
	if (ret == 0 && last_error) {
		ret = mmapfs_buf_printf(out, "\n; The last reload was rejected; "
					"the config above stays in effect:\n");
		for (char *line = last_error, *next; ret == 0 && *line; line = next) {
			next = strchrnul(line, '\n');
			ret = mmapfs_buf_printf(out, "; %.*s\n",
						(int)(next - line), line);
			if (*next)
				next++;
		}
	}
out:
	free(text);
	free(last_error);
	mmapfs_config_unref(cfg);
	return ret;
}

static int metrics_max_files(const struct mmapfs_control *c, uint64_t *out)
{
	struct mmapfs_config *cfg = NULL;
	char *last_error = NULL;
	int ret;

	ret = c->ops->config(c->ctx, &cfg, &last_error);
	if (ret < 0)
		return ret;
	*out = mmapfs_config_global(cfg)->metrics_max_files;
	free(last_error);
	mmapfs_config_unref(cfg);
	return 0;
}

/* The event totals of t from the daemon-wide counters: a file's close
 * must not lower them, as a sum over the rows would. */
static void daemon_totals(struct mmapfs_stats_totals *t)
{
	struct mmapfs_req_totals r;

	mmapfs_req_totals(&r);
	t->flushes = mmapfs_counter(MMAPFS_CNT_FLUSHES);
	t->flush_errors = mmapfs_counter(MMAPFS_CNT_FLUSH_ERRORS);
	t->writes = r.writes;
	t->bytes_written = r.bytes_written;
}

int mmapfs_control_stats_open(const struct mmapfs_control *c,
			      const char *name, struct mmapfs_buf *out)
{
	struct row_set set = { NULL, 0, 0 };
	struct mmapfs_stats_totals totals;
	enum mmapfs_stats_file f;
	uint64_t max_files;
	int ret;

	ret = mmapfs_stats_file_from_name(name, &f);
	if (ret < 0)
		return ret;
	if (f == MMAPFS_STATS_VERSION)
		return mmapfs_stats_format_version(out);
	if (f == MMAPFS_STATS_CONFIG)
		return format_config(c, out);

	ret = c->ops->for_each_file(c->ctx, row_set_add, &set);
	if (ret < 0)
		goto out;
	mmapfs_stats_sum(set.rows, set.n, &totals);
	daemon_totals(&totals);
	switch (f) {
	case MMAPFS_STATS_FILES:
		ret = mmapfs_stats_format_files(set.rows, set.n, out);
		break;
	case MMAPFS_STATS_METRICS:
		ret = metrics_max_files(c, &max_files);
		if (ret == 0)
			ret = mmapfs_stats_format_metrics(
				set.rows, set.n, &totals, max_files, c->mount,
				c->ops->transport ? c->ops->transport(c->ctx) :
						    NULL, out);
		if (ret == 0)
			ret = mmapfs_metrics_format_daemon(c->mount, out);
		break;
	default:
		ret = mmapfs_stats_format_total(f, &totals, out);
		break;
	}
out:
	row_set_free(&set);
	return ret;
}
