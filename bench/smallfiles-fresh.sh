#!/bin/bash
# smallfiles-fresh.sh — the small-file workload of bench/fio/smallfiles.fio
# (2,000 × create + write 4 KiB + close) on a fresh file system per target,
# so that no target inherits another's deleted inodes.
#
# Usage: bench/smallfiles-fresh.sh [--targets "native mmapfs mergerfs bindfs"]
#                                  [--runs N] [--mmapfs BIN] [--image FILE]
#
# Why: on ext4 without a journal (the benchmark's backing file system) the
# inode allocator skips inodes deleted in the last minutes (ialloc.c,
# recently_deleted), so in bench/run.sh a target's creates are slow or fast
# depending on what the targets before it deleted (docs/performance.md,
# fourth run). Here each target gets its own new ext4 (no journal, like the
# backing) in a sparse image on the backing disk, loop-mounted; each run
# creates in a new directory and nothing is deleted until the image goes.
# Prints one line per target: the files/s of every run.
#
# Invariants: every mount made here is undone by the EXIT trap (the FUSE
# mount, then the loop mount) and the image is removed; only daemons started
# here are stopped, through their own unmount.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"

TARGETS="native mmapfs mergerfs bindfs"
RUNS=3
MMAPFS_BIN=$repo/build-bench/src/fs/mmapfs
IMAGE=/work/mmapfs-bench/smallfiles.img
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
	case $1 in
	--targets) TARGETS=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--mmapfs) MMAPFS_BIN=$2; shift ;;
	--image) IMAGE=$2; shift ;;
	*) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "smallfiles-fresh.sh: must run as root (loop mounts)" >&2; exit 1; }

work=$(mktemp -d /tmp/smallfiles-fresh.XXXXXX)
FS=$work/fs
MNT=$work/mnt
mkdir -p "$FS" "$MNT"
fs_mounted=false
cleanup() {
	bench_unmount_all
	if $fs_mounted; then
		umount "$FS" || umount -l "$FS" || true
	fi
	rm -f "$IMAGE"
	rm -f "$work"/*.log
	rmdir "$MNT" "$FS" "$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for target in $TARGETS; do
	# 16 GiB sparse: mergerfs's create policy wants 4 GiB free by default.
	bench_fresh_ext4 "$IMAGE" 16G "$FS"
	fs_mounted=true
	dir=$FS
	if [ "$target" != native ]; then
		bench_mount "$target" "$FS" "$MNT" "$work/$target.log"
		dir=$MNT
	fi
	line=$target
	for r in $(seq 1 "$RUNS"); do
		mkdir "$dir/sf$r"
		line="$line $(DIR=$dir/sf$r fio --output-format=json "$here/fio/smallfiles.fio" |
			$PY -c 'import json, sys; print(round(json.load(sys.stdin)["jobs"][0]["write"]["iops"]))')"
	done
	[ "$target" != native ] && bench_unmount "$MNT" "$MOUNT_PID"
	umount "$FS"
	fs_mounted=false
	echo "$line files/s"
done
