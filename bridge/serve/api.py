"""The SageMaker actions `bridge serve` answers: request fields in, response fields out, with
the names of botocore's model (sagemaker 2017-07-24). The semantics are in bridge/serve/state.py.

Each handler takes the server state and the request's JSON body and returns the response body,
or raises ApiError (ValidationException, ResourceNotFound, ConflictException). Timestamps are
epoch seconds. List actions page with an opaque NextToken that names the last item returned, so
a page boundary does not move when new items (steps that start) appear meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bridge.serve.checks import MAX_DEFINITION
from bridge.serve.errors import ApiError, validation
from bridge.serve.state import (
    LOCAL_ROLE,
    PIPELINE_NAME,
    Execution,
    Pipeline,
    ServeState,
    parameter_text,
)

DEFAULT_PAGE = 10
MAX_PAGE = 100

ACTIONS: dict[str, Callable[[ServeState, dict], dict]] = {}


def action(fn):
    ACTIONS["".join(part.title() for part in fn.__name__.split("_"))] = fn
    return fn


# ---- request checks ---------------------------------------------------------------------------

# The JSON type of every request member the actions read (botocore's model): a value of another
# type is refused before any handler sees it, as SageMaker refuses it (SerializationException).
# A type, a tuple of types, [item spec] for a list, {member: spec} for a structure. Members not
# named here are ignored, as AWS ignores members it does not know.
_TEXT = 4096  # characters of a string member, unless LONG_TEXT names it
LONG_TEXT = {"PipelineDefinition": 1024 * 1024, "NextToken": 8192}
REQUEST_FIELDS: dict[str, Any] = {
    "PipelineName": str,
    "PipelineDefinition": str,
    "PipelineDefinitionS3Location": {"Bucket": str, "ObjectKey": str, "VersionId": str},
    "RoleArn": str,
    "PipelineDisplayName": str,
    "PipelineDescription": str,
    "ClientRequestToken": str,
    "ParallelismConfiguration": {"MaxParallelExecutionSteps": int},
    "Tags": [{"Key": str, "Value": str}],
    "PipelineVersionId": int,
    "PipelineNamePrefix": str,
    "CreatedAfter": (int, float, str),
    "CreatedBefore": (int, float, str),
    "SortBy": str,
    "SortOrder": str,
    "NextToken": str,
    "MaxResults": int,
    "PipelineParameters": [{"Name": str, "Value": str}],
    "PipelineExecutionDisplayName": str,
    "PipelineExecutionDescription": str,
    "SelectiveExecutionConfig": {
        "SourcePipelineExecutionArn": str,
        "SelectedSteps": [{"StepName": str}],
    },
    "PipelineExecutionArn": str,
    "ProcessingJobName": str,
    "TrainingJobName": str,
    "ResourceArn": str,
}
_JSON_TYPE = {str: "a string", int: "an integer", float: "a number", dict: "an object"}


def check_request(request: dict) -> None:
    """Refuse a request whose members have the wrong JSON type or are too long."""
    for name, spec in REQUEST_FIELDS.items():
        if name in request:
            _check_member(request[name], spec, name[0].lower() + name[1:], name)


def _check_member(value: Any, spec: Any, where: str, name: str) -> None:
    if value is None:
        return  # null is an absent member
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise _wrong_type(where, "a list")
        for index, item in enumerate(value):
            _check_member(item, spec[0], f"{where}.{index + 1}.member", name)
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise _wrong_type(where, "an object")
        for member, member_spec in spec.items():
            if member in value:
                _check_member(value[member], member_spec, f"{where}.{member}", member)
        return
    kinds = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(value, bool) or not isinstance(value, kinds):  # a bool is no number here
        raise _wrong_type(where, " or ".join(_JSON_TYPE[k] for k in kinds))
    if isinstance(value, str) and len(value) > LONG_TEXT.get(name, _TEXT):
        raise validation(
            f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {LONG_TEXT.get(name, _TEXT)}"
        )


def _wrong_type(where: str, expected: str) -> ApiError:
    return ApiError("SerializationException", f"Value at '{where}' must be {expected}")


def required(request: dict, name: str) -> Any:
    value = request.get(name)
    if value is None or value == "":
        member = name[0].lower() + name[1:]
        raise validation(
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return value


def _name(request: dict, field: str = "PipelineName") -> str:
    name = required(request, field)
    if not isinstance(name, str) or not PIPELINE_NAME.fullmatch(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at '{field[0].lower() + field[1:]}' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}"
        )
    return name


def _definition_text(state: ServeState, request: dict) -> str | None:
    """The definition a request gives: inline, or the object PipelineDefinitionS3Location names
    in the server's store (the SDK uploads definitions over 100 KB there, through its S3)."""
    location = request.get("PipelineDefinitionS3Location")
    if not location:
        return request.get("PipelineDefinition")
    from bridge.run.object_store import ObjectStore

    uri = f"s3://{required(location, 'Bucket')}/{required(location, 'ObjectKey')}"
    try:
        with ObjectStore(state.store_root).open(uri) as file:
            data = file.read(MAX_DEFINITION + 1)
        if len(data) > MAX_DEFINITION:
            raise validation(
                f"PipelineDefinitionS3Location {uri}: larger than {MAX_DEFINITION} bytes"
            )
        return data.decode("utf-8")
    except (OSError, ValueError):  # no such object, a key leaving the store, not UTF-8
        raise validation(
            f"PipelineDefinitionS3Location {uri}: no such object in the store"
        ) from None


def _time(request: dict, name: str) -> float | None:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            raise validation(f"{name}: {value!r} is not a timestamp") from None
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except (ValueError, OverflowError):
        raise validation(f"{name}: {value!r} is not a timestamp") from None


def _choice(request: dict, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.get(name) or default
    if value not in allowed:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{name[0].lower() + name[1:]}' "
            f"failed to satisfy constraint: Member must satisfy enum value set: {list(allowed)}"
        )
    return value


def page(
    items: list[Any], key: Callable[[Any], tuple], request: dict, descending: bool
) -> tuple[list[Any], str | None]:
    """One page of `items` sorted by `key`, after the request's NextToken."""
    limit = request.get("MaxResults")
    limit = DEFAULT_PAGE if limit is None else limit
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise validation(f"MaxResults must be between 1 and {MAX_PAGE}")
    ordered = sorted(items, key=key, reverse=descending)
    if request.get("NextToken"):
        try:
            after = tuple(json.loads(base64.urlsafe_b64decode(request["NextToken"].encode())))
            ordered = [i for i in ordered if (key(i) < after if descending else key(i) > after)]
        except (ValueError, TypeError, RecursionError, binascii.Error):  # not ours, or forged
            raise validation("Invalid pagination token (NextToken)") from None
    chosen = ordered[:limit]
    if len(ordered) <= limit:
        return chosen, None
    token = base64.urlsafe_b64encode(json.dumps(list(key(chosen[-1]))).encode()).decode()
    return chosen, token


def _descending(request: dict) -> bool:
    return _choice(request, "SortOrder", ("Ascending", "Descending"), "Descending") == "Descending"


# ---- pipelines --------------------------------------------------------------------------------


@action
def create_pipeline(state: ServeState, request: dict) -> dict:
    name = _name(request)
    text = _definition_text(state, request) or required(request, "PipelineDefinition")
    try:
        pipeline = state.create_pipeline(
            name,
            text,
            role_arn=required(request, "RoleArn"),
            display_name=request.get("PipelineDisplayName") or "",
            description=request.get("PipelineDescription") or "",
            token=request.get("ClientRequestToken") or "",
            parallelism=request.get("ParallelismConfiguration"),
        )
    except ApiError as exc:
        if exc.code != "ConflictException":
            raise
        # SageMaker's answer for a name in use, which the SDK's upsert() waits for to update.
        raise validation(
            f"Pipeline names must be unique within an AWS account and region: {exc.message}"
        ) from None
    return {"PipelineArn": pipeline.arn}


@action
def update_pipeline(state: ServeState, request: dict) -> dict:
    pipeline = state.pipeline(_name(request))
    state.update_pipeline(
        pipeline,
        _definition_text(state, request),
        display_name=request.get("PipelineDisplayName"),
        description=request.get("PipelineDescription"),
        role_arn=request.get("RoleArn"),
        parallelism=request.get("ParallelismConfiguration"),
    )
    return {"PipelineArn": pipeline.arn, "PipelineVersionId": pipeline.current.version}


@action
def describe_pipeline(state: ServeState, request: dict) -> dict:
    pipeline = state.pipeline(required(request, "PipelineName"))
    version = pipeline.current
    if request.get("PipelineVersionId") is not None:
        number = request["PipelineVersionId"]
        if not isinstance(number, int) or not 1 <= number <= len(pipeline.versions):
            raise ApiError(
                "ResourceNotFound", f"Pipeline '{pipeline.arn}' has no version {number}."
            )
        version = pipeline.versions[number - 1]
    response = {
        "PipelineArn": pipeline.arn,
        "PipelineName": pipeline.name,
        "PipelineDisplayName": pipeline.display_name,
        "PipelineDefinition": version.text,
        "PipelineDescription": pipeline.description,
        "RoleArn": pipeline.role_arn or LOCAL_ROLE,
        "PipelineStatus": "Active",
        "CreationTime": pipeline.created,
        "LastModifiedTime": pipeline.modified,
    }
    if pipeline.last_run is not None:
        response["LastRunTime"] = pipeline.last_run
    if pipeline.parallelism:
        response["ParallelismConfiguration"] = pipeline.parallelism
    return response


@action
def delete_pipeline(state: ServeState, request: dict) -> dict:
    pipeline = state.pipeline(_name(request))
    state.delete_pipeline(pipeline)
    return {"PipelineArn": pipeline.arn}


@action
def list_pipelines(state: ServeState, request: dict) -> dict:
    prefix = (request.get("PipelineNamePrefix") or "").lower()
    after, before = _time(request, "CreatedAfter"), _time(request, "CreatedBefore")
    sort_by = _choice(request, "SortBy", ("Name", "CreationTime"), "CreationTime")
    with state.lock:
        pipelines = [
            p
            for p in state.pipelines.values()
            if p.key.startswith(prefix)
            and (after is None or p.created > after)
            and (before is None or p.created < before)
        ]

    def key(p: Pipeline) -> tuple:
        return (p.key,) if sort_by == "Name" else (p.created, p.key)

    chosen, token = page(pipelines, key, request, _descending(request))
    summaries = []
    for p in chosen:
        summary = {
            "PipelineArn": p.arn,
            "PipelineName": p.name,
            "PipelineDisplayName": p.display_name,
            "PipelineDescription": p.description,
            "RoleArn": p.role_arn,
            "CreationTime": p.created,
            "LastModifiedTime": p.modified,
        }
        if p.last_run is not None:
            summary["LastExecutionTime"] = p.last_run
        summaries.append(summary)
    return _with_token({"PipelineSummaries": summaries}, token)


@action
def add_tags(state: ServeState, request: dict) -> dict:
    """Accepted for a pipeline of this server, not kept: the SDK's upsert() tags an existing
    pipeline again after updating it, and nothing here reads tags."""
    _tagged(state, request)
    return {"Tags": request.get("Tags") or []}


@action
def list_tags(state: ServeState, request: dict) -> dict:
    _tagged(state, request)
    return {"Tags": []}  # none kept (add_tags)


def _tagged(state: ServeState, request: dict) -> Pipeline:
    """The pipeline a tagging request's ResourceArn names (only pipelines are tagged here)."""
    arn = required(request, "ResourceArn")
    if ":pipeline/" not in arn or "/execution/" in arn:
        raise validation(f"bridge serve tags pipelines only, not {arn[:200]}")
    return state.pipeline(arn)


def _with_token(response: dict, token: str | None) -> dict:
    if token:
        response["NextToken"] = token
    return response


# ---- executions -------------------------------------------------------------------------------


@action
def start_pipeline_execution(state: ServeState, request: dict) -> dict:
    pipeline = state.pipeline(required(request, "PipelineName"))
    parameters: dict[str, str] = {}
    for item in request.get("PipelineParameters") or []:
        name, value = item.get("Name"), item.get("Value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise validation("each PipelineParameters item needs a Name and a string Value")
        if name in parameters:
            raise validation(f"parameter {name} is given more than once")
        parameters[name] = value
    selective = request.get("SelectiveExecutionConfig")
    execution = state.start(
        pipeline,
        parameters,
        display_name=request.get("PipelineExecutionDisplayName") or "",
        description=request.get("PipelineExecutionDescription") or "",
        token=request.get("ClientRequestToken") or "",
        selective=selective if isinstance(selective, dict) else None,
        parallelism=request.get("ParallelismConfiguration"),
    )
    return {"PipelineExecutionArn": execution.arn}


def _execution(state: ServeState, request: dict) -> Execution:
    return state.execution(required(request, "PipelineExecutionArn"))


@action
def describe_pipeline_execution(state: ServeState, request: dict) -> dict:
    execution = _execution(state, request)
    with state.lock:
        response = {
            "PipelineArn": execution.pipeline.arn,
            "PipelineExecutionArn": execution.arn,
            "PipelineExecutionDisplayName": execution.display_name,
            "PipelineExecutionStatus": execution.status,
            "CreationTime": execution.created,
            "LastModifiedTime": execution.modified,
            "PipelineVersionId": execution.version.version,
        }
        if execution.description:
            response["PipelineExecutionDescription"] = execution.description
        experiment = _experiment(execution)
        if experiment:
            response["PipelineExperimentConfig"] = experiment
        if execution.failure:
            response["FailureReason"] = execution.failure
        if execution.parallelism:
            response["ParallelismConfiguration"] = execution.parallelism
        if execution.selective:
            response["SelectiveExecutionConfig"] = execution.selective
    return response


def _experiment(execution: Execution) -> dict:
    """The definition's PipelineExperimentConfig with the execution's values filled in."""
    config = execution.version.definition.get("PipelineExperimentConfig")
    if not isinstance(config, dict):
        return {}
    from bridge.run.values import Scope, resolve

    scope = Scope(
        execution={
            "PipelineName": execution.pipeline.name,
            "PipelineExecutionId": execution.id,
            "PipelineArn": execution.pipeline.arn,
            "PipelineExecutionArn": execution.arn,
        }
    )
    try:
        resolved = resolve(config, scope)
    except (ValueError, TypeError, KeyError, AttributeError):  # a malformed config: none shown
        return {}
    if not isinstance(resolved, dict):
        return {}
    return {k: str(v) for k, v in resolved.items() if k in ("ExperimentName", "TrialName")}


@action
def list_pipeline_executions(state: ServeState, request: dict) -> dict:
    pipeline = state.pipeline(required(request, "PipelineName"))
    after, before = _time(request, "CreatedAfter"), _time(request, "CreatedBefore")
    sort_by = _choice(request, "SortBy", ("CreationTime", "PipelineExecutionArn"), "CreationTime")
    with state.lock:
        executions = [
            e
            for e in state.executions.values()
            if e.pipeline is pipeline
            and (after is None or e.created > after)
            and (before is None or e.created < before)
        ]

        def key(e: Execution) -> tuple:
            return (e.arn,) if sort_by == "PipelineExecutionArn" else (e.created, e.arn)

        chosen, token = page(executions, key, request, _descending(request))
        summaries = []
        for e in chosen:
            summary = {
                "PipelineExecutionArn": e.arn,
                "StartTime": e.created,
                "PipelineExecutionStatus": e.status,
                "PipelineExecutionDisplayName": e.display_name,
            }
            if e.description:
                summary["PipelineExecutionDescription"] = e.description
            if e.failure:
                summary["PipelineExecutionFailureReason"] = e.failure
            summaries.append(summary)
    return _with_token({"PipelineExecutionSummaries": summaries}, token)


@action
def list_pipeline_execution_steps(state: ServeState, request: dict) -> dict:
    execution = _execution(state, request)
    with state.lock:
        entries = list(execution.steps.values())
        chosen, token = page(entries, lambda e: (e.started, e.name), request, _descending(request))
        rows = [entry.to_api() for entry in chosen]
    return _with_token({"PipelineExecutionSteps": rows}, token)


@action
def list_pipeline_parameters_for_execution(state: ServeState, request: dict) -> dict:
    from bridge.run.engine import typed_parameters

    execution = _execution(state, request)
    values = typed_parameters(execution.version.definition, execution.parameters)
    items = [{"Name": k, "Value": parameter_text(v)} for k, v in values.items()]
    chosen, token = page(items, lambda p: (p["Name"],), request, descending=False)
    return _with_token({"PipelineParameters": chosen}, token)


@action
def stop_pipeline_execution(state: ServeState, request: dict) -> dict:
    return {"PipelineExecutionArn": state.stop(_execution(state, request)).arn}


@action
def retry_pipeline_execution(state: ServeState, request: dict) -> dict:
    execution = _execution(state, request)
    state.retry(execution, request.get("ClientRequestToken") or "")
    return {"PipelineExecutionArn": execution.arn}


@action
def describe_pipeline_definition_for_execution(state: ServeState, request: dict) -> dict:
    execution = _execution(state, request)
    return {
        "PipelineDefinition": execution.version.text,
        "CreationTime": execution.version.created,
    }


# ---- jobs -------------------------------------------------------------------------------------

PROCESSING_FIELDS = (
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "StoppingCondition",
    "AppSpecification",
    "Environment",
    "NetworkConfig",
    "RoleArn",
    "ExperimentConfig",
)
TRAINING_FIELDS = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "Environment",
    "RetryStrategy",
)
# Lists and maps of strings in a job request, where a resolved pipeline value may be a number.
_STRINGS = ("ContainerArguments", "ContainerEntrypoint", "Environment", "HyperParameters")


def _as_requested(arguments: dict, fields: tuple[str, ...]) -> dict:
    """The job request's `fields`, strings where the API has strings (as the process got them)."""

    def fix(value: Any, key: str = "") -> Any:
        if key in _STRINGS and isinstance(value, list):
            return [str(v) for v in value]
        if key in _STRINGS and isinstance(value, dict):
            return {k: str(v) for k, v in value.items()}
        if isinstance(value, dict):
            return {k: fix(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return {k: fix(arguments[k], k) for k in fields if k in arguments}


SECONDARY_STATUS = {"InProgress": "Training", "Completed": "Completed", "Stopped": "Stopped"}


@action
def describe_processing_job(state: ServeState, request: dict) -> dict:
    name = required(request, "ProcessingJobName")
    with state.lock:
        job = state.job(name, "Processing")
        if job is None:  # what SageMaker answers for an unknown processing job
            raise validation(f"Could not find requested job with name {name}")
        response = _as_requested(job.arguments, PROCESSING_FIELDS)
        response.update(
            {
                "ProcessingJobName": job.name,
                "ProcessingJobArn": job.arn,
                "ProcessingJobStatus": job.status,
                "ProcessingStartTime": job.created,
                "CreationTime": job.created,
                "LastModifiedTime": job.ended or job.created,
            }
        )
        if job.ended is not None:
            response["ProcessingEndTime"] = job.ended
        if job.failure:
            response["FailureReason"] = job.failure[:1024]
            response["ExitMessage"] = job.failure[:1024]
    return response


@action
def describe_training_job(state: ServeState, request: dict) -> dict:
    name = required(request, "TrainingJobName")
    with state.lock:
        job = state.job(name, "Training")
        if job is None:  # what SageMaker answers for an unknown training job
            raise validation("Requested resource not found.")
        response = _as_requested(job.arguments, TRAINING_FIELDS)
        response.update(
            {
                "TrainingJobName": job.name,
                "TrainingJobArn": job.arn,
                "TrainingJobStatus": job.status,
                "SecondaryStatus": SECONDARY_STATUS.get(job.status, "Failed"),
                "CreationTime": job.created,
                "TrainingStartTime": job.created,
                "LastModifiedTime": job.ended or job.created,
            }
        )
        if job.details.get("ModelArtifacts"):
            response["ModelArtifacts"] = job.details["ModelArtifacts"]
        if job.ended is not None:
            response["TrainingEndTime"] = job.ended
            response["TrainingTimeInSeconds"] = int(job.ended - job.created)
        if job.failure:
            response["FailureReason"] = job.failure[:1024]
        if job.details.get("FinalMetricDataList"):
            response["FinalMetricDataList"] = job.details["FinalMetricDataList"]
    return response
