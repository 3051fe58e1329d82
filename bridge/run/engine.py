"""`bridge run OUT/<dag_id>` with the local engine: execute definition.json on this machine.

No Docker, no AWS. Steps run one at a time in dependency order (DependsOn, property references,
condition membership), the way SageMaker decides what may start:
  - a Condition step blocks the side it did not choose and everything downstream of it;
  - a step whose upstream did not succeed does not run (NotExecuted, with the reason);
  - a failed step (or a Fail step) fails the run, and no further step starts;
  - a step that cannot run here is NotRunnable: its downstream does not run, the rest goes on,
    and the run is marked partial.
Each step gets a folder `runs/<execution id>/steps/<name>/` (its /opt/ml), a log, a timeout
(the job's MaxRuntimeInSeconds, else --step-timeout), its retry policies and its cache config.
S3 is a folder (`runs/store/`, see bridge/run/object_store.py), seeded from artifacts.json.
Script jobs run isolated (bridge/run/sandbox.py) unless bubblewrap cannot run here or the run
opts out; the RunRecord says so (`isolated`, `not_faithful`), as it does for a --data-dir
shared by all steps and for steps that ran on another Python than their image's.

For `bridge serve` (a run that stands for a SageMaker pipeline execution) a run can also be:
  - stopped (`RunOptions.stop`): no further step starts, the running step's process is killed
    and the step and the run are Stopped;
  - told to reuse steps (`RunOptions.reuse`): a retried execution keeps the steps that already
    succeeded, a selective execution takes the steps it does not run from a source execution;
    a reused step is not run, its record and properties stand in for it;
  - selective (`RunOptions.selected`): only those steps run; an ordering dependency on a step
    that is not run is dropped, a step that needs the output of one fails, saying so.
"""

from __future__ import annotations

import dataclasses
import filecmp
import hashlib
import heapq
import json
import posixpath
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bridge.definition import ARTIFACTS_FILE, all_steps, references, step_dependencies
from bridge.run import for_each, sandbox
from bridge.run.folders import gather_folders
from bridge.run.object_store import ObjectStore
from bridge.run.record import (
    FAILED,
    NOT_EXECUTED,
    NOT_RUNNABLE,
    STOPPED,
    SUCCEEDED,
    RunRecord,
    StepRun,
)
from bridge.run.steps import Outcome, StepJob, execute
from bridge.run.values import Scope, resolve

DEFAULT_STEP_TIMEOUT = 3600.0
LOCAL_ACCOUNT = "000000000000"
NOT_SELECTED = "not selected for this selective execution"


class RunError(Exception):
    """A run that cannot start: a diagnostic code and a message for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RunOptions:
    parameters: dict[str, Any] = field(default_factory=dict)  # name -> value (str from the CLI)
    run_root: Path | None = None  # default OUT/<dag_id>/runs
    store: Path | None = None  # default <run_root>/store
    step_timeout: float = DEFAULT_STEP_TIMEOUT
    # An escape hatch: a host folder every step sees as $BRIDGE_DATA_DIR. No SageMaker job has
    # one, so a run that uses it is marked not SageMaker-faithful.
    data_dir: Path | None = None
    isolation: bool = True  # run script jobs in a sandbox when bubblewrap can run here
    seeds: dict[str, Path | str] = field(default_factory=dict)  # s3 URI -> local file or folder
    execution_id: str | None = None
    on_event: Callable[[str, StepRun], None] | None = None  # ("start" | "end", step)
    # Set: no further step starts; a local_steps.StopSignal also kills the running process.
    stop: threading.Event | None = None
    reuse: dict[str, Reused] = field(default_factory=dict)  # steps taken as already succeeded
    selected: set[str] | None = None  # a selective run: only these steps run


@dataclass
class Reused:
    """A step that already succeeded (in an earlier attempt of the execution, or in the source
    execution of a selective one): it is not run again, its record and properties are used."""

    step: StepRun
    properties: dict[str, Any]


def run_local(folder: Path, options: RunOptions | None = None) -> RunRecord:
    options = options or RunOptions()
    return LocalRun(Path(folder), options).execute()


def load_output_folder(folder: Path) -> tuple[dict, dict]:
    """definition.json and manifest.json of a `bridge translate` output folder."""
    definition = folder / "definition.json"
    if not definition.is_file():
        raise RunError(
            "BRG300",
            f"{folder}: no definition.json; run `bridge translate` (with validation) first",
        )
    manifest = folder / "manifest.json"
    return (
        json.loads(definition.read_text(encoding="utf-8")),
        json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {},
    )


def typed_parameters(definition: dict, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults overridden by `given`, each converted to its Parameter type."""
    declared = {p["Name"]: p for p in definition.get("Parameters") or []}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise RunError(
            "BRG301",
            f"unknown parameter(s) {', '.join(unknown)}; the pipeline has: "
            + (", ".join(sorted(declared)) or "none"),
        )
    values = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = _convert(name, spec.get("Type", "String"), given[name])
        elif "DefaultValue" in spec:
            values[name] = spec["DefaultValue"]
        else:
            raise RunError("BRG301", f"parameter {name} has no default: pass --param {name}=...")
    return values


def _convert(name: str, kind: str, value: Any) -> Any:
    try:
        if kind == "Integer":
            return int(value)
        if kind == "Float":
            return float(value)
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() not in ("true", "false"):
                raise ValueError(value)
            return str(value).lower() == "true"
    except ValueError:
        raise RunError("BRG301", f"parameter {name}: {value!r} is not a valid {kind}") from None
    return str(value)


def refuse_foreign_paths(steps: dict[str, dict]) -> None:
    """A job sees only its container: every Processing LocalPath must lie under /opt/ml (as
    SageMaker requires), or a tampered definition could read or fill any folder of this host."""
    for name, step in steps.items():
        args = step.get("Arguments") or {}
        channels = [
            *(args.get("ProcessingInputs") or []),
            *((args.get("ProcessingOutputConfig") or {}).get("Outputs") or []),
        ]
        for channel in channels:
            for key in ("S3Input", "S3Output"):
                local = (channel.get(key) or {}).get("LocalPath")
                if local is not None and not inside_opt_ml(local):
                    raise RunError(
                        "BRG305", f"step {name}: LocalPath {local!r} is not under /opt/ml"
                    )


def inside_opt_ml(path: object) -> bool:
    if not isinstance(path, str) or "\0" in path or not path.startswith("/"):
        return False
    return posixpath.normpath(path).startswith("/opt/ml/")


class LocalRun:
    def __init__(self, folder: Path, options: RunOptions):
        self.folder = folder.resolve()
        self.options = options
        self.definition, self.manifest = load_output_folder(self.folder)
        self.parameters = typed_parameters(self.definition, options.parameters)
        self.execution_id = options.execution_id or _execution_id()
        self.run_root = (options.run_root or self.folder / "runs").resolve()
        self.run_folder = self.run_root / self.execution_id
        self.data_dir = Path(options.data_dir).resolve() if options.data_dir else None
        self.isolation = (
            sandbox.availability()
            if options.isolation
            else sandbox.Availability(False, "turned off (--no-isolation)")
        )
        self.store = ObjectStore(options.store or self.run_root / "store")
        self.steps = all_steps(self.definition.get("Steps") or [])
        refuse_foreign_paths({**self.steps, **for_each.bodies(self.steps)})
        self.dependencies = step_dependencies(self.steps)
        name = (self.manifest.get("pipeline") or {}).get("name") or self.folder.name
        region = (self.manifest.get("pipeline") or {}).get("region") or "us-east-1"
        arn = f"arn:aws:sagemaker:{region}:{LOCAL_ACCOUNT}:pipeline/{name.lower()}"  # as AWS
        self.scope = Scope(
            parameters=self.parameters,
            execution={
                "PipelineName": name,
                "PipelineArn": arn,
                "PipelineExecutionId": self.execution_id,
                "PipelineExecutionArn": f"{arn}/execution/{self.execution_id}",
                "StartDateTime": _now_iso(),
                "CurrentDateTime": _now_iso(),
            },
            property_files={
                step_name: {
                    f["PropertyFileName"]: (f["OutputName"], f["FilePath"])
                    for f in step.get("PropertyFiles") or []
                }
                for step_name, step in self.steps.items()
            },
            read_uri=self.store.read_text,
        )
        self.record = RunRecord(
            engine="local",
            name=name,
            run_id=self.execution_id,
            parameters=self.parameters,
            folder=str(self.run_folder),
            data_dir=str(self.data_dir or ""),
            isolated=self.isolation.isolated,
            not_faithful=self._not_faithful(),
        )
        self.blocked: dict[str, str] = {}  # step -> why it will not run
        self.iterations: dict[str, for_each.Iteration] = {}  # a ForEach step's children

    # -- the run ------------------------------------------------------------------------------

    def _not_faithful(self) -> list[str]:
        notes = []
        if not self.isolation.isolated:
            notes.append(
                f"not isolated: {self.isolation.reason}; steps ran on this machine's file system"
            )
        if self.data_dir is not None:
            notes.append(
                f"shared data folder {self.data_dir} (--data-dir): every step saw it as "
                "$BRIDGE_DATA_DIR, which no SageMaker job has"
            )
        return notes

    def execute(self) -> RunRecord:
        self.record.started = time.time()
        self.run_folder.mkdir(parents=True, exist_ok=True)
        if self.options.isolation and not self.isolation.isolated:
            print(
                f"BRG306 warning: steps run WITHOUT isolation: {self.isolation.reason}. They see "
                "this machine's files, so a pass here does not mean it works on SageMaker.",
                file=sys.stderr,
            )
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            print(f"BRG309 warning: {self.record.not_faithful[-1]}", file=sys.stderr)
        self._stage_artifacts()
        failed_at = stopped_at = ""
        for name in self._order():
            if name in self.options.reuse:
                self._reuse(name)
            elif failed_at:
                self._not_run(name, NOT_EXECUTED, f"the run failed at {failed_at} first")
            elif stopped_at or self._stop_requested():
                stopped_at = stopped_at or name
                self._not_run(name, NOT_EXECUTED, "the run was stopped before this step started")
            elif name in self.blocked:
                self._not_run(name, NOT_EXECUTED, self.blocked[name])
            elif self.options.selected is not None and name not in self.options.selected:
                self._not_run(name, NOT_EXECUTED, NOT_SELECTED)
            elif missing := self._missing_input(name):
                failed_at = name
                self._fail_unstarted(name, missing)
            elif waiting := self._unfinished_upstream(name):
                self._not_run(name, NOT_EXECUTED, waiting)
            else:
                step = self._run_step(name)
                if step.status == FAILED:
                    failed_at = name
                    self.record.message = f"step {name} failed: {step.reason}"
                elif step.status == STOPPED:
                    stopped_at = name
        if stopped_at and not failed_at:
            self.record.message = f"the run was stopped at step {stopped_at}"
        self.record.status = FAILED if failed_at else STOPPED if stopped_at else SUCCEEDED
        self.record.partial = any(s.status == NOT_RUNNABLE for s in self.record.steps.values())
        for note in _python_notes(self.record.steps):
            self.record.not_faithful.append(note)
            print(f"BRG308 warning: {note}", file=sys.stderr)
        self.record.folders = gather_folders(
            self.record.steps, self.manifest, self.scope.properties, self.store, self.run_folder
        )
        self.record.ended = time.time()
        self.record.write(self.run_folder)
        return self.record

    def _order(self) -> list[str]:
        """Dependency order, ties broken by name (deterministic). Not networkx: importing it
        takes longer than running a small pipeline."""
        waiting = {name: set(deps) for name, deps in self.dependencies.items()}
        self.downstream: dict[str, set[str]] = {name: set() for name in self.steps}
        for name, deps in self.dependencies.items():
            for dep in deps:
                self.downstream[dep].add(name)
        ready = [name for name, deps in waiting.items() if not deps]
        heapq.heapify(ready)
        order = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            for later in self.downstream[name]:
                waiting[later].discard(name)
                if not waiting[later]:
                    heapq.heappush(ready, later)
        if len(order) != len(self.steps):
            stuck = sorted(set(self.steps) - set(order))
            raise RunError("BRG300", f"the definition's steps wait for each other: {stuck}")
        return order

    def _descendants(self, name: str) -> set[str]:
        found, todo = set(), [name]
        while todo:
            for later in self.downstream[todo.pop()]:
                if later not in found:
                    found.add(later)
                    todo.append(later)
        return found

    def _unfinished_upstream(self, name: str) -> str:
        for upstream in sorted(self.dependencies[name]):
            status = self.record.steps[upstream].status
            if status == NOT_EXECUTED and self.record.steps[upstream].reason == NOT_SELECTED:
                continue  # only an ordering dependency (_missing_input checked the data ones)
            if status == NOT_RUNNABLE:
                return f"upstream {upstream} is not runnable locally"
            if status != SUCCEEDED:
                return f"upstream {upstream} did not run ({status})"
        return ""

    def _missing_input(self, name: str) -> str:
        """In a selective run: why the step cannot run, if it reads a property of a step this
        run neither runs nor reuses."""
        if self.options.selected is None:
            return ""
        step = self.steps[name]
        body = {k: v for k, v in step.items() if k not in ("Name", "DependsOn")}
        if step.get("Type") == "Condition":
            body = {"Conditions": step["Arguments"].get("Conditions", [])}
        for upstream in sorted(references(body) & set(self.steps)):
            if self.record.steps[upstream].reason == NOT_SELECTED:
                return (
                    f"needs the output of step {upstream}, which this selective "
                    "execution does not run and no source execution provides"
                )
        return ""

    def _fail_unstarted(self, name: str, reason: str) -> None:
        step = StepRun(name=name, status=FAILED, kind=self.steps[name].get("Type", ""))
        step.started = step.ended = time.time()
        step.reason = reason
        self.record.steps[name] = step
        self.record.message = f"step {name} failed: {reason}"
        self._emit("start", step)
        self._emit("end", step)

    def _reuse(self, name: str) -> None:
        reused = self.options.reuse[name]
        step = dataclasses.replace(reused.step)
        self.record.steps[name] = step
        self.scope.properties[name] = reused.properties
        if step.branch is not None:
            self._block_side(name, self.steps[name], step.branch)

    def _stop_requested(self) -> bool:
        return self.options.stop is not None and self.options.stop.is_set()

    def _not_run(self, name: str, status: str, reason: str) -> None:
        step = StepRun(name=name, status=status, kind=self.steps[name].get("Type", ""))
        step.reason = reason
        self.record.steps[name] = step
        self._emit("end", step)

    def _emit(self, event: str, step: StepRun) -> None:
        if self.options.on_event:
            self.options.on_event(event, step)

    def _stage_artifacts(self) -> None:
        """The code the definition names (artifacts.json) and the user's --s3 seeds."""
        artifacts = self.folder / ARTIFACTS_FILE
        if artifacts.is_file():
            for uri, relative in json.loads(artifacts.read_text()).items():
                source = (self.folder / relative).resolve()
                if not source.is_relative_to(self.folder):
                    raise RunError(
                        "BRG305", f"{ARTIFACTS_FILE}: {relative!r} is outside the folder"
                    )
                try:
                    target = self.store.path(uri)
                except ValueError as exc:
                    raise RunError("BRG305", f"{ARTIFACTS_FILE}: {exc}") from None
                # Left alone when already there: rewriting it could give a half-written file
                # to a step of a concurrent run (`bridge serve` runs executions side by side).
                if not (target.is_file() and filecmp.cmp(target, source, False)):
                    self.store.put_file(uri, source)
        for uri, source in self.options.seeds.items():
            source = Path(source)
            try:
                if source.is_dir():
                    self.store.upload(source, uri)
                elif source.is_file():
                    self.store.put_file(uri, source)
                else:
                    raise RunError("BRG301", f"--s3 {uri}={source}: no such file or folder")
            except ValueError as exc:
                raise RunError("BRG301", f"--s3 {uri}: {exc}") from None

    # -- one step -----------------------------------------------------------------------------

    def add_step(self, name: str, definition: dict) -> None:
        """A step made while the run goes on: a child of a ForEach step."""
        refuse_foreign_paths({name: definition})
        self.steps[name] = definition
        self.scope.property_files[name] = {
            f["PropertyFileName"]: (f["OutputName"], f["FilePath"])
            for f in definition.get("PropertyFiles") or []
        }

    def _run_step(self, name: str) -> StepRun:
        definition = self.steps[name]
        if definition.get("Type") == "ForEach":  # its children run as steps of their own
            return for_each.run_for_each(self, name)
        record = StepRun(name=name, status=FAILED, kind=definition.get("Type", ""))
        record.log = f"logs/{name}.log"
        self.record.steps[name] = record
        record.started = time.time()
        self._emit("start", record)
        self.scope.execution["CurrentDateTime"] = _now_iso()
        outcome = self._cached(name, definition)
        if outcome is not None:
            record.cached, record.attempts = True, 0
        else:
            outcome, record.attempts = self._attempts(name, definition)
            if outcome.status == SUCCEEDED:
                self._remember(name, definition, outcome)
        record.ended = time.time()
        record.status, record.reason = outcome.status, outcome.reason
        record.outputs, record.property_files = outcome.outputs, outcome.property_files
        record.branch = outcome.branch
        record.python, record.python_note = outcome.python, outcome.python_note
        record.file_access = outcome.file_access
        if outcome.status == SUCCEEDED:
            self.scope.properties[name] = outcome.properties
        if outcome.branch is not None:
            self._block_side(name, definition, outcome.branch)
        if not (self.run_folder / record.log).exists():
            record.log = None
        self._emit("end", record)
        return record

    def _attempts(self, name: str, definition: dict) -> tuple[Outcome, int]:
        attempt = 0
        started = time.monotonic()
        while True:
            attempt += 1
            outcome = self._attempt(name, definition, attempt)
            if outcome.status != FAILED:
                return outcome, attempt
            delay = _retry_delay(definition, outcome, attempt, time.monotonic() - started)
            if delay is None:
                return outcome, attempt
            log = self.run_folder / "logs" / f"{name}.log"
            with log.open("a", encoding="utf-8") as f:
                f.write(
                    f"bridge: attempt {attempt} failed ({outcome.reason}); retry in {delay} s\n"
                )
            if self.options.stop is None:
                time.sleep(delay)
            elif self.options.stop.wait(delay):
                return Outcome(
                    STOPPED, reason="the run was stopped while the step waited to retry"
                ), attempt

    def _attempt(self, name: str, definition: dict, attempt: int) -> Outcome:
        try:
            arguments = (
                definition.get("Arguments")
                if definition.get("Type") == "Condition"
                else resolve(definition.get("Arguments") or {}, self.scope)
            )
        except ValueError as exc:
            return Outcome(FAILED, reason=str(exc))
        stopping = (arguments or {}).get("StoppingCondition") or {}
        env = {"BRIDGE_SKIP_REQUIREMENTS": "1"}  # virtualenv tasks use this environment
        if self.data_dir is not None:
            env["BRIDGE_DATA_DIR"] = str(self.data_dir)
        job = StepJob(
            name=name,
            step=definition,
            arguments=arguments,
            workdir=self.run_folder
            / "steps"
            / name
            / (f"attempt-{attempt}" if attempt > 1 else ""),
            log=self.run_folder / "logs" / f"{name}.log",
            timeout=float(stopping.get("MaxRuntimeInSeconds") or self.options.step_timeout),
            store=self.store,
            scope=self.scope,
            folder=self.folder,
            manifest_step=(self.manifest.get("steps") or {}).get(name) or {},
            env=env,
            attempt=attempt,
            stop=self.options.stop,
            bwrap=self.isolation.bwrap if self.isolation.isolated else None,
            shared=(self.data_dir,) if self.data_dir is not None else (),
        )
        job.workdir.mkdir(parents=True, exist_ok=True)
        return execute(job)

    def _block_side(self, name: str, definition: dict, outcome: bool) -> None:
        side = "ElseSteps" if outcome else "IfSteps"
        for target in definition["Arguments"].get(side) or []:
            for blocked in {target["Name"], *self._descendants(target["Name"])}:
                self.blocked.setdefault(
                    blocked, f"condition {name} was {str(outcome).lower()}: branch not taken"
                )

    # -- caching ------------------------------------------------------------------------------

    def _cache_file(self, name: str, definition: dict) -> Path | None:
        """Where a cached result of this step would be: keyed by the step's type and
        arguments with parameters and upstream properties resolved but execution variables
        left as names, so a later execution with the same inputs hits the cache."""
        config = definition.get("CacheConfig") or {}
        if not config.get("Enabled"):
            return None
        scope = Scope(
            parameters=self.scope.parameters,
            execution={k: f"Execution.{k}" for k in self.scope.execution},
            properties=self.scope.properties,
            property_files=self.scope.property_files,
            read_uri=self.scope.read_uri,
        )
        try:
            arguments = resolve(definition.get("Arguments") or {}, scope)
        except ValueError:
            return None
        body = json.dumps([definition.get("Type"), arguments], sort_keys=True, default=str)
        key = hashlib.sha256(body.encode()).hexdigest()[:32]
        return self.store.root / ".cache" / self.record.name / name / f"{key}.json"

    def _cached(self, name: str, definition: dict) -> Outcome | None:
        path = self._cache_file(name, definition)
        if path is None or not path.is_file():
            return None
        entry = json.loads(path.read_text())
        expire = _duration(definition["CacheConfig"].get("ExpireAfter"))
        if expire is not None and time.time() - entry["time"] > expire.total_seconds():
            return None
        return Outcome(
            SUCCEEDED,
            properties=entry["properties"],
            property_files=entry["property_files"],
            outputs=entry["outputs"],
            reason=f"cache hit: execution {entry['execution']}",
        )

    def _remember(self, name: str, definition: dict, outcome: Outcome) -> None:
        path = self._cache_file(name, definition)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "time": time.time(),
            "execution": self.execution_id,
            "properties": outcome.properties,
            "property_files": outcome.property_files,
            "outputs": outcome.outputs,
        }
        path.write_text(json.dumps(entry, default=str))


def _retry_delay(definition: dict, outcome: Outcome, attempt: int, elapsed: float) -> float | None:
    """Seconds to wait before the next attempt, or None: no retry policy covers this failure
    (or its attempts or time are used up). MaxAttempts counts retries, as in SageMaker."""
    for policy in definition.get("RetryPolicies") or []:
        covered = set(policy.get("ExceptionType") or []) | set(policy.get("FailureType") or [])
        if not covered & set(outcome.failure_types):
            continue
        if attempt > int(policy.get("MaxAttempts", 0) or 0) and "ExpireAfterMin" not in policy:
            return None
        if "ExpireAfterMin" in policy and elapsed > 60 * float(policy["ExpireAfterMin"]):
            return None
        interval = float(policy.get("IntervalSeconds", 1))
        return interval * float(policy.get("BackoffRate", 2.0)) ** (attempt - 1)
    return None


_DURATION = re.compile(r"^P(?:(\d+)[dD])?(?:T(?:(\d+)[hH])?(?:(\d+)[mM])?(?:(\d+)[sS])?)?$")


def _duration(text: str | None) -> timedelta | None:
    """ISO 8601 durations as CacheConfig's ExpireAfter uses them (P30d, PT1H, P1DT12H)."""
    match = _DURATION.match(text or "")
    if not text or match is None:
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _python_notes(steps: dict[str, StepRun]) -> list[str]:
    """One line per differing image Python: "python differs: image 3.9, ran 3.11 (steps a, b)"."""
    by_note: dict[str, list[str]] = {}
    for name, step in steps.items():
        if step.python_note:
            by_note.setdefault(step.python_note, []).append(name)
    return [f"{note} (steps {', '.join(sorted(names))})" for note, names in sorted(by_note.items())]


def _execution_id() -> str:
    """Like SageMaker's: 12 lower-case letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
