"""The execution role's grants: what the definition's steps use (`derive`), as statements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bridge.definition import all_steps
from bridge.emit.iam.model import (
    ANY_ACCOUNT,
    SAGEMAKER,
    OfflineBuild,
    Statement,
    Target,
    own_account,
)
from bridge.emit.iam.values import (
    WILDCARDS,
    S3Location,
    covering,
    image_repositories,
    job_s3_locations,
    literal_start,
    pipeline_location,
    rehome,
    script_call,
    vpc_ids,
    walk,
)


def s3_statements(locations: Iterable[S3Location], target: Target) -> list[Statement]:
    """Per bucket: GetObject on every location (outputs are read back), PutObject on outputs,
    ListBucket for its prefixes only (an "S3Prefix" input is listed). A bucket named with the
    unknown account's wildcard is held to the caller's account."""
    statements = []
    for i, bucket in enumerate(sorted({s.bucket for s in locations}), start=1):
        mine = sorted({s for s in locations if s.bucket == bucket}, key=lambda s: s.prefix)
        condition = own_account(target) if "*" in bucket else {}
        objects = covering(f"arn:aws:s3:::{bucket}/{s.prefix}*" for s in mine)
        written = covering(f"arn:aws:s3:::{bucket}/{s.prefix}*" for s in mine if s.write)
        statements += [
            Statement(f"ReadBucket{i}", ["s3:GetObject"], objects, dict(condition)),
            Statement(
                f"WriteBucket{i}",
                ["s3:AbortMultipartUpload", "s3:PutObject"],
                written,
                dict(condition),
            ),
            Statement(
                f"ListBucket{i}",
                ["s3:ListBucket"],
                [f"arn:aws:s3:::{bucket}"],
                {"StringLike": {"s3:prefix": covering(f"{s.prefix}*" for s in mine)}, **condition},
            ),
        ]
    return statements


def secret_statements(names: Iterable[str], target: Target) -> list[Statement]:
    """Secrets Manager (a secret's ARN ends in `-` and six random characters), else the SSM
    parameter `/<name>` (bridge/run/step_runtime.py fetch_secret)."""
    secrets, parameters = [], []
    for name in sorted(set(names)):
        literal, cut = literal_start(name.strip("/"))
        secrets.append(
            target.arn("secretsmanager", f"secret:{literal}" + ("*" if cut else "-??????"))
        )
        parameters.append(target.arn("ssm", f"parameter/{literal}" + ("*" if cut else "")))
    return [
        Statement("ReadAirflowSecrets", ["secretsmanager:GetSecretValue"], secrets),
        Statement("ReadAirflowParameters", ["ssm:GetParameter"], parameters),
    ]


def vpc_statements(subnets: set[str], groups: set[str], target: Target) -> list[Statement]:
    """What a job in a VPC needs: its network interfaces in the named subnets and groups."""
    if not (subnets or groups):
        return []
    interface = target.arn("ec2", "network-interface/*")
    return [
        Statement(
            "DescribeJobNetwork",
            [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            ["*"],  # Describe* calls take no resource
        ),
        Statement(
            "CreateJobNetworkInterfaces",
            ["ec2:CreateNetworkInterface"],
            [interface]
            + [target.arn("ec2", f"subnet/{s}") for s in subnets]
            + [target.arn("ec2", f"security-group/{g}") for g in groups],
        ),
        Statement(
            "ManageJobNetworkInterfaces",
            [
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            [interface],
        ),
    ]


@dataclass(frozen=True)
class JobKind:
    """What the pipeline role needs to run one kind of step: SageMaker actions on resource
    types of the region, and the log group its jobs write to."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    log_group: str | None = None
    metrics: bool = False  # training jobs publish algorithm metrics


JOB_KINDS = {
    "Processing": JobKind(
        ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob"),
        ("processing-job/*",),
        "/aws/sagemaker/ProcessingJobs",
    ),
    "Training": JobKind(
        ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"),
        ("training-job/*",),
        "/aws/sagemaker/TrainingJobs",
        metrics=True,
    ),
    "Tuning": JobKind(
        (
            "CreateHyperParameterTuningJob",
            "DescribeHyperParameterTuningJob",
            "StopHyperParameterTuningJob",
            "ListTrainingJobsForHyperParameterTuningJob",
            "DescribeTrainingJob",
        ),
        ("hyper-parameter-tuning-job/*", "training-job/*"),
        "/aws/sagemaker/TrainingJobs",
        metrics=True,
    ),
    "Transform": JobKind(
        ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob"),
        ("transform-job/*",),
        "/aws/sagemaker/TransformJobs",
    ),
    "Model": JobKind(("CreateModel", "DescribeModel"), ("model/*",)),
    "RegisterModel": JobKind(
        ("CreateModelPackage", "DescribeModelPackage"),
        ("model-package/*", "model-package-group/*"),
    ),
    "EndpointConfig": JobKind(
        ("CreateEndpointConfig", "DescribeEndpointConfig"), ("endpoint-config/*",)
    ),
    "Endpoint": JobKind(
        ("CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint"),
        ("endpoint/*", "endpoint-config/*"),
        "/aws/sagemaker/Endpoints",
    ),
}


@dataclass
class Derived:
    """What the definition's steps use, gathered once."""

    kinds: set[str] = field(default_factory=set)
    s3: list[S3Location] = field(default_factory=list)
    images: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    clusters: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    subnets: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    passed: dict[str, set[str]] = field(default_factory=dict)  # service -> role ARNs
    unresolved: list[str] = field(default_factory=list)  # what no statement covers, for README
    lambda_roles: list[str] = field(default_factory=list)  # roles created functions run with

    def pass_role(self, service: str, role: str) -> None:
        self.passed.setdefault(service, set()).add(role)


def derive(definition: dict, target: Target, build: OfflineBuild) -> Derived:
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters") or []}
    found = Derived()
    for name, step in sorted(all_steps(definition.get("Steps") or []).items()):
        kind, args = step.get("Type"), step.get("Arguments") or {}
        if kind in JOB_KINDS:
            found.kinds.add(kind)
            locations, unresolved = job_s3_locations(args, parameters)
            found.s3 += [pipeline_location(s, target, build) for s in locations]
            found.unresolved += [
                f"step `{name}`: S3 location `{u}` (run time only)" for u in unresolved
            ]
            images, odd = image_repositories(args, target, build)
            found.images |= images
            found.unresolved += [f"step `{name}`: image `{o}`: not a literal ECR URI" for o in odd]
            subnets, groups = vpc_ids(args)
            found.subnets |= subnets
            found.groups |= groups
            found.secrets |= set((script_call(args).get("secrets") or {}).values())
            for path, value in walk(args):
                if not path or path[-1] not in ("RoleArn", "ExecutionRoleArn"):
                    continue
                if isinstance(value, str):
                    role = target.role_arn if value == build.role else literal_start(value)[0]
                    found.pass_role(SAGEMAKER, role)
                else:
                    found.unresolved.append(f"step `{name}`: a role known at run time only")
        elif kind == "Lambda":
            arn, cut = literal_start(str(step.get("FunctionArn", "")))
            found.functions.add(rehome(arn, target, build) + ("*" if cut else ""))
        elif kind == "EMR":
            cluster = args.get("ClusterId")
            if isinstance(cluster, str) and not WILDCARDS.search(cluster):
                found.clusters.add(cluster)
            elif cluster is not None:
                found.clusters.add("*")
                found.unresolved.append(f"step `{name}`: EMR cluster id known at run time only")
            else:
                found.unresolved.append(
                    f"step `{name}`: creates its own EMR cluster (not covered: "
                    "elasticmapreduce:RunJobFlow and the cluster's roles)"
                )
            role = args.get("ExecutionRoleArn")
            if isinstance(role, str):
                found.pass_role("elasticmapreduce.amazonaws.com", literal_start(role)[0])
    found.pass_role(SAGEMAKER, target.role_arn)
    return found


def execution_statements(found: Derived, target: Target) -> list[Statement]:
    statements = []
    job_actions = sorted({f"sagemaker:{a}" for k in found.kinds for a in JOB_KINDS[k].actions})
    resources = sorted(
        {target.arn("sagemaker", r) for k in found.kinds for r in JOB_KINDS[k].resources}
    )
    statements.append(Statement("RunPipelineJobs", job_actions, resources))
    statements.append(
        Statement(
            "TagPipelineJobs",
            ["sagemaker:AddTags"],
            resources,
            {
                "StringEquals": {
                    "sagemaker:TaggingAction": [
                        a.split(":")[1] for a in job_actions if ":Create" in a
                    ]
                }
            },
        )
    )
    for service, roles in sorted(found.passed.items()):
        statements.append(
            Statement(
                "PassRoleTo" + service.split(".")[0].title().replace("-", ""),
                ["iam:PassRole"],
                sorted(roles),
                {"StringEquals": {"iam:PassedToService": service}},
            )
        )
    statements += s3_statements(found.s3, target)
    statements.append(
        Statement(
            "PullImages",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            sorted(found.images),
        )
    )
    if found.images:  # an ECR login: the call names no repository
        statements.append(Statement("LogInToEcr", ["ecr:GetAuthorizationToken"], ["*"]))
    groups = sorted({JOB_KINDS[k].log_group for k in found.kinds if JOB_KINDS[k].log_group})
    statements.append(
        Statement(
            "WriteJobLogs",
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            [target.arn("logs", f"log-group:{g}") for g in groups]
            + [target.arn("logs", f"log-group:{g}:log-stream:*") for g in groups],
        )
    )
    if any(JOB_KINDS[k].metrics for k in found.kinds):
        statements.append(
            Statement(
                "PublishTrainingMetrics",
                ["cloudwatch:PutMetricData"],
                ["*"],  # PutMetricData takes no resource: the namespace condition bounds it
                {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
    ours = sorted(f for f in found.functions if f":{ANY_ACCOUNT}:" in f)
    statements += [
        Statement(
            "InvokeFunctions", ["lambda:InvokeFunction"], sorted(found.functions - set(ours))
        ),
        Statement("InvokeOwnFunctions", ["lambda:InvokeFunction"], ours, own_account(target)),
    ]
    if found.clusters:
        statements.append(
            Statement(
                "AddEmrSteps",
                [
                    "elasticmapreduce:AddJobFlowSteps",
                    "elasticmapreduce:CancelSteps",
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:DescribeStep",
                ],
                [target.arn("elasticmapreduce", f"cluster/{c}") for c in sorted(found.clusters)],
            )
        )
        statements.append(
            Statement(
                "WatchEmrSteps",  # the rule SageMaker Pipelines keeps to hear of step states
                ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                [target.arn("events", "rule/SageMakerPipelineExecutionEMRStepStatusUpdateRule")],
            )
        )
    if found.secrets:
        statements += secret_statements(found.secrets, target)
    statements += vpc_statements(found.subnets, found.groups, target)
    return statements
