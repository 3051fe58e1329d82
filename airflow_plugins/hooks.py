"""MigratedPipelineHook: the SageMaker Pipelines calls the provider makes, through the Amazon
provider's AWS connection handling (`aws_conn_id`, region, botocore config, endpoint_url).

Every call pages through all results: the Amazon provider's hook reads only the first page of
steps. Throttling and 5xx are retried by botocore (standard retry mode unless the connection
or `botocore_config` says otherwise).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config
from botocore.exceptions import ClientError

STEP_PAGE = 100  # ListPipelineExecutionSteps' largest page
EXECUTION_PAGE = 100
XCOM_OUTPUT = "xcom"  # the ProcessingOutput `bridge translate` gives each step's XComs
DEFAULT_RETRIES = {"mode": "standard", "max_attempts": 8}


class MigratedPipelineHook(AwsBaseHook):
    """Interact with SageMaker Pipelines for migrated DAGs.

    :param aws_conn_id: The Airflow connection used for AWS credentials (its extra may set
        ``endpoint_url``, e.g. a local ``bridge serve``).
    :param region_name: AWS region name; default from the connection or boto3.
    :param verify: Whether to verify SSL certificates.
    :param config: botocore ``Config``; retries default to standard mode, 8 attempts.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "sagemaker"
        super().__init__(*args, **kwargs)

    @property
    def config(self) -> Config:
        config = super().config
        if not getattr(config, "retries", None):
            config = config.merge(Config(retries=DEFAULT_RETRIES))
        return config

    @property
    def endpoint_url(self) -> str | None:
        return self.conn_config.get_service_endpoint_url(service_name="sagemaker")

    # -- executions ---------------------------------------------------------------------------

    def start_execution(
        self,
        pipeline_name: str,
        *,
        parameters: dict[str, str],
        display_name: str,
        description: str,
        token: str,
        selected_steps: list[str] | None = None,
        source_execution_arn: str | None = None,
    ) -> str:
        """Start an execution; the token makes a repeated call return the same execution."""
        request: dict[str, Any] = {
            "PipelineName": pipeline_name,
            "PipelineExecutionDisplayName": display_name,
            "PipelineExecutionDescription": description,
            "PipelineParameters": [{"Name": k, "Value": v} for k, v in sorted(parameters.items())],
            "ClientRequestToken": token,
        }
        if selected_steps:
            selective: dict[str, Any] = {"SelectedSteps": [{"StepName": s} for s in selected_steps]}
            if source_execution_arn:
                selective["SourcePipelineExecutionArn"] = source_execution_arn
            request["SelectiveExecutionConfig"] = selective
        return self.conn.start_pipeline_execution(**request)["PipelineExecutionArn"]

    def find_executions(
        self, pipeline_name: str, display_name: str, created_after: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Executions of the pipeline with this display name, newest first."""
        request: dict[str, Any] = {
            "PipelineName": pipeline_name,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": EXECUTION_PAGE,
        }
        if created_after is not None:
            request["CreatedAfter"] = created_after
        found = []
        for page in self._pages("list_pipeline_executions", request):
            for summary in page.get("PipelineExecutionSummaries") or []:
                if summary.get("PipelineExecutionDisplayName") == display_name:
                    found.append(summary)
        return found

    def describe_execution(self, execution_arn: str) -> dict[str, Any]:
        return self.conn.describe_pipeline_execution(PipelineExecutionArn=execution_arn)

    def list_steps(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every step of the execution (all pages), oldest first."""
        request = {
            "PipelineExecutionArn": execution_arn,
            "SortOrder": "Ascending",
            "MaxResults": STEP_PAGE,
        }
        steps = []
        for page in self._pages("list_pipeline_execution_steps", request):
            steps.extend(page.get("PipelineExecutionSteps") or [])
        return steps

    def stop_execution(self, execution_arn: str, token: str) -> None:
        try:
            self.conn.stop_pipeline_execution(
                PipelineExecutionArn=execution_arn, ClientRequestToken=token
            )
        except ClientError as exc:
            # Stopping one that already ended is not an error worth failing a kill over.
            if _code(exc) not in ("ConflictException", "ValidationException"):
                raise

    def retry_execution(self, execution_arn: str, token: str) -> str:
        return self.conn.retry_pipeline_execution(
            PipelineExecutionArn=execution_arn, ClientRequestToken=token
        )["PipelineExecutionArn"]

    def pipeline_parameter_names(self, execution_arn: str) -> set[str]:
        """The parameters the running definition declares (for checking overrides)."""
        definition = self.conn.describe_pipeline_definition_for_execution(
            PipelineExecutionArn=execution_arn
        )["PipelineDefinition"]
        return {p["Name"] for p in json.loads(definition).get("Parameters") or []}

    # -- step outputs -------------------------------------------------------------------------

    def step_outputs(self, step: dict[str, Any]) -> dict[str, Any] | None:
        """What a finished step produced, as the original task's XComs (key -> value):
        a Lambda step's output parameters as its return value; a processing step's
        `xcom.json` (all keys it pushed). None when the step has no such output."""
        metadata = step.get("Metadata") or {}
        if "Lambda" in metadata:
            outputs = {
                p["Name"]: p.get("Value") for p in metadata["Lambda"].get("OutputParameters") or []
            }
            return {"return_value": outputs} if outputs else None
        job_arn = (metadata.get("ProcessingJob") or {}).get("Arn")
        if not job_arn:
            return None
        job = self.conn.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
        for output in (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            if output.get("OutputName") == XCOM_OUTPUT:
                uri = output["S3Output"]["S3Uri"].rstrip("/") + "/xcom.json"
                return self.read_json(uri)
        return None

    def read_json(self, uri: str) -> dict[str, Any] | None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(body)

    @property
    def s3(self):
        if not hasattr(self, "_s3"):
            endpoint = self.conn_config.get_service_endpoint_url(service_name="s3")
            config = self._get_config()
            if endpoint:  # a local endpoint answers path-style only
                config = config.merge(Config(s3={"addressing_style": "path"}))
            self._s3 = self.get_session(region_name=self.region_name).client(
                "s3", endpoint_url=endpoint, config=config, verify=self.verify
            )
        return self._s3

    def _pages(self, method: str, request: dict[str, Any]):
        call = getattr(self.conn, method)
        while True:
            page = call(**request)
            yield page
            token = page.get("NextToken")
            if not token:
                return
            request = {**request, "NextToken": token}


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
