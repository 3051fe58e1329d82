"""Files across the cutover boundary.

- Migrated steps -> tasks that stay in Airflow: after the execution succeeds, the operator
  downloads the worker-folder outputs of the migrated steps (S3, moto here) into the folder on
  the worker, in step order, never outside it.
- Tasks that stay -> migrated steps: `bridge cutover` refuses (BRG411), naming the folder, the
  writer and the reader.

The whole path (bridge serve, dag.test()) is tests/test_cutover_e2e.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

pytest.importorskip("airflow")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from airflow_plugins import hooks  # noqa: E402
from airflow_plugins.execution import Snapshot  # noqa: E402
from airflow_plugins.folders import UnsafeFolder, target_of, worker_folder  # noqa: E402
from airflow_plugins.hooks import MigratedPipelineHook  # noqa: E402
from airflow_plugins.manifest import Migration, StepFolder  # noqa: E402
from airflow_plugins.operators import FILES_BACK, MigratedPipelineOperator  # noqa: E402

BUCKET = "bridge-bucket"
PREFIX = "file-handoff/exec-1"


def manifest(kind: str, path: str, **extra) -> dict:
    """file_handoff's shape: extract and stage write the folder, summarize reads it."""

    def folder(writes: bool, inputs_from: list[str]) -> dict:
        return {
            "name": "work",
            "kind": kind,
            "path": path,
            "output": "work" if writes else None,
            "inputs_from": inputs_from,
            "local_path": "/opt/ml/processing/output/work",
            **extra,
        }

    return {
        "dag_id": "file_handoff",
        "pipeline": {"name": "file-handoff"},
        "tasks": {t: {"steps": [t]} for t in ("extract", "stage", "summarize", "notify")},
        "steps": {
            "extract": {"task_id": "extract", "folders": [folder(True, [])]},
            "stage": {"task_id": "stage", "folders": [folder(True, ["extract"])]},
            "summarize": {"task_id": "summarize", "folders": [folder(False, ["extract", "stage"])]},
            "notify": {"task_id": "notify", "folders": []},
        },
    }


class Ti:
    def __init__(self):
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


class Log:
    """Stands in for the operator's (structlog) task logger."""

    def __init__(self):
        self.lines: list[str] = []

    def info(self, message, *args):
        self.lines.append(message % args)

    warning = info


class Env:
    """moto S3 and SageMaker with one processing job per migrated step."""

    def __init__(self):
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        self.sagemaker = boto3.client("sagemaker", region_name="us-east-1")

    def job(self, step: str, outputs: dict[str, str]) -> dict:
        """A finished step of the execution whose job uploaded `outputs` (name -> key prefix)."""
        self.sagemaker.create_processing_job(
            ProcessingJobName=f"job-{step}",
            ProcessingResources={
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                }
            },
            AppSpecification={"ImageUri": "image"},
            RoleArn="arn:aws:iam::123456789012:role/r",
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": name,
                        "S3Output": {
                            "S3Uri": f"s3://{BUCKET}/{key}",
                            "LocalPath": f"/opt/ml/processing/output/{name}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for name, key in outputs.items()
                ]
            },
        )
        arn = f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/job-{step}"
        return {
            "StepName": step,
            "StepStatus": "Succeeded",
            "Metadata": {"ProcessingJob": {"Arn": arn}},
        }

    def put(self, key: str, body: str) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield Env()


def finish(data: dict, steps: list[dict], tasks: list[str], *, dag_tasks=None, fileloc=None):
    """Run the operator's files-back part as `_finish` does after a Succeeded execution."""
    operator = MigratedPipelineOperator(
        task_id="migrated_extract",
        pipeline_name="file-handoff",
        tasks=tasks,
        aws_conn_id=None,
        region_name="us-east-1",
    )
    ti = Ti()
    if dag_tasks is None:
        dag_tasks = {t: SimpleNamespace(task_type="PythonOperator") for t in data["tasks"]}
    dag = SimpleNamespace(task_dict=dag_tasks, fileloc=fileloc)
    snapshot = Snapshot("Succeeded", "", steps, [])
    log = Log()
    with mock.patch.object(MigratedPipelineOperator, "log", log):
        operator._bring_back_files({"ti": ti, "dag": dag}, Migration.from_dict(data), snapshot)
    finish.log = log.lines  # type: ignore[attr-defined]
    return ti.pushed.get(FILES_BACK)


def handoff_outputs(env: Env) -> list[dict]:
    """extract wrote raw.csv and a nested file; stage rewrote raw.csv and added staged.csv."""
    env.put(f"{PREFIX}/extract/work/raw.csv", "extract's raw")
    env.put(f"{PREFIX}/extract/work/.bridge-folder", "the runtime's marker, not the task's")
    env.put(f"{PREFIX}/extract/work/parts/a.txt", "part a")
    env.put(f"{PREFIX}/extract/work2/not-this.txt", "a sibling prefix")
    env.put(f"{PREFIX}/stage/work/raw.csv", "stage's raw")
    env.put(f"{PREFIX}/stage/work/staged.csv", "staged")
    return [
        env.job("extract", {"xcom": f"{PREFIX}/extract/xcom", "work": f"{PREFIX}/extract/work"}),
        env.job("stage", {"work": f"{PREFIX}/stage/work/"}),
    ]


def files_under(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---- migrated steps -> tasks that stay in Airflow ----------------------------------------------


def test_outputs_come_back_into_the_folder_in_step_order(aws, tmp_path):
    root = tmp_path / "worker" / "handoff"
    steps = handoff_outputs(aws)
    brought = finish(manifest("path", str(root)), steps, ["extract", "stage"])
    # stage ran after extract: its raw.csv wins, as its write did on the shared disk
    assert files_under(root) == {
        "parts/a.txt": "part a",
        "raw.csv": "stage's raw",
        "staged.csv": "staged",
    }
    assert [(b["step"], b["files"], b["path"]) for b in brought] == [
        ("extract", 2, str(root)),
        ("stage", 2, str(root)),
    ]
    assert brought[1]["source"] == f"s3://{BUCKET}/{PREFIX}/stage/work/"
    assert finish.log[1].startswith("Brought back 2 file(s), 17 bytes, of folder work written by")
    assert (
        f"task stage (step stage) from s3://{BUCKET}/{PREFIX}/stage/work/ into {root}"
        in (finish.log[1])
    )


def test_nothing_comes_back_when_no_task_that_stays_uses_the_folder(aws, tmp_path):
    root = tmp_path / "handoff"
    steps = handoff_outputs(aws)
    data = manifest("path", str(root))
    # summarize is cut over too (in another operator: it is a stand-in in the DAG), notify
    # stays but has no folder
    dag_tasks = {
        "summarize": SimpleNamespace(task_type="MigratedTaskOutput"),
        "notify": SimpleNamespace(task_type="BashOperator"),
    }
    assert finish(data, steps, ["extract", "stage"], dag_tasks=dag_tasks) is None
    # the whole pipeline in one operator: nothing stays in Airflow
    assert finish(data, steps, list(data["tasks"])) is None
    assert not root.exists()


def test_only_the_scope_s_succeeded_steps_come_back(aws, tmp_path):
    root = tmp_path / "handoff"
    extract, stage = handoff_outputs(aws)
    failed_stage = {**stage, "StepStatus": "Failed"}
    brought = finish(manifest("path", str(root)), [extract, failed_stage], ["extract", "stage"])
    assert [b["step"] for b in brought] == ["extract"]
    assert files_under(root) == {"parts/a.txt": "part a", "raw.csv": "extract's raw"}


def test_env_folders_follow_the_worker_s_variable_then_the_default(aws, tmp_path, monkeypatch):
    steps = handoff_outputs(aws)
    data = manifest("env", "HANDOFF_DIR", default=str(tmp_path / "default"))
    monkeypatch.setenv("HANDOFF_DIR", str(tmp_path / "from-env"))
    finish(data, steps, ["extract", "stage"])
    assert files_under(tmp_path / "from-env")["staged.csv"] == "staged"
    monkeypatch.delenv("HANDOFF_DIR")
    finish(data, steps, ["extract", "stage"])
    assert files_under(tmp_path / "default")["staged.csv"] == "staged"
    with pytest.raises(UnsafeFolder, match=r"\$HANDOFF_DIR is not set"):
        worker_folder(StepFolder("work", "env", "HANDOFF_DIR"), None, {})


def test_dag_folders_are_relative_to_the_dag_file(aws, tmp_path):
    steps = handoff_outputs(aws)
    dag_file = tmp_path / "dags" / "file_handoff.py"
    finish(manifest("dag", "out/work"), steps, ["extract", "stage"], fileloc=str(dag_file))
    assert files_under(tmp_path / "dags" / "out" / "work")["raw.csv"] == "stage's raw"
    for hostile in ("../elsewhere", "/etc", "a/../../b"):
        with pytest.raises(UnsafeFolder):
            worker_folder(StepFolder("work", "dag", hostile), tmp_path / "dags", {})
    with pytest.raises(UnsafeFolder, match="not an absolute path"):
        worker_folder(StepFolder("work", "path", "relative/dir"), None, {})


@pytest.mark.parametrize("key", ["../escape.txt", "a/../../escape.txt", "/abs.txt", "a//b", "./x"])
def test_hostile_keys_refuse_the_whole_download(aws, tmp_path, key):
    from airflow.exceptions import AirflowException

    root = tmp_path / "handoff"
    steps = handoff_outputs(aws)
    aws.put(f"{PREFIX}/stage/work/{key}", "evil")
    with pytest.raises(AirflowException, match="not brought back: object key"):
        finish(manifest("path", str(root)), steps, ["extract", "stage"])
    # checked before any write: not even extract's files came
    assert not root.exists()
    assert not (tmp_path / "escape.txt").exists()


def test_a_symlink_in_the_folder_cannot_lead_outside(aws, tmp_path):
    root, outside = tmp_path / "handoff", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "parts").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeFolder, match="symlink"):
        target_of(root, "parts/a.txt")
    steps = handoff_outputs(aws)
    with pytest.raises(Exception, match="symlink"):
        finish(manifest("path", str(root)), steps, ["extract", "stage"])
    assert not any(outside.iterdir())
    # a symlinked file at the target is replaced by the download, not written through
    (root / "parts").unlink()
    (root / "raw.csv").symlink_to(outside / "victim.txt")
    finish(manifest("path", str(root)), steps, ["extract", "stage"])
    assert not (root / "raw.csv").is_symlink() and (root / "raw.csv").read_text() == "stage's raw"
    assert not (outside / "victim.txt").exists()


def test_listing_pages_through_every_object(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(hooks, "OBJECT_PAGE", 2)
    for i in range(5):
        aws.put(f"{PREFIX}/stage/work/f{i}.txt", str(i))
    aws.put(f"{PREFIX}/stage/work-other/g.txt", "not under the folder prefix")
    hook = MigratedPipelineHook(aws_conn_id=None, region_name="us-east-1")
    keys = [o["Key"] for o in hook.list_objects(f"s3://{BUCKET}/{PREFIX}/stage/work")]
    assert keys == [f"{PREFIX}/stage/work/f{i}.txt" for i in range(5)]


# ---- tasks that stay -> migrated steps: refused --------------------------------------------------


@pytest.fixture(scope="module")
def handoff_sample(tmp_path_factory):
    from bridge.config import BridgeConfig
    from bridge.emit.translate_files import translate_file
    from translators.registry import Registry

    base = tmp_path_factory.mktemp("handoff")
    source = Path(__file__).resolve().parent.parent / "sample_dags" / "file_handoff.py"
    copy = base / source.name
    copy.write_bytes(source.read_bytes())
    (dag,) = translate_file(copy, Registry.default(), BridgeConfig(), base / "out").dags
    return copy, dag.folder / "manifest.json"


@pytest.mark.parametrize(
    ("chosen", "reader", "writers"),
    [
        (["summarize", "publish"], "summarize", ["extract", "stage"]),
        (["stage"], "stage", ["extract"]),
    ],
)
def test_a_folder_written_in_airflow_and_read_by_a_migrated_task_is_refused(
    handoff_sample, tmp_path, chosen, reader, writers
):
    from bridge.cutover.codemod import CutoverRefused, cutover

    source, manifest_file = handoff_sample
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    with pytest.raises(CutoverRefused) as info:
        cutover(path, chosen, manifest=manifest_file)
    refusal = info.value
    assert refusal.code == "BRG411", refusal.message
    assert f"`{reader}` reads the worker folder `/tmp/bridge_file_handoff`" in refusal.message
    assert f"written by {', '.join(f'`{w}`' for w in writers)}" in refusal.message
    assert f"add {', '.join(writers)} to --tasks" in refusal.message
    assert path.read_bytes() == source.read_bytes()


def test_files_flowing_out_of_the_migrated_part_need_no_stand_in(handoff_sample, tmp_path):
    """extract and stage move; summarize reads their folder in Airflow. The operator brings
    the files back, so no stand-in is kept for file reads (stage's XComs are not read)."""
    from bridge.cutover.codemod import cutover

    source, manifest_file = handoff_sample
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    result = cutover(path, ["extract", "stage"], manifest=manifest_file, dry_run=True)
    assert result.standins == {}
    assert 'tasks=["extract", "stage"]' in result.text
    # the summary says which folder the operator will bring back, and for whom
    assert result.files_back == [
        "`/tmp/bridge_file_handoff` (bridge_file_handoff) written by extract, stage, "
        "used in Airflow by publish, summarize"
    ]
    # a part whose folders no task that stays uses brings nothing back
    everything = cutover(
        path, ["extract", "stage", "summarize", "publish"], manifest=manifest_file, dry_run=True
    )
    assert everything.files_back == []
