#!/bin/bash
# ab-transport.sh — A/B of mmapfs's transports (issue 17): FUSE over
# io_uring against /dev/fuse, in one run, interleaved. Each repetition
# mounts mmapfs once per transport (the order alternates between
# repetitions, so drift in the machine's load hits both alike) and runs
# every row once; the report gives per row and transport the median, the
# range over repetitions and the ratio of medians (io_uring / dev).
#
# Usage (root; the kernel's enable_uring must be Y):
#   bench/ab-transport.sh [--reps N] [--runtime S] [--rows "ROW ..."]
#                         [--backing DIR] [--out DIR] [--mmapfs BIN]
#                         [--halt-poll-ns NS]
# Rows: randwrite-j2 randwrite-j1 randread-j2 seqwrite-j1 seqread-j1
#       smallfiles md-create dur-sync4k (4 KiB writes, each O_SYNC)
# --halt-poll-ns: on a haltpoll guest, how long idle vCPUs poll before
# halting, for this run (put back at exit); machine.txt records it.
#
# The backing file system is, unless --backing names a directory, a new
# ext4 without a journal in a RAM-backed image (/dev/shm) made for the
# run, and no row deletes thousands of files while the run lasts (each
# repetition creates in directories of its own): on a reused ext4 the
# inode allocator's skipping of recently deleted inodes swung the
# small-file rows 3x between repetitions, whatever the transport.
#
# Invariants: every mount is undone by the EXIT trap (mounts.sh), the
# image's loop mount last, and the image removed; only the daemons this
# script started are killed, by pid. Warm rows only: the transport changes
# the round trip, not the disk.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"

REPS=5
RUNTIME=5
ROWS="randwrite-j2 randwrite-j1 randread-j2 seqwrite-j1 seqread-j1 smallfiles md-create dur-sync4k"
BACKING=""
OUT=""
MMAPFS_BIN=$repo/build/src/fs/mmapfs
HALT_POLL_NS=""
SIZE_MIB=256

while [ $# -gt 0 ]; do
	case $1 in
	--reps) REPS=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--rows) ROWS=$2; shift ;;
	--backing) BACKING=$2; shift ;;
	--out) OUT=$2; shift ;;
	--mmapfs) MMAPFS_BIN=$2; shift ;;
	--halt-poll-ns) HALT_POLL_NS=$2; shift ;;
	*) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
	shift
done

if [ "$(cat /sys/module/fuse/parameters/enable_uring 2>/dev/null)" != Y ]; then
	echo "ab-transport.sh: /sys/module/fuse/parameters/enable_uring is not Y" >&2
	exit 1
fi
OUT=${OUT:-$here/results/ab-transport-$(date -u +%Y%m%dT%H%M%S)}
MNTROOT=$(mktemp -d /tmp/mmapfs-ab-transport.XXXXXX)
IMAGE=""
cleanup() {
	bench_unmount_all
	halt_poll_restore
	if [ -n "$IMAGE" ]; then
		umount "$BACKING" 2>/dev/null || umount -l "$BACKING" || true
		rm -f "$IMAGE"
	fi
	rm -rf "$MNTROOT"
}
trap cleanup EXIT
if [ -n "$HALT_POLL_NS" ]; then
	halt_poll_set "$HALT_POLL_NS" || exit 1
fi
if [ -z "$BACKING" ]; then
	# Sparse: RAM holds only what is written (at most the 256 MiB of the
	# random rows, one seqwrite file and 8 MiB of small files per run).
	IMAGE=$(mktemp /dev/shm/mmapfs-ab-transport.XXXXXX.img)
	BACKING=$MNTROOT/backing
	mkdir -p "$BACKING"
	bench_fresh_ext4 "$IMAGE" 4G "$BACKING"
fi
mkdir -p "$OUT/raw" "$OUT/logs" "$BACKING"
export MMAPFS_BIN PY=/usr/bin/python3
trap 'exit 130' INT
trap 'exit 143' TERM

for t in dev io_uring; do
	printf '[global]\ntransport = %s\n' "$t" >"$OUT/$t.ini"
done
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "kernel: $(uname -r)"
	echo "cpuidle: $(cpuidle_describe)"
	echo "backing: $BACKING ($(df --output=fstype "$BACKING" | tail -1))"
	echo "mmapfs: $MMAPFS_BIN (git $(git -C "$repo" rev-parse --short HEAD))"
	echo "settings: reps=$REPS runtime=${RUNTIME}s size=${SIZE_MIB}MiB rows='$ROWS'"
	echo "load at start: $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt"
printf '# transport\trow\trep\tvalue\tunit\tloadavg\n' >"$OUT/runs.tsv"

MNT=$MNTROOT/m
W=""

fio_run() {   # fio_run JOB ROW REP KIND UNIT — one timed run, recorded
	local f=$OUT/raw/$T.$2.r$3.json v
	if ! fio --output-format=json --output="$f" "$here/fio/$1.fio" >"$f.err" 2>&1; then
		echo "  $T $2: fio failed: $(tail -n 1 "$f.err")" >&2
		return 0
	fi
	v=$($PY "$here/report.py" extract "$4" "$f")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$T" "$2" "$3" "$v" "$5" \
		"$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/runs.tsv"
	printf '  %-8s %-13s rep %s: %s %s\n' "$T" "$2" "$3" "$v" "$5"
}

layout() {   # two files of SIZE/2 for the random rows, read once (warm)
	rm -f "$W"/data.*
	JOBS=2 SIZE=$((SIZE_MIB / 2))M DIR=$W fio --output-format=terse \
		--output=/dev/null "$here/fio/seqwrite.fio"
	JOBS=2 SIZE=$((SIZE_MIB / 2))M DIR=$W RUNTIME=$RUNTIME \
		fio --output-format=terse --output=/dev/null "$here/fio/seqread.fio"
}

one_rep() {   # one_rep REP — every row once on the mounted transport $T
	local rep=$1 row
	layout
	for row in $ROWS; do
		sync
		case $row in
		randwrite-j2) JOBS=2 SIZE=$((SIZE_MIB / 2))M DIR=$W RUNTIME=$RUNTIME \
			fio_run randwrite "$row" "$rep" fio:iops IOPS ;;
		randwrite-j1) JOBS=1 SIZE=$((SIZE_MIB / 2))M DIR=$W RUNTIME=$RUNTIME \
			fio_run randwrite "$row" "$rep" fio:iops IOPS ;;
		randread-j2) JOBS=2 SIZE=$((SIZE_MIB / 2))M DIR=$W RUNTIME=$RUNTIME \
			fio_run randread "$row" "$rep" fio:iops IOPS ;;
		seqread-j1) JOBS=1 SIZE=$((SIZE_MIB / 2))M DIR=$W RUNTIME=$RUNTIME \
			fio_run seqread "$row" "$rep" fio:bw MiB/s ;;
		seqwrite-j1)
			rm -rf "$W/sw" && mkdir "$W/sw"
			JOBS=1 SIZE=${SIZE_MIB}M DIR=$W/sw \
				fio_run seqwrite "$row" "$rep" fio:bw MiB/s
			rm -rf "$W/sw" ;;
		smallfiles)   # kept until the end: see the header
			mkdir "$W/sf"
			DIR=$W/sf fio_run smallfiles "$row" "$rep" fio:iops files/s ;;
		md-create)
			mkdir "$W/md"
			DIR=$W/md MDFILES=2000 fio_run md-create "$row" "$rep" \
				fio:iops files/s ;;
		dur-sync4k)
			rm -rf "$W/dur" && mkdir "$W/dur"
			DIR=$W/dur DSIZE=16M SYNC=1 RUNTIME=$RUNTIME \
				fio_run dur-sync4k "$row" "$rep" fio:iops IOPS
			rm -rf "$W/dur" ;;
		*) echo "ab-transport.sh: unknown row $row" >&2; exit 2 ;;
		esac
	done
	rm -f "$W"/data.*
}

for rep in $(seq 1 "$REPS"); do
	if [ $((rep % 2)) -eq 1 ]; then order="dev io_uring"; else order="io_uring dev"; fi
	for T in $order; do
		bench_mount mmapfs "$BACKING" "$MNT" "$OUT/logs/daemon.$T.r$rep.log" "$OUT/$T.ini"
		if ! grep -q "transport in use: $T" "$MNT/.stats/config"; then
			echo "ab-transport.sh: $T not in use:" >&2
			tail -n 3 "$MNT/.stats/config" >&2
			exit 1
		fi
		W=$MNT/w-ab.$T.r$rep
		mkdir -p "$W"
		one_rep "$rep"
		bench_unmount "$MNT" "$MOUNT_PID"
	done
done
echo "load at end: $(cat /proc/loadavg)" | tee -a "$OUT/machine.txt"
[ -n "$IMAGE" ] || rm -rf "$BACKING"/w-ab.*

$PY - "$OUT/runs.tsv" <<'EOF' | tee "$OUT/summary.md"
import statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    t, row, _rep, v, unit, _load = line.rstrip("\n").split("\t")
    if row not in order:
        order.append(row)
    rows.setdefault((row, t), []).append(float(v))
    rows.setdefault((row, "unit"), unit)
print("| row | unit | /dev/fuse median (range) | io_uring median (range) | io_uring / dev |")
print("|---|---|---|---|---|")
for row in order:
    d, u = rows.get((row, "dev"), []), rows.get((row, "io_uring"), [])
    if not d or not u:
        continue
    md, mu = statistics.median(d), statistics.median(u)
    print(f"| {row} | {rows[(row, 'unit')]} | {md:,.0f} ({min(d):,.0f}–{max(d):,.0f}) "
          f"| {mu:,.0f} ({min(u):,.0f}–{max(u):,.0f}) | {mu / md:.2f}× |")
EOF
