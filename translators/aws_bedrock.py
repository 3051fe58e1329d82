"""Amazon Bedrock: BedrockInvokeModelOperator as a LambdaStep whose handler calls
bedrock-runtime InvokeModel as the operator does (translators/aws_api.py)."""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import (
    AsJson,
    AwsOperation,
    Code,
    Kwargs,
    Output,
    Var,
    aws_translation,
)
from translators.registry import Example, Translation, rule

_OPS = "airflow.providers.amazon.aws.operators"

# BedrockInvokeModelOperator.execute: the body is the input data as JSON; the XCom is the
# response body parsed from JSON.
INVOKE = """
request = {"body": json.dumps(event["input_data"]), "modelId": event["model_id"]}
if event.get("content_type"):
    request["contentType"] = event["content_type"]
if event.get("accept_type"):
    request["accept"] = event["accept_type"]
response = bedrock_runtime.invoke_model(**request)
result = json.loads(response["body"].read())
"""


@rule(
    f"{_OPS}.bedrock.BedrockInvokeModelOperator",
    examples=[
        Example(
            "BedrockInvokeModelOperator invokes the model from a LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.bedrock import BedrockInvokeModelOperator
with DAG("d"):
    BedrockInvokeModelOperator(
        task_id="summarise", model_id="amazon.titan-text-express-v1",
        input_data={"inputText": "Summarise the run of {{ ds }}"},
    )
""",
            {"summarise": {"fate": "step", "fidelity": "exact", "steps": ["summarise"]}},
        )
    ],
)
def bedrock_invoke_model(task: TaskModel, ctx: RuleContext) -> Translation:
    """BedrockInvokeModelOperator → a LambdaStep whose handler calls bedrock-runtime
    invoke_model with `input_data` as JSON text in `body`, `modelId`, and `contentType` /
    `accept` when given (all four are template fields: the step's inputs). The XCom, the
    response body parsed from JSON, is returned as JSON text in the output `return_value`.
    Needs bedrock:InvokeModel. Approximate: the shared AWS differences (an aws_conn_id, retries,
    readers of the XCom)."""
    kw = Kwargs(task, ctx, templated=("model_id", "input_data", "content_type", "accept_type"))
    for name in ("model_id", "input_data", "content_type", "accept_type"):
        kw.input(name)
    operation = AwsOperation(
        summary="invokes an Amazon Bedrock model",
        inputs=kw.inputs,
        steps=(Code(text=INVOKE, services=("bedrock-runtime",), actions=("bedrock:InvokeModel",)),),
        outputs=(Output(name="return_value", value=AsJson(Var("result"))),),
        imports=("import json",),
    )
    return aws_translation(task, ctx, operation, kwargs=kw)
