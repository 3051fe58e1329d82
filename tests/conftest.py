"""Shared fixtures. Airflow gets an isolated home before anything imports it."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

_HOME = tempfile.mkdtemp(prefix="bridge-tests-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")

import pytest  # noqa: E402

from bridge.parse.dag_file import parse_file, parse_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DAGS = ROOT / "sample_dags"


def airflow_example_files() -> list[Path]:
    """The DAG files that ship inside the installed apache-airflow and standard provider packages."""
    import importlib.util

    spec = importlib.util.find_spec("airflow")
    base = Path(spec.submodule_search_locations[0])
    folders = [base / "example_dags", base / "providers" / "standard" / "example_dags"]
    return sorted(f for folder in folders for f in folder.glob("*.py") if f.name != "__init__.py")


def dagbag_summaries(path: Path | str) -> tuple[list[dict], dict]:
    """Load a file with Airflow's DagBag in this process; DAG summaries and import errors."""
    from airflow.dag_processing.dagbag import DagBag

    from bridge.parse.live import dag_summary

    bag = DagBag(dag_folder=str(path))
    return [dag_summary(d) for d in bag.dags.values()], dict(bag.import_errors)


def static_summaries(path: Path | str) -> list[dict]:
    return [d.summary() for d in parse_file(path).dags]


def graph_of(summary: dict) -> tuple[dict, set]:
    return {t["task_id"]: t["operator"] for t in summary["tasks"]}, {
        tuple(e) for e in summary["edges"]
    }


@pytest.fixture
def parse():
    """Parse a source string statically; returns the FileResult."""

    def _parse(source: str, path: str = "dag_under_test.py"):
        return parse_source(source, path)

    return _parse


@pytest.fixture(autouse=True)
def _fresh_boto3_session():
    """boto3's default session caches the credentials it first found: a test that sets its own
    (moto's "testing", a bridge serve token) must not leave them to the next test in the worker."""
    yield
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None


@pytest.fixture
def mocked_aws(monkeypatch):
    """moto for every AWS endpoint, in us-east-1 with fake credentials, and a fresh boto3
    session so that no client outlives its mock (the emitted AWS handlers run against it)."""
    import boto3
    import moto

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    boto3.DEFAULT_SESSION = None
    with moto.mock_aws():
        yield
    boto3.DEFAULT_SESSION = None
