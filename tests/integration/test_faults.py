"""Faults and limits (docs/durability.md, docs/architecture.md, tests/integration/README.md): the daemon killed (nothing that
reached the mapping is lost), auto_unmount, a full backing file system
(ENOSPC, never SIGBUS or EIO), the open-file limit, the mapped-file cap,
and running in the background.
"""

import errno
import os
import resource
import signal
import time

import pytest

import conftest
import util
from util import PAGE, fs

MiB = 1 << 20


def test_sigkill_loses_nothing_written(mount_factory):
    """A process crash of the daemon loses nothing that reached the mapping:
    it is the kernel's page cache of the backing file."""
    m = mount_factory(config="[global]\nflush = never\n")
    data = util.pattern(5 * PAGE + 7, seed=1)
    fd = fs.open(m.mnt / "f", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, data, 0)
    finally:
        fs.close(fd)
    m.expected_status = -signal.SIGKILL
    m.proc.kill()
    m.wait_exit()
    assert (m.backing / "f").read_bytes() == data
    # Over io_uring the kernel ends the connection only once it has torn
    # the dead daemon's rings down: a request in between fails with
    # ECONNABORTED (docs/operations.md, "Transport").
    expect = conftest.daemon_gone_errnos() | {errno.ENOENT}
    try:
        fs.stat(m.mnt / "f")
    except OSError as e:
        assert e.errno in expect, e


def test_auto_unmount_after_kill(mount_factory, mmapfs_summary):
    """-o auto_unmount: the mount goes away when the daemon is killed.

    fusermount3 (libfuse 3.14) unmounts only if a probe open of the
    mountpoint fails with ENOTCONN; when the probe is still queued as the
    dying daemon's /dev/fuse descriptors close, it fails with ECONNABORTED
    and fusermount3 leaves the mount (seen with the slower-exiting ASan
    daemon, about one kill in five).  So up to three mounts are killed and
    one clean auto-unmount proves the option works.

    transport=auto, as users mount it: with auto_unmount it chooses
    /dev/fuse, since over io_uring the probe meets ECONNABORTED nearly
    every time (the kernel tears the rings down after the daemon is gone)."""
    lost = 0
    for attempt in range(3):
        m = mount_factory(opts=["auto_unmount", "transport=auto"])
        util.write_file(m.mnt / "f", b"x")
        m.expected_status = -signal.SIGKILL
        m.proc.kill()
        m.wait_exit()
        deadline = time.monotonic() + 10
        while util.is_fuse_mounted(m.mnt) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not util.is_fuse_mounted(m.mnt):
            break
        lost += 1
    assert lost < 3, "auto_unmount left the mount after every kill"
    if lost:
        mmapfs_summary(f"auto_unmount: {lost} kill(s) lost fusermount3's "
                       f"ECONNABORTED race before one unmounted")


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs as backing directory, always unmounted afterwards."""
    d = tmp_path / "small"
    d.mkdir()
    proc = util.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755",
                     "tmpfs", str(d)])
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    yield d
    util.run(["umount", str(d)])
    if any(p == str(d) for p, _ in util.mounts()):
        util.run(["umount", "-l", str(d)])


def _fill(path, chunk):
    """Writes chunks until an error; returns (bytes written, errno)."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while written < 64 * MiB:
            try:
                written += os.write(fd, chunk)
            except OSError as e:
                return written, e.errno
        return written, 0
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def test_enospc_on_full_backing(small_tmpfs, mount_factory):
    m = mount_factory(backing=small_tmpfs)
    written, err = util.call(_fill, m.mnt / "big", b"z" * (64 * 1024))
    assert err == errno.ENOSPC, (
        f"filling the backing fs gave {errno.errorcode.get(err, err)} after "
        f"{written} bytes, expected ENOSPC")
    assert m.running()
    # what was acknowledged is there
    size = fs.stat(m.mnt / "big").st_size
    assert size >= written - 64 * 1024
    assert util.read_file(m.mnt / "big")[:written] == b"z" * written
    # space freed: writing works again.  The daemon may hold the unlinked
    # file until the kernel's FORGET arrives, so freeing is polled.
    fs.unlink(m.mnt / "big")

    def freed():
        st = os.statvfs(small_tmpfs)
        return st.f_bavail * st.f_frsize >= MiB
    util.wait_until(freed, 5, what="space of the unlinked file freed")
    util.write_file(m.mnt / "after", b"space again")
    assert (small_tmpfs / "after").read_bytes() == b"space again"


def test_enospc_writing_into_hole(small_tmpfs, mount_factory):
    """A write into a hole of a sparse file on a full fs is ENOSPC (the
    range is allocated before the copy), not EIO or a dead daemon."""
    m = mount_factory(backing=small_tmpfs)
    fd = fs.open(m.mnt / "sparse", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.ftruncate(fd, MiB + 8 * PAGE)
        assert os.stat(small_tmpfs / "sparse").st_blocks == 0, (
            "growing ftruncate allocated blocks: no hole left to test")
        util.call(_fill, small_tmpfs / "filler", b"f" * (64 * 1024))
        try:
            fs.pwrite(fd, b"x" * (8 * PAGE), MiB)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        else:
            pytest.fail("write into a hole on a full fs succeeded")
        assert m.running()
        assert fs.pread(fd, 8, MiB) == bytes(8)
    finally:
        fs.close(fd)
    assert m.running()


def test_rlimit_nofile_raised(mount):
    limits = (f"/proc/{mount.proc.pid}/limits")
    with open(limits) as f:
        row = next(line for line in f if line.startswith("Max open files"))
    soft, hard = row.split()[3:5]
    assert soft == hard, row


def test_many_open_files(mount):
    """More simultaneously open files than the default 1024 soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 3000
    if hard != resource.RLIM_INFINITY and hard < want + 100:
        pytest.skip(f"hard RLIMIT_NOFILE {hard} too small")
    resource.setrlimit(resource.RLIMIT_NOFILE, (want + 100, hard))
    fds = []
    try:
        def open_all():
            for i in range(want):
                fd = os.open(mount.mnt / f"f{i}", os.O_RDWR | os.O_CREAT,
                             0o644)
                fds.append(fd)
                os.pwrite(fd, f"{i}".encode(), 0)
        util.call(open_all, timeout=120)

        def check_all():
            return [i for i, fd in enumerate(fds)
                    if os.pread(fd, 10, 0) != f"{i}".encode()]
        assert util.call(check_all, timeout=120) == []
    finally:
        util.call(lambda: [os.close(fd) for fd in fds], timeout=120)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_mapped_file_cap_lru(mount_factory):
    """With a small max_mapped_files, files keep their data while their
    mappings are evicted and remapped round-robin."""
    m = mount_factory(config="[global]\nmax_mapped_files = 4\n")
    n = 24
    fds = [fs.open(m.mnt / f"f{i}", os.O_RDWR | os.O_CREAT, 0o644)
           for i in range(n)]
    try:
        for rnd in range(3):
            for i, fd in enumerate(fds):
                util.pwrite_all(fd, util.pattern(PAGE + i, seed=i + rnd),
                                rnd * PAGE)
        for i, fd in enumerate(fds):
            expected = b"".join(
                util.pattern(PAGE + i, seed=i + r)[:PAGE] for r in range(2)) \
                + util.pattern(PAGE + i, seed=i + 2)
            assert util.pread_all(fd, 4 * PAGE) == expected, i
    finally:
        for fd in fds:
            fs.close(fd)
    for i in range(n):
        assert (m.backing / f"f{i}").stat().st_size == 3 * PAGE + i


def background_env(tmp_path):
    """The daemon's environment for runs without -f: a daemon's stderr is
    /dev/null, so sanitizer reports go to files in tmp_path instead."""
    env = conftest.daemon_env()
    env["ASAN_OPTIONS"] += f":log_path={tmp_path}/asan"
    env["UBSAN_OPTIONS"] += f":log_path={tmp_path}/ubsan"
    return env


def assert_no_sanitizer_logs(tmp_path):
    for log in list(tmp_path.glob("asan.*")) + list(tmp_path.glob("ubsan.*")):
        bad = util.sanitizer_lines(log.read_text(errors="replace"))
        assert not bad, f"{log}:\n" + log.read_text(errors="replace")


def stop_background(mnt, unmount_argv, arg=None):
    """Unmounts a daemonized mount and waits for its daemon (found by its
    command line holding `arg`, by default the mountpoint: the test
    started it); kills it by pid when stuck.  Returns (pids seen, pids
    that had to be killed)."""
    arg = mnt if arg is None else arg
    pids = util.daemon_pids(conftest.DAEMON, arg)
    util.run(unmount_argv + [str(mnt)])
    deadline = time.monotonic() + conftest.EXIT_TIMEOUT
    while util.daemon_pids(conftest.DAEMON, arg) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    stuck = util.daemon_pids(conftest.DAEMON, arg)
    for pid in stuck:
        os.kill(pid, signal.SIGKILL)
    if util.is_fuse_mounted(mnt):
        util.run(["fusermount3", "-uz", str(mnt)])
    return pids, stuck


def test_background_mode(tmp_path):
    """Without -f the daemon forks, the parent exits 0 once mounted, and
    the child serves requests (its threads start after the fork)."""
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    cfg = tmp_path / "bg.ini"
    cfg.write_text("[global]\nflush = ms=50\n")
    proc = util.run([str(conftest.DAEMON), str(backing), str(mnt), "-o",
                     f"config={cfg}"], timeout=30, env=background_env(tmp_path))
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert util.is_fuse_mounted(mnt)
        util.write_file(mnt / "f", b"background")
        assert util.read_file(mnt / "f") == b"background"
        assert (backing / "f").read_bytes() == b"background"
    finally:
        pids, stuck = stop_background(mnt, ["fusermount3", "-u"])
    assert pids, "no background daemon process found"
    assert not stuck, f"background daemon {stuck} did not exit on unmount"
    assert_no_sanitizer_logs(tmp_path)


def test_background_mode_relative_paths(tmp_path):
    """Relative BACKING, MOUNTPOINT and config= are resolved before the
    daemon forks and leaves the working directory."""
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    backing, mnt = f"bg-backing-{tag}", f"bg-mnt-{tag}"
    (tmp_path / backing).mkdir()
    (tmp_path / mnt).mkdir()
    (tmp_path / "rel.ini").write_text("[global]\nflush = always\n")
    proc = util.run([str(conftest.DAEMON), backing, mnt, "-o",
                     "config=rel.ini"], timeout=30, cwd=tmp_path,
                    env=background_env(tmp_path))
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert util.is_fuse_mounted(tmp_path / mnt)
        util.write_file(tmp_path / mnt / "f", b"relative")
        assert (tmp_path / backing / "f").read_bytes() == b"relative"
        try:
            policy = fs.getxattr(tmp_path / mnt / "f", "user.mmapfs.policy")
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.ENOTSUP):
                raise
        else:
            assert policy == b"always", "relative config= not loaded"
    finally:
        pids, stuck = stop_background(tmp_path / mnt, ["fusermount3", "-u"],
                                      arg=mnt)
    assert pids, "no background daemon process found"
    assert not stuck, f"background daemon {stuck} did not exit on unmount"
    assert_no_sanitizer_logs(tmp_path)


def test_mount_8(tmp_path):
    """mount(8) through mount.fuse3, as from fstab: mount.fuse3 runs the
    daemon (named in the PROGRAM#SOURCE form, as the build is not in PATH)
    with mount(8)'s generic options in -o, and it daemonizes."""
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    cfg = tmp_path / "fstab.ini"
    cfg.write_text("[global]\nflush = never\n")
    proc = util.run(["mount", "-t", "fuse", "-o",
                     f"noatime,nodev,nosuid,config={cfg}",
                     f"{conftest.DAEMON}#{backing}", str(mnt)], timeout=30,
                    env=background_env(tmp_path))
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert util.is_fuse_mounted(mnt)
        util.write_file(mnt / "f", b"via mount(8)")
        assert (backing / "f").read_bytes() == b"via mount(8)"
    finally:
        pids, stuck = stop_background(mnt, ["umount"])
    assert pids, "no mmapfs process found"
    assert not stuck, f"mmapfs {stuck} did not exit on umount"
    assert_no_sanitizer_logs(tmp_path)
