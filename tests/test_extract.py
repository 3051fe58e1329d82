"""Callable extraction (issue 3, in progress): the extracted module runs alone and gives the same result."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from bridge.parse.dag_file import parse_file
from bridge.translate.extract import ExtractError, extract_callable
from tests.conftest import SAMPLE_DAGS

SOURCE = textwrap.dedent("""
    import json, math, statistics as st
    from pathlib import Path
    from airflow.sdk import DAG, task, Variable
    from airflow.providers.standard.operators.python import PythonOperator
    from mylib import helper_from_elsewhere

    DATA_DIR = Path(__file__).parent / "data"
    SCALE = 2.5
    UNUSED = 1

    def _mean(xs):
        return st.mean(xs) * SCALE

    class Model:
        def __init__(self, w):
            self.w = w

    def train(rows, lr=0.1):
        m = Model(_mean(rows))
        return {"w": m.w, "sqrt": math.sqrt(lr), "dir": str(DATA_DIR.name)}

    with DAG("d") as dag:
        @task
        def inner(x):
            return json.dumps(x) + Variable.get("k") + missing_name
        PythonOperator(task_id="t", python_callable=train, op_kwargs={"rows": [1, 2, 3]})
""")


def run_extracted(code: str, call: str, tmp_path) -> object:
    script = tmp_path / "step.py"
    script.write_text(code + f"\nimport json as _j\nprint(_j.dumps({call}))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_extracted_function_runs_alone(tmp_path):
    e = extract_callable(SOURCE, "train")
    assert "DAG" not in e.code and "PythonOperator" not in e.code and "UNUSED" not in e.code
    assert "from airflow" not in e.code and "mylib" not in e.code
    assert e.airflow_names == [] and e.unresolved == [] and e.uses_file_path
    assert run_extracted(e.code, "train([1, 2, 3])", tmp_path) == {
        "w": 5.0,
        "sqrt": 0.1**0.5,
        "dir": "data",
    }


def test_taskflow_function_loses_its_decorator_and_reports_airflow_use():
    e = extract_callable(SOURCE, "inner")
    assert "@task" not in e.code and "import json" in e.code
    assert e.airflow_names == ["Variable"] and e.unresolved == ["missing_name"]
    assert "from airflow.sdk import Variable" in e.code  # pruned to what it uses


def test_the_modules_future_imports_come_first_and_once():
    source = (
        '"""A DAG."""\n# the team\'s style\nfrom __future__ import annotations, division\n'
        "import json\n\n\ndef f(x: dict | None = None) -> str:\n    return json.dumps(x)\n"
    )
    code = extract_callable(source, "f").code
    assert code.startswith("from __future__ import annotations, division\nimport json\n")
    assert code.count("__future__") == 1 and "the team" not in code
    assert "__future__" not in extract_callable(SOURCE, "train").code  # none in the file


def test_unknown_function():
    with pytest.raises(ExtractError):
        extract_callable(SOURCE, "nope")


@pytest.mark.parametrize(
    "name", ["ml_taskflow_pipeline.py", "ml_classic_operators.py", "dynamic_feature_pipeline.py"]
)
def test_every_sample_callable_extracts_to_valid_python(name):
    path = SAMPLE_DAGS / name
    source = path.read_text()
    (dag,) = parse_file(path).dags
    callables = [
        t.callable for t in dag.tasks.values() if t.callable and t.callable.defined_in_file
    ]
    assert callables
    for ref in callables:
        e = extract_callable(source, ref.name, ref.line)
        compile(e.code, f"{ref.name}.py", "exec")
        assert "with DAG" not in e.code and "@task" not in e.code and e.unresolved == [], (
            ref.name,
            e.unresolved,
        )
