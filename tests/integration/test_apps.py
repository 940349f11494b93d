"""Unmodified programs on the mount (README.md): sqlite (rollback journal,
WAL, and its own mmap), tar, git and dd work, and what they leave in the
backing directory is what they wrote.  Programs run as subprocesses with
deadlines; sqlite, which maps the database, runs in a child process.
"""

import os
import sqlite3

import pytest

import util
from util import fs


def _sqlite_workload(path, journal_mode, mmap_size):
    db = sqlite3.connect(path, timeout=5)
    try:
        db.execute(f"PRAGMA journal_mode={journal_mode}")
        db.execute(f"PRAGMA mmap_size={mmap_size}")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
        for batch in range(20):
            with db:
                db.executemany("INSERT INTO t VALUES (?, ?)",
                               [(batch * 100 + i, os.urandom(100 + i * 7))
                                for i in range(100)])
        with db:
            db.execute("DELETE FROM t WHERE k % 3 = 0")
            db.execute("UPDATE t SET v = zeroblob(5000) WHERE k % 7 = 0")
        db.execute("VACUUM")
        count = db.execute("SELECT count(*) FROM t").fetchone()[0]
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        return count, check
    finally:
        db.close()


@pytest.mark.parametrize("journal_mode,mmap_size", [
    ("DELETE", 0), ("WAL", 0), ("DELETE", 1 << 26), ("WAL", 1 << 26)])
def test_sqlite(mount, journal_mode, mmap_size):
    path = str(mount.mnt / "app.db")
    count, check = util.in_child(_sqlite_workload, path, journal_mode,
                                 mmap_size, timeout=120)
    expected = 2000 - len([k for k in range(2000) if k % 3 == 0])
    assert (count, check) == (expected, "ok")

    def reopen_backing():
        db = sqlite3.connect(mount.backing / "app.db")
        try:
            return (db.execute("SELECT count(*) FROM t").fetchone()[0],
                    db.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            db.close()
    assert util.in_child(reopen_backing) == (expected, "ok")


def test_tar_roundtrip(mount, tmp_path):
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    for i in range(50):
        (src / "sub" / f"f{i}").write_bytes(util.pattern(i * 997, seed=i))
    (src / "sub" / "deeper" / "big").write_bytes(util.pattern(3 << 20))
    os.symlink("sub/f1", src / "link")
    archive = tmp_path / "a.tar"
    assert util.run(["tar", "-C", str(src), "-cf", str(archive), "."]
                    ).returncode == 0
    proc = util.run(["tar", "-C", str(mount.mnt), "-xf", str(archive)],
                    timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = util.run(["diff", "-r", "--no-dereference", str(src),
                     str(mount.mnt)], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = util.run(["diff", "-r", "--no-dereference", str(src),
                     str(mount.backing)], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    back = tmp_path / "b.tar"
    proc = util.run(["tar", "-C", str(mount.mnt), "-cf", str(back), "."],
                    timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_git_commit_and_fsck(mount):
    repo = mount.mnt / "repo"
    fs.mkdir(repo)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t",
               HOME=str(mount.mnt))

    def git(*args):
        proc = util.run(["git", "-C", str(repo), *args], env=env,
                        timeout=60)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout
    git("init", "-q")
    for i in range(5):
        util.write_file(repo / f"file{i}.txt", f"version {i}\n".encode() * 100)
        git("add", ".")
        git("commit", "-q", "-m", f"commit {i}")
    git("gc", "-q")
    git("fsck", "--strict")
    assert git("rev-list", "--count", "HEAD").strip() == "5"


def test_dd_direct_and_sync(mount):
    proc = util.run(["dd", "if=/dev/urandom", f"of={mount.mnt / 'dd.bin'}",
                     "bs=64k", "count=64", "conv=fsync", "status=none"],
                    timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert util.read_file(mount.mnt / "dd.bin") == \
        (mount.backing / "dd.bin").read_bytes()
    proc = util.run(["dd", f"if={mount.mnt / 'dd.bin'}",
                     f"of={mount.mnt / 'dd.copy'}", "bs=1M", "oflag=sync",
                     "status=none"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (mount.backing / "dd.copy").read_bytes() == \
        (mount.backing / "dd.bin").read_bytes()
