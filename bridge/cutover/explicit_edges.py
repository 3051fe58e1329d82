"""Cutover planning, last resort: dependency statements added where the oracle (the file parsed
again after the rewrite) finds an edge of the original graph missing. Tasks are named by a name
bound once in the operator's frame, and each statement goes after both of its ends exist."""

from __future__ import annotations

import libcst as cst

from bridge.cutover.context import Context, CutoverRefused, Plan
from bridge.cutover.trace import Frame, tasks_in
from bridge.parse.values import TaskNode, XComRef


def stable_names(ctx: Context, frame: Frame) -> dict[int, tuple[str, list[cst.CSTNode]]]:
    """Task (by id) -> a variable that always holds it in the frame, and the statements binding it."""
    per_name: dict[str, set[int]] = {}
    tasks: dict[int, TaskNode] = {}
    nodes = ctx.nodes
    for key, values in ctx.trace.seen.values.items():
        node = nodes.get(key)
        if not isinstance(node, cst.Name) or ctx.trace.seen.frames.get(key) is not frame:
            continue
        ids = per_name.setdefault(node.value, set())
        for v in values:
            if isinstance(v, (TaskNode, XComRef)) and len(tasks_in(v)) == 1:
                t = tasks_in(v)[0]
                ids.add(id(t))
                tasks[id(t)] = t
            else:
                ids.add(-1)
    body = _frame_body(ctx, frame)
    binders = _binders(body)
    out: dict[int, tuple[str, list[cst.CSTNode]]] = {}
    for name, ids in sorted(per_name.items()):
        if len(ids) != 1 or -1 in ids or name not in binders or binders[name] is None:
            continue
        (tid,) = ids
        out.setdefault(tid, (name, binders[name]))
    return out


def _frame_body(ctx: Context, frame: Frame) -> list[cst.CSTNode]:
    if frame.node is None:
        return list(ctx.module.body)
    body = frame.node.body  # type: ignore[union-attr]
    return list(body.body)


def _binders(body: list[cst.CSTNode]) -> dict[str, list[cst.CSTNode] | None]:
    """name -> the statements of the body that bind it (None when a loop or `del` does)."""
    out: dict[str, list[cst.CSTNode] | None] = {}

    def bind(name: str, stmt, ok: bool = True) -> None:
        if not ok:
            out[name] = None
        elif out.get(name, []) is not None:
            out.setdefault(name, []).append(stmt)  # type: ignore[union-attr]

    def targets(node, stmt, ok=True):
        if isinstance(node, cst.Name):
            bind(node.value, stmt, ok)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for e in node.elements:
                targets(e.value, stmt, False)
        elif isinstance(node, cst.StarredElement):
            targets(node.value, stmt, False)

    def walk(stmts, in_loop=False):
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            targets(t.target, stmt, not in_loop)
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        targets(small.target, stmt, not in_loop)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                bind(stmt.name.value, stmt, not in_loop)
            elif isinstance(stmt, cst.With):
                for item in stmt.items:
                    if item.asname is not None:
                        targets(item.asname.name, stmt, not in_loop)
                walk(stmt.body.body, in_loop)
            elif isinstance(stmt, (cst.For, cst.While)):
                if isinstance(stmt, cst.For):
                    targets(stmt.target, stmt, False)
                walk(stmt.body.body, True)
            elif isinstance(stmt, (cst.If, cst.Try)):
                for block in _blocks(stmt):
                    walk(block, in_loop)

    walk(body)
    return out


def _blocks(stmt) -> list[list[cst.CSTNode]]:
    blocks = [list(stmt.body.body)]
    orelse = getattr(stmt, "orelse", None)
    while isinstance(orelse, cst.If):
        blocks.append(list(orelse.body.body))
        orelse = orelse.orelse
    if isinstance(orelse, cst.Else):
        blocks.append(list(orelse.body.body))
    for handler in getattr(stmt, "handlers", ()):
        blocks.append(list(handler.body.body))
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        blocks.append(list(final.body.body))
    return blocks


def position(ctx: Context, stmt: cst.CSTNode) -> tuple[int, ...]:
    """Where a statement runs, as indexes from the module down: later statements compare greater."""
    path: list[int] = []
    node = stmt
    while True:
        parent = ctx.parent(node)
        if parent is None:
            break
        if isinstance(parent, (cst.Module, cst.IndentedBlock)):
            path.append(next(i for i, s in enumerate(parent.body) if s is node))
        node = parent
    return tuple(reversed(path))


def add_explicit_edges(ctx: Context, plan: Plan, edges: list[tuple[str, str]]) -> list[str]:
    """`a >> op`, `op >> [c, d]`, `stand_in >> d` for edges the rewrite lost (each has the new
    operator or a stand-in on one side); returns the statements added. Raises CutoverRefused
    when a task has no variable that always holds it."""
    assert plan.frame is not None and plan.op_anchor is not None
    names = stable_names(ctx, plan.frame)
    by_id = {t.task_id: t for t in ctx.dag.tasks.values()}
    after = position(ctx, plan.op_anchor)
    where = None

    def expr(task_id: str) -> str:
        nonlocal after, where
        if task_id == plan.full_id:
            return plan.var
        if task_id in plan.standins:
            pos = position(ctx, plan.standin_at[task_id])
            if pos > after:
                after, where = pos, plan.standin_at[task_id]
            return plan.standins[task_id]
        task = by_id[task_id]
        if id(task) not in names:
            raise CutoverRefused(
                "BRG409",
                task.line,
                f"the rewrite lost the edge between `{task_id}` and the new task, and no "
                f"variable always holds `{task_id}` to set it again",
            )
        name, binders = names[id(task)]
        for b in binders:
            pos = position(ctx, b)
            if pos > after:
                after, where = pos, b
        return name

    grouped: dict[tuple[str, str], list[str]] = {}
    for u, v in edges:
        if v == plan.full_id:
            grouped.setdefault(("in", v), []).append(u)
        else:
            grouped.setdefault(("out", u), []).append(v)
    texts = []
    for (side, task), others in sorted(grouped.items()):
        listed = [expr(o) for o in sorted(others)]
        many = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
        texts.append(f"{many} >> {expr(task)}" if side == "in" else f"{expr(task)} >> {many}")
    for text in texts:
        stmt = cst.parse_statement(text + "\n")
        if where is None:
            edit = plan.edit(plan.op_anchor)
            if plan.op_mode == "replace":
                edit.replace = [*(edit.replace or []), stmt]
            else:
                edit.before.append(stmt)
        else:
            plan.edit(where).after.append(stmt)
    return texts
