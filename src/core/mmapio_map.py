#!/usr/bin/env python3
"""Writes the linker version script of libmmapio.so from mmapio.h.

Design: the public header is the one list of the library's API, so the
exported symbols are derived from it at build time: every function
declared there (a name mmapio_* followed by "(" outside comments) is
global in version MMAPIO_1, everything else (the private functions that
the unit tests reach through the static library) is local. A function
added to the header is exported without touching this file.

Usage: mmapio_map.py MMAPIO_H OUTPUT
"""

import re
import sys


def public_functions(header_text):
    code = re.sub(r"/\*.*?\*/", " ", header_text, flags=re.S)
    code = re.sub(r"//[^\n]*", " ", code)
    code = re.sub(r"^\s*#[^\n]*", " ", code, flags=re.M)
    return sorted(set(re.findall(r"\b(mmapio_\w+)\s*\(", code)))


def main():
    header, output = sys.argv[1], sys.argv[2]
    with open(header, encoding="utf-8") as f:
        names = public_functions(f.read())
    if not names:
        sys.exit(f"{header}: no mmapio_* function declarations found")
    with open(output, "w", encoding="utf-8") as f:
        f.write("/* Generated from mmapio.h by mmapio_map.py. */\n")
        f.write("MMAPIO_1 {\nglobal:\n")
        for name in names:
            f.write(f"\t{name};\n")
        f.write("local:\n\t*;\n};\n")


if __name__ == "__main__":
    main()
