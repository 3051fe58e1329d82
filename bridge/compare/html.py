"""compare.html: the report of `bridge compare` as one self-contained page.

`render_html(comparison)` takes the content of compare.json and returns a single HTML page with
no network loads at all (inline CSS, inline SVG, a few lines of inline script): a header with the
verdict and both runs, the Airflow DAG beside the SageMaker pipeline with every node coloured by
its task's verdict, the per-task table (differences first) and the files table.

Here the comparison becomes the page's context; the page itself is the jinja2 template
templates/compare.html.j2 (and its partials), with templates/compare.css and templates/compare.js
inlined at render time, and the two drawings come from svg.py. All user text goes through
escaping: the templates are autoescaped, and the SVG is built from escaped fragments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from bridge.compare.svg import Node, draw

__all__ = ["render_html"]

VERDICTS = ("agree", "differ", "not_compared")
_VERDICT_WORDS = {"agree": "agree", "differ": "differ", "not_compared": "not compared"}
_ORDER = {"differ": 0, "not_compared": 1, "unknown": 2, "agree": 3}  # table: differences first
_PAGE_VERDICTS = {"equivalent", "different", "incomplete"}
_GOOD_STATUSES = {"succeeded", "success"}
_BAD_STATUSES = {"failed", "upstream_failed", "stopped", "error"}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _status_class(status: Any) -> str:
    word = _text(status).lower()
    return "good" if word in _GOOD_STATUSES else "bad" if word in _BAD_STATUSES else "neutral"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _unique(items: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(_text(i) for i in items if i is not None and _text(i) != ""))


def _edges(raw: Any) -> list[tuple[str, str]]:
    out = []
    for pair in raw or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            out.append((_text(pair[0]), _text(pair[1])))
    return list(dict.fromkeys(out))


def _task_rows(tasks: list[dict]) -> list[dict]:
    rows = []
    for i, t in enumerate(tasks):
        verdict = t.get("verdict") if t.get("verdict") in VERDICTS else "unknown"
        checks = [c for c in t.get("checks") or [] if isinstance(c, dict)]
        rows.append(
            {
                "index": i,
                "task_id": _text(t.get("task_id")),
                "steps": _unique(t.get("steps") or []),
                "verdict": verdict,
                "verdict_word": _VERDICT_WORDS.get(verdict, _text(t.get("verdict")) or "unknown"),
                "airflow_state": _text(t.get("airflow_state")) or "—",
                "pipeline_status": _text(t.get("pipeline_status")) or "—",
                "airflow_class": _status_class(t.get("airflow_state")),
                "pipeline_class": _status_class(t.get("pipeline_status")),
                "airflow_duration": _duration(t.get("airflow_duration")),
                "pipeline_duration": _duration(t.get("pipeline_duration")),
                "failed": [
                    {"check": _text(c.get("check")), "detail": _text(c.get("detail"))}
                    for c in checks
                    if not c.get("ok")
                ],
                "passed": [_text(c.get("check")) for c in checks if c.get("ok")],
                "reason": _text(t.get("reason")),
                "file_access": [
                    {
                        "path": _text(a.get("path")),
                        "mode": _text(a.get("mode")),
                        "refused": bool(a.get("refused")),
                    }
                    for a in t.get("file_access") or []
                    if isinstance(a, dict)
                ],
            }
        )
    return rows


def _details(row: dict) -> list[str]:
    lines = [
        f"Airflow: {row['airflow_state']} · {row['airflow_duration']}",
        f"Pipeline: {row['pipeline_status']} · {row['pipeline_duration']}",
    ]
    lines += [f"✗ {c['check']}: {c['detail']}" for c in row["failed"]]
    lines += [f"✓ {name}" for name in row["passed"]]
    if row["reason"]:
        lines.append(f"Reason: {row['reason']}")
    lines += [f"file {a['mode']}: {a['path']}" for a in row["file_access"][:5]]
    return lines


def _graph_nodes(comparison: dict, rows: list[dict]) -> tuple[list[Node], list[Node], dict]:
    graph = comparison.get("graph") or {}
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task_id"], row)
    dag_edges = _edges(graph.get("dag_edges"))
    pipe_edges = _edges(graph.get("pipeline_edges"))

    task_names = _unique(
        [
            *(graph.get("tasks") or []),
            *(r["task_id"] for r in rows),
            *(x for e in dag_edges for x in e),
        ]
    )
    step_task: dict[str, str] = {}
    for row in rows:
        for step in row["steps"]:
            step_task.setdefault(step, row["task_id"])
    for step, task in (graph.get("step_task") or {}).items():
        step_task[_text(step)] = _text(task)
    step_names = _unique(
        [
            *(graph.get("steps") or []),
            *(x for e in pipe_edges for x in e),
            *step_task,
            *(s for r in rows for s in r["steps"]),
        ]
    )

    left = []
    for name in task_names:
        row = by_task.get(name)
        if row is None:
            left.append(Node(name, "unknown", f"task {name}\nno comparison record"))
            continue
        has_steps = bool(row["steps"]) or name in step_task.values()
        tip = [f"task {name} — {row['verdict_word']}"]
        tip.append("Steps: " + (", ".join(row["steps"]) if row["steps"] else "none"))
        left.append(
            Node(
                name,
                row["verdict"],
                "\n".join(tip + _details(row)),
                row["index"],
                dashed=not has_steps,
            )
        )
    right = []
    for name in step_names:
        task = step_task.get(name, name if name in by_task else "")
        row = by_task.get(task)
        subtitle = f"← {task}" if task and task != name else ""
        if row is None:
            origin = f"from task {task}, which has no comparison record" if task else "no task"
            right.append(Node(name, "unknown", f"step {name}\n{origin}", subtitle=subtitle))
            continue
        tip = [f"step {name}", f"from task {task} — {row['verdict_word']}"]
        right.append(
            Node(name, row["verdict"], "\n".join(tip + _details(row)), row["index"], subtitle)
        )
    return left, right, {"dag": dag_edges, "pipeline": pipe_edges}


def _run(label: str, run: Any) -> dict:
    run = run if isinstance(run, dict) else {}
    return {
        "label": label,
        "present": bool(run),
        "engine": _text(run.get("engine")) or "—",
        "status": _text(run.get("status")) or "—",
        "status_class": _status_class(run.get("status")),
        "duration": _duration(run.get("duration")),
        "folder": _text(run.get("folder")),
        "partial": bool(run.get("partial")),
        "message": _text(run.get("message")),
        "not_isolated": run.get("isolated") is False,
        "not_faithful": [_text(n) for n in run.get("not_faithful") or []],
    }


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _context(comparison: dict) -> dict:
    tasks = [t for t in comparison.get("tasks") or [] if isinstance(t, dict)]
    rows = _task_rows(tasks)
    left, right, edges = _graph_nodes(comparison, rows)
    files = []
    for f in comparison.get("files") or []:
        if isinstance(f, dict):
            files.append(
                {
                    "path": _text(f.get("path")),
                    "ok": bool(f.get("ok")),
                    "detail": _text(f.get("detail")),
                }
            )
    files.sort(key=lambda f: f["ok"])  # stable: differing files first, then in given order

    summary = comparison.get("summary") or {}
    counted = {v: sum(1 for r in rows if r["verdict"] == v) for v in VERDICTS}
    counts = {v: summary.get(v, counted[v]) for v in VERDICTS}
    files_agree = summary.get("files_agree", sum(1 for f in files if f["ok"]))
    files_differ = summary.get("files_differ", sum(1 for f in files if not f["ok"]))
    total = sum(c for c in counts.values() if isinstance(c, int))
    headline = [
        f"{counts['agree']} of {_plural(total, 'task', 'tasks')} agree",
        f"{counts['differ']} {'differs' if counts['differ'] == 1 else 'differ'}",
        f"{counts['not_compared']} not compared",
    ]
    if files:
        headline.append(
            f"files: {files_agree} agree, {files_differ} {'differs' if files_differ == 1 else 'differ'}"
        )

    verdict = _text(comparison.get("verdict")) or "unknown"
    runs = comparison.get("runs") or {}
    parameters = comparison.get("parameters")
    dag_label = f"Airflow DAG: {len(left)} tasks, {len(edges['dag'])} dependencies"
    pipe_label = f"SageMaker pipeline: {len(right)} steps, {len(edges['pipeline'])} dependencies"
    return {
        "dag_id": _text(comparison.get("dag_id")) or "(unnamed DAG)",
        "dag_file": _text(comparison.get("dag_file")),
        "verdict": verdict,
        "verdict_class": verdict if verdict in _PAGE_VERDICTS else "unknown",
        "ok": bool(comparison.get("ok")),
        "headline": " · ".join(headline),
        "logical_date": _text(comparison.get("logical_date")) or "—",
        "parameters": [(_text(k), _json(v)) for k, v in parameters.items()]
        if isinstance(parameters, dict)
        else [],
        "runs": [_run("Airflow", runs.get("airflow")), _run("Pipeline", runs.get("pipeline"))],
        "counts": counts,
        "files_agree": files_agree,
        "files_differ": files_differ,
        "dag_label": dag_label,
        "pipe_label": pipe_label,
        "dag_svg": draw("dag", dag_label, left, edges["dag"]),
        "pipe_svg": draw("pipe", pipe_label, right, edges["pipeline"]),
        "any_nostep": any(n.dashed for n in left),
        "any_unknown": any(n.verdict == "unknown" for n in left + right),
        "rows": sorted(rows, key=lambda r: (_ORDER[r["verdict"]], r["index"])),
        "files": files,
    }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bridge.compare", "templates"),
        autoescape=jinja2.select_autoescape(("html", "j2"), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def _inline(name: str) -> Markup:
    """A file of templates/ (our own CSS or script) to put into the page verbatim."""
    env = _environment()
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    return Markup(source.rstrip("\n"))


def render_html(comparison: dict) -> str:
    """The comparison (compare.json's content) as one self-contained HTML page."""
    context = _context(comparison if isinstance(comparison, dict) else {})
    page = _environment().get_template("compare.html.j2")
    return page.render(css=_inline("compare.css"), js=_inline("compare.js"), **context)
