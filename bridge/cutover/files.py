"""Cutover, the files: the DAG's text, the sidecar record next to it, writes that never leave half
a file, and diffs."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
from pathlib import Path

from bridge.cutover.context import CutoverRefused

SIDECAR_SUFFIX = ".bridge-cutover.json"
SIDECAR_VERSION = 1


def sidecar_path(dag_file: Path) -> Path:
    return dag_file.with_name(dag_file.name + SIDECAR_SUFFIX)


def read_dag(path: Path) -> str:
    from bridge.parse.dag_file import parse_file

    try:
        data = path.read_bytes()
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        diagnostic = next(iter(parse_file(path).diagnostics), None)
        message = diagnostic.message if diagnostic else "cannot read the file"
        raise CutoverRefused("BRG101", 0, message) from None


def load_sidecar(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CutoverRefused("BRG410", 0, f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cutovers"), list):
        raise CutoverRefused("BRG410", 0, f"{path} is not a cutover record")
    return data


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a DAG file."""
    tmp = path.with_name(f".{path.name}.bridge-tmp")
    tmp.write_bytes(text.encode("utf-8"))
    if path.exists():
        shutil.copymode(path, tmp)  # a DAG file keeps its permissions
    os.replace(tmp, path)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unified_diff(before: str, after: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )
