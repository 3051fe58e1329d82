"""REPORT.md: what a reviewer reads in a minute — a per-task table, the diagnostics, and the DAG
beside the pipeline as mermaid pictures."""

from __future__ import annotations

from typing import Any

from bridge.parse.model import DagModel
from bridge.parse.render import to_mermaid
from bridge.quoting import md_code, md_text, mermaid_label
from bridge.translate.pipeline_model import PipelineModel

_MARK = {"exact": "exact", "approximate": "approximate", "manual": "**manual**"}


def build_report(manifest: dict[str, Any], pipeline: PipelineModel, dag: DagModel) -> str:
    summary = manifest["summary"]
    lines = [
        f"# {md_code(dag.dag_id)} → SageMaker pipeline {md_code(pipeline.name)}",
        "",
        f"Source: {md_code(manifest['source']['path'])} line {dag.line}. "
        f"{summary['tasks']} tasks → {summary['steps']} steps: "
        f"{summary['exact']} exact, {summary['approximate']} approximate, "
        f"{summary['manual']} manual.",
        "",
        "| task | operator | fate | fidelity | steps | rule | differences |",
        "|---|---|---|---|---|---|---|",
    ]
    for task_id, t in manifest["tasks"].items():
        operator = t["operator"].rsplit(".", 1)[-1] if "." in t["operator"] else t["operator"]
        differences = "<br>".join(_cell(d) for d in t["differences"] + t["notes"]) or ""
        steps = ", ".join(md_code(s, table=True) for s in t["steps"])
        lines.append(
            f"| {md_code(task_id, table=True)} (line {t['line']}) | {_cell(operator)} | "
            f"{t['fate']} | {_MARK[t['fidelity']]} | {steps} | {_cell(t['rule'])} | "
            f"{differences} |"
        )
    if any(s["copy"] for s in manifest["steps"].values()):
        lines += [
            "",
            "Steps with a `-via-<task>` suffix are copies of a join after a branch, one per branch: "
            "SageMaker does not run a step whose dependency did not run, so each branch gets its own.",
        ]
    lines += ["", "## Parameters", ""]
    if manifest["parameters"]:
        lines += ["| parameter | type | default | filled from |", "|---|---|---|---|"]
        for p in manifest["parameters"]:
            airflow = " " + md_code(p["airflow"], table=True) if p["airflow"] else ""
            lines.append(
                f"| {md_code(p['name'], table=True)} | {p['type']} | "
                f"{md_code(repr(p['default']), table=True)} | {p['source']}{airflow} |"
            )
    else:
        lines.append("None.")
    schedule = manifest["pipeline"]["schedule"]
    lines += ["", f"Schedule: {_schedule_text(schedule, dag)}", "", "## Diagnostics", ""]
    if manifest["diagnostics"]:
        for d in manifest["diagnostics"]:
            lines.append(
                f"- {d['code']} ({d['severity']}, line {d['line']}): {_cell(d['message'])}"
            )
    else:
        lines.append("None.")
    lines += [
        "",
        "## The DAG",
        "",
        "```mermaid",
        to_mermaid(dag).rstrip(),
        "```",
        "",
        "## The pipeline",
        "",
        "```mermaid",
        pipeline_mermaid(pipeline).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def pipeline_mermaid(pipeline: PipelineModel) -> str:
    ids = {name: f"s{i}" for i, name in enumerate(pipeline.steps)}
    lines = ["flowchart LR"]
    for name, step in pipeline.steps.items():
        shape = ("{", "}") if step.kind == "Condition" else ("[", "]")
        label = f"{mermaid_label(name)}<br/><i>{mermaid_label(step.kind)}</i>"
        lines.append(f'    {ids[name]}{shape[0]}"{label}"{shape[1]}')
    for u, v in pipeline.edges:
        side = pipeline.branch_sides.get((u, v))
        arrow = f" -- {side} --> " if side else " --> "
        lines.append(f"    {ids[u]}{arrow}{ids[v]}")
    return "\n".join(lines) + "\n"


def _schedule_text(schedule: dict | None, dag: DagModel) -> str:
    if schedule and schedule.get("expression"):
        return f"{md_code(schedule['expression'])} (from Airflow {md_code(dag.schedule)})"
    if schedule and schedule.get("problem"):
        return f"none — {md_text(schedule['problem'])}"
    return (
        "none (the DAG has no schedule)"
        if dag.schedule in (None, "None")
        else f"none ({md_code(dag.schedule)})"
    )


def _cell(text: str) -> str:
    """A message in a table cell (or list item): it may hold `code` spans of its own."""
    return md_text(text, table=True)
