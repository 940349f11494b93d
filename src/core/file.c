/*
 * file.c — opening, mapping, reference counting and closing of
 * struct mmapio_file (docs/libmmapio.md), and the O(1) accessors.
 *
 * Design
 *   - Every constructor ends in map_fd(), which checks that the fd is a
 *     regular file, maps its current length (nothing for an empty file:
 *     base stays NULL unless an address-space reserve was asked for),
 *     applies the hints and attaches the durability state. On any failure
 *     nothing is left behind, and a caller's fd (from_fd) stays the
 *     caller's.
 *   - mmapio_open_or_create() is race-free: O_CREAT|O_EXCL first, then a
 *     plain open on EEXIST, retried when the file vanished in between. It
 *     never truncates: an existing empty file is only extended (fallocate
 *     mode 0 or ftruncate to a larger size).
 *   - With a reserve, the whole reserve is mapped PROT_NONE first and the
 *     file is mapped over its start with MAP_FIXED, so growth inside the
 *     reserve never moves the mapping.
 *   - A mapping the kernel refuses (ENODEV: a file system without shared
 *     mmap, such as a FUSE file system serving direct_io files; ENOMEM:
 *     the address space is full) is that error, unless
 *     options.unmapped_fallback: then the object is made without a
 *     mapping (f->unmapped; base stays NULL, any reserve is given back) and
 *     access.c copies with pread/pwrite, while the durability state is
 *     attached as for any file. An empty file has no pages to map, so it
 *     is probed with a one-page mapping (legal past EOF, never touched):
 *     the kernel's answer then comes at open, not at the first growth.
 *     options.no_mapping makes the object without a mapping from the
 *     start (a caller that keeps its address space bounded, or one that
 *     maps an empty file only once it needs the mapping: mmapio_map()
 *     maps an unmapped object in place, under map_lock held for
 *     writing).
 *   - File pages are mapped through mmapio__sys.mmap (fault injection).
 *
 * Invariants: base/mapped/len describe one mapping of [0, len) of the file,
 * never past EOF as far as this object changed it; an unmapped object has
 * base == NULL and mapped == reserved == 0 until mmapio_map() maps it
 * (unmapped then turns false for good). refs > 0
 * while the object is reachable.
 *
 * Threads: constructors and accessors are thread-safe; the last
 * mmapio_close() or mmapio_unmap() must not race with other use of the
 * object (the caller gave up its reference).
 */
#include "internal.h"
#include "mmapfs_config.h"
#include "sys.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounded retries of open-or-create when the file keeps vanishing between
 * the exclusive create and the plain open (someone unlinks it in a loop). */
#define OPEN_OR_CREATE_RETRIES 1000

const char *mmapio_version(void)
{
	return MMAPFS_VERSION;
}

void mmapio_options_init(struct mmapio_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = MMAPIO_RO;
	o->how = MMAPIO_OPEN_EXISTING;
	o->create_mode = 0644;
	o->policy.kind = MMAPIO_POLICY_NEVER;
	o->preallocate = true;
}

static int validate_options(const struct mmapio_options *o)
{
	if (o->mode != MMAPIO_RO && o->mode != MMAPIO_RW &&
	    o->mode != MMAPIO_COW)
		return -EINVAL;
	if (o->how != MMAPIO_OPEN_EXISTING && o->how != MMAPIO_CREATE &&
	    o->how != MMAPIO_OPEN_OR_CREATE &&
	    o->how != MMAPIO_CREATE_OR_TRUNCATE)
		return -EINVAL;
	/* Creating sets the size, which needs a writable descriptor. */
	if (o->how != MMAPIO_OPEN_EXISTING && o->mode != MMAPIO_RW)
		return -EINVAL;
	if (o->size > INT64_MAX || o->reserve > INT64_MAX)
		return -EFBIG;
	return mmapio_policy_validate(&o->policy);
}

static struct mmapio_file *file_alloc(const char *path)
{
	struct mmapio_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (path) {
		f->path = strdup(path);
		if (!f->path) {
			free(f);
			return NULL;
		}
	}
	mmapio__rwlock_init(&f->map_lock);
	atomic_init(&f->pins, 0);
	atomic_init(&f->pin_waiters, 0);
	mmapio__mutex_init(&f->pin_lock);
	pthread_cond_init(&f->pin_cv, NULL);
	atomic_init(&f->refs, 1);
	atomic_init(&f->unmapped, false);
	f->fd = -1;
	return f;
}

static void file_free(struct mmapio_file *f)
{
	mmapio__rwlock_destroy(&f->map_lock);
	mmapio__mutex_destroy(&f->pin_lock);
	pthread_cond_destroy(&f->pin_cv);
	free(f->path);
	free(f);
}

static void unmap_all(struct mmapio_file *f)
{
	size_t span = f->reserved > f->mapped ? f->reserved : f->mapped;

	if (f->base && span)
		munmap(f->base, span);
	f->base = NULL;
	f->mapped = 0;
	f->reserved = 0;
}

/* Maps the first `want` (> 0, page-aligned) bytes of the file at base (or
 * anywhere when base is NULL). */
static int map_file_pages(struct mmapio_file *f, size_t want)
{
	void *p = mmapio__sys.mmap(f->base, want, f->prot,
				  f->map_flags | (f->base ? MAP_FIXED : 0),
				  f->fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	f->base = p;
	f->mapped = want;
	if (f->hugepages)
		madvise(p, want, MADV_HUGEPAGE);
	return 0;
}

/* Asks the kernel whether it maps this (empty) file at all: one page past
 * EOF may be mapped as long as nothing touches it, and the file systems
 * that refuse shared mappings refuse it whatever the size. */
static int probe_mappable(struct mmapio_file *f)
{
	size_t ps = mmapio_page_size();
	void *p = mmapio__sys.mmap(NULL, ps, f->prot,
				  f->map_flags & ~MAP_POPULATE, f->fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, ps);
	return 0;
}

/* Maps [0, len) of f (fields mode/fd/prot/map_flags set), inside a fresh
 * reserve of `reserve` bytes when that is larger. With fallback, a file
 * the kernel will not map (ENODEV, or ENOMEM: no address space for it) is
 * left unmapped instead; with none, it is not mapped at all. */
static int map_initial(struct mmapio_file *f, uint64_t len, uint64_t reserve,
		       bool fallback, bool none)
{
	size_t want = mmapio__page_up(len);
	size_t resv = reserve > want ? mmapio__page_up(reserve) : 0;
	void *p;
	int rc;

	if (none) {
		/* pread/pwrite serve it: not on an O_DIRECT descriptor, nor
		 * pwrite on an O_APPEND one (see below). */
		if ((f->fd_status & O_DIRECT) ||
		    ((f->fd_status & O_APPEND) && f->writable))
			return -EINVAL;
		atomic_store(&f->unmapped, true);
		atomic_store(&f->len, len);
		return 0;
	}
	if (resv) {
		p = mmap(NULL, resv, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		f->base = p;
		f->reserved = resv;
	}
	rc = want ? map_file_pages(f, want) : probe_mappable(f);
	if (rc < 0) {
		unmap_all(f);
		/* A private mapping would keep writes from the file: pwrite
		 * cannot stand in for it. Nor can pread/pwrite on a caller's
		 * O_DIRECT fd (unaligned buffers are EINVAL) or pwrite on an
		 * O_APPEND one (the kernel ignores the offset): the error, as
		 * without the fallback (mmapio.h, mmapio_from_fd). */
		if ((rc != -ENODEV && rc != -ENOMEM) || !fallback ||
		    f->mode == MMAPIO_COW)
			return rc;
		if ((f->fd_status & O_DIRECT) ||
		    ((f->fd_status & O_APPEND) && f->writable))
			return rc;
		atomic_store(&f->unmapped, true);
	}
	atomic_store(&f->len, len);
	return 0;
}

/* Finishes any constructor: f->fd is open (owned by f from here on unless
 * this fails), f->mode/writable set; known: f->fd's attributes when the
 * caller has them (mmapio_from_fd_known), else NULL. */
static int map_fd(struct mmapio_file *f, const struct mmapio_options *o,
		  const struct stat *known)
{
	struct stat st;
	int rc;

	mmapio__sigbus_install();
	if (known)
		st = *known;
	else if (fstat(f->fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;

	f->hugepages = o->hugepages;
	f->prot = PROT_READ | (f->writable ? PROT_WRITE : 0);
	f->map_flags = (f->mode == MMAPIO_COW ? MAP_PRIVATE : MAP_SHARED) |
		       (o->populate ? MAP_POPULATE : 0);
	atomic_init(&f->preallocate, o->preallocate && f->mode == MMAPIO_RW);
	atomic_init(&f->fiemap_ok, true);
	atomic_init(&f->alloc_upto, 0);

	if (o->no_mapping && f->mode == MMAPIO_COW)
		return -EINVAL;
	rc = map_initial(f, (uint64_t)st.st_size, o->reserve,
			 o->unmapped_fallback, o->no_mapping);
	if (rc < 0)
		return rc;
	/* MAP_POPULATE is an open-time hint only. */
	f->map_flags &= ~MAP_POPULATE;
	if (atomic_load(&f->preallocate)) {
		/* Nobody else sees f yet; the lock keeps the rule simple. */
		mmapio__wrlock(&f->map_lock);
		mmapio__reset_alloc_locked(f);
		mmapio__rwunlock(&f->map_lock);
	}

	rc = mmapio__state_attach(f, &o->policy, &st);
	if (rc < 0) {
		unmap_all(f);
		return rc;
	}
	return 0;
}

/* Extends an empty file that open-or-create found (or made) to size.
 * Returns 1 when all of it was allocated, else 0, or -errno. */
static int size_new_file(int fd, uint64_t size, bool preallocate)
{
	struct stat st;

	if (!size)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size != 0)
		return 0;
	if (preallocate) {
		/* Mode 0 only ever grows the file: a concurrent writer that
		 * made it larger meanwhile keeps its bytes. */
		if (mmapio__sys.fallocate(fd, 0, 0, (off_t)size) == 0)
			return 1;
		if (errno != EOPNOTSUPP)
			return -errno;
	}
	if (mmapio__sys.ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

/* Opens an existing file; O_NONBLOCK so that a FIFO cannot hang us before
 * fstat refuses it (cleared again: it means nothing for regular files).
 * Returns the fd or -errno. */
static int open_existing(const char *path, int flags)
{
	int fd = open(path, flags | O_NONBLOCK);
	int fl;

	if (fd < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Opens path as o says. Sets *created when this call made the file. */
static int open_path(const char *path, const struct mmapio_options *o,
		     bool *created)
{
	int flags = O_CLOEXEC | O_NOCTTY |
		    (o->mode == MMAPIO_RW ? O_RDWR : O_RDONLY);
	int fd, tries;

	*created = false;
	switch (o->how) {
	case MMAPIO_OPEN_EXISTING:
		return open_existing(path, flags);
	case MMAPIO_CREATE:
		fd = open(path, flags | O_CREAT | O_EXCL, o->create_mode);
		if (fd < 0)
			return -errno;
		*created = true;
		return fd;
	case MMAPIO_OPEN_OR_CREATE:
		for (tries = 0; tries < OPEN_OR_CREATE_RETRIES; tries++) {
			fd = open(path, flags | O_CREAT | O_EXCL, o->create_mode);
			if (fd >= 0) {
				*created = true;
				return fd;
			}
			if (errno != EEXIST)
				return -errno;
			fd = open_existing(path, flags);
			if (fd != -ENOENT)
				return fd;
		}
		return -ENOENT;
	case MMAPIO_CREATE_OR_TRUNCATE:
		/* Whether this call made the file cannot be told: a failure
		 * later leaves it (empty) in place. */
		fd = open(path, flags | O_CREAT | O_TRUNC, o->create_mode);
		return fd < 0 ? -errno : fd;
	}
	return -EINVAL;
}

int mmapio_open(const char *path, const struct mmapio_options *o,
		struct mmapio_file **out)
{
	struct mmapio_file *f;
	bool created, allocated = false;
	int rc;

	if (!path || !o || !out)
		return -EINVAL;
	rc = validate_options(o);
	if (rc < 0)
		return rc;
	f = file_alloc(path);
	if (!f)
		return -ENOMEM;
	f->mode = o->mode;
	f->writable = o->mode == MMAPIO_RW ||
		      (o->mode == MMAPIO_COW && o->cow_writable);

	rc = open_path(path, o, &created);
	if (rc < 0)
		goto fail_free;
	f->fd = rc;
	if (o->how != MMAPIO_OPEN_EXISTING) {
		rc = size_new_file(f->fd, o->size, o->preallocate);
		if (rc < 0)
			goto fail_close;
		allocated = rc == 1;
	}
	rc = map_fd(f, o, NULL);
	if (rc < 0)
		goto fail_close;
	/* SEEK_HOLE may call fresh fallocated extents holes; we know better. */
	if (allocated && (uint64_t)o->size == mmapio_len(f))
		atomic_store(&f->alloc_upto, o->size);
	*out = f;
	return 0;

fail_close:
	close(f->fd);
	/* A file this call created exclusively is ours to take back. */
	if (created)
		unlink(path);
fail_free:
	file_free(f);
	return rc;
}

int mmapio_open_ro(const char *path, struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	return mmapio_open(path, &o, out);
}

int mmapio_open_rw(const char *path, struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	return mmapio_open(path, &o, out);
}

int mmapio_open_cow(const char *path, bool writable, struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = MMAPIO_COW;
	o.cow_writable = writable;
	return mmapio_open(path, &o, out);
}

int mmapio_create_rw(const char *path, uint64_t size, struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE;
	o.size = size;
	return mmapio_open(path, &o, out);
}

int mmapio_open_or_create(const char *path, uint64_t default_size,
			  struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_OPEN_OR_CREATE;
	o.size = default_size;
	return mmapio_open(path, &o, out);
}

int mmapio_create(const char *path, uint64_t size, struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = MMAPIO_RW;
	o.how = MMAPIO_CREATE_OR_TRUNCATE;
	o.size = size;
	return mmapio_open(path, &o, out);
}

int mmapio_load(const char *path, enum mmapio_mode mode,
		struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = mode;
	/* COW loads writable, as mmap-io's load_mmap does. */
	o.cow_writable = mode == MMAPIO_COW;
	return mmapio_open(path, &o, out);
}

int mmapio_from_fd_opts(int fd, const struct mmapio_options *o,
			const char *path, struct mmapio_file **out)
{
	return mmapio_from_fd_known(fd, o, path, -1, NULL, out);
}

int mmapio_from_fd_known(int fd, const struct mmapio_options *o,
			 const char *path, int flags, const struct stat *st,
			 struct mmapio_file **out)
{
	struct mmapio_options opts;
	struct mmapio_file *f;
	int fl, rc;

	if (fd < 0 || !o || !out)
		return -EBADF;
	opts = *o;
	opts.how = MMAPIO_OPEN_EXISTING;
	opts.size = 0;
	rc = validate_options(&opts);
	if (rc < 0)
		return rc;
	fl = flags >= 0 ? flags : fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & O_PATH)
		return -EBADF;
	if ((fl & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (opts.mode == MMAPIO_RW && (fl & O_ACCMODE) != O_RDWR)
		return -EBADF;

	f = file_alloc(path);
	if (!f)
		return -ENOMEM;
	f->mode = opts.mode;
	f->writable = opts.mode == MMAPIO_RW ||
		      (opts.mode == MMAPIO_COW && opts.cow_writable);
	f->fd = fd;
	f->fd_status = fl & (O_APPEND | O_DIRECT | O_SYNC | O_DSYNC);
	rc = map_fd(f, &opts, st);
	if (rc < 0) {
		file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int mmapio_from_fd(int fd, enum mmapio_mode mode, const char *path,
		   struct mmapio_file **out)
{
	struct mmapio_options o;

	mmapio_options_init(&o);
	o.mode = mode;
	return mmapio_from_fd_opts(fd, &o, path, out);
}

int mmapio_anon(uint64_t size, struct mmapio_file **out)
{
	struct mmapio_file *f;
	int rc;

	if (!out)
		return -EINVAL;
	if (size > INT64_MAX)
		return -EFBIG;
	mmapio__sigbus_install();
	f = file_alloc(NULL);
	if (!f)
		return -ENOMEM;
	f->mode = MMAPIO_RW;
	f->writable = true;
	f->anon = true;
	f->prot = PROT_READ | PROT_WRITE;
	f->map_flags = MAP_SHARED | MAP_ANONYMOUS;
	atomic_init(&f->preallocate, false);
	if (size) {
		void *p = mmap(NULL, mmapio__page_up(size), f->prot,
			       f->map_flags, -1, 0);

		if (p == MAP_FAILED) {
			rc = -errno;
			file_free(f);
			return rc;
		}
		f->base = p;
		f->mapped = mmapio__page_up(size);
	}
	atomic_init(&f->len, size);
	rc = mmapio__state_attach(f, NULL, NULL);
	if (rc < 0) {
		unmap_all(f);
		file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

struct mmapio_file *mmapio_ref(struct mmapio_file *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

/* The end of the last reference: state first (it may flush through the
 * mapping), then the mapping. Returns the detach result. */
static int release_last(struct mmapio_file *f)
{
	int rc;

	/* Views hold references: none can be pinned once the last is gone. */
	assert(atomic_load(&f->pins) == 0);
	rc = mmapio__state_detach(f);

	unmap_all(f);
	return rc;
}

int mmapio_close(struct mmapio_file *f)
{
	int rc;

	if (!f)
		return 0;
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return 0;
	rc = release_last(f);
	/* close(2) is where NFS reports a failed write-back. */
	if (f->fd >= 0 && close(f->fd) < 0 && rc == 0 && errno != EINTR)
		rc = -errno;
	file_free(f);
	return rc;
}

int mmapio_unmap(struct mmapio_file *f, int *fd_out)
{
	unsigned one = 1;
	int rc;

	if (!f || !fd_out)
		return -EINVAL;
	if (f->anon)
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&f->refs, &one, 0))
		return -EBUSY;
	rc = release_last(f);
	*fd_out = f->fd;
	file_free(f);
	return rc;
}

uint64_t mmapio_len(const struct mmapio_file *f)
{
	return atomic_load_explicit(&f->len, memory_order_acquire);
}

bool mmapio_is_empty(const struct mmapio_file *f)
{
	return mmapio_len(f) == 0;
}

enum mmapio_mode mmapio_mode(const struct mmapio_file *f)
{
	return f->mode;
}

const char *mmapio_path(const struct mmapio_file *f)
{
	return f->path;
}

int mmapio_fd(const struct mmapio_file *f)
{
	return f->fd;
}

bool mmapio_is_mapped(const struct mmapio_file *f)
{
	return !mmapio__unmapped(f);
}

int mmapio_map(struct mmapio_file *f)
{
	uint64_t want;
	int rc = 0;

	if (!f)
		return -EINVAL;
	if (!mmapio__unmapped(f))
		return 0;
	if (f->mode == MMAPIO_COW)
		return -EINVAL;
	mmapio__wrlock(&f->map_lock);
	if (mmapio__unmapped(f)) {
		want = mmapio__page_up(atomic_load_explicit(
				&f->len, memory_order_relaxed));
		rc = want ? map_file_pages(f, (size_t)want) :
			    probe_mappable(f);
		if (rc == 0)
			atomic_store_explicit(&f->unmapped, false,
					      memory_order_release);
	}
	mmapio__rwunlock(&f->map_lock);
	return rc;
}

bool mmapio_is_private(const struct mmapio_file *f)
{
	return f->anon || f->mode == MMAPIO_COW;
}

uint64_t mmapio_locked_bytes(const struct mmapio_file *f)
{
	return atomic_load_explicit(&f->locked_bytes, memory_order_relaxed);
}
