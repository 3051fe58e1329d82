"""iam/ in every output folder (bridge.emit.iam): least-privilege policies derived from the built
definition, linted with parliament, checked against what the definition uses."""

from __future__ import annotations

import fnmatch
import json
import re
import warnings
from pathlib import Path

import pytest

from bridge.config import BridgeConfig, NetworkConfig
from bridge.definition import all_steps
from bridge.emit.iam import Target, iam_documents, literal_start, s3_location, static_text
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import BUCKET, OFFLINE_BUILD, validate_folders
from tests.conftest import SAMPLE_DAGS
from translators.registry import Registry

pytestmark = pytest.mark.slow

# A DAG with a job of each kind the policies name, a hostile id, an existing and a created Lambda
# function, an EMR step, a run-time Variable (a secret) and a DAG key with an IAM wildcard.
KITCHEN = """
from datetime import datetime

from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
from airflow.providers.amazon.aws.operators.s3 import S3CopyObjectOperator
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTuningOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Variable

IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/my-xgb:latest"
TUNING = {
    "HyperParameterTuningJobName": "tune-{{ ds_nodash }}",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "rmse"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "9"}]
        },
    },
    "TrainingJobDefinition": {
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::111122223333:role/Tuner",
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://data-bucket/train/*.csv",
            "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://model-bucket/tuning/{{ ds }}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    },
}
STEP = {"Name": "s", "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://code/job.py"]}}


def use_variable():
    return Variable.get("threshold") + "x"


with DAG("kitchen 'sink'\\n${{ github.token }}", schedule="@daily", start_date=datetime(2024, 1, 1)):
    tune = SageMakerTuningOperator(task_id="tune", config=TUNING)
    notify = LambdaInvokeFunctionOperator(task_id="notify", function_name="notify-team")
    other = LambdaInvokeFunctionOperator(
        task_id="other", function_name="arn:aws:lambda:eu-west-1:444455556666:function:other"
    )
    copy = S3CopyObjectOperator(
        task_id="copy", source_bucket_key="s3://raw/in/{{ ds }}.csv",
        dest_bucket_key="s3://cooked/out/{{ ds }}.csv",
    )
    emr = EmrAddStepsOperator(task_id="emr", job_flow_id="j-ABC123", steps=[STEP])
    variable = PythonOperator(task_id="variable", python_callable=use_variable)
    tune >> notify >> other >> copy >> emr >> variable
"""

SAMPLES = ("sagemaker_operators.py", "ml_taskflow_pipeline.py", "file_handoff.py")
PINNED = BridgeConfig(
    role="arn:aws:iam::210987654321:role/Pipelines",
    network=NetworkConfig(
        subnets=["subnet-0a1b2c"], security_group_ids=["sg-0d1e2f"], enable_network_isolation=True
    ),
)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The samples and the kitchen DAG with the default configuration, and the kitchen DAG and
    one sample with a role, a Lambda role and a network pinned; validated once."""
    tmp = tmp_path_factory.mktemp("iam")
    (tmp / "kitchen.py").write_text(KITCHEN, encoding="utf-8")
    registry = Registry.default()
    found: dict[str, Path] = {}
    runs = [(BridgeConfig(), "default", [SAMPLE_DAGS / s for s in SAMPLES] + [tmp / "kitchen.py"])]
    runs.append((PINNED, "pinned", [tmp / "kitchen.py", SAMPLE_DAGS / "file_handoff.py"]))
    for config, label, paths in runs:
        for path in paths:
            for dag in translate_file(path, registry, config, tmp / label).dags:
                found[f"{label}:{path.stem}"] = dag.folder
    verdicts = validate_folders(list(found.values()))
    assert all(v["ok"] for v in verdicts.values()), verdicts
    return found


def documents(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((folder / "iam").glob("*.json"))}


def statements(document: dict, action: str) -> list[dict]:
    return [s for s in document["Statement"] if action in s["Action"] and s["Effect"] == "Allow"]


def allows(document: dict, action: str, arn: str) -> bool:
    """Whether some Allow statement for `action` names a resource matching `arn` (IAM's `*` and
    `?`; the ARNs here have no `[`)."""
    return any(
        fnmatch.fnmatchcase(arn, pattern)
        for s in statements(document, action)
        for pattern in s["Resource"]
    )


def test_every_policy_passes_parliament(folders):
    warnings.filterwarnings("ignore", module="parliament")
    from parliament import analyze_policy_string

    linted = 0
    for folder in folders.values():
        for name, document in documents(folder).items():
            if name.endswith("-trust.json"):
                continue  # parliament reads identity policies; trust policies: next test
            found = analyze_policy_string(json.dumps(document)).findings
            assert [(f.issue, f.detail) for f in found] == [], f"{folder.name}/iam/{name}"
            linted += 1
    assert linted >= 5 * len(folders)


def test_trust_policies_name_only_their_services(folders):
    for key, folder in folders.items():
        docs = documents(folder)
        for role, expected in (("execution", {"sagemaker.amazonaws.com"}), ("scheduler", None)):
            (statement,) = docs[f"{role}-role-trust.json"]["Statement"]
            assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
            services = set(statement["Principal"]["Service"])
            assert set(statement["Principal"]) == {"Service"}, key
            if role == "scheduler":
                assert services == {"scheduler.amazonaws.com"}
            else:
                assert expected <= services <= expected | {"lambda.amazonaws.com"}, key
            pinned = key.startswith("pinned:")
            condition = statement.get("Condition", {}).get("StringEquals", {})
            assert condition == ({"aws:SourceAccount": "210987654321"} if pinned else {}), key


def _job_values(definition: dict):
    """(step, key path, value) of every job step's Arguments, read independently of the
    module under test."""

    def walk(value, path):
        if isinstance(value, dict) and not ({"Get", "Std:Join"} & set(value)):
            for k, v in value.items():
                yield from walk(v, (*path, k))
        elif isinstance(value, list):
            for v in value:
                yield from walk(v, path)
        else:
            yield path, value

    jobs = {"Processing", "Training", "Tuning", "Transform", "Model"}
    for name, step in all_steps(definition["Steps"]).items():
        if step["Type"] in jobs:
            for path, value in walk(step["Arguments"], ()):
                yield name, path, value


def _real_bucket(uri: str, default_bucket: str) -> str:
    return uri.replace(f"s3://{BUCKET}/", f"s3://{default_bucket}/", 1)


def test_execution_policy_covers_what_the_definition_uses(folders):
    for key, folder in folders.items():
        definition = json.loads((folder / "definition.json").read_text())
        policy = documents(folder)["execution-role-policy.json"]
        account = "210987654321" if key.startswith("pinned:") else "123456789012"
        default_bucket = "sagemaker-us-east-1-" + ("210987654321" if "pinned" in key else "*")
        checked = 0
        for step, path, value in _job_values(definition):
            if isinstance(value, dict) and "Std:Join" in value:  # its literal start
                join = value["Std:Join"]
                literal = []
                for part in join["Values"]:
                    if isinstance(part, dict):
                        literal.append("")  # the separator before the run-time part
                        break
                    literal.append(str(part))
                value = join["On"].join(literal)
            if not isinstance(value, str):
                continue
            if value.startswith("s3://"):
                uri = _real_bucket(value, default_bucket).split("*")[0]
                bucket, _, object_key = uri[5:].partition("/")
                if not object_key:
                    continue
                arn = f"arn:aws:s3:::{bucket}/{object_key}"
                if {"ProcessingOutputConfig", "OutputDataConfig", "TransformOutput"} & set(path):
                    written = arn.rstrip("/") + "/part-0"  # a job writes under its output
                    assert allows(policy, "s3:PutObject", written), (key, step, value)
                    assert allows(policy, "s3:GetObject", written), (key, step, value)
                else:
                    assert allows(policy, "s3:GetObject", arn), (key, step, value)
                checked += 1
            elif path[-1] in ("ImageUri", "TrainingImage", "Image"):
                match = re.match(r"(\d+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:]+)", value)
                repo = f"arn:aws:ecr:{match[2]}:{match[1]}:repository/{match[3]}"
                assert allows(policy, "ecr:BatchGetImage", repo), (key, step, value)
                checked += 1
        for step in all_steps(definition["Steps"]).values():
            if step["Type"] == "Lambda":
                # The offline build's account stands for the deployment's (pinned: the role's).
                arn = step["FunctionArn"].replace(":123456789012:", f":{account}:")
                assert allows(policy, "lambda:InvokeFunction", arn), key
                checked += 1
        assert checked, key


def test_grants_name_actions_and_resources(folders):
    star_ok = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
    for key, folder in folders.items():
        for name, document in documents(folder).items():
            if name.endswith("-trust.json"):
                continue
            for s in document["Statement"]:
                if s["Effect"] != "Allow":
                    continue
                assert all(":" in a and "*" not in a for a in s["Action"]), (key, name, s)
                if "*" in s["Resource"]:
                    assert set(s["Action"]) <= star_ok or all(
                        a.startswith("ec2:Describe") for a in s["Action"]
                    ), (key, name, s["Sid"])
                if "iam:PassRole" in s["Action"]:
                    assert set(s["Condition"]["StringEquals"]) == {"iam:PassedToService"}


def test_kitchen_policy_in_detail(folders):
    docs = documents(folders["default:kitchen"])
    policy = docs["execution-role-policy.json"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    # Job kinds present, on job ARNs of the region; nothing for kinds absent.
    actions = set(by_sid["RunPipelineJobs"]["Action"])
    assert {"sagemaker:CreateHyperParameterTuningJob", "sagemaker:CreateProcessingJob"} <= actions
    assert not any("Transform" in a or "Endpoint" in a for a in actions)
    # Itself and the role the tuning config names, to SageMaker only.
    assert by_sid["PassRoleToSagemaker"]["Resource"] == [
        "arn:aws:iam::*:role/kitchen-sink-github-token-execution",
        "arn:aws:iam::111122223333:role/Tuner",
    ]
    # A key with a wildcard from the DAG grants its literal start, not more.
    assert allows(policy, "s3:GetObject", "arn:aws:s3:::data-bucket/train/a.csv")
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::data-bucket/other/a.csv")
    # The tuning output is known up to the run-time date: its static start.
    assert allows(policy, "s3:PutObject", "arn:aws:s3:::model-bucket/tuning/2024-01-01/out/m")
    # The default bucket, account unknown: held to the caller's account.
    own = [
        s for s in policy["Statement"] if any("sagemaker-us-east-1-*" in r for r in s["Resource"])
    ]
    assert own and all(
        s["Condition"]["StringEquals"]["aws:ResourceAccount"] == "${aws:PrincipalAccount}"
        for s in own
    )
    # The created function runs with the execution role: its logs and S3 calls are here.
    assert (
        "lambda.amazonaws.com"
        in docs["execution-role-trust.json"]["Statement"][0]["Principal"]["Service"]
    )
    assert allows(policy, "s3:PutObjectAcl", "arn:aws:s3:::cooked/out/2024.csv")
    # The Variable read at run time: the secret's name, Secrets Manager and SSM.
    assert by_sid["ReadAirflowSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:*:secret:airflow/variables/threshold-??????"
    ]
    assert by_sid["AddEmrSteps"]["Resource"] == [
        "arn:aws:elasticmapreduce:us-east-1:*:cluster/j-ABC123"
    ]
    readme = (folders["default:kitchen"] / "iam" / "README.md").read_text()
    assert "would refuse `tune`, `variable`" in readme
    assert docs["scheduler-role-policy.json"]["Statement"][0]["Resource"] == [
        "arn:aws:sagemaker:us-east-1:*:pipeline/kitchen-sink-github-token"
    ]


def test_configured_role_pins_the_account_and_the_network(folders):
    folder = folders["pinned:kitchen"]
    docs = documents(folder)
    policy = docs["execution-role-policy.json"]
    text = json.dumps(policy)
    assert ":*:" not in text.replace("arn:aws:iam::*", "")  # every ARN in one account...
    assert "210987654321" in text
    assert allows(policy, "iam:PassRole", "arn:aws:iam::210987654321:role/Pipelines")
    assert allows(
        policy,
        "s3:GetObject",
        "arn:aws:s3:::sagemaker-us-east-1-210987654321/kitchen-sink-github-token/code/x.py",
    )
    # Jobs in the configured subnet and group: their network interfaces there only.
    assert allows(
        policy,
        "ec2:CreateNetworkInterface",
        "arn:aws:ec2:us-east-1:210987654321:subnet/subnet-0a1b2c",
    )
    assert not allows(
        policy,
        "ec2:CreateNetworkInterface",
        "arn:aws:ec2:us-east-1:210987654321:subnet/subnet-other",
    )
    # Created functions run with the execution role (no `lambda_role`): Lambda assumes it.
    assert "lambda.amazonaws.com" in json.dumps(docs["execution-role-trust.json"])
    readme = (folders["pinned:file_handoff"] / "iam" / "README.md").read_text()
    assert "`deny-jobs-outside-vpc.json`: every job step meets it." in readme
    assert "`deny-jobs-without-network-isolation.json`: every job step meets it." in readme


def test_created_functions_with_their_own_role(folders):
    """With `lambda_role` configured the created functions' grants go to lambda-role-*.json,
    and the deploy role may pass that role to Lambda."""
    folder = folders["default:kitchen"]
    definition = json.loads((folder / "definition.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    target = Target.of(manifest["pipeline"]["name"], "us-east-1", "", "")
    functions_role = "arn:aws:iam::123456789012:role/PipelineFunctions"
    docs, found = iam_documents(
        definition, manifest, target, OFFLINE_BUILD, lambda arn: functions_role
    )
    assert "lambda.amazonaws.com" not in json.dumps(docs["execution-role-trust.json"])
    assert "Function1Objects" not in json.dumps(docs["execution-role-policy.json"])
    assert allows(docs["lambda-role-policy.json"], "s3:GetObject", "arn:aws:s3:::raw/in/d.csv")
    assert allows(docs["deploy-role-policy.json"], "iam:PassRole", functions_role)
    assert found.lambda_roles == [functions_role]


def test_guard_rails_deny_jobs_that_do_not_say():
    from bridge.emit.iam import guard_rail_policies

    vpc, isolation = guard_rail_policies().values()
    assert [s["Condition"] for s in vpc["Statement"]] == [
        {"Null": {"sagemaker:VpcSubnets": "true"}},
        {"Null": {"sagemaker:VpcSecurityGroupIds": "true"}},
    ]
    assert isolation["Statement"][0]["Condition"] == {
        "BoolIfExists": {"sagemaker:NetworkIsolation": "false"}
    }
    for document in (vpc, isolation):
        assert all(s["Effect"] == "Deny" for s in document["Statement"])
        assert "sagemaker:CreateProcessingJob" in document["Statement"][0]["Action"]


@pytest.mark.parametrize(
    ("uri", "complete", "write", "expected"),
    [
        ("s3://b/raw/day.csv", True, False, ("b", "raw/day.csv")),
        ("s3://b/processed/train", True, True, ("b", "processed/train/")),
        ("s3://b/data/*.csv", True, False, ("b", "data/")),
        ("s3://b/${aws:username}/x", True, False, ("b", "")),
        ("s3://b/pipe/", False, True, ("b", "pipe/")),
        ("s3://b?x/y", True, False, None),
        ("s3://", False, False, None),
        ("https://b/x", True, False, None),
    ],
)
def test_s3_location_keeps_only_literal_starts(uri, complete, write, expected):
    location = s3_location(uri, complete, write)
    assert (location and (location.bucket, location.prefix)) == expected


def test_static_text_of_pipeline_expressions():
    join = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3://b", "p", {"Get": "Execution.PipelineExecutionId"}, "x"],
        }
    }
    assert static_text(join, {}) == ("s3://b/p/", False)
    assert static_text({"Get": "Parameters.input"}, {"input": "s3://b/in"}) == ("s3://b/in", True)
    assert static_text({"Get": "Parameters.day"}, {"day": "2024"}) == ("", False)
    assert literal_start("a*b") == ("a", True) and literal_start("ab") == ("ab", False)
