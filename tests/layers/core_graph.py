#!/usr/bin/env python3
"""Checks that the dependency graph of src/core has no cycle.

Two graphs over the files of src/core, each must be acyclic:
  includes  file A -> header B when A has #include "B" (quoted includes
            of src/core headers only);
  calls     object A -> object B when A's object file references a symbol
            (a function or a variable) that B's object file defines, as nm
            reports them (U in A, T/D/B/R in B): every cross-file call,
            whatever the source spells, macros and inline functions
            expanded.
A cycle is printed as the files on it; the exit status is 1 then.
With --print, the edges and the strongly connected components are listed
(the counts quoted in reports).

Usage: core_graph.py SRC_CORE_DIR STATIC_LIB [--print]
"""

import os
import re
import subprocess
import sys

import scc


def include_graph(src):
    g = {}
    for name in sorted(os.listdir(src)):
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            text = f.read()
        deps = set(re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M))
        g[name] = {d for d in deps if os.path.exists(os.path.join(src, d))}
    return g


def call_graph(lib):
    out = subprocess.run(["nm", "-A", lib], check=True,
                         capture_output=True, text=True).stdout
    defined, used = {}, {}
    for line in out.splitlines():
        # libmmapio.a:file.c.o:0000000000000000 T mmapio_open
        m = re.match(r"^[^:]*:([^:]+\.o):\s*(\S*)\s+([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, _, kind, sym = m.groups()
        obj = os.path.basename(obj).replace(".c.o", ".c")
        if kind == "U":
            used.setdefault(obj, set()).add(sym)
        elif kind in "TDBRV":
            defined[sym] = obj
        used.setdefault(obj, set())
    g = {}
    for obj, syms in used.items():
        g[obj] = {defined[s] for s in syms if s in defined and defined[s] != obj}
    return g


def main():
    src, lib = sys.argv[1], sys.argv[2]
    show = "--print" in sys.argv[3:]
    bad = False
    for name, g in (("includes", include_graph(src)), ("calls", call_graph(lib))):
        cycles = scc.cycles(g)
        edges = sum(len(v) for v in g.values())
        if show:
            print(f"{name}: {len(g)} files, {edges} edges, "
                  f"{len(cycles)} cycle(s)")
            for v in sorted(g):
                print(f"  {v} -> {', '.join(sorted(g[v])) or '-'}")
        for c in cycles:
            print(f"{name} cycle: {' <-> '.join(c)}")
            bad = True
    if not bad:
        print("src/core: no include cycle, no call cycle")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
