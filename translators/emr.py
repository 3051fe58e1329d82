"""Amazon EMR: EmrAddStepsOperator → EMRStep, and the operators around it.

A SageMaker EMRStep runs ONE Hadoop-jar step, either on a running cluster (`cluster_id`) or on a
cluster SageMaker creates from `cluster_config` (a RunJobFlow request) for that step alone and
terminates after it. The usual Airflow pattern, create cluster → add steps → step sensor →
terminate, therefore maps onto EMRSteps with `cluster_config`: the create task's
`job_flow_overrides` move into the EMRSteps that use its cluster, and the create, sensor and
terminate tasks are contracted. A cluster the DAG does not create is addressed by its id.
"""

from __future__ import annotations

from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.expressions import Join, StepOutput
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import EMRSpec
from translators.common import literal, manual, referenced_tasks, step_limits, xcom_readers
from translators.registry import Example, StepDraft, Translation, rule

_OPS = "airflow.providers.amazon.aws.operators.emr"
_SENSORS = "airflow.providers.amazon.aws.sensors.emr"
ADD_STEPS = f"{_OPS}.EmrAddStepsOperator"
CREATE = f"{_OPS}.EmrCreateJobFlowOperator"
TERMINATE = f"{_OPS}.EmrTerminateJobFlowOperator"
STEP_SENSOR = f"{_SENSORS}.EmrStepSensor"
JOB_FLOW_SENSOR = f"{_SENSORS}.EmrJobFlowSensor"
# Who may read a create task's XCom (the cluster id) when its cluster moves into EMRSteps.
_CLUSTER_USERS = {ADD_STEPS, TERMINATE, STEP_SENSOR, JOB_FLOW_SENSOR}
# RunJobFlow keys an EMRStep's cluster_config must not hold (the SDK refuses them).
_DROPPED_KEYS = ("Name", "AutoTerminationPolicy")
_DROPPED_INSTANCE_KEYS = ("KeepJobFlowAliveWhenNoSteps", "TerminationProtected")

_EMR_DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator, EmrCreateJobFlowOperator, EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
CLUSTER = {
    "Name": "etl", "ReleaseLabel": "emr-7.1.0",
    "Instances": {"InstanceGroups": [
        {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}
    ], "KeepJobFlowAliveWhenNoSteps": False},
}
SPARK = [{"Name": "calc", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
    "Jar": "command-runner.jar", "Args": ["spark-submit", "s3://code/job.py", "{{ ds }}"]}}]
with DAG("d"):
    create = EmrCreateJobFlowOperator(task_id="create", job_flow_overrides=CLUSTER)
    add = EmrAddStepsOperator(task_id="add", job_flow_id=create.output, steps=SPARK)
    watch = EmrStepSensor(
        task_id="watch", job_flow_id=create.output,
        step_id="{{ task_instance.xcom_pull(task_ids='add')[0] }}",
    )
    stop = EmrTerminateJobFlowOperator(task_id="stop", job_flow_id=create.output)
    create >> add >> watch >> stop
"""


# --------------------------------------------------------------------------------------------
# Analysis shared by the rules (pure: no diagnostics, no parameters)
# --------------------------------------------------------------------------------------------


def raw_cluster_config(task: TaskModel) -> tuple[dict | None, list[str], str | None]:
    """A create task's job_flow_overrides as an EMRStep cluster_config: (config, differences,
    reason it cannot be one)."""
    arg = task.kwargs.get("job_flow_overrides")
    if arg is None or arg.kind not in ("literal", "template") or not isinstance(arg.value, dict):
        source = arg.source if arg is not None else "(none)"
        return None, [], f"job_flow_overrides `{source}` is not a literal dict"
    config = dict(arg.value)
    differences = []
    if config.get("Steps"):
        return None, [], "job_flow_overrides holds Steps, which run when the cluster starts"
    for key in _DROPPED_KEYS:
        if key in config:
            config.pop(key)
            differences.append(f"`{key}` is dropped: SageMaker names and ends the cluster itself")
    config.pop("Steps", None)
    instances = config.get("Instances")
    if not isinstance(instances, dict):
        return None, [], "job_flow_overrides has no Instances (Airflow takes them from emr_conn_id)"
    instances = dict(instances)
    for key in _DROPPED_INSTANCE_KEYS:
        instances.pop(key, None)
    if ("InstanceGroups" in instances) == ("InstanceFleets" in instances):
        return None, [], "Instances must hold exactly one of InstanceGroups / InstanceFleets"
    config["Instances"] = instances
    conn = task.kwargs.get("emr_conn_id")
    if conn is None or not (conn.kind == "literal" and conn.value is None):
        differences.append(
            "the emr_conn_id connection's default job-flow settings are not merged in"
        )
    return config, differences, None


def static_steps(task: TaskModel) -> list[dict] | None:
    """An add-steps task's `steps` when each is a literal Hadoop-jar step, else None."""
    arg = task.kwargs.get("steps")
    if arg is None or arg.kind not in ("literal", "template") or not isinstance(arg.value, list):
        return None
    steps = arg.value
    ok = steps and all(
        isinstance(s, dict)
        and isinstance(s.get("HadoopJarStep"), dict)
        and isinstance(s["HadoopJarStep"].get("Jar"), str)
        for s in steps
    )
    return steps if ok else None


def created_by(task: TaskModel, key: str, ctx: RuleContext) -> str | None:
    """The EmrCreateJobFlowOperator task whose cluster id argument `key` reads, if any."""
    for ref in sorted(referenced_tasks(task.kwargs.get(key))):
        other = ctx.dag.tasks.get(ref)
        if other is not None and other.operator == CREATE:
            return ref
    return None


def cluster_moves(create_id: str, ctx: RuleContext) -> bool:
    """True when the create task's cluster becomes the cluster_config of EMRSteps: its config
    is usable, only EMR operators read its cluster id, and an add-steps task with static steps
    does."""
    config, _, reason = raw_cluster_config(ctx.dag.tasks[create_id])
    if config is None or reason:
        return False
    readers = [ctx.dag.tasks[r] for r in xcom_readers(ctx, create_id)]
    if any(r.operator not in _CLUSTER_USERS for r in readers):
        return False
    return any(
        r.operator == ADD_STEPS
        and created_by(r, "job_flow_id", ctx) == create_id
        and static_steps(r) is not None
        for r in readers
    )


def _emr_steps_of(create_id: str, ctx: RuleContext) -> int:
    return sum(
        len(static_steps(t) or [])
        for t in ctx.dag.tasks.values()
        if t.operator == ADD_STEPS and created_by(t, "job_flow_id", ctx) == create_id
    )


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@rule(
    ADD_STEPS,
    examples=[
        Example(
            "steps on a running cluster become EMRSteps on that cluster id",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
with DAG("d"):
    EmrAddStepsOperator(
        task_id="spark", job_flow_id="j-2AXXXXXXGAPLF", wait_for_completion=True,
        steps=[{"Name": "calc", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
            "Jar": "command-runner.jar", "Args": ["spark-submit", "s3://code/job.py"]}}],
    )
""",
            {"spark": {"fate": "step", "fidelity": "exact", "steps": ["spark"]}},
        ),
        Example(
            "steps on a cluster the DAG creates run on a cluster SageMaker creates for them",
            _EMR_DAG,
            {"add": {"fate": "step", "fidelity": "approximate", "steps": ["add"]}},
        ),
    ],
)
def emr_add_steps(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrAddStepsOperator → one EMRStep per entry of `steps` (HadoopJarStep Jar, Args,
    MainClass, Properties → EMRStepConfig; templates become pipeline expressions), run one after
    the other as EMR runs a cluster's steps. Each EMRStep ends when its EMR step ends.

    The cluster: a literal `job_flow_id` is the `cluster_id` (exact). A `job_flow_id` read from
    an EmrCreateJobFlowOperator (its XCom) becomes that task's `job_flow_overrides` as the
    EMRStep's `cluster_config`: SageMaker creates a cluster for the step and terminates it after
    it (approximate: several steps each get their own cluster). Any other run-time
    `job_flow_id` (a parameter, an upstream XCom) is passed as a pipeline expression
    (approximate). `job_flow_name` (a cluster looked up by name when the task runs) is manual.

    Also approximate: `wait_for_completion=False` without an EmrStepSensor (the EMRStep always
    waits), an ActionOnFailure other than CONTINUE (SageMaker submits the step itself), retries
    (an EMRStep takes no retry policy), and readers of the step ids (the XCom)."""
    steps = static_steps(task)
    if task.kwargs.get("job_flow_name") is not None and task.kwargs.get("job_flow_id") is None:
        return manual(
            task,
            ctx,
            "job_flow_name: the cluster is looked up by name when the task runs; an EMRStep "
            "needs a cluster id or a cluster configuration",
        )
    if steps is None:
        return manual(task, ctx, "the steps are not a literal list of Hadoop-jar steps")
    differences: list[str] = []
    cluster: dict[str, Any] = {}
    create_id = created_by(task, "job_flow_id", ctx)
    if create_id is not None:
        if not cluster_moves(create_id, ctx):
            _, _, reason = raw_cluster_config(ctx.dag.tasks[create_id])
            return manual(
                task,
                ctx,
                f"the cluster comes from `{create_id}`, which is not translated"
                + (f" ({reason})" if reason else ""),
            )
        raw, _, _ = raw_cluster_config(ctx.dag.tasks[create_id])
        config, problems = ctx.literal(raw, task)
        differences.extend(problems)
        cluster["cluster_config"] = config
        differences.append(
            f"SageMaker creates the cluster of `{create_id}` for the EMRStep and terminates it "
            "after the step"
        )
        if len(steps) > 1:
            differences.append(
                f"each of the {len(steps)} EMRSteps runs on its own new cluster: they do not "
                "share HDFS or cluster state"
            )
    else:
        value, problems = ctx.value(task.kwargs.get("job_flow_id"), task)
        if value is None or problems:
            return manual(task, ctx, "the cluster id is not known statically", *problems)
        if isinstance(value, (Join, StepOutput)) or not isinstance(value, str):
            differences.append("the cluster is a run-time value (cluster_id from an expression)")
        cluster["cluster_id"] = value
        role, problems = ctx.value(task.kwargs.get("execution_role_arn"), task)
        differences.extend(problems)
        if role is not None:
            cluster["execution_role_arn"] = role
    if create_id is not None and task.kwargs.get("execution_role_arn") is not None:
        differences.append("execution_role_arn cannot be used with a cluster SageMaker creates")
    wait = literal(task, "wait_for_completion", False)
    watched = any(ctx.dag.tasks[r].operator == STEP_SENSOR for r in xcom_readers(ctx, task.task_id))
    if not wait and not watched:
        differences.append(
            "the EMRStep waits for the EMR step to end; Airflow's task returned once it was "
            "submitted (wait_for_completion=False)"
        )
    others = [
        r for r in xcom_readers(ctx, task.task_id) if ctx.dag.tasks[r].operator != STEP_SENSOR
    ]
    if others:
        differences.append(
            "the EMR step ids (the XCom) are not a step output: "
            + ", ".join(f"`{r}`" for r in others)
            + " cannot read them"
        )
    differences += step_limits(task, ctx, "EMRStep")
    drafts = []
    for i, step in enumerate(steps):
        jar_step, problems = ctx.literal(step["HadoopJarStep"], task)
        differences.extend(problems)
        action = step.get("ActionOnFailure", "CONTINUE")
        if action != "CONTINUE":
            differences.append(
                f"ActionOnFailure {action} of step `{step.get('Name', i)}` is not expressible"
            )
        config = {
            "jar": jar_step.get("Jar"),
            "args": jar_step.get("Args"),
            "main_class": jar_step.get("MainClass"),
            "properties": jar_step.get("Properties"),
        }
        spec = EMRSpec(
            **cluster,
            step=config,
            description=f"{step.get('Name', 'step')} (Airflow task {task.task_id})",
        )
        drafts.append(StepDraft("EMR", spec, suffix=f"-{i + 1}" if len(steps) > 1 else ""))
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, drafts, differences)


@rule(
    CREATE,
    examples=[
        Example(
            "the created cluster moves into the EMRSteps that use it: contracted",
            _EMR_DAG,
            {"create": {"fate": "contracted", "fidelity": "approximate", "steps": []}},
        )
    ],
)
def emr_create_job_flow(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrCreateJobFlowOperator → contracted when only EMR operators use its cluster and an
    EmrAddStepsOperator with literal steps runs on it: its `job_flow_overrides` become the
    `cluster_config` of those EMRSteps (without Name, AutoTerminationPolicy,
    KeepJobFlowAliveWhenNoSteps and TerminationProtected, which SageMaker owns). Approximate:
    the settings of the `emr_conn_id` connection that Airflow merges in are not read, and when
    several EMR steps use the cluster each gets its own. Otherwise (overrides not literal,
    Steps in them, another task reading the cluster id) manual."""
    config, differences, reason = raw_cluster_config(task)
    if reason is not None:
        return manual(task, ctx, f"the cluster cannot become an EMRStep cluster_config: {reason}")
    if not cluster_moves(task.task_id, ctx):
        return manual(
            task,
            ctx,
            "the cluster is used by tasks other than EMR add-steps/sensor/terminate tasks (or "
            "by none): it cannot move into EMRSteps",
        )
    count = _emr_steps_of(task.task_id, ctx)
    differences.insert(
        0,
        "no cluster is created here: SageMaker creates this configuration for each EMRStep "
        "that uses it and terminates it after the step"
        + (f" ({count} EMRSteps, {count} clusters)" if count > 1 else ""),
    )
    return Translation("contracted", "approximate", [], differences)


@rule(
    TERMINATE,
    examples=[
        Example(
            "terminating the created cluster is contracted: SageMaker ends it after the step",
            _EMR_DAG,
            {"stop": {"fate": "contracted", "fidelity": "exact"}},
        )
    ],
)
def emr_terminate_job_flow(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrTerminateJobFlowOperator on a cluster that moved into EMRSteps → contracted (exact):
    SageMaker terminates each cluster it creates when the EMRStep ends. Terminating another
    cluster (a literal or run-time id) is manual."""
    create_id = created_by(task, "job_flow_id", ctx)
    if create_id is not None and cluster_moves(create_id, ctx):
        return Translation("contracted", "exact")
    return manual(
        task,
        ctx,
        "terminating a cluster the pipeline did not create: call EMR TerminateJobFlows from a "
        "step (or keep the cluster's auto-termination policy)",
    )


@rule(
    STEP_SENSOR,
    examples=[
        Example(
            "a step sensor after EmrAddStepsOperator is contracted: the EMRStep waits already",
            _EMR_DAG,
            {"watch": {"fate": "contracted", "fidelity": "exact"}},
        )
    ],
)
def emr_step_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrStepSensor watching a step that an EmrAddStepsOperator of this DAG added → contracted:
    the EMRStep already ends when its EMR step ends, and fails when it fails. Exact when the
    add-steps task has one step and the sensor keeps the default target/failed states;
    otherwise approximate (its downstream tasks wait for every step of that task). A step id
    from elsewhere is manual (BRG205)."""
    adders = [
        t
        for t in sorted(referenced_tasks(task.kwargs.get("step_id")))
        if t in ctx.dag.tasks and ctx.dag.tasks[t].operator == ADD_STEPS
    ]
    if not adders or static_steps(ctx.dag.tasks[adders[0]]) is None:
        return manual(
            task,
            ctx,
            "the step id does not come from an EmrAddStepsOperator of this DAG: no EMRStep waits "
            "for it",
        )
    differences = []
    count = len(static_steps(ctx.dag.tasks[adders[0]]) or [])
    if count > 1:
        differences.append(f"its downstream tasks wait for all {count} EMRSteps of `{adders[0]}`")
    if task.kwargs.get("target_states") is not None or task.kwargs.get("failed_states") is not None:
        differences.append("custom target/failed states: the EMRStep succeeds only on COMPLETED")
    ctx.diagnose(
        "BRG205",
        task.line,
        f"task `{task.task_id}`: contracted, the EMRStep of `{adders[0]}` waits for the EMR step",
    )
    return Translation("contracted", "approximate" if differences else "exact", [], differences)


@rule(
    JOB_FLOW_SENSOR,
    examples=[
        Example(
            "a job-flow sensor on a created cluster is contracted",
            _EMR_DAG.replace("EmrStepSensor\n", "EmrStepSensor, EmrJobFlowSensor\n")
            + "    done = EmrJobFlowSensor(task_id='done', job_flow_id=create.output)\n"
            + "    add >> done\n",
            {"done": {"fate": "contracted", "fidelity": "approximate"}},
        )
    ],
)
def emr_job_flow_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmrJobFlowSensor on a cluster that moved into EMRSteps → contracted (approximate): that
    cluster ends with each EMRStep, so there is no cluster state to wait for; its downstream
    tasks run after the EMRSteps they follow in the DAG. On any other cluster: manual (BRG205)."""
    create_id = created_by(task, "job_flow_id", ctx)
    if create_id is None or not cluster_moves(create_id, ctx):
        return manual(
            task,
            ctx,
            "it waits for a cluster the pipeline does not create: poll EMR DescribeCluster from "
            "a step, or start the pipeline from the cluster's EventBridge state-change event",
        )
    ctx.diagnose(
        "BRG205",
        task.line,
        f"task `{task.task_id}`: contracted, SageMaker terminates the cluster after each EMRStep",
    )
    return Translation(
        "contracted",
        "approximate",
        [],
        ["the cluster ends with each EMRStep that uses it: nothing is left to wait for"],
    )
