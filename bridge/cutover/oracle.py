"""Cutover, the oracle: the rewritten text parsed again must have the original graph with the
chosen tasks contracted into the new operator (plus the stand-ins), and nothing else changed."""

from __future__ import annotations

from pathlib import Path

from bridge.cutover.context import OPERATOR_CANONICAL, STANDIN_CANONICAL
from bridge.parse.model import DagModel


def expected_graph(graph, selection, new_id: str, standins, readers, skippable):
    """The original graph with the chosen tasks contracted into `new_id`, plus the stand-ins:
    op >> stand-in, stand-in >> each task that stays and reads its XComs (if it ran after it),
    stand-in >> each task after it when a migrated branch can skip it. Returns (graph, edges
    allowed in addition): op >> t where the stand-in leads to t, and edges between a stand-in
    and a task that stays which only repeat the original order (a stand-in in a task group is
    one of its roots or leaves)."""
    import networkx as nx

    chosen = set(selection)

    def m(t):
        return new_id if t in chosen else t

    g = nx.DiGraph()
    g.add_nodes_from(m(n) for n in graph.nodes)
    g.add_nodes_from(standins)
    optional: set[tuple[str, str]] = set()
    for u, v in graph.edges:
        if u in standins and v not in chosen and (v in readers.get(u, ()) or u in skippable):
            g.add_edge(u, v)
            optional.add((new_id, v))
        elif m(u) != m(v):
            g.add_edge(m(u), m(v))
    for t in standins:
        g.add_edge(new_id, t)
        for r in readers.get(t, ()):
            if nx.has_path(graph, t, r):
                g.add_edge(t, r)
        optional |= {(u, t) for u in nx.ancestors(graph, t) - chosen}
        optional |= {(t, v) for v in nx.descendants(graph, t) - chosen}
    return g, optional - set(g.edges)


def oracle(text: str, path: Path, model: DagModel, expected, tolerated, plan):
    """(missing edges, other problems) of the rewritten text against the expected graph."""
    from bridge.parse.dag_file import parse_source

    new_id = plan.full_id
    result = parse_source(text, str(path))
    problems = [f"{d.code} {d.message}" for d in result.diagnostics if d.severity == "error"]
    dag = next((d for d in result.dags if d.dag_id == model.dag_id), None)
    if dag is None:
        return set(), [*problems, f"DAG `{model.dag_id}` is gone"]
    got = dag.graph
    if set(got.nodes) != set(expected.nodes):
        extra = sorted(set(got.nodes) - set(expected.nodes))
        lost = sorted(set(expected.nodes) - set(got.nodes))
        problems.append(f"tasks differ (new: {extra}, lost: {lost})")
        return set(), problems
    if dag.tasks[new_id].operator != OPERATOR_CANONICAL:
        problems.append(f"`{new_id}` is a {dag.tasks[new_id].operator}")
    for tid, task in dag.tasks.items():
        if tid == new_id:
            continue
        old = model.tasks[tid]
        if tid in plan.standins:
            if task.operator != STANDIN_CANONICAL or task.group != old.group:
                problems.append(f"`{tid}` is not a MigratedTaskOutput in its group")
            continue
        for attr in ("operator", "group", "trigger_rule", "mapped"):
            if getattr(task, attr) != getattr(old, attr):
                problems.append(f"`{tid}` changed its {attr}")
    got_edges, want_edges = set(got.edges), set(expected.edges)
    problems += [f"edge {u} >> {v} is new" for u, v in sorted(got_edges - want_edges - tolerated)]
    missing = want_edges - got_edges
    ours = {new_id, *plan.standins}
    problems += [
        f"edge {u} >> {v} is missing" for u, v in sorted(missing) if u not in ours and v != new_id
    ]
    return missing, problems
