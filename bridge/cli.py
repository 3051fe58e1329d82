"""The `bridge` command line. Heavy modules (libcst, Airflow) are imported inside commands only."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bridge.console import shown
from bridge.parse.discover import collect_files
from bridge.quoting import one_line

app = typer.Typer(
    help="Translate Apache Airflow DAGs into Amazon SageMaker Pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich help rendering costs ~0.25 s of start-up
)


class GraphFormat(StrEnum):
    text = "text"
    json = "json"
    mermaid = "mermaid"
    dot = "dot"


def show_progress(fmt: str, n_files: int, *, stdout_tty: bool, stderr_tty: bool) -> bool:
    """A progress bar helps people watching a folder run; it would corrupt JSON or piped output."""
    return fmt != "json" and stdout_tty and stderr_tty and n_files > 1


@contextmanager
def progress_bar(description: str, n_files: int, fmt: str) -> Iterator[Callable[[int], None]]:
    """A callback for each file done: a transient bar on stderr when show_progress says so."""
    if not show_progress(
        fmt, n_files, stdout_tty=sys.stdout.isatty(), stderr_tty=sys.stderr.isatty()
    ):
        yield lambda _index: None
        return
    from rich.console import Console
    from rich.progress import Progress

    columns = Progress.get_default_columns()
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=n_files)
        yield lambda _index: bar.advance(task)


# Folder runs: one worker process per core, each file within its own time limit (BRG225).
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs", "-j", min=1, help="Files worked on at once (default: one per available core)."
    ),
]
FileTimeout = Annotated[
    float,
    typer.Option(
        envvar="BRIDGE_FILE_TIMEOUT",
        min=0.001,
        help="Seconds each file of a run over several files may take (parse, translate, write); "
        "a file past it is stopped (BRG225) and the run goes on.",
    ),
]


def _jobs(jobs: int | None) -> int:
    from bridge.file_pool import available_cores

    return jobs or available_cores()


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
    jobs: Jobs = None,
    file_timeout: FileTimeout = 300.0,
) -> None:
    """Print the task graph of every DAG found in PATHS, parsed statically (the files are never run)."""
    from bridge.parse.parallel import parse_files_parallel
    from bridge.parse.render import to_json, to_pictures, to_text

    files = collect_files(paths)
    with progress_bar("Parsing DAG files", len(files), fmt) as on_done:
        # a time and memory budget per file (the parse's), in parallel over several files
        results = parse_files_parallel(
            files, jobs=_jobs(jobs), timeout=file_timeout, on_done=on_done
        )

    live_info = None
    if live:
        from bridge.parse.live import live_report

        live_info = live_report(results, timeout)
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


@app.command()
def translate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="DAG files or folders (searched recursively for *.py).", exists=True),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder.", resolve_path=True)
    ] = Path("out"),
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="bridge.toml or pyproject.toml with [tool.bridge]."),
    ] = None,
    rules: Annotated[
        list[str] | None,
        typer.Option("--rules", help="Python module with extra or overriding rules (repeatable)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any task is a manual placeholder.")
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Build each definition offline and check it (needs the SageMaker SDK).",
        ),
    ] = True,
    jobs: Jobs = None,
    file_timeout: FileTimeout = 300.0,
) -> None:
    """Translate every DAG in PATHS into OUT/<dag_id>/ (pipeline.py, steps/, manifest.json,
    definition.json, REPORT.md)."""
    from bridge.console import print_outcomes
    from bridge.emit.parallel import translate_files

    config, registry = _setup(config_file, rules, paths)
    files = collect_files(paths)
    validation = None
    if validate:  # started first: its imports (the SageMaker SDK) overlap the translation
        from bridge.emit.validate import Validation

        validation = Validation.start(children=min(_jobs(jobs), len(files)) or 1)
    with progress_bar("Translating DAG files", len(files), "text") as on_done:
        outcomes = translate_files(
            files, registry, config, out, jobs=_jobs(jobs), timeout=file_timeout, on_done=on_done
        )
    folders = [d.folder for o in outcomes for d in o.dags if d.folder is not None]
    verdicts = {}
    if validation is not None and folders:
        tasks = {d.folder: d.task_ids for o in outcomes for d in o.dags if d.folder is not None}
        verdicts = validation.verdicts(folders, tasks=tasks)
    elif validation is not None:
        validation.cancel()
    raise typer.Exit(1 if print_outcomes(outcomes, verdicts, strict=strict) else 0)


@app.command("validate")
def validate_cmd(
    folders: Annotated[
        list[Path],
        typer.Argument(help="Output folders written by translate.", exists=True, resolve_path=True),
    ],
) -> None:
    """Build each emitted pipeline offline (no AWS), write definition.json and check it: the
    dependency closure, the SageMaker-operator round trip, every task in the manifest."""
    from bridge.emit.validate import validate_folders

    verdicts = validate_folders(folders)
    for folder, verdict in verdicts.items():
        if verdict.get("skipped"):
            print(f"{folder}: BRG215 error: {verdict['skipped']}", file=sys.stderr)
            raise typer.Exit(2)
        print(f"{shown(folder)}: " + ("valid" if verdict["ok"] else "INVALID"))
        for problem in verdict["problems"]:
            print(f"  BRG209 {problem}")
    raise typer.Exit(0 if all(v["ok"] for v in verdicts.values()) else 1)


class Engine(StrEnum):
    local = "local"
    sagemaker_local = "sagemaker-local"
    aws = "aws"


def parse_assignments(items: list[str] | None, option: str) -> dict[str, str]:
    """`NAME=VALUE` pairs of a repeated option."""
    pairs = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"BRG301 error: {option} {item!r}: expected NAME=VALUE", file=sys.stderr)
            raise typer.Exit(2)
        pairs[name] = value
    return pairs


def parse_seeds(items: list[str] | None) -> dict[str, str]:
    """`--s3 URI=PATH` pairs, PATH made absolute here so later stages need no working directory."""
    return {
        uri: str(Path(path).resolve()) for uri, path in parse_assignments(items, "--s3").items()
    }


@app.command()
def run(
    folder: Annotated[
        Path,
        typer.Argument(
            help="An output folder written by translate (OUT/<dag_id>).", resolve_path=True
        ),
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE for a pipeline parameter.")
    ] = None,
    engine: Annotated[Engine, typer.Option(help="Where the pipeline runs.")] = Engine.local,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Escape hatch: a folder every step shares as $BRIDGE_DATA_DIR. No SageMaker "
            "job has one: the run is marked not SageMaker-faithful.",
            resolve_path=True,
        ),
    ] = None,
    isolation: Annotated[
        bool,
        typer.Option(
            "--isolation/--no-isolation",
            help="Run each Processing/Training script in its own sandbox (bubblewrap), as in a "
            "job container. --no-isolation: on this machine, marked not isolated.",
        ),
    ] = True,
    s3: Annotated[
        list[str] | None,
        typer.Option("--s3", help="URI=PATH: put a local file or folder in the object store."),
    ] = None,
    step_timeout: Annotated[
        float, typer.Option(help="Seconds a step may run when its job sets no maximum.")
    ] = 3600.0,
    runs_dir: Annotated[
        Path | None,
        typer.Option(help="Where run folders go (default FOLDER/runs).", resolve_path=True),
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="Execution role ARN for --engine sagemaker-local/aws.")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            help="SageMaker and S3 endpoint for --engine aws, e.g. bridge serve's "
            "(default: boto3's AWS_ENDPOINT_URL_SAGEMAKER / _S3 / AWS_ENDPOINT_URL)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the RunRecord as JSON.")] = False,
) -> None:
    """Run a translated pipeline: locally (no Docker, no AWS), in SageMaker local mode, or in AWS.
    Exit 0: succeeded; 1: failed; 2: could not start; 3: succeeded but partial."""
    import json

    from rich.console import Console

    from bridge.run.engine import RunError, RunOptions, run_local
    from bridge.run.view import Progress, verdict_line

    console = Console(stderr=as_json, highlight=False)
    parameters = parse_assignments(param, "--param")
    try:
        if engine is Engine.local:
            if endpoint_url is not None:
                raise RunError("BRG312", "--endpoint-url is for --engine aws, not --engine local")
            options = RunOptions(
                parameters=parameters,
                run_root=runs_dir,
                step_timeout=step_timeout,
                data_dir=data_dir,
                isolation=isolation,
                seeds=parse_seeds(s3),
                on_event=Progress(console),
            )
            record = run_local(folder, options)
        else:
            from bridge.run.sagemaker_engines import run_with_sdk

            record = run_with_sdk(
                folder, engine.value, parameters, role=role, endpoint_url=endpoint_url
            )
    except RunError as exc:
        print(one_line(f"{exc.code} error: {exc.message}"), file=sys.stderr)
        raise typer.Exit(2) from None
    console.print(verdict_line(record))
    console.print(f"[dim]record: {shown(Path(record.folder) / 'run.json')}[/]")
    if as_json:
        print(json.dumps(record.to_dict(), indent=2, sort_keys=True, default=str))
    raise typer.Exit(1 if record.status != "Succeeded" else 3 if record.partial else 0)


@app.command()
def compare(
    dag_files: Annotated[
        list[Path], typer.Argument(help="DAG files.", exists=True, dir_okay=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Translation output folder.", resolve_path=True)
    ] = Path("out"),
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE for a DAG param.")
    ] = None,
    logical_date: Annotated[
        str | None, typer.Option(help="ISO date of both runs (default: today 00:00 UTC).")
    ] = None,
    input_dir: Annotated[
        Path | None,
        typer.Option(
            help="Input data folder (default: the `data` folder next to the DAG).",
            resolve_path=True,
        ),
    ] = None,
    tolerance: Annotated[
        float, typer.Option(help="Relative tolerance for numbers in XComs, JSON and CSV.")
    ] = 1e-9,
    reuse: Annotated[
        bool, typer.Option(help="Use OUT/<dag_id> as translated before (e.g. edited by hand).")
    ] = False,
    s3: Annotated[
        list[str] | None,
        typer.Option("--s3", help="URI=PATH: put a local file or folder in the object store."),
    ] = None,
    step_timeout: Annotated[float, typer.Option(help="Seconds a pipeline step may run.")] = 3600.0,
    isolation: Annotated[
        bool,
        typer.Option(
            "--isolation/--no-isolation",
            help="Run the pipeline's script jobs in sandboxes (as `bridge run`).",
        ),
    ] = True,
) -> None:
    """Run each DAG under Airflow (dag.test) and its translation with `bridge run`, on the same
    inputs, and compare them task by task: OUT/<dag_id>/compare/<stamp>/compare.{json,html}.
    Exit 0 only when everything compared agrees."""
    from rich.console import Console

    from bridge.compare.side_by_side import CompareOptions, compare_dags
    from bridge.run.engine import RunError
    from bridge.run.view import Progress, comparison_table

    console = Console(highlight=False)
    options = CompareOptions(
        out=out,
        params=parse_assignments(param, "--param"),
        logical_date=logical_date,
        input_dir=input_dir,
        tolerance=tolerance,
        reuse=reuse,
        step_timeout=step_timeout,
        isolation=isolation,
        seeds=parse_seeds(s3),
        on_event=Progress(console),
    )
    try:
        comparisons = compare_dags(dag_files, options)
    except RunError as exc:
        print(one_line(f"{exc.code} error: {exc.message}"), file=sys.stderr)
        raise typer.Exit(2) from None
    for comparison in comparisons:
        console.print(comparison_table(comparison))
        console.print(f"[dim]report: {shown(Path(comparison['folder']) / 'compare.html')}[/]")
    raise typer.Exit(0 if all(c["ok"] for c in comparisons) else 1)


@app.command()
def serve(
    out: Annotated[
        list[Path] | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder of `bridge translate` outputs (repeatable; default: out, if present).",
            exists=True,
            file_okay=False,
            resolve_path=True,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (other than loopback: reachable by others).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
    state: Annotated[
        Path,
        typer.Option(help="Run folders and the object store (S3) go here.", resolve_path=True),
    ] = Path(".bridge-serve"),
    region: Annotated[str, typer.Option(help="Region in the ARNs.")] = "us-east-1",
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Escape hatch: a folder every step shares as $BRIDGE_DATA_DIR (runs are marked "
            "not SageMaker-faithful).",
            resolve_path=True,
        ),
    ] = None,
    step_timeout: Annotated[
        float, typer.Option(help="Seconds a step may run when its job sets no maximum.")
    ] = 3600.0,
    isolation: Annotated[
        bool,
        typer.Option(
            "--isolation/--no-isolation",
            help="Run script jobs in sandboxes (as `bridge run`); --no-isolation marks runs.",
        ),
    ] = True,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="BRIDGE_SERVE_TOKEN",
            help="The token clients send as their AWS access key id (16-128 letters, digits "
            "or _; default: a new one, printed).",
            show_default=False,
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Answer requests without the token: anyone who can reach the port can run "
            "commands as you.",
        ),
    ] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Another Host header name to answer (repeatable; localhost, 127.0.0.1 and the "
            "--host address always are).",
        ),
    ] = None,
) -> None:
    """Answer the SageMaker Pipelines API (and S3) on this machine, running executions with the
    local runner: point boto3 or the Airflow operator at it. It runs the commands its clients
    submit: only requests with its token (the AWS access key id) addressed to this machine are
    answered. Runs until Ctrl-C."""
    from bridge.serve.access import TOKEN
    from bridge.serve.console import run_until_stopped
    from bridge.serve.server import serve as start_server

    if token is not None and not no_auth and not TOKEN.fullmatch(token):
        raise typer.BadParameter(
            "16 to 128 letters, digits or '_' (it is sent as an AWS access key id)",
            param_hint="'--token' / $BRIDGE_SERVE_TOKEN",
        )
    out_dirs = out if out else [p for p in [Path("out").resolve()] if p.is_dir()]
    try:
        server = start_server(
            out_dirs,
            state,
            host,
            port,
            region=region,
            data_dir=data_dir,
            step_timeout=step_timeout,
            isolation=isolation,
            token=token,
            auth=not no_auth,
            allow_hosts=allow_host or (),
        )
    except OSError as exc:
        print(
            f"BRG304 error: cannot listen on {host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        raise typer.Exit(2) from None
    run_until_stopped(server, host)
    print("bridge serve: stopped")
    raise typer.Exit(0)


class AnalyzeFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"
    csv = "csv"


class FailOn(StrEnum):
    approximate = "approximate"
    manual = "manual"


@app.command()
def analyze(
    paths: Annotated[
        list[Path],
        typer.Argument(help="DAG files or folders (searched recursively for *.py).", exists=True),
    ],
    fmt: Annotated[
        AnalyzeFormat, typer.Option("--format", "-f", help="Output format.")
    ] = AnalyzeFormat.text,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="Exit 1 if any task is this fidelity (or worse)."),
    ] = None,
    config_file: Annotated[Path | None, typer.Option("--config")] = None,
    rules: Annotated[list[str] | None, typer.Option("--rules")] = None,
    jobs: Jobs = None,
    file_timeout: FileTimeout = 300.0,
) -> None:
    """Coverage per operator across PATHS: tasks, exact, approximate, manual (nothing written)."""
    from bridge.console import diagnostic_line
    from bridge.emit.parallel import translate_files
    from bridge.translate.coverage import coverage_table, render_coverage

    config, registry = _setup(config_file, rules, paths)
    files = collect_files(paths)
    with progress_bar("Analysing DAG files", len(files), fmt) as on_done:
        outcomes = translate_files(
            files, registry, config, None, jobs=_jobs(jobs), timeout=file_timeout, on_done=on_done
        )
    for o in outcomes:  # a file left out of the table is named
        for d in o.diagnostics:
            if d.code == "BRG225":
                print(diagnostic_line(o.path, d), file=sys.stderr)
    table = coverage_table(outcomes)
    print(render_coverage(table, fmt.value))
    worst = {"approximate": ("approximate", "manual"), "manual": ("manual",)}
    failed = fail_on is not None and any(
        row[level] for row in table for level in worst[fail_on.value]
    )
    raise typer.Exit(1 if failed else 0)


@app.command()
def cutover(
    dag_file: Annotated[
        Path, typer.Argument(help="The DAG file to rewrite in place.", resolve_path=True)
    ],
    tasks: Annotated[
        list[str] | None,
        typer.Option("--tasks", "-t", help="Task ids to cut over: a,b,c (repeatable)."),
    ] = None,
    pipeline: Annotated[
        str | None,
        typer.Option(help="SageMaker pipeline to run (default: the manifest's pipeline name)."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="manifest.json of the translation (default: out/<dag_id>/manifest.json).",
            resolve_path=True,
        ),
    ] = None,
    task_id: Annotated[
        str | None, typer.Option(help="task_id of the new task (default: migrated_<first task>).")
    ] = None,
    dag_id: Annotated[
        str | None, typer.Option(help="The DAG, when the file defines several.")
    ] = None,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Undo the last cutover of DAG_FILE.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="With --rollback: restore the original even if the file was edited."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unified diff; write nothing.")
    ] = False,
) -> None:
    """Replace TASKS of a DAG by one MigratedPipelineOperator task that runs their steps of the
    migrated pipeline (the file is rewritten in place; --rollback restores it). Exit 2 when the
    cutover is refused (the file is untouched)."""
    from bridge.cutover.codemod import CutoverRefused
    from bridge.cutover.codemod import cutover as run_cutover
    from bridge.cutover.codemod import rollback as run_rollback
    from bridge.cutover.console import report
    from bridge.diagnostics import CODES

    try:
        if rollback:
            done = run_rollback(dag_file, force=force, dry_run=dry_run)
        else:
            done = run_cutover(
                dag_file,
                tasks or [],
                pipeline_name=pipeline,
                manifest=manifest,
                task_id=task_id,
                dag_id=dag_id,
                dry_run=dry_run,
            )
    except CutoverRefused as exc:
        print(one_line(f"{dag_file}:{exc.line}: {exc.code} error: {exc.message}"), file=sys.stderr)
        print(f"  hint: {CODES[exc.code].hint}", file=sys.stderr)
        raise typer.Exit(2) from None
    except Exception as exc:  # a bug must not leave a traceback (the file is written last)
        print(one_line(f"{dag_file}:0: BRG199 error: {type(exc).__name__}: {exc}"), file=sys.stderr)
        raise typer.Exit(2) from None
    report(done, dag_file, rollback=rollback, dry_run=dry_run)
    raise typer.Exit(0)


def _setup(config_file: Path | None, rules: list[str] | None, paths: list[Path]):
    from bridge.config import ConfigError, load_config
    from translators.registry import Registry

    try:
        config = load_config(config_file, start=paths[0] if paths[0].is_dir() else paths[0].parent)
    except ConfigError as exc:
        print(f"BRG207 error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    try:
        registry = Registry.default(extra_modules=rules or ())
    except Exception as exc:  # an import error in the user's module: say which, not a traceback
        print(f"BRG210 error: --rules {' '.join(rules or [])}: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    return config, registry


def _terminated(signum: int, _frame) -> None:
    """SIGTERM (`kill`, a CI timeout) unwinds like Ctrl-C: staging folders are removed and
    workers stopped on the way out."""
    raise SystemExit(128 + signum)


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminated)
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
