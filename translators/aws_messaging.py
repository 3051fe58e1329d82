"""Amazon SNS and SQS: SnsPublishOperator and SqsPublishOperator as LambdaSteps whose handler
sends the same Publish / SendMessage request (translators/aws_api.py)."""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import (
    AsJson,
    AwsOperation,
    Call,
    Code,
    Kwargs,
    Output,
    Response,
    Var,
    aws_translation,
)
from translators.registry import Example, Translation, rule

_OPS = "airflow.providers.amazon.aws.operators"

# The hook's formatting of message attributes by value type (SnsHook._get_message_attribute).
SNS_ATTRIBUTES = '''
def message_attribute(value):
    """A MessageAttributes entry for a plain value, typed as SnsHook types it."""
    if isinstance(value, bytes):
        return {"DataType": "Binary", "BinaryValue": value}
    if isinstance(value, str):
        return {"DataType": "String", "StringValue": value}
    if isinstance(value, (int, float)):
        return {"DataType": "Number", "StringValue": str(value)}
    if hasattr(value, "__iter__"):
        return {"DataType": "String.Array", "StringValue": json.dumps(value)}
    raise TypeError("message attribute values must be bytes, str, int, float or iterable")
'''


@rule(
    f"{_OPS}.sns.SnsPublishOperator",
    examples=[
        Example(
            "SnsPublishOperator publishes the same message from a Lambda function",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.sns import SnsPublishOperator
with DAG("d"):
    SnsPublishOperator(
        task_id="notify",
        target_arn="arn:aws:sns:us-east-1:123456789012:models",
        message="model for {{ ds }} is ready",
        subject="model ready",
    )
""",
            {"notify": {"fate": "step", "fidelity": "exact", "steps": ["notify"]}},
        )
    ],
)
def sns_publish(task: TaskModel, ctx: RuleContext) -> Translation:
    """SnsPublishOperator → a LambdaStep whose handler (steps/_aws_<task>.py) calls
    sns.publish as SnsHook.publish_to_target does: `TargetArn`, the message as
    `{"default": message}` with MessageStructure json, Subject, MessageDeduplicationId and
    MessageGroupId when given, and `message_attributes` typed by value (str → String, numbers →
    Number, bytes → Binary, lists → String.Array). All of them are template fields: templates
    and XComs become the step's inputs. The handler returns the publish response (the XCom) as
    JSON text in the output `return_value`. Needs sns:Publish.

    Exact. Approximate when the task sets an aws_conn_id other than aws_default (the function's
    role is used), verify/botocore_config, or retries (a LambdaStep takes no retry policy), or
    when a downstream task reads the XCom."""
    kw = Kwargs(
        task,
        ctx,
        templated=(
            "target_arn",
            "message",
            "subject",
            "message_attributes",
            "message_deduplication_id",
            "message_group_id",
        ),
    )
    request = {
        "TargetArn": kw.input("target_arn"),
        "MessageStructure": "json",
        "Message": AsJson({"default": kw.input("message")}),
        "Subject": kw.input("subject"),
        "MessageDeduplicationId": kw.input("message_deduplication_id"),
        "MessageGroupId": kw.input("message_group_id"),
        "MessageAttributes": Var("attributes"),
    }
    kw.input("message_attributes")
    operation = AwsOperation(
        summary="publishes a message to Amazon SNS",
        inputs=kw.inputs,
        steps=(
            Code(
                text="""
                attributes = event.get("message_attributes")
                if attributes:
                    attributes = {k: message_attribute(v) for k, v in attributes.items()}
                """
            ),
            Call(
                service="sns",
                method="publish",
                request=request,
                actions=("sns:Publish",),
                name="response",
                prune=True,
            ),
        ),
        outputs=(Output(name="return_value", value=AsJson(Response("response"))),),
        helpers=SNS_ATTRIBUTES,
    )
    return aws_translation(task, ctx, operation, kwargs=kw)


@rule(
    f"{_OPS}.sqs.SqsPublishOperator",
    examples=[
        Example(
            "SqsPublishOperator sends the same message from a Lambda function",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.sqs import SqsPublishOperator
with DAG("d"):
    SqsPublishOperator(
        task_id="enqueue",
        sqs_queue="https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
        message_content="{{ ds }}",
        delay_seconds=5,
    )
""",
            {"enqueue": {"fate": "step", "fidelity": "exact", "steps": ["enqueue"]}},
        )
    ],
)
def sqs_publish(task: TaskModel, ctx: RuleContext) -> Translation:
    """SqsPublishOperator → a LambdaStep whose handler (steps/_aws_<task>.py) calls
    sqs.send_message with the request SqsHook.send_message builds: QueueUrl, MessageBody,
    DelaySeconds (default 0), MessageAttributes (default {}), MessageGroupId and
    MessageDeduplicationId when given. The template fields (queue, content, delay, attributes,
    group and deduplication ids) become the step's inputs. The handler returns the send_message
    response (the XCom) as JSON text in the output `return_value`. Needs sqs:SendMessage.

    Exact. Approximate for an aws_conn_id other than aws_default, verify/botocore_config,
    retries, or a downstream task reading the XCom."""
    kw = Kwargs(
        task,
        ctx,
        templated=(
            "sqs_queue",
            "message_content",
            "delay_seconds",
            "message_attributes",
            "message_group_id",
            "message_deduplication_id",
        ),
    )
    request = {
        "QueueUrl": kw.input("sqs_queue"),
        "MessageBody": kw.input("message_content"),
        "DelaySeconds": kw.input("delay_seconds", 0),
        "MessageAttributes": Var("attributes"),
        "MessageGroupId": kw.input("message_group_id"),
        "MessageDeduplicationId": kw.input("message_deduplication_id"),
    }
    kw.input("message_attributes")
    operation = AwsOperation(
        summary="sends a message to an Amazon SQS queue",
        inputs=kw.inputs,
        steps=(
            Code(text='attributes = event.get("message_attributes") or {}'),
            Call(
                service="sqs",
                method="send_message",
                request=request,
                actions=("sqs:SendMessage",),
                name="response",
                prune=True,
            ),
        ),
        outputs=(Output(name="return_value", value=AsJson(Response("response"))),),
    )
    return aws_translation(task, ctx, operation, kwargs=kw)
