"""How `bridge run` carries out a ForEach step: its body once per item, as SageMaker does.

The items are the step's IterableItems resolved (a JSON list string, or a literal list). Each
item gets one child of every body step, named `<body step>-<index>` as SageMaker names them,
with `{"Get": "ForEach.CurrentItem..."}` replaced by the item (a JSON-object item drilled into
by the path). Children run one after the other here (SageMaker runs up to MaxConcurrency at
once; they do not depend on each other) through the runner's own step machinery: retries,
caching, logs, events. The parent's properties are SageMaker's aggregates (Status, counts);
its record also keeps the children's XComs gathered in index order, which is what a mapped
task's readers see (bridge/translate/for_each.py).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.run.record import FAILED, NOT_EXECUTED, STOPPED, SUCCEEDED, RunRecord, StepRun
from bridge.run.values import Scope, follow, resolve

CURRENT_ITEM = "ForEach.CurrentItem"


class LocalRun(Protocol):
    """What of the runner (bridge/run/engine.py's LocalRun) a ForEach step uses."""

    steps: dict[str, dict]
    record: RunRecord
    scope: Scope
    iterations: dict[str, Iteration]

    def add_step(self, name: str, definition: dict) -> None: ...
    def _run_step(self, name: str) -> StepRun: ...
    def _emit(self, event: str, step: StepRun) -> None: ...
    def _stop_requested(self) -> bool: ...


@dataclass(frozen=True)
class Iteration:
    """Where a child comes from: ListPipelineExecutionSteps' IterationContext."""

    parent: str
    index: int
    item: Any

    def to_api(self) -> dict[str, Any]:
        item = self.item if isinstance(self.item, str) else json.dumps(self.item)
        return {"ParentStepName": self.parent, "Index": self.index, "Item": item[:12800]}


def bodies(steps: dict[str, dict]) -> dict[str, dict]:
    """The body steps of every ForEach step, by name (for checks that cover every job)."""
    return {
        body["Name"]: body
        for step in steps.values()
        if step.get("Type") == "ForEach"
        for body in (step.get("Arguments") or {}).get("ForEachBody") or []
    }


def iterable_items(value: Any, scope) -> list:
    """IterableItems at run time: a reference resolving to a JSON list string, or a list."""
    resolved = resolve(value, scope)
    if isinstance(resolved, str):
        try:
            resolved = json.loads(resolved)
        except json.JSONDecodeError:
            raise ValueError(f"IterableItems {resolved[:200]!r} is not a JSON list") from None
    if not isinstance(resolved, list):
        raise ValueError(f"IterableItems resolved to {type(resolved).__name__}, not a list")
    return resolved


def with_item(value: Any, item: Any) -> Any:
    """`value` with every CurrentItem reference replaced by the item (or the field named)."""
    if isinstance(value, list):
        return [with_item(v, item) for v in value]
    if not isinstance(value, dict):
        return value
    get = value.get("Get") if set(value) == {"Get"} else None
    if isinstance(get, str) and (get == CURRENT_ITEM or get.startswith(CURRENT_ITEM)):
        path = get[len(CURRENT_ITEM) :].lstrip(".")
        if not path:
            return item
        document = json.loads(item) if isinstance(item, str) else item
        return follow(document, path, get)
    return {k: with_item(v, item) for k, v in value.items()}


def run_for_each(run: LocalRun, name: str) -> StepRun:
    """Run the ForEach step `name` of `run`: its children, then its own record and properties."""
    definition = run.steps[name]
    arguments = definition.get("Arguments") or {}
    record = StepRun(name=name, status=FAILED, kind="ForEach", attempts=1)
    run.record.steps[name] = record
    record.started = time.time()
    run._emit("start", record)
    try:
        items = iterable_items(arguments.get("IterableItems"), run.scope)
    except ValueError as exc:
        return _end(run, record, FAILED, f"IterableItems: {exc}", {})
    children: list[StepRun] = []
    for index, item in enumerate(items):
        for body in arguments.get("ForEachBody") or []:
            child = f"{body['Name']}-{index}"
            if run._stop_requested():
                children.append(_not_started(run, child, body))
                continue
            run.add_step(child, {**with_item(copy.deepcopy(body), item), "Name": child})
            run.iterations[child] = Iteration(name, index, item)
            children.append(run._run_step(child))
    counts = {
        status: sum(1 for c in children if c.status == status)
        for status in (SUCCEEDED, FAILED, STOPPED)
    }
    status = (
        FAILED
        if counts[FAILED]
        else STOPPED
        if counts[STOPPED] or run._stop_requested()
        else SUCCEEDED
    )
    properties = {
        "Status": status,
        "InputItemCount": len(items),
        "TotalStepCount": len(children),
        "SucceededStepCount": counts[SUCCEEDED],
        "FailedStepCount": counts[FAILED],
        "StoppedStepCount": counts[STOPPED],
    }
    failed = next((c for c in children if c.status == FAILED), None)
    reason = f"child {failed.name} failed: {failed.reason}" if failed else ""
    record.property_files = _gathered(children)
    return _end(run, record, status, reason, properties)


def _not_started(run: LocalRun, child: str, body: dict) -> StepRun:
    step = StepRun(name=child, status=NOT_EXECUTED, kind=body.get("Type", ""))
    step.reason = "the run was stopped before this step started"
    run.record.steps[child] = step
    return step


def _gathered(children: list[StepRun]) -> dict[str, Any]:
    """The children's XComs as the mapped task's readers get them: each key, the list of its
    values in index order (only when every child wrote one)."""
    values = [c.property_files.get("xcom") for c in children]
    if not values or any(not isinstance(v, dict) for v in values):
        return {}
    keys = sorted({k for v in values for k in v})
    return {"xcom": {k: [v.get(k) for v in values] for k in keys}}


def _end(run: LocalRun, record: StepRun, status: str, reason: str, properties: dict) -> StepRun:
    record.status, record.reason = status, reason
    record.outputs = properties
    record.ended = time.time()
    if status == SUCCEEDED:
        run.scope.properties[record.name] = properties
    run._emit("end", record)
    return record
