"""The Lambda functions pipeline.py creates (an AWS API operator's handler): the role each runs
with, and its logs and S3 calls as statements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.definition import all_steps
from bridge.emit.iam.model import OfflineBuild, Statement, Target, own_account
from bridge.emit.iam.values import (
    S3Location,
    covering,
    job_s3_locations,
    literal_start,
    pipeline_location,
)

_LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


@dataclass(frozen=True)
class CreatedFunction:
    """A Lambda function pipeline.py creates for a step (an AWS API operator's handler): the
    role it runs with as built, the IAM actions its calls need (manifest `permissions`) and the
    S3 locations its arguments name."""

    step: str
    name: str
    role: str
    actions: tuple[str, ...]
    s3: tuple[S3Location, ...]


def function_roles(pipeline: Any) -> Callable[[str], str | None]:
    """The role each Lambda function the built pipeline creates runs with, read from its
    LambdaSteps (the SDK's `Lambda` objects), looked up by the function's ARN."""
    roles: dict[str, str] = {}
    pending = list(getattr(pipeline, "steps", None) or [])
    while pending:
        step = pending.pop()
        pending += list(getattr(step, "if_steps", None) or [])
        pending += list(getattr(step, "else_steps", None) or [])
        function = getattr(step, "lambda_func", None)
        name, role = (
            getattr(function, "function_name", None),
            getattr(function, "execution_role_arn", None),
        )
        if isinstance(name, str) and isinstance(role, str):
            roles[name] = role

    def role_of(arn: str) -> str | None:
        return roles.get(arn.rsplit(":function:", 1)[-1].split(":")[0])

    return role_of


def created_functions(
    definition: dict,
    manifest: dict,
    role_of: Callable[[str], str | None],
    target: Target,
    build: OfflineBuild,
) -> list[CreatedFunction]:
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters") or []}
    steps = all_steps(definition.get("Steps") or [])
    found = []
    for name, info in sorted((manifest.get("steps") or {}).items()):
        step = steps.get(name) or {}
        if not info.get("handler") or step.get("Type") != "Lambda":
            continue
        arn = str(step.get("FunctionArn", ""))
        locations, _ = job_s3_locations(step.get("Arguments") or {}, parameters)
        found.append(
            CreatedFunction(
                step=name,
                name=arn.rsplit(":function:", 1)[-1].split(":")[0],
                role=role_of(arn) or build.role,
                actions=tuple(info.get("permissions") or ()),
                s3=tuple(pipeline_location(s, target, build) for s in locations),
            )
        )
    return found


def function_statements(
    functions: list[CreatedFunction], target: Target
) -> tuple[list[Statement], list[str]]:
    """Each function's logs, and its S3 actions on the locations its arguments name. Other
    actions act on resources its call names at run time: listed, not granted."""
    statements, not_granted = [], []
    for i, fn in enumerate(functions, start=1):
        group = f"log-group:/aws/lambda/{literal_start(fn.name)[0]}"
        statements.append(
            Statement(
                f"Function{i}Logs",
                _LOG_ACTIONS,
                [target.arn("logs", group), target.arn("logs", f"{group}:log-stream:*")],
            )
        )
        s3 = [a for a in fn.actions if a.startswith("s3:")]
        buckets = sorted({s.bucket for s in fn.s3})
        objects = covering(f"arn:aws:s3:::{s.bucket}/{s.prefix}*" for s in fn.s3)
        object_actions = [a for a in s3 if a not in _BUCKET_ACTIONS]
        bucket_actions = [a for a in s3 if a in _BUCKET_ACTIONS]
        condition = own_account(target) if any("*" in b for b in buckets) else {}
        if object_actions:
            statements.append(
                Statement(f"Function{i}Objects", object_actions, objects, dict(condition))
            )
        if bucket_actions:
            statements.append(
                Statement(
                    f"Function{i}Buckets",
                    bucket_actions,
                    [f"arn:aws:s3:::{b}" for b in buckets],
                    dict(condition),
                )
            )
        if s3 and not fn.s3:
            not_granted.append(
                f"step `{fn.step}` (Lambda function `{fn.name}`): {', '.join(s3)} on S3 "
                "locations named at run time only"
            )
        others = [a for a in fn.actions if not a.startswith("s3:")]
        if others:
            not_granted.append(
                f"step `{fn.step}` (Lambda function `{fn.name}`): {', '.join(others)} on the "
                "resources its call names at run time: grant them on yours"
            )
    return statements, not_granted


_BUCKET_ACTIONS = {
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:GetBucketTagging",
    "s3:ListBucket",
    "s3:PutBucketTagging",
}
