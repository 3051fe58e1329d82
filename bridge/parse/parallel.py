"""`bridge graph` over many files at once: each file parsed (within its parse budget, see
bridge.parse.worker) by one of several worker processes (bridge.file_pool), results in file
order. A file whose worker runs past `timeout` seconds or dies gets BRG225."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bridge.file_pool import Stopped, run_pool
from bridge.parse.model import FileResult
from bridge.parse.worker import parse_file_budgeted


def parse_files_parallel(
    files: Sequence[Path],
    *,
    jobs: int,
    timeout: float,
    on_done: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """parse_file_budgeted for each file; by `jobs` workers when there is more than one."""
    if len(files) < 2:
        results = [parse_file_budgeted(f) for f in files]
        if on_done is not None and files:
            on_done(0)
        return results
    results = run_pool(parse_file_budgeted, files, jobs=jobs, timeout=timeout, on_done=on_done)
    return [
        FileResult(path=str(f), diagnostics=[r.diagnostic(str(f))]) if isinstance(r, Stopped) else r
        for f, r in zip(files, results, strict=True)
    ]
