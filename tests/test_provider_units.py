"""The provider's pure parts: manifest reading, parameter filling, execution identity, links.

The operator's behaviour against a running endpoint is in tests/test_provider_e2e.py.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("airflow")

from airflow_plugins.execution import (  # noqa: E402
    DESCRIPTION_MAX,
    DISPLAY_NAME_MAX,
    TaskInstanceIdentity,
)
from airflow_plugins.links import execution_url  # noqa: E402
from airflow_plugins.manifest import (  # noqa: E402
    Migration,
    api_value,
    native_param,
    pipeline_parameters,
    task_states,
)

MANIFEST = {
    "dag_id": "train",
    "pipeline": {"name": "train-pipeline"},
    "tasks": {
        "check": {"steps": ["check", "check-gate"]},
        "fit": {"steps": ["fit"]},
        "notify": {"steps": []},
    },
    "steps": {
        "check": {"task_id": "check"},
        "check-gate": {"task_id": "check"},
        "fit": {"task_id": "fit"},
    },
    "parameters": [
        {"name": "ds", "airflow": "{{ ds }}", "source": "context", "type": "String"},
        {"name": "epochs", "airflow": "{{ params.epochs }}", "type": "Integer"},
        {"name": "cols", "airflow": "{{ params.cols }}", "type": "String", "json_text": True},
        {"name": "deploy", "airflow": "{{ params.deploy }}", "type": "Boolean"},
    ],
}

# SageMaker's pattern for PipelineExecutionDisplayName.
DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")


def test_steps_map_back_to_their_tasks():
    migration = Migration.from_dict(MANIFEST)
    assert migration.task_of("check-gate") == "check"
    assert migration.task_of("unknown-step") == "unknown-step"
    assert migration.steps_of(["check", "fit"]) == ["check", "check-gate", "fit"]
    with pytest.raises(ValueError, match="nope"):
        migration.steps_of(["nope"])


def test_worker_folders_are_read_per_step():
    folder = {
        "name": "bridge_data_dir",
        "kind": "env",
        "path": "BRIDGE_DATA_DIR",
        "default": "/tmp/out",
        "output": "bridge_data_dir",
        "inputs_from": ["check"],
        "local_path": "/opt/ml/processing/output/bridge_data_dir",
    }
    data = {
        **MANIFEST,
        "steps": {**MANIFEST["steps"], "fit": {"task_id": "fit", "folders": [folder]}},
    }
    migration = Migration.from_dict(data)
    assert list(migration.step_folders) == ["fit"]  # steps without folders are left out
    (read,) = migration.step_folders["fit"]
    assert (read.name, read.default, read.output) == (
        "bridge_data_dir",
        "/tmp/out",
        "bridge_data_dir",
    )
    # the same folder named by a reader (no output) is the same place on the worker
    reader = {**folder, "name": "other", "output": None}
    assert (
        Migration.from_dict({**data, "steps": {"x": {"task_id": "x", "folders": [reader]}}})
        .step_folders["x"][0]
        .key
        == read.key
        == ("env", "BRIDGE_DATA_DIR")
    )


def test_load_reports_missing_and_broken_manifests(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        Migration.load(tmp_path / "missing.json")
    broken = tmp_path / "manifest.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        Migration.load(broken)


def test_parameters_are_rendered_typed_and_overridable():
    migration = Migration.from_dict(MANIFEST)
    context = {"ds": "2026-11-22", "params": {"epochs": 3, "cols": ["a", "b"], "deploy": True}}

    def render(template: str):
        name = native_param(template)
        if name is not None:
            return context["params"].get(name)
        return template.replace("{{ ds }}", context["ds"])

    values = pipeline_parameters(migration, render, overrides={"epochs": 7})
    assert values == {"ds": "2026-11-22", "epochs": "7", "cols": '["a", "b"]', "deploy": "true"}
    # An unset DAG param keeps the pipeline's default (not the text "None").
    context["params"]["deploy"] = None
    assert "deploy" not in pipeline_parameters(migration, render)
    assert set(pipeline_parameters(migration, render, declared={"ds"})) == {"ds"}


def test_api_values():
    assert api_value(True, {}) == "true"
    assert api_value({"b": 1, "a": 2}, {}) == '{"a": 2, "b": 1}'
    assert api_value('["x"]', {"json_text": True}) == '["x"]'
    assert api_value(0.5, {"type": "Float"}) == "0.5"
    assert native_param("{{params.x}}") == "x"
    assert native_param("{{ params.x | int }}") is None


def test_task_state_of_several_steps():
    migration = Migration.from_dict(MANIFEST)
    steps = [
        {"StepName": "check", "StepStatus": "Succeeded"},
        {"StepName": "check-gate", "StepStatus": "Executing"},
        {"StepName": "fit", "StepStatus": "Stopped"},
    ]
    assert task_states(migration, steps) == {"check": "running", "fit": "failed"}


@settings(max_examples=60, deadline=None)
@given(
    dag_id=st.text(min_size=1, max_size=250),
    run_id=st.text(min_size=1, max_size=250),
    task_id=st.text(min_size=1, max_size=250),
    map_index=st.integers(min_value=-1, max_value=10_000),
)
def test_identity_is_a_valid_display_name_and_stable(dag_id, run_id, task_id, map_index):
    identity = TaskInstanceIdentity(dag_id, run_id, task_id, map_index)
    name = identity.display_name
    assert DISPLAY_NAME.match(name) and len(name) <= DISPLAY_NAME_MAX
    assert 32 <= len(identity.token()) <= 128
    assert identity.token(0) != identity.token(1)
    assert len(identity.description) <= DESCRIPTION_MAX
    assert identity.owns(identity.description)
    other = TaskInstanceIdentity(dag_id, run_id + "x", task_id, map_index)
    assert other.display_name != name and not other.owns(identity.description)


def test_identity_refuses_foreign_descriptions():
    identity = TaskInstanceIdentity("d", "r", "t")
    assert not identity.owns(None)
    assert not identity.owns("started by hand")
    assert not identity.owns(json.dumps({"airflow": {"dag_id": "d"}}))


def test_execution_links():
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn/execution/abc123def456"
    assert execution_url(arn, region=None) == (
        "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1"
        "#/pipelines/churn/executions/abc123def456"
    )
    assert execution_url(arn, region="eu-west-1", studio_domain_id="d-xyz") == (
        "https://studio-d-xyz.studio.eu-west-1.sagemaker.aws/pipelines/churn/executions/abc123def456"
    )
    local = execution_url(arn, region=None, endpoint_url="http://127.0.0.1:8765")
    assert local.startswith("/bridge/?execution=arn%3Aaws%3Asagemaker")


def test_environment_parameters_come_from_the_workers_environment(monkeypatch):
    """A DAG file's `os.environ.get("DATA_BUCKET", "my-data")` is the pipeline parameter
    `env_DATA_BUCKET`: the operator fills it from its own worker's environment, as Airflow's
    parse of the file read it there; unset, the pipeline's default (the DAG's) stays."""
    manifest = {
        **MANIFEST,
        "parameters": [
            {
                "name": "env_DATA_BUCKET",
                "type": "String",
                "default": "my-data",
                "source": "environment",
                "airflow": "",
            },
        ],
    }
    migration = Migration.from_dict(manifest)
    monkeypatch.setenv("DATA_BUCKET", "sales")
    assert pipeline_parameters(migration, lambda t: t) == {"env_DATA_BUCKET": "sales"}
    assert pipeline_parameters(migration, lambda t: t, overrides={"env_DATA_BUCKET": "x"}) == {
        "env_DATA_BUCKET": "x"
    }
    monkeypatch.delenv("DATA_BUCKET")
    assert pipeline_parameters(migration, lambda t: t) == {}
