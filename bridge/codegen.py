"""PipelineModel -> the source of `pipeline.py` (SageMaker Python SDK v3).

One renderer per step kind (`RENDERERS`), each returning the statements that define the step's
variable. Values are rendered by `Names.value`, which knows the parameters and the steps emitted so
far. The result is formatted with ruff by the emitter; this module only has to be correct.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.expressions import ExecVar, Join, Param, StepOutput, StepProperty, json_path_suffix
from bridge.pipeline_model import PipelineModel, StepModel

XCOM_INPUT = "/opt/ml/processing/input/xcom"
# A step property path written as code: attribute names and list indices only.
_PROPERTY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*")
_COMPARISONS = {
    "==": "ConditionEquals",
    "<": "ConditionLessThan",
    "<=": "ConditionLessThanOrEqualTo",
    ">": "ConditionGreaterThan",
    ">=": "ConditionGreaterThanOrEqualTo",
}


class Untranslatable(ValueError):
    """A value the emitter cannot express; the step falls back to a placeholder."""


@dataclass
class Names:
    """Python names in the generated module: parameters, steps, their XCom property files."""

    pipeline: PipelineModel
    step_vars: dict[str, str] = field(default_factory=dict)  # step name -> variable
    taken: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)

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
        outcome = self.pipeline.outcomes.get(task_id)
        if outcome is None or (consumer is not None and task_id in consumer.dropped):
            return []
        steps = [self.pipeline.steps[n] for n in outcome.steps]
        steps = [s for s in steps if s.kind == "Processing" and "script" in s.spec]
        if consumer is not None and consumer.copy:
            same = [s for s in steps if consumer.copy.endswith(s.copy) and s.copy]
            steps = same or [s for s in steps if not s.copy]
        else:
            steps = [s for s in steps if not s.copy] or steps
        return [s for s in steps if s.name in self.step_vars]

    def value(self, value: Any, consumer: StepModel | None = None) -> str:
        if isinstance(value, Param):
            return self.param(value.name)
        if isinstance(value, ExecVar):
            self.need("from sagemaker.core.workflow.execution_variables import ExecutionVariables")
            return f"ExecutionVariables.{value.name}"
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
        producers = self.producer(out.task_id, consumer)
        if len(producers) != 1:
            raise Untranslatable(f"the XCom of `{out.task_id}` has no single step output to read")
        var = self.step_vars[producers[0].name]
        self.need("from sagemaker.core.workflow.functions import JsonGet")
        return (
            f"JsonGet(step_name={var}.name, property_file={var}_xcom, "
            f"json_path={(out.key + out.path if out.key.isidentifier() else json_path_suffix(out.key)[1:] + out.path)!r})"
        )

    def _job_output(self, out: StepOutput) -> str | None:
        """A SageMaker operator's XCom is its Describe*Job response ({"Training": {...}}): the
        step's properties hold the same fields."""
        outcome = self.pipeline.outcomes.get(out.task_id)
        steps = [self.pipeline.steps[n] for n in (outcome.steps if outcome else [])]
        if not steps or "job" not in steps[-1].spec or out.key != "return_value":
            return None
        parts = [p for p in out.path.replace("['", ".").replace("']", "").split(".") if p]
        if len(parts) < 2:
            raise Untranslatable(f"`{out.task_id}`'s whole job description is not a step value")
        return self.property(out.task_id, ".".join(parts[1:]))


def _literal(value: Any) -> str:
    try:
        return quoting.py_literal(value)
    except ValueError as exc:
        raise Untranslatable(str(exc)) from None


Renderer = Callable[[StepModel, str, Names, BridgeConfig], str]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str):
    def wrap(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return wrap


def common_kwargs(step: StepModel, names: Names, depends: list[str]) -> str:
    """depends_on, retry policies and display name: what every step carries."""
    parts = []
    if depends:
        parts.append(f"depends_on=[{', '.join(depends)}]")
    retries = step.settings.get("retries")
    # Lambda, EMR and Callback steps take no retry policy (SDK v3).
    if retries and step.kind not in (
        "Condition",
        "Fail",
        "Placeholder",
        "Lambda",
        "EMR",
        "Callback",
    ):
        names.need("from sagemaker.mlops.workflow import StepExceptionTypeEnum, StepRetryPolicy")
        parts.append(
            "retry_policies=[StepRetryPolicy(exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, "
            f"StepExceptionTypeEnum.THROTTLING], interval_seconds={max(1, step.settings['retry_delay'])}, "
            f"backoff_rate={step.settings.get('backoff', 1.0)}, max_attempts={retries})]"
        )
    return "".join(f", {p}" for p in parts)


def _comment(step: StepModel, source: str) -> str:
    copy = f" (branch copy{step.copy})" if step.copy else ""
    text = f"Task `{step.tasks[0]}`{copy} - {source}:{step.line}, rule `{step.rule}`"
    return f"# {quoting.comment(text)}\n"


@renderer("Processing")
def render_processing(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    if "script" not in step.spec:
        return render_job(step, var, names, config)
    spec = step.spec
    call = spec.get("call", {})
    names.need(
        "from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output",
        "from sagemaker.core.workflow.properties import PropertyFile",
        "from sagemaker.mlops.workflow import ProcessingStep",
    )
    arguments = _script_arguments(step, call, names)
    inputs = ["runtime_input()"]
    for task_id in call.get("reads", []):
        producers = names.producer(task_id, step)
        for i, producer in enumerate(producers):
            where = f"{XCOM_INPUT}/{task_id}" + (f"/{i}" if len(producers) > 1 else "")
            inputs.append(f"xcom_input({names.step_vars[producer.name]}, {where!r})")
    override = config.override_for(step.tasks[0])
    instance = repr(override.instance_type) if override.instance_type else "instance_type"
    image = repr(override.image_uri) if override.image_uri else "python_image"
    env = call.get("env") if spec["script"]["mode"] == "bash" else None
    env_source = names.value(env, step) if isinstance(env, dict) else "None"
    timeout = step.settings.get("timeout")
    script_file = spec["script"]["file"]
    return (
        f"{var}_xcom = PropertyFile(name='xcom', output_name='xcom', path='xcom.json')\n"
        f"{var} = ProcessingStep(name={step.name!r}, step_args=script_processor("
        f"session, role, {image}, {instance}, env={env_source}, max_runtime={timeout!r}).run("
        f"code=step_file({script_file!r}), arguments=[{', '.join(arguments)}], "
        f"inputs=[{', '.join(inputs)}], outputs=[xcom_output(bucket, {step.name!r})]), "
        f"property_files=[{var}_xcom]"
    )


def _script_arguments(step: StepModel, call: dict, names: Names) -> list[str]:
    """The runtime's argv: the literal call as JSON, then one --set / --xcom per run-time value."""
    literal, dynamic = _split({k: v for k, v in call.items() if k not in ("reads",)}, [], step)
    if step.spec["script"].get("targets"):
        literal["targets"] = step.spec["script"]["targets"]
    args = [repr("--call"), repr(json.dumps(literal, sort_keys=True, default=str))]
    for path, value in dynamic:
        path_json = repr(json.dumps(path))
        if isinstance(value, StepOutput):
            if value.task_id in step.dropped or not names.producer(value.task_id, step):
                continue  # not run on this path (branch copy) or no output: the value stays null
            args += [repr("--xcom"), path_json, repr(value.task_id), repr(value.key)]
        else:
            kind = _arg_type(value, names)
            args += [repr("--set"), path_json, repr(kind), names.as_string(value, step)]
    return args


def _arg_type(value: Any, names: Names) -> str:
    if isinstance(value, Param):
        if getattr(names.pipeline.parameters.get(value.name), "json_text", False):
            return "json"  # a list or dict param reaches the callable as the value, not text
        return {"Integer": "int", "Float": "float", "Boolean": "bool"}.get(
            names.param_type(value.name), "str"
        )
    return "str"


def _split(value: Any, path: list, step: StepModel) -> tuple[Any, list[tuple[list, Any]]]:
    """Literal skeleton (run-time values as null) and the run-time values with their paths."""
    if isinstance(value, (Param, ExecVar, Join, StepOutput, StepProperty)):
        return None, [(path, value)]
    if isinstance(value, dict):
        out, dyn = {}, []
        for k, v in value.items():
            out[k], more = _split(v, [*path, k], step)
            dyn += more
        return out, dyn
    if isinstance(value, (list, tuple)):
        out_list, dyn = [], []
        for i, v in enumerate(value):
            item, more = _split(v, [*path, i], step)
            out_list.append(item)
            dyn += more
        return out_list, dyn
    return value, []


@renderer("Condition")
def render_condition(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    names.need("from sagemaker.mlops.workflow import ConditionStep")
    conditions = [_condition(c, names, step) for c in step.spec["conditions"]]
    sides = {"if": [], "else": []}
    for (source, target), side in sorted(names.pipeline.branch_sides.items()):
        if source == step.name and target in names.step_vars:
            sides[side].append(names.step_vars[target])
    return (
        f"{var} = ConditionStep(name={step.name!r}, conditions=[{', '.join(conditions)}], "
        f"if_steps=[{', '.join(sides['if'])}], else_steps=[{', '.join(sides['else'])}]"
    )


def _condition(cond: dict, names: Names, step: StepModel) -> str:
    op = cond["op"]
    if op in ("not", "!="):  # SageMaker has no "not equal": ConditionNot(ConditionEquals)
        inner = cond["inner"] if op == "not" else {**cond, "op": "=="}
        names.need("from sagemaker.core.workflow.conditions import ConditionNot")
        return f"ConditionNot(expression={_condition(inner, names, step)})"
    names.need(f"from sagemaker.core.workflow.conditions import {_COMPARISONS[op]}")
    left, right = names.value(cond["left"], step), names.value(cond["right"], step)
    return f"{_COMPARISONS[op]}(left={left}, right={right})"


@renderer("Fail")
def render_fail(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    names.need("from sagemaker.mlops.workflow import FailStep")
    message = names.value(step.spec.get("message", f"task {step.tasks[0]} failed"), step)
    return f"{var} = FailStep(name={step.name!r}, error_message={message}"


@renderer("Placeholder")
def render_placeholder(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    """A FailStep that keeps the task's place: the pipeline builds, and stops here until a person
    replaces it. The original source is in the comment above it."""
    names.need("from sagemaker.mlops.workflow import FailStep")
    message = f"placeholder for Airflow task {step.tasks[0]} ({step.spec.get('operator')}): translate it by hand"
    source = step.spec.get("source") or ""
    comment = "".join(f"# | {quoting.comment(line)}\n" for line in source.splitlines())
    return f"{comment}{var} = FailStep(name={step.name!r}, error_message={message!r}"


def render_job(step: StepModel, var: str, names: Names, config: BridgeConfig) -> str:
    """SageMaker operator steps: the job's step_args built by bridge.sagemaker_jobs."""
    from bridge.sagemaker_jobs import job_code

    job = step.spec["job"]
    code = job_code(job, step.spec["config"], var, lambda v: names.value(v, step))
    names.need(*code.imports, f"from sagemaker.mlops.workflow import {code.step_class}")
    return f"{code.code}\n{var} = {code.step_class}(name={step.name!r}, step_args={var}_args"


for _kind in ("Training", "Transform", "Tuning", "Model", "EndpointConfig", "Endpoint"):
    RENDERERS[_kind] = render_job

import bridge.codegen_aws  # noqa: E402,F401  (registers the Lambda, EMR, Callback renderers)


def render_steps(
    pipeline: PipelineModel, config: BridgeConfig, source_path: str
) -> tuple[str, Names]:
    """The body of get_pipeline(): every step in dependency order, then the step list."""
    import networkx as nx

    names = Names(
        pipeline, taken={"session", "role", "steps", "python_image", "instance_type", "bucket"}
    )
    g = pipeline.graph
    order = list(nx.lexicographical_topological_sort(g, key=lambda n: (pipeline.steps[n].line, n)))
    # A ConditionStep must be defined after the steps it lists: emit it after its targets' closure.
    blocks = []
    for name in _emit_order(order, pipeline):
        step = pipeline.steps[name]
        var = names.var(name)
        names.step_vars[name] = var
        depends = [
            names.step_vars[u]
            for u in sorted(g.predecessors(name))
            if (u, name) not in pipeline.branch_sides and u in names.step_vars
        ]
        render = RENDERERS.get(step.kind, render_placeholder)
        try:
            code = render(step, var, names, config)
        except Untranslatable as exc:
            step.spec = {"operator": step.kind, "source": str(exc)}
            code = render_placeholder(step, var, names, config)
        blocks.append(
            _comment(step, source_path) + code + common_kwargs(step, names, depends) + ")"
        )
    return "\n\n".join(blocks), names


def _emit_order(order: list[str], pipeline: PipelineModel) -> list[str]:
    """Topological order, except that each ConditionStep comes after the steps it lists (Python
    needs them defined), which is safe: those steps depend on nothing emitted after them."""
    targets: dict[str, list[str]] = {}
    for (source, target), _side in pipeline.branch_sides.items():
        targets.setdefault(source, []).append(target)
    done: list[str] = []
    placed: set[str] = set()
    waiting: list[str] = []
    for name in order:
        if name in targets:
            waiting.append(name)
        else:
            done.append(name)
            placed.add(name)
        for cond in list(waiting):
            if all(t in placed for t in targets[cond]):
                waiting.remove(cond)
                done.append(cond)
                placed.add(cond)
    return done + waiting
