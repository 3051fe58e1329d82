"""The `bridge` command line. Heavy modules (libcst, Airflow) are imported inside commands only."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Translate Apache Airflow DAGs into Amazon SageMaker Pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich help rendering costs ~0.25 s of start-up
)

_SKIP_DIRS = {"__pycache__", ".venv", "venv", "node_modules", ".git"}


class GraphFormat(StrEnum):
    text = "text"
    json = "json"
    mermaid = "mermaid"
    dot = "dot"


def collect_files(paths: list[Path]) -> list[Path]:
    """Files named directly, plus every *.py under folders (recursively, sorted, hidden dirs skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*.py")):
                rel = f.relative_to(path).parts[:-1]
                if not any(part in _SKIP_DIRS or part.startswith(".") for part in rel):
                    files.append(f)
        else:
            files.append(path)
    return files


def show_progress(fmt: GraphFormat, n_files: int, *, stdout_tty: bool, stderr_tty: bool) -> bool:
    """A progress bar helps people watching a folder run; it would corrupt JSON or piped output."""
    return fmt is not GraphFormat.json and stdout_tty and stderr_tty and n_files > 1


@app.callback()
def _main() -> None:
    """Translate Apache Airflow DAGs into Amazon SageMaker Pipelines."""


@app.command()
def graph(
    paths: Annotated[
        list[Path],
        typer.Argument(help="DAG files or folders (searched recursively for *.py).", exists=True),
    ],
    fmt: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Output format.")
    ] = GraphFormat.text,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Also load the files with Airflow's DagBag (subprocess) and report differences.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds the --live DagBag load may take.")
    ] = 120.0,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="With --format json: the whole DagModel (arguments, callables, mapping)."
        ),
    ] = False,
) -> None:
    """Print the task graph of every DAG found in PATHS, parsed statically (the files are never run)."""
    from bridge.parse import parse_file
    from bridge.render import to_json, to_pictures, to_text

    files = collect_files(paths)
    results = []
    if show_progress(
        fmt, len(files), stdout_tty=sys.stdout.isatty(), stderr_tty=sys.stderr.isatty()
    ):
        from rich.console import Console
        from rich.progress import track

        iterator = track(
            files, description="Parsing DAG files", transient=True, console=Console(stderr=True)
        )
    else:
        iterator = files
    for f in iterator:
        results.append(parse_file(f))

    live_info = _live_report(results, timeout) if live else None
    if fmt is GraphFormat.json:
        output = to_json(results, live_info, full=full)
    elif fmt is GraphFormat.text:
        output = to_text(results, live_info)
    else:
        output = to_pictures(results, fmt.value)
    print(output)
    failed = any(r.has_errors for r in results)
    if live_info is not None:
        failed = failed or any(v.get("error") or v.get("differences") for v in live_info.values())
    raise typer.Exit(1 if failed else 0)


def _live_report(results, timeout: float) -> dict[str, dict]:
    from bridge.live import diff_dags, load_live

    live = load_live([r.path for r in results], timeout=timeout)
    report: dict[str, dict] = {}
    for r in results:
        if live.error:
            report[r.path] = {"error": live.error, "differences": []}
            continue
        info = live.files.get(r.path, {"dags": [], "error": "not loaded"})
        report[r.path] = {
            "error": info.get("error"),
            "differences": diff_dags([d.summary() for d in r.dags], info["dags"]),
        }
    return report


def main() -> None:
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    # Skip interpreter teardown: freeing a large syntax tree object by object takes up to a second
    # and nothing is left to clean up once output is flushed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    main()
