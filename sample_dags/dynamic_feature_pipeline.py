"""Feature-set fan-out and ridge-regression model selection, with dynamic tasks.

The ML story: the house-price team keeps its features in named *feature sets* (size, location,
age). Each run

1. loads ``data/housing.csv`` and runs a ``quality_checks`` task group (missing values, ranges),
2. profiles every raw column with a mapped task (``describe_column.expand(...)``) and computes
   each column's correlation with the price (``column_correlation.partial(...).expand(...)``),
3. for every feature set in the literal ``FEATURE_SETS`` list, generates - in a ``for`` loop - a
   ``PythonOperator`` that profiles the set's source columns and a TaskFlow task (renamed with
   ``.override(task_id=...)``) that builds the set's features; ``chain`` pairs them up,
4. merges the feature sets into one design matrix,
5. trains one ridge regression per candidate regularisation strength with dynamic task mapping
   (``train_ridge.partial(dataset=...).expand(alpha=candidate_alphas())``),
6. picks the alpha with the lowest validation RMSE and writes a leaderboard.

All computation is standard-library Python and deterministic (fixed split: every fifth house is
validation), so XCom values can be compared exactly against a translated pipeline. Files go to
a folder on the worker, ``$BRIDGE_DATA_DIR/dynamic_feature_pipeline/``
(``/tmp/bridge-sample-output`` when the variable is unset).
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import Param, chain, dag, task, task_group

DAG_ID = "dynamic_feature_pipeline"
DATA_DIR = Path(__file__).parent / "data"
DATASET = "housing.csv"
TARGET = "price_k"
RAW_COLUMNS = ["sqft", "bedrooms", "bathrooms", "age_years", "distance_km"]
VALIDATION_EVERY = 5

FEATURE_SETS = [
    {"name": "size", "columns": ["sqft", "bedrooms", "bathrooms"]},
    {"name": "location", "columns": ["distance_km"]},
    {"name": "age", "columns": ["age_years"]},
]


# The worker folder the tasks write to: $BRIDGE_DATA_DIR (bridge compare gives each Airflow run
# its own), else a folder under /tmp.
OUTPUT_DIR = Path(os.environ.get("BRIDGE_DATA_DIR", "/tmp/bridge-sample-output")) / DAG_ID


def read_rows() -> list[dict]:
    with open(DATA_DIR / DATASET, newline="") as f:
        return [
            {k: (v if k == "house_id" else float(v)) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def make_features(name: str, row: dict) -> dict[str, float]:
    """The transformation behind each named feature set."""
    if name == "size":
        rooms = row["bedrooms"] + row["bathrooms"]
        return {
            "size_ksqft": row["sqft"] / 1000.0,
            "bedrooms": row["bedrooms"],
            "bathrooms": row["bathrooms"],
            "ksqft_per_room": row["sqft"] / 1000.0 / rooms,
        }
    if name == "location":
        return {
            "log_distance_km": math.log1p(row["distance_km"]),
            "is_central": 1.0 if row["distance_km"] <= 10.0 else 0.0,
        }
    if name == "age":
        return {"age_years": row["age_years"], "age_sq_100": row["age_years"] ** 2 / 100.0}
    raise ValueError(f"unknown feature set {name!r}")


def solve_linear_system(a: list[list[float]], b: list[float]) -> list[float]:
    """Gauss-Jordan elimination with partial pivoting."""
    n = len(a)
    m = [list(row) + [rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            raise ValueError("singular system")
        m[col], m[pivot] = m[pivot], m[col]
        p = m[col][col]
        m[col] = [v / p for v in m[col]]
        for r in range(n):
            if r != col and m[r][col] != 0.0:
                f = m[r][col]
                m[r] = [vr - f * vc for vr, vc in zip(m[r], m[col], strict=True)]
    return [m[i][n] for i in range(n)]


def profile_columns(feature_set: str, columns: list[str]) -> dict:
    """Classic-operator callable generated once per feature set: min/max of its source columns."""
    rows = read_rows()
    return {
        "feature_set": feature_set,
        "ranges": {c: [min(r[c] for r in rows), max(r[c] for r in rows)] for c in columns},
    }


@dag(
    dag_id=DAG_ID,
    description="Loop-generated feature sets, mapped column stats and a mapped ridge-alpha sweep.",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["ml", "sample", "dynamic", "feature-engineering"],
    default_args={"owner": "ml-platform", "retries": 1},
    params={
        "alphas": Param(
            [0.0, 0.3, 1.0, 3.0, 10.0], type="array", description="Ridge strengths to try."
        ),
    },
)
def dynamic_feature_pipeline():
    @task
    def load_dataset() -> list[dict]:
        return read_rows()

    @task_group(group_id="quality_checks")
    def quality_checks(rows):
        @task
        def check_missing(rows: list[dict]) -> int:
            missing = [(r["house_id"], k) for r in rows for k, v in r.items() if v in ("", None)]
            if missing:
                raise ValueError(f"missing values: {missing[:5]}")
            return len(rows)

        @task
        def check_ranges(rows: list[dict], n_rows: int) -> dict:
            problems = [
                r["house_id"]
                for r in rows
                if r["sqft"] <= 0 or r[TARGET] <= 0 or r["age_years"] < 0 or r["distance_km"] < 0
            ]
            if problems:
                raise ValueError(f"out-of-range rows: {problems}")
            return {"rows": n_rows, "passed": True}

        return check_ranges(rows, check_missing(rows))

    @task
    def describe_column(column: str) -> dict:
        """Mapped over RAW_COLUMNS with .expand(): one task instance per column."""
        values = [r[column] for r in read_rows()]
        return {
            "column": column,
            "mean": round(statistics.fmean(values), 4),
            "stdev": round(statistics.pstdev(values), 4),
            "min": min(values),
            "max": max(values),
        }

    @task
    def column_correlation(rows: list[dict], target: str, column: str) -> dict:
        """Mapped with .partial(rows=..., target=...).expand(column=...)."""
        xs = [r[column] for r in rows]
        ys = [r[target] for r in rows]
        return {"column": column, "pearson_r": round(statistics.correlation(xs, ys), 4)}

    @task
    def build_feature_set(rows: list[dict], feature_set: str) -> dict:
        """Generated once per feature set in the loop below, renamed with .override()."""
        feats = [make_features(feature_set, r) for r in rows]
        columns = list(feats[0])
        return {
            "feature_set": feature_set,
            "columns": columns,
            "values": [[round(f[c], 6) for c in columns] for f in feats],
        }

    @task
    def merge_feature_sets(
        feature_sets: list[dict], rows: list[dict], params: dict | None = None
    ) -> dict:
        columns: list[str] = []
        matrix = [[] for _ in rows]
        for fs in feature_sets:
            columns += [f"{fs['feature_set']}.{c}" for c in fs["columns"]]
            for i, values in enumerate(fs["values"]):
                matrix[i] += values
        dataset = {
            "columns": columns,
            "ids": [r["house_id"] for r in rows],
            "X": matrix,
            "y": [r[TARGET] for r in rows],
        }
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUTPUT_DIR / "features.json").write_text(json.dumps(dataset))
        return dataset

    @task
    def candidate_alphas(params: dict | None = None) -> list[float]:
        return [float(a) for a in (params or {}).get("alphas", [0.0, 1.0])]

    @task
    def train_ridge(dataset: dict, alpha: float) -> dict:
        """Ridge regression on standardised features; one mapped instance per alpha."""
        train_idx = [
            i for i in range(len(dataset["y"])) if i % VALIDATION_EVERY != VALIDATION_EVERY - 1
        ]
        val_idx = [
            i for i in range(len(dataset["y"])) if i % VALIDATION_EVERY == VALIDATION_EVERY - 1
        ]
        k = len(dataset["columns"])
        x_tr = [dataset["X"][i] for i in train_idx]
        y_tr = [dataset["y"][i] for i in train_idx]
        means = [sum(x[j] for x in x_tr) / len(x_tr) for j in range(k)]
        stds = [
            math.sqrt(sum((x[j] - means[j]) ** 2 for x in x_tr) / len(x_tr)) or 1.0
            for j in range(k)
        ]
        y_mean = sum(y_tr) / len(y_tr)

        def z(x):
            return [(x[j] - means[j]) / stds[j] for j in range(k)]

        zs = [z(x) for x in x_tr]
        a = [
            [sum(r[i] * r[j] for r in zs) + (alpha if i == j else 0.0) for j in range(k)]
            for i in range(k)
        ]
        b = [sum(r[i] * (y - y_mean) for r, y in zip(zs, y_tr, strict=True)) for i in range(k)]
        w = solve_linear_system(a, b)

        def predict(x):
            return y_mean + sum(wi * zi for wi, zi in zip(w, z(x), strict=True))

        def rmse(idx):
            return math.sqrt(
                sum((predict(dataset["X"][i]) - dataset["y"][i]) ** 2 for i in idx) / len(idx)
            )

        return {
            "alpha": alpha,
            "train_rmse": round(rmse(train_idx), 4),
            "val_rmse": round(rmse(val_idx), 4),
            "weights": {c: round(wi, 4) for c, wi in zip(dataset["columns"], w, strict=True)},
        }

    @task
    def select_best_model(results, correlations, column_stats, params: dict | None = None) -> dict:
        leaderboard = sorted(
            (
                {"alpha": r["alpha"], "val_rmse": r["val_rmse"], "train_rmse": r["train_rmse"]}
                for r in results
            ),
            key=lambda r: (r["val_rmse"], r["alpha"]),
        )
        best = next(r for r in results if r["alpha"] == leaderboard[0]["alpha"])
        strongest = max(correlations, key=lambda c: (abs(c["pearson_r"]), c["column"]))
        summary = {
            "best_alpha": best["alpha"],
            "best_val_rmse": best["val_rmse"],
            "best_weights": best["weights"],
            "leaderboard": leaderboard,
            "strongest_raw_feature": strongest["column"],
            "n_columns_profiled": len(list(column_stats)),
        }
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUTPUT_DIR / "leaderboard.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
        return summary

    rows = load_dataset()
    checks = quality_checks(rows)

    column_stats = describe_column.expand(column=RAW_COLUMNS)
    correlations = column_correlation.partial(rows=rows, target=TARGET).expand(column=RAW_COLUMNS)

    profiles = []
    built = []
    for fs in FEATURE_SETS:
        profiles.append(
            PythonOperator(
                task_id=f"profile_{fs['name']}_columns",
                python_callable=profile_columns,
                op_kwargs={"feature_set": fs["name"], "columns": fs["columns"]},
            )
        )
        built.append(
            build_feature_set.override(task_id=f"build_{fs['name']}_features")(rows, fs["name"])
        )

    merged = merge_feature_sets(built, rows)
    # checks >> every profile; profile_i >> build_i (pairwise); every build >> merge.
    chain(checks, profiles, built, merged)

    results = train_ridge.partial(dataset=merged).expand(alpha=candidate_alphas())
    select_best_model(results, correlations, column_stats)


dynamic_feature_pipeline()
