"""`bridge run --engine sagemaker-local | aws`: run the emitted pipeline through the SageMaker SDK.

`sagemaker-local` uses the SDK's LocalPipelineSession (Processing and Training in Docker, no
Lambda); `aws` upserts the pipeline with your credentials, starts it and waits. Both turn the
execution's step list into the same RunRecord as the local engine. The SDK is imported here
only, when one of these engines is chosen.

`aws` talks to the SageMaker and S3 endpoints boto3 resolves: AWS's, or the ones named by
`--endpoint-url` or by boto3's own variables (AWS_ENDPOINT_URL_SAGEMAKER, AWS_ENDPOINT_URL_S3,
AWS_ENDPOINT_URL), e.g. `bridge serve`. The emitted pipeline.py makes the session
(`use_endpoint`, `pipeline_session`), so this path is the one `python pipeline.py --upsert
--start` takes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.definition import all_steps
from bridge.run.engine import RunError, load_output_folder, typed_parameters
from bridge.run.pipeline_module import import_pipeline
from bridge.run.record import (
    FAILED,
    NOT_EXECUTED,
    STOPPED,
    SUCCEEDED,
    RunRecord,
    StepRun,
)
from bridge.run.steps import docker_available

# SageMaker's step and execution statuses -> ours.
STEP_STATUS = {
    "Succeeded": SUCCEEDED,
    "Failed": FAILED,
    "Stopped": STOPPED,
    "Stopping": STOPPED,
    "Starting": NOT_EXECUTED,
    "Executing": NOT_EXECUTED,
}
# The variables boto3 (botocore >= 1.31) reads for the clients the SDK makes: service-specific
# first, then the global one.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
)
# Error codes meaning "these credentials are not known here" (AWS, and bridge serve's token).
_REFUSED_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "MissingAuthenticationTokenException",
    "AccessDenied",
}


def run_with_sdk(
    folder: Path,
    engine: str,
    parameters: dict[str, Any],
    *,
    role: str | None = None,
    endpoint_url: str | None = None,
    poll_seconds: float = 15.0,
    timeout: float = 6 * 3600.0,
) -> RunRecord:
    folder = Path(folder).resolve()
    definition, manifest = load_output_folder(folder)
    values = typed_parameters(definition, parameters)
    if endpoint_url is not None and engine != "aws":
        raise RunError("BRG312", f"--endpoint-url is for --engine aws, not --engine {engine}")
    if engine == "sagemaker-local" and not docker_available():
        raise RunError(
            "BRG302",
            "--engine sagemaker-local needs a running Docker engine (SageMaker local mode runs "
            "each job in its container); use --engine local instead",
        )
    endpoint = check_endpoints(endpoint_url) if engine == "aws" else ""
    role = role or os.environ.get("SAGEMAKER_ROLE_ARN")
    if not role:
        raise RunError("BRG302", f"--engine {engine} needs --role or $SAGEMAKER_ROLE_ARN")
    module = _import_pipeline(folder)
    started = time.time()
    with _sdk_errors(engine, endpoint), _endpoint_environment(module, endpoint_url):
        pipeline = module.get_pipeline(role=role, local=engine == "sagemaker-local")
        pipeline.upsert(role_arn=role)
        execution = pipeline.start(parameters=values)
        status = _wait(execution, poll_seconds, timeout)
        steps = (
            execution.list_steps()  # local mode's client pages nothing
            if engine == "sagemaker-local"
            else execution_steps(pipeline.sagemaker_session.sagemaker_client, execution.arn)
        )
    record = record_from_steps(
        steps,
        engine=engine,
        name=pipeline.name,
        run_id=str(getattr(execution, "arn", "") or ""),
        status=status,
        kinds={n: s.get("Type", "") for n, s in all_steps(definition["Steps"]).items()},
    )
    if status == "Executing":
        record.message = f"the execution had not ended after {timeout:.0f} s: {record.run_id}"
    record.started, record.ended, record.parameters = started, time.time(), values
    record.folder = str(folder / "runs" / record.run_id.rsplit("/", 1)[-1])
    record.write(Path(record.folder))
    return record


def check_endpoints(endpoint_url: str | None) -> str:
    """The SageMaker endpoint the run will use ("" for AWS's own), after checking that the
    flag and every endpoint variable boto3 would read is an http(s) URL (BRG310)."""
    named = [("--endpoint-url", endpoint_url)] if endpoint_url is not None else []
    named += [(f"${name}", os.environ[name]) for name in ENDPOINT_VARIABLES if os.environ.get(name)]
    for where, url in named:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RunError(
                "BRG310", f"{where} {url!r} is not an http(s) URL such as http://127.0.0.1:8765"
            )
    if endpoint_url is not None:
        return endpoint_url
    return os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER") or os.environ.get("AWS_ENDPOINT_URL", "")


@contextlib.contextmanager
def _endpoint_environment(module, endpoint_url: str | None) -> Iterator[None]:
    """Point the SDK at `endpoint_url` for this run only: pipeline.py's `use_endpoint` sets the
    variables boto3 reads (the SDK makes clients of its own deep inside); they are put back
    afterwards, with whatever else the session set up (SAGEMAKER_VALIDATE_ROLE)."""
    saved = dict(os.environ)
    try:
        if endpoint_url is not None:
            use_endpoint = _use_endpoint(module)
            if use_endpoint is None:
                raise RunError(
                    "BRG310",
                    "this output folder's pipeline.py takes no endpoint (it was translated by an "
                    "older bridge): translate the DAG again",
                )
            use_endpoint(endpoint_url)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _use_endpoint(module):
    """pipeline.py's use_endpoint: its own (older folders) or its pipeline_support's."""
    support = sys.modules.get(getattr(getattr(module, "main", None), "__module__", ""))
    return getattr(module, "use_endpoint", None) or getattr(support, "use_endpoint", None)


@contextlib.contextmanager
def _sdk_errors(engine: str, endpoint: str) -> Iterator[None]:
    """Turn what the SDK and botocore raise into a RunError: BRG311 when another endpoint cannot
    be reached or does not know the credentials, BRG302 otherwise."""
    try:
        yield
    except RunError:
        raise
    except Exception as exc:  # credentials, permissions, a quota: the SDK's message says which
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")
        unreachable = type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError")
        if endpoint and (unreachable or code in _REFUSED_CREDENTIALS):
            raise RunError(
                "BRG311",
                f"--engine {engine}: the endpoint {endpoint} "
                f"{'does not answer' if unreachable else 'refuses the credentials'}: "
                f"{type(exc).__name__}: {exc}",
            ) from None
        raise RunError("BRG302", f"--engine {engine}: {type(exc).__name__}: {exc}") from None


def _import_pipeline(folder: Path):
    return import_pipeline(folder / "pipeline.py", "bridge_emitted_pipeline")


def _wait(execution, poll_seconds: float, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    delay = min(1.0, poll_seconds)
    while True:
        status = execution.describe().get("PipelineExecutionStatus", "")
        if status not in ("Executing", "Stopping", ""):
            return status
        if time.monotonic() > deadline:
            return "Executing"
        time.sleep(delay)
        delay = min(delay * 2, poll_seconds)  # short runs end soon; long ones at a gentle pace


def execution_steps(client, arn: str) -> list[dict]:
    """Every ListPipelineExecutionSteps item, newest first (the SDK's `list_steps()` returns
    the first page only: ten steps)."""
    paginator = client.get_paginator("list_pipeline_execution_steps")
    return [
        item
        for page in paginator.paginate(PipelineExecutionArn=arn, SortOrder="Descending")
        for item in page["PipelineExecutionSteps"]
    ]


def record_from_steps(
    steps: list[dict], *, engine: str, name: str, run_id: str, status: str, kinds: dict[str, str]
) -> RunRecord:
    """A RunRecord from ListPipelineExecutionSteps items (newest first, one per attempt)."""
    record = RunRecord(engine=engine, name=name, run_id=run_id)
    record.status = SUCCEEDED if status == "Succeeded" else FAILED
    for item in reversed(steps):  # oldest first: a retried step's last attempt wins
        step_name = item["StepName"]
        previous = record.steps.get(step_name)
        run = StepRun(
            name=step_name,
            status=STEP_STATUS.get(item.get("StepStatus", ""), FAILED),
            kind=kinds.get(step_name, ""),
            started=_epoch(item.get("StartTime")),
            ended=_epoch(item.get("EndTime")),
            attempts=(previous.attempts if previous else 0) + 1,
            cached="CacheHitResult" in item,
            reason=item.get("FailureReason", ""),
            raw_state=item.get("StepStatus", ""),
            outputs=_metadata_outputs(item.get("Metadata") or {}),
        )
        if "Condition" in (item.get("Metadata") or {}):
            run.branch = item["Metadata"]["Condition"].get("Outcome") == "True"
        record.steps[step_name] = run
    for step_name, kind in kinds.items():
        record.steps.setdefault(
            step_name,
            StepRun(step_name, NOT_EXECUTED, kind=kind, reason="not started in this execution"),
        )
    failed = [s for s in record.steps.values() if s.status == FAILED]
    if failed:
        record.message = f"step {failed[0].name} failed: {failed[0].reason}"
    return record


def _metadata_outputs(metadata: dict) -> dict:
    """What a step's metadata says it produced (job ARNs, Lambda outputs)."""
    outputs = {}
    for kind, data in metadata.items():
        if isinstance(data, dict) and "Arn" in data:
            outputs[f"{kind}Arn"] = data["Arn"]
        if kind == "Lambda":
            outputs.update({o["Name"]: o.get("Value") for o in data.get("OutputParameters", [])})
    return json.loads(json.dumps(outputs, default=str))


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value)
