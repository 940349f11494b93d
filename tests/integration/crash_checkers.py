"""Crash checkers: is a crash state, served by a fresh mmapfs, what the
policies promised?

Purpose: test_crash.py mounts each crash state (crash_states.py) through
a fresh mmapfs and hands what the mount serves to these checkers, with the
workload's log (crash_workloads.py) and the instant t of the cut.  Each
returns a list of violations (text; empty: the state keeps every promise)
and adds what it saw to a Tally.

  listing      the mount lists exactly the state's names, with its kinds,
               sizes and bytes (the state mounts and lists);
  data files   each file is cut into segments (between write boundaries
               and page boundaries, so a segment comes from one write as
               a whole): a segment must hold the bytes of one of the
               writes that covered it and were started before t, or zeros
               when none is required; the policy (crash_promises.py)
               names the writes that are required, and then only that
               write or a later one will do;
  records      every record slot holds an intact record, nothing (zeros,
               past the end), or bytes whose checksum fails: a torn record
               is detected, never silently wrong;
  names        each logged path shows the outcome (absent, present, exact
               bytes) of its last required name event or of a later one
               started before t — for atomic replace that means a complete
               old or new version, never a torn or empty file;
  sqlite       PRAGMA integrity_check is ok, every transaction committed
               before t is there, every transaction there is complete and
               was begun before t, and the counter row agrees.
"""

import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

import crash_promises
import crash_records
import crash_states

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Tally:
    """What the checkers saw over many states (for the summary)."""
    torn: int = 0                   # torn records detected
    lost_allowed: dict = field(default_factory=lambda: defaultdict(int))
    states_with_loss: dict = field(default_factory=lambda: defaultdict(int))
    commits_checked: int = 0


# ---- listing ------------------------------------------------------------

def read_tree(mnt):
    """{relative path: ("dir", None) | ("file", bytes)} as the mount
    serves it (plain I/O: run it through util.call)."""
    out = {}
    for top, dirs, files in os.walk(mnt):
        rel = os.path.relpath(top, mnt)
        prefix = "" if rel == "." else rel + "/"
        for d in dirs:
            out[prefix + d] = ("dir", None)
        for f in files:
            path = os.path.join(top, f)
            with open(path, "rb") as fh:
                data = fh.read()
            if len(data) != os.stat(path).st_size:
                data = None     # read and stat disagree: reported below
            out[prefix + f] = ("file", data)
    return out


def check_listing(expected, served):
    problems = []
    for path in sorted(set(expected) | set(served)):
        if path not in served:
            problems.append(f"{path}: in the state, not listed by the mount")
        elif path not in expected:
            problems.append(f"{path}: listed by the mount, not in the state")
        elif expected[path][0] != served[path][0]:
            problems.append(f"{path}: a {expected[path][0]} in the state, a "
                            f"{served[path][0]} through the mount")
        elif served[path][1] is None and expected[path][0] == "file":
            problems.append(f"{path}: size and content read disagree")
        elif expected[path][1] != served[path][1]:
            problems.append(f"{path}: the mount serves other bytes than the "
                            f"state holds ({len(served[path][1])} bytes, "
                            f"{len(expected[path][1])} in the state)")
    return problems


# ---- data files ---------------------------------------------------------

class DataFile:
    """The writes of one file and their segments (computed once)."""

    def __init__(self, path, policy, log):
        self.path = path
        self.policy = crash_promises.Policy.parse(policy)
        self.writes = [w for w in log.writes if w.path == path]
        self.fsyncs = [s for s in log.syncs
                       if s.kind == "fsync" and s.path == path]
        self.slots = log.slots.get(path, [])
        end = max((w.off + len(w.data) for w in self.writes), default=0)
        cuts = {0, end}
        cuts.update(range(PAGE, end, PAGE))
        for w in self.writes:
            cuts.update((w.off, w.off + len(w.data)))
        cuts = sorted(cuts)
        self.segments = []      # (start, end, [indices of covering writes])
        for a, b in zip(cuts, cuts[1:]):
            cover = [i for i, w in enumerate(self.writes)
                     if w.off <= a and w.off + len(w.data) >= b]
            if cover:
                self.segments.append((a, b, cover))

    def _bytes(self, i, a, b):
        w = self.writes[i]
        return w.data[a - w.off:b - w.off]

    def check(self, content, t, origin, tally):
        """Violations of the policy in `content` (bytes; None: the file
        is missing) for a cut at t."""
        content = content or b""
        acked = [w for w in self.writes if w.ack < t]
        need = crash_promises.required_writes(self.policy, acked,
                                              self.fsyncs, t)
        problems, lost = self.compare(content, t, need, origin)
        if lost and not problems:
            tally.lost_allowed[self.policy.text] = max(
                tally.lost_allowed[self.policy.text], len(lost))
            tally.states_with_loss[self.policy.text] += 1
        problems += self.check_records(content, t, tally)
        return [f"{self.path} (policy {self.policy.text}): {p}"
                for p in problems]

    def compare(self, content, t, need, origin=0, only=None):
        """(problems, acknowledged writes lost) of content cut at t when
        the first `need` writes are required.  only: check just the
        segments of that write, and require it there."""
        problems, lost = [], set()
        for a, b, cover in self.segments:
            if only is not None and only not in cover:
                continue
            found = content[a:b].ljust(b - a, b"\0")
            started = [i for i in cover if self.writes[i].start < t]
            required = [i for i in started if i < need]
            floor = only if only is not None else (
                required[-1] if required else None)
            match = next((i for i in reversed(started)
                          if self._bytes(i, a, b) == found), None)
            if match is None and floor is None and not any(found):
                match = -1      # never written, and nothing required
            if match is None or (floor is not None and match < floor):
                problems.append(self._describe(a, b, found, floor, match,
                                               t, origin))
                if len(problems) >= 5:
                    break
                continue
            acked_here = [i for i in started if self.writes[i].ack < t]
            if acked_here and match < acked_here[-1]:
                lost.add(acked_here[-1])
        return problems, lost

    def durable_at(self, rec, oid):
        """[instant each write became durable, or None] from a recording
        (oid: the file's id there): the first fsync of the file after
        which the durable content holds the write or later ones."""
        fsyncs = [e["t"] for e in rec.events
                  if e["op"] == "fsync" and e["id"] == oid]
        durable = {}

        def content_at(t):
            if t not in durable:
                tree = crash_states.build(rec, t + 1, "none", 0).tree
                durable[t] = bytes(tree.files.get(oid, b""))
            return durable[t]
        out = []
        for i, w in enumerate(self.writes):
            out.append(next((t for t in fsyncs if t > w.start and
                             not self.compare(content_at(t), t + 1, 0,
                                              only=i)[0]), None))
        return out

    def _describe(self, a, b, found, floor, match, t, origin):
        def when(i):
            w = self.writes[i]
            return (f"write #{i} [{w.off}, +{len(w.data)}) acknowledged at "
                    f"+{(w.ack - origin) / 1e6:.3f} ms")
        if floor is None:
            return (f"bytes [{a}, {b}) hold nothing any write started "
                    f"before the cut put there")
        what = ("older data" if match is not None and match >= 0 else
                "zeros" if not any(found) else "bytes of no write")
        if match is not None and match >= 0:
            what += f" (from {when(match)})"
        return (f"bytes [{a}, {b}): lost {when(floor)}, required at the cut "
                f"+{(t - origin) / 1e6:.3f} ms; the state holds {what}")

    def check_records(self, content, t, tally):
        problems = []
        for off, length in self.slots:
            buf = content[off:off + length]
            if not buf.strip(b"\0"):
                continue            # nothing there (yet)
            versions = [w.data[off - w.off:off - w.off + length]
                        for w in self.writes if w.start < t and
                        w.off <= off and w.off + len(w.data) >= off + length]
            if buf in versions:
                continue
            parsed = crash_records.parse(content[off:])
            if parsed is None:
                tally.torn += 1     # torn, and the checksum says so
            else:
                problems.append(f"record at {off} passes its checksum "
                                f"({parsed}) but is no record written there")
        return problems


# ---- names --------------------------------------------------------------

def _outcome_matches(outcome, entry):
    if outcome is None:
        return entry is None
    if entry is None:
        return False
    if outcome is True:
        return True
    return entry == ("file", outcome)


def _show(entry):
    if entry is None:
        return "absent"
    if entry[0] == "dir":
        return "a directory"
    data = entry[1]
    parsed = crash_records.parse(data) if data else None
    return (f"a file of {len(data)} bytes, "
            + (f"record {parsed}" if parsed else "no intact record"))


def check_names(log, served, t, origin):
    """Violations of the name promises in `served` (read_tree output)."""
    by_path = defaultdict(list)
    for e in log.names:
        by_path[e.path].append(e)
    problems = []
    for path, events in sorted(by_path.items()):
        parent = os.path.dirname(path)
        dirsyncs = [s for s in log.syncs
                    if s.kind == "dirsync" and s.path == parent]
        policy = crash_promises.Policy.parse(events[0].policy)
        floor = crash_promises.name_required(policy, events, dirsyncs, t)
        allowed = [e.outcome for i, e in enumerate(events)
                   if e.start < t and (floor is None or i >= floor)]
        if floor is None:
            allowed.append(None)
        entry = served.get(path)
        if any(_outcome_matches(o, entry) for o in allowed):
            continue
        if floor is None:
            problems.append(f"{path} (policy {policy.text}): "
                            f"{_show(entry)}, which no name change started "
                            f"before the cut made")
            continue
        e = events[floor]
        want = ("absent" if e.outcome is None else "present"
                if e.outcome is True else
                f"exactly the {len(e.outcome)} bytes written there")
        problems.append(f"{path} (policy {policy.text}): {_show(entry)}, but "
                        f"the change acknowledged at "
                        f"+{(e.ack - origin) / 1e6:.3f} ms left it {want} "
                        f"(nothing later started before the cut)")
    return problems


# ---- sqlite -------------------------------------------------------------

def check_sqlite(db_path, log, t, origin):
    """(violations, transactions committed before t). Opens the database
    (plain I/O, may write: recovery of the WAL); run it in a client
    process."""
    committed = [c for c in log.commits if c.ack < t]
    started = {c.tx: c for c in log.commits if c.start < t}
    problems = []
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True,
                              isolation_level=None)
    except sqlite3.OperationalError as e:
        if committed:
            problems.append(f"{db_path}: cannot open ({e}) after "
                            f"{len(committed)} committed transactions")
        return problems, len(committed)
    try:
        check = con.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            problems.append(f"PRAGMA integrity_check: {check[:5]}")
        tables = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables != {"t", "counter"}:
            if committed:
                problems.append(f"tables {sorted(tables)} after the schema "
                                f"was committed at "
                                f"+{(committed[0].ack - origin) / 1e6:.3f} ms")
            return problems, len(committed)
        rows = defaultdict(list)
        for tx, k, v in con.execute("SELECT tx, k, v FROM t ORDER BY tx, k"):
            rows[tx].append((k, v))
        counter = con.execute("SELECT n FROM counter").fetchall()
    finally:
        con.close()
    for c in committed:
        if c.tx and c.tx not in rows:
            problems.append(f"transaction {c.tx} committed at "
                            f"+{(c.ack - origin) / 1e6:.3f} ms is missing")
    for tx, got in rows.items():
        if tx not in started:
            problems.append(f"transaction {tx} is there but was begun "
                            f"after the cut")
        elif got != [(k, v) for k, v in started[tx].rows]:
            problems.append(f"transaction {tx} is there but not as "
                            f"committed (rows {[k for k, _ in got]})")
    top = max(rows, default=0)
    if counter != [(top,)]:
        problems.append(f"counter {counter} disagrees with the last "
                        f"transaction present ({top})")
    return problems[:10], len(committed)
