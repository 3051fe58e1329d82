"""The SDK engines' side that runs offline: the RunRecord built from an execution's step list
(the ListPipelineExecutionSteps shape), and the refusal to start without Docker or a role."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.run.engine import RunError
from bridge.run.sagemaker_engines import record_from_steps, run_with_sdk
from bridge.run.steps import docker_available

GOLDEN = Path(__file__).resolve().parent / "golden"


def _at(second: int) -> datetime:
    return datetime(2026, 1, 5, 0, 0, second, tzinfo=UTC)


# Newest first, one item per attempt, as SageMaker lists them.
STEPS = [
    {
        "StepName": "register",
        "StepStatus": "Failed",
        "StartTime": _at(40),
        "EndTime": _at(45),
        "FailureReason": "ClientError: AccessDenied",
        "Metadata": {"ProcessingJob": {"Arn": "arn:aws:sagemaker:us-east-1:1:processing-job/r"}},
    },
    {
        "StepName": "check",
        "StepStatus": "Succeeded",
        "StartTime": _at(30),
        "EndTime": _at(31),
        "Metadata": {"Condition": {"Outcome": "True"}},
    },
    {"StepName": "train", "StepStatus": "Succeeded", "StartTime": _at(10), "EndTime": _at(29)},
    {"StepName": "train", "StepStatus": "Failed", "StartTime": _at(1), "EndTime": _at(9)},
    {
        "StepName": "prep",
        "StepStatus": "Succeeded",
        "StartTime": _at(0),
        "EndTime": _at(0),
        "CacheHitResult": {"SourcePipelineExecutionArn": "arn:...:execution/old"},
    },
]
KINDS = {
    "prep": "Processing",
    "train": "Training",
    "check": "Condition",
    "register": "Processing",
    "alert": "Processing",
}


def test_record_from_execution_steps():
    record = record_from_steps(
        STEPS, engine="aws", name="p", run_id="arn:...:execution/x", status="Failed", kinds=KINDS
    )
    assert record.status == "Failed"
    assert record.message == "step register failed: ClientError: AccessDenied"
    train = record.steps["train"]
    assert (train.status, train.attempts, train.duration) == ("Succeeded", 2, 19.0)
    assert record.steps["prep"].cached
    assert record.steps["check"].branch is True
    assert record.steps["register"].outputs == {
        "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/r"
    }
    alert = record.steps["alert"]  # in the definition, never started
    assert (alert.status, alert.kind) == ("NotExecuted", "Processing")


def test_sdk_engines_refuse_to_start_without_what_they_need(tmp_path, monkeypatch):
    folder = tmp_path / "p"
    shutil.copytree(GOLDEN / "ml_taskflow_pipeline", folder)
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)
    with pytest.raises(RunError, match="--role") as raised:
        run_with_sdk(folder, "aws", {})
    assert raised.value.code == "BRG302"
    if not docker_available():
        with pytest.raises(RunError, match="Docker") as raised:
            run_with_sdk(folder, "sagemaker-local", {}, role="arn:aws:iam::1:role/r")
        assert raised.value.code == "BRG302"
