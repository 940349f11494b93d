"""Backing files changed from outside the mount (docs/architecture.md): sizes are
re-checked, caches invalidated, and a file shrunk under a reader gives EIO
or short reads to the client -- the daemon never dies of it.

Changes made behind the daemon's back may be noticed only after the
kernel's attribute/entry timeouts, so visibility is polled with a deadline
(CHANGE_DEADLINE) instead of being expected at once.
"""

import errno
import mmap
import os
import threading
import time

import util
from util import PAGE, fs

CHANGE_DEADLINE = 5.0


def test_outside_extend_seen_after_reopen(mount):
    data = util.pattern(2 * PAGE, seed=1)
    util.write_file(mount.mnt / "f", data)
    assert util.read_file(mount.mnt / "f") == data
    more = util.pattern(3 * PAGE + 11, seed=2)
    with open(mount.backing / "f", "ab") as f:
        f.write(more)
    util.wait_until(lambda: os.stat(mount.mnt / "f").st_size == len(data) +
                    len(more), CHANGE_DEADLINE, what="new size via getattr")
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") == data + more,
                    CHANGE_DEADLINE, what="new content after reopen")


def test_outside_overwrite_seen_after_reopen(mount):
    util.write_file(mount.mnt / "f", b"A" * PAGE)
    assert util.read_file(mount.mnt / "f") == b"A" * PAGE
    with open(mount.backing / "f", "r+b") as f:
        f.seek(100)
        f.write(b"B" * 50)
    expected = b"A" * 100 + b"B" * 50 + b"A" * (PAGE - 150)
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") == expected,
                    CHANGE_DEADLINE, what="outside overwrite visible")


def test_outside_write_seen_by_open_descriptor(mount):
    """A descriptor opened (and read, so the kernel caches the pages)
    before an outside write sees the new bytes: the daemon invalidates the
    kernel's cache of the file."""
    util.write_file(mount.mnt / "f", b"a" * (4 * PAGE))
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        assert util.pread_all(fd, 4 * PAGE) == b"a" * (4 * PAGE)
        with open(mount.backing / "f", "r+b") as f:
            f.seek(PAGE + 10)
            f.write(b"OUTSIDE")
        expected = b"a" * (PAGE + 10) + b"OUTSIDE" + b"a" * (3 * PAGE - 17)
        util.wait_until(lambda: util.raw_pread_all(fd, 4 * PAGE, 0) == expected,
                        CHANGE_DEADLINE, what="outside write seen by open fd")
    finally:
        fs.close(fd)


def test_outside_truncate_shorter_seen(mount):
    data = util.pattern(8 * PAGE, seed=3)
    util.write_file(mount.mnt / "f", data)
    assert util.read_file(mount.mnt / "f") == data
    os.truncate(mount.backing / "f", PAGE + 1)
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") == data[:PAGE + 1],
                    CHANGE_DEADLINE, what="outside truncate visible")
    # writing through the mount afterwards works at the new size
    fd = fs.open(mount.mnt / "f", os.O_WRONLY | os.O_APPEND)
    try:
        fs.write(fd, b"!")
    finally:
        fs.close(fd)
    util.wait_until(lambda: (mount.backing / "f").read_bytes() ==
                    data[:PAGE + 1] + b"!", CHANGE_DEADLINE,
                    what="append after outside truncate")


def _reads_real_bytes_or_eio(fd, whole, offsets, size):
    """preads size bytes of fd at each offset of a file cut from outside:
    each gives EIO or bytes of whole (or zeros), never junk."""
    for off in offsets:
        try:
            got = fs.pread(fd, size, off)
        except OSError as e:
            assert e.errno == errno.EIO, e
            continue
        assert got == whole[off:off + len(got)] or \
            got == bytes(len(got)), (off, len(got))


def test_shrink_under_open_reader(mount):
    """The backing file shrinks while a client holds it open and has read
    it: later reads past the new end are short, empty or EIO; the daemon
    lives and serves the file afterwards."""
    data = util.pattern(64 * PAGE, seed=4)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        assert util.pread_all(fd, len(data)) == data
        os.truncate(mount.backing / "f", 2 * PAGE)
        _reads_real_bytes_or_eio(fd, data, (0, 10 * PAGE, 63 * PAGE),
                                 4 * PAGE)
    finally:
        fs.close(fd)
    assert mount.running()
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") ==
                    data[:2 * PAGE], CHANGE_DEADLINE,
                    what="shrunk file readable")


def test_shrink_under_writer(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, util.pattern(32 * PAGE), 0)
        os.truncate(mount.backing / "f", 0)
        for off in (0, 5 * PAGE, 31 * PAGE):
            try:
                fs.pwrite(fd, b"after", off)
            except OSError as e:
                assert e.errno == errno.EIO, e
        fs.fsync(fd)
    finally:
        fs.close(fd)
    assert mount.running()
    util.wait_until(lambda: os.stat(mount.mnt / "f").st_size ==
                    os.stat(mount.backing / "f").st_size, CHANGE_DEADLINE,
                    what="mount and backing agree on the size")
    assert util.read_file(mount.mnt / "f") == \
        (mount.backing / "f").read_bytes()


def test_shrink_race_daemon_survives(mount):
    """Readers hammer a file while it is truncated and regrown from
    outside; clients may see EIO, the daemon must not crash or leak."""
    data = util.pattern(256 * PAGE, seed=5)
    util.write_file(mount.mnt / "f", data)
    stop = threading.Event()
    unexpected = []

    def reader():
        try:
            while not stop.is_set():
                fd = os.open(mount.mnt / "f", os.O_RDONLY)
                try:
                    os.pread(fd, 256 * PAGE, 0)
                except OSError as e:
                    if e.errno != errno.EIO:
                        unexpected.append(e)
                finally:
                    os.close(fd)
        except OSError as e:
            unexpected.append(e)
    threads = [util.spawn(reader) for _ in range(2)]
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            os.truncate(mount.backing / "f", PAGE)
            with open(mount.backing / "f", "r+b") as f:
                f.write(data)
    finally:
        stop.set()
        util.join_all(threads, timeout=30)
    assert not unexpected, unexpected[:3]
    assert mount.running()
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") == data,
                    CHANGE_DEADLINE, what="file readable after the race")


def _touch_mapped_pages(path, pages, backing, keep):
    """Maps `pages` pages of the file on the mount, truncates the backing
    file to `keep` pages behind the daemon's back, then reads every page
    of the mapping.  Returns the first byte of each page that could be
    read (a page past the new end may kill this process with SIGBUS)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        m = mmap.mmap(fd, pages * util.PAGE, prot=mmap.PROT_READ)
        os.truncate(backing, keep * util.PAGE)
        return [m[i * util.PAGE] for i in range(pages)]
    finally:
        os.close(fd)


def test_shrink_under_client_mmap(mount):
    """A client mmap whose file shrinks from outside: touching a page past
    the new end is a SIGBUS for the client (as on a local disk) or reads
    what was there; the daemon survives either way."""
    util.write_file(mount.mnt / "f", b"m" * (8 * PAGE))
    try:
        got = util.in_child(_touch_mapped_pages, str(mount.mnt / "f"), 8,
                            str(mount.backing / "f"), 1)
        assert got[0] == ord("m")
    except AssertionError as e:
        if "SIGBUS" not in str(e):
            raise
    assert mount.running()
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") == b"m" * PAGE,
                    CHANGE_DEADLINE, what="shrunk file readable")


def test_outside_unlink_of_open_file(mount):
    util.write_file(mount.mnt / "f", b"still here")
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        os.unlink(mount.backing / "f")
        assert fs.pread(fd, 100, 0) == b"still here"
    finally:
        fs.close(fd)
    util.wait_until(lambda: not os.path.exists(mount.mnt / "f"),
                    CHANGE_DEADLINE, what="outside unlink visible")


def test_outside_replace_by_rename(mount):
    util.write_file(mount.mnt / "f", b"old version")
    assert util.read_file(mount.mnt / "f") == b"old version"
    (mount.backing / "f.new").write_bytes(b"new version!")
    os.rename(mount.backing / "f.new", mount.backing / "f")
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") ==
                    b"new version!", CHANGE_DEADLINE,
                    what="outside replacement visible")


def test_outside_create_and_mkdir(mount):
    os.mkdir(mount.backing / "d")
    (mount.backing / "d" / "f").write_bytes(b"made outside")
    assert util.read_file(mount.mnt / "d" / "f") == b"made outside"
    util.write_file(mount.mnt / "d" / "g", b"made inside")
    assert (mount.backing / "d" / "g").read_bytes() == b"made inside"


def test_only_outside_changes_drop_the_cache(mount_factory):
    """Writes, truncation and attribute changes through the mount never
    make the daemon drop the kernel's cache (dropping it under another
    client's write in flight let readers see old bytes); a change made from
    outside, to a file open through the mount, does."""
    m = mount_factory(opts=["log_level=debug"])
    marker = "changed from outside"
    path = m.mnt / "f"
    util.write_file(path, b"x" * (4 * PAGE))
    fd = fs.open(path, os.O_RDWR)
    try:
        for i in range(200):
            fs.pwrite(fd, b"%d" % i, (i * 97) % (4 * PAGE))
            fs.fstat(fd)
            if i % 50 == 0:
                fs.ftruncate(fd, 4 * PAGE + i)
                fs.chmod(path, 0o600 if i % 100 else 0o644)
        fs.stat(path)
        util.pread_all(fd, 4 * PAGE)
        assert marker not in m.log_text()
        ino = os.stat(m.backing / "f").st_ino
        with open(m.backing / "f", "r+b") as f:
            f.write(b"OUTSIDE")
        util.wait_until(lambda: f"backing inode {ino} {marker}"
                        in m.log_text(), CHANGE_DEADLINE,
                        what="the outside write noticed")
        util.wait_until(lambda: util.raw_pread_all(fd, 7, 0) == b"OUTSIDE",
                        CHANGE_DEADLINE, what="the outside write seen")
    finally:
        fs.close(fd)


# ---- outside_changes = ignore -------------------------------------------

IGNORE = "[global]\noutside_changes = ignore\n"


def test_ignore_mode_follows_sizes_at_open_and_survives(mount_factory):
    """outside_changes = ignore: the daemon does not look for changes made
    from outside (no bracket, no watch, no invalidation), but a file's size
    is still followed at its next open, an append never overwrites bytes
    an outside writer added, a file cut from outside under a reader gives
    short reads or EIO, and the daemon lives through all of it."""
    m = mount_factory(config=IGNORE, opts=["log_level=info"])
    # Logged as the daemon starts its threads, which may be just after
    # the mount appears.
    util.wait_until(lambda: "outside_changes = ignore" in m.log_text(),
                    CHANGE_DEADLINE, what="the mode logged at start")
    data = util.pattern(8 * PAGE, seed=7)
    util.write_file(m.mnt / "f", data)
    assert util.read_file(m.mnt / "f") == data
    # Grown from outside: read whole from the next open on (once the
    # kernel's attribute timeout let it see the new size).
    more = util.pattern(3 * PAGE + 5, seed=8)
    with open(m.backing / "f", "ab") as f:
        f.write(more)
    util.wait_until(lambda: util.raw_read(m.mnt / "f") == data + more,
                    CHANGE_DEADLINE, what="outside growth read at reopen")
    # An append through the mount lands after the outside bytes.
    with open(m.backing / "f", "ab") as f:
        f.write(b"OUT")
    fd = fs.open(m.mnt / "f", os.O_WRONLY | os.O_APPEND)
    try:
        fs.write(fd, b"IN")
    finally:
        fs.close(fd)
    assert (m.backing / "f").read_bytes() == data + more + b"OUTIN"
    # Cut from outside under an open reader: short reads or EIO, never
    # junk; the daemon serves the file afterwards.
    fd = fs.open(m.mnt / "f", os.O_RDONLY)
    try:
        os.truncate(m.backing / "f", PAGE)
        _reads_real_bytes_or_eio(fd, data + more + b"OUTIN",
                                 (0, 4 * PAGE, 9 * PAGE), 2 * PAGE)
    finally:
        fs.close(fd)
    assert m.running()
    util.wait_until(lambda: util.raw_read(m.mnt / "f") == data[:PAGE],
                    CHANGE_DEADLINE, what="cut file read at reopen")
    # Writes through the mount are exact as ever.
    util.write_file(m.mnt / "g", b"through the mount")
    assert (m.backing / "g").read_bytes() == b"through the mount"
    assert "changed from outside" not in m.log_text()


def test_ignore_mode_is_fixed_until_remount(mount_factory):
    """outside_changes is read once, at start: a reload that changes it
    applies the rest of the config and says the mode stays."""
    from test_config import reload_ctl
    m = mount_factory(config=IGNORE)
    m.config.write_text("[global]\noutside_changes = notice\n")
    assert reload_ctl(m) is None
    util.wait_until(lambda: "outside_changes stays ignore until the next "
                    "mount" in m.log_text(), CHANGE_DEADLINE,
                    what="the reload's notice")
    assert m.running()
