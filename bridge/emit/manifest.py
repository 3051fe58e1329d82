"""manifest.json: the task-by-task record of a translation (schema: docs/manifest.md).

The Airflow operator (issue 5) and the comparison runs (issue 4) read it: every task with its
fate, fidelity, rule and steps; every step with the task it came from; the pipeline parameters and
which Airflow context value fills each.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bridge.config import BridgeConfig
from bridge.emit.codegen_aws import LAMBDA_RUNTIME
from bridge.emit.images import LAMBDA_PYTHON, StepImage, step_images, version_text
from bridge.parse.model import DagModel
from bridge.quoting import one_line
from bridge.translate.pipeline_model import PipelineModel
from bridge.translate.step_specs import JobSpec, LambdaSpec, script_of

SCHEMA_VERSION = 1


def build_manifest(
    pipeline: PipelineModel, dag: DagModel, config: BridgeConfig, source_path: str
) -> dict[str, Any]:
    by_line: dict[int, list[dict]] = {}
    for d in pipeline.diagnostics:
        by_line.setdefault(d.line, []).append(d.to_dict())
    tasks = {}
    for task_id, outcome in pipeline.outcomes.items():
        task = dag.tasks[task_id]
        tasks[task_id] = {
            "operator": outcome.operator,
            "line": outcome.line,
            "group": task.group,
            "fate": outcome.fate,
            "fidelity": outcome.fidelity,
            "rule": outcome.rule,
            "steps": outcome.steps,
            "differences": outcome.differences,
            "notes": outcome.notes,
            "diagnostics": [
                d for d in by_line.get(outcome.line, []) if f"`{one_line(task_id)}`" in d["message"]
            ],
        }
    images = step_images(pipeline, config)
    steps = {
        s.name: {
            "kind": s.kind,
            "task_id": s.tasks[0],
            "copy": s.copy or None,
            "rule": s.rule,
            "line": s.line,
            "script": getattr(script_of(s.spec), "file", None) or _lambda(s).get("file"),
            "handler": _lambda(s).get("handler"),
            "job": _job(s, dag, config) if isinstance(s.spec, JobSpec) else None,
            **_image(s, images.get(s.name)),
            "folders": step_folders(s),
            **_permissions(s),
        }
        for s in pipeline.steps.values()
    }
    parameters = [p.to_dict() for p in sorted(pipeline.parameters.values(), key=lambda p: p.name)]
    fidelity = Counter(o.fidelity for o in pipeline.outcomes.values())
    return {
        "schema_version": SCHEMA_VERSION,
        "dag_id": dag.dag_id,
        "source": {"path": source_path, "line": dag.line},
        "pipeline": {
            "name": pipeline.name,
            "schedule": pipeline.schedule,
            "tags": pipeline.tags,
            "max_parallel_steps": pipeline.max_parallel,
            "region": config.region,
        },
        "parameters": parameters,
        "context_parameters": {
            p["airflow"]: p["name"] for p in parameters if p["source"] == "context"
        },
        "tasks": tasks,
        "steps": steps,
        "dag_differences": pipeline.dag_differences,
        "edges": [list(e) for e in pipeline.edges],
        "dag_edges": dag.edge_pairs(),
        "diagnostics": [d.to_dict() for d in pipeline.diagnostics],
        "summary": {
            "tasks": len(tasks),
            "steps": len(steps),
            "exact": fidelity["exact"],
            "approximate": fidelity["approximate"],
            "manual": fidelity["manual"],
        },
    }


def step_folders(step) -> list[dict[str, Any]]:
    """The worker folders a script step shares with others (bridge.translate.data_flow): where
    the task had it, the DAG's own copy it starts from (inputs/<name>), the steps whose outputs
    it stages on top, in order, and the job output it is when the step writes it."""
    return [
        {
            "name": f.name,
            "kind": f.folder.kind,
            "path": f.folder.key,
            "repository": f"inputs/{f.name}" if any(i.step is None for i in f.inputs) else None,
            "inputs_from": [i.step for i in f.inputs if i.step is not None],
            "output": f.name if f.writes else None,
            "local_path": f.work,
        }
        for f in getattr(script_of(step.spec), "folders", ())
    ]


def _image(step, choice: StepImage | None) -> dict[str, Any]:
    """The image (or Lambda runtime) that runs the step's code and its Python ("3.9"), which
    `bridge run` runs the step with; None for steps that run no code of the bridge's."""
    if choice is not None:
        return {"image": choice.image.to_dict(), "python": choice.image.python_text}
    if _lambda(step).get("file"):
        return {"image": {"runtime": LAMBDA_RUNTIME}, "python": version_text(LAMBDA_PYTHON)}
    return {"image": None, "python": None}


def _job(step, dag: DagModel, config: BridgeConfig) -> dict[str, Any]:
    """A SageMaker operator step's request as the DAG wrote it, and what the configuration adds
    (bridge.emit.jobs.practices): `bridge validate` compares the definition with both."""
    from bridge.emit.jobs.registry import job_practices

    practices = job_practices(config, dag.dag_id, step.tasks[0])
    return {"job": step.spec.job, "config": step.spec.raw_config, "practices": practices.to_dict()}


def _permissions(step) -> dict[str, Any]:
    """The IAM actions a created Lambda function's calls need (only steps that declare them)."""
    actions = step.spec.permissions if isinstance(step.spec, LambdaSpec) else None
    return {"permissions": list(actions)} if actions else {}


def _lambda(step) -> dict:
    """The Lambda function the bridge writes for a step (file under steps/, handler), if any."""
    function = step.spec.function if isinstance(step.spec, LambdaSpec) else None
    return (function.get("create") or {}) if isinstance(function, dict) else {}


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """manifest.json, the same bytes for the same record (translate writes it, validate adds
    the built definition's size)."""
    text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")
