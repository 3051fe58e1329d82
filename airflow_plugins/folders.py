"""Files back across the cutover boundary: worker folders the migrated steps wrote on SageMaker.

Tasks that share a folder on the worker (`$OUT/model.json` written by one, `cp`-ed by the next)
hand it over on SageMaker as job outputs: each step that writes the folder uploads the files it
wrote or changed as the job output `<folder>` under the execution's prefix. After a cutover, a
task that stays in Airflow and uses such a folder would find nothing on the worker. So once the
execution has succeeded, the operator downloads each such output into the folder on the worker,
in the order the steps ran: later outputs win, as later writes did on the shared disk.

Object keys are untrusted: a key that is absolute, has an empty, `.` or `..` part, or leads out
of the folder through a symlink refuses the whole download before any file is written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_plugins.manifest import Migration, StepFolder

OUR_TASK_TYPES = ("MigratedPipelineOperator", "MigratedTaskOutput")
# The step runtime's file in each folder output (bridge/run/step_runtime.py FOLDER_MARKER: a job
# refuses an empty S3 input). Bookkeeping of the pipeline's, not a file the task wrote.
FOLDER_MARKER = ".bridge-folder"


class UnsafeFolder(ValueError):
    """A folder or an object key that would put files outside the worker folder."""


@dataclass(frozen=True)
class FolderOutput:
    """One job output to bring back: a step's upload of a folder a task staying in Airflow uses."""

    step: str
    task_id: str
    folder: StepFolder
    job_arn: str


@dataclass(frozen=True)
class Download:
    """One object of a folder output and the file it becomes on the worker."""

    bucket: str
    key: str
    target: Path
    size: int


def tasks_staying(
    migration: Migration, scope: Iterable[str], dag_tasks: Mapping[str, Any] | None
) -> set[str]:
    """The migration's tasks that still run their own code in Airflow: not in this operator's
    scope and, when the DAG is known, still a task of it that is not a stand-in or the operator
    of another cutover (their steps ran on SageMaker too)."""
    outside = set(migration.task_steps) - set(scope)
    if dag_tasks is None:
        return outside
    return {
        t
        for t in outside
        if t in dag_tasks and getattr(dag_tasks[t], "task_type", "") not in OUR_TASK_TYPES
    }


def outputs_to_bring_back(
    migration: Migration, scope: Iterable[str], staying: set[str], steps: list[dict[str, Any]]
) -> list[FolderOutput]:
    """The folder outputs of the scope's succeeded steps that a staying task's steps read or
    write, in the order of `steps` (the execution's, oldest first)."""
    in_scope = {s for t in scope for s in migration.task_steps.get(t, ())}
    used = {
        f.key
        for step, folders in migration.step_folders.items()
        if migration.task_of(step) in staying
        for f in folders
    }
    found = []
    for step in steps:
        name = step.get("StepName", "")
        job = ((step.get("Metadata") or {}).get("ProcessingJob") or {}).get("Arn")
        if name not in in_scope or step.get("StepStatus") != "Succeeded" or not job:
            continue
        for folder in migration.step_folders.get(name, ()):
            if folder.output and folder.key in used:
                found.append(FolderOutput(name, migration.task_of(name), folder, job))
    return found


def worker_folder(folder: StepFolder, dag_folder: Path | None, environ: Mapping[str, str]) -> Path:
    """Where the folder is on this worker, as the task that stays in Airflow finds it."""
    if folder.kind == "path":
        path = Path(folder.path)
        if not path.is_absolute():
            raise UnsafeFolder(f"folder {folder.name}: {folder.path!r} is not an absolute path")
        return path
    if folder.kind == "env":
        value = environ.get(folder.path) or folder.default
        if not value:
            raise UnsafeFolder(
                f"folder {folder.name}: ${folder.path} is not set on this worker and the "
                "manifest gives no default"
            )
        return Path(value)
    if folder.kind == "dag":
        if dag_folder is None:
            raise UnsafeFolder(f"folder {folder.name}: the DAG file's folder is not known")
        return dag_folder / _relative(folder.path, f"folder {folder.name}")
    raise UnsafeFolder(f"folder {folder.name}: unknown kind {folder.kind!r}")


def target_of(root: Path, key: str) -> Path:
    """The file an object key (relative to its output's prefix) becomes inside `root`."""
    target = root / _relative(key, f"object key {key!r}")
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(target.parent)]) != real_root:
        raise UnsafeFolder(f"object key {key!r} leads out of {root} through a symlink")
    return target


def _relative(text: str, what: str) -> Path:
    parts = text.split("/")
    if not text or text.startswith("/") or "\0" in text or {"", ".", ".."} & set(parts):
        raise UnsafeFolder(f"{what}: not a plain relative path (absolute, or '', '.', '..' parts)")
    return Path(*parts)


def plan_downloads(hook, output: FolderOutput, root: Path, uri: str) -> list[Download]:
    """Every object of one output, each with its checked place in the folder."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
    planned = []
    for obj in hook.list_objects(uri):
        relative = obj["Key"][len(prefix) :]
        if relative == FOLDER_MARKER:
            continue
        if relative.endswith("/"):  # an S3 console folder: checked, not written
            if relative.rstrip("/"):
                target_of(root, relative.rstrip("/"))
            continue
        planned.append(Download(bucket, obj["Key"], target_of(root, relative), obj.get("Size", 0)))
    return planned


def download(s3, item: Download) -> None:
    """One object into its file, through a temporary file renamed over it: a reader never sees
    half a file, and an existing symlink at the target is replaced, not followed."""
    item.target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".bridge-download-", dir=item.target.parent)
    os.close(handle)
    try:
        s3.download_file(item.bucket, item.key, temporary)
        os.replace(temporary, item.target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def bring_back(
    hook, outputs: list[FolderOutput], dag_folder: Path | None, environ: Mapping[str, str], log
) -> list[dict[str, Any]]:
    """Download `outputs` into their worker folders; returns what came back, per output.

    Every key of every output is checked first: one unsafe key and nothing is written."""
    uris: dict[str, dict[str, str]] = {}  # job ARN -> its outputs (one Describe per job)
    plans = []
    for output in outputs:
        root = worker_folder(output.folder, dag_folder, environ)
        if output.job_arn not in uris:
            uris[output.job_arn] = hook.processing_outputs(output.job_arn)
        uri = uris[output.job_arn].get(output.folder.output or "")
        if uri is None:
            log.warning(
                "step %s has no job output %s: files of folder %s not brought back",
                output.step,
                output.folder.output,
                output.folder.name,
            )
            continue
        plans.append((output, root, uri, plan_downloads(hook, output, root, uri)))
    brought = []
    for output, root, uri, items in plans:
        for item in items:
            download(hook.s3, item)
        size = sum(i.size for i in items)
        log.info(
            "Brought back %d file(s), %d bytes, of folder %s written by task %s (step %s) "
            "from %s into %s",
            len(items),
            size,
            output.folder.name,
            output.task_id,
            output.step,
            uri,
            root,
        )
        brought.append(
            {
                "step": output.step,
                "task_id": output.task_id,
                "folder": output.folder.name,
                "source": uri,
                "path": str(root),
                "files": len(items),
                "bytes": size,
            }
        )
    return brought
