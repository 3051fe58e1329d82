"""Python tasks: PythonOperator, @task, virtualenv / external-Python flavours.

Each becomes a ProcessingStep that runs a generated script (`steps/<task>.py`): the callable and
what it needs from its module, extracted with `ast` and `symtable`, plus the bridge step runtime,
which turns arguments into the call Airflow would have made and writes the return value as the
step's XCom (a JSON file declared as a PropertyFile). That step (`script_step`) lives in translators/common.py:
the bash, branch, short-circuit and sensor rules build on it too. A task whose callable only
raises becomes a FailStep instead (`fail_translation`).
"""

from __future__ import annotations

import ast

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import FailSpec
from translators.common import script_step
from translators.registry import Example, StepDraft, Translation, rule

_PY = "airflow.providers.standard.operators.python"
PYTHON_OPERATORS = (f"{_PY}.PythonOperator", "airflow.sdk.task", "airflow.sdk.task.python")
VENV_OPERATORS = (
    f"{_PY}.PythonVirtualenvOperator",
    f"{_PY}.ExternalPythonOperator",
    "airflow.sdk.task.virtualenv",
    "airflow.sdk.task.external_python",
)
_FAIL_EXCEPTIONS = {"AirflowFailException", "AirflowException", "Exception", "RuntimeError"}
# Trigger rules under which a downstream task runs after this one failed.
_RUNS_AFTER_FAILURE = {"all_done", "one_failed", "all_failed", "one_done", "always"}


def fail_message(task: TaskModel, ctx: RuleContext) -> str | None:
    """The error message of a Python task whose callable only raises: a docstring at most, then
    `raise AirflowFailException("...")` (or AirflowException, Exception, RuntimeError) with a
    literal message, or no argument. None for anything else.

    The python rule can turn such a task into a FailStep (kind "Fail", spec {"message": ...})
    instead of a job that starts only to raise; see `fail_translation`."""
    ref = task.callable
    if ref is None or not ref.defined_in_file or task.mapped:
        return None
    functions = ctx.functions_named(ref.name)
    function = next((f for f in functions if f.lineno <= ref.line <= (f.end_lineno or 0)), None)
    if function is None and len(functions) == 1:
        function = functions[0]
    if function is None:
        return None
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return None
    exc = body[0].exc
    call = exc if isinstance(exc, ast.Call) else None
    name_node = call.func if call else exc
    name = getattr(name_node, "attr", None) or getattr(name_node, "id", None)
    if name not in _FAIL_EXCEPTIONS:
        return None
    if call is None or (not call.args and not call.keywords):
        return f"{name} raised by task {task.task_id}"
    if len(call.args) == 1 and not call.keywords:
        arg = call.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def fail_translation(task: TaskModel, ctx: RuleContext) -> Translation | None:
    """`fail_message` as a translation: a FailStep with that message. Exact, except that tasks
    that Airflow runs after a failure (trigger rules all_done, one_failed, ...) do not run: a
    FailStep ends the execution."""
    message = fail_message(task, ctx)
    if message is None:
        return None
    differences = []
    after = sorted(
        t
        for t in ctx.downstream(task.task_id)
        if ctx.dag.tasks[t].trigger_rule in _RUNS_AFTER_FAILURE
    )
    if after:
        differences.append(
            "a FailStep ends the execution: "
            + ", ".join(f"`{t}`" for t in after)
            + " (run after failures in Airflow) do not run"
        )
    return Translation(
        "step",
        "approximate" if differences else "exact",
        [StepDraft("Fail", FailSpec(message=message))],
        differences,
    )


def _fidelity(differences: list[str]) -> str:
    return "approximate" if differences else "exact"


@rule(
    *PYTHON_OPERATORS,
    examples=[
        Example(
            "a @task function becomes a ProcessingStep running its extracted script",
            """
from airflow.sdk import DAG, task
with DAG("d"):
    @task
    def double(x: int) -> int:
        return 2 * x
    double(21)
""",
            {"double": {"fate": "step", "fidelity": "exact", "steps": ["double"]}},
        )
    ],
)
def python(task: TaskModel, ctx: RuleContext) -> Translation:
    """PythonOperator / `@task` → a ProcessingStep running `steps/<task>.py`: the callable and the
    imports, helpers and constants it uses, extracted from the DAG file. `op_args`, `op_kwargs`
    and templated values arrive as arguments; upstream XComs as inputs (the upstream step's
    JSON output); the return value is written as this step's XCom. Exact unless the callable
    uses Airflow APIs, `ti`, names the file does not define, or `__file__`."""
    failed = fail_translation(task, ctx)
    if failed is not None:
        return failed
    draft, differences = script_step(task, ctx)
    return Translation("step", _fidelity(differences), [draft], differences)


@rule(
    *VENV_OPERATORS,
    examples=[
        Example(
            "requirements of a virtualenv task become the step script's requirements",
            """
from airflow.sdk import DAG, task
with DAG("d"):
    @task.virtualenv(requirements=["colorama==0.4.6"])
    def paint():
        import colorama
        return colorama.Fore.RED
    paint()
""",
            {"paint": {"fate": "step", "fidelity": "exact"}},
        )
    ],
)
def python_virtualenv(task: TaskModel, ctx: RuleContext) -> Translation:
    """PythonVirtualenvOperator / ExternalPythonOperator / `@task.virtualenv` /
    `@task.external_python` → like `python`; `requirements` are installed by the step script
    before the callable's imports (pip, in the job). An external interpreter path has no meaning
    in a SageMaker job: the step runs the image's Python (approximate)."""
    draft, differences = script_step(task, ctx)
    if "python" in task.kwargs or task.operator.endswith(
        ("ExternalPythonOperator", "external_python")
    ):
        differences.append("the external Python interpreter is replaced by the step image's Python")
    return Translation("step", _fidelity(differences), [draft], differences)


CONTAINER_TASKS = ("airflow.sdk.task.kubernetes", "airflow.sdk.task.docker")
# Settings of the pod or container the function ran in; a processing job has its own.
_CONTAINER_SETTINGS = (
    "image",
    "namespace",
    "env_vars",
    "environment",
    "secrets",
    "node_selector",
    "tolerations",
    "affinity",
    "container_resources",
    "volumes",
    "volume_mounts",
    "mounts",
    "service_account_name",
)


@rule(
    *CONTAINER_TASKS,
    examples=[
        Example(
            "a @task.kubernetes function runs in a processing job instead of a pod",
            """
from airflow.sdk import DAG, task
with DAG("d"):
    @task.kubernetes(image="python:3.11-slim", namespace="ml")
    def train(rows: int) -> int:
        return rows * 2
    train(10)
""",
            {"train": {"fate": "step", "fidelity": "approximate", "steps": ["train"]}},
        )
    ],
)
def python_in_container(task: TaskModel, ctx: RuleContext) -> Translation:
    """`@task.kubernetes` / `@task.docker` → like `python`: the function runs as a step script in a
    processing job, which is SageMaker's own container. Approximate: the job runs the step image,
    not the task's `image` (packages that image brings must be installed in the step, or the
    image rebuilt for SageMaker and configured as the step image), and the pod or container
    settings (`namespace`, `env_vars`, `secrets`, node selectors, resources, volumes) are not
    applied."""
    draft, differences = script_step(task, ctx)
    image = task.kwargs.get("image")
    shown = image.value if image is not None and image.kind == "literal" else None
    differences.append(
        f"runs in the step image, not the container image{f' `{shown}`' if shown else ''}: "
        "install what that image brings in the step, or build it for SageMaker as the step image"
    )
    ignored = [k for k in _CONTAINER_SETTINGS if k != "image" and k in task.kwargs]
    if ignored:
        differences.append(
            "pod/container settings not applied: " + ", ".join(f"`{k}`" for k in ignored)
        )
    return Translation("step", "approximate", [draft], differences)
