"""The PipelineModel: SageMaker steps derived from a DagModel, and every task's fate.

The emitter renders it; the manifest is its JSON form. A task becomes zero (contracted), one or
several steps; when a branch's join tail is duplicated into each branch, a task also has one copy
per branch (`copy` is the name suffix, `dropped` the upstream tasks that copy does not wait for).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bridge.translate.step_specs import ProcessingSpec, StepSpec

Fidelity = Literal["exact", "approximate", "manual"]
Fate = Literal["step", "contracted", "placeholder", "merged"]

# SageMaker Pipelines step names: letters, digits, '-' and '_', at most 64 characters.
STEP_NAME_MAX = 64
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class StepModel:
    """One SageMaker step; `spec` is the rule's typed description for the emitter."""

    name: str
    kind: str  # Processing, Training, Transform, Tuning, Model, Lambda, Condition, Fail, EMR, Placeholder
    tasks: list[str]  # the task ids it came from (provenance)
    rule: str
    line: int
    spec: StepSpec = field(default_factory=ProcessingSpec)
    copy: str = ""  # "" or the branch-copy suffix ("-via-register_model")
    dropped: list[str] = field(default_factory=list)  # upstream tasks this copy does not wait for
    settings: dict[str, Any] = field(default_factory=dict)  # retries, timeout (task_settings)

    def to_dict(self) -> dict:
        from bridge.translate.expressions import to_json

        data = asdict(self)
        data["spec"] = to_json(self.spec.to_dict())
        return data


@dataclass
class TaskOutcome:
    """A task's fate: the manifest entry that accounts for it."""

    task_id: str
    operator: str
    line: int
    fate: Fate
    fidelity: Fidelity
    rule: str
    steps: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # why it is approximate or manual
    notes: list[str] = field(default_factory=list)  # how it was built, when not one-to-one

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PipelineModel:
    dag_id: str
    name: str
    steps: dict[str, StepModel] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)  # step name -> step name
    # Edges that leave a ConditionStep: the target runs in its if_steps or else_steps.
    branch_sides: dict[tuple[str, str], str] = field(default_factory=dict)
    outcomes: dict[str, TaskOutcome] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)  # name -> ParameterSpec
    schedule: dict[str, Any] | None = None  # {"kind": "cron"|"rate", "expression": ...}
    tags: list[str] = field(default_factory=list)
    max_parallel: int | None = None
    dag_differences: list[str] = field(default_factory=list)  # DAG settings SageMaker cannot keep
    diagnostics: list[Any] = field(default_factory=list)  # Diagnostic

    @property
    def graph(self):
        import networkx as nx

        g = nx.DiGraph(pipeline=self.name)
        for step in self.steps.values():
            g.add_node(step.name, step=step)
        g.add_edges_from(self.edges)
        return g

    def to_dict(self) -> dict:
        return {
            "dag_id": self.dag_id,
            "name": self.name,
            "steps": [s.to_dict() for s in self.steps.values()],
            "edges": [list(e) for e in self.edges],
            "tasks": [o.to_dict() for o in self.outcomes.values()],
        }

    def steps_of(self, task_id: str) -> list[StepModel]:
        return [self.steps[n] for n in self.outcomes[task_id].steps]


def step_name(task_id: str, taken: set[str]) -> str:
    """A valid, unique, stable SageMaker step name for a task id.

    Group separators become '-'; other invalid characters '_'. Names that would be too long or
    collide keep a readable prefix and end in a short hash of the task id, so they do not change
    when other tasks are added.
    """
    base = _INVALID.sub("_", task_id.replace(".", "-")).strip("_") or "step"
    name = base
    if len(name) > STEP_NAME_MAX or name in taken:
        digest = hashlib.sha1(task_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        name = f"{base[: STEP_NAME_MAX - 9]}-{digest}"
    n = 2
    while name in taken:  # a hash collision between two ids: vanishingly rare, still handled
        suffix = f"-{n}"
        name = f"{name[: STEP_NAME_MAX - len(suffix)]}{suffix}"
        n += 1
    taken.add(name)
    return name
