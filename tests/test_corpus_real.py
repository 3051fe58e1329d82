"""Real public DAG files (benchmarks/corpus, issue 15): every one translates, and the coverage
figures never go down.

The figures (tasks exact / manual, DAGs with no placeholder, DAGs whose definition validates,
SageMaker job operators that became native steps) are held against tests/corpus_floor.json:
raise the floor when coverage improves (`python benchmarks/bench_coverage.py --json` prints them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from benchmarks.coverage_figures import (
    DAGS,
    MANIFEST,
    corpus_files,
    coverage_figures,
    translate_corpus,
)

FLOOR = Path(__file__).parent / "corpus_floor.json"
LICENCES = {"Apache-2.0", "MIT", "MIT-0"}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("real-corpus-out")
    return coverage_figures(*translate_corpus(out, fetched=False))  # the committed files


def test_corpus_is_vendored_unchanged_and_attributed():
    entries = json.loads(MANIFEST.read_text())
    on_disk = {str(p.relative_to(DAGS)) for p in DAGS.rglob("*.py")}
    assert {e["file"] for e in entries if e["vendored"]} <= on_disk
    assert on_disk <= {e["file"] for e in entries}
    for e in entries:
        assert e["licence"] in LICENCES, e["file"]
        assert e["repo"] and e["commit"] and e["path"], e["file"]
        if e["file"] not in on_disk:
            continue  # fetched from GitHub by benchmarks/corpus/fetch.py, not here
        assert hashlib.sha256((DAGS / e["file"]).read_bytes()).hexdigest() == e["sha256"], (
            f"{e['file']} differs from the published file: corpus files are input data, "
            "never edited"
        )


def test_every_dag_is_found_and_translated(figures):
    assert figures["files"] == len(corpus_files(fetched=False))
    assert figures["dags_not_found"] == []
    untranslated = [d for d in figures["per_dag"] if not d["translated"]]
    assert untranslated == []
    assert not figures["validation_skipped"]


def test_coverage_figures_do_not_go_down(figures):
    f = figures
    print(
        f"\nreal corpus: {f['dags']} DAGs, {f['tasks']} tasks, {f['exact']} exact, "
        f"{f['approximate']} approximate, {f['manual']} manual ({f['manual_pct']} %); "
        f"no placeholder {f['placeholder_free_dags']}, validated {f['validated_dags']}, "
        f"SageMaker native {f['sagemaker_native']}/{f['sagemaker_jobs']}"
    )
    floor = json.loads(FLOOR.read_text())
    assert f["tasks"] == floor["tasks"]
    assert f["exact"] >= floor["exact"]
    assert f["manual"] <= floor["manual"]
    assert f["placeholder_free_dags"] >= floor["placeholder_free_dags"]
    assert f["validated_dags"] >= floor["validated_dags"]
    assert f["sagemaker_native"] >= floor["sagemaker_native"]
