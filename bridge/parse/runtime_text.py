"""Values a DAG file reads from the Airflow worker when Airflow parses it: environment variables
(`os.environ.get("BUCKET", "my-bucket")`, `os.getenv`, `os.environ["BUCKET"]`) and Variables
(`Variable.get("bucket")`).

The parser cannot know them, but it knows what they are, so they travel as the Jinja text that
reads the same value (`{{ var.value.bucket }}`, or the bridge's own `__bridge_env__` for an
environment variable) and the template translation turns them into pipeline parameters, like
`str(XComArg)` does in Airflow. The text may be formatted or concatenated into larger strings
(f-strings, `+`, `%`) and stays a template there; any other use (a method, an index, a truth
test, a comparison) would compute with the placeholder instead of the value, so it raises and
the interpreter takes the result as unknown.
"""

from __future__ import annotations

from typing import Any

ENV_ROOT = "__bridge_env__"  # the Jinja function templates.py reads an environment variable with
_MARKERS = (f"{{{{ {ENV_ROOT}(", "{{ var.value", "{{ var.json")


class RuntimeText(str):
    """Jinja text standing for a value read when Airflow parses the DAG file."""

    __slots__ = ()

    def __bool__(self) -> bool:
        raise TypeError("the value is read when Airflow parses the DAG")

    def __eq__(self, other: object) -> bool:
        raise TypeError("the value is read when Airflow parses the DAG")

    __ne__ = __eq__  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = __eq__  # type: ignore[assignment]
    __hash__ = str.__hash__

    def __add__(self, other: Any) -> Any:
        return RuntimeText(str.__add__(self, other)) if isinstance(other, str) else NotImplemented

    def __radd__(self, other: Any) -> Any:
        return RuntimeText(str.__add__(other, self)) if isinstance(other, str) else NotImplemented

    def __mul__(self, other: Any) -> Any:
        raise TypeError("the value is read when Airflow parses the DAG")

    __rmul__ = __mul__

    def __getitem__(self, key: Any) -> Any:
        raise TypeError("the value is read when Airflow parses the DAG")

    def __getattribute__(self, name: str) -> Any:
        # str's own methods (upper, split, ...) would work on the placeholder text: as if it had
        # none (AttributeError, so `hasattr` is False and the interpreter's call is unknown).
        if not name.startswith("__"):
            raise AttributeError(name)
        return super().__getattribute__(name)


def holds_runtime_text(value: Any) -> bool:
    """A string built from RuntimeText (by formatting it into a larger one, say): not a value
    known when the file is parsed, such as an id."""
    return isinstance(value, str) and (
        type(value) is RuntimeText or any(marker in value for marker in _MARKERS)
    )


def environment_text(name: str, default: str | None) -> RuntimeText:
    return RuntimeText(f"{{{{ {ENV_ROOT}({name!r}, {default!r}) }}}}")


def variable_text(key: str, default: str | None, json: bool = False) -> RuntimeText:
    kind = "json" if json else "value"
    if default is None:
        return RuntimeText(f"{{{{ var.{kind}[{key!r}] }}}}")
    return RuntimeText(f"{{{{ var.{kind}.get({key!r}, {default!r}) }}}}")
