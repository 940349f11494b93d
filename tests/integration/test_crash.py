"""Crash consistency: every flush policy's promise against simulated power
loss (README, "What a crash can lose").

mmapfs runs over recordfs (recordfs.py), which journals every write,
truncate, fsync, name change and directory sync that reaches the backing.
A workload writes numbered, checksummed records through mmapfs and logs
each acknowledgement.  From the journal, crash_states.py builds the
backing as a power cut at instant t could leave it (everything durable at
t plus a subset of what was written but not yet durable: none, all, a
random prefix, random page pieces), at instants around every durability
point, just after acknowledgements and at random; each state is mounted
through a fresh mmapfs and checked (crash_checkers.py) against the
policies' promises (crash_promises.py): the state mounts and lists, no
acknowledged write the policy covers is missing, torn records fail their
checksum, names changed under `always` (or before a directory fsync) are
so, and a sqlite WAL database under `always` passes integrity_check with
every committed transaction.  Under ms= policies every write of the
recording must also have become durable within T plus the allowance.

Each test reports "N crash states" in the summary section.  Budgets and
seed: crash_harness.py (MMAPFS_CRASH_STATES, _SECONDS, _SCALE, _SEED);
the nightly long run is tests/crash/run_long.sh.  Skipped without
python3-pyfuse3.

The last test runs the same checkers against a daemon whose config says
`never` everywhere while the checkers expect the real policies: they must
find the losses, or they would prove nothing.
"""

import json
import os

import pytest

import crash_checkers
import crash_harness
import crash_promises
import crash_states
import crash_workloads
from crash_harness import SECONDS, scaled

TIMEOUT = SECONDS + 300

DATA_POLICIES = {
    "always-log": "always",
    "bytes-log": "bytes=16KiB",
    "writes-log": "writes=4",
    "ms-log": "ms=100",
    "combo-log": "bytes=8KiB,ms=200",
    "never-log": "never",
}


def config_of(policies, default="never"):
    text = f"[global]\nflush = {default}\n"
    for glob, policy in policies.items():
        text += f"\n[match {glob}]\nflush = {policy}\n"
    return text


DATA_CONFIG = config_of(DATA_POLICIES)
# The same with at most two files mapped: mappings of the six files are
# evicted and remapped all the time, and the bounds must hold across that.
EVICTING_CONFIG = DATA_CONFIG.replace(
    "[global]\n", "[global]\nmax_mapped_files = 2\n", 1)


@pytest.fixture
def recorder(tmp_path):
    """A Recorder (recordfs) that is stopped at teardown.  Tests ask for it
    before mount_factory, so the mmapfs mounts on top of it go first."""
    missing = crash_harness.pyfuse3_missing()
    if missing:
        pytest.skip(f"pyfuse3 cannot be imported ({missing}): "
                    "apt-get install python3-pyfuse3")
    rec = crash_harness.Recorder(tmp_path)
    try:
        yield rec
    finally:
        problems = rec.stop()
    if problems:
        pytest.fail(f"{problems}\n--- {rec.log}:\n{rec.log.read_text()}",
                    pytrace=False)


def data_checks(run):
    """The checks of a data workload: each file against its policy, the
    created names against theirs."""
    files = [crash_checkers.DataFile(path, policy, run.log)
             for path, policy in sorted(run.log.policies.items())]
    origin = run.rec.start

    def checks(served, mnt, t):
        problems = []
        for f in files:
            entry = served.get(f.path)
            content = entry[1] if entry and entry[0] == "file" else None
            problems += f.check(content, t, origin, run.tally)
        return problems + crash_checkers.check_names(run.log, served, t,
                                                     origin)
    return checks


def slowest_durability(run):
    """{ms= policy: the longest time (ns) from a write's acknowledgement to
    the fsync that made it durable, over every write of the recording}.
    Fails the test when one took longer than T plus the allowance."""
    ids = crash_states.build(run.rec, run.rec.end + 1, "all", 0).tree.entries()
    out = {}
    for path, text in run.log.policies.items():
        policy = crash_promises.Policy.parse(text)
        if policy.ms is None:
            continue
        f = crash_checkers.DataFile(path, text, run.log)
        bound = policy.ms * 1_000_000 + crash_promises.MS_SLACK_NS
        for w, t in zip(f.writes, f.durable_at(run.rec, ids[path][1])):
            delay = None if t is None else t - w.ack
            if delay is None or delay > bound:
                pytest.fail(f"{path} (policy {text}): a write of "
                            f"{len(w.data)} bytes at {w.off} became durable "
                            + ("never" if delay is None else
                               f"{delay / 1e6:.0f} ms after its "
                               f"acknowledgement") +
                            f" (bound: {bound / 1e6:.0f} ms)", pytrace=False)
            out[text] = max(out.get(text, 0), delay)
    return out


def tally_text(tally):
    seen = ", ".join(f"{p}: up to {n} in {tally.states_with_loss[p]} states"
                     for p, n in sorted(tally.lost_allowed.items()))
    return (f"{tally.torn} torn records detected; acknowledged writes lost "
            f"within their policy's bound: {seen or 'none'}")


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("mapping", ["mapped", "evicting"])
@pytest.mark.parametrize("workload", ["appends", "overwrites"])
def test_crash_data_policies(workload, mapping, recorder, mount_factory,
                             tmp_path, mmapfs_summary):
    """One file per policy, appended to or overwritten in place, with an
    fsync now and then and pauses longer than the ms= allowance; with
    every file mapped, or with mappings evicted all the time."""
    config = DATA_CONFIG if mapping == "mapped" else EVICTING_CONFIG
    run = crash_harness.CrashRun(f"{workload}, {mapping}", config,
                                 mount_factory, recorder, tmp_path)
    if workload == "appends":
        run.record(crash_workloads.appends, DATA_POLICIES, scaled(150),
                   run.rng.randrange(1 << 32))
    else:
        run.record(crash_workloads.overwrites, DATA_POLICIES, scaled(180),
                   run.rng.randrange(1 << 32))
    line = run.check_states(data_checks(run))
    slowest = ", ".join(f"{p}: {ns / 1e6:.0f} ms"
                        for p, ns in sorted(slowest_durability(run).items()))
    mmapfs_summary(f"{line}; {tally_text(run.tally)}; slowest write from "
                   f"acknowledged to durable: {slowest}")


REPLACE_DIRS = {"always": "always", "never": "never"}


@pytest.mark.timeout(TIMEOUT)
def test_crash_atomic_replace(recorder, mount_factory, tmp_path,
                              mmapfs_summary):
    """Small files replaced atomically (temp, fsync, rename) and removed,
    under `always` and under `never` with directory syncs, and rewritten
    in place (O_TRUNC, one write) under `always`: every name shows a
    complete version, and the last one its policy covers."""
    config = config_of({f"{d}/*": p for d, p in REPLACE_DIRS.items()})
    run = crash_harness.CrashRun("atomic replace", config, mount_factory,
                                 recorder, tmp_path)
    run.record(crash_workloads.replace, REPLACE_DIRS, 8, scaled(70),
               run.rng.randrange(1 << 32))
    origin = run.rec.start

    def checks(served, mnt, t):
        return crash_checkers.check_names(run.log, served, t, origin)
    line = run.check_states(checks)
    renames = sum(1 for e in run.log.names if isinstance(e.outcome, bytes)
                  and e.outcome)
    truncates = sum(1 for e in run.log.names if e.outcome == b"")
    mmapfs_summary(f"{line}; {renames - truncates} atomic replacements, "
                   f"{truncates} rewrites in place")


@pytest.mark.timeout(TIMEOUT)
def test_crash_sqlite_wal(recorder, mount_factory, tmp_path,
                          mmapfs_summary):
    """sqlite in WAL mode, synchronous=OFF, under `always`: every state
    passes integrity_check and holds every committed transaction."""
    config = config_of({"db/*": "always"})
    run = crash_harness.CrashRun("sqlite WAL", config, mount_factory,
                                 recorder, tmp_path)
    run.record(crash_workloads.sqlite_wal, scaled(60),
               run.rng.randrange(1 << 32))
    origin = run.rec.start

    def checks(served, mnt, t):
        problems, committed = crash_harness.util.in_child(
            crash_checkers.check_sqlite,
            os.path.join(mnt, crash_workloads.DB), run.log, t, origin,
            timeout=60)
        run.tally.commits_checked += committed
        return problems
    line = run.check_states(checks)
    mmapfs_summary(f"{line}; {run.tally.commits_checked} committed "
                   f"transactions found intact")


NEVER_CONFIG = config_of({})


def caught_in_appends(run):
    """{policy: a violation found} for the data files of an appends
    recording, cut a second after the last write, keeping nothing that
    was not durable."""
    t = max(run.log.acks()) + 1_000_000_000     # past every ms= allowance
    served = crash_states.build(run.rec, t, "none", 0).tree.paths()
    caught = {}
    for path, policy in sorted(run.log.policies.items()):
        content = served.get(path, (None, None))[1]
        problems = crash_checkers.DataFile(path, policy, run.log).check(
            content, t, run.rec.start, run.tally)
        caught[policy] = bool(problems)
    return caught


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("workload", ["appends", "replace", "sqlite"])
def test_crash_checkers_catch_a_daemon_that_never_flushes(
        workload, recorder, mount_factory, tmp_path, mmapfs_summary):
    """The checkers, run against a daemon configured `never` everywhere
    while they expect the real policies, must report what it loses (every
    policy but never; the atomic replacements under `always`; sqlite's
    commits): proof that they can fail.  The workloads make no fsync of
    their own here but the directory syncs."""
    run = crash_harness.CrashRun(f"broken promises, {workload}",
                                 NEVER_CONFIG, mount_factory, recorder,
                                 tmp_path)
    seed = run.rng.randrange(1 << 32)
    if workload == "appends":
        # 300 records: some 50 per file, far more than bytes=16KiB covers
        # whatever their random sizes.
        run.record(crash_workloads.appends, DATA_POLICIES, 300, seed,
                   False, False)       # no fsync, no pause
        caught = caught_in_appends(run)
        expect = {p: p != "never" for p in DATA_POLICIES.values()}
        assert caught == expect, (
            f"the data checkers did not see what a daemon that never "
            f"flushes loses (policy: violation found): {caught}")
        found = sorted(p for p, v in caught.items() if v)
    else:
        if workload == "replace":
            run.record(crash_workloads.replace, {"always": "always"}, 4, 12,
                       seed, 10 ** 9)
        else:
            run.record(crash_workloads.sqlite_wal, 12, seed)
        t = max(run.log.acks()) + 1
        state = crash_states.build(run.rec, t, "none", 0)
        directory = tmp_path / "state"
        crash_states.materialise(state.tree, directory)
        if workload == "replace":
            problems = crash_checkers.check_names(
                run.log, state.tree.paths(), t, run.rec.start)
        else:
            problems, _ = crash_harness.util.in_child(
                crash_checkers.check_sqlite,
                str(directory / crash_workloads.DB), run.log, t,
                run.rec.start, timeout=60)
        assert problems, (f"the {workload} checker found nothing wrong in "
                          f"a state where a daemon that never flushes "
                          f"lost everything")
        found = [problems[0]]
    mmapfs_summary(f"crash [broken promises, {workload}]: 1 crash state, "
                   f"violations found: {found}")


def write_journal(path, events):
    """A recordfs journal of `events` (dicts; writes carry "data")."""
    blob = b""
    with open(path, "w") as f:
        for t, e in enumerate(events, 1):
            e = dict(e, t=t)
            if e["op"] == "write":
                data = e.pop("data")
                e.update(at=len(blob), len=len(data))
                blob += data
            f.write(json.dumps(e) + "\n")
    with open(f"{path}.data", "wb") as f:
        f.write(blob)


def test_crash_state_model(tmp_path, mmapfs_summary):
    """The crash-state builder on a hand-made journal: what is durable
    stays, a file's fsync does not make its name durable, a rename needs
    its directory synced, writes split into page pieces."""
    page = crash_states.PAGE
    write_journal(tmp_path / "j", [
        {"op": "link", "dir": "root", "name": "a", "id": "o1",
         "kind": "file"},                                           # t=1
        {"op": "fsyncdir", "id": "root"},                           # t=2
        {"op": "write", "id": "o1", "off": 0, "data": b"A" * 2 * page},
        {"op": "fsync", "id": "o1"},                                # t=4
        {"op": "write", "id": "o1", "off": page - 5, "data": b"B" * 10},
        {"op": "link", "dir": "root", "name": "b", "id": "o2",
         "kind": "file"},                                           # t=6
        {"op": "write", "id": "o2", "off": 0, "data": b"C"},
        {"op": "fsync", "id": "o2"},                                # t=8
        {"op": "rename", "dir": "root", "name": "a", "newdir": "root",
         "newname": "c"},                                           # t=9
    ])
    rec = crash_states.Recording(tmp_path / "j")
    a = b"A" * 2 * page
    ab = b"A" * (page - 5) + b"B" * 10 + b"A" * (page - 5)
    states = 0

    def build(t, choice, seed=0):
        nonlocal states
        states += 1
        return crash_states.build(rec, t, choice, seed)
    s = build(3, "none")
    assert s.tree.paths() == {"a": ("file", b"")}
    s = build(10, "none")
    assert s.tree.paths() == {"a": ("file", a)}
    assert s.pending_pieces == 4    # two pieces of the B write, b, rename
    assert build(10, "all").tree.paths() == {"c": ("file", ab),
                                             "b": ("file", b"C")}
    outcomes = set()
    for seed in range(64):
        for choice in ("prefix", "pages"):
            paths = build(10, choice, seed).tree.paths()
            outcomes.add(tuple(sorted((k, v[1]) for k, v in paths.items())))
            name = "c" if "c" in paths else "a"
            assert paths[name][1][:page - 5] == b"A" * (page - 5)
            assert paths.get("b", ("file", b"C")) == ("file", b"C")
    torn = b"A" * (page - 5) + b"B" * 5 + b"A" * page
    assert (("a", torn),) in outcomes, "no state kept one page piece only"
    crash_states.materialise(build(10, "all").tree, tmp_path / "state")
    assert (tmp_path / "state" / "c").read_bytes() == ab
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == \
        ["b", "c"]
    mmapfs_summary(f"crash [state model]: {states} crash states of a "
                   f"hand-made journal")
