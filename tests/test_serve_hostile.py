"""`bridge serve` against hostile HTTP clients: real boto3 clients and raw http.client requests
against a server started in this process (port 0).

One test (or a few) per defect found: a listing prefix with `..` listed /etc; a foreign Host
(DNS rebinding) and a missing token were answered, so a web page could run a command whose
output LocalPath was /etc/ssh; malformed input was a 500 with a traceback; the body size was
trusted from the header. Each test also shows the legitimate request still working, so that it
fails if the server simply refuses everything.
"""

from __future__ import annotations

import http.client
import inspect
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bridge.serve.api import ACTIONS
from bridge.serve.server import serve

TOKEN = "BRGHOSTILETESTS00000000000000000"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1"
ROLE = "arn:aws:iam::123456789012:role/HostileTests"
JSON_TYPE = "application/x-amz-json-1.1"


# ---- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    with serve([], state, port=0, token=TOKEN, max_object_bytes=4096) as running:
        yield running


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def client(server, service: str, key: str | None = TOKEN, **config):
    if service == "s3":
        config.setdefault("s3", {"addressing_style": "path"})
    if key is None:
        config["signature_version"] = botocore.UNSIGNED
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key or "unused",
        aws_secret_access_key="anything",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


@pytest.fixture
def sm(server):
    return client(server, "sagemaker")


@pytest.fixture
def s3(server):
    return client(server, "s3")


def port(server) -> int:
    return server.httpd.server_address[1]


def sigv4(key: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )


def raw(
    server,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    target: str | None = None,
    host: str | None = "",
    key: str | None = TOKEN,
    headers: dict[str, str | None] | None = None,
    send_body: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """One request as typed: every header exactly as given (`host=None`: no Host header)."""
    connection = http.client.HTTPConnection("127.0.0.1", port(server), timeout=20)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Content-Length": str(len(body))}
        if host is not None:
            sent["Host"] = host or f"127.0.0.1:{port(server)}"
        if key is not None:
            sent["Authorization"] = sigv4(key)
        if target is not None:
            sent["X-Amz-Target"] = f"SageMaker.{target}"
            sent["Content-Type"] = JSON_TYPE
        sent.update(headers or {})
        for name, value in sent.items():
            if value is not None:  # None: leave the header out
                connection.putheader(name, value)
        connection.endheaders(body if send_body and body else None)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def json_error(answer, status: int, code: str) -> str:
    """The message of an AWS JSON 1.1 error, after checking its shape."""
    got, headers, body = answer
    assert got == status, (got, body)
    assert headers["Content-Type"] == JSON_TYPE
    assert b"Traceback" not in body and b'File "' not in body
    error = json.loads(body)
    assert error["__type"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def s3_error(answer, status: int, code: str) -> str:
    """The message of an S3 XML error, after checking its shape."""
    got, headers, body = answer
    assert got == status, (got, body)
    assert headers["Content-Type"] == "application/xml"
    assert b"Traceback" not in body
    error = ET.fromstring(body)
    assert error.tag == "Error" and error.findtext("Code") == code, body
    assert error.findtext("RequestId")
    return error.findtext("Message") or ""


def code_of(raised) -> str:
    return raised.value.response["Error"]["Code"]


def status_of(raised) -> int:
    return raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def shell_pipeline(command: str, output_path: str, input_path: str | None = None) -> str:
    """A definition with one Processing step running `sh -c command`."""
    arguments = {
        "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["sh", "-c", command]},
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": "s3://hostile/out",
                        "LocalPath": output_path,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 1,
            }
        },
        "RoleArn": ROLE,
    }
    if input_path is not None:
        arguments["ProcessingInputs"] = [
            {
                "InputName": "in",
                "S3Input": {
                    "S3Uri": "s3://hostile/in",
                    "LocalPath": input_path,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ]
    step = {"Name": "job", "Type": "Processing", "Arguments": arguments}
    return json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": [step]})


def wait(sm, arn: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.05)


# ---- 1. it listens on loopback unless told otherwise ------------------------------------------


def test_it_listens_on_loopback_by_default(server):
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert server.httpd.server_address[0] == "127.0.0.1"
    from bridge.cli import serve as command

    assert inspect.signature(command).parameters["host"].default == "127.0.0.1"


# ---- 2. the S3 side stays inside its store ----------------------------------------------------


def test_a_listing_prefix_with_dotdot_does_not_leave_the_store(server, s3):
    s3.create_bucket(Bucket="walk")
    s3.put_object(Bucket="walk", Key="data/a.csv", Body=b"a")
    for prefix in ("../../../../etc/pas", "../", "data/../../../../etc/", "/etc/pas", "./x"):
        with pytest.raises(ClientError) as raised:
            s3.list_objects_v2(Bucket="walk", Prefix=prefix)
        assert (code_of(raised), status_of(raised)) == ("InvalidArgument", 400), prefix
        with pytest.raises(ClientError) as raised:
            s3.list_objects(Bucket="walk", Prefix=prefix)
        assert code_of(raised) == "InvalidArgument", prefix
    answer = raw(server, "GET", "/walk?list-type=2&prefix=..%2F..%2F..%2F..%2Fetc%2Fpas")
    message = s3_error(answer, 400, "InvalidArgument")
    assert b"passwd" not in answer[2] and "passwd" not in message
    # A prefix is a string: one ending in a partial `..` matches nothing, it leads nowhere.
    assert s3.list_objects_v2(Bucket="walk", Prefix="data/..")["KeyCount"] == 0
    listed = s3.list_objects_v2(Bucket="walk", Prefix="data/")
    assert [o["Key"] for o in listed["Contents"]] == ["data/a.csv"]


def test_links_out_of_the_store_are_not_objects(server, s3):
    s3.create_bucket(Bucket="linked")
    s3.put_object(Bucket="linked", Key="mine.txt", Body=b"mine")
    folder = server.state.store_root / "linked"
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "etc").symlink_to("/etc", target_is_directory=True)
    listed = s3.list_objects_v2(Bucket="linked")
    assert [o["Key"] for o in listed["Contents"]] == ["mine.txt"]
    assert s3.list_objects_v2(Bucket="linked", Prefix="etc/")["KeyCount"] == 0
    for key in ("passwd", "etc/passwd", "etc/hostname"):
        with pytest.raises(ClientError) as raised:
            s3.get_object(Bucket="linked", Key=key)
        assert code_of(raised) in ("InvalidArgument", "NoSuchKey"), key
    with pytest.raises(ClientError):
        s3.put_object(Bucket="linked", Key="etc/planted", Body=b"x")
    assert not Path("/etc/planted").exists()
    (server.state.store_root.parent / "outside").mkdir()
    (server.state.store_root / "outbucket").symlink_to(server.state.store_root.parent / "outside")
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="outbucket", Key="x", Body=b"x")
    assert code_of(raised) == "NoSuchBucket"
    assert not (server.state.store_root.parent / "outside" / "x").exists()


def test_keys_that_would_leave_the_store_or_alias_are_refused(server, s3):
    s3.create_bucket(Bucket="keys")
    for key in ("../../secret", "a/../../b", "a/./b", "/etc/passwd"):
        with pytest.raises(ClientError) as raised:
            s3.put_object(Bucket="keys", Key=key, Body=b"x")
        assert (code_of(raised), status_of(raised)) == ("InvalidArgument", 400), key
    for path in ("/keys/a%00b", "/keys//etc/passwd", "/keys/a//b", "/keys/..%2F..%2Fx"):
        for method in ("GET", "PUT"):
            s3_error(
                raw(server, method, path, b"x" if method == "PUT" else b""), 400, "InvalidArgument"
            )
    s3_error(raw(server, "GET", "/keys/" + "k" * 1100), 400, "KeyTooLongError")
    s3_error(raw(server, "GET", "/keys/" + "k" * 300 + "/x"), 400, "KeyTooLongError")
    for bucket in ("..", "%2e%2e", ".cache", "a%00b"):
        s3_error(raw(server, "GET", f"/{bucket}/x"), 400, "InvalidBucketName")
    s3_error(raw(server, "GET", "/keys/%ff%fe"), 400, "InvalidURI")
    many = "&".join(f"f{i}=1" for i in range(200))
    s3_error(raw(server, "GET", f"/keys?{many}"), 400, "InvalidURI")
    s3_error(raw(server, "GET", f"/keys?{many}", key=None), 403, "AccessDenied")
    s3.put_object(Bucket="keys", Key="file", Body=b"x")
    s3.put_object(Bucket="keys", Key="file/below", Body=b"y")  # a flat key space, as S3's
    assert s3.get_object(Bucket="keys", Key="file")["Body"].read() == b"x"
    s3_error(raw(server, "GET", "/keys/a/.bridge-upload-0123"), 400, "InvalidArgument")
    # The store's own name for an object that is also a prefix is no key: it would alias `file`.
    for method in ("GET", "PUT", "DELETE"):
        s3_error(raw(server, method, "/keys/file/.bridge-object", b"z"), 400, "InvalidArgument")
    assert s3.get_object(Bucket="keys", Key="file")["Body"].read() == b"x"
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="keys", Key="marker/", Body=b"")  # a folder marker
    assert (code_of(raised), status_of(raised)) == ("InvalidArgument", 400)
    assert list((server.state.store_root / "keys").iterdir()) == [
        server.state.store_root / "keys" / "file"
    ]
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket="keys", Key="file/")  # looking for one is no error: none is there
    assert code_of(raised) == "404"


# ---- 3. only this machine's clients with the token --------------------------------------------


def test_a_foreign_host_header_is_refused(server, sm):
    # The defect: a page on evil.example, rebinding its name to 127.0.0.1, was answered.
    for host in (f"evil.example:{port(server)}", "evil.example", "127.0.0.1:1", "127.0.0.1"):
        answer = raw(server, "POST", "/", b"{}", target="ListPipelines", host=host)
        assert "Host" in json_error(answer, 403, "AccessDeniedException")
        s3_error(raw(server, "GET", "/", host=host), 403, "AccessDenied")
    json_error(
        raw(server, "POST", "/", b"{}", target="ListPipelines", host=None),
        403,
        "AccessDeniedException",
    )
    for host in (
        f"127.0.0.1:{port(server)}",
        f"localhost:{port(server)}",
        f"LOCALHOST:{port(server)}",
        f"[::1]:{port(server)}",
    ):
        status, _, body = raw(server, "POST", "/", b"{}", target="ListPipelines", host=host)
        assert status == 200 and "PipelineSummaries" in json.loads(body), host


def test_requests_a_browser_makes_for_a_web_page_are_refused(server):
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = raw(server, "POST", "/", b"{}", target="ListPipelines", headers=headers)
        json_error(answer, 403, "AccessDeniedException")
    status, _, _ = raw(server, "GET", "/", headers={"Sec-Fetch-Site": "none"})
    assert status == 200  # typed in the address bar


def test_the_dns_rebinding_attack_runs_nothing(server, sm, tmp_path):
    # The step runs isolated: what it does shows in its declared output, s3://hostile/out.
    marker = server.state.store_root / "hostile" / "out" / "ran"
    definition = shell_pipeline(
        "touch /opt/ml/processing/output/out/ran", "/opt/ml/processing/output/out"
    )
    create = json.dumps(
        {"PipelineName": "rebound", "PipelineDefinition": definition, "RoleArn": ROLE}
    ).encode()
    evil = f"evil.example:{port(server)}"
    for key in (TOKEN, None):
        answer = raw(server, "POST", "/", create, target="CreatePipeline", host=evil, key=key)
        json_error(answer, 403, "AccessDeniedException")
    names = [p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"]]
    assert "rebound" not in names and not marker.exists()
    # The same request from this machine with the token does run the command: it is the point
    # of the server, and why nothing else may reach it.
    json_error_free = raw(server, "POST", "/", create, target="CreatePipeline")
    assert json_error_free[0] == 200, json_error_free
    arn = sm.start_pipeline_execution(PipelineName="rebound")["PipelineExecutionArn"]
    assert wait(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    assert marker.exists()


def test_no_token_or_a_wrong_token_is_refused(server):
    for key, code in ((None, "MissingAuthenticationTokenException"),
                      ("AKIAIOSFODNN7EXAMPLE", "UnrecognizedClientException"),
                      (TOKEN[:-1] + "1", "UnrecognizedClientException")):  # fmt: skip
        with pytest.raises(ClientError) as raised:
            client(server, "sagemaker", key).list_pipelines()
        assert (code_of(raised), status_of(raised)) == (code, 403), key
        s3 = client(server, "s3", key)
        for call, kwargs in (
            (s3.list_buckets, {}),
            (s3.put_object, {"Bucket": "nope", "Key": "k", "Body": b"x"}),
        ):
            with pytest.raises(ClientError) as raised:
                call(**kwargs)
            expected = "AccessDenied" if key is None else "InvalidAccessKeyId"
            assert (code_of(raised), status_of(raised)) == (expected, 403), key
    assert not (server.state.store_root / "nope").exists()
    # The test hooks too: a web page could otherwise inject faults.
    answer = raw(
        server, "POST", "/_bridge/faults", b'{"action": "ListPipelines", "error": 500}', key=None
    )
    json_error(answer, 403, "MissingAuthenticationTokenException")
    answer = raw(
        server,
        "GET",
        "/_bridge/calls",
        headers={"Authorization": "Bearer wrong-token-000000"},
        key=None,
    )
    json_error(answer, 403, "UnrecognizedClientException")
    assert (
        raw(
            server, "GET", "/_bridge/faults", key=None, headers={"Authorization": f"Bearer {TOKEN}"}
        )[2]
        == b"{}"
    )


def test_the_right_token_works_through_boto3_as_the_access_key_id(server, sm, s3):
    assert sm.list_pipelines()["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.create_bucket(Bucket="tokened")
    s3.put_object(Bucket="tokened", Key="k.txt", Body=b"hello")
    assert s3.get_object(Bucket="tokened", Key="k.txt")["Body"].read() == b"hello"
    # SigV4 and SigV2 presigned URLs carry the key id in the query.
    for version in ("s3v4", "s3"):
        url = client(server, "s3", signature_version=version).generate_presigned_url(
            "get_object", Params={"Bucket": "tokened", "Key": "k.txt"}
        )
        with urllib.request.urlopen(url) as answer:
            assert answer.read() == b"hello"
        url = client(server, "s3", "AKIAWRONGWRONGWRONG0", signature_version=version)
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(
                url.generate_presigned_url(
                    "get_object", Params={"Bucket": "tokened", "Key": "k.txt"}
                )
            )
        assert raised.value.code == 403


def test_the_token_shape(tmp_path):
    with serve([], tmp_path / "a", port=0) as fresh:
        assert re.fullmatch(r"BRG[A-Z0-9]{29}", fresh.token)
    with serve([], tmp_path / "b", port=0) as other:
        assert other.token != fresh.token
    for bad in ("short", "has/slash0000000000", "x" * 200):
        with pytest.raises(ValueError):
            serve([], tmp_path / "c", port=0, token=bad)
    with serve([], tmp_path / "d", port=0, auth=False) as open_server:
        assert open_server.token is None
        anyone = client(open_server, "sagemaker", "whatever0000000000")
        assert anyone.list_pipelines()["PipelineSummaries"] == []
        # The Host check holds without auth too.
        answer = raw(
            open_server,
            "POST",
            "/",
            b"{}",
            target="ListPipelines",
            host="evil.example:80",
            key=None,
        )
        json_error(answer, 403, "AccessDeniedException")


def test_allowed_hosts_extend_the_names_answered(tmp_path):
    with serve([], tmp_path / "s", port=0, token=TOKEN, allow_hosts=["bridge.internal"]) as named:
        good = raw(
            named, "POST", "/", b"{}", target="ListPipelines", host=f"bridge.internal:{port(named)}"
        )
        assert good[0] == 200
        json_error(
            raw(
                named,
                "POST",
                "/",
                b"{}",
                target="ListPipelines",
                host=f"other.internal:{port(named)}",
            ),
            403,
            "AccessDeniedException",
        )


# ---- 4. job paths stay in the job's /opt/ml ---------------------------------------------------


@pytest.mark.parametrize(
    "output, input_path",
    [
        ("/etc/ssh", None),
        ("/opt/ml/../../etc/ssh", None),
        ("/opt/ml", None),
        ("opt/ml/processing/out", None),
        ("//opt/ml/processing/out", None),
        ("/opt/mlx/processing/out", None),
        ("/opt/ml/processing/output/out", "/etc"),
        ("/opt/ml/processing/output/out", "/opt/ml/processing/../../../root/.ssh"),
    ],
)
def test_job_local_paths_outside_opt_ml_are_refused(sm, tmp_path, output, input_path):
    marker = tmp_path / "ran"
    definition = shell_pipeline(f"touch {marker}", output, input_path)
    with pytest.raises(ClientError) as raised:
        sm.create_pipeline(PipelineName="exfiltrate", PipelineDefinition=definition, RoleArn=ROLE)
    assert (code_of(raised), status_of(raised)) == ("ValidationException", 400)
    assert "LocalPath" in raised.value.response["Error"]["Message"]
    sm.create_pipeline(
        PipelineName="exfiltrate",
        PipelineDefinition=shell_pipeline("true", "/opt/ml/processing/output/out"),
        RoleArn=ROLE,
    )
    try:
        with pytest.raises(ClientError) as raised:
            sm.update_pipeline(PipelineName="exfiltrate", PipelineDefinition=definition)
        assert code_of(raised) == "ValidationException"
        described = sm.describe_pipeline(PipelineName="exfiltrate")
        assert "/opt/ml/processing/output/out" in described["PipelineDefinition"]
        assert (
            sm.list_pipeline_executions(PipelineName="exfiltrate")["PipelineExecutionSummaries"]
            == []
        )
    finally:
        sm.delete_pipeline(PipelineName="exfiltrate")
    assert not marker.exists()


def test_other_definition_paths_that_could_leave_the_run_are_refused(sm):
    good = json.loads(shell_pipeline("true", "/opt/ml/processing/output/out"))
    outputs = good["Steps"][0]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    cases = {
        "LocalPath": lambda d: outputs[0]["S3Output"].update(LocalPath={"Get": "Parameters.where"}),
        "step name": lambda d: d["Steps"][0].update(Name="../../../tmp/x"),
        "ChannelName": lambda d: d["Steps"][0]["Arguments"].update(
            InputDataConfig=[{"ChannelName": "..", "DataSource": {}}]
        ),
        "/home": lambda d: d["Steps"][0]["Arguments"].update(
            CheckpointConfig={"S3Uri": "s3://b/c", "LocalPath": "/home"}
        ),
        "more than once": lambda d: d["Steps"].append(dict(d["Steps"][0])),
        "'/etc'": lambda d: d["Steps"].append(
            {
                "Name": "check",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [],
                    "IfSteps": [
                        json.loads(shell_pipeline("true", "/etc"))["Steps"][0] | {"Name": "inner"}
                    ],
                },
            }
        ),
    }
    for why, change in cases.items():
        definition = json.loads(json.dumps(good))
        outputs = definition["Steps"][0]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        change(definition)
        with pytest.raises(ClientError) as raised:
            sm.create_pipeline(
                PipelineName="paths", PipelineDefinition=json.dumps(definition), RoleArn=ROLE
            )
        assert code_of(raised) == "ValidationException", why
        assert why in raised.value.response["Error"]["Message"]


def test_an_output_folder_with_a_foreign_local_path_is_not_loaded(tmp_path):
    folder = tmp_path / "out" / "evil"
    folder.mkdir(parents=True)
    (folder / "definition.json").write_text(shell_pipeline("true", "/etc/ssh"))
    (folder / "manifest.json").write_text(json.dumps({"pipeline": {"name": "evil"}}))
    with serve([tmp_path / "out"], tmp_path / "state", port=0, token=TOKEN) as loaded:
        assert loaded.loaded == []
        assert any("LocalPath" in w and "skipped" in w for w in loaded.warnings)


# ---- 5. malformed input: 400 in AWS's shape, never a 500 --------------------------------------


@pytest.mark.parametrize(
    "target, body, code",
    [
        ("DescribePipelineExecution", {"PipelineExecutionArn": {"a": 1}}, "SerializationException"),
        ("DescribePipelineExecution", {"PipelineExecutionArn": ["x"]}, "SerializationException"),
        ("DescribePipeline", {"PipelineName": 7}, "SerializationException"),
        ("ListPipelines", {"MaxResults": "10"}, "SerializationException"),
        ("ListPipelines", {"MaxResults": True}, "SerializationException"),
        ("ListPipelines", {"CreatedAfter": 1e308 * 10}, "SerializationException"),
        ("ListPipelines", {"CreatedAfter": 10**400}, "ValidationException"),
        ("ListPipelines", {"NextToken": "W1tbW1tbW1tbW1tbW1tbW1tbW1tb"}, "ValidationException"),
        ("StartPipelineExecution", {"PipelineName": "x", "PipelineParameters": {"a": 1}}, "SerializationException"),
        ("StartPipelineExecution", {"PipelineName": "x", "PipelineParameters": ["a"]}, "SerializationException"),
        ("StartPipelineExecution", {"PipelineName": "x", "SelectiveExecutionConfig": {"SelectedSteps": [{"StepName": {}}]}}, "SerializationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": {"Steps": []}, "RoleArn": ROLE}, "SerializationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "{\"Steps\": [1]}", "RoleArn": ROLE}, "ValidationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "{\"Steps\": [{\"Name\": {}, \"Type\": \"Fail\"}]}", "RoleArn": ROLE}, "ValidationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "{\"Steps\": [], \"Parameters\": [{\"Name\": []}]}", "RoleArn": ROLE}, "ValidationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "[" * 100_000, "RoleArn": ROLE}, "ValidationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "[" * 500 + "]" * 500, "RoleArn": ROLE}, "ValidationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "{\"Steps\": [], \"x\": \"\\u0000\"}", "RoleArn": ROLE}, "ValidationException"),
        ("CreatePipeline", {"PipelineName": "p", "PipelineDefinition": "x" * (1024 * 1024 + 1), "RoleArn": ROLE}, "ValidationException"),
        ("DescribePipeline", {"PipelineName": "a\u0000b"}, "ValidationException"),
        ("DescribePipeline", {"PipelineName": "x" * 5000}, "ValidationException"),
        ("DescribeProcessingJob", {"ProcessingJobName": ["x"]}, "SerializationException"),
    ],
)  # fmt: skip
def test_wrong_types_and_bad_values_are_400s(server, target, body, code):
    answer = raw(server, "POST", "/", json.dumps(body).encode(), target=target)
    json_error(answer, 400, code)


@pytest.mark.parametrize(
    "body, code",
    [
        (b"[" * 100_000, "SerializationException"),  # the C parser's recursion limit
        (b'{"a":' * 600 + b"1" + b"}" * 600, "SerializationException"),  # parsed, then refused
        (b'{"PipelineName": NaN}', "SerializationException"),
        (b"\xff\xfe{", "SerializationException"),
        (b'{"PipelineName": "\\ud800"}', "ValidationException"),
        (b"[]", "SerializationException"),
        (b"{", "SerializationException"),
    ],
)
def test_bodies_that_are_not_usable_json_are_400s(server, body, code):
    json_error(raw(server, "POST", "/", body, target="DescribePipeline"), 400, code)


def test_unknown_actions_and_hooks_are_400s(server):
    json_error(
        raw(server, "POST", "/", b"{}", target="DeleteEverything"), 400, "UnknownOperationException"
    )
    answer = raw(server, "POST", "/", b"{}", target="x" * 10_000)
    json_error(answer, 400, "UnknownOperationException")
    json_error(
        raw(server, "GET", "/", b"", target="ListPipelines"), 400, "UnknownOperationException"
    )
    for fault in (b'{"action": "ListPipelines", "error": 1e309}', b"[]", b'{"action": {}, "error": 1}',
                  b'{"action": "X", "error": 200}', b'{"action": "X", "error": "E", "count": "1e999"}'):  # fmt: skip
        answer = raw(server, "POST", "/_bridge/faults", fault)
        json_error(answer, 400, "ValidationException")


def test_a_bad_content_length_is_a_400(server):
    for value in ("abc", "-5", "1e3", "0x10", " ", "+4", "\u00b2", "1" * 30):
        answer = raw(
            server, "POST", "/", b"{}", target="ListPipelines", headers={"Content-Length": value}
        )
        message = json_error(answer, 400, "SerializationException")
        assert "Content-Length" in message, value
        s3_error(
            raw(server, "PUT", "/bkt/k", b"x", headers={"Content-Length": value}),
            400,
            "InvalidArgument",
        )
    answer = raw(
        server, "PUT", "/bkt/k", b"1\r\nx\r\n0\r\n\r\n",
        headers={"Transfer-Encoding": "chunked", "Content-Length": None},
    )  # fmt: skip
    s3_error(answer, 411, "MissingContentLength")


def test_a_huge_content_length_is_refused_without_reading(server, sm):
    started = time.monotonic()
    # Nothing of the 10**12 bytes is sent: an answer at once shows none was waited for.
    answer = raw(server, "POST", "/", b"{}", target="ListPipelines",
                 headers={"Content-Length": str(10**12)}, send_body=False)  # fmt: skip
    json_error(answer, 413, "RequestEntityTooLarge")
    assert answer[1].get("Connection") == "close"
    answer = raw(
        server, "PUT", "/big/object", b"", headers={"Content-Length": str(10**12)}, send_body=False
    )
    s3_error(answer, 400, "EntityTooLarge")
    answer = raw(
        server,
        "GET",
        "/big?list-type=2",
        b"",
        headers={"Content-Length": str(10**12)},
        send_body=False,
    )
    s3_error(answer, 413, "EntityTooLarge")
    assert time.monotonic() - started < 10  # the server would wait 60 s for a body it reads
    assert not (server.state.store_root / "big").exists()
    assert sm.list_pipelines()["ResponseMetadata"]["HTTPStatusCode"] == 200  # still serving


def test_put_object_is_capped_and_streamed(server, s3):
    s3.create_bucket(Bucket="capped")
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="capped", Key="big", Body=b"x" * 5000)  # the fixture's cap: 4096
    assert (code_of(raised), status_of(raised)) == ("EntityTooLarge", 400)
    # The same client goes on (the refused connection was closed, not left half-read).
    s3.put_object(Bucket="capped", Key="small", Body=b"y" * 4096)
    assert s3.get_object(Bucket="capped", Key="small")["Body"].read() == b"y" * 4096
    assert sorted(p.name for p in (server.state.store_root / "capped").iterdir()) == ["small"]


def test_a_refused_body_does_not_desynchronise_the_connection(server):
    connection = http.client.HTTPConnection("127.0.0.1", port(server), timeout=20)
    try:
        body = b'{"PipelineName": "x"}'
        connection.request("POST", "/", body, {"X-Amz-Target": "SageMaker.DescribePipeline",
                                               "Authorization": sigv4("AKIAWRONGWRONGWRONG0")})  # fmt: skip
        first = connection.getresponse()
        assert first.status == 403 and first.getheader("Connection") == "close"
        first.read()
        connection.request("POST", "/", b"{}", {"X-Amz-Target": "SageMaker.ListPipelines",
                                                "Authorization": sigv4(TOKEN)})  # fmt: skip
        assert connection.getresponse().status == 200  # on a new connection, transparently
    finally:
        connection.close()


def test_exceptions_left_are_400_for_client_data_and_logged(server, sm, monkeypatch, capfd):
    def confused(state, request):
        return {"x": request["Missing"]}  # a KeyError from client data

    monkeypatch.setitem(ACTIONS, "ListPipelines", confused)
    with pytest.raises(ClientError) as raised:
        sm.list_pipelines()
    assert (code_of(raised), status_of(raised)) == ("ValidationException", 400)
    assert "Traceback" not in raised.value.response["Error"]["Message"]
    logged = capfd.readouterr().err
    assert "Traceback" in logged and "KeyError" in logged

    def broken(state, request):
        raise RuntimeError("a bug in the server")

    monkeypatch.setitem(ACTIONS, "ListPipelines", broken)
    answer = raw(server, "POST", "/", b"{}", target="ListPipelines")
    message = json_error(answer, 500, "InternalFailure")
    assert "a bug in the server" not in message
    assert "RuntimeError: a bug in the server" in capfd.readouterr().err


# ---- the command line -------------------------------------------------------------------------


def test_cli_prints_its_token_and_takes_one(tmp_path):
    command = [sys.executable, "-m", "bridge.cli", "serve", "--port", "0"]
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_SERVE_TOKEN"}
    for given in (None, "BRGFROMTHEENVIRONMENT00000000000"):
        if given:
            env["BRIDGE_SERVE_TOKEN"] = given
        process = subprocess.Popen(
            [*command, "--state", str(tmp_path / "state")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        try:
            lines = []
            while not lines or "AWS_ENDPOINT_URL_SAGEMAKER=" not in lines[-1]:
                lines.append(process.stdout.readline())
                assert lines[-1], lines
            url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)
            token = re.search(r"token: (\S+)", "".join(lines)).group(1)
            assert token == given if given else re.fullmatch(r"BRG[A-Z0-9]{29}", token)
            sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id=token, aws_secret_access_key="x")  # fmt: skip
            assert sm.list_pipelines()["PipelineSummaries"] == []
            wrong = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                                 aws_access_key_id="AKIAWRONGWRONGWRONG0", aws_secret_access_key="x")  # fmt: skip
            with pytest.raises(ClientError) as raised:
                wrong.list_pipelines()
            assert code_of(raised) == "UnrecognizedClientException"
        finally:
            process.terminate()
            process.communicate(timeout=10)
    done = subprocess.run(
        [*command, "--token", "short"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 2 and "--token" in done.stderr
