"""`bridge cutover`: replace a connected part of a DAG by one MigratedPipelineOperator, and back.

Teams keep Airflow as the scheduler while they move a DAG to SageMaker task by task. A cutover
rewrites the DAG file in place (a libcst codemod): the chosen tasks' statements become one
operator task that runs only their steps of the migrated pipeline, and dependencies are rewired
to it. A chosen task whose XComs or state are still read (a TaskFlow result passed on, an
`xcom_pull` of a task that stays, a task after a migrated branch) keeps a `MigratedTaskOutput`
stand-in under its id: the operator pushes all migrated XComs as `task_outputs` and Airflow
keeps XComs only for task instances of the run, so the stand-in re-publishes them. Before
writing, an oracle re-parses the new text and checks its graph is the original with the chosen
tasks contracted into the new one (plus the stand-ins); edges the rewrite lost are added as
explicit `a >> op` statements, anything else refuses the cutover.

Everything needed to undo it goes to a sidecar next to the DAG (`<dag>.py.bridge-cutover.json`):
the original text, the hash of the rewritten one and the changed line blocks. `rollback` restores
the original bytes when the file is as the cutover left it, else reverses the changed blocks and
keeps the user's other edits, else refuses (BRG410) unless forced. docs/cutover.md has the details.

Refusals are `CutoverRefused` (BRG400-BRG411); the file is never touched when one is raised.

The steps have their own modules: `preflight.py` (the checks), `plan.py` (the edits), `apply.py`
(the rewrite), `oracle.py` (the check of the result), `files.py` (sidecar, writes) and
`rollback.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bridge.cutover.files import (
    SIDECAR_SUFFIX,
    SIDECAR_VERSION,
    load_sidecar,
    read_dag,
    sha256,
    sidecar_path,
    unified_diff,
    write_atomic,
)
from bridge.cutover.oracle import expected_graph, oracle
from bridge.cutover.patch import make_hunks
from bridge.cutover.plan import Context, CutoverRefused, Options, add_explicit_edges, make_plan
from bridge.cutover.preflight import (
    check_branching,
    check_folders,
    check_known,
    check_not_cut_over,
    check_reads,
    check_runnable,
    check_shape,
    check_standins,
    choose_dag,
    find_manifest,
    folders_back,
    load_manifest,
    readers_of,
    reads_by_task,
    relative_path,
    selected_tasks,
)
from bridge.cutover.rollback import RollbackResult, rollback


@dataclass
class CutoverResult:
    path: Path
    dag_id: str
    tasks: list[str]
    task_id: str  # as Airflow sees it (group prefix included)
    variable: str
    pipeline_name: str
    manifest: str  # as written into the DAG file
    edges_rewired: int
    explicit_edges: list[str]
    sidecar: Path
    diff: str
    written: bool
    text: str
    touched: list[tuple[int, int]] = field(default_factory=list)
    standins: dict[str, str] = field(default_factory=dict)  # task kept as MigratedTaskOutput -> var
    files_back: list[str] = field(default_factory=list)  # folders the operator brings back


# ---- cutover ---------------------------------------------------------------------------------------


def cutover(
    dag_file: str | Path,
    tasks: list[str],
    *,
    pipeline_name: str | None = None,
    manifest: str | Path | None = None,
    task_id: str | None = None,
    dag_id: str | None = None,
    dry_run: bool = False,
) -> CutoverResult:
    """Rewrite DAG_FILE so that TASKS run as one MigratedPipelineOperator (see the module doc)."""
    path = Path(dag_file)
    source = read_dag(path)
    module, trace, dags, parents, nodes = _trace(path, source)
    selection = selected_tasks(tasks)
    sidecar = load_sidecar(sidecar_path(path))
    dag_node = choose_dag(dags, selection, dag_id, sidecar)
    from bridge.parse.dag_file import to_dag_model

    model = to_dag_model(dag_node)
    graph = model.graph
    check_not_cut_over(model, selection, sidecar)
    check_known(model, selection)
    check_shape(graph, selection, model)
    manifest_file = find_manifest(manifest, model.dag_id)
    data = load_manifest(manifest_file, model)
    check_runnable(model, selection, data)
    reads = reads_by_task(model, data, manifest_file.parent, source)
    check_reads(model, selection, reads)
    check_branching(model, graph, selection)
    check_folders(model, selection, data)
    readers, skippable = readers_of(model, graph, selection, reads, source)
    check_standins(model, set(readers) | skippable, data)

    written_manifest = relative_path(manifest_file, path.parent)
    options = Options(
        pipeline_name=pipeline_name or (data.get("pipeline") or {}).get("name") or model.dag_id,
        manifest=written_manifest,
        task_id=task_id,
        standins=set(readers) | skippable,
    )
    from bridge.cutover.apply import render

    ctx = Context(module, source, trace, dag_node, parents, nodes)
    selection = [t for t in model.task_order() if t in set(selection)]
    plan = make_plan(ctx, selection, options)
    expected, tolerated = expected_graph(
        graph, selection, plan.full_id, plan.standins, readers, skippable
    )
    text = render(module, plan)
    missing, problems = oracle(text, path, model, expected, tolerated, plan)
    explicit: list[str] = []
    for _ in range(3):  # an added edge can change a task group's roots or leaves: look again
        if not missing or problems:
            break
        explicit += add_explicit_edges(ctx, plan, sorted(missing))
        text = render(module, plan)
        missing, problems = oracle(text, path, model, expected, tolerated, plan)
    if missing or problems:
        detail = problems + [f"edge {u} >> {v} is missing" for u, v in sorted(missing)]
        raise CutoverRefused(
            "BRG409",
            model.line,
            "the rewritten file would not keep the DAG's graph: " + "; ".join(detail[:6]),
        )

    diff = unified_diff(source, text, str(path))
    result = CutoverResult(
        path=path,
        dag_id=model.dag_id,
        tasks=selection,
        task_id=plan.full_id,
        variable=plan.var,
        pipeline_name=options.pipeline_name,
        manifest=written_manifest,
        edges_rewired=plan.edges_rewired,
        explicit_edges=explicit,
        sidecar=sidecar_path(path),
        diff=diff,
        written=False,
        text=text,
        touched=sorted(set(plan.touched)),
        standins=dict(sorted(plan.standins.items())),
        files_back=folders_back(model, selection, data),
    )
    if dry_run:
        return result
    entry = {
        "dag_id": model.dag_id,
        "tasks": result.tasks,
        "task_id": plan.full_id,
        "variable": plan.var,
        "standins": sorted(result.standins),
        "pipeline_name": options.pipeline_name,
        "manifest": written_manifest,
        "original_sha256": sha256(source),
        "rewritten_sha256": sha256(text),
        "original": source,
        "hunks": [h.to_dict() for h in make_hunks(source, text)],
    }
    record = sidecar or {"schema_version": SIDECAR_VERSION, "file": path.name, "cutovers": []}
    record["cutovers"].append(entry)
    # The record first: should writing the DAG fail, rollback finds the file at its original
    # hash and only drops the entry.
    write_atomic(result.sidecar, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    write_atomic(path, text)
    result.written = True
    return result


def _trace(path: Path, source: str):
    import libcst as cst

    from bridge.cutover.trace import trace_dags
    from bridge.parse.dag_file import _no_cyclic_gc, _parse_module, parse_source

    try:
        module = _parse_module(source)
    except cst.ParserSyntaxError:
        diagnostic = parse_source(source, str(path)).diagnostics[0]
        raise CutoverRefused("BRG100", diagnostic.line, diagnostic.message) from None
    with _no_cyclic_gc():
        trace, dags, parents, nodes = trace_dags(module, source, str(path), path.stem)
    errors = [d for d in trace.diagnostics if d.severity == "error"]
    if errors:
        raise CutoverRefused(errors[0].code, errors[0].line, errors[0].message)
    return module, trace, dags, parents, nodes


__all__ = [
    "CutoverRefused",
    "CutoverResult",
    "RollbackResult",
    "cutover",
    "rollback",
    "SIDECAR_SUFFIX",
    "SIDECAR_VERSION",
    "expected_graph",
    "sidecar_path",
    "unified_diff",
]
