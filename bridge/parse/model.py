"""The DagModel: what a DAG file declares, as plain typed objects that serialise to JSON.

Every later stage (translate, run, compare, the Airflow provider) reads these objects or their
JSON form. The networkx graph is derived from the task list and edges, never stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.diagnostics import Diagnostic

# partial: a dict or list whose known structure is `value`, with one nested ArgValue dict for
# each leaf that is not a literal. xcom: `value`, when set, is the structure the XCom holds as
# far as its producer's code shows (pushed.py), its unknown leaves xcom dicts with a "path".
# sdk: a SageMaker SDK call (parse.values.SdkCall) as {"sdk": dotted name, "line", "args": [...],
# "kwargs": {...}, and when set "self" (the receiver of a method), "calls" (later set_* calls
# on it) and "unread" (`**mapping` sources)}; its non-literal leaves are ArgValue dicts.
ArgKind = Literal[
    "literal", "template", "xcom", "param", "callable", "name", "expr", "partial", "sdk"
]


@dataclass
class ArgValue:
    """One keyword argument: its value when statically known, else its source text and kind."""

    kind: ArgKind
    value: Any = None  # JSON-able value for literal/template; None otherwise
    source: str | None = None  # source text when the value is not a literal
    refs: list[str] = field(default_factory=list)  # task ids an xcom value reads from
    key: str | None = None  # the XCom key read, when not "return_value"

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("literal", "template", "partial") or self.value is not None:
            data["value"] = self.value
        if self.source is not None:
            data["source"] = self.source
        if self.refs:
            data["refs"] = self.refs
        if self.key is not None:
            data["key"] = self.key
        return data


@dataclass
class CallableRef:
    """Where a Python callable (PythonOperator's python_callable or a TaskFlow function) lives."""

    name: str
    line: int
    end_line: int
    defined_in_file: bool = True

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "line": self.line,
            "end_line": self.end_line,
            "defined_in_file": self.defined_in_file,
        }


@dataclass
class TaskModel:
    task_id: str
    operator: str  # canonical fully-qualified class name (TaskFlow: airflow.sdk.task[.flavour])
    line: int
    group: str | None = None
    flavour: str | None = None  # TaskFlow decorator, e.g. "@task.branch"
    trigger_rule: str = "all_success"
    retries: int | None = None
    mapped: bool = False
    mapping: dict[str, Any] | None = None  # {"kind": "expand"|"expand_kwargs", "keys": [...]}
    is_setup: bool = False
    is_teardown: bool = False
    task_id_static: bool = True
    kwargs: dict[str, ArgValue] = field(default_factory=dict)
    callable: CallableRef | None = None

    def summary(self) -> dict:
        """The stable `bridge graph --format json` view of the task."""
        return {
            "task_id": self.task_id,
            "operator": self.operator,
            "group": self.group,
            "line": self.line,
            "trigger_rule": self.trigger_rule,
            "retries": self.retries,
            "mapped": self.mapped,
        }

    def to_dict(self) -> dict:
        data = self.summary()
        data.update(
            flavour=self.flavour,
            mapping=self.mapping,
            is_setup=self.is_setup,
            is_teardown=self.is_teardown,
            task_id_static=self.task_id_static,
            kwargs={k: v.to_dict() for k, v in self.kwargs.items()},
            callable=self.callable.to_dict() if self.callable else None,
        )
        return data


@dataclass
class Edge:
    upstream: str
    downstream: str
    kinds: set[str] = field(default_factory=set)  # "order" (>>, chain, ...) and/or "data" (XCom)
    label: str | None = None


@dataclass
class DagModel:
    dag_id: str
    line: int
    schedule: Any = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"default", **schema}
    default_args: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    tasks: dict[str, TaskModel] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    dag_id_static: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # max_active_tasks, description, ...

    @property
    def graph(self):
        """The DAG as a networkx.DiGraph (nodes carry `task`, edges `kinds` and `label`)."""
        import networkx as nx  # imported here: it costs ~0.6 s and most commands never need it

        g = nx.DiGraph(dag_id=self.dag_id)
        for task in self.tasks.values():
            g.add_node(task.task_id, task=task)
        for e in self.edges:
            g.add_edge(e.upstream, e.downstream, kinds=set(e.kinds), label=e.label)
        return g

    def task_order(self) -> list[str]:
        """Task ids in dependency order, ties broken by source line: stable for the same file."""
        import networkx as nx

        g = self.graph
        try:
            return list(
                nx.lexicographical_topological_sort(g, key=lambda n: (g.nodes[n]["task"].line, n))
            )
        except nx.NetworkXUnfeasible:  # a cycle (Airflow refuses the DAG): source order
            return sorted(g.nodes, key=lambda n: (g.nodes[n]["task"].line, n))

    def edge_pairs(self) -> list[list[str]]:
        return [[e.upstream, e.downstream] for e in self.edges]

    def summary(self) -> dict:
        """The stable `bridge graph --format json` view of the DAG."""
        return {
            "dag_id": self.dag_id,
            "line": self.line,
            "schedule": self.schedule,
            "params": self.params,
            "tags": self.tags,
            "default_args": self.default_args,
            "tasks": [t.summary() for t in self.tasks.values()],
            "edges": self.edge_pairs(),
            "data_edges": [[e.upstream, e.downstream] for e in self.edges if "data" in e.kinds],
            "edge_labels": [
                [e.upstream, e.downstream, e.label] for e in self.edges if e.label is not None
            ],
        }

    def to_dict(self) -> dict:
        data = self.summary()
        data["tasks"] = [t.to_dict() for t in self.tasks.values()]
        data["dag_id_static"] = self.dag_id_static
        data["options"] = self.options
        return data


@dataclass
class FileResult:
    path: str
    dags: list[DagModel] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def summary(self) -> dict:
        return {
            "path": self.path,
            "dags": [d.summary() for d in self.dags],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def to_dict(self) -> dict:
        data = self.summary()
        data["dags"] = [d.to_dict() for d in self.dags]
        return data
