"""Configuration of a mounted mmapfs: refusing bad configs, per-path policy
selection, and reload (SIGHUP, .ctl/reload) — docs/architecture.md and docs/configuration.md.

Design: the effective policy of a file is read back from what the mount
exposes: the `user.mmapfs.policy` xattr, else the `policy` column of
`.stats/files` (for a file held open). Selection is also checked through an
observable durability effect: after write(2) returns, the file's pending
bytes (xattr `user.mmapfs.pending_bytes`, else `.stats/files`) are 0 under
`always` or once a `bytes=` threshold is reached, and the dirtied pages
under `never`. That shows the daemon applied the policy, not that the
flush reached the disk (a crash test would; the durability suite owns
those). Reload is observed through `.stats/config` (the running config in
INI form plus the last reload error). Where the mount does not serve one of
these yet, the test is skipped and says which one.

Every mount goes through the conftest fixture (always unmounted, daemon
log checked for sanitizer reports); every client operation has a deadline.
"""

import errno
import os
import signal
import subprocess
import threading
import time

import pytest

import conftest
import util
from util import fs

PAGE = util.PAGE


# ---- reading back what the mount exposes ---------------------------------

def _unescape(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field):
            out.append({"t": "\t", "n": "\n", "\\": "\\"}.get(field[i + 1],
                                                              field[i + 1]))
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def stats_files(m):
    """{path: row} from .stats/files, or None when it is not served."""
    try:
        text = util.read_file(m.mnt / ".stats" / "files").decode()
    except FileNotFoundError:
        return None
    lines = text.splitlines()
    header = lines[0].split("\t")
    return {_unescape(r[0]): dict(zip(header, r))
            for r in (line.split("\t") for line in lines[1:])}


def _xattr(m, rel, name):
    try:
        return fs.getxattr(m.mnt / rel, name).decode().strip()
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP):
            return None
        raise


def policy_of(m, rel):
    """The canonical policy of rel (held open by the caller)."""
    value = _xattr(m, rel, "user.mmapfs.policy")
    if value is not None:
        return value
    rows = stats_files(m)
    if rows is None or rel not in rows:
        pytest.skip("the mount serves neither the user.mmapfs.policy xattr "
                    "nor a .stats/files row for an open file yet")
    return rows[rel]["policy"]


def pending_bytes(m, rel):
    value = _xattr(m, rel, "user.mmapfs.pending_bytes")
    if value is not None:
        return int(value)
    rows = stats_files(m)
    if rows is None or rel not in rows:
        pytest.skip("the mount serves neither user.mmapfs.pending_bytes nor "
                    "a .stats/files row for an open file yet")
    return int(rows[rel]["pending_bytes"])


def stats_config(m):
    try:
        return util.read_file(m.mnt / ".stats" / "config").decode()
    except FileNotFoundError:
        pytest.skip(".stats/config is not served yet")


def wait_config(m, *needles, timeout=10):
    """Waits until .stats/config contains every needle; returns it."""
    def has_all():
        try:
            text = util.raw_read(m.mnt / ".stats" / "config").decode()
        except FileNotFoundError:
            return None
        return text if all(n in text for n in needles) else None
    stats_config(m)     # skips when not served
    return util.wait_until(has_all, timeout=timeout,
                           what=f".stats/config showing {needles}")


def reload_sighup(m):
    assert m.running(), "daemon not running"
    m.proc.send_signal(signal.SIGHUP)


def reload_ctl(m):
    """Writes to .ctl/reload; returns None or the OSError of the write."""
    path = m.mnt / ".ctl" / "reload"
    if not util.call(os.path.exists, path):
        pytest.skip(".ctl/reload is not served yet")
    try:
        util.write_file(path, b"reload\n", flags=os.O_WRONLY)
    except OSError as e:
        return e
    return None


def open_rw(m, rel):
    path = m.mnt / rel
    fs.makedirs(path.parent, exist_ok=True)
    return fs.open(path, os.O_RDWR | os.O_CREAT, 0o644)


# ---- refusing bad configs --------------------------------------------------

BAD = """[global]
flush = never
bogus = 1
[match *.log]
flush = bytes=0
max_mapped_files = 2
"""


def bad_messages(name):
    return [f"{name}:3: [global]: unknown key 'bogus'",
            f"{name}:5: [match *.log] flush: 'bytes' must not be zero",
            f"{name}:6: [match *.log]: key 'max_mapped_files' is only "
            f"allowed in [global]"]


def test_check_config_reports_every_error(daemon, tmp_path):
    cfg = tmp_path / "bad.ini"
    cfg.write_text(BAD)
    proc = util.run([str(daemon), "--check-config", str(cfg)],
                    env=conftest.daemon_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for msg in bad_messages(str(cfg)):
        assert msg in out, f"missing {msg!r} in:\n{out}"
    assert not util.sanitizer_lines(out), out


def test_check_config_accepts_the_default_file(daemon):
    proc = util.run([str(daemon), "--check-config",
                     str(conftest.REPO / "conf" / "mmapfs.ini")],
                    env=conftest.daemon_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def start_unchecked(m):
    """Starts m's daemon without waiting for the mount (the fixture still
    unmounts, reaps or kills it at teardown)."""
    with open(m.log, "a") as log:
        m.proc = subprocess.Popen(m.argv(), stdout=log,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  env=conftest.daemon_env(),
                                  cwd=conftest.REPO, start_new_session=True)


def test_bad_config_refuses_to_mount(mount_factory):
    m = mount_factory(config=BAD, start=False)
    start_unchecked(m)
    try:
        status = m.proc.wait(conftest.MOUNT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("the daemon kept running with a bad config")
    m.reaped = True
    m.expected_status = status
    assert status != 0
    assert not util.is_fuse_mounted(m.mnt)
    log = m.log_text()
    for msg in bad_messages(str(m.config_file)):
        assert msg in log, f"missing {msg!r} in:\n{log}"


def test_writeback_cache_with_a_policy_is_refused(daemon, tmp_path):
    cfg = tmp_path / "wb.ini"
    cfg.write_text("[global]\nwriteback_cache = true\n"
                   "[match *.db]\nflush = always\n")
    proc = util.run([str(daemon), "--check-config", str(cfg)],
                    env=conftest.daemon_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert (f"{cfg}:4: [match *.db] flush: 'always' is not allowed with "
            f"writeback_cache = true (line 2)") in out, out


# ---- per-path selection -----------------------------------------------------

SELECT = """[global]
flush = never

[match *.log]
flush = always

[match db/*.sqlite]
flush = bytes=8KiB

[match */*.log]
flush = writes=3

[match *.tmp]
preallocate = false
"""

EXPECTED_POLICY = {
    "a.log": "always",
    ".hidden.log": "always",          # no FNM_PERIOD
    "db/main.sqlite": "bytes=8KiB",
    "logs/app.log": "writes=3",       # *.log stops at '/'
    "a/b/deep.log": "never",          # no glob with two '/' matches
    "data.bin": "never",
    "x.tmp": "never",                 # sets preallocate only
}


def test_policy_follows_renames_of_directories(mount_factory):
    """Paths come from the names the kernel sent: a file renamed into a
    matching directory, and a file whose directory is renamed into a
    matching place (the kernel sends no new LOOKUP for it), get the
    matching policy at their next open."""
    m = mount_factory(config="[global]\nflush = never\n\n"
                      "[match logs/*.log]\nflush = always\n\n"
                      "[match deep/logs/*.log]\nflush = writes=3\n")
    fs.mkdir(m.mnt / "x")
    util.write_file(m.mnt / "x" / "a.log", b"a")
    util.write_file(m.mnt / "b.log", b"b")
    assert _xattr(m, "x/a.log", "user.mmapfs.policy") == "never"
    fs.rename(m.mnt / "x", m.mnt / "logs")
    assert _xattr(m, "logs/a.log", "user.mmapfs.policy") == "always"
    fs.rename(m.mnt / "b.log", m.mnt / "logs" / "b.log")
    assert _xattr(m, "logs/b.log", "user.mmapfs.policy") == "always"
    fs.mkdir(m.mnt / "deep")
    fs.rename(m.mnt / "logs", m.mnt / "deep" / "logs")
    for name in ("a.log", "b.log"):
        assert _xattr(m, f"deep/logs/{name}",
                      "user.mmapfs.policy") == "writes=3"
    fd = fs.open(m.mnt / "deep" / "logs" / "a.log", os.O_RDWR)
    try:
        util.pwrite_all(fd, b"x", 0)
        row = stats_files(m).get("deep/logs/a.log")
        assert row is not None and row["policy"] == "writes=3", row
    finally:
        fs.close(fd)


def test_policy_selection(mount_factory):
    m = mount_factory(config=SELECT)
    fds = {rel: open_rw(m, rel) for rel in EXPECTED_POLICY}
    try:
        for rel, fd in fds.items():
            fs.pwrite(fd, b"x", 0)
        got = {rel: policy_of(m, rel) for rel in EXPECTED_POLICY}
        assert got == EXPECTED_POLICY
    finally:
        for fd in fds.values():
            fs.close(fd)


def test_policy_selection_by_durability_effect(mount_factory):
    """always leaves nothing pending; never leaves the dirtied pages; a
    bytes= threshold flushes when it is reached."""
    m = mount_factory(config=SELECT)
    page = util.pattern(PAGE, seed=3)
    fds = {rel: open_rw(m, rel)
           for rel in ("a.log", "data.bin", "db/main.sqlite")}
    try:
        for rel in ("a.log", "data.bin"):
            util.pwrite_all(fds[rel], page * 3, 0)
        assert pending_bytes(m, "a.log") == 0
        assert pending_bytes(m, "data.bin") == 3 * PAGE

        util.pwrite_all(fds["db/main.sqlite"], page, 0)
        assert pending_bytes(m, "db/main.sqlite") == PAGE
        util.pwrite_all(fds["db/main.sqlite"], page, PAGE)
        assert pending_bytes(m, "db/main.sqlite") == 0
    finally:
        for fd in fds.values():
            fs.close(fd)


# ---- reload ----------------------------------------------------------------

NEVER_LOGS = "[global]\nflush = never\n[match *.log]\nflush = never\n"
SMALL_LOGS = "[global]\nflush = never\n[match *.log]\nflush = bytes=4KiB\n"


@pytest.mark.parametrize("how", ["sighup", "ctl"])
def test_reload_applies_to_open_files(mount_factory, how):
    m = mount_factory(config=NEVER_LOGS)
    fd = open_rw(m, "app.log")
    try:
        util.pwrite_all(fd, util.pattern(2 * PAGE), 0)
        assert pending_bytes(m, "app.log") == 2 * PAGE
        assert policy_of(m, "app.log") == "never"

        m.config_file.write_text(SMALL_LOGS)
        if how == "sighup":
            reload_sighup(m)
        else:
            assert reload_ctl(m) is None
        wait_config(m, "[match *.log]\nflush = bytes=4KiB\n")
        # the lowered threshold flushed what it now requires, at once
        assert pending_bytes(m, "app.log") == 0
        assert policy_of(m, "app.log") == "bytes=4KiB"
        # and applies to the next write
        util.pwrite_all(fd, util.pattern(PAGE, seed=1), 0)
        assert pending_bytes(m, "app.log") == 0
    finally:
        fs.close(fd)


def test_reload_keeps_ctl_policy_override(mount_factory):
    """A .ctl/policy override survives a reload (docs/control.md); `default`
    returns the file to the (new) config's policy."""
    m = mount_factory(config=NEVER_LOGS)
    fd = open_rw(m, "app.log")
    try:
        ctl = m.mnt / ".ctl" / "policy"
        if not util.call(os.path.exists, ctl):
            pytest.skip(".ctl/policy is not served yet")
        util.write_file(ctl, b"app.log always\n", flags=os.O_WRONLY)
        assert policy_of(m, "app.log") == "always"

        m.config_file.write_text("[global]\nflush = never\n"
                                 "[match *.log]\nflush = bytes=8KiB\n")
        reload_sighup(m)
        wait_config(m, "[match *.log]\nflush = bytes=8KiB\n")
        assert policy_of(m, "app.log") == "always"
        # one page: pending under bytes=8KiB, flushed under always
        util.pwrite_all(fd, util.pattern(PAGE), 0)
        assert pending_bytes(m, "app.log") == 0

        util.write_file(ctl, b"app.log default\n", flags=os.O_WRONLY)
        assert policy_of(m, "app.log") == "bytes=8KiB"
        util.pwrite_all(fd, util.pattern(PAGE), PAGE)
        assert pending_bytes(m, "app.log") == PAGE
    finally:
        fs.close(fd)


def test_bad_reload_keeps_running_config(mount_factory):
    m = mount_factory(config=SMALL_LOGS)
    fd = open_rw(m, "app.log")
    try:
        m.config_file.write_text("[global]\nflush = never\nbogus = 1\n"
                                 "[match *.log]\nflush = never\n")
        err = reload_ctl(m)
        assert err is None or err.errno == errno.EINVAL, err
        text = wait_config(m, "bogus")
        assert f"{m.config_file}:3: [global]: unknown key 'bogus'" in text
        assert "[match *.log]\nflush = bytes=4KiB\n" in text
        assert policy_of(m, "app.log") == "bytes=4KiB"
        util.pwrite_all(fd, util.pattern(PAGE), 0)
        assert pending_bytes(m, "app.log") == 0
        assert m.running()

        # a good config afterwards applies and clears the error
        m.config_file.write_text(NEVER_LOGS)
        reload_sighup(m)
        text = wait_config(m, "[match *.log]\nflush = never\n")
        assert "bogus" not in text
        assert policy_of(m, "app.log") == "never"
    finally:
        fs.close(fd)


def test_bad_reload_of_a_missing_file(mount_factory):
    m = mount_factory(config=SMALL_LOGS)
    stats_config(m)
    m.config_file.unlink()
    reload_sighup(m)
    text = wait_config(m, str(m.config_file), "No such file")
    assert "[match *.log]\nflush = bytes=4KiB\n" in text
    assert m.running()


def test_reload_cannot_change_writeback_cache(mount_factory):
    m = mount_factory(config="[global]\nflush = never\n")
    stats_config(m)
    m.config_file.write_text("[global]\nflush = never\nwriteback_cache = true\n")
    reload_sighup(m)
    text = wait_config(m, "cannot change on reload")
    assert "writeback_cache = false" in text
    assert m.running()


def test_policy_override_refused_under_writeback_cache(mount_factory):
    """On a mount with the kernel's writeback cache, write(2) returns
    before the daemon sees the data: a .ctl/policy override other than
    never would promise what cannot hold, so it is refused (EINVAL)."""
    m = mount_factory(config="[global]\nflush = never\n"
                      "writeback_cache = true\n")
    util.write_file(m.mnt / "f", b"data")
    for policy in ("always", "bytes=4KiB"):
        util.expect_errno(errno.EINVAL, _ctl_policy, m.mnt, f"f {policy}\n")
    assert _ctl_policy(m.mnt, "f never\n") > 0
    assert _xattr(m, "f", "user.mmapfs.policy") == "never"


def _ctl_policy(mnt, text):
    fd = os.open(mnt / ".ctl" / "policy", os.O_WRONLY)
    try:
        return os.write(fd, text.encode())
    finally:
        os.close(fd)


def test_reload_renames_control_and_stats_dirs(mount_factory):
    m = mount_factory(config="[global]\nflush = never\ncache_readdir = true\n")
    stats_config(m)
    # Listed before: the kernel keeps the root's listing (cache_readdir),
    # which the reload must drop.
    assert not {"ctl2", "st2"} & set(fs.listdir(m.mnt))
    m.config_file.write_text("[global]\nflush = never\ncontrol_dir = ctl2\n"
                             "stats_dir = st2\nshow_control = true\n"
                             "cache_readdir = true\n")
    reload_sighup(m)
    util.wait_until(lambda: os.path.exists(m.mnt / "st2" / "config"),
                    what="st2/config after the reload")
    text = util.read_file(m.mnt / "st2" / "config").decode()
    assert "control_dir = ctl2\nstats_dir = st2\n" in text
    assert {"ctl2", "st2"} <= set(fs.listdir(m.mnt))
    # the new control directory works: reload back to the defaults
    m.config_file.write_text("[global]\nflush = never\n")
    util.write_file(m.mnt / "ctl2" / "reload", b"reload\n", flags=os.O_WRONLY)
    wait_config(m, "control_dir = .ctl\n")


def test_reload_without_config_file_keeps_defaults(mount):
    """SIGHUP must not end the session (libfuse's own handlers would)."""
    reload_sighup(mount)
    time.sleep(0.5)
    assert mount.running()
    assert util.is_fuse_mounted(mount.mnt)
    util.write_file(mount.mnt / "f", b"still here")
    assert util.read_file(mount.mnt / "f") == b"still here"


def test_reload_races_with_writers(mount_factory):
    """Writers keep writing while the config cycles through two good
    versions and a bad one many times: no crash, no sanitizer report, no
    lost or torn data, and the last config is the one in force."""
    configs = [
        "[global]\nflush = never\n[match *.log]\nflush = always\n"
        "[match db/*]\nflush = writes=2\n",
        "[global]\nflush = bytes=8KiB\n[match *.log]\nflush = never\n"
        "[match db/*]\nflush = ms=5\n",
        "[global]\nflush = sometimes\n",
    ]
    m = mount_factory(config=configs[0])
    names = ["a.log", "b.bin", "db/c"]
    fs.makedirs(m.mnt / "db", exist_ok=True)
    stop = threading.Event()
    errors = []
    size = 64 * PAGE

    def writer(rel, seed):
        data = util.pattern(size, seed=seed)
        try:
            fd = os.open(m.mnt / rel, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                rounds = 0
                while not stop.is_set() or rounds == 0:
                    for off in range(0, size, 3 * PAGE):
                        chunk = data[off:off + 3 * PAGE]
                        assert os.pwrite(fd, chunk, off) == len(chunk)
                    rounds += 1
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException as e:      # reported by the main thread
            errors.append((rel, e))

    threads = [threading.Thread(target=writer, args=(rel, i), daemon=True,
                                name=f"writer-{rel}")
               for i, rel in enumerate(names)]
    for t in threads:
        t.start()
    try:
        for i in range(30):
            bad = (i + 1) % 3 == 2
            m.config_file.write_text(configs[(i + 1) % 3])
            if i % 2:
                reload_sighup(m)
            else:
                err = reload_ctl(m)
                assert err is None or (bad and err.errno == errno.EINVAL), err
            time.sleep(0.05)
    finally:
        stop.set()
        util.join_all(threads, timeout=60)
    assert not errors, errors
    assert m.running()

    # the last config written (i = 29 -> configs[0]) is in force
    text = wait_config(m, "[match db/*]\nflush = writes=2\n")
    assert "sometimes" not in text
    assert "[global]\nflush = never\n" in text
    for i, rel in enumerate(names):
        expected = util.pattern(size, seed=i)
        assert util.read_file(m.mnt / rel) == expected, rel
        assert (m.backing / rel).read_bytes() == expected, rel
