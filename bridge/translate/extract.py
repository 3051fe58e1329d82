"""Extract a Python callable and everything it needs from its DAG file into a standalone module.

Given the file's source and the function's name and line (the DagModel's CallableRef), this
keeps: the imports the function uses (pruned to the names it uses), the module-level constants,
helper functions and classes it reaches (transitively, also from the body of an enclosing
function such as a `@dag` function), and the function itself without its decorators; the
module's `from __future__` imports come first, as in the file. DAG construction code (`with`
blocks) never comes along. Names it cannot resolve, and Airflow APIs it calls, are reported so
the translation can say what differs.

CPython does the scoping: `symtable` says which names a function (and what nests in it) reads
from outside, with Python's own rules for comprehensions, lambdas, class bodies, `global` and
`nonlocal`; `ast` says which statement binds each of them. A file is parsed and indexed once;
extracting one callable costs what the callable reaches, not what the file holds.
"""

from __future__ import annotations

import ast
import functools
import re
import symtable
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from bridge.parse.python_tree import module_tree


@dataclass
class Extracted:
    name: str
    code: str
    airflow_names: list[str] = field(default_factory=list)  # Airflow APIs the callable uses
    unresolved: list[str] = field(default_factory=list)  # free names with no definition in the file
    uses_file_path: bool = False  # reads __file__: paths relative to the DAG file differ in a step


class ExtractError(ValueError):
    pass


def extract_callable(source: str, name: str, line: int | None = None) -> Extracted:
    index = _index(source)
    found = index.results.get((name, line))
    if found is None:
        target, scope = index.find(name, line)
        try:
            found = _Extraction(index, target, scope).run()
        except RecursionError as exc:
            raise ExtractError(f"`{name}` nests too deeply to analyse") from exc
        index.results[(name, line)] = found
    return replace(
        found, airflow_names=list(found.airflow_names), unresolved=list(found.unresolved)
    )


@functools.lru_cache(maxsize=4)
def _index(source: str) -> _Index:
    """Parse, resolve scopes and index once per file: a DAG file has many callables to extract."""
    try:
        tree = module_tree(source)
        if tree is None:
            tree = ast.parse(source)  # raises the SyntaxError handled below
        table = symtable.symtable(source, "<dag>", "exec")  # SyntaxError: code ast accepts
        return _Index(source, tree, table)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExtractError(f"the file cannot be analysed: {exc}") from exc


_Function = ast.FunctionDef | ast.AsyncFunctionDef
_SCOPE_NODES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_TABLE_NAMES = {
    ast.Lambda: "lambda",
    ast.ListComp: "listcomp",
    ast.SetComp: "setcomp",
    ast.DictComp: "dictcomp",
    ast.GeneratorExp: "genexpr",
}
_GLOBAL, _SCOPE = "global", "scope"  # where a read name is looked up: module, or scope outward
_BUILTINS = set(dir(__import__("builtins"))) | {"__file__", "__name__"}
_IMPLICIT = {"__class__", "__classdict__", "__conditional_annotations__"}  # compiler-made cells
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the tokenizer's line breaks (not str.splitlines')


class _Scope:
    """The module or a function or class body: where names are bound."""

    def __init__(self, index: _Index, node: ast.AST, parent: _Scope | None) -> None:
        self.index, self.node, self.parent = index, node, parent
        self.kind = (
            "module"
            if parent is None
            else "class"
            if isinstance(node, ast.ClassDef)
            else "function"
        )
        self.depth = 0 if parent is None else parent.depth + 1
        self._table: symtable.SymbolTable | None = None
        self._binders: dict[str, list[ast.stmt]] | None = None

    @property
    def table(self) -> symtable.SymbolTable | None:
        if self._table is None and self.parent is not None and self.parent.table is not None:
            tables = self.index.child_tables(self.parent.table, self.node)
            self._table = tables[0] if tables else None
        return self._table

    def symbol(self, name: str) -> symtable.Symbol | None:
        table = self.table
        if table is None:
            return None
        try:
            return table.lookup(name)
        except KeyError:
            return None

    def binders(self, name: str) -> list[ast.stmt]:
        """The statements of this body that bind `name` here (DAG construction excluded)."""
        if self._binders is None:
            found: dict[str, list[ast.stmt]] = {}
            for stmt in self.node.body:  # type: ignore[attr-defined]
                if isinstance(stmt, (ast.With, ast.AsyncWith)):
                    continue  # `with DAG(...)`: a name bound only there is unresolved
                walrus = self.index.has_walrus and ":=" in self.index.source_of(stmt)
                for bound in _bound_names([stmt]) if walrus else _plainly_bound_names(stmt):
                    found.setdefault(bound, []).append(stmt)
            if self.parent is None:
                for bound, stmts in self.index.global_setters.items():
                    found.setdefault(bound, []).extend(stmts)
            self._binders = found
        return self._binders.get(name, [])


class _Index:
    """One file: its lines, scopes, functions by name and symbol tables, built once."""

    def __init__(self, source: str, tree: ast.Module, table: symtable.SymbolTable) -> None:
        self.lines = _LINE_BREAK.split(source)
        self.has_walrus = ":=" in source
        self.module = _Scope(self, tree, None)
        self.module._table = table
        self.functions: dict[str, list[tuple[_Function, _Scope]]] = {}
        # Module-level functions that declare `global NAME`: they bind NAME in the module too.
        self.global_setters: dict[str, list[ast.stmt]] = {}
        self.futures = [
            s
            for s in tree.body
            if isinstance(s, ast.ImportFrom) and s.module == "__future__" and not s.level
        ]
        self.results: dict[tuple[str, int | None], Extracted] = {}
        self._children: dict[int, dict[tuple[str, int], list[symtable.SymbolTable]]] = {}
        self._outside: dict[int, frozenset[tuple[str, str]]] = {}
        self._walk(tree.body, self.module, None)

    def _walk(self, body: list[ast.stmt], scope: _Scope, top: ast.stmt | None) -> None:
        """Every def and class of the file, by statement only (functions are statements)."""
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = _Scope(self, stmt, scope)
                if not isinstance(stmt, ast.ClassDef):
                    self.functions.setdefault(stmt.name, []).append((stmt, scope))
                self._walk(stmt.body, inner, top or stmt)
            elif isinstance(stmt, ast.Global) and top is not None and scope.parent is self.module:
                for name in stmt.names:
                    self.global_setters.setdefault(name, []).append(top)
            else:
                for sub in _sub_bodies(stmt):
                    self._walk(sub, scope, top)

    def find(self, name: str, line: int | None) -> tuple[_Function, _Scope]:
        found = self.functions.get(name, [])
        if line is not None:
            around = [f for f in found if _first_line(f[0]) <= line <= (f[0].end_lineno or 0)]
            # The innermost: a def nested in a def of the same name is the one on that line.
            found = sorted(around, key=lambda f: (f[0].end_lineno or 0) - f[0].lineno) or found
        if not found:
            raise ExtractError(f"no function `{name}` in the file")
        return found[0]

    def child_tables(
        self, table: symtable.SymbolTable | None, node: ast.AST
    ) -> list[symtable.SymbolTable]:
        """The symbol table of a def, class, lambda or comprehension directly in `table`'s
        scope: symtable knows scopes by name and line, so two lambdas on one line give two
        (read together: the rare case costs precision only)."""
        if table is None:
            return []
        children = self._children.get(table.get_id())
        if children is None:
            children = {}
            stack = list(table.get_children())
            while stack:
                child = stack.pop()
                children.setdefault((child.get_name(), child.get_lineno()), []).append(child)
                if child.get_type() not in ("function", "class"):
                    stack.extend(child.get_children())  # 3.12+ type-parameter scopes
            self._children[table.get_id()] = children
        name = getattr(node, "name", None) or _TABLE_NAMES.get(type(node), "")
        return children.get((name, node.lineno), [])  # type: ignore[attr-defined]

    def scope_reads(self, node: ast.AST, scope: _Scope) -> set[tuple[str, str]]:
        """What the body of a def, class, lambda or comprehension in `scope` reads from
        outside it."""
        tables = self.child_tables(scope.table, node)
        if not tables:
            return _approximate_reads(node)
        return set().union(*(self.outside(t) for t in tables))

    def outside(self, table: symtable.SymbolTable) -> frozenset[tuple[str, str]]:
        """Names a scope and the scopes nested in it read from outside it, with where to look:
        _GLOBAL (the module) or _SCOPE (the enclosing function scopes, outward)."""
        cached = self._outside.get(table.get_id())
        if cached is not None:
            return cached
        found: set[tuple[str, str]] = set()
        is_class = table.get_type() == "class"
        for sym in table.get_symbols():
            name = sym.get_name()
            if name.startswith(".") or name in _IMPLICIT:
                continue
            if sym.is_global() and sym.is_referenced():
                found.add((name, _GLOBAL))
            elif sym.is_free():
                found.add((name, _SCOPE))
        for child in table.get_children():
            for name, where in self.outside(child):
                if where == _SCOPE and not is_class:
                    # Free in the child: bound here (a cell) unless free here too.
                    try:
                        sym = table.lookup(name)
                    except KeyError:
                        sym = None
                    if sym is not None and not sym.is_free() and not sym.is_global():
                        continue
                found.add((name, where))
        result = frozenset(found)
        self._outside[table.get_id()] = result
        return result

    def reads(self, nodes: Iterable[ast.AST], scope: _Scope) -> set[tuple[str, str]]:
        """Names the code of `nodes`, run in `scope`, reads from outside itself."""
        found: set[tuple[str, str]] = set()
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Store):  # a read, or a `del` needing a binding
                    found.add((node.id, _SCOPE))
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                found.add((node.target.id, _SCOPE))  # `x += 1` reads x first
                stack.append(node.value)
            elif isinstance(node, _SCOPE_NODES):
                stack.extend(_evaluated_outside(node))
                found |= self.scope_reads(node, scope)
            else:
                stack.extend(ast.iter_child_nodes(node))
        return found

    def resolve(self, name: str, where: str, scope: _Scope) -> tuple[_Scope, list[ast.stmt]]:
        """The scope that binds `name` as read in `scope`, and its statements binding it
        (none: unbound, or a parameter of an enclosing function, which cannot be copied)."""
        current = scope
        while where == _SCOPE and current.parent is not None:
            sym = current.symbol(name) if current.kind == "function" else None
            if sym is not None:
                if sym.is_parameter():
                    return current, []
                if sym.is_global():
                    break
                if sym.is_local():
                    return current, current.binders(name)
            current = current.parent
        return self.module, self.module.binders(name)

    # ---- source text ----------------------------------------------------------------------

    def source_of(self, stmt: ast.stmt) -> str:
        return "\n".join(self.lines[stmt.lineno - 1 : stmt.end_lineno or stmt.lineno])

    def text(self, stmt: ast.stmt, first_line: int) -> str:
        """A statement's source from `first_line`, with its trailing comment and the comments
        closing its block, dedented to the module level."""
        end = stmt.end_lineno or stmt.lineno
        last = self._footer_end(stmt, end)
        lines = self.lines[first_line - 1 : last]
        col = _chars(self.lines[stmt.lineno - 1], stmt.col_offset)
        tail = _chars(lines[end - first_line], stmt.end_col_offset or 0)
        rest = lines[end - first_line][tail:]
        if rest.strip().startswith("#") or not rest.strip():
            tail = len(lines[end - first_line].rstrip())
        lines[end - first_line] = lines[end - first_line][:tail]
        prefix = lines[0][:col]
        lines[0] = lines[0][col:]
        if col and not prefix.strip() and len(lines) > 1:
            strings = _string_interiors(stmt)
            lines[1:] = [
                line if first_line + i in strings else _dedent(line, col)
                for i, line in enumerate(lines[1:], 1)
            ]
        return "\n".join(lines).rstrip()

    def leading(self, stmt: ast.stmt, first_line: int) -> str:
        """The blank and comment lines above a statement that belong to it (as libcst counts
        them: not the file's header, nor comments closing the block above)."""
        start = first_line - 1
        while start > 0 and _is_blank_or_comment(self.lines[start - 1]):
            start -= 1
        if start == 0:
            return ""  # the file's header comments (only a module statement gets here)
        col = _chars(self.lines[stmt.lineno - 1], stmt.col_offset)
        block = self.lines[start : first_line - 1]
        footer = 0
        for i, line in enumerate(block):
            if not line.strip():
                continue
            if _indent(line) <= col:
                break
            footer = i + 1
        return "".join(_dedent(line, col) + "\n" for line in block[footer:])

    def trailing_comment(self, stmt: ast.stmt) -> str:
        line = self.lines[(stmt.end_lineno or stmt.lineno) - 1]
        rest = line[_chars(line, stmt.end_col_offset or 0) :].strip()
        return f"  {rest}" if rest.startswith("#") else ""

    def _footer_end(self, stmt: ast.stmt, end: int) -> int:
        """The last line of the comments after a block statement that are indented as its
        body: they close that block."""
        body = getattr(stmt, "body", None)
        if not isinstance(body, list) or not body or body[-1].lineno == stmt.lineno:
            return end
        inner = _chars(self.lines[body[0].lineno - 1], body[0].col_offset)
        last = end
        for number in range(end + 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if not line.strip():
                continue
            if not line.lstrip().startswith("#") or _indent(line) < inner:
                break
            last = number
        return last


class _Extraction:
    """One callable: follow what it reads to the statements binding it, transitively."""

    def __init__(self, index: _Index, target: _Function, scope: _Scope) -> None:
        self.index, self.target, self.scope = index, target, scope
        self.imports: dict[int, tuple[ast.Import | ast.ImportFrom, set[str]]] = {}
        self.definitions: dict[int, tuple[int, ast.stmt]] = {}  # id -> (scope depth, stmt)
        self.unresolved: set[str] = set()
        self.airflow: set[str] = set()
        self.uses_file = False

    def run(self) -> Extracted:
        index, target = self.index, self.target
        header = _evaluated_outside(target, decorators=False)  # the decorators are dropped
        reads = index.reads(header, self.scope) | index.scope_reads(target, self.scope)
        pending = [(name, where, self.scope) for name, where in reads]
        done: set[tuple[str, str, int]] = set()
        while pending:
            name, where, scope = pending.pop()
            if (name, where, id(scope)) in done:
                continue
            done.add((name, where, id(scope)))
            self.uses_file |= name == "__file__"
            binding_scope, stmts = index.resolve(name, where, scope)
            bound = False
            for stmt in stmts:
                if stmt is target:
                    bound = True  # recursion
                elif not _contains(stmt, target):
                    bound = True
                    pending.extend(self._keep(stmt, name, binding_scope))
            if not bound and name not in _BUILTINS:
                self.unresolved.add(name)
        code = self._code()
        return Extracted(
            target.name, code, sorted(self.airflow), sorted(self.unresolved), self.uses_file
        )

    def _keep(self, stmt: ast.stmt, name: str, scope: _Scope) -> list[tuple[str, str, _Scope]]:
        """Copy `stmt` (for an import: the alias binding `name`); what it reads, to resolve."""
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self.imports.setdefault(id(stmt), (stmt, set()))[1].add(name)
            if _imports_airflow(stmt, name):
                self.airflow.add(name)
            return []
        if _runs_airflow_import(stmt, name):  # `try: from airflow.sdk import X` and the like
            self.airflow.add(name)
        if id(stmt) in self.definitions:
            return []
        self.definitions[id(stmt)] = (scope.depth, stmt)
        return [(n, where, scope) for n, where in self.index.reads([stmt], scope)]

    def _code(self) -> str:
        index = self.index
        parts = [index.text(s, s.lineno) for s in index.futures]
        for stmt, names in sorted(self.imports.values(), key=lambda i: _position(i[0])):
            if stmt in index.futures:
                continue
            parts.append(_pruned(stmt, names) + index.trailing_comment(stmt))
        # The module's statements first: an enclosing function's body runs after the module.
        for _, stmt in sorted(self.definitions.values(), key=lambda d: (d[0], _position(d[1]))):
            first = _first_line(stmt)
            parts.append(index.leading(stmt, first) + index.text(stmt, first))
        parts.append("\n\n" + index.text(self.target, self.target.lineno))  # no decorators
        return "".join(part + "\n" for part in parts)


def _plainly_bound_names(stmt: ast.stmt) -> set[str]:
    """_bound_names of a statement without `:=`: only targets bind, so expressions (the bulk
    of a file that builds a DAG at module level) need no walk."""
    names: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(_alias_name(a) for a in node.names if a.name != "*")
            continue
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.Match):
            targets = [c.pattern for c in node.cases]
        elif type(node).__name__ == "TypeAlias":  # 3.12+
            targets = [node.name]  # type: ignore[attr-defined]
        names |= _bound_names(targets)
        names.update(h.name for h in getattr(node, "handlers", ()) if h.name)
        for body in _sub_bodies(node):  # type: ignore[arg-type]
            stack.extend(body)
    return names


def _bound_names(nodes: Iterable[ast.AST]) -> set[str]:
    """Names statements (or targets) bind in the scope they run in (not in the scopes they
    create)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                names.add(node.id)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(_evaluated_outside(node))
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(_evaluated_outside(node))
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # Only a walrus in a comprehension binds outside it (PEP 572).
            names.update(
                n.target.id
                for n in ast.walk(node)
                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)
            )
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(_alias_name(a) for a in node.names if a.name != "*")
            continue
        if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _evaluated_outside(node: ast.AST, decorators: bool = True) -> list[ast.AST]:
    """The parts of a scope-making node that run in the enclosing scope: decorators, defaults
    and annotations of a def, bases of a class, the first iterable of a comprehension."""
    parts: list[ast.AST | None] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        parts += [*args.defaults, *args.kw_defaults]
        if not isinstance(node, ast.Lambda):
            every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
            parts += [a.annotation for a in every if a is not None]
            parts.append(node.returns)
            parts += node.decorator_list if decorators else []
    elif isinstance(node, ast.ClassDef):
        parts += [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        parts.append(node.generators[0].iter)
    return [p for p in parts if p is not None]


def _approximate_reads(node: ast.AST) -> set[tuple[str, str]]:
    """Names read and not bound anywhere in `node`: for a scope CPython's table was not
    found for (not expected; reads too much rather than too little)."""
    read, bound = set(), set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            (bound if isinstance(n.ctx, ast.Store) else read).add(n.id)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
    return {(name, _SCOPE) for name in read - bound}


def _sub_bodies(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list):
            yield value
    for part in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
        yield part.body


def _contains(stmt: ast.stmt, target: ast.stmt) -> bool:
    return _position(stmt) <= _position(target) and (
        target.end_lineno or 0,
        target.end_col_offset or 0,
    ) <= (stmt.end_lineno or 0, stmt.end_col_offset or 0)


def _position(stmt: ast.stmt) -> tuple[int, int]:
    return stmt.lineno, stmt.col_offset


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None)
    return min([stmt.lineno, *(d.lineno for d in decorators or ())])


def _alias_name(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _imports_airflow(stmt: ast.Import | ast.ImportFrom, name: str) -> bool:
    if isinstance(stmt, ast.ImportFrom):
        return not stmt.level and (stmt.module or "").split(".")[0] == "airflow"
    return any(_alias_name(a) == name and a.name.split(".")[0] == "airflow" for a in stmt.names)


def _runs_airflow_import(stmt: ast.stmt, name: str) -> bool:
    """Whether a block statement binds `name` by an import from Airflow that runs (one under
    `if TYPE_CHECKING:` does not)."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return name in {_alias_name(a) for a in stmt.names} and _imports_airflow(stmt, name)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    bodies = list(_sub_bodies(stmt))
    if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
        bodies = bodies[1:]  # only the else branch runs
    return any(_runs_airflow_import(s, name) for body in bodies for s in body)


def _pruned(stmt: ast.Import | ast.ImportFrom, names: set[str]) -> str:
    """The import with only the aliases the callable uses (re-rendered: comments inside a
    parenthesised import go)."""
    aliases = [a for a in stmt.names if _alias_name(a) in names]
    if isinstance(stmt, ast.ImportFrom):
        return ast.unparse(ast.ImportFrom(module=stmt.module, names=aliases, level=stmt.level))
    return ast.unparse(ast.Import(names=aliases))


def _string_interiors(stmt: ast.stmt) -> set[int]:
    """Lines that start inside a multi-line string literal: their text is the string's."""
    lines: set[int] = set()
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and (node.end_lineno or 0) > node.lineno:
            lines.update(range(node.lineno + 1, (node.end_lineno or 0) + 1))
    return lines


def _chars(line: str, byte_offset: int) -> int:
    """ast columns count UTF-8 bytes; this is the same position in characters."""
    if line.isascii():
        return byte_offset
    return len(line.encode()[:byte_offset].decode(errors="replace"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _dedent(line: str, col: int) -> str:
    return line[min(col, _indent(line)) :]


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


__all__ = ["Extracted", "ExtractError", "extract_callable"]
