"""The image's Python (issue 14, item 4): every emitted script is checked with vermin, a step gets
an image whose Python runs its script or its task fails translation (BRG223), and extracted
scripts keep the DAG's `from __future__` imports. Checked against a real Python 3.9."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bridge.config import ConfigError, load_config
from bridge.emit.images import SCRIPT_IMAGES, python_needs, runtime_needs
from bridge.emit.translate_files import translate_file
from tests.conftest import SAMPLE_DAGS
from translators.registry import Registry

REGISTRY = Registry.default()
PYTHON39 = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")
needs_python39 = pytest.mark.skipif(
    not PYTHON39.exists() and shutil.which("python3.9") is None, reason="no Python 3.9 here"
)

ZIP_DAG = """\
import pendulum
from airflow.sdk import DAG, task


@task
def pair(xs: list, ys: list) -> list:
    return [a + b for a, b in zip(xs, ys, strict=True)]


@task
def plain() -> int:
    return 1


with DAG(dag_id="needs_310", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    pair([1, 2], [3, 4]) >> plain()
"""
ZIP_LINE = 7

ANNOTATED_DAG = """\
{future}import pendulum
from airflow.sdk import DAG, task


@task
def merge(base: dict | None = None, extra: dict[str, int] | None = None) -> dict | None:
    return {{**(base or {{}}), **(extra or {{}})}}


with DAG(dag_id="annotated", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    merge({{"a": 1}}, {{"b": 2}})
"""


def _python39() -> str:
    return str(PYTHON39) if PYTHON39.exists() else str(shutil.which("python3.9"))


def _translate(tmp_path: Path, source: str, toml: str | None = None, name: str = "dag.py"):
    dag_file = tmp_path / name
    dag_file.write_text(source)
    config_file = None
    if toml is not None:
        config_file = tmp_path / "bridge.toml"
        config_file.write_text(toml)
    config = load_config(config_file, start=tmp_path)
    outcome = translate_file(dag_file, REGISTRY, config, tmp_path / "out")
    (dag,) = outcome.dags
    manifest = json.loads((dag.folder / "manifest.json").read_text())
    return dag, manifest


# --------------------------------------------------------------------------------------------
# What a script needs
# --------------------------------------------------------------------------------------------


def test_vermin_finds_zip_strict_and_its_line():
    needs = python_needs("xs = [1]\nfor a, b in zip(xs, xs, strict=True):\n    print(a, b)\n")
    assert needs.python == (3, 10)
    assert [(c.name, c.line) for c in needs.above((3, 9))] == [("zip(strict)", 2)]


def test_annotations_count_only_where_python_evaluates_them():
    signature = "def f(a: dict | None = None) -> dict | None:\n    return a\n"
    assert python_needs(signature).python == (3, 10)
    # The future import makes every annotation a string: nothing evaluates `dict | None`.
    assert python_needs("from __future__ import annotations\n" + signature).python <= (3, 9)
    # A variable annotation inside a function is never evaluated; `|` on values is not a type.
    local = "def f(a, b):\n    x: int | None = None\n    return a | b, x\n"
    assert python_needs(local).python <= (3, 9)
    # Builtin generics in an evaluated signature need 3.9 (vermin's own detection).
    assert python_needs("def f(a: list[int]) -> None:\n    pass\n").python == (3, 9)


def test_code_that_does_not_parse_needs_a_python_no_image_has():
    needs = python_needs("def f(:\n")
    assert needs.problem and needs.python > max(i.python for i in SCRIPT_IMAGES)


def test_the_runtime_every_step_imports_runs_on_python_38():
    assert runtime_needs().python <= (3, 8), runtime_needs().above((3, 8))


def test_the_table_has_the_verified_pythons():
    table = {(i.framework, i.version): i.python for i in SCRIPT_IMAGES}
    assert table[("sklearn", "1.2-1")] == (3, 9)  # the default image (its Dockerfile)
    assert table[("sklearn", "1.4-2")] == (3, 10)
    pythons = [i.python for i in SCRIPT_IMAGES]
    assert pythons == sorted(pythons)  # oldest first: the first that suffices is the oldest


# --------------------------------------------------------------------------------------------
# Which image a step gets
# --------------------------------------------------------------------------------------------


def test_a_script_that_needs_310_gets_an_image_with_it(tmp_path):
    from bridge.emit.validate import validate_folders

    dag, manifest = _translate(tmp_path, ZIP_DAG)
    steps = manifest["steps"]
    assert steps["pair"]["image"] == {"framework": "sklearn", "version": "1.4-2"}
    assert steps["pair"]["python"] == "3.10"
    assert steps["plain"]["image"] == {"framework": "sklearn", "version": "1.2-1"}
    assert steps["plain"]["python"] == "3.9"
    assert manifest["tasks"]["pair"]["fidelity"] == "exact"
    note = " ".join(manifest["tasks"]["pair"]["notes"])
    assert "needs Python 3.10 (zip(strict)" in note and f"dag.py:{ZIP_LINE}" in note
    assert "| sklearn | `1.4-2` | 3.10 | `pair` |" in (dag.folder / "REPORT.md").read_text()
    # The definition the real SDK builds runs that step on the 1.4-2 image, the other on 1.2-1.
    verdict = validate_folders([dag.folder])[str(dag.folder)]
    assert verdict.get("ok", verdict), verdict
    definition = json.loads((dag.folder / "definition.json").read_text())
    uris = {s["Name"]: s["Arguments"]["AppSpecification"]["ImageUri"] for s in definition["Steps"]}
    assert uris["pair"].endswith("/sagemaker-scikit-learn:1.4-2-cpu-py3")
    assert uris["plain"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")


def test_a_pinned_39_image_fails_the_task_with_brg223(tmp_path):
    pin = '[images.python]\nframework = "sklearn"\nversion = "1.2-1"\n'
    dag, manifest = _translate(tmp_path, ZIP_DAG, pin)
    (diag,) = [d for d in dag.diagnostics if d.code == "BRG223"]
    assert diag.path == str(tmp_path / "dag.py") and diag.line == ZIP_LINE
    assert "zip(strict)" in diag.message and "Python 3.9" in diag.message
    assert "images.python" in diag.message
    task = manifest["tasks"]["pair"]
    assert (task["fate"], task["fidelity"]) == ("placeholder", "manual")
    assert manifest["steps"]["pair"]["kind"] == "Placeholder"
    assert not (dag.folder / "steps" / "pair.py").exists()  # no script that breaks in the job
    assert manifest["tasks"]["plain"]["fidelity"] == "exact"  # the rest translates


def test_a_task_pinned_by_uri_to_a_39_image_fails_too(tmp_path):
    uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    dag, manifest = _translate(tmp_path, ZIP_DAG, f'[tasks.pair]\nimage_uri = "{uri}"\n')
    assert [d.code for d in dag.diagnostics if d.code.startswith("BRG22")] == ["BRG223"]
    assert "tasks.pair.image_uri" in dag.diagnostics[-1].message
    assert manifest["tasks"]["pair"]["fidelity"] == "manual"


def test_an_image_of_unknown_python_is_not_checked_but_said(tmp_path):
    uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer:1.4"
    dag, manifest = _translate(tmp_path, ZIP_DAG, f'[tasks.pair]\nimage_uri = "{uri}"\n')
    assert [d.code for d in dag.diagnostics if d.code == "BRG224"] == ["BRG224"]
    assert manifest["steps"]["pair"] == manifest["steps"]["pair"] | {
        "image": {"uri": uri},
        "python": None,
    }
    assert uri in (dag.folder / "pipeline.py").read_text()


def test_a_configured_python_is_believed(tmp_path):
    toml = '[images.python]\nframework = "sklearn"\nversion = "1.9-0"\npython = "3.11"\n'
    _, manifest = _translate(tmp_path, ZIP_DAG, toml)
    assert manifest["steps"]["pair"]["python"] == "3.11"
    assert manifest["tasks"]["pair"]["fidelity"] == "exact"


@pytest.mark.parametrize(
    "images",
    [
        '[images]\nbash = { framework = "sklearn", version = "1.2-1" }\n',
        '[images.python]\nframework = "sklearn"\n',
        '[images.python]\nframework = "sklearn"\nversion = "1.2-1"\npython = "three"\n',
    ],
)
def test_bad_image_settings_are_refused(tmp_path, images):
    (tmp_path / "bridge.toml").write_text(images)
    with pytest.raises(ConfigError, match="images"):
        load_config(tmp_path / "bridge.toml")


# --------------------------------------------------------------------------------------------
# `from __future__` kept, proved on a real Python 3.9
# --------------------------------------------------------------------------------------------


def _run_on_39(script: Path) -> subprocess.CompletedProcess:
    """Import the step script as the job would (not as __main__) and call the callable."""
    code = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('step', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps(module.merge({'a': 1}, {'b': 2})))\n"
    )
    return subprocess.run(
        [_python39(), "-c", code, str(script)], capture_output=True, text=True, timeout=60
    )


@needs_python39
def test_future_annotations_are_kept_and_the_script_runs_on_39(tmp_path):
    source = ANNOTATED_DAG.format(future="from __future__ import annotations\n\n")
    dag, manifest = _translate(tmp_path, source)
    script = dag.folder / "steps" / "merge.py"
    assert "from __future__ import annotations" in script.read_text()
    assert manifest["steps"]["merge"]["python"] == "3.9"  # the default image suffices
    done = _run_on_39(script)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"a": 1, "b": 2}


@needs_python39
def test_without_the_future_import_the_script_fails_on_39_and_gets_310(tmp_path):
    dag, manifest = _translate(tmp_path, ANNOTATED_DAG.format(future=""))
    script = dag.folder / "steps" / "merge.py"
    done = _run_on_39(script)  # the check is right: Python 3.9 cannot import it
    assert done.returncode != 0 and "unsupported operand type(s) for |" in done.stderr
    assert manifest["steps"]["merge"]["python"] == "3.10"


VIRTUALENV_DAG = """\
from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.python import PythonVirtualenvOperator
from airflow.sdk import DAG


def shout(word: str | None = None) -> str | None:
    return word.upper() if word else None


with DAG(dag_id="venv", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    PythonVirtualenvOperator(
        task_id="shout", python_callable=shout, requirements=["typing-extensions>=4"]
    )
"""


def test_future_imports_stay_first_when_requirements_are_installed_first(tmp_path):
    dag, _ = _translate(tmp_path, VIRTUALENV_DAG)
    text = (dag.folder / "steps" / "shout.py").read_text()
    compile(text, "shout.py", "exec")  # a `from __future__` after other code is a SyntaxError
    assert text.index("from __future__ import annotations") < text.index("install_requirements(")


def test_backports_the_step_installs_are_not_held_against_the_image():
    from bridge.emit.images import _backports

    installed = ["typing-extensions>=4", "backports.zoneinfo", "pandas==2.2"]
    assert _backports(installed) == {"typing_extensions", "zoneinfo"}


# --------------------------------------------------------------------------------------------
# The samples: every emitted script runs on the Python the manifest gives its step
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ml_taskflow_pipeline", "file_handoff"])
def test_every_emitted_script_runs_on_its_steps_python(tmp_path, name):
    outcome = translate_file(SAMPLE_DAGS / f"{name}.py", REGISTRY, load_config(None), tmp_path)
    folder = outcome.dags[0].folder
    manifest = json.loads((folder / "manifest.json").read_text())
    checked = 0
    for step in manifest["steps"].values():
        if step["python"] is None or not str(step["script"]).endswith(".py"):
            continue  # a bash step's script (.sh) is bash: the runtime it runs under is checked
        major, minor = map(int, step["python"].split("."))
        text = (folder / "steps" / step["script"]).read_text()
        assert python_needs(text).python <= (major, minor), step
        checked += 1
    assert checked
    runtime = (folder / "steps" / "_bridge_runtime.py").read_text()
    assert python_needs(runtime).python <= (3, 8)


def test_the_taskflow_sample_runs_its_zip_strict_steps_on_310(tmp_path):
    outcome = translate_file(
        SAMPLE_DAGS / "ml_taskflow_pipeline.py", REGISTRY, load_config(None), tmp_path
    )
    manifest = json.loads((outcome.dags[0].folder / "manifest.json").read_text())
    pythons = {name: step["python"] for name, step in manifest["steps"].items()}
    assert pythons["train_model"] == pythons["evaluate_model"] == "3.10"
    assert pythons["load_data"] == "3.9"
