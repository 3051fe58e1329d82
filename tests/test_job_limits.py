"""SageMaker starts a processing job only within CreateProcessingJob's limits: every literal job
argument at most 256 characters, at most 10 inputs and 10 outputs. A long literal call is sent in
pieces the step runtime joins; validation refuses a definition past the limits."""

from __future__ import annotations

import json
import textwrap

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import job_limit_problems, validate_folders
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import SUCCEEDED
from bridge.translate.job_limits import MAX_ARGUMENT
from translators.registry import Registry

LONG = "x" * 700  # one op_kwarg longer than two job arguments

DAG = textwrap.dedent(
    f'''
    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG


    def measure(text, words):
        return {{"length": len(text), "words": len(words)}}


    with DAG("long_call", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
        PythonOperator(
            task_id="measure",
            python_callable=measure,
            op_kwargs={{"text": "{LONG}", "words": {["w"] * 80!r}}},
        )
    '''
)


def test_a_long_literal_call_fits_the_job_arguments_and_arrives_whole(tmp_path):
    path = tmp_path / "long_call.py"
    path.write_text(DAG)
    (dag,) = translate_file(path, Registry.default(), BridgeConfig(), tmp_path / "out").dags
    verdict = validate_folders([dag.folder])[str(dag.folder.resolve())]
    assert verdict["ok"], verdict
    definition = json.loads((dag.folder / "definition.json").read_text())
    (step,) = [s for s in definition["Steps"] if s["Name"] == "measure"]
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert all(len(a) <= MAX_ARGUMENT for a in arguments if isinstance(a, str))
    # The literal too long for one argument is the step script's own (its static call).
    assert (
        LONG not in json.dumps(arguments) and LONG in (dag.folder / "steps/measure.py").read_text()
    )
    record = run_local(dag.folder, RunOptions(run_root=tmp_path / "runs"))
    assert record.status == SUCCEEDED, record.message
    xcom = record.steps["measure"].property_files["xcom"]
    assert xcom["return_value"] == {"length": len(LONG), "words": 80}


def test_validation_refuses_a_job_past_the_limits():
    step = {
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ContainerArguments": ["--call", "y" * (MAX_ARGUMENT + 1)]},
            "ProcessingInputs": [{"InputName": f"in{i}"} for i in range(11)],
        },
    }
    problems = job_limit_problems({"big": step, "fine": {"Type": "Processing", "Arguments": {}}})
    assert len(problems) == 2
    assert all(p.startswith("step `big`") for p in problems)
    assert "257 characters" in problems[0]
    assert "11 job inputs" in problems[1]
