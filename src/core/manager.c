/*
 * manager.c — conveniences over whole files, after mmap-io's manager
 * module: copy what a mapping shows to a new file (mmapio_copy) and delete
 * the file behind a mapping (mmapio_delete). (Create-and-map and load are
 * mmapio_create and mmapio_load, in file.c with the other constructors.)
 *
 * Design
 *   - mmapio_copy reads through the mapping (mmapio_read: the SIGBUS
 *     guard, and what the mapping shows: a COW mapping's private bytes, an
 *     anonymous mapping's memory, a file without a mapping through pread)
 *     in chunks of COPY_CHUNK into a destination opened without O_TRUNC,
 *     so that naming the source itself is refused before anything is cut;
 *     then fdatasync. A failed copy removes the destination.
 *   - mmapio_delete checks that the path given at open still names the
 *     mapped inode before unlinking it (the path may have been renamed or
 *     replaced since), then drops the caller's reference.
 *
 * Threads: any; both run on the caller's thread. A copy is not atomic
 * against concurrent writers of the source (like cp).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1u << 20)

static int write_full(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t put = pwrite(fd, p, n, (off_t)off);

		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		if (put == 0)
			return -EIO;
		p += put;
		off += (uint64_t)put;
		n -= (size_t)put;
	}
	return 0;
}

static int copy_into(struct mmapio_file *f, int fd, uint64_t len)
{
	uint8_t *buf = malloc(len < COPY_CHUNK ? (len ? len : 1) : COPY_CHUNK);
	uint64_t off;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (off = 0; off < len && rc == 0; off += COPY_CHUNK) {
		size_t n = len - off < COPY_CHUNK ? (size_t)(len - off)
						  : COPY_CHUNK;

		rc = mmapio_read(f, off, buf, n);
		if (rc == 0)
			rc = write_full(fd, buf, n, off);
	}
	free(buf);
	if (rc == 0 && ftruncate(fd, (off_t)len) < 0)
		rc = -errno;
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	return rc;
}

int mmapio_copy(struct mmapio_file *f, const char *dst_path)
{
	struct stat src, dst;
	int fd, rc;

	if (!f || !dst_path)
		return -EINVAL;
	fd = open(dst_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &dst) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(dst.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (f->fd >= 0 && fstat(f->fd, &src) == 0 &&
	    src.st_dev == dst.st_dev && src.st_ino == dst.st_ino) {
		close(fd);
		return -EINVAL;   /* the source itself: nothing cut */
	}
	rc = ftruncate(fd, 0) < 0 ? -errno : 0;
	if (rc == 0)
		rc = copy_into(f, fd, mmapio_len(f));
	if (close(fd) < 0 && rc == 0 && errno != EINTR)
		rc = -errno;
	if (rc < 0)
		unlink(dst_path);
	return rc;
}

int mmapio_delete(struct mmapio_file *f)
{
	struct stat mapped, named;

	if (!f)
		return -EINVAL;
	if (f->anon || !f->path)
		return -EINVAL;
	if (fstat(f->fd, &mapped) < 0)
		return -errno;
	if (stat(f->path, &named) < 0)
		return -errno;
	if (named.st_dev != mapped.st_dev || named.st_ino != mapped.st_ino)
		return -ESTALE;
	if (unlink(f->path) < 0)
		return -errno;
	return mmapio_close(f);
}
