"""What the commands print: paths as the user would type them, diagnostics on one line, and
the per-DAG summary of `bridge translate`."""

from __future__ import annotations

import sys
from pathlib import Path

from bridge.quoting import one_line


def shown(path: str | Path) -> str:
    """A path as the user would type it: relative when it lies under the working directory.
    Display only; every path the commands use is absolute (resolved where it was parsed)."""
    path = Path(path)
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def diagnostic_line(path: str, d) -> str:
    """`file:line: CODE severity: message` on one line; text from a DAG file cannot move the
    cursor, colour the terminal or forge a line of its own."""
    return one_line(f"{path}:{d.line}: {d.code} {d.severity}: {d.message}")


def print_outcomes(outcomes, verdicts: dict[str, dict], *, strict: bool) -> bool:
    """Each file's diagnostics and each DAG's line (counts, validation); True if any failed:
    an error, an invalid definition, or with `strict` a manual task."""
    failed = False
    for o in outcomes:
        for d in o.diagnostics:
            print(diagnostic_line(o.path, d), file=sys.stderr)
        failed = failed or any(d.severity == "error" for d in o.diagnostics)
        for dag in o.dags:
            for d in dag.diagnostics:
                if d.severity != "info":
                    print(diagnostic_line(o.path, d), file=sys.stderr)
            failed = failed or any(d.severity == "error" for d in dag.diagnostics)
            if dag.folder is None:
                continue
            c = dag.counts
            verdict = verdicts.get(str(dag.folder))
            status = ""
            if verdict is not None and verdict.get("skipped"):
                # The translation is written; only the offline build is missing (plain install).
                print(f"{shown(dag.folder)}: BRG215 warning: {verdict['skipped']}", file=sys.stderr)
                status = " (not validated)"
            elif verdict is not None:
                status = (
                    " valid" if verdict["ok"] else " INVALID: " + "; ".join(verdict["problems"])
                )
                failed = failed or not verdict["ok"]
            strict_fail = strict and c["manual"] > 0
            failed = failed or strict_fail
            print(
                f"{shown(dag.folder)}: {sum(c.values())} tasks, {c['exact']} exact, "
                f"{c['approximate']} approximate, {c['manual']} manual{status}"
            )
    return failed
