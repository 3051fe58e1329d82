"""The one entry point: job kind -> builder module, `job_code`, and the public names callers use.

``from bridge.emit.jobs.registry import job_code, compare_arguments, OPERATOR_JOBS, ...``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.emit.jobs import (
    endpoint,
    endpoint_config,
    model,
    processing,
    register_model,
    training,
    transform,
    tuning,
)
from bridge.emit.jobs.common import (
    JOBS,
    OPERATOR_JOBS,
    OWNED,
    STEP_CLASSES,
    JobCode,
    check_job,
    owned_fields,
)
from bridge.emit.jobs.compare import ANY, PIPELINE_VALUE, SDK_DEFAULTS, compare_arguments
from bridge.emit.jobs.practices import JobPractices, apply_practices, job_practices
from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.request import request_view, sub_jobs

__all__ = [
    "ANY",
    "BUILDERS",
    "JOBS",
    "OPERATOR_JOBS",
    "PIPELINE_VALUE",
    "SDK_DEFAULTS",
    "STEP_CLASSES",
    "JobCode",
    "JobPractices",
    "compare_arguments",
    "job_code",
    "job_practices",
    "owned_fields",
    "request_view",
    "sub_jobs",
]

BUILDERS: dict[str, Callable[[Gen, dict], None]] = {
    "processing": processing.build,
    "training": training.build,
    "transform": transform.build,
    "tuning": tuning.build,
    "model": model.build,
    "endpoint_config": endpoint_config.build,
    "endpoint": endpoint.build,
    "register_model": register_model.build,
}
"""Per job kind, the function that renders its (owned-fields-free) request into a `Gen`."""


def job_code(
    job: str,
    config: dict,
    var: str,
    value_code: Callable[[Any], str] = repr,
    practices: JobPractices | None = None,
) -> JobCode:
    """Source that builds ``{var}_args``, the step args reproducing an operator's ``config``
    with the configuration's ``practices`` applied (role, regional images, network, tags).

    ``value_code`` renders one config leaf (a string, number, bool, None or a pipeline value
    object) as Python source; every config value in the code goes through it.
    """
    check_job(job)
    if not var.isidentifier():
        raise ValueError(f"var must be a Python identifier, got {var!r}")
    request, notes = request_view(job, config)
    practiced = apply_practices(job, request, practices)
    request = practiced.request
    gen = Gen(job, var, value_code)
    for note in notes:
        gen.diff(note)
    for comment in practiced.comments:
        gen.comment(comment)
    owned = sorted(k for k in OWNED[job] if k in request)
    body = {k: v for k, v in request.items() if k not in OWNED[job]}
    BUILDERS[job](gen, body)
    return JobCode(
        step_class=STEP_CLASSES[job],
        imports=gen.import_lines(),
        code="\n".join(gen.lines) + "\n",
        differences=gen.differences,
        owned=owned,
        notes=practiced.notes,
    )
