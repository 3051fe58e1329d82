"""CreateModelPackage (SageMakerRegisterModelVersionOperator) as a
``ModelBuilder(...).register()`` step; the operator's kwargs are not a request, so
`register_request` builds it as the operator does.
"""

from __future__ import annotations

import copy
from typing import Any

from bridge.emit.jobs.model import model_builder
from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.shapes import L, M, V

_APPROVAL = {
    "APPROVED": "Approved",
    "REJECTED": "Rejected",
    "PENDING_MANUAL_APPROVAL": "PendingManualApproval",
}


def _approval_value(value: Any) -> Any:
    """ApprovalStatus member / 'ApprovalStatus.APPROVED' / 'Approved' -> 'Approved'."""
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    if isinstance(value, str):
        name = value.rsplit(".", 1)[-1]
        return _APPROVAL.get(name, value)
    return value


def register_request(kwargs: dict) -> tuple[dict, list[str]]:
    """The CreateModelPackage request SageMakerRegisterModelVersionOperator sends."""
    notes = []
    request: dict[str, Any] = {
        "InferenceSpecification": {
            "Containers": [
                {"Image": kwargs.get("image_uri"), "ModelDataUrl": kwargs.get("model_url")}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelPackageGroupName": kwargs.get("package_group_name"),
        "ModelPackageDescription": kwargs.get("package_desc", ""),
        "ModelApprovalStatus": _approval_value(
            kwargs.get("model_approval", "PendingManualApproval")
        ),
    }
    extras = kwargs.get("extras")
    if isinstance(extras, dict):
        request.update(copy.deepcopy(extras))
    elif extras is not None:
        notes.append(
            "extras: only known at run time, so its fields cannot be spread into "
            "ModelBuilder.register(); dropped."
        )
    if kwargs.get("package_group_desc"):
        notes.append(
            "package_group_desc: a description for a model package group the operator creates "
            "when missing; the RegisterModel step has no parameter for it; dropped."
        )
    return request, notes


_REGISTER_KEYS = {
    "ModelPackageGroupName": ("model_package_group_name", V),
    "ModelPackageDescription": ("description", V),
    "ModelApprovalStatus": ("approval_status", V),
    "CustomerMetadataProperties": ("customer_metadata_properties", M),
    "Domain": ("domain", V),
    "Task": ("task", V),
    "SamplePayloadUrl": ("sample_payload_url", V),
    "SkipModelValidation": ("skip_model_validation", V),
    "SourceUri": ("source_uri", V),
}


def build(gen: Gen, cfg: dict) -> None:
    spec = gen.sub(cfg, "InferenceSpecification", "InferenceSpecification")
    containers = spec.get("Containers", [])
    if not isinstance(containers, (list, tuple)) or len(containers) != 1:
        gen.diff(
            "InferenceSpecification.Containers: ModelBuilder.register() builds exactly one "
            "container here; only the first is translated."
        )
    container = containers[0] if isinstance(containers, (list, tuple)) and containers else {}
    # The request has no role; ModelBuilder gets the pipeline's role (not in the Arguments).
    builder, _ = model_builder(
        gen, {"PrimaryContainer": container}, "InferenceSpecification.Containers[0]"
    )
    args: list = []
    spath = "InferenceSpecification."
    gen.take(args, "content_types", spec, "SupportedContentTypes", spath, L)
    gen.take(args, "response_types", spec, "SupportedResponseMIMETypes", spath, L)
    gen.take(args, "inference_instances", spec, "SupportedRealtimeInferenceInstanceTypes", spath, L)
    gen.take(args, "transform_instances", spec, "SupportedTransformInstanceTypes", spath, L)
    gen.rest(
        spec,
        {
            "Containers",
            "SupportedContentTypes",
            "SupportedResponseMIMETypes",
            "SupportedRealtimeInferenceInstanceTypes",
            "SupportedTransformInstanceTypes",
        },
        spath,
        "ModelBuilder.register",
    )
    for key, (kwarg, kind) in _REGISTER_KEYS.items():
        if key == "ModelPackageDescription" and cfg.get(key) == "":
            continue
        gen.take(args, kwarg, cfg, key, "", kind)
    gen.rest(cfg, {"InferenceSpecification", *_REGISTER_KEYS}, "", "ModelBuilder.register")
    gen.call_stmt(f"{gen.var}_args", f"{builder}.register", args)
