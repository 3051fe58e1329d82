"""The objects the static interpreter computes with, in place of Airflow's runtime objects.

They mirror what Airflow builds when it imports a DAG file (DAG, TaskGroup, operators, XComArgs,
edge labels) closely enough that dependency semantics can be ported line for line, but they never
run user code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst


class Unknown:
    """A value the parser cannot know statically; it remembers the source text and why."""

    __slots__ = ("source", "kind", "line")

    def __init__(self, source: str, kind: str = "expr", line: int = 0):
        self.source = source
        self.kind = kind
        self.line = line

    def __repr__(self) -> str:
        return f"Unknown({self.source!r})"

    def __format__(self, spec: str) -> str:  # so str.format() on it fails and is caught
        raise TypeError("unknown value")

    def __bool__(self) -> bool:
        raise TypeError("unknown truth value")


class LazySource:
    """The source text of an argument, generated only when someone needs it (codegen is costly).

    `restore`, when given, maps the text of the tree libcst parsed back to the file's own text
    (long operator chains are parsed flattened, see parse.check_source)."""

    __slots__ = ("node", "module", "_text", "restore")

    def __init__(self, node: cst.CSTNode, module: cst.Module, restore=None):
        self.node = node
        self.module = module
        self.restore = restore
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            text = self.module.code_for_node(self.node).strip()
            self._text = self.restore(text) if self.restore is not None else text
        return self._text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Symbol:
    """An imported (or attribute-of-imported) name, by canonical dotted path."""

    name: str

    @property
    def top(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(eq=False)
class EdgeMeta:
    kinds: set[str] = field(default_factory=set)
    label: str | None = None


@dataclass(eq=False)
class TaskNode:
    task_id: str
    operator: str
    line: int
    dag: DagNode | None = field(default=None, repr=False)
    group: GroupNode | None = field(default=None, repr=False)
    flavour: str | None = None
    trigger_rule: str | None = "all_success"
    retries: int | None = 0
    mapped: bool = False
    mapping: dict | None = None
    is_setup: bool = False
    is_teardown: bool = False
    task_id_static: bool = True
    kwargs: dict[str, tuple[Any, str]] = field(
        default_factory=dict, repr=False
    )  # name -> (value, source)
    callable: Any = field(default=None, repr=False)
    # kwarg -> the structure a whole-XCom argument reads, from its producer's body (pushed.py)
    shapes: dict[str, Any] = field(default_factory=dict, repr=False)
    up: dict[TaskNode, EdgeMeta] = field(default_factory=dict, repr=False)
    down: dict[TaskNode, EdgeMeta] = field(default_factory=dict, repr=False)

    def __hash__(self) -> int:
        return id(self)


@dataclass(eq=False)
class XComRef:
    """An XComArg: a reference to the output of one or more tasks (zip/concat join several)."""

    tasks: list[TaskNode]
    key: str = "return_value"

    @property
    def operator(self) -> TaskNode:
        return self.tasks[0]


@dataclass(eq=False)
class SdkCall:
    """A call of the SageMaker Python SDK (v1/v2) the DAG file makes at import time: an
    estimator, processor, transformer, tuner, input, or a `sagemaker.workflow.airflow` config
    helper. Kept as what was called with what, never run, so that a rule can work out the
    request it builds (translators/sagemaker_sdk.py).

    `name` is the canonical dotted path of the class or function; a method call on another
    SdkCall (`estimator.transformer(...)`) is named `<receiver name>.<method>` with the
    receiver kept. `calls` are the later calls that change the object in place
    (`estimator.set_hyperparameters(...)`), in order; `unread` the source text of `**kwargs`
    the parser could not read."""

    name: str
    args: list[tuple[Any, str]]  # (value, source)
    kwargs: dict[str, tuple[Any, str]]
    line: int
    receiver: SdkCall | None = None
    calls: list[SdkCall] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


@dataclass(eq=False)
class SdkMethod:
    """`estimator.transformer` before it is called: the call becomes an SdkCall on `receiver`."""

    receiver: SdkCall
    name: str


@dataclass(eq=False)
class MappedArg:
    """What a mapped @task_group function receives for an expanded argument."""

    refs: list[TaskNode]
    source: str


@dataclass(eq=False)
class DagParamRef:
    """A @dag function's argument inside its body: a reference to a DAG param."""

    name: str
    default: Any


@dataclass(eq=False)
class ParamValue:
    """`Param(default, type=..., ...)`."""

    default: Any
    schema: dict[str, Any]


@dataclass(eq=False)
class GroupNode:
    raw_id: str | None
    dag: DagNode = field(repr=False)
    parent: GroupNode | None = field(default=None, repr=False)
    prefix_group_id: bool = True
    default_args: dict = field(default_factory=dict)
    mapped: bool = False
    children: dict[str, Any] = field(default_factory=dict, repr=False)
    upstream_tasks: dict[TaskNode, None] = field(default_factory=dict, repr=False)

    @property
    def group_id(self) -> str | None:
        if self.raw_id and self.parent and self.parent.prefix_group_id and self.parent.raw_id:
            return self.parent.child_id(self.raw_id)
        return self.raw_id

    @property
    def is_root(self) -> bool:
        return not self.raw_id

    def child_id(self, label: str) -> str:
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def iter_tasks(self):
        for child in self.children.values():
            if isinstance(child, GroupNode):
                yield from child.iter_tasks()
            else:
                yield child

    def in_mapped_group(self) -> bool:
        g: GroupNode | None = self
        while g is not None:
            if g.mapped:
                return True
            g = g.parent
        return False


@dataclass(eq=False)
class DagNode:
    dag_id: str
    line: int
    kwargs: dict[str, tuple[Any, str]] = field(default_factory=dict)
    dag_id_static: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    auto_register: bool = True
    tasks: dict[str, TaskNode] = field(default_factory=dict, repr=False)
    used_group_ids: set = field(default_factory=set, repr=False)
    root: GroupNode = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.root = GroupNode(None, self)

    @property
    def default_args(self) -> dict:
        value = self.kwargs.get("default_args", ({}, ""))[0]
        return value if isinstance(value, dict) else {}


@dataclass(eq=False)
class LabelNode:
    """Airflow's EdgeModifier: remembers its upstream and downstream sides."""

    label: Any
    upstream: list = field(default_factory=list)
    downstream: list = field(default_factory=list)


@dataclass(eq=False)
class FunctionValue:
    """A function defined in the file (or a lambda), with the scope it closes over."""

    node: cst.FunctionDef | cst.Lambda = field(repr=False)
    name: str
    closure: Any = field(repr=False)  # Scope
    defaults: dict[str, Any] = field(repr=False)
    line: int = 0
    end_line: int = 0


@dataclass(eq=False)
class TaskFuncValue:
    """A @task-decorated function: calling it creates a task."""

    func: FunctionValue
    flavour: str | None
    kwargs: dict[str, tuple[Any, str]]
    is_setup: bool = False
    is_teardown: bool = False
    partial: dict[str, tuple[Any, str]] = field(default_factory=dict)


@dataclass(eq=False)
class DecoratorFactory:
    """`@task(...)`, `@task.virtualenv(...)`, `@dag(...)`, `@task_group(...)`, `@asset(...)` before applying."""

    kind: str  # "task" | "dag" | "task_group" | "asset"
    flavour: str | None
    kwargs: dict[str, tuple[Any, str]]


@dataclass(eq=False)
class DagFuncValue:
    func: FunctionValue
    kwargs: dict[str, tuple[Any, str]]


@dataclass(eq=False)
class GroupFuncValue:
    func: FunctionValue
    kwargs: dict[str, tuple[Any, str]]
    partial: dict[str, tuple[Any, str]] = field(default_factory=dict)


@dataclass(eq=False)
class ClassValue:
    name: str
    qualname: str
    bases: list[Any]
    is_operator: bool


@dataclass(eq=False)
class PartialValue:
    """`Operator.partial(...)` for a classic operator class."""

    operator: str
    kwargs: dict[str, tuple[Any, str]]


@dataclass(eq=False)
class Method:
    """A method of one of our objects, bound to it; `fn(interp, self, args, kwargs, node)`."""

    fn: Any
    obj: Any


@dataclass(eq=False)
class BuiltinMethod:
    """A method of a Python literal (str.format, list.append, dict.items, ...)."""

    obj: Any
    name: str


def attach_to_dag(task: TaskNode, dag: DagNode) -> None:
    """A task created without a DAG joins the DAG of the first task it is related to."""
    task.dag = dag
    group = task.group or dag.root
    task.group = group
    dag.tasks.setdefault(task.task_id, task)
    group.children.setdefault(task.task_id, task)


_SUFFIX = re.compile(r"__\d+$")


def unique_task_id(task_id: str, dag: DagNode | None, group: GroupNode | None) -> str:
    """Airflow's get_unique_task_id: suffix `__N` when a TaskFlow task id is taken."""
    if dag is None:
        return task_id
    full = group.child_id(task_id) if group else task_id
    if full not in dag.tasks:
        return task_id
    prefix = _SUFFIX.split(full)[0]
    suffixes = [0]
    for existing in dag.tasks:
        match = re.match(rf"^{prefix}__(\d+)$", existing)
        if match:
            suffixes.append(int(match.group(1)))
    core = _SUFFIX.split(task_id)[0]
    return f"{core}__{max(suffixes) + 1}"


def unique_group_id(group_id: str, used: set) -> str:
    """TaskGroup._check_for_group_id_collisions with add_suffix_on_collision."""
    base = _SUFFIX.split(group_id)[0]
    suffixes = sorted(
        int(re.split(r"^.+__", u)[1])
        for u in used
        if u is not None and re.match(rf"^{base}__\d+$", u)
    )
    return f"{group_id}__1" if not suffixes else f"{base}__{suffixes[-1] + 1}"
