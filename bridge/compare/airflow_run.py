"""Run original Airflow DAGs with Airflow's own `dag.test()` and record them as RunRecords.

`run_dags()` is the parent side: it never imports Airflow (the CLI stays fast). It starts one
child process, `python -m bridge.compare.airflow_run`, for all requests, because the first task in a
process pays several seconds once (the in-process Execution API app) and several DAGs should
share that. The request goes in as JSON on stdin; progress events and the result come back as
JSON lines on stdout, the result on the last line.

The child gets an isolated AIRFLOW_HOME (SQLite, no examples, its own dags folder) before it
imports Airflow. `airflow db migrate` is slow, so a migrated database is cached once per
Airflow version under the user cache dir and copied into each new home. DAGs run one at a time:
each file is copied into the dags folder (with its input folder next to it), loaded with
DagBag, run with `dag.test(logical_date=..., run_conf=params)`, then removed again, because
`dag.test()` parses the whole dags folder on every call.

Each task's output (its log records, prints, subprocess output) is captured into
`<run_folder>/logs/<task_id>.log`; everything else `dag.test()` prints goes to
`<run_folder>/airflow.log`. `run.json` is written into the run folder as each DAG finishes, so a
timeout still returns the DAGs that completed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.run.record import (
    FAILED,
    NOT_EXECUTED,
    RUN_FILE,
    SUCCEEDED,
    RunRecord,
    StepRun,
)

log = logging.getLogger(__name__)

ENGINE = "airflow"
DEFAULT_TIMEOUT = 600.0
LOG_DIR = "logs"
AIRFLOW_LOG = "airflow.log"  # what dag.test() prints outside tasks, per run folder
DB_FILE = "airflow.db"
DB_VERSION_FILE = "airflow-db.version"  # which Airflow version made the home's database

# Airflow's TaskInstance state -> our step status; anything else did not run.
STATUS_OF_STATE = {"success": SUCCEEDED, "failed": FAILED}
NOT_RUN_REASONS = {
    "skipped": "skipped by Airflow (branch not taken, short-circuit or trigger rule)",
    "upstream_failed": "not run: an upstream task failed",
    "removed": "removed from the DAG during the run",
    "none": "never scheduled",
}


@dataclass
class AirflowRunRequest:
    dag_file: Path
    dag_id: str
    run_folder: Path  # where to keep this run's logs and run.json
    params: dict[str, Any] = field(default_factory=dict)  # passed as run_conf
    logical_date: str | None = None  # ISO date/datetime; None = now (UTC)
    data_dir: Path | None = None  # $BRIDGE_DATA_DIR while this DAG runs
    input_dir: Path | None = None  # made available next to the DAG copy under its own name

    def to_json(self) -> dict[str, Any]:
        def path(p: Path | None) -> str | None:
            return str(Path(p).resolve()) if p is not None else None

        return {
            "dag_file": path(self.dag_file),
            "dag_id": self.dag_id,
            "run_folder": path(self.run_folder),
            "params": self.params,
            "logical_date": self.logical_date,
            "data_dir": path(self.data_dir),
            "input_dir": path(self.input_dir),
        }


# ---- parent side: never imports Airflow ------------------------------------------------------


def run_dags(
    requests: list[AirflowRunRequest],
    *,
    airflow_home: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[RunRecord]:
    """Run each request's DAG with `dag.test()`, all in one child process; one RunRecord each.

    `timeout` bounds the whole call. Nothing here raises for a DAG that fails to import, a
    missing dag_id, a crash or a timeout: those come back as Failed records with a `message`.
    If the child dies inside one DAG (say the file calls `os._exit`), that DAG is Failed and
    the DAGs after it get a fresh child.
    """
    if not requests:
        return []
    payloads = [r.to_json() for r in requests]
    for payload in payloads:
        stale = Path(payload["run_folder"]) / RUN_FILE
        stale.unlink(missing_ok=True)  # a run.json present afterwards was written by this call
    records: dict[int, RunRecord] = {}
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        if airflow_home is None:
            home = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="bridge-airflow-", ignore_cleanup_errors=True)
            )
        else:
            home = str(Path(airflow_home).resolve())
            Path(home).mkdir(parents=True, exist_ok=True)
        pending = list(range(len(payloads)))
        while pending:
            batch = [payloads[i] for i in pending]
            outcome = _run_child(home, batch, deadline - time.monotonic())
            for local, index in enumerate(pending):
                record = _collected(local, batch[local], outcome)
                if record is not None:
                    records[index] = record
            crashed = [
                index
                for local, index in enumerate(pending)
                if local in outcome.started and index not in records
            ]
            if outcome.timed_out or outcome.error or not crashed:
                for local, index in enumerate(pending):
                    if index not in records:
                        message = _lost_message(local, outcome, timeout)
                        records[index] = _failed_and_written(batch[local], message)
                break
            for index in crashed:
                # Its output went to the run folder's airflow.log, not to our stderr.
                message = (
                    f"the Airflow process died while running this DAG ({_exit(outcome)}); "
                    f"see {AIRFLOW_LOG} in the run folder"
                )
                records[index] = _failed_and_written(payloads[index], message)
            pending = [i for i in pending if i not in records]
    return [records[i] for i in range(len(payloads))]


@dataclass
class _ChildOutcome:
    records: dict[int, dict[str, Any]] = field(default_factory=dict)  # batch index -> record
    started: set[int] = field(default_factory=set)  # batch indexes the child began
    error: str = ""  # the child's own fatal error, if it reported one
    timed_out: bool = False
    returncode: int | None = None
    stderr_tail: str = ""


def child_env(home: str) -> dict[str, str]:
    """The parent's environment minus its Airflow config, plus an isolated home.

    Connections and variables given as AIRFLOW_CONN_* / AIRFLOW_VAR_* stay: the DAGs may need
    them. Everything that could point Airflow at another database or dags folder goes.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("AIRFLOW__") or k in ("AIRFLOW_HOME", "AIRFLOW_CONFIG"))
    }
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.update(
        AIRFLOW_HOME=home,
        AIRFLOW_CONFIG=str(Path(home) / "airflow.cfg"),
        AIRFLOW__CORE__DAGS_FOLDER=str(Path(home) / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{Path(home) / DB_FILE}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(Path(home) / "logs"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",  # task logs must keep "Task failed" + traceback
    )
    return env


def _run_child(home: str, payloads: list[dict[str, Any]], timeout: float) -> _ChildOutcome:
    if timeout <= 0:
        return _ChildOutcome(timed_out=True)
    cmd = [sys.executable, "-m", "bridge.compare.airflow_run"]
    stdin = json.dumps({"airflow_home": home, "requests": payloads}, default=str)
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(home),
        text=True,
        start_new_session=True,  # so a timeout also stops the tasks' own subprocesses
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    outcome = _ChildOutcome(
        timed_out=timed_out, returncode=proc.returncode, stderr_tail=_last_line(stderr or "")
    )
    for line in (stdout or "").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("event") == "start":
            outcome.started.add(int(event["index"]))
        elif event.get("event") == "result":
            outcome.records = {int(k): v for k, v in (event.get("records") or {}).items()}
            outcome.error = event.get("error") or ""
            if event.get("timings"):
                log.debug("airflow child timings: %s", event["timings"])
    return outcome


def _collected(local: int, payload: dict[str, Any], outcome: _ChildOutcome) -> RunRecord | None:
    """The child's record for this request, else the run.json it wrote before it stopped."""
    if local in outcome.records:
        return RunRecord.from_dict(outcome.records[local])
    run_file = Path(payload["run_folder"]) / RUN_FILE
    if run_file.exists():
        with contextlib.suppress(Exception):
            return RunRecord.read(run_file)
    return None


def _lost_message(local: int, outcome: _ChildOutcome, timeout: float) -> str:
    """Why a request has no record: the child's own error, the time limit, or a crash."""
    if outcome.error:
        return outcome.error
    if outcome.timed_out and local in outcome.started:
        return f"Airflow did not finish this DAG within the {timeout:g} s limit"
    if outcome.timed_out and not outcome.started:
        return f"not run: the {timeout:g} s limit was reached while Airflow was starting"
    if outcome.timed_out:
        return f"not run: the Airflow process reached its {timeout:g} s limit before this DAG"
    message = f"the Airflow process stopped unexpectedly ({_exit(outcome)})"
    return message + (f": {outcome.stderr_tail}" if outcome.stderr_tail else "")


def _exit(outcome: _ChildOutcome) -> str:
    code = outcome.returncode
    return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"


def _failed_and_written(payload: dict[str, Any], message: str) -> RunRecord:
    record = failed_record(payload, message)
    with contextlib.suppress(OSError):
        record.write(Path(payload["run_folder"]))
    return record


def failed_record(payload: dict[str, Any], message: str) -> RunRecord:
    """A run that never got going: no steps, status Failed, and why."""
    return RunRecord(
        engine=ENGINE,
        name=payload["dag_id"],
        run_id="",
        status=FAILED,
        parameters=dict(payload.get("params") or {}),
        message=message,
        folder=payload["run_folder"],
        data_dir=payload.get("data_dir") or "",
    )


def _one_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message (no schema dumps)."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# ---- shared helpers (no Airflow) --------------------------------------------------------------

_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Timeout|Failure)\b(?::\s*.*)?$"
)
_ERROR_RECORD = re.compile(r"\[error\s*\]\s*(.*?)\s*(?:\[[\w.]+\].*)?$")


def last_error_line(text: str) -> str:
    """The last meaningful error line of a task log: the final exception line of a traceback,
    else the message of the last `[error]` log record; "" when there is none."""
    lines = [ln.strip() for ln in text.splitlines()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    for line in reversed(lines):
        match = _ERROR_RECORD.search(line)
        if match and match.group(1):
            return match.group(1)
    return ""


def import_error_summary(trace: str, dag_file: str) -> str:
    """One line for a DagBag import error: the exception line, with the file's line number."""
    lines = [ln for ln in trace.splitlines() if ln.strip()]
    summary = last_error_line(trace) or (lines[-1].strip() if lines else "unknown error")
    numbers = re.findall(rf'File "[^"]*{re.escape(Path(dag_file).name)}", line (\d+)', trace)
    return f"{summary} (line {numbers[-1]})" if numbers else summary


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bridge"


def airflow_version() -> str:
    """The installed Airflow's version, read from package metadata (no Airflow import)."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("apache-airflow-core", "apache-airflow"):
        with contextlib.suppress(PackageNotFoundError):
            return version(dist)
    return "unknown"


def is_migrated(db: Path) -> bool:
    """A SQLite file that alembic has stamped, i.e. a complete `airflow db migrate`."""
    if not db.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return bool(conn.execute("SELECT version_num FROM alembic_version").fetchall())
    except sqlite3.Error:
        return False


def snapshot_db(src: Path, dest: Path) -> None:
    """Copy a (possibly WAL-mode, open) SQLite database consistently, then move it in atomically.

    Two processes may build the cache at once: each writes its own temp file and the last
    rename wins; both files are complete, and a reader never sees a half-written one.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with (
            contextlib.closing(sqlite3.connect(str(src))) as source,
            contextlib.closing(sqlite3.connect(tmp)) as target,
        ):
            source.backup(target)
            # The copy inherits WAL mode; in rollback mode a read-only open creates no
            # -wal/-shm files beside the cache, which would go stale when it is replaced.
            target.execute("PRAGMA journal_mode=DELETE")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---- child side: the only code path that imports Airflow -------------------------------------


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Point file descriptors 1 and 2 at `path` (appending) for the duration.

    Tasks print and log there, and so do the subprocesses they start (BashOperator), so
    redirecting the descriptors rather than sys.stdout catches all of it.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


@contextlib.contextmanager
def _isolated_process_state(data_dir: str | None) -> Iterator[None]:
    """Run one DAG with $BRIDGE_DATA_DIR set (when given), then put the environment and the
    working directory back: tasks run in this process, and what they or Airflow change (the
    AIRFLOW_CTX_* variables, an os.chdir) must not leak into the next DAG."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    if data_dir is not None:
        os.environ["BRIDGE_DATA_DIR"] = data_dir
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)


class _TaskCapture:
    """Wraps dag.test()'s per-task runner: one log file per task id, and each try's error.

    `dag.test()` runs every task instance through `airflow.sdk.definitions.dag._run_task`;
    wrapping it is the one place that sees each try begin and end, and its result carries the
    exception the task raised.
    """

    def __init__(self, timings: dict[str, Any]) -> None:
        self.log_dir: Path | None = None
        self.errors: dict[tuple[str, int], str] = {}
        self.timings = timings
        self.warm = False

    def warm_up(self) -> None:
        """Start the in-process Execution API before the first task of the process.

        Otherwise its start-up (~5 s here) is counted in the first task's duration, which would
        skew a side-by-side comparison. Only before a real dag.test(): a call whose DAGs all
        fail to import skips it. Best effort: it goes through a private helper.
        """
        if self.warm:
            return
        self.warm = True
        t0 = time.perf_counter()
        with contextlib.suppress(Exception):
            from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor

            InProcessTestSupervisor._api_client().get("health")
        self.timings["warmup_s"] = round(time.perf_counter() - t0, 3)

    def install(self) -> bool:
        try:
            import airflow.sdk.definitions.dag as dag_module
        except ImportError:
            return False
        original = getattr(dag_module, "_run_task", None)
        if original is None or getattr(original, "_bridge_capture", False):
            return original is not None

        def run_task(*args: Any, **kwargs: Any) -> Any:
            ti = kwargs.get("ti")
            if self.log_dir is None or ti is None:
                return original(*args, **kwargs)
            key = (ti.task_id, ti.map_index)
            path = self.log_dir / f"{ti.task_id}.log"
            header = f"=== bridge: {ti.task_id} try {ti.try_number}"
            header += f" map_index {ti.map_index} ===\n" if ti.map_index >= 0 else " ===\n"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as f:
                f.write(header)
            with _output_to(path):
                try:
                    result = original(*args, **kwargs)
                except Exception as exc:
                    self.errors[key] = _one_line(exc)
                    raise
            error = getattr(result, "error", None)
            if error is not None:
                self.errors[key] = _one_line(error)
            else:
                self.errors.pop(key, None)  # a retry that succeeded
            return result

        run_task._bridge_capture = True  # type: ignore[attr-defined]
        dag_module._run_task = run_task
        return True


def _prepare_home(home: Path, timings: dict[str, Any]) -> bool:
    """Put a migrated database into the home before Airflow is imported.

    Returns True when the caller must still run the migration (no usable cache).
    """
    version = airflow_version()
    db = home / DB_FILE
    marker = home / DB_VERSION_FILE
    if is_migrated(db) and marker.is_file() and marker.read_text().strip() == version:
        timings["db"] = "existing"
        return False
    cached = cache_dir() / f"airflow-{version}.db"
    if is_migrated(cached):
        t0 = time.perf_counter()
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(cached, db)
        marker.write_text(version + "\n")
        timings["db"] = "cache"
        timings["db_copy_s"] = round(time.perf_counter() - t0, 3)
        return False
    # Migrate from nothing, so the copy that goes into the cache holds no earlier runs.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return True


def _migrate(home: Path, timings: dict[str, Any]) -> None:
    from airflow import settings
    from airflow.utils import db as airflow_db

    version = airflow_version()
    t0 = time.perf_counter()
    airflow_db.upgradedb()
    settings.engine.dispose()
    timings["db"] = "migrate"
    timings["db_migrate_s"] = round(time.perf_counter() - t0, 3)
    (home / DB_VERSION_FILE).write_text(version + "\n")
    try:
        snapshot_db(home / DB_FILE, cache_dir() / f"airflow-{version}.db")
    except (OSError, sqlite3.Error) as exc:  # no writable cache: fine, just slower next time
        timings["db_cache_error"] = str(exc)


def _parse_logical_date(value: str | None):
    if not value:
        return None
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _state_name(state: Any) -> str:
    if state is None:
        return "none"
    return str(getattr(state, "value", state))


def _epoch(moment: Any) -> float | None:
    return round(moment.timestamp(), 6) if moment is not None else None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _xcoms(dag_id: str, run_id: str) -> dict[str, dict[int, dict[str, Any]]]:
    """task_id -> map_index -> {key: value} for every XCom of the run, each decoded as a
    downstream task's `xcom_pull` receives it. That is the task SDK's XCom backend, not
    `XComModel.deserialize_value`: the latter json-decodes a returned JSON *text* a second
    time and would turn `return json.dumps({...})` into a dict no consumer ever sees."""
    from airflow.models.xcom import XComModel
    from airflow.sdk.execution_time.xcom import resolve_xcom_backend
    from airflow.utils.session import create_session

    backend = resolve_xcom_backend()
    found: dict[str, dict[int, dict[str, Any]]] = {}
    with create_session() as session:
        for row in session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id)):
            value = _json_safe(backend.deserialize_value(row))
            found.setdefault(row.task_id, {}).setdefault(row.map_index, {})[row.key] = value
    return dict(found)


def _step(
    task: Any,
    tis: list[Any],
    xcoms: dict[int, dict[str, Any]],
    errors: dict[tuple[str, int], str],
    run_folder: Path,
) -> StepRun:
    task_id = task.task_id
    log_path = run_folder / LOG_DIR / f"{task_id}.log"
    step = StepRun(
        name=task_id,
        status=NOT_EXECUTED,
        kind=getattr(task, "task_type", type(task).__name__),
        log=f"{LOG_DIR}/{task_id}.log" if log_path.exists() else None,
    )
    if not tis:
        step.raw_state = "none"
        step.reason = NOT_RUN_REASONS["none"]
        return step
    tis = sorted(tis, key=lambda ti: ti.map_index)
    states = [_state_name(ti.state) for ti in tis]
    starts = [ti.start_date for ti in tis if ti.start_date is not None]
    ends = [ti.end_date for ti in tis if ti.end_date is not None]
    step.started = _epoch(min(starts)) if starts else None
    step.ended = _epoch(max(ends)) if ends else None
    step.attempts = max(int(ti.try_number or 0) for ti in tis)
    mapped = bool(getattr(task, "is_mapped", False)) or any(ti.map_index >= 0 for ti in tis)

    def from_log() -> str:
        return last_error_line(log_path.read_text(errors="replace")) if log_path.exists() else ""

    if not mapped:
        ti = tis[0]
        step.raw_state = states[0]
        step.status = STATUS_OF_STATE.get(states[0], NOT_EXECUTED)
        step.outputs = dict(sorted(xcoms.get(ti.map_index, {}).items()))
        if step.status == FAILED:
            step.reason = (
                errors.get((task_id, ti.map_index))
                or from_log()
                or "failed (no error message in the task log)"
            )
        elif step.status == NOT_EXECUTED:
            step.reason = NOT_RUN_REASONS.get(states[0], f"not run (Airflow state {states[0]})")
        return step
    # A mapped task is one step: values in map_index order, status over all instances.
    step.raw_state = ",".join(states) if len(set(states)) > 1 else states[0]
    keys = sorted({k for ti in tis for k in xcoms.get(ti.map_index, {})})
    step.outputs = {k: [xcoms.get(ti.map_index, {}).get(k) for ti in tis] for k in keys}
    failed = [ti for ti, s in zip(tis, states, strict=True) if s == "failed"]
    succeeded = [s for s in states if s == "success"]
    if failed:
        step.status = FAILED
        first = failed[0]
        detail = errors.get((task_id, first.map_index)) or from_log() or "failed"
        step.reason = (
            f"{len(failed)} of {len(tis)} mapped instances failed; "
            f"map_index {first.map_index}: {detail}"
        )
    elif succeeded:
        step.status = SUCCEEDED
        if len(succeeded) < len(tis):
            step.reason = f"{len(tis) - len(succeeded)} of {len(tis)} mapped instances did not run"
    else:
        step.reason = NOT_RUN_REASONS.get(states[0], f"not run (Airflow state {step.raw_state})")
    return step


def _record_from_dagrun(
    dag: Any,
    dagrun: Any,
    payload: dict[str, Any],
    errors: dict[tuple[str, int], str],
    started: float,
    ended: float,
) -> RunRecord:
    run_folder = Path(payload["run_folder"])
    tis_by_task: dict[str, list[Any]] = {}
    for ti in dagrun.get_task_instances():
        tis_by_task.setdefault(ti.task_id, []).append(ti)
    xcoms = _xcoms(dag.dag_id, dagrun.run_id)
    steps = {
        task_id: _step(
            task, tis_by_task.get(task_id, []), xcoms.get(task_id, {}), errors, run_folder
        )
        for task_id, task in dag.task_dict.items()
    }
    state = _state_name(dagrun.state)
    record = RunRecord(
        engine=ENGINE,
        name=dag.dag_id,
        run_id=dagrun.run_id,
        status=SUCCEEDED if state == "success" else FAILED,
        # dag.test() sets the DagRun's start_date to the logical date when one is given, so the
        # run's own clock is taken around the call instead.
        started=round(started, 6),
        ended=round(ended, 6),
        parameters=dict(payload.get("params") or {}),
        steps=steps,
        folder=str(run_folder),
        data_dir=payload.get("data_dir") or "",
    )
    if record.status == FAILED:
        failed = [s for s in steps.values() if s.status == FAILED]
        if failed:
            names = ", ".join(s.name for s in failed)
            record.message = f"task(s) failed: {names}; {failed[0].name}: {failed[0].reason}"
        else:
            record.message = f"Airflow ended the run in state {state!r}"
    return record


def _stage(payload: dict[str, Any], dags_folder: Path, staged: list[Path]) -> None:
    """Copy the DAG file into the dags folder and put its input folder next to it; `staged`
    collects what was placed, for `_unstage`, even when a step fails halfway."""
    source = Path(payload["dag_file"])
    target = dags_folder / source.name
    shutil.copyfile(source, target)
    staged.append(target)
    if payload.get("input_dir"):
        input_dir = Path(payload["input_dir"])
        link = dags_folder / input_dir.name
        try:
            link.symlink_to(input_dir, target_is_directory=True)
        except OSError:
            shutil.copytree(input_dir, link)
        staged.append(link)


def _unstage(paths: list[Path]) -> None:
    for path in paths:
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _run_one(
    payload: dict[str, Any], dags_folder: Path, capture: _TaskCapture
) -> tuple[RunRecord, float]:
    """Load and run one DAG; always returns a record (Failed with a message on any error)."""
    run_folder = Path(payload["run_folder"])
    run_folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(run_folder / LOG_DIR, ignore_errors=True)  # logs of an earlier run would mislead
    (run_folder / AIRFLOW_LOG).unlink(missing_ok=True)
    dag_file = Path(payload["dag_file"])
    if not dag_file.is_file():
        return failed_record(payload, f"DAG file not found: {dag_file}"), 0.0
    if payload.get("input_dir") and not Path(payload["input_dir"]).is_dir():
        return failed_record(payload, f"input folder not found: {payload['input_dir']}"), 0.0
    if payload.get("data_dir"):
        Path(payload["data_dir"]).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    staged: list[Path] = []
    try:
        _stage(payload, dags_folder, staged)
        with (
            _isolated_process_state(payload.get("data_dir")),
            _output_to(run_folder / AIRFLOW_LOG),
        ):
            record = _load_and_test(payload, staged[0], capture)
    except Exception as exc:  # anything raised outside a task: staging, DagBag, dag.test()
        record = failed_record(payload, f"dag.test() failed: {_one_line(exc)}")
    finally:
        _unstage(staged)
        capture.log_dir = None
    return record, round(time.perf_counter() - t0, 3)


def _load_and_test(payload: dict[str, Any], staged_file: Path, capture: _TaskCapture) -> RunRecord:
    from airflow.dag_processing.dagbag import DagBag

    dag_id = payload["dag_id"]
    name = Path(payload["dag_file"]).name
    bag = DagBag(dag_folder=str(staged_file))
    if bag.import_errors:
        trace = next(iter(bag.import_errors.values()))
        return failed_record(
            payload, f"{name} failed to import: {import_error_summary(trace, name)}"
        )
    dag = bag.dags.get(dag_id)
    if dag is None:
        found = ", ".join(sorted(bag.dags)) or "none"
        return failed_record(payload, f"no DAG {dag_id!r} in {name} (DAGs found: {found})")
    try:
        logical_date = _parse_logical_date(payload.get("logical_date"))
    except ValueError:
        return failed_record(
            payload, f"logical_date {payload['logical_date']!r} is not an ISO date or datetime"
        )
    capture.warm_up()
    capture.log_dir = Path(payload["run_folder"]) / LOG_DIR
    capture.errors = {}
    kwargs: dict[str, Any] = {"run_conf": dict(payload.get("params") or {}) or None}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    started = time.time()
    dagrun = dag.test(**kwargs)
    ended = time.time()
    return _record_from_dagrun(dag, dagrun, payload, capture.errors, started, ended)


def _child_main() -> int:
    """`python -m bridge.compare.airflow_run`: requests on stdin, JSON events on stdout."""
    out = os.fdopen(os.dup(1), "w")  # the result channel; fd 1 itself carries stray output
    os.dup2(2, 1)

    def emit(event: dict[str, Any]) -> None:
        out.write(json.dumps(event, default=str) + "\n")
        out.flush()

    request = json.loads(sys.stdin.read())
    payloads: list[dict[str, Any]] = request["requests"]
    home = Path(request["airflow_home"])
    dags_folder = home / "dags"
    # dag.test() parses the whole dags folder, so it must hold only the DAG being run: clear
    # what an earlier child left behind when it died mid-DAG.
    if dags_folder.is_dir():
        _unstage(list(dags_folder.iterdir()))
    dags_folder.mkdir(parents=True, exist_ok=True)
    timings: dict[str, Any] = {"dags_s": []}
    records: dict[int, dict[str, Any]] = {}
    try:
        must_migrate = _prepare_home(home, timings)
        t0 = time.perf_counter()
        import airflow  # noqa: F401  (configured by the environment set by the parent)
        from airflow.dag_processing.dagbag import DagBag  # noqa: F401

        timings["import_s"] = round(time.perf_counter() - t0, 3)
        if must_migrate:
            _migrate(home, timings)
        capture = _TaskCapture(timings)
        timings["task_logs"] = capture.install()  # False: task output stays in airflow.log
    except Exception as exc:
        emit({"event": "result", "records": {}, "error": f"Airflow could not start: {exc}"})
        return 1
    for index, payload in enumerate(payloads):
        emit({"event": "start", "index": index})
        try:
            record, seconds = _run_one(payload, dags_folder, capture)
        except Exception as exc:  # e.g. the run folder cannot be created
            record, seconds = failed_record(payload, _one_line(exc)), 0.0
        timings["dags_s"].append([payload["dag_id"], seconds])
        with contextlib.suppress(OSError):
            record.write(Path(payload["run_folder"]))
        records[index] = record.to_dict()
    emit({"event": "result", "records": records, "timings": timings})
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
