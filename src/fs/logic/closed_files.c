/*
 * closed_files.c — the table of recently closed files (closed_files.h).
 *
 * Design: a doubly linked list, newest first, with a count and a
 * capacity. Lookups by (dev, ino) scan the list: they happen at a file's
 * first open and last close (next to open(2), mmap and an fdatasync),
 * never on the data path, and the table is small (closed_files_max,
 * default 256), so a scan costs less than those syscalls. Each entry owns
 * a copy of its path.
 *
 * Invariants: count <= cap; at most one entry per (dev, ino); no entry
 * with all counters zero.
 *
 * Locking: one mutex (table_lock) guards everything; it is a leaf lock
 * except during mmapfs_closed_for_each, whose callback may take locks the
 * caller orders after it (the daemon: libmmapio's registry lock).
 */
#include "closed_files.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct mmapfs_closed_file f;
	char *path;
	struct entry *next, *prev;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *newest, *oldest;   /* guarded by table_lock */
static size_t count;
static size_t cap = 256;

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

void mmapfs_file_counts_add_delta(struct mmapfs_file_counts *counts,
				  const struct mmapio_stats *now,
				  const struct mmapio_stats *then)
{
	counts->writes += delta(now->writes, then->writes);
	counts->bytes_written += delta(now->bytes_written, then->bytes_written);
	counts->flushes += delta(now->flushes, then->flushes);
	counts->flush_errors += delta(now->flush_errors, then->flush_errors);
	if (now->last_flush_ns > 0)
		counts->last_flush_ns = now->last_flush_ns;
}

bool mmapfs_file_counts_zero(const struct mmapfs_file_counts *c)
{
	return !c->writes && !c->bytes_written && !c->flushes &&
	       !c->flush_errors;
}

static void unlink_locked(struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		newest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		oldest = e->prev;
	count--;
}

static void entry_free(struct entry *e)
{
	free(e->path);
	free(e);
}

static struct entry *find_locked(dev_t dev, ino_t ino)
{
	for (struct entry *e = newest; e; e = e->next)
		if (e->f.dev == dev && e->f.ino == ino)
			return e;
	return NULL;
}

static void trim_locked(void)
{
	while (count > cap) {
		struct entry *e = oldest;

		unlink_locked(e);
		entry_free(e);
	}
}

void mmapfs_closed_set_capacity(size_t capacity)
{
	pthread_mutex_lock(&table_lock);
	cap = capacity;
	trim_locked();
	pthread_mutex_unlock(&table_lock);
}

int mmapfs_closed_put(const struct mmapfs_closed_file *f)
{
	struct entry *e, *old;

	if (mmapfs_file_counts_zero(&f->counts))
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->path = strdup(f->relpath ? f->relpath : "");
	if (!e->path) {
		free(e);
		return -ENOMEM;
	}
	e->f = *f;
	e->f.relpath = e->path;
	pthread_mutex_lock(&table_lock);
	old = find_locked(f->dev, f->ino);
	if (old) {
		unlink_locked(old);
		entry_free(old);
	}
	if (cap == 0) {
		pthread_mutex_unlock(&table_lock);
		entry_free(e);
		return 0;
	}
	e->next = newest;
	if (newest)
		newest->prev = e;
	newest = e;
	if (!oldest)
		oldest = e;
	count++;
	trim_locked();
	pthread_mutex_unlock(&table_lock);
	return 0;
}

bool mmapfs_closed_take(dev_t dev, ino_t ino, struct mmapfs_file_counts *out)
{
	struct entry *e;

	pthread_mutex_lock(&table_lock);
	e = find_locked(dev, ino);
	if (e)
		unlink_locked(e);
	pthread_mutex_unlock(&table_lock);
	if (!e) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	*out = e->f.counts;
	entry_free(e);
	return true;
}

bool mmapfs_closed_find(dev_t dev, ino_t ino, struct mmapfs_file_counts *out)
{
	struct entry *e;

	pthread_mutex_lock(&table_lock);
	e = find_locked(dev, ino);
	if (e)
		*out = e->f.counts;
	pthread_mutex_unlock(&table_lock);
	return e != NULL;
}

int mmapfs_closed_for_each(int (*fn)(const struct mmapfs_closed_file *f,
				     void *ctx), void *ctx)
{
	int ret = 0;

	pthread_mutex_lock(&table_lock);
	for (struct entry *e = newest; e && ret == 0; e = e->next)
		ret = fn(&e->f, ctx);
	pthread_mutex_unlock(&table_lock);
	return ret;
}

size_t mmapfs_closed_count(void)
{
	size_t n;

	pthread_mutex_lock(&table_lock);
	n = count;
	pthread_mutex_unlock(&table_lock);
	return n;
}

void mmapfs_closed_clear(void)
{
	pthread_mutex_lock(&table_lock);
	while (newest) {
		struct entry *e = newest;

		unlink_locked(e);
		entry_free(e);
	}
	pthread_mutex_unlock(&table_lock);
}
