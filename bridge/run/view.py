"""What `bridge run` and `bridge compare` print: live step progress and the run summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bridge.run.record import FAILED, NOT_EXECUTED, NOT_RUNNABLE, SUCCEEDED, RunRecord, StepRun

STYLE = {
    SUCCEEDED: ("✓", "green"),
    FAILED: ("✗", "red"),
    NOT_EXECUTED: ("–", "dim"),
    NOT_RUNNABLE: ("○", "yellow"),
}


class Progress:
    """A line as each step starts (on a terminal) and one as it ends, with its time."""

    def __init__(self, console: Console):
        self.console = console

    def __call__(self, event: str, step: StepRun) -> None:
        if event == "start":
            if self.console.is_terminal:
                self.console.print(f"  [cyan]▶[/] {step.name} [dim]({step.kind})[/]")
            return
        mark, style = STYLE.get(step.status, ("?", "white"))
        took = f"{step.duration:.2f} s" if step.duration is not None else ""
        extra = " (cached)" if step.cached else ""
        if step.attempts > 1:
            extra += f" ({step.attempts} attempts)"
        if step.branch is not None:
            extra += f" → {'if' if step.branch else 'else'} branch"
        line = f"  [{style}]{mark} {step.name}[/] [dim]{step.status}{extra} {took}[/]"
        if step.reason and step.status != SUCCEEDED:
            line += f"\n      [dim]{_escape(step.reason[:300])}[/]"
        self.console.print(line, highlight=False)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def summary(record: RunRecord) -> Table:
    counts: dict[str, int] = {}
    for step in record.steps.values():
        counts[step.status] = counts.get(step.status, 0) + 1
    table = Table(title=f"{record.engine} run {record.run_id} of {record.name}", show_header=True)
    for column in ("status", "steps"):
        table.add_column(column)
    for status in (SUCCEEDED, FAILED, NOT_EXECUTED, NOT_RUNNABLE):
        if counts.get(status):
            table.add_row(status, str(counts[status]))
    return table


def verdict_line(record: RunRecord) -> str:
    took = f" in {record.duration:.2f} s" if record.duration is not None else ""
    notes = "".join(
        f"\n[yellow]not SageMaker-faithful[/]: {_escape(note)}" for note in record.not_faithful
    )
    return _verdict(record, took) + notes


def _verdict(record: RunRecord, took: str) -> str:
    if record.status == FAILED:
        return f"[red]run failed{took}[/]: {_escape(record.message)}"
    if record.partial:
        blocked = sorted(n for n, s in record.steps.items() if s.status == NOT_RUNNABLE)
        return (
            f"[yellow]partial run{took}[/]: not runnable locally: {', '.join(blocked)} "
            "(their downstream did not run); see the reasons above"
        )
    return f"[green]run succeeded{took}[/]"


VERDICT_STYLE = {"agree": "green", "differ": "red", "not_compared": "yellow"}


def comparison_table(comparison: dict) -> Table:
    """The terminal summary of `bridge compare`: one row per task, differences first."""
    summary = comparison["summary"]
    colour = {"equivalent": "green", "different": "red"}.get(comparison["verdict"], "yellow")
    title = (
        f"{comparison['dag_id']}: [{colour}]{comparison['verdict']}[/] - "
        f"{summary['agree']} agree, {summary['differ']} differ, "
        f"{summary['not_compared']} not compared; files {summary['files_agree']} agree, "
        f"{summary['files_differ']} differ"
    )
    notes = comparison["runs"]["pipeline"].get("not_faithful") or []
    caption = "\n".join(f"pipeline run not SageMaker-faithful: {_escape(n)}" for n in notes)
    table = Table(title=title, caption=caption or None, show_lines=False)
    for column in ("task", "verdict", "Airflow", "pipeline", "time (Airflow / pipeline)", "detail"):
        table.add_column(column, overflow="fold")
    order = {"differ": 0, "not_compared": 1, "agree": 2}
    for task in sorted(comparison["tasks"], key=lambda t: (order[t["verdict"]], t["task_id"])):
        failing = [c["detail"] for c in task["checks"] if not c["ok"]]
        table.add_row(
            task["task_id"],
            f"[{VERDICT_STYLE[task['verdict']]}]{task['verdict']}[/]",
            task["airflow_state"],
            task["pipeline_status"],
            f"{_seconds(task['airflow_duration'])} / {_seconds(task['pipeline_duration'])}",
            _escape("; ".join([*failing, *_files_used(task)]) or task["reason"]),
        )
    for file in comparison["files"]:
        if not file["ok"]:
            table.add_row(
                f"file {file['path']}", "[red]differ[/]", "", "", "", _escape(file["detail"])
            )
    return table


def _files_used(task: dict) -> list[str]:
    """The files a task's steps used outside their jobs: refused reads first, a few at most."""
    used = task.get("file_access") or []
    shown = [f"{'REFUSED ' if a['refused'] else ''}{a['mode']} {a['path']}" for a in used[:3]]
    more = f" (+{len(used) - 3} more)" if len(used) > 3 else ""
    return [f"outside the job: {', '.join(shown)}{more}"] if used else []


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
