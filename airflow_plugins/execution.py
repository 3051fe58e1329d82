"""Which execution belongs to which task instance, and watching one until it ends.

Identity: an execution started by the operator carries
  - a display name `af-<dag>-<task>-<hash>`, the hash over (dag_id, run_id, task_id,
    map_index): the same for every try of the task instance, unique across DAG runs;
  - a description with those four values as JSON (checked on re-attach, so a hash collision
    can never attach to a stranger's execution);
  - a ClientRequestToken derived from the same values and a generation number: SageMaker
    returns the existing execution when a start is repeated with the same token, so even a
    worker that dies between "start" and "remember the ARN" cannot start a second one.

Watching: one poll = DescribePipelineExecution + ListPipelineExecutionSteps (all pages). The
interval starts at `poll_interval`, grows by half when nothing changed, up to
`max_poll_interval`, and drops back as soon as a step changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_plugins.manifest import TERMINAL_EXECUTION, Migration

DISPLAY_NAME_MAX = 82
DESCRIPTION_MAX = 3072
BACKOFF = 1.5


@dataclass(frozen=True)
class TaskInstanceIdentity:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @property
    def digest(self) -> str:
        text = "\0".join([self.dag_id, self.run_id, self.task_id, str(self.map_index)])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def display_name(self) -> str:
        suffix = "-" + self.digest[:12]
        head = f"af-{_slug(self.dag_id)[:36]}-{_slug(self.task_id)[:24]}"
        return re.sub("-+", "-", head)[: DISPLAY_NAME_MAX - len(suffix)].strip("-") + suffix

    @property
    def description(self) -> str:
        text = json.dumps({"airflow": self._fields()}, sort_keys=True)
        if len(text) > DESCRIPTION_MAX:  # very long ids: their digest stands in
            text = json.dumps({"airflow": {"digest": self.digest}})
        return text

    def token(self, generation: int = 0) -> str:
        return hashlib.sha256(f"{self.digest}:{generation}".encode()).hexdigest()

    def owns(self, description: str | None) -> bool:
        return description == self.description

    def _fields(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
        }


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-") or "x"


@dataclass
class StepChange:
    step: str
    task_id: str
    status: str
    previous: str | None
    reason: str = ""

    def line(self) -> str:
        where = self.task_id if self.task_id == self.step else f"{self.task_id} (step {self.step})"
        text = f"task {where}: {self.previous or 'new'} -> {self.status}"
        return text + (f": {self.reason}" if self.reason else "")


@dataclass
class Snapshot:
    status: str
    failure_reason: str
    steps: list[dict[str, Any]]
    changes: list[StepChange]

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_EXECUTION


@dataclass
class Watcher:
    """Polls one execution; remembers step statuses so each poll reports only changes."""

    execution_arn: str
    migration: Migration = field(default_factory=Migration)
    poll_interval: float = 15.0
    max_poll_interval: float = 120.0
    seen: dict[str, str] = field(default_factory=dict)
    interval: float = 0.0
    polls: int = 0

    def poll(self, hook) -> Snapshot:
        self.polls += 1
        execution = hook.describe_execution(self.execution_arn)
        steps = hook.list_steps(self.execution_arn)
        changes = []
        for step in steps:
            name, status = step["StepName"], step.get("StepStatus", "")
            if self.seen.get(name) != status:
                changes.append(
                    StepChange(
                        name,
                        self.migration.task_of(name),
                        status,
                        self.seen.get(name),
                        step.get("FailureReason", ""),
                    )
                )
                self.seen[name] = status
        base = self.poll_interval
        self.interval = base if changes or not self.interval else self.interval * BACKOFF
        self.interval = min(self.interval, max(self.max_poll_interval, base))
        return Snapshot(
            execution.get("PipelineExecutionStatus", ""),
            execution.get("FailureReason", ""),
            steps,
            changes,
        )

    def wait(self, hook, log, deadline: float | None = None) -> Snapshot:
        """Poll until the execution ends (sync mode). Raises TimeoutError at the deadline."""
        while True:
            snapshot = self.poll(hook)
            for change in snapshot.changes:
                log.info(change.line())
            if snapshot.done:
                return snapshot
            if deadline is not None and time.monotonic() + self.interval > deadline:
                raise TimeoutError(self.execution_arn)
            time.sleep(self.interval)


def failure_message(snapshot: Snapshot, migration: Migration) -> str:
    """Why the execution did not succeed, naming the original task(s) that failed."""
    failed = [
        f"task {migration.task_of(s['StepName'])} (step {s['StepName']}): "
        f"{s.get('FailureReason') or s.get('StepStatus')}"
        for s in snapshot.steps
        if s.get("StepStatus") in ("Failed", "Stopped")
    ]
    head = f"pipeline execution {snapshot.status}"
    if snapshot.failure_reason:
        head += f": {snapshot.failure_reason}"
    return head + ("".join(f"\n  {f}" for f in failed) if failed else "")
