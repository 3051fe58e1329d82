"""DAG file -> FileResult: read, parse with libcst, interpret, and convert to the DagModel."""

from __future__ import annotations

import gc
import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import libcst as cst

from bridge.diagnostics import Diagnostic
from bridge.interpreter import Interpreter
from bridge.model import ArgValue, CallableRef, DagModel, Edge, FileResult, TaskModel
from bridge.scope import iter_refs
from bridge.values import (
    DagNode,
    DagParamRef,
    FunctionValue,
    GroupNode,
    MappedArg,
    ParamValue,
    Symbol,
    TaskFuncValue,
    TaskNode,
    Unknown,
    XComRef,
)

_JSON_SCALARS = (str, int, float, bool, type(None))


def parse_file(path: str | Path) -> FileResult:
    """Parse one DAG file statically. Never raises for bad input: problems become diagnostics."""
    path = Path(path)
    shown = str(path)
    result = FileResult(path=shown)
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.diagnostics.append(
            Diagnostic.make("BRG101", 0, f"cannot read file: {exc.strerror}", shown)
        )
        return result
    if b"\x00" in data:
        result.diagnostics.append(
            Diagnostic.make("BRG101", 0, "binary file (contains NUL bytes)", shown)
        )
        return result
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.diagnostics.append(
            Diagnostic.make(
                "BRG101", 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})", shown
            )
        )
        return result
    return parse_source(source, shown, result)


def _parse_module(source: str) -> cst.Module:
    """libcst's parse without its per-node validation (~17% of a large parse).

    Validation guards trees built by hand; a tree straight from libcst's own parser is valid by
    construction. The hook is restored before returning; tests check the tree reproduces the source.
    """
    from libcst._nodes.base import CSTNode

    original = CSTNode.__post_init__
    CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        CSTNode.__post_init__ = original  # type: ignore[method-assign]


def _skip_validation(self) -> None:
    return None


@contextmanager
def _no_cyclic_gc():
    """libcst builds hundreds of thousands of acyclic nodes; cyclic GC passes over them cost ~30%."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_source(
    source: str, path: str = "<string>", result: FileResult | None = None
) -> FileResult:
    with _no_cyclic_gc():
        return _parse_source(source, path, result or FileResult(path=path))


def _parse_source(source: str, path: str, result: FileResult) -> FileResult:
    try:
        module = _parse_module(source)
    except cst.ParserSyntaxError as exc:
        line, message = _python_syntax_error(source) or (exc.raw_line, str(exc).splitlines()[0])
        result.diagnostics.append(Diagnostic.make("BRG100", line, message, path))
        return result
    module_name = Path(path).stem if path != "<string>" else "dag_module"
    try:
        interp = Interpreter(module, path, module_name, source)
        interp.run()
        result.dags = [to_dag_model(d) for d in interp.collected_dags()]
        result.diagnostics.extend(interp.diagnostics)
        for task in interp.floating:
            if task.dag is None:
                result.diagnostics.append(
                    Diagnostic.make(
                        "BRG108", task.line, f"task `{task.task_id}` is not part of any DAG", path
                    )
                )
    except RecursionError:
        result.diagnostics.append(
            Diagnostic.make("BRG111", 0, "expression nesting too deep to evaluate", path)
        )
    except Exception as exc:  # a bug in the parser must not stop a folder run
        digest = hashlib.sha1(repr(exc).encode()).hexdigest()[:8]
        result.diagnostics.append(
            Diagnostic.make("BRG199", 0, f"{type(exc).__name__}: {exc} (ref {digest})", path)
        )
    if not result.dags and not any(d.severity == "error" for d in result.diagnostics):
        result.diagnostics.append(Diagnostic.make("BRG102", 0, "no DAG found", path))
    return result


def _python_syntax_error(source: str) -> tuple[int, str] | None:
    """CPython's own wording and line for a syntax error (ast.parse only parses, never runs)."""
    import ast

    try:
        ast.parse(source)
    except SyntaxError as err:
        return err.lineno or 0, err.msg
    except ValueError as err:
        return 0, str(err)
    return None


# ---- runtime values -> model -------------------------------------------------------------------


def jsonable(value: Any, depth: int = 0) -> tuple[bool, Any]:
    """(True, JSON value) when the value is a plain literal, else (False, None)."""
    if depth > 20:
        return False, None
    if isinstance(value, _JSON_SCALARS):
        if isinstance(value, float) and value != value:
            return False, None
        return True, value
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            ok, j = jsonable(v, depth + 1)
            if not ok:
                return False, None
            out.append(j)
        return True, out
    if isinstance(value, (set, frozenset)):
        ok, j = jsonable(sorted(value, key=repr), depth + 1)
        return ok, j
    if isinstance(value, dict):
        out_d = {}
        for k, v in value.items():
            ok, j = jsonable(v, depth + 1)
            if not ok or not isinstance(k, _JSON_SCALARS):
                return False, None
            out_d[str(k)] = j
        return True, out_d
    if isinstance(value, ParamValue):
        return jsonable(value.default, depth + 1)
    return False, None


def _contains(value, kind, depth=0) -> bool:
    if isinstance(value, kind):
        return True
    if depth > 6:
        return False
    if isinstance(value, (list, tuple, set)):
        return any(_contains(v, kind, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_contains(v, kind, depth + 1) for v in value.values())
    return False


def _with_xcoms(value: Any, depth: int = 0) -> tuple[bool, Any]:
    """Like jsonable, but an XComArg of one task inside a list or dict becomes a nested xcom
    argument, so `merge([a(), b()])` keeps which element reads which task."""
    if isinstance(value, XComRef) and len(value.tasks) == 1:
        nested = {"kind": "xcom", "refs": [value.tasks[0].task_id]}
        return True, nested | ({"key": value.key} if value.key != "return_value" else {})
    if depth > 20:
        return False, None
    if isinstance(value, (list, tuple)):
        items = [_with_xcoms(v, depth + 1) for v in value]
        return all(ok for ok, _ in items), [j for _, j in items]
    if isinstance(value, dict):
        pairs = {k: _with_xcoms(v, depth + 1) for k, v in value.items()}
        ok = all(ok for ok, _ in pairs.values()) and all(isinstance(k, str) for k in pairs)
        return ok, {k: j for k, (_, j) in pairs.items()}
    return jsonable(value, depth)


def to_arg(value: Any, source) -> ArgValue:
    ok, data = jsonable(value)
    if not ok and isinstance(value, (list, tuple, dict)) and _contains(value, XComRef):
        ok, data = _with_xcoms(value)
    if ok:
        if isinstance(data, str) and ("{{" in data or "{%" in data):
            return ArgValue("template", value=data)
        return ArgValue("literal", value=data)
    source = str(source) if source else ""
    refs = sorted({t.task_id for t in iter_refs(value)})
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
        kwargs[name] = to_arg(value, source)
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


__all__ = ["parse_file", "parse_source", "to_dag_model", "to_arg", "jsonable"]
