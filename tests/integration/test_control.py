"""Integration tests of the control and stats files (docs/control.md) and
of mmapfsctl.

Two groups:
  - tests against the real daemon (fixtures `cmount`, `cmount_factory`):
    every `.ctl/` command, every `.stats/` file, the user.mmapfs.* xattrs,
    hostile input (NUL bytes, huge numbers, "..", absolute paths, symlinks
    out of the tree, writes at non-zero offsets, concurrent writers), who
    may control, renamed control directories, and mmapfsctl including `top`
    driven in a pseudo-terminal.  They skip, saying so, while the daemon
    does not serve `.stats/version` yet.
  - client tests of mmapfsctl that need no daemon (fixture `fake`): a
    bindfs (FUSE) mount of a directory holding fake `.stats/` and `.ctl/`
    files, so mount discovery, path escaping, error messages and `top`
    (frames, rates, quitting, terminal restored) are checked against files
    whose content the test controls.

Every mount is unmounted in its fixture's teardown, also on failure; every
client operation has a deadline (util).
"""

import errno
import fcntl
import os
import pty
import select
import shutil
import subprocess
import termios
import threading
import time
from pathlib import Path

import pytest

import util
from conftest import BUILD, REPO

CTL = REPO / BUILD / "src" / "tools" / "mmapfsctl"
PAGE = util.PAGE
VERBS = ("prefetch", "advise", "flush", "lock", "unlock", "evict", "policy",
         "reload")
TOTALS = ("pending_bytes", "pending_writes", "flushes", "flush_errors")
STATS = TOTALS + ("files", "config", "metrics.prom", "version")
FILES_HEADER = ("path\tsize\tmapped\tmode\tpolicy\tpending_bytes\t"
                "pending_writes\tflushes\tflush_errors\tlast_flush_age_ms")


# ---- helpers --------------------------------------------------------------

def _ctl_write(path, data, offset):
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def _bytes(text):
    return text.encode() if isinstance(text, str) else text


def ctl_ok(mnt, verb, text, offset=0, ctl_dir=".ctl"):
    """Writes one command to mnt/.ctl/verb and expects success."""
    data = _bytes(text)
    n = util.call(_ctl_write, str(Path(mnt) / ctl_dir / verb), data, offset)
    assert n == len(data), f"{verb} {text!r}: wrote {n} of {len(data)}"


def ctl_err(code, mnt, verb, text, offset=0):
    """Writes one command and expects it to fail with errno code."""
    util.expect_errno(code, _ctl_write, str(Path(mnt) / ".ctl" / verb),
                      _bytes(text), offset)


def stats(mnt, name, stats_dir=".stats"):
    return util.read_file(str(Path(mnt) / stats_dir / name)).decode()


def unescape_tsv(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            out.append({"t": "\t", "n": "\n", "\\": "\\"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def files_rows(mnt):
    """.stats/files as {path: {column: text}} (paths unescaped)."""
    lines = stats(mnt, "files").split("\n")
    assert lines[0] == FILES_HEADER
    assert lines[-1] == ""
    cols = FILES_HEADER.split("\t")
    rows = {}
    for line in lines[1:-1]:
        fields = line.split("\t")
        assert len(fields) == len(cols), line
        row = dict(zip(cols, fields))
        rows[unescape_tsv(row["path"])] = row
    return rows


def total(mnt, name):
    text = stats(mnt, name)
    assert text.endswith("\n") and text[:-1].isdigit(), repr(text)
    return int(text)


def mmapfsctl(*args, timeout=None, **kw):
    return util.run([str(CTL), *map(str, args)], timeout=timeout, **kw)


def xattr(path, name):
    return util.call(os.getxattr, str(path), name)


def hold_open(path, data=b""):
    """Opens path read-write (creating it first: mapped at this open, see
    util.open_mapped), writes data; returns the fd."""
    fd = util.open_mapped(path)
    if data:
        util.pwrite_all(fd, data, 0)
    return fd


# ---- fixtures: the real daemon ------------------------------------------

@pytest.fixture
def cmount_factory(mount_factory):
    """mount_factory, skipping the test while the daemon does not serve
    the control files yet. stats_dir: where to probe for version."""
    def make(config=None, opts=(), stats_dir=".stats", **kw):
        m = mount_factory(config=config, opts=opts, **kw)
        if not util.call(os.path.exists,
                         str(m.mnt / stats_dir / "version")):
            pytest.skip(f"the daemon does not serve {stats_dir}/version yet "
                        "(control and stats files not wired in)")
        return m
    return make


@pytest.fixture
def cmount(cmount_factory):
    return cmount_factory()


def test_truncate_of_a_closed_file_follows_its_policy_override(mount,
                                                               tmp_path):
    """The effective settings of a file are one function: a truncation of
    a file with no open handle, under a .ctl/policy `always` override, is
    synced before it returns (it used to take the config's `never` by
    path, while user.mmapfs.policy reported the override)."""
    mnt = mount.mnt
    util.write_file(mnt / "f", util.pattern(2 * PAGE))
    sync_calls = ("fsync", "fdatasync", "msync")
    with util.SyscallTrace(mount.proc.pid, sync_calls,
                           tmp_path / "never.trace") as t:
        util.fs.truncate(mnt / "f", PAGE)
    assert not [c for n in sync_calls for c in t.calls(n)], t.calls()
    ctl_ok(mnt, "policy", "f always\n")
    assert util.fs.getxattr(mnt / "f", "user.mmapfs.policy") == b"always"
    with util.SyscallTrace(mount.proc.pid, sync_calls,
                           tmp_path / "always.trace") as t:
        util.fs.truncate(mnt / "f", 100)
    assert t.calls("fsync") or t.calls("fdatasync"), t.calls()
    assert util.fs.stat(mnt / "f").st_size == 100


# ---- the daemon: stats files ----------------------------------------------

def test_stats_files_and_modes(cmount):
    mnt = cmount.mnt
    assert stats(mnt, "version").startswith("mmapfs ")
    assert stats(mnt, "version").endswith("\n")
    for name in TOTALS:
        total(mnt, name)
    assert stats(mnt, "files").startswith(FILES_HEADER + "\n")
    prom = stats(mnt, "metrics.prom")
    assert "# TYPE mmapfs_flushes_total counter\n" in prom
    assert "# HELP mmapfs_pending_bytes " in prom
    assert "[global]" in stats(mnt, "config")

    st = util.fs.stat(mnt / ".ctl")
    assert st.st_mode & 0o7777 == 0o700 and st.st_uid == os.getuid()
    st = util.fs.stat(mnt / ".stats")
    assert st.st_mode & 0o7777 == 0o500
    for verb in VERBS:
        assert util.fs.stat(mnt / ".ctl" / verb).st_mode & 0o7777 == 0o200
    for name in STATS:
        assert util.fs.stat(mnt / ".stats" / name).st_mode & 0o7777 == 0o400
    util.expect_errno(errno.ENOENT, os.stat, str(mnt / ".stats" / "nonesuch"))
    util.expect_errno(errno.ENOENT, os.stat, str(mnt / ".ctl" / "nonesuch"))


def test_control_hidden_unless_show_control(cmount_factory):
    hidden = cmount_factory()
    names = util.fs.listdir(hidden.mnt)
    assert ".ctl" not in names and ".stats" not in names
    shown = cmount_factory(config="[global]\nshow_control = true\n")
    names = util.fs.listdir(shown.mnt)
    assert ".ctl" in names and ".stats" in names
    assert sorted(util.fs.listdir(shown.mnt / ".ctl")) == sorted(VERBS)
    assert sorted(util.fs.listdir(shown.mnt / ".stats")) == sorted(STATS)


def test_snapshot_taken_at_open(cmount):
    mnt = cmount.mnt
    f = util.call(open, str(mnt / ".stats" / "pending_writes"), "rb")
    try:
        before = util.call(f.read)
        fd = hold_open(mnt / "x", b"y" * 10)
        util.fs.close(fd)
        util.call(f.seek, 0)
        assert util.call(f.read) == before
    finally:
        util.call(f.close)


def test_files_row_pending_and_flush(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / "data.bin", b"x" * 10)
    try:
        row = files_rows(mnt)["data.bin"]
        assert row["size"] == "10"
        assert row["mapped"] == "yes"
        assert row["mode"] == "rw"
        assert row["policy"] == "never"
        assert row["pending_bytes"] == str(PAGE)
        assert row["pending_writes"] == "1"
        assert row["flush_errors"] == "0"
        assert total(mnt, "pending_bytes") >= PAGE

        flushes = int(row["flushes"])
        ctl_ok(mnt, "flush", "data.bin\n")
        row = files_rows(mnt)["data.bin"]
        assert row["pending_bytes"] == "0"
        assert row["pending_writes"] == "0"
        assert int(row["flushes"]) == flushes + 1
        assert row["last_flush_age_ms"] != "-"
        assert int(row["last_flush_age_ms"]) >= 0
    finally:
        util.fs.close(fd)


def test_files_escapes_paths(cmount):
    mnt = cmount.mnt
    name = "tab\there\nnew\\line"
    fd = hold_open(mnt / name, b"z")
    try:
        text = stats(mnt, "files")
        assert "tab\\there\\nnew\\\\line\t" in text
        assert name in files_rows(mnt)
    finally:
        util.fs.close(fd)


def test_metrics_prom(cmount_factory):
    m = cmount_factory(config="[global]\nmetrics_max_files = 1\n")
    fds = [hold_open(m.mnt / "small", b"a"),
           hold_open(m.mnt / 'big"quoted', b"b" * (3 * PAGE))]
    try:
        prom = stats(m.mnt, "metrics.prom")
        for line in prom.splitlines():
            assert line.startswith("# HELP mmapfs_") or \
                line.startswith("# TYPE mmapfs_") or \
                line.startswith("mmapfs_"), line
        # One file only, the busiest (most bytes written), label escaped,
        # after the mount label every sample has.
        assert f'mmapfs_file_pending_bytes{{mount="{m.mnt}",' \
            f'path="big\\"quoted"}} {3 * PAGE}' in prom
        assert 'path="small"' not in prom
        assert "mmapfs_bytes_written_total " in prom
    finally:
        for fd in fds:
            util.fs.close(fd)


def test_metrics_per_file_series_stay_put_across_flushes(cmount_factory):
    """With metrics_max_files = 1 the file shown is the one that wrote the
    most; a flush that empties its pending bytes does not hand its place to
    a file with fewer bytes written but more pending (series that come and
    go with every flush break every rate() over them)."""
    m = cmount_factory(config="[global]\nmetrics_max_files = 1\n")
    fds = [hold_open(m.mnt / "heavy", b"h" * (8 * PAGE)),
           hold_open(m.mnt / "light", b"l" * PAGE)]
    try:
        assert 'path="heavy"' in stats(m.mnt, "metrics.prom")
        ctl_ok(m.mnt, "flush", "heavy\n")
        prom = stats(m.mnt, "metrics.prom")
        assert 'path="heavy"' in prom and 'path="light"' not in prom, prom
    finally:
        for fd in fds:
            util.fs.close(fd)


def test_xattrs(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / "f", b"q" * 100)
    try:
        assert xattr(mnt / "f", "user.mmapfs.policy") == b"never"
        assert xattr(mnt / "f", "user.mmapfs.pending_bytes") == \
            str(PAGE).encode()
        assert xattr(mnt / "f", "user.mmapfs.pending_writes") == b"1"
        assert int(xattr(mnt / "f", "user.mmapfs.flushes")) >= 0
        assert xattr(mnt / "f", "user.mmapfs.mapped") == b"yes"
        names = util.fs.listxattr(str(mnt / "f"))
        for n in ("policy", "pending_bytes", "pending_writes", "flushes",
                  "mapped"):
            assert f"user.mmapfs.{n}" in names
        util.expect_errno(errno.EPERM, os.setxattr, str(mnt / "f"),
                          "user.mmapfs.policy", b"always")
        util.expect_errno(errno.EPERM, os.removexattr, str(mnt / "f"),
                          "user.mmapfs.flushes")
        # Real xattrs still work beside them.
        util.fs.setxattr(str(mnt / "f"), "user.mine", b"v")
        assert "user.mine" in util.fs.listxattr(str(mnt / "f"))
    finally:
        util.fs.close(fd)


# ---- the daemon: commands -------------------------------------------------

def test_every_command(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / "f", util.pattern(16 * PAGE))
    util.fs.mkdir(mnt / "sub dir")
    util.write_file(str(mnt / "sub dir" / "g h"), b"g" * PAGE)
    try:
        ctl_ok(mnt, "prefetch", "f\n")
        ctl_ok(mnt, "prefetch", "f 4096\n")
        ctl_ok(mnt, "prefetch", f"f {PAGE} {PAGE}\n")
        ctl_ok(mnt, "prefetch", "sub\\ dir/g\\ h")
        for advice in ("normal", "random", "sequential", "willneed",
                       "dontneed"):
            ctl_ok(mnt, "advise", f"f {advice}\n")
            ctl_ok(mnt, "advise", f"f {advice} 0 {PAGE}\n")
        ctl_ok(mnt, "lock", f"f 0 {PAGE}\n")
        ctl_ok(mnt, "unlock", f"f 0 {PAGE}\n")
        ctl_ok(mnt, "flush", "f\n")
        ctl_ok(mnt, "flush", "*\n")
        ctl_ok(mnt, "flush", "./sub dir//g\\ h".replace(" dir", "\\ dir"))
        ctl_ok(mnt, "evict", "sub\\ dir/g\\ h\n")
        ctl_ok(mnt, "reload", "\n")
        ctl_ok(mnt, "reload", "any text at all\n")
        # Data is intact after all of it.
        assert util.pread_all(fd, 16 * PAGE, 0) == util.pattern(16 * PAGE)
    finally:
        util.fs.close(fd)


def test_policy_override(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / "log", b"l")
    try:
        ctl_ok(mnt, "policy", "log bytes=4MiB,ms=500\n")
        assert xattr(mnt / "log", "user.mmapfs.policy") == b"bytes=4MiB,ms=500"
        assert files_rows(mnt)["log"]["policy"] == "bytes=4MiB,ms=500"
        # A reload keeps the override.
        ctl_ok(mnt, "reload", "")
        assert xattr(mnt / "log", "user.mmapfs.policy") == b"bytes=4MiB,ms=500"
        ctl_ok(mnt, "policy", "log always\n")
        util.pwrite_all(fd, b"x" * 10, 0)
        assert xattr(mnt / "log", "user.mmapfs.pending_bytes") == b"0"
        ctl_ok(mnt, "policy", "log default\n")
        assert xattr(mnt / "log", "user.mmapfs.policy") == b"never"
        ctl_err(errno.EINVAL, mnt, "policy", "log bytes=0\n")
        ctl_err(errno.EINVAL, mnt, "policy", "log sometimes\n")
        ctl_err(errno.EINVAL, mnt, "policy", "log\n")
    finally:
        util.fs.close(fd)


def test_malformed_and_hostile(cmount):
    mnt = cmount.mnt
    util.write_file(str(mnt / "f"), b"x" * 100)
    util.fs.mkdir(mnt / "d")
    E = errno
    cases = [
        (E.EINVAL, "prefetch", b"f\0\n"),
        (E.EINVAL, "prefetch", b"\0"),
        (E.EINVAL, "prefetch", b"f 18446744073709551616\n"),
        (E.EINVAL, "prefetch", b"f 99999999999999999999999999 1\n"),
        (E.EINVAL, "prefetch", b"f -1\n"),
        (E.EINVAL, "prefetch", b"f 0x10\n"),
        (E.EINVAL, "prefetch", b"f 101\n"),
        (E.EINVAL, "prefetch", b"f 50 51\n"),
        (E.EINVAL, "prefetch", b"f 1 18446744073709551615\n"),
        (E.EINVAL, "prefetch", b"f 1 2 3\n"),
        (E.EINVAL, "prefetch", b"\n"),
        (E.EINVAL, "prefetch", b"f\\q\n"),
        (E.EINVAL, "prefetch", b"\xc0\xaf\n"),
        (E.EINVAL, "prefetch", b"f\tx\n"),
        (E.EINVAL, "prefetch", b"d\n"),
        (E.EINVAL, "advise", b"f often\n"),
        (E.EINVAL, "flush", b"* f\n"),
        (E.EINVAL, "evict", b"f 0\n"),
        (E.EINVAL, "prefetch", b"a" * 5000),
        (E.EINVAL, "reload", b"x" * 5000),
        (E.EPERM, "prefetch", b"/etc/passwd\n"),
        (E.EPERM, "prefetch", b"../../../etc/passwd\n"),
        (E.EPERM, "flush", b"d/../f\n"),
        (E.EPERM, "policy", b"../x always\n"),
        (E.ENOENT, "prefetch", b"missing\n"),
        (E.ENOENT, "flush", b"d/missing\n"),
    ]
    for code, verb, data in cases:
        ctl_err(code, mnt, verb, data)
    # Nothing escaped: the file is intact and nothing else was created.
    assert util.read_file(str(mnt / "f")) == b"x" * 100
    assert sorted(util.fs.listdir(mnt)) == ["d", "f"]


def test_symlinks_not_followed(cmount):
    mnt, backing = cmount.mnt, cmount.backing
    (backing / "target").write_bytes(b"t" * 10)
    os.symlink("/etc/passwd", backing / "out")
    os.symlink("/etc", backing / "outdir")
    os.symlink("target", backing / "inside")
    ctl_err(errno.EPERM, mnt, "prefetch", "out\n")
    ctl_err(errno.EPERM, mnt, "prefetch", "outdir/passwd\n")
    ctl_err(errno.EPERM, mnt, "flush", "outdir/passwd\n")
    ctl_err(errno.EPERM, mnt, "prefetch", "inside\n")
    ctl_ok(mnt, "prefetch", "target\n")


def test_offset_of_write_ignored(cmount):
    mnt = cmount.mnt
    util.write_file(str(mnt / "f"), b"x" * 100)
    ctl_ok(mnt, "prefetch", "f 10 20\n", offset=12345)
    ctl_ok(mnt, "flush", "*\n", offset=1 << 40)


def test_concurrent_writers(cmount):
    mnt = cmount.mnt
    util.write_file(str(mnt / "f"), util.pattern(64 * PAGE))
    errors = []

    def commands(verb, text):
        try:
            for _ in range(50):
                n = _ctl_write(str(mnt / ".ctl" / verb), text.encode(), 0)
                assert n == len(text)
        except BaseException as e:
            errors.append(e)

    def writer():
        try:
            fd = os.open(str(mnt / "f"), os.O_WRONLY)
            try:
                for i in range(200):
                    os.pwrite(fd, b"w" * 100, (i * 997) % (63 * PAGE))
            finally:
                os.close(fd)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=commands, args=a) for a in (
        ("flush", "f\n"), ("flush", "*\n"), ("prefetch", "f\n"),
        ("advise", "f random 0 4096\n"))]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    util.join_all(threads, timeout=120)
    assert not errors, errors
    ctl_ok(mnt, "flush", "*\n")
    assert total(mnt, "pending_bytes") == 0


def test_only_owner_controls(cmount_factory):
    m = cmount_factory(opts=["allow_other"], world=True)
    util.write_file(str(m.mnt / "f"), b"x")
    res = util.run_as(65534, 65534, f"""
result = [E(lambda: os.open({str(m.mnt / '.ctl' / 'flush')!r}, os.O_WRONLY)),
          E(os.listdir, {str(m.mnt / '.ctl')!r}),
          E(os.listdir, {str(m.mnt / '.stats')!r})]
""")
    assert res[0] in ("EACCES", "EPERM")
    assert res[1] in ("EACCES", "EPERM")
    assert res[2] in ("EACCES", "EPERM")


def test_renamed_control_dirs(cmount_factory, tmp_path):
    backing = tmp_path / "b"
    backing.mkdir()
    (backing / ".ctl").mkdir()
    (backing / ".ctl" / "mine").write_bytes(b"user data")
    m = cmount_factory(config="[global]\ncontrol_dir = .c2\n"
                              "stats_dir = .s2\n",
                       backing=backing, stats_dir=".s2")
    # The backing .ctl is an ordinary directory again.
    assert util.read_file(str(m.mnt / ".ctl" / "mine")) == b"user data"
    util.write_file(str(m.mnt / "f"), b"x" * 10)
    ctl_ok(m.mnt, "prefetch", "f\n", ctl_dir=".c2")
    assert stats(m.mnt, "version", stats_dir=".s2").startswith("mmapfs ")
    r = mmapfsctl("stats", m.mnt)
    assert r.returncode == 1 and "--stats-dir" in r.stderr
    r = mmapfsctl("--ctl-dir", ".c2", "--stats-dir", ".s2", "flush", m.mnt / "f")
    assert r.returncode == 0, r.stderr


# ---- the daemon: mmapfsctl ------------------------------------------------

def test_mmapfsctl_commands(cmount):
    mnt = cmount.mnt
    util.fs.mkdir(mnt / "d")
    name = mnt / "d" / "a file"
    fd = hold_open(name, b"x" * (4 * PAGE))
    try:
        r = mmapfsctl("stats", mnt / "d")
        assert r.returncode == 0, r.stderr
        assert f"mount           {mnt}\n" in r.stdout
        assert "pending_bytes " in r.stdout
        r = mmapfsctl("files", mnt)
        assert r.returncode == 0 and r.stdout.startswith(FILES_HEADER)
        assert "d/a file\t" in r.stdout
        for args in (("prefetch", name), ("prefetch", name, 0, PAGE),
                     ("advise", name, "sequential"),
                     ("advise", name, "dontneed", PAGE),
                     ("flush", name), ("flush", mnt),
                     ("policy", name, "writes=10"),
                     ("policy", name, "default"), ("reload", mnt)):
            r = mmapfsctl(*args)
            assert r.returncode == 0, (args, r.stderr)
        assert xattr(name, "user.mmapfs.policy") == b"never"
        # Checked before sending, with the daemon's parser: the reason.
        r = mmapfsctl("prefetch", name, 5 * PAGE)
        assert r.returncode == 2 and "past the end of the file" in r.stderr
        r = mmapfsctl("advise", name, "often")
        assert r.returncode == 2 and "unknown ADVICE 'often'" in r.stderr
        r = mmapfsctl("prefetch", mnt / "nonexistent")
        assert r.returncode == 1 and "No such file" in r.stderr
        r = mmapfsctl("prefetch", mnt)
        assert r.returncode == 2 and "mount root" in r.stderr
    finally:
        util.fs.close(fd)


def run_top(args, keys=b"q", frames_before_key=2, timeout=20):
    """Runs `mmapfsctl top ARGS` on a pseudo-terminal, waits for
    frames_before_key frames, types keys, and returns (status, output,
    termios lflag of the terminal afterwards, lflag before)."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)[3]
    # A session of its own with the pty as controlling terminal, so that
    # Ctrl-C is SIGINT as in a real terminal.
    proc = subprocess.Popen([str(CTL), "top", *map(str, args)],
                            stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(
                                0, termios.TIOCSCTTY, 0))
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        sent = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and out.count(b"PENDING") >= frames_before_key:
                os.write(master, keys)
                sent = True
            if proc.poll() is not None and not ready:
                break
        status = proc.wait(max(0.1, deadline - time.monotonic()))
        after = termios.tcgetattr(master)[3]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return status, out.decode(errors="replace"), after, before


def test_mmapfsctl_top(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / "busy.log", b"x" * PAGE)
    try:
        status, out, after, before = run_top([mnt, "-d", "0.2"])
        assert status == 0, out
        assert "busy.log" in out
        assert out.count("PENDING") >= 2
        assert after & (termios.ICANON | termios.ECHO) == \
            before & (termios.ICANON | termios.ECHO)
    finally:
        util.fs.close(fd)


# ---- mmapfsctl without the daemon -----------------------------------------

def test_mmapfsctl_not_on_mmapfs(tmp_path):
    if not CTL.exists():
        pytest.fail(f"{CTL} not built")
    r = mmapfsctl("stats", tmp_path)
    assert r.returncode == 1
    assert "is not on an mmapfs mount" in r.stderr
    r = mmapfsctl("prefetch", tmp_path / "missing")
    assert r.returncode == 1 and "No such file" in r.stderr
    r = mmapfsctl("bogus", tmp_path)
    assert r.returncode == 2
    r = mmapfsctl()
    assert r.returncode == 2 and "usage:" in r.stderr
    r = mmapfsctl("--help")
    assert r.returncode == 0 and "top MNT" in r.stdout
    r = mmapfsctl("--version")
    assert r.returncode == 0 and r.stdout.startswith("mmapfsctl ")


FAKE_FILES = FILES_HEADER + "\n" + "\n".join([
    "db/main.sqlite\t4096\tyes\trw\talways\t0\t0\t10\t0\t5",
    "logs/app.log\t8192\tyes\trw\tbytes=4MiB,ms=1000\t4096\t3\t7\t0\t1234",
    "we\\tird\\nname\t0\tno\tro\tnever\t0\t0\t0\t0\t-",
]) + "\n"


def fake_prom(written):
    return "".join(
        f'mmapfs_file_bytes_written_total{{path="{p}"}} {n}\n'
        for p, n in (("logs/app.log", written), ("db/main.sqlite", 40960)))


@pytest.fixture
def fake(tmp_path):
    """A FUSE (bindfs) mount of a directory with fake .stats/.ctl files:
    returns (source dir, mount point). Unmounted in teardown."""
    if not shutil.which("bindfs"):
        pytest.skip("bindfs is not installed (scripts/install-deps.sh)")
    if not CTL.exists():
        pytest.fail(f"{CTL} not built")
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    for d in (src / ".stats", src / ".ctl", mnt, src / "my dir"):
        d.mkdir(parents=True)
    (src / ".stats" / "version").write_text("mmapfs 9.9\n")
    for name, value in (("pending_bytes", 4096), ("pending_writes", 3),
                        ("flushes", 17), ("flush_errors", 0)):
        (src / ".stats" / name).write_text(f"{value}\n")
    (src / ".stats" / "files").write_text(FAKE_FILES)
    (src / ".stats" / "metrics.prom").write_text(fake_prom(100000))
    for verb in VERBS:
        (src / ".ctl" / verb).write_bytes(b"")
    (src / "my dir" / "a\tb").write_bytes(b"data")
    r = util.run(["bindfs", str(src), str(mnt)])
    assert r.returncode == 0, r.stderr
    try:
        util.wait_until(lambda: util.is_fuse_mounted(mnt), what="bindfs mount")
        yield src, mnt
    finally:
        if util.is_fuse_mounted(mnt):
            if util.run(["fusermount3", "-u", str(mnt)]).returncode != 0:
                util.run(["fusermount3", "-uz", str(mnt)])
        assert not util.is_fuse_mounted(mnt), f"{mnt} still mounted"


def test_fake_commands_escape_paths(fake):
    src, mnt = fake
    target = mnt / "my dir" / "a\tb"
    for args, verb, want in (
            (("prefetch", target), "prefetch", "my\\ dir/a\\tb\n"),
            (("prefetch", target, 1, 2), "prefetch", "my\\ dir/a\\tb 1 2\n"),
            (("advise", target, "random"), "advise", "my\\ dir/a\\tb random\n"),
            (("lock", target, 0), "lock", "my\\ dir/a\\tb 0\n"),
            (("unlock", target), "unlock", "my\\ dir/a\\tb\n"),
            (("evict", target), "evict", "my\\ dir/a\\tb\n"),
            (("policy", target, "always"), "policy", "my\\ dir/a\\tb always\n"),
            (("flush", target), "flush", "my\\ dir/a\\tb\n"),
            (("flush", mnt / "my dir" / ".."), "flush", "*\n"),
            (("reload", mnt / "my dir"), "reload", "\n")):
        (src / ".ctl" / verb).write_bytes(b"")
        r = mmapfsctl(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert (src / ".ctl" / verb).read_text() == want, args
    # Arguments are single fields.
    r = mmapfsctl("policy", target, "bytes=1 never")
    assert r.returncode == 2 and "blanks" in r.stderr
    r = mmapfsctl("prefetch", mnt)
    assert r.returncode == 2 and "mount root" in r.stderr


def test_fake_stats_and_files(fake):
    src, mnt = fake
    r = mmapfsctl("stats", mnt / "my dir")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"mount           {mnt}\n"
                        "version         mmapfs 9.9\n"
                        "pending_bytes   4096\n"
                        "pending_writes  3\n"
                        "flushes         17\n"
                        "flush_errors    0\n")
    r = mmapfsctl("files", mnt)
    assert r.returncode == 0 and r.stdout == FAKE_FILES
    r = mmapfsctl("--stats-dir", ".nope", "stats", mnt)
    assert r.returncode == 1 and ".nope/version" in r.stderr


def test_fake_top_frames_rates_and_quit(fake):
    src, mnt = fake

    def bump():
        # Between frames: 1 MiB more written to logs/app.log.
        time.sleep(0.5)
        (src / ".stats" / "metrics.prom").write_text(
            fake_prom(100000 + (1 << 20)))
    t = threading.Thread(target=bump)
    t.start()
    try:
        status, out, after, before = run_top([mnt, "-d", "0.3"],
                                             frames_before_key=4)
    finally:
        t.join()
    assert status == 0, out
    assert "\x1b[?1049h" in out and out.rstrip().endswith("\x1b[?1049l")
    assert "3 files, 2 mapped, pending 4.0K, 17 flushes, 0 flush errors" in out
    assert "bytes=4MiB,ms=1000" in out and "we\\tird\\nname" in out
    # The first frame has no rates; a later one shows app.log's writes
    # (1 MiB in one interval of 0.3 s: a few MiB/s).
    rates = [line.split()[1] for line in out.split("\r\n")
             if line.rstrip().endswith("logs/app.log")]
    assert len(rates) >= 3 and rates[0] == "-"
    assert any(r.endswith("M") for r in rates[1:]), rates
    # Busiest first: app.log (pending bytes) above main.sqlite.
    last = out.split("PENDING")[-1]
    assert last.index("logs/app.log") < last.index("db/main.sqlite")
    assert after & (termios.ICANON | termios.ECHO) == \
        before & (termios.ICANON | termios.ECHO)


def test_fake_top_ctrl_c_and_frames(fake):
    src, mnt = fake
    status, out, after, before = run_top([mnt, "-d", "0.2"], keys=b"\x03")
    assert status == 0, out
    assert after & (termios.ICANON | termios.ECHO) == \
        before & (termios.ICANON | termios.ECHO)
    # -n: a fixed number of frames, then exit on its own.
    r = mmapfsctl("top", mnt, "-n", "2", "-d", "0.1")
    assert r.returncode == 0 and r.stdout.count("PENDING") == 2
    r = mmapfsctl("top", mnt, "-d", "0")
    assert r.returncode == 2
