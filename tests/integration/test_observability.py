"""Integration tests of what an operator reads: daemon-wide totals that
only grow (a file's close never lowers them), the table of recently
closed files in .stats/files, metrics.prom (requests by operation, flush
histogram, mount label), promtool's verdict on it when promtool is
installed, and the /metrics HTTP endpoint scraped by a real Prometheus
server when one is installed.

Every mount is unmounted by its fixture; every server this file starts is
stopped by pid in a finally block.
"""
import os
import re
import shutil

import pytest

import util
from test_control import (ctl_ok, files_rows, stats, total, hold_open,
                          cmount_factory, cmount)  # noqa: F401 (fixtures)

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
        util.fs.close(fd)
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
    util.fs.close(fd)
    first = int(files_rows(mnt)["a"]["flushes"])
    assert first >= 1
    fd = hold_open(mnt / "a")
    try:
        util.pwrite_all(fd, b"2" * 100, 100)
        again = int(files_rows(mnt)["a"]["flushes"])
        assert again > first, (first, again)
    finally:
        util.fs.close(fd)
    assert int(files_rows(mnt)["a"]["flushes"]) >= again


def test_closed_files_table_is_bounded(cmount_factory):
    m = cmount_factory(config="[global]\nflush = always\n"
                       "closed_files_max = 3\n")
    mnt = m.mnt
    for i in range(6):
        fd = hold_open(mnt / f"c{i}", b"z")
        util.fs.close(fd)
    rows = files_rows(mnt)
    closed = sorted(p for p in rows if p.startswith("c"))
    # The newest three stay, oldest out first.
    assert closed == ["c3", "c4", "c5"], rows
    prom = stats(mnt, "metrics.prom")
    assert prom_value(prom, "mmapfs_closed_files") == 3


def test_metrics_requests_and_mount_label(cmount_factory):
    m = cmount_factory(config="[global]\nflush = always\n")
    mnt = m.mnt
    fd = hold_open(mnt / "r", b"q" * 8192)
    try:
        assert util.pread_all(fd, 8192, 0) == b"q" * 8192
        util.call(os.fsync, fd)
        util.call(os.fdatasync, fd)
    finally:
        util.fs.close(fd)
    util.expect_errno(2, os.stat, str(mnt / "missing"))
    prom = stats(mnt, "metrics.prom")
    label = f'mount="{mnt}"'
    for line in prom.splitlines():
        if line and not line.startswith("#"):
            assert line.startswith("mmapfs_"), line
            assert "{" + label in line, line
    samples = prom_samples(prom)
    assert samples[f'mmapfs_fuse_requests_total{{{label},op="write"}}'] >= 1
    assert samples[f'mmapfs_fuse_request_errors_total{{{label},'
                   'op="lookup",errno="ENOENT"}'] >= 1
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


def test_metrics_reloads_counted(cmount_factory):
    m = cmount_factory(config="[global]\nflush = never\n")
    mnt = m.mnt
    ctl_ok(mnt, "reload", "x")
    m.config_file.write_text("[global]\nflush = nevr\n")
    util.expect_errno(22, lambda: ctl_ok(mnt, "reload", "x"))
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
