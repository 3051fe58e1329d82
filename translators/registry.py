"""The rule registry: canonical operator name -> the rule that translates it.

A rule is a small function decorated with `@rule(...)`; it carries its documentation (the
docstring) and before/after examples that the tests run, so the docs and the tests are one text.
Built-in rules live in this package, one module per operator family; users add or override rules
with `--rules my_module` or the `bridge.rules` entry point group, without forking.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.pipeline_model import Fate, Fidelity
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import PlaceholderSpec, StepSpec, spec_from_dict

BUILTIN_MODULES = (
    "translators.control_flow",
    "translators.python",
    "translators.bash",
    "translators.branching",
    "translators.sagemaker",
    "translators.sagemaker_condition",
    "translators.aws_lambda",
    "translators.emr",
    "translators.sensors",
    "translators.sensors_time",
    "translators.airflow_ops",
    "translators.aws_s3",
    "translators.aws_messaging",
    "translators.aws_sagemaker_api",
    "translators.aws_glue",
    "translators.aws_query",
    "translators.aws_bedrock",
    "translators.aws_step_functions",
    "translators.aws_redshift_data",
    "translators.aws_emr_serverless",
    "translators.operator_step",
)
ENTRY_POINT_GROUP = "bridge.rules"


@dataclass
class StepDraft:
    """A step a rule asks for; the engine names it and wires its dependencies."""

    kind: str
    spec: StepSpec = None  # type: ignore[assignment]  # (None: the kind's empty spec)
    suffix: str = ""  # for a task with several steps: this one's name suffix ("-poll", "-to-x")
    after: list[int] | None = None  # indices of the task's earlier drafts it runs after
    # (None: the previous draft)
    side: str | None = None  # "if" | "else": on that side of the Condition draft(s) it runs after

    def __post_init__(self) -> None:
        # A dictionary (a rule written before specs were typed) becomes its typed spec; an
        # unknown key is a TypeError here rather than a value the emitter ignores.
        if self.spec is None or isinstance(self.spec, Mapping):
            self.spec = spec_from_dict(self.kind, self.spec or {})


@dataclass
class Translation:
    fate: Fate
    fidelity: Fidelity
    steps: list[StepDraft] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    # Edges to downstream tasks that leave from a particular draft, with a condition side:
    # {downstream task id: (draft index, "if" | "else")}. Others leave from the last draft.
    exits: dict[str, tuple[int, str]] = field(default_factory=dict)
    parallel: bool = False  # the steps are independent instances (literal mapping)


@dataclass(frozen=True)
class Example:
    """A DAG snippet and what the rule must make of each of its tasks ({task_id: {field: value}})."""

    title: str
    dag: str
    expect: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    name: str
    operators: tuple[str, ...]
    fn: Callable[[TaskModel, RuleContext], Translation]
    examples: tuple[Example, ...] = ()
    # The operator follows only some of its direct downstream tasks (BranchPythonOperator):
    # the engine then duplicates join tails into each branch.
    branches: bool = False
    # The rule for a known operator class with no rule of its own (translators/operator_origin.py).
    fallback: bool = False

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip()

    def __call__(self, task: TaskModel, ctx: RuleContext) -> Translation:
        return self.fn(task, ctx)


def rule(
    *operators: str,
    name: str | None = None,
    examples: Iterable[Example] = (),
    branches: bool = False,
    fallback: bool = False,
):
    """Declare a rule for the given canonical operator names (`fallback`: for known operator
    classes that no rule names)."""

    def wrap(fn: Callable[[TaskModel, RuleContext], Translation]) -> Rule:
        return Rule(name or fn.__name__, tuple(operators), fn, tuple(examples), branches, fallback)

    return wrap


def rules_in(module: ModuleType) -> list[Rule]:
    return [v for v in vars(module).values() if isinstance(v, Rule)]


def placeholder(task: TaskModel, ctx: RuleContext) -> Translation:
    """No rule knows this operator: a placeholder step keeps the task's place and its source."""
    return Translation(
        fate="placeholder",
        fidelity="manual",
        steps=[
            StepDraft(
                "Placeholder",
                PlaceholderSpec(
                    operator=task.operator, line=task.line, source=ctx.task_source(task)
                ),
            )
        ],
        differences=[
            f"no rule translates `{task.operator}`; the step is a placeholder to replace by hand"
        ],
    )


PLACEHOLDER = Rule("placeholder", (), placeholder)


def _as_twin(found: Rule, operator: str, twin: str) -> Rule:
    """The rule of the provider operator that a class not found in the DAG's repository copies
    (same module and class names): it translates the task as that operator, and says so."""

    def translate(task: TaskModel, ctx: RuleContext) -> Translation:
        result = found.fn(replace(task, operator=twin), ctx)
        if result.fidelity == "manual":
            return result
        result.differences.insert(
            0,
            f"`{operator}` is not in the DAG's repository here; it has the module and class name "
            f"of the provider's `{twin}` and is translated as that: check that the copy behaves "
            "the same",
        )
        result.fidelity = "approximate"
        return result

    return Rule(found.name, (operator,), translate, (), found.branches)


class Registry:
    def __init__(self, rules: Iterable[Rule] = ()):
        self._by_operator: dict[str, Rule] = {}
        self._fallback: Rule | None = None
        for r in rules:
            self.add(r)

    def add(self, r: Rule) -> None:
        """Later rules win: a user's rule overrides a built-in one for the same operator."""
        if r.fallback:
            self._fallback = r
        for op in r.operators:
            self._by_operator[op] = r

    def add_module(self, module: str | ModuleType) -> list[Rule]:
        mod = importlib.import_module(module) if isinstance(module, str) else module
        found = rules_in(mod)
        for r in found:
            self.add(r)
        return found

    def lookup(self, operator: str, dag_path: str | None = None) -> Rule:
        """The operator's rule; with no rule, a known class (a provider package's, or a module
        of the repository of the DAG at `dag_path`) runs as itself, anything else is a
        placeholder."""
        found = self._by_operator.get(operator)
        if found is not None:
            return found
        from translators.operator_origin import origin, provider_twin

        if self._fallback is not None and origin(operator, dag_path) is not None:
            return self._fallback
        twin = provider_twin(operator, self._by_operator)
        if twin is not None:
            return _as_twin(self._by_operator[twin], operator, twin)
        return PLACEHOLDER

    @property
    def rules(self) -> list[Rule]:
        unique: dict[str, Rule] = {}
        for r in self._by_operator.values():
            unique.setdefault(r.name, r)
        if self._fallback is not None:
            unique.setdefault(self._fallback.name, self._fallback)
        return list(unique.values())

    @classmethod
    def default(cls, extra_modules: Iterable[str] = ()) -> Registry:
        """Built-in rules, then installed `bridge.rules` entry points, then `--rules` modules."""
        registry = cls()
        for module in BUILTIN_MODULES:
            registry.add_module(module)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            registry.add_module(ep.value)
        for module in extra_modules:
            registry.add_module(module)
        return registry
