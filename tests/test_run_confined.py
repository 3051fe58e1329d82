"""`bridge run` treats a translated folder as input it did not write: a tampered definition or
artifacts.json must not make it read or write anywhere outside its run folder and store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bridge.run.engine import RunError, RunOptions, run_local
from bridge.run.object_store import ObjectStore

GOLDEN = Path(__file__).parent / "golden" / "ml_classic_operators"


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "work" / "out" / "ml_classic_operators"
    shutil.copytree(GOLDEN, target)
    return target


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _refused(folder: Path) -> str:
    with pytest.raises(RunError) as caught:
        run_local(folder, RunOptions())
    assert caught.value.code == "BRG305"
    assert not (folder / "runs").exists() or not any((folder / "runs").glob("*/steps/*"))
    return caught.value.message


def test_an_artifact_outside_the_folder_is_refused(folder):
    def change(artifacts):
        uri = next(iter(artifacts))
        artifacts[uri] = "../../../../../../../../etc/passwd"

    _edit(folder / "artifacts.json", change)
    assert "outside the folder" in _refused(folder)
    assert not list((folder / "runs").glob("store/**/passwd"))


def _first_processing(definition) -> dict:
    return next(s for s in definition["Steps"] if s["Type"] == "Processing")["Arguments"]


@pytest.mark.parametrize("local_path", ["/etc", "/opt/ml/../../etc", "relative/dir", "/opt/mlx"])
def test_an_input_local_path_outside_opt_ml_is_refused(folder, local_path):
    def change(definition):
        _first_processing(definition)["ProcessingInputs"][0]["S3Input"]["LocalPath"] = local_path

    _edit(folder / "definition.json", change)
    assert repr(local_path) in _refused(folder)


def test_an_output_local_path_naming_a_host_folder_is_refused(folder, tmp_path):
    secret = tmp_path / "host-secrets"
    secret.mkdir()
    (secret / "key").write_text("do not upload")

    def change(definition):
        outputs = _first_processing(definition)["ProcessingOutputConfig"]["Outputs"]
        outputs[0]["S3Output"]["LocalPath"] = str(secret)

    _edit(folder / "definition.json", change)
    _refused(folder)
    assert not [p for p in folder.rglob("key") if p.read_text() == "do not upload"]


@pytest.mark.parametrize(
    "uri", ["s3://../x", "s3://./x", "s3://bucket/../../x", "s3://bucket/a/\0b", "s3:///x"]
)
def test_s3_uris_never_leave_the_store(tmp_path, uri):
    store = ObjectStore(tmp_path / "store")
    with pytest.raises(ValueError):
        store.path(uri)


def test_a_link_in_the_store_does_not_lead_out(tmp_path):
    store = ObjectStore(tmp_path / "store")
    (tmp_path / "store" / "bucket").mkdir(parents=True)
    (tmp_path / "store" / "bucket" / "link").symlink_to("/etc")
    with pytest.raises(ValueError):
        store.path("s3://bucket/link/passwd")
    assert store.path("s3://bucket/data/x.csv") == tmp_path / "store" / "bucket" / "data" / "x.csv"


def test_an_artifact_uri_leaving_the_store_is_refused(folder):
    def change(artifacts):
        artifacts["s3://../escaped"] = "steps/_bridge_runtime.py"

    _edit(folder / "artifacts.json", change)
    assert "unusable S3 URI" in _refused(folder)
