/*
 * xattr_virtual.c — the read-only virtual xattrs of regular files
 * (docs/control.md): user.mmapfs.policy (canonical text),
 * user.mmapfs.pending_bytes, user.mmapfs.pending_writes,
 * user.mmapfs.flushes (decimal) and user.mmapfs.mapped (yes/no), the same
 * texts as the columns of .stats/files, without a newline.
 *
 * Design: the whole user.mmapfs. namespace belongs to the daemon. getxattr
 * of one of the five names on a regular file computes the value; any other
 * name in the namespace, or any on another kind of inode, is ENODATA (a
 * stray attribute of that name on the backing file is hidden). listxattr
 * of a regular file lists the backing file's names (without the
 * namespace) and then the five. setxattr and removexattr of a name in the
 * namespace are EPERM on every inode.
 *   Values: an open file with an mf (mapped, or served by pread/pwrite
 *   inside libmmapio when the kernel will not map it: mapped = no) reports
 *   its counters and policy; an open file whose mapping is evicted, or
 *   that the daemon cannot open itself, reports its policy and the
 *   counters the library keeps (zero when none); a file that is not open
 *   reports the policy its next open would get (the .ctl/policy override,
 *   else the config's for its current path) and zero counters.
 *
 * Threads: any request thread; inode.lock is held while the values are
 * read from the inode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "model/fdcache.h"
#include "model/inode.h"
#include "model/mapping.h"
#include "virtual/virtual.h"

#define NAMESPACE "user.mmapfs."

enum vx { VX_POLICY, VX_PENDING_BYTES, VX_PENDING_WRITES, VX_FLUSHES,
	  VX_MAPPED, VX_COUNT };

static const char *const vx_names[VX_COUNT] = {
	[VX_POLICY] = NAMESPACE "policy",
	[VX_PENDING_BYTES] = NAMESPACE "pending_bytes",
	[VX_PENDING_WRITES] = NAMESPACE "pending_writes",
	[VX_FLUSHES] = NAMESPACE "flushes",
	[VX_MAPPED] = NAMESPACE "mapped",
};

static bool in_namespace(const char *name)
{
	return strncmp(name, NAMESPACE, sizeof(NAMESPACE) - 1) == 0;
}

/* What the xattrs of a regular file show. */
struct vx_values {
	struct mmapio_policy policy;
	bool mapped;
	struct mmapio_stats st;
};

static int vx_read(struct mmapfs_inode *in, struct vx_values *v)
{
	struct mmapfs_file_settings s;
	int res;

	memset(v, 0, sizeof(*v));
	res = mmapfs_settings_effective(in, &s);
	if (res < 0)
		return res;
	v->policy = s.flush;
	return mmapfs_mapping_stats(in, &v->st, &v->mapped);
}

/* The text of xattr x (NUL-terminated in buf). Returns its length or
 * -errno. */
static int vx_format(enum vx x, const struct vx_values *v, char *buf,
		     size_t len)
{
	int n;

	switch (x) {
	case VX_POLICY:
		return mmapio_policy_format(&v->policy, buf, len);
	case VX_PENDING_BYTES:
		n = snprintf(buf, len, "%llu",
			     (unsigned long long)v->st.pending_bytes);
		break;
	case VX_PENDING_WRITES:
		n = snprintf(buf, len, "%llu",
			     (unsigned long long)v->st.pending_writes);
		break;
	case VX_FLUSHES:
		n = snprintf(buf, len, "%llu",
			     (unsigned long long)v->st.flushes);
		break;
	case VX_MAPPED:
		n = snprintf(buf, len, "%s", v->mapped ? "yes" : "no");
		break;
	default:
		return -ENODATA;
	}
	return n;
}

bool mmapfs_xattr_virtual_get(fuse_req_t req, fuse_ino_t ino,
			      const char *name, size_t size)
{
	struct mmapfs_inode *in = mmapfs_inode_get(ino);
	char text[MMAPIO_POLICY_TEXT_MAX];
	struct vx_values v;
	int x, n;

	if (!in_namespace(name))
		return false;
	for (x = 0; x < VX_COUNT && strcmp(name, vx_names[x]) != 0; x++)
		;
	if (x == VX_COUNT || !S_ISREG(in->type)) {
		fuse_reply_err(req, ENODATA);
		return true;
	}
	n = vx_read(in, &v);
	if (n >= 0)
		n = vx_format((enum vx)x, &v, text, sizeof(text));
	if (n < 0)
		fuse_reply_err(req, -n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else if ((size_t)n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, text, (size_t)n);
	return true;
}

/* Drops the names of the namespace from a list of n bytes of
 * NUL-terminated names. Returns the new length. */
static size_t drop_namespace(char *list, size_t n)
{
	size_t in = 0, out = 0;

	while (in < n) {
		size_t len = strnlen(list + in, n - in) + 1;

		if (!in_namespace(list + in)) {
			memmove(list + out, list + in, len);
			out += len;
		}
		in += len;
	}
	return out;
}

/* The backing object's attribute names (through fd, its pinned O_PATH
 * descriptor) in *out (malloc'd with extra bytes to spare): their size
 * first, then the names (again when the list grew in between). Returns
 * the names' length or -errno. */
static ssize_t real_names(int fd, size_t extra, char **out)
{
	char proc[64], *buf;
	ssize_t n;

	mmapfs_fd_procpath(fd, proc, sizeof(proc));
	for (;;) {
		n = listxattr(proc, NULL, 0);
		if (n < 0) {
			if (errno != ENOTSUP)
				return -errno;
			n = 0;
		}
		buf = malloc((size_t)n + extra);
		if (!buf)
			return -ENOMEM;
		if (n > 0)
			n = listxattr(proc, buf, (size_t)n);
		if (n >= 0)
			break;
		n = -errno;
		free(buf);
		if (n != -ERANGE)
			return n;
	}
	*out = buf;
	return n;
}

bool mmapfs_xattr_virtual_list(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mmapfs_inode *in = mmapfs_inode_get(ino);
	size_t extra = 0, total;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if (!S_ISREG(in->type))
		return false;
	for (int x = 0; x < VX_COUNT; x++)
		extra += strlen(vx_names[x]) + 1;
	fd = mmapfs_inode_fd_get(in);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return true;
	}
	n = real_names(fd, extra, &buf);
	mmapfs_inode_fd_put(in);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return true;
	}
	total = drop_namespace(buf, (size_t)n);
	for (int x = 0; x < VX_COUNT; x++) {
		size_t len = strlen(vx_names[x]) + 1;

		memcpy(buf + total, vx_names[x], len);
		total += len;
	}
	if (size == 0)
		fuse_reply_xattr(req, total);
	else if (total > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, total);
	free(buf);
	return true;
}

bool mmapfs_xattr_virtual_refused(fuse_req_t req, const char *name)
{
	if (!in_namespace(name))
		return false;
	fuse_reply_err(req, EPERM);
	return true;
}
