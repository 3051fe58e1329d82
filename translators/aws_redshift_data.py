"""Amazon Redshift Data API: RedshiftDataOperator as a step whose handler makes the provider's
boto3 calls (translators/aws_api.py): execute_statement (batch_execute_statement for a list of
statements), the wait on describe_statement, then the statement ids or their results as the XCom.
A wait without a bound (the operator's default) runs the same handler in a processing job.
"""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.task_settings import task_settings
from translators.aws_api import (
    AsJson,
    Call,
    Code,
    Input,
    Kwargs,
    Output,
    Var,
    aws_translation,
)
from translators.aws_waits import CodeWaitOperation
from translators.common import literal, manual
from translators.registry import Example, Translation, rule

OPERATOR = "airflow.providers.amazon.aws.operators.redshift_data.RedshiftDataOperator"
# RedshiftDataHook: RUNNING_STATES keep the wait going, FAILURE_STATES raise, FINISHED succeeds.
RUNNING = ("PICKED", "STARTED", "SUBMITTED")
FAILED = ("FAILED", "ABORTED")
_TEMPLATED = (
    "cluster_identifier",
    "database",
    "sql",
    "db_user",
    "parameters",
    "statement_name",
    "workgroup_name",
    "session_id",
)
_TARGETS = ("cluster_identifier", "workgroup_name", "session_id")

# RedshiftDataHook.execute_query refuses a session id that is not a UUID4 before calling.
CHECK_SESSION = """
try:
    session_version = uuid.UUID(event["session_id"]).version
except ValueError:
    session_version = None
if session_version != 4:
    raise ValueError("session_id must be a valid UUID4")
"""

# RedshiftDataHook.wait_for_results: describe, then sleep poll_interval, until FINISHED; a
# FAILED or ABORTED statement raises with its description.
WAIT = """
waited = 0.0
while True:
    described = redshift_data.describe_statement(Id=statement_id)
    status = described["Status"]
    if status in FAILED:
        raise RuntimeError(f"statement {statement_id}: {status}: {described.get('Error')}")
    if status not in RUNNING:
        break
    if MAX_WAIT is not None and waited >= MAX_WAIT:
        raise TimeoutError(f"statement {statement_id} still {status} after {waited:.0f} s")
    time.sleep(POLL_INTERVAL)
    waited += POLL_INTERVAL
"""

# RedshiftDataOperator.get_sql_results: a batch's XCom lists its sub-statements.
STATEMENT_IDS = """
statement = redshift_data.describe_statement(Id=statement_id)
statement_ids = [sub["Id"] for sub in statement.get("SubStatements", [])] or [statement_id]
"""

RESULTS = """
results = [redshift_data.get_statement_result(Id=i) for i in statement_ids]
"""

_DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
with DAG("d"):
    RedshiftDataOperator(
        task_id="load", workgroup_name="analytics", database="dev",
        sql="INSERT INTO daily SELECT * FROM events WHERE day = '{{ ds }}'",
        wait_for_completion=False,
    )
"""


@rule(
    OPERATOR,
    examples=[
        Example(
            "a statement Airflow does not wait for: one LambdaStep submitting it",
            _DAG,
            {"load": {"fate": "step", "fidelity": "exact", "steps": ["load"]}},
        ),
        Example(
            "waiting within the task's execution_timeout, returning the rows: one LambdaStep",
            """
from datetime import timedelta
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
with DAG("d"):
    RedshiftDataOperator(
        task_id="count", cluster_identifier="main", database="dev", db_user="airflow",
        sql="SELECT count(*) FROM events", return_sql_result=True, poll_interval=5,
        execution_timeout=timedelta(minutes=10),
    )
""",
            {"count": {"fate": "step", "fidelity": "exact", "steps": ["count"]}},
        ),
        Example(
            "a batch of statements waited for without a bound: the handler in a processing job",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
with DAG("d"):
    RedshiftDataOperator(
        task_id="rebuild", workgroup_name="analytics", database="dev",
        sql=["DROP TABLE IF EXISTS t", "CREATE TABLE t AS SELECT 1 AS x"],
    )
""",
            {"rebuild": {"fate": "step", "fidelity": "approximate", "steps": ["rebuild"]}},
        ),
    ],
)
def redshift_data(task: TaskModel, ctx: RuleContext) -> Translation:
    """RedshiftDataOperator → a step whose handler calls redshift-data execute_statement (Sql)
    or, for a list of statements, batch_execute_statement (Sqls), as RedshiftDataHook does:
    ClusterIdentifier, Database, DbUser, Parameters, WithEvent, SecretArn, StatementName,
    WorkgroupName, SessionId and SessionKeepAliveSeconds, the ones left unset dropped. With
    `wait_for_completion` (the default) it calls describe_statement, then sleeps
    `poll_interval` (10 s), until the status is FINISHED; FAILED or ABORTED fail the step with
    the statement's description. Then (waiting or not) describe_statement gives the ids: the
    statement's, or a batch's sub-statements. The XCom, the output `return_value` as JSON, is
    that list of ids, or with `return_sql_result=True` the get_statement_result response of
    each (its first page, as the operator returns). With a session, the response's SessionId
    is the output `session_id` (Airflow's XCom key `session_id`). The template fields are the
    step's inputs.

    Needs redshift-data:ExecuteStatement or BatchExecuteStatement, DescribeStatement
    (GetStatementResult for results), and the credentials the Data API takes on the caller's
    behalf: redshift:GetClusterCredentials with `db_user` (redshift:GetClusterCredentialsWithIAM
    without), redshift-serverless:GetCredentials for a workgroup, secretsmanager:GetSecretValue
    with `secret_arn`.

    Airflow waits without a bound (until the task's execution_timeout): the step waits until
    the execution_timeout, a LambdaStep when that fits in 13 minutes, else the handler in a
    processing job (approximate). Retries with `durable` (Airflow reconnects to the submitted
    statement) do not arise: the step runs once. Manual: `sql` naming a .sql file (Airflow
    reads it), a target other than exactly one of cluster_identifier / workgroup_name /
    session_id, a poll_interval or session_keep_alive_seconds the hook refuses (Airflow fails
    the task). Approximate: the shared AWS differences (connection, retries, readers of the
    XCom). Stopping the pipeline does not cancel the statement (Airflow's on_kill does)."""
    kw = Kwargs(task, ctx, templated=_TEMPLATED)
    sql = kw.value("sql")
    if isinstance(sql, str) and sql.strip().endswith(".sql"):
        return manual(task, ctx, f"sql `{sql}` names a .sql file that Airflow reads")
    problem = _refused(task)
    if problem:
        return manual(task, ctx, problem)
    for name in ("cluster_identifier", "database", "db_user", "parameters", "secret_arn"):
        kw.input(name)
    kw.input("with_event", False)
    for name in ("statement_name", "workgroup_name", "session_id", "session_keep_alive_seconds"):
        kw.input(name)
    kw.input("sql")
    batch = isinstance(sql, list)
    wait = kw.static("wait_for_completion", True)
    results = kw.static("return_sql_result", False)
    interval = kw.static("poll_interval", 10)
    started = Call(
        service="redshift-data",
        method="batch_execute_statement" if batch else "execute_statement",
        request={
            "ClusterIdentifier": Input("cluster_identifier", absent=True),
            "Database": Input("database", absent=True),
            "DbUser": Input("db_user", absent=True),
            "Parameters": Input("parameters", absent=True),
            "WithEvent": Input("with_event"),
            "SecretArn": Input("secret_arn", absent=True),
            "StatementName": Input("statement_name", absent=True),
            "WorkgroupName": Input("workgroup_name", absent=True),
            "SessionId": Input("session_id", absent=True),
            "SessionKeepAliveSeconds": Input("session_keep_alive_seconds", absent=True),
            "Sqls" if batch else "Sql": Input("sql"),
        },
        actions=(
            "redshift-data:BatchExecuteStatement" if batch else "redshift-data:ExecuteStatement",
            *_credential_actions(task),
        ),
        name="started",
        prune=True,
    )
    steps: list[Call | Code] = []
    if "session_id" in kw.inputs:
        steps.append(Code(text=CHECK_SESSION))
    steps += [started, Code(text='statement_id = started["Id"]')]
    bound: float | None = 0
    if wait:
        bound = task_settings(task, ctx.dag).get("timeout")
        constants = (
            f"POLL_INTERVAL = {float(interval)!r}\n"
            f"MAX_WAIT = {None if bound is None else float(bound)!r}  # the execution_timeout\n"
            f"RUNNING = {RUNNING!r}\nFAILED = {FAILED!r}"
        )
        steps.append(Code(text=constants + WAIT, actions=("redshift-data:DescribeStatement",)))
    steps.append(Code(text=STATEMENT_IDS, actions=("redshift-data:DescribeStatement",)))
    if results:
        steps.append(Code(text=RESULTS, actions=("redshift-data:GetStatementResult",)))
    outputs = [
        Output(name="return_value", value=AsJson(Var("results" if results else "statement_ids")))
    ]
    if "session_id" in kw.inputs or "session_keep_alive_seconds" in kw.inputs:
        steps.append(Code(text='session_id = started.get("SessionId") or ""'))
        outputs.append(Output(name="session_id", value=Var("session_id")))
    operation = CodeWaitOperation(
        summary="runs SQL with the Amazon Redshift Data API"
        + (" and waits for it" if wait else ""),
        inputs=kw.inputs,
        steps=tuple(steps),
        outputs=tuple(outputs),
        imports=tuple(["import time"] * bool(wait) + ["import uuid"] * ("session_id" in kw.inputs)),
        code_wait=bound,
    )
    return aws_translation(task, ctx, operation, [], kwargs=kw)


def _refused(task: TaskModel) -> str | None:
    """What RedshiftDataHook / the operator refuse before any call (the task always fails)."""
    given = [n for n in _TARGETS if n in task.kwargs and literal(task, n, "") is not None]
    if len(given) != 1:
        return (
            "exactly one of cluster_identifier, workgroup_name or session_id must be given "
            f"(the hook refuses {', '.join(given) or 'none'}): Airflow fails this task"
        )
    interval = literal(task, "poll_interval", 10)
    if not isinstance(interval, (int, float)) or interval <= 0:
        return "poll_interval must be a positive literal number (Airflow fails the task)"
    keep_alive = literal(task, "session_keep_alive_seconds")
    if keep_alive is not None and (not isinstance(keep_alive, int) or keep_alive < 0):
        return "session_keep_alive_seconds must be a non-negative number of seconds"
    return None


def _credential_actions(task: TaskModel) -> tuple[str, ...]:
    """The credentials the Data API gets with the caller's permissions, by how it connects."""
    if "secret_arn" in task.kwargs:
        return ("secretsmanager:GetSecretValue",)
    if "workgroup_name" in task.kwargs:
        return ("redshift-serverless:GetCredentials",)
    if "cluster_identifier" in task.kwargs:
        if "db_user" in task.kwargs:
            return ("redshift:GetClusterCredentials",)
        return ("redshift:GetClusterCredentialsWithIAM",)
    return ()
