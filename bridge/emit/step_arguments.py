"""A script step's named arguments: each value the callable takes from the pipeline travels as
its own flag (`--learning-rate 0.5`), declared in the step script, which the step runtime puts
where Airflow's call has it (op_kwargs, params, templates_dict, context).

What a flag cannot carry stays in the runtime's general form (bridge/run/step_runtime.py):
XComs (`--xcom`), values nested in structures (`--set`), templated text (`--template`) and a
literal too long for one job argument (`--call`).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from bridge.emit.bash_files import bash_file
from bridge.translate.context_values import context_template
from bridge.translate.expressions import ExecVar, Join, Param, StepOutput, StepProperty
from bridge.translate.job_limits import MAX_ARGUMENT
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.step_specs import LambdaSpec, script_of

# The call's sections whose entries become flags, and each one's flag prefix.
SECTIONS = {
    "op_kwargs": "",
    "params": "param-",
    "templates_dict": "template-",
    "context": "context-",
}
# The run's start, from which the step derives the context values nobody passed (the DAG's
# schedule, the other input of that derivation, is part of the static call).
TOP_LEVEL = ("started",)
_RUN_TIME = (Param, ExecVar, Join, StepProperty)
_TYPES = {"Integer": "int", "Float": "float", "Boolean": "bool"}


@dataclass(frozen=True)
class Flag:
    """One named argument: `--<name>`, put at `path` in the call, read as `kind`."""

    flag: str
    path: tuple[str, ...]
    kind: str  # str | int | float | bool | json | xcom[:key] (the value names the task)


@dataclass(frozen=True)
class Named:
    flag: Flag
    value: Any  # a literal or a pipeline value (Param, Join, ...)


def flag_name(prefix: str, key: str) -> str:
    return "--" + prefix + (re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-").lower() or "value")


def value_kind(value: Any, pipeline: PipelineModel) -> str | None:
    """How the runtime reads the value back, or None when a flag cannot carry it."""
    if isinstance(value, Param):
        spec = pipeline.parameters.get(value.name)
        if getattr(spec, "json_text", False):
            return "json"
        return _TYPES.get(getattr(spec, "type", "String"), "str")
    if isinstance(value, _RUN_TIME):
        return "str"
    if isinstance(value, StepOutput):  # a whole XCom: the runtime reads it from its input
        if value.path:
            return None
        return "xcom" if value.key == "return_value" else f"xcom:{value.key}"
    if isinstance(value, str):
        return "str" if len(value.encode()) <= MAX_ARGUMENT else None
    if _has_run_time(value):
        return None
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return None
    return "json" if len(text.encode()) <= MAX_ARGUMENT else None


def _has_run_time(value: Any) -> bool:
    if isinstance(value, (*_RUN_TIME, StepOutput)):
        return True
    if isinstance(value, dict):
        return any(_has_run_time(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_run_time(v) for v in value)
    return False


def candidates(call: dict, pipeline: PipelineModel, body: str | None = None) -> list[Named]:
    """The call's entries a flag can carry, in a stable order: of the DAG's params, only those
    the callable reads (when its code shows which)."""
    found: list[Named] = []
    used = params_read(body) if body else None
    for section, prefix in SECTIONS.items():
        entries = call.get(section)
        if not isinstance(entries, dict):
            continue
        if section == "params" and used is not None:
            entries = {k: v for k, v in entries.items() if k in used}
        for key, value in entries.items():
            kind = value_kind(value, pipeline) if isinstance(key, str) else None
            if kind is not None and value is not None:
                found.append(Named(Flag(flag_name(prefix, key), (section, key), kind), value))
    for key in TOP_LEVEL:
        if key in call and call[key] is not None:
            kind = value_kind(call[key], pipeline)
            if kind is not None:
                found.append(Named(Flag(flag_name("", key), (key,), kind), call[key]))
    return found


@dataclass
class ArgumentPlan:
    """Per script file, the flags its steps share (one declaration in the script); per step,
    the values it passes."""

    declared: dict[str, dict[str, Flag]]  # script file -> flag -> Flag
    passed: dict[str, list[Named]]  # step name -> its named values
    # step name -> the call's entries the callable never reads (params it does not use)
    unused: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    # script file -> the static part of its steps' call (literals, shared folders), when they
    # all have the same: written into the script instead of travelling as `--call`/`--folder`
    static: dict[str, dict] = field(default_factory=dict)
    literal: dict[str, dict] = field(default_factory=dict)  # step name -> its static call
    dynamic: dict[str, list] = field(default_factory=dict)  # step name -> [(path, value)]


def plan_arguments(pipeline: PipelineModel) -> ArgumentPlan:
    """Flags for every script step. Steps sharing a script (mapped instances, branch copies)
    share its declaration: a value whose flag another step declared otherwise (a path or a
    type) stays in the general form."""
    plan = ArgumentPlan({}, {})
    statics: dict[str, list] = {}
    for step in sorted(pipeline.steps.values(), key=lambda s: s.name):
        script = script_of(step.spec)
        if script is None or not script.file:
            continue
        declared = plan.declared.setdefault(script.file, {})
        taken = {f.path: f.flag for f in declared.values()}
        passed = []
        for named in candidates(step.spec.call or {}, pipeline, script.body):
            if _rendered_late(named.value, step.spec.call or {}):
                continue
            if isinstance(named.value, StepOutput) and not _xcom_input(named.value, step, pipeline):
                continue
            flag = named.flag
            if flag.path in taken and declared[taken[flag.path]] != flag:
                continue
            if flag.path not in taken:
                flag = _free(flag, declared)
                declared[flag.flag] = flag
                taken[flag.path] = flag.flag
            passed.append(Named(flag, named.value))
        plan.passed[step.name] = passed
        used = params_read(script.body) if script.body else None
        params = (step.spec.call or {}).get("params")
        if used is not None and isinstance(params, dict):
            plan.unused[step.name] = [("params", k) for k in params if k not in used]
        literal, plan.dynamic[step.name] = static_call(step, passed, plan.unused.get(step.name, []))
        plan.literal[step.name] = literal
        statics.setdefault(script.file, []).append(literal)
    plan.static = {
        f: {k: v for k, v in calls[0].items() if k not in SHOWN}
        for f, calls in statics.items()
        if calls[0] and _same(calls)
    }
    return plan


# Kept in the job's arguments even when the script could hold them: the secrets a step reads
# (the definition shows them; iam/ grants exactly those).
SHOWN = ("secrets",)


def static_call(
    step: StepModel, passed: list[Named], unused: list[tuple[str, ...]]
) -> tuple[dict, list[tuple[list, Any]]]:
    """The step's call without what travels as flags, as its literal skeleton (run-time values
    as null, shared folders under "folders") and the run-time values with their paths."""
    script = script_of(step.spec)
    rest = remaining_call(step.spec.call or {}, passed, unused)
    rest.pop("reads", None)
    if (script.file or "").endswith(".sh") and bash_file(step) is not None:
        rest.pop("command", None)  # the script itself
    literal, dynamic = split_values(rest, [])
    if script.targets:
        literal["targets"] = script.targets
    literal = {k: v for k, v in literal.items() if v not in (None, {})}
    if script.folders:
        literal["folders"] = folder_specs(script.folders)
    return literal, dynamic


def split_values(value: Any, path: list) -> tuple[Any, list[tuple[list, Any]]]:
    """Literal skeleton (run-time values as null) and the run-time values with their paths."""
    if isinstance(value, (*_RUN_TIME, StepOutput)):
        return None, [(path, value)]
    if isinstance(value, dict):
        out, dyn = {}, []
        for k, v in value.items():
            out[k], more = split_values(v, [*path, k])
            dyn += more
        return out, dyn
    if isinstance(value, (list, tuple)):
        out_list, dyn = [], []
        for i, v in enumerate(value):
            item, more = split_values(v, [*path, i])
            out_list.append(item)
            dyn += more
        return out_list, dyn
    return value, []


def _same(items: list) -> bool:
    return all(item == items[0] for item in items)


def folder_specs(folders) -> list[dict]:
    """The shared folders as the runtime stages them (SharedFolder): kind, the original
    location, the work folder, and the job inputs copied into it, in order."""
    return [
        {
            "kind": f.folder.kind,
            "key": f.folder.key,
            "work": f.work,
            "inputs": [i.local_path for i in f.inputs],
        }
        for f in folders
    ]


def params_read(body: str) -> set[str] | None:
    """The keys of `params` the code reads, when every use is `params["key"]` or
    `params.get("key"...)`; None when it uses `params` otherwise (passes it on, iterates it)."""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    keys: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == "params"):
            continue
        if isinstance(node.ctx, ast.Store):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant):
            keys.add(str(parent.slice.value))
            continue
        grand = parents.get(parent)
        if (
            isinstance(parent, ast.Attribute)
            and parent.attr == "get"
            and isinstance(grand, ast.Call)
            and grand.args
            and isinstance(grand.args[0], ast.Constant)
        ):
            keys.add(str(grand.args[0].value))
            continue
        return None
    return keys


def producers(pipeline: PipelineModel, task_id: str, consumer: StepModel | None) -> list[StepModel]:
    """The script steps whose XCom output holds `task_id`'s value for this consumer (several
    for a task mapped over a literal; a branch copy reads its own copies' outputs)."""
    outcome = pipeline.outcomes.get(task_id)
    if outcome is None or (consumer is not None and task_id in consumer.dropped):
        return []
    steps = [pipeline.steps[n] for n in outcome.steps]
    steps = [s for s in steps if s.kind == "Processing" and script_of(s.spec) is not None]
    if consumer is not None and consumer.copy:
        same = [s for s in steps if consumer.copy.endswith(s.copy) and s.copy]
        return same or [s for s in steps if not s.copy]
    return [s for s in steps if not s.copy] or steps


def _xcom_input(value: StepOutput, step: StepModel, pipeline: PipelineModel) -> bool:
    """Whether the step reads this whole XCom from one of its inputs: not a LambdaStep's output
    (a step property), not a task that does not run on this branch copy's path (null)."""
    outcome = pipeline.outcomes.get(value.task_id)
    last = pipeline.steps[outcome.steps[-1]] if outcome and outcome.steps else None
    if last is not None and isinstance(last.spec, LambdaSpec):
        return False
    return value.task_id not in step.dropped and bool(producers(pipeline, value.task_id, step))


def _rendered_late(value: Any, call: dict) -> bool:
    """Text embedding context values the runtime derives when nobody passed them: it travels
    as template pieces (`--template`), rendered after the derivation."""
    return "started" in call and context_template(value) is not None


def _free(flag: Flag, declared: dict[str, Flag]) -> Flag:
    name, n = flag.flag, 2
    while name in declared or name in RESERVED:
        name, n = f"{flag.flag}-{n}", n + 1
    return Flag(name, flag.path, flag.kind)


# The runtime's own flags (bridge/run/step_runtime.py): never a named argument.
RESERVED = frozenset(
    {"--call", "--set", "--xcom", "--folder", "--folder-input", "--template", "--help"}
)


def remaining_call(call: dict, passed: list[Named], unused: list[tuple[str, ...]]) -> dict:
    """The call without the values that travel as flags and those the callable never reads."""
    call = _copy(call)
    for path in [n.flag.path for n in passed] + list(unused):
        target = call
        for key in path[:-1]:
            target = target[key]
        target.pop(path[-1], None)
    for section in SECTIONS:
        if call.get(section) == {} and section != "context":
            call.pop(section)
    return call


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
