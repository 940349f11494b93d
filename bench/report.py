#!/usr/bin/python3
"""report.py — turns the raw outputs of bench/run.sh into numbers and tables.

Subcommands:
  extract KIND FILE   print the one number a raw output holds, for runs.tsv.
                      KIND is fio:bw (MiB/s, read+write), fio:iops
                      (read+write), fio:iops:JOB (only the job named JOB),
                      fio:p50 / fio:p99 (completion latency percentile in
                      microseconds, of the first job with I/O), or json:KEY (a key of a JSON object printed by
                      timedsync.py or readdir.py).
  table DIR           read DIR/runs.tsv (target, cache, row, run, value,
                      unit), take the median over runs, write
                      DIR/summary.tsv (one line per row and cache: medians
                      and ratios to native per target) and print the table
                      with the goals of issue 8 checked for mmapfs (default
                      config) and mmapfs-tuned (bench/tuned.ini): "ok" or
                      "MISS" against the ratio goal, "<mergerfs"/"<bindfs"
                      where a peer is faster.
  scale DIR           print DIR/scale.tsv (written by bench/scale.sh) as
                      Markdown tables, one per experiment.
  peers DIR           print the Markdown table of bench/peers.sh (issue
                      16) from DIR/runs.tsv (target, row, run, value,
                      unit, load) and DIR/settings.tsv: medians and ranges
                      per row and target, then the goal ratios of issue 16
                      (ratio of medians, the range of per-run ratios, met
                      or MISS) and the ratios to libfuse's passthrough_ll.

Design: run.sh never parses JSON itself; every number goes through extract,
so the unit conventions live here only (MiB = 2^20 bytes; fio reports bw in
KiB/s). Stdlib only, no state besides the files named.
"""
import json
import os
import signal
import statistics
import sys

TARGETS = ["native", "mmapfs", "mmapfs-tuned", "mergerfs", "bindfs"]
# Targets whose ratios are checked against the goals (mmapfs-tuned is
# mmapfs with bench/tuned.ini).
CHECKED = [("mmapfs", "default-check"), ("mmapfs-tuned", "tuned-check")]

# Ratio-to-native targets of issue 8 (default config), by row prefix.
RATIO_TARGETS = [
    ("seqread", 0.90),
    ("seqwrite", 0.80),
    ("randread", 0.90),
    ("randwrite", 0.60),
    ("mmap", 0.50),
    ("smallfiles", 0.60),
    ("dur-", 0.80),
]

# Display order of rows; rows not listed sort after these, by name.
ROW_ORDER = [
    "seqwrite-j1", "seqwrite-j2", "seqwrite-j4",
    "seqread-j1", "seqread-j2", "seqread-j4",
    "randread-j1", "randread-j2", "randread-j4",
    "randwrite-j1", "randwrite-j2", "randwrite-j4",
    "mmap-randrw", "smallfiles",
    "md-create", "md-stat", "md-readdir", "md-readdir-stat",
    "dur-always-4k", "dur-bytes-1MiB", "dur-ms-100",
]


def fio_jobs(path):
    with open(path) as f:
        text = f.read()
    # fio may print warnings before the JSON document.
    return json.loads(text[text.index("{"):])["jobs"]


def extract(kind, path):
    parts = kind.split(":")
    if parts[0] == "fio":
        jobs = fio_jobs(path)
        if len(parts) == 3:
            jobs = [j for j in jobs if j["jobname"] == parts[2]]
            if not jobs:
                raise SystemExit(f"report.py: no job {parts[2]} in {path}")
        if parts[1] == "bw":
            kib = sum(j["read"]["bw"] + j["write"]["bw"] for j in jobs)
            return kib / 1024.0
        if parts[1] == "iops":
            return sum(j["read"]["iops"] + j["write"]["iops"] for j in jobs)
        if parts[1] in ("p50", "p99"):
            pct = "50.000000" if parts[1] == "p50" else "99.000000"
            for j in jobs:
                for d in ("read", "write"):
                    if j[d]["total_ios"] and pct in j[d]["clat_ns"].get("percentile", {}):
                        return j[d]["clat_ns"]["percentile"][pct] / 1000.0
            return 0.0
    elif parts[0] == "json" and len(parts) == 2:
        with open(path) as f:
            return float(json.load(f)[parts[1]])
    raise SystemExit(f"report.py: unknown kind {kind}")


def ratio_target(row):
    for prefix, target in RATIO_TARGETS:
        if row.startswith(prefix):
            return target
    return None


def row_key(row):
    if row in ROW_ORDER:
        return (ROW_ORDER.index(row), row)
    return (len(ROW_ORDER), row)


def load_runs(path):
    runs = {}
    units = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            target, cache, row, _run, value, unit = line.rstrip("\n").split("\t")
            runs.setdefault((row, cache, target), []).append(float(value))
            units[row] = unit
    return runs, units


def fmt(value):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def table(outdir):
    runs, units = load_runs(os.path.join(outdir, "runs.tsv"))
    rows = sorted({(r, c) for (r, c, _t) in runs},
                  key=lambda rc: (row_key(rc[0]), rc[1] != "warm"))
    header = ["row", "cache", "unit", "n"]
    for t in TARGETS:
        header += [t] if t == "native" else [t, f"{t}/nat"]
    header += ["goal"] + [name for _t, name in CHECKED]
    lines = [header]
    summary = ["\t".join(["row", "cache", "unit", "runs"] +
                         [f"{t}\t{t}_ratio" for t in TARGETS])]
    for row, cache in rows:
        med = {}
        n = 0
        for t in TARGETS:
            vals = runs.get((row, cache, t))
            med[t] = statistics.median(vals) if vals else None
            n = max(n, len(vals) if vals else 0)
        nat = med["native"]
        ratio = {t: (med[t] / nat if med[t] is not None and nat else None)
                 for t in TARGETS}
        out = [row, cache, units[row], str(n)]
        srow = [row, cache, units[row], str(n)]
        for t in TARGETS:
            if t == "native":
                out += [fmt(nat)]
            else:
                out += [fmt(med[t]), "-" if ratio[t] is None else f"{ratio[t]:.2f}"]
            srow += ["" if med[t] is None else f"{med[t]:.3f}",
                     "" if ratio[t] is None else f"{ratio[t]:.4f}"]
        goal = ratio_target(row)
        out.append("-" if goal is None else f">={goal:.2f}")
        for t, _name in CHECKED:
            checks = []
            if med[t] is not None:
                if goal is not None and ratio[t] is not None:
                    checks.append("ok" if ratio[t] >= goal else "MISS")
                for peer in ("mergerfs", "bindfs"):
                    if med[peer] is not None and med[t] < med[peer]:
                        checks.append(f"<{peer}")
            out.append(",".join(checks) if checks else "-")
        lines.append(out)
        summary.append("\t".join(srow))
    with open(os.path.join(outdir, "summary.tsv"), "w") as f:
        f.write("\n".join(summary) + "\n")
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = []
    for i, line in enumerate(lines):
        text.append("  ".join(cell.ljust(widths[j]) if j < 3 else cell.rjust(widths[j])
                              for j, cell in enumerate(line)).rstrip())
        if i == 0:
            text.append("  ".join("-" * w for w in widths))
    print("\n".join(text))


def scale(outdir):
    """Markdown tables of DIR/scale.tsv (experiment, param, target, metric,
    value, unit): one table per experiment, one line per parameter value,
    one column per target and metric."""
    data = {}
    order = []
    with open(os.path.join(outdir, "scale.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            exp, param, target, metric, value, unit = line.rstrip("\n").split("\t")
            if exp not in data:
                data[exp] = {"params": [], "cols": [], "cells": {}}
                order.append(exp)
            e = data[exp]
            if param not in e["params"]:
                e["params"].append(param)
            col = (target, metric, unit)
            if col not in e["cols"]:
                e["cols"].append(col)
            e["cells"][(param, col)] = float(value)
    for exp in order:
        e = data[exp]
        print(f"\n### {exp}\n")
        print("| " + " | ".join(["param"] + [f"{t} {m} ({u})" for t, m, u in e["cols"]]) + " |")
        print("|" + "---|" * (len(e["cols"]) + 1))
        for p in e["params"]:
            cells = [fmt(e["cells"].get((p, c))) for c in e["cols"]]
            print("| " + " | ".join([p] + cells) + " |")


# bench/peers.sh: the table's columns (title, target); its rows are in peers().
# In the row dur-bytes-4k the mmapfs column holds mmapfs-bytes (policy
# bytes=1MiB); in dur-always-4k the `always` column holds mmapfs-always.
PEER_COLS = [("native", "native"), ("mergerfs", "mergerfs"),
             ("libfuse passthrough", "passthrough"),
             ("mmapfs `never`", "mmapfs"),
             ("mmapfs `never`, outside_changes = ignore", "mmapfs-ignore"),
             ("mmapfs `always`", "mmapfs-always")]
# Shown only when the run measured it.
PEER_OPTIONAL = {"mmapfs-ignore"}
# (ratio, row, target, reference target, "<=" or ">=", goal): issue 16.
PEER_GOALS = [
    ("tar x time: mmapfs `never` / mergerfs", "tarx", "mmapfs", "mergerfs", "<=", 0.7),
    ("tar x time: mmapfs `always` / mmapfs `never`", "tarx", "mmapfs-always", "mmapfs", "<=", 1.5),
    ("new files/s: mmapfs / mergerfs", "newfiles", "mmapfs", "mergerfs", ">=", 1.3),
    ("random write IOPS, 1 job: mmapfs / mergerfs", "randwrite-j1", "mmapfs", "mergerfs", ">=", 1.2),
    ("random write IOPS, 2 jobs: mmapfs / mergerfs", "randwrite-j2", "mmapfs", "mergerfs", ">=", 1.2),
    ("sequential write MiB/s: mmapfs / mergerfs", "seqwrite", "mmapfs", "mergerfs", ">=", 1.0),
    ("4 KiB IOPS: mmapfs `always` / native O_DSYNC", "dur-always-4k", "mmapfs-always", "native", ">=", 0.8),
    ("4 KiB IOPS: mmapfs `bytes=1MiB` / native fdatasync per MiB", "dur-bytes-4k", "mmapfs-bytes", "native", ">=", 0.5),
    ("random write IOPS, 1 job: mmapfs / native", "randwrite-j1", "mmapfs", "native", ">=", 0.6),
]


def peer_fmt(value, unit):
    if unit == "s":
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def peers(outdir):
    settings = {}
    with open(os.path.join(outdir, "settings.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            settings[key] = value
    runs = {}      # (row, target) -> {run: value}
    units = {}
    with open(os.path.join(outdir, "runs.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            target, row, run, value, unit = line.rstrip("\n").split("\t")[:5]
            runs.setdefault((row, target), {})[int(run)] = float(value)
            units[row] = unit

    def med(row, target):
        vals = runs.get((row, target))
        return statistics.median(vals.values()) if vals else None

    def cell(row, target, ref=None, note=""):
        vals = runs.get((row, target))
        if not vals:
            return "–"
        unit = units[row]
        v = list(vals.values())
        text = f"{peer_fmt(statistics.median(v), unit)} {unit}"
        if len(v) > 1:
            text += f" ({peer_fmt(min(v), unit)}–{peer_fmt(max(v), unit)})"
        if ref is not None and med(row, ref):
            text += f"; {statistics.median(v) / med(row, ref):.2f}× {ref}"
        return text + note

    n = settings.get("runs", "?")
    entries = int(settings.get("tar_entries", "0") or 0)
    size = settings.get("size_mib", "?")
    rt = settings.get("runtime_s", "?")
    rows = [
        ("tarx", f"`tar x` of {settings.get('tar_src', '?')} ({entries:,} entries), fresh ext4, "
                 f"median of {n} (extraction alone)", None),
        ("tarx-sync", "the same `tar x`, and the `sync -f` of the ext4 after it", None),
        ("readfiles-cold", f"`cat` of every file of {settings.get('tar_src', '?')} through a fresh "
                           f"mount (find, xargs cat), fresh ext4", {"mmapfs-always"}),
        ("readfiles-warm", "the same, third pass (the mount's caches warm)", {"mmapfs-always"}),
        ("newfiles", f"fio {int(settings.get('nrfiles', '0')):,} new 4 KiB files, fresh ext4, "
                     f"median of {n}", {"mmapfs-always"}),
        ("randwrite-j1", f"fio random write 4 KiB, 1 job, warm ({size} MiB, {rt} s)", {"mmapfs-always"}),
        ("randwrite-j2", f"fio random write 4 KiB, 2 jobs, warm ({size} MiB, {rt} s)", {"mmapfs-always"}),
        ("seqwrite", f"fio sequential write 1 MiB ({size} MiB, final fsync)", {"mmapfs-always"}),
    ]
    cols = [(c, t) for c, t in PEER_COLS
            if t not in PEER_OPTIONAL or any(k[1] == t for k in runs)]
    print("| work | " + " | ".join(title for title, _t in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for row, label, blank in rows:
        if not any((row, t) in runs for _c, t in cols):
            continue
        cells = ["" if blank and t in blank else cell(row, t) for _c, t in cols]
        print(f"| {label} | " + " | ".join(cells) + " |")
    dur = [
        ("dur-always-4k", f"4 KiB writes ({settings.get('dsize_mib', '?')} MiB file, random, {rt} s), "
                          "mmapfs `always` vs native O_DSYNC",
         {"native": ("native", None, " O_DSYNC"), "mmapfs-always": ("mmapfs-always", "native", "")}),
        ("dur-bytes-4k", f"4 KiB writes ({settings.get('dseqsize_mib', '?')} MiB, sequential), "
                         "mmapfs `bytes=1MiB` vs native write + fdatasync every 1 MiB",
         {"native": ("native", None, " write+fdatasync/MiB"), "mmapfs": ("mmapfs-bytes", "native", " (`bytes=1MiB`)")}),
    ]
    for row, label, placed in dur:
        if not any((row, t) in runs for t, _r, _n in placed.values()):
            continue
        cells = []
        for _c, col in cols:
            if col in placed:
                t, ref, note = placed[col]
                cells.append(cell(row, t, ref, note))
            else:
                cells.append("")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print(f"Cells: median (range) of the {n} run(s). Every tar x, read-files and new-files run on a new ext4 "
          "without a journal in a RAM-backed loop image; the warm rows and the durability rows "
          "share one such ext4 per target and run. tar x times the extraction alone (wall clock); "
          "the row below it adds the `sync -f` after it.")
    print()
    print("### Goals (issue 16)")
    print()
    print("| ratio | ratio of medians | per-run ratios | goal | |")
    print("|---|---|---|---|---|")
    for label, row, t, ref, op, goal in PEER_GOALS:
        a, b = med(row, t), med(row, ref)
        if a is None or b is None or not b:
            print(f"| {label} | – | – | {op} {goal} | not measured |")
            continue
        r = a / b
        pairs = [runs[(row, t)][k] / runs[(row, ref)][k]
                 for k in sorted(runs[(row, t)]) if runs[(row, ref)].get(k)]
        span = "–" if not pairs else f"{min(pairs):.2f}–{max(pairs):.2f}" if len(pairs) > 1 else f"{pairs[0]:.2f}"
        met = r <= goal if op == "<=" else r >= goal
        print(f"| {label} | {r:.2f} | {span} | {op} {goal} | {'met' if met else '**MISS**'} |")
    ref_rows = [r for r, _l, _b in rows if (r, "passthrough") in runs]
    if ref_rows:
        print()
        print("### Against libfuse's passthrough_ll (ratio of medians; for times lower is faster)")
        print()
        print("| row | mmapfs / passthrough | mergerfs / passthrough |")
        print("|---|---|---|")
        for row in ref_rows:
            p = med(row, "passthrough")
            out = []
            for t in ("mmapfs", "mergerfs"):
                m = med(row, t)
                out.append("–" if m is None or not p else f"{m / p:.2f}")
            print(f"| {row} | " + " | ".join(out) + " |")


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(argv) == 4 and argv[1] == "extract":
        print(f"{extract(argv[2], argv[3]):.6f}")
    elif len(argv) == 3 and argv[1] == "table":
        table(argv[2])
    elif len(argv) == 3 and argv[1] == "scale":
        scale(argv[2])
    elif len(argv) == 3 and argv[1] == "peers":
        peers(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
