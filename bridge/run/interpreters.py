"""The Python a step's image runs, found on this machine the way uv finds one.

A job runs its scripts on the image's interpreter (the scikit-learn 1.2-1 image: CPython 3.9),
not on the bridge's own. manifest.json records each step image's minor version ("3.9");
`find("3.9")` looks, in uv's order, at `python3.9` on PATH, uv's managed installations, pyenv's
versions folder (not its shims, which cannot run here) and /usr/bin, /usr/local/bin, and keeps
the first candidate that really runs as that version. Each probe runs once per process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MINOR = re.compile(r"^(\d+)\.(\d+)$")
# What a candidate prints about itself; -I -S: no user site, no PYTHON* variables, no site.
PROBE = (
    "import json, sys; print(json.dumps([list(sys.version_info[:3]), "
    "sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})]))"
)
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: tuple[int, int, int]
    prefixes: tuple[str, ...]  # its installation (a venv and its base): bound into a sandbox

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def text(self) -> str:
        """As StepRun records it: '3.9.18 (/root/.pyenv/versions/3.9.18/bin/python3.9)'."""
        return f"{'.'.join(map(str, self.version))} ({self.executable})"


def host() -> Interpreter:
    """The interpreter running the bridge: what steps use when their image's Python is unknown."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return Interpreter(sys.executable, tuple(sys.version_info[:3]), tuple(sorted(prefixes)))


def find(minor: str) -> Interpreter | None:
    """A CPython of version `minor` ("3.9") installed here, or None."""
    if not MINOR.match(minor):
        return None
    if host().minor == minor:
        return host()
    for candidate in candidates(minor):
        found = probe(str(candidate))
        if found is not None and found.minor == minor:
            return found
    return None


def candidates(minor: str) -> Iterator[Path]:
    """Where uv (then pyenv) would look for `pythonX.Y`, in that order; existing files only."""
    name = f"python{minor}"
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and "shims" not in Path(folder).parts:
            yield from _existing(Path(folder) / name)
    uv_root = os.environ.get("UV_PYTHON_INSTALL_DIR") or Path.home() / ".local/share/uv/python"
    for install in sorted(Path(uv_root).glob(f"cpython-{minor}.*"), reverse=True):
        yield from _existing(install / "bin" / name)
    pyenv_root = os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv"
    for install in sorted(Path(pyenv_root, "versions").glob(f"{minor}.*"), reverse=True):
        yield from _existing(install / "bin" / name)
    for folder in ("/usr/local/bin", "/usr/bin"):
        yield from _existing(Path(folder) / name)


def _existing(path: Path) -> Iterator[Path]:
    if path.is_file() and os.access(path, os.X_OK):
        yield path


@cache
def probe(executable: str) -> Interpreter | None:
    """Run the candidate and ask its version and installation; None if it does not answer."""
    try:
        done = subprocess.run(
            [executable, "-I", "-S", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
            env={"PATH": os.environ.get("PATH", "")},
        )
        version, prefixes = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError):
        return None
    if done.returncode != 0 or len(version) != 3:
        return None
    return Interpreter(executable, (version[0], version[1], version[2]), tuple(prefixes))
