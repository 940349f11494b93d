#!/usr/bin/python3
"""mapmem.py — memory the mmapfs daemon spends per mapped file, for
bench/scale.sh.

Opens COUNT files DIR/m.0 .. m.COUNT-1 (which must exist) through the mount,
reads one byte of each (so each gets its shared mapping and one resident
page), keeps them all open, and compares the daemon's /proc/PID/status
(VmRSS, RssAnon, RssFile) and its number of mappings (/proc/PID/maps lines)
with the values before. Prints one JSON object with the deltas and the
per-file figures in KiB.

Single-threaded; stdlib only; raises its own RLIMIT_NOFILE to the hard limit.
"""
import argparse
import json
import os
import resource


def daemon_memory(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0])
    with open(f"/proc/{pid}/maps") as f:
        values["maps"] = sum(1 for _ in f)
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("count", type=int)
    ap.add_argument("pid", type=int)
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    before = daemon_memory(args.pid)
    fds = []
    try:
        for i in range(args.count):
            fd = os.open(os.path.join(args.dir, f"m.{i}"), os.O_RDONLY)
            fds.append(fd)
            os.pread(fd, 1, 0)
        after = daemon_memory(args.pid)
    finally:
        for fd in fds:
            os.close(fd)
    delta = {k: after[k] - before[k] for k in before}
    print(json.dumps({
        "files": args.count,
        "rss_kib": delta["VmRSS"],
        "anon_kib": delta["RssAnon"],
        "file_kib": delta["RssFile"],
        "maps": delta["maps"],
        "rss_per_file_kib": delta["VmRSS"] / args.count,
        "anon_per_file_kib": delta["RssAnon"] / args.count,
        "maps_per_file": delta["maps"] / args.count,
    }))


if __name__ == "__main__":
    main()
