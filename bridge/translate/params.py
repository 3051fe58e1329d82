"""Pipeline parameters: what a DAG's `params`, and the run-time values its templates read, become.

A SageMaker pipeline takes typed parameters (`ParameterString`, `ParameterInteger`,
`ParameterFloat`, `ParameterBoolean`). Each `ParameterSpec` says which one, its default, and what
fills it when the bridge's Airflow operator starts the pipeline (`airflow`: a Jinja expression
the operator renders in its own task context, e.g. "{{ ds }}" or "{{ var.value.bucket }}").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

ParameterType = Literal["String", "Integer", "Float", "Boolean"]
ParameterSource = Literal["dag_param", "context", "variable", "connection"]

# SageMaker allows [A-Za-z0-9_-]; the hyphen is left out so every name is also a Python
# identifier fragment for the emitted SDK code.
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_MAX_NAME = 256  # SageMaker's limit on a parameter name

_JSON_TYPES: dict[str, ParameterType] = {
    "string": "String",
    "integer": "Integer",
    "number": "Float",
    "boolean": "Boolean",
}
_ARG_KINDS = {"literal", "template", "xcom", "param", "callable", "name", "expr"}


@dataclass(frozen=True)
class ParameterSpec:
    name: str  # the pipeline parameter's name (valid for SageMaker)
    type: ParameterType
    default: Any
    source: str  # "dag_param" | "context" | "variable" | "connection" | "environment"
    description: str = ""
    airflow: str = ""  # what fills it, as a Jinja expression: "{{ params.x }}", "{{ ds }}", ...
    json_text: bool = False  # a list or dict param: the String holds its JSON text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parameter_name(text: str) -> str:
    """A valid pipeline parameter name for `text`: itself when valid, else every other character
    replaced by `_` (an empty text becomes "param")."""
    name = "".join(c if c in _NAME_CHARS else "_" for c in text)[:_MAX_NAME]
    return name or "param"


def param_expression(airflow_name: str) -> str:
    """The Jinja expression reading a DAG param: `{{ params.x }}` or `{{ params['a-b'] }}`."""
    if airflow_name.isidentifier():
        return f"{{{{ params.{airflow_name} }}}}"
    return f"{{{{ params[{airflow_name!r}] }}}}"


def infer_parameters(params: dict[str, dict]) -> dict[str, ParameterSpec]:
    """One spec per DAG param, keyed by the Airflow param name.

    `params` is `DagModel.params`: `{name: {"default": ..., **json_schema}}`. Two names that
    sanitise to the same parameter name get numeric suffixes, in order, so none is lost.
    """
    specs: dict[str, ParameterSpec] = {}
    taken: set[str] = set()
    for airflow_name, schema in params.items():
        name = _unique(parameter_name(airflow_name), taken)
        taken.add(name)
        specs[airflow_name] = _spec(name, airflow_name, schema if isinstance(schema, dict) else {})
    return specs


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def _spec(name: str, airflow_name: str, schema: dict) -> ParameterSpec:
    default = schema.get("default")
    notes = [_schema_description(schema)]
    if _is_arg_value(default):
        if default.get("kind") == "literal":
            default = default.get("value")
        else:
            # Computed when Airflow parses the file (e.g. today's date): no static default.
            notes.append(f"Airflow computes the default (`{default.get('source')}`); pass it.")
            default = None
    declared = _declared_type(schema.get("type"))
    ptype = declared or _python_type(default)
    json_text = ptype is None
    if json_text:  # list, dict or an untyped None: a String holding JSON text
        ptype, default = "String", json.dumps(default, sort_keys=True)
        notes.append("JSON text of the Airflow value.")
    elif declared is not None and default is not None:
        default = _coerce(ptype, default)
    return ParameterSpec(
        name=name,
        type=ptype,
        default=default,
        source="dag_param",
        description=" ".join(n for n in notes if n),
        airflow=param_expression(airflow_name),
        json_text=json_text,
    )


def _schema_description(schema: dict) -> str:
    for key in ("description", "description_md", "title"):
        if isinstance(schema.get(key), str):
            return schema[key]
    return ""


def _is_arg_value(value: Any) -> bool:
    """A parser placeholder ({"kind": ..., "source": ...}) instead of a literal default."""
    return (
        isinstance(value, dict)
        and value.get("kind") in _ARG_KINDS
        and set(value)
        <= {
            "kind",
            "value",
            "source",
            "refs",
            "key",
        }
    )


def _declared_type(json_type: Any) -> ParameterType | None:
    """The pipeline type for a JSON-schema "type": one name, or a list with "null" in it."""
    if isinstance(json_type, list):
        names = [t for t in json_type if t != "null"]
        json_type = names[0] if len(names) == 1 else None
    return _JSON_TYPES.get(json_type) if isinstance(json_type, str) else None


def _python_type(value: Any) -> ParameterType | None:
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    return None


def _coerce(ptype: ParameterType, value: Any) -> Any:
    """A default that fits its declared type when that loses nothing (3 for "number" -> 3.0);
    otherwise the value unchanged, for SageMaker to reject visibly."""
    if ptype == "Float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if ptype == "Integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if ptype == "String" and isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value
