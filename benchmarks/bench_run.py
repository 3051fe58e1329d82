"""Benchmark `bridge run` (issue 4). Not a timed test: prints figures.

For each runnable sample DAG, measured in one run:
1. wall time of `bridge run` (a cold CLI process: interpreter, imports, every step) against
   Airflow's own `dag.test()` of the original (the DagRun from start to end, in the one Airflow
   process that runs all samples; that process's start-up and first-task cost, ~6 s, is shown
   apart). Target: bridge run <= 0.2 of dag.test().
2. the runner's overhead per step: the step's recorded duration minus the time of its own command
   run alone with the same arguments and folder. Target: under 100 ms.

Run: `make bench` (or `uv run python benchmarks/bench_run.py`).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.compare.airflow_run import AirflowRunRequest, run_dags  # noqa: E402
from bridge.run.record import RunRecord  # noqa: E402

SAMPLES = ["ml_taskflow_pipeline", "ml_classic_operators", "dynamic_feature_pipeline"]
DATA = ROOT / "sample_dags" / "data"


def bridge_run(folder: Path, data_dir: Path) -> tuple[float, RunRecord]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "run", str(folder), "--input-dir", str(DATA)]
        + ["--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bridge run {folder.name} failed: {done.stderr[-500:]}")
    return seconds, RunRecord.from_dict(json.loads(done.stdout))


def step_overheads(record: RunRecord) -> list[float]:
    """Recorded step time minus its command alone (re-run from the log's `$ ...` line)."""
    overheads = []
    run_folder = Path(record.folder)
    for step in record.steps.values():
        if step.status != "Succeeded" or step.kind != "Processing" or not step.log:
            continue
        log = (run_folder / step.log).read_text().splitlines()
        command = shlex.split(log[0].removeprefix("$ "))
        ml_root = run_folder / "steps" / step.name / "ml"
        env = {**os.environ, "BRIDGE_ML_ROOT": str(ml_root), "BRIDGE_SKIP_REQUIREMENTS": "1"}
        env["BRIDGE_DATA_DIR"] = record.data_dir
        script = next(Path(a) for a in command if a.endswith(".py"))
        started = time.perf_counter()
        subprocess.run(command, cwd=script.parent, env=env, capture_output=True, check=True)
        alone = time.perf_counter() - started
        overheads.append(step.duration - alone)
    return overheads


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-run-"))
    requests = []
    for dag_id in SAMPLES:
        shutil.copytree(ROOT / "tests" / "golden" / dag_id, tmp / dag_id)
        requests.append(
            AirflowRunRequest(
                dag_file=ROOT / "sample_dags" / f"{dag_id}.py",
                dag_id=dag_id,
                run_folder=tmp / "airflow" / dag_id,
                data_dir=tmp / "airflow-data",
                input_dir=DATA,
            )
        )
    started = time.perf_counter()
    airflow_runs = run_dags(requests, airflow_home=tmp / "airflow-home")
    airflow_process = time.perf_counter() - started
    print("1. wall time per sample: bridge run (cold CLI) vs Airflow dag.test() (DagRun)")
    print(f"   {'DAG':28} {'tasks':>5} {'dag.test':>9} {'bridge run':>11} {'ratio':>6}")
    ratios, overheads = [], []
    for dag_id, airflow in zip(SAMPLES, airflow_runs, strict=True):
        if airflow.status != "Succeeded" or airflow.duration is None:
            raise SystemExit(f"Airflow run of {dag_id} failed: {airflow.message}")
        seconds, record = bridge_run(tmp / dag_id, tmp / "pipeline-data")
        ratios.append(seconds / airflow.duration)
        overheads += step_overheads(record)
        print(
            f"   {dag_id:28} {len(airflow.steps):>5} {airflow.duration:8.2f}s {seconds:10.2f}s "
            f"{seconds / airflow.duration:6.2f}"
        )
    dag_runs = sum(r.duration for r in airflow_runs)
    print(
        f"   Airflow process for all {len(SAMPLES)} DAGs: {airflow_process:.1f} s "
        f"({airflow_process - dag_runs:.1f} s of it outside the DagRuns)"
    )
    print(
        f"   ratio: median {statistics.median(ratios):.2f}, max {max(ratios):.2f}  (target <= 0.2)\n"
    )
    print(f"2. runner overhead per step, {len(overheads)} Processing steps")
    print(
        f"   median {statistics.median(overheads) * 1e3:.0f} ms, "
        f"max {max(overheads) * 1e3:.0f} ms  (target < 100 ms)"
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
