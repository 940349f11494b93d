#!/bin/bash
# run.sh — the mmapfs benchmark suite (issue 8): runs the fio jobs of
# bench/fio/ on the backing directory itself (native), on mmapfs with its
# default config (mmapfs) and with bench/tuned.ini (mmapfs-tuned), on
# mergerfs and on bindfs over the same directory, in one run on one backing
# file system, and prints MiB/s or IOPS per workload with the ratio to
# native.
#
# Usage: bench/run.sh [--quick] [--runs N] [--size SIZE] [--runtime S]
#                     [--caches "warm cold"] [--targets "native mmapfs ..."]
#                     [--rows "seqwrite seqread ..."] [--jobs "1 2 4"]
#                     [--backing DIR] [--out DIR] [--mmapfs BIN] [--config FILE]
#
# Design:
#  - One target at a time is mounted (2 cores: an idle daemon must not steal
#    CPU from the measured one). Each target works in its own subdirectory
#    w-TARGET of the same backing directory, emptied afterwards.
#  - warm: data in the page cache (an untimed read pass first); cold: before
#    each timed run a FUSE target is unmounted and mounted again (mmapfs keeps
#    backing pages mapped, and drop_caches never drops mapped pages) and
#    `sync; echo 3 > /proc/sys/vm/drop_caches`.
#  - Every timed run's raw output is kept in OUT/raw/ (daemon logs in
#    OUT/logs/); the one number taken from it (bench/report.py extract)
#    goes to OUT/runs.tsv; at the end
#    report.py prints medians and ratios and writes OUT/summary.tsv, which
#    bench/plot.sh turns into OUT/ratio.png; the printed table goes to
#    OUT/table.txt. Git keeps table.txt, ratio.png and machine.txt
#    (bench/results/.gitignore); the rest comes back with the command.
#  - A failed fio run is left out of the medians and listed in
#    OUT/failures.tsv; a daemon that died is noted there and mounted again.
#  - Durability rows compare mmapfs under a policy with native writes that
#    sync at the same cadence; they mount mmapfs with a generated config.
# Invariants: every mount is undone by the EXIT/INT/TERM trap (mounts.sh);
# only daemons this script started are ever killed, by pid.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"

RUNS=3
SIZE_MIB=1024
RUNTIME=5
CACHES="warm cold"
TARGETS="native mmapfs mmapfs-tuned mergerfs bindfs"
ROWS="seqwrite seqread randread randwrite mmap smallfiles metadata durability"
JOBS_LIST="1 2 4"
BACKING=/work/mmapfs-bench
OUT=""
MMAPFS_BIN=""
MMAPFS_CONFIG=""
DSIZE_MIB=64
DSEQSIZE_MIB=512
MDFILES=10000

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

size_mib() {
	case $1 in
	*[Gg]*) echo $(( ${1%%[Gg]*} * 1024 )) ;;
	*[Mm]*) echo "${1%%[Mm]*}" ;;
	*) echo "$1" ;;
	esac
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNS=1 SIZE_MIB=128 RUNTIME=1 JOBS_LIST="1 4" DSIZE_MIB=16 DSEQSIZE_MIB=64 MDFILES=2000 ;;
	--runs) RUNS=$2; shift ;;
	--size) SIZE_MIB=$(size_mib "$2"); shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--caches) CACHES=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--rows) ROWS=$2; shift ;;
	--jobs) JOBS_LIST=$2; shift ;;
	--backing) BACKING=$2; shift ;;
	--out) OUT=$2; shift ;;
	--mmapfs) MMAPFS_BIN=$2; shift ;;
	--config) MMAPFS_CONFIG=$2; shift ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: must run as root (drop_caches, FUSE mounts)" >&2
	exit 1
fi
if [ -z "$MMAPFS_BIN" ]; then
	[ -x "$repo/build-bench/src/fs/mmapfs" ] && MMAPFS_BIN=$repo/build-bench/src/fs/mmapfs
fi
[ -z "$OUT" ] && OUT=$here/results/$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$OUT/raw" "$OUT/logs" "$BACKING"
OUT=$(cd "$OUT" && pwd)
BACKING=$(cd "$BACKING" && pwd)
MNTROOT=$BACKING.mnt
mkdir -p "$MNTROOT"
export PY=/usr/bin/python3

trap 'bench_unmount_all' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- machine
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel: $(uname -r)"
	echo "backing: $BACKING ($(df --output=fstype "$BACKING" | tail -1), device $(df --output=source "$BACKING" | tail -1))"
	echo "fio: $(fio --version)"
	echo "mergerfs: $(mergerfs --version 2>&1 | head -1)"
	echo "bindfs: $(bindfs --version 2>&1 | head -1)"
	echo "mmapfs: ${MMAPFS_BIN:-not built} (git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
	echo "settings: runs=$RUNS size=${SIZE_MIB}MiB runtime=${RUNTIME}s caches='$CACHES' jobs='$JOBS_LIST' dsize=${DSIZE_MIB}MiB dseqsize=${DSEQSIZE_MIB}MiB mdfiles=$MDFILES"
	echo "mmapfs config: ${MMAPFS_CONFIG:-built-in defaults}"
	echo "load at start: $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt"

# note_load WHAT — other work on the machine skews every number: keep the
# load average and CPU pressure next to the results.
note_load() {
	printf '%s\t%s\t%s\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$(head -1 /proc/pressure/cpu 2>/dev/null || echo -)" >>"$OUT/load.tsv"
}
printf '# when\tloadavg 1/5/15 min\tcpu pressure\n' >"$OUT/load.tsv"
printf '# target\tcache\trow\trun\tvalue\tunit\n' >"$OUT/runs.tsv"

# ---------------------------------------------------------------- state
CUR_TARGET=""   # the target being measured
CUR_MNT=""      # its mount point ("" for native)
CUR_CFG=""      # the mmapfs config of the current mount ("" = defaults)
WORKDIR=""      # where the fio files go

CUR_LOG=""      # its daemon's log

mount_current() {
	local fs=$CUR_TARGET
	case $fs in mmapfs*) fs=mmapfs ;; esac
	CUR_LOG=$OUT/logs/$CUR_TARGET.$(date +%s%N).log
	bench_mount "$fs" "$BACKING" "$CUR_MNT" "$CUR_LOG" "$CUR_CFG"
}

# enter_target TARGET [MMAPFS_CONFIG] — mounts TARGET (unless native) and
# prepares its empty work directory. Fails when TARGET cannot be mounted.
enter_target() {
	CUR_TARGET=$1
	CUR_CFG=${2:-}
	if [ "$CUR_TARGET" = native ]; then
		CUR_MNT=""
		WORKDIR=$BACKING/w-native
	else
		CUR_MNT=$MNTROOT/$CUR_TARGET
		mount_current || return 1
		WORKDIR=$CUR_MNT/w-$CUR_TARGET
	fi
	rm -rf "$WORKDIR"
	mkdir -p "$WORKDIR"
}

leave_target() {
	rm -rf "$WORKDIR"
	if [ -n "$CUR_MNT" ]; then
		bench_unmount "$CUR_MNT" "$MOUNT_PID"
	fi
	rm -rf "$BACKING/w-$CUR_TARGET"
}

# cold_prep — empties every cache between the client and the disk.
cold_prep() {
	if [ -n "$CUR_MNT" ]; then
		bench_unmount "$CUR_MNT" "$MOUNT_PID"
		mount_current
	fi
	drop_caches
}

# record ROW CACHE RUN KIND FILE UNIT — appends one number to runs.tsv.
record() {
	local v
	v=$($PY "$here/report.py" extract "$4" "$5")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$CUR_TARGET" "$2" "$1" "$3" "$v" "$6" >>"$OUT/runs.tsv"
	printf '  %-8s %-16s %-4s run %s: %s %s\n' "$CUR_TARGET" "$1" "$2" "$3" "$v" "$6"
}

# fio_job JOB OUTFILE — runs bench/fio/JOB.fio with the exported settings.
# Returns non-zero (after saying so) when fio fails, so that one failing
# workload on one target does not end the whole run: callers record only
# after success.
fio_job() {
	if ! fio --output-format=json --output="$2" "$here/fio/$1.fio" >"$2.err" 2>&1; then
		echo "  $CUR_TARGET: fio $1 failed:" >&2
		tail -n 5 "$2.err" >&2
		printf '%s\t%s\t%s\n' "$CUR_TARGET" "$(basename "$2" .json)" \
			"$(tail -n 1 "$2.err")" >>"$OUT/failures.tsv"
		if [ -n "$CUR_MNT" ] && ! kill -0 "$MOUNT_PID" 2>/dev/null; then
			echo "  $CUR_TARGET: the daemon died ($CUR_LOG):" >&2
			tail -n 3 "$CUR_LOG" >&2
			printf '%s\t%s\tdaemon died: %s\n' "$CUR_TARGET" "$(basename "$2" .json)" \
				"$(tail -n 1 "$CUR_LOG")" >>"$OUT/failures.tsv"
			bench_unmount "$CUR_MNT" "$MOUNT_PID"
			mount_current || true
		fi
		return 1
	fi
	rm -f "$2.err"
}

# untimed JOB — runs a job for its side effects (layout, warming caches).
untimed() {
	fio --output-format=terse --output=/dev/null "$here/fio/$1.fio" ||
		echo "  $CUR_TARGET: untimed fio $1 failed" >&2
}

raw() {
	echo "$OUT/raw/$CUR_TARGET.$1.$2.r$3.json"
}

# ---------------------------------------------------------------- rows
# layout N — fresh data.0..N-1 files of SIZE/N MiB each.
layout() {
	rm -f "$WORKDIR"/data.*
	JOBS=$1 SIZE=$((SIZE_MIB / $1))M DIR=$WORKDIR untimed seqwrite
}

# timed_rows JOB ROW KIND UNIT JOBS [PREP] — RUNS timed runs of JOB for each
# cache variant. PREP (a function) runs before every timed run; warm
# variants get one untimed sequential read first.
timed_rows() {
	local job=$1 row=$2 kind=$3 unit=$4 jobs=$5 prep=${6:-} cache r f
	export JOBS=$jobs SIZE=$((SIZE_MIB / jobs))M DIR=$WORKDIR RUNTIME
	for cache in $CACHES; do
		[ "$cache" = warm ] && [ -z "$prep" ] && untimed seqread
		for r in $(seq 1 "$RUNS"); do
			[ -n "$prep" ] && $prep
			# No writeback of earlier rows' dirty pages inside this run.
			sync
			[ "$cache" = cold ] && cold_prep
			f=$(raw "$row" "$cache" "$r")
			if fio_job "$job" "$f"; then
				record "$row" "$cache" "$r" "$kind" "$f" "$unit"
			fi
		done
	done
}

prep_seqwrite() {
	rm -f "$WORKDIR"/data.*
}

row_rw_jobs() {
	local n
	for n in $JOBS_LIST; do
		case " $ROWS " in *" seqwrite "*)
			timed_rows seqwrite "seqwrite-j$n" fio:bw MiB/s "$n" prep_seqwrite ;;
		esac
		if ! [ -f "$WORKDIR/data.0" ] || [ "$(stat -c %s "$WORKDIR/data.0")" != $((SIZE_MIB / n * 1048576)) ]; then
			layout "$n"
		fi
		case " $ROWS " in *" seqread "*)
			timed_rows seqread "seqread-j$n" fio:bw MiB/s "$n" ;;
		esac
		case " $ROWS " in *" randread "*)
			timed_rows randread "randread-j$n" fio:iops IOPS "$n" ;;
		esac
		case " $ROWS " in *" randwrite "*)
			timed_rows randwrite "randwrite-j$n" fio:iops IOPS "$n" ;;
		esac
	done
	rm -f "$WORKDIR"/data.*
}

row_mmap() {
	layout 1
	timed_rows mmap mmap-randrw fio:iops IOPS 1
	rm -f "$WORKDIR"/data.*
}

prep_smallfiles() {
	rm -rf "$WORKDIR/sf"
	mkdir "$WORKDIR/sf"
}

row_smallfiles() {
	local cache r f
	for cache in $CACHES; do
		for r in $(seq 1 "$RUNS"); do
			prep_smallfiles
			[ "$cache" = cold ] && cold_prep
			f=$(raw smallfiles "$cache" "$r")
			if DIR=$WORKDIR/sf fio_job smallfiles "$f"; then
				record smallfiles "$cache" "$r" fio:iops "$f" files/s
			fi
		done
	done
	rm -rf "$WORKDIR/sf"
}

row_metadata() {
	local cache r f d=$WORKDIR/md
	export MDFILES
	for cache in $CACHES; do
		for r in $(seq 1 "$RUNS"); do
			rm -rf "$d"
			mkdir "$d"
			[ "$cache" = cold ] && cold_prep
			f=$(raw md-create "$cache" "$r")
			if DIR=$d fio_job md-create "$f"; then
				record md-create "$cache" "$r" fio:iops "$f" ops/s
			fi
			DIR=$d untimed md-stat
			[ "$cache" = cold ] && cold_prep
			f=$(raw md-stat "$cache" "$r")
			if DIR=$d fio_job md-stat "$f"; then
				record md-stat "$cache" "$r" fio:iops "$f" ops/s
			fi
			[ "$cache" = cold ] && cold_prep
			f=$(raw md-readdir "$cache" "$r")
			if $PY "$here/readdir.py" --repeat 1 "$d" >"$f"; then
				record md-readdir "$cache" "$r" json:readdir_per_s "$f" entries/s
				record md-readdir-stat "$cache" "$r" json:readdir_stat_per_s "$f" entries/s
			fi
		done
	done
	rm -rf "$d"
}

# Durability rows: native syncs by hand, mmapfs by policy; warm only (the
# cost measured is the flushing, not the reading).
dur_sync4k() {
	local sync=$1 r f
	for r in $(seq 1 "$RUNS"); do
		f=$(raw dur-always-4k warm "$r")
		if DIR=$WORKDIR DSIZE=${DSIZE_MIB}M RUNTIME=$RUNTIME SYNC=$sync fio_job dur-sync4k "$f"; then
			record dur-always-4k warm "$r" fio:iops "$f" IOPS
		fi
	done
	rm -f "$WORKDIR"/dur.*
}

dur_bytes() {
	local every=$1 r f
	for r in $(seq 1 "$RUNS"); do
		rm -f "$WORKDIR"/durseq.*
		f=$(raw dur-bytes-1MiB warm "$r")
		if DIR=$WORKDIR DSEQSIZE=${DSEQSIZE_MIB}M FDATASYNC=$every fio_job dur-bytes "$f"; then
			record dur-bytes-1MiB warm "$r" fio:bw "$f" MiB/s
		fi
	done
	rm -f "$WORKDIR"/durseq.*
}

dur_ms() {
	local ms=$1 r f
	for r in $(seq 1 "$RUNS"); do
		f=$(raw dur-ms-100 warm "$r")
		if $PY "$here/timedsync.py" --size "${DSEQSIZE_MIB}M" --bs 64K --sync-ms "$ms" \
			"$WORKDIR/timed.0" >"$f"; then
			record dur-ms-100 warm "$r" json:mib_s "$f" MiB/s
		fi
	done
	rm -f "$WORKDIR/timed.0"
}

row_durability() {
	local policy cfg
	if [ "$CUR_TARGET" = native ]; then
		dur_sync4k dsync
		dur_bytes 16
		dur_ms 100
		return
	fi
	for policy in always bytes=1MiB ms=100; do
		cfg=$OUT/mmapfs-$policy.ini
		printf '[global]\nflush = %s\n' "$policy" >"$cfg"
		leave_target
		enter_target mmapfs "$cfg" || return 1
		case $policy in
		always) dur_sync4k 0 ;;
		bytes=1MiB) dur_bytes 0 ;;
		ms=100) dur_ms 0 ;;
		esac
	done
}

# ---------------------------------------------------------------- main
for target in $TARGETS; do
	cfg=""
	case $target in
	mmapfs) cfg=$MMAPFS_CONFIG ;;
	mmapfs-tuned) cfg=$here/tuned.ini ;;
	esac
	case $target in mmapfs*)
		if [ -z "$MMAPFS_BIN" ]; then
			echo "== $target: no binary (build it: meson setup build-bench && ninja -C build-bench); skipped"
			continue
		fi ;;
	esac
	echo "== $target"
	if ! enter_target "$target" "$cfg"; then
		echo "== $target: mount failed; skipped"
		continue
	fi
	note_load "$target start"
	row_rw_jobs
	case " $ROWS " in *" mmap "*) row_mmap ;; esac
	case " $ROWS " in *" smallfiles "*) row_smallfiles ;; esac
	case " $ROWS " in *" metadata "*) row_metadata ;; esac
	case " $ROWS " in *" durability "*)
		case $target in native|mmapfs) row_durability ;; esac ;;
	esac
	note_load "$target end"
	leave_target
done

echo
if [ -f "$OUT/failures.tsv" ]; then
	echo "== failures (runs left out of the medians; $OUT/failures.tsv)"
	cat "$OUT/failures.tsv"
fi
echo "== results ($OUT)"
$PY "$here/report.py" table "$OUT" | tee "$OUT/table.txt"
if command -v gnuplot >/dev/null; then
	"$here/plot.sh" "$OUT"
	[ -f "$OUT/ratio.png" ] && echo "plot: $OUT/ratio.png"
fi
