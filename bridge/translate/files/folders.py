"""Which shared folder a path lives in, or why it cannot be told; system folders do not count."""

from __future__ import annotations

import posixpath
import re
from typing import Literal

from bridge.translate.files.model import Folder
from bridge.translate.files.values import Hole, Text

# A job's image brings these; they are never data handed between tasks.
SYSTEM_PREFIXES = ("/usr", "/etc", "/proc", "/dev", "/sys", "/bin", "/sbin", "/opt/ml", "/run")
_LIB = re.compile(r"^/lib[^/]*(/|$)")
# Where a static prefix stops: a Jinja template or a glob character.
_STOP = re.compile(r"\{\{|\{%|[*?\[]")

Target = Literal["file", "dir", "any"]
RELATIVE = "a relative path: relative to the worker's working directory, which a job does not share"


def is_system(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in SYSTEM_PREFIXES) or bool(
        _LIB.match(path)
    )


def _looks_like_file(path: str) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return "." in last.strip(".") and not path.endswith("/")


def _static_prefix(parts: tuple) -> tuple[str, bool]:
    """Literal text before the first hole or template, and whether that is the whole text."""
    head = []
    for p in parts:
        if isinstance(p, Hole):
            return "".join(head), False
        stop = _STOP.search(p)
        if stop:
            head.append(p[: stop.start()])
            return "".join(head), False
        head.append(p)
    return "".join(head), True


def _directory(prefix: str, complete: bool, target: Target) -> str:
    """The folder part of a path: the directory the file sits in, or the folder itself."""
    if not complete:
        return prefix[: prefix.rfind("/") + 1] if "/" in prefix else ""
    if target == "dir" or (target == "any" and not _looks_like_file(prefix)):
        return prefix
    return prefix[: prefix.rstrip("/").rfind("/") + 1] if "/" in prefix.rstrip("/") else ""


def locate(value: Text, target: Target) -> Folder | str | None:
    """The folder `value` is in; a str says why it cannot be told; None: not a shared folder."""
    if value.anchor is not None:  # a named folder (a file constant names its directory)
        folder = value.anchor
        return None if folder.kind == "path" and is_system(folder.key) else folder
    prefix, complete = _static_prefix(value.parts)
    if "://" in prefix:
        return None  # a URL (s3://, https://): not the worker's disk
    if value.root is not None:
        if value.root.kind == "env":
            return value.root
        rel = _directory(prefix.lstrip("/"), complete, target) if prefix or complete else ""
        key = posixpath.normpath(posixpath.join(value.root.key, rel)) if rel else value.root.key
        return Folder(kind="dag", key="" if key == "." else key)
    if not prefix.startswith("/"):
        hole = value.first_hole
        if not prefix and hole is not None:
            return hole.why
        first = value.parts[0] if value.parts else ""
        if not prefix and isinstance(first, str) and first.startswith(("{{", "{%")):
            return "the path is a Jinja template, rendered at run time"
        if prefix.startswith("~"):
            return "relative to the worker's home directory, which a job does not share"
        return RELATIVE
    folder = posixpath.normpath(_directory(prefix, complete, target) or "/")
    if is_system(folder):
        return None
    if folder == "/":
        hole = value.first_hole
        return hole.why if hole else "the folder is the file system's root"
    return Folder(kind="path", key=folder)
