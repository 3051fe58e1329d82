"""RunRecord: what one run did, step by step, in one shape for every engine.

The local runner, the SageMaker engines (`sagemaker-local`, `aws`) and the Airflow runner all
produce it; `bridge compare` reads two of them. It is plain JSON on disk (`run.json` in the run
folder) so a reviewer can open it and a test can assert on it.

Statuses follow SageMaker's step statuses, plus two of ours:
  Succeeded, Failed, Stopped   as SageMaker reports them (Stopped: the run was stopped while the
                               step ran; only `bridge serve` stops runs);
  NotExecuted                  the step did not run: a branch not taken, an upstream failure, or
                               a run that failed before reaching it (Airflow: skipped,
                               upstream_failed, never scheduled);
  NotRunnable                  the local runner cannot execute this kind of step here (`reason`
                               says why; the run is then partial).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUCCEEDED = "Succeeded"
FAILED = "Failed"
STOPPED = "Stopped"
NOT_EXECUTED = "NotExecuted"
NOT_RUNNABLE = "NotRunnable"
STATUSES = (SUCCEEDED, FAILED, STOPPED, NOT_EXECUTED, NOT_RUNNABLE)

RUN_FILE = "run.json"


@dataclass(frozen=True)
class FileAccess:
    """A path a job's process used outside its own files (/opt/ml, its interpreter, the system
    folders), as the audit hook saw it. `refused`: a read of a file the job would not have on
    SageMaker, which failed."""

    path: str
    mode: str  # read | write
    refused: bool = False


@dataclass
class StepRun:
    """One step (or, for Airflow, one task) of a run."""

    name: str
    status: str
    kind: str = ""  # step Type (Processing, Condition, ...) or Airflow operator class
    started: float | None = None  # epoch seconds
    ended: float | None = None
    attempts: int = 0
    cached: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)  # XComs / Lambda outputs / properties
    property_files: dict[str, Any] = field(default_factory=dict)  # name -> parsed JSON
    branch: bool | None = None  # Condition steps: the outcome; None elsewhere
    log: str | None = None  # path relative to the run folder
    reason: str = ""  # failure message, or why the step did not run
    raw_state: str = ""  # the engine's own word (Airflow's TaskInstance state, ...)
    python: str = ""  # script jobs: the interpreter that ran them ("3.9.18 (/path/python3.9)")
    python_note: str = ""  # "python differs: image 3.9, ran 3.11" when the image's is missing
    file_access: list[FileAccess] = field(default_factory=list)  # outside the job's own files

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return round(self.ended - self.started, 4)


@dataclass
class RunRecord:
    engine: str  # local | sagemaker-local | aws | airflow
    name: str  # pipeline name or dag_id
    run_id: str
    status: str = SUCCEEDED  # Succeeded | Failed | Stopped (the whole run)
    partial: bool = False  # some steps were NotRunnable
    started: float | None = None
    ended: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepRun] = field(default_factory=dict)
    message: str = ""  # why the run failed, when it did
    folder: str = ""  # the run folder (logs, object store, outputs)
    data_dir: str = ""  # a folder all tasks shared ($BRIDGE_DATA_DIR): Airflow, or --data-dir
    isolated: bool | None = None  # local runs: each job ran in a sandbox of its own
    not_faithful: list[str] = field(default_factory=list)  # why it may differ from SageMaker
    # Worker folders the steps shared, merged from their job outputs (bridge/run/folders.py):
    # name -> {kind, path, files (relative to the run folder)}.
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return round(self.ended - self.started, 4)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration"] = self.duration
        for name, step in self.steps.items():
            data["steps"][name]["duration"] = step.duration
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        data = {k: v for k, v in data.items() if k != "duration"}
        steps = {
            name: _step_from_dict(step) for name, step in (data.pop("steps", None) or {}).items()
        }
        return cls(**data, steps=steps)

    def write(self, folder: Path) -> Path:
        path = Path(folder) / RUN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        path = Path(path)
        if path.is_dir():
            path = path / RUN_FILE
        return cls.from_dict(json.loads(path.read_text()))


def _step_from_dict(data: dict[str, Any]) -> StepRun:
    fields = {k: v for k, v in data.items() if k != "duration"}
    fields["file_access"] = [FileAccess(**a) for a in fields.get("file_access") or []]
    return StepRun(**fields)
