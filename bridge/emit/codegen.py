"""The renderers of the pipeline's own step kinds (Processing, Condition, Fail, placeholders,
SageMaker jobs): each returns the statements that define the step's variable, its call left for
pipeline_body.py to close with what every step carries. Values are rendered by `Names.value`,
which knows the parameters and the steps emitted so far.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.bash_files import bash_file
from bridge.emit.codegen_foreach import foreach_applies, render_foreach
from bridge.emit.images import choose_image, image_constant
from bridge.emit.names import RENDERERS, Names, StepCode, renderer
from bridge.emit.step_arguments import SHOWN, value_kind
from bridge.translate.context_values import argument_parts, context_template
from bridge.translate.expressions import StepOutput
from bridge.translate.job_limits import MAX_INPUTS, argument_chunks
from bridge.translate.pipeline_model import StepModel
from bridge.translate.step_specs import (
    ConditionSpec,
    FailSpec,
    FolderFlow,
    JobSpec,
    PlaceholderSpec,
    script_of,
)

_FIXED_INPUTS = 2  # every script step's code and the bridge runtime
_py = quoting.py_literal
_COMPARISONS = {
    "==": "ConditionEquals",
    "<": "ConditionLessThan",
    "<=": "ConditionLessThanOrEqualTo",
    ">": "ConditionGreaterThan",
    ">=": "ConditionGreaterThanOrEqualTo",
}


@renderer("Processing")
def render_processing(step: StepModel, var: str, names: Names, config: BridgeConfig):
    if foreach_applies(step, names):  # a task mapped over a run-time list: codegen_foreach.py
        return render_foreach(step, var, names, config)
    script = script_of(step.spec)
    if script is None:
        return render_job(step, var, names, config)
    call = step.spec.call or {}
    names.need("from pipeline_support import Jobs")
    kwargs: dict[str, str] = {}
    image = image_constant(choose_image(step, config))
    if image != "PYTHON_IMAGE":  # the script steps' image (Jobs.image)
        kwargs["image"] = image
    if step.tasks[0] != step.name:
        kwargs["task_id"] = _py(step.tasks[0])
    inputs = []
    if reads_execution_xcoms(step, names):
        inputs.append("jobs.execution_xcoms()")
        steps = {t: [p.name for p in ps] for t, ps in xcom_producers(step, names).items() if ps}
        call = {**call, "xcom_steps": steps}  # where the runtime finds each task's XCom
    else:
        names.need("from pipeline_support import xcom_input") if call.get("reads") else None
        for task_id, producers in xcom_producers(step, names).items():
            for i, producer in enumerate(producers):
                index = f", {i}" if len(producers) > 1 else ""
                inputs.append(
                    f"xcom_input({names.step_vars[producer.name]}, {_py(task_id)}{index})"
                )
    folders = [_shared_folder(f, names) for f in script.folders]
    if folders:
        kwargs["folders"] = f"[{', '.join(folders)}]"
    kwargs.update(_script_arguments(step, call, names))
    if inputs:
        kwargs["inputs"] = f"[{', '.join(inputs)}]"
    override = config.override_for(step.tasks[0])
    if override.instance_type:
        kwargs["instance_type"] = _py(override.instance_type)
    env = call.get("env") if script.mode == "bash" else None
    if isinstance(env, dict) and env:
        kwargs["env"] = names.value(env, step)
    if step.settings.get("timeout"):
        kwargs["max_runtime"] = repr(step.settings["timeout"])
    return StepCode("jobs.script_step", [_py(step.name), _py(script.file)], kwargs)


def xcom_producers(step: StepModel, names: Names) -> dict[str, list[StepModel]]:
    """Each upstream task whose XCom the script step reads -> the steps holding its value for
    this step (several for a task mapped over a literal; a branch copy's own producers)."""
    return {t: names.producer(t, step) for t in (step.spec.call or {}).get("reads", [])}


def reads_execution_xcoms(step: StepModel, names: Names) -> bool:
    """Whether the script step mounts the execution's whole XCom prefix in one input: one input
    per upstream XCom, with its code, the runtime and its folder inputs, would take its job past
    the inputs SageMaker allows. Steps that fit keep one input per XCom, which also tells
    SageMaker the data dependency."""
    script = script_of(step.spec)
    if script is None:
        return False
    per_xcom = sum(len(p) for p in xcom_producers(step, names).values())
    folders = sum(len(f.inputs) for f in script.folders)
    return per_xcom > 1 and _FIXED_INPUTS + per_xcom + folders > MAX_INPUTS


def xcom_dependencies(step: StepModel, names: Names) -> list[str]:
    """The producer steps a step mounting the execution's XCom prefix must wait for: without
    their output properties in its inputs, only depends_on tells SageMaker."""
    if not reads_execution_xcoms(step, names):
        return []
    producers = xcom_producers(step, names).values()
    return list(dict.fromkeys(p.name for ps in producers for p in ps))


def _shared_folder(flow: FolderFlow, names: Names) -> str:
    """The step's use of a folder it shares: pipeline.py's constant for the folder (mounts,
    output, variable for the job), read or written after the upstream steps' copies. The
    runtime's side, where it stages them, is in the step script's call."""
    names.need("from pipeline_support import SharedFolder")
    constant = folder_constant(flow.name)
    env = f", env={_py(flow.folder.key)}" if flow.folder.kind == "env" else ""
    names.folders[constant] = f"SharedFolder({_py(flow.name)}{env})"
    args = [names.step_vars[i.step] for i in flow.inputs if i.step is not None]
    if any(i.step is None for i in flow.inputs):
        args.append("repository=True")
    return f"{constant}.{'write' if flow.writes else 'read'}({', '.join(args)})"


def folder_constant(name: str) -> str:
    """FILES_FOLDER for the folder `files` (an identifier however the DAG named it)."""
    return (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "SHARED") + "_FOLDER"


def _script_arguments(step: StepModel, call: dict, names: Names) -> dict[str, str]:
    """The step factory's arguments for the call: `arguments` (its named flags), `context`
    (the Airflow context values it uses: the factory adds the run's start, from which the step
    derives those nobody passed), and `runtime_arguments`, what only the runtime's general form
    carries (XComs nested in structures, templated text, a static call its script does not
    hold)."""
    plan = names.arguments
    named, context, general = [], {}, []
    for item in plan.passed.get(step.name, []):
        if item.flag.path[0] == "context":
            context[item.flag.path[1]] = names.as_string(item.value, step)
        elif item.flag.path == ("started",):
            continue
        elif isinstance(item.value, StepOutput):  # the task id: its XCom is one of the inputs
            named.append((_py(item.flag.flag), _py(item.value.task_id)))
        else:
            named.append((_py(item.flag.flag), _named_value(item.value, names, step)))
    script = script_of(step.spec)
    bash = bash_file(step) if (script.file or "").endswith(".sh") else None
    for name, value in bash.values if bash else ():  # pasted into steps/<task>.sh
        named.append((_py("--" + name.replace("_", "-")), names.as_string(value, step)))
    literal = dict(plan.literal.get(step.name, {}))
    if script.file in plan.static:  # the script holds it, but for what the definition shows
        literal = {k: v for k, v in literal.items() if k in SHOWN}
    if "xcom_steps" in call:  # where the runtime finds each task's XCom (execution prefix)
        literal["xcom_steps"] = call["xcom_steps"]
    if literal:
        text = json.dumps(literal, sort_keys=True, default=str)
        general += [a for chunk in argument_chunks(text) for a in (repr("--call"), repr(chunk))]
    general += _dynamic_arguments(step, call, plan.dynamic.get(step.name, []), names)
    kwargs = {}
    if named:
        kwargs["arguments"] = "{" + ", ".join(f"{k}: {v}" for k, v in named) + "}"
    if context or "started" in call:
        kwargs["context"] = "{" + ", ".join(f"{_py(k)}: {v}" for k, v in context.items()) + "}"
    if general:
        kwargs["runtime_arguments"] = f"[{', '.join(general)}]"
    return kwargs


def _dynamic_arguments(step: StepModel, call: dict, dynamic: list, names: Names) -> list[str]:
    """One --set / --xcom / --template per run-time value the flags do not carry."""
    args = []
    for path, value in dynamic:
        path_json = repr(json.dumps(path))
        if isinstance(value, StepOutput):
            lambda_output = None if value.task_id in step.dropped else names.lambda_output(value)
            if lambda_output is not None:  # a LambdaStep's declared output, as the value
                reference, as_json = lambda_output
                args += [repr("--set"), path_json, repr("json" if as_json else "str"), reference]
                continue
            if value.task_id in step.dropped or not names.producer(value.task_id, step):
                continue  # not run on this path (branch copy) or no output: the value stays null
            args += [repr("--xcom"), path_json, repr(value.task_id), repr(value.key)]
        elif "started" in call and (pieces := context_template(value)) is not None:
            args += _template_arguments(path, pieces, names, step)
        else:
            kind = _arg_type(value, names)
            args += [repr("--set"), path_json, repr(kind), names.as_string(value, step)]
    return args


def _named_value(value: Any, names: Names, step: StepModel) -> str:
    """A named argument's value: numbers as themselves (the step factory makes them text),
    other literals as their text or JSON, pipeline values as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str) or not isinstance(value, (dict, list, tuple, bool, type(None))):
        return names.as_string(value, step)
    return _py(json.dumps(value, sort_keys=True))


def _template_arguments(path: list, pieces: list, names: Names, step: StepModel) -> list[str]:
    """A templated string that embeds context values goes to the runtime as its pieces, which
    it renders after deriving the values nobody passed (a Join would embed ""): `--template`
    with the text and context names (in parts that fit a job argument), then a `--set` into
    each other run-time piece."""
    skeleton = [p if isinstance(p, (str, dict)) else None for p in pieces]
    args = []
    for part in argument_parts(skeleton):
        args += [repr("--template"), repr(json.dumps(path)), repr(json.dumps(part))]
    for i, piece in enumerate(pieces):
        if skeleton[i] is None:
            piece_path = repr(json.dumps([*path, i]))
            args += [repr("--set"), piece_path, repr("str"), names.as_string(piece, step)]
    return args


def _arg_type(value: Any, names: Names) -> str:
    """How the runtime reads a run-time value back: as a named argument would be read."""
    return value_kind(value, names.pipeline) or "str"


@renderer("Condition")
def render_condition(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    """Its sides are empty here: each branch target joins them once it is defined, after the
    condition (pipeline_body._branch_side)."""
    names.need("from sagemaker.mlops.workflow import ConditionStep")
    spec = step.spec
    assert isinstance(spec, ConditionSpec)
    conditions = [_condition(c, names, step) for c in spec.conditions]
    return StepCode(
        "ConditionStep", kwargs={"name": _py(step.name), "conditions": f"[{', '.join(conditions)}]"}
    )


def _condition(cond: dict, names: Names, step: StepModel) -> str:
    op = cond["op"]
    if op in ("not", "!="):  # SageMaker has no "not equal": ConditionNot(ConditionEquals)
        inner = cond["inner"] if op == "not" else {**cond, "op": "=="}
        names.need("from sagemaker.core.workflow.conditions import ConditionNot")
        return f"ConditionNot(expression={_condition(inner, names, step)})"
    if op == "or":
        names.need("from sagemaker.core.workflow.conditions import ConditionOr")
        inner = ", ".join(_condition(c, names, step) for c in cond["conditions"])
        return f"ConditionOr(conditions=[{inner}])"
    if op == "in":
        names.need("from sagemaker.core.workflow.conditions import ConditionIn")
        value, values = names.value(cond["value"], step), names.value(cond["values"], step)
        return f"ConditionIn(value={value}, in_values={values})"
    names.need(f"from sagemaker.core.workflow.conditions import {_COMPARISONS[op]}")
    left, right = names.value(cond["left"], step), names.value(cond["right"], step)
    return f"{_COMPARISONS[op]}(left={left}, right={right})"


@renderer("Fail")
def render_fail(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    names.need("from sagemaker.mlops.workflow import FailStep")
    message = step.spec.message if isinstance(step.spec, FailSpec) else None
    if message is None:
        message = f"task {step.tasks[0]} failed"
    message = names.value(message, step)
    return StepCode("FailStep", kwargs={"name": _py(step.name), "error_message": message})


@renderer("Placeholder")
def render_placeholder(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    """A FailStep that keeps the task's place: the pipeline builds, and stops here until a person
    replaces it. The original source is in the comment above it."""
    names.need("from sagemaker.mlops.workflow import FailStep")
    spec = step.spec if isinstance(step.spec, PlaceholderSpec) else None
    operator = spec.operator if spec else None
    message = f"placeholder for Airflow task {step.tasks[0]} ({operator}): translate it by hand"
    source = (spec.source if spec else None) or ""
    comment = "".join(f"# | {quoting.comment(line)}\n" for line in source.splitlines())
    return StepCode(
        "FailStep", kwargs={"name": _py(step.name), "error_message": _py(message)}, setup=comment
    )


def render_job(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    """SageMaker operator steps: the job's step_args built by bridge.emit.jobs, with the
    configured role, regional images, network and tags (noted on the task)."""
    from bridge.emit.jobs.registry import job_code, job_practices

    spec = step.spec
    assert isinstance(spec, JobSpec), f"step {step.name}: no job to render"
    practices = job_practices(config, names.pipeline.dag_id, step.tasks[0])
    code = job_code(spec.job, spec.config, var, lambda v: names.value(v, step), practices)
    outcome = names.pipeline.outcomes.get(step.tasks[0])
    if outcome is not None:
        outcome.notes += [n for n in code.notes if n not in outcome.notes]
    names.need(*code.imports, f"from sagemaker.mlops.workflow import {code.step_class}")
    return StepCode(
        code.step_class,
        kwargs={"name": _py(step.name), "step_args": f"{var}_args"},
        setup=code.code + "\n",
    )


for _kind in ("Training", "Transform", "Tuning", "Model", "EndpointConfig", "Endpoint"):
    RENDERERS[_kind] = render_job
