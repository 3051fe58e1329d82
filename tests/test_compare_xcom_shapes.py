"""`bridge compare` compares what a downstream task receives: under real `dag.test()` a task
returning JSON *text* hands its consumer a str, `"1"` stays text, and `1.0` arrives as `1`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.compare.checks import values_equal
from bridge.compare.side_by_side import CompareOptions, compare_dags
from bridge.run.record import RunRecord

DAG = Path(__file__).parent / "dags" / "xcom_shapes.py"
pytestmark = [pytest.mark.slow, pytest.mark.airflow]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("out")
    options = CompareOptions(out=out, logical_date="2026-01-05T00:00:00+00:00")
    [result] = compare_dags([DAG], options)
    return result


def test_every_shape_agrees_but_the_float_airflow_hands_on_as_an_int(comparison):
    """Measured under Airflow 3.3: `return 1.0` reaches the consumer's `xcom_pull` as the int 1,
    while the pipeline hands on the float. Only the consumer's view shows it, and compare must
    say so; the producer's value is the same number on both sides."""
    verdicts = {t["task_id"]: t for t in comparison["tasks"]}
    assert set(verdicts) == {"json_text", "a_dict", "a_list", "number_text", "a_float", "received"}
    for task_id in ("json_text", "a_dict", "a_list", "number_text", "a_float"):
        assert verdicts[task_id]["verdict"] == "agree", verdicts[task_id]
    failed = [c["detail"] for c in verdicts["received"]["checks"] if not c["ok"]]
    assert failed and all("a_float" in detail for detail in failed), failed
    assert all('Airflow "int" / pipeline "float"' in detail for detail in failed)
    assert comparison["verdict"] == "different"


def test_airflow_side_holds_what_the_consumer_received(comparison):
    """The oracle: the consumer itself reports the types `xcom_pull` gave it in Airflow."""
    airflow = RunRecord.read(Path(comparison["runs"]["airflow"]["folder"]))
    steps = airflow.steps
    assert steps["received"].outputs["return_value"] == {
        "json_text": "str",
        "a_dict": "dict",
        "a_list": "list",
        "number_text": "str",
        "a_float": "int",
    }
    text = steps["json_text"].outputs["return_value"]
    assert isinstance(text, str) and json.loads(text) == {"rows": 3, "columns": ["a", "b"]}
    assert steps["number_text"].outputs["return_value"] == "1"
    assert steps["a_float"].outputs["return_value"] == 1


def test_shapes_that_a_consumer_would_see_differently_differ():
    text = json.dumps({"rows": 3})
    assert not values_equal(text, {"rows": 3}, 1e-9)[0], "JSON text is not the object"
    assert not values_equal("1", 1, 1e-9)[0], "a number written as text is text"
    assert not values_equal([1, 2], {"0": 1, "1": 2}, 1e-9)[0]
    # Numbers compare by value within the tolerance: 1.0 and 1 are the same number.
    assert values_equal(1.0, 1, 1e-9)[0]
    assert values_equal(text, json.dumps({"rows": 3}), 1e-9)[0]
