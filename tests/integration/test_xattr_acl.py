"""Extended attributes and POSIX ACLs through the mount (docs/architecture.md).

Real xattrs go to the backing file and are checked there.  listxattr may
also list mmapfs's own read-only virtual attributes (user.mmapfs.*,
docs/control.md), so listings are compared after removing those.
"""

import errno
import os

import pytest

import util
from util import expect_errno, fs

VIRTUAL_PREFIX = "user.mmapfs."


def real_xattrs(path):
    return sorted(n for n in fs.listxattr(path, follow_symlinks=False)
                  if not n.startswith(VIRTUAL_PREFIX))


def test_set_get_list_remove(mount):
    f = mount.mnt / "f"
    util.write_file(f, b"x")
    fs.setxattr(f, "user.color", b"blue")
    fs.setxattr(f, "user.empty", b"")
    fs.setxattr(f, "user.bin", bytes(range(256)))
    assert fs.getxattr(f, "user.color") == b"blue"
    assert fs.getxattr(f, "user.empty") == b""
    assert fs.getxattr(f, "user.bin") == bytes(range(256))
    assert real_xattrs(f) == ["user.bin", "user.color", "user.empty"]
    assert os.getxattr(mount.backing / "f", "user.color") == b"blue"
    fs.removexattr(f, "user.color")
    assert real_xattrs(f) == ["user.bin", "user.empty"]
    assert "user.color" not in os.listxattr(mount.backing / "f")
    expect_errno(errno.ENODATA, os.getxattr, f, "user.color")
    expect_errno(errno.ENODATA, os.removexattr, f, "user.color")


def test_xattr_set_flags(mount):
    f = mount.mnt / "f"
    util.write_file(f, b"x")
    expect_errno(errno.ENODATA, os.setxattr, f, "user.a", b"1",
                 os.XATTR_REPLACE)
    fs.setxattr(f, "user.a", b"1", os.XATTR_CREATE)
    expect_errno(errno.EEXIST, os.setxattr, f, "user.a", b"2",
                 os.XATTR_CREATE)
    fs.setxattr(f, "user.a", b"3", os.XATTR_REPLACE)
    assert fs.getxattr(f, "user.a") == b"3"


def test_xattr_large_value_and_size_probe(mount):
    f = mount.mnt / "f"
    util.write_file(f, b"x")
    value = util.pattern(3000)
    fs.setxattr(f, "user.big", value)
    assert fs.getxattr(f, "user.big") == value

    def small_buffer():
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(10)
        n = libc.getxattr(os.fsencode(f), b"user.big", buf, 10)
        return n, ctypes.get_errno()
    n, err = util.call(small_buffer)
    assert n == -1 and err == errno.ERANGE


def test_xattr_from_backing_visible(mount):
    util.write_file(mount.mnt / "f", b"x")
    os.setxattr(mount.backing / "f", "user.outside", b"set in backing")
    assert fs.getxattr(mount.mnt / "f", "user.outside") == b"set in backing"


def test_xattr_on_directory(mount):
    fs.mkdir(mount.mnt / "d")
    fs.setxattr(mount.mnt / "d", "user.dir", b"yes")
    assert fs.getxattr(mount.mnt / "d", "user.dir") == b"yes"
    assert os.getxattr(mount.backing / "d", "user.dir") == b"yes"
    fs.removexattr(mount.mnt / "d", "user.dir")
    assert real_xattrs(mount.mnt / "d") == []


def test_xattr_on_open_file_via_fd(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.setxattr(fd, "user.fd", b"by fd")
        assert fs.getxattr(fd, "user.fd") == b"by fd"
        fs.write(fd, b"data")
    finally:
        fs.close(fd)
    assert os.getxattr(mount.backing / "f", "user.fd") == b"by fd"


def test_xattr_missing_file(mount):
    expect_errno(errno.ENOENT, os.getxattr, mount.mnt / "missing", "user.x")
    expect_errno(errno.ENOENT, os.setxattr, mount.mnt / "missing", "user.x",
                 b"1")


def test_trusted_xattr_as_root(mount):
    util.write_file(mount.mnt / "f", b"x")
    fs.setxattr(mount.mnt / "f", "trusted.mmapfs-test", b"t")
    assert os.getxattr(mount.backing / "f", "trusted.mmapfs-test") == b"t"


def _backing_supports_acl(directory):
    probe = directory / ".acl-probe"
    probe.write_bytes(b"")
    try:
        return util.run(["setfacl", "-m", "u:1000:r", str(probe)]
                        ).returncode == 0
    finally:
        probe.unlink()


def test_posix_acl_set_get(mount_factory):
    m = mount_factory(opts=["allow_other"], world=True)
    if not _backing_supports_acl(m.backing):
        pytest.skip("backing file system has no POSIX ACLs")
    f = m.mnt / "f"
    util.write_file(f, b"acl data")
    fs.chmod(f, 0o600)
    proc = util.run(["setfacl", "-m", "u:1000:r,g:2000:rw", str(f)])
    assert proc.returncode == 0, proc.stderr
    out = util.run(["getfacl", "-cn", str(f)]).stdout
    assert "user:1000:r--" in out and "group:2000:rw-" in out, out
    bout = util.run(["getfacl", "-cn", str(m.backing / "f")]).stdout
    assert "user:1000:r--" in bout, bout
    # the ACL grants what the mode bits alone refuse
    result = util.run_as(1000, 1000, f"result = [readall({str(f)!r}), "
                         f"E(writeall, {str(f)!r}, b'no')]")
    assert result == ["acl data", "EACCES"]
    result = util.run_as(1001, 1001, f"result = E(readall, {str(f)!r})")
    assert result == "EACCES"
    result = util.run_as(1001, 1001, f"result = E(writeall, {str(f)!r}, b'g')",
                         groups=[2000])
    assert result == "OK"


def test_posix_acl_default_inherited(mount_factory):
    m = mount_factory(opts=["allow_other"], world=True)
    if not _backing_supports_acl(m.backing):
        pytest.skip("backing file system has no POSIX ACLs")
    d = m.mnt / "d"
    fs.mkdir(d)
    proc = util.run(["setfacl", "-d", "-m", "u:1000:rwx", str(d)])
    assert proc.returncode == 0, proc.stderr
    util.write_file(d / "child", b"c")
    out = util.run(["getfacl", "-cn", str(d / "child")]).stdout
    assert "user:1000:rw" in out, out
    fs.mkdir(d / "subdir")
    out = util.run(["getfacl", "-cn", str(d / "subdir")]).stdout
    assert "default:user:1000:rwx" in out, out


def test_posix_acl_remove(mount_factory):
    m = mount_factory(opts=["allow_other"], world=True)
    if not _backing_supports_acl(m.backing):
        pytest.skip("backing file system has no POSIX ACLs")
    f = m.mnt / "f"
    util.write_file(f, b"x")
    fs.chmod(f, 0o600)
    assert util.run(["setfacl", "-m", "u:1000:r", str(f)]).returncode == 0
    assert util.run_as(1000, 1000, f"result = E(readall, {str(f)!r})") == "OK"
    assert util.run(["setfacl", "-b", str(f)]).returncode == 0
    assert util.run_as(1000, 1000,
                       f"result = E(readall, {str(f)!r})") == "EACCES"
