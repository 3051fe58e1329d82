"""Operators that are one or a few AWS API calls, as LambdaSteps whose handler the bridge writes.

A rule describes its operator as an `AwsOperation`: the boto3 calls the operator's `execute()`
makes (`Call`), with requests built from the task's arguments; statements of its own where the
operator does more than call (`Code`); an optional wait for the work it started (`Poll` on a
describe call, or a boto3 `Waiter`); and what the handler returns (the task's XCom as the
LambdaStep output `return_value`). `aws_translation` turns it into the step:

- a LambdaStep whose function the pipeline creates from `steps/_aws_<task>.py`. Every value from
  the DAG file reaches the handler as an event input (the LambdaStep's `inputs`, so templates and
  XComs become pipeline values); the module itself holds only code the rule wrote and literals
  written with `repr`. The IAM actions of its calls are the spec's `permissions` (manifest.json).
- when the wait may outlast a Lambda function (15 minutes), the same module run by a
  ProcessingStep (`common.poll_draft`), whose entry `run(**event)` waits as long as the operator.

Rules import this module and `translators.common`, never each other (see common.py).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.parse.model import TaskModel
from bridge.quoting import comment, docstring, file_stem, py_literal, short_hash
from bridge.translate.expressions import is_dynamic
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import LambdaSpec
from translators.common import (
    TEXT_ARGUMENTS,
    as_parameter,
    computed_value,
    leaves_as_parameters,
    literal,
    manual,
    poll_draft,
    step_limits,
)
from translators.registry import StepDraft, Translation

LAMBDA_LIMIT = 900  # seconds: the longest a Lambda function runs
MAX_LAMBDA_WAIT = 780  # the longest wait inside the function, leaving time for the calls
CALLS_TIMEOUT = 120  # the function's timeout when it does not wait
XCOM_OUTPUT = "return_value"  # the LambdaStep output holding what Airflow pushed as the XCom
_OUTPUT_TYPES = ("String", "Integer", "Boolean", "Float")


# --------------------------------------------------------------------------------------------
# Values inside requests: where the handler gets them at run time
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """A value the handler reads from its event, `event["name"]`: one of the step's inputs.
    An `absent` one (the task leaves it unset) is not sent: `event.get("name")` is None."""

    name: str
    absent: bool = False


@dataclass(frozen=True)
class Response:
    """A value of an earlier call's response: `started["PipelineExecutionArn"]`."""

    call: str  # the Call's `name`
    path: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Var:
    """A variable that a `Code` step of the rule assigned."""

    name: str


@dataclass(frozen=True)
class AsJson:
    """A value sent as JSON text (a list or dict as a String LambdaStep output)."""

    value: Any


# --------------------------------------------------------------------------------------------
# What the handler does
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Call:
    """One boto3 client call: `<name> = <service>.<method>(**request)`.

    `request` maps API parameter names to values: Input / Response / Var, nested dicts and lists
    of them, or constants of the rule's own. `prune` drops None values at run time, as the
    provider's hooks do with `prune_dict` before calling."""

    service: str  # the boto3 client name: "s3", "sagemaker", "redshift-data"
    method: str  # the client method: "copy_object"
    request: Mapping[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...]  # the IAM actions it needs: ("s3:GetObject", "s3:PutObject")
    name: str | None = None  # the variable holding its response, when something reads it
    prune: bool = False


@dataclass(frozen=True, kw_only=True)
class Code:
    """Statements the rule writes itself (constant text in the rule module, never text from a
    DAG file) for what a list of calls cannot say. They see `event`, the clients (named by
    service, `-` as `_`), earlier responses by name, and the operation's `helpers`."""

    text: str
    services: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Poll:
    """Wait for started work as the provider's hooks do: call `call` every `interval` seconds
    while the state at `state` (a path into its response) is one of `running`; fail on one of
    `failure`; any other state is success. Give up after `max_wait` seconds (None: never)."""

    call: Call
    state: tuple[str | int, ...]
    running: tuple[str, ...]
    failure: tuple[str, ...]
    interval: float
    max_wait: float | None
    reason: tuple[str | int, ...] = ()  # where the response says why it failed, if anywhere
    sleep_first: bool = True  # the hooks' check_status sleeps before the first describe
    each: Code | None = None  # statements before each check (a hook's verbose logging)
    only_while: Any = None  # a state known before (Var): wait only while it is running


@dataclass(frozen=True, kw_only=True)
class Waiter:
    """Wait with a boto3 waiter, as hooks that call `get_waiter(...).wait(...)` do."""

    service: str
    waiter: str  # "notebook_instance_in_service"
    request: Mapping[str, Any]
    delay: float
    max_attempts: int
    actions: tuple[str, ...]

    @property
    def max_wait(self) -> float:
        return self.delay * self.max_attempts


@dataclass(frozen=True, kw_only=True)
class Output:
    """A LambdaStep output: the handler returns `value` under `name`."""

    name: str
    value: Any  # Input / Response / Var / AsJson(...)
    type: str = "String"


def _output_spec(output: Output) -> dict[str, Any]:
    """The LambdaSpec output; `json`: its String holds JSON text (a list or dict XCom), which a
    reading step decodes."""
    spec: dict[str, Any] = {"name": output.name, "type": output.type}
    if isinstance(output.value, AsJson):
        spec["json"] = True
    return spec


@dataclass(frozen=True, kw_only=True)
class AwsOperation:
    """An operator as the calls its execute() makes. `inputs` are the event (pipeline values);
    `steps` run in order, then `wait`; `outputs` are returned (the XCom as `return_value`)."""

    summary: str  # what it does, for the handler's docstring: "copies an S3 object"
    inputs: Mapping[str, Any]
    steps: tuple[Call | Code, ...]
    wait: Poll | Waiter | None = None
    outputs: tuple[Output, ...] = ()
    helpers: str = ""  # module-level functions the rule's Code steps call
    imports: tuple[str, ...] = ()  # import lines they need ("import json")
    timeout: int | None = None  # the function's timeout when the calls may be slow

    @property
    def actions(self) -> list[str]:
        """The IAM actions the handler needs, sorted and unique."""
        found = {a for s in self.steps for a in s.actions}
        if isinstance(self.wait, Poll):
            found |= set(self.wait.call.actions)
            found |= set(self.wait.each.actions if self.wait.each else ())
        elif isinstance(self.wait, Waiter):
            found |= set(self.wait.actions)
        return sorted(found)

    @property
    def services(self) -> list[str]:
        found: list[str] = []
        for s in self.steps:
            found += [s.service] if isinstance(s, Call) else list(s.services)
        if isinstance(self.wait, Poll):
            found.append(self.wait.call.service)
        elif isinstance(self.wait, Waiter):
            found.append(self.wait.service)
        return list(dict.fromkeys(found))

    @property
    def max_wait(self) -> float | None:
        """How long it may wait (0: it does not; None: without bound)."""
        return 0 if self.wait is None else self.wait.max_wait


# --------------------------------------------------------------------------------------------
# Reading the task's arguments
# --------------------------------------------------------------------------------------------


class Kwargs:
    """The task's arguments as event inputs. Template fields become pipeline values (templates
    and XComs are rendered at run time); other arguments are taken as written, as Airflow does.
    `problems` collects what cannot be read."""

    def __init__(self, task: TaskModel, ctx: RuleContext, templated: tuple[str, ...] = ()):
        self.task, self.ctx = task, ctx
        self.templated = set(templated) | {"aws_conn_id", "region_name", "verify"}
        self.inputs: dict[str, Any] = {}
        self.problems: list[str] = []
        self.differences: list[str] = []  # values the DAG computes, given as parameters
        if self.given("region_name"):  # the handler's clients use it
            self.input("region_name")

    def given(self, name: str) -> bool:
        return name in self.task.kwargs

    def value(self, name: str, default: Any = None) -> Any:
        """The argument's pipeline value (`default` when absent)."""
        arg = self.task.kwargs.get(name)
        if arg is None:
            return default
        if arg.kind == "template" and name not in self.templated:
            return arg.value  # not a template field: Airflow passes the braces as they are
        value, problems = self.ctx.value(arg, self.task)
        if problems and computed_value(arg) and TEXT_ARGUMENTS.search(name):
            return as_parameter(arg.source or name, name, self.ctx, self.differences)
        if problems:
            replaced = leaves_as_parameters(arg, name, self.ctx, self.differences)
            value, problems = self.ctx.value(replaced, self.task) if replaced else (None, problems)
        self.problems += [f"`{name}`: {p}" for p in problems]
        return value

    def input(self, name: str, default: Any = None) -> Input:
        """The argument as event input `name` (the value, or `default` when absent). None is
        not sent (the handler reads it with `event.get`)."""
        value = self.value(name, default)
        if value is None:
            return Input(name, absent=True)
        self.inputs[name] = value
        return Input(name)

    def static(self, name: str, default: Any = None) -> Any:
        """An argument that decides which calls the handler makes: a literal, else None with a
        problem."""
        arg = self.task.kwargs.get(name)
        if arg is None:
            return default
        if arg.kind == "template" and name not in self.templated:
            return arg.value  # braces in a field Airflow does not render
        if arg.kind != "literal":
            self.problems.append(f"`{name}` must be known when the pipeline is built")
            return None
        return arg.value


# --------------------------------------------------------------------------------------------
# The translation
# --------------------------------------------------------------------------------------------


def handler_stem(task_id: str) -> str:
    """`_aws_<task>`: an importable module name, distinct for task ids that differ only in
    punctuation."""
    stem = file_stem(task_id)
    if stem != task_id:
        stem = f"{stem}_{short_hash(task_id)}"
    return f"_aws_{stem}"


def aws_translation(
    task: TaskModel,
    ctx: RuleContext,
    operation: AwsOperation,
    differences: list[str] | None = None,
    kwargs: Kwargs | None = None,
) -> Translation:
    """The step for `operation`: a LambdaStep with an emitted handler, or a ProcessingStep
    running it when its wait may outlast a Lambda function. Exact when nothing differs.

    Adds the differences every AWS operator shares (connection, retries, XCom readers) and
    makes the task manual when `kwargs` could not read an argument."""
    differences = list(differences or []) + (kwargs.differences if kwargs is not None else [])
    if kwargs is not None and kwargs.problems:
        return manual(task, ctx, "arguments the bridge cannot read: " + "; ".join(kwargs.problems))
    if task.mapped:
        return manual(task, ctx, "mapped over a run-time value: one AWS call step cannot do it")
    differences += connection_differences(task)
    stem = handler_stem(task.task_id)
    wait = operation.max_wait
    if wait is None or wait > MAX_LAMBDA_WAIT:
        code = render_handler(operation, task, ctx, entry="run")
        draft = poll_draft(task, ctx, "run", code, dict(operation.inputs))
        differences.append(
            "waits in a processing job (longer than a Lambda function may run), which holds "
            "(and bills) an instance while it waits; its role needs " + ", ".join(operation.actions)
        )
        return Translation("step", "approximate", [draft], differences)
    # Readers get the XCom as the LambdaStep output `return_value` when they read it whole; a
    # reader that indexes into it is not exact (bridge.translate.fidelity says why).
    differences += step_limits(task, ctx, "LambdaStep")
    spec = LambdaSpec(
        function={
            "create": {
                "file": f"{stem}.py",
                "handler": f"{stem}.handler",
                "timeout": min(LAMBDA_LIMIT, operation.timeout or int(CALLS_TIMEOUT + wait)),
            }
        },
        inputs=dict(operation.inputs),
        outputs=[_output_spec(o) for o in operation.outputs],
        files={f"{stem}.py": render_handler(operation, task, ctx)},
        permissions=operation.actions,
    )
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, [StepDraft("Lambda", spec)], differences)


def connection_differences(task: TaskModel) -> list[str]:
    """What the function's AWS access lacks of the operator's connection settings."""
    found = []
    conn = task.kwargs.get("aws_conn_id")
    if conn is not None and literal(task, "aws_conn_id", "") not in ("aws_default", None):
        found.append(
            f"aws_conn_id `{conn.source or conn.value}`: the function calls AWS with its "
            "execution role, not that connection's credentials or settings"
        )
    for name in ("verify", "botocore_config"):
        if task.kwargs.get(name) is not None:
            found.append(f"`{name}` is not applied: the function uses boto3's defaults")
    return found


def unsupported(task: TaskModel, *names: str) -> list[str]:
    """Differences for arguments the translation leaves out, when the task gives them."""
    return [f"`{n}` is not translated" for n in names if n in task.kwargs]


# --------------------------------------------------------------------------------------------
# The handler module
# --------------------------------------------------------------------------------------------


def render_handler(
    operation: AwsOperation, task: TaskModel, ctx: RuleContext, entry: str = "handler"
) -> str:
    """The handler module for `operation` (ruff-clean once formatted; Python 3.9 syntax, as it
    may also run in a processing image). `entry="run"` adds the step-script entry point."""
    services = operation.services
    body = [
        f'{_client_var(s)} = boto3.client("{s}", region_name=event.get("region_name"))'
        for s in services
    ]
    for step in operation.steps:
        body += _call_lines(step) if isinstance(step, Call) else _code_lines(step)
    if isinstance(operation.wait, Poll):
        body += _poll_lines(operation.wait)
    elif isinstance(operation.wait, Waiter):
        body += _waiter_lines(operation.wait)
    body.append("return " + _outputs(operation.outputs))
    imports = {"import boto3", *operation.imports}
    if operation.wait is not None:
        imports.add("import time")
    if any("json." in line for line in body) or "json." in operation.helpers:
        imports.add("import json")
    calls = ", ".join(f"{s.service}.{s.method}" for s in operation.steps if isinstance(s, Call))
    head = [
        f'"""Task `{docstring(task.task_id)}` of DAG `{docstring(ctx.dag.dag_id)}` '
        f"({docstring(task.operator.rsplit('.', 1)[-1])}): {docstring(operation.summary)}.",
        "",
        "Generated by `bridge translate`. The step sends the task's arguments as the event and",
        "the handler makes the calls the operator makes"
        + (f" ({docstring(calls)})." if calls else "."),
        "IAM actions it needs: " + (", ".join(operation.actions) or "none") + ".",
        '"""',
        "",
    ]
    if entry == "run":  # inside a step script, under the script's own docstring: a comment
        head = [
            "# " + comment(line.strip('"').strip()) if line.strip('"').strip() else "#"
            for line in head[:-1]
            if line != '"""'
        ] + [""]
    constants = _constants(operation)
    lines = head + _import_block(imports) + ([""] if constants else ["", ""]) + constants
    if any(isinstance(s, Call) and s.prune for s in operation.steps) or (
        isinstance(operation.wait, Poll) and operation.wait.call.prune
    ):
        lines += [PRUNE.strip(), "", ""]
    if operation.helpers.strip():
        lines += [textwrap.dedent(operation.helpers).strip(), "", ""]
    lines += [
        "def handler(event, context):",
        '    """The event holds the task\'s arguments; returns the step outputs (the XCom as',
        f'    `{XCOM_OUTPUT}`)."""',
    ]
    lines += [textwrap.indent(line, "    ") if line else "" for line in body]
    if entry == "run":
        lines += ["", "", RUN_ENTRY.strip()]
    return "\n".join(lines) + "\n"


PRUNE = '''
def without_none(value):
    """`value` without None members, nested (what the hooks' prune_dict sends)."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value if v is not None]
    return value
'''

RUN_ENTRY = f'''
def run(**event):
    """Step script entry point: the same calls in a processing job, which may wait longer than
    a Lambda function; its result is the task's XCom."""
    return handler(event, None).get("{XCOM_OUTPUT}")
'''


def _import_block(imports: set[str]) -> list[str]:
    """The standard library's imports, then boto3's (isort's order)."""
    third = {i for i in imports if i.split()[1].split(".")[0] in ("boto3", "botocore")}
    std = imports - third

    def ordered(group: set[str]) -> list[str]:
        return sorted(group, key=lambda i: (i.startswith("from "), i.split()[1]))

    return ordered(std) + ([""] if std else []) + ordered(third)


def _constants(operation: AwsOperation) -> list[str]:
    wait = operation.wait
    if isinstance(wait, Poll):
        return [
            f"POLL_INTERVAL = {py_literal(float(wait.interval))}  # seconds between checks",
            f"MAX_WAIT = {py_literal(wait.max_wait)}  # seconds; None: no limit",
            f"RUNNING_STATES = {py_literal(tuple(wait.running))}",
            f"FAILED_STATES = {py_literal(tuple(wait.failure))}",
            "",
            "",
        ]
    if isinstance(wait, Waiter):
        return [
            f"WAITER_CONFIG = {py_literal({'Delay': wait.delay, 'MaxAttempts': wait.max_attempts})}",
            "",
            "",
        ]
    return []


def _client_var(service: str) -> str:
    return service.replace("-", "_")


def _call_lines(call: Call) -> list[str]:
    method = f"{_client_var(call.service)}.{call.method}"
    assign = f"{call.name} = " if call.name else ""
    if call.prune:  # the request as the hook builds it, then without its None members
        return [
            f"request = {_expr(dict(call.request))}",
            f"{assign}{method}(**without_none(request))",
        ]
    return [f"{assign}{method}({_request(call.request)})"]


def _code_lines(code: Code) -> list[str]:
    return textwrap.dedent(code.text).strip("\n").splitlines()


def _poll_lines(poll: Poll) -> list[str]:
    call = poll.call if poll.call.name else replace(poll.call, name="described")
    request = _request(call.request)
    if call.prune:
        request = f"**without_none({_expr(dict(call.request))})"
    state = call.name + "".join(f"[{py_literal(p)}]" for p in poll.state)
    reason = call.name + "".join(f"[{py_literal(p)}]" for p in poll.reason) if poll.reason else ""
    sleep = ["time.sleep(POLL_INTERVAL)", "waited += POLL_INTERVAL"]
    lines = ["waited = 0.0", "while True:"]
    lines += [f"    {s}" for s in sleep] if poll.sleep_first else []
    lines += [f"    {s}" for s in (_code_lines(poll.each) if poll.each else [])]
    lines += [
        f"    {call.name} = {_client_var(call.service)}.{call.method}({request})",
        f"    state = {state}",
        "    if state in FAILED_STATES:",
        f'        raise RuntimeError(f"{call.method}: {{state}}: {{{reason or call.name}}}")',
        "    if state not in RUNNING_STATES:",
        "        break",
        "    if MAX_WAIT is not None and waited >= MAX_WAIT:",
        '        raise TimeoutError(f"still {state} after {waited:.0f} s")',
    ]
    lines += [] if poll.sleep_first else [f"    {s}" for s in sleep]
    if poll.only_while is not None:
        lines = [f"if {_expr(poll.only_while)} in RUNNING_STATES:"] + [f"    {s}" for s in lines]
    return lines


def _waiter_lines(waiter: Waiter) -> list[str]:
    request = _request({**waiter.request, "WaiterConfig": _Raw("WAITER_CONFIG")})
    return [f'{_client_var(waiter.service)}.get_waiter("{waiter.waiter}").wait({request})']


@dataclass(frozen=True)
class _Raw:
    source: str


def _request(request: Mapping[str, Any]) -> str:
    for key in request:
        if not str(key).isidentifier():
            raise ValueError(f"request parameter {key!r} is not a keyword")
    return ", ".join(f"{k}={_expr(v)}" for k, v in request.items())


def _expr(value: Any) -> str:
    """Python source for a request value."""
    if isinstance(value, Input):
        if value.absent:
            return f"event.get({py_literal(value.name)})"
        return f"event[{py_literal(value.name)}]"
    if isinstance(value, Response):
        if not value.call.isidentifier():
            raise ValueError(f"response name {value.call!r} is not a variable")
        return value.call + "".join(f"[{py_literal(p)}]" for p in value.path)
    if isinstance(value, Var):
        if not value.name.isidentifier():
            raise ValueError(f"{value.name!r} is not a variable")
        return value.name
    if isinstance(value, AsJson):
        return f"json.dumps({_expr(value.value)}, default=str)"
    if isinstance(value, _Raw):
        return value.source
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {_expr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_expr(v) for v in value) + "]"
    if is_dynamic(value):
        raise ValueError("a pipeline value belongs in the operation's inputs, not in code")
    return py_literal(value)


def _outputs(outputs: tuple[Output, ...]) -> str:
    for o in outputs:
        if o.type not in _OUTPUT_TYPES:
            raise ValueError(f"LambdaStep output type {o.type}")
    return "{" + ", ".join(f"{py_literal(o.name)}: {_expr(o.value)}" for o in outputs) + "}"
