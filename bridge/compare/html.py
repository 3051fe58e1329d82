"""compare.html: the report of `bridge compare` as one self-contained page.

`render_html(comparison)` takes the content of compare.json and returns a single HTML page with
no network loads at all (inline CSS, inline SVG, a few lines of inline script): a header with the
verdict and both runs, the Airflow DAG beside the SageMaker pipeline with every node coloured by
its task's verdict, the per-task table (differences first) and the files table.

The two drawings are laid out here, not by a browser library: layers by longest path from a
source (networkx `topological_generations`), long edges routed through one waypoint per layer
they cross, a few barycenter sweeps to cut crossings, then each layer centred on its
predecessors; a graph deeper than eight layers wraps into rows. A graph with a cycle
(compare.json should never hold one) still renders: each cycle is cut at the edge that closes
it, and that edge is drawn dashed, against the flow.
All user text goes through escaping: the page template is autoescaped jinja2, and the SVG is
built from escaped fragments.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jinja2
import networkx as nx
from markupsafe import Markup

from bridge.quoting import html as _html_text

__all__ = ["render_html"]

VERDICTS = ("agree", "differ", "not_compared")
_VERDICT_WORDS = {"agree": "agree", "differ": "differ", "not_compared": "not compared"}
_ORDER = {"differ": 0, "not_compared": 1, "unknown": 2, "agree": 3}  # table: differences first
_PAGE_VERDICTS = {"equivalent", "different", "incomplete"}
_GOOD_STATUSES = {"succeeded", "success"}
_BAD_STATUSES = {"failed", "upstream_failed", "stopped", "error"}

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
class _Node:
    name: str
    verdict: str  # agree | differ | not_compared | unknown
    tooltip: str
    task: int | None = None  # index into comparison["tasks"], for links and highlighting
    subtitle: str = ""
    dashed: bool = False


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _svg(prefix: str, label: str, nodes: list[_Node], edges: list[tuple[str, str]]) -> Markup:
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


# --- the page -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _status_class(status: Any) -> str:
    word = _text(status).lower()
    return "good" if word in _GOOD_STATUSES else "bad" if word in _BAD_STATUSES else "neutral"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _unique(items: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(_text(i) for i in items if i is not None and _text(i) != ""))


def _edges(raw: Any) -> list[tuple[str, str]]:
    out = []
    for pair in raw or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            out.append((_text(pair[0]), _text(pair[1])))
    return list(dict.fromkeys(out))


def _task_rows(tasks: list[dict]) -> list[dict]:
    rows = []
    for i, t in enumerate(tasks):
        verdict = t.get("verdict") if t.get("verdict") in VERDICTS else "unknown"
        checks = [c for c in t.get("checks") or [] if isinstance(c, dict)]
        rows.append(
            {
                "index": i,
                "task_id": _text(t.get("task_id")),
                "steps": _unique(t.get("steps") or []),
                "verdict": verdict,
                "verdict_word": _VERDICT_WORDS.get(verdict, _text(t.get("verdict")) or "unknown"),
                "airflow_state": _text(t.get("airflow_state")) or "—",
                "pipeline_status": _text(t.get("pipeline_status")) or "—",
                "airflow_class": _status_class(t.get("airflow_state")),
                "pipeline_class": _status_class(t.get("pipeline_status")),
                "airflow_duration": _duration(t.get("airflow_duration")),
                "pipeline_duration": _duration(t.get("pipeline_duration")),
                "failed": [
                    {"check": _text(c.get("check")), "detail": _text(c.get("detail"))}
                    for c in checks
                    if not c.get("ok")
                ],
                "passed": [_text(c.get("check")) for c in checks if c.get("ok")],
                "reason": _text(t.get("reason")),
            }
        )
    return rows


def _details(row: dict) -> list[str]:
    lines = [
        f"Airflow: {row['airflow_state']} · {row['airflow_duration']}",
        f"Pipeline: {row['pipeline_status']} · {row['pipeline_duration']}",
    ]
    lines += [f"✗ {c['check']}: {c['detail']}" for c in row["failed"]]
    lines += [f"✓ {name}" for name in row["passed"]]
    if row["reason"]:
        lines.append(f"Reason: {row['reason']}")
    return lines


def _graph_nodes(comparison: dict, rows: list[dict]) -> tuple[list[_Node], list[_Node], dict]:
    graph = comparison.get("graph") or {}
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task_id"], row)
    dag_edges = _edges(graph.get("dag_edges"))
    pipe_edges = _edges(graph.get("pipeline_edges"))

    task_names = _unique(
        [
            *(graph.get("tasks") or []),
            *(r["task_id"] for r in rows),
            *(x for e in dag_edges for x in e),
        ]
    )
    step_task: dict[str, str] = {}
    for row in rows:
        for step in row["steps"]:
            step_task.setdefault(step, row["task_id"])
    for step, task in (graph.get("step_task") or {}).items():
        step_task[_text(step)] = _text(task)
    step_names = _unique(
        [
            *(graph.get("steps") or []),
            *(x for e in pipe_edges for x in e),
            *step_task,
            *(s for r in rows for s in r["steps"]),
        ]
    )

    left = []
    for name in task_names:
        row = by_task.get(name)
        if row is None:
            left.append(_Node(name, "unknown", f"task {name}\nno comparison record"))
            continue
        has_steps = bool(row["steps"]) or name in step_task.values()
        tip = [f"task {name} — {row['verdict_word']}"]
        tip.append("Steps: " + (", ".join(row["steps"]) if row["steps"] else "none"))
        left.append(
            _Node(
                name,
                row["verdict"],
                "\n".join(tip + _details(row)),
                row["index"],
                dashed=not has_steps,
            )
        )
    right = []
    for name in step_names:
        task = step_task.get(name, name if name in by_task else "")
        row = by_task.get(task)
        subtitle = f"← {task}" if task and task != name else ""
        if row is None:
            origin = f"from task {task}, which has no comparison record" if task else "no task"
            right.append(_Node(name, "unknown", f"step {name}\n{origin}", subtitle=subtitle))
            continue
        tip = [f"step {name}", f"from task {task} — {row['verdict_word']}"]
        right.append(
            _Node(name, row["verdict"], "\n".join(tip + _details(row)), row["index"], subtitle)
        )
    return left, right, {"dag": dag_edges, "pipeline": pipe_edges}


def _run(label: str, run: Any) -> dict:
    run = run if isinstance(run, dict) else {}
    return {
        "label": label,
        "present": bool(run),
        "engine": _text(run.get("engine")) or "—",
        "status": _text(run.get("status")) or "—",
        "status_class": _status_class(run.get("status")),
        "duration": _duration(run.get("duration")),
        "folder": _text(run.get("folder")),
        "partial": bool(run.get("partial")),
        "message": _text(run.get("message")),
    }


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _context(comparison: dict) -> dict:
    tasks = [t for t in comparison.get("tasks") or [] if isinstance(t, dict)]
    rows = _task_rows(tasks)
    left, right, edges = _graph_nodes(comparison, rows)
    files = []
    for f in comparison.get("files") or []:
        if isinstance(f, dict):
            files.append(
                {
                    "path": _text(f.get("path")),
                    "ok": bool(f.get("ok")),
                    "detail": _text(f.get("detail")),
                }
            )
    files.sort(key=lambda f: f["ok"])  # stable: differing files first, then in given order

    summary = comparison.get("summary") or {}
    counted = {v: sum(1 for r in rows if r["verdict"] == v) for v in VERDICTS}
    counts = {v: summary.get(v, counted[v]) for v in VERDICTS}
    files_agree = summary.get("files_agree", sum(1 for f in files if f["ok"]))
    files_differ = summary.get("files_differ", sum(1 for f in files if not f["ok"]))
    total = sum(c for c in counts.values() if isinstance(c, int))
    headline = [
        f"{counts['agree']} of {_plural(total, 'task', 'tasks')} agree",
        f"{counts['differ']} {'differs' if counts['differ'] == 1 else 'differ'}",
        f"{counts['not_compared']} not compared",
    ]
    if files:
        headline.append(
            f"files: {files_agree} agree, {files_differ} {'differs' if files_differ == 1 else 'differ'}"
        )

    verdict = _text(comparison.get("verdict")) or "unknown"
    runs = comparison.get("runs") or {}
    parameters = comparison.get("parameters")
    dag_label = f"Airflow DAG: {len(left)} tasks, {len(edges['dag'])} dependencies"
    pipe_label = f"SageMaker pipeline: {len(right)} steps, {len(edges['pipeline'])} dependencies"
    return {
        "dag_id": _text(comparison.get("dag_id")) or "(unnamed DAG)",
        "dag_file": _text(comparison.get("dag_file")),
        "verdict": verdict,
        "verdict_class": verdict if verdict in _PAGE_VERDICTS else "unknown",
        "ok": bool(comparison.get("ok")),
        "headline": " · ".join(headline),
        "logical_date": _text(comparison.get("logical_date")) or "—",
        "parameters": [(_text(k), _json(v)) for k, v in parameters.items()]
        if isinstance(parameters, dict)
        else [],
        "runs": [_run("Airflow", runs.get("airflow")), _run("Pipeline", runs.get("pipeline"))],
        "counts": counts,
        "files_agree": files_agree,
        "files_differ": files_differ,
        "dag_label": dag_label,
        "pipe_label": pipe_label,
        "dag_svg": _svg("dag", dag_label, left, edges["dag"]),
        "pipe_svg": _svg("pipe", pipe_label, right, edges["pipeline"]),
        "any_nostep": any(n.dashed for n in left),
        "any_unknown": any(n.verdict == "unknown" for n in left + right),
        "rows": sorted(rows, key=lambda r: (_ORDER[r["verdict"]], r["index"])),
        "files": files,
    }


_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ verdict|capitalize }} · {{ dag_id }} · bridge compare</title>
<style>
{% raw %}
:root {
  --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --paper: #ffffff; --wash: #f6f8fa;
  --agree: #1a7f37; --agree-bg: #dafbe1; --differ: #cf222e; --differ-bg: #ffebe9;
  --nc: #6e7781; --nc-bg: #eaeef2; --warn: #9a6700; --warn-bg: #fff8c5;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--wash); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 12.5px; }
header, section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  margin: 16px auto; max-width: 1600px; padding: 18px 22px; }
header { border-left: 8px solid var(--nc); }
header.equivalent { border-left-color: var(--agree); }
header.different { border-left-color: var(--differ); }
header.incomplete { border-left-color: var(--warn); }
.verdict { font-size: 34px; font-weight: 750; letter-spacing: .02em; text-transform: uppercase;
  line-height: 1.1; color: var(--nc); }
.equivalent .verdict { color: var(--agree); }
.different .verdict { color: var(--differ); }
.incomplete .verdict { color: var(--warn); }
h1 { font-size: 20px; margin: 6px 0 0; }
h2 { font-size: 17px; margin: 0 0 12px; }
h3 { font-size: 14px; margin: 0 0 6px; display: flex; gap: 8px; align-items: center; }
.sub { color: var(--muted); margin: 2px 0 10px; }
.headline { margin: 0 0 14px; font-weight: 600; }
.top { display: grid; grid-template-columns: minmax(220px, 1fr) 2fr; gap: 16px; }
.runs { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--wash); }
.card.partial { border-color: var(--warn); background: var(--warn-bg); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px;
  font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.badge.agree, .badge.good { color: var(--agree); background: var(--agree-bg); border-color: #aceebb; }
.badge.differ, .badge.bad { color: var(--differ); background: var(--differ-bg); border-color: #ffcecb; }
.badge.not_compared, .badge.unknown, .badge.neutral { color: var(--nc); background: var(--nc-bg); }
.badge.partial { color: var(--warn); background: var(--warn-bg); border-color: #d4a72c;
  text-transform: uppercase; letter-spacing: .04em; }
.message { margin: 6px 0 0; color: var(--ink); white-space: pre-wrap; overflow-wrap: anywhere; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 14px 0 0; padding: 0; list-style: none; }
.muted { color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; margin: 0 0 10px; color: var(--muted);
  font-size: 12.5px; }
.legend i { display: inline-block; width: 14px; height: 10px; border-radius: 3px;
  vertical-align: -1px; margin-right: 5px; border: 1.5px solid; }
.legend .agree { background: var(--agree-bg); border-color: var(--agree); }
.legend .differ { background: var(--differ-bg); border-color: var(--differ); }
.legend .not_compared { background: var(--nc-bg); border-color: var(--nc); }
.legend .unknown { background: #fff; border-color: var(--nc); border-style: dotted; }
.legend .nostep { background: #fff; border-color: var(--ink); border-style: dashed; }
.graphs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; }
.toggle { position: absolute; opacity: 0; pointer-events: none; }
.tools { display: inline-flex; gap: 6px; margin-left: auto; }
.tools label { border: 1px solid var(--line); border-radius: 6px; padding: 1px 9px; cursor: pointer;
  color: var(--ink); background: var(--paper); user-select: none; white-space: nowrap; }
#stacked:checked ~ .legend label[for="stacked"], #fit:checked ~ .legend label[for="fit"] {
  background: var(--ink); color: var(--paper); border-color: var(--ink); }
#stacked:checked ~ .graphs { grid-template-columns: minmax(0, 1fr); }
#fit:checked ~ .graphs svg.graph { min-width: 0 !important; }
.toggle:focus-visible ~ .legend .tools label { outline: 2px solid #0969da; }
figure { margin: 0; min-width: 0; border: 1px solid var(--line); border-radius: 6px; }
figcaption { padding: 7px 12px; border-bottom: 1px solid var(--line); background: var(--wash);
  font-weight: 600; border-radius: 6px 6px 0 0; }
.scroll { overflow: auto; max-height: 82vh; padding: 6px; }
svg.graph { display: block; width: 100%; height: auto; }
svg .edge { fill: none; stroke: #8c959f; stroke-width: 1.4; }
svg .edge.back { stroke-dasharray: 5 4; }
svg .arrowhead { fill: #8c959f; }
svg .node rect { stroke-width: 1.6; fill: #fff; stroke: var(--nc); }
svg .node.agree rect { fill: var(--agree-bg); stroke: var(--agree); }
svg .node.differ rect { fill: var(--differ-bg); stroke: var(--differ); stroke-width: 2.2; }
svg .node.not_compared rect { fill: var(--nc-bg); stroke: var(--nc); }
svg .node.unknown rect { stroke-dasharray: 2 3; }
svg .node.nostep rect { stroke-dasharray: 6 3; }
svg .node text { text-anchor: middle; pointer-events: none; }
svg .node .label { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: var(--ink); }
svg .node .subtitle { font: 10.5px system-ui, sans-serif; fill: var(--muted); }
svg a.node { cursor: pointer; }
svg .node:hover rect, svg .node.hl rect { stroke-width: 3.2; filter: drop-shadow(0 1px 2px rgba(0,0,0,.25)); }
.empty { color: var(--muted); padding: 16px; margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
th { background: var(--wash); font-size: 12.5px; color: var(--muted); font-weight: 600;
  position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.differ td:first-child { box-shadow: inset 4px 0 var(--differ); }
tr.not_compared td:first-child { box-shadow: inset 4px 0 var(--nc); }
tr.agree td:first-child { box-shadow: inset 4px 0 var(--agree); }
tr.hl td, tr:target td { background: #fff8c5; }
td ul { margin: 0; padding-left: 16px; }
td .check { font-weight: 600; }
.passed { color: var(--muted); font-size: 12.5px; }
.reason { margin: 0; color: var(--ink); }
.steps code { display: inline-block; margin: 0 4px 2px 0; }
footer { max-width: 1600px; margin: 0 auto 24px; padding: 0 22px; color: var(--muted); font-size: 12px; }
@media (max-width: 1100px) { .graphs, .top, .runs { grid-template-columns: minmax(0, 1fr); } }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; } .scroll { max-height: none; overflow: visible; }
  th { position: static; }
}
{% endraw %}
</style>
</head>
<body>
<header class="{{ verdict_class }}">
  <div class="verdict">{{ verdict }}</div>
  <h1>DAG <code>{{ dag_id }}</code></h1>
  <p class="sub">{% if dag_file %}<code>{{ dag_file }}</code> · {% endif %}compared {% if ok %}and everything agrees{% else %}with differences or gaps{% endif %}</p>
  <p class="headline">{{ headline }}</p>
  <div class="top">
    <dl class="kv">
      <dt>Logical date</dt><dd class="mono">{{ logical_date }}</dd>
      <dt>Parameters</dt>
      <dd>{% if parameters %}{% for name, value in parameters %}<code>{{ name }} = {{ value }}</code>{% if not loop.last %}<br>{% endif %}{% endfor %}{% else %}<span class="muted">none</span>{% endif %}</dd>
    </dl>
    <div class="runs">
      {% for run in runs %}
      <div class="card{% if run.partial %} partial{% endif %}">
        <h3>{{ run.label }} run{% if run.partial %} <span class="badge partial" title="Some steps could not run: this run is incomplete">partial run</span>{% endif %}</h3>
        {% if run.present %}
        <dl class="kv">
          <dt>Engine</dt><dd><code>{{ run.engine }}</code></dd>
          <dt>Status</dt><dd><span class="badge {{ run.status_class }}">{{ run.status }}</span></dd>
          <dt>Duration</dt><dd class="mono">{{ run.duration }}</dd>
          {% if run.folder %}<dt>Folder</dt><dd><code>{{ run.folder }}</code></dd>{% endif %}
        </dl>
        {% if run.message %}<p class="message">{{ run.message }}</p>{% endif %}
        {% else %}<p class="muted">No record of this run.</p>{% endif %}
      </div>
      {% endfor %}
    </div>
  </div>
  <ul class="counts">
    <li><span class="badge agree">{{ counts.agree }} agree</span></li>
    <li><span class="badge differ">{{ counts.differ }} differ</span></li>
    <li><span class="badge not_compared">{{ counts.not_compared }} not compared</span></li>
    {% if files %}<li><span class="badge {{ 'bad' if files_differ else 'good' }}">files: {{ files_agree }} agree, {{ files_differ }} differ</span></li>{% endif %}
  </ul>
</header>

<section id="graphs">
  <h2>DAG and pipeline</h2>
  <input type="checkbox" id="stacked" class="toggle">
  <input type="checkbox" id="fit" class="toggle">
  <div class="legend">
    <span><i class="agree"></i>agree</span>
    <span><i class="differ"></i>differ</span>
    <span><i class="not_compared"></i>not compared</span>
    {% if any_unknown %}<span><i class="unknown"></i>no comparison record</span>{% endif %}
    {% if any_nostep %}<span><i class="nostep"></i>task without a pipeline step</span>{% endif %}
    <span>Hover a node for details; click it to jump to its row.</span>
    <span class="tools"><label for="stacked">one above the other</label><label for="fit">fit to width</label></span>
  </div>
  <div class="graphs">
    <figure><figcaption>{{ dag_label }}</figcaption><div class="scroll">{{ dag_svg }}</div></figure>
    <figure><figcaption>{{ pipe_label }}</figcaption><div class="scroll">{{ pipe_svg }}</div></figure>
  </div>
</section>

<section id="tasks">
  <h2>Tasks</h2>
  {% if rows %}
  <table>
    <thead><tr>
      <th>Task</th><th>Steps</th><th>Verdict</th><th>Airflow state</th><th>Pipeline status</th>
      <th class="num">Airflow time</th><th class="num">Pipeline time</th><th>Details</th>
    </tr></thead>
    <tbody>
    {% for row in rows %}
    <tr id="task-{{ row.index }}" class="{{ row.verdict }}" data-task="{{ row.index }}">
      <td><code>{{ row.task_id }}</code></td>
      <td class="steps">{% for step in row.steps %}<code>{{ step }}</code>{% else %}<span class="muted">none</span>{% endfor %}</td>
      <td><span class="badge {{ row.verdict }}">{{ row.verdict_word }}</span></td>
      <td><span class="badge {{ row.airflow_class }}">{{ row.airflow_state }}</span></td>
      <td><span class="badge {{ row.pipeline_class }}">{{ row.pipeline_status }}</span></td>
      <td class="num">{{ row.airflow_duration }}</td>
      <td class="num">{{ row.pipeline_duration }}</td>
      <td>
        {% if row.failed %}<ul>{% for c in row.failed %}<li><span class="check">{{ c.check }}</span>: {{ c.detail }}</li>{% endfor %}</ul>{% endif %}
        {% if row.reason %}<p class="reason">{{ row.reason }}</p>{% endif %}
        {% if row.passed %}<span class="passed">✓ {{ row.passed|join(", ") }}</span>{% endif %}
      </td>
    </tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}<p class="muted">No tasks were compared.</p>{% endif %}
</section>

<section id="files">
  <h2>Files</h2>
  {% if files %}
  <table>
    <thead><tr><th>File</th><th>Result</th><th>Detail</th></tr></thead>
    <tbody>
    {% for f in files %}
    <tr class="{{ 'agree' if f.ok else 'differ' }}">
      <td><code>{{ f.path }}</code></td>
      <td><span class="badge {{ 'agree' if f.ok else 'differ' }}">{{ 'agree' if f.ok else 'differ' }}</span></td>
      <td>{{ f.detail }}</td>
    </tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}<p class="muted">No output files were compared.</p>{% endif %}
</section>
<footer>Generated by <code>bridge compare</code>. This page is self-contained: it loads nothing from the network.</footer>
<script>
{% raw %}
(function () {
  function mark(task, on) {
    document.querySelectorAll('[data-task="' + task + '"]').forEach(function (el) {
      el.classList.toggle("hl", on);
    });
  }
  document.querySelectorAll("[data-task]").forEach(function (el) {
    var task = el.getAttribute("data-task");
    el.addEventListener("mouseenter", function () { mark(task, true); });
    el.addEventListener("mouseleave", function () { mark(task, false); });
  });
})();
{% endraw %}
</script>
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(_PAGE)


def render_html(comparison: dict) -> str:
    """The comparison (compare.json's content) as one self-contained HTML page."""
    return _TEMPLATE.render(**_context(comparison if isinstance(comparison, dict) else {}))
