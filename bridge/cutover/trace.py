"""Cutover, first step: interpret the DAG file once more and remember where every task came from.

The cutover codemod needs what the parser knows but does not keep: which call created each task,
in which statement, inside which loop or function, and what every name, attribute or call in the
file evaluated to. `Trace` is the static interpreter with those observations added; it changes
nothing it evaluates, so its graph is exactly `bridge.parse.dag_file`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from bridge.parse.interpreter import Interpreter
from bridge.parse.values import (
    BuiltinMethod,
    DagNode,
    GroupNode,
    MappedArg,
    Method,
    TaskNode,
    XComRef,
)


@dataclass(eq=False)
class Frame:
    """A body being executed: the module, a @dag function, a @task_group function, a helper."""

    kind: str  # "module" | "dag" | "group" | "function"
    node: cst.CSTNode | None
    base: int  # depth of the statement stack when the body started


@dataclass(eq=False)
class Creation:
    """One task, and how the file made it."""

    task: TaskNode
    call: cst.CSTNode  # the call that created it (the `.expand(...)` call for mapped tasks)
    value: Any  # what that call evaluated to: the TaskNode, or the XComRef of a TaskFlow call
    stmt: cst.CSTNode | None  # the small statement running when it was created
    compound: tuple[cst.CSTNode, ...]  # enclosing compound statements in its frame, outermost first
    frame: Frame
    in_loop: bool


@dataclass
class Observed:
    """Everything the trace saw, keyed by the id() of nodes of the (kept alive) module tree."""

    values: dict[int, list[Any]] = field(default_factory=dict)
    frames: dict[int, Frame] = field(default_factory=dict)  # expression -> frame it ran in
    creations: list[Creation] = field(default_factory=list)
    created_by: dict[int, int] = field(default_factory=dict)  # call -> tasks it created


class Trace(Interpreter):
    """The static interpreter, recording values, frames, loops and task creations."""

    def __init__(self, module: cst.Module, path: str, module_name: str, source: str, known: set):
        super().__init__(module, path, module_name, source)
        self.known = known  # ids of the nodes of the module tree: temporary nodes are not recorded
        self.seen = Observed()
        self.frame_stack = [Frame("module", None, 0)]
        self.loops = 0

    # -- values --------------------------------------------------------------------------

    def eval(self, node, scope):
        value = super().eval(node, scope)
        if node is not None and id(node) in self.known:
            self.seen.values.setdefault(id(node), []).append(value)
            self.seen.frames[id(node)] = self.frame_stack[-1]
        return value

    # -- loops and frames ----------------------------------------------------------------

    def stmt_For(self, node, scope):
        self.loops += 1
        try:
            super().stmt_For(node, scope)
        finally:
            self.loops -= 1

    def comprehension(self, node, scope, make):
        self.loops += 1
        try:
            return super().comprehension(node, scope, make)
        finally:
            self.loops -= 1

    def _framed(self, kind: str, func_node, run):
        self.frame_stack.append(Frame(kind, func_node, len(self.stmt_stack)))
        try:
            return run()
        finally:
            self.frame_stack.pop()

    def call_function(self, func, args, kwargs, node):
        return self._framed(
            "function",
            func.node,
            lambda: super(Trace, self).call_function(func, args, kwargs, node),
        )

    def call_dagfunc(self, df, args, kwargs, node):
        return self._framed(
            "dag", df.func.node, lambda: super(Trace, self).call_dagfunc(df, args, kwargs, node)
        )

    def call_groupfunc(self, gf, args, kwargs, node, *, expand=None):
        return self._framed(
            "group",
            gf.func.node,
            lambda: super(Trace, self).call_groupfunc(gf, args, kwargs, node, expand=expand),
        )

    # -- task creations ------------------------------------------------------------------

    def make_operator(self, operator, args, kwargs, node, *, mapped=None):
        task = super().make_operator(operator, args, kwargs, node, mapped=mapped)
        self._created(task, node, task)
        return task

    def call_taskfunc(self, tf, args, kwargs, node, *, mapped=None):
        ref = super().call_taskfunc(tf, args, kwargs, node, mapped=mapped)
        self._created(ref.operator, node, ref)
        return ref

    def _created(self, task: TaskNode, node, value) -> None:
        frame = self.frame_stack[-1]
        stack = self.stmt_stack[frame.base :]
        self.seen.created_by[id(node)] = self.seen.created_by.get(id(node), 0) + 1
        self.seen.creations.append(
            Creation(
                task=task,
                call=node,
                value=value,
                stmt=stack[-1] if stack else None,
                compound=tuple(s for s in stack[:-1] if isinstance(s, cst.BaseCompoundStatement)),
                frame=frame,
                in_loop=self.loops > 0,
            )
        )


def tasks_in(value: Any, depth: int = 0) -> list[TaskNode]:
    """The tasks a value stands for as a dependency or data reference (lists included)."""
    if depth > 8:
        return []
    if isinstance(value, TaskNode):
        return [value]
    if isinstance(value, XComRef):
        return list(value.tasks)
    if isinstance(value, MappedArg):
        return [t for t in value.tasks if isinstance(t, TaskNode)]
    if isinstance(value, Method):
        return tasks_in(value.obj, depth + 1)
    if isinstance(value, BuiltinMethod):
        return tasks_in(value.obj, depth + 1)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [t for v in value for t in tasks_in(v, depth + 1)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tasks_in(v, depth + 1)]
    return []


def index_tree(module: cst.Module) -> tuple[dict[int, cst.CSTNode], dict[int, cst.CSTNode]]:
    """(id -> parent, id -> node) for every node of the tree (the tree must stay alive)."""
    parents: dict[int, cst.CSTNode] = {}
    nodes: dict[int, cst.CSTNode] = {id(module): module}
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        for child in node.children:
            parents[id(child)] = node
            nodes[id(child)] = child
            stack.append(child)
    return parents, nodes


def trace_dags(module: cst.Module, source: str, path: str, module_name: str):
    """Run the trace; returns (trace, dags Airflow would collect, parent map, node map)."""
    parents, nodes = index_tree(module)
    trace = Trace(module, path, module_name, source, set(nodes))
    trace.run()
    dags: list[DagNode] = trace.collected_dags()
    return trace, dags, parents, nodes


def group_chain(group: GroupNode | None) -> list[GroupNode]:
    """The group and its ancestors, innermost first, the root group last."""
    chain = []
    while group is not None:
        chain.append(group)
        group = group.parent
    return chain
