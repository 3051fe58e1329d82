"""What the step renderers share: `Names` (the variables, imports and values of pipeline.py),
the `RENDERERS` registry, and `Untranslatable`. The renderers themselves live in codegen.py and
codegen_aws.py; pipeline_body.py puts their output together."""

from __future__ import annotations

import functools
import json
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.step_arguments import ArgumentPlan, producers
from bridge.translate.expressions import (
    ExecVar,
    Join,
    Param,
    StepOutput,
    StepProperty,
    json_path_suffix,
)
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.step_specs import JobSpec, LambdaSpec

_PROPERTY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*")


class Untranslatable(ValueError):
    """A value the emitter cannot express; the step falls back to a placeholder."""


@dataclass
class StepCode:
    """A step's constructor call in pipeline.py, built from its arguments: `call(*args,
    **kwargs)`, after `setup` (statements it needs first, e.g. a job's step_args)."""

    call: str
    args: list[str] = field(default_factory=list)
    kwargs: dict[str, str] = field(default_factory=dict)
    setup: str = ""

    def render(self, target: str) -> str:
        arguments = [*self.args, *(f"{k}={v}" for k, v in self.kwargs.items())]
        return f"{self.setup}{target} = {self.call}({', '.join(arguments)})"


@dataclass
class Names:
    """Python names in the generated module: parameters, steps, their XCom property files."""

    pipeline: PipelineModel
    step_vars: dict[str, str] = field(default_factory=dict)  # step name -> how code names it
    plain_vars: dict[str, str] = field(default_factory=dict)  # step name -> an identifier
    taken: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    arguments: ArgumentPlan = field(default_factory=lambda: ArgumentPlan({}, {}))
    functions: dict[str, str] = field(default_factory=dict)  # Lambda functions to create
    folders: dict[str, str] = field(default_factory=dict)  # shared folder constant -> its code

    @functools.cached_property
    def upstream(self) -> dict[str, list[str]]:
        """Each step's direct upstream steps, sorted: read once, not from a graph built per step."""
        found: dict[str, set[str]] = {}
        for u, v in self.pipeline.edges:
            found.setdefault(v, set()).add(u)
        return {v: sorted(us) for v, us in found.items()}

    def var(self, base: str) -> str:
        """A fresh ASCII identifier for a step (non-ASCII letters would be NFKC-folded by
        Python, so two distinct names could be one variable)."""
        name = re.sub(r"[^A-Za-z0-9_]+", "_", base).strip("_").lower() or "step"
        if name[0].isdigit() or keyword.iskeyword(name):
            name = f"s_{name}"
        candidate, n = name, 2
        while candidate in self.taken:
            candidate, n = f"{name}_{n}", n + 1
        self.taken.add(candidate)
        return candidate

    def param(self, name: str) -> str:
        return f"param_{name}"

    def need(self, *lines: str) -> None:
        self.imports.update(lines)

    def producer(self, task_id: str, consumer: StepModel | None) -> list[StepModel]:
        """The script steps whose XCom output holds `task_id`'s value for this consumer."""
        return [s for s in producers(self.pipeline, task_id, consumer) if s.name in self.step_vars]

    def value(self, value: Any, consumer: StepModel | None = None) -> str:
        if isinstance(value, Param):
            return self.param(value.name)
        if isinstance(value, ExecVar):
            self.need("from sagemaker.core.workflow.execution_variables import ExecutionVariables")
            return f"ExecutionVariables.{value.name}"
        if isinstance(value, Join) and _plain_text(value):  # no Join around one text value
            return self.as_string(value.parts[0], consumer)
        if isinstance(value, Join):
            self.need("from sagemaker.core.workflow.functions import Join")
            parts = ", ".join(self.as_string(p, consumer) for p in value.parts)
            return f'Join(on="", values=[{parts}])'
        if isinstance(value, StepOutput):
            return self.json_get(value, consumer)
        if isinstance(value, StepProperty):
            return self.property(value.task_id, value.path, value.index)
        if isinstance(value, dict):
            items = (f"{_literal(k)}: {self.value(v, consumer)}" for k, v in value.items())
            return "{" + ", ".join(items) + "}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.value(v, consumer) for v in value) + "]"
        return _literal(value)

    def as_string(self, value: Any, consumer: StepModel | None = None) -> str:
        """A value inside a string context (Join parts, job arguments): typed params to_string()."""
        if isinstance(value, Param) and self.param_type(value.name) != "String":
            return f"{self.param(value.name)}.to_string()"
        if isinstance(value, (Param, ExecVar, Join, StepOutput, StepProperty)):
            return self.value(value, consumer)
        return repr(value if isinstance(value, str) else json.dumps(value))

    def param_type(self, name: str) -> str:
        spec = self.pipeline.parameters.get(name)
        return getattr(spec, "type", "String")

    def property(self, task_id: str, path: str, index: int = -1) -> str:
        """`<step>.properties.<path>` of one of the job steps a task became (the last: -1)."""
        outcome = self.pipeline.outcomes.get(task_id)
        names = outcome.steps if outcome else []
        if not names or names[index] not in self.step_vars:
            raise Untranslatable(f"`{task_id}` has no step whose properties could be read")
        if not _PROPERTY_PATH.fullmatch(path):
            raise Untranslatable(f"`{task_id}`: {path!r} is not a step property path")
        return f"{self.step_vars[names[index]]}.properties.{path}"

    def json_get(self, out: StepOutput, consumer: StepModel | None) -> str:
        if consumer is not None and out.task_id in consumer.dropped:
            return repr("None")  # that branch did not run: Airflow renders the missing XCom so
        job = self._job_output(out)
        if job is not None:
            return job
        lambda_output = self.lambda_output(out)
        if lambda_output is not None:
            return lambda_output[0]
        producers = self.producer(out.task_id, consumer)
        if len(producers) != 1:
            raise Untranslatable(f"the XCom of `{out.task_id}` has no single step output to read")
        var = self.step_vars[producers[0].name]
        self.need("from pipeline_support import xcom")
        key = out.key if out.key.isidentifier() else json_path_suffix(out.key)[1:]
        return f"xcom({var}, {_literal(key + out.path)})"

    def lambda_output(self, out: StepOutput) -> tuple[str, bool] | None:
        """(`<step>.properties.Outputs[key]`, whether it holds JSON text) when the task's XCom
        is an output its LambdaStep declares and the value is read whole."""
        outcome = self.pipeline.outcomes.get(out.task_id)
        steps = [self.pipeline.steps[n] for n in (outcome.steps if outcome else [])]
        if not steps or not isinstance(steps[-1].spec, LambdaSpec) or out.path:
            return None
        declared = {o.get("name"): o for o in steps[-1].spec.outputs or []}
        if out.key not in declared or steps[-1].name not in self.step_vars:
            return None
        var = self.step_vars[steps[-1].name]
        return f"{var}.properties.Outputs[{out.key!r}]", bool(declared[out.key].get("json"))

    def _job_output(self, out: StepOutput) -> str | None:
        """A SageMaker operator's XCom is its Describe*Job response ({"Training": {...}}): the
        step's properties hold the same fields."""
        outcome = self.pipeline.outcomes.get(out.task_id)
        steps = [self.pipeline.steps[n] for n in (outcome.steps if outcome else [])]
        if not steps or not isinstance(steps[-1].spec, JobSpec) or out.key != "return_value":
            return None
        parts = [p for p in out.path.replace("['", ".").replace("']", "").split(".") if p]
        if len(parts) < 2:
            raise Untranslatable(f"`{out.task_id}`'s whole job description is not a step value")
        return self.property(out.task_id, ".".join(parts[1:]))


def _plain_text(join: Join) -> bool:
    """A Join of one part that already is text (a string, a parameter, an execution variable):
    the part is the value."""
    return len(join.parts) == 1 and isinstance(join.parts[0], (str, Param, ExecVar))


def _literal(value: Any) -> str:
    try:
        return quoting.py_literal(value)
    except ValueError as exc:
        raise Untranslatable(str(exc)) from None


Renderer = Callable[[StepModel, str, Names, BridgeConfig], StepCode]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str):
    def wrap(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return wrap
