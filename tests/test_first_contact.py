"""A new user's first commands, the way they type them: from their own folder, relative paths,
default options, a fresh translation. Each command must succeed, and nothing may be written
outside the output folder they named (nor in this repository)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.run.sandbox import availability

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = Path(sys.executable).with_name("bridge")
SAMPLE = "ml_classic_operators"
pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def _tree(folder: Path, skip: str) -> dict[str, int]:
    """Every file and folder under `folder` (outside `skip`), with its size."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] != skip:
            found[relative.as_posix()] = path.stat().st_size if path.is_file() else -1
    return found


def _git_status() -> str | None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _bridge(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    return subprocess.run(
        [str(BRIDGE), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory) -> Path:
    """A user's project: their DAG and its data, nothing of ours."""
    home = tmp_path_factory.mktemp("user")
    (home / "dags").mkdir()
    shutil.copy(ROOT / "sample_dags" / f"{SAMPLE}.py", home / "dags")
    shutil.copytree(ROOT / "sample_dags" / "data", home / "dags" / "data")
    return home


def test_translate_validate_run_compare_with_relative_paths(user_folder):
    before, repo_before = _tree(user_folder, "out"), _git_status()

    translated = _bridge(user_folder, "translate", f"dags/{SAMPLE}.py", "-o", "out")
    assert translated.returncode == 0, translated.stderr
    assert "valid" in translated.stdout and "INVALID" not in translated.stdout
    folder = user_folder / "out" / SAMPLE
    assert (folder / "definition.json").is_file()

    validated = _bridge(user_folder, "validate", f"out/{SAMPLE}")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert f"{SAMPLE}: valid" in validated.stdout

    # No data option: the DAG's data/ folder went into the translation, its steps get it as
    # job inputs, and each step runs isolated when bubblewrap can run here.
    ran = _bridge(user_folder, "run", f"out/{SAMPLE}")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    records = list((folder / "runs").glob("*/run.json"))
    assert len(records) == 1, "the run record is inside the output folder"
    record = json.loads(records[0].read_text())
    assert record["isolated"] is availability().isolated, record["not_faithful"]
    assert record["data_dir"] == ""

    compared = _bridge(user_folder, "compare", f"dags/{SAMPLE}.py")
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert list((folder / "compare").glob("*/compare.html")), "the report is inside out/"
    assert list((folder / "runs").glob("*/run.json")) == records, "translating again keeps runs"

    assert _tree(user_folder, "out") == before, "nothing written outside out/"
    assert _git_status() == repo_before, "the repository is untouched"


def test_validate_works_from_anywhere(user_folder, tmp_path):
    """The output folder, not the working directory, decides what is validated."""
    translated = _bridge(user_folder, "translate", f"dags/{SAMPLE}.py", "-o", "elsewhere")
    assert translated.returncode == 0, translated.stderr
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    target = os.path.relpath(user_folder / "elsewhere" / SAMPLE, elsewhere)
    validated = _bridge(elsewhere, "validate", target)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert list(elsewhere.iterdir()) == []
