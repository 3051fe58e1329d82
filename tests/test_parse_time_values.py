"""Values a DAG file reads when Airflow parses it (environment variables, Variables) become
pipeline parameters instead of unknowns (issue 15): checked against DagBag, which reads the same
environment when it loads the file."""

from __future__ import annotations

import json
import textwrap

import pytest

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.parse.dag_file import parse_source
from bridge.translate.expressions import Join, Param
from translators.registry import Registry

DAG = textwrap.dedent(
    """
    import json
    import os
    from os import environ
    from airflow import DAG
    from airflow.models import Variable
    from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator
    from airflow.providers.standard.operators.bash import BashOperator

    BUCKET = os.environ.get("DATA_BUCKET", "my-data")
    REGION = environ["BRIDGE_TEST_REGION"]
    PREFIX = Variable.get("prefix", default_var="raw")
    OVERRIDES = json.loads(os.getenv("OVERRIDES", "{}"))

    with DAG("parse_time"):
        S3CreateBucketOperator(task_id="mk", bucket_name=f"{BUCKET}-{REGION}")
        BashOperator(task_id="echo", bash_command="echo " + PREFIX)
        BashOperator(task_id="upper", bash_command="echo " + BUCKET.upper())
        BashOperator(task_id="first", bash_command="echo " + BUCKET[0])
        BashOperator(task_id="parsed", bash_command="echo " + str(OVERRIDES))
    """
)


def _kwarg(result, task_id, name):
    return result.dags[0].tasks[task_id].kwargs[name]


def test_reads_become_templates_and_other_uses_stay_unknown():
    result = parse_source(DAG, "parse_time.py")
    bucket = _kwarg(result, "mk", "bucket_name")
    assert bucket.kind == "template"
    assert "__bridge_env__('DATA_BUCKET', 'my-data')" in bucket.value
    assert "__bridge_env__('BRIDGE_TEST_REGION', None)" in bucket.value
    echo = _kwarg(result, "echo", "bash_command")
    assert echo.value == "echo {{ var.value.get('prefix', 'raw') }}"
    # A method, an index or json.loads would compute with the placeholder: unknown instead.
    for task_id in ("upper", "first", "parsed"):
        arg = _kwarg(result, task_id, "bash_command")
        assert arg.value is None and arg.source, (task_id, arg)


def test_the_bucket_is_what_dagbag_builds_once_the_parameters_are_set(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    path = tmp_path / "parse_time.py"
    path.write_text(DAG)
    env = {"DATA_BUCKET": "sales", "BRIDGE_TEST_REGION": "eu-west-1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_VAR_PREFIX", "landing")
    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    airflow_task = bag.dags["parse_time"].task_dict["mk"]

    (dag,) = translate_file(path, Registry.default(), BridgeConfig(), tmp_path / "out").dags
    manifest = json.loads((dag.folder / "manifest.json").read_text())
    mk = manifest["tasks"]["mk"]
    assert mk["fidelity"] == "approximate"
    assert any("env_DATA_BUCKET" in d and "'my-data'" in d for d in mk["differences"])
    parameters = {p["name"]: p for p in manifest["parameters"]}
    assert parameters["env_DATA_BUCKET"]["default"] == "my-data"
    assert parameters["env_DATA_BUCKET"]["source"] == "environment"
    assert parameters["var_prefix"]["airflow"] == "{{ var.value.get('prefix', 'raw') }}"

    spec = dag.pipeline.steps["mk"].spec
    values = {f"env_{k}": v for k, v in env.items()}
    rendered = _render(spec.inputs["bucket_name"], values)
    assert rendered == airflow_task.bucket_name == "sales-eu-west-1"


def _render(value, parameters: dict[str, str]) -> str:
    if isinstance(value, Join):
        return "".join(_render(p, parameters) for p in value.parts)
    if isinstance(value, Param):
        return parameters[value.name]
    return str(value)


@pytest.mark.parametrize(
    "source",
    [
        'X = os.environ.get("A")\nif X:\n    Y = 1',
        'X = os.getenv("A", "b")\nZ = X == "prod"',
        'X = os.environ["A"]\nZ = len(X.split(","))',
        'import json\nX = json.dumps({"a": os.environ["A"]})',
    ],
)
def test_truth_tests_and_comparisons_never_use_the_placeholder(source):
    result = parse_source("import os\n" + source + "\n", "f.py")
    assert not [d for d in result.diagnostics if d.code == "BRG199"], result.diagnostics


def test_json_dumps_of_a_literal_is_its_text_and_of_a_parse_time_value_unknown():
    result = parse_source(
        "import json, os\nfrom airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "with DAG('d'):\n"
        "    BashOperator(task_id='a', bash_command='echo ' + json.dumps({'k': [1, 'x']}))\n"
        "    BashOperator(task_id='b', bash_command='echo ' + json.dumps({'k': os.getenv('K')}))\n",
        "f.py",
    )
    assert _kwarg(result, "a", "bash_command").value == 'echo {"k": [1, "x"]}'
    assert _kwarg(result, "b", "bash_command").value is None
