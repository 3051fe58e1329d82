"""The renderers of the pipeline's own step kinds (Processing, Condition, Fail, placeholders,
SageMaker jobs): each returns the statements that define the step's variable, its call left for
pipeline_body.py to close with what every step carries. Values are rendered by `Names.value`,
which knows the parameters and the steps emitted so far.
"""

from __future__ import annotations

import json
from typing import Any

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.names import RENDERERS, Names, renderer
from bridge.translate.expressions import ExecVar, Join, Param, StepOutput, StepProperty
from bridge.translate.pipeline_model import StepModel
from bridge.translate.step_specs import ConditionSpec, FailSpec, JobSpec, PlaceholderSpec, script_of

XCOM_INPUT = "/opt/ml/processing/input/xcom"
_COMPARISONS = {
    "==": "ConditionEquals",
    "<": "ConditionLessThan",
    "<=": "ConditionLessThanOrEqualTo",
    ">": "ConditionGreaterThan",
    ">=": "ConditionGreaterThanOrEqualTo",
}


@renderer("Processing")
def render_processing(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    script = script_of(step.spec)
    if script is None:
        return render_job(step, var, names, config)
    call = step.spec.call or {}
    names.need(
        "from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output",
        "from sagemaker.core.workflow.properties import PropertyFile",
        "from sagemaker.mlops.workflow import ProcessingStep",
    )
    arguments = _script_arguments(step, call, names)
    inputs = ["runtime_input()"]
    for task_id in call.get("reads", []):
        producers = names.producer(task_id, step)
        for i, producer in enumerate(producers):
            where = f"{XCOM_INPUT}/{task_id}" + (f"/{i}" if len(producers) > 1 else "")
            inputs.append(f"xcom_input({names.step_vars[producer.name]}, {where!r})")
    override = config.override_for(step.tasks[0])
    instance = repr(override.instance_type) if override.instance_type else "instance_type"
    image = repr(override.image_uri) if override.image_uri else "python_image"
    env = call.get("env") if script.mode == "bash" else None
    env_source = names.value(env, step) if isinstance(env, dict) else "None"
    timeout = step.settings.get("timeout")
    script_file = script.file
    return (
        f"{var}_xcom = PropertyFile(name='xcom', output_name='xcom', path='xcom.json')\n"
        f"{var} = ProcessingStep(name={step.name!r}, step_args=script_processor("
        f"session, role, {image}, {instance}, env={env_source}, max_runtime={timeout!r}).run("
        f"code=step_file({script_file!r}), arguments=[{', '.join(arguments)}], "
        f"inputs=[{', '.join(inputs)}], outputs=[xcom_output(bucket, {step.name!r})]), "
        f"property_files=[{var}_xcom]"
    )


def _script_arguments(step: StepModel, call: dict, names: Names) -> list[str]:
    """The runtime's argv: the literal call as JSON, then one --set / --xcom per run-time value."""
    literal, dynamic = _split({k: v for k, v in call.items() if k not in ("reads",)}, [], step)
    targets = step.spec.script.targets
    if targets:
        literal["targets"] = targets
    args = [repr("--call"), repr(json.dumps(literal, sort_keys=True, default=str))]
    for path, value in dynamic:
        path_json = repr(json.dumps(path))
        if isinstance(value, StepOutput):
            if value.task_id in step.dropped or not names.producer(value.task_id, step):
                continue  # not run on this path (branch copy) or no output: the value stays null
            args += [repr("--xcom"), path_json, repr(value.task_id), repr(value.key)]
        else:
            kind = _arg_type(value, names)
            args += [repr("--set"), path_json, repr(kind), names.as_string(value, step)]
    return args


def _arg_type(value: Any, names: Names) -> str:
    if isinstance(value, Param):
        if getattr(names.pipeline.parameters.get(value.name), "json_text", False):
            return "json"  # a list or dict param reaches the callable as the value, not text
        return {"Integer": "int", "Float": "float", "Boolean": "bool"}.get(
            names.param_type(value.name), "str"
        )
    return "str"


def _split(value: Any, path: list, step: StepModel) -> tuple[Any, list[tuple[list, Any]]]:
    """Literal skeleton (run-time values as null) and the run-time values with their paths."""
    if isinstance(value, (Param, ExecVar, Join, StepOutput, StepProperty)):
        return None, [(path, value)]
    if isinstance(value, dict):
        out, dyn = {}, []
        for k, v in value.items():
            out[k], more = _split(v, [*path, k], step)
            dyn += more
        return out, dyn
    if isinstance(value, (list, tuple)):
        out_list, dyn = [], []
        for i, v in enumerate(value):
            item, more = _split(v, [*path, i], step)
            out_list.append(item)
            dyn += more
        return out_list, dyn
    return value, []


@renderer("Condition")
def render_condition(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    names.need("from sagemaker.mlops.workflow import ConditionStep")
    spec = step.spec
    assert isinstance(spec, ConditionSpec)
    conditions = [_condition(c, names, step) for c in spec.conditions]
    sides = {"if": [], "else": []}
    for (source, target), side in sorted(names.pipeline.branch_sides.items()):
        if source == step.name and target in names.step_vars:
            sides[side].append(names.step_vars[target])
    return (
        f"{var} = ConditionStep(name={step.name!r}, conditions=[{', '.join(conditions)}], "
        f"if_steps=[{', '.join(sides['if'])}], else_steps=[{', '.join(sides['else'])}]"
    )


def _condition(cond: dict, names: Names, step: StepModel) -> str:
    op = cond["op"]
    if op in ("not", "!="):  # SageMaker has no "not equal": ConditionNot(ConditionEquals)
        inner = cond["inner"] if op == "not" else {**cond, "op": "=="}
        names.need("from sagemaker.core.workflow.conditions import ConditionNot")
        return f"ConditionNot(expression={_condition(inner, names, step)})"
    names.need(f"from sagemaker.core.workflow.conditions import {_COMPARISONS[op]}")
    left, right = names.value(cond["left"], step), names.value(cond["right"], step)
    return f"{_COMPARISONS[op]}(left={left}, right={right})"


@renderer("Fail")
def render_fail(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    names.need("from sagemaker.mlops.workflow import FailStep")
    message = step.spec.message if isinstance(step.spec, FailSpec) else None
    if message is None:
        message = f"task {step.tasks[0]} failed"
    message = names.value(message, step)
    return f"{var} = FailStep(name={step.name!r}, error_message={message}"


@renderer("Placeholder")
def render_placeholder(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    """A FailStep that keeps the task's place: the pipeline builds, and stops here until a person
    replaces it. The original source is in the comment above it."""
    names.need("from sagemaker.mlops.workflow import FailStep")
    spec = step.spec if isinstance(step.spec, PlaceholderSpec) else None
    operator = spec.operator if spec else None
    message = f"placeholder for Airflow task {step.tasks[0]} ({operator}): translate it by hand"
    source = (spec.source if spec else None) or ""
    comment = "".join(f"# | {quoting.comment(line)}\n" for line in source.splitlines())
    return f"{comment}{var} = FailStep(name={step.name!r}, error_message={message!r}"


def render_job(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    """SageMaker operator steps: the job's step_args built by bridge.emit.jobs."""
    from bridge.emit.jobs.registry import job_code

    spec = step.spec
    assert isinstance(spec, JobSpec), f"step {step.name}: no job to render"
    code = job_code(spec.job, spec.config, var, lambda v: names.value(v, step))
    names.need(*code.imports, f"from sagemaker.mlops.workflow import {code.step_class}")
    return f"{code.code}\n{var} = {code.step_class}(name={step.name!r}, step_args={var}_args"


for _kind in ("Training", "Transform", "Tuning", "Model", "EndpointConfig", "Endpoint"):
    RENDERERS[_kind] = render_job
