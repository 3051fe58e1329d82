"""Cutover: rewriting the statements that set dependencies.

An edge statement is `a >> b << [c, d]`, `chain(...)`, `chain_linear(...)`,
`cross_downstream(...)` or `x.set_upstream(...)` / `x.set_downstream(...)`. Each of its operands
holds elements (a task, a list of them, a group, a label, an XComArg). After the cutover the
elements standing for chosen tasks ("M") all mean the new operator, so the statement can set an
edge from the operator to itself, or the same edge twice. `resolve` decides, on the abstract
operands, what to drop; `rebuild` applies that to the (already updated) libcst expression, keeping
every untouched element, comment and space as it was.

What `resolve` cannot keep without a self-loop it drops and reports as lost; the caller re-adds
those edges as explicit statements (the oracle in `bridge.cutover.codemod` tells which).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

SHIFT_OPS = (cst.RightShift, cst.LeftShift)
CHAIN_FUNCS = {
    "airflow.sdk.chain": "chain",
    "airflow.sdk.chain_linear": "chain_linear",
    "airflow.sdk.cross_downstream": "cross",
}


class EdgeRewriteError(Exception):
    """The statement cannot be rewritten without an edge from the new task to itself."""


@dataclass
class Operand:
    node: cst.BaseExpression
    elements: list[cst.BaseExpression]
    is_list: bool  # a list or tuple literal
    marks: list[bool]  # per element: stands for the new operator
    keep: list[bool] = field(default_factory=list)
    dropped: bool = False
    unwrap: bool = False  # a literal left with one element becomes that element

    def __post_init__(self) -> None:
        self.keep = [True] * len(self.elements)

    @property
    def live(self) -> list[bool]:
        return [m for m, k in zip(self.marks, self.keep, strict=True) if k]

    def has_m(self) -> bool:
        return any(self.live)

    def only_m(self) -> bool:
        live = self.live
        return bool(live) and all(live)

    def size(self) -> int:
        return sum(self.keep)

    def drop_m(self) -> None:
        self.keep = [k and not m for m, k in zip(self.marks, self.keep, strict=True)]

    def dedupe_m(self) -> None:
        seen = False
        for i, (m, k) in enumerate(zip(self.marks, self.keep, strict=True)):
            if m and k:
                if seen:
                    self.keep[i] = False
                seen = True


@dataclass
class Skeleton:
    """The structure of one edge statement: its kind and operands, in the order they run."""

    kind: str  # "shift" | "chain" | "chain_linear" | "cross" | "relate"
    expr: cst.BaseExpression
    operands: list[Operand]
    structural: set[int]  # ids of the nodes that are structure, not elements
    remove: bool = False

    def elements(self):
        for operand in self.operands:
            yield from operand.elements


def flatten_shift(expr: cst.BaseExpression) -> tuple[list[cst.BaseExpression], list, list]:
    """`a >> b << c` -> ([a, b, c], [>>, <<], [the BinaryOperation nodes, outermost first])."""
    operands: list[cst.BaseExpression] = [expr]
    ops: list = []
    nodes: list = []
    while True:
        head = operands[0]
        if (
            isinstance(head, cst.BinaryOperation)
            and isinstance(head.operator, SHIFT_OPS)
            and (not head.lpar or head is expr)
        ):
            nodes.append(head)
            operands[0:1] = [head.left, head.right]
            ops.insert(0, head.operator)
        else:
            return operands, ops, nodes


def _operand(node: cst.BaseExpression, marks_of) -> Operand:
    if isinstance(node, (cst.List, cst.Tuple)) and not any(
        isinstance(e, cst.StarredElement) for e in node.elements
    ):
        elements = [e.value for e in node.elements]
        return Operand(node, elements, True, [marks_of(e) for e in elements])
    return Operand(node, [node], False, [marks_of(node)])


def skeleton_of(expr: cst.BaseExpression, func_value, marks_of) -> Skeleton | None:
    """The edge skeleton of an expression statement, or None when it sets no dependency.

    `func_value` gives the evaluated value of a call's function; `marks_of(element)` says whether
    an element stands for the new operator (it raises for elements that cannot be rewritten).
    """
    from bridge.parse.values import Method, Symbol

    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, SHIFT_OPS):
        operands, _, nodes = flatten_shift(expr)
        ops = [_operand(o, marks_of) for o in operands]
        structural = {id(n) for n in nodes} | {id(o.node) for o in ops if o.is_list}
        return Skeleton("shift", expr, ops, structural)
    if not isinstance(expr, cst.Call):
        return None
    fn = func_value(expr.func)
    if isinstance(fn, Symbol) and fn.name in CHAIN_FUNCS:
        if any(a.star for a in expr.args):
            return None
        ops = [_operand(a.value, marks_of) for a in expr.args]
        structural = {id(expr), id(expr.func)} | {id(o.node) for o in ops if o.is_list}
        return Skeleton(CHAIN_FUNCS[fn.name], expr, ops, structural)
    if (
        isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in ("set_upstream", "set_downstream")
        and isinstance(fn, Method)
        and expr.args
        and expr.args[0].keyword is None
        and not expr.args[0].star
    ):
        receiver = Operand(expr.func.value, [expr.func.value], False, [marks_of(expr.func.value)])
        target = _operand(expr.args[0].value, marks_of)
        structural = {id(expr), id(expr.func)} | ({id(target.node)} if target.is_list else set())
        return Skeleton("relate", expr, [receiver, target], structural)
    return None


# ---- deciding what to drop ---------------------------------------------------------------------


def resolve(sk: Skeleton) -> None:
    """Drop elements and operands so that no pair of operands relates the new task to itself.

    Sets `keep`, `dropped`, `unwrap` on the operands and `remove` on the skeleton (nothing left
    to relate). Raises EdgeRewriteError when a `chain` of equal-length lists would break.
    """
    ops = sk.operands
    zip_pairs = sk.kind == "chain"
    for i, o in enumerate(ops):
        if not o.is_list:
            continue
        if o.only_m():
            o.dedupe_m()  # [M, M] means M next to anything (cross or zip alike)
        elif not (zip_pairs and _next_to_list(ops, i)):
            o.dedupe_m()
    i = 0
    while i < len(_alive(ops)) - 1:
        alive = _alive(ops)
        left, right = alive[i], alive[i + 1]
        if not _self_loop(sk.kind, left, right):
            i += 1
            continue
        if left.only_m() and left.size() == 1 and right.only_m() and right.size() == 1:
            if sk.kind in ("relate", "cross"):
                sk.remove = True
                return
            right.dropped = True  # `M >> M`: one operand is enough; its neighbours keep theirs
            continue
        _drop_one_side(sk, alive, i)
        i += 1
    alive = _alive(ops)
    if sk.kind in ("relate", "cross"):
        if any(o.size() == 0 for o in alive) or len(alive) < 2:
            sk.remove = True
    elif len(alive) < 2:
        sk.remove = True
    for o in alive:
        if o.is_list and o.size() == 1 and len(o.elements) > 1 and sk.kind != "cross":
            o.unwrap = True


def _alive(ops: list[Operand]) -> list[Operand]:
    return [o for o in ops if not o.dropped]


def _next_to_list(ops: list[Operand], i: int) -> bool:
    return any(0 <= j < len(ops) and ops[j].is_list for j in (i - 1, i + 1))


def _self_loop(kind: str, left: Operand, right: Operand) -> bool:
    if kind == "chain" and left.is_list and right.is_list:
        lm = [m for m, k in zip(left.marks, left.keep, strict=True) if k]
        rm = [m for m, k in zip(right.marks, right.keep, strict=True) if k]
        return any(a and b for a, b in zip(lm, rm, strict=False))
    return left.has_m() and right.has_m()


def _drop_one_side(sk: Skeleton, alive: list[Operand], i: int) -> None:
    """Remove M from the left or the right operand of pair i, whichever loses fewer edges."""
    left, right = alive[i], alive[i + 1]
    options = []
    for side, other in ((right, left), (left, right)):
        if side.size() <= 1:
            continue  # would empty the operand and join its neighbours
        if sk.kind == "relate" and side is alive[0]:
            continue  # the receiver of set_upstream stays
        if (
            sk.kind == "chain"
            and side.is_list
            and _next_to_list(sk.operands, sk.operands.index(side))
        ):
            continue  # a chain of lists pairs elements by position
        j = alive.index(side)
        neighbours = [
            alive[k] for k in (j - 1, j + 1) if 0 <= k < len(alive) and alive[k] is not other
        ]
        lost = (other.size() - int(other.has_m())) + sum(n.size() for n in neighbours)
        options.append((lost, side is left, side))
    if not options:
        raise EdgeRewriteError("it would relate the new task to itself")
    options.sort(key=lambda o: (o[0], o[1]))
    options[0][2].drop_m()


def edges_of(sk: Skeleton, keys_of) -> set[tuple[str, str]] | None:
    """The task edges the rewritten statement sets; None when they depend on more than task
    identities (groups, labels). `keys_of(element)` gives the task ids an element stands for, or
    None; elements standing for the new operator count as "\0M"."""
    operands = []
    for o in _alive(sk.operands):
        keys: list[set[str]] = []
        for e, m, k in zip(o.elements, o.marks, o.keep, strict=True):
            if not k:
                continue
            found = {"\0M"} if m else keys_of(e)
            if not found:
                return None
            keys.append(found)
        operands.append((o.is_list and not o.unwrap, keys))
    directions = _directions(sk)
    if directions is None:
        return None
    edges: set[tuple[str, str]] = set()
    for (l_list, left), (r_list, right), forward in zip(
        operands, operands[1:], directions, strict=False
    ):
        pairs = (
            zip(left, right, strict=False)
            if sk.kind == "chain" and l_list and r_list
            else ((a, b) for a in left for b in right)
        )
        for a, b in pairs:
            for x in a:
                for y in b:
                    edges.add((x, y) if forward else (y, x))
    return edges


def _directions(sk: Skeleton) -> list[bool] | None:
    """Per pair of consecutive kept operands: True when the left one is upstream."""
    alive = [i for i, o in enumerate(sk.operands) if not o.dropped]
    if sk.kind == "shift":
        _, ops, _ = flatten_shift(sk.expr)
        # The operator before a kept operand is the one it was written with.
        return [isinstance(ops[i - 1], cst.RightShift) for i in alive[1:]]
    if sk.kind == "relate":
        func = sk.expr.func  # type: ignore[attr-defined]
        return [func.attr.value == "set_downstream"]
    return [True] * (len(alive) - 1)


def signature(sk: Skeleton, code_of) -> tuple:
    """What the rewritten statement says, to recognise two statements that became the same."""
    parts = []
    for o in _alive(sk.operands):
        items = tuple(
            "\0M" if m else code_of(e)
            for e, m, k in zip(o.elements, o.marks, o.keep, strict=True)
            if k
        )
        parts.append((o.is_list and not o.unwrap, items))
    return (sk.kind, tuple(parts))


# ---- applying the decision to the updated tree -------------------------------------------------


def rebuild(sk: Skeleton, updated: cst.BaseExpression, new_name: str) -> cst.BaseExpression:
    """The updated statement expression with the decisions of `resolve` applied."""
    if sk.kind == "shift":
        operands, ops, _ = flatten_shift(updated)
        new_ops = [
            _rebuild_operand(o, u, new_name) for o, u in zip(sk.operands, operands, strict=True)
        ]
        kept = [k for k, o in enumerate(sk.operands) if not o.dropped]
        expr = new_ops[kept[0]]
        for k in kept[1:]:
            expr = cst.BinaryOperation(left=expr, operator=ops[k - 1], right=new_ops[k])
        assert isinstance(updated, cst.BinaryOperation)
        return expr.with_changes(lpar=updated.lpar, rpar=updated.rpar)
    assert isinstance(updated, cst.Call)
    if sk.kind == "relate":
        func = updated.func
        assert isinstance(func, cst.Attribute)
        receiver = _rebuild_operand(sk.operands[0], func.value, new_name)
        target = _rebuild_operand(sk.operands[1], updated.args[0].value, new_name)
        args = [updated.args[0].with_changes(value=target), *updated.args[1:]]
        return updated.with_changes(func=func.with_changes(value=receiver), args=args)
    args = []
    for o, arg in zip(sk.operands, updated.args, strict=True):
        if not o.dropped:
            args.append(arg.with_changes(value=_rebuild_operand(o, arg.value, new_name)))
    if args and args[-1].comma != updated.args[-1].comma:
        args[-1] = args[-1].with_changes(comma=updated.args[-1].comma)
    return updated.with_changes(args=args)


def _m_name(new_name: str, old: cst.BaseExpression) -> cst.Name:
    return cst.Name(new_name, lpar=getattr(old, "lpar", ()), rpar=getattr(old, "rpar", ()))


def _rebuild_operand(o: Operand, updated: cst.BaseExpression, new_name: str):
    if not o.is_list:
        return _m_name(new_name, updated) if o.marks[0] else updated
    assert isinstance(updated, (cst.List, cst.Tuple))
    elements = []
    for element, m, k in zip(updated.elements, o.marks, o.keep, strict=True):
        if k:
            elements.append(element.with_changes(value=cst.Name(new_name)) if m else element)
    if o.unwrap and len(elements) == 1:
        return elements[0].value
    last = updated.elements[-1]
    if elements and elements[-1] is not last:
        elements[-1] = elements[-1].with_changes(comma=last.comma)
    if isinstance(updated, cst.Tuple) and len(elements) == 1:
        if elements[0].comma is cst.MaybeSentinel.DEFAULT:
            elements[0] = elements[0].with_changes(comma=cst.Comma())
    return updated.with_changes(elements=elements)
