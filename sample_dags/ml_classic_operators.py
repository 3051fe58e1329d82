"""Customer-churn classifier, written with classic operators.

The ML story: a subscription business wants to flag customers likely to cancel. Each run

1. short-circuits unless ``data/customers.csv`` has at least ``params.min_rows`` rows
   (``ShortCircuitOperator``),
2. runs a ``preprocess`` TaskGroup: validate the schema, standardise the features and split
   train/test deterministically (every fourth customer is held out), then snapshot the feature
   files with a templated ``BashOperator`` (``{{ ds }}``, ``{{ params.* }}``, XCom pulls),
3. trains a logistic regression by full-batch gradient descent (standard library only;
   ``epochs`` and ``learning_rate`` come from params through templated ``op_kwargs``),
4. evaluates accuracy / precision / recall / F1 / log-loss on the held-out customers,
5. branches (``BranchPythonOperator``) on ``f1 >= params.min_f1``: package the model with a
   ``BashOperator`` or flag it for human review,
6. publishes a run report that joins both branches (``none_failed_min_one_success``).

Tasks exchange small dicts through XCom and larger artefacts as files in a folder on the
worker, ``$BRIDGE_DATA_DIR/ml_classic_operators/`` (``/tmp/bridge-sample-output`` when the
variable is unset). Nothing depends on randomness or the wall clock (the ``{{ ds }}`` partition
only names a folder).
"""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from airflow.sdk import DAG, Param, TaskGroup

DAG_ID = "ml_classic_operators"
DATA_DIR = Path(__file__).parent / "data"
DATASET = "customers.csv"
ID_COLUMN = "customer_id"
TARGET = "churned"
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months"]
HOLDOUT_EVERY = 4

# The worker folder the tasks share: $BRIDGE_DATA_DIR (bridge compare gives each Airflow run its
# own), else a folder under /tmp.
OUTPUT_DIR = Path(os.environ.get("BRIDGE_DATA_DIR", "/tmp/bridge-sample-output")) / DAG_ID
# Shell prologue shared by the Bash tasks: the same folder.
OUT_DIR_SH = 'OUT="${BRIDGE_DATA_DIR:-/tmp/bridge-sample-output}/' + DAG_ID + '"; mkdir -p "$OUT"'

default_args = {
    "owner": "ml-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "depends_on_past": False,
}


def read_rows(dataset: str) -> list[dict]:
    with open(DATA_DIR / dataset, newline="") as f:
        return list(csv.DictReader(f))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --- callables -----------------------------------------------------------------------------


def has_enough_rows(dataset: str, min_rows) -> bool:
    """ShortCircuit condition: skip everything downstream if the extract looks truncated."""
    n = len(read_rows(dataset))
    print(f"{dataset}: {n} rows (minimum {min_rows})")
    return n >= int(min_rows)


def validate_schema(dataset: str, required_columns: list[str], target: str) -> dict:
    rows = read_rows(dataset)
    columns = list(rows[0].keys())
    missing = [c for c in required_columns + [target] if c not in columns]
    if missing:
        raise ValueError(f"{dataset} is missing columns {missing}")
    labels = sorted({r[target] for r in rows})
    if labels != ["0", "1"]:
        raise ValueError(f"target {target!r} must be binary 0/1, found {labels}")
    for r in rows:
        for c in required_columns:
            float(r[c])  # raises on non-numeric values
    return {
        "rows": len(rows),
        "columns": columns,
        "positive_rate": round(sum(r[target] == "1" for r in rows) / len(rows), 4),
    }


def scale_features(dataset: str, features: list[str], target: str, holdout_every: int) -> dict:
    """Standardise with train-set statistics; write train/test JSON files; return the scaler."""
    rows = read_rows(dataset)
    train = [r for i, r in enumerate(rows) if i % holdout_every != holdout_every - 1]
    test = [r for i, r in enumerate(rows) if i % holdout_every == holdout_every - 1]
    scaler = {}
    for f in features:
        values = [float(r[f]) for r in train]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
        scaler[f] = {"mean": round(mean, 6), "std": round(std, 6)}

    def transform(part):
        return [
            {
                ID_COLUMN: r[ID_COLUMN],
                "x": [(float(r[f]) - scaler[f]["mean"]) / scaler[f]["std"] for f in features],
                "y": int(r[target]),
            }
            for r in part
        ]

    out = OUTPUT_DIR / "features"
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_text(json.dumps(transform(train)))
    (out / "test.json").write_text(json.dumps(transform(test)))
    return {
        "features": features,
        "scaler": scaler,
        "n_train": len(train),
        "n_test": len(test),
        "files": ["features/train.json", "features/test.json"],
    }


def train_model(learning_rate, epochs, l2: float, params=None, ti=None) -> dict:
    """Logistic regression by full-batch gradient descent with L2 regularisation."""
    lr, n_epochs = float(learning_rate), int(epochs)
    prep = ti.xcom_pull(task_ids="preprocess.scale_features")
    out = OUTPUT_DIR
    train = json.loads((out / "features" / "train.json").read_text())
    k = len(prep["features"])
    w, b = [0.0] * k, 0.0
    n = len(train)
    for _ in range(n_epochs):
        grad_w, grad_b = [0.0] * k, 0.0
        for ex in train:
            err = sigmoid(b + sum(wi * xi for wi, xi in zip(w, ex["x"], strict=True))) - ex["y"]
            grad_w = [g + err * xi for g, xi in zip(grad_w, ex["x"], strict=True)]
            grad_b += err
        w = [wi - lr * (g / n + l2 * wi) for wi, g in zip(w, grad_w, strict=True)]
        b -= lr * grad_b / n
    model = {
        "name": params["model_name"],
        "algorithm": "logistic_regression_gd",
        "features": prep["features"],
        "scaler": prep["scaler"],
        "weights": [round(v, 6) for v in w],
        "bias": round(b, 6),
        "epochs": n_epochs,
        "learning_rate": lr,
        "l2": l2,
    }
    (out / "model.json").write_text(json.dumps(model, indent=2, sort_keys=True))
    return {"model_file": "model.json", "weights": model["weights"], "bias": model["bias"]}


def evaluate_model(decision_threshold: float) -> dict:
    out = OUTPUT_DIR
    model = json.loads((out / "model.json").read_text())
    test = json.loads((out / "features" / "test.json").read_text())
    tp = fp = tn = fn = 0
    loss = 0.0
    for ex in test:
        p = sigmoid(
            model["bias"] + sum(w * x for w, x in zip(model["weights"], ex["x"], strict=True))
        )
        p = min(max(p, 1e-9), 1 - 1e-9)
        loss -= ex["y"] * math.log(p) + (1 - ex["y"]) * math.log(1 - p)
        pred = 1 if p >= decision_threshold else 0
        tp += pred == 1 and ex["y"] == 1
        fp += pred == 1 and ex["y"] == 0
        tn += pred == 0 and ex["y"] == 0
        fn += pred == 0 and ex["y"] == 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": round((tp + tn) / len(test), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "log_loss": round(loss / len(test), 4),
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
    }


def choose_deployment(params=None, ti=None) -> str:
    metrics = ti.xcom_pull(task_ids="evaluate_model")
    return "package_model" if metrics["f1"] >= float(params["min_f1"]) else "flag_for_review"


def flag_for_review(params=None, ti=None) -> dict:
    metrics = ti.xcom_pull(task_ids="evaluate_model")
    ticket = {
        "status": "needs_review",
        "model_name": params["model_name"],
        "reason": f"f1 {metrics['f1']} below minimum {params['min_f1']}",
    }
    (OUTPUT_DIR / "review_ticket.json").write_text(json.dumps(ticket, indent=2, sort_keys=True))
    return ticket


def publish_report(templates_dict=None, params=None, ti=None) -> dict:
    metrics = ti.xcom_pull(task_ids="evaluate_model")
    packaged = ti.xcom_pull(task_ids="package_model")  # None when that branch was skipped
    report = {
        "model_name": templates_dict["model_name"],
        "decision": "packaged" if packaged else "needs_review",
        "package_log": packaged,
        "metrics": metrics,
    }
    (OUTPUT_DIR / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    return report


# --- the DAG -------------------------------------------------------------------------------

with DAG(
    dag_id=DAG_ID,
    description="Churn classifier: validate, preprocess, train, evaluate, branch on F1.",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args=default_args,
    tags=["ml", "sample", "classic", "classification"],
    params={
        "model_name": Param("churn-logreg", type="string"),
        "min_rows": Param(40, type="integer", minimum=1),
        "epochs": Param(300, type="integer", minimum=1),
        "learning_rate": Param(0.5, type="number", exclusiveMinimum=0),
        "min_f1": Param(0.6, type="number", minimum=0, maximum=1),
    },
) as dag:
    check_input = ShortCircuitOperator(
        task_id="check_input_available",
        python_callable=has_enough_rows,
        op_kwargs={"dataset": DATASET, "min_rows": "{{ params.min_rows }}"},
    )

    with TaskGroup(group_id="preprocess", tooltip="Validate, scale, snapshot") as preprocess:
        validate = PythonOperator(
            task_id="validate_schema",
            python_callable=validate_schema,
            op_kwargs={"dataset": DATASET, "required_columns": FEATURES, "target": TARGET},
        )
        scale = PythonOperator(
            task_id="scale_features",
            python_callable=scale_features,
            op_kwargs={
                "dataset": DATASET,
                "features": FEATURES,
                "target": TARGET,
                "holdout_every": HOLDOUT_EVERY,
            },
        )
        snapshot = BashOperator(
            task_id="snapshot_features",
            bash_command=(
                OUT_DIR_SH + " && "
                'SNAP="$OUT/snapshots/{{ ds }}" && mkdir -p "$SNAP" && '
                'cp "$OUT"/features/*.json "$SNAP"/ && '
                'echo "snapshot for {{ params.model_name }} written to $SNAP" && '
                "echo \"{{ params.model_name }} train={{ ti.xcom_pull(task_ids='preprocess.scale_features')['n_train'] }} "
                "test={{ ti.xcom_pull(task_ids='preprocess.scale_features')['n_test'] }}\""
            ),
        )
        validate >> scale >> snapshot

    train = PythonOperator(
        task_id="train_model",
        python_callable=train_model,
        op_kwargs={
            "learning_rate": "{{ params.learning_rate }}",
            "epochs": "{{ params.epochs }}",
            "l2": 0.01,
        },
    )
    evaluate = PythonOperator(
        task_id="evaluate_model",
        python_callable=evaluate_model,
        op_kwargs={"decision_threshold": 0.5},
    )
    branch = BranchPythonOperator(task_id="choose_deployment", python_callable=choose_deployment)
    package = BashOperator(
        task_id="package_model",
        bash_command=(
            OUT_DIR_SH + " && "
            'REL="$OUT/releases/{{ params.model_name }}" && mkdir -p "$REL" && '
            'cp "$OUT/model.json" "$REL/model.json" && '
            'echo "release dated {{ ds }}" && '
            "echo \"packaged {{ params.model_name }} f1={{ ti.xcom_pull(task_ids='evaluate_model')['f1'] }}\""
        ),
    )
    review = PythonOperator(task_id="flag_for_review", python_callable=flag_for_review)
    report = PythonOperator(
        task_id="publish_report",
        python_callable=publish_report,
        templates_dict={"model_name": "{{ params.model_name }}"},
        trigger_rule="none_failed_min_one_success",
    )

    check_input >> preprocess >> train >> evaluate >> branch >> [package, review]
    package >> report
    review.set_downstream(report)
