"""Clock sensors: TimeDeltaSensor, WaitSensor, DateTimeSensor, TimeSensor, DayOfWeekSensor.

Each becomes a bounded poll step (see translators/sensors.py for the three forms a sensor takes):
a ProcessingStep whose generated script checks the clock every `poke_interval` seconds and fails
after the sensor's `timeout`. Target times must be known statically (literals, templates the
bridge translates); one computed when Airflow parses the file is manual.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from bridge.parse.model import ArgValue, TaskModel
from bridge.translate.expressions import ExecVar, Join
from bridge.translate.rule_context import RuleContext
from translators.common import kwarg_source, kwarg_value, literal, manual, seconds, sensor_poll
from translators.registry import Example, Translation, rule

_STD = "airflow.providers.standard.sensors"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

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
        return manual(
            task, ctx, f"the delta `{kwarg_source(task, 'delta')}` is not known statically"
        )
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
            task,
            ctx,
            f"time_to_wait `{kwarg_source(task, 'time_to_wait')}` is not known statically",
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
        target = kwarg_value(task, ctx, "target_time", differences)
    if target is None or differences:
        return manual(
            task,
            ctx,
            f"target_time `{kwarg_source(task, 'target_time')}` cannot be computed outside Airflow",
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
            f"target_time `{kwarg_source(task, 'target_time')}` is computed when Airflow parses the "
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
        return manual(
            task, ctx, f"week_day `{kwarg_source(task, 'week_day')}` is not known statically"
        )
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
