"""Python tasks: PythonOperator, @task, virtualenv / external-Python flavours.

Each becomes a ProcessingStep that runs a generated script (`steps/<task>.py`): the callable and
what it needs from its module, extracted with libcst, plus the bridge step runtime, which turns
arguments into the call Airflow would have made and writes the return value as the step's XCom
(a JSON file declared as a PropertyFile). The branch and short-circuit flavours share this and
add ConditionSteps (translators/branching.py).
"""

from __future__ import annotations

import ast
from typing import Any

from bridge.parse.model import ArgValue, TaskModel
from bridge.quoting import is_dotted_name
from bridge.translate.expressions import StepOutput
from bridge.translate.extract import ExtractError, extract_callable
from bridge.translate.rule_context import RuleContext
from translators.registry import Example, StepDraft, Translation, rule

_PY = "airflow.providers.standard.operators.python"
PYTHON_OPERATORS = (f"{_PY}.PythonOperator", "airflow.sdk.task", "airflow.sdk.task.python")
VENV_OPERATORS = (
    f"{_PY}.PythonVirtualenvOperator",
    f"{_PY}.ExternalPythonOperator",
    "airflow.sdk.task.virtualenv",
    "airflow.sdk.task.external_python",
)
# Context names a callable may ask for by parameter name; they arrive as pipeline values.
CONTEXT_NAMES = {
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "run_id",
    "dag_run",
    "ti",
    "task_instance",
    "params",
    "templates_dict",
    "dag",
    "task",
}


def script_step(
    task: TaskModel, ctx: RuleContext, mode: str = "python"
) -> tuple[StepDraft, list[str]]:
    """The ProcessingStep draft for a Python callable and the differences from Airflow."""
    differences: list[str] = []
    script = _script(task, ctx, differences)
    script["mode"] = mode
    call, problems = _call(task, ctx, script)
    differences.extend(problems)
    if task.mapped:
        script["map_keys"] = (task.mapping or {}).get("keys", [])
        differences.append(
            "mapped over a value known only at run time: the step runs every mapped instance "
            "in turn inside one job, and returns their results as a list"
        )
    spec: dict[str, Any] = {"script": script, "call": call, "image": "python"}
    requirements = task.kwargs.get("requirements")
    if requirements is not None:
        value, more = ctx.value(requirements, task)
        if isinstance(value, str):
            value = [line for line in value.splitlines() if line.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            script["requirements"] = value
        else:
            differences.append(f"requirements `{requirements.source}` are not a literal list")
        differences.extend(more)
    return StepDraft("Processing", spec), differences


def _script(task: TaskModel, ctx: RuleContext, differences: list[str]) -> dict[str, Any]:
    ref = task.callable
    if ref is None or not is_dotted_name(ref.name):
        differences.append("the python_callable is not a function the bridge can read")
        return {"entry": None, "body": None}
    if not ref.defined_in_file:
        module, _, name = ref.name.rpartition(".")
        differences.append(
            f"`{ref.name}` is imported from another module: it must be importable in the step image"
        )
        return {"entry": name, "body": f"from {module} import {name}\n" if module else None}
    try:
        extracted = extract_callable(ctx.source, ref.name, ref.line)
    except (ExtractError, Exception) as exc:  # libcst scope analysis on odd code: report, go on
        differences.append(f"could not extract `{ref.name}`: {exc}")
        ctx.diagnose("BRG208", task.line, f"task `{task.task_id}`: cannot extract `{ref.name}`")
        return {"entry": None, "body": None}
    for name in extracted.airflow_names:
        differences.append(f"the callable uses Airflow's `{name}`, which the step image lacks")
    for name in extracted.unresolved:
        differences.append(f"the callable reads `{name}`, which is not defined in the file")
    if extracted.uses_file_path:
        differences.append(
            "the callable reads `__file__`: paths next to the DAG file differ in a step"
        )
    return {"entry": ref.name, "body": extracted.code, "pulls": _xcom_pulls(extracted.code)}


def _call(task: TaskModel, ctx: RuleContext, script: dict) -> tuple[dict[str, Any], list[str]]:
    """The callable's arguments as pipeline values, and which upstream XComs the step reads."""
    problems: list[str] = []
    call: dict[str, Any] = {}
    for key in ("op_args", "op_kwargs", "templates_dict"):
        arg: ArgValue | None = task.kwargs.get(key)
        if arg is None:
            continue
        value, more = ctx.value(arg, task)
        problems.extend(more)
        call[key] = value
    wanted = _context_wanted(script.get("body") or "", script.get("entry"))
    names = set(CONTEXT_NAMES) if wanted == {"**"} else wanted & CONTEXT_NAMES
    call["context"] = _context_values(names, task, ctx)
    if "params" in names:
        call["params"] = {name: ctx.dag_param(name) for name in ctx.dag.params}
    pulls = set(script.get("pulls", ()))
    uses_ti = {"ti", "task_instance"} & names
    reads = {o.task_id for o in _outputs(call)}
    if uses_ti:
        ancestors = ctx.ancestors(task.task_id)
        reads |= {t for t in pulls if t in ancestors} | set(ctx.upstream(task.task_id))
        unknown = sorted(t for t in pulls if t not in ancestors)
        if unknown:
            problems.append(
                f"xcom_pull from task(s) that do not run before it: {', '.join(unknown)}"
            )
        problems.append(
            "`ti` is a stand-in in the step: xcom_pull reads upstream step outputs, xcom_push adds "
            "keys to this step's output; other TaskInstance methods are not available"
        )
    call["reads"] = sorted(reads)
    return call, problems


def _context_values(names: set[str], task: TaskModel, ctx: RuleContext) -> dict[str, Any]:
    """Context values the callable asks for by name, as pipeline values (params, ti and
    templates_dict are built by the step runtime itself)."""
    values: dict[str, Any] = {}
    for name in sorted(names - {"params", "ti", "task_instance", "templates_dict", "dag", "task"}):
        if name == "dag_run":
            continue  # no DagRun object in a step; the runtime leaves it out
        value, _ = ctx.template("{{ " + name + " }}", task)
        values[name] = value
    return values


def _outputs(value: Any):
    if isinstance(value, StepOutput):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _outputs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _outputs(v)


def _context_wanted(body: str, entry: str | None) -> set[str]:
    """Parameter names of the callable (Airflow passes context keys by name); {"**"} for **kwargs."""
    if not entry or not body:
        return set()
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry:
            if node.args.kwarg is not None:
                return {"**"}
            return {a.arg for a in node.args.args + node.args.kwonlyargs}
    return set()


def _xcom_pulls(code: str) -> list[str]:
    """Task ids the code pulls XComs from with literal `xcom_pull(task_ids=...)` calls."""
    found: set[str] = set()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "xcom_pull"):
            continue
        values = [k.value for k in node.keywords if k.arg == "task_ids"] + node.args[:1]
        for v in values:
            items = v.elts if isinstance(v, (ast.List, ast.Tuple)) else [v]
            found |= {
                i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)
            }
    return sorted(found)


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
    from translators.airflow_ops import fail_translation

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
