"""The emitted code as a team keeps it (issue 16): short pipeline.py from a template, named step
arguments, bash commands in steps/<task>.sh, loops kept, steps in the DAG's order, Studio's
display names, caching and the scheduler role. Oracles where there is one: a loop builds the
same definition as the steps written one by one; a bash script renders as Airflow renders the
command; moto's EventBridge Scheduler records the role the schedule was given."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.emit import step_tables
from bridge.run import step_runtime
from bridge.run.pipeline_module import import_pipeline

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_emitted_code import loop_dag  # noqa: E402

HEAD = textwrap.dedent("""
    import pendulum
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    """)
START = 'start_date=pendulum.datetime(2024, 1, 1, tz="UTC")'

TRAIN_DAG = HEAD + textwrap.dedent(f'''
    def train(learning_rate, epochs, params=None):
        """Fit the model."""
        return {{"lr": learning_rate, "epochs": epochs, "name": params["model_name"]}}


    with DAG("named_args", schedule="@daily", {START},
             params={{"model_name": "churn", "unused": 3, "epochs": 5}}):
        fit = PythonOperator(
            task_id="fit", python_callable=train, doc_md="Fit the churn model.\\n\\nMore.",
            op_kwargs={{"learning_rate": 0.5, "epochs": "{{{{ params.epochs }}}}"}},
        )
        report = BashOperator(
            task_id="report",
            bash_command='echo "model {{{{ params.model_name }}}} on {{{{ ds }}}}: '
                         '{{{{ ti.xcom_pull(task_ids=\\'fit\\')[\\'lr\\'] }}}}"',
        )
        fit >> report
    ''')


def translate(tmp_path: Path, name: str, source: str, *options: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    dag_file = tmp_path / f"{name}.py"
    dag_file.write_text(source)
    out = tmp_path / "out"
    result = runner.invoke(app, ["translate", str(dag_file), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in out.iterdir() if (p / "pipeline.py").is_file()]
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return translate(tmp_path_factory.mktemp("named"), "named_args", TRAIN_DAG)


def steps_of(folder: Path) -> dict[str, dict]:
    return {s["Name"]: s for s in json.loads((folder / "definition.json").read_text())["Steps"]}


def test_a_step_passes_named_arguments_only_for_what_its_callable_uses(trained):
    pipeline_py = (trained / "pipeline.py").read_text()
    fit = re.search(r"fit = jobs\.script_step\(.*?\n    \)\n", pipeline_py, re.S).group(0)
    assert '"--learning-rate": 0.5' in fit and '"--epochs": param_epochs.to_string()' in fit
    assert '"--param-model-name": param_model_name' in fit
    assert "unused" not in fit and "--call" not in fit  # params the code never reads stay out
    arguments = steps_of(trained)["fit"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments[:2] == ["--learning-rate", "0.5"]
    script = (trained / "steps/fit.py").read_text()
    assert '"--learning-rate": (["op_kwargs", "learning_rate"], "json")' in script
    assert '"--param-model-name": (["params", "model_name"], "str")' in script


def test_the_run_gives_the_callable_its_values(trained, tmp_path):
    result = runner.invoke(app, ["run", str(trained)])
    assert result.exit_code == 0, result.output
    (record,) = (trained / "runs").glob("*/run.json")
    steps = json.loads(record.read_text())["steps"]
    assert steps["fit"]["property_files"]["xcom"]["return_value"] == {
        "lr": 0.5,
        "epochs": "5",  # a templated op_kwarg is text in Airflow too
        "name": "churn",
    }
    assert steps["report"]["property_files"]["xcom"]["return_value"].startswith("model churn on ")


def test_a_bash_command_is_its_script_with_the_templated_values_named(trained):
    script = (trained / "steps/report.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash\n")
    assert script.rstrip().endswith('echo "model ${param_model_name} on ${ds}: ${fit_lr}"')
    arguments = steps_of(trained)["report"]["Arguments"]
    assert arguments["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/runtime/_bridge_runtime.py",
        "/opt/ml/processing/input/code/report.sh",
    ]


def test_the_runtime_pastes_values_in_as_airflow_renders_the_command(tmp_path, monkeypatch):
    """Airflow renders the template, then bash reads the text: quotes and `$` inside a value
    are bash syntax there, so the runtime pastes the value in, never exports it."""
    value = 'a b\' "$HOME" ; echo injected'
    script = tmp_path / "t.sh"
    script.write_text('#!/usr/bin/env bash\necho "v=${param_v}"\n')
    out = tmp_path / "xcom"
    monkeypatch.setattr(step_runtime, "OUTPUT_DIR", out)
    step_runtime.run_bash_file(str(script), ["--param-v", value])
    rendered = 'echo "v=' + value + '"'  # what Airflow would run
    expected = subprocess.run(["bash", "-c", rendered], capture_output=True, text=True).stdout
    xcom = json.loads((out / "xcom.json").read_text())
    assert xcom["return_value"] == expected.strip().splitlines()[-1]


def test_steps_come_in_the_dags_order_with_branch_targets_after_their_condition():
    source = (ROOT / "tests/golden/ml_classic_operators/pipeline.py").read_text()
    at = {name: source.index(f"    {name} = ") for name in ("choose_deployment", "package_model")}
    assert at["choose_deployment"] < at["package_model"]
    assert "choose_deployment.if_steps.append(package_model)" in source
    assert "choose_deployment.else_steps.append(flag_for_review)" in source


def test_no_join_wraps_a_single_value():
    for pipeline_py in (ROOT / "tests/golden").glob("*/pipeline.py"):
        text = pipeline_py.read_text()
        single = re.findall(r"Join\(on=\"\", values=\[[^,\]]*\]\)", text)
        assert not single, (pipeline_py, single)


def test_studio_shows_each_steps_task_and_its_own_words(trained):
    fit = steps_of(trained)["fit"]
    assert fit["DisplayName"] == "fit"
    assert fit["Description"].startswith("Fit the churn model. (PythonOperator task fit, rule ")
    assert fit["Description"].endswith("named_args.py:14)")


def test_a_loop_builds_the_same_definition_as_the_steps_one_by_one(tmp_path, monkeypatch):
    looped = translate(tmp_path, "loop_200", loop_dag())
    text = (looped / "pipeline.py").read_text()
    looped_steps = steps_of(looped)
    assert (
        text.count("jobs.script_step(") == 1
        and ", shard, " in text
        and "in process_shard_rows:" in text
    )
    assert len(text.splitlines()) <= 300
    monkeypatch.setattr(step_tables, "MIN_ROWS", 10**9)  # every step written out
    written = translate(tmp_path, "loop_200", loop_dag())  # the same folder, written anew
    assert (written / "pipeline.py").read_text().count("jobs.script_step(") == 200
    assert looped_steps == steps_of(written)


def test_caching_is_on_when_configured_and_named_as_a_difference(tmp_path):
    (tmp_path / "bridge.toml").write_text('cache_expire_after = "P7D"\n')
    folder = translate(tmp_path, "named_args", TRAIN_DAG, "--config", str(tmp_path / "bridge.toml"))
    fit = steps_of(folder)["fit"]
    assert fit["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P7D"}
    task = json.loads((folder / "manifest.json").read_text())["tasks"]["fit"]
    assert task["fidelity"] == "approximate"
    assert any("step caching is on" in d for d in task["differences"])


def test_a_bad_cache_duration_is_a_configuration_error(tmp_path):
    (tmp_path / "bridge.toml").write_text('cache_expire_after = "30 days"\n')
    dag_file = tmp_path / "d.py"
    dag_file.write_text(TRAIN_DAG)
    result = runner.invoke(
        app, ["translate", str(dag_file), "--config", str(tmp_path / "bridge.toml")]
    )
    assert result.exit_code != 0
    assert "cache_expire_after" in result.output and "Traceback" not in result.output


def test_the_schedule_is_given_its_own_role(trained, mocked_aws, monkeypatch):
    """`--upsert` of a scheduled pipeline: moto's EventBridge Scheduler records the role."""
    import boto3

    scheduler_role = "arn:aws:iam::123456789012:role/PipelineScheduler"
    monkeypatch.setenv("SAGEMAKER_SCHEDULER_ROLE_ARN", scheduler_role)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.chdir(trained)
    module = import_pipeline(trained / "pipeline.py", "scheduled_pipeline")
    role = "arn:aws:iam::123456789012:role/SageMakerExecution"
    support = sys.modules["pipeline_support"]
    support.main(module, ["--upsert", "--role", role])
    client = boto3.client("scheduler", region_name="us-east-1")
    (schedule,) = client.list_schedules()["Schedules"]
    detail = client.get_schedule(Name=schedule["Name"])
    assert detail["Target"]["RoleArn"] == scheduler_role
    pipeline = boto3.client("sagemaker").describe_pipeline(PipelineName="named-args")
    assert pipeline["RoleArn"] == role


def test_pipeline_py_needs_no_region_for_help_and_says_so_when_it_needs_one(trained):
    """The SDK wants a region to import: `--help` works without one, and a command that calls
    AWS says what to set instead of a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    env["AWS_CONFIG_FILE"] = "/nonexistent"  # no profile region either
    run = [sys.executable, "pipeline.py"]
    shown = subprocess.run([*run, "--help"], cwd=trained, env=env, capture_output=True, text=True)
    assert shown.returncode == 0 and "--upsert" in shown.stdout, shown.stderr[-2000:]
    refused = subprocess.run(run, cwd=trained, env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert (
        refused.stderr.strip()
        == "no AWS region: set AWS_REGION (this pipeline was translated for us-east-1)"
    )


CLASH_DAG = textwrap.dedent("""
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.python import PythonOperator


    def work(version, name):
        return f"{version}-{name}"


    with DAG("clash", schedule=None):
        name = PythonOperator(task_id="name", python_callable=work, op_kwargs={"version": 0, "name": 0})
        for v in ["a", "b", "c", "d"]:
            name >> PythonOperator(
                task_id=f"version_{v}", python_callable=work, op_kwargs={"version": v, "name": v}
            )
    """)


def test_a_loops_variables_never_take_a_steps_or_get_pipelines_name(tmp_path):
    """A task named `name` and arguments named `version` and `name`: the loop's variables
    must not shadow the step `name` nor get_pipeline's `version`."""
    folder = translate(tmp_path, "clash", CLASH_DAG)
    text = (folder / "pipeline.py").read_text()
    (header,) = re.findall(r"for (.*) in \w+_rows:", text)
    assert not {"name", "version"} & {v.strip() for v in header.split(",")}
    result = runner.invoke(app, ["run", str(folder)])
    assert result.exit_code == 0, result.output
    (record,) = (folder / "runs").glob("*/run.json")
    steps = json.loads(record.read_text())["steps"]
    assert steps["version_b"]["property_files"]["xcom"]["return_value"] == "b-b"
