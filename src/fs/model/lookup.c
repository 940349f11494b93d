/*
 * lookup.c — looking names up for requests. The inode table finds or
 * makes the inode (inode.c); a regular file whose backing object changed
 * from outside since the kernel last saw it then has the kernel's cached
 * data and attributes dropped (outside.c, invalidate.c), so a LOOKUP is
 * where such a change first shows.
 *
 * Threads: any request thread; no lock of its own.
 */
#include "model/lookup.h"


#include "model/inode.h"
#include "model/invalidate.h"
#include "model/outside.h"

/* After a lookup that found e (res 0): drops the kernel's cache of a
 * regular file changed from outside. Returns res. */
static int checked(int res, struct fuse_entry_param *e)
{
	if (res == 0 && S_ISREG(e->attr.st_mode) &&
	    mmapfs_outside_check(mmapfs_inode_get(e->ino), &e->attr))
		mmapfs_invalidate_queue(e->ino);
	return res;
}

int mmapfs_lookup(struct mmapfs_inode *parent, const char *name,
		  struct fuse_entry_param *e)
{
	return checked(mmapfs_inode_find_entry(parent, name, 0, e), e);
}

int mmapfs_lookup_created(struct mmapfs_inode *parent, const char *name,
			  int made_fd, struct fuse_entry_param *e)
{
	return checked(mmapfs_inode_created_entry(parent, name, made_fd, e),
		       e);
}

int mmapfs_lookup_listed(struct mmapfs_inode *parent, const char *name,
			 ino_t listed_ino, struct fuse_entry_param *e)
{
	return checked(mmapfs_inode_find_entry(parent, name, listed_ino, e),
		       e);
}
