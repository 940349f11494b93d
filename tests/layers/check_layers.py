#!/usr/bin/env python3
"""check_layers.py SOURCE_ROOT [--expect N] — the daemon's layers call only
downward.

src/fs is built in layers, each a folder (highest first):

    daemon/    composition root: main, transport, signals
    handlers/  FUSE request handlers
    virtual/   control and stats files, virtual xattrs
    model/     inodes, descriptors, mappings, outside changes, config in force
    logic/     what knows no FUSE: config, parsers, formatters, log
    src/core   libmmapio

This check fails when
  1. a file includes the header of a higher layer (a layer may include its
     own folder's headers and those of any lower layer);
  2. logic/ or src/core includes a FUSE header, or src/core includes any
     daemon header;
  3. the .c files of src/fs, or those of src/core, call each other in a
     cycle (a function defined in one file and named in another, comments
     left out): within a layer, too, dependencies point one way;
  4. a group of fields of struct mmapfs_inode (model/inode.h: `struct
     mmapfs_inode_<group> <member>;`, each owned by the file named in its
     comment `owner: <layer>/<file>.c`) is written outside its owner (an
     assignment, ++/--, or an atomic store, exchange or fetch-op); others
     read a group under the lock its comment names, or call the owner.
Each failure is printed as FILE:LINE: message. Exit status 0 when clean
(with --expect N: when exactly N problems were found; the test suite runs
it so on tests/layers/bad, a tree that breaks each rule).
"""
import collections
import os
import re
import sys

import scc

LAYERS = ['logic', 'model', 'virtual', 'handlers', 'daemon']
RANK = {name: i for i, name in enumerate(LAYERS)}


def strip_comments(text):
    """The text with C comments blanked (line numbers kept)."""
    return re.sub(r'/\*.*?\*/',
                  lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text,
                  flags=re.S)


def sources(root, sub, exts=('.c', '.h')):
    base = os.path.join(root, sub)
    for dirpath, _, names in os.walk(base):
        for name in sorted(names):
            if name.endswith(exts):
                path = os.path.join(dirpath, name)
                yield os.path.relpath(path, root)


def read(root, rel):
    with open(os.path.join(root, rel), encoding='utf-8') as f:
        return f.read()


def check_includes(root, errors):
    for rel in sources(root, 'src/fs'):
        parts = rel.split(os.sep)
        layer = parts[2] if len(parts) > 3 else None
        if layer not in RANK:
            errors.append(f'{rel}:1: not in a layer folder ({", ".join(LAYERS)})')
            continue
        for no, line in enumerate(read(root, rel).splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+([<"])([^>"]+)[>"]', line)
            if not m:
                continue
            kind, name = m.groups()
            if kind == '<':
                if layer == 'logic' and name.startswith('fuse'):
                    errors.append(f'{rel}:{no}: logic/ includes the FUSE header {name}')
                continue
            top = name.split('/')[0] if '/' in name else None
            if top in RANK and RANK[top] > RANK[layer]:
                errors.append(f'{rel}:{no}: {layer}/ includes {name}, '
                              f'a header of the higher layer {top}/')
            if top is None and layer != 'logic' and name not in (
                    'mmapio.h', 'mmapfs_config.h'):
                errors.append(f'{rel}:{no}: include "{name}" names no layer '
                              f'(write "layer/{name}")')
    for rel in sources(root, 'src/core'):
        for no, line in enumerate(read(root, rel).splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+[<"]([^>"]+)[>"]', line)
            if not m:
                continue
            name = m.group(1)
            if name.startswith('fuse') or name.split('/')[0] in RANK:
                errors.append(f'{rel}:{no}: src/core includes {name}')


DEF_RE = re.compile(r'^(?!static\b)\w[\w \*]*?\b([A-Za-z_]\w*)\(([^;{]*?)\)\s*\{',
                    re.M | re.S)
VAR_RE = re.compile(r'^(?:const )?struct \w+ ((?:mmapfs|mmapio)_\w+)\s*[=;]',
                    re.M)


def call_graph(root, sub):
    files = [f for f in sources(root, sub, ('.c',))]
    texts = {f: strip_comments(read(root, f)) for f in files}
    defs = {}
    for f, text in texts.items():
        for m in list(DEF_RE.finditer(text)) + list(VAR_RE.finditer(text)):
            defs.setdefault(m.group(1), f)
    names = collections.defaultdict(set)
    for name, f in defs.items():
        names[f].add(name)
    edges = collections.defaultdict(dict)
    for f, text in texts.items():
        used = set(re.findall(r'\b([A-Za-z_]\w*)\b', text))
        for name in used:
            target = defs.get(name)
            if target and target != f:
                edges[f].setdefault(target, name)
    return files, edges


def check_cycles(root, errors, report):
    for sub in ('src/fs', 'src/core'):
        files, edges = call_graph(root, sub)
        found = scc.cycles({f: set(edges[f]) for f in files})
        report.append(f'{sub}: {len(files)} files, '
                      f'{sum(len(e) for e in edges.values())} file-to-file '
                      f'dependencies, {len(found)} cycles')
        for comp in found:
            members = set(comp)
            links = [f'{a} -> {b} ({edges[a][b]})' for a in comp
                     for b in edges[a] if b in members]
            errors.append(f'{comp[0]}:1: files that call each other in a '
                          f'cycle: {"; ".join(links)}')


# The constructor sets the first value of every group; after it, only the
# owner writes.
CONSTRUCTOR = ('src/fs/model/inode.c', 'inode_init_fields')


def blank_function(body, name):
    """body with the definition of function name blanked (lines kept)."""
    m = re.search(r'^\w[^\n;]*\b' + name + r'\([^;{]*\)\s*\{.*?^\}', body,
                  re.M | re.S)
    if not m:
        return body
    return body[:m.start()] + re.sub(r'[^\n]', ' ', m.group(0)) + body[m.end():]


def check_owners(root, errors):
    header = 'src/fs/model/inode.h'
    text = read(root, header)
    groups = {}
    for m in re.finditer(r'struct mmapfs_inode_\w+ (\w+);[^\n]*?owner: (\S+\.c)',
                         text):
        groups[m.group(1)] = 'src/fs/' + m.group(2)
    write = re.compile(r'\b(\w+)(?:->|\.)({})\.(\w+)(\s*(?:[-+*/|&^]?=(?!=)|\+\+|--)|'
                       r'\)?\s*,)'.format('|'.join(map(re.escape, groups)) or '$^'))
    atomic = re.compile(r'atomic_(?:store|exchange|fetch_\w+|init)\w*\(\s*&\s*\w+'
                        r'(?:->|\.)({})\.'.format('|'.join(map(re.escape, groups)) or '$^'))
    for rel in sources(root, 'src/fs', ('.c',)):
        body = strip_comments(read(root, rel))
        if rel == CONSTRUCTOR[0]:
            body = blank_function(body, CONSTRUCTOR[1])
        for no, line in enumerate(body.splitlines(), 1):
            for m in write.finditer(line):
                if m.group(4).strip().endswith(',') or m.group(4).strip() == ')':
                    continue
                owner = groups[m.group(2)]
                if rel != owner:
                    errors.append(f'{rel}:{no}: writes {m.group(2)}.{m.group(3)} '
                                  f'of struct mmapfs_inode, owned by {owner}')
            for m in atomic.finditer(line):
                owner = groups[m.group(1)]
                if rel != owner:
                    errors.append(f'{rel}:{no}: writes {m.group(1)}.* of struct '
                                  f'mmapfs_inode, owned by {owner}')
    return groups


def main():
    args = sys.argv[1:]
    expect = None
    if '--expect' in args:
        i = args.index('--expect')
        expect = int(args[i + 1])
        del args[i:i + 2]
    root = args[0] if args else os.path.join(os.path.dirname(__file__),
                                             '..', '..')
    errors, report = [], []
    check_includes(root, errors)
    check_cycles(root, errors, report)
    groups = check_owners(root, errors)
    for line in report:
        print(line)
    print(f'struct mmapfs_inode: {len(groups)} owned field groups')
    for e in errors:
        print(e)
    print(f'layers: {len(errors)} problems')
    if expect is not None:
        return 0 if len(errors) == expect else 1
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
