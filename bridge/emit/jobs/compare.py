"""The round-trip check: an operator config against a built definition step's ``Arguments``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.emit.jobs.common import OWNED
from bridge.emit.jobs.practices import Computed, JobPractices, apply_practices
from bridge.emit.jobs.request import request_view

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
    "model": [
        (("EnableNetworkIsolation",), False),
        (("PrimaryContainer", "Mode"), "SingleModel"),
        (("Containers", "*", "Mode"), "SingleModel"),
    ],
    "register_model": [(("ModelApprovalStatus",), "PendingManualApproval")],
}


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
    practices: JobPractices | None = None,
) -> list[str]:
    """Differences between an operator config and a definition step's ``Arguments``.

    Strict: every config field (owned fields aside) must be in ``arguments`` with an equal
    value, and every extra ``arguments`` field must be an `SDK_DEFAULTS` entry. A config value
    that is empty ("", [] or {}) matches an absent field (the SDK leaves empty values out).
    ``value_json`` maps a config leaf to its definition JSON (e.g. a pipeline Parameter object to
    ``{"Get": "Parameters.x"}``); by default literals map to themselves and any other object
    matches any pipeline variable. The config is compared as the step was built from it, with
    the configuration's ``practices`` applied (the ones `job_code` was given): those changes
    are deliberate, and a value pipeline.py computes (the role, a regional image) must match.
    """
    request, notes = request_view(job, config)
    request = apply_practices(job, request, practices).request
    to_json = value_json or _default_value_json
    out: list[str] = list(notes)
    expected = {k: v for k, v in request.items() if k not in OWNED[job]}
    actual = {k: v for k, v in arguments.items() if k not in OWNED[job]}
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
    if isinstance(exp, Computed):
        if not exp.matches(act):
            out.append(f"{where}: config {exp!r}, definition {act!r}")
        return
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
