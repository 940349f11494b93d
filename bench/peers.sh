#!/bin/bash
# peers.sh — mmapfs against its peers (issue 16) in one run: native ext4,
# mergerfs, libfuse's passthrough_ll, mmapfs with its defaults (`never`),
# with `always` and with `bytes=1MiB`, side by side on tar x, new small
# files, warm random and sequential writes and durable 4 KiB writes, each on
# a fresh RAM-backed ext4; writes OUT/summary.md (table, goal ratios).
#
# Usage: bench/peers.sh [--quick] [--runs N] [--runtime S] [--size MIB]
#                       [--targets "native mergerfs passthrough mmapfs
#                                   mmapfs-ignore mmapfs-always mmapfs-bytes"]
#                       [--rows "tarx readfiles newfiles seqwrite
#                                randwrite-j1 randwrite-j2 dur-always-4k
#                                dur-bytes-4k"]
#                       [--mmapfs BIN] [--halt-poll-ns NS] [--out DIR]
#   --quick: tiny sizes (/usr/include/linux, 500 files, 64 MiB), 1 run, 1 s
#            runtimes: checks that the script works; its numbers mean little.
#   --halt-poll-ns: on a haltpoll guest, how long idle vCPUs poll before
#            halting, for this run (the old value is put back at exit);
#            machine.txt and summary.md record the value in force.
#
# Design:
#  - Fresh file systems: on a reused ext4 the inode allocator skips inodes
#    deleted in the last minutes (smallfiles-fresh.sh), so whoever ran
#    before decides who wins at creating files. Here every run of every
#    target gets a NEW ext4 without a journal (mkfs.ext4 -O ^has_journal) in
#    a sparse image on a tmpfs this script mounts, loop-mounted, for each of
#    the rows tarx and newfiles, and one more for its warm rows (seqwrite,
#    randwrite-j1/j2, dur-*). The FUSE target mounts that ext4 (on a
#    separate mount point); afterwards the FUSE mount, the loop mount and
#    the image go. RAM-backed: what is measured is the file system path,
#    not a disk (a flush of the loop device on tmpfs costs nothing).
#  - Targets: native (the ext4 directory itself); mergerfs and mmapfs as
#    bench/mounts.sh mounts them (mmapfs-always and mmapfs-bytes with a
#    generated config whose [global] flush is `always` / `bytes=1MiB`,
#    mmapfs-ignore with `outside_changes = ignore`);
#    passthrough: /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c,
#    compiled here at run time (never copied into the repository), in the
#    foreground, multi-threaded, with its default options.
#  - Interleaved: run r visits every target before run r+1, starting one
#    target further each run, so drift in the machine's load (other jobs
#    run on this 2-core machine) hits every target alike; one target is
#    mounted at a time.
#  - tarx: a tarball of /usr/include is made once (on the tmpfs); the time
#    is the wall clock of `tar -xf` alone (as root: owners, modes and times
#    are restored, so every file costs a chown and a utimens too). The row
#    tarx-sync adds the `sync -f` of the ext4 that follows (what the
#    extraction left dirty, written to the RAM disk). FUSE releases still
#    in flight when tar exits are in neither.
#  - readfiles: the tarball extracted straight into the backing ext4
#    (untimed), then every file read through the target with
#    `find -type f | xargs cat` three times: readfiles-cold is the first
#    pass (the mount has seen none of it), readfiles-warm the third (what
#    the kernel caches of the mount decides: entries, attributes, pages).
#    Mostly open, read and close of small files.
#  - newfiles: bench/fio/newfiles.fio (4,000 × create + one 4 KiB write +
#    close) into a new directory. seqwrite: seqwrite.fio, 1 job, SIZE MiB,
#    final fsync timed. randwrite-jN: randwrite.fio over files laid out by
#    seqwrite.fio and read once (warm), RUNTIME s. dur-always-4k:
#    dur-sync4k.fio (random 4 KiB overwrites of a warm DSIZE file, RUNTIME
#    s), native with O_DSYNC against mmapfs-always without. dur-bytes-4k:
#    dur-bytes4k.fio (sequential 4 KiB writes into a new DSEQSIZE file),
#    native with fdatasync every 256 writes (1 MiB) against mmapfs-bytes
#    without. Before each timed fio run `sync -f` of the ext4, so no
#    writeback of earlier work falls into it.
#  - Every timed run's raw output goes to OUT/raw/ (daemon and tool logs to
#    OUT/logs/); its one number (bench/report.py extract for fio) to
#    OUT/runs.tsv; bench/report.py peers turns runs.tsv into the table and
#    the goal ratios of OUT/summary.md (medians, ranges). A failed run is
#    left out and listed in OUT/failures.tsv. Git keeps summary.md and
#    machine.txt (bench/results/.gitignore); raw/, logs/, runs.tsv,
#    failures.tsv and the generated configs come back with the command in
#    summary.md.
# Invariants: root only. Every mount made here is undone by the
# EXIT/INT/TERM trap — the FUSE mount first, then the loop mount, then the
# tmpfs — and the image and the temporary directory are removed. Only
# daemons this script started are stopped, by pid (mounts.sh). Nothing
# outside the temporary directory and OUT is written.
set -euo pipefail
export LC_ALL=C   # EPOCHREALTIME and printf with a '.' decimal point

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"

ALL_TARGETS="native mergerfs passthrough mmapfs mmapfs-ignore mmapfs-always mmapfs-bytes"
ALL_ROWS="tarx readfiles newfiles seqwrite randwrite-j1 randwrite-j2 dur-always-4k dur-bytes-4k"
RUNS=3
RUNTIME=5
SIZE_MIB=1024          # seqwrite file; randwrite's files (total)
NRFILES=4000           # newfiles
DSIZE_MIB=64           # dur-always-4k file
DSEQSIZE_MIB=256       # dur-bytes-4k file
TAR_SRC=/usr/include
IMAGE_GIB=8            # sparse: only what is written takes RAM
TARGETS=$ALL_TARGETS
ROWS=$ALL_ROWS
MMAPFS_BIN=""
HALT_POLL_NS=""
OUT=""
PY=/usr/bin/python3
PASSTHROUGH_SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
COMMAND=bench/peers.sh
[ $# -gt 0 ] && COMMAND="$COMMAND$(printf ' %q' "$@")"

usage() {
	sed -n '8,18p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNS=1 RUNTIME=1 SIZE_MIB=64 NRFILES=500 DSIZE_MIB=8 DSEQSIZE_MIB=8 TAR_SRC=/usr/include/linux ;;
	--runs) RUNS=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--size) SIZE_MIB=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--rows) ROWS=$2; shift ;;
	--mmapfs) MMAPFS_BIN=$2; shift ;;
	--halt-poll-ns) HALT_POLL_NS=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) usage ;;
	*) echo "peers.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done

die() {
	echo "peers.sh: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (tmpfs and loop mounts, mkfs, FUSE mounts)"
for t in $TARGETS; do
	case " $ALL_TARGETS " in *" $t "*) ;; *) die "unknown target $t (known: $ALL_TARGETS)" ;; esac
done
for r in $ROWS; do
	case " $ALL_ROWS " in *" $r "*) ;; *) die "unknown row $r (known: $ALL_ROWS)" ;; esac
done
for n in "$RUNS" "$RUNTIME" "$SIZE_MIB"; do
	case $n in '' | *[!0-9]* | 0) die "--runs, --runtime and --size take a positive integer" ;; esac
done
for c in fio mkfs.ext4 tar "$PY"; do
	command -v "$c" >/dev/null || die "$c is missing (scripts/install-deps.sh)"
done
case " $TARGETS " in *" mergerfs "*)
	command -v mergerfs >/dev/null || die "mergerfs is missing (apt-get install mergerfs)" ;;
esac
case " $TARGETS " in *" passthrough "*)
	[ -f "$PASSTHROUGH_SRC" ] || die "$PASSTHROUGH_SRC is missing (apt-get install libfuse3-dev)"
	for c in cc pkg-config; do
		command -v "$c" >/dev/null || die "$c is needed to build passthrough_ll"
	done ;;
esac
case " $TARGETS " in *" mmapfs"*)
	if [ -z "$MMAPFS_BIN" ]; then
		MMAPFS_BIN=$repo/build/src/fs/mmapfs
		if [ ! -x "$MMAPFS_BIN" ]; then
			echo "== building $MMAPFS_BIN (scripts/build.sh build)"
			"$repo/scripts/build.sh" "$repo/build"
		fi
	fi
	[ -x "$MMAPFS_BIN" ] || die "no mmapfs binary at $MMAPFS_BIN"
	MMAPFS_BIN=$(cd "$(dirname "$MMAPFS_BIN")" && pwd)/$(basename "$MMAPFS_BIN") ;;
esac

[ -z "$OUT" ] && OUT=$here/results/peers-$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$OUT/raw" "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
[ -s "$OUT/runs.tsv" ] && die "$OUT already holds a run (runs.tsv); choose another --out"

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d /tmp/mmapfs-peers.XXXXXX)
RAM=$WORK/ram          # the tmpfs: the image and the tarball
FS=$WORK/fs            # the loop-mounted ext4
MNT=$WORK/mnt          # the FUSE mount point
IMAGE=$RAM/ext4.img
TARBALL=$RAM/src.tar
PASSTHROUGH_BIN=$WORK/passthrough_ll
export MMAPFS_BIN PASSTHROUGH_BIN
mkdir -p "$RAM" "$FS" "$MNT"
RAM_MOUNTED=false
FS_MOUNTED=false

cleanup() {
	bench_unmount_all
	halt_poll_restore
	if $FS_MOUNTED; then
		umount "$FS" 2>/dev/null || umount -l "$FS" || true
		FS_MOUNTED=false
	fi
	rm -f "$IMAGE" "$TARBALL"
	if $RAM_MOUNTED; then
		umount "$RAM" 2>/dev/null || umount -l "$RAM" || true
		RAM_MOUNTED=false
	fi
	rm -f "$PASSTHROUGH_BIN"
	rmdir "$MNT" "$FS" "$RAM" "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- setup
if [ -n "$HALT_POLL_NS" ]; then
	halt_poll_set "$HALT_POLL_NS" || die "--halt-poll-ns: cannot set it here"
fi
mount -t tmpfs -o "size=$((IMAGE_GIB + 1))g,mode=0700" mmapfs-peers "$RAM"
RAM_MOUNTED=true

load1() {
	cut -d' ' -f1 /proc/loadavg
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)

case " $TARGETS " in *" passthrough "*)
	# shellcheck disable=SC2046 # pkg-config's flags are meant to split
	cc -O2 $(pkg-config fuse3 --cflags) -o "$PASSTHROUGH_BIN" "$PASSTHROUGH_SRC" \
		$(pkg-config fuse3 --libs) >"$OUT/logs/passthrough_ll.build.log" 2>&1 ||
		die "building passthrough_ll failed ($OUT/logs/passthrough_ll.build.log)" ;;
esac

TAR_ENTRIES=0
case " $ROWS " in *" tarx "*|*" readfiles "*)
	tar -cf "$TARBALL" -C "$(dirname "$TAR_SRC")" "$(basename "$TAR_SRC")"
	TAR_ENTRIES=$(tar -tf "$TARBALL" | wc -l) ;;
esac

for policy in always bytes=1MiB; do
	printf '[global]\nflush = %s\n' "$policy" >"$OUT/mmapfs-$policy.ini"
done
printf '[global]\noutside_changes = ignore\n' >"$OUT/mmapfs-ignore.ini"

git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	git_rev="$git_rev (uncommitted changes)"
fi
{
	echo "date: $DATE_START"
	echo "git: $git_rev"
	echo "kernel: $(uname -r)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "cpuidle: $(cpuidle_describe)"
	echo "fio: $(fio --version)"
	echo "tar: $(tar --version | head -1); mke2fs: $(mkfs.ext4 -V 2>&1 | head -1)"
	echo "mergerfs: $(mergerfs --version 2>&1 | head -1)"
	echo "libfuse: $(pkg-config fuse3 --modversion 2>/dev/null || echo '?') (passthrough_ll from $PASSTHROUGH_SRC)"
	echo "mmapfs: ${MMAPFS_BIN:-not used}${MMAPFS_BIN:+ ($("$MMAPFS_BIN" --version 2>&1 | head -1))}"
	echo "targets: $TARGETS"
	echo "rows: $ROWS"
	echo "settings: runs=$RUNS runtime=${RUNTIME}s size=${SIZE_MIB}MiB nrfiles=$NRFILES dsize=${DSIZE_MIB}MiB dseqsize=${DSEQSIZE_MIB}MiB tar=$TAR_SRC ($TAR_ENTRIES entries) image=${IMAGE_GIB}GiB sparse on tmpfs"
	echo "load at start: $LOAD_START"
} | tee "$OUT/machine.txt"

{
	printf 'runs\t%s\nruntime_s\t%s\nsize_mib\t%s\nnrfiles\t%s\n' "$RUNS" "$RUNTIME" "$SIZE_MIB" "$NRFILES"
	printf 'dsize_mib\t%s\ndseqsize_mib\t%s\n' "$DSIZE_MIB" "$DSEQSIZE_MIB"
	printf 'tar_src\t%s\ntar_entries\t%s\n' "$TAR_SRC" "$TAR_ENTRIES"
} >"$OUT/settings.tsv"
printf '# target\trow\trun\tvalue\tunit\tload1\n' >"$OUT/runs.tsv"

# ---------------------------------------------------------------- helpers
CUR_TARGET=""   # the target being measured
CUR_RUN=0       # its run number
CUR_MNT=""      # its FUSE mount point ("" for native)
CUR_LOG=""      # its daemon's log
WORKDIR=""      # where the work goes

want_row() {
	case " $ROWS " in *" $1 "*) return 0 ;; esac
	return 1
}

# applies TARGET ROW — true when ROW is selected and TARGET takes part in it.
applies() {
	want_row "$2" || return 1
	case $2 in
	tarx) [ "$1" != mmapfs-bytes ] ;;
	newfiles|readfiles|seqwrite|randwrite-j*)
		case $1 in native|mergerfs|passthrough|mmapfs|mmapfs-ignore) return 0 ;; esac
		return 1 ;;
	dur-always-4k) [ "$1" = native ] || [ "$1" = mmapfs-always ] ;;
	dur-bytes-4k) [ "$1" = native ] || [ "$1" = mmapfs-bytes ] ;;
	*) return 1 ;;
	esac
}

fail() {
	printf '%s\t%s\t%s\t%s\n' "$CUR_TARGET" "$CUR_RUN" "$1" "$2" >>"$OUT/failures.tsv"
	echo "  $CUR_TARGET run $CUR_RUN: $1: $2" >&2
}

# fresh_fs — a new ext4 without a journal, loop-mounted on FS.
fresh_fs() {
	FS_MOUNTED=true
	bench_fresh_ext4 "$IMAGE" "${IMAGE_GIB}G" "$FS"
}

drop_fs() {
	umount "$FS"
	FS_MOUNTED=false
	rm -f "$IMAGE"
}

# enter_target — mounts CUR_TARGET over the fresh ext4 (unless native) and
# makes its empty work directory. Fails when the mount fails.
enter_target() {
	local cfg=""
	CUR_MNT=""
	case $CUR_TARGET in
	native)
		WORKDIR=$FS/w
		mkdir "$WORKDIR"
		return 0 ;;
	mmapfs-always) cfg=$OUT/mmapfs-always.ini ;;
	mmapfs-bytes) cfg=$OUT/mmapfs-bytes=1MiB.ini ;;
	mmapfs-ignore) cfg=$OUT/mmapfs-ignore.ini ;;
	esac
	CUR_LOG=$OUT/logs/$CUR_TARGET.r$CUR_RUN.$1.log
	bench_mount "${CUR_TARGET%%-*}" "$FS" "$MNT" "$CUR_LOG" "$cfg" || return 1
	CUR_MNT=$MNT
	WORKDIR=$MNT/w
	mkdir "$WORKDIR"
}

leave_target() {
	if [ -n "$CUR_MNT" ]; then
		if ! kill -0 "$MOUNT_PID" 2>/dev/null; then
			fail daemon "died ($CUR_LOG: $(tail -n 1 "$CUR_LOG" 2>/dev/null))"
		fi
		bench_unmount "$CUR_MNT" "$MOUNT_PID"
		CUR_MNT=""
	fi
}

# with_fresh_fs WHAT FUNCTION — FUNCTION on CUR_TARGET mounted over a new
# ext4, which is gone afterwards.
with_fresh_fs() {
	fresh_fs
	if enter_target "$1"; then
		"$2"
		leave_target
	else
		fail mount "$CUR_TARGET did not mount (${CUR_LOG:-})"
	fi
	drop_fs
}

record() {   # ROW VALUE UNIT
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$CUR_TARGET" "$1" "$CUR_RUN" "$2" "$3" "$(load1)" >>"$OUT/runs.tsv"
	printf '  %-14s run %s  %-14s %12.3f %s\n' "$CUR_TARGET" "$CUR_RUN" "$1" "$2" "$3"
}

raw() {
	echo "$OUT/raw/$CUR_TARGET.$1.r$CUR_RUN.json"
}

# fio_job JOB ROW KIND UNIT — one timed run of bench/fio/JOB.fio with the
# exported settings; records its number (report.py extract KIND) as ROW.
fio_job() {
	local f
	f=$(raw "$2")
	sync -f "$FS"
	if ! fio --output-format=json --output="$f" "$here/fio/$1.fio" >"$f.err" 2>&1; then
		fail "$2" "fio $1: $(tail -n 1 "$f.err")"
		return 1
	fi
	rm -f "$f.err"
	local v
	if ! v=$($PY "$here/report.py" extract "$3" "$f"); then
		fail "$2" "no $3 in $f"
		return 1
	fi
	record "$2" "$v" "$4"
}

# untimed JOB — a job for its side effects (laying out, warming).
untimed() {
	fio --output-format=terse --output=/dev/null "$here/fio/$1.fio" >/dev/null 2>&1 ||
		fail "$1" "untimed fio $1 failed"
}

elapsed() {   # T0 T1 (EPOCHREALTIME values)
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'
}

# ---------------------------------------------------------------- rows
row_tarx() {
	local t0 t1 t2 n err=$OUT/logs/$CUR_TARGET.tarx.r$CUR_RUN.err
	t0=$EPOCHREALTIME
	if ! tar -xf "$TARBALL" -C "$WORKDIR" 2>"$err"; then
		fail tarx "tar: $(tail -n 1 "$err")"
		return
	fi
	t1=$EPOCHREALTIME
	sync -f "$FS"
	t2=$EPOCHREALTIME
	rm -f "$err"
	# Untimed check that everything arrived.
	n=$(find "$WORKDIR/$(basename "$TAR_SRC")" 2>/dev/null | wc -l || true)
	if [ "$n" != "$TAR_ENTRIES" ]; then
		fail tarx "extracted $n entries, not $TAR_ENTRIES"
		return
	fi
	record tarx "$(elapsed "$t0" "$t1")" s
	record tarx-sync "$(elapsed "$t0" "$t2")" s
}

row_readfiles() {
	local src=$FS/r dir t0 t1 pass err=$OUT/logs/$CUR_TARGET.readfiles.r$CUR_RUN.err
	mkdir "$src" && tar -xf "$TARBALL" -C "$src" 2>"$err" ||
		{ fail readfiles "tar: $(tail -n 1 "$err")"; return; }
	sync -f "$FS"
	dir=${CUR_MNT:-$FS}/r
	for pass in 1 2 3; do
		t0=$EPOCHREALTIME
		if ! find "$dir" -type f -print0 | xargs -0 cat >/dev/null 2>"$err"; then
			fail readfiles "pass $pass: $(tail -n 1 "$err")"
			return
		fi
		t1=$EPOCHREALTIME
		case $pass in
		1) record readfiles-cold "$(elapsed "$t0" "$t1")" s ;;
		3) record readfiles-warm "$(elapsed "$t0" "$t1")" s ;;
		esac
	done
	rm -f "$err"
}

row_newfiles() {
	mkdir "$WORKDIR/nf" || { fail newfiles "mkdir failed"; return; }
	DIR=$WORKDIR/nf NRFILES=$NRFILES fio_job newfiles newfiles fio:iops files/s || true
}

# layout N — fresh data.0..N-1 of SIZE/N MiB each, read once (warm).
layout() {
	rm -f "$WORKDIR"/data.* || true
	JOBS=$1 SIZE=$((SIZE_MIB / $1))M untimed seqwrite
	warm "$1"
}

warm() {
	JOBS=$1 SIZE=$((SIZE_MIB / $1))M untimed seqread
}

rows_warm() {
	export DIR=$WORKDIR RUNTIME
	if applies "$CUR_TARGET" seqwrite; then
		rm -f "$WORKDIR"/data.* || true
		JOBS=1 SIZE=${SIZE_MIB}M fio_job seqwrite seqwrite fio:bw MiB/s || true
	fi
	if applies "$CUR_TARGET" randwrite-j1; then
		# seqwrite's file serves when it is complete.
		if [ "$(stat -c %s "$WORKDIR/data.0" 2>/dev/null || echo 0)" = $((SIZE_MIB * 1048576)) ] &&
			! [ -e "$WORKDIR/data.1" ]; then
			warm 1
		else
			layout 1
		fi
		JOBS=1 SIZE=${SIZE_MIB}M fio_job randwrite randwrite-j1 fio:iops IOPS || true
	fi
	if applies "$CUR_TARGET" randwrite-j2; then
		layout 2
		JOBS=2 SIZE=$((SIZE_MIB / 2))M fio_job randwrite randwrite-j2 fio:iops IOPS || true
	fi
	rm -f "$WORKDIR"/data.* || true
	if applies "$CUR_TARGET" dur-always-4k; then
		# Laid out (and so in the page cache) before the timed run.
		fio --output=/dev/null --name=layout --directory="$WORKDIR" --filename=dur.0 \
			--ioengine=psync --rw=write --bs=1M --size="${DSIZE_MIB}M" --end_fsync=1 >/dev/null 2>&1 ||
			fail dur-always-4k "laying out dur.0 failed"
		local sync=0
		[ "$CUR_TARGET" = native ] && sync=dsync
		DSIZE=${DSIZE_MIB}M SYNC=$sync fio_job dur-sync4k dur-always-4k fio:iops IOPS || true
		rm -f "$WORKDIR"/dur.* || true
	fi
	if applies "$CUR_TARGET" dur-bytes-4k; then
		local every=0
		[ "$CUR_TARGET" = native ] && every=256
		DSEQSIZE=${DSEQSIZE_MIB}M FDATASYNC=$every fio_job dur-bytes4k dur-bytes-4k fio:iops IOPS || true
		rm -f "$WORKDIR"/durseq4k.* || true
	fi
}

has_warm_rows() {
	local r
	for r in seqwrite randwrite-j1 randwrite-j2 dur-always-4k dur-bytes-4k; do
		applies "$1" "$r" && return 0
	done
	return 1
}

# ---------------------------------------------------------------- main
read -ra TLIST <<<"$TARGETS"
NT=${#TLIST[@]}
for CUR_RUN in $(seq 1 "$RUNS"); do
	for i in $(seq 0 $((NT - 1))); do
		CUR_TARGET=${TLIST[(i + CUR_RUN - 1) % NT]}
		echo "== run $CUR_RUN/$RUNS: $CUR_TARGET (load $(cut -d' ' -f1-3 /proc/loadavg))"
		if applies "$CUR_TARGET" tarx; then
			with_fresh_fs tarx row_tarx
		fi
		if applies "$CUR_TARGET" readfiles; then
			with_fresh_fs readfiles row_readfiles
		fi
		if applies "$CUR_TARGET" newfiles; then
			with_fresh_fs newfiles row_newfiles
		fi
		if has_warm_rows "$CUR_TARGET"; then
			with_fresh_fs warm rows_warm
		fi
	done
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "load at end: $LOAD_END" | tee -a "$OUT/machine.txt"

{
	echo "# mmapfs against its peers (bench/peers.sh, issue 16)"
	echo
	echo "Regenerate (as root, from the repository):"
	echo
	echo "    $COMMAND"
	echo
	echo "- date: $DATE_START – $DATE_END (UTC)"
	echo "- git: $git_rev; mmapfs: ${MMAPFS_BIN:-not used}"
	echo "- kernel: $(uname -r); $(nproc) cores; cpuidle: $(cpuidle_describe)"
	echo "- load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END"
	echo "- targets: $TARGETS; rows: $ROWS"
	echo "- details: machine.txt; every timed run's number is in runs.tsv and its output in raw/ and logs/, which git does not keep (the command above makes them again)"
	if [ -s "$OUT/failures.tsv" ]; then
		echo "- **failures** (left out of the medians): $(wc -l <"$OUT/failures.tsv"), see failures.tsv"
	fi
	echo
	$PY "$here/report.py" peers "$OUT"
} >"$OUT/summary.md"

echo
if [ -s "$OUT/failures.tsv" ]; then
	echo "== failures (left out of the medians; $OUT/failures.tsv)"
	cat "$OUT/failures.tsv"
fi
echo "== $OUT/summary.md"
cat "$OUT/summary.md"
