"""SageMaker operator configs -> SDK v3 step args whose definition Arguments equal the config.

The slow tests exec the generated code against a moto-backed PipelineSession, build a Pipeline
definition offline and compare its step Arguments with the operator config. All pipelines are
built once, in one module-scoped fixture (the SDK import alone takes seconds).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

from bridge.emit.jobs.registry import (
    JOBS,
    PIPELINE_VALUE,
    STEP_CLASSES,
    compare_arguments,
    job_code,
    owned_fields,
    request_view,
    sub_jobs,
)

ROOT = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
OTHER_ROLE = "arn:aws:iam::123456789012:role/OtherRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "s3://bridge-tests"
TAGS = [{"Key": "project", "Value": "bridge"}, {"Key": "team", "Value": "ml"}]


def sdk_test(func):
    """Needs the SageMaker SDK, moto and Airflow (the dev group) and builds pipelines: slow."""
    return pytest.mark.slow(pytest.mark.airflow(func))


def _sample_configs() -> dict[str, dict]:
    """The four literal configs of sample_dags/sagemaker_operators.py (imports only airflow)."""
    path = ROOT / "sample_dags" / "sagemaker_operators.py"
    spec = importlib.util.spec_from_file_location("sample_sagemaker_operators", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        "sample_processing": ("processing", module.PROCESSING_CONFIG),
        "sample_training": ("training", module.TRAINING_CONFIG),
        "sample_model": ("model", module.MODEL_CONFIG),
        "sample_transform": ("transform", module.TRANSFORM_CONFIG),
    }


def _channel(name: str, uri: str, **extra) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, **extra}},
    }


TRAINING_VARIANT = {
    "TrainingJobName": "variant-{{ ds_nodash }}",
    "RoleArn": ROLE,
    "AlgorithmSpecification": {
        "TrainingImage": IMAGE,
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "rmse=([0-9.]+)"}],
    },
    "HyperParameters": {"num_round": "50", "objective": "reg:squarederror"},
    "InputDataConfig": [
        {**_channel("train", f"{BUCKET}/train", S3DataDistributionType="ShardedByS3Key")},
        {
            **_channel("validation", f"{BUCKET}/validation"),
            "ContentType": "text/csv",
            "InputMode": "File",
            "ShuffleConfig": {"Seed": 7},
        },
        {
            "ChannelName": "lookup",
            "DataSource": {
                "FileSystemDataSource": {
                    "FileSystemId": "fs-0123",
                    "FileSystemAccessMode": "ro",
                    "FileSystemType": "EFS",
                    "DirectoryPath": "/lookup",
                }
            },
        },
    ],
    "OutputDataConfig": {
        "S3OutputPath": f"{BUCKET}/models",
        "KmsKeyId": "alias/models",
        "CompressionType": "NONE",
    },
    # Strings, as a Jinja-rendered config has them: the operator int()s these fields.
    "ResourceConfig": {
        "InstanceCount": "2",
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": "50",
        "VolumeKmsKeyId": "alias/volume",
        "KeepAlivePeriodInSeconds": 600,
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": "3600", "MaxWaitTimeInSeconds": 7200},
    "EnableManagedSpotTraining": True,
    "VpcConfig": {"SecurityGroupIds": ["sg-0a"], "Subnets": ["subnet-1", "subnet-2"]},
    "EnableNetworkIsolation": True,
    "EnableInterContainerTrafficEncryption": True,
    "Environment": {"LOG_LEVEL": "debug", "MODE": "variant"},
    "CheckpointConfig": {"S3Uri": f"{BUCKET}/checkpoints", "LocalPath": "/opt/ml/checkpoints"},
    "TensorBoardOutputConfig": {"S3OutputPath": f"{BUCKET}/tensorboard"},
    "RetryStrategy": {"MaximumRetryAttempts": 2},
    "Tags": TAGS,
}

PROCESSING_VARIANT = {
    "ProcessingJobName": "prep-{{ ds_nodash }}",
    "RoleArn": OTHER_ROLE,
    "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", "/code/run.py"]},
    "ProcessingInputs": [
        {
            "InputName": "raw",
            "AppManaged": False,
            "S3Input": {
                "S3Uri": f"{BUCKET}/raw",
                "LocalPath": "/opt/ml/processing/input",
                "S3DataType": "S3Prefix",
                "S3InputMode": "Pipe",
                "S3DataDistributionType": "ShardedByS3Key",
                "S3CompressionType": "Gzip",
            },
        },
        {
            "InputName": "code",
            "S3Input": {
                "S3Uri": f"{BUCKET}/code/run.py",
                "LocalPath": "/code",
                "S3DataType": "S3Prefix",
            },
        },
    ],
    "ProcessingOutputConfig": {
        "Outputs": [
            {
                "OutputName": "features",
                "S3Output": {
                    "S3Uri": f"{BUCKET}/features",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "Continuous",
                },
            }
        ],
        "KmsKeyId": "alias/output",
    },
    "ProcessingResources": {
        "ClusterConfig": {
            "InstanceCount": "3",
            "InstanceType": "ml.c5.2xlarge",
            "VolumeSizeInGB": 100,
            "VolumeKmsKeyId": "alias/volume",
        }
    },
    "NetworkConfig": {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0a"], "Subnets": ["subnet-1"]},
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    "Environment": {"A": "1", "B": "two"},
    "ExperimentConfig": {"TrialComponentDisplayName": "prep"},
    "Tags": TAGS,
}

MODEL_CONFIG = {
    "ModelName": "model-{{ ds_nodash }}",
    "ExecutionRoleArn": ROLE,
    "PrimaryContainer": {
        "Image": IMAGE,
        "ModelDataUrl": f"{BUCKET}/models/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
    },
}

TRANSFORM_COMBINED = {
    "Model": {
        **MODEL_CONFIG,
        "VpcConfig": {"SecurityGroupIds": ["sg-0a"], "Subnets": ["subnet-1"]},
        "EnableNetworkIsolation": True,
        "Tags": TAGS,
    },
    "Transform": {
        "TransformJobName": "score-{{ ds_nodash }}",
        "ModelName": "model-{{ ds_nodash }}",
        "MaxConcurrentTransforms": "4",
        "MaxPayloadInMB": "10",
        "BatchStrategy": "SingleRecord",
        "Environment": {"MODEL_SERVER_TIMEOUT": "120"},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": f"{BUCKET}/m"}},
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"{BUCKET}/scores",
            "KmsKeyId": "alias/out",
            "AssembleWith": "Line",
        },
        "TransformResources": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": "2",
            "VolumeKmsKeyId": "alias/vol",
        },
        "DataCaptureConfig": {"DestinationS3Uri": f"{BUCKET}/capture", "GenerateInferenceId": True},
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 600, "InvocationsMaxRetries": 1},
        "ExperimentConfig": {"TrialComponentDisplayName": "scoring"},
        "Tags": TAGS,
    },
}

TUNING_CONFIG = {
    "HyperParameterTuningJobName": "tune-{{ ds_nodash }}",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": "20", "MaxParallelTrainingJobs": "4"},
        "ParameterRanges": {
            "IntegerParameterRanges": [
                {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Linear"}
            ],
            "ContinuousParameterRanges": [
                {
                    "Name": "eta",
                    "MinValue": "0.01",
                    "MaxValue": "0.3",
                    "ScalingType": "Logarithmic",
                },
                {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0"},
            ],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
        "TrainingJobEarlyStoppingType": "Auto",
        "TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.5},
    },
    "TrainingJobDefinition": {
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "rmse=([0-9.]+)"}],
        },
        "RoleArn": ROLE,
        "StaticHyperParameters": {"objective": "reg:squarederror", "num_round": "100"},
        "InputDataConfig": [
            {**_channel("train", f"{BUCKET}/train"), "ContentType": "text/csv"},
            {**_channel("validation", f"{BUCKET}/validation"), "ContentType": "text/csv"},
        ],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/tuning"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": "3600"},
        "EnableManagedSpotTraining": False,
        "VpcConfig": {"SecurityGroupIds": ["sg-0a"], "Subnets": ["subnet-1"]},
        "Environment": {"LOG_LEVEL": "info"},
        "CheckpointConfig": {"S3Uri": f"{BUCKET}/ckpt"},
        "RetryStrategy": {"MaximumRetryAttempts": 1},
    },
    "WarmStartConfig": {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "previous-tuning"}],
        "WarmStartType": "TransferLearning",
    },
    "Tags": TAGS,
}

ENDPOINT_CONFIG = {
    "EndpointConfigName": "housing-config",
    "ProductionVariants": [
        {
            "VariantName": "blue",
            "ModelName": "housing-model",
            "InitialInstanceCount": "1",
            "InstanceType": "ml.m5.large",
            "InitialVariantWeight": 0.9,
        },
        {
            "VariantName": "green",
            "ModelName": "housing-model-2",
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
            "InitialVariantWeight": 0.1,
        },
    ],
    "DataCaptureConfig": {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": f"{BUCKET}/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    },
    "KmsKeyId": "alias/endpoint",
    "Tags": TAGS,
}

ENDPOINT_COMBINED = {
    "Model": MODEL_CONFIG,
    "EndpointConfig": ENDPOINT_CONFIG,
    "Endpoint": {"EndpointName": "housing", "EndpointConfigName": "housing-config", "Tags": TAGS},
}

REGISTER_KWARGS = {
    "image_uri": IMAGE,
    "model_url": f"{BUCKET}/models/model.tar.gz",
    "package_group_name": "housing",
    "package_desc": "XGBoost house prices",
    "model_approval": "ApprovalStatus.APPROVED",
}

CASES = {
    "training_variant": ("training", TRAINING_VARIANT),
    "processing_variant": ("processing", PROCESSING_VARIANT),
    "model_vpc": (
        "model",
        {
            **MODEL_CONFIG,
            "PrimaryContainer": {
                **MODEL_CONFIG["PrimaryContainer"],
                "ImageConfig": {"RepositoryAccessMode": "Vpc"},
            },
            "VpcConfig": {"SecurityGroupIds": ["sg-0a"], "Subnets": ["subnet-1"]},
            "EnableNetworkIsolation": True,
            "Tags": TAGS,
        },
    ),
    "model_no_environment_or_isolation": (
        "model",
        {
            "ModelName": "m",
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": f"{BUCKET}/m.tar.gz"},
            "EnableNetworkIsolation": False,
        },
    ),
    "model_containers": (
        "model",
        {
            "ModelName": "pipeline-model",
            "ExecutionRoleArn": ROLE,
            "Containers": [
                {"ContainerHostname": "prep", "Image": IMAGE, "Environment": {"STAGE": "1"}},
                {
                    "ContainerHostname": "xgb",
                    "Image": IMAGE,
                    "ModelDataUrl": f"{BUCKET}/m.tar.gz",
                    "Mode": "SingleModel",
                },
            ],
        },
    ),
    "tuning": ("tuning", TUNING_CONFIG),
    "endpoint_config": ("endpoint_config", ENDPOINT_CONFIG),
    "endpoint": ("endpoint", {"EndpointName": "housing", "EndpointConfigName": "housing-config"}),
    "register_model": ("register_model", REGISTER_KWARGS),
    "register_model_defaults": (
        "register_model",
        {"image_uri": IMAGE, "model_url": f"{BUCKET}/m.tar.gz", "package_group_name": "housing"},
    ),
}
for _i, (_job, _config) in enumerate(sub_jobs("transform", TRANSFORM_COMBINED)):
    CASES[f"transform_combined_{_i}_{_job}"] = (_job, _config)
for _i, (_job, _config) in enumerate(sub_jobs("endpoint", ENDPOINT_COMBINED)):
    CASES[f"endpoint_combined_{_i}_{_job}"] = (_job, _config)

# Configs with fields the v3 classes cannot carry: job_code reports them, compare catches them.
APPROXIMATE = {
    "training_debugger": (
        "training",
        {
            **TRAINING_VARIANT,
            "DebugHookConfig": {"S3OutputPath": f"{BUCKET}/debug"},
            "ProfilerConfig": {"S3OutputPath": f"{BUCKET}/profiler"},
            "ExperimentConfig": {"ExperimentName": "e", "TrialName": "t"},
        },
    ),
    "processing_experiment": (
        "processing",
        {
            **PROCESSING_VARIANT,
            "ExperimentConfig": {"ExperimentName": "e", "TrialComponentDisplayName": "prep"},
        },
    ),
    "model_container_mode": (
        "model",
        {
            **MODEL_CONFIG,
            "PrimaryContainer": {**MODEL_CONFIG["PrimaryContainer"], "Mode": "MultiModel"},
        },
    ),
}

# A templated leaf: the caller's value_code turns it into a pipeline Parameter.
MARKER = "{{ params.instance_type }}"
TEMPLATED = {
    **TRAINING_VARIANT,
    "ResourceConfig": {**TRAINING_VARIANT["ResourceConfig"], "InstanceType": MARKER},
}


def _marker_code(value):
    return "instance_type_param" if value == MARKER else repr(value)


class Ref:
    """A pipeline value in a config (as bridge.translate.expressions has them): rendered by name."""

    def __init__(self, name: str):
        self.name = name


def _ref_code(value):
    return value.name if isinstance(value, Ref) else repr(value)


REFS = {
    "model_refs": (
        "model",
        {
            **MODEL_CONFIG,
            "PrimaryContainer": {
                **MODEL_CONFIG["PrimaryContainer"],
                "ModelDataUrl": Ref("model_data"),
            },
        },
    ),
    "processing_refs": (
        "processing",
        {
            **PROCESSING_VARIANT,
            "ProcessingInputs": [
                {
                    "InputName": "raw",
                    "S3Input": {
                        "S3Uri": Ref("raw_uri"),
                        "LocalPath": "/opt/ml/processing/input",
                        "S3DataType": "S3Prefix",
                    },
                }
            ],
        },
    ),
    "transform_refs": (
        "transform",
        {**TRANSFORM_COMBINED["Transform"], "ModelName": Ref("model_name")},
    ),
}


def _marker_json(value):
    return {"Get": "Parameters.InstanceType"} if value == MARKER else value


# ---------------------------------------------------------------------------------------------
# Built once: moto-backed PipelineSession, one pipeline definition per case.


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    settings = tmp_path_factory.mktemp("sagemaker") / "config.yaml"
    settings.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(settings),
        }.items():
            mp.setenv(key, value)
        import boto3
        import moto

        with moto.mock_aws():
            boto3.client("s3").create_bucket(Bucket="bridge-tests-default")
            from sagemaker.core.config.config_manager import SageMakerConfig
            from sagemaker.core.workflow.parameters import ParameterString
            from sagemaker.core.workflow.pipeline_context import PipelineSession
            from sagemaker.mlops import workflow

            # The SDK re-validates the (constant) user config against its JSON schema on every
            # config lookup, ~0.5 s each; validate each distinct config once.
            validated: set[str] = set()
            original = SageMakerConfig.validate_sagemaker_config

            def validate_once(config=None):
                key = json.dumps(config, sort_keys=True, default=str)
                if key not in validated:
                    original(config)
                    validated.add(key)

            mp.setattr(SageMakerConfig, "validate_sagemaker_config", staticmethod(validate_once))
            session = PipelineSession(default_bucket="bridge-tests-default")
            instance_type = ParameterString("InstanceType", default_value="ml.m5.xlarge")

            def build(name, job, config, value_code=repr, parameters=(), **scope):
                code = job_code(job, config, name, value_code)
                namespace = {"session": session, "role": ROLE, **scope}
                exec(code.source(), namespace)
                step_class = getattr(workflow, code.step_class)
                step = step_class(name=name, step_args=namespace[f"{name}_args"])
                pipeline = workflow.Pipeline(
                    name=f"p-{name}".replace("_", "-"),
                    steps=[step],
                    parameters=list(parameters),
                    sagemaker_session=session,
                )
                definition = json.loads(pipeline.definition())
                (step_json,) = definition["Steps"]
                return code, step_json

            cases = {**_sample_configs(), **CASES, **APPROXIMATE}
            results = {
                name: (job, config, *build(name, job, config))
                for name, (job, config) in cases.items()
            }
            results["templated"] = (
                "training",
                TEMPLATED,
                *build(
                    "templated",
                    "training",
                    TEMPLATED,
                    _marker_code,
                    parameters=[instance_type],
                    instance_type_param=instance_type,
                ),
            )
            refs = {
                "model_data": ParameterString("ModelData", default_value=f"{BUCKET}/m.tar.gz"),
                "raw_uri": ParameterString("RawUri", default_value=f"{BUCKET}/raw"),
                "model_name": ParameterString("ModelName", default_value="model"),
            }
            for name, (job, config) in REFS.items():
                results[name] = (
                    job,
                    config,
                    *build(name, job, config, _ref_code, parameters=refs.values(), **refs),
                )
            yield {"results": results, "shapes": _sdk_shape_fields()}


def _sdk_shape_fields() -> dict[str, set[str]]:
    from sagemaker.core import shapes
    from sagemaker.core.training import configs

    from bridge.emit.jobs.shapes import CLASS_MODULES as _CLASS_MODULES
    from bridge.emit.jobs.shapes import SHAPES as _SHAPES

    modules = {"sagemaker.core.shapes": shapes, "sagemaker.core.training.configs": configs}
    return {
        name: set(
            getattr(modules[_CLASS_MODULES.get(name, "sagemaker.core.shapes")], name).model_fields
        )
        for name in _SHAPES
    }


EXACT = ["sample_processing", "sample_training", "sample_model", "sample_transform", *CASES]


@sdk_test
@pytest.mark.parametrize("name", EXACT)
def test_definition_arguments_equal_operator_config(built, name):
    job, config, code, step = built["results"][name]
    assert code.differences == []
    assert (
        step["Type"]
        == {
            "ProcessingStep": "Processing",
            "TrainingStep": "Training",
            "TransformStep": "Transform",
            "TuningStep": "Tuning",
            "ModelStep": "RegisterModel" if job == "register_model" else "Model",
            "EndpointConfigStep": "EndpointConfig",
            "EndpointStep": "Endpoint",
        }[code.step_class]
    )
    assert compare_arguments(job, config, step["Arguments"]) == []
    for owned in code.owned:
        assert owned not in step["Arguments"]


@sdk_test
@pytest.mark.parametrize("name", sorted(APPROXIMATE))
def test_approximate_configs_are_reported_by_both(built, name):
    job, config, code, step = built["results"][name]
    found = compare_arguments(job, config, step["Arguments"])
    assert code.differences and found
    # The fields compare_arguments finds are the ones job_code reported.
    assert {line.split(":")[0] for line in found} == {d.split(":")[0] for d in code.differences}


@sdk_test
def test_approximate_details(built):
    results = built["results"]
    _, _, code, _ = results["training_debugger"]
    assert any(d.startswith("DebugHookConfig:") for d in code.differences)
    assert any(d.startswith("ProfilerConfig:") for d in code.differences)
    _, _, code, step = results["processing_experiment"]
    assert step["Arguments"]["ExperimentConfig"] == {"TrialComponentDisplayName": "prep"}
    assert any(d.startswith("ExperimentConfig.ExperimentName:") for d in code.differences)
    _, _, code, _ = results["model_container_mode"]
    assert code.differences == [
        "PrimaryContainer.Mode: ModelBuilder has no parameter for it; dropped."
    ]


@sdk_test
def test_compare_catches_a_changed_field(built):
    job, config, _, step = built["results"]["sample_training"]
    changed = copy.deepcopy(config)
    changed["ResourceConfig"]["InstanceType"] = "ml.p3.2xlarge"
    assert compare_arguments(job, changed, step["Arguments"]) == [
        "ResourceConfig.InstanceType: config 'ml.p3.2xlarge', definition 'ml.m5.2xlarge'"
    ]
    changed = copy.deepcopy(config)
    del changed["Tags"]
    changed["InputDataConfig"][1]["ContentType"] = "application/x-parquet"
    assert compare_arguments(job, changed, step["Arguments"]) == [
        "InputDataConfig[1].ContentType: config 'application/x-parquet', definition 'text/csv'",
        "Tags: [{'Key': 'project', 'Value': 'airflow-sagemaker-bridge'}] in the definition, "
        "not in the config",
    ]


@sdk_test
def test_templated_leaf_becomes_a_pipeline_parameter(built):
    job, config, code, step = built["results"]["templated"]
    assert "instance_type=instance_type_param" in code.code
    assert step["Arguments"]["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.InstanceType"}
    assert compare_arguments(job, config, step["Arguments"], _marker_json) == []
    # Without the mapping the literal marker does not match the parameter reference.
    assert compare_arguments(job, config, step["Arguments"]) == [
        "ResourceConfig.InstanceType: config '{{ params.instance_type }}', "
        "definition {'Get': 'Parameters.InstanceType'}"
    ]


@sdk_test
@pytest.mark.parametrize("name", sorted(REFS))
def test_pipeline_values_in_configs(built, name):
    job, config, code, step = built["results"][name]
    assert code.differences == []
    assert compare_arguments(job, config, step["Arguments"]) == []
    assert '{"Get": "Parameters.' in json.dumps(step["Arguments"])


@sdk_test
def test_sdk_defaults_show_up_where_documented(built):
    results = built["results"]
    step = results["processing_variant"][3]
    assert step["Arguments"]["ProcessingInputs"][1]["S3Input"]["S3InputMode"] == "File"
    step = results["tuning"][3]
    ranges = step["Arguments"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"][1]["ScalingType"] == "Auto"
    step = results["model_no_environment_or_isolation"][3]
    assert step["Arguments"]["PrimaryContainer"]["Environment"] == {}
    assert "EnableNetworkIsolation" not in step["Arguments"]
    step = results["endpoint"][3]
    assert step["Arguments"]["Tags"] == []
    step = results["register_model"][3]
    assert step["Arguments"]["ModelApprovalStatus"] == "Approved"


@sdk_test
def test_shape_table_matches_the_sdk(built):
    from bridge.emit.jobs.shapes import SHAPES as _SHAPES
    from bridge.emit.jobs.shapes import pascal_to_snake as _pascal_to_snake

    for name, fields in _SHAPES.items():
        sdk_fields = built["shapes"][name]
        for pascal in fields:
            assert _pascal_to_snake(pascal) in sdk_fields, (name, pascal)


# ---------------------------------------------------------------------------------------------
# Fast: no SDK.


def test_owned_fields_and_step_classes():
    assert owned_fields("training") == {"TrainingJobName"}
    assert owned_fields("endpoint_config") == set()
    assert set(STEP_CLASSES) == set(JOBS)
    with pytest.raises(ValueError, match="unknown SageMaker job"):
        owned_fields("automl")


def test_request_view_does_what_the_operator_does():
    request, notes = request_view("transform", TRANSFORM_COMBINED)
    assert (
        request["MaxConcurrentTransforms"] == 4
        and request["TransformResources"]["InstanceCount"] == 2
    )
    assert "TransformJobName" in request and notes[0].startswith("Model:")
    assert TRANSFORM_COMBINED["Transform"]["MaxConcurrentTransforms"] == "4"  # not mutated
    request, notes = request_view("training", {**TRAINING_VARIANT, "S3Operations": {}})
    assert "S3Operations" not in request and notes[0].startswith("S3Operations:")
    request, _ = request_view("endpoint_config", ENDPOINT_CONFIG)
    assert [v["InitialInstanceCount"] for v in request["ProductionVariants"]] == [1, 1]
    request, _ = request_view("register_model", REGISTER_KWARGS)
    assert request["ModelApprovalStatus"] == "Approved"
    assert request["InferenceSpecification"]["Containers"] == [
        {"Image": IMAGE, "ModelDataUrl": f"{BUCKET}/models/model.tar.gz"}
    ]


def test_sub_jobs_split_combined_operator_configs():
    assert [j for j, _ in sub_jobs("endpoint", ENDPOINT_COMBINED)] == [
        "model",
        "endpoint_config",
        "endpoint",
    ]
    assert [j for j, _ in sub_jobs("transform", TRANSFORM_COMBINED)] == ["model", "transform"]
    assert sub_jobs("training", TRAINING_VARIANT) == [("training", TRAINING_VARIANT)]
    code = job_code("endpoint", ENDPOINT_COMBINED, "deploy")
    assert code.step_class == "EndpointStep" and len(code.differences) == 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_config_value_goes_through_value_code(name):
    job, config = CASES[name]
    seen = []

    def value_code(value):
        seen.append(value)
        return f"V{len(seen)}"

    code = job_code(job, config, "x", value_code)
    request, _ = request_view(job, config)
    leaves = set()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in owned_fields(job):
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            leaves.add(json.dumps(value))

    walk(request)
    rendered = {json.dumps(v) for v in seen}
    missing = leaves - rendered
    # register_model: the default "text/csv" content types are the operator's, and "" is dropped.
    assert missing <= {'""'}, missing
    # No config string reaches the code except through value_code.
    for leaf in leaves:
        value = json.loads(leaf)
        if isinstance(value, str) and len(value) > 3:
            assert repr(value) not in code.code, value


def test_generated_code_shape():
    code = job_code("training", TRAINING_VARIANT, "train")
    assert code.step_class == "TrainingStep" and code.owned == ["TrainingJobName"]
    assert all(line.startswith("from sagemaker.") for line in code.imports)
    assert "from sagemaker.train import ModelTrainer" in code.imports
    assert code.code.rstrip().endswith("train_args = train_trainer.train()")
    compile(code.source(), "<generated>", "exec")
    assert "train_trainer.with_retry_strategy(RetryStrategy(maximum_retry_attempts=2))" in code.code
    with pytest.raises(ValueError, match="identifier"):
        job_code("training", TRAINING_VARIANT, "train-model")


def test_unsupported_fields_become_differences():
    config = {
        **TRAINING_VARIANT,
        "AlgorithmSpecification": {
            **TRAINING_VARIANT["AlgorithmSpecification"],
            "ContainerEntrypoint": ["python", "x.py"],
        },
        "HyperParameters": object(),  # only known at run time
    }
    differences = job_code("training", config, "t").differences
    assert differences[0] == (
        "AlgorithmSpecification.ContainerEntrypoint: ModelTrainer has no parameter for it; dropped."
    )
    assert differences[1].startswith("HyperParameters: expected a dict but the value")
    tuning = {**TUNING_CONFIG, "TrainingJobDefinition": {**TUNING_CONFIG["TrainingJobDefinition"]}}
    tuning["TrainingJobDefinition"]["EnableNetworkIsolation"] = True
    assert job_code("tuning", tuning, "t").differences == [
        "TrainingJobDefinition.EnableNetworkIsolation: HyperparameterTuner has no parameter for "
        "it; dropped."
    ]
    processing = {
        **PROCESSING_VARIANT,
        "ProcessingInputs": [
            {"InputName": "q", "DatasetDefinition": {"LocalPath": "/q"}},
            *PROCESSING_VARIANT["ProcessingInputs"],
        ],
    }
    assert (
        job_code("processing", processing, "p")
        .differences[0]
        .startswith("ProcessingInputs[0].DatasetDefinition:")
    )


def test_compare_rules():
    args = {
        "ModelName": "m",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://x"}}},
    }
    config = {
        "TransformJobName": "owned",
        "ModelName": object(),  # a pipeline value: must meet one in the definition
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://x"}}, "ContentType": ""},
    }
    assert compare_arguments("transform", config, args) == [
        "ModelName: config is a pipeline value, definition 'm'"
    ]
    args["ModelName"] = {"Get": "Steps.model.ModelName"}
    assert compare_arguments("transform", config, args) == []
    args["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "S3Prefix"
    assert compare_arguments("transform", config, args) == []  # documented SDK default
    args["TransformInput"]["SplitType"] = "Line"
    assert compare_arguments("transform", config, args) == [
        "TransformInput.SplitType: 'Line' in the definition, not in the config"
    ]
    assert PIPELINE_VALUE is not None
    # bools are not ints
    assert compare_arguments("endpoint", {"EndpointName": True}, {"EndpointName": 1, "Tags": []})
