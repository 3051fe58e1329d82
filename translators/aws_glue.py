"""AWS Glue: GlueJobOperator, the crawler operators and the Glue sensors as LambdaSteps whose
handler makes the provider's boto3 calls (translators/aws_api.py); a wait longer than a Lambda
function may run becomes the same handler in a processing job.

A GlueJobOperator with `wait_for_completion=False` whose run a GlueJobSensor watches is
contracted with it: the operator's step waits for the run with the sensor's settings, and the
sensor's task is contracted into it (the sensor could not read the run id of a LambdaStep).
"""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.task_settings import task_settings
from translators.aws_api import (
    AwsOperation,
    Call,
    Code,
    Kwargs,
    Output,
    Poll,
    Response,
    Var,
    aws_translation,
    unsupported,
)
from translators.aws_waits import (
    WAIT_UNTIL,
    CodeWaitOperation,
    contracted_sensor,
    sensor_differences,
    sensor_wait,
    watched_task,
    watching_sensor,
)
from translators.common import literal, manual, seconds
from translators.registry import Example, Translation, rule

_AWS = "airflow.providers.amazon.aws"
JOB = f"{_AWS}.operators.glue.GlueJobOperator"
JOB_SENSOR = f"{_AWS}.sensors.glue.GlueJobSensor"
CRAWLER = f"{_AWS}.operators.glue_crawler.GlueCrawlerOperator"
CRAWLER_RUN = f"{_AWS}.operators.glue_crawler.GlueCrawlerRunOperator"
CRAWLER_CREATE = f"{_AWS}.operators.glue_crawler.GlueCrawlerCreateOperator"
CRAWLER_UPDATE = f"{_AWS}.operators.glue_crawler.GlueCrawlerUpdateOperator"
CRAWLER_SENSOR = f"{_AWS}.sensors.glue_crawler.GlueCrawlerSensor"

# JobRunState values (GlueJobHook / GlueJobSensor). The hook fails on FAILED and TIMEOUT and the
# operator on STOPPED; ERROR and EXPIRED are terminal too (the hook would poll on until the
# task's execution_timeout), so the step fails on them at once.
JOB_RUNNING = ("STARTING", "RUNNING", "STOPPING", "WAITING")
JOB_FAILED = ("FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED")
SENSOR_FAILED = ("FAILED", "STOPPED", "TIMEOUT")  # GlueJobSensor.FAILURE_STATES
JOB_ACTIONS = ("glue:GetJob", "glue:CreateJob", "iam:GetRole", "iam:PassRole")
_JOB_TEMPLATED = (
    "job_name",
    "script_location",
    "script_args",
    "create_job_kwargs",
    "run_job_kwargs",
    "s3_bucket",
    "iam_role_name",
    "iam_role_arn",
)

# The CreateJob request GlueJobHook.create_glue_job_config builds from the operator's arguments.
JOB_CONFIG = '''
def job_config(event, iam):
    """The job definition GlueJobHook creates (Command, role and capacity defaults)."""
    extra = dict(event.get("create_job_kwargs") or {})
    command = extra.pop(
        "Command", {"Name": "glueetl", "ScriptLocation": event.get("script_location")}
    )
    role_arn = event.get("iam_role_arn")
    if not role_arn:
        role_arn = iam.get_role(RoleName=event.get("iam_role_name"))["Role"]["Arn"]
    config = {
        "Name": event["job_name"],
        "Description": event["job_desc"],
        "Role": role_arn,
        "ExecutionProperty": {"MaxConcurrentRuns": event["concurrent_run_limit"] or 1},
        "Command": command,
        "MaxRetries": event["retry_limit"],
    }
    config.update(extra)
    if "WorkerType" not in extra:
        dpus = event.get("num_of_dpus")
        config["MaxCapacity"] = 10 if dpus is None else dpus
    if event.get("s3_bucket") is not None:
        config["LogUri"] = f"s3://{event['s3_bucket']}/logs/glue-logs/{event['job_name']}"
    return config
'''

GET_OR_CREATE = """
job_name = event["job_name"]
try:
    glue.get_job(JobName=job_name)
except glue.exceptions.EntityNotFoundException:
    glue.create_job(**job_config(event, iam))
"""

# update_config=True: GlueJobHook.create_or_update_glue_job (UpdateJob only when a field differs).
CREATE_OR_UPDATE = """
job_name = event["job_name"]
config = job_config(event, iam)
try:
    current = glue.get_job(JobName=job_name)["Job"]
except glue.exceptions.EntityNotFoundException:
    glue.create_job(**config)
else:
    update = dict((k, v) for k, v in config.items() if k not in ("Name", "Tags"))
    if any(current.get(k) != v for k, v in update.items()):
        glue.update_job(JobName=job_name, JobUpdate=update)
"""

START_RUN = """
started = glue.start_job_run(
    JobName=job_name,
    Arguments=event.get("script_args") or {},
    **(event.get("run_job_kwargs") or {})
)
"""

_JOB_DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
with DAG("d"):
    GlueJobOperator(
        task_id="etl", job_name="clean-events", script_location="s3://code/clean.py",
        iam_role_arn="arn:aws:iam::123456789012:role/glue", script_args={"--day": "{{ ds }}"},
        wait_for_completion=False,
    )
"""


# --------------------------------------------------------------------------------------------
# Glue jobs
# --------------------------------------------------------------------------------------------


@rule(
    JOB,
    examples=[
        Example(
            "a Glue job run that Airflow does not wait for: a LambdaStep starting the run",
            _JOB_DAG,
            {"etl": {"fate": "step", "fidelity": "exact", "steps": ["etl"]}},
        ),
        Example(
            "a job that waits for its run: the run is polled in a processing job",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
with DAG("d"):
    GlueJobOperator(task_id="etl", job_name="clean-events", script_args={"--day": "{{ ds }}"})
""",
            {"etl": {"fate": "step", "fidelity": "approximate", "steps": ["etl"]}},
        ),
        Example(
            "GlueJobOperator(wait_for_completion=False) >> GlueJobSensor: one waiting step",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor
from datetime import timedelta
with DAG("d"):
    run = GlueJobOperator(task_id="etl", job_name="clean", wait_for_completion=False)
    GlueJobSensor(
        task_id="watch", job_name="clean", run_id=run.output, poke_interval=30,
        timeout=timedelta(minutes=10),
    )
""",
            {
                "etl": {"fate": "step", "fidelity": "exact", "steps": ["etl"]},
                "watch": {"fate": "contracted", "steps": []},
            },
        ),
    ],
)
def glue_job(task: TaskModel, ctx: RuleContext) -> Translation:
    """GlueJobOperator → a LambdaStep whose handler makes GlueJobHook's calls: glue.get_job and,
    when the job does not exist, glue.create_job with the definition the hook builds (Command
    `glueetl` on `script_location` unless create_job_kwargs gives one, the role from
    `iam_role_arn` or iam.get_role(`iam_role_name`), MaxConcurrentRuns, MaxRetries, MaxCapacity
    = num_of_dpus or 10 unless a WorkerType is given, LogUri under `s3_bucket`); with
    `update_config=True` glue.update_job when a field differs. Then glue.start_job_run with
    `script_args` as Arguments and `run_job_kwargs`. The XCom (the JobRunId) is the output
    `return_value`. The template fields are the step's inputs. Needs glue:GetJob,
    glue:CreateJob, glue:StartJobRun, iam:GetRole, iam:PassRole (and glue:UpdateJob,
    glue:GetJobRun when used).

    With `wait_for_completion` (the default) the handler polls glue.get_job_run every
    `job_poll_interval` seconds (deferrable: `waiter_delay`) until the run ends: SUCCEEDED
    succeeds; FAILED, TIMEOUT, STOPPED fail, and ERROR / EXPIRED fail at once (Airflow's hook
    polls on until the task's timeout). Airflow waits without a bound (deferrable:
    waiter_delay × waiter_max_attempts); the step waits until the task's execution_timeout, so
    without one (or beyond 13 minutes) the handler runs in a processing job (approximate).
    With `wait_for_completion=False` and a GlueJobSensor reading the run id, the step waits
    with the sensor's poke_interval and timeout, and the sensor is contracted into it.

    Manual: a script_location on the local disk (Airflow uploads it to S3 first). Approximate:
    `verbose` (the run's logs stay in CloudWatch), `sleep_before_return`,
    `stop_job_run_on_kill`, OpenLineage injection, Tags in create_job_kwargs with update_config
    (tags are not reconciled), and the shared AWS differences (connection, retries, readers of
    the XCom)."""
    kw = Kwargs(task, ctx, templated=_JOB_TEMPLATED)
    location = kw.value("script_location")
    if isinstance(location, str) and not location.startswith("s3://"):
        return manual(
            task,
            ctx,
            f"script_location `{location}` is a local file that Airflow uploads to S3 before "
            "creating the job: upload it and give its s3:// URL",
        )
    kw.input("job_name", "aws_glue_default_job")
    kw.input("job_desc", "AWS Glue Job with Airflow")
    kw.input("concurrent_run_limit", 1)
    kw.input("retry_limit", 0)
    for name in ("script_location", "num_of_dpus", "s3_bucket", "iam_role_name", "iam_role_arn"):
        kw.input(name)
    for name in ("script_args", "create_job_kwargs", "run_job_kwargs"):
        kw.input(name)
    update = kw.static("update_config", False)
    wait = kw.static("wait_for_completion", True)
    differences = unsupported(
        task, "verbose", "sleep_before_return", "openlineage_inject_parent_job_info"
    ) + unsupported(task, "openlineage_inject_transport_info")
    if literal(task, "stop_job_run_on_kill", False):
        differences.append("stop_job_run_on_kill: stopping the pipeline does not stop the run")
    if update and isinstance(kw.value("create_job_kwargs"), dict):
        if "Tags" in kw.value("create_job_kwargs"):
            differences.append("update_config: the job's tags are not reconciled")
    steps: list[Call | Code] = [
        Code(
            text=CREATE_OR_UPDATE if update else GET_OR_CREATE,
            services=("glue", "iam"),
            actions=JOB_ACTIONS + (("glue:UpdateJob",) if update else ()),
        ),
        Code(text=START_RUN, services=("glue",), actions=("glue:StartJobRun",)),
    ]
    poll = None
    sensor = watching_sensor(task, ctx, JOB_SENSOR, "run_id")
    if wait or sensor is not None:
        poll = _job_poll(task, ctx, sensor, differences)
    operation = AwsOperation(
        summary="starts an AWS Glue job run" + (" and waits for it" if poll else ""),
        inputs=kw.inputs,
        steps=tuple(steps),
        wait=poll,
        outputs=(Output(name="return_value", value=Response("started", ("JobRunId",))),),
        helpers=JOB_CONFIG,
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


def _job_poll(
    task: TaskModel, ctx: RuleContext, sensor: TaskModel | None, differences: list[str]
) -> Poll:
    """How the step waits for the run: as the operator does, or as the sensor watching it."""
    if sensor is not None:
        interval, bound = sensor_wait(sensor, ctx, 120)
        differences += sensor_differences(sensor)
        if literal(sensor, "job_name") != literal(task, "job_name", "aws_glue_default_job"):
            differences.append(f"`{sensor.task_id}` names another job: this run is watched")
        failure, running = SENSOR_FAILED, (*JOB_RUNNING, "ERROR", "EXPIRED")
    elif literal(task, "deferrable", False):
        interval = float(literal(task, "waiter_delay", 60))
        bound = interval * float(literal(task, "waiter_max_attempts", 75))
        failure, running = JOB_FAILED, JOB_RUNNING
    else:
        interval = float(literal(task, "job_poll_interval", 6))
        bound = task_settings(task, ctx.dag).get("timeout")
        failure, running = JOB_FAILED, JOB_RUNNING
    return Poll(
        call=Call(
            service="glue",
            method="get_job_run",
            request={
                "JobName": Var("job_name"),
                "RunId": Response("started", ("JobRunId",)),
                "PredecessorsIncluded": True,
            },
            actions=("glue:GetJobRun",),
            name="job_run",
        ),
        state=("JobRun", "JobRunState"),
        running=running,
        failure=failure,
        interval=interval,
        max_wait=bound,
        sleep_first=False,
    )


@rule(
    JOB_SENSOR,
    examples=[
        Example(
            "GlueJobSensor on a run id parameter polls glue.get_job_run",
            """
from airflow.sdk import DAG, Param
from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor
with DAG("d", params={"run": Param("jr_1", type="string")}):
    GlueJobSensor(
        task_id="watch", job_name="clean", run_id="{{ params.run }}", poke_interval=20,
        timeout=600,
    )
""",
            {"watch": {"fate": "step", "fidelity": "exact", "steps": ["watch"]}},
        )
    ],
)
def glue_job_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """GlueJobSensor → a step polling glue.get_job_run(JobName, RunId) every `poke_interval`
    (default 120 s) until the run SUCCEEDED; FAILED, STOPPED and TIMEOUT fail the step, other
    states keep it waiting. It gives up after the sensor's `timeout` (default seven days): a
    LambdaStep when that fits in 13 minutes, else the handler in a processing job
    (approximate). Needs glue:GetJobRun. Contracted into a GlueJobOperator with
    `wait_for_completion=False` whose run id it reads (that step waits instead). Approximate:
    exponential_backoff, soft_fail, `verbose`, deferrable (Airflow gives up after max_retries
    × poke_interval)."""
    watched = watched_task(task, ctx, JOB, "run_id")
    if watched is not None:
        return contracted_sensor(watched)
    kw = Kwargs(task, ctx, templated=("job_name", "run_id"))
    interval, bound = sensor_wait(task, ctx, 120)
    differences = sensor_differences(task) + unsupported(task, "verbose")
    if literal(task, "deferrable", False):
        differences.append("deferrable: Airflow gives up after max_retries × poke_interval")
    poll = Poll(
        call=Call(
            service="glue",
            method="get_job_run",
            request={
                "JobName": kw.input("job_name"),
                "RunId": kw.input("run_id"),
                "PredecessorsIncluded": True,
            },
            actions=("glue:GetJobRun",),
            name="job_run",
        ),
        state=("JobRun", "JobRunState"),
        running=(*JOB_RUNNING, "ERROR", "EXPIRED"),
        failure=SENSOR_FAILED,
        interval=interval,
        max_wait=bound,
        sleep_first=False,
    )
    operation = AwsOperation(
        summary="waits for an AWS Glue job run to succeed", inputs=kw.inputs, steps=(), wait=poll
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


# --------------------------------------------------------------------------------------------
# Glue crawlers
# --------------------------------------------------------------------------------------------

# GlueCrawlerHook.update_crawler: UpdateCrawler only with a changed field (Tags apart).
CREATE_OR_UPDATE_CRAWLER = """
config = dict(event["config"])
crawler_name = config["Name"]
try:
    current = glue.get_crawler(Name=crawler_name)["Crawler"]
except glue.exceptions.EntityNotFoundException:
    glue.create_crawler(**config)
else:
    config.pop("Tags", None)
    if any(current.get(k) != v for k, v in config.items()):
        glue.update_crawler(**config)
"""

START_CRAWLER = """
try:
    glue.start_crawler(Name=crawler_name)
except glue.exceptions.CrawlerRunningException:
    if FAIL_ON_ALREADY_RUNNING:
        raise
    print(f"crawler {crawler_name} is already running: waiting for that crawl")
"""

WAIT_CRAWLER = """
crawler = wait_until(
    lambda: glue.get_crawler(Name=crawler_name), ("Crawler", "State"), ("RUNNING", "STOPPING"),
    (), DELAY, None, f"crawler {crawler_name}", max_attempts=MAX_ATTEMPTS,
)["Crawler"]
status = crawler.get("LastCrawl", {}).get("Status")
if status in ("FAILED", "CANCELLED"):
    raise RuntimeError(f"crawler {crawler_name}: last crawl {status}")
"""

# GlueCrawlerSensor.poke: READY ends the wait, and then only a SUCCEEDED last crawl passes.
SENSE_CRAWLER = """
crawler_name = event["crawler_name"]
crawler = wait_until(
    lambda: glue.get_crawler(Name=crawler_name), ("Crawler", "State"), ("RUNNING", "STOPPING"),
    (), DELAY, MAX_WAIT, f"crawler {crawler_name}",
)["Crawler"]
status = crawler.get("LastCrawl", {}).get("Status")
if status != "SUCCEEDED":
    raise RuntimeError(f"crawler {crawler_name}: last crawl {status}")
"""

UPDATE_CRAWLER = """
config = dict(event["config"])
config.pop("Tags", None)
current = glue.get_crawler(Name=config["Name"])["Crawler"]
if any(current.get(k) != v for k, v in config.items()):
    glue.update_crawler(**config)
"""

_CRAWLER_DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
CONFIG = {
    "Name": "events", "Role": "arn:aws:iam::123456789012:role/glue", "DatabaseName": "raw",
    "Targets": {"S3Targets": [{"Path": "s3://lake/events/"}]},
}
with DAG("d"):
    GlueCrawlerOperator(task_id="crawl", config=CONFIG, poll_interval=0.5)
"""


def wait_constants(delay: float, bound: float | None) -> str:
    """The wait's settings as the handler's statements (numbers the rule computed)."""
    return f"DELAY = {float(delay)!r}\nMAX_WAIT = {None if bound is None else float(bound)!r}\n"


@rule(
    CRAWLER,
    CRAWLER_RUN,
    examples=[
        Example(
            "GlueCrawlerOperator creates or updates the crawler, starts it and waits (short "
            "poll_interval: the wait fits in a Lambda function)",
            _CRAWLER_DAG,
            {"crawl": {"fate": "step", "fidelity": "approximate", "steps": ["crawl"]}},
        ),
        Example(
            "GlueCrawlerRunOperator without waiting: one LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator
with DAG("d"):
    GlueCrawlerRunOperator(task_id="crawl", crawler_name="events", wait_for_completion=False)
""",
            {"crawl": {"fate": "step", "fidelity": "exact", "steps": ["crawl"]}},
        ),
    ],
)
def glue_crawler(task: TaskModel, ctx: RuleContext) -> Translation:
    """GlueCrawlerOperator (deprecated) / GlueCrawlerRunOperator → a step whose handler makes
    GlueCrawlerHook's calls. GlueCrawlerOperator first reads the crawler (glue.get_crawler):
    missing → glue.create_crawler(**config); present → glue.update_crawler(**config) when a
    field differs (Tags apart). Both then call glue.start_crawler (with
    `fail_on_already_running=False` a crawler already running is waited for) and, with
    `wait_for_completion` (default), poll glue.get_crawler every `poll_interval` (5 s) up to
    1,000 times as the provider's `crawler_ready` waiter does: READY ends the wait, a last
    crawl FAILED or CANCELLED fails it. The XCom (the crawler name) is the output
    `return_value`; `config` / `crawler_name` are the step's inputs. Needs glue:GetCrawler,
    glue:StartCrawler (and glue:CreateCrawler, glue:UpdateCrawler, iam:PassRole with a config).

    A wait that may pass 13 minutes (1,000 × 5 s does) runs the handler in a processing job
    (approximate). Approximate: the crawl's metrics (glue.get_crawler_metrics) are not logged,
    Tags in `config` are not reconciled, deferrable, and the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=("config", "crawler_name"))
    differences: list[str] = []
    if task.operator == CRAWLER:
        kw.input("config")
        config = kw.value("config")
        if isinstance(config, dict) and "Tags" in config:
            differences.append("the crawler's tags are not reconciled when it is updated")
        first = Code(
            text=CREATE_OR_UPDATE_CRAWLER,
            services=("glue",),
            actions=("glue:GetCrawler", "glue:CreateCrawler", "glue:UpdateCrawler", "iam:PassRole"),
        )
    else:
        kw.input("crawler_name")
        first = Code(text='crawler_name = event["crawler_name"]')
    fail_running = bool(kw.static("fail_on_already_running", True))
    start = Code(
        text=START_CRAWLER.replace("FAIL_ON_ALREADY_RUNNING", repr(fail_running)),
        services=("glue",),
        actions=("glue:StartCrawler",),
    )
    wait = kw.static("wait_for_completion", True) or literal(task, "deferrable", False)
    steps: list[Code] = [first, start]
    bound = 0.0
    if wait:
        delay = seconds(task, "poll_interval", ctx, 5)
        delay = 5 if delay is None else delay
        bound = delay * 1000
        constants = f"DELAY = {float(delay)!r}\nMAX_ATTEMPTS = 1000  # the crawler_ready waiter's\n"
        steps.append(Code(text=constants + WAIT_CRAWLER, actions=("glue:GetCrawler",)))
        differences.append("the crawl's metrics (glue.get_crawler_metrics) are not logged")
    operation = CodeWaitOperation(
        summary="runs an AWS Glue crawler" + (" and waits for it" if wait else ""),
        inputs=kw.inputs,
        steps=tuple(steps),
        outputs=(Output(name="return_value", value=Var("crawler_name")),),
        helpers=WAIT_UNTIL if wait else "",
        imports=("import time",) if wait else (),
        code_wait=bound,
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


@rule(
    CRAWLER_CREATE,
    CRAWLER_UPDATE,
    examples=[
        Example(
            "GlueCrawlerCreateOperator creates the crawler from a LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerCreateOperator
with DAG("d"):
    GlueCrawlerCreateOperator(task_id="make", config={
        "Name": "events", "Role": "glue", "Targets": {"S3Targets": [{"Path": "s3://lake/e/"}]},
    })
""",
            {"make": {"fate": "step", "fidelity": "exact", "steps": ["make"]}},
        )
    ],
)
def glue_crawler_define(task: TaskModel, ctx: RuleContext) -> Translation:
    """GlueCrawlerCreateOperator / GlueCrawlerUpdateOperator → a LambdaStep calling
    glue.create_crawler(**config) (needs glue:CreateCrawler, iam:PassRole) or, as
    GlueCrawlerHook.update_crawler does, glue.get_crawler then glue.update_crawler(**config)
    when a field differs (glue:GetCrawler, glue:UpdateCrawler, iam:PassRole). `config` is a
    template field: the step's input. The XCom (the crawler name) is the output
    `return_value`. Approximate: Tags in an update's config (not reconciled), and the shared
    AWS differences."""
    kw = Kwargs(task, ctx, templated=("config",))
    kw.input("config")
    differences: list[str] = []
    if task.operator == CRAWLER_CREATE:
        code = Code(
            text='config = event["config"]\nglue.create_crawler(**config)',
            services=("glue",),
            actions=("glue:CreateCrawler", "iam:PassRole"),
        )
    else:
        code = Code(
            text=UPDATE_CRAWLER,
            services=("glue",),
            actions=("glue:GetCrawler", "glue:UpdateCrawler", "iam:PassRole"),
        )
        config = kw.value("config")
        if isinstance(config, dict) and "Tags" in config:
            differences.append("the crawler's tags are not reconciled")
    operation = AwsOperation(
        summary=("creates" if task.operator == CRAWLER_CREATE else "updates")
        + " an AWS Glue crawler",
        inputs=kw.inputs,
        steps=(code, Code(text='crawler_name = config["Name"]')),
        outputs=(Output(name="return_value", value=Var("crawler_name")),),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


@rule(
    CRAWLER_SENSOR,
    examples=[
        Example(
            "GlueCrawlerSensor polls glue.get_crawler until the crawler is READY",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.glue_crawler import GlueCrawlerSensor
with DAG("d"):
    GlueCrawlerSensor(task_id="crawled", crawler_name="events", poke_interval=30, timeout=600)
""",
            {"crawled": {"fate": "step", "fidelity": "exact", "steps": ["crawled"]}},
        )
    ],
)
def glue_crawler_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """GlueCrawlerSensor → a step polling glue.get_crawler(Name) every `poke_interval` while the
    crawler is RUNNING or STOPPING; once READY the last crawl must have SUCCEEDED, else the step
    fails, as the sensor raises. Bounded by the sensor's `timeout` (beyond 13 minutes the
    handler runs in a processing job: approximate). Needs glue:GetCrawler. Approximate:
    exponential_backoff, soft_fail."""
    kw = Kwargs(task, ctx, templated=("crawler_name",))
    kw.input("crawler_name")
    delay, bound = sensor_wait(task, ctx, 60)
    operation = CodeWaitOperation(
        summary="waits for an AWS Glue crawler to finish a successful crawl",
        inputs=kw.inputs,
        steps=(
            Code(
                text=wait_constants(delay, bound) + SENSE_CRAWLER,
                services=("glue",),
                actions=("glue:GetCrawler",),
            ),
        ),
        helpers=WAIT_UNTIL,
        imports=("import time",),
        code_wait=bound,
    )
    return aws_translation(task, ctx, operation, sensor_differences(task), kwargs=kw)
