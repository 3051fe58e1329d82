"""Benchmark `bridge analyze` and `bridge translate` (issue 3). Not a timed test: prints figures.

1. Cold `bridge analyze` over the installed Airflow example folders vs DagBag loading the same
   folders (anchor: DagBag; target ratio <= 0.5).
2. `bridge translate` (validation included) of generated 1,000- and 10,000-task DAGs: seconds and
   peak memory (target: linear, 10,000 tasks under 10 s and 1 GB).

Run: `make bench` (or `uv run python benchmarks/bench_translate.py`).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_graph import (  # noqa: E402
    BRIDGE,
    airflow_env,
    dagbag_seconds,
    example_folders,
    median_time,
    timed,
)


def generated_dag(n: int) -> str:
    """A wide-and-deep DAG of bash and empty tasks in groups (every 10th task is empty)."""
    lines = [
        "from airflow.sdk import DAG, TaskGroup",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "with DAG('generated', schedule='@daily', params={'n': 1}):",
        "    t0 = EmptyOperator(task_id='start')",
    ]
    for i in range(1, n):
        if i % 50 == 1:
            lines.append(f"    grp = TaskGroup('stage_{i // 50}')")
        op = (
            f"EmptyOperator(task_id='join_{i}', task_group=grp)"
            if i % 10 == 0
            else f"BashOperator(task_id='step_{i}', bash_command='echo {{{{ ds }}}} {i}', task_group=grp)"
        )
        lines.append(f"    t{i} = {op}")
        lines.append(f"    [t{i - 2}, t{i - 1}] >> t{i}" if i % 3 == 0 else f"    t{i - 1} >> t{i}")
    return "\n".join(lines) + "\n"


def main() -> None:
    env = airflow_env()
    folders = example_folders()
    t_analyze = median_time([*BRIDGE, "analyze", "--format", "json", *folders], env)
    t_dagbag = dagbag_seconds(folders, env)
    print("1. example folders, cold process each (median of 3)")
    print(f"   bridge analyze   {t_analyze:6.2f} s")
    print(f"   DagBag (anchor)  {t_dagbag:6.2f} s")
    print(f"   ratio            {t_analyze / t_dagbag:6.2f}   (target <= 0.5)\n")

    print("2. bridge translate of generated DAGs, validation included (one cold run each)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-translate-"))
    rows = []
    for n in (1_000, 10_000):
        path = tmp / f"gen_{n}.py"
        path.write_text(generated_dag(n))
        out = tmp / f"out_{n}"
        secs, peak, stdout = timed([*BRIDGE, "translate", str(path), "-o", str(out)], env)
        manifest = json.loads((out / "generated" / "manifest.json").read_text())
        if manifest["summary"]["tasks"] != n or "valid" not in stdout.decode():
            raise SystemExit(f"translate of {n} tasks did not give a valid pipeline: {stdout!r}")
        steps = manifest["summary"]["steps"]
        rows.append((n, secs, peak))
        print(
            f"   {n:>6} tasks -> {steps:>5} steps  {secs:6.2f} s  peak {peak:6.0f} MB (largest child)"
        )
    (n0, s0, _), (n1, s1, _) = rows
    print(
        f"   marginal {((s1 - s0) / (n1 - n0)) * 1e3:.2f} ms/task; target 10,000 tasks < 10 s, < 1 GB"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(env["AIRFLOW_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
