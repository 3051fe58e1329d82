"""Branching: BranchPythonOperator / @task.branch and ShortCircuitOperator / @task.short_circuit.

A ConditionStep decides which downstream steps run. When the callable is a plain comparison of an
upstream XCom value or a param against a value, it is compiled straight into the condition (no
extra step). Otherwise the callable runs as a step that writes its choice, and one ConditionStep
per downstream task (a "gate") lets that task run only if it was chosen.

SageMaker does not run a step whose dependency did not run, which is Airflow's skip propagation
for `all_success`; joins with other trigger rules are copied into each branch by the engine
(`bridge.translate.engine.plan_copies`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.expressions import Expr, Param, StepOutput, json_path_suffix
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import ConditionSpec
from translators.common import script_step
from translators.registry import Example, StepDraft, Translation, rule

_PY = "airflow.providers.standard.operators.python"
BRANCH_OPERATORS = (
    f"{_PY}.BranchPythonOperator",
    f"{_PY}.BranchPythonVirtualenvOperator",
    f"{_PY}.BranchExternalPythonOperator",
    "airflow.sdk.task.branch",
    "airflow.sdk.task.branch_virtualenv",
    "airflow.sdk.task.branch_external_python",
)
SHORT_CIRCUIT_OPERATORS = (f"{_PY}.ShortCircuitOperator", "airflow.sdk.task.short_circuit")
_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass
class Comparison:
    op: str
    left: Expr
    right: Expr
    when_true: list[str]  # task ids chosen when the comparison holds
    when_false: list[str]

    def spec(self) -> dict[str, Any]:
        return {"op": self.op, "left": self.left, "right": self.right}


_EXAMPLE = """
from airflow.sdk import DAG, task
with DAG("d", params={"min_f1": 0.8}):
    @task
    def evaluate() -> dict:
        return {"f1": 0.9}
    @task.branch
    def choose(metrics: dict, params=None) -> str:
        return "deploy" if metrics["f1"] >= float(params["min_f1"]) else "review"
    @task
    def deploy(): ...
    @task
    def review(): ...
    choose(evaluate()) >> [deploy(), review()]
"""


@rule(
    *BRANCH_OPERATORS,
    branches=True,
    examples=[
        Example(
            "a branch on an XCom value against a param compiles into one ConditionStep",
            _EXAMPLE,
            {"choose": {"fate": "step", "fidelity": "exact", "steps": ["choose"]}},
        )
    ],
)
def branch(task: TaskModel, ctx: RuleContext) -> Translation:
    """BranchPythonOperator / `@task.branch` → ConditionStep. A plain comparison (`return "a" if
    x["k"] >= params["p"] else "b"`, or the same with `if`/`return`) becomes the condition itself,
    on the upstream step's JSON output and the pipeline parameter. Any other callable runs as a
    step that writes the chosen task ids; a ConditionStep per downstream task then lets it run
    only if chosen."""
    targets = ctx.downstream(task.task_id)
    compiled = compile_branch(task, ctx, targets)
    if compiled is not None:
        draft = StepDraft("Condition", ConditionSpec(conditions=[compiled.spec()]))
        exits = {t: (0, "if") for t in compiled.when_true}
        exits |= {t: (0, "else") for t in compiled.when_false}
        return Translation("step", "exact", [draft], [], exits)
    step, differences = script_step(task, ctx, mode="branch")
    step.spec = replace(step.spec, script=replace(step.spec.script, targets=targets))
    drafts = [step]
    exits = {}
    for i, target in enumerate(targets):
        flag = StepOutput(task.task_id, "bridge_branch", json_path_suffix(i))
        gate = ConditionSpec(conditions=[{"op": "==", "left": flag, "right": True}])
        drafts.append(StepDraft("Condition", gate, suffix=f"-to-{target}", after=[0]))
        exits[target] = (len(drafts) - 1, "if")
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, drafts, differences, exits)


@rule(
    *SHORT_CIRCUIT_OPERATORS,
    examples=[
        Example(
            "a short circuit on a run-time check runs as a step and gates everything downstream",
            """
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import ShortCircuitOperator, PythonOperator
import datetime
def present():
    return datetime.date.today().weekday() < 5
def load():
    return 1
with DAG("d"):
    ShortCircuitOperator(task_id="check", python_callable=present) >> PythonOperator(task_id="load", python_callable=load)
""",
            {"check": {"fate": "step", "fidelity": "exact", "steps": ["check", "check-gate"]}},
        )
    ],
)
def short_circuit(task: TaskModel, ctx: RuleContext) -> Translation:
    """ShortCircuitOperator / `@task.short_circuit` → ConditionStep with every downstream step in
    its `if_steps`: when the callable returns a falsy value nothing downstream runs (Airflow's
    default `ignore_downstream_trigger_rules=True`). A plain comparison compiles into the
    condition; otherwise the callable runs as a step first."""
    targets = ctx.downstream(task.task_id)
    compiled = compile_short_circuit(task, ctx)
    if compiled is not None:
        draft = StepDraft("Condition", ConditionSpec(conditions=[compiled]))
        return Translation("step", "exact", [draft], [], {t: (0, "if") for t in targets})
    step, differences = script_step(task, ctx, mode="short_circuit")
    flag = StepOutput(task.task_id, "bridge_condition")
    gate = StepDraft(
        "Condition",
        ConditionSpec(conditions=[{"op": "==", "left": flag, "right": True}]),
        suffix="-gate",
    )
    ignore = task.kwargs.get("ignore_downstream_trigger_rules")
    if ignore is not None and ignore.value is False:
        differences.append(
            "ignore_downstream_trigger_rules=False: only direct downstream tasks are gated here, "
            "but tasks further down with other trigger rules do not run either"
        )
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, [step, gate], differences, {t: (1, "if") for t in targets})


# --- compiling plain comparisons ----------------------------------------------------------------


def compile_branch(task: TaskModel, ctx: RuleContext, targets: list[str]) -> Comparison | None:
    fn = _function(task, ctx)
    if fn is None:
        return None
    body, names = _assignments(fn, task, ctx)
    if body is None or names is None:
        return None
    cond, yes, no = body
    choice_yes, choice_no = _task_ids(yes), _task_ids(no)
    if choice_yes is None or choice_no is None:
        return None
    if not set(choice_yes + choice_no) <= set(targets):
        return None
    compared = _comparison(cond, names)
    if compared is None:
        return None
    op, left, right = compared
    # Targets chosen on neither side are skipped either way: they sit in neither list.
    return Comparison(op, left, right, choice_yes, choice_no)


def compile_short_circuit(task: TaskModel, ctx: RuleContext) -> dict[str, Any] | None:
    fn = _function(task, ctx)
    if fn is None or len(fn.body) < 1 or not isinstance(fn.body[-1], ast.Return):
        return None
    names = _bound_names(fn.body[:-1], task, ctx)
    if names is None or fn.body[-1].value is None:
        return None
    compared = _comparison(fn.body[-1].value, names)
    if compared is None:
        return None
    op, left, right = compared
    return {"op": op, "left": left, "right": right}


def _function(task: TaskModel, ctx: RuleContext) -> ast.FunctionDef | None:
    ref = task.callable
    if ref is None or not ref.defined_in_file or not ctx.source:
        return None
    for node in ctx.functions_named(ref.name):
        if isinstance(node, ast.FunctionDef):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if ref.line and not (start <= ref.line <= (node.end_lineno or node.lineno)):
                continue
            return node
    return None


def _bound_names(stmts: list[ast.stmt], task: TaskModel, ctx: RuleContext) -> dict | None:
    """The function's parameters bound to pipeline values (XComs, params) and the local
    assignments in `stmts`; None if any other statement appears."""
    names: dict[str, Any] = {}
    call, _ = ctx.value(task.kwargs.get("op_kwargs"), task)
    if isinstance(call, dict):
        names.update(call)
    for stmt in stmts:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            return None
        target = stmt.targets[0]
        if not isinstance(target, ast.Name):
            return None
        value = _operand(stmt.value, names, ctx)
        if value is _NO:
            return None
        names[target.id] = value
    names["__ctx__"] = ctx
    return names


def _assignments(fn: ast.FunctionDef, task: TaskModel, ctx: RuleContext):
    """(condition, when-true node, when-false node) of `return a if c else b` or `if c: return a
    else: return b` at the end of the function, with the local names it may use."""
    body = list(fn.body)
    if (
        len(body) >= 2
        and isinstance(body[-1], ast.Return)
        and isinstance(body[-2], ast.If)
        and not body[-2].orelse
        and len(body[-2].body) == 1
        and isinstance(body[-2].body[0], ast.Return)
    ):
        names = _bound_names(body[:-2], task, ctx)
        return (body[-2].test, body[-2].body[0].value, body[-1].value), names
    if not body or not isinstance(body[-1], (ast.Return, ast.If)):
        return None, None
    names = _bound_names(body[:-1], task, ctx)
    if names is None:
        return None, None
    last = body[-1]
    if isinstance(last, ast.Return) and isinstance(last.value, ast.IfExp):
        return (last.value.test, last.value.body, last.value.orelse), names
    if (
        isinstance(last, ast.If)
        and len(last.body) == 1
        and len(last.orelse) == 1
        and isinstance(last.body[0], ast.Return)
        and isinstance(last.orelse[0], ast.Return)
    ):
        return (last.test, last.body[0].value, last.orelse[0].value), names
    return None, None


def _task_ids(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts]
    return None


def _comparison(node: ast.expr, names: dict) -> tuple[str, Expr, Expr] | None:
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS):
        return None
    ctx = names.get("__ctx__")
    left = _operand(node.left, names, ctx)
    right = _operand(node.comparators[0], names, ctx)
    if left is _NO or right is _NO:
        return None
    op = _OPS[type(node.ops[0])]
    if not isinstance(left, (StepOutput, Param)) and isinstance(right, (StepOutput, Param)):
        left, right, op = right, left, _FLIP[op]  # SageMaker conditions read best value-first
    if not isinstance(left, (StepOutput, Param)):
        return None
    return op, left, right


_NO = object()


def _operand(node: ast.expr, names: dict, ctx: RuleContext | None) -> Any:
    """An expression as a pipeline value: a literal, a param, an XCom value or a path in it."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _PARAMS if node.id == "params" else names.get(node.id, _NO)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in ("float", "int", "str", "bool") and len(node.args) == 1:
            return _operand(node.args[0], names, ctx)  # conversions: the pipeline value is typed
        return _NO
    if isinstance(node, ast.Subscript):
        base = _operand(node.value, names, ctx)
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        return _index(base, key, ctx)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _method(node, names, ctx)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
        first = node.values[0]  # `(params or {})`
        if isinstance(first, ast.Name) and first.id == "params":
            return _PARAMS
    return _NO


_PARAMS = object()


def _index(base: Any, key: Any, ctx: RuleContext | None) -> Any:
    if base is _PARAMS:
        if isinstance(key, str) and ctx is not None and key in ctx.dag.params:
            return ctx.dag_param(key)
        return _NO
    if isinstance(base, StepOutput) and isinstance(key, (str, int)):
        return StepOutput(base.task_id, base.key, base.path + json_path_suffix(key))
    return _NO


def _method(node: ast.Call, names: dict, ctx: RuleContext | None) -> Any:
    func = node.func
    assert isinstance(func, ast.Attribute)
    owner = func.value
    if (
        func.attr == "xcom_pull"
        and isinstance(owner, ast.Name)
        and owner.id in ("ti", "task_instance")
    ):
        ids = [k.value for k in node.keywords if k.arg == "task_ids"] + node.args[:1]
        if len(ids) == 1 and isinstance(ids[0], ast.Constant) and isinstance(ids[0].value, str):
            if ctx is not None and ids[0].value in ctx.dag.tasks:
                return StepOutput(ids[0].value)
        return _NO
    if func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
        base = _PARAMS if _is_params(owner) else _operand(owner, names, ctx)
        return _index(base, node.args[0].value, ctx)
    return _NO


def _is_params(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "params"
    return (
        isinstance(node, ast.BoolOp)
        and isinstance(node.values[0], ast.Name)
        and node.values[0].id == "params"
    )
