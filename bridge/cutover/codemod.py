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

Refusals are `CutoverRefused` (BRG400-BRG410); the file is never touched when one is raised.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.cutover.patch import Hunk, make_hunks, reverse
from bridge.cutover.plan import (
    OPERATOR_CANONICAL,
    STANDIN_CANONICAL,
    Context,
    CutoverRefused,
    Options,
    add_explicit_edges,
    make_plan,
)
from bridge.parse.model import DagModel

SIDECAR_SUFFIX = ".bridge-cutover.json"
SIDECAR_VERSION = 1


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


@dataclass
class RollbackResult:
    path: Path
    tasks: list[str]
    task_id: str
    mode: str  # "exact" | "reversed" | "forced" | "already"
    sidecar: Path
    sidecar_removed: bool
    diff: str
    written: bool
    backup: Path | None = None


def sidecar_path(dag_file: Path) -> Path:
    return dag_file.with_name(dag_file.name + SIDECAR_SUFFIX)


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
    source = _read(path)
    module, trace, dags, parents, nodes = _trace(path, source)
    selection = _selection(tasks)
    sidecar = _load_sidecar(sidecar_path(path))
    dag_node = _choose_dag(dags, selection, dag_id, sidecar)
    from bridge.parse.dag_file import to_dag_model

    model = to_dag_model(dag_node)
    graph = model.graph
    _check_not_cut_over(model, selection, sidecar)
    _check_known(model, selection)
    _check_shape(graph, selection, model)
    manifest_file = _manifest_file(manifest, model.dag_id)
    data = _load_manifest(manifest_file, model)
    _check_runnable(model, selection, data)
    reads = _reads(model, data, manifest_file.parent, source)
    _check_reads(model, selection, reads)
    _check_branching(model, graph, selection)
    readers, skippable = _readers(model, graph, selection, reads, source)
    _check_standins(model, set(readers) | skippable, data)

    written_manifest = _relative(manifest_file, path.parent)
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
    missing, problems = _oracle(text, path, model, expected, tolerated, plan)
    explicit: list[str] = []
    for _ in range(3):  # an added edge can change a task group's roots or leaves: look again
        if not missing or problems:
            break
        explicit += add_explicit_edges(ctx, plan, sorted(missing))
        text = render(module, plan)
        missing, problems = _oracle(text, path, model, expected, tolerated, plan)
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
        "original_sha256": _sha(source),
        "rewritten_sha256": _sha(text),
        "original": source,
        "hunks": [h.to_dict() for h in make_hunks(source, text)],
    }
    record = sidecar or {"schema_version": SIDECAR_VERSION, "file": path.name, "cutovers": []}
    record["cutovers"].append(entry)
    # The record first: should writing the DAG fail, rollback finds the file at its original
    # hash and only drops the entry.
    _write(result.sidecar, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    _write(path, text)
    result.written = True
    return result


def _read(path: Path) -> str:
    from bridge.parse.dag_file import parse_file

    try:
        data = path.read_bytes()
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        diagnostic = next(iter(parse_file(path).diagnostics), None)
        message = diagnostic.message if diagnostic else "cannot read the file"
        raise CutoverRefused("BRG101", 0, message) from None


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


def _selection(tasks: list[str]) -> list[str]:
    out: list[str] = []
    for item in tasks:
        for name in item.split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    if not out:
        raise CutoverRefused("BRG400", 0, "no task chosen: pass --tasks a,b,c")
    return out


def _choose_dag(dags, selection: list[str], dag_id: str | None, sidecar):
    if not dags:
        raise CutoverRefused("BRG102", 0, "no DAG found in the file")
    if dag_id is not None:
        for d in dags:
            if d.dag_id == dag_id:
                return d
        raise CutoverRefused(
            "BRG400",
            0,
            f"no DAG `{dag_id}` in the file; it has: {', '.join(d.dag_id for d in dags)}",
        )
    if len(dags) == 1:
        return dags[0]
    migrated = {d.dag_id: set(_migrated_tasks_of(d)) for d in dags}
    holding = [d for d in dags if all(t in d.tasks or t in migrated[d.dag_id] for t in selection)]
    if len(holding) == 1:
        return holding[0]
    raise CutoverRefused(
        "BRG400",
        0,
        "the file has several DAGs ("
        + ", ".join(d.dag_id for d in dags)
        + "): pass --dag-id to say which one the tasks are in",
    )


def _migrated_tasks_of(dag_node) -> dict[str, str]:
    """Original task id -> the MigratedPipelineOperator task that runs it (a DagNode or model)."""
    out = {}
    tasks = dag_node.tasks.values()
    for t in tasks:
        if t.operator != OPERATOR_CANONICAL:
            continue
        kwargs = t.kwargs
        raw = kwargs.get("tasks")
        value = raw[0] if isinstance(raw, tuple) else getattr(raw, "value", None)
        for name in value if isinstance(value, (list, tuple)) else []:
            if isinstance(name, str):
                out[name] = t.task_id
    return out


def _check_not_cut_over(model: DagModel, selection: list[str], sidecar) -> None:
    migrated = _migrated_tasks_of(model)
    hits = {t: migrated[t] for t in selection if t in migrated}
    for entry in (sidecar or {}).get("cutovers", []):
        if entry.get("dag_id") == model.dag_id:
            for t in selection:
                if t in entry.get("tasks", []):
                    hits.setdefault(t, entry.get("task_id", "?"))
    if hits:
        listed = ", ".join(f"`{t}` (in `{op}`)" for t, op in sorted(hits.items()))
        raise CutoverRefused(
            "BRG407",
            model.line,
            f"already cut over: {listed}; roll back first (`bridge cutover FILE --rollback`)",
        )


def _check_known(model: DagModel, selection: list[str]) -> None:
    unknown = [t for t in selection if t not in model.tasks]
    if not unknown:
        return
    hints = []
    for t in unknown:
        close = difflib.get_close_matches(t, list(model.tasks), n=1)
        hints.append(f"`{t}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
    raise CutoverRefused(
        "BRG400",
        model.line,
        f"unknown task id(s) in DAG `{model.dag_id}`: " + ", ".join(hints),
    )


def _check_shape(graph, selection: list[str], model: DagModel) -> None:
    """Convex (no path leaves the selection and comes back) and weakly connected."""
    import networkx as nx

    chosen = set(selection)
    below = set().union(*(nx.descendants(graph, s) for s in chosen)) - chosen
    above = set().union(*(nx.ancestors(graph, s) for s in chosen)) - chosen
    between = below & above
    if between:
        order = {t: i for i, t in enumerate(model.task_order())}
        middle = min(between, key=lambda t: order[t])
        out_path = min(
            (nx.shortest_path(graph, s, middle) for s in chosen if nx.has_path(graph, s, middle)),
            key=len,
        )
        in_path = min(
            (nx.shortest_path(graph, middle, s) for s in chosen if nx.has_path(graph, middle, s)),
            key=len,
        )
        path = " >> ".join(out_path + in_path[1:])
        raise CutoverRefused(
            "BRG401",
            model.tasks[middle].line,
            f"the selection is not convex: {path} leaves it and comes back through "
            f"`{middle}`; add `{middle}` to --tasks or drop one end of that path",
        )
    sub = graph.subgraph(chosen)
    if len(chosen) > 1 and not nx.is_weakly_connected(sub):
        parts = sorted(sorted(c) for c in nx.weakly_connected_components(sub))
        shown = " | ".join(", ".join(p) for p in parts)
        raise CutoverRefused(
            "BRG402",
            model.line,
            f"the selection is not connected: {shown}; cut each part over separately",
        )


def _manifest_file(manifest: str | Path | None, dag_id: str) -> Path:
    if manifest is None:
        from bridge.emit.folder import output_folder_name

        return Path.cwd() / "out" / output_folder_name(dag_id) / "manifest.json"
    path = Path(manifest)
    return path / "manifest.json" if path.is_dir() else path


def _load_manifest(path: Path, model: DagModel) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CutoverRefused(
            "BRG408",
            0,
            f"manifest {path} not found; run `bridge translate` on the DAG first or pass --manifest",
        ) from None
    except (OSError, ValueError) as exc:
        raise CutoverRefused("BRG408", 0, f"manifest {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
        raise CutoverRefused("BRG408", 0, f"{path} is not a bridge manifest (no `tasks`)")
    if data.get("dag_id") not in (None, model.dag_id):
        raise CutoverRefused(
            "BRG408",
            0,
            f"manifest {path} is for DAG `{data.get('dag_id')}`, not `{model.dag_id}`",
        )
    return data


def _check_runnable(model: DagModel, selection: list[str], manifest: dict[str, Any]) -> None:
    tasks = manifest["tasks"]
    problems = []
    for t in selection:
        info = tasks.get(t)
        if model.tasks[t].mapped:
            problems.append(f"`{t}` is mapped (.expand)")
        elif info is None:
            problems.append(f"`{t}` is not in the manifest (translated before it was added?)")
        elif info.get("fate") == "placeholder" or info.get("fidelity") == "manual":
            problems.append(f"`{t}` is a {info.get('fate')} ({info.get('fidelity')})")
    if problems:
        raise CutoverRefused(
            "BRG403",
            model.tasks[selection[0]].line,
            "these tasks' steps cannot run as migrated: " + "; ".join(problems),
        )
    if not any(tasks[t].get("steps") for t in selection):
        raise CutoverRefused(
            "BRG403",
            model.tasks[selection[0]].line,
            "none of the chosen tasks has a step in the pipeline (all contracted): nothing to run",
        )


def _reads(model: DagModel, manifest: dict, folder: Path, source: str) -> dict[str, set[str]]:
    """Task -> the tasks whose step outputs its steps read (a step property, JsonGet, XCom
    input in definition.json); without a definition.json, the DAG's XCom (data) edges and the
    task ids its templates and callable quote."""
    steps = manifest.get("steps") or {}
    step_reads = _step_reads(folder / "definition.json", manifest)
    out: dict[str, set[str]] = {}
    if step_reads is None:
        for e in model.edges:
            if "data" in e.kinds:
                out.setdefault(e.downstream, set()).add(e.upstream)
        for reader, named in _named_in_source(model, source).items():
            out.setdefault(reader, set()).update(named)
        return out
    for task, info in (manifest.get("tasks") or {}).items():
        for step in info.get("steps") or []:
            for ref in step_reads.get(step, ()):
                source = (steps.get(ref) or {}).get("task_id", ref)
                if source != task:
                    out.setdefault(task, set()).add(source)
    return out


def _check_reads(model: DagModel, selection: list[str], reads: dict[str, set[str]]) -> None:
    """A chosen task's step must not read data from the step of a task that stays in Airflow:
    a selective execution has no such step."""
    chosen = set(selection)
    found = {t: reads[t] - chosen for t in selection if reads.get(t, set()) - chosen}
    if found:
        listed = "; ".join(
            f"`{t}` reads the output of {', '.join(f'`{s}`' for s in sorted(up))}"
            for t, up in sorted(found.items())
        )
        missing = sorted(set().union(*found.values()))
        raise CutoverRefused(
            "BRG404",
            model.tasks[sorted(found)[0]].line,
            f"{listed}, which stays in Airflow (a selective execution has no such step): "
            f"add {', '.join(missing)} to --tasks",
        )


def _readers(model: DagModel, graph, selection: list[str], reads, source: str):
    """Chosen task -> the tasks that stay and read its outputs, for every chosen task that needs
    a MigratedTaskOutput stand-in: one whose XComs are read (a step reads its step, a TaskFlow
    call takes its result, a template or callable of the task names it: `xcom_pull(task_ids=
    "train")`), or that a migrated branch can skip while tasks after it stay (the stand-in then
    ends skipped and Airflow skips on from it). Returns (readers, the latter)."""
    import networkx as nx

    chosen = set(selection)
    out: dict[str, set[str]] = {}
    pairs = {(s, r) for r, sources in reads.items() for s in sources}
    pairs |= {(e.upstream, e.downstream) for e in model.edges if "data" in e.kinds}  # TaskFlow
    pairs |= {(t, r) for r, named in _named_in_source(model, source).items() for t in named}
    for source_task, reader in pairs:
        if source_task in chosen and reader not in chosen:
            out.setdefault(source_task, set()).add(reader)
    skippable: set[str] = set()
    for k in selection:
        if _branching(model.tasks[k].operator) == "branch":
            for b in (nx.descendants(graph, k) & chosen) | {k}:
                if set(graph.successors(b)) - chosen:
                    skippable.add(b)
    return out, skippable


def _named_in_source(model: DagModel, source: str) -> dict[str, set[str]]:
    """Task -> the tasks whose ids its arguments (templates) or its callable's source quote, as
    `ti.xcom_pull(task_ids="evaluate_model")` does. A quoted id used for something else only
    costs a stand-in; without definition.json (a manifest copied elsewhere) this and the XCom
    edges are what tell who reads whom."""
    import re

    ids = sorted(model.tasks, key=len, reverse=True)
    if not ids:
        return {}
    pattern = re.compile(r"""(['"])(""" + "|".join(re.escape(t) for t in ids) + r")\1")
    lines = source.splitlines()
    out: dict[str, set[str]] = {}
    for tid, task in model.tasks.items():
        texts = [text for arg in task.kwargs.values() for text in _texts(arg)]
        ref = task.callable
        if ref is not None and ref.defined_in_file and ref.line:
            texts.append("\n".join(lines[ref.line - 1 : ref.end_line]))
        named = {m.group(2) for m in pattern.finditer("\n".join(texts))} - {tid}
        if named:
            out[tid] = named
    return out


def _texts(arg) -> list[str]:
    """The text a task argument carries: its template or literal strings, or its source text
    (names of callables and variables excluded: a function named like a task is no read)."""
    if arg.kind in ("callable", "name"):
        return []
    out: list[str] = [arg.source] if arg.source else []
    stack = [arg.value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            if value.get("kind") in ("callable", "name"):
                continue
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return out


def _step_reads(definition: Path, manifest: dict) -> dict[str, set[str]] | None:
    try:
        data = json.loads(definition.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = sorted(manifest.get("steps") or {}, key=len, reverse=True)
    out: dict[str, set[str]] = {}

    def refs(obj, acc: set[str]) -> None:
        if isinstance(obj, dict):
            get = obj.get("Get")
            if isinstance(get, str) and get.startswith("Steps."):
                rest = get[len("Steps.") :]
                name = next((n for n in names if rest == n or rest.startswith(n + ".")), None)
                acc.add(name or rest.split(".", 1)[0])
            for value in obj.values():
                refs(value, acc)
        elif isinstance(obj, list):
            for value in obj:
                refs(value, acc)

    def walk(steps) -> None:
        for step in steps or []:
            if not isinstance(step, dict):
                continue
            args = step.get("Arguments")
            acc: set[str] = set()
            if step.get("Type") == "Condition" and isinstance(args, dict):
                refs({k: v for k, v in args.items() if k not in ("IfSteps", "ElseSteps")}, acc)
                walk(args.get("IfSteps"))
                walk(args.get("ElseSteps"))
            else:
                refs(args, acc)
            acc.discard(step.get("Name"))
            out[step.get("Name")] = acc

    walk(data.get("Steps"))
    return out


def _branching(operator: str) -> str | None:
    name = operator.rsplit(".", 1)[-1]
    if operator.startswith("airflow.sdk.task."):
        flavour = operator[len("airflow.sdk.task.") :]
        if flavour.startswith("short_circuit"):
            return "short_circuit"
        return "branch" if flavour.startswith("branch") else None
    if "ShortCircuit" in name:
        return "short_circuit"
    return "branch" if name.startswith("Branch") or "BranchOperator" in name else None


def _check_branching(model: DagModel, graph, selection: list[str]) -> None:
    import networkx as nx

    chosen = set(selection)
    for t in selection:
        kind = _branching(model.tasks[t].operator)
        # A short circuit skips everything after it whatever the trigger rules; a branch skips
        # its direct downstream tasks, which must be migrated with it (tasks further down are
        # reached through stand-ins that end skipped, see _readers).
        outside = sorted(
            (nx.descendants(graph, t) if kind == "short_circuit" else set(graph.successors(t)))
            - chosen
        )
        if kind and outside:
            raise CutoverRefused(
                "BRG405",
                model.tasks[t].line,
                f"`{t}` ({kind.replace('_', '-')}) can skip {', '.join(outside)}, which stay in "
                "Airflow; the operator cannot skip them: add them to --tasks",
            )
    for t in sorted(set(graph.nodes) - chosen):
        if _branching(model.tasks[t].operator) != "branch":
            continue
        inside = sorted(set(graph.successors(t)) & chosen)
        if inside:
            raise CutoverRefused(
                "BRG405",
                model.tasks[t].line,
                f"`{t}` (branch) stays in Airflow and follows its downstream tasks by task id; "
                f"{', '.join(inside)} would no longer exist: add `{t}` to --tasks",
            )


def _check_standins(model: DagModel, standins: set[str], manifest: dict) -> None:
    """A stand-in reports its task's steps; a contracted task has none (it would end skipped)."""
    stepless = sorted(t for t in standins if not manifest["tasks"][t].get("steps"))
    if stepless:
        raise CutoverRefused(
            "BRG403",
            model.tasks[stepless[0]].line,
            f"{', '.join(stepless)} must keep a stand-in (read downstream or after a migrated "
            "branch) but have no step to report: leave them in Airflow",
        )


def _relative(target: Path, start: Path) -> str:
    target = target.resolve()
    try:
        return Path(os.path.relpath(target, start.resolve())).as_posix()
    except ValueError:  # another drive
        return target.as_posix()


# ---- the oracle ------------------------------------------------------------------------------------


def expected_graph(graph, selection, new_id: str, standins, readers, skippable):
    """The original graph with the chosen tasks contracted into `new_id`, plus the stand-ins:
    op >> stand-in, stand-in >> each task that stays and reads its XComs (if it ran after it),
    stand-in >> each task after it when a migrated branch can skip it. Returns (graph, edges
    allowed in addition): op >> t where the stand-in leads to t, and edges between a stand-in
    and a task that stays which only repeat the original order (a stand-in in a task group is
    one of its roots or leaves)."""
    import networkx as nx

    chosen = set(selection)

    def m(t):
        return new_id if t in chosen else t

    g = nx.DiGraph()
    g.add_nodes_from(m(n) for n in graph.nodes)
    g.add_nodes_from(standins)
    optional: set[tuple[str, str]] = set()
    for u, v in graph.edges:
        if u in standins and v not in chosen and (v in readers.get(u, ()) or u in skippable):
            g.add_edge(u, v)
            optional.add((new_id, v))
        elif m(u) != m(v):
            g.add_edge(m(u), m(v))
    for t in standins:
        g.add_edge(new_id, t)
        for r in readers.get(t, ()):
            if nx.has_path(graph, t, r):
                g.add_edge(t, r)
        optional |= {(u, t) for u in nx.ancestors(graph, t) - chosen}
        optional |= {(t, v) for v in nx.descendants(graph, t) - chosen}
    return g, optional - set(g.edges)


def _oracle(text: str, path: Path, model: DagModel, expected, tolerated, plan):
    """(missing edges, other problems) of the rewritten text against the expected graph."""
    from bridge.parse.dag_file import parse_source

    new_id = plan.full_id
    result = parse_source(text, str(path))
    problems = [f"{d.code} {d.message}" for d in result.diagnostics if d.severity == "error"]
    dag = next((d for d in result.dags if d.dag_id == model.dag_id), None)
    if dag is None:
        return set(), [*problems, f"DAG `{model.dag_id}` is gone"]
    got = dag.graph
    if set(got.nodes) != set(expected.nodes):
        extra = sorted(set(got.nodes) - set(expected.nodes))
        lost = sorted(set(expected.nodes) - set(got.nodes))
        problems.append(f"tasks differ (new: {extra}, lost: {lost})")
        return set(), problems
    if dag.tasks[new_id].operator != OPERATOR_CANONICAL:
        problems.append(f"`{new_id}` is a {dag.tasks[new_id].operator}")
    for tid, task in dag.tasks.items():
        if tid == new_id:
            continue
        old = model.tasks[tid]
        if tid in plan.standins:
            if task.operator != STANDIN_CANONICAL or task.group != old.group:
                problems.append(f"`{tid}` is not a MigratedTaskOutput in its group")
            continue
        for attr in ("operator", "group", "trigger_rule", "mapped"):
            if getattr(task, attr) != getattr(old, attr):
                problems.append(f"`{tid}` changed its {attr}")
    got_edges, want_edges = set(got.edges), set(expected.edges)
    problems += [f"edge {u} >> {v} is new" for u, v in sorted(got_edges - want_edges - tolerated)]
    missing = want_edges - got_edges
    ours = {new_id, *plan.standins}
    problems += [
        f"edge {u} >> {v} is missing" for u, v in sorted(missing) if u not in ours and v != new_id
    ]
    return missing, problems


# ---- rollback --------------------------------------------------------------------------------------


def rollback(dag_file: str | Path, *, force: bool = False, dry_run: bool = False) -> RollbackResult:
    """Undo the last cutover of DAG_FILE (see the module doc and docs/cutover.md)."""
    path = Path(dag_file)
    side = sidecar_path(path)
    record = _load_sidecar(side)
    if not record or not record.get("cutovers"):
        raise CutoverRefused(
            "BRG410", 0, f"no cutover recorded for {path} (no {side.name} next to it)"
        )
    entry = record["cutovers"][-1]
    current = _read(path)
    original = entry["original"]
    backup = None
    if _sha(current) == entry["rewritten_sha256"]:
        mode, text = "exact", original
    elif _sha(current) == entry["original_sha256"]:
        mode, text = "already", current
    else:
        hunks = [Hunk.from_dict(h) for h in entry["hunks"]]
        text, failures = reverse(current, hunks)
        if text is not None:
            problem = _restored_problem(text, path, entry)
            if problem:
                text, failures = None, []
                if not force:
                    raise CutoverRefused("BRG410", 0, problem)
        if text is not None:
            mode = "reversed"
        elif force:
            mode, text = "forced", original
            backup = path.with_name(path.name + ".bridge-rollback.bak")
        else:
            shown = "; ".join(
                f"line {f.hunk.line}: {f.reason} (`{_first_line(f.hunk.rewritten)}`)"
                for f in failures
            )
            raise CutoverRefused(
                "BRG410",
                failures[0].hunk.line if failures else 0,
                f"{path} was edited where the cutover wrote: {shown}; fix it by hand or use "
                "--force to restore the original (your edits are kept in a .bak file)",
            )
    diff = unified_diff(current, text, str(path))
    remaining = record["cutovers"][:-1]
    result = RollbackResult(
        path=path,
        tasks=list(entry["tasks"]),
        task_id=entry["task_id"],
        mode=mode,
        sidecar=side,
        sidecar_removed=not remaining,
        diff=diff,
        written=False,
        backup=backup,
    )
    if dry_run:
        return result
    if backup is not None:
        _write(backup, current)
    if text != current:
        _write(path, text)
    if remaining:
        record["cutovers"] = remaining
        _write(side, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    else:
        side.unlink()
    result.written = True
    return result


def _restored_problem(text: str, path: Path, entry: dict) -> str | None:
    """Why a reversed text is not a rollback: the tasks are not back or the operator remains."""
    from bridge.parse.dag_file import parse_source

    result = parse_source(text, str(path))
    dag = next((d for d in result.dags if d.dag_id == entry["dag_id"]), None)
    if dag is None:
        return f"after reversing the cutover, DAG `{entry['dag_id']}` is not found"
    lost = [t for t in entry["tasks"] if t not in dag.tasks]
    if lost or entry["task_id"] in dag.tasks:
        return (
            "after reversing the cutover, the DAG still lacks "
            + (", ".join(lost) if lost else "nothing")
            + f" and {'still has' if entry['task_id'] in dag.tasks else 'lost'} `{entry['task_id']}`"
        )
    return None


def _first_line(lines: list[str]) -> str:
    text = next((ln.strip() for ln in lines if ln.strip()), "")
    return text[:60]


# ---- files -----------------------------------------------------------------------------------------


def _load_sidecar(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CutoverRefused("BRG410", 0, f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cutovers"), list):
        raise CutoverRefused("BRG410", 0, f"{path} is not a cutover record")
    return data


def _write(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a DAG file."""
    tmp = path.with_name(f".{path.name}.bridge-tmp")
    tmp.write_bytes(text.encode("utf-8"))
    if path.exists():
        shutil.copymode(path, tmp)  # a DAG file keeps its permissions
    os.replace(tmp, path)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unified_diff(before: str, after: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )


__all__ = [
    "CutoverRefused",
    "CutoverResult",
    "RollbackResult",
    "cutover",
    "rollback",
    "sidecar_path",
]
