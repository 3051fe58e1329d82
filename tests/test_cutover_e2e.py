"""Cut over for real: a sample DAG rewritten by `bridge cutover`, run by Airflow's dag.test()
with the operator talking to `bridge serve`, against the original DAG run by Airflow alone.

The middle of ml_classic_operators (the preprocess group, training, evaluation) moves to the
pipeline; the input check before it, the branch and everything after it stay in Airflow and read
`evaluate_model`'s XComs through its MigratedTaskOutput stand-in. The files the migrated steps
wrote to the shared worker folder ($BRIDGE_DATA_DIR: features, model.json) are job outputs on the
pipeline's side; the operator brings them back, so `package_model`'s `cp "$OUT/model.json" ...`
works as before. Then the codemod is rolled back to the original bytes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.compare.airflow_run import AirflowRunRequest, run_dags
from bridge.run.record import SUCCEEDED

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_dags" / "ml_classic_operators.py"
DATA = ROOT / "sample_dags" / "data"
MIGRATED = [
    "preprocess.validate_schema",
    "preprocess.scale_features",
    "preprocess.snapshot_features",
    "train_model",
    "evaluate_model",
]
LEGACY = ["choose_deployment", "package_model", "flag_for_review", "publish_report"]


def bridge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def cut_over(tmp_path_factory):
    """(original run, cut-over run, the DAG file, its original bytes, the endpoint)."""
    from bridge.serve.server import serve

    root = tmp_path_factory.mktemp("cutover")
    # The input folder is staged next to the DAG in Airflow's dags folder, so the manifest
    # goes inside it and the relative path the cutover writes still resolves there.
    dags, inputs = root / "dags", root / "dags" / "data"
    shutil.copytree(DATA, inputs)
    dag_file = dags / SAMPLE.name
    shutil.copyfile(SAMPLE, dag_file)
    original = dag_file.read_bytes()
    done = bridge("translate", str(dag_file), "-o", str(root / "out"))
    assert done.returncode == 0, done.stderr
    manifest = inputs / "bridge" / "manifest.json"
    manifest.parent.mkdir()
    shutil.copyfile(root / "out" / "ml_classic_operators" / "manifest.json", manifest)

    pristine = root / "original" / SAMPLE.name
    pristine.parent.mkdir()
    shutil.copyfile(SAMPLE, pristine)
    done = bridge(
        "cutover", str(dag_file), "--tasks", ",".join(MIGRATED), "--manifest", str(manifest)
    )
    assert done.returncode == 0, done.stdout + done.stderr

    server = serve(out_dirs=[root / "out"], state=root / "state", port=0)
    env = {  # the server's token is the connection's access key id (login)
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": server.token,
                "password": "any-secret",
                "extra": {"endpoint_url": server.url, "region_name": "us-east-1"},
            }
        ),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    date = "2026-01-05"
    requests = [
        AirflowRunRequest(
            pristine,
            "ml_classic_operators",
            root / "runs" / "original",
            logical_date=date,
            data_dir=root / "data-original",
            input_dir=DATA,
        ),
        AirflowRunRequest(
            dag_file,
            "ml_classic_operators",
            root / "runs" / "cutover",
            logical_date=date,
            data_dir=root / "data-cutover",
            input_dir=inputs,
        ),
    ]
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            before, after = run_dags(requests, timeout=400)
        yield before, after, dag_file, original, server
    finally:
        server.shutdown()


def test_the_cut_over_dag_runs_its_first_half_on_the_pipeline(cut_over):
    before, after, *_ = cut_over
    assert before.status == SUCCEEDED, before.message
    assert after.status == SUCCEEDED, after.message
    operators = [s for s in after.steps.values() if s.kind.endswith("MigratedPipelineOperator")]
    assert len(operators) == 1
    states = operators[0].outputs["task_states"]
    assert {t: states.get(t) for t in MIGRATED} == dict.fromkeys(MIGRATED, "success")
    # The migrated tasks ran as pipeline steps, not as Airflow tasks.
    assert not {"train_model", "preprocess.scale_features"} & {
        name for name, s in after.steps.items() if s.kind.endswith("PythonOperator")
    }


def test_legacy_tasks_after_the_cutover_behave_as_before(cut_over):
    before, after, *_ = cut_over
    for task in LEGACY:
        assert after.steps[task].status == before.steps[task].status, task
    # The branch read evaluate_model's XCom through the stand-in and chose as before; the
    # report holds the same metrics.
    assert (
        after.steps["choose_deployment"].outputs["skipmixin_key"]
        == before.steps["choose_deployment"].outputs["skipmixin_key"]
    )
    report_before = before.steps["publish_report"].outputs["return_value"]
    report_after = after.steps["publish_report"].outputs["return_value"]
    assert report_after["metrics"] == report_before["metrics"]
    assert report_after["decision"] == report_before["decision"]


def test_files_the_migrated_steps_wrote_came_back_for_the_tasks_left_in_airflow(cut_over):
    before, after, *_ = cut_over
    (operator,) = [s for s in after.steps.values() if s.kind.endswith("MigratedPipelineOperator")]
    back = operator.outputs["files_back"]
    # in the order the steps ran; each into the run's own $BRIDGE_DATA_DIR
    assert [b["task_id"] for b in back] == [
        "preprocess.scale_features",
        "preprocess.snapshot_features",
        "train_model",
    ]
    assert {b["path"] for b in back} == {after.data_dir}
    assert all(b["files"] >= 1 for b in back)

    def files(run) -> dict[str, bytes]:
        root = Path(run.data_dir)
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    # the worker folder ends as Airflow alone left it: the model, the features, the release
    # package_model copied from the model the pipeline trained, and nothing of the pipeline's
    # own bookkeeping
    assert files(after) == files(before)
    assert "ml_classic_operators/model.json" in files(after)


def test_rollback_restores_the_original_bytes(cut_over):
    *_, dag_file, original, _server = cut_over
    assert dag_file.read_bytes() != original
    done = bridge("cutover", str(dag_file), "--rollback")
    assert done.returncode == 0, done.stdout + done.stderr
    assert dag_file.read_bytes() == original
