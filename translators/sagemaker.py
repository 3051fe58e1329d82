"""SageMaker operators of the Amazon provider → the native pipeline steps.

The operator's `config` is the Create* request; the step is built with the SDK v3 classes
(bridge/emit/jobs/) so that the step's `Arguments` in the definition equal the config
field by field (`bridge validate` checks it), except the fields the pipeline owns (job names).
"""

from __future__ import annotations

from typing import Any

from bridge.definition import RUNTIME_VALUE
from bridge.emit.jobs.registry import OPERATOR_JOBS, request_view, sub_jobs
from bridge.parse.model import TaskModel
from bridge.translate.expressions import StepProperty
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import JobSpec
from translators.registry import Example, StepDraft, Translation, placeholder, rule

_MODULE = "airflow.providers.amazon.aws.operators.sagemaker"
KINDS = {
    "processing": "Processing",
    "training": "Training",
    "transform": "Transform",
    "tuning": "Tuning",
    "model": "Model",
    "endpoint_config": "EndpointConfig",
    "endpoint": "Endpoint",
    "register_model": "Model",
}
_REGISTER_KWARGS = (
    "image_uri",
    "model_url",
    "package_group_name",
    "package_group_desc",
    "package_desc",
    "model_approval",
    "extras",
)

_EXAMPLE = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
with DAG("d"):
    SageMakerTrainingOperator(task_id="train", config={
        "TrainingJobName": "xgb-{{ ds_nodash }}",
        "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"num_round": "50"},
    })
"""


@rule(
    *(f"{_MODULE}.{name}" for name in OPERATOR_JOBS),
    examples=[
        Example(
            "a training config becomes a TrainingStep whose Arguments equal the config",
            _EXAMPLE,
            {"train": {"fate": "step", "fidelity": "exact", "steps": ["train"]}},
        )
    ],
)
def sagemaker_job(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerProcessing/Training/Transform/Tuning/Model/EndpointConfig/Endpoint/
    RegisterModelVersion operators → ProcessingStep, TrainingStep, TransformStep, TuningStep,
    ModelStep (create or register), EndpointConfigStep, EndpointStep, built with Processor,
    ModelTrainer, Transformer, HyperparameterTuner and ModelBuilder. A config that also creates
    a model or endpoint config becomes one step per resource. Templated values become pipeline
    expressions; a transform or endpoint naming a model or endpoint config created earlier in
    the DAG reads it from that step's properties. Job names are owned by the pipeline.
    Endpoint operators map to the native endpoint steps rather than a deploying Lambda: their
    Arguments are the real request, so the round trip is checked like any job."""
    job = OPERATOR_JOBS[task.operator.rsplit(".", 1)[-1]]
    raw = _raw_config(task, job)
    if not isinstance(raw, dict):
        result = placeholder(task, ctx)
        result.differences = ["the config is not a literal dict the bridge can read statically"]
        return result
    config, problems = ctx.literal(raw, task)
    differences = list(problems)
    drafts: list[StepDraft] = []
    created: dict[str, tuple[str, str]] = _created_upstream(task, ctx)
    parts = sub_jobs(job, config)
    raw_parts = dict(enumerate(sub_jobs(job, raw)))
    for i, (part_job, part) in enumerate(parts):
        part, raw_part = _link(part_job, part, raw_parts[i][1], created, task.task_id, i)
        try:
            _, notes = request_view(part_job, part)
        except TypeError as exc:
            return _manual(task, ctx, str(exc))
        differences += notes
        suffix = "" if i == len(parts) - 1 else f"-{part_job.replace('_', '-')}"
        spec = JobSpec(job=part_job, config=part, raw_config=raw_part)
        drafts.append(StepDraft(KINDS[part_job], spec, suffix=suffix))
    from bridge.emit.jobs.registry import job_code

    for draft in drafts:  # what the SDK classes cannot express, found without importing the SDK
        code = job_code(draft.spec.job, draft.spec.config, "x", lambda v: "V")
        differences += code.differences
    differences = list(dict.fromkeys(differences))
    return Translation("step", "approximate" if differences else "exact", drafts, differences)


def _raw_config(task: TaskModel, job: str) -> Any:
    if job == "register_model":
        kwargs = {k: task.kwargs[k] for k in _REGISTER_KWARGS if k in task.kwargs}
        if any(a.kind not in ("literal", "template") for a in kwargs.values()):
            return None
        return {k: a.value for k, a in kwargs.items()}
    arg = task.kwargs.get("config")
    if arg is None or arg.kind not in ("literal", "template"):
        return None
    return arg.value


def _created_upstream(task: TaskModel, ctx: RuleContext) -> dict[str, tuple[str, str]]:
    """Model and endpoint-config names created by SageMaker tasks that run before this one:
    {name: (task id, property)}."""
    found: dict[str, tuple[str, str]] = {}
    for other_id in ctx.ancestors(task.task_id):
        other = ctx.dag.tasks[other_id]
        name = other.operator.rsplit(".", 1)[-1]
        if not other.operator.startswith(_MODULE) or name not in OPERATOR_JOBS:
            continue
        raw = _raw_config(other, OPERATOR_JOBS[name])
        for part_job, part in sub_jobs(OPERATOR_JOBS[name], raw) if isinstance(raw, dict) else []:
            if part_job == "model" and isinstance(part.get("ModelName"), str):
                found[part["ModelName"]] = (other_id, "ModelName")
            if part_job == "endpoint_config" and isinstance(part.get("EndpointConfigName"), str):
                found[part["EndpointConfigName"]] = (other_id, "EndpointConfigName")
    return found


_LINKS = {
    "transform": ("ModelName", "model"),
    "endpoint": ("EndpointConfigName", "endpoint_config"),
}


def _link(job: str, part: dict, raw: dict, created: dict, task_id: str, index: int):
    """A transform's model / an endpoint's config created in the pipeline: read its name from that
    step (the pipeline owns resource names, so the literal name would not exist)."""
    if job not in _LINKS or not isinstance(raw, dict):
        return part, raw
    key, _ = _LINKS[job]
    name = raw.get(key)
    if index > 0 and isinstance(name, str):  # created by the part just before, same config
        target = StepProperty(task_id, key, index - 1)
    elif isinstance(name, str) and name in created:
        target = StepProperty(*created[name])
    else:
        return part, raw
    return {**part, key: target}, {**raw, key: RUNTIME_VALUE}


def _manual(task: TaskModel, ctx: RuleContext, why: str) -> Translation:
    result = placeholder(task, ctx)
    result.differences = [why]
    return result
