"""Operators that are AWS API calls (translators/aws_api.py and the S3, SNS/SQS and SageMaker API
rules): each is translated from a small DAG, and its emitted handler is run against moto (or
`bridge serve` where moto lacks the API), asserting the side effect in AWS.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

from bridge.config import BridgeConfig
from bridge.emit.folder import format_python
from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from bridge.translate.expressions import is_dynamic
from translators import aws_api
from translators.registry import Registry

REGISTRY = Registry.default()
REGION = "us-east-1"
BRIDGE = Path(sys.executable).parent / "bridge"
_AWS = "airflow.providers.amazon.aws.operators"
HEAD = f"""
from airflow.sdk import DAG, task
from {_AWS}.s3 import (
    S3CopyObjectOperator, S3CreateBucketOperator, S3CreateObjectOperator,
    S3DeleteBucketOperator, S3DeleteBucketTaggingOperator, S3DeleteObjectsOperator,
    S3GetBucketTaggingOperator, S3ListOperator, S3ListPrefixesOperator,
    S3PutBucketTaggingOperator,
)
from {_AWS}.sns import SnsPublishOperator
from {_AWS}.sqs import SqsPublishOperator
from {_AWS}.sagemaker import (
    SageMakerCreateExperimentOperator, SageMakerCreateNotebookOperator,
    SageMakerDeleteModelOperator, SageMakerStartPipelineOperator,
    SageMakerStopPipelineOperator, SageMakerStopNotebookOperator,
)
"""


def parse_and_translate(body: str, dag_id: str = "d"):
    source = HEAD + f"with DAG({dag_id!r}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    (dag,) = parse_source(source).dags
    return dag, translate_dag(dag, REGISTRY, BridgeConfig(), source, "dag.py")


def translate(body: str, dag_id: str = "d"):
    return parse_and_translate(body, dag_id)[1]


def only_step(pipeline, task_id: str):
    (step,) = pipeline.steps_of(task_id)
    return step


def load_handler(spec, tmp_path: Path):
    """The emitted handler module, formatted as the emitter formats it, imported fresh."""
    ((name, text),) = spec.files.items()
    path = tmp_path / name
    path.write_text(text)
    format_python([path])
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(path)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def run_handler(pipeline, task_id: str, tmp_path: Path, **event_over) -> dict:
    """Run the task's handler with its step inputs (all known statically here) as the event."""
    spec = only_step(pipeline, task_id).spec
    assert not is_dynamic(spec.inputs), spec.inputs
    module = load_handler(spec, tmp_path)
    result = module.handler({**spec.inputs, **event_over}, None)
    declared = {o["name"] for o in spec.outputs}
    assert set(result) == declared  # what the LambdaStep declares is what it returns
    return result


@pytest.fixture
def aws(mocked_aws):
    """moto for every AWS endpoint (tests/conftest.py)."""
    yield


def s3_client():
    return boto3.client("s3", region_name=REGION)


def body(bucket: str, key: str) -> bytes:
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()


# ---------------------------------------------------------------------------------------------
# The framework
# ---------------------------------------------------------------------------------------------


def test_dag_text_reaches_the_handler_only_as_event_values(tmp_path):
    """A hostile task id and argument: the docstring escapes the id, the value stays data."""
    hostile = 'x"""\nimport os; os.system("touch /tmp/pwned")\n"""'
    pipeline = translate(
        f'SnsPublishOperator(task_id={hostile!r}, target_arn="arn:t", message={hostile!r})\n'
    )
    (step,) = pipeline.steps.values()
    ((name, text),) = step.spec.files.items()
    assert name.startswith("_aws_") and name.endswith(".py") and name[:-3].isidentifier()
    compile(text, name, "exec")
    assert "os.system" not in text.split('"""', 2)[2]  # nothing after the docstring
    assert step.spec.inputs["message"] == hostile


def test_permissions_reach_the_manifest(tmp_path):
    from bridge.emit.folder import emit

    dag, pipeline = parse_and_translate('S3ListOperator(task_id="ls", bucket="data")\n')
    step = only_step(pipeline, "ls")
    assert step.spec.permissions == ["s3:ListBucket"]
    folder = emit(pipeline, dag, BridgeConfig(), "dag.py", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["steps"]["ls"]["permissions"] == ["s3:ListBucket"]
    assert manifest["steps"]["ls"]["handler"].startswith("_aws_ls")
    assert (folder / "steps" / manifest["steps"]["ls"]["script"]).is_file()


def test_shared_differences_and_manual_cases():
    pipeline = translate(
        """
        SqsPublishOperator(task_id="q", sqs_queue="u", message_content="m",
                           aws_conn_id="other", retries=2)
        S3CreateObjectOperator(task_id="raw", s3_key="s3://b/k", data=b"bytes")
        S3DeleteBucketOperator(task_id="drop", bucket_name="b", force_delete=some_flag)
        S3ListOperator(task_id="ls", bucket="b")
        SnsPublishOperator(task_id="tell", target_arn="t", message="{{ ti.xcom_pull('ls') }}")
        """
    )
    q = pipeline.outcomes["q"]
    assert q.fidelity == "approximate"
    assert any("aws_conn_id `other`" in d for d in q.differences)
    assert any("retries=2" in d for d in q.differences)
    assert pipeline.outcomes["raw"].fidelity == "manual"
    assert "bytes" in pipeline.outcomes["raw"].differences[0]
    assert pipeline.outcomes["drop"].fidelity == "manual"
    # `tell` reads the listing whole: the LambdaStep's output, nothing lost on either side.
    assert pipeline.outcomes["ls"].fidelity == "exact"
    tell = pipeline.outcomes["tell"].differences
    assert not any("reads the XCom" in d for d in tell)
    # ...but rendered into the message, the list is JSON text where Airflow writes its repr.
    assert any("Python's repr" in d for d in tell)


def test_non_template_fields_keep_their_braces():
    pipeline = translate(
        'S3CopyObjectOperator(task_id="c", source_bucket_key="s3://a/{{ ds }}",'
        ' dest_bucket_key="s3://b/k", acl_policy="{{ not_a_template }}")\n'
    )
    inputs = only_step(pipeline, "c").spec.inputs
    assert is_dynamic(inputs["source_bucket_key"])  # a template field: rendered at run time
    assert inputs["acl_policy"] == "{{ not_a_template }}"  # passed as Airflow passes it


def test_long_waits_become_a_processing_step_running_the_same_module():
    pipeline = translate(
        """
        SageMakerStartPipelineOperator(task_id="long", pipeline_name="p", wait_for_completion=True)
        SageMakerStartPipelineOperator(task_id="short", pipeline_name="p",
            wait_for_completion=True, check_interval=10, waiter_max_attempts=30)
        """
    )
    long, short = only_step(pipeline, "long"), only_step(pipeline, "short")
    assert long.kind == "Processing" and long.spec.script.entry == "run"
    assert "def run(**event)" in long.spec.script.body
    assert pipeline.outcomes["long"].fidelity == "approximate"
    assert short.kind == "Lambda"
    assert short.spec.function["create"]["timeout"] == aws_api.CALLS_TIMEOUT + 300
    assert "sagemaker:DescribePipelineExecution" in short.spec.permissions


# ---------------------------------------------------------------------------------------------
# S3
# ---------------------------------------------------------------------------------------------


def test_create_and_delete_bucket(aws, tmp_path):
    pipeline = translate(
        """
        S3CreateBucketOperator(task_id="make", bucket_name="fresh", region_name="eu-west-1")
        S3CreateBucketOperator(task_id="again", bucket_name="fresh", region_name="eu-west-1")
        S3DeleteBucketOperator(task_id="drop", bucket_name="fresh", force_delete=True)
        S3DeleteBucketOperator(task_id="gone", bucket_name="fresh")
        """
    )
    for name in "abcd":
        (tmp_path / name).mkdir()
    run_handler(pipeline, "make", tmp_path / "a")
    location = s3_client().get_bucket_location(Bucket="fresh")["LocationConstraint"]
    assert location == "eu-west-1"
    run_handler(pipeline, "again", tmp_path / "b")  # exists: nothing happens, no error
    boto3.client("s3", region_name="eu-west-1").put_object(Bucket="fresh", Key="k", Body=b"x")
    run_handler(pipeline, "drop", tmp_path / "c")  # force_delete empties it first
    assert "fresh" not in [b["Name"] for b in s3_client().list_buckets()["Buckets"]]
    run_handler(pipeline, "gone", tmp_path / "d")  # does not exist: logged, not failed


def test_delete_bucket_without_force_fails_on_a_full_bucket(aws, tmp_path):
    s3_client().create_bucket(Bucket="full")
    s3_client().put_object(Bucket="full", Key="k", Body=b"x")
    pipeline = translate('S3DeleteBucketOperator(task_id="drop", bucket_name="full")\n')
    with pytest.raises(Exception, match="BucketNotEmpty"):
        run_handler(pipeline, "drop", tmp_path)


def test_copy_object_with_urls_and_bucket_names(aws, tmp_path):
    s3 = s3_client()
    for bucket in ("raw", "curated"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="raw", Key="in/day.csv", Body=b"a,b\n1,2\n")
    pipeline = translate(
        """
        S3CopyObjectOperator(task_id="by_url", source_bucket_key="s3://raw/in/day.csv",
                             dest_bucket_key="s3://curated/latest.csv")
        S3CopyObjectOperator(task_id="by_name", source_bucket_name="raw",
                             source_bucket_key="in/day.csv", dest_bucket_name="curated",
                             dest_bucket_key="copy.csv", acl_policy="no-acl")
        S3CopyObjectOperator(task_id="missing", source_bucket_key="s3://raw/nope",
                             dest_bucket_key="s3://curated/x")
        """
    )
    assert pipeline.outcomes["by_url"].fidelity == "exact"
    run_handler(pipeline, "by_url", tmp_path)
    assert body("curated", "latest.csv") == b"a,b\n1,2\n"
    assert only_step(pipeline, "by_name").spec.permissions == ["s3:GetObject", "s3:PutObject"]
    (tmp_path / "n").mkdir()
    run_handler(pipeline, "by_name", tmp_path / "n")
    assert body("curated", "copy.csv") == b"a,b\n1,2\n"
    (tmp_path / "m").mkdir()
    with pytest.raises(Exception, match="NoSuchKey|Not Found|does not exist"):
        run_handler(pipeline, "missing", tmp_path / "m")


def test_create_object_replace_encrypt_and_gzip(aws, tmp_path):
    s3_client().create_bucket(Bucket="flags")
    pipeline = translate(
        """
        S3CreateObjectOperator(task_id="put", s3_bucket="flags", s3_key="day/_SUCCESS",
                               data="done", encrypt=True)
        S3CreateObjectOperator(task_id="gz", s3_key="s3://flags/data.gz", data="é" * 3,
                               compression="gzip", replace=True)
        """
    )
    run_handler(pipeline, "put", tmp_path)
    assert body("flags", "day/_SUCCESS") == b"done"
    head = s3_client().head_object(Bucket="flags", Key="day/_SUCCESS")
    assert head["ServerSideEncryption"] == "AES256"
    (tmp_path / "again").mkdir()
    with pytest.raises(ValueError, match="already exists"):  # replace=False, as in Airflow
        run_handler(pipeline, "put", tmp_path / "again")
    (tmp_path / "gz").mkdir()
    run_handler(pipeline, "gz", tmp_path / "gz")
    assert gzip.decompress(body("flags", "data.gz")).decode() == "é" * 3


def test_delete_objects_by_keys_and_by_prefix(aws, tmp_path):
    s3 = s3_client()
    s3.create_bucket(Bucket="scratch")
    for key in ("tmp/a", "tmp/b", "keep/c", "one"):
        s3.put_object(Bucket="scratch", Key=key, Body=b"x")
    pipeline = translate(
        """
        S3DeleteObjectsOperator(task_id="by_prefix", bucket="scratch", prefix="tmp/")
        S3DeleteObjectsOperator(task_id="by_key", bucket="scratch", keys="one")
        S3DeleteObjectsOperator(task_id="none", bucket="scratch", keys=[])
        """
    )
    run_handler(pipeline, "by_prefix", tmp_path)
    (tmp_path / "k").mkdir()
    run_handler(pipeline, "by_key", tmp_path / "k")
    (tmp_path / "n").mkdir()
    run_handler(pipeline, "none", tmp_path / "n")
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="scratch")["Contents"]]
    assert left == ["keep/c"]


def test_delete_objects_between_datetimes(aws, tmp_path):
    s3 = s3_client()
    s3.create_bucket(Bucket="old")
    s3.put_object(Bucket="old", Key="k", Body=b"x")
    pipeline = translate(
        """
        S3DeleteObjectsOperator(task_id="before", bucket="old", prefix="",
                                to_datetime="2000-01-01T00:00:00")
        S3DeleteObjectsOperator(task_id="since", bucket="old", prefix="",
                                from_datetime="2000-01-01 00:00:00Z")
        """
    )
    assert pipeline.outcomes["since"].fidelity == "approximate"
    run_handler(pipeline, "before", tmp_path)  # modified after 2000: kept
    assert s3.list_objects_v2(Bucket="old")["KeyCount"] == 1
    (tmp_path / "s").mkdir()
    run_handler(pipeline, "since", tmp_path / "s")
    assert s3.list_objects_v2(Bucket="old")["KeyCount"] == 0


def test_list_keys_and_prefixes_return_the_xcom(aws, tmp_path):
    s3 = s3_client()
    s3.create_bucket(Bucket="data")
    for key in ("raw/2024/a.csv", "raw/2024/b.json", "raw/2025/c.csv", "raw/top.csv"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    pipeline = translate(
        """
        S3ListOperator(task_id="flat", bucket="data", prefix="raw/", delimiter="/")
        S3ListOperator(task_id="csv", bucket="data", prefix="raw/*.csv", apply_wildcard=True)
        S3ListPrefixesOperator(task_id="years", bucket="data", prefix="raw/", delimiter="/")
        """
    )
    flat = run_handler(pipeline, "flat", tmp_path)
    assert json.loads(flat["return_value"]) == ["raw/top.csv"]
    (tmp_path / "c").mkdir()
    csv = run_handler(pipeline, "csv", tmp_path / "c")
    assert json.loads(csv["return_value"]) == ["raw/2024/a.csv", "raw/2025/c.csv", "raw/top.csv"]
    (tmp_path / "y").mkdir()
    years = run_handler(pipeline, "years", tmp_path / "y")
    assert json.loads(years["return_value"]) == ["raw/2024/", "raw/2025/"]


def test_bucket_tagging(aws, tmp_path):
    s3_client().create_bucket(Bucket="models")
    pipeline = translate(
        """
        S3PutBucketTaggingOperator(task_id="tag", bucket_name="models", key="team",
                                   value="ml", tag_set={"stage": "prod"})
        S3GetBucketTaggingOperator(task_id="get", bucket_name="models")
        S3DeleteBucketTaggingOperator(task_id="untag", bucket_name="models")
        S3PutBucketTaggingOperator(task_id="half", bucket_name="models", key="only-key")
        S3GetBucketTaggingOperator(task_id="absent", bucket_name="no-such-bucket")
        """
    )
    run_handler(pipeline, "tag", tmp_path)
    for name in ("get", "untag", "half", "absent"):
        (tmp_path / name).mkdir()
    tags = json.loads(run_handler(pipeline, "get", tmp_path / "get")["return_value"])
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("stage", "prod"), ("team", "ml")]
    run_handler(pipeline, "untag", tmp_path / "untag")
    with pytest.raises(Exception, match="NoSuchTagSet"):
        s3_client().get_bucket_tagging(Bucket="models")
    with pytest.raises(ValueError, match="together"):
        run_handler(pipeline, "half", tmp_path / "half")
    assert json.loads(run_handler(pipeline, "absent", tmp_path / "absent")["return_value"]) is None


# ---------------------------------------------------------------------------------------------
# SNS, SQS
# ---------------------------------------------------------------------------------------------


def test_sns_publish_reaches_a_subscribed_queue(aws, tmp_path):
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="models")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    pipeline = translate(
        f'SnsPublishOperator(task_id="notify", target_arn={topic!r}, message="ready",'
        ' subject="model", message_attributes={"n": 3, "tags": ["a"]})\n'
    )
    result = run_handler(pipeline, "notify", tmp_path)
    assert json.loads(result["return_value"])["MessageId"]
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Message"] == "ready" and envelope["Subject"] == "model"
    assert envelope["MessageAttributes"]["n"] == {"Type": "Number", "Value": "3"}


def test_sqs_publish(aws, tmp_path):
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    pipeline = translate(
        f'SqsPublishOperator(task_id="enqueue", sqs_queue={queue!r}, message_content="go",'
        ' message_attributes={"cadence": {"DataType": "String", "StringValue": "daily"}})\n'
    )
    result = run_handler(pipeline, "enqueue", tmp_path)
    (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == "go"
    assert message["MessageAttributes"]["cadence"]["StringValue"] == "daily"
    assert json.loads(result["return_value"])["MessageId"] == message["MessageId"]


# ---------------------------------------------------------------------------------------------
# SageMaker API calls
# ---------------------------------------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/sm"
DEFINITION = json.dumps(
    {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "day", "Type": "String", "DefaultValue": "x"}],
        "Steps": [],
    }
)


def test_start_pipeline_execution(aws, tmp_path):
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_pipeline(PipelineName="scoring", PipelineDefinition=DEFINITION, RoleArn=ROLE)
    pipeline = translate(
        'SageMakerStartPipelineOperator(task_id="start", pipeline_name="scoring",'
        ' display_name="nightly", pipeline_params={"day": "2024-01-01"})\n'
    )
    arn = run_handler(pipeline, "start", tmp_path)["return_value"]
    (summary,) = sm.list_pipeline_executions(PipelineName="scoring")["PipelineExecutionSummaries"]
    assert summary["PipelineExecutionArn"] == arn
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionDisplayName"] == "nightly"
    parameters = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    assert parameters["PipelineParameters"] == [{"Name": "day", "Value": "2024-01-01"}]


def test_start_pipeline_and_wait_within_the_lambda(aws, tmp_path):
    """moto's executions succeed at once: the bounded poll sees Succeeded and returns."""
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_pipeline(PipelineName="scoring", PipelineDefinition=DEFINITION, RoleArn=ROLE)
    pipeline = translate(
        'SageMakerStartPipelineOperator(task_id="start", pipeline_name="scoring",'
        " wait_for_completion=True, check_interval=1, waiter_max_attempts=5, verbose=False)\n"
    )
    step = only_step(pipeline, "start")
    assert step.kind == "Lambda"
    module = load_handler(step.spec, tmp_path)
    module.POLL_INTERVAL = 0.01
    arn = module.handler(dict(step.spec.inputs), None)["return_value"]
    assert arn.startswith("arn:aws:sagemaker:")


def test_delete_model_and_create_experiment(aws, tmp_path):
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(
        ModelName="churn-v1",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"},
    )
    pipeline = translate(
        """
        SageMakerDeleteModelOperator(task_id="drop", config={"ModelName": "churn-v1"})
        SageMakerCreateExperimentOperator(task_id="exp", name="churn", tags={"team": "ml"})
        """
    )
    run_handler(pipeline, "drop", tmp_path)
    assert sm.list_models()["Models"] == []
    (tmp_path / "e").mkdir()
    sent = []  # moto keeps no experiment tags: look at the request itself
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "provide-client-params.sagemaker.CreateExperiment", lambda params, **_: sent.append(params)
    )
    arn = run_handler(pipeline, "exp", tmp_path / "e")["return_value"]
    assert sm.describe_experiment(ExperimentName="churn")["ExperimentArn"] == arn
    assert sent == [{"ExperimentName": "churn", "Tags": [{"Key": "team", "Value": "ml"}]}]


def test_notebook_create_without_wait(aws, tmp_path):
    pipeline = translate(
        'SageMakerCreateNotebookOperator(task_id="nb", instance_name="lab",'
        f' instance_type="ml.t3.medium", role_arn={ROLE!r}, wait_for_completion=False,'
        ' create_instance_kwargs={"Tags": [{"Key": "team", "Value": "ml"}]})\n'
    )  # (a lowercase `tags` dict is formatted but sent as `tags`: boto3 refuses it, as in Airflow)
    arn = run_handler(pipeline, "nb", tmp_path)["return_value"]
    sm = boto3.client("sagemaker", region_name=REGION)
    described = sm.describe_notebook_instance(NotebookInstanceName="lab")
    assert described["NotebookInstanceArn"] == arn and described["InstanceType"] == "ml.t3.medium"
    waiting = translate(
        'SageMakerStopNotebookOperator(task_id="stop", instance_name="lab")\n'
    )  # botocore's waiter (30 min) outlasts a Lambda function
    assert only_step(waiting, "stop").kind == "Processing"


def test_stop_pipeline_execution_against_bridge_serve(tmp_path, monkeypatch):
    """moto has no StopPipelineExecution: `bridge serve` answers it for a running execution."""
    from bridge.serve.server import serve
    from tests.test_serve import TOKEN, hand_written

    hand = tmp_path / "hand"
    hand_written(hand)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "any")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    boto3.DEFAULT_SESSION = None
    with serve([hand], tmp_path / "state", port=0, token=TOKEN) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        sm = boto3.client("sagemaker", region_name=REGION)
        names = [p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"]]
        slow = next(n for n in names if "sleepy" in n)
        arn = sm.start_pipeline_execution(
            PipelineName=slow, PipelineParameters=[{"Name": "seconds", "Value": "60"}]
        )["PipelineExecutionArn"]
        pipeline = translate(
            f'SageMakerStopPipelineOperator(task_id="stop", pipeline_exec_arn={arn!r},'
            " wait_for_completion=True, check_interval=1, waiter_max_attempts=60)\n"
        )
        step = only_step(pipeline, "stop")
        module = load_handler(step.spec, tmp_path)
        module.POLL_INTERVAL = 0.2
        state = module.handler(dict(step.spec.inputs), None)["return_value"]
        assert state == "Stopped"
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        assert described["PipelineExecutionStatus"] == "Stopped"
    boto3.DEFAULT_SESSION = None


# ---------------------------------------------------------------------------------------------
# End to end: `bridge run` executes the emitted handlers against a moto server
# ---------------------------------------------------------------------------------------------


def test_bridge_run_executes_s3_handlers_against_moto_server(tmp_path):
    from moto.server import ThreadedMotoServer

    dag = tmp_path / "s3_flow.py"
    dag.write_text(
        HEAD
        + textwrap.dedent(
            """
            with DAG("s3_flow", schedule=None):
                make = S3CreateObjectOperator(
                    task_id="make", s3_key="s3://landing/{{ ds }}/data.csv", data="a,b\\n1,2\\n"
                )
                copy = S3CopyObjectOperator(
                    task_id="copy",
                    source_bucket_key="s3://landing/{{ ds }}/data.csv",
                    dest_bucket_key="s3://curated/latest.csv",
                )
                keys = S3ListOperator(task_id="keys", bucket="curated")

                @task
                def count(listed):
                    return len(listed)

                make >> copy >> keys
                count(keys.output)
            """
        )
    )
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [str(BRIDGE), "translate", str(dag), "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((out / "s3_flow" / "manifest.json").read_text())
    assert manifest["steps"]["copy"]["permissions"] == [
        "s3:GetObject",
        "s3:PutObject",
        "s3:PutObjectAcl",
    ]
    server = ThreadedMotoServer(port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=url,
            NO_PROXY="127.0.0.1,localhost",
        )
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="landing")
        s3.create_bucket(Bucket="curated")
        ran = subprocess.run(
            [str(BRIDGE), "run", str(out / "s3_flow"), "--json", "-p", "ds=2024-05-01"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        record = json.loads(ran.stdout)
        assert {n: s["status"] for n, s in record["steps"].items()} == dict.fromkeys(
            ("make", "copy", "keys", "count"), "Succeeded"
        )
        # The list the LambdaStep returns reaches the reading task as a list, as in Airflow.
        assert record["steps"]["count"]["property_files"]["xcom"]["return_value"] == 1
        assert manifest["tasks"]["count"]["fidelity"] == "exact"
        assert s3.get_object(Bucket="landing", Key="2024-05-01/data.csv")["Body"].read()
        assert s3.get_object(Bucket="curated", Key="latest.csv")["Body"].read() == b"a,b\n1,2\n"
    finally:
        server.stop()


def test_readers_of_a_lambda_steps_xcom(tmp_path):
    """A task reading the XCom of an AWS API operator whole gets the LambdaStep's output
    `return_value` (run for real in the bridge run test above); one indexing into it cannot (a
    Lambda output is not a JSON document): the step is a placeholder and the task manual, in
    the manifest too."""
    from bridge.config import BridgeConfig
    from bridge.emit.translate_files import translate_file

    path = tmp_path / "readers.py"
    path.write_text(
        "from airflow.sdk import DAG, task\n"
        "from airflow.providers.amazon.aws.operators.s3 import S3CopyObjectOperator, S3ListOperator\n"
        "with DAG('readers'):\n"
        "    keys = S3ListOperator(task_id='keys', bucket='b', prefix='raw/')\n"
        "    @task\n"
        "    def count(k):\n"
        "        return len(k)\n"
        "    count(keys.output)\n"
        "    S3CopyObjectOperator(task_id='cp', dest_bucket_key='s3://c/x',\n"
        "        source_bucket_key=\"s3://b/{{ ti.xcom_pull(task_ids='keys')[0] }}\")\n"
    )
    (dag,) = translate_file(path, Registry.default(), BridgeConfig(), tmp_path / "out").dags
    tasks = json.loads((dag.folder / "manifest.json").read_text())["tasks"]
    assert tasks["count"]["fidelity"] == "exact"
    assert tasks["cp"]["fidelity"] == "manual"
    assert "reads the XCom of `keys`" in tasks["cp"]["differences"][0]
    assert any("could not be built" in d for d in tasks["cp"]["differences"])
