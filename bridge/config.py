"""Translation settings: `[tool.bridge]` in pyproject.toml or a `bridge.toml`, with defaults that
work with no file at all.

Everything a team tunes per account or per task lives here: region, role, bucket, instance type,
images, network, tags and per-task overrides (instance type, image). The emitted
`pipeline.py` carries these values as defaults that its `get_pipeline(...)` arguments can replace.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# The SageMaker scikit-learn image runs plain Python scripts with pandas/numpy/scikit-learn.
# `images.python` runs every script step (Python and bash tasks).
DEFAULT_IMAGES = {"python": {"framework": "sklearn", "version": "1.2-1"}}


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
class BridgeConfig:
    region: str = "us-east-1"
    role: str = ""  # empty: the emitted code reads SAGEMAKER_ROLE_ARN or uses get_execution_role()
    bucket: str = ""  # empty: the session's default bucket
    instance_type: str = "ml.m5.large"
    images: dict[str, dict[str, str]] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    lambda_role: str = ""  # execution role of Lambda functions the pipeline creates
    network: NetworkConfig = field(default_factory=NetworkConfig)
    tags: dict[str, str] = field(default_factory=dict)  # cost tags on every job-creating step
    tasks: dict[str, TaskOverride] = field(default_factory=dict)
    source: str = ""  # the file it came from, for messages

    def override_for(self, task_id: str) -> TaskOverride:
        return self.tasks.get(task_id, TaskOverride())

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
        if "tasks" in values:
            values["tasks"] = {k: TaskOverride(**v) for k, v in values["tasks"].items()}
        if "images" in values:
            values["images"] = {**DEFAULT_IMAGES, **values["images"]}
        return BridgeConfig(**values, source=source)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
