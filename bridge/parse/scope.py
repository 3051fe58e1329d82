"""Evaluation state shared by the interpreter and the Airflow constructs: scopes, control-flow
signals, and small helpers over evaluated values."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from bridge.parse.names import canonical, star_exports
from bridge.parse.values import MappedArg, Symbol, Unknown, XComRef

LITERAL_TYPES = (
    str,
    int,
    float,
    bool,
    type(None),
    bytes,
    list,
    tuple,
    dict,
    set,
    frozenset,
    range,
    PurePosixPath,
)


class ReturnSignal(Exception):
    def __init__(self, value):
        self.value = value


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class AbortEvaluation(Exception):
    """Evaluation budget exhausted; the file's remaining statements are not evaluated."""


class Scope:
    def __init__(self, parent: Scope | None = None, module: Scope | None = None):
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.module = module or self
        self.global_names: set[str] = set()
        self.star_modules: list[str] = []

    def lookup(self, name: str):
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        for module in self.module.star_modules:
            exports = star_exports(module)
            if exports and name in exports:
                return Symbol(canonical(f"{module}.{name}"))
        raise KeyError(name)

    def assign(self, name: str, value) -> None:
        target = self.module if name in self.global_names else self
        target.vars[name] = value


def trigger_rule(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Symbol) and ".TriggerRule." in value.name:
        return value.name.rsplit(".", 1)[-1].lower()
    return None


def has_unknown(value, depth: int = 0, seen: set | None = None) -> bool:
    if isinstance(value, Unknown):
        return True
    if depth > 3:
        return False
    if isinstance(value, (list, tuple, set, dict)):
        # A container shared many times (`[[big] * 1000] * 1000`) is looked at once.
        seen = set() if seen is None else seen
        if (id(value), depth) in seen:
            return False
        seen.add((id(value), depth))
        items = value.values() if isinstance(value, dict) else value
        return any(has_unknown(v, depth + 1, seen) for v in items)
    return False


def iter_refs(value, depth: int = 0, seen: set | None = None):
    """Tasks an argument value reads XComs from (XComArgs nested in lists/dicts included)."""
    if depth > 6:
        return
    if isinstance(value, XComRef):
        yield from value.tasks
    elif isinstance(value, MappedArg):
        yield from value.refs
    elif isinstance(value, (list, tuple, set, dict)):
        seen = set() if seen is None else seen  # shared containers are looked at once
        if (id(value), depth) in seen:
            return
        seen.add((id(value), depth))
        if isinstance(value, dict):
            for k, v in value.items():
                yield from iter_refs(k, depth + 1, seen)
                yield from iter_refs(v, depth + 1, seen)
        else:
            for v in value:
                yield from iter_refs(v, depth + 1, seen)


# ---- sizes of evaluated values (the evaluator's caps) -------------------------------------------

_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


def size_of(value) -> int:
    """What a value costs the evaluator: characters of a string, elements of a container, bytes
    of an int. Shallow: elements were counted when they were built."""
    if isinstance(value, _SIZED):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 8
    return 1


def printed_size(value, limit: int) -> tuple[int, int]:
    """(an estimate of len(str(value)), elements visited); the estimate stops above `limit`.

    Shared elements count each time they print (`[big] * 1000` prints `big` 1,000 times), so the
    walk visits at most about `limit` elements whatever the structure."""
    total = 0
    visited = 0
    stack = [value]
    while stack:
        v = stack.pop()
        visited += 1
        if isinstance(v, str):
            total += len(v) + 2
        elif isinstance(v, bytes):
            total += 4 * len(v) + 3
        elif isinstance(v, bool) or v is None:
            total += 5
        elif isinstance(v, int):
            total += v.bit_length() * 31 // 100 + 2
        elif isinstance(v, float):
            total += 25
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif isinstance(v, dict):
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, range):
            total += 40
        else:
            total += 200
        if total > limit:
            return limit + 1, visited
    return total, visited


_NUMBER = re.compile(r"\d+")
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_NESTED_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")


def _number(text: str) -> int:
    return int(text) if len(text) < 12 else 10**12


def format_width(spec: str) -> int:
    """The largest number in a format spec (`>80`, `0.3f`): a bound on the padding it asks."""
    return max((_number(m) for m in _NUMBER.findall(spec)), default=0)


def template_width(template: str | bytes, percent: bool) -> tuple[int, int, bool]:
    """(fields, largest width or precision, whether a width comes from the arguments) of a
    %-format or str.format template (`%*d`, `{:{}}`)."""
    text = template if isinstance(template, str) else template.decode("latin-1")
    if percent:
        fields = _PERCENT_FIELD.findall(text)
        numbers = [n for pair in fields for n in pair if n and n != "*"]
        starred = any("*" in pair for pair in fields)
        return len(fields), max((_number(n) for n in numbers), default=0), starred
    widths = [format_width(spec) for spec in _BRACE_SPEC.findall(text)]
    nested = _NESTED_SPEC.search(text) is not None
    return text.count("{"), max(widths, default=0), nested
