"""A BashOperator's `output_processor`, and the commands inside `$( ... )`, on a DAG nobody here
wrote: Airflow's own example_bash_operator. Its `describe_dag_folder` prints a JSON line that
`output_processor=json.loads` turns into a dict, whose keys a later task pulls; it counts files
under `$AIRFLOW_HOME/dags` inside a command substitution, which a SageMaker job does not have."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import airflow.providers.standard.example_dags as examples

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import SUCCEEDED
from bridge.translate.files.bash_paths import bash_files
from bridge.translate.files.model import Folder
from translators.registry import Registry

EXAMPLE = Path(examples.__path__[0]) / "example_bash_operator.py"


def _translate(path: Path, out: Path):
    (dag,) = translate_file(path, Registry.default(), BridgeConfig(), out).dags
    assert validate_folders([dag.folder])[str(dag.folder.resolve())]["ok"]
    return dag.folder


def test_json_output_processor_is_applied_and_the_substitution_read_is_a_difference(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    folder = _translate(tmp_path / EXAMPLE.name, tmp_path / "out")
    tasks = json.loads((folder / "manifest.json").read_text())["tasks"]
    describe = tasks["describe_dag_folder"]
    assert describe["fidelity"] == "approximate"
    assert any("$AIRFLOW_HOME/dags" in d for d in describe["differences"])
    record = run_local(folder, RunOptions(run_root=tmp_path / "runs"))
    assert record.status == SUCCEEDED, record.message
    xcom = record.steps["describe_dag_folder"].property_files["xcom"]
    assert isinstance(xcom["return_value"], dict)
    assert xcom["dag_folder"] == xcom["return_value"]["dag_folder"]
    assert record.steps["show_dag_folder_stats"].status == SUCCEEDED


def test_another_output_processor_is_a_difference(tmp_path):
    path = tmp_path / "upper.py"
    path.write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.providers.standard.operators.bash import BashOperator
            from airflow.sdk import DAG

            with DAG("upper", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
                BashOperator(task_id="shout", bash_command="echo hi", output_processor=str.upper)
            """
        )
    )
    folder = _translate(path, tmp_path / "out")
    shout = json.loads((folder / "manifest.json").read_text())["tasks"]["shout"]
    assert shout["fidelity"] == "approximate"
    assert any("output_processor=str.upper" in d for d in shout["differences"])


def test_commands_inside_a_substitution_are_read_with_the_variables_so_far():
    found = bash_files('d="$DATA/in"; n=$(cat "$d/rows.csv" | wc -l); echo $(ls /srv/x)', 7)
    reads = {(a.folder, a.path) for a in found.accesses if a.mode == "read"}
    assert (Folder(kind="env", key="DATA"), "$DATA/in/rows.csv") in reads
    assert any(folder == Folder(kind="path", key="/srv/x") for folder, _ in reads)
