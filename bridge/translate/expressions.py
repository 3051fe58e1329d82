"""Pipeline values: what an Airflow argument becomes in the SageMaker pipeline.

A task argument is a literal, or something only known at run time: a pipeline Parameter, an
execution variable, an upstream step's output, or a string joining several of these. These small
typed objects are that intermediate form: rules and the template translator produce them, the
emitter renders them as SDK source (`python_source`), and the manifest records them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """A pipeline Parameter (`ParameterString("name")` ...), declared once per pipeline."""

    name: str


@dataclass(frozen=True)
class ExecVar:
    """`ExecutionVariables.<name>`, e.g. PIPELINE_EXECUTION_ID, START_DATETIME."""

    name: str


@dataclass(frozen=True)
class StepOutput:
    """An upstream task's XCom: `JsonGet` on the PropertyFile of the step it became.

    `path` is a JSONPath suffix inside that XCom value: "" for the whole value, ".rmse",
    "['a b']", "[0]".
    """

    task_id: str
    key: str = "return_value"
    path: str = ""


@dataclass(frozen=True)
class StepProperty:
    """A property of the step a task became: `<step>.properties.ModelName`."""

    task_id: str
    path: str  # dotted, e.g. "ModelName", "ModelArtifacts.S3ModelArtifacts"
    index: int = -1  # which of the task's steps (a config creating several resources)


@dataclass(frozen=True)
class Join:
    """A string built from parts at run time (`Join(on="", values=[...])`)."""

    parts: tuple[Expr, ...]


Expr = (
    Param
    | ExecVar
    | StepOutput
    | StepProperty
    | Join
    | str
    | int
    | float
    | bool
    | None
    | list
    | dict
)


def json_path_suffix(key: str | int) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    return f".{key}" if key.isidentifier() else f"['{key}']"


def is_dynamic(value: Any) -> bool:
    """True when the value (or something inside it) is only known at run time."""
    if isinstance(value, (Param, ExecVar, StepOutput, StepProperty, Join)):
        return True
    if isinstance(value, dict):
        return any(is_dynamic(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_dynamic(v) for v in value)
    return False


def to_json(value: Any) -> Any:
    """A JSON form for the manifest: {"param": ...}, {"execution": ...}, {"xcom": ...}, {"join": [...]}."""
    if isinstance(value, Param):
        return {"param": value.name}
    if isinstance(value, ExecVar):
        return {"execution": value.name}
    if isinstance(value, StepOutput):
        return {"xcom": {"task_id": value.task_id, "key": value.key, "path": value.path}}
    if isinstance(value, StepProperty):
        return {"property": {"task_id": value.task_id, "path": value.path}}
    if isinstance(value, Join):
        return {"join": [to_json(p) for p in value.parts]}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value
