#!/bin/bash
# transport-memory.sh — what FUSE over io_uring costs in memory (issue 17):
# mounts mmapfs once per transport, runs the same writes through it
# (1 MiB sequential writes and 4 KiB random writes, 2 jobs, so every
# queue's entries carry full-size requests), and prints the daemon's
# resident memory (VmRSS, RssAnon) and its threads after the writes, and
# the difference io_uring - dev. The ring entries' buffers (a 4 KiB front
# page and a max_write payload each, anonymous, touched only as requests
# fill them) are the most the difference can hold; the daemon logs their
# number and size at mount.
#
# Usage (root; enable_uring must be Y): bench/transport-memory.sh [MMAPFS_BIN]
# Invariants: only the daemons this script starts are unmounted, by their
# pid; the scratch directory is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MMAPFS_BIN=${1:-$(dirname "$here")/build/src/fs/mmapfs}
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"
scratch=$(mktemp -d /work/mmapfs-mem.XXXXXX)
trap 'bench_unmount_all; rm -rf "$scratch"' EXIT
mkdir -p "$scratch/b" "$scratch/m"
kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }

for t in dev io_uring; do
	printf '[global]\ntransport = %s\n' "$t" >"$scratch/$t.ini"
	bench_mount mmapfs "$scratch/b" "$scratch/m" "$scratch/$t.log" "$scratch/$t.ini"
	mkdir -p "$scratch/m/w"
	JOBS=2 SIZE=64M DIR=$scratch/m/w fio --output-format=terse --output=/dev/null "$here/fio/seqwrite.fio"
	JOBS=2 SIZE=64M DIR=$scratch/m/w RUNTIME=3 fio --output-format=terse --output=/dev/null "$here/fio/randwrite.fio"
	rss=$(kb VmRSS "$MOUNT_PID") anon=$(kb RssAnon "$MOUNT_PID")
	printf '%-8s VmRSS %6s KiB  RssAnon %6s KiB  threads %3s\n' \
		"$t" "$rss" "$anon" "$(kb Threads "$MOUNT_PID")"
	eval "rss_$t=$rss anon_$t=$anon"
	grep -h "transport:" "$scratch/$t.log" || true
	rm -rf "$scratch/m/w"
	bench_unmount "$scratch/m" "$MOUNT_PID"
done
echo "io_uring - dev: VmRSS $((rss_io_uring - rss_dev)) KiB, RssAnon $((anon_io_uring - anon_dev)) KiB"
