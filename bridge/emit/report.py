"""REPORT.md: what a reviewer reads in a minute — a per-task table, the diagnostics, and the DAG
beside the pipeline as mermaid pictures."""

from __future__ import annotations

from typing import Any

from bridge.emit.deploy import BUILDSPEC, DEPLOY_DIR, workflow_name
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
    lines += ["", "## DAG settings", ""]
    if manifest["dag_differences"]:
        lines.append("What SageMaker does not keep of the DAG's own settings:")
        lines.append("")
        lines += [f"- {_cell(d)}" for d in manifest["dag_differences"]]
    else:
        lines.append("Nothing lost.")
    lines += files_between_steps(manifest)
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
    lines += _images(manifest)
    schedule = manifest["pipeline"]["schedule"]
    lines += ["", f"Schedule: {_schedule_text(schedule, dag)}", "", "## Diagnostics", ""]
    if manifest["diagnostics"]:
        for d in manifest["diagnostics"]:
            lines.append(
                f"- {d['code']} ({d['severity']}, line {d['line']}): {_cell(d['message'])}"
            )
    else:
        lines.append("None.")
    lines += deploying(manifest["pipeline"]["name"])
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


def deploying(pipeline: str) -> list[str]:
    """How to deploy the pipeline from CI with the files of deploy/ and iam/."""
    workflow = f"{DEPLOY_DIR}/{workflow_name(pipeline)}"
    return [
        "",
        "## Deploying",
        "",
        f"- {md_code(workflow)}: a GitHub Actions workflow. Copy it to `.github/workflows/` at "
        "the root of your repository. On a push to main that changes this folder it runs "
        '`bridge validate`, then `python pipeline.py --upsert --role "$SAGEMAKER_ROLE_ARN"`. Set '
        "the repository variables `AWS_REGION`, `AWS_DEPLOY_ROLE_ARN` (a role GitHub's OIDC "
        "provider may assume, with `iam/deploy-role-policy.json`) and `SAGEMAKER_ROLE_ARN` (the "
        "execution role); `PIPELINE_DIR` in it is this folder's path from the repository root.",
        f"- `{DEPLOY_DIR}/{BUILDSPEC}`: the same steps for AWS CodeBuild; its header says how to "
        "set up the project and a webhook for pushes to main.",
        "- `iam/` (written by `bridge validate`): least-privilege policies derived from "
        "`definition.json` for the execution role, the scheduler role and the deploy role, "
        "their trust policies, and two guard rails (no SageMaker job outside a VPC, none without "
        "network isolation). `iam/README.md` says how to create the roles.",
    ]


def _images(manifest: dict[str, Any]) -> list[str]:
    """Which image (or Lambda runtime) runs the steps' code, with its Python: a step gets a newer
    image than configured when its script needs it (the task's notes say why)."""
    by_image: dict[tuple[str, str, str], list[str]] = {}
    for name, step in manifest["steps"].items():
        image = step.get("image") or {}
        if image.get("runtime"):
            key = ("Lambda", image["runtime"])
        elif image.get("uri"):
            key = ("image URI", image["uri"])
        elif image:
            key = (image["framework"], image["version"])
        else:
            continue
        by_image.setdefault((*key, step["python"] or "unknown"), []).append(name)
    if not by_image:
        return []
    lines = ["", "## Images", ""]
    lines += ["| framework | version | Python | steps |", "|---|---|---|---|"]
    for (framework, version, python), names in sorted(by_image.items()):
        shown = ", ".join(md_code(n, table=True) for n in names[:10])
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        lines.append(
            f"| {_cell(framework)} | {md_code(version, table=True)} | {_cell(python)} | "
            f"{shown}{more} |"
        )
    return lines


def files_between_steps(manifest: dict[str, Any]) -> list[str]:
    """The worker folders tasks share, as job inputs and outputs (empty when none is shared)."""
    rows = []
    for task_id, t in manifest["tasks"].items():
        for name in t["steps"]:
            for f in manifest["steps"][name].get("folders") or []:
                sources = ([md_code(f["repository"], table=True)] if f["repository"] else []) + [
                    md_code(s, table=True) for s in f["inputs_from"]
                ]
                step = "" if name == task_id else f" (step {md_code(name, table=True)})"
                output = md_code(f["output"], table=True) if f["output"] else "—"
                rows.append(
                    f"| {md_code(task_id, table=True)}{step} | {_where(f)} | "
                    f"{', '.join(sources) or '—'} | {output} |"
                )
    if not rows:
        return []
    return [
        "",
        "## Files between steps",
        "",
        "Each job has its own disk: a folder a task writes is uploaded as a job output under the "
        "execution's prefix, and a later step copies it in from the outputs of the steps before "
        "it (later ones win), where the task's code expects it.",
        "",
        "| task | folder on the worker | staged from | job output |",
        "|---|---|---|---|",
        *rows,
    ]


def _where(folder: dict[str, Any]) -> str:
    if folder["kind"] == "env":
        return md_code("$" + folder["path"], table=True)
    if folder["kind"] == "dag":
        return f"{md_code(folder['path'] or '.', table=True)} next to the DAG file"
    return md_code(folder["path"], table=True)


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
