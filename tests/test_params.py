"""DAG params -> typed pipeline parameters (bridge.translate.params)."""

from __future__ import annotations

import json

import pytest

from bridge.translate.params import (
    ParameterSpec,
    infer_parameters,
    param_expression,
    parameter_name,
)


def spec(schema: dict, name: str = "p") -> ParameterSpec:
    return infer_parameters({name: schema})[name]


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        (True, "Boolean"),  # bool before int: True is also an int
        (False, "Boolean"),
        (3, "Integer"),
        (2.5, "Float"),
        ("x", "String"),
    ],
)
def test_type_from_default(default, expected: str) -> None:
    result = spec({"default": default})
    assert (result.type, result.default) == (expected, default)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"default": "5", "type": "string"}, ("String", "5")),
        ({"default": 5, "type": "integer"}, ("Integer", 5)),
        ({"default": 5, "type": "number"}, ("Float", 5.0)),
        ({"default": 5.0, "type": "integer"}, ("Integer", 5)),
        ({"default": True, "type": "boolean"}, ("Boolean", True)),
        ({"default": None, "type": ["null", "string"]}, ("String", None)),
        ({"default": 7, "type": ["integer", "null"]}, ("Integer", 7)),
    ],
)
def test_type_from_schema(schema: dict, expected: tuple) -> None:
    result = spec(schema)
    assert (result.type, result.default) == expected
    assert type(result.default) is type(expected[1])


@pytest.mark.parametrize(
    "default",
    [["one", "two"], {"b": 1, "a": [2]}, None],
)
def test_non_scalar_defaults_are_json_strings(default) -> None:
    result = spec({"default": default})
    assert result.type == "String"
    assert json.loads(result.default) == default
    assert result.default == json.dumps(default, sort_keys=True)
    assert "JSON" in result.description


def test_array_type_is_json_string_too() -> None:
    result = spec({"default": ["Linda", "Martha"], "type": "array", "description": "Names."})
    assert (result.type, result.default) == ("String", '["Linda", "Martha"]')
    assert result.description.startswith("Names.")


def test_spec_fields() -> None:
    result = spec({"default": 42, "type": "integer", "description": "A number.", "minimum": 0})
    assert result.to_dict() == {
        "name": "p",
        "type": "Integer",
        "default": 42,
        "source": "dag_param",
        "description": "A number.",
        "airflow": "{{ params.p }}",
        "json_text": False,
    }
    listed = spec({"default": [0.5, 1.0], "type": "array"})
    assert (listed.type, listed.default, listed.json_text) == ("String", "[0.5, 1.0]", True)


def test_computed_default_has_no_static_value() -> None:
    computed = {"kind": "template", "value": None, "source": 'f"{datetime.date.today()}"'}
    result = spec({"default": computed, "type": "string", "format": "date"})
    assert (result.type, result.default) == ("String", None)
    assert "datetime.date.today()" in result.description


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("table", "table"),
        ("Table_2", "Table_2"),
        ("my-param", "my_param"),
        ("a.b c", "a_b_c"),
        ("", "param"),
        ("x" * 300, "x" * 256),
    ],
)
def test_parameter_name(text: str, expected: str) -> None:
    assert parameter_name(text) == expected


def test_names_are_sanitised_and_kept_apart() -> None:
    specs = infer_parameters({"a-b": {"default": 1}, "a b": {"default": 2}, "ok": {"default": 3}})
    assert {k: v.name for k, v in specs.items()} == {"a-b": "a_b", "a b": "a_b_2", "ok": "ok"}
    assert specs["a-b"].airflow == "{{ params['a-b'] }}"


def test_param_expression() -> None:
    assert param_expression("x") == "{{ params.x }}"
    assert param_expression("my-x") == "{{ params['my-x'] }}"


def test_airflow_example_params() -> None:
    """The shapes the static parser gives for example_params_trigger_ui / _ui_tutorial."""
    specs = infer_parameters(
        {
            "names": {"default": ["Linda"], "type": "array", "title": "Names to greet"},
            "english": {"default": True, "type": "boolean", "title": "English"},
            "number_param": {"default": 3},
            "most_loved_number": {"default": 42, "type": "integer", "minimum": 0},
        }
    )
    assert {k: (v.type, v.default) for k, v in specs.items()} == {
        "names": ("String", '["Linda"]'),
        "english": ("Boolean", True),
        "number_param": ("Integer", 3),
        "most_loved_number": ("Integer", 42),
    }
