"""Live mode: load DAG files with Airflow's own DagBag, in a subprocess, and compare with static.

The child process (`python -m bridge.parse.live OUT FILE...`) is the only place that imports Airflow
for graphs. It writes JSON in the same shape as `bridge graph --format json` (summary view).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 120.0


@dataclass
class LiveResult:
    files: dict[str, dict] = field(
        default_factory=dict
    )  # path -> {"dags": [...], "error": str|None}
    error: str | None = None


def isolated_env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def load_live(
    paths: list[str], timeout: float = DEFAULT_TIMEOUT, python: str | None = None
) -> LiveResult:
    """Run DagBag over `paths` in a child process with a timeout; results keyed as given."""
    absolute = {str(Path(p).resolve()): p for p in paths}  # the child needs no working dir
    with tempfile.TemporaryDirectory(prefix="bridge-live-") as home:
        out = Path(home) / "live.json"
        cmd = [python or sys.executable, "-m", "bridge.parse.live", str(out), *absolute]
        try:
            proc = subprocess.run(
                cmd, env=isolated_env(home), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return LiveResult(error=f"DagBag did not finish within {timeout:g} s")
        if not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return LiveResult(error="DagBag could not run: " + " / ".join(tail))
        data = json.loads(out.read_text())
    if data.get("error"):
        return LiveResult(error=data["error"])
    return LiveResult(files={absolute.get(k, k): v for k, v in data["files"].items()})


# ---- child side ----------------------------------------------------------------------------


def task_summary(task) -> dict:
    from bridge.parse.names import canonical_from_live

    if getattr(task, "is_mapped", False) and hasattr(task, "_task_module"):
        module, cls = task._task_module, task.task_type
    else:
        module, cls = type(task).__module__, type(task).__name__
    name = getattr(task, "operator_name", None) or getattr(task, "custom_operator_name", None)
    custom = name if isinstance(name, str) and name.startswith("@") else None
    group = (
        task.task_group.group_id
        if task.task_group is not None and task.task_group.group_id
        else None
    )
    return {
        "task_id": task.task_id,
        "operator": canonical_from_live(module, cls, custom),
        "group": group,
        "trigger_rule": str(
            task.trigger_rule.value if hasattr(task.trigger_rule, "value") else task.trigger_rule
        ),
        "retries": task.retries,
        "mapped": bool(getattr(task, "is_mapped", False)),
    }


def dag_summary(dag) -> dict:
    edges = sorted([t.task_id, d] for t in dag.task_dict.values() for d in t.downstream_task_ids)
    return {
        "dag_id": dag.dag_id,
        "tasks": [task_summary(t) for t in dag.task_dict.values()],
        "edges": edges,
    }


def _child(out: str, paths: list[str]) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except Exception as exc:  # Airflow missing or broken in this interpreter
        Path(out).write_text(json.dumps({"error": f"Airflow is not importable: {exc}"}))
        return
    files: dict[str, dict] = {}
    for path in paths:
        try:
            bag = DagBag(dag_folder=path)
            errors = (
                "; ".join(str(v).strip().splitlines()[-1] for v in bag.import_errors.values())
                or None
            )
            files[path] = {"dags": [dag_summary(d) for d in bag.dags.values()], "error": errors}
        except Exception as exc:
            files[path] = {"dags": [], "error": f"{type(exc).__name__}: {exc}"}
    Path(out).write_text(json.dumps({"files": files}))


# ---- comparison ----------------------------------------------------------------------------


def graph_key(dag: dict) -> dict:
    """The comparable part of a DAG summary: ids, operators and edges."""
    return {
        "tasks": {t["task_id"]: t["operator"] for t in dag["tasks"]},
        "edges": {tuple(e) for e in dag["edges"]},
    }


def diff_dags(static_dags: list[dict], live_dags: list[dict]) -> list[str]:
    """Human-readable differences between static and live DAG summaries of one file."""
    out: list[str] = []
    s = {d["dag_id"]: graph_key(d) for d in static_dags}
    lv = {d["dag_id"]: graph_key(d) for d in live_dags}
    for dag_id in sorted(set(s) - set(lv)):
        out.append(f"DAG `{dag_id}` found statically but not by DagBag")
    for dag_id in sorted(set(lv) - set(s)):
        out.append(f"DAG `{dag_id}` found by DagBag but not statically")
    for dag_id in sorted(set(s) & set(lv)):
        a, b = s[dag_id], lv[dag_id]
        for tid in sorted(set(a["tasks"]) - set(b["tasks"])):
            out.append(f"{dag_id}: task `{tid}` only in static graph")
        for tid in sorted(set(b["tasks"]) - set(a["tasks"])):
            out.append(f"{dag_id}: task `{tid}` only in DagBag graph")
        for tid in sorted(set(a["tasks"]) & set(b["tasks"])):
            if a["tasks"][tid] != b["tasks"][tid]:
                out.append(
                    f"{dag_id}: task `{tid}` operator {a['tasks'][tid]} (static) vs {b['tasks'][tid]} (DagBag)"
                )
        for e in sorted(a["edges"] - b["edges"]):
            out.append(f"{dag_id}: edge {e[0]} >> {e[1]} only in static graph")
        for e in sorted(b["edges"] - a["edges"]):
            out.append(f"{dag_id}: edge {e[0]} >> {e[1]} only in DagBag graph")
    return out


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2:])


def live_report(results, timeout: float) -> dict[str, dict]:
    live = load_live([r.path for r in results], timeout=timeout)
    report: dict[str, dict] = {}
    for r in results:
        if live.error:
            report[r.path] = {"error": live.error, "differences": []}
            continue
        info = live.files.get(r.path, {"dags": [], "error": "not loaded"})
        report[r.path] = {
            "error": info.get("error"),
            "differences": diff_dags([d.summary() for d in r.dags], info["dags"]),
        }
    return report
