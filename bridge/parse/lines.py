"""Source lines for libcst nodes, cheaply.

libcst's PositionProvider regenerates code for every node and costs more than parsing itself on
large files (7 s for 30,000 lines here). We need lines for statements and for the few expressions
that become tasks or diagnostics, so: statement lines come from CPython's `ast` (one C parse,
matched statement by statement with the libcst tree), and an expression's line is its statement's
line plus the newlines that precede it inside the statement's code.
"""

from __future__ import annotations

import ast

import libcst as cst


def _block(body) -> list:
    """The statements of an IndentedBlock or SimpleStatementSuite body."""
    return list(body.body)


class LineIndex:
    def __init__(self, module: cst.Module, source: str):
        self.module = module
        self.lines: dict[int, int] = {}
        self._code_cache: dict[int, str] = {}
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return
        self._match(list(module.body), tree.body)

    def _match(self, cst_body: list, ast_body: list) -> None:
        i = 0
        for stmt in cst_body:
            if i >= len(ast_body):
                return
            if isinstance(stmt, cst.SimpleStatementLine):
                self.lines[id(stmt)] = ast_body[i].lineno
                for small in stmt.body:
                    if i < len(ast_body):
                        self.lines[id(small)] = ast_body[i].lineno
                        i += 1
                continue
            if isinstance(stmt, cst.BaseSmallStatement):  # inside a SimpleStatementSuite
                self.lines[id(stmt)] = ast_body[i].lineno
                i += 1
                continue
            node = ast_body[i]
            decorators = getattr(node, "decorator_list", None)
            self.lines[id(stmt)] = decorators[0].lineno if decorators else node.lineno
            self._match_children(stmt, node)
            i += 1

    def _match_children(self, stmt, node) -> None:
        if isinstance(stmt, cst.If) and isinstance(node, ast.If):
            self._match(_block(stmt.body), node.body)
            if isinstance(stmt.orelse, cst.If):
                self._match([stmt.orelse], node.orelse)
            elif isinstance(stmt.orelse, cst.Else):
                self._match(_block(stmt.orelse.body), node.orelse)
        elif isinstance(stmt, (cst.For, cst.While)):
            self._match(_block(stmt.body), node.body)
            if stmt.orelse is not None:
                self._match(_block(stmt.orelse.body), node.orelse)
        elif isinstance(stmt, (cst.Try, cst.TryStar)) and isinstance(
            node, (ast.Try, getattr(ast, "TryStar", ast.Try))
        ):
            self._match(_block(stmt.body), node.body)
            for h_cst, h_ast in zip(stmt.handlers, node.handlers, strict=False):
                self._match(_block(h_cst.body), h_ast.body)
            if stmt.orelse is not None:
                self._match(_block(stmt.orelse.body), node.orelse)
            if stmt.finalbody is not None:
                self._match(_block(stmt.finalbody.body), node.finalbody)
        elif isinstance(stmt, (cst.With, cst.FunctionDef, cst.ClassDef)) and hasattr(node, "body"):
            self._match(_block(stmt.body), node.body)

    def _code(self, node: cst.CSTNode) -> str:
        key = id(node)
        code = self._code_cache.get(key)
        if code is None:
            code = self.module.code_for_node(node)
            if len(self._code_cache) > 64:
                self._code_cache.clear()
            self._code_cache[key] = code
        return code

    def line(self, node: cst.CSTNode, within: cst.CSTNode | None) -> int:
        """Line of `node`; `within` is the innermost statement being evaluated that contains it."""
        known = self.lines.get(id(node))
        if known is not None:
            return known
        if within is None or id(within) not in self.lines:
            return 0
        base = self.lines[id(within)]
        if isinstance(within, cst.BaseCompoundStatement):
            # A header expression (`with DAG(...)`, `for x in ...`): headers start on the statement's
            # line, and generating the code of a whole `with` block would cost as much as parsing.
            return base
        if getattr(within, "value", None) is node and isinstance(within, (cst.Expr, cst.Return)):
            return base  # `expr` statements start with their value
        if (
            isinstance(within, cst.Assign)
            and within.value is node
            and not isinstance(node, cst.Tuple)
        ):
            target_code = self._code(within.targets[0].target)
            if "\n" not in target_code:
                return base  # `x = Op(...)`: the value starts on the statement's line

        # `within` is a small statement here (no leading lines or decorators of its own).
        outer = self._code(within)
        at = outer.find(self.module.code_for_node(node).strip())
        if at < 0:
            return base
        return base + outer.count("\n", 0, at)
