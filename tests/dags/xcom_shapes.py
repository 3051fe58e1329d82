"""Return values of every JSON shape, and a consumer that records what `xcom_pull` handed it.

Under Airflow 3.3 a task returning `json.dumps(...)` gives its consumer that *string*, not the
decoded object; `"1"` stays text; `1.0` arrives as the int 1 (measured). `bridge compare` compares what the
consumer receives on each side (tests/test_first_contact.py).
"""

from __future__ import annotations

import json

import pendulum
from airflow.sdk import dag, task


@dag(dag_id="xcom_shapes", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
def xcom_shapes():
    @task
    def json_text() -> str:
        return json.dumps({"rows": 3, "columns": ["a", "b"]})

    @task
    def a_dict() -> dict:
        return {"rows": 3, "columns": ["a", "b"]}

    @task
    def a_list() -> list:
        return [1, "two", 3.5]

    @task
    def number_text() -> str:
        return "1"

    @task
    def a_float() -> float:
        return 1.0

    @task
    def received(text, mapping, items, digits, number) -> dict:
        return {
            "json_text": type(text).__name__,
            "a_dict": type(mapping).__name__,
            "a_list": type(items).__name__,
            "number_text": type(digits).__name__,
            "a_float": type(number).__name__,
        }

    received(json_text(), a_dict(), a_list(), number_text(), a_float())


xcom_shapes()
