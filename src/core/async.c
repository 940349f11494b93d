/*
 * async.c — mmapio_flush_async: a durable flush of a file run on the
 * flusher thread, with a completion callback.
 *
 * Design: the request is a flusher job (flusher.h) that holds a reference
 * to the file. On the flusher thread it runs mmapio_flush() (the same
 * durable full flush a caller would run: fdatasync, the sticky error),
 * calls the callback with its result, then drops its reference (which may
 * be the file's last: the close then runs there too). Jobs run in the
 * order they were queued, before the next due deadline; a shutdown runs
 * the queued ones before the thread exits. This file sits above both
 * file.c (references) and flush.c (the flush), so neither depends on it.
 *
 * Threads: any caller; the callbacks run on the flusher thread, one at a
 * time.
 */
#include "flusher.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

struct async_flush {
	struct mmapio__job job;      /* first: the job is the request */
	struct mmapio_file *f;       /* the request's own reference */
	mmapio_flush_done_fn done;
	void *ctx;
};

static void async_flush_run(struct mmapio__job *j)
{
	struct async_flush *a = (struct async_flush *)j;
	int rc = mmapio_flush(a->f);

	a->done(a->f, rc, a->ctx);
	(void)mmapio_close(a->f);   /* the request's reference */
	free(a);
}

int mmapio_flush_async(struct mmapio_file *f, mmapio_flush_done_fn done,
		       void *ctx)
{
	struct async_flush *a;
	int rc;

	if (!f || !done)
		return -EINVAL;
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->job.run = async_flush_run;
	a->f = mmapio_ref(f);
	a->done = done;
	a->ctx = ctx;
	rc = mmapio__flusher_submit(&a->job);
	if (rc < 0) {
		/* Not the last reference: the caller holds one. */
		(void)mmapio_close(a->f);
		free(a);
	}
	return rc;
}
