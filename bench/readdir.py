#!/usr/bin/python3
"""readdir.py — times directory listing for the metadata row of bench/run.sh.

Lists DIR REPEAT times with readdir only (os.listdir) and REPEAT times with
readdir plus lstat(2) of every entry (what `ls -l` and `find -ls` do), and
prints one JSON object with entries per second for each:
{"entries", "readdir_per_s", "readdir_stat_per_s"}.

Single-threaded; stdlib only.
"""
import argparse
import json
import os
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    start = time.monotonic()
    for _ in range(args.repeat):
        entries = len(os.listdir(args.dir))
    readdir_s = time.monotonic() - start

    start = time.monotonic()
    for _ in range(args.repeat):
        with os.scandir(args.dir) as it:
            for entry in it:
                entry.stat(follow_symlinks=False)
    stat_s = time.monotonic() - start

    total = entries * args.repeat
    print(json.dumps({"entries": entries,
                      "readdir_per_s": total / readdir_s,
                      "readdir_stat_per_s": total / stat_s}))


if __name__ == "__main__":
    main()
