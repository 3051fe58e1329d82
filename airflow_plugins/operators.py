"""MigratedPipelineOperator: run a migrated SageMaker pipeline from inside an Airflow DAG.

What it adds to the Amazon provider's SageMakerStartPipelineOperator:
  - parameters filled from the Airflow context through the migration's manifest.json;
  - re-attaches to the execution of this task instance on an Airflow retry or a worker restart
    (see airflow_plugins/execution.py for how an execution is identified);
  - a Stopped execution fails the task, in sync and deferrable mode alike;
  - every step's status as it changes, under the original task id (all pages of steps);
  - when steps fail, each one's reason and the end of its job's CloudWatch log
    (airflow_plugins/job_logs.py);
  - each migrated task's XComs, which MigratedTaskOutput (a stand-in kept under the original
    task id) re-publishes, so legacy downstream tasks that `xcom_pull` from migrated tasks,
    and their trigger rules, keep working;
  - files back: worker folders the migrated steps wrote (job outputs on SageMaker) are
    downloaded to the worker when tasks that stay in Airflow use them
    (airflow_plugins/folders.py);
  - optional RetryPipelineExecution of a failed execution, selective execution of the steps of
    chosen tasks, a link to the execution, `on_kill` stops the execution.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from airflow.configuration import conf
from airflow.exceptions import AirflowException, AirflowSkipException
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk import BaseOperator

from airflow_plugins.execution import Snapshot, TaskInstanceIdentity, Watcher, failure_message
from airflow_plugins.folders import (
    UnsafeFolder,
    bring_back,
    outputs_to_bring_back,
    tasks_staying,
)
from airflow_plugins.hooks import MigratedPipelineHook
from airflow_plugins.job_logs import log_failed_steps
from airflow_plugins.links import SageMakerPipelineExecutionLink, execution_url
from airflow_plugins.manifest import Migration, native_param, pipeline_parameters, task_states
from airflow_plugins.triggers import MigratedPipelineTrigger

OnFailedExecution = Literal["fail", "retry", "restart"]
RUNNING = ("Executing", "Stopping")
TASK_STATES = "task_states"
TASK_OUTPUTS = "task_outputs"
FILES_BACK = "files_back"


class MigratedPipelineOperator(AwsBaseOperator[MigratedPipelineHook]):
    """Start (or re-attach to) an execution of a migrated pipeline and wait for it.

    :param pipeline_name: The SageMaker pipeline to run.
    :param manifest: Path to the migration's ``manifest.json`` (``bridge translate`` output);
        relative paths are read from the DAG file's folder. Without it, steps are reported
        under their own names and no parameter is filled from the context.
    :param tasks: Original task ids to run: only their steps run (selective execution).
        Default: the whole pipeline.
    :param parameters: Pipeline parameter values that win over those filled from the context.
    :param reference_execution_arn: For selective runs, the execution whose outputs the steps
        that do not run provide.
    :param wait_for_completion: Wait for the execution to end (default True).
    :param poll_interval: Seconds between polls while steps change.
    :param max_poll_interval: Polls back off to this while nothing changes.
    :param max_wait: Give up waiting after this long (the execution keeps running and a retry
        re-attaches to it). Default: no limit (use ``execution_timeout`` for a hard limit).
    :param on_failed_execution: What a new try does when this task instance's earlier
        execution failed or stopped: ``fail`` (default, report it again), ``retry``
        (RetryPipelineExecution: resume from the failed steps) or ``restart`` (a new one).
    :param execution_retries: How many times to RetryPipelineExecution a failed execution
        within one try before failing the task.
    :param studio_domain_id: SageMaker Studio domain, for the extra link.
    :param publish_outputs: Read every succeeded step's XComs (one S3 read each, in parallel)
        and push them as ``task_outputs``. Turn off when no downstream task reads them.
    :param deferrable: Wait in the triggerer, freeing the worker slot.
    :param aws_conn_id: The Airflow connection used for AWS credentials (its extra may set
        ``endpoint_url``). If None, boto3's default credentials are used.
    :param region_name: AWS region name.
    :param verify: Whether to verify SSL certificates.
    :param botocore_config: botocore client configuration (dict).

    :return: The pipeline execution ARN. XComs pushed as well: ``pipeline_execution_arn``,
        ``task_states`` (original task id -> success/failed/running/skipped),
        ``step_statuses`` (step -> SageMaker status), ``task_outputs`` (original task id ->
        its XComs: return value and pushed keys), which MigratedTaskOutput tasks re-publish
        under the original task ids, and ``files_back`` (per folder output downloaded to the
        worker: step, task_id, folder, source, path, files, bytes) when tasks that stay in
        Airflow use a worker folder the migrated steps wrote.
    """

    aws_hook_class = MigratedPipelineHook
    template_fields: Sequence[str] = aws_template_fields(
        "pipeline_name", "manifest", "tasks", "parameters", "reference_execution_arn"
    )
    template_fields_renderers = {"parameters": "json"}
    operator_extra_links = (SageMakerPipelineExecutionLink(),)
    ui_color = "#d6e9ff"

    def __init__(
        self,
        *,
        pipeline_name: str,
        manifest: str | None = None,
        tasks: list[str] | None = None,
        parameters: dict[str, Any] | None = None,
        reference_execution_arn: str | None = None,
        wait_for_completion: bool = True,
        poll_interval: float = 15.0,
        max_poll_interval: float = 120.0,
        max_wait: timedelta | None = None,
        on_failed_execution: OnFailedExecution = "fail",
        execution_retries: int = 0,
        studio_domain_id: str | None = None,
        publish_outputs: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if on_failed_execution not in ("fail", "retry", "restart"):
            raise ValueError(
                f"on_failed_execution must be fail, retry or restart, not {on_failed_execution!r}"
            )
        self.pipeline_name = pipeline_name
        self.manifest = manifest
        self.tasks = tasks
        self.parameters = parameters
        self.reference_execution_arn = reference_execution_arn
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_wait = max_wait
        self.on_failed_execution = on_failed_execution
        self.execution_retries = execution_retries
        self.studio_domain_id = studio_domain_id
        self.publish_outputs = publish_outputs
        self.deferrable = deferrable
        self._execution_arn: str | None = None
        self._finished = False

    # -- start or re-attach -------------------------------------------------------------------

    def execute(self, context) -> str:
        migration = self._migration(context)
        arn = self._attach_or_start(context, migration)
        self._execution_arn = arn
        context["ti"].xcom_push(key="pipeline_execution_arn", value=arn)
        SageMakerPipelineExecutionLink.persist(
            context,
            execution_url(
                arn,
                region=self.hook.region_name,
                endpoint_url=self.hook.endpoint_url,
                studio_domain_id=self.studio_domain_id
                or self.hook.conn_config.extra_config.get("studio_domain_id"),
            ),
        )
        if not self.wait_for_completion:
            return arn
        if self.deferrable:
            self._defer(arn, migration, retries_used=0)
        return self._wait(context, migration, arn)

    def _identity(self, context) -> TaskInstanceIdentity:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return TaskInstanceIdentity(
            ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else map_index
        )

    def _migration(self, context) -> Migration:
        path = manifest_path(self.manifest, context)
        if path is None:
            return Migration()
        try:
            return Migration.load(path)
        except ValueError as exc:
            raise AirflowException(str(exc)) from None

    def _attach_or_start(self, context, migration: Migration) -> str:
        identity = self._identity(context)
        started = getattr(context.get("dag_run"), "start_date", None)
        previous = [
            e
            for e in self.hook.find_executions(
                self.pipeline_name,
                identity.display_name,
                created_after=started - timedelta(hours=1) if started else None,
            )
            if identity.owns(e.get("PipelineExecutionDescription"))
        ]
        if previous:
            latest = previous[0]
            arn, status = latest["PipelineExecutionArn"], latest["PipelineExecutionStatus"]
            if status in RUNNING or status == "Succeeded":
                self.log.info(
                    "Re-attaching to execution %s (%s) of this task instance", arn, status
                )
                return arn
            reason = latest.get("PipelineExecutionFailureReason") or ""
            if self.on_failed_execution == "fail":
                raise AirflowException(
                    f"this task instance's execution {arn} ended {status}"
                    + (f": {reason}" if reason else "")
                    + "; set on_failed_execution='retry' (resume it) or 'restart' (start anew)"
                )
            if self.on_failed_execution == "retry":
                self.log.info("Retrying execution %s, which ended %s", arn, status)
                return self.hook.retry_execution(arn, token=str(uuid.uuid4()))
        parameters = pipeline_parameters(
            migration, lambda t: self._context_value(t, context), self.parameters
        )
        selected = migration.steps_of(self.tasks) if self.tasks else None
        if selected and set(selected) == set(migration.step_tasks):
            selected = None  # all of it: an ordinary execution
        arn = self.hook.start_execution(
            self.pipeline_name,
            parameters=parameters,
            display_name=identity.display_name,
            description=identity.description,
            token=identity.token(generation=len(previous)),
            selected_steps=selected,
            source_execution_arn=self.reference_execution_arn,
        )
        self.log.info(
            "Started execution %s of %s with parameters %s%s",
            arn,
            self.pipeline_name,
            parameters,
            f", steps {selected}" if selected else "",
        )
        return arn

    def _context_value(self, template: str, context) -> Any:
        name = native_param(template)
        if name is not None:  # keep lists/dicts/numbers as they are, not their str()
            return (context.get("params") or {}).get(name)
        return self.render_template(template, context)

    # -- wait ---------------------------------------------------------------------------------

    def _wait(self, context, migration: Migration, arn: str) -> str:
        watcher = Watcher(arn, migration, self.poll_interval, self.max_poll_interval)
        deadline = time.monotonic() + self.max_wait.total_seconds() if self.max_wait else None
        retries_used = 0
        while True:
            try:
                snapshot = watcher.wait(self.hook, self.log, deadline)
            except TimeoutError:
                raise AirflowException(
                    f"execution {arn} still running after {self.max_wait}; it keeps running, "
                    "and a retry of this task re-attaches to it"
                ) from None
            if snapshot.status == "Failed" and retries_used < self.execution_retries:
                retries_used += 1
                self.log.warning(
                    "%s; RetryPipelineExecution (%d of %d)",
                    failure_message(snapshot, migration),
                    retries_used,
                    self.execution_retries,
                )
                self.hook.retry_execution(arn, token=str(uuid.uuid4()))
                continue
            return self._finish(context, migration, arn, snapshot)

    def _defer(self, arn: str, migration: Migration, retries_used: int) -> None:
        self.defer(
            trigger=MigratedPipelineTrigger(
                execution_arn=arn,
                step_tasks=migration.step_tasks,
                poll_interval=self.poll_interval,
                max_poll_interval=self.max_poll_interval,
                deadline=time.time() + self.max_wait.total_seconds() if self.max_wait else None,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
            kwargs={"retries_used": retries_used},
        )

    def execute_complete(
        self, context, event: dict[str, Any] | None = None, retries_used: int = 0
    ) -> str:
        if not event or "execution_arn" not in event:
            raise AirflowException(f"the trigger sent no usable event: {event!r}")
        arn = self._execution_arn = event["execution_arn"]
        migration = self._migration(context)
        if event["status"] == "timeout":
            raise AirflowException(
                f"execution {arn} still running after {self.max_wait}; it keeps running, "
                "and a retry of this task re-attaches to it"
            )
        if event["status"] == "error":
            raise AirflowException(f"could not watch execution {arn}: {event.get('message')}")
        if event["status"] == "Failed" and retries_used < self.execution_retries:
            self.log.warning(
                "execution %s failed; RetryPipelineExecution (%d of %d)",
                arn,
                retries_used + 1,
                self.execution_retries,
            )
            self.hook.retry_execution(arn, token=str(uuid.uuid4()))
            self._defer(arn, migration, retries_used + 1)
        snapshot = Watcher(arn, migration).poll(self.hook)
        return self._finish(context, migration, arn, snapshot)

    # -- report -------------------------------------------------------------------------------

    def _finish(self, context, migration: Migration, arn: str, snapshot: Snapshot) -> str:
        self._finished = True
        states = task_states(migration, snapshot.steps)
        for task in self._tasks_in_scope(migration):
            states.setdefault(task, "skipped" if snapshot.status == "Succeeded" else "not_run")
        ti = context["ti"]
        ti.xcom_push(key=TASK_STATES, value=states)
        ti.xcom_push(
            key="step_statuses", value={s["StepName"]: s.get("StepStatus") for s in snapshot.steps}
        )
        self.log.info("Per task: %s", ", ".join(f"{t}={s}" for t, s in sorted(states.items())))
        if snapshot.status != "Succeeded":
            log_failed_steps(self.hook, snapshot.steps, migration, self.log)
            raise AirflowException(failure_message(snapshot, migration))
        if self.publish_outputs:
            self._republish(context, migration, arn, snapshot)
        self._bring_back_files(context, migration, snapshot)
        return arn

    def _tasks_in_scope(self, migration: Migration) -> list[str]:
        return list(self.tasks or migration.task_steps)

    def _republish(self, context, migration: Migration, arn: str, snapshot: Snapshot) -> None:
        """Each succeeded step's outputs, by original task id, as XCom `task_outputs` of this
        task; MigratedTaskOutput tasks (one per original task id, kept by `bridge cutover`)
        re-publish them under that id. Airflow keeps XComs only for task instances of the run
        (a foreign key), so they cannot be written under an id that is no longer a task."""
        succeeded = [s for s in snapshot.steps if s.get("StepStatus") == "Succeeded"]
        outputs: dict[str, dict[str, Any]] = {}
        for step, found in sorted(self.hook.step_outputs(arn, succeeded).items()):
            task_id = migration.task_of(step)
            kept = {k: v for k, v in found.items() if not k.startswith("bridge_")}
            outputs.setdefault(task_id, {}).update(kept)  # bridge_*: the runtime's bookkeeping
        self.log.info("Outputs of %d task(s) read for re-publishing", len(outputs))
        context["ti"].xcom_push(key=TASK_OUTPUTS, value=outputs)

    def _bring_back_files(self, context, migration: Migration, snapshot: Snapshot) -> None:
        """Download the worker folders the migrated steps wrote into the worker, when tasks
        that stay in Airflow read or write them: on SageMaker those files are job outputs, and
        a task after the cutover (`cp "$OUT/model.json" ...`) would find nothing."""
        scope = self._tasks_in_scope(migration)
        dag = context.get("dag")
        dag_tasks = getattr(dag, "task_dict", None)
        staying = tasks_staying(migration, scope, dag_tasks)
        outputs = outputs_to_bring_back(migration, scope, staying, snapshot.steps)
        if not outputs:
            return
        fileloc = getattr(dag, "fileloc", None)
        try:
            brought = bring_back(
                self.hook,
                outputs,
                Path(fileloc).parent if fileloc else None,
                os.environ,
                self.log,
            )
        except UnsafeFolder as exc:
            raise AirflowException(f"files of the migrated steps not brought back: {exc}") from None
        context["ti"].xcom_push(key=FILES_BACK, value=brought)

    def on_kill(self) -> None:
        if self._execution_arn and not self._finished:
            self.log.info("Task killed: stopping execution %s", self._execution_arn)
            self.hook.stop_execution(self._execution_arn, token=str(uuid.uuid4()))


def manifest_path(manifest: str | None, context) -> Path | None:
    """A manifest path as written in the DAG: relative ones are next to the DAG file."""
    if not manifest:
        return None
    path = Path(manifest)
    if not path.is_absolute():
        dag_file = getattr(context.get("dag"), "fileloc", None)
        if dag_file:
            path = Path(dag_file).parent / path
    return path


class MigratedTaskOutput(BaseOperator):
    """Stands in for one migrated task, under its original task id: ends as its steps did
    (success, skipped when a branch skipped them, failed otherwise) and re-publishes its
    XComs (return value and pushed keys), so legacy downstream tasks, their trigger rules and
    `xcom_pull(task_ids=...)` keep working. Takes no worker time worth counting: it reads
    two XComs of the MigratedPipelineOperator task.

    :param pipeline_task: Task id of the MigratedPipelineOperator that ran this task's steps.
    """

    template_fields: Sequence[str] = ("pipeline_task",)
    ui_color = "#eef5ff"

    def __init__(self, *, pipeline_task: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.pipeline_task = pipeline_task

    def execute(self, context) -> Any:
        ti = context["ti"]
        states = ti.xcom_pull(task_ids=self.pipeline_task, key=TASK_STATES) or {}
        state = states.get(self.task_id)
        if state is None:
            raise AirflowException(
                f"{self.pipeline_task} reported no steps for task {self.task_id}: is it in "
                "that operator's `tasks`?"
            )
        if state == "skipped":
            raise AirflowSkipException(f"its steps did not run in {self.pipeline_task}'s execution")
        if state != "success":
            raise AirflowException(f"its steps ended {state} in {self.pipeline_task}'s execution")
        outputs = (ti.xcom_pull(task_ids=self.pipeline_task, key=TASK_OUTPUTS) or {}).get(
            self.task_id
        ) or {}
        for key, value in sorted(outputs.items()):
            if key != "return_value":
                ti.xcom_push(key=key, value=value)
        return outputs.get("return_value")
