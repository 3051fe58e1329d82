"""Our own sample DAGs: the static graph equals DagBag's; the legacy one parses though Airflow 3 refuses it."""

from __future__ import annotations

import pytest

from bridge.parse.dag_file import parse_file
from bridge.parse.live import diff_dags
from tests.conftest import SAMPLE_DAGS, dagbag_summaries, static_summaries

LOADABLE = [
    "ml_taskflow_pipeline.py",
    "ml_classic_operators.py",
    "sagemaker_operators.py",
    "dynamic_feature_pipeline.py",
]


@pytest.mark.airflow
@pytest.mark.parametrize("name", LOADABLE)
def test_sample_matches_dagbag(name):
    live, errors = dagbag_summaries(SAMPLE_DAGS / name)
    assert not errors
    static = static_summaries(SAMPLE_DAGS / name)
    assert diff_dags(static, live) == []
    assert not [d for d in parse_file(SAMPLE_DAGS / name).diagnostics if d.severity != "info"]


@pytest.mark.airflow
def test_legacy_sample_parses_statically_though_airflow3_refuses_it():
    path = SAMPLE_DAGS / "legacy_airflow1_style.py"
    live, errors = dagbag_summaries(path)
    assert live == [] and "airflow.operators" in next(iter(errors.values()))
    (dag,) = parse_file(path).dags
    assert dag.schedule == "@daily"
    assert dag.edge_pairs() == [
        ["start", "extract_data"],
        ["extract_data", "build_features"],
        ["build_features", "train_model"],
        ["train_model", "evaluate_model"],
        ["evaluate_model", "archive_artifacts"],
        ["archive_artifacts", "end"],
    ]
    assert dag.tasks["start"].operator == "airflow.providers.standard.operators.empty.EmptyOperator"
    assert dag.tasks["extract_data"].kwargs["provide_context"].value is True
    assert dag.tasks["extract_data"].callable.defined_in_file


def test_taskflow_sample_model_details():
    (dag,) = parse_file(SAMPLE_DAGS / "ml_taskflow_pipeline.py").dags
    branch = next(t for t in dag.tasks.values() if t.operator == "airflow.sdk.task.branch")
    assert branch.flavour == "@task.branch"
    assert branch.callable.line < branch.callable.end_line
    report = dag.tasks["report"]
    assert report.trigger_rule == "none_failed_min_one_success"
    assert any("data" in e.kinds for e in dag.edges)
    assert "rmse_threshold" in dag.params


def test_dynamic_sample_mapping_info():
    (dag,) = parse_file(SAMPLE_DAGS / "dynamic_feature_pipeline.py").dags
    mapped = {t.task_id: t.mapping for t in dag.tasks.values() if t.mapped}
    assert set(mapped) == {"describe_column", "column_correlation", "train_ridge"}
    assert mapped["train_ridge"]["kind"] == "expand"
    assert {"profile_size_columns", "profile_location_columns", "profile_age_columns"} <= set(
        dag.tasks
    )
