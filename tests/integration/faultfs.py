"""faultfs — a passthrough FUSE file system that fails syncs on demand.

Purpose: the integration tests need a backing file system whose fsync(2)
fails with EIO (a device error), to check through a real mount that mmapfs
reports it to every client as docs/durability.md says.  This machine has no
dm-error or dm-flakey, so faultfs fakes the device instead.

    /usr/bin/python3 faultfs.py SRC MNT

mounts SRC at MNT and serves it in the foreground until MNT is unmounted
(fusermount3 -u), then exits with status 0.  Log lines go to stderr.

What it fakes: while a trigger file exists in SRC, the matching requests on
regular files fail with EIO instead of reaching SRC:
    SRC/.fail-fsync   FSYNC (fsync, fdatasync, msync MS_SYNC of a mapping)
    SRC/.fail-write   WRITE (write(2), and the kernel's write-back of pages
                      dirtied through a shared mapping)
and a slow device: while SRC/.slow-fsync exists, each FSYNC of a regular
file waits the number of seconds written in it before it goes on (other
requests are served meanwhile).
The trigger files are hidden: not listed, not found by lookup.  Everything
else is passed through to SRC unchanged.  An injected failure is logged as
"faultfs: injected EIO: FSYNC ..." so a test can see it was reached.

Design: pyfuse3's low-level (inode) API on trio, one thread.  Each inode
the kernel knows holds an O_PATH descriptor of its backing object, keyed by
the backing (st_dev, st_ino), with the kernel's lookup count; FORGET closes
it.  Every operation resolves relative to those descriptors (*at calls,
/proc/self/fd/N to reopen), so unlinked-but-open files and names keep
working without path bookkeeping.  An open file's handle is its backing
descriptor.  Files are NOT served with direct_io, so clients (the mmapfs
daemon) can map them shared; keep_cache holds, since every change goes
through this mount.

Scope: lookup, forget, getattr, setattr, opendir, readdir(plus), releasedir,
fsyncdir, open, create, read, write, flush, release, fsync, unlink, mkdir,
rmdir, statfs.  The rest answers ENOSYS (pyfuse3's default), which the
kernel turns into EOPNOTSUPP/ENOSYS for the caller (fallocate, for example,
so mmapfs falls back to its SIGBUS guard).
"""

import errno
import os
import stat
import sys

import pyfuse3
import trio

TRIGGERS = {"fsync": ".fail-fsync", "write": ".fail-write",
            "slow-fsync": ".slow-fsync"}
HIDDEN = {os.fsencode(name) for name in TRIGGERS.values()}
TIMEOUT = 1.0  # entry and attribute cache, seconds


def log(text):
    print(f"faultfs: {text}", file=sys.stderr, flush=True)


def oserror(e):
    return pyfuse3.FUSEError(e.errno or errno.EIO)


class Inode:
    """A backing object the kernel holds lookups on."""

    def __init__(self, number, fd):
        self.number = number
        self.fd = fd            # O_PATH descriptor of the backing object
        self.lookups = 0

    def proc(self):
        return f"/proc/self/fd/{self.fd}"


class FaultFS(pyfuse3.Operations):
    def __init__(self, src):
        super().__init__()
        self.src = src
        root = os.open(src, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        st = os.fstat(root)
        self.inodes = {pyfuse3.ROOT_INODE: Inode(pyfuse3.ROOT_INODE, root)}
        self.by_key = {(st.st_dev, st.st_ino): pyfuse3.ROOT_INODE}
        self.next_number = pyfuse3.ROOT_INODE + 1
        self.dirs = {}          # opendir handle -> entry list
        self.next_dir = 1

    # ---- faults ----------------------------------------------------------

    def failing(self, what):
        return os.path.lexists(os.path.join(self.src, TRIGGERS[what]))

    def inject(self, what, fh, detail):
        if not self.failing(what):
            return
        if not stat.S_ISREG(os.fstat(fh).st_mode):
            return
        log(f"injected EIO: {what.upper()} fh={fh} {detail}")
        raise pyfuse3.FUSEError(errno.EIO)

    async def slow_down(self, what, fh):
        """Waits as long as the slow trigger of `what` says (seconds)."""
        try:
            with open(os.path.join(self.src, TRIGGERS[f"slow-{what}"])) as f:
                seconds = float(f.read().strip() or 0)
        except (OSError, ValueError):
            return
        if seconds > 0 and stat.S_ISREG(os.fstat(fh).st_mode):
            log(f"slow {what.upper()} fh={fh}: {seconds} s")
            await trio.sleep(seconds)

    # ---- inode table -----------------------------------------------------

    def attr(self, number, st):
        a = pyfuse3.EntryAttributes()
        a.st_ino = number
        a.generation = 0
        a.entry_timeout = TIMEOUT
        a.attr_timeout = TIMEOUT
        for name in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev",
                     "st_size", "st_blksize", "st_blocks", "st_atime_ns",
                     "st_mtime_ns", "st_ctime_ns"):
            setattr(a, name, getattr(st, name))
        return a

    def remember(self, parent, name):
        """Opens name in parent as an inode, counts one lookup, returns its
        attributes."""
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=self.inodes[parent].fd)
        try:
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        key = (st.st_dev, st.st_ino)
        number = self.by_key.get(key)
        if number is None:
            number = self.next_number
            self.next_number += 1
            self.inodes[number] = Inode(number, fd)
            self.by_key[key] = number
        else:
            os.close(fd)
        self.inodes[number].lookups += 1
        return self.attr(number, st)

    async def lookup(self, parent_inode, name, ctx=None):
        if parent_inode == pyfuse3.ROOT_INODE and name in HIDDEN:
            raise pyfuse3.FUSEError(errno.ENOENT)
        try:
            return self.remember(parent_inode, name)
        except OSError as e:
            raise oserror(e)

    async def forget(self, inode_list):
        for number, count in inode_list:
            node = self.inodes.get(number)
            if node is None or number == pyfuse3.ROOT_INODE:
                continue
            node.lookups -= count
            if node.lookups <= 0:
                st = os.fstat(node.fd)
                self.by_key.pop((st.st_dev, st.st_ino), None)
                del self.inodes[number]
                os.close(node.fd)

    async def getattr(self, inode, ctx=None):
        try:
            return self.attr(inode, os.fstat(self.inodes[inode].fd))
        except OSError as e:
            raise oserror(e)

    async def setattr(self, inode, attr, fields, fh, ctx):
        node = self.inodes[inode]
        target = fh if fh is not None else node.proc()
        try:
            if fields.update_size:
                os.truncate(target, attr.st_size)
            if fields.update_mode:
                os.chmod(node.proc(), stat.S_IMODE(attr.st_mode))
            if fields.update_uid or fields.update_gid:
                os.chown(node.proc(),
                         attr.st_uid if fields.update_uid else -1,
                         attr.st_gid if fields.update_gid else -1)
            if fields.update_atime or fields.update_mtime:
                st = os.fstat(node.fd)
                os.utime(node.proc(), ns=(
                    attr.st_atime_ns if fields.update_atime
                    else st.st_atime_ns,
                    attr.st_mtime_ns if fields.update_mtime
                    else st.st_mtime_ns))
            return self.attr(inode, os.fstat(node.fd))
        except OSError as e:
            raise oserror(e)

    # ---- directories -----------------------------------------------------

    async def opendir(self, inode, ctx):
        try:
            fd = os.open(self.inodes[inode].proc(),
                         os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise oserror(e)
        try:
            names = sorted(os.fsencode(n) for n in os.listdir(fd))
        finally:
            os.close(fd)
        if inode == pyfuse3.ROOT_INODE:
            names = [n for n in names if n not in HIDDEN]
        handle = self.next_dir
        self.next_dir += 1
        self.dirs[handle] = (inode, names)
        return handle

    async def readdir(self, fh, start_id, token):
        inode, names = self.dirs[fh]
        for index in range(start_id, len(names)):
            try:
                attr = self.remember(inode, names[index])
            except OSError:
                continue        # gone since opendir
            if not pyfuse3.readdir_reply(token, names[index], attr,
                                         index + 1):
                # Not passed on: the kernel holds no lookup for it.
                await self.forget([(attr.st_ino, 1)])
                return

    async def releasedir(self, fh):
        del self.dirs[fh]

    async def fsyncdir(self, fh, datasync):
        inode, _ = self.dirs[fh]
        try:
            fd = os.open(self.inodes[inode].proc(),
                         os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise oserror(e)

    async def mkdir(self, parent_inode, name, mode, ctx):
        dirfd = self.inodes[parent_inode].fd
        try:
            os.mkdir(name, mode, dir_fd=dirfd)
            os.chown(name, ctx.uid, ctx.gid, dir_fd=dirfd,
                     follow_symlinks=False)
            return self.remember(parent_inode, name)
        except OSError as e:
            raise oserror(e)

    async def rmdir(self, parent_inode, name, ctx):
        try:
            os.rmdir(name, dir_fd=self.inodes[parent_inode].fd)
        except OSError as e:
            raise oserror(e)

    async def unlink(self, parent_inode, name, ctx):
        if parent_inode == pyfuse3.ROOT_INODE and name in HIDDEN:
            raise pyfuse3.FUSEError(errno.ENOENT)
        try:
            os.unlink(name, dir_fd=self.inodes[parent_inode].fd)
        except OSError as e:
            raise oserror(e)

    async def statfs(self, ctx):
        sv = os.statvfs(self.src)
        out = pyfuse3.StatvfsData()
        for name in ("f_bsize", "f_frsize", "f_blocks", "f_bfree",
                     "f_bavail", "f_files", "f_ffree", "f_favail",
                     "f_namemax"):
            setattr(out, name, getattr(sv, name))
        return out

    # ---- files -----------------------------------------------------------

    @staticmethod
    def file_info(fd):
        return pyfuse3.FileInfo(fh=fd, direct_io=False, keep_cache=True)

    async def open(self, inode, flags, ctx):
        try:
            fd = os.open(self.inodes[inode].proc(),
                         (flags & ~os.O_CREAT) | os.O_CLOEXEC)
        except OSError as e:
            raise oserror(e)
        return self.file_info(fd)

    async def create(self, parent_inode, name, mode, flags, ctx):
        if parent_inode == pyfuse3.ROOT_INODE and name in HIDDEN:
            raise pyfuse3.FUSEError(errno.EPERM)
        try:
            fd = os.open(name, flags | os.O_CREAT | os.O_NOFOLLOW |
                         os.O_CLOEXEC, mode,
                         dir_fd=self.inodes[parent_inode].fd)
        except OSError as e:
            raise oserror(e)
        try:
            os.fchown(fd, ctx.uid, ctx.gid)
            return self.file_info(fd), self.remember(parent_inode, name)
        except OSError as e:
            os.close(fd)
            raise oserror(e)

    async def read(self, fh, off, size):
        try:
            return os.pread(fh, size, off)
        except OSError as e:
            raise oserror(e)

    async def write(self, fh, off, buf):
        self.inject("write", fh, f"off={off} len={len(buf)}")
        try:
            return os.pwrite(fh, buf, off)
        except OSError as e:
            raise oserror(e)

    async def flush(self, fh):
        pass

    async def release(self, fh):
        os.close(fh)

    async def fsync(self, fh, datasync):
        self.inject("fsync", fh, f"datasync={int(bool(datasync))}")
        await self.slow_down("fsync", fh)
        try:
            (os.fdatasync if datasync else os.fsync)(fh)
        except OSError as e:
            raise oserror(e)


def main():
    if len(sys.argv) != 3:
        print("usage: faultfs.py SRC MNT", file=sys.stderr)
        return 2
    src, mnt = (os.path.abspath(p) for p in sys.argv[1:])
    options = set(pyfuse3.default_options)
    options.add("fsname=faultfs")
    pyfuse3.init(FaultFS(src), mnt, options)
    log(f"serving {src} at {mnt}")
    try:
        trio.run(pyfuse3.main)
    except KeyboardInterrupt:
        pyfuse3.close(unmount=True)
        return 0
    pyfuse3.close(unmount=False)
    log("unmounted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
