/*
 * invalidate.c — drops the kernel's cached data and attributes of inodes
 * whose backing file changed from outside the mount.
 *
 * Design: fuse_lowlevel_notify_inval_inode() must not be called from a
 * request handler (the kernel may wait for that very request while it
 * invalidates: a deadlock), so handlers queue node ids in a bounded ring
 * and one thread, started after the daemon forked, sends the
 * notifications. A full ring drops the request (logged once): the kernel
 * still revalidates on its attribute timeout. A node id whose inode was
 * forgotten meanwhile is answered -ENOENT by the kernel, which is ignored.
 *
 * Locking: ring_lock guards the ring, stopping and the warning flag.
 */
#include "model/invalidate.h"

#include <errno.h>
#include <string.h>

#include "logic/log.h"
#include "model/mount.h"

#define RING_SIZE 1024

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cv = PTHREAD_COND_INITIALIZER;
static fuse_ino_t ring[RING_SIZE];
static unsigned ring_head, ring_count;
static bool stopping, started, warned_full;
static pthread_t thread;

static void *invalidate_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ring_lock);
	for (;;) {
		fuse_ino_t ino;
		int res;

		while (ring_count == 0 && !stopping)
			pthread_cond_wait(&ring_cv, &ring_lock);
		if (ring_count == 0)
			break;
		ino = ring[ring_head];
		ring_head = (ring_head + 1) % RING_SIZE;
		ring_count--;
		pthread_mutex_unlock(&ring_lock);
		res = fuse_lowlevel_notify_inval_inode(mmapfs_d.se, ino, 0, 0);
		if (res < 0 && res != -ENOENT)
			mmapfs_info("cache invalidation failed: %s",
				    strerror(-res));
		pthread_mutex_lock(&ring_lock);
	}
	pthread_mutex_unlock(&ring_lock);
	return NULL;
}

int mmapfs_invalidate_start(void)
{
	int res = pthread_create(&thread, NULL, invalidate_main, NULL);

	if (res)
		return -res;
	started = true;
	return 0;
}

void mmapfs_invalidate_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&ring_lock);
	stopping = true;
	ring_count = 0;
	pthread_cond_signal(&ring_cv);
	pthread_mutex_unlock(&ring_lock);
	pthread_join(thread, NULL);
	started = false;
}

void mmapfs_invalidate_queue(fuse_ino_t ino)
{
	pthread_mutex_lock(&ring_lock);
	if (ring_count == RING_SIZE || stopping) {
		if (!stopping && !warned_full) {
			mmapfs_warn("invalidation queue full; the kernel "
				    "revalidates on its attribute timeout");
			warned_full = true;
		}
		pthread_mutex_unlock(&ring_lock);
		return;
	}
	ring[(ring_head + ring_count) % RING_SIZE] = ino;
	ring_count++;
	pthread_cond_signal(&ring_cv);
	pthread_mutex_unlock(&ring_lock);
}
