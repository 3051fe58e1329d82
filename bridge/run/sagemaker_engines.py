"""`bridge run --engine sagemaker-local | aws`: run the emitted pipeline through the SageMaker SDK.

`sagemaker-local` uses the SDK's LocalPipelineSession (Processing and Training in Docker, no
Lambda); `aws` upserts the pipeline with your credentials, starts it and waits. Both turn the
execution's step list into the same RunRecord as the local engine. The SDK is imported here
only, when one of these engines is chosen.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

from bridge.definition import all_steps
from bridge.run.engine import RunError, load_output_folder, typed_parameters
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


def run_with_sdk(
    folder: Path,
    engine: str,
    parameters: dict[str, Any],
    *,
    role: str | None = None,
    poll_seconds: float = 15.0,
    timeout: float = 6 * 3600.0,
) -> RunRecord:
    folder = Path(folder).resolve()
    definition, manifest = load_output_folder(folder)
    values = typed_parameters(definition, parameters)
    if engine == "sagemaker-local" and not docker_available():
        raise RunError(
            "BRG302",
            "--engine sagemaker-local needs a running Docker engine (SageMaker local mode runs "
            "each job in its container); use --engine local instead",
        )
    role = role or os.environ.get("SAGEMAKER_ROLE_ARN")
    if not role:
        raise RunError("BRG302", f"--engine {engine} needs --role or $SAGEMAKER_ROLE_ARN")
    module = _import_pipeline(folder)
    started = time.time()
    try:
        pipeline = module.get_pipeline(role=role, local=engine == "sagemaker-local")
        pipeline.upsert(role_arn=role)
        execution = pipeline.start(parameters=values)
    except Exception as exc:  # credentials, permissions, a quota: the SDK's message says which
        raise RunError("BRG302", f"--engine {engine}: {type(exc).__name__}: {exc}") from None
    status = _wait(execution, poll_seconds, timeout)
    steps = execution.list_steps()
    record = record_from_steps(
        steps,
        engine=engine,
        name=pipeline.name,
        run_id=str(getattr(execution, "arn", "") or ""),
        status=status,
        kinds={n: s.get("Type", "") for n, s in all_steps(definition["Steps"]).items()},
    )
    record.started, record.ended, record.parameters = started, time.time(), values
    record.folder = str(folder / "runs" / record.run_id.rsplit("/", 1)[-1])
    record.write(Path(record.folder))
    return record


def _import_pipeline(folder: Path):
    spec = importlib.util.spec_from_file_location("bridge_emitted_pipeline", folder / "pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait(execution, poll_seconds: float, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = execution.describe().get("PipelineExecutionStatus", "")
        if status not in ("Executing", "Stopping", ""):
            return status
        if time.monotonic() > deadline:
            return "Executing"
        time.sleep(poll_seconds)


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
