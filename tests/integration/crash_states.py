"""Crash states: what a power cut at instant t could leave on the backing.

Purpose: turn a recordfs journal (recordfs.py) into directories that look
like the backing of mmapfs after a power cut, for test_crash.py to mount
and check.

The model (the one CrashMonkey and ALICE use, at page granularity):
  - a write or truncate of a file is *durable* at t when an FSYNC of that
    file was served after it and before t;
  - a name operation (link, unlink, rename) is durable at t when every
    directory it touches had an FSYNCDIR served after it and before t (a
    file's own fsync does not make its name durable: POSIX does not
    promise it, so neither does the model);
  - everything else served before t was *written but not yet durable*: a
    power cut may have kept any subset of it.  Writes are split into page
    pieces (the part of a write inside one page of the file), each kept
    or lost on its own; truncates and name operations are kept or lost
    whole.  What is kept is applied in the order it was served.
A state is (t, choice): choice picks the subset of the not-yet-durable
pieces: "none", "all", "prefix" (a random prefix, in serving order:
a disk that persists in order) or "pages" (each piece kept with
probability 1/2).  Name operations that no longer apply in a subset
(renaming or removing a name the subset never made) are skipped.

Instants worth cutting at: just before and just after every durability
point (FSYNC, FSYNCDIR), just after the acknowledgements a workload logged
(the moments a promise starts to hold), and random instants.

Invariant: "all" at t is the backing as recordfs served it at t; every
state contains at least what was durable at t.
"""

import bisect
import json
import os
import random
import shutil
from dataclasses import dataclass, field

PAGE = os.sysconf("SC_PAGE_SIZE")
CHOICES = ("none", "all", "prefix", "pages")
DATA_OPS = ("write", "truncate")
NAME_OPS = ("link", "unlink", "rename")


class Recording:
    """A recordfs journal: .events (dicts in serving order, writes with
    their "data"), .times (their t), .start and .end."""

    def __init__(self, journal_path):
        journal_path = str(journal_path)
        with open(journal_path + ".data", "rb") as f:
            blob = f.read()
        with open(journal_path, encoding="utf-8") as f:
            self.events = [json.loads(line) for line in f]
        for e in self.events:
            if e["op"] == "write":
                e["data"] = blob[e["at"]:e["at"] + e["len"]]
        self.times = [e["t"] for e in self.events]
        if not self.events:
            raise ValueError(f"{journal_path}: empty journal")
        self.start, self.end = self.times[0], self.times[-1]

    def served_before(self, t):
        """Number of events served before instant t."""
        return bisect.bisect_left(self.times, t)

    def durability_points(self):
        return [e["t"] for e in self.events
                if e["op"] in ("fsync", "fsyncdir")]

    def count(self, op):
        return sum(1 for e in self.events if e["op"] == op)

    def durable_after(self, oid, t):
        """Instant of the first fsync of object oid served after t, or
        None: when what was written to it by t became durable."""
        for k in range(self.served_before(t), len(self.events)):
            e = self.events[k]
            if e["op"] == "fsync" and e["id"] == oid:
                return e["t"]
        return None


@dataclass
class Tree:
    """The content of a state: objects by id, names by directory id."""
    files: dict = field(default_factory=dict)   # id -> bytearray
    # directory id -> {name: (kind, id)}
    dirs: dict = field(default_factory=lambda: {"root": {}})

    def entries(self):
        """{relative path: (kind, id)} of everything reachable from the
        root (unreachable objects are lost)."""
        out = {}
        seen = set()

        def walk(dir_id, prefix):
            seen.add(dir_id)
            for name, (kind, oid) in sorted(self.dirs.get(dir_id, {}).items()):
                out[prefix + name] = (kind, oid)
                if kind == "dir" and oid not in seen:
                    walk(oid, prefix + name + "/")
        walk("root", "")
        return out

    def paths(self):
        """{relative path: ("dir", None) | ("file", bytes)}."""
        return {path: (kind, None) if kind == "dir" else
                (kind, bytes(self.files.get(oid, b"")))
                for path, (kind, oid) in self.entries().items()}


def _pieces(e):
    """A write as page pieces [(off, bytes)]; other ops as one piece."""
    if e["op"] != "write":
        return [None]
    out = []
    off, data = e["off"], e["data"]
    pos = 0
    while pos < len(data):
        end = min(len(data), (off + pos) // PAGE * PAGE + PAGE - off)
        out.append((off + pos, data[pos:end]))
        pos = end
    return out


def _touched_dirs(e):
    if e["op"] == "rename":
        return {e["dir"], e["newdir"]}
    return {e["dir"]}


def _apply(tree, e, piece):
    op = e["op"]
    if op == "write":
        off, data = piece
        buf = tree.files.setdefault(e["id"], bytearray())
        if len(buf) < off:
            buf.extend(bytes(off - len(buf)))
        buf[off:off + len(data)] = data
    elif op == "truncate":
        buf = tree.files.setdefault(e["id"], bytearray())
        if e["size"] < len(buf):
            del buf[e["size"]:]
        else:
            buf.extend(bytes(e["size"] - len(buf)))
    elif op == "link":
        tree.dirs.setdefault(e["dir"], {})[e["name"]] = (e["kind"], e["id"])
        if e["kind"] == "dir":
            tree.dirs.setdefault(e["id"], {})
        else:
            tree.files.setdefault(e["id"], bytearray())
    elif op == "unlink":
        tree.dirs.get(e["dir"], {}).pop(e["name"], None)
    elif op == "rename":
        entry = tree.dirs.get(e["dir"], {}).pop(e["name"], None)
        if entry is not None:
            tree.dirs.setdefault(e["newdir"], {})[e["newname"]] = entry


@dataclass
class CrashState:
    t: int                  # instant of the cut (CLOCK_MONOTONIC ns)
    choice: str             # one of CHOICES
    seed: int               # of the random subset
    tree: Tree = None
    durable_ops: int = 0    # events durable at t
    pending_pieces: int = 0 # not-yet-durable pieces at t
    kept_pieces: int = 0    # of those, in this state

    def describe(self, origin):
        return (f"cut at +{(self.t - origin) / 1e6:.3f} ms, {self.choice} "
                f"of {self.pending_pieces} not-yet-durable pieces "
                f"({self.kept_pieces} kept, subset seed {self.seed})")


def build(rec, t, choice, seed):
    """The CrashState of a cut at t keeping `choice` of what was not yet
    durable."""
    served = rec.events[:rec.served_before(t)]
    last_fsync, last_dirsync = {}, {}
    for i, e in enumerate(served):
        if e["op"] == "fsync":
            last_fsync[e["id"]] = i
        elif e["op"] == "fsyncdir":
            last_dirsync[e["id"]] = i
    steps = []              # (event, piece, durable) in serving order
    for i, e in enumerate(served):
        if e["op"] in DATA_OPS:
            durable = i < last_fsync.get(e["id"], -1)
        elif e["op"] in NAME_OPS:
            durable = all(i < last_dirsync.get(d, -1)
                          for d in _touched_dirs(e))
        else:
            continue
        for piece in _pieces(e):
            steps.append((e, piece, durable))
    pending = [k for k, (_, _, durable) in enumerate(steps) if not durable]
    rng = random.Random(seed)
    if choice == "none":
        kept = set()
    elif choice == "all":
        kept = set(pending)
    elif choice == "prefix":
        kept = set(pending[:rng.randint(0, len(pending))])
    elif choice == "pages":
        kept = {k for k in pending if rng.random() < 0.5}
    else:
        raise ValueError(f"unknown choice {choice!r}")
    tree = Tree()
    for k, (e, piece, durable) in enumerate(steps):
        if durable or k in kept:
            _apply(tree, e, piece)
    return CrashState(t, choice, seed, tree,
                      durable_ops=sum(1 for s in steps if s[2]),
                      pending_pieces=len(pending), kept_pieces=len(kept))


def materialise(tree, directory):
    """Writes the state's tree into directory (created, must not exist)."""
    os.mkdir(directory)
    for path, (kind, data) in tree.paths().items():
        target = os.path.join(directory, path)
        if kind == "dir":
            os.mkdir(target)
        else:
            with open(target, "wb") as f:
                f.write(data)


def remove(directory):
    shutil.rmtree(directory, ignore_errors=True)


def instants(rec, acks, rng, randoms):
    """Candidate cut instants, each as (kind, t), shuffled so that any
    prefix mixes every kind: around durability points, just after the
    workload's acknowledgements (acks: their times), and `randoms` random
    instants within the recording."""
    kinds = {
        "before-sync": [t for t in rec.durability_points()],
        "after-sync": [t + 1 for t in rec.durability_points()],
        "after-ack": [t + 1 for t in acks],
        "random": [rng.randint(rec.start, rec.end + 1)
                   for _ in range(randoms)],
    }
    for ts in kinds.values():
        rng.shuffle(ts)
    out = []
    while any(kinds.values()):
        for kind, ts in kinds.items():
            if ts:
                out.append((kind, ts.pop()))
    return out
