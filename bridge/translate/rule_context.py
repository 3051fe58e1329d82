"""What a rule may look at besides its task: the DAG, the configuration, the file, and helpers
that turn Airflow argument values into pipeline values (templates, XComs, params).

Rules report problems through `ctx.diagnose(...)`; they never print or raise for bad input.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.config import BridgeConfig, TaskOverride
from bridge.diagnostics import Diagnostic
from bridge.parse.model import ArgValue, DagModel, TaskModel
from bridge.parse.python_tree import module_tree
from bridge.reach import descendant_bits
from bridge.translate.expressions import Expr, Join, Param, StepOutput

if TYPE_CHECKING:
    from bridge.translate.context_values import RunClock


@dataclass
class RuleContext:
    dag: DagModel
    config: BridgeConfig = field(default_factory=BridgeConfig)
    source: str = ""  # the DAG file's text (for extracting callables)
    path: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    parameters: dict[str, Any] = field(
        default_factory=dict
    )  # name -> ParameterSpec, filled as used

    def diagnose(self, code: str, line: int, message: str) -> None:
        self.diagnostics.append(Diagnostic.make(code, line, message, self.path))

    def override(self, task: TaskModel) -> TaskOverride:
        return self.config.override_for(task.task_id)

    @functools.cached_property
    def _index(self) -> _ModuleIndex:
        """The DAG module parsed once for all tasks: a per-task parse or walk of the whole file
        would make translation grow with the square of the task count."""
        return _ModuleIndex.of(self.source)

    def functions_named(self, name: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Every `def name` of the DAG file, nested ones included, in source order."""
        return self._index.functions.get(name, [])

    def task_source(self, task: TaskModel) -> str:
        """The source text of the call that created the task (for placeholder comments)."""
        calls = self._index.calls.get(task.line, [])
        cls = task.operator.rsplit(".", 1)[-1]
        named = [n for n in calls if ast.unparse(n.func).rsplit(".", 1)[-1] == cls]
        calls = named or calls
        if not calls:
            return ""
        outer = max(calls, key=lambda n: (n.end_lineno or 0, -(n.col_offset or 0)))
        return ast.get_source_segment(self.source, outer) or ""

    @functools.cached_property
    def _task_ids(self) -> frozenset[str]:
        return frozenset(self.dag.tasks)

    @functools.cached_property
    def run_clock(self) -> RunClock:
        """How Airflow dates this DAG's runs, read once: every step that uses a context value
        needs it, and reading it walks the whole module."""
        from bridge.translate.context_values import run_clock

        return run_clock(self.dag, self.source)

    @functools.cached_property
    def graph(self):
        return self.dag.graph

    def ancestors(self, task_id: str) -> set[str]:
        import networkx as nx

        return nx.ancestors(self.graph, task_id)

    def runs_before(self, task_id: str, other: str) -> bool:
        """Whether `task_id` is upstream of `other`, directly or not: a bit test, where
        `ancestors` walks the graph (once per task, that grows with the square of the DAG)."""
        index = self._reach[0].get(task_id)
        return index is not None and bool(self._reach[1].get(other, 0) >> index & 1)

    @functools.cached_property
    def _reach(self) -> tuple[dict[str, int], dict[str, int]]:
        """Each task's bit, and each task's ancestors as a bit set (the reversed graph's
        descendants)."""
        bit = {t: i for i, t in enumerate(self.graph.nodes)}
        reversed_edges = [(v, u) for u, v in self.graph.edges]
        return bit, descendant_bits(bit, reversed_edges, lambda t: 1 << bit[t])

    def upstream(self, task_id: str) -> list[str]:
        return sorted(self.graph.predecessors(task_id))

    def downstream(self, task_id: str) -> list[str]:
        return sorted(self.graph.successors(task_id))

    def value(self, arg: ArgValue | None, task: TaskModel) -> tuple[Expr, list[str]]:
        """An argument as a pipeline value, and what could not be translated (one line each)."""
        if arg is None:
            return None, []
        if arg.kind == "xcom" and len(arg.refs) == 1:
            return StepOutput(arg.refs[0], arg.key or "return_value"), []
        if arg.kind in ("literal", "template", "partial"):
            return self.literal(arg.value, task)
        if arg.kind == "param":
            name = _param_name(arg.source or "")
            if name and name in self.dag.params:
                return self.dag_param(name), []
        return None, [f"`{arg.source}` ({arg.kind}) is only known when Airflow runs the DAG"]

    def literal(self, value: Any, task: TaskModel) -> tuple[Expr, list[str]]:
        """A JSON value whose strings may hold Jinja templates, nested ArgValue dicts (op_kwargs)
        or XCom references."""
        problems: list[str] = []

        def walk(v: Any) -> Any:
            if (
                isinstance(v, dict)
                and v.get("kind") == "file_value"
                and set(v) == {"kind", "source"}
            ):
                return self.file_value(str(v["source"]))
            if isinstance(v, dict) and v.get("kind") == "xcom" and "path" in v and v.get("refs"):
                return StepOutput(v["refs"][0], v.get("key") or "return_value", v["path"])
            if isinstance(v, dict) and isinstance(v.get("kind"), str) and v["kind"] in _ARG_KINDS:
                out, more = self.value(ArgValue(**_arg_fields(v)), task)
                problems.extend(more)
                return out
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            if isinstance(v, str) and ("{{" in v or "{%" in v):
                out, more = self.template(v, task)
                problems.extend(more)
                return out
            return v

        return walk(value), problems

    def template(self, text: str, task: TaskModel) -> tuple[Expr, list[str]]:
        from bridge.translate.templates import translate_template

        result = translate_template(
            text, dag_id=self.dag.dag_id, task_id=task.task_id, task_ids=self._task_ids
        )
        for spec in result.parameters.values():
            self.parameters.setdefault(spec.name, spec)
        for problem in result.problems:
            self.diagnose("BRG201", task.line, f"task `{task.task_id}`: {problem}")
        value = result.value
        if isinstance(value, (Param, StepOutput)) and not result.problems:
            value = Join((value,))  # Airflow renders a template to text: keep it a string
        return value, result.problems

    def file_value(self, source: str) -> Param:
        """A value the DAG file computes when Airflow parses it that the parser cannot know (a
        config module's constant) and a step cannot do without: a pipeline parameter, set when
        the pipeline starts (declared on first use)."""
        from bridge.translate.params import ParameterSpec, parameter_name

        spec = ParameterSpec(
            name=parameter_name(f"dag_{source}")[:256],
            type="String",
            default="",
            source="dag_file",
            description=f"The value of `{source}` in the DAG file, which the bridge cannot read: "
            "give it when you start the pipeline.",
        )
        self.parameters.setdefault(spec.name, spec)
        return Param(spec.name)

    def dag_param(self, name: str) -> Param:
        """The pipeline Parameter of the DAG param `name` (declared on first use)."""
        from bridge.translate.params import infer_parameters

        spec = infer_parameters({name: self.dag.params[name]})[name]
        self.parameters.setdefault(spec.name, spec)
        return Param(spec.name)


_ARG_KINDS = {"literal", "template", "xcom", "param", "callable", "name", "expr", "partial", "sdk"}


def _arg_fields(data: dict) -> dict:
    return {k: data[k] for k in ("kind", "value", "source", "refs", "key") if k in data}


def _param_name(source: str) -> str | None:
    """`params.x`, `params['x']`, `{{ params.x }}`: the param's name."""
    import re

    m = re.search(r"params(?:\.(\w+)|\[\s*['\"](\w+)['\"]\s*\])", source)
    return (m.group(1) or m.group(2)) if m else None


@dataclass(frozen=True)
class _ModuleIndex:
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]
    calls: dict[int, list[ast.Call]]  # by first line

    @classmethod
    def of(cls, source: str) -> _ModuleIndex:
        functions: dict[str, list] = {}
        calls: dict[int, list[ast.Call]] = {}
        tree = module_tree(source)
        if tree is None:
            return cls({}, {})
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.Call):
                calls.setdefault(node.lineno, []).append(node)
        for found in functions.values():
            found.sort(key=lambda n: n.lineno)
        return cls(functions, calls)
