"""Typed step specs: what a rule hands the emitter for each kind of step.

A rule builds one of these per `StepDraft`; the engine copies it into the `StepModel`, and the
emitter (bridge/emit) reads its attributes. Every class is `kw_only` and `slots`, so a misspelt
field is a TypeError where the spec is built instead of a key the emitter silently ignores. They
are frozen: code that changes a spec after a rule made it (the file of a step script, a branch's
targets) builds a new one with `dataclasses.replace`.

Values may hold pipeline expressions (bridge.translate.expressions); `to_dict` gives the old
dictionary form, leaving out optional fields that are unset (None, or nothing found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

from bridge.translate.files.model import Folder, TaskFiles


def _optional(default: Any = None) -> Any:
    """A field left out of `to_dict` while it has its default (None, nothing found)."""
    return field(default=default, metadata={"optional": True})


class _Spec:
    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.metadata.get("optional") and value == f.default:
                continue
            data[f.name] = _plain(value)
        return data


def _plain(value: Any) -> Any:
    """Nested specs and the data-contract dataclasses as dictionaries (tuples as lists)."""
    if isinstance(value, _Spec):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class FolderInput:
    """One job input of a shared folder: an upstream step's output of it, or the DAG's own copy."""

    local_path: str  # where the job mounts it (/opt/ml/processing/input/...)
    step: str | None = None  # the producer step; None: the DAG's own data (copied to inputs/)


@dataclass(frozen=True, kw_only=True, slots=True)
class FolderFlow:
    """A folder tasks share on the Airflow worker, as one step sees it on SageMaker.

    Before the call the step runtime copies `inputs` (in order: later producers' files win, as on a
    shared disk) into `work` and points the original location (`folder`) at it; when the step
    `writes` the folder, `work` is the job output `name`, uploaded under the execution's prefix.
    """

    name: str  # the job output's name: unique in the pipeline, readable ("bridge_file_handoff")
    folder: Folder
    work: str  # the output /opt/ml/processing/output/<name>, its one input, or a scratch folder
    writes: bool
    inputs: tuple[FolderInput, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ScriptSpec(_Spec):
    """The generated step script (steps/<file>) of a Processing step and how it calls the code."""

    mode: str  # python | bash | bash_callable | branch | short_circuit
    entry: str | None = None  # the function the runtime calls (None: bash, or not extractable)
    body: str | None = None  # the extracted source, or None
    pulls: list[str] | None = _optional()  # task ids the body xcom_pulls from
    map_keys: list[str] | None = _optional()  # a run-time mapped task's expanded argument names
    requirements: list[str] | None = _optional()  # pip requirements installed first
    python: str | None = _optional()  # the oldest Python its requirements run on ("3.11")
    targets: list[str] | None = _optional()  # a branch step's candidate task ids
    file: str | None = _optional()  # the script's file name under steps/ (set by the emitter)
    files: TaskFiles = _optional(TaskFiles())  # what it reads and writes (the file analysis)
    folders: tuple[FolderFlow, ...] = _optional(())  # its data contract (translate/data_flow.py)


@dataclass(frozen=True, kw_only=True, slots=True)
class ForEachPlan(_Spec):
    """A task mapped over a list known only at run time that becomes a ForEachStep: one child job
    per element of `task`'s XCom `key` (bridge/translate/for_each.py)."""

    argument: str  # the mapped argument of the callable
    task: str  # the upstream task whose XCom is the list
    key: str  # that XCom's key
    max_concurrency: int  # children running at once (SageMaker: 1..50)
    body: str  # the body step's name (children: <body>-<index>)


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessingSpec(_Spec):
    """A ProcessingStep running a step script through the bridge runtime."""

    script: ScriptSpec | None = _optional()
    for_each: ForEachPlan | None = _optional()  # set: the step is a ForEachStep around the job
    # The call as pipeline values: op_args, op_kwargs, templates_dict, context, params, reads
    # (upstream task ids whose XCom the step reads); bash: command, env, append_env.
    call: dict[str, Any] | None = _optional()
    image: str | None = _optional()  # python | bash


@dataclass(frozen=True, kw_only=True, slots=True)
class JobSpec(_Spec):
    """A SageMaker operator's job (Processing, Training, Transform, Tuning, Model, ...)."""

    job: str  # bridge.emit.jobs job name: processing, training, model, register_model, ...
    config: dict[str, Any]  # the request with pipeline values
    raw_config: Any  # the request as written in the DAG (the manifest's copy)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConditionSpec(_Spec):
    """A ConditionStep: the conditions it ANDs ({"op", "left", "right"} or {"op": "not", "inner"})."""

    conditions: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True, slots=True)
class FailSpec(_Spec):
    message: Any = _optional()  # None: "task <id> failed"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlaceholderSpec(_Spec):
    """A FailStep keeping an untranslated task's place; its source goes in a comment."""

    operator: str | None
    source: str | None = ""
    line: int | None = _optional()


@dataclass(frozen=True, kw_only=True, slots=True)
class LambdaSpec(_Spec):
    """A LambdaStep. `function`: {"arn"}, {"name", "region"?, "qualifier"?}, or {"create": {"file",
    "handler", "timeout"}} for a function the pipeline creates from a file under steps/."""

    function: Any = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)  # {"name", "type"}
    files: dict[str, str] | None = _optional()  # extra files under steps/: name -> text
    child_pipeline: str | None = _optional()  # the pipeline a trigger starts
    permissions: list[str] | None = _optional()  # IAM actions a created function's calls need


@dataclass(frozen=True, kw_only=True, slots=True)
class EMRSpec(_Spec):
    """An EMRStep: on a running cluster (`cluster_id`) or one SageMaker creates (`cluster_config`)."""

    cluster_id: Any = _optional()
    execution_role_arn: Any = _optional()
    cluster_config: dict[str, Any] | None = _optional()
    step: dict[str, Any]  # jar, args, main_class, properties
    description: str | None = _optional()


StepSpec = (
    ProcessingSpec | JobSpec | ConditionSpec | FailSpec | PlaceholderSpec | LambdaSpec | EMRSpec
)
SPEC_TYPES: tuple[type, ...] = (
    ProcessingSpec,
    JobSpec,
    ConditionSpec,
    FailSpec,
    PlaceholderSpec,
    LambdaSpec,
    EMRSpec,
)
_BY_KIND: dict[str, type] = {
    "Condition": ConditionSpec,
    "Fail": FailSpec,
    "Placeholder": PlaceholderSpec,
    "Lambda": LambdaSpec,
    "EMR": EMRSpec,
}


def spec_from_dict(kind: str, data: Mapping[str, Any]) -> StepSpec:
    """The typed spec of a dictionary spec (rules written before specs were typed): an unknown
    key is a TypeError."""
    data = dict(data)
    if kind in _BY_KIND:
        return _BY_KIND[kind](**data)
    if "job" in data:
        return JobSpec(**data)
    if isinstance(data.get("script"), Mapping):
        data["script"] = ScriptSpec(**data["script"])
    return ProcessingSpec(**data)


def script_of(spec: StepSpec) -> ScriptSpec | None:
    """The step script of a spec, if it has one."""
    return spec.script if isinstance(spec, ProcessingSpec) else None
