"""DAG file -> FileResult: read, check with CPython, parse with libcst, interpret, convert.

Every step is bounded so that no file can crash, hang or exhaust the run (see also
`bridge.parse.worker`, which adds a per-file time and memory budget in a child process). The
steps live in their own modules: `source.py` reads the file, checks it with CPython and flattens
long chains; the interpreter (`interpreter.py`) evaluates it; `to_model.py` converts what it built
into the DagModel.
"""

from __future__ import annotations

import gc
import hashlib
from contextlib import contextmanager
from pathlib import Path

import libcst as cst

from bridge.diagnostics import Diagnostic
from bridge.parse.interpreter import Interpreter
from bridge.parse.model import FileResult
from bridge.parse.pushed import attach_shapes
from bridge.parse.source import (
    CHAIN_FLATTEN,
    MAX_EXPR_DEPTH,
    MAX_FILE_BYTES,
    Chain,
    SourceCheck,
    check_source,
    decode_source,
    read_source,
)
from bridge.parse.to_model import (
    MAX_JSON_ELEMENTS,
    jsonable,
    to_arg,
    to_dag_model,
    to_json_value,
    to_task_model,
)


def parse_file(path: str | Path) -> FileResult:
    """Parse one DAG file statically, in this process. Never raises for bad input: problems
    become diagnostics. `bridge.parse.worker.parse_files` adds a time and memory budget."""
    shown = str(path)
    result = FileResult(path=shown)
    source, problem = read_source(path)
    if problem is not None:
        result.diagnostics.append(problem)
        return result
    return parse_source(source, shown, result)


def _parse_module(source: str) -> cst.Module:
    """libcst's parse without its per-node validation (~17% of a large parse).

    Validation guards trees built by hand; a tree straight from libcst's own parser is valid by
    construction. The hook is restored before returning; tests check the tree reproduces the source.
    """
    from libcst._nodes.base import CSTNode

    original = CSTNode.__post_init__
    CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        CSTNode.__post_init__ = original  # type: ignore[method-assign]


def _skip_validation(self) -> None:
    return None


@contextmanager
def _no_cyclic_gc():
    """libcst builds hundreds of thousands of acyclic nodes; cyclic GC passes over them cost ~30%."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_source(
    source: str, path: str = "<string>", result: FileResult | None = None
) -> FileResult:
    with _no_cyclic_gc():
        return _parse_source(source, path, result or FileResult(path=path))


def _parse_source(source: str, path: str, result: FileResult) -> FileResult:
    check = check_source(source, path)
    if check.problem is not None:
        result.diagnostics.append(check.problem)
        return result
    try:
        module = _parse_module(check.flat_source)
    except cst.ParserSyntaxError as exc:
        libcst_says = str(exc).splitlines()[0]
        line, message = check.syntax_error or (
            exc.raw_line,
            f"valid Python that libcst cannot parse: {libcst_says}",
        )
        result.diagnostics.append(Diagnostic.make("BRG100", line, message, path))
        return result
    except RecursionError:
        message = "nesting too deep for the parser"
        result.diagnostics.append(Diagnostic.make("BRG121", 0, message, path))
        return result
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a panic in libcst's native parser (not an Exception)
        message = f"libcst failed: {type(exc).__name__}: {exc}"[:300]
        result.diagnostics.append(Diagnostic.make("BRG199", 0, message, path))
        return result
    module_name = Path(path).stem if path != "<string>" else "dag_module"
    try:
        interp = Interpreter(module, path, module_name, check.flat_source, chains=check.chains)
        interp.run()
        collected = interp.collected_dags()
        attach_shapes(interp, [t for d in collected for t in d.tasks.values()])
        result.dags = [to_dag_model(d) for d in collected]
        result.diagnostics.extend(interp.diagnostics)
        for task in interp.floating:
            if task.dag is None:
                result.diagnostics.append(
                    Diagnostic.make(
                        "BRG108", task.line, f"task `{task.task_id}` is not part of any DAG", path
                    )
                )
    except RecursionError:  # statements catch their own; this is a last resort: an error
        result.diagnostics.append(
            Diagnostic.make("BRG121", 0, "expression nesting too deep to evaluate", path)
        )
    except MemoryError:
        result.diagnostics.append(
            Diagnostic.make("BRG119", 0, "ran out of memory while evaluating the file", path)
        )
    except Exception as exc:  # a bug in the parser must not stop a folder run
        digest = hashlib.sha1(repr(exc).encode()).hexdigest()[:8]
        result.diagnostics.append(
            Diagnostic.make("BRG199", 0, f"{type(exc).__name__}: {exc} (ref {digest})", path)
        )
    if not result.dags and not any(d.severity == "error" for d in result.diagnostics):
        result.diagnostics.append(Diagnostic.make("BRG102", 0, "no DAG found", path))
    return result


__all__ = [
    "CHAIN_FLATTEN",
    "MAX_EXPR_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_JSON_ELEMENTS",
    "Chain",
    "SourceCheck",
    "check_source",
    "decode_source",
    "jsonable",
    "parse_file",
    "parse_source",
    "read_source",
    "to_arg",
    "to_dag_model",
    "to_json_value",
    "to_task_model",
]
