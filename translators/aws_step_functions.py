"""AWS Step Functions: StepFunctionStartExecutionOperator, StepFunctionGetExecutionOutputOperator
and StepFunctionExecutionSensor as steps whose handler makes the provider's boto3 calls
(translators/aws_api.py).

The operator does not wait (unless deferrable); a StepFunctionExecutionSensor reading its
execution ARN is contracted into it: the operator's step then waits with the sensor's settings.
"""

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
    Poll,
    Response,
    Var,
    aws_translation,
)
from translators.aws_waits import (
    contracted_sensor,
    first_reader,
    sensor_differences,
    sensor_wait,
    watched_task,
)
from translators.common import literal, manual
from translators.registry import Example, Translation, rule

_AWS = "airflow.providers.amazon.aws"
START = f"{_AWS}.operators.step_function.StepFunctionStartExecutionOperator"
OUTPUT = f"{_AWS}.operators.step_function.StepFunctionGetExecutionOutputOperator"
SENSOR = f"{_AWS}.sensors.step_function.StepFunctionExecutionSensor"
FAILED = ("FAILED", "TIMED_OUT", "ABORTED")  # StepFunctionExecutionSensor.FAILURE_STATES

# StepFunctionHook.start_execution: a dict input is sent as JSON, a string as it is.
START_CODE = """
request = {"stateMachineArn": event["state_machine_arn"]}
if event.get("name") is not None:
    request["name"] = event["name"]
state_input = event.get("state_machine_input")
if state_input is not None:
    request["input"] = state_input if isinstance(state_input, str) else json.dumps(state_input)
started = stepfunctions.start_execution(**request)
"""

# StepFunctionGetExecutionOutputOperator.execute: the output as JSON, else the error.
OUTPUT_CODE = """
described = stepfunctions.describe_execution(executionArn=event["execution_arn"])
result = None
if "output" in described:
    result = json.loads(described["output"])
elif "error" in described:
    try:
        result = json.loads(described["error"])
    except ValueError:
        result = described["error"]
"""

_PAIR_DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.step_function import (
    StepFunctionStartExecutionOperator,
)
from airflow.providers.amazon.aws.sensors.step_function import StepFunctionExecutionSensor
with DAG("d"):
    start = StepFunctionStartExecutionOperator(
        task_id="start", state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:etl",
        state_machine_input={"day": "{{ ds }}"},
    )
    StepFunctionExecutionSensor(
        task_id="wait", execution_arn=start.output, poke_interval=10, timeout=600
    )
"""


def _watching(task: TaskModel, ctx: RuleContext, sensor: str, key: str) -> TaskModel | None:
    """The sensor reading this start task's execution ARN (the operator itself never waits)."""
    if literal(task, "deferrable", False):
        return None
    return first_reader(task, ctx, sensor, key)


def _execution_poll(arn, interval: float, bound: float | None) -> Poll:
    return Poll(
        call=Call(
            service="stepfunctions",
            method="describe_execution",
            request={"executionArn": arn},
            actions=("states:DescribeExecution",),
            name="described",
        ),
        state=("status",),
        running=("RUNNING",),
        failure=FAILED,
        interval=interval,
        max_wait=bound,
        sleep_first=False,
    )


@rule(
    START,
    examples=[
        Example(
            "StepFunctionStartExecutionOperator starts the execution from a LambdaStep",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.step_function import (
    StepFunctionStartExecutionOperator,
)
with DAG("d"):
    StepFunctionStartExecutionOperator(
        task_id="start", state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:etl",
        name="run-{{ ds_nodash }}", state_machine_input={"day": "{{ ds }}"},
    )
""",
            {"start": {"fate": "step", "fidelity": "exact", "steps": ["start"]}},
        ),
        Example(
            "the start operator and the sensor watching its execution become one waiting step",
            _PAIR_DAG,
            {
                "start": {"fate": "step", "fidelity": "exact", "steps": ["start"]},
                "wait": {"fate": "contracted", "steps": []},
            },
        ),
    ],
)
def start_execution(task: TaskModel, ctx: RuleContext) -> Translation:
    """StepFunctionStartExecutionOperator → a LambdaStep whose handler calls
    stepfunctions.start_execution as StepFunctionHook does: stateMachineArn, `name` when given,
    `state_machine_input` as `input` (a dict as JSON text, a string as it is). The XCom (the
    execution ARN) is the output `return_value`; the template fields are the step's inputs.
    Needs states:StartExecution. Like the operator it does not wait; a
    StepFunctionExecutionSensor reading the ARN is contracted into this step, which then polls
    stepfunctions.describe_execution with the sensor's poke_interval and timeout (also
    states:DescribeExecution). deferrable=True waits as the trigger does (waiter_delay ×
    waiter_max_attempts). Manual: is_redrive_execution (RedriveExecution is not translated).
    Approximate: the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=("state_machine_arn", "name", "state_machine_input"))
    if (
        task.kwargs.get("is_redrive_execution") is not None
        and literal(task, "is_redrive_execution", False) is not False
    ):
        return manual(task, ctx, "is_redrive_execution: RedriveExecution is not translated")
    kw.input("state_machine_arn")
    kw.input("name")
    kw.input("state_machine_input")
    arn = Response("started", ("executionArn",))
    differences: list[str] = []
    sensor = _watching(task, ctx, SENSOR, "execution_arn")
    poll = None
    if sensor is not None:
        interval, bound = sensor_wait(sensor, ctx, 60)
        differences += sensor_differences(sensor)
        poll = _execution_poll(arn, interval, bound)
    elif literal(task, "deferrable", False):
        delay = float(literal(task, "waiter_delay", 60))
        poll = _execution_poll(arn, delay, delay * float(literal(task, "waiter_max_attempts", 30)))
    operation = AwsOperation(
        summary="starts an AWS Step Functions execution" + (" and waits for it" if poll else ""),
        inputs=kw.inputs,
        steps=(
            Code(text=START_CODE, services=("stepfunctions",), actions=("states:StartExecution",)),
        ),
        wait=poll,
        outputs=(Output(name="return_value", value=arn),),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


@rule(
    SENSOR,
    examples=[
        Example(
            "a sensor watching a start operator of the DAG is contracted into it",
            _PAIR_DAG,
            {"wait": {"fate": "contracted", "fidelity": "exact", "steps": []}},
        ),
        Example(
            "a sensor on an execution ARN parameter polls describe_execution",
            """
from airflow.sdk import DAG, Param
from airflow.providers.amazon.aws.sensors.step_function import StepFunctionExecutionSensor
with DAG("d", params={"arn": Param("arn:aws:states:x", type="string")}):
    StepFunctionExecutionSensor(task_id="wait", execution_arn="{{ params.arn }}", timeout=300)
""",
            {"wait": {"fate": "step", "fidelity": "exact", "steps": ["wait"]}},
        ),
    ],
)
def execution_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """StepFunctionExecutionSensor → contracted into the StepFunctionStartExecutionOperator
    whose ARN it reads (that step waits), else a step polling stepfunctions.describe_execution
    every `poke_interval` while the execution is RUNNING; FAILED, TIMED_OUT and ABORTED fail the
    step, any other status ends the wait. Bounded by the sensor's `timeout` (beyond 13 minutes a
    processing job: approximate). Needs states:DescribeExecution. Approximate:
    exponential_backoff, soft_fail, and a reader of the XCom key `output` the sensor pushes."""
    watched = watched_task(task, ctx, START, "execution_arn", pairs=_watching)
    if watched is not None:
        return contracted_sensor(watched)
    kw = Kwargs(task, ctx, templated=("execution_arn",))
    arn = kw.input("execution_arn")
    interval, bound = sensor_wait(task, ctx, 60)
    operation = AwsOperation(
        summary="waits for an AWS Step Functions execution to end",
        inputs=kw.inputs,
        steps=(),
        wait=_execution_poll(arn, interval, bound),
    )
    return aws_translation(task, ctx, operation, sensor_differences(task), kwargs=kw)


@rule(
    OUTPUT,
    examples=[
        Example(
            "StepFunctionGetExecutionOutputOperator reads the execution's output in a LambdaStep",
            """
from airflow.sdk import DAG, Param
from airflow.providers.amazon.aws.operators.step_function import (
    StepFunctionGetExecutionOutputOperator,
)
with DAG("d", params={"arn": Param("arn:aws:states:x", type="string")}):
    StepFunctionGetExecutionOutputOperator(task_id="out", execution_arn="{{ params.arn }}")
""",
            {"out": {"fate": "step", "fidelity": "exact", "steps": ["out"]}},
        )
    ],
)
def execution_output(task: TaskModel, ctx: RuleContext) -> Translation:
    """StepFunctionGetExecutionOutputOperator → a LambdaStep whose handler calls
    stepfunctions.describe_execution(executionArn) and returns, as the operator does, the
    `output` parsed from JSON, else the `error` (parsed when it is JSON), else None: the XCom,
    as JSON text in the output `return_value`. Needs states:DescribeExecution. Approximate:
    the shared AWS differences (readers of the XCom among them)."""
    kw = Kwargs(task, ctx, templated=("execution_arn",))
    kw.input("execution_arn")
    operation = AwsOperation(
        summary="reads the output of an AWS Step Functions execution",
        inputs=kw.inputs,
        steps=(
            Code(
                text=OUTPUT_CODE,
                services=("stepfunctions",),
                actions=("states:DescribeExecution",),
            ),
        ),
        outputs=(Output(name="return_value", value=AsJson(Var("result"))),),
        imports=("import json",),
    )
    return aws_translation(task, ctx, operation, kwargs=kw)
