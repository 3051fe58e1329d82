"""The end of a failed step's job log, from CloudWatch Logs, for the task log.

SageMaker sends a Processing, Training or Transform job's output to CloudWatch Logs: the log
group of its kind, one stream per instance named `<job name>/<host>`. When an execution fails,
the operator (and the sensor) print, for each failed step, why it failed and the last
TAIL_LINES lines of its job's streams, one log line each, as the Amazon provider's SageMaker
operators print job logs. The Airflow connection that reaches SageMaker reaches CloudWatch (its
`endpoint_url`, or boto3's AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / AWS_ENDPOINT_URL).

Reading them is best effort: a failure (no permission, no stream yet, an endpoint that does not
answer) is one warning line and never hides the failure being reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from airflow_plugins.manifest import Migration

TAIL_LINES = 50
MAX_STEPS = 10  # failed steps whose logs are read (a wide fan-out can fail all at once)
MAX_STREAMS = 50  # DescribeLogStreams' largest page: the instances of one job that are read
FAILED_STEP = ("Failed", "Stopped")
# Step Metadata key -> (Describe*Job call and its name field, the job kind's log group).
JOB_KINDS = {
    "ProcessingJob": (
        "describe_processing_job",
        "ProcessingJobName",
        "/aws/sagemaker/ProcessingJobs",
    ),
    "TrainingJob": ("describe_training_job", "TrainingJobName", "/aws/sagemaker/TrainingJobs"),
    "TransformJob": ("describe_transform_job", "TransformJobName", "/aws/sagemaker/TransformJobs"),
}
LOG_RETRIES = {"mode": "standard", "max_attempts": 3}  # a best-effort read waits less


@dataclass(frozen=True)
class StepJob:
    """The job a step ran, as its Metadata names it."""

    kind: str  # ProcessingJob | TrainingJob | TransformJob
    arn: str

    @property
    def log_group(self) -> str:
        return JOB_KINDS[self.kind][2]

    @property
    def arn_name(self) -> str:
        """The name in the ARN: lower-cased by SageMaker, so not always the stream's."""
        return self.arn.rsplit("/", 1)[-1]


def step_job(step: dict[str, Any]) -> StepJob | None:
    metadata = step.get("Metadata") or {}
    for kind in JOB_KINDS:
        arn = (metadata.get(kind) or {}).get("Arn")
        if arn:
            return StepJob(kind, arn)
    return None


def log_failed_steps(
    hook: Any, steps: list[dict[str, Any]], migration: Migration, log: logging.Logger
) -> None:
    """For each failed or stopped step: its failure reason, then its job's last log lines."""
    failed = [s for s in steps if s.get("StepStatus") in FAILED_STEP]
    for step in failed[:MAX_STEPS]:
        name = step["StepName"]
        task = migration.task_of(name)
        where = task if task == name else f"{task} (step {name})"
        reason = step.get("FailureReason") or "no reason given"
        log.error("task %s %s: %s", where, step.get("StepStatus", "").lower(), reason)
        job = step_job(step)
        if job is None:
            continue
        try:
            _log_tail(hook, job, log)
        except Exception as exc:  # best effort, whatever went wrong: the failure comes first
            log.warning(
                "could not read the CloudWatch log of %s %s: %s",
                job.kind,
                job.arn_name,
                _why(exc),
            )
    if len(failed) > MAX_STEPS:
        log.info("%d more failed steps; their logs were not read", len(failed) - MAX_STEPS)


def _log_tail(hook: Any, job: StepJob, log: logging.Logger) -> None:
    name = _job_name(hook, job)
    client = logs_client(hook)
    try:
        streams = client.describe_log_streams(
            logGroupName=job.log_group,
            logStreamNamePrefix=f"{name}/",
            orderBy="LogStreamName",
            limit=MAX_STREAMS,
        )["logStreams"]
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise
        streams = []  # no log group yet: nothing any job of this kind wrote
    if not streams:
        log.warning("%s %s wrote no CloudWatch log (%s)", job.kind, name, job.log_group)
        return
    names = [s["logStreamName"] for s in streams]
    lines = tail(client, job.log_group, names, TAIL_LINES)
    log.info(
        "Last %d lines of %s %s (CloudWatch %s %s):",
        len(lines),
        job.kind,
        name,
        job.log_group,
        ", ".join(names),
    )
    for line in lines:
        log.info("%s", line)


def _job_name(hook: Any, job: StepJob) -> str:
    """The job's name as its streams spell it: Describe*Job's (the ARN's is lower-cased)."""
    describe, field, _ = JOB_KINDS[job.kind]
    try:
        return getattr(hook.conn, describe)(**{field: job.arn_name})[field]
    except (ClientError, BotoCoreError, KeyError):
        return job.arn_name


def logs_client(hook: Any):
    """A CloudWatch Logs client on the same connection, region and endpoint as `hook`."""
    config = hook.config.merge(Config(retries=LOG_RETRIES))
    return AwsLogsHook(
        aws_conn_id=hook.aws_conn_id,
        region_name=hook.region_name,
        verify=hook.verify,
        config=config,
    ).conn


def tail(client: Any, group: str, streams: list[str], count: int) -> list[str]:
    """The last `count` events of the streams together, oldest first; each line names its
    stream's host when there are several."""
    events = []
    for index, stream in enumerate(streams):
        # Read from the end: the head of a long job's stream is never needed.
        page = client.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=False, limit=count
        )
        host = stream.split("/", 1)[-1]
        for order, event in enumerate(page.get("events") or []):
            message = event.get("message", "").rstrip("\n")
            line = f"[{host}] {message}" if len(streams) > 1 else message
            events.append((event.get("timestamp", 0), index, order, line))
    return [line for *_, line in sorted(events)[-count:]]


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _why(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return f"{_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"
