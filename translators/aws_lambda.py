"""AWS Lambda: LambdaInvokeFunctionOperator → a LambdaStep that invokes the existing function.

The helpers it shares with the other AWS rules (reading a JSON payload/conf argument, finding the
tasks that read a task's XCom, what a step kind without retry policies loses) are in
translators/common.py.
"""

from __future__ import annotations

from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import LambdaSpec
from bridge.translate.task_settings import task_settings
from translators.common import json_argument, literal, manual, step_limits, xcom_readers
from translators.registry import Example, StepDraft, Translation, rule

_LAMBDA = "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator"


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
    spec = LambdaSpec(function=function, inputs=inputs, outputs=[])
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, [StepDraft("Lambda", spec)], differences)
