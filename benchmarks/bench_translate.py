"""Benchmark `bridge analyze` and `bridge translate` at scale (issues 3 and 17). Not a timed test:
prints figures and their ratios against Airflow measured in the same run.

1. Cold `bridge analyze` over the installed Airflow example folders ÷ DagBag loading the same
   folders (target <= 0.3).
2. `bridge translate` with validation of generated DAGs of 1,000, 4,000 and 10,000 tasks ÷ DagBag
   loading the same file (target <= 1.0), peak memory (target < 1 GB at 10,000), the cost per
   task and its growth (target: per task at 10,000 within 1.3x of 1,000). Two kinds of DAG:
   - `bash`: bash and empty tasks in task groups (the benchmark DAG of earlier issues);
   - `python`: PythonOperators sharing one callable with a templated `xcom_pull` in
     `op_kwargs`, bash tasks, empty joins and task groups (issue 17's "Python-heavy" DAG).

Run: `make bench` (or `uv run python benchmarks/bench_translate.py [sizes...]`).
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
    PY,
    airflow_env,
    dagbag_seconds,
    example_folders,
    median_time,
    timed,
)

SIZES = (1_000, 4_000, 10_000)


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


def python_heavy_dag(n: int) -> str:
    """PythonOperators sharing one callable (op_kwargs with a templated xcom_pull of the first
    task), bash tasks every 3rd, empty joins every 10th, a task group every 50 tasks."""
    lines = [
        "from airflow.sdk import DAG, TaskGroup",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "from airflow.providers.standard.operators.python import PythonOperator",
        "",
        "",
        "def transform(value, previous=None, **context):",
        "    return {'value': value, 'previous': previous}",
        "",
        "",
        "with DAG('python_heavy', schedule='@daily', params={'scale': 2}):",
        "    t0 = PythonOperator(task_id='seed', python_callable=transform, op_kwargs={'value': 0})",
    ]
    pull = "{{ ti.xcom_pull(task_ids='seed') }}"
    for i in range(1, n):
        if i % 50 == 1:
            lines.append(f"    grp = TaskGroup('stage_{i // 50}')")
        if i % 10 == 0:
            op = f"EmptyOperator(task_id='join_{i}', task_group=grp)"
        elif i % 3 == 0:
            command = f"echo {{{{ ds }}}} {i}"
            op = f"BashOperator(task_id='bash_{i}', bash_command={command!r}, task_group=grp)"
        else:
            op = (
                f"PythonOperator(task_id='py_{i}', python_callable=transform, task_group=grp, "
                f"op_kwargs={{'value': {i}, 'previous': {pull!r}}})"
            )
        lines.append(f"    t{i} = {op}")
        lines.append(f"    [t{i - 2}, t{i - 1}] >> t{i}" if i % 3 == 0 else f"    t{i - 1} >> t{i}")
    return "\n".join(lines) + "\n"


KINDS = {"bash": ("generated", generated_dag), "python": ("python_heavy", python_heavy_dag)}


def translate_row(kind: str, n: int, tmp: Path, env: dict) -> dict:
    dag_id, make = KINDS[kind]
    path = tmp / f"{kind}_{n}.py"
    path.write_text(make(n))
    out = tmp / f"out_{kind}_{n}"
    secs, peak, stdout = timed([*BRIDGE, "translate", str(path), "-o", str(out)], env)
    manifest = json.loads((out / dag_id / "manifest.json").read_text())
    if manifest["summary"]["tasks"] != n or "valid" not in stdout.decode():
        raise SystemExit(f"translate of {n} tasks did not give a valid pipeline: {stdout!r}")
    code = "import sys\nfrom airflow.dag_processing.dagbag import DagBag\nDagBag(sys.argv[1])"
    dagbag = timed([PY, "-c", code, str(path)], env, expect_ok=True)[0]
    shutil.rmtree(out, ignore_errors=True)
    return {
        "n": n,
        "secs": secs,
        "peak": peak,
        "dagbag": dagbag,
        "definition": manifest["definition"],
    }


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    env = airflow_env()
    folders = example_folders()
    t_analyze = median_time([*BRIDGE, "analyze", "--format", "json", *folders], env)
    t_dagbag = dagbag_seconds(folders, env)
    print("1. bridge analyze over Airflow's example folders, cold process each (median of 3)")
    print(f"   bridge analyze   {t_analyze:6.2f} s")
    print(f"   DagBag (anchor)  {t_dagbag:6.2f} s")
    print(f"   ratio            {t_analyze / t_dagbag:6.2f}   (target <= 0.3)\n")

    print("2. bridge translate with validation ÷ DagBag loading the same file (one cold run each)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-translate-"))
    for kind in KINDS:
        rows = [translate_row(kind, n, tmp, env) for n in sizes]
        for r in rows:
            d = r["definition"]
            print(
                f"   {kind:<6} {r['n']:>6} tasks  {r['secs']:7.2f} s  DagBag {r['dagbag']:6.2f} s  "
                f"ratio {r['secs'] / r['dagbag']:5.2f}  peak {r['peak']:5.0f} MB  "
                f"{r['secs'] / r['n'] * 1e3:5.2f} ms/task  definition {d['characters'] / 1e6:.1f} MB "
                f"({d['steps']} steps, {d['upsert']})"
            )
        first, last = rows[0], rows[-1]
        if last["n"] > first["n"]:
            marginal = (last["secs"] - first["secs"]) / (last["n"] - first["n"]) * 1e3
            growth = (last["secs"] / last["n"]) / (first["secs"] / first["n"])
            print(
                f"   {kind:<6} marginal {marginal:.2f} ms/task; per task at {last['n']:,} ÷ at "
                f"{first['n']:,}: {growth:.2f}  (targets: ratio <= 1.0, growth <= 1.3, peak < 1 GB)"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(env["AIRFLOW_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
