"""Extract a Python callable and everything it needs from its DAG file into a standalone module.

Work in progress for issue 3 (PythonOperator / @task → ProcessingStep script). Given the file's
source and the function's name and line (the DagModel's CallableRef), this keeps: the imports the
function uses (pruned to the names it uses), the module-level constants, helper functions and
classes it reaches (transitively), and the function itself without its Airflow decorators; the
module's `from __future__` imports come first, as in the file. DAG construction code never comes
along. Names it cannot resolve, and Airflow APIs it calls, are
reported so the translation can say what differs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import (
    Assignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)


@dataclass
class Extracted:
    name: str
    code: str
    airflow_names: list[str] = field(default_factory=list)  # Airflow APIs the callable uses
    unresolved: list[str] = field(default_factory=list)  # free names with no definition in the file
    uses_file_path: bool = False  # reads __file__: paths relative to the DAG file differ in a step


class ExtractError(ValueError):
    pass


@functools.lru_cache(maxsize=4)
def _analyse(source: str):
    """Parse and resolve scopes once per file: a DAG file has many callables to extract."""
    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    return (
        wrapper.module,
        wrapper.resolve(ScopeProvider),
        wrapper.resolve(ParentNodeProvider),
        wrapper.resolve(PositionProvider),
    )


def extract_callable(source: str, name: str, line: int | None = None) -> Extracted:
    module, scopes, parents, positions = _analyse(source)

    target = _find_function(module, name, line, positions)
    keep: dict[
        cst.CSTNode, set[str] | None
    ] = {}  # statement -> import aliases to keep (None: whole)
    unresolved: set[str] = set()
    airflow: set[str] = set()
    todo: list[cst.CSTNode] = [target]
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for access_name, assignments in _free_names(
            node, scopes, positions, skip_decorators=node is target
        ):
            if not assignments:
                if access_name not in _BUILTINS:
                    unresolved.add(access_name)
                continue
            for assignment in assignments:
                stmt = _statement_of(assignment.node, parents)
                if stmt is None or _inside(stmt, target, parents):
                    continue
                if isinstance(
                    assignment.node, (cst.ImportAlias, cst.Import, cst.ImportFrom)
                ) or _is_import(stmt):
                    keep.setdefault(stmt, set())
                    aliases = keep[stmt]
                    if aliases is not None:
                        aliases.add(access_name)
                    if _imports_airflow(stmt):
                        airflow.add(access_name)
                    continue
                if _is_dag_construction(stmt):
                    unresolved.add(access_name)
                    continue
                keep[stmt] = None
                todo.append(stmt)

    ordered = sorted(keep, key=lambda s: positions[s].start.line)
    imports = [_prune_import(s, keep[s]) for s in ordered if _is_import(s) and not _is_future(s)]
    definitions = [s for s in ordered if not _is_import(s)]
    body = [*_future_imports(module), *imports, *definitions, _undecorated(target)]
    code = cst.Module(body=body).code
    return Extracted(name, code, sorted(airflow), sorted(unresolved), "__file__" in code)


@functools.lru_cache(maxsize=4)
def _functions(module: cst.Module) -> dict[str, list[cst.FunctionDef]]:
    """Every function of the module by name (one walk per file, not per callable)."""
    found: dict[str, list[cst.FunctionDef]] = {}

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            found.setdefault(node.name.value, []).append(node)

    module.visit(Finder())
    return found


def _find_function(module: cst.Module, name: str, line: int | None, positions) -> cst.FunctionDef:
    found = list(_functions(module).get(name, []))
    if line is not None:
        found = [
            f for f in found if positions[f].start.line <= line <= positions[f].end.line
        ] or found
    if not found:
        raise ExtractError(f"no function `{name}` in the file")
    return found[0]


def _free_names(
    node: cst.CSTNode, scopes, positions, skip_decorators: bool = False
) -> list[tuple[str, set[Assignment]]]:
    """Names read inside `node` that are bound outside it, with their assignments."""
    out = []

    class Reads(cst.CSTVisitor):
        def visit_Decorator(self, deco: cst.Decorator) -> bool:
            return not skip_decorators  # the target's @task decorators are dropped, not extracted

        def visit_Name(self, name: cst.Name) -> None:
            scope = scopes.get(name)
            if scope is None:
                return
            for access in scope.accesses[name]:
                if access.node is not name:
                    continue
                outside = {
                    a
                    for a in access.referents
                    if isinstance(a, Assignment) and not _within(a.node, node, positions)
                }
                if outside or not access.referents:
                    out.append((name.value, outside))

    node.visit(Reads())
    bound_inside = _names_bound_in(node)
    # libcst's scope analysis misses some comprehension targets; a name bound inside is not free.
    return [(n, a) for n, a in out if a or n not in bound_inside]


def _names_bound_in(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    def collect(target: cst.CSTNode) -> None:
        class Targets(cst.CSTVisitor):
            def visit_Name(self, n: cst.Name) -> None:
                names.add(n.value)

            def visit_Attribute(self, n: cst.Attribute) -> bool:
                return False

            def visit_Subscript(self, n: cst.Subscript) -> bool:
                return False

        target.visit(Targets())

    class Binders(cst.CSTVisitor):
        def visit_CompFor(self, n: cst.CompFor) -> None:
            collect(n.target)

        def visit_For(self, n: cst.For) -> None:
            collect(n.target)

        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            collect(n.target)

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            collect(n.target)

        def visit_Param(self, n: cst.Param) -> None:
            names.add(n.name.value)

    node.visit(Binders())
    return names


def _within(inner: cst.CSTNode, outer: cst.CSTNode, positions) -> bool:
    """Whether `inner` lies inside `outer`, by source position (no tree walk per question)."""
    a, b = positions.get(inner), positions.get(outer)
    if a is None or b is None:
        return False
    return (b.start.line, b.start.column) <= (a.start.line, a.start.column) and (
        a.end.line,
        a.end.column,
    ) <= (b.end.line, b.end.column)


def _statement_of(node: cst.CSTNode, parents) -> cst.CSTNode | None:
    """The statement directly in a Module or function body that contains `node`."""
    current = node
    while current in parents:
        parent = parents[current]
        if isinstance(parent, cst.Module):
            return current
        if isinstance(parent, cst.IndentedBlock) and isinstance(
            parents.get(parent), cst.FunctionDef
        ):
            return current
        current = parent
    return None


def _inside(stmt: cst.CSTNode, target: cst.CSTNode, parents) -> bool:
    current = stmt
    while current in parents:
        if current is target:
            return True
        current = parents[current]
    return current is target


def _future_imports(module: cst.Module) -> list[cst.SimpleStatementLine]:
    """The module's `from __future__ import ...` lines, kept whole and first: they change what
    the copied code means (`annotations` keeps `dict | None` in a signature from being evaluated,
    which fails on the Python 3.9 of an image)."""
    return [stmt.with_changes(leading_lines=[]) for stmt in module.body if _is_future(stmt)]


def _is_future(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom)
        and isinstance(s.module, cst.Name)
        and s.module.value == "__future__"
        for s in stmt.body
    )


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _imports_airflow(stmt: cst.CSTNode) -> bool:
    code = cst.Module(body=[stmt]).code
    return "airflow" in code.split("import", 1)[0] or code.lstrip().startswith("import airflow")


def _is_dag_construction(stmt: cst.CSTNode) -> bool:
    """`with DAG(...)` blocks and the like: never copied into a step script."""
    return isinstance(stmt, cst.With)


def _prune_import(stmt: cst.SimpleStatementLine, names: set[str] | None) -> cst.SimpleStatementLine:
    if names is None:
        return stmt
    small = []
    for imp in stmt.body:
        aliases = (
            [a for a in imp.names if _bound_name(a) in names]
            if not isinstance(imp.names, cst.ImportStar)
            else None
        )
        if aliases is None:
            small.append(imp)
        elif aliases:
            aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            small.append(
                imp.with_changes(names=aliases, lpar=None, rpar=None)
                if isinstance(imp, cst.ImportFrom)
                else imp.with_changes(names=aliases)
            )
    return stmt.with_changes(body=small, leading_lines=[])


def _bound_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None:
        return alias.asname.name.value  # type: ignore[union-attr]
    return cst.Module(body=[]).code_for_node(alias.name).split(".")[0]


def _undecorated(fn: cst.FunctionDef) -> cst.FunctionDef:
    return fn.with_changes(decorators=[], leading_lines=[cst.EmptyLine(), cst.EmptyLine()])


_BUILTINS = set(dir(__import__("builtins"))) | {"__file__", "__name__"}

__all__ = ["Extracted", "ExtractError", "extract_callable"]
