"""`bridge analyze`: how much of a folder of DAGs translates, per operator, in four formats."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

COLUMNS = ("operator", "tasks", "exact", "approximate", "manual")


def coverage_table(outcomes) -> list[dict]:
    """One row per canonical operator (most used first), then a TOTAL row."""
    rows: dict[str, dict] = defaultdict(
        lambda: {"tasks": 0, "exact": 0, "approximate": 0, "manual": 0}
    )
    for file in outcomes:
        for dag in file.dags:
            for o in dag.pipeline.outcomes.values() if dag.pipeline else []:
                row = rows[o.operator]
                row["tasks"] += 1
                row[o.fidelity] += 1
    table = [{"operator": op, **counts} for op, counts in rows.items()]
    table.sort(key=lambda r: (-r["tasks"], r["operator"]))
    total = {c: sum(r[c] for r in table) for c in COLUMNS[1:]}
    return [*table, {"operator": "TOTAL", **total}]


def render_coverage(table: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"operators": table[:-1], "total": table[-1]}, indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        return buffer.getvalue().rstrip("\n")
    if fmt == "markdown":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in table]
        return "\n".join(lines)
    width = max(len(r["operator"]) for r in table)
    lines = [f"{'operator':<{width}}  {'tasks':>6} {'exact':>6} {'approx':>6} {'manual':>6}"]
    for r in table:
        lines.append(
            f"{r['operator']:<{width}}  {r['tasks']:>6} {r['exact']:>6} "
            f"{r['approximate']:>6} {r['manual']:>6}"
        )
    return "\n".join(lines)
