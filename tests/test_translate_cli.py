"""`bridge translate / validate / analyze` from the command line, and bad input for translation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from translators.registry import Registry

BRIDGE = [sys.executable, "-m", "bridge.cli"]
HEADER = """from airflow.sdk import DAG, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*BRIDGE, *args], capture_output=True, text=True, cwd=cwd, check=False)


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def test_cycle_is_a_diagnostic_not_a_traceback(tmp_path):
    path = write(
        tmp_path,
        "cyclic.py",
        """
        with DAG("cyclic"):
            a = BashOperator(task_id="a", bash_command="x")
            b = BashOperator(task_id="b", bash_command="x")
            a >> b >> a
        """,
    )
    done = run("translate", str(path), "-o", str(tmp_path / "out"), "--no-validate")
    assert done.returncode == 1
    assert "BRG206" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "cyclic").exists()


def test_strict_fails_on_placeholders_and_keeps_every_task(tmp_path):
    path = write(
        tmp_path,
        "custom.py",
        """
        from company.operators import Magic
        with DAG("custom"):
            BashOperator(task_id="a", bash_command="echo") >> Magic(task_id="m", spell="x")
        """,
    )
    out = tmp_path / "out"
    relaxed = run("translate", str(path), "-o", str(out), "--no-validate")
    strict = run("translate", str(path), "-o", str(out), "--no-validate", "--strict")
    assert (relaxed.returncode, strict.returncode) == (0, 1)
    assert "BRG200" in strict.stderr
    manifest = json.loads((out / "custom" / "manifest.json").read_text())
    assert manifest["tasks"]["m"]["fate"] == "placeholder"
    assert manifest["tasks"]["m"]["fidelity"] == "manual"
    assert 'Magic(task_id="m"' in (out / "custom" / "pipeline.py").read_text()


def test_untranslatable_template_is_reported_with_its_text(tmp_path):
    path = write(
        tmp_path,
        "tpl.py",
        """
        with DAG("tpl"):
            BashOperator(task_id="a", bash_command="echo {{ macros.ds_add(ds, 1) }}")
        """,
    )
    (outcome,) = translate_file(path, Registry.default(), BridgeConfig(), None).dags
    codes = [d.code for d in outcome.diagnostics]
    assert "BRG201" in codes
    message = next(d.message for d in outcome.diagnostics if d.code == "BRG201")
    assert "macros.ds_add" in message
    assert outcome.pipeline.outcomes["a"].fidelity == "approximate"


def test_step_name_collisions_stay_unique_and_valid():
    src = HEADER + textwrap.dedent(
        """
        from airflow.sdk import TaskGroup
        with DAG("names"):
            with TaskGroup("a"):
                x = BashOperator(task_id="b", bash_command="x")
            y = BashOperator(task_id="a-b", bash_command="x")
            z = BashOperator(task_id="a b", bash_command="x")
            x >> y >> z
        """
    )
    (dag,) = parse_source(src).dags
    pipeline = translate_dag(dag, Registry.default(), source=src)
    names = [s for o in pipeline.outcomes.values() for s in o.steps]
    assert len(names) == len(set(names)) == 3
    assert all(len(n) <= 64 and n.replace("-", "").replace("_", "").isalnum() for n in names)


def test_huge_dag_translates_with_every_task_accounted_for(tmp_path):
    n = 2_000
    lines = ["with DAG('huge'):", "    t0 = EmptyOperator(task_id='t0')"]
    for i in range(1, n):
        lines.append(f"    t{i} = BashOperator(task_id='t{i}', bash_command='echo {i}')")
        lines.append(f"    t{i - 1} >> t{i}")
    path = tmp_path / "huge.py"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    (outcome,) = translate_file(path, Registry.default(), BridgeConfig(), tmp_path / "out").dags
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["summary"]["tasks"] == n and manifest["summary"]["steps"] == n - 1
    assert manifest["tasks"]["t0"]["fate"] == "contracted"


def test_bad_rules_module_and_bad_config_exit_2(tmp_path):
    path = write(
        tmp_path, "ok.py", "with DAG('ok'):\n    BashOperator(task_id='a', bash_command='x')\n"
    )
    done = run("translate", str(path), "--rules", "no_such_module_here", "--no-validate")
    assert done.returncode == 2 and "BRG210" in done.stderr and "Traceback" not in done.stderr
    config = tmp_path / "bridge.toml"
    config.write_text('regoin = "eu-west-1"\n')
    done = run("translate", str(path), "--config", str(config), "--no-validate")
    assert done.returncode == 2 and "BRG207" in done.stderr and "regoin" in done.stderr


def test_config_reaches_the_emitted_pipeline(tmp_path):
    path = write(
        tmp_path, "cfg.py", "with DAG('cfg'):\n    BashOperator(task_id='a', bash_command='x')\n"
    )
    (tmp_path / "bridge.toml").write_text(
        'region = "eu-west-1"\ninstance_type = "ml.c5.xlarge"\ntags = { team = "ml" }\n'
        '[network]\nsubnets = ["subnet-1"]\n[tasks.a]\ninstance_type = "ml.m5.4xlarge"\n'
    )
    done = run("translate", str(path), "-o", str(tmp_path / "out"), "--no-validate")
    assert done.returncode == 0, done.stderr
    code = (tmp_path / "out" / "cfg" / "pipeline.py").read_text()
    assert "REGION = 'eu-west-1'" in code or 'REGION = "eu-west-1"' in code
    assert "ml.m5.4xlarge" in code and "subnet-1" in code and '"team"' in code


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "csv"])
def test_analyze_formats_and_gate(tmp_path, fmt):
    path = write(
        tmp_path,
        "mix.py",
        """
        from company.operators import Magic
        with DAG("mix"):
            BashOperator(task_id="a", bash_command="echo") >> Magic(task_id="m")
        """,
    )
    done = run("analyze", str(path), "--format", fmt)
    assert done.returncode == 0
    assert "BashOperator" in done.stdout and "company.operators.Magic" in done.stdout
    if fmt == "json":
        assert json.loads(done.stdout)["total"] == {
            "operator": "TOTAL",
            "tasks": 2,
            "exact": 1,
            "approximate": 0,
            "manual": 1,
        }
    assert run("analyze", str(path), "--fail-on", "manual").returncode == 1
