"""The CLI's output formats: the JSON contract later stages read, and the pictures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from tests.conftest import SAMPLE_DAGS

runner = CliRunner()

GROUPED = """
from airflow.sdk import DAG, TaskGroup, Label
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("pics", schedule="@daily", tags=["b", "a"], default_args={"retries": 1}, params={"k": 1}):
    s = EmptyOperator(task_id="start")
    with TaskGroup("grp") as g:
        EmptyOperator(task_id="inner")
    s >> Label("go") >> g
"""


@pytest.fixture
def grouped(tmp_path):
    path = tmp_path / "pics.py"
    path.write_text(GROUPED)
    return path


def test_json_contract(grouped):
    result = runner.invoke(app, ["graph", str(grouped), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    (f,) = data["files"]
    assert set(f) == {"path", "dags", "diagnostics"}
    (dag,) = f["dags"]
    assert {"dag_id", "schedule", "params", "tags", "default_args", "tasks", "edges"} <= set(dag)
    assert dag["schedule"] == "@daily" and dag["tags"] == ["a", "b"]
    assert dag["default_args"] == {"retries": 1} and dag["params"] == {"k": {"default": 1}}
    task = dag["tasks"][1]
    assert set(task) == {
        "task_id",
        "operator",
        "group",
        "line",
        "trigger_rule",
        "retries",
        "mapped",
    }
    assert task == {
        "task_id": "grp.inner",
        "operator": "airflow.providers.standard.operators.empty.EmptyOperator",
        "group": "grp",
        "line": 7,
        "trigger_rule": "all_success",
        "retries": 1,
        "mapped": False,
    }
    assert dag["edges"] == [["start", "grp.inner"]]
    assert dag["edge_labels"] == [["start", "grp.inner", "go"]]


def test_mermaid_and_dot_draw_groups(grouped):
    mermaid = runner.invoke(app, ["graph", str(grouped), "--format", "mermaid"]).stdout
    assert mermaid.startswith("%% DAG pics\nflowchart LR")
    assert 'subgraph t_g_grp["grp"]' in mermaid and 't_start -->|"go"| t_grp_inner' in mermaid
    dot = runner.invoke(app, ["graph", str(grouped), "--format", "dot"]).stdout
    assert 'subgraph "cluster_grp"' in dot and '"start" -> "grp.inner" [label="go"];' in dot


def test_text_lists_tasks_in_order(grouped):
    out = runner.invoke(app, ["graph", str(grouped)]).stdout
    assert "DAG pics  (2 tasks, 1 edges" in out
    assert out.index("start  EmptyOperator") < out.index(
        "grp.inner  EmptyOperator  (line 7)  <- start"
    )


@pytest.mark.airflow
def test_live_mode_reports_agreement_and_differences(grouped, tmp_path):
    ok = runner.invoke(app, ["graph", str(grouped), "--live", "--format", "json"])
    assert ok.exit_code == 0, ok.stdout
    live = json.loads(ok.stdout)["files"][0]["live"]
    assert live == {"error": None, "differences": []}
    # A runtime-only dependency: invisible statically, so live mode must name it.
    runtime = tmp_path / "runtime.py"
    runtime.write_text(
        GROUPED
        + "import os\nwith DAG('runtime'):\n    for i in range(os.getpid() % 1 + 2):\n        EmptyOperator(task_id=f'late_{i}')\n"
    )
    diff = runner.invoke(app, ["graph", str(runtime), "--live"])
    assert diff.exit_code == 1
    assert "live: runtime: task `late_0` only in DagBag graph" in diff.stdout
    assert "BRG105" in diff.stdout


def test_help_does_not_import_airflow_or_sagemaker():
    code = "import sys; from bridge.cli import app; print(any(m.split('.')[0] in ('airflow', 'sagemaker', 'libcst') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_sample_dags_parse_cleanly():
    result = runner.invoke(app, ["graph", str(SAMPLE_DAGS), "--format", "json"])
    assert result.exit_code == 0, result.stdout
    files = json.loads(result.stdout)["files"]
    dags = [d for f in files for d in f["dags"]]
    assert len(dags) >= 5


def test_progress_bar_only_for_terminals():
    from bridge.cli import GraphFormat, show_progress

    assert show_progress(GraphFormat.text, 3, stdout_tty=True, stderr_tty=True)
    assert not show_progress(GraphFormat.json, 3, stdout_tty=True, stderr_tty=True)
    assert not show_progress(GraphFormat.text, 3, stdout_tty=False, stderr_tty=True)
    assert not show_progress(GraphFormat.text, 1, stdout_tty=True, stderr_tty=True)


def test_live_without_airflow_says_so(grouped, tmp_path):
    """An interpreter without Airflow: live mode reports it instead of failing."""
    import os

    from bridge.parse.live import load_live

    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    os.environ["PYTHONPATH"] = str(SAMPLE_DAGS.parent)
    try:
        result = load_live([str(grouped)], python=str(venv / "bin" / "python"))
    finally:
        del os.environ["PYTHONPATH"]
    assert result.error is not None and "Airflow is not importable" in result.error


def test_console_script_exit_codes(grouped, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    exe = [sys.executable, "-m", "bridge.cli", "graph"]
    assert subprocess.run([*exe, str(grouped)], capture_output=True).returncode == 0
    done = subprocess.run([*exe, str(bad), str(grouped)], capture_output=True, text=True)
    assert done.returncode == 1 and "BRG100" in done.stdout and "DAG pics" in done.stdout
    assert subprocess.run([*exe, str(tmp_path / "missing.py")], capture_output=True).returncode == 2


@pytest.mark.airflow
def test_live_timeout_is_reported(grouped):
    from bridge.parse.live import load_live

    result = load_live([str(grouped)], timeout=0.05)
    assert result.error == "DagBag did not finish within 0.05 s" and result.files == {}


def test_full_json_carries_the_dag_model(grouped, tmp_path):
    dag_file = tmp_path / "full.py"
    dag_file.write_text(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.python import PythonOperator\n"
        "def train(lr):\n    return lr\n\n"
        "with DAG('full'):\n    PythonOperator(task_id='t', python_callable=train, op_kwargs={'lr': 0.1})\n"
    )
    out = runner.invoke(app, ["graph", str(dag_file), "--format", "json", "--full"])
    task = json.loads(out.stdout)["files"][0]["dags"][0]["tasks"][0]
    assert task["callable"] == {"name": "train", "line": 3, "end_line": 4, "defined_in_file": True}
    assert task["kwargs"]["op_kwargs"] == {"kind": "literal", "value": {"lr": 0.1}}
    assert task["kwargs"]["python_callable"] == {"kind": "callable", "source": "train"}


def test_refusals_cannot_write_terminal_escapes(tmp_path):
    """A task id from the command line or a DAG file reaches stderr escaped, on one line."""
    dag = tmp_path / "dag.py"
    dag.write_text(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import "
        "EmptyOperator\nwith DAG(dag_id='d', schedule=None):\n    EmptyOperator(task_id='a')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "cutover", str(dag), "--tasks", "\x1b[31mx\ny"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\\x1b" in done.stderr
    assert dag.read_text().endswith("task_id='a')\n"), "the refused file is untouched"
