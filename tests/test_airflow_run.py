"""The Airflow runner: real DAGs through Airflow's own dag.test(), recorded as RunRecords.

One run_dags() call (one child process) runs every DAG the tests look at: the two sample ML
DAGs, a DAG whose tasks raise, a file that does not parse, a file that kills its process, and
an unknown dag_id. Under pytest-xdist the workers share that one call through a file lock, so
the ~6 s Airflow start-up is paid once per session.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

from bridge.compare.airflow_home import prepare_home as _prepare_home
from bridge.compare.airflow_home import snapshot_db
from bridge.compare.airflow_record import import_error_summary, last_error_line
from bridge.compare.airflow_run import AirflowRunRequest, run_dags
from bridge.run.record import FAILED, NOT_EXECUTED, SUCCEEDED, RunRecord

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DAGS = ROOT / "sample_dags"
INPUT_DIR = SAMPLE_DAGS / "data"

FAILING_DAG = '''
"""Tasks that raise, one mapped task that half fails, and one that shows the environment."""
import os

import pendulum
from airflow.sdk import dag, task


@dag(dag_id="failing_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def failing_dag():
    @task
    def ok():
        print("hello from ok")
        return {"bridge_data_dir": os.environ.get("BRIDGE_DATA_DIR")}

    @task
    def boom(value):
        raise ValueError("the model diverged")

    @task
    def after(value):
        return "never"

    @task
    def square(x):
        return x * x

    @task
    def double(v):
        if v == 3:
            raise RuntimeError("three is not allowed")
        return v * 2

    after(boom(ok()))
    square.expand(x=[1, 2, 3])
    double.expand(v=[1, 2, 3])


failing_dag()
'''

BROKEN_DAG = """
from airflow.sdk import dag

def broken(:
    pass
"""

CRASHING_DAG = """
import os

from airflow.sdk import dag  # noqa: F401

os._exit(3)  # the whole process dies while DagBag imports this file
"""


def _requests(root: Path) -> dict[str, AirflowRunRequest]:
    src = root / "src"
    src.mkdir(exist_ok=True)
    (src / "failing_dag.py").write_text(FAILING_DAG)
    (src / "broken_dag.py").write_text(BROKEN_DAG)
    (src / "crashing_dag.py").write_text(CRASHING_DAG)
    runs, data = root / "runs", root / "data"

    def req(name: str, dag_file: Path, dag_id: str, **kwargs) -> AirflowRunRequest:
        return AirflowRunRequest(dag_file=dag_file, dag_id=dag_id, run_folder=runs / name, **kwargs)

    # Order matters for speed: the crash restarts the child, so only a cheap request follows it.
    return {
        "taskflow": req(
            "taskflow",
            SAMPLE_DAGS / "ml_taskflow_pipeline.py",
            "ml_taskflow_pipeline",
            data_dir=data / "taskflow",
            input_dir=INPUT_DIR,
        ),
        "classic": req(
            "classic",
            SAMPLE_DAGS / "ml_classic_operators.py",
            "ml_classic_operators",
            params={"model_name": "churn-test"},
            logical_date="2024-03-01",
            data_dir=data / "classic",
            input_dir=INPUT_DIR,
        ),
        "failing": req("failing", src / "failing_dag.py", "failing_dag"),
        "broken": req("broken", src / "broken_dag.py", "broken_dag"),
        "crashing": req("crashing", src / "crashing_dag.py", "crashing_dag"),
        "unknown": req(
            "unknown", SAMPLE_DAGS / "ml_taskflow_pipeline.py", "no_such_dag", input_dir=INPUT_DIR
        ),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, RunRecord]:
    """name -> the RunRecord run_dags returned, from one call shared by all xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, shared by its workers
    root = base / "airflow_run"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "records.json"
        if not done.exists():
            requests = _requests(root)
            records = run_dags(list(requests.values()), timeout=300)
            done.write_text(
                json.dumps({n: r.to_dict() for n, r in zip(requests, records, strict=True)})
            )
        stored = json.loads(done.read_text())
    return {name: RunRecord.from_dict(data) for name, data in stored.items()}


def _states(record: RunRecord) -> dict[str, str]:
    return {name: step.status for name, step in record.steps.items()}


# ---- the sample DAGs -----------------------------------------------------------------------


def test_taskflow_dag_takes_the_register_branch(runs):
    run = runs["taskflow"]
    assert (run.engine, run.name, run.status, run.message) == (
        "airflow",
        "ml_taskflow_pipeline",
        SUCCEEDED,
        "",
    )
    # Default rmse_threshold is 25 and the OLS model scores well under it: register, no alert.
    assert run.steps["evaluate_model"].outputs["return_value"]["rmse"] < 25.0
    assert _states(run) == {
        "load_data": SUCCEEDED,
        "engineer_features": SUCCEEDED,
        "train_model": SUCCEEDED,
        "evaluate_model": SUCCEEDED,
        "check_quality": SUCCEEDED,
        "register_model": SUCCEEDED,
        "notify_failure": NOT_EXECUTED,
        "report": SUCCEEDED,
    }
    skipped = run.steps["notify_failure"]
    assert skipped.raw_state == "skipped" and skipped.attempts == 0 and skipped.reason
    report = run.steps["report"]
    assert report.outputs["return_value"]["status"] == "registered"
    assert report.kind == "_PythonDecoratedOperator" and report.attempts == 1
    assert report.started <= report.ended and run.started <= report.started <= run.ended
    model = run.steps["train_model"].outputs["return_value"]
    assert model["algorithm"] == "ordinary_least_squares" and model["n_train"] == 40


def test_classic_dag_honours_params_and_logical_date(runs):
    run = runs["classic"]
    assert run.status == SUCCEEDED, run.message
    assert run.parameters == {"model_name": "churn-test"}
    # 50 rows >= min_rows 40, and F1 clears min_f1 0.6: package the model, no review ticket.
    assert _states(run) == {
        "check_input_available": SUCCEEDED,
        "preprocess.validate_schema": SUCCEEDED,
        "preprocess.scale_features": SUCCEEDED,
        "preprocess.snapshot_features": SUCCEEDED,
        "train_model": SUCCEEDED,
        "evaluate_model": SUCCEEDED,
        "choose_deployment": SUCCEEDED,
        "package_model": SUCCEEDED,
        "flag_for_review": NOT_EXECUTED,
        "publish_report": SUCCEEDED,
    }
    assert run.steps["package_model"].kind == "BashOperator"
    assert run.steps["train_model"].kind == "PythonOperator"
    assert run.steps["evaluate_model"].outputs["return_value"]["f1"] >= 0.6
    report = run.steps["publish_report"].outputs["return_value"]
    assert report["model_name"] == "churn-test" and report["decision"] == "packaged"


def test_dags_write_their_files_into_data_dir(runs):
    taskflow = Path(runs["taskflow"].data_dir) / "ml_taskflow_pipeline"
    for rel in ("model.json", "report.json", "registry/housing-price-ols/v1.json"):
        assert (taskflow / rel).is_file(), rel
    assert not (taskflow / "alert.json").exists()  # the branch not taken wrote nothing
    classic = Path(runs["classic"].data_dir) / "ml_classic_operators"
    for rel in (
        "features/train.json",
        "snapshots/2024-03-01/train.json",  # {{ ds }} is the logical date we asked for
        "releases/churn-test/model.json",  # {{ params.model_name }} came from run_conf
        "report.json",
    ):
        assert (classic / rel).is_file(), rel
    assert json.loads((classic / "report.json").read_text())["decision"] == "packaged"


def test_each_task_that_ran_has_its_own_log(runs):
    for name in ("taskflow", "classic"):
        run = runs[name]
        folder = Path(run.folder)
        for step in run.steps.values():
            if step.status == NOT_EXECUTED:
                continue
            assert step.log == f"logs/{step.name}.log"
            assert (folder / step.log).is_file()
        assert (folder / "airflow.log").is_file()
    package_log = Path(runs["classic"].folder) / runs["classic"].steps["package_model"].log
    assert "packaged churn-test" in package_log.read_text()  # the Bash command's own output


def test_run_json_matches_what_run_dags_returned(runs):
    for run in runs.values():
        assert RunRecord.read(Path(run.folder)).to_dict() == run.to_dict()


# ---- failures ------------------------------------------------------------------------------


def test_failing_task_gives_failed_run_with_reason(runs):
    run = runs["failing"]
    assert run.status == FAILED
    assert "boom" in run.message and "the model diverged" in run.message
    boom = run.steps["boom"]
    assert (boom.status, boom.raw_state) == (FAILED, "failed")
    assert boom.reason == "ValueError: the model diverged"
    assert "ValueError: the model diverged" in (Path(run.folder) / boom.log).read_text()
    after = run.steps["after"]
    assert (after.status, after.raw_state) == (NOT_EXECUTED, "upstream_failed")
    assert run.steps["ok"].status == SUCCEEDED
    assert "hello from ok" in (Path(run.folder) / "logs/ok.log").read_text()


def test_bridge_data_dir_is_restored_between_dags(runs):
    # The DAGs before this one ran with their own BRIDGE_DATA_DIR; this one has none set.
    seen = runs["failing"].steps["ok"].outputs["return_value"]["bridge_data_dir"]
    assert seen == os.environ.get("BRIDGE_DATA_DIR")


def test_mapped_task_is_one_step_with_values_in_map_order(runs):
    square = runs["failing"].steps["square"]
    assert square.status == SUCCEEDED
    assert square.outputs == {"return_value": [1, 4, 9]}
    double = runs["failing"].steps["double"]
    assert double.status == FAILED  # one instance of three failed
    assert double.outputs == {"return_value": [2, 4, None]}
    assert "map_index 2" in double.reason and "three is not allowed" in double.reason


def test_dag_file_that_does_not_parse_is_a_failed_record(runs):
    run = runs["broken"]
    assert (run.status, run.steps) == (FAILED, {})
    assert "broken_dag.py failed to import" in run.message and "SyntaxError" in run.message
    assert "Traceback" not in run.message


def test_unknown_dag_id_is_a_failed_record(runs):
    run = runs["unknown"]
    assert run.status == FAILED
    assert "no_such_dag" in run.message and "ml_taskflow_pipeline" in run.message


def test_dag_that_kills_the_process_fails_alone(runs):
    run = runs["crashing"]
    assert run.status == FAILED and "exit code 3" in run.message
    # The request after it still ran, in a fresh child.
    assert "no DAG 'no_such_dag'" in runs["unknown"].message


def test_timeout_gives_failed_records_not_an_exception(tmp_path):
    request = AirflowRunRequest(
        dag_file=SAMPLE_DAGS / "ml_taskflow_pipeline.py",
        dag_id="ml_taskflow_pipeline",
        run_folder=tmp_path / "run",
        data_dir=tmp_path / "data",
        input_dir=INPUT_DIR,
    )
    [record] = run_dags([request], airflow_home=tmp_path / "home", timeout=0.5)
    assert record.status == FAILED and "0.5 s limit" in record.message
    assert RunRecord.read(tmp_path / "run").message == record.message


def test_no_requests_no_process():
    assert run_dags([]) == []


# ---- helpers that need no Airflow -----------------------------------------------------------


def test_last_error_line_prefers_the_exception_line():
    log = textwrap.dedent(
        """\
        2026-01-01T00:00:00Z [error    ] Task failed with exception     [task] loc=x.py:1
        Traceback (most recent call last):
          File "dag.py", line 3, in boom
            raise ValueError("bad input")
        ValueError: bad input
        2026-01-01T00:00:01Z [info     ] ::endgroup::                   [task]
        """
    )
    assert last_error_line(log) == "ValueError: bad input"
    assert last_error_line("x [error    ] disk full [task] loc=y") == "disk full"
    assert last_error_line("all fine\n") == ""


def test_import_error_summary_names_the_line():
    trace = 'Traceback:\n  File "/x/dags/broken_dag.py", line 4\n    def broken(:\nSyntaxError: invalid syntax'
    assert import_error_summary(trace, "broken_dag.py") == "SyntaxError: invalid syntax (line 4)"


def _migrated_db(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('abc')")


def test_home_gets_the_cached_database_or_asks_for_a_migration(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("bridge.compare.airflow_home.airflow_version", lambda: "9.9.9")
    home = tmp_path / "home"
    home.mkdir()
    assert _prepare_home(home, {}) is True  # nothing cached: the child must migrate
    source = tmp_path / "migrated.db"
    _migrated_db(source)
    snapshot_db(source, tmp_path / "cache" / "bridge" / "airflow-9.9.9.db")
    snapshot_db(source, tmp_path / "cache" / "bridge" / "airflow-9.9.9.db")  # a racing builder
    timings: dict = {}
    assert _prepare_home(home, timings) is False
    assert timings["db"] == "cache" and (home / "airflow.db").is_file()
    assert [p.name for p in (tmp_path / "cache" / "bridge").iterdir()] == ["airflow-9.9.9.db"]
    assert _prepare_home(home, timings) is False and timings["db"] == "existing"
