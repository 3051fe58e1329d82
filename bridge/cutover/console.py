"""What `bridge cutover` prints once a cutover or a rollback is done (or previewed)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bridge.quoting import one_line


def report(done, dag_file: Path, *, rollback: bool, dry_run: bool) -> None:
    """The diff of a dry run, then what changed, where the sidecar is and how to undo it."""
    console = Console(highlight=False, soft_wrap=True)
    if dry_run:
        sys.stdout.write(done.diff)
    if rollback:
        what = {
            "exact": "restored the original file exactly",
            "reversed": "reversed the cutover's edits; your later edits are kept",
            "forced": "restored the original file (forced)",
            "already": "the file was already back to its original",
        }[done.mode]
        console.print(f"[bold]{dag_file}[/]: {what}")
        console.print(f"  tasks back: {', '.join(done.tasks)} (instead of `{done.task_id}`)")
        if done.backup is not None:
            console.print(f"  your edited version: {done.backup}")
        side = "removed" if done.sidecar_removed else "kept (earlier cutovers remain)"
        console.print(f"  sidecar {done.sidecar}: {side}")
    else:
        console.print(
            f"[bold]{dag_file}[/]: {len(done.tasks)} task(s) of DAG {done.dag_id} "
            f"-> [bold]{done.task_id}[/] (pipeline {done.pipeline_name})"
        )
        console.print(f"  tasks replaced: {', '.join(done.tasks)}")
        extra = f"; edges added: {'; '.join(done.explicit_edges)}" if done.explicit_edges else ""
        console.print(escape(f"  dependency statements rewired: {done.edges_rewired}{extra}"))
        if done.standins:
            console.print(
                escape(f"  kept as MigratedTaskOutput (outputs read): {', '.join(done.standins)}")
            )
        for line in done.files_back:
            console.print(escape(one_line(f"  files brought back to the worker: {line}")))
        console.print(f"  manifest (relative to the DAG): {done.manifest}")
        console.print(f"  sidecar: {done.sidecar}  (undo: bridge cutover {dag_file} --rollback)")
    if dry_run:
        console.print("[dim]dry run: nothing written[/]")
