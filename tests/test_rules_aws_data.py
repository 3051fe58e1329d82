"""Data-service AWS rules (Glue, Athena, Redshift Data, EMR Serverless, Bedrock, Step Functions):
each test translates a small DAG, then runs the emitted handler against moto and checks the side
effect the operator would have had (the run started, the query submitted, ...) and what the
step returns as the task's XCom.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import threading

import boto3
import pytest

from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from bridge.translate.expressions import Join, is_dynamic
from bridge.translate.step_specs import LambdaSpec, ProcessingSpec
from translators.registry import Registry

MODULES = [
    "translators.aws_glue",
    "translators.aws_query",
    "translators.aws_bedrock",
    "translators.aws_step_functions",
]
REGISTRY = Registry.default(extra_modules=MODULES)
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/worker"
_AWS = "airflow.providers.amazon.aws"


@pytest.fixture(autouse=True)
def aws(mocked_aws):
    """moto for every AWS endpoint (tests/conftest.py)."""
    yield


def translate(imports: str, body: str, dag_args: str = '"d"'):
    source = (
        "from airflow.sdk import DAG, Param\n"
        + textwrap.dedent(imports)
        + f"with DAG({dag_args}):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    (dag,) = parse_source(source).dags
    return translate_dag(dag, REGISTRY, source=source, path="dag.py")


def only_step(pipeline, task_id):
    (step,) = pipeline.steps_of(task_id)
    return step


def concrete(value, fill: str):
    """An event value with run-time pipeline values (templates, parameters) replaced by `fill`."""
    if isinstance(value, Join):
        return "".join(p if isinstance(p, str) else fill for p in value.parts)
    if is_dynamic(value) and not isinstance(value, (dict, list)):
        return fill
    if isinstance(value, dict):
        return {k: concrete(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [concrete(v, fill) for v in value]
    return value


def handler_module(spec: LambdaSpec, tmp_path):
    """Import the handler file the rule emitted for the LambdaStep."""
    (name, text), *_ = spec.files.items()
    path = tmp_path / name
    path.write_text(text)
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def invoke(pipeline, task_id, tmp_path, fill="2024-05-01", **overrides):
    """Run the task's emitted code as SageMaker would: the LambdaStep's handler with its inputs
    as the event, or a processing step's entry with its arguments. Returns what it returns."""
    step = only_step(pipeline, task_id)
    if isinstance(step.spec, LambdaSpec):
        event = {**concrete(step.spec.inputs, fill), **overrides}
        return handler_module(step.spec, tmp_path).handler(json.loads(json.dumps(event)), None)
    assert isinstance(step.spec, ProcessingSpec)
    namespace: dict = {"__name__": "step_script"}
    exec(compile(step.spec.script.body, f"{task_id}.py", "exec"), namespace)  # noqa: S102
    kwargs = {**concrete(step.spec.call["op_kwargs"], fill), **overrides}
    return namespace[step.spec.script.entry](**kwargs)


def ruff_clean(text: str, tmp_path) -> None:
    import subprocess

    path = tmp_path / "handler_check.py"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# Registry and documentation
# ---------------------------------------------------------------------------------------------


def test_every_rule_is_documented_with_examples_that_hold():
    mine = [r for r in REGISTRY.rules if r.fn.__module__ in MODULES]
    assert len(mine) >= 11
    for r in mine:
        assert r.doc and r.examples, r.name
        for example in r.examples:
            (dag,) = parse_source(example.dag).dags
            pipeline = translate_dag(dag, REGISTRY, source=example.dag)
            for task_id, expected in example.expect.items():
                got = pipeline.outcomes[task_id].to_dict()
                assert {k: got[k] for k in expected} == expected, example.title


def test_builtin_registry_knows_the_operators():
    default = Registry.default()
    for name in (
        "operators.glue.GlueJobOperator",
        "sensors.glue.GlueJobSensor",
        "operators.glue_crawler.GlueCrawlerOperator",
        "sensors.glue_crawler.GlueCrawlerSensor",
        "operators.athena.AthenaOperator",
        "sensors.athena.AthenaSensor",
        "operators.bedrock.BedrockInvokeModelOperator",
        "operators.step_function.StepFunctionStartExecutionOperator",
    ):
        assert default.lookup(f"{_AWS}.{name}").name != "placeholder", name


# ---------------------------------------------------------------------------------------------
# Glue
# ---------------------------------------------------------------------------------------------

GLUE = f"from {_AWS}.operators.glue import GlueJobOperator\n"


def test_glue_job_is_created_and_its_run_started_with_the_rendered_arguments(tmp_path):
    pipeline = translate(
        GLUE,
        f"""
        GlueJobOperator(
            task_id="etl", job_name="clean", script_location="s3://code/clean.py",
            iam_role_arn={ROLE!r}, script_args={{"--day": "{{{{ ds }}}}"}},
            num_of_dpus=2, s3_bucket="logs", wait_for_completion=False,
        )
        """,
    )
    step = only_step(pipeline, "etl")
    assert step.kind == "Lambda" and pipeline.outcomes["etl"].fidelity == "exact"
    assert {"glue:CreateJob", "glue:StartJobRun", "iam:PassRole"} <= set(step.spec.permissions)
    ruff_clean(step.spec.files["_aws_etl.py"], tmp_path)

    result = invoke(pipeline, "etl", tmp_path, fill="2024-05-01")

    glue = boto3.client("glue")
    job = glue.get_job(JobName="clean")["Job"]
    assert job["Role"] == ROLE and job["Command"]["ScriptLocation"] == "s3://code/clean.py"
    assert job["MaxCapacity"] == 2 and job["LogUri"] == "s3://logs/logs/glue-logs/clean"
    assert job["Description"] == "AWS Glue Job with Airflow"
    run = glue.get_job_run(JobName="clean", RunId=result["return_value"])["JobRun"]
    assert run["Arguments"] == {"--day": "2024-05-01"}


def test_glue_job_role_by_name_and_an_existing_job_is_not_recreated(tmp_path):
    iam = boto3.client("iam")
    arn = iam.create_role(RoleName="glue-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    pipeline = translate(
        GLUE,
        """
        GlueJobOperator(task_id="etl", job_name="j", script_location="s3://c/j.py",
                        iam_role_name="glue-role", wait_for_completion=False)
        """,
    )
    first = invoke(pipeline, "etl", tmp_path)["return_value"]
    second = invoke(pipeline, "etl", tmp_path)["return_value"]
    glue = boto3.client("glue")
    assert glue.get_job(JobName="j")["Job"]["Role"] == arn
    runs = {r["Id"] for r in glue.get_job_runs(JobName="j")["JobRuns"]}
    assert runs == {first, second}


def test_glue_job_waits_for_the_run_in_a_lambda_when_the_timeout_allows(tmp_path):
    pipeline = translate(
        GLUE + "from datetime import timedelta\n",
        """
        GlueJobOperator(task_id="etl", job_name="j", script_location="s3://c/j.py",
                        iam_role_arn="arn:aws:iam::123456789012:role/r", job_poll_interval=0,
                        execution_timeout=timedelta(minutes=5))
        """,
    )
    step = only_step(pipeline, "etl")
    assert step.kind == "Lambda" and "glue:GetJobRun" in step.spec.permissions
    result = invoke(pipeline, "etl", tmp_path)
    run = boto3.client("glue").get_job_run(JobName="j", RunId=result["return_value"])["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"  # moto moves STARTING -> RUNNING -> SUCCEEDED


def test_glue_job_without_bound_polls_in_a_processing_job(tmp_path):
    pipeline = translate(
        GLUE,
        """
        GlueJobOperator(task_id="etl", job_name="j", script_location="s3://c/j.py",
                        iam_role_arn="arn:aws:iam::123456789012:role/r", job_poll_interval=0)
        """,
    )
    step = only_step(pipeline, "etl")
    assert step.kind == "Processing"
    assert pipeline.outcomes["etl"].fidelity == "approximate"
    run_id = invoke(pipeline, "etl", tmp_path)
    assert boto3.client("glue").get_job_run(JobName="j", RunId=run_id)["JobRun"]["Id"] == run_id


def test_glue_job_local_script_is_manual():
    pipeline = translate(GLUE, 'GlueJobOperator(task_id="etl", script_location="jobs/a.py")')
    assert pipeline.outcomes["etl"].fidelity == "manual"


def test_glue_operator_and_its_sensor_become_one_waiting_step(tmp_path):
    pipeline = translate(
        GLUE + f"from {_AWS}.sensors.glue import GlueJobSensor\n",
        """
        run = GlueJobOperator(task_id="etl", job_name="j", script_location="s3://c/j.py",
                              iam_role_arn="arn:aws:iam::123456789012:role/r",
                              wait_for_completion=False)
        watch = GlueJobSensor(task_id="watch", job_name="j", run_id=run.output,
                              poke_interval=0, timeout=300)
        """,
    )
    assert pipeline.outcomes["watch"].fate == "contracted"
    assert pipeline.outcomes["etl"].fidelity == "exact"
    step = only_step(pipeline, "etl")
    assert "glue:GetJobRun" in step.spec.permissions
    result = invoke(pipeline, "etl", tmp_path)
    run = boto3.client("glue").get_job_run(JobName="j", RunId=result["return_value"])["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"


def test_glue_job_sensor_fails_on_a_failed_run(tmp_path):
    from moto.glue.models import glue_backends

    pipeline = translate(
        f"from {_AWS}.sensors.glue import GlueJobSensor\n",
        'GlueJobSensor(task_id="watch", job_name="j", run_id="{{ params.run }}", '
        "poke_interval=0, timeout=60)",
        dag_args='"d", params={"run": Param("x", type="string")}',
    )
    assert only_step(pipeline, "watch").kind == "Lambda"
    glue = boto3.client("glue")
    glue.create_job(Name="j", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://c"})
    run_id = glue.start_job_run(JobName="j")["JobRunId"]
    assert invoke(pipeline, "watch", tmp_path, fill=run_id) == {}
    run_id = glue.start_job_run(JobName="j")["JobRunId"]
    backend = glue_backends["123456789012"][REGION]
    backend.jobs["j"].job_runs[-1].status = "FAILED"  # moto's state for a failed run
    with pytest.raises(RuntimeError, match="FAILED"):
        invoke(pipeline, "watch", tmp_path, fill=run_id)


CRAWLER = {
    "Name": "events",
    "Role": ROLE,
    "DatabaseName": "raw",
    "Targets": {"S3Targets": [{"Path": "s3://lake/events/"}]},
}


def finish_crawls(name: str, stop: threading.Event) -> threading.Thread:
    """moto moves a crawl from RUNNING to COMPLETED when its crawls are listed: list them while
    the handler waits, as time passing would on AWS."""

    def advance():
        glue = boto3.client("glue", region_name=REGION)
        while not stop.wait(0.05):
            try:
                glue.list_crawls(CrawlerName=name)
            except glue.exceptions.EntityNotFoundException:
                continue

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    return thread


def test_glue_crawler_is_created_started_and_waited_for(tmp_path):
    pipeline = translate(
        f"from {_AWS}.operators.glue_crawler import GlueCrawlerOperator\n",
        f"GlueCrawlerOperator(task_id='crawl', config={CRAWLER!r}, poll_interval=0.02)",
    )
    step = only_step(pipeline, "crawl")
    assert step.kind == "Lambda"
    assert {"glue:CreateCrawler", "glue:StartCrawler"} <= set(step.spec.permissions)
    ruff_clean(step.spec.files["_aws_crawl.py"], tmp_path)
    stop = threading.Event()
    finish_crawls("events", stop)
    try:
        assert invoke(pipeline, "crawl", tmp_path) == {"return_value": "events"}
    finally:
        stop.set()
    crawler = boto3.client("glue").get_crawler(Name="events")["Crawler"]
    assert crawler["DatabaseName"] == "raw" and crawler["State"] == "READY"
    assert crawler["LastCrawl"]["Status"] == "COMPLETED"  # moto's name for a finished crawl


def test_glue_crawler_run_fails_when_already_running_unless_told(tmp_path):
    glue = boto3.client("glue")
    glue.create_crawler(**CRAWLER)
    glue.start_crawler(Name="events")
    strict = translate(
        f"from {_AWS}.operators.glue_crawler import GlueCrawlerRunOperator\n",
        "GlueCrawlerRunOperator(task_id='crawl', crawler_name='events', wait_for_completion=False)",
    )
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        invoke(strict, "crawl", tmp_path)
    lenient = translate(
        f"from {_AWS}.operators.glue_crawler import GlueCrawlerRunOperator\n",
        "GlueCrawlerRunOperator(task_id='crawl', crawler_name='events', "
        "wait_for_completion=False, fail_on_already_running=False)",
    )
    assert invoke(lenient, "crawl", tmp_path) == {"return_value": "events"}


def test_glue_crawler_sensor_needs_a_succeeded_crawl(tmp_path):
    glue = boto3.client("glue")
    glue.create_crawler(**CRAWLER)
    glue.start_crawler(Name="events")
    pipeline = translate(
        f"from {_AWS}.sensors.glue_crawler import GlueCrawlerSensor\n",
        "GlueCrawlerSensor(task_id='crawled', crawler_name='events', poke_interval=0.02, "
        "timeout=1)",
    )
    with pytest.raises(TimeoutError, match="still RUNNING"):
        invoke(pipeline, "crawled", tmp_path)
    stop = threading.Event()
    finish_crawls("events", stop)
    try:
        # moto calls a finished crawl COMPLETED, which AWS (and the sensor) never call success.
        with pytest.raises(RuntimeError, match="last crawl COMPLETED"):
            invoke(pipeline, "crawled", tmp_path)
    finally:
        stop.set()


# ---------------------------------------------------------------------------------------------
# Athena
# ---------------------------------------------------------------------------------------------

ATHENA = f"from {_AWS}.operators.athena import AthenaOperator\n"


def test_athena_query_is_submitted_with_the_operators_request_and_waited_for(tmp_path):
    pipeline = translate(
        ATHENA,
        """
        AthenaOperator(
            task_id="count", query="SELECT count(*) FROM events WHERE day = '{{ ds }}'",
            database="raw", output_location="s3://results/", workgroup="analysts",
            sleep_time=1, max_polling_attempts=20,
        )
        """,
    )
    step = only_step(pipeline, "count")
    assert step.kind == "Lambda" and pipeline.outcomes["count"].fidelity == "exact"
    assert set(step.spec.permissions) == {
        "athena:GetQueryExecution",
        "athena:StartQueryExecution",
    }
    athena = boto3.client("athena")
    athena.create_work_group(Name="analysts")
    ruff_clean(step.spec.files["_aws_count.py"], tmp_path)
    query_id = invoke(pipeline, "count", tmp_path, fill="2024-05-01")["return_value"]
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Query"] == "SELECT count(*) FROM events WHERE day = '2024-05-01'"
    assert execution["QueryExecutionContext"] == {"Database": "raw", "Catalog": "AwsDataCatalog"}
    assert execution["ResultConfiguration"]["OutputLocation"].startswith("s3://results/")
    assert execution["WorkGroup"] == "analysts"
    assert execution["Status"]["State"] == "SUCCEEDED"  # moto: QUEUED -> RUNNING -> SUCCEEDED


def test_athena_default_bound_polls_in_a_processing_job(tmp_path):
    pipeline = translate(ATHENA, 'AthenaOperator(task_id="q", query="SELECT 1", sleep_time=1)')
    assert only_step(pipeline, "q").kind == "Processing"
    query_id = invoke(pipeline, "q", tmp_path)
    state = boto3.client("athena").get_query_execution(QueryExecutionId=query_id)
    assert state["QueryExecution"]["Status"]["State"] == "SUCCEEDED"


def test_athena_sql_file_is_manual():
    pipeline = translate(ATHENA, 'AthenaOperator(task_id="q", query="queries/daily.sql")')
    assert pipeline.outcomes["q"].fidelity == "manual"


def test_athena_sensor_fails_on_a_failed_query(tmp_path):
    from moto.athena.models import athena_backends

    pipeline = translate(
        f"from {_AWS}.sensors.athena import AthenaSensor\n",
        'AthenaSensor(task_id="done", query_execution_id="{{ params.q }}", sleep_time=0, '
        "timeout=60)",
        dag_args='"d", params={"q": Param("x", type="string")}',
    )
    athena = boto3.client("athena")
    ok = athena.start_query_execution(QueryString="SELECT 1")["QueryExecutionId"]
    assert invoke(pipeline, "done", tmp_path, fill=ok) == {}
    bad = athena.start_query_execution(QueryString="SELECT 2")["QueryExecutionId"]
    athena_backends["123456789012"][REGION].executions[bad].status = "FAILED"
    with pytest.raises(RuntimeError, match="FAILED"):
        invoke(pipeline, "done", tmp_path, fill=bad)


# ---------------------------------------------------------------------------------------------
# Step Functions
# ---------------------------------------------------------------------------------------------

PASS_MACHINE = json.dumps(
    {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"rows": 3}, "End": True}}}
)
SFN = f"from {_AWS}.operators.step_function import (\n    StepFunctionStartExecutionOperator,\n    StepFunctionGetExecutionOutputOperator,\n)\nfrom {_AWS}.sensors.step_function import StepFunctionExecutionSensor\n"


@pytest.fixture
def state_machine():
    """A state machine whose executions end SUCCEEDED with output {"rows": 3} a moment after
    they start. moto only runs state machines with its antlr4 extra, which the project does
    not install: without it executions stay RUNNING, so a thread ends them in moto's backend,
    as the service would."""
    from moto.stepfunctions.models import stepfunctions_backends

    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name="etl", definition=PASS_MACHINE, roleArn=ROLE)[
        "stateMachineArn"
    ]
    backend = stepfunctions_backends["123456789012"][REGION]
    stop = threading.Event()

    def finish():
        while not stop.wait(0.05):
            for machine in backend.state_machines:
                for execution in machine.executions:
                    if execution.status == "RUNNING":
                        execution.output = json.dumps({"rows": 3})
                        execution.status = "SUCCEEDED"

    thread = threading.Thread(target=finish, daemon=True)
    thread.start()
    yield arn
    stop.set()
    thread.join()


def test_step_function_started_waited_for_and_its_output_read(state_machine, tmp_path):
    pipeline = translate(
        SFN,
        f"""
        start = StepFunctionStartExecutionOperator(
            task_id="start", state_machine_arn={state_machine!r}, name="run-{{{{ ds_nodash }}}}",
            state_machine_input={{"day": "{{{{ ds }}}}"}},
        )
        wait = StepFunctionExecutionSensor(task_id="wait", execution_arn=start.output,
                                           poke_interval=0, timeout=60)
        out = StepFunctionGetExecutionOutputOperator(
            task_id="out", execution_arn="{{{{ params.arn }}}}")
        start >> wait >> out
        """,
        dag_args='"d", params={"arn": Param("x", type="string")}',
    )
    assert pipeline.outcomes["wait"].fate == "contracted"
    start = only_step(pipeline, "start")
    assert {"states:StartExecution", "states:DescribeExecution"} == set(start.spec.permissions)
    ruff_clean(start.spec.files["_aws_start.py"], tmp_path)
    arn = invoke(pipeline, "start", tmp_path, fill="20240501")["return_value"]
    sfn = boto3.client("stepfunctions")
    described = sfn.describe_execution(executionArn=arn)
    assert described["name"] == "run-20240501" and described["status"] == "SUCCEEDED"
    assert json.loads(described["input"]) == {"day": "20240501"}
    output = invoke(pipeline, "out", tmp_path, fill=arn)["return_value"]
    assert json.loads(output) == {"rows": 3}


def test_step_function_sensor_fails_on_a_failed_execution(tmp_path, monkeypatch):
    monkeypatch.setenv("SF_EXECUTION_HISTORY_TYPE", "FAILURE")  # moto's failing executions
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(name="m", definition=PASS_MACHINE, roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    pipeline = translate(
        SFN,
        'StepFunctionExecutionSensor(task_id="wait", execution_arn="{{ params.arn }}", '
        "poke_interval=0, timeout=60)",
        dag_args='"d", params={"arn": Param("x", type="string")}',
    )
    assert only_step(pipeline, "wait").kind == "Lambda"
    with pytest.raises(RuntimeError, match="FAILED"):
        invoke(pipeline, "wait", tmp_path, fill=arn)


# ---------------------------------------------------------------------------------------------
# Bedrock
# ---------------------------------------------------------------------------------------------


def test_bedrock_invoke_model_sends_the_body_and_returns_the_parsed_response(tmp_path):
    """moto's bedrock-runtime answers every InvokeModel with an empty JSON body: the test sees
    the request reach it and the handler parse the body as the operator does."""
    from moto.bedrockruntime.models import BedrockRuntimeBackend

    seen = []
    original = BedrockRuntimeBackend.invoke_model

    def recording(self, payload, model_id):
        seen.append((payload, model_id))
        return original(self, payload, model_id)

    pipeline = translate(
        f"from {_AWS}.operators.bedrock import BedrockInvokeModelOperator\n",
        """
        BedrockInvokeModelOperator(
            task_id="ask", model_id="amazon.titan-text-express-v1",
            input_data={"inputText": "Summarise {{ ds }}"},
        )
        """,
    )
    step = only_step(pipeline, "ask")
    assert step.spec.permissions == ["bedrock:InvokeModel"]
    ruff_clean(step.spec.files["_aws_ask.py"], tmp_path)
    BedrockRuntimeBackend.invoke_model = recording
    try:
        result = invoke(pipeline, "ask", tmp_path, fill="2024-05-01")
    finally:
        BedrockRuntimeBackend.invoke_model = original
    assert seen == [({"inputText": "Summarise 2024-05-01"}, "amazon.titan-text-express-v1")]
    assert json.loads(result["return_value"]) == {}
