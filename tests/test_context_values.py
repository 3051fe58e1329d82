"""Context values when nobody passes them (issue 14, item 5).

An execution started by its EventBridge schedule, or by hand, leaves the context parameters
empty; the step runtime derives them from the execution's start and the DAG's schedule. The
oracle is Airflow 3.3 itself: the DAG is built by Airflow, its own timetable says which run it
creates at that moment (`next_dagrun_info` with the clock set there; a manual trigger for
`schedule=None`), and Airflow's own task context renders `{{ ds }}` & co for that run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pendulum
import pytest

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.parse.dag_file import parse_source
from bridge.run import step_runtime
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import SUCCEEDED
from bridge.translate.context_values import run_clock
from bridge.translate.templates import CONTEXT_PARAMETERS
from tests.step_calls import static_call
from translators.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
CONTEXT_KEYS = step_runtime.CONTEXT_KEYS
UTC_START = 'pendulum.datetime(2024, 1, 1, tz="UTC")'

# (schedule= source, start_date= source, the timetable Airflow 3.3 gives it)
SCHEDULES = [
    ('"@daily"', UTC_START, "CronTriggerTimetable"),
    ('"@hourly"', UTC_START, "CronTriggerTimetable"),
    ('"30 2 * * 1-5"', UTC_START, "CronTriggerTimetable"),
    ("datetime.timedelta(hours=6)", UTC_START, "DeltaTriggerTimetable"),
    ("None", UTC_START, "NullTimetable"),
    ('"@daily"', 'pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam")', "CronTriggerTimetable"),
    ('"0 9 * * MON-FRI"', 'pendulum.datetime(2024, 1, 1, tz="America/New_York")', None),
    ('CronDataIntervalTimetable("0 0 * * *", timezone="UTC")', UTC_START, None),
    ("DeltaDataIntervalTimetable(datetime.timedelta(hours=5))", UTC_START, None),
]
# Execution start times as SageMaker writes them: on a tick, mid-day, a Sunday, a Monday just
# before 02:30, New Year, a leap day, and a day New York leaves daylight saving time.
STARTS = [
    "2026-11-05T00:00:00.000Z",
    "2026-11-05T14:37:12.250Z",
    "2026-11-08T01:15:00.500Z",
    "2026-11-09T02:29:59.999Z",
    "2027-01-01T00:00:30.000Z",
    "2028-02-29T23:59:59.000Z",
    "2026-11-01T13:30:00.000Z",
]


def dag_source(schedule: str, start_date: str, dag_id: str = "oracle") -> str:
    return textwrap.dedent(
        f"""\
        import datetime

        import pendulum
        from airflow.providers.standard.operators.bash import BashOperator
        from airflow.sdk import DAG
        from airflow.timetables.interval import (
            CronDataIntervalTimetable,
            DeltaDataIntervalTimetable,
        )

        with DAG("{dag_id}", schedule={schedule}, start_date={start_date}, catchup=False) as dag:
            BashOperator(task_id="t", bash_command="echo {{{{ ds }}}}")
        """
    )


# --- the oracle: Airflow's own timetable and task context ----------------------------------------


def airflow_dag(source: str, path: str = "oracle_dag.py"):
    namespace: dict = {"__file__": path, "__name__": "oracle_dag"}
    exec(compile(source, path, "exec"), namespace)  # a DAG text of this repository
    return namespace["dag"]


def airflow_context(source: str, started: str, path: str = "oracle_dag.py") -> dict[str, str]:
    """What Airflow renders for `{{ ds }}` & co in the run it creates at `started`."""
    from airflow._shared.timezones.timezone import coerce_datetime
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    dag = airflow_dag(source, path)
    timetable = coerce_to_core_timetable(dag.timetable)
    now = pendulum.parse(started)
    if timetable.can_be_scheduled:  # the run the scheduler creates when its clock reads `now`
        restriction = TimeRestriction(coerce_datetime(dag.start_date), None, catchup=False)
        with (
            mock.patch("airflow.timetables.trigger.utcnow", return_value=now),
            mock.patch("airflow.timetables.interval.utcnow", return_value=now),
        ):
            info = timetable.next_dagrun_info(
                last_automated_data_interval=None, restriction=restriction
            )
        logical, interval = info.logical_date, info.data_interval
        assert info.run_after <= now, "Airflow would not have started this run yet"
    else:  # a manual trigger dated now, as the UI and `dag.test()` date it
        logical, interval = now, timetable.infer_manual_data_interval(run_after=now)
    return rendered_context(next(iter(dag.task_dict.values())), logical, interval)


def rendered_context(task, logical, interval) -> dict[str, str]:
    """Airflow's task context for a run with these dates, rendered by the task's templater."""
    from airflow.sdk.api.datamodels._generated import (
        DagRun,
        DagRunState,
        DagRunType,
        TIRunContext,
    )
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    run = DagRun(
        dag_id=task.dag_id,
        run_id="oracle",
        logical_date=logical,
        data_interval_start=interval.start,
        data_interval_end=interval.end,
        run_after=interval.end,
        start_date=interval.end,
        end_date=None,
        run_type=DagRunType.SCHEDULED,
        state=DagRunState.RUNNING,
        conf={},
        clear_number=0,
        consumed_asset_events=[],
        partition_key=None,
    )
    from_server = TIRunContext(
        dag_run=run, max_tries=0, should_retry=False, variables=[], connections=[]
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task.task_id,
        dag_id=task.dag_id,
        run_id="oracle",
        try_number=1,
        map_index=-1,
        task=task,
        start_date=interval.end,
        dag_version_id=uuid.uuid4(),
    )
    ti._ti_context_from_server = from_server
    context = ti.get_template_context()
    # Each value as the bridge's Airflow operator fills its parameter: rendering its template
    # (`{{ ds }}`, `{{ ts_nodash | lower }}`) in the task's context.
    return {k: task.render_template(CONTEXT_PARAMETERS[k].airflow, context) for k in CONTEXT_KEYS}


# --- the bridge: the translation reads the schedule, the step runtime derives ---------------------


def bridge_context(source: str, started: str) -> dict[str, str]:
    (dag,) = parse_source(source, "oracle_dag.py").dags
    clock = run_clock(dag, source)
    assert clock.note is None, clock.note
    schedule = json.loads(json.dumps(clock.to_dict()))  # as it travels in the step's --call
    return step_runtime.derive_context(schedule, started)


@pytest.mark.parametrize(("schedule", "start_date", "timetable"), SCHEDULES)
def test_derived_values_match_airflow(schedule, start_date, timetable):
    source = dag_source(schedule, start_date)
    if timetable is not None:  # the fact the derivation rests on, checked on this Airflow
        assert type(airflow_dag(source).timetable).__name__ == timetable
    for started in STARTS:
        assert bridge_context(source, started) == airflow_context(source, started), started


def test_the_schedule_facts_the_derivation_rests_on():
    """Airflow 3.3 dates a run by its trigger time (CronTriggerTimetable): a daily run started
    at 14:37 is today's, and a manual run is dated at its trigger time, not the last tick."""
    started = "2026-11-05T14:37:12.250Z"
    daily = airflow_context(dag_source('"@daily"', UTC_START), started)
    manual = airflow_context(dag_source("None", UTC_START), started)
    assert daily["ds"] == manual["ds"] == started[:10]
    assert daily["ts"] != manual["ts"]
    assert daily["data_interval_start"] == daily["data_interval_end"] == daily["logical_date"]


def test_start_time_forms():
    """SageMaker writes ISO 8601, `bridge run` an offset, the SDK's local mode epoch seconds."""
    forms = ["2026-11-05T14:37:12.250Z", "2026-11-05T15:37:12.25+01:00", "1793889432.25"]
    parsed = {step_runtime.parse_started(f) for f in forms}
    assert parsed == {datetime(2026, 11, 5, 14, 37, 12, 250000, tzinfo=UTC)}


def test_an_unreadable_start_fails_the_step_with_a_reason():
    with pytest.raises(SystemExit, match="cannot read the execution's start"):
        step_runtime.parse_started("yesterday")


# --- passed values win; templates are rendered after deriving -------------------------------------


def test_passed_values_are_kept_and_templates_rendered():
    started = "2026-11-05T14:37:12.250Z"
    source = dag_source('"@daily"', UTC_START)
    (dag,) = parse_source(source, "oracle_dag.py").dags
    schedule = run_clock(dag, source).to_dict()
    argv = [
        "--call",
        json.dumps({"context": {"ds": None, "ts": None}, "schedule": schedule, "started": None}),
        "--template",
        '["command"]',
        json.dumps(["cp raw_", {"context": "ds"}, ".csv ", None, "/", {"context": "ts"}]),
        "--set",
        '["context", "ds"]',
        "str",
        "2024-03-01",  # the bridge's Airflow operator passed ds ...
        "--set",
        '["context", "ts"]',
        "str",
        "",  # ... but not ts
        "--set",
        '["command", 3]',
        "str",
        "s3://bucket",  # a DAG param inside the same template
        "--set",
        '["started"]',
        "str",
        started,
    ]
    call = step_runtime.with_context(step_runtime.parse_args(argv))
    ts = airflow_context(source, started)["ts"]
    assert call["context"] == {"ds": "2024-03-01", "ts": ts}
    assert call["command"] == f"cp raw_2024-03-01.csv s3://bucket/{ts}"


def test_nothing_is_derived_without_a_start():
    """A step of an older translation passes no start: its empty values stay empty."""
    call = {
        "context": {"ds": ""},
        "op_kwargs": {"day": step_runtime.Template(["d=", {"context": "ds"}])},
    }
    assert step_runtime.with_context(call)["op_kwargs"]["day"] == "d="


# --- translation ----------------------------------------------------------------------------------

DATED_DAG = """\
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task


@task
def name_file(ds=None):
    return f"raw_{ds}.csv"


@task
def label(day: str, stamp: str):
    return f"{day}/{stamp}"


@task
def constant():
    return 1


with DAG("dated", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
    stamp = BashOperator(task_id="stamp", bash_command="echo stamp_{{ ds_nodash }}")
    name_file() >> stamp >> label(day="{{ ds }}", stamp=stamp.output) >> constant()
    BashOperator(task_id="long", bash_command="echo LONG_{{ ds }}")
    pull = "echo {{ ti.xcom_pull(task_ids='name_file') }}/{{ ds_nodash }}"
    stamp >> BashOperator(task_id="pull", bash_command=pull)  # an XCom inside the template
""".replace("LONG", "x" * 300)  # longer than one job argument (256 characters)


def translate(folder: Path, text: str, *, build: bool = True) -> Path:
    """Translate a DAG text into folder/out; `build`: also build definition.json (validate)."""
    path = folder / "dags" / "dated.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    (outcome,) = translate_file(path, Registry.default(), BridgeConfig(), folder / "out").dags
    assert outcome.pipeline is not None, outcome.diagnostics
    out = folder / "out" / outcome.dag_id
    if build:
        verdict = validate_folders([out])[str(out.resolve())]
        assert verdict["ok"], verdict
    return out


@pytest.fixture(scope="module")
def dated(tmp_path_factory) -> Path:
    return translate(tmp_path_factory.mktemp("dated"), DATED_DAG)


def test_steps_using_context_receive_the_start_and_the_schedule(dated):
    folder = dated
    definition = json.loads((folder / "definition.json").read_text())
    arguments = {
        s["Name"]: s["Arguments"]["AppSpecification"]["ContainerArguments"]
        for s in definition["Steps"]
        if s["Type"] == "Processing"
    }
    started = {"Get": "Execution.StartDateTime"}
    for name in ("name_file", "stamp", "label"):
        args = arguments[name]
        assert started in args, name
        schedule = static_call(folder, name)["schedule"]
        assert schedule == {"cron": "0 0 * * *", "timetable": "cron_trigger", "timezone": "UTC"}
    assert started not in arguments["constant"]
    # templated strings reach the runtime as pieces, not as a Join of an empty parameter
    # A bash command is its script, the context value a placeholder the runtime pastes in once
    # derived; its job carries the value (here the parameter), never a Join of an empty one.
    stamp = arguments["stamp"]
    assert (folder / "steps/stamp.sh").read_text().endswith("\necho stamp_${ds_nodash}\n")
    assert stamp[stamp.index("--context-ds-nodash") + 1] == {"Get": "Parameters.ds_nodash"}
    assert not any(isinstance(a, dict) and "Std:Join" in a for a in stamp)
    long = arguments["long"]
    assert all(len(a) <= 256 for a in long if isinstance(a, str)), "a job argument is too long"
    assert (folder / "steps/long.sh").read_text().endswith("\necho " + "x" * 300 + "_${ds}\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tasks"]["stamp"]["fidelity"] == "exact"


def test_a_schedule_the_step_cannot_follow_is_a_difference(tmp_path):
    text = DATED_DAG.replace('schedule="@daily"', 'schedule=[Asset("s3://bucket/x")]')
    text = text.replace(
        "from airflow.sdk import DAG, task", "from airflow.sdk import DAG, Asset, task"
    )
    folder = translate(tmp_path, text, build=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    tasks = manifest["tasks"]
    assert tasks["name_file"]["fidelity"] == "approximate"
    assert any("derived as for a manual run" in d for d in tasks["name_file"]["differences"])
    assert not any("manual run" in d for d in tasks["constant"]["differences"])


# --- end to end: translate, then run with no parameters --------------------------------------------


def today_in_airflow(
    source: str, before: datetime, after: datetime, key: str, path: str = "oracle_dag.py"
) -> set[str]:
    """`key` of the run Airflow creates for this DAG at the run's start (taken around it)."""
    return {airflow_context(source, t.isoformat(), path)[key] for t in (before, after)}


def test_a_run_without_parameters_derives_the_dates(dated, tmp_path):
    folder = dated
    before = datetime.now(UTC)
    record = run_local(folder, RunOptions(run_root=tmp_path / "runs"))
    after = datetime.now(UTC)
    assert record.status == SUCCEEDED, record.message
    xcom = {n: s.property_files["xcom"]["return_value"] for n, s in record.steps.items()}
    ds = today_in_airflow(DATED_DAG, before, after, "ds")
    ds_nodash = today_in_airflow(DATED_DAG, before, after, "ds_nodash")
    assert xcom["name_file"] in {f"raw_{d}.csv" for d in ds}
    assert xcom["stamp"] in {f"stamp_{d}" for d in ds_nodash}
    assert xcom["label"] == f"{xcom['name_file'][4:-4]}/{xcom['stamp']}"  # "{{ ds }}" op_kwarg
    assert xcom["long"] == "x" * 300 + "_" + xcom["name_file"][4:-4]  # rendered from parts
    assert xcom["pull"] == f"{xcom['name_file']}/{xcom['stamp'][6:]}"
    log = (Path(record.folder) / record.steps["stamp"].log).read_text()
    assert "derived from the start" in log

    passed = run_local(
        folder, RunOptions(parameters={"ds": "2024-03-01"}, run_root=tmp_path / "r2")
    )
    xcom = {n: s.property_files["xcom"]["return_value"] for n, s in passed.steps.items()}
    assert xcom["name_file"] == "raw_2024-03-01.csv"  # passed: kept
    assert xcom["label"].startswith("2024-03-01/stamp_")
    assert xcom["stamp"] in {f"stamp_{d}" for d in ds_nodash}  # not passed: derived


def bridge_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bridge.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


def test_bridge_run_of_file_handoff_writes_a_dated_file_name(tmp_path):
    """The sample that hands files through a worker folder, run by `bridge run` with no
    --param: the file names carry the date Airflow gives a run of this @daily DAG started now."""
    sample = ROOT / "sample_dags" / "file_handoff.py"
    translated = bridge_cli("translate", str(sample), "-o", str(tmp_path / "out"))
    assert translated.returncode == 0, translated.stdout[-2000:] + translated.stderr[-2000:]
    before = datetime.now(UTC)
    folder = tmp_path / "out" / "file_handoff"
    done = bridge_cli("run", str(folder), "--runs-dir", str(tmp_path / "runs"), "--json")
    after = datetime.now(UTC)
    assert done.returncode == 0, done.stderr[-2000:] or done.stdout[-2000:]
    record = json.loads(done.stdout)
    ds = today_in_airflow(sample.read_text(), before, after, "ds", str(sample))
    extract = record["steps"]["extract"]["property_files"]["xcom"]["return_value"]
    assert extract["file"] in {f"raw_{d}.csv" for d in ds}
    publish = record["steps"]["publish"]["property_files"]["xcom"]["return_value"]
    assert publish.split(":")[0] in ds  # "<day>: n orders, best region ..."
