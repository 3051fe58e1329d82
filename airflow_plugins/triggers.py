"""MigratedPipelineTrigger: waits for a pipeline execution in the triggerer, freeing the
worker slot. It polls the way the operator does in sync mode (airflow_plugins/execution.py:
backoff while nothing changes) and logs every step change under its original task id, so the
task log reads the same in both modes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from botocore.exceptions import BotoCoreError, ClientError

from airflow_plugins.hooks import MigratedPipelineHook
from airflow_plugins.manifest import Migration

ERRORS_IN_A_ROW = 5  # after botocore's own retries; then the task fails with the error


class MigratedPipelineTrigger(BaseTrigger):
    """Fires when the execution ends (Succeeded, Failed or Stopped) or the deadline passes.

    :param execution_arn: The pipeline execution to watch.
    :param step_tasks: Step name -> original Airflow task id (from the manifest), for the log.
    :param poll_interval: Seconds between polls while steps change.
    :param max_poll_interval: Upper bound of the back-off while nothing changes.
    :param deadline: Epoch seconds after which the trigger fires with status ``timeout``.
    :param aws_conn_id, region_name, verify, botocore_config: As for the operator.
    """

    def __init__(
        self,
        *,
        execution_arn: str,
        step_tasks: dict[str, str] | None = None,
        poll_interval: float = 15.0,
        max_poll_interval: float = 120.0,
        deadline: float | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ):
        super().__init__()
        self.execution_arn = execution_arn
        self.step_tasks = step_tasks or {}
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.deadline = deadline
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__name__}",
            {
                "execution_arn": self.execution_arn,
                "step_tasks": self.step_tasks,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
            },
        )

    def hook(self) -> MigratedPipelineHook:
        return MigratedPipelineHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_plugins.execution import Watcher

        hook = await asyncio.to_thread(self.hook)
        watcher = Watcher(
            self.execution_arn,
            Migration(step_tasks=self.step_tasks),
            self.poll_interval,
            self.max_poll_interval,
        )
        errors = 0
        while True:
            try:
                snapshot = await asyncio.to_thread(watcher.poll, hook)
                errors = 0
            except (ClientError, BotoCoreError) as exc:
                errors += 1
                if errors >= ERRORS_IN_A_ROW:
                    yield TriggerEvent(self._event("error", message=str(exc), polls=watcher.polls))
                    return
                self.log.warning("polling %s failed (%s); trying again", self.execution_arn, exc)
                await asyncio.sleep(self.poll_interval)
                continue
            for change in snapshot.changes:
                self.log.info(change.line())
            if snapshot.done:
                yield TriggerEvent(
                    self._event(
                        snapshot.status, message=snapshot.failure_reason, polls=watcher.polls
                    )
                )
                return
            if self.deadline is not None and time.time() + watcher.interval > self.deadline:
                yield TriggerEvent(self._event("timeout", polls=watcher.polls))
                return
            await asyncio.sleep(watcher.interval)

    def _event(self, status: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "execution_arn": self.execution_arn, **extra}
