"""The operator's extra link: the pipeline execution, where its steps can be seen.

- On AWS: SageMaker Studio when a domain id is known (operator argument or the connection
  extra `studio_domain_id`), else the SageMaker console's pipeline page in the region.
- On a local endpoint (`bridge serve`, the connection's `endpoint_url`): this Airflow's own
  "Migrated pipelines" page (airflow_plugins/plugin.py) showing that execution.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

PLUGIN_PAGE = "/bridge/"


def execution_url(
    execution_arn: str,
    *,
    region: str | None,
    endpoint_url: str | None = None,
    studio_domain_id: str | None = None,
) -> str:
    # arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>
    parts = execution_arn.split(":", 5)
    region = region or (parts[3] if len(parts) > 3 else "us-east-1")
    resource = parts[5] if len(parts) > 5 else ""
    _, name, _, execution_id = (resource.split("/") + ["", "", "", ""])[:4]
    if endpoint_url:
        return f"{PLUGIN_PAGE}?execution={quote(execution_arn, safe='')}"
    if studio_domain_id:
        return (
            f"https://studio-{studio_domain_id}.studio.{region}.sagemaker.aws"
            f"/pipelines/{name}/executions/{execution_id}"
        )
    return (
        f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
        f"#/pipelines/{name}/executions/{execution_id}"
    )


class SageMakerPipelineExecutionLink(BaseOperatorLink):
    """Link to the execution the task started or attached to."""

    name = "SageMaker pipeline execution"
    key = "bridge_pipeline_execution_link"

    @classmethod
    def persist(cls, context, url: str) -> None:
        context["ti"].xcom_push(key=cls.key, value=url)

    def get_link(self, operator, *, ti_key) -> str:
        return XCom.get_value(key=self.key, ti_key=ti_key) or ""
