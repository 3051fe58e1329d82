"""BridgePlugin: the "Migrated pipelines" page in the Airflow 3 UI.

Registered through the `airflow.plugins` entry point (`sagemaker_bridge`). It adds
- a FastAPI app at /bridge (airflow_plugins/ui): the page, its JSON API and the comparison
  reports, behind Airflow's own login (airflow_plugins/ui/auth.py);
- a top-level nav entry, "Migrated pipelines", that shows the page inside the Airflow UI.

Every Airflow process loads every plugin (scheduler, workers, `airflow plugins`), and only the
API server serves the page: the app is built on its first request, so the others never import
FastAPI routes, jinja templates or the API server's auth code for it.
"""

from __future__ import annotations

from base64 import b64encode
from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/bridge"
NAV_NAME = "Migrated pipelines"


def _icon(colour: str) -> str:
    """A small pipeline glyph (three stages, joined), as a data URI: no route to serve it."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
        f'stroke="{colour}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
        '<rect x="2" y="9" width="6" height="6" rx="1.5"/><rect x="16" y="3" width="6" height="6" '
        'rx="1.5"/><rect x="16" y="15" width="6" height="6" rx="1.5"/>'
        '<path d="M8 12h3.5a1.5 1.5 0 0 0 1.5-1.5V7.5A1.5 1.5 0 0 1 14.5 6H16"/>'
        '<path d="M11.5 12a1.5 1.5 0 0 1 1.5 1.5v3a1.5 1.5 0 0 0 1.5 1.5H16"/></svg>'
    )
    return "data:image/svg+xml;base64," + b64encode(svg.encode()).decode()


def page_href() -> str:
    """The page's path under the API server's `[api] base_url` (which may carry a path)."""
    base = conf.get("api", "base_url", fallback="") or ""
    return urlsplit(base).path.rstrip("/") + URL_PREFIX + "/"


class MigratedPipelinesApp:
    """ASGI app that builds the real FastAPI app (airflow_plugins.ui.app) on first use."""

    def __init__(self) -> None:
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:  # no await between test and set: one event loop, no race
            from airflow_plugins.ui.app import create_app

            self._app = create_app()
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class BridgePlugin(AirflowPlugin):
    name = "sagemaker_bridge"
    fastapi_apps = [{"app": MigratedPipelinesApp(), "url_prefix": URL_PREFIX, "name": NAV_NAME}]
    external_views = [
        {
            "name": NAV_NAME,
            "href": page_href(),
            "destination": "nav",  # the main navigation; no category: a top-level entry
            "url_route": "migrated-pipelines",  # shown inside the UI at /plugin/migrated-pipelines
            "icon": _icon("#5f6b7a"),
            "icon_dark_mode": _icon("#c9d1d9"),
        }
    ]
