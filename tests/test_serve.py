"""`bridge serve`: real boto3 clients against the server started in this process (port 0).

The sample DAG is translated once per module; small hand-written pipelines cover the rest: a
sleeping step (progress, stop), a chain of many steps (paging), a step that fails until a flag
object in S3 says "go" (retry, selective execution) and a Training/Lambda/Condition/Fail pipeline
(metadata). Every SageMaker response is checked against botocore's model on the way in.

Steps run isolated, as jobs do on SageMaker (bridge/run/sandbox.py): a script sees /opt/ml, an
empty /tmp and nothing of this machine, so the tests talk to it through S3 and its command line,
never through files on the host.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bridge.run.engine import Reused, RunOptions, run_local
from bridge.run.object_store import ObjectStore
from bridge.run.record import FAILED, NOT_EXECUTED, STOPPED, SUCCEEDED
from bridge.run.steps import StopSignal
from bridge.serve.server import serve

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = "ml_classic_operators"
BUCKET = "s3://serve-tests"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1"
ROLE = "arn:aws:iam::123456789012:role/ServeTests"
RUN_TO_API = {SUCCEEDED: "Succeeded", FAILED: "Failed", STOPPED: "Stopped", "NotRunnable": "Failed"}
TOKEN = "BRGSERVETESTS0000000000000000000"  # the clients' AWS access key id (aws_env)
FLAGS = "serve-flags"  # the bucket of the flaky pipeline's flag objects

# ---- hand-written pipelines -------------------------------------------------------------------

# /opt/ml as a job sees it; `bridge run --no-isolation` moves it and says where (BRIDGE_ML_ROOT).
WRITE_RESULT = """
import json, os
out = os.environ.get("BRIDGE_ML_ROOT", "/opt/ml") + "/processing/output/out"
os.makedirs(out, exist_ok=True)
json.dump({"value": 1}, open(out + "/result.json", "w"))
"""
SCRIPTS = {
    "ok.py": WRITE_RESULT,
    # argv[1] is a marker the tests find the process by (its pid inside the sandbox is not ours).
    "sleepy.py": "import sys, time\ntime.sleep(float(sys.argv[2]))\n" + WRITE_RESULT,
    # Each run of `first` leaves a token of its own in its output: a re-run would change it.
    "first.py": WRITE_RESULT
    + 'import uuid\nopen(out + "/attempt.txt", "w").write(uuid.uuid4().hex)\n',
    "second.py": """
import os
flag = os.environ.get("BRIDGE_ML_ROOT", "/opt/ml") + "/processing/input/flag/flag.txt"
said = open(flag).read()
if said != "go":
    raise SystemExit(f"the flag says {said!r}, not 'go'")
"""
    + WRITE_RESULT,
    "fit.py": """
import os
print("epoch 1 auc=0.75")
print("epoch 2 auc=0.91")
open(os.environ["SM_MODEL_DIR"] + "/model.txt", "w").write("weights")
""",
    "double_handler.py": """
def handler(event, context):
    return {"doubled": event["n"] * 2}
""",
}


def processing(pipeline: str, name: str, script: str, args=(), inputs=(), **extra) -> dict:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": IMAGE,
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"],
                "ContainerArguments": list(args),
            },
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": f"{BUCKET}/{pipeline}/code/{script}",
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                },
                *inputs,
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        BUCKET,
                                        pipeline,
                                        {"Get": "Execution.PipelineExecutionId"},
                                        name,
                                        "out",
                                    ],
                                }
                            },
                            "LocalPath": "/opt/ml/processing/output/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                }
            },
            "RoleArn": ROLE,
        },
        **extra,
    }


def parameter(name: str, kind: str = "String", default=None) -> dict:
    spec = {"Name": name, "Type": kind}
    if default is not None:
        spec["DefaultValue"] = default
    return spec


def write_pipeline(out: Path, name: str, steps: list[dict], parameters=(), manifest_steps=None):
    folder = out / name
    (folder / "steps").mkdir(parents=True)
    artifacts = {}
    for script, source in SCRIPTS.items():
        (folder / "steps" / script).write_text(source)
        artifacts[f"{BUCKET}/{name}/code/{script}"] = f"steps/{script}"
    definition = {"Version": "2020-12-01", "Parameters": list(parameters), "Steps": steps}
    (folder / "definition.json").write_text(json.dumps(definition))
    (folder / "artifacts.json").write_text(json.dumps(artifacts))
    manifest = {"pipeline": {"name": name, "region": "us-east-1"}, "steps": manifest_steps or {}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def condition(name: str, depends_on: list[str], if_steps=(), left=1, right=1) -> dict:
    return {
        "Name": name,
        "Type": "Condition",
        "DependsOn": depends_on,
        "Arguments": {
            "Conditions": [
                {"Type": "GreaterThanOrEqualTo", "LeftValue": left, "RightValue": right}
            ],
            "IfSteps": list(if_steps),
            "ElseSteps": [],
        },
    }


def hand_written(out: Path) -> None:
    write_pipeline(
        out,
        "sleepy",
        [
            processing(
                "sleepy",
                "nap",
                "sleepy.py",
                args=[{"Get": "Parameters.marker"}, {"Get": "Parameters.seconds"}],
            ),
            processing("sleepy", "after", "ok.py", DependsOn=["nap"]),
        ],
        [parameter("marker", default="-"), parameter("seconds", "Float", 0.0)],
    )
    write_pipeline(
        out,
        "many",
        [condition(f"c{i:02}", [f"c{i - 1:02}"] if i > 1 else []) for i in range(1, 13)],
    )
    upstream_output = {
        "InputName": "upstream",
        "S3Input": {
            "S3Uri": {"Get": "Steps.first.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"},
            "LocalPath": "/opt/ml/processing/input/upstream",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }
    flag = {
        "InputName": "flag",
        "S3Input": {
            "S3Uri": {"Get": "Parameters.flag"},
            "LocalPath": "/opt/ml/processing/input/flag",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }
    write_pipeline(
        out,
        "flaky",
        [
            processing("flaky", "first", "first.py"),
            processing("flaky", "second", "second.py", inputs=[upstream_output, flag]),
        ],
        [parameter("flag")],
    )
    fit = {
        "Name": "fit",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/fit.py"],
                "MetricDefinitions": [{"Name": "auc", "Regex": "auc=([0-9.]+)"}],
            },
            "InputDataConfig": [
                {
                    "ChannelName": "code",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"{BUCKET}/kinds/code/fit.py",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/kinds/models"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
            "RoleArn": ROLE,
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }
    double = {
        "Name": "double",
        "Type": "Lambda",
        "DependsOn": ["fit"],
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:double",
        "OutputParameters": [{"OutputName": "doubled", "OutputType": "Integer"}],
        "Arguments": {"n": {"Get": "Parameters.n"}},
    }
    fail = {
        "Name": "stop",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": "=",
                    "Values": ["doubled", {"Get": "Steps.double.OutputParameters['doubled']"}],
                }
            }
        },
    }
    big = condition("big", [], [fail], {"Get": "Steps.double.OutputParameters['doubled']"}, 10)
    write_pipeline(
        out,
        "kinds",
        [fit, double, big],
        [parameter("n", "Integer", 21)],
        {"double": {"script": "double_handler.py", "handler": "double_handler.handler"}},
    )


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("translated")
    bridge = Path(sys.executable).parent / "bridge"
    done = subprocess.run(
        [str(bridge), "translate", str(ROOT / "sample_dags" / f"{SAMPLE}.py"), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def server(sample_out, tmp_path_factory):
    hand = tmp_path_factory.mktemp("hand")
    hand_written(hand)
    state = tmp_path_factory.mktemp("state")
    with serve([sample_out, hand], state, port=0, token=TOKEN) as running:
        yield running


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # boto3's default session keeps the credentials it first found (another test's, in the
    # same worker process): each test starts a new one from the variables above.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


_MODEL = botocore.session.get_session().get_service_model("sagemaker")


def _fields_outside_model(value, shape, path: str) -> list[str]:
    """Response fields the botocore model does not name, or of the wrong JSON type."""
    kind = shape.type_name
    if kind == "structure":
        problems = []
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}")
            else:
                problems += _fields_outside_model(item, shape.members[key], f"{path}.{key}")
        return problems
    if kind == "list":
        return [
            p
            for i, v in enumerate(value)
            for p in _fields_outside_model(v, shape.member, f"{path}[{i}]")
        ]
    if kind == "map":
        return [
            p
            for k, v in value.items()
            for p in _fields_outside_model(v, shape.value, f"{path}[{k}]")
        ]
    types = {
        "string": str,
        "timestamp": (int, float),
        "integer": int,
        "long": int,
        "boolean": bool,
        "float": (int, float),
        "double": (int, float),
    }
    expected = types.get(kind)
    return (
        [f"{path}: {value!r} is not a {kind}"]
        if expected and not isinstance(value, expected)
        else []
    )


def _check_response(operation_model, response_dict, **_):
    if response_dict["status_code"] == 200 and operation_model.output_shape is not None:
        body = json.loads(response_dict["body"] or b"{}")
        problems = _fields_outside_model(body, operation_model.output_shape, operation_model.name)
        assert not problems, problems


def sagemaker_client(server, **config):
    client = boto3.client("sagemaker", endpoint_url=server.url, config=Config(**config))
    client.meta.events.register("before-parse.sagemaker.*", _check_response)
    return client


@pytest.fixture
def sm(server):
    return sagemaker_client(server)


@pytest.fixture
def s3(server):
    return boto3.client(
        "s3", endpoint_url=server.url, config=Config(s3={"addressing_style": "path"})
    )


def wait(sm, arn: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return described
        assert time.monotonic() < deadline, f"{arn} still {described['PipelineExecutionStatus']}"
        time.sleep(0.05)


def listed_steps(sm, arn: str, **kwargs) -> dict[str, dict]:
    pages = sm.get_paginator("list_pipeline_execution_steps").paginate(
        PipelineExecutionArn=arn, **kwargs
    )
    return {s["StepName"]: s for p in pages for s in p["PipelineExecutionSteps"]}


def start(sm, pipeline: str, **parameters) -> str:
    return sm.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in parameters.items()],
    )["PipelineExecutionArn"]


def error_code(raised) -> str:
    return raised.value.response["Error"]["Code"]


def hook(server, method: str, path: str, payload=None):
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if payload is None else json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def processes_with(marker: str) -> dict[int, list[str]]:
    """Live processes whose command line has `marker` as an argument, by host pid: a sandboxed
    step has a pid namespace of its own, so only /proc out here knows its real pid. Zombies have
    an empty command line and are not listed."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [
                a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")
            ]
        except OSError:  # gone meanwhile
            continue
        if marker in argv:
            found[int(entry.name)] = argv
    return found


def wait_for_script(marker: str, script: str, timeout: float = 20.0) -> int:
    """The host pid of the Python process running `script` with `marker` (not its bwrap)."""
    deadline = time.monotonic() + timeout
    while True:
        running = [
            pid
            for pid, argv in processes_with(marker).items()
            if "bwrap" not in Path(argv[0]).name and any(a.endswith(script) for a in argv)
        ]
        if running:
            return running[0]
        assert time.monotonic() < deadline, f"{script} did not start"
        time.sleep(0.02)


def assert_gone(marker: str, timeout: float = 2.0) -> None:
    """No process with `marker` is left (the sandbox's own die with the step's)."""
    deadline = time.monotonic() + timeout
    while processes_with(marker):
        assert time.monotonic() < deadline, processes_with(marker)
        time.sleep(0.02)


def put_flag(s3, key: str, said: str) -> str:
    """The flaky pipeline's flag object, as a client would upload a job's input."""
    s3.create_bucket(Bucket=FLAGS)
    s3.put_object(Bucket=FLAGS, Key=f"{key}/flag.txt", Body=said.encode())
    return f"s3://{FLAGS}/{key}/"


def attempt_token(s3, execution_arn: str) -> str:
    """What `first` wrote in the execution's S3 output: a new token each time it runs."""
    execution_id = execution_arn.rsplit("/", 1)[1]
    bucket = BUCKET.removeprefix("s3://")
    key = f"flaky/{execution_id}/first/out/attempt.txt"
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


# ---- pipelines --------------------------------------------------------------------------------


def test_pipeline_create_describe_list_update_delete(sm, sample_out):
    loaded = {p["PipelineName"] for p in sm.list_pipelines(MaxResults=100)["PipelineSummaries"]}
    assert {"ml-classic-operators", "sleepy", "many", "flaky", "kinds"} <= loaded
    text = (sample_out / SAMPLE / "definition.json").read_text()
    arn = sm.create_pipeline(PipelineName="Classic-Copy", PipelineDefinition=text, RoleArn=ROLE)[
        "PipelineArn"
    ]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:pipeline/classic-copy"
    with pytest.raises(ClientError) as raised:
        sm.create_pipeline(PipelineName="classic-copy", PipelineDefinition=text, RoleArn=ROLE)
    # SageMaker's answer for a name in use (the SDK's upsert() turns it into an update).
    assert error_code(raised) == "ValidationException"
    assert "must be unique" in raised.value.response["Error"]["Message"]
    described = sm.describe_pipeline(PipelineName=arn)  # a name or an ARN
    assert described["PipelineName"] == "Classic-Copy"
    assert described["PipelineDefinition"] == text
    assert described["PipelineStatus"] == "Active"
    changed = json.loads(text)
    changed["Parameters"][0]["DefaultValue"] = "2026-01-01"
    updated = sm.update_pipeline(
        PipelineName="Classic-Copy",
        PipelineDefinition=json.dumps(changed),
        PipelineDescription="edited",
    )
    assert updated["PipelineVersionId"] == 2
    assert sm.describe_pipeline(PipelineName="classic-copy")["PipelineDescription"] == "edited"
    first = sm.describe_pipeline(PipelineName="classic-copy", PipelineVersionId=1)
    assert first["PipelineDefinition"] == text
    found = sm.list_pipelines(PipelineNamePrefix="classic")["PipelineSummaries"]
    assert [p["PipelineName"] for p in found] == ["Classic-Copy"]
    pages = sm.get_paginator("list_pipelines").paginate(
        SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    names = [p["PipelineName"] for page in pages for p in page["PipelineSummaries"]]
    assert names == sorted(names, key=str.lower) and len(names) == len(set(names)) >= 6
    for bad in (
        {"PipelineName": "bad_name", "PipelineDefinition": text},
        {"PipelineName": "not-json", "PipelineDefinition": "{"},
        {"PipelineName": "no-steps", "PipelineDefinition": "{}"},
        {
            "PipelineName": "from-s3",
            "PipelineDefinitionS3Location": {"Bucket": "defs", "ObjectKey": "p.json"},
        },
    ):
        with pytest.raises(ClientError) as raised:
            sm.create_pipeline(RoleArn=ROLE, **bad)
        assert error_code(raised) == "ValidationException", bad
    assert "PipelineDefinition" in raised.value.response["Error"]["Message"]
    sm.delete_pipeline(PipelineName="classic-copy")
    for call in (sm.describe_pipeline, sm.delete_pipeline):
        with pytest.raises(ClientError) as raised:
            call(PipelineName="classic-copy")
        assert error_code(raised) == "ResourceNotFound"


def test_every_request_field_read_is_in_the_botocore_model():
    from bridge.serve.api import ACTIONS

    source = "".join((ROOT / "bridge" / "serve" / f).read_text() for f in ("api.py", "state.py"))
    read = set(re.findall(r'(?:request|item|config|chosen)\.get\("(\w+)"\)', source))
    read |= set(re.findall(r'required\(request, "(\w+)"\)', source))
    members = set()

    def collect(shape):
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                if name not in members:
                    members.add(name)
                    collect(member)
        elif shape.type_name == "list":
            collect(shape.member)

    for action in ACTIONS:
        collect(_MODEL.operation_model(action).input_shape)
    assert read and read <= members, read - members


# ---- executions -------------------------------------------------------------------------------


def test_sample_execution_matches_bridge_run_and_serves_xcoms(sm, s3, sample_out, tmp_path):
    arn = sm.start_pipeline_execution(
        PipelineName="ml-classic-operators",
        PipelineExecutionDisplayName="first-try",
        PipelineExecutionDescription="from the tests",
    )["PipelineExecutionArn"]
    described = wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    assert described["PipelineExecutionDisplayName"] == "first-try"
    assert described["PipelineExecutionDescription"] == "from the tests"
    execution_id = arn.rsplit("/", 1)[1]
    assert described["PipelineExperimentConfig"] == {
        "ExperimentName": "ml-classic-operators",
        "TrialName": execution_id,
    }
    summaries = sm.list_pipeline_executions(PipelineName="ml-classic-operators")
    mine = [s for s in summaries["PipelineExecutionSummaries"] if s["PipelineExecutionArn"] == arn]
    assert mine[0]["PipelineExecutionDisplayName"] == "first-try"

    record = run_local(
        sample_out / SAMPLE,
        RunOptions(run_root=tmp_path / "runs"),
    )
    steps = listed_steps(sm, arn)
    expected = {
        n: RUN_TO_API[s.status] for n, s in record.steps.items() if s.status != NOT_EXECUTED
    }
    assert {n: s["StepStatus"] for n, s in steps.items()} == expected
    assert steps["choose_deployment"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    assert all(s["AttemptCount"] == 1 and s["EndTime"] >= s["StartTime"] for s in steps.values())

    job_arn = steps["evaluate_model"]["Metadata"]["ProcessingJob"]["Arn"]
    job = sm.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[1])
    assert job["ProcessingJobArn"] == job_arn and job["ProcessingJobStatus"] == "Completed"
    outputs = {
        o["OutputName"]: o["S3Output"]["S3Uri"] for o in job["ProcessingOutputConfig"]["Outputs"]
    }
    assert execution_id in outputs["xcom"]  # resolved for this execution
    bucket, _, prefix = outputs["xcom"].removeprefix("s3://").partition("/")
    xcom = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/xcom.json")["Body"].read())
    assert xcom == record.steps["evaluate_model"].property_files["xcom"]

    definition = sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)
    assert json.loads(definition["PipelineDefinition"]) == json.loads(
        (sample_out / SAMPLE / "definition.json").read_text()
    )
    parameters = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    assert {"Name": "epochs", "Value": "300"} in parameters["PipelineParameters"]


def test_the_definition_in_the_request_is_the_one_that_runs(sm, sample_out):
    text = (sample_out / SAMPLE / "definition.json").read_text()
    strict = json.loads(text)
    for spec in strict["Parameters"]:
        if spec["Name"] == "min_f1":
            spec["DefaultValue"] = 0.99  # the sample's F1 is below: the other branch
    sm.update_pipeline(PipelineName="ml-classic-operators", PipelineDefinition=json.dumps(strict))
    try:
        arn = start(sm, "ml-classic-operators")
        assert wait(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
        steps = listed_steps(sm, arn)
        assert steps["choose_deployment"]["Metadata"] == {"Condition": {"Outcome": "False"}}
        assert steps["flag_for_review"]["StepStatus"] == "Succeeded"
        assert "package_model" not in steps  # a branch not taken: never started, not listed
    finally:
        sm.update_pipeline(PipelineName="ml-classic-operators", PipelineDefinition=text)


def test_steps_are_seen_executing_then_succeeded(sm):
    arn = start(sm, "sleepy", seconds=1.0)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = (
            sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
            != "Executing"
        )  # asked first: the steps listed next are then at least as recent
        steps = listed_steps(sm, arn)
        state = tuple(sorted((n, s["StepStatus"]) for n, s in steps.items()))
        if not seen or seen[-1] != state:
            seen.append(state)
        if done:
            break
        time.sleep(0.05)
    assert (("nap", "Executing"),) in seen
    assert seen[-1] == (("after", "Succeeded"), ("nap", "Succeeded"))
    assert seen.index((("nap", "Executing"),)) < len(seen) - 1
    nap = listed_steps(sm, arn)["nap"]
    assert (nap["EndTime"] - nap["StartTime"]).total_seconds() >= 1.0


def test_stop_kills_the_running_step(sm):
    marker = f"nap-{uuid.uuid4().hex}"
    arn = start(sm, "sleepy", marker=marker, seconds=60)
    pid = wait_for_script(marker, "sleepy.py")
    assert listed_steps(sm, arn)["nap"]["StepStatus"] == "Executing"
    stopped_at = time.monotonic()
    sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert wait(sm, arn, timeout=5)["PipelineExecutionStatus"] == "Stopped"
    assert time.monotonic() - stopped_at < 2.5
    assert_gone(marker)
    assert pid not in processes_with(marker)
    steps = listed_steps(sm, arn)
    assert list(steps) == ["nap"]  # `after` never started
    assert steps["nap"]["StepStatus"] == "Stopped" and "stopped" in steps["nap"]["FailureReason"]
    job_name = steps["nap"]["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[1]
    assert (
        sm.describe_processing_job(ProcessingJobName=job_name)["ProcessingJobStatus"] == "Stopped"
    )
    with pytest.raises(ClientError) as raised:
        sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert error_code(raised) == "ConflictException"


def test_same_client_request_token_starts_one_execution(sm):
    token = "re-attach-after-a-retry-0123456789abcdef"
    before = sm.list_pipeline_executions(PipelineName="sleepy", MaxResults=100)
    arns = {
        sm.start_pipeline_execution(
            PipelineName="sleepy",
            ClientRequestToken=token,
            PipelineParameters=[{"Name": "marker", "Value": "same-token"}],
        )["PipelineExecutionArn"]
        for _ in range(3)
    }
    assert len(arns) == 1
    after = sm.list_pipeline_executions(PipelineName="sleepy", MaxResults=100)
    new = len(after["PipelineExecutionSummaries"]) - len(before["PipelineExecutionSummaries"])
    assert new == 1
    assert wait(sm, arns.pop())["PipelineExecutionStatus"] == "Succeeded"


def test_steps_and_executions_page(sm):
    arns = [start(sm, "many") for _ in range(3)]
    for arn in arns:
        assert wait(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    pages = list(
        sm.get_paginator("list_pipeline_execution_steps").paginate(
            PipelineExecutionArn=arns[0], PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(p["PipelineExecutionSteps"]) for p in pages] == [5, 5, 2]
    rows = [s for p in pages for s in p["PipelineExecutionSteps"]]
    assert [s["StepName"] for s in rows] == [f"c{i:02}" for i in range(12, 0, -1)]  # newest first
    starts = [s["StartTime"] for s in rows]
    assert starts == sorted(starts, reverse=True)
    ascending = listed_steps(sm, arns[0], SortOrder="Ascending", PaginationConfig={"PageSize": 5})
    assert list(ascending) == [f"c{i:02}" for i in range(1, 13)]
    first = sm.list_pipeline_execution_steps(PipelineExecutionArn=arns[0], MaxResults=5)
    assert len(first["PipelineExecutionSteps"]) == 5 and first["NextToken"]
    with pytest.raises(ClientError) as raised:
        sm.list_pipeline_execution_steps(PipelineExecutionArn=arns[0], NextToken="garbage!")
    assert error_code(raised) == "ValidationException"

    listed = [
        s["PipelineExecutionArn"]
        for page in sm.get_paginator("list_pipeline_executions").paginate(
            PipelineName="many", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
        )
        for s in page["PipelineExecutionSummaries"]
    ]
    assert listed[-3:] == arns
    by_arn = sm.list_pipeline_executions(
        PipelineName="many", SortBy="PipelineExecutionArn", SortOrder="Ascending"
    )["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionArn"] for s in by_arn] == sorted(listed)


def test_retry_keeps_succeeded_steps_and_reruns_the_failed(sm, s3):
    key = f"retry-{uuid.uuid4().hex}"
    arn = start(sm, "flaky", flag=put_flag(s3, key, "wait"))
    failed = wait(sm, arn)
    assert failed["PipelineExecutionStatus"] == "Failed"
    assert "the flag says 'wait'" in failed["FailureReason"]
    steps = listed_steps(sm, arn)
    assert steps["first"]["StepStatus"] == "Succeeded"
    assert steps["second"]["StepStatus"] == "Failed"
    assert steps["second"]["FailureReason"].startswith("AlgorithmError: exit code 1")
    assert "the flag says 'wait'" in steps["second"]["FailureReason"]
    token = attempt_token(s3, arn)
    put_flag(s3, key, "go")  # a retry reads its inputs again, as on SageMaker
    assert sm.retry_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionArn"] == arn
    assert wait(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    assert attempt_token(s3, arn) == token  # `first` did not run again
    again = listed_steps(sm, arn)
    assert again["first"] == steps["first"]
    assert again["second"]["StepStatus"] == "Succeeded"
    assert again["second"]["StartTime"] > steps["second"]["StartTime"]
    with pytest.raises(ClientError) as raised:
        sm.retry_pipeline_execution(PipelineExecutionArn=arn)
    assert error_code(raised) == "ConflictException"


def test_selective_execution_with_and_without_a_source(sm, s3):
    flag = put_flag(s3, f"selective-{uuid.uuid4().hex}", "go")
    source = start(sm, "flaky", flag=flag)
    assert wait(sm, source)["PipelineExecutionStatus"] == "Succeeded"
    config = {"SelectedSteps": [{"StepName": "second"}], "SourcePipelineExecutionArn": source}
    arn = sm.start_pipeline_execution(
        PipelineName="flaky",
        PipelineParameters=[{"Name": "flag", "Value": flag}],
        SelectiveExecutionConfig=config,
    )["PipelineExecutionArn"]
    described = wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    assert described["SelectiveExecutionConfig"] == config
    with pytest.raises(ClientError) as raised:  # `first` came from the source execution
        attempt_token(s3, arn)
    assert error_code(raised) == "NoSuchKey"
    assert attempt_token(s3, source)
    steps = listed_steps(sm, arn)
    assert steps["first"]["SelectiveExecutionResult"] == {"SourcePipelineExecutionArn": source}
    assert steps["second"]["StepStatus"] == "Succeeded"
    assert "SelectiveExecutionResult" not in steps["second"]

    alone = sm.start_pipeline_execution(
        PipelineName="flaky",
        PipelineParameters=[{"Name": "flag", "Value": flag}],
        SelectiveExecutionConfig={"SelectedSteps": [{"StepName": "second"}]},
    )["PipelineExecutionArn"]
    assert wait(sm, alone)["PipelineExecutionStatus"] == "Failed"
    steps = listed_steps(sm, alone)
    assert list(steps) == ["second"]
    assert "needs the output of step first" in steps["second"]["FailureReason"]
    with pytest.raises(ClientError) as raised:
        sm.start_pipeline_execution(
            PipelineName="flaky", SelectiveExecutionConfig={"SelectedSteps": [{"StepName": "nope"}]}
        )
    assert error_code(raised) == "ValidationException"


def test_training_lambda_condition_and_fail_steps(sm, s3):
    # A pipeline created through the API whose name has a known output folder runs with that
    # folder's code: here the Lambda handler in its steps/.
    definition = sm.describe_pipeline(PipelineName="kinds")["PipelineDefinition"]
    sm.delete_pipeline(PipelineName="kinds")
    sm.create_pipeline(PipelineName="kinds", PipelineDefinition=definition, RoleArn=ROLE)
    arn = start(sm, "kinds")
    described = wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert "doubled=42" in described["FailureReason"]
    steps = listed_steps(sm, arn)
    assert steps["double"]["Metadata"] == {
        "Lambda": {
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:double",
            "OutputParameters": [{"Name": "doubled", "Value": "42"}],
        }
    }
    assert steps["big"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    assert steps["stop"]["StepStatus"] == "Failed"
    assert steps["stop"]["Metadata"] == {"Fail": {"ErrorMessage": "doubled=42"}}
    name = steps["fit"]["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[1]
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed" and job["SecondaryStatus"] == "Completed"
    assert [(m["MetricName"], m["Value"]) for m in job["FinalMetricDataList"]] == [("auc", 0.91)]
    model = job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, _, key = model.removeprefix("s3://").partition("/")
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0


def test_unknown_names_and_bad_requests(sm):
    missing_execution = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/sleepy/execution/nope"
    for call, kwargs in [
        (sm.describe_pipeline, {"PipelineName": "no-such-pipeline"}),
        (sm.start_pipeline_execution, {"PipelineName": "no-such-pipeline"}),
        (sm.list_pipeline_executions, {"PipelineName": "no-such-pipeline"}),
        (sm.describe_pipeline_execution, {"PipelineExecutionArn": missing_execution}),
        (sm.list_pipeline_execution_steps, {"PipelineExecutionArn": missing_execution}),
        (sm.stop_pipeline_execution, {"PipelineExecutionArn": missing_execution}),
        (sm.retry_pipeline_execution, {"PipelineExecutionArn": missing_execution}),
    ]:
        with pytest.raises(ClientError) as raised:
            call(**kwargs)
        assert error_code(raised) == "ResourceNotFound", call
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as raised:
        start(sm, "sleepy", nope=1)
    assert error_code(raised) == "ValidationException"
    assert "nope" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as raised:
        sm.describe_processing_job(ProcessingJobName="no-such-job")
    assert error_code(raised) == "ValidationException"  # as SageMaker answers it


def test_injected_faults_and_call_counts(server):
    patient = sagemaker_client(server, retries={"mode": "standard", "max_attempts": 3})
    impatient = sagemaker_client(server, retries={"total_max_attempts": 1})
    hook(server, "DELETE", "/_bridge/calls")
    hook(
        server,
        "POST",
        "/_bridge/faults",
        {"action": "DescribePipeline", "error": "ThrottlingException", "count": 1},
    )
    assert patient.describe_pipeline(PipelineName="sleepy")["PipelineName"] == "sleepy"
    assert hook(server, "GET", "/_bridge/calls") == {"DescribePipeline": 2}
    hook(server, "POST", "/_bridge/faults", {"action": "DescribePipeline", "error": 500})
    assert (
        patient.describe_pipeline(PipelineName="sleepy")["ResponseMetadata"]["RetryAttempts"] == 1
    )
    for error, status, code in [
        ("ThrottlingException", 400, "ThrottlingException"),
        (500, 500, "InternalFailure"),
    ]:
        hook(server, "POST", "/_bridge/faults", {"action": "ListPipelines", "error": error})
        with pytest.raises(ClientError) as raised:
            impatient.list_pipelines()
        assert error_code(raised) == code
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert hook(server, "GET", "/_bridge/calls") == {"DescribePipeline": 4, "ListPipelines": 2}
    assert hook(server, "GET", "/_bridge/faults") == {}
    assert hook(server, "DELETE", "/_bridge/calls") == {}
    assert hook(server, "GET", "/_bridge/calls") == {}


def test_s3_side(s3, server):
    s3.create_bucket(Bucket="scratch")
    for key in ("data/a.csv", "data/b.csv", "data/deep/c.csv", "other.txt"):
        s3.put_object(Bucket="scratch", Key=key, Body=f"content of {key}".encode())
    got = s3.get_object(Bucket="scratch", Key="data/a.csv")
    assert got["Body"].read() == b"content of data/a.csv"
    ranged = s3.get_object(Bucket="scratch", Key="data/a.csv", Range="bytes=0-6")
    assert ranged["Body"].read() == b"content"
    assert s3.head_object(Bucket="scratch", Key="other.txt")["ContentLength"] == 20
    assert (server.state.store_root / "scratch" / "data" / "deep" / "c.csv").is_file()
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket="scratch", Prefix="data/", PaginationConfig={"PageSize": 2}
    )
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == [
        "data/a.csv",
        "data/b.csv",
        "data/deep/c.csv",
    ]
    top = s3.list_objects_v2(Bucket="scratch", Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["other.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["data/"]
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="scratch", Key="data/missing.csv")
    assert error_code(raised) == "NoSuchKey"
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="no-such-bucket", Key="x")
    assert error_code(raised) == "NoSuchBucket"
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket="scratch", Key="data/missing.csv")
    assert error_code(raised) == "404"
    s3.delete_object(Bucket="scratch", Key="other.txt")
    assert "scratch" in {b["Name"] for b in s3.list_buckets()["Buckets"]}


# ---- the runner's stop, reuse and selection, directly -----------------------------------------


def test_local_run_stop_signal_kills_the_step(server, tmp_path):
    folder = server.state.folders["sleepy"]
    marker = f"nap-{uuid.uuid4().hex}"
    stop = StopSignal()
    options = RunOptions(
        parameters={"marker": marker, "seconds": "60"},
        run_root=tmp_path / "runs",
        stop=stop,
    )
    result = {}
    thread = threading.Thread(target=lambda: result.update(record=run_local(folder, options)))
    thread.start()
    wait_for_script(marker, "sleepy.py")
    stop.set()
    thread.join(5)
    record = result["record"]
    assert record.status == STOPPED and "nap" in record.message
    assert record.steps["nap"].status == STOPPED and record.steps["nap"].duration < 5
    assert record.steps["after"].status == NOT_EXECUTED
    assert_gone(marker)


def test_local_run_reuses_and_selects_steps(server, tmp_path):
    folder = server.state.folders["flaky"]
    (tmp_path / "flag.txt").write_text("go")
    flag = f"s3://{FLAGS}/local/"
    store = ObjectStore(tmp_path / "store")
    parameters = {"flag": flag}
    common = {"run_root": tmp_path / "runs", "store": store.root}
    seeds = {flag + "flag.txt": tmp_path / "flag.txt"}
    full = run_local(folder, RunOptions(parameters=parameters, seeds=seeds, **common))
    assert full.status == SUCCEEDED, full.message
    first_output = f"{BUCKET}/flaky/{{}}/first/out/attempt.txt"
    assert store.exists(first_output.format(full.run_id))
    output = {"OutputName": "out", "S3Output": {"S3Uri": f"{BUCKET}/flaky/{full.run_id}/first/out"}}
    properties = {"ProcessingOutputConfig": {"Outputs": [output]}}
    seen = []
    again = run_local(
        folder,
        RunOptions(
            parameters=parameters,
            **common,
            reuse={"first": Reused(full.steps["first"], properties)},
            selected={"second"},
            on_event=lambda event, step: seen.append((event, step.name)),
        ),
    )
    assert again.status == SUCCEEDED, again.message
    assert not store.exists(first_output.format(again.run_id))  # `first` did not run
    assert again.steps["first"].started == full.steps["first"].started  # the reused record
    assert seen == [("start", "second"), ("end", "second")]


# ---- the command line -------------------------------------------------------------------------


def test_cli_serve_prints_where_it_listens_and_exits_cleanly(sample_out, tmp_path):
    bridge = [sys.executable, "-m", "bridge.cli", "serve", "--state", str(tmp_path / "state")]
    process = subprocess.Popen(
        [*bridge, "--port", "0", "--out", str(sample_out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines = []
    try:
        while not lines or "AWS_ENDPOINT_URL_SAGEMAKER=" not in lines[-1]:
            lines.append(process.stdout.readline())
            assert lines[-1], lines
        match = re.fullmatch(r"bridge serve: listening on http://127\.0\.0\.1:(\d+)\n", lines[0])
        assert match, lines
        assert "pipeline ml-classic-operators" in lines[1]
        busy = subprocess.run(
            [*bridge, "--port", match.group(1)], capture_output=True, text=True, cwd=tmp_path
        )
        assert busy.returncode == 2
        assert busy.stderr.startswith("BRG304 error: cannot listen on 127.0.0.1:")
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out == "bridge serve: stopped\n"
    assert "Traceback" not in err
