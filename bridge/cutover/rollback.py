"""`bridge cutover --rollback`: undo the last cutover of a DAG file from its sidecar record.

The original bytes come back when the file is as the cutover left it; else the changed line blocks
are reversed, keeping the user's other edits; else it is refused (BRG410) unless forced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bridge.cutover.context import CutoverRefused
from bridge.cutover.files import (
    load_sidecar,
    read_dag,
    sha256,
    sidecar_path,
    unified_diff,
    write_atomic,
)
from bridge.cutover.patch import Hunk, reverse


@dataclass
class RollbackResult:
    path: Path
    tasks: list[str]
    task_id: str
    mode: str  # "exact" | "reversed" | "forced" | "already"
    sidecar: Path
    sidecar_removed: bool
    diff: str
    written: bool
    backup: Path | None = None


def rollback(dag_file: str | Path, *, force: bool = False, dry_run: bool = False) -> RollbackResult:
    """Undo the last cutover of DAG_FILE (see the module doc and docs/cutover.md)."""
    path = Path(dag_file)
    side = sidecar_path(path)
    record = load_sidecar(side)
    if not record or not record.get("cutovers"):
        raise CutoverRefused(
            "BRG410", 0, f"no cutover recorded for {path} (no {side.name} next to it)"
        )
    entry = record["cutovers"][-1]
    current = read_dag(path)
    original = entry["original"]
    backup = None
    if sha256(current) == entry["rewritten_sha256"]:
        mode, text = "exact", original
    elif sha256(current) == entry["original_sha256"]:
        mode, text = "already", current
    else:
        hunks = [Hunk.from_dict(h) for h in entry["hunks"]]
        text, failures = reverse(current, hunks)
        if text is not None:
            problem = _restored_problem(text, path, entry)
            if problem:
                text, failures = None, []
                if not force:
                    raise CutoverRefused("BRG410", 0, problem)
        if text is not None:
            mode = "reversed"
        elif force:
            mode, text = "forced", original
            backup = path.with_name(path.name + ".bridge-rollback.bak")
        else:
            shown = "; ".join(
                f"line {f.hunk.line}: {f.reason} (`{_first_line(f.hunk.rewritten)}`)"
                for f in failures
            )
            raise CutoverRefused(
                "BRG410",
                failures[0].hunk.line if failures else 0,
                f"{path} was edited where the cutover wrote: {shown}; fix it by hand or use "
                "--force to restore the original (your edits are kept in a .bak file)",
            )
    diff = unified_diff(current, text, str(path))
    remaining = record["cutovers"][:-1]
    result = RollbackResult(
        path=path,
        tasks=list(entry["tasks"]),
        task_id=entry["task_id"],
        mode=mode,
        sidecar=side,
        sidecar_removed=not remaining,
        diff=diff,
        written=False,
        backup=backup,
    )
    if dry_run:
        return result
    if backup is not None:
        write_atomic(backup, current)
    if text != current:
        write_atomic(path, text)
    if remaining:
        record["cutovers"] = remaining
        write_atomic(side, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    else:
        side.unlink()
    result.written = True
    return result


def _restored_problem(text: str, path: Path, entry: dict) -> str | None:
    """Why a reversed text is not a rollback: the tasks are not back or the operator remains."""
    from bridge.parse.dag_file import parse_source

    result = parse_source(text, str(path))
    dag = next((d for d in result.dags if d.dag_id == entry["dag_id"]), None)
    if dag is None:
        return f"after reversing the cutover, DAG `{entry['dag_id']}` is not found"
    lost = [t for t in entry["tasks"] if t not in dag.tasks]
    if lost or entry["task_id"] in dag.tasks:
        return (
            "after reversing the cutover, the DAG still lacks "
            + (", ".join(lost) if lost else "nothing")
            + f" and {'still has' if entry['task_id'] in dag.tasks else 'lost'} `{entry['task_id']}`"
        )
    return None


def _first_line(lines: list[str]) -> str:
    text = next((ln.strip() for ln in lines if ln.strip()), "")
    return text[:60]
