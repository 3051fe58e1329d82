"""What the "Migrated pipelines" page shows, as plain data: no FastAPI, no HTML.

- pipelines: every `manifest.json` under `[bridge] manifests_folder` (recursively);
- executions: each pipeline's recent executions through MigratedPipelineHook, every step mapped
  back to the Airflow task it came from (airflow_plugins.manifest);
- reports: every `compare.json` of `bridge compare` under `[bridge] reports_folder`.

Every read that can fail (a broken manifest, an AWS call) becomes a message on the object it
concerns, never an exception out of here: one bad file or an unreachable endpoint must not take
the page down. Which DAGs a user may see is decided by the caller (`may_read`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow_plugins.manifest import STEP_STATE, TERMINAL_EXECUTION, Migration, task_states

FIDELITIES = ("exact", "approximate", "manual")
MANIFEST = "manifest.json"
REPORT_FILES = ("compare.html", "compare.json")  # all the report route ever serves
MAX_REPORTS = 50
_SKIP_DIRS = {"__pycache__", "node_modules"}
_STAMP = "%Y%m%dT%H%M%S"  # bridge compare's folder name: OUT/<dag_id>/compare/<stamp>/
_WORKERS = 8

MayRead = Callable[[str], bool]  # dag_id -> may this user see it


@dataclass(frozen=True)
class Settings:
    """The `[bridge]` options (defaults as in get_provider_info)."""

    manifests_folder: str = ""
    reports_folder: str = ""
    aws_conn_id: str = "aws_default"
    executions_per_pipeline: int = 10

    @classmethod
    def from_conf(cls) -> Settings:
        """Read on every request: a changed env var or airflow.cfg shows without a restart."""
        from airflow.configuration import conf

        def get(key: str, default: str) -> str:
            try:
                return (conf.get("bridge", key, fallback=default) or default).strip()
            except Exception:  # a broken config value must not break the page
                return default

        try:
            count = int(get("executions_per_pipeline", "10"))
        except ValueError:
            count = 10
        return cls(
            manifests_folder=get("manifests_folder", ""),
            reports_folder=get("reports_folder", ""),
            aws_conn_id=get("aws_conn_id", "aws_default"),
            executions_per_pipeline=max(1, min(count, 100)),
        )


# --- the objects shown --------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    task_id: str
    status: str  # SageMaker's word: Starting, Executing, Succeeded, Failed, Stopped...
    state: str  # Airflow's word (manifest.STEP_STATE): running, success, failed
    kind: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    duration: float | None = None
    attempts: int | None = None
    cached: bool = False
    failure_reason: str = ""


@dataclass
class TaskState:
    task_id: str
    state: str  # success | failed | running | not_run (has steps, none ran) | no_step
    steps: list[str] = field(default_factory=list)


@dataclass
class Execution:
    arn: str
    execution_id: str
    pipeline_name: str
    display_name: str
    status: str
    started: datetime | None = None
    ended: datetime | None = None
    duration: float | None = None
    failure_reason: str = ""
    tasks: list[TaskState] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    error: str = ""  # its steps could not be read


@dataclass
class Report:
    dag_id: str
    verdict: str
    ok: bool
    compared_at: datetime | None
    logical_date: str
    agree: int
    differ: int
    not_compared: int
    files_differ: int
    path: str  # compare.json, relative to reports_folder (POSIX)
    html: str  # compare.html beside it, relative to reports_folder; "" when missing


@dataclass
class Pipeline:
    dag_id: str
    pipeline_name: str
    source: str  # the DAG file `bridge translate` read, as the manifest records it
    manifest: str  # where the manifest is
    fidelity: dict[str, int]
    tasks: list[str]  # every task of the DAG, upstream first
    migration: Migration = field(metadata={"json": False})
    executions: list[Execution] = field(default_factory=list)
    executions_error: str = ""
    latest_report: Report | None = None


# --- manifests ----------------------------------------------------------------------------------


def _walk(top: str, wanted: str) -> Iterator[Path]:
    """Files named `wanted` under `top`, in a stable order. Hidden folders are skipped, and in a
    migration folder (one holding manifest.json) only `compare/` is entered: its `runs/` and
    `steps/` never hold manifests or reports and can be large."""
    if not top or not os.path.isdir(top):
        return
    for folder, dirs, files in os.walk(top, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        if MANIFEST in files:
            dirs[:] = [d for d in dirs if d == "compare"]
        if wanted in files:
            yield Path(folder) / wanted


def load_pipelines(folder: str, may_read: MayRead) -> tuple[list[Pipeline], list[str]]:
    """Every readable manifest under `folder` whose DAG the user may see; and the problems
    (unreadable manifests), as messages."""
    pipelines, problems = [], []
    for path in _walk(folder, MANIFEST):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
                raise ValueError("no `tasks` object: not a manifest written by bridge translate")
            pipeline = _pipeline(data, path)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        if pipeline.dag_id and may_read(pipeline.dag_id):
            pipelines.append(pipeline)
    pipelines.sort(key=lambda p: (p.dag_id, p.manifest))
    return pipelines, problems


def _pipeline(data: dict[str, Any], path: Path) -> Pipeline:
    tasks: dict[str, Any] = data["tasks"]
    fidelity = {f: 0 for f in FIDELITIES}
    for info in tasks.values():
        word = (info or {}).get("fidelity")
        fidelity[word] = fidelity.get(word, 0) + 1
    source = data.get("source") or {}
    return Pipeline(
        dag_id=str(data.get("dag_id") or ""),
        pipeline_name=str((data.get("pipeline") or {}).get("name") or ""),
        source=str(source.get("path") or "") if isinstance(source, dict) else str(source),
        manifest=str(path),
        fidelity=fidelity,
        tasks=task_order(list(tasks), data.get("dag_edges") or []),
        migration=Migration.from_dict(data, str(path)),
    )


def task_order(tasks: list[str], edges: Iterable[Any]) -> list[str]:
    """Tasks layer by layer from the DAG's sources (each layer sorted), so a row of task states
    reads like the DAG runs. A cycle (never in a real manifest) ends the ordering: the rest
    follow alphabetically."""
    upstream: dict[str, set[str]] = {t: set() for t in tasks}
    for edge in edges:
        if isinstance(edge, list | tuple) and len(edge) == 2 and edge[1] in upstream:
            if edge[0] in upstream:
                upstream[edge[1]].add(edge[0])
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(upstream):
        ready = sorted(t for t, ups in upstream.items() if t not in done and ups <= done)
        if not ready:
            order += sorted(t for t in upstream if t not in done)
            break
        order += ready
        done.update(ready)
    return order


def pipeline_of_arn(arn: str) -> str:
    """arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id> -> <name>."""
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    parts = resource.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "pipeline" else ""


def find_pipeline(pipelines: list[Pipeline], name: str) -> Pipeline | None:
    """SageMaker puts the pipeline name into ARNs in lower case: compare without case."""
    wanted = name.casefold()
    return next((p for p in pipelines if p.pipeline_name.casefold() == wanted), None)


# --- executions ---------------------------------------------------------------------------------


def aws_error(exc: BaseException) -> str:
    """One line a person can act on, for a failed AWS call."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "") or "ClientError"
        message = error.get("Message", "") or str(exc)
        if code in ("ResourceNotFound", "ResourceNotFoundException"):
            return f"not found on SageMaker ({code}): {message}"
        return f"SageMaker refused the call ({code}): {message}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: the connection gives none and none are in the environment"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set region_name in the connection's extra"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the SageMaker endpoint: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def _kind(step: dict[str, Any]) -> str:
    metadata = step.get("Metadata") or {}
    return next(iter(metadata), "") if isinstance(metadata, dict) else ""


def steps_of(migration: Migration, raw: list[dict[str, Any]]) -> list[Step]:
    steps = []
    for s in raw:
        status = s.get("StepStatus", "")
        steps.append(
            Step(
                name=s.get("StepName", ""),
                task_id=migration.task_of(s.get("StepName", "")),
                status=status,
                state=STEP_STATE.get(status, "running"),
                kind=_kind(s),
                started=s.get("StartTime"),
                ended=s.get("EndTime"),
                duration=_seconds(s.get("StartTime"), s.get("EndTime")),
                attempts=s.get("AttemptCount"),
                cached=bool((s.get("CacheHitResult") or {}).get("SourcePipelineExecutionArn")),
                failure_reason=s.get("FailureReason", "") or "",
            )
        )
    return steps


def execution_of(
    pipeline: Pipeline | None,
    summary: dict[str, Any],
    raw_steps: list[dict[str, Any]] | None,
    *,
    now: datetime | None = None,
) -> Execution:
    """An execution from a ListPipelineExecutions summary or a DescribePipelineExecution answer
    (their keys differ a little) and its steps."""
    migration = pipeline.migration if pipeline else Migration()
    arn = summary.get("PipelineExecutionArn", "")
    status = summary.get("PipelineExecutionStatus", "")
    started = summary.get("StartTime") or summary.get("CreationTime")
    steps = steps_of(migration, raw_steps or [])
    ends = [s.ended for s in steps if s.ended]
    if status in TERMINAL_EXECUTION:
        ended = max(ends) if ends else summary.get("LastModifiedTime")
        if ended and started and ended < started:
            ended = started
        duration = _seconds(started, ended)
    else:  # still going: how long so far
        ended = None
        duration = _seconds(started, now or datetime.now(UTC)) if started else None
    reason = summary.get("PipelineExecutionFailureReason") or summary.get("FailureReason") or ""
    if not reason and status in ("Failed", "Stopped"):
        reason = next((f"{s.name}: {s.failure_reason}" for s in steps if s.failure_reason), "")
    return Execution(
        arn=arn,
        execution_id=arn.rsplit("/", 1)[-1],
        pipeline_name=pipeline.pipeline_name if pipeline else pipeline_of_arn(arn),
        display_name=summary.get("PipelineExecutionDisplayName", "") or "",
        status=status,
        started=started,
        ended=ended,
        duration=duration,
        failure_reason=reason,
        tasks=_task_rows(pipeline, migration, raw_steps or []),
        steps=steps,
    )


def _task_rows(
    pipeline: Pipeline | None, migration: Migration, raw_steps: list[dict[str, Any]]
) -> list[TaskState]:
    states = task_states(migration, raw_steps)
    order = list(pipeline.tasks) if pipeline else []
    order += sorted(t for t in states if t not in order)  # steps the manifest does not know
    rows = []
    for task in order:
        steps = migration.task_steps.get(task, [])
        state = states.get(task) or ("not_run" if steps or not pipeline else "no_step")
        rows.append(TaskState(task_id=task, state=state, steps=list(steps)))
    return rows


def load_executions(hook: Any, pipelines: list[Pipeline], limit: int) -> None:
    """Fill each pipeline's recent executions (newest first) in place; an AWS error becomes
    the pipeline's (or the execution's) message. Calls run on a few threads: boto3 clients
    are thread-safe, and a page of several pipelines should not wait for each call in turn."""
    if not pipelines:
        return
    client = hook.conn  # made once here: threads must not race to build it

    def listed(pipeline: Pipeline) -> list[dict[str, Any]]:
        answer = client.list_pipeline_executions(
            PipelineName=pipeline.pipeline_name,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=limit,
        )
        return list(answer.get("PipelineExecutionSummaries") or [])[:limit]

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        summaries = list(pool.map(_attempt(listed), pipelines))
        wanted = []
        for pipeline, (found, error) in zip(pipelines, summaries, strict=True):
            if error is not None:
                pipeline.executions_error = aws_error(error)
                continue
            wanted += [(pipeline, s) for s in found]
        steps = pool.map(_attempt(hook.list_steps), [s["PipelineExecutionArn"] for _, s in wanted])
        now = datetime.now(UTC)
        for (pipeline, summary), (raw, error) in zip(wanted, steps, strict=True):
            execution = execution_of(pipeline, summary, raw, now=now)
            if error is not None:
                execution.error = f"its steps could not be read: {aws_error(error)}"
            pipeline.executions.append(execution)


def _attempt(call: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, BaseException | None]]:
    def run(arg: Any) -> tuple[Any, BaseException | None]:
        try:
            return call(arg), None
        except Exception as exc:
            return None, exc

    return run


def load_execution(hook: Any, arn: str, pipeline: Pipeline | None) -> Execution:
    """One execution with every step; raises what boto3 raises (the caller words it)."""
    described = hook.describe_execution(arn)
    return execution_of(pipeline, {"PipelineExecutionArn": arn, **described}, hook.list_steps(arn))


# --- comparison reports -------------------------------------------------------------------------


def load_reports(folder: str, may_read: MayRead) -> tuple[list[Report], list[str]]:
    """The newest MAX_REPORTS compare.json reports under `folder` the user may see, newest
    first; and the problems (unreadable reports)."""
    if not folder:
        return [], []
    root = Path(folder)
    reports, problems = [], []
    for path in _walk(folder, "compare.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            report = _report(data, path, root)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        if report.dag_id and may_read(report.dag_id):
            reports.append(report)
    oldest = datetime.min.replace(tzinfo=UTC)
    reports.sort(key=lambda r: (r.compared_at or oldest, r.path), reverse=True)
    return reports[:MAX_REPORTS], problems


def _report(data: dict[str, Any], path: Path, root: Path) -> Report:
    summary = data.get("summary") or {}
    tasks = [t for t in data.get("tasks") or [] if isinstance(t, dict)]

    def count(key: str) -> int:
        value = summary.get(key)
        return value if isinstance(value, int) else sum(t.get("verdict") == key for t in tasks)

    try:
        compared_at = datetime.strptime(path.parent.name, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        compared_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    html = path.with_name("compare.html")
    return Report(
        dag_id=str(data.get("dag_id") or ""),
        verdict=str(data.get("verdict") or "unknown"),
        ok=bool(data.get("ok")),
        compared_at=compared_at,
        logical_date=str(data.get("logical_date") or ""),
        agree=count("agree"),
        differ=count("differ"),
        not_compared=count("not_compared"),
        files_differ=int(summary.get("files_differ") or 0),
        path=path.relative_to(root).as_posix(),
        html=html.relative_to(root).as_posix() if html.is_file() else "",
    )


def attach_reports(pipelines: list[Pipeline], reports: list[Report]) -> None:
    """Each pipeline's newest report (reports come newest first)."""
    for pipeline in pipelines:
        pipeline.latest_report = next((r for r in reports if r.dag_id == pipeline.dag_id), None)


def report_file(folder: str, relative: str) -> Path | None:
    """A report file to serve: only compare.html / compare.json, only inside `folder` once
    every `..` and symlink is resolved. None for anything else."""
    if not folder or not relative:
        return None
    try:
        root = Path(folder).resolve(strict=True)
        candidate = (root / relative).resolve(strict=True)
    except (OSError, ValueError, RuntimeError):
        return None
    if not candidate.is_relative_to(root) or candidate.name not in REPORT_FILES:
        return None
    return candidate if candidate.is_file() else None


def report_dag(path: Path) -> str:
    """The DAG a report file belongs to (its compare.json); "" when unreadable."""
    try:
        data = json.loads(path.with_name("compare.json").read_text(encoding="utf-8"))
        return str(data.get("dag_id") or "") if isinstance(data, dict) else ""
    except (OSError, ValueError):
        return ""


# --- JSON ---------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Dataclasses to dicts (fields marked json=False left out), datetimes to ISO text."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in fields(value)
            if f.metadata.get("json", True)
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
