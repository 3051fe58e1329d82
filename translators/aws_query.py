"""Amazon Athena: AthenaOperator and AthenaSensor as steps whose handler makes the provider's
boto3 calls (translators/aws_api.py). Redshift Data is in translators/aws_redshift_data.py.
"""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import (
    AwsOperation,
    Call,
    Code,
    Input,
    Kwargs,
    Output,
    Poll,
    Response,
    Var,
    aws_translation,
    unsupported,
)
from translators.aws_waits import sensor_differences, sensor_wait
from translators.common import literal, manual, seconds
from translators.registry import Example, Translation, rule

_AWS = "airflow.providers.amazon.aws"
# AthenaHook.INTERMEDIATE_STATES / FAILURE_STATES
RUNNING = ("QUEUED", "RUNNING")
FAILED = ("FAILED", "CANCELLED")
_TEMPLATED = ("query", "database", "output_location", "workgroup", "catalog")

# AthenaOperator.execute: the context and result configuration it sends.
REQUEST = """
context = dict(event.get("query_execution_context") or {})
if event.get("database"):
    context["Database"] = event["database"]
context["Catalog"] = event["catalog"]
result = dict(event.get("result_configuration") or {})
if event.get("output_location"):
    result["OutputLocation"] = event["output_location"]
"""


def _query_poll(query_id, interval: float, bound: float | None) -> Poll:
    return Poll(
        call=Call(
            service="athena",
            method="get_query_execution",
            request={"QueryExecutionId": query_id},
            actions=("athena:GetQueryExecution",),
            name="execution",
        ),
        state=("QueryExecution", "Status", "State"),
        running=RUNNING,
        failure=FAILED,
        interval=interval,
        max_wait=bound,
        reason=("QueryExecution", "Status"),
        sleep_first=False,
    )


@rule(
    f"{_AWS}.operators.athena.AthenaOperator",
    examples=[
        Example(
            "AthenaOperator with a short polling bound: one LambdaStep that runs and waits",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
with DAG("d"):
    AthenaOperator(
        task_id="count", query="SELECT count(*) FROM events WHERE day = '{{ ds }}'",
        database="raw", output_location="s3://results/", sleep_time=10,
        max_polling_attempts=60,
    )
""",
            {"count": {"fate": "step", "fidelity": "exact", "steps": ["count"]}},
        ),
        Example(
            "the default polling bound (30 s × 999,999) waits in a processing job",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
with DAG("d"):
    AthenaOperator(task_id="q", query="MSCK REPAIR TABLE events", database="raw")
""",
            {"q": {"fate": "step", "fidelity": "approximate", "steps": ["q"]}},
        ),
    ],
)
def athena_query(task: TaskModel, ctx: RuleContext) -> Translation:
    """AthenaOperator → a step whose handler calls athena.start_query_execution as AthenaHook
    does: QueryString, QueryExecutionContext (query_execution_context with `database` and
    `catalog`, default AwsDataCatalog), ResultConfiguration (result_configuration with
    `output_location`), WorkGroup (default primary) and ClientRequestToken when given. It then
    polls athena.get_query_execution every `sleep_time` (30 s) up to `max_polling_attempts`
    times, as the provider's `query_complete` waiter: SUCCEEDED succeeds, FAILED / CANCELLED
    fail with the state change reason, still running at the end fails. The XCom (the query
    execution id) is the output `return_value`; the template fields are the step's inputs.
    Needs athena:StartQueryExecution, athena:GetQueryExecution (plus what the query reads and
    writes: the Glue catalog, S3).

    A LambdaStep when sleep_time × max_polling_attempts fits in 13 minutes (exact); the default
    bound (999,999 attempts) runs the handler in a processing job (approximate). Manual: a
    query naming a .sql file (Airflow renders the file's text). Approximate: deferrable, and the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=_TEMPLATED)
    query = kw.value("query")
    if isinstance(query, str) and query.strip().endswith(".sql"):
        return manual(task, ctx, f"query `{query}` names a .sql file that Airflow reads")
    kw.input("query")
    kw.input("workgroup", "primary")
    kw.input("catalog", "AwsDataCatalog")
    for name in ("database", "output_location", "client_request_token"):
        kw.input(name)
    kw.input("query_execution_context")
    kw.input("result_configuration")
    interval = seconds(task, "sleep_time", ctx, 30)
    attempts = literal(task, "max_polling_attempts") or 999999
    if interval is None or not isinstance(attempts, int):
        return manual(task, ctx, "sleep_time / max_polling_attempts are not literal numbers")
    differences = unsupported(task, "deferrable")
    started = Call(
        service="athena",
        method="start_query_execution",
        request={
            "QueryString": Input("query"),
            "QueryExecutionContext": Var("context"),
            "ResultConfiguration": Var("result"),
            "WorkGroup": Input("workgroup"),
            "ClientRequestToken": Input("client_request_token", absent=True),
        },
        actions=("athena:StartQueryExecution",),
        name="started",
        prune=True,
    )
    operation = AwsOperation(
        summary="runs an Amazon Athena query and waits for it",
        inputs=kw.inputs,
        steps=(Code(text=REQUEST), started),
        wait=_query_poll(Response("started", ("QueryExecutionId",)), interval, interval * attempts),
        outputs=(Output(name="return_value", value=Response("started", ("QueryExecutionId",))),),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


@rule(
    f"{_AWS}.sensors.athena.AthenaSensor",
    examples=[
        Example(
            "AthenaSensor on a query id parameter polls get_query_execution",
            """
from airflow.sdk import DAG, Param
from airflow.providers.amazon.aws.sensors.athena import AthenaSensor
with DAG("d", params={"query": Param("q-1", type="string")}):
    AthenaSensor(task_id="done", query_execution_id="{{ params.query }}", timeout=300)
""",
            {"done": {"fate": "step", "fidelity": "exact", "steps": ["done"]}},
        )
    ],
)
def athena_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """AthenaSensor → a step polling athena.get_query_execution every `sleep_time` (10 s) while
    the query is QUEUED or RUNNING; FAILED / CANCELLED fail the step. Bounded by the sensor's
    `timeout` (seven days by default: beyond 13 minutes the handler runs in a processing job,
    approximate). Needs athena:GetQueryExecution. Approximate: exponential_backoff, soft_fail
    (the poll's own interval is `sleep_time`, as the sensor's poke waits that long)."""
    kw = Kwargs(task, ctx, templated=("query_execution_id",))
    query_id = kw.input("query_execution_id")
    _, bound = sensor_wait(task, ctx, 60)
    interval = seconds(task, "sleep_time", ctx, 10)
    if interval is None:
        return manual(task, ctx, "sleep_time is not a literal number")
    operation = AwsOperation(
        summary="waits for an Amazon Athena query to succeed",
        inputs=kw.inputs,
        steps=(),
        wait=_query_poll(query_id, interval, bound),
    )
    return aws_translation(task, ctx, operation, sensor_differences(task), kwargs=kw)
