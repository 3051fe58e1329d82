"""MigratedPipelineSensor: wait for a pipeline execution started elsewhere (another DAG, a
schedule in SageMaker, a person in Studio), reporting its steps under their original task ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.configuration import conf
from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from airflow_plugins.execution import Watcher, failure_message
from airflow_plugins.hooks import MigratedPipelineHook
from airflow_plugins.job_logs import log_failed_steps
from airflow_plugins.manifest import Migration, task_states
from airflow_plugins.triggers import MigratedPipelineTrigger


class MigratedPipelineSensor(AwsBaseSensor[MigratedPipelineHook]):
    """Succeeds when the execution succeeds; fails when it fails or is stopped.

    :param execution_arn: The pipeline execution to wait for.
    :param manifest: Optional path to the migration's ``manifest.json`` (relative to the DAG
        file's folder) to report steps under their original task ids.
    :param deferrable: Wait in the triggerer instead of poking from a worker.
    :param max_poll_interval: Deferrable mode: polls back off to this while nothing changes.
    """

    aws_hook_class = MigratedPipelineHook
    template_fields: Sequence[str] = aws_template_fields("execution_arn", "manifest")

    def __init__(
        self,
        *,
        execution_arn: str,
        manifest: str | None = None,
        max_poll_interval: float = 120.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.execution_arn = execution_arn
        self.manifest = manifest
        self.max_poll_interval = max_poll_interval
        self.deferrable = deferrable
        self._watcher: Watcher | None = None

    def _migration(self, context) -> Migration:
        from airflow_plugins.operators import manifest_path

        path = manifest_path(self.manifest, context)
        return Migration.load(path) if path else Migration()

    def execute(self, context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=MigratedPipelineTrigger(
                execution_arn=self.execution_arn,
                step_tasks=self._migration(context).step_tasks,
                poll_interval=self.poke_interval,
                max_poll_interval=self.max_poll_interval,
                deadline=None if self.timeout is None else _deadline(self.timeout),
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
        )

    def poke(self, context) -> bool:
        migration = self._migration(context)
        if self._watcher is None:
            self._watcher = Watcher(self.execution_arn, migration)
        snapshot = self._watcher.poll(self.hook)
        for change in snapshot.changes:
            self.log.info(change.line())
        if not snapshot.done:
            return False
        context["ti"].xcom_push(key="task_states", value=task_states(migration, snapshot.steps))
        if snapshot.status != "Succeeded":
            log_failed_steps(self.hook, snapshot.steps, migration, self.log)
            raise AirflowException(failure_message(snapshot, migration))
        return True

    def execute_complete(self, context, event: dict[str, Any] | None = None) -> None:
        status = (event or {}).get("status")
        if status == "Succeeded":
            return
        if status == "timeout":
            raise AirflowException(f"execution {self.execution_arn} did not end in time")
        migration = self._migration(context)
        snapshot = Watcher(self.execution_arn, migration).poll(self.hook)
        if snapshot.done:
            log_failed_steps(self.hook, snapshot.steps, migration, self.log)
        raise AirflowException(
            failure_message(snapshot, migration) if snapshot.done else f"trigger event: {event}"
        )


def _deadline(timeout: float | timedelta) -> float:
    import time

    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    return time.time() + seconds
