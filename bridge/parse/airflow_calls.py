"""Airflow's methods and functions, modelled as tables of handlers: the methods of tasks,
XComArgs, groups, TaskFlow functions and partials (`METHODS`, `fn(interp, obj, args, kwargs,
node)`), and calls to Airflow's own names (`SYMBOL_CALLS`, `fn(interp, args, kwargs, node)`).
The handlers call back into the Interpreter they are given (its Airflow constructs mixin)."""

from __future__ import annotations

import json
from typing import Any

from bridge.parse import dependencies as deps
from bridge.parse.limits import TooLarge
from bridge.parse.runtime_text import environment_text, holds_runtime_text, variable_text
from bridge.parse.scope import iter_refs
from bridge.parse.values import (
    ClassValue,
    DagFuncValue,
    DagNode,
    DecoratorFactory,
    FunctionValue,
    GroupFuncValue,
    GroupNode,
    LabelNode,
    PartialValue,
    Symbol,
    TaskFuncValue,
    TaskNode,
    XComRef,
)

# ---- methods of our objects (fn(interp, self, args, kwargs, node)) --------------------------


def _m_relate(setter):
    """`x.set_downstream(y, edge_modifier=Label(...))` and `x.set_upstream(...)`."""

    def method(it, obj, args, kwargs, node):
        label = kwargs.get("edge_modifier", (None, ""))[0]
        for other in args[:1]:
            try:
                setter(obj, other, label=label if isinstance(label, LabelNode) else None)
            except deps.DependencyError as exc:
                it.diag("BRG104", node, f"`{it.src(node)}`: {exc}")
        return None

    return method


def _tasks_of(obj) -> list[TaskNode]:
    return obj.tasks if isinstance(obj, XComRef) else [obj]


def _m_as_setup(it, obj, args, kwargs, node):
    for t in _tasks_of(obj):
        t.is_setup = True
    return obj


def _m_as_teardown(it, obj, args, kwargs, node):
    setups = kwargs.get("setups", (None, ""))[0]
    for t in _tasks_of(obj):
        t.is_teardown = True
        t.trigger_rule = "all_done_setup_success"
        if setups is not None:
            for s in setups if isinstance(setups, (list, tuple)) else [setups]:
                for st in _tasks_of(s) if isinstance(s, (TaskNode, XComRef)) else []:
                    st.is_setup = True
                it.dependency(deps.rshift, s, t, node)
    return obj


def _m_xcom_same(it, obj: XComRef, args, kwargs, node):
    tasks = list(obj.tasks)
    for a in args:
        if isinstance(a, XComRef):
            tasks.extend(a.tasks)
    return XComRef(tasks, obj.key)


def _m_none(it, obj, args, kwargs, node):
    return None


def _m_override(it, obj: TaskFuncValue, args, kwargs, node):
    return TaskFuncValue(
        obj.func, obj.flavour, {**obj.kwargs, **kwargs}, obj.is_setup, obj.is_teardown, obj.partial
    )


def _m_tf_partial(it, obj: TaskFuncValue, args, kwargs, node):
    return TaskFuncValue(
        obj.func, obj.flavour, obj.kwargs, obj.is_setup, obj.is_teardown, {**obj.partial, **kwargs}
    )


def _mapping(kind: str, keys) -> dict:
    return {"kind": kind, "keys": sorted(keys)}


def _m_tf_expand(it, obj: TaskFuncValue, args, kwargs, node):
    merged = {**obj.partial, **kwargs}
    return it.call_taskfunc(obj, [], merged, node, mapped=_mapping("expand", kwargs))


def _m_tf_expand_kwargs(it, obj: TaskFuncValue, args, kwargs, node):
    source = it.src(node.args[0].value) if node.args else ""
    xref = XComRef([t for a in args for t in iter_refs(a)]) if args else None
    task_ref = it.call_taskfunc(
        obj, [], dict(obj.partial), node, mapped=_mapping("expand_kwargs", [])
    )
    task = task_ref.operator
    task.kwargs["expand_kwargs"] = (args[0] if args else None, source)
    if xref and xref.tasks:
        it.link_data(task, [xref], node)
    return task_ref


def _m_partial_expand(it, obj: PartialValue, args, kwargs, node):
    return it.make_operator(
        obj.operator, [], {**obj.kwargs, **kwargs}, node, mapped=_mapping("expand", kwargs)
    )


def _m_partial_expand_kwargs(it, obj: PartialValue, args, kwargs, node):
    source = it.src(node.args[0].value) if node.args else ""
    merged = {**obj.kwargs, "expand_kwargs": (args[0] if args else None, source)}
    return it.make_operator(obj.operator, [], merged, node, mapped=_mapping("expand_kwargs", []))


def _m_class_partial(it, obj: ClassValue, args, kwargs, node):
    return PartialValue(obj.qualname, kwargs) if obj.is_operator else it.unknown(node)


def _m_group_override(it, obj: GroupFuncValue, args, kwargs, node):
    return GroupFuncValue(obj.func, {**obj.kwargs, **kwargs}, obj.partial)


def _m_group_partial(it, obj: GroupFuncValue, args, kwargs, node):
    return GroupFuncValue(obj.func, obj.kwargs, {**obj.partial, **kwargs})


def _m_group_expand(it, obj: GroupFuncValue, args, kwargs, node):
    return it.call_groupfunc(obj, [], {}, node, expand=kwargs)


def _m_group_expand_kwargs(it, obj: GroupFuncValue, args, kwargs, node):
    source = it.src(node.args[0].value) if node.args else ""
    expand = {
        p.name.value: (args[0] if args else None, source)
        for p in obj.func.node.params.params
        if p.name.value not in obj.partial
    }
    return it.call_groupfunc(obj, [], {}, node, expand=expand)


_DEP_METHODS = {
    "set_downstream": _m_relate(deps.set_downstream),
    "set_upstream": _m_relate(deps.set_upstream),
}
METHODS: dict[tuple[type, str], Any] = {}
for _cls in (TaskNode, XComRef, GroupNode, LabelNode):
    for _name, _fn in _DEP_METHODS.items():
        METHODS[(_cls, _name)] = _fn
for _cls in (TaskNode, XComRef):
    METHODS[(_cls, "as_setup")] = _m_as_setup
    METHODS[(_cls, "as_teardown")] = _m_as_teardown
for _name in ("map", "zip", "concat", "resolve", "filter"):
    METHODS[(XComRef, _name)] = _m_xcom_same
for _name in ("test", "cli", "doc_md", "run", "clear"):
    METHODS[(DagNode, _name)] = _m_none
METHODS.update(
    {
        (TaskFuncValue, "override"): _m_override,
        (TaskFuncValue, "partial"): _m_tf_partial,
        (TaskFuncValue, "expand"): _m_tf_expand,
        (TaskFuncValue, "expand_kwargs"): _m_tf_expand_kwargs,
        (PartialValue, "expand"): _m_partial_expand,
        (PartialValue, "expand_kwargs"): _m_partial_expand_kwargs,
        (ClassValue, "partial"): _m_class_partial,
        (GroupFuncValue, "override"): _m_group_override,
        (GroupFuncValue, "partial"): _m_group_partial,
        (GroupFuncValue, "expand"): _m_group_expand,
        (GroupFuncValue, "expand_kwargs"): _m_group_expand_kwargs,
    }
)


# ---- calls to Airflow names (canonical) ---------------------------------------------------


def _c_dag(it, args, kwargs, node):
    if len(args) == 1 and isinstance(args[0], FunctionValue) and not kwargs:
        return DagFuncValue(args[0], {})
    return DecoratorFactory("dag", None, kwargs)


def _c_task_group(it, args, kwargs, node):
    if len(args) == 1 and isinstance(args[0], FunctionValue) and not kwargs:
        return GroupFuncValue(args[0], {})
    if args and isinstance(args[0], str):
        kwargs = {"group_id": (args[0], ""), **kwargs}
    return DecoratorFactory("task_group", None, kwargs)


def _c_asset(it, args, kwargs, node):
    return DecoratorFactory("asset", None, kwargs)


def _c_label(it, args, kwargs, node):
    label = args[0] if args else kwargs.get("label", (None, ""))[0]
    return LabelNode(label if isinstance(label, str) else None)


def _c_chain(fn):
    def call(it, args, kwargs, node):
        try:
            fn(*args)
        except deps.DependencyError as exc:
            it.diag("BRG104", node, f"`{it.src(node.func)}(...)`: {exc}")
        return None

    return call


def _c_xcomarg(it, args, kwargs, node):
    if args and isinstance(args[0], TaskNode):
        key = kwargs.get("key", ("return_value", ""))[0]
        return XComRef([args[0]], key if isinstance(key, str) else "return_value")
    return it.unknown(node)


def _c_setup_teardown(kind):
    def call(it, args, kwargs, node):
        if len(args) == 1 and isinstance(args[0], (FunctionValue, TaskFuncValue)):
            return it.apply_decorator(Symbol(f"airflow.sdk.{kind}"), args[0], node)
        return it.unknown(node)

    return call


def _c_environ_get(it, args, kwargs, node):
    """`os.environ.get(name[, default])` / `os.getenv(...)`: the worker's value at parse time."""
    name = args[0] if args else kwargs.get("key", (None, ""))[0]
    default = args[1] if len(args) > 1 else kwargs.get("default", (None, ""))[0]
    if type(name) is not str or (default is not None and type(default) is not str):
        return it.unknown(node, "call")
    return environment_text(name, default)


def _c_variable_get(it, args, kwargs, node):
    """`Variable.get(key[, default])` at parse time: the Variable's value, as `{{ var.value }}`."""
    key = args[0] if args else kwargs.get("key", (None, ""))[0]
    default = args[1] if len(args) > 1 else None
    for name in ("default", "default_var"):
        default = kwargs.get(name, (default, ""))[0]
    as_json = kwargs.get("deserialize_json", (False, ""))[0]
    if type(key) is not str or (default is not None and type(default) is not str):
        return it.unknown(node, "call")
    if as_json not in (True, False):
        return it.unknown(node, "call")
    return variable_text(key, default, json=as_json)


def _c_json_dumps(it, args, kwargs, node):
    """`json.dumps(literal)`: the text, so a payload built as a dict stays readable. A value that
    is not plain JSON (a run-time value inside, a RuntimeText) stays unknown."""
    from bridge.parse.to_model import jsonable

    options = {k: v for k, (v, _) in kwargs.items()}
    if len(args) != 1 or set(options) - {"indent", "sort_keys", "separators", "ensure_ascii"}:
        return it.unknown(node, "call")
    ok, value = jsonable(args[0])
    if not ok or _holds_text_of_runtime(args[0]):
        return it.unknown(node, "call")
    try:
        size = it.printed(value, node)
    except TooLarge:
        return it.unknown(node, "call")
    if not it.afford(size, node):
        return it.unknown(node, "call")
    try:
        return json.dumps(value, **options)
    except (TypeError, ValueError):
        return it.unknown(node, "call")


def _holds_text_of_runtime(value, depth: int = 0) -> bool:
    if depth > 20:
        return True
    if isinstance(value, dict):
        return any(_holds_text_of_runtime(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_text_of_runtime(v, depth + 1) for v in value)
    return holds_runtime_text(value)


_VARIABLE_CLASSES = (
    "airflow.sdk.Variable",
    "airflow.models.Variable",
    "airflow.models.variable.Variable",
    "airflow.sdk.definitions.variable.Variable",
)

SYMBOL_CALLS = {
    "json.dumps": _c_json_dumps,
    "os.environ.get": _c_environ_get,
    "os.getenv": _c_environ_get,
    **{f"{cls}.get": _c_variable_get for cls in _VARIABLE_CLASSES},
    "airflow.sdk.DAG": lambda it, a, k, n: it.make_dag(a, k, n),
    "airflow.sdk.dag": _c_dag,
    "airflow.sdk.TaskGroup": lambda it, a, k, n: it.make_group(a, k, n),
    "airflow.sdk.task_group": _c_task_group,
    "airflow.sdk.asset": _c_asset,
    "airflow.sdk.asset.multi": _c_asset,
    "airflow.sdk.Label": _c_label,
    "airflow.sdk.chain": _c_chain(deps.chain),
    "airflow.sdk.chain_linear": _c_chain(deps.chain_linear),
    "airflow.sdk.cross_downstream": _c_chain(deps.cross_downstream),
    "airflow.sdk.Param": lambda it, a, k, n: it.make_param(a, k, n),
    "airflow.sdk.XComArg": _c_xcomarg,
    "airflow.sdk.setup": _c_setup_teardown("setup"),
    "airflow.sdk.teardown": _c_setup_teardown("teardown"),
}
