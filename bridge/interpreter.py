"""A static interpreter for DAG files: walks the libcst tree the way Python would run it.

It evaluates what is knowable (literals, module-level names, loops over literals, helper
functions called at module level, f-strings) and models what Airflow does when the file is
imported (DAG and TaskGroup contexts, operators, TaskFlow calls, XComArgs, dependencies). It never
imports or runs anything from the file: calls are either modelled (here, and in `constructs.py`
for Airflow's own objects) or become `Unknown`.
"""

from __future__ import annotations

import ast
import operator as op
import sys
from typing import Any

import libcst as cst

from bridge import dependencies as deps
from bridge.constructs import AirflowConstructs
from bridge.diagnostics import Diagnostic
from bridge.lines import LineIndex
from bridge.names import canonical, looks_like_operator, removed_in_airflow_3, star_exports
from bridge.scope import (
    LITERAL_TYPES,
    AbortEvaluation,
    BreakSignal,
    ContinueSignal,
    ReturnSignal,
    Scope,
    has_unknown,
    trigger_rule,
)
from bridge.values import (
    BuiltinMethod,
    ClassValue,
    DagFuncValue,
    DagNode,
    DecoratorFactory,
    FunctionValue,
    GroupFuncValue,
    GroupNode,
    LabelNode,
    LazySource,
    Method,
    ParamValue,
    PartialValue,
    Symbol,
    TaskFuncValue,
    TaskNode,
    Unknown,
    XComRef,
)

MAX_STEPS = 1_000_000  # statements; ~10 s of evaluation at worst
MAX_DEPTH = 60
MAX_RANGE = 1_000_000


_BINOPS = {
    cst.Add: op.add,
    cst.Subtract: op.sub,
    cst.Multiply: op.mul,
    cst.Divide: op.truediv,
    cst.FloorDivide: op.floordiv,
    cst.Modulo: op.mod,
    cst.Power: op.pow,
    cst.BitOr: op.or_,
    cst.BitAnd: op.and_,
    cst.BitXor: op.xor,
    cst.LeftShift: op.lshift,
    cst.RightShift: op.rshift,
}
_AUGOPS = {
    cst.AddAssign: op.add,
    cst.SubtractAssign: op.sub,
    cst.MultiplyAssign: op.mul,
    cst.DivideAssign: op.truediv,
    cst.FloorDivideAssign: op.floordiv,
    cst.ModuloAssign: op.mod,
    cst.BitOrAssign: op.or_,
    cst.BitAndAssign: op.and_,
    cst.PowerAssign: op.pow,
    cst.RightShiftAssign: op.rshift,
    cst.LeftShiftAssign: op.lshift,
}
_CMPOPS = {
    cst.Equal: op.eq,
    cst.NotEqual: op.ne,
    cst.LessThan: op.lt,
    cst.LessThanEqual: op.le,
    cst.GreaterThan: op.gt,
    cst.GreaterThanEqual: op.ge,
    cst.Is: op.is_,
    cst.IsNot: op.is_not,
    cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
}
_SAFE_BUILTINS = {
    "len": len,
    "range": range,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "sorted": sorted,
    "reversed": lambda x: list(reversed(x)),
    "enumerate": lambda *a, **k: list(enumerate(*a, **k)),
    "zip": lambda *a: list(zip(*a, strict=False)),
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "any": any,
    "all": all,
    "repr": repr,
    "format": format,
    "map": None,
    "filter": None,
    "print": lambda *a, **k: None,
    "isinstance": None,
    "hasattr": None,
    "getattr": None,
    "id": None,
    "globals": None,  # modelled: `globals()[name] = dag` registers a DAG
    "type": None,
    "chr": chr,
    "ord": ord,
    "divmod": divmod,
    "hex": hex,
}
# Functions whose result is structural: they still work when some elements are unknown.
_STRUCTURAL = {"len", "list", "tuple", "reversed", "enumerate", "zip", "print", "set"}
_MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "remove", "pop", "clear"}
_SAFE_PACKAGES = {
    "airflow",
    "pendulum",
    "dateutil",
    "datetime",
    "logging",
    "json",
    "os",
    "textwrap",
}


class _UnknownElements(Exception):
    """A `*starred` element of a list/tuple/set literal is not statically known."""


class Interpreter(AirflowConstructs):
    def __init__(self, module: cst.Module, path: str, module_name: str, source: str):
        self.module = module
        self.path = path
        self.module_name = module_name
        self.lines = LineIndex(module, source)
        self.stmt_stack: list[cst.CSTNode] = []
        self.attributes: dict[
            tuple[int, str], tuple[Any, Any]
        ] = {}  # (id(obj), name) -> (obj, value)
        self.scope = Scope()
        self.scope.vars.update({"__name__": module_name, "__file__": path})
        self.dag_stack: list[DagNode] = []
        self.group_stack: list[GroupNode] = []
        self.setup_teardown = deps.SetupTeardownContext()
        self.dags: list[DagNode] = []
        self.registered: list[DagNode] = []
        self.floating: list[TaskNode] = []
        self.diagnostics: list[Diagnostic] = []
        self.steps = 0
        self.depth = 0

    # ---- helpers -------------------------------------------------------------------------

    def line(self, node: cst.CSTNode) -> int:
        return self.lines.line(node, self.stmt_stack[-1] if self.stmt_stack else None)

    def end_line(self, node: cst.CSTNode) -> int:
        """Last line of a statement (a def): its first line plus the lines its own code spans."""
        code = self.module.code_for_node(node).rstrip()
        return self.line(node) + code.count("\n") - len(getattr(node, "leading_lines", ()))

    def src(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def diag(self, code: str, node: cst.CSTNode | int, message: str) -> None:
        line = node if isinstance(node, int) else self.line(node)
        d = Diagnostic.make(code, line, message, self.path)
        if d not in self.diagnostics:
            self.diagnostics.append(d)

    def unknown(self, node: cst.CSTNode, kind: str = "expr") -> Unknown:
        return Unknown(self.src(node), kind, self.line(node))

    @property
    def current_dag(self) -> DagNode | None:
        return self.dag_stack[-1] if self.dag_stack else None

    def current_group(self, dag: DagNode | None) -> GroupNode | None:
        if self.group_stack:
            return self.group_stack[-1]
        return dag.root if dag else None

    # ---- module ----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.exec_block(self.module.body, self.scope)
        except AbortEvaluation:
            pass
        except (ReturnSignal, BreakSignal, ContinueSignal):
            pass

    def collected_dags(self) -> list[DagNode]:
        """The DAGs Airflow would collect: module globals that are DAGs, plus auto-registered ones."""
        found = {id(d): d for d in self.registered}
        for value in self.scope.vars.values():
            if isinstance(value, DagNode):
                found[id(value)] = value
        return [d for d in self.dags if id(d) in found]

    # ---- statements ------------------------------------------------------------------------

    def exec_block(self, body, scope: Scope) -> None:
        for stmt in body:
            self.exec_stmt(stmt, scope)

    def exec_stmt(self, stmt: cst.CSTNode, scope: Scope) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.diag("BRG111", stmt, f"stopped after {MAX_STEPS:,} evaluation steps")
            raise AbortEvaluation()
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.exec_small(small, scope)
            return
        self.stmt_stack.append(stmt)
        try:
            if isinstance(stmt, cst.BaseSmallStatement):  # a one-line suite: `if x: a; b`
                self.exec_small(stmt, scope)
                return
            handler = getattr(self, f"stmt_{type(stmt).__name__}", None)
            if handler is None:
                self.diag("BRG110", stmt, f"`{type(stmt).__name__}` statement is not evaluated")
                return
            handler(stmt, scope)
        finally:
            self.stmt_stack.pop()

    def exec_small(self, node: cst.CSTNode, scope: Scope) -> None:
        self.stmt_stack.append(node)
        try:
            self._exec_small(node, scope)
        finally:
            self.stmt_stack.pop()

    def _exec_small(self, node: cst.CSTNode, scope: Scope) -> None:
        if isinstance(node, cst.Expr):
            value = self.eval(node.value, scope)
            if isinstance(node.value, cst.Call) and isinstance(value, Unknown):
                self.warn_unknown_call(node.value, scope)
        elif isinstance(node, cst.Assign):
            value = self.eval(node.value, scope)
            for target in node.targets:
                self.assign(target.target, value, scope)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.eval(node.value, scope), scope)
        elif isinstance(node, cst.AugAssign):
            current = self.eval(node.target, scope)
            value = self.eval(node.value, scope)
            fn = _AUGOPS.get(type(node.operator))
            if (
                isinstance(current, list)
                and isinstance(node.operator, cst.AddAssign)
                and isinstance(value, (list, tuple))
            ):
                current.extend(value)
                return
            result = self.binop(fn, current, value, node) if fn else self.unknown(node)
            self.assign(node.target, result, scope)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                full = self.src(alias.name)
                self.note_removed_api(full, alias)
                if alias.asname is not None:
                    scope.assign(alias.asname.name.value, Symbol(canonical(full)))  # type: ignore[union-attr]
                else:
                    top = full.split(".", 1)[0]
                    scope.assign(top, Symbol(top))
        elif isinstance(node, cst.ImportFrom):
            self.import_from(node, scope)
        elif isinstance(node, cst.Return):
            raise ReturnSignal(self.eval(node.value, scope) if node.value is not None else None)
        elif isinstance(node, cst.Break):
            raise BreakSignal()
        elif isinstance(node, cst.Continue):
            raise ContinueSignal()
        elif isinstance(node, cst.Global):
            scope.global_names.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Raise):
            if scope is self.scope:
                # Usually guarded by a condition we could not decide; keep going rather than lose the file.
                self.diag("BRG110", node, "module-level `raise` is not evaluated")
                return
            raise ReturnSignal(None)
        # Pass, Del, Assert, Nonlocal: nothing to model.

    def import_from(self, node: cst.ImportFrom, scope: Scope) -> None:
        if node.relative:
            module = "." * len(node.relative) + (self.src(node.module) if node.module else "")
        else:
            module = self.src(node.module) if node.module else ""
        if isinstance(node.names, cst.ImportStar):
            if star_exports(module) is None:
                self.diag(
                    "BRG112", node, f"`from {module} import *`: names it brings in are unknown"
                )
            scope.module.star_modules.append(module)
            return
        for alias in node.names:
            name = self.src(alias.name)
            bound = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
            self.note_removed_api(f"{module}.{name}", alias)
            scope.assign(bound, Symbol(canonical(f"{module}.{name}")))

    def note_removed_api(self, full: str, node: cst.CSTNode) -> None:
        """BRG114 for an import path Airflow 3 no longer has, naming its replacement."""
        if removed_in_airflow_3(full) is None:
            return
        new = canonical(full)
        if full == "airflow.utils.dates.days_ago":
            instead = "a fixed `start_date`, e.g. `pendulum.datetime(2024, 1, 1, tz='UTC')`"
        else:
            instead = f"`{new}`" if new != full else "its provider package"
        self.diag("BRG114", node, f"`{full}` was removed in Airflow 3; use {instead}")

    def assign(self, target: cst.BaseExpression, value, scope: Scope) -> None:
        if isinstance(target, cst.Name):
            scope.assign(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if isinstance(value, (list, tuple, range, str)) or (isinstance(value, dict)):
                items = list(value)
                star = [i for i, e in enumerate(elements) if isinstance(e, cst.StarredElement)]
                if star:
                    i = star[0]
                    after = len(elements) - i - 1
                    parts = (
                        items[:i] + [items[i : len(items) - after]] + items[len(items) - after :]
                    )
                else:
                    parts = items
                if len(parts) == len(elements):
                    for element, item in zip(elements, parts, strict=True):
                        self.assign(element.value, item, scope)
                    return
            for element in elements:
                self.assign(
                    element.value,
                    Unknown(self.src(element.value), "expr", self.line(target)),
                    scope,
                )
        elif isinstance(target, cst.Subscript):
            container = self.eval(target.value, scope)
            if (
                isinstance(container, (dict, list))
                and len(target.slice) == 1
                and isinstance(target.slice[0].slice, cst.Index)
            ):
                key = self.eval(target.slice[0].slice.value, scope)
                if not isinstance(key, Unknown):
                    try:
                        container[key] = value
                        return
                    except (TypeError, IndexError):
                        pass
            if (
                isinstance(value, DagNode)
                and isinstance(container, Symbol)
                and container.name == "globals()"
            ):
                self.registered.append(value)
        elif isinstance(target, cst.Attribute):
            obj = self.eval(target.value, scope)
            if isinstance(obj, TaskNode) and target.attr.value == "trigger_rule":
                obj.trigger_rule = trigger_rule(value)
            elif not isinstance(obj, (str, int, float, bool, type(None))):
                # `tg.extract = Operator(...)`, `self.x = ...`: remember it for later reads.
                self.attributes[(id(obj), target.attr.value)] = (obj, value)
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, value, scope)

    def stmt_If(self, node: cst.If, scope: Scope) -> None:
        test = self.eval(node.test, scope)
        truth = self.truth(test)
        if truth is None:
            self.diag("BRG106", node.test, f"`{self.src(node.test)}` is not statically known")
            truth = True
        if truth:
            self.exec_block(node.body.body, scope)
        elif isinstance(node.orelse, cst.If):
            self.stmt_If(node.orelse, scope)
        elif isinstance(node.orelse, cst.Else):
            self.exec_block(node.orelse.body.body, scope)

    def truth(self, value) -> bool | None:
        if isinstance(value, Unknown) or has_unknown(value):
            return None
        if isinstance(value, Symbol):
            return True
        try:
            return bool(value)
        except Exception:
            return None

    def stmt_For(self, node: cst.For, scope: Scope) -> None:
        iterable = self.iterable(self.eval(node.iter, scope))
        if iterable is None:
            self.diag(
                "BRG105",
                node.iter,
                f"`for ... in {self.src(node.iter)}`: the iterable is not statically known",
            )
            return
        broke = False
        for item in iterable:
            self.assign(node.target, item, scope)
            try:
                self.exec_block(node.body.body, scope)
            except BreakSignal:
                broke = True
                break
            except ContinueSignal:
                continue
        if not broke and node.orelse is not None:
            self.exec_block(node.orelse.body.body, scope)

    def iterable(self, value) -> list | None:
        if isinstance(value, range):
            return list(value) if len(value) <= MAX_RANGE else None
        if isinstance(value, (list, tuple, str)):
            return list(value)
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=repr)
        if (
            isinstance(value, type({}.items()))
            or isinstance(value, type({}.keys()))
            or isinstance(value, type({}.values()))
        ):
            return list(value)
        return None

    def stmt_While(self, node: cst.While, scope: Scope) -> None:
        self.diag("BRG110", node, "`while` loops are not evaluated")

    def stmt_Try(self, node: cst.Try, scope: Scope) -> None:
        self.exec_block(node.body.body, scope)
        if node.orelse is not None:
            self.exec_block(node.orelse.body.body, scope)
        if node.finalbody is not None:
            self.exec_block(node.finalbody.body.body, scope)

    stmt_TryStar = stmt_Try

    def stmt_With(self, node: cst.With, scope: Scope) -> None:
        entered: list[Any] = []
        for item in node.items:
            value = self.eval(item.item, scope)
            bound = self.enter(value, item.item)
            entered.append(value)
            if item.asname is not None:
                self.assign(item.asname.name, bound, scope)
        try:
            self.exec_block(node.body.body, scope)
        finally:
            for value in reversed(entered):
                self.exit(value)

    def enter(self, value, node: cst.CSTNode):
        if isinstance(value, DagNode):
            self.dag_stack.append(value)
            return value
        if isinstance(value, GroupNode):
            self.group_stack.append(value)
            return value
        target = value.operator if isinstance(value, XComRef) else value
        if isinstance(target, TaskNode) or (
            isinstance(target, list) and target and all(isinstance(t, TaskNode) for t in target)
        ):
            first = target[0] if isinstance(target, list) else target
            if first.is_setup or first.is_teardown:
                self.setup_teardown.push(target)
                return value
        return value

    def exit(self, value) -> None:
        if isinstance(value, DagNode):
            if self.dag_stack and self.dag_stack[-1] is value:
                self.dag_stack.pop()
                if value.auto_register:
                    self.registered.append(value)
            return
        if isinstance(value, GroupNode):
            if self.group_stack and self.group_stack[-1] is value:
                self.group_stack.pop()
            return
        target = value.operator if isinstance(value, XComRef) else value
        if isinstance(target, (TaskNode, list)) and self.setup_teardown.active:
            try:
                self.setup_teardown.exit()
            except deps.DependencyError:
                pass

    def stmt_FunctionDef(self, node: cst.FunctionDef, scope: Scope) -> None:
        func = FunctionValue(
            node=node,
            name=node.name.value,
            closure=scope,
            defaults=self.param_defaults(node.params, scope),
            line=self.line(node.name),
            end_line=self.end_line(node),
        )
        value: Any = func
        for deco in reversed(node.decorators):
            value = self.apply_decorator(self.eval(deco.decorator, scope), value, deco)
        scope.assign(node.name.value, value)

    def param_defaults(self, params: cst.Parameters, scope: Scope) -> dict[str, Any]:
        out = {}
        for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
            if p.default is not None:
                out[p.name.value] = self.eval(p.default, scope)
        return out

    def stmt_ClassDef(self, node: cst.ClassDef, scope: Scope) -> None:
        bases = [self.eval(b.value, scope) for b in node.bases]
        is_op = any(
            (isinstance(b, Symbol) and looks_like_operator(b.name))
            or (isinstance(b, ClassValue) and b.is_operator)
            for b in bases
        )
        scope.assign(
            node.name.value,
            ClassValue(node.name.value, f"{self.module_name}.{node.name.value}", bases, is_op),
        )

    # ---- expressions -----------------------------------------------------------------------

    def eval(self, node: cst.CSTNode | None, scope: Scope):
        if node is None:
            return None
        handler = getattr(self, f"ex_{type(node).__name__}", None)
        if handler is None:
            return self.unknown(node)
        return handler(node, scope)

    def ex_Integer(self, node, scope):
        return ast.literal_eval(node.value)

    ex_Float = ex_Integer
    ex_Imaginary = ex_Integer

    def ex_SimpleString(self, node, scope):
        raw = node.value
        if raw[:1] in "'\"" and "\\" not in raw:  # no prefix, no escapes: skip ast.literal_eval
            quote = 3 if raw[:3] in ('"""', "'''") else 1
            return raw[quote:-quote]
        try:
            return node.evaluated_value
        except Exception:
            return self.unknown(node)

    def ex_ConcatenatedString(self, node, scope):
        left, right = self.eval(node.left, scope), self.eval(node.right, scope)
        if isinstance(left, type(right)) and isinstance(left, (str, bytes)):
            return left + right
        return self.unknown(node, "template")

    def ex_FormattedString(self, node, scope):
        out = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value.replace("{{", "{").replace("}}", "}"))
                continue
            value = self.eval(part.expression, scope)
            if (
                isinstance(value, Unknown)
                or has_unknown(value)
                or not isinstance(value, LITERAL_TYPES)
            ):
                return self.unknown(node, "template")
            if part.conversion == "r":
                value = repr(value)
            elif part.conversion == "s":
                value = str(value)
            spec = ""
            if part.format_spec:
                spec_value = self.ex_FormattedString(
                    cst.FormattedString(parts=part.format_spec), scope
                )
                if isinstance(spec_value, Unknown):
                    return self.unknown(node, "template")
                spec = spec_value
            try:
                out.append(format(value, spec))
            except Exception:
                return self.unknown(node, "template")
        return "".join(out)

    def ex_Name(self, node, scope):
        name = node.value
        if name == "True":
            return True
        if name == "False":
            return False
        if name == "None":
            return None
        try:
            return scope.lookup(name)
        except KeyError:
            pass
        if name in _SAFE_BUILTINS:
            return Symbol(f"builtins.{name}")
        return Unknown(name, "name", self.line(node))

    def ex_Ellipsis(self, node, scope):
        return ...

    def ex_List(self, node, scope):
        try:
            return self.elements(node.elements, scope)
        except _UnknownElements:
            return self.unknown(node)

    def ex_Tuple(self, node, scope):
        try:
            return tuple(self.elements(node.elements, scope))
        except _UnknownElements:
            return self.unknown(node)

    def ex_Set(self, node, scope):
        try:
            items = self.elements(node.elements, scope)
        except _UnknownElements:
            return self.unknown(node)
        try:
            return set(items)
        except TypeError:
            return items

    def elements(self, elements, scope) -> list:
        out: list = []
        for e in elements:
            value = self.eval(e.value, scope)
            if isinstance(e, cst.StarredElement):
                it = self.iterable(value)
                if it is None:
                    raise _UnknownElements()
                out.extend(it)
            else:
                out.append(value)
        return out

    def ex_Dict(self, node, scope):
        out: dict = {}
        for e in node.elements:
            if isinstance(e, cst.StarredDictElement):
                value = self.eval(e.value, scope)
                if isinstance(value, dict):
                    out.update(value)
                continue
            key = self.eval(e.key, scope)
            if isinstance(key, Unknown):
                key = f"<{key.source}>"
            try:
                out[key] = self.eval(e.value, scope)
            except TypeError:
                pass
        return out

    def ex_Attribute(self, node, scope):
        base = self.eval(node.value, scope)
        return self.get_attr(base, node.attr.value, node)

    def ex_Subscript(self, node, scope):
        base = self.eval(node.value, scope)
        if len(node.slice) != 1:
            return self.unknown(node)
        sl = node.slice[0].slice
        if isinstance(sl, cst.Index):
            key = self.eval(sl.value, scope)
        else:
            parts = [
                self.eval(x, scope) if x is not None else None
                for x in (sl.lower, sl.upper, sl.step)
            ]
            if any(isinstance(p, Unknown) for p in parts):
                return self.unknown(node)
            key = slice(*parts)
        if isinstance(base, XComRef):  # Airflow: output["k"] is the XCom pushed under key "k"
            return XComRef(base.tasks, key if isinstance(key, str) else base.key)
        if isinstance(base, GroupNode) and isinstance(key, str):
            return base.children.get(base.child_id(key), self.unknown(node))
        if isinstance(key, Unknown) or not isinstance(base, (dict, list, tuple, str, range)):
            return self.unknown(node)
        try:
            return base[key]
        except Exception:
            return self.unknown(node)

    def ex_BinaryOperation(self, node, scope):
        left = self.eval(node.left, scope)
        right = self.eval(node.right, scope)
        if isinstance(node.operator, cst.RightShift) and (
            deps.is_dependency(left) or deps.is_dependency(right)
        ):
            return self.dependency(deps.rshift, left, right, node)
        if isinstance(node.operator, cst.LeftShift) and (
            deps.is_dependency(left) or deps.is_dependency(right)
        ):
            return self.dependency(deps.lshift, left, right, node)
        if isinstance(node.operator, (cst.RightShift, cst.LeftShift)) and (
            isinstance(left, (list, tuple)) or isinstance(right, (list, tuple))
        ):
            return self.dependency(
                deps.rshift if isinstance(node.operator, cst.RightShift) else deps.lshift,
                left,
                right,
                node,
            )
        fn = _BINOPS.get(type(node.operator))
        return self.binop(fn, left, right, node) if fn else self.unknown(node)

    def dependency(self, fn, left, right, node):
        try:
            return fn(left, right)
        except deps.DependencyError as exc:
            self.diag(
                "BRG104", node, f"`{self.src(node)}`: {exc}; this dependency was not recorded"
            )
            return right

    def binop(self, fn, left, right, node):
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return self.unknown(
                node, "template" if isinstance(left, str) or isinstance(right, str) else "expr"
            )
        if not isinstance(left, LITERAL_TYPES) or not isinstance(right, LITERAL_TYPES):
            return self.unknown(node)
        if fn is op.mod and isinstance(left, str) and has_unknown(right):
            return self.unknown(node, "template")
        try:
            if fn is op.pow and isinstance(right, int) and right > 1000:
                return self.unknown(node)
            if (
                fn is op.mul
                and isinstance(left, (str, list, tuple))
                and isinstance(right, int)
                and right > 100_000
            ):
                return self.unknown(node)
            return fn(left, right)
        except Exception:
            return self.unknown(node)

    def ex_UnaryOperation(self, node, scope):
        value = self.eval(node.expression, scope)
        if isinstance(node.operator, cst.Not):
            truth = self.truth(value)
            return self.unknown(node) if truth is None else not truth
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            or isinstance(value, bool)
        ):
            if isinstance(node.operator, cst.Minus):
                return -value
            if isinstance(node.operator, cst.Plus):
                return +value
            if isinstance(node.operator, cst.BitInvert):
                return ~value
        return self.unknown(node)

    def ex_BooleanOperation(self, node, scope):
        left = self.eval(node.left, scope)
        truth = self.truth(left)
        if truth is None:
            return self.unknown(node)
        if isinstance(node.operator, cst.And):
            return self.eval(node.right, scope) if truth else left
        return left if truth else self.eval(node.right, scope)

    def ex_Comparison(self, node, scope):
        left = self.eval(node.left, scope)
        for target in node.comparisons:
            right = self.eval(target.comparator, scope)
            if has_unknown(left) or has_unknown(right):
                return self.unknown(node)
            fn = _CMPOPS.get(type(target.operator))
            try:
                result = fn(left, right)
            except Exception:
                return self.unknown(node)
            if not result:
                return False
            left = right
        return True

    def ex_IfExp(self, node, scope):
        truth = self.truth(self.eval(node.test, scope))
        if truth is None:
            return self.unknown(node)
        return self.eval(node.body if truth else node.orelse, scope)

    def ex_Lambda(self, node, scope):
        return FunctionValue(
            node,
            "<lambda>",
            scope,
            self.param_defaults(node.params, scope),
            self.line(node),
            self.end_line(node),
        )

    def ex_NamedExpr(self, node, scope):
        value = self.eval(node.value, scope)
        self.assign(node.target, value, scope)
        return value

    def comprehension(self, node, scope, make):
        inner = Scope(scope, scope.module)
        results: list = []

        def loop(comp: cst.CompFor) -> bool:
            items = self.iterable(self.eval(comp.iter, inner))
            if items is None:
                return False
            for item in items:
                self.assign(comp.target, item, inner)
                if all(self.truth(self.eval(cond.test, inner)) for cond in comp.ifs):
                    if comp.inner_for_in is not None:
                        if not loop(comp.inner_for_in):
                            return False
                    else:
                        results.append(make(inner))
            return True

        if not loop(node.for_in):
            return self.unknown(node)
        return results

    def ex_ListComp(self, node, scope):
        return self.comprehension(node, scope, lambda s: self.eval(node.elt, s))

    ex_GeneratorExp = ex_ListComp

    def ex_SetComp(self, node, scope):
        out = self.comprehension(node, scope, lambda s: self.eval(node.elt, s))
        try:
            return set(out) if isinstance(out, list) else out
        except TypeError:
            return out

    def ex_DictComp(self, node, scope):
        out = self.comprehension(
            node, scope, lambda s: (self.eval(node.key, s), self.eval(node.value, s))
        )
        if isinstance(out, list):
            try:
                return dict(out)
            except TypeError:
                return self.unknown(node)
        return out

    # ---- attributes ----------------------------------------------------------------------

    def get_attr(self, base, name: str, node: cst.CSTNode):
        stored = self.attributes.get((id(base), name))
        if stored is not None and stored[0] is base:
            return stored[1]
        if isinstance(base, Symbol):
            if base.name == "airflow.sdk.TriggerRule" and name.isupper():
                return name.lower()  # a str enum: its members compare equal to their values
            return Symbol(canonical(f"{base.name}.{name}"))
        if isinstance(base, TaskNode):
            if name == "output":
                return XComRef([base])
            if name == "task_id":
                return base.task_id
            if name == "dag":
                return base.dag
            return self.method(base, name, node)
        if isinstance(base, XComRef):
            if name == "operator":
                return base.operator
            if name == "output":
                return base
            return self.method(base, name, node)
        if isinstance(base, DagNode):
            if name == "dag_id":
                return base.dag_id
            return self.method(base, name, node)
        if isinstance(base, GroupNode):
            if name == "group_id":
                return base.group_id
            return self.method(base, name, node)
        if isinstance(base, (LabelNode, TaskFuncValue, GroupFuncValue, PartialValue, ClassValue)):
            return self.method(base, name, node)
        if isinstance(base, DecoratorFactory):
            return self.unknown(node)
        if isinstance(base, ParamValue) and name == "value":
            return base.default
        if isinstance(base, LITERAL_TYPES) and not isinstance(base, (type(None), bool)):
            if hasattr(base, name) and not name.startswith("_"):
                attr = getattr(base, name)
                if callable(attr):
                    return BuiltinMethod(base, name)
                if isinstance(attr, LITERAL_TYPES):
                    return attr
        return self.unknown(node)

    # ---- calls ---------------------------------------------------------------------------

    def ex_Call(self, node: cst.Call, scope: Scope):
        func = self.eval(node.func, scope)
        args, kwargs = self.call_args(node, scope)
        return self.call(func, args, kwargs, node, scope)

    def call_args(self, node: cst.Call, scope: Scope):
        args: list = []
        kwargs: dict[str, tuple[Any, str]] = {}
        for arg in node.args:
            value = self.eval(arg.value, scope)
            if arg.star == "*":
                it = self.iterable(value)
                args.extend(it if it is not None else [self.unknown(arg.value)])
            elif arg.star == "**":
                if isinstance(value, dict):
                    for k, v in value.items():
                        kwargs[str(k)] = (v, repr(v) if not isinstance(v, Unknown) else v.source)
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = (value, LazySource(arg.value, self.module))
            else:
                args.append(value)
        return args, kwargs

    def call(self, func, args: list, kwargs: dict, node: cst.Call, scope: Scope):
        plain = {k: v for k, (v, _) in kwargs.items()}
        if isinstance(func, Method):
            return func.fn(self, func.obj, args, kwargs, node)
        if isinstance(func, BuiltinMethod):
            return self.call_builtin_method(func, args, plain, node)
        if isinstance(func, Symbol):
            return self.call_symbol(func, args, kwargs, node, scope)
        if isinstance(func, FunctionValue):
            return self.call_function(func, args, plain, node)
        if isinstance(func, TaskFuncValue):
            return self.call_taskfunc(func, args, kwargs, node)
        if isinstance(func, DagFuncValue):
            return self.call_dagfunc(func, args, plain, node)
        if isinstance(func, GroupFuncValue):
            return self.call_groupfunc(func, args, kwargs, node)
        if isinstance(func, ClassValue):
            if func.is_operator:
                return self.make_operator(func.qualname, args, kwargs, node)
            return self.unknown(node, "call")
        if isinstance(func, DecoratorFactory):
            return func
        return self.unknown(node, "call")

    def call_builtin_method(self, m: BuiltinMethod, args, kwargs, node):
        if m.name not in _MUTATORS and (has_unknown(args) or has_unknown(kwargs)):
            return self.unknown(node, "template" if m.name == "format" else "expr")
        try:
            result = getattr(m.obj, m.name)(*args, **kwargs)
        except Exception:
            return self.unknown(node)
        if isinstance(result, (type({}.items()), type({}.keys()), type({}.values()))):
            return list(result)
        return (
            result
            if isinstance(result, LITERAL_TYPES) or result is None or deps.is_dependency(result)
            else self.unknown(node)
        )

    def call_builtin(self, name: str, args, kwargs, node):
        fn = _SAFE_BUILTINS.get(name)
        if name == "globals":
            return Symbol("globals()")
        if fn is None:
            return self.unknown(node, "call")
        if name not in _STRUCTURAL and (has_unknown(args) or has_unknown(kwargs)):
            return self.unknown(node)
        if name == "range" and len(range(*[a for a in args if isinstance(a, int)])) > MAX_RANGE:
            return self.unknown(node)
        try:
            return fn(*args, **kwargs)
        except Exception:
            return self.unknown(node)

    def call_function(self, func: FunctionValue, args, kwargs, node):
        if self.depth >= MAX_DEPTH:
            self.diag(
                "BRG111",
                node,
                f"call depth above {MAX_DEPTH} at `{func.name}`; result treated as unknown",
            )
            return self.unknown(node, "call")
        local = Scope(func.closure, func.closure.module)
        self.bind_params(func, args, kwargs, local, lambda name, default: default)
        self.depth += 1
        try:
            if isinstance(func.node, cst.Lambda):
                return self.eval(func.node.body, local)
            self.exec_block(
                func.node.body.body
                if isinstance(func.node.body, cst.IndentedBlock)
                else func.node.body.body,
                local,
            )
        except ReturnSignal as ret:
            return ret.value
        except (BreakSignal, ContinueSignal):
            return None
        finally:
            self.depth -= 1
        return None

    def bind_params(
        self, func: FunctionValue, args, kwargs, local: Scope, missing
    ) -> dict[str, Any]:
        """Bind call arguments to the function's parameters; returns name -> value as bound."""
        params = func.node.params
        bound: dict[str, Any] = {}
        positional = [*params.posonly_params, *params.params]
        args = list(args)
        for p in positional:
            name = p.name.value
            if args:
                bound[name] = args.pop(0)
            elif name in kwargs:
                bound[name] = kwargs.pop(name)
            else:
                bound[name] = missing(name, func.defaults.get(name, Unknown(name, "name")))
        if isinstance(params.star_arg, cst.Param):
            bound[params.star_arg.name.value] = tuple(args)
        for p in params.kwonly_params:
            name = p.name.value
            bound[name] = (
                kwargs.pop(name)
                if name in kwargs
                else missing(name, func.defaults.get(name, Unknown(name, "name")))
            )
        if params.star_kwarg is not None:
            bound[params.star_kwarg.name.value] = dict(kwargs)
        for name, value in bound.items():
            local.vars[name] = value
        return bound

    def warn_unknown_call(self, node: cst.Call, scope: Scope) -> None:
        """A call whose result is dropped may be creating tasks we cannot see."""
        func = self.eval(node.func, scope)
        if isinstance(func, Symbol):
            top = func.top
            if (
                top in sys.stdlib_module_names
                or top in _SAFE_PACKAGES
                or top == "builtins"
                or top.startswith("asset:")
            ):
                return
        elif not isinstance(func, Unknown):
            return
        if self.current_dag is None and not self.dags:
            return
        self.diag(
            "BRG113",
            node,
            f"`{self.src(node.func)}(...)` is not known to the parser; tasks it creates are not seen",
        )
