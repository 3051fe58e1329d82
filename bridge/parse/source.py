"""A DAG file's source, made safe for libcst: read, decode, checked by CPython, chains flattened.

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
import hashlib
import io
import os
import re
import stat
import sys
import threading
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.diagnostics import Diagnostic

MAX_FILE_BYTES = 5 * 1024 * 1024  # a DAG file larger than this is skipped (BRG117)
MAX_EXPR_DEPTH = 400  # AST levels in one expression; libcst takes ~0.5 s per expression there
CHAIN_FLATTEN = 100  # operands from which a left-associative chain is handed to libcst flat
_DEEP_STACK = 256 * 1024 * 1024  # thread stack for CPython's parse of very long chains
_DEEP_RECURSION = 200_000


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
