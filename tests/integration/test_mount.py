"""Command line, mount lifecycle and signals of the mmapfs daemon (docs/architecture.md).

Error cases run the daemon directly (no fixture mount) and check the exit
status, that a message names the problem, and that nothing got mounted.
"""

import errno
import os
import signal

import pytest

import conftest
import util
from util import expect_errno, fs


def run_daemon(daemon, *args, timeout=20):
    return util.run([str(daemon), *map(str, args)], timeout=timeout,
                    env=conftest.daemon_env())


def assert_refused(proc, mnt, *words):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"expected failure, got 0:\n{out}"
    assert not util.is_fuse_mounted(mnt), f"{mnt} got mounted"
    assert out.strip(), "no error message"
    low = out.lower()
    assert any(w.lower() in low for w in words), (
        f"message names none of {words}:\n{out}")
    assert not util.sanitizer_lines(out), out


def test_help(daemon):
    proc = run_daemon(daemon, "--help")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "config" in out and "allow_other" in out, out
    assert "usage" in out.lower(), out


def test_version(daemon):
    proc = run_daemon(daemon, "--version")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "0.1.0" in out, out


def test_missing_backing_dir(daemon, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = run_daemon(daemon, tmp_path / "nonexistent", mnt, "-f")
    assert_refused(proc, mnt, "nonexistent", "backing")


def test_backing_is_a_file(daemon, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    (tmp_path / "plain").write_bytes(b"x")
    proc = run_daemon(daemon, tmp_path / "plain", mnt, "-f")
    assert_refused(proc, mnt, "plain", "directory", "backing")


def test_missing_mountpoint(daemon, tmp_path):
    backing = tmp_path / "backing"
    backing.mkdir()
    proc = run_daemon(daemon, backing, tmp_path / "nomnt", "-f")
    assert_refused(proc, tmp_path / "nomnt", "nomnt", "mountpoint",
                   "mount point")


def test_unknown_option(daemon, tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    proc = run_daemon(daemon, backing, mnt, "-f", "-o", "no_such_option_xyz")
    assert_refused(proc, mnt, "no_such_option_xyz")


def test_unknown_flag(daemon, tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    proc = run_daemon(daemon, backing, mnt, "-f", "--no-such-flag")
    assert_refused(proc, mnt, "no-such-flag", "unknown", "invalid")


def test_missing_arguments(daemon, tmp_path):
    backing = tmp_path / "b"
    backing.mkdir()
    proc = run_daemon(daemon, backing, "-f")
    assert proc.returncode != 0
    assert (proc.stdout + proc.stderr).strip()


def test_missing_config_file(daemon, tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    proc = run_daemon(daemon, backing, mnt, "-f", "-o",
                      f"config={tmp_path}/absent.ini")
    assert_refused(proc, mnt, "absent.ini")


def test_generic_mount_options_accepted(mount_factory):
    m = mount_factory(opts=["rw", "defaults", "noatime", "nodev", "nosuid",
                            "exec", "auto", "nofail", "_netdev",
                            "x-systemd.automount"])
    util.write_file(m.mnt / "f", b"hello")
    assert util.read_file(m.backing / "f") == b"hello"


def test_debug_single_thread_and_log_level(mount_factory):
    """-d (FUSE debug output, implies -f), -s (one thread) and -o
    log_level are accepted and the mount works."""
    m = mount_factory(args=["-d", "-s"], opts=["log_level=debug"])
    util.write_file(m.mnt / "f", b"debug")
    assert util.read_file(m.mnt / "f") == b"debug"
    assert "LOOKUP" in m.log_text() or "lookup" in m.log_text()


def test_options_before_paths(mount_factory, tmp_path):
    m = mount_factory(start=False)
    m.argv = lambda: [str(conftest.DAEMON), "-f", "-o", "noatime",
                      str(m.backing), str(m.mnt)]
    m.start()
    util.write_file(m.mnt / "f", b"x")
    assert (m.backing / "f").read_bytes() == b"x"


def test_relative_paths(mount_factory, tmp_path):
    """Relative BACKING and MOUNTPOINT are resolved against the cwd."""
    m = mount_factory(start=False)
    m.argv = lambda: [str(conftest.DAEMON),
                      os.path.relpath(m.backing, conftest.REPO),
                      os.path.relpath(m.mnt, conftest.REPO), "-f"]
    m.start()
    util.write_file(m.mnt / "rel", b"relative")
    assert (m.backing / "rel").read_bytes() == b"relative"


def test_mount_shows_existing_files(mount_factory, tmp_path):
    backing = tmp_path / "pre"
    backing.mkdir()
    (backing / "a").write_bytes(b"alpha")
    (backing / "d").mkdir()
    (backing / "d" / "b").write_bytes(b"beta")
    m = mount_factory(backing=backing)
    assert sorted(fs.listdir(m.mnt)) == ["a", "d"]
    assert util.read_file(m.mnt / "d" / "b") == b"beta"


def test_mount_over_backing_dir(mount_factory, tmp_path):
    """mmapfs D D: the mount hides D but serves D's own files."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "old").write_bytes(b"before mount")
    m = mount_factory(backing=d, mnt=d)
    assert util.read_file(d / "old") == b"before mount"
    util.write_file(d / "new", b"written through the mount")
    fd = fs.open(d / "new", os.O_RDONLY)
    fs.fsync(fd)
    fs.close(fd)
    assert util.is_fuse_mounted(d)
    m.unmount()
    assert not util.is_fuse_mounted(d)
    assert (d / "new").read_bytes() == b"written through the mount"
    assert (d / "old").read_bytes() == b"before mount"


def test_remount_keeps_data(mount):
    util.write_file(mount.mnt / "persist", util.pattern(100000))
    mount.remount()
    assert util.read_file(mount.mnt / "persist") == util.pattern(100000)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero_and_flushes(mount_factory, sig):
    """SIGTERM/SIGINT: the daemon flushes, unmounts and exits 0."""
    m = mount_factory(config="[global]\nflush = bytes=1GiB\n")
    data = util.pattern(3 * util.PAGE + 123, seed=5)
    fd = fs.open(m.mnt / "f", os.O_WRONLY | os.O_CREAT, 0o644)
    util.pwrite_all(fd, data, 0)
    fs.close(fd)
    m.proc.send_signal(sig)
    assert m.wait_exit() == 0, m.log_tail()
    assert not util.is_fuse_mounted(m.mnt)
    assert (m.backing / "f").read_bytes() == data


def test_unmount_with_open_file_then_lazy(mount):
    """fusermount3 -u on a busy mount fails; -uz detaches, and the daemon
    exits 0 once the last file is closed."""
    fd = fs.open(mount.mnt / "busy", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.write(fd, b"busy")
        assert util.run(["fusermount3", "-u", str(mount.mnt)]).returncode != 0
        assert util.run(["fusermount3", "-uz", str(mount.mnt)]).returncode == 0
        assert fs.pread(fd, 4, 0) == b"busy"
    finally:
        fs.close(fd)
    assert mount.wait_exit() == 0
    assert (mount.backing / "busy").read_bytes() == b"busy"


def test_many_mounts_in_parallel(mount_factory):
    mounts = [mount_factory() for _ in range(3)]
    for i, m in enumerate(mounts):
        util.write_file(m.mnt / "id", str(i).encode())
    for i, m in enumerate(mounts):
        assert (m.backing / "id").read_bytes() == str(i).encode()


def test_read_only_mount(mount_factory):
    m = mount_factory(opts=["ro"], start=False)
    (m.backing / "f").write_bytes(b"ro data")
    m.start()
    assert util.read_file(m.mnt / "f") == b"ro data"
    expect_errno(errno.EROFS, os.open, m.mnt / "f", os.O_WRONLY)
    expect_errno(errno.EROFS, os.mkdir, m.mnt / "d")
    expect_errno(errno.EROFS, os.unlink, m.mnt / "f")


def test_check_config(daemon, tmp_path):
    good = tmp_path / "good.ini"
    good.write_text("[global]\nflush = bytes=4MiB,ms=500\n")
    bad = tmp_path / "bad.ini"
    bad.write_text("[global]\nflush = sometimes\n")
    ok = run_daemon(daemon, "--check-config", good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ko = run_daemon(daemon, "--check-config", bad)
    assert ko.returncode != 0
    assert f"{bad}:2" in ko.stdout + ko.stderr, ko.stdout + ko.stderr


def test_bad_config_refuses_mount(daemon, tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    cfg = tmp_path / "bad.ini"
    cfg.write_text("[global]\nno_such_key = 1\n")
    proc = run_daemon(daemon, backing, mnt, "-f", "-o", f"config={cfg}")
    assert_refused(proc, mnt, "no_such_key")
