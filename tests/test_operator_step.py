"""Operators with no rule whose class is known run as themselves in a step (issue 15, item 4).

Run for real: `bridge run` executes the translated pipeline, whose steps build the operator and
call `execute(context)` under Airflow 3.3 — one operator from the Amazon provider (S3ListOperator
against moto's S3, served on this machine's loopback), and a custom operator and sensor from a
module next to the DAG, reading an Airflow Variable by name from moto's Secrets Manager.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import SUCCEEDED
from translators.registry import PLACEHOLDER, Example, Registry, Translation, rule

S3_LIST = "airflow.providers.amazon.aws.operators.s3.S3ListOperator"
SECRET_TEXT = "Good morning"  # the Variable's value: only in Secrets Manager, never in output

GREET_MODULE = """
from airflow.sdk import BaseOperator, BaseSensorOperator, PokeReturnValue, Variable


class GreetOperator(BaseOperator):
    template_fields = ("name",)

    def __init__(self, *, name, punctuation="!", **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.punctuation = punctuation

    def execute(self, context):
        greeting = Variable.get("greeting")
        return {"text": f"{greeting}, {self.name}{self.punctuation}", "ds": context["ds"]}


class ReadySensor(BaseSensorOperator):
    pokes = 0

    def poke(self, context):
        ReadySensor.pokes += 1
        return PokeReturnValue(is_done=ReadySensor.pokes >= 2, xcom_value=ReadySensor.pokes)
"""

DAG_FILE = """
from datetime import datetime, timedelta

from airflow.providers.amazon.aws.operators.s3 import S3ListOperator
from airflow.sdk import DAG
from operators.greet import GreetOperator, ReadySensor
import settings  # a module of the deployment, not in the repository: its constant is a parameter

with DAG("operator_steps", start_date=datetime(2024, 1, 1), schedule=None):
    keys = S3ListOperator(task_id="list_keys", bucket=settings.BUCKET, prefix="raw/")
    wait = ReadySensor(task_id="wait", poke_interval=0.1, timeout=timedelta(seconds=30))
    greet = GreetOperator(task_id="greet", name="{{ ds }}", punctuation="?")
    keys >> wait >> greet
"""


@pytest.fixture
def aws(monkeypatch):
    """moto's S3 and Secrets Manager on the loopback: the step's own processes reach them
    through AWS_ENDPOINT_URL (a job's environment keeps the AWS_ variables)."""
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AIRFLOW_VAR_GREETING", "AIRFLOW_CONN_AWS_DEFAULT"):
        monkeypatch.delenv(name, raising=False)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    for key in ("raw/a.csv", "raw/b.csv", "other/c.csv"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    boto3.client("secretsmanager").create_secret(
        Name="airflow/variables/greeting", SecretString=SECRET_TEXT
    )
    yield
    server.stop()


def _repository(tmp_path: Path) -> Path:
    """A DAG repository: the DAG file and its operators package next to it."""
    repo = tmp_path / "repo"
    (repo / "dags" / "operators").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "dags" / "operators" / "__init__.py").write_text("")
    (repo / "dags" / "operators" / "greet.py").write_text(GREET_MODULE)
    dag = repo / "dags" / "operator_steps.py"
    dag.write_text(DAG_FILE)
    return dag


def _registry() -> Registry:
    """The built-in rules, less any rule for S3ListOperator: the operator with no rule here."""
    return Registry(r for r in Registry.default().rules if S3_LIST not in r.operators)


def _translate(dag: Path, out: Path) -> tuple[Path, dict]:
    result = translate_file(dag, _registry(), BridgeConfig(), out)
    folder = out / "operator_steps"
    assert folder.is_dir(), result
    return folder, json.loads((folder / "manifest.json").read_text())


def test_operators_run_as_themselves_under_bridge_run(aws, tmp_path):
    folder, manifest = _translate(_repository(tmp_path), tmp_path / "out")
    (verdict,) = validate_folders([folder]).values()  # builds definition.json offline
    assert verdict["ok"], verdict
    tasks = manifest["tasks"]
    assert {t: tasks[t]["rule"] for t in tasks} == dict.fromkeys(tasks, "operator_step")
    assert all(tasks[t]["fidelity"] == "approximate" for t in tasks)

    assert any("dag_settings_BUCKET" in d for d in tasks["list_keys"]["differences"])
    parameters = {"dag_settings_BUCKET": "data"}  # what `settings.BUCKET` is in Airflow
    record = run_local(folder, RunOptions(parameters=parameters, run_root=tmp_path / "runs"))
    assert record.status == SUCCEEDED, record.message
    steps = record.steps

    # (a) the provider's operator: its XCom is what the operator itself returns here.
    from airflow.providers.amazon.aws.operators.s3 import S3ListOperator

    expected = S3ListOperator(task_id="list_keys", bucket="data", prefix="raw/").execute({})
    assert expected == ["raw/a.csv", "raw/b.csv"]
    assert steps["list_keys"].property_files["xcom"]["return_value"] == expected

    # (b) the repository's sensor poked in the job until done, and its operator read the
    # Variable by name (Secrets Manager) and got its templated argument rendered.
    assert steps["wait"].property_files["xcom"]["return_value"] == 2
    greeted = steps["greet"].property_files["xcom"]["return_value"]
    assert greeted["text"] == f"{SECRET_TEXT}, {greeted['ds']}?"
    assert len(greeted["ds"]) == 10  # the run's ds, derived from the execution's start

    # Each ran on an interpreter with Airflow, and the record says which and why.
    for name in ("list_keys", "wait", "greet"):
        assert steps[name].status == SUCCEEDED
        assert (
            "has the step's requirements" in steps[name].python_note or not steps[name].python_note
        )
    # The value never leaves Secrets Manager: only its name is in the translation.
    for path in folder.rglob("*"):
        if path.is_file() and "runs" not in path.parts:
            assert SECRET_TEXT not in path.read_text(errors="replace"), path


def test_step_script_builds_the_operator_and_pins_its_requirements(tmp_path):
    folder, manifest = _translate(_repository(tmp_path), tmp_path / "out")
    script = (folder / "steps" / "list_keys.py").read_text()
    amazon = metadata.version("apache-airflow-providers-amazon")
    airflow = metadata.version("apache-airflow")
    assert (
        f'install_requirements(["apache-airflow=={airflow}", '
        f'"apache-airflow-providers-amazon=={amazon}"])'
    ) in script
    assert "from airflow.providers.amazon.aws.operators.s3 import S3ListOperator" in script
    assert 'arguments["bucket"] = from_parameter(arguments["bucket"])' in script
    assert 'prefix="raw/",' in script
    assert "operator.execute(airflow_context(operator, context))" in script
    # The amazon provider needs Python 3.11+: the step gets an image whose Python has it.
    assert manifest["steps"]["list_keys"]["python"] >= "3.11"
    # A sensor pokes in the job, its timedelta timeout as seconds.
    wait = (folder / "steps" / "wait.py").read_text()
    assert "timeout=30.0," in wait and 'mode="poke",' in wait and "deferrable" not in wait
    # The repository's module is shipped: copied, mounted and staged next to the script.
    assert (folder / "inputs" / "operators" / "greet.py").read_text() == GREET_MODULE
    assert [f["path"] for f in manifest["steps"]["greet"]["folders"]] == ["operators"]
    # The Variable the module reads is named for the job, never valued.
    differences = " ".join(manifest["tasks"]["greet"]["differences"])
    assert "`airflow/variables/greeting`" in differences
    # Emitted code passes ruff with its default rules, as a hand-written script would (and
    # E402, which the noqa directive in the scripts' header is for).
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache"]
        + ["--extend-select", "E402", str(folder / "steps")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _translate_text(tmp_path: Path, text: str, registry: Registry | None = None) -> dict:
    dag = tmp_path / "dag.py"
    dag.write_text(textwrap.dedent(text))
    translate_file(dag, registry or _registry(), BridgeConfig(), tmp_path / "out")
    return json.loads((tmp_path / "out" / "d" / "manifest.json").read_text())


def test_unknown_class_stays_a_placeholder(tmp_path):
    manifest = _translate_text(
        tmp_path,
        """
        from airflow.sdk import DAG
        from mycompany.operators import Unknown

        with DAG("d"):
            Unknown(task_id="x")
        """,
    )
    assert manifest["tasks"]["x"]["rule"] == "placeholder"
    assert manifest["tasks"]["x"]["fidelity"] == "manual"
    assert Registry.default().lookup("mycompany.operators.Unknown", str(tmp_path)) is PLACEHOLDER


def test_a_user_rule_still_wins(tmp_path):
    @rule(S3_LIST, examples=[Example("x", "", {})])
    def mine(task, ctx):
        return Translation("contracted", "exact")

    registry = _registry()
    assert registry.lookup(S3_LIST).name == "operator_step"
    registry.add(mine)
    assert registry.lookup(S3_LIST).name == "mine"


def test_an_argument_known_only_to_airflow_is_a_parameter_and_code_stays_manual(tmp_path):
    manifest = _translate_text(
        tmp_path,
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.operators.s3 import S3ListOperator
        from helpers import check

        with DAG("d"):
            S3ListOperator(task_id="x", bucket=make_bucket_name(), prefix=CONFIG["prefix"])
            S3ListOperator(task_id="y", bucket="b", delimiter=check)
        """,
    )
    task = manifest["tasks"]["x"]
    assert task["fidelity"] == "approximate"
    assert any("`dag_make_bucket_name__`" in d for d in task["differences"])
    names = {p["name"]: p for p in manifest["parameters"]}
    assert names["dag_make_bucket_name__"]["source"] == "dag_file"
    script = (tmp_path / "out" / "d" / "steps" / "x.py").read_text()
    assert 'arguments["bucket"] = from_parameter(arguments["bucket"])' in script
    # A name that is not a constant may be code: no parameter stands for it.
    assert manifest["tasks"]["y"]["fidelity"] == "manual"
    assert "`delimiter`" in manifest["tasks"]["y"]["differences"][0]


def test_known_means_a_provider_or_a_module_of_the_dag_repository(tmp_path):
    from translators.operator_origin import origin, provider_requirement

    amazon = provider_requirement("airflow.providers.amazon.aws.operators.s3")
    assert amazon.text == f"apache-airflow-providers-amazon=={metadata.version(amazon.name)}"
    sql = provider_requirement("airflow.providers.common.sql.operators.sql")
    assert sql.name == "apache-airflow-providers-common-sql"
    # Not installed here: named by the providers' convention, unpinned.
    k8s = provider_requirement("airflow.providers.cncf.kubernetes.operators.pod")
    assert k8s.text == "apache-airflow-providers-cncf-kubernetes"
    # The step script imports the class by name: only plain dotted names are known.
    assert origin("airflow.providers.amazon.aws.operators.class.S3ListOperator", "") is None
    assert origin("airflow.providers.amazon.aws.operators.s3.S3Lïst", "") is None
    assert origin("airflow.providers.amazon.aws.operators.s3.S3ListOperator", "") is not None
    # Branching and human-in-the-loop operators tell Airflow itself what to do: not known.
    assert (
        origin("airflow.providers.standard.operators.weekday.BranchDayOfWeekOperator", "") is None
    )

    dag = _repository(tmp_path)
    (tmp_path / "repo" / "shared").mkdir()
    (tmp_path / "repo" / "shared" / "ops.py").write_text("class Up:\n    pass\n")
    found = origin("operators.greet.GreetOperator", str(dag))
    assert found is not None and found.repository.path.name == "greet.py"
    # Up to the repository's root (the folder with .git), never past it.
    assert origin("shared.ops.Up", str(dag)).repository.base == (tmp_path / "repo").resolve()
    (tmp_path / "elsewhere.py").write_text("class Out:\n    pass\n")
    assert origin("elsewhere.Out", str(dag)) is None
    assert origin("operators.greet.Missing", str(dag)) is None  # the module lacks the class


def test_a_copy_of_a_provider_operator_outside_the_repository_is_translated_as_it(tmp_path):
    """MWAA's samples import back-ported provider operators from their own repository
    (`custom_libraries.Lambda.operators.lambda_function`); when that module is not next to the
    DAG, the task is translated as the provider operator of the same module and class name, and
    says so. With the module present, the copy itself runs (an operator step)."""
    text = """
        import json
        from airflow.sdk import DAG
        from custom_libraries.Lambda.operators.lambda_function import AwsLambdaInvokeFunctionOperator

        with DAG("d"):
            AwsLambdaInvokeFunctionOperator(
                task_id="x", function_name="report", payload=json.dumps({"day": "{{ ds }}"})
            )
        """
    task = _translate_text(tmp_path, text, Registry.default())["tasks"]["x"]
    assert task["rule"] == "lambda_invoke" and task["fidelity"] == "approximate"
    assert "LambdaInvokeFunctionOperator" in task["differences"][0]
    module = tmp_path / "custom_libraries" / "Lambda" / "operators"
    module.mkdir(parents=True)
    (module / "lambda_function.py").write_text("class AwsLambdaInvokeFunctionOperator:\n    pass\n")
    assert (
        _translate_text(tmp_path, text, Registry.default())["tasks"]["x"]["rule"] == "operator_step"
    )


def test_a_third_party_provider_is_known(tmp_path):
    task = _translate_text(
        tmp_path,
        """
        from airflow.sdk import DAG
        from mlflow_provider.operators.registry import CreateRegisteredModelOperator

        with DAG("d"):
            CreateRegisteredModelOperator(task_id="x", name="churn")
        """,
        Registry.default(),
    )["tasks"]["x"]
    assert task["rule"] == "operator_step" and task["fidelity"] == "approximate"
    script = (tmp_path / "out" / "d" / "steps" / "x.py").read_text()
    assert '"airflow-provider-mlflow"' in script


def test_computed_leaves_of_a_structure_become_parameters(tmp_path):
    """The Amazon system tests pass ids their context task computes inside configurations
    (`network_configuration={"awsvpcConfiguration": {"subnets": test_context[SUBNETS]}}`):
    each such leaf is a parameter; an AWS API rule does the same for a text argument."""
    manifest = _translate_text(
        tmp_path,
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
        from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
        import settings

        with DAG("d"):
            EcsRunTaskOperator(
                task_id="run", cluster="c", task_definition="t", overrides={},
                network_configuration={"awsvpcConfiguration": {"subnets": [context()["SUBNET"]]}},
            )
            GlueJobOperator(
                task_id="glue", job_name="etl", region_name=settings.REGION,
                script_args={"--bucket": settings.BUCKET, "--day": "{{ ds }}"},
            )
        """,
        Registry.default(),
    )
    run, glue = manifest["tasks"]["run"], manifest["tasks"]["glue"]
    assert run["rule"] == "operator_step" and run["fidelity"] == "approximate"
    assert any(
        "network_configuration.awsvpcConfiguration.subnets[0]" in d for d in run["differences"]
    )
    assert glue["rule"] == "glue_job" and glue["fidelity"] == "approximate"
    names = {p["name"] for p in manifest["parameters"]}
    assert {"dag_settings_REGION", "dag_settings_BUCKET"} <= names
    assert any("`dag_context____SUBNET__`" in d for d in run["differences"]), run["differences"]
