"""What the configuration adds to every SageMaker operator step (bridge.emit.jobs.practices): the
configured role, AWS images of the session's region, the configured network and cost tags; and
LambdaSteps that name the functions `--upsert` creates instead of creating them while building.

Fast tests apply the practices to requests; the slow ones build definitions with the real SDK v3
under moto in eu-west-1 and check them field by field (compare_arguments, `bridge validate`).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from bridge.config import BridgeConfig, NetworkConfig, load_config
from bridge.emit.jobs.aws_images import ecr_image, framework_image
from bridge.emit.jobs.practices import (
    JobPractices,
    Network,
    PipelineRole,
    RegionalImage,
    apply_practices,
)
from bridge.emit.jobs.registry import compare_arguments, job_code, job_practices, request_view
from tests.test_sagemaker_jobs import CASES, IMAGE, MODEL_CONFIG, TAGS, TRAINING_VARIANT
from translators.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = Registry.default()
REGION = "eu-west-1"
PLATFORM_ROLE = "arn:aws:iam::111122223333:role/PlatformSageMaker"
SUBNETS = ["subnet-0aa", "subnet-0bb"]
GROUPS = ["sg-0cc"]
CONFIGURED_TAGS = {"team": "ml-platform", "cost-center": "cc-42"}
CONFIG = BridgeConfig(
    region=REGION,
    role=PLATFORM_ROLE,
    network=NetworkConfig(SUBNETS, GROUPS, True),
    tags=CONFIGURED_TAGS,
)
BRIDGE_TOML = f"""
region = "{REGION}"
role = "{PLATFORM_ROLE}"
tags = {{ team = "ml-platform", "cost-center" = "cc-42" }}

[network]
subnets = {json.dumps(SUBNETS)}
security_group_ids = {json.dumps(GROUPS)}
enable_network_isolation = true
"""
SKLEARN_US = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
HAS_SDK_TABLES = importlib.util.find_spec("sagemaker") is not None
needs_sdk_tables = pytest.mark.skipif(not HAS_SDK_TABLES, reason="the SageMaker SDK's tables")


def practices(task_id: str = "task", config: BridgeConfig = CONFIG) -> JobPractices:
    return job_practices(config, "dag", task_id)


def practiced(job: str, config: dict, p: JobPractices | None = None):
    request, _ = request_view(job, config)
    return apply_practices(job, request, practices() if p is None else p)


# ---------------------------------------------------------------------------------------------
# Fast: no SDK import.


def test_practices_follow_the_configuration():
    p = practices("train")
    assert p.role and p.regional_images and p.region == REGION
    assert p.network == Network(tuple(SUBNETS), tuple(GROUPS), True)
    assert p.tags == (
        ("airflow:dag_id", "dag"),
        ("airflow:task_id", "train"),
        ("cost-center", "cc-42"),
        ("team", "ml-platform"),
    )
    default = job_practices(BridgeConfig(), "dag", "train")
    assert not default.role and default.network is None
    assert default.tags == (("airflow:dag_id", "dag"), ("airflow:task_id", "train"))
    assert JobPractices.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert JobPractices.from_dict(None) == JobPractices()


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_practices_leave_the_request_as_the_operator_sends_it(name):
    job, config = CASES[name]
    request, _ = request_view(job, config)
    for p in (None, JobPractices()):
        out = apply_practices(job, request, p)
        assert out.request == request and not out.notes and not out.comments


def test_the_configured_role_replaces_the_dags_and_no_role_keeps_it():
    out = practiced("training", TRAINING_VARIANT)
    assert out.request["RoleArn"] == PipelineRole()
    assert any(n.startswith("RoleArn: runs with the configured role") for n in out.notes)
    assert any(TRAINING_VARIANT["RoleArn"] in c for c in out.comments)
    tuning = practiced("tuning", CASES["tuning"][1])
    assert tuning.request["TrainingJobDefinition"]["RoleArn"] == PipelineRole()
    model = practiced("model", MODEL_CONFIG)
    assert model.request["ExecutionRoleArn"] == PipelineRole()
    # Without a configured role the DAG's literal stays; a job without one keeps none.
    unconfigured = practiced("training", TRAINING_VARIANT, practices(config=BridgeConfig()))
    assert unconfigured.request["RoleArn"] == TRAINING_VARIANT["RoleArn"]
    no_role = {k: v for k, v in TRAINING_VARIANT.items() if k != "RoleArn"}
    assert "RoleArn" not in practiced("training", no_role).request
    # An endpoint config's own role is for inference components: left alone.
    endpoint_config = {**CASES["endpoint_config"][1], "ExecutionRoleArn": "arn:x"}
    assert practiced("endpoint_config", endpoint_config).request["ExecutionRoleArn"] == "arn:x"


@needs_sdk_tables
def test_aws_images_are_recognised_and_others_stay():
    assert framework_image(IMAGE) is not None
    assert (framework_image(IMAGE).framework, framework_image(IMAGE).version) == (
        "xgboost",
        "1.7-1",
    )
    assert framework_image(SKLEARN_US).framework == "sklearn"
    algorithm = framework_image("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1")
    assert (algorithm.framework, algorithm.version) == ("linear-learner", "1")
    # The same repository and tag in the user's own account, another tag, another registry,
    # a digest, a deep learning container (its tag depends on the instance type): not ours.
    for uri in (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-custom",
        "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "docker.io/library/python:3.11",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:" + "0" * 64,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0.0-gpu-py310",
        None,
    ):
        assert framework_image(uri) is None, uri


@needs_sdk_tables
def test_images_follow_the_session_region():
    out = practiced("training", TRAINING_VARIANT)
    image = out.request["AlgorithmSpecification"]["TrainingImage"]
    assert isinstance(image, RegionalImage)
    assert image.source == "framework_image('xgboost', '1.7-1', session.boto_region_name or REGION)"
    assert any("image of the pipeline's region, not us-east-1's" in n for n in out.notes)
    containers = practiced("model", CASES["model_containers"][1]).request["Containers"]
    assert all(isinstance(c["Image"], RegionalImage) for c in containers)
    register = practiced("register_model", CASES["register_model"][1]).request
    image = register["InferenceSpecification"]["Containers"][0]["Image"]
    assert isinstance(image, RegionalImage)
    # The user's own image in another region's registry stays, with a note.
    own = "123456789012.dkr.ecr.us-east-1.amazonaws.com/house-prices:3"
    config = {**TRAINING_VARIANT, "AlgorithmSpecification": {"TrainingImage": own}}
    out = practiced("training", config)
    assert out.request["AlgorithmSpecification"]["TrainingImage"] == own
    assert any(
        "us-east-1's registry but the pipeline's region is eu-west-1" in n for n in out.notes
    )
    # In the configured region: no note, still the session's region when built.
    same = practiced("training", TRAINING_VARIANT, practices(config=BridgeConfig()))
    assert not any("region" in n for n in same.notes)
    assert isinstance(same.request["AlgorithmSpecification"]["TrainingImage"], RegionalImage)


def _net(subnets=(), groups=(), isolation=False) -> JobPractices:
    return JobPractices(network=Network(tuple(subnets), tuple(groups), isolation))


def test_network_the_configuration_forces_what_it_sets():
    dag_vpc = {"SecurityGroupIds": ["sg-dag"], "Subnets": ["subnet-dag"]}
    both = practiced("training", TRAINING_VARIANT, _net(SUBNETS, GROUPS)).request
    assert both["VpcConfig"] == {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    assert both["EnableNetworkIsolation"] is True  # the DAG's, never switched off
    # Only groups configured: the DAG's subnets stay.
    groups_only = practiced(
        "training", {**TRAINING_VARIANT, "VpcConfig": dag_vpc}, _net(groups=GROUPS)
    ).request
    assert groups_only["VpcConfig"] == {"SecurityGroupIds": GROUPS, "Subnets": ["subnet-dag"]}
    # Only subnets, and the DAG has no VPC: no half VPC, a note instead.
    no_vpc = {k: v for k, v in TRAINING_VARIANT.items() if k != "VpcConfig"}
    out = practiced("training", no_vpc, _net(subnets=SUBNETS))
    assert "VpcConfig" not in out.request
    assert any("needs subnets and security groups" in n for n in out.notes)
    # Isolation switches on; processing keeps it under NetworkConfig, made when absent.
    processing = {k: v for k, v in CASES["processing_variant"][1].items() if k != "NetworkConfig"}
    out = practiced("processing", processing, _net(isolation=True))
    assert out.request["NetworkConfig"] == {"EnableNetworkIsolation": True}
    out = practiced("processing", processing, _net(SUBNETS, GROUPS))
    assert out.request["NetworkConfig"] == {
        "VpcConfig": {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    }
    # The tuner has no isolation parameter: a note; its VPC is the configured one.
    out = practiced("tuning", CASES["tuning"][1], _net(SUBNETS, GROUPS, True))
    definition = out.request["TrainingJobDefinition"]
    assert definition["VpcConfig"]["Subnets"] == SUBNETS
    assert "EnableNetworkIsolation" not in definition
    assert any("HyperparameterTuner has no parameter" in n for n in out.notes)
    # Transform jobs and endpoints run in their model's network.
    for name in ("transform_combined_1_transform", "endpoint_config", "endpoint"):
        job, config = CASES[name]
        out = practiced(job, config, _net(SUBNETS, GROUPS, True))
        assert "VpcConfig" not in out.request and "NetworkConfig" not in out.request, name


def test_tags_add_to_the_dags_own():
    out = practiced("training", TRAINING_VARIANT).request
    assert out["Tags"][: len(TAGS)] == TAGS
    assert {"Key": "airflow:task_id", "Value": "task"} in out["Tags"]
    assert {"Key": "cost-center", "Value": "cc-42"} in out["Tags"]
    # The DAG's value wins for a key it sets (SageMaker refuses a key twice).
    own = {**TRAINING_VARIANT, "Tags": [{"Key": "team", "Value": "dag-team"}]}
    tags = practiced("training", own).request["Tags"]
    assert [t["Value"] for t in tags if t["Key"] == "team"] == ["dag-team"]
    many = {**TRAINING_VARIANT, "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(48)]}
    out = practiced("training", many)
    assert len(out.request["Tags"]) == 50
    assert any("at most 50 tags" in n and "team" in n for n in out.notes)
    for name in ("endpoint", "endpoint_config", "tuning", "transform_combined_1_transform"):
        job, config = CASES[name]
        assert {"Key": "airflow:dag_id", "Value": "dag"} in practiced(job, config).request["Tags"]
    # ModelBuilder.register() takes no tags.
    assert "Tags" not in practiced("register_model", CASES["register_model"][1]).request


@needs_sdk_tables
def test_job_code_renders_the_practices_and_keeps_them_out_of_differences():
    code = job_code("training", TRAINING_VARIANT, "train", practices=practices("train"))
    assert code.differences == []
    assert "    role=role," in code.code
    assert "training_image=framework_image('xgboost', '1.7-1'," in code.code
    assert "from pipeline_support import framework_image" in code.imports
    assert "Tag(key='airflow:task_id', value='train')" in code.code
    assert code.code.startswith("# RoleArn: the configured role, not the DAG's arn:aws:iam::")
    assert len(code.notes) >= 3
    compile(code.source(), "<generated>", "exec")
    # A hostile role text stays inside its comment.
    hostile = {**TRAINING_VARIANT, "RoleArn": "arn\nimport os; os.system('x')"}
    code = job_code("training", hostile, "train", practices=practices("train"))
    assert "\nimport os" not in code.code
    compile(code.source(), "<generated>", "exec")


@needs_sdk_tables
def test_compare_holds_the_definition_to_the_practices():
    job, config = "training", copy.deepcopy(TRAINING_VARIANT)
    p = practices("train")
    expected = apply_practices(job, request_view(job, config)[0], p).request
    eu_image = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    arguments = json.loads(json.dumps(expected, default=lambda v: "placeholder"))
    arguments["RoleArn"] = PLATFORM_ROLE
    arguments["AlgorithmSpecification"]["TrainingImage"] = eu_image
    del arguments["TrainingJobName"]
    assert compare_arguments(job, config, arguments, practices=p) == []
    # Without the practices every deliberate change is a difference.
    found = {line.split(":")[0] for line in compare_arguments(job, config, arguments)}
    assert {"RoleArn", "AlgorithmSpecification.TrainingImage", "Tags"} <= found
    assert any(line.startswith("VpcConfig.Subnets") for line in found)
    # With them, anything else still is.
    arguments["AlgorithmSpecification"]["TrainingImage"] = eu_image.replace("1.7-1", "1.5-1")
    arguments["Tags"] = arguments["Tags"][:-1]
    assert [line.split(":")[0] for line in compare_arguments(job, config, arguments, None, p)] == [
        "AlgorithmSpecification.TrainingImage",
        "Tags",
    ]


# ---------------------------------------------------------------------------------------------
# Slow: the real SDK under moto, in eu-west-1.


def sdk_test(func):
    return pytest.mark.slow(pytest.mark.airflow(func))


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    """A moto-backed eu-west-1 PipelineSession; `build(name, job, config, practices)` exec's the
    job code (as pipeline.py would) and returns (code, definition step)."""
    settings = tmp_path_factory.mktemp("practices") / "config.yaml"
    settings.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(settings),
        }.items():
            mp.setenv(key, value)
        import boto3
        import moto

        with moto.mock_aws():
            boto3.client("s3", region_name=REGION).create_bucket(
                Bucket="practices", CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            from sagemaker.core.workflow.pipeline_context import PipelineSession
            from sagemaker.mlops import workflow

            session = PipelineSession(
                boto_session=boto3.Session(region_name=REGION), default_bucket="practices"
            )
            support = str(ROOT / "bridge" / "emit" / "templates")  # pipeline_support.py
            mp.syspath_prepend(support)

            def build(name, job, config, p):
                code = job_code(job, config, name, practices=p)
                namespace = {"session": session, "role": PLATFORM_ROLE, "REGION": REGION}
                exec(code.source(), namespace)
                step = getattr(workflow, code.step_class)(
                    name=name, step_args=namespace[f"{name}_args"]
                )
                pipeline = workflow.Pipeline(name=f"p-{name}".replace("_", "-"), steps=[step])
                pipeline.sagemaker_session = session
                (step_json,) = json.loads(pipeline.definition())["Steps"]
                return code, step_json

            yield {"build": build, "session": session, "boto3": boto3}
            sys.modules.pop("pipeline_support", None)


@pytest.fixture(scope="module")
def practiced_cases(sdk):
    return {
        name: (job, config, *sdk["build"](name, job, config, practices(name)))
        for name, (job, config) in CASES.items()
    }


@sdk_test
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_job_round_trips_with_the_practices(practiced_cases, name):
    job, config, code, step = practiced_cases[name]
    assert code.differences == []
    arguments = step["Arguments"]
    assert compare_arguments(job, config, arguments, practices=practices(name)) == []
    role = {"training": "RoleArn", "processing": "RoleArn", "model": "ExecutionRoleArn"}.get(job)
    if role:
        assert arguments[role] == PLATFORM_ROLE
    if job == "tuning":
        assert arguments["TrainingJobDefinition"]["RoleArn"] == PLATFORM_ROLE
    text = json.dumps(arguments)
    assert "dkr.ecr.us-east-1" not in text, "an AWS image stayed in us-east-1"
    if job != "register_model":
        tags = arguments.get("Tags", [])
        assert {"Key": "airflow:task_id", "Value": name} in tags
        assert {"Key": "cost-center", "Value": "cc-42"} in tags


@sdk_test
def test_network_lands_in_each_job(practiced_cases):
    vpc = {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    args = {name: step["Arguments"] for name, (_, _, _, step) in practiced_cases.items()}
    assert args["processing_variant"]["NetworkConfig"]["VpcConfig"] == vpc
    assert args["processing_variant"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert args["training_variant"]["VpcConfig"] == vpc
    assert args["training_variant"]["EnableNetworkIsolation"] is True
    assert args["model_no_environment_or_isolation"]["VpcConfig"] == vpc
    assert args["model_no_environment_or_isolation"]["EnableNetworkIsolation"] is True
    assert args["tuning"]["TrainingJobDefinition"]["VpcConfig"] == vpc


@sdk_test
def test_the_recogniser_agrees_with_retrieve(sdk):
    """Every image the recogniser knows is exactly what retrieve(framework, region, version)
    gives, in the URI's region and in others."""
    from sagemaker.core.image_uris import retrieve

    from bridge.emit.jobs.aws_images import _index, _tag

    checked = 0
    for repository, images in sorted(_index().items()):
        for _framework, version, config in images:
            tag = _tag(version, config)
            if tag is None:
                continue
            for region in ("us-east-1", REGION, "ap-southeast-2"):
                account = config["registries"].get(region)
                if account is None:
                    continue
                uri = f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"
                image = framework_image(uri)
                assert image is not None, uri
                assert retrieve(
                    framework=image.framework, region=region, version=image.version
                ) == (uri)
                checked += 1
    assert checked > 40  # xgboost, sklearn, the built-in algorithms... in three regions


@sdk_test
def test_sample_dag_with_a_configuration_end_to_end(sdk, tmp_path):
    """sample_dags/sagemaker_operators.py under a bridge.toml for eu-west-1: validated offline
    (us-east-1, the round trip with the manifest's practices), then built in eu-west-1."""
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders

    (tmp_path / "bridge.toml").write_text(BRIDGE_TOML)
    config = load_config(tmp_path / "bridge.toml")
    dag_file = ROOT / "sample_dags" / "sagemaker_operators.py"
    (outcome,) = translate_file(dag_file, REGISTRY, config, tmp_path / "out").dags
    folder = outcome.folder
    assert validate_folders([folder])[str(folder)] == {"ok": True, "problems": []}
    manifest = json.loads((folder / "manifest.json").read_text())
    for task in ("preprocess", "train_model", "create_model"):
        notes = " | ".join(manifest["tasks"][task]["notes"])
        assert "configured role" in notes and "pipeline's region" in notes, task

    module = _import_pipeline(folder / "pipeline.py")
    definition = json.loads(module.get_pipeline(session=sdk["session"]).definition())
    steps = {s["Name"]: s["Arguments"] for s in definition["Steps"]}
    from sagemaker.core.image_uris import retrieve

    sklearn = retrieve(framework="sklearn", region=REGION, version="1.2-1")
    xgboost = retrieve(framework="xgboost", region=REGION, version="1.7-1")
    assert ".dkr.ecr.eu-west-1." in sklearn and ".dkr.ecr.eu-west-1." in xgboost
    assert steps["preprocess"]["AppSpecification"]["ImageUri"] == sklearn
    assert steps["train_model"]["AlgorithmSpecification"]["TrainingImage"] == xgboost
    assert steps["create_model"]["PrimaryContainer"]["Image"] == xgboost
    vpc = {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    assert steps["preprocess"]["NetworkConfig"]["VpcConfig"] == vpc
    assert steps["train_model"]["VpcConfig"] == vpc
    assert steps["create_model"]["VpcConfig"] == vpc
    for name in ("preprocess", "train_model", "create_model"):
        role = "ExecutionRoleArn" if name == "create_model" else "RoleArn"
        assert steps[name][role] == PLATFORM_ROLE
    for name, arguments in steps.items():
        tags = {t["Key"]: t["Value"] for t in arguments["Tags"]}
        assert tags["airflow:dag_id"] == "sagemaker_operators"
        assert tags["airflow:task_id"] == name
        assert tags["team"] == "ml-platform" and tags["cost-center"] == "cc-42"
        assert tags["project"] == "airflow-sagemaker-bridge"  # the DAG's own
    # The manifest's practices are what makes the round trip pass (configs without templates).
    for name in ("preprocess", "train_model"):
        job = manifest["steps"][name]["job"]
        recorded = JobPractices.from_dict(job["practices"])
        assert recorded == job_practices(config, "sagemaker_operators", name)
        assert compare_arguments(job["job"], job["config"], steps[name], None, recorded) == []
        strict = {
            line.split(":")[0] for line in compare_arguments(job["job"], job["config"], steps[name])
        }
        assert {"RoleArn", "Tags"} <= strict, strict


TRIGGER_DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
with DAG("parent", schedule=None):
    TriggerDagRunOperator(task_id="kick", trigger_dag_id="child", conf={"day": "{{ ds }}"})
"""


@sdk_test
def test_created_lambda_functions_are_named_not_created_while_building(sdk, tmp_path):
    from bridge.emit.codegen_aws import lambda_function_name
    from bridge.emit.translate_files import translate_file

    path = tmp_path / "parent.py"
    path.write_text(TRIGGER_DAG)
    (outcome,) = translate_file(path, REGISTRY, BridgeConfig(), tmp_path / "out").dags
    folder = outcome.folder
    module = _import_pipeline(folder / "pipeline.py")
    lambdas = sdk["boto3"].client("lambda", region_name=REGION)
    definition = json.loads(module.get_pipeline(session=sdk["session"]).definition())
    assert lambdas.list_functions()["Functions"] == []  # nothing created by building
    (step,) = [s for s in definition["Steps"] if s["Type"] == "Lambda"]
    name = lambda_function_name(outcome.pipeline.name, step["Name"])
    account = sdk["session"].account_id()
    assert step["FunctionArn"] == f"arn:aws:lambda:{REGION}:{account}:function:{name}"
    (function,) = module.FUNCTIONS.values()
    assert (function.name, function.script, function.handler) == (
        name,
        "_trigger_kick.py",
        "_trigger_kick.handler",
    )
    assert (folder / "steps" / function.script).is_file()
    # `bridge run` finds the handler through the manifest, by step.
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["steps"][step["Name"]]["handler"] == function.handler


def _import_pipeline(path: Path):
    """pipeline.py as `python pipeline.py` imports it: its folder (pipeline_support.py) first."""
    sys.modules.pop("pipeline_support", None)
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"practices_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_ecr_image_parts():
    image = ecr_image(SKLEARN_US)
    assert (image.account, image.region, image.repository, image.tag) == (
        "683313688378",
        "us-east-1",
        "sagemaker-scikit-learn",
        "1.2-1-cpu-py3",
    )
    assert ecr_image("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1")
    assert ecr_image("not an image") is None and ecr_image(42) is None
