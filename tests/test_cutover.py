"""`bridge cutover`: replacing part of a DAG by a MigratedPipelineOperator, and rolling back.

The sample DAGs are translated (and validated: their definition.json says which step reads
which) once per module; small DAGs written here get a manifest that maps each task to one step
and a definition.json in which no step reads another, so only the file's own structure decides.
Every cutover is checked against the contraction oracle computed here independently (parse the
new file, contract the original graph) and rolled back to the original bytes.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bridge.cli import app
from bridge.cutover.codemod import CutoverRefused, cutover, rollback, sidecar_path
from bridge.parse.dag_file import parse_file
from tests.conftest import ROOT, SAMPLE_DAGS

runner = CliRunner()
OPERATOR = "airflow_plugins.operators.MigratedPipelineOperator"
STANDIN = "airflow_plugins.operators.MigratedTaskOutput"

# Selections that cut over cleanly, per sample DAG (others are refused: data reads, branches,
# worker folders written in Airflow for a migrated task).
GOOD = {
    "file_handoff": [["extract"], ["extract", "stage"], ["extract", "stage", "summarize"]],
    "ml_classic_operators": [
        ["preprocess.scale_features", "preprocess.snapshot_features", "train_model"],
        [
            "preprocess.validate_schema",
            "preprocess.scale_features",
            "preprocess.snapshot_features",
            "train_model",
            "evaluate_model",
        ],
    ],
    "ml_taskflow_pipeline": [
        ["load_data"],
        ["load_data", "engineer_features", "train_model"],
        ["load_data", "engineer_features", "train_model", "evaluate_model"],
    ],
    "sagemaker_operators": [
        ["train_model"],
        ["preprocess", "train_model"],
        ["train_model", "create_model", "batch_transform"],
    ],
    "legacy_airflow1_style": [
        ["start", "extract_data"],
        ["extract_data", "build_features", "train_model"],
    ],
    "dynamic_feature_pipeline": [["load_dataset"], ["candidate_alphas"]],
}
REFUSALS_EXPECTED_IN_SAMPLES = {"BRG403", "BRG404", "BRG405", "BRG406", "BRG411"}


# ---- fixtures and helpers ------------------------------------------------------------------------


class Translated(dict):
    """dag_id -> (the sample DAG file, its manifest.json), each translated on first use.

    `bridge translate` also validates, which writes definition.json (what each step reads) and
    costs ~10 s; tests/test_translate_golden.py holds that definition.json to tests/golden/, so
    it is taken from there.
    """

    FILES = {p.stem: p for p in SAMPLE_DAGS.glob("*.py")}  # each sample's DAG id is its stem

    def __init__(self, base: Path):
        super().__init__()
        self.base = base

    def __missing__(self, dag_id: str) -> tuple[Path, Path]:
        from bridge.config import BridgeConfig
        from bridge.emit.translate_files import translate_file
        from translators.registry import Registry

        copy = self.base / self.FILES[dag_id].name
        shutil.copy(self.FILES[dag_id], copy)
        (dag,) = translate_file(copy, Registry.default(), BridgeConfig(), self.base / "out").dags
        shutil.copy(ROOT / "tests" / "golden" / dag_id / "definition.json", dag.folder)
        self[dag_id] = (copy, dag.folder / "manifest.json")
        return self[dag_id]

    def ids(self) -> list[str]:
        return sorted(self.FILES)


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> Translated:
    return Translated(tmp_path_factory.mktemp("cutover-samples"))


def sample_copy(translated, dag_id: str, folder: Path) -> tuple[Path, Path]:
    source, manifest = translated[dag_id]
    target = folder / source.name
    shutil.copy(source, target)
    return target, manifest


def small_dag(folder: Path, source: str, *, reads: dict[str, list[str]] | None = None):
    """Write a DAG file, a manifest mapping every task to one step, and a definition.json in
    which step X reads step Y for each Y in reads[X]; returns (dag file, manifest)."""
    path = folder / "dag.py"
    path.write_text(source)
    (dag,) = parse_file(path).dags
    out = folder / "out" / dag.dag_id
    out.mkdir(parents=True)

    def step(task: str) -> str:
        return task.replace(".", "-")

    manifest = {
        "schema_version": 1,
        "dag_id": dag.dag_id,
        "pipeline": {"name": dag.dag_id.replace("_", "-")},
        "tasks": {t: {"fate": "step", "fidelity": "exact", "steps": [step(t)]} for t in dag.tasks},
        "steps": {step(t): {"task_id": t} for t in dag.tasks},
    }
    steps = [
        {
            "Name": step(t),
            "Type": "Processing",
            "Arguments": {
                "Inputs": [
                    {"S3Uri": {"Get": f"Steps.{step(u)}.ProcessingOutputConfig"}} for u in ups
                ]
            },
        }
        for t, ups in (reads or {}).items()
    ]
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "definition.json").write_text(json.dumps({"Steps": steps}))
    return path, out / "manifest.json"


def contracted(graph, chosen: set[str], new_id: str) -> tuple[set, set]:
    def m(t):
        return new_id if t in chosen else t

    nodes = {m(n) for n in graph.nodes}
    edges = {(m(u), m(v)) for u, v in graph.edges if m(u) != m(v)}
    return nodes, edges


def assert_contracted(old_graph, nodes: set, edges: set, chosen, new_id: str, standins) -> None:
    """The new graph is the old one with the chosen tasks contracted into new_id, except for
    the stand-ins (chosen tasks kept under their ids, after the operator): new_id >> stand-in,
    a stand-in may take the operator's place before the tasks it used to precede, and edges
    between a stand-in and a task that stays may repeat the original order."""
    want_nodes, want_edges = contracted(old_graph, set(chosen), new_id)
    assert nodes == want_nodes | set(standins)
    for u, v in want_edges:
        via_standin = u == new_id and any((s, v) in edges for s in standins)
        assert (u, v) in edges or via_standin, f"edge {u} >> {v} lost"
    for u, v in edges:
        ok = (
            (u, v) in want_edges
            or (u == new_id and v in standins)
            or (u in standins and v in nx.descendants(old_graph, u))
            or (v in standins and u in nx.ancestors(old_graph, v))
        )
        assert ok, f"edge {u} >> {v} is new"


def assert_oracle(before: Path | str, after: Path, chosen, result, dag_id: str) -> None:
    """The new file's static graph is the original one with the chosen tasks contracted."""
    old = next(d for d in _dags(before) if d.dag_id == dag_id)
    new = next(d for d in parse_file(after).dags if d.dag_id == dag_id)
    new_id = result.task_id
    assert_contracted(
        old.graph, set(new.graph.nodes), set(new.graph.edges), chosen, new_id, result.standins
    )
    op = new.tasks[new_id]
    assert op.operator == OPERATOR
    assert op.kwargs["tasks"].value == [t for t in old.task_order() if t in set(chosen)]
    for t in result.standins:
        assert new.tasks[t].operator == STANDIN
        assert new.tasks[t].kwargs["pipeline_task"].value == new_id


def _dags(source):
    if isinstance(source, Path):
        return parse_file(source).dags
    from bridge.parse.dag_file import parse_source

    return parse_source(source, "original.py").dags


def assert_untouched_elsewhere(original: str, new: str, result) -> None:
    """Lines change only in the statements the cutover reports, the imports, and new lines that
    belong to the operator (its statement, XComArg bindings, dependencies on it)."""
    a, b = original.splitlines(), new.splitlines()
    spans = result.touched
    op_block = re.search(rf"^( *){result.variable} = .*?\n\1\)\n", new, flags=re.S | re.M).group(0)
    ours = set(op_block.splitlines())
    names = {result.variable, *result.standins.values()}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        for i in range(i1, i2):  # a removed or replaced original line
            line = i + 1
            assert (
                any(s <= line <= e for s, e in spans)
                or a[i].startswith(("from ", "import "))
                or not a[i].strip()
            ), f"line {line} changed outside the cutover: {a[i]!r}"
        for j in range(j1, j2):  # a new line
            text = b[j]
            assert (
                text.strip() in ("", "pass")  # a `with TaskGroup` block left empty
                or text.startswith(("from ", "import "))
                or text in ours
                or names & set(re.findall(r"\w+", text))
                or text.strip().startswith(("task_id=", "pipeline_task=", ")"))  # a stand-in
            ), f"unexpected new line {text!r}"


def assert_round_trip(path: Path, manifest: Path, chosen: list[str]) -> None:
    original = path.read_bytes()
    (dag_id,) = {d.dag_id for d in parse_file(path).dags if set(chosen) <= set(d.tasks)}
    result = cutover(path, chosen, manifest=manifest, pipeline_name="pipe")
    assert result.written and sidecar_path(path).exists()
    assert_oracle(original.decode(), path, chosen, result, dag_id)
    assert_untouched_elsewhere(original.decode(), path.read_text(), result)
    back = rollback(path)
    assert back.mode == "exact" and back.sidecar_removed
    assert path.read_bytes() == original
    assert not sidecar_path(path).exists()


# ---- the sample DAGs -------------------------------------------------------------------------------


@pytest.mark.parametrize("dag_id", sorted(GOOD))
def test_sample_selections_round_trip(translated, tmp_path, dag_id):
    for chosen in GOOD[dag_id]:
        path, manifest = sample_copy(translated, dag_id, tmp_path)
        assert_round_trip(path, manifest, chosen)


@st.composite
def convex_selections(draw, graph) -> list[str]:
    """A random weakly connected set of tasks, closed under paths between its members."""
    nodes = sorted(graph.nodes)
    chosen = {draw(st.sampled_from(nodes))}
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        frontier = sorted(
            {n for c in chosen for n in (*graph.successors(c), *graph.predecessors(c))} - chosen
        )
        if not frontier:
            break
        chosen.add(draw(st.sampled_from(frontier)))
    while True:
        below = set().union(*(nx.descendants(graph, c) for c in chosen))
        above = set().union(*(nx.ancestors(graph, c) for c in chosen))
        hull = chosen | (below & above)
        if hull == chosen:
            return sorted(chosen)
        chosen = hull


@settings(
    max_examples=int(os.environ.get("BRIDGE_CUTOVER_EXAMPLES", "20")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_selections_cut_over_and_roll_back(translated, data):
    dag_id = data.draw(st.sampled_from(translated.ids()), label="dag")
    (dag,) = parse_file(translated[dag_id][0]).dags
    chosen = data.draw(convex_selections(dag.graph), label="tasks")
    with tempfile.TemporaryDirectory() as tmp:
        path, manifest = sample_copy(translated, dag_id, Path(tmp))
        original = path.read_bytes()
        try:
            result = cutover(path, chosen, manifest=manifest)
        except CutoverRefused as exc:
            assert exc.code in REFUSALS_EXPECTED_IN_SAMPLES, exc.message
            assert path.read_bytes() == original
            assert not sidecar_path(path).exists()
            return
        assert_oracle(original.decode(), path, chosen, result, dag_id)
        assert_untouched_elsewhere(original.decode(), path.read_text(), result)
        rollback(path)
        assert path.read_bytes() == original


@st.composite
def generated_dags(draw) -> str:
    """A random DAG: classic and TaskFlow tasks (data passed along), runs of them in task
    groups, dependencies in every form, forward only so that it stays acyclic."""
    n = draw(st.integers(min_value=2, max_value=8))
    lines = [
        "from airflow.sdk import DAG, TaskGroup, chain, chain_linear, cross_downstream, task",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "",
        "with DAG('generated', schedule=None):",
        "    @task",
        "    def f(*inputs):",
        "        return len(inputs)",
        "",
    ]
    group_of, current, groups = [], -1, 0
    for _ in range(n):
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            current, groups = (-1, groups) if current >= 0 else (groups, groups + 1)
        group_of.append(current)
    taskflow = [draw(st.booleans()) for _ in range(n)]
    open_group = -1
    for i in range(n):
        if group_of[i] != open_group:
            open_group = group_of[i]
            if open_group >= 0:
                lines.append(f"    with TaskGroup('g{open_group}') as g{open_group}:")
        indent = "        " if open_group >= 0 else "    "
        if taskflow[i]:
            inputs = (
                sorted(set(draw(st.lists(st.integers(0, max(i - 1, 0)), max_size=2)))) if i else []
            )
            args = ", ".join(f"t{j}" if taskflow[j] else f"t{j}.output" for j in inputs)
            lines.append(f"{indent}t{i} = f.override(task_id='t{i}')({args})")
        else:
            lines.append(f"{indent}t{i} = BashOperator(task_id='t{i}', bash_command='echo')")
    forms = ["rshift", "lshift", "list", "rlist", "chain", "chain_linear", "cross", "method"]
    for _ in range(draw(st.integers(min_value=0, max_value=7))):
        form = draw(st.sampled_from(forms))
        a, b, c = sorted(
            draw(st.lists(st.integers(0, n - 1), min_size=3, max_size=3, unique=False))
        )
        if not a < b:
            continue
        c = c if c > b else None
        if form == "rshift":
            lines.append(f"    t{a} >> t{b}" + (f" >> t{c}" if c is not None else ""))
        elif form == "lshift":
            lines.append(f"    t{b} << t{a}")
        elif form == "list" and c is not None:
            lines.append(f"    t{a} >> [t{b}, t{c}]")
        elif form == "rlist" and c is not None:
            lines.append(f"    [t{a}, t{b}] >> t{c}")
        elif form == "chain":
            lines.append(f"    chain(t{a}, t{b}" + (f", t{c})" if c is not None else ")"))
        elif form == "chain_linear" and c is not None:
            lines.append(f"    chain_linear(t{a}, [t{b}, t{c}])")
        elif form == "cross" and c is not None:
            lines.append(f"    cross_downstream([t{a}], [t{b}, t{c}])")
        elif form == "method":
            lines.append(f"    t{a}.set_downstream(t{b})")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=int(os.environ.get("BRIDGE_CUTOVER_EXAMPLES", "20")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_dags_cut_over_and_roll_back(data):
    """Random DAG files and random convex connected selections: the rewrite keeps the graph
    (BRG409 only where removing a task group's root or leaf would change the group's edges)."""
    source = data.draw(generated_dags(), label="dag")
    with tempfile.TemporaryDirectory() as tmp:
        path, manifest = small_dag(Path(tmp), source)
        (dag,) = parse_file(path).dags
        chosen = data.draw(convex_selections(dag.graph), label="tasks")
        try:
            result = cutover(path, chosen, manifest=manifest)
        except CutoverRefused as exc:
            assert exc.code == "BRG409" and " is new" in exc.message, exc.message
            assert path.read_text() == source
            return
        assert_oracle(source, path, chosen, result, "generated")
        rollback(path)
        assert path.read_text() == source


def dagbag_graph(path: Path):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


LOADS_IN_AIRFLOW = [
    (
        "ml_classic_operators",
        ["preprocess.scale_features", "preprocess.snapshot_features", "train_model"],
    ),
    ("ml_taskflow_pipeline", ["load_data", "engineer_features", "train_model"]),
    ("sagemaker_operators", ["train_model", "create_model"]),
    ("dynamic_feature_pipeline", ["load_dataset"]),
]


@pytest.mark.airflow
def test_rewritten_samples_load_in_airflow(translated, tmp_path):
    """One test for all samples: Airflow's import (seconds) is paid once, on one worker."""
    for dag_id, chosen in LOADS_IN_AIRFLOW:
        folder = tmp_path / dag_id
        folder.mkdir()
        path, manifest = sample_copy(translated, dag_id, folder)
        (before,) = parse_file(path).dags
        result = cutover(path, chosen, manifest=manifest, pipeline_name="my-pipeline")
        dag = dagbag_graph(path)[dag_id]
        got = {(u, t.task_id) for t in dag.task_dict.values() for u in t.upstream_task_ids}
        assert_contracted(
            before.graph, set(dag.task_dict), got, chosen, result.task_id, result.standins
        )
        for t in result.standins:
            assert type(dag.task_dict[t]).__name__ == "MigratedTaskOutput"
            assert dag.task_dict[t].pipeline_task == result.task_id
        op = dag.task_dict[result.task_id]
        assert type(op).__name__ == "MigratedPipelineOperator"
        assert op.pipeline_name == "my-pipeline"
        assert op.tasks == [t for t in before.task_order() if t in set(chosen)]
        assert (path.parent / op.manifest).resolve() == manifest.resolve()

    # A TaskFlow DAG whose migrated results feed a task that stays, and whose input is set again.
    path, manifest = small_dag(tmp_path, TASKFLOW)
    result = cutover(path, ["train", "evaluate"], manifest=manifest)
    dag = dagbag_graph(path)["flow"]
    upstream = {t: set(dag.task_dict[t].upstream_task_ids) for t in dag.task_dict}
    assert upstream == {
        "load": set(),
        "features": {"load"},
        result.task_id: {"features"},
        "train": {result.task_id},  # MigratedTaskOutput stand-ins re-publish the results
        "evaluate": {result.task_id},
        "report": {"train", "evaluate"},
    }
    args = dag.task_dict["report"].op_args
    assert [(a.operator.task_id, a.key) for a in args] == [
        ("train", "return_value"),
        ("evaluate", "return_value"),
    ]


# ---- small DAGs: each syntax form -------------------------------------------------------------------

CLASSIC = """\
from airflow.sdk import DAG, chain
from airflow.providers.standard.operators.bash import BashOperator

with DAG("classic", schedule=None) as dag:
    extract = BashOperator(task_id="extract", bash_command="echo extract")
    # Fit the model.
    train = BashOperator(task_id="train", bash_command="echo train")  # heavy
    evaluate = BashOperator(task_id="evaluate", bash_command="echo evaluate")
    report = BashOperator(task_id="report", bash_command="echo report")

    extract >> train >> evaluate >> report
"""


def test_classic_chain_exact_output(tmp_path):
    path, manifest = small_dag(tmp_path, CLASSIC)
    result = cutover(path, ["train", "evaluate"], manifest=manifest)
    assert path.read_text() == (
        "from airflow.sdk import DAG, chain\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "from airflow_plugins.operators import MigratedPipelineOperator\n"
        "\n"
        'with DAG("classic", schedule=None) as dag:\n'
        '    extract = BashOperator(task_id="extract", bash_command="echo extract")\n'
        "    # Fit the model.\n"
        "    migrated_train = MigratedPipelineOperator(\n"
        '        task_id="migrated_train",\n'
        '        pipeline_name="classic",\n'
        '        manifest="out/classic/manifest.json",\n'
        '        tasks=["train", "evaluate"],\n'
        "    )\n"
        '    report = BashOperator(task_id="report", bash_command="echo report")\n'
        "\n"
        "    extract >> migrated_train >> report\n"
    )
    assert result.task_id == "migrated_train" and result.edges_rewired == 1
    record = json.loads(sidecar_path(path).read_text())
    assert record["cutovers"][0]["tasks"] == ["train", "evaluate"]
    assert rollback(path).mode == "exact"
    assert path.read_text() == CLASSIC


LISTS = """\
from airflow.sdk import DAG, chain, chain_linear, cross_downstream
from airflow.providers.standard.operators.bash import BashOperator

with DAG("lists", schedule=None):
    a = BashOperator(task_id="a", bash_command="echo")
    b = BashOperator(task_id="b", bash_command="echo")
    c = BashOperator(task_id="c", bash_command="echo")
    d = BashOperator(task_id="d", bash_command="echo")
    e = BashOperator(task_id="e", bash_command="echo")
    [a, b] >> c
    c << b
    chain(a, [c, d], e)
    chain_linear([a, b], d)
    cross_downstream([a, b], [d, e])
    d.set_downstream([e, c])
    e.set_upstream(c)
"""


@pytest.mark.parametrize(
    "chosen",
    [["a", "b"], ["c"], ["c", "e"], ["b", "c"], ["a", "b", "c", "d"], ["d", "e"], ["a", "b", "d"]],
)
def test_lists_chain_cross_and_methods(tmp_path, chosen):
    path, manifest = small_dag(tmp_path, LISTS)
    try:
        assert_round_trip(path, manifest, chosen)
    except CutoverRefused as exc:  # only a non-convex or disconnected choice may be refused
        assert exc.code in ("BRG401", "BRG402"), exc.message


DUPLICATES = """\
from airflow.sdk import DAG, chain
from airflow.providers.standard.operators.bash import BashOperator

with DAG("dups", schedule=None):
    a = BashOperator(task_id="a", bash_command="echo")
    b = BashOperator(task_id="b", bash_command="echo")
    c = BashOperator(task_id="c", bash_command="echo")
    d = BashOperator(task_id="d", bash_command="echo")
    a >> b >> c
    [a, b] >> c
    c << b
    chain(a, b, [c, d])
    b.set_upstream(a)
"""


def test_duplicates_and_self_loops_disappear(tmp_path):
    path, manifest = small_dag(tmp_path, DUPLICATES)
    result = cutover(path, ["a", "b"], manifest=manifest)
    body = path.read_text().split("    )\n", 1)[1]
    assert body == (
        '    c = BashOperator(task_id="c", bash_command="echo")\n'
        '    d = BashOperator(task_id="d", bash_command="echo")\n'
        "    migrated_a >> c\n"
        "    chain(migrated_a, [c, d])\n"
    )
    assert result.edges_rewired == 5
    assert_oracle(DUPLICATES, path, ["a", "b"], result, "dups")


GROUPS = """\
from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.bash import BashOperator

with DAG("groups", schedule=None):
    start = BashOperator(task_id="start", bash_command="echo")
    with TaskGroup("prep") as prep:
        a = BashOperator(task_id="a", bash_command="echo")
        b = BashOperator(task_id="b", bash_command="echo")
        c = BashOperator(task_id="c", bash_command="echo")
        a >> [b, c]
    train = BashOperator(task_id="train", bash_command="echo")
    end = BashOperator(task_id="end", bash_command="echo")
    start >> prep >> train >> end
    BashOperator(task_id="audit", bash_command="echo") >> end
"""


@pytest.mark.parametrize(
    ("chosen", "new_id"),
    [
        (["prep.b"], "prep.migrated_b"),
        (["prep.a", "prep.b", "prep.c"], "prep.migrated_a"),
        (["prep.b", "prep.c", "train"], "migrated_prep_b"),
        (["train", "end"], "migrated_train"),
        (["audit"], "migrated_audit"),
        (["start", "prep.a"], "migrated_start"),
    ],
)
def test_task_groups(tmp_path, chosen, new_id):
    path, manifest = small_dag(tmp_path, GROUPS)
    original = path.read_bytes()
    result = cutover(path, chosen, manifest=manifest)
    assert result.task_id == new_id
    assert_oracle(original.decode(), path, chosen, result, "groups")
    rollback(path)
    assert path.read_bytes() == original


TASKFLOW = """\
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def flow():
    @task
    def load():
        return [1, 2, 3]

    @task
    def features(rows):
        return {"rows": rows}

    @task
    def train(data):
        return {"w": 1}

    @task
    def evaluate(model, data):
        return {"rmse": 0.5}

    @task
    def report(model, metrics):
        print(model, metrics)

    rows = load()
    data = features(rows)
    model = train(data)  # the model
    metrics = evaluate(model, data)
    report(model, metrics)


flow()
"""


def test_taskflow_results_come_from_stand_ins(tmp_path):
    path, manifest = small_dag(tmp_path, TASKFLOW)
    result = cutover(path, ["train", "evaluate"], manifest=manifest)
    text = path.read_text()
    assert (
        "from airflow_plugins.operators import MigratedPipelineOperator, MigratedTaskOutput\n"
        in text
    )
    assert (
        '    model = MigratedTaskOutput(task_id="train", pipeline_task="migrated_train").output\n'
        "    migrated_train >> model\n"
    ) in text
    assert (
        '    metrics = MigratedTaskOutput(task_id="evaluate", pipeline_task="migrated_train")'
        in text
    )
    assert result.standins == {"evaluate": "metrics", "train": "model"}
    assert result.explicit_edges == ["data >> migrated_train"]  # train(data) read `data`
    assert "    report(model, metrics)\n" in text  # the downstream call is untouched
    assert_oracle(TASKFLOW, path, ["train", "evaluate"], result, "flow")
    assert rollback(path).mode == "exact"
    assert path.read_text() == TASKFLOW


def test_no_stand_in_when_nothing_reads_the_task(tmp_path):
    path, manifest = small_dag(tmp_path, TASKFLOW)
    result = cutover(path, ["load", "features"], manifest=manifest)
    assert list(result.standins) == ["features"]  # train(data) reads it; nothing reads `load`
    assert "rows = " not in path.read_text()


PULLS = """\
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def use_model(ti=None):
    return ti.xcom_pull(task_ids="train")


with DAG("pulls", schedule=None):
    prepare = BashOperator(task_id="prepare", bash_command="echo prepared")
    train = BashOperator(task_id="train", bash_command="echo {{ ti.xcom_pull(task_ids='prepare') }}")
    report = PythonOperator(task_id="report", python_callable=use_model)
    prepare >> train >> report
"""


def test_legacy_xcom_pull_keeps_a_stand_in(tmp_path):
    path, manifest = small_dag(tmp_path, PULLS)
    result = cutover(path, ["prepare", "train"], manifest=manifest)
    assert result.standins == {"train": "train"}  # report's callable pulls it
    text = path.read_text()
    assert (
        '    train = MigratedTaskOutput(task_id="train", pipeline_task="migrated_prepare")\n'
        in text
    )
    assert "    migrated_prepare >> train\n" in text
    assert_oracle(PULLS, path, ["prepare", "train"], result, "pulls")
    # Without definition.json, the templates and callables tell what a chosen task reads.
    rollback(path)
    (manifest.parent / "definition.json").unlink()
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["train"], manifest=manifest)
    assert info.value.code == "BRG404" and "`prepare`" in info.value.message


INLINE = """\
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.bash import BashOperator

with DAG("inline", schedule=None):

    @task
    def score(x):
        return x

    @task
    def publish(s):
        print(s)

    start = BashOperator(task_id="start", bash_command="echo")
    start >> BashOperator(task_id="middle", bash_command="echo") >> BashOperator(
        task_id="end", bash_command="echo"
    )
    publish(score(start.output))
"""


@pytest.mark.parametrize("chosen", [["middle"], ["score"], ["start"], ["score", "publish"]])
def test_inline_creations_and_output(tmp_path, chosen):
    path, manifest = small_dag(tmp_path, INLINE)
    assert_round_trip(path, manifest, chosen)


def test_output_of_a_migrated_classic_task(tmp_path):
    path, manifest = small_dag(tmp_path, INLINE)
    cutover(path, ["start"], manifest=manifest)
    text = path.read_text()
    assert (
        '    start = MigratedTaskOutput(task_id="start", pipeline_task="migrated_start")\n' in text
    )
    assert "    publish(score(start.output))\n" in text  # `start` is now the stand-in
    cutover(path, ["score"], manifest=manifest)
    assert "publish(score_output.output)" in path.read_text()


# ---- refusals --------------------------------------------------------------------------------------

REFUSED = """\
from airflow.sdk import DAG, chain
from airflow.providers.standard.operators.bash import BashOperator


def helper(t):
    return t


with DAG("refused", schedule=None):
    a = BashOperator(task_id="a", bash_command="echo")
    b = BashOperator(task_id="b", bash_command="echo")
    c = BashOperator(task_id="c", bash_command="echo")
    d = BashOperator(task_id="d", bash_command="echo")
    looped = [BashOperator(task_id=f"loop_{i}", bash_command="echo") for i in range(2)]
    for name in ["x", "y"]:
        BashOperator(task_id=name, bash_command="echo")
    a >> b >> c
    d >> looped[0]
    helper(d)
"""


@pytest.mark.parametrize(
    ("chosen", "code", "words"),
    [
        ([], "BRG400", "no task"),
        (["zz"], "BRG400", "unknown"),
        (["a", "c"], "BRG401", "a >> b >> c"),
        (["a", "looped"], "BRG400", "unknown"),
        (["x", "a"], "BRG402", "not connected"),
        (["loop_0"], "BRG406", "loop"),
        (["x"], "BRG406", "loop"),
        (["d"], "BRG406", "cannot rewire"),
    ],
)
def test_refusals_leave_the_file_alone(tmp_path, chosen, code, words):
    path, manifest = small_dag(tmp_path, REFUSED)
    with pytest.raises(CutoverRefused) as info:
        cutover(path, chosen, manifest=manifest)
    assert info.value.code == code and words in info.value.message
    assert path.read_text() == REFUSED
    assert not sidecar_path(path).exists()


def test_refusals_from_the_manifest_and_definition(tmp_path):
    path, manifest = small_dag(tmp_path, CLASSIC, reads={"evaluate": ["train"]})
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["evaluate", "report"], manifest=manifest)
    assert info.value.code == "BRG404" and "add train to --tasks" in info.value.message
    data = json.loads(manifest.read_text())
    data["tasks"]["report"].update(fate="placeholder", fidelity="manual")
    data["tasks"]["extract"].update(fate="contracted", steps=[])
    manifest.write_text(json.dumps(data))
    for chosen, code in ((["report"], "BRG403"), (["extract"], "BRG403")):
        with pytest.raises(CutoverRefused) as info:
            cutover(path, chosen, manifest=manifest)
        assert info.value.code == code
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["train"], manifest=tmp_path / "nowhere" / "manifest.json")
    assert info.value.code == "BRG408"
    assert path.read_text() == CLASSIC


@pytest.mark.parametrize(
    ("dag_id", "chosen", "code"),
    [
        ("ml_taskflow_pipeline", ["train_model"], "BRG404"),
        ("ml_classic_operators", ["evaluate_model", "choose_deployment"], "BRG405"),
        (
            "ml_classic_operators",
            ["evaluate_model", "choose_deployment", "package_model"],
            "BRG405",
        ),
        ("ml_classic_operators", ["package_model"], "BRG404"),
        # the tail reads model.json, which train_model writes and would write in Airflow
        ("ml_classic_operators", ["evaluate_model"], "BRG411"),
        (
            "ml_classic_operators",
            [
                "evaluate_model",
                "choose_deployment",
                "package_model",
                "flag_for_review",
                "publish_report",
            ],
            "BRG411",
        ),
        ("legacy_airflow1_style", ["archive_artifacts", "end"], "BRG411"),
        ("file_handoff", ["publish"], "BRG411"),
        ("dynamic_feature_pipeline", ["describe_column"], "BRG403"),
        ("dynamic_feature_pipeline", ["profile_size_columns"], "BRG406"),
        ("dynamic_feature_pipeline", ["quality_checks.check_missing"], "BRG404"),
    ],
)
def test_refusals_in_samples(translated, tmp_path, dag_id, chosen, code):
    path, manifest = sample_copy(translated, dag_id, tmp_path)
    original = path.read_bytes()
    with pytest.raises(CutoverRefused) as info:
        cutover(path, chosen, manifest=manifest)
    assert info.value.code == code, info.value.message
    assert path.read_bytes() == original


BRANCH = """\
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import BranchPythonOperator

with DAG("branching", schedule=None):
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
    left = BashOperator(task_id="left", bash_command="echo")
    right = BashOperator(task_id="right", bash_command="echo")
    pick >> [left, right]
"""


def test_branches_do_not_cross_the_boundary(tmp_path):
    path, manifest = small_dag(tmp_path, BRANCH)
    for chosen, words in ((["left"], "stays in Airflow"), (["pick"], "can skip left, right")):
        with pytest.raises(CutoverRefused) as info:
            cutover(path, chosen, manifest=manifest)
        assert info.value.code == "BRG405" and words in info.value.message
    assert_round_trip(path, manifest, ["pick", "left", "right"])


def test_lost_edge_without_a_variable_is_refused(tmp_path):
    source = """\
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("lost", schedule=None):
    a = BashOperator(task_id="a", bash_command="echo")
    b = BashOperator(task_id="b", bash_command="echo")
    c = BashOperator(task_id="c", bash_command="echo")
    BashOperator(task_id="x", bash_command="echo") >> [a, b] >> c
"""
    path, manifest = small_dag(tmp_path, source)
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["a", "c"], manifest=manifest)
    assert info.value.code == "BRG409" and "`x`" in info.value.message
    assert path.read_text() == source
    # With a variable for x, the lost edge x >> op is set explicitly.
    named = source.replace('    BashOperator(task_id="x"', '    x = BashOperator(task_id="x"')
    named = named.replace('echo") >> [a, b]', 'echo")\n    x >> [a, b]')
    path.write_text(named)
    result = cutover(path, ["a", "c"], manifest=manifest)
    assert result.explicit_edges == ["x >> migrated_a"]
    assert_oracle(named, path, ["a", "c"], result, "lost")


def test_already_cut_over_and_taken_ids(tmp_path):
    path, manifest = small_dag(tmp_path, CLASSIC)
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["train"], manifest=manifest, task_id="report")
    assert info.value.code == "BRG407"
    cutover(path, ["train"], manifest=manifest)
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["train", "evaluate"], manifest=manifest)
    assert info.value.code == "BRG407" and "migrated_train" in info.value.message
    # Another part of the same DAG can follow; rollbacks undo them last first.
    cutover(path, ["report"], manifest=manifest)
    assert len(json.loads(sidecar_path(path).read_text())["cutovers"]) == 2
    assert rollback(path).tasks == ["report"]
    assert rollback(path).tasks == ["train"]
    assert path.read_text() == CLASSIC and not sidecar_path(path).exists()


def test_syntax_error_is_a_diagnostic(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("with DAG('x') as d\n    pass\n")
    with pytest.raises(CutoverRefused) as info:
        cutover(path, ["a"], manifest=tmp_path / "m.json")
    assert info.value.code == "BRG100"


# ---- rollback after edits -----------------------------------------------------------------------


def test_rollback_keeps_a_later_unrelated_edit(tmp_path):
    path, manifest = small_dag(tmp_path, CLASSIC)
    cutover(path, ["train", "evaluate"], manifest=manifest)
    edited = path.read_text().replace('"echo report"', '"echo final report"')
    edited += "\n# reviewed by the platform team\n"
    path.write_text(edited)
    back = rollback(path)
    assert back.mode == "reversed"
    expected = CLASSIC.replace('"echo report"', '"echo final report"')
    assert path.read_text() == expected + "\n# reviewed by the platform team\n"
    assert not sidecar_path(path).exists()


def test_rollback_refuses_when_the_operator_was_edited(tmp_path):
    path, manifest = small_dag(tmp_path, CLASSIC)
    cutover(path, ["train", "evaluate"], manifest=manifest)
    edited = path.read_text().replace('pipeline_name="classic"', 'pipeline_name="other"')
    path.write_text(edited)
    with pytest.raises(CutoverRefused) as info:
        rollback(path)
    assert info.value.code == "BRG410" and "migrated_train" in info.value.message
    assert path.read_text() == edited and sidecar_path(path).exists()
    back = rollback(path, force=True)
    assert back.mode == "forced"
    assert path.read_text() == CLASSIC
    assert back.backup is not None and back.backup.read_text() == edited


def test_rollback_without_a_cutover(tmp_path):
    path, _ = small_dag(tmp_path, CLASSIC)
    with pytest.raises(CutoverRefused) as info:
        rollback(path)
    assert info.value.code == "BRG410"


# ---- the command line -----------------------------------------------------------------------------


def test_cli_cutover_dry_run_and_rollback(tmp_path, monkeypatch):
    path, _ = small_dag(tmp_path, CLASSIC)
    monkeypatch.chdir(tmp_path)  # the default manifest: out/<dag_id>/manifest.json
    result = runner.invoke(app, ["cutover", "dag.py", "--tasks", "train,evaluate", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "+    migrated_train = MigratedPipelineOperator(" in result.stdout
    assert "-    train = BashOperator(" in result.stdout
    assert "nothing written" in result.stdout
    assert path.read_text() == CLASSIC and not sidecar_path(path).exists()

    result = runner.invoke(
        app, ["cutover", "dag.py", "-t", "train", "-t", "evaluate", "--pipeline", "prod-ml"]
    )
    assert result.exit_code == 0, result.output
    assert "migrated_train" in result.stdout and "dag.py.bridge-cutover.json" in result.stdout
    assert 'pipeline_name="prod-ml"' in path.read_text()

    result = runner.invoke(app, ["cutover", "dag.py", "--tasks", "train"])
    assert result.exit_code == 2
    assert "BRG407" in result.stderr and "hint:" in result.stderr

    result = runner.invoke(app, ["cutover", "dag.py", "--rollback"])
    assert result.exit_code == 0, result.output
    assert "restored the original file exactly" in result.stdout
    assert path.read_text() == CLASSIC


def test_cli_refusal_exit_code(tmp_path):
    path, manifest = small_dag(tmp_path, CLASSIC)
    result = runner.invoke(
        app, ["cutover", str(path), "--tasks", "extract,report", "--manifest", str(manifest)]
    )
    assert result.exit_code == 2
    assert "BRG401" in result.stderr and "Traceback" not in result.output
    assert path.read_text() == CLASSIC


def test_cli_help_lists_cutover():
    result = runner.invoke(app, ["--help"])
    assert "cutover" in result.stdout
    assert ROOT.joinpath("docs", "cutover.md").exists()
