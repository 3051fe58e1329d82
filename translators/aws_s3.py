"""Amazon S3 operators that are a few S3 API calls, as LambdaSteps whose handler makes the calls
the operator's S3Hook makes (translators/aws_api.py): bucket create/delete/tagging, object
copy/create/delete, listing keys and prefixes.

S3FileTransformOperator is not here: it runs a script on the Airflow worker between a download
and an upload, which is a processing job, not an API call.
"""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import (
    AsJson,
    AwsOperation,
    Code,
    Kwargs,
    Output,
    Var,
    aws_translation,
)
from translators.common import manual
from translators.registry import Example, Translation, rule

_S3 = "airflow.providers.amazon.aws.operators.s3"
NO_ACL = "no-acl"  # S3Hook.copy_object: send no ACL at all

# ---- handler helpers: S3Hook's behaviour, written for the handler module -------------------

BUCKET_EXISTS = '''
def bucket_exists(s3, bucket):
    """Whether the bucket exists and can be seen (S3Hook.check_for_bucket: HeadBucket)."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        print(f"bucket {bucket}: {error}")
        return False
    return True
'''

LIST_OBJECTS = '''
def list_objects(s3, bucket, prefix="", delimiter="", apply_wildcard=False):
    """The objects under `prefix`, every page of ListObjectsV2 (S3Hook.list_keys)."""
    original = prefix or ""
    wildcard = bool(apply_wildcard and "*" in original)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket,
        Prefix=original.split("*", 1)[0] if wildcard else original,
        Delimiter=delimiter or "",
        StartAfter="",
    )
    found = []
    for page in pages:
        for item in page.get("Contents", []):
            if not wildcard or fnmatch.fnmatch(item["Key"], original):
                found.append(item)
    return found
'''

DELETE_KEYS = '''
def delete_keys(s3, bucket, keys):
    """Delete `keys`, 1,000 a request, failing on any error (S3Hook.delete_objects)."""
    if isinstance(keys, str):
        keys = [keys]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in chunk]}
        )
        print("deleted", [item["Key"] for item in response.get("Deleted", [])])
        if "Errors" in response:
            failed = [item["Key"] for item in response["Errors"]]
            raise RuntimeError(f"errors when deleting: {failed}")
'''

BUCKET_AND_KEY = '''
def bucket_and_key(bucket, key):
    """(bucket, key) from a bucket and a key relative to it, or from a full S3 URL when no
    bucket is given (S3Hook.get_s3_bucket_key)."""
    if bucket is None:
        return parse_s3_url(key)
    parsed = urlsplit(key)
    if parsed.scheme or parsed.netloc:
        raise TypeError(f"with a bucket name given, {key!r} must be a key, not a URL")
    return bucket, key


def parse_s3_url(url):
    """s3://bucket/key, or the https virtual-hosted and path forms (S3Hook.parse_s3_url)."""
    scheme, _, rest = url.partition("//")
    if re.match(r"s3[na]?:", scheme, re.IGNORECASE):
        parsed = urlsplit(url, allow_fragments=False)
        if parsed.netloc:
            return parsed.netloc, parsed.path.lstrip("/")
    elif scheme == "https:":
        host = rest.split(".")
        if host[0] == "s3":
            _, bucket, key = rest.split("/", 2)
            return bucket, key
        if len(host) > 1 and host[1] == "s3":
            return host[0], rest.partition("/")[2]
    raise ValueError(f"not an S3 URL with a bucket: {url!r}")
'''

PARSE_TIME = '''
def parse_time(value):
    """A from/to datetime given as text, made UTC as the operator makes it."""
    if value is None:
        return None
    text = str(value).strip().replace(" ", "T", 1)
    text = text.removesuffix("Z")
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
'''

_CLIENT_ERROR = ("from botocore.exceptions import ClientError",)


def _connection_only(task: TaskModel) -> list[str]:
    """S3Hook arguments of the connection the function cannot have."""
    return [
        f"`{n}`: the connection's S3 settings are not applied"
        for n in ("transfer_config_args", "extra_args")
        if n in task.kwargs
    ]


def _examples(title: str, body: str, task_id: str, fidelity: str = "exact") -> list[Example]:
    """One example: `body` (indented call lines) in a DAG importing the operator it names."""
    operator = body.split("(", 1)[0].strip()
    head = f'from airflow.sdk import DAG\nfrom {_S3} import {operator}\nwith DAG("d"):\n'
    return [
        Example(
            title,
            head + body,
            {task_id: {"fate": "step", "fidelity": fidelity, "steps": [task_id]}},
        )
    ]


# ---- buckets -------------------------------------------------------------------------------


@rule(
    f"{_S3}.S3CreateBucketOperator",
    examples=_examples(
        "S3CreateBucketOperator creates the bucket unless it exists",
        '    S3CreateBucketOperator(task_id="make", bucket_name="ml-{{ ds_nodash }}")\n',
        "make",
    ),
)
def create_bucket(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3CreateBucketOperator → a LambdaStep whose handler does what the operator does:
    HeadBucket, and when the bucket is not there CreateBucket with a LocationConstraint of
    `region_name` (else the function's region) unless that is us-east-1, and `bucket_namespace`
    when given. `bucket_name` and `bucket_namespace` are templated (step inputs). Needs
    s3:ListBucket, s3:CreateBucket. Exact, but for an aws_conn_id other than aws_default,
    verify/botocore_config and retries (each named)."""
    kw = Kwargs(task, ctx, templated=("bucket_name", "bucket_namespace"))
    kw.input("bucket_name")
    kw.input("bucket_namespace")
    operation = AwsOperation(
        summary="creates an S3 bucket unless it exists",
        inputs=kw.inputs,
        steps=(
            Code(
                text="""
                bucket = event["bucket_name"]
                if bucket_exists(s3, bucket):
                    print(f"bucket {bucket} already exists")
                else:
                    request = {"Bucket": bucket}
                    region = event.get("region_name") or s3.meta.region_name
                    if region != "us-east-1":
                        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
                    if event.get("bucket_namespace"):
                        request["BucketNamespace"] = event["bucket_namespace"]
                    s3.create_bucket(**request)
                """,
                services=("s3",),
                actions=("s3:ListBucket", "s3:CreateBucket"),
            ),
        ),
        helpers=BUCKET_EXISTS,
        imports=_CLIENT_ERROR,
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


@rule(
    f"{_S3}.S3DeleteBucketOperator",
    examples=_examples(
        "S3DeleteBucketOperator with force_delete empties the bucket, then deletes it",
        '    S3DeleteBucketOperator(task_id="drop", bucket_name="scratch", force_delete=True)\n',
        "drop",
    ),
)
def delete_bucket(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3DeleteBucketOperator → a LambdaStep: HeadBucket, then DeleteBucket when it exists. With
    `force_delete=True` it first empties the bucket as S3Hook.delete_bucket does: up to five
    passes of ListObjectsV2 (every page) and DeleteObjects (1,000 keys a request, failing on any
    error), waiting 500 s before a later pass, until DeleteBucket succeeds. Needs s3:ListBucket,
    s3:DeleteBucket and, with force_delete, s3:DeleteObject. `force_delete` must be a literal.
    Exact; a bucket that keeps filling while it is emptied needs passes longer than the
    function's 15 minutes (Airflow's task would go on)."""
    kw = Kwargs(task, ctx, templated=("bucket_name",))
    kw.input("bucket_name")
    force = kw.static("force_delete", False)
    if force:
        text = """
            bucket = event["bucket_name"]
            if not bucket_exists(s3, bucket):
                print(f"bucket {bucket} does not exist")
                return {}
            for attempt in range(5):
                keys = [item["Key"] for item in list_objects(s3, bucket)]
                if not keys:
                    try:
                        s3.delete_bucket(Bucket=bucket)
                        return {}
                    except ClientError as error:
                        if error.response["Error"]["Code"] != "BucketNotEmpty":
                            raise
                        continue
                if attempt:
                    time.sleep(500)
                delete_keys(s3, bucket, keys)
            s3.delete_bucket(Bucket=bucket)
            """
        helpers = BUCKET_EXISTS + LIST_OBJECTS + DELETE_KEYS
        actions = ("s3:ListBucket", "s3:DeleteObject", "s3:DeleteBucket")
        imports = (*_CLIENT_ERROR, "import fnmatch", "import time")
    else:
        text = """
            bucket = event["bucket_name"]
            if bucket_exists(s3, bucket):
                s3.delete_bucket(Bucket=bucket)
            else:
                print(f"bucket {bucket} does not exist")
            """
        helpers, actions, imports = (
            BUCKET_EXISTS,
            ("s3:ListBucket", "s3:DeleteBucket"),
            _CLIENT_ERROR,
        )
    operation = AwsOperation(
        summary="deletes an S3 bucket",
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=actions),),
        helpers=helpers,
        imports=imports,
        timeout=900 if force else None,
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


def _tagging(
    task: TaskModel, ctx: RuleContext, summary: str, text: str, actions, outputs=(), extra=()
):
    kw = Kwargs(task, ctx, templated=("bucket_name",))
    for name in ("bucket_name", *extra):
        kw.input(name)
    return kw, AwsOperation(
        summary=summary,
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=("s3:ListBucket", *actions)),),
        outputs=outputs,
        helpers=BUCKET_EXISTS,
        imports=_CLIENT_ERROR,
    )


@rule(
    f"{_S3}.S3GetBucketTaggingOperator",
    examples=_examples(
        "S3GetBucketTaggingOperator returns the tag set as the step's output",
        '    S3GetBucketTaggingOperator(task_id="tags", bucket_name="models")\n',
        "tags",
    ),
)
def get_bucket_tagging(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3GetBucketTaggingOperator → a LambdaStep: HeadBucket, then GetBucketTagging; the TagSet
    (the XCom; null when the bucket does not exist) is the output `return_value` as JSON text.
    Needs s3:ListBucket, s3:GetBucketTagging. Exact, but for the shared AWS differences and a
    downstream task reading the XCom."""
    kw, operation = _tagging(
        task,
        ctx,
        "returns an S3 bucket's tags",
        """
        bucket = event["bucket_name"]
        tags = None
        if bucket_exists(s3, bucket):
            tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        else:
            print(f"bucket {bucket} does not exist")
        """,
        ("s3:GetBucketTagging",),
        (Output(name="return_value", value=AsJson(Var("tags"))),),
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


@rule(
    f"{_S3}.S3PutBucketTaggingOperator",
    examples=_examples(
        "S3PutBucketTaggingOperator puts the tag set and the key/value pair",
        '    S3PutBucketTaggingOperator(task_id="tag", bucket_name="models", key="team",'
        ' value="ml", tag_set={"stage": "prod"})\n',
        "tag",
    ),
)
def put_bucket_tagging(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3PutBucketTaggingOperator → a LambdaStep: HeadBucket, then PutBucketTagging with the
    tag set as S3Hook.put_bucket_tagging builds it (a dict as Key/Value pairs, a list as
    given, `key`/`value` appended as one more pair; one without the other fails the step).
    Only `bucket_name` is templated; the tags go to the function as inputs as written. Needs
    s3:ListBucket, s3:PutBucketTagging. Exact, but for the shared AWS differences."""
    kw, operation = _tagging(
        task,
        ctx,
        "replaces an S3 bucket's tags",
        """
        bucket = event["bucket_name"]
        if bucket_exists(s3, bucket):
            tags = event.get("tag_set") or []
            if isinstance(tags, dict):
                tags = [{"Key": k, "Value": v} for k, v in tags.items()]
            key, value = event.get("key"), event.get("value")
            if key and value:
                tags.append({"Key": key, "Value": value})
            elif key or value:
                raise ValueError(f"key and value must be given together ({key!r}, {value!r})")
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
        else:
            print(f"bucket {bucket} does not exist")
        """,
        ("s3:PutBucketTagging",),
        extra=("key", "value", "tag_set"),
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


@rule(
    f"{_S3}.S3DeleteBucketTaggingOperator",
    examples=_examples(
        "S3DeleteBucketTaggingOperator deletes the bucket's tags",
        '    S3DeleteBucketTaggingOperator(task_id="untag", bucket_name="models")\n',
        "untag",
    ),
)
def delete_bucket_tagging(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3DeleteBucketTaggingOperator → a LambdaStep: HeadBucket, then DeleteBucketTagging.
    Needs s3:ListBucket, s3:PutBucketTagging (S3's action for deleting tags). Exact, but for the
    shared AWS differences."""
    kw, operation = _tagging(
        task,
        ctx,
        "deletes an S3 bucket's tags",
        """
        bucket = event["bucket_name"]
        if bucket_exists(s3, bucket):
            s3.delete_bucket_tagging(Bucket=bucket)
        else:
            print(f"bucket {bucket} does not exist")
        """,
        ("s3:PutBucketTagging",),
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


# ---- objects -------------------------------------------------------------------------------


@rule(
    f"{_S3}.S3CopyObjectOperator",
    examples=_examples(
        "S3CopyObjectOperator copies the object from a Lambda function",
        '    S3CopyObjectOperator(task_id="copy", source_bucket_key="s3://raw/{{ ds }}.csv",'
        ' dest_bucket_key="s3://curated/latest.csv")\n',
        "copy",
    ),
)
def copy_object(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3CopyObjectOperator → a LambdaStep whose handler calls CopyObject as
    S3Hook.copy_object does: each key is an s3:// URL or a key relative to its bucket name,
    `CopySource` names the source bucket, key and `source_version_id`; `ACL` is `acl_policy`
    (default private; "no-acl" sends none), `MetadataDirective` when given, and
    `SSEKMSKeyId`/`ServerSideEncryption` when both `kms_key_id` and `kms_encryption_type` are
    given (one without the other fails the step). Bucket names and keys are templated (step
    inputs). Needs s3:GetObject (s3:GetObjectVersion with a version), s3:PutObject,
    s3:PutObjectAcl (with an ACL) and KMS access when a key is named. Exact, but for the shared
    AWS differences."""
    kw = Kwargs(
        task,
        ctx,
        templated=(
            "source_bucket_key",
            "dest_bucket_key",
            "source_bucket_name",
            "dest_bucket_name",
        ),
    )
    for name in ("source_bucket_key", "dest_bucket_key", "source_bucket_name", "dest_bucket_name"):
        kw.input(name)
    for name in ("source_version_id", "meta_data_directive", "kms_key_id", "kms_encryption_type"):
        kw.input(name)
    kw.input("acl_policy")
    actions = ["s3:GetObject", "s3:PutObject"]
    if kw.given("source_version_id"):
        actions.append("s3:GetObjectVersion")
    if kw.static("acl_policy") != NO_ACL:
        actions.append("s3:PutObjectAcl")
    if kw.given("kms_key_id"):
        actions += ["kms:Decrypt", "kms:GenerateDataKey"]
    text = """
        extra = {}
        acl = event.get("acl_policy") or "private"
        if acl != "no-acl":
            extra["ACL"] = acl
        if event.get("meta_data_directive"):
            extra["MetadataDirective"] = event["meta_data_directive"]
        kms_key, kms_type = event.get("kms_key_id"), event.get("kms_encryption_type")
        if bool(kms_key) != bool(kms_type):
            raise ValueError("kms_key_id and kms_encryption_type must both be given")
        if kms_key:
            extra["SSEKMSKeyId"] = kms_key
            extra["ServerSideEncryption"] = kms_type
        dest_bucket, dest_key = bucket_and_key(
            event.get("dest_bucket_name"), event["dest_bucket_key"]
        )
        source_bucket, source_key = bucket_and_key(
            event.get("source_bucket_name"), event["source_bucket_key"]
        )
        source = {
            "Bucket": source_bucket,
            "Key": source_key,
            "VersionId": event.get("source_version_id"),
        }
        s3.copy_object(Bucket=dest_bucket, Key=dest_key, CopySource=source, **extra)
        """
    operation = AwsOperation(
        summary="copies an S3 object",
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=tuple(actions)),),
        helpers=BUCKET_AND_KEY,
        imports=("import re", "from urllib.parse import urlsplit"),
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


@rule(
    f"{_S3}.S3CreateObjectOperator",
    examples=_examples(
        "S3CreateObjectOperator writes the text from a Lambda function",
        '    S3CreateObjectOperator(task_id="marker", s3_bucket="flags", s3_key="{{ ds }}/_SUCCESS",'
        ' data="done", replace=True)\n',
        "marker",
    ),
)
def create_object(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3CreateObjectOperator → a LambdaStep whose handler does what S3Hook.load_string does:
    the text encoded (`encoding`, default utf-8), gzip-compressed when `compression="gzip"`;
    unless `replace`, a HeadObject first and a failure when the key exists; then
    `upload_fileobj` with ExtraArgs ServerSideEncryption AES256 (`encrypt`) and `ACL`
    (`acl_policy`). Bucket, key (or an s3:// URL in `s3_key`) and `data` are templated (step
    inputs). Needs s3:PutObject, s3:GetObject and s3:ListBucket (the existence check),
    s3:PutObjectAcl with an ACL. Exact for text data, but for the shared AWS differences. Bytes
    data is manual: a LambdaStep's inputs are JSON and carry no bytes."""
    kw = Kwargs(task, ctx, templated=("s3_bucket", "s3_key", "data"))
    data = task.kwargs.get("data")
    if data is not None and data.kind not in ("literal", "template", "xcom", "param"):
        return manual(task, ctx, f"data `{data.source}` is not text the bridge can pass on")
    if data is not None and data.kind == "literal" and not isinstance(data.value, str):
        return manual(task, ctx, "bytes data: a LambdaStep's inputs are JSON and carry no bytes")
    for name in ("s3_bucket", "s3_key", "data", "encoding", "compression", "acl_policy"):
        kw.input(name)
    kw.input("replace", False)
    kw.input("encrypt", False)
    actions = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    if kw.given("acl_policy"):
        actions.append("s3:PutObjectAcl")
    differences = _connection_only(task)
    if data is not None and data.kind == "xcom":
        differences.append(
            "an XCom as data: Airflow writes bytes as bytes; the function receives JSON, so "
            "only text XComs are written the same"
        )
    text = """
        bucket, key = bucket_and_key(event.get("s3_bucket"), event["s3_key"])
        data = str(event["data"]).encode(event.get("encoding") or "utf-8")
        compression = event.get("compression")
        if compression is not None and compression != "gzip":
            raise NotImplementedError(f"compression {compression!r}: only gzip is available")
        if compression == "gzip":
            data = gzip.compress(data)
        if not event["replace"] and object_exists(s3, bucket, key):
            raise ValueError(f"The key {key} already exists.")
        extra = {}
        if event["encrypt"]:
            extra["ServerSideEncryption"] = "AES256"
        if event.get("acl_policy"):
            extra["ACL"] = event["acl_policy"]
        s3.upload_fileobj(io.BytesIO(data), bucket, key, ExtraArgs=extra)
        """
    operation = AwsOperation(
        summary="writes text to an S3 object",
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=tuple(actions)),),
        helpers=BUCKET_AND_KEY + OBJECT_EXISTS,
        imports=(
            "import gzip",
            "import io",
            "import re",
            "from urllib.parse import urlsplit",
            *_CLIENT_ERROR,
        ),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


OBJECT_EXISTS = '''
def object_exists(s3, bucket, key):
    """Whether the object exists (S3Hook.check_for_key: HeadObject; 404 means no)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True
'''


@rule(
    f"{_S3}.S3DeleteObjectsOperator",
    examples=_examples(
        "S3DeleteObjectsOperator deletes every key under a prefix",
        '    S3DeleteObjectsOperator(task_id="clean", bucket="scratch", prefix="tmp/{{ ds }}/")\n',
        "clean",
    ),
)
def delete_objects(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3DeleteObjectsOperator → a LambdaStep: the `keys` given (a key or a list; an empty one
    does nothing), or the keys ListObjectsV2 finds under `prefix` last modified after
    `from_datetime` and at or before `to_datetime`; then DeleteObjects, 1,000 keys a request,
    failing on any error (S3Hook.delete_objects). All five arguments are templated (step
    inputs). Needs s3:ListBucket, s3:DeleteObject. Exact, but for the shared AWS differences;
    approximate with from/to datetimes, which the function reads as ISO 8601 text (Airflow's
    dateutil parser takes more forms; a datetime object in the DAG file is manual)."""
    kw = Kwargs(task, ctx, templated=("keys", "bucket", "prefix", "from_datetime", "to_datetime"))
    differences = _connection_only(task)
    for name in ("bucket", "keys", "prefix", "from_datetime", "to_datetime"):
        kw.input(name)
    if any(n in task.kwargs for n in ("from_datetime", "to_datetime")):
        differences.append(
            "from_datetime / to_datetime are read as ISO 8601 text (Airflow's dateutil parser "
            "takes more forms)"
        )
    if "keys" not in task.kwargs and not any(
        n in task.kwargs for n in ("prefix", "from_datetime", "to_datetime")
    ):
        return manual(
            task, ctx, "neither keys nor prefix/from_datetime/to_datetime: Airflow refuses it"
        )
    text = """
        keys = event.get("keys")
        if isinstance(keys, (list, str)) and not keys:
            return {}
        if keys is None:
            since = parse_time(event.get("from_datetime"))
            until = parse_time(event.get("to_datetime"))
            keys = [
                item["Key"]
                for item in list_objects(s3, event["bucket"], event.get("prefix"))
                if (since is None or item["LastModified"] > since)
                and (until is None or item["LastModified"] <= until)
            ]
        if keys:
            delete_keys(s3, event["bucket"], keys)
        """
    operation = AwsOperation(
        summary="deletes S3 objects",
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=("s3:ListBucket", "s3:DeleteObject")),),
        helpers=LIST_OBJECTS + DELETE_KEYS + PARSE_TIME,
        imports=("import datetime", "import fnmatch"),
        timeout=900,
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


# ---- listing -------------------------------------------------------------------------------


@rule(
    f"{_S3}.S3ListOperator",
    examples=_examples(
        "S3ListOperator returns the keys as the step's output",
        '    S3ListOperator(task_id="list_files", bucket="data", prefix="customers/", delimiter="/")\n',
        "list_files",
    ),
)
def list_keys(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3ListOperator → a LambdaStep listing keys as S3Hook.list_keys does: every page of
    ListObjectsV2 with `prefix` (up to its first `*` with `apply_wildcard`, then matched with
    fnmatch) and `delimiter`. The key list (the XCom) is the output `return_value` as JSON text.
    `bucket`, `prefix` and `delimiter` are templated (step inputs). Needs s3:ListBucket. Exact,
    but for the shared AWS differences and a downstream task reading the XCom."""
    kw = Kwargs(task, ctx, templated=("bucket", "prefix", "delimiter"))
    kw.input("bucket")
    kw.input("prefix", "")
    kw.input("delimiter", "")
    kw.input("apply_wildcard", False)
    text = """
        found = list_objects(
            s3, event["bucket"], event["prefix"], event["delimiter"], event["apply_wildcard"]
        )
        keys = [item["Key"] for item in found]
        """
    operation = AwsOperation(
        summary="lists the keys under an S3 prefix",
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=("s3:ListBucket",)),),
        outputs=(Output(name="return_value", value=AsJson(Var("keys"))),),
        helpers=LIST_OBJECTS,
        imports=("import fnmatch",),
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)


@rule(
    f"{_S3}.S3ListPrefixesOperator",
    examples=_examples(
        "S3ListPrefixesOperator returns the sub-prefixes as the step's output",
        '    S3ListPrefixesOperator(task_id="days", bucket="data", prefix="raw/", delimiter="/")\n',
        "days",
    ),
)
def list_prefixes(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3ListPrefixesOperator → a LambdaStep listing the CommonPrefixes of every page of
    ListObjectsV2 with `prefix` and `delimiter` (S3Hook.list_prefixes). The prefix list (the
    XCom) is the output `return_value` as JSON text. All three arguments are templated (step
    inputs). Needs s3:ListBucket. Exact, but for the shared AWS differences and a downstream
    task reading the XCom."""
    kw = Kwargs(task, ctx, templated=("bucket", "prefix", "delimiter"))
    kw.input("bucket")
    kw.input("prefix", "")
    kw.input("delimiter", "")
    text = """
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=event["bucket"],
            Prefix=event["prefix"] or "",
            Delimiter=event["delimiter"] or "",
        )
        prefixes = []
        for page in pages:
            prefixes.extend(item["Prefix"] for item in page.get("CommonPrefixes", []))
        """
    operation = AwsOperation(
        summary="lists the prefixes under an S3 prefix",
        inputs=kw.inputs,
        steps=(Code(text=text, services=("s3",), actions=("s3:ListBucket",)),),
        outputs=(Output(name="return_value", value=AsJson(Var("prefixes"))),),
    )
    return aws_translation(task, ctx, operation, _connection_only(task), kwargs=kw)
