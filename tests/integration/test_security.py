"""Confinement to BACKING_DIR (docs/architecture.md, docs/control.md; issue 7): no lookup, control
command or xattr operation reaches outside the backing directory, even
while another process on the machine swaps a directory of the backing
directory for a symlink that points outside; and allow_other never runs
without default_permissions.

The race test places a sentinel directory next to (not under) the backing
directory and watches it with inotify: any open, read, write, attribute
change, creation or deletion in it while the race runs is an escape.  The
symlinks are relative (`../../NAME`), so they resolve to the sentinel only
from inside the backing directory; the same link seen through the mount
resolves, in the client's own kernel, to a directory that does not exist.
A client that follows it therefore cannot reach the sentinel itself, and
anything the watch sees was done by the daemon.

Knob: MMAPFS_RACE_SECONDS (default 20), how long the swap race runs.
"""

import ctypes
import ctypes.util
import errno
import os
import struct
import threading
import time

import util
from util import fs

RACE_SECONDS = float(os.environ.get("MMAPFS_RACE_SECONDS", "20"))
SENTINEL = b"SENTINEL-OUTSIDE-THE-BACKING-DIR\n"
INSIDE = b"inside the backing dir\n"

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
IN_NONBLOCK = 0o4000
IN_ALL_EVENTS = 0xFFF
IN_IGNORED = 0x8000
EVENT = struct.Struct("iIII")

# What a client may legitimately get while names change under it (EBUSY:
# evict of a file another client holds open).
RACE_ERRNOS = {errno.EBUSY, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP,
               errno.EPERM, errno.EACCES, errno.EINVAL, errno.EEXIST,
               errno.ENOTEMPTY, errno.ENODATA, errno.ENOTSUP, errno.ESTALE,
               errno.EXDEV}


class Watch:
    """An inotify watch on one directory: every event on it or in it."""

    def __init__(self, path):
        self.fd = _libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, os.fsencode(path),
                                   IN_ALL_EVENTS) < 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, f"inotify_add_watch {path}")

    def events(self):
        """(mask, name) of the events queued so far."""
        found = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            pos = 0
            while pos < len(buf):
                _, mask, _, length = EVENT.unpack_from(buf, pos)
                name = buf[pos + EVENT.size:pos + EVENT.size + length]
                found.append((hex(mask), name.rstrip(b"\0").decode()))
                pos += EVENT.size + length

    def close(self):
        os.close(self.fd)


def _ctl(mnt, verb, text):
    fd = os.open(os.path.join(mnt, ".ctl", verb), os.O_WRONLY)
    try:
        return os.write(fd, text.encode())
    finally:
        os.close(fd)


def _client(mnt, k, stop, stats, escapes, unexpected):
    """One client: every kind of operation on names under the swapped
    directories, through the mount."""
    i = 0
    while not stop.is_set():
        d = ("d", "d_alt")[i % 2]
        base = os.path.join(mnt, d)
        secret = os.path.join(base, "secret")
        ops = (
            lambda: os.stat(secret),
            lambda: util.raw_read(secret),
            lambda: _rewrite(secret),
            lambda: _create_rename_unlink(base, k, i),
            lambda: os.setxattr(secret, "user.race", b"v"),
            lambda: os.getxattr(secret, "user.race"),
            lambda: os.listxattr(secret),
            lambda: os.setxattr(base, "user.race", b"v",
                                follow_symlinks=False),
            lambda: os.listdir(base),
            lambda: util.raw_read(os.path.join(mnt, ("f", "f_alt")[i % 2])),
            lambda: _ctl(mnt, "prefetch", f"{d}/secret\n"),
            lambda: _ctl(mnt, "advise", f"{d}/secret willneed\n"),
            lambda: _ctl(mnt, "flush", f"{d}/secret\n"),
            lambda: _ctl(mnt, "policy", f"{d}/secret always\n"),
            lambda: _ctl(mnt, "policy", f"{d}/secret default\n"),
            lambda: _ctl(mnt, "evict", f"{d}/secret\n"),
            lambda: _ctl(mnt, "lock", f"{d}/secret\n"),
            lambda: _ctl(mnt, "unlock", f"{d}/secret\n"),
            lambda: _ctl(mnt, "prefetch", f"{d}/../{d}/secret\n"),
            lambda: _ctl(mnt, "flush", "f_alt\n"),
        )
        op = ops[(i * 7 + k) % len(ops)]
        try:
            got = op()
            stats["ok"] += 1
            if isinstance(got, (bytes, list)) and \
                    SENTINEL.strip() in repr(got).encode():
                escapes.append(f"client {k} op {i}: read the sentinel")
        except OSError as e:
            stats["errors"] += 1
            if e.errno not in RACE_ERRNOS:
                unexpected.append(f"client {k} op {(i * 7 + k) % len(ops)}:"
                                  f" {e!r}")
                stop.set()
        i += 1


def _rewrite(path):
    fd = os.open(path, os.O_RDWR)
    try:
        head = os.pread(fd, 64, 0)
        os.pwrite(fd, INSIDE, 0)
        return head
    finally:
        os.close(fd)


def _create_rename_unlink(base, k, i):
    a = os.path.join(base, f"new{k}")
    b = os.path.join(base, f"ren{k}")
    fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, f"{k} {i}".encode())
    finally:
        os.close(fd)
    os.rename(a, b)
    os.unlink(b)


def _swapper(backing, stop, counts):
    """Exchanges each real entry with its outside-pointing symlink, as
    fast as it can: `d` (a directory) with `d_alt` and `f` (a file) with
    `f_alt`."""
    pairs = [(os.path.join(backing, a), os.path.join(backing, b))
             for a, b in (("d", "d_alt"), ("f", "f_alt"))]
    while not stop.is_set():
        for a, b in pairs:
            util.renameat2(a, b, util.RENAME_EXCHANGE)
            counts["swaps"] += 1


def test_symlink_swap_race_never_escapes(mount_factory, tmp_path,
                                         mmapfs_summary):
    """A directory swapped for a symlink to outside, in a loop, while
    clients create, read, write, rename, unlink, use xattrs and send
    control commands through the mount: the sentinel outside is never
    opened, read, changed or created next to."""
    tag = f"mmapfs-sec-{os.getpid()}-{time.monotonic_ns()}"
    deep = tmp_path / "deep"
    backing = deep / "x" / "backing"
    backing.mkdir(parents=True)
    outside = deep / tag
    outside.mkdir()
    (outside / "secret").write_bytes(SENTINEL)
    before = os.stat(outside / "secret")
    (backing / "d").mkdir()
    (backing / "d" / "secret").write_bytes(INSIDE)
    (backing / "f").write_bytes(INSIDE)
    os.symlink(f"../../{tag}", backing / "d_alt")
    os.symlink(f"../../{tag}/secret", backing / "f_alt")
    assert (backing / "d_alt" / "secret").read_bytes() == SENTINEL
    # Through the mount the same links resolve beside tmp_path: nothing.
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    assert not (mnt / ".." / ".." / tag).exists()
    m = mount_factory(backing=backing, mnt=mnt,
                      config="[global]\nmax_locked_bytes = 1MiB\n")

    watch = Watch(outside)
    stop = threading.Event()
    stats = {"ok": 0, "errors": 0}
    counts = {"swaps": 0}
    escapes, unexpected = [], []
    try:
        swapper = util.spawn(_swapper, str(backing), stop, counts)
        clients = [util.spawn(_client, str(mnt), k, stop, stats, escapes,
                              unexpected) for k in range(4)]
        deadline = time.monotonic() + RACE_SECONDS
        while time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.1)
            escapes.extend(f"inotify {e}" for e in watch.events())
        stop.set()
        util.join_all(clients + [swapper], timeout=60)
        escapes.extend(f"inotify {e}" for e in watch.events())
    finally:
        stop.set()
        watch.close()
    assert not unexpected, unexpected[:5]
    assert not escapes, escapes[:10]
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_bytes() == SENTINEL
    after = os.stat(outside / "secret")
    assert (after.st_mtime_ns, after.st_ctime_ns, after.st_ino) == \
        (before.st_mtime_ns, before.st_ctime_ns, before.st_ino)
    assert os.listxattr(outside / "secret") == []
    assert os.listxattr(outside) == []
    assert not (mnt / ".." / ".." / tag).exists()
    assert m.running()
    assert stats["ok"] > 0 and counts["swaps"] > 0
    mmapfs_summary(f"symlink swap race: {counts['swaps']} swaps, "
                   f"{stats['ok']} client ops ok, {stats['errors']} refused "
                   f"in {RACE_SECONDS:g} s, 0 escapes")


def test_symlinks_resolved_by_the_client_only(mount):
    """A symlink in the backing dir pointing outside is a symlink through
    the mount too: the daemon neither follows it nor serves the target's
    data or attributes; only the client's kernel resolves it, from the
    mountpoint (absolute targets are the client's business, as on a
    local disk)."""
    outside = mount.backing.parent / "outside-target"
    outside.mkdir()
    (outside / "s").write_bytes(SENTINEL)
    os.symlink("../outside-target", mount.backing / "rel")
    st = fs.lstat(mount.mnt / "rel")
    assert (st.st_mode & 0o170000) == 0o120000
    assert fs.readlink(mount.mnt / "rel") == "../outside-target"
    expect = util.expect_errno
    # O_NOFOLLOW on the link itself: refused by the kernel, not followed
    expect(errno.ELOOP, os.open, mount.mnt / "rel", os.O_RDONLY |
           os.O_NOFOLLOW)
    # the user xattr namespace does not exist on symlinks
    expect(errno.EPERM, os.setxattr, mount.mnt / "rel", "user.x", b"1",
           follow_symlinks=False)
    assert os.listxattr(outside) == []
    # a hard link cannot be made to reach outside either
    expect(errno.EXDEV, os.link, outside / "s", mount.mnt / "s")


def _mount_options(mnt):
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == str(mnt):
                return fields[3].split(",")
    raise AssertionError(f"{mnt} not in /proc/self/mounts")


def test_allow_other_forces_default_permissions(mount_factory):
    """allow_other without default_permissions would let every user reach
    files with the daemon's (root's) rights: the daemon adds
    default_permissions, so the kernel checks modes for other users."""
    m = mount_factory(opts=["allow_other"], world=True)
    opts = _mount_options(m.mnt)
    assert "allow_other" in opts and "default_permissions" in opts, opts
    fs.chmod(m.mnt, 0o755)
    util.write_file(m.mnt / "private", b"root only")
    fs.chmod(m.mnt / "private", 0o600)
    path = str(m.mnt / "private")
    res = util.run_as(65534, 65534, f"""
result = [E(readall, {path!r}), E(writeall, {path!r}, b"x"),
          E(os.unlink, {path!r}), E(os.chmod, {path!r}, 0o666),
          E(create, {str(m.mnt / 'nobody')!r})]
""")
    assert res == ["EACCES", "EACCES", "EACCES", "EPERM", "EACCES"], res
    assert util.read_file(m.mnt / "private") == b"root only"
