#!/bin/bash
# transport-cost.sh — what one small write costs on each transport (issue
# 17), measured as CPU time and context switches per write rather than as
# throughput, so that it holds on a loaded machine: a fixed amount of work
# (2 jobs, 8,192 random 4 KiB writes each, psync) on a fresh mount per
# transport, interleaved, REPS times. Daemon: utime+stime of the process
# and the context switches of all its threads, before and after. Client:
# fio's user+system time and switches (/usr/bin/time).
#
# Usage (root; enable_uring must be Y): bench/transport-cost.sh [REPS] [MMAPFS_BIN]
# Invariants: only the daemons this script starts are unmounted, by pid;
# the scratch directory is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
REPS=${1:-3}
export MMAPFS_BIN=${2:-$(dirname "$here")/build/src/fs/mmapfs}
# shellcheck source=bench/mounts.sh
. "$here/mounts.sh"
scratch=$(mktemp -d /work/mmapfs-cost.XXXXXX)
trap 'bench_unmount_all; rm -rf "$scratch"' EXIT
mkdir -p "$scratch/b" "$scratch/m"
tick=$(getconf CLK_TCK)
N=16384   # writes per run (2 jobs x 32 MiB / 4 KiB)

daemon_counters() {   # ticks of CPU, context switches over all threads
	local p=$1 cpu sw=0 s
	cpu=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
	for s in /proc/"$p"/task/*/status; do
		sw=$((sw + $(awk '/ctxt_switches/ { n += $2 } END { print n }' "$s")))
	done
	echo "$cpu $sw"
}

for rep in $(seq 1 "$REPS"); do
	for t in dev io_uring; do
		printf '[global]\ntransport = %s\n' "$t" >"$scratch/$t.ini"
		bench_mount mmapfs "$scratch/b" "$scratch/m" "$scratch/$t.log" "$scratch/$t.ini"
		w=$scratch/m/w
		mkdir -p "$w"
		fio --name=lay --directory="$w" --filename_format='data.$jobnum' \
			--rw=write --bs=1M --size=32M --numjobs=2 --output=/dev/null
		read -r c0 s0 < <(daemon_counters "$MOUNT_PID")
		out=$({ /usr/bin/time -f "%e %U %S %w %c" fio --name=rw \
			--directory="$w" --filename_format='data.$jobnum' \
			--rw=randwrite --bs=4k --size=32M --io_size=32M --numjobs=2 \
			--ioengine=psync --invalidate=0 --randrepeat=0 \
			--output=/dev/null; } 2>&1 | tail -n 1)
		read -r c1 s1 < <(daemon_counters "$MOUNT_PID")
		read -r e u s vw ivw <<<"$out"
		awk -v t="$t" -v r="$rep" -v e="$e" -v u="$u" -v s="$s" \
		    -v w="$vw" -v c="$ivw" -v dc=$((c1 - c0)) -v ds=$((s1 - s0)) \
		    -v tick="$tick" -v n="$N" 'BEGIN {
			printf "%-8s rep %d: %6.0f writes/s | daemon CPU %5.1f us/write, %4.2f switches/write | fio CPU %5.1f us/write, %4.2f switches/write\n",
				t, r, n / e, dc * 1e6 / tick / n, ds / n,
				(u + s) * 1e6 / n, (w + c) / n }'
		rm -rf "$w"
		bench_unmount "$scratch/m" "$MOUNT_PID"
	done
done
echo "load at end: $(cat /proc/loadavg)"
