"""Issue 17: validation that grows linearly and stays exact, and definitions over CreatePipeline's
inline limit.

- The dependency closure is checked with bit sets; networkx's `descendants` per node (the check
  before) is the oracle on generated graphs.
- Step files are named by content and put in S3 once each: a pipeline of hundreds of steps
  upserted through `bridge serve` holds one object per distinct file, and its definition, over
  the 1,048,576 characters CreatePipeline takes inline, arrives through
  PipelineDefinitionS3Location (serve refuses a longer one inline, as SageMaker does).
- `validate` writes the definition's size and step count to manifest.json and REPORT.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.emit.validate import (
    BUCKET,
    INLINE_LIMIT,
    REPORT_SECTION,
    content_digest,
    order_differences,
    record_artifacts,
    validate_folders,
)
from bridge.serve.server import serve
from tests.serve_user import serve_client, user_env

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = Path(sys.executable).parent / "bridge"
TOKEN = "BRGSCALETESTS0000000000000000000"
ROLE = "arn:aws:iam::000000000000:role/ScaleTests"
SERVE_BUCKET = "sagemaker-us-east-1-000000000000"  # the SDK's default bucket on serve

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_translate import generated_dag  # noqa: E402


def closure_by_descendants(dag_edges, task_steps, step_edges) -> list[str]:
    """The check as it was: every node's descendants, every pair of tasks."""
    g = nx.DiGraph()
    g.add_nodes_from(s for names in task_steps.values() for s in names)
    g.add_edges_from(step_edges)
    task_of = {s: t for t, names in task_steps.items() for s in names}
    dag = nx.DiGraph()
    dag.add_nodes_from(task_steps)
    dag.add_edges_from(dag_edges)
    before = {
        (task_of[s], task_of[d])
        for s in g.nodes
        for d in nx.descendants(g, s)
        if s in task_of and d in task_of and task_of[s] != task_of[d]
    }
    survivors = [t for t, names in task_steps.items() if names]
    problems = []
    for a in survivors:
        after = nx.descendants(dag, a)
        for b in survivors:
            if a == b:
                continue
            if b in after and (a, b) not in before:
                problems.append(f"`{a}` runs before `{b}` in the DAG but not in the pipeline")
            elif (a, b) in before and b not in after:
                problems.append(f"`{a}` runs before `{b}` in the pipeline but not in the DAG")
    return problems


@st.composite
def dag_and_pipeline(draw):
    n = draw(st.integers(1, 12))
    tasks = [f"t{i}" for i in range(n)]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    dag_edges = [(tasks[i], tasks[j]) for i, j in pairs if draw(st.booleans())]
    task_steps = {t: [f"{t}-{k}" for k in range(draw(st.integers(0, 2)))] for t in tasks}
    steps = [s for names in task_steps.values() for s in names] + ["loose"]
    order = draw(st.permutations(steps))
    step_pairs = [(i, j) for i in range(len(order)) for j in range(i + 1, len(order))]
    step_edges = [(order[i], order[j]) for i, j in step_pairs if draw(st.integers(0, 3)) == 0]
    return dag_edges, task_steps, step_edges


@settings(max_examples=300, deadline=None)
@given(dag_and_pipeline())
def test_the_closure_check_agrees_with_descendants_of_every_node(case):
    dag_edges, task_steps, step_edges = case
    assert order_differences(dag_edges, task_steps, step_edges) == closure_by_descendants(
        dag_edges, task_steps, step_edges
    )


def test_the_closure_check_grows_with_the_edges_not_the_pairs():
    import time

    def seconds(n: int) -> float:
        tasks = [f"t{i}" for i in range(n)]
        edges = [(tasks[i - 1], tasks[i]) for i in range(1, n)]  # a chain: n²/2 ordered pairs
        steps = {t: [t] for t in tasks}
        start = time.perf_counter()
        assert order_differences(edges, steps, edges) == []
        return time.perf_counter() - start

    seconds(500)  # warm
    small, large = seconds(1_000), seconds(8_000)
    # Pairwise work would take 64x as long; bit sets of n bits take about 8x more words (and
    # at this size a word operation costs little more than the loop around it).
    assert large < 30 * small + 0.5, (small, large)


def test_a_file_whose_content_differs_from_its_name_is_a_problem(tmp_path):
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "a.py").write_text("print('a')\n")
    digest = content_digest(tmp_path / "steps" / "a.py")
    good = f"s3://{BUCKET}/p/code/{digest}/steps/a.py"
    stale = f"s3://{BUCKET}/p/code/{'0' * 64}/steps/a.py"
    outside = f"s3://{BUCKET}/p/code/{digest}/steps/../../a.py"
    assert record_artifacts(tmp_path, {"Steps": [{"Code": good}]}) == []
    assert json.loads((tmp_path / "artifacts.json").read_text()) == {good: "steps/a.py"}
    problems = record_artifacts(tmp_path, {"Steps": [{"Code": stale}, {"Code": outside}]})
    assert problems == [
        f"{stale} names other content than steps/a.py holds",
        f"{outside} names steps/../../a.py, which is not in the folder",
    ]


def test_a_task_the_manifest_lacks_is_a_problem_given_or_parsed(tmp_path):
    from bridge.emit.validate import _missing_tasks

    dag = tmp_path / "dag.py"
    dag.write_text(
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d'):\n    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n"
    )
    folder = tmp_path / "out" / "d"
    folder.mkdir(parents=True)
    manifest = {"dag_id": "d", "source": {"path": str(dag)}, "tasks": {"a": {}}}
    expected = ["tasks missing from the manifest: b"]
    assert _missing_tasks(folder, manifest) == expected  # the file parsed again
    assert _missing_tasks(folder, manifest, ["a", "b"]) == expected  # translate's parse
    assert _missing_tasks(folder, {**manifest, "tasks": {"a": {}, "b": {}}}, ["a", "b"]) == []


# ---- a definition over the inline limit, through bridge serve -----------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A generated DAG whose definition is over 1 MiB, translated and validated."""
    work = tmp_path_factory.mktemp("big")
    # Unscheduled: bridge serve does not answer EventBridge Scheduler.
    (work / "big.py").write_text(generated_dag(700).replace("schedule='@daily'", "schedule=None"))
    done = subprocess.run(
        [str(BRIDGE), "translate", "big.py"], capture_output=True, text=True, cwd=work
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout
    return work / "out" / "generated"


def test_validate_reports_the_size_and_step_count(big):
    manifest = json.loads((big / "manifest.json").read_text())
    text = json.dumps(json.loads((big / "definition.json").read_text()))
    steps = manifest["definition"]["steps"]
    assert steps == len(manifest["steps"]) == 630  # 700 tasks, every 10th an EmptyOperator
    assert manifest["definition"]["characters"] > INLINE_LIMIT
    assert manifest["definition"]["upsert"] == "PipelineDefinitionS3Location"
    assert len(text) > INLINE_LIMIT / 2  # definition.json is the same definition, reformatted
    report = (big / "REPORT.md").read_text()
    assert report.count(REPORT_SECTION) == 1
    assert f"{steps:,} steps" in report and "PipelineDefinitionS3Location" in report
    # Validating again replaces the section rather than adding one.
    (verdict,) = validate_folders([big]).values()
    assert verdict["ok"], verdict
    assert (big / "REPORT.md").read_text() == report


def test_a_big_pipeline_upserts_through_s3_with_each_file_once(big, tmp_path):
    with serve([], tmp_path / "state", port=0, token=TOKEN) as server:
        done = subprocess.run(
            [sys.executable, "pipeline.py", "--upsert", "--endpoint-url", server.url],
            capture_output=True,
            text=True,
            env=user_env(tmp_path, TOKEN, ROLE),
            cwd=big,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]

        def client(service: str):
            return serve_client(server.url, TOKEN, service)

        text = client("sagemaker").describe_pipeline(PipelineName="generated")["PipelineDefinition"]
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=SERVE_BUCKET)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    # Serve refuses more than this inline, as CreatePipeline does: the SDK sent the location.
    assert len(text) > INLINE_LIMIT
    definition = json.loads(text)
    code = [k for k in keys if k.startswith("generated/code/")]
    files = sorted(p.relative_to(big).as_posix() for p in (big / "steps").iterdir())
    assert sorted(k.split("/", 3)[3] for k in code) == files  # each file once, by content
    named = {
        value
        for step in definition["Steps"]
        for value in _strings(step["Arguments"])
        if value.startswith(f"s3://{SERVE_BUCKET}/generated/code/")
    }
    assert named == {f"s3://{SERVE_BUCKET}/{k}" for k in code}


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_folders_are_dealt_out_to_several_validation_children(tmp_path):
    from bridge.emit.validate import Validation

    samples = [
        ROOT / "sample_dags" / f"{name}.py" for name in ("file_handoff", "legacy_airflow1_style")
    ]
    done = subprocess.run(
        [str(BRIDGE), "translate", *map(str, samples), "-o", str(tmp_path), "--no-validate"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    folders = sorted(p for p in tmp_path.iterdir() if (p / "pipeline.py").is_file())
    assert len(folders) == 2
    validation = Validation.start(children=3)  # one child gets nothing to do
    children = list(validation.children)
    verdicts = validation.verdicts(folders)
    assert set(verdicts) == {str(f) for f in folders}
    assert all(v["ok"] for v in verdicts.values()), verdicts
    assert all(child.returncode == 0 for child in children)
    for folder in folders:
        assert json.loads((folder / "manifest.json").read_text())["definition"]["steps"] > 0
    # A child that died before its request: each of its folders says so; no traceback here.
    dead = Validation.start(children=1)
    dead.children[0].kill()
    dead.children[0].wait()
    (verdict,) = dead.verdicts(folders[:1]).values()
    assert verdict["ok"] is False
    assert verdict["problems"][0].startswith("validation process failed (exit -9)")
    idle = Validation.start(children=2)
    idle.cancel()
    assert all(child.poll() is not None for child in idle.children)


def test_step_files_in_the_sdks_default_bucket_are_put_only_if_this_account_owns_it(
    tmp_path, monkeypatch
):
    """Like the SDK's own uploads: sagemaker-<region>-<account> is a name anyone can predict,
    so each put there asks S3 to check the owner (moto does not check it: the request is read)."""
    import moto

    from bridge.run.pipeline_module import SUPPORT_MODULE, import_pipeline

    sample = ROOT / "sample_dags" / "file_handoff.py"
    done = subprocess.run(
        [str(BRIDGE), "translate", str(sample), "-o", str(tmp_path), "--no-validate"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    import_pipeline(tmp_path / "file_handoff" / "pipeline.py", "scale_owner_check")
    support = sys.modules[SUPPORT_MODULE]
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with moto.mock_aws():
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        session = PipelineSession()
        default = session.default_bucket()  # named by the SDK: sagemaker-us-east-1-<account>
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="team-artifacts")
        owners: list[str | None] = []
        session.s3_client.meta.events.register(
            "before-parameter-build.s3.PutObject",
            lambda params, **_: owners.append(params.get("ExpectedBucketOwner")),
        )
        for bucket in (default, "team-artifacts"):
            files = support.StepFiles(bucket, "file-handoff")
            files.uri("steps/_bridge_runtime.py")
            files.uri("inputs/data")
            files.upload(session)
    account = default.rsplit("-", 1)[-1]
    assert len(owners) == 2 * 4  # the runtime and three data files, in each bucket
    assert owners[:4] == [account] * 4 and owners[4:] == [None] * 4
