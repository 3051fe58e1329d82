"""AWS Lambda: LambdaInvokeFunctionOperator → a LambdaStep that invokes the existing function.

Also the helpers other AWS rules share: reading a JSON payload/conf argument (a JSON string, a
dict, `json.dumps({...})`, with templates inside strings), finding the tasks that read a task's
XCom, and what a step kind without retry policies loses.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from bridge.parse.model import ArgValue, TaskModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.task_settings import task_settings
from translators.registry import Example, StepDraft, Translation, rule
from translators.sensors import literal, manual

_LAMBDA = "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator"
_XCOM_PULL = re.compile(r"xcom_pull\(\s*(?:task_ids\s*=\s*)?(\[[^\]]*\]|['\"][^'\"]+['\"])")
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


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


def lambda_arn(name: str, qualifier: str | None, region: str | None) -> dict[str, Any]:
    """The `function` spec of an existing function: an ARN, or a name the renderer turns into
    an ARN in the session's account (and `region`, else the session's)."""
    if name.startswith("arn:"):
        parts = name.split(":")
        if qualifier and len(parts) == 7:  # arn:aws:lambda:region:account:function:name
            name = f"{name}:{qualifier}"
        return {"arn": name}
    if ":" in name:  # "name:alias" or "account:function:name[:alias]"
        parts = name.split(":")
        if len(parts) >= 3 and parts[1] == "function":
            name, qualifier = parts[2], (parts[3] if len(parts) > 3 else qualifier)
        else:
            name, qualifier = parts[0], parts[1]
    return {"name": name, "qualifier": qualifier, "region": region}


@rule(
    _LAMBDA,
    examples=[
        Example(
            "a JSON payload with a template becomes the LambdaStep's inputs",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
with DAG("d"):
    LambdaInvokeFunctionOperator(
        task_id="notify", function_name="notify-team", payload='{"day": "{{ ds }}", "n": 3}'
    )
""",
            {"notify": {"fate": "step", "fidelity": "exact", "steps": ["notify"]}},
        )
    ],
)
def lambda_invoke(task: TaskModel, ctx: RuleContext) -> Translation:
    """LambdaInvokeFunctionOperator → a LambdaStep on the existing function. A function name
    becomes the ARN in the pipeline session's account and region (`region_name` when given;
    `qualifier` is appended); an ARN is used as is. A JSON-object `payload` (a JSON string, a
    dict or `json.dumps({...})`, templates inside strings translated) becomes the step's
    `inputs`, which SageMaker sends to the function as its event, as Airflow sends the payload.
    Exact for a synchronous call whose response nobody reads. Approximate: a payload that is not
    a JSON object (the function receives `{"payload": ...}`), `invocation_type="Event"` (the step
    waits for the result), `log_type` / `client_context` (not passed), retries (a LambdaStep
    takes no retry policy), and downstream reads of the response (Airflow's XCom; a LambdaStep
    only has outputs the function declares). A function name known only at run time is
    manual."""
    differences: list[str] = []
    name = literal(task, "function_name")
    if not isinstance(name, str) or not name:
        source = task.kwargs.get("function_name")
        return manual(
            task,
            ctx,
            f"function_name `{source.source or source.value if source else ''}` is not a literal: "
            "a LambdaStep needs the function when the pipeline is built",
        )
    qualifier = literal(task, "qualifier")
    if task.kwargs.get("qualifier") is not None and not isinstance(qualifier, str):
        differences.append("the qualifier is not a literal: the unqualified function is invoked")
        qualifier = None
    region = literal(task, "region_name")
    function = lambda_arn(name, qualifier, region if isinstance(region, str) else None)
    payload, problems, known = json_argument(task.kwargs.get("payload"), task, ctx)
    differences.extend(problems)
    if not known:
        return manual(
            task,
            ctx,
            "the payload cannot be read statically: the step would send another event",
            *differences,
        )
    if payload is None:
        inputs: dict[str, Any] = {}
    elif isinstance(payload, dict):
        inputs = payload
    else:
        inputs = {"payload": payload}
        differences.append(
            'the payload is not a JSON object: the function receives {"payload": <payload>}'
        )
    invocation = literal(task, "invocation_type")
    if invocation == "Event":
        differences.append(
            "invocation_type Event: Airflow returned at once; the step waits for the function"
        )
    elif invocation == "DryRun":
        differences.append("invocation_type DryRun: the step really invokes the function")
    elif task.kwargs.get("invocation_type") is not None and invocation != "RequestResponse":
        differences.append("invocation_type is not a literal: the step invokes synchronously")
    if literal(task, "log_type") not in (None, "None"):
        differences.append("log_type: the log tail is not copied; read it in CloudWatch Logs")
    if task.kwargs.get("client_context") is not None:
        differences.append("client_context is not passed to the function")
    conn = literal(task, "aws_conn_id", "aws_default")
    if conn != "aws_default":
        differences.append(f"aws_conn_id `{conn}`: SageMaker invokes with the pipeline's role")
    readers = xcom_readers(ctx, task.task_id)
    if readers:
        differences.append(
            "the function's response (the XCom) is not a step output: "
            + ", ".join(f"`{r}`" for r in readers)
            + " cannot read it"
        )
    differences += step_limits(task, ctx, "LambdaStep")
    if task_settings(task, ctx.dag).get("timeout"):
        differences.append("execution_timeout: the function's own timeout applies")
    spec = {"function": function, "inputs": inputs, "outputs": []}
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, [StepDraft("Lambda", spec)], differences)
