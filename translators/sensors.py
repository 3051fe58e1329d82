"""Sensors: tasks that wait until something is true.

SageMaker Pipelines has no sensor, wait or sleep step, so no sensor translates exactly. Each family
gets the most faithful of three honest forms, and every one reports BRG205 with its reasoning:

- **a bounded poll step**: a ProcessingStep whose generated script checks the condition every
  `poke_interval` seconds and fails the step after the sensor's `timeout`, as a sensor in `poke`
  mode does. Used when a script can observe the condition from inside AWS: S3 keys, the clock, a
  Python callable, a shell command. The job holds (and bills) an instance while it waits;
  `mode="reschedule"` / `deferrable=True` free Airflow's worker slot, a job cannot. For long
  waits on an event (a file landing in S3), starting the pipeline from an EventBridge rule on the
  event is cheaper: see docs/rules-aws.md.
- **contraction**: when the step the sensor watches already waits for completion (an
  EmrStepSensor after EmrAddStepsOperator: the EMRStep ends when the EMR step ends).
- **manual**: when the condition lives where no step can look: another DAG's run
  (ExternalTaskSensor), or a file path known only at run time (FileSensor; a FileSensor on a
  known path polls its declared input, which the data-flow wiring connects to the task that
  writes it). The task becomes a placeholder step
  that stops the pipeline until it is replaced; the reasoning says what to replace it with.
  A CallbackStep fits a condition that an external system reports (it waits on an SQS message
  answered with SendPipelineExecutionStepSuccess), but it needs that system: the bridge does not
  invent one.

This module holds the S3, command, callable, file and cross-DAG sensors; the clock sensors are in
translators/sensors_time.py, EMR's in translators/emr.py, and the poll step machinery they share
(`sensor_poll`, the generated poll loop) in translators/common.py. Sensors the bridge does not
know (other BaseSensorOperator subclasses) keep the generic placeholder.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from bridge.parse.model import TaskModel
from bridge.translate.expressions import Join
from bridge.translate.files import values as file_values
from bridge.translate.files.folders import locate
from bridge.translate.files.model import Access, Folder, TaskFiles
from bridge.translate.rule_context import RuleContext
from translators.common import (
    POLL_DIFFERENCE,
    POLL_LOOP,
    kwarg_source,
    kwarg_value,
    literal,
    manual,
    poke_settings,
    script_step,
    sensor_poll,
)
from translators.registry import Example, Translation, rule

_STD = "airflow.providers.standard.sensors"
_AWS = "airflow.providers.amazon.aws"

# --------------------------------------------------------------------------------------------
# Generated poll code (see translators/common.py for the loop). Standard library and boto3 only.
# --------------------------------------------------------------------------------------------

_S3_CODE = '''

def wait_for_s3_keys(keys, bucket_name=None, wildcard_match=False, use_regex=False,
                     timeout=604800, poke_interval=60, exponential_backoff=False, max_wait=None):
    """S3KeySensor: wait until every key exists (fnmatch with wildcard_match, re.match with
    use_regex, else an exact key). Keys may be s3://bucket/key URLs."""
    import fnmatch
    import re

    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3")

    def split(key):
        if key.startswith("s3://"):
            bucket, _, rest = key[5:].partition("/")
            return bucket, rest
        if not bucket_name:
            raise SystemExit("no bucket for key %r: give bucket_name or an s3:// URL" % key)
        return bucket_name, key

    def listed(bucket, prefix):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"]

    def exists(key):
        bucket, key = split(key)
        if wildcard_match:
            prefix = re.split(r"[\\[*?]", key, 1)[0]
            return any(fnmatch.fnmatch(k, key) for k in listed(bucket, prefix))
        if use_regex:
            return any(re.match(key, k) for k in listed(bucket, ""))
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    keys = [keys] if isinstance(keys, str) else list(keys)
    return bridge_poll(lambda: all(exists(k) for k in keys), timeout, poke_interval,
                       exponential_backoff, max_wait, "s3 keys %s" % keys)
'''

_BASH_CODE = '''

def wait_for_bash(command, env=None, retry_exit_code=None, timeout=604800, poke_interval=60,
                  exponential_backoff=False, max_wait=None):
    """BashSensor: run the command until it exits 0. With retry_exit_code, any other non-zero
    exit code fails the step at once."""
    import os
    import subprocess

    environment = dict(env) if env else dict(os.environ)

    def check():
        done = subprocess.run(["bash", "-c", command], env=environment, check=False)
        if done.returncode == 0:
            return True
        if retry_exit_code is not None and done.returncode != int(retry_exit_code):
            raise SystemExit("command exited with return code %d" % done.returncode)
        return False

    return bridge_poll(check, timeout, poke_interval, exponential_backoff, max_wait, command)
'''

_FILE_CODE = '''

def wait_for_file(filepath, recursive=False, timeout=604800, poke_interval=60,
                  exponential_backoff=False, max_wait=None):
    """FileSensor: wait until the glob matches a file, or a folder holding a file."""
    import glob
    import os

    def found():
        for path in glob.glob(filepath, recursive=recursive):
            if os.path.isfile(path):
                return True
            for _, _, files in os.walk(path):
                if files:
                    return True
        return False

    return bridge_poll(found, timeout, poke_interval, exponential_backoff, max_wait,
                       "file %s" % filepath)
'''

_POKE_SHIM = '''

class PokeReturnValue:
    """Stand-in for Airflow's PokeReturnValue (the step image has no Airflow)."""

    def __init__(self, is_done, xcom_value=None):
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self):
        return bool(self.is_done)
'''


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@rule(
    f"{_AWS}.sensors.s3.S3KeySensor",
    examples=[
        Example(
            "an S3KeySensor becomes a step that polls for the key until the sensor's timeout",
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
with DAG("d"):
    S3KeySensor(task_id="wait", bucket_key="s3://bucket/{{ ds }}/_SUCCESS", timeout=3600)
""",
            {"wait": {"fate": "step", "fidelity": "approximate", "steps": ["wait"]}},
        )
    ],
)
def s3_key_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """S3KeySensor → a ProcessingStep that polls S3 (head_object, or a listing with
    `wildcard_match` / `use_regex`) every `poke_interval` seconds until every key exists, and
    fails after `timeout` seconds. Templated keys become pipeline expressions. Approximate: the
    job holds an instance while it waits, `check_fn` and `metadata_keys` are not applied, and the
    pipeline's execution role needs s3:GetObject / s3:ListBucket on the bucket. For a long wait
    on a file, an EventBridge rule on the S3 event that starts the pipeline is the cheaper
    design."""
    differences: list[str] = []
    keys = kwarg_value(task, ctx, "bucket_key", differences)
    bucket = kwarg_value(task, ctx, "bucket_name", differences)
    if keys is None:
        return manual(task, ctx, "the bucket_key is not known statically: no key to poll for")
    if task.kwargs.get("check_fn") is not None:
        differences.append("check_fn is not applied: the step only checks that the keys exist")
    if task.kwargs.get("metadata_keys") is not None:
        differences.append("metadata_keys are not read")
    conn = literal(task, "aws_conn_id", "aws_default")
    if conn != "aws_default":
        differences.append(
            f"aws_conn_id `{conn}`: the step uses the pipeline's execution role instead"
        )
    kwargs = {
        "keys": keys,
        "bucket_name": bucket,
        "wildcard_match": bool(literal(task, "wildcard_match", False)),
        "use_regex": bool(literal(task, "use_regex", False)),
    }
    return sensor_poll(
        task,
        ctx,
        "wait_for_s3_keys",
        _S3_CODE,
        kwargs,
        differences,
        "S3KeySensor becomes a bounded poll step (checks S3 every poke_interval until timeout); "
        "an S3 event rule starting the pipeline avoids the waiting instance",
    )


@rule(
    f"{_STD}.bash.BashSensor",
    examples=[
        Example(
            "a BashSensor re-runs its command until it exits 0",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.bash import BashSensor
with DAG("d"):
    BashSensor(task_id="ready", bash_command="test -s /tmp/x", poke_interval=30, timeout=600)
""",
            {"ready": {"fate": "step", "fidelity": "approximate"}},
        )
    ],
)
def bash_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """BashSensor → a poll step that runs the command with `bash -c` until it exits 0; with
    `retry_exit_code`, another non-zero code fails the step at once, as in Airflow. Templated
    commands become pipeline expressions; `env` replaces the environment. The command runs in
    the step image, not on an Airflow worker: paths and tools it uses must exist there."""
    differences: list[str] = []
    command = kwarg_value(task, ctx, "bash_command", differences)
    env = kwarg_value(task, ctx, "env", differences)
    if command is None:
        return manual(task, ctx, "the bash_command is not known statically", *differences)
    differences.append("the command runs in the step image, not on an Airflow worker")
    kwargs = {"command": command, "env": env, "retry_exit_code": literal(task, "retry_exit_code")}
    return sensor_poll(
        task,
        ctx,
        "wait_for_bash",
        _BASH_CODE,
        kwargs,
        differences,
        "BashSensor becomes a poll step re-running the command every poke_interval",
    )


@rule(
    f"{_STD}.python.PythonSensor",
    "airflow.sdk.task.sensor",
    examples=[
        Example(
            "a @task.sensor function is called every poke_interval until it says done",
            """
from airflow.sdk import DAG, PokeReturnValue, task
with DAG("d"):
    @task.sensor(poke_interval=30, timeout=600)
    def ready() -> PokeReturnValue:
        return PokeReturnValue(is_done=True, xcom_value="ok")
    ready()
""",
            {"ready": {"fate": "step", "fidelity": "approximate", "steps": ["ready"]}},
        )
    ],
)
def python_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """PythonSensor / `@task.sensor` → a poll step: the callable is extracted as for `@task`
    (translators.python) and called every `poke_interval` seconds until it returns a true value
    or a PokeReturnValue with `is_done`; its `xcom_value` becomes the step's XCom. A stand-in
    PokeReturnValue replaces Airflow's, so the script needs no Airflow. The check runs in the
    step image, not on an Airflow worker."""
    draft, differences = script_step(task, ctx)
    script = draft.spec.script
    entry, body = script.entry, script.body
    if not entry or not body or task.mapped:
        why = "a mapped sensor" if task.mapped else "the sensor callable cannot be extracted"
        return manual(task, ctx, f"{why}: no poll step is generated", *differences)
    body, shimmed = _shim_poke_return_value(body)
    if shimmed:
        differences = [d for d in differences if "`PokeReturnValue`" not in d]
    settings, more = poke_settings(task, ctx)
    wrapper = f"bridge_sensor_{entry}"
    body = (
        POLL_LOOP
        + (_POKE_SHIM if shimmed else "")
        + "\n\n"
        + body
        + _wrapper_code(wrapper, entry, settings, task.task_id)
    )
    draft.spec = replace(draft.spec, script=replace(script, body=body, entry=wrapper))
    ctx.diagnose(
        "BRG205",
        task.line,
        f"task `{task.task_id}`: the sensor callable runs in a poll step every poke_interval "
        "until it is done or the timeout passes",
    )
    return Translation("step", "approximate", [draft], [POLL_DIFFERENCE, *differences, *more])


def _wrapper_code(wrapper: str, entry: str, settings: dict, task_id: str) -> str:
    return f'''


def {wrapper}(*args, **kwargs):
    """Poke `{entry}` as Airflow's sensor loop does (timeout and poke_interval of the task)."""
    import inspect

    parameters = inspect.signature({entry}).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        kwargs = {{k: v for k, v in kwargs.items() if k in parameters}}
    return bridge_poll(
        lambda: {entry}(*args, **kwargs),
        {settings["timeout"]!r},
        {settings["poke_interval"]!r},
        {settings["exponential_backoff"]!r},
        {settings["max_wait"]!r},
        {f"{entry} of task {task_id}"!r},
    )
'''


def _shim_poke_return_value(code: str) -> tuple[str, bool]:
    """Drop `PokeReturnValue` from Airflow imports in extracted code (a stand-in replaces it)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, False
    lines = code.splitlines(keepends=True)
    edits = []
    for node in tree.body:
        if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow")):
            continue
        names = [a for a in node.names if a.name != "PokeReturnValue"]
        if len(names) == len(node.names):
            continue
        keep = ast.unparse(ast.ImportFrom(node.module, names, node.level)) + "\n" if names else ""
        edits.append((node.lineno - 1, node.end_lineno or node.lineno, keep))
    for start, end, text in reversed(edits):
        lines[start:end] = [text]
    return "".join(lines), bool(edits)


@rule(
    f"{_STD}.filesystem.FileSensor",
    examples=[
        Example(
            "a FileSensor on a file an upstream task writes waits on that step's output",
            """
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
with DAG("d"):
    make = BashOperator(task_id="make", bash_command="echo x > /data/in.csv")
    make >> FileSensor(task_id="wait_file", filepath="/data/in.csv", timeout=600)
""",
            {"wait_file": {"fate": "step", "fidelity": "approximate", "steps": ["wait_file"]}},
        ),
        Example(
            "a FileSensor on a path known only at run time is manual",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.filesystem import FileSensor
with DAG("d"):
    FileSensor(task_id="wait_file", filepath=some_path())
""",
            {"wait_file": {"fate": "step", "fidelity": "manual"}},
        ),
    ],
)
def file_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """FileSensor → a bounded poll step on a declared input. The watched path (a glob, as in
    Airflow) is a file the step reads: the data-flow wiring makes the folder of the task that
    writes it an input of this step (or the copy of the DAG repository's `data/`), and the step
    checks it every `poke_interval` until `timeout`, as FileSensor's poke does (a file, or a
    folder holding at least one file). Approximate: a job sees its inputs as they were when it
    started, so a file that something outside the DAG drops on the worker later never appears —
    when no task of the DAG writes the path the report says so; land such files in S3 and use an
    S3KeySensor. A path known only at run time is manual; an `fs_conn_id` other than
    `fs_default` (whose base path is `/`) is a difference, its base path is not applied."""
    differences: list[str] = []
    path = kwarg_value(task, ctx, "filepath", differences)
    arg = task.kwargs.get("filepath")
    if path is None or arg is None or arg.kind not in ("literal", "template"):
        return manual(
            task, ctx, "the filepath is not known statically: no declared input to wait on"
        )
    written = arg.value if isinstance(arg.value, str) else ""
    if not written.startswith("/"):
        written = "/" + written  # fs_default's base path is "/"
        path = _rooted(path)
    where = locate(file_values.text(written), "any")
    if not isinstance(where, Folder):
        return manual(
            task,
            ctx,
            f"the watched path `{written}` is not a folder tasks can share"
            + (f" ({where})" if isinstance(where, str) else ""),
        )
    conn = literal(task, "fs_conn_id", "fs_default")
    if conn != "fs_default":
        differences.append(f"fs_conn_id `{conn}`: its base path is not applied to the filepath")
    kwargs = {"filepath": path, "recursive": bool(literal(task, "recursive", False))}
    result = sensor_poll(
        task,
        ctx,
        "wait_for_file",
        _FILE_CODE,
        kwargs,
        differences,
        "FileSensor becomes a bounded poll on the step's declared input: a job sees the files of "
        "the tasks before it, not files landing on a worker later",
    )
    access = Access(folder=where, mode="read", path=written, line=task.line)
    draft = result.steps[0]
    script = replace(draft.spec.script, files=TaskFiles(accesses=(access,)))
    draft.spec = replace(draft.spec, script=script)
    return result


def _rooted(path):
    """A relative filepath under fs_default's base path `/` (a pipeline value or a string)."""
    if isinstance(path, str):
        return "/" + path
    return Join(("/", path))


@rule(
    f"{_STD}.external_task.ExternalTaskSensor",
    examples=[
        Example(
            "an ExternalTaskSensor is a cross-DAG dependency: manual",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
with DAG("d"):
    ExternalTaskSensor(task_id="upstream_done", external_dag_id="other", external_task_id="t")
""",
            {"upstream_done": {"fate": "step", "fidelity": "manual"}},
        )
    ],
)
def external_task_sensor(task: TaskModel, ctx: RuleContext) -> Translation:
    """ExternalTaskSensor → manual. It waits for a task of another DAG's run with the same
    logical date; pipeline executions have no logical date to match, and each DAG becomes its
    own pipeline. Chain the pipelines instead: an EventBridge rule on the other pipeline's
    "execution succeeded" event that starts this one (then drop the sensor), or a CallbackStep
    here that a small Lambda on that event completes with SendPipelineExecutionStepSuccess."""
    other = literal(task, "external_dag_id") or kwarg_source(task, "external_dag_id")
    return manual(
        task,
        ctx,
        f"ExternalTaskSensor waits for DAG `{other}`, a separate pipeline without logical dates: "
        "start this pipeline from an EventBridge rule on that pipeline's success, or complete a "
        "CallbackStep from that event",
    )


@rule(
    f"{_STD}.external_task.ExternalTaskMarker",
    examples=[
        Example(
            "an ExternalTaskMarker does nothing when it runs: contracted",
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker
with DAG("d"):
    ExternalTaskMarker(task_id="mark", external_dag_id="child", external_task_id="t")
""",
            {"mark": {"fate": "contracted", "fidelity": "approximate"}},
        )
    ],
)
def external_task_marker(task: TaskModel, ctx: RuleContext) -> Translation:
    """ExternalTaskMarker → contracted. At run time it does nothing (an EmptyOperator); it only
    makes clearing this task in the Airflow UI clear the marked task of another DAG, which
    pipelines have no notion of."""
    return Translation(
        "contracted",
        "approximate",
        [],
        ["clearing it does not clear the external DAG's task: pipelines have no cross-run clear"],
    )
