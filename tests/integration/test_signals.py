"""Signals and logging of the mmapfs daemon (docs/durability.md, docs/architecture.md, docs/configuration.md).

What is checked, in the foreground (the conftest fixture) and daemonized
(started without -f, as mount(8) does):
  - SIGTERM and SIGINT flush what the policies require, unmount and exit 0,
    also when the daemon inherited SIGINT/SIGHUP ignored (a background job
    of a non-interactive shell, nohup): main.c resets their dispositions;
  - SIGHUP reloads the config; a bad config is refused with one clear log
    line that names FILE:LINE, and the running config stays;
  - the log has no line per write at the default level (notice).

Durability is checked as far as a test can observe it: the pending counts
in .stats/ are non-zero before the signal (policy ms=60000, so the flusher
has not run), the daemon's exit line reports that it flushed them, and the
backing file holds every byte after the daemon is gone.

Daemonized runs: the test process makes itself a child subreaper for the
duration of the test, so the daemon (a grandchild after fuse_daemonize's
fork) is reparented to it and its exit status can be collected with
waitpid. Only the pid found by its command line is signalled; teardown
unmounts and kills that pid whatever happened.
"""

import ctypes
import os
import re
import signal
import time
from contextlib import contextmanager

import pytest

import conftest
import util
from util import fs

PENDING_POLICY = "[global]\nflush = ms=60000\n"
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def stat_value(mnt, name):
    return int(util.read_file(mnt / ".stats" / name).decode().strip())


def write_pending(mnt, names, size):
    """Writes size bytes to each name and leaves it open (the stats count
    open files; under ms=60000 the writes stay pending). Returns
    ({name: data}, [fd])."""
    written, fds = {}, []
    for i, name in enumerate(names):
        data = util.pattern(size + i, seed=i + 3)
        fd = fs.open(mnt / name, os.O_RDWR | os.O_CREAT, 0o644)
        fds.append(fd)
        util.pwrite_all(fd, data, 0)
        written[name] = data
    return written, fds


def close_all(fds):
    """Closes client descriptors; after the daemon exited their close
    fails with ENOTCONN, which is expected."""
    for fd in fds:
        try:
            fs.close(fd)
        except OSError:
            pass


def exit_line(log_text):
    m = re.search(r"exit: flushed (\d+) pending bytes of (\d+) open files",
                  log_text)
    assert m, f"no exit line in the log:\n{log_text}"
    return int(m.group(1)), int(m.group(2))


def log_lines_since(m, start):
    return m.log_text()[start:].splitlines()


def wait_for_log(m, start, needle, timeout=10.0):
    util.wait_until(lambda: needle in m.log_text()[start:], timeout=timeout,
                    what=f"'{needle}' in the daemon log")


@contextmanager
def inherited_ignored(*sigs):
    """Children started inside inherit sigs ignored, as a background job of
    a non-interactive shell inherits SIGINT (the test runs in the main
    thread, where Python allows signal())."""
    previous = [(s, signal.signal(s, signal.SIG_IGN)) for s in sigs]
    try:
        yield
    finally:
        for s, handler in previous:
            signal.signal(s, handler)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_flushes_pending_writes(mount_factory, sig):
    m = mount_factory(config=PENDING_POLICY)
    written, fds = write_pending(m.mnt, ["a", "b", "c"], 5 * util.PAGE + 7)
    try:
        pending = stat_value(m.mnt, "pending_bytes")
        assert pending == 3 * 6 * util.PAGE, "writes were flushed already"
        assert stat_value(m.mnt, "flushes") == 0
        m.proc.send_signal(sig)
        assert m.wait_exit() == 0, m.log_tail()
    finally:
        close_all(fds)
    assert not util.is_fuse_mounted(m.mnt)
    assert exit_line(m.log_text()) == (pending, 3)
    for name, data in written.items():
        assert (m.backing / name).read_bytes() == data, name


@pytest.mark.timeout(60)
def test_sigint_works_when_inherited_ignored(mount_factory):
    """The fs engineer's finding: libfuse installs its handlers only over
    SIG_DFL, so an inherited SIG_IGN used to make SIGINT do nothing."""
    with inherited_ignored(signal.SIGINT, signal.SIGHUP):
        m = mount_factory(config=PENDING_POLICY)
    written, fds = write_pending(m.mnt, ["f"], 3 * util.PAGE)
    close_all(fds)
    start = len(m.log_text())
    m.config_file.write_text("[global]\nflush = always\n")
    m.proc.send_signal(signal.SIGHUP)
    wait_for_log(m, start, "applied")
    assert fs.getxattr(m.mnt / "f", "user.mmapfs.policy") == b"always"
    assert m.running(), "SIGHUP ended the daemon"
    m.proc.send_signal(signal.SIGINT)
    assert m.wait_exit() == 0, m.log_tail()
    assert not util.is_fuse_mounted(m.mnt)
    assert (m.backing / "f").read_bytes() == written["f"]


@pytest.mark.timeout(60)
def test_sighup_reload_good_then_bad(mount_factory):
    m = mount_factory(config=PENDING_POLICY)
    util.write_file(m.mnt / "x.log", b"x")
    start = len(m.log_text())
    m.config_file.write_text("[global]\nflush = never\n"
                             "[match *.log]\nflush = writes=5\n")
    m.proc.send_signal(signal.SIGHUP)
    wait_for_log(m, start, "applied")
    assert fs.getxattr(m.mnt / "x.log", "user.mmapfs.policy") == b"writes=5"

    start = len(m.log_text())
    m.config_file.write_text("[global]\nflush = never\nflsh = always\n")
    m.proc.send_signal(signal.SIGHUP)
    wait_for_log(m, start, "flsh")
    time.sleep(0.2)
    errors = [line for line in log_lines_since(m, start)
              if "error" in line]
    assert len(errors) == 1, errors
    assert f"{m.config_file}:3" in errors[0], errors
    assert "flsh" in errors[0], errors
    # The running config stays, and .stats/config shows the error.
    assert fs.getxattr(m.mnt / "x.log", "user.mmapfs.policy") == b"writes=5"
    assert b"flsh" in util.read_file(m.mnt / ".stats" / "config")
    assert m.running()


@pytest.mark.timeout(90)
def test_no_log_line_per_write(mount_factory):
    """1000 writes at log_level=notice (with policy flushes on the way)
    add no line to the log."""
    m = mount_factory(config="[global]\nflush = writes=100\n",
                      opts=["log_level=notice"])
    wait_for_log(m, 0, "serving")
    before = m.log_text().splitlines()
    fd = fs.open(m.mnt / "many", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for i in range(1000):
            util.pwrite_all(fd, b"%04d\n" % i, 5 * i)
        assert stat_value(m.mnt, "flushes") >= 9
    finally:
        fs.close(fd)
    after = m.log_text().splitlines()
    assert after == before, after[len(before):][:20]


# ---- daemonized --------------------------------------------------------

@contextmanager
def subreaper():
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("prctl(PR_SET_CHILD_SUBREAPER) failed")
    try:
        yield
    finally:
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def reap(pid, timeout):
    """Waits for pid (reparented to us) to exit; returns its status as
    subprocess does (negative: killed by that signal), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    return None


def ignore_sigint_sighup():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemonized_reload_and_flush(tmp_path, sig):
    """Started without -f from a non-interactive shell (SIGINT and SIGHUP
    inherited ignored): threads start after the fork, SIGHUP reloads, and
    the signal flushes the pending writes and exits 0."""
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    cfg = tmp_path / "d.ini"
    cfg.write_text(PENDING_POLICY)
    env = conftest.daemon_env()
    env["ASAN_OPTIONS"] += f":log_path={tmp_path}/asan"
    env["UBSAN_OPTIONS"] += f":log_path={tmp_path}/ubsan"
    pid, fds = None, []
    with subreaper():
        try:
            proc = util.run([str(conftest.DAEMON), str(backing), str(mnt),
                             "-o", f"config={cfg}"], timeout=30, env=env,
                            preexec_fn=ignore_sigint_sighup)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert util.is_fuse_mounted(mnt)
            pids = util.daemon_pids(conftest.DAEMON, mnt)
            assert len(pids) == 1, pids
            pid = pids[0]

            written, fds = write_pending(mnt, ["d1", "d2"],
                                         4 * util.PAGE + 1)
            assert stat_value(mnt, "pending_bytes") == 2 * 5 * util.PAGE
            cfg.write_text(PENDING_POLICY + "[match d2]\nflush = always\n")
            os.kill(pid, signal.SIGHUP)
            util.wait_until(lambda: os.getxattr(
                mnt / "d2", "user.mmapfs.policy") == b"always",
                what="the reloaded policy")
            assert fs.getxattr(mnt / "d1", "user.mmapfs.policy") == \
                b"ms=60000"
            # d2 went durable when the reload made it `always`? No: a
            # policy change applies to later writes; d1 stays pending.
            assert stat_value(mnt, "pending_bytes") >= 5 * util.PAGE

            os.kill(pid, sig)
            status = reap(pid, conftest.EXIT_TIMEOUT)
            assert status == 0, f"daemon exit status {status}"
            pid = None
            assert not util.is_fuse_mounted(mnt)
            for name, data in written.items():
                assert (backing / name).read_bytes() == data, name
        finally:
            close_all(fds)
            if pid is not None:
                if util.is_fuse_mounted(mnt):
                    util.run(["fusermount3", "-uz", str(mnt)])
                if reap(pid, conftest.EXIT_TIMEOUT) is None:
                    os.kill(pid, signal.SIGKILL)
                    reap(pid, conftest.EXIT_TIMEOUT)
            if util.is_fuse_mounted(mnt):
                util.run(["fusermount3", "-uz", str(mnt)])
    for log in list(tmp_path.glob("asan.*")) + list(tmp_path.glob("ubsan.*")):
        assert not util.sanitizer_lines(log.read_text(errors="replace")), \
            log.read_text(errors="replace")
