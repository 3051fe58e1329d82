"""The request shapes the v3 classes take field by field, and how each field is rendered.

`SHAPES` maps a boto3 request shape (``Channel``, ``S3DataSource``, ...) to its fields and
each field to a kind; `Gen.shape` turns a config dict of that shape into a constructor
call of the SDK class of the same name, with `pascal_to_snake` keyword arguments.
"""

from __future__ import annotations

import re
from typing import Any

SHAPES_MODULE = "sagemaker.core.shapes"
V, L, M, RAW = "value", "list", "map", "raw"
TAGS, TAG_SHAPES = "tags", "tag shapes"  # boto {"Key", "Value"} dicts / Tag(key=, value=)

# Request shape -> field -> kind. A kind is V (one value), L (a list of values), M (a map of
# values), RAW (a boto-shaped dict/list passed through as is), a shape name, or [shape name].
SHAPES: dict[str, dict[str, Any]] = {
    "Channel": {
        "ChannelName": V,
        "DataSource": "DataSource",
        "ContentType": V,
        "CompressionType": V,
        "RecordWrapperType": V,
        "InputMode": V,
        "ShuffleConfig": "ShuffleConfig",
    },
    "DataSource": {
        "S3DataSource": "S3DataSource",
        "FileSystemDataSource": "FileSystemDataSource",
        "DatasetSource": "DatasetSource",
    },
    "S3DataSource": {
        "S3DataType": V,
        "S3Uri": V,
        "S3DataDistributionType": V,
        "AttributeNames": L,
        "InstanceGroupNames": L,
        "ModelAccessConfig": "ModelAccessConfig",
        "HubAccessConfig": "HubAccessConfig",
    },
    "FileSystemDataSource": {
        "FileSystemId": V,
        "FileSystemAccessMode": V,
        "FileSystemType": V,
        "DirectoryPath": V,
    },
    "DatasetSource": {"DatasetArn": V},
    "ShuffleConfig": {"Seed": V},
    "ModelAccessConfig": {"AcceptEula": V},
    "HubAccessConfig": {"HubContentArn": V},
    "MetricDefinition": {"Name": V, "Regex": V},
    "TrainingImageConfig": {
        "TrainingRepositoryAccessMode": V,
        "TrainingRepositoryAuthConfig": "TrainingRepositoryAuthConfig",
    },
    "TrainingRepositoryAuthConfig": {"TrainingRepositoryCredentialsProviderArn": V},
    "CheckpointConfig": {"S3Uri": V, "LocalPath": V},
    "TensorBoardOutputConfig": {"S3OutputPath": V, "LocalPath": V},
    "RetryStrategy": {"MaximumRetryAttempts": V},
    "InfraCheckConfig": {"EnableInfraCheck": V},
    "RemoteDebugConfig": {"EnableRemoteDebug": V},
    "SessionChainingConfig": {"EnableSessionTagChaining": V},
    "StoppingCondition": {
        "MaxRuntimeInSeconds": V,
        "MaxWaitTimeInSeconds": V,
        "MaxPendingTimeInSeconds": V,
    },
    "OutputDataConfig": {"S3OutputPath": V, "KmsKeyId": V, "CompressionType": V},
    "Compute": {
        "InstanceType": V,
        "InstanceCount": V,
        "VolumeSizeInGB": V,
        "VolumeKmsKeyId": V,
        "KeepAlivePeriodInSeconds": V,
        "InstanceGroups": ["InstanceGroup"],
        "TrainingPlanArn": V,
        "InstancePreferences": ["InstancePreference"],
    },
    "InstanceGroup": {"InstanceType": V, "InstanceCount": V, "InstanceGroupName": V},
    "InstancePreference": {"InstanceType": V, "InstanceCount": V, "TrainingPlanArns": L},
    "ModelPackageConfig": {"ModelPackageGroupArn": V, "SourceModelPackageArn": V},
    "ProcessingInput": {"InputName": V, "AppManaged": V, "S3Input": "ProcessingS3Input"},
    "ProcessingS3Input": {
        "S3Uri": V,
        "LocalPath": V,
        "S3DataType": V,
        "S3InputMode": V,
        "S3DataDistributionType": V,
        "S3CompressionType": V,
    },
    "ProcessingOutput": {"OutputName": V, "AppManaged": V, "S3Output": "ProcessingS3Output"},
    "ProcessingS3Output": {"S3Uri": V, "LocalPath": V, "S3UploadMode": V},
    "TuningJobCompletionCriteria": {
        "TargetObjectiveMetricValue": V,
        "BestObjectiveNotImproving": "BestObjectiveNotImproving",
        "ConvergenceDetected": "ConvergenceDetected",
    },
    "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": V},
    "ConvergenceDetected": {"CompleteOnConvergence": V},
    "HyperParameterTuningJobStrategyConfig": {"HyperbandStrategyConfig": "HyperbandStrategyConfig"},
    "HyperbandStrategyConfig": {"MinResource": V, "MaxResource": V},
    "HyperParameterTuningJobWarmStartConfig": {
        "ParentHyperParameterTuningJobs": ["ParentHyperParameterTuningJob"],
        "WarmStartType": V,
    },
    "ParentHyperParameterTuningJob": {"HyperParameterTuningJobName": V},
    "BatchDataCaptureConfig": {"DestinationS3Uri": V, "KmsKeyId": V, "GenerateInferenceId": V},
    "ContainerDefinition": {
        "ContainerHostname": V,
        "Image": V,
        "ImageConfig": "ImageConfig",
        "Mode": V,
        "ModelDataUrl": V,
        "ModelDataSource": "ModelDataSource",
        "AdditionalModelDataSources": ["AdditionalModelDataSource"],
        "Environment": M,
        "ModelPackageName": V,
        "InferenceSpecificationName": V,
        "MultiModelConfig": "MultiModelConfig",
    },
    "ImageConfig": {"RepositoryAccessMode": V, "RepositoryAuthConfig": "RepositoryAuthConfig"},
    "RepositoryAuthConfig": {"RepositoryCredentialsProviderArn": V},
    "ModelDataSource": {"S3DataSource": "S3ModelDataSource"},
    "S3ModelDataSource": {
        "S3Uri": V,
        "S3DataType": V,
        "CompressionType": V,
        "ModelAccessConfig": "ModelAccessConfig",
        "ManifestS3Uri": V,
        "ETag": V,
        "ManifestEtag": V,
    },
    "AdditionalModelDataSource": {"ChannelName": V, "S3DataSource": "S3ModelDataSource"},
    "MultiModelConfig": {"ModelCacheSetting": V},
}

# Classes that do not live in sagemaker.core.shapes.
CLASS_MODULES = {
    "Compute": "sagemaker.core.training.configs",
    "Networking": "sagemaker.core.training.configs",
}


def pascal_to_snake(name: str) -> str:
    """The SDK's own conversion (sagemaker.core.utils.utils.pascal_to_snake)."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()
