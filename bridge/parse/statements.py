"""Statements, as the static interpreter runs them: assignments, imports, `if`, `for`, `with`
(DAG and TaskGroup contexts, setup/teardown), `try`, function and class definitions.
A mixin of the Interpreter."""

from __future__ import annotations

import operator as op
from typing import Any

import libcst as cst

from bridge.parse import dependencies as deps
from bridge.parse.names import canonical, looks_like_operator, removed_in_airflow_3, star_exports
from bridge.parse.scope import (
    BreakSignal,
    ContinueSignal,
    ReturnSignal,
    Scope,
    has_unknown,
    trigger_rule,
)
from bridge.parse.values import (
    ClassValue,
    DagNode,
    FunctionValue,
    GroupNode,
    Symbol,
    TaskNode,
    Unknown,
    XComRef,
)

_MISSING = object()
# Operator attributes a DAG file may set after construction that change what the task does.
_TASK_ATTRIBUTES = {"wait_for_completion"}

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


class Statements:
    """Executes statement nodes. Needs the Interpreter's eval, diag and Airflow constructs."""

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
                if self.afford(len(value), node) and len(current) + len(value) <= self.limits.value:
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
            elif isinstance(obj, TaskNode) and target.attr.value in _TASK_ATTRIBUTES:
                obj.kwargs[target.attr.value] = (value, "")
            elif not isinstance(obj, (str, int, float, bool, type(None))):
                # `tg.extract = Operator(...)`, `self.x = ...`: remember it for later reads.
                self.attributes[(id(obj), target.attr.value)] = (obj, value)
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, value, scope)

    def stmt_If(self, node: cst.If, scope: Scope) -> None:
        test = self.eval(node.test, scope)
        truth = self.truth(test)
        if truth is None and self.speculative:
            self.blur_branches(node, scope)
            return
        if truth is None:
            self.diag("BRG106", node.test, f"`{self.src(node.test)}` is not statically known")
            truth = True
        if truth:
            self.exec_block(node.body.body, scope)
        elif isinstance(node.orelse, cst.If):
            self.stmt_If(node.orelse, scope)
        elif isinstance(node.orelse, cst.Else):
            self.exec_block(node.orelse.body.body, scope)

    def blur_branches(self, node: cst.If, scope: Scope) -> None:
        """An `if` whose test is unknown, in a task body evaluated for its pushed values: run
        each branch from the same state, then every name either one assigns is unknown (which
        branch runs is only known when the task runs)."""
        before = dict(scope.vars)
        changed: set[str] = set()
        branches = [node.body.body]
        orelse = node.orelse
        if isinstance(orelse, cst.Else):
            branches.append(orelse.body.body)
        elif isinstance(orelse, cst.If):
            branches.append([orelse])
        for body in branches:
            scope.vars.clear()
            scope.vars.update(before)
            try:
                self.exec_block(body, scope)
            finally:
                changed |= {k for k, v in scope.vars.items() if before.get(k, _MISSING) is not v}
        scope.vars.clear()
        scope.vars.update(before)
        for name in changed:
            scope.vars[name] = Unknown(name, "name")

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
            return list(value) if len(value) <= self.limits.range else None
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
