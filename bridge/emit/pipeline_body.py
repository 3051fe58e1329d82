"""PipelineModel -> the body of `get_pipeline()` in pipeline.py (SageMaker Python SDK v3): every
step rendered by its kind's renderer (codegen.py, codegen_aws.py), in dependency order, each
closed with the arguments every step carries. The emitter formats the result with ruff.
"""

from __future__ import annotations

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit import codegen_aws  # noqa: F401  (registers the Lambda and EMR renderers)
from bridge.emit.codegen import (
    folder_helpers,
    render_placeholder,
    xcom_dependencies,
    xcom_helpers,
)
from bridge.emit.names import RENDERERS, Names, Untranslatable
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.step_specs import PlaceholderSpec


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
        names.need(*RETRY_IMPORTS)
        job = "" if step.kind in JOB_RETRY_KINDS else ", job=False"
        parts.append(
            f"retry_policies=retry_policies(max_attempts={retries}, "
            f"interval_seconds={max(1, step.settings['retry_delay'])}, "
            f"backoff_rate={step.settings.get('backoff', 1.0)}{job})"
        )
    return "".join(f", {p}" for p in parts)


# Steps of a SageMaker job whose failures SageMakerJobStepRetryPolicy retries (ModelStep refuses
# it; the SDK checks).
JOB_RETRY_KINDS = ("Processing", "Training", "Transform", "Tuning")
RETRY_IMPORTS = (
    "from sagemaker.mlops.workflow import SageMakerJobExceptionTypeEnum, "
    "SageMakerJobStepRetryPolicy, StepExceptionTypeEnum, StepRetryPolicy",
)
RETRY_HELPER = '''

def retry_policies(
    max_attempts: int, interval_seconds: int, backoff_rate: float, job: bool = True
) -> list:
    """Airflow's retries as retry policies. SageMaker retries a step after service faults and
    throttling, and a job step after the job's internal, capacity and resource-limit errors. It
    never retries an error of the step's own code (AlgorithmError), which Airflow would."""
    timing = dict(
        interval_seconds=interval_seconds, backoff_rate=backoff_rate, max_attempts=max_attempts
    )
    policies = [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            **timing,
        )
    ]
    if job:
        policies.append(
            SageMakerJobStepRetryPolicy(
                failure_reason_types=[
                    SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                    SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                    SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                ],
                **timing,
            )
        )
    return policies
'''


def helper_functions(names: Names) -> str:
    """Module-level helpers of pipeline.py that only some pipelines use (after the others)."""
    retry = RETRY_HELPER if set(RETRY_IMPORTS) <= names.imports else ""
    return retry + xcom_helpers(names) + folder_helpers(names.pipeline)


def _comment(step: StepModel, source: str) -> str:
    copy = f" (branch copy{step.copy})" if step.copy else ""
    text = f"Task `{step.tasks[0]}`{copy} - {source}:{step.line}, rule `{step.rule}`"
    return f"# {quoting.comment(text)}\n"


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
            step.spec = PlaceholderSpec(operator=step.kind, source=str(exc))
            code = render_placeholder(step, var, names, config)
            _now_manual(pipeline, step.tasks[0], str(exc))
        # XComs read from the execution's prefix: no output property orders the step after them.
        after = [names.step_vars[p] for p in xcom_dependencies(step, names)]
        depends += [v for v in after if v not in depends]
        blocks.append(
            _comment(step, source_path) + code + common_kwargs(step, names, depends) + ")"
        )
    return "\n\n".join(blocks), names


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
