"""Shell tasks: BashOperator and @task.bash → a ProcessingStep that runs the command."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bridge.parse.model import TaskModel
from bridge.translate.context_values import with_run_clock
from bridge.translate.expressions import Join, StepOutput
from bridge.translate.files.bash_paths import bash_files
from bridge.translate.files.model import TaskFiles
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import ConditionSpec, ProcessingSpec, ScriptSpec
from translators.common import script_step
from translators.registry import Example, StepDraft, Translation, rule

# output_processor callables the step runtime applies itself (Airflow calls them on the
# last line of output, the XCom).
JSON_PROCESSORS = {"json.loads"}


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
        ),
        Example(
            "a command that can exit 99 (skip_on_exit_code) gates its downstream steps",
            """
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("d"):
    ready = BashOperator(task_id="ready", bash_command='grep -q ready <<< "$STATUS" || exit 99')
    ready >> BashOperator(task_id="report", bash_command="echo report")
""",
            {
                "ready": {"fidelity": "exact", "steps": ["ready", "ready-gate"]},
                "report": {"fidelity": "exact", "steps": ["report"]},
            },
        ),
    ],
)
def bash(task: TaskModel, ctx: RuleContext) -> Translation:
    """BashOperator → a ProcessingStep whose script runs the command with `bash -c`. Templated
    values become pipeline expressions (`Join`), `env` the job environment (replacing the
    inherited one unless `append_env=True`, as in Airflow). The last line of stdout is the XCom.
    A command that can exit with a `skip_on_exit_code` (99 by default) gets a ConditionStep that
    runs its downstream steps only when it did not (`skip_gate`). A command naming a `.sh` file
    needs that file in the step image (approximate)."""
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
    literal = {"command": command, "env": env, "append_env": bool(append and append.value)}
    processor = task.kwargs.get("output_processor")
    if processor is not None and processor.source in JSON_PROCESSORS:
        literal["output"] = "json"  # the runtime decodes the last line, as Airflow would
    elif processor is not None:
        differences.append(
            f"`output_processor={processor.source}` is not applied: the step's XCom is the "
            "last line of output as text"
        )
    call, problems = with_run_clock(  # the runtime renders `{{ ds }}` & co, derived when empty
        {**literal, "reads": []}, ctx.run_clock
    )
    differences.extend(problems)
    spec = ProcessingSpec(
        script=ScriptSpec(mode="bash", entry=None, body=None, files=bash_task_files(task)),
        call=call,
        image="bash",
    )
    return skip_gate(task, ctx, StepDraft("Processing", spec), differences, command)


def bash_task_files(task: TaskModel) -> TaskFiles:
    """The files the command reads and writes, from its text as the DAG writes it."""
    command, env = task.kwargs.get("bash_command"), task.kwargs.get("env")
    if command is None or command.kind not in ("literal", "template"):
        return TaskFiles()
    if not isinstance(command.value, str):
        return TaskFiles()
    literal_env = None
    if env is not None and env.kind in ("literal", "template") and isinstance(env.value, dict):
        literal_env = {k: v for k, v in env.value.items() if isinstance(v, str)}
    return bash_files(command.value, task.line, env=literal_env)


@rule("airflow.sdk.task.bash")
def task_bash(task: TaskModel, ctx: RuleContext) -> Translation:
    """`@task.bash` → a ProcessingStep whose script calls the function (extracted like `@task`)
    and runs the command string it returns with `bash -c`."""
    draft, differences = script_step(task, ctx, mode="bash_callable")
    draft.spec = replace(draft.spec, image="bash")
    return skip_gate(task, ctx, draft, differences, draft.spec.script.body)


# --- skip_on_exit_code --------------------------------------------------------------------------

DEFAULT_SKIP_EXIT_CODE = 99  # BashOperator's and @task.bash's default
# Trigger rules under which Airflow runs a task after an upstream task was skipped.
_RUNS_AFTER_SKIP = {
    "none_failed",
    "none_failed_min_one_success",
    "all_done",
    "all_done_min_one_success",
    "one_done",
    "always",
    "all_skipped",
}


def skip_gate(
    task: TaskModel, ctx: RuleContext, draft: StepDraft, differences: list[str], command: Any
) -> Translation:
    """Airflow skips a bash task that exits with a `skip_on_exit_code`, and its downstream tasks
    with it. The step then writes `bridge_condition: false` and a ConditionStep after it runs the
    downstream steps only on true (as a short circuit does).

    The default code 99 applies to every bash task, but a gate after every bash step would be
    noise: it is added only when the command (or the @task.bash function) says `exit <code>`, or
    when `skip_on_exit_code` is given explicitly. An ungated step that exits 99 fails, naming why,
    rather than letting its downstream run."""
    codes = skip_codes(task, ctx)
    downstream = ctx.downstream(task.task_id)
    explicit = "skip_on_exit_code" in task.kwargs
    gated = bool(codes and downstream and (explicit or exits_with(command, codes)))
    if gated or not downstream or not codes:  # else: no gate, so a skip exit fails the step
        call = {**(draft.spec.call or {}), "skip_exit_codes": codes}
        draft.spec = replace(draft.spec, call=call)
    fidelity = "approximate" if differences else "exact"
    if not gated:
        return Translation("step", fidelity, [draft], differences)
    late = sorted(
        d
        for d in _descendants(ctx, task.task_id)
        if ctx.dag.tasks[d].trigger_rule in _RUNS_AFTER_SKIP
    )
    if late:
        differences = [
            *differences,
            "after a skip Airflow still runs "
            + ", ".join(f"`{d}` (`{ctx.dag.tasks[d].trigger_rule}`)" for d in late)
            + "; the gate stops every step after it",
        ]
        fidelity = "approximate"
    flag = StepOutput(task.task_id, "bridge_condition")
    gate = StepDraft(
        "Condition",
        ConditionSpec(conditions=[{"op": "==", "left": flag, "right": True}]),
        suffix="-gate",
    )
    exits = {t: (1, "if") for t in downstream}
    return Translation("step", fidelity, [draft, gate], differences, exits)


def skip_codes(task: TaskModel, ctx: RuleContext) -> list[int]:
    """The exit codes that skip the task ([] for `skip_on_exit_code=None` or a value the bridge
    cannot read, which BRG232 reports)."""
    arg = task.kwargs.get("skip_on_exit_code")
    if arg is None:
        return [DEFAULT_SKIP_EXIT_CODE]
    value = arg.value if arg.kind == "literal" else ...
    if value is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return sorted(set(value))
    ctx.diagnose(
        "BRG232",
        task.line,
        f"task `{task.task_id}`: skip_on_exit_code `{arg.source or arg.value}` is not a literal",
    )
    return []


def exits_with(command: Any, codes: list[int]) -> bool:
    """Whether the command's text (the literal parts of a templated one) says `exit <code>`."""
    parts = command.parts if isinstance(command, Join) else (command,)
    text = "\n".join(p for p in parts if isinstance(p, str))
    return any(int(code) in codes for code in re.findall(r"\bexit\s+(\d+)\b", text))


def _descendants(ctx: RuleContext, task_id: str) -> set[str]:
    import networkx as nx

    return nx.descendants(ctx.graph, task_id)
