"""`bridge compare`: the runnable samples agree with their DAGs under Airflow, and changing a
translated step (a constant, a condition, an output) makes the comparison fail on that task."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.compare.checks import compare_runs, values_equal
from bridge.compare.side_by_side import CompareOptions, compare_dags
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import RunRecord

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
SAMPLES = [
    "ml_taskflow_pipeline",
    "ml_classic_operators",
    "dynamic_feature_pipeline",
    "file_handoff",
]
LEGACY = "legacy_airflow1_style"  # Airflow 1 imports: its pipeline runs, Airflow 3 cannot load it
LOGICAL_DATE = "2026-01-05T00:00:00+00:00"


@pytest.fixture(scope="module")
def comparisons(tmp_path_factory):
    """All runnable samples in one `compare` (one Airflow process), from the golden output."""
    out = tmp_path_factory.mktemp("out")
    for dag_id in [*SAMPLES, LEGACY]:
        shutil.copytree(GOLDEN / dag_id, out / dag_id)
    options = CompareOptions(out=out, logical_date=LOGICAL_DATE, reuse=True)
    files = [ROOT / "sample_dags" / f"{dag_id}.py" for dag_id in [*SAMPLES, LEGACY]]
    return {c["dag_id"]: c for c in compare_dags(files, options)}


@pytest.mark.parametrize("dag_id", SAMPLES)
def test_runnable_samples_compare_as_equivalent(comparisons, dag_id):
    comparison = comparisons[dag_id]
    differences = [
        (t["task_id"], [c["detail"] for c in t["checks"] if not c["ok"]], t["reason"])
        for t in comparison["tasks"]
        if t["verdict"] != "agree"
    ]
    assert comparison["verdict"] == "equivalent", differences
    assert comparison["ok"]
    assert comparison["runs"]["pipeline"]["isolated"] is True
    assert comparison["runs"]["airflow"]["status"] == "Succeeded"
    assert comparison["files"], "the sample writes files in both runs"
    assert all(f["ok"] for f in comparison["files"])
    folder = Path(comparison["folder"])
    assert json.loads((folder / "compare.json").read_text())["verdict"] == "equivalent"
    assert "<svg" in (folder / "compare.html").read_text()


def test_a_dag_airflow_cannot_load_is_not_compared(comparisons):
    comparison = comparisons[LEGACY]
    assert comparison["verdict"] == "incomplete" and not comparison["ok"]
    assert comparison["runs"]["pipeline"]["status"] == "Succeeded"
    assert {t["verdict"] for t in comparison["tasks"]} == {"not_compared"}
    assert all("airflow.operators.bash_operator" in t["reason"] for t in comparison["tasks"])


def test_xcoms_and_branches_are_really_compared(comparisons):
    tasks = {t["task_id"]: t for t in comparisons["ml_taskflow_pipeline"]["tasks"]}
    assert {c["check"] for c in tasks["train_model"]["checks"]} == {"state", "xcom"}
    assert any(c["check"] == "branch" for c in tasks["check_quality"]["checks"])
    assert tasks["notify_failure"]["airflow_state"] == "skipped"
    mapped = {t["task_id"]: t for t in comparisons["dynamic_feature_pipeline"]["tasks"]}
    assert any(c["check"] == "xcom" for c in mapped["describe_column"]["checks"])


# ---- a changed translation must be caught ----------------------------------------------------


def _rerun_with(comparisons, tmp_path, change) -> dict:
    """Run a changed copy of the ml_taskflow_pipeline translation against the same Airflow run."""
    comparison = comparisons["ml_taskflow_pipeline"]
    airflow = RunRecord.read(Path(comparison["runs"]["airflow"]["folder"]))
    folder = tmp_path / "ml_taskflow_pipeline"
    shutil.copytree(GOLDEN / "ml_taskflow_pipeline", folder)
    change(folder)
    pipeline = run_local(folder, RunOptions(run_root=tmp_path / "runs"))
    manifest = json.loads((folder / "manifest.json").read_text())
    return compare_runs(manifest, airflow, pipeline)


def _differing(comparison) -> set[str]:
    return {t["task_id"] for t in comparison["tasks"] if t["verdict"] == "differ"}


def test_a_changed_constant_is_caught(comparisons, tmp_path):
    def change(folder):
        script = folder / "steps" / "engineer_features.py"
        text = script.read_text()
        changed = re.sub(r"math\.log1p\(", "math.log(2 + ", text, count=1)
        assert changed != text
        script.write_text(changed)

    result = _rerun_with(comparisons, tmp_path, change)
    assert not result["ok"] and result["verdict"] == "different"
    assert "engineer_features" in _differing(result)
    detail = next(t for t in result["tasks"] if t["task_id"] == "engineer_features")["checks"]
    assert any(not c["ok"] and c["check"] == "xcom" for c in detail)


def test_a_flipped_condition_is_caught(comparisons, tmp_path):
    def change(folder):
        path = folder / "definition.json"
        text = path.read_text()
        assert '"Type": "LessThan"' in text
        path.write_text(text.replace('"Type": "LessThan"', '"Type": "GreaterThanOrEqualTo"'))

    result = _rerun_with(comparisons, tmp_path, change)
    assert not result["ok"]
    differing = _differing(result)
    assert {"check_quality", "notify_failure", "register_model"} <= differing
    branch = next(t for t in result["tasks"] if t["task_id"] == "check_quality")["checks"]
    assert any(c["check"] == "branch" and not c["ok"] for c in branch)


def test_a_dropped_output_is_caught(comparisons, tmp_path):
    def change(folder):
        path = folder / "definition.json"
        definition = json.loads(path.read_text())
        step = next(s for s in definition["Steps"] if s["Name"] == "evaluate_model")
        step["Arguments"]["ProcessingOutputConfig"]["Outputs"] = []
        path.write_text(json.dumps(definition))

    result = _rerun_with(comparisons, tmp_path, change)
    assert not result["ok"]
    assert "evaluate_model" in _differing(result)


def test_a_file_written_differently_is_caught(comparisons, tmp_path):
    def change(folder):
        script = folder / "steps" / "report.py"
        text = script.read_text()
        changed = text.replace('"status":', '"state":', 1)
        assert changed != text
        script.write_text(changed)

    result = _rerun_with(comparisons, tmp_path, change)
    assert not result["ok"]
    assert "report" in _differing(result)
    assert any(not f["ok"] and f["path"].endswith("report.json") for f in result["files"])


# ---- the comparison itself -------------------------------------------------------------------


def test_values_equal_uses_the_tolerance_and_says_where():
    assert values_equal({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-12]}, 1e-9) == (True, "")
    assert values_equal({"a": [1.0, 2.0]}, {"a": [1.0, 2.1]}, 1e-9) == (False, "['a'][1]")
    assert values_equal({"a": 1}, {"a": 1, "b": 2}, 1e-9) == (False, "['b']")
    assert values_equal(True, 1, 1e-9) == (True, "")  # JSON cannot tell them apart either
    assert values_equal("1", 1, 1e-9)[0] is False


def test_not_runnable_and_placeholder_tasks_are_not_counted_as_agreement():
    manifest = {
        "dag_id": "d",
        "source": {"path": "d.py"},
        "dag_edges": [["a", "b"]],
        "edges": [["a", "b"]],
        "steps": {"a": {"task_id": "a"}, "b": {"task_id": "b"}},
        "tasks": {
            "a": {"steps": ["a"], "rule": "sagemaker", "fidelity": "exact", "fate": "step"},
            "b": {"steps": ["b"], "rule": "fallback", "fidelity": "manual", "fate": "placeholder"},
        },
    }
    from bridge.run.record import StepRun

    airflow = RunRecord("airflow", "d", "r1")
    airflow.steps = {n: StepRun(n, "Succeeded", raw_state="success") for n in "ab"}
    pipeline = RunRecord("local", "d", "r2", partial=True)
    pipeline.steps = {
        "a": StepRun("a", "NotRunnable", reason="image x needs Docker"),
        "b": StepRun("b", "NotExecuted", reason="upstream a is not runnable locally"),
    }
    result = compare_runs(manifest, airflow, pipeline)
    assert result["summary"] == {
        "agree": 0,
        "differ": 0,
        "not_compared": 2,
        "files_agree": 0,
        "files_differ": 0,
    }
    assert result["verdict"] == "incomplete" and not result["ok"]
    reasons = {t["task_id"]: t["reason"] for t in result["tasks"]}
    assert "needs Docker" in reasons["a"] and reasons["b"].startswith("placeholder")


def test_cli_compare_exit_code_and_summary(comparisons, tmp_path):
    """The command line on an altered translation: exit 1 and the task named."""
    out = tmp_path / "out"
    shutil.copytree(GOLDEN / "ml_taskflow_pipeline", out / "ml_taskflow_pipeline")
    script = out / "ml_taskflow_pipeline" / "steps" / "train_model.py"
    text = script.read_text()
    assert "round(w[0], 6)" in text
    script.write_text(text.replace("round(w[0], 6)", "round(w[0] + 0.5, 6)"))
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "compare", "sample_dags/ml_taskflow_pipeline.py"]
        + ["-o", str(out), "--reuse", "--logical-date", LOGICAL_DATE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "COLUMNS": "200"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "different" in done.stdout
    assert re.search(r"train_model\s.*differ", done.stdout)
