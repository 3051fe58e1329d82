"""Daily sales roll-up whose tasks hand files to each other through a folder on the worker.

This is how many real DAGs pass data: not through XCom, but through files on the Airflow
worker's disk. Each run

1. ``extract`` reads ``data/sales.csv`` (shipped next to this file) and writes the day's rows
   to ``/tmp/bridge_file_handoff/raw_<ds>.csv`` (a module-constant folder, a templated name),
2. ``stage`` copies that file with a bash ``cp`` to ``staged_<ds>.csv`` and records a marker
   (a redirection) in the same folder,
3. ``summarize`` reads the staged file and writes ``summary_<ds>.json`` next to it
   (``os.path.join`` over the constant), returning the totals through XCom,
4. ``publish`` reads the summary back with ``pathlib`` and returns the line it would post.

On SageMaker each task is its own job in its own container: the folder exists only if the
translation turns it into job outputs and inputs wired from producer to consumer.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

WORK_DIR = "/tmp/bridge_file_handoff"
DATA_DIR = Path(__file__).parent / "data"


@task
def extract(ds: str | None = None) -> dict:
    os.makedirs(WORK_DIR, exist_ok=True)
    with open(DATA_DIR / "sales.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    raw = f"{WORK_DIR}/raw_{ds}.csv"
    with open(raw, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {"rows": len(rows), "file": os.path.basename(raw)}


@task
def summarize(ds: str | None = None) -> dict:
    staged = os.path.join(WORK_DIR, f"staged_{ds}.csv")
    with open(staged, newline="") as f:
        rows = list(csv.DictReader(f))
    by_region: dict[str, float] = {}
    for row in rows:
        revenue = int(row["units"]) * float(row["unit_price"])
        by_region[row["region"]] = round(by_region.get(row["region"], 0.0) + revenue, 2)
    summary = {"day": ds, "orders": len(rows), "revenue_by_region": dict(sorted(by_region.items()))}
    with open(os.path.join(WORK_DIR, f"summary_{ds}.json"), "w") as f:
        json.dump(summary, f, sort_keys=True)
    return summary


@task
def publish(ds: str | None = None) -> str:
    summary = json.loads((Path(WORK_DIR) / f"summary_{ds}.json").read_text())
    best = max(summary["revenue_by_region"], key=summary["revenue_by_region"].get)
    return f"{summary['day']}: {summary['orders']} orders, best region {best}"


with DAG(
    dag_id="file_handoff",
    description="Sales roll-up passing files between tasks through a worker folder.",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["sample", "files"],
) as dag:
    stage = BashOperator(
        task_id="stage",
        bash_command=(
            f"cp {WORK_DIR}/raw_{{{{ ds }}}}.csv {WORK_DIR}/staged_{{{{ ds }}}}.csv && "
            f"echo staged {{{{ ds }}}} > {WORK_DIR}/staged_{{{{ ds }}}}.ok && "
            "echo staged"
        ),
    )
    extract() >> stage >> summarize() >> publish()
