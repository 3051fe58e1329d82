"""Cutover, second step: decide every edit before touching the file.

Given the trace of a DAG file and the chosen tasks, `make_plan` finds the statements that create
those tasks, every place the file refers to them, and what becomes of each: the first creation
statement becomes the MigratedPipelineOperator, the others disappear, and edge statements are
rewritten (`cutover_edges`). A chosen task whose outputs or state stay in use (a TaskFlow result
passed on, `x.output`, an XCom a remaining task pulls, a task a migrated branch can skip) keeps
a `MigratedTaskOutput` stand-in under its task id, where its statement was: the operator pushes
every migrated task's XComs as `task_outputs` and the stand-in re-publishes them (Airflow keeps
XComs only for task instances of the run). Anything else that refers to a chosen task is refused
with BRG406, naming the line: a rewrite we cannot prove is never attempted.

The planning steps have their own modules: `context.py` (the shared shapes), `references.py`
(every reference to a chosen task), `explicit_edges.py` (edges the oracle finds missing).
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass

import libcst as cst

from bridge.cutover.context import (
    OPERATOR_CANONICAL,
    OPERATOR_CLASS,
    OPERATOR_MODULE,
    STANDIN_CANONICAL,
    STANDIN_CLASS,
    Context,
    CutoverRefused,
    Options,
    Plan,
    StmtEdit,
)
from bridge.cutover.explicit_edges import add_explicit_edges, position, stable_names
from bridge.cutover.references import references, touch
from bridge.cutover.trace import Creation, group_chain
from bridge.parse.values import GroupNode, Symbol, TaskNode, XComRef

# ---- entry point ---------------------------------------------------------------------------------


def make_plan(ctx: Context, selection: list[str], options: Options) -> Plan:
    chosen = [ctx.dag.tasks[t] for t in selection]
    ctx.chosen = chosen
    ids = {id(t) for t in chosen}
    creations = _creations(ctx, chosen)
    for c in creations.values():
        _check_clean(ctx, c)
    frames = {id(c.frame) for c in creations.values()}
    if len(frames) > 1:
        first = next(iter(creations.values()))
        raise CutoverRefused(
            "BRG406",
            ctx.line(first.call),
            "the chosen tasks are created in different function bodies; cut them over separately",
        )
    first = next(c for c in ctx.trace.seen.creations if id(c.task) in ids)
    plan = _new_plan(ctx, chosen, first, options)
    plan.frame = first.frame
    bindings = _statement_creations(ctx, creations.values())
    wanted = set(options.standins)
    references(ctx, plan, ids, creations, bindings, wanted)
    _place_operator(ctx, plan, first, bindings, options, selection)
    _place_standins(ctx, plan, creations, bindings, wanted)
    _imports(ctx, plan)
    return plan


# ---- the chosen tasks' creations -----------------------------------------------------------------


def _creations(ctx: Context, chosen: list[TaskNode]) -> dict[int, Creation]:
    found: dict[int, Creation] = {}
    for c in ctx.trace.seen.creations:
        if any(c.task is t for t in chosen):
            found.setdefault(id(c.task), c)
    for t in chosen:
        if id(t) not in found:
            raise CutoverRefused(
                "BRG406",
                t.line,
                f"task `{t.task_id}` is not created by an operator or TaskFlow call the cutover "
                "can remove (an @asset, or built where the parser cannot see the call)",
            )
    return found


def _check_clean(ctx: Context, c: Creation) -> None:
    tid = c.task.task_id
    line = ctx.line(c.call)

    def refuse(why: str) -> None:
        raise CutoverRefused("BRG406", line, f"task `{tid}` {why}; its statement cannot be removed")

    if c.task.mapped:
        refuse("is mapped (.expand)")
    if c.in_loop or ctx.trace.seen.created_by.get(id(c.call), 0) > 1:
        refuse("is created in a loop, a comprehension or a function called more than once")
    if c.frame.kind not in ("module", "dag"):
        name = getattr(c.frame.node, "name", None)
        what = {"group": "@task_group function", "function": "function"}[c.frame.kind]
        shown = f" `{name.value}`" if isinstance(name, cst.Name) else ""
        refuse(f"is created inside the {what}{shown} (a task factory)")
    if c.task.is_setup or c.task.is_teardown:
        refuse("is a setup or teardown task")
    for compound in c.compound:
        if not isinstance(compound, cst.With):
            kind = type(compound).__name__.lower()
            refuse(f"is created inside an `{kind}` block")
    if c.stmt is None or not isinstance(c.stmt, (cst.Assign, cst.AnnAssign, cst.Expr)):
        refuse("is not created in an assignment or an expression statement")
    line_node = ctx.statement_line(c.stmt)
    if line_node is None or len(line_node.body) != 1:
        refuse("shares its line with other statements (`;`)")
    if _is_statement_creation(c) and isinstance(c.stmt, cst.Assign):
        targets = c.stmt.targets
        if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
            refuse("is assigned to several names or unpacked")
    if _is_statement_creation(c) and isinstance(c.stmt, cst.AnnAssign):
        if not isinstance(c.stmt.target, cst.Name):
            refuse("is assigned to something other than a name")


def _is_statement_creation(c: Creation) -> bool:
    return getattr(c.stmt, "value", None) is c.call


def _target_name(c: Creation) -> str | None:
    if isinstance(c.stmt, cst.Assign):
        return c.stmt.targets[0].target.value  # type: ignore[union-attr]
    if isinstance(c.stmt, cst.AnnAssign):
        return c.stmt.target.value  # type: ignore[union-attr]
    return None


@dataclass
class Binding:
    """A creation that is a whole statement (`x = op(...)`, `train(data)`)."""

    creation: Creation
    line_node: cst.SimpleStatementLine
    name: str | None


def _statement_creations(ctx: Context, creations) -> dict[int, Binding]:
    out = {}
    for c in creations:
        if _is_statement_creation(c):
            line_node = ctx.statement_line(c.stmt)
            out[id(c.task)] = Binding(c, line_node, _target_name(c))  # type: ignore[arg-type]
    return out


# ---- names and ids -------------------------------------------------------------------------------


def _new_plan(ctx: Context, chosen: list[TaskNode], first: Creation, options: Options) -> Plan:
    names = {n.value for n in ctx.nodes.values() if isinstance(n, cst.Name)}
    names |= set(ctx.trace.scope.vars)
    group = _operator_group(ctx, first)
    prefix = f"{group.group_id}." if group is not None and group.group_id else ""
    base = chosen[0].task_id  # the first in dependency order
    if prefix and base.startswith(prefix):
        base = base[len(prefix) :]
    if options.task_id:
        local = options.task_id
        full = group.child_id(local) if group is not None else local
        if full in ctx.dag.tasks:
            raise CutoverRefused(
                "BRG407", ctx.dag.line, f"task id `{full}` already exists in DAG `{ctx.dag.dag_id}`"
            )
    else:
        stem = "migrated_" + re.sub(r"[^\w-]", "_", base)
        local, n = stem, 2
        while (group.child_id(local) if group is not None else local) in ctx.dag.tasks:
            local, n = f"{stem}_{n}", n + 1
        full = group.child_id(local) if group is not None else local
    var = _identifier(local)
    stem, n = var, 2
    while var in names:
        var, n = f"{stem}_{n}", n + 1
    return Plan(
        var=var,
        task_id=local,
        full_id=full,
        operator_name=_import_name(ctx, OPERATOR_CLASS, OPERATOR_CANONICAL, names),
        standin_name=_import_name(ctx, STANDIN_CLASS, STANDIN_CANONICAL, names),
    )


def _identifier(text: str) -> str:
    ident = re.sub(r"\W", "_", text)
    if not ident or ident[0].isdigit():
        ident = "_" + ident
    return ident + "_" if keyword.iskeyword(ident) else ident


def _import_name(ctx: Context, name: str, canonical: str, names: set[str]) -> str:
    """The name to use for an imported class: its own, unless the file binds it to another thing."""
    bound = ctx.trace.scope.vars.get(name)
    if bound is None and name not in names:
        return name
    if isinstance(bound, Symbol) and bound.name == canonical:
        return name
    alias = f"Bridge{name}"
    while alias in names and not (
        isinstance(ctx.trace.scope.vars.get(alias), Symbol)
        and ctx.trace.scope.vars[alias].name == canonical
    ):
        alias = "_" + alias
    return alias


def _operator_group(ctx: Context, first: Creation) -> GroupNode | None:
    """The task group the operator lands in: the one passed as `task_group=` to the first task
    (copied), else the innermost `with TaskGroup` kept around it."""
    if isinstance(first.call, cst.Call):
        for arg in first.call.args:
            if arg.keyword is not None and arg.keyword.value == "task_group":
                values = ctx.values(arg.value)
                if len(values) == 1 and isinstance(values[0], GroupNode):
                    return values[0]
    kept = _kept_withs(ctx, first)
    group = None
    for w in kept:
        g = _with_group(ctx, w)
        if g is not None:
            group = g
    return group


def _with_group(ctx: Context, w: cst.With) -> GroupNode | None:
    for item in w.items:
        for v in ctx.values(item.item):
            if isinstance(v, GroupNode):
                return v
    return None


def _common_group(tasks: list[TaskNode]) -> list[GroupNode]:
    """The groups every chosen task is in (root included)."""
    chains = [group_chain(t.group) for t in tasks]
    common = [g for g in chains[0] if all(any(g is h for h in c) for c in chains[1:])]
    return common


def _kept_withs(ctx: Context, first: Creation) -> list[cst.With]:
    """The `with` statements around the first creation that the operator stays inside: all of them
    up to the first task group that does not hold every chosen task."""
    common = _common_group(ctx.chosen) if ctx.chosen else []
    kept = []
    for w in first.compound:
        g = _with_group(ctx, w)
        if g is not None and not any(g is c for c in common):
            break
        kept.append(w)
    return kept


# ---- the operator statement ----------------------------------------------------------------------


def _place_operator(
    ctx: Context, plan: Plan, first: Creation, bindings, options: Options, order: list[str]
) -> None:
    kept = _kept_withs(ctx, first)
    if len(kept) < len(first.compound):
        plan.op_anchor, plan.op_mode = first.compound[len(kept)], "before"
    elif id(first.task) in bindings:
        plan.op_anchor, plan.op_mode = bindings[id(first.task)].line_node, "replace"
    else:
        plan.op_anchor, plan.op_mode = ctx.statement_line(first.stmt), "before"
    operator = cst.parse_statement(_operator_code(ctx, plan, first, options, order))
    for binding in bindings.values():
        plan.edit(binding.line_node).replace = []
        plan.touched.append(ctx.line_of_stmt(binding.line_node))
    edit = plan.edit(plan.op_anchor)
    if plan.op_mode == "replace":
        edit.replace = [operator]
    else:
        edit.before.append(operator)


def _place_standins(ctx: Context, plan: Plan, creations, bindings, wanted: set[str]) -> None:
    """`x = MigratedTaskOutput(task_id=..., pipeline_task=...)` and `op >> x` where each task
    that keeps a stand-in was created: same block, so the same task group and task id."""
    names = {n.value for n in ctx.nodes.values() if isinstance(n, cst.Name)}
    names |= set(ctx.trace.scope.vars) | {plan.var}
    for c in sorted(creations.values(), key=lambda c: c.task.task_id):
        tid = c.task.task_id
        if tid not in wanted:
            continue
        binding = bindings.get(id(c.task))
        taskflow = isinstance(c.value, XComRef)
        if binding is not None and binding.name is not None:
            var = binding.name
        else:
            var, n = _identifier(_local_id(c.task) + "_output"), 2
            while var in names:
                var, n = f"{_identifier(_local_id(c.task) + '_output')}_{n}", n + 1
            names.add(var)
        args = _standin_args(ctx, plan, c)
        suffix = ".output" if taskflow and binding is not None and binding.name else ""
        text = f"{var} = {plan.standin_name}({', '.join(args)}){suffix}"
        if len(text) + 4 * _depth(ctx, c) > 99:
            inner = "".join(f"    {a},\n" for a in args)
            text = f"{var} = {plan.standin_name}(\n{inner}){suffix}"
        statements = [
            cst.parse_statement(text + "\n"),
            cst.parse_statement(f"{plan.var} >> {var}\n"),
        ]
        plan.standins[tid] = var
        if binding is not None:
            edit = plan.edit(binding.line_node)
            edit.replace = [*(edit.replace or []), *statements]
            plan.standin_at[tid] = binding.line_node
        else:
            line_node = ctx.statement_line(ctx.enclosing_small(c.call))
            plan.edit(line_node).before.extend(statements)
            plan.standin_at[tid] = line_node
            plan.touched.append(ctx.line_of_stmt(line_node))
    for key, tid in plan.inline_outputs.items():
        plan.expr_edits[key] = cst.parse_expression(f"{plan.standins[tid]}.output")
        touch(ctx, plan, ctx.nodes[key])


def _local_id(task: TaskNode) -> str:
    """The task_id argument that gives this task its id in its group."""
    prefix = task.group.child_id("") if isinstance(task.group, GroupNode) else ""
    return (
        task.task_id[len(prefix) :] if prefix and task.task_id.startswith(prefix) else task.task_id
    )


def _standin_args(ctx: Context, plan: Plan, c: Creation) -> list[str]:
    args = [f"task_id={json.dumps(_local_id(c.task))}", f"pipeline_task={json.dumps(plan.full_id)}"]
    if isinstance(c.call, cst.Call):
        for arg in c.call.args:
            if arg.keyword is not None and arg.keyword.value in ("dag", "task_group"):
                args.append(f"{arg.keyword.value}={ctx.code(arg.value)}")
    return args


def _imports(ctx: Context, plan: Plan) -> None:
    wanted = [(OPERATOR_CLASS, plan.operator_name, OPERATOR_CANONICAL)]
    if plan.standins:
        wanted.append((STANDIN_CLASS, plan.standin_name, STANDIN_CANONICAL))
    for name, used, canonical in wanted:
        bound = ctx.trace.scope.vars.get(used)
        if isinstance(bound, Symbol) and bound.name == canonical:
            continue  # already imported
        plan.imports.append((OPERATOR_MODULE, name, None if used == name else used))


def _depth(ctx: Context, first: Creation) -> int:
    depth, node = 0, first.call
    while node is not None:
        if isinstance(node, cst.IndentedBlock):
            depth += 1
        node = ctx.parent(node)
    return depth


def _operator_code(ctx: Context, plan: Plan, first: Creation, options: Options, order) -> str:
    lines = [
        f"{plan.var} = {plan.operator_name}(",
        f"    task_id={json.dumps(plan.task_id)},",
        f"    pipeline_name={json.dumps(options.pipeline_name)},",
        f"    manifest={json.dumps(options.manifest)},",
    ]
    listed = f"    tasks={json.dumps(order)},"
    if len(listed) + 4 * _depth(ctx, first) > 96:
        listed = "\n".join(["    tasks=[", *(f"        {json.dumps(t)}," for t in order), "    ],"])
    lines.append(listed)
    call = first.call
    if isinstance(call, cst.Call):
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("dag", "task_group"):
                lines.append(f"    {arg.keyword.value}={ctx.code(arg.value)},")
    lines.append(")")
    return "\n".join(lines) + "\n"


__all__ = [
    "OPERATOR_CANONICAL",
    "OPERATOR_CLASS",
    "OPERATOR_MODULE",
    "STANDIN_CANONICAL",
    "STANDIN_CLASS",
    "Context",
    "CutoverRefused",
    "Options",
    "Plan",
    "StmtEdit",
    "add_explicit_edges",
    "make_plan",
    "position",
    "stable_names",
]
