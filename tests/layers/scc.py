"""scc.py — strongly connected components of a directed graph (Tarjan),
for the structure checks: a file graph has a cycle exactly when a
component has more than one node, or a node with an edge to itself.

graph: {node: iterable of successor nodes}; nodes only named as
successors count too. Returns the cyclic components, each sorted, in a
stable order.
"""

import sys


def cycles(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    nodes = set(graph)
    for succ in graph.values():
        nodes.update(succ)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out
