"""CreateEndpoint (SageMakerEndpointOperator) as a ``PipelineSession.create_endpoint`` step."""

from __future__ import annotations

from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.shapes import TAGS


def build(gen: Gen, cfg: dict) -> None:
    args: list = []
    gen.take(args, "endpoint_name", cfg, "EndpointName", "")
    gen.take(args, "config_name", cfg, "EndpointConfigName", "")
    gen.take(args, "tags", cfg, "Tags", "", TAGS)
    gen.rest(
        cfg,
        {"EndpointName", "EndpointConfigName", "Tags"},
        "",
        "PipelineSession.create_endpoint",
    )
    gen.call_stmt(f"{gen.var}_args", "session.create_endpoint", args)
