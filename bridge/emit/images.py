"""The images that run the emitted scripts, the Python each runs, and which image a step gets.

A step script runs on its image's Python, not on the host's: the default scikit-learn `1.2-1`
image runs Python 3.9, where `zip(strict=True)` or an evaluated `dict | None` annotation fail.
Every script the pipeline ships is checked with vermin for the oldest Python that runs it: the
extracted callables (steps/<task>.py), the bridge runtime they import (steps/_bridge_runtime.py)
and the Lambda handlers. A script step runs on the configured image when its Python suffices;
else, unless the user pinned that image, on the oldest image of SCRIPT_IMAGES that does. A task
whose script no allowed image runs is left for a hand translation (BRG223) — a placeholder, never
a step that breaks inside the job.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.diagnostics import Diagnostic
from bridge.emit.codegen_aws import LAMBDA_RUNTIME
from bridge.emit.step_scripts import runtime_source
from bridge.parse.model import DagModel
from bridge.translate.pipeline_model import PipelineModel, StepModel
from bridge.translate.step_specs import LambdaSpec, PlaceholderSpec, ScriptSpec, script_of

Version = tuple[int, int]


@dataclass(frozen=True)
class Image:
    """A SageMaker framework image (`image_uris.retrieve(framework, version)`) or, with
    `uri`, an image given by URI; `python` None when the bridge cannot know it."""

    framework: str
    version: str
    python: Version | None
    uri: str | None = None

    @property
    def label(self) -> str:
        return self.uri or f"{self.framework} {self.version}"

    @property
    def python_text(self) -> str | None:
        return version_text(self.python) if self.python else None

    def to_dict(self) -> dict[str, str]:
        return (
            {"uri": self.uri}
            if self.uri
            else {"framework": self.framework, "version": self.version}
        )


# The scikit-learn framework images the SDK's image_uris.retrieve knows (sagemaker-core's
# image_uri_config/sklearn.json), with the Python their public Dockerfile installs
# (github.com/aws/sagemaker-scikit-learn-container, docker/<version>/base/Dockerfile.cpu).
# Oldest Python first: a script that needs a newer Python gets the first image that has it.
# Not listed: 1.9-0, in the SDK's table but with no Dockerfile found to read its Python from.
SCRIPT_IMAGES: tuple[Image, ...] = (
    # docker/1.0-1/base/Dockerfile.cpu @ b1704fd: ARG PYTHON_VERSION=3.8.13 (earlier: 3.7.10)
    Image("sklearn", "1.0-1", (3, 8)),
    # docker/1.2-1/base/Dockerfile.cpu @ 89c8397: ARG PYTHON_VERSION=3.9 (CONDA_PY_VERSION=39)
    Image("sklearn", "1.2-1", (3, 9)),
    # docker/1.4-2/base/Dockerfile.cpu @ ce9875d (conda) and @ 1655330 (deadsnakes python3.10):
    # ARG PYTHON_VERSION=3.10
    Image("sklearn", "1.4-2", (3, 10)),
    # docker/1.4-2-py312/base/Dockerfile.cpu @ 0f3a0dc: ARG PYTHON_VERSION=3.12 (python3.12)
    Image("sklearn", "1.4-2-py312", (3, 12)),
)
# The Lambda runtime of the functions the pipeline creates (codegen_aws) runs the handlers.
LAMBDA_PYTHON: Version = (3, int(LAMBDA_RUNTIME.removeprefix("python3.")))


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


# --------------------------------------------------------------------------------------------
# What a script needs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Construct:
    """A language or library feature that needs a given Python, where it is in the script."""

    name: str  # as vermin names it: 'zip(strict)', pattern matching, ...
    python: Version
    line: int | None  # in the checked text
    file: str = ""  # another file the script needs (the runtime); "" for the script itself


@dataclass(frozen=True)
class PythonNeeds:
    python: Version  # the oldest Python that runs the text
    constructs: tuple[Construct, ...] = ()
    problem: str | None = None  # the text does not parse: nothing runs it

    def above(self, python: Version) -> tuple[Construct, ...]:
        """The constructs that the given Python lacks, newest need first."""
        found = [c for c in self.constructs if c.python > python]
        return tuple(sorted(found, key=lambda c: (-c.python[0], -c.python[1], c.line or 0)))

    def with_floor(self, other: PythonNeeds) -> PythonNeeds:
        """These needs and another file's (the runtime a script imports)."""
        return PythonNeeds(
            max(self.python, other.python),
            self.constructs + other.constructs,
            self.problem or other.problem,
        )


_NEVER: Version = (99, 0)  # needs a Python no image has (not Python 3 code)
_PARSABLE = re.compile(r"3\.(\d+)")


@functools.lru_cache(maxsize=4096)
def python_needs(text: str, backports: frozenset[str] = frozenset()) -> PythonNeeds:
    """The oldest Python 3 that runs `text`, and the constructs that decide it (vermin, in
    process; cached by text: a DAG's tasks share the runtime and often their helpers).

    Annotations count only where Python evaluates them: nowhere under `from __future__ import
    annotations`, else in signatures and at module and class level. vermin's `union-types`
    detection is not used (it also flags `a | b` on ints and ignores the future import): a `|`
    inside an evaluated annotation is found here instead. `backports` names modules the step
    installs (its requirements), which vermin then does not hold against the image's Python.
    """
    import vermin
    from vermin.formats import ParsableFormat

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        return PythonNeeds(_NEVER, problem=f"does not parse: {exc}")
    evaluated = not _future_annotations(tree)
    config = vermin.Config()
    config.set_verbose(3)  # one line per construct, with its line number
    config.set_format(ParsableFormat())
    config.set_eval_annotations(evaluated)
    for name in sorted(backports):
        config.add_backport(name)
    visitor = vermin.visit(text, config, path="script")
    if not isinstance(visitor, vermin.SourceVisitor):  # vermin could not parse it either
        return PythonNeeds(_NEVER, problem="vermin cannot parse it")
    constructs = [*_vermin_constructs(visitor.output_text())]
    if evaluated:
        constructs += _evaluated_unions(tree)
    python3 = visitor.minimum_versions()[1]
    floor = _NEVER if python3 is None else max((3, 0), tuple(python3))
    python = max([floor, *(c.python for c in constructs)])
    return PythonNeeds(python, tuple(sorted(set(constructs), key=lambda c: (c.line or 0, c.name))))


def _vermin_constructs(output: str) -> Iterator[Construct]:
    """`script:LINE:COL:PY2:PY3:WHAT` lines of vermin's parsable format, for Python 3 needs."""
    for row in output.splitlines():
        parts = row.split(":", 5)
        if len(parts) != 6:
            continue
        _, line, _, _, python3, what = parts
        needs = _PARSABLE.fullmatch(python3)
        if needs is None and not python3.startswith("!"):
            continue  # no Python 3 requirement
        python = (3, int(needs.group(1))) if needs else _NEVER
        if len(what) > 1 and what[0] == what[-1] == "'" and "'" not in what[1:-1]:
            what = what[1:-1]  # 'zip(strict)' -> zip(strict); "'x' module" stays
        yield Construct(what, python, int(line) if line.isdigit() else None)


def _future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names)
        for node in tree.body
    )


def _evaluated_unions(tree: ast.Module) -> list[Construct]:
    return [
        Construct("union type `X | Y` in an evaluated annotation", (3, 10), node.lineno)
        for annotation in _evaluated_annotations(tree)
        for node in ast.walk(annotation)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)
    ]


def _evaluated_annotations(tree: ast.Module) -> Iterator[ast.expr]:
    """Annotations Python evaluates as the code runs: every signature's, and variables' at
    module and class level (a variable annotation inside a function is never evaluated)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            for arg in [*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg]:
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation
            if node.returns is not None:
                yield node.returns
    yield from _variable_annotations(tree.body)


def _variable_annotations(body: list[ast.stmt]) -> Iterator[ast.expr]:
    for stmt in body:
        if isinstance(stmt, ast.AnnAssign):
            yield stmt.annotation
        elif isinstance(stmt, ast.ClassDef):
            yield from _variable_annotations(stmt.body)
        elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            yield from _variable_annotations(stmt.body + getattr(stmt, "orelse", []))


@functools.cache
def runtime_needs() -> PythonNeeds:
    """What steps/_bridge_runtime.py needs: every script step imports it (checked once)."""
    return _labelled(runtime_source(), "_bridge_runtime.py")


@functools.lru_cache(maxsize=8)
def _labelled(text: str, file: str) -> PythonNeeds:
    needs = python_needs(text)
    return replace(needs, constructs=tuple(replace(c, file=file) for c in needs.constructs))


def script_needs(script: ScriptSpec) -> PythonNeeds:
    """A step script's needs: its extracted body's, and the runtime's it imports. The rest of
    the file is the bridge's own code (tests hold it to Python 3.8)."""
    needs = python_needs(script.body or "", _backports(script.requirements)).with_floor(
        runtime_needs()
    )
    floor = _parse_version(script.python)
    if floor is None:
        return needs
    what = Construct(f"its requirements (Requires-Python >={script.python})", floor, None)
    return needs.with_floor(PythonNeeds(floor, (what,)))


def _backports(requirements: list[str] | None) -> frozenset[str]:
    """Requirements that are vermin backports (`typing_extensions`, `backports.zoneinfo`)."""
    from vermin import Backports

    names = set()
    for requirement in requirements or []:
        name = re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].replace("-", "_")
        name = name.removeprefix("backports.")
        if Backports.is_backport(name):
            names.add(name)
    return frozenset(names)


# --------------------------------------------------------------------------------------------
# Which image a step gets
# --------------------------------------------------------------------------------------------

Status = Literal["configured", "newer", "unknown", "refused"]


@dataclass(frozen=True)
class StepImage:
    """The image a script step runs on and why: the configured one runs the script; a `newer`
    one was chosen because the configured one is too old; the image's Python is `unknown`
    (not checked); or no allowed image runs the script (`refused`: the task is manual)."""

    image: Image
    needs: PythonNeeds
    status: Status
    configured: Image  # the image the step would have had
    pinned: str = ""  # where the user pinned `configured` ("" = the bridge's default)


def configured_image(config: BridgeConfig, task_id: str) -> tuple[Image, str]:
    """The image a task's script steps are configured to run on, and where it was pinned."""
    override = config.override_for(task_id)
    source = config.source or "the configuration"
    if override.image_uri:
        return _image_of_uri(override.image_uri), f"tasks.{task_id}.image_uri in {source}"
    pinned = f"images.python in {source}" if config.script_image_pinned else ""
    return script_image(config), pinned


def script_image(config: BridgeConfig) -> Image:
    """`images.python`, or the default, with its Python (from the table, or as configured)."""
    image = config.script_image
    known = _known(image["framework"], image["version"])
    python = _parse_version(image.get("python")) or (known.python if known else None)
    return Image(image["framework"], image["version"], python)


def choose_image(step: StepModel, config: BridgeConfig) -> StepImage:
    script = script_of(step.spec)
    assert script is not None, f"step {step.name} runs no script"
    needs = script_needs(script)
    configured, pinned = configured_image(config, step.tasks[0])
    if configured.python is None:
        return StepImage(configured, needs, "unknown", configured, pinned)
    if needs.problem is None and configured.python >= needs.python:
        return StepImage(configured, needs, "configured", configured, pinned)
    newer = next((i for i in SCRIPT_IMAGES if i.python and i.python >= needs.python), None)
    if pinned or newer is None or needs.problem:
        return StepImage(configured, needs, "refused", configured, pinned)
    return StepImage(newer, needs, "newer", configured, pinned)


def step_images(pipeline: PipelineModel, config: BridgeConfig) -> dict[str, StepImage]:
    """Every script step's image, by step name."""
    return {
        name: choose_image(step, config)
        for name, step in pipeline.steps.items()
        if script_of(step.spec) is not None
    }


def image_constant(choice: StepImage) -> str:
    """The pipeline.py constant of a step's image: PYTHON_IMAGE for the configured one, one
    constant per other image (SKLEARN_1_4_2_IMAGE), or the task's pinned URI as a literal."""
    if choice.image.uri:
        return quoting.py_literal(choice.image.uri)
    if choice.image == choice.configured:
        return "PYTHON_IMAGE"
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{choice.image.framework}_{choice.image.version}")
    return f"{name.upper()}_IMAGE"


def image_constants(pipeline: PipelineModel, config: BridgeConfig) -> str:
    """pipeline.py's image constants: PYTHON_IMAGE, the configured image, then one per other
    image that steps need, each with the Python it runs."""
    configured = script_image(config)
    others = {c.image for c in step_images(pipeline, config).values() if c.status == "newer"}
    python = quoting.comment(configured.python_text or "unknown")
    lines = [
        "# Images that run the step scripts (framework/version): PYTHON_IMAGE, unless a script",
        "# needs a newer Python (REPORT.md, Images).",
        f"PYTHON_IMAGE = {quoting.py_literal(configured.to_dict())}  # Python {python}",
    ]
    for image in sorted(others, key=lambda i: (i.python or (0, 0), i.version)):
        name = image_constant(StepImage(image, PythonNeeds((3, 0)), "newer", configured))
        lines.append(
            f"{name} = {quoting.py_literal(image.to_dict())}  # Python {image.python_text}"
        )
    return "\n".join(lines)


def _known(framework: str, version: str) -> Image | None:
    return next(
        (i for i in SCRIPT_IMAGES if (i.framework, i.version) == (framework, version)), None
    )


def _image_of_uri(uri: str) -> Image:
    """A pinned URI: one of the table's images when it names one (…/sagemaker-scikit-learn:
    1.4-2-cpu-py3), else an image whose Python the bridge does not know."""
    for image in SCRIPT_IMAGES:
        if uri.endswith(f"/sagemaker-scikit-learn:{image.version}-cpu-py3"):
            return replace(image, uri=uri)
    return Image("", "", None, uri=uri)


def _parse_version(text: str | None) -> Version | None:
    match = re.fullmatch(r"3\.(\d+)", text or "")
    return (3, int(match.group(1))) if match else None


# --------------------------------------------------------------------------------------------
# Holding the translation to it
# --------------------------------------------------------------------------------------------


def enforce_images(
    pipeline: PipelineModel, dag: DagModel, config: BridgeConfig, source: str, path: str
) -> list[Diagnostic]:
    """Give each task's outcome its image notes; turn each task whose scripts no allowed image
    runs into a placeholder (manual, BRG223); warn where an image's Python is unknown (BRG224)."""
    diagnostics: list[Diagnostic] = []
    refused: dict[str, tuple[int, str]] = {}
    noted: set[tuple[str, str]] = set()
    for name, choice in step_images(pipeline, config).items():
        step = pipeline.steps[name]
        task_id, body = step.tasks[0], script_of(step.spec).body or ""
        if choice.status == "refused" and task_id not in refused:
            refused[task_id] = _refusal(choice, body, source, path, step.line)
        elif choice.status in ("newer", "unknown") and (task_id, choice.status) not in noted:
            noted.add((task_id, choice.status))
            if choice.status == "newer":
                pipeline.outcomes[task_id].notes.append(_newer_note(choice, body, source, path))
            else:
                diagnostics.append(_unknown(choice, task_id, step.line, path))
    for step in pipeline.steps.values():
        if isinstance(step.spec, LambdaSpec) and step.tasks[0] not in refused:
            problem = _lambda_problem(step.spec)
            if problem:
                refused[step.tasks[0]] = (step.line, problem)
    for task_id, (line, problem) in refused.items():
        _leave_for_hand(pipeline, dag, task_id, problem, source)
        message = quoting.one_line(f"task `{task_id}`: {problem}")
        diagnostics.append(Diagnostic.make("BRG223", line, message, path))
    return diagnostics


def _refusal(
    choice: StepImage, body: str, source: str, path: str, task_line: int
) -> tuple[int, str]:
    """The diagnostic's line (the first construct's, in the DAG file) and what is wrong."""
    needs, image = choice.needs, choice.configured
    if needs.problem:
        return task_line, f"its step script {needs.problem}"
    lacking = needs.above(image.python)
    line = next((_dag_line(c, body, source) for c in lacking if not c.file), None) or task_line
    what = _constructs(lacking, body, source, path)
    if choice.pinned:
        why = f"but its image {image.label} ({choice.pinned}) runs Python {image.python_text}"
    else:
        newest = SCRIPT_IMAGES[-1]
        why = (
            f"and no image the bridge knows has it (newest: {newest.label}, "
            f"Python {newest.python_text})"
        )
    return line, (
        f"its step script needs Python {version_text(needs.python)} ({what}) {why}: "
        "left for a hand translation"
    )


def _newer_note(choice: StepImage, body: str, source: str, path: str) -> str:
    needs, image = choice.needs, choice.image
    what = _constructs(needs.above(choice.configured.python), body, source, path)
    return (
        f"needs Python {version_text(needs.python)} ({what}): image {image.label} "
        f"(Python {image.python_text}), not {choice.configured.label} "
        f"(Python {choice.configured.python_text})"
    )


def _unknown(choice: StepImage, task_id: str, line: int, path: str) -> Diagnostic:
    where = f" ({choice.pinned})" if choice.pinned else ""
    message = (
        f"task `{task_id}`: the Python of image {choice.image.label}{where} is unknown: its "
        f"step script, which needs Python {version_text(choice.needs.python)}, is not checked"
    )
    return Diagnostic.make("BRG224", line, quoting.one_line(message), path)


def _constructs(constructs: tuple[Construct, ...], body: str, source: str, path: str) -> str:
    """`zip(strict)`, line 24 — the first three, located in the DAG file where possible."""
    parts = []
    for c in constructs[:3]:
        line = None if c.file else _dag_line(c, body, source)
        if line is not None:
            where = f"{path}:{line}"
        elif c.line is not None:
            where = f"line {c.line} of {c.file or 'the step script body'}"
        else:
            where = c.file or "the step script"
        parts.append(f"{c.name}, {where}")
    more = f"; {len(constructs) - 3} more" if len(constructs) > 3 else ""
    return "; ".join(parts) + more


def _dag_line(construct: Construct, body: str, source: str) -> int | None:
    """The DAG file's line of a construct in the extracted body: the extractor copies statements
    verbatim, so the first source line with the same text is it."""
    lines = body.splitlines()
    if construct.line is None or not 0 < construct.line <= len(lines):
        return None
    text = lines[construct.line - 1].strip()
    if not text:
        return None
    return next((i for i, s in enumerate(source.splitlines(), 1) if s.strip() == text), None)


def _lambda_problem(spec: LambdaSpec) -> str | None:
    """A handler file the Lambda runtime cannot run, if any."""
    for name, text in sorted((spec.files or {}).items()):
        if not name.endswith(".py"):
            continue
        needs = python_needs(text)
        if needs.problem or needs.python > LAMBDA_PYTHON:
            what = needs.problem or "; ".join(
                f"{c.name}, line {c.line}" for c in needs.above(LAMBDA_PYTHON)[:3]
            )
            return (
                f"its Lambda handler steps/{name} needs Python {version_text(needs.python)} "
                f"({what}) but the runtime {LAMBDA_RUNTIME} runs Python {version_text(LAMBDA_PYTHON)}"
            )
    return None


def _leave_for_hand(
    pipeline: PipelineModel, dag: DagModel, task_id: str, problem: str, source: str
) -> None:
    """The task's steps become placeholders keeping its source; the task is manual."""
    from bridge.translate.rule_context import RuleContext

    task = dag.tasks[task_id]
    original = RuleContext(dag, source=source).task_source(task)
    outcome = pipeline.outcomes[task_id]
    for name in outcome.steps:
        step = pipeline.steps[name]
        if script_of(step.spec) is not None or isinstance(step.spec, LambdaSpec):
            step.kind = "Placeholder"
            step.spec = PlaceholderSpec(operator=task.operator, source=original, line=task.line)
    outcome.fate = "placeholder"
    outcome.fidelity = "manual"
    outcome.differences.append(problem)


__all__ = [
    "LAMBDA_PYTHON",
    "SCRIPT_IMAGES",
    "Image",
    "PythonNeeds",
    "StepImage",
    "choose_image",
    "enforce_images",
    "image_constant",
    "image_constants",
    "python_needs",
    "runtime_needs",
    "script_needs",
    "step_images",
]
