"""Airflow context values (`ds`, `ts`, `logical_date`, ...) for executions nobody passes them to.

The bridge's Airflow operator fills the context parameters with its run's exact values. An
execution started by the pipeline's EventBridge schedule cannot pass parameters, and one started
by hand (console, `bridge run`) usually does not, so they arrive as "". A step that uses them
therefore also receives the execution's start (`ExecutionVariables.START_DATETIME`) and the DAG's
schedule as a `RunClock`; the step runtime derives every empty value from the two the way
Airflow 3.3 dates the run that its timetable creates at that moment:

- a cron or preset schedule gets `CronTriggerTimetable` (`[scheduler] create_cron_data_intervals`
  defaults to False in Airflow 3): the run's logical date is the last cron tick at or before the
  start, in the DAG's time zone, and its data interval is that instant;
- a timedelta schedule gets `DeltaTriggerTimetable`: the run's logical date is the start itself
  (with catchup off Airflow does not align it to start_date);
- `CronDataIntervalTimetable` / `DeltaDataIntervalTimetable`, when written out: the interval
  that ended at the last tick, its start being the logical date;
- no schedule (None, @once, @continuous): a manual run, dated at the start.

Templated strings embedding context values (a bash command with `{{ ds }}`) reach the runtime as
pieces (`context_template`) so the runtime renders them after deriving, instead of a `Join` that
would embed "".
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bridge.parse.model import DagModel
from bridge.parse.python_tree import module_tree
from bridge.translate.expressions import ExecVar, Join, Param
from bridge.translate.job_limits import MAX_ARGUMENT
from bridge.translate.schedule import PRESETS, duration_from_source
from bridge.translate.templates import CONTEXT_PARAMETERS

TimetableKind = Literal[
    "manual", "cron_trigger", "cron_interval", "delta_trigger", "delta_interval"
]

STARTED = ExecVar("START_DATETIME")
_MANUAL_SCHEDULES = {"None", "@once", "@continuous"}
# The cron the step runtime reads: per field, comma-separated parts that are *, ?, a value or a
# range (numbers; names in the month and day-of-week fields), optionally with a step.
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_CRON_FIELDS = [
    re.compile(rf"(\*|\?|(?:{value})(?:-(?:{value}))?)(?:/[0-9]+)?", re.IGNORECASE)
    for value in ("[0-9]+", "[0-9]+", "[0-9]+", f"[0-9]+|{_MONTHS}", f"[0-9]+|{_DAYS}")
]
_TIMETABLES: dict[str, TimetableKind] = {
    "CronTriggerTimetable": "cron_trigger",
    "CronDataIntervalTimetable": "cron_interval",
    "DeltaTriggerTimetable": "delta_trigger",
    "DeltaDataIntervalTimetable": "delta_interval",
}
_ZONE_CALLS = {"timezone", "ZoneInfo", "gettz", "Timezone"}  # pendulum, zoneinfo, dateutil
_NOW_CALLS = {"today", "now", "yesterday", "tomorrow"}  # pendulum: the zone is the first argument
_NAIVE_OK = {"datetime", "days_ago", *_NOW_CALLS}  # pendulum defaults to UTC; naive: Airflow's UTC


@dataclass(frozen=True)
class RunClock:
    """How Airflow dates a run of this DAG, in the form the step runtime reads (`to_dict`)."""

    timetable: TimetableKind = "manual"
    cron: str | None = None  # five fields, presets expanded
    timezone: str | None = None  # the zone a cron is read in (None: the DAG's, start_date's)
    delta: float | None = None  # seconds between runs of a timedelta schedule
    interval: float | None = None  # a trigger timetable's `interval=`, in seconds
    note: str | None = None  # what the derivation cannot follow: a difference of the step

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "note"}


def run_clock(dag: DagModel, source: str) -> RunClock:
    """The DAG's schedule and time zone as the step runtime needs them, read statically."""
    tree = _module(source)
    names = _module_names(tree)
    start = _start_date(dag, tree, names)
    zone = _start_zone(start, names) if start is not None else "UTC"
    clock = _from_schedule(dag.schedule, names)
    if clock.timetable != "cron_trigger" or clock.timezone is not None:
        return clock
    if zone is None:  # a plain cron runs in the DAG's zone, which is start_date's
        shown = _short(ast.unparse(start)) if start is not None else "start_date"
        return replace(
            clock,
            timezone="UTC",
            note=f"the time zone of `{shown}` is not known statically: context values are "
            "derived from the schedule read in UTC",
        )
    return replace(clock, timezone=zone)


def context_names(value: Any) -> set[str]:
    """The context parameters a pipeline value uses (inside Joins, dicts and lists)."""
    if isinstance(value, Param):
        return {value.name} if value.name in CONTEXT_PARAMETERS else set()
    if isinstance(value, Join):
        return set().union(*(context_names(p) for p in value.parts))
    if isinstance(value, dict):
        return set().union(*(context_names(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(context_names(v) for v in value))
    return set()


def with_run_clock(call: dict[str, Any], clock: RunClock) -> tuple[dict[str, Any], list[str]]:
    """A step's call plus what its runtime needs to derive empty context values (each context
    value it uses under "context", the DAG's schedule, the execution's start), and what that
    derivation cannot follow. `clock` is the DAG's (RuleContext.run_clock, read once a DAG)."""
    used = context_names(call)
    if not used:
        return call, []
    context = dict(call.get("context") or {})
    for name in sorted(used):
        context.setdefault(name, Param(name))
    call = {**call, "context": context, "schedule": clock.to_dict(), "started": STARTED}
    return call, [clock.note] if clock.note else []


def context_template(value: Any) -> list[Any] | None:
    """A Join embedding context values as pieces the step runtime renders: text (in pieces
    short enough for a job argument), a {"context": name} per context value, other run-time
    values as they are. None for anything else."""
    if not isinstance(value, Join) or not context_names(value):
        return None
    pieces: list[Any] = []
    for part in value.parts:
        if isinstance(part, str):
            pieces += _short_texts(part)
        elif isinstance(part, Param) and part.name in CONTEXT_PARAMETERS:
            pieces.append({"context": part.name})
        else:
            pieces.append(part)
    return pieces


def argument_parts(pieces: list[Any]) -> list[list[Any]]:
    """Consecutive runs of template pieces whose JSON fits one job argument (a processing job's
    ContainerArguments hold at most 256 characters each); the runtime appends them in order."""
    parts: list[list[Any]] = [[]]
    for piece in pieces:
        if parts[-1] and len(json.dumps([*parts[-1], piece])) > MAX_ARGUMENT:
            parts.append([])
        parts[-1].append(piece)
    return parts


def _short_texts(text: str) -> list[str]:
    """`text` cut so that each piece's JSON takes at most half an argument."""
    pieces = [""]
    for char in text:
        if len(json.dumps(pieces[-1] + char)) > MAX_ARGUMENT // 2:
            pieces.append("")
        pieces[-1] += char
    return [p for p in pieces if p]


# --- the schedule --------------------------------------------------------------------------------


def _from_schedule(schedule: Any, names: dict[str, ast.expr]) -> RunClock:
    """The timetable Airflow 3.3 gives `schedule=` (a plain cron: in the DAG's time zone)."""
    if isinstance(schedule, dict) and schedule.get("kind") in ("literal", "template"):
        schedule = schedule.get("value")
    if schedule is None or (isinstance(schedule, str) and schedule.strip() in _MANUAL_SCHEDULES):
        return RunClock()
    if isinstance(schedule, str):
        cron = PRESETS.get(schedule.strip(), schedule.strip())
        if not _readable_cron(cron):
            return _manual(f"schedule `{_short(schedule)}` is not a cron the step can follow")
        return RunClock("cron_trigger", cron)
    source = schedule.get("source") if isinstance(schedule, dict) else None
    node = _expression(source) if isinstance(source, str) else None
    if node is None:
        return _manual("the schedule is not known statically")
    delta = duration_from_source(source)
    if delta is not None:
        return RunClock("delta_trigger", delta=delta.total_seconds())
    return _from_timetable(node, source, names)


def _from_timetable(node: ast.expr, source: str, names: dict[str, ast.expr]) -> RunClock:
    kind = _TIMETABLES.get(_call_name(node) or "") if isinstance(node, ast.Call) else None
    if kind is None:
        return _manual(f"schedule `{_short(source)}` is not a cron or timedelta")
    assert isinstance(node, ast.Call)
    first = node.args[0] if node.args else _keyword(node, "cron") or _keyword(node, "delta")
    interval = _keyword(node, "interval")
    seconds = _seconds(interval) if interval is not None else None
    if interval is not None and seconds is None:
        return _manual(f"the timetable's interval `{_short(ast.unparse(interval))}` is not literal")
    if kind.startswith("delta"):
        delta = _seconds(first) if first is not None else None
        if delta is None:
            return _manual(
                f"the timetable's delta in `{_short(source)}` is not a literal timedelta"
            )
        return RunClock(kind, delta=delta, interval=seconds)
    cron = first.value if isinstance(first, ast.Constant) else None
    if not isinstance(cron, str) or not _readable_cron(PRESETS.get(cron, cron)):
        return _manual(
            f"the timetable's cron in `{_short(source)}` is not a cron the step can follow"
        )
    zone_node = _keyword(node, "timezone") or (node.args[1] if len(node.args) > 1 else None)
    zone = _zone(zone_node, names) if zone_node is not None else None
    if zone is None:
        return _manual(f"the timetable's time zone in `{_short(source)}` is not known statically")
    return RunClock(kind, PRESETS.get(cron, cron), zone, interval=seconds)


def _manual(reason: str) -> RunClock:
    return RunClock(
        note=f"{reason}: empty context values are derived as for a manual run (dated at the "
        "execution's start)"
    )


def _readable_cron(cron: str) -> bool:
    fields = cron.split()
    return len(fields) == 5 and all(
        pattern.fullmatch(part)
        for pattern, text in zip(_CRON_FIELDS, fields, strict=True)
        for part in text.split(",")
    )


# --- the DAG call and its start_date -------------------------------------------------------------


def _module(source: str) -> ast.Module:
    return module_tree(source) or ast.Module(body=[], type_ignores=[])


def _module_names(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level `NAME = value` assignments (the last one wins, as at import)."""
    names: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node.value
    return names


def _start_date(dag: DagModel, tree: ast.Module, names: dict[str, ast.expr]) -> ast.expr | None:
    """The DAG's `start_date=`, else its default_args' "start_date"."""
    call = _dag_call(tree, dag.line)
    if call is not None:
        if (start := _keyword(call, "start_date")) is not None:
            return _resolve(start, names)
        args = _resolve(_keyword(call, "default_args"), names)
        if isinstance(args, ast.Dict):
            for key, value in zip(args.keys, args.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "start_date":
                    return _resolve(value, names)
    default = dag.default_args.get("start_date")
    if isinstance(default, dict) and isinstance(default.get("source"), str):
        return _resolve(_expression(default["source"]), names)
    return None


def _dag_call(tree: ast.Module, line: int) -> ast.Call | None:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line]
    named = [c for c in calls if (_call_name(c) or "").split(".")[-1] in ("DAG", "dag")]
    return (named or calls or [None])[0]


def _start_zone(start: ast.expr, names: dict[str, ast.expr]) -> str | None:
    """The time zone of a start_date expression: "UTC" for pendulum's default and naive dates
    (Airflow's default_timezone), None when it cannot be read."""
    if not isinstance(start, ast.Call):
        return None
    name = (_call_name(start) or "").split(".")[-1]
    zone = _keyword(start, "tz") or _keyword(start, "tzinfo")
    if zone is None and name in _NOW_CALLS and start.args:
        zone = start.args[0]
    if zone is None and name == "datetime" and len(start.args) == 8:
        zone = start.args[7]
    if zone is not None:
        return _zone(zone, names)
    if isinstance(start.func, ast.Attribute) and isinstance(start.func.value, ast.Call):
        return _start_zone(start.func.value, names)  # pendulum.today("X").add(days=-1)
    return "UTC" if name in _NAIVE_OK else None


def _zone(node: ast.expr, names: dict[str, ast.expr]) -> str | None:
    """The IANA name a tz argument gives: "X", pendulum.timezone("X"), ZoneInfo("X"), UTC."""
    node = _resolve(node, names)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _known_zone(node.value) else None
    if isinstance(node, (ast.Attribute, ast.Name)) and ast.unparse(node).split(".")[-1] in (
        "utc",
        "UTC",
    ):
        return "UTC"
    if isinstance(node, ast.Call) and (_call_name(node) or "").split(".")[-1] in _ZONE_CALLS:
        return _zone(node.args[0], names) if node.args else None
    return None


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


# --- small AST helpers ---------------------------------------------------------------------------


def _expression(source: str) -> ast.expr | None:
    try:
        return ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None


def _resolve(node: ast.expr | None, names: dict[str, ast.expr], depth: int = 0) -> ast.expr | None:
    """A module constant's value in place of its name (a few levels deep)."""
    while isinstance(node, ast.Name) and node.id in names and depth < 5:
        node, depth = names[node.id], depth + 1
    return node


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _call_name(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    return ".".join([func.id, *reversed(parts)])


def _seconds(node: ast.expr) -> float | None:
    delta = duration_from_source(ast.unparse(node))
    return delta.total_seconds() if delta is not None else None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
