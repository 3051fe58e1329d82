"""CloudWatch job logs when a migrated pipeline step fails (bridge/serve/logs.py and
airflow_plugins/job_logs.py).

A legacy DAG with one PythonOperator that prints numbered lines and then raises is translated and
served by `bridge serve`. Real boto3 clients check the CloudWatch Logs side of the server (streams
named as the jobs are, paging, errors); then real Airflow (dag.test in one child process) runs
driver DAGs whose MigratedPipelineOperator runs that pipeline, and the task log must show the
step's failure reason and the last 50 lines of its job's stream.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bridge.compare.airflow_run import AirflowRunRequest, run_dags
from bridge.run.record import FAILED
from bridge.serve.server import serve

TOKEN = "BRGLOGSTESTS00000000000000000000"
PIPELINE = "chatty-source"
PROCESSING, TRAINING = "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1"
ROLE = "arn:aws:iam::123456789012:role/LogsTests"

SOURCE_DAG = '''
"""A legacy DAG whose one task prints numbered lines, may pause, then fails when asked to."""

import time

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def chatty(params=None):
    count = int(params["lines"])
    for number in range(1, count + 1):
        print(f"printed-{number:03d} of {count}", flush=True)
        if number == 1:
            time.sleep(float(params["pause"]))
    if params["fail"]:
        raise ValueError(f"chatty gave up after {count} lines")
    return count


with DAG("chatty_source", params={"lines": 3, "pause": 0, "fail": False}, schedule=None) as dag:
    PythonOperator(task_id="chatty", python_callable=chatty)
'''

FIT = """
import os
for epoch in range(1, 4):
    print(f"epoch {epoch} auc=0.{epoch}")
open(os.environ["SM_MODEL_DIR"] + "/model.txt", "w").write("weights")
"""


def fit_pipeline(out: Path) -> None:
    """A hand-written pipeline with one Training step that prints three lines."""
    folder = out / "fit-logs"
    (folder / "steps").mkdir(parents=True)
    (folder / "steps" / "fit.py").write_text(FIT)
    code = "s3://logs-tests/fit-logs/code/fit.py"
    step = {
        "Name": "fit",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/fit.py"],
            },
            "InputDataConfig": [
                {
                    "ChannelName": "code",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": code}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://logs-tests/fit-logs/models"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
            "RoleArn": ROLE,
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}
    (folder / "definition.json").write_text(json.dumps(definition))
    (folder / "artifacts.json").write_text(json.dumps({code: "steps/fit.py"}))
    manifest = {"pipeline": {"name": "fit-logs", "region": "us-east-1"}, "steps": {}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline-logs")
    source = root / "chatty_source.py"
    source.write_text(SOURCE_DAG)
    out = root / "out"
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    fit_pipeline(out)
    with serve([out], root / "state", port=0, token=TOKEN) as server:
        yield server, out / "chatty_source" / "manifest.json", root


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
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture
def sm(served):
    return boto3.client("sagemaker", endpoint_url=served[0].url)


@pytest.fixture
def logs(served):
    return boto3.client("logs", endpoint_url=served[0].url)


def run(sm, pipeline: str, timeout: float = 30.0, **parameters) -> str:
    """Start an execution and wait for it to end; its ARN."""
    arn = sm.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in parameters.items()],
    )["PipelineExecutionArn"]
    wait(sm, arn, timeout)
    return arn


def wait(sm, arn: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] in (
        "Executing",
        "Stopping",
    ):
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.1)


def only_step(sm, arn: str) -> dict:
    (step,) = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    return step


def stream_of(sm, step: dict) -> str:
    """The step's job stream, named from DescribeProcessingJob as SageMaker names streams."""
    arn_name = step["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
    name = sm.describe_processing_job(ProcessingJobName=arn_name)["ProcessingJobName"]
    return f"{name}/algo-1"


def read_forward(logs, group: str, stream: str, limit: int) -> list[dict]:
    """Every event of a stream, page by page from its head, until the token stays put."""
    events, token, pages = [], None, 0
    while True:
        extra = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit, **extra)
        pages += 1
        assert len(page["events"]) <= limit and pages < 100
        events.extend(page["events"])
        if page["nextForwardToken"] == token:
            assert page["events"] == []
            return events
        token = page["nextForwardToken"]


def printed(count: int, upto: int | None = None) -> list[str]:
    return [f"printed-{n:03d} of {count}" for n in range(1, (upto or count) + 1)]


def error_code(raised) -> str:
    return raised.value.response["Error"]["Code"]


# ---- the CloudWatch Logs side of bridge serve -------------------------------------------------


def test_a_jobs_output_is_its_stream_named_as_the_job(sm, logs):
    arn = run(sm, PIPELINE, lines=70, fail="true")
    step = only_step(sm, arn)
    assert step["StepStatus"] == "Failed"
    stream = stream_of(sm, step)
    assert stream.lower().startswith(step["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1])
    (described,) = logs.describe_log_streams(
        logGroupName=PROCESSING, logStreamNamePrefix=stream.split("/")[0] + "/"
    )["logStreams"]
    assert described["logStreamName"] == stream
    assert described["arn"].endswith(f":log-group:{PROCESSING}:log-stream:{stream}")

    events = read_forward(logs, PROCESSING, stream, limit=7)
    messages = [e["message"] for e in events]
    # The job's output, line by line: the prints, then the traceback; not the runner's command.
    assert messages[:70] == printed(70)
    assert messages[-1] == "ValueError: chatty gave up after 70 lines"
    assert messages[70].startswith("Traceback")
    assert not any(m.startswith("$ ") for m in messages)
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    started, ended = (step[k].timestamp() * 1000 for k in ("StartTime", "EndTime"))
    assert started - 1000 <= stamps[0] and stamps[-1] <= ended + 1000
    assert described["firstEventTimestamp"] == stamps[0]
    assert described["lastEventTimestamp"] == stamps[-1]
    # The training group does not have it.
    none = logs.describe_log_streams(logGroupName=TRAINING, logStreamNamePrefix=stream)
    assert none["logStreams"] == []


def test_get_log_events_pages_backward_from_the_end_by_default(sm, logs):
    arn = run(sm, PIPELINE, lines=30, fail="false")
    stream = stream_of(sm, only_step(sm, arn))
    everything = read_forward(logs, PROCESSING, stream, limit=1000)
    assert [e["message"] for e in everything] == printed(30)

    last = logs.get_log_events(logGroupName=PROCESSING, logStreamName=stream, limit=4)
    assert [e["message"] for e in last["events"]] == printed(30)[-4:]
    # Backward from there, four at a time, gives the rest, oldest first within each page.
    pages, token = [last["events"]], last["nextBackwardToken"]
    while True:
        page = logs.get_log_events(
            logGroupName=PROCESSING, logStreamName=stream, limit=4, nextToken=token
        )
        if not page["events"]:
            assert page["nextBackwardToken"] == token  # at the head: the token stays put
            break
        pages.insert(0, page["events"])
        token = page["nextBackwardToken"]
    assert [e for p in pages for e in p] == everything
    # Forward from the last page's forward token: nothing more, the same token back.
    after = logs.get_log_events(
        logGroupName=PROCESSING, logStreamName=stream, nextToken=last["nextForwardToken"]
    )
    assert after["events"] == [] and after["nextForwardToken"] == last["nextForwardToken"]
    # Times filter: [startTime, endTime).
    stamp = everything[-1]["timestamp"]
    assert (
        logs.get_log_events(logGroupName=PROCESSING, logStreamName=stream, startTime=stamp + 1)[
            "events"
        ]
        == []
    )
    assert logs.get_log_events(logGroupName=PROCESSING, logStreamName=stream, endTime=stamp)[
        "events"
    ] == [e for e in everything if e["timestamp"] < stamp]
    # The group by ARN (logGroupIdentifier) is the same group.
    by_arn = logs.get_log_events(
        logGroupIdentifier=f"arn:aws:logs:us-east-1:000000000000:log-group:{PROCESSING}",
        logStreamName=stream,
        startFromHead=True,
    )
    assert by_arn["events"] == everything


def test_a_running_jobs_stream_grows_and_its_times_stay(sm, logs):
    arn = sm.start_pipeline_execution(
        PipelineName=PIPELINE,
        PipelineParameters=[
            {"Name": "lines", "Value": "5"},
            {"Name": "pause", "Value": "3"},
            {"Name": "fail", "Value": "false"},
        ],
    )["PipelineExecutionArn"]
    deadline = time.monotonic() + 20
    while True:
        steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)
        step = (steps["PipelineExecutionSteps"] or [{}])[0]
        if step.get("Metadata"):
            stream = stream_of(sm, step)
            with_stream = logs.describe_log_streams(
                logGroupName=PROCESSING, logStreamNamePrefix=stream
            )["logStreams"]
            if with_stream:
                early = logs.get_log_events(
                    logGroupName=PROCESSING, logStreamName=stream, startFromHead=True
                )["events"]
                if early:
                    break
        assert time.monotonic() < deadline, "the first line never showed"
        time.sleep(0.1)
    assert step["StepStatus"] == "Executing"
    assert [e["message"] for e in early] == printed(5, upto=1)
    wait(sm, arn)
    final = read_forward(logs, PROCESSING, stream, limit=100)
    assert [e["message"] for e in final] == printed(5)
    assert final[0] == early[0]  # its time did not change when the job wrote more
    assert final[-1]["timestamp"] >= early[0]["timestamp"] + 2000  # written after the pause


def test_streams_list_page_and_order(sm, logs):
    arns = [run(sm, PIPELINE, lines=1, fail="false") for _ in range(3)]
    mine = {stream_of(sm, only_step(sm, arn)) for arn in arns}
    listed, token = [], None
    while True:
        page = logs.describe_log_streams(
            logGroupName=PROCESSING, limit=2, **({"nextToken": token} if token else {})
        )
        assert len(page["logStreams"]) <= 2
        listed.extend(s["logStreamName"] for s in page["logStreams"])
        token = page.get("nextToken")
        if not token:
            break
    assert listed == sorted(listed) and len(set(listed)) == len(listed)
    assert mine <= set(listed)
    newest = logs.describe_log_streams(
        logGroupName=PROCESSING, orderBy="LastEventTime", descending=True, limit=1
    )["logStreams"]
    assert newest[0]["logStreamName"] == stream_of(sm, only_step(sm, arns[-1]))


def test_training_jobs_have_their_stream_in_the_training_group(sm, logs):
    arn = run(sm, "fit-logs")
    step = only_step(sm, arn)
    assert step["StepStatus"] == "Succeeded", step.get("FailureReason")
    name = sm.describe_training_job(
        TrainingJobName=step["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[-1]
    )["TrainingJobName"]
    events = read_forward(logs, TRAINING, f"{name}/algo-1", limit=50)
    assert [e["message"] for e in events] == [f"epoch {n} auc=0.{n}" for n in (1, 2, 3)]
    with pytest.raises(ClientError) as raised:
        logs.get_log_events(logGroupName=PROCESSING, logStreamName=f"{name}/algo-1")
    assert error_code(raised) == "ResourceNotFoundException"


def test_unknown_groups_and_streams_and_bad_requests(sm, logs, served):
    arn = run(sm, PIPELINE, lines=2, fail="false")
    stream = stream_of(sm, only_step(sm, arn))
    raw = boto3.client(  # sends what botocore's own checks would refuse
        "logs", endpoint_url=served[0].url, config=Config(parameter_validation=False)
    )
    not_found = [
        lambda: logs.describe_log_streams(logGroupName="/aws/lambda/nothing"),
        lambda: logs.get_log_events(logGroupName="/aws/lambda/nothing", logStreamName=stream),
        lambda: logs.get_log_events(logGroupName=PROCESSING, logStreamName="no-such-job/algo-1"),
        lambda: logs.get_log_events(logGroupName=PROCESSING, logStreamName=stream.upper()),
        lambda: logs.get_log_events(logGroupName=PROCESSING, logStreamName=stream + "x"),
    ]
    for call in not_found:
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "ResourceNotFoundException"
    invalid = [
        dict(logGroupName=PROCESSING, logStreamName=stream, limit=0),
        dict(logGroupName=PROCESSING, logStreamName=stream, limit=10_001),
        dict(logGroupName=PROCESSING, logStreamName=stream, nextToken="x/12"),
        dict(logGroupName=PROCESSING, logGroupIdentifier=PROCESSING, logStreamName=stream),
        dict(logStreamName=stream),
    ]
    for request in invalid:
        with pytest.raises(ClientError) as raised:
            raw.get_log_events(**request)
        assert error_code(raised) == "InvalidParameterException", request
    for request in (
        dict(logGroupName=PROCESSING, orderBy="LastEventTime", logStreamNamePrefix="p"),
        dict(logGroupName=PROCESSING, limit=51),
        dict(logGroupName=PROCESSING, orderBy="Size"),
        dict(logGroupName=PROCESSING, nextToken="not-ours"),
    ):
        with pytest.raises(ClientError) as raised:
            raw.describe_log_streams(**request)
        assert error_code(raised) == "InvalidParameterException", request
    with pytest.raises(ClientError) as raised:
        raw.get_log_events(logGroupName=PROCESSING, logStreamName=stream, limit="5")
    assert error_code(raised) == "SerializationException"
    with pytest.raises(ClientError) as raised:
        raw.filter_log_events(logGroupName=PROCESSING)
    assert error_code(raised) == "UnknownOperationException"


def test_boto3_reaches_it_through_the_endpoint_variables(served, monkeypatch):
    # boto3 names the variable after the service id, "CloudWatch Logs", not after "logs".
    for variable in ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_ENDPOINT_URL"):
        monkeypatch.setenv(variable, served[0].url)
        client = boto3.session.Session().client("logs")
        assert "logStreams" in client.describe_log_streams(logGroupName=PROCESSING)
        monkeypatch.delenv(variable)


@pytest.mark.airflow
def test_the_amazon_providers_log_reader_reads_a_stream_to_its_end(sm, served, monkeypatch):
    from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook

    stream = stream_of(sm, only_step(sm, run(sm, PIPELINE, lines=12, fail="false")))
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", served[0].url)
    hook = AwsLogsHook(aws_conn_id=None, region_name="us-east-1")
    # It pages from the head until the forward token comes back unchanged.
    events = list(hook.get_log_events(PROCESSING, stream))
    assert [e["message"] for e in events] == printed(12)


# ---- the provider's reading, against moto's CloudWatch Logs -----------------------------------


def put_lines(client, group: str, stream: str, lines: list[tuple[int, str]]) -> None:
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": m} for t, m in lines],
    )


def recording_logger() -> tuple[logging.Logger, list[logging.LogRecord]]:
    """A logger of its own that keeps its records (Airflow's logging set-up takes caplog's)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    log = logging.getLogger(f"test_pipeline_logs.{uuid.uuid4().hex}")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    return log, records


@pytest.mark.airflow
def test_the_provider_reads_each_failed_steps_job_streams(mocked_aws):
    from airflow_plugins.hooks import MigratedPipelineHook
    from airflow_plugins.job_logs import log_failed_steps, tail
    from airflow_plugins.manifest import Migration

    client = boto3.client("logs", region_name="us-east-1")
    client.create_log_group(logGroupName=PROCESSING)
    now = int(time.time() * 1000)
    # Two instances of one job: their last lines, merged by time, each naming its host.
    put_lines(client, PROCESSING, "job-a/algo-1-1", [(now + i * 2, f"a{i}") for i in range(40)])
    put_lines(client, PROCESSING, "job-a/algo-2-1", [(now + i * 2 + 1, f"b{i}") for i in range(40)])
    assert tail(client, PROCESSING, ["job-a/algo-1-1", "job-a/algo-2-1"], 3) == [
        "[algo-2-1] b38",
        "[algo-1-1] a39",
        "[algo-2-1] b39",
    ]
    assert tail(client, PROCESSING, ["job-a/algo-1-1"], 2) == ["a38", "a39"]

    arn = "arn:aws:sagemaker:us-east-1:123456789012:{}/{}"
    steps = [
        {
            "StepName": "prep",
            "StepStatus": "Failed",
            "FailureReason": "AlgorithmError: boom",
            "Metadata": {"ProcessingJob": {"Arn": arn.format("processing-job", "job-a")}},
        },
        {
            "StepName": "fit",
            "StepStatus": "Failed",
            "FailureReason": "ClientError: no capacity",
            "Metadata": {"TrainingJob": {"Arn": arn.format("training-job", "job-b")}},
        },
        {"StepName": "fine", "StepStatus": "Succeeded"},
    ]
    hook = MigratedPipelineHook(aws_conn_id=None, region_name="us-east-1")
    log, records = recording_logger()
    log_failed_steps(hook, steps, Migration(step_tasks={"prep": "prepare"}), log)
    lines = [r.getMessage() for r in records]
    assert lines[0] == "task prepare (step prep) failed: AlgorithmError: boom"
    assert lines[1].startswith("Last 50 lines of ProcessingJob job-a (CloudWatch ")
    merged = [f"[algo-{h}-1] {c}{i}" for i in range(40) for h, c in (("1", "a"), ("2", "b"))]
    assert lines[2:52] == merged[-50:]
    assert lines[52] == "task fit failed: ClientError: no capacity"
    # No TrainingJobs group at all: one line, and on to the next step.
    assert lines[53] == "TrainingJob job-b wrote no CloudWatch log (/aws/sagemaker/TrainingJobs)"
    assert len(lines) == 54


# ---- the task log, end to end through Airflow ------------------------------------------------

DRIVER = '''
"""Scenario {dag_id}."""
import json
import urllib.request

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from airflow_plugins.operators import MigratedPipelineOperator
from airflow_plugins.sensors import MigratedPipelineSensor


def inject_faults():
    for fault in {faults!r}:
        request = urllib.request.Request(
            {endpoint!r} + "/_bridge/faults",
            data=json.dumps(fault).encode(),
            method="POST",
            headers={{"Authorization": "Bearer " + {token!r}}},
        )
        urllib.request.urlopen(request).read()


with DAG({dag_id!r}, params={params!r}, schedule=None) as dag:
    faults = PythonOperator(task_id="inject_faults", python_callable=inject_faults)
    run = MigratedPipelineOperator(
        task_id="run_pipeline",
        pipeline_name={pipeline!r},
        manifest={manifest!r},
        poll_interval=0.2,
        max_poll_interval=1.0,
        {options}
    )
    faults >> run
    {extra}
'''

SENSOR = """
    sensed = MigratedPipelineSensor(
        task_id="sense",
        execution_arn="{{{{ ti.xcom_pull(task_ids='run_pipeline', key='pipeline_execution_arn') }}}}",
        manifest={manifest!r},
        poke_interval=0.2,
        deferrable=True,
    )
    run >> sensed
"""

SCENARIOS = {
    "logs_sync": {"options": "", "lines": 70},
    "logs_deferred": {"options": "deferrable=True,", "lines": 3},
    "logs_sensor": {"options": "wait_for_completion=False,", "lines": 4, "extra": SENSOR},
    "logs_denied": {
        "options": "",
        "lines": 5,
        "faults": [
            {"action": "logs:DescribeLogStreams", "error": "AccessDeniedException", "count": 1}
        ],
    },
}


@pytest.fixture(scope="module")
def airflow_runs(served):
    server, manifest, root = served
    dags = root / "dags"
    dags.mkdir()
    requests = []
    for dag_id, scenario in SCENARIOS.items():
        text = DRIVER.format(
            dag_id=dag_id,
            endpoint=server.url,
            token=server.token,
            faults=scenario.get("faults", []),
            params={"lines": scenario["lines"], "pause": 0, "fail": True},
            pipeline=PIPELINE,
            manifest=str(manifest),
            options=scenario["options"],
            extra=scenario.get("extra", "").format(manifest=str(manifest)),
        )
        path = dags / f"{dag_id}.py"
        path.write_text(textwrap.dedent(text))
        requests.append(AirflowRunRequest(path, dag_id, root / "runs" / dag_id))
    env = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": server.token,
                "password": "any-secret",
                "extra": {"endpoint_url": server.url, "region_name": "us-east-1"},
            }
        ),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        records = run_dags(requests, timeout=300)
    return {r.name: r for r in records}


def task_log(record, task_id: str = "run_pipeline") -> str:
    step = record.steps[task_id]
    return (Path(record.folder) / step.log).read_text() if step.log else ""


def execution_of(sm, dag_id: str) -> str:
    for summary in sm.list_pipeline_executions(PipelineName=PIPELINE, MaxResults=100)[
        "PipelineExecutionSummaries"
    ]:
        arn = summary["PipelineExecutionArn"]
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        owner = json.loads(described.get("PipelineExecutionDescription") or "{}").get("airflow")
        if owner and owner["dag_id"] == dag_id:
            return arn
    raise AssertionError(f"no execution of {dag_id}")


def in_order(text: str, lines: list[str]) -> bool:
    """Whether each line appears in `text` as a log message of its own, in this order."""
    position = 0
    for line in lines:
        found = text.find(f" {line}\n", position)
        if found < 0:
            found = text.find(f" {line} ", position)  # structured logs: fields follow
        if found < 0:
            return False
        position = found + len(line)
    return True


@pytest.mark.airflow
@pytest.mark.slow
def test_the_task_log_shows_the_reason_and_the_last_50_lines(airflow_runs, sm, logs):
    record = airflow_runs["logs_sync"]
    assert record.steps["run_pipeline"].status == FAILED
    log = task_log(record)
    assert "task chatty failed: AlgorithmError: exit code 1:" in log
    assert "ValueError: chatty gave up after 70 lines" in log
    stream = stream_of(sm, only_step(sm, execution_of(sm, "logs_sync")))
    messages = [e["message"] for e in read_forward(logs, PROCESSING, stream, limit=1000)]
    assert len(messages) > 60 and messages[:70] == printed(70)
    assert f"Last 50 lines of ProcessingJob {stream.split('/')[0]}" in log
    assert in_order(log, messages[-50:])
    assert messages[-51] not in log  # only the last 50
    assert "printed-001 of 70" not in log
    assert "pipeline execution Failed" in log  # the failure itself, after the logs


@pytest.mark.airflow
@pytest.mark.slow
def test_deferred_run_prints_them_too(airflow_runs):
    record = airflow_runs["logs_deferred"]
    assert record.steps["run_pipeline"].status == FAILED
    log = task_log(record)
    assert "running trigger in line" in log  # it did defer
    assert "task chatty failed: AlgorithmError" in log
    assert in_order(log, [*printed(3), "ValueError: chatty gave up after 3 lines"])
    assert "pipeline execution Failed" in log


@pytest.mark.airflow
@pytest.mark.slow
def test_a_sensor_on_a_failed_execution_prints_them(airflow_runs):
    record = airflow_runs["logs_sensor"]
    assert record.steps["sense"].status == FAILED
    log = task_log(record, "sense")
    assert "task chatty failed: AlgorithmError" in log
    assert in_order(log, [*printed(4), "ValueError: chatty gave up after 4 lines"])


@pytest.mark.airflow
@pytest.mark.slow
def test_logs_it_cannot_read_are_one_line_and_the_failure_stays(airflow_runs):
    record = airflow_runs["logs_denied"]
    assert record.steps["inject_faults"].status != FAILED
    assert record.steps["run_pipeline"].status == FAILED
    log = task_log(record)
    assert log.count("could not read the CloudWatch log of ProcessingJob") == 1
    assert "AccessDeniedException" in log
    assert "printed-001 of 5" not in log
    assert "task chatty failed: AlgorithmError" in log
    assert "pipeline execution Failed" in log
