"""The bridge's Airflow provider: run migrated SageMaker pipelines from existing DAGs.

Registered through the `apache_airflow_provider` entry point (this `get_provider_info`) and the
`airflow.plugins` entry point (airflow_plugins.plugin). Depends on Airflow, the Amazon provider's
AWS connection handling and boto3 only: never on `bridge` or the SageMaker SDK.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-sagemaker-bridge",
        "name": "Airflow → SageMaker Pipelines bridge",
        "description": "Trigger and watch migrated SageMaker pipelines from Airflow DAGs, "
        "task by task.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "SageMaker Pipelines (migrated DAGs)",
                "external-doc-url": "https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines.html",
                "tags": ["aws"],
            }
        ],
        "operators": [
            {
                "integration-name": "SageMaker Pipelines (migrated DAGs)",
                "python-modules": ["airflow_plugins.operators"],
            }
        ],
        "sensors": [
            {
                "integration-name": "SageMaker Pipelines (migrated DAGs)",
                "python-modules": ["airflow_plugins.sensors"],
            }
        ],
        "hooks": [
            {
                "integration-name": "SageMaker Pipelines (migrated DAGs)",
                "python-modules": ["airflow_plugins.hooks"],
            }
        ],
        "triggers": [
            {
                "integration-name": "SageMaker Pipelines (migrated DAGs)",
                "python-modules": ["airflow_plugins.triggers"],
            }
        ],
        "extra-links": ["airflow_plugins.links.SageMakerPipelineExecutionLink"],
        "config": {
            "bridge": {
                "description": "The migrated-pipelines page of the Airflow UI.",
                "options": {
                    "manifests_folder": {
                        "description": "Folder searched (recursively) for manifest.json files "
                        "of migrated DAGs.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/dags",
                        "default": "",
                    },
                    "reports_folder": {
                        "description": "Folder searched (recursively) for compare.json reports "
                        "of `bridge compare`.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/bridge-reports",
                        "default": "",
                    },
                    "aws_conn_id": {
                        "description": "Connection the page uses to list executions.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "aws_default",
                        "default": "aws_default",
                    },
                    "executions_per_pipeline": {
                        "description": "Recent executions shown per pipeline.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "10",
                        "default": "10",
                    },
                },
            }
        },
    }
