"""A SageMaker processing job takes at most 10 inputs. A script step that reads more upstream
XComs than fit (with its code, the runtime and its folder inputs) mounts the execution's whole
XCom prefix in one input, names its producers in depends_on and tells the runtime which step
holds each task's value ("xcom_steps"); steps that fit keep one input per upstream XCom.

Proof on dynamic_feature_pipeline (select_best_model read 11 XComs: 14 inputs) and on a DAG of
12 tasks feeding one consumer: both validate, run isolated, agree with `dag.test()` and, for the
second, run on `bridge serve` through the AWS engine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.compare.checks import values_equal
from bridge.compare.side_by_side import CompareOptions, compare_dags
from bridge.config import BridgeConfig
from bridge.definition import all_steps
from bridge.emit.translate_files import translate_file
from bridge.emit.validate import validate_folders
from bridge.run import step_runtime
from bridge.run.record import SUCCEEDED, RunRecord
from bridge.serve.server import serve
from bridge.translate.job_limits import MAX_INPUTS
from tests.serve_user import serve_client, user_env
from translators.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
DYNAMIC = "dynamic_feature_pipeline"
TWELVE = "twelve_into_one"
PARTS = 12
LOGICAL_DATE = "2026-01-05T00:00:00+00:00"
XCOM_PREFIX_INPUT = "/opt/ml/processing/input/xcom"

TWELVE_DAG = textwrap.dedent(
    f'''
    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, task

    PARTS = {PARTS}


    @task
    def measure(i: int) -> dict:
        return {{"part": i, "square": i * i}}


    @task
    def combine(parts: list) -> dict:
        return {{"count": len(parts), "squares": [p["square"] for p in parts]}}


    def pull_all(ti=None):
        pulled = ti.xcom_pull(task_ids={[f"part_{i}" for i in range(PARTS)]!r})
        return sum(p["part"] for p in pulled)


    with DAG("{TWELVE}", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        parts = [measure.override(task_id=f"part_{{i}}")(i) for i in range(PARTS)]
        combine(parts)
        parts >> PythonOperator(task_id="pull_all", python_callable=pull_all)
    '''
)


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> dict:
    """Both DAGs translated and validated: {"out", "files", "verdicts"}."""
    dags = tmp_path_factory.mktemp("dags")
    (dags / f"{TWELVE}.py").write_text(TWELVE_DAG)
    out = tmp_path_factory.mktemp("out")
    files = {DYNAMIC: ROOT / "sample_dags" / f"{DYNAMIC}.py", TWELVE: dags / f"{TWELVE}.py"}
    for path in files.values():
        translate_file(path, Registry.default(), BridgeConfig(), out)
    folders = [out / dag_id for dag_id in files]
    verdicts = validate_folders(folders)
    return {
        "out": out,
        "files": files,
        "verdicts": {
            dag_id: verdicts[str(f.resolve())] for dag_id, f in zip(files, folders, strict=True)
        },
    }


@pytest.fixture(scope="module")
def compared(translated) -> dict:
    """`bridge compare` of both DAGs (one Airflow process): {dag_id: (comparison, airflow
    record, pipeline record)}."""
    options = CompareOptions(out=translated["out"], logical_date=LOGICAL_DATE, reuse=True)
    found = {}
    for comparison in compare_dags(list(translated["files"].values()), options):
        folder = Path(comparison["folder"])
        airflow = RunRecord.read(folder / "airflow")
        (pipeline_run,) = (folder / "pipeline").glob("*/run.json")
        found[comparison["dag_id"]] = (comparison, airflow, RunRecord.read(pipeline_run))
    return found


def definition_steps(translated, dag_id: str) -> dict[str, dict]:
    definition = json.loads((translated["out"] / dag_id / "definition.json").read_text())
    return all_steps(definition["Steps"])


def literal_call(step: dict) -> dict:
    """The literal call in the job's arguments: the `--call` texts joined, as the runtime does
    (none when the step script holds the whole static call)."""
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    text = "".join(b for a, b in zip(arguments, arguments[1:], strict=False) if a == "--call")
    return json.loads(text) if text else {}


def xcom_inputs(step: dict) -> list[dict]:
    return [i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"].startswith("xcom")]


def test_every_job_fits_and_only_the_crowded_steps_mount_the_execution_prefix(translated):
    for dag_id in (DYNAMIC, TWELVE):
        assert translated["verdicts"][dag_id]["ok"], translated["verdicts"][dag_id]
        steps = definition_steps(translated, dag_id)
        for name, step in steps.items():
            if step["Type"] == "Processing":
                assert len(step["Arguments"]["ProcessingInputs"]) <= MAX_INPUTS, name
                # Every XCom lands under the execution's XCom prefix, named for its step.
                (xcom,) = [
                    o
                    for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
                    if o["OutputName"] == "xcom"
                ]
                values = xcom["S3Output"]["S3Uri"]["Std:Join"]["Values"]
                assert values[-2:] == ["xcom", name]
                assert values[2] == {"Get": "Execution.PipelineExecutionId"}

    steps = definition_steps(translated, DYNAMIC)
    best = steps["select_best_model"]
    (prefix,) = xcom_inputs(best)
    assert prefix["InputName"] == "xcom"
    assert prefix["S3Input"]["LocalPath"] == XCOM_PREFIX_INPUT
    joined = prefix["S3Input"]["S3Uri"]["Std:Join"]["Values"]
    assert joined[2:] == [{"Get": "Execution.PipelineExecutionId"}, "xcom", ""]
    producers = {
        "column_correlation": [f"column_correlation-{i}" for i in range(5)],
        "describe_column": [f"describe_column-{i}" for i in range(5)],
        "train_ridge": ["train_ridge"],
    }
    assert literal_call(best)["xcom_steps"] == producers
    assert {s for names in producers.values() for s in names} <= set(best["DependsOn"])

    # A step that fits keeps one input per upstream XCom, wired from the producer's output
    # property, the prefix closed by "/" so `train_ridge` never also stages `train_ridge-0`.
    ridge = steps["train_ridge"]["Arguments"]["ForEachBody"][0]  # the job of its ForEachStep
    assert "xcom_steps" not in literal_call(ridge)
    wired = {i["InputName"]: i["S3Input"]["S3Uri"]["Std:Join"] for i in xcom_inputs(ridge)}
    assert set(wired) == {"xcom-candidate_alphas", "xcom-merge_feature_sets"}
    for name, join in wired.items():
        source = name.removeprefix("xcom-")
        assert join["Values"] == [
            {"Get": f"Steps.{source}.ProcessingOutputConfig.Outputs['xcom'].S3Output.S3Uri"},
            "",
        ]


def test_the_crowded_steps_read_the_values_airflow_gives(compared):
    for dag_id in (DYNAMIC, TWELVE):
        comparison, airflow, pipeline = compared[dag_id]
        assert pipeline.status == SUCCEEDED, pipeline.message
        assert pipeline.isolated is True
        assert comparison["verdict"] == "equivalent", [
            (t["task_id"], t["reason"]) for t in comparison["tasks"] if t["verdict"] != "agree"
        ]
    consumers = {DYNAMIC: ["select_best_model"], TWELVE: ["combine", "pull_all"]}
    for dag_id, names in consumers.items():
        _, airflow, pipeline = compared[dag_id]
        for name in names:
            ours = pipeline.steps[name].property_files["xcom"]["return_value"]
            theirs = airflow.steps[name].outputs["return_value"]
            assert values_equal(ours, theirs, 1e-9)[0], (name, ours, theirs)
    _, _, pipeline = compared[TWELVE]
    combined = pipeline.steps["combine"].property_files["xcom"]["return_value"]
    assert combined == {"count": PARTS, "squares": [i * i for i in range(PARTS)]}
    assert pipeline.steps["pull_all"].property_files["xcom"]["return_value"] == sum(range(PARTS))


def test_dropping_the_consumers_depends_on_is_caught_by_validation(translated, tmp_path):
    folder = tmp_path / TWELVE
    shutil.copytree(translated["out"] / TWELVE, folder, ignore=shutil.ignore_patterns("runs"))
    pipeline_py = folder / "pipeline.py"
    source = pipeline_py.read_text()
    block = re.search(r"combine = jobs.script_step\(.*?\n    \)\n", source, re.S).group(0)
    cut = re.sub(r"\n        depends_on=\[\n.*?\n        \],", "", block, flags=re.S)
    assert cut != block and "jobs.execution_xcoms()" in cut
    pipeline_py.write_text(source.replace(block, cut))
    verdict = validate_folders([folder])[str(folder.resolve())]
    assert not verdict["ok"]
    missing = {
        f"`part_{i}` runs before `combine` in the DAG but not in the pipeline" for i in range(PARTS)
    }
    assert missing <= set(verdict["problems"]), verdict["problems"]


def test_the_runtime_reads_only_the_steps_named_for_a_task(tmp_path, monkeypatch):
    """With the whole prefix mounted, a value comes from the steps the translation named for
    it; other steps' XComs that happen to be there (finished earlier) are never read."""
    monkeypatch.setattr(step_runtime, "INPUT_DIR", tmp_path)
    for step, value in {"prep": 1, "fit-0": 2, "fit-1": 3, "other": 4}.items():
        (tmp_path / step).mkdir()
        (tmp_path / step / "xcom.json").write_text(json.dumps({"return_value": value}))
    steps = {"prep": ["prep"], "fit": ["fit-0", "fit-1"], "late": ["late"]}
    read = step_runtime.read_xcom
    assert read("prep", "return_value", (), steps) == 1
    assert read("fit", "return_value", (), steps) == [2, 3]
    assert read("fit", "absent", (), steps) == [None, None]
    assert read("gone", "return_value", ("gone",), steps) is None  # not run on this path
    for task_id in ("other", "late"):  # not named for this step / its XCom is not there
        with pytest.raises(step_runtime.XComNotWired, match=task_id):
            read(task_id, "return_value", (), steps)
    ti = step_runtime.TaskInstance("me", {}, (), steps)
    assert ti.xcom_pull(task_ids=["prep", "fit"]) == [1, [2, 3]]


# ---- the same pipeline on `bridge serve`, through the AWS engine ------------------------------

TOKEN = "BRGXCOMINPUTSTESTS00000000000000"
ROLE = "arn:aws:iam::000000000000:role/XcomInputsTests"
BUCKET = "sagemaker-us-east-1-000000000000"  # the SDK's default bucket, for serve's account
BRIDGE = Path(sys.executable).parent / "bridge"


def test_the_execution_prefix_works_on_serve(translated, compared, tmp_path):
    folder = tmp_path / TWELVE
    shutil.copytree(translated["out"] / TWELVE, folder, ignore=shutil.ignore_patterns("runs"))
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
        record = json.loads(done.stdout)
        s3 = serve_client(server.url, TOKEN, "s3")
        # arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>
        pipeline, execution = record["run_id"].split(":pipeline/")[1].split("/execution/")
        prefix = f"{pipeline}/{execution}/xcom/"

        def stored(step: str):
            body = s3.get_object(Bucket=BUCKET, Key=f"{prefix}{step}/xcom.json")["Body"].read()
            return json.loads(body)["return_value"]

        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]
        ours = {step: stored(step) for step in ("combine", "pull_all")}
    _, _, local = compared[TWELVE]
    assert {n: s["status"] for n, s in record["steps"].items()} == {
        n: s.status for n, s in local.steps.items()
    }
    assert {o["Key"] for o in listed} >= {f"{prefix}part_{i}/xcom.json" for i in range(PARTS)}
    for step, value in ours.items():
        assert value == local.steps[step].property_files["xcom"]["return_value"], step


def test_no_step_is_named_like_the_execution_xcom_prefix(tmp_path):
    """A task `xcom` would put its folder outputs (<step>/<folder>) under the XCom prefix."""
    path = tmp_path / "named_xcom.py"
    path.write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import DAG, task

            with DAG("named_xcom", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
                @task(task_id="xcom")
                def first():
                    return 1

                first()
            """
        )
    )
    (dag,) = translate_file(path, Registry.default(), BridgeConfig(), tmp_path / "out").dags
    manifest = json.loads((dag.folder / "manifest.json").read_text())
    (step,) = manifest["tasks"]["xcom"]["steps"]
    assert step != "xcom" and step.startswith("xcom-")
