"""Integration tests of what an operator reads: daemon-wide totals that
only grow (a file's close never lowers them), the table of recently
closed files in .stats/files, metrics.prom (requests by operation, flush
histogram, mount label), promtool's verdict on it when promtool is
installed, and the /metrics HTTP endpoint scraped by a real Prometheus
server when one is installed.

Every mount is unmounted by its fixture; every server this file starts is
stopped by pid in a finally block.
"""
import errno
import json
import os
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

import util
from util import fs
from conftest import DAEMON
from test_control import (ctl_ok, ctl_err, files_rows, stats, total, hold_open,
                          mmapfsctl, cmount_factory,
                          cmount)  # noqa: F401 (fixtures)

EVENT_TOTALS = ("flushes", "flush_errors")
PROM_COUNTERS = ("mmapfs_flushes_total", "mmapfs_flush_errors_total",
                 "mmapfs_bytes_written_total", "mmapfs_writes_total",
                 "mmapfs_bytes_flushed_total", "mmapfs_bytes_read_total")


def prom_samples(text):
    """{series text (name and labels): value} of a metrics.prom text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        out[series] = float(value)
    return out


def prom_value(text, name):
    """The value of the one sample of family name (any labels)."""
    found = [v for s, v in prom_samples(text).items()
             if s == name or s.startswith(name + "{")]
    assert len(found) == 1, (name, found)
    return found[0]


def close_released(m, fd, name):
    """close(2) of fd, then waits until the daemon finished the RELEASE
    that follows it (asynchronously) for the file name."""
    util.fs.close(fd)
    util.wait_until(lambda: not util.daemon_holds_open(m, name),
                    what=f"the release of {name}")


def snapshot(mnt):
    prom = stats(mnt, "metrics.prom")
    snap = {name: total(mnt, name) for name in EVENT_TOTALS}
    for name in PROM_COUNTERS:
        snap[name] = prom_value(prom, name)
    return snap


def assert_no_decrease(before, after, what):
    for k, v in before.items():
        assert after[k] >= v, f"{k} went down {what}: {v} -> {after[k]}"


def test_totals_survive_close(cmount_factory):
    m = cmount_factory(config="[global]\nflush = bytes=64MiB\n")
    mnt = m.mnt
    fd = hold_open(mnt / "data.bin", b"x" * 300000)
    try:
        ctl_ok(mnt, "flush", "data.bin")
        before = snapshot(mnt)
        assert before["flushes"] >= 1
        assert before["mmapfs_bytes_written_total"] >= 300000
        assert before["mmapfs_writes_total"] >= 1
        row = files_rows(mnt)["data.bin"]
        assert int(row["flushes"]) >= 1
    finally:
        close_released(m, fd, "data.bin")
    after = snapshot(mnt)
    assert_no_decrease(before, after, "at close")
    # The closed file keeps its row, with its counters.
    rows = files_rows(mnt)
    assert "data.bin" in rows, rows
    assert rows["data.bin"]["mapped"] == "no"
    assert int(rows["data.bin"]["flushes"]) >= 1
    assert rows["data.bin"]["last_flush_age_ms"] != "-"
    # Many files opened, written and closed: no total ever goes down.
    prev = after
    for i in range(5):
        fd = hold_open(mnt / f"f{i}", b"y" * 5000)
        ctl_ok(mnt, "flush", f"f{i}")
        util.fs.close(fd)
        now = snapshot(mnt)
        assert_no_decrease(prev, now, f"after closing f{i}")
        prev = now
    assert prev["flushes"] >= after["flushes"] + 5


def test_reopen_carries_file_counters(cmount_factory):
    m = cmount_factory(config="[global]\nflush = always\n")
    mnt = m.mnt
    fd = hold_open(mnt / "a", b"1" * 100)
    close_released(m, fd, "a")
    first = int(files_rows(mnt)["a"]["flushes"])
    assert first >= 1
    fd = hold_open(mnt / "a")
    try:
        util.pwrite_all(fd, b"2" * 100, 100)
        again = int(files_rows(mnt)["a"]["flushes"])
        assert again > first, (first, again)
    finally:
        close_released(m, fd, "a")
    assert int(files_rows(mnt)["a"]["flushes"]) >= again


def test_closed_files_table_is_bounded(cmount_factory):
    m = cmount_factory(config="[global]\nflush = always\n"
                       "closed_files_max = 3\n")
    mnt = m.mnt
    for i in range(6):
        fd = hold_open(mnt / f"c{i}", b"z")
        close_released(m, fd, f"c{i}")
    rows = files_rows(mnt)
    closed = sorted(p for p in rows if p.startswith("c"))
    # The newest three stay, oldest out first.
    assert closed == ["c3", "c4", "c5"], rows
    prom = stats(mnt, "metrics.prom")
    assert prom_value(prom, "mmapfs_closed_files") == 3


def test_metrics_requests_and_mount_label(cmount_factory):
    m = cmount_factory(config="[global]\nflush = always\n")
    mnt = m.mnt
    # Written from outside: the kernel has no cached pages, so it reads.
    (m.backing / "r").write_bytes(b"q" * 8192)
    fd = hold_open(mnt / "r")
    try:
        assert util.pread_all(fd, 8192, 0) == b"q" * 8192
        util.pwrite_all(fd, b"w", 0)
        util.call(os.fsync, fd)
        util.call(os.fdatasync, fd)
    finally:
        util.fs.close(fd)
    util.expect_errno(errno.ENODATA, os.getxattr, str(mnt / "r"),
                      "user.none")
    prom = stats(mnt, "metrics.prom")
    label = f'mount="{mnt}"'
    for line in prom.splitlines():
        if line and not line.startswith("#"):
            assert line.startswith("mmapfs_"), line
            assert "{" + label in line, line
    samples = prom_samples(prom)
    assert samples[f'mmapfs_fuse_requests_total{{{label},op="write"}}'] >= 1
    assert samples[f'mmapfs_fuse_request_errors_total{{{label},'
                   'op="getxattr",errno="ENODATA"}'] >= 1
    assert samples[f'mmapfs_fuse_request_duration_seconds_count'
                   f'{{{label},op="write"}}'] >= 1
    assert samples[f'mmapfs_fuse_request_duration_seconds_bucket'
                   f'{{{label},op="write",le="+Inf"}}'] >= 1
    assert samples[f'mmapfs_syncs_total{{{label},kind="fsync"}}'] >= 1
    assert samples[f'mmapfs_syncs_total{{{label},kind="fdatasync"}}'] >= 1
    assert samples[f'mmapfs_flush_duration_seconds_count{{{label}}}'] >= 1
    assert samples[f'mmapfs_bytes_read_total{{{label}}}'] >= 8192
    assert samples[f'mmapfs_process_start_time_seconds{{{label}}}'] > 1e9
    assert samples[f'mmapfs_last_reload_success_timestamp_seconds'
                   f'{{{label}}}'] > 1e9
    assert re.search(r"^# TYPE mmapfs_fuse_request_duration_seconds "
                     r"histogram$", prom, re.M)


def test_read_only_closes_send_no_flush(cmount_factory):
    """A read-only open asks the kernel for no FLUSH at its close
    (FOPEN_NOFLUSH: a round trip less); an open that can write keeps it,
    since its close reports the sticky error."""
    m = cmount_factory()
    key = f'mmapfs_fuse_requests_total{{mount="{m.mnt}",op="flush"}}'

    def flushes():
        return prom_samples(stats(m.mnt, "metrics.prom")).get(key, 0)

    (m.mnt / "f").write_bytes(b"x" * 100)
    before = flushes()
    for _ in range(20):
        fd = fs.open(m.mnt / "f", os.O_RDONLY)
        assert util.pread_all(fd, 100, 0) == b"x" * 100
        fs.close(fd)
    assert flushes() == before
    for flags in (os.O_WRONLY, os.O_RDWR):
        for _ in range(10):
            fs.close(fs.open(m.mnt / "f", flags))
    assert flushes() >= before + 20


def test_metrics_reloads_counted(cmount_factory):
    m = cmount_factory(config="[global]\nflush = never\n")
    mnt = m.mnt
    ctl_ok(mnt, "reload", "x")
    m.config_file.write_text("[global]\nflush = nevr\n")
    ctl_err(errno.EINVAL, mnt, "reload", "x")
    samples = prom_samples(stats(mnt, "metrics.prom"))
    label = f'mount="{mnt}"'
    assert samples[f'mmapfs_reloads_total{{{label},result="ok"}}'] == 1
    assert samples[f'mmapfs_reloads_total{{{label},result="failed"}}'] == 1


def test_promtool_accepts_metrics(cmount_factory, tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (scripts/install-deps.sh)")
    m = cmount_factory(config="[global]\nflush = always\n")
    fd = hold_open(m.mnt / 'we"ird\nname', b"w" * 5000)
    util.fs.close(fd)
    prom = tmp_path / "metrics.prom"
    prom.write_text(stats(m.mnt, "metrics.prom"))
    with open(prom) as stdin:
        r = util.run([promtool, "check", "metrics"], stdin=stdin)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert (r.stdout + r.stderr).strip() == "", (r.stdout, r.stderr)


# ---- the HTTP endpoint and a real Prometheus ------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    """(status, body text) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_http_endpoint(cmount_factory):
    port = free_port()
    m = cmount_factory(config="[global]\nflush = always\n",
                       opts=[f"metrics_listen={port}"])
    fd = hold_open(m.mnt / "h", b"h" * 1000)
    util.fs.close(fd)
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert f'mmapfs_info{{mount="{m.mnt}",version="' in body
    assert "mmapfs_fuse_requests_total{" in body
    # The same builder as .stats/metrics.prom: the same families.
    families = {line.split()[2] for line in body.splitlines()
                if line.startswith("# TYPE ")}
    prom = stats(m.mnt, "metrics.prom")
    assert families == {line.split()[2] for line in prom.splitlines()
                        if line.startswith("# TYPE ")}
    assert http_get(f"http://127.0.0.1:{port}/other")[0] == 404
    assert f"metrics: serving http://127.0.0.1:{port}/metrics" in m.log_text()


def test_http_endpoint_off_by_default(cmount):
    assert "metrics: serving" not in cmount.log_text()


def _read_sys(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def test_host_note_says_when_idle_vcpus_halt_at_once(cmount):
    """One start-up line on a haltpoll guest that does not poll (what the
    daemon reads is read here too), none anywhere else."""
    halts = (_read_sys("/sys/devices/system/cpu/cpuidle/current_driver")
             == "haltpoll" and
             _read_sys("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
             == "0")
    note = "host: idle vCPUs halt at once"
    util.wait_until(lambda: "serving " in cmount.log_text(),
                    what="the start-up line")
    if halts:
        util.wait_until(lambda: note in cmount.log_text(), what=note)
        assert cmount.log_text().count(note) == 1
    else:
        assert note not in cmount.log_text()


def test_http_endpoint_port_in_use_refuses_mount(tmp_path):
    backing, mnt = tmp_path / "b", tmp_path / "m"
    backing.mkdir()
    mnt.mkdir()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            r = util.run([str(DAEMON), str(backing), str(mnt), "-f", "-o",
                          f"metrics_listen=127.0.0.1:{port}"])
        assert r.returncode != 0
        assert "metrics_listen" in r.stderr
        assert "nothing mounted" in r.stderr
        assert not util.is_fuse_mounted(mnt)
    finally:
        if util.is_fuse_mounted(mnt):
            util.run(["fusermount3", "-uz", str(mnt)])


def test_bad_metrics_listen_is_refused(tmp_path):
    r = util.run([str(DAEMON), str(tmp_path), str(tmp_path),
                  "-o", "metrics_listen=example.com:80"])
    assert r.returncode == 1
    assert "metrics_listen" in r.stderr and "no host names" in r.stderr


PROM_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mmapfs
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:{port}']
"""


def test_prometheus_scrapes_the_daemon(cmount_factory, tmp_path):
    prometheus = shutil.which("prometheus")
    if not prometheus:
        pytest.skip("prometheus is not installed (scripts/install-deps.sh)")
    port, web = free_port(), free_port()
    m = cmount_factory(config="[global]\nflush = bytes=64MiB\n",
                       opts=[f"metrics_listen=127.0.0.1:{port}"])
    fd = hold_open(m.mnt / "data.bin", b"p" * 300000)
    try:
        ctl_ok(m.mnt, "flush", "data.bin")
    finally:
        util.fs.close(fd)
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(PROM_CONFIG.format(port=port))
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={cfg}",
         f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{web}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        query = urllib.parse.urlencode(
            {"query": f'mmapfs_bytes_written_total{{mount="{m.mnt}"}}'})
        url = f"http://127.0.0.1:{web}/api/v1/query?{query}"
        answer = {}

        def scraped():
            try:
                status, body = http_get(url, timeout=2)
            except OSError:
                return False
            if status != 200:
                return False
            answer.update(json.loads(body))
            result = answer["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) >= 300000
        util.wait_until(scraped, timeout=90, interval=0.5,
                        what="Prometheus to scrape mmapfs")
        assert answer["status"] == "success"
        sample = answer["data"]["result"][0]
        assert sample["metric"]["job"] == "mmapfs"
        assert sample["metric"]["mount"] == str(m.mnt)
        print("Prometheus answered:", json.dumps(answer))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


# ---- who may read .stats/ -------------------------------------------------

MONITOR = (1002, 1002)   # a monitoring agent's user (node_exporter's)
MONITORS = 2002          # its group, named by stats_group


@pytest.mark.parametrize("mode, group_reads, others_read", [
    ("0500", False, False), ("0550", True, False), ("0555", True, True)])
def test_stats_group_and_mode(mount_factory, mode, group_reads, others_read):
    if os.geteuid() != 0:
        pytest.skip("needs root (allow_other, other users)")
    m = mount_factory(opts=["allow_other"], world=True,
                      config=f"[global]\nstats_group = {MONITORS}\n"
                             f"stats_mode = {mode}\n")
    st = util.fs.stat(m.mnt / ".stats")
    assert st.st_mode & 0o7777 == int(mode, 8)
    assert st.st_gid == MONITORS
    prom = util.fs.stat(m.mnt / ".stats" / "metrics.prom")
    assert prom.st_mode & 0o7777 == int(mode, 8) & 0o444
    code = (f"result = [R(readall, {str(m.mnt / '.stats' / 'version')!r}),"
            f" E(os.listdir, {str(m.mnt / '.stats')!r}),"
            f" E(os.listdir, {str(m.mnt / '.ctl')!r})]")
    member = util.run_as(*MONITOR, code, groups=[MONITORS])
    other = util.run_as(*MONITOR, code)
    assert member[0].startswith("mmapfs ") == group_reads, member
    assert other[0].startswith("mmapfs ") == others_read, other
    # The control directory stays the owner's.
    assert member[2] == "EACCES" and other[2] == "EACCES"


# ---- mmapfsctl: reasons, sizes, JSON, top -b --------------------------------

def test_mmapfsctl_says_why(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / "big.bin", b"b" * (2 << 20))
    util.fs.close(fd)
    # Sizes take the config's units, in .ctl commands too.
    r = mmapfsctl("prefetch", mnt / "big.bin", "0", "1M")
    assert r.returncode == 0, r.stderr
    ctl_ok(mnt, "prefetch", "big.bin 4KiB 1M")
    # Mistakes are named, with the daemon's own parser, before sending.
    r = mmapfsctl("prefetch", mnt / "big.bin", "0", "1m")
    assert r.returncode == 2
    assert "LENGTH '1m' has an unknown unit" in r.stderr, r.stderr
    r = mmapfsctl("prefetch", mnt / "big.bin", "1M", "2M")
    assert r.returncode == 2
    assert "past the end of the file" in r.stderr, r.stderr
    r = mmapfsctl("advise", mnt / "big.bin", "sideways")
    assert r.returncode == 2 and "sideways" in r.stderr, r.stderr
    r = mmapfsctl("policy", mnt / "big.bin", "bytes=4X")
    assert r.returncode == 2 and "unit" in r.stderr, r.stderr


def test_mmapfsctl_reload_says_why(cmount_factory):
    m = cmount_factory(config="[global]\nflush = never\n")
    m.config_file.write_text("[global]\nflush = nevr\n")
    r = mmapfsctl("reload", m.mnt)
    assert r.returncode == 1
    assert "unknown key 'nevr'" in r.stderr, r.stderr


def test_mmapfsctl_json(cmount):
    mnt = cmount.mnt
    fd = hold_open(mnt / 'j"son\x1bfile', b"j" * 100)
    try:
        r = mmapfsctl("stats", mnt, "--json")
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["mount"] == str(mnt)
        assert s["version"].startswith("mmapfs ")
        assert isinstance(s["pending_bytes"], int)
        assert {"pending_writes", "flushes", "flush_errors"} <= set(s)
        r = mmapfsctl("files", "--json", mnt)
        assert r.returncode == 0, r.stderr
        rows = {row["path"]: row for row in json.loads(r.stdout)}
        row = rows['j"son\x1bfile']
        assert row["mapped"] is True and row["mode"] == "rw"
        assert row["size"] == 100 and row["policy"] == "never"
        assert row["last_flush_age_ms"] is None
    finally:
        util.fs.close(fd)


def test_mmapfsctl_top_batch(cmount_factory):
    m = cmount_factory(config="[global]\nflush = bytes=64KiB,ms=1000\n")
    deep = m.mnt / "a-rather-long-directory-name" / "and-another-one"
    util.fs.makedirs(deep)
    fds = [hold_open(deep / "the-file-name.log", b"x" * 5000),
           hold_open(m.mnt / "esc\x1b[31mred", b"y" * 100)]
    try:
        r = mmapfsctl("top", "-b", "-n", "2", "-d", "0.2", m.mnt,
                      env={**os.environ, "COLUMNS": "70"})
        assert r.returncode == 0, r.stderr
        out = r.stdout
        print(out)
        assert "\x1b" not in out            # plain text, names escaped
        assert "\\x1b[31mred" in out
        assert out.count("PENDING") == 2
        lines = out.splitlines()
        assert all(len(line) <= 70 for line in lines), lines
        # Paths lose their start (the name stays), policies their end,
        # both marked.
        assert any(re.search("\u2026[^ ]*name\\.log$", line)
                   for line in lines), out
        assert "bytes=64KiB,ms=1000" not in out
        assert any(re.search("bytes[^ ]*\u2026 ", line) for line in lines)
        # Without a terminal, batch mode is the default; wide lines then.
        r = mmapfsctl("top", "-n", "1", m.mnt)
        assert r.returncode == 0 and "\x1b" not in r.stdout
        assert "bytes=64KiB,ms=1000" in r.stdout
        assert "and-another-one/the-file-name.log" in r.stdout
    finally:
        for fd in fds:
            util.fs.close(fd)
