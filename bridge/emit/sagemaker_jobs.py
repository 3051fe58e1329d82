"""SageMaker operator configs as SageMaker Python SDK v3 step arguments.

The Amazon provider's SageMaker operators take a boto3-shaped ``config`` (the CreateTrainingJob,
CreateProcessingJob, ... request). A SageMaker Pipelines step takes ``step_args``: the value a
v3 job class (``ModelTrainer``, ``Processor``, ``Transformer``, ``HyperparameterTuner``,
``ModelBuilder``) or a ``PipelineSession`` method returns under a ``PipelineSession``. The
pipeline definition then holds that request as the step's ``Arguments``.

`job_code` writes the Python source that builds those step arguments from an operator config,
field by field through the v3 classes, so that the definition's ``Arguments`` equal the config
(job names and other fields the pipeline owns aside). A field the classes cannot express
becomes a `JobCode.differences` entry; nothing is dropped silently. `compare_arguments` is the
round-trip check: it compares an operator config with a built definition step's ``Arguments``
and lists every difference that is not an owned field or a documented SDK default.

Nothing here imports the SDK (that costs seconds): the generated source does. Measured facts
and per-operator notes: docs/notes/sagemaker-operators.md.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JOBS = (
    "processing",
    "training",
    "transform",
    "tuning",
    "model",
    "endpoint_config",
    "endpoint",
    "register_model",
)

STEP_CLASSES = {
    "processing": "ProcessingStep",
    "training": "TrainingStep",
    "transform": "TransformStep",
    "tuning": "TuningStep",
    "model": "ModelStep",
    "endpoint_config": "EndpointConfigStep",
    "endpoint": "EndpointStep",
    "register_model": "ModelStep",
}
"""Step class per job; all importable from ``sagemaker.mlops.workflow``."""

OPERATOR_JOBS = {
    "SageMakerProcessingOperator": "processing",
    "SageMakerTrainingOperator": "training",
    "SageMakerTransformOperator": "transform",
    "SageMakerTuningOperator": "tuning",
    "SageMakerModelOperator": "model",
    "SageMakerEndpointConfigOperator": "endpoint_config",
    "SageMakerEndpointOperator": "endpoint",
    "SageMakerRegisterModelVersionOperator": "register_model",
}

_OWNED = {
    "processing": {"ProcessingJobName"},
    "training": {"TrainingJobName"},
    "transform": {"TransformJobName"},
    "tuning": {"HyperParameterTuningJobName"},
    "model": {"ModelName"},
    "endpoint_config": set(),
    "endpoint": set(),
    "register_model": {"ModelPackageName"},
}

# Fields the operator casts with int() before calling boto3 (SageMakerBaseOperator.parse_integer),
# relative to the request this job's step carries.
_INTEGER_FIELDS = {
    "processing": [
        ("ProcessingResources", "ClusterConfig", "InstanceCount"),
        ("ProcessingResources", "ClusterConfig", "VolumeSizeInGB"),
        ("StoppingCondition", "MaxRuntimeInSeconds"),
    ],
    "training": [
        ("ResourceConfig", "InstanceCount"),
        ("ResourceConfig", "VolumeSizeInGB"),
        ("StoppingCondition", "MaxRuntimeInSeconds"),
    ],
    "transform": [
        ("TransformResources", "InstanceCount"),
        ("MaxConcurrentTransforms",),
        ("MaxPayloadInMB",),
    ],
    "tuning": [
        ("HyperParameterTuningJobConfig", "ResourceLimits", "MaxNumberOfTrainingJobs"),
        ("HyperParameterTuningJobConfig", "ResourceLimits", "MaxParallelTrainingJobs"),
        ("TrainingJobDefinition", "ResourceConfig", "InstanceCount"),
        ("TrainingJobDefinition", "ResourceConfig", "VolumeSizeInGB"),
        ("TrainingJobDefinition", "StoppingCondition", "MaxRuntimeInSeconds"),
    ],
    "endpoint_config": [("ProductionVariants", "InitialInstanceCount")],
    "endpoint": [],
    "model": [],
    "register_model": [],
}

ANY = object()
"""In `SDK_DEFAULTS`: any value (a path the SDK derives, e.g. a default S3 location)."""

SDK_DEFAULTS: dict[str, list[tuple[tuple[str, ...], Any]]] = {
    "processing": [
        (("RoleArn",), ANY),
        (("ProcessingInputs", "*", "S3Input", "S3DataType"), "S3Prefix"),
        (("ProcessingInputs", "*", "S3Input", "S3InputMode"), "File"),
        (("ProcessingInputs", "*", "S3Input", "S3DataDistributionType"), "FullyReplicated"),
        (("ProcessingInputs", "*", "S3Input", "S3CompressionType"), "None"),
        (("ProcessingResources", "ClusterConfig", "VolumeSizeInGB"), 30),
        (("NetworkConfig", "EnableNetworkIsolation"), False),
    ],
    "training": [
        (("RoleArn",), ANY),
        (("AlgorithmSpecification", "TrainingInputMode"), "File"),
        (("OutputDataConfig",), ANY),
        (("OutputDataConfig", "CompressionType"), "GZIP"),
        (("ResourceConfig", "VolumeSizeInGB"), 30),
        (("StoppingCondition",), ANY),
        (("StoppingCondition", "MaxRuntimeInSeconds"), 86400),
    ],
    "transform": [
        (("TransformInput", "DataSource", "S3DataSource", "S3DataType"), "S3Prefix"),
        (("TransformOutput", "S3OutputPath"), ANY),
    ],
    "tuning": [
        (("TrainingJobDefinition", "RoleArn"), ANY),
        (("TrainingJobDefinition", "AlgorithmSpecification", "TrainingInputMode"), "File"),
        (("TrainingJobDefinition", "OutputDataConfig"), ANY),
        (("TrainingJobDefinition", "OutputDataConfig", "CompressionType"), "GZIP"),
        (("TrainingJobDefinition", "ResourceConfig", "VolumeSizeInGB"), 30),
        (("TrainingJobDefinition", "StoppingCondition"), ANY),
        (("TrainingJobDefinition", "StoppingCondition", "MaxRuntimeInSeconds"), 86400),
        (("HyperParameterTuningJobConfig", "TrainingJobEarlyStoppingType"), "Off"),
        (("HyperParameterTuningJobConfig", "ResourceLimits", "MaxParallelTrainingJobs"), 1),
        (("HyperParameterTuningJobConfig", "ParameterRanges", "*", "*", "ScalingType"), "Auto"),
    ],
    "model": [
        (("ExecutionRoleArn",), ANY),
        (("PrimaryContainer", "Environment"), {}),
    ],
    "endpoint_config": [],
    "endpoint": [(("Tags",), [])],
    "register_model": [
        (("InferenceSpecification", "Containers", "*", "Environment"), {}),
        (("SkipModelValidation",), "None"),
    ],
}
"""Fields the SDK adds to a step's Arguments when the operator config does not set them.

Each is the API's own default or a value the job needs and the operator config could not have
left out (the pipeline's default role, a derived S3 path); `compare_arguments` accepts them.
"""

# Config fields the SDK leaves out of the request when they hold the API's own default.
_OMITTED_API_DEFAULTS: dict[str, list[tuple[tuple[str, ...], Any]]] = {
    "training": [
        (("InfraCheckConfig", "EnableInfraCheck"), False),
        (("RemoteDebugConfig", "EnableRemoteDebug"), False),
        (("SessionChainingConfig", "EnableSessionTagChaining"), False),
    ],
    "tuning": [(("TrainingJobDefinition", "EnableManagedSpotTraining"), False)],
    "transform": [(("DataCaptureConfig", "GenerateInferenceId"), False)],
    "model": [(("EnableNetworkIsolation",), False)],
    "register_model": [(("ModelApprovalStatus",), "PendingManualApproval")],
}

_SHAPES_MODULE = "sagemaker.core.shapes"
_V, _L, _M, _RAW = "value", "list", "map", "raw"
_TAGS, _TAG_SHAPES = "tags", "tag shapes"  # boto {"Key", "Value"} dicts / Tag(key=, value=)

# Request shape -> field -> kind. A kind is _V (one value), _L (a list of values), _M (a map of
# values), _RAW (a boto-shaped dict/list passed through as is), a shape name, or [shape name].
_SHAPES: dict[str, dict[str, Any]] = {
    "Channel": {
        "ChannelName": _V,
        "DataSource": "DataSource",
        "ContentType": _V,
        "CompressionType": _V,
        "RecordWrapperType": _V,
        "InputMode": _V,
        "ShuffleConfig": "ShuffleConfig",
    },
    "DataSource": {
        "S3DataSource": "S3DataSource",
        "FileSystemDataSource": "FileSystemDataSource",
        "DatasetSource": "DatasetSource",
    },
    "S3DataSource": {
        "S3DataType": _V,
        "S3Uri": _V,
        "S3DataDistributionType": _V,
        "AttributeNames": _L,
        "InstanceGroupNames": _L,
        "ModelAccessConfig": "ModelAccessConfig",
        "HubAccessConfig": "HubAccessConfig",
    },
    "FileSystemDataSource": {
        "FileSystemId": _V,
        "FileSystemAccessMode": _V,
        "FileSystemType": _V,
        "DirectoryPath": _V,
    },
    "DatasetSource": {"DatasetArn": _V},
    "ShuffleConfig": {"Seed": _V},
    "ModelAccessConfig": {"AcceptEula": _V},
    "HubAccessConfig": {"HubContentArn": _V},
    "MetricDefinition": {"Name": _V, "Regex": _V},
    "TrainingImageConfig": {
        "TrainingRepositoryAccessMode": _V,
        "TrainingRepositoryAuthConfig": "TrainingRepositoryAuthConfig",
    },
    "TrainingRepositoryAuthConfig": {"TrainingRepositoryCredentialsProviderArn": _V},
    "CheckpointConfig": {"S3Uri": _V, "LocalPath": _V},
    "TensorBoardOutputConfig": {"S3OutputPath": _V, "LocalPath": _V},
    "RetryStrategy": {"MaximumRetryAttempts": _V},
    "InfraCheckConfig": {"EnableInfraCheck": _V},
    "RemoteDebugConfig": {"EnableRemoteDebug": _V},
    "SessionChainingConfig": {"EnableSessionTagChaining": _V},
    "StoppingCondition": {
        "MaxRuntimeInSeconds": _V,
        "MaxWaitTimeInSeconds": _V,
        "MaxPendingTimeInSeconds": _V,
    },
    "OutputDataConfig": {"S3OutputPath": _V, "KmsKeyId": _V, "CompressionType": _V},
    "Compute": {
        "InstanceType": _V,
        "InstanceCount": _V,
        "VolumeSizeInGB": _V,
        "VolumeKmsKeyId": _V,
        "KeepAlivePeriodInSeconds": _V,
        "InstanceGroups": ["InstanceGroup"],
        "TrainingPlanArn": _V,
        "InstancePreferences": ["InstancePreference"],
    },
    "InstanceGroup": {"InstanceType": _V, "InstanceCount": _V, "InstanceGroupName": _V},
    "InstancePreference": {"InstanceType": _V, "InstanceCount": _V, "TrainingPlanArns": _L},
    "ModelPackageConfig": {"ModelPackageGroupArn": _V, "SourceModelPackageArn": _V},
    "ProcessingInput": {"InputName": _V, "AppManaged": _V, "S3Input": "ProcessingS3Input"},
    "ProcessingS3Input": {
        "S3Uri": _V,
        "LocalPath": _V,
        "S3DataType": _V,
        "S3InputMode": _V,
        "S3DataDistributionType": _V,
        "S3CompressionType": _V,
    },
    "ProcessingOutput": {"OutputName": _V, "AppManaged": _V, "S3Output": "ProcessingS3Output"},
    "ProcessingS3Output": {"S3Uri": _V, "LocalPath": _V, "S3UploadMode": _V},
    "TuningJobCompletionCriteria": {
        "TargetObjectiveMetricValue": _V,
        "BestObjectiveNotImproving": "BestObjectiveNotImproving",
        "ConvergenceDetected": "ConvergenceDetected",
    },
    "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": _V},
    "ConvergenceDetected": {"CompleteOnConvergence": _V},
    "HyperParameterTuningJobStrategyConfig": {"HyperbandStrategyConfig": "HyperbandStrategyConfig"},
    "HyperbandStrategyConfig": {"MinResource": _V, "MaxResource": _V},
    "HyperParameterTuningJobWarmStartConfig": {
        "ParentHyperParameterTuningJobs": ["ParentHyperParameterTuningJob"],
        "WarmStartType": _V,
    },
    "ParentHyperParameterTuningJob": {"HyperParameterTuningJobName": _V},
    "BatchDataCaptureConfig": {"DestinationS3Uri": _V, "KmsKeyId": _V, "GenerateInferenceId": _V},
    "ContainerDefinition": {
        "ContainerHostname": _V,
        "Image": _V,
        "ImageConfig": "ImageConfig",
        "Mode": _V,
        "ModelDataUrl": _V,
        "ModelDataSource": "ModelDataSource",
        "AdditionalModelDataSources": ["AdditionalModelDataSource"],
        "Environment": _M,
        "ModelPackageName": _V,
        "InferenceSpecificationName": _V,
        "MultiModelConfig": "MultiModelConfig",
    },
    "ImageConfig": {"RepositoryAccessMode": _V, "RepositoryAuthConfig": "RepositoryAuthConfig"},
    "RepositoryAuthConfig": {"RepositoryCredentialsProviderArn": _V},
    "ModelDataSource": {"S3DataSource": "S3ModelDataSource"},
    "S3ModelDataSource": {
        "S3Uri": _V,
        "S3DataType": _V,
        "CompressionType": _V,
        "ModelAccessConfig": "ModelAccessConfig",
        "ManifestS3Uri": _V,
        "ETag": _V,
        "ManifestEtag": _V,
    },
    "AdditionalModelDataSource": {"ChannelName": _V, "S3DataSource": "S3ModelDataSource"},
    "MultiModelConfig": {"ModelCacheSetting": _V},
}

# Classes that do not live in sagemaker.core.shapes.
_CLASS_MODULES = {
    "Compute": "sagemaker.core.training.configs",
    "Networking": "sagemaker.core.training.configs",
}


@dataclass
class JobCode:
    """Python source (SDK v3) that builds one pipeline step's ``step_args``."""

    step_class: str
    """The step to wrap the args in: ``{step_class}(name=..., step_args={var}_args)``."""
    imports: list[str]
    """Import lines the code needs, one name per line (merge and sort freely)."""
    code: str
    """Statements that assign ``{var}_args``; they use the in-scope ``session`` (a
    PipelineSession) and ``role`` (the pipeline's default role ARN)."""
    differences: list[str] = field(default_factory=list)
    """Config fields the classes could not reproduce exactly, one sentence each."""
    owned: list[str] = field(default_factory=list)
    """Config fields the pipeline owns and drops on purpose (job names)."""

    @property
    def exact(self) -> bool:
        return not self.differences

    def source(self) -> str:
        """Imports and code as one block (handy for tests and previews)."""
        return "\n".join([*self.imports, "", self.code])


def owned_fields(job: str) -> set[str]:
    """Config fields of this job that the pipeline owns (drops from Arguments on purpose)."""
    _check_job(job)
    return set(_OWNED[job])


def sub_jobs(job: str, config: dict) -> list[tuple[str, dict]]:
    """The resources an operator config creates, in order, as (job, config) pairs.

    SageMakerTransformOperator may also create its model (``{"Model": ..., "Transform": ...}``)
    and SageMakerEndpointOperator its model and endpoint config (``{"Model": ...,
    "EndpointConfig": ..., "Endpoint": ...}``). A pipeline step creates one resource, so such a
    config becomes several steps; `job_code` on the combined config builds the last one only.
    """
    _check_job(job)
    if not isinstance(config, dict):
        return [(job, config)]
    if job == "transform" and "Transform" in config:
        head = [("model", config["Model"])] if "Model" in config else []
        return [*head, ("transform", config["Transform"])]
    if job == "endpoint" and ("Endpoint" in config or "EndpointConfig" in config):
        parts = []
        if "Model" in config:
            parts.append(("model", config["Model"]))
        if "EndpointConfig" in config:
            parts.append(("endpoint_config", config["EndpointConfig"]))
        return [*parts, ("endpoint", config.get("Endpoint", config))]
    return [(job, config)]


def request_view(job: str, config: dict) -> tuple[dict, list[str]]:
    """The request the operator sends for this job's resource, and what it leaves aside.

    Applies what the operator does before calling boto3: pops ``S3Operations``, casts its
    integer fields, picks the ``Transform`` / ``Endpoint`` part of a combined config, and for
    SageMakerRegisterModelVersionOperator (whose kwargs are not a request) builds the
    CreateModelPackage request from the kwargs as the operator does.
    """
    _check_job(job)
    if not isinstance(config, dict):
        raise TypeError(f"{job}: config must be a dict, got {type(config).__name__}")
    notes: list[str] = []
    if job == "register_model":
        request, notes = _register_request(config)
        return request, notes
    request = copy.deepcopy(config)
    if "S3Operations" in request:
        request.pop("S3Operations")
        notes.append(
            "S3Operations: the operator creates buckets and uploads files before the job; "
            "the pipeline step does not."
        )
    if job == "transform" and "Transform" in request:
        if "Model" in request:
            notes.append(
                "Model: the operator also creates this model; in the pipeline it is its own "
                "ModelStep (see sub_jobs), not part of the transform step."
            )
        request = request["Transform"]
    if job == "endpoint" and ("Endpoint" in request or "EndpointConfig" in request):
        for part, what in (("Model", "ModelStep"), ("EndpointConfig", "EndpointConfigStep")):
            if part in request:
                notes.append(
                    f"{part}: the operator also creates this resource; in the pipeline it is "
                    f"its own {what} (see sub_jobs), not part of the endpoint step."
                )
        request = request.get("Endpoint", request)
    if not isinstance(request, dict):
        raise TypeError(f"{job}: the request part of the config must be a dict")
    for path in _INTEGER_FIELDS[job]:
        _cast_int(request, path)
    return request, notes


# ---------------------------------------------------------------------------------------------
# Code generation


def job_code(job: str, config: dict, var: str, value_code: Callable[[Any], str] = repr) -> JobCode:
    """Source that builds ``{var}_args``, the step args reproducing an operator's ``config``.

    ``value_code`` renders one config leaf (a string, number, bool, None or a pipeline value
    object) as Python source; every config value in the code goes through it.
    """
    _check_job(job)
    if not var.isidentifier():
        raise ValueError(f"var must be a Python identifier, got {var!r}")
    request, notes = request_view(job, config)
    gen = _Gen(job, var, value_code)
    for note in notes:
        gen.diff(note)
    owned = sorted(k for k in _OWNED[job] if k in request)
    body = {k: v for k, v in request.items() if k not in _OWNED[job]}
    _BUILDERS[job](gen, body)
    return JobCode(
        step_class=STEP_CLASSES[job],
        imports=gen.import_lines(),
        code="\n".join(gen.lines) + "\n",
        differences=gen.differences,
        owned=owned,
    )


def _pascal_to_snake(name: str) -> str:
    """The SDK's own conversion (sagemaker.core.utils.utils.pascal_to_snake)."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class _Gen:
    """Collects statements, imports and differences while rendering one job."""

    def __init__(self, job: str, var: str, value_code: Callable[[Any], str]):
        self.job = job
        self.var = var
        self.value_code = value_code
        self.imports: dict[str, set[str]] = {}
        self.lines: list[str] = []
        self.differences: list[str] = []
        self.base_name = re.sub(r"[^A-Za-z0-9-]", "-", var).strip("-")[:24] or "step"

    # -- bookkeeping

    def imp(self, module: str, name: str) -> str:
        self.imports.setdefault(module, set()).add(name)
        return name

    def shape_class(self, name: str) -> str:
        return self.imp(_CLASS_MODULES.get(name, _SHAPES_MODULE), name)

    def diff(self, message: str) -> None:
        if message not in self.differences:
            self.differences.append(message)

    def unsupported(self, path: str, where: str) -> None:
        self.diff(f"{path}: {where} has no parameter for it; dropped.")

    def import_lines(self) -> list[str]:
        return [
            f"from {module} import {name}"
            for module in sorted(self.imports)
            for name in sorted(self.imports[module])
        ]

    def assign(self, name: str, node: Any) -> None:
        prefix = f"{name} = "
        self.lines.append(prefix + _fmt(node, 0, len(prefix)))

    def call_stmt(self, target: str | None, func: str, args: list) -> None:
        node = ("call", func, args)
        if target is None:
            self.lines.append(_fmt(node, 0, 0))
        else:
            self.assign(target, node)

    # -- rendering config values

    def leaf(self, value: Any, path: str) -> str | None:
        if isinstance(value, (dict, list, tuple)):
            self.diff(f"{path}: expected a single value, found a {type(value).__name__}; dropped.")
            return None
        return self.value_code(value)

    def values(self, value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return self.dynamic(path, value, "a list")
        items = [self.leaf(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return ("list", [i for i in items if i is not None])

    def mapping(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return self.dynamic(path, value, "a dict")
        items = []
        for k, v in value.items():
            node = self.leaf(v, f"{path}.{k}")
            if node is not None:
                items.append((self.value_code(k), node))
        return ("dict", items)

    def raw(self, value: Any) -> Any:
        """A boto-shaped structure passed through as is (its leaves via value_code)."""
        if isinstance(value, dict):
            return ("dict", [(self.value_code(k), self.raw(v)) for k, v in value.items()])
        if isinstance(value, (list, tuple)):
            return ("list", [self.raw(v) for v in value])
        return self.value_code(value)

    def dynamic(self, path: str, value: Any, expected: str) -> None:
        self.diff(
            f"{path}: expected {expected} but the value ({type(value).__name__}) is only "
            "known at run time, so it cannot be spread into SDK arguments; dropped."
        )
        return None

    def kind(self, kind: Any, value: Any, path: str) -> Any:
        if kind == _V:
            return self.leaf(value, path)
        if kind == _L:
            return self.values(value, path)
        if kind == _M:
            return self.mapping(value, path)
        if kind == _RAW:
            return self.raw(value)
        if kind in (_TAGS, _TAG_SHAPES):
            return self.tags(value, path, as_shape=kind == _TAG_SHAPES)
        if isinstance(kind, list):
            return self.shapes(kind[0], value, path)
        return self.shape(kind, value, path)

    def shape(self, name: str, value: Any, path: str, skip: tuple[str, ...] = ()) -> Any:
        if not isinstance(value, dict):
            return self.dynamic(path, value, "a dict")
        spec = _SHAPES[name]
        args = []
        for key, item in value.items():
            if key in skip:
                continue
            if key not in spec:
                self.unsupported(f"{path}.{key}", name)
                continue
            node = self.kind(spec[key], item, f"{path}.{key}")
            if node is not None:
                args.append((_pascal_to_snake(key), node))
        return ("call", self.shape_class(name), args)

    def shapes(self, name: str, value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return self.dynamic(path, value, "a list")
        items = [self.shape(name, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return ("list", [i for i in items if i is not None])

    def tags(self, value: Any, path: str, as_shape: bool) -> Any:
        """Tags as Tag(key=, value=) shapes (ModelTrainer) or boto dicts (everything else)."""
        if not isinstance(value, (list, tuple)):
            return self.dynamic(path, value, "a list")
        items = []
        for i, tag in enumerate(value):
            if not isinstance(tag, dict) or set(tag) != {"Key", "Value"}:
                self.diff(f"{path}[{i}]: not a {{'Key': ..., 'Value': ...}} tag; dropped.")
                continue
            if as_shape:
                items.append(
                    (
                        "call",
                        self.shape_class("Tag"),
                        [
                            ("key", self.value_code(tag["Key"])),
                            ("value", self.value_code(tag["Value"])),
                        ],
                    )
                )
            else:
                items.append(self.raw(tag))
        return ("list", items)

    def sub(self, config: dict, key: str, path: str) -> dict:
        """config[key] when it is a dict; {} (with a difference) when it is run-time only."""
        value = config.get(key, {})
        if isinstance(value, dict):
            return value
        self.dynamic(path, value, "a dict")
        return {}

    def take(
        self,
        args: list,
        kwarg: str,
        config: dict,
        key: str,
        path: str,
        kind: Any = _V,
        default: str | None = None,
    ) -> None:
        """Append ``kwarg=<config[key] rendered>`` to args (or ``kwarg=default`` without it)."""
        node = self.kind(kind, config[key], f"{path}{key}") if key in config else default
        if node is not None:
            args.append((kwarg, node))

    def rest(self, config: dict, handled: set[str], path: str, where: str) -> None:
        for key in config:
            if key not in handled:
                self.unsupported(f"{path}{key}", where)


# ---------------------------------------------------------------------------------------------
# Per job


def _training_trainer(gen: _Gen, cfg: dict, path: str, tuning: bool) -> tuple[str, list]:
    """The ModelTrainer for a training job (or a tuning job's TrainingJobDefinition).

    Returns the trainer's variable name and, for tuning, the metric definitions the tuner
    (not the trainer) carries.
    """
    trainer = f"{gen.var}_trainer"
    args: list = []
    after: list[tuple[str, Any]] = []
    metric_definitions: list = []
    where = "HyperparameterTuner" if tuning else "ModelTrainer"

    algo = gen.sub(cfg, "AlgorithmSpecification", f"{path}AlgorithmSpecification")
    apath = f"{path}AlgorithmSpecification."
    gen.take(args, "training_image", algo, "TrainingImage", apath)
    if tuning and "AlgorithmName" in algo:
        gen.unsupported(f"{apath}AlgorithmName", where)
    else:
        gen.take(args, "algorithm_name", algo, "AlgorithmName", apath)
    gen.take(args, "training_input_mode", algo, "TrainingInputMode", apath)
    if tuning:
        if "TrainingImageConfig" in algo:
            gen.unsupported(f"{apath}TrainingImageConfig", where)
        if "MetricDefinitions" in algo:
            node = gen.raw(algo["MetricDefinitions"])
            metric_definitions = [("metric_definitions", node)]
    else:
        gen.take(
            args, "training_image_config", algo, "TrainingImageConfig", apath, "TrainingImageConfig"
        )
        if "MetricDefinitions" in algo:
            node = gen.shapes(
                "MetricDefinition", algo["MetricDefinitions"], f"{apath}MetricDefinitions"
            )
            if node is not None:
                after.append(("with_metric_definitions", node))
    gen.rest(
        algo,
        {
            "TrainingImage",
            "AlgorithmName",
            "TrainingInputMode",
            "MetricDefinitions",
            "TrainingImageConfig",
        },
        apath,
        where,
    )

    gen.take(args, "role", cfg, "RoleArn", path, default="role")

    compute_cfg = gen.sub(cfg, "ResourceConfig", f"{path}ResourceConfig")
    if tuning:
        compute_cfg = dict(compute_cfg)
        for key in list(compute_cfg):
            if key not in ("InstanceType", "InstanceCount", "VolumeSizeInGB"):
                gen.unsupported(f"{path}ResourceConfig.{key}", where)
                compute_cfg.pop(key)
    if "ResourceConfig" in cfg or "EnableManagedSpotTraining" in cfg:
        compute = gen.shape("Compute", compute_cfg, f"{path}ResourceConfig")
        if compute is not None:
            gen.take(
                compute[2], "enable_managed_spot_training", cfg, "EnableManagedSpotTraining", path
            )
            args.append(("compute", compute))

    stop = cfg.get("StoppingCondition")
    if tuning and isinstance(stop, dict) and "MaxPendingTimeInSeconds" in stop:
        gen.unsupported(f"{path}StoppingCondition.MaxPendingTimeInSeconds", where)
        stop = {k: v for k, v in stop.items() if k != "MaxPendingTimeInSeconds"}
    if "StoppingCondition" in cfg:
        gen.take(
            args,
            "stopping_condition",
            {"StoppingCondition": stop},
            "StoppingCondition",
            path,
            "StoppingCondition",
        )
    gen.take(args, "output_data_config", cfg, "OutputDataConfig", path, "OutputDataConfig")
    gen.take(args, "input_data_config", cfg, "InputDataConfig", path, ["Channel"])
    hp_key = "StaticHyperParameters" if tuning else "HyperParameters"
    gen.take(args, "hyperparameters", cfg, hp_key, path, _M)
    gen.take(args, "environment", cfg, "Environment", path, _M)

    net_args: list = []
    if "VpcConfig" in cfg:
        vpc = gen.sub(cfg, "VpcConfig", f"{path}VpcConfig")
        gen.take(net_args, "subnets", vpc, "Subnets", f"{path}VpcConfig.", _L)
        gen.take(net_args, "security_group_ids", vpc, "SecurityGroupIds", f"{path}VpcConfig.", _L)
        gen.rest(vpc, {"Subnets", "SecurityGroupIds"}, f"{path}VpcConfig.", "Networking")
    for key, kwarg in (
        ("EnableNetworkIsolation", "enable_network_isolation"),
        ("EnableInterContainerTrafficEncryption", "enable_inter_container_traffic_encryption"),
    ):
        if key in cfg:
            if tuning:
                gen.unsupported(f"{path}{key}", where)
            else:
                gen.take(net_args, kwarg, cfg, key, path)
    if net_args:
        args.append(("networking", ("call", gen.shape_class("Networking"), net_args)))

    gen.take(args, "checkpoint_config", cfg, "CheckpointConfig", path, "CheckpointConfig")
    if not tuning:
        gen.take(args, "tags", cfg, "Tags", path, _TAG_SHAPES)
        gen.take(
            args, "model_package_config", cfg, "ModelPackageConfig", path, "ModelPackageConfig"
        )
        for key, method in (
            ("TensorBoardOutputConfig", "with_tensorboard_output_config"),
            ("InfraCheckConfig", "with_infra_check_config"),
            ("SessionChainingConfig", "with_session_chaining_config"),
            ("RemoteDebugConfig", "with_remote_debug_config"),
        ):
            if key in cfg:
                node = gen.shape(key, cfg[key], f"{path}{key}")
                if node is not None:
                    after.append((method, node))
    if "RetryStrategy" in cfg:
        node = gen.shape("RetryStrategy", cfg["RetryStrategy"], f"{path}RetryStrategy")
        if node is not None:
            after.append(("with_retry_strategy", node))

    handled = {
        "AlgorithmSpecification",
        "RoleArn",
        "ResourceConfig",
        "EnableManagedSpotTraining",
        "StoppingCondition",
        "OutputDataConfig",
        "InputDataConfig",
        hp_key,
        "Environment",
        "VpcConfig",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "CheckpointConfig",
        "RetryStrategy",
    }
    if not tuning:
        handled |= {
            "Tags",
            "ModelPackageConfig",
            "TensorBoardOutputConfig",
            "InfraCheckConfig",
            "SessionChainingConfig",
            "RemoteDebugConfig",
        }
    gen.rest(cfg, handled, path, where)

    args.append(("base_job_name", repr(gen.base_name)))
    args.append(("sagemaker_session", "session"))
    gen.imp("sagemaker.train", "ModelTrainer")
    gen.call_stmt(trainer, "ModelTrainer", args)
    for method, node in after:
        gen.call_stmt(None, f"{trainer}.{method}", [(None, node)])
    return trainer, metric_definitions


def _build_training(gen: _Gen, cfg: dict) -> None:
    trainer, _ = _training_trainer(gen, cfg, "", tuning=False)
    gen.lines.append(f"{gen.var}_args = {trainer}.train()")


def _build_processing(gen: _Gen, cfg: dict) -> None:
    args: list = []
    run: list = []
    app = gen.sub(cfg, "AppSpecification", "AppSpecification")
    gen.take(args, "role", cfg, "RoleArn", "", default="role")
    gen.take(args, "image_uri", app, "ImageUri", "AppSpecification.")
    gen.take(args, "entrypoint", app, "ContainerEntrypoint", "AppSpecification.", _L)
    gen.take(run, "arguments", app, "ContainerArguments", "AppSpecification.", _L)
    gen.rest(
        app,
        {"ImageUri", "ContainerEntrypoint", "ContainerArguments"},
        "AppSpecification.",
        "Processor",
    )

    resources = gen.sub(cfg, "ProcessingResources", "ProcessingResources")
    cluster = gen.sub(resources, "ClusterConfig", "ProcessingResources.ClusterConfig")
    cpath = "ProcessingResources.ClusterConfig."
    gen.take(args, "instance_count", cluster, "InstanceCount", cpath)
    gen.take(args, "instance_type", cluster, "InstanceType", cpath)
    gen.take(args, "volume_size_in_gb", cluster, "VolumeSizeInGB", cpath)
    gen.take(args, "volume_kms_key", cluster, "VolumeKmsKeyId", cpath)
    gen.take(args, "instance_preferences", cluster, "InstancePreferences", cpath, _RAW)
    gen.rest(
        cluster,
        {
            "InstanceCount",
            "InstanceType",
            "VolumeSizeInGB",
            "VolumeKmsKeyId",
            "InstancePreferences",
        },
        cpath,
        "Processor",
    )
    gen.rest(resources, {"ClusterConfig"}, "ProcessingResources.", "Processor")

    stop = gen.sub(cfg, "StoppingCondition", "StoppingCondition")
    gen.take(args, "max_runtime_in_seconds", stop, "MaxRuntimeInSeconds", "StoppingCondition.")
    gen.rest(stop, {"MaxRuntimeInSeconds"}, "StoppingCondition.", "Processor")
    gen.take(args, "env", cfg, "Environment", "", _M)
    gen.take(args, "tags", cfg, "Tags", "", _TAGS)

    if "NetworkConfig" in cfg:
        net = gen.sub(cfg, "NetworkConfig", "NetworkConfig")
        net_args: list = []
        gen.take(
            net_args, "enable_network_isolation", net, "EnableNetworkIsolation", "NetworkConfig."
        )
        gen.take(
            net_args,
            "encrypt_inter_container_traffic",
            net,
            "EnableInterContainerTrafficEncryption",
            "NetworkConfig.",
        )
        vpc = gen.sub(net, "VpcConfig", "NetworkConfig.VpcConfig")
        gen.take(
            net_args, "security_group_ids", vpc, "SecurityGroupIds", "NetworkConfig.VpcConfig.", _L
        )
        gen.take(net_args, "subnets", vpc, "Subnets", "NetworkConfig.VpcConfig.", _L)
        gen.rest(vpc, {"SecurityGroupIds", "Subnets"}, "NetworkConfig.VpcConfig.", "NetworkConfig")
        gen.rest(
            net,
            {"EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "VpcConfig"},
            "NetworkConfig.",
            "NetworkConfig",
        )
        args.append(
            (
                "network_config",
                ("call", gen.imp("sagemaker.core.network", "NetworkConfig"), net_args),
            )
        )

    outputs_cfg = gen.sub(cfg, "ProcessingOutputConfig", "ProcessingOutputConfig")
    gen.take(args, "output_kms_key", outputs_cfg, "KmsKeyId", "ProcessingOutputConfig.")
    gen.rest(outputs_cfg, {"KmsKeyId", "Outputs"}, "ProcessingOutputConfig.", "Processor")
    args.append(("base_job_name", repr(gen.base_name)))
    args.append(("sagemaker_session", "session"))

    inputs = _dropping_list(
        gen,
        cfg,
        "ProcessingInputs",
        "ProcessingInputs",
        "ProcessingInput",
        "DatasetDefinition",
        "the v3 Processor drops dataset definitions (Athena/Redshift inputs) from the request; "
        "input dropped.",
    )
    outputs = _dropping_list(
        gen,
        outputs_cfg,
        "Outputs",
        "ProcessingOutputConfig.Outputs",
        "ProcessingOutput",
        "FeatureStoreOutput",
        "the v3 Processor drops feature store outputs from the request; output dropped.",
    )
    run[:0] = [(k, n) for k, n in (("inputs", inputs), ("outputs", outputs)) if n is not None]
    _experiment_config(gen, cfg, run)

    gen.rest(
        cfg,
        {
            "RoleArn",
            "AppSpecification",
            "ProcessingResources",
            "StoppingCondition",
            "Environment",
            "Tags",
            "NetworkConfig",
            "ProcessingOutputConfig",
            "ProcessingInputs",
            "ExperimentConfig",
        },
        "",
        "Processor",
    )
    gen.imp("sagemaker.core.processing", "Processor")
    processor = f"{gen.var}_processor"
    gen.call_stmt(processor, "Processor", args)
    gen.call_stmt(f"{gen.var}_args", f"{processor}.run", run)


def _dropping_list(
    gen: _Gen, cfg: dict, key: str, path: str, shape: str, dropped_key: str, why: str
) -> Any:
    """A list of shapes whose items holding ``dropped_key`` the SDK cannot carry."""
    if key not in cfg:
        return None
    value = cfg[key]
    if not isinstance(value, (list, tuple)):
        return gen.dynamic(path, value, "a list")
    items = []
    for i, item in enumerate(value):
        if isinstance(item, dict) and dropped_key in item:
            gen.diff(f"{path}[{i}].{dropped_key}: {why}")
            continue
        node = gen.shape(shape, item, f"{path}[{i}]")
        if node is not None:
            items.append(node)
    return ("list", items)


def _experiment_config(gen: _Gen, cfg: dict, run: list) -> None:
    """ExperimentConfig: under a PipelineSession only TrialComponentDisplayName survives."""
    if "ExperimentConfig" not in cfg:
        return
    exp = gen.sub(cfg, "ExperimentConfig", "ExperimentConfig")
    for key in exp:
        if key != "TrialComponentDisplayName":
            gen.diff(
                f"ExperimentConfig.{key}: a pipeline step runs in the pipeline's own experiment "
                "and trial (PipelineExperimentConfig); dropped."
            )
    if "TrialComponentDisplayName" in exp:
        node = gen.leaf(
            exp["TrialComponentDisplayName"], "ExperimentConfig.TrialComponentDisplayName"
        )
        if node is not None:
            run.append(("experiment_config", ("dict", [("'TrialComponentDisplayName'", node)])))


def _build_transform(gen: _Gen, cfg: dict) -> None:
    args: list = []
    run: list = []
    gen.take(args, "model_name", cfg, "ModelName", "")
    resources = gen.sub(cfg, "TransformResources", "TransformResources")
    rpath = "TransformResources."
    gen.take(args, "instance_count", resources, "InstanceCount", rpath)
    gen.take(args, "instance_type", resources, "InstanceType", rpath)
    gen.take(args, "volume_kms_key", resources, "VolumeKmsKeyId", rpath)
    gen.take(args, "transform_ami_version", resources, "TransformAmiVersion", rpath)
    gen.rest(
        resources,
        {"InstanceCount", "InstanceType", "VolumeKmsKeyId", "TransformAmiVersion"},
        rpath,
        "Transformer",
    )
    gen.take(args, "strategy", cfg, "BatchStrategy", "")
    output = gen.sub(cfg, "TransformOutput", "TransformOutput")
    opath = "TransformOutput."
    gen.take(args, "output_path", output, "S3OutputPath", opath)
    gen.take(args, "accept", output, "Accept", opath)
    gen.take(args, "assemble_with", output, "AssembleWith", opath)
    gen.take(args, "output_kms_key", output, "KmsKeyId", opath)
    gen.rest(output, {"S3OutputPath", "Accept", "AssembleWith", "KmsKeyId"}, opath, "Transformer")
    gen.take(args, "max_concurrent_transforms", cfg, "MaxConcurrentTransforms", "")
    gen.take(args, "max_payload", cfg, "MaxPayloadInMB", "")
    gen.take(args, "env", cfg, "Environment", "", _M)
    gen.take(args, "tags", cfg, "Tags", "", _TAGS)
    args.append(("base_transform_job_name", repr(gen.base_name)))
    args.append(("sagemaker_session", "session"))

    tin = gen.sub(cfg, "TransformInput", "TransformInput")
    source = gen.sub(tin, "DataSource", "TransformInput.DataSource")
    s3 = gen.sub(source, "S3DataSource", "TransformInput.DataSource.S3DataSource")
    spath = "TransformInput.DataSource.S3DataSource."
    gen.take(run, "data", s3, "S3Uri", spath)
    gen.take(run, "data_type", s3, "S3DataType", spath)
    gen.rest(s3, {"S3Uri", "S3DataType"}, spath, "Transformer.transform")
    gen.rest(source, {"S3DataSource"}, "TransformInput.DataSource.", "Transformer.transform")
    ipath = "TransformInput."
    gen.take(run, "content_type", tin, "ContentType", ipath)
    gen.take(run, "compression_type", tin, "CompressionType", ipath)
    gen.take(run, "split_type", tin, "SplitType", ipath)
    gen.rest(
        tin,
        {"DataSource", "ContentType", "CompressionType", "SplitType"},
        ipath,
        "Transformer.transform",
    )
    processing = gen.sub(cfg, "DataProcessing", "DataProcessing")
    dpath = "DataProcessing."
    gen.take(run, "input_filter", processing, "InputFilter", dpath)
    gen.take(run, "output_filter", processing, "OutputFilter", dpath)
    gen.take(run, "join_source", processing, "JoinSource", dpath)
    gen.rest(
        processing, {"InputFilter", "OutputFilter", "JoinSource"}, dpath, "Transformer.transform"
    )
    _experiment_config(gen, cfg, run)
    gen.take(run, "model_client_config", cfg, "ModelClientConfig", "", _RAW)
    gen.take(
        run, "batch_data_capture_config", cfg, "DataCaptureConfig", "", "BatchDataCaptureConfig"
    )
    gen.rest(
        cfg,
        {
            "ModelName",
            "TransformResources",
            "BatchStrategy",
            "TransformOutput",
            "MaxConcurrentTransforms",
            "MaxPayloadInMB",
            "Environment",
            "Tags",
            "TransformInput",
            "DataProcessing",
            "ExperimentConfig",
            "ModelClientConfig",
            "DataCaptureConfig",
        },
        "",
        "Transformer",
    )
    gen.imp("sagemaker.core.transformer", "Transformer")
    transformer = f"{gen.var}_transformer"
    gen.call_stmt(transformer, "Transformer", args)
    gen.call_stmt(f"{gen.var}_args", f"{transformer}.transform", run)


_RANGE_CLASSES = {
    "IntegerParameterRanges": "IntegerParameter",
    "ContinuousParameterRanges": "ContinuousParameter",
    "CategoricalParameterRanges": "CategoricalParameter",
}


def _build_tuning(gen: _Gen, cfg: dict) -> None:
    if "TrainingJobDefinitions" in cfg:
        gen.diff(
            "TrainingJobDefinitions: several training definitions need "
            "HyperparameterTuner.create(model_trainer_dict=...), which this generator does not "
            "emit; only TrainingJobDefinition is translated."
        )
    definition = gen.sub(cfg, "TrainingJobDefinition", "TrainingJobDefinition")
    for key in ("DefinitionName", "TuningObjective", "HyperParameterRanges"):
        if key in definition:
            gen.unsupported(f"TrainingJobDefinition.{key}", "HyperparameterTuner")
    definition = {
        k: v
        for k, v in definition.items()
        if k not in ("DefinitionName", "TuningObjective", "HyperParameterRanges")
    }
    trainer, metric_definitions = _training_trainer(
        gen, definition, "TrainingJobDefinition.", tuning=True
    )

    args: list = [("model_trainer", trainer)]
    job = gen.sub(cfg, "HyperParameterTuningJobConfig", "HyperParameterTuningJobConfig")
    jpath = "HyperParameterTuningJobConfig."
    objective = gen.sub(
        job, "HyperParameterTuningJobObjective", f"{jpath}HyperParameterTuningJobObjective"
    )
    opath = f"{jpath}HyperParameterTuningJobObjective."
    if "MetricName" in objective:
        gen.take(args, "objective_metric_name", objective, "MetricName", opath)
    else:
        args.append(("objective_metric_name", "None"))
    gen.take(args, "objective_type", objective, "Type", opath)
    gen.rest(objective, {"MetricName", "Type"}, opath, "HyperparameterTuner")

    ranges = gen.sub(job, "ParameterRanges", f"{jpath}ParameterRanges")
    range_items = []
    for key, cls in _RANGE_CLASSES.items():
        if key not in ranges:
            continue
        items = ranges[key]
        if not isinstance(items, (list, tuple)):
            gen.dynamic(f"{jpath}ParameterRanges.{key}", items, "a list")
            continue
        for i, item in enumerate(items):
            path = f"{jpath}ParameterRanges.{key}[{i}]"
            if not isinstance(item, dict) or "Name" not in item:
                gen.dynamic(path, item, "a dict with a Name")
                continue
            gen.imp("sagemaker.core.parameter", cls)
            if cls == "CategoricalParameter":
                values = gen.values(item.get("Values", []), f"{path}.Values")
                call = ("call", cls, [("values", values)] if values is not None else [])
                gen.rest(item, {"Name", "Values"}, f"{path}.", cls)
            else:
                call_args = [
                    ("min_value", gen.leaf(item.get("MinValue"), f"{path}.MinValue")),
                    ("max_value", gen.leaf(item.get("MaxValue"), f"{path}.MaxValue")),
                ]
                gen.take(call_args, "scaling_type", item, "ScalingType", f"{path}.")
                gen.rest(item, {"Name", "MinValue", "MaxValue", "ScalingType"}, f"{path}.", cls)
                call = ("call", cls, call_args)
            range_items.append((gen.value_code(item["Name"]), call))
    gen.rest(ranges, set(_RANGE_CLASSES), f"{jpath}ParameterRanges.", "HyperparameterTuner")
    args.append(("hyperparameter_ranges", ("dict", range_items)))
    args.extend(metric_definitions)
    gen.take(args, "strategy", job, "Strategy", jpath)
    limits = gen.sub(job, "ResourceLimits", f"{jpath}ResourceLimits")
    lpath = f"{jpath}ResourceLimits."
    gen.take(args, "max_jobs", limits, "MaxNumberOfTrainingJobs", lpath)
    gen.take(args, "max_parallel_jobs", limits, "MaxParallelTrainingJobs", lpath)
    gen.take(args, "max_runtime_in_seconds", limits, "MaxRuntimeInSeconds", lpath)
    gen.rest(
        limits,
        {"MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs", "MaxRuntimeInSeconds"},
        lpath,
        "HyperparameterTuner",
    )
    gen.take(
        args,
        "strategy_config",
        job,
        "StrategyConfig",
        jpath,
        "HyperParameterTuningJobStrategyConfig",
    )
    gen.take(
        args,
        "completion_criteria_config",
        job,
        "TuningJobCompletionCriteria",
        jpath,
        "TuningJobCompletionCriteria",
    )
    gen.take(args, "early_stopping_type", job, "TrainingJobEarlyStoppingType", jpath)
    gen.take(args, "random_seed", job, "RandomSeed", jpath)
    if job.get("RandomSeed") == 0:
        gen.diff(f"{jpath}RandomSeed: the tuner leaves a seed of 0 out of the request.")
    gen.rest(
        job,
        {
            "HyperParameterTuningJobObjective",
            "ParameterRanges",
            "Strategy",
            "ResourceLimits",
            "StrategyConfig",
            "TuningJobCompletionCriteria",
            "TrainingJobEarlyStoppingType",
            "RandomSeed",
        },
        jpath,
        "HyperparameterTuner",
    )
    gen.take(args, "tags", cfg, "Tags", "", _TAGS)
    gen.take(
        args,
        "warm_start_config",
        cfg,
        "WarmStartConfig",
        "",
        "HyperParameterTuningJobWarmStartConfig",
    )
    if "Autotune" in cfg:
        autotune = cfg["Autotune"]
        if isinstance(autotune, dict) and autotune.get("Mode") == "Enabled":
            args.append(("autotune", "True"))
        else:
            gen.diff(
                "Autotune: only {'Mode': 'Enabled'} maps to HyperparameterTuner(autotune=True)."
            )
    gen.rest(
        cfg,
        {
            "HyperParameterTuningJobConfig",
            "TrainingJobDefinition",
            "TrainingJobDefinitions",
            "Tags",
            "WarmStartConfig",
            "Autotune",
        },
        "",
        "HyperparameterTuner",
    )
    args.append(("base_tuning_job_name", repr(gen.base_name)))
    gen.imp("sagemaker.train.tuner", "HyperparameterTuner")
    tuner = f"{gen.var}_tuner"
    gen.call_stmt(tuner, "HyperparameterTuner", args)
    gen.lines.append(f"{gen.var}_args = {tuner}.tune()")


_BUILDER_CONTAINER_KEYS = {
    "Image": "image_uri",
    "ModelDataUrl": "s3_model_data_url",
    "ModelDataSource": "s3_model_data_url",
    "Environment": "env_vars",
    "ImageConfig": "image_config",
}


def _model_builder(
    gen: _Gen, cfg: dict, container_path: str = "PrimaryContainer"
) -> tuple[str, list]:
    """ModelBuilder arguments for a CreateModel-shaped config; returns (builder, build kwargs)."""
    args: list = []
    if "Containers" in cfg and "PrimaryContainer" not in cfg:
        containers = cfg["Containers"]
        if isinstance(containers, (list, tuple)):
            models = []
            for i, container in enumerate(containers):
                node = gen.shape("ContainerDefinition", container, f"Containers[{i}]")
                if node is None:
                    continue
                name = repr(f"{gen.base_name}-container-{i + 1}")
                models.append(
                    (
                        "call",
                        gen.imp("sagemaker.core.resources", "Model"),
                        [("model_name", name), ("primary_container", node)],
                    )
                )
            args.append(("model", ("list", models)))
        else:
            gen.dynamic("Containers", containers, "a list")
    else:
        if "Containers" in cfg:
            gen.diff("Containers: ignored because PrimaryContainer is set.")
        container = gen.sub(cfg, "PrimaryContainer", container_path)
        cpath = f"{container_path}."
        if "ModelDataUrl" in container and "ModelDataSource" in container:
            gen.diff(
                f"{cpath}ModelDataSource: ModelBuilder takes either a model data URL "
                "or a ModelDataSource; ModelDataSource dropped."
            )
        for key, kwarg in _BUILDER_CONTAINER_KEYS.items():
            if key not in container:
                continue
            if key == "ModelDataSource" and "ModelDataUrl" in container:
                continue
            kind = (
                _M
                if key == "Environment"
                else _RAW
                if key in ("ModelDataSource", "ImageConfig")
                else _V
            )
            gen.take(args, kwarg, container, key, cpath, kind)
        gen.rest(container, set(_BUILDER_CONTAINER_KEYS), cpath, "ModelBuilder")
    gen.take(args, "role_arn", cfg, "ExecutionRoleArn", "", default="role")
    net_args: list = []
    if "VpcConfig" in cfg:
        vpc = gen.sub(cfg, "VpcConfig", "VpcConfig")
        gen.take(net_args, "subnets", vpc, "Subnets", "VpcConfig.", _L)
        gen.take(net_args, "security_group_ids", vpc, "SecurityGroupIds", "VpcConfig.", _L)
        gen.rest(vpc, {"Subnets", "SecurityGroupIds"}, "VpcConfig.", "Networking")
    gen.take(net_args, "enable_network_isolation", cfg, "EnableNetworkIsolation", "")
    if net_args:
        args.append(("network", ("call", gen.shape_class("Networking"), net_args)))
    # An empty dependencies dict keeps ModelBuilder out of script mode, which would add
    # SAGEMAKER_PROGRAM / SAGEMAKER_REGION ... to the container environment.
    args.append(("dependencies", ("dict", [])))
    args.append(("sagemaker_session", "session"))
    build: list = []
    gen.take(build, "tags", cfg, "Tags", "", _TAGS)
    gen.imp("sagemaker.serve", "ModelBuilder")
    builder = f"{gen.var}_builder"
    gen.call_stmt(builder, "ModelBuilder", args)
    return builder, build


def _build_model(gen: _Gen, cfg: dict) -> None:
    builder, build = _model_builder(gen, cfg)
    gen.rest(
        cfg,
        {
            "ExecutionRoleArn",
            "PrimaryContainer",
            "Containers",
            "VpcConfig",
            "EnableNetworkIsolation",
            "Tags",
        },
        "",
        "ModelBuilder",
    )
    gen.call_stmt(f"{gen.var}_args", f"{builder}.build", build)


def _build_endpoint_config(gen: _Gen, cfg: dict) -> None:
    args: list = []
    gen.take(args, "name", cfg, "EndpointConfigName", "")
    gen.take(args, "production_variants", cfg, "ProductionVariants", "", _RAW)
    gen.take(args, "tags", cfg, "Tags", "", _TAGS)
    gen.take(args, "kms_key", cfg, "KmsKeyId", "")
    gen.take(args, "data_capture_config_dict", cfg, "DataCaptureConfig", "", _RAW)
    gen.take(args, "async_inference_config_dict", cfg, "AsyncInferenceConfig", "", _RAW)
    gen.take(args, "explainer_config_dict", cfg, "ExplainerConfig", "", _RAW)
    gen.take(args, "vpc_config", cfg, "VpcConfig", "", _RAW)
    gen.take(args, "enable_network_isolation", cfg, "EnableNetworkIsolation", "")
    gen.take(args, "role", cfg, "ExecutionRoleArn", "")
    gen.rest(
        cfg,
        {
            "EndpointConfigName",
            "ProductionVariants",
            "Tags",
            "KmsKeyId",
            "DataCaptureConfig",
            "AsyncInferenceConfig",
            "ExplainerConfig",
            "VpcConfig",
            "EnableNetworkIsolation",
            "ExecutionRoleArn",
        },
        "",
        "PipelineSession.create_endpoint_config",
    )
    gen.call_stmt(f"{gen.var}_args", "session.create_endpoint_config", args)


def _build_endpoint(gen: _Gen, cfg: dict) -> None:
    args: list = []
    gen.take(args, "endpoint_name", cfg, "EndpointName", "")
    gen.take(args, "config_name", cfg, "EndpointConfigName", "")
    gen.take(args, "tags", cfg, "Tags", "", _TAGS)
    gen.rest(
        cfg,
        {"EndpointName", "EndpointConfigName", "Tags"},
        "",
        "PipelineSession.create_endpoint",
    )
    gen.call_stmt(f"{gen.var}_args", "session.create_endpoint", args)


_APPROVAL = {
    "APPROVED": "Approved",
    "REJECTED": "Rejected",
    "PENDING_MANUAL_APPROVAL": "PendingManualApproval",
}


def _approval_value(value: Any) -> Any:
    """ApprovalStatus member / 'ApprovalStatus.APPROVED' / 'Approved' -> 'Approved'."""
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    if isinstance(value, str):
        name = value.rsplit(".", 1)[-1]
        return _APPROVAL.get(name, value)
    return value


def _register_request(kwargs: dict) -> tuple[dict, list[str]]:
    """The CreateModelPackage request SageMakerRegisterModelVersionOperator sends."""
    notes = []
    request: dict[str, Any] = {
        "InferenceSpecification": {
            "Containers": [
                {"Image": kwargs.get("image_uri"), "ModelDataUrl": kwargs.get("model_url")}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelPackageGroupName": kwargs.get("package_group_name"),
        "ModelPackageDescription": kwargs.get("package_desc", ""),
        "ModelApprovalStatus": _approval_value(
            kwargs.get("model_approval", "PendingManualApproval")
        ),
    }
    extras = kwargs.get("extras")
    if isinstance(extras, dict):
        request.update(copy.deepcopy(extras))
    elif extras is not None:
        notes.append(
            "extras: only known at run time, so its fields cannot be spread into "
            "ModelBuilder.register(); dropped."
        )
    if kwargs.get("package_group_desc"):
        notes.append(
            "package_group_desc: a description for a model package group the operator creates "
            "when missing; the RegisterModel step has no parameter for it; dropped."
        )
    return request, notes


_REGISTER_KEYS = {
    "ModelPackageGroupName": ("model_package_group_name", _V),
    "ModelPackageDescription": ("description", _V),
    "ModelApprovalStatus": ("approval_status", _V),
    "CustomerMetadataProperties": ("customer_metadata_properties", _M),
    "Domain": ("domain", _V),
    "Task": ("task", _V),
    "SamplePayloadUrl": ("sample_payload_url", _V),
    "SkipModelValidation": ("skip_model_validation", _V),
    "SourceUri": ("source_uri", _V),
}


def _build_register_model(gen: _Gen, cfg: dict) -> None:
    spec = gen.sub(cfg, "InferenceSpecification", "InferenceSpecification")
    containers = spec.get("Containers", [])
    if not isinstance(containers, (list, tuple)) or len(containers) != 1:
        gen.diff(
            "InferenceSpecification.Containers: ModelBuilder.register() builds exactly one "
            "container here; only the first is translated."
        )
    container = containers[0] if isinstance(containers, (list, tuple)) and containers else {}
    # The request has no role; ModelBuilder gets the pipeline's role (not in the Arguments).
    builder, _ = _model_builder(
        gen, {"PrimaryContainer": container}, "InferenceSpecification.Containers[0]"
    )
    args: list = []
    spath = "InferenceSpecification."
    gen.take(args, "content_types", spec, "SupportedContentTypes", spath, _L)
    gen.take(args, "response_types", spec, "SupportedResponseMIMETypes", spath, _L)
    gen.take(
        args, "inference_instances", spec, "SupportedRealtimeInferenceInstanceTypes", spath, _L
    )
    gen.take(args, "transform_instances", spec, "SupportedTransformInstanceTypes", spath, _L)
    gen.rest(
        spec,
        {
            "Containers",
            "SupportedContentTypes",
            "SupportedResponseMIMETypes",
            "SupportedRealtimeInferenceInstanceTypes",
            "SupportedTransformInstanceTypes",
        },
        spath,
        "ModelBuilder.register",
    )
    for key, (kwarg, kind) in _REGISTER_KEYS.items():
        if key == "ModelPackageDescription" and cfg.get(key) == "":
            continue
        gen.take(args, kwarg, cfg, key, "", kind)
    gen.rest(cfg, {"InferenceSpecification", *_REGISTER_KEYS}, "", "ModelBuilder.register")
    gen.call_stmt(f"{gen.var}_args", f"{builder}.register", args)


_BUILDERS: dict[str, Callable[[_Gen, dict], None]] = {
    "processing": _build_processing,
    "training": _build_training,
    "transform": _build_transform,
    "tuning": _build_tuning,
    "model": _build_model,
    "endpoint_config": _build_endpoint_config,
    "endpoint": _build_endpoint,
    "register_model": _build_register_model,
}


# ---------------------------------------------------------------------------------------------
# Source layout: nodes are source strings, ("call", func, [(kwarg|None, node)]),
# ("list", [node]) or ("dict", [(key source, node)]).

_WIDTH = 100


def _flat(node: Any) -> str:
    if isinstance(node, str):
        return node
    kind = node[0]
    if kind == "call":
        inner = ", ".join(_flat(a) if k is None else f"{k}={_flat(a)}" for k, a in node[2])
        return f"{node[1]}({inner})"
    if kind == "list":
        return "[" + ", ".join(_flat(a) for a in node[1]) + "]"
    return "{" + ", ".join(f"{k}: {_flat(v)}" for k, v in node[1]) + "}"


def _fmt(node: Any, indent: int, used: int) -> str:
    """Black-like layout: one line when it fits, otherwise one item per line."""
    flat = _flat(node)
    if isinstance(node, str) or indent + used + len(flat) <= _WIDTH or not node[-1]:
        return flat
    pad = " " * (indent + 4)
    kind = node[0]
    if kind == "call":
        head, tail = f"{node[1]}(", ")"
        items = [(f"{k}=" if k is not None else "", a) for k, a in node[2]]
    elif kind == "list":
        head, tail = "[", "]"
        items = [("", a) for a in node[1]]
    else:
        head, tail = "{", "}"
        items = [(f"{k}: ", v) for k, v in node[1]]
    lines = [head]
    for prefix, item in items:
        lines.append(pad + prefix + _fmt(item, indent + 4, len(prefix) + 1) + ",")
    lines.append(" " * indent + tail)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Round trip check


class _AnyPipelineValue:
    def __repr__(self) -> str:
        return "<pipeline value>"


PIPELINE_VALUE = _AnyPipelineValue()
"""What the default ``value_json`` maps a non-literal config leaf to: it matches any pipeline
variable in the definition ({"Get": ...}, {"Std:Join": ...}, {"Std:JsonGet": ...})."""


def _default_value_json(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "value") and isinstance(value.value, (str, int, float, bool)):
        return value.value  # enums
    return PIPELINE_VALUE


def compare_arguments(
    job: str,
    config: dict,
    arguments: dict,
    value_json: Callable[[Any], Any] | None = None,
) -> list[str]:
    """Differences between an operator config and a definition step's ``Arguments``.

    Strict: every config field (owned fields aside) must be in ``arguments`` with an equal
    value, and every extra ``arguments`` field must be an `SDK_DEFAULTS` entry. A config value
    that is empty ("", [] or {}) matches an absent field (the SDK leaves empty values out).
    ``value_json`` maps a config leaf to its definition JSON (e.g. a pipeline Parameter object to
    ``{"Get": "Parameters.x"}``); by default literals map to themselves and any other object
    matches any pipeline variable.
    """
    request, notes = request_view(job, config)
    to_json = value_json or _default_value_json
    out: list[str] = list(notes)
    expected = {k: v for k, v in request.items() if k not in _OWNED[job]}
    actual = {k: v for k, v in arguments.items() if k not in _OWNED[job]}
    _compare(job, expected, actual, (), to_json, out)
    return out


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _matches(pattern: tuple, path: tuple) -> bool:
    return len(pattern) == len(path) and all(
        p == "*" or p == q for p, q in zip(pattern, path, strict=True)
    )


def _sdk_default(job: str, path: tuple, value: Any) -> bool:
    for pattern, default in SDK_DEFAULTS[job]:
        if _matches(pattern, path) and (default is ANY or _same(default, value)):
            return True
    return False


def _omitted_default(job: str, path: tuple, value: Any) -> bool:
    if value in ("", [], {}) and not isinstance(value, bool):
        return True
    return any(
        _matches(pattern, path) and _same(default, value)
        for pattern, default in _OMITTED_API_DEFAULTS.get(job, [])
    )


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _is_pipeline_variable(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value))
        in (
            "Get",
            "Std:Join",
            "Std:JsonGet",
        )
    )


def _compare(job: str, exp: Any, act: Any, path: tuple, to_json, out: list[str]) -> None:
    where = _dotted(path)
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            out.append(f"{where}: config {exp!r}, definition {act!r}")
            return
        for key, value in exp.items():
            sub = (*path, key)
            if key not in act:
                if not _omitted_default(job, sub, value):
                    out.append(f"{_dotted(sub)}: missing from the definition (config {value!r})")
                continue
            _compare(job, value, act[key], sub, to_json, out)
        for key, value in act.items():
            sub = (*path, key)
            if key not in exp and not _sdk_default(job, sub, value):
                out.append(f"{_dotted(sub)}: {value!r} in the definition, not in the config")
        return
    if isinstance(exp, (list, tuple)):
        if not isinstance(act, list):
            out.append(f"{where}: config {list(exp)!r}, definition {act!r}")
            return
        if len(exp) != len(act):
            out.append(f"{where}: config has {len(exp)} items, definition {len(act)}")
            return
        for i, (e, a) in enumerate(zip(exp, act, strict=True)):
            _compare(job, e, a, (*path, i), to_json, out)
        return
    value = to_json(exp)
    if value is PIPELINE_VALUE:
        if not _is_pipeline_variable(act):
            out.append(f"{where}: config is a pipeline value, definition {act!r}")
        return
    if isinstance(value, (dict, list)):
        _compare(job, value, act, path, lambda v: v, out)
        return
    if not _same(value, act):
        out.append(f"{where}: config {value!r}, definition {act!r}")


# ---------------------------------------------------------------------------------------------
# Helpers


def _check_job(job: str) -> None:
    if job not in _OWNED:
        raise ValueError(f"unknown SageMaker job {job!r}; expected one of {', '.join(JOBS)}")


def _cast_int(config: Any, path: tuple[str, ...]) -> None:
    """int() a string field as SageMakerBaseOperator.parse_integer does (lists fan out)."""
    if isinstance(config, list):
        for item in config:
            _cast_int(item, path)
        return
    if not isinstance(config, dict) or path[0] not in config:
        return
    if len(path) > 1:
        _cast_int(config[path[0]], path[1:])
        return
    value = config[path[0]]
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        config[path[0]] = int(value)
