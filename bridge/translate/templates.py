"""Airflow Jinja templates as pipeline values.

An Airflow task argument such as `"s3://bucket/{{ ds }}/{{ params.table }}"` is rendered by
Airflow just before the task runs. In the pipeline the same string becomes a `Join` of literal
text and run-time values (`Param`, `ExecVar`, `StepOutput`; see `bridge.translate.expressions`).

The template is parsed with Jinja's own parser (with Airflow's default environment options) and
the expression nodes are matched against the forms below; anything else is reported as a problem
and the text is kept unchanged, so nothing is silently lost.

- `params.x`, `params['x']`, `params.get('x')`, `dag_run.conf.x` -> `Param("x")`
- `ds`, `ds_nodash`, `ts`, `ts_nodash`, `ts_nodash_with_tz`, `logical_date`,
  `data_interval_start`, `data_interval_end` (and `dag_run.<that>`) -> context parameters
  (`CONTEXT_PARAMETERS`); `execution_date` (removed in Airflow 3) -> the `logical_date` one.
  `next_ds`, `prev_ds`, `tomorrow_ds`, ... were removed in Airflow 3: a problem.
- `run_id`, `dag_run.run_id`, `ti.run_id` -> `ExecVar("PIPELINE_EXECUTION_ID")`
- `dag.dag_id`, `dag_run.dag_id`, `ti.dag_id` -> the DAG id; `task.task_id`, `ti.task_id` -> the
  task id (literal text)
- `ti.xcom_pull(task_ids='a', key='k')['f']` -> `StepOutput("a", "k", "f")`
- `var.value.x`, `var.value.get('x', 'd')` -> `Param("var_x")`; `var.json.x.y` ->
  `Param("var_json_x_y")` (the operator renders the whole expression, so chains on JSON work)
- `conn.c.host` (host, login, password, schema, port, extra, conn_type) -> `Param("conn_c_host")`

Variables and connections are never read here: their values reach the pipeline only as
parameters filled at trigger time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

import jinja2
from jinja2 import nodes

from bridge.parse.runtime_text import ENV_ROOT
from bridge.translate.expressions import ExecVar, Expr, Join, Param, StepOutput
from bridge.translate.params import (
    ParameterSpec,
    infer_parameters,
    param_expression,
    parameter_name,
)


def _context_spec(name: str, what: str) -> ParameterSpec:
    return ParameterSpec(
        name=name,
        type="String",
        default="",
        source="context",
        description=f"Airflow's `{name}`: {what}. Filled by the bridge's Airflow operator; "
        "empty, the step derives it from the execution's start and the DAG's schedule.",
        airflow=f"{{{{ {name} }}}}",
    )


_CONTEXT_VALUES: dict[str, ParameterSpec] = {
    spec.name: spec
    for spec in (
        _context_spec("ds", "the logical date as YYYY-MM-DD"),
        _context_spec("ds_nodash", "the logical date as YYYYMMDD"),
        _context_spec("ts", "the logical date, ISO 8601 with offset"),
        _context_spec("ts_nodash", "the logical date as YYYYMMDDTHHMMSS"),
        _context_spec("ts_nodash_with_tz", "the logical date as YYYYMMDDTHHMMSS+offset"),
        _context_spec("logical_date", "the run's logical date and time"),
        _context_spec("data_interval_start", "the start of the run's data interval"),
        _context_spec("data_interval_end", "the end of the run's data interval"),
    )
}
# `{{ ts_nodash | lower }}` (S3 bucket names must be lower case): a pipeline expression cannot
# change case, so the filtered value is a context parameter of its own, `ts_nodash_lower`.
_CASE_FILTERS = ("lower", "upper")


def _filtered_spec(spec: ParameterSpec, case: str) -> ParameterSpec:
    return replace(
        spec,
        name=f"{spec.name}_{case}",
        description=f"Airflow's `{spec.name} | {case}`. " + spec.description.split(". ", 1)[1],
        airflow=f"{{{{ {spec.name} | {case} }}}}",
    )


CONTEXT_PARAMETERS: dict[str, ParameterSpec] = {
    **_CONTEXT_VALUES,
    **{
        f"{name}_{case}": _filtered_spec(spec, case)
        for name, spec in _CONTEXT_VALUES.items()
        for case in _CASE_FILTERS
    },
}
"""Airflow context variable -> the String pipeline parameter standing for it.

This is the contract with the bridge's Airflow operator: when it starts the pipeline it sets each
of these parameters the pipeline declares to `str(context[name])` (what Jinja renders; "" when
Airflow has no value, e.g. a manual run without a logical date), i.e. it renders `spec.airflow`.
A pipeline started from anywhere else (console, EventBridge schedule, SDK) may pass them itself;
left at the default "", each step that uses them derives them from the execution's start time
and the DAG's schedule, as Airflow dates that run (`bridge.translate.context_values`).
"""

# Airflow 2 names gone from the Airflow 3 context: what to use instead.
_REMOVED = {
    "next_ds": "data_interval_end",
    "next_ds_nodash": "data_interval_end",
    "prev_ds": "data_interval_start",
    "prev_ds_nodash": "data_interval_start",
    "tomorrow_ds": "macros.ds_add(ds, 1) in the step",
    "tomorrow_ds_nodash": "macros.ds_add(ds, 1) in the step",
    "yesterday_ds": "macros.ds_add(ds, -1) in the step",
    "yesterday_ds_nodash": "macros.ds_add(ds, -1) in the step",
    "next_execution_date": "data_interval_end",
    "prev_execution_date": "data_interval_start",
    "prev_execution_date_success": "prev_data_interval_start_success",
}
_ALIASES = {"execution_date": "logical_date"}  # same value, renamed in Airflow 3
_RUN_ID = ExecVar("PIPELINE_EXECUTION_ID")
_CONN_FIELDS = {"host", "login", "password", "schema", "port", "extra", "conn_type"}
_XCOM_KWARGS = ("task_ids", "dag_id", "key")  # xcom_pull's positional order, as in Airflow 3
_MAX_QUOTE = 120


@dataclass
class TemplateResult:
    value: Expr
    parameters: dict[str, ParameterSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _Untranslatable(Exception):
    """One part of the template that has no pipeline equivalent; the message says which."""


@dataclass
class _Walk:
    dag_id: str
    task_id: str
    task_ids: set[str]
    parameters: dict[str, ParameterSpec] = field(default_factory=dict)

    def param(self, spec: ParameterSpec) -> Param:
        self.parameters.setdefault(spec.name, spec)
        return Param(spec.name)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> nodes.Template | str:
    """The template's Jinja tree, or why it is not valid Jinja: parsed once per distinct text
    (a DAG's tasks share their templates; read, never changed)."""
    # Airflow's default template environment: the `do` extension, trailing newline dropped.
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    try:
        return env.parse(text)
    except jinja2.TemplateSyntaxError as err:
        return f"is not valid Jinja ({err.message}, line {err.lineno})"
    except (jinja2.TemplateError, RecursionError) as err:
        return f"is not valid Jinja ({err})"


def translate_template(
    text: str, *, dag_id: str, task_id: str, task_ids: set[str]
) -> TemplateResult:
    """`text` as a pipeline value, the parameters it uses, and what could not be translated.

    On any problem the value is `text` unchanged and no parameters are reported.
    """
    tree = _parsed(text)
    if isinstance(tree, str):
        return _failed(text, [tree])
    walk = _Walk(dag_id, task_id, task_ids)
    parts: list[Any] = []
    reasons: list[str] = []
    for stmt in tree.body:
        if not isinstance(stmt, nodes.Output):
            reasons.append(f"cannot translate the `{{% {_statement(stmt)} %}}` statement")
            continue
        for node in stmt.nodes:
            try:
                parts.append(
                    node.data if isinstance(node, nodes.TemplateData) else _expr(node, walk)
                )
            except _Untranslatable as why:
                reasons.append(f"cannot translate {why}")
            except RecursionError:  # a machine-made chain thousands of levels deep
                reasons.append("cannot translate an expression nested too deeply")
    if reasons:
        return _failed(text, reasons)
    return TemplateResult(_assemble(parts), walk.parameters)


def _failed(text: str, reasons: list[str]) -> TemplateResult:
    quoted = text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"
    return TemplateResult(text, {}, [f"template {quoted!r} {r}" for r in reasons])


def _assemble(parts: list[Any]) -> Expr:
    """Adjacent literal text merged; one part alone is the value itself; else a `Join`."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if not merged:
        return ""
    if len(merged) == 1:
        return merged[0]
    return Join(tuple(merged))


def _statement(node: nodes.Node) -> str:
    return {"Assign": "set", "AssignBlock": "set", "ExprStmt": "do", "FilterBlock": "filter"}.get(
        type(node).__name__, type(node).__name__.lower()
    )


# --- expressions --------------------------------------------------------------------------------

# One access step after the root name: ("attr", name) | ("item", const) | ("call", args, kwargs).
Step = tuple


def _expr(node: nodes.Expr, walk: _Walk) -> Any:
    if isinstance(node, nodes.Const) and not isinstance(node.value, (tuple, list, dict)):
        return str(node.value)  # Airflow renders to text: `{{ 3 }}` is "3"
    if isinstance(node, nodes.Filter) and node.name in _CASE_FILTERS:
        return _case(node, walk)
    root = _root_name(node)
    if root == "macros" or root in _REMOVED:
        raise _Untranslatable(_unknown_name(root, node))
    root, steps = _chain(node)
    handler = _ROOTS.get(root)
    if handler is None:
        raise _Untranslatable(_unknown_name(root, node))
    return handler(steps, node, walk)


def _case(node: nodes.Filter, walk: _Walk) -> Any:
    """`| lower` / `| upper` on literal text or on a context value."""
    if node.node is None or node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
        raise _Untranslatable(_describe_unsupported(node))
    inner = _expr(node.node, replace(walk, parameters={}))  # only the filtered value is used
    if isinstance(inner, str):
        return inner.lower() if node.name == "lower" else inner.upper()
    if isinstance(inner, Param) and inner.name in _CONTEXT_VALUES:
        return walk.param(CONTEXT_PARAMETERS[f"{inner.name}_{node.name}"])
    raise _Untranslatable(_describe_unsupported(node))


def _root_name(node: nodes.Node) -> str | None:
    while not isinstance(node, nodes.Name):
        node = getattr(node, "node", None)
        if not isinstance(node, nodes.Node):
            return None
    return node.name


def _chain(node: nodes.Expr) -> tuple[str, list[Step]]:
    """`a.b['c'].d(1, k=2)` as ("a", [attr b, item c, attr d, call]); other nodes are problems."""
    steps: list[Step] = []
    while True:
        if isinstance(node, nodes.Name):
            return node.name, steps[::-1]
        if isinstance(node, nodes.Getattr):
            steps.append(("attr", node.attr))
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            steps.append(("item", node.arg.value))
        elif isinstance(node, nodes.Call) and _literal_call(node):
            args = [_value(a) for a in node.args]
            steps.append(("call", args, {k.key: _value(k.value) for k in node.kwargs}))
        else:
            raise _Untranslatable(_describe_unsupported(node))
        node = node.node


def _literal_call(node: nodes.Call) -> bool:
    values = [*node.args, *(k.value for k in node.kwargs)]
    return node.dyn_args is None and node.dyn_kwargs is None and all(_literal(v) for v in values)


def _literal(node: nodes.Node) -> bool:
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return all(_literal(i) for i in node.items)
    return isinstance(node, nodes.Const)


def _value(node: nodes.Node) -> Any:
    """A literal argument's Python value (a list of task ids stays a list, to be refused later)."""
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return [_value(i) for i in node.items]
    return node.value


def _describe_unsupported(node: nodes.Node) -> str:
    if isinstance(node, nodes.Filter):
        return f"the `| {node.name}` filter in `{_source(node)}`"
    if isinstance(node, nodes.Call):
        return f"the call `{_source(node)}` (its arguments are not all literals)"
    if isinstance(node, nodes.Getitem):
        return f"`{_source(node)}` (the subscript is not a literal)"
    return f"`{_source(node)}` (a Jinja {_kind(node)} is evaluated by Airflow)"


def _kind(node: nodes.Node) -> str:
    if isinstance(node, (nodes.BinExpr, nodes.UnaryExpr, nodes.Concat, nodes.Compare)):
        return "operator"
    if isinstance(node, nodes.Test):
        return "test"
    if isinstance(node, nodes.CondExpr):
        return "conditional"
    return type(node).__name__


def _unknown_name(root: str, node: nodes.Node) -> str:
    if root in _REMOVED:
        return f"`{root}` (removed in Airflow 3; use {_REMOVED[root]})"
    if root == "macros":
        return f"the Airflow macro `{_source(node)}` (macros run inside Airflow)"
    return f"`{_source(node)}` (`{root}` has no pipeline equivalent)"


def _source(node: nodes.Node) -> str:
    """Jinja source text for a node, close enough to quote in a message."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Getattr):
        return f"{_source(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_source(node.node)}[{_source(node.arg)}]"
    if isinstance(node, (nodes.Call, nodes.Filter, nodes.Test)):
        args = [_source(a) for a in node.args] + [
            f"{k.key}={_source(k.value)}" for k in node.kwargs
        ]
        call = f"({', '.join(args)})" if args or isinstance(node, nodes.Call) else ""
        if isinstance(node, nodes.Call):
            return f"{_source(node.node)}{call}"
        sep = " | " if isinstance(node, nodes.Filter) else " is "
        return f"{_source(node.node)}{sep}{node.name}{call}"
    if isinstance(node, nodes.BinExpr):
        return f"{_source(node.left)} {node.operator} {_source(node.right)}"
    if isinstance(node, nodes.UnaryExpr):
        space = " " if node.operator == "not" else ""
        return f"{node.operator}{space}{_source(node.node)}"
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return f"[{', '.join(_source(i) for i in node.items)}]"
    if isinstance(node, nodes.CondExpr):
        other = f" else {_source(node.expr2)}" if node.expr2 is not None else ""
        return f"{_source(node.expr1)} if {_source(node.test)}{other}"
    if isinstance(node, nodes.Concat):
        return " ~ ".join(_source(n) for n in node.nodes)
    return f"<{type(node).__name__}>"


def _access(steps: list[Step]) -> str:
    """The Jinja text of access steps, for `spec.airflow` and messages."""
    out = ""
    for step in steps:
        if step[0] == "attr":
            out += f".{step[1]}"
        elif step[0] == "item":
            out += f"[{step[1]!r}]"
        else:
            args = [repr(a) for a in step[1]] + [f"{k}={v!r}" for k, v in step[2].items()]
            out += f"({', '.join(args)})"
    return out


def _key(step: Step) -> str | None:
    """The name an attribute or a literal string subscript reads."""
    if step[0] == "attr" or (step[0] == "item" and isinstance(step[1], str)):
        return step[1]
    return None


def _get_call(steps: list[Step]) -> tuple[str, Any] | None:
    """`.get('x')` / `.get('x', default)` with literal arguments: (name, default)."""
    if len(steps) == 2 and steps[0] == ("attr", "get") and steps[1][0] == "call":
        args, kwargs = steps[1][1], steps[1][2]
        if 1 <= len(args) <= 2 and not kwargs and isinstance(args[0], str):
            return args[0], (args[1] if len(args) == 2 else None)
    return None


def _no_more(root: str, steps: list[Step], used: int) -> None:
    if len(steps) > used:
        known = f"{root}{_access(steps[:used])}"
        raise _Untranslatable(f"`{root}{_access(steps)}` (only `{known}` itself is translated)")


# --- the names Airflow puts in the template context -------------------------------------------


def _params(steps: list[Step], node: nodes.Node, walk: _Walk, root: str = "params") -> Param:
    got = _get_call(steps)
    if got is not None:
        name, default = got
    elif steps and _key(steps[0]) is not None:
        name, default = _key(steps[0]), None
        _no_more(root, steps, 1)
    else:
        raise _Untranslatable(f"`{_source(node)}` (only one named param can be read)")
    plain = root == "params" and default is None
    airflow = param_expression(name) if plain else f"{{{{ {_source(node)} }}}}"
    if default is None:
        spec = ParameterSpec(parameter_name(name), "String", "", "dag_param", airflow=airflow)
    else:  # typed like a DAG param with that default (the caller prefers the DAG's own spec)
        spec = replace(infer_parameters({name: {"default": default}})[name], airflow=airflow)
    return walk.param(spec)


def _context(name: str):
    def handler(steps: list[Step], node: nodes.Node, walk: _Walk) -> Param:
        _no_more(name, steps, 0)
        return walk.param(CONTEXT_PARAMETERS[_ALIASES.get(name, name)])

    return handler


def _run_id(steps: list[Step], node: nodes.Node, walk: _Walk) -> ExecVar:
    _no_more("run_id", steps, 0)
    return _RUN_ID


def _dag(steps: list[Step], node: nodes.Node, walk: _Walk) -> str:
    if steps[:1] != [("attr", "dag_id")]:
        raise _Untranslatable(f"`{_source(node)}` (only `dag.dag_id` is known)")
    _no_more("dag", steps, 1)
    return walk.dag_id


def _task(steps: list[Step], node: nodes.Node, walk: _Walk) -> str:
    if steps[:1] != [("attr", "task_id")]:
        raise _Untranslatable(f"`{_source(node)}` (only `task.task_id` is known)")
    _no_more("task", steps, 1)
    return walk.task_id


def _dag_run(steps: list[Step], node: nodes.Node, walk: _Walk) -> Any:
    attr = _key(steps[0]) if steps and steps[0][0] == "attr" else None
    if attr == "conf":
        return _params(steps[1:], node, walk, root="dag_run.conf")
    if attr in ("run_id", "dag_id") or attr in _CONTEXT_VALUES:
        _no_more("dag_run", steps, 1)
        if attr == "run_id":
            return _RUN_ID
        return walk.dag_id if attr == "dag_id" else walk.param(CONTEXT_PARAMETERS[attr])
    raise _Untranslatable(f"`{_source(node)}` (this `dag_run` attribute has no pipeline value)")


def _ti(root: str):
    def handler(steps: list[Step], node: nodes.Node, walk: _Walk) -> Any:
        attr = steps[0][1] if steps and steps[0][0] == "attr" else None
        if attr == "xcom_pull" and len(steps) > 1 and steps[1][0] == "call":
            return _xcom(root, steps, node, walk)
        if attr in ("task_id", "dag_id", "run_id"):
            _no_more(root, steps, 1)
            return {"task_id": walk.task_id, "dag_id": walk.dag_id, "run_id": _RUN_ID}[attr]
        raise _Untranslatable(f"`{_source(node)}` (only xcom_pull, task_id, dag_id, run_id)")

    return handler


def _xcom(root: str, steps: list[Step], node: nodes.Node, walk: _Walk) -> StepOutput:
    args, kwargs = steps[1][1], dict(steps[1][2])
    where = f"`{root}.xcom_pull{_access(steps[1:2])}`"
    if len(args) > len(_XCOM_KWARGS) or set(kwargs) - set(_XCOM_KWARGS):
        raise _Untranslatable(f"{where} (only task_ids, dag_id and key are translated)")
    for name, value in zip(_XCOM_KWARGS, args, strict=False):
        kwargs[name] = value
    task_ids, key = kwargs.get("task_ids"), kwargs.get("key", "return_value")
    if kwargs.get("dag_id") not in (None, walk.dag_id):
        raise _Untranslatable(f"{where} (it reads another DAG's XCom)")
    if not isinstance(task_ids, str):
        raise _Untranslatable(f"{where} (task_ids must name one task)")
    if task_ids not in walk.task_ids:
        raise _Untranslatable(f"{where} (no task `{task_ids}` in this DAG)")
    if not isinstance(key, str):
        raise _Untranslatable(f"{where} (key must be a string)")
    return StepOutput(task_ids, key, _json_path(steps[2:], where))


def _json_path(steps: list[Step], where: str) -> str:
    """`['a'].b[0]` after xcom_pull(...) as the JsonGet path suffix ".a.b[0]" (see StepOutput)."""
    path = ""
    for step in steps:
        if step[0] == "item" and isinstance(step[1], int) and not isinstance(step[1], bool):
            path += f"[{step[1]}]"
        elif _key(step) is not None and _key(step).isidentifier():
            path += f".{_key(step)}"
        else:
            raise _Untranslatable(f"`{_access(steps)}` on {where} (not a JSON path)")
    return path


def _environment(steps: list[Step], node: nodes.Node, walk: _Walk) -> Param:
    """An environment variable the DAG file reads when Airflow parses it (the parser writes
    `__bridge_env__(name, default)` for it, bridge/parse/runtime_text.py)."""
    if len(steps) != 1 or steps[0][0] != "call" or len(steps[0][1]) != 2 or steps[0][2]:
        raise _Untranslatable(f"`{_source(node)}` (not an environment variable read)")
    name, default = steps[0][1]
    if not isinstance(name, str) or not (default is None or isinstance(default, str)):
        raise _Untranslatable(f"`{_source(node)}` (not an environment variable read)")
    spec = ParameterSpec(
        name=parameter_name(f"env_{name}"),
        type="String",
        default=default or "",
        source="environment",
        description=f"The Airflow workers' environment variable `{name}`, which the DAG file "
        "reads when Airflow parses it"
        + (f" (default {default!r})" if default is not None else "")
        + ": the bridge's Airflow operator fills it from its worker's environment; give it "
        "when you start the pipeline from anywhere else.",
    )
    return walk.param(spec)


def _var(steps: list[Step], node: nodes.Node, walk: _Walk) -> Param:
    kind = steps[0][1] if steps and steps[0][0] == "attr" else None
    if kind not in ("value", "json"):
        raise _Untranslatable(f"`{_source(node)}` (use var.value.<name> or var.json.<name>)")
    got = _get_call(steps[1:])
    if got is not None:
        name, default = got
        path: list[str] = []
    elif len(steps) > 1 and all(_key(s) is not None for s in steps[1:]):
        name, default, path = _key(steps[1]), None, [_key(s) for s in steps[2:]]
        if kind == "value":
            _no_more("var.value", steps, 2)
    else:
        raise _Untranslatable(f"`{_source(node)}` (not a variable lookup)")
    prefix = "var_" if kind == "value" else "var_json_"
    spec = ParameterSpec(
        name=parameter_name(prefix + "_".join([name, *path])),
        type="String",
        default="" if default is None else str(default),
        source="variable",
        description=f"Airflow Variable `{name}`.",
        airflow=f"{{{{ var.{kind}{_access(steps[1:])} }}}}",
    )
    return walk.param(spec)


def _conn(steps: list[Step], node: nodes.Node, walk: _Walk) -> Param:
    conn_id = _key(steps[0]) if steps else None
    attr = steps[1][1] if len(steps) > 1 and steps[1][0] == "attr" else None
    if conn_id is None or attr not in _CONN_FIELDS:
        fields = ", ".join(sorted(_CONN_FIELDS))
        raise _Untranslatable(f"`{_source(node)}` (only conn.<id>.<field>, field one of {fields})")
    _no_more("conn", steps, 2)
    note = " Visible in the execution's parameters." if attr in ("password", "extra") else ""
    spec = ParameterSpec(
        name=parameter_name(f"conn_{conn_id}_{attr}"),
        type="String",
        default="",
        source="connection",
        description=f"`{attr}` of Airflow connection `{conn_id}`.{note}",
        airflow=f"{{{{ conn{_access(steps)} }}}}",
    )
    return walk.param(spec)


_ROOTS = {
    "params": _params,
    "run_id": _run_id,
    "dag": _dag,
    "task": _task,
    "dag_run": _dag_run,
    "ti": _ti("ti"),
    "task_instance": _ti("task_instance"),
    "var": _var,
    "conn": _conn,
    ENV_ROOT: _environment,
    **{name: _context(name) for name in [*_CONTEXT_VALUES, *_ALIASES]},
}
