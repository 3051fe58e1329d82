"""Render parse results: text for people, JSON for tools, mermaid and dot for pictures."""

from __future__ import annotations

import json
import re

from bridge.model import DagModel, FileResult


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
        lines.append(f"{r.path}")
        for dag in r.dags:
            lines.append(
                f"  DAG {dag.dag_id}  ({len(dag.tasks)} tasks, {len(dag.edges)} edges, schedule {_short(dag.schedule)})"
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
                after = f"  <- {', '.join(sorted(ups[tid]))}" if ups[tid] else ""
                lines.append(f"    {tid}  {short_op}{marks}  (line {task.line}){after}")
        for d in r.diagnostics:
            lines.append(f"  {d.code} {d.severity} line {d.line}: {d.message}")
        if live is not None and r.path in live:
            info = live[r.path]
            if info.get("error"):
                lines.append(f"  live: DagBag error: {info['error']}")
            for diff in info.get("differences", []):
                lines.append(f"  live: {diff}")
            if not info.get("error") and not info.get("differences"):
                lines.append("  live: static graph equals DagBag's")
    return "\n".join(lines)


def _short(value) -> str:
    if isinstance(value, dict) and "source" in value:
        return value["source"]
    return json.dumps(value)


def _node_id(task_id: str) -> str:
    return "t_" + re.sub(r"\W", "_", task_id)


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


def _quote(text: str) -> str:
    return text.replace('"', "'")


def to_mermaid(dag: DagModel) -> str:
    out = [f"%% DAG {dag.dag_id}", "flowchart LR"]

    def emit(node: dict, indent: str) -> None:
        for tid in node["tasks"]:
            task = dag.tasks[tid]
            label = tid.rsplit(".", 1)[-1] if task.group else tid
            shape = ("{{", "}}") if "branch" in task.operator.lower() else ("[", "]")
            out.append(f'{indent}{_node_id(tid)}{shape[0]}"{_quote(label)}"{shape[1]}')
        for gid, sub in node["groups"].items():
            out.append(
                f'{indent}subgraph {_node_id("g_" + gid)}["{_quote(gid.rsplit(".", 1)[-1])}"]'
            )
            emit(sub, indent + "  ")
            out.append(f"{indent}end")

    emit(_group_tree(dag), "  ")
    for e in dag.edges:
        arrow = "-.->" if e.kinds == {"data"} else "-->"
        label = f'|"{_quote(e.label)}"|' if e.label else ""
        out.append(f"  {_node_id(e.upstream)} {arrow}{label} {_node_id(e.downstream)}")
    return "\n".join(out)


def to_dot(dag: DagModel) -> str:
    out = [
        f'digraph "{_quote(dag.dag_id)}" {{',
        "  rankdir=LR;",
        "  node [shape=box, fontname=Helvetica];",
    ]

    def emit(node: dict, indent: str) -> None:
        for tid in node["tasks"]:
            task = dag.tasks[tid]
            label = tid.rsplit(".", 1)[-1] if task.group else tid
            shape = ", shape=diamond" if "branch" in task.operator.lower() else ""
            out.append(f'{indent}"{_quote(tid)}" [label="{_quote(label)}"{shape}];')
        for gid, sub in node["groups"].items():
            out.append(f'{indent}subgraph "cluster_{_quote(gid)}" {{')
            out.append(f'{indent}  label="{_quote(gid.rsplit(".", 1)[-1])}";')
            emit(sub, indent + "  ")
            out.append(f"{indent}}}")

    emit(_group_tree(dag), "  ")
    for e in dag.edges:
        attrs = []
        if e.kinds == {"data"}:
            attrs.append("style=dashed")
        if e.label:
            attrs.append(f'label="{_quote(e.label)}"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f'  "{_quote(e.upstream)}" -> "{_quote(e.downstream)}"{suffix};')
    out.append("}")
    return "\n".join(out)


def to_pictures(results: list[FileResult], fmt: str) -> str:
    draw = to_mermaid if fmt == "mermaid" else to_dot
    return "\n\n".join(draw(dag) for r in results for dag in r.dags)
