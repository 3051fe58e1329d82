"""SageMaker operators of the Amazon provider → the native pipeline steps.

The operator's `config` is the Create* request; the step is built with the SDK v3 classes
(bridge/emit/jobs/) so that the step's `Arguments` in the definition equal the config
field by field (`bridge validate` checks it), except the fields the pipeline owns (job names).
"""

from __future__ import annotations

from typing import Any

from bridge.definition import RUNTIME_VALUE
from bridge.emit.jobs.registry import OPERATOR_JOBS, request_view, sub_jobs
from bridge.parse.model import ArgValue, TaskModel
from bridge.translate.expressions import StepProperty
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import JobSpec
from translators.registry import Example, StepDraft, Translation, placeholder, rule
from translators.sagemaker_sdk import SdkRequest, sdk_request

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
    raw = _raw_config(task, job, ctx)
    built = _sdk_request(task, job, ctx)
    if not isinstance(raw, dict):
        result = placeholder(task, ctx)
        result.differences = (built.differences if built else []) or [
            "the config is not a literal dict the bridge can read statically"
        ]
        return result
    raw, unknown = _drop_unknown(raw)
    config, problems = ctx.literal(raw, task)
    config, raw, roles = _literal_roles(config, raw)
    config, raw, experiment = _pipeline_experiment(config, raw)
    problems += roles + experiment
    differences = (built.differences if built else []) + unknown + problems
    differences += _wait_difference(task, ctx)
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
        spec = JobSpec(job=part_job, config=part, raw_config=_runtime_marked(raw_part))
        drafts.append(StepDraft(KINDS[part_job], spec, suffix=suffix))
    from bridge.emit.jobs.registry import job_code

    for draft in drafts:  # what the SDK classes cannot express, found without importing the SDK
        code = job_code(draft.spec.job, draft.spec.config, "x", lambda v: "V")
        differences += code.differences
    differences = list(dict.fromkeys(differences))
    return Translation("step", "approximate" if differences else "exact", drafts, differences)


def _raw_config(task: TaskModel, job: str, ctx: RuleContext) -> Any:
    """The config as the bridge reads it: literal where the DAG file shows it, each other leaf a
    nested argument (an XCom path, a param, an expression) that `ctx.literal` turns into a
    pipeline value or a named problem. A whole-XCom config reads the structure its producer
    pushes (the parser evaluates the producer's body), its run-time leaves from that XCom. A
    `sagemaker.workflow.airflow` helper's config is the request it builds (sagemaker_sdk)."""
    if job == "register_model":
        kwargs = {k: task.kwargs[k] for k in _REGISTER_KWARGS if k in task.kwargs}
        return {k: _leaf(a) for k, a in kwargs.items()}
    arg = task.kwargs.get("config")
    if arg is None:
        return None
    if arg.kind == "sdk":
        built = _sdk_request(task, job, ctx)
        return built.config if built else None
    if arg.kind in ("literal", "template", "partial") or (
        arg.kind == "xcom" and isinstance(arg.value, dict)
    ):
        return arg.value
    return None


def _sdk_request(task: TaskModel, job: str, ctx: RuleContext) -> SdkRequest | None:
    arg = task.kwargs.get("config")
    if arg is None or arg.kind != "sdk" or not isinstance(arg.value, dict):
        return None
    tasks = {t.task_id: t.operator for t in ctx.dag.tasks.values()}
    return sdk_request(arg.value, job, ctx.config.region, tasks, task.task_id)


_RUNTIME_KINDS = {"xcom", "param", "file_value"}  # file_value: sagemaker_sdk.required


def _is_arg(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("kind"), str)
        and (set(value) <= {"kind", "value", "source", "refs", "key", "path", "origin"})
    )


def _drop_unknown(raw: Any, path: str = "") -> tuple[Any, list[str]]:
    """The config without the leaves nobody knows before Airflow runs the DAG (an expression
    the parser cannot evaluate), and one difference naming each; XCom and param leaves stay."""
    if _is_arg(raw):
        if raw["kind"] in _RUNTIME_KINDS or raw["kind"] in ("literal", "template"):
            return raw, []
        shown = raw.get("source") or raw["kind"]
        return _DROPPED, [
            f"{path or 'config'}: `{shown}` is only known when Airflow runs the DAG; "
            "the step leaves this field out"
        ]
    if isinstance(raw, dict):
        out, notes = {}, []
        for k, v in raw.items():
            value, more = _drop_unknown(v, f"{path}.{k}" if path else k)
            notes += more
            if value is not _DROPPED:
                out[k] = value
        return out, notes
    if isinstance(raw, list):
        items = [_drop_unknown(v, f"{path}[{i}]") for i, v in enumerate(raw)]
        return [v for v, _ in items if v is not _DROPPED], [n for _, more in items for n in more]
    return raw, []


_DROPPED = object()
_ROLE_KEYS = ("RoleArn", "ExecutionRoleArn")
_STEP_EXPERIMENT = {"TrialComponentDisplayName"}  # what a step keeps of an ExperimentConfig


def _pipeline_experiment(config: Any, raw: Any) -> tuple[Any, Any, list[str]]:
    """A pipeline step runs in the pipeline's own experiment and trial (PipelineExperimentConfig):
    of a job's ExperimentConfig only the trial component's display name is kept."""
    if not isinstance(config, dict) or not isinstance(config.get("ExperimentConfig"), dict):
        return config, raw, []
    dropped = sorted(set(config["ExperimentConfig"]) - _STEP_EXPERIMENT)
    if not dropped:
        return config, raw, []
    kept = {k: v for k, v in config["ExperimentConfig"].items() if k in _STEP_EXPERIMENT}
    config = {k: v for k, v in config.items() if k != "ExperimentConfig"}
    raw = (
        {k: v for k, v in raw.items() if k != "ExperimentConfig"} if isinstance(raw, dict) else raw
    )
    if kept:
        config["ExperimentConfig"] = kept
        if isinstance(raw, dict):
            raw["ExperimentConfig"] = {k: v for k, v in kept.items()}
    return (
        config,
        raw,
        [
            f"ExperimentConfig.{key}: a pipeline step runs in the pipeline's own experiment and "
            "trial (PipelineExperimentConfig); dropped"
            for key in dropped
        ],
    )


def _literal_roles(config: Any, raw: Any, path: str = "") -> tuple[Any, Any, list[str]]:
    """The SDK's job classes (ModelTrainer, Processor, ModelBuilder...) take the role as text: a
    role known only at run time (an XCom, an environment variable) is left out, so the job runs
    with the pipeline's role, and named."""
    if not isinstance(config, dict) or not isinstance(raw, dict):
        return config, raw, []
    config, raw, notes = dict(config), dict(raw), []
    for key in list(config):
        where = f"{path}.{key}" if path else key
        if key in _ROLE_KEYS and not isinstance(config[key], str):
            del config[key]
            raw.pop(key, None)
            notes.append(
                f"{where} is only known at run time, and the SDK's job classes take the role as "
                "text: the job runs with the pipeline's role (`role` of get_pipeline)"
            )
        elif isinstance(config[key], dict) and isinstance(raw.get(key), dict):
            config[key], raw[key], more = _literal_roles(config[key], raw[key], where)
            notes += more
    return config, raw, notes


def _runtime_marked(raw: Any) -> Any:
    """The manifest's copy of the request: a leaf read at run time (an XCom, a param) is
    compared as "some pipeline value" by `bridge validate`."""
    if _is_arg(raw):
        return raw.get("value") if raw["kind"] in ("literal", "template") else RUNTIME_VALUE
    if isinstance(raw, dict):
        return {k: _runtime_marked(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_runtime_marked(v) for v in raw]
    return raw


def _wait_difference(task: TaskModel, ctx: RuleContext) -> list[str]:
    """A job step waits for its job; `wait_for_completion=False` differs unless a sensor that
    waits on this job follows (the sensor is then contracted into the step)."""
    wait = task.kwargs.get("wait_for_completion")
    if wait is None or (wait.kind == "literal" and wait.value is not False):
        return []
    if any(_waited_by(ctx.dag.tasks[d], task, ctx) for d in ctx.downstream(task.task_id)):
        return []
    return [
        "the step waits for the job to end; Airflow's task returned once the job was started "
        "(wait_for_completion=False) and nothing waited on it"
    ]


def _leaf(arg: ArgValue) -> Any:
    return arg.value if arg.kind in ("literal", "template", "partial") else arg.to_dict()


def name_token(value: Any) -> tuple | None:
    """What identifies a resource name across tasks: the literal text, or the XCom value it is
    read from (a producer's pushed value, by where it was first pushed: see parse.pushed)."""
    if isinstance(value, str):
        return ("text", value)
    if isinstance(value, dict) and value.get("kind") == "xcom" and len(value.get("refs", [])) == 1:
        where = value.get("origin") or (value.get("key") or "return_value") + value.get("path", "")
        return ("xcom", value["refs"][0], where)
    return None


def _created_upstream(task: TaskModel, ctx: RuleContext) -> dict[str, tuple[str, str]]:
    """Model and endpoint-config names created by SageMaker tasks that run before this one:
    {name: (task id, property)}."""
    found: dict[str, tuple[str, str]] = {}
    for other_id in ctx.ancestors(task.task_id):
        other = ctx.dag.tasks[other_id]
        name = other.operator.rsplit(".", 1)[-1]
        if not other.operator.startswith(_MODULE) or name not in OPERATOR_JOBS:
            continue
        raw = _raw_config(other, OPERATOR_JOBS[name], ctx)
        for part_job, part in sub_jobs(OPERATOR_JOBS[name], raw) if isinstance(raw, dict) else []:
            for kind, key in (("model", "ModelName"), ("endpoint_config", "EndpointConfigName")):
                token = name_token(part.get(key)) if part_job == kind else None
                if token is not None:
                    found[token] = (other_id, key)
    return found


_LINKS = {
    "transform": ("ModelName", "model"),
    "endpoint": ("EndpointConfigName", "endpoint_config"),
}


def _link(job: str, part: dict, raw: dict, created: dict, task_id: str, index: int):
    """A transform's model / an endpoint's config created in the pipeline: read its name from that
    step (the pipeline owns resource names, so the literal name would not exist)."""
    if job == "endpoint_config" and index > 0 and isinstance(raw, dict):
        return _link_variant(part, raw, task_id, index)
    if job not in _LINKS or not isinstance(raw, dict):
        return part, raw
    key, _ = _LINKS[job]
    token = name_token(raw.get(key))
    if index > 0 and token is not None:  # created by the part just before, same config
        target = StepProperty(task_id, key, index - 1)
    elif token is not None and token in created:
        target = StepProperty(*created[token])
    else:
        return part, raw
    return {**part, key: target}, {**raw, key: RUNTIME_VALUE}


def _link_variant(part: dict, raw: dict, task_id: str, index: int):
    """An endpoint config created with its model (a combined config): its one variant serves
    that model, whose name the model step owns."""
    variants, raw_variants = part.get("ProductionVariants"), raw.get("ProductionVariants")
    if not (isinstance(variants, list) and len(variants) == 1 and isinstance(variants[0], dict)):
        return part, raw
    if not (isinstance(raw_variants, list) and len(raw_variants) == 1):
        return part, raw
    model = StepProperty(task_id, "ModelName", index - 1)
    return (
        {**part, "ProductionVariants": [{**variants[0], "ModelName": model}]},
        {**raw, "ProductionVariants": [{**raw_variants[0], "ModelName": RUNTIME_VALUE}]},
    )


def _manual(task: TaskModel, ctx: RuleContext, why: str) -> Translation:
    result = placeholder(task, ctx)
    result.differences = [why]
    return result


_SENSORS = "airflow.providers.amazon.aws.sensors.sagemaker"
# Sensor -> (job it waits on, its name argument, the request field naming that job).
WAITS = {
    "SageMakerTrainingSensor": ("training", "job_name", "TrainingJobName"),
    "SageMakerProcessingSensor": ("processing", "job_name", "ProcessingJobName"),
    "SageMakerTransformSensor": ("transform", "job_name", "TransformJobName"),
    "SageMakerTuningSensor": ("tuning", "job_name", "HyperParameterTuningJobName"),
    "SageMakerEndpointSensor": ("endpoint", "endpoint_name", "EndpointName"),
}

_SENSOR_EXAMPLE = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
from airflow.providers.amazon.aws.sensors.sagemaker import SageMakerTrainingSensor
with DAG("d"):
    train = SageMakerTrainingOperator(task_id="train", wait_for_completion=False, config={
        "TrainingJobName": "xgb-{{ ds_nodash }}",
        "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    })
    train >> SageMakerTrainingSensor(task_id="wait", job_name="xgb-{{ ds_nodash }}")
"""


@rule(
    *(f"{_SENSORS}.{name}" for name in WAITS),
    examples=[
        Example(
            "a sensor waiting on the job of an earlier operator is contracted into its step",
            _SENSOR_EXAMPLE,
            {
                "train": {"fate": "step", "fidelity": "exact", "steps": ["train"]},
                "wait": {"fate": "contracted", "fidelity": "exact", "steps": []},
            },
        )
    ],
)
def sagemaker_job_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerTraining/Processing/Transform/Tuning/EndpointSensor → contracted into the step
    of the operator whose job it waits on (an operator upstream of it, usually with
    `wait_for_completion=False`): a pipeline job step already waits for its job to end and
    fails when the job fails. The sensor waits on that job when its name argument is the name in
    the operator's config (the same text, or the same XCom value) or reads the operator's XCom.
    A sensor waiting on a job the pipeline does not run stays a placeholder."""
    for other_id in sorted(ctx.ancestors(task.task_id)):
        if _waited_by(task, ctx.dag.tasks[other_id], ctx):
            return Translation("contracted", "exact", [], [])
    result = placeholder(task, ctx)
    result.differences = [
        "the sensor waits on a job no SageMaker operator of this DAG starts; the pipeline has "
        "no step that waits on an outside job"
    ]
    return result


def _waited_by(sensor: TaskModel, operator: TaskModel, ctx: RuleContext) -> bool:
    """True when `sensor` waits on the job `operator` starts."""
    module, _, sensor_class = sensor.operator.rpartition(".")
    op_name = operator.operator.rsplit(".", 1)[-1]
    if module != _SENSORS or sensor_class not in WAITS or not operator.operator.startswith(_MODULE):
        return False
    job, argument, field = WAITS[sensor_class]
    if OPERATOR_JOBS.get(op_name) != job:
        return False
    arg = sensor.kwargs.get(argument)
    if arg is None:
        return False
    if operator.task_id in arg.refs or _pulls_from(arg, operator.task_id):
        return True
    raw = _raw_config(operator, job, ctx)
    parts = dict(sub_jobs(job, raw)) if isinstance(raw, dict) else {}
    wanted = name_token(_leaf(arg))
    return wanted is not None and wanted == name_token(parts.get(job, {}).get(field))


def _pulls_from(arg: ArgValue, task_id: str) -> bool:
    """A templated name reading the operator's XCom: `{{ ti.xcom_pull(task_ids='train')... }}`."""
    import re

    text = arg.value if arg.kind == "template" and isinstance(arg.value, str) else ""
    return bool(
        re.search(r"xcom_pull\(\s*(?:task_ids\s*=\s*)?['\"]" + re.escape(task_id) + r"['\"]", text)
    )
