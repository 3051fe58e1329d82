"""A user of `bridge serve`, as the tests that reach it through the SDK and boto3 need one: the
shell they run `pipeline.py` / `bridge run --engine aws` in, and a boto3 client of the server."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from botocore.config import Config


def user_env(tmp_path: Path, token: str, role: str) -> dict[str, str]:
    """A user's shell: the server's token as access key, a role, no AWS configuration, no
    SDK telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    telemetry = tmp_path / "sagemaker.yaml"
    telemetry.write_text(
        'SchemaVersion: "1.0"\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n'
    )
    env.update(
        AWS_ACCESS_KEY_ID=token,
        AWS_SECRET_ACCESS_KEY="any",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        SAGEMAKER_ROLE_ARN=role,
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(telemetry),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def serve_client(url: str, token: str, service: str, **config):
    """A boto3 client of the server at `url` (S3 by path: the server has no bucket hosts)."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=token,
        aws_secret_access_key="any",
        config=Config(s3={"addressing_style": "path"}, **config),
    )
