"""Cutover, the checks before any edit: which tasks and DAG, that they are not cut over already,
that they form one connected part the pipeline can run (manifest), what the tasks that stay read
of theirs (XComs, state), whether a migrated task reads a worker folder a task that stays writes,
and whether a migrated branch can skip a task that stays. Each refusal is a `CutoverRefused`
naming the line."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from bridge.cutover.context import OPERATOR_CANONICAL, STANDIN_CANONICAL, CutoverRefused
from bridge.parse.model import DagModel


def selected_tasks(tasks: list[str]) -> list[str]:
    out: list[str] = []
    for item in tasks:
        for name in item.split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    if not out:
        raise CutoverRefused("BRG400", 0, "no task chosen: pass --tasks a,b,c")
    return out


def choose_dag(dags, selection: list[str], dag_id: str | None, sidecar):
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


def check_not_cut_over(model: DagModel, selection: list[str], sidecar) -> None:
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


def check_known(model: DagModel, selection: list[str]) -> None:
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


def check_shape(graph, selection: list[str], model: DagModel) -> None:
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


def find_manifest(manifest: str | Path | None, dag_id: str) -> Path:
    if manifest is None:
        from bridge.emit.folder import output_folder_name

        return Path.cwd() / "out" / output_folder_name(dag_id) / "manifest.json"
    path = Path(manifest)
    return path / "manifest.json" if path.is_dir() else path


def load_manifest(path: Path, model: DagModel) -> dict[str, Any]:
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


def check_runnable(model: DagModel, selection: list[str], manifest: dict[str, Any]) -> None:
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


def reads_by_task(
    model: DagModel, manifest: dict, folder: Path, source: str
) -> dict[str, set[str]]:
    """Task -> the tasks whose step outputs its steps read (a step property, JsonGet, XCom
    input in definition.json); without a definition.json, the DAG's XCom (data) edges and the
    task ids its templates and callable quote. Worker-folder inputs are not reads here: files
    cross the boundary through check_folders and the operator's files back."""
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


def check_reads(model: DagModel, selection: list[str], reads: dict[str, set[str]]) -> None:
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


def check_folders(model: DagModel, selection: list[str], manifest: dict[str, Any]) -> None:
    """A chosen task's step must not stage a worker folder from a step whose task stays in
    Airflow: that task then writes the folder on the worker, where no SageMaker job sees it.
    (The other way round, files a migrated step writes for a task that stays, the operator
    brings back to the worker.)"""
    steps = manifest.get("steps") or {}
    chosen = set(selection)
    for reader in selection:
        for step in manifest["tasks"][reader].get("steps") or []:
            for folder in (steps.get(step) or {}).get("folders") or []:
                writers = sorted(
                    {
                        (steps.get(s) or {}).get("task_id", s)
                        for s in folder.get("inputs_from") or []
                        if (steps.get(s) or {}).get("task_id", s) not in chosen
                    }
                )
                if writers:
                    named = ", ".join(f"`{w}`" for w in writers)
                    stays = "stays" if len(writers) == 1 else "stay"
                    raise CutoverRefused(
                        "BRG411",
                        model.tasks[reader].line,
                        f"`{reader}` reads the worker folder {_folder_text(folder)}, written by "
                        f"{named}, which {stays} in Airflow: the pipeline's step cannot see "
                        f"files written on the Airflow worker; add {', '.join(writers)} to --tasks",
                    )


def folders_back(model: DagModel, selection: list[str], manifest: dict[str, Any]) -> list[str]:
    """The worker folders the operator will bring back after each run: written by a chosen
    task's step and read or written by a task that stays, each as one line for the summary."""
    steps = manifest.get("steps") or {}
    chosen = set(selection)

    def users(tasks) -> dict[tuple, tuple[dict, set[str]]]:
        found: dict[tuple, tuple[dict, set[str]]] = {}
        for task in tasks:
            for step in (manifest["tasks"].get(task) or {}).get("steps") or []:
                for f in (steps.get(step) or {}).get("folders") or []:
                    if task in chosen and not f.get("output"):
                        continue  # a chosen step that only reads the folder brings nothing
                    key = (f.get("kind"), f.get("path"))
                    found.setdefault(key, (f, set()))[1].add(task)
        return found

    writers = users(selection)
    ours = (OPERATOR_CANONICAL, STANDIN_CANONICAL)  # an earlier cutover's tasks run no code here
    staying = users(
        t
        for t, node in model.tasks.items()
        if t not in chosen and t in manifest["tasks"] and node.operator not in ours
    )
    return [
        f"{_folder_text(folder)} written by {', '.join(sorted(by))}, used in Airflow by "
        + ", ".join(sorted(staying[key][1]))
        for key, (folder, by) in sorted(writers.items(), key=lambda kv: str(kv[0]))
        if key in staying
    ]


def _folder_text(folder: dict[str, Any]) -> str:
    """A folder as the DAG names it: its path, `$VARIABLE`, or its place next to the DAG."""
    kind, path = folder.get("kind"), str(folder.get("path") or "")
    shown = {"env": f"${path}", "dag": f"<DAG folder>/{path}"}.get(str(kind), path)
    return f"`{shown}` ({folder.get('name')})"


def readers_of(model: DagModel, graph, selection: list[str], reads, source: str):
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
    folder_outputs = _folder_outputs(manifest)
    out: dict[str, set[str]] = {}

    def refs(obj, acc: set[str]) -> None:
        if isinstance(obj, dict):
            get = obj.get("Get")
            if isinstance(get, str) and get.startswith("Steps.") and get not in folder_outputs:
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


def _folder_outputs(manifest: dict) -> set[str]:
    """The property paths of the steps' worker-folder outputs, as a consumer's input Gets them."""
    return {
        f"Steps.{name}.ProcessingOutputConfig.Outputs['{f['output']}'].S3Output.S3Uri"
        for name, step in (manifest.get("steps") or {}).items()
        for f in (step or {}).get("folders") or []
        if f.get("output")
    }


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


def check_branching(model: DagModel, graph, selection: list[str]) -> None:
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


def check_standins(model: DagModel, standins: set[str], manifest: dict) -> None:
    """A stand-in reports its task's steps; a contracted task has none (it would end skipped)."""
    stepless = sorted(t for t in standins if not manifest["tasks"][t].get("steps"))
    if stepless:
        raise CutoverRefused(
            "BRG403",
            model.tasks[stepless[0]].line,
            f"{', '.join(stepless)} must keep a stand-in (read downstream or after a migrated "
            "branch) but have no step to report: leave them in Airflow",
        )


def relative_path(target: Path, start: Path) -> str:
    target = target.resolve()
    try:
        return Path(os.path.relpath(target, start.resolve())).as_posix()
    except ValueError:  # another drive
        return target.as_posix()
