"""The transports (issue 17): FUSE over io_uring and /dev/fuse.

  - transport = dev | io_uring | auto: the one in use shows in
    .stats/config and in metrics.prom's mmapfs_info;
  - io_uring refuses to mount without the kernel side, naming the module
    parameter; auto falls back to /dev/fuse with one log line saying why;
  - on each transport: data written and read back, clean unmount, unmount
    (lazy) while clients write, SIGTERM while clients write, SIGKILL while
    clients write: no hang, exit status as expected, and every
    acknowledged write in the backing file.

Tests that need the ring skip when the kernel has no FUSE over io_uring.
The refusal and fallback tests set /sys/module/fuse/parameters/enable_uring
to N for the time of one mount (root only) and restore it; connections that
already use the ring keep it (the kernel checks the parameter only when a
connection sets up its rings).
"""

import os
import re
import signal
import threading
from pathlib import Path

import pytest

import conftest
import util
from util import fs

ENABLE_URING = Path("/sys/module/fuse/parameters/enable_uring")
KiB = 1024
MiB = 1024 * KiB


def kernel_offers_ring():
    try:
        return ENABLE_URING.read_text().strip() == "Y"
    except OSError:
        return False


needs_ring = pytest.mark.skipif(
    not kernel_offers_ring(),
    reason="no FUSE over io_uring (enable_uring is not Y)")

TRANSPORTS = [
    "dev",
    pytest.param("io_uring", marks=needs_ring),
]


class uring_param:
    """Sets enable_uring for a with-block, restores it after."""

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        if os.geteuid() != 0 or not ENABLE_URING.exists():
            pytest.skip("needs root and a kernel with enable_uring")
        self.saved = ENABLE_URING.read_text().strip()
        ENABLE_URING.write_text(self.value)
        return self

    def __exit__(self, *exc):
        ENABLE_URING.write_text(self.saved)


def in_use(m):
    text = util.read_file(m.mnt / ".stats" / "config").decode()
    found = re.search(r"^; transport in use: (\S+)$", text, re.M)
    assert found, text
    return found.group(1)


def info_label(m):
    text = util.read_file(m.mnt / ".stats" / "metrics.prom").decode()
    found = re.search(r'^mmapfs_info\{[^}]*transport="([^"]+)"\} 1$', text,
                      re.M)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_transport_in_use_and_data(mount_factory, transport):
    m = mount_factory(opts=[f"transport={transport}", "log_level=info"])
    assert in_use(m) == transport
    assert info_label(m) == transport
    # Requests of every shape: a create, writes of a page and of more
    # than max_write (split by the kernel), reads, a listing, a rename.
    big = util.pattern(3 * MiB + 123, seed=17)
    util.write_file(m.mnt / "big", big)
    assert util.read_file(m.mnt / "big") == big
    assert (m.backing / "big").read_bytes() == big
    names = {f"f{i}" for i in range(50)}
    for name in names:
        util.write_file(m.mnt / name, name.encode())
    assert names <= set(os.listdir(m.mnt))
    fs.rename(m.mnt / "f1", m.mnt / "g1")
    assert util.read_file(m.mnt / "g1") == b"f1"
    if transport == "io_uring":
        assert re.search(r"transport: io_uring \(\d+ queues",
                         m.log_text()), m.log_tail()
    m.unmount()
    assert m.proc.returncode == 0


@needs_ring
def test_config_key_selects_ring(mount_factory):
    m = mount_factory(config="[global]\ntransport = io_uring\n")
    assert in_use(m) == "io_uring"


@needs_ring
def test_option_overrides_config(mount_factory):
    m = mount_factory(config="[global]\ntransport = io_uring\n",
                      opts=["transport=dev"])
    assert in_use(m) == "dev"


@needs_ring
def test_auto_takes_the_ring(mount_factory):
    m = mount_factory(opts=["transport=auto"])
    assert in_use(m) == "io_uring"


def test_io_uring_refused_without_kernel_side(daemon, tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    with uring_param("N"):
        proc = util.run([str(daemon), str(backing), str(mnt), "-f", "-o",
                         "transport=io_uring"], timeout=20,
                        env=conftest.daemon_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out
    assert not util.is_fuse_mounted(mnt)
    assert "enable_uring" in out and "nothing mounted" in out, out


def test_auto_falls_back_with_a_reason(mount_factory):
    with uring_param("N"):
        m = mount_factory(opts=["transport=auto"])
    assert in_use(m) == "dev"
    lines = [l for l in m.log_text().splitlines()
             if "transport: /dev/fuse" in l]
    assert len(lines) == 1, m.log_tail()
    assert "enable_uring" in lines[0], lines


@needs_ring
def test_auto_unmount_keeps_auto_on_dev(mount_factory):
    """auto with -o auto_unmount: /dev/fuse, with the reason logged (see
    test_faults.test_auto_unmount_after_kill); io_uring asked for
    explicitly is still granted."""
    m = mount_factory(opts=["transport=auto", "auto_unmount"])
    assert in_use(m) == "dev"
    assert "transport: /dev/fuse, because -o auto_unmount" in m.log_text()
    m2 = mount_factory(opts=["transport=io_uring", "auto_unmount"])
    assert in_use(m2) == "io_uring"


def test_bad_transport_refused(daemon, tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    proc = util.run([str(daemon), str(backing), str(mnt), "-f", "-o",
                     "transport=pipe"], timeout=20, env=conftest.daemon_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "transport" in out, out
    assert not util.is_fuse_mounted(mnt)


# ---- under load -------------------------------------------------------------

def _record(k, off, size):
    tag = f"<{k}:{off}>".encode()
    return (tag * (size // len(tag) + 1))[:size]


class Writers:
    """n threads appending verifiable records with pwrite until the mount
    goes away; .done[k] lists every (offset, count) whose write returned."""

    def __init__(self, mnt, n=4, size=16 * KiB + 7):
        self.size = size
        self.done = [[] for _ in range(n)]
        self.errors = []
        self.stop = threading.Event()
        self.threads = [util.spawn(self._write, mnt / f"w{k}", k)
                        for k in range(n)]

    def _write(self, path, k):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        except OSError as e:
            self.errors.append(e.errno)
            return
        off = 0
        try:
            while not self.stop.is_set() and off < 64 * MiB:
                try:
                    n = os.pwrite(fd, _record(k, off, self.size), off)
                except OSError as e:
                    self.errors.append(e.errno)
                    return
                self.done[k].append((off, n))
                off += n
        finally:
            try:
                os.close(fd)
            except OSError:
                pass

    def wait_started(self, nbytes=MiB):
        util.wait_until(lambda: all(sum(c for _, c in d) >= nbytes
                                    for d in self.done), 60,
                        what="every writer under way")

    def finish(self):
        self.stop.set()
        util.join_all(self.threads, timeout=60)

    def assert_acknowledged_in(self, backing):
        for k, done in enumerate(self.done):
            data = (backing / f"w{k}").read_bytes()
            for off, count in done:
                assert data[off:off + count] == \
                    _record(k, off, self.size)[:count], (k, off, count)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_lazy_unmount_during_load(mount_factory, transport):
    """fusermount3 -uz while 4 clients write: the writers keep their open
    files and finish, the daemon exits 0 once they close, and every
    acknowledged write is in the backing files."""
    m = mount_factory(opts=[f"transport={transport}"])
    w = Writers(m.mnt)
    w.wait_started()
    assert util.run(["fusermount3", "-uz", str(m.mnt)]).returncode == 0
    w.finish()
    assert m.wait_exit() == 0, m.log_tail()
    assert not w.errors, w.errors
    w.assert_acknowledged_in(m.backing)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sigterm_during_load(mount_factory, transport):
    """SIGTERM while 4 clients write: the daemon flushes, unmounts and
    exits 0 without hanging; writers see their writes succeed or fail with
    ENOTCONN/ECONNABORTED (ECANCELED over io_uring); acknowledged writes
    are in the backing files."""
    m = mount_factory(opts=[f"transport={transport}"],
                      config="[global]\nflush = bytes=1MiB\n")
    w = Writers(m.mnt)
    w.wait_started()
    m.proc.send_signal(signal.SIGTERM)
    assert m.wait_exit() == 0, m.log_tail()
    w.finish()
    assert set(w.errors) <= conftest.daemon_gone_errnos(transport), \
        w.errors
    assert not util.is_fuse_mounted(m.mnt)
    w.assert_acknowledged_in(m.backing)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sigkill_with_requests_in_flight(mount_factory, transport):
    """SIGKILL while 4 clients write: no client hangs (ENOTCONN or
    ECONNABORTED; over io_uring also ECANCELED), every acknowledged write is in the backing files, and
    a new daemon serves them."""
    m = mount_factory(opts=[f"transport={transport}"])
    w = Writers(m.mnt)
    w.wait_started()
    m.expected_status = -signal.SIGKILL
    m.proc.kill()
    m.wait_exit()
    w.finish()
    assert w.errors, "no writer was writing when the daemon died"
    assert set(w.errors) <= conftest.daemon_gone_errnos(transport), w.errors
    w.assert_acknowledged_in(m.backing)
    m.unmount()
    m.expected_status = 0
    m.start()
    assert in_use(m) == transport
    head = util.read_file(m.mnt / "w0")[:w.size]
    assert head == _record(0, 0, w.size)
