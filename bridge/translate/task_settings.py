"""A task's run settings (retries, retry delay, backoff, execution timeout) as step settings.

Airflow reads them from the task's own arguments, then `default_args`. They become the step's
retry policy and its job's maximum runtime in the emitted pipeline. Retries beyond SageMaker's cap
are cut to it (bridge.translate.fidelity says so).
"""

from __future__ import annotations

from typing import Any

from bridge.parse.model import DagModel, TaskModel

SAGEMAKER_MAX_ATTEMPTS = 20  # a retry policy's MaxAttempts cap (sagemaker.mlops.workflow.retry)


def task_settings(task: TaskModel, dag: DagModel) -> dict[str, Any]:
    def get(key: str) -> Any:
        if key in task.kwargs:
            arg = task.kwargs[key]
            return arg.value if arg.kind == "literal" else arg.to_dict()
        return dag.default_args.get(key)

    settings: dict[str, Any] = {}
    retries = task.retries if task.retries is not None else get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0:
        settings["retries"] = min(retries, SAGEMAKER_MAX_ATTEMPTS)
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
    from bridge.translate.schedule import duration_from_source

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    source = value.get("source") if isinstance(value, dict) else None
    delta = duration_from_source(source) if isinstance(source, str) else None
    return delta.total_seconds() if delta is not None else None
