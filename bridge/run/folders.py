"""The worker folders after a run, as one shared disk would hold them.

Each step that writes a folder the tasks share uploads it as a job output (only its own files:
the runtime drops what it staged unchanged). Merged in the order the steps ran, later steps'
files over earlier ones', those outputs give the folder Airflow's tasks would have left on the
worker's disk: `bridge compare` compares it file by file with the Airflow run's.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bridge.run.object_store import ObjectStore
from bridge.run.record import SUCCEEDED, StepRun
from bridge.run.step_runtime import FOLDER_MARKER

FILES_DIR = "files"  # runs/<id>/files/<folder name>/


def gather_folders(
    steps: dict[str, StepRun],
    manifest: dict,
    properties: dict[str, dict],
    store: ObjectStore,
    run_folder: Path,
) -> dict[str, dict[str, Any]]:
    """Merge the folder outputs of the steps that succeeded (in run order) under
    `run_folder/files/<name>/`; returns name -> {kind, path, files} for the RunRecord."""
    found: dict[str, dict[str, Any]] = {}
    for name, step in steps.items():  # insertion order: the order the steps ran
        if step.status != SUCCEEDED:
            continue
        written = {
            f["output"]: f
            for f in ((manifest.get("steps") or {}).get(name) or {}).get("folders") or []
            if f.get("output")
        }
        for output in _outputs(properties.get(name) or {}):
            folder = written.get(output.get("OutputName"))
            uri = (output.get("S3Output") or {}).get("S3Uri")
            if folder is None or not uri:
                continue
            target = run_folder / FILES_DIR / folder["name"]
            try:
                source = store.path(uri)
            except ValueError:
                continue
            if source.is_dir():  # the runtime's marker is no file of the task's
                shutil.copytree(
                    source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(FOLDER_MARKER)
                )
            found[folder["name"]] = {
                "kind": folder["kind"],
                "path": folder["path"],
                "files": f"{FILES_DIR}/{folder['name']}",
            }
    return found


def _outputs(properties: dict) -> list[dict]:
    return (properties.get("ProcessingOutputConfig") or {}).get("Outputs") or []
