"""Hardening against unprivileged users of a shared mount (issue 22): each
test reproduces one finding of an adversarial review and fails without its
fix.  The mount is made by root with -o allow_other; attacks run as other
users in child processes (util.run_as).  Where the right answer is "what a
local disk does", the test runs the same sequence on the backing directory
directly and compares.

  - test_terminal_tools_escape_control_bytes: mmapfsctl files / top print
    a hostile file name with every control byte escaped.
  - test_rename_whiteout_belongs_to_caller: RENAME_WHITEOUT leaves a
    whiteout owned by the caller, as natively.
  - test_config_fifo_refused_exit_not_wedged,
    test_empty_config_refused_on_reload_and_at_mount: a FIFO in the
    config's place is refused at once and SIGTERM still ends the daemon;
    a zero-byte config is refused, with a message that says so.
  - test_small_nofile_limit_serves_many_files,
    test_nofile_limit_below_minimum_refused: a daemon that cannot raise
    RLIMIT_NOFILE (no CAP_SYS_RESOURCE, hard limit 200) still stats, reads
    and creates 400 files; below the minimum it refuses to start.
"""

import errno
import os
import signal
import stat
import subprocess
import time

import pytest

import conftest
import util
from util import fs
from test_config import reload_ctl, reload_sighup, start_unchecked, \
    wait_config

ALICE = (1000, 1000)
BOB = (1001, 1001)
STAFF = 2000



@pytest.fixture
def shared(mount_factory):
    m = mount_factory(opts=["allow_other"], world=True)
    fs.chmod(m.mnt, 0o777)
    return m


def as_alice(code, groups=()):
    return util.run_as(*ALICE, code, groups=groups)


# ---- 6: terminal injection through file names ---------------------------

HOSTILE = "esc\x1b]0;owned\x07\x1b[2J\r!"
HOSTILE_SHOWN = "esc\\x1b]0;owned\\x07\\x1b[2J\\x0d!"


def test_terminal_tools_escape_control_bytes(shared):
    from test_control import mmapfsctl
    path = str(shared.mnt / HOSTILE)
    assert as_alice(f"create({path!r}, 0o644, b'x'); result = 'ok'") == "ok"
    fd = fs.open(path, os.O_RDWR)
    try:
        util.pwrite_all(fd, b"hello", 0)
        files = mmapfsctl("files", shared.mnt)
        assert files.returncode == 0, files.stderr
        top = mmapfsctl("top", "-n", "1", shared.mnt)
        assert top.returncode == 0, top.stderr
    finally:
        fs.close(fd)
    assert HOSTILE_SHOWN in files.stdout, files.stdout
    # files: TSV, so tab and newline are the only control bytes left.
    assert not [c for c in files.stdout if ord(c) < 0x20 and c not in "\t\n"]
    # top cuts the path to the terminal's width (80 columns here).
    assert "esc\\x1b]0;owned\\x07" in top.stdout, top.stdout
    for raw in ("\x1b]0;owned", "\x07"):
        assert raw not in top.stdout


# ---- 7: RENAME_WHITEOUT -------------------------------------------------

RENAME_WHITEOUT = 4

WHITEOUT_AS_USER = r"""
import ctypes, ctypes.util
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
def whiteout(d):
    create(d + "/a", 0o644, b"x")
    if libc.renameat2(-100, (d + "/a").encode(), -100, (d + "/b").encode(),
                      4) < 0:
        return errno.errorcode[ctypes.get_errno()]
    st = os.lstat(d + "/a")
    owner = [st.st_uid, st.st_gid, stat.S_ISCHR(st.st_mode), st.st_rdev]
    return [owner, E(os.unlink, d + "/a")]
result = [whiteout(NATIVE), whiteout(MOUNTED)]
"""


def test_rename_whiteout_belongs_to_caller(shared):
    """In a sticky 1777 directory, a user's RENAME_WHITEOUT leaves a
    whiteout (c 0,0) that the user owns and may remove, as on ext4."""
    for d in ("native", "mounted"):
        os.mkdir(shared.backing / d)
        os.chmod(shared.backing / d, 0o1777)
    code = (f"NATIVE = {str(shared.backing / 'native')!r}\n"
            f"MOUNTED = {str(shared.mnt / 'mounted')!r}\n" + WHITEOUT_AS_USER)
    native, mounted = as_alice(code)
    assert native == [[*ALICE, True, 0], "OK"], native
    assert mounted == native


# ---- 3: the config file: FIFO, empty ------------------------------------

ALWAYS = "[global]\nflush = always\n"


def test_config_fifo_refused_exit_not_wedged(mount_factory):
    """rm conf; mkfifo conf; kill -HUP: the reload is refused at once
    (nothing blocks on the FIFO), the mount keeps serving, .ctl/reload
    fails fast, and SIGTERM ends the daemon with status 0."""
    m = mount_factory(config=ALWAYS)
    util.write_file(m.mnt / "x", b"data")
    m.config_file.unlink()
    os.mkfifo(m.config_file)
    reload_sighup(m)
    text = wait_config(m, "not a regular file (a FIFO)")
    assert "flush = always" in text
    start = time.monotonic()
    err = reload_ctl(m)
    assert err is not None and err.errno == errno.EINVAL, err
    assert time.monotonic() - start < 5
    assert util.read_file(m.mnt / "x") == b"data"
    log = m.log_text()
    assert "not a regular file (a FIFO)" in log, log
    m.proc.send_signal(signal.SIGTERM)
    assert m.wait_exit(timeout=15) == 0
    assert not util.is_fuse_mounted(m.mnt)


def test_empty_config_refused_on_reload_and_at_mount(mount_factory):
    """A zero-byte config (an editor caught between truncating and
    writing) would drop every policy to the default: refused on reload
    (the running config stays) and at mount, saying why."""
    m = mount_factory(config=ALWAYS)
    m.config_file.write_bytes(b"")
    err = reload_ctl(m)
    assert err is not None and err.errno == errno.EINVAL, err
    text = wait_config(m, "empty file (0 bytes)")
    assert "flush = always" in text
    m.unmount()

    m2 = mount_factory(config="", start=False)
    start_unchecked(m2)
    try:
        status = m2.proc.wait(conftest.MOUNT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("the daemon mounted with an empty config")
    m2.reaped = True
    m2.expected_status = status
    assert status != 0
    assert not util.is_fuse_mounted(m2.mnt)
    assert "empty file (0 bytes): refused" in m2.log_text()


# ---- 5: a small RLIMIT_NOFILE -------------------------------------------

def start_limited(m, nofile):
    """Starts m's daemon with RLIMIT_NOFILE nofile:nofile and without
    CAP_SYS_RESOURCE, so it cannot raise the limit."""
    argv = ["setpriv", "--bounding-set", "-sys_resource", "--inh-caps",
            "-sys_resource", "prlimit", f"--nofile={nofile}:{nofile}",
            *m.argv()]
    with open(m.log, "a") as log:
        log.write(f"=== {' '.join(argv)}\n")
        log.flush()
        m.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  env=conftest.daemon_env(),
                                  cwd=conftest.REPO, start_new_session=True)


def test_small_nofile_limit_serves_many_files(mount_factory):
    m = mount_factory(start=False)
    for i in range(400):
        (m.backing / f"f{i}").write_bytes(b"%d" % i)
    start_limited(m, 200)
    m._wait_for_mount()

    def stat_all():
        failed = []
        for i in range(400):
            try:
                os.stat(m.mnt / f"f{i}")
            except OSError as e:
                failed.append((i, e.errno))
        return failed
    assert util.call(stat_all, timeout=120) == []
    for i in (0, 199, 399):
        assert util.read_file(m.mnt / f"f{i}") == b"%d" % i
    util.write_file(m.mnt / "new", b"new")
    assert (m.backing / "new").read_bytes() == b"new"
    assert util.call(stat_all, timeout=120) == []


def test_nofile_limit_below_minimum_refused(mount_factory):
    m = mount_factory(start=False)
    start_limited(m, 64)
    try:
        status = m.proc.wait(conftest.MOUNT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("the daemon started with RLIMIT_NOFILE 64")
    m.reaped = True
    m.expected_status = status
    assert status == 1
    assert not util.is_fuse_mounted(m.mnt)
    assert "RLIMIT_NOFILE is 64 and cannot be raised" in m.log_text()
