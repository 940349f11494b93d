"""pytest fixtures that mount the real mmapfs daemon (tests/integration/README.md).

Design: a test asks for `mount` (a default mount: no config, no options)
or for `mount_factory` and calls it with config text and extra -o options.
Each mount gets a backing directory and a mountpoint in the test's tmp_path
(or, with world=True, in a fresh 0755 directory under /tmp that other uids
can traverse), starts `mmapfs BACKING MNT -f [-o config=FILE,...]` with its
output appended to a log file, and waits for the mount with a deadline,
failing fast when the daemon exits first.

Invariants, enforced in teardown for every mount a test made, even when
the test failed half-way:
  - the mountpoint is unmounted (fusermount3 -u, then -uz when busy);
  - the daemon exits within EXIT_TIMEOUT, else it is killed by its own pid
    (which aborts the FUSE connection and frees any stuck client thread);
  - the test fails when the daemon's exit status was not 0, when it had to
    be killed, or when its log holds a sanitizer report or a crash;
  - no mount is left behind (checked against /proc/self/mounts).
On failure the report carries a command line that reproduces the mount and
the test, and the tail of the daemon log.

MMAPFS_TRANSPORT=dev|io_uring runs every mount on that transport
(`-o transport=...`, unless the test chooses one itself, by option or
config key): scripts/test.sh
runs the suite once per transport the kernel offers.

Every test gets a per-test timeout: pytest-timeout's marker when the plugin
is installed (scripts/install-deps.sh installs it), else a SIGALRM in the
main thread.  Client operations have their own, shorter, deadlines (util).
"""

import errno
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import util

REPO = Path(__file__).resolve().parents[2]
BUILD = os.environ.get("MMAPFS_BUILD", "build")
DAEMON = REPO / BUILD / "src" / "fs" / "mmapfs"
MOUNT_TIMEOUT = float(os.environ.get("MMAPFS_MOUNT_TIMEOUT", "20"))
EXIT_TIMEOUT = float(os.environ.get("MMAPFS_EXIT_TIMEOUT", "20"))
TEST_TIMEOUT = float(os.environ.get("MMAPFS_TEST_TIMEOUT", "240"))
LOG_TAIL_LINES = 300
TRANSPORT = os.environ.get("MMAPFS_TRANSPORT", "")


def daemon_gone_errnos(transport=None):
    """The errors of client requests in flight when the daemon dies:
    ENOTCONN or ECONNABORTED; over io_uring also ECANCELED (the kernel
    ends a request it was handing to the dead daemon's ring with it).
    transport: the mount's (default: the suite's; unset means auto, which
    may be the ring)."""
    transport = transport or TRANSPORT
    gone = {errno.ENOTCONN, errno.ECONNABORTED}
    return gone if transport == "dev" else gone | {errno.ECANCELED}

# Sanitizer settings for a daemon built with them (ignored otherwise).
# A user's own ASAN_OPTIONS/UBSAN_OPTIONS come after ours and win.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def daemon_env():
    env = dict(os.environ)
    for key, ours in SANITIZER_ENV.items():
        env[key] = ours + (":" + env[key] if env.get(key) else "")
    return env


def env_prefix():
    return " ".join(f"{k}={shlex.quote(daemon_env()[k])}"
                    for k in SANITIZER_ENV)


class Mount:
    """One mmapfs instance: .backing, .mnt, .proc, .log, .config."""

    def __init__(self, index, backing, mnt, log, config_file, config, opts,
                 args, nodeid):
        self.index = index
        self.backing = backing
        self.mnt = mnt
        self.log = log
        self.config_file = config_file
        self.config = config_file if config is not None else None
        self.opts = list(opts)
        self.args = list(args)
        self.nodeid = nodeid
        self.proc = None
        self.reaped = False
        self.problems = []
        self.expected_status = 0

    def argv(self):
        argv = [str(DAEMON), str(self.backing), str(self.mnt), "-f"]
        opts = list(self.opts)
        if self.config is not None:
            opts.insert(0, f"config={self.config}")
        if TRANSPORT and not self.chooses_transport(opts):
            opts.append(f"transport={TRANSPORT}")
        if opts:
            argv += ["-o", ",".join(opts)]
        return argv + self.args

    def chooses_transport(self, opts):
        """True when the test set the transport itself (an -o transport=
        or a transport key in its config)."""
        if any(o.startswith("transport=") for o in opts):
            return True
        if self.config is None:
            return False
        try:
            text = Path(self.config).read_text()
        except OSError:
            return False
        return re.search(r"^\s*transport\s*=", text, re.M) is not None

    def repro(self):
        cmd = " ".join(shlex.quote(a) for a in self.argv())
        return (f"mount:  cd {shlex.quote(str(REPO))} && {env_prefix()} {cmd}\n"
                f"test:   MMAPFS_BUILD={shlex.quote(str(REPO / BUILD))} "
                f"MMAPFS_TRANSPORT={shlex.quote(TRANSPORT)} "
                f"/usr/bin/python3 -m pytest -p no:cacheprovider "
                f"{shlex.quote(self.nodeid)}\n"
                f"log:    {self.log}")

    def start(self):
        """Starts the daemon and waits until the mount is there."""
        assert self.proc is None or self.reaped
        self.reaped = False
        with open(self.log, "a") as log:
            log.write(f"=== {' '.join(self.argv())}\n")
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdout=log,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         env=daemon_env(), cwd=REPO,
                                         start_new_session=True)
        self._wait_for_mount()

    def _wait_for_mount(self):
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not util.is_fuse_mounted(self.mnt):
            status = self.proc.poll()
            if status is not None:
                self.reaped = True
                pytest.fail(f"mmapfs exited with status {status} before "
                            f"mounting {self.mnt}\n{self.repro()}\n"
                            f"{self.log_tail()}", pytrace=False)
            if time.monotonic() > deadline:
                self._kill("did not mount")
                pytest.fail(f"mmapfs did not mount {self.mnt} within "
                            f"{MOUNT_TIMEOUT:g} s\n{self.repro()}\n"
                            f"{self.log_tail()}", pytrace=False)
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill(self, why):
        self.problems.append(f"daemon pid {self.proc.pid} {why}: killed")
        self.proc.kill()
        try:
            self.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.problems.append(f"daemon pid {self.proc.pid} survived SIGKILL")

    def _fusermount(self, flags):
        """fusermount3 FLAGS MNT; True on success. fusermount3 itself can
        hang on a hung daemon (it stats the mountpoint): then the daemon
        is killed, which aborts the connection and frees every waiter."""
        try:
            return util.run(["fusermount3", flags, str(self.mnt)],
                            timeout=EXIT_TIMEOUT).returncode == 0
        except util.OpTimeout:
            if self.running():
                self._kill(f"hung (fusermount3 {flags} did not return)")
            return False

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Waits for the daemon to exit (it is killed after timeout) and
        records a wrong exit status. Returns the status."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill(f"did not exit within {timeout:g} s")
        status = self.proc.returncode
        self.reaped = True
        if status != self.expected_status:
            what = (f"killed by {signal.Signals(-status).name}" if status < 0
                    else f"exited with status {status}")
            self.problems.append(f"daemon pid {self.proc.pid} {what} "
                                 f"(expected {self.expected_status})")
        return status

    def unmount(self):
        """Unmounts (lazily when busy), waits for the daemon, checks it."""
        if self.proc is None:
            return
        if util.is_fuse_mounted(self.mnt) and not self._fusermount("-u"):
            if util.is_fuse_mounted(self.mnt):
                self._fusermount("-uz")
        if not self.reaped:
            self.wait_exit()
        if util.is_fuse_mounted(self.mnt):
            self._fusermount("-uz")
            if util.is_fuse_mounted(self.mnt):
                self.problems.append(f"{self.mnt} is still mounted")

    def remount(self, config=None, opts=None):
        """Unmounts cleanly, optionally with a new config text or options,
        and mounts again on the same directories."""
        self.unmount()
        if config is not None:
            self.config = self.config_file
            self.config.write_text(config)
        if opts is not None:
            self.opts = list(opts)
        self.start()

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self):
        lines = self.log_text().splitlines()
        return (f"--- daemon log {self.log} (last {LOG_TAIL_LINES} lines):\n"
                + "\n".join(lines[-LOG_TAIL_LINES:]))

    def verdict(self):
        """Problems found after the final unmount, as one text or ''."""
        found = list(self.problems)
        bad = util.sanitizer_lines(self.log_text())
        if bad:
            found.append("sanitizer report or crash in the daemon log:\n  "
                         + "\n  ".join(bad[:20]))
        return "\n".join(found)


class MountFactory:
    def __init__(self, tmp_path, nodeid):
        self.tmp_path = tmp_path
        self.nodeid = nodeid
        self.mounts = []
        self.world_dirs = []

    def __call__(self, config=None, opts=(), args=(), backing=None, mnt=None,
                 world=False, start=True):
        """Makes (and by default starts) a mount. config: INI text or None
        for the built-in defaults; opts: extra -o options; args: extra
        command-line arguments; backing/mnt: existing directories to use;
        world: place the directories where every uid can reach them."""
        index = len(self.mounts)
        if world:
            base = Path(tempfile.mkdtemp(prefix="mmapfs-it-", dir="/tmp"))
            base.chmod(0o755)
            self.world_dirs.append(base)
        else:
            base = self.tmp_path
        if backing is None:
            backing = base / f"backing{index}"
            backing.mkdir()
        if mnt is None:
            mnt = base / f"mnt{index}"
            mnt.mkdir()
        config_file = self.tmp_path / f"mmapfs{index}.ini"
        if config is not None:
            config_file.write_text(config)
        m = Mount(index, backing, mnt, self.tmp_path / f"mmapfs{index}.log",
                  config_file, config, opts, args, self.nodeid)
        self.mounts.append(m)
        if start:
            m.start()
        return m

    def finish(self):
        verdicts = []
        for m in self.mounts:
            m.unmount()
            v = m.verdict()
            if v:
                verdicts.append(f"mount {m.index} ({m.mnt}):\n{v}\n"
                                f"{m.repro()}\n{m.log_tail()}")
        for base in self.world_dirs:
            if not any(util.is_fuse_mounted(m.mnt) for m in self.mounts
                       if base in m.mnt.parents):
                shutil.rmtree(base, ignore_errors=True)
        return "\n\n".join(verdicts)


@pytest.fixture
def mount_factory(request, tmp_path):
    if not DAEMON.exists():
        pytest.fail(f"daemon {DAEMON} not built (MMAPFS_BUILD={BUILD})",
                    pytrace=False)
    nodeid = str(request.config.rootpath / request.node.nodeid)
    factory = MountFactory(tmp_path, nodeid)
    request.node.mmapfs_mounts = factory.mounts
    yield factory
    verdict = factory.finish()
    if verdict:
        pytest.fail(verdict, pytrace=False)


@pytest.fixture
def mount(mount_factory):
    """The default mount: built-in config, no extra options."""
    return mount_factory()


@pytest.fixture
def daemon():
    if not DAEMON.exists():
        pytest.fail(f"daemon {DAEMON} not built (MMAPFS_BUILD={BUILD})",
                    pytrace=False)
    return DAEMON


SUMMARY_KEY = pytest.StashKey()


@pytest.fixture
def mmapfs_summary(request):
    """A function that adds a line to the end-of-run summary (so numbers
    such as the model checker's op count show in the CI log)."""
    return request.config.stash.setdefault(SUMMARY_KEY, []).append


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(SUMMARY_KEY, [])
    if lines:
        terminalreporter.section("mmapfs")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for m in getattr(item, "mmapfs_mounts", ()):
            report.sections.append((f"mmapfs mount {m.index}",
                                    m.repro() + "\n" + m.log_tail()))


# ---- per-test timeout ----------------------------------------------------

def pytest_configure(config):
    if not config.pluginmanager.hasplugin("timeout"):
        config.addinivalue_line(
            "markers", "timeout(seconds): per-test time limit (SIGALRM)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """SIGALRM timeout for the test body when pytest-timeout is missing."""
    if item.config.pluginmanager.hasplugin("timeout"):
        yield
        return
    limit = item.get_closest_marker("timeout").args[0]

    def expired(signum, frame):
        raise util.OpTimeout(f"test exceeded its {limit:g} s limit")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
