"""A static interpreter for DAG files: walks the libcst tree the way Python would run it.

It evaluates what is knowable (literals, module-level names, loops over literals, helper
functions called at module level, f-strings) and models what Airflow does when the file is
imported (DAG and TaskGroup contexts, operators, TaskFlow calls, XComArgs, dependencies). It never
imports or runs anything from the file: calls are either modelled (here, and in `constructs.py`
for Airflow's own objects) or become `Unknown`.

The evaluator is split by what it evaluates: `statements.py`, `expressions.py`, `calls.py`,
`limits.py` (steps and size caps) and `constructs.py` (Airflow), each a mixin combined here.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from bridge.diagnostics import Diagnostic
from bridge.parse import dependencies as deps
from bridge.parse.calls import Calls
from bridge.parse.constructs import AirflowConstructs
from bridge.parse.expressions import Expressions
from bridge.parse.limits import (
    MAX_BUILT,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_STEPS,
    MAX_VALUE,
    Limits,
    SizeCaps,
)
from bridge.parse.lines import LineIndex
from bridge.parse.pushed import PushedValues
from bridge.parse.scope import AbortEvaluation, BreakSignal, ContinueSignal, ReturnSignal, Scope
from bridge.parse.statements import Statements
from bridge.parse.values import DagNode, GroupNode, LazySource, TaskNode, Unknown


class Interpreter(Statements, Expressions, Calls, SizeCaps, AirflowConstructs, PushedValues):
    def __init__(
        self,
        module: cst.Module,
        path: str,
        module_name: str,
        source: str,
        chains: dict | None = None,
    ):
        self.module = module
        self.path = path
        self.module_name = module_name
        self.lines = LineIndex(module, source)
        # Long operator chains handed to libcst flat: marker -> parse.Chain (ops, original text).
        self.chains = chains or {}
        self._chain_nodes: dict[int, tuple[str, int] | None] = {}  # id -> (text, line), lazily
        self._unknowns: dict[tuple[int, int], tuple[Any, Any, str, int]] = {}
        self._chain_link: tuple[cst.CSTNode, Any, int] | None = None  # (node, Chain, link)
        # Read here, when the Interpreter is made: tests and the parse worker tune these names.
        self.limits = Limits(MAX_STEPS, MAX_DEPTH, MAX_RANGE, MAX_VALUE, MAX_BUILT, MAX_INT_BITS)
        self.built = 0  # size of the values built so far (see MAX_BUILT)
        self.too_large_noted = False
        self.stmt_stack: list[cst.CSTNode] = []
        self.attributes: dict[
            tuple[int, str], tuple[Any, Any]
        ] = {}  # (id(obj), name) -> (obj, value)
        self.scope = Scope()
        self.scope.vars.update({"__name__": module_name, "__file__": path})
        self.dag_stack: list[DagNode] = []
        self.group_stack: list[GroupNode] = []
        self.setup_teardown = deps.SetupTeardownContext()
        self.dags: list[DagNode] = []
        self.registered: list[DagNode] = []
        self.floating: list[TaskNode] = []
        self.diagnostics: list[Diagnostic] = []
        self.steps = 0
        self.depth = 0
        self.speculative = False  # evaluating a task body (pushed.py): unknown ifs blur names
        self.pushes: dict[str, Any] | None = None  # that body's xcom_push calls

    # ---- helpers -------------------------------------------------------------------------

    def line(self, node: cst.CSTNode) -> int:
        return self.lines.line(node, self.stmt_stack[-1] if self.stmt_stack else None)

    def end_line(self, node: cst.CSTNode) -> int:
        """Last line of a statement (a def): its first line plus the lines its own code spans."""
        code = self.module.code_for_node(node).rstrip()
        return self.line(node) + code.count("\n") - len(getattr(node, "leading_lines", ()))

    def src(self, node: cst.CSTNode) -> str:
        return self.restore(self.module.code_for_node(node).strip())

    def restore(self, text: str) -> str:
        """Source text as in the file: flattened chains (see parse.check_source) written back."""
        if self.chains and "__bridge_chain_" in text:
            # Outermost first: an outer chain's flat text contains its inner chains' flat text.
            for chain in sorted(self.chains.values(), key=lambda c: -len(c.flat)):
                if chain.flat in text:
                    text = text.replace(chain.flat, chain.original)
        return text

    def lazy_source(self, node: cst.CSTNode) -> LazySource:
        return LazySource(node, self.module, self.restore if self.chains else None)

    def diag(self, code: str, node: cst.CSTNode | int, message: str) -> None:
        line = node if isinstance(node, int) else self.line(node)
        d = Diagnostic.make(code, line, message, self.path)
        if d not in self.diagnostics:
            self.diagnostics.append(d)

    def unknown(self, node: cst.CSTNode, kind: str = "expr") -> Unknown:
        if id(node) in self._chain_nodes:  # a long chain: its text is made once, not per link
            text, line = self.chain_text(node)
            return Unknown(text, kind, line)
        # A node evaluated again in the same statement (a loop body) gives the same text and
        # line: made once. The nodes are kept in the entry so that their ids are not reused.
        within = self.stmt_stack[-1] if self.stmt_stack else None
        key = (id(node), id(within))
        cached = self._unknowns.get(key)
        if cached is None or cached[0] is not node or cached[1] is not within:
            text, line = self.src(node), self.line(node)
            cached = self._unknowns[key] = (node, within, text, line)
        return Unknown(cached[2], kind, cached[3])

    def chain_text(self, node: cst.CSTNode) -> tuple[str, int]:
        cached = self._chain_nodes.get(id(node))
        if cached is None:
            cached = self._chain_nodes[id(node)] = (self.src(node), self.line(node))
        return cached

    @property
    def current_dag(self) -> DagNode | None:
        return self.dag_stack[-1] if self.dag_stack else None

    def current_group(self, dag: DagNode | None) -> GroupNode | None:
        if self.group_stack:
            return self.group_stack[-1]
        return dag.root if dag else None

    # ---- module ----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.exec_block(self.module.body, self.scope)
        except AbortEvaluation:
            pass
        except (ReturnSignal, BreakSignal, ContinueSignal):
            pass

    def collected_dags(self) -> list[DagNode]:
        """The DAGs Airflow would collect: module globals that are DAGs, plus auto-registered ones."""
        found = {id(d): d for d in self.registered}
        for value in self.scope.vars.values():
            if isinstance(value, DagNode):
                found[id(value)] = value
        return [d for d in self.dags if id(d) in found]
