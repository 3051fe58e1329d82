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
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from bridge.cutover.edges import (
    EdgeRewriteError,
    Skeleton,
    edges_of,
    resolve,
    signature,
    skeleton_of,
)
from bridge.cutover.trace import Creation, Frame, Trace, group_chain, tasks_in
from bridge.parse.values import DagNode, GroupNode, Symbol, TaskNode, XComRef

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
    _references(ctx, plan, ids, creations, bindings, wanted)
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


# ---- references ----------------------------------------------------------------------------------


def _references(ctx: Context, plan: Plan, ids: set[int], creations, bindings, wanted) -> None:
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
                "BRG406", ctx.line(small), f"`{_short(ctx.code(small))}`: {exc}"
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
                f"`{_short(ctx.code(element))}` is evaluated more than once (a loop or a "
                "function called several times) and stands for a chosen task",
            )
        value = values[0]
        if not isinstance(element, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)) or (
            isinstance(element, cst.Call) and id(element) not in calls
        ):
            raise CutoverRefused(
                "BRG406",
                ctx.line(element),
                f"`{_short(ctx.code(element))}` stands for a chosen task inside a dependency "
                "statement but is not a plain reference to it; use the task's variable",
            )
        if isinstance(value, (TaskNode, XComRef)) and len(hits) == len(tasks):
            return True
        raise CutoverRefused(
            "BRG406",
            ctx.line(element),
            f"`{_short(ctx.code(element))}` mixes chosen tasks with others "
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
        f"`{_short(ctx.code(node))}` {why} ({names}); set dependencies with `>>`, `chain` or "
        "`set_downstream`, or pass TaskFlow results directly",
    )


def _chosen_ids(ctx: Context) -> set[str]:
    return {t.task_id for t in ctx.chosen}


def _touch(ctx: Context, plan: Plan, node) -> None:
    small = ctx.enclosing_small(node)
    line_node = ctx.statement_line(small) if small is not None else None
    if line_node is not None:
        plan.touched.append(ctx.line_of_stmt(line_node))


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


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
        _touch(ctx, plan, ctx.nodes[key])


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


# ---- explicit edges (added when the oracle finds an edge missing) ----------------------------------


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


__all__ = [
    "Context",
    "CutoverRefused",
    "Options",
    "Plan",
    "StmtEdit",
    "add_explicit_edges",
    "make_plan",
]
