"""What a TaskFlow task pushes, evaluated statically: the structure of its XComs.

A DAG often builds a job's whole request in a setup task (`ti.xcom_push(key="training_config",
value={...})` or `return {...}`) and hands it to an operator as `setup["training_config"]`. The
parser runs the task's body the way it runs the file's helper functions — never the code itself:
its parameters are unknown, calls it does not model are unknown — and keeps each pushed value.
The literal parts of that value are known; the rest is only known when the task runs, and a
consumer reads those leaves from the task's XCom. A mixin of the Interpreter.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from bridge.parse.scope import (
    AbortEvaluation,
    BreakSignal,
    ContinueSignal,
    ReturnSignal,
    Scope,
)
from bridge.parse.values import FunctionValue, TaskNode, Unknown, XComRef

# Steps one task body may take: a setup task is a page of dict literals, not a loop over data.
_BODY_STEPS = 20_000


class PushedValues:
    """Needs the Interpreter's exec_block, bind_params, diagnostics and step counter."""

    def pushed_values(self, task: TaskNode) -> dict[str, Any]:
        """{XCom key: value} a TaskFlow task pushes, its return value as "return_value"; {} when
        the body cannot be evaluated. Computed once per task."""
        cache = self.__dict__.setdefault("_pushed_cache", {})
        if id(task) in cache:
            return cache[id(task)][1]
        func = task.callable
        result: dict[str, Any] = {}
        if isinstance(func, FunctionValue) and isinstance(func.node, cst.FunctionDef):
            result = self._run_body(func)
        cache[id(task)] = (task, result)  # the task is kept so that its id is not reused
        return result

    def _run_body(self, func: FunctionValue) -> dict[str, Any]:
        saved = (len(self.diagnostics), list(self.dags), list(self.floating), self.steps)
        self.speculative = True
        self.pushes = {}
        local = Scope(func.closure, func.closure.module)
        unknown_args = {name: Unknown(name, "name") for name in _param_names(func.node)}
        self.bind_params(func, [], unknown_args, local, lambda name, default: default)
        returned: Any = None
        self.steps = max(0, self.limits.steps - _BODY_STEPS)
        try:
            self.exec_block(func.node.body.body, local)
        except ReturnSignal as ret:
            returned = ret.value
        except (AbortEvaluation, BreakSignal, ContinueSignal, RecursionError):
            self.pushes = {}
        except Exception:  # noqa: BLE001 - a body the evaluator trips on pushes nothing known
            self.pushes = {}
        finally:
            pushes, self.pushes, self.speculative = self.pushes, None, False
            # The body's own findings are not the file's: nothing it did is kept but its pushes.
            del self.diagnostics[saved[0] :]
            self.dags[:], self.floating[:], self.steps = saved[1], saved[2], saved[3]
        if returned is not None:
            pushes.setdefault("return_value", returned)
            if isinstance(returned, dict):  # multiple_outputs pushes each key as well
                for key, value in returned.items():
                    if isinstance(key, str):
                        pushes.setdefault(key, value)
        return pushes

    def note_push(self, args: list, kwargs: dict) -> None:
        """`ti.xcom_push(key, value)` inside a body being evaluated: remember the value."""
        key = kwargs.get("key", (args[0] if args else None, ""))[0]
        value = kwargs.get("value", (args[1] if len(args) > 1 else None, ""))[0]
        if isinstance(key, str):
            self.pushes[key] = value


def _param_names(node: cst.FunctionDef) -> list[str]:
    params = node.params
    return [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]


def attach_shapes(interp: PushedValues, tasks: list[TaskNode]) -> None:
    """For each task argument that is a whole XCom of one task whose body the parser can read,
    the value that task pushes when it is a structure (a dict or list): `TaskNode.shapes[kwarg]`
    is (value, origins), see `origins`."""
    for task in tasks:
        for name, (value, _) in task.kwargs.items():
            if isinstance(value, XComRef) and len(value.tasks) == 1:
                pushes = interp.pushed_values(value.tasks[0])
                pushed = pushes.get(value.key)
                if isinstance(pushed, (dict, list, tuple)):
                    task.shapes[name] = (pushed, origins(pushes))


def origins(pushes: dict[str, Any]) -> dict[int, str]:
    """Where each run-time value of a body is first pushed, as "key" or "key.path": the same
    object pushed twice (`model_name` alone and inside a config) is the same value at run time,
    so a consumer of one can be matched with a consumer of the other."""
    found: dict[int, str] = {}
    for key, value in pushes.items():
        if not isinstance(value, (dict, list, tuple, *_SCALARS)):
            found.setdefault(id(value), key)
    for key, value in pushes.items():
        _walk_origins(value, key, found, 0)
    return found


_SCALARS = (str, int, float, bool, type(None))


def _walk_origins(value: Any, path: str, found: dict[int, str], depth: int) -> None:
    if depth > 20:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            step = f".{k}" if isinstance(k, str) and k.isidentifier() else f"[{k!r}]"
            _walk_origins(v, path + step, found, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk_origins(v, f"{path}[{i}]", found, depth + 1)
    elif not isinstance(value, _SCALARS):
        found.setdefault(id(value), path)
