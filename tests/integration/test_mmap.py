"""Client mmap of files on the mount (docs/architecture.md): shared and private
mappings are coherent with read/write users of the same file, and with the
backing file after msync/fsync (read directly from the backing directory).

Each test runs in a child process (util.client_process): a page fault the
daemon fails to serve is a SIGBUS, which fails the test, not the run.
"""

import mmap
import os

import util
from util import PAGE, fs


def _map(fd, length, shared=True, writable=True):
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    flags = mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE
    return mmap.mmap(fd, length, flags=flags, prot=prot)


def mapped(fd, length, shared=True, writable=True):
    return util.call(_map, fd, length, shared, writable)


@util.client_process
def test_shared_write_seen_by_read_and_backing(mount):
    data = util.pattern(4 * PAGE, seed=1)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    rfd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        m = mapped(fd, 4 * PAGE)
        try:
            util.call(m.__setitem__, slice(PAGE - 3, PAGE + 3), b"MMAPED")
            expected = data[:PAGE - 3] + b"MMAPED" + data[PAGE + 3:]
            assert util.pread_all(rfd, 4 * PAGE) == expected
            util.call(m.flush)
            assert (mount.backing / "f").read_bytes() == expected
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)
        fs.close(rfd)
    assert util.read_file(mount.mnt / "f") == expected


@util.client_process
def test_write_seen_by_existing_shared_map(mount):
    util.write_file(mount.mnt / "f", bytes(3 * PAGE))
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        m = mapped(fd, 3 * PAGE, writable=False)
        try:
            assert util.call(m.__getitem__, slice(0, 3 * PAGE)) == \
                bytes(3 * PAGE)
            wfd = fs.open(mount.mnt / "f", os.O_WRONLY)
            fs.pwrite(wfd, b"written", 2 * PAGE + 1)
            fs.close(wfd)
            assert util.call(m.__getitem__, slice(2 * PAGE + 1, 2 * PAGE + 8)) \
                == b"written"
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)


@util.client_process
def test_fsync_makes_mmap_writes_durable(mount):
    util.write_file(mount.mnt / "f", bytes(2 * PAGE))
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        m = mapped(fd, 2 * PAGE)
        try:
            util.call(m.__setitem__, slice(10, 20), b"0123456789")
            fs.fsync(fd)
            assert (mount.backing / "f").read_bytes()[10:20] == b"0123456789"
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)


@util.client_process
def test_munmap_close_then_reopen(mount):
    """Dirty pages of an unmapped, closed file reach the daemon."""
    util.write_file(mount.mnt / "f", bytes(PAGE * 2))
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    m = mapped(fd, 2 * PAGE)
    util.call(m.__setitem__, slice(PAGE, PAGE + 5), b"HELLO")
    util.call(m.close)
    fs.close(fd)
    assert util.read_file(mount.mnt / "f")[PAGE:PAGE + 5] == b"HELLO"
    rfd = fs.open(mount.mnt / "f", os.O_RDONLY)
    fs.fsync(rfd)
    fs.close(rfd)
    assert (mount.backing / "f").read_bytes()[PAGE:PAGE + 5] == b"HELLO"


@util.client_process
def test_private_map_is_private(mount):
    data = util.pattern(2 * PAGE, seed=2)
    util.write_file(mount.mnt / "f", data)
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        m = mapped(fd, 2 * PAGE, shared=False)
        try:
            util.call(m.__setitem__, slice(0, 7), b"PRIVATE")
            assert util.call(m.__getitem__, slice(0, 7)) == b"PRIVATE"
            fs.fsync(fd)
            assert fs.pread(fd, 7, 0) == data[:7]
            assert (mount.backing / "f").read_bytes() == data
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)


@util.client_process
def test_private_map_sees_earlier_writes(mount):
    util.write_file(mount.mnt / "f", util.pattern(PAGE))
    util.write_file(mount.mnt / "f", b"new", flags=os.O_WRONLY)
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        m = mapped(fd, PAGE, shared=False, writable=False)
        try:
            assert util.call(m.__getitem__, slice(0, 3)) == b"new"
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)


@util.client_process
def test_map_after_grow(mount):
    fd = fs.open(mount.mnt / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fs.ftruncate(fd, 5 * PAGE)
        m = mapped(fd, 5 * PAGE)
        try:
            util.call(m.__setitem__, slice(5 * PAGE - 4, 5 * PAGE), b"TAIL")
            util.call(m.flush)
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)
    back = (mount.backing / "f").read_bytes()
    assert len(back) == 5 * PAGE and back.endswith(b"TAIL")


@util.client_process
def test_mmap_writes_then_write_syscall_interleaved(mount):
    util.write_file(mount.mnt / "f", bytes(4 * PAGE))
    fd = fs.open(mount.mnt / "f", os.O_RDWR)
    try:
        m = mapped(fd, 4 * PAGE)
        try:
            expected = bytearray(4 * PAGE)
            for i in range(40):
                off = (i * 997) % (4 * PAGE - 16)
                chunk = f"{i:016d}".encode()
                if i % 2:
                    util.call(m.__setitem__, slice(off, off + 16), chunk)
                else:
                    fs.pwrite(fd, chunk, off)
                expected[off:off + 16] = chunk
                assert util.call(m.__getitem__, slice(0, 4 * PAGE)) == \
                    bytes(expected)
                assert util.pread_all(fd, 4 * PAGE) == bytes(expected)
            util.call(m.flush)
            assert (mount.backing / "f").read_bytes() == bytes(expected)
        finally:
            util.call(m.close)
    finally:
        fs.close(fd)


@util.client_process
def test_backing_change_seen_by_new_map(mount):
    util.write_file(mount.mnt / "f", bytes(PAGE))
    with open(mount.backing / "f", "r+b") as f:
        f.write(b"outside")
    fd = fs.open(mount.mnt / "f", os.O_RDONLY)
    try:
        def fresh():
            m = _map(fd, PAGE, writable=False)
            try:
                return m[:7] == b"outside"
            finally:
                m.close()
        util.wait_until(fresh, timeout=5, what="mmap sees the outside write")
    finally:
        fs.close(fd)
