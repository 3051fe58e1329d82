"""The isolated AIRFLOW_HOME a child process runs DAGs in, and its cached database.

The child gets an environment (`child_env`) with no Airflow config from the parent: SQLite, no
examples, its own dags folder. `airflow db migrate` is slow, so a migrated database is cached
once per Airflow version under the user cache dir (`cache_dir`) and copied into each new home
(`prepare_home`); only when there is no usable cache does the child migrate (`migrate`) and
snapshot the result into the cache. Nothing here imports Airflow at module level; `migrate`
does, and runs only in the child.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "DB_FILE",
    "DB_VERSION_FILE",
    "airflow_version",
    "cache_dir",
    "child_env",
    "is_migrated",
    "migrate",
    "prepare_home",
    "snapshot_db",
]

DB_FILE = "airflow.db"
DB_VERSION_FILE = "airflow-db.version"  # which Airflow version made the home's database


def child_env(home: str) -> dict[str, str]:
    """The parent's environment minus its Airflow config, plus an isolated home.

    Connections and variables given as AIRFLOW_CONN_* / AIRFLOW_VAR_* stay: the DAGs may need
    them. Everything that could point Airflow at another database or dags folder goes.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("AIRFLOW__") or k in ("AIRFLOW_HOME", "AIRFLOW_CONFIG"))
    }
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.update(
        AIRFLOW_HOME=home,
        AIRFLOW_CONFIG=str(Path(home) / "airflow.cfg"),
        AIRFLOW__CORE__DAGS_FOLDER=str(Path(home) / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{Path(home) / DB_FILE}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(Path(home) / "logs"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",  # task logs must keep "Task failed" + traceback
    )
    return env


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bridge"


def airflow_version() -> str:
    """The installed Airflow's version, read from package metadata (no Airflow import)."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("apache-airflow-core", "apache-airflow"):
        with contextlib.suppress(PackageNotFoundError):
            return version(dist)
    return "unknown"


def is_migrated(db: Path) -> bool:
    """A SQLite file that alembic has stamped, i.e. a complete `airflow db migrate`."""
    if not db.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return bool(conn.execute("SELECT version_num FROM alembic_version").fetchall())
    except sqlite3.Error:
        return False


def snapshot_db(src: Path, dest: Path) -> None:
    """Copy a (possibly WAL-mode, open) SQLite database consistently, then move it in atomically.

    Two processes may build the cache at once: each writes its own temp file and the last
    rename wins; both files are complete, and a reader never sees a half-written one.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with (
            contextlib.closing(sqlite3.connect(str(src))) as source,
            contextlib.closing(sqlite3.connect(tmp)) as target,
        ):
            source.backup(target)
            # The copy inherits WAL mode; in rollback mode a read-only open creates no
            # -wal/-shm files beside the cache, which would go stale when it is replaced.
            target.execute("PRAGMA journal_mode=DELETE")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_home(home: Path, timings: dict[str, Any]) -> bool:
    """Put a migrated database into the home before Airflow is imported.

    Returns True when the caller must still run the migration (no usable cache).
    """
    version = airflow_version()
    db = home / DB_FILE
    marker = home / DB_VERSION_FILE
    if is_migrated(db) and marker.is_file() and marker.read_text().strip() == version:
        timings["db"] = "existing"
        return False
    cached = cache_dir() / f"airflow-{version}.db"
    if is_migrated(cached):
        t0 = time.perf_counter()
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(cached, db)
        marker.write_text(version + "\n")
        timings["db"] = "cache"
        timings["db_copy_s"] = round(time.perf_counter() - t0, 3)
        return False
    # Migrate from nothing, so the copy that goes into the cache holds no earlier runs.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return True


def migrate(home: Path, timings: dict[str, Any]) -> None:
    from airflow import settings
    from airflow.utils import db as airflow_db

    version = airflow_version()
    t0 = time.perf_counter()
    airflow_db.upgradedb()
    settings.engine.dispose()
    timings["db"] = "migrate"
    timings["db_migrate_s"] = round(time.perf_counter() - t0, 3)
    (home / DB_VERSION_FILE).write_text(version + "\n")
    try:
        snapshot_db(home / DB_FILE, cache_dir() / f"airflow-{version}.db")
    except (OSError, sqlite3.Error) as exc:  # no writable cache: fine, just slower next time
        timings["db_cache_error"] = str(exc)
