"""Runs of steps that differ only in values become one loop over a table of those values.

A DAG that builds tasks in a loop (`for column in [...]`, a comprehension, a task mapped over a
literal) or a generated DAG of near-identical tasks gives steps whose calls are the same but for
some literals and the steps they name. Written one by one they bury the pipeline; pipeline.py
writes them as

    # fmt: off
    profile_rows = [
        ("profile_sqft", "sqft", ("load",)),
        ...
    ]
    # fmt: on
    for name, column, after in profile_rows:
        steps[name] = jobs.script_step(name, ..., depends_on=[steps[a] for a in after])

Every value of a row is a literal token of the step's own call, so the loop builds exactly the
steps the DAG's tasks became (the validation checks the definition as for any pipeline).
"""

from __future__ import annotations

import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass

from bridge.emit.names import StepCode

MIN_ROWS = 3  # fewer steps read better one by one
POSITIONAL = {1: "script"}  # the step factory's second positional argument (the first: name)
_LITERAL_NAMES = {"True", "False", "None"}
_RESERVED = {"session", "role", "jobs", "steps", "bucket", "instance_type", "name", "after"}


@dataclass(frozen=True)
class Hole:
    """A literal token of a step's call: where it is in one code string, and its text."""

    where: tuple[str, int]  # ("arg", i) / ("kw", key) -> which code string
    start: int
    end: int
    text: str


def _holes(code: str, where: tuple[str, int] | tuple[str, str]) -> tuple[str, list[Hole]]:
    """The code's shape (its tokens with each literal replaced by `?`) and its literals."""
    shape, holes = [], []
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return code, []
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT):
            continue
        literal = tok.type in (tokenize.STRING, tokenize.NUMBER) or (
            tok.type == tokenize.NAME and tok.string in _LITERAL_NAMES
        )
        if literal:
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            holes.append(Hole(where, start, end, tok.string))
            shape.append("?")
        else:
            shape.append(tok.string)
    return " ".join(shape), holes


@dataclass
class Table:
    """One loop: the steps it builds (in order) and what their rows hold."""

    steps: list[str]
    code: str  # the rows, then the loop


def shape_of(code: StepCode) -> tuple[tuple, list[list[Hole]]]:
    """The call's shape and, per code string, its literals (depends_on is its own column)."""
    shapes, holes = [code.call, bool(code.setup)], []
    for i, arg in enumerate(code.args):
        shape, found = _holes(arg, ("arg", i))
        shapes.append(shape)
        holes.append(found)
    for key, value in code.kwargs.items():
        if key == "depends_on":  # a column of its own (steps without any have none)
            continue
        shape, found = _holes(value, ("kw", key))
        shapes.append((key, shape))
        holes.append(found)
    return tuple(shapes), holes


def find_runs(order: list[str], codes: dict[str, StepCode], eligible: set[str]) -> list[list[str]]:
    """Maximal runs of consecutive eligible steps whose calls have the same shape."""
    runs: list[list[str]] = []
    current: list[str] = []
    current_shape = None
    for name in order:
        code = codes.get(name)
        shape = shape_of(code)[0] if name in eligible else None
        if shape is not None and shape == current_shape:
            current.append(name)
            continue
        if len(current) >= MIN_ROWS:
            runs.append(current)
        current, current_shape = ([name], shape) if shape is not None else ([], None)
    if len(current) >= MIN_ROWS:
        runs.append(current)
    return runs


def render_table(
    run: list[str],
    codes: dict[str, StepCode],
    depends: dict[str, list[str]],
    comment: str,
    taken: set[str],
) -> Table | None:
    """The rows and the loop for one run, or None if the steps' literals do not line up. The
    loop's variables avoid `taken`, the names pipeline.py already uses (steps, parameters)."""
    shaped = [shape_of(codes[n]) for n in run]
    if any(s[0] != shaped[0][0] for s in shaped):
        return None
    flat = [[h for group in holes for h in group] for _, holes in shaped]
    width = len(flat[0])
    if any(len(f) != width for f in flat):
        return None
    varying = [i for i in range(width) if len({f[i].text for f in flat}) > 1]
    name_column = next((i for i in varying if [_unquote(f[i].text) for f in flat] == run), None)
    if name_column is None:
        return None
    columns = _column_names(flat[0], varying, name_column, taken)
    after = _free("after", taken | set(columns))
    first = codes[run[0]]
    has_depends = any(depends.get(n) for n in run)
    body = _substitute(first, flat[0], dict(zip(varying, columns, strict=True)))
    if has_depends:
        body.kwargs["depends_on"] = f"[steps[a] for a in {after}]"
    else:
        body.kwargs.pop("depends_on", None)
    header = [*columns, after] if has_depends else columns
    rows = []
    for name, f in zip(run, flat, strict=True):
        values = [_row_value(f[i].text) for i in varying]
        if has_depends:
            values.append(_tuple(depends.get(name, [])))
        # One column: the rows are its values themselves (`for name in ...`).
        rows.append(
            f"        {values[0]}," if len(values) == 1 else f"        ({', '.join(values)}),"
        )
    rows_var = _rows_name(run)
    target = f"steps[{columns[varying.index(name_column)]}]"
    loop_vars = ", ".join(header)
    code = (
        comment
        + "# fmt: off\n"
        + f"{rows_var} = [\n"
        + "\n".join(r[4:] for r in rows)
        + "\n]\n# fmt: on\n"
        + f"for {loop_vars} in {rows_var}:\n"
        + _indent(body.render(target))
    )
    return Table(run, code)


def _column_names(
    holes: list[Hole], varying: list[int], name_column: int, used: set[str]
) -> list[str]:
    names, taken = [], set(used)
    for i in varying:
        hole = holes[i]
        if i == name_column:
            base = "name"
        else:
            kind, key = hole.where
            base = POSITIONAL.get(key, "value") if kind == "arg" else str(key)
            flag = _unquote(holes[i - 1].text) if i and holes[i - 1].where == hole.where else None
            if key == "arguments" and flag and flag.startswith("--"):
                base = flag[2:]  # the named argument it is the value of
        base = re.sub(r"\W+", "_", base).strip("_") or "value"
        if keyword.iskeyword(base) or (base in _RESERVED and i != name_column):
            base += "_"
        candidate = _free(base, taken)
        taken.add(candidate)
        names.append(candidate)
    return names


def _free(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _substitute(code: StepCode, holes: list[Hole], columns: dict[int, str]) -> StepCode:
    """The first step's call with each varying literal replaced by its column."""
    by_where: dict[tuple, list[tuple[int, Hole]]] = {}
    for i, hole in enumerate(holes):
        by_where.setdefault(hole.where, []).append((i, hole))

    def replaced(text: str, where: tuple) -> str:
        for i, hole in sorted(by_where.get(where, []), key=lambda p: -p[1].start):
            if i in columns:
                text = text[: hole.start] + columns[i] + text[hole.end :]
        return text

    args = [replaced(a, ("arg", i)) for i, a in enumerate(code.args)]
    kwargs = {k: replaced(v, ("kw", k)) for k, v in code.kwargs.items() if k != "depends_on"}
    return StepCode(code.call, args, kwargs, code.setup)


def _row_value(text: str) -> str:
    """A literal as ruff would write it: strings in double quotes (rows are not formatted)."""
    value = _unquote(text)
    return json.dumps(value, ensure_ascii=False) if value is not None else text


def _unquote(text: str) -> str | None:
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _tuple(names: list[str]) -> str:
    items = ", ".join(json.dumps(n, ensure_ascii=False) for n in names)
    return f"({items},)" if len(names) == 1 else f"({items})"


def _rows_name(run: list[str]) -> str:
    prefix = re.sub(r"\W+", "_", _common_prefix(run)).strip("_").lower()
    if not prefix or prefix[0].isdigit() or keyword.iskeyword(prefix):
        prefix = "step"
    return f"{prefix}_rows"


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def _indent(text: str) -> str:
    return "\n".join(("    " + line) if line.strip() else "" for line in text.splitlines())
