"""Processing script of the `sagemaker_operators` sample (uploaded to s3://.../code/preprocess.py).

Reads the raw housing CSV and writes the splits the built-in XGBoost algorithm expects: CSV
without a header, the target first. Every `--test-every`-th row goes to validation; the
inference split is the validation rows without the target. Standard library only.

/opt/ml is where SageMaker mounts the job's folders; `bridge run` executes this script without
a container and says where that folder is in BRIDGE_ML_ROOT.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

ML = Path(os.environ.get("BRIDGE_ML_ROOT", "/opt/ml"))
FEATURES = ["sqft", "bedrooms", "bathrooms", "age_years", "distance_km"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-every", type=int, default=5)
    parser.add_argument("--target", default="price_k")
    args = parser.parse_args()
    raw = next((ML / "processing/input/raw").glob("*.csv"))
    with raw.open(newline="") as f:
        rows = list(csv.DictReader(f))
    splits: dict[str, list[list[str]]] = {"train": [], "validation": [], "inference": []}
    for i, row in enumerate(rows):
        values = [row[c] for c in FEATURES]
        if i % args.test_every == 0:
            splits["validation"].append([row[args.target], *values])
            splits["inference"].append(values)
        else:
            splits["train"].append([row[args.target], *values])
    for name, lines in splits.items():
        out = ML / "processing/output" / name
        out.mkdir(parents=True, exist_ok=True)
        with (out / f"{name}.csv").open("w", newline="") as f:
            csv.writer(f).writerows(lines)
        print(f"{name}: {len(lines)} rows")


if __name__ == "__main__":
    main()
