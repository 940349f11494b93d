#!/bin/sh
# run_long.sh — the nightly crash-consistency run: the crash tests of
# tests/integration/test_crash.py with thousands of crash states instead
# of the short run's few hundred (see docs/durability.md, "Checked against
# power loss", for what is checked and the last result).
#
#   tests/crash/run_long.sh [BUILD_DIR]      (as root; default BUILD_DIR: build)
#
# Budgets can be overridden from the environment: MMAPFS_CRASH_STATES
# (states per test), MMAPFS_CRASH_SECONDS (checking time per test),
# MMAPFS_CRASH_SCALE (workload size), MMAPFS_CRASH_SEED.  Exits non-zero
# when a state breaks a promise; the failing state is kept under pytest's
# tmp directory and named in the report.
set -eu
cd "$(dirname "$0")/../.."
export MMAPFS_BUILD="${1:-${MMAPFS_BUILD:-build}}"
export MMAPFS_CRASH_STATES="${MMAPFS_CRASH_STATES:-2500}"
export MMAPFS_CRASH_SECONDS="${MMAPFS_CRASH_SECONDS:-900}"
export MMAPFS_CRASH_SCALE="${MMAPFS_CRASH_SCALE:-3}"
[ -x "$MMAPFS_BUILD/src/fs/mmapfs" ] || {
	echo "run_long.sh: no daemon at $MMAPFS_BUILD/src/fs/mmapfs; build first (scripts/build.sh $MMAPFS_BUILD)" >&2
	exit 2
}
exec /usr/bin/python3 -m pytest -p no:cacheprovider -k crash \
	tests/integration/test_crash.py
