"""The crash-consistency run: record a workload, then cut, mount and check.

Purpose: glue for test_crash.py.  A CrashRun
  1. starts recordfs (recordfs.py) on an empty source directory and mounts
     mmapfs with the test's config on top of it (the stack of
     test_device_errors.py, with the recording backing instead of faultfs);
  2. runs a workload (crash_workloads.py) in a client process, unmounts
     mmapfs (its exit flushes) and stops recordfs, which closes the journal;
  3. cuts the recording at many instants (crash_states.instants), builds
     a crash state per instant with one of the subset choices in turn,
     writes it to a plain directory, mounts a fresh mmapfs with the same
     config over it, lists and reads everything through the mount, and
     runs the test's checkers (crash_checkers.py) on what it serves;
     the mount is unmounted and the daemon must exit 0 with a clean log.
A state that breaks a promise is kept on disk (state-violation-N) and
reported with its cut instant and subset seed; the run stops after
MAX_VIOLATIONS of them.

Budgets (environment): MMAPFS_CRASH_STATES states per test (default 100),
MMAPFS_CRASH_SECONDS of checking per test (default 20; at least
MIN_STATES states are checked whatever the time), MMAPFS_CRASH_SCALE
multiplies the workloads' sizes (default 1), MMAPFS_CRASH_SEED (default
random, printed).  With a seed and the same budgets the states are the
same, up to the timing of the recording.

Cleanup: the mmapfs mounts belong to mount_factory (unmounted in its
teardown whatever happens); recordfs is unmounted by Recorder.stop, which
the fixture also calls in a finally.
"""

import os
import random
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest

import crash_checkers
import crash_states
import util

RECORDFS = Path(__file__).resolve().parent / "recordfs.py"
SEED = int(os.environ.get("MMAPFS_CRASH_SEED",
                          random.SystemRandom().randrange(1 << 32)))
STATES = int(os.environ.get("MMAPFS_CRASH_STATES", "100"))
SECONDS = float(os.environ.get("MMAPFS_CRASH_SECONDS", "20"))
SCALE = float(os.environ.get("MMAPFS_CRASH_SCALE", "1"))
MIN_STATES = 20
MAX_VIOLATIONS = 3
MOUNT_TIMEOUT = 20
EXIT_TIMEOUT = 20


def pyfuse3_missing():
    probe = subprocess.run([sys.executable, "-c", "import pyfuse3, trio"],
                           capture_output=True, text=True)
    return probe.returncode != 0 and probe.stderr.strip().splitlines()[-1]


def scaled(n):
    return max(1, int(n * SCALE))


class Recorder:
    """A running recordfs: .src, .mnt, .journal, .log."""

    def __init__(self, base):
        self.src = base / "recordsrc"
        self.mnt = base / "recordmnt"
        self.journal = base / "journal.jsonl"
        self.log = base / "recordfs.log"
        self.proc = None
        self.src.mkdir()
        self.mnt.mkdir()

    def start(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(RECORDFS), str(self.src), str(self.mnt),
                 str(self.journal)],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not util.is_fuse_mounted(self.mnt):
            if self.proc.poll() is not None:
                pytest.fail(f"recordfs exited with {self.proc.returncode} "
                            f"before mounting:\n{self.log.read_text()}",
                            pytrace=False)
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"recordfs did not mount {self.mnt} within "
                            f"{MOUNT_TIMEOUT} s", pytrace=False)
            time.sleep(0.02)

    def stop(self):
        """Unmounts and reaps recordfs (idempotent); returns what went
        wrong, or ''."""
        if self.proc is None or self.proc.returncode is not None:
            return ""
        return util.stop_fuse_server(self.proc, self.mnt, "recordfs",
                                     EXIT_TIMEOUT)


class CrashRun:
    def __init__(self, name, config, mount_factory, recorder, tmp_path):
        self.name = name
        self.config = config
        self.mount_factory = mount_factory
        self.recorder = recorder
        self.tmp_path = tmp_path
        self.rng = random.Random(SEED ^ zlib.crc32(name.encode()))
        self.rec = None
        self.log = None
        self.tally = crash_checkers.Tally()

    def record(self, workload, *args, timeout=180):
        """Runs workload(mount, *args) in a client process over mmapfs
        over recordfs; returns its WorkloadLog once the journal is
        complete."""
        self.recorder.start()
        m = self.mount_factory(config=self.config, backing=self.recorder.mnt)
        try:
            self.log = util.in_child(workload, str(m.mnt), *args,
                                     timeout=timeout)
        finally:
            m.unmount()     # before recordfs, whatever happened
        problems = m.verdict() or self.recorder.stop()
        if problems:
            pytest.fail(f"recording run: {problems}\n{m.log_tail()}",
                        pytrace=False)
        self.rec = crash_states.Recording(self.recorder.journal)
        return self.log

    def check_states(self, checks):
        """Cuts, mounts and checks states until a budget ends; fails the
        test on violations.  checks(served, mnt, t) returns violations
        (served: crash_checkers.read_tree of the mount).  Returns the
        summary line."""
        candidates = crash_states.instants(self.rec, self.log.acks(),
                                           self.rng, max(10, STATES // 4))
        started = time.monotonic()
        kinds, choices = Counter(), Counter()
        violations = []
        for n, (kind, t) in enumerate(candidates):
            if n >= STATES or (n >= MIN_STATES and
                               time.monotonic() - started > SECONDS):
                break
            choice = self.rng.choice(crash_states.CHOICES)
            state = crash_states.build(self.rec, t, choice,
                                       self.rng.randrange(1 << 32))
            problems = self.check_one(n, state, checks)
            kinds[kind] += 1
            choices[choice] += 1
            if problems:
                violations.append((n, kind, state, problems))
                if len(violations) >= MAX_VIOLATIONS:
                    break
        checked = sum(kinds.values())
        if violations:
            pytest.fail(self.report(violations, checked), pytrace=False)
        return (f"crash [{self.name}]: {checked} crash states in "
                f"{time.monotonic() - started:.0f} s, seed {SEED} (cuts: "
                f"{self.counts(kinds)}; subsets: {self.counts(choices)}) "
                f"from {len(self.rec.events)} recorded events "
                f"({self.rec.count('write')} writes, "
                f"{self.rec.count('fsync')} fsyncs, "
                f"{self.rec.count('fsyncdir')} dir syncs)")

    @staticmethod
    def counts(counter):
        return ", ".join(f"{v} {k}" for k, v in sorted(counter.items()))

    def check_one(self, n, state, checks):
        directory = self.tmp_path / f"state-{n}"
        crash_states.materialise(state.tree, directory)
        m = self.mount_factory(config=self.config, backing=directory)
        try:
            served = util.call(crash_checkers.read_tree, str(m.mnt))
            problems = crash_checkers.check_listing(
                state.tree.paths(), served)
            problems += checks(served, str(m.mnt), state.t)
        finally:
            m.unmount()
        verdict = m.verdict()
        if verdict:
            log = m.log_text().splitlines()[-20:]
            problems.append(f"the daemon over this state: {verdict}\n"
                            f"  its log ({m.log}):\n    "
                            + "\n    ".join(log))
        if problems:
            directory.rename(self.tmp_path / f"state-violation-{n}")
        else:
            crash_states.remove(directory)
        return problems

    def report(self, violations, checked):
        origin = self.rec.start
        lines = [f"crash [{self.name}]: {len(violations)} of {checked} "
                 f"crash states break a promise (seed {SEED}; reproduce: "
                 f"MMAPFS_CRASH_SEED={SEED} MMAPFS_CRASH_STATES={STATES} "
                 f"MMAPFS_CRASH_SCALE={SCALE:g}; the recording starts at "
                 f"+0 ms; journal {self.recorder.journal})"]
        for n, kind, state, problems in violations:
            lines.append(f"state {n} ({kind}, {state.describe(origin)}), "
                         f"kept as {self.tmp_path}/state-violation-{n}:")
            lines += [f"  {p}" for p in problems[:8]]
        return "\n".join(lines)
