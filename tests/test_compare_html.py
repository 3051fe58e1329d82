"""The compare report as one self-contained HTML page (bridge.compare.html)."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from bridge.compare.html import render_html


def _task(task_id, verdict, steps=None, checks=(), reason="", state="success", status="Succeeded"):
    return {
        "task_id": task_id,
        "steps": [task_id] if steps is None else steps,
        "verdict": verdict,
        "airflow_state": state,
        "pipeline_status": status,
        "airflow_duration": 0.41,
        "pipeline_duration": 0.12,
        "checks": list(checks),
        "reason": reason,
    }


def _ok(check, detail):
    return {"check": check, "ok": True, "detail": detail}


def _bad(check, detail):
    return {"check": check, "ok": False, "detail": detail}


def taskflow_comparison() -> dict:
    """What `bridge compare` writes for sample_dags/ml_taskflow_pipeline.py when the branch differs
    and one step needs Docker."""
    agree = [_ok("state", "success / Succeeded"), _ok("xcom", "return_value equal")]
    tasks = [
        _task("load_data", "agree", checks=agree),
        _task("engineer_features", "agree", checks=agree),
        _task("train_model", "agree", checks=agree),
        _task("evaluate_model", "agree", checks=agree),
        _task(
            "check_quality",
            "differ",
            checks=[
                _ok("state", "success / Succeeded"),
                _bad("branch", "Airflow took register_model; pipeline took notify_failure"),
            ],
        ),
        _task("register_model", "agree", checks=[_ok("state", "success / NotExecuted")]),
        _task("notify_failure", "agree", checks=[_ok("state", "skipped / Succeeded")]),
        _task(
            "report",
            "agree",
            steps=["report-via-register_model", "report-via-notify_failure"],
            checks=agree,
        ),
        _task(
            "deploy",
            "not_compared",
            checks=[],
            reason="step not runnable locally: image 123.dkr.ecr/deploy:latest needs Docker "
            "(see https://docs.aws.amazon.com/sagemaker/)",
            status="NotRunnable",
        ),
        _task("cleanup_marker", "agree", steps=[], checks=[_ok("state", "success / -")]),
    ]
    dag_edges = [
        ["load_data", "engineer_features"],
        ["engineer_features", "train_model"],
        ["engineer_features", "evaluate_model"],
        ["train_model", "evaluate_model"],
        ["evaluate_model", "check_quality"],
        ["train_model", "register_model"],
        ["evaluate_model", "register_model"],
        ["check_quality", "register_model"],
        ["check_quality", "notify_failure"],
        ["evaluate_model", "notify_failure"],
        ["register_model", "report"],
        ["notify_failure", "report"],
        ["register_model", "deploy"],
    ]
    pipeline_edges = [
        ["load_data", "engineer_features"],
        ["engineer_features", "train_model"],
        ["engineer_features", "evaluate_model"],
        ["train_model", "evaluate_model"],
        ["evaluate_model", "check_quality"],
        ["check_quality", "register_model"],
        ["check_quality", "notify_failure"],
        ["register_model", "report-via-register_model"],
        ["notify_failure", "report-via-notify_failure"],
        ["register_model", "deploy"],
    ]
    steps = sorted({s for e in pipeline_edges for s in e})
    return {
        "dag_id": "ml_taskflow_pipeline",
        "dag_file": "sample_dags/ml_taskflow_pipeline.py",
        "ok": False,
        "verdict": "different",
        "parameters": {"rmse_threshold": 25.0, "output_dir": "/tmp/out"},
        "logical_date": "2026-01-01T00:00:00+00:00",
        "runs": {
            "airflow": {
                "engine": "airflow",
                "status": "Succeeded",
                "duration": 12.3,
                "folder": "runs/airflow-20260101",
                "partial": False,
                "message": "",
            },
            "pipeline": {
                "engine": "local",
                "status": "Succeeded",
                "duration": 1.9,
                "folder": "runs/local-20260101",
                "partial": True,
                "message": "1 step not runnable here",
            },
        },
        "tasks": tasks,
        "files": [
            {"path": "ml_taskflow_pipeline/metrics.json", "ok": True, "detail": "equal"},
            {
                "path": "ml_taskflow_pipeline/model.json",
                "ok": False,
                "detail": "missing in the pipeline run",
            },
        ],
        "graph": {
            "dag_edges": dag_edges,
            "pipeline_edges": pipeline_edges,
            "step_task": {
                **{s: s for s in steps},
                "report-via-register_model": "report",
                "report-via-notify_failure": "report",
            },
            "tasks": [t["task_id"] for t in tasks],
            "steps": steps,
        },
        "summary": {
            "agree": 8,
            "differ": 1,
            "not_compared": 1,
            "files_agree": 1,
            "files_differ": 1,
        },
    }


def big_comparison(n: int = 60) -> dict:
    """n tasks: a wide fan-out, a long chain and skip edges, one step per task."""
    ids = [
        f"task_{i:02d}_with_a_rather_long_descriptive_name" if i % 7 == 0 else f"t{i:02d}"
        for i in range(n)
    ]
    edges = []
    for i in range(1, n):
        if i < 20:
            edges.append([ids[0], ids[i]])  # fan-out
        else:
            edges.append([ids[i - 1], ids[i]])  # chain
        if i % 5 == 0 and i + 9 < n:
            edges.append([ids[i], ids[i + 9]])  # skips several layers
    verdicts = ["agree", "agree", "differ", "not_compared"]
    tasks = [_task(t, verdicts[i % 4]) for i, t in enumerate(ids)]
    return {
        "dag_id": "big",
        "verdict": "different",
        "ok": False,
        "runs": {},
        "tasks": tasks,
        "files": [],
        "graph": {
            "dag_edges": edges,
            "pipeline_edges": edges,
            "step_task": {t: t for t in ids},
            "tasks": ids,
            "steps": ids,
        },
        "summary": {},
    }


# --- helpers ----------------------------------------------------------------------------------


def svgs(page: str) -> list[ET.Element]:
    fragments = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    return [ET.fromstring(f) for f in fragments]


def nodes_by_id(svg: ET.Element) -> dict[str, ET.Element]:
    return {el.get("data-id"): el for el in svg.iter() if el.get("data-id") is not None}


class _Tags(HTMLParser):
    """Every start tag with its attributes, and whether the HTML nests properly."""

    VOID = {"meta", "br", "link", "img", "input", "hr", "col", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(taskflow_comparison())


# --- self-contained ----------------------------------------------------------------------------


def test_no_network_loads(page):
    tags = parse(page)
    for tag, attrs in tags.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", value), (tag, name, value)
        if tag == "a":
            assert (attrs.get("href") or "#").startswith("#")
    assert not any(tag in ("link", "img", "iframe", "object", "embed") for tag, _ in tags.tags)
    assert all("src" not in attrs for tag, attrs in tags.tags if tag == "script")
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?\s*(?!#)", page)  # only url(#marker) references
    # The only absolute URL on the page is the user's own text, shown escaped, never loaded.
    assert set(re.findall(r"https?://[^\s)\"<]*", page)) == {
        "https://docs.aws.amazon.com/sagemaker/"
    }


def test_without_user_urls_the_page_has_no_url_at_all():
    comparison = taskflow_comparison()
    comparison["tasks"][8]["reason"] = "step not runnable locally: needs Docker"
    html = render_html(comparison)
    assert "http:" not in html and "https:" not in html and "//" not in html.replace("<!--", "")


def test_html_nests_properly(page):
    tags = parse(page)
    assert tags.errors == [] and tags.stack == []


# --- content ----------------------------------------------------------------------------------


def test_header(page):
    header = page[page.index("<header") : page.index("</header>")]
    assert 'class="different"' in header and ">different<" in header
    assert "ml_taskflow_pipeline" in header and "sample_dags/ml_taskflow_pipeline.py" in header
    assert "2026-01-01T00:00:00+00:00" in header
    assert "rmse_threshold = 25.0" in header and "output_dir = &#34;/tmp/out&#34;" in header
    assert "12.3 s" in header and "1.90 s" in header
    assert "<code>airflow</code>" in header and "<code>local</code>" in header
    # only the pipeline run is partial, and it says so
    assert header.count("partial run</span>") == 1
    pipeline_card = header[header.index("Pipeline run") :]
    assert "partial run" in pipeline_card and "1 step not runnable here" in pipeline_card


@pytest.mark.parametrize(
    ("verdict", "colour_class"),
    [("equivalent", "equivalent"), ("different", "different"), ("incomplete", "incomplete")],
)
def test_verdict_colour(verdict, colour_class):
    comparison = taskflow_comparison()
    comparison["verdict"] = verdict
    html = render_html(comparison)
    assert f'<header class="{colour_class}">' in html


def test_every_task_and_step_appears(page):
    comparison = taskflow_comparison()
    dag, pipeline = svgs(page)
    assert set(nodes_by_id(dag)) == set(comparison["graph"]["tasks"])
    assert set(nodes_by_id(pipeline)) == set(comparison["graph"]["steps"])
    for task_id in comparison["graph"]["tasks"]:
        assert f"<code>{task_id}</code>" in page
    for step in comparison["graph"]["steps"]:
        assert step in page
    # a task without steps is on the left, marked as such
    assert "cleanup_marker" in nodes_by_id(dag)
    assert "nostep" in nodes_by_id(dag)["cleanup_marker"].get("class").split()
    # pipeline steps carry their own names as labels
    labels = {"".join(t.itertext()) for t in pipeline.iter("text") if t.get("class") == "label"}
    assert "report-via-notify_failure" in labels and "check_quality" in labels


def test_node_colours_follow_verdicts(page):
    dag, pipeline = svgs(page)
    left, right = nodes_by_id(dag), nodes_by_id(pipeline)
    assert "differ" in left["check_quality"].get("class").split()
    assert "agree" in left["load_data"].get("class").split()
    assert "not_compared" in left["deploy"].get("class").split()
    assert "differ" in right["check_quality"].get("class").split()
    assert "not_compared" in right["deploy"].get("class").split()
    # a copied step takes the colour of the task it came from
    for step in ("report-via-register_model", "report-via-notify_failure"):
        assert "agree" in right[step].get("class").split()
    # each node links to its task's row, and both sides point at the same row
    assert left["report"].get("href") == right["report-via-notify_failure"].get("href")
    assert f'id="{left["report"].get("href")[1:]}"' in page


def test_node_tooltips_hold_verdict_and_details(page):
    dag, pipeline = svgs(page)
    title = nodes_by_id(dag)["check_quality"].find("title").text
    assert (
        "differ" in title and "Airflow took register_model; pipeline took notify_failure" in title
    )
    title = nodes_by_id(pipeline)["report-via-notify_failure"].find("title").text
    assert "from task report" in title and "agree" in title
    title = nodes_by_id(dag)["deploy"].find("title").text
    assert "not compared" in title and "needs Docker" in title


def test_edges_are_drawn_with_arrowheads(page):
    dag, pipeline = svgs(page)
    comparison = taskflow_comparison()
    for svg, edges, prefix in (
        (dag, comparison["graph"]["dag_edges"], "dag"),
        (pipeline, comparison["graph"]["pipeline_edges"], "pipe"),
    ):
        paths = [p for p in svg.iter("path") if "edge" in (p.get("class") or "").split()]
        assert len(paths) == len(edges)
        assert {p.get("marker-end") for p in paths} == {f"url(#{prefix}-arrow)"}
        assert svg.find(f".//marker[@id='{prefix}-arrow']") is not None


def test_layers_go_left_to_right(page):
    dag, _ = svgs(page)
    x = {k: float(n.find("rect").get("x")) for k, n in nodes_by_id(dag).items()}
    for u, v in taskflow_comparison()["graph"]["dag_edges"]:
        assert x[u] < x[v], (u, v)
    assert x["load_data"] == min(x.values())


def test_task_table_differences_first(page):
    table = page[page.index('<section id="tasks">') : page.index('<section id="files">')]
    order = re.findall(r'<tr id="task-\d+" class="(\w+)"', table)
    assert order[0] == "differ" and order[1] == "not_compared"
    assert set(order[2:]) == {"agree"}
    first = table[table.index('<tr id="task-') :]
    first = first[: first.index("</tr>")]
    assert "check_quality" in first
    assert "Airflow took register_model; pipeline took notify_failure" in first
    assert "step not runnable locally" in table
    assert "0.41 s" in table and "0.12 s" in table
    # passing checks are not listed as failures
    assert "return_value equal" not in table


def test_files_table(page):
    files = page[page.index('<section id="files">') :]
    assert files.index("model.json") < files.index("metrics.json")  # differing first
    assert "missing in the pipeline run" in files


# --- escaping ---------------------------------------------------------------------------------


def test_user_text_is_escaped():
    comparison = copy.deepcopy(taskflow_comparison())
    evil = "<script>alert('x')</script>"
    comparison["dag_id"] = "dag<b>bold</b>"
    comparison["tasks"][0]["task_id"] = evil
    comparison["tasks"][0]["steps"] = [evil + "-step"]
    comparison["tasks"][4]["checks"][1]["detail"] = '<img src=x onerror="alert(1)">'
    comparison["runs"]["airflow"]["message"] = "</div><iframe>"
    comparison["files"][0]["path"] = "a&b<c>.json"
    comparison["parameters"] = {"<k>": "<v>"}
    graph = comparison["graph"]
    graph["tasks"][0] = evil
    graph["dag_edges"][0][0] = evil
    graph["steps"].append(evil + "-step")
    graph["step_task"][evil + "-step"] = evil
    graph["pipeline_edges"].append([evil + "-step", "engineer_features"])
    html = render_html(comparison)
    assert "<script>alert" not in html and "<img" not in html and "<iframe" not in html
    assert "<b>bold" not in html and "a&b<c>" not in html and "<k>" not in html
    assert "&lt;script&gt;alert(" in html and "a&amp;b&lt;c&gt;.json" in html
    assert html.count("<script>") == 1  # ours: the hover highlighting
    dag, pipeline = svgs(html)
    assert evil in nodes_by_id(dag) and evil + "-step" in nodes_by_id(pipeline)
    assert "differ" in nodes_by_id(dag)["check_quality"].get("class").split()
    assert parse(html).errors == []


# --- robustness -------------------------------------------------------------------------------


def test_svg_is_well_formed_xml(page):
    parsed = svgs(page)
    assert len(parsed) == 2
    for svg in parsed:
        assert svg.tag == "svg" and svg.get("viewBox")


def test_sixty_node_graph(tmp_path):
    comparison = big_comparison(60)
    html = render_html(comparison)
    dag, pipeline = svgs(html)
    assert len(nodes_by_id(dag)) == 60 and len(nodes_by_id(pipeline)) == 60
    ids = comparison["graph"]["tasks"]
    for task_id in ids:
        assert task_id in html
    # no two boxes overlap
    for svg in (dag, pipeline):
        rects = [n.find("rect") for n in nodes_by_id(svg).values()]
        boxes = [tuple(float(r.get(a)) for a in ("x", "y", "width", "height")) for r in rects]
        for i, (x1, y1, w1, h1) in enumerate(boxes):
            for x2, y2, w2, h2 in boxes[i + 1 :]:
                assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
        # every box inside the drawing
        _, _, width, height = (float(v) for v in svg.get("viewBox").split())
        assert all(x >= 0 and y >= 0 and x + w <= width and y + h <= height for x, y, w, h in boxes)
    # long labels are cut, with the full name in the tooltip
    long = ids[0]
    node = nodes_by_id(dag)[long]
    label = "".join(node.find("text").itertext())
    assert label.endswith("…") and len(label) < len(long)
    assert long in node.find("title").text
    # a deep graph wraps into rows rather than running off to the right
    for svg in (dag, pipeline):
        _, _, width, height = (float(v) for v in svg.get("viewBox").split())
        assert width < 2400 and height > width / 2
        y = {k: float(n.find("rect").get("y")) for k, n in nodes_by_id(svg).items()}
        assert y[ids[59]] > y[ids[30]] > y[ids[20]] + 100  # the chain goes on in rows below
    # the drawing scales down only so far, then scrolls, unless the reader asks to fit it
    assert re.search(r"min-width:\d+px", dag.get("style"))
    assert 'id="fit"' in html and 'id="stacked"' in html
    (tmp_path / "big.html").write_text(html)


def test_cycles_do_not_crash():
    comparison = taskflow_comparison()
    comparison["graph"]["dag_edges"] += [["report", "load_data"], ["deploy", "deploy"]]
    comparison["graph"]["pipeline_edges"] += [["check_quality", "engineer_features"]]
    html = render_html(comparison)
    dag, pipeline = svgs(html)
    assert set(nodes_by_id(dag)) == set(comparison["graph"]["tasks"])
    assert set(nodes_by_id(pipeline)) == set(comparison["graph"]["steps"])

    def dashed(svg):
        return sorted(
            p.find("title").text for p in svg.iter("path") if "back" in (p.get("class") or "")
        )

    # each cycle is cut at the edge that closes it, seen from the sources; the rest keeps its layers
    assert dashed(dag) == ["deploy → deploy", "report → load_data"]
    assert dashed(pipeline) == ["check_quality → engineer_features"]
    x = {k: float(n.find("rect").get("x")) for k, n in nodes_by_id(pipeline).items()}
    assert x["load_data"] < x["engineer_features"] < x["evaluate_model"] < x["check_quality"]


def test_one_big_cycle():
    ids = [f"n{i}" for i in range(12)]
    edges = [[a, b] for a, b in zip(ids, ids[1:] + ids[:1], strict=True)]
    comparison = {
        "verdict": "different",
        "tasks": [_task(t, "agree") for t in ids],
        "graph": {"dag_edges": edges, "pipeline_edges": edges, "tasks": ids, "steps": ids},
    }
    dag, pipeline = svgs(render_html(comparison))
    assert len(nodes_by_id(dag)) == len(nodes_by_id(pipeline)) == 12


def test_sparse_input():
    html = render_html({"dag_id": "empty", "verdict": "incomplete"})
    assert '<header class="incomplete">' in html and "No tasks were compared." in html
    assert "Nothing to draw." in html and "No record of this run." in html
    html = render_html({"dag_id": "d", "verdict": "weird<>", "tasks": [{"task_id": "only"}]})
    assert "weird&lt;&gt;" in html and '<header class="unknown">' in html
    (dag,) = svgs(html)[:1]
    assert "unknown" in nodes_by_id(dag)["only"].get("class").split()


def test_edges_to_unlisted_nodes_still_draw():
    comparison = taskflow_comparison()
    comparison["graph"]["dag_edges"].append(["deploy", "ghost_task"])
    comparison["graph"]["pipeline_edges"].append(["deploy", "ghost-step"])
    dag, pipeline = svgs(render_html(comparison))
    assert "unknown" in nodes_by_id(dag)["ghost_task"].get("class").split()
    assert "unknown" in nodes_by_id(pipeline)["ghost-step"].get("class").split()
