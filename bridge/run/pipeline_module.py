"""Import an output folder's pipeline.py the way `python pipeline.py` runs it: with its folder
first on the import path, so that it finds its own pipeline_support.py (each folder has its
copy; the one imported for another folder is dropped first)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SUPPORT_MODULE = "pipeline_support"


def import_pipeline(path: Path, name: str) -> ModuleType:
    folder = str(path.resolve().parent)
    sys.modules.pop(SUPPORT_MODULE, None)
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module
