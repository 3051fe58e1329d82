"""Write a PipelineModel as an output folder: pipeline.py, steps/, manifest.json, REPORT.md.

Deterministic: the same DAG and config give the same bytes (no timestamps, sorted keys). Python
output is formatted with ruff (`ruff format`, then `ruff check --fix` for import order).

The folder is OUT/<name>, `name` one safe path component for the DAG id (`output_folder_name`).
The bridge replaces a folder only when it wrote it: it holds the `.bridge-output` marker (or,
written before the marker existed, a manifest.json of this DAG next to a pipeline.py) and is a
real folder directly inside OUT. Anything else there is left alone and the DAG is not written.
Every id, path and text from the DAG goes into the files through bridge.quoting.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.deploy import write_deploy_files
from bridge.emit.manifest import build_manifest, write_manifest
from bridge.emit.pipeline_file import SUPPORT_FILE, pipeline_source, support_source
from bridge.emit.report import build_report
from bridge.emit.step_arguments import plan_arguments
from bridge.emit.step_scripts import (
    RUNTIME_FILE,
    assign_files,
    runtime_source,
    script_text,
)
from bridge.parse.model import DagModel
from bridge.translate.pipeline_model import PipelineModel
from bridge.translate.step_specs import LambdaSpec, script_of

MARKER = ".bridge-output"
MARKER_TEXT = (
    "Written by `bridge translate`. Translating this DAG again into the same output folder\n"
    "deletes this folder and writes it anew: keep your own files elsewhere.\n"
)


class OutputRefused(Exception):
    """The DAG's output folder cannot be written; `code` is the diagnostic to report."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def output_folder_name(dag_id: str) -> str:
    """The DAG's folder under OUT: its id when that is a safe name (every id Airflow accepts),
    else a safe name ending in a hash of the id (see bridge.quoting.path_component)."""
    return quoting.path_component(dag_id, fallback="dag")


@dataclass
class OutputClaims:
    """The output folders written in one run, so that two DAGs never share one: keyed by OUT
    and the folder name as case- and normalisation-insensitive file systems see it."""

    taken: dict[tuple[str, str], tuple[str, str, int]] = field(default_factory=dict)

    @staticmethod
    def _key(out: Path, name: str) -> tuple[str, str]:
        return (str(out.resolve()), quoting.fold_key(name))

    def check(self, out: Path, name: str, dag: DagModel, source_path: str) -> None:
        owner = self.taken.get(self._key(out, name))
        if owner is None or owner == _identity(dag, source_path):
            return
        dag_id, path, line = owner
        raise OutputRefused(
            "BRG220",
            f"DAG `{quoting.one_line(dag.dag_id)}` ({quoting.one_line(source_path)}:{dag.line}) "
            f"maps to output folder `{quoting.one_line(name)}`, which DAG "
            f"`{quoting.one_line(dag_id)}` ({quoting.one_line(path)}:{line}) was written to "
            "earlier in this run: not written",
        )

    def claim(self, out: Path, name: str, dag: DagModel, source_path: str) -> None:
        self.taken[self._key(out, name)] = _identity(dag, source_path)


def _identity(dag: DagModel, source_path: str) -> tuple[str, str, int]:
    return (dag.dag_id, str(Path(source_path).resolve()), dag.line)


def prepare_folder(out: Path, name: str) -> Path:
    """OUT/name, empty but for the marker: a folder the bridge wrote before is deleted first;
    anything else that is there and not empty is refused (OutputRefused BRG221)."""
    folder = out / name
    shown = quoting.one_line(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        root = out.resolve()
        if folder.is_symlink():
            raise OutputRefused("BRG221", f"{shown} is a symbolic link: left as it is")
        if folder.exists():
            if not folder.is_dir():
                raise OutputRefused("BRG221", f"{shown} exists and is not a folder: left as it is")
            if folder.resolve().parent != root:
                raise OutputRefused("BRG221", f"{shown} resolves outside {quoting.one_line(out)}")
            if made_by_bridge(folder):
                clear_translation(folder)
            elif any(folder.iterdir()):
                raise OutputRefused(
                    "BRG221",
                    f"{shown} exists and was not written by the bridge (no {MARKER} file): "
                    "left as it is",
                )
        folder.mkdir(exist_ok=True)
        (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise OutputRefused("BRG221", f"{shown} cannot be written: {exc}") from None
    return folder


# What `bridge run` and `bridge compare` keep in the folder: records of the user's runs, which a
# new translation must not delete.
KEPT = frozenset({"runs", "compare"})


def clear_translation(folder: Path) -> None:
    """Remove the previous translation from a folder the bridge wrote, keeping run records."""
    for entry in folder.iterdir():
        if entry.name in KEPT and entry.is_dir() and not entry.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def made_by_bridge(folder: Path) -> bool:
    """The folder holds the bridge's marker, or (written before the marker existed) a
    manifest.json of a DAG whose output folder this is, next to a pipeline.py."""
    if (folder / MARKER).is_file():
        return True
    manifest, pipeline_py = folder / "manifest.json", folder / "pipeline.py"
    if not (manifest.is_file() and pipeline_py.is_file()):
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    dag_id = data.get("dag_id") if isinstance(data, dict) else None
    if not isinstance(dag_id, str) or "schema_version" not in data:
        return False
    # The folder this DAG gets now, or got before (its id with `/` as `_`).
    names = (output_folder_name(dag_id), dag_id.replace("/", "_"))
    return quoting.fold_key(folder.name) in {quoting.fold_key(n) for n in names}


def emit(
    pipeline: PipelineModel,
    dag: DagModel,
    config: BridgeConfig,
    source_path: str,
    out: Path,
    claims: OutputClaims | None = None,
) -> Path:
    """Write the DAG's output folder; OutputRefused when it clashes with another DAG of the run
    (`claims`) or the folder there is not the bridge's."""
    name = output_folder_name(dag.dag_id)
    if claims is not None:
        claims.check(out, name, dag, source_path)
    folder = prepare_folder(out, name)
    if claims is not None:
        claims.claim(out, name, dag, source_path)
    steps_dir = folder / "steps"
    steps_dir.mkdir()
    files = assign_files(pipeline)
    arguments = plan_arguments(pipeline)
    python_files = [folder / "pipeline.py"]
    for name, step in sorted(files.items()):
        declared = arguments.declared.get(name, {})
        text = script_text(step, dag.dag_id, source_path, declared, arguments.static.get(name))
        (steps_dir / name).write_text(text, encoding="utf-8")
        if name.endswith(".py"):
            python_files.append(steps_dir / name)
    (steps_dir / RUNTIME_FILE).write_text(runtime_source(), encoding="utf-8")
    for step in pipeline.steps.values():  # extra files a rule asks for (Lambda handlers, ...)
        extra = step.spec.files if isinstance(step.spec, LambdaSpec) else None
        for name, text in sorted((extra or {}).items()):
            if name != quoting.path_component(name) or name == RUNTIME_FILE:
                raise ValueError(f"rule `{step.rule}` asks for an unsafe file name {name!r}")
            (steps_dir / name).write_text(text, encoding="utf-8")
            if name.endswith(".py"):
                python_files.append(steps_dir / name)
    (folder / "pipeline.py").write_text(
        pipeline_source(pipeline, dag, config, source_path, arguments), encoding="utf-8"
    )
    (folder / SUPPORT_FILE).write_text(support_source(), encoding="utf-8")
    format_python(python_files)
    copy_repository_data(pipeline, source_path, folder / "inputs")
    manifest = build_manifest(pipeline, dag, config, source_path)
    write_manifest(folder, manifest)
    (folder / "REPORT.md").write_text(build_report(manifest, pipeline, dag), encoding="utf-8")
    write_deploy_files(folder, pipeline.name, dag.dag_id)
    return folder


def copy_repository_data(pipeline: PipelineModel, source_path: str, inputs: Path) -> None:
    """inputs/<name>/: each data folder of the DAG's repository a step reads (checked and
    bounded by bridge.translate.data_flow), for pipeline.py to upload and `bridge run` to stage."""
    from bridge.translate.data_flow import repository_files, repository_folder

    staged = {
        f.name: f.folder
        for s in pipeline.steps.values()
        for f in getattr(script_of(s.spec), "folders", ())
        if any(i.step is None for i in f.inputs)
    }
    for name, data in sorted(staged.items()):
        root = repository_folder(Path(source_path).parent, data)
        for path in repository_files(root) if root else []:
            target = inputs / name / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def format_python(paths: list[Path]) -> None:
    """ruff: sort imports, then format. Emitted code must pass `ruff check` and compile."""
    ruff = [sys.executable, "-m", "ruff"]
    files = [str(p) for p in paths]
    options = ["--line-length", "100", "--no-cache", "--isolated"]
    subprocess.run(
        [*ruff, "check", "--select", "I,F401", "--fix", "--quiet", *options, *files],
        check=False,
        capture_output=True,
    )
    subprocess.run([*ruff, "format", "--quiet", *options, *files], check=True, capture_output=True)
