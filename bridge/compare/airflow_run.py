"""Run original Airflow DAGs with Airflow's own `dag.test()` and record them as RunRecords.

`run_dags()` is the parent side: it never imports Airflow (the CLI stays fast). It starts one
child process, `python -m bridge.compare.airflow_child`, for all requests, because the first task
in a process pays several seconds once (the in-process Execution API app) and several DAGs
should share that. The request goes in as JSON on stdin; progress events and the result come
back as JSON lines on stdout, the result on the last line.

The pieces, by responsibility:
  airflow_run.py     this module: the requests, the child process, its outcome -> RunRecords
  airflow_home.py    the isolated AIRFLOW_HOME: environment, cached migrated database
  airflow_child.py   the child process: stages each DAG, runs dag.test(), captures task logs
  airflow_record.py  a finished DagRun (or a run that never started) as a RunRecord
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.compare.airflow_home import (
    DB_FILE,
    airflow_version,
    cache_dir,
    child_env,
    is_migrated,
    snapshot_db,
)
from bridge.compare.airflow_record import (
    AIRFLOW_LOG,
    ENGINE,
    failed_record,
    import_error_summary,
    last_error_line,
)
from bridge.run.record import RUN_FILE, RunRecord

__all__ = [
    "DB_FILE",
    "DEFAULT_TIMEOUT",
    "ENGINE",
    "AirflowRunRequest",
    "airflow_version",
    "cache_dir",
    "child_env",
    "failed_record",
    "import_error_summary",
    "is_migrated",
    "last_error_line",
    "run_dags",
    "snapshot_db",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0
CHILD_MODULE = "bridge.compare.airflow_child"


@dataclass
class AirflowRunRequest:
    dag_file: Path
    dag_id: str
    run_folder: Path  # where to keep this run's logs and run.json
    params: dict[str, Any] = field(default_factory=dict)  # passed as run_conf
    logical_date: str | None = None  # ISO date/datetime; None = now (UTC)
    data_dir: Path | None = None  # $BRIDGE_DATA_DIR while this DAG runs
    input_dir: Path | None = None  # made available next to the DAG copy under its own name

    def to_json(self) -> dict[str, Any]:
        def path(p: Path | None) -> str | None:
            return str(Path(p).resolve()) if p is not None else None

        return {
            "dag_file": path(self.dag_file),
            "dag_id": self.dag_id,
            "run_folder": path(self.run_folder),
            "params": self.params,
            "logical_date": self.logical_date,
            "data_dir": path(self.data_dir),
            "input_dir": path(self.input_dir),
        }


def run_dags(
    requests: list[AirflowRunRequest],
    *,
    airflow_home: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[RunRecord]:
    """Run each request's DAG with `dag.test()`, all in one child process; one RunRecord each.

    `timeout` bounds the whole call. Nothing here raises for a DAG that fails to import, a
    missing dag_id, a crash or a timeout: those come back as Failed records with a `message`.
    If the child dies inside one DAG (say the file calls `os._exit`), that DAG is Failed and
    the DAGs after it get a fresh child.
    """
    if not requests:
        return []
    payloads = [r.to_json() for r in requests]
    for payload in payloads:
        stale = Path(payload["run_folder"]) / RUN_FILE
        stale.unlink(missing_ok=True)  # a run.json present afterwards was written by this call
    records: dict[int, RunRecord] = {}
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        if airflow_home is None:
            home = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="bridge-airflow-", ignore_cleanup_errors=True)
            )
        else:
            home = str(Path(airflow_home).resolve())
            Path(home).mkdir(parents=True, exist_ok=True)
        pending = list(range(len(payloads)))
        while pending:
            batch = [payloads[i] for i in pending]
            outcome = _run_child(home, batch, deadline - time.monotonic())
            for local, index in enumerate(pending):
                record = _collected(local, batch[local], outcome)
                if record is not None:
                    records[index] = record
            crashed = [
                index
                for local, index in enumerate(pending)
                if local in outcome.started and index not in records
            ]
            if outcome.timed_out or outcome.error or not crashed:
                for local, index in enumerate(pending):
                    if index not in records:
                        message = _lost_message(local, outcome, timeout)
                        records[index] = _failed_and_written(batch[local], message)
                break
            for index in crashed:
                # Its output went to the run folder's airflow.log, not to our stderr.
                message = (
                    f"the Airflow process died while running this DAG ({_exit(outcome)}); "
                    f"see {AIRFLOW_LOG} in the run folder"
                )
                records[index] = _failed_and_written(payloads[index], message)
            pending = [i for i in pending if i not in records]
    return [records[i] for i in range(len(payloads))]


@dataclass
class _ChildOutcome:
    records: dict[int, dict[str, Any]] = field(default_factory=dict)  # batch index -> record
    started: set[int] = field(default_factory=set)  # batch indexes the child began
    error: str = ""  # the child's own fatal error, if it reported one
    timed_out: bool = False
    returncode: int | None = None
    stderr_tail: str = ""


def _run_child(home: str, payloads: list[dict[str, Any]], timeout: float) -> _ChildOutcome:
    if timeout <= 0:
        return _ChildOutcome(timed_out=True)
    cmd = [sys.executable, "-m", CHILD_MODULE]
    stdin = json.dumps({"airflow_home": home, "requests": payloads}, default=str)
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(home),
        text=True,
        start_new_session=True,  # so a timeout also stops the tasks' own subprocesses
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    outcome = _ChildOutcome(
        timed_out=timed_out, returncode=proc.returncode, stderr_tail=_last_line(stderr or "")
    )
    for line in (stdout or "").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("event") == "start":
            outcome.started.add(int(event["index"]))
        elif event.get("event") == "result":
            outcome.records = {int(k): v for k, v in (event.get("records") or {}).items()}
            outcome.error = event.get("error") or ""
            if event.get("timings"):
                log.debug("airflow child timings: %s", event["timings"])
    return outcome


def _collected(local: int, payload: dict[str, Any], outcome: _ChildOutcome) -> RunRecord | None:
    """The child's record for this request, else the run.json it wrote before it stopped."""
    if local in outcome.records:
        return RunRecord.from_dict(outcome.records[local])
    run_file = Path(payload["run_folder"]) / RUN_FILE
    if run_file.exists():
        with contextlib.suppress(Exception):
            return RunRecord.read(run_file)
    return None


def _lost_message(local: int, outcome: _ChildOutcome, timeout: float) -> str:
    """Why a request has no record: the child's own error, the time limit, or a crash."""
    if outcome.error:
        return outcome.error
    if outcome.timed_out and local in outcome.started:
        return f"Airflow did not finish this DAG within the {timeout:g} s limit"
    if outcome.timed_out and not outcome.started:
        return f"not run: the {timeout:g} s limit was reached while Airflow was starting"
    if outcome.timed_out:
        return f"not run: the Airflow process reached its {timeout:g} s limit before this DAG"
    message = f"the Airflow process stopped unexpectedly ({_exit(outcome)})"
    return message + (f": {outcome.stderr_tail}" if outcome.stderr_tail else "")


def _exit(outcome: _ChildOutcome) -> str:
    code = outcome.returncode
    return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"


def _failed_and_written(payload: dict[str, Any], message: str) -> RunRecord:
    record = failed_record(payload, message)
    with contextlib.suppress(OSError):
        record.write(Path(payload["run_folder"]))
    return record


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


if __name__ == "__main__":  # the child's former entry point, still accepted
    from bridge.compare.airflow_child import main

    sys.exit(main())
