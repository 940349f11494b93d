"""Integration tests of how the daemon serves the control and stats files
(docs/control.md), beyond the command set of test_control.py: the root
listing across several readdir requests, shadowed backing entries and the
reserved names, what the virtual inodes refuse, shell redirection, the
lifetime of .ctl/lock and .ctl/policy, the rows of .stats/files, the
user.mmapfs.* namespace, and control directories renamed by a reload.

Every mount is unmounted by the fixture (conftest), also on failure; every
client operation has a deadline (util).
"""

import errno
import os

import util
from util import PAGE, fs

VERBS = ("prefetch", "advise", "flush", "lock", "unlock", "evict", "policy",
         "reload")


def ctl(mnt, verb, text, ctl_dir=".ctl"):
    """Writes one command; returns None or the errno of the failure."""
    def write():
        fd = os.open(str(mnt / ctl_dir / verb), os.O_WRONLY)
        try:
            return os.write(fd, text.encode())
        finally:
            os.close(fd)
    try:
        assert util.call(write) == len(text.encode())
    except OSError as e:
        return e.errno
    return None


rows = util.stats_rows


def xattr(path, name):
    return fs.getxattr(str(path), name).decode()


def test_root_listing_spans_many_requests(mount_factory):
    m = mount_factory(config="[global]\nshow_control = true\n")
    names = {f"file-with-a-long-name-{i:04d}" + "x" * 100 for i in range(400)}
    for name in names:
        (m.backing / name).write_bytes(b"")
    for _ in range(2):      # a second listing starts over (rewind)
        listed = util.call(os.listdir, str(m.mnt))
        assert sorted(listed) == sorted(names | {".ctl", ".stats"})
    # ls -l (readdirplus with attributes) shows the modes.
    r = util.run(["ls", "-la", str(m.mnt)])
    assert r.returncode == 0, r.stderr
    line = next(li for li in r.stdout.splitlines() if li.endswith(" .ctl"))
    assert line.startswith("drwx------")
    line = next(li for li in r.stdout.splitlines() if li.endswith(" .stats"))
    assert line.startswith("dr-x------")
    assert sorted(util.call(os.listdir, str(m.mnt / ".ctl"))) == \
        sorted(VERBS)


def test_shadowed_backing_entries(mount_factory):
    m = mount_factory(start=False)
    (m.backing / ".ctl").mkdir()
    (m.backing / ".ctl" / "mine").write_bytes(b"mine")
    (m.backing / ".stats").write_bytes(b"a file")
    (m.backing / "x").write_bytes(b"x")
    m.start()
    assert sorted(fs.listdir(m.mnt)) == ["x"]
    assert fs.stat(m.mnt / ".ctl").st_mode & 0o7777 == 0o700
    util.expect_errno(errno.ENOENT, os.stat, str(m.mnt / ".ctl" / "mine"))
    # Neither name can be removed, renamed, or made again.
    util.expect_errno(errno.EPERM, os.rmdir, str(m.mnt / ".ctl"))
    util.expect_errno(errno.EPERM, os.rmdir, str(m.mnt / ".stats"))
    util.expect_errno(errno.EPERM, os.rename, str(m.mnt / ".ctl"),
                      str(m.mnt / "moved"))
    util.expect_errno(errno.EPERM, util.renameat2, str(m.mnt / "x"),
                      str(m.mnt / ".stats"), 2)     # RENAME_EXCHANGE
    util.expect_errno(errno.EPERM, os.link, str(m.mnt / "x"),
                      str(m.mnt / ".ctl" / "x"))
    assert (m.backing / ".ctl" / "mine").read_bytes() == b"mine"
    assert (m.backing / ".stats").read_bytes() == b"a file"
    assert "shadowed" in m.log_text()


def test_virtual_inodes_refuse_changes(mount):
    mnt = mount.mnt
    flush, version = mnt / ".ctl" / "flush", mnt / ".stats" / "version"
    E = errno
    for code, fn, args in (
            (E.EPERM, os.open, (str(mnt / ".ctl" / "new"),
                                os.O_WRONLY | os.O_CREAT, 0o600)),
            (E.EPERM, os.mkdir, (str(mnt / ".stats" / "d"),)),
            (E.EPERM, os.unlink, (str(flush),)),
            (E.EPERM, os.rename, (str(flush), str(mnt / ".ctl" / "f2"))),
            (E.EPERM, os.rename, (str(flush), str(mnt / "f2"))),
            (E.EPERM, os.symlink, ("x", str(mnt / ".ctl" / "l"))),
            (E.EPERM, os.chmod, (str(flush), 0o666)),
            (E.EPERM, os.truncate, (str(flush), 10)),
            (E.EACCES, os.open, (str(flush), os.O_RDONLY)),
            (E.EACCES, os.open, (str(flush), os.O_RDWR)),
            (E.EACCES, os.open, (str(version), os.O_WRONLY)),
            (E.EPERM, os.setxattr, (str(flush), "user.a", b"v")),
            (E.ENODATA, os.getxattr, (str(version), "user.mmapfs.policy"))):
        util.expect_errno(code, fn, *args)
    assert fs.listxattr(str(version)) == []
    fs.truncate(flush, 0)       # what a shell's `>` may send
    assert fs.statvfs(mnt / ".ctl").f_bsize > 0
    # Reads of a stats file past its end, and again from the start.
    fd = fs.open(version, os.O_RDONLY)
    try:
        text = fs.pread(fd, 4096, 0)
        assert text.startswith(b"mmapfs ")
        assert fs.pread(fd, 4096, len(text)) == b""
        assert fs.pread(fd, 3, 1) == text[1:4]
    finally:
        fs.close(fd)


def test_shell_redirection(mount):
    (mount.backing / "f").write_bytes(b"x" * 10)
    r = util.run(["sh", "-c", "echo f > .ctl/flush && echo 'f 0 5' >> "
                  ".ctl/prefetch && cat .stats/version"], cwd=mount.mnt)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("mmapfs ")
    # The write fails (dash's echo names no errno; the daemon logs why).
    r = util.run(["sh", "-c", "echo missing > .ctl/flush"], cwd=mount.mnt)
    assert r.returncode != 0
    assert "flush missing failed: No such file" in mount.log_text()


def test_lock_keeps_the_file_open_within_the_cap(mount_factory):
    m = mount_factory(config=f"[global]\nmax_locked_bytes = {3 * PAGE}\n")
    util.write_file(str(m.mnt / "f"), util.pattern(4 * PAGE))
    # Closed, it keeps its row (recently closed files); flushed, the row
    # shows nothing pending.
    assert rows(m.mnt)["f"]["mapped"] == "no"
    assert ctl(m.mnt, "flush", "f\n") is None
    assert rows(m.mnt)["f"]["pending_bytes"] == "0"
    assert ctl(m.mnt, "lock", f"f 0 {PAGE + 1}\n") is None     # 2 pages
    assert rows(m.mnt)["f"]["mapped"] == "yes"
    assert xattr(m.mnt / "f", "user.mmapfs.mapped") == "yes"
    assert ctl(m.mnt, "evict", "f\n") == errno.EBUSY
    assert ctl(m.mnt, "lock", f"f {2 * PAGE} {2 * PAGE}\n") == errno.ENOMEM
    assert ctl(m.mnt, "lock", f"f {2 * PAGE} 1\n") is None      # 3 pages
    assert ctl(m.mnt, "unlock", f"f 0 {2 * PAGE}\n") is None
    assert "f" in rows(m.mnt)
    assert ctl(m.mnt, "unlock", f"f {2 * PAGE} 1\n") is None
    assert rows(m.mnt)["f"]["mapped"] == "no"      # closed again
    assert ctl(m.mnt, "evict", "f\n") is None
    assert ctl(m.mnt, "unlock", "f\n") is None      # nothing locked: no-op
    assert util.read_file(str(m.mnt / "f")) == util.pattern(4 * PAGE)


def test_policy_override_lives_with_the_inode(mount_factory):
    m = mount_factory(config="[global]\nmax_mapped_files = 1\n"
                             "[match *.log]\nflush = bytes=1MiB\n")
    a, b = m.mnt / "a.log", m.mnt / "b"
    util.write_file(str(a), b"")
    util.write_file(str(b), b"")
    assert xattr(a, "user.mmapfs.policy") == "bytes=1MiB"     # not open
    assert xattr(a, "user.mmapfs.mapped") == "no"
    assert ctl(m.mnt, "policy", "a.log always\n") is None
    assert xattr(a, "user.mmapfs.policy") == "always"
    fa = fs.open(a, os.O_RDWR)
    try:
        util.pwrite_all(fa, b"1" * 10, 0)
        assert xattr(a, "user.mmapfs.pending_bytes") == "0"
        # Opening b evicts a (max_mapped_files = 1); a's next write maps
        # it again, under the override still.
        fb = fs.open(b, os.O_RDWR)
        try:
            util.pwrite_all(fb, b"2", 0)
            util.pwrite_all(fa, b"3" * 10, PAGE)
            assert xattr(a, "user.mmapfs.pending_bytes") == "0"
            assert xattr(a, "user.mmapfs.policy") == "always"
        finally:
            fs.close(fb)
    finally:
        fs.close(fa)
    # Closed and opened again: still the override, until `default`.
    fa = fs.open(a, os.O_RDWR)
    try:
        assert rows(m.mnt)["a.log"]["policy"] == "always"
        assert ctl(m.mnt, "policy", "a.log default\n") is None
        assert xattr(a, "user.mmapfs.policy") == "bytes=1MiB"
        util.pwrite_all(fa, b"4", 0)
        assert xattr(a, "user.mmapfs.pending_bytes") == str(PAGE)
    finally:
        fs.close(fa)


def test_stats_rows_follow_open_files_and_kept_counters(mount):
    """docs/control.md: one row per file with an open mapping or non-zero
    counters. Counters belong to the file: they outlive close (the table of
    recently closed files) and eviction, and show with mapped = no."""
    mnt = mount.mnt
    util.write_file(str(mnt / "closed"), b"c" * 10)
    fd = fs.open(mnt / "old", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, b"o" * 10, 0)
        fs.rename(mnt / "old", mnt / "new")
        r = rows(mnt)
        assert "old" not in r
        assert r["new"]["size"] == "10" and r["new"]["pending_writes"] == "1"
        # Closed with a write pending under never: still counted.
        assert (r["closed"]["mapped"], r["closed"]["size"],
                r["closed"]["pending_bytes"]) == ("no", "10", str(PAGE))
        assert xattr(mnt / "closed", "user.mmapfs.pending_bytes") == str(PAGE)
        assert ctl(mnt, "evict", "new\n") is None
        r = rows(mnt)["new"]
        assert (r["mapped"], r["pending_bytes"], r["size"]) == ("no",
                                                                str(PAGE),
                                                                "10")
        assert xattr(mnt / "new", "user.mmapfs.mapped") == "no"
        assert xattr(mnt / "new", "user.mmapfs.pending_bytes") == str(PAGE)
        # The next request maps it again; the counters are the same.
        assert fs.pread(fd, 10, 0) == b"o" * 10
        assert rows(mnt)["new"]["pending_bytes"] == str(PAGE)
        assert rows(mnt)["new"]["mapped"] == "yes"
    finally:
        fs.close(fd)
    # Closed, "new" keeps its row under its current name.
    r = rows(mnt)
    assert "old" not in r and r["new"]["mapped"] == "no"
    # A flush empties the pending counts of the closed file; its row stays
    # (the table of recently closed files) with the flush counted.
    assert ctl(mnt, "flush", "closed\n") is None
    r = rows(mnt)["closed"]
    assert (r["pending_bytes"], r["pending_writes"]) == ("0", "0")
    assert int(r["flushes"]) >= 1


def test_flush_all_covers_closed_files(mount):
    """`flush *` also flushes files closed with writes pending (never)."""
    mnt = mount.mnt
    for name in ("a", "b"):
        util.write_file(str(mnt / name), b"x" * 10)
    def both_released():    # plain I/O: wait_until runs it under call()
        return not any(util.daemon_holds_open(mount, n) for n in "ab")
    util.wait_until(both_released, what="the releases of the closed files")
    assert ctl(mnt, "flush", "*\n") is None
    # Rows of recently closed files stay, with nothing pending.
    assert set(rows(mnt)) == {"a", "b"}
    for r in rows(mnt).values():
        assert (r["mapped"], r["pending_bytes"]) == ("no", "0")
    assert util.read_file(str(mnt / ".stats" / "pending_bytes")) == b"0\n"


def test_xattr_namespace_belongs_to_mmapfs(mount):
    mnt, backing = mount.mnt, mount.backing
    (backing / "f").write_bytes(b"f")
    os.setxattr(backing / "f", "user.mmapfs.policy", b"forged")
    os.setxattr(backing / "f", "user.mmapfs.other", b"forged")
    os.setxattr(backing / "f", "user.real", b"r")
    assert xattr(mnt / "f", "user.mmapfs.policy") == "never"
    util.expect_errno(errno.ENODATA, os.getxattr, str(mnt / "f"),
                      "user.mmapfs.other")
    names = fs.listxattr(str(mnt / "f"))
    assert sorted(n for n in names if n.startswith("user.")) == sorted(
        ["user.real"] + [f"user.mmapfs.{n}" for n in (
            "policy", "pending_bytes", "pending_writes", "flushes",
            "mapped")])
    fs.mkdir(mnt / "d")
    util.expect_errno(errno.ENODATA, os.getxattr, str(mnt / "d"),
                      "user.mmapfs.policy")
    util.expect_errno(errno.EPERM, os.setxattr, str(mnt / "d"),
                      "user.mmapfs.x", b"v")
    util.expect_errno(errno.EPERM, os.removexattr, str(mnt / "f"),
                      "user.mmapfs.other")
    r = util.run(["getfattr", "-n", "user.mmapfs.mapped", "--only-values",
                  str(mnt / "f")])
    assert r.returncode == 0 and r.stdout == "no", r.stderr


def test_reload_renames_the_control_dirs(mount_factory):
    m = mount_factory(config="[global]\n")
    assert fs.stat(m.mnt / ".ctl").st_mode & 0o7777 == 0o700
    m.config.write_text("[global]\ncontrol_dir = .c2\nstats_dir = .s2\n")
    assert ctl(m.mnt, "reload", "\n") is None
    util.expect_errno(errno.ENOENT, os.stat, str(m.mnt / ".ctl"))
    assert util.read_file(str(m.mnt / ".s2" / "version")).startswith(
        b"mmapfs ")
    assert ctl(m.mnt, "flush", "*\n", ctl_dir=".c2") is None


def test_new_file_is_mapped_when_a_request_needs_it(mount):
    """A file its open created (or truncated) is served by pread/pwrite
    until a request needs its mapping: appends leave it unmapped (a file
    written once costs no mapping), a write inside it or a read maps it in
    place, with its pending counts and bytes unchanged."""
    mnt = mount.mnt
    fd = fs.open(mnt / "n", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        util.pwrite_all(fd, b"a" * PAGE, 0)
        util.pwrite_all(fd, b"b" * PAGE, PAGE)
        r = rows(mnt)["n"]
        assert (r["mapped"], r["size"], r["pending_writes"]) == \
            ("no", str(2 * PAGE), "2")
        util.pwrite_all(fd, b"c" * 10, 5)     # inside the file: mapped now
        r = rows(mnt)["n"]
        assert (r["mapped"], r["pending_writes"]) == ("yes", "3")
        assert fs.pread(fd, 20, 0) == b"a" * 5 + b"c" * 10 + b"a" * 5
    finally:
        fs.close(fd)
    assert (mount.backing / "n").read_bytes() == \
        b"a" * 5 + b"c" * 10 + b"a" * (PAGE - 15) + b"b" * PAGE
    # Truncated by its open: unmapped again until a read needs it.
    fd = fs.open(mnt / "n", os.O_RDWR | os.O_TRUNC)
    try:
        util.pwrite_all(fd, b"d" * 100, 0)
        assert rows(mnt)["n"]["mapped"] == "no"
        ctl(mnt, "evict", "n\n")          # the kernel's cache goes too
        assert fs.pread(fd, 100, 0) == b"d" * 100
        assert rows(mnt)["n"]["mapped"] == "yes"
    finally:
        fs.close(fd)
