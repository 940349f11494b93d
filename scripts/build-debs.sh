#!/bin/bash
# build-debs.sh [OUTDIR] — builds the Debian packages (mmapfs, libmmapioN,
# libmmapio-dev) with `dpkg-buildpackage -b -us -uc` in a clean copy of the
# source (the files git tracks or would, as in the working tree; the whole
# tree when it is not a git checkout) and puts the .deb files and the
# .buildinfo/.changes in OUTDIR (default: build-deb/, ignored by git).
# Then runs lintian on them when it is installed. Install with
#   apt install ./build-deb/mmapfs_*.deb ./build-deb/libmmapio1_*.deb
# DEB_BUILD_OPTIONS=nocheck skips the unit tests (dh_auto_test runs only
# those), parallel=N builds with N jobs (default: the number of CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$(realpath -m "${1:-build-deb}")
mkdir -p "$out"

work=$(mktemp -d "${TMPDIR:-/tmp}/mmapfs-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/mmapfs"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked and new (not ignored) files, as in the working tree; deleted
	# ones skipped
	git -C "$src" ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
		[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
	done | tar -C "$src" --null -T - -cf - | tar -C "$work/mmapfs" -xf -
else
	tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . |
		tar -C "$work/mmapfs" -xf -
fi

: "${DEB_BUILD_OPTIONS:=parallel=$(nproc)}"
export DEB_BUILD_OPTIONS
(cd "$work/mmapfs" && dpkg-buildpackage -b -us -uc)

rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mv "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
echo "== packages in $out"
ls -l "$out"/*.deb
if command -v lintian >/dev/null; then
	echo "== lintian"
	lintian --display-info "$out"/*.changes
fi
