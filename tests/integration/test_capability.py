"""A write drops the file's capabilities (security.capability), as on any
local file system, although the daemon answers the kernel's per-write
question for that attribute from a per-inode cache (ops_xattr.c): the
cache must forget an absent capability once one is set through the mount
or from outside.
"""

import errno
import os

import pytest

import util
from util import expect_errno, fs

CAP = "security.capability"
# VFS_CAP_REVISION_2, effective, cap_net_raw (bit 13) permitted.
CAP_NET_RAW = bytes.fromhex("01000002" "00200000" "00000000"
                            "00000000" "00000000")


def overwrite(path, data):
    """Writes data at offset 0 (no growth: a truncation or allocation
    that grows the backing file would drop the capability by itself)."""
    fd = fs.open(path, os.O_WRONLY)
    try:
        fs.pwrite(fd, data, 0)
    finally:
        fs.close(fd)


def has_cap(path):
    try:
        os.getxattr(path, CAP)
        return True
    except OSError as e:
        if e.errno != errno.ENODATA:
            raise
        return False


@pytest.fixture
def capfile(mount):
    f = mount.backing / "c"
    f.write_bytes(b"xyz")
    try:
        os.setxattr(f, CAP, CAP_NET_RAW)
    except OSError as e:
        pytest.skip(f"backing file system refuses {CAP}: {e}")
    os.removexattr(f, CAP)
    return mount


def test_cap_set_through_mount_dropped_by_write(capfile):
    m = capfile
    overwrite(m.mnt / "c", b"a")       # caches "no capability"
    fs.setxattr(m.mnt / "c", CAP, CAP_NET_RAW)
    assert has_cap(m.backing / "c")
    overwrite(m.mnt / "c", b"b")
    assert not has_cap(m.backing / "c")
    expect_errno(errno.ENODATA, os.getxattr, m.mnt / "c", CAP)
    assert (m.backing / "c").read_bytes() == b"byz"


def test_cap_set_outside_dropped_by_write(capfile):
    m = capfile
    fd = fs.open(m.mnt / "c", os.O_WRONLY)
    try:
        fs.pwrite(fd, b"a", 0)         # caches "no capability"
        os.setxattr(m.backing / "c", CAP, CAP_NET_RAW)
        # The outside change shows in the next getattr (new ctime).
        fs.stat(m.mnt / "c")
        fs.pwrite(fd, b"b", 1)
    finally:
        fs.close(fd)
    assert not has_cap(m.backing / "c")
    assert (m.backing / "c").read_bytes() == b"abz"
