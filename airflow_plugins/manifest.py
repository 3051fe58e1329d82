"""What the provider reads from a migration's `manifest.json` (written by `bridge translate`).

Plain functions over the JSON, no `bridge` import: the provider runs in Airflow workers where
only Airflow and boto3 are installed. The schema is documented in docs/manifest.md; the parts
used here are `steps[*].task_id`, `steps[*].folders`, `tasks[*].steps` and `parameters`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# SageMaker step statuses -> the Airflow word shown next to the original task id.
STEP_STATE = {
    "Starting": "running",
    "Executing": "running",
    "Stopping": "running",
    "Succeeded": "success",
    "Failed": "failed",
    "Stopped": "failed",
}
TERMINAL_EXECUTION = ("Succeeded", "Failed", "Stopped")
_PARAM_REF = re.compile(r"^\{\{\s*params\.(\w+)\s*\}\}$")


@dataclass(frozen=True)
class StepFolder:
    """A worker folder a step shares with other tasks (`steps.<step>.folders[]`): where the
    task had it (`kind` "path": an absolute path; "env": a variable naming it, `default` when
    unset; "dag": relative to the DAG file's folder) and the job output the step uploads it
    as when the step writes it."""

    name: str
    kind: str
    path: str
    default: str | None = None
    output: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The folder on the worker, whichever step names it."""
        return (self.kind, self.path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepFolder:
        return cls(
            name=str(data.get("name") or ""),
            kind=str(data.get("kind") or ""),
            path=str(data.get("path") or ""),
            default=data.get("default"),
            output=data.get("output"),
        )


@dataclass(frozen=True)
class Migration:
    """The manifest of one translated DAG, or an empty one (steps map to themselves)."""

    dag_id: str = ""
    pipeline_name: str = ""
    step_tasks: dict[str, str] = field(default_factory=dict)  # step name -> task id
    task_steps: dict[str, list[str]] = field(default_factory=dict)  # task id -> step names
    parameters: list[dict[str, Any]] = field(default_factory=list)
    step_folders: dict[str, tuple[StepFolder, ...]] = field(default_factory=dict)
    path: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str = "") -> Migration:
        steps = data.get("steps") or {}
        tasks = data.get("tasks") or {}
        return cls(
            dag_id=data.get("dag_id", ""),
            pipeline_name=(data.get("pipeline") or {}).get("name", ""),
            step_tasks={name: step.get("task_id") or name for name, step in steps.items()},
            task_steps={task: list(t.get("steps") or []) for task, t in tasks.items()},
            parameters=list(data.get("parameters") or []),
            step_folders={
                name: tuple(StepFolder.from_dict(f) for f in step.get("folders") or [])
                for name, step in steps.items()
                if step.get("folders")
            },
            path=path,
        )

    @classmethod
    def load(cls, path: str | Path) -> Migration:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"manifest {path} not found") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"manifest {path} is not JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    def task_of(self, step: str) -> str:
        """The Airflow task a step came from; a step the manifest does not know is its own."""
        return self.step_tasks.get(step, step)

    def steps_of(self, tasks: Iterable[str]) -> list[str]:
        unknown = [t for t in tasks if t not in self.task_steps]
        if unknown:
            raise ValueError(
                f"task(s) {', '.join(unknown)} not in the manifest {self.path or ''}; it has: "
                + ", ".join(sorted(self.task_steps))
            )
        return sorted({s for t in tasks for s in self.task_steps[t]})


ENV_PREFIX = "env_"  # the bridge names the parameter of environment variable X `env_X`


def pipeline_parameters(
    migration: Migration,
    render: Callable[[str], Any],
    overrides: dict[str, Any] | None = None,
    declared: set[str] | None = None,
) -> dict[str, str]:
    """Each pipeline parameter's value for this DAG run, as the API wants it (a string).

    `render` renders an Airflow template (`{{ ds }}`, `{{ params.epochs }}`) in the task's
    context. Overrides win; parameters the pipeline does not declare (when `declared` is
    known) are left out rather than refused, so an older manifest keeps working.
    """
    values: dict[str, str] = {}
    for spec in migration.parameters:
        if spec.get("source") == "environment" and spec["name"] not in (overrides or {}):
            # An environment variable the DAG file reads when Airflow parses it: this worker's.
            value = os.environ.get(spec["name"][len(ENV_PREFIX) :])
            if value is not None:
                values[spec["name"]] = value
            continue
        template = spec.get("airflow")
        if not template or spec["name"] in (overrides or {}):
            continue
        value = render(template)
        if value is None or value == "None":
            continue  # an unset DAG param: keep the pipeline's default
        values[spec["name"]] = api_value(value, spec)
    types = {spec["name"]: spec for spec in migration.parameters}
    for name, value in (overrides or {}).items():
        values[name] = api_value(value, types.get(name, {}))
    if declared is not None:
        values = {k: v for k, v in values.items() if k in declared}
    return values


def api_value(value: Any, spec: dict[str, Any]) -> str:
    """A parameter value as StartPipelineExecution takes it: JSON text for list/dict params
    (the steps decode them), lower-case booleans, str() otherwise."""
    if spec.get("json_text") or isinstance(value, dict | list):
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if isinstance(value, bool) or spec.get("type") == "Boolean":
        return str(value).lower()
    return str(value)


def task_states(migration: Migration, steps: list[dict[str, Any]]) -> dict[str, str]:
    """Per original task: the Airflow word for its steps' statuses (a task with several
    steps is failed if one failed, running while one runs, success when all succeeded)."""
    by_task: dict[str, list[str]] = {}
    for step in steps:
        state = STEP_STATE.get(step.get("StepStatus", ""), "running")
        by_task.setdefault(migration.task_of(step["StepName"]), []).append(state)
    order = ("failed", "running", "success")
    return {task: next(s for s in order if s in states) for task, states in sorted(by_task.items())}


def native_param(template: str) -> str | None:
    """`{{ params.x }}` -> "x": such values are taken from the context as they are (a list
    stays a list) instead of being rendered to their str()."""
    match = _PARAM_REF.match(template.strip())
    return match[1] if match else None
