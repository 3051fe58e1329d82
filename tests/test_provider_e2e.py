"""The provider end to end: real Airflow (dag.test in an isolated home) runs DAGs whose
MigratedPipelineOperator talks to a real `bridge serve` endpoint over HTTP.

tests/dags/provider_source.py is translated and served as the pipeline `provider-source`. Each
scenario is one small driver DAG; all of them run in one Airflow child process (one start-up).
A scenario that needs endpoint faults injects them from a task of its own right before the
operator runs, so the scenarios do not disturb each other.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import boto3
import pytest

from bridge.compare.airflow_run import AirflowRunRequest, run_dags
from bridge.run.record import FAILED, NOT_EXECUTED, SUCCEEDED

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DAG = ROOT / "tests" / "dags" / "provider_source.py"
PIPELINE = "provider-source"

DRIVER = '''
"""Scenario {dag_id}."""
import json
import urllib.request
from datetime import timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from airflow_plugins.operators import MigratedPipelineOperator, MigratedTaskOutput
from airflow_plugins.sensors import MigratedPipelineSensor

ENDPOINT = {endpoint!r}
TOKEN = {token!r}  # bridge serve's token, for its test hooks
MANIFEST = {manifest!r}


def inject_faults():
    for fault in {faults!r}:
        request = urllib.request.Request(
            ENDPOINT + "/_bridge/faults",
            data=json.dumps(fault).encode(),
            method="POST",
            headers={{"Authorization": "Bearer " + TOKEN}},
        )
        urllib.request.urlopen(request).read()


def read_back(ti=None):
    return {{
        "rows": ti.xcom_pull(task_ids="make_rows"),
        "total": ti.xcom_pull(task_ids="work"),
        "note": ti.xcom_pull(task_ids="work", key="note"),
    }}


with DAG({dag_id!r}, params={params!r}, schedule=None) as dag:
    faults = PythonOperator(task_id="inject_faults", python_callable=inject_faults)
    run = MigratedPipelineOperator(
        task_id="run_pipeline",
        pipeline_name={pipeline!r},
        manifest=MANIFEST,
        poll_interval=0.2,
        max_poll_interval=1.0,
        {options}
    )
    mirrors = [
        MigratedTaskOutput(task_id=task_id, pipeline_task="run_pipeline")
        for task_id in {mirrors!r}
    ]
    after = PythonOperator(
        task_id="read_back", python_callable=read_back, trigger_rule="none_failed"
    )
    faults >> run >> mirrors >> after
    {extra}
'''

SENSOR = """
    started = MigratedPipelineOperator(
        task_id="start_only",
        pipeline_name={pipeline!r},
        manifest=MANIFEST,
        wait_for_completion=False,
    )
    sensed = MigratedPipelineSensor(
        task_id="sense",
        execution_arn="{{{{ ti.xcom_pull(task_ids='start_only', key='pipeline_execution_arn') }}}}",
        manifest=MANIFEST,
        poke_interval=0.2,
        deferrable=True,
    )
    started >> sensed
"""

SCENARIOS = {
    "prov_sync": {"options": "", "params": {"label": "b"}},
    "prov_deferred": {"options": "deferrable=True,", "params": {"label": "c"}},
    "prov_fail": {"options": "", "params": {"fail": True}},
    "prov_faults": {
        "options": "",
        "params": {"label": "d"},
        "faults": [
            {"action": "StartPipelineExecution", "error": "ThrottlingException", "count": 2},
            {"action": "DescribePipelineExecution", "error": 500, "count": 2},
            {"action": "ListPipelineExecutionSteps", "error": "ThrottlingException", "count": 1},
        ],
    },
    "prov_reattach": {
        "options": "max_wait=timedelta(seconds=1), retries=5, retry_delay=timedelta(0),",
        "params": {"sleep": 3, "label": "e"},
    },
    "prov_kill": {
        "options": "execution_timeout=timedelta(seconds=3),",
        "params": {"sleep": 60},
    },
    "prov_retry": {"options": "execution_retries=1,", "params": {"flaky": "FLAKY"}},
    "prov_selective": {
        "options": 'tasks=["make_rows"],',
        "params": {"label": "f"},
        "mirrors": ["make_rows"],
    },
    "prov_sensor": {"options": "", "params": {"label": "g"}, "extra": SENSOR},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from bridge.serve.server import serve

    root = tmp_path_factory.mktemp("provider")
    out = root / "out"
    subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", str(SOURCE_DAG), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    server = serve(out_dirs=[out], state=root / "state", port=0, data_dir=root / "data")
    yield server, out / "provider_source" / "manifest.json", root
    server.shutdown()


@pytest.fixture(scope="module")
def runs(served, tmp_path_factory):
    """Every scenario DAG, run by Airflow in one child process."""
    server, manifest, root = served
    dags = root / "dags"
    dags.mkdir()
    requests = []
    for dag_id, scenario in SCENARIOS.items():
        params = {"label": "a", "sleep": 0, "fail": False, "flaky": "", **scenario["params"]}
        if params["flaky"]:
            # Steps run isolated (a private /tmp, the host read-only): the marker that makes
            # the second attempt pass lives in the folder serve shares with every step.
            params["flaky"] = str(root / "data" / f"{dag_id}.flaky")
        text = DRIVER.format(
            dag_id=dag_id,
            endpoint=server.url,
            token=server.token,
            manifest=str(manifest),
            faults=scenario.get("faults", []),
            params=params,
            pipeline=PIPELINE,
            options=scenario["options"],
            mirrors=scenario.get("mirrors", ["make_rows", "work"]),
            extra=(scenario.get("extra") or "").format(pipeline=PIPELINE),
        )
        path = dags / f"{dag_id}.py"
        path.write_text(textwrap.dedent(text))
        requests.append(AirflowRunRequest(path, dag_id, root / "runs" / dag_id))
    # The server's token is the connection's access key id (login), as a user would set it; the
    # environment's key is wrong, so a client that ignored the connection would be refused.
    env = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": server.token,
                "password": "any-secret",
                "extra": {"endpoint_url": server.url, "region_name": "us-east-1"},
            }
        ),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        records = run_dags(requests, timeout=300)
    return {r.name: r for r in records}


@pytest.fixture
def sagemaker(served):
    server = served[0]
    return boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=server.token,
        aws_secret_access_key="testing",
    )


def executions_of(sagemaker, dag_id: str, task_id: str = "run_pipeline") -> list[dict]:
    found = []
    for summary in sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]:
        described = sagemaker.describe_pipeline_execution(
            PipelineExecutionArn=summary["PipelineExecutionArn"]
        )
        owner = json.loads(described.get("PipelineExecutionDescription") or "{}").get("airflow")
        if owner and owner["dag_id"] == dag_id and owner["task_id"] == task_id:
            found.append(described)
    return found


def task_log(record, task_id: str) -> str:
    step = record.steps[task_id]
    return (Path(record.folder) / step.log).read_text() if step.log else ""


def test_sync_run_republishes_xcoms_for_legacy_downstream_tasks(runs, sagemaker):
    record = runs["prov_sync"]
    assert record.status == SUCCEEDED, record.message
    operator = record.steps["run_pipeline"]
    assert operator.outputs["task_states"] == {"make_rows": "success", "work": "success"}
    assert operator.outputs["step_statuses"] == {"make_rows": "Succeeded", "work": "Succeeded"}
    arn = operator.outputs["return_value"]
    assert arn == operator.outputs["pipeline_execution_arn"]
    # The DAG param reached the pipeline, and the legacy task read the steps' XComs back.
    assert record.steps["read_back"].outputs["return_value"] == {
        "rows": {"rows": 3, "label": "b"},
        "total": {"total": 6},
        "note": "worked on b",
    }
    (execution,) = executions_of(sagemaker, "prov_sync")
    assert execution["PipelineExecutionArn"] == arn
    log = task_log(record, "run_pipeline")
    assert "task make_rows: new -> Executing" in log or "task make_rows: new -> Succeeded" in log
    assert "task work:" in log and "-> Succeeded" in log
    link = operator.outputs["bridge_pipeline_execution_link"]
    assert link.startswith("/bridge/?execution=")


def test_deferred_run_frees_the_worker_and_resumes(runs):
    record = runs["prov_deferred"]
    assert record.status == SUCCEEDED, record.message
    assert record.steps["read_back"].outputs["return_value"]["rows"]["label"] == "c"
    log = task_log(record, "run_pipeline")
    assert "running trigger in line" in log
    # The step changes were reported by the trigger, under the original task ids.
    assert re.search(r"task work: .*-> Succeeded .*MigratedPipelineTrigger", log)


def test_failing_step_fails_the_task_with_its_reason(runs):
    record = runs["prov_fail"]
    operator = record.steps["run_pipeline"]
    assert operator.status == FAILED
    assert record.steps["read_back"].status == NOT_EXECUTED
    log = task_log(record, "run_pipeline")
    assert "task work: " in log and "asked to fail" in log
    assert "pipeline execution Failed" in log


def test_throttling_and_server_errors_are_retried(runs, served):
    record = runs["prov_faults"]
    assert record.status == SUCCEEDED, record.message
    assert record.steps["inject_faults"].status == SUCCEEDED
    # Every injected fault was served to the operator (and retried through).
    request = urllib.request.Request(
        served[0].url + "/_bridge/faults", headers={"Authorization": f"Bearer {served[0].token}"}
    )
    with urllib.request.urlopen(request) as pending:
        assert json.loads(pending.read()) == {}
    assert record.steps["read_back"].outputs["return_value"]["rows"]["label"] == "d"


def test_airflow_retry_reattaches_instead_of_starting_twice(runs, sagemaker):
    record = runs["prov_reattach"]
    assert record.status == SUCCEEDED, record.message
    assert record.steps["run_pipeline"].attempts >= 2  # each try waits 1 s of the 3 s step
    executions = executions_of(sagemaker, "prov_reattach")
    assert len(executions) == 1
    assert executions[0]["PipelineExecutionStatus"] == "Succeeded"
    assert "Re-attaching to execution" in task_log(record, "run_pipeline")


def test_killed_task_stops_the_execution(runs, sagemaker):
    record = runs["prov_kill"]
    assert record.steps["run_pipeline"].status == FAILED
    (execution,) = executions_of(sagemaker, "prov_kill")
    assert execution["PipelineExecutionStatus"] == "Stopped"
    steps = sagemaker.list_pipeline_execution_steps(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineExecutionSteps"]
    assert {s["StepName"]: s["StepStatus"] for s in steps}["work"] == "Stopped"
    assert "stopping execution" in task_log(record, "run_pipeline")


def test_failed_execution_is_retried_from_the_failed_step(runs, sagemaker):
    record = runs["prov_retry"]
    assert record.status == SUCCEEDED, record.message
    (execution,) = executions_of(sagemaker, "prov_retry")
    steps = sagemaker.list_pipeline_execution_steps(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineExecutionSteps"]
    assert {s["StepName"] for s in steps} == {"make_rows", "work"}
    assert "RetryPipelineExecution (1 of 1)" in task_log(record, "run_pipeline")


def test_selective_run_runs_only_the_chosen_tasks(runs, sagemaker):
    record = runs["prov_selective"]
    operator = record.steps["run_pipeline"]
    assert operator.status == SUCCEEDED, record.message
    assert operator.outputs["task_states"] == {"make_rows": "success"}
    (execution,) = executions_of(sagemaker, "prov_selective")
    assert execution["SelectiveExecutionConfig"]["SelectedSteps"] == [{"StepName": "make_rows"}]
    read = record.steps["read_back"].outputs["return_value"]
    assert read["rows"] == {"rows": 3, "label": "f"} and read["total"] is None


def test_sensor_waits_for_an_execution_started_elsewhere(runs):
    record = runs["prov_sensor"]
    assert record.steps["start_only"].status == SUCCEEDED
    assert record.steps["sense"].status == SUCCEEDED, record.steps["sense"].reason
