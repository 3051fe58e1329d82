"""The path a user takes to real SageMaker, walked against `bridge serve` started here.

`bridge run --engine aws --endpoint-url URL` and `python pipeline.py --upsert --start
--endpoint-url URL` run as the user runs them (subprocesses, the installed SDK v3 and boto3,
dummy credentials whose access key is the server's token, no AWS): the SDK uploads the step code
through serve's S3, asks its STS for the account, upserts and starts the pipeline; serve runs it
with the local runner. The AWS engine's RunRecord must equal the local engine's, step by step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.run.engine import RunError
from bridge.run.sagemaker_engines import check_endpoints, run_with_sdk
from bridge.serve.server import serve
from tests import serve_user
from tests.serve_user import serve_client

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = "ml_taskflow_pipeline"
PIPELINE = "ml-taskflow-pipeline"
TOKEN = "BRGAWSENGINETESTS000000000000000"
ROLE = "arn:aws:iam::000000000000:role/AwsEngineTests"
BUCKET = "sagemaker-us-east-1-000000000000"  # the SDK's default bucket, for serve's account
BRIDGE = Path(sys.executable).parent / "bridge"


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("translated")
    done = subprocess.run(
        [str(BRIDGE), "translate", str(ROOT / "sample_dags" / f"{SAMPLE}.py"), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out / SAMPLE


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # No output folder loaded: everything the runs need arrives through the API, as on AWS.
    with serve([], tmp_path_factory.mktemp("state"), port=0, token=TOKEN) as running:
        yield running


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    return serve_user.user_env(tmp_path, TOKEN, ROLE)


def client(server, service: str):
    return serve_client(server.url, TOKEN, service)


def copy_of(folder: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("runs"))
    return target


def bridge_run(folder: Path, env: dict[str, str], *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BRIDGE), "run", str(folder), "--json", *options],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder.parent,
        timeout=600,
    )


def record_of(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode in (0, 1), done.stderr[-3000:]  # ran (succeeded or failed)
    return json.loads(done.stdout)


def statuses(record: dict) -> dict[str, str]:
    return {name: step["status"] for name, step in record["steps"].items()}


def wait(sm, arn: str, timeout: float = 300.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if status not in ("Executing", "Stopping"):
            return status
        assert time.monotonic() < deadline, f"{arn} still {status}"
        time.sleep(0.2)


def listed_statuses(sm, arn: str) -> dict[str, str]:
    pages = sm.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=arn)
    rows = [row for page in pages for row in page["PipelineExecutionSteps"]]
    return {row["StepName"]: row["StepStatus"] for row in reversed(rows)}  # last attempt wins


def test_engine_aws_on_serve_gives_the_local_engines_record(translated, server, user_env, tmp_path):
    local = record_of(bridge_run(copy_of(translated, tmp_path, "local"), user_env))
    aws_folder = copy_of(translated, tmp_path, "aws")
    aws = record_of(
        bridge_run(aws_folder, user_env, "--engine", "aws", "--endpoint-url", server.url)
    )

    assert aws["engine"] == "aws" and local["engine"] == "local"
    assert statuses(aws) == statuses(local)
    assert aws["status"] == local["status"]
    # The record is serve's execution, read back through the API.
    sm = client(server, "sagemaker")
    arn = aws["run_id"]
    assert arn.startswith(f"arn:aws:sagemaker:us-east-1:000000000000:pipeline/{PIPELINE}/")
    assert wait(sm, arn) == aws["status"]
    assert listed_statuses(sm, arn) == {
        k: v for k, v in statuses(aws).items() if v != "NotExecuted"
    }
    assert (aws_folder / "runs" / arn.rsplit("/", 1)[-1] / "run.json").is_file()
    # The SDK found the account through serve's STS and uploaded the step code through its S3.
    keys = [
        o["Key"]
        for o in client(server, "s3").list_objects_v2(Bucket=BUCKET, Prefix=f"{PIPELINE}/")[
            "Contents"
        ]
    ]
    assert any(k.endswith("/load_data.py") for k in keys), keys
    assert server.calls["sts:GetCallerIdentity"] >= 1
    assert server.calls["ListPipelineExecutionSteps"] >= 1


def test_pipeline_py_upserts_and_starts_on_serve_by_flag_and_by_variable(
    translated, server, user_env, tmp_path
):
    folder = copy_of(translated, tmp_path, "user")
    sm = client(server, "sagemaker")
    by_flag = subprocess.run(
        [sys.executable, "pipeline.py", "--upsert", "--start", "--endpoint-url", server.url],
        capture_output=True,
        text=True,
        env=user_env,
        cwd=folder,
        timeout=600,
    )
    assert by_flag.returncode == 0, by_flag.stderr[-3000:]
    first = by_flag.stdout.strip().splitlines()[-1]
    assert sm.describe_pipeline(PipelineName=PIPELINE)["PipelineName"] == PIPELINE
    assert wait(sm, first) == "Succeeded", listed_statuses(sm, first)
    assert set(listed_statuses(sm, first).values()) <= {"Succeeded"}

    # Again with boto3's own variable and no flag: the pipeline exists, so upsert() updates
    # it (a new version) and tags it again, as on SageMaker.
    by_variable = subprocess.run(
        [sys.executable, str(folder / "pipeline.py"), "--upsert", "--start"],
        capture_output=True,
        text=True,
        env={**user_env, "AWS_ENDPOINT_URL": server.url},
        cwd=tmp_path,
        timeout=600,
    )
    assert by_variable.returncode == 0, by_variable.stderr[-3000:]
    second = by_variable.stdout.strip().splitlines()[-1]
    assert wait(sm, second) == "Succeeded", listed_statuses(sm, second)
    versions = [
        sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineVersionId"]
        for arn in (first, second)
    ]
    assert versions[1] == versions[0] + 1


def test_endpoint_refusals_have_codes(translated, server, user_env, tmp_path, monkeypatch):
    folder = copy_of(translated, tmp_path, "refused")
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    with pytest.raises(RunError) as raised:
        run_with_sdk(folder, "aws", {}, role=ROLE, endpoint_url="127.0.0.1:8765")
    assert raised.value.code == "BRG310"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1")
    with pytest.raises(RunError, match="AWS_ENDPOINT_URL_S3") as raised:
        check_endpoints(None)
    assert raised.value.code == "BRG310"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
    assert check_endpoints(None) == server.url
    assert check_endpoints("http://127.0.0.1:1") == "http://127.0.0.1:1"

    local = bridge_run(folder, user_env, "--endpoint-url", server.url)
    assert local.returncode == 2 and "BRG312" in local.stderr
    wrong_token = bridge_run(
        folder,
        {**user_env, "AWS_ACCESS_KEY_ID": "NOTTHETOKEN0000000000"},
        "--engine",
        "aws",
        "--endpoint-url",
        server.url,
    )
    assert wrong_token.returncode == 2 and "BRG311" in wrong_token.stderr, wrong_token.stderr
