"""Helpers for the mmapfs integration tests.

Design: every operation a test performs on the mounted file system runs in
a worker thread and is waited for with a deadline (call(), the `fs` proxy
of the os module, run() for subprocesses, run_as() for operations under
another uid).  A hung daemon therefore fails the test with OpTimeout instead
of hanging the whole run; the fixture in conftest.py then unmounts lazily
and kills the daemon, which aborts the FUSE connection and frees the
abandoned worker thread.

Threads: one worker thread serves call() at a time.  After a timeout the
stuck worker is abandoned (it is a daemon thread, so it never blocks
interpreter exit) and the next call() starts a fresh one.  Tests that want
real concurrency start their own threads and join them with join_all().

The ctypes wrappers cover what the os module lacks: renameat2 flags,
fallocate modes, utimensat with UTIME_NOW/UTIME_OMIT.  They raise OSError
with the C errno, as the os module does.
"""

import ctypes
import ctypes.util
import errno
import faulthandler
import functools
import json
import os
import pickle
import queue
import select
import signal
import stat
import subprocess
import sys
import threading
import time
import traceback

OP_TIMEOUT = float(os.environ.get("MMAPFS_OP_TIMEOUT", "30"))
PAGE = os.sysconf("SC_PAGE_SIZE")

# Daemon log lines that fail a test: sanitizer reports and crashes.
SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "ThreadSanitizer",
    "stack smashing detected",
    "double free or corruption",
    "malloc(): ",
    "free(): ",
)


class OpTimeout(AssertionError):
    """A client operation on the mount did not return within its deadline."""


class _Worker:
    def __init__(self):
        self.jobs = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, daemon=True,
                                       name="mmapfs-client-op")
        self.thread.start()

    def _loop(self):
        while True:
            fn, args, kwargs, box, done = self.jobs.get()
            try:
                box.append((True, fn(*args, **kwargs)))
            except BaseException as e:  # handed back to the caller
                box.append((False, e))
            done.set()


_worker = None
_worker_lock = threading.Lock()


def _describe(fn, args):
    name = getattr(fn, "__qualname__", repr(fn))
    shown = ", ".join(repr(a) if len(repr(a)) < 80 else repr(a)[:77] + "..."
                      for a in args)
    return f"{name}({shown})"


def call(fn, *args, timeout=None, **kwargs):
    """Runs fn(*args, **kwargs) in the worker thread and returns its result
    (or raises its exception); raises OpTimeout after `timeout` seconds."""
    global _worker
    limit = OP_TIMEOUT if timeout is None else timeout
    with _worker_lock:
        if _worker is None:
            _worker = _Worker()
        worker = _worker
    done = threading.Event()
    box = []
    worker.jobs.put((fn, args, kwargs, box, done))
    if not done.wait(limit):
        with _worker_lock:
            if _worker is worker:
                _worker = None
        raise OpTimeout(f"{_describe(fn, args)} did not return within "
                        f"{limit:g} s (daemon hung?)")
    ok, value = box[0]
    if ok:
        return value
    raise value


class Timed:
    """Proxy of a module whose functions run through call(): fs.stat(p)."""

    def __init__(self, module, timeout=None):
        self._module = module
        self._timeout = timeout

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            return call(attr, *args, timeout=self._timeout, **kwargs)
        timed.__name__ = name
        return timed


fs = Timed(os)


def expect_errno(code, fn, *args, **kwargs):
    """Asserts that fn(*args) (run through call()) fails with errno code."""
    try:
        result = call(fn, *args, **kwargs)
    except OSError as e:
        assert e.errno == code, (
            f"{_describe(fn, args)}: expected {errno.errorcode[code]}, "
            f"got {errno.errorcode.get(e.errno, e.errno)} ({e})")
        return e
    raise AssertionError(f"{_describe(fn, args)}: expected "
                         f"{errno.errorcode[code]}, succeeded with {result!r}")


def _write_file(path, data, flags):
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    call(_write_file, path, data, flags)


def raw_read(path):
    """Reads a whole file without a deadline: for use inside call() and
    wait_until() predicates, which already run in the worker."""
    with open(path, "rb") as f:
        return f.read()


def read_file(path):
    return call(raw_read, path)


def stats_rows(mnt, raw=False):
    """The mount's .stats/files as {path: {column: text}} (paths as
    printed, escapes not undone). raw: plain I/O, for wait_until()
    predicates (which already run under call())."""
    path = os.path.join(str(mnt), ".stats", "files")
    lines = (raw_read(path) if raw else read_file(path)).decode()
    lines = lines.split("\n")
    cols = lines[0].split("\t")
    return {r[0]: dict(zip(cols, r))
            for r in (line.split("\t") for line in lines[1:-1])}


def raw_pread_all(fd, size, offset):
    """Untimed pread loop (for code already running in the worker)."""
    chunks = []
    while size > 0:
        chunk = os.pread(fd, min(size, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def pread_all(fd, size, offset=0):
    """Reads up to size bytes at offset, looping over short reads."""
    return call(raw_pread_all, fd, size, offset)


def raw_pwrite_all(fd, data, offset):
    """Untimed pwrite loop (for code already running in the worker)."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def pwrite_all(fd, data, offset):
    call(raw_pwrite_all, fd, data, offset)


def open_mapped(path, flags=os.O_RDWR):
    """Opens path (created empty first if missing) with an open that
    does not create it: mmapfs maps a file that its open created (or
    truncated) only once a request needs the mapping, so a test about a
    file's mapping (eviction, .stats/files' `mapped`) opens an existing
    one, which is mapped at its first open."""
    if not call(os.path.exists, path):
        fs.close(fs.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
    return fs.open(path, flags)


def pattern(size, seed=0):
    """Deterministic non-repeating-looking bytes (page-misaligned period)."""
    period = 4093
    base = bytes(((i * 131 + seed * 17 + (i >> 8)) & 0xFF)
                 for i in range(period))
    reps = size // period + 1
    return (base * reps)[:size]


class SyscallTrace:
    """strace(1) of every thread of a running process, for a few system
    calls, while a `with` block runs: `with SyscallTrace(pid, ["fsync"],
    path) as t: ...` then t.calls() lists the traced lines (strace -f
    output, one call a line). The trace is attached before the block starts
    (every thread shows a tracer) and detached when it ends."""

    def __init__(self, pid, syscalls, out):
        self.pid = pid
        self.syscalls = syscalls
        self.out = out
        self.proc = None

    def _attached(self):
        tasks = f"/proc/{self.pid}/task"
        for tid in os.listdir(tasks):
            try:
                with open(f"{tasks}/{tid}/status") as f:
                    if "TracerPid:\t0\n" in f.read():
                        return False
            except FileNotFoundError:
                continue
        return True

    def _argv(self):
        return ["strace", "-f", "-qq", "-p", str(self.pid), "-o",
                str(self.out), "-e", "trace=" + ",".join(self.syscalls)]

    def __enter__(self):
        self.proc = subprocess.Popen(
            self._argv(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(self._attached, timeout=10, what="strace attached")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return False

    def calls(self, name=None):
        """The traced lines (of syscall `name` only, when given)."""
        try:
            lines = open(self.out).read().splitlines()
        except FileNotFoundError:
            return []
        lines = [l for l in lines if "(" in l and "+++" not in l]
        if name:
            lines = [l for l in lines if f" {name}(" in l or
                     l.startswith(f"{name}(")]
        return lines



class SyscallCount(SyscallTrace):
    """strace -c of every thread of a running process while a `with` block
    runs; afterwards .counts maps each system call to how many times the
    process made it, and .total is their sum."""

    def __init__(self, pid, out):
        super().__init__(pid, [], out)
        self.counts = {}
        self.total = 0

    def _argv(self):
        return ["strace", "-f", "-qq", "-c", "-p", str(self.pid), "-o",
                str(self.out)]

    def __exit__(self, *exc):
        super().__exit__(*exc)
        try:
            lines = open(self.out).read().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            fields = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if (len(fields) >= 5 and fields[0][0].isdigit() and
                    fields[-1] != "total"):
                self.counts[fields[-1]] = int(fields[3])
        self.total = sum(self.counts.values())
        return False


def stop_fuse_server(proc, mnt, name, timeout):
    """Unmounts mnt, served by proc (a FUSE server the test started:
    faultfs, recordfs), and reaps proc, killing it by its pid when it does
    not exit; a lazy unmount is the last resort. Returns what went wrong
    ('' when nothing did)."""
    problems = []
    try:
        if is_fuse_mounted(mnt):
            r = run(["fusermount3", "-u", str(mnt)], timeout=timeout)
            if r.returncode != 0 and is_fuse_mounted(mnt):
                problems.append(f"fusermount3 -u: {r.stderr.strip()}")
                run(["fusermount3", "-uz", str(mnt)], timeout=timeout)
    finally:
        try:
            status = proc.wait(timeout)
            if status != 0:
                problems.append(f"{name} exited with status {status}")
        except subprocess.TimeoutExpired:
            problems.append(f"{name} pid {proc.pid} did not exit: killed")
            proc.kill()
            proc.wait(timeout)
        if is_fuse_mounted(mnt):
            run(["fusermount3", "-uz", str(mnt)], timeout=timeout)
            problems.append(f"{mnt} was still mounted")
    return "\n".join(problems)


def run(argv, timeout=None, check=False, **kwargs):
    """Runs a command with captured text output and a deadline, like
    subprocess.run, but never waits without bound: a child stuck in the
    kernel on a hung mount (where even SIGKILL waits for the daemon) is
    left behind and OpTimeout raised; it ends once the fixture kills the
    daemon."""
    limit = OP_TIMEOUT if timeout is None else timeout
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        raise OpTimeout(f"{argv} did not finish within {limit:g} s") from None
    result = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check:
        result.check_returncode()
    return result


def in_child(fn, *args, timeout=None, fault_trace=True, **kwargs):
    """Runs fn(*args, **kwargs) in a forked child process and returns its
    result (which must pickle) or raises its error, with the child's
    traceback in the message.

    Client code that touches mmap'ed pages of the mount runs here: a page
    the daemon fails to serve raises SIGBUS, which would kill the whole
    pytest run; in a child it fails only its test.  The child gets its own
    call() worker.  After `timeout` seconds, or when the parent is
    interrupted (per-test timeout), the child is killed by its pid.
    fault_trace=False: a child that may die of a signal on purpose (SIGBUS
    past an outside truncation) does so without the Python fault handler's
    "Fatal Python error" trace; its death is still reported."""
    global _worker
    limit = OP_TIMEOUT * 10 if timeout is None else timeout
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _worker = None
        if not fault_trace:
            faulthandler.disable()
        try:
            payload = ("ok", fn(*args, **kwargs))
        except BaseException as e:
            payload = ("error", "".join(traceback.format_exception(e)))
        try:
            data = pickle.dumps(payload)
        except Exception as e:
            data = pickle.dumps(("error", f"result does not pickle: {e}"))
        with os.fdopen(w, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + limit
    try:
        with os.fdopen(r, "rb") as pipe:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OpTimeout(f"client process {_describe(fn, args)} "
                                    f"still running after {limit:g} s")
                ready, _, _ = select.select([pipe], [], [], left)
                if ready:
                    chunk = os.read(pipe.fileno(), 1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        pid = 0
    finally:
        if pid:
            _kill_child(pid)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        hint = (": a page of a client mmap could not be read or written "
                "(the daemon answered an error to the page fault)"
                if sig == "SIGBUS" else "")
        raise AssertionError(f"client process {_describe(fn, args)} was "
                             f"killed by {sig}{hint}")
    if not chunks:
        raise AssertionError(f"client process exited ({status}) silently")
    payload = pickle.loads(b"".join(chunks))
    if payload[0] == "ok":
        return payload[1]
    raise AssertionError(f"in client process:\n{payload[1]}")


def _kill_child(pid):
    """SIGKILLs our child and reaps it if it dies within 2 s (a child stuck
    in the kernel on a hung mount dies once the daemon is killed)."""
    os.kill(pid, signal.SIGKILL)
    for _ in range(40):
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.05)


def client_process(test):
    """Decorator: runs a test function in a child process (in_child)."""
    @functools.wraps(test)
    def run_in_child(*args, **kwargs):
        return in_child(test, *args, **kwargs)
    return run_in_child


class Worker(threading.Thread):
    """A daemon thread that keeps the exception its target raised, so
    join_all() can hand it to the test."""

    def __init__(self, target, *args):
        super().__init__(target=target, args=args, daemon=True)
        self.error = None

    def run(self):
        try:
            super().run()
        except BaseException as e:  # handed to join_all()
            self.error = e


def spawn(target, *args):
    """Starts target(*args) in a Worker."""
    t = Worker(target, *args)
    t.start()
    return t


def join_all(threads, timeout=None):
    """Joins threads under one deadline; raises OpTimeout if any is stuck,
    else the first exception a Worker raised."""
    deadline = time.monotonic() + (OP_TIMEOUT if timeout is None else timeout)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise OpTimeout(f"thread {t.name} still running at its deadline")
    for t in threads:
        if getattr(t, "error", None) is not None:
            raise t.error


O_PATH = 0o10000000


def daemon_holds_open(m, name):
    """True while the daemon of mount m holds a descriptor of the backing
    file name other than the inode's O_PATH one: its mapping's (also while
    evicted), or an open's own. False once its last release has finished.
    Plain I/O on /proc: usable in wait_until predicates."""
    target = str(m.backing / name)
    proc = f"/proc/{m.proc.pid}"
    for fd in os.listdir(f"{proc}/fd"):
        try:
            link = os.readlink(f"{proc}/fd/{fd}")
            with open(f"{proc}/fdinfo/{fd}") as f:
                flags = next(int(line.split()[1], 8) for line in f
                             if line.startswith("flags:"))
        except (OSError, StopIteration):
            continue
        if link.removesuffix(" (deleted)") == target and not flags & O_PATH:
            return True
    return False


def wait_until(predicate, timeout=5.0, interval=0.05, what="condition"):
    """Polls predicate() (run through call()) until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        value = call(predicate)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


# ---- operations as another user ------------------------------------------

# Runs in a child python under the target credentials.  E(fn, *args) returns
# "OK" or the errno name, so a test asserts on permission outcomes; R(fn,
# *args) returns the value (or the errno name).  The snippet's `result` is
# printed as JSON.
_AS_USER_PRELUDE = r"""
import errno, json, os, stat, sys
def E(fn, *a, **k):
    try:
        fn(*a, **k)
        return "OK"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def R(fn, *a, **k):
    try:
        return fn(*a, **k)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def create(path, mode=0o644, data=b""):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, data)
    os.close(fd)
def readall(path):
    with open(path, "rb") as f:
        return f.read().decode("latin-1")
def writeall(path, data):
    with open(path, "r+b") as f:
        f.write(data)
result = None
"""


def run_as(uid, gid, code, groups=(), timeout=None):
    """Runs python `code` as uid/gid with supplementary groups in a child
    process (cwd /, umask 022) and returns its JSON-decoded `result`."""
    script = _AS_USER_PRELUDE + code + "\nprint(json.dumps(result))\n"
    proc = run([sys.executable, "-I", "-c", script], timeout=timeout,
               user=uid, group=gid, extra_groups=list(groups), cwd="/",
               umask=0o022)
    assert proc.returncode == 0, (
        f"snippet as uid {uid} failed (status {proc.returncode}):\n"
        f"{code}\n--- stderr:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- syscalls the os module does not offer -------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                            ctypes.c_char_p, ctypes.c_uint]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p,
                            ctypes.POINTER(_Timespec), ctypes.c_int]


def _check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def renameat2(old, new, flags):
    _check(_libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD,
                           os.fsencode(new), flags), "renameat2")


def fallocate(fd, mode, offset, length):
    _check(_libc.fallocate(fd, mode, offset, length), "fallocate")


def utimensat(path, atime, mtime, follow=True):
    """atime/mtime: (sec, nsec) tuples, or UTIME_NOW / UTIME_OMIT."""
    def ts(t):
        if t in (UTIME_NOW, UTIME_OMIT):
            return _Timespec(0, t)
        return _Timespec(t[0], t[1])
    times = (_Timespec * 2)(ts(atime), ts(mtime))
    flags = 0 if follow else 0x100  # AT_SYMLINK_NOFOLLOW
    _check(_libc.utimensat(AT_FDCWD, os.fsencode(path), times, flags),
           "utimensat")


# ---- inspection ----------------------------------------------------------

def mounts():
    """Mount points (unescaped) and fs types from /proc/self/mounts."""
    result = []
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            point = fields[1]
            for esc, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"),
                            ("\\134", "\\")):
                point = point.replace(esc, ch)
            result.append((point, fields[2]))
    return result


def is_fuse_mounted(path):
    """Whether a FUSE file system is mounted at path (absolute, without
    symlinks).  Only reads /proc: a stat of the mountpoint would hang on a
    hung daemon."""
    path = os.path.abspath(path)
    return any(p == path and t.startswith("fuse") for p, t in mounts())


def daemon_pids(daemon, arg):
    """Pids of processes running the daemon binary with arg (e.g. the
    mountpoint) among their arguments: a daemonized mmapfs the test
    started."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0] == os.fsencode(str(daemon)) and \
                os.fsencode(str(arg)) in argv:
            pids.append(int(entry))
    return pids


def sanitizer_lines(text):
    """The lines of a daemon log that report a sanitizer error or crash."""
    return [line for line in text.splitlines()
            if any(p in line for p in SANITIZER_PATTERNS)]


def kind(mode):
    for test, name in ((stat.S_ISREG, "reg"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISLNK, "lnk"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISCHR, "chr"), (stat.S_ISBLK, "blk"),
                       (stat.S_ISSOCK, "sock")):
        if test(mode):
            return name
    return "?"
