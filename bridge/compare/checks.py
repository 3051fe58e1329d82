"""Compare an Airflow run of a DAG with a run of its translated pipeline, task by task.

`manifest.json` pairs each task with its step(s). For each task, when both sides could run it:
  state   Airflow's final state against its steps' status (a task ran when one of its steps,
          e.g. one branch copy, ran);
  branch  for branch and short-circuit tasks: which downstream tasks went ahead;
  xcom    every XCom key Airflow recorded against the step's xcom.json (numbers within the
          run's tolerance; the two runs' data folders and run ids are neutralised first).
Files written under the two data folders are compared by path: JSON and CSV with the numeric
tolerance, anything else by checksum. A task is "not compared", with the reason, when it became
a placeholder, a step that cannot run here, or no step at all: never counted as agreement.
Each task also lists the files its steps used outside their jobs' own (the audit hook's record),
and each run whether it was isolated and why it may not be SageMaker-faithful.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from bridge.run.record import NOT_EXECUTED, NOT_RUNNABLE, SUCCEEDED, RunRecord
from bridge.run.values import follow

AGREE, DIFFER, NOT_COMPARED = "agree", "differ", "not_compared"
BRANCH_RULES = {"branch", "short_circuit"}
# XComs Airflow keeps for itself, not values a task produced.
INTERNAL_XCOMS = {"skipmixin_key", "_link_"}
# The variable `bridge compare` sets to a folder of the Airflow run's own (airflow_run.py).
DATA_DIR_VARIABLE = "BRIDGE_DATA_DIR"


def compare_runs(
    manifest: dict, airflow: RunRecord, pipeline: RunRecord, *, tolerance: float = 1e-9
) -> dict[str, Any]:
    normalise = _normaliser(airflow, pipeline, manifest)
    if not airflow.steps:  # the DAG did not load or run under Airflow: nothing to compare with
        reason = f"the Airflow run did not start: {airflow.message or airflow.status}"
        tasks = [
            _row(task_id, info, None, pipeline) | {"reason": reason}
            for task_id, info in sorted(manifest["tasks"].items())
        ]
        return _assemble(manifest, airflow, pipeline, tasks, [], tolerance)
    tasks = [
        _compare_task(task_id, info, manifest, airflow, pipeline, tolerance, normalise)
        for task_id, info in sorted(manifest["tasks"].items())
    ]
    files = compare_folders(manifest, airflow, pipeline, tolerance, normalise)
    return _assemble(manifest, airflow, pipeline, tasks, files, tolerance)


def _assemble(manifest, airflow, pipeline, tasks, files, tolerance) -> dict[str, Any]:
    counts = {v: sum(t["verdict"] == v for t in tasks) for v in (AGREE, DIFFER, NOT_COMPARED)}
    files_differ = sum(not f["ok"] for f in files)
    differ = counts[DIFFER] > 0 or files_differ > 0
    verdict = "different" if differ else "incomplete" if counts[NOT_COMPARED] else "equivalent"
    return {
        "dag_id": manifest["dag_id"],
        "dag_file": manifest["source"]["path"],
        "ok": not differ and counts[AGREE] > 0,
        "verdict": verdict,
        "parameters": pipeline.parameters,
        "tolerance": tolerance,
        "runs": {"airflow": _run_summary(airflow), "pipeline": _run_summary(pipeline)},
        "tasks": tasks,
        "files": files,
        "graph": {
            "dag_edges": manifest["dag_edges"],
            "pipeline_edges": manifest["edges"],
            "step_task": {s: info["task_id"] for s, info in manifest["steps"].items()},
            "tasks": sorted(manifest["tasks"]),
            "steps": sorted(manifest["steps"]),
        },
        "summary": {
            **counts,
            "files_agree": len(files) - files_differ,
            "files_differ": files_differ,
        },
    }


def _run_summary(record: RunRecord) -> dict[str, Any]:
    return {
        "engine": record.engine,
        "run_id": record.run_id,
        "status": record.status,
        "duration": record.duration,
        "folder": record.folder,
        "partial": record.partial,
        "message": record.message,
        "isolated": record.isolated,
        "not_faithful": list(record.not_faithful),
    }


def _row(task_id: str, info: dict, ran, pipeline: RunRecord) -> dict:
    steps = [pipeline.steps[s] for s in info["steps"] if s in pipeline.steps]
    return {
        "task_id": task_id,
        "steps": info["steps"],
        "verdict": NOT_COMPARED,
        "airflow_state": (ran.raw_state or ran.status) if ran else "missing",
        "pipeline_status": _task_status(steps) if steps else "no step",
        "airflow_duration": ran.duration if ran else None,
        "pipeline_duration": _total(s.duration for s in steps),
        "checks": [],
        "reason": "",
        "file_access": [
            {"step": s.name, "path": a.path, "mode": a.mode, "refused": a.refused}
            for s in steps
            for a in s.file_access
        ],
    }


def _compare_task(task_id, info, manifest, airflow, pipeline, tolerance, normalise) -> dict:
    ran = airflow.steps.get(task_id)
    steps = [pipeline.steps[s] for s in info["steps"] if s in pipeline.steps]
    row = _row(task_id, info, ran, pipeline)
    reason = _not_comparable(info, ran, steps)
    if reason:
        row["reason"] = reason
        return row
    checks = [_state_check(ran, steps)]
    if info.get("rule") in BRANCH_RULES:
        checks.append(_branch_check(task_id, manifest, airflow, pipeline))
    if ran.status == SUCCEEDED and _task_status(steps) == SUCCEEDED:
        checks.extend(_xcom_checks(ran, steps, tolerance, normalise))
    row["checks"] = checks
    row["verdict"] = AGREE if all(c["ok"] for c in checks) else DIFFER
    return row


def _not_comparable(info: dict, ran, steps: list) -> str:
    if info.get("fidelity") == "manual" or info.get("fate") == "placeholder":
        return f"placeholder: the task was not translated ({info.get('rule') or 'no rule'})"
    if not info["steps"]:
        return f"no step: the task was {info.get('fate') or 'contracted'} in the pipeline"
    if ran is None:
        return "the Airflow run has no record of this task"
    if ran.status == NOT_EXECUTED and ran.raw_state in ("", "none", "None", "removed"):
        return f"Airflow did not get to run it ({ran.raw_state or 'never scheduled'})"
    blocked = [s for s in steps if s.status == NOT_RUNNABLE]
    if blocked:
        return f"step {blocked[0].name} is not runnable locally: {blocked[0].reason}"
    upstream = [s for s in steps if "not runnable locally" in s.reason]
    if upstream and all(s.status == NOT_EXECUTED for s in steps):
        return f"its step did not run: {upstream[0].reason}"
    return ""


def _task_status(steps: list) -> str:
    """A task's outcome from its steps: copies and mapped instances count together. A bash step
    that exited with a skip_on_exit_code succeeds (its gate stops the downstream) and says
    `bridge_skipped`: Airflow records that task as skipped, and its gate (the task's Condition
    step, which ran to stop the downstream) does not make it a success."""
    if any(_skipped(s) for s in steps):
        steps = [s for s in steps if s.kind != "Condition"]
    statuses = {NOT_EXECUTED if _skipped(s) else s.status for s in steps}
    for status in ("Failed", "Stopped"):
        if status in statuses:
            return status
    return SUCCEEDED if SUCCEEDED in statuses else NOT_EXECUTED


def _skipped(step) -> bool:
    xcom = (step.property_files or {}).get("xcom")
    return (
        step.status == SUCCEEDED and isinstance(xcom, dict) and xcom.get("bridge_skipped") is True
    )


def _total(durations) -> float | None:
    values = [d for d in durations if d is not None]
    return round(sum(values), 4) if values else None


def _state_check(ran, steps: list) -> dict:
    ours = _task_status(steps)
    return {
        "check": "state",
        "ok": ran.status == ours,
        "detail": f"Airflow {ran.raw_state or ran.status} / pipeline {ours}",
    }


def _branch_check(task_id: str, manifest: dict, airflow: RunRecord, pipeline: RunRecord) -> dict:
    downstream = sorted({b for a, b in manifest["dag_edges"] if a == task_id})

    def went_ahead(record_steps, names_of) -> list[str]:
        return [
            d
            for d in downstream
            if any(s.status != NOT_EXECUTED for s in names_of(record_steps, d))
        ]

    in_airflow = went_ahead(airflow.steps, lambda r, d: [r[d]] if d in r else [])
    in_pipeline = went_ahead(
        pipeline.steps,
        lambda r, d: [r[s] for s in manifest["tasks"].get(d, {}).get("steps", []) if s in r],
    )
    return {
        "check": "branch",
        "ok": in_airflow == in_pipeline,
        "detail": f"Airflow went on to {', '.join(in_airflow) or 'nothing'}; "
        f"pipeline to {', '.join(in_pipeline) or 'nothing'}",
    }


def _xcom_checks(ran, steps: list, tolerance: float, normalise) -> list[dict]:
    """Every XCom Airflow kept for the task, against the value its step wrote."""
    wrote = [s for s in steps if s.status == SUCCEEDED and "xcom" in s.property_files]
    if not wrote:
        return []
    if len(wrote) > 1 and all(s.name.rsplit("-", 1)[-1].isdigit() for s in wrote):
        # one step per element of a literal .expand(): Airflow keeps the list of instances
        ordered = sorted(wrote, key=lambda s: int(s.name.rsplit("-", 1)[-1]))
        values = [s.property_files["xcom"] or {} for s in ordered]
        ours = {k: [v.get(k) for v in values] for k in sorted({k for v in values for k in v})}
    else:
        ours = wrote[0].property_files["xcom"] or {}
    checks = []
    for key in sorted(ran.outputs):
        if key in INTERNAL_XCOMS:
            continue
        theirs = normalise(ran.outputs[key], "airflow")
        mine = normalise(ours.get(key), "pipeline") if key in ours else "<missing>"
        same, where = values_equal(theirs, mine, tolerance)
        detail = (
            f"{key} equal"
            if same
            else f"{key} differs at {where or 'top'}: " + _show(theirs, mine, where)
        )
        checks.append({"check": "xcom", "ok": same, "detail": detail})
    return checks


def _show(theirs: Any, mine: Any, where: str) -> str:
    path = where.split(" (")[0]  # "x (length 5 / 2)": show the two lists

    def at(value):
        try:
            return follow(value, path) if path else value
        except ValueError:
            return "<missing>"

    return f"Airflow {_short(at(theirs))} / pipeline {_short(at(mine))}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def values_equal(a: Any, b: Any, tolerance: float, where: str = "") -> tuple[bool, str]:
    """Deep equality with numbers compared within a relative tolerance; (False, path) at the
    first difference."""
    if _number(a) and _number(b):
        ok = math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=tolerance * 1e-3)
        return ok, "" if ok else where
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            missing = sorted(set(a) ^ set(b), key=str)[0]
            return False, f"{where}['{missing}']"
        for key in sorted(a, key=str):
            ok, at = values_equal(a[key], b[key], tolerance, f"{where}['{key}']")
            if not ok:
                return ok, at
        return True, ""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return False, f"{where} (length {len(a)} / {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            ok, at = values_equal(x, y, tolerance, f"{where}[{i}]")
            if not ok:
                return ok, at
        return True, ""
    return a == b, "" if a == b else where


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _normaliser(airflow: RunRecord, pipeline: RunRecord, manifest: dict):
    """Values that name a run's own folder or id are the same value in the other run."""
    marks = {
        "airflow": [(airflow.data_dir, "<data_dir>"), (airflow.run_id, "<run_id>")],
        "pipeline": [
            (pipeline.data_dir, "<data_dir>"),
            (pipeline.run_id, "<run_id>"),
            # a step sees $BRIDGE_DATA_DIR at its job folder; Airflow's tasks at the run's own
            *(
                (work, "<data_dir>")
                for work in sorted(_data_dir_work_paths(manifest), key=len)[::-1]
            ),
        ],
    }

    def normalise(value: Any, side: str) -> Any:
        if isinstance(value, str):
            for text, mark in marks[side]:
                if text:
                    value = value.replace(text, mark)
            return value
        if isinstance(value, list):
            return [normalise(v, side) for v in value]
        if isinstance(value, dict):
            return {k: normalise(v, side) for k, v in value.items()}
        return value

    return normalise


# ---- files ------------------------------------------------------------------------------------


def _declared_folders(manifest: dict) -> dict[str, dict]:
    """Worker folders some step writes (manifest steps' `folders`), by name."""
    return {
        f["name"]: f
        for step in (manifest.get("steps") or {}).values()
        for f in step.get("folders") or []
        if f.get("output")
    }


def _data_dir_work_paths(manifest: dict) -> set[str]:
    return {
        f["local_path"]
        for step in (manifest.get("steps") or {}).values()
        for f in step.get("folders") or []
        if f.get("kind") == "env" and f.get("path") == DATA_DIR_VARIABLE and f.get("local_path")
    }


def compare_folders(
    manifest: dict, airflow: RunRecord, pipeline: RunRecord, tolerance: float, normalise
) -> list[dict]:
    """Each worker folder the DAG's tasks share: what the Airflow run left in it against the
    pipeline's job outputs for it, merged in run order (bridge/run/folders.py). A run with the
    --data-dir escape hatch compares that shared folder as it is."""
    if pipeline.data_dir:
        return compare_files(
            Path(airflow.data_dir) if airflow.data_dir else None,
            Path(pipeline.data_dir),
            tolerance,
            normalise,
        )
    rows = []
    for name, folder in sorted(_declared_folders(manifest).items()):
        theirs, since = _airflow_folder(folder, airflow, manifest)
        merged = (pipeline.folders.get(name) or {}).get("files") or f"files/{name}"
        ours = Path(pipeline.folder) / merged if pipeline.folder else None
        for row in compare_files(theirs, ours, tolerance, normalise, since=since):
            rows.append({**row, "path": f"{name}/{row['path']}"})
    return rows


def _airflow_folder(folder: dict, airflow: RunRecord, manifest: dict) -> tuple[Path | None, float]:
    """Where the Airflow run's tasks had the folder, and the time from which its files count:
    a folder of this run alone ($BRIDGE_DATA_DIR, which compare sets per run) counts whole; a
    host folder other runs also wrote counts only what this run wrote."""
    since = (airflow.started or 0.0) - 1.0
    key = folder.get("path") or ""
    if folder.get("kind") == "env":
        if key == DATA_DIR_VARIABLE and airflow.data_dir:
            return Path(airflow.data_dir), 0.0
        value = os.environ.get(key) or folder.get("default") or ""
        return (Path(value), since) if value.startswith("/") else (None, since)
    if folder.get("kind") == "dag":
        source = (manifest.get("source") or {}).get("path") or ""
        return (Path(source).parent / key, since) if source else (None, since)
    return Path(key), since


def compare_files(
    airflow_dir: Path | None,
    pipeline_dir: Path | None,
    tolerance: float,
    normalise,
    *,
    since: float = 0.0,
) -> list[dict]:
    if airflow_dir is None or pipeline_dir is None:
        return []
    ours = _files(pipeline_dir)
    theirs = {k: p for k, p in _files(airflow_dir).items() if p.stat().st_mtime >= since}
    rows = []
    for path in sorted(set(ours) | set(theirs)):
        if path not in ours:
            rows.append({"path": path, "ok": False, "detail": "missing in the pipeline run"})
        elif path not in theirs:
            rows.append({"path": path, "ok": False, "detail": "only in the pipeline run"})
        else:
            ok, detail = _same_file(theirs[path], ours[path], tolerance, normalise)
            rows.append({"path": path, "ok": ok, "detail": detail})
    return rows


def _files(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def _same_file(theirs: Path, ours: Path, tolerance: float, normalise) -> tuple[bool, str]:
    a, b = theirs.read_bytes(), ours.read_bytes()
    if a == b:
        return True, f"identical (sha256 {hashlib.sha256(a).hexdigest()[:12]})"
    parsed = _parse(theirs.suffix.lower(), a, b)
    if parsed is None:
        return False, (
            f"checksums differ ({hashlib.sha256(a).hexdigest()[:12]} / "
            f"{hashlib.sha256(b).hexdigest()[:12]})"
        )
    x, y = normalise(parsed[0], "airflow"), normalise(parsed[1], "pipeline")
    ok, where = values_equal(x, y, tolerance)
    return ok, "equal within tolerance" if ok else f"differs at {where or 'top'}: " + _show(
        x, y, where
    )


def _parse(suffix: str, a: bytes, b: bytes) -> tuple[Any, Any] | None:
    try:
        if suffix == ".json":
            return json.loads(a), json.loads(b)
        if suffix == ".csv":
            return _csv(a), _csv(b)
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def _csv(data: bytes) -> list[list[Any]]:
    rows = csv.reader(io.StringIO(data.decode("utf-8")))
    return [[_cell(c) for c in row] for row in rows]


def _cell(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text
