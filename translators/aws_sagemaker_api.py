"""SageMaker operators that are API calls rather than jobs (translators/aws_api.py): start and
stop a pipeline execution, delete a model, create an experiment, and the notebook-instance
operators. The job operators (Processing, Training, Model, ...) become native steps in
translators/sagemaker.py.

Starting a pipeline from a LambdaStep is how a pipeline starts a child pipeline; waiting for it
takes longer than a Lambda function may run unless the task bounds the wait.
"""

from __future__ import annotations

from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.aws_api import (
    PRUNE,
    AwsOperation,
    Call,
    Code,
    Input,
    Kwargs,
    Output,
    Poll,
    Response,
    Var,
    Waiter,
    aws_translation,
)
from translators.common import manual
from translators.registry import Example, Translation, rule

_SM = "airflow.providers.amazon.aws.operators.sagemaker"
CHECK_INTERVAL = 30  # the provider's CHECK_INTERVAL_SECOND
WAITER_MAX_ATTEMPTS = 9999
PIPELINE_RUNNING = ("Executing", "Stopping")  # SageMakerHook.pipeline_non_terminal_states
FAILED = ("Failed",)  # SageMakerHook.failed_states
NOTEBOOK_WAITER = (30, 60)  # botocore's notebook-instance waiters: delay, max attempts

# SageMakerHook.describe_pipeline_exec with verbose=True logs the step states first.
LIST_STEPS = '''
def log_steps(sagemaker, arn):
    """Log the execution's step states (first page), as the hook does when verbose."""
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)
    states = {}
    for step in steps["PipelineExecutionSteps"]:
        states[step["StepStatus"]] = states.get(step["StepStatus"], 0) + 1
    running = [s["StepName"] for s in steps["PipelineExecutionSteps"] if s["StepStatus"] == "Executing"]
    print("state of the pipeline steps:", states, "in progress:", running)
'''


def _example(title: str, body: str, task_id: str, fidelity: str = "exact") -> list[Example]:
    operator = body.split("(", 1)[0].strip()
    dag = f'from airflow.sdk import DAG\nfrom {_SM} import {operator}\nwith DAG("d"):\n' + body
    expect = {task_id: {"fate": "step", "fidelity": fidelity, "steps": [task_id]}}
    return [Example(title, dag, expect)]


def _wait_settings(
    kw: Kwargs, task: TaskModel, differences: list[str]
) -> tuple[bool, float, float]:
    """(waits, check interval, max wait in seconds) of an operator with wait_for_completion,
    check_interval, waiter_max_attempts and deferrable."""
    wait = bool(kw.static("wait_for_completion", False))
    if kw.static("deferrable", False):
        wait = True
        differences.append("deferrable: the step itself waits (no triggerer)")
    interval = kw.static("check_interval", CHECK_INTERVAL) or CHECK_INTERVAL
    attempts = kw.static("waiter_max_attempts", WAITER_MAX_ATTEMPTS) or WAITER_MAX_ATTEMPTS
    if not isinstance(interval, (int, float)) or not isinstance(attempts, int):
        kw.problems.append("check_interval / waiter_max_attempts must be numbers")
        return wait, CHECK_INTERVAL, CHECK_INTERVAL * WAITER_MAX_ATTEMPTS
    return wait, float(interval), float(interval) * attempts


def _describe(arn: Any) -> Call:
    return Call(
        service="sagemaker",
        method="describe_pipeline_execution",
        request={"PipelineExecutionArn": arn},
        actions=("sagemaker:DescribePipelineExecution",),
        name="described",
    )


def _pipeline_poll(arn: Any, interval: float, max_wait: float, verbose: bool, **more) -> Poll:
    """SageMakerHook.check_status on a pipeline execution (logging the steps when verbose)."""
    each = None
    if verbose:
        each = Code(
            text="log_steps(sagemaker, arn)", actions=("sagemaker:ListPipelineExecutionSteps",)
        )
    return Poll(
        call=_describe(arn),
        state=("PipelineExecutionStatus",),
        running=PIPELINE_RUNNING,
        failure=FAILED,
        interval=interval,
        max_wait=max_wait,
        reason=("FailureReason",),
        each=each,
        **more,
    )


@rule(
    f"{_SM}.SageMakerStartPipelineOperator",
    examples=_example(
        "SageMakerStartPipelineOperator starts the pipeline from a Lambda function",
        '    SageMakerStartPipelineOperator(task_id="start", pipeline_name="scoring",'
        ' pipeline_params={"day": "{{ ds }}"})\n',
        "start",
    )
    + _example(
        "with wait_for_completion the execution is watched by a processing job",
        '    SageMakerStartPipelineOperator(task_id="run", pipeline_name="scoring",'
        " wait_for_completion=True)\n",
        "run",
        "approximate",
    ),
)
def start_pipeline(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerStartPipelineOperator → StartPipelineExecution as SageMakerHook.start_pipeline
    makes it: PipelineName, PipelineExecutionDisplayName (`display_name`, default
    "airflow-triggered-execution") and PipelineParameters (`pipeline_params` as Name/Value
    pairs). `pipeline_name`, `display_name` and `pipeline_params` are templated (step inputs).
    The execution ARN (the XCom) is the output `return_value`. Needs
    sagemaker:StartPipelineExecution.

    Without wait_for_completion: a LambdaStep, exact but for the shared AWS differences. With
    it (or `deferrable`): the handler then waits as SageMakerHook.check_status does — every
    `check_interval`, DescribePipelineExecution (after ListPipelineExecutionSteps when
    `verbose`), failing on Failed, done on any state but Executing/Stopping (a Stopped execution
    is success, as in Airflow), for at most `waiter_max_attempts` × `check_interval` seconds. A
    wait that fits a Lambda function (13 minutes) stays a LambdaStep; a longer one (the default
    is 9999 × 30 s) runs the same module in a processing job, which holds an instance while it
    waits. Needs sagemaker:DescribePipelineExecution (and ListPipelineExecutionSteps) then."""
    kw = Kwargs(task, ctx, templated=("pipeline_name", "display_name", "pipeline_params"))
    differences: list[str] = []
    name = kw.input("pipeline_name")
    display = kw.input("display_name", "airflow-triggered-execution")
    kw.input("pipeline_params")
    wait, interval, max_wait = _wait_settings(kw, task, differences)
    verbose = bool(kw.static("verbose", True))
    steps: list[Call | Code] = [
        Code(
            text="""
            params = event.get("pipeline_params") or []
            if isinstance(params, dict):
                params = [{"Name": k, "Value": v} for k, v in params.items()]
            """
        ),
        Call(
            service="sagemaker",
            method="start_pipeline_execution",
            request={
                "PipelineName": name,
                "PipelineExecutionDisplayName": display,
                "PipelineParameters": Var("params"),
            },
            actions=("sagemaker:StartPipelineExecution",),
            name="started",
        ),
        Code(text='arn = started["PipelineExecutionArn"]\nprint("started", arn)'),
    ]
    operation = AwsOperation(
        summary="starts a SageMaker pipeline execution"
        + (" and waits for it to end" if wait else ""),
        inputs=kw.inputs,
        steps=tuple(steps),
        wait=_pipeline_poll(Var("arn"), interval, max_wait, verbose) if wait else None,
        outputs=(Output(name="return_value", value=Var("arn")),),
        helpers=LIST_STEPS if wait and verbose else "",
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


STOP_PIPELINE = """
arn = event["pipeline_exec_arn"]
for retries in reversed(range(5)):
    try:
        sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)
    except ClientError as error:
        code, message = error.response["Error"]["Code"], error.response["Error"]["Message"]
        if code == "ConflictException" and retries:
            print(f"conflict stopping {arn}, {retries} more tries: {message}")
            time.sleep(0.3)
            continue
        if not event["fail_if_not_running"] and "Only pipelines with 'Executing' status can be stopped" in message:
            print(f"cannot stop {arn}, it is not running: {message}")
            break
        raise
    else:
        break
described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
state = described["PipelineExecutionStatus"]
"""


@rule(
    f"{_SM}.SageMakerStopPipelineOperator",
    examples=_example(
        "SageMakerStopPipelineOperator stops the execution from a Lambda function",
        '    SageMakerStopPipelineOperator(task_id="stop",'
        ' pipeline_exec_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e1")\n',
        "stop",
    ),
)
def stop_pipeline(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerStopPipelineOperator → a LambdaStep doing what SageMakerHook.stop_pipeline does:
    StopPipelineExecution, retried up to 4 times 0.3 s apart on ConflictException; an execution
    that is not running is a warning unless `fail_if_not_running`; then
    DescribePipelineExecution. The status (the XCom) is the output `return_value`.
    `pipeline_exec_arn` is templated (an XCom of the start task works). With
    wait_for_completion/deferrable and a still-stopping execution it then waits as the start
    rule does (bounded: LambdaStep; longer: a processing job). Needs
    sagemaker:StopPipelineExecution, sagemaker:DescribePipelineExecution. Exact without a
    wait, but for the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=("pipeline_exec_arn",))
    differences: list[str] = []
    kw.input("pipeline_exec_arn")
    kw.input("fail_if_not_running", False)
    wait, interval, max_wait = _wait_settings(kw, task, differences)
    verbose = bool(kw.static("verbose", True))
    steps: list[Call | Code] = [
        Code(
            text=STOP_PIPELINE,
            services=("sagemaker",),
            actions=("sagemaker:StopPipelineExecution", "sagemaker:DescribePipelineExecution"),
        )
    ]
    poll = None
    if wait:  # only while the execution is still stopping, as the operator returns at once
        poll = _pipeline_poll(Var("arn"), interval, max_wait, verbose, only_while=Var("state"))
    operation = AwsOperation(
        summary="stops a SageMaker pipeline execution",
        inputs=kw.inputs,
        steps=tuple(steps),
        wait=poll,
        outputs=(Output(name="return_value", value=Var("state")),),
        helpers=LIST_STEPS if wait and verbose else "",
        imports=("from botocore.exceptions import ClientError", "import time"),
    )
    return aws_translation(task, ctx, operation, differences, kwargs=kw)


@rule(
    f"{_SM}.SageMakerDeleteModelOperator",
    examples=_example(
        "SageMakerDeleteModelOperator deletes the model from a Lambda function",
        '    SageMakerDeleteModelOperator(task_id="drop_model", config={"ModelName": "churn-v1"})\n',
        "drop_model",
    ),
)
def delete_model(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerDeleteModelOperator → a LambdaStep calling DeleteModel with `config["ModelName"]`
    (templated: a step input). Needs sagemaker:DeleteModel. Exact but for the shared AWS
    differences. A config that is not a dict literal is manual."""
    kw = Kwargs(task, ctx, templated=("config",))
    config = kw.value("config")
    if not isinstance(config, dict) or "ModelName" not in config:
        return manual(task, ctx, "config is not a dict literal with ModelName")
    kw.inputs["model_name"] = config["ModelName"]
    operation = AwsOperation(
        summary="deletes a SageMaker model",
        inputs=kw.inputs,
        steps=(
            Call(
                service="sagemaker",
                method="delete_model",
                request={"ModelName": Input("model_name")},
                actions=("sagemaker:DeleteModel",),
            ),
        ),
    )
    return aws_translation(task, ctx, operation, kwargs=kw)


@rule(
    f"{_SM}.SageMakerCreateExperimentOperator",
    examples=_example(
        "SageMakerCreateExperimentOperator creates the experiment from a Lambda function",
        '    SageMakerCreateExperimentOperator(task_id="exp", name="churn-{{ ds_nodash }}",'
        ' description="daily", tags={"team": "ml"})\n',
        "exp",
    ),
)
def create_experiment(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerCreateExperimentOperator → a LambdaStep calling CreateExperiment with
    ExperimentName, Description (when given) and Tags (`tags` as Key/Value pairs, [] when
    none); all three are templated (step inputs). The experiment ARN (the XCom) is the output
    `return_value`. Needs sagemaker:CreateExperiment (and sagemaker:AddTags with tags). Exact
    but for the shared AWS differences."""
    kw = Kwargs(task, ctx, templated=("name", "description", "tags"))
    request = {
        "ExperimentName": kw.input("name"),
        "Description": kw.input("description"),
        "Tags": Var("tags"),
    }
    kw.input("tags")
    actions = ("sagemaker:CreateExperiment",) + (("sagemaker:AddTags",) if kw.given("tags") else ())
    operation = AwsOperation(
        summary="creates a SageMaker experiment",
        inputs=kw.inputs,
        steps=(
            Code(
                text="""
                tags = event.get("tags") or {}
                if isinstance(tags, dict):
                    tags = [{"Key": k, "Value": v} for k, v in tags.items()]
                """
            ),
            Call(
                service="sagemaker",
                method="create_experiment",
                request=request,
                actions=actions,
                name="created",
                prune=True,
            ),
        ),
        outputs=(Output(name="return_value", value=Response("created", ("ExperimentArn",))),),
    )
    return aws_translation(task, ctx, operation, kwargs=kw)


# ---- notebook instances --------------------------------------------------------------------

_NOTEBOOK_WAITERS = {
    "create": "notebook_instance_in_service",
    "start": "notebook_instance_in_service",
    "stop": "notebook_instance_stopped",
    "delete": "notebook_instance_deleted",
}


def _notebook_wait(kw: Kwargs, what: str, name: Any) -> Waiter | None:
    """botocore's waiter (30 s × 60: longer than a Lambda function may run) when the operator
    waits (wait_for_completion, default True)."""
    if not kw.static("wait_for_completion", True):
        return None
    delay, attempts = NOTEBOOK_WAITER
    return Waiter(
        service="sagemaker",
        waiter=_NOTEBOOK_WAITERS[what],
        request={"NotebookInstanceName": name},
        delay=delay,
        max_attempts=attempts,
        actions=("sagemaker:DescribeNotebookInstance",),
    )


@rule(
    f"{_SM}.SageMakerCreateNotebookOperator",
    examples=_example(
        "SageMakerCreateNotebookOperator without waiting is one call from a Lambda function",
        '    SageMakerCreateNotebookOperator(task_id="nb", instance_name="lab",'
        ' instance_type="ml.t3.medium", role_arn="arn:aws:iam::1:role/sm",'
        " wait_for_completion=False)\n",
        "nb",
    ),
)
def create_notebook(task: TaskModel, ctx: RuleContext) -> Translation:
    """SageMakerCreateNotebookOperator → CreateNotebookInstance with the request the operator
    builds (name, type, role, volume size and KMS key, lifecycle config, internet and root
    access, then `create_instance_kwargs` merged over them with `tags` as Key/Value pairs;
    None members dropped). The notebook ARN (the XCom) is the output `return_value`. With
    wait_for_completion (the default) it then waits with botocore's
    notebook_instance_in_service waiter (up to 30 min), which does not fit a Lambda function:
    a processing job runs the same module (approximate). Needs
    sagemaker:CreateNotebookInstance, iam:PassRole (and DescribeNotebookInstance to wait)."""
    names = (
        "instance_name",
        "instance_type",
        "role_arn",
        "volume_size_in_gb",
        "volume_kms_key_id",
        "lifecycle_config_name",
        "direct_internet_access",
        "root_access",
        "create_instance_kwargs",
    )
    kw = Kwargs(task, ctx, templated=names)
    for name in names:
        kw.input(name)
    text = """
        request = {
            "NotebookInstanceName": event["instance_name"],
            "InstanceType": event["instance_type"],
            "RoleArn": event["role_arn"],
            "VolumeSizeInGB": event.get("volume_size_in_gb"),
            "KmsKeyId": event.get("volume_kms_key_id"),
            "LifecycleConfigName": event.get("lifecycle_config_name"),
            "DirectInternetAccess": event.get("direct_internet_access"),
            "RootAccess": event.get("root_access"),
        }
        more = dict(event.get("create_instance_kwargs") or {})
        if isinstance(more.get("tags"), dict):
            more["tags"] = [{"Key": k, "Value": v} for k, v in more["tags"].items()]
        request.update(more)
        created = sagemaker.create_notebook_instance(**without_none(request))
        """
    operation = AwsOperation(
        summary="creates a SageMaker notebook instance",
        inputs=kw.inputs,
        steps=(
            Code(
                text=text,
                services=("sagemaker",),
                actions=("sagemaker:CreateNotebookInstance", "iam:PassRole"),
            ),
        ),
        wait=_notebook_wait(kw, "create", Input("instance_name")),
        outputs=(Output(name="return_value", value=Response("created", ("NotebookInstanceArn",))),),
        helpers=PRUNE,
    )
    return aws_translation(task, ctx, operation, kwargs=kw)


def _notebook_call(what: str, method: str, action: str):
    def translate(task: TaskModel, ctx: RuleContext) -> Translation:
        kw = Kwargs(task, ctx, templated=("instance_name", "wait_for_completion"))
        name = kw.input("instance_name")
        operation = AwsOperation(
            summary=f"{what}s a SageMaker notebook instance",
            inputs=kw.inputs,
            steps=(
                Call(
                    service="sagemaker",
                    method=method,
                    request={"NotebookInstanceName": name},
                    actions=(action,),
                ),
            ),
            wait=_notebook_wait(kw, what, name),
        )
        return aws_translation(task, ctx, operation, kwargs=kw)

    translate.__doc__ = (
        f"SageMaker{what.title()}NotebookOperator → {method.title().replace('_', '')} on "
        f"`instance_name` (templated: a step input). Needs {action}. Without "
        "wait_for_completion a LambdaStep, exact but for the shared AWS differences; with it "
        "(the default) botocore's waiter (up to 30 min) does not fit a Lambda function, so a "
        "processing job runs the same module and waits (approximate; needs "
        "sagemaker:DescribeNotebookInstance)."
    )
    return translate


def _notebook_example(operator: str) -> list[Example]:
    return _example(
        f"{operator} without waiting is one call from a Lambda function",
        f'    {operator}(task_id="nb", instance_name="lab", wait_for_completion=False)\n',
        "nb",
    )


start_notebook = rule(
    f"{_SM}.SageMakerStartNoteBookOperator",
    name="start_notebook",
    examples=_notebook_example("SageMakerStartNoteBookOperator"),
)(_notebook_call("start", "start_notebook_instance", "sagemaker:StartNotebookInstance"))
stop_notebook = rule(
    f"{_SM}.SageMakerStopNotebookOperator",
    name="stop_notebook",
    examples=_notebook_example("SageMakerStopNotebookOperator"),
)(_notebook_call("stop", "stop_notebook_instance", "sagemaker:StopNotebookInstance"))
delete_notebook = rule(
    f"{_SM}.SageMakerDeleteNotebookOperator",
    name="delete_notebook",
    examples=_notebook_example("SageMakerDeleteNotebookOperator"),
)(_notebook_call("delete", "delete_notebook_instance", "sagemaker:DeleteNotebookInstance"))
