"""`bridge serve`'s S3 has S3's flat key space: a key can be an object and a prefix of other keys
at once (the SageMaker SDK puts a big definition at `s3://<bucket>/<pipeline name>`, beside the
pipeline's files under `<pipeline name>/`), whichever is written first.

Real boto3 clients against a server started in this process (port 0); the same objects through
bridge/run/object_store.py, which runs read and write; and the layout a person sees with `ls`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bridge.run.object_store import ObjectStore
from bridge.serve.server import serve

TOKEN = "BRGS3KEYSTESTS000000000000000000"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1"
ROLE = "arn:aws:iam::123456789012:role/S3KeysTests"
DEEP = "generated/code/abc/steps/a.sh"
NEAR = "generated/code/abc/steps/b.sh"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve([], tmp_path_factory.mktemp("state"), port=0, token=TOKEN) as running:
        yield running


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def client(server, service: str):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=TOKEN,
        aws_secret_access_key="anything",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def s3(server):
    return client(server, "s3")


@pytest.fixture
def bucket(s3, request) -> str:
    name = request.node.name.replace("_", "-")[:50].strip("-")
    s3.create_bucket(Bucket=name)
    return name


def keys(s3, bucket: str, **args) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, **args).get("Contents", [])]


def body(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def missing(s3, bucket: str, key: str) -> None:
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=bucket, Key=key)
    assert raised.value.response["Error"]["Code"] == "NoSuchKey", key
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket=bucket, Key=key)
    assert raised.value.response["Error"]["Code"] == "404", key


def check_both(s3, bucket: str) -> None:
    """`generated` and the keys under `generated/` are all there, as S3 would show them."""
    for key, data in (("generated", b"definition"), (DEEP, b"echo a"), (NEAR, b"echo b")):
        assert body(s3, bucket, key) == data, key
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == len(data)
        assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert body(s3, bucket, "generated") == b"definition"
    ranged = s3.get_object(Bucket=bucket, Key="generated", Range="bytes=0-2")
    assert ranged["Body"].read() == b"def"
    assert keys(s3, bucket) == ["generated", DEEP, NEAR]
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["generated"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["generated/"]
    assert top["KeyCount"] == 2
    assert top["Contents"][0]["Size"] == len(b"definition")
    inside = s3.list_objects_v2(Bucket=bucket, Prefix="generated/", Delimiter="/")
    assert "Contents" not in inside
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["generated/code/"]
    assert keys(s3, bucket, Prefix="generated") == ["generated", DEEP, NEAR]
    assert keys(s3, bucket, Prefix="generated/") == [DEEP, NEAR]
    assert keys(s3, bucket, StartAfter="generated") == [DEEP, NEAR]
    # A page a key long: the object, then the common prefix, each once.
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    seen = [
        [o["Key"] for o in p.get("Contents", [])]
        + [c["Prefix"] for c in p.get("CommonPrefixes", [])]
        for p in pages
    ]
    assert seen == [["generated"], ["generated/"]]
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 1}
    )
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == ["generated", DEEP, NEAR]
    old = s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1})
    assert [o["Key"] for p in old for o in p.get("Contents", [])] == ["generated", DEEP, NEAR]
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in v1["Contents"]] == ["generated"]
    assert [p["Prefix"] for p in v1["CommonPrefixes"]] == ["generated/"]


def store_of(server, bucket: str) -> Path:
    return server.state.store_root / bucket


def test_an_object_first_then_keys_under_it(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="generated", Body=b"first")
    assert store_of(server, bucket).joinpath("generated").is_file()  # plain while it can be
    s3.put_object(Bucket=bucket, Key=DEEP, Body=b"echo a")
    assert body(s3, bucket, "generated") == b"first"
    s3.put_object(Bucket=bucket, Key="generated", Body=b"definition")  # overwritten in place
    s3.put_object(Bucket=bucket, Key=NEAR, Body=b"echo b")
    check_both(s3, bucket)
    # A person sees a plain folder; the object's bytes are in it under the store's own name.
    folder = store_of(server, bucket) / "generated"
    assert sorted(p.name for p in folder.iterdir()) == [".bridge-object", "code"]
    assert (folder / ".bridge-object").read_bytes() == b"definition"

    s3.delete_object(Bucket=bucket, Key="generated")
    missing(s3, bucket, "generated")
    assert keys(s3, bucket) == [DEEP, NEAR]
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert "Contents" not in top and [p["Prefix"] for p in top["CommonPrefixes"]] == ["generated/"]
    assert body(s3, bucket, DEEP) == b"echo a"
    for key in (DEEP, NEAR):
        s3.delete_object(Bucket=bucket, Key=key)
    assert keys(s3, bucket) == []
    assert list(store_of(server, bucket).iterdir()) == []  # the folders went with their keys


def test_keys_first_then_an_object_at_their_prefix(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key=DEEP, Body=b"echo a")
    s3.put_object(Bucket=bucket, Key=NEAR, Body=b"echo b")
    missing(s3, bucket, "generated")
    s3.put_object(Bucket=bucket, Key="generated", Body=b"definition")
    check_both(s3, bucket)

    s3.delete_object(Bucket=bucket, Key=DEEP)
    assert body(s3, bucket, "generated") == b"definition"
    assert keys(s3, bucket) == ["generated", NEAR]
    s3.delete_object(Bucket=bucket, Key=NEAR)
    missing(s3, bucket, DEEP)
    # The last key under it gone, the object is a plain file again.
    assert store_of(server, bucket).joinpath("generated").read_bytes() == b"definition"
    assert keys(s3, bucket) == ["generated"]
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["generated"] and "CommonPrefixes" not in top


def test_objects_at_every_level_of_one_path(s3, bucket):
    chain = ["a", "a/b", "a/b/c", "a/b/c/d"]
    for key in reversed(chain[1:]):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="a/b/c/d/e", Body=b"e")
    assert keys(s3, bucket) == [*chain, "a/b/c/d/e"]
    for key in chain:
        assert body(s3, bucket, key) == key.encode()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="a/b/", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["a/b/c"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/b/c/"]
    s3.delete_object(Bucket=bucket, Key="a/b")
    assert keys(s3, bucket) == ["a", "a/b/c", "a/b/c/d", "a/b/c/d/e"]
    missing(s3, bucket, "a/b")


def test_the_store_s_own_names_are_no_keys(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    s3.put_object(Bucket=bucket, Key="k/x", Body=b"x")
    for key in ("k/.bridge-object", ".bridge-object", "a/.bridge-upload-1/x"):
        for call, extra in (
            (s3.put_object, {"Body": b"alias"}),
            (s3.get_object, {}),
            (s3.delete_object, {}),
        ):
            with pytest.raises(ClientError) as raised:
                call(Bucket=bucket, Key=key, **extra)
            assert raised.value.response["Error"]["Code"] == "InvalidArgument", (call, key)
    assert body(s3, bucket, "k") == b"k"
    assert keys(s3, bucket, Prefix="k/.bridge") == []
    store = ObjectStore(server.state.store_root)
    for uri in (f"s3://{bucket}/k/.bridge-object", f"s3://{bucket}/k/.bridge-upload-x"):
        with pytest.raises(ValueError):
            store.path(uri)


def test_links_stay_refused_on_the_way_to_a_folder(server, s3, bucket):
    folder = store_of(server, bucket)
    outside = server.state.store_root.parent / f"{bucket}-outside"
    outside.write_bytes(b"outside")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    (folder / "out").symlink_to(outside)
    (folder / "in").symlink_to(folder / "plain")
    for key in ("out/x", "in/x"):
        with pytest.raises(ClientError) as raised:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        assert raised.value.response["Error"]["Code"] == "InvalidArgument", key
    assert (folder / "plain").is_file() and (folder / "out").is_symlink()
    assert outside.read_bytes() == b"outside"
    # An object file planted as a link out of the store is no object.
    (folder / "dir").mkdir()
    (folder / "dir" / "mine").write_bytes(b"mine")
    (folder / "dir" / ".bridge-object").symlink_to(outside)
    missing(s3, bucket, "dir")
    assert "dir" not in keys(s3, bucket) and "dir/mine" in keys(s3, bucket)
    store = ObjectStore(server.state.store_root)
    with pytest.raises(FileNotFoundError):
        store.read_text(f"s3://{bucket}/dir")


def test_readers_never_miss_an_object_while_keys_come_and_go_under_it(s3, bucket):
    s3.put_object(Bucket=bucket, Key="hot", Body=b"hot")
    stop, failures, turns = threading.Event(), [], []

    def churn():
        writer = boto3.client(
            "s3",
            endpoint_url=s3.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=TOKEN,
            aws_secret_access_key="anything",
            config=Config(s3={"addressing_style": "path"}),
        )
        try:
            while not stop.is_set():  # each turn moves `hot` into its folder and back out
                writer.put_object(Bucket=bucket, Key="hot/x", Body=b"x")
                writer.delete_object(Bucket=bucket, Key="hot/x")
                turns.append(1)
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        deadline = time.monotonic() + 3
        reads = 0
        while time.monotonic() < deadline:
            try:
                assert body(s3, bucket, "hot") == b"hot"
                assert "hot" in keys(s3, bucket, Prefix="hot")
            except (ClientError, AssertionError) as exc:
                failures.append(exc)
            reads += 1
    finally:
        stop.set()
        thread.join()
    assert not failures, failures[:3]
    assert reads > 20 and len(turns) > 20


def test_runs_read_and_write_such_objects_through_the_object_store(server, s3, bucket, tmp_path):
    store = ObjectStore(server.state.store_root)
    s3.put_object(Bucket=bucket, Key="generated", Body=b"definition")
    s3.put_object(Bucket=bucket, Key=DEEP, Body=b"echo a")
    assert store.read_text(f"s3://{bucket}/generated") == "definition"
    assert store.path(f"s3://{bucket}/generated").read_bytes() == b"definition"
    assert store.exists(f"s3://{bucket}/generated") and store.exists(f"s3://{bucket}/generated/")
    assert not store.exists(f"s3://{bucket}/generated/code/abc/steps/c.sh")
    # The object and the prefix's objects; the object under its own name.
    assert store.download(f"s3://{bucket}/generated", tmp_path / "both") == 2
    assert (tmp_path / "both" / "generated").read_bytes() == b"definition"
    assert (tmp_path / "both" / "code/abc/steps/a.sh").read_bytes() == b"echo a"
    assert store.download(f"s3://{bucket}/generated/code", tmp_path / "code") == 1
    assert [p.name for p in (tmp_path / "code").rglob("*") if p.is_file()] == ["a.sh"]

    # Written by a run, either order; S3 clients see it all.
    source = tmp_path / "file.txt"
    source.write_text("written")
    store.put_file(f"s3://{bucket}/generated/code", source)  # a prefix of DEEP
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "sub" / "r.json").write_text("{}")
    store.put_file(f"s3://{bucket}/result", source)
    assert store.upload(outputs, f"s3://{bucket}/result") == 1  # under an object
    assert body(s3, bucket, "generated/code") == b"written"
    assert body(s3, bucket, "result") == b"written"
    assert body(s3, bucket, "result/sub/r.json") == b"{}"
    assert keys(s3, bucket) == ["generated", "generated/code", DEEP, "result", "result/sub/r.json"]
    (outputs / ".bridge-object").write_text("alias")
    with pytest.raises(ValueError):
        store.upload(outputs, f"s3://{bucket}/again")
    assert keys(s3, bucket, Prefix="again") == []


def test_a_definition_at_the_pipeline_s_own_name_is_read(server, s3, bucket):
    """As the SDK's upsert of a big pipeline: its files under `<name>/`, its definition at
    `<name>`, both orders."""
    sm = client(server, "sagemaker")
    step = {
        "Name": "job",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["true"]},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                }
            },
            "RoleArn": ROLE,
        },
    }
    definition = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": [step]})
    for name, files_first in (("files-first", True), ("definition-first", False)):
        if files_first:
            s3.put_object(Bucket=bucket, Key=f"{name}/code/run.sh", Body=b"true")
        s3.put_object(Bucket=bucket, Key=name, Body=definition.encode())
        if not files_first:
            s3.put_object(Bucket=bucket, Key=f"{name}/code/run.sh", Body=b"true")
        sm.create_pipeline(
            PipelineName=name,
            RoleArn=ROLE,
            PipelineDefinitionS3Location={"Bucket": bucket, "ObjectKey": name},
        )
        described = sm.describe_pipeline(PipelineName=name)
        assert json.loads(described["PipelineDefinition"]) == json.loads(definition)
    with pytest.raises(ClientError) as raised:  # a prefix alone is no definition
        sm.create_pipeline(
            PipelineName="prefix-only",
            RoleArn=ROLE,
            PipelineDefinitionS3Location={"Bucket": bucket, "ObjectKey": "files-first/code"},
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
