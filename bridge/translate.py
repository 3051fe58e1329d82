"""DagModel -> PipelineModel: run each task's rule, name the steps, keep every dependency.

Work in progress for issue 3: emission (pipeline.py, steps/, manifest.json, REPORT.md) and most
rules are still to come. The invariants already hold here: every task gets an outcome, and for
the tasks that become steps the transitive "must run before" relation is the DAG's.
"""

from __future__ import annotations

import re

from bridge.model import DagModel
from bridge.pipeline_model import PipelineModel, StepModel, TaskOutcome, step_name
from translators.registry import Registry


def pipeline_name(dag_id: str) -> str:
    """SageMaker pipeline names: letters, digits and single hyphens, starting with a letter or digit."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", dag_id).strip("-")
    return (name or "pipeline")[:256]


def translate_dag(dag: DagModel, registry: Registry) -> PipelineModel:
    g = dag.graph
    pipeline = PipelineModel(dag_id=dag.dag_id, name=pipeline_name(dag.dag_id))
    taken: set[str] = set()
    steps_of: dict[str, list[str]] = {}
    for task_id in dag.task_order():
        task = dag.tasks[task_id]
        chosen = registry.lookup(task.operator)
        result = chosen(task)
        names = []
        for i, draft in enumerate(result.steps):
            label = task_id if len(result.steps) == 1 else f"{task_id}-{i + 1}"
            name = step_name(label, taken)
            pipeline.steps[name] = StepModel(
                name, draft.kind, [task_id], chosen.name, task.line, draft.spec
            )
            names.append(name)
        pipeline.edges.extend(
            zip(names, names[1:], strict=False)
        )  # a task's own steps run in order
        steps_of[task_id] = names
        pipeline.outcomes[task_id] = TaskOutcome(
            task_id,
            task.operator,
            task.line,
            result.fate,
            result.fidelity,
            chosen.name,
            names,
            result.differences,
        )
    pipeline.edges.extend(_step_edges(g, steps_of))
    return pipeline


def _step_edges(g, steps_of: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Task edges as step edges, joining through tasks that have no step (contracted)."""
    contracted = g.copy()
    for task_id, names in steps_of.items():
        if names:
            continue
        # A self-loop (a cycle through contracted tasks) must not bring the removed node back.
        preds = [p for p in contracted.predecessors(task_id) if p != task_id]
        succs = [s for s in contracted.successors(task_id) if s != task_id]
        contracted.remove_node(task_id)
        contracted.add_edges_from((p, s) for p in preds for s in succs)
    edges = {(steps_of[u][-1], steps_of[v][0]) for u, v in contracted.edges if u != v}
    return sorted(edges)
