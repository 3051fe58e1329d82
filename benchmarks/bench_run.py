"""Benchmark `bridge run` (issue 4). Not a timed test: prints figures.

For each runnable sample DAG, translated afresh, measured in one run:
1. wall time of `bridge run` as users run it (a cold CLI process: interpreter, imports, every
   step, each script job in its bubblewrap sandbox) against Airflow's own `dag.test()` of the
   original (the DagRun from start to end, in the one Airflow process that runs all samples;
   that process's start-up and first-task cost, ~6 s, is shown apart). Target: bridge run <= 0.2
   of dag.test().
2. the runner's overhead per step, from a `--no-isolation` run: the step's recorded duration
   minus the time of its own command run alone with the same arguments and folder. Target: under
   100 ms.
3. what the sandbox costs a step: its duration isolated minus unsandboxed (bwrap's start, the
   view's mounts, the audit hook).

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
DATA = ROOT / "sample_dags" / "data"  # the Airflow runs' input folder; the pipelines carry theirs


def translate(out: Path) -> None:
    files = [str(ROOT / "sample_dags" / f"{dag_id}.py") for dag_id in SAMPLES]
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", *files, "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bridge translate failed: {done.stdout[-500:]}{done.stderr[-500:]}")


def bridge_run(folder: Path, *, isolation: bool) -> tuple[float, RunRecord]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "run", str(folder), "--json"]
        + ([] if isolation else ["--no-isolation"]),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bridge run {folder.name} failed: {done.stderr[-500:]}")
    return seconds, RunRecord.from_dict(json.loads(done.stdout))


def step_overheads(record: RunRecord) -> list[float]:
    """Recorded step time minus its command alone (re-run from the log's `$ ...` line): for an
    unsandboxed run, whose command is the step's own, not bwrap's."""
    overheads = []
    run_folder = Path(record.folder)
    for step in record.steps.values():
        if step.status != "Succeeded" or step.kind != "Processing" or not step.log:
            continue
        log = (run_folder / step.log).read_text().splitlines()
        command = shlex.split(log[0].removeprefix("$ "))
        ml_root = run_folder / "steps" / step.name / "ml"
        env = {**os.environ, "BRIDGE_ML_ROOT": str(ml_root), "BRIDGE_SKIP_REQUIREMENTS": "1"}
        script = next(Path(a) for a in command if a.endswith(".py"))
        started = time.perf_counter()
        subprocess.run(command, cwd=script.parent, env=env, capture_output=True, check=True)
        alone = time.perf_counter() - started
        overheads.append(step.duration - alone)
    return overheads


def sandbox_costs(isolated: RunRecord, unsandboxed: RunRecord) -> list[float]:
    """Per script step that ran (not a cache hit) and succeeded in both runs: its duration
    isolated minus unsandboxed."""

    def ran(step) -> bool:
        return step.status == "Succeeded" and not step.cached

    return [
        step.duration - unsandboxed.steps[name].duration
        for name, step in isolated.steps.items()
        if step.kind in ("Processing", "Training")
        and ran(step)
        and name in unsandboxed.steps
        and ran(unsandboxed.steps[name])
    ]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-run-"))
    translate(tmp)
    requests = []
    for dag_id in SAMPLES:
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
    ratios, overheads, costs, isolated_runs = [], [], [], []
    for dag_id, airflow in zip(SAMPLES, airflow_runs, strict=True):
        if airflow.status != "Succeeded" or airflow.duration is None:
            raise SystemExit(f"Airflow run of {dag_id} failed: {airflow.message}")
        seconds, record = bridge_run(tmp / dag_id, isolation=True)
        isolated_runs.append(record.isolated)
        _, unsandboxed = bridge_run(tmp / dag_id, isolation=False)
        ratios.append(seconds / airflow.duration)
        overheads += step_overheads(unsandboxed)
        costs += sandbox_costs(record, unsandboxed)
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
    if not all(isolated_runs):
        print("   (bubblewrap cannot run here: those runs were not isolated)")
    print(f"2. runner overhead per step, {len(overheads)} Processing steps (--no-isolation)")
    print(
        f"   median {statistics.median(overheads) * 1e3:.0f} ms, "
        f"max {max(overheads) * 1e3:.0f} ms  (target < 100 ms)\n"
    )
    print(f"3. the sandbox's cost per step, {len(costs)} script steps (isolated - unsandboxed)")
    print(f"   median {statistics.median(costs) * 1e3:.0f} ms, max {max(costs) * 1e3:.0f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
