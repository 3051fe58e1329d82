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
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from bridge.diagnostics import Diagnostic
from bridge.parse import dependencies as deps
from bridge.parse.constructs import AirflowConstructs
from bridge.parse.lines import LineIndex
from bridge.parse.names import canonical, looks_like_operator, removed_in_airflow_3, star_exports
from bridge.parse.scope import (
    LITERAL_TYPES,
    AbortEvaluation,
    BreakSignal,
    ContinueSignal,
    ReturnSignal,
    Scope,
    format_width,
    has_unknown,
    printed_size,
    size_of,
    template_width,
    trigger_rule,
)
from bridge.parse.values import (
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
# Values the evaluator builds: one value (characters of a string, elements of a container) and
# all values of one file together (plus the work of sizing them). Over a cap a value is Unknown.
MAX_VALUE = 2_000_000
MAX_BUILT = 20_000_000
MAX_INT_BITS = 100_000


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


class _TooLarge(Exception):
    """A value would exceed the evaluator's size caps."""


# Operator nodes (immutable, shared) for the links of a flattened chain.
_CHAIN_OPERATORS = {
    "+": cst.Add(),
    "-": cst.Subtract(),
    "*": cst.Multiply(),
    "@": cst.MatrixMultiply(),
    "/": cst.Divide(),
    "//": cst.FloorDivide(),
    "%": cst.Modulo(),
    "<<": cst.LeftShift(),
    ">>": cst.RightShift(),
    "&": cst.BitAnd(),
    "|": cst.BitOr(),
    "^": cst.BitXor(),
}
# Methods of literals whose result can be much larger than their inputs; checked before the call.
_GROWING_METHODS = {
    "center",
    "ljust",
    "rjust",
    "zfill",
    "expandtabs",
    "replace",
    "join",
    "format",
    "format_map",
    "translate",
    "to_bytes",
    "extend",
}


class Interpreter(AirflowConstructs):
    def __init__(
        self,
        module: cst.Module,
        path: str,
        module_name: str,
        source: str,
        chains: dict | None = None,
    ):
        self.module = module
        self.path = path
        self.module_name = module_name
        self.lines = LineIndex(module, source)
        # Long operator chains handed to libcst flat: marker -> parse.Chain (ops, original text).
        self.chains = chains or {}
        self._chain_nodes: dict[int, tuple[str, int] | None] = {}  # id -> (text, line), lazily
        self._unknowns: dict[tuple[int, int], tuple[Any, Any, str, int]] = {}
        self._chain_link: tuple[cst.CSTNode, Any, int] | None = None  # (node, Chain, link)
        self.built = 0  # size of the values built so far (see MAX_BUILT)
        self.too_large_noted = False
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
        return self.restore(self.module.code_for_node(node).strip())

    def restore(self, text: str) -> str:
        """Source text as in the file: flattened chains (see parse.check_source) written back."""
        if self.chains and "__bridge_chain_" in text:
            # Outermost first: an outer chain's flat text contains its inner chains' flat text.
            for chain in sorted(self.chains.values(), key=lambda c: -len(c.flat)):
                if chain.flat in text:
                    text = text.replace(chain.flat, chain.original)
        return text

    def lazy_source(self, node: cst.CSTNode) -> LazySource:
        return LazySource(node, self.module, self.restore if self.chains else None)

    # ---- size caps -------------------------------------------------------------------------

    def afford(self, size: int, node: cst.CSTNode) -> bool:
        """Whether a value of `size` may be built; counts it against the file's budget."""
        if size > MAX_VALUE or self.built + size > MAX_BUILT:
            self.note_too_large(node, size)
            return False
        self.built += size
        return True

    def note_too_large(self, node: cst.CSTNode, size: int) -> None:
        if self.too_large_noted:
            return
        self.too_large_noted = True
        text = self.src(node)
        if len(text) > 80:
            text = text[:60] + " ... " + text[-15:]
        if size > MAX_VALUE:
            why = f"a value of {MAX_VALUE:,} characters or elements"
        else:
            why = f"{MAX_BUILT:,} characters or elements of values per file"
        self.diag(
            "BRG111",
            node,
            f"`{text}`: the parser builds at most {why}; treated as unknown "
            "(later values over the limit are not reported)",
        )

    def printed(self, value, node: cst.CSTNode) -> int:
        """len(str(value)) estimated within the caps, or _TooLarge; the estimate's work counts."""
        size, visited = printed_size(value, MAX_VALUE)
        self.built += visited
        if size > MAX_VALUE or self.built > MAX_BUILT:
            self.note_too_large(node, size)
            raise _TooLarge()
        return size

    def tick(self, node: cst.CSTNode) -> None:
        """One evaluation step (a statement, a comprehension item, a call)."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.diag("BRG111", node, f"stopped after {MAX_STEPS:,} evaluation steps")
            raise AbortEvaluation()

    def diag(self, code: str, node: cst.CSTNode | int, message: str) -> None:
        line = node if isinstance(node, int) else self.line(node)
        d = Diagnostic.make(code, line, message, self.path)
        if d not in self.diagnostics:
            self.diagnostics.append(d)

    def unknown(self, node: cst.CSTNode, kind: str = "expr") -> Unknown:
        if id(node) in self._chain_nodes:  # a long chain: its text is made once, not per link
            text, line = self.chain_text(node)
            return Unknown(text, kind, line)
        # A node evaluated again in the same statement (a loop body) gives the same text and
        # line: made once. The nodes are kept in the entry so that their ids are not reused.
        within = self.stmt_stack[-1] if self.stmt_stack else None
        key = (id(node), id(within))
        cached = self._unknowns.get(key)
        if cached is None or cached[0] is not node or cached[1] is not within:
            text, line = self.src(node), self.line(node)
            cached = self._unknowns[key] = (node, within, text, line)
        return Unknown(cached[2], kind, cached[3])

    def chain_text(self, node: cst.CSTNode) -> tuple[str, int]:
        cached = self._chain_nodes.get(id(node))
        if cached is None:
            cached = self._chain_nodes[id(node)] = (self.src(node), self.line(node))
        return cached

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
        self.tick(stmt)
        try:
            self._exec_stmt(stmt, scope)
        except RecursionError:
            # Nesting deeper than Python's stack: this statement is lost, the file goes on.
            line = self.lines.lines.get(id(stmt), 0)
            self.diag("BRG111", line, "statement nested too deep to evaluate; skipped")

    def _exec_stmt(self, stmt: cst.CSTNode, scope: Scope) -> None:
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
                if self.afford(len(value), node) and len(current) + len(value) <= MAX_VALUE:
                    current.extend(value)
                    return
                self.note_too_large(node, len(current) + len(value))
                self.assign(node.target, self.unknown(node), scope)
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
        value = node.value
        if value.isascii() and value.isdigit() and len(value) < 20:  # plain decimal: no compile
            return int(value)
        return ast.literal_eval(value)

    def ex_Float(self, node, scope):
        return ast.literal_eval(node.value)

    ex_Imaginary = ex_Float

    def ex_SimpleString(self, node, scope):
        raw = node.value
        if len(raw) > 4096 and not self.afford(len(raw), node):  # a big literal in a loop
            return self.unknown(node)
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
            if not self.afford(len(left) + len(right), node):
                return self.unknown(node, "template")
            return left + right
        return self.unknown(node, "template")

    def ex_FormattedString(self, node, scope):
        try:
            return self._formatted_string(node, scope)
        except _TooLarge:
            return self.unknown(node, "template")

    def _formatted_string(self, node, scope):
        out = []
        length = 0
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value.replace("{{", "{").replace("}}", "}"))
                length += len(out[-1])
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
            grow = self.printed(value, node) + format_width(spec)
            length += grow
            if length > MAX_VALUE or not self.afford(grow, node):
                self.note_too_large(node, length)
                raise _TooLarge()
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
            return self.elements(node.elements, scope, node)
        except (_UnknownElements, _TooLarge):
            return self.unknown(node)

    def ex_Tuple(self, node, scope):
        elements = node.elements
        if elements and self.chains:
            first = elements[0].value
            if isinstance(first, cst.Name) and first.value in self.chains:
                return self.eval_chain(node, first.value, scope)
        try:
            return tuple(self.elements(elements, scope, node))
        except (_UnknownElements, _TooLarge):
            return self.unknown(node)

    def ex_Set(self, node, scope):
        try:
            items = self.elements(node.elements, scope, node)
        except (_UnknownElements, _TooLarge):
            return self.unknown(node)
        try:
            return set(items)
        except TypeError:
            return items

    def elements(self, elements, scope, node) -> list:
        out: list = []
        for e in elements:
            value = self.eval(e.value, scope)
            if isinstance(e, cst.StarredElement):
                it = self.iterable(value)
                if it is None:
                    raise _UnknownElements()
                if len(out) + len(it) > MAX_VALUE or not self.afford(len(it), node):
                    self.note_too_large(node, len(out) + len(it))
                    raise _TooLarge()
                out.extend(it)
            else:
                out.append(value)
        if not self.afford(len(elements), node):
            raise _TooLarge()
        return out

    def ex_Dict(self, node, scope):
        out: dict = {}
        if not self.afford(len(node.elements), node):
            return self.unknown(node)
        for e in node.elements:
            if isinstance(e, cst.StarredDictElement):
                value = self.eval(e.value, scope)
                if isinstance(value, dict):
                    if not self.afford(len(value), node):
                        return self.unknown(node)
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
        # Left-nested chains (`a >> b >> c`, `1 + 2 + 3`) are walked in a loop, not recursively.
        spine = [node]
        while isinstance(spine[-1].left, cst.BinaryOperation):
            spine.append(spine[-1].left)
        value = self.eval(spine[-1].left, scope)
        for link in reversed(spine):
            value = self.binary(link.operator, value, self.eval(link.right, scope), link)
        return value

    def eval_chain(self, node: cst.Tuple, marker: str, scope):
        """A long chain handed to libcst flat as `(marker, a, b, c)`: `a op b op c`, link by link."""
        chain = self.chains[marker]
        operands = node.elements[1:]
        if len(operands) != len(chain.ops) + 1:
            return self.unknown(node)
        self._chain_nodes.setdefault(id(node), None)
        value = self.eval(operands[0].value, scope)
        for link, (op_text, element) in enumerate(zip(chain.ops, operands[1:], strict=True)):
            right = self.eval(element.value, scope)
            self._chain_link = (node, chain, link)
            value = self.binary(_CHAIN_OPERATORS[op_text], value, right, node)
        self._chain_link = None
        return value

    def binary(self, operator, left, right, node):
        """`left <operator> right` for a libcst operator node; `node` is reported."""
        if isinstance(operator, cst.RightShift) and (
            deps.is_dependency(left) or deps.is_dependency(right)
        ):
            return self.dependency(deps.rshift, left, right, node)
        if isinstance(operator, cst.LeftShift) and (
            deps.is_dependency(left) or deps.is_dependency(right)
        ):
            return self.dependency(deps.lshift, left, right, node)
        if isinstance(operator, (cst.RightShift, cst.LeftShift)) and (
            isinstance(left, (list, tuple)) or isinstance(right, (list, tuple))
        ):
            return self.dependency(
                deps.rshift if isinstance(operator, cst.RightShift) else deps.lshift,
                left,
                right,
                node,
            )
        fn = _BINOPS.get(type(operator))
        return self.binop(fn, left, right, node) if fn else self.unknown(node)

    def dependency(self, fn, left, right, node):
        try:
            return fn(left, right)
        except deps.DependencyError as exc:
            link = self._chain_link
            if link is not None and link[0] is node:  # a link of a long chain: its text so far
                text = link[1].prefix(link[2])
                text = text if len(text) <= 200 else text[:60] + " ... " + text[-60:]
            else:
                text = self.src(node)
            self.diag("BRG104", node, f"`{text}`: {exc}; this dependency was not recorded")
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
            size = self.binop_size(fn, left, right, node)
            if size is not None and not self.afford(size, node):
                return self.unknown(node)
            return fn(left, right)
        except _TooLarge:
            return self.unknown(node)
        except Exception:
            return self.unknown(node)

    def binop_size(self, fn, left, right, node) -> int | None:
        """The size of `fn(left, right)` when the operation can build a large value (else None);
        past MAX_INT_BITS for ints, _TooLarge."""
        if fn is op.add:
            if isinstance(left, (str, bytes, list, tuple)) and isinstance(right, type(left)):
                return len(left) + len(right)
            return None
        if fn is op.mul:
            if isinstance(left, int) and isinstance(right, int):
                return self.int_bits(left.bit_length() + right.bit_length(), node)
            seq, times = (right, left) if isinstance(left, int) else (left, right)
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int):
                return len(seq) * max(times, 0)
            return None
        if fn is op.pow and isinstance(left, int) and isinstance(right, int) and right > 0:
            return self.int_bits(max(left.bit_length() - 1, 0) * right + 1, node)
        if fn is op.lshift and isinstance(left, int) and isinstance(right, int) and left:
            return self.int_bits(left.bit_length() + max(right, 0), node)
        if fn is op.mod and isinstance(left, (str, bytes)):
            args = list(right.values()) if isinstance(right, dict) else right
            args = list(args) if isinstance(args, tuple) else [args]
            return self.template_size(left, args, True, node)
        if fn is op.truediv and isinstance(left, PurePosixPath | str):
            if isinstance(left, PurePosixPath) or isinstance(right, PurePosixPath):
                return len(str(left)) + len(str(right)) + 1
        return None

    def int_bits(self, bits: int, node) -> int:
        if bits > MAX_INT_BITS:
            self.note_too_large(node, bits // 8)
            raise _TooLarge()
        return bits // 8

    def template_size(self, template, args: list, percent: bool, node) -> int:
        """A bound on the length of `template % args` or `template.format(*args)`."""
        fields, width, from_args = template_width(template, percent)
        if not fields:
            return len(template)
        if from_args:
            ints = [abs(a) for a in args if isinstance(a, int) and not isinstance(a, bool)]
            width = max([width, *(min(i, MAX_VALUE + 1) for i in ints)])
        each = max((self.printed(a, node) for a in args), default=0)
        return len(template) + fields * (each + width)

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
                self.tick(node)
                self.assign(comp.target, item, inner)
                if all(self.truth(self.eval(cond.test, inner)) for cond in comp.ifs):
                    if comp.inner_for_in is not None:
                        if not loop(comp.inner_for_in):
                            return False
                    else:
                        if len(results) >= MAX_VALUE or not self.afford(1, node):
                            self.note_too_large(node, len(results) + 1)
                            return False
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
                kwargs[arg.keyword.value] = (value, self.lazy_source(arg.value))
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
            if m.name in _GROWING_METHODS:
                size, charge = self.method_size(m, args, kwargs, node)
                if size > MAX_VALUE or not self.afford(charge, node):
                    self.note_too_large(node, size)
                    return self.unknown(node)
            result = getattr(m.obj, m.name)(*args, **kwargs)
        except _TooLarge:
            return self.unknown(node)
        except Exception:
            return self.unknown(node)
        if m.name not in _GROWING_METHODS and m.name not in _MUTATORS:
            if not self.afford(size_of(result), node):
                return self.unknown(node)
            if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
                return self.unknown(node)
        if isinstance(result, (type({}.items()), type({}.keys()), type({}.values()))):
            return list(result)
        return (
            result
            if isinstance(result, LITERAL_TYPES) or result is None or deps.is_dependency(result)
            else self.unknown(node)
        )

    def method_size(self, m: BuiltinMethod, args, kwargs, node) -> tuple[int, int]:
        """(size of the result, size newly built) of a method that can grow a value."""
        obj, name = m.obj, m.name
        n = len(obj) if isinstance(obj, (str, bytes, list, tuple, dict, set)) else 0

        def arg(i: int, key: str, default=None):
            return args[i] if len(args) > i else kwargs.get(key, default)

        def int_arg(i: int, key: str, default: int = 0) -> int:
            v = arg(i, key, default)
            return v if isinstance(v, int) and not isinstance(v, bool) else default

        def sized(v) -> int:
            return len(v) if isinstance(v, (str, bytes, list, tuple, dict, set, frozenset)) else 0

        if name in ("center", "ljust", "rjust", "zfill"):
            size = max(n, int_arg(0, "width"))
        elif name == "expandtabs":
            size = n * max(int_arg(0, "tabsize", 8), 1)
        elif name == "replace":
            old, new = sized(arg(0, "old", "")), sized(arg(1, "new", ""))
            times = n // max(old, 1) + 1
            count = int_arg(2, "count", -1)
            if count >= 0:
                times = min(times, count)
            size = n + times * max(new - old, 0)
        elif name == "join":
            items = arg(0, "iterable", ())
            items = items if isinstance(items, (list, tuple, set, frozenset, dict, str)) else ()
            size = sum(sized(i) for i in items) + n * max(len(items) - 1, 0)
        elif name == "format":
            size = self.template_size(obj, [*args, *kwargs.values()], False, node)
        elif name == "format_map":
            mapping = arg(0, "mapping", {})
            values = list(mapping.values()) if isinstance(mapping, dict) else []
            size = self.template_size(obj, values, False, node)
        elif name == "translate":
            table = arg(0, "table", {})
            longest = (
                max((sized(v) for v in table.values()), default=1) if isinstance(table, dict) else 1
            )
            size = n * max(longest, 1)
        elif name == "to_bytes":
            size = int_arg(0, "length", 1)
        elif name == "extend":
            added = sized(arg(0, "iterable", ()))
            return n + added, added
        else:
            size = n
        return size, size

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
            if name in ("str", "repr", "format") and args:
                spec = args[1] if name == "format" and len(args) > 1 else ""
                size = self.printed(args[0], node) + format_width(
                    spec if isinstance(spec, str) else ""
                )
                if not self.afford(size, node):
                    return self.unknown(node)
            elif name == "sum" and len(args) > 1 and isinstance(args[1], (str, bytes, list, tuple)):
                items = args[0] if isinstance(args[0], (list, tuple)) else []
                size = len(args[1]) + sum(len(i) for i in items if hasattr(i, "__len__"))
                # sum() of sequences copies the partial result at each item: quadratic work
                if size > MAX_VALUE or not self.afford(size * max(len(items), 1) // 2 + 1, node):
                    self.note_too_large(node, size)
                    return self.unknown(node)
            result = fn(*args, **kwargs)
        except _TooLarge:
            return self.unknown(node)
        except Exception:
            return self.unknown(node)
        if not self.afford(size_of(result), node):
            return self.unknown(node)
        return result

    def call_function(self, func: FunctionValue, args, kwargs, node):
        self.tick(node)
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
