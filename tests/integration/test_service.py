"""Service integration of the daemon, as systemd runs it (issue 21): the
sd_notify protocol (READY=1, RELOADING=1 ... READY=1, STOPPING=1), journald
priority prefixes on stderr, a restart after SIGKILL that clears the dead
mount, and config keys given as -o KEY=VALUE.

systemd cannot run as init in the test container, so the test plays the
service manager: it listens on the datagram socket it names in
NOTIFY_SOCKET (as a path and as an abstract name) and sets JOURNAL_STREAM to
the device and inode of the daemon's stderr (the log file), as systemd does
for a unit whose stderr is the journal. Every mount is made by
mount_factory, which always unmounts.
"""

import os
import re
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

import conftest
import util

RECV_TIMEOUT = 20


def recv_state(sock, timeout=RECV_TIMEOUT):
    """The next notification, as a dict of its KEY=VALUE lines."""
    sock.settimeout(timeout)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n") if line)


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request, tmp_path, monkeypatch):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        name = str(tmp_path / "notify")
        sock.bind(name)
    else:
        name = f"@mmapfs-test-{os.getpid()}-{time.monotonic_ns()}"
        sock.bind("\0" + name[1:])
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    yield sock
    sock.close()


@pytest.mark.timeout(120)
def test_notify_ready_reloading_stopping(mount_factory, notify_socket):
    m = mount_factory(config="[global]\nflush = never\n")
    ready = recv_state(notify_socket)
    assert ready["READY"] == "1", ready
    assert int(ready["MAINPID"]) == m.proc.pid, ready
    assert ready["STATUS"] == f"serving {m.backing} on {m.mnt}", ready
    assert util.is_fuse_mounted(m.mnt)

    m.config_file.write_text("[global]\nflush = always\n")
    m.proc.send_signal(signal.SIGHUP)
    reloading = recv_state(notify_socket)
    assert reloading["RELOADING"] == "1", reloading
    usec = int(reloading["MONOTONIC_USEC"])
    assert abs(usec - time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000) \
        < 60_000_000, usec
    assert recv_state(notify_socket) == {"READY": "1"}
    util.write_file(m.mnt / "f", b"x")
    assert util.run(["getfattr", "--only-values", "-n", "user.mmapfs.policy",
                     str(m.mnt / "f")], check=True).stdout == "always"

    m.unmount()
    stopping = recv_state(notify_socket)
    assert stopping["STOPPING"] == "1", stopping


def test_no_notify_socket_no_noise(mount_factory, monkeypatch):
    """Without NOTIFY_SOCKET nothing is sent and nothing is logged; a bad
    one is logged as a warning and the mount works all the same."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    m = mount_factory()
    util.write_file(m.mnt / "f", b"x")
    m.unmount()
    assert "cannot notify" not in m.log_text()
    monkeypatch.setenv("NOTIFY_SOCKET", "relative/name")
    m.start()
    util.write_file(m.mnt / "g", b"x")
    m.unmount()
    assert "cannot notify the service manager: Invalid argument" \
        in m.log_text()


@pytest.mark.timeout(120)
def test_journal_priority_prefixes(mount_factory, monkeypatch):
    """stderr is the journal (JOURNAL_STREAM names it): every line starts
    with its syslog priority, <3> error ... <7> debug; the program name,
    which the journal adds itself, is left out."""
    m = mount_factory(config="[global]\nlog_level = debug\n", start=False)
    (m.backing / ".ctl").mkdir()
    m.log.touch()
    st = os.stat(m.log)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    m.start()
    util.write_file(m.mnt / "f", b"x")          # debug: mapping lines
    os.stat(m.mnt / ".ctl")                     # warning: .ctl shadowed
    m.config_file.write_text("[global]\nbogus = 1\n")
    m.proc.send_signal(signal.SIGHUP)           # error: refused reload
    util.wait_until(lambda: "bogus" in m.log_text(), 10,
                    what="the refused reload in the log")
    m.config_file.write_text("[global]\nlog_level = debug\n")
    m.unmount()
    lines = [line for line in m.log_text().splitlines()
             if not line.startswith("=== ")]
    prefixes = {"<3>error: ", "<4>warning: ", "<5>notice: ", "<6>info: ",
                "<7>debug: "}
    seen = {p for p in prefixes for line in lines if line.startswith(p)}
    assert seen == prefixes, "\n".join(lines)
    stray = [line for line in lines
             if line.startswith("mmapfs: ") or
             (line.startswith("<") and not any(map(line.startswith,
                                                   prefixes)))]
    assert not stray, stray

    # JOURNAL_STREAM naming another file: plain lines
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino + 1}")
    before = len(m.log_text().splitlines())
    m.start()
    m.unmount()
    later = m.log_text().splitlines()[before:]
    assert any(line.startswith("mmapfs: notice: serving") for line in later), \
        later


@pytest.mark.timeout(120)
@pytest.mark.parametrize("over_itself", [False, True],
                         ids=["separate", "over-itself"])
def test_restart_after_sigkill(mount_factory, tmp_path, over_itself):
    """A daemon killed with SIGKILL leaves a dead mount (ENOTCONN); the next
    daemon on that mount point detaches it and mounts, as systemd's
    Restart=on-failure needs, also for a mount over the backing directory
    itself."""
    if over_itself:
        d = tmp_path / "data"
        d.mkdir()
        m = mount_factory(backing=d, mnt=d)
    else:
        m = mount_factory()
    util.write_file(m.mnt / "f", b"before the crash")
    m.expected_status = -signal.SIGKILL
    m.proc.kill()
    m.wait_exit()
    # ECONNABORTED while the kernel tears down the io_uring queues of the
    # killed daemon (transport io_uring), or ECANCELED for a request it
    # was handing to a dying ring thread; ENOTCONN after.
    try:
        util.fs.statvfs(m.mnt)
        pytest.fail("the dead mount answered statvfs")
    except OSError as e:
        assert e.errno in conftest.daemon_gone_errnos(), e
    m.expected_status = 0
    m.start()   # returns at once: the dead mount is still listed
    util.wait_until(lambda: m.log_text().count("notice: serving") == 2, 20,
                    what="the second daemon serving")
    assert util.read_file(m.mnt / "f") == b"before the crash"
    assert f"mountpoint {m.mnt}: detached the dead mount of an earlier " \
        f"mmapfs (its daemon is gone)" in m.log_text()
    stacked = [p for p, _ in util.mounts() if p == str(m.mnt)]
    assert len(stacked) == 1, util.mounts()


def test_live_mount_is_not_cleared(mount_factory):
    """A live mount on the mount point is left alone: the second daemon
    refuses (exit status 2), the first keeps serving."""
    m = mount_factory()
    util.write_file(m.mnt / "f", b"alive")
    backing2 = m.backing.parent / "other"
    backing2.mkdir()
    proc = util.run([str(m.argv()[0]), str(backing2), str(m.mnt), "-f"],
                    timeout=30)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "busy" in proc.stderr
    assert util.read_file(m.mnt / "f") == b"alive"


@pytest.mark.parametrize("opts, policy", [
    (["flush=always"], "always"),
    (["flush=bytes=4MiB:ms=500"], "bytes=4MiB,ms=500"),
    (["flush=bytes=64KiB\\,writes=10"], "bytes=64KiB,writes=10"),
])
def test_config_keys_as_options(mount_factory, opts, policy):
    """-o KEY=VALUE sets a [global] key; the config file's [global] loses
    to it, its [match] sections still win for their paths, and a reload
    keeps the option."""
    m = mount_factory(config="[global]\nflush = never\nshow_control = false\n"
                      "[match *.db]\nflush = writes=3\n",
                      opts=opts + ["show_control=true"])

    def policy_of(name):
        util.write_file(m.mnt / name, b"x")
        return util.run(["getfattr", "--only-values", "-n",
                         "user.mmapfs.policy", str(m.mnt / name)],
                        check=True).stdout
    assert policy_of("a.txt") == policy
    assert policy_of("a.db") == "writes=3"
    assert ".ctl" in os.listdir(m.mnt)
    ctl = conftest.REPO / conftest.BUILD / "src" / "tools" / "mmapfsctl"
    assert util.run([str(ctl), "reload", str(m.mnt)]).returncode == 0
    assert policy_of("b.txt") == policy


def test_bad_option_value_names_the_key(tmp_path, daemon):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    proc = util.run([str(daemon), str(backing), str(mnt), "-f", "-o",
                     "max_mapped_files=0"], timeout=30)
    assert proc.returncode == 1
    assert proc.stderr == ("-o max_mapped_files: must not be zero\n"
                           "mmapfs: bad config, nothing mounted\n"), proc.stderr
    assert not util.is_fuse_mounted(mnt)


# The daemons start straight from setpriv (not through a shell function,
# which would run in a subshell), so $! is the daemon's pid.
UNPRIVILEGED_RESTART = r"""
set -eu
dir=$1 daemon=$2
user="--reuid=65534 --regid=65534 --clear-groups"
as_user() { setpriv $user "$@"; }
mounted() { grep -c " $dir/mnt fuse.mmapfs " /proc/mounts || true; }
if [ "$(stat -c %a /dev/fuse)" != 666 ]; then
    mknod "$dir/fusedev" c 10 229
    chmod 666 "$dir/fusedev"
    mount --bind "$dir/fusedev" /dev/fuse
fi
setpriv $user "$daemon" "$dir/backing" "$dir/mnt" -f > "$dir/log1" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
for i in $(seq 100); do [ "$(mounted)" = 1 ] && break; sleep 0.1; done
as_user sh -c "printf hello > '$dir/mnt/f'"
kill -9 $pid
wait $pid || true
as_user stat -f "$dir/mnt" > /dev/null 2>&1 && echo alive || echo dead
setpriv $user "$daemon" "$dir/backing" "$dir/mnt" -f > "$dir/log2" 2>&1 &
pid=$!
for i in $(seq 100); do
    grep -q "notice: serving" "$dir/log2" && break
    kill -0 $pid
    sleep 0.1
done
as_user cat "$dir/mnt/f"
echo
mounted
as_user fusermount3 -u "$dir/mnt"
wait $pid
echo "exit $?"
trap - EXIT
"""


@pytest.mark.timeout(120)
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to set it up")
def test_unprivileged_restart_after_sigkill():
    """A user's daemon killed with SIGKILL: the user's next daemon cannot
    umount2() the dead mount and detaches it with fusermount3 -u -z. In a
    private mount namespace (as test_unprivileged.py), so every mount ends
    with it."""
    for tool in ("unshare", "setpriv", "fusermount3", "mknod"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    base = Path(tempfile.mkdtemp(prefix="mmapfs-user-", dir="/tmp"))
    try:
        for d in ("backing", "mnt"):
            (base / d).mkdir()
        os.chmod(base, 0o755)
        for p in (base, base / "backing", base / "mnt"):
            os.chown(p, 65534, 65534)
        res = util.run(["unshare", "-m", "--propagation", "private", "sh",
                        "-c", UNPRIVILEGED_RESTART, "sh", str(base),
                        str(conftest.DAEMON)], timeout=90)
        log = "".join((base / n).read_text(errors="replace")
                      for n in ("log1", "log2") if (base / n).exists())
        assert res.returncode == 0, (res.stdout, res.stderr, log)
        assert res.stdout.split() == ["dead", "hello", "1", "exit", "0"], \
            (res.stdout, res.stderr, log)
        assert f"mountpoint {base}/mnt: detached the dead mount" in log, log
        assert not util.sanitizer_lines(log), log
        assert str(base) not in open("/proc/mounts").read()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def config_keys():
    reference = (conftest.REPO / "docs" / "configuration.md").read_text()
    table = reference[reference.index("\n## Keys\n"):
                      reference.index("\n## Value types\n")]
    keys = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    assert len(keys) >= 10, keys
    return keys


def test_help_and_completion_name_every_key(daemon):
    """`mmapfs --help` and the bash completion of -o name every key of
    docs/configuration.md's table."""
    help_text = util.run([str(daemon), "--help"], check=True).stdout
    completion = (conftest.REPO / "conf" / "bash-completion" /
                  "mmapfs").read_text()
    for key in config_keys():
        assert re.search(rf"\b{key}\b", help_text), key
        assert f"{key}=" in completion, key
