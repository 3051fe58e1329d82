"""Honest fidelity: what SageMaker cannot keep of a task or a DAG is a difference, never `exact`.

Trigger rules, callbacks, e-mails, SLAs, run-to-run dependencies, retries of the task's own
errors, skip_on_exit_code, unwired xcom_pulls and run-time Airflow Variables/connections; checked
on small DAGs, on DAGs that ship with Airflow, under `bridge run`, against `dag.test()`, and with
the secrets in moto's Secrets Manager and SSM Parameter Store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bridge.run.step_runtime as runtime
from bridge.cli import app
from bridge.config import BridgeConfig
from bridge.parse.dag_file import parse_file, parse_source
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import NOT_EXECUTED, SUCCEEDED
from bridge.translate.engine import translate_dag
from bridge.translate.fidelity import TRIGGER_RULES
from tests.conftest import airflow_example_files
from translators.registry import Registry

REGISTRY = Registry.default()
runner = CliRunner()
HEAD = (
    "import pendulum\n"
    "from airflow.sdk import DAG, task, Variable\n"
    "from airflow.providers.standard.operators.bash import BashOperator\n"
)
START = 'start_date=pendulum.datetime(2024, 1, 1, tz="UTC")'


def translate(src: str, config: BridgeConfig | None = None):
    (dag,) = parse_source(src).dags
    return dag, translate_dag(dag, REGISTRY, config, source=src)


def emit(tmp_path: Path, name: str, src: str) -> Path:
    """Translate (and validate) a DAG file; the output folder of its one DAG."""
    dag_file = tmp_path / f"{name}.py"
    dag_file.write_text(src)
    result = runner.invoke(app, ["translate", str(dag_file), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "out").iterdir()
    return folder


def example(name: str) -> Path:
    return next(p for p in airflow_example_files() if p.name == name)


# --- trigger rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", sorted(set(TRIGGER_RULES) - {"all_done_setup_success"}))
def test_a_rule_sagemaker_cannot_keep_is_not_exact(rule):
    src = HEAD + textwrap.dedent(f"""
        with DAG("d", schedule=None, {START}):
            a = BashOperator(task_id="a", bash_command="echo a")
            b = BashOperator(task_id="b", bash_command="echo b")
            alert = BashOperator(task_id="alert", bash_command="echo x", trigger_rule="{rule}")
            [a, b] >> alert
        """)
    _, pipeline = translate(src)
    outcome = pipeline.outcomes["alert"]
    assert outcome.fidelity == "approximate"
    assert any(
        f"trigger rule `{rule}`" in d and "SageMaker runs a step" in d for d in outcome.differences
    )
    assert pipeline.outcomes["a"].fidelity == "exact"
    inverted = any(d.code == "BRG230" for d in pipeline.diagnostics)
    assert inverted == (rule in {"one_failed", "all_failed", "all_skipped"})


def test_one_failed_task_is_not_exact_whatever_its_rule_made_of_it():
    """The python rule and the empty-operator contraction both go through the same pass."""
    src = HEAD + textwrap.dedent(f"""
        from airflow.providers.standard.operators.empty import EmptyOperator
        with DAG("d", schedule=None, {START}):
            @task
            def train():
                return 1
            @task(trigger_rule="one_failed")
            def page():
                return "paged"
            done = EmptyOperator(task_id="done", trigger_rule="all_done")
            t = train()
            t >> page()
            t >> done
        """)
    _, pipeline = translate(src)
    assert pipeline.outcomes["page"].fidelity == "approximate"
    assert pipeline.outcomes["done"].fidelity == "approximate"
    assert pipeline.outcomes["train"].fidelity == "exact"


def test_branch_joins_the_engine_copies_stay_exact():
    src = HEAD + textwrap.dedent(f"""
        with DAG("d", schedule=None, {START}):
            @task.branch
            def choose():
                return "left"
            left = BashOperator(task_id="left", bash_command="echo l")
            right = BashOperator(task_id="right", bash_command="echo r")
            join = BashOperator(
                task_id="join", bash_command="echo j", trigger_rule="none_failed_min_one_success"
            )
            first = BashOperator(task_id="first", bash_command="echo 1", trigger_rule="one_success")
            choose() >> [left, right] >> join
            [left, right] >> first
        """)
    _, pipeline = translate(src)
    assert pipeline.outcomes["join"].fidelity == "exact"
    assert pipeline.outcomes["first"].fidelity == "exact"  # one branch's task per copy


def test_one_success_over_tasks_that_all_run_is_not_exact():
    src = HEAD + textwrap.dedent(f"""
        with DAG("d", schedule=None, {START}):
            a = BashOperator(task_id="a", bash_command="echo a")
            b = BashOperator(task_id="b", bash_command="echo b")
            c = BashOperator(task_id="c", bash_command="echo c", trigger_rule="one_success")
            [a, b] >> c
        """)
    _, pipeline = translate(src)
    assert pipeline.outcomes["c"].fidelity == "approximate"
    assert "`a`, `b` succeeds" in pipeline.outcomes["c"].differences[0]


# --- callbacks, e-mail, SLA, run-to-run dependencies; the DAG's own settings --------------------


SETTINGS_DAG = HEAD + textwrap.dedent(f"""
    def notify(context):
        print(context)

    with DAG(
        "settings", schedule="@daily", {START}, catchup=True, max_active_runs=1,
        max_active_tasks=4, on_failure_callback=notify,
        default_args={{"email": ["ml@example.com"], "on_retry_callback": notify}},
    ):
        plain = BashOperator(task_id="plain", bash_command="echo p", email_on_failure=False,
                             email_on_retry=False, on_retry_callback=None)
        watched = BashOperator(task_id="watched", bash_command="echo w",
                               on_failure_callback=notify, sla=pendulum.duration(hours=1),
                               depends_on_past=True, wait_for_downstream=True)
        plain >> watched
    """)


def test_callbacks_sla_and_depends_on_past_are_differences():
    _, pipeline = translate(SETTINGS_DAG)
    assert pipeline.outcomes["plain"].fidelity == "exact"  # mails and callback switched off
    watched = pipeline.outcomes["watched"]
    assert watched.fidelity == "approximate"
    text = "\n".join(watched.differences)
    for expected in (
        "on_failure_callback=notify",
        "on_retry_callback=notify",  # from default_args
        "EventBridge",
        "email=['ml@example.com']",
        "sla=",
        "depends_on_past=True",
        "wait_for_downstream=True",
    ):
        assert expected in text, expected


def test_dag_settings_are_in_the_manifest_and_the_report(tmp_path):
    folder = emit(tmp_path, "settings", SETTINGS_DAG)
    manifest = json.loads((folder / "manifest.json").read_text())
    text = "\n".join(manifest["dag_differences"])
    for expected in (
        "catchup=True",
        "max_active_runs=1",
        "max_active_tasks=4",
        "ParallelismConfiguration",
        "on_failure_callback=notify",
    ):
        assert expected in text, expected
    report = (folder / "REPORT.md").read_text()
    section = report.split("## DAG settings", 1)[1].split("##", 1)[0]
    assert "catchup=True" in section and "max_active_runs=1" in section


def test_a_dag_without_those_settings_loses_nothing():
    _, pipeline = translate(
        HEAD + f'with DAG("d", schedule=None, {START}, catchup=False):\n'
        '    BashOperator(task_id="a", bash_command="echo a")\n'
    )
    assert pipeline.dag_differences == []
    assert pipeline.outcomes["a"].fidelity == "exact"


# --- retries --------------------------------------------------------------------------------------


def test_retries_are_a_difference_and_a_job_retry_policy(tmp_path):
    src = HEAD + textwrap.dedent(f"""
        with DAG("retrying", schedule=None, {START}, default_args={{"retries": 3}}):
            @task
            def flaky():
                return 1
            @task(retries=25)
            def stubborn(x):
                return x
            stubborn(flaky())
        """)
    folder = emit(tmp_path, "retrying", src)
    manifest = json.loads((folder / "manifest.json").read_text())
    flaky = manifest["tasks"]["flaky"]
    assert flaky["fidelity"] == "approximate"
    assert any("retries=3" in d and "AlgorithmError" in d for d in flaky["differences"])
    assert any("at most 20" in d for d in manifest["tasks"]["stubborn"]["differences"])
    steps = {s["Name"]: s for s in json.loads((folder / "definition.json").read_text())["Steps"]}
    policies = steps["flaky"]["RetryPolicies"]
    assert {"Step.SERVICE_FAULT", "Step.THROTTLING"} == set(policies[0]["ExceptionType"])
    assert "SageMaker.JOB_INTERNAL_ERROR" in policies[1]["ExceptionType"]
    assert policies[1]["MaxAttempts"] == 3 and policies[1]["IntervalSeconds"] == 300
    assert steps["stubborn"]["RetryPolicies"][0]["MaxAttempts"] == 20  # SageMaker's cap
    assert "RETRY_3_EVERY_300S = retry_policies(3, 300)" in (folder / "pipeline.py").read_text()


def test_no_retries_no_policy_and_no_helper(tmp_path):
    folder = emit(
        tmp_path,
        "once",
        HEAD + f'with DAG("once", schedule=None, {START}):\n'
        '    BashOperator(task_id="a", bash_command="echo a")\n',
    )
    assert "retry_policies" not in (folder / "pipeline.py").read_text()
    steps = json.loads((folder / "definition.json").read_text())["Steps"]
    assert all("RetryPolicies" not in s for s in steps)


# --- skip_on_exit_code ----------------------------------------------------------------------------

SKIP_DAG = HEAD + textwrap.dedent(f"""
    with DAG("skip_gate", schedule=None, {START}):
        check = BashOperator(task_id="check", bash_command='echo "no data today"; exit 99')
        load = BashOperator(task_id="load", bash_command="echo loaded")
        report = BashOperator(task_id="report", bash_command="echo report")
        plain = BashOperator(task_id="plain", bash_command="echo plain")
        check >> load >> report
        plain >> report
    """)


def test_a_gate_only_where_the_command_can_exit_with_a_skip_code():
    _, pipeline = translate(SKIP_DAG)
    assert pipeline.outcomes["check"].steps == ["check", "check-gate"]
    assert pipeline.outcomes["plain"].steps == ["plain"]  # 99 is every bash task's default
    assert pipeline.branch_sides == {("check-gate", "load"): "if"}
    call = pipeline.steps["check"].spec.call
    assert call["skip_exit_codes"] == [99]
    assert "skip_exit_codes" not in pipeline.steps["plain"].spec.call


def test_explicit_skip_codes_gate_and_an_unreadable_one_is_diagnosed():
    src = HEAD + textwrap.dedent(f"""
        import os
        with DAG("d", schedule=None, {START}):
            a = BashOperator(task_id="a", bash_command="./check.sh x", skip_on_exit_code=[3, 4])
            b = BashOperator(task_id="b", bash_command="echo b", skip_on_exit_code=int(os.environ["SKIP"]))
            c = BashOperator(task_id="c", bash_command="echo c", trigger_rule="none_failed")
            a >> b >> c
        """)
    _, pipeline = translate(src)
    assert pipeline.steps["a"].spec.call["skip_exit_codes"] == [3, 4]
    assert pipeline.outcomes["a"].steps == ["a", "a-gate"]
    assert any("`c` (`none_failed`)" in d for d in pipeline.outcomes["a"].differences)
    assert pipeline.outcomes["b"].steps == ["b"]
    assert [d.code for d in pipeline.diagnostics if d.code == "BRG232"] == ["BRG232"]


@pytest.mark.airflow
@pytest.mark.slow
def test_a_skip_exit_stops_the_downstream_as_airflow_does(tmp_path):
    from bridge.compare.airflow_run import AirflowRunRequest, run_dags
    from bridge.compare.checks import compare_runs

    folder = emit(tmp_path, "skip_gate", SKIP_DAG)
    ours = run_local(folder, RunOptions(run_root=tmp_path / "runs"))
    dag_file = tmp_path / "skip_gate.py"
    [airflow] = run_dags(
        [AirflowRunRequest(dag_file, "skip_gate", tmp_path / "airflow")],
        airflow_home=tmp_path / "home",
        timeout=300,
    )
    theirs = {name: step.raw_state for name, step in airflow.steps.items()}
    assert theirs == {
        "check": "skipped",
        "load": "skipped",
        "report": "skipped",
        "plain": "success",
    }
    states = {name: step.status for name, step in ours.steps.items()}
    assert states["check"] == SUCCEEDED and ours.steps["check-gate"].branch is False
    assert states["load"] == states["report"] == NOT_EXECUTED  # as Airflow's skipped
    assert states["plain"] == SUCCEEDED
    # Compared task by task, `check` (its step and its gate) is skipped, as in Airflow.
    manifest = json.loads((folder / "manifest.json").read_text())
    comparison = compare_runs(manifest, airflow, ours)
    verdicts = {t["task_id"]: t for t in comparison["tasks"]}
    assert all(c["ok"] for c in verdicts["check"]["checks"] if c["check"] == "state"), verdicts[
        "check"
    ]


def test_an_ungated_exit_99_fails_the_step_rather_than_run_its_downstream(capsys):
    with pytest.raises(SystemExit, match="exited 99"):
        runtime.run_bash("exit 99", None, False, skip_codes=None)
    with pytest.raises(runtime.Skipped):
        runtime.run_bash("exit 99", None, False, skip_codes=[99])
    with pytest.raises(SystemExit, match="exit code 99"):
        runtime.run_bash("exit 99", None, False, skip_codes=[])  # skip_on_exit_code=None
    assert runtime.run_bash("echo ok", None, False, skip_codes=[99]) == "ok"


# --- xcom_pull of an output that is not an input of the step --------------------------------------


def test_an_unwired_xcom_pull_raises_naming_the_task(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "INPUT_DIR", tmp_path)
    (tmp_path / "wired").mkdir()
    (tmp_path / "wired" / "xcom.json").write_text(json.dumps({"return_value": 7}))
    ti = runtime.TaskInstance("me", {}, skipped=["other_branch"])
    assert ti.xcom_pull(task_ids="wired") == 7
    assert ti.xcom_pull(task_ids="other_branch") is None  # did not run on this path: as Airflow
    with pytest.raises(runtime.XComNotWired, match="'elsewhere'.*not an input of this step"):
        ti.xcom_pull(task_ids="elsewhere")
    with pytest.raises(runtime.XComNotWired, match="'elsewhere'"):
        ti.xcom_pull(task_ids=["wired", "elsewhere"])


def test_a_join_copy_knows_the_other_branch_did_not_run():
    src = HEAD + textwrap.dedent(f"""
        with DAG("d", schedule=None, {START}):
            @task.branch
            def choose():
                return "left"
            @task
            def left():
                return "L"
            @task
            def right_a():
                return "Ra"
            @task
            def right_b(x):
                return x
            @task(trigger_rule="none_failed_min_one_success")
            def join(ti=None):
                return [ti.xcom_pull(task_ids="left"), ti.xcom_pull(task_ids="right_a")]
            c = choose()
            first_left, first_right = left(), right_a()
            c >> [first_left, first_right]
            [first_left, right_b(first_right)] >> join()
        """)
    _, pipeline = translate(src)
    copies = {s.name: s for s in pipeline.steps.values() if s.tasks == ["join"]}
    via_left = next(s for n, s in copies.items() if n.endswith("via-left"))
    assert "right_b" in via_left.dropped and "right_a" in via_left.dropped
    assert via_left.spec.call["skipped"] == via_left.dropped
    assert "left" not in via_left.dropped


@pytest.mark.slow
def test_an_unwired_pull_fails_the_step_under_bridge_run(tmp_path):
    src = HEAD + textwrap.dedent(f"""
        with DAG("unwired", schedule=None, {START}):
            @task
            def a():
                return 1
            @task
            def b():
                return 2
            @task
            def reads(ti=None):
                return ti.xcom_pull(task_ids="b")
            a() >> reads()
            b()
        """)
    folder = emit(tmp_path, "unwired", src)
    record = run_local(folder, RunOptions(run_root=tmp_path / "runs"))
    step = record.steps["reads"]
    log = (Path(record.folder) / step.log).read_text() if step.log else step.reason
    assert step.status == "Failed"
    assert "'b'" in log and "not an input of this step" in log


# --- Variables and connections at run time --------------------------------------------------------

VARIABLE_DAG = HEAD + textwrap.dedent(f"""
    from airflow.hooks.base import BaseHook

    with DAG("variables", schedule=None, {START}):
        @task
        def settings():
            bucket = Variable.get("model_bucket")
            limits = Variable.get("limits", deserialize_json=True)
            warehouse = BaseHook.get_connection("warehouse")
            return {{"bucket": bucket, "limit": limits["rows"], "host": warehouse.host}}
        settings()
    """)


def test_variable_get_is_approximate_and_names_its_secret():
    config = BridgeConfig()
    config.secrets.variables_prefix = "team/vars"
    _, pipeline = translate(VARIABLE_DAG, config)
    outcome = pipeline.outcomes["settings"]
    assert outcome.fidelity == "approximate"
    text = "\n".join(outcome.differences)
    assert "`AIRFLOW_VAR_MODEL_BUCKET`" in text and "`team/vars/model_bucket`" in text
    assert "`AIRFLOW_CONN_WAREHOUSE`" in text and "`airflow/connections/warehouse`" in text
    assert pipeline.steps["settings"].spec.call["secrets"] == {
        "AIRFLOW_VAR_LIMITS": "team/vars/limits",
        "AIRFLOW_VAR_MODEL_BUCKET": "team/vars/model_bucket",
        "AIRFLOW_CONN_WAREHOUSE": "airflow/connections/warehouse",
    }


def test_a_variable_key_known_only_at_run_time_is_diagnosed():
    _, pipeline = translate(
        HEAD + f'with DAG("d", schedule=None, {START}):\n'
        "    @task\n    def f(region):\n        return Variable.get('t_' + region)\n"
        "    f('eu')\n"
    )
    assert pipeline.outcomes["f"].fidelity == "approximate"
    assert any(d.code == "BRG231" for d in pipeline.diagnostics)


@pytest.fixture
def moto_stores(monkeypatch):
    import boto3
    import moto

    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(Name="airflow/variables/model_bucket", SecretString="s3://models")
        secrets.create_secret(
            Name="airflow/connections/warehouse",
            SecretString="postgres://etl:p%40ss@db.example.com:5432/analytics",
        )
        boto3.client("ssm").put_parameter(
            Name="/airflow/variables/limits", Value='{"rows": 10}', Type="SecureString"
        )
        yield


STAND_IN_MODULES = (
    "airflow",
    "airflow.models",
    "airflow.models.variable",
    "airflow.models.connection",
    "airflow.sdk",
    "airflow.hooks",
    "airflow.hooks.base",
    "airflow.sdk.bases",
    "airflow.sdk.bases.hook",
)


def test_variables_and_connections_are_filled_from_moto_by_name(moto_stores, monkeypatch):
    for env in ("AIRFLOW_VAR_MODEL_BUCKET", "AIRFLOW_VAR_LIMITS", "AIRFLOW_CONN_WAREHOUSE"):
        monkeypatch.delenv(env, raising=False)
    # The stand-ins replace airflow modules in sys.modules (as in a job, which has no Airflow);
    # each entry is put back afterwards. Replacing the sys.modules object itself would not do:
    # the import statement reads the interpreter's own dict.
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in STAND_IN_MODULES:
        monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.delitem(sys.modules, name)
    runtime.load_secrets(
        {
            "AIRFLOW_VAR_MODEL_BUCKET": "airflow/variables/model_bucket",  # Secrets Manager
            "AIRFLOW_VAR_LIMITS": "airflow/variables/limits",  # SSM Parameter Store
            "AIRFLOW_CONN_WAREHOUSE": "airflow/connections/warehouse",
            "AIRFLOW_VAR_ABSENT": "airflow/variables/absent",
        }
    )
    runtime.install_airflow_stand_ins()
    from airflow.hooks.base import BaseHook
    from airflow.models import DagRun
    from airflow.sdk import Variable

    assert os.environ["AIRFLOW_VAR_MODEL_BUCKET"] == "s3://models"
    assert Variable.get("model_bucket") == "s3://models"
    assert Variable.get("limits", deserialize_json=True) == {"rows": 10}
    assert Variable.get("absent", default_var="d") == "d"
    with pytest.raises(KeyError, match="airflow/variables/absent"):
        Variable.get("absent")
    conn = BaseHook.get_connection("warehouse")
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.schema) == (
        "postgres",
        "db.example.com",
        "etl",
        "p@ss",
        5432,
        "analytics",
    )
    with pytest.raises(RuntimeError, match="no Airflow database"):
        DagRun.find(dag_id="x")


@pytest.mark.slow
def test_the_emitted_step_reads_the_variable_airflow_would(tmp_path):
    """The step script installs the stand-ins before the callable's own `from airflow...`
    imports; the pipeline carries the secret's name, never its value."""
    folder = emit(tmp_path, "variables", VARIABLE_DAG)
    definition = (folder / "definition.json").read_text()
    assert "airflow/variables/model_bucket" in definition
    ml_root = tmp_path / "ml"
    (ml_root / "processing/input/runtime").mkdir(parents=True)
    (ml_root / "processing/input/runtime/_bridge_runtime.py").write_text(
        (folder / "steps/_bridge_runtime.py").read_text()
    )
    env = {
        **os.environ,
        "BRIDGE_ML_ROOT": str(ml_root),
        "AIRFLOW_VAR_MODEL_BUCKET": "s3://models",
        "AIRFLOW_VAR_LIMITS": '{"rows": 10}',
        "AIRFLOW_CONN_WAREHOUSE": '{"conn_type": "postgres", "host": "db"}',
    }
    call = json.dumps({"secrets": {"AIRFLOW_VAR_MODEL_BUCKET": "airflow/variables/model_bucket"}})
    done = subprocess.run(
        [sys.executable, str(folder / "steps/settings.py"), "--call", call],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    xcom = json.loads((ml_root / "processing/output/xcom/xcom.json").read_text())
    assert xcom["return_value"] == {"bucket": "s3://models", "limit": 10, "host": "db"}


# --- DAGs that ship with Airflow --------------------------------------------------------------------


def test_airflow_examples_keep_what_sagemaker_cannot():
    def outcomes(name: str):
        path = example(name)
        result = parse_file(path)
        dag = result.dags[0]
        return translate_dag(dag, REGISTRY, source=path.read_text()).outcomes

    bash = outcomes("example_bash_operator.py")
    assert bash["this_will_skip"].steps == ["this_will_skip", "this_will_skip-gate"]
    assert bash["runme_0"].steps == ["runme_0"]
    tutorial = outcomes("tutorial.py")  # default_args: retries=1, depends_on_past=False
    assert all(
        any(d.startswith("retries=") for d in o.differences) for o in tutorial.values() if o.steps
    )
    assert not any("depends_on_past" in d for o in tutorial.values() for d in o.differences)
    dop = outcomes("example_branch_python_dop_operator_3.py")  # depends_on_past=True
    assert all(any("depends_on_past=True" in d for d in o.differences) for o in dop.values())
    latest = outcomes("example_latest_only_with_trigger.py")
    assert latest["task4"].fidelity != "exact"
    assert any("`all_done`" in d for d in latest["task4"].differences)
