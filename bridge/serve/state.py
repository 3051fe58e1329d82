"""What `bridge serve` knows: pipelines, their executions and the jobs those ran.

Here are the rules SageMaker applies to pipelines and executions: names and ARNs, versions,
idempotency tokens, which executions may be stopped, retried or deleted, what a selective
execution runs and reuses. An execution is a local run (bridge/run/engine.py) in a thread of its
own (bridge/serve/runs.py), whose step events fill its table of steps (`Execution.steps`, the
rows of ListPipelineExecutionSteps) and the jobs its steps ran.

Pipelines are staged for the runner as folders `<state>/pipelines/<name>/v<version>/`: the
definition that runs, plus the code of the `bridge translate` output folder known for that
pipeline name (artifacts.json and steps/), when there is one. Run folders go to
`<state>/runs/<execution id>/`, S3 is the object store `<state>/store/`, shared by every
execution (and by the S3 side of the server).

Everything here is under one lock; the runner's threads only take it to update the tables.
The request and response shapes live in bridge/serve/api.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.definition import all_steps, step_dependencies
from bridge.serve.checks import parse_definition
from bridge.serve.errors import ApiError, validation

ACCOUNT = "000000000000"
LOCAL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/bridge-serve"
PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
EXECUTING, STOPPING, STOPPED, FAILED, SUCCEEDED = (
    "Executing",
    "Stopping",
    "Stopped",
    "Failed",
    "Succeeded",
)


def now() -> float:
    return round(time.time(), 3)


@dataclass
class PipelineVersion:
    version: int
    text: str  # the PipelineDefinition as given
    definition: dict
    folder: Path  # staged for the runner
    created: float


@dataclass
class Pipeline:
    name: str
    arn: str
    role_arn: str
    display_name: str
    description: str
    created: float
    modified: float
    versions: list[PipelineVersion] = field(default_factory=list)
    create_token: str = ""
    parallelism: dict | None = None
    last_run: float | None = None

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def current(self) -> PipelineVersion:
        return self.versions[-1]


@dataclass
class StepEntry:
    """One row of ListPipelineExecutionSteps."""

    name: str
    kind: str
    status: str
    started: float
    ended: float | None = None
    attempts: int = 1
    failure: str = ""
    metadata: dict = field(default_factory=dict)
    cache_source: str = ""  # CacheHitResult
    selective_source: str = ""  # SelectiveExecutionResult
    display_name: str = ""
    description: str = ""
    iteration: dict = field(default_factory=dict)  # IterationContext: a ForEach step's child

    def to_api(self) -> dict[str, Any]:
        row: dict[str, Any] = {"StepName": self.name}
        if self.display_name:
            row["StepDisplayName"] = self.display_name
        if self.description:
            row["StepDescription"] = self.description
        row["StartTime"] = self.started
        if self.ended is not None:
            row["EndTime"] = self.ended
        row["StepStatus"] = self.status
        if self.cache_source:
            row["CacheHitResult"] = {"SourcePipelineExecutionArn": self.cache_source}
        if self.failure:
            row["FailureReason"] = self.failure[:1024]
        if self.metadata:
            row["Metadata"] = self.metadata
        row["AttemptCount"] = self.attempts
        if self.selective_source:
            row["SelectiveExecutionResult"] = {"SourcePipelineExecutionArn": self.selective_source}
        if self.iteration:
            row["IterationContext"] = self.iteration
        return row


@dataclass
class Job:
    """A Processing or Training job a step ran, as Describe*Job shows it."""

    kind: str  # Processing | Training
    name: str
    arn: str
    step: str
    execution_arn: str
    arguments: dict  # the step's Arguments, resolved for the execution
    created: float
    status: str = "InProgress"
    failure: str = ""
    ended: float | None = None
    details: dict = field(default_factory=dict)  # ModelArtifacts, FinalMetricDataList
    log: Path | None = None  # its step's log in the run folder: its CloudWatch stream
    # (end offset, epoch ms): the time each stretch of the log was first read (bridge/serve/logs.py)
    log_marks: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Execution:
    pipeline: Pipeline
    id: str
    arn: str
    version: PipelineVersion
    parameters: dict[str, str]  # as given to StartPipelineExecution
    display_name: str
    description: str
    created: float
    modified: float
    status: str = EXECUTING
    failure: str = ""
    selective: dict | None = None  # SelectiveExecutionConfig as given
    selected: set[str] | None = None
    parallelism: dict | None = None
    retry_tokens: set[str] = field(default_factory=set)
    steps: dict[str, StepEntry] = field(default_factory=dict)
    step_runs: dict[str, Any] = field(default_factory=dict)  # name -> StepRun, once ended
    properties: dict[str, dict] = field(default_factory=dict)  # succeeded steps' properties
    job_names: dict[str, str] = field(default_factory=dict)  # step -> job name
    stop: threading.Event | None = None
    thread: threading.Thread | None = None


def job_name(execution_id: str, step: str) -> str:
    """A valid job name ([a-zA-Z0-9-], at most 63) for a step of an execution, as SageMaker
    names pipeline jobs: `pipelines-<execution id>-<step>`, the step part shortened with a
    hash of the full name when it had to change."""
    part = re.sub(r"[^A-Za-z0-9]+", "-", step).strip("-") or "step"
    if part != step or len(part) > 40:
        digest = hashlib.sha1(step.encode()).hexdigest()[:6]
        part = f"{part[:33].rstrip('-')}-{digest}"
    return f"pipelines-{execution_id}-{part}"


def job_names(execution_id: str, definition: dict) -> dict[str, str]:
    return {name: job_name(execution_id, name) for name in all_steps(definition["Steps"])}


# How an execution is carried out: set by the server (bridge.serve.runs.ExecutionRun), so the
# state, which the runs module reads, never imports it back.
Launcher = Callable[["ServeState", "Execution", dict], None]


class ServeState:
    def __init__(
        self,
        state: Path,
        *,
        region: str = "us-east-1",
        data_dir: Path | None = None,
        step_timeout: float = 3600.0,
        isolation: bool = True,
        launch: Launcher | None = None,
    ):
        self.launch = launch
        self.root = Path(state).resolve()
        self.region = region
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.step_timeout = step_timeout
        self.isolation = isolation  # script jobs in sandboxes, as `bridge run`
        self.store_root = self.root / "store"
        self.run_root = self.root / "runs"
        self.staging = self.root / "pipelines"
        shutil.rmtree(self.staging, ignore_errors=True)  # derived; rebuilt from the pipelines
        self.store_root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.pipelines: dict[str, Pipeline] = {}  # lower-case name ->
        self.folders: dict[str, Path] = {}  # lower-case name -> `bridge translate` output
        self.executions: dict[str, Execution] = {}  # ARN ->
        self.tokens: dict[tuple[str, str], str] = {}  # (pipeline, ClientRequestToken) -> ARN
        self.jobs: dict[str, Job] = {}  # lower-case job name ->

    # -- pipelines ----------------------------------------------------------------------------

    def load(self, out_dirs: list[Path]) -> tuple[list[tuple[str, Path]], list[str]]:
        """Create a pipeline for every `bridge translate` output folder in `out_dirs` (the
        folder itself or its sub-folders). Returns (name, folder) loaded and warnings."""
        loaded, warnings = [], []
        for folder in (f for out in out_dirs for f in output_folders(Path(out))):
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            name = (manifest.get("pipeline") or {}).get("name") or ""
            if not PIPELINE_NAME.fullmatch(name):
                warnings.append(f"{folder}: pipeline name {name!r} is not a valid name; skipped")
                continue
            if name.lower() in self.folders:
                warnings.append(
                    f"{folder}: pipeline {name} is already loaded from "
                    f"{self.folders[name.lower()]}; skipped"
                )
                continue
            text = (folder / "definition.json").read_text(encoding="utf-8")
            dag = manifest.get("dag_id") or folder.name
            try:
                definition = parse_definition(text)
            except ApiError as exc:
                warnings.append(f"{folder}: {exc.message}; skipped")
                continue
            self.folders[name.lower()] = folder.resolve()
            self.create_pipeline(
                name,
                text,
                role_arn=_first_role(definition) or LOCAL_ROLE,
                description=f"bridge translate output of Airflow DAG {dag} ({folder})",
            )
            loaded.append((name, folder.resolve()))
        return loaded, warnings

    def pipeline(self, name_or_arn: str) -> Pipeline:
        name = name_or_arn.rsplit(":pipeline/", 1)[-1] if ":pipeline/" in name_or_arn else None
        found = self.pipelines.get((name or name_or_arn).lower())
        if found is None:
            arn = name_or_arn if name else self.pipeline_arn(name_or_arn)
            raise ApiError("ResourceNotFound", f"Pipeline '{arn}' does not exist.")
        return found

    def pipeline_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:pipeline/{name.lower()}"

    def create_pipeline(
        self,
        name: str,
        text: str,
        *,
        role_arn: str,
        display_name: str = "",
        description: str = "",
        token: str = "",
        parallelism: dict | None = None,
    ) -> Pipeline:
        definition = parse_definition(text)
        with self.lock:
            existing = self.pipelines.get(name.lower())
            if existing is not None:
                if token and token == existing.create_token:
                    return existing  # the same request again (a client retry)
                raise ApiError("ConflictException", f"Pipeline '{existing.arn}' already exists.")
            created = now()
            pipeline = Pipeline(
                name=name,
                arn=self.pipeline_arn(name),
                role_arn=role_arn,
                display_name=display_name or name,
                description=description,
                created=created,
                modified=created,
                create_token=token,
                parallelism=parallelism,
            )
            self._add_version(pipeline, text, definition)
            self.pipelines[pipeline.key] = pipeline
            return pipeline

    def update_pipeline(self, pipeline: Pipeline, text: str | None, **changes: Any) -> Pipeline:
        definition = parse_definition(text) if text is not None else None
        with self.lock:
            for attribute, value in changes.items():
                if value is not None:
                    setattr(pipeline, attribute, value)
            version = pipeline.current
            self._add_version(
                pipeline,
                text if text is not None else version.text,
                definition if definition is not None else version.definition,
            )
            pipeline.modified = now()
            return pipeline

    def delete_pipeline(self, pipeline: Pipeline) -> None:
        with self.lock:
            running = [e.arn for e in self._executions_of(pipeline) if e.status in _ACTIVE]
            if running:
                raise ApiError(
                    "ConflictException",
                    f"Pipeline '{pipeline.arn}' has running executions ({', '.join(running)}): "
                    "stop them first",
                )
            for execution in self._executions_of(pipeline):
                del self.executions[execution.arn]
            self.tokens = {k: v for k, v in self.tokens.items() if k[0] != pipeline.key}
            del self.pipelines[pipeline.key]

    def _add_version(self, pipeline: Pipeline, text: str, definition: dict) -> None:
        number = len(pipeline.versions) + 1
        folder = self.staging / pipeline.key / f"v{number}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        source = self.folders.get(pipeline.key)
        manifest: dict = {}
        if source is not None:
            manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
            if (source / "artifacts.json").is_file():
                shutil.copyfile(source / "artifacts.json", folder / "artifacts.json")
            # Copies, not links: the runner keeps every file it reads inside this folder.
            # steps/: the step code; inputs/: the DAG's repository data (artifacts.json).
            for part in ("steps", "inputs"):
                if (source / part).is_dir():
                    shutil.copytree(source / part, folder / part, ignore_dangling_symlinks=True)
        manifest["pipeline"] = {
            **(manifest.get("pipeline") or {}),
            "name": pipeline.name,
            "region": self.region,
        }
        (folder / "definition.json").write_text(json.dumps(definition), encoding="utf-8")
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        pipeline.versions.append(PipelineVersion(number, text, definition, folder, now()))

    def _executions_of(self, pipeline: Pipeline) -> list[Execution]:
        return [e for e in self.executions.values() if e.pipeline is pipeline]

    # -- executions ---------------------------------------------------------------------------

    def execution(self, arn: str) -> Execution:
        found = self.executions.get(arn)
        if found is None:
            raise ApiError("ResourceNotFound", f"Pipeline execution '{arn}' does not exist.")
        return found

    def start(
        self,
        pipeline: Pipeline,
        parameters: dict[str, str],
        *,
        display_name: str = "",
        description: str = "",
        token: str = "",
        selective: dict | None = None,
        parallelism: dict | None = None,
    ) -> Execution:
        from bridge.run.engine import RunError, typed_parameters

        with self.lock:
            if token and (pipeline.key, token) in self.tokens:
                return self.executions[self.tokens[(pipeline.key, token)]]
            version = pipeline.current
            try:
                typed_parameters(version.definition, parameters)
            except RunError as exc:
                raise validation(exc.message) from None
            execution_id = _execution_id()
            created = now()
            execution = Execution(
                pipeline=pipeline,
                id=execution_id,
                arn=f"{pipeline.arn}/execution/{execution_id}",
                version=version,
                parameters=dict(parameters),
                display_name=display_name or f"execution-{int(created * 1000)}",
                description=description,
                created=created,
                modified=created,
                parallelism=parallelism or pipeline.parallelism,
            )
            execution.job_names = job_names(execution_id, version.definition)
            reuse = {}
            if selective is not None:
                execution.selective = selective
                execution.selected, reuse = self._selective(execution, selective)
            self.executions[execution.arn] = execution
            if token:
                self.tokens[(pipeline.key, token)] = execution.arn
            pipeline.last_run = created
            self._launch(execution, reuse)
            return execution

    def _selective(self, execution: Execution, config: dict) -> tuple[set[str], dict]:
        """The steps a selective execution runs, and those it takes from its source."""
        from bridge.definition import all_steps
        from bridge.run.engine import Reused

        steps = all_steps(execution.version.definition.get("Steps") or [])
        selected = [chosen.get("StepName") for chosen in config.get("SelectedSteps") or []]
        if not selected:
            raise validation("SelectiveExecutionConfig.SelectedSteps must name at least one step")
        unknown = sorted(set(selected) - set(steps))
        if unknown:
            raise validation(
                f"SelectedSteps {', '.join(map(str, unknown))} are not steps of pipeline "
                f"{execution.pipeline.name}"
            )
        source_arn = config.get("SourcePipelineExecutionArn")
        reuse: dict[str, Any] = {}
        if source_arn:
            source = self.executions.get(source_arn)
            if source is None or source.pipeline is not execution.pipeline:
                raise validation(
                    f"SourcePipelineExecutionArn {source_arn} is not an execution of pipeline "
                    f"{execution.pipeline.name}"
                )
            if source.status not in (SUCCEEDED, FAILED):
                raise validation(
                    f"the source execution {source_arn} is {source.status}: it must be "
                    "Succeeded or Failed"
                )
            dependencies = step_dependencies(steps)
            for name in sorted(_ancestors(set(selected), dependencies) - set(selected)):
                run = source.step_runs.get(name)
                if run is None or run.status != "Succeeded" or name not in source.properties:
                    continue
                reuse[name] = Reused(run, source.properties[name])
                execution.step_runs[name] = run
                execution.properties[name] = source.properties[name]
                if name in source.steps:
                    execution.steps[name] = dataclasses.replace(
                        source.steps[name], selective_source=source.arn
                    )
        return set(selected), reuse

    def retry(self, execution: Execution, token: str = "") -> Execution:
        from bridge.run.engine import Reused

        with self.lock:
            if token and token in execution.retry_tokens:
                return execution
            if execution.status not in (FAILED, STOPPED):
                raise ApiError(
                    "ConflictException",
                    f"Pipeline execution '{execution.arn}' is {execution.status}: only a Failed "
                    "or Stopped execution can be retried",
                )
            kept = {n: e for n, e in execution.steps.items() if e.status == SUCCEEDED}
            reuse = {
                name: Reused(execution.step_runs[name], execution.properties.get(name, {}))
                for name in kept
                if name in execution.step_runs
            }
            execution.steps = kept
            execution.status, execution.failure = EXECUTING, ""
            execution.modified = now()
            if token:
                execution.retry_tokens.add(token)
            self._launch(execution, reuse)
            return execution

    def stop(self, execution: Execution) -> Execution:
        with self.lock:
            if execution.status == STOPPING:
                return execution
            if execution.status != EXECUTING:
                raise ApiError(
                    "ConflictException",
                    f"Pipeline execution '{execution.arn}' is {execution.status}: only an "
                    "Executing execution can be stopped",
                )
            execution.status = STOPPING
            execution.modified = now()
        if execution.stop is not None:
            execution.stop.set()  # kills the running step's process (outside the lock)
        return execution

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every execution still running and wait for their threads."""
        with self.lock:
            active = [e for e in self.executions.values() if e.status in _ACTIVE]
        for execution in active:
            if execution.stop is not None:
                execution.stop.set()
        deadline = time.monotonic() + timeout
        for execution in active:
            if execution.thread is not None:
                execution.thread.join(max(0.0, deadline - time.monotonic()))

    def _launch(self, execution: Execution, reuse: dict) -> None:
        if self.launch is None:
            raise RuntimeError("this ServeState runs no executions (no launcher given)")
        self.launch(self, execution, reuse)

    def job(self, name: str, kind: str) -> Job | None:
        job = self.jobs.get(name.lower())
        if job is None:  # the name the runner gives the job in its properties
            for execution in self.executions.values():
                prefix = f"pipelines-{execution.id}-"
                if name.startswith(prefix) and name[len(prefix) :] in execution.job_names:
                    job = self.jobs.get(execution.job_names[name[len(prefix) :]].lower())
                    break
        return job if job is not None and job.kind == kind else None


_ACTIVE = (EXECUTING, STOPPING)


def output_folders(out_dir: Path) -> list[Path]:
    """`bridge translate` output folders: `out_dir` itself or its sub-folders."""
    if not out_dir.is_dir():
        return []
    candidates = [out_dir, *sorted(p for p in out_dir.iterdir() if p.is_dir())]
    return [
        c
        for c in candidates
        if (c / "definition.json").is_file() and (c / "manifest.json").is_file()
    ]


def parameter_text(value: Any) -> str:
    """A value as the API shows parameters and outputs: strings as they are, JSON otherwise."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _first_role(value: Any) -> str:
    """The first RoleArn in a definition's step Arguments (the pipeline's role, most likely)."""
    if isinstance(value, dict):
        if isinstance(value.get("RoleArn"), str):
            return value["RoleArn"]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            if found := _first_role(item):
                return found
    return ""


def _ancestors(names: set[str], dependencies: dict[str, set[str]]) -> set[str]:
    found, todo = set(), list(names)
    while todo:
        for upstream in dependencies.get(todo.pop(), ()):
            if upstream not in found:
                found.add(upstream)
                todo.append(upstream)
    return found


def _execution_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))
