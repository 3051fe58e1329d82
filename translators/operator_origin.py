"""Where an operator class with no rule comes from, read without importing anything of the DAG's.

An operator is *known* when its class lives in an Airflow provider package
(`airflow.providers.<name>...`) or in a module of the DAG's own repository: a `.py` file (or a
package's `__init__.py`) under the DAG's folder or one of its parents, up to the folder that
marks the repository's root. Such a task can run as itself inside a step (translators/
operator_step.py); anything else stays a placeholder.

The repository's files are parsed with `ast` to check that the module defines (or imports) the
class; they are never imported. Provider packages are looked up in the installed distributions'
metadata, which gives the pin (`==<installed version>`) and the oldest Python they run on.
"""

from __future__ import annotations

import ast
import functools
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bridge.quoting import is_dotted_name

PROVIDERS = "airflow.providers."
PROVIDER_DIST = "apache-airflow-providers-"
# Provider names of two parts (`common.sql` is `apache-airflow-providers-common-sql`), used when
# the provider is not installed here to read its distribution from.
TWO_PART_PROVIDERS = ("apache", "atlassian", "cncf", "common", "dbt", "microsoft")
# A folder holding one of these is the repository's root: modules are looked for up to there.
ROOT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg", "airflow.cfg")
MAX_PARENTS = 4  # folders above the DAG's, at most, when no marker is found
# Operators whose work is telling Airflow itself what to do, which a job cannot: choosing the
# branch that runs (Branch*), waiting for a person in Airflow's UI (human-in-the-loop).
SCHEDULER_WORK = re.compile(r"Branch|^(HITL|Approval)")


@dataclass(frozen=True)
class Requirement:
    """A distribution the step installs, pinned when it is installed where `translate` runs."""

    name: str
    version: str | None  # None: not installed here, unpinned

    @property
    def text(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


@dataclass(frozen=True)
class RepositoryModule:
    """A module of the DAG's repository: where it is and the folder its import path starts at."""

    module: str  # "operators.greet"
    path: Path  # .../operators/greet.py
    base: Path  # the folder `operators/` is in (the DAG's folder or a parent)

    @property
    def package_folder(self) -> Path | None:
        """The top package folder the import needs (`operators/`), None for a top-level file."""
        top = self.module.split(".")[0]
        folder = self.base / top
        return folder if folder.is_dir() else None


@dataclass(frozen=True)
class Origin:
    """Where an operator class comes from: a provider distribution or a repository module."""

    module: str
    name: str  # the class
    provider: Requirement | None = None
    repository: RepositoryModule | None = None


# Provider packages published outside apache-airflow-providers-*: top-level module →
# distribution. Installed ones are found from their `apache_airflow_provider` entry points too.
THIRD_PARTY_PROVIDERS = {
    "mlflow_provider": "airflow-provider-mlflow",
    "great_expectations_provider": "airflow-provider-great-expectations",
    "fivetran_provider": "airflow-provider-fivetran",
    "fivetran_provider_async": "airflow-provider-fivetran-async",
    "cosmos": "astronomer-cosmos",
    "astronomer": "astronomer-providers",
    "airflow_dbt": "airflow-dbt",
}
# Where a provider keeps its operator classes: a repository's copy of one keeps the same tail.
_OPERATOR_PACKAGES = ("operators", "sensors", "transfers")


def origin(operator: str, dag_path: str | None) -> Origin | None:
    """The operator's origin when it is known, else None."""
    module, _, name = operator.rpartition(".")
    if not module or not _importable(operator) or SCHEDULER_WORK.search(name):
        return None  # the step script writes `from <module> import <name>`: only plain names
    if operator.startswith(PROVIDERS):
        return Origin(module, name, provider=provider_requirement(module))
    third_party = _third_party_providers().get(module.split(".")[0])
    if third_party is not None:
        return Origin(module, name, provider=installed(third_party))
    if module.startswith("airflow.") or module == "airflow" or not dag_path:
        return None
    found = repository_module(module, name, Path(dag_path).resolve().parent)
    return Origin(module, name, repository=found) if found else None


def _importable(dotted: str) -> bool:
    return is_dotted_name(dotted) and not any(keyword.iskeyword(p) for p in dotted.split("."))


def provider_requirement(module: str) -> Requirement:
    """The provider distribution of `airflow.providers.x.y...`, pinned when installed here."""
    installed = _installed_providers()
    parts = module.split(".")[2:]
    for size in (2, 1):
        name = PROVIDER_DIST + "-".join(parts[:size])
        if len(parts) >= size and name in installed:
            return Requirement(name, installed[name])
    size = 2 if parts and parts[0] in TWO_PART_PROVIDERS else 1
    return Requirement(PROVIDER_DIST + "-".join(parts[:size]), None)


@functools.cache
def _third_party_providers() -> dict[str, str]:
    """Top-level module → distribution of the provider packages known outside apache-airflow."""
    found = dict(THIRD_PARTY_PROVIDERS)
    for ep in metadata.entry_points(group="apache_airflow_provider"):
        top = ep.value.split(".")[0].split(":")[0]
        dist = getattr(ep, "dist", None)
        name = (dist.metadata.get("Name") or "") if dist is not None else ""
        if top and top != "airflow" and name:
            found.setdefault(top, name.lower())
    return found


def provider_twin(operator: str, known: Iterable[str]) -> str | None:
    """The provider operator a class of the DAG's repository copies, by its module and class
    names: `custom_libraries.Lambda.operators.lambda_function.AwsLambdaInvokeFunctionOperator`
    ends like the Amazon provider's `operators.lambda_function.AwsLambdaInvokeFunctionOperator`
    (today `LambdaInvokeFunctionOperator`); MWAA's samples carry such back-ports. `known` are
    the canonical operator names that have a rule."""
    from bridge.parse.names import canonical

    parts = operator.split(".")
    starts = [i for i, part in enumerate(parts[:-2]) if part in _OPERATOR_PACKAGES]
    if not starts or parts[0] == "airflow":
        return None
    tail = ".".join(parts[starts[-1] :])
    known = frozenset(known)
    for provider in sorted(_provider_prefixes(known)):
        candidate = canonical(f"{provider}.{tail}")
        if candidate in known:
            return candidate
    return None


@functools.cache
def _provider_prefixes(known: frozenset[str]) -> frozenset[str]:
    """`airflow.providers.amazon.aws` for each provider operator a rule names."""
    prefixes = set()
    for name in known:
        if not name.startswith(PROVIDERS):
            continue
        parts = name.split(".")
        for i, part in enumerate(parts):
            if part in _OPERATOR_PACKAGES:
                prefixes.add(".".join(parts[:i]))
                break
    return frozenset(prefixes)


@functools.cache
def _installed_providers() -> dict[str, str]:
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").lower().replace("_", "-")
        if name.startswith(PROVIDER_DIST):
            found[name] = dist.version
    return found


def installed(name: str) -> Requirement:
    """A distribution pinned to the version installed here, unpinned if it is not installed."""
    try:
        return Requirement(name, metadata.version(name))
    except metadata.PackageNotFoundError:
        return Requirement(name, None)


def oldest_python(requirements: list[Requirement]) -> tuple[int, int] | None:
    """The oldest Python 3 minor version every installed requirement declares it runs on."""
    floors = []
    for requirement in requirements:
        if requirement.version is None:
            continue
        try:
            text = metadata.metadata(requirement.name).get("Requires-Python") or ""
        except metadata.PackageNotFoundError:
            continue
        floors += [(3, int(m)) for m in re.findall(r">=\s*3\.(\d+)", text)]
    return max(floors) if floors else None


# --- the DAG's repository -------------------------------------------------------------------


def repository_module(module: str, name: str, dag_folder: Path) -> RepositoryModule | None:
    """The repository file defining `module` (which defines or imports `name`), searched from
    the DAG's folder up to the repository's root."""
    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    for base in search_folders(dag_folder):
        for path in (
            base.joinpath(*parts).with_suffix(".py"),
            base.joinpath(*parts, "__init__.py"),
        ):
            if path.is_file() and not _through_link(base, path) and defines(path, name):
                return RepositoryModule(module, path, base)
    return None


def search_folders(dag_folder: Path) -> list[Path]:
    """The DAG's folder and its parents up to the first one with a root marker."""
    folders = [dag_folder]
    for parent in dag_folder.parents:
        if any((folders[-1] / m).exists() for m in ROOT_MARKERS) or len(folders) > MAX_PARENTS:
            break
        folders.append(parent)
    return folders


def _through_link(base: Path, path: Path) -> bool:
    """A symbolic link on the way could point anywhere on this machine: not the repository's."""
    current = path
    while current != base:
        if current.is_symlink():
            return True
        current = current.parent
    return False


def defines(path: Path, name: str) -> bool:
    """Whether the module's text defines class `name` at top level or imports that name."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.ImportFrom) and any(
            (a.asname or a.name) == name for a in node.names
        ):
            return True
    return False


def module_source(found: RepositoryModule) -> str:
    try:
        return found.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def imported_providers(source: str) -> list[str]:
    """Provider modules a repository module imports (their distributions join the step's)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PROVIDERS):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PROVIDERS)}
    return sorted(found)
