"""PipelineModel -> the steps of `get_pipeline()` in pipeline.py (SageMaker Python SDK v3): every
step rendered by its kind's renderer (codegen.py, codegen_aws.py) in the DAG's order, with what
every step carries (depends_on, retry policies, caching, Studio's display name and
description). Runs of steps that differ only in values become one loop (step_tables.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit import codegen_aws  # noqa: F401  (registers the Lambda and EMR renderers)
from bridge.emit.codegen import render_placeholder, xcom_dependencies
from bridge.emit.names import RENDERERS, Names, StepCode, Untranslatable
from bridge.emit.step_arguments import ArgumentPlan
from bridge.emit.step_tables import find_runs, render_table
from bridge.parse.model import DagModel
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.step_specs import PlaceholderSpec, script_of

# Steps of a SageMaker job whose failures SageMakerJobStepRetryPolicy retries (ModelStep refuses
# it; the SDK checks). Lambda, EMR and Callback steps take no retry policy at all (SDK v3).
JOB_RETRY_KINDS = ("Processing", "Training", "Transform", "Tuning")
NO_RETRY_KINDS = ("Condition", "Fail", "Placeholder", "Lambda", "EMR", "Callback")
CACHED_KINDS = ("Processing", "Training", "Transform", "Tuning")
# get_pipeline()'s own names (templates/pipeline.py.j2): no step or loop variable takes them.
GET_PIPELINE_LOCALS = (
    *("session", "role", "steps", "jobs", "bucket", "instance_type"),
    *("pipeline_name", "version", "local"),
)
# What SageMaker Studio shows of a step: DisplayName and Description have these limits.
MAX_DISPLAY_NAME = 82
MAX_DESCRIPTION = 3072


@dataclass
class Body:
    """The parts of get_pipeline() that pipeline_file.py puts into the template."""

    blocks: list[str]
    names: Names
    top_level: list[str]  # the variables Pipeline(steps=[...]) lists
    retries: dict[str, tuple[str, str]] = field(default_factory=dict)  # constant -> (call, why)
    table: bool = False  # some steps live in the `steps` dict (loops)


def render_steps(
    pipeline: PipelineModel,
    dag: DagModel,
    config: BridgeConfig,
    source_path: str,
    arguments: ArgumentPlan,
) -> Body:
    """Every step in the DAG's order (a branch target after its condition); runs of steps that
    differ only in values as one loop (step_tables.py)."""
    import networkx as nx

    g = pipeline.graph
    order = list(nx.lexicographical_topological_sort(g, key=lambda n: (pipeline.steps[n].line, n)))
    nested = {target for (_, target) in pipeline.branch_sides}
    first = _render_all(order, pipeline, dag, config, source_path, arguments, set())
    eligible = {
        n
        for n, code in first.codes.items()
        if not code.setup and n not in nested and pipeline.steps[n].kind != "Condition"
    }
    runs = find_runs(order, first.codes, eligible)
    if not runs:
        return first.body(order, nested, {})
    members = {n for run in runs for n in run}
    # The steps the loops name must be reachable by name: they live in `steps`.
    by_var = {v: n for n, v in first.names.step_vars.items()}
    addressable = (
        members
        | {d for n in members for d in first.depends[n]}
        | {other for n in members for other in _referenced(first.codes[n], by_var)}
    )
    second = _render_all(order, pipeline, dag, config, source_path, arguments, addressable)
    tables = {}
    for run in runs:
        steps = [pipeline.steps[n] for n in run]
        comment = _table_comment(steps, source_path)
        taken = second.names.taken | {second.names.param(p) for p in pipeline.parameters}
        table = render_table(run, second.codes, second.depends, comment, taken)
        if table is not None:
            tables[run[0]] = table
    if not tables:
        return first.body(order, nested, {})
    return second.body(order, nested, tables)


@dataclass
class _Rendered:
    """One rendering of every step: its call and the names of the steps it depends on."""

    names: Names
    codes: dict[str, StepCode]
    blocks: dict[str, str]
    depends: dict[str, list[str]]
    retries: dict[str, tuple[str, str]]
    addressable: set[str]

    def body(self, order: list[str], nested: set[str], tables: dict) -> Body:
        in_table = {n for table in tables.values() for n in table.steps}
        blocks = []
        for name in order:
            if name in tables:
                blocks.append(tables[name].code)
            elif name not in in_table:
                blocks.append(self.blocks[name])
        top = [self.names.step_vars[n] for n in order if n not in nested]
        if self.addressable and not self.addressable & nested:  # all of `steps` is top-level
            top = [
                self.names.step_vars[n]
                for n in order
                if n not in nested and n not in self.addressable
            ]
            top.append("*steps.values()")
        return Body(blocks, self.names, top, self.retries, bool(self.addressable))


def _render_all(
    order: list[str],
    pipeline: PipelineModel,
    dag: DagModel,
    config: BridgeConfig,
    source_path: str,
    arguments: ArgumentPlan,
    addressable: set[str],
) -> _Rendered:
    names = Names(pipeline, taken=set(GET_PIPELINE_LOCALS))
    names.arguments = arguments
    for name in order:
        var = names.plain_vars[name] = names.var(name)
        names.step_vars[name] = f"steps[{quoting.py_literal(name)}]" if name in addressable else var
    retries: dict[str, tuple[str, str]] = {}
    codes, blocks, depends = {}, {}, {}
    for name in order:
        step = pipeline.steps[name]
        code = _render(step, names, config, pipeline)
        common, depends[name] = _common(step, dag, names, retries, source_path)
        if config.cache_expire_after and step.kind in CACHED_KINDS:
            _cached(pipeline, step, config.cache_expire_after)
        for key, value in common.items():  # a renderer's own description stays
            code.kwargs.setdefault(key, value)
        text = code.render(names.step_vars[name])
        codes[name] = code
        blocks[name] = text + _branch_side(step, names)
    return _Rendered(names, codes, blocks, depends, retries, addressable)


def _referenced(code: StepCode, by_var: dict[str, str]) -> set[str]:
    """The steps a call names (by their variables: `by_var` maps each to its step)."""
    text = " ".join([*code.args, *code.kwargs.values()])
    return {by_var[w] for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) if w in by_var}


def _table_comment(steps: list[StepModel], source: str) -> str:
    lines = sorted({s.line for s in steps})
    where = f"{lines[0]}" if len(lines) == 1 else f"{lines[0]}-{lines[-1]}"
    rules = ", ".join(sorted({f"`{s.rule}`" for s in steps}))
    tasks = list(dict.fromkeys(s.tasks[0] for s in steps))
    what = (
        f"Task `{tasks[0]}` ({len(steps)} steps, one row each)"
        if len(tasks) == 1
        else f"Tasks `{tasks[0]}` to `{tasks[-1]}` ({len(tasks)} tasks, one row each)"
    )
    text = f"{what} - {source}:{where}, rule {rules}"
    return f"# {quoting.comment(text)}\n"


def _render(
    step: StepModel, names: Names, config: BridgeConfig, pipeline: PipelineModel
) -> StepCode:
    """The step's call. Renderers name their helper variables after `var`, an identifier even
    when the step itself lives in `steps` (a loop names it)."""
    render = RENDERERS.get(step.kind, render_placeholder)
    var = names.plain_vars[step.name]
    try:
        return render(step, var, names, config)
    except Untranslatable as exc:
        step.spec = PlaceholderSpec(operator=step.kind, source=str(exc))
        _now_manual(pipeline, step.tasks[0], str(exc))
        return render_placeholder(step, var, names, config)


def _common(
    step: StepModel,
    dag: DagModel,
    names: Names,
    retries: dict[str, tuple[str, str]],
    source_path: str,
) -> tuple[dict[str, str], list[str]]:
    """What every step carries: display name, description, caching, retries, depends_on (and
    the names of the steps it depends on)."""
    pipeline = names.pipeline
    kwargs: dict[str, str] = {}
    script_step = script_of(step.spec) is not None and step.kind == "Processing"
    if not script_step:  # the script step factory names it for its task
        kwargs["display_name"] = quoting.py_literal(step.tasks[0][:MAX_DISPLAY_NAME])
    kwargs["description"] = quoting.py_literal(description(step, dag, source_path))
    if step.kind in CACHED_KINDS and not script_step:
        kwargs["cache_config"] = "CACHE"
        names.need("from pipeline_support import cache_config")
    if step.settings.get("retries") and step.kind not in NO_RETRY_KINDS:
        kwargs["retry_policies"] = _retry_constant(step, retries, names)
    depends = [
        u for u in names.upstream.get(step.name, []) if (u, step.name) not in pipeline.branch_sides
    ]
    # XComs read from the execution's prefix: no output property orders the step after them.
    depends += [p for p in xcom_dependencies(step, names) if p not in depends]
    if depends:
        kwargs["depends_on"] = f"[{', '.join(names.step_vars[d] for d in depends)}]"
    return kwargs, depends


def _retry_constant(step: StepModel, retries: dict[str, tuple[str, str]], names: Names) -> str:
    """A module-level constant per distinct retry setting: RETRY_<attempts>_EVERY_<delay>S."""
    attempts = step.settings["retries"]
    delay = max(1, int(step.settings["retry_delay"]))
    backoff = float(step.settings.get("backoff", 1.0))
    job = step.kind in JOB_RETRY_KINDS
    name = f"RETRY_{attempts}_EVERY_{delay}S" + ("_BACKOFF" if backoff != 1.0 else "")
    name += "" if job else "_STEP"
    call = f"retry_policies({attempts}, {delay}" + (f", {backoff}" if backoff != 1.0 else "")
    call += ")" if job else ", job=False)"
    why = f"Airflow retries={attempts}, retry_delay={delay}s" + (
        ", exponential backoff" if backoff != 1.0 else ""
    )
    retries[name] = (call, why)
    names.need("from pipeline_support import retry_policies")
    return name


def description(step: StepModel, dag: DagModel, source_path: str) -> str:
    """The task's own words (the first paragraph of its doc_md, doc, ...), then where the step
    comes from: the task, its operator, the rule and the source line (SageMaker Studio shows
    it; pipeline.py writes no other comment for it)."""
    task = dag.tasks.get(step.tasks[0])
    operator = step.kind
    if task is not None:
        operator = task.flavour or task.operator.rsplit(".", 1)[-1]
        operator = "@task" if operator == "task" else operator
    copy = f" (branch copy{step.copy})" if step.copy else ""
    where = f"{operator} task {step.tasks[0]}{copy}, rule {step.rule}, {source_path}:{step.line}"
    for key in DOC_KEYS:
        arg = task.kwargs.get(key) if task is not None else None
        if arg is not None and isinstance(arg.value, str) and arg.value.strip():
            text = " ".join(arg.value.strip().split("\n\n")[0].split())
            return f"{text} ({where})"[:MAX_DESCRIPTION]
    return where[:MAX_DESCRIPTION]


DOC_KEYS = ("doc_md", "doc", "doc_rst", "doc_yaml", "doc_json")


def _branch_side(step: StepModel, names: Names) -> str:
    """A branch target joins its ConditionStep's side once it exists (the condition comes
    first, in the DAG's order)."""
    lines = []
    for (source, target), side in sorted(names.pipeline.branch_sides.items()):
        if target == step.name:
            lines.append(
                f"\n{names.step_vars[source]}.{side}_steps.append({names.step_vars[target]})"
            )
    return "".join(lines)


def _cached(pipeline: PipelineModel, step: StepModel, expire_after: str) -> None:
    """With step caching on, a step may not run at all: a named difference from Airflow."""
    outcome = pipeline.outcomes.get(step.tasks[0])
    if outcome is None:
        return
    reason = (
        f"step caching is on (cache_expire_after = {expire_after}): SageMaker reuses an earlier "
        "execution's result when the step's arguments are the same, where Airflow runs the "
        "task every time"
    )
    if reason not in outcome.differences:
        outcome.differences.append(reason)
    if outcome.fidelity == "exact":
        outcome.fidelity = "approximate"


def _now_manual(pipeline: PipelineModel, task_id: str, why: str) -> None:
    """A step the emitter could not render keeps its place as a placeholder: its task is manual
    in the manifest and the report, with the reason."""
    outcome = pipeline.outcomes.get(task_id)
    if outcome is None:
        return
    outcome.fidelity = "manual"
    reason = f"the step could not be built: {why}"
    if reason not in outcome.differences:
        outcome.differences.append(reason)
