"""A small legacy DAG the provider tests translate, serve, and run through the operator.

`sleep` makes the second step slow (for stop, re-attach and progress tests); `fail` makes it
fail; `flaky` names a marker file: the first attempt creates it and fails, later ones pass.
"""

import time
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def make_rows(params=None):
    return {"rows": 3, "label": params["label"]}


def work(params=None, ti=None):
    time.sleep(float(params["sleep"]))
    rows = ti.xcom_pull(task_ids="make_rows")
    if params["fail"]:
        raise ValueError("asked to fail")
    if params["flaky"] and not Path(params["flaky"]).exists():
        Path(params["flaky"]).write_text("failed once")
        raise RuntimeError("flaky: first attempt fails")
    ti.xcom_push(key="note", value=f"worked on {rows['label']}")
    return {"total": rows["rows"] * 2}


with DAG(
    "provider_source",
    params={"label": "a", "sleep": 0, "fail": False, "flaky": ""},
    schedule=None,
) as dag:
    rows = PythonOperator(task_id="make_rows", python_callable=make_rows)
    done = PythonOperator(task_id="work", python_callable=work)
    rows >> done
