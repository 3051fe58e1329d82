"""The FastAPI app behind "Migrated pipelines", mounted by BridgePlugin at /bridge.

    GET /                      the page: pipelines, their recent executions, comparison reports
    GET /?execution=<arn>      one execution with every step (the operator's extra link)
    GET /api/pipelines         the same content as JSON (?executions=false: no AWS calls)
    GET /api/executions/<arn>  one execution as JSON
    GET /reports/<path>        a compare.html / compare.json inside [bridge] reports_folder

Server-rendered (jinja2, autoescaped), no scripts. Every route needs an Airflow login (see
auth.py); a browser that has none is sent to the auth manager's login page. Reading files and
calling AWS happen in plain `def` routes, which FastAPI runs on its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from botocore.config import Config
from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_plugins.ui import data
from airflow_plugins.ui.auth import PAGE_ACCESS, GetUserDep, dag_reader, login_url
from airflow_plugins.ui.data import Settings

HookFactory = Callable[[Settings], Any]
# A page must answer in seconds even when the endpoint is down: few retries, short timeouts
# (the hook's own default, 8 attempts, suits an operator waiting on a pipeline, not a page).
PAGE_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=20
)
_MEDIA = {"compare.html": "text/html; charset=utf-8", "compare.json": "application/json"}
_NOT_SIGNED_IN = ("Not authenticated", "Token Expired", "Invalid JWT token")

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def default_hook(settings: Settings) -> Any:
    from airflow_plugins.hooks import MigratedPipelineHook

    return MigratedPipelineHook(aws_conn_id=settings.aws_conn_id, config=PAGE_CLIENT_CONFIG)


def create_app(
    *,
    hook_factory: HookFactory = default_hook,
    settings: Callable[[], Settings] = Settings.from_conf,
) -> FastAPI:
    app = FastAPI(
        title="Migrated pipelines",
        docs_url=None,  # no anonymous OpenAPI pages: every route of this app needs a login
        redoc_url=None,
        openapi_url=None,
        dependencies=[PAGE_ACCESS],
    )
    app.add_exception_handler(StarletteHTTPException, _refused)

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, user: GetUserDep, execution: str | None = None) -> HTMLResponse:
        base = _base(request)
        may_read = dag_reader(user)
        if execution:
            context = _execution_view(settings(), hook_factory, execution, may_read)
            return _render("execution.html", base=base, **context)
        context = _overview(settings(), hook_factory, may_read, with_executions=True)
        return _render("pipelines.html", base=base, **context)

    @app.get("/api/pipelines")
    def api_pipelines(user: GetUserDep, executions: bool = True) -> JSONResponse:
        context = _overview(settings(), hook_factory, dag_reader(user), with_executions=executions)
        return JSONResponse(data.jsonable(context))

    @app.get("/api/executions/{arn:path}")
    def api_execution(arn: str, user: GetUserDep) -> JSONResponse:
        context = _execution_view(settings(), hook_factory, arn, dag_reader(user))
        if context["error"]:
            raise HTTPException(context["status"], context["error"])
        return JSONResponse(data.jsonable(context))

    @app.get("/reports/{relative:path}")
    def report(relative: str, user: GetUserDep) -> FileResponse:
        path = data.report_file(settings().reports_folder, relative)
        dag_id = data.report_dag(path) if path else ""
        if path is None or not dag_id or not dag_reader(user)(dag_id):
            raise HTTPException(404, "No such report")
        return FileResponse(
            path,
            media_type=_MEDIA[path.name],
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )

    return app


# --- what each view shows ---------------------------------------------------------------------


def _overview(
    settings: Settings, hook_factory: HookFactory, may_read: data.MayRead, *, with_executions: bool
) -> dict[str, Any]:
    pipelines, problems = data.load_pipelines(settings.manifests_folder, may_read)
    reports, report_problems = data.load_reports(settings.reports_folder, may_read)
    data.attach_reports(pipelines, reports)
    aws_error, endpoint = "", ""
    if with_executions and pipelines:
        try:
            hook = hook_factory(settings)
            endpoint = getattr(hook, "endpoint_url", None) or ""
            data.load_executions(hook, pipelines, settings.executions_per_pipeline)
        except Exception as exc:  # the connection itself: no such conn, no region, ...
            aws_error = data.aws_error(exc)
    errors = {p.executions_error for p in pipelines}
    if not aws_error and len(pipelines) > 1 and len(errors) == 1 and "" not in errors:
        aws_error = errors.pop()  # every pipeline failed alike: say it once, at the top
    return {
        "settings": settings,
        "endpoint": endpoint,
        "with_executions": with_executions,
        "pipelines": pipelines,
        "reports": reports,
        "problems": problems + report_problems,
        "aws_error": aws_error,
    }


def _execution_view(
    settings: Settings, hook_factory: HookFactory, arn: str, may_read: data.MayRead
) -> dict[str, Any]:
    """Only executions of pipelines this Airflow knows (a manifest the user may read): the page
    must not become a window onto any pipeline the connection's credentials can see."""
    pipelines, _ = data.load_pipelines(settings.manifests_folder, may_read)
    name = data.pipeline_of_arn(arn)
    pipeline = data.find_pipeline(pipelines, name) if name else None
    context: dict[str, Any] = {
        "arn": arn,
        "pipeline": pipeline,
        "execution": None,
        "error": "",
        "status": 200,
    }
    if not name:
        return context | {"error": "not a SageMaker pipeline execution ARN", "status": 404}
    if pipeline is None:
        return context | {
            "error": f"pipeline {name!r} is not a migrated pipeline known to this Airflow "
            "(no manifest.json for it under [bridge] manifests_folder that you may read)",
            "status": 404,
        }
    try:
        context["execution"] = data.load_execution(hook_factory(settings), arn, pipeline)
    except Exception as exc:
        message = data.aws_error(exc)
        context |= {"error": message, "status": 404 if message.startswith("not found") else 502}
    return context


# --- rendering ----------------------------------------------------------------------------------


def _base(request: Request) -> str:
    """Where this app is mounted (e.g. /bridge), so links work under any [api] base_url."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _stamp(moment: datetime | None) -> str:
    """UTC, as the table headers say (botocore may hand back local-time datetimes)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _when(moment: datetime | None) -> str:
    return f"{_stamp(moment)} UTC" if moment else "—"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _status_class(word: str) -> str:
    word = (word or "").lower()
    if word in ("succeeded", "success", "equivalent", "agree"):
        return "good"
    if word in ("failed", "stopped", "different", "differ"):
        return "bad"
    if word in ("executing", "starting", "stopping", "running"):
        return "running"
    if word == "incomplete":
        return "warn"
    return "neutral"


_templates.filters.update(
    when=_when,
    stamp=_stamp,
    duration=_duration,
    status_class=_status_class,
    quote=lambda text: quote(str(text), safe=""),
    path_quote=lambda text: quote(str(text), safe="/"),
)


def _render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


async def _refused(request: Request, exc: StarletteHTTPException):
    """A browser without a login goes to the login page (and comes back); one whose login
    does not allow this page gets a page saying so. API callers get the plain JSON error."""
    html = "text/html" in request.headers.get("accept", "") and "/api/" not in request.url.path
    if html and exc.status_code in (401, 403) and exc.detail in _NOT_SIGNED_IN:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(login_url(back), status_code=303)
    if html and exc.status_code == 403:
        return _render("refused.html", status_code=403, base=_base(request))
    return await http_exception_handler(request, exc)
