"""Airflow's constructs, modelled: DAGs, task groups, operators, TaskFlow functions, params,
decorators, and the methods of tasks, XComArgs and groups. A mixin of the Interpreter."""

from __future__ import annotations

import posixpath
import re
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from bridge.parse import dependencies as deps
from bridge.parse.airflow_calls import METHODS, SYMBOL_CALLS
from bridge.parse.names import looks_like_operator, taskflow_operator
from bridge.parse.runtime_text import holds_runtime_text
from bridge.parse.scope import (
    BreakSignal,
    ContinueSignal,
    ReturnSignal,
    Scope,
    iter_refs,
    trigger_rule,
)
from bridge.parse.values import (
    DagFuncValue,
    DagNode,
    DagParamRef,
    DecoratorFactory,
    FunctionValue,
    GroupFuncValue,
    GroupNode,
    MappedArg,
    Method,
    ParamValue,
    PartialValue,
    SdkCall,
    Symbol,
    TaskFuncValue,
    TaskNode,
    Unknown,
    XComRef,
    attach_to_dag,
    unique_group_id,
    unique_task_id,
)

# Airflow's validate_key / validate_group_key (airflow.sdk.definitions._internal.node).
_KEY = re.compile(r"^[\w.-]+$")
_GROUP_KEY = re.compile(r"^[\w-]+$")
# Pure path arithmetic on strings: no file system access, so safe to evaluate.
_PURE_PATH_FUNCS = {
    "pathlib.Path": PurePosixPath,
    "pathlib.PurePath": PurePosixPath,
    "pathlib.PurePosixPath": PurePosixPath,
    "os.path.join": lambda *a: posixpath.join(*map(str, a)),
    "os.path.dirname": lambda a: posixpath.dirname(str(a)),
    "os.path.basename": lambda a: posixpath.basename(str(a)),
    "os.path.splitext": lambda a: posixpath.splitext(str(a)),
}
# Arguments Airflow 3 refuses (TypeError at import), with what to use instead (BRG114).
_REMOVED_DAG_KWARGS = {
    "schedule_interval": "use `schedule=`",
    "timetable": "use `schedule=`",
    "concurrency": "use `max_active_tasks=`",
}
_REMOVED_TASK_KWARGS = {
    "provide_context": "callables receive the context through `**context`; drop it",
    "task_concurrency": "use `max_active_tis_per_dag=`",
}


class AirflowConstructs:
    """What Airflow does when the file calls into it. Needs the Interpreter's eval/diag/line helpers."""

    # ---- decorators --------------------------------------------------------------------------

    def apply_decorator(self, deco, func, node: cst.Decorator):
        if isinstance(deco, Symbol):
            name = deco.name
            if name == "airflow.sdk.task" or name.startswith("airflow.sdk.task."):
                flavour = name[len("airflow.sdk.task.") :] if name != "airflow.sdk.task" else None
                return self.make_taskfunc(func, flavour, {})
            if name in ("airflow.sdk.setup", "airflow.sdk.teardown"):
                tf = func if isinstance(func, TaskFuncValue) else self.make_taskfunc(func, None, {})
                if not isinstance(tf, TaskFuncValue):
                    return func
                if name.endswith("setup"):
                    tf.is_setup = True
                else:
                    tf.is_teardown = True
                return tf
            if name == "airflow.sdk.dag" and isinstance(func, FunctionValue):
                return DagFuncValue(func, {})
            if name == "airflow.sdk.task_group" and isinstance(func, FunctionValue):
                return GroupFuncValue(func, {})
            if name in ("airflow.sdk.asset", "airflow.sdk.asset.multi") and isinstance(
                func, FunctionValue
            ):
                return self.make_asset(func, {}, node)
        if isinstance(deco, DecoratorFactory):
            if deco.kind == "task":
                return self.make_taskfunc(func, deco.flavour, deco.kwargs)
            if isinstance(func, FunctionValue):
                if deco.kind == "dag":
                    return DagFuncValue(func, deco.kwargs)
                if deco.kind == "task_group":
                    return GroupFuncValue(func, deco.kwargs)
                if deco.kind == "asset":
                    return self.make_asset(func, deco.kwargs, node)
        # Unknown decorators (functools.wraps, the user's own) leave the function as it was.
        return func

    def make_taskfunc(self, func, flavour, kwargs):
        if isinstance(func, TaskFuncValue):
            return func
        if not isinstance(func, FunctionValue):
            return func
        return TaskFuncValue(func, flavour, dict(kwargs))

    def make_asset(self, func: FunctionValue, kwargs: dict, node: cst.CSTNode):
        """`@asset` creates a DAG named after the asset with one task named after the function."""
        name = kwargs.get("name", (func.name, ""))[0]
        dag_id = name if isinstance(name, str) else func.name
        dag = self.new_dag(
            dag_id, True, self.line(node), {k: v for k, v in kwargs.items() if k == "schedule"}
        )
        self.dag_stack.append(dag)
        try:
            task = self.new_task(func.name, "airflow.sdk.asset", self.line(node), {}, dag=dag)
            task.callable = func
        finally:
            self.dag_stack.pop()
        self.registered.append(dag)
        return Symbol(f"asset:{dag_id}")

    def method(self, obj, name: str, node: cst.CSTNode):
        fn = METHODS.get((type(obj), name))
        if fn is None:
            return self.unknown(node)
        return Method(fn, obj)

    # ---- Airflow constructs ------------------------------------------------------------------

    def call_symbol(self, sym: Symbol, args, kwargs, node, scope):
        name = sym.name
        plain = {k: v for k, (v, _) in kwargs.items()}
        if name.startswith("builtins."):
            return self.call_builtin(name[len("builtins.") :], args, plain, node)
        handler = SYMBOL_CALLS.get(name)
        if handler is not None:
            return handler(self, args, kwargs, node)
        if name == "airflow.sdk.task" or name.startswith("airflow.sdk.task."):
            flavour = name[len("airflow.sdk.task.") :] if name != "airflow.sdk.task" else None
            if len(args) == 1 and isinstance(args[0], FunctionValue) and not kwargs:
                return self.make_taskfunc(args[0], flavour, {})
            return DecoratorFactory("task", flavour, kwargs)
        if name.split(".", 1)[0] == "sagemaker":  # before the task_id test: config helpers take one
            return self.sdk_call(name, args, kwargs, node)
        if name.endswith(".partial") and looks_like_operator(name[: -len(".partial")]):
            return PartialValue(name[: -len(".partial")], kwargs)
        if looks_like_operator(name) or ("task_id" in kwargs and name[:1] != "<"):
            return self.make_operator(name, args, kwargs, node)
        if (
            name in _PURE_PATH_FUNCS
            and args
            and all(isinstance(a, (str, PurePosixPath)) for a in args)
        ):
            if not self.afford(sum(len(str(a)) + 1 for a in args), node):
                return self.unknown(node, "call")
            return _PURE_PATH_FUNCS[name](*args)
        return self.unknown(node, "call")

    def sdk_call(self, name: str, args, kwargs, node, receiver: SdkCall | None = None):
        """A SageMaker SDK call kept as a value (see SdkCall); `set_*` methods change their
        receiver (recorded on it, in order) and return None, as the SDK's do."""
        positional = [a for a in node.args if a.keyword is None]
        if len(positional) == len(args) and not any(a.star for a in positional):
            sources = [self.lazy_source(a.value) for a in positional]
        else:  # `*items` spread: the values are known, their own source texts are not
            sources = [""] * len(args)
        call = SdkCall(name, list(zip(args, sources, strict=True)), dict(kwargs), self.line(node))
        call.receiver = receiver
        if receiver is not None and name.rsplit(".", 1)[-1].startswith("set_"):
            receiver.calls.append(call)
            return None
        return call

    def note_removed_kwargs(self, kwargs: dict, node, removed: dict[str, str]) -> None:
        for name, instead in removed.items():
            if name in kwargs:
                self.diag("BRG114", node, f"`{name}=` was removed in Airflow 3; {instead}")

    def new_dag(self, dag_id, static: bool, line: int, kwargs: dict) -> DagNode:
        dag = DagNode(dag_id=dag_id, line=line, kwargs=kwargs, dag_id_static=static)
        auto = kwargs.get("auto_register", (True, ""))[0]
        dag.auto_register = auto is not False
        params = kwargs.get("params", ({}, ""))[0]
        if isinstance(params, dict):
            dag.params.update(params)
        self.dags.append(dag)
        return dag

    def make_dag(self, args, kwargs, node):
        self.note_removed_kwargs(kwargs, node, _REMOVED_DAG_KWARGS)
        raw = kwargs.get("dag_id", (args[0], self.src(node.args[0].value)) if args else (None, ""))
        dag_id, static = self.static_id(raw, node, "BRG109", "dag_id")
        return self.new_dag(dag_id, static, self.line(node), kwargs)

    def static_id(self, raw: tuple[Any, str], node, code: str, what: str) -> tuple[str, bool]:
        value, source = raw
        if isinstance(value, str) and not holds_runtime_text(value):  # read at parse time: unknown
            self.check_key(value, node, what)
            return value, True
        self.diag(code, node, f"{what} `{source or '?'}` is not statically known")
        return (str(source) if source else f"<unknown@{self.line(node)}>"), False

    def check_key(self, key: str, node, what: str) -> None:
        """BRG115 when Airflow would refuse the id (its validate_key / validate_group_key)."""
        group = what == "group_id"
        limit = 200 if group else 250
        pattern = _GROUP_KEY if group else _KEY
        if len(key) <= limit and pattern.match(key):
            return
        shown = key if len(key) <= 60 else key[:40] + "..." + key[-10:]
        shown = shown.encode("unicode_escape").decode("ascii").replace("`", "\\x60")
        if len(key) > limit:
            why = f"is {len(key):,} characters long; Airflow allows at most {limit}"
        else:
            allowed = (
                "letters, digits, `_` and `-`" if group else "letters, digits, `_`, `-` and `.`"
            )
            why = f"may only contain {allowed}"
        self.diag("BRG115", node, f"{what} `{shown}` {why}: Airflow refuses this id")

    def make_group(self, args, kwargs, node, suffix: bool = False, mapped: bool = False):
        raw = kwargs.get(
            "group_id", (args[0], self.src(node.args[0].value)) if args else (None, "")
        )
        group_id, _ = self.static_id(raw, node, "BRG103", "group_id")
        dag = kwargs.get("dag", (None, ""))[0]
        parent = kwargs.get("parent_group", (None, ""))[0]
        if not isinstance(dag, DagNode):
            dag = parent.dag if isinstance(parent, GroupNode) else self.current_dag
        if dag is None:
            self.diag("BRG108", node, f"task group `{group_id}` is not inside any DAG")
            dag = self.new_dag(f"<no dag@{self.line(node)}>", False, self.line(node), {})
            self.dags.remove(dag)
        if not isinstance(parent, GroupNode):
            parent = self.current_group(dag)
        prefix = kwargs.get("prefix_group_id", (True, ""))[0]
        default_args = kwargs.get("default_args", ({}, ""))[0]
        group = GroupNode(
            group_id,
            dag,
            parent,
            prefix is not False,
            dict(default_args) if isinstance(default_args, dict) else {},
            mapped,
        )
        if group.group_id in dag.used_group_ids:
            if suffix:
                group.raw_id = unique_group_id(group_id, dag.used_group_ids)
            else:
                self.diag(
                    "BRG107",
                    node,
                    f"group_id `{group.group_id}` is used twice in DAG `{dag.dag_id}`",
                )
        if parent is not None:
            if parent.default_args:
                group.default_args = {**parent.default_args, **group.default_args}
            parent.children[group.group_id] = group
        dag.used_group_ids.update(
            {
                group.group_id,
                f"{group.group_id}.upstream_join_id",
                f"{group.group_id}.downstream_join_id",
            }
        )
        return group

    def new_task(
        self,
        task_id: str,
        operator: str,
        line: int,
        kwargs: dict,
        *,
        dag=None,
        group=None,
        static: bool = True,
        flavour: str | None = None,
        node=None,
    ) -> TaskNode:
        explicit_dag = kwargs.get("dag", (None, ""))[0]
        explicit_group = kwargs.get("task_group", (None, ""))[0]
        dag = dag or (explicit_dag if isinstance(explicit_dag, DagNode) else None)
        if isinstance(explicit_group, GroupNode):
            group = explicit_group
            dag = dag or explicit_group.dag
        dag = dag or self.current_dag
        if group is None and dag is not None:
            group = self.current_group(dag)
            if group is not None and group.dag is not dag:
                group = dag.root
        full_id = group.child_id(task_id) if group is not None else task_id
        default_args: dict = {}
        if dag is not None:
            default_args.update(dag.default_args)
        if group is not None:
            default_args.update(group.default_args)
        own_defaults = kwargs.get("default_args", ({}, ""))[0]
        if isinstance(own_defaults, dict):
            default_args.update(own_defaults)
        rule = (
            kwargs["trigger_rule"][0]
            if "trigger_rule" in kwargs
            else default_args.get("trigger_rule", "all_success")
        )
        retries = kwargs["retries"][0] if "retries" in kwargs else default_args.get("retries", 0)
        task = TaskNode(
            task_id=full_id,
            operator=operator,
            line=line,
            dag=None,
            group=group,
            flavour=flavour,
            trigger_rule=trigger_rule(rule),
            retries=retries if isinstance(retries, int) else None,
            task_id_static=static,
            kwargs=kwargs,
        )
        task.mapped = bool(group and group.in_mapped_group())
        if dag is not None and not static and full_id in dag.tasks:
            # Unknown ids (one factory called with unknown arguments) stand for distinct tasks in
            # Airflow; keep each one, numbered, rather than report a duplicate that may not exist.
            n = 2
            while f"{full_id}#{n}" in dag.tasks:
                n += 1
            task.task_id = full_id = f"{full_id}#{n}"
        if dag is not None:
            if full_id in dag.tasks:
                self.diag(
                    "BRG107",
                    line,
                    f"task id `{full_id}` is used twice in DAG `{dag.dag_id}`; the second is ignored",
                )
                task.dag = dag
                return task
            attach_to_dag(task, dag)
        else:
            self.floating.append(task)
        self.setup_teardown.add_task(task)
        return task

    def link_data(self, task: TaskNode, values, node) -> None:
        refs = {id(t): t for v in values for t in iter_refs(v)}
        for up in refs.values():
            if up is task:
                continue
            try:
                deps.set_upstream(task, up, kind="data")
            except deps.DependencyError as exc:
                self.diag("BRG104", node, f"XCom reference from `{task.task_id}`: {exc}")

    def make_operator(self, operator: str, args, kwargs, node, *, mapped: dict | None = None):
        self.note_removed_kwargs(kwargs, node, _REMOVED_TASK_KWARGS)
        raw = kwargs.get("task_id", (None, ""))
        if raw[0] is None and not raw[1]:
            self.diag("BRG103", node, f"`{self.src(node.func)}(...)` has no task_id")
        task_id, static = self.static_id(raw, node, "BRG103", "task_id")
        task = self.new_task(
            task_id, operator, self.line(node), dict(kwargs), static=static, node=node
        )
        if mapped is not None:
            task.mapped = True
            task.mapping = mapped
        callable_value = kwargs.get("python_callable", (None, ""))[0]
        if isinstance(callable_value, FunctionValue):
            task.callable = callable_value
        elif isinstance(callable_value, TaskFuncValue):
            task.callable = callable_value.func
        self.link_data(task, [v for v, _ in kwargs.values()], node)
        return task

    def call_taskfunc(self, tf: TaskFuncValue, args, kwargs, node, *, mapped: dict | None = None):
        deco = {**tf.kwargs}
        dag = deco.get("dag", (None, ""))[0]
        dag = dag if isinstance(dag, DagNode) else self.current_dag
        group = deco.get("task_group", (None, ""))[0]
        group = group if isinstance(group, GroupNode) else self.current_group(dag)
        raw = deco.get("task_id", (tf.func.name, ""))
        base_id, static = self.static_id(raw, node, "BRG103", "task_id")
        task_id = unique_task_id(base_id, dag, group)
        call_kwargs = {k: v for k, (v, _) in kwargs.items()}
        bound = self.bind_params(
            tf.func, list(args), dict(call_kwargs), Scope(), lambda name, default: default
        )
        sources = self.arg_sources(tf.func, node, kwargs)
        op_kwargs = {name: (value, sources.get(name, "")) for name, value in bound.items()}
        all_kwargs = {**deco, **({"op_kwargs": (op_kwargs, "")} if op_kwargs else {})}
        task = self.new_task(
            task_id,
            taskflow_operator(tf.flavour),
            self.line(node),
            all_kwargs,
            dag=dag,
            group=group if group is not None and (dag is None or group.dag is dag) else None,
            static=static,
            flavour=f"@task.{tf.flavour}" if tf.flavour else "@task",
        )
        task.callable = tf.func
        if tf.is_setup:
            task.is_setup = True
        if tf.is_teardown:
            task.is_teardown = True
            task.trigger_rule = "all_done_setup_success"
        if mapped is not None:
            task.mapped = True
            task.mapping = mapped
        self.link_data(task, [*args, *call_kwargs.values(), *[v for v, _ in deco.values()]], node)
        return XComRef([task])

    def arg_sources(self, func: FunctionValue, node, kwargs: dict) -> dict[str, Any]:
        """Source text of each bound argument, bound to parameter names the way the values were."""
        if not isinstance(node, cst.Call) or any(a.star for a in node.args):
            return {k: s for k, (_, s) in kwargs.items()}
        positional = [self.lazy_source(a.value) for a in node.args if a.keyword is None]
        named = {k: s for k, (_, s) in kwargs.items()}
        return self.bind_params(func, positional, named, Scope(), lambda name, default: "")

    def call_dagfunc(self, df: DagFuncValue, args, kwargs, node):
        self.note_removed_kwargs(df.kwargs, node, _REMOVED_DAG_KWARGS)
        raw = df.kwargs.get("dag_id", (df.func.name, ""))
        dag_id, static = self.static_id(raw, node, "BRG109", "dag_id")
        dag = self.new_dag(dag_id, static, df.func.line, dict(df.kwargs))
        local = Scope(df.func.closure, df.func.closure.module)

        def as_param(name, default):
            if not isinstance(default, Unknown) or default.source != name:
                dag.params.setdefault(name, default)
            return DagParamRef(name, default)

        bound = self.bind_params(df.func, list(args), dict(kwargs), local, as_param)
        for name, value in bound.items():
            if not isinstance(value, DagParamRef):
                dag.params[name] = value
                local.vars[name] = DagParamRef(name, value)
        self.dag_stack.append(dag)
        try:
            self.exec_block(df.func.node.body.body, local)
        except ReturnSignal:
            pass
        except (BreakSignal, ContinueSignal):
            pass
        finally:
            if self.dag_stack and self.dag_stack[-1] is dag:
                self.dag_stack.pop()
        if dag.auto_register:
            self.registered.append(dag)
        return dag

    def call_groupfunc(self, gf: GroupFuncValue, args, kwargs, node, *, expand: dict | None = None):
        tg_kwargs = dict(gf.kwargs)
        tg_kwargs.setdefault("group_id", (gf.func.name, ""))
        group = self.make_group([], tg_kwargs, node, suffix=True, mapped=expand is not None)
        local = Scope(gf.func.closure, gf.func.closure.module)
        call_kwargs = {
            **{k: v for k, (v, _) in gf.partial.items()},
            **{k: v for k, (v, _) in kwargs.items()},
        }
        if expand is not None:
            for key, (value, source) in expand.items():
                call_kwargs[key] = MappedArg(list(iter_refs(value)), source)
        self.bind_params(gf.func, list(args), call_kwargs, local, lambda name, default: default)
        self.group_stack.append(group)
        retval = None
        try:
            self.exec_block(gf.func.node.body.body, local)
        except ReturnSignal as ret:
            retval = ret.value
        except (BreakSignal, ContinueSignal):
            pass
        finally:
            if self.group_stack and self.group_stack[-1] is group:
                self.group_stack.pop()
        return retval if retval is not None else group

    def make_param(self, args, kwargs, node):
        default = args[0] if args else kwargs.get("default", (None, ""))[0]
        schema = {k: v for k, (v, _) in kwargs.items() if k != "default"}
        return ParamValue(default, schema)
