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
from bridge.emit.images import choose_image, image_constant
from bridge.emit.names import RENDERERS, Names, renderer
from bridge.translate.context_values import argument_parts, context_template
from bridge.translate.expressions import ExecVar, Join, Param, StepOutput, StepProperty
from bridge.translate.job_limits import MAX_INPUTS, argument_chunks
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.step_specs import (
    ConditionSpec,
    FailSpec,
    FolderFlow,
    JobSpec,
    PlaceholderSpec,
    script_of,
)

XCOM_INPUT = "/opt/ml/processing/input/xcom"
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
    inputs = ["runtime_input()"]
    if reads_execution_xcoms(step, names):
        inputs.append("execution_xcom_input(bucket)")
        steps = {t: [p.name for p in ps] for t, ps in xcom_producers(step, names).items() if ps}
        call = {**call, "xcom_steps": steps}  # where the runtime finds each task's XCom
    else:
        for task_id, producers in xcom_producers(step, names).items():
            for i, producer in enumerate(producers):
                where = f"{XCOM_INPUT}/{task_id}" + (f"/{i}" if len(producers) > 1 else "")
                inputs.append(f"xcom_input({names.step_vars[producer.name]}, {where!r})")
    inputs += _folder_inputs(script.folders, names)
    arguments = _script_arguments(step, call, names) + _folder_arguments(script.folders)
    outputs = [f"xcom_output(bucket, {step.name!r})"] + [
        f"job_output(bucket, {step.name!r}, {f.name!r})" for f in script.folders if f.writes
    ]
    override = config.override_for(step.tasks[0])
    instance = repr(override.instance_type) if override.instance_type else "instance_type"
    image = image_constant(choose_image(step, config))  # see bridge.emit.images
    env = call.get("env") if script.mode == "bash" else None
    # A folder named by an environment variable: set for the job, before the script's code runs.
    folder_env = {f.folder.key: f.work for f in script.folders if f.folder.kind == "env"}
    if folder_env:
        env = {**(env if isinstance(env, dict) else {}), **folder_env}
    env_source = names.value(env, step) if isinstance(env, dict) else "None"
    timeout = step.settings.get("timeout")
    script_file = script.file
    return (
        f"{var}_xcom = PropertyFile(name='xcom', output_name='xcom', path='xcom.json')\n"
        f"{var} = ProcessingStep(name={step.name!r}, step_args=script_processor("
        f"session, role, {image}, {instance}, env={env_source}, max_runtime={timeout!r}).run("
        f"code=step_file({script_file!r}), arguments=[{', '.join(arguments)}], "
        f"inputs=[{', '.join(inputs)}], outputs=[{', '.join(outputs)}]), "
        f"property_files=[{var}_xcom]"
    )


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


EXECUTION_XCOM_HELPER = f'''

def execution_xcom_input(bucket: str) -> ProcessingInput:
    """Every XCom of the execution so far (see xcom_output), mounted as <step>/xcom.json: for
    a step that reads more XComs than its job has inputs for. Nothing here tells SageMaker the
    steps it reads from: its depends_on does."""
    return ProcessingInput(
        input_name="xcom",
        s3_input=ProcessingS3Input(
            s3_uri=execution_uri(bucket, "xcom", ""),
            local_path={XCOM_INPUT!r},
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )
'''


def xcom_helpers(names: Names) -> str:
    """The pipeline.py helper for the execution's XCom prefix, when a step mounts it."""
    steps = names.pipeline.steps.values()
    return EXECUTION_XCOM_HELPER if any(reads_execution_xcoms(s, names) for s in steps) else ""


def _folder_arguments(folders: tuple[FolderFlow, ...]) -> list[str]:
    """The runtime's argv for the shared folders: `--folder KIND ORIGINAL WORK`, then one
    `--folder-input PATH` per input it copies into WORK (each argument at most 256 characters)."""
    args = []
    for f in folders:
        args += ["'--folder'", _py(f.folder.kind), _py(f.folder.key), _py(f.work)]
        args += [a for i in f.inputs for a in ("'--folder-input'", _py(i.local_path))]
    return args


def _folder_inputs(folders: tuple[FolderFlow, ...], names: Names) -> list[str]:
    """A shared folder's job inputs: the DAG's own copy, then each upstream step's output."""
    inputs = []
    for f in folders:
        for i in f.inputs:
            if i.step is None:
                inputs.append(f"repository_input({f.name!r}, {i.local_path!r})")
            else:
                producer = names.step_vars[i.step]
                inputs.append(f"folder_input({producer}, {f.name!r}, {_py(i.local_path)})")
    return inputs


FOLDER_INPUT_HELPER = '''

def folder_input(step, name: str, local_path: str) -> ProcessingInput:
    """The folder `name` as an upstream step wrote it. Reading that step's output property
    tells SageMaker the data dependency; the final "/" keeps the S3 prefix of an output `out`
    from also matching a sibling output `out_2`."""
    output = step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
    return ProcessingInput(
        input_name=f"{name}-{step.name}",
        s3_input=ProcessingS3Input(
            s3_uri=Join(on="/", values=[output, ""]),
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )
'''
REPOSITORY_INPUT_HELPER = '''

def repository_input(name: str, local_path: str) -> ProcessingInput:
    """A data folder of the DAG's repository, copied to inputs/<name> by `bridge translate`. The
    SDK uploads it when it builds the pipeline (relative to this folder, as in step_file())."""
    source = f"inputs/{name}" if Path.cwd() == HERE else str(HERE / "inputs" / name)
    return ProcessingInput(
        input_name=f"repository-{name}",
        s3_input=ProcessingS3Input(
            s3_uri=source, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )
'''


def folder_helpers(pipeline: PipelineModel) -> str:
    """The pipeline.py helpers for the shared folders its steps use (none when they share none)."""
    flows = [f for s in pipeline.steps.values() for f in getattr(script_of(s.spec), "folders", ())]
    inputs = [i for f in flows for i in f.inputs]
    return (FOLDER_INPUT_HELPER if any(i.step is not None for i in inputs) else "") + (
        REPOSITORY_INPUT_HELPER if any(i.step is None for i in inputs) else ""
    )


def _script_arguments(step: StepModel, call: dict, names: Names) -> list[str]:
    """The runtime's argv: the literal call as JSON, then one --set / --xcom per run-time value."""
    literal, dynamic = _split({k: v for k, v in call.items() if k not in ("reads",)}, [], step)
    targets = step.spec.script.targets
    if targets:
        literal["targets"] = targets
    text = json.dumps(literal, sort_keys=True, default=str)
    args = [a for chunk in argument_chunks(text) for a in (repr("--call"), repr(chunk))]
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
