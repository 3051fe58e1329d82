"""Configs made by `sagemaker.workflow.airflow` (SDK v1/v2) from an estimator or processor built in
the DAG file: the parser keeps each SDK call (kind "sdk"), translators/sagemaker_sdk.py works
out the request the helper builds, and the SageMaker rule maps it to native steps.

Fast tests translate snippets and compare each request with the one the v2 helper returns,
written out here field by field; the slow one emits the MWAA-style DAG, builds the definition
offline with the real SDK v3 and checks the round trip (`bridge validate`) and the Arguments.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from bridge.config import BridgeConfig
from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from bridge.translate.expressions import StepOutput, StepProperty
from translators.registry import Registry

REGISTRY = Registry.default()
ROLE = "arn:aws:iam::123456789012:role/ChurnRole"
XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

# In the style of the MWAA customer-churn example (written for this test): an Estimator at
# module level, its training config and its deploy config handed to two operators.
CHURN_DAG = f"""
from datetime import datetime

import sagemaker
from airflow.models import DAG
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointOperator, SageMakerTrainingOperator,
)
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.workflow.airflow import deploy_config_from_estimator, training_config

ROLE = {ROLE!r}
BUCKET = "s3://churn-data"

image = sagemaker.image_uris.retrieve("xgboost", "us-east-1", "1.7-1")
churn = Estimator(
    image_uri=image,
    role=ROLE,
    instance_count=1,
    instance_type="ml.m5.xlarge",
    volume_size=5,
    max_run=3600,
    output_path=f"{{BUCKET}}/models",
    hyperparameters={{"max_depth": 5, "eta": 0.2, "objective": "binary:logistic"}},
)
churn.set_hyperparameters(num_round=100)

inputs = {{
    "train": TrainingInput(f"{{BUCKET}}/train", content_type="text/csv"),
    "validation": f"{{BUCKET}}/validation",
}}
train_config = training_config(estimator=churn, inputs=inputs, job_name="churn-{{{{ ds_nodash }}}}")
deploy_config = deploy_config_from_estimator(
    estimator=churn,
    task_id="train",
    task_type="training",
    initial_instance_count=1,
    instance_type="ml.m5.large",
    model_name="churn-model",
    endpoint_name="churn-endpoint",
)

with DAG("churn", start_date=datetime(2024, 1, 1), schedule=None):
    train = SageMakerTrainingOperator(task_id="train", config=train_config)
    deploy = SageMakerEndpointOperator(task_id="deploy", config=deploy_config)
    train >> deploy
"""

# What training_config returns for that estimator (v2: training_base_config + training_config).
EXPECTED_TRAINING = {
    "TrainingJobName": "churn-{{ ds_nodash }}",
    "AlgorithmSpecification": {"TrainingImage": XGB_IMAGE, "TrainingInputMode": "File"},
    "RoleArn": ROLE,
    "OutputDataConfig": {"S3OutputPath": "s3://churn-data/models"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://churn-data/train",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
        },
        {
            "ChannelName": "validation",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://churn-data/validation",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        },
    ],
    # str() of each value, the later set_hyperparameters call included
    "HyperParameters": {
        "max_depth": "5",
        "eta": "0.2",
        "objective": "binary:logistic",
        "num_round": "100",
    },
}


def translate(source: str, config: BridgeConfig | None = None):
    (dag,) = parse_source(source).dags
    return dag, translate_dag(dag, REGISTRY, config or BridgeConfig(), source, "dag.py")


def specs(pipeline, task_id):
    return [pipeline.steps[name].spec for name in pipeline.outcomes[task_id].steps]


def test_parser_keeps_sdk_calls_with_their_arguments():
    dag, _ = translate(CHURN_DAG)
    arg = dag.tasks["train"].kwargs["config"]
    assert arg.kind == "sdk"
    assert arg.value["sdk"] == "sagemaker.workflow.airflow.training_config"
    estimator = arg.value["kwargs"]["estimator"]
    assert estimator["kind"] == "sdk" and estimator["source"] == "churn"
    assert estimator["value"]["sdk"] == "sagemaker.estimator.Estimator"
    assert estimator["value"]["kwargs"]["instance_type"] == "ml.m5.xlarge"
    # the later mutation is recorded on the estimator, in order
    (call,) = estimator["value"]["calls"]
    assert call["sdk"] == "sagemaker.estimator.Estimator.set_hyperparameters"
    assert call["kwargs"] == {"num_round": 100}
    image = estimator["value"]["kwargs"]["image_uri"]["value"]
    assert image["sdk"] == "sagemaker.image_uris.retrieve"
    assert image["args"] == ["xgboost", "us-east-1", "1.7-1"]
    # a helper taking `task_id=` is not mistaken for an operator
    assert set(dag.tasks) == {"train", "deploy"}


def test_training_config_becomes_a_training_step_with_the_v2_request():
    _, pipeline = translate(CHURN_DAG)
    outcome = pipeline.outcomes["train"]
    assert (outcome.fate, outcome.fidelity, outcome.differences) == ("step", "exact", [])
    (spec,) = specs(pipeline, "train")
    assert spec.job == "training"
    config = dict(spec.config)
    assert str(config.pop("TrainingJobName")) != ""  # templated: the pipeline owns job names
    assert config == {k: v for k, v in EXPECTED_TRAINING.items() if k != "TrainingJobName"}


def test_deploy_config_from_estimator_becomes_model_endpoint_config_and_endpoint_steps():
    _, pipeline = translate(CHURN_DAG)
    outcome = pipeline.outcomes["deploy"]
    assert (outcome.fate, outcome.fidelity, outcome.differences) == ("step", "exact", [])
    model, endpoint_config, endpoint = specs(pipeline, "deploy")
    assert [model.job, endpoint_config.job, endpoint.job] == [
        "model",
        "endpoint_config",
        "endpoint",
    ]
    # Estimator.create_model(): the training image, the artefact of the training task, its role
    assert model.config == {
        "ModelName": "churn-model",
        "PrimaryContainer": {
            "Image": XGB_IMAGE,
            "Environment": {},
            "ModelDataUrl": StepOutput(
                "train", "return_value", ".Training.ModelArtifacts.S3ModelArtifacts"
            ),
        },
        "ExecutionRoleArn": ROLE,
    }
    assert endpoint_config.config == {
        "EndpointConfigName": "churn-model",
        "ProductionVariants": [
            {
                "ModelName": StepProperty("deploy", "ModelName", 0),
                "VariantName": "AllTraffic",
                "InitialVariantWeight": 1,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    }
    assert endpoint.config == {
        "EndpointName": "churn-endpoint",
        "EndpointConfigName": StepProperty("deploy", "EndpointConfigName", 1),
    }


def test_an_unknown_estimator_argument_is_a_named_difference():
    source = CHURN_DAG.replace("role=ROLE,", 'role=lookup_role("churn"),').replace(
        "import sagemaker\n", "import sagemaker\nfrom my_project import lookup_role\n"
    )
    _, pipeline = translate(source)
    train = pipeline.outcomes["train"]
    assert (train.fate, train.fidelity) == ("step", "approximate")
    assert train.differences == [
        'RoleArn: `lookup_role("churn")` is only known when Airflow runs the DAG; '
        "the step leaves this field out"
    ]
    assert "RoleArn" not in specs(pipeline, "train")[0].config
    deploy = pipeline.outcomes["deploy"]
    assert deploy.differences == [
        'Model.ExecutionRoleArn: `lookup_role("churn")` is only known when Airflow runs the '
        "DAG; the step leaves this field out"
    ]


def test_unread_estimator_arguments_and_splats_are_named():
    source = CHURN_DAG.replace(
        "    volume_size=5,\n", "    volume_size=5,\n    checkpoint_s3_uri=BUCKET,\n    **extra,\n"
    ).replace('BUCKET = "s3://churn-data"\n', 'BUCKET = "s3://churn-data"\nextra = load()\n')
    _, pipeline = translate(source)
    differences = pipeline.outcomes["train"].differences
    assert any("`**extra`" in d for d in differences)
    assert any("`checkpoint_s3_uri` is not read" in d for d in differences)
    assert pipeline.outcomes["train"].fidelity == "approximate"


def test_region_read_at_run_time_resolves_the_image_for_the_pipeline_region():
    source = CHURN_DAG.replace(
        'image = sagemaker.image_uris.retrieve("xgboost", "us-east-1", "1.7-1")',
        'image = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")',
    )
    _, pipeline = translate(source, BridgeConfig(region="eu-west-1"))
    (spec,) = specs(pipeline, "train")
    image = spec.config["AlgorithmSpecification"]["TrainingImage"]
    assert image == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert any("pipeline's region eu-west-1" in d for d in pipeline.outcomes["train"].differences)


PROCESSING_DAG = f"""
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.airflow import processing_config

prep = SKLearnProcessor(
    framework_version="1.2-1",
    role={ROLE!r},
    instance_type="ml.m5.large",
    instance_count=1,
    env={{"STAGE": "prod"}},
)
config = processing_config(
    prep,
    inputs=[ProcessingInput("s3://churn-data/raw", "/opt/ml/processing/input")],
    outputs=[ProcessingOutput(source="/opt/ml/processing/train", destination="s3://churn-data/train", output_name="train")],
    job_name="prep",
    container_arguments=["--split", "0.2"],
    container_entrypoint=["python3", "/opt/ml/processing/code/prep.py"],
)
with DAG("prep_dag"):
    SageMakerProcessingOperator(task_id="prep", config=config)
"""


def test_processing_config_becomes_a_processing_step_with_the_v2_request():
    _, pipeline = translate(PROCESSING_DAG)
    outcome = pipeline.outcomes["prep"]
    assert (outcome.fate, outcome.fidelity, outcome.differences) == ("step", "exact", [])
    (spec,) = specs(pipeline, "prep")
    assert spec.job == "processing"
    assert spec.config == {
        "ProcessingJobName": "prep",
        "ProcessingInputs": [
            {
                "InputName": "input-1",
                "AppManaged": False,
                "S3Input": {
                    "S3Uri": "s3://churn-data/raw",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                    "S3CompressionType": "None",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "train",
                    "AppManaged": False,
                    "S3Output": {
                        "S3Uri": "s3://churn-data/train",
                        "LocalPath": "/opt/ml/processing/train",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "AppSpecification": {
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ContainerArguments": ["--split", "0.2"],
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/prep.py"],
        },
        "Environment": {"STAGE": "prod"},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 30,
            }
        },
        "RoleArn": ROLE,
    }


def test_a_framework_estimator_sends_json_encoded_hyperparameters_and_script_mode_entries():
    source = textwrap.dedent(f"""
    from airflow.sdk import DAG
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
    from sagemaker.sklearn import SKLearn
    from sagemaker.workflow.airflow import training_config

    est = SKLearn("train.py", framework_version="1.2-1", source_dir="s3://code/churn.tar.gz",
                  role={ROLE!r}, instance_type="ml.m5.large", instance_count=1,
                  output_path="s3://churn-data/models", hyperparameters={{"alpha": 0.5}})
    with DAG("fw"):
        SageMakerTrainingOperator(task_id="fit", config=training_config(est, "s3://churn-data/train", job_name="fit-1"))
    """)
    _, pipeline = translate(source)
    (spec,) = specs(pipeline, "fit")
    assert spec.config["HyperParameters"] == {
        "alpha": "0.5",
        "sagemaker_submit_directory": '"s3://code/churn.tar.gz"',
        "sagemaker_program": '"train.py"',
        "sagemaker_enable_cloudwatch_metrics": "false",
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": '"fit-1"',
        "sagemaker_region": '"us-east-1"',
    }
    assert spec.config["AlgorithmSpecification"]["TrainingImage"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert spec.config["InputDataConfig"][0]["ChannelName"] == "training"
    assert pipeline.outcomes["fit"].fidelity == "exact"


def test_an_estimator_not_built_in_the_file_stays_a_placeholder_with_the_reason():
    source = textwrap.dedent("""
    from airflow.sdk import DAG
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
    from sagemaker.workflow.airflow import training_config
    from my_project import make_estimator

    with DAG("d"):
        SageMakerTrainingOperator(task_id="t", config=training_config(make_estimator(), "s3://b/x"))
    """)
    _, pipeline = translate(source)
    outcome = pipeline.outcomes["t"]
    assert outcome.fate == "placeholder"
    assert outcome.differences == ["the estimator `make_estimator()` is not built in the DAG file"]


@pytest.mark.slow
@pytest.mark.airflow
def test_churn_dag_builds_and_round_trips_through_the_sdk(tmp_path):
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders

    path = tmp_path / "churn.py"
    path.write_text(CHURN_DAG)
    (outcome,) = translate_file(path, REGISTRY, BridgeConfig(), tmp_path / "out").dags
    verdicts = validate_folders([outcome.folder])
    assert verdicts[str(outcome.folder)] == {"ok": True, "problems": []}
    definition = json.loads((outcome.folder / "definition.json").read_text())
    steps = {s["Name"]: s for s in definition["Steps"]}
    train = steps["train"]["Arguments"]
    for name in ("AlgorithmSpecification", "InputDataConfig", "HyperParameters"):
        assert train[name] == EXPECTED_TRAINING[name], name
    assert train["RoleArn"] == ROLE
    assert train["OutputDataConfig"]["S3OutputPath"] == "s3://churn-data/models"
    assert train["ResourceConfig"] == EXPECTED_TRAINING["ResourceConfig"]
    assert train["StoppingCondition"] == EXPECTED_TRAINING["StoppingCondition"]
    model = steps["deploy-model"]["Arguments"]
    assert model["PrimaryContainer"]["Image"] == XGB_IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == {
        "Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"
    }
    variant = steps["deploy-endpoint-config"]["Arguments"]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.m5.large"
    assert variant["ModelName"] == {"Get": "Steps.deploy-model.ModelName"}
    assert steps["deploy"]["Arguments"]["EndpointName"] == "churn-endpoint"


def test_an_unknown_data_location_becomes_a_pipeline_parameter():
    source = CHURN_DAG.replace(
        '"validation": f"{BUCKET}/validation",', '"validation": settings.VALIDATION_URI,'
    ).replace("import sagemaker\n", "import sagemaker\nimport settings\n")
    _, pipeline = translate(source)
    train = pipeline.outcomes["train"]
    assert (train.fate, train.fidelity) == ("step", "approximate")
    assert train.differences == [
        "InputDataConfig channel `validation`: `settings.VALIDATION_URI` is only known when "
        "Airflow runs the DAG; here it is a pipeline parameter to give when you start the "
        "pipeline"
    ]
    (spec,) = specs(pipeline, "train")
    uri = spec.config["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"]
    assert pipeline.parameters[uri.name].source == "dag_file"
