"""MigratedPipelineHook: the SageMaker Pipelines calls the provider makes, through the Amazon
provider's AWS connection handling (`aws_conn_id`, region, botocore config, endpoint_url).

Every call pages through all results: the Amazon provider's hook reads only the first page of
steps. Throttling and 5xx are retried by botocore (standard retry mode unless the connection
or `botocore_config` says otherwise).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config
from botocore.exceptions import ClientError

STEP_PAGE = 100  # ListPipelineExecutionSteps' largest page
EXECUTION_PAGE = 100
OBJECT_PAGE = 1000  # ListObjectsV2's largest page
XCOM_OUTPUT = "xcom"  # the ProcessingOutput `bridge translate` gives each step's XComs
DEFAULT_RETRIES = {"mode": "standard", "max_attempts": 8}
READERS = 8  # parallel S3 reads of step outputs


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

    def step_outputs(self, execution_arn: str, steps: list[dict[str, Any]]) -> dict[str, dict]:
        """What each finished step produced, as its task's XComs: step name -> {key: value}.

        A Lambda step's output parameters are its return value. A processing step's XComs are
        its `xcom.json` (every key the task pushed), at the S3 URI of its output `xcom`: worked
        out from the execution's definition (one call for all steps), falling back to
        DescribeProcessingJob when the URI depends on more than the execution id. The S3 reads
        run in parallel."""
        outputs: dict[str, dict] = {}
        uris: dict[str, str] = {}
        planned = self._xcom_uris(execution_arn)
        for step in steps:
            metadata = step.get("Metadata") or {}
            name = step["StepName"]
            if "Lambda" in metadata:
                found = {
                    p["Name"]: p.get("Value")
                    for p in metadata["Lambda"].get("OutputParameters") or []
                }
                if found:
                    outputs[name] = {"return_value": found}
            elif (metadata.get("ProcessingJob") or {}).get("Arn"):
                uri = planned.get(name) or self._xcom_uri_of_job(metadata["ProcessingJob"]["Arn"])
                if uri:
                    uris[name] = uri
        if uris:
            self.s3  # noqa: B018 - one client, made before the threads share it
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            for name, found in zip(uris, pool.map(self.read_json, uris.values()), strict=True):
                if found is not None:
                    outputs[name] = found
        return outputs

    def _xcom_uris(self, execution_arn: str) -> dict[str, str]:
        definition = json.loads(
            self.conn.describe_pipeline_definition_for_execution(
                PipelineExecutionArn=execution_arn
            )["PipelineDefinition"]
        )
        known = {"Execution.PipelineExecutionId": execution_arn.rsplit("/", 1)[-1]}
        uris = {}
        for step in definition.get("Steps") or []:
            config = (step.get("Arguments") or {}).get("ProcessingOutputConfig") or {}
            for output in config.get("Outputs") or []:
                if output.get("OutputName") == XCOM_OUTPUT:
                    uri = _resolve(output["S3Output"]["S3Uri"], known)
                    if uri:
                        uris[step["Name"]] = uri.rstrip("/") + "/xcom.json"
        return uris

    def _xcom_uri_of_job(self, job_arn: str) -> str | None:
        uri = self.processing_outputs(job_arn).get(XCOM_OUTPUT)
        return uri.rstrip("/") + "/xcom.json" if uri else None

    def processing_outputs(self, job_arn: str) -> dict[str, str]:
        """A processing job's outputs as it ran them: output name -> S3 URI (the execution's
        own prefix already resolved, which the definition alone may not tell)."""
        job = self.conn.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
        return {
            output["OutputName"]: output["S3Output"]["S3Uri"]
            for output in (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []
            if output.get("OutputName") and (output.get("S3Output") or {}).get("S3Uri")
        }

    def list_objects(self, uri: str) -> list[dict[str, Any]]:
        """Every object under an S3 prefix (all pages), as ListObjectsV2 gives them (Key,
        Size, ...). The prefix is taken as a folder: `s3://b/out` does not list `out2/x`."""
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        objects = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": OBJECT_PAGE}
        )
        for page in pages:
            objects.extend(page.get("Contents") or [])
        return objects

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


def _resolve(value: Any, known: dict[str, str]) -> str | None:
    """A definition value made of strings, Std:Join and the Gets in `known`; None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Get"}:
        return known.get(value["Get"])
    if isinstance(value, dict) and set(value) == {"Std:Join"}:
        parts = [_resolve(v, known) for v in value["Std:Join"].get("Values") or []]
        if any(p is None for p in parts):
            return None
        return value["Std:Join"].get("On", "").join(parts)
    return None


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
