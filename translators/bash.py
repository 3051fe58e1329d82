"""Shell tasks: BashOperator and @task.bash → a ProcessingStep that runs the command."""

from __future__ import annotations

from dataclasses import replace

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import ProcessingSpec, ScriptSpec
from translators.common import script_step
from translators.registry import Example, StepDraft, Translation, rule


@rule(
    "airflow.providers.standard.operators.bash.BashOperator",
    examples=[
        Example(
            "a templated command becomes a step whose command joins a pipeline parameter",
            """
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("d", params={"n": 3}):
    BashOperator(task_id="echo", bash_command="echo {{ params.n }}", env={"MODE": "x"})
""",
            {"echo": {"fate": "step", "fidelity": "exact", "steps": ["echo"]}},
        )
    ],
)
def bash(task: TaskModel, ctx: RuleContext) -> Translation:
    """BashOperator → a ProcessingStep whose script runs the command with `bash -c`. Templated
    values become pipeline expressions (`Join`), `env` the job environment (replacing the
    inherited one unless `append_env=True`, as in Airflow). The last line of stdout is the XCom,
    exit code 99 (`skip_on_exit_code`) ends the step without error. A command naming a `.sh`
    file needs that file in the step image (approximate)."""
    differences: list[str] = []
    command, problems = ctx.value(task.kwargs.get("bash_command"), task)
    differences.extend(problems)
    env, problems = ctx.value(task.kwargs.get("env"), task)
    differences.extend(problems)
    if isinstance(command, str) and command.strip().endswith(".sh"):
        differences.append(
            f"`{command.strip()}` is a script file that Airflow reads as a template; copy it "
            "into the step image or inline it"
        )
    if command is None:
        differences.append("the bash_command is not known statically")
    append = task.kwargs.get("append_env")
    cwd = task.kwargs.get("cwd")
    if cwd is not None:
        differences.append("`cwd` refers to the Airflow worker's file system")
    spec = ProcessingSpec(
        script=ScriptSpec(mode="bash", entry=None, body=None),
        call={
            "command": command,
            "env": env,
            "append_env": bool(append and append.value),
            "reads": [],
            "context": [],
        },
        image="bash",
    )
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, [StepDraft("Processing", spec)], differences)


@rule("airflow.sdk.task.bash")
def task_bash(task: TaskModel, ctx: RuleContext) -> Translation:
    """`@task.bash` → a ProcessingStep whose script calls the function (extracted like `@task`)
    and runs the command string it returns with `bash -c`."""
    draft, differences = script_step(task, ctx, mode="bash_callable")
    draft.spec = replace(draft.spec, image="bash")
    fidelity = "approximate" if differences else "exact"
    return Translation("step", fidelity, [draft], differences)
