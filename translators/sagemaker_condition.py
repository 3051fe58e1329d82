"""SageMakerConditionOperator → a native ConditionStep.

The Amazon provider's condition operator is SageMaker's own condition model run inside Airflow:
the same comparison types (Equals, GreaterThan[OrEqualTo], LessThan[OrEqualTo], In, Not, Or),
ANDed, routing to `if_task_ids` or `else_task_ids`. So it becomes the ConditionStep it imitates,
with no job: the values are pipeline expressions (an XCom the template pulls becomes the
producer's step output, a param a Parameter), and text values are cast as the operator casts
rendered strings (numbers, booleans).
"""

from __future__ import annotations

from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.expressions import Join
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import ConditionSpec, FailSpec
from translators.common import literal, manual
from translators.registry import Example, StepDraft, Translation, rule

_OPERATOR = "airflow.providers.amazon.aws.operators.sagemaker.SageMakerConditionOperator"
_COMPARISONS = {
    "Equals": "==",
    "GreaterThan": ">",
    "GreaterThanOrEqualTo": ">=",
    "LessThan": "<",
    "LessThanOrEqualTo": "<=",
}
_MAX_DEPTH = 20  # Not/Or nest; a machine-made config deeper than this is refused, not recursed


class _NotStatic(Exception):
    """A part of the conditions the bridge cannot read: the message says which."""


_EXAMPLE = """
from airflow.sdk import DAG, task
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerConditionOperator
with DAG("d"):
    @task
    def metrics():
        return {"accuracy": 0.93}
    @task
    def deploy(): ...
    @task
    def retrain(): ...
    check = SageMakerConditionOperator(
        task_id="check",
        condition_type="GreaterThanOrEqualTo",
        left_value="{{ ti.xcom_pull(task_ids='metrics')['accuracy'] }}",
        right_value=0.9,
        if_task_ids=["deploy"],
        else_task_ids=["retrain"],
    )
    metrics() >> check >> [deploy(), retrain()]
"""


@rule(
    _OPERATOR,
    branches=True,
    examples=[
        Example(
            "a condition on an upstream XCom becomes a ConditionStep on that step's output",
            _EXAMPLE,
            {"check": {"fate": "step", "fidelity": "exact", "steps": ["check"]}},
        )
    ],
)
def sagemaker_condition(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerConditionOperator → ConditionStep. `condition_type`/`left_value`/`right_value`
    or the `conditions` list (Equals, GreaterThan, GreaterThanOrEqualTo, LessThan,
    LessThanOrEqualTo, In, Not, Or; ANDed) become the step's conditions; `if_task_ids` its
    `if_steps`, `else_task_ids` its `else_steps`. Without `else_task_ids` a failed check fails the
    task in Airflow: here the else side is a FailStep with the operator's message. Templated
    values become pipeline expressions (`ti.xcom_pull` → the producer's JSON output), text
    values are cast to numbers and booleans as the operator casts them. Approximate: a value
    that mixes text with run-time parts (compared as text, where Airflow would cast the
    rendered string), and downstream tasks in neither list (Airflow skips them). Conditions not
    known statically are manual."""
    differences: list[str] = []
    try:
        raw = _raw_conditions(task)
        conditions = [_condition(c, task, ctx, differences, 0) for c in raw]
    except _NotStatic as why:
        return manual(task, ctx, f"the conditions cannot be read statically: {why}")
    if_ids, else_ids = _task_ids(task, "if_task_ids"), _task_ids(task, "else_task_ids")
    if if_ids is None or else_ids is None:
        return manual(task, ctx, "if_task_ids / else_task_ids are not literal task ids")
    targets = ctx.downstream(task.task_id)
    exits = {t: (0, "if") for t in if_ids if t in targets}
    exits |= {t: (0, "else") for t in else_ids if t in targets}
    for target in targets:
        if target not in exits:
            differences.append(
                f"`{target}` is in neither if_task_ids nor else_task_ids: Airflow skips it, "
                "here it runs after the condition"
            )
    drafts = [StepDraft("Condition", ConditionSpec(conditions=conditions))]
    if not else_ids:
        message = f"Condition check failed in task '{task.task_id}'"
        drafts.append(
            StepDraft("Fail", FailSpec(message=message), suffix="-failed", after=[0], side="else")
        )
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, drafts, differences, exits)


def _raw_conditions(task: TaskModel) -> list[Any]:
    """The operator's conditions as its __init__ builds them from either interface."""
    kind = task.kwargs.get("condition_type")
    if kind is not None:
        if kind.kind != "literal" or kind.value not in (*_COMPARISONS, "In"):
            raise _NotStatic("condition_type is not one of the literal types")
        left, right = _arg(task, "left_value"), _arg(task, "right_value")
        if kind.value == "In":
            return [{"type": "In", "value": left, "in_values": right}]
        return [{"type": kind.value, "left_value": left, "right_value": right}]
    conditions = task.kwargs.get("conditions")
    if conditions is None or conditions.kind not in ("literal", "template"):
        raise _NotStatic("`conditions` is not a literal list")
    if not isinstance(conditions.value, list) or not conditions.value:
        raise _NotStatic("`conditions` is not a non-empty list")
    return conditions.value


def _arg(task: TaskModel, name: str) -> Any:
    arg = task.kwargs.get(name)
    if arg is None:
        return None
    if arg.kind in ("literal", "template"):
        return arg.value
    return arg.to_dict()  # an XCom or param reference: RuleContext.literal reads it


def _condition(
    raw: Any, task: TaskModel, ctx: RuleContext, differences: list[str], depth: int
) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise _NotStatic(f"conditions nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise _NotStatic("a condition is not a dict with a literal `type`")
    kind = raw["type"]
    if kind in _COMPARISONS:
        left = _value(raw.get("left_value"), task, ctx, differences)
        right = _value(raw.get("right_value"), task, ctx, differences)
        return {"op": _COMPARISONS[kind], "left": left, "right": right}
    if kind == "In":
        values = raw.get("in_values")
        if not isinstance(values, list):
            raise _NotStatic("an In condition's `in_values` is not a literal list")
        return {
            "op": "in",
            "value": _value(raw.get("value"), task, ctx, differences),
            "values": [_value(v, task, ctx, differences) for v in values],
        }
    if kind == "Not":
        return {
            "op": "not",
            "inner": _condition(raw.get("condition"), task, ctx, differences, depth + 1),
        }
    if kind == "Or":
        inner = raw.get("conditions")
        if not isinstance(inner, list) or not inner:
            raise _NotStatic("an Or condition's `conditions` is not a non-empty list")
        return {
            "op": "or",
            "conditions": [_condition(c, task, ctx, differences, depth + 1) for c in inner],
        }
    raise _NotStatic(f"unknown condition type {kind!r}")


def _value(raw: Any, task: TaskModel, ctx: RuleContext, differences: list[str]) -> Any:
    if raw is None:
        raise _NotStatic("a condition value is missing or None (the operator fails on None)")
    value, problems = ctx.literal(raw, task)
    if problems:
        raise _NotStatic("; ".join(problems))
    if isinstance(value, Join) and len(value.parts) == 1:
        value = value.parts[0]  # one value alone: the expression itself, not text
    if isinstance(value, str):
        return _cast(value)
    if isinstance(value, Join):
        differences.append(
            f"`{raw}` mixes text with run-time values: compared as text, where Airflow casts "
            "the rendered string to a number or boolean"
        )
    if isinstance(value, (dict, list)):
        raise _NotStatic("a condition value is a structure, not a value")
    return value


def _cast(text: str) -> Any:
    """SageMakerConditionOperator._cast: rendered text to int, float, bool or None."""
    if text == "None":
        raise _NotStatic("a condition value is 'None' (the operator fails on None)")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _task_ids(task: TaskModel, name: str) -> list[str] | None:
    value = literal(task, name, [] if name == "else_task_ids" else None)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None
