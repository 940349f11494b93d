# mounts.sh — mount helpers shared by the bench/ scripts (sourced, not
# executed), and the guest idle-policy helpers of peers.sh and
# ab-transport.sh.
#
# Design: every FUSE daemon is started in the foreground (-f) as a background
# job of this shell, so its pid is known exactly; that pid is what perf, RSS
# sampling and the last-resort kill use. A mount is recorded in MOUNTED_MNTS
# (mount point) and MOUNTED_PIDS (daemon pid) before anything else can fail,
# so bench_unmount_all — installed by the caller as an EXIT/INT/TERM trap —
# always finds it.
#
# Invariants: at most the mounts this shell made are touched; only pids this
# shell started are ever killed (by pid, never by name); a mount point is
# handed back only after /proc/mounts shows it mounted.
#
# Threads: none (bash functions; callers are single-threaded). Every function
# keeps its variables local, so callers' loop variables survive.

MOUNTED_MNTS=""
MOUNTED_PIDS=""
MOUNT_PID=""

# The guest's idle policy (docs/operations.md, "Virtual machines"): with the
# haltpoll cpuidle driver, how long an idle vCPU polls before it halts. It
# moves every FUSE row (a halted vCPU is slow to wake), so the benchmarks
# record it and can set it for a run.
HALT_POLL_PARAM=/sys/module/haltpoll/parameters/guest_halt_poll_ns
HALT_POLL_SAVED=""

# cpuidle_describe — the cpuidle driver, and haltpoll's window if there is one.
cpuidle_describe() {
	local drv
	drv=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)
	if [ -r "$HALT_POLL_PARAM" ]; then
		echo "$drv, guest_halt_poll_ns=$(cat "$HALT_POLL_PARAM")"
	else
		echo "$drv"
	fi
}

# halt_poll_set NS — sets haltpoll's window for this run (returns non-zero
# where there is none); halt_poll_restore, from the caller's EXIT trap, puts
# the value found back.
halt_poll_set() {
	if [ ! -w "$HALT_POLL_PARAM" ]; then
		echo "no writable $HALT_POLL_PARAM (not a haltpoll guest, or not root)" >&2
		return 1
	fi
	HALT_POLL_SAVED=$(cat "$HALT_POLL_PARAM")
	echo "$1" >"$HALT_POLL_PARAM"
}

halt_poll_restore() {
	if [ -n "$HALT_POLL_SAVED" ]; then
		echo "$HALT_POLL_SAVED" >"$HALT_POLL_PARAM" || true
		HALT_POLL_SAVED=""
	fi
}

# is_mounted MNT — true when MNT (an absolute path) is a mount point.
is_mounted() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

# wait_mounted MNT PID — waits up to 10 s for MNT to appear while PID lives.
wait_mounted() {
	local i=0
	while [ "$i" -lt 100 ]; do
		is_mounted "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# bench_mount TARGET BACKING MNT LOG [MMAPFS_CONFIG] — mounts TARGET (mmapfs,
# mergerfs, bindfs, or passthrough: libfuse's example passthrough_ll, built
# by the caller into PASSTHROUGH_BIN) of BACKING on MNT, daemon output to
# LOG. Sets MOUNT_PID. Returns non-zero (and leaves nothing mounted) when
# the mount fails.
bench_mount() {
	local target=$1 backing=$2 mnt=$3 log=$4 cfg=${5:-}
	mkdir -p "$mnt"
	case $target in
	mmapfs)
		if [ -n "$cfg" ]; then
			"$MMAPFS_BIN" "$backing" "$mnt" -f -o "config=$cfg" >"$log" 2>&1 &
		else
			"$MMAPFS_BIN" "$backing" "$mnt" -f >"$log" 2>&1 &
		fi
		;;
	mergerfs)
		# The man page's recommended setup for workloads that need mmap;
		# minfreespace=0: a small backing (bench/peers.sh's RAM-backed
		# ext4) must not make creates fail, as on no other target (the
		# default refuses them below 4 GiB free).
		mergerfs -f -o use_ino,cache.files=partial,dropcacheonclose=true,category.create=mfs,minfreespace=0,fsname=bench-mergerfs \
			"$backing" "$mnt" >"$log" 2>&1 &
		;;
	bindfs)
		bindfs -f "$backing" "$mnt" >"$log" 2>&1 &
		;;
	passthrough)
		# Its defaults: multi-threaded, cache=auto (1 s entry and attr
		# timeouts), no writeback cache, no xattrs.
		"$PASSTHROUGH_BIN" -f -o "source=$backing" "$mnt" >"$log" 2>&1 &
		;;
	*)
		echo "bench_mount: unknown target $target" >&2
		return 2
		;;
	esac
	MOUNT_PID=$!
	MOUNTED_MNTS="$mnt $MOUNTED_MNTS"
	MOUNTED_PIDS="$MOUNT_PID $MOUNTED_PIDS"
	if ! wait_mounted "$mnt" "$MOUNT_PID"; then
		echo "bench_mount: $target did not mount on $mnt (log: $log)" >&2
		bench_unmount "$mnt" "$MOUNT_PID"
		return 1
	fi
	return 0
}

# bench_unmount MNT PID — unmounts MNT and waits for PID (the daemon) to exit;
# after 10 s kills PID, and lazily detaches a mount that is still there.
bench_unmount() {
	local mnt=$1 pid=$2 i=0
	if is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || true
	fi
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench_unmount: daemon $pid did not exit; killing it" >&2
		kill -TERM "$pid" 2>/dev/null || true
		sleep 1
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	if is_mounted "$mnt"; then
		fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	MOUNTED_MNTS=$(echo "$MOUNTED_MNTS" | tr ' ' '\n' | grep -vxF "$mnt" | tr '\n' ' ' || true)
	MOUNTED_PIDS=$(echo "$MOUNTED_PIDS" | tr ' ' '\n' | grep -vxF "$pid" | tr '\n' ' ' || true)
}

# bench_unmount_all — the trap: unmounts everything this shell mounted.
bench_unmount_all() {
	local mnt
	set -- $MOUNTED_PIDS
	for mnt in $MOUNTED_MNTS; do
		bench_unmount "$mnt" "${1:-0}"
		[ $# -gt 0 ] && shift
	done
}

# bench_fresh_ext4 IMAGE SIZE DIR — a new ext4 without a journal (like the
# benchmarks' backing) in the sparse image IMAGE of SIZE (as truncate(1)
# takes it), loop-mounted on DIR. The caller unmounts it and removes IMAGE.
bench_fresh_ext4() {
	rm -f "$1"
	truncate -s "$2" "$1"
	mkfs.ext4 -q -O ^has_journal "$1"
	mount -o loop "$1" "$3"
}

# drop_caches — writes dirty data back, then drops clean page, dentry and
# inode caches.
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# daemon_rss_kib PID — resident set size of PID in KiB.
daemon_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
