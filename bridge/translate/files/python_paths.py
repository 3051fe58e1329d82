"""The files and folders a Python callable reads and writes, found statically from its source.

`python_files` walks the callable's `ast` (and the helpers of the same file it calls) with the
abstract values of `python_eval`: module constants, f-strings, `os.path.join`, `pathlib`,
environment variables and `__file__` are followed; what cannot be told becomes `Unresolved`.
The DAG file is never imported or run.
"""

from __future__ import annotations

from functools import lru_cache

from bridge.translate.files.model import TaskFiles, Unresolved
from bridge.translate.files.module_index import ModuleIndex, parse_module
from bridge.translate.files.python_eval import (
    Evaluator,
    Recorder,
    TooBig,
    bind_arguments,
    evaluate_globals,
    from_python,
)


@lru_cache(maxsize=32)
def _module(source: str) -> ModuleIndex:
    """Parse and evaluate the module once per source text, however many tasks it has."""
    index = parse_module(source)
    evaluate_globals(index)
    return index


def python_files(
    source: str, function: str, line: int, *, literal_args: dict | None = None
) -> TaskFiles:
    """What the callable `function` (defined at `line` of the DAG file `source`) reads and writes.

    `literal_args` maps parameter names (or positions, for op_args) to values known statically.
    """
    index = _module(source)
    node = index.find(function, line)
    if node is None:
        why = (
            "the DAG file does not parse"
            if index.tree is None
            else "it is not defined in the DAG file"
        )
        return TaskFiles(
            unresolved=(
                Unresolved(
                    expression=function,
                    line=line,
                    why=f"the callable's file access is unknown: {why}",
                ),
            )
        )
    given = dict(literal_args or {})
    args = [from_python(given.pop(i)) for i in range(len(given)) if i in given]
    kwargs = {str(k): from_python(x) for k, x in given.items() if isinstance(k, str)}
    recorder = Recorder(index)
    top = Evaluator(index, recorder, {}, stack=(id(node),))
    try:
        top.env = bind_arguments(top, node, args, kwargs)
        top.block(node.body)
    except (TooBig, RecursionError):
        recorder.unresolved.append(
            Unresolved(
                expression=function,
                line=node.lineno,
                why="the callable is too large or deep to analyse",
            )
        )
    return TaskFiles(accesses=tuple(recorder.accesses), unresolved=tuple(recorder.unresolved))
