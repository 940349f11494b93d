#!/bin/bash
# scale.sh — how mmapfs scales (issue 8): throughput and latency against
# file size (1 MiB to 8 GiB, sparse), file count (to 100,000), number of
# clients (1 to 8), and the daemon's memory per mapped file; native and
# mmapfs (defaults and bench/tuned.ini) side by side.
#
# Usage: bench/scale.sh [--quick] [--runtime S] [--backing DIR] [--out DIR]
#                       [--mmapfs BIN] [--experiments "size count clients memory"]
#
# Output: OUT/scale.tsv (experiment, param, target, metric, value, unit),
# OUT/scale.md (the Markdown tables report.py scale makes of it), raw fio
# JSON in OUT/raw/, and OUT/machine.txt. One run per point (scale effects
# are large next to run-to-run noise; run.sh does the medians).
#
# Design: data files are made natively in the backing directory (sparse
# with truncate, or many small files with one Python loop), so only the
# measured access goes through the file system under test. One mount at a
# time; the EXIT trap unmounts (mounts.sh); only daemons started here are
# killed, by pid.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"

RUNTIME=3
SIZES="1M 64M 1G 8G"
COUNTS="1000 10000 100000"
CLIENTS="1 2 4 8"
MAPPED="1000 4000"
CLIENT_SIZE_MIB=1024
EXPERIMENTS="size count clients memory"
BACKING=/work/mmapfs-bench
OUT=""
MMAPFS_BIN=$repo/build-bench/src/fs/mmapfs
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNTIME=1 SIZES="1M 1G" COUNTS="1000 10000" CLIENTS="1 8" MAPPED=1000 CLIENT_SIZE_MIB=256 ;;
	--runtime) RUNTIME=$2; shift ;;
	--backing) BACKING=$2; shift ;;
	--out) OUT=$2; shift ;;
	--mmapfs) MMAPFS_BIN=$2; shift ;;
	--experiments) EXPERIMENTS=$2; shift ;;
	*) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "scale.sh: must run as root" >&2; exit 1; }
[ -x "$MMAPFS_BIN" ] || { echo "scale.sh: no mmapfs at $MMAPFS_BIN" >&2; exit 1; }
[ -z "$OUT" ] && OUT=$here/results/scale-$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$OUT/raw" "$OUT/logs" "$BACKING"
OUT=$(cd "$OUT" && pwd)
BACKING=$(cd "$BACKING" && pwd)
W=$BACKING/w-scale
MNT=$BACKING.mnt/scale
trap 'bench_unmount_all; rm -rf "$W"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "kernel: $(uname -r)"
	echo "backing: $BACKING ($(df --output=fstype "$BACKING" | tail -1))"
	echo "mmapfs: $MMAPFS_BIN (git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
	echo "settings: runtime=${RUNTIME}s sizes='$SIZES' counts='$COUNTS' clients='$CLIENTS' mapped='$MAPPED'"
	echo "load at start: $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt"
printf '# experiment\tparam\ttarget\tmetric\tvalue\tunit\n' >"$OUT/scale.tsv"

TARGET=""
DIR=""
DAEMON=""

# use TARGET — native, mmapfs or mmapfs-tuned; mounts it (unmounting the
# previous one) and sets DIR to W as the target sees it.
use() {
	if [ -n "$DAEMON" ]; then
		bench_unmount "$MNT" "$DAEMON"
		DAEMON=""
	fi
	TARGET=$1
	case $TARGET in
	native) DIR=$W; return 0 ;;
	mmapfs) bench_mount mmapfs "$BACKING" "$MNT" "$OUT/logs/$TARGET.$(date +%s%N).log" ;;
	mmapfs-tuned) bench_mount mmapfs "$BACKING" "$MNT" "$OUT/logs/$TARGET.$(date +%s%N).log" "$here/tuned.ini" ;;
	esac
	DAEMON=$MOUNT_PID
	DIR=$MNT/w-scale
}

# put EXPERIMENT PARAM METRIC KIND FILE UNIT — one number into scale.tsv.
put() {
	local v
	v=$($PY "$here/report.py" extract "$4" "$5")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$TARGET" "$3" "$v" "$6" >>"$OUT/scale.tsv"
	printf '  %-14s %-8s %-12s %-6s %s %s\n' "$1" "$2" "$TARGET" "$3" "$v" "$6"
}

# fio_run JOB NAME — runs bench/fio/JOB.fio into OUT/raw/NAME.json; false
# (after saying so) when fio fails.
fio_run() {
	if ! fio --output-format=json --output="$OUT/raw/$2.json" "$here/fio/$1.fio" \
		>"$OUT/raw/$2.err" 2>&1; then
		echo "  $TARGET: fio $1 failed" >&2
		tail -3 "$OUT/raw/$2.err" >&2
		return 1
	fi
	rm -f "$OUT/raw/$2.err"
}

size_bytes() {
	numfmt --from=iec "$1"
}

# Throughput and latency against file size: one sparse file (a hole end to
# end), random 4 KiB reads and sequential 1 MiB reads for RUNTIME s each.
exp_size() {
	local size t name
	for size in $SIZES; do
		rm -rf "$W"
		mkdir -p "$W"
		truncate -s "$(size_bytes "$size")" "$W/data.0"
		for t in native mmapfs mmapfs-tuned; do
			use "$t"
			export DIR JOBS=1 SIZE=$size RUNTIME
			drop_caches
			name=size.$size.$t.randread
			if fio_run randread "$name"; then
				put "file size (sparse)" "$size" randread fio:iops "$OUT/raw/$name.json" IOPS
				put "file size (sparse)" "$size" p50 fio:p50 "$OUT/raw/$name.json" us
				put "file size (sparse)" "$size" p99 fio:p99 "$OUT/raw/$name.json" us
			fi
			name=size.$size.$t.seqread
			if fio_run scale-seqread "$name"; then
				put "file size (sparse)" "$size" seqread fio:bw "$OUT/raw/$name.json" MiB/s
			fi
		done
	done
	use native
}

# Many files: N files of 4 KiB made natively, then (caches dropped) stat of
# each, and open + read + close of each, through the target; daemon RSS
# afterwards (its inode table and the mappings it keeps).
exp_count() {
	local n t name
	for n in $COUNTS; do
		rm -rf "$W"
		mkdir -p "$W"
		$PY -c 'import os, sys
d, n = sys.argv[1], int(sys.argv[2])
block = b"x" * 4096
for i in range(n):
    fd = os.open(f"{d}/md.{i}", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, block)
    os.close(fd)' "$W" "$n"
		for t in native mmapfs; do
			use "$t"
			export DIR MDFILES=$n
			drop_caches
			name=count.$n.$t.stat
			if fio_run md-stat "$name"; then
				put "file count" "$n" stat fio:iops "$OUT/raw/$name.json" ops/s
			fi
			drop_caches
			name=count.$n.$t.openread
			if fio_run scale-openread "$name"; then
				put "file count" "$n" open+read fio:iops "$OUT/raw/$name.json" files/s
			fi
			if [ "$t" != native ]; then
				printf '{"rss_mib": %s}\n' "$(($(daemon_rss_kib "$DAEMON") / 1024))" \
					>"$OUT/raw/count.$n.$t.rss.json"
				put "file count" "$n" rss json:rss_mib "$OUT/raw/count.$n.$t.rss.json" MiB
			fi
		done
	done
	use native
}

# Clients: 1..8 fio jobs, each on its own file (CLIENT_SIZE_MIB in total),
# warm cache (one sequential read first), random 4 KiB reads and writes.
exp_clients() {
	local c t name
	for c in $CLIENTS; do
		rm -rf "$W"
		mkdir -p "$W"
		for t in native mmapfs mmapfs-tuned; do
			use "$t"
			export DIR JOBS=$c SIZE=$((CLIENT_SIZE_MIB / c))M RUNTIME
			if [ "$t" = native ]; then
				fio --output-format=terse --output=/dev/null "$here/fio/seqwrite.fio"
			fi
			fio --output-format=terse --output=/dev/null "$here/fio/seqread.fio"
			name=clients.$c.$t.randread
			if fio_run randread "$name"; then
				put clients "$c" randread fio:iops "$OUT/raw/$name.json" IOPS
				put clients "$c" "read p99" fio:p99 "$OUT/raw/$name.json" us
			fi
			name=clients.$c.$t.randwrite
			if fio_run randwrite "$name"; then
				put clients "$c" randwrite fio:iops "$OUT/raw/$name.json" IOPS
				put clients "$c" "write p99" fio:p99 "$OUT/raw/$name.json" us
			fi
		done
	done
	use native
}

# Memory per mapped file: K files of 1 MiB (sparse), all open at once
# through mmapfs (defaults), one byte read from each.
exp_memory() {
	local k name
	for k in $MAPPED; do
		rm -rf "$W"
		mkdir -p "$W"
		$PY -c 'import os, sys
for i in range(int(sys.argv[2])):
    with open(f"{sys.argv[1]}/m.{i}", "wb") as f:
        f.truncate(1 << 20)' "$W" "$k"
		use mmapfs
		name=memory.$k
		if $PY "$here/mapmem.py" "$DIR" "$k" "$DAEMON" >"$OUT/raw/$name.json"; then
			put "memory per mapped file" "$k" "RSS/file" json:rss_per_file_kib "$OUT/raw/$name.json" KiB
			put "memory per mapped file" "$k" "anon/file" json:anon_per_file_kib "$OUT/raw/$name.json" KiB
			put "memory per mapped file" "$k" "maps/file" json:maps_per_file "$OUT/raw/$name.json" maps
		fi
	done
	use native
}

use native
for e in $EXPERIMENTS; do
	echo "== $e"
	"exp_$e"
done
$PY "$here/report.py" scale "$OUT" | tee "$OUT/scale.md"
