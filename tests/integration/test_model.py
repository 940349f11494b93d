"""Randomized model checking of file data through the mount (tests/integration/README.md).

A seeded random sequence of operations -- open/close/reopen, read, write,
pread, pwrite, lseek, truncate, ftruncate, client mmap reads and writes
(with and without msync), fsync, rename (also over an existing name) --
runs against a mount and, in parallel, against an in-memory model: the
content of every file (by identity, so descriptors follow renames and keep
replaced files alive).  After every step the file it touched is read back
through the mount and compared with the model; after every fsync the
backing file is read directly and compared too; every VERIFY_ALL_EVERY
steps all files are.  Sizes cross page boundaries and grow and shrink.

Three configurations share the budgets equally: "policies", where the
files live under names whose config sections give them different flush
policies (always, bytes+writes, ms, never); "lru", where at most two files
stay mapped, so mappings are evicted and remapped all the time; and
"writeback", with the kernel's writeback cache (allowed with `never`).

Knobs (environment):
  MMAPFS_MODEL_SEED     seed (default: random, printed)
  MMAPFS_MODEL_SECONDS  time budget of all configurations (default 45)
  MMAPFS_MODEL_OPS      operation budget of all (default 60000)
The run stops at whichever budget ends first.  On failure the seed, the
command to reproduce and the tail of the operation log are reported; the
full log is written next to the daemon log.  The checker runs in a child
process (util.in_child), so a client mmap access the daemon fails to serve
(SIGBUS) fails this test only; its journal is written before each op.
"""

import mmap
import os
import random
import time

import pytest

import util
from util import PAGE

SEED = int(os.environ.get("MMAPFS_MODEL_SEED", random.SystemRandom().
                          randrange(1 << 32)))
SECONDS = float(os.environ.get("MMAPFS_MODEL_SECONDS", "45"))
MAX_OPS = int(os.environ.get("MMAPFS_MODEL_OPS", "60000"))
VERIFY_ALL_EVERY = 200
MAX_SIZE = 40 * PAGE + 123
MAX_HANDLES = 8
LOG_TAIL = 60

CONFIG = """\
[global]
flush = never

[match a*]
flush = always

[match b*]
flush = bytes=16KiB,writes=7

[match c*]
flush = ms=20
"""
NAMES = ["a0", "a1", "b0", "b1", "c0", "c1", "n0", "n1"]


class Handle:
    def __init__(self, fd, fid, writable, append):
        self.fd = fd
        self.fid = fid
        self.writable = writable
        self.append = append
        self.pos = 0


class Model:
    """The expected state and the operations that change both it and the
    mount.  Each op_* method runs in the util worker (through call())."""

    def __init__(self, rng, mnt, backing, journal, pool=tuple(NAMES)):
        self.rng = rng
        self.mnt = mnt
        self.backing = backing
        self.journal = journal  # line-buffered text file: the op log
        self.pool = pool        # the names files may have
        self.content = {}       # file id -> bytearray
        self.names = {}         # name -> file id
        self.handles = []
        self.next_fid = 0
        self.last = ""

    def note(self, text):
        """Logs an operation before it runs, so the journal survives the
        client being killed by it."""
        self.last = text
        self.journal.write(text + "\n")

    # ---- random choices ----
    def offset(self, limit):
        """An offset in [0, limit], biased to page boundaries."""
        r = self.rng.random()
        if r < 0.4 and limit >= PAGE:
            k = self.rng.randrange(limit // PAGE + 1)
            off = k * PAGE + self.rng.randint(-3, 3)
        elif r < 0.5:
            off = limit
        else:
            off = self.rng.randrange(limit + 1)
        return max(0, min(off, limit))

    def length(self):
        r = self.rng.random()
        if r < 0.3:
            return self.rng.randint(1, 16)
        if r < 0.6:
            return self.rng.randint(PAGE - 8, PAGE + 8)
        return self.rng.randint(1, 5 * PAGE)

    def data(self, n):
        return self.rng.randbytes(n)

    def path(self, name):
        return os.path.join(self.mnt, name)

    def some_name(self):
        linked = list(self.names)
        return self.rng.choice(linked) if linked else None

    # ---- checks ----
    def check_fid(self, fid, why):
        expected = bytes(self.content[fid])
        name = next((n for n, f in self.names.items() if f == fid), None)
        handle = next((h for h in self.handles if h.fid == fid), None)
        if handle is not None:
            size = os.fstat(handle.fd).st_size
            got = util.raw_pread_all(handle.fd, len(expected) + 4096, 0)
        elif name is not None:
            size = os.stat(self.path(name)).st_size
            got = util.raw_read(self.path(name))
        else:
            return
        if size != len(expected) or got != expected:
            raise AssertionError(
                f"{why}: file {fid} ({name}) differs from the model: size "
                f"{size} vs {len(expected)}, {describe_diff(got, expected)}")

    def check_backing(self, fid, why):
        name = next((n for n, f in self.names.items() if f == fid), None)
        if name is None:
            return
        got = util.raw_read(os.path.join(self.backing, name))
        expected = bytes(self.content[fid])
        if got != expected:
            raise AssertionError(
                f"{why}: backing file {name} differs from the model after "
                f"fsync: {describe_diff(got, expected)}")

    def check_all(self):
        for fid in list(self.content):
            self.check_fid(fid, "periodic check")

    # ---- operations; each returns the id of the file it touched ----
    def op_open(self):
        if len(self.handles) >= MAX_HANDLES:
            return self.op_close()
        name = self.rng.choice(self.pool)
        writable = self.rng.random() < 0.8
        append = writable and self.rng.random() < 0.15
        trunc = writable and self.rng.random() < 0.05
        flags = os.O_RDWR if writable else os.O_RDONLY
        flags |= (os.O_APPEND if append else 0) | (os.O_TRUNC if trunc else 0)
        if name not in self.names:
            if not writable:
                return None
            flags |= os.O_CREAT
        self.note(f"open {name} flags={flags:#o}")
        fd = os.open(self.path(name), flags, 0o644)
        if name not in self.names:
            self.names[name] = self.next_fid
            self.content[self.next_fid] = bytearray()
            self.next_fid += 1
        fid = self.names[name]
        if trunc:
            self.content[fid] = bytearray()
        self.handles.append(Handle(fd, fid, writable, append))
        return fid

    def op_close(self):
        if not self.handles:
            return None
        h = self.handles.pop(self.rng.randrange(len(self.handles)))
        self.note(f"close fd={h.fd} (file {h.fid})")
        os.close(h.fd)
        if h.fid not in self.names.values() and \
                not any(o.fid == h.fid for o in self.handles):
            del self.content[h.fid]
            return None
        return h.fid

    def op_reopen(self):
        fid = self.op_close()
        if fid is None:
            return None
        name = next((n for n, f in self.names.items() if f == fid), None)
        if name is None:
            return fid
        self.note(f"reopen {name}")
        fd = os.open(self.path(name), os.O_RDWR)
        self.handles.append(Handle(fd, fid, True, False))
        return fid

    def _handle(self, writable=False):
        pool = [h for h in self.handles if h.writable or not writable]
        return self.rng.choice(pool) if pool else None

    def _store(self, fid, off, data):
        c = self.content[fid]
        if off > len(c):
            c.extend(bytes(off - len(c)))
        c[off:off + len(data)] = data

    def op_write(self):
        h = self._handle(writable=True)
        if h is None:
            return None
        n = self.length()
        off = len(self.content[h.fid]) if h.append else h.pos
        if off + n > MAX_SIZE:
            if h.append:
                return None
            self.note(f"lseek fd={h.fd} to 0")
            h.pos = off = os.lseek(h.fd, 0, os.SEEK_SET)
        data = self.data(n)
        self.note(f"write fd={h.fd} pos={off} len={n}")
        done = 0
        while done < n:
            done += os.write(h.fd, data[done:])
        self._store(h.fid, off, data)
        h.pos = off + n
        return h.fid

    def op_read(self):
        h = self._handle()
        if h is None:
            return None
        n = self.length()
        self.note(f"read fd={h.fd} pos={h.pos} len={n}")
        got = os.read(h.fd, n)
        expected = bytes(self.content[h.fid][h.pos:h.pos + n])
        if got != expected:
            raise AssertionError(f"read at {h.pos} len {n}: "
                                 f"{describe_diff(got, expected)}")
        h.pos += len(got)
        return h.fid

    def op_pwrite(self):
        h = self._handle(writable=True)
        if h is None:
            return None
        n = self.length()
        size = len(self.content[h.fid])
        off = self.offset(max(0, min(size + PAGE, MAX_SIZE - n)))
        if h.append:
            off = size
            if off + n > MAX_SIZE:
                return None
        data = self.data(n)
        self.note(f"pwrite fd={h.fd} off={off} len={n}"
                        + (" (O_APPEND)" if h.append else ""))
        util.raw_pwrite_all(h.fd, data, off)
        self._store(h.fid, off, data)
        return h.fid

    def op_pread(self):
        h = self._handle()
        if h is None:
            return None
        size = len(self.content[h.fid])
        off = self.offset(size + 10)
        n = self.length()
        self.note(f"pread fd={h.fd} off={off} len={n}")
        got = util.raw_pread_all(h.fd, n, off)
        expected = bytes(self.content[h.fid][off:off + n])
        if got != expected:
            raise AssertionError(f"pread at {off} len {n}: "
                                 f"{describe_diff(got, expected)}")
        return h.fid

    def op_lseek(self):
        h = self._handle()
        if h is None:
            return None
        h.pos = self.offset(len(self.content[h.fid]) + PAGE)
        self.note(f"lseek fd={h.fd} to {h.pos}")
        assert os.lseek(h.fd, h.pos, os.SEEK_SET) == h.pos
        return h.fid

    def _new_size(self, fid):
        size = len(self.content[fid])
        if self.rng.random() < 0.5:
            return self.offset(size)
        return self.offset(MAX_SIZE)

    def _resize(self, fid, size):
        c = self.content[fid]
        if size < len(c):
            del c[size:]
        else:
            c.extend(bytes(size - len(c)))

    def op_truncate(self):
        name = self.some_name()
        if name is None:
            return None
        fid = self.names[name]
        size = self._new_size(fid)
        self.note(f"truncate {name} to {size}")
        os.truncate(self.path(name), size)
        self._resize(fid, size)
        return fid

    def op_ftruncate(self):
        h = self._handle(writable=True)
        if h is None:
            return None
        size = self._new_size(h.fid)
        self.note(f"ftruncate fd={h.fd} to {size}")
        os.ftruncate(h.fd, size)
        self._resize(h.fid, size)
        return h.fid

    def op_mmap_read(self):
        name = self.some_name()
        if name is None or not self.content[self.names[name]]:
            return None
        fid = self.names[name]
        size = len(self.content[fid])
        self.note(f"mmap-read {name} len={size}")
        fd = os.open(self.path(name), os.O_RDONLY)
        try:
            m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED,
                          prot=mmap.PROT_READ)
            try:
                got = m[:size]
            finally:
                m.close()
        finally:
            os.close(fd)
        if got != bytes(self.content[fid]):
            raise AssertionError(f"mmap read of {name}: "
                                 f"{describe_diff(got, self.content[fid])}")
        return fid

    def op_mmap_write(self):
        name = self.some_name()
        if name is None or not self.content[self.names[name]]:
            return None
        fid = self.names[name]
        size = len(self.content[fid])
        off = self.rng.randrange(size)
        n = min(self.length(), size - off)
        data = self.data(n)
        sync = self.rng.random() < 0.5
        self.note(f"mmap-write {name} off={off} len={n}"
                        + (" msync" if sync else ""))
        fd = os.open(self.path(name), os.O_RDWR)
        try:
            m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED,
                          prot=mmap.PROT_READ | mmap.PROT_WRITE)
            try:
                m[off:off + n] = data
                if sync:
                    m.flush()
            finally:
                m.close()
        finally:
            os.close(fd)
        self._store(fid, off, data)
        if sync:
            self.check_backing(fid, f"after msync of {name}")
        return fid

    def op_fsync(self):
        h = self._handle()
        if h is None:
            return None
        data_only = self.rng.random() < 0.3
        self.note(f"{'fdatasync' if data_only else 'fsync'} fd={h.fd}")
        (os.fdatasync if data_only else os.fsync)(h.fd)
        self.check_backing(h.fid, "after fsync")
        return h.fid

    def op_rename(self):
        name = self.some_name()
        if name is None:
            return None
        new = self.rng.choice(self.pool)
        if new == name:
            return None
        self.note(f"rename {name} -> {new}"
                        + (" (replaces)" if new in self.names else ""))
        os.rename(self.path(name), self.path(new))
        fid = self.names.pop(name)
        old = self.names.get(new)
        self.names[new] = fid
        if old is not None and not any(h.fid == old for h in self.handles):
            del self.content[old]
        return fid

    OPS = [
        ("op_open", 6), ("op_close", 3), ("op_reopen", 3), ("op_write", 10),
        ("op_read", 6), ("op_pwrite", 12), ("op_pread", 8), ("op_lseek", 3),
        ("op_truncate", 3), ("op_ftruncate", 4), ("op_mmap_read", 4),
        ("op_mmap_write", 5), ("op_fsync", 3), ("op_rename", 2),
    ]

    def step(self):
        names, weights = zip(*self.OPS)
        op = self.rng.choices(names, weights)[0]
        fid = getattr(self, op)()
        if fid is not None and fid in self.content:
            self.check_fid(fid, f"after {self.last}")

    def close_all(self):
        for h in self.handles:
            os.close(h.fd)
        self.handles.clear()


def describe_diff(got, expected):
    got, expected = bytes(got), bytes(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            return (f"first difference at byte {i} (page {i // PAGE} + "
                    f"{i % PAGE}): got {got[i:i + 8].hex()} expected "
                    f"{expected[i:i + 8].hex()}; lengths {len(got)} vs "
                    f"{len(expected)}")
    return f"lengths {len(got)} vs {len(expected)} (common prefix equal)"


# Each configuration gets an equal share of the budgets.
CONFIGS = {
    "policies": CONFIG,
    "lru": "[global]\nflush = bytes=64KiB\nmax_mapped_files = 2\n",
    "writeback": "[global]\nflush = never\nwriteback_cache = true\n",
}
SHARE = len(CONFIGS)


def run_checker(model, seconds, max_ops):
    """Runs steps until a budget ends, then closes every descriptor and
    checks every file through the mount and in the backing directory.
    Returns (ops, seconds taken, files created)."""
    started = time.monotonic()
    ops = 0
    while ops < max_ops and time.monotonic() - started < seconds:
        model.step()
        ops += 1
        if ops % VERIFY_ALL_EVERY == 0:
            model.check_all()
    model.close_all()
    model.check_all()
    for fid in list(model.content):
        model.check_backing(fid, "after closing every descriptor")
    return ops, time.monotonic() - started, model.next_fid


def journal_tail(path):
    """(number of ops logged, the last LOG_TAIL of them) of a journal."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    return len(lines), "\n".join(lines[-LOG_TAIL:])


@pytest.mark.timeout(SECONDS / SHARE + 180)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_model(config, mount_factory, tmp_path, request, mmapfs_summary):
    m = mount_factory(config=CONFIGS[config])
    seconds, max_ops = SECONDS / SHARE, max(1, MAX_OPS // SHARE)
    journal_path = tmp_path / "model-ops.log"

    def checker():
        with open(journal_path, "w", buffering=1) as journal:
            model = Model(random.Random(SEED), str(m.mnt), str(m.backing),
                          journal)
            return run_checker(model, seconds, max_ops)
    try:
        ops, elapsed, files = util.in_child(checker, timeout=seconds + 120)
    except BaseException:
        logged, tail = journal_tail(journal_path)
        print(f"model checker FAILED: config {config}, seed {SEED}, at op "
              f"{logged}\n"
              f"reproduce: MMAPFS_MODEL_SEED={SEED} "
              f"MMAPFS_MODEL_OPS={SHARE * logged} MMAPFS_BUILD=... "
              f"/usr/bin/python3 -m pytest '{request.node.nodeid}'\n"
              f"op log: {journal_path}\nlast {LOG_TAIL} ops:\n{tail}")
        raise
    mmapfs_summary(f"model checker [{config}]: seed {SEED}, {ops} ops in "
                   f"{elapsed:.1f} s ({ops / elapsed:.0f} ops/s), "
                   f"{files} files")
