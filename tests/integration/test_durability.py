"""Flush policies seen through the mount (docs/durability.md, docs/architecture.md): the write
accumulator of a file, read from its virtual xattrs (docs/control.md:
user.mmapfs.pending_bytes, .pending_writes, .flushes), follows each policy:
page-granular byte counts, write counts, time-based draining, always, never,
and fsync making everything durable.  Durable data is also checked in the
backing file, read directly.

These tests need the virtual xattrs; until the daemon serves them they are
skipped with that reason.
"""

import errno
import os

import pytest

import util
from util import PAGE, fs


def counter(path, name):
    return int(fs.getxattr(path, f"user.mmapfs.{name}"))


def mount_with(mount_factory, policy):
    m = mount_factory(config=f"[global]\nflush = {policy}\n")
    util.write_file(m.mnt / "probe", b"")
    try:
        fs.getxattr(m.mnt / "probe", "user.mmapfs.pending_bytes")
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP):
            pytest.skip("daemon does not serve user.mmapfs.* xattrs yet")
        raise
    return m


class Open:
    """An fd on the mount for the duration of a with-block."""

    def __init__(self, path, flags=os.O_RDWR | os.O_CREAT):
        self.path = path
        self.flags = flags

    def __enter__(self):
        self.fd = fs.open(self.path, self.flags, 0o644)
        return self.fd

    def __exit__(self, *exc):
        fs.close(self.fd)


def test_never_accumulates_until_fsync(mount_factory):
    m = mount_with(mount_factory, "never")
    f = m.mnt / "f"
    with Open(f) as fd:
        for i in range(3):
            fs.pwrite(fd, b"x" * 10, i * PAGE + 5)
        assert counter(f, "pending_bytes") == 3 * PAGE
        assert counter(f, "pending_writes") == 3
        flushes = counter(f, "flushes")
        fs.fsync(fd)
        assert counter(f, "pending_bytes") == 0
        assert counter(f, "pending_writes") == 0
        assert counter(f, "flushes") == flushes + 1
    assert (m.backing / "f").read_bytes()[2 * PAGE + 5:] == b"x" * 10


def test_rewriting_a_dirty_page_adds_nothing(mount_factory):
    m = mount_with(mount_factory, "never")
    f = m.mnt / "f"
    with Open(f) as fd:
        fs.pwrite(fd, b"a", 0)
        fs.pwrite(fd, b"b", 100)
        fs.pwrite(fd, b"c", PAGE - 1)
        assert counter(f, "pending_bytes") == PAGE
        assert counter(f, "pending_writes") == 3
        fs.pwrite(fd, b"dd", PAGE - 1)  # straddles into the second page
        assert counter(f, "pending_bytes") == 2 * PAGE


def test_always_leaves_nothing_pending(mount_factory):
    m = mount_with(mount_factory, "always")
    f = m.mnt / "f"
    data = util.pattern(3 * PAGE + 10)
    with Open(f) as fd:
        for off in (0, PAGE, 2 * PAGE + 7):
            fs.pwrite(fd, data[off:off + PAGE], off)
            assert counter(f, "pending_bytes") == 0
            assert counter(f, "pending_writes") == 0
        assert counter(f, "flushes") >= 3
    assert (m.backing / "f").read_bytes()[:PAGE] == data[:PAGE]


def test_bytes_threshold_flushes_at_n(mount_factory):
    m = mount_with(mount_factory, "bytes=16KiB")
    f = m.mnt / "f"
    pages = 16 * 1024 // PAGE
    with Open(f) as fd:
        for i in range(pages - 1):
            fs.pwrite(fd, b"p", i * PAGE)
            assert counter(f, "pending_bytes") == (i + 1) * PAGE
        flushes = counter(f, "flushes")
        fs.pwrite(fd, b"p", (pages - 1) * PAGE)
        assert counter(f, "pending_bytes") == 0
        assert counter(f, "flushes") == flushes + 1


def test_writes_threshold_flushes_at_n(mount_factory):
    m = mount_with(mount_factory, "writes=3")
    f = m.mnt / "f"
    with Open(f) as fd:
        fs.pwrite(fd, b"1", 0)
        fs.pwrite(fd, b"2", 1)
        assert counter(f, "pending_writes") == 2
        fs.pwrite(fd, b"3", 2)
        assert counter(f, "pending_writes") == 0
        assert counter(f, "pending_bytes") == 0


def test_ms_policy_drains_in_time(mount_factory):
    m = mount_with(mount_factory, "ms=200")
    f = m.mnt / "f"
    with Open(f) as fd:
        fs.pwrite(fd, b"t" * 100, 0)
        util.wait_until(lambda: int(os.getxattr(
            f, "user.mmapfs.pending_bytes")) == 0, timeout=3,
            what="ms=200 flush of pending bytes")
