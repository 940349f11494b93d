/*
 * closed_files.c — the table of recently closed files (closed_files.h).
 *
 * Design: a doubly linked list, newest first (the order of eviction and
 * of listings), with a count and a capacity, and a hash index of the same
 * entries by (dev, ino): every first open and last close of a file looks
 * it up, and a scan of a full table (closed_files_max, default 256) cost
 * about 1,000 instructions each time, twice per new small file. Each entry
 * owns a copy of its path.
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
	struct entry *next, *prev;       /* the list, newest first */
	struct entry *hash_next;         /* the bucket's chain */
};

#define HASH_BUCKETS 1024

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *newest, *oldest;   /* guarded by table_lock */
static struct entry *buckets[HASH_BUCKETS];
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

static struct entry **bucket_of(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15u) ^
		     ((uint64_t)ino * 0xc2b2ae3d27d4eb4fu);

	return &buckets[(h >> 32) % HASH_BUCKETS];
}

static void link_locked(struct entry *e)
{
	struct entry **b = bucket_of(e->f.dev, e->f.ino);

	e->prev = NULL;
	e->next = newest;
	if (newest)
		newest->prev = e;
	newest = e;
	if (!oldest)
		oldest = e;
	e->hash_next = *b;
	*b = e;
	count++;
}

static void unlink_locked(struct entry *e)
{
	struct entry **pp = bucket_of(e->f.dev, e->f.ino);

	while (*pp != e)
		pp = &(*pp)->hash_next;
	*pp = e->hash_next;
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
	for (struct entry *e = *bucket_of(dev, ino); e; e = e->hash_next)
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
	link_locked(e);
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
