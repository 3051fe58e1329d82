"""The interpreter's runtime values -> the DagModel: tasks, their arguments as JSON values or
source text, XCom references, callables, params, DAG options and edges."""

from __future__ import annotations

from typing import Any

from bridge.parse.model import ArgValue, CallableRef, DagModel, Edge, TaskModel
from bridge.parse.scope import iter_refs
from bridge.parse.values import (
    DagNode,
    DagParamRef,
    FunctionValue,
    GroupNode,
    MappedArg,
    ParamValue,
    SdkCall,
    Symbol,
    TaskFuncValue,
    TaskNode,
    Unknown,
    XComRef,
)

_JSON_SCALARS = (str, int, float, bool, type(None))


# Elements a value may have to become a JSON literal; beyond it (a shared structure that would
# print millions of times over) the value is kept as its source text instead.
MAX_JSON_ELEMENTS = 1_000_000


def jsonable(value: Any, depth: int = 0, budget: list[int] | None = None) -> tuple[bool, Any]:
    """(True, JSON value) when the value is a plain literal, else (False, None)."""
    budget = [MAX_JSON_ELEMENTS] if budget is None else budget
    budget[0] -= 1
    if depth > 20 or budget[0] < 0:
        return False, None
    if isinstance(value, _JSON_SCALARS):
        if isinstance(value, float) and value != value:
            return False, None
        if isinstance(value, str) and type(value) is not str:
            return True, str(value)  # a RuntimeText's template leaves the parser as plain text
        return True, value
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            ok, j = jsonable(v, depth + 1, budget)
            if not ok:
                return False, None
            out.append(j)
        return True, out
    if isinstance(value, (set, frozenset)):
        ok, j = jsonable(sorted(value, key=repr), depth + 1, budget)
        return ok, j
    if isinstance(value, dict):
        out_d = {}
        for k, v in value.items():
            ok, j = jsonable(v, depth + 1, budget)
            if not ok or not isinstance(k, _JSON_SCALARS):
                return False, None
            out_d[str(k)] = j
        return True, out_d
    if isinstance(value, ParamValue):
        return jsonable(value.default, depth + 1, budget)
    return False, None


def _contains(value, kind, depth=0, seen: set | None = None) -> bool:
    if isinstance(value, kind):
        return True
    if depth > 6:
        return False
    if isinstance(value, (list, tuple, set, dict)):
        seen = set() if seen is None else seen  # shared containers are looked at once
        if (id(value), depth) in seen:
            return False
        seen.add((id(value), depth))
        items = value.values() if isinstance(value, dict) else value
        return any(_contains(v, kind, depth + 1, seen) for v in items)
    return False


def _with_xcoms(value: Any, depth: int = 0, budget: list[int] | None = None) -> tuple[bool, Any]:
    """Like jsonable, but an XComArg of one task inside a list or dict becomes a nested xcom
    argument, so `merge([a(), b()])` keeps which element reads which task."""
    budget = [MAX_JSON_ELEMENTS] if budget is None else budget
    if isinstance(value, XComRef) and len(value.tasks) == 1:
        nested = {"kind": "xcom", "refs": [value.tasks[0].task_id]}
        return True, nested | ({"key": value.key} if value.key != "return_value" else {})
    if depth > 20 or budget[0] < 0:
        return False, None
    if isinstance(value, (list, tuple)):
        budget[0] -= 1
        items = [_with_xcoms(v, depth + 1, budget) for v in value]
        return all(ok for ok, _ in items), [j for _, j in items]
    if isinstance(value, dict):
        budget[0] -= 1
        pairs = {k: _with_xcoms(v, depth + 1, budget) for k, v in value.items()}
        ok = all(ok for ok, _ in pairs.values()) and all(isinstance(k, str) for k in pairs)
        return ok, {k: j for k, (_, j) in pairs.items()}
    return jsonable(value, depth, budget)


def _partial(value: Any, depth: int, budget: list[int]) -> Any:
    """A dict or list kept as its structure: literal leaves as JSON, XComArgs as xcom dicts and
    every other leaf as its ArgValue dict (its kind and source)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 20:
        raise _NotPartial
    if isinstance(value, dict):
        if not all(isinstance(k, _JSON_SCALARS) for k in value):
            raise _NotPartial
        return {str(k): _partial(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_partial(v, depth + 1, budget) for v in value]
    ok, data = _with_xcoms(value, depth, budget)
    if ok:
        return data
    leaf = to_arg(value, value.source if isinstance(value, Unknown) else "", partial=True)
    return leaf.to_dict()


def _sdk(call: SdkCall, depth: int, budget: list[int]) -> dict:
    """The JSON form of an SDK call (kind "sdk", see model.ArgKind)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 20:
        raise _NotPartial
    data: dict[str, Any] = {
        "sdk": call.name,
        "line": call.line,
        "args": [_sdk_leaf(v, s, depth + 1, budget) for v, s in call.args],
        "kwargs": {k: _sdk_leaf(v, s, depth + 1, budget) for k, (v, s) in call.kwargs.items()},
    }
    if call.receiver is not None:
        data["self"] = _sdk(call.receiver, depth + 1, budget)
    if call.calls:  # serialised without their receiver (it is this call)
        data["calls"] = [
            _sdk(SdkCall(c.name, c.args, c.kwargs, c.line), depth + 1, budget) for c in call.calls
        ]
    if call.unread:
        data["unread"] = list(call.unread)
    return data


def _sdk_leaf(value: Any, source, depth: int, budget: list[int]) -> Any:
    """An SDK call's argument: JSON where literal, a nested SDK call as {"kind": "sdk",
    "value": ...}, containers element by element, anything else its ArgValue dict."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 20:
        raise _NotPartial
    if isinstance(value, SdkCall):
        nested: dict[str, Any] = {"kind": "sdk", "value": _sdk(value, depth + 1, budget)}
        return nested | ({"source": str(source)} if source else {})
    ok, data = _with_xcoms(value, depth, budget)
    if ok:
        return data
    if isinstance(value, dict) and all(isinstance(k, _JSON_SCALARS) for k in value):
        return {str(k): _sdk_leaf(v, "", depth + 1, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sdk_leaf(v, "", depth + 1, budget) for v in value]
    if not source and isinstance(value, Unknown):
        source = value.source
    return to_arg(value, source).to_dict()


class _NotPartial(Exception):
    pass


def _xcom_shape(value: Any, ref: tuple[str, str, dict], path: str, budget: list[int]) -> Any:
    """A producer's pushed value as a consumer reads it: literal leaves as JSON, every other leaf
    an xcom dict reading that leaf's path of the producer's XCom, with the leaf's "origin" (where
    the producer first pushed that value, see pushed.origins)."""
    task_id, key, origins = ref
    budget[0] -= 1
    if budget[0] < 0 or len(path) > 2_000:
        raise _NotPartial
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {
            k: _xcom_shape(v, ref, path + json_path_suffix(k), budget) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _xcom_shape(v, ref, path + json_path_suffix(i), budget) for i, v in enumerate(value)
        ]
    ok, data = jsonable(value, 0, budget)
    if ok and not (isinstance(data, str) and ("{{" in data or "{%" in data)):
        return data
    nested = {"kind": "xcom", "refs": [task_id], "path": path}
    nested |= {"origin": origins.get(id(value), key + path)}
    return nested | ({"key": key} if key != "return_value" else {})


def json_path_suffix(key: str | int) -> str:
    """`.name`, `['a b']` or `[0]`: one step of a JSONPath (as JsonGet takes it)."""
    if isinstance(key, int):
        return f"[{key}]"
    return f".{key}" if key.isidentifier() else f"[{key!r}]"


def to_arg(value: Any, source, partial: bool = False) -> ArgValue:
    """The ArgValue of an evaluated argument. With `partial`, a dict or list that is not all
    literal keeps its known structure (kind "partial") rather than becoming its source text."""
    ok, data = jsonable(value)
    if not ok and isinstance(value, (list, tuple, dict)) and _contains(value, XComRef):
        ok, data = _with_xcoms(value)
    if ok:
        if isinstance(data, str) and ("{{" in data or "{%" in data):
            return ArgValue("template", value=data)
        return ArgValue("literal", value=data)
    if partial and isinstance(value, SdkCall):
        try:
            sdk = _sdk(value, 0, [MAX_JSON_ELEMENTS])
        except _NotPartial:
            pass
        else:
            return ArgValue("sdk", value=sdk, source=str(source) if source else None)
    source = str(source) if source else ""
    refs = sorted({t.task_id for t in iter_refs(value)})
    if partial and isinstance(value, (dict, list, tuple)):
        try:
            structure = _partial(value, 0, [MAX_JSON_ELEMENTS])
        except _NotPartial:
            pass
        else:
            return ArgValue("partial", value=structure, source=source or None, refs=refs)
    if refs or isinstance(value, (XComRef, MappedArg)):
        key = value.key if isinstance(value, XComRef) and value.key != "return_value" else None
        return ArgValue("xcom", source=source or None, refs=refs, key=key)
    if isinstance(value, (FunctionValue, TaskFuncValue)):
        fn = value.func if isinstance(value, TaskFuncValue) else value
        return ArgValue("callable", source=source or fn.name)
    if isinstance(value, DagParamRef) or _contains(value, DagParamRef):
        return ArgValue("param", source=source or None)
    if isinstance(value, Symbol):
        return ArgValue("name", source=source or value.name)
    if isinstance(value, Unknown):
        kind = value.kind if value.kind in ("template", "name") else "expr"
        if "params." in value.source or "params[" in value.source:
            kind = "param"
        return ArgValue(kind, source=source or value.source)
    return ArgValue("expr", source=source or None)


def to_json_value(value: Any, source: str = "") -> Any:
    """A JSON literal when knowable, else the ArgValue dict (kind + source)."""
    ok, data = jsonable(value)
    return data if ok else to_arg(value, source).to_dict()


def _callable_ref(value) -> CallableRef | None:
    if isinstance(value, FunctionValue):
        return CallableRef(value.name, value.line, value.end_line, True)
    if isinstance(value, Symbol):
        return CallableRef(value.name, 0, 0, False)
    return None


def to_task_model(task: TaskNode) -> TaskModel:
    kwargs = {}
    for name, (value, source) in task.kwargs.items():
        if name in ("dag", "task_group"):
            continue
        if name == "op_kwargs" and isinstance(value, dict) and not source:
            kwargs[name] = ArgValue(
                "literal", value={k: to_arg(v, s).to_dict() for k, (v, s) in value.items()}
            )
            continue
        kwargs[name] = to_arg(value, source, partial=True)
        if name in task.shapes and kwargs[name].kind == "xcom":
            ref = kwargs[name]
            pushed, origins = task.shapes[name]
            where = (ref.refs[0], ref.key or "return_value", origins)
            try:
                shape = _xcom_shape(pushed, where, "", [MAX_JSON_ELEMENTS])
            except _NotPartial:
                continue
            ref.value = shape
    group = (
        task.group.group_id
        if isinstance(task.group, GroupNode) and not task.group.is_root
        else None
    )
    callable_value = task.callable
    if callable_value is None and "python_callable" in task.kwargs:
        callable_value = task.kwargs["python_callable"][0]
    return TaskModel(
        task_id=task.task_id,
        operator=task.operator,
        line=task.line,
        group=group,
        flavour=task.flavour,
        trigger_rule=task.trigger_rule or "all_success",
        retries=task.retries,
        mapped=task.mapped,
        mapping=task.mapping,
        is_setup=task.is_setup,
        is_teardown=task.is_teardown,
        task_id_static=task.task_id_static,
        kwargs=kwargs,
        callable=_callable_ref(callable_value),
    )


def _params(dag: DagNode) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, value in dag.params.items():
        if isinstance(value, ParamValue):
            spec = {"default": to_json_value(value.default)}
            spec.update({k: to_json_value(v) for k, v in value.schema.items()})
        elif isinstance(value, DagParamRef):
            spec = {"default": to_json_value(value.default)}
        else:
            spec = {"default": to_json_value(value)}
        out[str(name)] = spec
    return out


# DAG arguments later stages use (concurrency: the Airflow 1.x name of max_active_tasks).
_DAG_OPTIONS = ("max_active_tasks", "concurrency", "max_active_runs", "description", "catchup")


def to_dag_model(dag: DagNode) -> DagModel:
    kw = dag.kwargs
    schedule_key = next(
        (k for k in ("schedule", "schedule_interval", "timetable") if k in kw), None
    )
    schedule = to_json_value(*kw[schedule_key]) if schedule_key else None
    default_args_value, _ = kw.get("default_args", ({}, ""))
    if isinstance(default_args_value, dict):
        default_args = {str(k): to_json_value(v) for k, v in default_args_value.items()}
    else:
        default_args = to_json_value(default_args_value, kw["default_args"][1])
    tags_value = kw.get("tags", ([], ""))[0]
    tags = (
        sorted(t for t in tags_value if isinstance(t, str))
        if isinstance(tags_value, (list, tuple, set))
        else []
    )
    model = DagModel(
        dag_id=dag.dag_id,
        line=dag.line,
        schedule=schedule,
        params=_params(dag),
        default_args=default_args,
        tags=tags,
        dag_id_static=dag.dag_id_static,
        options={
            ("max_active_tasks" if k == "concurrency" else k): to_json_value(*kw[k])
            for k in _DAG_OPTIONS
            if k in kw
        },
    )
    for task in dag.tasks.values():
        model.tasks[task.task_id] = to_task_model(task)
    for task in dag.tasks.values():
        for down, meta in task.down.items():
            if down.dag is dag and dag.tasks.get(down.task_id) is down:
                model.edges.append(Edge(task.task_id, down.task_id, set(meta.kinds), meta.label))
    return model
