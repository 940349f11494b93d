"""Namespace and metadata operations through the mount (docs/architecture.md):
lookup, getattr, setattr, readlink, mknod, mkdir, unlink, rmdir, symlink,
rename (with flags), link, statfs, and their error cases.  Each result is
checked through the mount and, where it matters, on the backing directory.
"""

import errno
import os
import stat
import time

import util
from util import expect_errno, fs


def test_lookup_getattr_matches_backing(mount):
    util.write_file(mount.mnt / "f", b"12345")
    st = fs.stat(mount.mnt / "f")
    bst = os.stat(mount.backing / "f")
    assert stat.S_ISREG(st.st_mode)
    assert st.st_size == 5 == bst.st_size
    assert st.st_mode == bst.st_mode
    assert (st.st_uid, st.st_gid) == (bst.st_uid, bst.st_gid)
    assert st.st_nlink == bst.st_nlink == 1
    assert st.st_mtime_ns == bst.st_mtime_ns


def test_lookup_missing(mount):
    expect_errno(errno.ENOENT, os.stat, mount.mnt / "missing")
    expect_errno(errno.ENOENT, os.open, mount.mnt / "missing", os.O_RDONLY)
    expect_errno(errno.ENOENT, os.stat, mount.mnt / "nodir" / "x")


def test_root_getattr(mount):
    st = fs.stat(mount.mnt)
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == stat.S_IMODE(
        os.stat(mount.backing).st_mode)


def test_inode_numbers_stable_and_distinct(mount):
    util.write_file(mount.mnt / "a", b"a")
    util.write_file(mount.mnt / "b", b"b")
    a1 = fs.stat(mount.mnt / "a").st_ino
    b1 = fs.stat(mount.mnt / "b").st_ino
    assert a1 != b1
    assert fs.stat(mount.mnt / "a").st_ino == a1


def test_chmod(mount):
    util.write_file(mount.mnt / "f", b"x")
    for mode in (0o600, 0o755, 0o4711, 0o2750, 0o1777, 0o000):
        fs.chmod(mount.mnt / "f", mode)
        assert stat.S_IMODE(fs.stat(mount.mnt / "f").st_mode) == mode
        assert stat.S_IMODE(os.stat(mount.backing / "f").st_mode) == mode
    fs.mkdir(mount.mnt / "d")
    fs.chmod(mount.mnt / "d", 0o711)
    assert stat.S_IMODE(os.stat(mount.backing / "d").st_mode) == 0o711


def test_fchmod(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fs.fchmod(fd, 0o640)
        assert stat.S_IMODE(fs.fstat(fd).st_mode) == 0o640
    finally:
        fs.close(fd)
    assert stat.S_IMODE(os.stat(mount.backing / "f").st_mode) == 0o640


def test_chown(mount):
    util.write_file(mount.mnt / "f", b"x")
    fs.chown(mount.mnt / "f", 1000, 1000)
    st = fs.stat(mount.mnt / "f")
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    bst = os.stat(mount.backing / "f")
    assert (bst.st_uid, bst.st_gid) == (1000, 1000)
    fs.chown(mount.mnt / "f", -1, 2000)
    assert fs.stat(mount.mnt / "f").st_gid == 2000
    assert fs.stat(mount.mnt / "f").st_uid == 1000


def test_lchown_symlink(mount):
    util.write_file(mount.mnt / "target", b"x")
    fs.symlink("target", mount.mnt / "link")
    fs.lchown(mount.mnt / "link", 1234, 5678)
    lst = fs.lstat(mount.mnt / "link")
    assert (lst.st_uid, lst.st_gid) == (1234, 5678)
    assert fs.stat(mount.mnt / "target").st_uid == 0


def _deep_tree_ops(mnt, levels, width):
    """In a child: walks down `levels` new directories of `width`-byte
    names below mnt (by chdir, so every path given is short), then
    creates, writes, chmods, truncates, reads and unlinks a file there."""
    os.chdir(mnt)
    for i in range(levels):
        name = f"{i:03d}" + "d" * (width - 3)
        os.mkdir(name)
        os.chdir(name)
    fd = os.open("f", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, b"deep")
    finally:
        os.close(fd)
    os.chmod("f", 0o600)
    os.truncate("f", 2)
    with open("f", "rb") as f:
        data = f.read()
    os.unlink("f")
    return data, len(os.getcwd()) - len(str(mnt))


def test_path_longer_than_path_max_with_the_backing_prefix(mount):
    """Paths come from the names the kernel sent, not from /proc: a file
    whose path below the mount is under PATH_MAX, but over it once the
    backing directory's path is prepended, is created, written, chmod'ed,
    truncated and unlinked as on a local disk (readlink of
    /proc/self/fd/N gave ENAMETOOLONG before)."""
    levels, width = 16, 254          # 16 * 255 bytes: 4,080
    data, below = util.in_child(_deep_tree_ops, mount.mnt, levels, width,
                                timeout=60)
    assert data == b"de"
    assert below < 4096 < below + len(str(mount.backing)) + 1


def test_truncate_path_and_fd(mount):
    data = util.pattern(3 * util.PAGE + 17)
    util.write_file(mount.mnt / "f", data)
    fs.truncate(mount.mnt / "f", util.PAGE + 5)
    assert util.read_file(mount.mnt / "f") == data[:util.PAGE + 5]
    assert os.stat(mount.backing / "f").st_size == util.PAGE + 5
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        fs.ftruncate(fd, 5 * util.PAGE)
        assert fs.fstat(fd).st_size == 5 * util.PAGE
        got = util.pread_all(fd, 5 * util.PAGE)
    finally:
        fs.close(fd)
    assert got == data[:util.PAGE + 5] + bytes(5 * util.PAGE - util.PAGE - 5)
    fs.truncate(mount.mnt / "f", 0)
    assert util.read_file(mount.mnt / "f") == b""
    assert os.stat(mount.backing / "f").st_size == 0


def test_truncate_errors(mount):
    fs.mkdir(mount.mnt / "d")
    expect_errno(errno.EISDIR, os.truncate, mount.mnt / "d", 0)
    expect_errno(errno.ENOENT, os.truncate, mount.mnt / "missing", 0)
    util.write_file(mount.mnt / "f", b"x")
    expect_errno(errno.EINVAL, os.truncate, mount.mnt / "f", -1)
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        expect_errno(errno.EINVAL, os.ftruncate, fd, 0)
    finally:
        fs.close(fd)


def test_utimens_explicit(mount):
    util.write_file(mount.mnt / "f", b"x")
    fs.utime(mount.mnt / "f", ns=(1_000_000_123, 2_000_000_456))
    st = fs.stat(mount.mnt / "f")
    assert st.st_atime_ns == 1_000_000_123
    assert st.st_mtime_ns == 2_000_000_456
    bst = os.stat(mount.backing / "f")
    assert (bst.st_atime_ns, bst.st_mtime_ns) == (1_000_000_123,
                                                   2_000_000_456)


def test_utimens_now_and_omit(mount):
    util.write_file(mount.mnt / "f", b"x")
    p = mount.mnt / "f"
    util.call(util.utimensat, p, (100, 5), (200, 7))
    # OMIT atime, NOW mtime
    before = time.time_ns()
    util.call(util.utimensat, p, util.UTIME_OMIT, util.UTIME_NOW)
    st = fs.stat(p)
    assert st.st_atime_ns == 100 * 10**9 + 5
    assert st.st_mtime_ns >= before - 20_000_000
    # NOW atime, OMIT mtime
    util.call(util.utimensat, p, util.UTIME_NOW, util.UTIME_OMIT)
    st2 = fs.stat(p)
    assert st2.st_atime_ns >= before - 20_000_000
    assert st2.st_mtime_ns == st.st_mtime_ns
    # both OMIT: nothing changes
    util.call(util.utimensat, p, util.UTIME_OMIT, util.UTIME_OMIT)
    st3 = fs.stat(p)
    assert (st3.st_atime_ns, st3.st_mtime_ns) == (st2.st_atime_ns,
                                                   st2.st_mtime_ns)
    bst = os.stat(mount.backing / "f")
    assert (bst.st_atime_ns, bst.st_mtime_ns) == (st3.st_atime_ns,
                                                   st3.st_mtime_ns)


def test_utimens_symlink_nofollow(mount):
    util.write_file(mount.mnt / "t", b"x")
    fs.symlink("t", mount.mnt / "l")
    target_mtime = fs.stat(mount.mnt / "t").st_mtime_ns
    util.call(util.utimensat, mount.mnt / "l", (10, 0), (20, 0), follow=False)
    assert fs.lstat(mount.mnt / "l").st_mtime_ns == 20 * 10**9
    assert fs.stat(mount.mnt / "t").st_mtime_ns == target_mtime


def test_ctime_changes_on_chmod(mount):
    util.write_file(mount.mnt / "f", b"x")
    c0 = fs.stat(mount.mnt / "f").st_ctime_ns
    time.sleep(0.05)
    fs.chmod(mount.mnt / "f", 0o600)
    assert fs.stat(mount.mnt / "f").st_ctime_ns > c0


def test_symlink_readlink(mount):
    fs.symlink("some/where/../target", mount.mnt / "l")
    assert fs.readlink(mount.mnt / "l") == "some/where/../target"
    assert os.readlink(mount.backing / "l") == "some/where/../target"
    assert stat.S_ISLNK(fs.lstat(mount.mnt / "l").st_mode)
    expect_errno(errno.ENOENT, os.stat, mount.mnt / "l")
    long_target = "x" * 1000
    fs.symlink(long_target, mount.mnt / "long")
    assert fs.readlink(mount.mnt / "long") == long_target


def test_symlink_followed_inside_mount(mount):
    fs.mkdir(mount.mnt / "d")
    util.write_file(mount.mnt / "d" / "f", b"via link")
    fs.symlink("d", mount.mnt / "dl")
    assert util.read_file(mount.mnt / "dl" / "f") == b"via link"


def test_absolute_symlink_is_not_resolved_in_backing(mount, tmp_path):
    """An absolute symlink points wherever the client's / says: it is
    resolved by the client kernel, never by the daemon inside BACKING."""
    outside = tmp_path / "outside"
    outside.write_bytes(b"outside")
    fs.symlink(str(outside), mount.mnt / "abs")
    assert fs.readlink(mount.mnt / "abs") == str(outside)
    assert util.read_file(mount.mnt / "abs") == b"outside"


def test_readlink_on_regular_file(mount):
    util.write_file(mount.mnt / "f", b"x")
    expect_errno(errno.EINVAL, os.readlink, mount.mnt / "f")


def test_mkdir_rmdir(mount):
    fs.mkdir(mount.mnt / "d", 0o750)
    st = fs.stat(mount.mnt / "d")
    assert stat.S_ISDIR(st.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(st.st_mode) == 0o750 & ~umask
    assert (mount.backing / "d").is_dir()
    fs.mkdir(mount.mnt / "d" / "sub")
    assert fs.stat(mount.mnt / "d").st_nlink == 3
    expect_errno(errno.ENOTEMPTY, os.rmdir, mount.mnt / "d")
    fs.rmdir(mount.mnt / "d" / "sub")
    fs.rmdir(mount.mnt / "d")
    assert not (mount.backing / "d").exists()
    expect_errno(errno.ENOENT, os.stat, mount.mnt / "d")


def test_mkdir_errors(mount):
    fs.mkdir(mount.mnt / "d")
    expect_errno(errno.EEXIST, os.mkdir, mount.mnt / "d")
    util.write_file(mount.mnt / "f", b"")
    expect_errno(errno.EEXIST, os.mkdir, mount.mnt / "f")
    expect_errno(errno.ENOTDIR, os.mkdir, mount.mnt / "f" / "sub")
    expect_errno(errno.ENOENT, os.mkdir, mount.mnt / "no" / "sub")
    expect_errno(errno.ENAMETOOLONG, os.mkdir, mount.mnt / ("n" * 256))


def test_rmdir_errors(mount):
    util.write_file(mount.mnt / "f", b"")
    expect_errno(errno.ENOTDIR, os.rmdir, mount.mnt / "f")
    expect_errno(errno.ENOENT, os.rmdir, mount.mnt / "missing")
    fs.mkdir(mount.mnt / "d")
    util.write_file(mount.mnt / "d" / "x", b"")
    expect_errno(errno.ENOTEMPTY, os.rmdir, mount.mnt / "d")


def test_unlink(mount):
    util.write_file(mount.mnt / "f", b"data")
    fs.unlink(mount.mnt / "f")
    assert not (mount.backing / "f").exists()
    expect_errno(errno.ENOENT, os.stat, mount.mnt / "f")
    expect_errno(errno.ENOENT, os.unlink, mount.mnt / "f")
    fs.mkdir(mount.mnt / "d")
    expect_errno(errno.EISDIR, os.unlink, mount.mnt / "d")


def test_unlink_open_file_keeps_data(mount):
    data = util.pattern(2 * util.PAGE + 3)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        fs.unlink(mount.mnt / "f")
        assert util.pread_all(fd, len(data)) == data
        util.pwrite_all(fd, b"more", len(data))
        assert util.pread_all(fd, len(data) + 4) == data + b"more"
        assert fs.fstat(fd).st_nlink == 0
    finally:
        fs.close(fd)
    assert fs.listdir(mount.mnt) == []


def test_mknod_regular_and_fifo(mount):
    fs.mknod(mount.mnt / "reg", stat.S_IFREG | 0o640)
    st = fs.stat(mount.mnt / "reg")
    assert stat.S_ISREG(st.st_mode) and st.st_size == 0
    fs.mkfifo(mount.mnt / "fifo", 0o600)
    assert stat.S_ISFIFO(fs.stat(mount.mnt / "fifo").st_mode)
    assert stat.S_ISFIFO(os.stat(mount.backing / "fifo").st_mode)
    # A FIFO on the mount is a pipe served by the client kernel.
    fd = fs.open(mount.mnt / "fifo", os.O_RDWR | os.O_NONBLOCK)
    try:
        fs.write(fd, b"through the pipe")
        assert fs.read(fd, 100) == b"through the pipe"
    finally:
        fs.close(fd)


def test_mknod_device(mount):
    dev = os.makedev(1, 3)
    fs.mknod(mount.mnt / "null", stat.S_IFCHR | 0o600, dev)
    st = fs.stat(mount.mnt / "null")
    assert stat.S_ISCHR(st.st_mode)
    assert st.st_rdev == dev
    assert os.stat(mount.backing / "null").st_rdev == dev


def test_mknod_socket(mount):
    fs.mknod(mount.mnt / "sock", stat.S_IFSOCK | 0o600)
    assert stat.S_ISSOCK(fs.stat(mount.mnt / "sock").st_mode)


def test_mknod_exists(mount):
    util.write_file(mount.mnt / "f", b"")
    expect_errno(errno.EEXIST, os.mkfifo, mount.mnt / "f")


def test_link(mount):
    util.write_file(mount.mnt / "a", b"shared")
    fs.link(mount.mnt / "a", mount.mnt / "b")
    sa, sb = fs.stat(mount.mnt / "a"), fs.stat(mount.mnt / "b")
    assert sa.st_ino == sb.st_ino
    assert sa.st_nlink == sb.st_nlink == 2
    assert os.stat(mount.backing / "a").st_ino == \
        os.stat(mount.backing / "b").st_ino
    util.write_file(mount.mnt / "b", b"changed", flags=os.O_WRONLY)
    assert util.read_file(mount.mnt / "a") == b"changed"
    fs.unlink(mount.mnt / "a")
    assert fs.stat(mount.mnt / "b").st_nlink == 1
    assert util.read_file(mount.mnt / "b") == b"changed"


def test_link_errors(mount):
    util.write_file(mount.mnt / "a", b"")
    util.write_file(mount.mnt / "b", b"")
    expect_errno(errno.EEXIST, os.link, mount.mnt / "a", mount.mnt / "b")
    expect_errno(errno.ENOENT, os.link, mount.mnt / "x", mount.mnt / "y")
    fs.mkdir(mount.mnt / "d")
    expect_errno(errno.EPERM, os.link, mount.mnt / "d", mount.mnt / "d2")


def test_rename_file(mount):
    util.write_file(mount.mnt / "a", b"content")
    fs.rename(mount.mnt / "a", mount.mnt / "b")
    expect_errno(errno.ENOENT, os.stat, mount.mnt / "a")
    assert util.read_file(mount.mnt / "b") == b"content"
    assert (mount.backing / "b").read_bytes() == b"content"
    assert not (mount.backing / "a").exists()


def test_rename_replaces(mount):
    util.write_file(mount.mnt / "a", b"new")
    util.write_file(mount.mnt / "b", b"old")
    fs.rename(mount.mnt / "a", mount.mnt / "b")
    assert util.read_file(mount.mnt / "b") == b"new"
    assert fs.listdir(mount.mnt) == ["b"]


def test_rename_open_file_keeps_handle(mount):
    fd = fs.open(mount.mnt / "a", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.write(fd, b"before")
        fs.rename(mount.mnt / "a", mount.mnt / "b")
        fs.write(fd, b"-after")
        fs.fsync(fd)
    finally:
        fs.close(fd)
    assert util.read_file(mount.mnt / "b") == b"before-after"
    assert (mount.backing / "b").read_bytes() == b"before-after"


def test_rename_dirs(mount):
    fs.makedirs(mount.mnt / "d1" / "inner")
    util.write_file(mount.mnt / "d1" / "inner" / "f", b"deep")
    fs.mkdir(mount.mnt / "d2")
    fs.rename(mount.mnt / "d1", mount.mnt / "d2" / "moved")
    assert util.read_file(mount.mnt / "d2" / "moved" / "inner" / "f") == \
        b"deep"
    fs.mkdir(mount.mnt / "empty")
    fs.rename(mount.mnt / "d2" / "moved", mount.mnt / "empty")
    assert util.read_file(mount.mnt / "empty" / "inner" / "f") == b"deep"


def test_rename_errors(mount):
    fs.makedirs(mount.mnt / "d" / "sub")
    util.write_file(mount.mnt / "f", b"")
    fs.mkdir(mount.mnt / "full")
    util.write_file(mount.mnt / "full" / "x", b"")
    expect_errno(errno.ENOENT, os.rename, mount.mnt / "missing",
                 mount.mnt / "x")
    expect_errno(errno.EISDIR, os.rename, mount.mnt / "f", mount.mnt / "d")
    expect_errno(errno.ENOTDIR, os.rename, mount.mnt / "d", mount.mnt / "f")
    expect_errno(errno.ENOTEMPTY, os.rename, mount.mnt / "d",
                 mount.mnt / "full")
    expect_errno(errno.EINVAL, os.rename, mount.mnt / "d",
                 mount.mnt / "d" / "sub" / "inside")


def test_rename_noreplace(mount):
    util.write_file(mount.mnt / "a", b"A")
    util.write_file(mount.mnt / "b", b"B")
    expect_errno(errno.EEXIST, util.renameat2, mount.mnt / "a",
                 mount.mnt / "b", util.RENAME_NOREPLACE)
    assert util.read_file(mount.mnt / "b") == b"B"
    util.call(util.renameat2, mount.mnt / "a", mount.mnt / "c",
              util.RENAME_NOREPLACE)
    assert util.read_file(mount.mnt / "c") == b"A"
    assert sorted(fs.listdir(mount.mnt)) == ["b", "c"]


def test_rename_exchange(mount):
    util.write_file(mount.mnt / "a", b"A")
    fs.mkdir(mount.mnt / "b")
    util.write_file(mount.mnt / "b" / "inner", b"I")
    util.call(util.renameat2, mount.mnt / "a", mount.mnt / "b",
              util.RENAME_EXCHANGE)
    assert util.read_file(mount.mnt / "b") == b"A"
    assert util.read_file(mount.mnt / "a" / "inner") == b"I"
    assert (mount.backing / "b").read_bytes() == b"A"
    assert (mount.backing / "a" / "inner").read_bytes() == b"I"
    expect_errno(errno.ENOENT, util.renameat2, mount.mnt / "a",
                 mount.mnt / "missing", util.RENAME_EXCHANGE)


def test_rename_across_mount_boundary_exdev(mount, tmp_path):
    util.write_file(mount.mnt / "f", b"x")
    expect_errno(errno.EXDEV, os.rename, mount.mnt / "f", tmp_path / "f")
    expect_errno(errno.EXDEV, os.link, mount.mnt / "f", tmp_path / "f")
    (tmp_path / "g").write_bytes(b"y")
    expect_errno(errno.EXDEV, os.rename, tmp_path / "g", mount.mnt / "g")


def test_statfs(mount):
    st = fs.statvfs(mount.mnt)
    bst = os.statvfs(mount.backing)
    assert st.f_bsize == bst.f_bsize
    assert st.f_blocks * st.f_frsize == bst.f_blocks * bst.f_frsize
    assert abs(st.f_bavail * st.f_frsize - bst.f_bavail * bst.f_frsize) \
        < 256 << 20
    assert st.f_namemax == bst.f_namemax


def test_names_with_odd_characters(mount):
    names = ["with space", "tab\there", "new\nline", "ünïcødé", "a\\b",
             "-dash", "..dots", "#hash%", "x" * 255]
    for name in names:
        util.write_file(mount.mnt / name, name.encode())
    assert sorted(fs.listdir(mount.mnt)) == sorted(names)
    for name in names:
        assert util.read_file(mount.mnt / name) == name.encode()
        assert (mount.backing / name).read_bytes() == name.encode()


def test_deep_tree(mount):
    p = mount.mnt
    for i in range(30):
        p = p / f"level{i}"
        fs.mkdir(p)
    util.write_file(p / "leaf", b"leaf")
    b = mount.backing.joinpath(*[f"level{i}" for i in range(30)])
    assert (b / "leaf").read_bytes() == b"leaf"
