"""A DAG file's CPython syntax tree, parsed once for every stage that reads it (the callable
extractor, the run clock, the DAG call's settings, the module index): each parsing the whole
file again cost a second per stage on a 10,000-task file. Shared, so never mutated."""

from __future__ import annotations

import ast
import functools


@functools.lru_cache(maxsize=4)
def module_tree(source: str) -> ast.Module | None:
    """The file's tree; None when CPython cannot parse it."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
