"""What SageMaker cannot keep of a task or a DAG, written down as differences.

The rules say how a task becomes steps; this pass, run once over every task after the rules,
says what of Airflow's behaviour around the task those steps lose, whatever rule made them:
trigger rules other than "all upstream succeeded", callbacks and e-mails, SLAs, run-to-run
dependencies, retries of the task's own errors, and run-time reads of Airflow's Variables,
connections and metadata database. A task with any of these is `approximate`, never `exact`.

It also gives script steps what the step runtime needs to behave as Airflow does: the task ids
known not to run on a branch copy's path (their `xcom_pull` is None, as in Airflow; any other
unwired pull is an error), and the names of the secrets that hold the Variables and connections
the callable reads (the pipeline carries names, never values).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from bridge.config import SecretsConfig
from bridge.parse.model import DagModel, TaskModel
from bridge.parse.python_tree import module_tree
from bridge.translate.expressions import Join, Param, StepOutput
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import (
    JobSpec,
    LambdaSpec,
    PlaceholderSpec,
    ProcessingSpec,
    script_of,
)
from bridge.translate.task_settings import SAGEMAKER_MAX_ATTEMPTS, task_settings

SAGEMAKER_RUNS = (
    "SageMaker runs a step only when all its upstream steps succeeded, and a failed step "
    "stops the execution"
)
# Trigger rules SageMaker cannot keep: what Airflow does under each.
TRIGGER_RULES = {
    "one_failed": "runs it as soon as one upstream task fails, and skips it when none fails",
    "all_failed": "runs it only when every upstream task failed",
    "all_done": "runs it once every upstream task finished, failed or not",
    "all_done_min_one_success": "runs it once every upstream task finished and one succeeded, "
    "even if others failed",
    "all_done_setup_success": "runs this teardown once its upstream tasks finished, failed or not",
    "one_done": "runs it as soon as one upstream task succeeded or failed",
    "always": "runs it whatever its upstream tasks did",
    "none_skipped": "runs it when no upstream task was skipped, also after failures",
    "all_skipped": "runs it only when every upstream task was skipped",
}
# Rules under which the step runs exactly when Airflow would not: a warning, not only a note.
INVERTED_RULES = {"one_failed", "all_failed", "all_skipped"}
# Step kinds whose retry policy retries SageMaker job failures (SageMakerJobStepRetryPolicy).
JOB_RETRY_KINDS = {"Processing", "Training", "Transform", "Tuning"}
# Step kinds with no retry policy at all (the rules say so: translators.common.step_limits).
NO_RETRY_KINDS = {"Condition", "Fail", "Placeholder", "Lambda", "EMR", "Callback"}

CALLBACK_ADVICE = (
    "a step has no callbacks: use an EventBridge rule on its status change events (a Lambda "
    "or SNS target)"
)
TASK_CALLBACKS = (
    "on_failure_callback",
    "on_success_callback",
    "on_retry_callback",
    "on_execute_callback",
    "on_skipped_callback",
    "sla_miss_callback",
)
DAG_CALLBACKS = ("on_failure_callback", "on_success_callback", "sla_miss_callback")


def apply_fidelity(pipeline: PipelineModel, dag: DagModel, ctx: RuleContext) -> None:
    """Add every task's and the DAG's differences; give script steps their skipped and secret
    names."""
    upstream: dict[str, list[str]] = {}  # one pass over the edges, not one per task
    for e in dag.edges:
        upstream.setdefault(e.downstream, []).append(e.upstream)
    for task_id, outcome in pipeline.outcomes.items():
        task = dag.tasks[task_id]
        steps = pipeline.steps_of(task_id)
        found = task_differences(task, dag, steps, sorted(upstream.get(task_id, [])))
        found += environment_differences(steps, ctx.parameters)
        found += unreadable_xcom_differences(steps, pipeline)
        found += templated_json_differences(steps, pipeline)
        for access in airflow_access_of(steps):
            found += access.differences(ctx.config.secrets)
            if access.unknown_keys:
                ctx.diagnose(
                    "BRG231",
                    task.line,
                    f"task `{task_id}`: reads an Airflow Variable or connection whose name is "
                    "only known at run time",
                )
        new = [d for d in found if d not in outcome.differences]
        if new:
            outcome.differences.extend(new)
            if outcome.fidelity == "exact":
                outcome.fidelity = "approximate"
        if task.trigger_rule in INVERTED_RULES and steps:
            ctx.diagnose(
                "BRG230",
                task.line,
                f"task `{task_id}`: trigger rule `{task.trigger_rule}` runs it when its upstream "
                "tasks did not succeed; its step runs only when they did",
            )
    pipeline.dag_differences = dag_differences(dag, ctx.source)
    declare_skipped(pipeline, dag)
    declare_secrets(pipeline, ctx.config.secrets)


# --- task differences ---------------------------------------------------------------------------


def task_differences(
    task: TaskModel, dag: DagModel, steps: list[StepModel], upstream: list[str]
) -> list[str]:
    """What the task's steps lose of its Airflow behaviour (empty: nothing); `upstream` holds
    its upstream task ids, sorted."""
    return [
        *trigger_rule_differences(task, steps, upstream),
        *setting_differences(task, dag, runs=bool(steps)),
        *retry_differences(task, dag, steps),
    ]


def environment_differences(steps: list[StepModel], parameters: dict[str, Any]) -> list[str]:
    """An environment variable the DAG file reads when Airflow parses it is a pipeline parameter
    here, which nothing fills from the workers' environment: the task differs until it is set."""
    used = sorted({p.name for s in steps for p in params_in(s.spec)})
    out = []
    for name in used:
        spec = parameters.get(name)
        if spec is not None and spec.source == "environment":
            out.append(
                f"reads an Airflow worker's environment variable when the DAG is parsed: here the "
                f"pipeline parameter `{name}` (default {spec.default!r}), which the bridge's "
                "Airflow operator fills from its worker's environment; set it when you start the "
                "pipeline from anywhere else"
            )
    return out


def unreadable_xcom_differences(steps: list[StepModel], pipeline: PipelineModel) -> list[str]:
    """An XCom the step reads from a task whose steps keep no output a pipeline can read (a
    LambdaStep's outputs are not wired into later steps): the step gets no value for it."""
    out = []
    reads = {(o.task_id, o.key, bool(o.path)) for s in steps for o in values_in(s.spec, StepOutput)}
    for task_id in sorted(
        {t for t, key, deep in reads if not _lambda_output(pipeline, t, key, deep)}
    ):
        producers = pipeline.steps_of(task_id) if task_id in pipeline.outcomes else []
        if not producers or any(
            isinstance(p.spec, (ProcessingSpec, JobSpec, PlaceholderSpec)) for p in producers
        ):
            continue  # contracted (pushes nothing), readable, or a placeholder (manual itself)
        kinds = ", ".join(sorted({p.kind for p in producers})) or "no"
        out.append(
            f"reads the XCom of `{task_id}`, which no step output holds (it became {kinds} "
            "step(s)): the step gets no value for it"
        )
    return out


def templated_json_differences(steps: list[StepModel], pipeline: PipelineModel) -> list[str]:
    """A list or dict XCom a template renders into text: Airflow writes Python's repr of it,
    a LambdaStep's output holds its JSON text (the quotes differ)."""
    joined = {
        o.task_id
        for s in steps
        for join in values_in(s.spec, Join)
        for o in values_in(list(join.parts), StepOutput)
        if not o.path and _lambda_output(pipeline, o.task_id, o.key, False, json_only=True)
    }
    return [
        f"renders the XCom of `{t}` (a list or dict) into text as JSON; Airflow renders Python's "
        "repr of it (single quotes, True/None)"
        for t in sorted(joined)
    ]


def _lambda_output(
    pipeline: PipelineModel, task_id: str, key: str, deep: bool, json_only: bool = False
) -> bool:
    """The XCom is an output the task's LambdaStep declares, read whole: a step can read it."""
    producers = pipeline.steps_of(task_id) if task_id in pipeline.outcomes else []
    if deep or not producers or not isinstance(producers[-1].spec, LambdaSpec):
        return False
    return any(
        o.get("name") == key and (o.get("json") or not json_only)
        for o in producers[-1].spec.outputs or []
    )


def params_in(value: Any, depth: int = 0) -> list[Param]:
    """The Params inside a spec, its pipeline expressions and containers."""
    return values_in(value, Param, depth)


def values_in(value: Any, kind: type, depth: int = 0) -> list[Any]:
    """The values of `kind` inside a spec, its pipeline expressions and containers."""
    if depth > 40:
        return []
    if isinstance(value, kind):
        return [value]
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in fields(value)]
    else:
        return []
    return [v for item in items for v in values_in(item, kind, depth + 1)]


def trigger_rule_differences(
    task: TaskModel, steps: list[StepModel], upstream: list[str]
) -> list[str]:
    rule = task.trigger_rule
    if rule in TRIGGER_RULES and upstream:
        return [f"trigger rule `{rule}`: Airflow {TRIGGER_RULES[rule]}; {SAGEMAKER_RUNS}"]
    if rule != "one_success":
        return []
    # The engine copies a join into each branch, so a copy waits only for the tasks of its
    # branch: exact when that is one task. Several tasks that all run is a different rule.
    waits = [[u for u in upstream if u not in step.dropped] for step in steps] or [upstream]
    several = next((w for w in waits if len(w) > 1), None)
    if several is None:
        return []
    names = ", ".join(f"`{u}`" for u in several)
    return [
        f"trigger rule `one_success`: Airflow runs it as soon as one of {names} succeeds, even "
        f"if another fails; {SAGEMAKER_RUNS}"
    ]


def setting_value(task: TaskModel, dag: DagModel, key: str) -> Any:
    """A task argument as a JSON value (its own, else `default_args`); None when unset."""
    arg = task.kwargs.get(key)
    if arg is not None:
        return arg.value if arg.kind == "literal" else (arg.source or arg.kind)
    value = dag.default_args.get(key)
    if isinstance(value, dict) and "kind" in value:
        return value.get("value") if value["kind"] == "literal" else value.get("source", "?")
    return value


def setting_differences(task: TaskModel, dag: DagModel, runs: bool = True) -> list[str]:
    """Callbacks, e-mails, SLA and run-to-run dependencies. `runs`: the task became steps (a
    contracted EmptyOperator cannot fail, so no mail is lost)."""
    found = []
    callbacks = [
        f"`{key}={_short(value)}`"
        for key in TASK_CALLBACKS
        if (value := setting_value(task, dag, key)) not in (None, [], ())
    ]
    if callbacks:
        found.append(f"{', '.join(callbacks)}: {CALLBACK_ADVICE}")
    email = setting_value(task, dag, "email")
    events = [
        event
        for event in ("failure", "retry")
        if setting_value(task, dag, f"email_on_{event}") is not False
    ]
    if runs and email not in (None, "", [], ()) and events:
        found.append(
            f"`email={_short(email)}`: Airflow mails on {' and '.join(events)}; use an "
            "EventBridge rule on the step's status change events with an SNS target"
        )
    if setting_value(task, dag, "sla") not in (None, False):
        found.append(
            f"`sla={_short(setting_value(task, dag, 'sla'))}`: SageMaker has no SLA; alarm on "
            "the step's duration with a CloudWatch alarm or an EventBridge rule"
        )
    for key, what in (
        ("depends_on_past", "runs it only if its run in the previous DAG run succeeded"),
        (
            "wait_for_downstream",
            "waits for the previous DAG run's tasks just downstream of it",
        ),
    ):
        if setting_value(task, dag, key) is True:
            found.append(
                f"`{key}=True`: Airflow {what}; pipeline executions are independent of each "
                "other (check the previous execution with ListPipelineExecutions in a step first)"
            )
    return found


def retry_differences(task: TaskModel, dag: DagModel, steps: list[StepModel]) -> list[str]:
    retries = task_settings(task, dag).get("retries")
    kinds = {s.kind for s in steps}
    if not retries or not kinds - NO_RETRY_KINDS:
        return []  # no retry policy to speak of (the Lambda/EMR rules say so themselves)
    faults = (
        "service faults, throttling and the job's internal, capacity or resource-limit errors"
        if kinds & JOB_RETRY_KINDS
        else "service faults and throttling"
    )
    found = [
        f"retries={retries}: SageMaker retries the step only after {faults}; an error of the "
        "task's own code (AlgorithmError) fails the step at once, where Airflow retries it"
    ]
    own = task.retries if task.retries is not None else dag.default_args.get("retries")
    if isinstance(own, int) and own > SAGEMAKER_MAX_ATTEMPTS:
        found.append(f"retries={own}: SageMaker allows at most {SAGEMAKER_MAX_ATTEMPTS} attempts")
    return found


# --- the DAG's own settings ---------------------------------------------------------------------


def dag_differences(dag: DagModel, source: str) -> list[str]:
    """What the pipeline loses of the DAG's own settings (empty: nothing)."""
    found = []
    if dag.options.get("catchup") is True:
        found.append(
            "`catchup=True`: Airflow runs every schedule interval missed since `start_date`; a "
            "SageMaker schedule starts no past executions: start them by hand, one per date"
        )
    runs = dag.options.get("max_active_runs")
    if runs is not None:
        found.append(
            f"`max_active_runs={_short(runs)}`: SageMaker does not limit concurrent executions "
            "of a pipeline: check ListPipelineExecutions before starting one (the Airflow "
            "operator, or a Lambda function in front of the schedule)"
        )
    tasks = dag.options.get("max_active_tasks")
    if tasks is not None:
        found.append(
            f"`max_active_tasks={_short(tasks)}` limits running tasks across all runs of the DAG; "
            "ParallelismConfiguration(max_parallel_execution_steps) limits the steps of each "
            "execution only"
        )
    keywords = dag_call_keywords(source, dag.line)
    callbacks = [
        f"`{key}={_short(keywords[key])}`"
        for key in DAG_CALLBACKS
        if keywords.get(key) not in (None, "None", "[]")
    ]
    if callbacks:
        found.append(
            f"{', '.join(callbacks)}: a pipeline has no callbacks: use an EventBridge rule on "
            "the 'SageMaker Model Building Pipeline Execution Status Change' event"
        )
    return found


def dag_call_keywords(source: str, line: int) -> dict[str, str]:
    """The keyword arguments (as source text) of the DAG(...) or @dag(...) call at `line`."""
    tree = module_tree(source)
    if tree is None:
        return {}
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and n.lineno <= line <= (n.end_lineno or n.lineno)
        and ast.unparse(n.func).rsplit(".", 1)[-1] in ("DAG", "dag")
    ]
    if not calls:
        return {}
    call = min(calls, key=lambda n: (n.end_lineno or n.lineno) - n.lineno)
    return {k.arg: ast.unparse(k.value) for k in call.keywords if k.arg}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


# --- xcom_pull of tasks that do not run on a branch copy's path ---------------------------------


def declare_skipped(pipeline: PipelineModel, dag: DagModel) -> None:
    """A branch copy's `dropped` becomes every task known not to run on its path (the dropped
    upstream tasks and the other branch's tasks before them); script steps get the list, so the
    runtime answers their xcom_pull with None, as Airflow does, and any other unwired pull fails."""
    import networkx as nx

    graph = dag.graph
    for step in pipeline.steps.values():
        if not step.dropped:
            continue
        task_id = step.tasks[0]
        dropped = set(step.dropped)
        live = set(graph.predecessors(task_id)) - dropped
        ran = live.union(*(nx.ancestors(graph, t) for t in live)) if live else set()
        gone = dropped.union(*(nx.ancestors(graph, t) for t in dropped)) - ran
        step.dropped = sorted(gone)
        if script_of(step.spec) is not None:
            call = {**(step.spec.call or {}), "skipped": step.dropped}
            step.spec = replace(step.spec, call=call)


# --- Airflow's Variables, connections and metadata at run time ----------------------------------

_VAR_TEMPLATE = re.compile(r"\{\{\s*var\.(?:value|json)\.([A-Za-z_][A-Za-z0-9_]*)")
_MODELS = {"DagRun", "TaskInstance", "XCom", "DagBag", "DagModel", "Log", "TaskReschedule"}
# Airflow names the step runtime stands in for (or refuses with a clear error) in the job.
STAND_IN_NAMES = {"Variable", "BaseHook", "Connection", *_MODELS}


@dataclass(frozen=True)
class AirflowAccess:
    """What a callable reads of Airflow at run time."""

    variables: tuple[str, ...] = ()  # Variable.get("key") / {{ var.value.key }} with literal keys
    connections: tuple[str, ...] = ()  # BaseHook.get_connection("id") with literal ids
    models: tuple[str, ...] = ()  # Airflow model classes the callable imports (DagRun, ...)
    unknown_keys: bool = False  # a Variable key or connection id known only at run time

    def __bool__(self) -> bool:
        return bool(self.variables or self.connections or self.models or self.unknown_keys)

    def differences(self, secrets: SecretsConfig) -> list[str]:
        found = []
        for key in self.variables:
            found.append(
                f"reads Airflow Variable `{key}` at run time: the step reads "
                f"`{variable_env(key)}`, filled at job start from the secret "
                f"`{secrets.variable_name(key)}` (Secrets Manager, else SSM Parameter Store)"
            )
        for conn_id in self.connections:
            found.append(
                f"reads Airflow connection `{conn_id}` at run time: the step reads "
                f"`{connection_env(conn_id)}`, filled at job start from the secret "
                f"`{secrets.connection_name(conn_id)}` (Secrets Manager, else SSM Parameter Store)"
            )
        if self.unknown_keys:
            found.append(
                "reads an Airflow Variable or connection whose name is known only at run time: "
                "set its AIRFLOW_VAR_<KEY> / AIRFLOW_CONN_<CONN_ID> in the job's environment"
            )
        if self.models:
            names = ", ".join(f"`{m}`" for m in self.models)
            found.append(
                f"queries Airflow's metadata database ({names}) at run time: a SageMaker job has "
                "no Airflow database, so the step fails there"
            )
        return found


def variable_env(key: str) -> str:
    """The environment variable Airflow itself reads a Variable from."""
    return f"AIRFLOW_VAR_{key.upper()}"


def connection_env(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def airflow_access(code: str) -> AirflowAccess:
    """Variables, connections and models the extracted code reads of Airflow at run time."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return AirflowAccess()
    variables: set[str] = set(_VAR_TEMPLATE.findall(code))
    connections: set[str] = set()
    models: set[str] = set()
    unknown = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow"):
            models |= {a.name for a in node.names if a.name in _MODELS}
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = ast.unparse(node.func.value).rsplit(".", 1)[-1]
        method = node.func.attr
        key = node.args[0] if node.args else _keyword(node, ("key", "conn_id"))
        literal = (
            key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        )
        if owner == "Variable" and method == "get":
            found = variables
        elif method in ("get_connection", "get_connection_from_secrets") or (
            owner == "Connection" and method == "get"
        ):
            found = connections
        else:
            continue
        if literal is None:
            unknown = True
        else:
            found.add(literal)
    return AirflowAccess(
        tuple(sorted(variables)), tuple(sorted(connections)), tuple(sorted(models)), unknown
    )


def _keyword(call: ast.Call, names: tuple[str, ...]) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg in names), None)


def airflow_access_of(steps: list[StepModel]) -> list[AirflowAccess]:
    """The run-time Airflow reads of a task's script (its copies share one)."""
    bodies = {s.spec.script.body for s in steps if script_of(s.spec) is not None}
    found = [airflow_access(body) for body in sorted(b for b in bodies if b)]
    return [a for a in found if a][:1]


def declare_secrets(pipeline: PipelineModel, secrets: SecretsConfig) -> None:
    """Script steps that read Variables or connections get {environment variable: secret name}."""
    for step in pipeline.steps.values():
        script = script_of(step.spec)
        if script is None or not script.body or not isinstance(step.spec, ProcessingSpec):
            continue
        access = airflow_access(script.body)
        names = {variable_env(k): secrets.variable_name(k) for k in access.variables}
        names |= {connection_env(c): secrets.connection_name(c) for c in access.connections}
        if names:
            step.spec = replace(step.spec, call={**(step.spec.call or {}), "secrets": names})
