"""The request an operator sends for each resource it creates, as a pipeline step carries it."""

from __future__ import annotations

import copy
import re
from typing import Any

from bridge.emit.jobs.common import check_job
from bridge.emit.jobs.register_model import register_request

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


def sub_jobs(job: str, config: dict) -> list[tuple[str, dict]]:
    """The resources an operator config creates, in order, as (job, config) pairs.

    SageMakerTransformOperator may also create its model (``{"Model": ..., "Transform": ...}``)
    and SageMakerEndpointOperator its model and endpoint config (``{"Model": ...,
    "EndpointConfig": ..., "Endpoint": ...}``). A pipeline step creates one resource, so such a
    config becomes several steps; `job_code` on the combined config builds the last one only.
    """
    check_job(job)
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
    check_job(job)
    if not isinstance(config, dict):
        raise TypeError(f"{job}: config must be a dict, got {type(config).__name__}")
    notes: list[str] = []
    if job == "register_model":
        request, notes = register_request(config)
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
