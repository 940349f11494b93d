#!/bin/sh
# test.sh — the whole test suite, from a fresh Debian 12 machine (as root):
# installs dependencies, then
#   1. optimized build with -Werror, cmocka unit tests;
#   2. AddressSanitizer/UBSan build, cmocka unit tests again;
#   3. pytest integration tests that mount the real filesystem, on the
#      /dev/fuse transport with the ASan/UBSan daemon, then with the
#      optimized daemon;
#   4. when the kernel has FUSE over io_uring (Linux 6.14+: the fuse module
#      parameter enable_uring exists), the integration tests again on the
#      io_uring transport with the optimized daemon (the run that ends the
#      output with pytest's summary line). The parameter is set to Y for
#      that run and restored afterwards, also when a test fails (trap).
# Idempotent; exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

echo "== build (optimized, -Werror)"
./scripts/build.sh build -Dwerror=true
echo "== unit tests (optimized)"
meson test -C build --suite unit --print-errorlogs

echo "== build (ASan/UBSan)"
./scripts/build.sh build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
echo "== unit tests (ASan/UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-asan --suite unit --print-errorlogs

PYTEST="/usr/bin/python3 -m pytest"
echo "== integration tests (/dev/fuse, daemon under ASan/UBSan)"
MMAPFS_BUILD=build-asan MMAPFS_TRANSPORT=dev $PYTEST -q -p no:cacheprovider tests/integration
URING_PARAM=/sys/module/fuse/parameters/enable_uring
if [ ! -e "$URING_PARAM" ]; then
	echo "== integration tests (/dev/fuse, optimized daemon; this kernel has no FUSE over io_uring)"
	MMAPFS_BUILD=build MMAPFS_TRANSPORT=dev $PYTEST -p no:cacheprovider tests/integration
	exit 0
fi
echo "== integration tests (/dev/fuse, optimized daemon)"
MMAPFS_BUILD=build MMAPFS_TRANSPORT=dev $PYTEST -q -p no:cacheprovider tests/integration
echo "== integration tests (io_uring, optimized daemon)"
uring_saved=$(cat "$URING_PARAM")
trap 'echo "$uring_saved" > "$URING_PARAM"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo Y > "$URING_PARAM"
MMAPFS_BUILD=build MMAPFS_TRANSPORT=io_uring $PYTEST -p no:cacheprovider tests/integration
