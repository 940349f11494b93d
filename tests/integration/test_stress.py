"""Concurrency stress through the mount: several clients at once.

Three threads each run the model checker of test_model.py on their own
files (so each has an exact model) while a fourth churns the namespace
(create, write, rename, link, unlink, with every step checked) and a fifth
lists and stats the root, all in a child process (a client mmap access
the daemon fails to serve is a SIGBUS there).  The config caps mappings at
three, so mapping eviction, remapping, lookups and FORGETs race with data
operations.  Any error, mismatch or daemon crash fails the test.

Knobs: MMAPFS_STRESS_SECONDS (default 12), MMAPFS_MODEL_SEED (shared with
test_model.py: thread k uses seed + k).
"""

import errno
import os
import random
import threading
import time

import pytest

import util
from test_model import (LOG_TAIL, SEED, VERIFY_ALL_EVERY, Model,
                        journal_tail)

SECONDS = float(os.environ.get("MMAPFS_STRESS_SECONDS", "12"))
CONFIG = """\
[global]
flush = bytes=32KiB
max_mapped_files = 3

[match t0*]
flush = always
"""


def run_model(model, stop, counts, k):
    try:
        while not stop.is_set():
            model.step()
            counts[k] += 1
            if counts[k] % VERIFY_ALL_EVERY == 0:
                model.check_all()
        model.close_all()
        model.check_all()
    except BaseException:
        stop.set()
        raise


def churn(mnt, stop, counts, k):
    d = os.path.join(mnt, "churn")
    i = 0
    try:
        while not stop.is_set():
            data = f"churn {i} ".encode() * (1 + i % 300)
            c, r, h = (os.path.join(d, f"{p}{i}") for p in "crh")
            fd = os.open(c, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
            assert os.stat(c).st_size == len(data)
            os.rename(c, r)
            os.link(r, h)
            os.unlink(r)
            assert util.raw_read(h) == data, f"churn file {i} corrupted"
            assert os.stat(h).st_nlink == 1
            os.unlink(h)
            i += 1
            counts[k] += 1
    except BaseException:
        stop.set()
        raise


def lister(mnt, stop, counts, k):
    try:
        while not stop.is_set():
            for name in os.listdir(mnt):
                try:
                    os.lstat(os.path.join(mnt, name))
                except FileNotFoundError:
                    pass  # renamed or removed meanwhile
            counts[k] += 1
    except BaseException:
        stop.set()
        raise


def run_clients(mnt, backing, journals):
    """The five client threads for SECONDS; returns their counts."""
    stop = threading.Event()
    models = [Model(random.Random(SEED + k), mnt, backing, journal,
                    pool=(f"t{k}a", f"t{k}b", f"t{k}c"))
              for k, journal in enumerate(journals)]
    counts = [0] * 5
    threads = [util.spawn(run_model, model, stop, counts, k)
               for k, model in enumerate(models)]
    threads.append(util.spawn(churn, mnt, stop, counts, 3))
    threads.append(util.spawn(lister, mnt, stop, counts, 4))
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.1)
    stop.set()
    util.join_all(threads, timeout=60)
    return counts


@pytest.mark.timeout(SECONDS + 180)
def test_parallel_clients(mount_factory, tmp_path, mmapfs_summary):
    m = mount_factory(config=CONFIG)
    util.call(os.mkdir, m.mnt / "churn")
    paths = [tmp_path / f"stress-model{k}.log" for k in range(3)]

    def clients():
        journals = [open(p, "w", buffering=1) for p in paths]
        try:
            return run_clients(str(m.mnt), str(m.backing), journals)
        finally:
            for j in journals:
                j.close()
    try:
        counts = util.in_child(clients, timeout=SECONDS + 120)
    except BaseException:
        for k, p in enumerate(paths):
            logged, tail = journal_tail(p)
            print(f"model thread {k} (seed {SEED + k}), {logged} ops, "
                  f"last {LOG_TAIL}:\n{tail}")
        print(f"reproduce (timing-dependent): MMAPFS_MODEL_SEED={SEED}")
        raise
    assert m.running()
    assert util.call(os.listdir, m.mnt / "churn") == []
    mmapfs_summary(f"stress: seed {SEED}, {sum(counts[:3])} model ops, "
                   f"{counts[3]} churn rounds, {counts[4]} listings "
                   f"in {SECONDS:g} s")


def test_lookup_forget_churn(mount):
    """Many short-lived names with reads in flight: lookups, FORGETs and
    releases race (the kernel forgets inodes of unlinked files)."""
    def worker(k):
        for i in range(300):
            p = os.path.join(mount.mnt, f"w{k}-{i}")
            with open(p, "wb") as f:
                f.write(bytes([i % 256]) * 5000)
            with open(p, "rb") as f:
                assert f.read() == bytes([i % 256]) * 5000
            os.unlink(p)
            try:
                os.stat(p)
            except OSError as e:
                assert e.errno == errno.ENOENT
            else:
                raise AssertionError(f"{p} still there after unlink")
    threads = [util.spawn(worker, k) for k in range(4)]
    util.join_all(threads, timeout=120)
    assert util.call(os.listdir, mount.mnt) == []
