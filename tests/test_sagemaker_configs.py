"""SageMaker operator configs built in code: partial dicts, whole configs pushed by a setup task,
`wait_for_completion=False` followed by the job's sensor.

Fast tests translate snippets; the slow one emits a DAG in the style of the Amazon provider's
system test (configs built in a setup task, sensors after each job) and builds it offline with
the real SDK v3, checking each step's Arguments against the request (`bridge validate`).
"""

from __future__ import annotations

import json
import textwrap

import pytest

from bridge.config import BridgeConfig
from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from bridge.translate.expressions import Join, StepOutput, StepProperty
from translators.registry import Registry

REGISTRY = Registry.default()
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
HEAD = f"""
import os
from airflow.sdk import DAG, task, get_current_context
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerModelOperator, SageMakerProcessingOperator, SageMakerTrainingOperator,
    SageMakerTransformOperator,
)
from airflow.providers.amazon.aws.sensors.sagemaker import (
    SageMakerProcessingSensor, SageMakerTrainingSensor, SageMakerTransformSensor,
)
ROLE = {ROLE!r}
IMAGE = {IMAGE!r}
"""

# The system-test style: a setup task builds every request and pushes it; operators read them.
SETUP_DAG = (
    HEAD
    + """
@task
def set_up(env_id):
    bucket = f"{env_id}-bucket"
    model_name = f"{env_id}-model"
    training_job_name = f"{env_id}-train"
    resources = {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
    training = {
        "TrainingJobName": training_job_name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"k": str(3)},
        "InputDataConfig": [{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train",
                "S3DataDistributionType": "FullyReplicated",
            }},
        }],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": resources,
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    model = {
        "ModelName": model_name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/out/model.tar.gz"},
    }
    transform = {
        "TransformJobName": f"{env_id}-transform",
        "ModelName": model_name,
        "TransformInput": {"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/test"}}},
        "TransformOutput": {"S3OutputPath": f"s3://{bucket}/predictions"},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
    }
    ti = get_current_context()["ti"]
    ti.xcom_push(key="training_job_name", value=training_job_name)
    ti.xcom_push(key="training", value=training)
    ti.xcom_push(key="model", value=model)
    ti.xcom_push(key="transform", value=transform)

with DAG("setup_configs", schedule=None):
    setup = set_up(env_id=os.environ.get("ENV_ID", "dev"))
    train = SageMakerTrainingOperator(task_id="train", config=setup["training"])
    train.wait_for_completion = False
    await_train = SageMakerTrainingSensor(task_id="await_train", job_name=setup["training_job_name"])
    model = SageMakerModelOperator(task_id="model", config=setup["model"])
    score = SageMakerTransformOperator(task_id="score", config=setup["transform"])
    setup >> train >> await_train >> model >> score
"""
)


def translate(source: str):
    (dag,) = parse_source(source).dags
    return dag, translate_dag(dag, REGISTRY, BridgeConfig(), source, "dag.py")


def job_spec(pipeline, task_id, index=-1):
    return pipeline.steps[pipeline.outcomes[task_id].steps[index]].spec


def test_setup_task_configs_become_native_steps():
    dag, pipeline = translate(SETUP_DAG)
    fates = {t: (o.fate, o.fidelity) for t, o in pipeline.outcomes.items()}
    assert fates["train"] == ("step", "exact")
    assert fates["await_train"] == ("contracted", "exact")
    assert fates["model"] == ("step", "exact")
    assert fates["score"] == ("step", "exact")
    config = job_spec(pipeline, "train").config
    # Literal leaves stay literal, evaluated from the body (str(3), a shared dict, a constant).
    assert config["HyperParameters"] == {"k": "3"}
    assert config["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert config["RoleArn"] == ROLE
    # Run-time leaves read the setup task's XCom at their path.
    uri = config["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri == StepOutput(
        "set_up", "training", ".InputDataConfig[0].DataSource.S3DataSource.S3Uri"
    )
    # The transform's model is the one the model step creates: the same pushed value.
    assert job_spec(pipeline, "score").config["ModelName"] == StepProperty("model", "ModelName")
    raw = job_spec(pipeline, "train").raw_config
    assert raw["OutputDataConfig"]["S3OutputPath"] == "<run-time value>"


def test_without_its_sensor_wait_for_completion_false_is_a_difference():
    source = SETUP_DAG.replace(
        'await_train = SageMakerTrainingSensor(task_id="await_train", job_name=setup["training_job_name"])',
        'await_train = SageMakerTrainingSensor(task_id="await_train", job_name="someone-elses-job")',
    )
    _, pipeline = translate(source)
    train = pipeline.outcomes["train"]
    assert train.fidelity == "approximate"
    assert any("wait_for_completion=False" in d for d in train.differences)
    assert pipeline.outcomes["await_train"].fate == "placeholder"


@pytest.mark.parametrize(
    "job_name",
    [
        '"xgb-{{ ds_nodash }}"',
        "\"{{ ti.xcom_pull(task_ids='train')['Training']['TrainingJobName'] }}\"",
    ],
)
def test_sensor_on_the_same_name_or_the_operator_xcom_is_contracted(job_name):
    source = HEAD + textwrap.dedent(f"""
    with DAG("d"):
        train = SageMakerTrainingOperator(task_id="train", wait_for_completion=False, config={{
            "TrainingJobName": "xgb-{{{{ ds_nodash }}}}",
            "AlgorithmSpecification": {{"TrainingImage": IMAGE, "TrainingInputMode": "File"}},
            "RoleArn": ROLE,
            "OutputDataConfig": {{"S3OutputPath": "s3://b/out"}},
            "ResourceConfig": {{"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5}},
            "StoppingCondition": {{"MaxRuntimeInSeconds": 60}},
        }})
        train >> SageMakerTrainingSensor(task_id="wait", job_name={job_name})
    """)
    _, pipeline = translate(source)
    assert (pipeline.outcomes["train"].fidelity, pipeline.outcomes["train"].differences) == (
        "exact",
        [],
    )
    assert pipeline.outcomes["wait"].fate == "contracted"


def test_partial_dict_config_with_params_xcoms_and_an_unknown_field():
    source = HEAD + textwrap.dedent("""
    def bucket_uri(name):
        return f"s3://{name}/in"

    @task
    def pick_image():
        return IMAGE

    with DAG("d", params={"instance": "ml.m5.large"}):
        image = pick_image()
        SageMakerProcessingOperator(task_id="prep", config={
            "ProcessingJobName": "prep",
            "RoleArn": os.urandom(8).hex(),
            "AppSpecification": {"ImageUri": image},
            "ProcessingResources": {"ClusterConfig": {
                "InstanceCount": 1, "InstanceType": "{{ params.instance }}", "VolumeSizeInGB": 5}},
            "ProcessingInputs": [{"InputName": "raw", "S3Input": {
                "S3Uri": bucket_uri("data"), "LocalPath": "/opt/ml/processing/input",
                "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        })
    """)
    dag, pipeline = translate(source)
    assert dag.tasks["prep"].kwargs["config"].kind == "partial"
    outcome = pipeline.outcomes["prep"]
    assert outcome.fate == "step" and outcome.fidelity == "approximate"
    assert len(outcome.differences) == 1 and outcome.differences[0].startswith(
        "RoleArn: `os.urandom(8).hex()` is only known when Airflow runs the DAG"
    )
    config = job_spec(pipeline, "prep").config
    assert "RoleArn" not in config
    assert config["AppSpecification"]["ImageUri"] == StepOutput("pick_image")
    assert config["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://data/in"
    instance = config["ProcessingResources"]["ClusterConfig"]["InstanceType"]
    assert isinstance(instance, Join)


def test_partial_dicts_stay_source_text_for_params_and_op_kwargs():
    """Only operator kwargs become partial: DAG params and TaskFlow arguments keep their form."""
    source = HEAD + textwrap.dedent("""
    with DAG("d", params={"p": {"a": os.urandom(4)}}):
        @task
        def f(x):
            return x
        f({"a": os.urandom(4), "b": 1})
    """)
    (dag,) = parse_source(source).dags
    assert dag.params["p"]["default"]["kind"] == "expr"
    assert dag.tasks["f"].kwargs["op_kwargs"].value["x"]["kind"] == "expr"


@pytest.mark.slow
@pytest.mark.airflow
def test_setup_configs_build_and_round_trip_through_the_sdk(tmp_path):
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders

    path = tmp_path / "setup_configs.py"
    path.write_text(SETUP_DAG)
    (outcome,) = translate_file(path, REGISTRY, BridgeConfig(), tmp_path / "out").dags
    verdicts = validate_folders([outcome.folder])
    assert verdicts[str(outcome.folder)] == {"ok": True, "problems": []}
    definition = json.loads((outcome.folder / "definition.json").read_text())
    steps = {s["Name"]: s for s in definition["Steps"]}
    train = steps["train"]["Arguments"]
    assert train["HyperParameters"] == {"k": "3"}
    assert train["RoleArn"] == ROLE
    uri = train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri["Std:JsonGet"]["Path"] == "training.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
    assert steps["score"]["Arguments"]["ModelName"] == {"Get": "Steps.model.ModelName"}
    assert "await_train" not in steps


def test_a_run_time_role_and_an_experiment_leave_the_step_as_the_sdk_builds_it(tmp_path):
    """The SDK's job classes take the role as text and a step runs in the pipeline's experiment:
    a role pushed by a setup task and the job's own ExperimentConfig are named differences, and
    the definition still round-trips (the Amazon system tests push their role this way)."""
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders

    source = SETUP_DAG.replace(
        '"RoleArn": ROLE', '"RoleArn": get_current_context()["ti"].xcom_pull("role")'
    ).replace(
        '"HyperParameters": {"k": str(3)},',
        '"HyperParameters": {"k": str(3)}, "ExperimentConfig": {"ExperimentName": "churn"},',
    )
    assert source.count('xcom_pull("role")') >= 1 and "ExperimentName" in source
    path = tmp_path / "run_time_role.py"
    path.write_text(source)
    (outcome,) = translate_file(path, REGISTRY, BridgeConfig(), tmp_path / "out").dags
    verdicts = validate_folders([outcome.folder])
    assert verdicts[str(outcome.folder)] == {"ok": True, "problems": []}
    train = outcome.pipeline.outcomes["train"]
    assert any("RoleArn is only known at run time" in d for d in train.differences)
    assert any("ExperimentConfig.ExperimentName" in d for d in train.differences)
    definition = json.loads((outcome.folder / "definition.json").read_text())
    steps = {s["Name"]: s for s in definition["Steps"]}
    assert "ExperimentConfig" not in steps["train"]["Arguments"]
