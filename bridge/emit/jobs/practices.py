"""What every SageMaker operator step gets from the configuration on top of the DAG's request:
the configured role, AWS images for the session's region, the configured network and cost tags.

`apply_practices` rewrites the request an operator sends (`request_view`) into the one the
pipeline sends. `job_code` renders that request and `compare_arguments` checks a definition
against it, so each change is deliberate in both, and nothing else may differ. The choices:

- Role: with ``role`` configured, every job runs with the pipeline's role (`role` of
  get_pipeline): the DAG's literal role is replaced and named in a comment. Without it the DAG's
  role stays. Endpoint configs keep their own ``ExecutionRoleArn`` (inference components only).
- Images: an AWS SageMaker image (`aws_images.framework_image`) becomes
  ``framework_image(framework, version, session.boto_region_name or REGION)`` (pipeline_support),
  the same image in the region the pipeline is built in. Other images stay as written.
- Network: the configured subnets and security groups replace the DAG's (each list only when
  configured; a VPC needs both), and the configured isolation can only switch isolation on.
  Processing, training, tuning (no isolation: the tuner has no parameter for it) and models;
  transform jobs and endpoints run in their model's network.
- Tags: the DAG's own tags, then ``airflow:dag_id``, ``airflow:task_id`` and the configured tags
  whose keys the DAG does not set (SageMaker refuses a key twice), at most 50. Every job but
  model registration (ModelBuilder.register() takes no tags).

These follow the user's configuration, so they are notes on the task, never differences: they
do not make the step do less than the Airflow task did.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge import quoting
from bridge.emit.jobs.aws_images import FrameworkImage, ecr_image, framework_image

if TYPE_CHECKING:
    from bridge.config import BridgeConfig

MAX_TAGS = 50  # per SageMaker resource

# Where each job's request names its role, its image(s) and its network ("*": every item).
_ROLE_FIELDS = {
    "processing": ("RoleArn",),
    "training": ("RoleArn",),
    "tuning": ("TrainingJobDefinition", "RoleArn"),
    "model": ("ExecutionRoleArn",),
}
_IMAGE_FIELDS = {
    "processing": [("AppSpecification", "ImageUri")],
    "training": [("AlgorithmSpecification", "TrainingImage")],
    "tuning": [("TrainingJobDefinition", "AlgorithmSpecification", "TrainingImage")],
    "model": [("PrimaryContainer", "Image"), ("Containers", "*", "Image")],
    "register_model": [("InferenceSpecification", "Containers", "*", "Image")],
}
# The dict holding VpcConfig (and EnableNetworkIsolation, unless None: no parameter for it).
_NETWORK_FIELDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "processing": (("NetworkConfig",), True),
    "training": ((), True),
    "tuning": (("TrainingJobDefinition",), False),
    "model": ((), True),
}
_TAGGED = {"processing", "training", "tuning", "transform", "model", "endpoint_config", "endpoint"}


@dataclass(frozen=True)
class Network:
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    enable_network_isolation: bool = False


@dataclass(frozen=True)
class JobPractices:
    """What the configuration adds to one job step. The default adds nothing."""

    role: bool = False
    """Replace the DAG's role with the pipeline's (`role` of get_pipeline)."""
    regional_images: bool = False
    """AWS SageMaker images follow the session's region."""
    region: str = ""
    """The configured region, to name images of another region in notes."""
    network: Network | None = None
    tags: tuple[tuple[str, str], ...] = ()
    """(key, value) pairs added to the DAG's tags, in order."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON form for manifest.json (`from_dict` reads it back for the round trip)."""
        net = self.network
        return {
            "role": self.role,
            "regional_images": self.regional_images,
            "region": self.region,
            "network": None
            if net is None
            else {
                "subnets": list(net.subnets),
                "security_group_ids": list(net.security_group_ids),
                "enable_network_isolation": net.enable_network_isolation,
            },
            "tags": [{"Key": k, "Value": v} for k, v in self.tags],
        }

    @classmethod
    def from_dict(cls, data: Any) -> JobPractices:
        if not isinstance(data, dict):
            return cls()
        net = data.get("network")
        return cls(
            role=bool(data.get("role")),
            regional_images=bool(data.get("regional_images")),
            region=str(data.get("region") or ""),
            network=None
            if not isinstance(net, dict)
            else Network(
                tuple(net.get("subnets") or ()),
                tuple(net.get("security_group_ids") or ()),
                bool(net.get("enable_network_isolation")),
            ),
            tags=tuple((t["Key"], t["Value"]) for t in data.get("tags") or []),
        )


def job_practices(config: BridgeConfig, dag_id: str, task_id: str) -> JobPractices:
    """The practices for the steps of one task under a configuration."""
    net = config.network
    tags = [("airflow:dag_id", dag_id), ("airflow:task_id", task_id)]
    tags += [(k, v) for k, v in sorted(config.tags.items()) if k not in dict(tags)]
    return JobPractices(
        role=bool(config.role),
        regional_images=True,
        region=config.region,
        network=Network(
            tuple(net.subnets), tuple(net.security_group_ids), net.enable_network_isolation
        )
        if net.configured
        else None,
        tags=tuple(tags),
    )


# --------------------------------------------------------------------------------------------
# Values pipeline.py computes


class Computed:
    """A request value pipeline.py computes when it builds the pipeline: `source` is its Python
    (job_code), which needs `imports` ((module, name) pairs); `matches` accepts what the
    definition then holds (compare_arguments)."""

    source: str
    imports: tuple[tuple[str, str], ...] = ()

    def matches(self, value: Any) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.source


@dataclass(frozen=True, repr=False)
class PipelineRole(Computed):
    """The pipeline's role: whatever role get_pipeline() was given."""

    source: str = "role"

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value)


@dataclass(frozen=True, repr=False)
class RegionalImage(Computed):
    """An AWS SageMaker image in the session's region (pipeline_support.framework_image, with
    pipeline.py's REGION when the session names none): the same repository and tag."""

    image: FrameworkImage
    source: str = field(init=False)
    imports: tuple[tuple[str, str], ...] = (("pipeline_support", "framework_image"),)

    def __post_init__(self) -> None:
        framework = quoting.py_literal(self.image.framework)
        version = quoting.py_literal(self.image.version)
        source = f"framework_image({framework}, {version}, session.boto_region_name or REGION)"
        object.__setattr__(self, "source", source)

    def matches(self, value: Any) -> bool:
        found, ours = ecr_image(value), ecr_image(self.image.uri)
        return bool(found and ours) and (found.repository, found.tag) == (
            ours.repository,
            ours.tag,
        )


# --------------------------------------------------------------------------------------------
# Applying them


@dataclass
class Practiced:
    """A request with the practices applied, and what to tell the reader about it."""

    request: dict
    notes: list[str] = field(default_factory=list)
    """For the task's notes (manifest.json, REPORT.md)."""
    comments: list[str] = field(default_factory=list)
    """For pipeline.py, above the step's code."""


def apply_practices(job: str, request: dict, practices: JobPractices | None) -> Practiced:
    """The request the pipeline sends for this job (the given one is not changed)."""
    out = Practiced(copy.deepcopy(request))
    if practices is None:
        return out
    if practices.role and job in _ROLE_FIELDS:
        _role(out, _ROLE_FIELDS[job])
    if practices.regional_images:
        for path in _IMAGE_FIELDS.get(job, []):
            _images(out, out.request, path, (), practices.region)
    if practices.network is not None and job in _NETWORK_FIELDS:
        _network(out, job, practices.network)
    if practices.tags and job in _TAGGED:
        _tags(out, list(practices.tags))
    return out


def _role(out: Practiced, path: tuple[str, ...]) -> None:
    parent = _dict_at(out.request, path[:-1])
    key = path[-1]
    if parent is None or not isinstance(parent.get(key), str):
        return  # absent (the job classes default to `role`) or known only at run time
    where = ".".join(path)
    dag_role = parent[key]
    parent[key] = PipelineRole()
    out.comments.append(f"{where}: the configured role, not the DAG's {dag_role}")
    out.notes.append(
        f"{where}: runs with the configured role (`role` of get_pipeline), not the DAG's {dag_role}"
    )


def _images(out: Practiced, node: Any, path: tuple, seen: tuple, region: str) -> None:
    """Each AWS image at `path` (under `node`) becomes a RegionalImage."""
    if not path or not isinstance(node, (dict, list)):
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for i, item in enumerate(node if isinstance(node, list) else []):
            _images(out, item, rest, (*seen, i), region)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _images(out, node[head], rest, (*seen, head), region)
        return
    where = _dotted((*seen, head))
    uri = node[head]
    image = framework_image(uri)
    if image is not None:
        node[head] = RegionalImage(image)
        out.comments += [
            f"{where}: AWS's {image.label} image of the session's region;",
            f"  the DAG's: {uri}",
        ]
        if region and image.region != region:
            out.notes.append(
                f"{where}: AWS's {image.label} image of the pipeline's region, not "
                f"{image.region}'s as in the DAG"
            )
        return
    other = ecr_image(uri)
    if other is not None and region and other.region != region:
        out.notes.append(
            f"{where}: {uri} is in {other.region}'s registry but the pipeline's region is "
            f"{region}; SageMaker pulls a job's ECR image from its own region"
        )


def _network(out: Practiced, job: str, net: Network) -> None:
    path, isolation = _NETWORK_FIELDS[job]
    holder = _dict_at(out.request, path, create=job == "processing")
    if holder is None:
        return  # known only at run time
    where = ".".join((*path, "")) if path else ""
    vpc = holder.get("VpcConfig", {})
    if (net.subnets or net.security_group_ids) and isinstance(vpc, dict):
        subnets = list(net.subnets) or vpc.get("Subnets")
        groups = list(net.security_group_ids) or vpc.get("SecurityGroupIds")
        if subnets and groups:
            holder["VpcConfig"] = {**vpc, "SecurityGroupIds": groups, "Subnets": subnets}
            if holder["VpcConfig"] != vpc:
                out.notes.append(
                    f"{where}VpcConfig: runs in the configured VPC (subnets "
                    f"{', '.join(map(str, subnets))}; security groups "
                    f"{', '.join(map(str, groups))})"
                )
        else:
            out.notes.append(
                f"{where}VpcConfig: a VPC needs subnets and security groups; the configuration "
                "and the DAG give only one of them, so the job runs outside a VPC"
            )
    if net.enable_network_isolation and holder.get("EnableNetworkIsolation") is not True:
        if isolation:
            holder["EnableNetworkIsolation"] = True
            out.notes.append(
                f"{where}EnableNetworkIsolation: set by the configuration (no network access "
                "from the container)"
            )
        else:
            out.notes.append(
                f"{where}EnableNetworkIsolation: configured, but the HyperparameterTuner has "
                "no parameter for it; the tuning job's containers keep network access"
            )
    if path and not holder:
        _drop_empty(out.request, path)


def _tags(out: Practiced, tags: list[tuple[str, str]]) -> None:
    own = out.request.get("Tags", [])
    if not isinstance(own, list):
        return  # known only at run time: the job code names it
    keys = {t.get("Key") for t in own if isinstance(t, dict)}
    added = [{"Key": k, "Value": v} for k, v in tags if k not in keys]
    room = max(MAX_TAGS - len(own), 0)
    if len(added) > room:
        dropped = ", ".join(t["Key"] for t in added[room:])
        out.notes.append(f"Tags: SageMaker takes at most {MAX_TAGS} tags; {dropped} left out")
        added = added[:room]
    if added:
        out.request["Tags"] = [*own, *added]


def _dict_at(request: dict, path: tuple[str, ...], create: bool = False) -> dict | None:
    node: Any = request
    for key in path:
        if create and key not in node:
            node[key] = {}
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return None
    return node


def _drop_empty(request: dict, path: tuple[str, ...]) -> None:
    """Remove the dict `_dict_at(create=True)` made when nothing went into it."""
    parent = _dict_at(request, path[:-1])
    if parent is not None and parent.get(path[-1]) == {}:
        del parent[path[-1]]


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
