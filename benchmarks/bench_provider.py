"""Benchmark the provider (issue 5) against the Amazon provider's SageMakerStartPipelineOperator.
Not a timed test: prints figures.

A 50-task DAG is translated and served by `bridge serve` (steps really run, one after another).
Three driver DAGs run it through Airflow's dag.test(), all on the same endpoint, with the same
1 s poll interval:
  ours-sync       MigratedPipelineOperator, waiting in the worker
  ours-deferred   MigratedPipelineOperator(deferrable=True), waiting in the trigger
  amazon-sync     SageMakerStartPipelineOperator(wait_for_completion=True, verbose=True)
(The Amazon operator's deferrable mode needs aiobotocore, which is not installed here.)

Measured per run:
  - API calls per execution and per poll (the endpoint counts every call: /_bridge/calls);
  - worker time held: the task's time outside the trigger (deferred) or all of it (sync);
  - report delay: from a step's status change (the endpoint's EndTime) to the first log line
    that shows it. Ours logs each step by its task id; Amazon's logs counts of the first page
    of steps, so a step counts as reported when the Succeeded count first covers it.

Run: `uv run python benchmarks/bench_provider.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from bridge.compare.airflow_run import AirflowRunRequest, run_dags  # noqa: E402
from bridge.serve.server import serve  # noqa: E402

STEPS = 50
POLL = 1
PIPELINE = "bench-fifty"

SOURCE = '''
"""50 small tasks in a chain of fans: the benchmark's pipeline."""
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def work(n):
    return {{"n": n}}


with DAG("bench_fifty", schedule=None) as dag:
    tasks = [
        PythonOperator(task_id=f"t{{i:02d}}", python_callable=work, op_args=[i])
        for i in range({steps})
    ]
    for i in range(1, {steps}):
        tasks[(i - 1) // 2] >> tasks[i]
'''

DRIVER = """
import json
import os
import urllib.request

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerStartPipelineOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from airflow_plugins.operators import MigratedPipelineOperator

ENDPOINT = {endpoint!r}
AUTH = {{"Authorization": "Bearer " + os.environ["AWS_ACCESS_KEY_ID"]}}  # bridge serve's token


def reset_calls():
    request = urllib.request.Request(ENDPOINT + "/_bridge/calls", method="DELETE", headers=AUTH)
    urllib.request.urlopen(request)


def read_calls():
    request = urllib.request.Request(ENDPOINT + "/_bridge/calls", headers=AUTH)
    return json.loads(urllib.request.urlopen(request).read())


with DAG({dag_id!r}, schedule=None) as dag:
    reset = PythonOperator(task_id="reset_calls", python_callable=reset_calls)
    run = {operator}
    calls = PythonOperator(task_id="read_calls", python_callable=read_calls)
    reset >> run >> calls
"""

OPERATORS = {
    "ours_sync": "MigratedPipelineOperator(task_id='run', pipeline_name={p!r}, manifest={m!r}, "
    "poll_interval={poll}, max_poll_interval={poll})",
    "ours_deferred": "MigratedPipelineOperator(task_id='run', pipeline_name={p!r}, "
    "manifest={m!r}, poll_interval={poll}, max_poll_interval={poll}, deferrable=True)",
    "amazon_sync": "SageMakerStartPipelineOperator(task_id='run', pipeline_name={p!r}, "
    "wait_for_completion=True, check_interval={poll}, verbose=True)",
}

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+)Z (.*)$")


def stamped_lines(log: str) -> list[tuple[float, str]]:
    lines = []
    for line in log.splitlines():
        match = STAMP.match(line)
        if match:
            moment = datetime.fromisoformat(match[1] + "+00:00").timestamp()
            lines.append((moment, match[2]))
    return lines


def our_reports(lines: list[tuple[float, str]]) -> dict[str, float]:
    seen = {}
    for moment, text in lines:
        match = re.search(r"task (\S+)(?: \(step \S+\))?: \S+ -> Succeeded", text)
        if match and match[1] not in seen:
            seen[match[1]] = moment
    return seen


def amazon_reports(lines: list[tuple[float, str]], ends: dict[str, float]) -> dict[str, float]:
    """Amazon logs `state of the pipeline steps: Counter({'Succeeded': k, ...})`: the k steps
    that ended first count as reported at that line."""
    order = sorted(ends, key=ends.get)
    seen: dict[str, float] = {}
    for moment, text in lines:
        match = re.search(r"state of the pipeline steps: Counter\((.*)\)", text)
        if not match:
            continue
        succeeded = json.loads(match[1].replace("'", '"')).get("Succeeded", 0)
        for name in order[:succeeded]:
            seen.setdefault(name, moment)
    return seen


def worker_time(lines: list[tuple[float, str]]) -> tuple[float, float]:
    """(time the task held a worker, whole task time) from its log."""
    start, end = lines[0][0], lines[-1][0]
    deferred = [m for m, t in lines if "running trigger in line" in t]
    resumed = [m for m, t in lines if "Trigger completed" in t]
    held = end - start
    if deferred and resumed:
        held -= resumed[0] - deferred[0]
    return held, end - start


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-provider-"))  # BENCH_KEEP=1 keeps it
    try:
        source = root / "bench_fifty.py"
        source.write_text(SOURCE.format(steps=STEPS))
        subprocess.run(
            [sys.executable, "-m", "bridge.cli", "translate", str(source), "-o", str(root / "out")],
            check=True,
            capture_output=True,
        )
        manifest = root / "out" / "bench_fifty" / "manifest.json"
        pipeline = json.loads(manifest.read_text())["pipeline"]["name"]
        server = serve(out_dirs=[root / "out"], state=root / "state", port=0)
        sagemaker = boto3.client(
            "sagemaker",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id=server.token,
            aws_secret_access_key="x",
        )
        requests = []
        for name, operator in OPERATORS.items():
            path = root / "dags" / f"bench_{name}.py"
            path.parent.mkdir(exist_ok=True)
            text = DRIVER.format(
                endpoint=server.url,
                dag_id=f"bench_{name}",
                operator=operator.format(p=pipeline, m=str(manifest), poll=POLL),
            )
            path.write_text(textwrap.dedent(text))
            requests.append(AirflowRunRequest(path, f"bench_{name}", root / "runs" / name))

        os.environ.update(
            AIRFLOW_CONN_AWS_DEFAULT=json.dumps(
                {"conn_type": "aws", "extra": {"endpoint_url": server.url}}
            ),
            AWS_ACCESS_KEY_ID=server.token,  # bridge serve's token is the access key id
            AWS_SECRET_ACCESS_KEY="x",
            AWS_DEFAULT_REGION="us-east-1",
        )
        records = run_dags(requests, timeout=900)
        executions = sagemaker.list_pipeline_executions(PipelineName=pipeline, MaxResults=100)[
            "PipelineExecutionSummaries"
        ]
        print(f"{STEPS}-step pipeline on bridge serve, poll interval {POLL} s\n")
        header = (
            f"{'operator':<15} {'calls/exec':>10} {'polls':>6} {'calls/poll':>10} "
            f"{'held s':>7} {'task s':>7} {'steps seen':>10} {'delay med':>9} {'delay max':>9}"
        )
        print(header)
        figures = {}
        for (name, _), record in zip(OPERATORS.items(), records, strict=True):
            if record.status != "Succeeded":
                print(f"{name:<15} failed: {record.message}")
                continue
            calls = record.steps["read_calls"].outputs["return_value"]
            arn = record.steps["run"].outputs.get("return_value")
            steps = sagemaker.list_pipeline_execution_steps(
                PipelineExecutionArn=arn, MaxResults=100
            )["PipelineExecutionSteps"]
            ends = {s["StepName"]: s["EndTime"].timestamp() for s in steps}
            lines = stamped_lines((Path(record.folder) / record.steps["run"].log).read_text())
            reports = (
                amazon_reports(lines, ends) if name.startswith("amazon") else our_reports(lines)
            )
            delays = [reports[s] - ends[s] for s in ends if s in reports]
            sagemaker_calls = {k: v for k, v in calls.items() if not k.startswith("s3:")}
            polls = calls.get("DescribePipelineExecution", 0)
            total = sum(sagemaker_calls.values())
            poll_calls = polls + calls.get("ListPipelineExecutionSteps", 0)
            held, whole = worker_time(lines)
            figures[name] = {
                "calls": total,
                "held": held,
                "delay": statistics.median(delays) if delays else float("nan"),
                "seen": len(reports),
            }
            print(
                f"{name:<15} {total:>10} {polls:>6} {poll_calls / max(polls, 1):>10.2f} "
                f"{held:>7.2f} {whole:>7.2f} {len(reports):>7}/{STEPS} "
                f"{figures[name]['delay']:>9.2f} {max(delays, default=float('nan')):>9.2f}"
            )
            print(f"{'':<15} calls: {json.dumps(calls, sort_keys=True)}")
        if "amazon_sync" in figures:
            amazon = figures["amazon_sync"]
            for name in ("ours_sync", "ours_deferred"):
                if name in figures:
                    ours = figures[name]
                    print(
                        f"\n{name} / amazon_sync: worker time held "
                        f"{ours['held'] / amazon['held']:.2f}, report delay (median) "
                        f"{ours['delay'] / amazon['delay']:.2f}, steps reported "
                        f"{ours['seen']}/{amazon['seen']}"
                    )
        print(f"\nexecutions on the endpoint: {len(executions)}")
        server.shutdown()
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
