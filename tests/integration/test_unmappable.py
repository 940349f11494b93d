"""Files the kernel will not map honour every flush policy (docs/durability.md, docs/architecture.md).

The backing directory is a mergerfs mount with cache.files=off: mergerfs
then serves every file with direct_io, and the kernel refuses MAP_SHARED
on direct_io FUSE files (ENODEV) unless the server negotiates
FUSE_DIRECT_IO_ALLOW_MMAP, which Debian's mergerfs does not. The fixture
checks that with a real mmap first and skips (with the reason) when
mergerfs is missing or maps the file after all.

mmapfs then serves such files without a mapping (libmmapio's
unmapped_fallback: pread/pwrite) and the checks are the ones a mapped file
passes: data round trip, `mapped no` in .stats/files and user.mmapfs.mapped,
pending counts rising and falling, the flush at the bytes=/writes=/ms=
threshold and at every write under always (the flushes counter), the close
rule (never keeps its counts after close, a threshold policy flushes them)
and the flush at exit (SIGTERM with a file open and writes pending).

Cleanup: mergerfs runs in the foreground as the fixture's child; it is
unmounted in a finally (fusermount3 -u, lazily when busy) after the mmapfs
mount on top of it (fixture order), and killed by its pid only when it
does not exit by itself.
"""

import errno
import mmap
import os
import shutil
import signal
import subprocess
import time

import pytest

import util
from util import PAGE, fs

MERGERFS = shutil.which("mergerfs")
EXIT_TIMEOUT = 20

CONFIG = """[global]
flush = never

[match bytes/*]
flush = bytes=16KiB

[match writes/*]
flush = writes=3

[match ms/*]
flush = ms=2000

[match always/*]
flush = always

[match exit/*]
flush = ms=60000
"""


def _mmap_shared_errno(path):
    """0 when a shared mapping of path works, else its errno."""
    fd = os.open(path, os.O_RDWR)
    try:
        mmap.mmap(fd, PAGE, mmap.MAP_SHARED).close()
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def _unmount_mergerfs(mnt, proc):
    try:
        if util.is_fuse_mounted(mnt):
            r = util.run(["fusermount3", "-u", str(mnt)], timeout=EXIT_TIMEOUT)
            if r.returncode != 0 and util.is_fuse_mounted(mnt):
                util.run(["fusermount3", "-uz", str(mnt)],
                         timeout=EXIT_TIMEOUT)
    finally:
        try:
            proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(EXIT_TIMEOUT)
        if util.is_fuse_mounted(mnt):
            util.run(["fusermount3", "-uz", str(mnt)], timeout=EXIT_TIMEOUT)


@pytest.fixture
def unmappable_dir(tmp_path):
    """A directory (a mergerfs mount over tmp_path/branch) whose files the
    kernel refuses to map shared."""
    if MERGERFS is None:
        pytest.skip("mergerfs is not installed (apt-get install mergerfs): "
                    "no backing file system without shared mmap")
    branch = tmp_path / "branch"
    merged = tmp_path / "merged"
    branch.mkdir()
    merged.mkdir()
    log = open(tmp_path / "mergerfs.log", "w")
    proc = subprocess.Popen([MERGERFS, "-f", "-o", "cache.files=off",
                             str(branch), str(merged)],
                            stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + EXIT_TIMEOUT
        while not util.is_fuse_mounted(merged):
            if proc.poll() is not None:
                pytest.skip(f"mergerfs exited with {proc.returncode}: "
                            f"{(tmp_path / 'mergerfs.log').read_text()}")
            assert time.monotonic() < deadline, "mergerfs did not mount"
            time.sleep(0.02)
        probe = merged / "probe"
        util.call(probe.write_bytes, b"p" * PAGE)
        err = util.call(_mmap_shared_errno, str(probe))
        util.call(probe.unlink)
        if err != errno.ENODEV:
            pytest.skip("a shared mmap of a mergerfs cache.files=off file "
                        f"gave {errno.errorcode.get(err, err)}, not ENODEV: "
                        "no unmappable files to test here")
        yield merged
    finally:
        _unmount_mergerfs(merged, proc)
        log.close()


@pytest.fixture
def over_unmappable(unmappable_dir, mount_factory):
    """mmapfs (CONFIG) over the unmappable directory; unmounted by the
    mount_factory fixture before the mergerfs fixture ends."""
    for d in ("bytes", "writes", "ms", "always", "exit", "never"):
        (unmappable_dir / d).mkdir()
    return mount_factory(config=CONFIG, backing=unmappable_dir)


def counter(path, name):
    return int(fs.getxattr(str(path), f"user.mmapfs.{name}"))


def raw_counter(path, name):
    """counter() for predicates of util.wait_until, which already runs
    them under a deadline (the fs proxy must not be nested in it)."""
    return int(os.getxattr(str(path), f"user.mmapfs.{name}"))


def xattr(path, name):
    return fs.getxattr(str(path), f"user.mmapfs.{name}").decode()


rows = util.stats_rows


class Open:
    def __init__(self, path, flags=os.O_RDWR | os.O_CREAT):
        self.path = path
        self.flags = flags

    def __enter__(self):
        self.fd = fs.open(str(self.path), self.flags, 0o644)
        return self.fd

    def __exit__(self, *exc):
        fs.close(self.fd)


def test_round_trip_and_bytes_threshold(over_unmappable):
    m = over_unmappable
    f = m.mnt / "bytes" / "f"
    data = util.pattern(3 * PAGE + 100, seed=5)
    with Open(f) as fd:
        fs.pwrite(fd, data[:PAGE], 0)
        assert xattr(f, "mapped") == "no"
        assert xattr(f, "policy") == "bytes=16KiB"
        assert counter(f, "pending_bytes") == PAGE
        assert counter(f, "pending_writes") == 1
        flushes = counter(f, "flushes")
        row = rows(m.mnt)["bytes/f"]
        assert row["mapped"] == "no"
        assert row["mode"] == "rw"
        assert row["pending_bytes"] == str(PAGE)
        util.pwrite_all(fd, data[PAGE:], PAGE)
        # 4 pages written: 16 KiB reached by the last write, flushed
        assert counter(f, "flushes") == flushes + 1
        assert counter(f, "pending_bytes") == 0
        assert counter(f, "pending_writes") == 0
        assert rows(m.mnt)["bytes/f"]["flushes"] == str(flushes + 1)
        assert util.pread_all(fd, len(data), 0) == data
        # a rewrite in the middle, read back through the mount and below it
        fs.pwrite(fd, b"X" * 10, PAGE + 3)
        assert counter(f, "pending_bytes") == PAGE
        expect = data[:PAGE + 3] + b"X" * 10 + data[PAGE + 13:]
        assert util.pread_all(fd, len(expect), 0) == expect
    assert (m.backing.parent / "branch" / "bytes" / "f").read_bytes() == expect
    assert fs.stat(str(f)).st_size == len(expect)


def test_writes_threshold_and_append(over_unmappable):
    m = over_unmappable
    f = m.mnt / "writes" / "f"
    with Open(f, os.O_WRONLY | os.O_CREAT | os.O_APPEND) as fd:
        fs.write(fd, b"a" * 10)
        fs.write(fd, b"b" * 10)
        assert counter(f, "pending_writes") == 2
        flushes = counter(f, "flushes")
        fs.write(fd, b"c" * 10)
        assert counter(f, "flushes") == flushes + 1
        assert counter(f, "pending_writes") == 0
        fs.write(fd, b"d" * 10)
        assert counter(f, "pending_writes") == 1
    assert util.read_file(str(f)) == b"a" * 10 + b"b" * 10 + b"c" * 10 + \
        b"d" * 10


def test_ms_deadline(over_unmappable):
    m = over_unmappable
    f = m.mnt / "ms" / "f"
    with Open(f) as fd:
        fs.pwrite(fd, b"m" * 100, 0)
        flushes = counter(f, "flushes")
        assert counter(f, "pending_writes") == 1
        assert rows(m.mnt)["ms/f"]["pending_writes"] == "1"
        util.wait_until(lambda: raw_counter(f, "flushes") == flushes + 1,
                        timeout=15, what="the ms=2000 flush")
        assert counter(f, "pending_writes") == 0
        assert counter(f, "pending_bytes") == 0


def test_always(over_unmappable):
    m = over_unmappable
    f = m.mnt / "always" / "f"
    with Open(f) as fd:
        flushes = counter(f, "flushes")
        for i in range(3):
            fs.pwrite(fd, b"w" * 10, i * PAGE)
            assert counter(f, "flushes") == flushes + i + 1
            assert counter(f, "pending_bytes") == 0
        assert rows(m.mnt)["always/f"]["mapped"] == "no"


def test_close_rule(over_unmappable):
    m = over_unmappable
    kept, flushed = m.mnt / "never" / "f", m.mnt / "bytes" / "g"
    for path in (kept, flushed):
        with Open(path) as fd:
            fs.pwrite(fd, b"z" * 10, 0)
            assert counter(path, "pending_bytes") == PAGE
    # the release after close(2) is asynchronous: wait for its effect
    util.wait_until(lambda: raw_counter(flushed, "pending_bytes") == 0,
                    what="the flush at close under bytes=16KiB")
    assert counter(kept, "pending_bytes") == PAGE
    util.wait_until(lambda: not util.daemon_holds_open(m, "bytes/g"),
                    what="the release of bytes/g")
    r = rows(m.mnt)
    assert r["never/f"]["pending_bytes"] == str(PAGE)
    # Flushed at close, g keeps its row (recently closed files) with
    # nothing pending and its close flush counted.
    assert (r["bytes/g"]["mapped"], r["bytes/g"]["pending_bytes"]) == \
        ("no", "0")
    assert int(r["bytes/g"]["flushes"]) >= 1


@pytest.mark.timeout(60)
def test_flush_at_exit(over_unmappable):
    m = over_unmappable
    f = m.mnt / "exit" / "f"
    data = util.pattern(2 * PAGE + 1, seed=9)
    fd = fs.open(str(f), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, data, 0)
        assert counter(f, "pending_bytes") == 3 * PAGE
        assert counter(f, "flushes") == 0
        m.proc.send_signal(signal.SIGTERM)
        assert m.wait_exit() == 0, m.log_tail()
    finally:
        try:
            fs.close(fd)
        except OSError:
            pass
    assert not util.is_fuse_mounted(m.mnt)
    assert f"exit: flushed {3 * PAGE} pending bytes of 1 open files" in \
        m.log_text()
    assert (m.backing / "exit" / "f").read_bytes() == data
