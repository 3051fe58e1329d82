"""Operator steps: an operator with no rule whose class is known runs as itself.

Known means a provider package or a module of the DAG's own repository
(translators/operator_origin.py). The task becomes a ProcessingStep whose script imports the
class, builds the operator with the task's arguments (literals as Python literals, run-time
values as step arguments) and calls `execute(context)`; the result is the step's XCom. The job
installs Airflow and the provider, pinned to the versions installed where `translate` ran; the
repository's module is staged next to the script (the data contract's repository folders).
Connections and Variables resolve in the job by name, through Airflow's own environment backend
(AIRFLOW_CONN_<ID> / AIRFLOW_VAR_<KEY>), filled at job start from the secrets named for the
connection ids and Variable keys the translation can read.

The registry falls back to this rule (Registry.lookup); a user's rule for the operator wins.
"""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Any

from bridge import quoting
from bridge.parse.model import TaskModel
from bridge.translate.context_values import with_run_clock
from bridge.translate.expressions import Join, StepOutput, is_dynamic
from bridge.translate.fidelity import AirflowAccess, airflow_access, connection_env, variable_env
from bridge.translate.files.model import Access, Folder, TaskFiles
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import ProcessingSpec, ScriptSpec
from translators.common import (
    as_parameter,
    computed_value,
    leaves_as_parameters,
    manual,
    seconds,
)
from translators.operator_origin import (
    Origin,
    Requirement,
    imported_providers,
    installed,
    module_source,
    oldest_python,
    origin,
    provider_requirement,
)
from translators.registry import Example, StepDraft, Translation, rule

ENTRY = "run_operator"
# BaseOperator arguments that tell the scheduler how to run the task, not the operator what to
# do: the pipeline carries what it can of them (retries, timeout), the fidelity pass the rest.
SCHEDULING = frozenset(
    {
        "task_id", "dag", "task_group", "owner", "email", "email_on_failure", "email_on_retry",
        "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay",
        "trigger_rule", "depends_on_past", "wait_for_downstream", "ignore_first_depends_on_past",
        "wait_for_past_depends_before_skipping", "pool", "pool_slots", "queue",
        "priority_weight", "weight_rule", "execution_timeout", "sla", "start_date", "end_date",
        "on_failure_callback", "on_success_callback", "on_retry_callback",
        "on_execute_callback", "on_skipped_callback", "doc", "doc_md", "doc_json", "doc_yaml",
        "doc_rst", "task_display_name", "executor", "executor_config", "run_as_user",
        "max_active_tis_per_dag", "max_active_tis_per_dagrun", "inlets", "outlets", "resources",
        "map_index_template",
    }
)  # fmt: skip
DURATIONS = frozenset({"timeout", "poke_interval", "max_wait"})  # seconds or a timedelta
# Context values the step passes by name; params, ti and task are added by the runtime/script.
CONTEXT = ("ds", "ts", "logical_date", "data_interval_start", "data_interval_end", "run_id")
_TAKEN = frozenset({"datetime", "pendulum", "airflow_context", ENTRY, "context", "operator"})

CONTEXT_HELPER = '''
def airflow_context(task, values):
    """The context Airflow passes to execute(): the run's values (its dates as pendulum
    DateTimes, as Airflow gives them), params, the stand-in `ti`, and the task itself."""
    context = dict(values)
    for key in ("logical_date", "data_interval_start", "data_interval_end"):
        if isinstance(context.get(key), str) and context[key]:
            context[key] = pendulum.instance(datetime.datetime.fromisoformat(context[key]))
    context["task"] = task
    return context
'''

PARAMETER_HELPER = '''

def from_parameter(text):
    """An argument given as a pipeline parameter: JSON for a number or a structure, else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text
'''

RUNS_ITSELF = (
    "runs the operator itself in a processing job (`execute(context)`), with no scheduler "
    "around it: the step's retry policy, not Airflow's, retries it, and there is no XCom "
    "backend but the step's output (xcom_pull reads upstream step outputs, xcom_push adds keys "
    "to it); an AirflowSkipException fails the step, where Airflow skips the task"
)
CONTEXT_DIFFERENCE = (
    "its context holds ds, ts, logical_date, data_interval_start, data_interval_end, run_id, "
    "params, ti (a stand-in) and task; other keys (dag_run, macros, var, conn, ...) are absent"
)
BY_NAME = (
    "connections and Variables the operator reads resolve by name in the job, through "
    "Airflow's environment backend: AIRFLOW_CONN_<CONN_ID> / AIRFLOW_VAR_<KEY>; set those it "
    "reads by default (e.g. `aws_default`) in the job's environment"
)


@rule(
    name="operator_step",
    fallback=True,
    examples=[
        Example(
            "a provider's operator with no rule of its own runs as itself in a step",
            """
from airflow.sdk import DAG
from airflow.providers.standard.operators.smooth import SmoothOperator
with DAG("d"):
    SmoothOperator(task_id="smooth")
""",
            {"smooth": {"fate": "step", "fidelity": "approximate", "rule": "operator_step"}},
        )
    ],
)
def operator_step(task: TaskModel, ctx: RuleContext) -> Translation:
    """An operator with no rule whose class is known (a provider package, or a module of the
    DAG's repository) → a ProcessingStep running the operator itself: the script builds it with
    the task's arguments and calls `execute(context)`; its result is the step's XCom.
    Approximate: no scheduler (retries are the step's, sensors poke in the job bounded by their
    timeout, deferrable operators run synchronously), no XCom backend but the step's output,
    connections and Variables by name."""
    found = origin(task.operator, ctx.path)
    if found is None:  # the registry checked it; a rule called by hand may not have
        from translators.registry import placeholder

        return placeholder(task, ctx)
    if task.mapped:
        return manual(task, ctx, "an operator mapped over a run-time value: no step shape for it")
    arguments = OperatorArguments.of(task, ctx, found)
    if arguments.unknown:
        names = ", ".join(f"`{n}`" for n in arguments.unknown)
        return manual(
            task,
            ctx,
            f"arguments {names} of `{found.name}` are only known when Airflow parses the DAG: "
            "the operator cannot be rebuilt in a step",
        )
    requirements = step_requirements(found)
    differences = [RUNS_ITSELF, CONTEXT_DIFFERENCE, *arguments.differences]
    differences.append(_installs(requirements))
    files, more = _repository_files(task, ctx, found)
    differences += more
    access = _access(arguments, found)
    differences += access.differences(ctx.config.secrets)
    differences.append(BY_NAME)
    secrets = {variable_env(k): ctx.config.secrets.variable_name(k) for k in access.variables}
    secrets |= {
        connection_env(c): ctx.config.secrets.connection_name(c) for c in access.connections
    }
    call, more = _call(task, ctx, arguments, secrets)
    differences += more
    python = oldest_python(requirements)
    script = ScriptSpec(
        mode="python",
        entry=ENTRY,
        body=script_body(task, found, arguments),
        pulls=[],
        requirements=[r.text for r in requirements],
        python=f"{python[0]}.{python[1]}" if python else None,
        files=files,
    )
    draft = StepDraft("Processing", ProcessingSpec(script=script, call=call, image="python"))
    return Translation("step", "approximate", [draft], differences)


class OperatorArguments:
    """The task's keyword arguments for the operator: literals (built into the script), run-time
    values (step arguments), and those the step cannot have."""

    def __init__(self) -> None:
        self.literals: dict[str, Any] = {}
        self.runtime: dict[str, Any] = {}
        self.unknown: list[str] = []
        self.differences: list[str] = []
        self.sensor = False
        self.no_xcom = False
        self.decoded: list[str] = []  # run-time arguments given as parameters: JSON or text

    @classmethod
    def of(cls, task: TaskModel, ctx: RuleContext, found: Origin) -> OperatorArguments:
        self = cls()
        self.sensor = ".sensors." in f".{found.module}." or found.name.endswith("Sensor")
        for name, arg in task.kwargs.items():
            if name in SCHEDULING or not name.isidentifier() or keyword.iskeyword(name):
                continue
            if name in DURATIONS and arg.kind not in ("literal", "template"):
                value = seconds(task, name, ctx, None)
                if value is None:
                    self.unknown.append(name)
                else:
                    self.literals[name] = value
                continue
            value, problems = ctx.value(arg, task)
            if problems and computed_value(arg):
                self._as_parameter(name, arg, ctx)
                continue
            if problems:
                replaced = leaves_as_parameters(arg, name, ctx, self.differences)
                value, problems = ctx.value(replaced, task) if replaced else (None, problems)
            if problems:
                self.unknown.append(name)
            elif is_dynamic(value):
                self.runtime[name] = value
            else:
                self.literals[name] = value
        self._scheduler_modes()
        return self

    def _as_parameter(self, name: str, arg, ctx: RuleContext) -> None:
        """A value the DAG computes when Airflow parses or runs it (a system test's
        `test_context[ROLE_ARN_KEY]`, a config module's constant): a pipeline parameter, which
        the script decodes as JSON for a number or a structure, else takes as text."""
        form = "JSON for a number or a structure, else text"
        self.runtime[name] = as_parameter(arg.source or name, name, ctx, self.differences, form)
        self.decoded.append(name)

    def _scheduler_modes(self) -> None:
        """What needs a scheduler runs in the job: poke mode, no deferral."""
        if self.literals.get("deferrable") not in (None, False):
            self.differences.append(
                "deferrable: the operator runs synchronously in the job (no triggerer)"
            )
        if "deferrable" in self.literals:  # only operators that take it: not every sensor
            self.literals["deferrable"] = False
        if self.sensor:
            if self.literals.get("mode") not in (None, "poke"):
                self.differences.append(
                    f"mode={self.literals['mode']!r}: no scheduler reschedules it, the sensor "
                    "pokes in the job (holding its instance) until its timeout"
                )
            self.literals["mode"] = "poke"
            self.differences.append(
                "a sensor: its poke loop runs in the job, bounded by its timeout "
                f"({self.literals.get('timeout', 7 * 24 * 3600)} s)"
            )
        if self.literals.get("do_xcom_push") is False:
            self.no_xcom = True


def _call(
    task: TaskModel, ctx: RuleContext, arguments: OperatorArguments, secrets: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The step's call: run-time arguments by name, the context values, secrets by name."""
    context = {}
    for name in CONTEXT:
        value, _ = ctx.template("{{ " + name + " }}", task)
        single = isinstance(value, Join) and len(value.parts) == 1
        context[name] = value.parts[0] if single else value
    call: dict[str, Any] = {"op_kwargs": {"arguments": arguments.runtime}, "context": context}
    if ctx.dag.params:
        call["params"] = {name: ctx.dag_param(name) for name in ctx.dag.params}
    call, problems = with_run_clock(call, ctx.run_clock)
    call["reads"] = sorted(_reads(arguments.runtime))
    if secrets:
        call["secrets"] = secrets
    return call, problems


def script_body(task: TaskModel, found: Origin, arguments: OperatorArguments) -> str:
    """The step's code: the operator built as the DAG builds it, then execute(context)."""
    cls = found.name if found.name not in _TAKEN else "OperatorClass"
    alias = f" as {cls}" if cls != found.name else ""
    lines = []
    if found.repository is not None:
        lines += [
            "    # The repository's module is staged next to this script when the step starts.",
            f"    from {found.module} import {found.name}{alias}",
            "",
        ]
    for name in arguments.decoded:
        lines.append(f"    arguments[{name!r}] = from_parameter(arguments[{name!r}])")
    lines.append(f"    operator = {cls}(")
    lines.append(f"        task_id={quoting.py_literal(task.task_id)},")
    for name, value in arguments.literals.items():
        lines.append(f"        {name}={quoting.py_literal(value)},")
    lines.append("        **arguments,")
    lines.append("    )")
    run = "operator.execute(airflow_context(operator, context))"
    if arguments.no_xcom:
        lines += [f"    {run}", "    return None  # do_xcom_push=False: Airflow keeps no XCom"]
    else:
        lines.append(f"    return {run}")
    doc = quoting.docstring(
        f"Build `{found.name}` with the task's arguments and run it as Airflow would."
    )
    imports = "import datetime\n" + ("import json\n" if arguments.decoded else "")
    imports += "\nimport pendulum\n"
    if found.repository is None:
        imports += f"from {found.module} import {found.name}{alias}\n"
    return (
        imports
        + "\n"
        + CONTEXT_HELPER
        + (PARAMETER_HELPER if arguments.decoded else "")
        + f"\n\ndef {ENTRY}(arguments, **context):\n"
        + f'    """{doc}\n\n    `arguments`: its values known only at run time.\n    """\n'
        + "\n".join(lines)
        + "\n"
    )


def step_requirements(found: Origin) -> list[Requirement]:
    """Airflow, then the provider distributions the operator's module needs."""
    providers = []
    if found.provider is not None:
        providers.append(found.provider)
    if found.repository is not None:
        source = module_source(found.repository)
        providers += [provider_requirement(m) for m in imported_providers(source)]
    unique = {r.name: r for r in providers}
    return [installed("apache-airflow"), *sorted(unique.values(), key=lambda r: r.name)]


def _installs(requirements: list[Requirement]) -> str:
    names = ", ".join(f"`{r.text}`" for r in requirements)
    unpinned = [r.name for r in requirements if r.version is None]
    text = (
        f"the job installs {names} from PyPI before it runs (internet access or a PyPI mirror "
        "in the job's network, or an image that has them)"
    )
    if unpinned:
        text += f"; not installed where `translate` ran, so unpinned: {', '.join(unpinned)}"
    return text


def _repository_files(
    task: TaskModel, ctx: RuleContext, found: Origin
) -> tuple[TaskFiles, list[str]]:
    """The repository folder the operator's module is in, staged next to the step script (the
    data contract copies it to inputs/ and mounts it)."""
    module = found.repository
    if module is None or not ctx.path:
        return TaskFiles(), []
    dag_folder = Path(ctx.path).resolve().parent
    relative = module.path.relative_to(module.base).as_posix()
    if module.base != dag_folder:
        return TaskFiles(), [
            f"`{found.module}` is in {quoting.one_line(module.base)}, above the DAG's folder: "
            "it is not shipped with the step; install it in the step image"
        ]
    package = module.package_folder
    key = package.relative_to(dag_folder).as_posix() if package else ""
    access = Access(folder=Folder(kind="dag", key=key), mode="read", path=relative, line=task.line)
    differences = []
    if module.path == Path(ctx.path).resolve():
        differences.append(
            f"`{found.name}` is defined in the DAG file: the job imports the DAG file to build it, "
            "as an Airflow worker does, so the file's top-level code runs in the job"
        )
    return TaskFiles(accesses=(access,)), differences


def _access(arguments: OperatorArguments, found: Origin) -> AirflowAccess:
    """The connection ids the task names (`*conn_id` arguments) and the Variables and
    connections the repository module reads with literal names."""
    connections = {
        v for k, v in arguments.literals.items() if k.endswith("conn_id") and isinstance(v, str)
    }
    variables: set[str] = set()
    unknown = False
    if found.repository is not None:
        read = airflow_access(module_source(found.repository))
        variables |= set(read.variables)
        connections |= set(read.connections)
        unknown = read.unknown_keys
    return AirflowAccess(tuple(sorted(variables)), tuple(sorted(connections)), (), unknown)


def _reads(value: Any) -> set[str]:
    """Upstream task ids whose XCom a run-time argument reads."""
    if isinstance(value, StepOutput):
        return {value.task_id}
    if isinstance(value, Join):
        parts: Any = value.parts
    elif isinstance(value, dict):
        parts = value.values()
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        return set()
    return set().union(set(), *(_reads(p) for p in parts))
