"""Pipeline values at run time: Parameters, ExecutionVariables, Join, JsonGet, step Properties
and conditions, evaluated on the JSON of a pipeline definition the way SageMaker evaluates them.

The rules follow the SDK's own local executor (`sagemaker.mlops.local.pipeline`), which
tests/test_run_semantics.py runs side by side with this module on the same definitions:
  - `Std:Join` joins `str()` of each value (so `True` becomes "True", 1.0 stays "1.0");
  - `Std:JsonGet` reads a JSON file (a step's PropertyFile, or an S3 URI) and follows a path
    like `a.b[0]['c']`;
  - `Get: Steps.X.<path>` reads step X's properties, the Describe*Job response, where lists of
    named things are indexed by name (`Outputs['xcom']`);
  - an Equals condition between values of different types is an error, not False.
A value that cannot be resolved raises `ValueError` with the reason; the runner fails the step
that needed it with that message, as SageMaker does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EXECUTION_VARIABLES = (
    "PipelineName",
    "PipelineArn",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "StartDateTime",
    "CurrentDateTime",
)


@dataclass
class Scope:
    """What a value can refer to while a run is under way."""

    parameters: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)  # PipelineExecutionId, ...
    properties: dict[str, dict] = field(default_factory=dict)  # step name -> properties
    # step name -> {property file name: (output name, path in that output)}
    property_files: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    read_uri: Callable[[str], str] | None = None  # reads an s3:// object's text


def resolve(value: Any, scope: Scope) -> Any:
    """`value` with every pipeline expression in it replaced by its run-time value."""
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(value["Get"], scope)
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return join["On"].join(str(resolve(v, scope)) for v in join["Values"])
    if set(value) == {"Std:JsonGet"}:
        return _json_get(value["Std:JsonGet"], scope)
    return {k: resolve(v, scope) for k, v in value.items()}


def _get(reference: str, scope: Scope) -> Any:
    head, _, rest = reference.partition(".")
    if head == "Parameters":
        if rest not in scope.parameters:
            raise ValueError(f"Parameters.{rest} is undefined")
        return scope.parameters[rest]
    if head == "Execution":
        if rest not in scope.execution:
            raise ValueError(f"Execution.{rest} is undefined")
        return scope.execution[rest]
    if head == "Steps":
        step, path = _split_step(rest)
        if step not in scope.properties:
            raise ValueError(f"{reference} is undefined: step {step} has not run")
        value = follow(scope.properties[step], path, reference)
        if value is None:
            raise ValueError(f"{reference} is undefined.")
        return value
    raise ValueError(f"unknown reference {reference}")


def _split_step(rest: str) -> tuple[str, str]:
    """`X.ProcessingOutputConfig.Outputs['xcom']` -> ("X", "ProcessingOutputConfig...").
    Step names may hold dots? No: SageMaker names are [A-Za-z0-9-]; the first dot ends it."""
    step, _, path = rest.partition(".")
    return step, path


def _json_get(spec: dict, scope: Scope) -> Any:
    path = spec["Path"]
    if "PropertyFile" in spec:
        reference = spec["PropertyFile"]["Get"]  # Steps.<step>.PropertyFiles.<name>
        step, _, name = reference.removeprefix("Steps.").partition(".PropertyFiles.")
        declared = scope.property_files.get(step, {}).get(name)
        if declared is None:
            raise ValueError(f"property file {name} of step {step} is not declared")
        if step not in scope.properties:
            raise ValueError(f"step {step} has not run: property file {name} is undefined")
        output, file_path = declared
        outputs = follow(scope.properties[step], "ProcessingOutputConfig.Outputs", reference)
        base = follow(outputs, f"['{output}'].S3Output.S3Uri", reference)
        uri = base.rstrip("/") + "/" + file_path.lstrip("/")  # as s3_path_join joins them
    else:
        uri = resolve(spec["S3Uri"], scope)
    if scope.read_uri is None:
        raise ValueError(f"cannot read {uri}: no object store")
    try:
        text = scope.read_uri(uri)
    except (FileNotFoundError, KeyError) as exc:
        raise ValueError(f"Received an error while reading file {uri}: NoSuchKey") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Contents of file {uri} are not in valid JSON format.") from exc
    value = follow(document, path, f"JsonGet {uri} {path}")
    if value is None:
        raise ValueError(f"JsonGet {uri} {path} is undefined.")
    return value


def follow(document: Any, path: str, what: str = "") -> Any:
    """Walk `a.b[0]['c']` into `document` as SageMaker does: the path splits on dots, each part
    is a key followed by [index] or ['key'] accessors (an index may be negative, a key may be
    digits). A part naming an item of a list picks the item whose *Name field (OutputName,
    InputName, MetricName, ...) equals it, as step properties do; an empty part before
    accessors is the value itself."""
    value = document
    for part in path.split(".") if path else [""]:
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(f"Invalid json path '{path}'")
        name, accessors = match.groups()
        if name or not accessors:
            value = _step_into(value, name, path, what)
        for accessor in _ACCESSOR.findall(accessors):
            key: Any = accessor[1:-1] if accessor[:1] in "'\"" else int(accessor)
            value = _step_into(value, key, path, what)
    return value


_PART = re.compile(r"([^\[\]]*)((?:\[[^\]]+\])*)")
_ACCESSOR = re.compile(r"\[([^\]]+)\]")


def _step_into(value: Any, key: Any, path: str, what: str) -> Any:
    try:
        if isinstance(value, list) and isinstance(key, str):
            for item in value:
                if isinstance(item, dict) and any(
                    k.endswith("Name") and v == key for k, v in item.items()
                ):
                    return item
            raise KeyError(key)
        return value[key]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"{what or path}: no {key!r} at '{path}'") from None


BINARY = {
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


def evaluate_conditions(conditions: list[dict], scope: Scope) -> bool:
    """A ConditionStep's outcome: all of its conditions hold. Every value in them is resolved
    first (a value that cannot be resolved fails the step even where `Or` would not need it),
    then the conditions are tested in order, stopping at the first that does not hold."""
    resolved = resolve(conditions, scope)
    return all(evaluate_condition(c) for c in resolved)


def evaluate_condition(condition: dict, scope: Scope | None = None) -> bool:
    """One condition; its values are resolved with `scope` when one is given."""
    if scope is not None:
        condition = resolve(condition, scope)
    kind = condition["Type"]
    if kind == "Not":
        return not evaluate_condition(condition["Condition"])
    if kind == "Or":
        return any(evaluate_condition(c) for c in condition["Conditions"])
    if kind == "In":
        return condition["QueryValue"] in condition["Values"]
    left, right = condition["LeftValue"], condition["RightValue"]
    if kind == "Equals":
        if not isinstance(left, type(right)) and not isinstance(right, type(left)):
            raise ValueError(
                f"LeftValue [{left}] of type [{type(left)}] and RightValue [{right}] "
                f"of type [{type(right)}] are not of the same type."
            )
        return left == right
    if kind not in BINARY:
        raise ValueError(f"Condition of type [{kind}] is not supported.")
    try:
        return bool(BINARY[kind](left, right))
    except TypeError as exc:
        raise ValueError(
            f"Condition of type [{kind}] not supported between [{left}] of type "
            f"[{type(left)}] and [{right}] of type [{type(right)}]"
        ) from exc
