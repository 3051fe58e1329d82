"""Every DAG shipped with the installed Airflow packages translates, and every output validates.

Prints the coverage figure (tasks exact / approximate / manual) and holds it against
tests/coverage_floor.json so it never goes down: raise the floor when coverage improves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.translate.coverage import coverage_table
from tests.conftest import airflow_example_files
from translators.registry import Registry

FLOOR = Path(__file__).parent / "coverage_floor.json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus-out")
    registry = Registry.default()
    outcomes = [translate_file(p, registry, BridgeConfig(), out) for p in airflow_example_files()]
    folders = [d.folder for o in outcomes for d in o.dags if d.folder is not None]
    return outcomes, validate_folders(folders)


def test_every_example_dag_translates_and_validates(corpus):
    outcomes, verdicts = corpus
    dags = [d for o in outcomes for d in o.dags]
    assert len(dags) >= 110
    assert all(d.folder is not None for d in dags), [d.dag_id for d in dags if d.folder is None]
    bad = {f: v["problems"] for f, v in verdicts.items() if not v["ok"]}
    assert bad == {}


def test_coverage_figure_does_not_go_down(corpus):
    outcomes, _ = corpus
    total = coverage_table(outcomes)[-1]
    print(
        f"\nexample corpus coverage: {total['tasks']} tasks, {total['exact']} exact, "
        f"{total['approximate']} approximate, {total['manual']} manual"
    )
    floor = json.loads(FLOOR.read_text())
    assert total["tasks"] == floor["tasks"]
    assert total["exact"] >= floor["exact"]
    assert total["manual"] <= floor["manual"]
