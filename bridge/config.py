"""Translation settings: `[tool.bridge]` in pyproject.toml or a `bridge.toml`, with defaults that
work with no file at all.

Everything a team tunes per account or per task lives here: region, role, bucket, instance type,
images, network, tags and per-task overrides (instance type, image). The emitted
`pipeline.py` carries these values as defaults that its `get_pipeline(...)` arguments can replace.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# The SageMaker scikit-learn image runs plain Python scripts with pandas/numpy/scikit-learn.
# `images.python` runs every script step (Python and bash tasks) whose script its Python runs;
# unless the user pinned it, a script that needs a newer Python gets a newer image
# (bridge.emit.images). Optional key `python` ("3.11"): the Python of an image the bridge does
# not know.
DEFAULT_IMAGES = {"python": {"framework": "sklearn", "version": "1.2-1"}}
_IMAGE_KEYS = {"framework", "version", "python"}


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass
class TaskOverride:
    """Per-task settings for the steps that run a script (Python, bash)."""

    instance_type: str | None = None
    image_uri: str | None = None


@dataclass
class NetworkConfig:
    subnets: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)
    enable_network_isolation: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.subnets or self.security_group_ids or self.enable_network_isolation)


@dataclass
class SecretsConfig:
    """Where a step finds the Airflow Variables and connections its code reads at run time: a
    secret named like Airflow's SecretsManagerBackend (`<prefix>/<key>`) in AWS Secrets Manager,
    else SSM Parameter Store (`/<prefix>/<key>`). The pipeline carries the names, never values."""

    variables_prefix: str = "airflow/variables"
    connections_prefix: str = "airflow/connections"

    def variable_name(self, key: str) -> str:
        return f"{self.variables_prefix.strip('/')}/{key}"

    def connection_name(self, conn_id: str) -> str:
        return f"{self.connections_prefix.strip('/')}/{conn_id}"


@dataclass
class BridgeConfig:
    region: str = "us-east-1"
    role: str = ""  # empty: the emitted code reads SAGEMAKER_ROLE_ARN or uses get_execution_role()
    bucket: str = ""  # empty: the session's default bucket
    instance_type: str = "ml.m5.large"
    images: dict[str, dict[str, str]] = field(default_factory=dict)  # as configured (pinned)
    lambda_role: str = ""  # execution role of Lambda functions the pipeline creates
    scheduler_role: str = ""  # the role EventBridge Scheduler assumes to start the pipeline
    cache_expire_after: str = ""  # ISO 8601 duration (P30D): step caching on; "": off
    network: NetworkConfig = field(default_factory=NetworkConfig)
    tags: dict[str, str] = field(default_factory=dict)  # cost tags on every job-creating step
    tasks: dict[str, TaskOverride] = field(default_factory=dict)
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    source: str = ""  # the file it came from, for messages

    def override_for(self, task_id: str) -> TaskOverride:
        return self.tasks.get(task_id, TaskOverride())

    @property
    def script_image(self) -> dict[str, str]:
        """The image that runs script steps: the configured one, else the default."""
        return self.images.get("python") or DEFAULT_IMAGES["python"]

    @property
    def script_image_pinned(self) -> bool:
        """Whether the user chose it: then no script step silently moves to another image."""
        return "python" in self.images

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def load_config(path: Path | None = None, start: Path | None = None) -> BridgeConfig:
    """The given file, else the nearest bridge.toml / pyproject.toml with [tool.bridge] upwards
    from `start`, else defaults."""
    if path is None:
        path = _find(start or Path.cwd())
        if path is None:
            return BridgeConfig()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if Path(path).name == "pyproject.toml" or "tool" in data:
        data = data.get("tool", {}).get("bridge", {})
    return _build(data, str(path))


def _find(start: Path) -> Path | None:
    for folder in [start.resolve(), *start.resolve().parents]:
        if (folder / "bridge.toml").is_file():
            return folder / "bridge.toml"
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.bridge" in pyproject.read_text(encoding="utf-8"):
            return pyproject
    return None


def _build(data: dict[str, Any], source: str) -> BridgeConfig:
    known = {f.name for f in fields(BridgeConfig)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; known: {sorted(known)}")
    values = dict(data)
    try:
        if "network" in values:
            values["network"] = NetworkConfig(**values["network"])
        if "secrets" in values:
            values["secrets"] = SecretsConfig(**values["secrets"])
        if "tasks" in values:
            values["tasks"] = {k: TaskOverride(**v) for k, v in values["tasks"].items()}
        if "images" in values:
            _check_images(values["images"], source)
        _check_duration(values.get("cache_expire_after", ""), source)
        return BridgeConfig(**values, source=source)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _check_duration(text: Any, source: str) -> None:
    """cache_expire_after: an ISO 8601 duration as SageMaker's CacheConfig takes it."""
    if text == "":
        return
    pattern = r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?"
    if not isinstance(text, str) or not re.fullmatch(pattern, text):
        raise ConfigError(
            f'{source}: cache_expire_after: give an ISO 8601 duration such as "P30D" or '
            f'"PT12H", or "" for no step caching (got {text!r})'
        )


def _check_images(images: Any, source: str) -> None:
    """`images = { python = { framework = "sklearn", version = "1.4-2" } }`, nothing else."""
    if not isinstance(images, dict) or set(images) - {"python"}:
        raise ConfigError(f"{source}: images: only `python` can be set (the script steps' image)")
    image = images.get("python")
    if (
        not isinstance(image, dict)
        or set(image) - _IMAGE_KEYS
        or not all(isinstance(image.get(k), str) and image.get(k) for k in ("framework", "version"))
        or not re.fullmatch(r"3\.\d{1,2}", str(image.get("python", "3.0")))
    ):
        raise ConfigError(
            f"{source}: images.python: give framework and version as strings "
            '(and optionally python = "3.11"), e.g. { framework = "sklearn", version = "1.4-2" }'
        )
