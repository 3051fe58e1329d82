"""A DAG module parsed once: its function definitions, and (filled by the evaluator) the static
values of its module-level names."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from bridge.parse.python_tree import module_tree

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class ModuleIndex:
    source: str
    tree: ast.Module | None  # None: the file does not parse
    functions: dict[int, FunctionNode] = field(default_factory=dict)  # by id() of the node
    by_name: dict[str, list[FunctionNode]] = field(default_factory=dict)
    globals: dict[str, object] = field(default_factory=dict)  # name -> values.Value
    _lines: list[bytes] | None = None

    def segment(self, node: ast.AST) -> str | None:
        """`ast.get_source_segment`, without re-splitting the whole file at every call."""
        if self._lines is None:
            # Line ends as the tokenizer sees them (str.splitlines also splits on \f, \x1c...).
            self._lines = [
                x.encode() for x in re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", self.source)
            ]
        try:
            first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined,operator]
            start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        except AttributeError:
            return None
        if (
            first is None
            or last is None
            or end is None
            or not 0 <= first <= last < len(self._lines)
        ):
            return None
        if first == last:
            return self._lines[first][start:end].decode(errors="replace")
        body = [self._lines[first][start:], *self._lines[first + 1 : last], self._lines[last][:end]]
        return b"".join(body).decode(errors="replace")

    def find(self, name: str, line: int) -> FunctionNode | None:
        """The def named `name` at `line` (its def or a decorator line), else the nearest one."""
        candidates = self.by_name.get(name, [])
        for node in candidates:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= line <= node.lineno:
                return node
        return min(candidates, key=lambda n: abs(n.lineno - line), default=None)


def parse_module(source: str) -> ModuleIndex:
    tree = module_tree(source)
    if tree is None:
        return ModuleIndex(source=source, tree=None)
    index = ModuleIndex(source=source, tree=tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            index.functions[id(node)] = node
            index.by_name.setdefault(node.name, []).append(node)
    return index
