#!/bin/sh
# test.sh — the whole test suite, from a fresh Debian 12 machine (as root):
# installs dependencies, then
#   1. optimized build with -Werror, cmocka unit tests;
#   2. AddressSanitizer/UBSan build, cmocka unit tests again;
#   3. pytest integration tests that mount the real filesystem, first with
#      the ASan/UBSan daemon, then with the optimized daemon (the run that
#      ends the output with pytest's summary line).
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
echo "== integration tests (daemon under ASan/UBSan)"
MMAPFS_BUILD=build-asan $PYTEST -q -p no:cacheprovider tests/integration
echo "== integration tests (optimized daemon)"
MMAPFS_BUILD=build $PYTEST -p no:cacheprovider tests/integration
