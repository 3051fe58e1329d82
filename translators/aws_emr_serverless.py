"""Amazon EMR Serverless: the application and job-run operators and their two sensors as steps
whose handler makes the provider's boto3 calls (translators/aws_api.py). The waits repeat the
provider's waiters (serverless_app_created, ..._started, ..._stopped, ..._terminated,
serverless_job_completed, no_job_running): check, then sleep `waiter_delay`, at most
`waiter_max_attempts` checks each. When they may outlast a Lambda function (the default 25 ×
60 s does) the same handler runs in a processing job.

An operator with `wait_for_completion=False` whose application or job run a sensor watches is
contracted with it, as aws_glue does: the operator's step waits with the sensor's settings.
"""

from __future__ import annotations

import ast
from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import Code, Kwargs, Output, Var, aws_translation
from translators.aws_waits import (
    CodeWaitOperation,
    contracted_sensor,
    sensor_differences,
    sensor_wait,
    watched_task,
    watching_sensor,
)
from translators.common import literal, manual
from translators.registry import Example, Translation, rule

_AWS = "airflow.providers.amazon.aws"
CREATE = f"{_AWS}.operators.emr.EmrServerlessCreateApplicationOperator"
START_JOB = f"{_AWS}.operators.emr.EmrServerlessStartJobOperator"
STOP = f"{_AWS}.operators.emr.EmrServerlessStopApplicationOperator"
DELETE = f"{_AWS}.operators.emr.EmrServerlessDeleteApplicationOperator"
JOB_SENSOR = f"{_AWS}.sensors.emr.EmrServerlessJobSensor"
APP_SENSOR = f"{_AWS}.sensors.emr.EmrServerlessApplicationSensor"

# EmrServerlessHook's state sets.
JOB_INTERMEDIATE = ("PENDING", "RUNNING", "SCHEDULED", "SUBMITTED")
JOB_FAILURE = ("FAILED", "CANCELLING", "CANCELLED")
APP_FAILURE = ("STOPPED", "TERMINATED")
APP_SUCCESS = ("CREATED", "STARTED")
HOOK_STATES = {
    f"EmrServerlessHook.{name}": states
    for name, states in {
        "JOB_INTERMEDIATE_STATES": JOB_INTERMEDIATE,
        "JOB_FAILURE_STATES": JOB_FAILURE,
        "JOB_SUCCESS_STATES": ("SUCCESS",),
        "JOB_TERMINAL_STATES": ("SUCCESS", *JOB_FAILURE),
        "APPLICATION_INTERMEDIATE_STATES": ("CREATING", "STARTING", "STOPPING"),
        "APPLICATION_FAILURE_STATES": APP_FAILURE,
        "APPLICATION_SUCCESS_STATES": APP_SUCCESS,
    }.items()
}

# The provider's waiter_with_logging.wait: one check per attempt, `delay` apart; throttling
# errors are retried without counting an attempt. Sensors pass retry_throttling=False (a poke
# that raises fails the sensor).
WAIT_FOR = '''
def wait_for(describe, key, success, failure, delay, max_attempts, what, max_wait=None,
             retry_throttling=True):
    """Call `describe()` until `response[key]["state"]` is one of `success`; fail on a state in
    `failure`, after `max_attempts` checks or `max_wait` seconds (None: no limit)."""
    started = time.monotonic()
    attempts = 0
    while True:
        try:
            item = describe()[key]
        except ClientError as error:
            if not retry_throttling or error.response["Error"]["Code"] not in RETRIABLE_ERRORS:
                raise
            time.sleep(delay)
            continue
        attempts += 1
        state = item["state"]
        if state in success:
            return item
        if state in failure:
            raise RuntimeError(f"{what}: {state}: {item.get('stateDetails')}")
        waited = time.monotonic() - started
        out_of_time = max_wait is not None and waited >= max_wait
        if out_of_time or (max_attempts is not None and attempts >= max_attempts):
            raise TimeoutError(f"{what} still {state} after {attempts} checks")
        time.sleep(delay)


RETRIABLE_ERRORS = (
    "ThrottlingException", "Throttling", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "LimitExceededException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException",
)
'''

# EmrServerlessHook.cancel_running_jobs, then the no_job_running waiter.
CANCEL_RUNNING_JOBS = '''
def cancel_running_jobs(emr_serverless, application_id):
    """Cancel the application's pending and running job runs; returns how many."""
    count = 0
    pages = emr_serverless.get_paginator("list_job_runs").paginate(
        applicationId=application_id,
        states=list(JOB_INTERMEDIATE_STATES),
        PaginationConfig={"PageSize": 50},
    )
    for page in pages:
        for run in page["jobRuns"]:
            emr_serverless.cancel_job_run(applicationId=application_id, jobRunId=run["id"])
            count += 1
    return count


def wait_no_job_running(emr_serverless, application_id, delay, max_attempts):
    """Wait until no job run of the application is pending, running or cancelling."""
    for attempt in range(max_attempts):
        if attempt:
            time.sleep(delay)
        runs = emr_serverless.list_job_runs(
            applicationId=application_id, states=[*JOB_INTERMEDIATE_STATES, "CANCELLING"]
        )["jobRuns"]
        if not runs:
            return
    raise TimeoutError(f"application {application_id} still has job runs")
'''

CREATE_APPLICATION = """
created = emr_serverless.create_application(
    clientToken=event.get("client_request_token") or str(uuid.uuid4()),
    releaseLabel=event["release_label"],
    type=event["job_type"],
    **(event.get("config") or {})
)
application_id = created["applicationId"]
wait_for(
    lambda: emr_serverless.get_application(applicationId=application_id), "application",
    ("CREATED",), ("TERMINATED",), DELAY, MAX_ATTEMPTS, f"application {application_id}",
)
emr_serverless.start_application(applicationId=application_id)
"""

WAIT_STARTED = """
wait_for(
    lambda: emr_serverless.get_application(applicationId=application_id), "application",
    ("STARTED",), ("TERMINATED", "STOPPED"), DELAY, MAX_ATTEMPTS, f"application {application_id}",
)
"""

# EmrServerlessApplicationSensor's poke, in the step of the operator it watches.
SENSE_APPLICATION = """
wait_for(
    lambda: emr_serverless.get_application(applicationId=application_id), "application",
    TARGET_STATES, ("STOPPED", "TERMINATED"), POKE_INTERVAL, None,
    f"application {application_id}", max_wait=TIMEOUT, retry_throttling=False,
)
"""

START_JOB_RUN = """
application_id = event["application_id"]
state = emr_serverless.get_application(applicationId=application_id)["application"]["state"]
if state not in ("CREATED", "STARTED"):
    emr_serverless.start_application(applicationId=application_id)
    wait_for(
        lambda: emr_serverless.get_application(applicationId=application_id), "application",
        ("STARTED",), ("TERMINATED", "STOPPED"), DELAY, MAX_ATTEMPTS,
        f"application {application_id}",
    )
config = dict(event.get("config") or {})
name = event.get("name") or config.pop("name", f"emr_serverless_job_airflow_{uuid.uuid4()}")
request = {
    "clientToken": event.get("client_request_token") or str(uuid.uuid4()),
    "applicationId": application_id,
    "executionRoleArn": event["execution_role_arn"],
    "jobDriver": event["job_driver"],
    "name": name,
    **config,
}
if event.get("configuration_overrides") is not None:
    request["configurationOverrides"] = event["configuration_overrides"]
job_run_id = emr_serverless.start_job_run(**request)["jobRunId"]
"""

# serverless_job_completed; at max attempts the operator cancels the run, then fails.
WAIT_JOB = """
try:
    wait_for(
        lambda: emr_serverless.get_job_run(applicationId=application_id, jobRunId=job_run_id),
        "jobRun", ("SUCCESS",), ("FAILED", "CANCELLED"), DELAY, MAX_ATTEMPTS,
        f"job run {job_run_id}",
    )
except TimeoutError:
    try:
        emr_serverless.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)
    except ClientError as error:
        print(f"could not cancel job run {job_run_id}: {error}")
    raise
"""

# EmrServerlessJobSensor's poke, in the step of the operator it watches.
SENSE_JOB = """
wait_for(
    lambda: emr_serverless.get_job_run(applicationId=application_id, jobRunId=job_run_id),
    "jobRun", TARGET_STATES, ("FAILED", "CANCELLING", "CANCELLED"), POKE_INTERVAL, None,
    f"job run {job_run_id}", max_wait=TIMEOUT, retry_throttling=False,
)
"""

FORCE_STOP = """
if cancel_running_jobs(emr_serverless, application_id):
    wait_no_job_running(emr_serverless, application_id, DELAY, MAX_ATTEMPTS)
"""

WAIT_STOPPED = """
wait_for(
    lambda: emr_serverless.get_application(applicationId=application_id), "application",
    ("STOPPED",), ("TERMINATED",), DELAY, MAX_ATTEMPTS, f"application {application_id}",
)
"""

WAIT_TERMINATED = """
wait_for(
    lambda: emr_serverless.get_application(applicationId=application_id), "application",
    ("TERMINATED",), (), DELAY, MAX_ATTEMPTS, f"application {application_id}",
)
"""

_ACTIONS_APP = ("emr-serverless:GetApplication",)
_CLIENT_ERROR = "from botocore.exceptions import ClientError"


# --------------------------------------------------------------------------------------------
# Settings the rules share
# --------------------------------------------------------------------------------------------


def _waiter(kw: Kwargs) -> tuple[float, int]:
    """waiter_delay and waiter_max_attempts (60 s × 25 unless given)."""
    delay = kw.static("waiter_delay", 60)
    attempts = kw.static("waiter_max_attempts", 25)
    if not isinstance(delay, (int, float)) or not isinstance(attempts, int):
        kw.problems.append("waiter_delay / waiter_max_attempts must be literal numbers")
        return 60.0, 25
    return float(int(delay)), int(attempts)  # the operators take int(...) of both


def _constants(delay: float, attempts: int) -> str:
    return (
        f"DELAY = {delay!r}  # waiter_delay\nMAX_ATTEMPTS = {attempts!r}  # waiter_max_attempts\n"
    )


def _sensor_constants(sensor: TaskModel, ctx: RuleContext, default: tuple[str, ...]) -> str:
    interval, timeout = sensor_wait(sensor, ctx, 60)
    targets = _target_states(sensor, default)
    return (
        f"POKE_INTERVAL = {interval!r}\nTIMEOUT = {timeout!r}  # the sensor's timeout\n"
        f"TARGET_STATES = {tuple(sorted(targets or ()))!r}\n"
    )


def _target_states(sensor: TaskModel, default: tuple[str, ...]) -> tuple[str, ...] | None:
    """The sensor's target_states: a literal collection of states, which may unpack the hook's
    own sets (`{*EmrServerlessHook.JOB_SUCCESS_STATES, "RUNNING"}`); else None."""
    arg = sensor.kwargs.get("target_states")
    if arg is None:
        return default
    if arg.kind == "literal":
        value = arg.value
        if isinstance(value, (list, tuple, set, frozenset)) and all(
            isinstance(v, str) for v in value
        ):
            return tuple(value)
        return None
    return _states_of_source(arg.source or "")


def _states_of_source(source: str) -> tuple[str, ...] | None:
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("set", "frozenset"):
        node = node.args[0] if len(node.args) == 1 and not node.keywords else None
    if isinstance(node, ast.Attribute):
        return HOOK_STATES.get(ast.unparse(node))
    if not isinstance(node, (ast.Set, ast.List, ast.Tuple)):
        return None
    states: list[str] = []
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            states.append(element.value)
        elif isinstance(element, ast.Starred) and ast.unparse(element.value) in HOOK_STATES:
            states += HOOK_STATES[ast.unparse(element.value)]
        else:
            return None
    return tuple(states)


def _sensor_problem(sensor: TaskModel, default: tuple[str, ...]) -> str | None:
    if _target_states(sensor, default) is None:
        return f"`{sensor.task_id}`: target_states must be a literal set of states"
    return None


def _deferrable(task: TaskModel) -> bool:
    return bool(literal(task, "deferrable", False))


def _operation(kw: Kwargs, summary: str, steps: list[Code], bound: float, outputs=()) -> Any:
    helpers = WAIT_FOR
    if any("cancel_running_jobs(" in s.text for s in steps):
        helpers = WAIT_FOR.strip() + "\n\n\n" + CANCEL_RUNNING_JOBS.strip()
        helpers += f"\n\n\nJOB_INTERMEDIATE_STATES = {JOB_INTERMEDIATE!r}\n"
    imports = ["import time", _CLIENT_ERROR]
    if any("uuid." in s.text for s in steps):
        imports.append("import uuid")
    return CodeWaitOperation(
        summary=summary,
        inputs=kw.inputs,
        steps=tuple(steps),
        outputs=tuple(outputs),
        helpers=helpers,
        imports=tuple(imports),
        code_wait=bound,
    )


# --------------------------------------------------------------------------------------------
# Applications
# --------------------------------------------------------------------------------------------


def _app_sensor(task: TaskModel, ctx: RuleContext) -> TaskModel | None:
    """The application sensor whose wait this step takes over (not one that is manual)."""
    sensor = watching_sensor(task, ctx, APP_SENSOR, "application_id")
    return None if sensor is None or _sensor_problem(sensor, APP_SUCCESS) else sensor


@rule(
    CREATE,
    examples=[
        Example(
            "an application created and started with short waits: one LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessCreateApplicationOperator
with DAG("d"):
    EmrServerlessCreateApplicationOperator(
        task_id="app", release_label="emr-7.0.0", job_type="SPARK",
        config={"name": "nightly"}, waiter_delay=10, waiter_max_attempts=30,
    )
""",
            {"app": {"fate": "step", "fidelity": "exact", "steps": ["app"]}},
        ),
        Example(
            "the default waits (2 × 25 × 60 s) run the handler in a processing job",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessCreateApplicationOperator
with DAG("d"):
    EmrServerlessCreateApplicationOperator(
        task_id="app", release_label="emr-7.0.0", job_type="SPARK")
""",
            {"app": {"fate": "step", "fidelity": "approximate", "steps": ["app"]}},
        ),
        Example(
            "created without waiting for the start, an EmrServerlessApplicationSensor watching "
            "it: one step that waits as the sensor does",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessCreateApplicationOperator
from airflow.providers.amazon.aws.sensors.emr import EmrServerlessApplicationSensor
with DAG("d"):
    app = EmrServerlessCreateApplicationOperator(
        task_id="app", release_label="emr-7.0.0", job_type="SPARK",
        wait_for_completion=False, waiter_delay=5, waiter_max_attempts=20,
    )
    EmrServerlessApplicationSensor(
        task_id="ready", application_id=app.output, poke_interval=10, timeout=300)
""",
            {
                "app": {"fate": "step", "fidelity": "exact", "steps": ["app"]},
                "ready": {"fate": "contracted", "steps": []},
            },
        ),
    ],
)
def create_application(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrServerlessCreateApplicationOperator → a step whose handler calls
    emr-serverless create_application(clientToken = client_request_token or a new UUID,
    releaseLabel, type = job_type, **config), waits for the application to be CREATED
    (TERMINATED fails), calls start_application and, with `wait_for_completion` (the default),
    waits for it to be STARTED (TERMINATED or STOPPED fail). Each wait checks get_application
    every `waiter_delay` (60 s) at most `waiter_max_attempts` (25) times, as the provider's
    waiters. The XCom (the application id) is the output `return_value`. The operator has no
    template fields: its arguments are the step's inputs as written. Needs
    emr-serverless:CreateApplication, GetApplication, StartApplication (and TagResource with
    tags in config).

    A LambdaStep when the waits fit in 13 minutes, else the handler in a processing job
    (approximate). With `wait_for_completion=False` and an EmrServerlessApplicationSensor
    reading the application id, the step waits after the start as the sensor does (its
    target_states, poke_interval and timeout) and the sensor is contracted into it.
    deferrable makes the same calls and waits. Approximate: the shared AWS differences."""
    kw = Kwargs(task, ctx)
    for name in ("release_label", "job_type", "config", "client_request_token"):
        kw.input(name)
    delay, attempts = _waiter(kw)
    wait = kw.static("wait_for_completion", True) or _deferrable(task)
    sensor = _app_sensor(task, ctx)
    differences: list[str] = []
    steps = [
        Code(
            text=_constants(delay, attempts) + CREATE_APPLICATION,
            services=("emr-serverless",),
            actions=(
                "emr-serverless:CreateApplication",
                "emr-serverless:StartApplication",
                *_ACTIONS_APP,
                *_tag_actions(kw.value("config")),
            ),
        )
    ]
    bound = 2 * delay * attempts if wait else delay * attempts
    if wait:
        steps.append(Code(text=WAIT_STARTED))
    elif sensor is not None:
        steps.append(Code(text=_sensor_constants(sensor, ctx, APP_SUCCESS) + SENSE_APPLICATION))
        bound += sensor_wait(sensor, ctx, 60)[1]
        differences += sensor_differences(sensor)
    operation = _operation(
        kw,
        "creates and starts an Amazon EMR Serverless application",
        steps,
        bound,
        outputs=(Output(name="return_value", value=Var("application_id")),),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


def _tag_actions(config: Any) -> tuple[str, ...]:
    return ("emr-serverless:TagResource",) if isinstance(config, dict) and "tags" in config else ()


@rule(
    STOP,
    DELETE,
    examples=[
        Example(
            "stopping an application, cancelling its running jobs first: one LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStopApplicationOperator
with DAG("d", params={"app": "00abc"}):
    EmrServerlessStopApplicationOperator(
        task_id="stop", application_id="{{ params.app }}", force_stop=True, waiter_delay=5,
        waiter_max_attempts=20,
    )
""",
            {"stop": {"fate": "step", "fidelity": "exact", "steps": ["stop"]}},
        ),
        Example(
            "deleting an application with the default waits: a processing job",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessDeleteApplicationOperator
with DAG("d", params={"app": "00abc"}):
    EmrServerlessDeleteApplicationOperator(task_id="drop", application_id="{{ params.app }}")
""",
            {"drop": {"fate": "step", "fidelity": "approximate", "steps": ["drop"]}},
        ),
    ],
)
def stop_application(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrServerlessStopApplicationOperator / EmrServerlessDeleteApplicationOperator → a step
    whose handler, with `force_stop`, cancels the application's PENDING, RUNNING, SCHEDULED and
    SUBMITTED job runs (list_job_runs pages, cancel_job_run each) and, if there were any, waits
    until list_job_runs finds none pending, running or cancelling; then calls
    emr-serverless stop_application and waits for the application to be STOPPED (TERMINATED
    fails) — Stop only with `wait_for_completion` (the default), Delete always. Delete then
    calls delete_application and, with `wait_for_completion`, waits for it to be TERMINATED.
    Waits check every `waiter_delay` (60 s) at most `waiter_max_attempts` (25) times, as the
    provider's waiters; deferrable waits the same way. `application_id` (a template field) is
    the step's input; the XCom is None. Needs emr-serverless:StopApplication, GetApplication
    (DeleteApplication; ListJobRuns and CancelJobRun with force_stop).

    A LambdaStep when the waits fit in 13 minutes, else the handler in a processing job
    (approximate). Approximate: the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=("application_id",))
    kw.input("application_id")
    delay, attempts = _waiter(kw)
    delete = task.operator == DELETE
    force = kw.static("force_stop", False)
    wait = kw.static("wait_for_completion", True) or _deferrable(task)
    text = _constants(delay, attempts) + 'application_id = event["application_id"]\n'
    actions = ["emr-serverless:StopApplication"]
    waits = 0
    if force:
        text += FORCE_STOP
        actions += ["emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun"]
        waits += 1
    text += "emr_serverless.stop_application(applicationId=application_id)\n"
    if wait or delete:
        text += WAIT_STOPPED
        actions += list(_ACTIONS_APP)
        waits += 1
    if delete:
        text += "emr_serverless.delete_application(applicationId=application_id)\n"
        actions.append("emr-serverless:DeleteApplication")
        if wait:
            text += WAIT_TERMINATED
            waits += 1
    steps = [Code(text=text, services=("emr-serverless",), actions=tuple(actions))]
    operation = _operation(
        kw,
        ("stops and deletes" if delete else "stops") + " an Amazon EMR Serverless application",
        steps,
        waits * delay * attempts,
    )
    return aws_translation(task, ctx, operation, [], kwargs=kw)


@rule(
    APP_SENSOR,
    examples=[
        Example(
            "EmrServerlessApplicationSensor on an application id parameter",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.emr import EmrServerlessApplicationSensor
with DAG("d", params={"app": "00abc"}):
    EmrServerlessApplicationSensor(
        task_id="ready", application_id="{{ params.app }}", poke_interval=15, timeout=600)
""",
            {"ready": {"fate": "step", "fidelity": "exact", "steps": ["ready"]}},
        )
    ],
)
def application_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrServerlessApplicationSensor → a step calling emr-serverless get_application every
    `poke_interval` (60 s) until the state is one of `target_states` (CREATED, STARTED);
    STOPPED or TERMINATED fail the step. Bounded by the sensor's `timeout` (beyond 13 minutes
    the handler runs in a processing job: approximate). Needs emr-serverless:GetApplication.
    Contracted into an EmrServerlessCreateApplicationOperator with `wait_for_completion=False`
    whose application id it reads. Manual: target_states not written as a literal set.
    Approximate: exponential_backoff, soft_fail."""
    problem = _sensor_problem(task, APP_SUCCESS)
    if problem:
        return manual(task, ctx, problem)
    watched = watched_task(task, ctx, CREATE, "application_id")
    if watched is not None:
        return contracted_sensor(watched)
    kw = Kwargs(task, ctx, templated=("application_id",))
    kw.input("application_id")
    text = _sensor_constants(task, ctx, APP_SUCCESS) + 'application_id = event["application_id"]\n'
    steps = [
        Code(text=text + SENSE_APPLICATION, services=("emr-serverless",), actions=_ACTIONS_APP)
    ]
    operation = _operation(
        kw, "waits for an Amazon EMR Serverless application", steps, sensor_wait(task, ctx, 60)[1]
    )
    return aws_translation(task, ctx, operation, sensor_differences(task), kwargs=kw)


# --------------------------------------------------------------------------------------------
# Job runs
# --------------------------------------------------------------------------------------------

_JOB_TEMPLATED = (
    "application_id",
    "config",
    "execution_role_arn",
    "job_driver",
    "configuration_overrides",
    "name",
)


def _job_sensor(task: TaskModel, ctx: RuleContext) -> TaskModel | None:
    """The job sensor whose wait this step takes over (not one that is manual)."""
    sensor = watching_sensor(task, ctx, JOB_SENSOR, "job_run_id")
    return None if sensor is None or _sensor_problem(sensor, ("SUCCESS",)) else sensor


@rule(
    START_JOB,
    examples=[
        Example(
            "a Spark job run waited for briefly: one LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
with DAG("d", params={"app": "00abc"}):
    EmrServerlessStartJobOperator(
        task_id="job", application_id="{{ params.app }}",
        execution_role_arn="arn:aws:iam::123456789012:role/emr",
        job_driver={"sparkSubmit": {"entryPoint": "s3://code/job.py",
                                    "entryPointArguments": ["{{ ds }}"]}},
        waiter_delay=10, waiter_max_attempts=30,
    )
""",
            {"job": {"fate": "step", "fidelity": "exact", "steps": ["job"]}},
        ),
        Example(
            "a job run started without waiting and an EmrServerlessJobSensor watching it: one "
            "step that waits as the sensor does",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
from airflow.providers.amazon.aws.sensors.emr import EmrServerlessJobSensor
with DAG("d", params={"app": "00abc"}):
    job = EmrServerlessStartJobOperator(
        task_id="job", application_id="{{ params.app }}",
        execution_role_arn="arn:aws:iam::123456789012:role/emr",
        job_driver={"sparkSubmit": {"entryPoint": "s3://code/job.py"}},
        wait_for_completion=False, waiter_delay=10, waiter_max_attempts=6,
    )
    EmrServerlessJobSensor(
        task_id="done", application_id="{{ params.app }}", job_run_id=job.output,
        poke_interval=30, timeout=600,
    )
""",
            {
                "job": {"fate": "step", "fidelity": "exact", "steps": ["job"]},
                "done": {"fate": "contracted", "steps": []},
            },
        ),
    ],
)
def start_job(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrServerlessStartJobOperator → a step whose handler reads the application
    (get_application) and, unless it is CREATED or STARTED, calls start_application and waits
    for STARTED (TERMINATED or STOPPED fail); then calls emr-serverless start_job_run(clientToken
    = client_request_token or a new UUID, applicationId, executionRoleArn, jobDriver, name =
    `name` or config's "name" or emr_serverless_job_airflow_<uuid>, **config,
    configurationOverrides when given). With `wait_for_completion` (the default) it checks
    get_job_run every `waiter_delay` (60 s) at most `waiter_max_attempts` (25) times: SUCCESS
    succeeds, FAILED / CANCELLED fail, and at the last attempt the run is cancelled
    (cancel_job_run) before the step fails, as the operator does. The XCom (the job run id) is
    the output `return_value`; the template fields are the step's inputs. Needs
    emr-serverless:GetApplication, StartApplication, StartJobRun, GetJobRun, CancelJobRun and
    iam:PassRole on the execution role.

    A LambdaStep when the waits fit in 13 minutes, else the handler in a processing job
    (approximate). With `wait_for_completion=False` and an EmrServerlessJobSensor reading the
    run id, the step waits as the sensor does (target_states, default SUCCESS; FAILED,
    CANCELLING, CANCELLED fail; poke_interval and timeout) and the sensor is contracted into
    it. deferrable makes the same calls and waits. Stopping the pipeline does not cancel the
    run (Airflow's on_kill does). Approximate: OpenLineage injection into the Spark
    configuration, application UI links, and the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=_JOB_TEMPLATED)
    for name in _JOB_TEMPLATED[:-1]:
        kw.input(name)
    kw.input("name")
    kw.input("client_request_token")
    delay, attempts = _waiter(kw)
    wait = kw.static("wait_for_completion", True)
    sensor = _job_sensor(task, ctx)
    differences = _job_differences(task)
    steps = [
        Code(
            text=_constants(delay, attempts) + START_JOB_RUN,
            services=("emr-serverless",),
            actions=(
                *_ACTIONS_APP,
                "emr-serverless:StartApplication",
                "emr-serverless:StartJobRun",
                "iam:PassRole",
                *_tag_actions(kw.value("config")),
            ),
        )
    ]
    bound = delay * attempts
    if wait:
        steps.append(
            Code(text=WAIT_JOB, actions=("emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"))
        )
        bound += delay * attempts
    elif sensor is not None:
        steps.append(
            Code(
                text=_sensor_constants(sensor, ctx, ("SUCCESS",)) + SENSE_JOB,
                actions=("emr-serverless:GetJobRun",),
            )
        )
        bound += sensor_wait(sensor, ctx, 60)[1]
        differences += sensor_differences(sensor)
    operation = _operation(
        kw,
        "starts an Amazon EMR Serverless job run" + (" and waits for it" if wait else ""),
        steps,
        bound,
        outputs=(Output(name="return_value", value=Var("job_run_id")),),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


def _job_differences(task: TaskModel) -> list[str]:
    found = []
    for name in ("openlineage_inject_parent_job_info", "openlineage_inject_transport_info"):
        if literal(task, name, False):
            found.append(
                f"`{name}`: the OpenLineage settings are not added to the job's configuration"
            )
    if literal(task, "enable_application_ui_links", False):
        found.append("enable_application_ui_links: no links to the application UIs are made")
    return found


@rule(
    JOB_SENSOR,
    examples=[
        Example(
            "EmrServerlessJobSensor on parameters polls get_job_run",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.emr import EmrServerlessJobSensor
with DAG("d", params={"app": "00abc", "run": "00run"}):
    EmrServerlessJobSensor(
        task_id="done", application_id="{{ params.app }}", job_run_id="{{ params.run }}",
        poke_interval=20, timeout=600,
    )
""",
            {"done": {"fate": "step", "fidelity": "exact", "steps": ["done"]}},
        )
    ],
)
def job_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrServerlessJobSensor → a step calling emr-serverless get_job_run every `poke_interval`
    (60 s) until the run's state is one of `target_states` (SUCCESS); FAILED, CANCELLING or
    CANCELLED fail the step. Bounded by the sensor's `timeout` (beyond 13 minutes the handler
    runs in a processing job: approximate). Needs emr-serverless:GetJobRun. Contracted into an
    EmrServerlessStartJobOperator with `wait_for_completion=False` whose run id it reads.
    deferrable waits the same way (the triggerer's waiter has the same states). Manual:
    target_states not written as a literal set. Approximate: exponential_backoff, soft_fail."""
    problem = _sensor_problem(task, ("SUCCESS",))
    if problem:
        return manual(task, ctx, problem)
    watched = watched_task(task, ctx, START_JOB, "job_run_id")
    if watched is not None:
        return contracted_sensor(watched)
    kw = Kwargs(task, ctx, templated=("application_id", "job_run_id"))
    kw.input("application_id")
    kw.input("job_run_id")
    text = (
        _sensor_constants(task, ctx, ("SUCCESS",))
        + 'application_id = event["application_id"]\njob_run_id = event["job_run_id"]\n'
    )
    steps = [
        Code(
            text=text + SENSE_JOB,
            services=("emr-serverless",),
            actions=("emr-serverless:GetJobRun",),
        )
    ]
    differences = sensor_differences(task)
    operation = _operation(
        kw, "waits for an Amazon EMR Serverless job run", steps, sensor_wait(task, ctx, 60)[1]
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)
