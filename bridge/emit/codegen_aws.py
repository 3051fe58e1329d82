"""Renderers for the AWS service steps: Lambda, EMR (registered into names.RENDERERS).

Each returns the step's constructor call as a `StepCode`; `pipeline_body.render_steps` adds what
every step carries (depends_on, display name, description). LambdaStep and EMRStep take no retry policy:
the renderers drop the task's retries from the step settings (the rules list that difference).
"""

from __future__ import annotations

import hashlib
import re

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.names import Names, StepCode, Untranslatable, renderer
from bridge.translate.pipeline_model import StepModel
from bridge.translate.step_specs import EMRSpec, LambdaSpec

LAMBDA_RUNTIME = "python3.12"  # the SDK's default (python3.8) is deprecated by Lambda
LAMBDA_MAX_TIMEOUT = 900
_OUTPUT_TYPES = ("String", "Integer", "Boolean", "Float")
_py = quoting.py_literal


def _no_retry_policy(step: StepModel) -> None:
    """LambdaStep / EMRStep / CallbackStep have no `retry_policies` argument."""
    step.settings = {k: v for k, v in step.settings.items() if k not in ("retries",)}


def lambda_function_name(pipeline_name: str, step_name: str) -> str:
    """A Lambda function name (<= 64 of [A-Za-z0-9_-]) for a step's created function, stable
    for the same pipeline and step."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{pipeline_name}-{step_name}").strip("-")
    if len(base) <= 64:
        return base
    digest = hashlib.sha1(base.encode()).hexdigest()[:8]
    return f"{base[:55]}-{digest}"


@renderer("Lambda")
def render_lambda(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    spec = step.spec
    function = spec.function if isinstance(spec, LambdaSpec) else None
    if not isinstance(function, dict):
        # e.g. the python rule's `step = "lambda"` override: no function to call yet.
        raise Untranslatable(f"task {step.tasks[0]}: no Lambda function to render")
    names.need("from sagemaker.mlops.workflow import LambdaStep")
    if "arn" in function:
        names.need("from sagemaker.core.lambda_helper import Lambda")
        fn = f"Lambda(function_arn={function['arn']!r}, session=session)"
    elif "name" in function:
        names.need("from sagemaker.core.lambda_helper import Lambda")
        region = repr(function["region"]) if function.get("region") else "session.boto_region_name"
        qualifier = f", {function['qualifier']!r}" if function.get("qualifier") else ""
        arn = (
            f'":".join(["arn", "aws", "lambda", {region}, session.account_id(), "function", '
            f"{function['name']!r}{qualifier}])"
        )
        fn = f"Lambda(function_arn={arn}, session=session)"
    elif "create" in function:
        fn = _created_function(step, function["create"], names)
    else:
        raise Untranslatable(f"task {step.tasks[0]}: unknown Lambda function spec {function}")
    outputs = []
    for out in spec.outputs or []:
        kind = out.get("type", "String")
        if kind not in _OUTPUT_TYPES:
            raise Untranslatable(f"Lambda output type {kind}")
        names.need(
            "from sagemaker.mlops.workflow import LambdaOutput",
            "from sagemaker.mlops.workflow.lambda_step import LambdaOutputTypeEnum",
        )
        outputs.append(
            f"LambdaOutput(output_name={out['name']!r}, output_type=LambdaOutputTypeEnum.{kind})"
        )
    _no_retry_policy(step)
    return StepCode(
        "LambdaStep",
        kwargs={
            "name": _py(step.name),
            "lambda_func": fn,
            "inputs": names.value(spec.inputs or {}, step),
            "outputs": f"[{', '.join(outputs)}]",
        },
    )


def _created_function(step: StepModel, create: dict, names: Names) -> str:
    """A function the bridge writes (steps/<file>): listed in pipeline.py's FUNCTIONS, which
    `--upsert` creates or updates (pipeline_support.LambdaFunction); the step names it by ARN,
    so building the definition calls no Lambda API."""
    timeout = min(int(step.settings.get("timeout") or create.get("timeout") or 120), 900)
    name = _py(lambda_function_name(names.pipeline.name, step.name))
    names.need("from pipeline_support import LambdaFunction")
    names.functions[name] = (
        f"LambdaFunction(name={name}, script={_py(create['file'])}, "
        f"handler={_py(create['handler'])}, timeout={timeout}, runtime={_py(LAMBDA_RUNTIME)})"
    )
    return f"FUNCTIONS[{name}].step_function(session)"


@renderer("EMR")
def render_emr(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    spec = step.spec
    assert isinstance(spec, EMRSpec)
    names.need("from sagemaker.mlops.workflow import EMRStep, EMRStepConfig")
    conf = spec.step
    parts = [f"jar={names.value(conf['jar'], step)}"]
    for key in ("args", "main_class", "properties"):
        if conf.get(key) is not None:
            parts.append(f"{key}={names.value(conf[key], step)}")
    kwargs = {"name": _py(step.name)}
    if spec.cluster_config is not None:
        kwargs.update(cluster_id="None", cluster_config=names.value(spec.cluster_config, step))
    else:
        kwargs["cluster_id"] = names.value(spec.cluster_id, step)
        if spec.execution_role_arn is not None:
            kwargs["execution_role_arn"] = names.value(spec.execution_role_arn, step)
    if spec.description:  # the DAG's own words for the EMR step
        kwargs["description"] = _py(spec.description)
    kwargs["step_config"] = f"EMRStepConfig({', '.join(parts)})"
    _no_retry_policy(step)
    return StepCode("EMRStep", kwargs=kwargs)
