"""Lines of emitted pipeline.py per task: each sample DAG, a DAG that builds 200 tasks in one
loop, and the generated 1,000-task benchmark DAG (bench_translate.py), against issue 16's
targets (<= 120 + 15 x tasks; 300 lines for the loop DAG; 1,000 for the generated one).

pipeline.py is what a team reads and keeps; pipeline_support.py next to it is the same file in
every output folder (its lines are printed once, apart)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_translate import generated_dag  # noqa: E402

SHARDS = [f"shard-{i:03d}" for i in range(200)]


def loop_dag() -> str:
    """200 PythonOperators built in one `for` statement over a literal list."""
    return (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "from airflow.providers.standard.operators.python import PythonOperator\n\n"
        f"SHARDS = {SHARDS!r}\n\n\n"
        "def process(shard):\n    return {'shard': shard, 'rows': len(shard)}\n\n\n"
        "with DAG('loop_200', schedule=None):\n"
        "    start = EmptyOperator(task_id='start')\n"
        "    for shard in SHARDS:\n"
        "        start >> PythonOperator(\n"
        "            task_id=f'process_{shard}', python_callable=process,\n"
        "            op_kwargs={'shard': shard},\n"
        "        )\n"
    )


def translate(path: Path, out: Path) -> tuple[int, int]:
    """(tasks, pipeline.py lines) of the one DAG in `path`."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "translate",
            str(path),
            "-o",
            str(out),
            "--no-validate",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    (folder,) = [p for p in out.iterdir() if (p / "pipeline.py").is_file()]
    tasks = json.loads((folder / "manifest.json").read_text())["summary"]["tasks"]
    return tasks, len((folder / "pipeline.py").read_text().splitlines())


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-code-"))
    (tmp / "loop_200.py").write_text(loop_dag())
    (tmp / "generated_1000.py").write_text(generated_dag(1_000))
    cases = [(p.stem, p, None) for p in sorted((ROOT / "sample_dags").glob("*.py"))]
    cases += [("loop_200 (one for loop)", tmp / "loop_200.py", 300)]
    cases += [("generated 1,000 tasks", tmp / "generated_1000.py", 1_000)]
    print("pipeline.py lines per task (target: <= 120 + 15 x tasks; fixed targets where named)")
    for i, (label, path, fixed) in enumerate(cases):
        tasks, lines = translate(path, tmp / f"out_{i}")
        target = fixed or 120 + 15 * tasks
        verdict = "ok" if lines <= target else "OVER"
        print(
            f"   {label:32} {tasks:>5} tasks {lines:>6} lines  {lines / tasks:6.1f} per task"
            f"  target {target:>5}  {verdict}"
        )
    support = ROOT / "bridge" / "emit" / "templates" / "pipeline_support.py"
    lines = len(support.read_text().splitlines())
    print(f"   pipeline_support.py (the same in every folder): {lines} lines")


if __name__ == "__main__":
    main()
