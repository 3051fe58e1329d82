"""Airflow schedules as EventBridge Scheduler expressions, for SageMaker's `PipelineSchedule`.

`to_eventbridge(dag.schedule)` returns the full expression ("cron(0 3 * * ? *)",
"rate(5 minutes)") and `pipeline_schedule_kwargs()` the matching `PipelineSchedule` arguments of
SageMaker SDK v3 (`sagemaker.mlops.workflow.triggers`): `cron="0 3 * * ? *"` (the six fields,
without `cron(...)`) or `rate=(5, "minutes")`.

EventBridge runs the schedule in UTC (the SDK sets no time zone), so a cron is converted field for
field as if the DAG's time zone were UTC. Schedules with no EventBridge form (@once, @continuous,
assets, custom timetables) give no expression and a problem saying why.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

ScheduleKind = Literal["cron", "rate"]

# Airflow's cron presets (airflow.timetables cron_presets), as 5-field crons.
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # Unix 0-6; EventBridge 1-7
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
# (name, lowest, highest, names) of the five Unix fields; day-of-week also accepts 7 (Sunday).
_FIELDS = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day-of-month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
]
_MAX_EXPRESSION = 256  # EventBridge Scheduler's limit on ScheduleExpression
_UTC = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z"}
_TIMEDELTA_ORDER = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"]
_TIMEDELTA_CALLS = {"timedelta", "datetime.timedelta", "duration", "pendulum.duration"}
_CRON_TIMETABLES = {"CronTriggerTimetable", "CronDataIntervalTimetable"}
_DELTA_TIMETABLES = {"DeltaTriggerTimetable", "DeltaDataIntervalTimetable"}
_ASSET_CALLS = {"Asset", "Dataset", "AssetAlias", "DatasetAlias", "AssetAll", "AssetAny"}
_ASSET_CALLS |= {"DatasetAll", "DatasetAny", "PartitionedAssetTimetable", "AssetTriggeredTimetable"}
_EVENT_HINT = (
    "SageMaker has no asset triggers: start the pipeline from the asset's producer, or from an "
    "EventBridge rule on the event that updates the asset (e.g. an S3 object-created event)"
)


@dataclass(frozen=True)
class ScheduleResult:
    """`expression` is the EventBridge ScheduleExpression; `kind` says which `PipelineSchedule`
    argument it is for. `problem` explains what did not carry over (it may come with a partial
    expression, e.g. the time part of an asset-or-time schedule)."""

    expression: str | None = None
    kind: ScheduleKind | None = None
    problem: str | None = None

    def pipeline_schedule_kwargs(self) -> dict[str, Any]:
        """`PipelineSchedule(**kwargs)` arguments: {"cron": "..."} or {"rate": (n, unit)}."""
        if self.expression is None:
            return {}
        inner = self.expression[len(f"{self.kind}(") : -1]
        if self.kind == "cron":
            return {"cron": inner}
        value, unit = inner.split()
        return {"rate": (int(value), unit)}


class _Unconvertible(ValueError):
    """What keeps a schedule from converting; becomes `ScheduleResult.problem`."""


def to_eventbridge(schedule: Any) -> ScheduleResult:
    """The EventBridge form of `DagModel.schedule` (a string, None, or a parser ArgValue dict)."""
    if isinstance(schedule, dict) and schedule.get("kind") in ("literal", "template"):
        schedule = schedule.get("value")
    if schedule is None or schedule == "None":
        return ScheduleResult()
    if isinstance(schedule, str):
        return _from_string(schedule.strip())
    if isinstance(schedule, dict) and isinstance(schedule.get("source"), str):
        return _from_source(schedule["source"])
    return ScheduleResult(problem=f"schedule `{schedule!r}` is not statically known")


def _from_string(text: str) -> ScheduleResult:
    if text == "@once":
        return ScheduleResult(
            problem="`@once` runs the DAG a single time: start the pipeline once by hand, or "
            "give PipelineSchedule an `at=` datetime"
        )
    if text == "@continuous":
        return ScheduleResult(
            problem="`@continuous` starts a run as soon as the last one ends; EventBridge has no "
            "such schedule (an EventBridge rule on the pipeline's execution-status-change event "
            "can start the next run)"
        )
    if text.startswith("@") and text not in PRESETS:
        return ScheduleResult(problem=f"schedule `{text}` is not an Airflow preset")
    try:
        return _cron(cron_to_eventbridge(PRESETS.get(text, text)))
    except _Unconvertible as why:
        return ScheduleResult(problem=f"schedule `{text}`: {why}")


def _cron(fields: str) -> ScheduleResult:
    return ScheduleResult(expression=f"cron({fields})", kind="cron")


# --- cron ---------------------------------------------------------------------------------------


def cron_to_eventbridge(cron: str) -> str:
    """A 5-field Unix cron as EventBridge's six fields "min hour dom month dow year".

    EventBridge wants `?` in day-of-month or day-of-week, numbers the days of the week 1-7 from
    Sunday (Unix: 0-7, 0 and 7 Sunday) and documents steps as `start/step` only, so `*/s` becomes
    `lowest/s`, `a-b/s` a list, and any day-of-week step a list. Raises ValueError saying why.
    """
    fields = cron.split()
    if len(fields) != 5:
        raise _Unconvertible(f"a cron needs 5 fields, this one has {len(fields)}")
    parsed = [_parse_field(text, spec) for text, spec in zip(fields, _FIELDS, strict=True)]
    minute, hour, dom, month, dow = parsed
    if dom is not None and dow is not None:
        raise _Unconvertible(
            "Airflow runs when the day-of-month OR the day-of-week matches; EventBridge cannot "
            "restrict both (use two schedules, one per field)"
        )
    minute_spec, hour_spec, dom_spec, month_spec, _ = _FIELDS
    out = [_field(minute, minute_spec), _field(hour, hour_spec)]
    out += [_field(dom, dom_spec) if dow is None else "?", _field(month, month_spec)]
    out += ["?" if dow is None else _dow(dow), "*"]
    result = " ".join(out)
    if len(result) + len("cron()") > _MAX_EXPRESSION:
        raise _Unconvertible(f"the EventBridge form is longer than {_MAX_EXPRESSION} characters")
    return result


@dataclass(frozen=True)
class _Element:
    """One comma-separated part of a field: values start..end every step, or a special form."""

    start: int = 0
    end: int = 0
    step: int | None = None
    to_field_end: bool = False  # `*/s` or `v/s`: EventBridge writes these as `start/step`
    special: str = ""  # kept as written after the day: "L" (last day of month), "#2", a day name


def _parse_field(text: str, spec: tuple) -> list[_Element] | None:
    """The field's elements, or None when it does not restrict (`*`, `?`)."""
    if text in ("*", "?"):
        return None
    return [_parse_element(part, spec) for part in text.upper().split(",")]


def _parse_element(part: str, spec: tuple) -> _Element:
    field, low, high, names = spec
    if field == "day-of-month" and part == "L":  # last day of the month: same in EventBridge
        return _Element(special="L")
    if field == "day-of-week" and "L" in part:  # no day name has an L
        raise _Unconvertible(f"the last-weekday form `{part}` is not converted")
    if field == "day-of-week" and "#" in part:  # n#k: the k-th such weekday of the month
        day, _, nth = part.partition("#")
        if nth not in {"1", "2", "3", "4", "5"}:
            raise _Unconvertible(f"`{part}` in the {field} field is not an nth-weekday form")
        return _Element(_value(day, spec), special=f"#{nth}")
    if field == "day-of-week" and all(p in names for p in part.split("-")) and part.count("-") < 2:
        first, _, last = part.partition("-")
        if names.index(first) < names.index(last or "SAT") or not last:  # MON, MON-FRI
            return _Element(special=part)  # the same in EventBridge
    base, slash, step_text = part.partition("/")
    step = _number(step_text, 1, max(high, 1), f"step `{step_text}`", field) if slash else None
    top = 6 if field == "day-of-week" else high  # croniter's day-of-week steps stop at Saturday
    if base == "*":
        return _Element(low, top, step, to_field_end=True) if step else _Element(low, high)
    first, dash, last = base.partition("-")
    start = _value(first, spec)
    if dash:
        end = _value(last, spec)
        if end == start:  # croniter (so Airflow) reads "3-3" as the whole field, surely a slip
            raise _Unconvertible(f"Airflow reads the range `{base}` as `*`; write `{first}`")
        if end < start and step:  # croniter's phase across the wrap is its own
            raise _Unconvertible(f"the wrapping range with a step `{part}`: write it as a list")
        return _Element(start, end, step)
    if step:
        start = 0 if field == "day-of-week" and start == 7 else start
        return _Element(start, top, step, to_field_end=True)
    return _Element(start, start)


def _value(text: str, spec: tuple) -> int:
    field, low, high, names = spec
    if text in names:
        return names.index(text) + (1 if field == "month" else 0)
    return _number(text, low, high, f"`{text}`", field)


def _number(text: str, low: int, high: int, what: str, field: str) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise _Unconvertible(f"{what} is not valid in the {field} field ({low}-{high})")
    return int(text)


def _field(elements: list[_Element] | None, spec: tuple) -> str:
    """A minute, hour, day-of-month or month field: the same numbering in EventBridge."""
    if elements is None:
        return "*"
    return ",".join(_element(e, spec[1], spec[2]) for e in elements)


def _element(e: _Element, low: int, high: int) -> str:
    if e.special:
        return e.special
    if e.end < e.start:  # 22-2: wraps past the field's end, as croniter reads it: 22-23,0-2
        return f"{_span(e.start, high)},{_span(low, e.end)}"
    if e.step is None:
        return str(e.start) if e.start == e.end else f"{e.start}-{e.end}"
    if e.to_field_end:
        return f"{e.start}/{e.step}"
    return ",".join(str(v) for v in range(e.start, e.end + 1, e.step))


def _span(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}-{end}"


def _dow(elements: list[_Element]) -> str:
    """Day-of-week in EventBridge numbering (1 = Sunday): names kept, everything else listed."""
    out = []
    for e in elements:
        if e.special.startswith("#"):
            out.append(f"{e.start % 7 + 1}{e.special}")
        elif e.special:
            out.append(e.special)
        else:
            out.append(_day_list(_unix_days(e)))
    return ",".join(out)


def _unix_days(e: _Element) -> list[int]:
    """The Unix days (0-6) an element selects; FRI-MON style ranges wrap past Saturday."""
    if e.end < e.start:
        days = [*range(e.start, 7), *range(0, e.end + 1)]
    else:
        days = list(range(e.start, e.end + 1))
    return sorted({d % 7 for d in days[:: e.step or 1]})


def _day_list(days: list[int]) -> str:
    """EventBridge days 1-7; runs of three or more written as ranges."""
    runs: list[list[int]] = []
    for n in (d + 1 for d in days):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) >= 3 else ",".join(map(str, r)) for r in runs)


# --- schedules written as Python expressions ----------------------------------------------------


def _from_source(source: str) -> ScheduleResult:
    """A `schedule=` the parser kept as source text: timedelta, a timetable, assets, a name."""
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return ScheduleResult(problem=f"schedule `{source}` is not a Python expression")
    try:
        return _from_node(tree, source)
    except _Unconvertible as why:
        return ScheduleResult(problem=f"schedule `{_short(source)}`: {why}")


def _from_node(node: ast.expr, source: str) -> ScheduleResult:
    if _is_event_driven(node):
        return ScheduleResult(problem=f"schedule `{_short(source)}` is event-driven: {_EVENT_HINT}")
    if not isinstance(node, ast.Call):
        raise _Unconvertible(
            "not statically known (a name or expression the parser could not resolve)"
        )
    name = _call_name(node)
    if name in _TIMEDELTA_CALLS:
        return _rate(_timedelta(node))
    if name in _DELTA_TIMETABLES and len(node.args) == 1 and isinstance(node.args[0], ast.Call):
        return _rate(_timedelta(node.args[0]))
    if name in _CRON_TIMETABLES:
        return _cron(cron_to_eventbridge(_timetable_cron(node)))
    if name in ("AssetOrTimeSchedule", "DatasetOrTimeSchedule"):
        return _asset_or_time(node, source)
    raise _Unconvertible(
        f"the custom timetable `{name or ast.unparse(node.func)}` has no EventBridge form; write "
        "the equivalent cron or rate schedule by hand"
    )


def _is_event_driven(node: ast.expr) -> bool:
    """Assets (alone, in a list, or combined with & and |) and asset-triggered timetables."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return True  # a schedule list can only hold assets
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        return True
    if isinstance(node, ast.Call):
        return (_call_name(node) or "").split(".")[-1] in _ASSET_CALLS
    return False


def _call_name(node: ast.Call) -> str | None:
    """`timedelta`, `datetime.timedelta`, `Asset.ref` ... for a call on a (dotted) name."""
    return ast.unparse(node.func) if _dotted(node.func) else None


def _dotted(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return _dotted(node.value)
    return isinstance(node, ast.Name)


def duration_from_source(source: str) -> timedelta | None:
    """A literal `timedelta(...)` / `pendulum.duration(...)` given as source text, else None."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call):
        return None
    try:
        return _timedelta(node)
    except _Unconvertible:
        return None


def _timedelta(node: ast.Call) -> timedelta:
    """`timedelta(...)` / `pendulum.duration(...)` with literal numbers only."""
    if _call_name(node) not in _TIMEDELTA_CALLS:
        raise _Unconvertible(f"`{ast.unparse(node)}` is not a timedelta")
    kwargs = dict(zip(_TIMEDELTA_ORDER, (_literal_number(a) for a in node.args), strict=False))
    if len(node.args) > len(_TIMEDELTA_ORDER):
        raise _Unconvertible(f"`{ast.unparse(node)}` has too many arguments")
    for kw in node.keywords:
        if kw.arg in ("years", "months"):  # pendulum: not a fixed length of time
            raise _Unconvertible(f"`{kw.arg}=` is not a fixed interval; use a cron schedule")
        if kw.arg not in _TIMEDELTA_ORDER:
            raise _Unconvertible(f"`{ast.unparse(node)}` is not a literal timedelta")
        kwargs[kw.arg] = _literal_number(kw.value)
    return timedelta(**kwargs)


def _literal_number(node: ast.expr) -> float:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Unconvertible(f"`{ast.unparse(node)}` is not a literal number")
    return value


def _rate(delta: timedelta) -> ScheduleResult:
    """rate(N minutes|hours|days): whole minutes only, the largest unit that divides evenly."""
    seconds = delta.total_seconds()
    if seconds <= 0 or seconds % 60:
        raise _Unconvertible(f"{delta} is not a positive whole number of minutes (rate's unit)")
    minutes = int(seconds // 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            value = minutes // size
            plural = "" if value == 1 else "s"
            return ScheduleResult(expression=f"rate({value} {unit}{plural})", kind="rate")
    raise AssertionError("unreachable: every whole minute count divides by 1")


def _timetable_cron(node: ast.Call) -> str:
    """The cron of `CronTriggerTimetable("0 1 * * 3", timezone="UTC")`, when it runs in UTC."""
    args = [*node.args, *(kw.value for kw in node.keywords if kw.arg == "cron")]
    zones = [kw.value for kw in node.keywords if kw.arg == "timezone"] + node.args[1:2]
    cron = ast.literal_eval(args[0]) if args and isinstance(args[0], ast.Constant) else None
    if not isinstance(cron, str):
        raise _Unconvertible("the timetable's cron is not a literal string")
    zone = zones[0] if zones else None
    if not (isinstance(zone, ast.Constant) and zone.value in _UTC):
        shown = ast.unparse(zone) if zone is not None else "missing"
        raise _Unconvertible(
            f"the timetable's timezone is {shown}: PipelineSchedule runs in UTC, so the cron "
            "cannot be copied unchanged"
        )
    return PRESETS.get(cron, cron)


def _asset_or_time(node: ast.Call, source: str) -> ScheduleResult:
    """The time part converted; the asset part reported."""
    timetable = next((kw.value for kw in node.keywords if kw.arg == "timetable"), None)
    time_part = (
        _from_node(timetable, ast.unparse(timetable))
        if timetable is not None
        else ScheduleResult(problem="no timetable")
    )
    problem = f"schedule `{_short(source)}` is also event-driven: {_EVENT_HINT}"
    if time_part.problem:
        problem += f"; its time part: {time_part.problem}"
    return ScheduleResult(time_part.expression, time_part.kind, problem)


def _short(source: str, limit: int = 120) -> str:
    text = " ".join(source.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
