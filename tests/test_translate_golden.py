"""Golden output for every sample DAG: `bridge translate` regenerates it and it must not change.

After an intended change: `BRIDGE_UPDATE_GOLDEN=1 pytest tests/test_translate_golden.py`, then
review the diff of tests/golden/ like any other code change.
"""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import REPORT_SECTION, validate_folders
from tests.conftest import ROOT, SAMPLE_DAGS
from translators.registry import Registry

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = sorted(SAMPLE_DAGS.glob("*.py"))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> dict[str, Path]:
    """Every sample DAG translated (relative paths, as a user runs it) and validated once."""
    out = tmp_path_factory.mktemp("golden-out")
    registry = Registry.default()
    folders = {}
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        for path in SAMPLES:
            for dag in translate_file(path.relative_to(ROOT), registry, BridgeConfig(), out).dags:
                folders[dag.dag_id] = dag.folder
        verdicts = validate_folders(list(folders.values()))
    finally:
        os.chdir(cwd)
    for folder, verdict in verdicts.items():
        assert verdict == {"ok": True, "problems": []}, folder
    return folders


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_golden_output_unchanged(translated):
    update = os.environ.get("BRIDGE_UPDATE_GOLDEN") == "1"
    for dag_id, folder in translated.items():
        golden = GOLDEN / dag_id
        if update:
            shutil.rmtree(golden, ignore_errors=True)
            shutil.copytree(folder, golden, ignore=shutil.ignore_patterns("__pycache__"))
            continue
        produced, expected = _files(folder), _files(golden)
        assert sorted(produced) == sorted(expected), dag_id
        changed = [name for name in produced if produced[name] != expected[name]]
        assert changed == [], f"{dag_id}: {changed} differ from tests/golden (see module doc)"


def _ruff_check(files: list[Path], *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", *options, *files],
        capture_output=True,
        text=True,
        check=False,
    )


def test_emitted_python_passes_ruff_and_compiles(translated):
    """pipeline.py passes the project's own rule set; step scripts (which carry the user's
    extracted code) pass ruff's defaults."""
    pipelines = [folder / "pipeline.py" for folder in translated.values()]
    scripts = [p for folder in translated.values() for p in (folder / "steps").glob("*.py")]
    assert len(scripts) > 20
    for path in pipelines + scripts:
        py_compile.compile(str(path), doraise=True)
    strict = _ruff_check(
        pipelines, "--line-length", "100", "--select", "E,F,I,UP,B", "--ignore", "E501"
    )
    assert strict.returncode == 0, strict.stdout
    default = _ruff_check(scripts)
    assert default.returncode == 0, default.stdout


VALIDATION_FILES = {"definition.json", "artifacts.json"}


def test_translation_is_deterministic(translated, tmp_path):
    registry = Registry.default()
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        path = Path("sample_dags/ml_classic_operators.py")
        (again,) = translate_file(path, registry, BridgeConfig(), tmp_path).dags
    finally:
        os.chdir(cwd)
    first = {k: v for k, v in _files(translated["ml_classic_operators"]).items()}
    second = _files(again.folder)
    # Validation writes these (definition, artifacts, iam/, and the definition's size in the
    # manifest and REPORT.md); the second run is not validated.
    first = {
        k: v for k, v in first.items() if k not in VALIDATION_FILES and not k.startswith("iam/")
    }
    manifest = json.loads(first.pop("manifest.json"))
    assert manifest.pop("definition")["steps"] > 0
    assert manifest == json.loads(second.pop("manifest.json"))
    report, section = first.pop("REPORT.md").decode().split("\n" + REPORT_SECTION + "\n")
    assert "steps" in section
    assert report.rstrip("\n") == second.pop("REPORT.md").decode().rstrip("\n")
    assert first == second


def test_every_sample_task_is_in_its_manifest(translated):
    import json

    from bridge.parse.dag_file import parse_file

    for path in SAMPLES:
        for dag in parse_file(path).dags:
            manifest = json.loads((translated[dag.dag_id] / "manifest.json").read_text())
            assert set(manifest["tasks"]) == set(dag.tasks)
            assert manifest["summary"]["tasks"] == len(dag.tasks)
