"""Isolated local steps: each Processing/Training script runs in a bubblewrap view shaped like a
job container, on the image's Python, with an audit of the files it touches outside its job.

The scripts below run for real (bwrap 0.11, the pyenv CPythons of this machine); they report
what they saw into their declared output, which the tests read back from the run's store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from bridge.compare.checks import compare_runs
from bridge.compare.html import render_html
from bridge.run import interpreters, sandbox
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import FAILED, STATUSES, SUCCEEDED, FileAccess, RunRecord, StepRun
from bridge.run.view import comparison_table
from tests.test_local_run import BUCKET, make_folder, processing_step

ROOT = Path(__file__).resolve().parents[1]
# The interpreter is re-bound at its own path: when it lives under /tmp (a checkout there, its
# .venv), that path shows in the step's otherwise empty /tmp.
INTERPRETER_IN_TMP = sorted(
    {Path(p).parts[2] for p in (sys.prefix, sys.base_prefix) if p.startswith("/tmp/")}
)
DAG_FILE = ROOT / "sample_dags" / "ml_taskflow_pipeline.py"
GOLDEN = ROOT / "tests" / "golden"

PROBE = """
    import json, os, sys, tempfile
    repo, out_folder, scratch = sys.argv[1:4]
    ml = os.environ.get("BRIDGE_ML_ROOT", "/opt/ml")  # set only without a sandbox
    out = ml + "/processing/output/out"
    os.makedirs(out, exist_ok=True)
    seen = {
        "repo": os.path.exists(repo),
        "out_folder": os.path.exists(out_folder),
        "tmp": sorted(os.listdir(tempfile.gettempdir())),
        "home": os.environ["HOME"],
        "home_entries": sorted(os.listdir(os.environ["HOME"])),
        "python": list(sys.version_info[:2]),
        "ml_root": os.environ.get("BRIDGE_ML_ROOT"),
    }
    open(os.path.join(tempfile.gettempdir(), "left-behind"), "w").write("x")  # gone for the next
    os.makedirs(scratch, exist_ok=True)  # outside /opt/ml: gone with the job
    open(os.path.join(scratch, "lost.txt"), "w").write("x")
    os.makedirs(ml + "/processing/undeclared", exist_ok=True)  # not an output: not uploaded
    open(ml + "/processing/undeclared/kept-nowhere.json", "w").write("{}")
    json.dump(seen, open(out + "/result.json", "w"))
"""

READ_DAG_FILE = """
    import os, sys
    print(open(sys.argv[1]).read()[:20])
"""


@pytest.fixture
def no_bwrap(monkeypatch):
    """This machine as one where bubblewrap cannot run."""
    sandbox.availability.cache_clear()
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    yield
    sandbox.availability.cache_clear()


def _probe_pipeline(tmp_path: Path, scratch: Path, manifest_python: str | None = None) -> Path:
    steps = []
    for name in ("first", "second"):
        step = processing_step(name, "probe.py", **({"DependsOn": ["first"]} if steps else {}))
        # a file of this repository, and the translated folder the run reads its steps from
        step["Arguments"]["AppSpecification"]["ContainerArguments"] = [
            str(ROOT / "README.md"),
            str(tmp_path / "pipeline" / "definition.json"),
            str(scratch),
        ]
        steps.append(step)
    folder = make_folder(tmp_path, steps, {"probe.py": PROBE})
    images = {"first": {"python": manifest_python}} if manifest_python else {}
    manifest = {"pipeline": {"name": "probe", "region": "us-east-1"}, "steps": images}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _seen(record: RunRecord, step: str) -> dict:
    return record.steps[step].property_files["result"]


def test_a_step_sees_only_its_job(tmp_path):
    scratch = Path("/srv") / f"bridge-sandbox-test-{uuid.uuid4().hex[:8]}"
    folder = _probe_pipeline(tmp_path, scratch)
    record = run_local(folder)
    assert record.status == SUCCEEDED, record.message
    assert record.isolated is True and record.not_faithful == []
    first, second = _seen(record, "first"), _seen(record, "second")
    assert first["repo"] is False and first["out_folder"] is False
    # private per step: first's file is gone
    assert first["tmp"] == second["tmp"] == INTERPRETER_IN_TMP
    assert first["ml_root"] is None  # real /opt/ml paths, nothing rewritten
    # HOME is empty but for the way down to the interpreter's installation, bound read-only
    under_home = {
        Path(p).relative_to(first["home"]).parts[0]
        for p in interpreters.host().prefixes
        if p.startswith(first["home"] + "/")
    }
    assert set(first["home_entries"]) <= under_home
    assert not scratch.exists()  # written outside /opt/ml: lost with the job
    uploaded = sorted(
        p.relative_to(Path(record.folder).parent / "store").as_posix()
        for p in (Path(record.folder).parent / "store").rglob("*")
        if p.is_file() and record.run_id in p.as_posix()
    )
    bucket = BUCKET.removeprefix("s3://")
    assert uploaded == [
        f"{bucket}/{record.run_id}/{s}/out/result.json" for s in ("first", "second")
    ]
    writes = {a.path for a in record.steps["first"].file_access if a.mode == "write"}
    assert {"/tmp/left-behind", str(scratch / "lost.txt")} <= writes
    assert not any(a.refused for a in record.steps["first"].file_access)


@pytest.mark.parametrize(
    ("isolation", "python"), [(True, None), (False, None), (True, "3.8")], ids=str
)
def test_reading_an_undeclared_host_file_fails_the_step(tmp_path, isolation, python):
    if python and interpreters.find(python) is None:
        pytest.skip(f"no CPython {python} here")
    step = processing_step("peek", "peek.py")
    step["Arguments"]["AppSpecification"]["ContainerArguments"] = [str(DAG_FILE)]
    folder = make_folder(tmp_path, [step], {"peek.py": READ_DAG_FILE})
    if python:
        (folder / "manifest.json").write_text(json.dumps({"steps": {"peek": {"python": python}}}))
    record = run_local(folder, RunOptions(isolation=isolation))
    peek = record.steps["peek"]
    assert peek.status == FAILED
    assert f"BRG307 {DAG_FILE} is not in this job's file system" in peek.reason
    assert "declare it as an input" in peek.reason
    assert FileAccess(str(DAG_FILE), "read", True) in peek.file_access
    if python:
        assert peek.python.startswith(python + ".")
    on_disk = RunRecord.read(Path(record.folder))
    assert on_disk.steps["peek"].file_access == peek.file_access


def test_compare_shows_the_files_a_task_used(tmp_path):
    step = processing_step("peek", "peek.py")
    step["Arguments"]["AppSpecification"]["ContainerArguments"] = [str(DAG_FILE)]
    folder = make_folder(tmp_path, [step], {"peek.py": READ_DAG_FILE})
    pipeline = run_local(folder)
    manifest = {
        "dag_id": "peeking",
        "source": {"path": "dags/peeking.py"},
        "tasks": {"peek": {"steps": ["peek"], "rule": "python", "fidelity": "exact"}},
        "steps": {"peek": {"task_id": "peek"}},
        "dag_edges": [],
        "edges": [],
    }
    airflow = RunRecord(
        engine="airflow",
        name="peeking",
        run_id="manual",
        steps={"peek": StepRun("peek", SUCCEEDED)},
    )
    comparison = compare_runs(manifest, airflow, pipeline)
    (row,) = comparison["tasks"]
    assert {"step": "peek", "path": str(DAG_FILE), "mode": "read", "refused": True} in row[
        "file_access"
    ]
    assert comparison["runs"]["pipeline"]["isolated"] is True
    page = render_html(comparison)
    assert str(DAG_FILE) in page and "refused" in page
    console = Console(record=True, width=400)
    console.print(comparison_table(comparison))
    assert f"REFUSED read {DAG_FILE}" in console.export_text()


def test_the_step_runs_on_the_images_python(tmp_path):
    found = interpreters.find("3.9")
    assert found is not None and found.version[:2] == (3, 9)
    assert found.executable != sys.executable
    folder = _probe_pipeline(tmp_path, tmp_path / "scratch", manifest_python="3.9")
    record = run_local(folder)
    assert record.status == SUCCEEDED, record.message
    assert _seen(record, "first")["python"] == [3, 9]
    assert record.steps["first"].python.startswith("3.9.")
    host = list(sys.version_info[:2])
    assert _seen(record, "second")["python"] == host  # no python recorded: the host's
    assert record.not_faithful == []


def test_a_missing_image_python_is_reported(tmp_path, capsys):
    folder = _probe_pipeline(tmp_path, tmp_path / "scratch", manifest_python="3.99")
    record = run_local(folder)
    assert record.status == SUCCEEDED, record.message
    note = f"python differs: image 3.99, ran {interpreters.host().minor}"
    assert record.steps["first"].python_note == note
    assert record.not_faithful == [f"{note} (steps first)"]
    assert "BRG308" in capsys.readouterr().err


def test_without_bwrap_the_run_is_marked_not_isolated_and_still_runs(
    tmp_path, no_bwrap, capsys, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the steps share this machine's temp folder
    folder = _probe_pipeline(tmp_path, tmp_path / "scratch")
    record = run_local(folder)
    assert record.status == SUCCEEDED, record.message
    assert record.isolated is False
    assert record.not_faithful[0].startswith("not isolated: bubblewrap (bwrap) is not installed")
    assert _seen(record, "first")["repo"] is True  # the host's disk, as the mark says
    assert _seen(record, "first")["ml_root"] == str(Path(record.folder) / "steps/first/ml")
    assert capsys.readouterr().err.count("BRG306") == 1  # loud, once per run
    on_disk = json.loads((Path(record.folder) / "run.json").read_text())
    assert on_disk["isolated"] is False and on_disk["not_faithful"] == record.not_faithful


def test_no_isolation_and_data_dir_are_marked(tmp_path):
    folder = _probe_pipeline(tmp_path, tmp_path / "scratch")
    shared = tmp_path / "shared"
    bridge = [sys.executable, "-m", "bridge.cli", "run", str(folder), "--json"]
    done = subprocess.run(
        [*bridge, "--no-isolation", "--data-dir", str(shared)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["isolated"] is False
    assert (
        record["not_faithful"][0]
        == "not isolated: turned off (--no-isolation); steps ran on this machine's file system"
    )
    assert "shared data folder" in record["not_faithful"][1]
    assert "BRG306" not in done.stderr and "BRG309" in done.stderr  # asked for: not alarmed


def test_the_sample_pipelines_run_isolated_and_leave_a_record(tmp_path):
    before = _listing(Path("/tmp/bridge_file_handoff"))
    for dag_id in ("ml_taskflow_pipeline", "ml_classic_operators", "legacy_airflow1_style"):
        folder = tmp_path / dag_id
        shutil.copytree(GOLDEN / dag_id, folder)
        record = run_local(folder)
        assert record.isolated is True
        assert RunRecord.read(Path(record.folder)).to_dict() == record.to_dict()
        assert all(s.status in STATUSES for s in record.steps.values())
        assert any(s.python for s in record.steps.values())  # at least one script job ran
    out = tmp_path / "translated"
    subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", str(ROOT / "sample_dags/file_handoff.py")]
        + ["-o", str(out)],
        capture_output=True,
        check=False,
    )
    if (out / "file_handoff" / "definition.json").is_file():
        record = run_local(out / "file_handoff")
        assert record.isolated is True and (Path(record.folder) / "run.json").is_file()
    assert _listing(Path("/tmp/bridge_file_handoff")) == before  # the DAG's host folder


def _listing(folder: Path) -> list[str]:
    return sorted(p.as_posix() for p in folder.rglob("*")) if folder.is_dir() else []


def test_bridge_serve_runs_executions_isolated(tmp_path, monkeypatch):
    import boto3
    from botocore.config import Config

    from bridge.serve.server import serve

    token = "BRGSANDBOXTESTS000000000000000"
    for name, value in {
        "AWS_ACCESS_KEY_ID": token,
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)
    folder = _probe_pipeline(tmp_path, tmp_path / "scratch")
    with serve([folder.parent], tmp_path / "state", port=0, token=token) as server:
        sm = boto3.client(
            "sagemaker", endpoint_url=server.url, config=Config(retries={"mode": "standard"})
        )
        arn = sm.start_pipeline_execution(PipelineName="probe")["PipelineExecutionArn"]
        deadline = time.monotonic() + 60
        while sm.describe_pipeline_execution(PipelineExecutionArn=arn)[
            "PipelineExecutionStatus"
        ] in ("Executing", "Stopping"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    record = RunRecord.read(tmp_path / "state" / "runs" / arn.rsplit("/", 1)[-1])
    assert record.status == SUCCEEDED, record.message
    assert record.isolated is True
    assert _seen(record, "first")["repo"] is False
    assert _seen(record, "first")["tmp"] == INTERPRETER_IN_TMP
