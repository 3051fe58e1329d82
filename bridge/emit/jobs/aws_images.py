"""AWS's own SageMaker images, recognised by URI, so that a job follows the session's region.

An operator config names an image for one region: ``683313688378.dkr.ecr.us-east-1.amazonaws.com/
sagemaker-xgboost:1.7-1`` is the XGBoost 1.7-1 image of us-east-1; eu-west-1 has the same image
under another account. `framework_image` finds the framework and version that
``sagemaker.core.image_uris.retrieve(framework, region, version)`` turns into exactly that URI,
so the pipeline can ask for the same image in whatever region it is built in.

The facts come from the SDK's own tables (``sagemaker/core/image_uri_config/*.json``: per
framework and version, the repository and the account of each region), read as data: the SDK is
not imported. Only images `retrieve` builds from a framework and version alone are recognised
(XGBoost, scikit-learn, the built-in algorithms...); a deep learning container, whose URI also
depends on the instance type and Python version, stays as the DAG wrote it. So does an image in
any account the tables do not give for that repository and region (the user's own ECR).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>
_ECR_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.amazonaws\.com(?:\.cn)?/(?P<repository>[a-z0-9][a-z0-9._/-]*):(?P<tag>[A-Za-z0-9._-]+)"
)
# xgboost and sklearn keep one table per scope; retrieve() reads "training" when no scope is given.
_SCOPED_DEFAULT = {"xgboost": "training", "sklearn": "training"}


@dataclass(frozen=True)
class EcrImage:
    """An image URI in an Amazon ECR registry, split into its parts."""

    uri: str
    account: str
    region: str
    repository: str
    tag: str


@dataclass(frozen=True)
class FrameworkImage:
    """An AWS SageMaker image: ``retrieve(framework, region, version)`` in ``region`` is ``uri``."""

    framework: str
    version: str
    uri: str
    region: str

    @property
    def label(self) -> str:
        return f"{self.framework} {self.version}"


def ecr_image(uri: Any) -> EcrImage | None:
    """The parts of an ECR image URI; None for anything else (another registry, a digest)."""
    match = _ECR_URI.fullmatch(uri) if isinstance(uri, str) else None
    return EcrImage(uri, **match.groupdict()) if match else None


def framework_image(uri: Any) -> FrameworkImage | None:
    """The framework and version whose image in the URI's region is exactly this URI; None when
    the URI is not such an image or the SageMaker SDK's tables are not installed."""
    image = ecr_image(uri)
    if image is None:
        return None
    for framework, version, config in _simple_images(image.repository):
        if config["registries"].get(image.region) == image.account and image.tag == _tag(
            version, config
        ):
            return FrameworkImage(framework, version, image.uri, image.region)
    return None


def _tag(version: str, config: dict) -> str | None:
    """The tag retrieve() gives this version without an instance type or Python version, for the
    two simple layouts: the version itself (XGBoost 1.7-1, the built-in algorithms' "1"), or
    `<version>-cpu-py3` (scikit-learn, older XGBoost); None for any other layout."""
    extra = set(config) - {"registries", "repository", "processors", "py_versions"}
    if extra or not version:  # tag prefixes, container versions...: tags built their own way
        return None
    layout = (tuple(config.get("processors") or ()), tuple(config.get("py_versions") or ()))
    if layout == ((), ()):
        return version
    if layout == (("cpu",), ("py3",)):
        return f"{version}-cpu-py3"
    return None


def _simple_images(repository: str) -> list[tuple[str, str, dict]]:
    """(framework, version, version table) of every image in `repository` that retrieve()
    builds from a framework and version alone."""
    return _index().get(repository, [])


@functools.cache
def _index() -> dict[str, list[tuple[str, str, dict]]]:
    found: dict[str, list[tuple[str, str, dict]]] = {}
    folder = _config_folder()
    for path in sorted(folder.glob("*.json")) if folder else []:
        framework = path.stem
        try:
            section = _section(framework, json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if framework == "spark" or section.get("processors"):
            continue  # tags that also depend on the Python version or the instance type
        for version, config in (section.get("versions") or {}).items():
            if not isinstance(config, dict) or not isinstance(config.get("registries"), dict):
                continue  # e.g. one table per Python version (deep learning containers)
            if isinstance(config.get("repository"), str):
                found.setdefault(config["repository"], []).append((framework, version, config))
    return found


def _section(framework: str, table: Any) -> dict:
    """The table retrieve() reads for this framework when given no scope or instance type ({}
    when it needs a scope to choose)."""
    if not isinstance(table, dict):
        return {}
    if "scope" in table:  # one table for the scopes it lists
        scopes = table["scope"]
        return table if len(scopes) == 1 or set(scopes) == {"training", "inference"} else {}
    scope = _SCOPED_DEFAULT.get(framework) or (next(iter(table)) if len(table) == 1 else None)
    section = table.get(scope) if scope else None
    return section if isinstance(section, dict) else {}


def _config_folder() -> Path | None:
    """sagemaker/core/image_uri_config of the installed SDK, found without importing it."""
    try:
        spec = importlib.util.find_spec("sagemaker")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "core" / "image_uri_config"
        if folder.is_dir():
            return folder
    return None
