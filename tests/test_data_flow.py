"""The data contract between steps (issue 14, item 3): files tasks hand each other through a
worker folder become job outputs and inputs wired from producer to consumer; the step runtime
stages them where the task's code expects them; what cannot be wired is a difference.

Translations run on the real file analysis and the real SageMaker SDK v3 (definition.json built
offline); runs use the local engine, sandboxed when bubblewrap runs here.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

import bridge.run.step_runtime as runtime
import translators.common
from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.run import sandbox
from bridge.run.engine import RunOptions, run_local
from bridge.run.record import SUCCEEDED
from bridge.translate import data_flow
from bridge.translate.data_flow import folder_names
from bridge.translate.files.model import Access, Folder, TaskFiles, Unresolved
from bridge.translate.step_specs import script_of
from tests.step_calls import static_call
from translators.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_dags" / "file_handoff.py"
DS = "2024-03-05"
REGISTRY = Registry.default()


def _handoff_copy(base: Path) -> tuple[Path, str]:
    """file_handoff.py with its worker folder moved to a folder of this test (so a test never
    meets another's files), next to a copy of its data/."""
    work_dir = str(base / "bridge_file_handoff")
    dags = base / "dags"
    dags.mkdir()
    source = SAMPLE.read_text().replace('"/tmp/bridge_file_handoff"', repr(work_dir))
    assert work_dir in source
    (dags / "file_handoff.py").write_text(source)
    shutil.copytree(SAMPLE.parent / "data", dags / "data")
    return dags / "file_handoff.py", work_dir


def _translate(path: Path, out: Path | None):
    (dag,) = translate_file(path, REGISTRY, BridgeConfig(), out).dags
    return dag


@pytest.fixture(scope="module")
def handoff(tmp_path_factory):
    """The sample translated and validated once: (output folder, definition, worker folder)."""
    base = tmp_path_factory.mktemp("handoff")
    path, work_dir = _handoff_copy(base)
    dag = _translate(path, base / "out")
    verdict = validate_folders([dag.folder])[str(dag.folder.resolve())]
    assert verdict["ok"], verdict
    definition = json.loads((dag.folder / "definition.json").read_text())
    return dag.folder, definition, work_dir


def _steps(definition: dict) -> dict[str, dict]:
    return {s["Name"]: s["Arguments"] for s in definition["Steps"]}


def _folder_inputs(arguments: dict) -> list[tuple[str, object]]:
    """(local path, S3 URI) of a step's inputs under the shared-folder mounts."""
    return [
        (i["S3Input"]["LocalPath"], i["S3Input"]["S3Uri"])
        for i in arguments["ProcessingInputs"]
        if i["S3Input"]["LocalPath"].startswith("/opt/ml/processing/input/files/")
    ]


def _output_property(step: str, name: str) -> dict:
    """The producer's output URI, read as a prefix ("<uri>/")."""
    output = {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"}
    return {"Std:Join": {"On": "/", "Values": [output, ""]}}


def test_each_consumer_reads_the_folder_from_the_outputs_of_the_steps_before_it(handoff):
    folder, definition, _ = handoff
    steps = _steps(definition)
    name = "bridge_file_handoff"
    expected = {
        "extract": [],
        "stage": ["extract"],
        "summarize": ["extract", "stage"],
        "publish": ["extract", "stage", "summarize"],
    }
    for step, producers in expected.items():
        inputs = _folder_inputs(steps[step])
        assert [uri for _, uri in inputs] == [_output_property(p, name) for p in producers]
        assert [path for path, _ in inputs] == [
            f"/opt/ml/processing/input/files/{name}/{p}" for p in producers
        ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {t: info["fidelity"] for t, info in manifest["tasks"].items()} == dict.fromkeys(
        expected, "exact"
    )
    (shared,) = manifest["steps"]["summarize"]["folders"]
    assert shared["path"].endswith("/bridge_file_handoff") and shared["kind"] == "path"
    assert shared["inputs_from"] == ["extract", "stage"] and shared["output"] == name


def test_a_folder_a_step_writes_is_an_output_under_the_execution_prefix(handoff):
    folder, definition, _ = handoff
    steps = _steps(definition)
    writers = {
        name
        for name, arguments in steps.items()
        if any(
            o["OutputName"] == "bridge_file_handoff"
            for o in arguments["ProcessingOutputConfig"]["Outputs"]
        )
    }
    assert writers == {"extract", "stage", "summarize"}  # publish only reads it
    for name in writers:
        (output,) = [
            o
            for o in steps[name]["ProcessingOutputConfig"]["Outputs"]
            if o["OutputName"] == "bridge_file_handoff"
        ]
        assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output/bridge_file_handoff"
        parts = output["S3Output"]["S3Uri"]["Std:Join"]["Values"]
        assert {"Get": "Execution.PipelineExecutionId"} in parts
        assert parts[-2:] == [name, "bridge_file_handoff"]
    # The step runtime is told where the task's path goes (its own output when it writes it)
    # by the step's script, which holds the static part of its call.
    (shared,) = static_call(folder, "stage")["folders"]
    assert shared["kind"] == "path"
    assert shared["work"] == "/opt/ml/processing/output/bridge_file_handoff"
    assert shared["inputs"] == ["/opt/ml/processing/input/files/bridge_file_handoff/extract"]
    arguments = steps["stage"]["AppSpecification"]["ContainerArguments"]
    assert all(len(a) <= 256 for a in arguments if isinstance(a, str))  # a job argument's limit


def test_the_dags_own_data_is_an_input_listed_in_artifacts(handoff):
    folder, definition, _ = handoff
    (repository,) = [
        i
        for i in _steps(definition)["extract"]["ProcessingInputs"]
        if i["S3Input"]["LocalPath"] == "/opt/ml/processing/input/repository/data"
    ]
    uri = repository["S3Input"]["S3Uri"]
    assert isinstance(uri, str) and uri.startswith("s3://")
    artifacts = json.loads((folder / "artifacts.json").read_text())
    assert uri.endswith("/")  # a folder: `data2/` is not inside it
    staged = {key[len(uri) :]: value for key, value in artifacts.items() if key.startswith(uri)}
    data = SAMPLE.parent / "data"
    assert staged == {p.name: f"inputs/data/{p.name}" for p in data.iterdir() if p.is_file()}
    for name, relative in staged.items():
        assert (folder / relative).read_bytes() == (data / name).read_bytes()
    report = (folder / "REPORT.md").read_text()
    assert "## Files between steps" in report and "`inputs/data`" in report


def _expected_summary(data: Path) -> tuple[int, str]:
    with open(data / "sales.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    revenue: dict[str, float] = {}
    for row in rows:
        revenue[row["region"]] = revenue.get(row["region"], 0.0) + int(row["units"]) * float(
            row["unit_price"]
        )
    return len(rows), max(revenue, key=revenue.get)


def test_the_pipeline_runs_with_files_handed_through_job_outputs(handoff, tmp_path):
    folder, _, work_dir = handoff
    record = run_local(folder, RunOptions(parameters={"ds": DS}, run_root=tmp_path / "runs"))
    assert record.status == SUCCEEDED, record.message
    assert record.isolated is sandbox.availability().isolated
    orders, best = _expected_summary(SAMPLE.parent / "data")
    published = record.steps["publish"].property_files["xcom"]["return_value"]
    assert published == f"{DS}: {orders} orders, best region {best}"
    # The worker folder of the DAG is never made on this machine: each step had its own copy.
    assert not os.path.lexists(work_dir)
    # Each output holds only what its step wrote, not the files staged from before.
    store = tmp_path / "runs" / "store"
    (prefix,) = store.glob(f"*/file-handoff/{record.run_id}")
    written = {
        step: sorted(p.name for p in (prefix / step / "bridge_file_handoff").iterdir())
        for step in ("extract", "stage", "summarize")
    }
    assert written == {
        "extract": [".bridge-folder", f"raw_{DS}.csv"],
        "stage": [".bridge-folder", f"staged_{DS}.csv", f"staged_{DS}.ok"],
        "summarize": [".bridge-folder", f"summary_{DS}.json"],
    }


def _dag_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "dag.py"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def test_a_host_file_no_task_writes_makes_the_task_approximate(tmp_path):
    path = _dag_file(
        tmp_path,
        """
        import pendulum
        from airflow.sdk import DAG, task

        @task
        def load() -> int:
            with open("/data/bridge_nobody_writes/in.csv") as f:
                return len(f.read())

        @task
        def tally(n: int) -> int:
            with open("/tmp/bridge_later_folder/out.txt") as f:
                return n + len(f.read())

        @task
        def later() -> None:
            with open("/tmp/bridge_later_folder/out.txt", "w") as f:
                f.write("x")

        with DAG("host_read", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
            tally(load()) >> later()
        """,
    )
    pipeline = _translate(path, None).pipeline
    load, tally = pipeline.outcomes["load"], pipeline.outcomes["tally"]
    assert load.fidelity == "approximate"
    assert any(
        "/data/bridge_nobody_writes/in.csv (line 6)" in d and "no task of the DAG writes" in d
        for d in load.differences
    ), load.differences
    assert tally.fidelity == "approximate"
    assert any("(line 11)" in d and "only later write" in d for d in tally.differences)
    assert pipeline.outcomes["later"].fidelity == "exact"  # its file is its own output
    (later,) = script_of(pipeline.steps["later"].spec).folders
    assert later.writes and later.inputs == ()


def test_a_branch_copy_reads_only_the_producers_on_its_path(tmp_path):
    path = _dag_file(
        tmp_path,
        """
        import pendulum
        from airflow.sdk import DAG, task

        WORK = "/tmp/bridge_branch_files"

        @task
        def prepare() -> None:
            with open(f"{WORK}/base.txt", "w") as f:
                f.write("base")

        @task.branch
        def choose() -> str:
            return "left"

        @task
        def left() -> None:
            with open(f"{WORK}/left.txt", "w") as f:
                f.write("l")

        @task
        def right() -> None:
            with open(f"{WORK}/right.txt", "w") as f:
                f.write("r")

        @task(trigger_rule="none_failed_min_one_success")
        def join() -> str:
            with open(f"{WORK}/base.txt") as f:
                return f.read()

        with DAG("branch_files", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
            prepare() >> choose() >> [left(), right()] >> join()
        """,
    )
    pipeline = _translate(path, None).pipeline
    assert pipeline.outcomes["join"].steps == ["join-via-left", "join-via-right"]
    for side, other in (("left", "right"), ("right", "left")):
        (shared,) = script_of(pipeline.steps[f"join-via-{side}"].spec).folders
        assert [i.step for i in shared.inputs] == ["prepare", side], other
        assert not shared.writes
        assert shared.work == "/opt/ml/processing/work/bridge_branch_files"
    assert pipeline.outcomes["join"].fidelity == "exact"


def test_unresolved_paths_and_job_limits_are_differences(tmp_path, monkeypatch):
    """The wiring on hand-built analysis results: what the analysis could not resolve, and a
    consumer of more folders than a processing job can mount."""
    folders = [Folder(kind="path", key=f"/tmp/bridge_many_{i}") for i in range(9)]
    files = {
        "produce": TaskFiles(
            accesses=tuple(
                Access(folder=f, mode="write", path=f"{f.key}/x", line=5) for f in folders
            )
        ),
        "consume": TaskFiles(
            accesses=tuple(
                Access(folder=f, mode="read", path=f"{f.key}/x", line=9) for f in folders
            ),
            unresolved=(Unresolved(expression="pick()", line=10, why="computed at run time"),),
        ),
    }
    monkeypatch.setattr(
        translators.common,
        "python_task_files",
        lambda task, ctx, script: files.get(task.task_id, TaskFiles()),
    )
    path = _dag_file(
        tmp_path,
        """
        import pendulum
        from airflow.sdk import DAG, task

        @task
        def produce() -> None:
            pass

        @task
        def consume() -> None:
            pass

        with DAG("many_folders", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
            produce() >> consume()
        """,
    )
    dag = _translate(path, None)
    consume = dag.pipeline.outcomes["consume"]
    assert consume.fidelity == "approximate"
    assert any("`pick()` (line 10) is: computed at run time" in d for d in consume.differences)
    assert any("needs 11 job inputs" in d for d in consume.differences)
    assert "BRG238" in {d.code for d in dag.diagnostics}
    assert dag.pipeline.outcomes["produce"].fidelity == "exact"  # 9 folders + XCom: 10 outputs


def test_repository_data_over_the_limit_is_not_copied(tmp_path, monkeypatch):
    monkeypatch.setattr(data_flow, "REPOSITORY_LIMIT", 1000)  # sales.csv alone is larger
    path, _ = _handoff_copy(tmp_path)
    dag = _translate(path, tmp_path / "out")
    extract = dag.pipeline.outcomes["extract"]
    assert extract.fidelity == "approximate"
    assert any("too large to copy" in d for d in extract.differences)
    assert "BRG236" in {d.code for d in dag.diagnostics}
    assert not (dag.folder / "inputs").exists()
    assert dag.pipeline.outcomes["stage"].fidelity == "exact"  # its inputs are upstream outputs


def test_folder_names_are_readable_unique_and_stable():
    tmp = Folder(kind="path", key="/tmp/bridge_file_handoff")
    env = Folder(kind="env", key="BRIDGE_DATA_DIR")
    data = Folder(kind="dag", key="data")
    other_data = Folder(kind="path", key="/srv/data")
    xcom = Folder(kind="path", key="/tmp/xcom")
    names = folder_names([tmp, env, data, other_data, xcom])
    assert names[tmp] == "bridge_file_handoff" and names[env] == "bridge_data_dir"
    assert names[data] != names[other_data] and names[data].startswith("data_")
    assert names[xcom] == "folder_xcom"  # no prefix of it matches the steps' XCom output
    assert len(set(names.values())) == 5
    assert folder_names([other_data, data, env, tmp, xcom]) == names  # order does not matter
    assert folder_names([tmp])[tmp] == names[tmp]  # nor do the other folders, unless they clash


# --- the step runtime --------------------------------------------------------------------------


@pytest.fixture
def ml_root(tmp_path, monkeypatch):
    """The runtime as `bridge run` starts it without a sandbox: /opt/ml under a folder."""
    root = tmp_path / "ml"
    monkeypatch.setattr(runtime, "ML_ROOT", str(root))
    return root


def _input(ml_root: Path, name: str, files: dict[str, str]) -> str:
    local = f"/opt/ml/processing/input/files/shared/{name}"
    for relative, text in files.items():
        target = Path(runtime.container_path(local)) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return local


def test_runtime_stages_inputs_in_order_and_uploads_only_what_the_step_wrote(ml_root, tmp_path):
    first = _input(ml_root, "first", {"a.txt": "first", "sub/b.txt": "first"})
    second = _input(ml_root, "second", {"a.txt": "second", runtime.FOLDER_MARKER: "marker"})
    original = tmp_path / "worker" / "deep" / "shared"
    call = {
        "folders": [
            {
                "kind": "path",
                "key": str(original),
                "work": "/opt/ml/processing/output/shared",
                "inputs": [first, second],
            }
        ]
    }
    shared = runtime.stage_folders(call, code_dir=tmp_path / "code")
    work = ml_root / "processing" / "output" / "shared"
    assert original.is_symlink() and original.resolve() == work.resolve()
    assert (original / "a.txt").read_text() == "second"  # the later producer wins
    assert (original / "sub" / "b.txt").read_text() == "first"
    assert not (original / runtime.FOLDER_MARKER).exists()
    (original / "sub" / "b.txt").write_text("changed by the step")
    (original / "new.txt").write_text("new")
    runtime.release_folders(shared)
    kept = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    assert kept == [runtime.FOLDER_MARKER, "new.txt", "sub/b.txt"]
    assert not os.path.lexists(tmp_path / "worker")  # the link and the folders made for it


def test_runtime_points_the_dags_folder_and_variables_at_the_staged_copy(
    ml_root, tmp_path, monkeypatch
):
    repository = "/opt/ml/processing/input/repository/data"
    target = Path(runtime.container_path(repository)) / "sales.csv"
    target.parent.mkdir(parents=True)
    target.write_text("region\n")
    monkeypatch.setenv("BRIDGE_DATA_DIR", "/somewhere/else")
    code = tmp_path / "code"
    code.mkdir()
    call = {
        "env": {"MODE": "x"},
        "folders": [
            {
                "kind": "dag",
                "key": "data",
                "work": "/opt/ml/processing/work/data",
                "inputs": [repository],
            },
            {
                "kind": "env",
                "key": "BRIDGE_DATA_DIR",
                "work": "/opt/ml/processing/output/bridge_data_dir",
                "inputs": [],
            },
        ],
    }
    shared = runtime.stage_folders(call, code_dir=code)
    assert (code / "data" / "sales.csv").read_text() == "region\n"
    output = str(ml_root / "processing" / "output" / "bridge_data_dir")
    assert os.environ["BRIDGE_DATA_DIR"] == output
    assert call["env"] == {"MODE": "x", "BRIDGE_DATA_DIR": output}  # a bash task's own env
    runtime.release_folders(shared)
    assert not os.path.lexists(code / "data")


def test_runtime_never_replaces_a_path_that_exists_on_this_machine(ml_root, tmp_path):
    original = tmp_path / "existing"
    original.mkdir()
    (original / "keep.txt").write_text("mine")
    call = {
        "folders": [
            {
                "kind": "path",
                "key": str(original),
                "work": "/opt/ml/processing/work/x",
                "inputs": [],
            }
        ]
    }
    with pytest.raises(SystemExit, match="already exists on this machine"):
        runtime.stage_folders(call, code_dir=tmp_path)
    assert (original / "keep.txt").read_text() == "mine" and not original.is_symlink()


def test_runtime_reads_the_folder_arguments_the_pipeline_passes():
    call = runtime.parse_args(
        [
            "--folder",
            "path",
            "/tmp/x",
            "/opt/ml/processing/output/x",
            "--folder-input",
            "/opt/ml/processing/input/files/x/a",
            "--folder-input",
            "/opt/ml/processing/input/files/x/b",
            "--folder",
            "env",
            "OUT",
            "/opt/ml/processing/work/out",
        ]
    )
    assert call["folders"] == [
        {
            "kind": "path",
            "key": "/tmp/x",
            "work": "/opt/ml/processing/output/x",
            "inputs": ["/opt/ml/processing/input/files/x/a", "/opt/ml/processing/input/files/x/b"],
        },
        {"kind": "env", "key": "OUT", "work": "/opt/ml/processing/work/out", "inputs": []},
    ]
