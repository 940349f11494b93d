#!/bin/sh
# demo.sh [--once] — the main job, from a fresh Debian 12 machine (as root):
# installs dependencies, builds, runs the libmmapio demo, then mounts a demo
# directory through mmapfs with conf/mmapfs.ini and takes a short scripted
# tour. The mount is left running (with instructions to unmount) unless
# --once is given. Idempotent: an earlier demo mount is unmounted first.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

once=0
[ "${1:-}" = "--once" ] && once=1

./scripts/install-deps.sh
./scripts/build.sh build

echo "== libmmapio demo"
./build/src/tools/mmapio-demo

demo=${MMAPFS_DEMO_DIR:-/tmp/mmapfs-demo}
backing=$demo/backing
mnt=$demo/mnt
if grep -qs " $mnt fuse" /proc/mounts; then
	fusermount3 -u "$mnt"
fi
mkdir -p "$backing" "$mnt"

say() { printf '\n$ %s\n' "$*"; }
run() { say "$*"; sh -c "$*"; }

echo "== mounting $backing on $mnt with conf/mmapfs.ini"
run "$root/build/src/fs/mmapfs '$backing' '$mnt' -o config='$root/conf/mmapfs.ini'"
trap 'if [ $once = 1 ]; then fusermount3 -u "$mnt" 2>/dev/null || true; fi' EXIT

run "echo 'hello through a managed mapping' > '$mnt/hello.txt'"
run "cat '$mnt/hello.txt'"
run "dd if=/dev/urandom of='$mnt/data.bin' bs=1M count=8 status=none && sync '$mnt/data.bin'"
run "cmp '$mnt/data.bin' '$backing/data.bin' && echo 'backing file identical'"
run "ls -l '$mnt'"
if [ -r "$mnt/.stats/files" ]; then
	run "cat '$mnt/.stats/files'"
fi
run "df -h '$mnt'"

if [ $once = 1 ]; then
	echo "== unmounting (--once)"
	fusermount3 -u "$mnt"
	trap - EXIT
else
	printf '\nmmapfs is still mounted on %s (backing: %s).\nUnmount with: fusermount3 -u %s\n' "$mnt" "$backing" "$mnt"
fi
