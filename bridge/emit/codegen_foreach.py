"""A task mapped over a run-time list as a ForEachStep (bridge/translate/for_each.py): the same
script step as the one-job loop, built by `Jobs.for_each_step`, which wraps it in a ForEachStep
over the producer's list of indexes and gives each child its index and an XCom prefix of its own.
"""

from __future__ import annotations

import dataclasses

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.names import RENDERERS, Names, StepCode, Untranslatable
from bridge.translate.for_each import ITEMS_KEY
from bridge.translate.pipeline_model import StepModel
from bridge.translate.step_specs import ForEachPlan, ProcessingSpec


def for_each_plan(step: StepModel) -> ForEachPlan | None:
    spec = step.spec
    return spec.for_each if isinstance(spec, ProcessingSpec) else None


def foreach_applies(step: StepModel, names: Names) -> bool:
    """Whether `step` is rendered as a ForEachStep: the translation chose it."""
    return for_each_plan(step) is not None


def render_foreach(step: StepModel, var: str, names: Names, config: BridgeConfig) -> StepCode:
    """`jobs.for_each_step(name, script, items=..., max_concurrency=..., <the script step's
    arguments>)`: iterating over the indexes the producer's step wrote next to its XCom."""
    plan = for_each_plan(step)
    assert plan is not None and isinstance(step.spec, ProcessingSpec)
    producers = names.producer(plan.task, step)
    if len(producers) != 1:
        raise Untranslatable(f"the list of `{plan.task}` has no single step output to iterate")
    job = dataclasses.replace(step, spec=dataclasses.replace(step.spec, for_each=None))
    code = RENDERERS["Processing"](job, var, names, config)  # codegen.render_processing
    assert isinstance(code, StepCode) and code.call == "jobs.script_step"
    names.need(
        "from sagemaker.core.workflow.functions import JsonGet",
        "from pipeline_support import XCOM",
    )
    items = (
        f"JsonGet(step_name={names.step_vars[producers[0].name]}.name, property_file=XCOM, "
        f"json_path={quoting.py_literal(f'{ITEMS_KEY}.{plan.key}')})"
    )
    kwargs = {
        "body": quoting.py_literal(plan.body),
        "items": items,
        "max_concurrency": str(plan.max_concurrency),
        **code.kwargs,
    }
    return StepCode("jobs.for_each_step", code.args, kwargs, code.setup)
