"""A step script's pip requirements, and which Python on this machine has them installed.

In a SageMaker job the step script installs its requirements at start (the runtime's
`install_requirements`, e.g. Airflow and a provider for an operator step). `bridge run` does not
install anything: it sets BRIDGE_SKIP_REQUIREMENTS and runs the script on an interpreter that
already has them. `requirements_of` reads them from the script (the literal list of its
`install_requirements([...])` call); `missing` says which an interpreter lacks, pinned ones at
their exact version.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

from bridge.run.interpreters import PROBE_TIMEOUT, Interpreter, host

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([^\s;,]+))?\s*$")
_PROBE = (
    "import json, sys\n"
    "from importlib import metadata\n"
    "found = {}\n"
    "for name in json.loads(sys.argv[1]):\n"
    "    try:\n"
    "        found[name] = metadata.version(name)\n"
    "    except metadata.PackageNotFoundError:\n"
    "        found[name] = None\n"
    "print(json.dumps(found))\n"
)


def requirements_of(script: Path) -> list[str]:
    """The requirements the step script installs first; [] when it installs none."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if not (
            isinstance(call, ast.Call) and getattr(call.func, "id", "") == "install_requirements"
        ):
            continue
        if call.args and isinstance(call.args[0], ast.List):
            items = call.args[0].elts
            return [
                i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)
            ]
    return []


def missing(interpreter: Interpreter, requirements: list[str]) -> list[str]:
    """The requirements `interpreter` lacks (a pinned one at another version counts); ones
    that are not a plain `name` or `name==version` are taken as missing."""
    wanted = [(r, _NAME.match(r)) for r in requirements]
    names = tuple(sorted({m.group(1) for _, m in wanted if m}))
    versions = _versions(interpreter.executable, names)
    lacking = []
    for text, match in wanted:
        if match is None:
            lacking.append(text)
            continue
        have = versions.get(match.group(1))
        if have is None or (match.group(2) and have != match.group(2)):
            lacking.append(text)
    return lacking


@cache
def _versions(executable: str, names: tuple[str, ...]) -> dict[str, str | None]:
    """The installed version of each distribution for that interpreter (None: not installed)."""
    if executable == host().executable:
        found: dict[str, str | None] = {}
        for name in names:
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = None
        return found
    try:
        done = subprocess.run(
            [executable, "-I", "-c", _PROBE, json.dumps(list(names))],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
            env={"PATH": os.environ.get("PATH", "")},
        )
        found = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


# Entry point groups Airflow loads when it starts (provider discovery, plugins).
AIRFLOW_ENTRY_POINTS = ("apache_airflow_provider", "airflow.plugins")


@cache
def entry_point_packages(interpreter: Interpreter) -> tuple[Path, ...]:
    """Package folders that the bridge's own environment registers with Airflow from outside
    its installation (this project's editable install: its Airflow provider). A job running
    on that environment imports Airflow, which loads them at start, so the sandbox shows them
    read-only. Other interpreters: none."""
    if interpreter != host():
        return ()
    import importlib.util

    folders = set()
    for group in AIRFLOW_ENTRY_POINTS:
        for entry in metadata.entry_points(group=group):
            top = entry.module.split(".")[0]
            spec = importlib.util.find_spec(top)
            origin = Path(spec.origin) if spec and spec.origin else None
            if origin is None or any(_inside(origin, p) for p in interpreter.prefixes):
                continue
            folders.add(origin.parent if origin.name == "__init__.py" else origin)
    return tuple(sorted(folders))


def _inside(path: Path, prefix: str) -> bool:
    return path.resolve().is_relative_to(Path(prefix).resolve())
