"""Helpers the data-service AWS rules share (Glue, Athena / Redshift Data, EMR Serverless,
Step Functions), on top of translators/aws_api.py. Not rules: rule modules import this module,
aws_api and common, never each other.

- `CodeWaitOperation`: an operation whose wait is written in the handler's own code (a wait in
  the middle of the calls, or a failure test on a second field after the state), with its bound,
  so that `aws_translation` picks the step kind as it does for a Poll.
- `WAIT_UNTIL`: that wait, as handler code.
- Pairs of an operator that does not wait and the sensor that watches what it started: the
  operator's step waits with the sensor's settings and the sensor is contracted (a sensor step
  could not read a LambdaStep's output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import AwsOperation
from translators.common import DEFAULT_TIMEOUT, literal, referenced_tasks, seconds
from translators.registry import Translation


@dataclass(frozen=True, kw_only=True)
class CodeWaitOperation(AwsOperation):
    """An AwsOperation whose `Code` steps wait up to `code_wait` seconds (None: no bound)."""

    code_wait: float | None = 0

    @property
    def max_wait(self) -> float | None:  # type: ignore[override]
        return self.code_wait


WAIT_UNTIL = '''
def wait_until(describe, path, running, failure, delay, max_wait, what, max_attempts=None):
    """Call `describe()` until the state at `path` of its response leaves `running`; fail on a
    state in `failure`, after `max_wait` seconds or `max_attempts` calls (None: no limit).
    Returns the last response."""
    started = time.monotonic()
    attempts = 0
    while True:
        response = describe()
        attempts += 1
        state = response
        for key in path:
            state = state[key]
        if state in failure:
            raise RuntimeError(f"{what}: {state}")
        if state not in running:
            return response
        waited = time.monotonic() - started
        out_of_time = max_wait is not None and waited >= max_wait
        if out_of_time or (max_attempts is not None and attempts >= max_attempts):
            raise TimeoutError(f"{what} still {state} after {waited:.0f} s")
        time.sleep(delay)
'''


def watching_sensor(task: TaskModel, ctx: RuleContext, sensor: str, key: str) -> TaskModel | None:
    """The `sensor` task whose argument `key` reads this task's XCom, when the task does not
    wait itself (`wait_for_completion=False`, or `waits=False` for operators that never wait)."""
    if literal(task, "wait_for_completion", True) is not False:
        return None
    return first_reader(task, ctx, sensor, key)


def first_reader(task: TaskModel, ctx: RuleContext, sensor: str, key: str) -> TaskModel | None:
    for other in sorted(ctx.dag.tasks.values(), key=lambda t: t.task_id):
        if other.operator == sensor and task.task_id in referenced_tasks(other.kwargs.get(key)):
            return other
    return None


def watched_task(
    sensor: TaskModel, ctx: RuleContext, operator: str, key: str, pairs=watching_sensor
) -> str | None:
    """The operator task this sensor is contracted into (the one `pairs` pairs it with)."""
    for ref in sorted(referenced_tasks(sensor.kwargs.get(key))):
        other = ctx.dag.tasks.get(ref)
        if other is not None and other.operator == operator:
            found = pairs(other, ctx, sensor.operator, key)
            if found is not None and found.task_id == sensor.task_id:
                return ref
    return None


def contracted_sensor(watched: str) -> Translation:
    """The sensor's wait is in `watched`'s step, which ends when the sensor would have."""
    return Translation("contracted", "exact")


def sensor_wait(task: TaskModel, ctx: RuleContext, interval_default: float) -> tuple[float, Any]:
    """A sensor's poke interval and timeout in seconds: its poll's interval and bound."""
    interval = seconds(task, "poke_interval", ctx, interval_default)
    interval = interval_default if interval is None else interval
    timeout = seconds(task, "timeout", ctx, DEFAULT_TIMEOUT)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    return float(interval), float(timeout)


def sensor_differences(task: TaskModel) -> list[str]:
    """What a poll step does not do of a sensor's settings."""
    found = []
    if literal(task, "exponential_backoff", False):
        found.append("exponential_backoff: the step checks at a fixed poke_interval")
    if literal(task, "soft_fail", False):
        found.append(
            "soft_fail: on timeout Airflow skips the sensor and its downstream tasks; the step "
            "fails the pipeline execution"
        )
    return found
