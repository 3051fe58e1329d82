"""DAG file -> FileResult: read, check with CPython, parse with libcst, interpret, convert.

Every step is bounded so that no file can crash, hang or exhaust the run (see also
`bridge.parse.worker`, which adds a per-file time and memory budget in a child process):

- only regular files are opened (FIFOs, devices and sockets are skipped without opening them),
  and at most `MAX_FILE_BYTES` are read; PEP 263 coding declarations are honoured;
- CPython's own parser checks the file first: its syntax errors (including "too many nested
  parentheses") become BRG100 before libcst sees the file, and nesting deeper than libcst handles
  in reasonable time is refused with BRG121;
- long left-associative operator chains (`t1 >> t2 >> ... >> t3000`, `1 + 1 + ...`) are handed to
  libcst flattened, because libcst's time grows much faster than linearly with nesting depth; the
  interpreter evaluates them link by link, and the original text is restored wherever source text
  is reported.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import io
import os
import re
import stat
import sys
import threading
import tokenize
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from bridge.diagnostics import Diagnostic
from bridge.parse.interpreter import Interpreter
from bridge.parse.model import ArgValue, CallableRef, DagModel, Edge, FileResult, TaskModel
from bridge.parse.scope import iter_refs
from bridge.parse.values import (
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

MAX_FILE_BYTES = 5 * 1024 * 1024  # a DAG file larger than this is skipped (BRG117)
MAX_EXPR_DEPTH = 400  # AST levels in one expression; libcst takes ~0.5 s per expression there
CHAIN_FLATTEN = 100  # operands from which a left-associative chain is handed to libcst flat
_DEEP_STACK = 256 * 1024 * 1024  # thread stack for CPython's parse of very long chains
_DEEP_RECURSION = 200_000


def parse_file(path: str | Path) -> FileResult:
    """Parse one DAG file statically, in this process. Never raises for bad input: problems
    become diagnostics. `bridge.parse.worker.parse_files` adds a time and memory budget."""
    shown = str(path)
    result = FileResult(path=shown)
    source, problem = read_source(path)
    if problem is not None:
        result.diagnostics.append(problem)
        return result
    return parse_source(source, shown, result)


def read_source(path: str | Path) -> tuple[str | None, Diagnostic | None]:
    """The text of a DAG file, or why it is not read (a diagnostic). Never blocks or reads
    without limit: only regular files are opened (a FIFO, a device, a socket or a symlink to one
    is skipped without opening it), at most MAX_FILE_BYTES + 1 bytes are read, and the bytes are
    decoded as Python does (PEP 263 coding declaration, UTF-8 by default)."""
    shown = str(path)
    try:
        info = os.stat(path)  # follows symlinks: a link to /dev/zero is a character device
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return None, Diagnostic.make("BRG101", 0, f"cannot read file: {reason}", shown)
    problem = _not_readable(info.st_mode, info.st_size, shown)
    if problem is not None:
        return None, problem
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, Diagnostic.make("BRG101", 0, f"cannot read file: {exc.strerror}", shown)
    try:
        info = os.fstat(fd)  # the file may have been swapped since the stat above
        problem = _not_readable(info.st_mode, info.st_size, shown)
        if problem is not None:
            return None, problem
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        return None, Diagnostic.make("BRG101", 0, f"cannot read file: {exc.strerror}", shown)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        return None, _too_large(len(data), shown)
    return decode_source(data, shown)


def _not_readable(mode: int, size: int, shown: str) -> Diagnostic | None:
    if stat.S_ISDIR(mode):
        return Diagnostic.make("BRG101", 0, "cannot read file: Is a directory", shown)
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a character device"
            if stat.S_ISCHR(mode)
            else "a block device"
            if stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        return Diagnostic.make("BRG116", 0, f"{kind}: skipped without opening it", shown)
    if size > MAX_FILE_BYTES:
        return _too_large(size, shown)
    return None


def _too_large(size: int, shown: str) -> Diagnostic:
    message = f"file is {size:,} bytes or more; the parser reads at most {MAX_FILE_BYTES:,}"
    return Diagnostic.make("BRG117", 0, message, shown)


def decode_source(data: bytes, path: str = "<string>") -> tuple[str | None, Diagnostic | None]:
    """Bytes -> text the way Python reads a module: a PEP 263 coding declaration (or a UTF-8
    BOM) names the encoding, UTF-8 otherwise. Binary data is refused."""
    if b"\x00" in data:
        return None, Diagnostic.make("BRG101", 0, "binary file (contains NUL bytes)", path)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown codec declared, or undecodable first lines
        encoding, refused = "utf-8", str(exc)
    else:
        refused = ""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        message = f"not {what} text ({exc.reason} at byte {exc.start})"
    except LookupError:
        message = f"unknown encoding `{encoding}`"
    else:
        if not refused:
            return text, None
        message = refused  # Python refuses the declaration even though the bytes are UTF-8
    return None, Diagnostic.make("BRG101", 0, message, path)


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
    check = check_source(source, path)
    if check.problem is not None:
        result.diagnostics.append(check.problem)
        return result
    try:
        module = _parse_module(check.flat_source)
    except cst.ParserSyntaxError as exc:
        libcst_says = str(exc).splitlines()[0]
        line, message = check.syntax_error or (
            exc.raw_line,
            f"valid Python that libcst cannot parse: {libcst_says}",
        )
        result.diagnostics.append(Diagnostic.make("BRG100", line, message, path))
        return result
    except RecursionError:
        message = "nesting too deep for the parser"
        result.diagnostics.append(Diagnostic.make("BRG121", 0, message, path))
        return result
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a panic in libcst's native parser (not an Exception)
        message = f"libcst failed: {type(exc).__name__}: {exc}"[:300]
        result.diagnostics.append(Diagnostic.make("BRG199", 0, message, path))
        return result
    module_name = Path(path).stem if path != "<string>" else "dag_module"
    try:
        interp = Interpreter(module, path, module_name, check.flat_source, chains=check.chains)
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
    except RecursionError:  # statements catch their own; this is a last resort: an error
        result.diagnostics.append(
            Diagnostic.make("BRG121", 0, "expression nesting too deep to evaluate", path)
        )
    except MemoryError:
        result.diagnostics.append(
            Diagnostic.make("BRG119", 0, "ran out of memory while evaluating the file", path)
        )
    except Exception as exc:  # a bug in the parser must not stop a folder run
        digest = hashlib.sha1(repr(exc).encode()).hexdigest()[:8]
        result.diagnostics.append(
            Diagnostic.make("BRG199", 0, f"{type(exc).__name__}: {exc} (ref {digest})", path)
        )
    if not result.dags and not any(d.severity == "error" for d in result.diagnostics):
        result.diagnostics.append(Diagnostic.make("BRG102", 0, "no DAG found", path))
    return result


# ---- CPython's check before libcst -------------------------------------------------------------


@dataclass
class SourceCheck:
    """What CPython's parser says about a file before libcst sees it."""

    problem: Diagnostic | None = None  # stop here: the file is not handed to libcst
    syntax_error: tuple[int, str] | None = None  # CPython refused it; libcst may still accept
    flat_source: str = ""  # the source with long chains flattened (see `_flatten`)
    chains: dict[str, Chain] = field(default_factory=dict)


@dataclass
class Chain:
    """A long left-associative chain handed to libcst as `(MARKER, operand, operand, ...)`."""

    ops: list[str]  # the operator between each pair of operands: "+", ">>", ...
    original: str  # its text in the file
    flat: str  # its text in the flattened source
    cuts: list[int] = field(default_factory=list)  # where each operator starts in `original`

    def prefix(self, link: int) -> str:
        """The text of the chain up to and including the operand after operator `link`."""
        end = self.cuts[link + 1] if link + 1 < len(self.cuts) else len(self.original)
        return self.original[:end].rstrip()


# Left-associative binary operators by precedence group: a chain is a run of one group.
_GROUPS: dict[type, str] = {
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.LShift: "shift",
    ast.RShift: "shift",
    ast.Add: "arith",
    ast.Sub: "arith",
    ast.Mult: "term",
    ast.MatMult: "term",
    ast.Div: "term",
    ast.FloorDiv: "term",
    ast.Mod: "term",
}
_GROUP_TOKENS = {
    "|": {"|"},
    "^": {"^"},
    "&": {"&"},
    "shift": {"<<", ">>"},
    "arith": {"+", "-"},
    "term": {"*", "@", "/", "//", "%"},
}
_OP_TEXT: dict[type, str] = {
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.MatMult: "@",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}
_DEEP_ERRORS = ("too many nested parentheses", "too many levels of indentation", "too complex")


def check_source(source: str, path: str = "<string>") -> SourceCheck:
    """Parse with CPython first (a C parser with its own limits: it never crashes on nesting),
    measure how deep expressions nest, and flatten long operator chains for libcst."""
    check = SourceCheck(flat_source=source)
    tree, error = _python_ast(source, path)
    if tree is None:
        line, message = error or (0, "cannot be parsed")
        if message.startswith("nesting"):
            check.problem = Diagnostic.make("BRG121", line, message, path)
        elif any(m in message for m in _DEEP_ERRORS) or _bracket_depth(source) >= 200:
            check.problem = Diagnostic.make("BRG100", line, message, path)
        else:
            # Python here may be older than the file's syntax: libcst decides, CPython's wording
            # is kept if libcst refuses it too. The worker's budget guards this path.
            check.syntax_error = (line, message)
        return check
    deep, chains = _measure(tree, source)
    if deep is None and chains:
        check.flat_source, check.chains, deep = _flatten(source, chains)
    # The tree is dropped, not kept for LineIndex: freed whole before libcst parses, its memory
    # goes back; kept (even pared down), a 10,000-task file peaks ~90 MB higher.
    del tree, chains
    if deep is not None:
        line, depth = deep
        message = (
            f"expression nested {depth} levels deep; the parser handles at most {MAX_EXPR_DEPTH}"
        )
        check.problem = Diagnostic.make("BRG121", line, message, path)
        check.flat_source, check.chains = source, {}
    return check


def _python_ast(source: str, path: str) -> tuple[ast.Module | None, tuple[int, str] | None]:
    """CPython's AST, or (line, message) of why not. Very long chains exceed the recursion limit
    of CPython's AST conversion: those are parsed again on a thread with a large stack."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, filename=path), None
    except SyntaxError as err:
        return None, (err.lineno or 0, err.msg)
    except ValueError as err:  # NUL bytes
        return None, (0, str(err))
    except (RecursionError, MemoryError):
        pass
    box: dict[str, Any] = {}

    def deep_parse() -> None:
        old = sys.getrecursionlimit()
        try:
            sys.setrecursionlimit(max(old, _DEEP_RECURSION))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                box["tree"] = ast.parse(source, filename=path)
        except SyntaxError as err:
            box["error"] = (err.lineno or 0, err.msg)
        except BaseException:  # RecursionError, MemoryError: nested beyond any use
            box["error"] = (0, "nesting too deep for Python's own parser")
        finally:
            sys.setrecursionlimit(old)

    try:
        old_size = threading.stack_size(_DEEP_STACK)
    except (ValueError, RuntimeError):
        return None, (0, "nesting too deep for Python's own parser")
    try:
        worker = threading.Thread(target=deep_parse, name="bridge-deep-parse")
        worker.start()
    except RuntimeError:  # no memory for the thread's stack
        raise MemoryError("cannot start a thread to parse a deeply nested file") from None
    finally:
        threading.stack_size(old_size)
    worker.join()
    return box.get("tree"), box.get("error")


def _bracket_depth(source: str) -> int:
    """Deepest bracket nesting, counting brackets in strings and comments too (an upper bound
    good enough to keep libcst away from what CPython refused for nesting)."""
    depth = deepest = 0
    for match in re.finditer(r"[\[\](){}]", source):
        if match.group() in "([{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _line_starts(source: str) -> list[int]:
    starts = [0]
    for match in re.finditer("\n", source):
        starts.append(match.end())
    return starts


def _measure(tree: ast.Module, source: str):
    """((line, depth) of the first expression nested deeper than MAX_EXPR_DEPTH, or None; the
    chains of CHAIN_FLATTEN or more operands). Expressions whose text is shorter than the limits
    cannot reach them and are not walked, so ordinary files cost one pass over their statements."""
    line_starts = _line_starts(source)

    def span(node) -> int:
        """An upper bound of the node's length in characters (from the start of its line)."""
        end_line = min(node.end_lineno or node.lineno, len(line_starts))
        end = line_starts[end_line - 1] + (node.end_col_offset or 0)
        return end - line_starts[min(node.lineno, len(line_starts)) - 1]

    shortest = min(MAX_EXPR_DEPTH, 2 * CHAIN_FLATTEN - 1)
    chains: list[tuple[ast.BinOp, list[ast.expr], list[type]]] = []
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            if depth == 0 and (getattr(node, "end_lineno", None) is None or span(node) < shortest):
                continue
            if depth > MAX_EXPR_DEPTH:
                return (getattr(node, "lineno", 0), depth), chains
            if isinstance(node, ast.JoinedStr):  # positions inside f-strings are unreliable
                stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
                for child in ast.walk(node):
                    if isinstance(child, ast.BinOp):
                        child._bridge_no_flatten = True  # type: ignore[attr-defined]
                continue
            if isinstance(node, ast.BinOp) and type(node.op) in _GROUPS:
                group = _GROUPS[type(node.op)]
                operands: list[ast.expr] = []
                ops: list[type] = []
                cur: ast.expr = node
                while isinstance(cur, ast.BinOp) and _GROUPS.get(type(cur.op)) == group:
                    operands.append(cur.right)
                    ops.append(type(cur.op))
                    cur = cur.left
                operands.append(cur)
                operands.reverse()
                ops.reverse()
                if len(operands) >= CHAIN_FLATTEN and not getattr(
                    node, "_bridge_no_flatten", False
                ):
                    chains.append((node, operands, ops))
                    # Flattened, the chain is one level for libcst; if flattening fails later,
                    # the chain is measured again (see _flatten) as the nesting it is.
                    stack.extend((operand, depth + 1) for operand in operands)
                    continue
                # A short chain: its links nest as they are written.
                stack.append((cur, depth + len(ops)))
                stack.extend(
                    (operand, depth + len(ops) - i) for i, operand in enumerate(operands[1:])
                )
                continue
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        elif isinstance(node, (ast.stmt, ast.mod, ast.excepthandler, ast.match_case)):
            # Statements: each expression in them starts a new count.
            stack.extend((child, 0) for child in ast.iter_child_nodes(node))
        else:
            # Parts of a statement or an expression (keyword, comprehension, arguments, ...).
            stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return None, chains


def _flatten(source: str, chains) -> tuple[str, dict[str, Chain], tuple[int, int] | None]:
    """Rewrite each long chain `a >> b >> c` as `(MARKER_k, a ,  b ,  c)`: same lines, one level
    of nesting for libcst. A chain whose operators cannot all be found at its top level (one
    operand parenthesised with part of the chain) is left as written; (line, depth) of the
    first such chain too long to leave as written is returned last."""
    if "\r" in source.replace("\r\n", ""):  # lone CR line ends: AST lines would not match ours
        long = next((c for c in chains if len(c[2]) > MAX_EXPR_DEPTH), None)
        return source, {}, (long[0].lineno, len(long[2])) if long else None
    line_starts = _line_starts(source)
    nonce = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    encoded_lines: dict[int, str] = {}

    def offset(lineno: int, col: int) -> int:
        line = encoded_lines.get(lineno)
        if line is None:
            start = line_starts[lineno - 1]
            end = line_starts[lineno] if lineno < len(line_starts) else len(source)
            line = encoded_lines[lineno] = source[start:end]
        return line_starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "replace"))

    edits: list[tuple[int, int, int, int, str]] = []  # (pos, rank, tie, old_len, new_text)
    found: list[tuple[str, list[str], int, int]] = []
    for node, _operands, ops in chains:
        start = offset(node.lineno, node.col_offset)
        end = offset(node.end_lineno, node.end_col_offset)
        tokens = _top_level_operators(source[start:end], _GROUP_TOKENS[_GROUPS[ops[0]]])
        if tokens is None or [t for _, t in tokens] != [_OP_TEXT[o] for o in ops]:
            if len(ops) > MAX_EXPR_DEPTH:
                return source, {}, (node.lineno, len(ops))
            continue
        marker = f"__bridge_chain_{nonce}_{len(found)}__"
        span = end - start
        edits.append((start, 1, -span, 0, f"({marker}, "))
        edits.append((end, 0, span, 0, ")"))
        for at, text in tokens:
            edits.append((start + at, 2, 0, len(text), "," + " " * (len(text) - 1)))
        found.append((marker, tokens, start, end))
    if not found:
        return source, {}, None
    edits.sort(key=lambda e: (e[0], e[1], e[2]))
    out: list[str] = []
    new_pos: dict[tuple[int, int, int], int] = {}
    cursor = 0
    length = 0
    for pos, rank, tie, old_len, text in edits:
        piece = source[cursor:pos]
        out.append(piece)
        length += len(piece)
        new_pos[(pos, rank, tie)] = length
        out.append(text)
        length += len(text)
        cursor = pos + old_len
    out.append(source[cursor:])
    flat = "".join(out)
    result: dict[str, Chain] = {}
    for marker, tokens, start, end in found:
        span = end - start
        new_start = new_pos[(start, 1, -span)]
        new_end = new_pos[(end, 0, span)] + 1
        ops_text, cuts = [t for _, t in tokens], [at for at, _ in tokens]
        result[marker] = Chain(ops_text, source[start:end], flat[new_start:new_end], cuts)
    return flat, result, None


_OPERAND_END = {tokenize.NUMBER, tokenize.STRING, getattr(tokenize, "FSTRING_END", tokenize.STRING)}
_NOT_OPERANDS = {
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "lambda",
    "await",
    "for",
    "async",
    "yield",
    "from",
}


def _top_level_operators(text: str, wanted: set[str]) -> list[tuple[int, str]] | None:
    """Offsets (in `text`) and spellings of the binary operators in `wanted` outside brackets."""
    wrapped = "(" + text + ")"  # inside brackets, newlines and indentation are free
    starts = _line_starts(wrapped)
    found: list[tuple[int, str]] = []
    depth = 0
    previous_is_operand = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(wrapped).readline):
            kind, string = tok.type, tok.string
            if kind in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            if kind == tokenize.OP:
                if string in "([{":
                    depth += 1
                    previous_is_operand = False
                    continue
                if string in ")]}":
                    depth -= 1
                    previous_is_operand = True
                    continue
                if depth == 1 and string in wanted and previous_is_operand:
                    row, col = tok.start
                    found.append((starts[row - 1] + col - 1, string))
                previous_is_operand = string == "..."
                continue
            if kind == tokenize.NAME:
                previous_is_operand = string not in _NOT_OPERANDS
                continue
            previous_is_operand = kind in _OPERAND_END
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return found


# ---- runtime values -> model -------------------------------------------------------------------


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


__all__ = [
    "check_source",
    "decode_source",
    "jsonable",
    "parse_file",
    "parse_source",
    "read_source",
    "to_arg",
    "to_dag_model",
]
