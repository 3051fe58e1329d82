"""AWS and Airflow-control rules: Lambda, EMR, TriggerDagRun / LatestOnly / fail tasks, sensors.

Fast tests translate snippets and run the generated poll / handler code (moto for AWS calls);
the slow ones emit whole DAGs (tests' own and Airflow's examples) and build them offline.
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.emit.codegen_aws import lambda_function_name
from bridge.emit.validate import order_differences
from bridge.parse.dag_file import parse_source
from bridge.translate.engine import pipeline_name, translate_dag
from bridge.translate.params import parameter_name
from bridge.translate.rule_context import RuleContext
from tests.conftest import airflow_example_files
from translators import airflow_ops, common, python, sensors
from translators.aws_lambda import lambda_arn
from translators.registry import Registry

MODULES = [
    "translators.aws_lambda",
    "translators.emr",
    "translators.sensors",
    "translators.sensors_time",
    "translators.airflow_ops",
]
REGISTRY = Registry.default(extra_modules=MODULES)
HEAD = """
import datetime
import json
from airflow.sdk import DAG, task
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator, EmrCreateJobFlowOperator, EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor, EmrJobFlowSensor
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors.bash import BashSensor
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.sensors.time import TimeSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor, WaitSensor
from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
from airflow.exceptions import AirflowFailException
"""
STEP = {
    "Name": "calc",
    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://c/j.py"]},
}
CLUSTER = {
    "Name": "etl",
    "ReleaseLabel": "emr-7.1.0",
    "Instances": {
        "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}
        ],
        "TerminationProtected": False,
    },
}


def translate(body: str, dag_args: str = '"d"'):
    source = HEAD + f"with DAG({dag_args}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    (dag,) = parse_source(source).dags
    ctx_source = source
    pipeline = translate_dag(dag, REGISTRY, BridgeConfig(), ctx_source, "dag.py")
    return dag, pipeline


def outcome(pipeline, task_id):
    return pipeline.outcomes[task_id]


def steps(pipeline, task_id):
    return pipeline.steps_of(task_id)


def codes(pipeline, code="BRG205"):
    return [d for d in pipeline.diagnostics if d.code == code]


# ---------------------------------------------------------------------------------------------
# Registry, documentation, examples
# ---------------------------------------------------------------------------------------------


def test_rules_documented_with_examples_that_hold():
    mine = [r for r in REGISTRY.rules if r.fn.__module__ in MODULES]
    assert len(mine) >= 17
    checked = 0
    for r in mine:
        assert r.doc and r.examples, r.name
        for example in r.examples:
            (dag,) = parse_source(example.dag).dags
            pipeline = translate_dag(dag, REGISTRY, source=example.dag)
            for task_id, expected in example.expect.items():
                got = pipeline.outcomes[task_id].to_dict()
                assert {k: got[k] for k in expected} == expected, example.title
                checked += 1
    assert checked >= len(mine)


@pytest.mark.parametrize("path", airflow_example_files(), ids=lambda p: p.name)
def test_airflow_examples_keep_every_task_and_the_closure(path):
    from bridge.parse.dag_file import parse_file

    for dag in parse_file(path).dags:
        pipeline = translate_dag(dag, REGISTRY, source=path.read_text(), path=str(path))
        assert set(pipeline.outcomes) == set(dag.tasks)
        task_steps = {t: o.steps for t, o in pipeline.outcomes.items()}
        assert order_differences(dag.edge_pairs(), task_steps, pipeline.edges) == []


# ---------------------------------------------------------------------------------------------
# Lambda
# ---------------------------------------------------------------------------------------------


def test_lambda_payload_forms_become_inputs():
    _, p = translate(
        """
        a = LambdaInvokeFunctionOperator(task_id="a", function_name="fn", payload=json.dumps({"x": 1}))
        b = LambdaInvokeFunctionOperator(task_id="b", function_name="fn", payload='{"d": "{{ ds }}"}')
        c = LambdaInvokeFunctionOperator(task_id="c", function_name="fn")
        e = LambdaInvokeFunctionOperator(task_id="e", function_name="fn", payload="[1, 2]")
        f = LambdaInvokeFunctionOperator(task_id="f", function_name="fn", payload=make_payload())
        g = LambdaInvokeFunctionOperator(task_id="g", function_name="{{ params.fn }}")
        """,
        '"d", params={"fn": "x"}',
    )
    assert steps(p, "a")[0].spec.inputs == {"x": 1}
    assert outcome(p, "a").fidelity == "exact"
    assert str(steps(p, "b")[0].spec.inputs["d"]).startswith("Join(")
    assert steps(p, "c")[0].spec.inputs == {}
    assert steps(p, "e")[0].spec.inputs == {"payload": [1, 2]}
    assert outcome(p, "e").fidelity == "approximate"
    assert outcome(p, "f").fidelity == "manual" and steps(p, "f")[0].kind == "Placeholder"
    assert outcome(p, "g").fidelity == "manual"


def test_lambda_options_that_differ_are_listed():
    _, p = translate(
        """
        a = LambdaInvokeFunctionOperator(
            task_id="a", function_name="fn", invocation_type="Event", log_type="Tail", retries=2,
        )
        b = BashOperator(task_id="b", bash_command="echo {{ ti.xcom_pull(task_ids='a') }}")
        a >> b
        """
    )
    text = " ".join(outcome(p, "a").differences)
    assert "Event" in text and "log_type" in text and "retry policy" in text and "`b`" in text


def test_lambda_function_names_and_arns():
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    assert lambda_arn(arn, "live", None) == {"arn": arn + ":live"}
    assert lambda_arn(arn + ":v2", "live", None) == {"arn": arn + ":v2"}
    assert lambda_arn("fn:prod", None, None) == {"name": "fn", "qualifier": "prod", "region": None}
    assert lambda_arn("123456789012:function:fn", None, "eu-west-1")["name"] == "fn"
    name = lambda_function_name("p" * 60, "step")
    assert len(name) <= 64 and name == lambda_function_name("p" * 60, "step")


# ---------------------------------------------------------------------------------------------
# EMR
# ---------------------------------------------------------------------------------------------


def test_emr_created_cluster_moves_into_each_step():
    _, p = translate(
        f"""
        create = EmrCreateJobFlowOperator(task_id="create", job_flow_overrides={CLUSTER!r})
        add = EmrAddStepsOperator(
            task_id="add", job_flow_id=create.output, steps={[STEP, STEP]!r},
            retries=1,
        )
        watch = EmrStepSensor(task_id="watch", job_flow_id=create.output,
                              step_id="{{{{ ti.xcom_pull(task_ids='add')[0] }}}}")
        done = EmrJobFlowSensor(task_id="done", job_flow_id=create.output)
        stop = EmrTerminateJobFlowOperator(task_id="stop", job_flow_id=create.output)
        after = BashOperator(task_id="after", bash_command="echo")
        create >> add >> watch >> done >> stop >> after
        """
    )
    assert [s.name for s in steps(p, "add")] == ["add-1", "add-2"]
    assert ("add-1", "add-2") in p.edges and ("add-2", "after") in p.edges
    config = steps(p, "add")[0].spec.cluster_config
    assert "Name" not in config and "TerminationProtected" not in config["Instances"]
    assert {t: outcome(p, t).fate for t in ("create", "watch", "done", "stop")} == dict.fromkeys(
        ("create", "watch", "done", "stop"), "contracted"
    )
    assert outcome(p, "stop").fidelity == "exact"
    assert outcome(p, "watch").fidelity == "approximate"  # two steps: waits for both
    text = " ".join(outcome(p, "add").differences)
    assert "own new cluster" in text and "retry policy" in text


def test_emr_cluster_ids_and_manual_cases():
    _, p = translate(
        f"""
        a = EmrAddStepsOperator(task_id="a", job_flow_id="j-1", steps={[STEP]!r},
                                wait_for_completion=True, execution_role_arn="arn:aws:iam::1:role/r")
        b = EmrAddStepsOperator(task_id="b", job_flow_id="{{{{ params.cluster }}}}", steps={[STEP]!r})
        c = EmrAddStepsOperator(task_id="c", job_flow_name="etl", steps={[STEP]!r})
        d = EmrAddStepsOperator(task_id="d", job_flow_id="j-1", steps=load_steps())
        create = EmrCreateJobFlowOperator(task_id="create", job_flow_overrides={CLUSTER!r})
        e = EmrAddStepsOperator(task_id="e", job_flow_id=create.output, steps={[STEP]!r})
        peek = BashOperator(task_id="peek", bash_command="echo {{{{ ti.xcom_pull('create') }}}}")
        create >> [e, peek]
        """,
        '"d", params={"cluster": "j-2"}',
    )
    assert outcome(p, "a").fidelity == "exact"
    assert steps(p, "a")[0].spec.execution_role_arn == "arn:aws:iam::1:role/r"
    assert outcome(p, "b").fidelity == "approximate"
    assert "run-time value" in " ".join(outcome(p, "b").differences)
    for t in ("c", "d", "create", "e"):  # create: another task reads its cluster id
        assert outcome(p, t).fidelity == "manual", t


# ---------------------------------------------------------------------------------------------
# TriggerDagRun, LatestOnly, fail tasks
# ---------------------------------------------------------------------------------------------


def test_trigger_dag_run_lambda_and_wait():
    _, p = translate(
        """
        a = TriggerDagRunOperator(task_id="a", trigger_dag_id="child.dag",
                                  conf={"day": "{{ ds }}", "n": 3, "cfg": {"k": [1]}})
        b = TriggerDagRunOperator(task_id="b", trigger_dag_id="child", wait_for_completion=True,
                                  allowed_states=["success"], poke_interval=10)
        c = TriggerDagRunOperator(task_id="c", trigger_dag_id=pick())
        """
    )
    (step,) = steps(p, "a")
    assert step.kind == "Lambda" and step.spec.child_pipeline == "child-dag"
    inputs = step.spec.inputs
    assert inputs["dag_id"] == "child.dag" and inputs["conf_n"] == 3
    assert inputs["conf_cfg"] == '{"k": [1]}'
    ((name, code),) = step.spec.files.items()
    assert (
        name == "_trigger_a.py" and step.spec.function["create"]["handler"] == "_trigger_a.handler"
    )
    compile(code, name, "exec")
    (wait,) = steps(p, "b")
    assert wait.kind == "Processing" and wait.spec.script.entry == "trigger_and_wait"
    kwargs = wait.spec.call["op_kwargs"]
    assert kwargs["allowed_states"] == ["Succeeded"] and kwargs["poke_interval"] == 10
    assert outcome(p, "c").fidelity == "manual"


def test_trigger_code_names_match_the_bridge_and_starts_the_child(monkeypatch):
    ns: dict = {}
    exec(airflow_ops.TRIGGER_CODE.format(task_id="t", dag_id="d"), ns)
    for dag_id in ("a.b_c", "--x--", "ünï code", "", "x" * 300):
        assert ns["pipeline_name"](dag_id) == pipeline_name(dag_id)
    for key in ("a-b", "ok_1", "é"):
        assert ns["parameter_name"](key) == parameter_name(key)
    moto = pytest.importorskip("moto")
    import boto3

    for k, v in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with moto.mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        definition = {
            "Version": "2020-12-01",
            "Steps": [],
            "Parameters": [{"Name": "day", "Type": "String", "DefaultValue": ""}],
        }
        sm.create_pipeline(
            PipelineName="child-dag",
            RoleArn="arn:aws:iam::123456789012:role/r",
            PipelineDefinition=json.dumps(definition),
        )
        out = ns["handler"]({"dag_id": "child.dag", "conf_day": "2024-01-01", "conf_x": 1}, None)
        arn = out["pipeline_execution_arn"]
        params = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
        assert params["PipelineParameters"] == [{"Name": "day", "Value": "2024-01-01"}]
        assert ns["trigger_and_wait"]("child_dag", {}, None, "us-east-1", 0.01).startswith("arn:")
        with pytest.raises(SystemExit):
            ns["trigger_and_wait"]("child_dag", {}, None, "us-east-1", 0.01, [], ["Succeeded"])


def test_latest_only_is_contracted():
    _, p = translate(
        """
        LatestOnlyOperator(task_id="l") >> BashOperator(task_id="b", bash_command="echo")
        """
    )
    assert outcome(p, "l").fate == "contracted" and outcome(p, "l").fidelity == "approximate"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('raise AirflowFailException("bad data")', "bad data"),
        ('"""Doc."""\n    raise Exception("stop")', "stop"),
        ("raise AirflowFailException", "AirflowFailException raised by task f"),
        ('raise ValueError("x")', None),
        ('print(1)\n    raise AirflowFailException("x")', None),
        ('raise AirflowFailException(f"{1}")', None),
        ("return 1", None),
    ],
)
def test_fail_message(body, expected):
    source = (
        HEAD
        + "with DAG('d'):\n    @task\n    def f():\n        "
        + body.replace("\n    ", "\n        ")
        + "\n    f()\n"
    )
    (dag,) = parse_source(source).dags
    ctx = RuleContext(dag, BridgeConfig(), source, "dag.py")
    assert python.fail_message(dag.tasks["f"], ctx) == expected
    translation = python.fail_translation(dag.tasks["f"], ctx)
    if expected is None:
        assert translation is None
    else:
        assert translation.steps[0].kind == "Fail" and translation.fidelity == "exact"
        assert translation.steps[0].spec.message == expected


# ---------------------------------------------------------------------------------------------
# Sensors
# ---------------------------------------------------------------------------------------------


def test_sensor_families_fidelity_and_brg205():
    _, p = translate(
        """
        s3 = S3KeySensor(task_id="s3", bucket_key=["a/{{ ds }}", "b"], bucket_name="bk",
                         timeout=600, poke_interval=datetime.timedelta(seconds=30), soft_fail=True)
        td = TimeDeltaSensor(task_id="td", delta=datetime.timedelta(minutes=5))
        td2 = TimeDeltaSensor(task_id="td2", delta=10)
        ws = WaitSensor(task_id="ws", time_to_wait=datetime.timedelta(seconds=5))
        ts = TimeSensor(task_id="ts", target_time=datetime.time(6, 30))
        tsx = TimeSensor(task_id="tsx", target_time=datetime.datetime.now().time())
        dt = DateTimeSensor(task_id="dt", target_time=datetime.datetime(2030, 1, 2, 3))
        dtt = DateTimeSensor(task_id="dtt", target_time="{{ ds }}T06:00:00")
        dow = DayOfWeekSensor(task_id="dow", week_day=["Saturday", "sunday"], use_task_logical_date=True)
        bs = BashSensor(task_id="bs", bash_command="test -f x", retry_exit_code=1)
        fs = FileSensor(task_id="fs", filepath="/x")
        ext = ExternalTaskSensor(task_id="ext", external_dag_id="other")
        def ok():
            return True
        ps = PythonSensor(task_id="ps", python_callable=ok, op_kwargs={"x": 1})
        """
    )
    fidelity = {t: o.fidelity for t, o in p.outcomes.items()}
    assert fidelity == {
        "s3": "approximate",
        "td": "approximate",
        "td2": "approximate",
        "ws": "approximate",
        "ts": "approximate",
        "tsx": "manual",
        "dt": "approximate",
        "dtt": "approximate",
        "dow": "approximate",
        "bs": "approximate",
        "fs": "approximate",
        "ext": "manual",
        "ps": "approximate",
    }
    flagged = {d.message.split("`")[1] for d in codes(p)}
    assert flagged == set(fidelity)
    s3 = steps(p, "s3")[0].spec.call["op_kwargs"]
    assert s3["timeout"] == 600 and s3["poke_interval"] == 30 and s3["bucket_name"] == "bk"
    assert steps(p, "td")[0].spec.call["op_kwargs"]["delta"] == 300
    assert steps(p, "td2")[0].spec.call["op_kwargs"]["delta"] == 600  # minutes
    assert steps(p, "ts")[0].spec.call["op_kwargs"]["target_time"] == "06:30:00"
    assert steps(p, "dt")[0].spec.call["op_kwargs"]["target"] == "2030-01-02T03:00:00+00:00"
    assert steps(p, "dow")[0].spec.call["op_kwargs"]["week_days"] == ["saturday", "sunday"]
    assert "soft_fail" in " ".join(outcome(p, "s3").differences)
    assert steps(p, "fs")[0].spec.call["op_kwargs"]["filepath"] == "/x"  # a declared input


def _poll_namespace(step) -> dict:
    ns: dict = {}
    exec(compile(step.spec.script.body, "poll", "exec"), ns)
    return ns


def test_generated_poll_code_runs(tmp_path, monkeypatch):
    _, p = translate(
        """
        td = TimeDeltaSensor(task_id="td", delta=datetime.timedelta(seconds=1))
        bs = BashSensor(task_id="bs", bash_command="exit 3", retry_exit_code=1)
        dow = DayOfWeekSensor(task_id="dow", week_day="Monday")
        """
    )
    ns = _poll_namespace(steps(p, "td")[0])
    assert (
        ns["wait_after_start"]("2020-01-01T00:00:00.123Z", 1, timeout=5, poke_interval=0.01) is None
    )
    assert ns["wait_until"]("2020-01-01 00:00:00", timeout=1) is None
    with pytest.raises(SystemExit, match="timed out"):
        ns["wait_until"]("2999-01-01T00:00:00", timeout=0.05, poke_interval=0.01)
    with pytest.raises(SystemExit, match="timed out"):
        ns["wait_for_weekday"](["monday"], "2024-01-02T00:00:00Z", timeout=0.03, poke_interval=0.01)
    assert ns["wait_for_weekday"](["monday"], "2024-01-01T00:00:00Z", timeout=1) is None
    bash = _poll_namespace(steps(p, "bs")[0])
    with pytest.raises(SystemExit, match="return code 3"):
        bash["wait_for_bash"]("exit 3", retry_exit_code=1, timeout=1, poke_interval=0.01)
    marker = tmp_path / "m"
    command = f"test -f {marker} || {{ touch {marker}; exit 1; }}"
    assert bash["wait_for_bash"](command, timeout=5, poke_interval=0.01) is None
    bash["bridge_poll"](lambda: True, 1, 1)


def test_s3_poll_code_against_moto(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    _, p = translate('S3KeySensor(task_id="s3", bucket_key="s3://bkt/in/x.csv")')
    ns = _poll_namespace(steps(p, "s3")[0])
    for k, v in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
    }.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="in/x.csv", Body=b"1")
        fast = {"timeout": 0.05, "poke_interval": 0.01}
        assert ns["wait_for_s3_keys"]("s3://bkt/in/x.csv", **fast) is None
        assert ns["wait_for_s3_keys"](["in/x.csv"], "bkt", **fast) is None
        assert ns["wait_for_s3_keys"]("s3://bkt/in/*.csv", wildcard_match=True, **fast) is None
        assert ns["wait_for_s3_keys"]("s3://bkt/in/.*csv$", use_regex=True, **fast) is None
        with pytest.raises(SystemExit, match="timed out"):
            ns["wait_for_s3_keys"](["s3://bkt/in/x.csv", "s3://bkt/in/y.csv"], **fast)


def test_python_sensor_wrapper_pokes_and_shims_poke_return_value(tmp_path):
    source = HEAD + textwrap.dedent(
        """
        from airflow.sdk import PokeReturnValue
        STATE = {"n": 0}
        with DAG("d"):
            @task.sensor(poke_interval=0.01, timeout=5)
            def ready(x, ti=None) -> PokeReturnValue:
                STATE["n"] += 1
                return PokeReturnValue(is_done=STATE["n"] >= x, xcom_value=STATE["n"])
            ready(3)
        """
    )
    (dag,) = parse_source(source).dags
    pipeline = translate_dag(dag, REGISTRY, BridgeConfig(), source, "dag.py")
    (step,) = pipeline.steps_of("ready")
    assert "airflow" not in step.spec.script.body
    assert not any("PokeReturnValue" in d for d in pipeline.outcomes["ready"].differences)
    ns = _poll_namespace(step)
    entry = ns[step.spec.script.entry]
    assert entry(x=3, ti=None, params={}, templates_dict=None) == 3


# ---------------------------------------------------------------------------------------------
# Full path: emit, then build offline
# ---------------------------------------------------------------------------------------------

FULL_DAGS = {
    "aws_ops.py": f"""
with DAG("aws_ops", params={{"cluster": "j-9"}}, schedule="@daily"):
    notify = LambdaInvokeFunctionOperator(
        task_id="notify", function_name="arn:aws:lambda:us-east-1:123456789012:function:n",
        payload='{{"day": "{{{{ ds }}}}"}}')
    named = LambdaInvokeFunctionOperator(task_id="named", function_name="fn", qualifier="live")
    create = EmrCreateJobFlowOperator(task_id="create", job_flow_overrides={CLUSTER!r})
    add = EmrAddStepsOperator(task_id="add", job_flow_id=create.output, steps={[STEP, STEP]!r})
    watch = EmrStepSensor(task_id="watch", job_flow_id=create.output,
                          step_id="{{{{ ti.xcom_pull(task_ids='add')[1] }}}}")
    stop = EmrTerminateJobFlowOperator(task_id="stop", job_flow_id=create.output)
    on_id = EmrAddStepsOperator(task_id="on_id", job_flow_id="{{{{ params.cluster }}}}",
                                steps={[STEP]!r}, retries=2)
    notify >> named >> create >> add >> watch >> stop >> on_id
""",
    "control.py": """
with DAG("control", schedule="@daily"):
    latest = LatestOnlyOperator(task_id="latest")
    kick = TriggerDagRunOperator(task_id="kick", trigger_dag_id="aws_ops", conf={"cluster": "j-1"})
    ext = ExternalTaskSensor(task_id="ext", external_dag_id="aws_ops")
    latest >> kick >> ext
""",
    "waits.py": """
with DAG("waits"):
    run = TriggerDagRunOperator(task_id="run", trigger_dag_id="aws_ops", wait_for_completion=True)
    s3 = S3KeySensor(task_id="s3", bucket_key="data/{{ ds }}.csv", bucket_name="bk", timeout=60)
    td = TimeDeltaSensor(task_id="td", delta=datetime.timedelta(minutes=1))
    bs = BashSensor(task_id="bs", bash_command="true")
    @task.sensor(poke_interval=5, timeout=60)
    def ready():
        return True
    run >> s3 >> [td, bs] >> ready()
""",
}
EXPECTED = {
    "aws_ops": {
        "notify": ("step", "exact"),
        "named": ("step", "exact"),
        "create": ("contracted", "approximate"),
        "add": ("step", "approximate"),
        "watch": ("contracted", "approximate"),
        "stop": ("contracted", "exact"),
        "on_id": ("step", "approximate"),
    },
    "control": {
        "latest": ("contracted", "approximate"),
        "kick": ("step", "approximate"),
        "ext": ("step", "manual"),
    },
    "waits": {
        "run": ("step", "approximate"),
        "s3": ("step", "approximate"),
        "td": ("step", "approximate"),
        "bs": ("step", "approximate"),
        "ready": ("step", "approximate"),
    },
}
AIRFLOW_EXAMPLES = (
    "example_latest_only_with_trigger.py",
    "example_time_delta_sensor_async.py",
    "example_external_task_marker_dag.py",
    "example_external_task_parent_deferrable.py",
    "example_latest_only.py",
    "example_sensor_decorator.py",
    "example_sensors.py",
    "example_trigger_controller_dag.py",
)
ROLE_MESSAGE = "cannot be assumed by Lambda"

# bridge.emit.validate's child, plus the IAM role a Lambda created from a script needs in moto.
_VALIDATE_WITH_ROLE = """
import json, sys
from pathlib import Path
from bridge.emit import validate as v
v.offline_environment()
import logging, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import boto3, moto
with moto.mock_aws():
    boto3.client("s3", region_name=v.REGION).create_bucket(Bucket=v.BUCKET)
    boto3.client("iam", region_name=v.REGION).create_role(
        RoleName=v.ROLE.rsplit("/", 1)[1],
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    session = PipelineSession(default_bucket=v.BUCKET)
    print(json.dumps({f: v.validate_folder(Path(f), session) for f in sys.argv[1:]}))
"""


def _creates_lambda(folder: Path) -> bool:
    return "execution_role_arn=" in (folder / "pipeline.py").read_text()


@pytest.fixture(scope="module")
def emitted(tmp_path_factory):
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders

    root = tmp_path_factory.mktemp("aws_rules")
    out = root / "out"
    files = []
    for name, body in FULL_DAGS.items():
        path = root / name
        path.write_text(HEAD + body)
        files.append(path)
    examples = {p.name: p for p in airflow_example_files()}
    files += [examples[n] for n in AIRFLOW_EXAMPLES]
    outcomes = {}
    for path in files:
        for dag in translate_file(path, REGISTRY, BridgeConfig(), out).dags:
            outcomes[dag.dag_id] = dag
    folders = [o.folder for o in outcomes.values()]
    verdicts = validate_folders(folders)
    retry = [
        f
        for f in folders
        if not verdicts[str(f)]["ok"]
        and _creates_lambda(f)
        and all(ROLE_MESSAGE in p for p in verdicts[str(f)]["problems"])
    ]
    if retry:  # until bridge.emit.validate creates the role (see docs/rules-aws.md)
        done = subprocess.run(
            [sys.executable, "-c", _VALIDATE_WITH_ROLE, *map(str, retry)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        verdicts.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return outcomes, verdicts


@pytest.mark.slow
def test_emitted_pipelines_build_offline(emitted):
    outcomes, verdicts = emitted
    assert len(outcomes) == len(FULL_DAGS) + 9
    for dag_id, o in outcomes.items():
        assert verdicts[str(o.folder)] == {"ok": True, "problems": []}, dag_id
        assert (o.folder / "definition.json").is_file()


@pytest.mark.slow
def test_manifest_fidelity_per_task(emitted):
    outcomes, _ = emitted
    for dag_id, expected in EXPECTED.items():
        manifest = json.loads((outcomes[dag_id].folder / "manifest.json").read_text())
        got = {t: (v["fate"], v["fidelity"]) for t, v in manifest["tasks"].items()}
        assert got == expected, dag_id


@pytest.mark.slow
def test_definitions_hold_the_aws_steps(emitted):
    outcomes, _ = emitted
    definition = json.loads((outcomes["aws_ops"].folder / "definition.json").read_text())
    by_name = {s["Name"]: s for s in definition["Steps"]}
    assert by_name["notify"]["Type"] == "Lambda"
    assert by_name["notify"]["FunctionArn"].endswith(":function:n")
    assert (
        by_name["named"]["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn:live"
    )
    assert by_name["add-1"]["Type"] == "EMR" and "ClusterConfig" in by_name["add-1"]["Arguments"]
    assert by_name["add-2"]["DependsOn"] == ["add-1"]
    cluster_id = {"Get": "Parameters.cluster"}  # a parameter as itself: no Join around one value
    assert by_name["on_id"]["Arguments"]["ClusterId"] == cluster_id
    assert "RetryPolicies" not in by_name["on_id"]
    control = json.loads((outcomes["control"].folder / "definition.json").read_text())
    kick = next(s for s in control["Steps"] if s["Name"] == "kick")
    assert kick["Type"] == "Lambda" and kick["Arguments"]["conf_cluster"] == "j-1"


@pytest.mark.slow
def test_handler_and_poll_files_exist_and_compile(emitted):
    outcomes, _ = emitted
    for dag_id in ("control", "example_trigger_controller_dag"):
        steps_dir = outcomes[dag_id].folder / "steps"
        handlers = sorted(steps_dir.glob("_trigger_*.py"))
        assert handlers, dag_id
        for path in [*handlers, *steps_dir.glob("*.py")]:
            py_compile.compile(str(path), doraise=True)
    pipeline = (outcomes["control"].folder / "pipeline.py").read_text()
    assert (
        "handler='_trigger_kick.handler'" in pipeline
        or 'handler="_trigger_kick.handler"' in pipeline
    )


def test_sensor_module_constants_define_their_entry_points():
    defined = {
        common.POLL_LOOP: "bridge_poll",
        common.TIME_HELPERS: "bridge_parse_time",
        sensors._S3_CODE: "wait_for_s3_keys",
        sensors._BASH_CODE: "wait_for_bash",
        sensors._FILE_CODE: "wait_for_file",
    }
    for code, name in defined.items():
        namespace: dict = {}
        exec(compile(code, "x", "exec"), namespace)  # definitions only: nothing runs
        assert callable(namespace[name]), name


def test_referenced_tasks_reads_xcom_pulls():
    from bridge.parse.model import ArgValue
    from translators.common import referenced_tasks

    pulls = "{{ ti.xcom_pull(task_ids=['c', \"d\"]) }} {{ task_instance.xcom_pull('b', key='k') }}"
    assert referenced_tasks(ArgValue("template", value={"x": [pulls]})) == {"b", "c", "d"}
    assert referenced_tasks(ArgValue("xcom", source="z.output", refs=["z"])) == {"z"}
    assert referenced_tasks(None) == set()
