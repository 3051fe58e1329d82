"""Translate core (issue 3, in progress): outcomes for every task, names, and dependency closure."""

from __future__ import annotations

import networkx as nx
import pytest

from bridge.emit.validate import order_differences
from bridge.parse.dag_file import parse_file, parse_source
from bridge.translate.engine import pipeline_name, translate_dag
from bridge.translate.pipeline_model import STEP_NAME_MAX, step_name
from tests.conftest import SAMPLE_DAGS, airflow_example_files
from translators.registry import Registry, Rule, StepDraft, Translation, rule

REGISTRY = Registry.default()
CORPUS = [*airflow_example_files(), *sorted(SAMPLE_DAGS.glob("*.py"))]


def closure_holds(dag, pipeline) -> list[str]:
    """Pairs of surviving tasks whose "must run before" differs between the DAG and the pipeline."""
    task_steps = {t: o.steps for t, o in pipeline.outcomes.items()}
    return order_differences(dag.edge_pairs(), task_steps, pipeline.edges)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_task_accounted_for_and_closure_kept(path):
    for dag in parse_file(path).dags:
        pipeline = translate_dag(dag, REGISTRY)
        assert set(pipeline.outcomes) == set(dag.tasks)
        assert {s for o in pipeline.outcomes.values() for s in o.steps} == set(pipeline.steps)
        assert nx.is_directed_acyclic_graph(pipeline.graph)
        assert closure_holds(dag, pipeline) == []


def test_contraction_joins_neighbours():
    src = (
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator as E\n"
        "from airflow.providers.standard.operators.bash import BashOperator as B\n"
        "with DAG('d'):\n    a, b, c = B(task_id='a', bash_command='x'), B(task_id='b', bash_command='x'), B(task_id='c', bash_command='x')\n"
        "    j1, j2 = E(task_id='j1'), E(task_id='j2')\n    [a, b] >> j1 >> j2 >> c\n"
    )
    (dag,) = parse_source(src).dags
    pipeline = translate_dag(dag, REGISTRY)
    assert pipeline.outcomes["j1"].fate == "contracted" and pipeline.outcomes["j1"].steps == []
    assert sorted(pipeline.edges) == [("a", "c"), ("b", "c")]
    assert pipeline.outcomes["a"].fate == "step" and pipeline.outcomes["a"].rule == "bash"


def test_unknown_operator_becomes_a_placeholder_with_its_source():
    src = (
        "from airflow.sdk import DAG\nfrom company.ops import Magic\n"
        "with DAG('d'):\n    Magic(task_id='m', spell='x')\n"
    )
    (dag,) = parse_source(src).dags
    pipeline = translate_dag(dag, REGISTRY, source=src)
    outcome = pipeline.outcomes["m"]
    assert (outcome.fate, outcome.fidelity, outcome.rule) == (
        "placeholder",
        "manual",
        "placeholder",
    )
    (step,) = pipeline.steps_of("m")
    assert step.spec.source == "Magic(task_id='m', spell='x')"


def test_rule_examples_run():
    """Every rule's documented examples are tests (docs and tests are the same text)."""
    checked = 0
    for r in REGISTRY.rules:
        assert r.doc, f"rule {r.name} has no documentation"
        for example in r.examples:
            (dag,) = parse_source(example.dag).dags
            pipeline = translate_dag(dag, REGISTRY, source=example.dag)
            for task_id, expected in example.expect.items():
                outcome = pipeline.outcomes[task_id].to_dict()
                assert {k: outcome[k] for k in expected} == expected, example.title
                checked += 1
    assert checked >= 1


def test_user_rules_override_builtins(tmp_path, monkeypatch):
    module = tmp_path / "my_rules.py"
    module.write_text(
        "from translators.registry import rule, StepDraft, Translation\n"
        "@rule('airflow.providers.standard.operators.empty.EmptyOperator', name='keep_empty')\n"
        "def keep(task):\n    '''Keep EmptyOperators as steps.'''\n"
        "    return Translation('step', 'exact', [StepDraft('Fail', {})])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.default(extra_modules=["my_rules"])
    assert (
        registry.lookup("airflow.providers.standard.operators.empty.EmptyOperator").name
        == "keep_empty"
    )
    assert (
        Registry.default().lookup("airflow.providers.standard.operators.empty.EmptyOperator").name
        == "empty"
    )


def test_decorator_builds_a_rule():
    @rule("x.Op")
    def handle(task):
        """Doc."""
        return Translation("step", "exact", [StepDraft("Processing")])

    assert isinstance(handle, Rule) and handle.operators == ("x.Op",) and handle.doc == "Doc."


def test_step_names_are_valid_unique_and_stable():
    taken: set[str] = set()
    assert step_name("preprocess.validate schema", taken) == "preprocess-validate_schema"
    long_id = "g." * 40 + "task"
    first = step_name(long_id, taken)
    assert len(first) <= STEP_NAME_MAX and first == step_name(long_id, set())
    clash = step_name("preprocess-validate_schema", taken)
    assert clash != "preprocess-validate_schema" and clash in taken
    assert pipeline_name("ml_taskflow_pipeline") == "ml-taskflow-pipeline"


def test_task_order_is_topological_and_survives_cycles():
    src = (
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator as E\n"
        "with DAG('d'):\n    z = E(task_id='z')\n    a = E(task_id='a')\n    a >> z\n"
    )
    (dag,) = parse_source(src).dags
    assert dag.task_order() == ["a", "z"]
    (cyclic,) = parse_source(src + "    z >> a\n").dags
    assert sorted(cyclic.task_order()) == ["a", "z"]
    assert set(translate_dag(cyclic, REGISTRY).outcomes) == {"a", "z"}  # nothing dropped on a cycle


def test_rules_reference_is_in_step_with_the_registry():
    from pathlib import Path

    from translators.docs import rules_markdown

    doc = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert doc.read_text() == rules_markdown(REGISTRY), "regenerate docs/rules.md (see its header)"


def test_not_equal_branch_compiles_to_a_negated_equality():
    from bridge.config import BridgeConfig
    from bridge.emit.pipeline_file import pipeline_source
    from bridge.emit.step_arguments import plan_arguments
    from bridge.emit.step_scripts import assign_files

    src = (
        "from airflow.sdk import DAG, task\nwith DAG('d'):\n"
        "    @task\n    def ev() -> dict:\n        return {'k': 1}\n"
        "    @task.branch\n    def pick(m: dict):\n        return 'a' if m['k'] != 1 else 'b'\n"
        "    @task\n    def a(): ...\n    @task\n    def b(): ...\n"
        "    pick(ev()) >> [a(), b()]\n"
    )
    (dag,) = parse_source(src).dags
    pipeline = translate_dag(dag, REGISTRY, source=src)
    assert [s.kind for s in pipeline.steps_of("pick")] == ["Condition"]
    assign_files(pipeline)
    code = pipeline_source(pipeline, dag, BridgeConfig(), "d.py", plan_arguments(pipeline))
    assert "ConditionNot(expression=ConditionEquals(left=xcom(ev, 'return_value.k')" in code
