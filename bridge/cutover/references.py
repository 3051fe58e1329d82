"""Cutover planning: every place the file refers to a chosen task, and what becomes of it.

References inside dependency statements (`a >> [b, c]`, `chain(...)`) are rewritten edge by edge
(`bridge.cutover.edges`); a TaskFlow result passed on or `x.output` keeps a stand-in; anything else
is refused with BRG406, naming the line.
"""

from __future__ import annotations

import libcst as cst

from bridge.cutover.context import Context, CutoverRefused, Plan
from bridge.cutover.edges import (
    EdgeRewriteError,
    Skeleton,
    edges_of,
    resolve,
    signature,
    skeleton_of,
)
from bridge.cutover.trace import tasks_in
from bridge.parse.values import TaskNode, XComRef


def references(ctx: Context, plan: Plan, ids: set[int], creations, bindings, wanted) -> None:
    """Every evaluated expression that stands for a chosen task: rewrite it or refuse."""
    nodes = ctx.nodes
    calls = {id(c.call): c for c in creations.values()}
    results = {id(c.value): c for c in creations.values() if isinstance(c.value, XComRef)}
    removed = {id(c.call) for c in creations.values()}
    whole = {id(b.creation.call) for b in bindings.values()}
    skeletons: dict[int, Skeleton | None] = {}
    for key, values in ctx.trace.seen.values.items():
        node = nodes.get(key)
        if node is None or not any(id(t) in ids for v in values for t in tasks_in(v)):
            continue
        if _inside(ctx, node, removed, include_self=False) or id(node) in whole:
            continue  # part of a creation that goes away
        small = ctx.enclosing_small(node)
        if small is not None and isinstance(small, cst.Expr):
            sk = _skeleton(ctx, small, ids, calls, skeletons)
            if sk is not None and _covered(ctx, node, sk):
                continue
        _generic(ctx, plan, node, values, ids, calls, results, bindings, wanted)
    for key, sk in skeletons.items():
        if sk is None or not any(m for o in sk.operands for m in o.marks):
            continue
        small = nodes[key]
        try:
            resolve(sk)
        except EdgeRewriteError as exc:
            raise CutoverRefused(
                "BRG406", ctx.line(small), f"`{short(ctx.code(small))}`: {exc}"
            ) from None
        plan.edge_stmts[key] = sk
    _dedupe_edges(ctx, plan, nodes)
    for key in plan.edge_stmts:
        line_node = ctx.statement_line(nodes[key])
        if line_node is None or len(line_node.body) != 1:
            raise CutoverRefused(
                "BRG406",
                ctx.line(nodes[key]),
                "a dependency statement to rewrite shares its line with other statements (`;`)",
            )
        plan.edge_lines[key] = line_node
        plan.touched.append(ctx.line_of_stmt(line_node))
        plan.edges_rewired += 1


def _dedupe_edges(ctx: Context, plan: Plan, nodes) -> None:
    """A rewritten statement that only repeats edges set by an earlier one disappears."""

    def keys_of(element) -> set[str] | None:
        values = ctx.values(element)
        if len(values) != 1 or not isinstance(values[0], (TaskNode, XComRef)):
            return None
        return {t.task_id for t in tasks_in(values[0])}

    seen_sigs: set[tuple] = set()
    seen_edges: set[tuple[str, str]] = set()
    for key in sorted(plan.edge_stmts, key=lambda k: ctx.line(nodes[k])):
        sk = plan.edge_stmts[key]
        if sk.remove:
            continue
        sig = signature(sk, ctx.code)
        edges = edges_of(sk, keys_of)
        if sig in seen_sigs or (edges is not None and edges <= seen_edges):
            sk.remove = True
            continue
        seen_sigs.add(sig)
        seen_edges |= edges or set()


def _inside(ctx: Context, node, ancestors: set[int], include_self: bool) -> bool:
    current = node if include_self else ctx.parent(node)
    while current is not None:
        if id(current) in ancestors:
            return True
        current = ctx.parent(current)
    return False


def _skeleton(ctx: Context, small: cst.Expr, ids: set[int], calls, cache) -> Skeleton | None:
    if id(small) in cache:
        return cache[id(small)]

    def func_value(node):
        values = ctx.values(node)
        return values[0] if len(values) == 1 else None

    def marks_of(element) -> bool:
        values = ctx.values(element)
        tasks = [t for v in values for t in tasks_in(v)]
        hits = [t for t in tasks if id(t) in ids]
        if not hits:
            return False
        if len(values) != 1:
            raise CutoverRefused(
                "BRG406",
                ctx.line(element),
                f"`{short(ctx.code(element))}` is evaluated more than once (a loop or a "
                "function called several times) and stands for a chosen task",
            )
        value = values[0]
        if not isinstance(element, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)) or (
            isinstance(element, cst.Call) and id(element) not in calls
        ):
            raise CutoverRefused(
                "BRG406",
                ctx.line(element),
                f"`{short(ctx.code(element))}` stands for a chosen task inside a dependency "
                "statement but is not a plain reference to it; use the task's variable",
            )
        if isinstance(value, (TaskNode, XComRef)) and len(hits) == len(tasks):
            return True
        raise CutoverRefused(
            "BRG406",
            ctx.line(element),
            f"`{short(ctx.code(element))}` mixes chosen tasks with others "
            f"({', '.join(sorted(t.task_id for t in tasks))}); list them in the statement instead",
        )

    try:
        sk = skeleton_of(small.value, func_value, marks_of)
    except CutoverRefused:
        cache[id(small)] = None
        raise
    cache[id(small)] = sk
    return sk


def _covered(ctx: Context, node, sk: Skeleton) -> bool:
    """Whether the edge rewrite takes care of this node: structure, or inside an M element."""
    if id(node) in sk.structural:
        return True
    elements = {id(e): m for o in sk.operands for e, m in zip(o.elements, o.marks, strict=True)}
    current = node
    while current is not None:
        if id(current) in elements:
            # The element itself is covered; inside an element only M elements are.
            return current is node or elements[id(current)]
        if current is sk.expr:
            return False
        current = ctx.parent(current)
    return False


def _generic(ctx: Context, plan: Plan, node, values, ids, calls, results, bindings, wanted):
    """A reference outside edge statements: a TaskFlow result passed on, `x.output`, an inline
    TaskFlow call used as data, a container of those. The task keeps a stand-in (added to
    `wanted`) whose output takes their place. Anything else is refused."""
    value = values[0]
    if isinstance(node, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return  # its elements decide
    parent = ctx.parent(node)
    if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value == "output":
        return  # `x.output`: the attribute decides
    if (
        isinstance(node, cst.Name)
        and isinstance(value, XComRef)
        and id(value) in results
        and all(v is value for v in values)
    ):
        task = results[id(value)].task
        binding = bindings.get(id(task))
        if binding is not None and binding.name is not None:
            wanted.add(task.task_id)  # the name is bound to the stand-in's output instead
            return
    if len(values) != 1:
        _refuse_use(ctx, node, "is evaluated more than once (a loop or a repeated function call)")
    if isinstance(node, cst.Call) and id(node) not in calls:
        if not isinstance(value, (TaskNode, XComRef)) or not _stands_for_chosen(value, ids):
            return  # a call that receives a chosen task's output as data: its arguments decide
    if id(node) in calls and isinstance(value, XComRef) and value.key == "return_value":
        task = calls[id(node)].task
        wanted.add(task.task_id)
        plan.inline_outputs[id(node)] = task.task_id  # becomes `<stand-in>.output`
        return
    if (
        isinstance(node, cst.Attribute)
        and node.attr.value == "output"
        and isinstance(value, XComRef)
        and len(value.tasks) == 1
        and id(value.tasks[0]) in ids
    ):
        binding = bindings.get(id(value.tasks[0]))
        if binding is not None and binding.name is not None and isinstance(node.value, cst.Name):
            if binding.name == node.value.value:
                wanted.add(value.tasks[0].task_id)  # `x` becomes the stand-in: `x.output` stays
                return
    _refuse_use(ctx, node, "uses a chosen task in a way the cutover cannot rewire")


def _stands_for_chosen(value, ids) -> bool:
    return any(id(t) in ids for t in tasks_in(value))


def _refuse_use(ctx: Context, node, why: str) -> None:
    names = ", ".join(
        sorted({t.task_id for v in ctx.values(node) for t in tasks_in(v)} & _chosen_ids(ctx))
    )
    raise CutoverRefused(
        "BRG406",
        ctx.line(node),
        f"`{short(ctx.code(node))}` {why} ({names}); set dependencies with `>>`, `chain` or "
        "`set_downstream`, or pass TaskFlow results directly",
    )


def _chosen_ids(ctx: Context) -> set[str]:
    return {t.task_id for t in ctx.chosen}


def touch(ctx: Context, plan: Plan, node) -> None:
    small = ctx.enclosing_small(node)
    line_node = ctx.statement_line(small) if small is not None else None
    if line_node is not None:
        plan.touched.append(ctx.line_of_stmt(line_node))


def short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
