"""Device errors on sync, seen through the mount (issue 7, docs/durability.md).

The backing directory of mmapfs is a faultfs mount (faultfs.py in this
directory: a pyfuse3 passthrough whose FSYNC fails with EIO while the file
.fail-fsync exists in its source directory, WRITE while .fail-write does),
so a sync the daemon makes of a backing file fails as on a failing disk.
Checked through ordinary system calls on the mmapfs mount:

  1. fsync(2) and fdatasync(2) of a written file fail with EIO while the
     fault is on;
  2. the error is sticky: after the fault is gone, fsync on the same
     descriptor and on another descriptor of the file still fails, and
     close(2) of a descriptor that can write reports it (mmapfs_op_flush;
     a read-only one flushes nothing and reports nothing); once every
     descriptor is closed and the daemon has released the file, a reopened
     file syncs again;
  3. .stats/files (flush_errors of the file's row) and .stats/flush_errors
     count the failed syncs;
  4. under policy `always`, write(2) itself fails with EIO while the fault
     is on (an overwrite inside the mapping: msync MS_SYNC; an append: the
     pwrite fallback's fdatasync), and keeps failing after the fault is
     gone until every handle is released (a write whose policy flush runs
     returns the sticky error, docs/durability.md);
  5. a failed write-back (faultfs fails WRITE while .fail-write exists)
     is reported by fsync the same way, and an append, which the daemon
     writes around its mapping, fails at once;
  6. with max_mapped_files = 1, the error survives the cap on mappings: a
     file with a sticky error is not evicted, and a close-rule flush that
     fails while a file is evicted is reported by its fsync and close;
     .ctl/evict of a file with a sticky error reports it, and the file's
     descriptors keep it;
  7. the daemon never dies: the mount serves new files afterwards, and the
     fixture checks that it exits with status 0 and a clean sanitizer log.

Cleanup: faultfs runs in the foreground as the fixture's child, its log in
tmp_path/faultfs.log. The mmapfs mount on top of it is made by
mount_factory, which (fixture order) is unmounted first; then faultfs is
unmounted in a finally (fusermount3 -u, lazily when busy) and killed by
its own pid only when it does not exit by itself.
"""

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import util
from util import PAGE, fs

FAULTFS = Path(__file__).resolve().parent / "faultfs.py"
MOUNT_TIMEOUT = 20
EXIT_TIMEOUT = 20

CONFIG = """[global]
flush = never

[match always-*]
flush = always
"""


def _pyfuse3_missing():
    probe = subprocess.run([sys.executable, "-c", "import pyfuse3, trio"],
                           capture_output=True, text=True)
    return probe.returncode != 0 and probe.stderr.strip().splitlines()[-1]


class FaultFS:
    """A running faultfs: .src (its source directory), .mnt, .log."""

    def __init__(self, src, mnt, log):
        self.src = src
        self.mnt = mnt
        self.log = log
        self.proc = None

    def fail(self, what, on):
        """Switches the fault of requests `what` (fsync, write) on or off."""
        trigger = self.src / f".fail-{what}"
        if on:
            trigger.touch()
        else:
            trigger.unlink(missing_ok=True)

    def fail_fsync(self, on):
        self.fail("fsync", on)

    def slow_fsync(self, seconds):
        """Makes every FSYNC of a regular file wait `seconds` (0: off)."""
        trigger = self.src / ".slow-fsync"
        if seconds:
            trigger.write_text(f"{seconds}\n")
        else:
            trigger.unlink(missing_ok=True)

    def all_off(self):
        self.fail("fsync", False)
        self.fail("write", False)
        self.slow_fsync(0)

    def injected(self):
        """How many EIO faultfs has injected so far."""
        return self.log.read_text().count("faultfs: injected EIO")

    def start(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(FAULTFS), str(self.src), str(self.mnt)],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not util.is_fuse_mounted(self.mnt):
            if self.proc.poll() is not None:
                pytest.fail(f"faultfs exited with {self.proc.returncode} "
                            f"before mounting:\n{self.log.read_text()}",
                            pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"faultfs did not mount {self.mnt} within "
                            f"{MOUNT_TIMEOUT} s:\n{self.log.read_text()}",
                            pytrace=False)
            time.sleep(0.02)

    def stop(self):
        """Unmounts and reaps faultfs; returns what went wrong, or ''."""
        return util.stop_fuse_server(self.proc, self.mnt, "faultfs",
                                     EXIT_TIMEOUT)


@pytest.fixture
def faultfs(tmp_path):
    missing = _pyfuse3_missing()
    if missing:
        pytest.skip(f"pyfuse3 cannot be imported ({missing}): "
                    "apt-get install python3-pyfuse3")
    ffs = FaultFS(tmp_path / "faultsrc", tmp_path / "faultmnt",
                  tmp_path / "faultfs.log")
    ffs.src.mkdir()
    ffs.mnt.mkdir()
    try:
        ffs.start()
        yield ffs
    finally:
        ffs.all_off()
        problems = ffs.stop()
    if problems:
        pytest.fail(f"{problems}\n--- {ffs.log}:\n{ffs.log.read_text()}",
                    pytrace=False)


@pytest.fixture
def stack(faultfs, mount_factory):
    """mmapfs (CONFIG) over faultfs: (mmapfs mount, faultfs). The fault is
    switched off before mount_factory unmounts mmapfs, whose exit flushes
    files under `always`."""
    m = mount_factory(config=CONFIG, backing=faultfs.mnt)
    try:
        yield m, faultfs
    finally:
        faultfs.all_off()


def stats_row(mnt, name):
    """The .stats/files row of name as {column: text}, or None (plain I/O:
    usable in wait_until predicates)."""
    return util.stats_rows(mnt, raw=True).get(name)


def stats_total(mnt, name):
    return int(util.read_file(mnt / ".stats" / name).decode())


def closes_with(code, fd):
    """close(2) of fd; asserts it reports errno code (0: success). The
    descriptor is gone either way."""
    if code:
        util.expect_errno(code, os.close, fd)
    else:
        fs.close(fd)


def wait_released(m, name):
    """Waits until the daemon has processed the RELEASE of name's last
    descriptor (the kernel sends it after close(2) returned): its mapping
    and descriptors, sticky error included, are gone. (Its .stats/files
    row stays, mapped no: the table of recently closed files.)"""
    def released():
        row = stats_row(m.mnt, name)
        return (row is None or row["mapped"] == "no") and \
            not util.daemon_holds_open(m, name)
    util.wait_until(released, timeout=10,
                    what=f"the daemon releasing {name}")


def syncs_again_after_release(m, name):
    """Once every descriptor of name is released, its error is forgotten:
    a reopened descriptor syncs, and the mount still serves."""
    wait_released(m, name)
    fd = fs.open(m.mnt / name, os.O_RDWR)
    try:
        fs.fsync(fd)
    finally:
        closes_with(0, fd)
    assert_mount_alive(m)


def assert_mount_alive(m):
    """The daemon still runs and serves a new file."""
    assert m.running(), "mmapfs died"
    probe = m.mnt / "alive"
    util.write_file(probe, b"still here")
    assert util.read_file(probe) == b"still here"
    fs.unlink(probe)


def test_fsync_fails_with_eio_while_the_device_fails(stack):
    m, ffs = stack
    path = m.mnt / "f"
    data = util.pattern(3 * PAGE + 7, seed=1)
    fd = fs.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, data, 0)
        fs.fsync(fd)
        assert ffs.injected() == 0
        util.pwrite_all(fd, b"second", PAGE)
        ffs.fail_fsync(True)
        util.expect_errno(errno.EIO, os.fsync, fd)
        util.expect_errno(errno.EIO, os.fdatasync, fd)
        assert ffs.injected() >= 1, "the daemon's sync never reached faultfs"
        # the data itself is still served (the page cache holds it)
        expect = data[:PAGE] + b"second" + data[PAGE + 6:]
        assert util.pread_all(fd, len(expect), 0) == expect
    finally:
        ffs.fail_fsync(False)
        closes_with(errno.EIO, fd)
    assert (ffs.src / "f").read_bytes() == expect
    assert_mount_alive(m)


def test_error_is_sticky_across_descriptors_until_all_are_closed(stack):
    m, ffs = stack
    path = m.mnt / "f"
    fd1 = fs.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fd2 = None
    try:
        util.pwrite_all(fd1, util.pattern(2 * PAGE), 0)
        ffs.fail_fsync(True)
        util.expect_errno(errno.EIO, os.fsync, fd1)
        ffs.fail_fsync(False)
        injected = ffs.injected()
        # The device works again, but the failed write-back is not retried:
        # every later sync reports the first failure.
        util.expect_errno(errno.EIO, os.fsync, fd1)
        util.expect_errno(errno.EIO, os.fdatasync, fd1)
        fd2 = fs.open(path, os.O_RDWR)
        util.expect_errno(errno.EIO, os.fsync, fd2)
        util.expect_errno(errno.EIO, os.fdatasync, fd2)
        assert ffs.injected() == injected, "faultfs failed a sync while off"
        # close reports it on each descriptor (mmapfs_op_flush)
        closes_with(errno.EIO, fd2)
        fd2 = None
        util.expect_errno(errno.EIO, os.fsync, fd1)
    finally:
        ffs.fail_fsync(False)
        if fd2 is not None:
            closes_with(errno.EIO, fd2)
        closes_with(errno.EIO, fd1)
    wait_released(m, "f")
    fd = fs.open(path, os.O_RDWR)
    try:
        fs.fsync(fd)
        fs.fdatasync(fd)
        util.pwrite_all(fd, b"after", 0)
        fs.fsync(fd)
    finally:
        closes_with(0, fd)
    assert (ffs.src / "f").read_bytes()[:5] == b"after"
    assert_mount_alive(m)


def test_reader_close_reports_no_sticky_error(stack):
    """A read-only descriptor's close flushes nothing and reports nothing
    (the kernel sends no FLUSH for it: FOPEN_NOFLUSH); its reads see the
    data. The writer's fsync and close still report the error, and the
    reader's fsync too (every fsync syncs)."""
    m, ffs = stack
    path = m.mnt / "f"
    data = util.pattern(2 * PAGE)
    fd = fs.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    reader = None
    try:
        util.pwrite_all(fd, data, 0)
        ffs.fail_fsync(True)
        util.expect_errno(errno.EIO, os.fsync, fd)
        ffs.fail_fsync(False)
        reader = fs.open(path, os.O_RDONLY)
        assert util.pread_all(reader, len(data), 0) == data
        util.expect_errno(errno.EIO, os.fsync, reader)
        closes_with(0, reader)
        reader = None
        util.expect_errno(errno.EIO, os.fsync, fd)
    finally:
        ffs.fail_fsync(False)
        if reader is not None:
            closes_with(0, reader)
        closes_with(errno.EIO, fd)
    assert_mount_alive(m)


def test_stats_count_the_failed_syncs(stack):
    m, ffs = stack
    path = m.mnt / "f"
    fd = util.open_mapped(path)
    try:
        util.pwrite_all(fd, util.pattern(PAGE), 0)
        fs.fsync(fd)
        row = util.call(stats_row, m.mnt, "f")
        assert row is not None, ".stats/files has no row for an open file"
        assert row["flush_errors"] == "0"
        flushes = int(row["flushes"])
        assert stats_total(m.mnt, "flush_errors") == 0
        ffs.fail_fsync(True)
        util.expect_errno(errno.EIO, os.fsync, fd)
        util.expect_errno(errno.EIO, os.fdatasync, fd)
        ffs.fail_fsync(False)
        row = util.call(stats_row, m.mnt, "f")
        assert row["flush_errors"] == "2"
        assert stats_total(m.mnt, "flush_errors") == 2
        # a sync that works but reports the sticky error counts as a flush
        util.expect_errno(errno.EIO, os.fsync, fd)
        row = util.call(stats_row, m.mnt, "f")
        assert row["flush_errors"] == "2"
        assert int(row["flushes"]) == flushes + 1
        assert row["mapped"] == "yes", "faultfs files should be mappable"
    finally:
        ffs.fail_fsync(False)
        closes_with(errno.EIO, fd)
    wait_released(m, "f")
    # Totals are daemon-wide and only grow: the close lowers nothing, and
    # the closed file keeps its row with its errors.
    assert stats_total(m.mnt, "flush_errors") == 2
    assert util.call(stats_row, m.mnt, "f")["flush_errors"] == "2"
    assert_mount_alive(m)


def test_write_under_always_fails_with_eio(stack):
    m, ffs = stack
    name = "always-f"
    path = m.mnt / name
    data = util.pattern(2 * PAGE, seed=3)
    fd = fs.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, data, 0)
        ffs.fail_fsync(True)
        # inside the mapping: the write's msync(MS_SYNC) fails
        util.expect_errno(errno.EIO, os.pwrite, fd, b"inside", 10)
        assert ffs.injected() == 1
        # past the end: the pwrite fallback's fdatasync fails
        util.expect_errno(errno.EIO, os.pwrite, fd, b"append", 2 * PAGE)
        assert ffs.injected() == 2
        ffs.fail_fsync(False)
        # sticky: every write runs a policy flush, which reports it
        util.expect_errno(errno.EIO, os.pwrite, fd, b"later", 20)
        util.expect_errno(errno.EIO, os.fsync, fd)
        row = util.call(stats_row, m.mnt, name)
        assert row["policy"] == "always"
        assert int(row["flush_errors"]) >= 2
    finally:
        ffs.fail_fsync(False)
        closes_with(errno.EIO, fd)
    wait_released(m, name)
    fd = fs.open(path, os.O_RDWR)
    try:
        assert fs.pwrite(fd, b"works", 0) == 5
        fs.fsync(fd)
    finally:
        closes_with(0, fd)
    assert (ffs.src / name).read_bytes()[:5] == b"works"
    assert_mount_alive(m)



def test_failed_write_back_is_reported_by_fsync(stack):
    """The backing device fails WRITE instead: the daemon's stores into its
    mapping succeed, the kernel's write-back of those pages to the backing
    file fails, and the daemon's sync reports it (errseq) as EIO, sticky.
    An append goes around the mapping (pwrite), so it fails at once."""
    m, ffs = stack
    path = m.mnt / "f"
    fd = util.open_mapped(path)
    try:
        util.pwrite_all(fd, util.pattern(2 * PAGE), 0)
        fs.fsync(fd)
        ffs.fail("write", True)
        util.pwrite_all(fd, b"lost?", 100)
        util.expect_errno(errno.EIO, os.fsync, fd)
        assert ffs.injected() >= 1
        util.expect_errno(errno.EIO, os.pwrite, fd, b"tail", 2 * PAGE)
        ffs.fail("write", False)
        util.expect_errno(errno.EIO, os.fsync, fd)
    finally:
        ffs.all_off()
        closes_with(errno.EIO, fd)
    wait_released(m, "f")
    fd = fs.open(path, os.O_RDWR)
    try:
        util.pwrite_all(fd, b"again", 100)
        fs.fsync(fd)
    finally:
        closes_with(0, fd)
    assert (ffs.src / "f").read_bytes()[100:105] == b"again"
    assert_mount_alive(m)


def test_error_survives_eviction_of_the_mapping(faultfs, mount_factory):
    """max_mapped_files = 1: opening a second file would unmap the first
    (idle) one, but libmmapio forgets a sticky error with the file's last
    mapping, so a file with a sticky error stays mapped while its handle
    is open. (Before, the eviction's unmap returned the error, the daemon
    took that for "not unmapped" and used the freed mmapio_file.)"""
    m = mount_factory(config="[global]\nmax_mapped_files = 1\n",
                      backing=faultfs.mnt)
    ffs = faultfs
    fd_a = util.open_mapped(m.mnt / "a")
    fd_b = None
    try:
        util.pwrite_all(fd_a, util.pattern(PAGE), 0)
        ffs.fail_fsync(True)
        util.expect_errno(errno.EIO, os.fsync, fd_a)
        ffs.fail_fsync(False)
        fd_b = util.open_mapped(m.mnt / "b")
        util.pwrite_all(fd_b, b"b" * PAGE, 0)
        row = util.call(stats_row, m.mnt, "a")
        assert row is not None and row["mapped"] == "yes", row
        assert row["flush_errors"] == "1", row
        util.expect_errno(errno.EIO, os.fsync, fd_a)
        util.pwrite_all(fd_a, b"again", 0)
        util.expect_errno(errno.EIO, os.fsync, fd_a)
        fs.fsync(fd_b)
    finally:
        ffs.fail_fsync(False)
        if fd_b is not None:
            closes_with(0, fd_b)
        closes_with(errno.EIO, fd_a)
    syncs_again_after_release(m, "a")


def test_failed_flush_at_eviction_is_reported(faultfs, mount_factory):
    """max_mapped_files = 1, policy ms=60000: evicting the first file
    flushes its pending writes (the close rule) while the device fails;
    that failure reaches its open descriptor's fsync and close."""
    m = mount_factory(config="[global]\nmax_mapped_files = 1\n"
                      "flush = ms=60000\n", backing=faultfs.mnt)
    ffs = faultfs
    fd_a = util.open_mapped(m.mnt / "a")
    fd_b = None
    try:
        util.pwrite_all(fd_a, util.pattern(2 * PAGE), 0)
        fs.fsync(fd_a)
        util.pwrite_all(fd_a, b"pending", 10)
        ffs.fail_fsync(True)
        fd_b = util.open_mapped(m.mnt / "b")
        util.pwrite_all(fd_b, b"b" * PAGE, 0)
        row = util.call(stats_row, m.mnt, "a")
        assert row is not None and row["mapped"] == "no", row
        assert ffs.injected() == 1, "the eviction did not flush a"
        ffs.fail_fsync(False)
        util.expect_errno(errno.EIO, os.fsync, fd_a)
        fs.fsync(fd_b)
    finally:
        ffs.fail_fsync(False)
        if fd_b is not None:
            closes_with(0, fd_b)
        closes_with(errno.EIO, fd_a)
    syncs_again_after_release(m, "a")


def _ctl(mnt, verb, text):
    fd = os.open(mnt / ".ctl" / verb, os.O_WRONLY)
    try:
        return os.write(fd, text.encode())
    finally:
        os.close(fd)


def test_error_survives_ctl_evict(stack):
    """.ctl/evict unmaps a file whatever its state: the write of the
    command reports the sticky error, which the file keeps."""
    m, ffs = stack
    fd = fs.open(m.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, util.pattern(PAGE), 0)
        ffs.fail_fsync(True)
        util.expect_errno(errno.EIO, os.fsync, fd)
        ffs.fail_fsync(False)
        util.expect_errno(errno.EIO, _ctl, m.mnt, "evict", "f")
        row = util.call(stats_row, m.mnt, "f")
        assert row is not None and row["mapped"] == "no", row
        util.expect_errno(errno.EIO, os.fsync, fd)
    finally:
        ffs.fail_fsync(False)
        closes_with(errno.EIO, fd)
    syncs_again_after_release(m, "f")


# ---- a slow device stalls only the files on it -----------------------------

SLOW = 8          # seconds each FSYNC of the slow device takes
QUICK = 4         # what opening, writing and reading another file may take


def _slow_flush_started(ffs):
    return "faultfs: slow FSYNC" in ffs.log.read_text()


def _other_file_round_trip(mnt):
    """Opens, writes, reads back and closes mnt/other/old (made before) and
    creates mnt/other/new; returns the seconds it took. In a directory of
    its own: the kernel holds a directory's lock while a CREATE in it is
    answered, so an open stuck in the daemon would hold up its siblings
    whatever the daemon does."""
    t0 = time.monotonic()
    util.write_file(mnt / "other" / "old", b"quick" * 100)
    assert util.read_file(mnt / "other" / "old") == b"quick" * 100
    util.write_file(mnt / "other" / "new", b"new")
    return time.monotonic() - t0


def _make_other(mnt):
    fs.mkdir(mnt / "other")
    util.write_file(mnt / "other" / "old", b"before")


def test_slow_flush_on_reload_stalls_no_other_file(faultfs, mount_factory):
    """A reload that makes a file's policy `always` flushes its pending
    writes at once; on a slow device that takes SLOW seconds. Opens and
    reads of other files go on meanwhile (no lock of the daemon's is held
    across that flush: before, the open-list lock was, and every open
    waited for the disk)."""
    m = mount_factory(config="[global]\nflush = never\n\n"
                      "[match slow*]\nflush = bytes=1GiB\n",
                      backing=faultfs.mnt)
    _make_other(m.mnt)
    fd = fs.open(m.mnt / "slow.bin", os.O_RDWR | os.O_CREAT, 0o644)
    reloaded = []
    try:
        util.pwrite_all(fd, util.pattern(4 * PAGE), 0)
        faultfs.slow_fsync(SLOW)
        m.config_file.write_text("[global]\nflush = never\n\n"
                                 "[match slow*]\nflush = always\n")
        # In a thread of its own (util.call serves one call at a time);
        # join_all bounds it.
        t = util.spawn(lambda: reloaded.append(
            _ctl(m.mnt, "reload", "\n")))
        util.wait_until(lambda: _slow_flush_started(faultfs),
                        timeout=2 * SLOW, what="the reload's slow flush")
        took = _other_file_round_trip(m.mnt)
        assert took < QUICK, (f"another file took {took:.1f} s while a "
                              f"flush was stuck on the slow device")
        assert not reloaded, "the slow flush ended too early to tell"
        util.join_all([t], timeout=4 * SLOW)
        assert reloaded, "the reload did not return"
    finally:
        faultfs.slow_fsync(0)
        closes_with(0, fd)
    assert util.fs.getxattr(m.mnt / "slow.bin",
                            "user.mmapfs.policy") == b"always"


def test_slow_flush_at_eviction_stalls_no_other_file(faultfs,
                                                     mount_factory):
    """max_mapped_files = 1: the open of a second file evicts the first,
    whose pending writes its policy flushes first (the close rule); on a
    slow device that takes SLOW seconds, in the thread of that open. Other
    opens and reads go on meanwhile: the sweep flushes with no lock held
    and passes by the file it is flushing."""
    m = mount_factory(config="[global]\nmax_mapped_files = 1\n\n"
                      "[match slow*]\nflush = bytes=1GiB\n",
                      backing=faultfs.mnt)
    # The sweep's clock hand ends up on slow.bin: x is evicted (it is
    # the head of the open list when over the cap), and the hand moves
    # to the entry after it.
    _make_other(m.mnt)
    fd_a = util.open_mapped(m.mnt / "slow.bin")
    fd_x = fd_b = None
    opened = []
    try:
        fd_x = util.open_mapped(m.mnt / "x")
        util.pwrite_all(fd_a, util.pattern(4 * PAGE), 0)
        faultfs.slow_fsync(SLOW)
        # In a thread of its own (util.call serves one call at a time);
        # join_all bounds it.
        # b exists: its open maps it (util.open_mapped), which evicts.
        fs.close(fs.open(m.mnt / "b", os.O_WRONLY | os.O_CREAT, 0o644))
        t = util.spawn(lambda: opened.append(
            os.open(m.mnt / "b", os.O_RDWR)))
        util.wait_until(lambda: _slow_flush_started(faultfs),
                        timeout=2 * SLOW, what="the eviction's slow flush")
        took = _other_file_round_trip(m.mnt)
        assert took < QUICK, (f"another file took {took:.1f} s while an "
                              f"eviction's flush was stuck on the slow "
                              f"device")
        util.join_all([t], timeout=4 * SLOW)
        assert opened, "the open that evicted did not return"
        fd_b = opened[0]
        # The eviction's flush made slow.bin's writes durable; the sweep
        # then unmapped it or another idle file to honour the cap.
        row = util.call(stats_row, m.mnt, "slow.bin")
        assert row is not None and row["pending_bytes"] == "0", row
        mapped = [n for n in ("slow.bin", "b", "x")
                  if (util.call(stats_row, m.mnt, n) or {}).get("mapped")
                  == "yes"]
        assert len(mapped) <= 1, mapped
    finally:
        faultfs.slow_fsync(0)
        for fd in (fd_b, fd_x):
            if fd is not None:
                closes_with(0, fd)
        closes_with(0, fd_a)
