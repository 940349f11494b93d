"""The daemon's bounded cache of inode descriptors (src/fs/fdcache.c).

With file handles, an inode the kernel remembers but nobody uses holds no
descriptor: past a budget (a quarter of the daemon's RLIMIT_NOFILE) the
least recently used idle descriptors are closed and opened again by handle
when a request needs them.  These tests push more inodes than the budget
through the mount, so that the first ones lose their descriptors, and then
use those inodes for every kind of request.  attr_timeout = entry_timeout
= 0 make every stat reach the daemon.
"""
import errno
import os
import resource

import pytest

import util
from util import fs

HANDLE_MODE = "inode descriptors: file handles;"
CONFIG = ("[global]\nattr_timeout = 0\nentry_timeout = 0\n{}"
          "[match keep/*.db]\nflush = always\n")


def _handles_mount(mount_factory, global_lines=""):
    m = mount_factory(config=CONFIG.format(global_lines),
                      opts=("log_level=info",))
    if HANDLE_MODE not in m.log_text():
        pytest.skip("the daemon runs without file handles here: "
                    + m.log_text()[-300:])
    return m


def _budget(m):
    return max(resource.prlimit(m.proc.pid, resource.RLIMIT_NOFILE)[0] // 4,
               256)


def _fill(m, n):
    """Creates n files in filler/ (each one an inode with a descriptor)."""
    d = m.mnt / "filler"

    def make():
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            os.close(os.open(d / f"f{i}", os.O_WRONLY | os.O_CREAT, 0o644))
    util.call(make, timeout=240)


def _touch_fillers(m, n):
    """stat()s every filler: each getattr takes a descriptor, pushing the
    older ones out of the cache."""
    def stat_all():
        for i in range(n):
            os.lstat(m.mnt / "filler" / f"f{i}")
    util.call(stat_all, timeout=240)


def _daemon_fds(m):
    return len(os.listdir(f"/proc/{m.proc.pid}/fd"))


def _policy(path):
    """The policy of path, held open (run through util.call)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.getxattr(path, "user.mmapfs.policy").decode().strip()
    finally:
        os.close(fd)


@pytest.mark.timeout(600)
def test_evicted_inodes_serve_every_request(mount_factory, mmapfs_summary):
    """Files, a symlink and directories whose descriptors the cache closed
    still serve stat, readlink, xattrs, open/read/write, per-path settings
    (the path read back from a descriptor opened by handle), rename, link
    and unlink; the daemon's descriptors stay near the budget."""
    m = _handles_mount(mount_factory)
    budget = _budget(m)
    n = budget + 500
    util.call(os.makedirs, m.mnt / "keep" / "deep")
    util.call(os.mkdir, m.mnt / "sub")
    util.write_file(m.mnt / "keep" / "a.db", b"a")
    util.call(os.symlink, "a.db", m.mnt / "keep" / "link")
    util.write_file(m.mnt / "keep" / "deep" / "x", b"x")
    _fill(m, n)
    fds_after_fill = _daemon_fds(m)
    assert fds_after_fill < budget + 200, (fds_after_fill, budget)

    keep = m.mnt / "keep"
    assert util.call(os.lstat, keep / "a.db").st_size == 1
    assert util.call(os.readlink, keep / "link") == "a.db"
    assert util.call(_policy, keep / "a.db") == "always"
    util.call(os.setxattr, keep / "a.db", "user.t", b"1")
    _touch_fillers(m, n)
    assert "user.t" in util.call(os.listxattr, keep / "a.db")
    assert util.read_file(keep / "deep" / "x") == b"x"
    util.write_file(keep / "a.db", b"ab")
    util.call(os.chmod, keep / "a.db", 0o600)
    _touch_fillers(m, n)

    # rename within the directory, then across: the path read back after
    # the descriptor was closed and opened again by handle follows it
    util.call(os.rename, keep / "a.db", keep / "b.db")
    _touch_fillers(m, n)
    assert util.call(_policy, keep / "b.db") == "always"
    assert util.read_file(keep / "b.db") == b"ab"
    util.call(os.rename, keep / "b.db", m.mnt / "sub" / "b.db")
    _touch_fillers(m, n)
    assert util.call(_policy, m.mnt / "sub" / "b.db") != "always"
    assert util.read_file(m.mnt / "sub" / "b.db") == b"ab"
    assert os.lstat(m.mnt / "sub" / "b.db").st_mode & 0o777 == 0o600

    # a directory whose descriptor was closed: entries made and removed
    _touch_fillers(m, n)
    util.call(os.link, m.mnt / "sub" / "b.db", keep / "deep" / "c.db")
    assert util.call(os.lstat, m.mnt / "sub" / "b.db").st_nlink == 2
    util.call(os.unlink, keep / "deep" / "c.db")
    util.call(os.unlink, keep / "link")
    util.call(os.unlink, keep / "deep" / "x")
    util.call(os.rmdir, keep / "deep")
    with pytest.raises(FileNotFoundError):
        os.lstat(keep / "deep")
    assert sorted(util.call(os.listdir, keep)) == []
    fds_end = _daemon_fds(m)
    assert fds_end < budget + 200, (fds_end, budget)
    assert m.running()
    mmapfs_summary(f"fd cache: budget {budget}, {n} inodes; daemon "
                   f"descriptors {fds_after_fill} after the creates, "
                   f"{fds_end} at the end")


def test_unlinked_open_file_after_eviction(mount_factory):
    """An open file, unlinked and then pushed out of the LRU by many other
    inodes, still serves fstat, fchmod, read, write and fsync.  Its handle
    no longer reconnects through its parent; ext4 still opens the orphan
    inode by its plain handle (disconnected), where another file system
    may refuse and the mapping's descriptor stands in (fdcache.c).  With
    max_mapped_files = 1 another open file evicts its mapping too, and
    .stats/files (which sizes unmapped files through the inode's
    descriptor) still lists the files."""
    m = _handles_mount(mount_factory, "max_mapped_files = 1\n")
    n = _budget(m) + 500
    fd = fs.open(m.mnt / "open", os.O_RDWR | os.O_CREAT, 0o644)
    other = None
    try:
        util.pwrite_all(fd, b"data", 0)
        util.call(os.unlink, m.mnt / "open")
        other = fs.open(m.mnt / "other", os.O_RDWR | os.O_CREAT, 0o644)
        util.pwrite_all(other, b"x", 0)
        _fill(m, n)
        _touch_fillers(m, n)
        stats = util.read_file(m.mnt / ".stats" / "files").decode()
        assert "other" in stats, stats
        assert util.call(os.fstat, fd).st_size == 4
        util.pwrite_all(fd, b"more", 4)
        assert util.pread_all(fd, 8) == b"datamore"
        util.call(os.fchmod, fd, 0o600)
        assert util.call(os.fstat, fd).st_mode & 0o777 == 0o600
        util.call(os.fsync, fd)
    finally:
        fs.close(fd)
        if other is not None:
            fs.close(other)
    with pytest.raises(OSError) as e:
        os.lstat(m.mnt / "open")
    assert e.value.errno == errno.ENOENT
    assert m.running()


def test_reused_inode_numbers_are_new_objects(mount_factory):
    """A file deleted while the kernel still knows its inode (here: a
    client holds O_PATH descriptors of the old files) frees its inode
    number, and ext4 hands it to the next new file at once. The daemon,
    past its budget, holds only the old inodes' handles: a create or
    lookup that meets such a number must not take the new file for the old
    one (whose handle no longer opens: every request on the new file
    failed with ENOENT)."""
    m = _handles_mount(mount_factory)
    n = _budget(m) + 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < n + 200:
        pytest.skip(f"hard RLIMIT_NOFILE {hard} below {n + 200}")
    old, new = m.mnt / "old", m.mnt / "new"
    held = []

    def make_and_hold():
        os.makedirs(old)
        os.makedirs(new)
        for i in range(n):
            os.close(os.open(old / f"f{i}", os.O_WRONLY | os.O_CREAT,
                             0o644))
        for i in range(n):
            held.append(os.open(old / f"f{i}", os.O_PATH))
        for i in range(n):
            os.unlink(old / f"f{i}")

    def create_new():
        for i in range(n):
            with open(new / f"g{i}", "wb") as f:
                f.write(b"%d" % i)

    def check():
        bad = []
        for i in range(n):
            try:
                with open(new / f"g{i}", "rb") as f:
                    if f.read() != b"%d" % i:
                        bad.append((i, "content"))
            except OSError as e:
                bad.append((i, errno.errorcode[e.errno]))
        return bad

    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 200, hard))
    try:
        util.call(make_and_hold, timeout=240)
        util.call(create_new, timeout=240)
        bad = util.call(check, timeout=240)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert bad == [], bad[:10]
    assert m.running()
