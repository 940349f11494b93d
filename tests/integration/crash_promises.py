"""What each flush policy promises about a power cut, as the crash checkers
apply it.

Purpose: README's table, "what a crash of the machine can lose, after
write() returned", turned into a rule: given the writes to one file that
were acknowledged before the cut at t (in order), which of them must be in
the crash state (present, or overwritten by a later write that is)?
Every rule below selects a prefix of the acknowledged writes, so a rule is
the length of that prefix; rules combine by taking the longest.

  always        every acknowledged write;
  bytes=N       all but the longest tail of acknowledged writes whose pages
                (the pages of the file they touch) number at most N / page
                size: at most N bytes, counted in pages, can be lost;
  writes=N      all but the last N-1 acknowledged writes;
  ms=T          every write acknowledged more than T ms plus the allowance
                before t (the allowance stands for "one flush duration":
                the flusher's wake-up and its sync on a loaded machine;
                MMAPFS_CRASH_MS_SLACK, default 500 ms);
  never         nothing;
  any + fsync   every write acknowledged before an fsync(2) of the file
                started, once that fsync returned before t.

Thresholds combine as in the policy text (bytes=N,ms=T gives both rules).
Names follow the same idea (name_required): under `always` a create,
rename or unlink is durable once it returned; under the other policies
only once a later fsync of its directory returned.

The rules are stated on the acknowledged writes; the mechanism (a flush
makes everything written before it durable) guarantees them as tails, so
a tail-shaped rule is exactly the promise, not a stronger one.
"""

import os
import re
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")
MS_SLACK_NS = int(float(os.environ.get("MMAPFS_CRASH_MS_SLACK", "500")) * 1e6)
UNITS = {"": 1, "K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20,
         "G": 1 << 30, "GiB": 1 << 30}


@dataclass(frozen=True)
class Policy:
    text: str
    always: bool = False
    bytes: int = None
    writes: int = None
    ms: int = None

    @classmethod
    def parse(cls, text):
        if text in ("always", "never"):
            return cls(text, always=text == "always")
        fields = {}
        for item in text.split(","):
            key, value = item.split("=")
            m = re.fullmatch(r"(\d+)([A-Za-z]*)", value)
            number, unit = int(m.group(1)), m.group(2)
            fields[key] = number * UNITS[unit] if key == "bytes" else number
        return cls(text, **fields)


def pages_of(off, length):
    return range(off // PAGE, (off + length - 1) // PAGE + 1)


def required_writes(policy, acked, fsyncs, t):
    """How many of `acked` (Write objects of one file acknowledged before
    t, in order) the policy requires in a state cut at t.  fsyncs: the
    file's Sync objects."""
    n = len(acked)
    if policy.always:
        return n
    need = 0
    if policy.bytes is not None:
        pages = set()
        first = n
        while first > 0:
            w = acked[first - 1]
            grown = pages.union(pages_of(w.off, len(w.data)))
            if len(grown) * PAGE > policy.bytes:
                break
            pages = grown
            first -= 1
        need = max(need, first)
    if policy.writes is not None:
        need = max(need, n - (policy.writes - 1))
    if policy.ms is not None:
        cutoff = t - policy.ms * 1_000_000 - MS_SLACK_NS
        need = max(need, sum(1 for w in acked if w.ack <= cutoff))
    synced = [s.start for s in fsyncs if s.ack < t]
    if synced:
        need = max(need, sum(1 for w in acked if w.ack <= max(synced)))
    return need


def name_required(policy, events, dirsyncs, t):
    """Index of the last name event of one path that must show in a state
    cut at t, or None.  events: its NameEvents in order; dirsyncs: the
    Syncs of its parent directory."""
    if policy.always:
        bound = t
    else:
        synced = [s.start for s in dirsyncs if s.ack < t]
        if not synced:
            return None
        bound = max(synced)
    done = [i for i, e in enumerate(events) if e.ack < bound]
    return done[-1] if done else None
