"""Nightly house-price model retraining, in the Airflow 1.x / early 2.x style.

The ML story: the original version of the house-price job, written years ago and never
modernised. Every night it

1. extracts ``data/housing.csv`` and pushes basic statistics to XCom,
2. builds features (price per square foot, age buckets) into a JSON file,
3. fits a one-variable least-squares line (price ~ sqft) by hand,
4. scores it and decides whether to promote it,
5. archives the artefacts with a Bash task and finishes on a dummy "end" task.

It deliberately uses the old idioms - ``from airflow import DAG``, the ``*_operator`` modules,
``DummyOperator``, ``days_ago``, ``schedule_interval``, ``provide_context=True``, ``dag=dag`` on
every task, ``set_upstream``/``set_downstream`` - so it does NOT import under Airflow 3.
It is the input for the bridge's legacy-DAG handling, not something to run.
"""

import csv
import json
import math
import os
from datetime import timedelta
from pathlib import Path

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import PythonOperator
from airflow.utils.dates import days_ago

DATA_DIR = Path(__file__).parent / "data"
OUTPUT_DIR = (
    Path(os.environ.get("BRIDGE_DATA_DIR", "/tmp/bridge-sample-output")) / "legacy_airflow1_style"
)

default_args = {
    "owner": "data-science",
    "depends_on_past": False,
    "email": ["ds-alerts@example.com"],
    "email_on_failure": True,
    "email_on_retry": False,
    "retries": 1,
    "retry_delay": timedelta(minutes=10),
}

dag = DAG(
    dag_id="legacy_airflow1_style",
    description="Nightly retrain of the house-price model (legacy style)",
    default_args=default_args,
    schedule_interval="@daily",
    start_date=days_ago(1),
    catchup=False,
    tags=["ml", "sample", "legacy"],
)


def extract_data(**context):
    with open(DATA_DIR / "housing.csv") as f:
        rows = list(csv.DictReader(f))
    prices = [float(r["price_k"]) for r in rows]
    context["ti"].xcom_push(key="row_count", value=len(rows))
    context["ti"].xcom_push(key="mean_price", value=round(sum(prices) / len(prices), 4))
    return len(rows)


def build_features(**context):
    with open(DATA_DIR / "housing.csv") as f:
        rows = list(csv.DictReader(f))
    features = []
    for r in rows:
        sqft, price = float(r["sqft"]), float(r["price_k"])
        age = int(r["age_years"])
        features.append(
            {
                "house_id": r["house_id"],
                "sqft": sqft,
                "price_k": price,
                "price_per_sqft": round(price * 1000 / sqft, 4),
                "age_bucket": "new" if age < 10 else ("mid" if age < 40 else "old"),
            }
        )
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / "features.json"
    path.write_text(json.dumps(features))
    n = context["ti"].xcom_pull(task_ids="extract_data", key="row_count")
    assert n == len(features), "row count changed between tasks"
    return "features.json"


def train_model(**context):
    features = json.loads((OUTPUT_DIR / "features.json").read_text())
    xs = [f["sqft"] for f in features]
    ys = [f["price_k"] for f in features]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    intercept = my - slope * mx
    model = {"slope": round(slope, 6), "intercept": round(intercept, 6)}
    (OUTPUT_DIR / "model.json").write_text(json.dumps(model))
    return model


def evaluate_model(**context):
    model = context["ti"].xcom_pull(task_ids="train_model")
    features = json.loads((OUTPUT_DIR / "features.json").read_text())
    errors = [model["intercept"] + model["slope"] * f["sqft"] - f["price_k"] for f in features]
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    promote = rmse < float(context["params"].get("max_rmse", 40.0))
    return {"rmse": round(rmse, 4), "promote": promote}


start = DummyOperator(task_id="start", dag=dag)

extract = PythonOperator(
    task_id="extract_data",
    python_callable=extract_data,
    provide_context=True,
    dag=dag,
)

features = PythonOperator(
    task_id="build_features",
    python_callable=build_features,
    provide_context=True,
    dag=dag,
)

train = PythonOperator(
    task_id="train_model",
    python_callable=train_model,
    provide_context=True,
    dag=dag,
)

evaluate = PythonOperator(
    task_id="evaluate_model",
    python_callable=evaluate_model,
    provide_context=True,
    params={"max_rmse": 40.0},
    dag=dag,
)

archive = BashOperator(
    task_id="archive_artifacts",
    bash_command=(
        'OUT="${BRIDGE_DATA_DIR:-/tmp/bridge-sample-output}/legacy_airflow1_style" && '
        'mkdir -p "$OUT/archive/{{ ds_nodash }}" && '
        'cp "$OUT"/*.json "$OUT/archive/{{ ds_nodash }}/" && '
        "echo archived model for {{ ds }}"
    ),
    dag=dag,
)

end = DummyOperator(task_id="end", dag=dag)

extract.set_upstream(start)
extract.set_downstream(features)
features >> train >> evaluate
archive.set_upstream(evaluate)
archive >> end
