"""What `bridge serve` checks in a pipeline definition or request document before it keeps it:
nothing in it may reach outside a job's confines (LocalPaths under /opt/ml, safe names) or trip
the server (depth, size, NUL). SageMaker refuses the same with a ValidationException."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from bridge.serve.errors import ApiError, validation

STEP_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # SageMaker's; the runner makes folders of them
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
CHANNEL_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")  # becomes /opt/ml/input/data/<name>
OPT_ML = "/opt/ml/"  # every job path (LocalPath) lies under it, as in SageMaker's containers
MAX_DEPTH = 100  # nesting of a JSON document (request body or pipeline definition)
# Characters of a definition: SageMaker takes 1 MiB inline (held by the request checks in api.py)
# and more through PipelineDefinitionS3Location; bridge serve reads up to this from its store.
MAX_DEFINITION = 10 * 1024 * 1024


def parse_definition(text: str) -> dict:
    """The definition JSON, checked so that nothing in it can reach outside the job's confines
    or trip the server: a ValidationException for what SageMaker would refuse, or worse."""
    if not isinstance(text, str):
        raise validation("PipelineDefinition must be a string (the definition's JSON text)")
    if len(text) > MAX_DEFINITION:
        raise validation(
            f"PipelineDefinition is longer than {MAX_DEFINITION} characters, more than "
            "bridge serve takes"
        )
    try:
        definition = json.loads(text, parse_constant=_no_constant)
    except (TypeError, ValueError, RecursionError) as exc:
        reason = "too deeply nested" if isinstance(exc, RecursionError) else exc
        raise validation(f"PipelineDefinition is not valid JSON: {reason}") from None
    check_document(definition, "PipelineDefinition", "ValidationException")
    if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
        raise validation("PipelineDefinition must be a JSON object with a Steps list")
    parameters = definition.get("Parameters")
    if parameters is not None:
        if not isinstance(parameters, list):
            raise validation("PipelineDefinition: Parameters must be a list")
        for item in parameters:
            if not isinstance(item, dict) or not PARAMETER_NAME.fullmatch(str(item.get("Name"))):
                raise validation(
                    "PipelineDefinition: every parameter needs a Name of letters, digits, "
                    "'-' and '_' (at most 256)"
                )
            if not isinstance(item.get("Type", "String"), str):
                raise validation(f"PipelineDefinition: parameter {item['Name']}: Type is a string")
    _check_steps(definition["Steps"], set())
    _check_job_paths(definition["Steps"])
    return definition


def _check_steps(steps: list, seen: set[str]) -> None:
    for step in steps:
        if not isinstance(step, dict) or not step.get("Name") or not step.get("Type"):
            raise validation("every step in PipelineDefinition needs a Name and a Type")
        name = step["Name"]
        if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
            raise validation(
                f"step name {name!r}: letters, digits, '-' and '_' only, at most 64 characters"
            )
        if name in seen:
            raise validation(f"step name {name} is used more than once")
        seen.add(name)
        if not isinstance(step["Type"], str):
            raise validation(f"step {name}: Type must be a string")
        depends = step.get("DependsOn")
        if depends is not None and (
            not isinstance(depends, list) or not all(isinstance(d, str) for d in depends)
        ):
            raise validation(f"step {name}: DependsOn must be a list of step names")
        arguments = step.get("Arguments")
        if arguments is not None and not isinstance(arguments, dict):
            raise validation(f"step {name}: Arguments must be an object")
        if step["Type"] == "Condition":
            if not isinstance(arguments, dict):
                raise validation(f"step {name}: a Condition step's Arguments must be an object")
            for side in ("IfSteps", "ElseSteps"):
                branch = arguments.get(side)
                if branch is None:
                    continue
                if not isinstance(branch, list):
                    raise validation(f"step {name}: {side} must be a list of steps")
                _check_steps(branch, seen)


def _check_job_paths(value: Any) -> None:
    """Every LocalPath a job would read or write lies under /opt/ml (after `..` is resolved),
    as a SageMaker job sees only its container: anything else names a folder of this host."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, dict):
            for key, member in item.items():
                if key == "LocalPath" and not inside_opt_ml(member):
                    raise validation(
                        f"LocalPath {member!r} is not under /opt/ml: a job reads and writes "
                        "only its container's /opt/ml"
                    )
                if key == "ChannelName" and (
                    not isinstance(member, str)
                    or not CHANNEL_NAME.fullmatch(member)
                    or member in (".", "..")
                ):
                    raise validation(
                        f"ChannelName {member!r}: letters, digits, '.', '-' and '_' only"
                    )
                todo.append(member)


def inside_opt_ml(path: Any) -> bool:
    """Whether `path` is a literal path strictly under /opt/ml once normalised."""
    if not isinstance(path, str) or "\0" in path or not path.startswith("/"):
        return False
    return posixpath.normpath(path).startswith(OPT_ML)


def check_document(value: Any, what: str, code: str) -> None:
    """A parsed JSON document fit for the server: nested at most MAX_DEPTH deep, its strings
    (keys included) free of NUL and of lone surrogates (which no file or process takes)."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ApiError(code, f"{what} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            for key, member in item.items():
                _check_text(key, what)
                todo.append((member, depth + 1))
        elif isinstance(item, list):
            todo.extend((member, depth + 1) for member in item)
        elif isinstance(item, str):
            _check_text(item, what)


def _check_text(text: str, what: str) -> None:
    if "\0" in text:
        raise validation(f"{what}: strings must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise validation(f"{what}: strings must be valid Unicode (no lone surrogates)") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
