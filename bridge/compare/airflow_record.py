"""An Airflow DagRun as a RunRecord: each task one step, with its status, outputs and error.

Used by the child process (airflow_child.py) after `dag.test()`, and by both sides for a run
that never got going (`failed_record`). Airflow objects (DAG, DagRun, TaskInstance) are only
read through their attributes; only `_xcoms` imports Airflow, inside the function.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bridge.run.record import FAILED, NOT_EXECUTED, SUCCEEDED, RunRecord, StepRun

__all__ = [
    "AIRFLOW_LOG",
    "ENGINE",
    "LOG_DIR",
    "NOT_RUN_REASONS",
    "STATUS_OF_STATE",
    "failed_record",
    "import_error_summary",
    "last_error_line",
    "one_line",
    "record_from_dagrun",
]

ENGINE = "airflow"
LOG_DIR = "logs"
AIRFLOW_LOG = "airflow.log"  # what dag.test() prints outside tasks, per run folder

# Airflow's TaskInstance state -> our step status; anything else did not run.
STATUS_OF_STATE = {"success": SUCCEEDED, "failed": FAILED}
NOT_RUN_REASONS = {
    "skipped": "skipped by Airflow (branch not taken, short-circuit or trigger rule)",
    "upstream_failed": "not run: an upstream task failed",
    "removed": "removed from the DAG during the run",
    "none": "never scheduled",
}


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


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message (no schema dumps)."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


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


def record_from_dagrun(
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
