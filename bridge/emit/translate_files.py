"""`bridge translate`: files -> DagModels -> PipelineModels -> output folders (-> validation).

One broken file or DAG never stops the run: its problems become diagnostics and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.config import BridgeConfig
from bridge.diagnostics import Diagnostic
from bridge.parse.model import DagModel
from bridge.quoting import one_line
from bridge.translate.pipeline_model import PipelineModel

if TYPE_CHECKING:  # bridge.emit.folder imports the code generator: loaded when a DAG is emitted
    from bridge.emit.folder import OutputClaims


@dataclass
class DagOutcome:
    dag_id: str
    folder: Path | None
    pipeline: PipelineModel | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    validation: dict | None = None
    task_ids: list[str] = field(default_factory=list)  # the DAG's, as parsed (for validation)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"exact": 0, "approximate": 0, "manual": 0}
        for o in self.pipeline.outcomes.values() if self.pipeline else []:
            counts[o.fidelity] += 1
        return counts


@dataclass
class FileOutcome:
    path: str
    dags: list[DagOutcome] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def translate_file(
    path: Path,
    registry,
    config: BridgeConfig,
    out: Path | None,
    claims: OutputClaims | None = None,
) -> FileOutcome:
    """Parse one file and translate (and, with `out`, emit) each DAG in it. Two DAGs of one run
    never share a folder: a run passes the same `claims` to each call (default: this file)."""
    from bridge.parse.dag_file import read_source
    from bridge.parse.worker import parse_file_budgeted

    result = parse_file_budgeted(path)  # time and memory budget; never opens a FIFO or device
    outcome = FileOutcome(str(path), diagnostics=list(result.diagnostics))
    source = (read_source(path)[0] or "") if result.dags else ""
    if out is not None and claims is None:
        from bridge.emit.folder import OutputClaims

        claims = OutputClaims()
    for dag in result.dags:
        try:
            outcome.dags.append(
                translate_one(dag, registry, config, source, str(path), out, claims)
            )
        except Exception as exc:  # a bug of ours must not stop the other DAGs: report it
            message = one_line(
                f"DAG `{dag.dag_id}`: internal error while translating: {type(exc).__name__}: {exc}"
            )
            diag = Diagnostic.make("BRG199", dag.line, message, str(path))
            outcome.dags.append(DagOutcome(dag.dag_id, None, None, [diag]))
    return outcome


def translate_one(
    dag: DagModel,
    registry,
    config: BridgeConfig,
    source: str,
    path: str,
    out: Path | None,
    claims: OutputClaims | None = None,
) -> DagOutcome:
    import networkx as nx

    from bridge.translate.engine import translate_dag

    if not nx.is_directed_acyclic_graph(dag.graph):
        cycle = " -> ".join(u for u, _ in nx.find_cycle(dag.graph))
        message = one_line(f"DAG `{dag.dag_id}`: cycle {cycle}")
        diag = Diagnostic.make("BRG206", dag.line, message, path)
        return DagOutcome(dag.dag_id, None, None, [diag])
    pipeline = translate_dag(dag, registry, config, source, path)
    diagnostics = list(pipeline.diagnostics)
    for task_id, o in pipeline.outcomes.items():
        if o.fate == "placeholder":
            diagnostics.append(
                Diagnostic.make(
                    "BRG200",
                    o.line,
                    one_line(f"task `{task_id}`: no rule for `{o.operator}`"),
                    path,
                )
            )
        elif o.fidelity == "approximate":
            diagnostics.append(
                Diagnostic.make(
                    "BRG203",
                    o.line,
                    one_line(f"task `{task_id}`: {'; '.join(o.differences)}"),
                    path,
                )
            )
    # Each script step's image must run its script (the Python of the image, not the host's).
    from bridge.emit.images import enforce_images

    diagnostics += enforce_images(pipeline, dag, config, source, path)
    pipeline.diagnostics = diagnostics
    folder = None
    if out is not None:
        from bridge.emit.folder import OutputRefused, emit, output_folder_name

        name = output_folder_name(dag.dag_id)
        if name != dag.dag_id:
            message = f"DAG `{one_line(dag.dag_id)}` is not a safe folder name: written to `{name}`"
            diagnostics.append(Diagnostic.make("BRG222", dag.line, message, path))
        try:
            folder = emit(pipeline, dag, config, path, out, claims)
        except OutputRefused as exc:
            diagnostics.append(Diagnostic.make(exc.code, dag.line, str(exc), path))
    return DagOutcome(dag.dag_id, folder, pipeline, diagnostics, task_ids=list(dag.tasks))
