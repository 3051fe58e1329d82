"""Airflow schedules -> EventBridge expressions (bridge.translate.schedule)."""

from __future__ import annotations

from datetime import datetime

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.translate.schedule import PRESETS, cron_to_eventbridge, to_eventbridge


def expr(source: str) -> dict:
    """What the static parser gives for a schedule it keeps as source text."""
    return {"kind": "expr", "source": source}


# --- an inverse for the oracle: EventBridge 6 fields back to a 5-field Unix cron ---------------


def eventbridge_to_unix(fields: str) -> str:
    minute, hour, dom, month, dow, year = fields.split()
    assert year == "*"
    assert "?" in (dom, dow) and (dom, dow) != ("?", "?")
    return " ".join([minute, hour, "*" if dom == "?" else dom, month, _unix_dow(dow)])


def _unix_dow(dow: str) -> str:
    if dow == "?":
        return "*"
    return ",".join(_unix_dow_part(p) for p in dow.split(","))


def _unix_dow_part(part: str) -> str:
    day, hash_, nth = part.partition("#")
    if day.isalpha() or "-" in day and day.replace("-", "").isalpha():
        return part  # names mean the same in both
    unix = "-".join(str(int(d) - 1) for d in day.split("-"))
    return unix + hash_ + nth


def fire_times(cron: str, count: int = 20) -> list[datetime]:
    it = croniter(cron, datetime(2023, 12, 30, 7, 13))
    return [it.get_next(datetime) for _ in range(count)]


# --- random valid Unix crons ----------------------------------------------------------------------

DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@st.composite
def element(draw, low: int, high: int, names: list[str] | None = None) -> str:
    kind = draw(
        st.sampled_from(["value", "range", "wrap", "range_step", "star_step", "value_step"])
    )
    a, b = sorted(draw(st.lists(st.integers(low, high), min_size=2, max_size=2, unique=True)))
    if kind == "wrap":  # 22-2: past the field's end and round
        a, b = b, a
    step = draw(st.integers(1, max(1, high - low)))
    if names and kind in ("value", "range", "wrap") and draw(st.booleans()):
        a, b = min(a, len(names) - 1), min(b, len(names) - 1)  # (7 is Sunday again as a number)
        if kind == "value" or a == b:
            return names[a]
        return f"{names[a]}-{names[b]}"
    return {
        "value": f"{a}",
        "range": f"{a}-{b}",
        "wrap": f"{a}-{b}",
        "range_step": f"{a}-{b}/{step}",
        "star_step": f"*/{step}",
        "value_step": f"{a}/{step}",
    }[kind]


def field(low: int, high: int, names: list[str] | None = None):
    lists = st.lists(element(low, high, names), min_size=1, max_size=3).map(",".join)
    return st.one_of(st.just("*"), lists)


@st.composite
def unix_cron(draw) -> str:
    minute = draw(field(0, 59))
    hour = draw(field(0, 23))
    month = draw(field(1, 12))
    which = draw(st.sampled_from(["dom", "dow", "neither"]))
    dom = draw(field(1, 28)) if which == "dom" else "*"  # (1-28: every month has these)
    dow = draw(field(0, 7, DAY_NAMES)) if which == "dow" else "*"
    return f"{minute} {hour} {dom} {month} {dow}"


@settings(max_examples=50, deadline=None)
@given(unix_cron())
def test_converted_cron_fires_at_the_same_times(cron: str) -> None:
    result = to_eventbridge(cron)
    if result.problem is not None:  # long step lists can pass EventBridge's 256 characters
        assert "longer than 256" in result.problem
        return
    fields = result.pipeline_schedule_kwargs()["cron"]
    assert fire_times(eventbridge_to_unix(fields)) == fire_times(cron)


# --- examples -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("@hourly", "cron(0 * * * ? *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@weekly", "cron(0 0 ? * 1 *)"),
        ("@monthly", "cron(0 0 1 * ? *)"),
        ("@quarterly", "cron(0 0 1 1/3 ? *)"),
        ("@yearly", "cron(0 0 1 1 ? *)"),
        ("@annually", "cron(0 0 1 1 ? *)"),
    ],
)
def test_presets(preset: str, expected: str) -> None:
    result = to_eventbridge(preset)
    assert (result.expression, result.kind, result.problem) == (expected, "cron", None)
    # the preset fires when its cron does
    assert fire_times(eventbridge_to_unix(expected[5:-1])) == fire_times(PRESETS[preset])


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("*/5 * * * *", "0/5 * * * ? *"),
        ("0 3 * * *", "0 3 * * ? *"),
        ("0 0 * * MON-FRI", "0 0 ? * MON-FRI *"),
        ("0 0 * * mon-fri", "0 0 ? * MON-FRI *"),
        ("0 0 * * 1-5", "0 0 ? * 2-6 *"),
        ("0 0 * * 0", "0 0 ? * 1 *"),
        ("0 0 * * 7", "0 0 ? * 1 *"),
        ("0 0 * * 5-7", "0 0 ? * 1,6,7 *"),
        ("0 0 * * */2", "0 0 ? * 1,3,5,7 *"),
        ("0 0 * * 5#2", "0 0 ? * 6#2 *"),
        ("0 0 L * *", "0 0 L * ? *"),
        ("0 0 * jan,jul *", "0 0 * 1,7 ? *"),
        ("0 22-1 * * *", "0 22-23,0-1 * * ? *"),
        ("0 0 * * FRI-MON", "0 0 ? * 1,2,6,7 *"),
        ("5-50/15 2 * * *", "5,20,35,50 2 * * ? *"),
        ("0 0 1,15 * ?", "0 0 1,15 * ? *"),
    ],
)
def test_cron_fields(cron: str, expected: str) -> None:
    assert to_eventbridge(cron).pipeline_schedule_kwargs() == {"cron": expected}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("timedelta(minutes=30)", "rate(30 minutes)"),
        ("timedelta(minutes=1)", "rate(1 minute)"),
        ("timedelta(hours=1)", "rate(1 hour)"),
        ("datetime.timedelta(hours=4)", "rate(4 hours)"),
        ("timedelta(days=1)", "rate(1 day)"),
        ("timedelta(1)", "rate(1 day)"),
        ("timedelta(weeks=1)", "rate(7 days)"),
        ("timedelta(hours=1, minutes=30)", "rate(90 minutes)"),
        ("timedelta(hours=36)", "rate(36 hours)"),
        ("pendulum.duration(days=2)", "rate(2 days)"),
        ("DeltaTriggerTimetable(timedelta(hours=2))", "rate(2 hours)"),
    ],
)
def test_timedelta_becomes_rate(source: str, expected: str) -> None:
    result = to_eventbridge(expr(source))
    assert (result.expression, result.kind, result.problem) == (expected, "rate", None)


def test_rate_kwargs_for_pipeline_schedule() -> None:
    assert to_eventbridge(expr("timedelta(days=1)")).pipeline_schedule_kwargs() == {
        "rate": (1, "day")
    }
    assert to_eventbridge(expr("timedelta(minutes=5)")).pipeline_schedule_kwargs() == {
        "rate": (5, "minutes")
    }


def test_utc_cron_timetable_converts() -> None:
    result = to_eventbridge(expr('CronTriggerTimetable("0 1 * * 3", timezone="UTC")'))
    assert (result.expression, result.problem) == ("cron(0 1 ? * 4 *)", None)


@pytest.mark.parametrize("schedule", [None, "None"])
def test_no_schedule(schedule) -> None:
    result = to_eventbridge(schedule)
    assert (result.expression, result.kind, result.problem) == (None, None, None)
    assert result.pipeline_schedule_kwargs() == {}


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("@once", "single time"),
        ("@continuous", "as soon as"),
        ("@every_day", "not an Airflow preset"),
        ("0 0 1 * 1", "OR"),
        ("0 0 * *", "5 fields"),
        ("61 * * * *", "minute"),
        ("0 0 * * 5L", "last-weekday"),
        ("0 0 * * L5", "last-weekday"),
        ("3-3 * * * *", "as `*`"),
        ("0 0 * * SUN-SUN", "as `*`"),
        ("0 22-2/2 * * *", "wrapping range"),
        (expr("timedelta(seconds=90)"), "whole number of minutes"),
        (expr("timedelta(minutes=0)"), "whole number of minutes"),
        (expr("timedelta(minutes=N)"), "literal number"),
        (expr("pendulum.duration(months=1)"), "not a fixed interval"),
        (expr("[dag1_asset]"), "event-driven"),
        (expr("(dag1_asset | dag2_asset)"), "event-driven"),
        (expr('Asset("s3://bucket/x")'), "event-driven"),
        (expr('[Asset("s3://bucket/x")]'), "producer"),
        (expr("PartitionedAssetTimetable(assets=combined_player_stats)"), "event-driven"),
        (expr('CronTriggerTimetable("0 1 * * 3", timezone="Europe/Paris")'), "UTC"),
        (expr("AfterWorkdayTimetable()"), "custom timetable"),
        (expr("SCHEDULE_FROM_ELSEWHERE"), "not statically known"),
        (expr("timedelta(minutes="), "not a Python expression"),
        ({"kind": "name"}, "not statically known"),
    ],
)
def test_problems(schedule, words: str) -> None:
    result = to_eventbridge(schedule)
    assert result.expression is None and result.kind is None
    assert result.problem is not None and words in result.problem


def test_asset_or_time_keeps_the_time_part_and_reports_the_assets() -> None:
    source = (
        'AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"),'
        " assets=(dag1_asset & dag2_asset))"
    )
    result = to_eventbridge(expr(source))
    assert result.expression == "cron(0 1 ? * 4 *)"
    assert result.problem is not None and "event-driven" in result.problem


def test_literal_arg_value_is_unwrapped() -> None:
    assert to_eventbridge({"kind": "literal", "value": "@daily"}).expression == "cron(0 0 * * ? *)"


def test_cron_to_eventbridge_raises_value_error() -> None:
    assert cron_to_eventbridge("30 6 * * 1") == "30 6 ? * 2 *"
    with pytest.raises(ValueError, match="OR"):
        cron_to_eventbridge("0 0 1 * 1")
