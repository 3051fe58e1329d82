"""What runs before what, as bit sets (Python ints) built in one pass in topological order: a
question about a pair of nodes is then a bit test, not a walk of the graph per node (which
grows with the square of a DAG). Used by validate's closure check and by the rules' "does this
task run before that one"."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def descendant_bits(
    nodes: Iterable[str], edges: Iterable[tuple[str, str]], mark: Callable[[str], int]
) -> dict[str, int]:
    """node -> the OR of `mark(d)` over every node d reachable from it (itself excluded).
    networkx.NetworkXUnfeasible when the edges form a cycle."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    below: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(g))):
        bits = 0
        for child in g.successors(node):
            bits |= mark(child) | below[child]
        below[node] = bits
    return below


def members(bits: int, items: list[str]) -> list[str]:
    """The items whose bit (their index) is set, in order."""
    found = []
    while bits:
        low = bits & -bits
        found.append(items[low.bit_length() - 1])
        bits ^= low
    return found
