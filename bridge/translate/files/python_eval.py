"""A small abstract interpreter over a callable's `ast`: values of path expressions, file accesses.

Nothing is executed. Statements are walked once, in order; both branches of an `if` are taken and
their values merged (`Alt`); a loop body is walked once with its target bound to what iterating
yields. Calls to functions of the same file are followed with their arguments, a few levels deep.
Every call that touches a file reports to the `Recorder` with the DAG-file line of the call.
"""

from __future__ import annotations

import ast
import builtins
import shlex
import string
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Literal

from bridge.translate.files import values as v
from bridge.translate.files.bash_paths import bash_files
from bridge.translate.files.folders import Target, locate
from bridge.translate.files.model import Access, Folder, Unresolved
from bridge.translate.files.module_index import ModuleIndex
from bridge.translate.files.python_calls import (
    CONTEXT_NAMES,
    FUNCTIONS,
    OPEN_FUNCTIONS,
    PANDAS_READ,
    PANDAS_WRITE,
    PATH_METHODS,
    PURE_FUNCTIONS,
    PURE_METHODS,
    PURE_MODULES,
    READERS,
    WRITERS,
    Arg,
    FileOp,
)

Use = Literal["read", "write", "both"]
MAX_DEPTH = 4  # helper calls followed below the task's callable
MAX_STEPS = 20_000  # expressions evaluated per task: a hostile file cannot make this slow
_BUILTINS = frozenset(dir(builtins))
_PATH_TYPES = frozenset(
    {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"}
)
_TEMP = frozenset(
    {
        "tempfile.mkdtemp",
        "tempfile.mkstemp",
        "tempfile.TemporaryDirectory",
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryFile",
        "tempfile.SpooledTemporaryFile",
    }
)

# Methods only a path has: on a run-time value they still touch a file, somewhere unknown.
_SURELY_PATH_METHODS = frozenset(
    "read_text read_bytes write_text write_bytes mkdir iterdir touch unlink rmdir rglob".split()
)

_SHELLS = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
    }
)


class TooBig(Exception):
    """The step budget ran out."""


@dataclass
class Recorder:
    """Collects what one task's code does to files."""

    index: ModuleIndex
    accesses: list[Access] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    steps: int = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooBig

    def use(self, value: v.Value, use: Use, target: Target, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        for option in v.options(value):
            if isinstance(option, v.Listing):
                self.use(option.item, use, target, node)
            elif isinstance(option, v.DagFile):
                self._access(Folder(kind="dag", key=""), use, "{dag_file}", line)
            elif isinstance(option, v.Unknown):
                self._unresolved(node, line, option.why)
            elif isinstance(option, v.Text):
                where = locate(option, target)
                if isinstance(where, Folder):
                    self._access(where, use, option.render(), line)
                elif isinstance(where, str):
                    self._unresolved(node, line, where)

    def _access(self, folder: Folder, use: Use, path: str, line: int) -> None:
        for mode in ("read", "write") if use == "both" else (use,):
            access = Access(folder=folder, mode=mode, path=path, line=line)  # type: ignore[arg-type]
            if access not in self.accesses:
                self.accesses.append(access)

    def _unresolved(self, node: ast.AST, line: int, why: str) -> None:
        expression = self.index.segment(node) or "?"
        item = Unresolved(expression=expression, line=line, why=why)
        if item not in self.unresolved:
            self.unresolved.append(item)


def from_python(value: object) -> v.Value:
    """A statically known argument (op_kwargs literal) as a value."""
    if isinstance(value, str):
        return v.text(value)
    if value is None or isinstance(value, (bool, int, float, bytes)):
        return v.Known(value)
    if isinstance(value, (list, tuple)):
        return v.Seq(tuple(from_python(x) for x in value))
    if isinstance(value, dict):
        return v.Mapping(tuple((k, from_python(x)) for k, x in value.items()))
    return v.Unknown(type(value).__name__, "a value known only at run time")


def _truthy(value: v.Value) -> bool | None:
    """Whether a value is surely true (True), surely false (False) or not known (None)."""
    if isinstance(value, v.Known):
        return bool(value.value)
    if isinstance(value, v.Text) and value.root is None:
        return None if value.static is None and not value.parts else bool(value.parts)
    if isinstance(value, (v.Seq, v.Mapping)):
        return bool(value.items)
    if isinstance(value, (v.DagFile, v.Module, v.Func, v.Handle, v.Scratch)):
        return True
    return None


class Evaluator:
    """Evaluates one function body (or the module's top level) against an environment."""

    def __init__(
        self,
        index: ModuleIndex,
        recorder: Recorder | None,
        env: dict[str, v.Value],
        *,
        depth: int = 0,
        stack: tuple[int, ...] = (),
    ) -> None:
        self.index = index
        self.recorder = recorder
        self.env = env
        self.depth = depth
        self.stack = stack
        self.returns: list[v.Value] = []

    # --- statements ----------------------------------------------------------------------

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.bind(target, value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.bind(node.target, self.expr(node.value))
        elif isinstance(node, ast.AugAssign):
            value = self.binop(node.op, self.expr(node.target), self.expr(node.value), node)
            self.bind(node.target, value)
        elif isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.Return):
            self.returns.append(self.expr(node.value) if node.value else v.Known(None))
        elif isinstance(node, (ast.If, ast.While)):
            self.expr(node.test)
            self.branches(node.body, node.orelse)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            item = self.iterate(self.expr(node.iter), node.iter)
            self.branches(node.body, node.orelse, bind=(node.target, item))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                value = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, value)
            self.block(node.body)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.block(node.body)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                self.branches(handler.body, [])
            self.block(node.orelse)  # type: ignore[attr-defined]
            self.block(node.finalbody)  # type: ignore[attr-defined]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.env[node.name] = v.Func(node.name, id(node))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.env.update(imported_names(node))
        elif isinstance(node, ast.Match):
            self.expr(node.subject)
            for case in node.cases:
                self.branches(case.body, [])
        elif isinstance(node, ast.ClassDef):
            self.env[node.name] = v.Unknown(node.name, f"`{node.name}` is a class")

    def branches(self, body, orelse, *, bind: tuple[ast.expr, v.Value] | None = None) -> None:
        """Walk both arms from the same state and merge what each assigned."""
        before = dict(self.env)
        if bind is not None:
            self.bind(*bind)
        self.block(body)
        after_body, self.env = self.env, dict(before)
        self.block(orelse)
        after_else = self.env
        merged = {}
        for name in after_body.keys() | after_else.keys():
            a, b = after_body.get(name), after_else.get(name)
            if a is None or b is None:
                merged[name] = a if b is None else b  # type: ignore[assignment]
            else:
                merged[name] = a if a == b else v.alternatives(a, b)
        self.env = merged

    def bind(self, target: ast.expr, value: v.Value) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if isinstance(value, v.Seq) else None
            for i, element in enumerate(target.elts):
                if items is not None and len(items) == len(target.elts):
                    self.bind(element, items[i])
                else:
                    self.bind(element, self._derived(value, element))
        elif isinstance(target, ast.Starred):
            self.bind(target.value, self._derived(value, target))

    # --- expressions ---------------------------------------------------------------------

    def expr(self, node: ast.expr) -> v.Value:
        if self.recorder is not None:
            self.recorder.tick()
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
            return self._unknown(node)
        return method(node)

    def _Constant(self, node: ast.Constant) -> v.Value:
        return v.text(node.value) if isinstance(node.value, str) else v.Known(node.value)

    def _Name(self, node: ast.Name) -> v.Value:
        return self.lookup(node.id, node)

    def lookup(self, name: str, node: ast.AST) -> v.Value:
        if name in self.env:
            return self.env[name]
        if name in self.index.globals:
            return self.index.globals[name]
        if name == "__file__":
            return v.DagFile()
        if name in _BUILTINS:
            return v.Module("builtins." + name)
        return v.Unknown(name, f"`{name}` is not a constant of the DAG file")

    def _JoinedStr(self, node: ast.JoinedStr) -> v.Value:
        pieces: list[tuple[v.Value, str]] = []
        for piece in node.values:
            if isinstance(piece, ast.FormattedValue):
                source = self.index.segment(piece.value) or "?"
                pieces.append((self.expr(piece.value), source))
            else:
                pieces.append((self.expr(piece), ""))
        return self.assemble(pieces)

    def assemble(self, pieces: list[tuple[v.Value, str]]) -> v.Value:
        """Glue pieces into one text; the first piece keeps its root and anchor."""
        combos = list(product(*(v.options(p) for p, _ in pieces)))[: v.MAX_OPTIONS + 1]
        results = []
        for combo in combos:
            result: v.Value = v.Text()
            for i, (value, (_, source)) in enumerate(zip(combo, pieces, strict=True)):
                if isinstance(value, v.Scratch):
                    result = value
                    break
                part = self._as_text(value, source, first=i == 0)
                result = v.concat(result, part) if isinstance(result, v.Text) else result
            results.append(result)
        return v.alternatives(*results)

    def _as_text(self, value: v.Value, source: str, *, first: bool) -> v.Text:
        if isinstance(value, v.Text) and (first or value.root is None):
            return value if first else v.Text(parts=value.parts)
        if isinstance(value, v.Known) and isinstance(value.value, (int, float, str)):
            return v.text(str(value.value))
        return v.Text(parts=(v.hole_of(value, source),))

    def _BinOp(self, node: ast.BinOp) -> v.Value:
        return self.binop(node.op, self.expr(node.left), self.expr(node.right), node)

    def binop(self, op: ast.operator, left: v.Value, right: v.Value, node: ast.AST) -> v.Value:
        results = []
        for a, b in list(product(v.options(left), v.options(right)))[: v.MAX_OPTIONS + 1]:
            results.append(self._binop(op, a, b, node))
        return v.alternatives(*results)

    def _binop(self, op: ast.operator, a: v.Value, b: v.Value, node: ast.AST) -> v.Value:
        if isinstance(a, v.Scratch) or isinstance(b, v.Scratch):
            return v.Scratch()
        if isinstance(op, ast.Div) and isinstance(a, v.Text):
            right = b if isinstance(b, v.Text) else v.Text(parts=(v.hole_of(b, self._src(node)),))
            return v.join(a, right)
        if isinstance(op, ast.Add):
            if isinstance(a, v.Text):
                return self.assemble([(a, ""), (b, self._src(node))])
            if isinstance(a, v.Seq) and isinstance(b, v.Seq):
                return v.Seq(a.items + b.items)
        if isinstance(op, ast.Mod) and isinstance(a, v.Text) and a.static is not None:
            args = b.items if isinstance(b, v.Seq) else (b,)
            return self.printf(a.static, args, node)
        return self._derived(a if isinstance(a, v.Unknown) else b, node)

    def printf(self, template: str, args: tuple[v.Value, ...], node: ast.AST) -> v.Value:
        """`"%s/out.txt" % folder`: each `%s`-like field takes the next argument."""
        chunks = template.replace("%%", "\0").split("%")
        pieces: list[tuple[v.Value, str]] = [(v.text(chunks[0].replace("\0", "%")), "")]
        for i, chunk in enumerate(chunks[1:]):
            j = next((k for k, c in enumerate(chunk) if c.isalpha()), None)
            if j is None or i >= len(args) or chunk[:1] == "(":
                return self._unknown(node)
            pieces.append((args[i], self._src(node)))
            pieces.append((v.text(chunk[j + 1 :].replace("\0", "%")), ""))
        return self.assemble(pieces)

    def _BoolOp(self, node: ast.BoolOp) -> v.Value:
        values = [self.expr(x) for x in node.values]
        if isinstance(node.op, ast.And):
            return values[-1] if all(_truthy(x) for x in values[:-1]) else v.alternatives(*values)
        seen: list[v.Value] = []
        for value in values:
            truth = _truthy(value)
            if truth is False:
                continue
            if truth is True and len(seen) == 1 and _bare_env(seen[0]) and _absolute(value):
                return _with_default(seen[0], value)  # os.environ.get("X") or "/tmp/x"
            seen.append(value)
            if truth is True:
                break
        return v.alternatives(*seen) if seen else values[-1]

    def _IfExp(self, node: ast.IfExp) -> v.Value:
        self.expr(node.test)
        return v.alternatives(self.expr(node.body), self.expr(node.orelse))

    def _Attribute(self, node: ast.Attribute) -> v.Value:
        base = self.expr(node.value)
        results = [self.attribute(option, node.attr, node) for option in v.options(base)]
        return v.alternatives(*results)

    def attribute(self, base: v.Value, attr: str, node: ast.AST) -> v.Value:
        if isinstance(base, v.Module):
            return v.Module(f"{base.name}.{attr}")
        if isinstance(base, v.DagFile):
            if attr == "parent":
                return v.Text(root=Folder(kind="dag", key=""))
            return self._unknown(node)
        if isinstance(base, v.Text):
            if attr == "parent":
                return v.parent(base)
            if attr in ("name", "stem", "suffix"):
                whole = base.static
                last = whole.rstrip("/").rsplit("/", 1)[-1] if whole is not None else None
                if last is not None and attr == "name":
                    return v.text(last)
                return v.Unknown(self._src(node), "a part of a run-time path")
        if isinstance(base, v.Scratch):
            return base
        return self._derived(base, node)

    def _Subscript(self, node: ast.Subscript) -> v.Value:
        base = self.expr(node.value)
        key = self.expr(node.slice)
        results = []
        for option in v.options(base):
            if isinstance(option, v.Module) and option.name == "os.environ":
                results.append(self.environment(key, None, node))
            elif isinstance(option, v.Mapping) and _constant(key) is not None:
                results.append(option.get(_constant(key)) or self._unknown(node))
            elif isinstance(option, v.Seq) and isinstance(_constant(key), int):
                index = _constant(key)
                ok = -len(option.items) <= index < len(option.items)  # type: ignore[operator]
                results.append(option.items[index] if ok else self._unknown(node))  # type: ignore[index]
            elif isinstance(option, v.Listing):
                results.append(option.item)
            else:
                results.append(self._derived(option, node))
        return v.alternatives(*results)

    def _List(self, node: ast.List | ast.Tuple) -> v.Value:
        return v.Seq(tuple(self.expr(e) for e in node.elts))

    _Tuple = _List

    def _Dict(self, node: ast.Dict) -> v.Value:
        items = []
        for k, value in zip(node.keys, node.values, strict=True):
            key = _constant(self.expr(k)) if k is not None else None
            val = self.expr(value)
            if key is not None:
                items.append((key, val))
        return v.Mapping(tuple(items))

    def _ListComp(self, node) -> v.Value:
        inner = Evaluator(
            self.index, self.recorder, dict(self.env), depth=self.depth, stack=self.stack
        )
        for gen in node.generators:
            inner.bind(gen.target, inner.iterate(inner.expr(gen.iter), gen.iter))
            for test in gen.ifs:
                inner.expr(test)
        element = inner.expr(node.elt) if hasattr(node, "elt") else inner.expr(node.value)
        return v.Listing(element)

    _SetComp = _GeneratorExp = _DictComp = _ListComp

    def _Lambda(self, node: ast.Lambda) -> v.Value:
        return v.Unknown("lambda", "a lambda")

    def _NamedExpr(self, node: ast.NamedExpr) -> v.Value:
        value = self.expr(node.value)
        self.bind(node.target, value)
        return value

    def _Call(self, node: ast.Call) -> v.Value:
        args = [self.expr(a.value if isinstance(a, ast.Starred) else a) for a in node.args]
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords if k.arg is not None}
        for k in node.keywords:
            if k.arg is None:
                self.expr(k.value)
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.expr(func.value)
            results = [
                self.method(option, func.attr, args, kwargs, node) for option in v.options(receiver)
            ]
            return v.alternatives(*results)
        callee = self.expr(func)
        results = [self.call(option, args, kwargs, node) for option in v.options(callee)]
        return v.alternatives(*results)

    # --- calls ---------------------------------------------------------------------------

    def call(self, callee: v.Value, args, kwargs, node: ast.Call) -> v.Value:
        if isinstance(callee, v.Func):
            return self.follow(callee, args, kwargs, node)
        if not isinstance(callee, v.Module):
            self._unclassified(args, kwargs, node)
            return self._derived(callee, node)
        return self.function(callee.name, args, kwargs, node)

    def function(self, name: str, args, kwargs, node: ast.Call) -> v.Value:
        short = name.removeprefix("builtins.")
        if name in OPEN_FUNCTIONS:
            path = Arg(0, ("file", "filename"))
            mode = _arg(args, kwargs, Arg(1, ("mode",)))
            return self.open(_arg(args, kwargs, path), mode, node, _arg_node(node, path))
        if name in _PATH_TYPES or name in ("os.path.join", "posixpath.join"):
            return self.joined(args, node)
        if name in (
            "os.path.abspath",
            "os.path.realpath",
            "os.path.normpath",
            "os.fspath",
            "builtins.str",
        ):
            return args[0] if args else self._unknown(node)
        if name == "os.path.dirname":
            return self._map(args[:1], node, self._parent)
        if name in ("os.environ.get", "os.getenv"):
            return self.environment(
                _arg(args, kwargs, Arg(0, ("key",))), _arg(args, kwargs, Arg(1, ("default",))), node
            )
        if name == "tempfile.gettempdir":
            return v.text("/tmp")
        if name in _TEMP:
            return v.Scratch()
        if name in ("os.getcwd", "pathlib.Path.cwd", "pathlib.Path.home", "os.path.expanduser"):
            return v.Unknown(self._src(node), "the worker's working or home directory")
        if name in FUNCTIONS:
            return self.file_op(FUNCTIONS[name], None, args, kwargs, node)
        if name in _SHELLS and args:
            return self.shell(args[0], node)
        if name.startswith("pandas.read_") and name.rsplit(".", 1)[-1] in READERS:
            return self.file_op(PANDAS_READ, None, args, kwargs, node)
        if name.endswith("Variable.get"):
            return v.Unknown(self._src(node), "an Airflow Variable, read at run time")
        if short in ("sorted", "list", "tuple", "set", "reversed") and args:
            return (
                args[0] if isinstance(args[0], (v.Listing, v.Seq)) else self._derived(args[0], node)
            )
        if short in ("enumerate", "zip") and args:
            items = [v.Unknown("i", "a loop index")] if short == "enumerate" else []
            items += [self.iterate(a, node) for a in args]
            return v.Listing(v.Seq(tuple(items)))
        if short in PURE_FUNCTIONS or name.startswith(PURE_MODULES):
            return self._unknown(node)
        self._unclassified(args, kwargs, node)
        return self._unknown(node)

    def method(self, receiver: v.Value, name: str, args, kwargs, node: ast.Call) -> v.Value:
        if isinstance(receiver, v.Module):
            return self.call(v.Module(f"{receiver.name}.{name}"), args, kwargs, node)
        if isinstance(receiver, (v.Scratch, v.Handle)):
            return receiver if name != "open" else v.Handle()
        if name == "xcom_pull":
            return v.Unknown(self._src(node), f"the path comes from XCom (`{self._src(node)}`)")
        if isinstance(receiver, v.DagFile) and name in ("resolve", "absolute"):
            return receiver
        if isinstance(receiver, v.Text):
            return self.text_method(receiver, name, args, kwargs, node)
        if isinstance(receiver, v.Mapping) and name == "get" and args:
            found = receiver.get(_constant(args[0]))
            default = args[1] if len(args) > 1 else v.Known(None)
            return found if found is not None else default
        if isinstance(receiver, v.Mapping) and name == "items":
            return v.Listing(
                v.alternatives(*(v.Seq((from_python(k), x)) for k, x in receiver.items))
                if receiver.items
                else v.Known(None)
            )
        if isinstance(receiver, v.Unknown) and name in _SURELY_PATH_METHODS:
            return self.file_op(PATH_METHODS[name], receiver, args, kwargs, node)
        if name in READERS:
            return self.file_op(PANDAS_READ, None, args, kwargs, node)
        if name in WRITERS:
            return self.file_op(PANDAS_WRITE, None, args, kwargs, node)
        if name not in PURE_METHODS:
            self._unclassified(args, kwargs, node)
        return self._derived(receiver, node)

    def text_method(self, receiver: v.Text, name: str, args, kwargs, node: ast.Call) -> v.Value:
        if name == "open":
            mode = _arg(args, kwargs, Arg(0, ("mode",)))
            return self.open(receiver, mode, node, _arg_node(node, Arg(-1)))
        if name in PATH_METHODS:
            return self.file_op(PATH_METHODS[name], receiver, args, kwargs, node)
        if name in ("resolve", "absolute", "as_posix", "__fspath__"):
            return receiver
        if name == "joinpath":
            return self.joined([receiver, *args], node)
        if name in ("with_name", "with_suffix", "with_stem"):
            up = v.parent(receiver)
            return (
                v.join(up, v.Text(parts=(v.Hole(self._src(node), "a renamed path"),)))
                if isinstance(up, v.Text)
                else up
            )
        if name == "format" and receiver.static is not None and receiver.root is None:
            return self.format(receiver.static, args, kwargs, node)
        whole = receiver.static
        if (
            whole is not None
            and receiver.root is None
            and name in ("strip", "rstrip", "lstrip", "replace", "lower", "upper")
        ):
            literal = [_constant(a) for a in args]
            if all(isinstance(x, str) for x in literal):
                return v.text(str(getattr(whole, name)(*literal)))
        if name in READERS or name in WRITERS:
            return self.method(v.Unknown("?", "?"), name, args, kwargs, node)
        return v.Unknown(self._src(node), "a path transformed at run time")

    def format(self, template: str, args, kwargs, node: ast.Call) -> v.Value:
        """`"{}/raw_{}.csv".format(WORK_DIR, ds)` over the template's fields."""
        try:
            fields = list(string.Formatter().parse(template))
        except ValueError:
            return self._unknown(node)
        pieces: list[tuple[v.Value, str]] = []
        auto = 0
        for literal, name, _spec, _conv in fields:
            pieces.append((v.text(literal), ""))
            if name is None:
                continue
            if name == "":
                value = args[auto] if auto < len(args) else None
                auto += 1
            elif name.isdigit():
                value = args[int(name)] if int(name) < len(args) else None
            else:
                value = kwargs.get(name)
            pieces.append(
                (value if value is not None else v.Unknown(name, "a run-time field"), name)
            )
        return self.assemble(pieces)

    def open(self, path, mode: v.Value | None, node: ast.Call, where: ast.AST) -> v.Value:
        if path is None:
            return v.Handle()
        text = mode.static if isinstance(mode, v.Text) and mode.root is None else None
        if mode is None:
            use: Use = "read"
        elif text is None:
            use = "both"
        elif "+" in text and "r" in text:
            use = "both"
        elif any(c in text for c in "wax+"):
            use = "write"
        else:
            use = "read"
        self._use(path, use, "file", where)
        return v.Handle()

    def file_op(
        self, op: FileOp, receiver: v.Value | None, args, kwargs, node: ast.Call
    ) -> v.Value:
        def pick(arg: Arg) -> v.Value | None:
            return receiver if arg.pos == -1 else _arg(args, kwargs, arg)

        for args_of, use in ((op.reads, "read"), (op.writes, "write"), (op.both, "both")):
            for arg in args_of:
                self._use(pick(arg), use, op.target, _arg_node(node, arg))  # type: ignore[arg-type]
        subject = pick(op.reads[0]) if op.reads else None
        if op.returns == "handle":
            return v.Handle()
        if op.returns in ("listing", "names", "walk") and subject is not None:
            return self.listing(subject, op.returns, node)
        if op.returns == "none":
            return v.Known(None)
        return self._unknown(node)

    def listing(self, folder: v.Value, kind: str, node: ast.AST) -> v.Value:
        """What listing `folder` yields: names, paths under it, or `os.walk` triples."""
        name = v.Text(parts=(v.Hole(self._src(node), "a name listed at run time"),))
        if kind == "names":
            return v.Listing(name)
        results = []
        for option in v.options(folder):
            if not isinstance(option, v.Text):
                results.append(self._derived(option, node))
                continue
            base = option
            if option.static is not None and any(c in option.static for c in "*?["):
                base = _glob_folder(option)
            under = v.join(base, name) if isinstance(base, v.Text) else base
            results.append(under)
        item = v.alternatives(*results) if results else self._unknown(node)
        if kind == "walk":
            return v.Listing(v.Seq((item, v.Listing(name), v.Listing(name))))
        return v.Listing(item)

    def joined(self, args: list[v.Value], node: ast.AST) -> v.Value:
        if not args:
            return v.text(".")
        results = []
        for combo in list(product(*(v.options(a) for a in args)))[: v.MAX_OPTIONS + 1]:
            result: v.Value = combo[0]
            if isinstance(result, v.DagFile) and len(combo) == 1:
                results.append(result)
                continue
            if not isinstance(result, v.Text):
                result = (
                    v.Scratch() if isinstance(result, v.Scratch) else self._derived(result, node)
                )
            for part in combo[1:]:
                if not isinstance(result, v.Text):
                    break
                right = (
                    part
                    if isinstance(part, v.Text)
                    else v.Text(parts=(v.hole_of(part, self._src(node)),))
                )
                if isinstance(part, v.Scratch):
                    result = part
                    break
                result = v.join(result, right)
            results.append(result)
        return v.alternatives(*results)

    def shell(self, command: v.Value, node: ast.Call) -> v.Value:
        """`os.system(cmd)` / `subprocess.run(...)`: the command is analysed as bash."""
        for option in v.options(command):
            words = option.items if isinstance(option, v.Seq) else (option,)
            if not all(isinstance(w, v.Text) for w in words):
                self._unclassified([option], {}, node)
                continue
            text = " ".join(
                shlex.quote(w.render()) if len(words) > 1 else w.render() for w in words
            )  # type: ignore[union-attr]
            if self.recorder is not None:
                found = bash_files(text, node.lineno)
                self.recorder.accesses.extend(
                    a for a in found.accesses if a not in self.recorder.accesses
                )
                self.recorder.unresolved.extend(
                    u for u in found.unresolved if u not in self.recorder.unresolved
                )
        return self._unknown(node)

    def environment(self, key: v.Value | None, default: v.Value | None, node: ast.AST) -> v.Value:
        """`os.environ["X"]`, `os.environ.get("X", d)`, `os.getenv`: the folder variable X names."""
        name = _constant(key) if key is not None else None
        if not isinstance(name, str):
            return v.Unknown(self._src(node), "an environment variable chosen at run time")
        fallback = default.static if isinstance(default, v.Text) and default.root is None else None
        folder = Folder(
            kind="env",
            key=name,
            default=fallback if fallback and fallback.startswith("/") else None,
        )
        return v.Text(root=folder, anchor=folder)

    def follow(self, func: v.Func, args, kwargs, node: ast.Call) -> v.Value:
        """Call a function of the DAG file: walk its body with the arguments bound."""
        target = self.index.functions.get(func.node_id)
        if target is None or self.depth >= MAX_DEPTH or func.node_id in self.stack:
            self._unclassified(args, kwargs, node)
            return v.Unknown(self._src(node), f"`{func.name}` is too deep or recursive to follow")
        env = bind_arguments(self, target, args, kwargs)
        inner = Evaluator(
            self.index, self.recorder, env, depth=self.depth + 1, stack=(*self.stack, func.node_id)
        )
        inner.block(target.body)
        result = v.alternatives(*inner.returns) if inner.returns else v.Known(None)
        return v.alternatives(*(_anchor_named(o) for o in v.options(result)))

    # --- helpers -------------------------------------------------------------------------

    def iterate(self, value: v.Value, node: ast.AST) -> v.Value:
        results = []
        for option in v.options(value):
            if isinstance(option, v.Seq):
                results.extend(option.items or (v.Known(None),))
            elif isinstance(option, v.Listing):
                results.append(option.item)
            elif isinstance(option, v.Mapping):
                results.extend(from_python(k) for k, _ in option.items)
            elif isinstance(option, v.Unknown):
                results.append(
                    v.Unknown(self._src(node), f"a loop over a run-time value: {option.why}")
                )
            else:
                results.append(v.Unknown(self._src(node), "an item of a run-time value"))
        return v.alternatives(*results) if results else v.Known(None)

    def _use(self, value: v.Value | None, use: Use, target: Target, where: ast.AST) -> None:
        if value is not None and self.recorder is not None:
            self.recorder.use(value, use, target, where)

    def _unclassified(self, args, kwargs, node: ast.Call) -> None:
        """A path handed to a call we cannot classify may be read or written: both."""
        wheres = [*node.args, *(k.value for k in node.keywords if k.arg is not None)]
        for value, where in zip([*args, *kwargs.values()], wheres, strict=False):
            for option in v.options(value):
                items = option.items if isinstance(option, v.Seq) else (option,)
                for item in items:
                    if v.path_like(item):
                        self._use(item, "both", "any", where)

    def _parent(self, value: v.Value, node: ast.AST) -> v.Value:
        if isinstance(value, v.DagFile):
            return v.Text(root=Folder(kind="dag", key=""))
        if isinstance(value, v.Text):
            return v.parent(value)
        return self._derived(value, node)

    def _map(self, args, node, fn) -> v.Value:
        if not args:
            return self._unknown(node)
        return v.alternatives(*(fn(o, node) for o in v.options(args[0])))

    def _src(self, node: ast.AST) -> str:
        text = self.index.segment(node) or "?"
        return text if len(text) <= 120 else text[:117] + "..."

    def _unknown(self, node: ast.AST) -> v.Unknown:
        return v.Unknown(self._src(node), f"`{self._src(node)}` is computed at run time")

    def _derived(self, base: v.Value, node: ast.AST) -> v.Value:
        """A value computed from `base`: a run-time origin (XCom, params) keeps its reason."""
        if isinstance(base, v.Scratch):
            return base
        if isinstance(base, v.Unknown):
            return v.Unknown(self._src(node), base.why)
        return self._unknown(node)


def _arg_node(node: ast.Call, arg: Arg) -> ast.AST:
    """The source of one argument (the receiver for pos -1), for messages and lines."""
    if arg.pos == -1 and isinstance(node.func, ast.Attribute):
        return node.func.value
    if 0 <= arg.pos < len(node.args):
        return node.args[arg.pos]
    return next((k.value for k in node.keywords if k.arg in arg.names), node)


def _arg(args: list, kwargs: dict, arg: Arg) -> v.Value | None:
    if 0 <= arg.pos < len(args):
        return args[arg.pos]
    return next((kwargs[n] for n in arg.names if n in kwargs), None)


def _constant(value: v.Value | None) -> object:
    if isinstance(value, v.Text) and value.root is None:
        return value.static
    if isinstance(value, v.Known):
        return value.value
    return None


def _bare_env(value: v.Value) -> bool:
    return (
        isinstance(value, v.Text)
        and value.root is not None
        and value.root.kind == "env"
        and not value.parts
        and value.root.default is None
    )


def _absolute(value: v.Value) -> bool:
    return isinstance(value, v.Text) and value.root is None and (value.static or "").startswith("/")


def _with_default(env: v.Value, default: v.Value) -> v.Value:
    assert isinstance(env, v.Text) and env.root is not None and isinstance(default, v.Text)
    folder = replace(env.root, default=default.static)
    return v.Text(root=folder, anchor=folder)


def _glob_folder(pattern: v.Text) -> v.Value:
    whole = pattern.static or ""
    cut = min((whole.find(c) for c in "*?[" if c in whole), default=len(whole))
    head = whole[: whole.rfind("/", 0, cut) + 1] if "/" in whole[:cut] else ""
    return replace(pattern, parts=(head,) if head else (), extended=pattern.extended or bool(head))


def _anchor_named(value: v.Value) -> v.Value:
    """A constant's or helper's text names a folder: what is built on it shares that folder."""
    if isinstance(value, v.Text) and value.static is not None:
        named = value.root is not None or (value.static or "").startswith("/")
        where = locate(value, "any") if named else None
        if isinstance(where, Folder):
            return v.anchored(value, where)
    return value


def anchor_named(value: v.Value) -> v.Value:
    return v.alternatives(*(_anchor_named(o) for o in v.options(value)))


def imported_names(node: ast.Import | ast.ImportFrom) -> dict[str, v.Value]:
    names: dict[str, v.Value] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                names[alias.asname] = v.Module(alias.name)
            else:
                top = alias.name.split(".")[0]
                names[top] = v.Module(top)
    elif node.module and not node.level:
        for alias in node.names:
            names[alias.asname or alias.name] = v.Module(f"{node.module}.{alias.name}")
    return names


def bind_arguments(
    caller: Evaluator | None, target: ast.FunctionDef | ast.AsyncFunctionDef, args, kwargs
) -> dict[str, v.Value]:
    """The callee's parameters bound to the call's values, defaults, or run-time unknowns."""
    env: dict[str, v.Value] = {}
    a = target.args
    positional = [*a.posonlyargs, *a.args]
    defaults = dict(
        zip(
            [p.arg for p in positional][len(positional) - len(a.defaults) :],
            a.defaults,
            strict=False,
        )
    )
    defaults.update(
        {p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=False) if d is not None}
    )
    for i, param in enumerate([*positional, *a.kwonlyargs]):
        name = param.arg
        if i < len(positional) and i < len(args):
            env[name] = args[i]
        elif name in kwargs:
            env[name] = kwargs[name]
        else:
            env[name] = unbound(name, target.name, defaults.get(name), caller)
    if a.vararg:
        env[a.vararg.arg] = v.Unknown(a.vararg.arg, f"`*{a.vararg.arg}` holds run-time arguments")
    if a.kwarg:
        env[a.kwarg.arg] = v.Unknown(a.kwarg.arg, "the Airflow context, known only at run time")
    return env


def unbound(
    name: str, function: str, default: ast.expr | None, caller: Evaluator | None
) -> v.Value:
    """A parameter no caller gave: Airflow's context, DAG params, the default, or unknown."""
    if name == "params":
        return v.Unknown(name, "DAG params, known only at run time")
    if name in CONTEXT_NAMES:
        return v.Unknown(name, f"`{name}` is an Airflow context value, known only at run time")
    if default is not None and caller is not None:
        value = Evaluator(caller.index, None, {}).expr(default)  # defaults live in module scope
        if not (isinstance(value, v.Known) and value.value is None):
            return value
    return v.Unknown(name, f"`{name}` is an argument of `{function}` that is not a literal")


def evaluate_globals(index: ModuleIndex) -> None:
    """Fill `index.globals`: module statements, including inside `with DAG(...)`, `if`, `try`."""
    if index.tree is None:
        return
    top = Evaluator(index, None, index.globals)
    try:
        _module_level(top, index.tree.body)
    except RecursionError:
        pass


def _module_level(top: Evaluator, body: list[ast.stmt]) -> None:
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top.env[stmt.name] = v.Func(stmt.name, id(stmt))
        elif isinstance(stmt, (ast.With, ast.If, ast.Try)):
            if isinstance(stmt, ast.If):
                top.expr(stmt.test)
            _module_level(top, stmt.body)
            _module_level(top, getattr(stmt, "orelse", []))
        else:
            top.statement(stmt)
            targets = (
                stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
            )
            for t in targets:  # a module-level folder is what tasks share: anchor it at its name
                if isinstance(t, ast.Name) and t.id in top.env:
                    top.env[t.id] = anchor_named(top.env[t.id])
