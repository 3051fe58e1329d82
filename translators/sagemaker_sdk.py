"""`sagemaker.workflow.airflow` configs (SageMaker Python SDK v1/v2) → the Create* request.

A DAG file that builds an Estimator, Processor, Transformer or HyperparameterTuner and hands
`training_config(estimator, ...)` (or processing/transform/model/deploy/tuning_config) to a
SageMaker operator sends the request that helper computes. The parser keeps each SDK call as
what was called with what (kind "sdk", see bridge.parse.model.ArgKind); this module works out,
from those arguments, the request the v2 helper would return, as the operator config the rules
in translators/sagemaker.py already map to native steps. SDK v2 cannot be installed next to
Airflow 3, so the helpers are read, not run.

A leaf the DAG file does not show (an expression, a config module) stays an ArgValue dict: the
rule leaves that field out and names it. What the SDK takes from the session when it runs (the
default bucket, generated job names) is owned by the pipeline or named here. Framework
estimators (script mode): hyperparameters are JSON-encoded as v2 does and get
`sagemaker_program`, `sagemaker_submit_directory`, `sagemaker_container_log_level`,
`sagemaker_region` (and `sagemaker_job_name` when the name is known); code on the Airflow
worker, which the operator uploads (S3Operations), is a named difference.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

AIRFLOW_HELPERS = "sagemaker.workflow.airflow."
_LEAF_KEYS = {"kind", "value", "source", "refs", "key", "path", "origin"}

# Positional parameters of the helpers and classes, as v2 declares them (v1 where it differs
# and the call shows which: see _bind_model_helper).
_HELPER_PARAMS = {
    "training_config": ("estimator", "inputs", "job_name", "mini_batch_size"),
    "tuning_config": ("tuner", "inputs", "job_name", "include_cls_metadata", "mini_batch_size"),
    "processing_config": (
        "processor",
        "inputs",
        "outputs",
        "job_name",
        "experiment_config",
        "container_arguments",
        "container_entrypoint",
        "kms_key_id",
    ),
    "transform_config": (
        "transformer",
        "data",
        "data_type",
        "content_type",
        "compression_type",
        "split_type",
        "job_name",
        "input_filter",
        "output_filter",
        "join_source",
    ),
    "transform_config_from_estimator": (
        "estimator",
        "task_id",
        "task_type",
        "instance_count",
        "instance_type",
        "data",
        "data_type",
        "content_type",
        "compression_type",
        "split_type",
        "job_name",
        "model_name",
        "strategy",
        "assemble_with",
        "output_path",
        "output_kms_key",
        "accept",
        "env",
        "max_concurrent_transforms",
        "max_payload",
        "tags",
        "role",
        "volume_kms_key",
    ),
    "deploy_config": ("model", "initial_instance_count", "instance_type", "endpoint_name", "tags"),
    "deploy_config_from_estimator": (
        "estimator",
        "task_id",
        "task_type",
        "initial_instance_count",
        "instance_type",
        "model_name",
        "endpoint_name",
        "tags",
    ),
    "model_config": ("model", "instance_type", "role", "image_uri"),
    "model_config_from_estimator": (
        "estimator",
        "task_id",
        "task_type",
        "instance_type",
        "role",
        "image",
        "name",
    ),
}
# SDK v1 put `instance_type` first in the model helpers: a first positional that is not an SDK
# object means the v1 order.
_V1_HELPER_PARAMS = {
    "model_config": ("instance_type", "model", "role", "image_uri"),
    "model_config_from_estimator": (
        "instance_type",
        "estimator",
        "task_id",
        "task_type",
        "role",
        "image",
        "name",
    ),
}
# Which operator job each helper's config is for.
HELPER_JOBS = {
    "training_config": "training",
    "tuning_config": "tuning",
    "processing_config": "processing",
    "transform_config": "transform",
    "transform_config_from_estimator": "transform",
    "deploy_config": "endpoint",
    "deploy_config_from_estimator": "endpoint",
    "model_config": "model",
    "model_config_from_estimator": "model",
}
_FRAMEWORKS = {
    "SKLearn": "sklearn",
    "XGBoost": "xgboost",
    "PyTorch": "pytorch",
    "TensorFlow": "tensorflow",
    "MXNet": "mxnet",
    "Chainer": "chainer",
}
_CLASS_PARAMS = {
    "Estimator": ("image_uri", "role", "instance_count", "instance_type"),
    "framework": ("entry_point",),
    "Processor": ("role", "image_uri", "instance_count", "instance_type", "entrypoint"),
    "ScriptProcessor": ("role", "image_uri", "command", "instance_count", "instance_type"),
    "SKLearnProcessor": ("framework_version", "role", "instance_type", "instance_count"),
    "Transformer": (
        "model_name",
        "instance_count",
        "instance_type",
        "strategy",
        "assemble_with",
        "output_path",
        "output_kms_key",
        "accept",
        "max_concurrent_transforms",
        "max_payload",
        "tags",
        "env",
    ),
    "HyperparameterTuner": (
        "estimator",
        "objective_metric_name",
        "hyperparameter_ranges",
        "metric_definitions",
        "strategy",
        "objective_type",
        "max_jobs",
        "max_parallel_jobs",
        "tags",
        "base_tuning_job_name",
    ),
    "s3_input": (
        "s3_data",
        "distribution",
        "compression",
        "content_type",
        "record_wrapping",
        "s3_data_type",
        "input_mode",
        "attribute_names",
    ),
    "ProcessingInput": (
        "source",
        "destination",
        "input_name",
        "s3_data_type",
        "s3_input_mode",
        "s3_data_distribution_type",
        "s3_compression_type",
    ),
    "ProcessingOutput": ("source", "destination", "output_name", "s3_upload_mode"),
    "range": ("min_value", "max_value", "scaling_type"),
    "CategoricalParameter": ("values",),
    "Model": ("image_uri", "model_data", "role"),
    "retrieve": ("framework", "region", "version", "py_version", "instance_type"),
    "get_image_uri": ("region_name", "repo_name", "repo_version"),
}
_CLASS_PARAMS["TrainingInput"] = _CLASS_PARAMS["s3_input"]
_CLASS_PARAMS["ContinuousParameter"] = _CLASS_PARAMS["IntegerParameter"] = _CLASS_PARAMS["range"]
# SDK v1 names of the estimator arguments v2 renamed.
_V1_NAMES = {
    "image_name": "image_uri",
    "image": "image_uri",
    "train_instance_count": "instance_count",
    "train_instance_type": "instance_type",
    "train_volume_size": "volume_size",
    "train_volume_kms_key": "volume_kms_key",
    "train_max_run": "max_run",
    "train_max_wait": "max_wait",
    "train_use_spot_instances": "use_spot_instances",
}
# Estimator arguments the training request is built from; the rest are named differences,
# except those that only concern the SDK's own client or its local debugging.
_ESTIMATOR_READ = {
    "image_uri",
    "role",
    "instance_count",
    "instance_type",
    "volume_size",
    "volume_kms_key",
    "max_run",
    "max_wait",
    "input_mode",
    "output_path",
    "output_kms_key",
    "base_job_name",
    "hyperparameters",
    "tags",
    "subnets",
    "security_group_ids",
    "metric_definitions",
    "entry_point",
    "source_dir",
    "framework_version",
    "py_version",
    "container_log_level",
    "code_location",
    "enable_cloudwatch_metrics",
    "sagemaker_session",
}


@dataclass
class SdkRequest:
    """The request a helper builds (leaves the DAG file does not show are ArgValue dicts), or
    None when it cannot be worked out statically; and what differs from Airflow's run."""

    config: dict | None
    differences: list[str] = field(default_factory=list)


def helper_name(value: Any) -> str | None:
    """`training_config` for the JSON form of `sagemaker.workflow.airflow.training_config(...)`."""
    name = value.get("sdk") if isinstance(value, dict) else None
    if isinstance(name, str) and name.startswith(AIRFLOW_HELPERS):
        short = name[len(AIRFLOW_HELPERS) :]
        return short if short in HELPER_JOBS else None
    return None


def sdk_request(
    value: dict, job: str, region: str, tasks: dict[str, str], task_id: str
) -> SdkRequest:
    """The request `value` (an SdkCall's JSON form) sends as the config of `task_id`, a `job`
    operator.

    `region` is the pipeline's (images are regional); `tasks` maps the DAG's task ids to their
    operators (a model built from "the training job of task X" reads that step's artifacts)."""
    name = helper_name(value)
    if name is None:
        shown = value.get("sdk", "?") if isinstance(value, dict) else "?"
        return SdkRequest(None, [f"`{shown}(...)` is not a config the bridge can work out"])
    if HELPER_JOBS[name] != job:
        return SdkRequest(None, [f"`{name}` builds a {HELPER_JOBS[name]} config, not {job}"])
    builder = _Builder(region, tasks, task_id)
    params = _HELPER_PARAMS[name]
    args = value.get("args") or []
    if name in _V1_HELPER_PARAMS and args and _sdk(args[0]) is None:
        params = _V1_HELPER_PARAMS[name]
    try:
        config = getattr(builder, name)(_bind(value, params, builder))
    except _Unsupported as exc:
        return SdkRequest(None, [*builder.differences, str(exc)])
    return SdkRequest(config, list(dict.fromkeys(builder.differences)))


class _Unsupported(Exception):
    """The helper's request cannot be worked out statically (the reason is the message)."""


# ---- the JSON form ----------------------------------------------------------------------------


def _is_leaf(value: Any) -> bool:
    return (
        isinstance(value, dict) and isinstance(value.get("kind"), str) and set(value) <= _LEAF_KEYS
    )


def _sdk(value: Any) -> dict | None:
    """The SDK call a value is, if it is one."""
    if _is_leaf(value) and value["kind"] == "sdk" and isinstance(value.get("value"), dict):
        return value["value"]
    return None


def _class(call: dict) -> str:
    return str(call.get("sdk", "")).rsplit(".", 1)[-1]


def _shown(value: Any) -> str:
    call = _sdk(value)
    if call is not None:
        return value.get("source") or f"{call.get('sdk')}(...)"
    if _is_leaf(value):
        return value.get("source") or value["kind"]
    return json.dumps(value)[:80]


def _unknown(source: str) -> dict:
    """A leaf only Airflow's run knows: the rule leaves its field out and names it."""
    return {"kind": "expr", "source": source}


def _known(value: Any) -> bool:
    """A value with no unknown part (literal JSON, templates included)."""
    if _is_leaf(value):
        return value["kind"] in ("literal", "template")
    if isinstance(value, dict):
        return all(_known(v) for v in value.values())
    if isinstance(value, list):
        return all(_known(v) for v in value)
    return True


def _plain(value: Any) -> Any:
    """A field's value in the request: SDK calls the request cannot hold become unknown leaves."""
    if _sdk(value) is not None:
        return _unknown(_shown(value))
    if isinstance(value, dict) and not _is_leaf(value):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _bind(call: dict, params: tuple[str, ...], builder: _Builder) -> dict[str, Any]:
    """{parameter: value} of a call: positional arguments by the signature, v1 names as v2's,
    later `set_hyperparameters(...)` calls applied; what cannot be placed is a difference."""
    bound: dict[str, Any] = {}
    args = call.get("args", [])
    for i, value in enumerate(args):
        if i < len(params):
            bound[params[i]] = value
        else:
            builder.diff(f"`{call.get('sdk')}`: positional argument {i + 1} is not read")
    for key, value in call.get("kwargs", {}).items():
        bound[_V1_NAMES.get(key, key)] = value
    for later in call.get("calls", []):
        if str(later.get("sdk", "")).endswith(".set_hyperparameters"):
            hyper = dict(bound.get("hyperparameters") or {})
            hyper.update(later.get("kwargs", {}))
            bound["hyperparameters"] = hyper
        else:
            builder.diff(
                f"`{later.get('sdk')}(...)` changes the object; the bridge does not read it"
            )
    for source in call.get("unread", []):
        builder.diff(
            f"`{call.get('sdk')}`: the arguments in `**{source}` are only known when Airflow runs "
            "the DAG; the fields they set are missing from the step"
        )
    return bound


def _bind_class(value: Any, builder: _Builder, what: str) -> tuple[str, dict[str, Any]]:
    call = _sdk(value)
    if call is None:
        raise _Unsupported(f"the {what} `{_shown(value)}` is not built in the DAG file")
    name = _class(call)
    params = _CLASS_PARAMS.get("framework" if name in _FRAMEWORKS else name, ())
    return name, _bind(call, params, builder)


# ---- the request builders ---------------------------------------------------------------------


class _Builder:
    """Each public method is one `sagemaker.workflow.airflow` helper, given its bound
    arguments; it returns the config dict the helper returns."""

    def __init__(self, region: str, tasks: dict[str, str], task_id: str):
        self.region = region
        self.tasks = tasks
        self.stand_in = re.sub(r"[^a-zA-Z0-9]+", "-", task_id).strip("-")[:50] or "endpoint"
        self.differences: list[str] = []

    def diff(self, text: str) -> None:
        self.differences.append(text)

    # training ---------------------------------------------------------------------------------

    def training_config(self, a: dict) -> dict:
        est = self.estimator(a.get("estimator"))
        config = self.training_base(est, a.get("inputs"), a.get("job_name"))
        if est.get("tags") is not None:
            config["Tags"] = _plain(est["tags"])
        if est.get("metric_definitions") is not None:
            config["AlgorithmSpecification"]["MetricDefinitions"] = _plain(
                est["metric_definitions"]
            )
        if a.get("mini_batch_size") is not None:
            self.diff(
                "training_config: `mini_batch_size` (Amazon algorithm estimators) is not read"
            )
        return config

    def estimator(self, value: Any) -> dict:
        name, est = _bind_class(value, self, "estimator")
        if name in _FRAMEWORKS:
            est["_framework"] = _FRAMEWORKS[name]
        elif name != "Estimator":
            raise _Unsupported(f"the estimator class `{name}` is not one the bridge reads")
        for key in sorted(set(est) - _ESTIMATOR_READ - {"_framework"}):
            self.diff(
                f"estimator argument `{key}` is not read by the bridge; the step leaves it out"
            )
        return est

    def training_base(self, est: dict, inputs: Any, job_name: Any) -> dict:
        """training_base_config: what every training request holds."""
        framework = est.get("_framework")
        image = self.training_image(est)
        config: dict[str, Any] = {}
        if _is_name(job_name):
            config["TrainingJobName"] = job_name
        config["AlgorithmSpecification"] = {
            "TrainingImage": image,
            "TrainingInputMode": _plain(est.get("input_mode", "File")),
        }
        config["RoleArn"] = _plain(est.get("role"))
        output = est.get("output_path")
        if _is_value(output):
            config["OutputDataConfig"] = {"S3OutputPath": output}
            if est.get("output_kms_key") is not None:
                config["OutputDataConfig"]["KmsKeyId"] = _plain(est["output_kms_key"])
        else:  # the SDK v3 class then writes under the pipeline session's default path
            self.diff(
                f"OutputDataConfig: {_where(output)}; the step writes the model under the "
                "pipeline session's default S3 path"
            )
        count, kind = _instances(est, "estimator")
        config["ResourceConfig"] = {
            "InstanceCount": count,
            "InstanceType": kind,
            "VolumeSizeInGB": _plain(est.get("volume_size", 30)),
        }
        if est.get("volume_kms_key") is not None:
            config["ResourceConfig"]["VolumeKmsKeyId"] = _plain(est["volume_kms_key"])
        config["StoppingCondition"] = {"MaxRuntimeInSeconds": _plain(est.get("max_run", 86400))}
        if est.get("max_wait") is not None:
            config["StoppingCondition"]["MaxWaitTimeInSeconds"] = _plain(est["max_wait"])
        channels = self.channels(inputs)
        if channels is not None:
            config["InputDataConfig"] = channels
        if est.get("subnets") is not None and est.get("security_group_ids") is not None:
            config["VpcConfig"] = {
                "Subnets": _plain(est["subnets"]),
                "SecurityGroupIds": _plain(est["security_group_ids"]),
            }
        hyper = self.hyperparameters(est, job_name) if framework else _str_values(est)
        if hyper:
            config["HyperParameters"] = hyper
        return config

    def training_image(self, est: dict) -> Any:
        if est.get("image_uri") is not None:
            return self.image(est["image_uri"])
        framework = est.get("_framework")
        if framework is None:
            raise _Unsupported("the estimator names no image")
        return self.retrieve(
            framework,
            est.get("framework_version"),
            est.get("py_version", "py3"),
            est.get("instance_type"),
            "training",
        )

    def hyperparameters(self, est: dict, job_name: Any) -> dict:
        """A framework estimator's, as v2 sends them: every value JSON-encoded, with the script
        mode entries prepare_framework adds."""
        hyper: dict[str, Any] = dict(est.get("hyperparameters") or {})
        entry = est.get("entry_point")
        if not isinstance(entry, str):
            raise _Unsupported(f"the estimator's entry_point `{_shown(entry)}` is not known")
        source_dir = est.get("source_dir")
        if isinstance(source_dir, str) and source_dir.lower().startswith("s3://"):
            hyper["sagemaker_submit_directory"] = source_dir
        else:
            self.diff(
                f"the operator uploads `{source_dir or entry}` from the Airflow worker to S3 "
                "before the job (S3Operations) and points sagemaker_submit_directory at it; the "
                "step does not upload it: put the code in S3 and set source_dir to that URI"
            )
        hyper["sagemaker_program"] = posixpath.basename(entry)
        hyper["sagemaker_enable_cloudwatch_metrics"] = est.get("enable_cloudwatch_metrics", False)
        hyper["sagemaker_container_log_level"] = est.get("container_log_level", 20)  # INFO
        if isinstance(job_name, str):
            hyper["sagemaker_job_name"] = job_name
        else:
            self.diff(
                "HyperParameters.sagemaker_job_name: the job's name is only known when Airflow "
                "runs the DAG; the step leaves it out"
            )
        hyper["sagemaker_region"] = self.region
        encoded: dict[str, Any] = {}
        for key, value in hyper.items():
            encoded[str(key)] = (
                json.dumps(value) if _known(value) and not _is_leaf(value) else _plain(value)
            )
        return encoded

    def channels(self, inputs: Any) -> list | None:
        """_Job._format_inputs_to_input_config: a URI, one input, or {channel: URI or input}."""
        if inputs is None:
            return None
        if isinstance(inputs, dict) and not _is_leaf(inputs):
            return [self.channel(str(name), value) for name, value in inputs.items()]
        return [self.channel("training", inputs)]

    def channel(self, name: str, value: Any) -> dict:
        call = _sdk(value)
        if call is None:
            a = {"s3_data": value}
        else:
            kind, a = _bind_class(value, self, "input")
            if kind not in ("s3_input", "TrainingInput"):
                raise _Unsupported(f"training input `{kind}` is not one the bridge reads")
        a["s3_data"] = _required(a.get("s3_data"), f"InputDataConfig channel `{name}`", self)
        return {"ChannelName": name, **_s3_channel(a)}

    # models and endpoints -----------------------------------------------------------------------

    def model_config_from_estimator(self, a: dict) -> dict:
        est = self.estimator(a.get("estimator"))
        model = self.estimator_model(est, a.get("task_id"), a.get("task_type"), a.get("role"))
        if a.get("image") is not None:
            model["PrimaryContainer"]["Image"] = self.image(a["image"])
        if _is_name(a.get("name")):
            model = {"ModelName": a["name"], **model}
        return model

    def estimator_model(self, est: dict, task_id: Any, task_type: Any, role: Any = None) -> dict:
        """Estimator.create_model() as model_config renders it: the training image, the model
        the training task wrote, the estimator's role."""
        if est.get("_framework"):
            raise _Unsupported(
                "a framework estimator's model (a serving image with the script's code) is not "
                "worked out by the bridge"
            )
        container = {
            "Image": self.training_image(est),
            "Environment": {},
            "ModelDataUrl": self.model_data(task_id, task_type),
        }
        model: dict[str, Any] = {
            "PrimaryContainer": container,
            "ExecutionRoleArn": _plain(role if role is not None else est.get("role")),
        }
        if est.get("subnets") is not None and est.get("security_group_ids") is not None:
            model["VpcConfig"] = {
                "Subnets": _plain(est["subnets"]),
                "SecurityGroupIds": _plain(est["security_group_ids"]),
            }
        return model

    def model_data(self, task_id: Any, task_type: Any) -> Any:
        """The model artefact of the training task `task_id`: that step's property."""
        if task_type == "training" and isinstance(task_id, str):
            operator = self.tasks.get(task_id, "")
            if operator.endswith(".SageMakerTrainingOperator"):
                return {
                    "kind": "xcom",
                    "refs": [task_id],
                    "path": ".Training.ModelArtifacts.S3ModelArtifacts",
                }
        return _unknown(f"the model of task `{task_id}` ({task_type})")

    def model_config(self, a: dict) -> dict:
        name, m = _bind_class(a.get("model"), self, "model")
        if name != "Model":
            raise _Unsupported(f"the model class `{name}` is not one the bridge reads")
        if isinstance(m.get("image_uri"), str) and m["image_uri"].startswith("s3://"):
            # SDK v1's Model(model_data, image, role): the first argument is the artefact
            m["image_uri"], m["model_data"] = m.get("model_data"), m["image_uri"]
        image = a.get("image_uri", a.get("image")) or m.get("image_uri")
        container: dict[str, Any] = {
            "Image": self.image(image),
            "Environment": _plain(m.get("env") or {}),
        }
        if m.get("model_data") is not None:
            container["ModelDataUrl"] = _plain(m["model_data"])
        config: dict[str, Any] = {}
        if _is_name(m.get("name")):
            config["ModelName"] = m["name"]
        config["PrimaryContainer"] = container
        config["ExecutionRoleArn"] = _plain(a.get("role") or m.get("role"))
        return config

    def deploy_config_from_estimator(self, a: dict) -> dict:
        est = self.estimator(a.get("estimator"))
        model = self.estimator_model(est, a.get("task_id"), a.get("task_type"))
        return self.deploy(model, a.get("model_name"), a)

    def deploy_config(self, a: dict) -> dict:
        model = self.model_config(
            {"model": a.get("model"), "instance_type": a.get("instance_type")}
        )
        return self.deploy(model, model.get("ModelName"), a)

    def deploy(self, model: dict, model_name: Any, a: dict) -> dict:
        """deploy_config: the model, an endpoint config with one variant, the endpoint. The
        model and its endpoint config are named by the pipeline (their steps are linked by
        property); a name the DAG file does not show gets a stand-in."""
        config_name = model_name if _is_name(model_name) else f"{self.stand_in}-config"
        model = {"ModelName": config_name, **model}
        variant = {
            "ModelName": config_name,
            "VariantName": "AllTraffic",
            "InitialVariantWeight": 1,
            "InstanceType": _plain(a.get("instance_type")),
            "InitialInstanceCount": _plain(a.get("initial_instance_count")),
        }
        endpoint_config: dict[str, Any] = {
            "EndpointConfigName": config_name,
            "ProductionVariants": [variant],
        }
        if a.get("tags") is not None:
            endpoint_config["Tags"] = _plain(a["tags"])
        endpoint_name = a.get("endpoint_name")
        if endpoint_name is None:
            endpoint_name = model_name
        if not _is_name(endpoint_name):
            self.diff(
                f"EndpointName: `{_shown(endpoint_name) if endpoint_name is not None else 'a generated name'}` "
                f"is only known when Airflow runs the DAG; the step names the endpoint "
                f"`{self.stand_in}`"
            )
            endpoint_name = self.stand_in
        endpoint = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
        return {"Model": model, "EndpointConfig": endpoint_config, "Endpoint": endpoint}

    # transform ----------------------------------------------------------------------------------

    def transform_config(self, a: dict) -> dict:
        name, t = _bind_class(a.get("transformer"), self, "transformer")
        if name != "Transformer":
            raise _Unsupported(f"the transformer class `{name}` is not one the bridge reads")
        return self.transform(t, a)

    def transform_config_from_estimator(self, a: dict) -> dict:
        est = self.estimator(a.get("estimator"))
        model = self.estimator_model(est, a.get("task_id"), a.get("task_type"), a.get("role"))
        model_name = a.get("model_name")
        if not _is_name(model_name):  # the transform reads the model step's name
            model_name = f"{self.stand_in}-model"
        keys = (
            "instance_count",
            "instance_type",
            "strategy",
            "assemble_with",
            "output_path",
            "output_kms_key",
            "accept",
            "env",
            "max_concurrent_transforms",
            "max_payload",
            "volume_kms_key",
        )
        t = {k: a[k] for k in keys if a.get(k) is not None}
        t["model_name"] = model_name
        t["tags"] = a.get("tags", est.get("tags"))
        return {"Model": {"ModelName": model_name, **model}, "Transform": self.transform(t, a)}

    def transform(self, t: dict, a: dict) -> dict:
        """transform_config from a Transformer's arguments and the helper's."""
        config: dict[str, Any] = {}
        if _is_name(a.get("job_name")):
            config["TransformJobName"] = a["job_name"]
        config["ModelName"] = _required(t.get("model_name"), "ModelName", self)
        source = {
            "S3DataType": _plain(a.get("data_type", "S3Prefix")),
            "S3Uri": _required(a.get("data"), "TransformInput", self),
        }
        data_input: dict[str, Any] = {"DataSource": {"S3DataSource": source}}
        for key, field_name in (
            ("content_type", "ContentType"),
            ("compression_type", "CompressionType"),
            ("split_type", "SplitType"),
        ):
            if a.get(key) is not None:
                data_input[field_name] = _plain(a[key])
        config["TransformInput"] = data_input
        if _is_value(t.get("output_path")):
            output: dict[str, Any] = {"S3OutputPath": t["output_path"]}
            for key, field_name in (
                ("output_kms_key", "KmsKeyId"),
                ("accept", "Accept"),
                ("assemble_with", "AssembleWith"),
            ):
                if t.get(key) is not None:
                    output[field_name] = _plain(t[key])
            config["TransformOutput"] = output
        else:
            self.diff(
                f"TransformOutput: {_where(t.get('output_path'))}; the step writes under the "
                "pipeline session's default S3 path"
            )
        count, kind = _instances(t, "transformer")
        resources = {"InstanceCount": count, "InstanceType": kind}
        if t.get("volume_kms_key") is not None:
            resources["VolumeKmsKeyId"] = _plain(t["volume_kms_key"])
        config["TransformResources"] = resources
        processing = {
            field_name: _plain(a[key])
            for key, field_name in (
                ("input_filter", "InputFilter"),
                ("output_filter", "OutputFilter"),
                ("join_source", "JoinSource"),
            )
            if a.get(key) is not None
        }
        if processing:
            config["DataProcessing"] = processing
        for key, field_name in (
            ("strategy", "BatchStrategy"),
            ("max_concurrent_transforms", "MaxConcurrentTransforms"),
            ("max_payload", "MaxPayloadInMB"),
            ("env", "Environment"),
            ("tags", "Tags"),
        ):
            if t.get(key) is not None:
                config[field_name] = _plain(t[key])
        return config

    # processing ---------------------------------------------------------------------------------

    def processing_config(self, a: dict) -> dict:
        name, p = _bind_class(a.get("processor"), self, "processor")
        if name not in ("Processor", "ScriptProcessor", "SKLearnProcessor"):
            raise _Unsupported(f"the processor class `{name}` is not one the bridge reads")
        config: dict[str, Any] = {}
        if _is_name(a.get("job_name")):
            config["ProcessingJobName"] = a["job_name"]
        if a.get("inputs") is not None:
            config["ProcessingInputs"] = [
                self.processing_input(value, i) for i, value in enumerate(_items(a["inputs"]))
            ]
        if a.get("outputs") is not None:
            outputs = [
                self.processing_output(value, i) for i, value in enumerate(_items(a["outputs"]))
            ]
            config["ProcessingOutputConfig"] = {"Outputs": outputs}
            if a.get("kms_key_id") is not None:
                config["ProcessingOutputConfig"]["KmsKeyId"] = _plain(a["kms_key_id"])
        config["AppSpecification"] = {"ImageUri": self.processor_image(name, p)}
        if a.get("container_arguments") is not None:
            config["AppSpecification"]["ContainerArguments"] = _plain(a["container_arguments"])
        entrypoint = a.get("container_entrypoint")
        if entrypoint is not None:
            config["AppSpecification"]["ContainerEntrypoint"] = _plain(entrypoint)
        for key in ("entrypoint", "command"):
            if p.get(key) is not None and entrypoint is None:
                self.diff(
                    f"the processor's `{key}` is not part of the request processing_config builds"
                )
        if p.get("env") is not None:
            config["Environment"] = _plain(p["env"])
        config["ProcessingResources"] = {
            "ClusterConfig": {
                "InstanceCount": _instances(p, "processor")[0],
                "InstanceType": _instances(p, "processor")[1],
                "VolumeSizeInGB": _plain(p.get("volume_size_in_gb", 30)),
            }
        }
        if p.get("volume_kms_key") is not None:
            config["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = _plain(
                p["volume_kms_key"]
            )
        config["RoleArn"] = _plain(p.get("role"))
        if p.get("max_runtime_in_seconds") is not None:
            config["StoppingCondition"] = {
                "MaxRuntimeInSeconds": _plain(p["max_runtime_in_seconds"])
            }
        if p.get("tags") is not None:
            config["Tags"] = _plain(p["tags"])
        for key in ("network_config", "output_kms_key"):
            if p.get(key) is not None:
                self.diff(
                    f"processor argument `{key}` is not read by the bridge; the step leaves it out"
                )
        return config

    def processor_image(self, name: str, p: dict) -> Any:
        if name == "SKLearnProcessor":
            return self.retrieve(
                "sklearn", p.get("framework_version"), "py3", p.get("instance_type"), None
            )
        return self.image(p.get("image_uri"))

    def processing_input(self, value: Any, index: int) -> dict:
        kind, i = _bind_class(value, self, "processing input")
        if kind != "ProcessingInput":
            raise _Unsupported(f"processing input `{kind}` is not one the bridge reads")
        return {
            "InputName": _plain(i.get("input_name") or f"input-{index + 1}"),
            "AppManaged": False,
            "S3Input": {
                "S3Uri": _required(i.get("source"), f"ProcessingInputs[{index}]", self),
                "LocalPath": _plain(i.get("destination")),
                "S3DataType": _plain(i.get("s3_data_type", "S3Prefix")),
                "S3InputMode": _plain(i.get("s3_input_mode", "File")),
                "S3DataDistributionType": _plain(
                    i.get("s3_data_distribution_type", "FullyReplicated")
                ),
                "S3CompressionType": _plain(i.get("s3_compression_type", "None")),
            },
        }

    def processing_output(self, value: Any, index: int) -> dict:
        kind, o = _bind_class(value, self, "processing output")
        if kind != "ProcessingOutput":
            raise _Unsupported(f"processing output `{kind}` is not one the bridge reads")
        return {
            "OutputName": _plain(o.get("output_name") or f"output-{index + 1}"),
            "AppManaged": False,
            "S3Output": {
                "S3Uri": _required(o.get("destination"), f"ProcessingOutputs[{index}]", self),
                "LocalPath": _plain(o.get("source")),
                "S3UploadMode": _plain(o.get("s3_upload_mode", "EndOfJob")),
            },
        }

    # tuning -------------------------------------------------------------------------------------

    def tuning_config(self, a: dict) -> dict:
        name, tuner = _bind_class(a.get("tuner"), self, "tuner")
        if name != "HyperparameterTuner":
            raise _Unsupported(f"the tuner class `{name}` is not one the bridge reads")
        est = self.estimator(tuner.get("estimator"))
        definition = self.training_base(est, a.get("inputs"), None)
        static = definition.pop("HyperParameters", {})
        ranges = self.parameter_ranges(
            tuner.get("hyperparameter_ranges"), bool(est.get("_framework"))
        )
        tuned = {r["Name"] for group in ranges.values() for r in group}
        definition["StaticHyperParameters"] = {k: v for k, v in static.items() if k not in tuned}
        if tuner.get("metric_definitions") is not None:
            definition["AlgorithmSpecification"]["MetricDefinitions"] = _plain(
                tuner["metric_definitions"]
            )
        job_config: dict[str, Any] = {
            "Strategy": _plain(tuner.get("strategy", "Bayesian")),
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": _plain(tuner.get("max_jobs", 1)),
                "MaxParallelTrainingJobs": _plain(tuner.get("max_parallel_jobs", 1)),
            },
            "TrainingJobEarlyStoppingType": _plain(tuner.get("early_stopping_type", "Off")),
            "HyperParameterTuningJobObjective": {
                "Type": _plain(tuner.get("objective_type", "Maximize")),
                "MetricName": _plain(tuner.get("objective_metric_name")),
            },
            "ParameterRanges": ranges,
        }
        config: dict[str, Any] = {}
        if _is_name(a.get("job_name")):
            config["HyperParameterTuningJobName"] = a["job_name"]
        config["HyperParameterTuningJobConfig"] = job_config
        config["TrainingJobDefinition"] = definition
        if tuner.get("tags") is not None:
            config["Tags"] = _plain(tuner["tags"])
        for key in ("warm_start_config", "estimator_name"):
            if tuner.get(key) is not None:
                self.diff(
                    f"tuner argument `{key}` is not read by the bridge; the step leaves it out"
                )
        return config

    def parameter_ranges(self, value: Any, framework: bool) -> dict:
        """HyperparameterTuner.hyperparameter_ranges(): ranges by type, values as text."""
        if not isinstance(value, dict) or _is_leaf(value):
            raise _Unsupported(f"the tuner's hyperparameter_ranges `{_shown(value)}` are not known")
        out: dict[str, list] = {
            "ContinuousParameterRanges": [],
            "IntegerParameterRanges": [],
            "CategoricalParameterRanges": [],
        }
        for name, spec in value.items():
            kind, r = _bind_class(spec, self, "parameter range")
            if kind == "CategoricalParameter":
                values = r.get("values")
                values = values if isinstance(values, list) else [values]
                text = [json.dumps(v) if framework else _text(v) for v in values]
                out["CategoricalParameterRanges"].append({"Name": name, "Values": text})
            elif kind in ("ContinuousParameter", "IntegerParameter"):
                out[f"{kind}Ranges"].append(
                    {
                        "Name": name,
                        "MinValue": _text(r.get("min_value")),
                        "MaxValue": _text(r.get("max_value")),
                        "ScalingType": _plain(r.get("scaling_type", "Auto")),
                    }
                )
            else:
                raise _Unsupported(f"hyperparameter range `{kind}` is not one the bridge reads")
        return out

    # images -------------------------------------------------------------------------------------

    def image(self, value: Any) -> Any:
        """An image argument: a URI, or `image_uris.retrieve(...)` / `get_image_uri(...)`."""
        call = _sdk(value)
        if call is None:
            return _plain(value)
        name = _class(call)
        if name in ("retrieve", "get_image_uri"):
            a = _bind(call, _CLASS_PARAMS[name], self)
            if name == "get_image_uri":
                region, framework = a.get("region_name"), a.get("repo_name")
                version = a.get("repo_version", 1)
                version = str(version) if isinstance(version, (int, float)) else version
                return self.retrieve(framework, version, None, None, None, region)
            return self.retrieve(
                a.get("framework"),
                a.get("version"),
                a.get("py_version"),
                a.get("instance_type"),
                a.get("image_scope"),
                a.get("region"),
            )
        return _unknown(_shown(value))

    def retrieve(
        self,
        framework: Any,
        version: Any,
        py_version: Any,
        instance_type: Any,
        scope: Any,
        region: Any = None,
    ) -> Any:
        """The image URI from the SDK v3's own image tables, for `region` when the DAG file
        names one, else for the pipeline's region (the one its jobs run in)."""
        shown = f"image_uris.retrieve({framework!r}, {version!r})"
        args = (framework, version, py_version, instance_type, scope)
        if not all(v is None or isinstance(v, str) for v in args):
            return _unknown(shown)
        if region is not None and not isinstance(region, str):
            self.diff(
                f"the image of `{framework}` {version or ''} is the one for the pipeline's region "
                f"{self.region}; the DAG reads its region when it runs (`{_shown(region)}`)"
            )
        uri = _retrieve(framework, region if isinstance(region, str) else self.region, *args[1:])
        if uri is None:
            self.diff(
                f"the SageMaker SDK has no image for `{framework}` {version or ''} in {self.region}"
            )
            return _unknown(shown)
        return uri


@functools.lru_cache(maxsize=64)
def _retrieve(framework: str, region: str, version, py_version, instance_type, scope) -> str | None:
    try:
        from sagemaker.core import image_uris  # the real SDK's tables; imported only when needed
    except Exception:  # noqa: BLE001 - without the SDK the image stays a named difference
        return None
    kwargs = {"version": version, "py_version": py_version, "instance_type": instance_type}
    if scope is not None:
        kwargs["image_scope"] = scope
    try:
        return image_uris.retrieve(framework, region, **kwargs)
    except Exception:  # noqa: BLE001 - an unknown framework, version or region
        return None


# ---- small helpers ----------------------------------------------------------------------------


def _is_name(value: Any) -> bool:
    """A resource name the request can carry: text (templates included) or a run-time value."""
    if isinstance(value, str):
        return True
    return _is_leaf(value) and value["kind"] in ("template", "xcom", "param")


def _is_value(value: Any) -> bool:
    """A value the step can carry: text (templates included) or a run-time pipeline value."""
    return _is_name(value)


def _where(output: Any) -> str:
    """Where Airflow's job wrote when the output path is not one the step can carry."""
    if output is None:
        return "no output_path is set and Airflow wrote to the SDK session's default bucket"
    return f"`{_shown(output)}` is only known when Airflow runs the DAG"


def _instances(owner: dict, what: str) -> tuple[Any, Any]:
    """(instance count, instance type): a job cannot be created without both."""
    count, kind = owner.get("instance_count"), owner.get("instance_type")
    if count is None or kind is None:
        raise _Unsupported(
            f"the {what} names no instance count and type the bridge can read; the request "
            "cannot be worked out"
        )
    return _plain(count), _plain(kind)


def _required(value: Any, where: str, builder: _Builder) -> Any:
    """A field the job cannot run without (a data location): when the DAG file does not show
    it, a pipeline parameter to set at start (kind "file_value", see RuleContext.file_value)."""
    if _is_value(value):
        return value
    shown = _shown(value) if value is not None else "nothing"
    builder.diff(
        f"{where}: `{shown}` is only known when Airflow runs the DAG; here it is a pipeline "
        "parameter to give when you start the pipeline"
    )
    return {"kind": "file_value", "source": shown}


def _text(value: Any) -> Any:
    """`str(v)` as the SDK applies it to hyperparameters and ranges (leaves stay leaves)."""
    if _is_leaf(value) or _sdk(value) is not None:
        return _plain(value)
    return value if isinstance(value, str) else str(value)


def _str_values(est: dict) -> dict:
    return {str(k): _text(v) for k, v in (est.get("hyperparameters") or {}).items()}


def _items(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _s3_channel(a: dict) -> dict:
    """s3_input / TrainingInput(s3_data, ...).config."""
    source = {
        "S3DataType": _plain(a.get("s3_data_type", "S3Prefix")),
        "S3Uri": _plain(a.get("s3_data")),
    }
    if a.get("distribution") is not None or a.get("target_attribute_name") is None:
        source["S3DataDistributionType"] = _plain(a.get("distribution") or "FullyReplicated")
    channel: dict[str, Any] = {"DataSource": {"S3DataSource": source}}
    for key, field_name in (
        ("compression", "CompressionType"),
        ("content_type", "ContentType"),
        ("record_wrapping", "RecordWrapperType"),
        ("input_mode", "InputMode"),
    ):
        if a.get(key) is not None:
            channel[field_name] = _plain(a[key])
    if a.get("attribute_names") is not None:
        source["AttributeNames"] = _plain(a["attribute_names"])
    return channel
