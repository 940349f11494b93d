#!/bin/sh
# smoke.sh [BUILD_DIR] — a quick end-to-end check of a built mmapfs: mounts
# a fresh temporary backing directory, copies, reads, lists, renames and
# removes files through the mount, compares them with the backing files,
# and unmounts (always, also when a step fails). Needs root or a user
# allowed to mount FUSE. Exits non-zero on the first failure.
#   ./scripts/build.sh build && ./scripts/smoke.sh build
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
daemon=$build/src/fs/mmapfs
[ -x "$daemon" ] || { echo "smoke: $daemon not built" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mmapfs-smoke.XXXXXX)
backing=$tmp/backing
mnt=$tmp/mnt
mkdir "$backing" "$mnt"
cleanup() {
	if grep -qs " $mnt fuse" /proc/mounts; then
		fusermount3 -u "$mnt" || umount -l "$mnt"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
step() { printf 'smoke: %s\n' "$*"; }

step "mount $backing on $mnt"
"$daemon" "$backing" "$mnt"
grep -qs " $mnt fuse.mmapfs" /proc/mounts

step "cp, cat, cmp"
cp /etc/services "$mnt/services"
cmp /etc/services "$mnt/services"
cmp /etc/services "$backing/services"
echo "hello" > "$mnt/hello"
[ "$(cat "$mnt/hello")" = hello ]
dd if=/dev/urandom of="$mnt/big" bs=1M count=16 status=none
cmp "$mnt/big" "$backing/big"

step "mkdir, mv, ls"
mkdir "$mnt/dir"
mv "$mnt/hello" "$mnt/dir/hello"
[ "$(ls "$mnt/dir")" = hello ]
[ -f "$backing/dir/hello" ]

step "rm"
rm -r "$mnt/dir" "$mnt/services" "$mnt/big"
[ -z "$(ls -A "$mnt")" ]
[ -z "$(ls -A "$backing")" ]

step "unmount"
fusermount3 -u "$mnt"
! grep -qs " $mnt fuse" /proc/mounts
step "OK"
