"""The DAG files a command is given: files named directly, and every *.py under folders."""

from __future__ import annotations

from pathlib import Path

_SKIP_DIRS = {"__pycache__", ".venv", "venv", "node_modules", ".git"}


def collect_files(paths: list[Path]) -> list[Path]:
    """Files named directly, plus every *.py under folders (recursively, sorted, hidden dirs skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*.py")):
                rel = f.relative_to(path).parts[:-1]
                if not any(part in _SKIP_DIRS or part.startswith(".") for part in rel):
                    files.append(f)
        else:
            files.append(path)
    return files
