"""One attempt of a `bridge serve` execution: a local run in a thread of its own, and its
events turned into what the API shows.

The runner (bridge/run/engine.py) reports each step's start and end. A start adds the step's row
(Executing) to ListPipelineExecutionSteps and, for a Processing or Training step, opens its job
with the step's Arguments resolved as the runner resolves them at that moment. An end fills in
the row (status, times, attempts, failure, metadata, cache hit), closes the job and keeps the
step's record and properties, which a retry or a selective execution may reuse. When the run
returns, its RunRecord decides the execution's status.
"""

from __future__ import annotations

import re
import sys
import threading
import traceback
from typing import Any

from bridge.serve.state import (
    ACCOUNT,
    EXECUTING,
    FAILED,
    STOPPED,
    SUCCEEDED,
    Execution,
    Job,
    ServeState,
    StepEntry,
    job_name,
    now,
    parameter_text,
)

# RunRecord step status -> StepStatus. NotRunnable (a local limit) is a failure to SageMaker.
STEP_STATUS = {"Succeeded": SUCCEEDED, "Failed": FAILED, "Stopped": STOPPED, "NotRunnable": FAILED}
JOB_STATUS = {SUCCEEDED: "Completed", FAILED: "Failed", STOPPED: "Stopped"}
_CACHE_HIT = re.compile(r"cache hit: execution (\S+)")


class ExecutionRun:
    def __init__(self, state: ServeState, execution: Execution, reuse: dict):
        self.state = state
        self.execution = execution
        self.reuse = reuse  # step -> local_run.Reused
        self.run: Any = None  # the LocalRun, once made

    def start(self) -> None:
        from bridge.run.steps import StopSignal

        self.execution.stop = StopSignal()
        self.execution.thread = threading.Thread(
            target=self._main, name=f"bridge-serve-{self.execution.id}", daemon=True
        )
        self.execution.thread.start()

    def _main(self) -> None:
        from bridge.run.engine import LocalRun, RunError, RunOptions

        state, execution = self.state, self.execution
        options = RunOptions(
            parameters=dict(execution.parameters),
            run_root=state.run_root,
            store=state.store_root,
            step_timeout=state.step_timeout,
            isolation=state.isolation,
            data_dir=state.data_dir,
            execution_id=execution.id,
            on_event=self._on_event,
            stop=execution.stop,
            reuse=self.reuse,
            selected=execution.selected,
        )
        try:
            self.run = LocalRun(execution.version.folder, options)
            record = self.run.execute()
        except RunError as exc:
            self._finish(FAILED, exc.message)
        except Exception as exc:  # a bug here must not leave the execution Executing forever
            traceback.print_exc(file=sys.stderr)
            self._finish(FAILED, f"bridge serve internal error: {exc!r}")
        else:
            status = {"Stopped": STOPPED, "Failed": FAILED}.get(record.status, SUCCEEDED)
            reason = record.message if status == FAILED else ""
            not_runnable = [s for s in record.steps.values() if s.status == "NotRunnable"]
            if status == SUCCEEDED and not_runnable:
                status = FAILED
                reason = f"step {not_runnable[0].name} cannot run locally: {not_runnable[0].reason}"
            self._finish(status, reason)

    def _finish(self, status: str, reason: str) -> None:
        with self.state.lock:
            for entry in self.execution.steps.values():  # a step the run never closed
                if entry.status == EXECUTING:
                    entry.status = STOPPED if status == STOPPED else FAILED
                    entry.ended = now()
            self.execution.status = status
            self.execution.failure = reason[:1300]
            self.execution.modified = now()

    # -- the runner's events --------------------------------------------------------------------

    def _on_event(self, event: str, step: Any) -> None:
        execution = self.execution
        with self.state.lock:
            if event == "start":
                definition = self.run.steps.get(step.name) or {}
                entry = StepEntry(
                    name=step.name,
                    kind=step.kind,
                    status=EXECUTING,
                    started=step.started or now(),
                    display_name=definition.get("DisplayName") or "",
                    description=definition.get("Description") or "",
                )
                if step.name in self.run.iterations:  # a ForEach step's child
                    entry.iteration = self.run.iterations[step.name].to_api()
                if step.kind in ("Processing", "Training"):
                    job = self._open_job(step.name, step.kind, step.log)
                    entry.metadata = {f"{step.kind}Job": {"Arn": job.arn}}
                execution.steps[step.name] = entry
            else:
                entry = execution.steps.get(step.name)
                if entry is not None and entry.status == EXECUTING:  # else it never started
                    self._close(entry, step)
            execution.modified = now()

    def _close(self, entry: StepEntry, step: Any) -> None:
        execution, jobs = self.execution, self.state.jobs
        entry.ended = step.ended or now()
        entry.status = STEP_STATUS.get(step.status, FAILED)
        entry.attempts = step.attempts
        entry.failure = step.reason if entry.status in (FAILED, STOPPED) else ""
        definition = self.run.steps.get(step.name) or {}
        properties = self.run.scope.properties.get(step.name) or {}
        if step.kind == "Condition" and step.branch is not None:
            entry.metadata = {"Condition": {"Outcome": str(bool(step.branch))}}
        elif step.kind == "Fail":
            entry.metadata = {"Fail": {"ErrorMessage": step.reason[:3072]}}
        elif step.kind == "ForEach":  # its status and counts (ForEachStepMetadata)
            entry.metadata = {"ForEach": dict(step.outputs)}
        elif step.kind == "Lambda":
            function: dict[str, Any] = {"Arn": str(definition.get("FunctionArn") or "")}
            outputs = properties.get("OutputParameters") or {}
            if outputs:
                function["OutputParameters"] = [
                    {"Name": k, "Value": parameter_text(v)[:1024]} for k, v in outputs.items()
                ]
            entry.metadata = {"Lambda": function}
        job = jobs.get(execution.job_names.get(step.name, "").lower())
        if job is not None and job.execution_arn == execution.arn:
            if step.status == "NotRunnable" or step.cached:
                del jobs[job.name.lower()]  # no job was created
                entry.metadata = {}
            else:
                _close_job(job, entry, properties)
        if step.cached:
            match = _CACHE_HIT.search(step.reason or "")
            if match:
                entry.cache_source = f"{execution.pipeline.arn}/execution/{match.group(1)}"
                source_job = jobs.get(job_name(match.group(1), step.name).lower())
                if source_job is not None:
                    entry.metadata = {f"{source_job.kind}Job": {"Arn": source_job.arn}}
        if step.status == "Succeeded":
            execution.properties[step.name] = properties
        execution.step_runs[step.name] = step

    def _open_job(self, step: str, kind: str, log: str | None) -> Job:
        from bridge.run.values import resolve

        try:
            arguments = resolve(self.run.steps[step].get("Arguments") or {}, self.run.scope)
        except ValueError:
            arguments = {}  # the step fails with the same error
        # A ForEach step's children are named as they start.
        name = self.execution.job_names.setdefault(step, job_name(self.execution.id, step))
        resource = "processing-job" if kind == "Processing" else "training-job"
        path = self.run.run_folder / log if log else None
        earlier = self.state.jobs.get(name.lower())  # an attempt before a retry: same log
        job = Job(
            kind=kind,
            name=name,
            arn=f"arn:aws:sagemaker:{self.state.region}:{ACCOUNT}:{resource}/{name.lower()}",
            step=step,
            execution_arn=self.execution.arn,
            arguments=arguments if isinstance(arguments, dict) else {},
            created=now(),
            log=path,
            log_marks=earlier.log_marks if earlier is not None and earlier.log == path else [],
        )
        self.state.jobs[name.lower()] = job
        return job


def _close_job(job: Job, entry: StepEntry, properties: dict) -> None:
    job.status = JOB_STATUS.get(entry.status, "Failed")
    job.failure = entry.failure
    job.ended = entry.ended
    if job.kind == "Training" and entry.status == SUCCEEDED:
        if properties.get("ModelArtifacts"):
            job.details["ModelArtifacts"] = properties["ModelArtifacts"]
        job.details["FinalMetricDataList"] = [
            {**m, "Timestamp": entry.ended} for m in properties.get("FinalMetricDataList") or []
        ]
