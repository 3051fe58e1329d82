"""`bridge translate` and `bridge analyze` over many files at once: each file in a worker process
(bridge.file_pool), within its own time limit, with the same outcomes, output folders and bytes
as translating the files one after another.

Output folders: a worker writes each DAG of its file into a private staging folder (under OUT,
so that moving it is a rename). Then this process, in file order, does what `emit` does first
in a serial run — refuse a folder another DAG of the run took (BRG220) or that is not the
bridge's (BRG221), clear the previous translation there (keeping its run records), claim the
folder — and moves the staged files in. The first DAG in file order thus wins a clash whatever
order the files finished in. The deploy files name the folder's own path
(bridge.emit.deploy.repository_path), so they are written again in place. A file whose staging
went any other way (two of its DAGs share a folder; an error after its folder was claimed) is
translated again here, as a serial run would, so that its outcome is the serial one too.

A file over its time limit, or whose worker died, gets BRG225 and nothing of it is written.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from bridge.config import BridgeConfig
from bridge.diagnostics import Diagnostic
from bridge.emit.deploy import write_deploy_files
from bridge.emit.folder import MARKER, OutputClaims, OutputRefused, prepare_folder
from bridge.emit.translate_files import DagOutcome, FileOutcome, translate_file
from bridge.file_pool import Stopped, run_pool
from bridge.quoting import one_line


def translate_files(
    files: Sequence[Path],
    registry,
    config: BridgeConfig,
    out: Path | None,
    *,
    jobs: int,
    timeout: float,
    on_done: Callable[[int], None] | None = None,
) -> list[FileOutcome]:
    """translate_file for each file, in order, and with `out` its output folders; by `jobs`
    workers when there is more than one file (one file is translated here, with no start-up
    cost and no limit but the parse's)."""
    if len(files) < 2:
        return _serially(files, registry, config, out, on_done)
    _preload()
    if out is None:
        results = run_pool(
            lambda path: translate_file(path, registry, config, None),
            files,
            jobs=jobs,
            timeout=timeout,
            on_done=on_done,
        )
        return [_outcome(path, r) for path, r in zip(files, results, strict=True)]
    with _staging(out) as staging:
        if staging is None:  # OUT cannot be written: every DAG is refused, as serially
            return _serially(files, registry, config, out, on_done)
        staged = run_pool(
            lambda item: _stage(item[1], registry, config, staging / str(item[0])),
            list(enumerate(files)),
            jobs=jobs,
            timeout=timeout,
            on_done=on_done,
        )
        claims = OutputClaims()  # this run's folders: two DAGs never share one
        return [
            _place(path, s, registry, config, out, claims)
            for path, s in zip(files, staged, strict=True)
        ]


def _preload() -> None:
    """Load the parser and the translator here, once, rather than in each worker after the fork."""
    import jinja2  # noqa: F401
    import networkx  # noqa: F401

    import bridge.emit.images  # noqa: F401
    import bridge.parse.dag_file  # noqa: F401
    import bridge.parse.worker  # noqa: F401
    import bridge.translate.engine  # noqa: F401


def _serially(files, registry, config, out, on_done) -> list[FileOutcome]:
    claims = OutputClaims() if out is not None else None
    outcomes = []
    for index, path in enumerate(files):
        outcomes.append(translate_file(path, registry, config, out, claims))
        if on_done is not None:
            on_done(index)
    return outcomes


def _outcome(path: Path, result: FileOutcome | Stopped) -> FileOutcome:
    if isinstance(result, Stopped):
        return FileOutcome(str(path), diagnostics=[result.diagnostic(str(path))])
    return result


class _DagRef(NamedTuple):
    """What OutputClaims reads of a DAG: its id and line."""

    dag_id: str
    line: int


@dataclass
class _StagingClaims(OutputClaims):
    """The claims of one file's DAGs in its staging folder, recorded so that this process can
    make them again, in file order, in OUT."""

    lines: dict[str, int] = field(default_factory=dict)  # staged folder name -> DAG line
    clashed: bool = False

    def check(self, out: Path, name: str, dag, source_path: str) -> None:
        try:
            super().check(out, name, dag, source_path)
        except OutputRefused:
            self.clashed = True
            raise

    def claim(self, out: Path, name: str, dag, source_path: str) -> None:
        super().claim(out, name, dag, source_path)
        self.lines[name] = dag.line


@dataclass
class _Staged:
    outcome: FileOutcome
    lines: dict[str, int]  # staged folder name -> DAG line
    serial_only: bool  # its staging cannot be replayed exactly: translate it again, serially


def _stage(path: Path, registry, config: BridgeConfig, staging: Path) -> _Staged:
    """In a worker: the file translated into its own staging folder."""
    claims = _StagingClaims()
    outcome = translate_file(path, registry, config, staging, claims)
    written = {d.folder.name for d in outcome.dags if d.folder is not None}
    refused = any(d.code == "BRG221" for dag in outcome.dags for d in dag.diagnostics)
    return _Staged(outcome, claims.lines, claims.clashed or refused or written != set(claims.lines))


def _place(
    path: Path,
    staged: _Staged | Stopped,
    registry,
    config: BridgeConfig,
    out: Path,
    claims: OutputClaims,
) -> FileOutcome:
    """The file's outcome, its DAGs' folders claimed and moved from staging into OUT."""
    if isinstance(staged, Stopped):
        return _outcome(path, staged)
    if staged.serial_only:
        return translate_file(path, registry, config, out, claims)
    for dag in staged.outcome.dags:
        if dag.folder is not None:
            dag.folder = _move_in(dag, staged.lines[dag.folder.name], str(path), out, claims)
    return staged.outcome


def _move_in(dag: DagOutcome, line: int, path: str, out: Path, claims: OutputClaims) -> Path | None:
    """What emit does before writing (claim the folder, clear what was there), then the
    staged files moved in; None with a diagnostic when the folder is refused."""
    staged = dag.folder
    assert staged is not None and dag.pipeline is not None
    name, ref = staged.name, _DagRef(dag.dag_id, line)
    folder = out / name
    try:
        claims.check(out, name, ref, path)
        folder = prepare_folder(out, name)
        claims.claim(out, name, ref, path)
        for entry in sorted(staged.iterdir()):
            if entry.name != MARKER:  # prepare_folder wrote the same one
                shutil.move(entry, folder / entry.name)
        write_deploy_files(folder, dag.pipeline.name, dag.dag_id)
    except OutputRefused as exc:
        dag.diagnostics.append(Diagnostic.make(exc.code, line, str(exc), path))
        return None
    except OSError as exc:  # the disk filled up, permissions changed under us
        message = f"{one_line(folder)} cannot be written: {exc}"
        dag.diagnostics.append(Diagnostic.make("BRG221", line, message, path))
        return None
    return folder


@contextmanager
def _staging(out: Path) -> Iterator[Path | None]:
    """A private folder for the workers' output inside OUT (a hidden name no DAG folder has:
    nothing is written outside OUT), or None when OUT cannot be written. OUT is left as a
    serial run would leave it: removed again when this run made it and wrote nothing there."""
    made = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    root = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=".bridge-staging-", dir=out))
    except OSError:
        pass
    try:
        yield root
    finally:
        if root is not None:
            _remove(root)
        for folder in made:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break


__all__ = ["translate_files"]


def _remove(root: Path) -> None:
    """The staging folder, gone: after a kill (SIGTERM, Ctrl-C) a worker's last process may
    still write for a moment after the first pass."""
    for _ in range(5):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.05)
