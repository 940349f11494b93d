"""Directory operations (docs/architecture.md): opendir/readdir/readdirplus/releasedir,
fsyncdir, and listings that change while they are read.
"""

import errno
import os
import stat

import util
from util import expect_errno, fs


def _scan(path):
    with os.scandir(path) as it:
        return {e.name: (e.inode(), e.is_dir(follow_symlinks=False),
                         e.is_symlink()) for e in it}


def test_readdir_small(mount):
    fs.mkdir(mount.mnt / "d")
    util.write_file(mount.mnt / "f", b"")
    fs.symlink("f", mount.mnt / "l")
    fs.mkfifo(mount.mnt / "p")
    entries = util.call(_scan, mount.mnt)
    assert sorted(entries) == ["d", "f", "l", "p"]
    assert entries["d"][1] and not entries["f"][1]
    assert entries["l"][2]
    for name, (ino, _, _) in entries.items():
        assert ino == fs.lstat(mount.mnt / name).st_ino


def test_readdir_empty(mount):
    fs.mkdir(mount.mnt / "empty")
    assert fs.listdir(mount.mnt / "empty") == []


def test_readdir_dot_entries(mount):
    fs.mkdir(mount.mnt / "d")
    proc = util.run(["ls", "-a1", str(mount.mnt / "d")])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [".", ".."]


def test_readdir_large(mount):
    """Thousands of entries: many readdir continuations (offsets)."""
    n = 3000
    names = {f"entry-{i:05d}-{'x' * (i % 50)}" for i in range(n)}

    def make():
        for name in names:
            os.close(os.open(mount.mnt / "big" / name,
                             os.O_CREAT | os.O_WRONLY, 0o644))
    fs.mkdir(mount.mnt / "big")
    util.call(make, timeout=120)
    listed = fs.listdir(mount.mnt / "big")
    assert len(listed) == n
    assert set(listed) == names
    assert set(os.listdir(mount.backing / "big")) == names


def test_readdirplus_ls_long(mount):
    """ls -l stats every entry: readdirplus (or lookups) must give
    attributes equal to the backing files'."""
    fs.mkdir(mount.mnt / "d")
    for i in range(200):
        util.write_file(mount.mnt / "d" / f"f{i:03d}", b"x" * i)
        fs.chmod(mount.mnt / "d" / f"f{i:03d}", 0o600 + (i % 8))
    proc = util.run(["ls", "-ln", "--time-style=+%s", str(mount.mnt / "d")])
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert len(rows) == 200
    for row in rows:
        name, size = row[-1], int(row[4])
        bst = os.stat(mount.backing / "d" / name)
        assert size == bst.st_size, row
        assert row[0][:10] == stat.filemode(bst.st_mode), row


def test_readdir_while_modifying(mount):
    """Deleting entries while iterating never repeats a name and never
    returns one that was already deleted before the listing started."""
    fs.mkdir(mount.mnt / "d")
    for i in range(500):
        util.write_file(mount.mnt / "d" / f"n{i}", b"")

    def iterate_and_delete():
        seen = []
        with os.scandir(mount.mnt / "d") as it:
            for k, entry in enumerate(it):
                seen.append(entry.name)
                if k % 3 == 0:
                    os.unlink(mount.mnt / "d" / f"n{(k * 7) % 500}")
        return seen
    seen = util.call(iterate_and_delete)
    assert len(seen) == len(set(seen))
    assert set(seen) <= {f"n{i}" for i in range(500)}


def test_seekdir_rewind(mount):
    fs.mkdir(mount.mnt / "d")
    for i in range(100):
        util.write_file(mount.mnt / "d" / f"e{i}", b"")

    def list_twice():
        fd = os.open(mount.mnt / "d", os.O_RDONLY | os.O_DIRECTORY)
        try:
            first = os.listdir(fd)
            os.lseek(fd, 0, os.SEEK_SET)
            second = os.listdir(fd)
        finally:
            os.close(fd)
        return first, second
    first, second = util.call(list_twice)
    assert sorted(first) == sorted(second) == sorted(
        f"e{i}" for i in range(100))


def test_fsyncdir(mount):
    fs.mkdir(mount.mnt / "d")
    util.write_file(mount.mnt / "d" / "f", b"x")
    fd = fs.open(mount.mnt / "d", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fs.fsync(fd)
        fs.fdatasync(fd)
    finally:
        fs.close(fd)
    fd = fs.open(mount.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fs.fsync(fd)
    finally:
        fs.close(fd)


def test_opendir_errors(mount):
    util.write_file(mount.mnt / "f", b"")
    expect_errno(errno.ENOTDIR, os.listdir, mount.mnt / "f")
    expect_errno(errno.ENOENT, os.listdir, mount.mnt / "missing")
    expect_errno(errno.ENOTDIR, os.open, mount.mnt / "f",
                 os.O_RDONLY | os.O_DIRECTORY)
    fs.mkdir(mount.mnt / "d")
    expect_errno(errno.EISDIR, os.open, mount.mnt / "d", os.O_WRONLY)


def test_backing_changes_visible_in_listing(mount):
    util.write_file(mount.mnt / "a", b"")
    assert fs.listdir(mount.mnt) == ["a"]
    (mount.backing / "outside").write_bytes(b"o")
    assert sorted(fs.listdir(mount.mnt)) == ["a", "outside"]
    assert util.read_file(mount.mnt / "outside") == b"o"
    os.unlink(mount.backing / "a")
    assert fs.listdir(mount.mnt) == ["outside"]


# ---- cached listings (cache_readdir) ----------------------------------------

CACHED_LISTINGS = "[global]\ncache_readdir = true\n"

def _readdirs(m):
    """How many READDIR(PLUS) requests the daemon has served (debug log)."""
    return m.log_text().count("mmapfs: debug: readdir")


def test_listing_is_cached_across_opendir(mount_factory):
    """With cache_readdir the kernel serves a second listing of an
    unchanged directory from its cache; changes through the mount show up
    at once all the same."""
    m = mount_factory(config=CACHED_LISTINGS, opts=["log_level=debug"])
    fs.mkdir(m.mnt / "d")
    names = {f"f{i:03d}" for i in range(300)}
    for name in names:
        util.write_file(m.mnt / "d" / name, b"")
    assert set(fs.listdir(m.mnt / "d")) == names
    served = _readdirs(m)
    assert served > 0
    for _ in range(3):
        assert set(fs.listdir(m.mnt / "d")) == names
    assert _readdirs(m) == served, "an unchanged listing went to the daemon"
    util.write_file(m.mnt / "d" / "new", b"")
    fs.unlink(m.mnt / "d" / "f000")
    fs.rename(m.mnt / "d" / "f001", m.mnt / "d" / "g001")
    expected = names - {"f000", "f001"} | {"new", "g001"}
    assert set(fs.listdir(m.mnt / "d")) == expected


def test_listing_not_cached_by_default(mount_factory):
    m = mount_factory(opts=["log_level=debug"])
    fs.mkdir(m.mnt / "d")
    util.write_file(m.mnt / "d" / "f", b"")
    counts = []
    for _ in range(3):
        assert fs.listdir(m.mnt / "d") == ["f"]
        counts.append(_readdirs(m))
    assert counts[0] < counts[1] < counts[2]


def test_outside_changes_show_in_the_next_listing(mount_factory):
    """A cached listing never hides a change made from outside: the next
    opendir sees it at once (no timeout to wait for), every time."""
    mount = mount_factory(config=CACHED_LISTINGS)
    d = mount.mnt / "d"
    fs.mkdir(d)
    util.write_file(d / "inside", b"")
    backing = mount.backing / "d"
    expected = {"inside"}
    for i in range(30):
        assert set(fs.listdir(d)) == expected
        assert set(fs.listdir(d)) == expected
        if i % 3 == 0:
            (backing / f"out{i}").write_bytes(b"")
            expected.add(f"out{i}")
        elif i % 3 == 1:
            os.rename(backing / f"out{i - 1}", backing / f"moved{i}")
            expected.remove(f"out{i - 1}")
            expected.add(f"moved{i}")
        else:
            os.unlink(backing / f"moved{i - 1}")
            expected.remove(f"moved{i - 1}")
    assert set(fs.listdir(d)) == expected
    # and the root, whose listing also holds the hidden control dirs
    (mount.backing / "top").write_bytes(b"")
    assert "top" in fs.listdir(mount.mnt)


def _names_after_rewind(fd):
    with os.scandir(fd) as it:    # rewinds the open directory
        return {e.name for e in it}


def test_outside_change_seen_by_rewind_of_an_open_directory(mount_factory):
    """rewinddir(3) on a directory kept open refers to its current state
    (POSIX), also after a change made from outside: the daemon watches open
    directories and drops the kernel's cached listing. (Linux 6.18 asks the
    daemon again after a rewind anyway; the watch is for kernels that serve
    the rewind from the cache.)"""
    mount = mount_factory(config=CACHED_LISTINGS)
    fs.mkdir(mount.mnt / "d")
    util.write_file(mount.mnt / "d" / "a", b"")
    fd = fs.open(mount.mnt / "d", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert util.call(_names_after_rewind, fd) == {"a"}
        assert util.call(_names_after_rewind, fd) == {"a"}
        (mount.backing / "d" / "b").write_bytes(b"")
        util.wait_until(lambda: _names_after_rewind(fd) == {"a", "b"}, 5.0,
                        what="outside create after rewind")
        os.unlink(mount.backing / "d" / "a")
        util.wait_until(lambda: _names_after_rewind(fd) == {"b"}, 5.0,
                        what="outside unlink after rewind")
    finally:
        fs.close(fd)
