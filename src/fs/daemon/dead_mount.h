/*
 * daemon/dead_mount.h — clearing the dead mount an earlier mmapfs left behind
 * (killed with SIGKILL, crashed), so a restart (systemd's Restart=) can
 * mount again without an admin running fusermount3 -u first.
 */
#ifndef MMAPFS_DAEMON_DEAD_MOUNT_H
#define MMAPFS_DAEMON_DEAD_MOUNT_H

/* When path is the mount point of a dead mmapfs mount — stat(2) or
 * statfs(2) fails with ENOTCONN (the FUSE connection is gone with its
 * daemon) and the
 * last mount on path in /proc/self/mountinfo is of type fuse.mmapfs —
 * detaches that mount: umount2(MNT_DETACH), or `fusermount3 -u -z` for a
 * user without CAP_SYS_ADMIN. Anything else (a live mount, another file
 * system, another FUSE file system) is left alone. Prints one line to
 * stderr when it clears a mount or fails to. Returns 1 when a mount was
 * cleared, 0 when there was none to clear, -errno when clearing failed. */
int mmapfs_clear_dead_mount(const char *path);

#endif /* MMAPFS_DAEMON_DEAD_MOUNT_H */
