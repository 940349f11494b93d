#!/bin/sh
# install-deps.sh — installs every Debian 12 package mmapfs needs to build,
# test, benchmark, fuzz and package (debhelper, lintian). Idempotent:
# does nothing when all are present. Run as root.
set -eu

PACKAGES="meson ninja-build pkg-config gcc clang libclang-rt-14-dev \
libfuzzer-14-dev libfuse3-dev liburing-dev fuse3 libinih-dev libcmocka-dev libmicrohttpd-dev \
python3 python3-pytest python3-pytest-timeout python3-pyfuse3 attr acl fio mergerfs bindfs gnuplot-nox util-linux \
procps psmisc strace prometheus debhelper dpkg-dev lintian bash-completion"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
fi

# FUSE needs its device node; a fresh container may lack the module loaded.
if [ ! -e /dev/fuse ]; then
	modprobe fuse 2>/dev/null || true
fi
[ -e /dev/fuse ] || { echo "install-deps: /dev/fuse is missing; FUSE cannot work here" >&2; exit 1; }
