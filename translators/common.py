"""Helpers that several rule modules share. Rule modules never import each other: each imports
only `translators.registry`, this module and `bridge.*`.

- Python callables as step scripts (`script_step`): the python, bash, branching and sensor rules.
- Arguments and XCom readers (`json_argument`, `referenced_tasks`, `xcom_readers`,
  `step_limits`): the Lambda, EMR and TriggerDagRun rules.
- Keyword arguments, placeholders and polls (`literal`, `seconds`, `manual`, `poll_draft`,
  `sensor_poll` and the generated poll code): the sensor, AWS and Airflow-control rules.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, get_args

from bridge.parse.model import ArgKind, ArgValue, TaskModel
from bridge.quoting import is_dotted_name
from bridge.translate.context_values import with_run_clock
from bridge.translate.expressions import Join, StepOutput
from bridge.translate.extract import ExtractError, extract_callable
from bridge.translate.fidelity import STAND_IN_NAMES
from bridge.translate.files.model import TaskFiles
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import PlaceholderSpec, ProcessingSpec, ScriptSpec
from bridge.translate.task_settings import duration_seconds, task_settings
from translators.registry import StepDraft, Translation

DEFAULT_TIMEOUT = 7 * 24 * 3600  # BaseSensorOperator's default: seven days
DEFAULT_POKE_INTERVAL = 60
POLL_DIFFERENCE = (
    "polls inside a processing job, which holds (and bills) an instance while it waits"
)
FILE_PATH_DIFFERENCE = "the callable reads `__file__`: paths next to the DAG file differ in a step"
_XCOM_PULL = re.compile(r"xcom_pull\(\s*(?:task_ids\s*=\s*)?(\[[^\]]*\]|['\"][^'\"]+['\"])")
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


# --------------------------------------------------------------------------------------------
# Python callables as step scripts
# --------------------------------------------------------------------------------------------

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
    files = python_task_files(task, ctx, script)
    if any(a.folder.kind == "dag" for a in files.accesses):
        # The data contract stages the DAG's own folders next to the step script.
        differences = [d for d in differences if d != FILE_PATH_DIFFERENCE]
    spec = ProcessingSpec(script=ScriptSpec(**script, files=files), call=call, image="python")
    return StepDraft("Processing", spec), differences


def python_task_files(task: TaskModel, ctx: RuleContext, script: dict[str, Any]) -> TaskFiles:
    """The files the extracted callable reads and writes (nothing is known of an imported one)."""
    ref = task.callable
    if ref is None or not ref.defined_in_file or not script.get("body"):
        return TaskFiles()
    from bridge.translate.files.python_paths import python_files

    return python_files(ctx.source, ref.name, ref.line, literal_args=_literal_args(task))


def _literal_args(task: TaskModel) -> dict[str | int, Any]:
    """The callable's arguments known statically: op_kwargs by name, op_args by position."""
    found: dict[str | int, Any] = {}
    op_args, op_kwargs = task.kwargs.get("op_args"), task.kwargs.get("op_kwargs")
    if op_args is not None and op_args.kind == "literal" and isinstance(op_args.value, list):
        found.update(enumerate(op_args.value))
    if op_kwargs is not None and op_kwargs.kind == "literal" and isinstance(op_kwargs.value, dict):
        for name, arg in op_kwargs.value.items():
            if not (isinstance(arg, dict) and arg.get("kind") in get_args(ArgKind)):
                found[name] = arg  # a plain literal
            elif arg["kind"] == "literal":  # one argument of a partly dynamic op_kwargs
                found[name] = arg.get("value")
    return found


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
    except ExtractError as exc:  # code the extractor cannot follow: report, go on
        differences.append(f"could not extract `{ref.name}`: {exc}")
        ctx.diagnose("BRG208", task.line, f"task `{task.task_id}`: cannot extract `{ref.name}`")
        return {"entry": None, "body": None}
    for name in sorted(set(extracted.airflow_names) - STAND_IN_NAMES):
        # Variables, connections and models: bridge.translate.fidelity names what they read.
        differences.append(f"the callable uses Airflow's `{name}`, which the step image lacks")
    for name in extracted.unresolved:
        differences.append(f"the callable reads `{name}`, which is not defined in the file")
    if extracted.uses_file_path:
        differences.append(FILE_PATH_DIFFERENCE)
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
        before = {t for t in pulls if ctx.runs_before(t, task.task_id)}
        reads |= before | set(ctx.upstream(task.task_id))
        unknown = sorted(pulls - before)
        if unknown:
            problems.append(
                f"xcom_pull from task(s) that do not run before it: {', '.join(unknown)}"
            )
        problems.append(
            "`ti` is a stand-in in the step: xcom_pull reads upstream step outputs, xcom_push adds "
            "keys to this step's output; other TaskInstance methods are not available"
        )
    call, more = with_run_clock(call, ctx.run_clock)  # empty context values: derived
    problems.extend(more)
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
        # The parameter itself, not a one-piece Join: the runtime derives it when it is empty.
        single = isinstance(value, Join) and len(value.parts) == 1
        values[name] = value.parts[0] if single else value
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


# --------------------------------------------------------------------------------------------
# Arguments and the tasks that read a task's XCom
# --------------------------------------------------------------------------------------------


def json_argument(
    arg: ArgValue | None, task: TaskModel, ctx: RuleContext
) -> tuple[Any, list[str], bool]:
    """A JSON-ish argument (a payload, a conf) as pipeline values: (value, problems, known).

    Accepts a dict literal, a JSON string (templates inside JSON strings become pipeline
    expressions) and `json.dumps(<literal>)`. `known` is False when the value cannot be read."""
    if arg is None:
        return None, [], True
    if arg.kind == "expr":
        call = _parse(arg.source or "")
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "dumps"
            and call.args
        ):
            try:
                return ctx.literal(ast.literal_eval(call.args[0]), task) + (True,)
            except (ValueError, SyntaxError):
                pass
        return None, [f"`{arg.source}` is only known when Airflow runs the task"], False
    if arg.kind in ("literal", "template") and isinstance(arg.value, str):
        try:
            parsed = json.loads(arg.value)
        except json.JSONDecodeError:
            return None, [f"`{_short(arg.value)}` is not JSON the bridge can read"], False
        return ctx.literal(parsed, task) + (True,)
    if arg.kind in ("literal", "template"):
        return ctx.literal(arg.value, task) + (True,)
    value, problems = ctx.value(arg, task)
    return value, problems, not problems


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def referenced_tasks(arg: ArgValue | None) -> set[str]:
    """Task ids whose XCom an argument reads (`.output`, XComArg, `xcom_pull` in templates)."""
    if arg is None:
        return set()
    found = set(arg.refs)
    for text in [arg.source or "", *_strings(arg.value)]:
        for group in _XCOM_PULL.findall(text):
            found |= set(_QUOTED.findall(group))
    return found


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def xcom_readers(ctx: RuleContext, task_id: str) -> list[str]:
    """Tasks that read `task_id`'s XCom through their arguments (or a data edge)."""
    readers = {e.downstream for e in ctx.dag.edges if e.upstream == task_id and "data" in e.kinds}
    for other in ctx.dag.tasks.values():
        if any(task_id in referenced_tasks(a) for a in other.kwargs.values()):
            readers.add(other.task_id)
    readers.discard(task_id)
    return sorted(readers)


def step_limits(task: TaskModel, ctx: RuleContext, kind: str) -> list[str]:
    """What a LambdaStep / EMRStep / CallbackStep loses of the task's run settings: those steps
    take no retry policy (the renderer leaves it out)."""
    settings = task_settings(task, ctx.dag)
    if settings.get("retries"):
        return [
            f"retries={settings['retries']}: a {kind} takes no retry policy, the step runs once"
        ]
    return []


# --------------------------------------------------------------------------------------------
# Generated poll code. Standard library and boto3 only: it runs in the step image (the
# SageMaker scikit-learn image by default, Python 3.9), so no newer syntax.
# --------------------------------------------------------------------------------------------

POLL_LOOP = '''
import time


def bridge_poll(check, timeout, poke_interval, exponential_backoff=False, max_wait=None,
                what="the condition"):
    """Call `check()` until it is true, as an Airflow sensor in poke mode does; fail the step
    after `timeout` seconds. A result with `is_done` (PokeReturnValue) gives its `xcom_value`."""
    started = time.monotonic()
    pokes = 0
    while True:
        pokes += 1
        result = check()
        if hasattr(result, "is_done"):
            if result.is_done:
                return getattr(result, "xcom_value", None)
        elif result:
            return None
        elapsed = time.monotonic() - started
        if elapsed >= timeout:
            raise SystemExit(
                "sensor timed out after %.0f s (%d pokes) waiting for %s" % (elapsed, pokes, what)
            )
        interval = float(poke_interval)
        if exponential_backoff:
            interval = interval * 2 ** min(pokes - 1, 30)
            if max_wait:
                interval = min(interval, float(max_wait))
        time.sleep(max(0.0, min(interval, timeout - elapsed)))
'''

TIME_HELPERS = '''
import datetime
import re


def bridge_parse_time(text):
    """An ISO 8601 time stamp (pipeline execution variables, rendered templates) as aware UTC."""
    text = str(text).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:  # fractions with other than 3 or 6 digits (Python < 3.11)
        value = datetime.datetime.fromisoformat(re.sub(r"\\.\\d+", "", text))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def bridge_now():
    return datetime.datetime.now(datetime.timezone.utc)
'''


# --------------------------------------------------------------------------------------------
# Keyword arguments, placeholders and polls
# --------------------------------------------------------------------------------------------


def literal(task: TaskModel, name: str, default: Any = None) -> Any:
    """A keyword argument's literal value, else `default`."""
    arg = task.kwargs.get(name)
    if arg is None or arg.kind != "literal":
        return default
    return arg.value


def seconds(task: TaskModel, name: str, ctx: RuleContext, default: float | None) -> float | None:
    """A duration argument (number of seconds or timedelta) from the task, else default_args."""
    arg = task.kwargs.get(name)
    if arg is not None:
        value = arg.value if arg.kind == "literal" else {"source": arg.source}
        return duration_seconds(value)
    if name in ctx.dag.default_args:
        return duration_seconds(ctx.dag.default_args[name])
    return default


def poke_settings(task: TaskModel, ctx: RuleContext) -> tuple[dict[str, Any], list[str]]:
    """timeout, poke_interval, exponential_backoff, max_wait of a sensor, and what differs."""
    differences = []
    timeout = seconds(task, "timeout", ctx, DEFAULT_TIMEOUT)
    interval = seconds(task, "poke_interval", ctx, DEFAULT_POKE_INTERVAL)
    if timeout is None:
        differences.append(
            f"timeout `{kwarg_source(task, 'timeout')}` is not a literal: seven days used"
        )
        timeout = DEFAULT_TIMEOUT
    if interval is None:
        differences.append(
            f"poke_interval `{kwarg_source(task, 'poke_interval')}` is not a literal: 60 s used"
        )
        interval = DEFAULT_POKE_INTERVAL
    settings = {
        "timeout": timeout,
        "poke_interval": interval,
        "exponential_backoff": bool(literal(task, "exponential_backoff", False)),
        "max_wait": seconds(task, "max_wait", ctx, None),
    }
    if literal(task, "soft_fail", False):
        differences.append(
            "soft_fail: on timeout Airflow skips the sensor and its downstream tasks; the step "
            "fails the pipeline execution"
        )
    if literal(task, "never_fail", False) or literal(task, "silent_fail", False):
        differences.append("never_fail / silent_fail: errors while poking fail the step")
    return settings, differences


def kwarg_source(task: TaskModel, name: str) -> str:
    arg = task.kwargs.get(name)
    return "" if arg is None else (arg.source or repr(arg.value))


def poll_draft(
    task: TaskModel, ctx: RuleContext, entry: str, code: str, kwargs: dict[str, Any]
) -> StepDraft:
    """A ProcessingStep running generated poll code: `entry(**kwargs)` through the bridge step
    runtime (run-time values in kwargs arrive as arguments, its result is the step's XCom)."""
    return StepDraft(
        "Processing",
        ProcessingSpec(
            script=ScriptSpec(mode="python", entry=entry, body=code.strip() + "\n", pulls=[]),
            call={"op_kwargs": kwargs, "context": {}, "reads": sorted(_reads(kwargs))},
            image="python",
        ),
    )


def _reads(value: Any) -> set[str]:
    if isinstance(value, StepOutput):
        return {value.task_id}
    if isinstance(value, Join):
        return set().union(*(_reads(p) for p in value.parts)) if value.parts else set()
    if isinstance(value, dict):
        return set().union(*(_reads(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_reads(v) for v in value)) if value else set()
    return set()


def manual(task: TaskModel, ctx: RuleContext, reason: str, *more: str) -> Translation:
    """A known operator the bridge cannot translate: a placeholder step that keeps the task's
    place (a FailStep stopping the pipeline there), with the reason as its difference."""
    ctx.diagnose("BRG205", task.line, f"task `{task.task_id}`: {reason}")
    draft = StepDraft(
        "Placeholder",
        PlaceholderSpec(operator=task.operator, line=task.line, source=ctx.task_source(task)),
    )
    return Translation("step", "manual", [draft], [reason, *more])


def sensor_poll(
    task: TaskModel,
    ctx: RuleContext,
    entry: str,
    code: str,
    kwargs: dict[str, Any],
    differences: list[str],
    why: str,
) -> Translation:
    """The bounded poll translation of a sensor, with its BRG205 diagnostic."""
    if task.mapped:
        return manual(task, ctx, "a sensor mapped over a run-time value: no poll step for it")
    settings, more = poke_settings(task, ctx)
    body = POLL_LOOP + (TIME_HELPERS if "bridge_parse_time" in code else "") + code
    draft = poll_draft(task, ctx, entry, body, {**kwargs, **settings})
    ctx.diagnose("BRG205", task.line, f"task `{task.task_id}`: {why}")
    return Translation("step", "approximate", [draft], [POLL_DIFFERENCE, *differences, *more])


def kwarg_value(task: TaskModel, ctx: RuleContext, name: str, problems: list[str]) -> Any:
    value, more = ctx.value(task.kwargs.get(name), task)
    problems.extend(more)
    return value


# --- values the DAG computes when Airflow runs it, as pipeline parameters -----------------------

# Keyword arguments whose values are text in every AWS operator (names, ARNs, ids, regions).
TEXT_ARGUMENTS = re.compile(r"(^|_)(name|arn|id|region|bucket|key|prefix|role)$")


def computed_value(arg: Any) -> bool:
    """An argument (or a leaf of one) the DAG computes that a parameter can stand for: an
    expression, or a constant of a module that is not here. Code (callables, other names) is
    not a value."""
    kind = arg.kind if isinstance(arg, ArgValue) else arg.get("kind")
    source = (arg.source if isinstance(arg, ArgValue) else arg.get("source")) or ""
    if kind == "expr":
        return bool(source)
    return kind == "name" and source.rsplit(".", 1)[-1].isupper()


def as_parameter(
    source: str, name: str, ctx: RuleContext, differences: list[str], form: str = ""
) -> Any:
    """The pipeline parameter standing for a value the DAG computes, with its difference
    (`form`: how to write the value, when the step decodes it)."""
    param = ctx.file_value(source)
    differences.append(
        f"`{name}` is `{source}` in the DAG, only known when Airflow runs it: here the pipeline "
        f"parameter `{param.name}`{f' ({form})' if form else ''}, to give when the pipeline "
        "starts"
    )
    return param


def leaves_as_parameters(
    arg: ArgValue, name: str, ctx: RuleContext, differences: list[str]
) -> ArgValue | None:
    """A dict or list argument with computed leaves (a system test's security group id in a
    network configuration), each leaf a pipeline parameter; None when another leaf cannot be
    read (code)."""
    if arg.kind != "partial":
        return None
    blocked = []

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict) and isinstance(value.get("kind"), str) and "value" not in value:
            if computed_value(value):
                return as_parameter(value.get("source") or path, path, ctx, differences)
            if value["kind"] in ("expr", "name", "callable"):
                blocked.append(path)
            return value
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    replaced = walk(arg.value, name)
    return None if blocked else ArgValue("partial", value=replaced)
