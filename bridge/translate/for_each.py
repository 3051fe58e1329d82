"""A task mapped over a list known only at run time as a SageMaker ForEachStep.

`train.partial(data=d).expand(alpha=candidates())` runs one task instance per element of the
list `candidates` returns; its readers get the list of the instances' return values, in order
(Airflow's LazyXComSequence). SageMaker's ForEachStep runs its body once per item of a list it
reads at run time, so the two match when one argument is mapped over one upstream XCom, whole:

- the producer step also writes the list's indexes as JSON text ("bridge_map_items" in its
  xcom.json), which the ForEach iterates: an index, not the element, so that equal elements
  stay apart and each child knows its place;
- each child reads the producer's XCom as the mapped task would, takes its element (the step
  runtime's --map-index) and writes its XCom to xcom/<step>/<index>/, a prefix of its own;
- readers mount xcom/<step>/ and gather the children's XComs in index order, which is the list
  Airflow gives them.

Cross products (several mapped arguments), `expand_kwargs`, a mapped `op_kwargs` and values
drawn from part of an XCom keep the one-job loop (translators/common.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bridge.parse.model import DagModel, TaskModel
from bridge.translate.step_specs import ForEachPlan, ProcessingSpec, script_of
from translators.registry import Translation

# SageMaker's bounds for MaxConcurrency, and Airflow's default max_active_tasks_per_dag (the
# instances of one mapped task that run at once unless the task or the DAG says otherwise).
MAX_CONCURRENCY = 50
AIRFLOW_DEFAULT_ACTIVE = 16
ITEMS_KEY = "bridge_map_items"  # the producer's xcom.json: {key: JSON list of index strings}
BODY_SUFFIX = "-item"
LOOP_DIFFERENCE = "mapped over a value known only at run time: the step runs every mapped"
EMPTY_LIST_DIFFERENCE = (
    "mapped over an empty list: Airflow skips the task (and, by default, its downstream); the "
    "ForEachStep has no child, and a step reading its XCom fails on the empty prefix"
)


def mapped_argument(task: TaskModel) -> tuple[str, str, str] | None:
    """(argument, upstream task, XCom key) when `task` maps one argument over one upstream
    task's whole XCom: the only shape a ForEach over that XCom's list reproduces."""
    mapping = task.mapping or {}
    keys = mapping.get("keys") or []
    if mapping.get("kind") != "expand" or len(keys) != 1 or keys[0] in ("op_args", "op_kwargs"):
        return None
    op_kwargs = task.kwargs.get("op_kwargs")
    nested = op_kwargs.value if op_kwargs is not None and op_kwargs.kind == "literal" else None
    if isinstance(nested, dict) and keys[0] in nested:
        arg = nested[keys[0]]
        kind, refs, key, path = arg.get("kind"), arg.get("refs"), arg.get("key"), arg.get("path")
    else:
        value = task.kwargs.get(keys[0])
        if value is None:
            return None
        kind, refs, key, path = value.kind, value.refs, value.key, None
    key = key or "return_value"
    if kind != "xcom" or len(refs or []) != 1 or path or not key.isidentifier():
        return None
    return keys[0], refs[0], key


def for_each_translation(
    task: TaskModel,
    result: Translation,
    upstream: Translation | None,
    dag: DagModel,
) -> Translation | None:
    """`result` (the rule's one-job loop) as a ForEach around its job, or None when the shapes
    do not match: the task's one Python script step mapping that argument, over the XCom of an
    upstream task that is one script step too. Marks the producer's step to write the indexes."""
    found = mapped_argument(task)
    if found is None or upstream is None or len(result.steps) != 1 or len(upstream.steps) != 1:
        return None
    argument, producer, key = found
    spec, source = result.steps[0].spec, upstream.steps[0].spec
    script = script_of(spec)
    if (
        script is None
        or script.mode != "python"
        or script.map_keys != [argument]
        or script_of(source) is None
        or upstream.parallel
    ):
        return None
    plan = ForEachPlan(
        argument=argument,
        task=producer,
        key=key,
        max_concurrency=max_concurrency(task, dag),
        body="",  # named once the step is (engine._add_steps)
    )
    assert isinstance(spec, ProcessingSpec) and isinstance(source, ProcessingSpec)
    result.steps[0].spec = dataclasses.replace(spec, for_each=plan)
    call = dict(source.call or {})
    call["map_items"] = sorted({*(call.get("map_items") or []), key})
    upstream.steps[0].spec = dataclasses.replace(source, call=call)
    differences = [d for d in result.differences if not d.startswith(LOOP_DIFFERENCE)]
    differences.append(EMPTY_LIST_DIFFERENCE)
    if plan.max_concurrency < _wanted_concurrency(task, dag):
        differences.append(
            f"at most {MAX_CONCURRENCY} instances run at once (SageMaker's limit for a ForEachStep)"
        )
    return dataclasses.replace(result, fidelity=_approximate(result), differences=differences)


def _approximate(result: Translation) -> Any:
    """An empty list behaves differently: never better than approximate."""
    return "manual" if result.fidelity == "manual" else "approximate"


def max_concurrency(task: TaskModel, dag: DagModel) -> int:
    return max(1, min(MAX_CONCURRENCY, _wanted_concurrency(task, dag)))


def _wanted_concurrency(task: TaskModel, dag: DagModel) -> int:
    """How many instances Airflow runs at once: the task's max_active_tis_per_dagrun or
    max_active_tis_per_dag, else the DAG's max_active_tasks, else Airflow's default."""
    for name in ("max_active_tis_per_dagrun", "max_active_tis_per_dag"):
        arg = task.kwargs.get(name)
        if arg is not None and arg.kind == "literal" and _positive(arg.value):
            return arg.value
    limit = dag.options.get("max_active_tasks")
    return limit if _positive(limit) else AIRFLOW_DEFAULT_ACTIVE


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def body_name(step_name: str) -> str:
    """The body step's name: the step's, with a suffix (names are at most 64 characters)."""
    return step_name[: 64 - len(BODY_SUFFIX)] + BODY_SUFFIX
