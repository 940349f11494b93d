"""Crash workloads: programs that write through mmapfs and log, outside the
file system, the moment each operation was acknowledged.

Purpose: the crash checkers (crash_checkers.py) compare each crash state
with what was acknowledged before the cut.  A workload runs against a
mounted mmapfs (over recordfs) in a client process and returns a
WorkloadLog: every write with its bytes, and every fsync, directory sync,
name change and sqlite commit, each with `start` (just before the system
call) and `ack` (just after it returned), both CLOCK_MONOTONIC
nanoseconds, the clock recordfs stamps its journal with.

Workloads:
  appends     one log file per policy, records appended with O_APPEND;
  overwrites  one file per policy, fixed slots overwritten at random
              (inside the file: the daemon stores into its mapping);
  replace     many small files replaced atomically (write a temp file,
              fsync it, rename it over the name), now and then a name
              removed, in one directory per policy;
  sqlite      a WAL database under `always` with synchronous=OFF, so that
              every commit is durable through the policy alone.
Every data file is created and its directory synced before its first
write, so a state always has the name when a write is required.  Pauses
longer than the `ms=` checkers' allowance let time-based flushes show.
"""

import os
import random
import sqlite3
import time
from dataclasses import dataclass, field

import crash_records

PAGE = os.sysconf("SC_PAGE_SIZE")
SLOT = 1536                 # overwrite slots straddle page boundaries
SLOTS = 24
PAUSE = 0.9                 # seconds; longer than ms=T plus its allowance
now = time.monotonic_ns


@dataclass
class Write:
    path: str               # relative to the mount
    off: int
    data: bytes
    start: int
    ack: int


@dataclass
class Sync:
    path: str               # the file (fsync) or directory (dirsync)
    kind: str               # "fsync" | "dirsync"
    start: int
    ack: int


@dataclass
class NameEvent:
    path: str
    outcome: object         # None: absent; True: present; bytes: exactly
    start: int
    ack: int
    policy: str             # of the path (the name's durability)


@dataclass
class Commit:
    tx: int
    rows: list              # [(k, blob)]
    start: int
    ack: int


@dataclass
class WorkloadLog:
    policies: dict          # path -> policy text of every file checked
    writes: list = field(default_factory=list)
    syncs: list = field(default_factory=list)
    names: list = field(default_factory=list)
    commits: list = field(default_factory=list)
    slots: dict = field(default_factory=dict)   # path -> [(off, len)]

    def acks(self):
        return [x.ack for group in (self.writes, self.syncs, self.names,
                                    self.commits) for x in group]


def _sync(log, mnt, rel, kind, fd=None):
    own = fd is None
    if own:
        fd = os.open(os.path.join(mnt, rel) if rel else mnt,
                     os.O_RDONLY | (os.O_DIRECTORY if kind == "dirsync"
                                    else 0))
    try:
        start = now()
        os.fsync(fd)
        log.syncs.append(Sync(rel, kind, start, now()))
    finally:
        if own:
            os.close(fd)


def _create(log, mnt, rel, flags, policy):
    start = now()
    fd = os.open(os.path.join(mnt, rel), flags | os.O_CREAT | os.O_EXCL,
                 0o644)
    log.names.append(NameEvent(rel, True, start, now(), policy))
    return fd


def _mkdir(log, mnt, rel, policy):
    start = now()
    os.mkdir(os.path.join(mnt, rel))
    log.names.append(NameEvent(rel, True, start, now(), policy))


def _write(log, rel, fd, off, data, append=False):
    start = now()
    n = os.write(fd, data) if append else os.pwrite(fd, data, off)
    ack = now()
    if n != len(data):
        raise AssertionError(f"short write to {rel}: {n} of {len(data)}")
    log.writes.append(Write(rel, off, data, start, ack))


def _record_length(rng):
    r = rng.random()
    if r < 0.4:
        return rng.randint(crash_records.MIN_LEN, 300)
    if r < 0.8:
        return rng.randint(300, PAGE + 200)
    return rng.randint(PAGE, 3 * PAGE)


def _maybe_sync_or_pause(log, mnt, rng, fds, fsyncs=True, pauses=True):
    r = rng.random()
    if r < 0.06 and fsyncs:
        rel = rng.choice(sorted(fds))
        _sync(log, mnt, rel, "fsync", fds[rel])
    elif 0.06 <= r < 0.085 and pauses:
        time.sleep(PAUSE)


def appends(mnt, files, steps, seed, fsyncs=True, pauses=True):
    """Appends checksummed records to each of `files` ({name: policy});
    fsyncs=False: the workload never calls fsync(2); pauses=False: nor
    sleeps."""
    rng = random.Random(seed)
    log = WorkloadLog(dict(files))
    fds = {rel: _create(log, mnt, rel, os.O_WRONLY | os.O_APPEND,
                        files[rel]) for rel in sorted(files)}
    _sync(log, mnt, "", "dirsync")
    sizes = dict.fromkeys(fds, 0)
    counts = dict.fromkeys(fds, 0)
    tags = {rel: i + 1 for i, rel in enumerate(sorted(files))}
    try:
        for _ in range(steps):
            rel = rng.choice(sorted(fds))
            length = _record_length(rng)
            rec = crash_records.make(tags[rel], counts[rel], 0, length)
            _write(log, rel, fds[rel], sizes[rel], rec, append=True)
            log.slots.setdefault(rel, []).append((sizes[rel], length))
            sizes[rel] += length
            counts[rel] += 1
            _maybe_sync_or_pause(log, mnt, rng, fds, fsyncs, pauses)
    finally:
        for fd in fds.values():
            os.close(fd)
    return log


def overwrites(mnt, files, steps, seed):
    """Fills each of `files` with SLOTS records (version 0), makes that
    durable, then overwrites random slots with new versions.  One step in
    eight grows the file by a slot instead, with a write that starts a
    little before the end (rewriting those bytes unchanged) and ends past
    it: the daemon extends the file, then stores into its mapping."""
    rng = random.Random(seed)
    log = WorkloadLog(dict(files))
    fds = {rel: _create(log, mnt, rel, os.O_RDWR, files[rel])
           for rel in sorted(files)}
    _sync(log, mnt, "", "dirsync")
    tags = {rel: i + 1 for i, rel in enumerate(sorted(files))}
    versions = {rel: [0] * SLOTS for rel in fds}
    images = {}
    try:
        for rel, fd in fds.items():
            images[rel] = bytearray(b"".join(
                crash_records.make(tags[rel], s, 0, SLOT)
                for s in range(SLOTS)))
            _write(log, rel, fd, 0, bytes(images[rel]))
            _sync(log, mnt, rel, "fsync", fd)
            log.slots[rel] = [(s * SLOT, SLOT) for s in range(SLOTS)]
        for _ in range(steps):
            rel = rng.choice(sorted(fds))
            image, count = images[rel], len(versions[rel])
            if rng.random() < 1 / 8:
                slot, back = count, rng.randint(1, 300)
                versions[rel].append(0)
                log.slots[rel].append((slot * SLOT, SLOT))
            else:
                slot, back = rng.randrange(count), 0
                versions[rel][slot] += 1
            off = slot * SLOT
            rec = crash_records.make(tags[rel], slot, versions[rel][slot],
                                     SLOT)
            image[off:off + SLOT] = rec
            _write(log, rel, fds[rel], off - back,
                   bytes(image[off - back:off + SLOT]))
            _maybe_sync_or_pause(log, mnt, rng, fds)
    finally:
        for fd in fds.values():
            os.close(fd)
    return log


def replace(mnt, dirs, names, steps, seed, dirsync_every=6,
            root_policy="never"):
    """In each of `dirs` ({dir: policy}), replaces `names` files
    atomically: temp file written and fsynced, renamed over the name.
    Now and then a name is removed, and (every ~dirsync_every steps) the
    directory is synced, as careful applications do.  Under `always` a
    file is also rewritten in place now and then: opened with O_TRUNC
    (the empty file is durable once open returned), then one write of at
    most a page (durable once it returned)."""
    rng = random.Random(seed)
    log = WorkloadLog({})
    for d in sorted(dirs):
        _mkdir(log, mnt, d, root_policy)
    _sync(log, mnt, "", "dirsync")
    present = {d: set() for d in dirs}
    version = 0
    for _ in range(steps):
        d = rng.choice(sorted(dirs))
        name = f"f{rng.randrange(names):02d}"
        final, temp = f"{d}/{name}", f"{d}/{name}.tmp"
        policy = dirs[d]
        r = rng.random()
        if name in present[d] and r < 0.12:
            start = now()
            os.unlink(os.path.join(mnt, final))
            log.names.append(NameEvent(final, None, start, now(), policy))
            present[d].discard(name)
        elif name in present[d] and r < 0.35 and policy == "always":
            version += 1
            content = crash_records.make(1, int(name[1:]), version,
                                         rng.randint(crash_records.MIN_LEN,
                                                     PAGE))
            start = now()
            fd = os.open(os.path.join(mnt, final), os.O_WRONLY | os.O_TRUNC)
            log.names.append(NameEvent(final, b"", start, now(), policy))
            try:
                start = now()
                if os.write(fd, content) != len(content):
                    raise AssertionError(f"short write to {final}")
                log.names.append(NameEvent(final, content, start, now(),
                                           policy))
            finally:
                os.close(fd)
        else:
            version += 1
            content = crash_records.make(1, int(name[1:]), version,
                                         _record_length(rng))
            fd = _create(log, mnt, temp, os.O_WRONLY, policy)
            try:
                half = rng.randrange(len(content) + 1)
                _write(log, temp, fd, 0, content[:half])
                _write(log, temp, fd, half, content[half:])
                _sync(log, mnt, temp, "fsync", fd)
            finally:
                os.close(fd)
            start = now()
            os.rename(os.path.join(mnt, temp), os.path.join(mnt, final))
            ack = now()
            log.names.append(NameEvent(final, content, start, ack, policy))
            log.names.append(NameEvent(temp, None, start, ack, policy))
            present[d].add(name)
        if rng.random() < 1 / dirsync_every:
            _sync(log, mnt, d, "dirsync")
    return log


DB = "db/test.db"


def sqlite_wal(mnt, transactions, seed, root_policy="never"):
    """Transactions on a WAL database in db/ (policy `always`): each
    inserts 1-4 rows with checksummed blobs and sets a counter to its
    number; small autocheckpoints make the database file itself be
    rewritten often."""
    rng = random.Random(seed)
    log = WorkloadLog({DB: "always"})
    _mkdir(log, mnt, "db", root_policy)
    _sync(log, mnt, "", "dirsync")
    con = sqlite3.connect(os.path.join(mnt, DB), isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA wal_autocheckpoint=16")
        start = now()
        con.executescript("BEGIN; CREATE TABLE t(tx INTEGER, k INTEGER, "
                          "v BLOB, PRIMARY KEY(tx, k)); "
                          "CREATE TABLE counter(n INTEGER); "
                          "INSERT INTO counter VALUES (0); COMMIT;")
        log.commits.append(Commit(0, [], start, now()))
        for tx in range(1, transactions + 1):
            rows = [(k, crash_records.make(2, tx, k, rng.randint(
                crash_records.MIN_LEN, 3000)))
                    for k in range(rng.randint(1, 4))]
            start = now()
            con.execute("BEGIN")
            con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                            [(tx, k, v) for k, v in rows])
            con.execute("UPDATE counter SET n = ?", (tx,))
            con.execute("COMMIT")
            log.commits.append(Commit(tx, rows, start, now()))
            if rng.random() < 0.03:
                time.sleep(PAUSE / 3)
    finally:
        con.close()
    return log
