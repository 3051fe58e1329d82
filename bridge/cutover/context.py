"""Cutover planning, the shared shapes: the parsed file and its trace (`Context`), what the user
asked for (`Options`), the edits decided so far (`Plan`, `StmtEdit`), and a refusal
(`CutoverRefused`, BRG4xx)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from bridge.cutover.edges import Skeleton
from bridge.cutover.trace import Frame, Trace
from bridge.parse.values import DagNode, TaskNode

OPERATOR_CLASS = "MigratedPipelineOperator"
OPERATOR_MODULE = "airflow_plugins.operators"
OPERATOR_CANONICAL = f"{OPERATOR_MODULE}.{OPERATOR_CLASS}"
STANDIN_CLASS = "MigratedTaskOutput"
STANDIN_CANONICAL = f"{OPERATOR_MODULE}.{STANDIN_CLASS}"


class CutoverRefused(Exception):
    """A refusal: a BRG4xx code, the line it is about, and what is wrong."""

    def __init__(self, code: str, line: int, message: str):
        super().__init__(message)
        self.code = code
        self.line = line
        self.message = message


@dataclass
class StmtEdit:
    """What happens to one statement of a block: statements before it, instead of it, after it."""

    before: list[cst.BaseStatement] = field(default_factory=list)
    replace: list[cst.BaseStatement] | None = None  # None: the statement stays
    after: list[cst.BaseStatement] = field(default_factory=list)


@dataclass
class Plan:
    var: str  # the operator's variable
    task_id: str  # the task_id argument
    full_id: str  # the task id Airflow gives it (group prefix included)
    operator_name: str  # the name MigratedPipelineOperator is used under
    standin_name: str  # the name MigratedTaskOutput is used under
    stmt_edits: dict[int, StmtEdit] = field(default_factory=dict)
    expr_edits: dict[int, cst.BaseExpression] = field(default_factory=dict)
    edge_stmts: dict[int, Skeleton] = field(default_factory=dict)  # id(Expr statement) -> rewrite
    edge_lines: dict[int, cst.SimpleStatementLine] = field(default_factory=dict)  # same keys
    inline_outputs: dict[int, str] = field(default_factory=dict)  # id(inline call) -> task id
    standins: dict[str, str] = field(default_factory=dict)  # task id -> its stand-in's variable
    standin_at: dict[str, cst.CSTNode] = field(default_factory=dict)  # task id -> statement
    touched: list[tuple[int, int]] = field(default_factory=list)  # original line spans
    edges_rewired: int = 0
    op_anchor: cst.CSTNode | None = None  # the statement the operator replaces or precedes
    op_mode: str = "replace"  # "replace" | "before"
    frame: Frame | None = None
    imports: list[tuple[str, str, str | None]] = field(default_factory=list)

    def edit(self, stmt: cst.CSTNode) -> StmtEdit:
        return self.stmt_edits.setdefault(id(stmt), StmtEdit())


@dataclass
class Context:
    """The parsed file and what the trace observed."""

    module: cst.Module
    source: str
    trace: Trace
    dag: DagNode
    parents: dict[int, cst.CSTNode]
    nodes: dict[int, cst.CSTNode]
    chosen: list[TaskNode] = field(default_factory=list)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(id(node))

    def values(self, node: cst.CSTNode) -> list[Any]:
        return self.trace.seen.values.get(id(node), [])

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def line(self, node: cst.CSTNode) -> int:
        """Line of a node: its statement's line plus the newlines before it in the statement."""
        lines = self.trace.lines.lines
        stmt = node
        while stmt is not None and id(stmt) not in lines:
            stmt = self.parent(stmt)
        if stmt is None:
            return 0
        if stmt is node:
            return lines[id(stmt)]
        return self.trace.lines.line(node, stmt)

    def line_of_stmt(self, stmt: cst.CSTNode) -> tuple[int, int]:
        """First and last line of a statement (its leading comments and blank lines excluded)."""
        start = self.trace.lines.lines.get(id(stmt), 0)
        code = self.module.code_for_node(stmt)
        lead = "".join(self.module.code_for_node(ln) for ln in getattr(stmt, "leading_lines", ()))
        body = code[len(lead) :] if code.startswith(lead) else code
        return start, start + body.rstrip("\n").count("\n")

    def statement_line(self, small: cst.CSTNode) -> cst.CSTNode | None:
        """The statement of a block that holds a small statement (its SimpleStatementLine)."""
        parent = self.parent(small)
        return parent if isinstance(parent, cst.SimpleStatementLine) else None

    def enclosing_small(self, node: cst.CSTNode) -> cst.CSTNode | None:
        while node is not None and not isinstance(node, cst.BaseSmallStatement):
            if isinstance(node, cst.BaseCompoundStatement):
                return None
            node = self.parent(node)
        return node


@dataclass
class Options:
    pipeline_name: str
    manifest: str  # as written into the DAG file
    task_id: str | None = None
    standins: set[str] = field(default_factory=set)  # tasks whose outputs or state stay read
