"""The IAM objects the policies are built from: where the pipeline is deployed (`Target`), what
the offline build stood in for it (`OfflineBuild`), statements and policy documents."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

VERSION = "2012-10-17"


SAGEMAKER = "sagemaker.amazonaws.com"


SCHEDULER = "scheduler.amazonaws.com"


LAMBDA = "lambda.amazonaws.com"


ANY_ACCOUNT = "*"


@dataclass(frozen=True)
class OfflineBuild:
    """What `bridge validate` stood in for AWS while it built the definition."""

    bucket: str  # the session's default bucket
    role: str  # the role passed to get_pipeline()
    account: str  # the account moto answers with
    region: str


@dataclass(frozen=True)
class Target:
    """Where the pipeline is deployed, as far as translate knows it."""

    pipeline: str
    region: str
    account: str  # 12 digits, or ANY_ACCOUNT when no ARN in the configuration names it
    role_arn: str  # the execution role: configured, or the name iam/README.md asks for
    bucket: str  # the session's default bucket (a wildcard when the account is unknown)

    @classmethod
    def of(cls, pipeline: str, region: str, role: str, bucket: str) -> Target:
        """From the pipeline's settings: `role` as configured (may be empty), `bucket` the
        configured one or empty for the session's default."""
        match = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):role/(.+)", role or "")
        account = match.group(1) if match else ANY_ACCOUNT
        role_arn = role if match else f"arn:aws:iam::{account}:role/{role_name(pipeline)}"
        default_bucket = f"sagemaker-{region}-{account}"
        return cls(pipeline, region, account, role_arn, bucket or default_bucket)

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


def role_name(pipeline: str, suffix: str = "execution") -> str:
    """`<pipeline>-<suffix>`, at most 64 characters (IAM's limit), stable for the pipeline."""
    name = f"{pipeline}-{suffix}"
    if len(name) <= 64:
        return name
    digest = hashlib.sha1(pipeline.encode()).hexdigest()[:8]
    return f"{pipeline[: 64 - len(suffix) - 10]}-{digest}-{suffix}"


@dataclass
class Statement:
    sid: str
    actions: list[str]
    resources: list[str]
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)
    effect: str = "Allow"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": sorted(set(self.actions)),
            "Resource": sorted(set(self.resources)),
        }
        if self.condition:
            body["Condition"] = self.condition
        return body


def policy(statements: Iterable[Statement]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [s.to_dict() for s in statements if s.resources]}


def trust_policy(services: Iterable[str], account: str) -> dict[str, Any]:
    """Who may assume the role: AWS services, for this account's resources only when the
    account is known (aws:SourceAccount guards against the confused deputy)."""
    statement: dict[str, Any] = {
        "Sid": "AssumedByServices",
        "Effect": "Allow",
        "Principal": {"Service": sorted(set(services))},
        "Action": "sts:AssumeRole",
    }
    if account != ANY_ACCOUNT:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
    return {"Version": VERSION, "Statement": [statement]}


def own_account(target: Target) -> dict[str, dict[str, Any]]:
    """With the account unknown, a resource named by a wildcard could be another account's."""
    if target.account != ANY_ACCOUNT:
        return {}
    return {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
