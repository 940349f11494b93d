#!/bin/bash
# ab-daemons.sh — same-run A/B of two mmapfs daemons (say, before and after
# a change) on the rows a daemon change touches: small files (2,000 new
# 4 KiB files, fio smallfiles.fio), sequential writes (1 MiB blocks, 256
# MiB, fio seqwrite.fio) and 4 KiB random writes with 1 and 2 jobs (fio
# randwrite.fio, RUNTIME s). The two daemons take turns (A B A B ...), REPS
# rounds, each row on a fresh mount over a fresh backing directory, so load
# from elsewhere on the machine falls on both; prints every run, then the
# medians and B/A per row.
#
# Usage (root): bench/ab-daemons.sh A_MMAPFS B_MMAPFS [REPS] [RUNTIME] [SCRATCH]
#   e.g. bench/ab-daemons.sh /tmp/old/build/src/fs/mmapfs build/src/fs/mmapfs
# Invariants: only the daemons this script starts are unmounted and waited
# for; SCRATCH (default /work/bench-scratch/ab-daemons) is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
a=${1:?A daemon} b=${2:?B daemon}
reps=${3:-3} runtime=${4:-5}
scratch=${5:-/work/bench-scratch/ab-daemons}
py=/usr/bin/python3
mnt=$scratch/m back=$scratch/b
pid=
mkdir -p "$scratch"
cleanup() {
	if [ -n "$pid" ]; then
		fusermount3 -u "$mnt" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT

mount_it() {
	rm -rf "$back" && mkdir -p "$back" "$mnt"
	"$1" "$back" "$mnt" -f >"$scratch/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		mountpoint -q "$mnt" && return 0
		sleep 0.05
	done
	echo "ab-daemons.sh: $1 did not mount" >&2
	exit 1
}

unmount_it() {
	fusermount3 -u "$mnt"
	wait "$pid" || true
	pid=
}

# fio's terse v3 output: field 48 write bandwidth (KiB/s), 49 write IOPS,
# 50 the write phase's runtime (ms).
fio_field() { cut -d';' -f"$1"; }

row() {   # row NAME DAEMON -> prints the row's number
	local name=$1 bin=$2 out
	mount_it "$bin"
	case $name in
	smallfiles)
		out=$(DIR=$mnt fio "$here/fio/smallfiles.fio" --output-format=terse)
		# files per second: 2,000 files over the job's runtime (ms).
		echo "$out" | awk -F';' '{ printf "%.0f\n", 2000 * 1000 / ($50 > 0 ? $50 : 1) }' ;;
	seqwrite)
		out=$(DIR=$mnt SIZE=256M JOBS=1 fio "$here/fio/seqwrite.fio" --output-format=terse)
		echo "$out" | awk -F';' '{ printf "%.0f\n", $48 / 1024 }' ;;
	randwrite-j*)
		local j=${name#randwrite-j}
		DIR=$mnt SIZE=64M JOBS=$j fio "$here/fio/seqwrite.fio" --output-format=terse >/dev/null
		out=$(DIR=$mnt SIZE=64M JOBS=$j RUNTIME=$runtime fio "$here/fio/randwrite.fio" --output-format=terse)
		echo "$out" | fio_field 49 ;;
	esac
	unmount_it
}

rows="smallfiles seqwrite randwrite-j1 randwrite-j2"
results=$scratch/runs.tsv
: >"$results"
for r in $(seq "$reps"); do
	for name in $rows; do
		for side in A B; do
			bin=$a; [ $side = B ] && bin=$b
			v=$(row "$name" "$bin")
			printf '%s\t%s\t%s\t%s\n' "$name" "$side" "$r" "$v" | tee -a "$results"
		done
	done
done
echo "row	unit	A median	B median	B/A"
$py - "$results" <<'PY'
import statistics, sys
units = {"smallfiles": "files/s", "seqwrite": "MiB/s"}
rows = {}
for line in open(sys.argv[1]):
    name, side, _, v = line.split("\t")
    rows.setdefault(name, {}).setdefault(side, []).append(float(v))
for name, sides in rows.items():
    ma, mb = statistics.median(sides["A"]), statistics.median(sides["B"])
    print(f"{name}\t{units.get(name, 'IOPS')}\t{ma:,.0f}\t{mb:,.0f}\t{mb / ma:.2f}")
PY
