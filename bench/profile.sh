#!/bin/bash
# profile.sh — profiles the mmapfs daemon under one fio workload of
# bench/fio/, to find out why a row of bench/run.sh misses its target.
#
# Usage: bench/profile.sh [--mmapfs BIN] [--config FILE] [--size MIB]
#                         [--runtime S] [--jobs N] [--cold] [--system]
#                         [--out DIR] JOB...
#   JOB: seqread randread randwrite seqwrite mmap smallfiles md-create
#        dur-sync4k dur-bytes (with --config naming the policy)
#   --cold: each run starts after a remount and drop_caches (as run.sh's
#           cold rows); --system: perf records every CPU (client, kernel,
#           daemon and idle time), not only the daemon.
#
# For each JOB: mounts mmapfs over the benchmark backing directory, lays out
# the data files, warms the cache with one sequential read, then runs the
# job three times: plain (the number, with `vmstat 1` alongside:
# OUT/JOB.vmstat.txt), under `perf record -g` of the daemon pid or of
# the whole machine (call graphs: OUT/JOB.perf.txt), and under
# `strace -c -f` of the daemon (syscall counts and times:
# OUT/JOB.strace.txt). bench/results/.gitignore keeps all of these out of
# git; for a profile the docs cite, a summary.md in OUT states what they
# quote (see bench/results/2026-11-26-s4/profiles/).
# Invariants: the mount is undone by the EXIT trap; only the daemon, perf,
# strace and vmstat started here are killed, by pid.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"

MMAPFS_BIN=$repo/build-bench/src/fs/mmapfs
PY=/usr/bin/python3
CONFIG=""
SIZE_MIB=1024
RUNTIME=5
NJOBS=1
COLD=false
SYSTEM=false
BACKING=/work/mmapfs-bench
OUT=$here/results/profile-$(date -u +%Y-%m-%dT%H%M%SZ)
while [ $# -gt 0 ]; do
	case $1 in
	--mmapfs) MMAPFS_BIN=$2; shift ;;
	--config) CONFIG=$2; shift ;;
	--size) SIZE_MIB=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--jobs) NJOBS=$2; shift ;;
	--cold) COLD=true ;;
	--system) SYSTEM=true ;;
	--out) OUT=$2; shift ;;
	-*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -gt 0 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

mkdir -p "$OUT" "$BACKING" "$BACKING.mnt"
OUT=$(cd "$OUT" && pwd)
MNT=$BACKING.mnt/mmapfs-profile
TOOL_PID=""
TOOL_SIGNAL=INT
# stop_tool — ends the tool started last: perf and strace write their
# reports on SIGINT; vmstat, started in the background of a script (where
# SIGINT is ignored), needs SIGTERM.
stop_tool() {
	if [ -n "$TOOL_PID" ]; then
		kill -"$TOOL_SIGNAL" "$TOOL_PID" 2>/dev/null || true
		TOOL_SIGNAL=INT
		wait "$TOOL_PID" 2>/dev/null || true
		TOOL_PID=""
	fi
}
trap 'stop_tool; bench_unmount_all' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_mount mmapfs "$BACKING" "$MNT" "$OUT/mmapfs.log" "$CONFIG"
DAEMON=$MOUNT_PID
DIR=$MNT/w-profile
rm -rf "$DIR"
mkdir -p "$DIR"
# dur-sync4k and dur-bytes run as on mmapfs in run.sh (no syncs of their
# own: pass --config with the policy to look at).
export DIR JOBS=$NJOBS SIZE=$((SIZE_MIB / NJOBS))M RUNTIME MDFILES=10000 \
	DSIZE=64M DSEQSIZE=512M SYNC=0 FDATASYNC=0

# cold_start — with --cold: a fresh daemon (mmapfs keeps backing pages
# mapped, which drop_caches never drops) and empty caches.
cold_start() {
	$COLD || return 0
	bench_unmount "$MNT" "$DAEMON"
	bench_mount mmapfs "$BACKING" "$MNT" "$OUT/mmapfs.log" "$CONFIG"
	DAEMON=$MOUNT_PID
	drop_caches
}

for job in "$@"; do
	echo "== $job"
	case $job in
	seqwrite|smallfiles|md-create|dur-sync4k|dur-bytes) ;;
	*)
		rm -f "$DIR"/data.*
		fio --output-format=terse --output=/dev/null "$here/fio/seqwrite.fio"
		fio --output-format=terse --output=/dev/null "$here/fio/seqread.fio"
		;;
	esac
	prepare() {
		case $job in
		seqwrite) rm -f "$DIR"/data.* ;;
		dur-bytes) rm -f "$DIR"/durseq.* ;;
		smallfiles|md-create) rm -rf "$DIR/sf"; mkdir "$DIR/sf" ;;
		esac
		cold_start
	}
	jobdir=$DIR
	case $job in smallfiles|md-create) jobdir=$DIR/sf ;; esac

	prepare
	vmstat 1 >"$OUT/$job.vmstat.txt" &
	TOOL_PID=$! TOOL_SIGNAL=TERM
	DIR=$jobdir fio --output-format=json --output="$OUT/$job.json" "$here/fio/$job.fio"
	stop_tool
	echo "  plain: $($PY "$here/report.py" extract fio:iops "$OUT/$job.json") IOPS," \
		"$($PY "$here/report.py" extract fio:bw "$OUT/$job.json") MiB/s;" \
		"cpu (vmstat us sy id wa): $(awk 'NR > 3 { us += $13; sy += $14; id += $15; wa += $16; n++ }
			END { if (n) printf "%d %d %d %d", us / n, sy / n, id / n, wa / n }' "$OUT/$job.vmstat.txt")" |
		tee "$OUT/$job.result.txt"

	prepare
	if $SYSTEM; then
		perf record -e cpu-clock -g -a -o "$OUT/$job.perf.data" >/dev/null 2>&1 &
	else
		perf record -e cpu-clock -g -p "$DAEMON" -o "$OUT/$job.perf.data" >/dev/null 2>&1 &
	fi
	TOOL_PID=$!
	sleep 0.5
	DIR=$jobdir fio --output-format=json --output="$OUT/$job.perf.json" "$here/fio/$job.fio"
	stop_tool
	sort=sym
	$SYSTEM && sort=comm,sym
	perf report -i "$OUT/$job.perf.data" --stdio --no-children --percent-limit 1.5 \
		>"$OUT/$job.perf.txt" 2>/dev/null
	perf report -i "$OUT/$job.perf.data" --stdio --no-children --sort $sort -g none \
		--percent-limit 0.5 >"$OUT/$job.perf-flat.txt" 2>/dev/null
	echo "  perf: $OUT/$job.perf.txt"

	prepare
	strace -c -f -w -p "$DAEMON" -o "$OUT/$job.strace.txt" 2>/dev/null &
	TOOL_PID=$!
	sleep 0.5
	DIR=$jobdir fio --output-format=json --output="$OUT/$job.strace.json" "$here/fio/$job.fio"
	stop_tool
	echo "  strace: $OUT/$job.strace.txt"
	echo "  fio requests: $($PY "$here/report.py" extract fio:iops "$OUT/$job.strace.json") IOPS under strace"
done
rm -rf "$DIR"
