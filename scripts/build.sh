#!/bin/sh
# build.sh DIR [meson options...] — configures (once) and builds mmapfs in
# DIR. Re-running reconfigures with the given options. Idempotent.
set -eu
cd "$(dirname "$0")/.."
dir=$1
shift
if [ -f "$dir/build.ninja" ]; then
	meson configure "$dir" "$@" >/dev/null
else
	meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir"
