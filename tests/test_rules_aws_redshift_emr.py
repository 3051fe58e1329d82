"""Redshift Data and EMR Serverless rules: each test translates a small DAG, runs the emitted
handler against moto and checks what the operator would have done there (the statement
submitted with the hook's request, the application created and started, the job run started,
cancelled, ...) and what the step returns as the task's XCom. Where moto keeps a statement or
an application in one state, a thread moves moto's own backend state as the service would.
"""

from __future__ import annotations

import json
import textwrap
import threading

import boto3
import pytest

from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from tests.test_rules_aws_data import invoke, only_step, ruff_clean
from translators.registry import Registry

MODULES = ["translators.aws_redshift_data", "translators.aws_emr_serverless"]
REGISTRY = Registry.default()
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
_AWS = "airflow.providers.amazon.aws"
REDSHIFT = f"from {_AWS}.operators.redshift_data import RedshiftDataOperator\n"
EMR = (
    f"from {_AWS}.operators.emr import (\n"
    "    EmrServerlessCreateApplicationOperator, EmrServerlessStartJobOperator,\n"
    "    EmrServerlessStopApplicationOperator, EmrServerlessDeleteApplicationOperator,\n"
    ")\n"
    f"from {_AWS}.sensors.emr import EmrServerlessApplicationSensor, EmrServerlessJobSensor\n"
    f"from {_AWS}.hooks.emr import EmrServerlessHook\n"
)


@pytest.fixture(autouse=True)
def aws(mocked_aws):
    """moto for every AWS endpoint (tests/conftest.py)."""
    yield


def translate(imports: str, body: str, dag_args: str = '"d"'):
    source = (
        "from datetime import timedelta\n"
        "from airflow.sdk import DAG, Param\n"
        + textwrap.dedent(imports)
        + f"with DAG({dag_args}):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    (dag,) = parse_source(source).dags
    return translate_dag(dag, REGISTRY, source=source, path="dag.py")


def in_background(change, stop: threading.Event) -> threading.Thread:
    """Call `change()` every 50 ms until `stop`: time passing on the service."""

    def loop():
        while not stop.wait(0.05):
            change()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def background():
    stop = threading.Event()
    threads = []
    yield lambda change: threads.append(in_background(change, stop))
    stop.set()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------------------------------------
# Registry and documentation
# ---------------------------------------------------------------------------------------------


def test_every_rule_is_documented_with_examples_that_hold():
    mine = [r for r in REGISTRY.rules if r.fn.__module__ in MODULES]
    assert len(mine) == 6
    for r in mine:
        assert r.doc and r.examples, r.name
        for example in r.examples:
            (dag,) = parse_source(example.dag).dags
            pipeline = translate_dag(dag, REGISTRY, source=example.dag)
            for task_id, expected in example.expect.items():
                got = pipeline.outcomes[task_id].to_dict()
                assert {k: got[k] for k in expected} == expected, example.title


def test_builtin_registry_knows_the_operators():
    for name in (
        "operators.redshift_data.RedshiftDataOperator",
        "operators.emr.EmrServerlessCreateApplicationOperator",
        "operators.emr.EmrServerlessStartJobOperator",
        "operators.emr.EmrServerlessStopApplicationOperator",
        "operators.emr.EmrServerlessDeleteApplicationOperator",
        "sensors.emr.EmrServerlessJobSensor",
        "sensors.emr.EmrServerlessApplicationSensor",
    ):
        assert REGISTRY.lookup(f"{_AWS}.{name}").fn.__module__ in MODULES, name


# ---------------------------------------------------------------------------------------------
# Redshift Data
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def redshift_requests(monkeypatch):
    """The requests moto's Redshift Data endpoint receives, and BatchExecuteStatement, which
    moto lacks: it records the batch as a statement whose sub-statements are statements too
    (ids `<id>:<n>`, as the service numbers them)."""
    from moto.redshiftdata.models import Statement
    from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

    seen: list[tuple[str, dict]] = []

    def body(response) -> dict:  # without the idempotency token botocore fills in itself
        request = json.loads(response.body)
        request.pop("ClientToken", None)
        return request

    original = RedshiftDataAPIServiceResponse.execute_statement

    def execute_statement(self):
        seen.append(("ExecuteStatement", body(self)))
        return original(self)

    def batch_execute_statement(self):
        request = body(self)
        seen.append(("BatchExecuteStatement", request))
        backend = self.redshiftdata_backend
        parent = Statement(
            request.get("ClusterIdentifier"),
            request.get("Database"),
            None,
            None,
            "; ".join(request["Sqls"]),
            None,
        )
        for n, sql in enumerate(request["Sqls"], start=1):
            sub = Statement(None, request.get("Database"), None, None, sql, None)
            sub.id = f"{parent.id}:{n}"
            backend.statements[sub.id] = sub
            parent.sub_statements.append({"Id": sub.id, "QueryString": sql, "Status": "STARTED"})
        backend.statements[parent.id] = parent
        return 200, {}, json.dumps({"Id": parent.id, "Database": parent.database})

    monkeypatch.setattr(RedshiftDataAPIServiceResponse, "execute_statement", execute_statement)
    monkeypatch.setattr(
        RedshiftDataAPIServiceResponse,
        "batch_execute_statement",
        batch_execute_statement,
        raising=False,
    )
    return seen


def statements():
    from moto.redshiftdata.models import redshiftdata_backends

    return redshiftdata_backends[ACCOUNT][REGION].statements


def finish_statements(status: str = "FINISHED"):
    """moto leaves statements STARTED: end them as the database would."""

    def change():
        for statement in list(statements().values()):
            if statement.status == "STARTED":
                statement.status = status

    return change


def test_redshift_statement_is_submitted_with_the_hooks_request(redshift_requests, tmp_path):
    pipeline = translate(
        REDSHIFT,
        """
        RedshiftDataOperator(
            task_id="load", workgroup_name="analytics", database="dev",
            sql="INSERT INTO daily SELECT * FROM events WHERE day = '{{ ds }}'",
            statement_name="daily-{{ ds_nodash }}", wait_for_completion=False,
        )
        """,
    )
    step = only_step(pipeline, "load")
    assert step.kind == "Lambda" and pipeline.outcomes["load"].fidelity == "exact"
    assert set(step.spec.permissions) == {
        "redshift-data:ExecuteStatement",
        "redshift-data:DescribeStatement",
        "redshift-serverless:GetCredentials",
    }
    ruff_clean(step.spec.files["_aws_load.py"], tmp_path)

    result = invoke(pipeline, "load", tmp_path, fill="2024-05-01")

    # RedshiftDataHook.execute_query's request, without the arguments left unset
    assert redshift_requests == [
        (
            "ExecuteStatement",
            {
                "Database": "dev",
                "WithEvent": False,
                "StatementName": "daily-2024-05-01",
                "WorkgroupName": "analytics",
                "Sql": "INSERT INTO daily SELECT * FROM events WHERE day = '2024-05-01'",
            },
        )
    ]
    (statement_id,) = json.loads(result["return_value"])
    assert statements()[statement_id].status == "STARTED"  # not waited for


def test_redshift_waits_for_the_statement_and_returns_its_rows(
    redshift_requests, background, tmp_path
):
    pipeline = translate(
        REDSHIFT,
        """
        RedshiftDataOperator(
            task_id="count", cluster_identifier="main", database="dev", db_user="airflow",
            sql="SELECT * FROM addresses", return_sql_result=True, poll_interval=0.02,
            execution_timeout=timedelta(minutes=5),
        )
        """,
    )
    step = only_step(pipeline, "count")
    assert step.kind == "Lambda" and pipeline.outcomes["count"].fidelity == "exact"
    assert {"redshift:GetClusterCredentials", "redshift-data:GetStatementResult"} <= set(
        step.spec.permissions
    )
    ruff_clean(step.spec.files["_aws_count.py"], tmp_path)
    background(finish_statements())

    result = invoke(pipeline, "count", tmp_path)

    assert redshift_requests[0][1]["ClusterIdentifier"] == "main"
    assert redshift_requests[0][1]["DbUser"] == "airflow"
    (rows,) = json.loads(result["return_value"])  # one get_statement_result per statement
    assert [c["name"] for c in rows["ColumnMetadata"]] == ["Number", "Street", "City"]
    assert rows["Records"][0] == [
        {"longValue": 10},
        {"stringValue": "Alpha st"},
        {"stringValue": "Vancouver"},
    ]  # moto's fixed result
    assert [s.status for s in statements().values()] == ["FINISHED"]


def test_redshift_aborted_statement_fails_the_step(redshift_requests, background, tmp_path):
    pipeline = translate(
        REDSHIFT,
        """
        RedshiftDataOperator(
            task_id="q", cluster_identifier="main", database="dev", sql="SELECT 1",
            poll_interval=0.02, execution_timeout=timedelta(minutes=5),
        )
        """,
    )

    def cancel():  # through moto's own API: a STARTED statement becomes ABORTED
        client = boto3.client("redshift-data", region_name=REGION)
        for statement_id, statement in list(statements().items()):
            if statement.status == "STARTED":
                client.cancel_statement(Id=statement_id)

    background(cancel)
    with pytest.raises(RuntimeError, match="ABORTED"):
        invoke(pipeline, "q", tmp_path)


def test_redshift_wait_ends_at_the_execution_timeout(redshift_requests, tmp_path):
    pipeline = translate(
        REDSHIFT,
        """
        RedshiftDataOperator(task_id="q", cluster_identifier="main", database="dev",
                             sql="SELECT 1", poll_interval=0.1, execution_timeout=1)
        """,
    )
    with pytest.raises(TimeoutError, match="still STARTED"):
        invoke(pipeline, "q", tmp_path)


def test_redshift_batch_without_bound_waits_in_a_processing_job(
    redshift_requests, background, tmp_path
):
    pipeline = translate(
        REDSHIFT,
        """
        RedshiftDataOperator(
            task_id="rebuild", workgroup_name="analytics", database="dev", poll_interval=0.02,
            sql=["DROP TABLE IF EXISTS t_{{ ds_nodash }}", "CREATE TABLE t AS SELECT 1 AS x"],
        )
        """,
    )
    step = only_step(pipeline, "rebuild")
    assert step.kind == "Processing" and pipeline.outcomes["rebuild"].fidelity == "approximate"
    background(finish_statements())

    ids = json.loads(invoke(pipeline, "rebuild", tmp_path, fill="20240501"))

    ((call, request),) = redshift_requests
    assert call == "BatchExecuteStatement"
    assert request["Sqls"] == ["DROP TABLE IF EXISTS t_20240501", "CREATE TABLE t AS SELECT 1 AS x"]
    parent = next(i for i in statements() if ":" not in i)
    assert ids == [f"{parent}:1", f"{parent}:2"]  # the sub-statements, as the operator returns


def test_redshift_session_id_must_be_a_uuid4(redshift_requests, tmp_path):
    pipeline = translate(
        REDSHIFT,
        'RedshiftDataOperator(task_id="q", session_id="{{ params.session }}", sql="SELECT 1", '
        "wait_for_completion=False)",
        dag_args='"d", params={"session": Param("x", type="string")}',
    )
    with pytest.raises(ValueError, match="UUID4"):
        invoke(pipeline, "q", tmp_path, fill="not-a-uuid")
    assert redshift_requests == []


@pytest.mark.parametrize(
    "arguments",
    [
        'sql="SELECT 1"',  # no cluster, workgroup or session
        'sql="SELECT 1", cluster_identifier="a", workgroup_name="b"',
        'sql="queries/daily.sql", cluster_identifier="a"',
        'sql="SELECT 1", cluster_identifier="a", poll_interval=0',
    ],
)
def test_redshift_tasks_airflow_would_fail_are_manual(arguments):
    pipeline = translate(REDSHIFT, f'RedshiftDataOperator(task_id="q", {arguments})')
    assert pipeline.outcomes["q"].fidelity == "manual"


# ---------------------------------------------------------------------------------------------
# EMR Serverless
# ---------------------------------------------------------------------------------------------


def emr_backend():
    from moto.emrserverless.models import emrserverless_backends

    return emrserverless_backends[ACCOUNT][REGION]


@pytest.fixture
def emr(monkeypatch, background):
    """moto creates applications STARTED and job runs SUCCESS at once. Here an application is
    CREATING and a job run PENDING, and the service moves them on: CREATING → `created`
    (CREATED), PENDING → RUNNING → `job_end` (SUCCESS; None leaves it RUNNING)."""
    import moto.emrserverless.models as models

    monkeypatch.setattr(models, "APPLICATION_STATUS", "CREATING")
    monkeypatch.setattr(models, "JOB_STATUS", "PENDING")
    settings = {"created": "CREATED", "job_end": "SUCCESS"}

    def change():
        backend = emr_backend()
        for app in list(backend.applications.values()):
            if app.state == "CREATING":
                app.state = settings["created"]
        for runs in list(backend.job_runs.values()):
            for run in runs:
                if run.state == "PENDING":
                    run.state = "RUNNING"
                elif run.state == "RUNNING" and settings["job_end"]:
                    run.state = settings["job_end"]

    background(change)
    return settings


def new_application(state: str | None = None) -> str:
    client = boto3.client("emr-serverless")
    app_id = client.create_application(name="a", releaseLabel="emr-7.0.0", type="SPARK")[
        "applicationId"
    ]
    emr_backend().applications[app_id].state = state or "CREATED"
    return app_id


def test_emr_application_is_created_waited_for_and_started(emr, tmp_path):
    pipeline = translate(
        EMR,
        """
        EmrServerlessCreateApplicationOperator(
            task_id="app", release_label="emr-7.0.0", job_type="SPARK",
            config={"name": "nightly", "maximumCapacity": {"cpu": "8 vCPU", "memory": "32 GB"}},
            waiter_delay=0, waiter_max_attempts=500,
        )
        """,
    )
    step = only_step(pipeline, "app")
    assert step.kind == "Lambda" and pipeline.outcomes["app"].fidelity == "exact"
    assert set(step.spec.permissions) == {
        "emr-serverless:CreateApplication",
        "emr-serverless:GetApplication",
        "emr-serverless:StartApplication",
    }
    ruff_clean(step.spec.files["_aws_app.py"], tmp_path)

    app_id = invoke(pipeline, "app", tmp_path)["return_value"]

    app = boto3.client("emr-serverless").get_application(applicationId=app_id)["application"]
    assert app["name"] == "nightly" and app["releaseLabel"] == "emr-7.0.0"
    assert app["type"].upper() == "SPARK" and app["maximumCapacity"]["cpu"] == "8 vCPU"
    assert app["state"] == "STARTED"  # CREATING, waited for CREATED, then started


def test_emr_application_terminated_while_created_fails(emr, tmp_path):
    emr["created"] = "TERMINATED"
    pipeline = translate(
        EMR,
        'EmrServerlessCreateApplicationOperator(task_id="app", release_label="emr-7.0.0", '
        'job_type="SPARK", waiter_delay=0, waiter_max_attempts=500)',
    )
    with pytest.raises(RuntimeError, match="TERMINATED"):
        invoke(pipeline, "app", tmp_path)
    assert [a.state for a in emr_backend().applications.values()] == ["TERMINATED"]


def test_emr_application_and_its_sensor_become_one_step(emr, tmp_path):
    pipeline = translate(
        EMR,
        """
        app = EmrServerlessCreateApplicationOperator(
            task_id="app", release_label="emr-7.0.0", job_type="SPARK",
            wait_for_completion=False, waiter_delay=0, waiter_max_attempts=500,
        )
        ready = EmrServerlessApplicationSensor(
            task_id="ready", application_id=app.output, poke_interval=0, timeout=60,
            target_states={"STARTED"},
        )
        """,
    )
    assert pipeline.outcomes["ready"].fate == "contracted"
    assert pipeline.outcomes["app"].fidelity == "exact"
    step = only_step(pipeline, "app")
    assert "TARGET_STATES = ('STARTED',)" in step.spec.files["_aws_app.py"]
    app_id = invoke(pipeline, "app", tmp_path)["return_value"]
    assert emr_backend().applications[app_id].state == "STARTED"


def test_emr_job_run_starts_the_application_then_runs_and_waits(emr, tmp_path):
    app_id = new_application("STOPPED")
    pipeline = translate(
        EMR,
        f"""
        EmrServerlessStartJobOperator(
            task_id="job", application_id="{{{{ params.app }}}}", execution_role_arn={ROLE!r},
            job_driver={{"sparkSubmit": {{"entryPoint": "s3://code/job.py",
                                          "entryPointArguments": ["{{{{ ds }}}}"]}}}},
            configuration_overrides={{"monitoringConfiguration": {{
                "s3MonitoringConfiguration": {{"logUri": "s3://logs/"}}}}}},
            config={{"name": "nightly-job", "tags": {{"team": "data"}}}},
            waiter_delay=0, waiter_max_attempts=500,
        )
        """,
        dag_args='"d", params={"app": Param("x", type="string")}',
    )
    step = only_step(pipeline, "job")
    assert step.kind == "Lambda" and pipeline.outcomes["job"].fidelity == "exact"
    assert {"emr-serverless:StartJobRun", "iam:PassRole", "emr-serverless:TagResource"} <= set(
        step.spec.permissions
    )
    ruff_clean(step.spec.files["_aws_job.py"], tmp_path)

    run_id = invoke(pipeline, "job", tmp_path, fill="2024-05-01", application_id=app_id)[
        "return_value"
    ]

    assert emr_backend().applications[app_id].state == "STARTED"
    run = boto3.client("emr-serverless").get_job_run(applicationId=app_id, jobRunId=run_id)
    run = run["jobRun"]
    assert run["name"] == "nightly-job" and run["executionRole"] == ROLE
    assert run["jobDriver"]["sparkSubmit"]["entryPointArguments"] == ["2024-05-01"]
    assert run["configurationOverrides"]["monitoringConfiguration"] == {
        "s3MonitoringConfiguration": {"logUri": "s3://logs/"}
    }
    assert run["tags"] == {"team": "data"} and run["state"] == "SUCCESS"


def test_emr_job_run_is_cancelled_when_the_attempts_run_out(emr, tmp_path):
    emr["job_end"] = None  # the run stays RUNNING
    app_id = new_application()
    pipeline = translate(
        EMR,
        f"""
        EmrServerlessStartJobOperator(
            task_id="job", application_id={app_id!r}, execution_role_arn={ROLE!r},
            job_driver={{"sparkSubmit": {{"entryPoint": "s3://code/job.py"}}}},
            waiter_delay=1, waiter_max_attempts=2,
        )
        """,
    )
    with pytest.raises(TimeoutError):
        invoke(pipeline, "job", tmp_path)
    (run,) = emr_backend().job_runs[app_id]
    assert run.state == "CANCELLED" and run.name.startswith("emr_serverless_job_airflow_")


def test_emr_failed_job_run_fails_the_step(emr, tmp_path):
    emr["job_end"] = "FAILED"
    app_id = new_application()
    pipeline = translate(
        EMR,
        f"""
        EmrServerlessStartJobOperator(
            task_id="job", application_id={app_id!r}, execution_role_arn={ROLE!r},
            job_driver={{"sparkSubmit": {{"entryPoint": "s3://code/job.py"}}}},
            waiter_delay=0, waiter_max_attempts=500,
        )
        """,
    )
    with pytest.raises(RuntimeError, match="FAILED"):
        invoke(pipeline, "job", tmp_path)


def test_emr_job_run_and_its_sensor_become_one_step(emr, tmp_path):
    emr["job_end"] = None
    app_id = new_application()
    pipeline = translate(
        EMR,
        f"""
        job = EmrServerlessStartJobOperator(
            task_id="job", application_id={app_id!r}, execution_role_arn={ROLE!r},
            job_driver={{"sparkSubmit": {{"entryPoint": "s3://code/job.py"}}}},
            wait_for_completion=False, waiter_delay=0, waiter_max_attempts=10,
        )
        EmrServerlessJobSensor(
            task_id="running", application_id={app_id!r}, job_run_id=job.output,
            target_states={{*EmrServerlessHook.JOB_SUCCESS_STATES, "RUNNING"}},
            poke_interval=0, timeout=60,
        )
        """,
    )
    assert pipeline.outcomes["running"].fate == "contracted"
    assert pipeline.outcomes["job"].fidelity == "exact"
    run_id = invoke(pipeline, "job", tmp_path)["return_value"]
    (run,) = emr_backend().job_runs[app_id]
    assert run.id == run_id and run.state == "RUNNING"  # the sensor's target state


def test_emr_force_stop_cancels_running_jobs_then_stops(emr, tmp_path):
    emr["job_end"] = None
    app_id = new_application("STARTED")
    client = boto3.client("emr-serverless")
    run_id = client.start_job_run(
        applicationId=app_id,
        clientToken="t",
        executionRoleArn=ROLE,
        jobDriver={"sparkSubmit": {"entryPoint": "s3://code/job.py"}},
    )["jobRunId"]
    pipeline = translate(
        EMR,
        'EmrServerlessStopApplicationOperator(task_id="stop", application_id="{{ params.app }}", '
        "force_stop=True, waiter_delay=0, waiter_max_attempts=100)",
        dag_args='"d", params={"app": Param("x", type="string")}',
    )
    step = only_step(pipeline, "stop")
    assert {"emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun"} <= set(
        step.spec.permissions
    )
    ruff_clean(step.spec.files["_aws_stop.py"], tmp_path)

    assert invoke(pipeline, "stop", tmp_path, fill=app_id) == {}

    run = client.get_job_run(applicationId=app_id, jobRunId=run_id)["jobRun"]
    assert run["state"] == "CANCELLED"
    assert emr_backend().applications[app_id].state == "STOPPED"


def test_emr_delete_stops_then_deletes(emr, tmp_path):
    app_id = new_application("STARTED")
    pipeline = translate(
        EMR,
        f'EmrServerlessDeleteApplicationOperator(task_id="drop", application_id={app_id!r}, '
        "waiter_delay=0, waiter_max_attempts=100)",
    )
    step = only_step(pipeline, "drop")
    assert step.kind == "Lambda" and "emr-serverless:DeleteApplication" in step.spec.permissions
    assert invoke(pipeline, "drop", tmp_path) == {}
    assert emr_backend().applications[app_id].state == "TERMINATED"


def test_emr_sensors_fail_on_failure_states(emr, tmp_path):
    app_id = new_application("STOPPED")
    pipeline = translate(
        EMR,
        """
        EmrServerlessApplicationSensor(task_id="app", application_id="{{ params.app }}",
                                       poke_interval=0, timeout=60)
        EmrServerlessJobSensor(task_id="job", application_id="{{ params.app }}",
                               job_run_id="{{ params.run }}", poke_interval=0, timeout=60)
        """,
        dag_args='"d", params={"app": Param("x", type="string"), "run": Param("y", type="string")}',
    )
    assert only_step(pipeline, "app").kind == "Lambda"
    with pytest.raises(RuntimeError, match="STOPPED"):
        invoke(pipeline, "app", tmp_path, fill=app_id)
    emr_backend().applications[app_id].state = "STARTED"
    assert invoke(pipeline, "app", tmp_path, fill=app_id) == {}

    run_id = boto3.client("emr-serverless").start_job_run(
        applicationId=app_id,
        clientToken="t",
        executionRoleArn=ROLE,
        jobDriver={"sparkSubmit": {"entryPoint": "s3://code/job.py"}},
    )["jobRunId"]
    event = {"application_id": app_id, "job_run_id": run_id}
    assert invoke(pipeline, "job", tmp_path, **event) == {}  # PENDING → RUNNING → SUCCESS
    emr_backend().job_runs[app_id][0].state = "CANCELLING"
    with pytest.raises(RuntimeError, match="CANCELLING"):
        invoke(pipeline, "job", tmp_path, **event)


def test_emr_job_reads_the_application_of_a_lambda_step(emr):
    pipeline = translate(
        EMR,
        f"""
        app = EmrServerlessCreateApplicationOperator(
            task_id="app", release_label="emr-7.0.0", job_type="SPARK", waiter_delay=1,
            waiter_max_attempts=10)
        EmrServerlessStartJobOperator(
            task_id="job", application_id=app.output, execution_role_arn={ROLE!r},
            job_driver={{"sparkSubmit": {{"entryPoint": "s3://code/job.py"}}}},
            waiter_delay=1, waiter_max_attempts=10)
        """,
    )
    assert only_step(pipeline, "app").kind == "Lambda"
    # The job reads the application id whole: the LambdaStep's output `return_value`.
    job = pipeline.outcomes["job"]
    assert not any("reads the XCom of `app`" in d for d in job.differences)
    spec = pipeline.steps[job.steps[-1]].spec
    values = spec.inputs.values() if hasattr(spec, "inputs") else spec.call["op_kwargs"].values()
    assert any(getattr(v, "task_id", None) == "app" for v in values)


def test_emr_sensor_with_target_states_known_only_at_run_time_is_manual(emr):
    pipeline = translate(
        EMR,
        f"""
        job = EmrServerlessStartJobOperator(
            task_id="job", application_id="a", execution_role_arn={ROLE!r},
            job_driver={{}}, wait_for_completion=False, waiter_delay=1, waiter_max_attempts=5)
        EmrServerlessJobSensor(task_id="done", application_id="a", job_run_id=job.output,
                               target_states=compute_states())
        """,
    )
    assert pipeline.outcomes["done"].fidelity == "manual"
    job = pipeline.outcomes["job"]  # starts the run without waiting; `done` reads its XCom
    assert (
        job.fate == "step"
        and "emr-serverless:GetJobRun" not in only_step(pipeline, "job").spec.permissions
    )
    assert not any("reads the XCom" in d for d in job.differences)
