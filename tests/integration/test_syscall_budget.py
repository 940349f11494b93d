"""What the daemon spends per request, counted (strace -c of the daemon's
every thread): a budget of system calls per new small file and per
steady-state 4 KiB overwrite under `never`, so that they cannot creep
back up unnoticed. Each test prints its counts in the summary section.

Budgets are the counts measured when they were set (docs/performance.md,
"System calls per operation"), rounded up a little for the watcher
thread's wake-ups; the transport's own calls (read and writev of
/dev/fuse) are included. Lower them when the daemon gets cheaper.
"""

import os

import util
from util import PAGE, fs

NEW_FILES = 200
OVERWRITES = 1000
NEW_FILE_BUDGET = 44     # measured 41.4-41.8 (6 requests: 12 of them transport)
OVERWRITE_BUDGET = 5.5   # measured 5.03-5.18: read, 2 fstat, mincore, writev


def _top(counts, n=6):
    return ", ".join(f"{name} {k}" for name, k in
                     sorted(counts.items(), key=lambda kv: -kv[1])[:n])


def _new_files(mnt, n):
    for i in range(n):
        fd = os.open(mnt / f"n{i}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o644)
        try:
            os.write(fd, b"x" * PAGE)
        finally:
            os.close(fd)


def test_syscalls_per_new_small_file(mount, tmp_path, mmapfs_summary):
    """Create, write 4 KiB, close: LOOKUP, CREATE, GETXATTR, WRITE, FLUSH
    and RELEASE reach the daemon."""
    with util.SyscallCount(mount.proc.pid, tmp_path / "new.strace") as c:
        util.call(_new_files, mount.mnt, NEW_FILES, timeout=60)
    per_file = c.total / NEW_FILES
    mmapfs_summary(f"syscalls: {per_file:.1f} per new 4 KiB file "
                   f"(budget {NEW_FILE_BUDGET}; {_top(c.counts)})")
    assert per_file <= NEW_FILE_BUDGET, c.counts
    assert fs.stat(mount.mnt / f"n{NEW_FILES - 1}").st_size == PAGE


def _overwrite(fd, n):
    for i in range(n):
        os.pwrite(fd, b"z" * PAGE, (i % 16) * PAGE)


def test_syscalls_per_steady_state_overwrite(mount, tmp_path,
                                             mmapfs_summary):
    """4 KiB overwrites of resident pages of an open file under `never`:
    one WRITE request each, nothing to sync."""
    fd = fs.open(mount.mnt / "big", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, b"y" * (16 * PAGE), 0)
        with util.SyscallCount(mount.proc.pid,
                               tmp_path / "over.strace") as c:
            util.call(_overwrite, fd, OVERWRITES, timeout=60)
    finally:
        fs.close(fd)
    per_write = c.total / OVERWRITES
    mmapfs_summary(f"syscalls: {per_write:.2f} per steady-state 4 KiB "
                   f"WRITE under never (budget {OVERWRITE_BUDGET}; "
                   f"{_top(c.counts)})")
    assert per_write <= OVERWRITE_BUDGET, c.counts
    for sync in ("fsync", "fdatasync", "msync"):
        assert sync not in c.counts, c.counts
