"""A pipeline definition (definition.json) as a graph: its steps, including those nested in
ConditionSteps, and what each waits for. Read by validate, the local runner and bridge serve."""

from __future__ import annotations

from typing import Any

# The file of an output folder naming each S3 object of the definition and its local copy.
ARTIFACTS_FILE = "artifacts.json"
# A field of an operator config that only Airflow knows when it runs (templates, XComs).
RUNTIME_VALUE = "<run-time value>"


def all_steps(steps: list[dict]) -> dict[str, dict]:
    """Every step of a definition by name, including those nested in ConditionSteps."""
    found: dict[str, dict] = {}
    for step in steps:
        found[step["Name"]] = step
        args = step.get("Arguments") or {}
        if step.get("Type") == "Condition":
            found.update(all_steps(args.get("IfSteps", []) + args.get("ElseSteps", [])))
    return found


def step_dependencies(steps: dict[str, dict]) -> dict[str, set[str]]:
    """name -> the steps it waits for: DependsOn, property references, condition membership."""
    deps = {name: set(step.get("DependsOn") or []) for name, step in steps.items()}
    for name, step in steps.items():
        body = {k: v for k, v in step.items() if k not in ("Name", "DependsOn")}
        if step.get("Type") == "Condition":
            body["Arguments"] = {"Conditions": step["Arguments"].get("Conditions", [])}
            for side in ("IfSteps", "ElseSteps"):
                for target in step["Arguments"].get(side, []):
                    deps[target["Name"]].add(name)
        deps[name] |= {r for r in references(body) if r in steps and r != name}
    return deps


def references(value: Any) -> set[str]:
    """Step names referenced as `{"Get": "Steps.<name>..."}` anywhere in a value."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(get.split(".")[1])
        for v in value.values():
            found |= references(v)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found
