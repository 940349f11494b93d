/*
 * model/outside.h — changes made to backing files from outside the mount:
 * the daemon's own changes bracketed, the rest noticed and reported.
 */
#ifndef MMAPFS_MODEL_OUTSIDE_H
#define MMAPFS_MODEL_OUTSIDE_H

#include "model/inode.h"

/* Starts/stops the inotify watcher of open files (after daemonizing).
 * notice false (outside_changes = ignore, fixed for the daemon's life):
 * no watcher, and from then on the brackets stat only what dropping
 * set-ID bits and capabilities needs, and no check reports a change. */
int mmapfs_outside_start(bool notice);
void mmapfs_outside_stop(void);
/* False under outside_changes = ignore: nothing but the mount changes the
 * backing files, so a file's size after a write is the daemon's to know. */
bool mmapfs_outside_noticed(void);
/* Bracket every change the daemon makes to a file's data or attributes
 * (a no-op for directories and other non-regular objects, whose changes
 * from outside are found otherwise);
 * end stats fd (or the inode when fd is -1) to learn the ctime it left.
 * begin, when no other change of the daemon's to the file is in flight,
 * stats fd (a descriptor of in; -1: skip) first: a change from outside
 * since the daemon's last one is reported there, before this change's end
 * could take it for its own. */
void mmapfs_own_change_begin(struct mmapfs_inode *in, int fd);
void mmapfs_own_change_end(struct mmapfs_inode *in, int fd);
/* The end of a setattr's change (mode, owner, size, times: none adds a
 * capability, so a known absence of security.capability stays known).
 * Returns true with the attributes it read after the change in *st (a
 * regular file's: the reply needs no stat of its own), else false. */
bool mmapfs_own_change_end_attrs(struct mmapfs_inode *in, int fd,
				 struct stat *st);
/* The end of a change of a file's data (write, truncation, fallocate,
 * copy_file_range): also drops set-ID bits and capabilities as the
 * kernel would have (killpriv_v2, killpriv.c). */
void mmapfs_own_change_end_data(struct mmapfs_inode *in, int fd);
/* The same with the file's attributes already read after the change (st,
 * or NULL: stat fd now), as an append's mapping refresh reads them. */
void mmapfs_own_change_end_data_seen(struct mmapfs_inode *in, int fd,
				     const struct stat *st);
/* True when st (attributes just read) shows a change made from outside
 * since the kernel's cache of in was last known good; records it, so
 * each change is reported once. */
bool mmapfs_outside_check(struct mmapfs_inode *in, const struct stat *st);
/* The same with attributes it reads itself into *st: of fd (a pinned
 * descriptor of in), or of the inode when fd is -1 (mmapfs_inode_fd_get:
 * not with an inode.lock held). *st is meaningful only when it returns
 * true (under outside_changes = ignore it is not read at all). */
bool mmapfs_outside_check_fresh(struct mmapfs_inode *in, int fd,
				struct stat *st);
/* Watches an open file for changes from outside once it has been open
 * for WATCH_DELAY_MS (first open; the watcher thread adds the watch, then
 * checks the file once for a change made before it): a file opened,
 * written and closed at once costs no watch. / Stops watching, or waiting
 * to (last release). Call with in->lock held. */
void mmapfs_outside_watch_later(struct mmapfs_inode *in);
void mmapfs_outside_watch_remove(struct mmapfs_inode *in);
/* Watches a directory now (fd: a pinned descriptor of it). in->lock
 * held. */
void mmapfs_outside_watch_add(struct mmapfs_inode *in, int fd);
/* Directories (cache_readdir). After an opendir attached its handle
 * (fd: the handle's directory descriptor): watches the directory while it
 * has open handles, and returns whether the kernel must drop its cached
 * listing (the directory changed since the last opendir). After a
 * releasedir detached its handle, before the reply: stops watching when
 * no handle is left. */
bool mmapfs_outside_dir_opened(struct mmapfs_inode *in, int fd);
void mmapfs_outside_dir_closed(struct mmapfs_inode *in);
/* Before in is freed: waits until the watcher thread no longer uses it
 * (it was removed from the watch table at its last release). */
void mmapfs_outside_forget(struct mmapfs_inode *in);

#endif /* MMAPFS_MODEL_OUTSIDE_H */
