"""Cutover, third step: apply a plan to the libcst tree and render the new source.

Only the statements the plan names change; every other node is the parsed one, so formatting,
comments and blank lines elsewhere come out byte for byte. A removed statement's leading comment
lines are not lost: they move to the statement that follows.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from bridge.cutover.edges import rebuild
from bridge.cutover.plan import Plan


def render(module: cst.Module, plan: Plan) -> str:
    """The module's source with the plan applied and the imports it needs added."""
    for key, sk in plan.edge_stmts.items():
        if sk.remove:
            edit = plan.edit(plan.edge_lines[key])
            if edit.replace is None:
                edit.replace = []
    tree = module.visit(_Apply(plan))
    return _add_imports(tree, plan.imports).code


def _add_imports(tree: cst.Module, imports) -> cst.Module:
    """Queue the imports the libcst way (AddImportsVisitor, which places them after the file's
    imports and merges into an existing `from x import ...`). It runs on the statements up to
    the last module-level import only: a whole-file pass costs a second on a 400-line DAG."""
    last = max(
        (
            i
            for i, stmt in enumerate(tree.body)
            if isinstance(stmt, cst.SimpleStatementLine)
            and any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
        ),
        default=-1,
    )
    if last < 0 and tree.body and _is_docstring(tree.body[0]):
        last = 0  # no import yet: the new ones go after the docstring
    head = tree.with_changes(body=tree.body[: last + 1], footer=())
    context = CodemodContext()
    for module_name, name, alias in imports:
        AddImportsVisitor.add_needed_import(context, module_name, name, alias)
    head = AddImportsVisitor(context).transform_module(head)
    return tree.with_changes(header=head.header, body=[*head.body, *tree.body[last + 1 :]])


class _Apply(cst.CSTTransformer):
    def __init__(self, plan: Plan):
        super().__init__()
        self.plan = plan

    def on_leave(self, original_node, updated_node):
        key = id(original_node)
        replacement = self.plan.expr_edits.get(key)
        if replacement is not None:
            return replacement
        sk = self.plan.edge_stmts.get(key)
        if sk is not None and not sk.remove and isinstance(updated_node, cst.Expr):
            return updated_node.with_changes(value=rebuild(sk, updated_node.value, self.plan.var))
        if isinstance(updated_node, (cst.Module, cst.IndentedBlock)):
            body = self._block(original_node.body, updated_node.body)
            return updated_node.with_changes(body=body)
        return updated_node

    def _block(self, originals: Sequence, updated: Sequence) -> list:
        out: list = []
        carried: list[cst.EmptyLine] = []  # comment lines of removed statements
        for original, node in zip(originals, updated, strict=True):
            edit = self.plan.stmt_edits.get(id(original))
            lead = [*carried, *getattr(node, "leading_lines", ())]
            carried = []
            if edit is None:
                out.append(
                    node.with_changes(leading_lines=lead)
                    if len(lead) > len(getattr(node, "leading_lines", ()))
                    else node
                )
                continue
            before = list(edit.before)
            middle = [node] if edit.replace is None else list(edit.replace)
            after = list(edit.after)
            sequence = [*before, *middle, *after]
            if not sequence:
                if any(line.comment is not None for line in lead):
                    carried = lead
                continue
            if before and middle:
                # Inserted statements take the blank lines; comments stay with their statement.
                n = 0
                while n < len(lead) and lead[n].comment is None:
                    n += 1
                before[0] = before[0].with_changes(leading_lines=lead[:n])
                spacer = lead[:1] if n else []
                middle[0] = middle[0].with_changes(leading_lines=[*spacer, *lead[n:]])
                sequence = [*before, *middle, *after]
            else:
                sequence[0] = sequence[0].with_changes(leading_lines=lead)
            out.extend(sequence)
        return out


def _is_docstring(stmt) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
