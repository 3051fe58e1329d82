"""`python -m translators.docs > docs/rules.md`: the rule reference, from the registry itself."""

from __future__ import annotations

from translators.registry import Registry


def rules_markdown(registry: Registry) -> str:
    lines = [
        "# Rules",
        "",
        "Generated from the rule registry: each rule's text is its docstring, and its examples",
        "run as tests (`tests/test_translate_core.py`). Regenerate with",
        "`uv run python -m translators.docs > docs/rules.md`; a test keeps this file in step.",
        "",
    ]
    for r in sorted(registry.rules, key=lambda r: r.name):
        lines += [f"## `{r.name}`", "", " ".join(r.doc.split()), "", "Operators:", ""]
        lines += [f"- `{op}`" for op in sorted(r.operators)]
        for example in r.examples:
            lines += ["", f"Example: {example.title}", "", "```python", example.dag.strip(), "```"]
            for task_id, expected in example.expect.items():
                lines.append(f"→ `{task_id}`: {expected}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(rules_markdown(Registry.default()), end="")
