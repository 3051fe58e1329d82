"""The two drawings of compare.html: the Airflow DAG and the SageMaker pipeline as inline SVG.

The drawings are laid out here, not by a browser library: layers by longest path from a source
(networkx `topological_generations`), long edges routed through one waypoint per layer they
cross, a few barycenter sweeps to cut crossings, then each layer centred on its predecessors; a
graph deeper than eight layers wraps into rows. A graph with a cycle (compare.json should never
hold one) still renders: each cycle is cut at the edge that closes it, and that edge is drawn
dashed, against the flow.

The SVG is built from fragments in which every piece of DAG-derived text goes through
`bridge.quoting.html`; `draw` returns it as `Markup`, which the autoescaping page template
(html.py, templates/) inserts as is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from markupsafe import Markup

from bridge.quoting import html as _html_text

__all__ = ["Node", "draw"]

# Drawing geometry, in SVG user units (= CSS pixels at 100%).
_CHAR_W = 7.3  # 12px monospace
_MIN_NODE_W, _MAX_NODE_W = 96.0, 220.0
_PAD_X = 10.0
_GAP_X = 54.0
_GAP_Y = 14.0
_MARGIN = 14.0
_WAYPOINT_H = 6.0
_MIN_SCALE = 0.75  # a wide drawing shrinks to this before its panel scrolls
_MAX_LAYERS_PER_ROW = 8  # deeper graphs wrap into rows
_ROW_GAP = 44.0
_GUTTER = 34.0  # left of the first column, right of the last: the connectors between rows


# --- layout ---------------------------------------------------------------------------------


@dataclass
class _Layout:
    """Where each node's box goes (top-left corner) and the route of each edge."""

    boxes: dict[str, tuple[float, float]] = field(default_factory=dict)
    routes: list[tuple[str, str, str, str]] = field(default_factory=list)  # u, v, kind, path d
    width: float = 0.0
    height: float = 0.0


def _layer_of(g: nx.DiGraph, nodes: list[str]) -> dict[str, int]:
    """Layer = longest path from a source. A cycle is broken first, at the edge that closes it as
    a depth-first search from the sources finds it; that edge is then drawn against the flow."""
    try:
        dag = g
        while not nx.is_directed_acyclic_graph(dag):
            dag = dag.copy() if dag is g else dag
            starts = sorted(dag, key=lambda n: dag.in_degree(n) > 0)  # sources first, stable
            dag.remove_edge(*nx.find_cycle(dag, source=starts)[-1][:2])
        return {n: i for i, gen in enumerate(nx.topological_generations(dag)) for n in gen}
    except Exception:  # a drawing must never sink the report: plain input order, in columns
        return {n: i // 12 for i, n in enumerate(nodes)}


def _sweep(layer: list[Hashable], fixed: list[Hashable], neighbours: dict) -> None:
    """Sort `layer` by the mean position of each node's neighbours in `fixed` (stable)."""
    at = {n: i for i, n in enumerate(fixed)}
    here = {n: i for i, n in enumerate(layer)}

    def key(n: Hashable) -> float:
        seen = [at[m] for m in neighbours[n] if m in at]
        return sum(seen) / len(seen) if seen else float(here[n])

    layer.sort(key=key)


def _crossings(layers: list[list[Hashable]], succs: dict) -> int:
    total = 0
    for upper, lower in zip(layers, layers[1:], strict=False):
        at = {n: i for i, n in enumerate(lower)}
        pairs = [(i, at[m]) for i, n in enumerate(upper) for m in succs[n] if m in at]
        total += sum(1 for a, b in pairs for c, d in pairs if a < c and b > d)
    return total


def _layout(
    nodes: list[str], edges: list[tuple[str, str]], node_w: float, node_h: float
) -> _Layout:
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((u, v) for u, v in edges if u != v)
    layer = _layer_of(g, nodes)
    depth = max(layer.values(), default=-1) + 1
    layers: list[list[Hashable]] = [[] for _ in range(depth)]
    for n in nodes:
        layers[layer[n]].append(n)

    # Long edges get one waypoint per layer they cross, so they are ordered like nodes.
    preds: dict[Hashable, list[Hashable]] = defaultdict(list)
    succs: dict[Hashable, list[Hashable]] = defaultdict(list)
    chains: dict[tuple[str, str], list[Hashable]] = {}
    back: list[tuple[str, str]] = []
    for u, v in g.edges:
        if layer[v] <= layer[u]:
            back.append((u, v))
            continue
        chain: list[Hashable] = []
        previous: Hashable = u
        for i in range(layer[u] + 1, layer[v]):
            waypoint = ("waypoint", u, v, i)  # a tuple never equals a node name
            layers[i].append(waypoint)
            chain.append(waypoint)
            preds[waypoint].append(previous)
            succs[previous].append(waypoint)
            previous = waypoint
        preds[v].append(previous)
        succs[previous].append(v)
        chains[(u, v)] = chain

    best, fewest = [list(lay) for lay in layers], _crossings(layers, succs)
    for _ in range(6):
        if fewest == 0:
            break
        for i in range(1, depth):
            _sweep(layers[i], layers[i - 1], preds)
        for i in range(depth - 2, -1, -1):
            _sweep(layers[i], layers[i + 1], succs)
        count = _crossings(layers, succs)
        if count < fewest:
            best, fewest = [list(lay) for lay in layers], count
    layers = best

    def height(n: Hashable) -> float:
        return _WAYPOINT_H if isinstance(n, tuple) else node_h

    # Each layer stacked top to bottom, each node as close as it can get to the mean height of
    # its predecessors, then the whole layer shifted so it sits centred on them.
    top: dict[Hashable, float] = {}
    for lay in layers:
        wanted: dict[Hashable, float] = {}
        for n in lay:
            centres = [top[m] + height(m) / 2 for m in preds[n] if m in top]
            if centres:
                wanted[n] = sum(centres) / len(centres) - height(n) / 2
        cursor = 0.0
        placed: dict[Hashable, float] = {}
        for n in lay:
            placed[n] = max(wanted.get(n, cursor), cursor)
            cursor = placed[n] + height(n) + _GAP_Y
        shifts = [wanted[n] - placed[n] for n in wanted]
        shift = sum(shifts) / len(shifts) if shifts else 0.0
        for n in lay:
            top[n] = placed[n] + shift

    # A deep graph wraps: rows of at most _MAX_LAYERS_PER_ROW layers, one under the other; an
    # edge into the next row leaves its row on the right, runs back left in the gap between the
    # rows and comes down the left margin.
    rows = -(-depth // _MAX_LAYERS_PER_ROW) if depth else 1
    per_row = -(-depth // rows) if depth else 1
    stride = node_w + _GAP_X
    left0 = _MARGIN + (_GUTTER if rows > 1 else 0.0)
    row_right = left0 + min(per_row, max(depth, 1)) * stride - _GAP_X

    def col_x(lay: int) -> float:
        return left0 + (lay % per_row) * stride

    row_bottom: list[float] = []
    offset = _MARGIN
    for r in range(rows):
        members = [n for lay in layers[r * per_row : (r + 1) * per_row] for n in lay]
        lo = min((top[n] for n in members), default=0.0)
        hi = max((top[n] + height(n) for n in members), default=0.0)
        for n in members:
            top[n] += offset - lo
        row_bottom.append(offset + hi - lo)
        offset += hi - lo + _ROW_GAP

    def mid(n: Hashable) -> float:
        return top[n] + height(n) / 2

    out = _Layout()
    for n in nodes:
        out.boxes[n] = (col_x(layer[n]), top[n])
    bottom = row_bottom[-1] if row_bottom else _MARGIN
    right = row_right + (_GUTTER if rows > 1 else 0.0)

    for k, ((u, v), chain) in enumerate(chains.items()):
        lane = 4.0 * (k % 5)
        points = [(col_x(layer[u]) + node_w, mid(u), layer[u])]
        for waypoint in chain:
            lay = waypoint[3]
            points += [(col_x(lay), mid(waypoint), lay), (col_x(lay) + node_w, mid(waypoint), lay)]
        points.append((col_x(layer[v]) - 1.5, mid(v), layer[v]))
        d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
        for i, ((x0, y0, l0), (x1, y1, l1)) in enumerate(zip(points, points[1:], strict=False)):
            if i % 2:  # straight through a waypoint's layer
                d.append(f"L{x1:.1f},{y1:.1f}")
            elif l0 // per_row != l1 // per_row:  # on to the next row
                r, xr, xl = 8.0, row_right + 14 + lane, left0 - 14 - lane
                gap = row_bottom[l0 // per_row] + _ROW_GAP / 2 - 8 + lane
                d.append(
                    f"L{xr - r:.1f},{y0:.1f} Q{xr:.1f},{y0:.1f} {xr:.1f},{y0 + r:.1f} "
                    f"L{xr:.1f},{gap - r:.1f} Q{xr:.1f},{gap:.1f} {xr - r:.1f},{gap:.1f} "
                    f"L{xl + r:.1f},{gap:.1f} Q{xl:.1f},{gap:.1f} {xl:.1f},{gap + r:.1f} "
                    f"L{xl:.1f},{y1 - r:.1f} Q{xl:.1f},{y1:.1f} {xl + r:.1f},{y1:.1f} "
                    f"L{x1:.1f},{y1:.1f}"
                )
            else:
                bend = (x1 - x0) / 2
                d.append(f"C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        out.routes.append((u, v, "edge", " ".join(d)))

    # Edges against the flow (cycles only, dashed): between boxes of one layer, an arc out to the
    # right; back to an earlier layer, a loop under both boxes.
    for k, (u, v) in enumerate(back):
        (xu, yu), (xv, yv) = out.boxes[u], out.boxes[v]
        if layer[u] == layer[v]:
            reach = xu + node_w + 18 + 6 * (k % 4)
            d = (
                f"M{xu + node_w:.1f},{yu + node_h / 2 - 5:.1f} C{reach:.1f},{yu + node_h / 2 - 5:.1f} "
                f"{reach:.1f},{yv + node_h / 2 + 5:.1f} {xv + node_w + 1.5:.1f},{yv + node_h / 2 + 5:.1f}"
            )
            right = max(right, reach)
        else:
            lowest = max(row_bottom[layer[u] // per_row], row_bottom[layer[v] // per_row])
            dip = lowest + 16 + 6 * (k % 4)  # under every box of the row
            xu, xv = xu + node_w / 2 + 6, xv + node_w / 2 - 6
            d = (
                f"M{xu:.1f},{yu + node_h:.1f} C{xu:.1f},{dip:.1f} {xv:.1f},{dip:.1f} "
                f"{xv:.1f},{yv + node_h + 1.5:.1f}"
            )
            bottom = max(bottom, dip)
        out.routes.append((u, v, "edge back", d))
    for u, v in edges:
        if u == v and u in out.boxes:
            bx, by = out.boxes[u]
            cx, cy = bx + node_w, by + node_h / 2
            d = f"M{cx:.1f},{cy - 6:.1f} C{cx + 30:.1f},{cy - 26:.1f} {cx + 30:.1f},{cy + 26:.1f} {cx + 1.5:.1f},{cy + 6:.1f}"
            out.routes.append((u, u, "edge back", d))
            right = max(right, cx + 30)
    out.width = right + _MARGIN
    out.height = bottom + _MARGIN
    return out


# --- the drawings -----------------------------------------------------------------------------


@dataclass
class Node:
    """One box of a drawing: a task (left) or a step (right), coloured by its task's verdict."""

    name: str
    verdict: str  # agree | differ | not_compared | unknown
    tooltip: str
    task: int | None = None  # index into comparison["tasks"], for links and highlighting
    subtitle: str = ""
    dashed: bool = False


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def draw(prefix: str, label: str, nodes: list[Node], edges: list[tuple[str, str]]) -> Markup:
    """One graph as an `<svg>` element (ids prefixed with `prefix`, so two fit on one page)."""
    if not nodes:
        return Markup('<p class="empty">Nothing to draw.</p>')
    longest = max(len(n.name) for n in nodes)
    node_w = min(max(_CHAR_W * longest + 2 * _PAD_X, _MIN_NODE_W), _MAX_NODE_W)
    limit = int((node_w - 2 * _PAD_X) / _CHAR_W)
    subtitles = any(n.subtitle for n in nodes)
    node_h = 40.0 if subtitles else 30.0
    lay = _layout([n.name for n in nodes], edges, node_w, node_h)
    w, h = lay.width, lay.height

    def e(text: Any) -> str:  # SVG built by hand: every text through bridge.quoting
        return _html_text(text)

    parts = [
        f'<svg class="graph" id="{prefix}-graph" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" '
        f'height="{h:.0f}" style="max-width:{w:.0f}px;min-width:{w * _MIN_SCALE:.0f}px" '
        f'role="img" aria-label="{e(label)}">',
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,1 L9,5 L0,9 z" class="arrowhead"/></marker></defs>',
        '<g class="edges">',
    ]
    for u, v, kind, d in lay.routes:
        parts.append(
            f'<path class="{kind}" d="{d}" marker-end="url(#{prefix}-arrow)">'
            f"<title>{e(u)} → {e(v)}</title></path>"
        )
    parts.append('</g><g class="nodes">')
    for n in nodes:
        bx, by = lay.boxes[n.name]
        classes = f"node {n.verdict}" + (" nostep" if n.dashed else "")
        link = n.task is not None
        opening = (
            f'<a class="{classes}" href="#task-{n.task}" data-task="{n.task}" data-id="{e(n.name)}">'
            if link
            else f'<g class="{classes}" data-id="{e(n.name)}">'
        )
        parts.append(opening)
        parts.append(f"<title>{e(n.tooltip)}</title>")
        parts.append(
            f'<rect x="{bx:.1f}" y="{by:.1f}" width="{node_w:.0f}" height="{node_h:.0f}" rx="6" ry="6"/>'
        )
        cx = bx + node_w / 2
        if n.subtitle:
            parts.append(
                f'<text class="label" x="{cx:.1f}" y="{by + 17:.1f}">{e(_truncate(n.name, limit))}</text>'
                f'<text class="subtitle" x="{cx:.1f}" y="{by + 32:.1f}">'
                f"{e(_truncate(n.subtitle, int(limit * 1.15)))}</text>"
            )
        else:
            parts.append(
                f'<text class="label" x="{cx:.1f}" y="{by + node_h / 2 + 4:.1f}">'
                f"{e(_truncate(n.name, limit))}</text>"
            )
        parts.append("</a>" if link else "</g>")
    parts.append("</g></svg>")
    return Markup("".join(parts))
