"""The "Migrated pipelines" page (airflow_plugins/plugin.py, airflow_plugins/ui/).

- Unit level: FastAPI's TestClient against the plugin's app, with manifests from a real
  `bridge translate`, schema-true compare.json reports, real executions of the translated
  pipelines on a local `bridge serve` endpoint (reached through the Airflow AWS connection), and
  Airflow's real SimpleAuthManager tokens (checked against a migrated metadata database, as
  Airflow checks revoked tokens).
- End to end (slow): a real `airflow api-server` in an isolated AIRFLOW_HOME and headless
  Chromium (playwright): refused without a login, then log in through Airflow's login page,
  find the nav entry, see the page inside the UI; plus `airflow plugins` / `providers list`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("airflow")
pytest.importorskip("fastapi")

from bridge.compare.airflow_run import DB_FILE, airflow_version, cache_dir, child_env, is_migrated  # noqa: E402
from bridge.compare.html import render_html  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = ROOT / ".venv" / "bin" / "bridge"
AIRFLOW = Path(sys.executable).parent / "airflow"
CHROMIUM = Path("/usr/bin/chromium")
DAGS = ["ml_classic_operators", "ml_taskflow_pipeline"]
REGION = "us-east-1"
PASSWORD = "bridge-ui-test-password"
JWT_SECRET = "bridge-ui-test-jwt-secret-" + "0123456789abcdef" * 4  # 64+ bytes: no HMAC warning
# A model name no file system takes as a folder name (one part is over 255 bytes): that execution
# fails in package_model, whose mkdir names the release folder, with markup in its failure reason
# (the page must show it as text).
MARKUP = "<b>bold</b>"
UNUSABLE_NAME = MARKUP + "x" * 260


def _arn(pipeline: str, execution_id: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:000000000000:pipeline/{pipeline}/execution/{execution_id}"


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """Real `bridge translate` output for two sample DAGs (manifests, definitions)."""
    out = tmp_path_factory.mktemp("translated")
    files = [f"sample_dags/{d}.py" for d in DAGS]  # relative: the manifest records it as given
    done = subprocess.run(
        [str(BRIDGE), "translate", *files, "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def manifests(out) -> dict[str, dict]:
    return {d: json.loads((out / d / "manifest.json").read_text()) for d in DAGS}


def _comparison(manifest: dict, verdict: str, differ: set[str] = frozenset()) -> dict:
    """A compare.json as bridge/compare/checks.py writes it (docs/compare.md)."""
    tasks = []
    for task_id, info in sorted(manifest["tasks"].items()):
        if not info["steps"]:
            row = {"verdict": "not_compared", "reason": "no step: contracted", "checks": []}
        elif task_id in differ:
            row = {
                "verdict": "differ",
                "reason": "",
                "checks": [
                    {
                        "check": "xcom",
                        "ok": False,
                        "detail": "return_value: Airflow 0.91 / pipeline 0.87",
                    }
                ],
            }
        else:
            row = {
                "verdict": "agree",
                "reason": "",
                "checks": [
                    {"check": "state", "ok": True, "detail": "Airflow success / pipeline Succeeded"}
                ],
            }
        tasks.append(
            {
                "task_id": task_id,
                "steps": info["steps"],
                "airflow_state": "success",
                "pipeline_status": "Succeeded",
                "airflow_duration": 0.2,
                "pipeline_duration": 0.1,
                **row,
            }
        )
    counts = {v: sum(t["verdict"] == v for t in tasks) for v in ("agree", "differ", "not_compared")}
    run = {
        "engine": "local",
        "run_id": "r1",
        "status": "Succeeded",
        "duration": 1.5,
        "folder": "/tmp/r1",
        "partial": False,
        "message": "",
    }
    return {
        "dag_id": manifest["dag_id"],
        "dag_file": manifest["source"]["path"],
        "ok": verdict == "equivalent",
        "verdict": verdict,
        "tolerance": 1e-9,
        "logical_date": "2026-01-05T00:00:00+00:00",
        "parameters": {},
        "runs": {"airflow": {**run, "engine": "airflow"}, "pipeline": run},
        "tasks": tasks,
        "files": [],
        "graph": {
            "dag_edges": manifest["dag_edges"],
            "pipeline_edges": manifest["edges"],
            "step_task": {s: i["task_id"] for s, i in manifest["steps"].items()},
            "tasks": sorted(manifest["tasks"]),
            "steps": sorted(manifest["steps"]),
        },
        "summary": {**counts, "files_agree": 0, "files_differ": 0},
    }


@pytest.fixture(scope="module")
def reports(tmp_path_factory, manifests) -> Path:
    """bridge compare's layout: <dag_id>/compare/<stamp>/{compare.json,compare.html}."""
    root = tmp_path_factory.mktemp("reports")
    for dag_id, stamp, verdict, differ in [
        ("ml_classic_operators", "20261121T090000", "different", {"train_model"}),
        ("ml_classic_operators", "20261122T090000", "equivalent", set()),
        ("ml_taskflow_pipeline", "20261120T090000", "equivalent", set()),
    ]:
        folder = root / dag_id / "compare" / stamp
        folder.mkdir(parents=True)
        comparison = _comparison(manifests[dag_id], verdict, differ)
        if verdict == "equivalent" and comparison["summary"]["not_compared"]:
            comparison["verdict"] = "incomplete"
        (folder / "compare.json").write_text(json.dumps(comparison))
        (folder / "compare.html").write_text(render_html(comparison))
    (root / "secret.txt").write_text("not a report")
    return root


@pytest.fixture(scope="module")
def endpoint(out, tmp_path_factory):
    """`bridge serve` with the translated pipelines, and real executions of them: classic
    succeeded, then classic failed (newest), taskflow succeeded. `.arns` by (pipeline, outcome)."""
    import boto3

    from bridge.serve.server import serve

    state = tmp_path_factory.mktemp("serve")
    server = serve([out], state / "state", port=0)
    try:
        sm = boto3.client(
            "sagemaker",
            endpoint_url=server.url,
            region_name=REGION,
            aws_access_key_id=server.token,
            aws_secret_access_key="testing",
        )
        server.arns = {}
        for pipeline, outcome, parameters in [
            ("ml-classic-operators", "Succeeded", {}),
            ("ml-classic-operators", "Failed", {"model_name": UNUSABLE_NAME}),
            ("ml-taskflow-pipeline", "Succeeded", {}),
        ]:
            arn = sm.start_pipeline_execution(
                PipelineName=pipeline,
                PipelineExecutionDisplayName=f"nightly-{outcome.lower()}",
                PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
            )["PipelineExecutionArn"]
            deadline = time.monotonic() + 60
            while (
                status := sm.describe_pipeline_execution(PipelineExecutionArn=arn)[
                    "PipelineExecutionStatus"
                ]
            ) in ("Executing", "Stopping"):
                assert time.monotonic() < deadline, f"{pipeline} still running"
                time.sleep(0.05)
            assert status == outcome, (pipeline, status)
            server.arns[(pipeline, outcome)] = arn
            time.sleep(0.01)  # distinct creation times: newest first is well defined
        yield server
    finally:
        server.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _migrated_home(home: Path) -> Path:
    """An AIRFLOW_HOME with a migrated SQLite DB: the copy bridge.compare.airflow_run caches, or a
    fresh `airflow db migrate` (which then fills that cache)."""
    home.mkdir(parents=True, exist_ok=True)
    cached = cache_dir() / f"airflow-{airflow_version()}.db"
    if is_migrated(cached):
        shutil.copyfile(cached, home / DB_FILE)
        return home
    done = subprocess.run(
        [str(AIRFLOW), "db", "migrate"],
        env=child_env(str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with contextlib.suppress(OSError):
        from bridge.compare.airflow_run import snapshot_db

        snapshot_db(home / DB_FILE, cached)
    return home


def _aws_env(url: str, token: str) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": url, "region_name": REGION}}
        ),
        "AWS_ACCESS_KEY_ID": token,  # bridge serve's token is the access key id
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config",
    }


@pytest.fixture(scope="module")
def airflow_auth(tmp_path_factory):
    """Airflow's SimpleAuthManager in this process, tokens checked against a migrated DB."""
    from airflow import settings
    from airflow.api_fastapi import app as api_app

    home = _migrated_home(tmp_path_factory.mktemp("airflow-home"))
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD, "viewer": PASSWORD}))
    env = {
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
    }
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    saved_conn = settings.SQL_ALCHEMY_CONN
    settings.SQL_ALCHEMY_CONN = f"sqlite:///{home / DB_FILE}"
    settings.reconfigure_orm()
    api_app.purge_cached_app()
    manager = api_app.create_auth_manager()
    manager.init()
    yield manager
    api_app.purge_cached_app()
    settings.SQL_ALCHEMY_CONN = saved_conn
    settings.reconfigure_orm()
    for k, v in saved_env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _token(manager, username: str, role: str = "viewer") -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))


@pytest.fixture
def client(airflow_auth, out, reports, endpoint, monkeypatch):
    from fastapi.testclient import TestClient

    from airflow_plugins.ui.app import create_app

    for key, value in _aws_env(endpoint.url, endpoint.token).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIRFLOW__BRIDGE__MANIFESTS_FOLDER", str(out))
    monkeypatch.setenv("AIRFLOW__BRIDGE__REPORTS_FOLDER", str(reports))
    monkeypatch.setenv("AIRFLOW__BRIDGE__EXECUTIONS_PER_PIPELINE", "10")
    client = TestClient(create_app(), follow_redirects=False)
    client.headers["Authorization"] = f"Bearer {_token(airflow_auth, 'viewer')}"
    return client


# --- unit level -----------------------------------------------------------------------------------


def test_every_route_needs_an_airflow_login(client):
    anonymous = {"Authorization": ""}
    for path in [
        "/api/pipelines",
        "/api/executions/" + _arn("ml-classic-operators", "e1"),
        "/reports/ml_classic_operators/compare/20261122T090000/compare.html",
    ]:
        assert client.get(path, headers=anonymous).status_code == 401, path
    # A browser without a login is sent to the auth manager's login page, and back afterwards.
    page = client.get("/?execution=x", headers={**anonymous, "Accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    assert "Migrated pipelines" not in page.text
    # A forged token is refused; so is one of a user the auth manager does not know.
    forged = {"Authorization": "Bearer not-a-jwt"}
    assert client.get("/api/pipelines", headers=forged).status_code == 403
    client.cookies.set("_token", client.headers["Authorization"].split()[1])
    cookie_only = client.get("/api/pipelines?executions=false", headers=anonymous)
    assert cookie_only.status_code == 200  # the UI's own `_token` cookie is enough
    client.cookies.clear()
    assert client.get("/openapi.json", headers=anonymous).status_code == 404


def test_pipelines_with_fidelity_and_per_task_execution_states(client, manifests, out, endpoint):
    body = client.get("/api/pipelines").json()
    assert body["aws_error"] == "" and body["problems"] == []
    assert body["endpoint"] == endpoint.url  # through the Airflow connection's endpoint_url
    by_dag = {p["dag_id"]: p for p in body["pipelines"]}
    assert sorted(by_dag) == DAGS
    classic = by_dag["ml_classic_operators"]
    assert classic["pipeline_name"] == "ml-classic-operators"
    assert classic["source"] == "sample_dags/ml_classic_operators.py"
    assert classic["manifest"] == str(out / "ml_classic_operators" / "manifest.json")
    fidelity = [t["fidelity"] for t in manifests["ml_classic_operators"]["tasks"].values()]
    assert classic["fidelity"] == {f: fidelity.count(f) for f in ("exact", "approximate", "manual")}
    assert classic["tasks"][0] == "check_input_available"  # upstream first

    executions = classic["executions"]
    assert [e["status"] for e in executions] == ["Failed", "Succeeded"]  # newest first
    failed, succeeded = executions
    assert failed["arn"] == endpoint.arns[("ml-classic-operators", "Failed")]
    assert failed["display_name"] == "nightly-failed"
    # Per original task: the branch not taken did not run; everything else succeeded.
    states = {t["task_id"]: t["state"] for t in succeeded["tasks"]}
    assert states.pop("flag_for_review") == "not_run"
    assert set(states.values()) == {"success"}
    failed_states = {t["task_id"]: t["state"] for t in failed["tasks"]}
    assert failed_states.pop("package_model") == "failed"
    assert failed_states.pop("publish_report") == "not_run"
    assert failed_states.pop("flag_for_review") == "not_run"
    assert set(failed_states.values()) == {"success"}
    assert "package_model" in failed["failure_reason"]
    assert "File name too long" in failed["failure_reason"]
    for e in executions:
        assert e["duration"] is not None and e["ended"] >= e["started"]
    # Steps map back to their task: the short-circuit task became two steps.
    task_steps = {t["task_id"]: t["steps"] for t in succeeded["tasks"]}
    assert task_steps["check_input_available"] == [
        "check_input_available",
        "check_input_available-gate",
    ]
    assert [e["status"] for e in by_dag["ml_taskflow_pipeline"]["executions"]] == ["Succeeded"]

    latest = classic["latest_report"]
    assert latest["verdict"] in ("equivalent", "incomplete") and latest["differ"] == 0
    assert [r["compared_at"][:10] for r in body["reports"]] == [
        "2026-11-22",
        "2026-11-21",
        "2026-11-20",
    ]


def test_one_execution_with_every_step(client, endpoint):
    arn = endpoint.arns[("ml-classic-operators", "Failed")]
    body = client.get("/api/executions/" + quote(arn, safe="")).json()
    execution = body["execution"]
    assert execution["arn"] == arn and execution["status"] == "Failed"
    steps = {s["name"]: s for s in execution["steps"]}
    assert set(steps) == {
        "check_input_available",
        "check_input_available-gate",
        "preprocess-validate_schema",
        "preprocess-scale_features",
        "preprocess-snapshot_features",
        "train_model",
        "evaluate_model",
        "choose_deployment",
        "package_model",
    }
    failing = steps["package_model"]
    assert failing["status"] == "Failed" and failing["task_id"] == "package_model"
    assert f"releases/{UNUSABLE_NAME}" in failing["failure_reason"]
    assert failing["kind"] == "ProcessingJob"
    assert steps["check_input_available-gate"]["task_id"] == "check_input_available"
    assert steps["check_input_available-gate"]["kind"] == "Condition"
    assert body["pipeline"]["dag_id"] == "ml_classic_operators"

    page = client.get("/", params={"execution": arn})
    assert page.status_code == 200
    html = page.text
    assert 'data-step="package_model" data-task="package_model"' in html
    assert "releases/&lt;b&gt;bold&lt;/b&gt;xxx" in html and MARKUP not in html  # text, not markup
    assert 'data-task="package_model" data-state="failed"' in html
    assert 'data-task="publish_report" data-state="not_run"' in html
    # SageMaker writes pipeline names into ARNs in lower case: matched without case (this one
    # passes the check, then the endpoint has no such execution). Other pipelines are refused.
    other_case = client.get(
        "/api/executions/" + arn.replace("ml-classic-operators", "ML-Classic-Operators")
    )
    assert other_case.status_code == 404 and other_case.json()["detail"].startswith("not found on")
    unknown = client.get("/api/executions/" + _arn("someone-elses-pipeline", "x1"))
    assert unknown.status_code == 404 and "not a migrated pipeline" in unknown.json()["detail"]
    assert client.get("/api/executions/" + _arn("ml-classic-operators", "gone")).status_code == 404
    assert client.get("/api/executions/not-an-arn").status_code == 404
    assert "not a migrated pipeline" in client.get("/", params={"execution": _arn("x", "y")}).text


def test_a_running_execution_and_steps_the_manifest_does_not_know():
    from airflow_plugins.manifest import Migration
    from airflow_plugins.ui.data import Pipeline, execution_of

    manifest = {
        "dag_id": "d",
        "pipeline": {"name": "p"},
        "tasks": {"a": {"steps": ["a"]}, "b": {"steps": ["b-0", "b-1"]}, "c": {"steps": []}},
        "steps": {"a": {"task_id": "a"}, "b-0": {"task_id": "b"}, "b-1": {"task_id": "b"}},
    }
    pipeline = Pipeline(
        "d", "p", "d.py", "m.json", {}, ["a", "b", "c"], Migration.from_dict(manifest)
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    summary = {
        "PipelineExecutionArn": _arn("p", "e1"),
        "PipelineExecutionStatus": "Executing",
        "StartTime": start,
    }
    steps = [
        {"StepName": "a", "StepStatus": "Succeeded", "StartTime": start, "EndTime": start},
        {"StepName": "b-0", "StepStatus": "Succeeded", "StartTime": start},
        {"StepName": "b-1", "StepStatus": "Executing", "StartTime": start},
        {"StepName": "extra", "StepStatus": "Failed", "FailureReason": "boom"},
    ]
    e = execution_of(pipeline, summary, steps, now=start.replace(minute=5))
    assert e.ended is None and e.duration == 300.0
    assert [(t.task_id, t.state) for t in e.tasks] == [
        ("a", "success"),
        ("b", "running"),
        ("c", "no_step"),
        ("extra", "failed"),
    ]


def test_the_page_shows_tables_chips_and_reports(client, endpoint):
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.count('<section class="pipeline"') == 2
    assert html.count('<table class="executions">') == 2
    assert '<span class="badge exact" data-fidelity="exact">' in html
    arn = endpoint.arns[("ml-classic-operators", "Failed")]
    assert f'href="/?execution={quote(arn, safe="")}"' in html
    assert 'data-task="package_model" data-state="failed"' in html
    assert html.count('class="reports"') == 1
    assert 'href="/reports/ml_classic_operators/compare/20261122T090000/compare.html"' in html
    assert "could not be read" not in html


def test_reports_are_served_only_from_inside_the_reports_folder(client, reports):
    good = client.get("/reports/ml_classic_operators/compare/20261122T090000/compare.html")
    assert good.status_code == 200 and "<svg" in good.text
    assert good.headers["content-type"].startswith("text/html")
    as_json = client.get("/reports/ml_taskflow_pipeline/compare/20261120T090000/compare.json")
    assert as_json.json()["dag_id"] == "ml_taskflow_pipeline"
    outside = reports.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "compare.html").write_text("secret")
    (reports / "link").symlink_to(outside, target_is_directory=True)
    for path in [
        "secret.txt",
        "../outside/compare.html",
        "..%2Foutside%2Fcompare.html",
        "%2e%2e/outside/compare.html",
        "link/compare.html",
        str(outside / "compare.html"),
        "ml_classic_operators/compare/20261122T090000/nope.html",
        "",
    ]:
        answer = client.get("/reports/" + path)
        assert answer.status_code == 404, path
        assert "secret" not in answer.text


def test_only_dags_the_user_may_read(client, airflow_auth, endpoint, monkeypatch):
    manager_cls = type(airflow_auth)
    allowed = manager_cls.is_authorized_dag

    def is_authorized_dag(self, *, method, access_entity=None, details=None, user):
        if details is not None and details.id == "ml_taskflow_pipeline":
            return False
        return allowed(self, method=method, access_entity=access_entity, details=details, user=user)

    monkeypatch.setattr(manager_cls, "is_authorized_dag", is_authorized_dag)
    body = client.get("/api/pipelines").json()
    assert [p["dag_id"] for p in body["pipelines"]] == ["ml_classic_operators"]
    assert {r["dag_id"] for r in body["reports"]} == {"ml_classic_operators"}
    arn = endpoint.arns[("ml-taskflow-pipeline", "Succeeded")]
    assert client.get("/api/executions/" + arn).status_code == 404
    report = "/reports/ml_taskflow_pipeline/compare/20261120T090000/compare.html"
    assert client.get(report).status_code == 404


def test_a_login_without_plugin_access_is_refused(client, airflow_auth, monkeypatch):
    monkeypatch.setattr(type(airflow_auth), "is_authorized_view", lambda self, **kw: False)
    assert client.get("/api/pipelines").status_code == 403
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "Not allowed" in page.text
    assert "ml_classic_operators" not in page.text


@pytest.mark.parametrize("case", ["endpoint_down", "no_credentials", "unknown_pipeline"])
def test_aws_trouble_is_a_message_never_a_500(client, endpoint, out, tmp_path, monkeypatch, case):
    if case == "endpoint_down":
        monkeypatch.setenv(
            "AIRFLOW_CONN_AWS_DEFAULT",
            json.dumps(
                {
                    "conn_type": "aws",
                    "extra": {
                        "endpoint_url": f"http://127.0.0.1:{_free_port()}",
                        "region_name": REGION,
                    },
                }
            ),
        )
        expected = "cannot reach the SageMaker endpoint"
    elif case == "no_credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        expected = "no AWS credentials"
    else:  # translated, but never created on SageMaker
        for dag_id in DAGS:
            manifest = json.loads((out / dag_id / "manifest.json").read_text())
            manifest["pipeline"]["name"] = f"{dag_id}-not-deployed"
            (tmp_path / dag_id).mkdir()
            (tmp_path / dag_id / "manifest.json").write_text(json.dumps(manifest))
        monkeypatch.setenv("AIRFLOW__BRIDGE__MANIFESTS_FOLDER", str(tmp_path))
        expected = "not found on SageMaker (ResourceNotFound)"
    started = time.monotonic()
    body = client.get("/api/pipelines").json()
    assert time.monotonic() - started < 20
    assert all(not p["executions"] for p in body["pipelines"])
    message = body["aws_error"] or body["pipelines"][0]["executions_error"]
    assert expected in message, message
    assert [p["dag_id"] for p in body["pipelines"]] == DAGS  # the manifests still show
    page = client.get("/")
    assert page.status_code == 200
    assert "could not be read" in page.text and expected in page.text
    arn = endpoint.arns[("ml-classic-operators", "Succeeded")]
    if case != "unknown_pipeline":
        detail = client.get("/api/executions/" + arn)
        assert detail.status_code == 502 and expected in detail.json()["detail"]
        page = client.get("/", params={"execution": arn})
        assert page.status_code == 200 and expected in page.text


def test_broken_files_and_unset_folders(client, monkeypatch, tmp_path, out):
    shutil.copytree(
        out / "ml_classic_operators", tmp_path / "good", ignore=shutil.ignore_patterns("steps")
    )
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "manifest.json").write_text('{"some": "other tool"}')
    monkeypatch.setenv("AIRFLOW__BRIDGE__MANIFESTS_FOLDER", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__BRIDGE__REPORTS_FOLDER", "")
    body = client.get("/api/pipelines?executions=false").json()
    assert [p["dag_id"] for p in body["pipelines"]] == ["ml_classic_operators"]
    assert len(body["problems"]) == 2 and body["reports"] == []
    html = client.get("/").text
    assert (
        "Some files could not be read" in html and "No <code>[bridge] reports_folder</code>" in html
    )
    monkeypatch.setenv("AIRFLOW__BRIDGE__MANIFESTS_FOLDER", "")
    assert "No <code>[bridge] manifests_folder</code> is set" in client.get("/").text


def test_plugin_registers_the_app_and_the_nav_entry():
    from airflow_plugins.plugin import BridgePlugin, MigratedPipelinesApp

    assert BridgePlugin.name == "sagemaker_bridge"
    (app,) = BridgePlugin.fastapi_apps
    assert app["url_prefix"] == "/bridge" and isinstance(app["app"], MigratedPipelinesApp)
    (view,) = BridgePlugin.external_views
    assert view["name"] == "Migrated pipelines" and view["href"] == "/bridge/"
    assert view["destination"] == "nav" and view["url_route"] == "migrated-pipelines"
    assert view["icon"].startswith("data:image/svg+xml;base64,")
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    ExternalViewResponse.model_validate(view)  # the shape Airflow's UI API serves


# --- end to end: a real api-server and a real browser -----------------------------------------------


def _wait_http(url: str, deadline: float, process: subprocess.Popen, log: Path) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"airflow api-server exited {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.3)
    pytest.fail(f"airflow api-server did not answer {url}:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, out, reports, endpoint):
    home = _migrated_home(tmp_path_factory.mktemp("api-home"))
    (home / "dags").mkdir()
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = (
        child_env(str(home))
        | _aws_env(endpoint.url, endpoint.token)
        | {
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__BRIDGE__MANIFESTS_FOLDER": str(out),
            "AIRFLOW__BRIDGE__REPORTS_FOLDER": str(reports),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    log = home / "api-server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                str(AIRFLOW),
                "api-server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_http(f"{base}/api/v2/monitor/health", time.monotonic() + 90, process, log)
        yield {"base": base, "env": env, "home": home, "log": log}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def _get(url: str, **headers: str) -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), dict(error.headers)


@pytest.mark.slow
def test_browser_end_to_end(api_server, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian Chromium at /usr/bin/chromium")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="needs playwright (dev dependency)"
    )
    base = api_server["base"]

    # Without a login: the API refuses, the page sends a browser to Airflow's login page.
    status, body, _ = _get(f"{base}/bridge/api/pipelines")
    assert status == 401 and "ml_classic_operators" not in body
    status, body, headers = _get(f"{base}/bridge/", Accept="text/html")
    assert status == 303 and headers["location"].startswith("/auth/login?next=")
    assert "ml_classic_operators" not in body

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{base}/bridge/")
            page.wait_for_url("**/auth/login**")
            assert page.locator("section.pipeline").count() == 0

            # Log in through Airflow's own login page; it comes back to the plugin page.
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/bridge/")
            assert page.locator("section.pipeline").count() == 2
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

            # In the Airflow UI: the nav entry opens the page inside the UI.
            page.goto(f"{base}/")
            entry = page.get_by_role("link", name="Migrated pipelines")
            entry.wait_for()
            entry.click()
            page.wait_for_url("**/plugin/migrated-pipelines")
            frame = page.frame_locator("iframe")
            classic = frame.locator('section[data-dag-id="ml_classic_operators"]')
            classic.locator("table.executions").wait_for()
            assert classic.locator("tbody tr").count() == 2
            failed_row = classic.locator("tr.failed")

            def state(row, task: str) -> str | None:
                return row.locator(f'.chip[data-task="{task}"]').get_attribute("data-state")

            assert state(failed_row, "package_model") == "failed"
            assert state(failed_row, "train_model") == "success"
            assert state(failed_row, "publish_report") == "not_run"
            assert state(classic.locator("tr.succeeded"), "publish_report") == "success"
            assert "exact" in classic.locator(".badges").inner_text()
            reports = frame.locator("table.reports tbody tr")
            assert reports.count() == 3
            assert reports.first.locator(".verdict").inner_text().lower() in (
                "equivalent",
                "incomplete",
            )
            page.screenshot(path=str(tmp_path / "in-airflow.png"), full_page=False)

            # An execution's row opens that execution with every step.
            failed_row.locator("td a").first.click()
            steps = frame.locator("table.steps")
            steps.wait_for()
            failing = frame.locator('tr[data-step="package_model"]')
            assert failing.locator(".badge").inner_text() == "Failed"
            assert "File name too long" in failing.inner_text()
            assert MARKUP in failing.inner_text()  # shown as text
            assert frame.locator("table.steps tbody tr").count() == 9
            page.screenshot(path=str(tmp_path / "execution.png"), full_page=False)

            # The comparison report opens from the page.
            report = context.new_page()
            report.goto(
                f"{base}/bridge/reports/ml_classic_operators/compare/20261122T090000/compare.html"
            )
            assert report.locator("svg.graph").count() == 2
        finally:
            browser.close()
    if os.environ.get("BRIDGE_UI_SCREENSHOTS"):  # for a person to look at
        shutil.copytree(tmp_path, os.environ["BRIDGE_UI_SCREENSHOTS"], dirs_exist_ok=True)


@pytest.mark.slow
def test_airflow_cli_lists_the_plugin_and_the_provider(api_server):
    env = api_server["env"]
    plugins = subprocess.run(
        [str(AIRFLOW), "plugins", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plugins.returncode == 0, plugins.stderr[-3000:]
    listed = {p["name"]: p for p in json.loads(plugins.stdout[plugins.stdout.index("[") :])}
    ours = listed["sagemaker_bridge"]
    assert "Migrated pipelines" in json.dumps(ours["external_views"])
    assert "/bridge" in json.dumps(ours["fastapi_apps"])
    providers = subprocess.run(
        [str(AIRFLOW), "providers", "list", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert providers.returncode == 0, providers.stderr[-3000:]
    names = {p["package_name"] for p in json.loads(providers.stdout[providers.stdout.index("[") :])}
    assert "airflow-sagemaker-bridge" in names
