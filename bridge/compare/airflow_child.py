"""The child process of `run_dags`: `python -m bridge.compare.airflow_child`, the only code path
that imports Airflow.

The request comes in as JSON on stdin ({"airflow_home": ..., "requests": [...]}); progress
events and the result go out as JSON lines on stdout, the result on the last line. The process
was started with an isolated AIRFLOW_HOME in its environment (airflow_home.child_env); before it
imports Airflow it puts a migrated database there (airflow_home.prepare_home). DAGs run one at a
time: each file is copied into the dags folder (with its input folder next to it), loaded with
DagBag, run with `dag.test(logical_date=..., run_conf=params)`, then removed again, because
`dag.test()` parses the whole dags folder on every call.

Each task's output (its log records, prints, subprocess output) is captured into
`<run_folder>/logs/<task_id>.log`; everything else `dag.test()` prints goes to
`<run_folder>/airflow.log`. `run.json` is written into the run folder as each DAG finishes, so a
timeout still keeps the DAGs that completed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bridge.compare.airflow_home import migrate, prepare_home
from bridge.compare.airflow_record import (
    AIRFLOW_LOG,
    LOG_DIR,
    failed_record,
    import_error_summary,
    one_line,
    record_from_dagrun,
)
from bridge.run.record import RunRecord

__all__ = ["main"]


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Point file descriptors 1 and 2 at `path` (appending) for the duration.

    Tasks print and log there, and so do the subprocesses they start (BashOperator), so
    redirecting the descriptors rather than sys.stdout catches all of it.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


@contextlib.contextmanager
def _isolated_process_state(data_dir: str | None) -> Iterator[None]:
    """Run one DAG with $BRIDGE_DATA_DIR set (when given), then put the environment and the
    working directory back: tasks run in this process, and what they or Airflow change (the
    AIRFLOW_CTX_* variables, an os.chdir) must not leak into the next DAG."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    if data_dir is not None:
        os.environ["BRIDGE_DATA_DIR"] = data_dir
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)


class _TaskCapture:
    """Wraps dag.test()'s per-task runner: one log file per task id, and each try's error.

    `dag.test()` runs every task instance through `airflow.sdk.definitions.dag._run_task`;
    wrapping it is the one place that sees each try begin and end, and its result carries the
    exception the task raised.
    """

    def __init__(self, timings: dict[str, Any]) -> None:
        self.log_dir: Path | None = None
        self.errors: dict[tuple[str, int], str] = {}
        self.timings = timings
        self.warm = False

    def warm_up(self) -> None:
        """Start the in-process Execution API before the first task of the process.

        Otherwise its start-up (~5 s here) is counted in the first task's duration, which would
        skew a side-by-side comparison. Only before a real dag.test(): a call whose DAGs all
        fail to import skips it. Best effort: it goes through a private helper.
        """
        if self.warm:
            return
        self.warm = True
        t0 = time.perf_counter()
        with contextlib.suppress(Exception):
            from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor

            InProcessTestSupervisor._api_client().get("health")
        self.timings["warmup_s"] = round(time.perf_counter() - t0, 3)

    def install(self) -> bool:
        try:
            import airflow.sdk.definitions.dag as dag_module
        except ImportError:
            return False
        original = getattr(dag_module, "_run_task", None)
        if original is None or getattr(original, "_bridge_capture", False):
            return original is not None

        def run_task(*args: Any, **kwargs: Any) -> Any:
            ti = kwargs.get("ti")
            if self.log_dir is None or ti is None:
                return original(*args, **kwargs)
            key = (ti.task_id, ti.map_index)
            path = self.log_dir / f"{ti.task_id}.log"
            header = f"=== bridge: {ti.task_id} try {ti.try_number}"
            header += f" map_index {ti.map_index} ===\n" if ti.map_index >= 0 else " ===\n"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as f:
                f.write(header)
            with _output_to(path):
                try:
                    result = original(*args, **kwargs)
                except Exception as exc:
                    self.errors[key] = one_line(exc)
                    raise
            error = getattr(result, "error", None)
            if error is not None:
                self.errors[key] = one_line(error)
            else:
                self.errors.pop(key, None)  # a retry that succeeded
            return result

        run_task._bridge_capture = True  # type: ignore[attr-defined]
        dag_module._run_task = run_task
        return True


def _parse_logical_date(value: str | None):
    if not value:
        return None
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _stage(payload: dict[str, Any], dags_folder: Path, staged: list[Path]) -> None:
    """Copy the DAG file into the dags folder and put its input folder next to it; `staged`
    collects what was placed, for `_unstage`, even when a step fails halfway."""
    source = Path(payload["dag_file"])
    target = dags_folder / source.name
    shutil.copyfile(source, target)
    staged.append(target)
    if payload.get("input_dir"):
        input_dir = Path(payload["input_dir"])
        link = dags_folder / input_dir.name
        try:
            link.symlink_to(input_dir, target_is_directory=True)
        except OSError:
            shutil.copytree(input_dir, link)
        staged.append(link)


def _unstage(paths: list[Path]) -> None:
    for path in paths:
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _run_one(
    payload: dict[str, Any], dags_folder: Path, capture: _TaskCapture
) -> tuple[RunRecord, float]:
    """Load and run one DAG; always returns a record (Failed with a message on any error)."""
    run_folder = Path(payload["run_folder"])
    run_folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(run_folder / LOG_DIR, ignore_errors=True)  # logs of an earlier run would mislead
    (run_folder / AIRFLOW_LOG).unlink(missing_ok=True)
    dag_file = Path(payload["dag_file"])
    if not dag_file.is_file():
        return failed_record(payload, f"DAG file not found: {dag_file}"), 0.0
    if payload.get("input_dir") and not Path(payload["input_dir"]).is_dir():
        return failed_record(payload, f"input folder not found: {payload['input_dir']}"), 0.0
    if payload.get("data_dir"):
        Path(payload["data_dir"]).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    staged: list[Path] = []
    try:
        _stage(payload, dags_folder, staged)
        with (
            _isolated_process_state(payload.get("data_dir")),
            _output_to(run_folder / AIRFLOW_LOG),
        ):
            record = _load_and_test(payload, staged[0], capture)
    except Exception as exc:  # anything raised outside a task: staging, DagBag, dag.test()
        record = failed_record(payload, f"dag.test() failed: {one_line(exc)}")
    finally:
        _unstage(staged)
        capture.log_dir = None
    return record, round(time.perf_counter() - t0, 3)


def _load_and_test(payload: dict[str, Any], staged_file: Path, capture: _TaskCapture) -> RunRecord:
    from airflow.dag_processing.dagbag import DagBag

    dag_id = payload["dag_id"]
    name = Path(payload["dag_file"]).name
    bag = DagBag(dag_folder=str(staged_file))
    if bag.import_errors:
        trace = next(iter(bag.import_errors.values()))
        return failed_record(
            payload, f"{name} failed to import: {import_error_summary(trace, name)}"
        )
    dag = bag.dags.get(dag_id)
    if dag is None:
        found = ", ".join(sorted(bag.dags)) or "none"
        return failed_record(payload, f"no DAG {dag_id!r} in {name} (DAGs found: {found})")
    try:
        logical_date = _parse_logical_date(payload.get("logical_date"))
    except ValueError:
        return failed_record(
            payload, f"logical_date {payload['logical_date']!r} is not an ISO date or datetime"
        )
    capture.warm_up()
    capture.log_dir = Path(payload["run_folder"]) / LOG_DIR
    capture.errors = {}
    kwargs: dict[str, Any] = {"run_conf": dict(payload.get("params") or {}) or None}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    started = time.time()
    dagrun = dag.test(**kwargs)
    ended = time.time()
    return record_from_dagrun(dag, dagrun, payload, capture.errors, started, ended)


def main() -> int:
    """`python -m bridge.compare.airflow_child`: requests on stdin, JSON events on stdout."""
    out = os.fdopen(os.dup(1), "w")  # the result channel; fd 1 itself carries stray output
    os.dup2(2, 1)

    def emit(event: dict[str, Any]) -> None:
        out.write(json.dumps(event, default=str) + "\n")
        out.flush()

    request = json.loads(sys.stdin.read())
    payloads: list[dict[str, Any]] = request["requests"]
    home = Path(request["airflow_home"])
    dags_folder = home / "dags"
    # dag.test() parses the whole dags folder, so it must hold only the DAG being run: clear
    # what an earlier child left behind when it died mid-DAG.
    if dags_folder.is_dir():
        _unstage(list(dags_folder.iterdir()))
    dags_folder.mkdir(parents=True, exist_ok=True)
    timings: dict[str, Any] = {"dags_s": []}
    records: dict[int, dict[str, Any]] = {}
    try:
        must_migrate = prepare_home(home, timings)
        t0 = time.perf_counter()
        import airflow  # noqa: F401  (configured by the environment set by the parent)
        from airflow.dag_processing.dagbag import DagBag  # noqa: F401

        timings["import_s"] = round(time.perf_counter() - t0, 3)
        if must_migrate:
            migrate(home, timings)
        capture = _TaskCapture(timings)
        timings["task_logs"] = capture.install()  # False: task output stays in airflow.log
    except Exception as exc:
        emit({"event": "result", "records": {}, "error": f"Airflow could not start: {exc}"})
        return 1
    for index, payload in enumerate(payloads):
        emit({"event": "start", "index": index})
        try:
            record, seconds = _run_one(payload, dags_folder, capture)
        except Exception as exc:  # e.g. the run folder cannot be created
            record, seconds = failed_record(payload, one_line(exc)), 0.0
        timings["dags_s"].append([payload["dag_id"], seconds])
        with contextlib.suppress(OSError):
            record.write(Path(payload["run_folder"]))
        records[index] = record.to_dict()
    emit({"event": "result", "records": records, "timings": timings})
    return 0


if __name__ == "__main__":
    sys.exit(main())
