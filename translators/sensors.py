"""Sensors: tasks that wait until something is true.

SageMaker Pipelines has no sensor, wait or sleep step, so no sensor translates exactly. Each family
gets the most faithful of three honest forms, and every one reports BRG205 with its reasoning:

- **a bounded poll step**: a ProcessingStep whose generated script checks the condition every
  `poke_interval` seconds and fails the step after the sensor's `timeout`, as a sensor in `poke`
  mode does. Used when a script can observe the condition from inside AWS: S3 keys, the clock, a
  Python callable, a shell command. The job holds (and bills) an instance while it waits;
  `mode="reschedule"` / `deferrable=True` free Airflow's worker slot, a job cannot. For long
  waits on an event (a file landing in S3), starting the pipeline from an EventBridge rule on the
  event is cheaper: see docs/rules-aws.md.
- **contraction**: when the step the sensor watches already waits for completion (an
  EmrStepSensor after EmrAddStepsOperator: the EMRStep ends when the EMR step ends).
- **manual**: when the condition lives where no step can look: another DAG's run
  (ExternalTaskSensor) or a worker's local disk (FileSensor). The task becomes a placeholder step
  that stops the pipeline until it is replaced; the reasoning says what to replace it with.
  A CallbackStep fits a condition that an external system reports (it waits on an SQS message
  answered with SendPipelineExecutionStepSuccess), but it needs that system: the bridge does not
  invent one.

Sensors the bridge does not know (other BaseSensorOperator subclasses) keep the generic
placeholder.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from bridge.parse.model import ArgValue, TaskModel
from bridge.translate.expressions import ExecVar, Join, StepOutput
from bridge.translate.rule_context import RuleContext
from bridge.translate.task_settings import duration_seconds
from translators.registry import Example, StepDraft, Translation, rule

_STD = "airflow.providers.standard.sensors"
_AWS = "airflow.providers.amazon.aws"
DEFAULT_TIMEOUT = 7 * 24 * 3600  # BaseSensorOperator's default: seven days
DEFAULT_POKE_INTERVAL = 60
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
POLL_DIFFERENCE = (
    "polls inside a processing job, which holds (and bills) an instance while it waits"
)

# --------------------------------------------------------------------------------------------
# Generated poll code. Standard library and boto3 only: it runs in the step image (the
# SageMaker scikit-learn image by default, Python 3.9), so no newer syntax.
# --------------------------------------------------------------------------------------------

POLL_LOOP = '''
import time


def bridge_poll(check, timeout, poke_interval, exponential_backoff=False, max_wait=None,
                what="the condition"):
    """Call `check()` until it is true, as an Airflow sensor in poke mode does; fail the step
    after `timeout` seconds. A result with `is_done` (PokeReturnValue) gives its `xcom_value`."""
    started = time.monotonic()
    pokes = 0
    while True:
        pokes += 1
        result = check()
        if hasattr(result, "is_done"):
            if result.is_done:
                return getattr(result, "xcom_value", None)
        elif result:
            return None
        elapsed = time.monotonic() - started
        if elapsed >= timeout:
            raise SystemExit(
                "sensor timed out after %.0f s (%d pokes) waiting for %s" % (elapsed, pokes, what)
            )
        interval = float(poke_interval)
        if exponential_backoff:
            interval = interval * 2 ** min(pokes - 1, 30)
            if max_wait:
                interval = min(interval, float(max_wait))
        time.sleep(max(0.0, min(interval, timeout - elapsed)))
'''

TIME_HELPERS = '''
import datetime
import re


def bridge_parse_time(text):
    """An ISO 8601 time stamp (pipeline execution variables, rendered templates) as aware UTC."""
    text = str(text).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:  # fractions with other than 3 or 6 digits (Python < 3.11)
        value = datetime.datetime.fromisoformat(re.sub(r"\\.\\d+", "", text))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def bridge_now():
    return datetime.datetime.now(datetime.timezone.utc)
'''

_S3_CODE = '''

def wait_for_s3_keys(keys, bucket_name=None, wildcard_match=False, use_regex=False,
                     timeout=604800, poke_interval=60, exponential_backoff=False, max_wait=None):
    """S3KeySensor: wait until every key exists (fnmatch with wildcard_match, re.match with
    use_regex, else an exact key). Keys may be s3://bucket/key URLs."""
    import fnmatch
    import re

    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3")

    def split(key):
        if key.startswith("s3://"):
            bucket, _, rest = key[5:].partition("/")
            return bucket, rest
        if not bucket_name:
            raise SystemExit("no bucket for key %r: give bucket_name or an s3:// URL" % key)
        return bucket_name, key

    def listed(bucket, prefix):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"]

    def exists(key):
        bucket, key = split(key)
        if wildcard_match:
            prefix = re.split(r"[\\[*?]", key, 1)[0]
            return any(fnmatch.fnmatch(k, key) for k in listed(bucket, prefix))
        if use_regex:
            return any(re.match(key, k) for k in listed(bucket, ""))
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    keys = [keys] if isinstance(keys, str) else list(keys)
    return bridge_poll(lambda: all(exists(k) for k in keys), timeout, poke_interval,
                       exponential_backoff, max_wait, "s3 keys %s" % keys)
'''

_TIME_CODE = '''

def wait_until(target, timeout=604800, poke_interval=60, exponential_backoff=False,
               max_wait=None):
    """DateTimeSensor: wait until the ISO time stamp `target` (UTC unless it says otherwise)."""
    moment = bridge_parse_time(target)
    return bridge_poll(lambda: bridge_now() > moment, timeout, poke_interval,
                       exponential_backoff, max_wait, "%s" % moment.isoformat())


def wait_after_start(start, delta, timeout=604800, poke_interval=60, exponential_backoff=False,
                     max_wait=None):
    """TimeDeltaSensor: wait until `delta` seconds after the pipeline execution started."""
    moment = bridge_parse_time(start) + datetime.timedelta(seconds=float(delta))
    return bridge_poll(lambda: bridge_now() > moment, timeout, poke_interval,
                       exponential_backoff, max_wait, "%s" % moment.isoformat())


def wait_for(seconds, timeout=604800, poke_interval=60, exponential_backoff=False,
             max_wait=None):
    """WaitSensor: wait `seconds` from the start of the step."""
    moment = bridge_now() + datetime.timedelta(seconds=float(seconds))
    return bridge_poll(lambda: bridge_now() > moment, timeout, min(poke_interval, seconds or 1),
                       exponential_backoff, max_wait, "%s" % moment.isoformat())


def wait_until_time_of_day(target_time, timeout=604800, poke_interval=60,
                           exponential_backoff=False, max_wait=None):
    """TimeSensor: wait until `target_time` (HH:MM:SS, UTC) on the day the step starts."""
    hour, minute, second = (int(float(p)) for p in (target_time.split(":") + ["0", "0"])[:3])
    moment = bridge_now().replace(hour=hour, minute=minute, second=second, microsecond=0)
    return bridge_poll(lambda: bridge_now() > moment, timeout, poke_interval,
                       exponential_backoff, max_wait, "%s" % moment.isoformat())


def wait_for_weekday(week_days, logical_date=None, timeout=604800, poke_interval=60,
                     exponential_backoff=False, max_wait=None):
    """DayOfWeekSensor: wait until the day (UTC) is one of `week_days`; with a logical date,
    check that date's day instead (it never changes: the check passes or times out)."""
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    wanted = set(d.lower() for d in week_days)

    def today():
        day = bridge_parse_time(logical_date) if logical_date else bridge_now()
        return names[day.weekday()] in wanted

    return bridge_poll(today, timeout, poke_interval, exponential_backoff, max_wait,
                       "a day in %s" % sorted(wanted))
'''

_BASH_CODE = '''

def wait_for_bash(command, env=None, retry_exit_code=None, timeout=604800, poke_interval=60,
                  exponential_backoff=False, max_wait=None):
    """BashSensor: run the command until it exits 0. With retry_exit_code, any other non-zero
    exit code fails the step at once."""
    import os
    import subprocess

    environment = dict(env) if env else dict(os.environ)

    def check():
        done = subprocess.run(["bash", "-c", command], env=environment, check=False)
        if done.returncode == 0:
            return True
        if retry_exit_code is not None and done.returncode != int(retry_exit_code):
            raise SystemExit("command exited with return code %d" % done.returncode)
        return False

    return bridge_poll(check, timeout, poke_interval, exponential_backoff, max_wait, command)
'''

_POKE_SHIM = '''

class PokeReturnValue:
    """Stand-in for Airflow's PokeReturnValue (the step image has no Airflow)."""

    def __init__(self, is_done, xcom_value=None):
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self):
        return bool(self.is_done)
'''


# --------------------------------------------------------------------------------------------
# Helpers shared by the sensor rules (and translators.airflow_ops / translators.emr).
# --------------------------------------------------------------------------------------------


def literal(task: TaskModel, name: str, default: Any = None) -> Any:
    """A keyword argument's literal value, else `default`."""
    arg = task.kwargs.get(name)
    if arg is None or arg.kind != "literal":
        return default
    return arg.value


def seconds(task: TaskModel, name: str, ctx: RuleContext, default: float | None) -> float | None:
    """A duration argument (number of seconds or timedelta) from the task, else default_args."""
    arg = task.kwargs.get(name)
    if arg is not None:
        value = arg.value if arg.kind == "literal" else {"source": arg.source}
        return duration_seconds(value)
    if name in ctx.dag.default_args:
        return duration_seconds(ctx.dag.default_args[name])
    return default


def poke_settings(task: TaskModel, ctx: RuleContext) -> tuple[dict[str, Any], list[str]]:
    """timeout, poke_interval, exponential_backoff, max_wait of a sensor, and what differs."""
    differences = []
    timeout = seconds(task, "timeout", ctx, DEFAULT_TIMEOUT)
    interval = seconds(task, "poke_interval", ctx, DEFAULT_POKE_INTERVAL)
    if timeout is None:
        differences.append(
            f"timeout `{_source(task, 'timeout')}` is not a literal: seven days used"
        )
        timeout = DEFAULT_TIMEOUT
    if interval is None:
        differences.append(
            f"poke_interval `{_source(task, 'poke_interval')}` is not a literal: 60 s used"
        )
        interval = DEFAULT_POKE_INTERVAL
    settings = {
        "timeout": timeout,
        "poke_interval": interval,
        "exponential_backoff": bool(literal(task, "exponential_backoff", False)),
        "max_wait": seconds(task, "max_wait", ctx, None),
    }
    if literal(task, "soft_fail", False):
        differences.append(
            "soft_fail: on timeout Airflow skips the sensor and its downstream tasks; the step "
            "fails the pipeline execution"
        )
    if literal(task, "never_fail", False) or literal(task, "silent_fail", False):
        differences.append("never_fail / silent_fail: errors while poking fail the step")
    return settings, differences


def _source(task: TaskModel, name: str) -> str:
    arg = task.kwargs.get(name)
    return "" if arg is None else (arg.source or repr(arg.value))


def poll_draft(
    task: TaskModel, ctx: RuleContext, entry: str, code: str, kwargs: dict[str, Any]
) -> StepDraft:
    """A ProcessingStep running generated poll code: `entry(**kwargs)` through the bridge step
    runtime (run-time values in kwargs arrive as arguments, its result is the step's XCom)."""
    return StepDraft(
        "Processing",
        {
            "script": {"mode": "python", "entry": entry, "body": code.strip() + "\n", "pulls": []},
            "call": {"op_kwargs": kwargs, "context": {}, "reads": sorted(_reads(kwargs))},
            "image": "python",
        },
    )


def _reads(value: Any) -> set[str]:
    if isinstance(value, StepOutput):
        return {value.task_id}
    if isinstance(value, Join):
        return set().union(*(_reads(p) for p in value.parts)) if value.parts else set()
    if isinstance(value, dict):
        return set().union(*(_reads(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_reads(v) for v in value)) if value else set()
    return set()


def manual(task: TaskModel, ctx: RuleContext, reason: str, *more: str) -> Translation:
    """A known operator the bridge cannot translate: a placeholder step that keeps the task's
    place (a FailStep stopping the pipeline there), with the reason as its difference."""
    ctx.diagnose("BRG205", task.line, f"task `{task.task_id}`: {reason}")
    draft = StepDraft(
        "Placeholder",
        {"operator": task.operator, "line": task.line, "source": ctx.task_source(task)},
    )
    return Translation("step", "manual", [draft], [reason, *more])


def sensor_poll(
    task: TaskModel,
    ctx: RuleContext,
    entry: str,
    code: str,
    kwargs: dict[str, Any],
    differences: list[str],
    why: str,
) -> Translation:
    """The bounded poll translation of a sensor, with its BRG205 diagnostic."""
    if task.mapped:
        return manual(task, ctx, "a sensor mapped over a run-time value: no poll step for it")
    settings, more = poke_settings(task, ctx)
    body = POLL_LOOP + (TIME_HELPERS if "bridge_parse_time" in code else "") + code
    draft = poll_draft(task, ctx, entry, body, {**kwargs, **settings})
    ctx.diagnose("BRG205", task.line, f"task `{task.task_id}`: {why}")
    return Translation("step", "approximate", [draft], [POLL_DIFFERENCE, *differences, *more])


def _value(task: TaskModel, ctx: RuleContext, name: str, problems: list[str]) -> Any:
    value, more = ctx.value(task.kwargs.get(name), task)
    problems.extend(more)
    return value


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@rule(
    f"{_AWS}.sensors.s3.S3KeySensor",
    examples=[
        Example(
            "an S3KeySensor becomes a step that polls for the key until the sensor's timeout",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
with DAG("d"):
    S3KeySensor(task_id="wait", bucket_key="s3://bucket/{{ ds }}/_SUCCESS", timeout=3600)
""",
            {"wait": {"fate": "step", "fidelity": "approximate", "steps": ["wait"]}},
        )
    ],
)
def s3_key_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3KeySensor → a ProcessingStep that polls S3 (head_object, or a listing with
    `wildcard_match` / `use_regex`) every `poke_interval` seconds until every key exists, and
    fails after `timeout` seconds. Templated keys become pipeline expressions. Approximate: the
    job holds an instance while it waits, `check_fn` and `metadata_keys` are not applied, and the
    pipeline's execution role needs s3:GetObject / s3:ListBucket on the bucket. For a long wait
    on a file, an EventBridge rule on the S3 event that starts the pipeline is the cheaper
    design."""
    differences: list[str] = []
    keys = _value(task, ctx, "bucket_key", differences)
    bucket = _value(task, ctx, "bucket_name", differences)
    if keys is None:
        return manual(task, ctx, "the bucket_key is not known statically: no key to poll for")
    if task.kwargs.get("check_fn") is not None:
        differences.append("check_fn is not applied: the step only checks that the keys exist")
    if task.kwargs.get("metadata_keys") is not None:
        differences.append("metadata_keys are not read")
    conn = literal(task, "aws_conn_id", "aws_default")
    if conn != "aws_default":
        differences.append(
            f"aws_conn_id `{conn}`: the step uses the pipeline's execution role instead"
        )
    kwargs = {
        "keys": keys,
        "bucket_name": bucket,
        "wildcard_match": bool(literal(task, "wildcard_match", False)),
        "use_regex": bool(literal(task, "use_regex", False)),
    }
    return sensor_poll(
        task,
        ctx,
        "wait_for_s3_keys",
        _S3_CODE,
        kwargs,
        differences,
        "S3KeySensor becomes a bounded poll step (checks S3 every poke_interval until timeout); "
        "an S3 event rule starting the pipeline avoids the waiting instance",
    )


@rule(
    f"{_STD}.time_delta.TimeDeltaSensor",
    f"{_STD}.time_delta.TimeDeltaSensorAsync",
    examples=[
        Example(
            "a TimeDeltaSensor waits for the delta after the execution started",
            """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
with DAG("d", schedule="@daily"):
    TimeDeltaSensor(task_id="wait", delta=datetime.timedelta(minutes=30))
""",
            {"wait": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def time_delta_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """TimeDeltaSensor → a poll step that waits until `delta` after the pipeline execution's
    start (`ExecutionVariables.START_DATETIME`). Airflow counts from the run's
    `data_interval_end`; a scheduled execution starts when its schedule fires, which is that
    moment, so the two agree for scheduled runs and differ for runs started by hand or late.
    An integer delta is minutes, as in Airflow."""
    arg = task.kwargs.get("delta")
    if arg is not None and arg.kind == "literal" and isinstance(arg.value, (int, float)):
        delta = float(arg.value) * 60
    else:
        delta = seconds(task, "delta", ctx, None)
    if delta is None:
        return manual(task, ctx, f"the delta `{_source(task, 'delta')}` is not known statically")
    start = Join((ExecVar("START_DATETIME"),))
    return sensor_poll(
        task,
        ctx,
        "wait_after_start",
        _TIME_CODE,
        {"start": start, "delta": delta},
        [
            "the delta counts from the pipeline execution's start; Airflow counts from the "
            "run's data_interval_end (the same moment for scheduled runs)"
        ],
        "TimeDeltaSensor becomes a poll step that waits until the execution start plus delta",
    )


@rule(
    f"{_STD}.time_delta.WaitSensor",
    examples=[
        Example(
            "a WaitSensor sleeps in a step",
            """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.sensors.time_delta import WaitSensor
with DAG("d"):
    WaitSensor(task_id="pause", time_to_wait=datetime.timedelta(minutes=2))
""",
            {"pause": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def wait_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """WaitSensor → a step that waits `time_to_wait` from its own start (an integer is
    minutes, as in Airflow). Approximate only in that the wait holds a processing instance."""
    arg = task.kwargs.get("time_to_wait")
    if arg is not None and arg.kind == "literal" and isinstance(arg.value, (int, float)):
        wait = float(arg.value) * 60
    else:
        wait = seconds(task, "time_to_wait", ctx, None)
    if wait is None:
        return manual(
            task, ctx, f"time_to_wait `{_source(task, 'time_to_wait')}` is not known statically"
        )
    return sensor_poll(
        task,
        ctx,
        "wait_for",
        _TIME_CODE,
        {"seconds": wait},
        [],
        "WaitSensor becomes a step that sleeps for time_to_wait",
    )


@rule(
    f"{_STD}.date_time.DateTimeSensor",
    f"{_STD}.date_time.DateTimeSensorAsync",
    examples=[
        Example(
            "a DateTimeSensor with a literal moment becomes a poll step waiting for it",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.date_time import DateTimeSensor
with DAG("d"):
    DateTimeSensor(task_id="until", target_time="2030-01-01T06:00:00+00:00")
""",
            {"until": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def date_time_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """DateTimeSensor → a poll step that waits until `target_time`: an ISO string, a template
    the bridge translates (`{{ ds }}`, params), or a literal `datetime(...)` call. Naive times are
    UTC. A template with Airflow macros (`macros.timedelta`, date arithmetic) cannot be evaluated
    outside Airflow: manual."""
    differences: list[str] = []
    arg = task.kwargs.get("target_time")
    target: Any = None
    if arg is not None and arg.kind == "expr":
        target = _datetime_literal(arg.source or "")
    elif arg is not None:
        target = _value(task, ctx, "target_time", differences)
    if target is None or differences:
        return manual(
            task,
            ctx,
            f"target_time `{_source(task, 'target_time')}` cannot be computed outside Airflow",
            *differences,
        )
    return sensor_poll(
        task,
        ctx,
        "wait_until",
        _TIME_CODE,
        {"target": target},
        ["a target time without a timezone is read as UTC"],
        "DateTimeSensor becomes a poll step that waits until target_time",
    )


@rule(
    f"{_STD}.time.TimeSensor",
    f"{_STD}.time.TimeSensorAsync",
    examples=[
        Example(
            "a TimeSensor with a literal time waits for that time of the day",
            """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.sensors.time import TimeSensor
with DAG("d"):
    TimeSensor(task_id="at_six", target_time=datetime.time(6, 0))
""",
            {"at_six": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def time_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """TimeSensor → a poll step that waits until `target_time` (a literal `time(h, m, s)`) on the
    day the step starts, in UTC. Airflow combines the time with the date in the DAG's timezone
    when it parses the file. A target time computed in the DAG file (`datetime.now()...`) is
    only known when Airflow parses it: manual."""
    arg = task.kwargs.get("target_time")
    target = _time_literal(arg.source or "") if arg is not None and arg.kind == "expr" else None
    if target is None:
        return manual(
            task,
            ctx,
            f"target_time `{_source(task, 'target_time')}` is computed when Airflow parses the "
            "file; give a literal datetime.time(...) or replace the placeholder",
        )
    return sensor_poll(
        task,
        ctx,
        "wait_until_time_of_day",
        _TIME_CODE,
        {"target_time": target},
        ["the time of day is UTC on the day the step starts; Airflow uses the DAG's timezone"],
        "TimeSensor becomes a poll step that waits until the time of day",
    )


@rule(
    f"{_STD}.weekday.DayOfWeekSensor",
    examples=[
        Example(
            "a DayOfWeekSensor polls until the day is one of its week days",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
from airflow.providers.standard.utils.weekday import WeekDay
with DAG("d"):
    DayOfWeekSensor(task_id="weekend", week_day={WeekDay.SATURDAY, WeekDay.SUNDAY})
""",
            {"weekend": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def day_of_week_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """DayOfWeekSensor → a poll step that waits until the current day (UTC) is one of
    `week_day` (names, `WeekDay.X`, or a set of them). With `use_task_logical_date=True` it
    checks the `logical_date` pipeline parameter instead (filled by the bridge's Airflow
    operator; empty when EventBridge starts the pipeline, then today is used)."""
    days = _week_days(task.kwargs.get("week_day"))
    if not days:
        return manual(task, ctx, f"week_day `{_source(task, 'week_day')}` is not known statically")
    kwargs: dict[str, Any] = {"week_days": days}
    differences = ["days are UTC days; Airflow uses the DAG's timezone"]
    if literal(task, "use_task_logical_date", False):
        kwargs["logical_date"], _ = ctx.template("{{ logical_date }}", task)
        differences.append(
            "the logical date is the `logical_date` parameter; a pipeline started by its "
            "schedule has none and checks today instead"
        )
    return sensor_poll(
        task,
        ctx,
        "wait_for_weekday",
        _TIME_CODE,
        kwargs,
        differences,
        "DayOfWeekSensor becomes a poll step that waits for one of the week days",
    )


@rule(
    f"{_STD}.bash.BashSensor",
    examples=[
        Example(
            "a BashSensor re-runs its command until it exits 0",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.bash import BashSensor
with DAG("d"):
    BashSensor(task_id="ready", bash_command="test -s /tmp/x", poke_interval=30, timeout=600)
""",
            {"ready": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def bash_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """BashSensor → a poll step that runs the command with `bash -c` until it exits 0; with
    `retry_exit_code`, another non-zero code fails the step at once, as in Airflow. Templated
    commands become pipeline expressions; `env` replaces the environment. The command runs in
    the step image, not on an Airflow worker: paths and tools it uses must exist there."""
    differences: list[str] = []
    command = _value(task, ctx, "bash_command", differences)
    env = _value(task, ctx, "env", differences)
    if command is None:
        return manual(task, ctx, "the bash_command is not known statically", *differences)
    differences.append("the command runs in the step image, not on an Airflow worker")
    kwargs = {"command": command, "env": env, "retry_exit_code": literal(task, "retry_exit_code")}
    return sensor_poll(
        task,
        ctx,
        "wait_for_bash",
        _BASH_CODE,
        kwargs,
        differences,
        "BashSensor becomes a poll step re-running the command every poke_interval",
    )


@rule(
    f"{_STD}.python.PythonSensor",
    "airflow.sdk.task.sensor",
    examples=[
        Example(
            "a @task.sensor function is called every poke_interval until it says done",
            """
from airflow.sdk import DAG, PokeReturnValue, task
with DAG("d"):
    @task.sensor(poke_interval=30, timeout=600)
    def ready() -> PokeReturnValue:
        return PokeReturnValue(is_done=True, xcom_value="ok")
    ready()
""",
            {"ready": {"fate": "step", "fidelity": "approximate", "steps": ["ready"]}},
        )
    ],
)
def python_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """PythonSensor / `@task.sensor` → a poll step: the callable is extracted as for `@task`
    (translators.python) and called every `poke_interval` seconds until it returns a true value
    or a PokeReturnValue with `is_done`; its `xcom_value` becomes the step's XCom. A stand-in
    PokeReturnValue replaces Airflow's, so the script needs no Airflow. The check runs in the
    step image, not on an Airflow worker."""
    from translators.python import script_step

    draft, differences = script_step(task, ctx)
    script = draft.spec["script"]
    entry, body = script.get("entry"), script.get("body")
    if not entry or not body or task.mapped:
        why = "a mapped sensor" if task.mapped else "the sensor callable cannot be extracted"
        return manual(task, ctx, f"{why}: no poll step is generated", *differences)
    body, shimmed = _shim_poke_return_value(body)
    if shimmed:
        differences = [d for d in differences if "`PokeReturnValue`" not in d]
    settings, more = poke_settings(task, ctx)
    wrapper = f"bridge_sensor_{entry}"
    script["body"] = (
        POLL_LOOP
        + (_POKE_SHIM if shimmed else "")
        + "\n\n"
        + body
        + _wrapper_code(wrapper, entry, settings, task.task_id)
    )
    script["entry"] = wrapper
    ctx.diagnose(
        "BRG205",
        task.line,
        f"task `{task.task_id}`: the sensor callable runs in a poll step every poke_interval "
        "until it is done or the timeout passes",
    )
    return Translation("step", "approximate", [draft], [POLL_DIFFERENCE, *differences, *more])


def _wrapper_code(wrapper: str, entry: str, settings: dict, task_id: str) -> str:
    return f'''


def {wrapper}(*args, **kwargs):
    """Poke `{entry}` as Airflow's sensor loop does (timeout and poke_interval of the task)."""
    import inspect

    parameters = inspect.signature({entry}).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        kwargs = {{k: v for k, v in kwargs.items() if k in parameters}}
    return bridge_poll(
        lambda: {entry}(*args, **kwargs),
        {settings["timeout"]!r},
        {settings["poke_interval"]!r},
        {settings["exponential_backoff"]!r},
        {settings["max_wait"]!r},
        {f"{entry} of task {task_id}"!r},
    )
'''


def _shim_poke_return_value(code: str) -> tuple[str, bool]:
    """Drop `PokeReturnValue` from Airflow imports in extracted code (a stand-in replaces it)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, False
    lines = code.splitlines(keepends=True)
    edits = []
    for node in tree.body:
        if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow")):
            continue
        names = [a for a in node.names if a.name != "PokeReturnValue"]
        if len(names) == len(node.names):
            continue
        keep = ast.unparse(ast.ImportFrom(node.module, names, node.level)) + "\n" if names else ""
        edits.append((node.lineno - 1, node.end_lineno or node.lineno, keep))
    for start, end, text in reversed(edits):
        lines[start:end] = [text]
    return "".join(lines), bool(edits)


@rule(
    f"{_STD}.filesystem.FileSensor",
    examples=[
        Example(
            "a FileSensor has no equivalent: manual",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.filesystem import FileSensor
with DAG("d"):
    FileSensor(task_id="wait_file", filepath="/data/in.csv")
""",
            {"wait_file": {"fate": "step", "fidelity": "manual"}},
        )
    ],
)
def file_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """FileSensor → manual. It watches a path on the Airflow workers' file system (through
    `fs_conn_id`); pipeline steps run in fresh containers that share no disk with anything. Move
    the file to S3 and use an S3KeySensor (a poll step) or an S3 event rule that starts the
    pipeline."""
    return manual(
        task,
        ctx,
        "FileSensor watches the Airflow workers' file system, which no pipeline step can see: "
        "land the file in S3 and wait with S3KeySensor, or start the pipeline from an S3 event",
    )


@rule(
    f"{_STD}.external_task.ExternalTaskSensor",
    examples=[
        Example(
            "an ExternalTaskSensor is a cross-DAG dependency: manual",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
with DAG("d"):
    ExternalTaskSensor(task_id="upstream_done", external_dag_id="other", external_task_id="t")
""",
            {"upstream_done": {"fate": "step", "fidelity": "manual"}},
        )
    ],
)
def external_task_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """ExternalTaskSensor → manual. It waits for a task of another DAG's run with the same
    logical date; pipeline executions have no logical date to match, and each DAG becomes its
    own pipeline. Chain the pipelines instead: an EventBridge rule on the other pipeline's
    "execution succeeded" event that starts this one (then drop the sensor), or a CallbackStep
    here that a small Lambda on that event completes with SendPipelineExecutionStepSuccess."""
    other = literal(task, "external_dag_id") or _source(task, "external_dag_id")
    return manual(
        task,
        ctx,
        f"ExternalTaskSensor waits for DAG `{other}`, a separate pipeline without logical dates: "
        "start this pipeline from an EventBridge rule on that pipeline's success, or complete a "
        "CallbackStep from that event",
    )


@rule(
    f"{_STD}.external_task.ExternalTaskMarker",
    examples=[
        Example(
            "an ExternalTaskMarker does nothing when it runs: contracted",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker
with DAG("d"):
    ExternalTaskMarker(task_id="mark", external_dag_id="child", external_task_id="t")
""",
            {"mark": {"fate": "contracted", "fidelity": "approximate"}},
        )
    ],
)
def external_task_marker(task: TaskModel, ctx: RuleContext) -> Translation:
    """ExternalTaskMarker → contracted. At run time it does nothing (an EmptyOperator); it only
    makes clearing this task in the Airflow UI clear the marked task of another DAG, which
    pipelines have no notion of."""
    return Translation(
        "contracted",
        "approximate",
        [],
        ["clearing it does not clear the external DAG's task: pipelines have no cross-run clear"],
    )


# --------------------------------------------------------------------------------------------
# Static value readers
# --------------------------------------------------------------------------------------------


def _numbers(call: ast.Call) -> list[int] | None:
    out = []
    for node in call.args:
        if not isinstance(node, ast.Constant) or not isinstance(node.value, int):
            return None
        out.append(node.value)
    return out


def _call(source: str) -> ast.Call | None:
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Call) else None


def _func_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _time_literal(source: str) -> str | None:
    """`datetime.time(6, 30)` -> "06:30:00"."""
    call = _call(source)
    if call is None or _func_name(call) != "time" or call.keywords:
        return None
    parts = _numbers(call)
    if not parts or len(parts) > 3:
        return None
    parts = (parts + [0, 0])[:3]
    return f"{parts[0]:02d}:{parts[1]:02d}:{parts[2]:02d}"


def _datetime_literal(source: str) -> str | None:
    """`datetime.datetime(2030, 1, 1, 6)` / `pendulum.datetime(...)` -> an ISO string (UTC)."""
    call = _call(source)
    if call is None or _func_name(call) != "datetime":
        return None
    parts = _numbers(call)
    if not parts or len(parts) < 3 or len(parts) > 6:
        return None
    for k in call.keywords:
        if k.arg == "tz" and isinstance(k.value, ast.Constant) and k.value.value in ("UTC", "utc"):
            continue
        return None
    y, mo, d, *rest = parts
    h, mi, s = (rest + [0, 0, 0])[:3]
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}+00:00"


def _week_days(arg: ArgValue | None) -> list[str]:
    """Week day names from "Monday", ["Saturday", "Sunday"], WeekDay.MONDAY, {WeekDay.X, ...}."""
    if arg is None:
        return []
    if arg.kind == "literal":
        values = arg.value if isinstance(arg.value, list) else [arg.value]
        days = [str(v).lower() for v in values]
    else:
        source = arg.source or ""
        days = [m.lower() for m in re.findall(r"WeekDay\.([A-Z]+)", source)]
        days += [m.lower() for m in re.findall(r"['\"](\w+)['\"]", source)]
    if not days or any(d not in _WEEKDAYS for d in days):
        return []
    return sorted(set(days), key=_WEEKDAYS.index)
