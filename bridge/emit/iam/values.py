"""What a built definition names, read for IAM: S3 locations (a pipeline expression by its
static start), ECR repositories, ARNs, a script step's call, VPC ids. IAM has no escape for `*`
and `?`: a name holding one (or `${`) is cut there, so it never widens a grant."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from bridge.definition import references
from bridge.emit.iam.model import ANY_ACCOUNT, OfflineBuild, Target

WILDCARDS = re.compile(r"[*?]|\$\{")


def literal_start(text: str) -> tuple[str, bool]:
    """The start of `text` up to an IAM wildcard or policy variable, and whether it was cut."""
    match = WILDCARDS.search(text)
    return (text[: match.start()], True) if match else (text, False)


def static_text(value: Any, parameters: dict[str, Any]) -> tuple[str, bool]:
    """A definition value as text: (text, complete). A Join stops at its first run-time part
    (the execution id, a step property, a parameter), giving the static start; a value that is
    a whole parameter is its default when that is an S3 URI."""
    if isinstance(value, str):
        return value, True
    if not isinstance(value, dict):
        return "", False
    get = value.get("Get")
    if isinstance(get, str) and get.startswith("Parameters."):
        default = parameters.get(get.split(".", 1)[1])
        if isinstance(default, str) and default.startswith("s3://"):
            return default, True
        return "", False
    join = value.get("Std:Join")
    if isinstance(join, dict):
        separator, text = join.get("On", ""), []
        for part in join.get("Values") or []:
            piece = part if isinstance(part, str | int | float) else None
            if piece is None:
                return separator.join(text) + (separator if text else ""), False
            text.append(str(piece))
        return separator.join(text), True
    return "", False


_EXPRESSIONS = {"Get", "Std:Join", "Std:JsonGet"}


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and bool(_EXPRESSIONS & set(value))


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) for every dict entry and list item below `value`; a pipeline
    expression (a Join, a Get) is one value, not walked into."""
    if isinstance(value, dict) and not is_expression(value):
        for key, item in value.items():
            yield (*path, key), item
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield path, item
            yield from walk(item, path)


# Keys of a Create*Job request holding an S3 location, and the parents that make it a write.
_S3_KEYS = {"S3Uri", "S3OutputPath", "ModelDataUrl", "S3ModelArtifacts"}


_WRITE_PARENTS = {
    "ProcessingOutputConfig",
    "OutputDataConfig",
    "TransformOutput",
    "CheckpointConfig",
    "DebugHookConfig",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "DebugRuleConfigurations",
    "ProfilerRuleConfigurations",
}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # a key prefix; the grant is prefix + "*"
    write: bool


def s3_location(uri: str, complete: bool, write: bool) -> S3Location | None:
    """An S3 URI as bucket + the key prefix it covers: a complete URI is an object or a prefix
    (SageMaker reads "S3Prefix" inputs and writes outputs under it), a cut one its start."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[5:].partition("/")
    key, cut = literal_start(key)
    bucket, bucket_cut = literal_start(bucket)
    if not bucket or bucket_cut or (not complete and "/" not in uri[5:]):
        return None  # no literal bucket: nothing to name
    if complete and not cut and write and key:
        key = key.rstrip("/") + "/"
    return S3Location(bucket, key, write)


def job_s3_locations(args: dict, parameters: dict[str, Any]) -> tuple[list[S3Location], list[str]]:
    """The S3 locations a job step's Arguments name, and the values that name none statically.
    Other `s3://` strings (container arguments, environment, hyperparameters) are read by the
    job's own code: granted for reading."""
    found, unresolved = [], []
    for path, value in walk(args):
        key = path[-1] if path else ""
        if key in _S3_KEYS and not isinstance(value, list):
            text, complete = static_text(value, parameters)
            location = s3_location(text, complete, write=bool(_WRITE_PARENTS & set(path)))
            if location is not None:
                found.append(location)
            elif not references(value):  # another step's output is granted with that step
                unresolved.append(".".join(path))
        elif isinstance(value, str) or is_expression(value):
            text, complete = static_text(value, parameters)
            location = s3_location(text, complete, write=False)
            if location is not None:
                found.append(location)
    return found, unresolved


def pipeline_location(location: S3Location, target: Target, build: OfflineBuild) -> S3Location:
    """A location in the offline build's bucket is in the target's. What the SDK uploads (code
    under content hashes) and the pipeline writes lives under `<bucket>/<pipeline>/`: one
    prefix, so that changing a step's code needs no new policy."""
    bucket = target.bucket if location.bucket == build.bucket else location.bucket
    own = f"{target.pipeline}/"
    prefix = own if bucket == target.bucket and location.prefix.startswith(own) else location.prefix
    return replace(location, bucket=bucket, prefix=prefix)


def covering(patterns: Iterable[str]) -> list[str]:
    """`prefix*` patterns without those another one covers (`a/b*` covers `a/b/c/*`)."""
    ordered = sorted(set(patterns))
    kept: list[str] = []
    for pattern in ordered:
        if not any(pattern.startswith(k[:-1]) for k in kept):
            kept.append(pattern)
    return kept


_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(?:[:@].*)?"
)


_IMAGE_KEYS = {"ImageUri", "TrainingImage", "Image"}


def image_repositories(
    args: dict, target: Target, build: OfflineBuild
) -> tuple[set[str], list[str]]:
    """The ECR repository ARNs of a step's images. An image the offline build resolved for its
    own region (a framework image) lives in another account per region: its repository is
    named by region and name alone when the pipeline is deployed to another region."""
    found, unresolved = set(), []
    for path, value in walk(args):
        if not path or path[-1] not in _IMAGE_KEYS or isinstance(value, list):
            continue
        if is_expression(value):
            unresolved.append(f"{'.'.join(path)} (known at run time only)")
            continue
        match = _IMAGE.fullmatch(str(value))
        if match is None:
            unresolved.append(f"{'.'.join(path)} = {value}")
            continue
        account, region = match["account"], match["region"]
        if region == build.region != target.region:
            account, region = ANY_ACCOUNT, target.region
        found.add(f"arn:aws:ecr:{region}:{account}:repository/{match['repository']}")
    return found, unresolved


def rehome(arn: str, target: Target, build: OfflineBuild) -> str:
    """An ARN the offline build made in its own account (a function looked up or created by
    name) in the target's region and account instead."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[4] == build.account and parts[3] == build.region:
        parts[3], parts[4] = target.region, target.account
    return ":".join(parts)


def script_call(args: dict) -> dict[str, Any]:
    """The literal call a script step passes its runtime: the `--call` JSON, in chunks of at
    most 256 characters (bridge.emit.codegen, bridge/run/step_runtime.py parse_args)."""
    arguments = (args.get("AppSpecification") or {}).get("ContainerArguments") or []
    text, i = "", 0
    while i < len(arguments) - 1:
        if arguments[i] == "--call" and isinstance(arguments[i + 1], str):
            text += arguments[i + 1]
            i += 2
        elif text:
            break
        else:
            i += 1
    try:
        call = json.loads(text) if text else {}
    except ValueError:
        return {}
    return call if isinstance(call, dict) else {}


def vpc_ids(args: dict) -> tuple[set[str], set[str]]:
    """Subnet and security group ids of a job's VpcConfig (Processing: under NetworkConfig)."""
    subnets, groups = set(), set()
    for path, value in walk(args):
        if len(path) >= 2 and path[-2] == "VpcConfig" and isinstance(value, list):
            target = subnets if path[-1] == "Subnets" else groups
            target.update(v for v in value if isinstance(v, str) and not WILDCARDS.search(v))
    return subnets, groups
