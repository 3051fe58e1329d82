"""iam/ in an output folder: the policy documents by file name, and a README saying what each
is for, how to create the roles and what is not covered."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bridge.definition import all_steps
from bridge.emit.iam.execution import Derived, derive, execution_statements
from bridge.emit.iam.functions import created_functions, function_statements
from bridge.emit.iam.model import (
    ANY_ACCOUNT,
    LAMBDA,
    SAGEMAKER,
    SCHEDULER,
    OfflineBuild,
    Target,
    policy,
    role_name,
    trust_policy,
)
from bridge.emit.iam.roles import (
    deploy_policy,
    guard_rail_policies,
    guard_rail_status,
    scheduler_policy,
)
from bridge.quoting import md_code, md_text

IAM_DIR = "iam"


def iam_documents(
    definition: dict,
    manifest: dict,
    target: Target,
    build: OfflineBuild,
    role_of: Callable[[str], str | None] = lambda arn: None,
) -> tuple[dict[str, dict], Derived]:
    """Every policy document of iam/ by file name, and what was derived (for the README).
    Functions the pipeline creates run with the execution role unless `lambda_role` is
    configured: their grants join that role's policy, or lambda-role-*.json."""
    found = derive(definition, target, build)
    functions = created_functions(definition, manifest, role_of, target, build)
    as_execution = [f for f in functions if f.role == build.role]
    as_other = [f for f in functions if f.role != build.role]
    run_as = [replace(f, role=target.role_arn) for f in as_execution] + as_other
    own, not_granted = function_statements(as_execution, target)
    found.unresolved += not_granted
    documents = {
        "execution-role-policy.json": policy(execution_statements(found, target) + own),
        "execution-role-trust.json": trust_policy(
            [SAGEMAKER] + ([LAMBDA] if as_execution else []), target.account
        ),
        "scheduler-role-policy.json": scheduler_policy(target),
        "scheduler-role-trust.json": trust_policy([SCHEDULER], target.account),
        "deploy-role-policy.json": deploy_policy(target, run_as),
        **guard_rail_policies(),
    }
    if as_other:
        statements, not_granted = function_statements(as_other, target)
        found.unresolved += not_granted
        found.lambda_roles = sorted({f.role for f in as_other})
        documents["lambda-role-policy.json"] = policy(statements)
        documents["lambda-role-trust.json"] = trust_policy([LAMBDA], target.account)
    return documents, found


def write_iam(
    folder: Path,
    definition: dict,
    manifest: dict,
    target: Target,
    build: OfflineBuild,
    role_of: Callable[[str], str | None] = lambda arn: None,
) -> None:
    """iam/: the policy documents and a README saying what each is for."""
    documents, found = iam_documents(definition, manifest, target, build, role_of)
    out = folder / IAM_DIR
    out.mkdir(exist_ok=True)
    for name in sorted(documents):
        text = json.dumps(documents[name], indent=2) + "\n"
        (out / name).write_text(text, encoding="utf-8")
    status = guard_rail_status(all_steps(definition.get("Steps") or []))
    (out / "README.md").write_text(iam_readme(manifest, target, found, status), encoding="utf-8")


def iam_readme(manifest: dict, target: Target, found: Derived, status: dict[str, list[str]]) -> str:
    pipeline = target.pipeline
    scheduler = role_name(pipeline, "scheduler")
    account = (
        f"account {md_code(target.account)}"
        if target.account != ANY_ACCOUNT
        else "account `*` (no role ARN was configured: set `role` in [tool.bridge] to pin it; "
        "resources another account could own are limited to yours by `aws:ResourceAccount`)"
    )
    schedule = (manifest.get("pipeline") or {}).get("schedule") or {}
    lines = [
        f"# IAM for pipeline {md_code(pipeline)}",
        "",
        "Written by `bridge validate` from `definition.json`: run it again after changing the "
        "pipeline, and update the roles with these files.",
        f"Region {md_code(target.region)}, {account}.",
        "",
        "| file | what it is |",
        "|---|---|",
        f"| `execution-role-policy.json` | the execution role {md_code(target.role_name)} "
        "(SageMaker runs the pipeline and its jobs with it): only what the steps name |",
        "| `execution-role-trust.json` | its trust policy: SageMaker may assume it |",
        f"| `scheduler-role-policy.json` | the role EventBridge Scheduler starts the pipeline "
        f"with ({md_code(scheduler)}): `sagemaker:StartPipelineExecution` on this pipeline"
        + (" (it has a schedule)" if schedule.get("expression") else " (it has no schedule yet)")
        + " |",
        "| `scheduler-role-trust.json` | its trust policy: EventBridge Scheduler may assume it |",
        "| `deploy-role-policy.json` | the role the deploy workflow (deploy/) assumes: create "
        "or update this pipeline, its schedule and the Lambda functions it creates, upload its "
        "code, pass the roles above |",
        "| `deny-jobs-outside-vpc.json` | guard rail: no SageMaker job without VPC subnets "
        "and security groups |",
        "| `deny-jobs-without-network-isolation.json` | guard rail: no SageMaker job without "
        "network isolation (a job so isolated makes no AWS calls of its own) |",
    ]
    if found.lambda_roles:
        roles = ", ".join(md_code(r, table=True) for r in found.lambda_roles)
        lines += [
            f"| `lambda-role-policy.json` | the role the Lambda functions pipeline.py creates run "
            f"with ({roles}, `lambda_role` in [tool.bridge]): their logs and S3 calls |",
            "| `lambda-role-trust.json` | its trust policy: Lambda may assume it |",
        ]
    lines += [
        "",
        "The deploy role's trust policy depends on the CI: for GitHub Actions, your account's "
        "`token.actions.githubusercontent.com` OIDC provider with `sub` "
        "`repo:<owner>/<repo>:ref:refs/heads/main` and `aud` `sts.amazonaws.com`; for CodeBuild, "
        "`codebuild.amazonaws.com` (it is then the project's service role).",
        "",
        "Create the roles (AWS CLI, from this folder):",
        "",
        "```sh",
        f"aws iam create-role --role-name {target.role_name} "
        "--assume-role-policy-document file://iam/execution-role-trust.json",
        f"aws iam put-role-policy --role-name {target.role_name} --policy-name pipeline "
        "--policy-document file://iam/execution-role-policy.json",
        f"aws iam create-role --role-name {scheduler} "
        "--assume-role-policy-document file://iam/scheduler-role-trust.json",
        f"aws iam put-role-policy --role-name {scheduler} --policy-name start-pipeline "
        "--policy-document file://iam/scheduler-role-policy.json",
        "```",
        "",
        "Attach a guard rail to the execution role (or use it as a service control policy) "
        "once the pipeline meets it:",
        "",
    ]
    for name, refused in status.items():
        if refused:
            shown = ", ".join(md_code(s, table=True) for s in refused[:10])
            more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
            lines.append(f"- {md_code(name)}: would refuse {shown}{more} as translated.")
        else:
            lines.append(f"- {md_code(name)}: every job step meets it.")
    lines += ["", "## Not covered", ""]
    notes = found.unresolved + [
        "KMS keys: jobs reading or writing encrypted data need `kms:Decrypt` / "
        "`kms:GenerateDataKey` on their keys.",
        "S3 URIs a job's code receives in its arguments, environment or hyperparameters are "
        "granted for reading only.",
    ]
    lines += [f"- {md_text(n)}" for n in notes]
    return "\n".join(lines) + "\n"
