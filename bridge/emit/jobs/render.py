"""Rendering one job's config as SDK v3 source: `Gen` collects statements, imports and
differences; nodes are laid out Black-like, within 100 columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bridge import quoting
from bridge.emit.jobs.practices import Computed
from bridge.emit.jobs.shapes import (
    CLASS_MODULES,
    RAW,
    SHAPES,
    SHAPES_MODULE,
    TAG_SHAPES,
    TAGS,
    L,
    M,
    V,
    pascal_to_snake,
)


class Gen:
    """Collects statements, imports and differences while rendering one job."""

    def __init__(self, job: str, var: str, value_code: Callable[[Any], str]):
        self.job = job
        self.var = var
        self._value_code = value_code
        self.imports: dict[str, set[str]] = {}
        self.lines: list[str] = []
        self.differences: list[str] = []
        self.base_name = re.sub(r"[^A-Za-z0-9-]", "-", var).strip("-")[:24] or "step"

    # -- bookkeeping

    def imp(self, module: str, name: str) -> str:
        self.imports.setdefault(module, set()).add(name)
        return name

    def shape_class(self, name: str) -> str:
        return self.imp(CLASS_MODULES.get(name, SHAPES_MODULE), name)

    def value_code(self, value: Any) -> str:
        """Source for one config leaf: the caller's `value_code`, or a value pipeline.py computes
        (bridge.emit.jobs.practices)."""
        if isinstance(value, Computed):
            for module, name in value.imports:
                self.imp(module, name)
            return value.source
        return self._value_code(value)

    def comment(self, text: str) -> None:
        self.lines.append(f"# {quoting.comment(text)}")

    def diff(self, message: str) -> None:
        if message not in self.differences:
            self.differences.append(message)

    def unsupported(self, path: str, where: str) -> None:
        self.diff(f"{path}: {where} has no parameter for it; dropped.")

    def import_lines(self) -> list[str]:
        return [
            f"from {module} import {name}"
            for module in sorted(self.imports)
            for name in sorted(self.imports[module])
        ]

    def assign(self, name: str, node: Any) -> None:
        prefix = f"{name} = "
        self.lines.append(prefix + _fmt(node, 0, len(prefix)))

    def call_stmt(self, target: str | None, func: str, args: list) -> None:
        node = ("call", func, args)
        if target is None:
            self.lines.append(_fmt(node, 0, 0))
        else:
            self.assign(target, node)

    # -- rendering config values

    def leaf(self, value: Any, path: str) -> str | None:
        if isinstance(value, (dict, list, tuple)):
            self.diff(f"{path}: expected a single value, found a {type(value).__name__}; dropped.")
            return None
        return self.value_code(value)

    def values(self, value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return self.dynamic(path, value, "a list")
        items = [self.leaf(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return ("list", [i for i in items if i is not None])

    def mapping(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return self.dynamic(path, value, "a dict")
        items = []
        for k, v in value.items():
            node = self.leaf(v, f"{path}.{k}")
            if node is not None:
                items.append((self.value_code(k), node))
        return ("dict", items)

    def raw(self, value: Any) -> Any:
        """A boto-shaped structure passed through as is (its leaves via value_code)."""
        if isinstance(value, dict):
            return ("dict", [(self.value_code(k), self.raw(v)) for k, v in value.items()])
        if isinstance(value, (list, tuple)):
            return ("list", [self.raw(v) for v in value])
        return self.value_code(value)

    def dynamic(self, path: str, value: Any, expected: str) -> None:
        self.diff(
            f"{path}: expected {expected} but the value ({type(value).__name__}) is only "
            "known at run time, so it cannot be spread into SDK arguments; dropped."
        )
        return None

    def kind(self, kind: Any, value: Any, path: str) -> Any:
        if kind == V:
            return self.leaf(value, path)
        if kind == L:
            return self.values(value, path)
        if kind == M:
            return self.mapping(value, path)
        if kind == RAW:
            return self.raw(value)
        if kind in (TAGS, TAG_SHAPES):
            return self.tags(value, path, as_shape=kind == TAG_SHAPES)
        if isinstance(kind, list):
            return self.shapes(kind[0], value, path)
        return self.shape(kind, value, path)

    def shape(self, name: str, value: Any, path: str, skip: tuple[str, ...] = ()) -> Any:
        if not isinstance(value, dict):
            return self.dynamic(path, value, "a dict")
        spec = SHAPES[name]
        args = []
        for key, item in value.items():
            if key in skip:
                continue
            if key not in spec:
                self.unsupported(f"{path}.{key}", name)
                continue
            node = self.kind(spec[key], item, f"{path}.{key}")
            if node is not None:
                args.append((pascal_to_snake(key), node))
        return ("call", self.shape_class(name), args)

    def shapes(self, name: str, value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return self.dynamic(path, value, "a list")
        items = [self.shape(name, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return ("list", [i for i in items if i is not None])

    def tags(self, value: Any, path: str, as_shape: bool) -> Any:
        """Tags as Tag(key=, value=) shapes (ModelTrainer) or boto dicts (everything else)."""
        if not isinstance(value, (list, tuple)):
            return self.dynamic(path, value, "a list")
        items = []
        for i, tag in enumerate(value):
            if not isinstance(tag, dict) or set(tag) != {"Key", "Value"}:
                self.diff(f"{path}[{i}]: not a {{'Key': ..., 'Value': ...}} tag; dropped.")
                continue
            if as_shape:
                items.append(
                    (
                        "call",
                        self.shape_class("Tag"),
                        [
                            ("key", self.value_code(tag["Key"])),
                            ("value", self.value_code(tag["Value"])),
                        ],
                    )
                )
            else:
                items.append(self.raw(tag))
        return ("list", items)

    def sub(self, config: dict, key: str, path: str) -> dict:
        """config[key] when it is a dict; {} (with a difference) when it is run-time only."""
        value = config.get(key, {})
        if isinstance(value, dict):
            return value
        self.dynamic(path, value, "a dict")
        return {}

    def take(
        self,
        args: list,
        kwarg: str,
        config: dict,
        key: str,
        path: str,
        kind: Any = V,
        default: str | None = None,
    ) -> None:
        """Append ``kwarg=<config[key] rendered>`` to args (or ``kwarg=default`` without it)."""
        node = self.kind(kind, config[key], f"{path}{key}") if key in config else default
        if node is not None:
            args.append((kwarg, node))

    def rest(self, config: dict, handled: set[str], path: str, where: str) -> None:
        for key in config:
            if key not in handled:
                self.unsupported(f"{path}{key}", where)


def experiment_config(gen: Gen, cfg: dict, run: list) -> None:
    """ExperimentConfig: under a PipelineSession only TrialComponentDisplayName survives."""
    if "ExperimentConfig" not in cfg:
        return
    exp = gen.sub(cfg, "ExperimentConfig", "ExperimentConfig")
    for key in exp:
        if key != "TrialComponentDisplayName":
            gen.diff(
                f"ExperimentConfig.{key}: a pipeline step runs in the pipeline's own experiment "
                "and trial (PipelineExperimentConfig); dropped."
            )
    if "TrialComponentDisplayName" in exp:
        node = gen.leaf(
            exp["TrialComponentDisplayName"], "ExperimentConfig.TrialComponentDisplayName"
        )
        if node is not None:
            run.append(("experiment_config", ("dict", [("'TrialComponentDisplayName'", node)])))


# ---------------------------------------------------------------------------------------------
# Source layout: nodes are source strings, ("call", func, [(kwarg|None, node)]),
# ("list", [node]) or ("dict", [(key source, node)]).

_WIDTH = 100


def _flat(node: Any) -> str:
    if isinstance(node, str):
        return node
    kind = node[0]
    if kind == "call":
        inner = ", ".join(_flat(a) if k is None else f"{k}={_flat(a)}" for k, a in node[2])
        return f"{node[1]}({inner})"
    if kind == "list":
        return "[" + ", ".join(_flat(a) for a in node[1]) + "]"
    return "{" + ", ".join(f"{k}: {_flat(v)}" for k, v in node[1]) + "}"


def _fmt(node: Any, indent: int, used: int) -> str:
    """Black-like layout: one line when it fits, otherwise one item per line."""
    flat = _flat(node)
    if isinstance(node, str) or indent + used + len(flat) <= _WIDTH or not node[-1]:
        return flat
    pad = " " * (indent + 4)
    kind = node[0]
    if kind == "call":
        head, tail = f"{node[1]}(", ")"
        items = [(f"{k}=" if k is not None else "", a) for k, a in node[2]]
    elif kind == "list":
        head, tail = "[", "]"
        items = [("", a) for a in node[1]]
    else:
        head, tail = "{", "}"
        items = [(f"{k}: ", v) for k, v in node[1]]
    lines = [head]
    for prefix, item in items:
        lines.append(pad + prefix + _fmt(item, indent + 4, len(prefix) + 1) + ",")
    lines.append(" " * indent + tail)
    return "\n".join(lines)
