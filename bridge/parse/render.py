"""Render parse results: text for people, JSON for tools, mermaid and dot for pictures."""

from __future__ import annotations

import json
import re

from bridge.parse.model import DagModel, FileResult
from bridge.quoting import dot_string, mermaid_label, one_line


def to_json(
    results: list[FileResult], live: dict[str, dict] | None = None, full: bool = False
) -> str:
    """The stable summary view, or with `full` the whole DagModel of each file."""
    files = []
    for r in results:
        data = r.to_dict() if full else r.summary()
        if live is not None and r.path in live:
            data["live"] = live[r.path]
        files.append(data)
    return json.dumps({"files": files}, indent=2, sort_keys=False)


def to_text(results: list[FileResult], live: dict[str, dict] | None = None) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(one_line(r.path))
        for dag in r.dags:
            lines.append(
                f"  DAG {one_line(dag.dag_id)}  ({len(dag.tasks)} tasks, {len(dag.edges)} edges, "
                f"schedule {one_line(_short(dag.schedule))})"
            )
            ups: dict[str, list[str]] = {t: [] for t in dag.tasks}
            for e in dag.edges:
                ups[e.downstream].append(e.upstream)
            for tid in dag.task_order():
                task = dag.tasks[tid]
                short_op = task.operator.rsplit(".", 1)[-1] if not task.flavour else task.flavour
                marks = "".join(
                    m
                    for m, on in (
                        (" [mapped]", task.mapped),
                        (" [setup]", task.is_setup),
                        (" [teardown]", task.is_teardown),
                    )
                    if on
                )
                after = f"  <- {one_line(', '.join(sorted(ups[tid])))}" if ups[tid] else ""
                lines.append(
                    f"    {one_line(tid)}  {one_line(short_op)}{marks}  (line {task.line}){after}"
                )
        for d in r.diagnostics:
            lines.append(f"  {d.code} {d.severity} line {d.line}: {one_line(d.message)}")
        if live is not None and r.path in live:
            info = live[r.path]
            if info.get("error"):
                lines.append(f"  live: DagBag error: {one_line(info['error'])}")
            for diff in info.get("differences", []):
                lines.append(f"  live: {one_line(diff)}")
            if not info.get("error") and not info.get("differences"):
                lines.append("  live: static graph equals DagBag's")
    return "\n".join(lines)


def _short(value) -> str:
    if isinstance(value, dict) and "source" in value:
        return value["source"]
    return json.dumps(value)


class _NodeIds:
    """Mermaid node ids: `t_` and the id's ASCII letters, digits and `_`; ids that would share
    one (`a-b`, `a_b`) get a numeric suffix, so every task and group keeps its own node."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], str] = {}
        self.taken: set[str] = set()

    def __call__(self, task_id: str, *, group: bool = False) -> str:
        key = ("group" if group else "task", task_id)
        if key not in self.ids:
            text = f"g_{task_id}" if group else task_id
            base = "t_" + re.sub(r"[^A-Za-z0-9_]", "_", text)
            name, n = base, 2
            while name in self.taken:
                name, n = f"{base}_{n}", n + 1
            self.taken.add(name)
            self.ids[key] = name
        return self.ids[key]


def _group_tree(dag: DagModel) -> dict:
    """Nested dict of group ids -> {"tasks": [...], "groups": {...}} from the tasks' group ids."""
    tree: dict = {"tasks": [], "groups": {}}
    for task in dag.tasks.values():
        node = tree
        if task.group:
            parts = task.group.split(".")
            for i in range(len(parts)):
                gid = ".".join(parts[: i + 1])
                node = node["groups"].setdefault(gid, {"tasks": [], "groups": {}})
        node["tasks"].append(task.task_id)
    return tree


def to_mermaid(dag: DagModel) -> str:
    out = [f"%% DAG {one_line(dag.dag_id)}", "flowchart LR"]
    node = _NodeIds()

    def emit(tree: dict, indent: str) -> None:
        for tid in tree["tasks"]:
            task = dag.tasks[tid]
            label = tid.rsplit(".", 1)[-1] if task.group else tid
            shape = ("{{", "}}") if "branch" in task.operator.lower() else ("[", "]")
            out.append(f'{indent}{node(tid)}{shape[0]}"{mermaid_label(label)}"{shape[1]}')
        for gid, sub in tree["groups"].items():
            label = mermaid_label(gid.rsplit(".", 1)[-1])
            out.append(f'{indent}subgraph {node(gid, group=True)}["{label}"]')
            emit(sub, indent + "  ")
            out.append(f"{indent}end")

    emit(_group_tree(dag), "  ")
    for e in dag.edges:
        arrow = "-.->" if e.kinds == {"data"} else "-->"
        label = f'|"{mermaid_label(e.label)}"|' if e.label else ""
        out.append(f"  {node(e.upstream)} {arrow}{label} {node(e.downstream)}")
    return "\n".join(out)


def to_dot(dag: DagModel) -> str:
    out = [
        f"digraph {dot_string(dag.dag_id)} {{",
        "  rankdir=LR;",
        "  node [shape=box, fontname=Helvetica];",
    ]

    def emit(node: dict, indent: str) -> None:
        for tid in node["tasks"]:
            task = dag.tasks[tid]
            label = tid.rsplit(".", 1)[-1] if task.group else tid
            shape = ", shape=diamond" if "branch" in task.operator.lower() else ""
            out.append(f"{indent}{dot_string(tid)} [label={dot_string(label)}{shape}];")
        for gid, sub in node["groups"].items():
            out.append(f"{indent}subgraph {dot_string('cluster_' + gid)} {{")
            out.append(f"{indent}  label={dot_string(gid.rsplit('.', 1)[-1])};")
            emit(sub, indent + "  ")
            out.append(f"{indent}}}")

    emit(_group_tree(dag), "  ")
    for e in dag.edges:
        attrs = []
        if e.kinds == {"data"}:
            attrs.append("style=dashed")
        if e.label:
            attrs.append(f"label={dot_string(e.label)}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"  {dot_string(e.upstream)} -> {dot_string(e.downstream)}{suffix};")
    out.append("}")
    return "\n".join(out)


def to_pictures(results: list[FileResult], fmt: str) -> str:
    draw = to_mermaid if fmt == "mermaid" else to_dot
    return "\n\n".join(draw(dag) for r in results for dag in r.dags)
