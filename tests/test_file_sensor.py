"""FileSensor waits on a declared input (issue 15, item 5): the watched path is a file the step
reads, so the data-flow wiring connects it to the task that writes it, and `bridge run` (jobs
isolated as on SageMaker) finds it there; a file no task writes is never seen by the job, and the
report says so."""

from __future__ import annotations

import json
import textwrap

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import FAILED, SUCCEEDED
from translators.registry import Registry

DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
with DAG("file_wait"):
    make = BashOperator(task_id="make", bash_command="mkdir -p {folder} && echo 1 > {folder}/in_{{{{ ds }}}}.csv")
    wait = FileSensor(task_id="wait", filepath="{folder}/in_{{{{ ds }}}}.csv", poke_interval=1, timeout=3)
    lost = FileSensor(task_id="lost", filepath="{folder}_landing/elsewhere.csv", poke_interval=1, timeout=3)
    make >> wait >> lost
"""


def _translate(tmp_path):
    folder = tmp_path / "bridge_file_wait"
    path = tmp_path / "file_wait.py"
    path.write_text(textwrap.dedent(DAG.format(folder=folder)))
    (dag,) = translate_file(path, Registry.default(), BridgeConfig(), tmp_path / "out").dags
    verdicts = validate_folders([dag.folder])
    assert all(v["ok"] for v in verdicts.values()), verdicts
    return dag, folder


def test_the_sensor_reads_the_producers_output_and_an_unwritten_path_is_named(tmp_path):
    dag, folder = _translate(tmp_path)
    manifest = json.loads((dag.folder / "manifest.json").read_text())
    tasks = manifest["tasks"]
    assert tasks["wait"]["fidelity"] == "approximate"
    assert not any("no task" in d for d in tasks["wait"]["differences"])
    lost = " ".join(tasks["lost"]["differences"])
    assert f"{folder}_landing/elsewhere.csv" in lost and "no task of the DAG writes" in lost
    definition = json.loads((dag.folder / "definition.json").read_text())
    steps = {s["Name"]: s for s in definition["Steps"]}
    inputs = steps["wait"]["Arguments"]["ProcessingInputs"]
    sources = json.dumps([i["S3Input"]["S3Uri"] for i in inputs])
    assert "make" in sources  # the producer's folder output is the sensor's input

    record = run_local(
        dag.folder, RunOptions(parameters={"ds": "2024-01-02"}, run_root=tmp_path / "runs")
    )
    assert record.steps["make"].status == SUCCEEDED, record.steps["make"].reason
    assert record.steps["wait"].status == SUCCEEDED, record.steps["wait"].reason
    # The job never sees a file nobody declared: the poll times out, as the task would on a
    # worker where the file never lands.
    assert record.steps["lost"].status == FAILED
    assert "elsewhere.csv" in record.steps["lost"].reason
    assert record.status == FAILED
