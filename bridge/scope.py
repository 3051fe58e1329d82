"""Evaluation state shared by the interpreter and the Airflow constructs: scopes, control-flow
signals, and small helpers over evaluated values."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from bridge.names import canonical, star_exports
from bridge.values import MappedArg, Symbol, Unknown, XComRef

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


def has_unknown(value, depth: int = 0) -> bool:
    if isinstance(value, Unknown):
        return True
    if depth > 3:
        return False
    if isinstance(value, (list, tuple, set)):
        return any(has_unknown(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(has_unknown(v, depth + 1) for v in value.values())
    return False


def iter_refs(value, depth: int = 0):
    """Tasks an argument value reads XComs from (XComArgs nested in lists/dicts included)."""
    if depth > 6:
        return
    if isinstance(value, XComRef):
        yield from value.tasks
    elif isinstance(value, MappedArg):
        yield from value.refs
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            yield from iter_refs(v, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from iter_refs(k, depth + 1)
            yield from iter_refs(v, depth + 1)
