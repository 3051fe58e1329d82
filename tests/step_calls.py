"""What a step's call holds outside its job arguments: the static part its script carries."""

from __future__ import annotations

import ast
import json
from pathlib import Path


def static_call(folder: Path, step_name: str) -> dict:
    """The static part of a step's call, as its script holds it: a bash script's
    `# bridge-call:` line, or the `call=` of a Python script's bridge_main(...)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    script = folder / "steps" / manifest["steps"][step_name]["script"]
    text = script.read_text()
    if script.suffix == ".sh":
        (line,) = [x for x in text.splitlines() if x.startswith("# bridge-call: ")]
        return json.loads(line.removeprefix("# bridge-call: "))
    calls = [
        node
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "bridge_main"
    ]
    (keyword,) = [k for k in calls[0].keywords if k.arg == "call"]
    return ast.literal_eval(keyword.value)
