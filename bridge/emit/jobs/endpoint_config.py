"""CreateEndpointConfig (SageMakerEndpointConfigOperator) as a
``PipelineSession.create_endpoint_config`` step.
"""

from __future__ import annotations

from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.shapes import RAW, TAGS


def build(gen: Gen, cfg: dict) -> None:
    args: list = []
    gen.take(args, "name", cfg, "EndpointConfigName", "")
    gen.take(args, "production_variants", cfg, "ProductionVariants", "", RAW)
    gen.take(args, "tags", cfg, "Tags", "", TAGS)
    gen.take(args, "kms_key", cfg, "KmsKeyId", "")
    gen.take(args, "data_capture_config_dict", cfg, "DataCaptureConfig", "", RAW)
    gen.take(args, "async_inference_config_dict", cfg, "AsyncInferenceConfig", "", RAW)
    gen.take(args, "explainer_config_dict", cfg, "ExplainerConfig", "", RAW)
    gen.take(args, "vpc_config", cfg, "VpcConfig", "", RAW)
    gen.take(args, "enable_network_isolation", cfg, "EnableNetworkIsolation", "")
    gen.take(args, "role", cfg, "ExecutionRoleArn", "")
    gen.rest(
        cfg,
        {
            "EndpointConfigName",
            "ProductionVariants",
            "Tags",
            "KmsKeyId",
            "DataCaptureConfig",
            "AsyncInferenceConfig",
            "ExplainerConfig",
            "VpcConfig",
            "EnableNetworkIsolation",
            "ExecutionRoleArn",
        },
        "",
        "PipelineSession.create_endpoint_config",
    )
    gen.call_stmt(f"{gen.var}_args", "session.create_endpoint_config", args)
