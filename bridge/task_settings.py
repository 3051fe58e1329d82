"""A task's run settings (retries, retry delay, backoff, execution timeout) as step settings.

Airflow reads them from the task's own arguments, then `default_args`. They become the step's
retry policy and its job's maximum runtime in the emitted pipeline.
"""

from __future__ import annotations

import ast
from typing import Any

from bridge.model import DagModel, TaskModel

_UNITS = {
    "weeks": 604800,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "milliseconds": 0.001,
}


def task_settings(task: TaskModel, dag: DagModel) -> dict[str, Any]:
    def get(key: str) -> Any:
        if key in task.kwargs:
            arg = task.kwargs[key]
            return arg.value if arg.kind == "literal" else arg.to_dict()
        return dag.default_args.get(key)

    settings: dict[str, Any] = {}
    retries = task.retries if task.retries is not None else get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0:
        settings["retries"] = retries
        delay = duration_seconds(get("retry_delay"))
        settings["retry_delay"] = int(delay) if delay is not None else 300  # Airflow's default
        if get("retry_exponential_backoff") is True:
            settings["backoff"] = 2.0
    timeout = duration_seconds(get("execution_timeout"))
    if timeout:
        settings["timeout"] = int(timeout)
    return settings


def duration_seconds(value: Any) -> float | None:
    """Seconds of a timedelta / pendulum.duration given as a number or as its source text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    source = value.get("source") if isinstance(value, dict) else None
    if not isinstance(source, str):
        return None
    try:
        call = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call) or _name(call.func) not in ("timedelta", "duration"):
        return None
    total = 0.0
    positional = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"]
    pairs = list(zip(positional, call.args, strict=False)) + [
        (k.arg, k.value) for k in call.keywords
    ]
    for unit, node in pairs:
        if not isinstance(node, ast.Constant) or not isinstance(node.value, (int, float)):
            return None
        total += node.value * _UNITS.get(unit or "", 0)
    return total


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""
