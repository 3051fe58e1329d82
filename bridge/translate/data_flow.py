"""The files tasks share, as SageMaker's data contract: job outputs and inputs between steps.

Airflow tasks on one worker share its disk: one writes /tmp/x/raw.csv, a later one reads it. Each
SageMaker job has its own container, so after the engine has named the steps (and copied branch
tails) this pass gives every script step its folders (`ScriptSpec.folders`):

- a folder the step writes is a job output named for the folder, uploaded under the execution's
  prefix (the emitter renders it);
- a folder the step reads is one job input per step upstream of it on its path that writes the
  folder, wired from that step's output property, in upstream order; a folder of the DAG's own
  repository (`Path(__file__).parent / "data"`) is first staged from the copy `bridge translate`
  makes of it (inputs/<name>/ in the output folder);
- a read that no upstream step can supply, and every path the analysis could not resolve, is a
  difference: the task is approximate, never exact.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bridge.translate.files.model import Access, Folder, TaskFiles
from bridge.translate.job_limits import MAX_ARGUMENT, MAX_INPUTS, MAX_OUTPUTS
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.rule_context import RuleContext
from bridge.translate.step_specs import FolderFlow, FolderInput, script_of

OUTPUT_ROOT = "/opt/ml/processing/output"  # a folder a step writes: the job output <name>
FILES_INPUT = "/opt/ml/processing/input/files"  # <name>/<producer step>: an upstream output
REPOSITORY_INPUT = "/opt/ml/processing/input/repository"  # <name>: the DAG's own data
WORK_ROOT = "/opt/ml/processing/work"  # <name>: a folder the step only reads, staged here
REPOSITORY_LIMIT = 100 * 1024 * 1024  # bytes of repository data `bridge translate` copies
# Input names are "<name>-<step>" and "repository-<name>": a folder named "repository" could
# give one of them twice.
RESERVED = frozenset({"repository"})
_NAME_MAX = 40


def wire_data_flow(pipeline: PipelineModel, ctx: RuleContext) -> None:
    """Give each script step its folders and make the tasks whose files cannot all be wired
    approximate, each difference naming the path and its line."""
    scripts = {
        name: step
        for name, step in pipeline.steps.items()
        if step.kind == "Processing" and script_of(step.spec) is not None
    }
    if not any(_files(s).accesses or _files(s).unresolved for s in scripts.values()):
        return
    import networkx as nx

    graph = pipeline.graph
    order = [
        n
        for n in nx.lexicographical_topological_sort(
            graph, key=lambda n: (pipeline.steps[n].line, n)
        )
        if n in scripts
    ]
    writers: dict[Folder, list[str]] = {}
    for name in order:
        for folder in _files(scripts[name]).folders("write"):
            writers.setdefault(folder, []).append(name)
    names = folder_names(a.folder for s in scripts.values() for a in _files(s).accesses)
    repository = Repository(Path(ctx.path).parent if ctx.path else None, ctx)
    for name in order:
        step = scripts[name]
        upstream = nx.ancestors(graph, name)
        wiring = Wiring(step, pipeline, writers, upstream, names, repository)
        folders = wiring.folders()
        script = script_of(step.spec)
        step.spec = replace(step.spec, script=replace(script, folders=folders))
        problems = wiring.problems + _job_limits(step, folders, ctx)
        _make_approximate(pipeline, step, problems)


def _files(step: StepModel) -> TaskFiles:
    return script_of(step.spec).files


def folder_names(folders: Iterable[Folder]) -> dict[Folder, str]:
    """A job output name per folder: readable ("bridge_file_handoff", "bridge_data_dir" for
    $BRIDGE_DATA_DIR), unique, and stable: folders whose readable names clash all end in a
    short hash of the folder, so adding a task never renames another task's outputs."""
    bases = {f: _base_name(f) for f in dict.fromkeys(folders)}
    # A folder must not take the XCom's names: its output "xcom" (/opt/ml/processing/output/xcom)
    # and its inputs "xcom-<step>". Every "xcom..." is renamed, as before, so names stay stable.
    bases = {f: f"folder_{b}" if b.startswith("xcom") else b for f, b in bases.items()}
    clashes = Counter(bases.values())
    names = {}
    for folder, base in bases.items():
        if clashes[base] > 1 or base in RESERVED:
            digest = hashlib.sha1(f"{folder.kind}:{folder.key}".encode()).hexdigest()[:6]
            base = f"{base[: _NAME_MAX - 7]}_{digest}"
        names[folder] = base
    return names


def _base_name(folder: Folder) -> str:
    if folder.kind == "path":
        text = folder.key.rstrip("/").rsplit("/", 1)[-1] or "root"
    elif folder.kind == "dag":
        text = folder.key or "dag_folder"
    else:
        text = folder.key
    # Letters, digits and "_" only: input names are "<name>-<step>", so no "-" in the name.
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:_NAME_MAX] or "folder"


@dataclass
class Wiring:
    """One step's folders, and what about its files SageMaker cannot reproduce."""

    step: StepModel
    pipeline: PipelineModel
    writers: dict[Folder, list[str]]  # folder -> the script steps writing it, upstream first
    upstream: set[str]  # the steps that run before this one on its path
    names: dict[Folder, str]
    repository: Repository
    problems: list[str] = field(default_factory=list)

    def folders(self) -> tuple[FolderFlow, ...]:
        files = _files(self.step)
        flows = []
        for folder in dict.fromkeys(a.folder for a in files.accesses):
            flow = self._flow(folder, [a for a in files.accesses if a.folder == folder])
            if flow is not None:
                flows.append(flow)
        for u in files.unresolved:
            self.problems.append(
                f"cannot tell which file `{u.expression}` (line {u.line}) is: {u.why}; a "
                "SageMaker job has only its declared inputs and outputs"
            )
        return tuple(flows)

    def _flow(self, folder: Folder, accesses: list[Access]) -> FolderFlow | None:
        name = self.names[folder]
        writes = any(a.mode == "write" for a in accesses)
        producers = [w for w in self.writers.get(folder, []) if w in self.upstream]
        inputs = [FolderInput(step=p, local_path=f"{FILES_INPUT}/{name}/{p}") for p in producers]
        reads = _foreign_reads(accesses)
        if reads and folder.kind == "dag":
            problem = self.repository.problem(folder, reads[0])
            if problem is None:
                inputs.insert(0, FolderInput(local_path=f"{REPOSITORY_INPUT}/{name}"))
            elif not producers:
                self.problems.append(problem)
        elif reads and not producers:
            self.problems += [self._unwritten(folder, a) for a in reads]
        if folder.kind == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", folder.key):
            self.problems.append(f"`{folder.key}` is not an environment variable a job can set")
            return None
        if folder.kind == "dag" and not folder.key and writes:
            line = next(a.line for a in accesses if a.mode == "write")
            self.problems.append(
                f"writes next to the DAG file itself (line {line}): a job uploads only folders it "
                "declares; write into a sub-folder"
            )
            writes = False
        if not (writes or inputs):
            return None  # read and never written: the job reads the original path and fails
        if writes:
            work = f"{OUTPUT_ROOT}/{name}"
        elif len(inputs) == 1:
            work = inputs[0].local_path  # read where it is mounted: nothing to merge
        else:
            work = f"{WORK_ROOT}/{name}"
        return FolderFlow(name=name, folder=folder, work=work, writes=writes, inputs=tuple(inputs))

    def _unwritten(self, folder: Folder, read: Access) -> str:
        elsewhere = sorted(
            {t for w in self.writers.get(folder, []) for t in self.pipeline.steps[w].tasks}
            - set(self.step.tasks)
        )
        if elsewhere:
            return (
                f"reads {read.path} (line {read.line}), which only {', '.join(elsewhere)} "
                "write, and they do not run before it: a SageMaker job does not have it"
            )
        return (
            f"reads {read.path} (line {read.line}), which no task of the DAG writes: a SageMaker "
            "job does not have it; make it an S3 input"
        )


def _foreign_reads(accesses: list[Access]) -> list[Access]:
    """Reads of files the step did not write itself (reading back its own file needs no input)."""
    own = {a.path for a in accesses if a.mode == "write"}
    return [a for a in accesses if a.mode == "read" and a.path not in own]


@dataclass
class Repository:
    """The DAG's own data folders (kind "dag"), checked once each: `bridge translate` copies a
    folder that exists next to the DAG file, lies inside its folder and is not too large."""

    dag_folder: Path | None
    ctx: RuleContext
    checked: dict[Folder, str | None] = field(default_factory=dict)

    def problem(self, folder: Folder, read: Access) -> str | None:
        """None when the folder can be staged, else the difference (reported once as well)."""
        if folder not in self.checked:
            self.checked[folder] = self._check(folder, read)
        return self.checked[folder]

    def _check(self, folder: Folder, read: Access) -> str | None:
        where = f"reads {read.path} (line {read.line}) from the DAG's folder `{folder.key or '.'}`"
        root = repository_folder(self.dag_folder, folder)
        if root is None:
            self.ctx.diagnose(
                "BRG237", read.line, f"{where}: it is not a folder inside the DAG's folder"
            )
            return f"{where}, which is not a folder inside the DAG's folder: the job lacks it"
        files = repository_files(root)
        if not files:
            return f"{where}, which is empty or missing next to the DAG file: the job lacks it"
        size = sum(p.stat().st_size for p in files)
        if size > REPOSITORY_LIMIT:
            megabytes = f"{size / 2**20:.0f} MB"
            self.ctx.diagnose(
                "BRG236",
                read.line,
                f"{where}: {megabytes}, more than the {REPOSITORY_LIMIT // 2**20} MB the bridge "
                "copies; upload it to S3 and read it as a job input",
            )
            return f"{where} ({megabytes}): too large to copy, the job lacks it"
        return None


def repository_folder(dag_folder: Path | None, folder: Folder) -> Path | None:
    """The repository folder a kind "dag" folder names, or None when it is not a real folder
    inside the DAG's folder (a `..` key or a symbolic link could reach anywhere)."""
    if dag_folder is None or folder.kind != "dag":
        return None
    base = dag_folder.resolve()
    path = base / folder.key
    if path.is_symlink() or not path.is_dir():
        return None
    if not path.resolve().is_relative_to(base):
        return None
    return path


def repository_files(root: Path) -> list[Path]:
    """The regular files under `root` that `bridge translate` copies: symbolic links (which could
    point anywhere on this machine) and bytecode caches are left out."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if "__pycache__" in relative.parts or any(p.is_symlink() for p in _chain(root, path)):
            continue
        if path.is_file():
            found.append(path)
    return found


def _chain(root: Path, path: Path) -> list[Path]:
    """`path` and its parents up to (not including) `root`."""
    chain = [path]
    while chain[-1].parent != root:
        chain.append(chain[-1].parent)
    return chain


def _job_limits(step: StepModel, folders: tuple[FolderFlow, ...], ctx: RuleContext) -> list[str]:
    """What a processing job cannot hold: at most 10 inputs (code, runtime, XComs, folders),
    10 outputs (XCom and folders) and arguments of 256 characters. XComs take one input at
    least: the emitter mounts the execution's whole XCom prefix when one each would not fit."""
    call = step.spec.call or {}
    inputs = 2 + min(len(call.get("reads") or []), 1) + sum(len(f.inputs) for f in folders)
    outputs = 1 + sum(f.writes for f in folders)
    problems = []
    if inputs > MAX_INPUTS:
        problems.append(f"needs {inputs} job inputs; a processing job takes at most {MAX_INPUTS}")
    if outputs > MAX_OUTPUTS:
        problems.append(
            f"needs {outputs} job outputs; a processing job takes at most {MAX_OUTPUTS}"
        )
    long = [f.folder.key for f in folders if len(f.folder.key) > MAX_ARGUMENT]
    if long:
        problems.append(
            f"the path {long[0][:60]}... is longer than the {MAX_ARGUMENT} characters of a job "
            "argument"
        )
    for problem in problems:
        ctx.diagnose("BRG238", step.line, f"step `{step.name}`: {problem}")
    return problems


def _make_approximate(pipeline: PipelineModel, step: StepModel, problems: list[str]) -> None:
    outcome = pipeline.outcomes.get(step.tasks[0])
    if outcome is None or not problems:
        return
    outcome.differences.extend(p for p in dict.fromkeys(problems) if p not in outcome.differences)
    if outcome.fidelity == "exact":
        outcome.fidelity = "approximate"
