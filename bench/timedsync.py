#!/usr/bin/python3
"""timedsync.py — sequential writer with time-based durability, for the
`ms=100` durability row of bench/run.sh (fio cannot fdatasync on a timer).

Writes SIZE bytes to a fresh file PATH in BS-byte write(2) calls. With
--sync-ms T it calls fdatasync(2) whenever T ms have passed since the last
one (what a program would do by hand to bound its loss to T ms); with T = 0
it never does (the file system's policy is expected to). Either way the file
is fsync'ed once at the end, inside the measured time, and the result is
printed as one JSON object: {"bytes", "seconds", "mib_s", "syncs"}.

Single-threaded; stdlib only.
"""
import argparse
import json
import os
import time


def parse_size(text):
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--size", default="256M")
    ap.add_argument("--bs", default="64K")
    ap.add_argument("--sync-ms", type=int, default=0)
    args = ap.parse_args()
    size, bs = parse_size(args.size), parse_size(args.bs)
    block = os.urandom(bs)
    interval = args.sync_ms / 1000.0
    syncs = 0
    try:
        os.unlink(args.path)
    except FileNotFoundError:
        pass
    fd = os.open(args.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        start = time.monotonic()
        last_sync = start
        done = 0
        while done < size:
            n = os.write(fd, block[: min(bs, size - done)])
            done += n
            if interval > 0:
                now = time.monotonic()
                if now - last_sync >= interval:
                    os.fdatasync(fd)
                    syncs += 1
                    last_sync = now
        os.fsync(fd)
        seconds = time.monotonic() - start
    finally:
        os.close(fd)
    print(json.dumps({"bytes": done, "seconds": seconds,
                      "mib_s": done / seconds / (1 << 20), "syncs": syncs}))


if __name__ == "__main__":
    main()
