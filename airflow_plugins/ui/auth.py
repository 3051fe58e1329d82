"""Who may see the Migrated pipelines page: Airflow's own authentication and authorization.

Airflow 3 mounts a plugin's FastAPI app with `app.mount()`: the core API's router-level auth
dependencies do not reach it and no middleware authenticates it, so without this module every
route here would be public. We use Airflow's dependencies, as the core API does:

- `requires_access_view(AccessView.PLUGINS)` on the whole app: it resolves the user with
  `airflow.api_fastapi.core_api.security.get_user` (a `Authorization: Bearer <JWT>` header, or
  the UI's `_token` cookie, which the Airflow UI sends with the page it frames) and asks the
  configured auth manager whether that user may see plugin views. It is the permission the UI
  itself needs to list plugins, so whoever sees the nav entry may open the page. No token or an
  expired one: 401; an invalid token or no permission: 403.
- `dag_reader(user)`: each pipeline, execution and report belongs to a DAG, and is shown only
  when the auth manager lets the user read that DAG's runs (`is_authorized_dag`), as the Airflow
  UI does for DAG runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import (
    AccessView,
    DagAccessEntity,
    DagDetails,
)
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from fastapi import Depends

__all__ = ["GetUserDep", "PAGE_ACCESS", "dag_reader", "login_url"]

PAGE_ACCESS = Depends(requires_access_view(AccessView.PLUGINS))


def dag_reader(user: Any) -> Callable[[str], bool]:
    """dag_id -> may this user read the DAG's runs. Answers are kept for one request."""
    manager = get_auth_manager()
    seen: dict[str, bool] = {}

    def may_read(dag_id: str) -> bool:
        if dag_id not in seen:
            seen[dag_id] = bool(
                manager.is_authorized_dag(
                    method="GET",
                    access_entity=DagAccessEntity.RUN,
                    details=DagDetails(id=dag_id),
                    user=user,
                )
            )
        return seen[dag_id]

    return may_read


def login_url(next_url: str) -> str:
    """The auth manager's login page, coming back to `next_url` afterwards."""
    return get_auth_manager().get_url_login(next_url=next_url)
