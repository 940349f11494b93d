"""Regular-file data operations (docs/architecture.md): open/create/read/write/flush/
release, O_APPEND, O_TRUNC, O_EXCL, writes past EOF, sparse and large files,
fsync/fdatasync with the backing file read directly, fallocate, lseek
SEEK_DATA/SEEK_HOLE, copy_file_range, timestamps, concurrent writers.
"""

import errno
import mmap
import os
import random
import stat
import threading
import time

import pytest

import util
from util import PAGE, expect_errno, fs

MiB = 1 << 20


def _fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_path(path):
    util.call(_fsync_path, path)


def test_create_write_read(mount):
    data = util.pattern(10 * PAGE + 333)
    util.write_file(mount.mnt / "f", data)
    assert util.read_file(mount.mnt / "f") == data
    assert fs.stat(mount.mnt / "f").st_size == len(data)
    assert (mount.backing / "f").read_bytes() == data


def test_create_mode_and_excl(mount):
    fd = fs.open(mount.mnt / "f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    fs.close(fd)
    assert stat.S_IMODE(os.stat(mount.backing / "f").st_mode) == 0o640
    expect_errno(errno.EEXIST, os.open, mount.mnt / "f",
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)


def test_open_errors(mount):
    expect_errno(errno.ENOENT, os.open, mount.mnt / "missing", os.O_RDONLY)
    fs.mkdir(mount.mnt / "d")
    expect_errno(errno.EISDIR, os.open, mount.mnt / "d", os.O_RDWR)
    util.write_file(mount.mnt / "f", b"")
    expect_errno(errno.ENOTDIR, os.open, mount.mnt / "f" / "x", os.O_RDONLY)
    fs.symlink("f", mount.mnt / "l")
    expect_errno(errno.ELOOP, os.open, mount.mnt / "l",
                 os.O_RDONLY | os.O_NOFOLLOW)


def test_open_nofollow_regular_file(mount):
    """O_NOFOLLOW on a regular file (tar -c, find, rsync use it) opens it;
    only a symlink as the last component is refused."""
    util.write_file(mount.mnt / "f", b"plain")
    for flags in (os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND):
        fd = fs.open(mount.mnt / "f", flags | os.O_NOFOLLOW)
        fs.close(fd)
    fd = fs.open(mount.mnt / "g", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
                 0o644)
    fs.close(fd)


def test_read_beyond_eof_and_at_offsets(mount):
    data = util.pattern(3 * PAGE)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        assert fs.pread(fd, 100, 3 * PAGE) == b""
        assert fs.pread(fd, 100, 10 * PAGE) == b""
        assert fs.pread(fd, 100, 3 * PAGE - 10) == data[-10:]
        for off in (0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 7):
            assert fs.pread(fd, 2 * PAGE, off) == data[off:off + 2 * PAGE]
    finally:
        fs.close(fd)


def test_sequential_read_write_position(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for i in range(10):
            fs.write(fd, bytes([i]) * 1000)
        assert fs.lseek(fd, 0, os.SEEK_CUR) == 10000
        fs.lseek(fd, 2500, os.SEEK_SET)
        assert fs.read(fd, 1000) == b"\x02" * 500 + b"\x03" * 500
        assert fs.lseek(fd, 0, os.SEEK_END) == 10000
    finally:
        fs.close(fd)


def test_write_past_eof_leaves_zeros(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.write(fd, b"head")
        fs.pwrite(fd, b"tail", 5 * PAGE + 3)
        assert fs.fstat(fd).st_size == 5 * PAGE + 7
        got = util.pread_all(fd, 6 * PAGE)
    finally:
        fs.close(fd)
    assert got == b"head" + bytes(5 * PAGE - 1) + b"tail"
    assert (mount.backing / "f").read_bytes() == got


def test_o_append(mount):
    util.write_file(mount.mnt / "f", b"start")
    fd = fs.open(mount.mnt / "f", os.O_WRONLY | os.O_APPEND)
    try:
        fs.lseek(fd, 0, os.SEEK_SET)
        fs.write(fd, b"-one")
        fs.pwrite(fd, b"-two", 0)  # Linux: pwrite on O_APPEND appends
        (mount.backing / "f").open("ab").write(b"-outside")
        fs.write(fd, b"-three")
    finally:
        fs.close(fd)
    # the kernel learns of the outside append only from the daemon (size
    # re-check, invalidation), so the final content is polled
    util.wait_until(lambda: util.raw_read(mount.mnt / "f") ==
                    b"start-one-two-outside-three", 5,
                    what="appends land after the outside append")


def test_o_append_concurrent_writers(mount):
    """Appends from several descriptors never overwrite each other."""
    util.write_file(mount.mnt / "log", b"")
    n_threads, n_records = 4, 200

    def appender(k):
        fd = os.open(mount.mnt / "log", os.O_WRONLY | os.O_APPEND)
        try:
            for i in range(n_records):
                os.write(fd, f"{k}:{i:04d}\n".encode())
        finally:
            os.close(fd)
    threads = [util.spawn(appender, k) for k in range(n_threads)]
    util.join_all(threads, timeout=60)
    lines = util.read_file(mount.mnt / "log").decode().splitlines()
    assert sorted(lines) == sorted(f"{k}:{i:04d}" for k in range(n_threads)
                                   for i in range(n_records))


def test_o_trunc(mount):
    util.write_file(mount.mnt / "f", util.pattern(5 * PAGE))
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_TRUNC)
    try:
        assert fs.fstat(fd).st_size == 0
        assert fs.pread(fd, 10, 0) == b""
        fs.write(fd, b"fresh")
    finally:
        fs.close(fd)
    assert util.read_file(mount.mnt / "f") == b"fresh"
    assert (mount.backing / "f").read_bytes() == b"fresh"


def test_o_trunc_while_another_reader_open(mount):
    util.write_file(mount.mnt / "f", util.pattern(4 * PAGE))
    rfd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        assert len(fs.pread(rfd, PAGE, 0)) == PAGE
        wfd = fs.open(mount.mnt / "f", os.O_WRONLY | os.O_TRUNC)
        fs.write(wfd, b"short")
        fs.close(wfd)
        assert fs.pread(rfd, PAGE, 0) == b"short"
        assert fs.pread(rfd, PAGE, 2 * PAGE) == b""
    finally:
        fs.close(rfd)


def test_empty_file(mount):
    util.write_file(mount.mnt / "empty", b"")
    assert util.read_file(mount.mnt / "empty") == b""
    fd = fs.open(mount.mnt / "empty", os.O_RDWR)
    try:
        assert fs.read(fd, 100) == b""
        fs.fsync(fd)
    finally:
        fs.close(fd)


def test_write_to_read_only_fd(mount):
    util.write_file(mount.mnt / "f", b"x")
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        expect_errno(errno.EBADF, os.write, fd, b"nope")
    finally:
        fs.close(fd)
    assert util.read_file(mount.mnt / "f") == b"x"


def _direct_io(path, data, offset):
    """Writes and reads back aligned data with O_DIRECT (page-aligned
    buffers from anonymous mmaps); returns what was read."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
    try:
        out = mmap.mmap(-1, len(data))
        out[:] = data
        assert os.pwrite(fd, out, offset) == len(data)
        back = mmap.mmap(-1, len(data))
        assert os.preadv(fd, [back], offset) == len(data)
        return bytes(back)
    finally:
        os.close(fd)


def test_o_direct(mount):
    """O_DIRECT (databases) works and is coherent with buffered readers."""
    util.write_file(mount.mnt / "f", b"b" * (4 * PAGE))
    data = util.pattern(2 * PAGE, seed=12)
    assert util.call(_direct_io, mount.mnt / "f", data, PAGE) == data
    expected = b"b" * PAGE + data + b"b" * PAGE
    assert util.read_file(mount.mnt / "f") == expected
    assert (mount.backing / "f").read_bytes() == expected


def test_large_write_and_read_1m_chunks(mount):
    data = util.pattern(8 * MiB + 5)
    util.write_file(mount.mnt / "big", data)
    assert util.read_file(mount.mnt / "big") == data
    assert (mount.backing / "big").read_bytes() == data


def test_sparse_file_stays_sparse(mount):
    fd = fs.open(mount.mnt / "sparse", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.pwrite(fd, b"A" * PAGE, 0)
        fs.pwrite(fd, b"B" * PAGE, 64 * MiB)
        fs.fsync(fd)
        assert fs.fstat(fd).st_size == 64 * MiB + PAGE
        assert fs.pread(fd, 8, 32 * MiB) == bytes(8)
    finally:
        fs.close(fd)
    bst = os.stat(mount.backing / "sparse")
    assert bst.st_size == 64 * MiB + PAGE
    assert bst.st_blocks * 512 < 4 * MiB, (
        f"backing file allocated {bst.st_blocks * 512} bytes: not sparse")


def test_large_sparse_file(mount):
    """A few hundred MiB, mostly holes: size, tail, holes read as zeros."""
    size = 300 * MiB
    fd = fs.open(mount.mnt / "huge", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.ftruncate(fd, size)
        tail = util.pattern(3 * PAGE + 9)
        util.pwrite_all(fd, tail, size - len(tail))
        util.pwrite_all(fd, tail, 150 * MiB - 5)
        assert fs.fstat(fd).st_size == size
        assert util.pread_all(fd, len(tail), size - len(tail)) == tail
        assert util.pread_all(fd, len(tail), 150 * MiB - 5) == tail
        assert util.pread_all(fd, MiB, 10 * MiB) == bytes(MiB)
        fs.fsync(fd)
    finally:
        fs.close(fd)
    with open(mount.backing / "huge", "rb") as f:
        f.seek(size - len(tail))
        assert f.read() == tail
    assert os.stat(mount.backing / "huge").st_blocks * 512 < 32 * MiB


def test_fsync_data_in_backing_file(mount):
    data = util.pattern(5 * PAGE + 1, seed=3)
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.pwrite_all(fd, data, 0)
        fs.fsync(fd)
        assert (mount.backing / "f").read_bytes() == data
        util.pwrite_all(fd, b"Z" * 10, PAGE - 5)
        fs.fdatasync(fd)
        expected = data[:PAGE - 5] + b"Z" * 10 + data[PAGE + 5:]
        assert (mount.backing / "f").read_bytes() == expected
    finally:
        fs.close(fd)


def test_close_reports_no_error(mount):
    """flush (close) succeeds after writes; data is visible after close."""
    fd = fs.open(mount.mnt / "f", os.O_WRONLY | os.O_CREAT, 0o644)
    fs.write(fd, b"closing")
    fs.close(fd)
    assert (mount.backing / "f").read_bytes() == b"closing"


def test_dup_and_fork_share_handle(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    fd2 = fs.dup(fd)
    try:
        fs.write(fd, b"one")
        fs.write(fd2, b"two")
        fs.close(fd)
        assert fs.pread(fd2, 10, 0) == b"onetwo"
    finally:
        fs.close(fd2)


def test_mtime_ctime_updated_by_write(mount):
    util.write_file(mount.mnt / "f", b"initial")
    st0 = fs.stat(mount.mnt / "f")
    b0 = os.stat(mount.backing / "f")
    time.sleep(0.1)
    fd = fs.open(mount.mnt / "f", os.O_WRONLY)
    try:
        fs.pwrite(fd, b"X", 2)
    finally:
        fs.close(fd)
    st1 = fs.stat(mount.mnt / "f")
    b1 = os.stat(mount.backing / "f")
    assert st1.st_mtime_ns > st0.st_mtime_ns
    assert st1.st_ctime_ns > st0.st_ctime_ns
    assert b1.st_mtime_ns > b0.st_mtime_ns, "backing mtime not updated"
    assert b1.st_ctime_ns > b0.st_ctime_ns, "backing ctime not updated"


def test_mtime_updated_by_truncate(mount):
    util.write_file(mount.mnt / "f", b"initial")
    m0 = fs.stat(mount.mnt / "f").st_mtime_ns
    time.sleep(0.1)
    fs.truncate(mount.mnt / "f", 2)
    assert fs.stat(mount.mnt / "f").st_mtime_ns > m0


def test_dir_mtime_updated_by_create(mount):
    fs.mkdir(mount.mnt / "d")
    m0 = fs.stat(mount.mnt / "d").st_mtime_ns
    time.sleep(0.1)
    util.write_file(mount.mnt / "d" / "f", b"")
    assert fs.stat(mount.mnt / "d").st_mtime_ns > m0


def test_fallocate_allocate_and_extend(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        util.call(util.fallocate, fd, 0, 0, 4 * PAGE)
        assert fs.fstat(fd).st_size == 4 * PAGE
        assert util.pread_all(fd, 4 * PAGE) == bytes(4 * PAGE)
        util.call(util.fallocate, fd, util.FALLOC_FL_KEEP_SIZE, 0, 16 * PAGE)
        assert fs.fstat(fd).st_size == 4 * PAGE
        fs.pwrite(fd, b"after", 4 * PAGE)
        assert fs.fstat(fd).st_size == 4 * PAGE + 5
    finally:
        fs.close(fd)
    assert os.stat(mount.backing / "f").st_blocks * 512 >= 16 * PAGE


def test_fallocate_punch_hole(mount):
    data = util.pattern(8 * PAGE, seed=9)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        fs.fsync(fd)
        blocks0 = os.stat(mount.backing / "f").st_blocks
        util.call(util.fallocate, fd,
                  util.FALLOC_FL_PUNCH_HOLE | util.FALLOC_FL_KEEP_SIZE,
                  2 * PAGE, 4 * PAGE)
        expected = data[:2 * PAGE] + bytes(4 * PAGE) + data[6 * PAGE:]
        assert fs.fstat(fd).st_size == 8 * PAGE
        assert util.pread_all(fd, 8 * PAGE) == expected
        fs.fsync(fd)
    finally:
        fs.close(fd)
    assert (mount.backing / "f").read_bytes() == expected
    assert os.stat(mount.backing / "f").st_blocks < blocks0
    # fresh open sees the hole too (no stale cached pages)
    assert util.read_file(mount.mnt / "f") == expected


def test_fallocate_punch_unaligned(mount):
    data = util.pattern(3 * PAGE, seed=2)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        util.call(util.fallocate, fd,
                  util.FALLOC_FL_PUNCH_HOLE | util.FALLOC_FL_KEEP_SIZE,
                  100, PAGE)
        assert util.pread_all(fd, 3 * PAGE) == \
            data[:100] + bytes(PAGE) + data[100 + PAGE:]
    finally:
        fs.close(fd)


def test_fallocate_zero_range(mount):
    data = util.pattern(4 * PAGE, seed=4)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        try:
            util.call(util.fallocate, fd, util.FALLOC_FL_ZERO_RANGE,
                      PAGE + 10, PAGE)
        except OSError as e:
            if e.errno == errno.EOPNOTSUPP and not _backing_has_zero_range(
                    mount.backing):
                pytest.skip("backing file system lacks FALLOC_FL_ZERO_RANGE")
            raise
        assert util.pread_all(fd, 4 * PAGE) == \
            data[:PAGE + 10] + bytes(PAGE) + data[2 * PAGE + 10:]
    finally:
        fs.close(fd)


def _backing_has_zero_range(directory):
    probe = directory / ".zero-range-probe"
    fd = os.open(probe, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"x" * PAGE)
        util.fallocate(fd, util.FALLOC_FL_ZERO_RANGE, 0, 10)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        os.unlink(probe)


def test_fallocate_tool(mount):
    proc = util.run(["fallocate", "-l", "1MiB", str(mount.mnt / "f")])
    assert proc.returncode == 0, proc.stderr
    assert fs.stat(mount.mnt / "f").st_size == MiB


def test_lseek_data_hole(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.pwrite(fd, b"D" * PAGE, 0)
        fs.pwrite(fd, b"E" * PAGE, MiB)
        fs.fsync(fd)
        size = MiB + PAGE
        assert fs.lseek(fd, 0, os.SEEK_DATA) == 0
        assert fs.lseek(fd, 0, os.SEEK_HOLE) == PAGE
        assert fs.lseek(fd, PAGE, os.SEEK_DATA) == MiB
        assert fs.lseek(fd, MiB, os.SEEK_HOLE) == size
        expect_errno(errno.ENXIO, os.lseek, fd, size, os.SEEK_DATA)
        expect_errno(errno.ENXIO, os.lseek, fd, size + 10, os.SEEK_HOLE)
        # the descriptor's position follows the answer
        fs.lseek(fd, PAGE, os.SEEK_DATA)
        assert fs.read(fd, 1) == b"E"
    finally:
        fs.close(fd)


def test_copy_file_range(mount):
    src = util.pattern(6 * PAGE + 77, seed=11)
    util.write_file(mount.mnt / "src", src)
    util.write_file(mount.mnt / "dst", b"D" * (2 * PAGE))
    fin = fs.open(mount.mnt / "src", os.O_RDONLY)
    fout = fs.open(mount.mnt / "dst", os.O_RDWR)
    try:
        copied = 0
        while copied < len(src):
            n = fs.copy_file_range(fin, fout, len(src) - copied,
                                   copied, PAGE + 1 + copied)
            assert n > 0
            copied += n
        fs.fsync(fout)
        expected = b"D" * (PAGE + 1) + src
        assert util.pread_all(fout, len(expected) + 10) == expected
    finally:
        fs.close(fin)
        fs.close(fout)
    assert (mount.backing / "dst").read_bytes() == expected
    assert util.read_file(mount.mnt / "dst") == expected


def test_copy_file_range_same_file(mount):
    data = util.pattern(4 * PAGE)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        n = fs.copy_file_range(fd, fd, PAGE, 0, 3 * PAGE)
        assert n == PAGE
        assert util.pread_all(fd, 4 * PAGE) == data[:3 * PAGE] + data[:PAGE]
    finally:
        fs.close(fd)


def test_cp_and_cmp_tools(mount, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(util.pattern(3 * MiB + 1234, seed=8))
    assert util.run(["cp", str(src), str(mount.mnt / "copy")]).returncode == 0
    assert util.run(["cmp", str(src), str(mount.mnt / "copy")]).returncode == 0
    assert util.run(["cp", "--reflink=never", str(mount.mnt / "copy"),
                     str(mount.mnt / "copy2")]).returncode == 0
    assert (mount.backing / "copy2").read_bytes() == src.read_bytes()


def test_concurrent_writers_disjoint_ranges(mount):
    n, chunk = 4, 64 * 1024 + 3
    util.write_file(mount.mnt / "f", b"")

    def writer(k):
        fd = os.open(mount.mnt / "f", os.O_WRONLY)
        try:
            data = util.pattern(chunk, seed=k)
            for rep in range(20):
                os.pwrite(fd, data, k * chunk)
        finally:
            os.close(fd)
    threads = [util.spawn(writer, k) for k in range(n)]
    util.join_all(threads, timeout=60)
    expected = b"".join(util.pattern(chunk, seed=k) for k in range(n))
    assert util.read_file(mount.mnt / "f") == expected


def test_parallel_readers_and_a_writer(mount):
    """Readers of random ranges of one shared mapping see exact data while
    a writer rewrites a disjoint region."""
    size = 16 * MiB
    data = util.pattern(size, seed=13)
    util.write_file(mount.mnt / "f", data)
    stop = threading.Event()

    def reader(seed):
        rng = random.Random(seed)
        fd = os.open(mount.mnt / "f", os.O_RDONLY)
        try:
            while not stop.is_set():
                off = rng.randrange(size // 2)
                n = rng.randrange(1, 256 * 1024)
                n = min(n, size // 2 - off)
                got = os.pread(fd, n, off)
                assert got == data[off:off + n], (off, n)
        finally:
            os.close(fd)

    def writer():
        fd = os.open(mount.mnt / "f", os.O_WRONLY)
        try:
            for i in range(200):
                os.pwrite(fd, bytes([i]) * 65536,
                          size // 2 + (i * 65536) % (size // 2))
        finally:
            os.close(fd)
    readers = [util.spawn(reader, k) for k in range(3)]
    try:
        util.join_all([util.spawn(writer)], timeout=120)
    finally:
        stop.set()
        util.join_all(readers, timeout=60)


def test_reader_during_truncate_and_grow(mount):
    """Readers racing truncate/grow/rewrite see, at every offset, either
    the data or a zero (never garbage), and the daemon survives."""
    data = bytes(b | 1 for b in util.pattern(64 * PAGE, seed=6))
    util.write_file(mount.mnt / "f", data)
    stop = threading.Event()
    errors = []

    def reader():
        try:
            fd = os.open(mount.mnt / "f", os.O_RDONLY)
            try:
                while not stop.is_set():
                    got = os.pread(fd, 64 * PAGE, 0)
                    if not all(g == 0 or g == d for g, d in zip(got, data)):
                        errors.append(f"garbage in a read of {len(got)} "
                                      f"bytes")
            finally:
                os.close(fd)
        except OSError as e:
            errors.append(e)
    threads = [util.spawn(reader) for _ in range(2)]
    try:
        fd = fs.open(mount.mnt / "f", os.O_RDWR)
        try:
            for i in range(50):
                fs.ftruncate(fd, (i % 7) * 9 * PAGE + 5)
                util.pwrite_all(fd, data, 0)
        finally:
            fs.close(fd)
    finally:
        stop.set()
        util.join_all(threads, timeout=30)
    assert not errors, errors[:5]
    assert mount.running()
    assert util.read_file(mount.mnt / "f") == data
