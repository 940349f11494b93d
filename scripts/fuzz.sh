#!/bin/sh
# fuzz.sh TARGET SECONDS [libFuzzer options...] — builds the libFuzzer
# target tests/fuzz/fuzz_TARGET.c with clang (ASan + UBSan + libFuzzer) and
# runs it for SECONDS seconds on every core but one.
#   TARGET   config, ctl, ... (the part after "fuzz_")
#   SECONDS  how long to fuzz, e.g. 600
# Seeds come from tests/fuzz/corpus/TARGET/ (read only); inputs the fuzzer
# finds go to BUILD/fuzz-corpus/TARGET/, crashes to BUILD/fuzz-artifacts/,
# where BUILD is $FUZZ_BUILD (default build-fuzz). tests/fuzz/TARGET.dict is
# used as the dictionary when it exists. Exits non-zero when the fuzzer
# found a crash, leak, timeout or sanitizer report.
set -eu
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
	echo "usage: $0 TARGET SECONDS [libFuzzer options...]" >&2
	exit 2
fi
target=$1
seconds=$2
shift 2
build=${FUZZ_BUILD:-build-fuzz}
exe=$build/tests/fuzz/fuzz_$target

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzzers=true -Dtests=false \
		-Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$build" "tests/fuzz/fuzz_$target"

corpus=$build/fuzz-corpus/$target
artifacts=$build/fuzz-artifacts
mkdir -p "$corpus" "$artifacts"
set -- -max_total_time="$seconds" -artifact_prefix="$artifacts/$target-" \
	-print_final_stats=1 "$@"
if [ -f "tests/fuzz/$target.dict" ]; then
	set -- -dict="tests/fuzz/$target.dict" "$@"
fi
jobs=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
if [ "$jobs" -gt 1 ]; then
	set -- -fork="$jobs" "$@"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$exe" "$@" "$corpus" "tests/fuzz/corpus/$target"
