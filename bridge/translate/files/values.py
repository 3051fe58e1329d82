"""What a path expression is worth statically: text with run-time holes, rooted and anchored.

Both analyses (Python callables and bash commands) reduce a path to a `Text`: literal pieces and
`Hole`s (run-time parts such as `{ds}` or `$(date)`), optionally continuing a `root` folder (an
environment variable, the DAG's own folder) and remembering the `anchor`, the named folder it was
built from (a module constant, a variable, a helper's return value). The anchor is what tasks
share, so `raw_{ds}.csv` and `summary.json` under `WORK_DIR` land in one folder.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from typing import Any

from bridge.translate.files.model import Folder

MAX_PARTS = 64  # longer texts are run-time data, not paths: keeps hostile input cheap
MAX_CHARS = 4096
MAX_OPTIONS = 8  # alternatives beyond this collapse to Unknown


@dataclass(frozen=True, slots=True)
class Hole:
    """A run-time part of a text: an f-string field, a Jinja template, `$(...)`."""

    source: str
    why: str


Part = str | Hole


@dataclass(frozen=True, slots=True)
class Text:
    """A string or path: literal pieces and holes, relative to `root` when it has one."""

    parts: tuple[Part, ...] = ()
    root: Folder | None = None  # kind "env" or "dag": the text continues that folder
    anchor: Folder | None = None  # the named folder the text was built from
    extended: bool = False  # something was appended after the anchor

    @property
    def static(self) -> str | None:
        """The whole text when it has no holes (relative to the root, if any)."""
        if any(isinstance(p, Hole) for p in self.parts):
            return None
        return "".join(self.parts)  # type: ignore[arg-type]

    def render(self) -> str:
        """The path as the DAG builds it, for messages: `/tmp/x/raw_{ds}.csv`."""
        head = ""
        if self.root is not None:
            head = "$" + self.root.key if self.root.kind == "env" else "{dag_folder}"
            if self.root.kind == "dag" and self.root.key:
                head += "/" + self.root.key
        body = "".join(p if isinstance(p, str) else "{" + p.source + "}" for p in self.parts)
        if head and body and not body.startswith("/"):
            body = "/" + body
        return head + body

    @property
    def first_hole(self) -> Hole | None:
        return next((p for p in self.parts if isinstance(p, Hole)), None)


@dataclass(frozen=True, slots=True)
class Known:
    """A constant that is not text: None, a number, a bool, bytes."""

    value: Any


@dataclass(frozen=True, slots=True)
class Seq:
    """A list or tuple literal."""

    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Mapping:
    """A dict with constant keys."""

    items: tuple[tuple[Any, Value], ...]

    def get(self, key: Any) -> Value | None:
        return next((v for k, v in self.items if k == key), None)


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value known only at run time; `why` says where it comes from."""

    source: str
    why: str


@dataclass(frozen=True, slots=True)
class Alt:
    """One of several values (branches, `a or b`): each is analysed."""

    options: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class DagFile:
    """`__file__`: the DAG file itself."""


@dataclass(frozen=True, slots=True)
class Handle:
    """An open file object: reads and writes through it follow the `open`."""


@dataclass(frozen=True, slots=True)
class Scratch:
    """A task-private temporary file or folder (`tempfile.mkdtemp()`): never shared."""


@dataclass(frozen=True, slots=True)
class Listing:
    """The result of listing a folder: iterating yields `item`."""

    item: Value


@dataclass(frozen=True, slots=True)
class Module:
    """An imported module or object, by qualified name: `os.path`, `pandas.read_csv`."""

    name: str


@dataclass(frozen=True, slots=True)
class Func:
    """A function defined in the DAG file (followed when called)."""

    name: str
    node_id: int  # id() of its ast node, to find it in the module index


Value = (
    Text
    | Known
    | Seq
    | Mapping
    | Unknown
    | Alt
    | DagFile
    | Handle
    | Scratch
    | Listing
    | Module
    | Func
)


def text(s: str) -> Text:
    return Text(parts=(s,) if s else ())


def hole_of(value: Value, source: str) -> Part:
    """The part a value contributes to a larger text."""
    if isinstance(value, Unknown):
        return Hole(value.source, value.why)
    return Hole(source, f"`{source}` is known only at run time")


def _merge(parts: list[Part]) -> tuple[Part, ...]:
    out: list[Part] = []
    for p in parts:
        if p == "":
            continue
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + p
        else:
            out.append(p)
    return tuple(out)


def too_big(parts: tuple[Part, ...]) -> bool:
    return len(parts) > MAX_PARTS or sum(len(p) for p in parts if isinstance(p, str)) > MAX_CHARS


def concat(left: Text, right: Text) -> Text | Unknown:
    """`left + right` as strings: the left side's root and anchor survive."""
    if right.root is not None:  # "$X" glued after text: only meaningful at run time
        return Unknown(right.render(), "a path glued from several run-time folders")
    parts = _merge([*left.parts, *right.parts])
    if too_big(parts):
        return Unknown(left.render(), "the text is too large to be a path")
    return replace(left, parts=parts, extended=left.extended or bool(right.parts))


def join(left: Text, right: Text) -> Text | Unknown:
    """`os.path.join(left, right)` / `left / right`: an absolute right side replaces the left."""
    if right.root is not None or (
        right.parts and isinstance(right.parts[0], str) and right.parts[0].startswith("/")
    ):
        return right
    if not right.parts:
        return left
    if not left.parts and left.root is None:
        return right
    sep = (
        ""
        if left.parts and isinstance(left.parts[-1], str) and left.parts[-1].endswith("/")
        else "/"
    )
    if not left.parts:  # a root alone: its parts start relative
        sep = ""
    return concat(left, Text(parts=_merge([sep, *right.parts])))


def parent(value: Text) -> Text | Unknown:
    """`.parent` / `os.path.dirname`: drop the last component when it is literal."""
    whole = value.static
    if whole is None:
        last = value.parts[-1]
        if isinstance(last, Hole) or "/" not in last:
            return Unknown(value.render(), "the parent of a run-time path")
        cut = last.rsplit("/", 1)[0]
        return Text(parts=_merge([*value.parts[:-1], cut]), root=value.root)
    if value.root is not None:
        up = posixpath.dirname(whole.rstrip("/")) if whole.strip("/") else ".."
        if value.root.kind == "env" and up in ("", ".."):
            return Unknown(value.render(), "the parent of an environment variable's folder")
        return Text(parts=(up,) if up else (), root=value.root)
    if not whole.startswith("/"):
        return Text(parts=(posixpath.dirname(whole),))
    return text(posixpath.dirname(whole.rstrip("/")) or "/")


def anchored(value: Value, folder: Folder | None) -> Value:
    """A named value (constant, variable, helper result) becomes the anchor of what builds on it."""
    if isinstance(value, Text) and folder is not None and value.static is not None:
        return replace(value, anchor=folder, extended=False)
    return value


def alternatives(*values: Value) -> Value:
    """One of `values`, flattened and deduplicated; too many collapse to Unknown."""
    flat: list[Value] = []
    for v in values:
        for o in v.options if isinstance(v, Alt) else (v,):
            if o not in flat:
                flat.append(o)
    if len(flat) == 1:
        return flat[0]
    if len(flat) > MAX_OPTIONS:
        return Unknown("…", "too many alternative values to follow")
    return Alt(tuple(flat))


def options(value: Value) -> tuple[Value, ...]:
    return value.options if isinstance(value, Alt) else (value,)


def path_like(value: Value) -> bool:
    """A text that names a folder: absolute, rooted or anchored (a bare word is not a path)."""
    if not isinstance(value, Text):
        return False
    if value.root is not None or value.anchor is not None:
        return True
    return bool(value.parts) and isinstance(value.parts[0], str) and value.parts[0].startswith("/")
