#!/usr/bin/env python3
"""Checks what libmmapio's libraries export.

  libmmapio.so  its dynamic symbol table defines exactly the functions
                mmapio.h declares (the version script), nothing else;
  libmmapio.a   every global symbol it defines is either one of those or
                private: named mmapio__* (so a program linking the static
                library cannot collide with it) and of hidden visibility.

Prints a summary (the counts quoted in reports); exit status 1 on a
violation.

Usage: core_symbols.py MMAPIO_H LIBMMAPIO_A LIBMMAPIO_SO
"""

import re
import subprocess
import sys

# mmapio_map.py (src/core, beside the header it reads) lists the public
# functions the version script exports.
sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../../src/core")
from mmapio_map import public_functions  # noqa: E402


SANITIZER = ("__odr_asan", "__asan_", "__tsan_", "__ubsan_", "__sancov")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout


def main():
    header, lib_a, lib_so = sys.argv[1:4]
    with open(header, encoding="utf-8") as f:
        public = set(public_functions(f.read()))
    bad = []

    exported = set()
    for line in run("nm", "-D", "--defined-only", lib_so).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVW":
            exported.add(parts[2].split("@")[0])
    exported.discard("MMAPIO_1")
    for s in sorted(exported - public):
        bad.append(f"{lib_so}: exports private {s}")
    for s in sorted(public - exported):
        bad.append(f"{lib_so}: does not export {s}")

    static_globals = set()
    for line in run("nm", "-g", "--defined-only", lib_a).splitlines():
        parts = line.split()
        # Sanitizer instrumentation (ASan's ODR indicators) is the
        # compiler's, not ours.
        if len(parts) == 3 and not parts[2].startswith(SANITIZER):
            static_globals.add(parts[2])
    private = static_globals - public
    for s in sorted(private):
        if not s.startswith("mmapio__"):
            bad.append(f"{lib_a}: private symbol without the mmapio__ prefix: {s}")
    hidden = set()
    for line in run("readelf", "-sW", lib_a).splitlines():
        m = re.match(r"\s*\d+:\s+\S+\s+\d+\s+\S+\s+GLOBAL\s+(\S+)\s+(\S+)\s+(\S+)$",
                     line)
        if m and m.group(2) != "UND":
            if m.group(1) == "HIDDEN":
                hidden.add(m.group(3))
    for s in sorted(private - hidden):
        bad.append(f"{lib_a}: private symbol not hidden: {s}")
    for s in sorted(public & hidden):
        bad.append(f"{lib_a}: public symbol hidden: {s}")

    print(f"mmapio.h declares {len(public)} functions; {lib_so.rsplit('/', 1)[-1]} "
          f"exports {len(exported)} (version node MMAPIO_1); "
          f"{lib_a.rsplit('/', 1)[-1]} defines {len(static_globals)} global "
          f"symbols: {len(static_globals & public)} public, {len(private)} "
          f"private (mmapio__*, {len(private & hidden)} hidden)")
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
