"""The other roles and the guard rails: the scheduler role, the deploy role, and the deny
policies for jobs outside a VPC or without network isolation."""

from __future__ import annotations

from typing import Any

from bridge.emit.iam.functions import CreatedFunction
from bridge.emit.iam.model import (
    LAMBDA,
    SAGEMAKER,
    SCHEDULER,
    Statement,
    Target,
    own_account,
    policy,
    role_name,
)
from bridge.emit.iam.values import literal_start, vpc_ids

# Guard rails: the Create* actions whose requests carry the condition keys (the service
# authorization reference; CreateTransformJob has no sagemaker:NetworkIsolation, a transform
# job takes it from its model).
VPC_GUARDED = (
    "CreateAutoMLJob",
    "CreateAutoMLJobV2",
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateProcessingJob",
    "CreateTrainingJob",
)


ISOLATION_GUARDED = (
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateProcessingJob",
    "CreateTrainingJob",
)


def guard_rail_policies() -> dict[str, dict[str, Any]]:
    """Deny creating SageMaker jobs outside a VPC, or without network isolation. An absent
    key denies too (`Null`, `BoolIfExists`): a request that does not say is refused."""
    vpc = [f"sagemaker:{a}" for a in VPC_GUARDED]
    isolated = [f"sagemaker:{a}" for a in ISOLATION_GUARDED]
    return {
        "deny-jobs-outside-vpc.json": policy(
            [
                Statement(
                    "DenyJobsWithoutSubnets",
                    vpc,
                    ["*"],
                    {"Null": {"sagemaker:VpcSubnets": "true"}},
                    "Deny",
                ),
                Statement(
                    "DenyJobsWithoutSecurityGroups",
                    vpc,
                    ["*"],
                    {"Null": {"sagemaker:VpcSecurityGroupIds": "true"}},
                    "Deny",
                ),
            ]
        ),
        "deny-jobs-without-network-isolation.json": policy(
            [
                Statement(
                    "DenyJobsWithoutNetworkIsolation",
                    isolated,
                    ["*"],
                    {"BoolIfExists": {"sagemaker:NetworkIsolation": "false"}},
                    "Deny",
                )
            ]
        ),
    }


def guard_rail_status(steps: dict[str, dict]) -> dict[str, list[str]]:
    """The job steps each guard rail would refuse as the pipeline stands."""
    outside, exposed = [], []
    for name, step in sorted(steps.items()):
        kind, args = step.get("Type"), step.get("Arguments") or {}
        if kind == "Tuning":
            args = args.get("TrainingJobDefinition") or {}
        if kind in ("Processing", "Training", "Tuning", "Model"):
            subnets, groups = vpc_ids(args)
            if not (subnets and groups):
                outside.append(name)
            isolation = (args.get("NetworkConfig") or {}).get("EnableNetworkIsolation")
            if not (isolation or args.get("EnableNetworkIsolation")):
                exposed.append(name)
    return {
        "deny-jobs-outside-vpc.json": outside,
        "deny-jobs-without-network-isolation.json": exposed,
    }


def pipeline_arns(target: Target) -> list[str]:
    """The pipeline's ARN (SageMaker writes pipeline names in lower case in ARNs)."""
    names = sorted({target.pipeline, target.pipeline.lower()})
    return [target.arn("sagemaker", f"pipeline/{n}") for n in names]


def scheduler_policy(target: Target) -> dict[str, Any]:
    """EventBridge Scheduler starting this pipeline, and nothing else."""
    return policy(
        [
            Statement(
                "StartThisPipeline", ["sagemaker:StartPipelineExecution"], pipeline_arns(target)
            )
        ]
    )


def deploy_policy(target: Target, functions: list[CreatedFunction]) -> dict[str, Any]:
    """The role the deploy workflow assumes for `python pipeline.py --upsert`: create or update
    this pipeline and its schedule, upload its code under `<bucket>/<pipeline>/`, create or
    update the Lambda functions it creates, and pass the roles they run with."""
    prefix = f"arn:aws:s3:::{target.bucket}/{target.pipeline}/*"
    bucket_condition = own_account(target) if "*" in target.bucket else {}
    scheduler_role = f"arn:aws:iam::{target.account}:role/{role_name(target.pipeline, 'scheduler')}"
    statements = [
        Statement(
            "UpsertPipeline",
            [
                "sagemaker:AddTags",
                "sagemaker:CreatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:UpdatePipeline",
            ],
            pipeline_arns(target),
        ),
        Statement("UploadCode", ["s3:GetObject", "s3:PutObject"], [prefix], dict(bucket_condition)),
        Statement(
            "FindBucket",  # the SDK checks its default bucket exists (HeadBucket)
            ["s3:ListBucket"],
            [f"arn:aws:s3:::{target.bucket}"],
            dict(bucket_condition),
        ),
        Statement(
            "PassExecutionRole",
            ["iam:PassRole"],
            [target.role_arn],
            {"StringEquals": {"iam:PassedToService": SAGEMAKER}},
        ),
        Statement(
            "UpsertSchedule",
            ["scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule"],
            [target.arn("scheduler", f"schedule/default/{target.pipeline}-*")],
        ),
        Statement(
            "PassSchedulerRole",
            ["iam:PassRole"],
            [scheduler_role],
            {"StringEquals": {"iam:PassedToService": SCHEDULER}},
        ),
    ]
    if functions:
        names = sorted({literal_start(f.name)[0] for f in functions})
        roles = sorted({f.role for f in functions})
        statements += [
            Statement(
                "UpsertFunctions",
                ["lambda:CreateFunction", "lambda:UpdateFunctionCode"],
                [target.arn("lambda", f"function:{n}") for n in names],
                own_account(target),
            ),
            Statement(
                "PassFunctionRoles",
                ["iam:PassRole"],
                roles,
                {"StringEquals": {"iam:PassedToService": LAMBDA}},
            ),
        ]
    return policy(statements)
