"""House-price XGBoost model trained and batch-scored on Amazon SageMaker.

The ML story: the same house-price problem as ``ml_taskflow_pipeline``, at production scale.
The heavy lifting runs as SageMaker jobs started by the Amazon provider's operators:

1. ``preprocess`` - a SageMaker Processing job (scikit-learn container) reads the raw CSV from
   S3, engineers features and writes train / validation / batch-inference splits back to S3,
2. ``train_model`` - a SageMaker Training job with the built-in XGBoost 1.7 algorithm
   (``reg:squarederror``) on the processed train/validation channels,
3. ``create_model`` - registers the trained artefact as a SageMaker Model (XGBoost serving image),
4. ``batch_transform`` - a Batch Transform job scores the inference split and writes predictions
   to S3.

Each config is a literal dict in the shape of the boto3 ``create_*`` call; job names carry
``{{ ds_nodash }}`` so that each logical date gets its own jobs. The file loads in a DagBag
without AWS access; running it needs an ``aws_default`` connection with SageMaker permissions.
"""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerModelOperator,
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
    SageMakerTransformOperator,
)
from airflow.sdk import DAG

DAG_ID = "sagemaker_operators"
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "ml-bridge-samples-123456789012"
PREFIX = "housing-xgboost"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

PROCESSING_JOB_NAME = "housing-preprocess-{{ ds_nodash }}"
TRAINING_JOB_NAME = "housing-xgb-train-{{ ds_nodash }}"
MODEL_NAME = "housing-xgb-model-{{ ds_nodash }}"
TRANSFORM_JOB_NAME = "housing-xgb-batch-{{ ds_nodash }}"

PROCESSING_CONFIG = {
    "ProcessingJobName": PROCESSING_JOB_NAME,
    "RoleArn": ROLE_ARN,
    "AppSpecification": {
        "ImageUri": SKLEARN_IMAGE,
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
        "ContainerArguments": ["--test-every", "5", "--target", "price_k"],
    },
    "ProcessingInputs": [
        {
            "InputName": "raw",
            "S3Input": {
                "S3Uri": f"s3://{BUCKET}/{PREFIX}/raw/housing.csv",
                "LocalPath": "/opt/ml/processing/input/raw",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        },
        {
            "InputName": "code",
            "S3Input": {
                "S3Uri": f"s3://{BUCKET}/{PREFIX}/code/preprocess.py",
                "LocalPath": "/opt/ml/processing/input/code",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        },
    ],
    "ProcessingOutputConfig": {
        "Outputs": [
            {
                "OutputName": "train",
                "S3Output": {
                    "S3Uri": f"s3://{BUCKET}/{PREFIX}/processed/train",
                    "LocalPath": "/opt/ml/processing/output/train",
                    "S3UploadMode": "EndOfJob",
                },
            },
            {
                "OutputName": "validation",
                "S3Output": {
                    "S3Uri": f"s3://{BUCKET}/{PREFIX}/processed/validation",
                    "LocalPath": "/opt/ml/processing/output/validation",
                    "S3UploadMode": "EndOfJob",
                },
            },
            {
                "OutputName": "inference",
                "S3Output": {
                    "S3Uri": f"s3://{BUCKET}/{PREFIX}/processed/inference",
                    "LocalPath": "/opt/ml/processing/output/inference",
                    "S3UploadMode": "EndOfJob",
                },
            },
        ]
    },
    "ProcessingResources": {
        "ClusterConfig": {
            "InstanceCount": 1,
            "InstanceType": "ml.m5.xlarge",
            "VolumeSizeInGB": 30,
        }
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "Environment": {"PYTHONUNBUFFERED": "1"},
    "Tags": [{"Key": "project", "Value": "airflow-sagemaker-bridge"}],
}

TRAINING_CONFIG = {
    "TrainingJobName": TRAINING_JOB_NAME,
    "RoleArn": ROLE_ARN,
    "AlgorithmSpecification": {
        "TrainingImage": XGBOOST_IMAGE,
        "TrainingInputMode": "File",
    },
    "HyperParameters": {
        "objective": "reg:squarederror",
        "num_round": "200",
        "max_depth": "4",
        "eta": "0.1",
        "subsample": "0.8",
        "colsample_bytree": "0.8",
        "min_child_weight": "2",
        "eval_metric": "rmse",
        "early_stopping_rounds": "20",
    },
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{BUCKET}/{PREFIX}/processed/train",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
            "CompressionType": "None",
        },
        {
            "ChannelName": "validation",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{BUCKET}/{PREFIX}/processed/validation",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
            "CompressionType": "None",
        },
    ],
    "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/{PREFIX}/models"},
    "ResourceConfig": {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.2xlarge",
        "VolumeSizeInGB": 30,
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
    "EnableManagedSpotTraining": False,
    "Tags": [{"Key": "project", "Value": "airflow-sagemaker-bridge"}],
}

MODEL_CONFIG = {
    "ModelName": MODEL_NAME,
    "ExecutionRoleArn": ROLE_ARN,
    "PrimaryContainer": {
        "Image": XGBOOST_IMAGE,
        "ModelDataUrl": "{{ ti.xcom_pull(task_ids='train_model')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
    },
    "Tags": [{"Key": "project", "Value": "airflow-sagemaker-bridge"}],
}

TRANSFORM_CONFIG = {
    "TransformJobName": TRANSFORM_JOB_NAME,
    "ModelName": MODEL_NAME,
    "MaxConcurrentTransforms": 2,
    "MaxPayloadInMB": 6,
    "BatchStrategy": "MultiRecord",
    "TransformInput": {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{BUCKET}/{PREFIX}/processed/inference",
            }
        },
        "ContentType": "text/csv",
        "SplitType": "Line",
        "CompressionType": "None",
    },
    "TransformOutput": {
        "S3OutputPath": f"s3://{BUCKET}/{PREFIX}/predictions/" + "{{ ds_nodash }}",
        "Accept": "text/csv",
        "AssembleWith": "Line",
    },
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    "Tags": [{"Key": "project", "Value": "airflow-sagemaker-bridge"}],
}

with DAG(
    dag_id=DAG_ID,
    description="Processing -> XGBoost training -> model -> batch transform on SageMaker.",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={
        "owner": "ml-platform",
        "retries": 1,
        "aws_conn_id": "aws_default",
        "region_name": REGION,
    },
    tags=["ml", "sample", "sagemaker", "xgboost"],
) as dag:
    preprocess = SageMakerProcessingOperator(
        task_id="preprocess",
        config=PROCESSING_CONFIG,
        wait_for_completion=True,
        check_interval=30,
        max_ingestion_time=3600,
        action_if_job_exists="fail",
    )
    train_model = SageMakerTrainingOperator(
        task_id="train_model",
        config=TRAINING_CONFIG,
        wait_for_completion=True,
        print_log=True,
        check_interval=60,
        max_ingestion_time=7200,
        action_if_job_exists="fail",
    )
    create_model = SageMakerModelOperator(
        task_id="create_model",
        config=MODEL_CONFIG,
    )
    batch_transform = SageMakerTransformOperator(
        task_id="batch_transform",
        config=TRANSFORM_CONFIG,
        wait_for_completion=True,
        check_interval=30,
        check_if_job_exists=True,
        action_if_job_exists="fail",
    )

    preprocess >> train_model >> create_model >> batch_transform
