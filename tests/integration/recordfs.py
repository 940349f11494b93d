"""recordfs — a passthrough FUSE file system that records what reaches it.

Purpose: the crash-consistency tests (test_crash.py) need to know, for a
power cut at any instant, what the "disk" under mmapfs could hold.  mmapfs
is mounted on top of recordfs; recordfs passes every request through to
its source directory (it is faultfs.py's FaultFS, rename included) and
appends to a journal, in the order it serves them:

    write     a WRITE on a regular file: file id, offset, the bytes (the
              kernel's write-back of pages dirtied through mmapfs's shared
              mappings arrives as WRITE too, so stores into a mapping are
              recorded like pwrites)
    truncate  a SETATTR that changed a file's size
    fsync     FSYNC of a file (fsync, fdatasync, msync MS_SYNC): every
              write and truncate of that file served before it is durable
    link      a name made in a directory (CREATE, MKDIR): dir id, name,
              the new object's id and kind
    unlink    a name removed (UNLINK, RMDIR)
    rename    RENAME: old dir id and name, new dir id and name
    fsyncdir  FSYNCDIR: the name operations of that directory served
              before it are durable

    /usr/bin/python3 recordfs.py SRC MNT JOURNAL

Journal format: JOURNAL holds one JSON object per line, {"t": ns, "op":
..., ...}, where t is CLOCK_MONOTONIC (time.monotonic_ns(), the clock the
tests' workloads stamp their acknowledgements with) taken when the request
was done, before the reply; bytes of writes go to JOURNAL.data and a write
names them by "at" (offset there) and "len".  Files and directories are
named by ids ("root", "o1", "o2", ...) given when recordfs first sees
them: a CREATE or MKDIR always makes a new id, so a reused inode number
does not merge two files.  Objects already in SRC at start are journalled
first as links, writes, fsyncs and fsyncdirs, all durable.

Design: requests are served one at a time (the handlers never await), so
the journal order is the order the backing saw them.  recordfs does not
sync SRC: the journal is the model of durability, and what SRC's own disk
keeps does not matter (and a shared machine is spared the syncs).  The
journal is closed when MNT is unmounted (fusermount3 -u); read it after
recordfs exited.
"""

import json
import os
import stat
import sys
import time

import pyfuse3
import trio

import faultfs


class Journal:
    """The append-only event log and its data file."""

    def __init__(self, path):
        self.events = open(path, "w", encoding="utf-8")
        self.data = open(path + ".data", "wb")
        self.data_len = 0

    def add(self, op, **fields):
        fields["t"] = time.monotonic_ns()
        fields["op"] = op
        self.events.write(json.dumps(fields, separators=(",", ":")) + "\n")

    def add_write(self, oid, off, data):
        self.data.write(data)
        self.add("write", id=oid, off=off, at=self.data_len, len=len(data))
        self.data_len += len(data)

    def close(self):
        self.events.close()
        self.data.close()


class RecordFS(faultfs.FaultFS):
    def __init__(self, src, journal):
        super().__init__(src)
        self.journal = journal
        self.ids = {}           # backing (st_dev, st_ino) -> object id
        self.next_id = 1
        root = os.fstat(self.inodes[pyfuse3.ROOT_INODE].fd)
        self.ids[(root.st_dev, root.st_ino)] = "root"
        self.journal_existing(src, "root")

    # ---- identities ------------------------------------------------------

    def new_id(self, st):
        oid = f"o{self.next_id}"
        self.next_id += 1
        self.ids[(st.st_dev, st.st_ino)] = oid
        return oid

    def id_of(self, st):
        return self.ids.get((st.st_dev, st.st_ino)) or self.new_id(st)

    def id_of_fd(self, fd):
        return self.id_of(os.fstat(fd))

    def id_of_inode(self, number):
        return self.id_of_fd(self.inodes[number].fd)

    def journal_existing(self, path, dir_id):
        """Journals the tree below path as durable (recordfs starts)."""
        with os.scandir(path) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if os.fsencode(entry.name) in faultfs.HIDDEN:
                    continue
                st = entry.stat(follow_symlinks=False)
                oid = self.new_id(st)
                if stat.S_ISDIR(st.st_mode):
                    self.journal.add("link", dir=dir_id, name=entry.name,
                                     id=oid, kind="dir")
                    self.journal_existing(entry.path, oid)
                elif stat.S_ISREG(st.st_mode):
                    self.journal.add("link", dir=dir_id, name=entry.name,
                                     id=oid, kind="file")
                    with open(entry.path, "rb") as f:
                        self.journal.add_write(oid, 0, f.read())
                    self.journal.add("fsync", id=oid)
        self.journal.add("fsyncdir", id=dir_id)

    # ---- data ------------------------------------------------------------

    async def write(self, fh, off, buf):
        n = await super().write(fh, off, buf)
        self.journal.add_write(self.id_of_fd(fh), off, bytes(buf[:n]))
        return n

    async def setattr(self, inode, attr, fields, fh, ctx):
        out = await super().setattr(inode, attr, fields, fh, ctx)
        if fields.update_size:
            self.journal.add("truncate", id=self.id_of_inode(inode),
                             size=attr.st_size)
        return out

    async def fsync(self, fh, datasync):
        self.inject("fsync", fh, f"datasync={int(bool(datasync))}")
        self.journal.add("fsync", id=self.id_of_fd(fh),
                         datasync=bool(datasync))

    async def fsyncdir(self, fh, datasync):
        inode, _ = self.dirs[fh]
        self.journal.add("fsyncdir", id=self.id_of_inode(inode))

    # ---- names -----------------------------------------------------------

    async def create(self, parent_inode, name, mode, flags, ctx):
        fi, attr = await super().create(parent_inode, name, mode, flags, ctx)
        oid = self.new_id(os.fstat(fi.fh))
        self.journal.add("link", dir=self.id_of_inode(parent_inode),
                         name=os.fsdecode(name), id=oid, kind="file")
        return fi, attr

    async def mkdir(self, parent_inode, name, mode, ctx):
        attr = await super().mkdir(parent_inode, name, mode, ctx)
        oid = self.new_id(os.fstat(self.inodes[attr.st_ino].fd))
        self.journal.add("link", dir=self.id_of_inode(parent_inode),
                         name=os.fsdecode(name), id=oid, kind="dir")
        return attr

    async def unlink(self, parent_inode, name, ctx):
        await super().unlink(parent_inode, name, ctx)
        self.journal.add("unlink", dir=self.id_of_inode(parent_inode),
                         name=os.fsdecode(name))

    async def rmdir(self, parent_inode, name, ctx):
        await super().rmdir(parent_inode, name, ctx)
        self.journal.add("unlink", dir=self.id_of_inode(parent_inode),
                         name=os.fsdecode(name))

    async def rename(self, parent_inode_old, name_old, parent_inode_new,
                     name_new, flags, ctx):
        await super().rename(parent_inode_old, name_old, parent_inode_new,
                             name_new, flags, ctx)
        self.journal.add("rename", dir=self.id_of_inode(parent_inode_old),
                         name=os.fsdecode(name_old),
                         newdir=self.id_of_inode(parent_inode_new),
                         newname=os.fsdecode(name_new))


def main():
    if len(sys.argv) != 4:
        print("usage: recordfs.py SRC MNT JOURNAL", file=sys.stderr)
        return 2
    src, mnt, journal_path = (os.path.abspath(p) for p in sys.argv[1:])
    journal = Journal(journal_path)
    options = set(pyfuse3.default_options)
    options.add("fsname=recordfs")
    pyfuse3.init(RecordFS(src, journal), mnt, options)
    faultfs.log(f"recording {src} at {mnt} into {journal_path}")
    try:
        trio.run(pyfuse3.main)
    except KeyboardInterrupt:
        pyfuse3.close(unmount=True)
        journal.close()
        return 0
    pyfuse3.close(unmount=False)
    journal.close()
    faultfs.log("unmounted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
