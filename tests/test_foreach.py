"""A task mapped over a list known only at run time becomes a ForEachStep (one child job per
element) when one argument is mapped over one upstream XCom; its readers get the list of the
instances' values in order, as in Airflow. Other shapes keep the one-job loop.

The definition comes from the real SDK (translate validates by building it); `bridge run` and
`bridge serve` execute it; `bridge compare` holds it against Airflow's dag.test()."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.compare.side_by_side import CompareOptions, compare_dags
from bridge.config import BridgeConfig
from bridge.definition import all_steps
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.run import step_runtime
from bridge.run.engine import RunOptions, run_local
from bridge.serve.server import serve
from bridge.translate.for_each import EMPTY_LIST_DIFFERENCE
from tests.serve_user import serve_client, user_env
from translators.registry import Registry

DAG_ID = "mapped_over_runtime"
LOGICAL_DATE = "2026-01-05T00:00:00+00:00"
CURRENT_ITEM = {"Get": "ForEach.CurrentItem"}
SIZES = [3, 1, 3, 2]  # equal elements stay apart: the children iterate indexes, not values

RUNTIME_DAG = textwrap.dedent(
    f'''
    import pendulum
    from airflow.sdk import dag, task


    @dag(dag_id="{DAG_ID}", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
         catchup=False, max_active_tasks=4)
    def mapped_over_runtime():
        @task
        def sizes() -> list:
            return {SIZES!r}

        @task
        def base() -> int:
            return 10

        @task
        def scale(offset: int, size: int) -> dict:
            return {{"size": size, "scaled": offset + size * size}}

        @task
        def total(results) -> dict:
            results = list(results)
            return {{"sizes": [r["size"] for r in results], "sum": sum(r["scaled"] for r in results)}}

        total(scale.partial(offset=base()).expand(size=sizes()))


    mapped_over_runtime()
    '''
)

LOOP_DAG = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import dag, task


    @dag(dag_id="mapped_as_a_loop", schedule=None, start_date=pendulum.datetime(2024, 1, 1))
    def mapped_as_a_loop():
        @task
        def numbers() -> list:
            return [1, 2]

        @task
        def pairs() -> list:
            return [{"a": 1, "b": 2}]

        @task
        def add(a: int, b: int) -> int:
            return a + b

        add.override(task_id="cross").expand(a=numbers(), b=numbers())
        add.override(task_id="by_kwargs").expand_kwargs(pairs())


    mapped_as_a_loop()
    """
)


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> dict:
    dags = tmp_path_factory.mktemp("dags")
    out = tmp_path_factory.mktemp("out")
    files = {DAG_ID: dags / f"{DAG_ID}.py", "mapped_as_a_loop": dags / "mapped_as_a_loop.py"}
    files[DAG_ID].write_text(RUNTIME_DAG)
    files["mapped_as_a_loop"].write_text(LOOP_DAG)
    for path in files.values():
        translate_file(path, Registry.default(), BridgeConfig(), out)
    verdicts = validate_folders([out / dag_id for dag_id in files])  # builds definition.json
    assert all(v["ok"] for v in verdicts.values()), verdicts
    return {"out": out, "files": files}


def load(translated, dag_id: str) -> tuple[dict, dict]:
    folder = translated["out"] / dag_id
    definition = json.loads((folder / "definition.json").read_text())
    return definition, json.loads((folder / "manifest.json").read_text())


def test_the_definition_has_a_for_each_over_the_upstream_list(translated):
    definition, manifest = load(translated, DAG_ID)
    steps = {s["Name"]: s for s in definition["Steps"]}
    (scale_step,) = manifest["tasks"]["scale"]["steps"]
    for_each = steps[scale_step]
    assert for_each["Type"] == "ForEach"
    args = for_each["Arguments"]
    (sizes_step,) = manifest["tasks"]["sizes"]["steps"]
    assert args["IterableItems"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": f"Steps.{sizes_step}.PropertyFiles.xcom"},
            "Path": "bridge_map_items.return_value",
        }
    }
    assert args["MaxConcurrency"] == 4  # the DAG's max_active_tasks
    (body,) = args["ForEachBody"]
    assert body["Type"] == "Processing" and body["Name"] == f"{scale_step}-item"
    container = body["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert container[container.index("--map-index") + 1] == CURRENT_ITEM
    (xcom_out,) = body["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert xcom_out["S3Output"]["S3Uri"]["Std:Join"]["Values"][-3:] == [
        "xcom",
        scale_step,
        CURRENT_ITEM,
    ]
    # The reader mounts the children's prefix and waits for the ForEach step.
    (total_step,) = manifest["tasks"]["total"]["steps"]
    reader = steps[total_step]
    assert scale_step in reader["DependsOn"]
    (mounted,) = [
        i for i in reader["Arguments"]["ProcessingInputs"] if i["InputName"] == f"xcom-{scale_step}"
    ]
    assert mounted["S3Input"]["S3Uri"]["Std:Join"]["Values"][-3:] == ["xcom", scale_step, ""]
    # The producer writes the indexes the ForEach iterates over.
    script = (translated["out"] / DAG_ID / "steps" / "sizes.py").read_text()
    assert '"map_items": ["return_value"]' in script
    outcome = manifest["tasks"]["scale"]
    assert outcome["fidelity"] == "approximate"
    assert EMPTY_LIST_DIFFERENCE in outcome["differences"]
    assert not any("in turn" in d for d in outcome["differences"])
    assert "BRG204" not in {d["code"] for d in manifest["diagnostics"]}


def test_cross_products_and_expand_kwargs_keep_the_one_job_loop(translated):
    definition, manifest = load(translated, "mapped_as_a_loop")
    assert not [s for s in definition["Steps"] if s["Type"] == "ForEach"]
    steps = all_steps(definition["Steps"])
    for task_id in ("cross", "by_kwargs"):
        (name,) = manifest["tasks"][task_id]["steps"]
        assert steps[name]["Type"] == "Processing"
        assert any("in turn" in d for d in manifest["tasks"][task_id]["differences"])
    warned = [d for d in manifest["diagnostics"] if d["code"] == "BRG204"]
    assert len(warned) == 2


def test_bridge_run_runs_one_child_per_element_and_readers_see_the_list(translated, tmp_path):
    record = run_local(translated["out"] / DAG_ID, RunOptions(run_root=tmp_path / "runs"))
    assert record.status == "Succeeded", record.message
    _, manifest = load(translated, DAG_ID)
    (scale_step,) = manifest["tasks"]["scale"]["steps"]
    children = [f"{scale_step}-item-{i}" for i in range(len(SIZES))]
    assert all(record.steps[c].status == "Succeeded" for c in children)
    parent = record.steps[scale_step]
    assert parent.kind == "ForEach"
    assert parent.outputs == {
        "Status": "Succeeded",
        "InputItemCount": 4,
        "TotalStepCount": 4,
        "SucceededStepCount": 4,
        "FailedStepCount": 0,
        "StoppedStepCount": 0,
    }
    expected = [{"size": s, "scaled": 10 + s * s} for s in SIZES]
    assert parent.property_files["xcom"]["return_value"] == expected
    assert [record.steps[c].property_files["xcom"]["return_value"] for c in children] == expected
    (total_step,) = manifest["tasks"]["total"]["steps"]
    assert record.steps[total_step].property_files["xcom"]["return_value"] == {
        "sizes": SIZES,
        "sum": sum(10 + s * s for s in SIZES),
    }


def test_compare_agrees_with_airflow(translated):
    options = CompareOptions(out=translated["out"], logical_date=LOGICAL_DATE, reuse=True)
    (comparison,) = compare_dags([translated["files"][DAG_ID]], options)
    tasks = {t["task_id"]: t for t in comparison["tasks"]}
    differences = {t: [c["detail"] for c in r["checks"] if not c["ok"]] for t, r in tasks.items()}
    assert comparison["verdict"] == "equivalent", differences
    for task_id in ("scale", "total"):
        assert any(c["check"] == "xcom" and c["ok"] for c in tasks[task_id]["checks"]), task_id


def test_the_runtime_runs_one_instance_and_writes_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr(step_runtime, "OUTPUT_DIR", tmp_path)
    call = {"op_kwargs": {"offset": 1, "size": [5, 6, 7]}, "map_index": 1}
    step_runtime.run_call(call, lambda offset, size: offset + size, "python", "t", ["size"])
    assert json.loads((tmp_path / "xcom.json").read_text())["return_value"] == 7
    step_runtime.run_call({"map_items": ["return_value"]}, lambda: {"a": 1}, "python", "p")
    written = json.loads((tmp_path / "xcom.json").read_text())
    assert json.loads(written["bridge_map_items"]["return_value"]) == ["0"]
    with pytest.raises(SystemExit, match="UnmappableXComTypePushed"):
        step_runtime.run_call({"map_items": ["return_value"]}, lambda: 3, "python", "p")


# ---- `bridge serve`: children in ListPipelineExecutionSteps ------------------------------------

TOKEN = "BRGFOREACHTESTS00000000000000000"
ROLE = "arn:aws:iam::000000000000:role/ForEachTests"
BRIDGE = Path(sys.executable).parent / "bridge"


def test_serve_lists_the_children_with_their_iteration(translated, tmp_path):
    import shutil

    folder = tmp_path / DAG_ID
    shutil.copytree(translated["out"] / DAG_ID, folder, ignore=shutil.ignore_patterns("runs"))
    _, manifest = load(translated, DAG_ID)
    (scale_step,) = manifest["tasks"]["scale"]["steps"]
    with serve([], tmp_path / "state", port=0, token=TOKEN) as server:
        done = subprocess.run(
            [str(BRIDGE), "run", str(folder), "--json", "--engine", "aws"]
            + ["--endpoint-url", server.url],
            capture_output=True,
            text=True,
            env=user_env(tmp_path, TOKEN, ROLE),
            cwd=tmp_path,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        arn = json.loads(done.stdout)["run_id"]
        sm = serve_client(server.url, TOKEN, "sagemaker", retries={"max_attempts": 1})
        pages = sm.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=arn)
        rows = {r["StepName"]: r for page in pages for r in page["PipelineExecutionSteps"]}
    parent = rows[scale_step]
    assert parent["StepStatus"] == "Succeeded"
    assert parent["Metadata"]["ForEach"]["InputItemCount"] == len(SIZES)
    assert parent["Metadata"]["ForEach"]["SucceededStepCount"] == len(SIZES)
    for i in range(len(SIZES)):
        child = rows[f"{scale_step}-item-{i}"]
        assert child["StepStatus"] == "Succeeded"
        assert child["IterationContext"] == {
            "ParentStepName": scale_step,
            "Index": i,
            "Item": str(i),
        }
        assert "ProcessingJob" in child["Metadata"]
