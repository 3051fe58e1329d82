"""Benchmark `bridge graph` (issue 2). Not a timed test: prints figures and ratios.

1. `bridge graph --format json` over the installed Airflow example folders vs DagBag loading the
   same folders, each from a cold process (anchor: DagBag; target ratio <= 0.5).
2. `bridge graph` on generated single-file DAGs of 100, 1,000 and 10,000 tasks: seconds and peak
   memory (target: linear growth, 10,000 tasks under 5 s and 500 MB).
3. Cold start of `bridge --help` (target under 0.15 s; no Airflow or SageMaker import on that path).

Run: `make bench` (or `uv run python benchmarks/bench_graph.py`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
BRIDGE = [PY, "-m", "bridge.cli"]
REPEAT = 3


def timed(
    cmd: list[str], env: dict | None = None, expect_ok: bool = False
) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS (MB; GNU time's %M for that child alone) and stdout of a cold child."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        capture_output=True,
        env=env,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in ((0,) if expect_ok else (0, 1)):
        raise SystemExit(f"{cmd} failed: {proc.stderr.decode()[-500:]}")
    peak_kb = int(proc.stderr.decode().strip().splitlines()[-1])
    return elapsed, peak_kb / 1024, proc.stdout


def median_time(cmd: list[str], env: dict | None = None) -> float:
    return statistics.median(timed(cmd, env)[0] for _ in range(REPEAT))


def example_folders() -> list[str]:
    base = Path(importlib.util.find_spec("airflow").submodule_search_locations[0])
    return [str(base / "example_dags"), str(base / "providers" / "standard" / "example_dags")]


def airflow_env() -> dict:
    """The environment of every cold child: an isolated, empty AIRFLOW_HOME."""
    return dict(
        os.environ,
        AIRFLOW_HOME=tempfile.mkdtemp(prefix="bench-airflow-"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
    )


def dagbag_seconds(folders: list[str], env: dict) -> float:
    """The anchor: Airflow's DagBag loading the same folders in a cold process (median)."""
    code = (
        "import sys\nfrom airflow.dag_processing.dagbag import DagBag\n"
        "n = sum(len(DagBag(dag_folder=f).dags) for f in sys.argv[1:])\nprint(n)"
    )
    return median_time([PY, "-c", code, *folders], env)


def generated_dag(n: int) -> str:
    lines = [
        "from airflow.sdk import DAG, TaskGroup",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "with DAG('generated', schedule=None):",
        "    t0 = EmptyOperator(task_id='start')",
    ]
    # One statement per task and one per dependency; a task group every 50 tasks.
    for i in range(1, n):
        if i % 50 == 1:
            lines.append(f"    grp = TaskGroup('stage_{i // 50}')")
        lines.append(
            f"    t{i} = BashOperator(task_id='step_{i}', bash_command='echo {i}', task_group=grp)"
        )
        lines.append(f"    [t{i - 2}, t{i - 1}] >> t{i}" if i % 3 == 0 else f"    t{i - 1} >> t{i}")
    return "\n".join(lines) + "\n"


def main() -> None:
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median of {REPEAT} cold runs where timed\n"
    )

    env = airflow_env()
    folders = example_folders()
    t_bridge = median_time([*BRIDGE, "graph", "--format", "json", *folders], env)
    t_dagbag = dagbag_seconds(folders, env)
    print("1. example folders (69 files, 113 DAGs), cold process each")
    print(f"   bridge graph --format json  {t_bridge:6.2f} s")
    print(f"   DagBag (anchor)             {t_dagbag:6.2f} s")
    print(f"   ratio bridge/DagBag         {t_bridge / t_dagbag:6.2f}   (target <= 0.5)\n")

    print("2. generated single-file DAGs")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gen-"))
    rows = []
    for n in (100, 1_000, 10_000):
        path = tmp / f"gen_{n}.py"
        path.write_text(generated_dag(n))
        runs = [
            timed([*BRIDGE, "graph", "--format", "json", str(path)], expect_ok=True)
            for _ in range(REPEAT)
        ]
        found = len(json.loads(runs[0][2])["files"][0]["dags"][0]["tasks"])
        if found != n:  # a benchmark of a parse that went wrong would measure nothing
            raise SystemExit(f"expected {n} tasks in {path.name}, the parser found {found}")
        secs = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        rows.append((n, secs, peak))
        print(
            f"   {n:>6} tasks  {secs:6.2f} s  peak {peak:6.0f} MB  ({secs / n * 1e3:.3f} ms/task)"
        )
    # Linear growth shows in the marginal cost per task beyond the smallest file (start-up removed).
    n0, s0, m0 = rows[0]
    for n, secs, peak in rows[1:]:
        print(
            f"   marginal over {n0} tasks at {n:>6}: {(secs - s0) / (n - n0) * 1e3:.3f} ms/task, "
            f"{(peak - m0) / (n - n0) * 1e3:.1f} KB/task"
        )
    print("   target: 10,000 tasks < 5 s and < 500 MB\n")
    shutil.rmtree(tmp, ignore_errors=True)

    t_help = min(timed([*BRIDGE, "--help"])[0] for _ in range(5))
    entry = str(Path(PY).parent / "bridge")  # the venv's console script, not /usr/sbin/bridge
    t_entry = min(timed([entry, "--help"])[0] for _ in range(5)) if entry else float("nan")
    print("3. cold start")
    print(f"   python -m bridge.cli --help  {t_help:5.2f} s")
    print(f"   bridge --help (console script) {t_entry:5.2f} s   (target < 0.15 s)")
    shutil.rmtree(env["AIRFLOW_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
