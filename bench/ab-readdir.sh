#!/bin/bash
# ab-readdir.sh — A/B of the cache_readdir setting on the metadata rows'
# pattern: 10,000 files created through mmapfs (fio md-create) and stat'ed
# (fio md-stat), then bench/readdir.py once (first listing) and three times
# (repeated listings) warm, and once after an unmount, drop_caches and a
# new mount (cold). Prints readdir.py's JSON per setting, twice each.
#
# Usage (root): bench/ab-readdir.sh [MMAPFS_BIN] [SCRATCH_DIR]
# Invariants: only the daemons this script starts are unmounted and waited
# for; SCRATCH_DIR (default /work/bench-scratch/ab) is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$(dirname "$here")/build-bench/src/fs/mmapfs}
scratch=${2:-/work/bench-scratch/ab}
b=$scratch/b m=$scratch/m cfg=$scratch/ab.ini
py=/usr/bin/python3
mkdir -p "$b" "$m"
trap 'fusermount3 -u "$m" 2>/dev/null || true; rm -rf "$scratch"' EXIT

mount_it() {
	"$bin" "$b" "$m" -f -o "config=$cfg" >"$scratch/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		mountpoint -q "$m" && return 0
		sleep 0.1
	done
	echo "ab-readdir.sh: mmapfs did not mount" >&2
	exit 1
}

unmount_it() {
	fusermount3 -u "$m"
	wait "$pid"
}

for mode in true false true false; do
	printf '[global]\ncache_readdir = %s\n' "$mode" >"$cfg"
	mount_it
	rm -rf "$m/md"
	mkdir "$m/md"
	DIR=$m/md MDFILES=10000 fio "$here/fio/md-create.fio" --output-format=terse >/dev/null
	DIR=$m/md MDFILES=10000 fio "$here/fio/md-stat.fio" --output-format=terse >/dev/null
	echo "cache_readdir=$mode warm, 1 listing:  $($py "$here/readdir.py" --repeat 1 "$m/md")"
	echo "cache_readdir=$mode warm, 3 listings: $($py "$here/readdir.py" --repeat 3 "$m/md")"
	unmount_it
	sync
	echo 3 >/proc/sys/vm/drop_caches
	mount_it
	echo "cache_readdir=$mode cold, 1 listing:  $($py "$here/readdir.py" --repeat 1 "$m/md")"
	unmount_it
done
