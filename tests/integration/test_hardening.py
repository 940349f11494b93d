"""Hardening against unprivileged users of a shared mount (issue 22): each
test reproduces one finding of an adversarial review and fails without its
fix.  The mount is made by root with -o allow_other; attacks run as other
users in child processes (util.run_as).  Where the right answer is "what a
local disk does", the test runs the same sequence on the backing directory
directly and compares.

  - test_setid_bits_dropped_as_natively[...]: every data-changing call
    (write, truncate, O_TRUNC, fallocate in each mode, copy_file_range) by
    a group member on a 4775/2775/6775/2765/6765 root-owned file with a
    security.capability drops what ext4 drops; root keeps them as on ext4;
    with outside_changes = notice and = ignore.
  - test_huge_files_cannot_exhaust_address_space,
    test_write_past_unmappable_end_reads_back,
    test_file_larger_than_mapped_bytes_cap: a write acknowledged through
    the mount is read back, whether the daemon's address space is full
    (an RLIMIT_AS), taken by a user's 8 TiB files, or the file outgrew
    max_mapped_bytes; the log never calls the daemon's own growth a
    change from outside.
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
  - test_lock_budget_released_on_truncate, test_lock_same_range_charged_
    once, test_lock_released_when_unlinked_and_closed: .ctl/lock charges
    max_locked_bytes once per locked page of a file, and gives the pages
    back on truncate and when a locked file is unlinked and closed.
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
# The users, their group and the shared mount of the multi-user tests.
from test_users import ALICE, STAFF, as_alice, shared  # noqa: F401


# ---- 1: set-ID bits and capabilities under killpriv_v2 ------------------

SETID_MODES = (0o4775, 0o2775, 0o6775, 0o2765, 0o6765)
SETID_OPS = ("write", "truncate", "o_trunc", "fallocate", "fallocate_keep",
             "punch_hole", "zero_range", "copy_file_range")
# A version 2 file capability: cap_net_bind_service, permitted+effective.
CAPABILITY = bytes.fromhex("0100000200040000000000000000000000000000")

SETID_AS_CALLER = r"""
import ctypes, ctypes.util
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]
MODES = {"fallocate": 0, "fallocate_keep": 1, "punch_hole": 3,
         "zero_range": 0x10}
def act(path, op, src):
    if op == "truncate":
        os.truncate(path, 100)
        return
    fd = os.open(path, os.O_WRONLY | (os.O_TRUNC if op == "o_trunc" else 0))
    try:
        if op == "write":
            os.pwrite(fd, b"x", 0)
        elif op in MODES:
            if libc.fallocate(fd, MODES[op], 0, 1 << 16) < 0:
                raise OSError(ctypes.get_errno(), op)
        elif op == "copy_file_range":
            s = os.open(src, os.O_RDONLY)
            try:
                assert os.copy_file_range(s, fd, 4) == 4
            finally:
                os.close(s)
    finally:
        os.close(fd)
result = {}
for d, names in JOBS.items():
    for name, op in names:
        result[d + "/" + name] = R(act, d + "/" + name, op, d + "/src")
"""


def setid_prepare(d):
    """Root-owned files of group STAFF, one per (mode, op), each with a
    security.capability; returns {dir: [(name, op)]} for the caller."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    with open("/bin/true", "rb") as f:
        exe = f.read()
    util.write_file(os.path.join(d, "src"), b"data")
    fs.chmod(os.path.join(d, "src"), 0o644)
    jobs = []
    for mode in SETID_MODES:
        for op in SETID_OPS:
            name = f"{op}-{mode:o}"
            path = os.path.join(d, name)
            util.write_file(path, exe)
            fs.chown(path, 0, STAFF)
            fs.chmod(path, mode)
            fs.setxattr(path, "security.capability", CAPABILITY)
            jobs.append((name, op))
    return jobs


def setid_outcome(path):
    st = fs.stat(path)
    try:
        fs.getxattr(path, "security.capability")
        cap = True
    except OSError:
        cap = False
    return (oct(stat.S_IMODE(st.st_mode)), cap)


@pytest.fixture(params=["notice", "ignore"])
def shared_any(request, mount_factory):
    """The shared mount, with either outside_changes setting: without the
    outside-change bracket the daemon must still drop what it owes."""
    m = mount_factory(opts=["allow_other",
                            f"outside_changes={request.param}"], world=True)
    fs.chmod(m.mnt, 0o777)
    return m


@pytest.mark.parametrize("caller", ["member", "root"])
def test_setid_bits_dropped_as_natively(shared_any, caller):
    """cp /bin/true f; chown root:grp f; chmod 4775 f; a member of grp
    changes f's data: ext4 drops set-user-ID, set-group-ID when group-
    executable, and security.capability; the mount must do the same
    (under killpriv_v2 that is the daemon's job). Root (CAP_FSETID)
    keeps the set-ID bits on ext4, and so through the mount."""
    shared = shared_any
    native = str(shared.backing / "native")
    mounted = str(shared.mnt / "mounted")
    jobs = {native: setid_prepare(native), mounted: setid_prepare(mounted)}
    code = f"JOBS = {jobs!r}\n" + SETID_AS_CALLER
    if caller == "member":
        done = as_alice(code, groups=[STAFF])
    else:
        done = util.call(util.in_child, exec_snippet, code, timeout=60)
    assert set(done.values()) == {None}, done
    differ = {}
    for name, _ in jobs[native]:
        want = setid_outcome(os.path.join(native, name))
        got = setid_outcome(os.path.join(mounted, name))
        if got != want:
            differ[name] = f"ext4 {want}, mount {got}"
    assert not differ, "\n".join(f"{k}: {v}" for k, v in
                                  sorted(differ.items()))
    # The comparison means something: ext4 did drop the bits.
    if caller == "member":
        assert setid_outcome(os.path.join(native, "write-4775")) == \
            ("0o775", False)
    else:
        assert setid_outcome(os.path.join(native, "write-4775")) == \
            ("0o4775", False)


def exec_snippet(code):
    """Runs a run_as-style snippet in this (root) process's child."""
    scope = {}
    exec(util._AS_USER_PRELUDE + code, scope)
    return scope["result"]


# ---- 2: address space ---------------------------------------------------

TIB = 1 << 40
OUTSIDE_MSG = "cannot follow a size change from outside"


def write_and_read_far(m, name, offset):
    """pwrite 'DATA' at offset into a new file; returns (pwrite result,
    fstat size, pread at offset on the same descriptor, pread after a
    reopen)."""
    path = str(m.mnt / name)

    def go():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            n = os.pwrite(fd, b"DATA", offset)
            size = os.fstat(fd).st_size
            same = os.pread(fd, 4, offset)
        finally:
            os.close(fd)
        fd = os.open(path, os.O_RDONLY)
        try:
            again = os.pread(fd, 4, offset)
        finally:
            os.close(fd)
        return n, size, same, again
    return util.call(go, timeout=120)


def sanitized(daemon):
    out = util.run(["ldd", str(daemon)]).stdout
    return "libasan" in out or "libtsan" in out


def test_huge_files_cannot_exhaust_address_space(mount_factory):
    """One user holds 15 files of 8 TiB open (120 TiB of the 128 TiB a
    process has on x86-64); a write at 4 TiB of another file must read
    back: the mapped-bytes cap (half the address space by default) keeps
    the daemon from mapping them all."""
    m = mount_factory()
    fds = []
    try:
        for i in range(15):
            fd = fs.open(m.mnt / f"huge{i}", os.O_RDWR | os.O_CREAT, 0o644)
            fds.append(fd)
            fs.ftruncate(fd, 8 * TIB)
            util.pwrite_all(fd, b"h", 8 * TIB - 1)
        n, size, same, again = write_and_read_far(m, "far", 4 * TIB)
        assert (n, size) == (4, 4 * TIB + 4)
        assert same == b"DATA"
        assert again == b"DATA"
        for fd in fds:
            assert util.pread_all(fd, 1, 8 * TIB - 1) == b"h"
    finally:
        for fd in fds:
            fs.close(fd)
    assert OUTSIDE_MSG not in m.log_text()
    assert "error creating thread" not in m.log_text()


def test_write_past_unmappable_end_reads_back(mount_factory, daemon):
    """The daemon's address space is full (RLIMIT_AS 3 GiB, no cap of
    its own): the mapping cannot grow to 4 TiB, so the file is served
    around it; pwrite's 4 bytes are read back at once."""
    if sanitized(daemon):
        pytest.skip("sanitizer runtimes need more address space than "
                    "RLIMIT_AS allows")
    m = mount_factory(config="[global]\nmax_mapped_bytes = 1048576G\n",
                      start=False)
    argv = ["prlimit", f"--as={3 << 30}", *m.argv()]
    with open(m.log, "a") as log:
        m.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  env=conftest.daemon_env(),
                                  cwd=conftest.REPO, start_new_session=True)
    m._wait_for_mount()
    n, size, same, again = write_and_read_far(m, "far", 4 * TIB)
    assert (n, size) == (4, 4 * TIB + 4)
    assert same == b"DATA"
    assert again == b"DATA"
    # Later writes and reads, below and above the old end, still agree.
    path = str(m.mnt / "far")
    fd = fs.open(path, os.O_RDWR)
    try:
        util.pwrite_all(fd, b"low", 0)
        util.pwrite_all(fd, b"high", 4 * TIB + 4)
        assert util.pread_all(fd, 3, 0) == b"low"
        assert util.pread_all(fd, 8, 4 * TIB) == b"DATAhigh"
        fs.ftruncate(fd, 4 * TIB + 2)
        assert fs.fstat(fd).st_size == 4 * TIB + 2
        assert util.pread_all(fd, 8, 4 * TIB) == b"DA"
    finally:
        fs.close(fd)
    with open(m.backing / "far", "rb") as f:
        f.seek(4 * TIB)
        assert f.read() == b"DA"
    assert OUTSIDE_MSG not in m.log_text()


def test_file_larger_than_mapped_bytes_cap(mount_factory):
    """A file grown past max_mapped_bytes is served by pread/pwrite: no
    more address space than the cap, data intact."""
    m = mount_factory(config="[global]\nmax_mapped_bytes = 64M\n")
    n, size, same, again = write_and_read_far(m, "big", 1 << 30)
    assert (n, size, same, again) == (4, (1 << 30) + 4, b"DATA", b"DATA")
    fd = fs.open(m.mnt / "big", os.O_RDWR)
    try:
        util.pwrite_all(fd, b"more", 100)
        assert util.pread_all(fd, 4, 100) == b"more"
        rows = util.stats_rows(m.mnt)
        assert rows["big"]["mapped"] == "no"
    finally:
        fs.close(fd)
    assert OUTSIDE_MSG not in m.log_text()


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


# ---- 4: the .ctl/lock budget --------------------------------------------

MIB = 1 << 20


def ctl(mnt, verb, text):
    from test_control_daemon import ctl as ctl_write
    return ctl_write(mnt, verb, text)


def vmlck_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    raise AssertionError("no VmLck")


def assert_locked_kib(m, kib):
    """The daemon's VmLck, where mlock is real (AddressSanitizer's mlock
    does nothing)."""
    if not sanitized(conftest.DAEMON):
        assert vmlck_kib(m.proc.pid) == kib


def locks_mount(mount_factory):
    m = mount_factory(config="[global]\nmax_locked_bytes = 4MiB\n")
    for name, size in (("a", 2 * MIB), ("b", 3 * MIB), ("c", 1 * MIB),
                       ("d", 4 * MIB)):
        util.write_file(m.mnt / name, b"x" * size)
    return m


def test_lock_budget_released_on_truncate(mount_factory):
    """Locked, then truncated to 0: the 2 MiB are given back (the unlock
    that follows is a no-op) and a 3 MiB lock fits in the 4 MiB."""
    m = locks_mount(mount_factory)
    assert ctl(m.mnt, "lock", "a\n") is None
    assert_locked_kib(m, 2048)
    fs.truncate(m.mnt / "a", 0)
    assert ctl(m.mnt, "unlock", "a\n") is None
    assert ctl(m.mnt, "lock", "b\n") is None
    assert_locked_kib(m, 3072)
    assert ctl(m.mnt, "unlock", "b\n") is None
    assert_locked_kib(m, 0)


def test_lock_same_range_charged_once(mount_factory):
    m = locks_mount(mount_factory)
    for _ in range(3):
        assert ctl(m.mnt, "lock", "c\n") is None
    assert ctl(m.mnt, "lock", "b\n") is None          # 1 + 3 MiB of 4
    assert_locked_kib(m, 4096)
    assert ctl(m.mnt, "unlock", "b\n") is None
    assert ctl(m.mnt, "unlock", "c\n") is None
    assert_locked_kib(m, 0)


def test_lock_released_when_unlinked_and_closed(mount_factory):
    """Locked, then unlinked: while open it stays locked; once closed
    nobody can name it to unlock it, so its pages are given back when the
    kernel forgets the file."""
    m = locks_mount(mount_factory)
    fd = fs.open(m.mnt / "d", os.O_RDONLY)
    assert ctl(m.mnt, "lock", "d\n") is None
    assert_locked_kib(m, 4096)
    fs.unlink(m.mnt / "d")
    assert_locked_kib(m, 4096)
    assert ctl(m.mnt, "lock", "b\n") == errno.ENOMEM
    fs.close(fd)
    def lock_b():      # runs in util's worker already: plain I/O
        fd = os.open(m.mnt / ".ctl" / "lock", os.O_WRONLY)
        try:
            os.write(fd, b"b\n")
            return True
        except OSError as e:
            assert e.errno == errno.ENOMEM, e
            return False
        finally:
            os.close(fd)
    util.wait_until(lock_b, timeout=10,
                    what="the unlinked file's pages given back")
    assert_locked_kib(m, 3072)
    assert ctl(m.mnt, "unlock", "b\n") is None
    assert_locked_kib(m, 0)


def test_partly_locked_file_grows(mount_factory):
    """A lock of part of a file splits the daemon's mapping of it in two
    (mremap then refuses to grow or move it across the split with EFAULT:
    ftruncate failed with 'Bad address'); the file still grows by
    ftruncate and by writes past its end, reads back whole, and keeps its
    locked pages locked."""
    m = locks_mount(mount_factory)
    path = m.mnt / "c"
    assert ctl(m.mnt, "lock", "c 0 65536\n") is None
    assert_locked_kib(m, 64)
    fd = fs.open(path, os.O_RDWR)
    try:
        for size in (3 * MIB, 16 * MIB, 40 * MIB):
            fs.ftruncate(fd, size)
            util.pwrite_all(fd, b"end", size - 3)
            assert util.pread_all(fd, 3, size - 3) == b"end"
        util.pwrite_all(fd, b"tail", 40 * MIB)
        assert util.pread_all(fd, 4, 0) == b"xxxx"
        assert util.pread_all(fd, 4, 40 * MIB) == b"tail"
    finally:
        fs.close(fd)
    assert_locked_kib(m, 64)
    assert ctl(m.mnt, "unlock", "c\n") is None
    assert_locked_kib(m, 0)
    assert m.running()
