"""SageMakerConditionOperator becomes a native ConditionStep (issue 15): checked against
Airflow itself with `bridge compare` — the same branch is taken, the same tasks are skipped, and
a failed check without `else_task_ids` fails the run in both."""

from __future__ import annotations

import json
import textwrap

import pytest

from bridge.compare.side_by_side import CompareOptions, compare_dags

HEAD = """
from airflow.sdk import DAG, task
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerConditionOperator
"""
GATE = (
    HEAD
    + """
with DAG("condition_gate", schedule=None, params={"floor": 0.9}):
    @task
    def metrics():
        return {"accuracy": 0.93, "loss": 0.05, "stage": "candidate"}
    @task
    def deploy():
        return "deployed"
    @task
    def retrain():
        return "retrained"
    check = SageMakerConditionOperator(
        task_id="check",
        conditions=[
            {"type": "GreaterThanOrEqualTo",
             "left_value": "{{ ti.xcom_pull(task_ids='metrics')['accuracy'] }}",
             "right_value": "{{ params.floor }}"},
            {"type": "Or", "conditions": [
                {"type": "LessThan", "left_value": "{{ ti.xcom_pull(task_ids='metrics')['loss'] }}", "right_value": 0.01},
                {"type": "In", "value": "{{ ti.xcom_pull(task_ids='metrics')['stage'] }}", "in_values": ["candidate", "rc"]},
            ]},
            {"type": "Not", "condition": {"type": "Equals", "left_value": "a", "right_value": "b"}},
        ],
        if_task_ids=["deploy"],
        else_task_ids="retrain",
    )
    metrics() >> check >> [deploy(), retrain()]
"""
)
STRICT = (
    HEAD
    + """
with DAG("condition_strict", schedule=None):
    @task
    def metrics():
        return {"accuracy": 0.5}
    @task
    def deploy():
        return "deployed"
    check = SageMakerConditionOperator(
        task_id="check",
        condition_type="GreaterThan",
        left_value="{{ ti.xcom_pull(task_ids='metrics')['accuracy'] }}",
        right_value="0.9",
        if_task_ids="deploy",
    )
    metrics() >> check >> deploy()
"""
)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    base = tmp_path_factory.mktemp("condition")
    files = []
    for name, source in (("condition_gate", GATE), ("condition_strict", STRICT)):
        path = base / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        files.append(path)
    options = CompareOptions(out=base / "out", logical_date="2026-01-05T00:00:00+00:00")
    return {c["dag_id"]: c for c in compare_dags(files, options)}, base / "out"


def _states(comparison) -> dict[str, tuple[str, str]]:
    return {t["task_id"]: (t["airflow_state"], t["verdict"]) for t in comparison["tasks"]}


def test_the_condition_is_one_native_step_and_takes_airflows_branch(compared):
    comparisons, out = compared
    manifest = json.loads((out / "condition_gate" / "manifest.json").read_text())
    assert manifest["tasks"]["check"]["fidelity"] == "exact"
    definition = json.loads((out / "condition_gate" / "definition.json").read_text())
    (step,) = [s for s in definition["Steps"] if s["Name"] == "check"]
    assert step["Type"] == "Condition"
    kinds = [c["Type"] for c in step["Arguments"]["Conditions"]]
    assert kinds == ["GreaterThanOrEqualTo", "Or", "Not"]
    assert [s["Name"] for s in step["Arguments"]["IfSteps"]] == ["deploy"]
    assert [s["Name"] for s in step["Arguments"]["ElseSteps"]] == ["retrain"]
    comparison = comparisons["condition_gate"]
    states = _states(comparison)
    assert states["deploy"][0] == "success" and states["retrain"][0] == "skipped"
    assert comparison["verdict"] == "equivalent", states


def test_a_failed_check_without_an_else_side_fails_in_both(compared):
    comparisons, out = compared
    definition = json.loads((out / "condition_strict" / "definition.json").read_text())
    (step,) = [s for s in definition["Steps"] if s["Name"] == "check"]
    assert [s["Name"] for s in step["Arguments"]["ElseSteps"]] == ["check-failed"]
    comparison = comparisons["condition_strict"]
    states = _states(comparison)
    assert states["check"][0] == "failed"
    assert comparison["runs"]["pipeline"]["status"] == "Failed"
    assert comparison["verdict"] == "equivalent", states
