"""Dependency semantics: `>>`, `<<`, set_upstream/downstream, chain, labels, groups, setup/teardown.

Ported from Airflow's task SDK (DependencyMixin, TaskGroup._set_relatives, EdgeModifier, chain,
chain_linear, cross_downstream, SetupTeardownContext) so that the static graph is the graph
Airflow builds, including its quirks (group leaves computed before the call, labels between task
groups attaching to the groups).
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.parse.values import EdgeMeta, GroupNode, LabelNode, TaskNode, XComRef, attach_to_dag


class DependencyError(Exception):
    """A dependency Airflow would refuse, or one on a value that is not statically known."""


DEP_TYPES = (TaskNode, XComRef, GroupNode, LabelNode)


def is_dependency(value) -> bool:
    return isinstance(value, DEP_TYPES)


def _as_list(value) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _check(value) -> None:
    if not is_dependency(value):
        raise DependencyError(f"cannot set a dependency on {describe(value)}")


def describe(value) -> str:
    from bridge.parse.values import Unknown

    if isinstance(value, Unknown):
        return f"`{value.source}` (not statically known)"
    return f"a {type(value).__name__} value"


def roots(value) -> list[TaskNode]:
    if isinstance(value, TaskNode):
        return [value]
    if isinstance(value, XComRef):
        return list(value.tasks)
    if isinstance(value, GroupNode):
        return group_roots(value)
    if isinstance(value, LabelNode):
        return [t for node in value.downstream for t in roots(node)]
    raise DependencyError(f"cannot set a dependency on {describe(value)}")


def leaves(value) -> list[TaskNode]:
    if isinstance(value, TaskNode):
        return [value]
    if isinstance(value, XComRef):
        return list(value.tasks)
    if isinstance(value, GroupNode):
        return group_leaves(value)
    if isinstance(value, LabelNode):
        return [t for node in value.upstream for t in leaves(node)]
    raise DependencyError(f"cannot set a dependency on {describe(value)}")


def group_roots(group: GroupNode) -> list[TaskNode]:
    tasks = list(group.iter_tasks())
    ids = set(map(id, tasks))
    return [t for t in tasks if not any(id(u) in ids for u in t.up)]


def group_leaves(group: GroupNode) -> list[TaskNode]:
    tasks = list(group.iter_tasks())
    ids = set(map(id, tasks))

    def has_non_teardown_downstream(task: TaskNode, exclude: TaskNode) -> bool:
        return any(d is not exclude and id(d) in ids and not d.is_teardown for d in task.down)

    def first_non_teardown(task: TaskNode):
        for u in task.up:
            if id(u) not in ids:
                continue
            if u.is_teardown:
                yield from first_non_teardown(u)
            elif task.is_teardown and u.is_setup:
                continue
            elif not has_non_teardown_downstream(u, exclude=task):
                yield u

    out: list[TaskNode] = []
    for t in tasks:
        if not any(id(d) in ids for d in t.down):
            if not t.is_teardown:
                out.append(t)
            else:
                out.extend(first_non_teardown(t))
    return out


def add_edge(
    up: TaskNode, down: TaskNode, kind: str = "order", label: LabelNode | None = None
) -> None:
    meta = up.down.get(down)
    if meta is None:
        meta = EdgeMeta()
        up.down[down] = meta
        down.up[up] = meta
    meta.kinds.add(kind)
    if label is not None:
        meta.label = label.label


def set_downstream(node, other, label: LabelNode | None = None, kind: str = "order") -> None:
    _set(node, other, upstream=False, label=label, kind=kind)


def set_upstream(node, other, label: LabelNode | None = None, kind: str = "order") -> None:
    _set(node, other, upstream=True, label=label, kind=kind)


def _set(node, other, upstream: bool, label, kind: str) -> None:
    if isinstance(node, TaskNode):
        _task_set_relatives(node, other, upstream, label, kind)
    elif isinstance(node, XComRef):
        for op in node.tasks:
            _task_set_relatives(op, other, upstream, label, kind)
    elif isinstance(node, GroupNode):
        _group_set_relatives(node, other, upstream, label, kind)
    elif isinstance(node, LabelNode):
        _label_set(node, other, upstream, kind)
    else:
        raise DependencyError(f"cannot set a dependency on {describe(node)}")


def _update_relative(obj, other: TaskNode, upstream: bool, label) -> None:
    """The other side's bookkeeping (Label remembers its ends; groups note group-level ids)."""
    if isinstance(obj, LabelNode):
        _label_save(obj, other, obj.upstream if upstream else obj.downstream)
        if obj.upstream and obj.downstream:
            _label_convert_streams(obj)
    elif isinstance(obj, GroupNode) and upstream:
        for t in roots(other) if not isinstance(other, TaskNode) else [other]:
            obj.upstream_tasks[t] = None


def _task_set_relatives(task: TaskNode, other, upstream: bool, label, kind: str) -> None:
    relatives: list[TaskNode] = []
    for obj in _as_list(other):
        _check(obj)
        _update_relative(obj, task, not upstream, label)
        relatives.extend(leaves(obj) if upstream else roots(obj))
    dags = {id(t.dag): t.dag for t in [*roots(task), *relatives] if t.dag is not None}
    if len(dags) > 1:
        raise DependencyError("tried to set relationships between tasks in more than one DAG")
    if not dags:
        if not relatives:
            return
        raise DependencyError("tried to create relationships between tasks that have no DAG yet")
    dag = next(iter(dags.values()))
    for t in [task, *relatives]:
        if t.dag is None:
            attach_to_dag(t, dag)
    for t in relatives:
        if upstream:
            add_edge(t, task, kind, label)
        else:
            add_edge(task, t, kind, label)


def _group_find_leaves(group: GroupNode) -> list[TaskNode]:
    g: GroupNode | None = group
    while g is not None:
        found = group_leaves(g)
        if found:
            return found
        if g.upstream_tasks:
            return list(g.upstream_tasks)
        g = g.parent
    return []


def _group_set_relatives(group: GroupNode, other, upstream: bool, label, kind: str) -> None:
    group_leaves_now = _group_find_leaves(group)
    others = _as_list(other)
    for obj in others:
        _check(obj)
        if not isinstance(obj, GroupNode):
            for t in roots(obj):
                if upstream:
                    group.upstream_tasks[t] = None
    if upstream:
        for task in group_roots(group):
            _task_set_relatives(task, others, True, label, kind)
    else:
        for task in group_leaves_now:
            _task_set_relatives(task, others, False, label, kind)


def _label_save(label: LabelNode, nodes, stream: list) -> None:
    for node in _as_list(nodes):
        if not isinstance(node, (TaskNode, XComRef, GroupNode)):
            raise DependencyError(
                f"edge labels work only with tasks, XComArgs or task groups, not {describe(node)}"
            )
        stream.append(node)


def _group_key(node) -> str | None:
    task = node.operator if isinstance(node, XComRef) else node
    if isinstance(task, TaskNode):
        if task.group is None or task.group.is_root:
            return "root"
        return task.group.group_id
    if isinstance(node, GroupNode):
        return node.group_id
    return None


def _label_convert_streams(label: LabelNode) -> None:
    """Airflow turns a label's ends into their task groups when they lie in different groups."""
    keys = {_group_key(n) for n in [*label.upstream, *label.downstream]}
    keys.discard(None)
    if len(keys) != 1:

        def convert(stream: list) -> list:
            return [
                n.group
                if isinstance(n, TaskNode) and n.group is not None and not n.group.is_root
                else n
                for n in stream
            ]

        label.upstream = convert(label.upstream)
        label.downstream = convert(label.downstream)


def _label_set(label: LabelNode, other, upstream: bool, kind: str) -> None:
    _label_save(label, other, label.upstream if upstream else label.downstream)
    if label.upstream and label.downstream:
        _label_convert_streams(label)
    if upstream:
        for node in label.downstream:
            set_upstream(node, other, label=label, kind=kind)
    else:
        for node in label.upstream:
            set_downstream(node, other, label=label, kind=kind)


def rshift(left, right):
    """`left >> right`, returning what Python returns."""
    if isinstance(left, (list, tuple)):
        if isinstance(right, (list, tuple)) or not is_dependency(right):
            raise DependencyError(f"`>>` between {describe(left)} and {describe(right)}")
        set_upstream(right, left)
        return right
    _check(left)
    set_downstream(left, right)
    return right


def lshift(left, right):
    """`left << right`, returning what Python returns."""
    if isinstance(left, (list, tuple)):
        if isinstance(right, (list, tuple)) or not is_dependency(right):
            raise DependencyError(f"`<<` between {describe(left)} and {describe(right)}")
        set_downstream(right, left)
        return right
    _check(left)
    set_upstream(left, right)
    return right


def chain(*elements) -> None:
    """Airflow's chain(): each neighbouring pair is linked on its own, so one element the parser
    cannot know (a task made by an imported helper) loses only its own links, not the rest."""
    errors: list[str] = []
    for up, down in zip(elements, elements[1:], strict=False):
        try:
            _chain_pair(up, down)
        except DependencyError as exc:
            errors.append(str(exc))
    if errors:
        raise DependencyError("; ".join(dict.fromkeys(errors)))


def _chain_pair(up, down) -> None:
    if is_dependency(up):
        set_downstream(up, down)
        return
    if is_dependency(down):
        set_upstream(down, up)
        return
    if not isinstance(up, Sequence) or not isinstance(down, Sequence) or isinstance(up, str):
        raise DependencyError(f"chain() between {describe(up)} and {describe(down)}")
    if len(up) != len(down):
        raise DependencyError(
            f"chain() between lists of different lengths ({len(up)} and {len(down)})"
        )
    for u, d in zip(up, down, strict=True):
        set_downstream(u, d)


def chain_linear(*elements) -> None:
    prev = None
    for curr in elements:
        if isinstance(curr, LabelNode):
            raise DependencyError("labels are not supported by chain_linear()")
        if prev is not None:
            for task in prev:
                rshift(task, curr)
        prev = [curr] if is_dependency(curr) else _as_list(curr)


def cross_downstream(from_tasks, to_tasks) -> None:
    for task in _as_list(from_tasks):
        set_downstream(task, to_tasks)


class SetupTeardownContext:
    """`with teardown_task:` / `with setup >> teardown:` — Airflow's SetupTeardownContext, per file."""

    def __init__(self) -> None:
        self.active = False
        self.context_map: dict = {}
        self.setup: list | TaskNode | tuple = []
        self.prev_setup: list = []
        self.teardown: list | TaskNode | tuple = []
        self.prev_teardown: list = []
        self.teardown_down_of_setup: list = []
        self.prev_teardown_down_of_setup: list = []
        self.setup_up_of_teardown: list = []
        self.prev_setup_up_of_teardown: list = []

    @staticmethod
    def _key(task):
        return tuple(task) if isinstance(task, list) else task

    def add_task(self, task: TaskNode) -> None:
        if not self.active or task.is_setup or task.is_teardown:
            return
        for ctx in (self.setup, self.teardown):
            if ctx:
                self.context_map.setdefault(self._key(ctx), []).append(task)

    @staticmethod
    def _set_dependency(receiving, new, upstream: bool = True) -> None:
        for task in _as_list(new):
            if upstream:
                set_upstream(task, receiving)
            else:
                set_downstream(task, receiving)

    def push(self, operator) -> None:
        first = operator[0] if isinstance(operator, list) else operator
        if first.is_teardown:
            if self.teardown and self.teardown is not operator:
                self.prev_teardown.append(self.teardown)
            self.teardown = operator
            setups = self._find(first.up, lambda t: t.is_setup, first)
            if self.setup_up_of_teardown and self.setup_up_of_teardown != setups:
                self.prev_setup_up_of_teardown.append(self.setup_up_of_teardown)
            self.setup_up_of_teardown = setups
        elif first.is_setup:
            if self.setup and self.setup is not operator:
                self.prev_setup.append(self.setup)
            self.setup = operator
            teardowns = self._find(first.down, lambda t: t.is_teardown, first)
            if self.teardown_down_of_setup and self.teardown_down_of_setup != teardowns:
                self.prev_teardown_down_of_setup.append(self.teardown_down_of_setup)
            self.teardown_down_of_setup = teardowns
        self.active = True

    @staticmethod
    def _find(start, wanted, operator) -> list:
        tasks = list(start)
        seen = 0
        while tasks and seen < 10_000:
            found = [t for t in tasks if wanted(t)]
            if found:
                return found
            tasks = [x for t in tasks for x in [*t.down, *t.up] if x is not operator]
            seen += len(tasks)
        return []

    def exit(self) -> None:
        if self.setup:
            work = [
                t
                for t in self.context_map.get(self._key(self.setup), [])
                if not t.is_setup and not t.is_teardown
            ]
            if work:
                rts = [t for t in work if not t.up]
                if not rts:
                    rshift(self.setup, work[0])
                else:
                    self._set_dependency(rts, self.setup, upstream=False)
                lvs = [t for t in work if not t.down] or work[-1]
                if self.teardown:
                    self._set_dependency(self.teardown, self.teardown_down_of_setup)
                else:
                    self._set_dependency(lvs, self.teardown_down_of_setup)
        if self.teardown:
            work = [
                t
                for t in self.context_map.get(self._key(self.teardown), [])
                if not t.is_setup and not t.is_teardown
            ]
            if work:
                lvs = [t for t in work if not t.down]
                if not lvs:
                    lshift(self.teardown, work[-1])
                else:
                    self._set_dependency(lvs, self.teardown)
                rts = [t for t in work if not t.up] or work[0]
                if self.setup:
                    self._set_dependency(self.setup, self.setup_up_of_teardown, upstream=False)
                else:
                    self._set_dependency(rts, self.setup_up_of_teardown, upstream=False)
        self._pop()
        self.active = False

    def _pop(self) -> None:
        old_setup, old_teardown = self.setup, self.teardown
        if self.prev_setup:
            self.setup = self.prev_setup.pop()
            if self.setup and old_setup:
                self._set_dependency(old_setup, self.setup, upstream=False)
        else:
            self.setup = []
        if self.prev_teardown:
            self.teardown = self.prev_teardown.pop()
            if self.teardown and old_teardown:
                self._set_dependency(old_teardown, self.teardown)
        else:
            self.teardown = []
        old = self.teardown_down_of_setup
        if self.prev_teardown_down_of_setup:
            self.teardown_down_of_setup = self.prev_teardown_down_of_setup.pop()
            if self.teardown_down_of_setup and old:
                self._set_dependency(old, self.teardown_down_of_setup)
        else:
            self.teardown_down_of_setup = []
        old = self.setup_up_of_teardown
        if self.prev_setup_up_of_teardown:
            self.setup_up_of_teardown = self.prev_setup_up_of_teardown.pop()
            if self.setup_up_of_teardown and old:
                self._set_dependency(old, self.setup_up_of_teardown, upstream=False)
        else:
            self.setup_up_of_teardown = []
        self.context_map.pop(self._key(old_setup), None) if old_setup else None
        self.context_map.pop(self._key(old_teardown), None) if old_teardown else None
