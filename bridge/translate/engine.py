"""DagModel -> PipelineModel: run each task's rule, name the steps, keep every dependency.

The invariants hold here: every task gets an outcome, and for the tasks that become steps the
transitive "must run before" relation is the DAG's (see `bridge.emit.validate.closure_differences`).

SageMaker does not run a step whose dependency did not run. Airflow's join tasks after a branch
(`none_failed_min_one_success`, `one_success`, ...) run on whichever path was taken, so each join
and everything after it is copied into every branch that reaches it (`plan_copies`); a copy does not
wait for, and reads None from, the tasks of the other branches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bridge.config import BridgeConfig
from bridge.parse.model import DagModel, TaskModel
from bridge.translate.data_flow import wire_data_flow
from bridge.translate.fidelity import apply_fidelity
from bridge.translate.for_each import body_name, for_each_translation, mapped_argument
from bridge.translate.pipeline_model import PipelineModel, StepModel, TaskOutcome, step_name
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import ConditionSpec, ProcessingSpec, script_of
from bridge.translate.task_settings import task_settings
from translators.registry import Registry, Translation

# Trigger rules under which a task runs when some upstream branch was skipped.
JOIN_RULES = {"none_failed_min_one_success", "one_success", "none_failed", "all_done", "one_done"}


def pipeline_name(dag_id: str) -> str:
    """SageMaker pipeline names: letters, digits and single hyphens, starting with a letter or digit."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", dag_id).strip("-")
    return (name or "pipeline")[:256]


@dataclass(frozen=True)
class Copy:
    """One instance of a task in the pipeline: the task itself, or a branch copy of a join tail."""

    task_id: str
    suffix: str = ""
    dropped: frozenset[str] = field(default_factory=frozenset)


def translate_dag(
    dag: DagModel,
    registry: Registry,
    config: BridgeConfig | None = None,
    source: str = "",
    path: str = "",
) -> PipelineModel:
    ctx = RuleContext(dag, config or BridgeConfig(), source, path)
    pipeline = PipelineModel(dag_id=dag.dag_id, name=pipeline_name(dag.dag_id))
    translations: dict[str, tuple[str, Translation]] = {}
    for task_id in dag.task_order():
        task = dag.tasks[task_id]
        chosen = registry.lookup(task.operator, path)
        translations[task_id] = (chosen.name, _translate_task(task, chosen, ctx, translations))

    branching = {t for t in dag.tasks if registry.lookup(dag.tasks[t].operator, path).branches}
    copies, copy_edges = plan_copies(dag, branching)
    # "xcom" names the execution's XCom prefix in S3 (xcom/<step>); a step of that name would
    # put its folder outputs (<step>/<folder>) under it.
    taken: set[str] = {"xcom"}
    steps_of: dict[Copy, list[str]] = {}
    for copy in copies:
        task = dag.tasks[copy.task_id]
        rule_name, result = translations[copy.task_id]
        steps_of[copy] = _add_steps(pipeline, task, copy, rule_name, result, taken, dag)
    copies_of: dict[str, list[Copy]] = {}  # grouped once: a scan of all copies per task is n²
    for copy in copies:
        copies_of.setdefault(copy.task_id, []).append(copy)
    for task_id, (rule_name, result) in translations.items():
        task = dag.tasks[task_id]
        names = [n for c in copies_of.get(task_id, []) for n in steps_of[c]]
        notes = []
        if len(copies_of.get(task_id, [])) > 1:
            notes.append(
                "joins branches (trigger rule "
                f"`{task.trigger_rule}`): one copy per branch that reaches it"
            )
        pipeline.outcomes[task_id] = TaskOutcome(
            task_id,
            task.operator,
            task.line,
            result.fate,
            result.fidelity,
            rule_name,
            names,
            list(result.differences),
            notes,
        )
    _wire(pipeline, copy_edges, steps_of, translations)
    _combine_gates(pipeline, taken)
    wire_data_flow(pipeline, ctx)  # files tasks share: job outputs and inputs between steps
    _dag_settings(pipeline, dag, ctx)
    apply_fidelity(pipeline, dag, ctx)  # what SageMaker cannot keep, whatever the rule
    return pipeline


def _dag_settings(pipeline: PipelineModel, dag: DagModel, ctx: RuleContext) -> None:
    """params → Parameters, schedule → EventBridge, tags, max_active_tasks → parallelism."""
    from bridge.translate.params import infer_parameters
    from bridge.translate.schedule import to_eventbridge

    inferred = {spec.name: spec for spec in infer_parameters(dag.params).values()}
    pipeline.parameters = {**ctx.parameters, **inferred}
    result = to_eventbridge(dag.schedule)
    if result.expression or result.problem:
        pipeline.schedule = {
            "expression": result.expression,
            "kwargs": result.pipeline_schedule_kwargs(),
            "problem": result.problem,
            "airflow": dag.schedule,
        }
    if result.problem:
        ctx.diagnose("BRG202", dag.line, f"DAG `{dag.dag_id}`: {result.problem}")
    limit = dag.options.get("max_active_tasks")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        pipeline.max_parallel = limit
    pipeline.tags = list(dag.tags)
    pipeline.diagnostics = ctx.diagnostics


MAX_MAPPED_STEPS = 100  # beyond this, one step per element makes an unreadable pipeline


def _translate_task(task: TaskModel, chosen, ctx: RuleContext, translations=None) -> Translation:
    """Run the task's rule; a task mapped over literal lists runs it once per element, one
    mapped over an upstream task's list becomes a ForEachStep when the shapes match."""
    if not task.mapped:
        return chosen(task, ctx)
    elements = literal_elements(task)
    if elements is not None and 0 < len(elements) <= MAX_MAPPED_STEPS:
        results = [chosen(element, ctx) for element in elements]
        steps = []
        for i, result in enumerate(results):
            for draft in result.steps:
                draft.suffix = f"{draft.suffix}-{i}"
                steps.append(draft)
        differences = sorted({d for r in results for d in r.differences})
        worst = max((r.fidelity for r in results), key=["exact", "approximate", "manual"].index)
        merged = Translation(results[0].fate, worst, steps, differences)
        merged.parallel = all(len(r.steps) == 1 for r in results)
        return merged
    result = chosen(task, ctx)
    if elements is None:
        found = mapped_argument(task)
        upstream = (translations or {}).get(found[1]) if found else None
        for_each = for_each_translation(task, result, upstream and upstream[1], ctx.dag)
        if for_each is not None:
            return for_each
    scripted = any(script_of(d.spec) is not None for d in result.steps)
    if elements is not None:
        reason = f"mapped over {len(elements)} elements (more than {MAX_MAPPED_STEPS})"
    else:
        reason = "mapped over a value known only at run time"
    ctx.diagnose(
        "BRG204",
        task.line,
        f"task `{task.task_id}`: {reason}: "
        + ("its instances run in turn in one step" if scripted else "needs a hand translation"),
    )
    if not scripted:
        from translators.registry import placeholder

        manual = placeholder(task, ctx)
        manual.differences = [f"{reason}: no step shape for it"]
        return manual
    return result


def literal_elements(task: TaskModel) -> list[TaskModel] | None:
    """`.expand(k=[...])` over literal lists: one TaskModel per element (the cross product)."""
    import itertools
    from dataclasses import replace

    from bridge.parse.model import ArgValue

    mapping = task.mapping or {}
    keys = mapping.get("keys") or []
    if mapping.get("kind") != "expand" or not keys:
        return None
    op_kwargs = task.kwargs.get("op_kwargs")
    nested = (
        op_kwargs is not None and op_kwargs.kind == "literal" and isinstance(op_kwargs.value, dict)
    )
    lists = []
    for key in keys:
        if nested and key in op_kwargs.value:
            arg = op_kwargs.value[key]
            value = arg.get("value") if arg.get("kind") == "literal" else None
        else:
            arg = task.kwargs.get(key)
            value = arg.value if arg is not None and arg.kind == "literal" else None
        if not isinstance(value, list):
            return None
        lists.append(value)
    elements = []
    for combo in itertools.product(*lists):
        kwargs = dict(task.kwargs)
        inner = dict(op_kwargs.value) if nested else None
        for key, item in zip(keys, combo, strict=True):
            if inner is not None and key in inner:
                inner[key] = {"kind": "literal", "value": item}
            else:
                kwargs[key] = ArgValue("literal", value=item)
        if inner is not None:
            kwargs["op_kwargs"] = ArgValue("literal", value=inner)
        elements.append(replace(task, kwargs=kwargs, mapped=False, mapping=None))
    return elements


def _add_steps(
    pipeline: PipelineModel,
    task: TaskModel,
    copy: Copy,
    rule_name: str,
    result: Translation,
    taken: set[str],
    dag: DagModel,
) -> list[str]:
    names: list[str] = []
    settings = task_settings(task, dag)
    for draft in result.steps:
        name = step_name(f"{task.task_id}{draft.suffix}{copy.suffix}", taken)
        spec = draft.spec
        if isinstance(spec, ProcessingSpec) and spec.for_each is not None:  # name its body too
            body = step_name(body_name(name), taken)
            spec = replace(spec, for_each=replace(spec.for_each, body=body))
        pipeline.steps[name] = StepModel(
            name,
            draft.kind,
            [task.task_id],
            rule_name,
            task.line,
            spec,
            copy=copy.suffix,
            dropped=sorted(copy.dropped),
            settings=settings,
        )
        names.append(name)
    for i, draft in enumerate(result.steps):
        if result.parallel:
            break  # mapped instances: side by side, each joined to the task's neighbours
        after = draft.after if draft.after is not None else ([i - 1] if i else [])
        pipeline.edges.extend((names[j], names[i]) for j in after)
        if draft.side is not None:
            pipeline.branch_sides.update({(names[j], names[i]): draft.side for j in after})
    return names


def plan_copies(dag: DagModel, branching: set[str]) -> tuple[list[Copy], list[tuple[Copy, Copy]]]:
    """Task instances and their edges, with join tails copied into each branch that reaches them."""
    import networkx as nx

    g = nx.DiGraph()
    plain = {t: Copy(t) for t in dag.tasks}
    g.add_nodes_from(plain.values())
    g.add_edges_from((plain[e.upstream], plain[e.downstream]) for e in dag.edges)
    if not nx.is_directed_acyclic_graph(g):
        return list(plain.values()), list(g.edges)
    for branch in sorted(branching, key=lambda t: dag.tasks[t].line):
        for b in [n for n in g.nodes if n.task_id == branch]:
            _copy_joins(g, b, dag)
    order = {t: i for i, t in enumerate(dag.task_order())}
    nodes = sorted(g.nodes, key=lambda c: (order[c.task_id], c.suffix))
    return nodes, list(g.edges)


def _copy_joins(g, branch: Copy, dag: DagModel) -> None:
    import networkx as nx

    targets = sorted(g.successors(branch), key=lambda c: c.task_id)
    regions = {t: {t} | nx.descendants(g, t) for t in targets}
    while True:
        joins = [
            n
            for n in nx.topological_sort(g)
            if dag.tasks[n.task_id].trigger_rule in JOIN_RULES
            and len({t for t in targets if set(g.predecessors(n)) & regions[t]}) > 1
        ]
        if not joins:
            return
        join = joins[0]
        tail = {join} | nx.descendants(g, join)
        for target in targets:
            if not set(g.predecessors(join)) & regions[target]:
                continue
            others = set().union(*(regions[t] for t in targets if t != target)) - regions[target]
            suffix = f"-via-{target.task_id}"
            clone = {
                n: Copy(
                    n.task_id,
                    n.suffix + suffix,
                    n.dropped
                    | {p.task_id for p in g.predecessors(n) if p in others and p not in tail},
                )
                for n in tail
            }
            for n in tail:
                g.add_node(clone[n])
                for p in g.predecessors(n):
                    if p in tail:
                        g.add_edge(clone[p], clone[n])
                    elif p not in others:
                        g.add_edge(p, clone[n])
            for t in targets:  # the copies belong to this target's region only
                regions[t] |= set(clone.values()) if t == target else set()
        g.remove_nodes_from(tail)
        for t in targets:
            regions[t] -= tail


def _combine_gates(pipeline: PipelineModel, taken: set[str]) -> None:
    """A step gated by several conditions (downstream of two branches) runs only if all of them
    chose it, as in Airflow; SageMaker lists a step in one condition only, so one new
    ConditionStep ANDs them (a condition whose else side leads here is negated)."""
    incoming: dict[str, list[tuple[str, str]]] = {}
    for (source, target), side in pipeline.branch_sides.items():
        incoming.setdefault(target, []).append((source, side))
    for target, gates in sorted(incoming.items()):
        if len(gates) < 2:
            continue
        step = pipeline.steps[target]
        conditions = []
        for source, side in sorted(gates):
            for cond in pipeline.steps[source].spec.conditions:
                conditions.append(cond if side == "if" else {"op": "not", "inner": cond})
            del pipeline.branch_sides[(source, target)]
            pipeline.edges.remove((source, target))
        name = step_name(f"{target}-gate", taken)
        pipeline.steps[name] = StepModel(
            name,
            "Condition",
            list(step.tasks),
            "branch",
            step.line,
            ConditionSpec(conditions=conditions),
            copy=step.copy,
        )
        pipeline.edges += [(source, name) for source, _ in sorted(gates)] + [(name, target)]
        pipeline.branch_sides[(name, target)] = "if"
        outcome = pipeline.outcomes[step.tasks[0]]
        outcome.steps.insert(outcome.steps.index(target), name)
        outcome.notes.append(f"`{name}` runs it only if every branch before it chose it")


def _ends(copy: Copy, steps_of, translations, index: int) -> list[str]:
    """The steps an edge leaves from (index -1) or arrives at (0): all of them when parallel."""
    if translations[copy.task_id][1].parallel:
        return steps_of[copy]
    return [steps_of[copy][index]]


def _wire(pipeline, copy_edges, steps_of, translations) -> None:
    """Instance edges as step edges, joining through instances with no step (contracted)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(steps_of)
    for u, v in copy_edges:
        g.add_edge(u, v, side=translations[u.task_id][1].exits.get(v.task_id))
    for copy, names in steps_of.items():
        if names:
            continue
        preds = [(p, g.edges[p, copy]["side"]) for p in g.predecessors(copy) if p != copy]
        succs = [s for s in g.successors(copy) if s != copy]
        g.remove_node(copy)
        for p, side in preds:
            for s in succs:
                if not g.has_edge(p, s):
                    g.add_edge(p, s, side=side)
    edges = set()
    for u, v, data in g.edges(data=True):
        if u == v:
            continue
        side = data["side"]
        sources = [steps_of[u][side[0]]] if side else _ends(u, steps_of, translations, -1)
        for source in sources:
            for target in _ends(v, steps_of, translations, 0):
                edges.add((source, target))
                if side:
                    pipeline.branch_sides[(source, target)] = side[1]
    pipeline.edges.extend(sorted(edges))
