"""House-price regression, written with the TaskFlow API.

The ML story: a small real-estate team predicts sale prices (in thousands) from a handful of
numeric attributes. Each run

1. loads ``data/housing.csv`` (50 houses, shipped next to this file),
2. engineers features (size in thousands of square feet, rooms, age, log-distance) and makes a
   deterministic train/test split (every fifth house is held out),
3. fits an ordinary-least-squares linear regression by solving the normal equations by hand
   (standard library only),
4. evaluates it on the held-out houses and returns the metrics through XCom,
5. branches on ``rmse < params.rmse_threshold``: the model is either registered in a local JSON
   "model registry" or an alert is written instead,
6. joins both paths in ``report`` (``none_failed_min_one_success``).

Every value is derived from the CSV and the params only (no randomness, no wall clock), so the
XCom values of a run can be compared with a translated pipeline. Files are written to a folder
on the worker, ``$BRIDGE_DATA_DIR/ml_taskflow_pipeline/`` (``/tmp/bridge-sample-output`` when
the variable is unset).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pendulum
from airflow.sdk import Param, dag, task

DAG_ID = "ml_taskflow_pipeline"
DATA_DIR = Path(__file__).parent / "data"
DATASET = "housing.csv"
TARGET = "price_k"
FEATURES = ["size_ksqft", "bedrooms", "bathrooms", "age_years", "log_distance_km"]
TEST_EVERY = 5  # every fifth row is held out for evaluation
MODEL_NAME = "housing-price-ols"


# The worker folder the tasks write to: $BRIDGE_DATA_DIR (bridge compare gives each Airflow run
# its own), else a folder under /tmp.
OUTPUT_DIR = Path(os.environ.get("BRIDGE_DATA_DIR", "/tmp/bridge-sample-output")) / DAG_ID


def solve_linear_system(a: list[list[float]], b: list[float]) -> list[float]:
    """Gauss-Jordan elimination with partial pivoting (A is square and small)."""
    n = len(a)
    m = [list(row) + [rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            raise ValueError("singular system: features are linearly dependent")
        m[col], m[pivot] = m[pivot], m[col]
        p = m[col][col]
        m[col] = [v / p for v in m[col]]
        for r in range(n):
            if r != col and m[r][col] != 0.0:
                f = m[r][col]
                m[r] = [vr - f * vc for vr, vc in zip(m[r], m[col], strict=True)]
    return [m[i][n] for i in range(n)]


def predict(model: dict, row: dict) -> float:
    return model["intercept"] + sum(model["coefficients"][f] * row[f] for f in model["features"])


@dag(
    dag_id=DAG_ID,
    description="Load housing data, fit an OLS price model, gate registration on RMSE.",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["ml", "sample", "taskflow", "regression"],
    params={
        "rmse_threshold": Param(
            25.0,
            type="number",
            minimum=0,
            description="Register the model only if test RMSE is below this (price in $k).",
        ),
        "model_name": Param(
            MODEL_NAME, type="string", description="Name used in the local model registry."
        ),
    },
    default_args={"owner": "ml-platform", "retries": 0},
)
def ml_taskflow_pipeline():
    @task
    def load_data() -> list[dict]:
        """Read the CSV into a list of rows with numeric values."""
        with open(DATA_DIR / DATASET, newline="") as f:
            rows = list(csv.DictReader(f))
        return [{k: (v if k == "house_id" else float(v)) for k, v in row.items()} for row in rows]

    @task
    def engineer_features(rows: list[dict]) -> dict:
        """Derive model features and split deterministically into train and test."""
        train, test = [], []
        for i, row in enumerate(rows):
            example = {
                "house_id": row["house_id"],
                "size_ksqft": row["sqft"] / 1000.0,
                "bedrooms": row["bedrooms"],
                "bathrooms": row["bathrooms"],
                "age_years": row["age_years"],
                "log_distance_km": round(math.log1p(row["distance_km"]), 6),
                TARGET: row[TARGET],
            }
            (test if i % TEST_EVERY == TEST_EVERY - 1 else train).append(example)
        return {"features": FEATURES, "target": TARGET, "train": train, "test": test}

    @task
    def train_model(dataset: dict, params: dict | None = None) -> dict:
        """Ordinary least squares via the normal equations (X'X) w = X'y."""
        features, target = dataset["features"], dataset["target"]
        xs = [[1.0] + [row[f] for f in features] for row in dataset["train"]]
        ys = [row[target] for row in dataset["train"]]
        k = len(features) + 1
        xtx = [[sum(x[i] * x[j] for x in xs) for j in range(k)] for i in range(k)]
        xty = [sum(x[i] * y for x, y in zip(xs, ys, strict=True)) for i in range(k)]
        w = solve_linear_system(xtx, xty)
        model = {
            "name": (params or {}).get("model_name", MODEL_NAME),
            "algorithm": "ordinary_least_squares",
            "features": features,
            "target": target,
            "intercept": round(w[0], 6),
            "coefficients": {f: round(c, 6) for f, c in zip(features, w[1:], strict=True)},
            "n_train": len(xs),
        }
        out = OUTPUT_DIR
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.json").write_text(json.dumps(model, indent=2, sort_keys=True))
        return model

    @task
    def evaluate_model(model: dict, dataset: dict) -> dict:
        """Score the held-out rows; the metric dict travels on through XCom."""
        target = dataset["target"]
        ys = [row[target] for row in dataset["test"]]
        preds = [predict(model, row) for row in dataset["test"]]
        errors = [p - y for p, y in zip(preds, ys, strict=True)]
        n = len(errors)
        mean_y = sum(ys) / n
        ss_res = sum(e * e for e in errors)
        ss_tot = sum((y - mean_y) ** 2 for y in ys)
        return {
            "rmse": round(math.sqrt(ss_res / n), 4),
            "mae": round(sum(abs(e) for e in errors) / n, 4),
            "r2": round(1.0 - ss_res / ss_tot, 4),
            "n_test": n,
        }

    @task.branch
    def check_quality(metrics: dict, params: dict | None = None) -> str:
        threshold = float((params or {}).get("rmse_threshold", 25.0))
        return "register_model" if metrics["rmse"] < threshold else "notify_failure"

    @task
    def register_model(model: dict, metrics: dict, params: dict | None = None) -> dict:
        """Write the model card into a file-based registry and return its entry."""
        out = OUTPUT_DIR
        out.mkdir(parents=True, exist_ok=True)
        entry = {
            "model_name": model["name"],
            "version": 1,
            "stage": "Staging",
            "metrics": metrics,
            "artifact": f"registry/{model['name']}/v1.json",
        }
        path = out / entry["artifact"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"model": model, **entry}, indent=2, sort_keys=True))
        return entry

    @task
    def notify_failure(metrics: dict, params: dict | None = None) -> dict:
        """Record why the model was rejected (stands in for a Slack/e-mail alert)."""
        threshold = float((params or {}).get("rmse_threshold", 25.0))
        alert = {
            "status": "rejected",
            "reason": f"rmse {metrics['rmse']} >= threshold {threshold}",
            "metrics": metrics,
        }
        out = OUTPUT_DIR
        out.mkdir(parents=True, exist_ok=True)
        (out / "alert.json").write_text(json.dumps(alert, indent=2, sort_keys=True))
        return alert

    @task(trigger_rule="none_failed_min_one_success")
    def report(
        registration: dict | None, alert: dict | None, metrics: dict, params: dict | None = None
    ) -> dict:
        """Join both branches; whichever was skipped arrives as None."""
        summary = {
            "status": "registered" if registration else "rejected",
            "model_version": registration["version"] if registration else None,
            "rmse": metrics["rmse"],
            "r2": metrics["r2"],
            "alert": alert["reason"] if alert else None,
        }
        out = OUTPUT_DIR
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
        return summary

    rows = load_data()
    dataset = engineer_features(rows)
    model = train_model(dataset)
    metrics = evaluate_model(model, dataset)
    decision = check_quality(metrics)
    registered = register_model(model, metrics)
    alerted = notify_failure(metrics)
    decision >> [registered, alerted]
    report(registered, alerted, metrics)


ml_taskflow_pipeline()
