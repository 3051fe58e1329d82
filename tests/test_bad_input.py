"""Bad input gets a coded diagnostic with a line, never a traceback; nothing runs from the file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bridge.cli import app
from bridge.diagnostics import CODES

runner = CliRunner()


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


def test_syntax_error(parse):
    result = parse("from airflow import DAG\nwith DAG('x') as d\n    pass\n")
    assert codes(result) == ["BRG100"]
    assert result.diagnostics[0].line == 2
    assert result.has_errors


def test_empty_file_and_no_dag(parse):
    assert codes(parse("")) == ["BRG102"]
    assert codes(parse("import os\nX = 1\n")) == ["BRG102"]
    assert not parse("").has_errors


def test_binary_and_non_utf8(tmp_path):
    from bridge.parse.dag_file import parse_file

    (tmp_path / "bin.py").write_bytes(b"\x00\x01\x02")
    (tmp_path / "latin.py").write_bytes("x = 'caf\xe9'".encode("latin-1"))
    assert codes(parse_file(tmp_path / "bin.py")) == ["BRG101"]
    assert codes(parse_file(tmp_path / "latin.py")) == ["BRG101"]


def test_unknown_task_id_is_kept_and_reported(parse):
    result = parse(
        "import os\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d'):\n    a = EmptyOperator(task_id=os.environ['X'])\n    b = EmptyOperator(task_id='b')\n    a >> b\n"
    )
    (dag,) = result.dags
    assert "BRG103" in codes(result)
    assert dag.tasks["os.environ['X']"].task_id_static is False
    assert dag.edge_pairs() == [["os.environ['X']", "b"]]
    assert next(d for d in result.diagnostics if d.code == "BRG103").line == 5


def test_unknown_loop_and_dependency_never_invent_edges(parse):
    result = parse(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "from mylib import tables, other\n"
        "with DAG('d'):\n"
        "    a = EmptyOperator(task_id='a')\n"
        "    for t in tables():\n        EmptyOperator(task_id=t)\n"
        "    a >> other\n"
    )
    (dag,) = result.dags
    assert list(dag.tasks) == ["a"] and dag.edges == []
    assert {"BRG105", "BRG104"} <= set(codes(result))
    assert {d.code: d.line for d in result.diagnostics}["BRG105"] == 6


def test_unknown_condition_and_helper(parse):
    result = parse(
        "import os\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "from company.factories import add_quality_checks\n"
        "with DAG('d') as dag:\n"
        "    if os.environ.get('PROD'):\n        EmptyOperator(task_id='prod_only')\n"
        "    add_quality_checks(dag)\n"
    )
    assert {"BRG106", "BRG113"} <= set(codes(result))
    assert list(result.dags[0].tasks) == ["prod_only"]


def test_duplicate_task_id(parse):
    result = parse(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d'):\n    EmptyOperator(task_id='a')\n    EmptyOperator(task_id='a')\n"
    )
    assert "BRG107" in codes(result) and result.has_errors


def test_task_outside_dag(parse):
    result = parse(
        "from airflow.providers.standard.operators.empty import EmptyOperator\nEmptyOperator(task_id='lonely')\n"
    )
    assert "BRG108" in codes(result)


def test_huge_loop_stops_with_diagnostic(parse, monkeypatch):
    import bridge.parse.interpreter

    monkeypatch.setattr(
        bridge.parse.interpreter, "MAX_STEPS", 20_000
    )  # the mechanism, not the default budget
    result = parse(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d'):\n    EmptyOperator(task_id='kept')\n    x = 0\n    for i in range(900000):\n        x += 1\n"
    )
    assert "BRG111" in codes(result)
    assert list(result.dags[0].tasks) == ["kept"]  # what was built before the limit is kept


def test_every_code_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md").read_text()
    for code in CODES:
        assert f"## {code}" in doc, f"{code} missing from docs/diagnostics.md"


def test_parsing_never_executes_the_file(tmp_path):
    marker = tmp_path / "executed.txt"
    dag_file = tmp_path / "evil_dag.py"
    dag_file.write_text(
        "import os, subprocess\n"
        f"os.system('touch {marker}')\n"
        f"open({str(marker)!r}, 'w').write('x')\n"
        f"subprocess.run(['touch', {str(marker)!r}])\n"
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('evil'):\n    EmptyOperator(task_id='t')\n"
    )
    result = runner.invoke(app, ["graph", str(dag_file), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["files"][0]["dags"][0]["dag_id"] == "evil"
    assert not marker.exists()


def test_folder_run_goes_on_past_bad_files(tmp_path):
    (tmp_path / "a_broken.py").write_text("def (:\n")
    (tmp_path / "b_binary.py").write_bytes(b"\x00\xff")
    sub = tmp_path / "nested"
    sub.mkdir()
    (sub / "c_good.py").write_text(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('good'):\n    EmptyOperator(task_id='t')\n"
    )
    result = runner.invoke(app, ["graph", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    files = json.loads(result.stdout)["files"]
    assert [f["path"].rsplit("/", 1)[-1] for f in files] == [
        "a_broken.py",
        "b_binary.py",
        "c_good.py",
    ]
    assert files[0]["diagnostics"][0]["code"] == "BRG100"
    assert files[1]["diagnostics"][0]["code"] == "BRG101"
    assert files[2]["dags"][0]["dag_id"] == "good"


def test_usage_error_exit_code(tmp_path):
    assert runner.invoke(app, ["graph", str(tmp_path / "missing.py")]).exit_code == 2
    assert runner.invoke(app, ["graph", "--format", "yaml", str(tmp_path)]).exit_code == 2


def test_module_level_raise_under_unknown_condition_keeps_the_dag(parse):
    result = parse(
        "import os\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "if not os.environ.get('CONN'):\n    raise RuntimeError('set CONN')\n"
        "with DAG('d'):\n    EmptyOperator(task_id='t')\n"
    )
    assert [d.dag_id for d in result.dags] == ["d"]
    assert {"BRG106", "BRG110"} <= set(codes(result))


def test_factory_with_unknown_arguments_keeps_each_task(parse):
    result = parse(
        "import os\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "def make(name):\n    return EmptyOperator(task_id=f'load-{name}')\n"
        "with DAG('d'):\n    a = make(os.environ['A'])\n    b = make(os.environ['B'])\n    a >> b\n"
    )
    (dag,) = result.dags
    assert list(dag.tasks) == ["f'load-{name}'", "f'load-{name}'#2"]
    assert dag.edge_pairs() == [["f'load-{name}'", "f'load-{name}'#2"]]
    assert "BRG107" not in codes(result) and not result.has_errors


def test_starred_unknown_in_a_literal_makes_the_loop_unknown(parse):
    result = parse(
        "import os\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "N = int(os.environ['N'])\nwith DAG('d'):\n    for i in [*range(N)]:\n        EmptyOperator(task_id=f't_{i}')\n"
    )
    assert "BRG105" in codes(result) and result.dags[0].tasks == {}


def test_removed_airflow3_apis_are_named(parse):
    result = parse(
        "from airflow import DAG\nfrom airflow.operators.python_operator import PythonOperator\n"
        "from airflow.utils.dates import days_ago\nimport airflow.contrib.operators.ssh_operator\n"
        "dag = DAG('d', schedule_interval='@daily', start_date=days_ago(1))\n"
        "PythonOperator(task_id='t', python_callable=print, provide_context=True, dag=dag)\n"
    )
    notes = {d.line: d.message for d in result.diagnostics if d.code == "BRG114"}
    assert notes[2] == (
        "`airflow.operators.python_operator.PythonOperator` was removed in Airflow 3; "
        "use `airflow.providers.standard.operators.python.PythonOperator`"
    )
    assert "fixed `start_date`" in notes[3]
    assert "airflow.contrib.operators.ssh_operator" in notes[4]
    assert notes[5] == "`schedule_interval=` was removed in Airflow 3; use `schedule=`"
    assert "provide_context" in notes[6]
    assert not result.has_errors  # info only: the file still parses


def test_airflow3_imports_get_no_removal_note(parse):
    result = parse(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.python import PythonOperator\n"
        "with DAG('d', schedule='@daily'):\n    PythonOperator(task_id='t', python_callable=print)\n"
    )
    assert "BRG114" not in codes(result)


def test_fast_parse_keeps_a_faithful_tree():
    """The parse skips libcst's node validation; the tree must still reproduce the file exactly."""
    import libcst as cst
    from libcst._nodes.base import CSTNode

    from bridge.parse.dag_file import _parse_module
    from tests.conftest import SAMPLE_DAGS

    before = CSTNode.__post_init__
    for path in sorted(SAMPLE_DAGS.glob("*.py")):
        source = path.read_text()
        assert _parse_module(source).code == source
        assert _parse_module(source).deep_equals(cst.parse_module(source))
    assert CSTNode.__post_init__ is before  # validation is back for everyone else
