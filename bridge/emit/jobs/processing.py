"""CreateProcessingJob (SageMakerProcessingOperator) as a ``Processor(...).run()`` step."""

from __future__ import annotations

from typing import Any

from bridge.emit.jobs.render import Gen, experiment_config
from bridge.emit.jobs.shapes import RAW, TAGS, L, M


def build(gen: Gen, cfg: dict) -> None:
    args: list = []
    run: list = []
    app = gen.sub(cfg, "AppSpecification", "AppSpecification")
    gen.take(args, "role", cfg, "RoleArn", "", default="role")
    gen.take(args, "image_uri", app, "ImageUri", "AppSpecification.")
    gen.take(args, "entrypoint", app, "ContainerEntrypoint", "AppSpecification.", L)
    gen.take(run, "arguments", app, "ContainerArguments", "AppSpecification.", L)
    gen.rest(
        app,
        {"ImageUri", "ContainerEntrypoint", "ContainerArguments"},
        "AppSpecification.",
        "Processor",
    )

    resources = gen.sub(cfg, "ProcessingResources", "ProcessingResources")
    cluster = gen.sub(resources, "ClusterConfig", "ProcessingResources.ClusterConfig")
    cpath = "ProcessingResources.ClusterConfig."
    gen.take(args, "instance_count", cluster, "InstanceCount", cpath)
    gen.take(args, "instance_type", cluster, "InstanceType", cpath)
    gen.take(args, "volume_size_in_gb", cluster, "VolumeSizeInGB", cpath)
    gen.take(args, "volume_kms_key", cluster, "VolumeKmsKeyId", cpath)
    gen.take(args, "instance_preferences", cluster, "InstancePreferences", cpath, RAW)
    gen.rest(
        cluster,
        {
            "InstanceCount",
            "InstanceType",
            "VolumeSizeInGB",
            "VolumeKmsKeyId",
            "InstancePreferences",
        },
        cpath,
        "Processor",
    )
    gen.rest(resources, {"ClusterConfig"}, "ProcessingResources.", "Processor")

    stop = gen.sub(cfg, "StoppingCondition", "StoppingCondition")
    gen.take(args, "max_runtime_in_seconds", stop, "MaxRuntimeInSeconds", "StoppingCondition.")
    gen.rest(stop, {"MaxRuntimeInSeconds"}, "StoppingCondition.", "Processor")
    gen.take(args, "env", cfg, "Environment", "", M)
    gen.take(args, "tags", cfg, "Tags", "", TAGS)

    if "NetworkConfig" in cfg:
        net = gen.sub(cfg, "NetworkConfig", "NetworkConfig")
        net_args: list = []
        gen.take(
            net_args, "enable_network_isolation", net, "EnableNetworkIsolation", "NetworkConfig."
        )
        gen.take(
            net_args,
            "encrypt_inter_container_traffic",
            net,
            "EnableInterContainerTrafficEncryption",
            "NetworkConfig.",
        )
        vpc = gen.sub(net, "VpcConfig", "NetworkConfig.VpcConfig")
        gen.take(
            net_args, "security_group_ids", vpc, "SecurityGroupIds", "NetworkConfig.VpcConfig.", L
        )
        gen.take(net_args, "subnets", vpc, "Subnets", "NetworkConfig.VpcConfig.", L)
        gen.rest(vpc, {"SecurityGroupIds", "Subnets"}, "NetworkConfig.VpcConfig.", "NetworkConfig")
        gen.rest(
            net,
            {"EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "VpcConfig"},
            "NetworkConfig.",
            "NetworkConfig",
        )
        args.append(
            (
                "network_config",
                ("call", gen.imp("sagemaker.core.network", "NetworkConfig"), net_args),
            )
        )

    outputs_cfg = gen.sub(cfg, "ProcessingOutputConfig", "ProcessingOutputConfig")
    gen.take(args, "output_kms_key", outputs_cfg, "KmsKeyId", "ProcessingOutputConfig.")
    gen.rest(outputs_cfg, {"KmsKeyId", "Outputs"}, "ProcessingOutputConfig.", "Processor")
    args.append(("base_job_name", repr(gen.base_name)))
    args.append(("sagemaker_session", "session"))

    inputs = _dropping_list(
        gen,
        cfg,
        "ProcessingInputs",
        "ProcessingInputs",
        "ProcessingInput",
        "DatasetDefinition",
        "the v3 Processor drops dataset definitions (Athena/Redshift inputs) from the request; "
        "input dropped.",
    )
    outputs = _dropping_list(
        gen,
        outputs_cfg,
        "Outputs",
        "ProcessingOutputConfig.Outputs",
        "ProcessingOutput",
        "FeatureStoreOutput",
        "the v3 Processor drops feature store outputs from the request; output dropped.",
    )
    run[:0] = [(k, n) for k, n in (("inputs", inputs), ("outputs", outputs)) if n is not None]
    experiment_config(gen, cfg, run)

    gen.rest(
        cfg,
        {
            "RoleArn",
            "AppSpecification",
            "ProcessingResources",
            "StoppingCondition",
            "Environment",
            "Tags",
            "NetworkConfig",
            "ProcessingOutputConfig",
            "ProcessingInputs",
            "ExperimentConfig",
        },
        "",
        "Processor",
    )
    gen.imp("sagemaker.core.processing", "Processor")
    processor = f"{gen.var}_processor"
    gen.call_stmt(processor, "Processor", args)
    gen.call_stmt(f"{gen.var}_args", f"{processor}.run", run)


def _dropping_list(
    gen: Gen, cfg: dict, key: str, path: str, shape: str, dropped_key: str, why: str
) -> Any:
    """A list of shapes whose items holding ``dropped_key`` the SDK cannot carry."""
    if key not in cfg:
        return None
    value = cfg[key]
    if not isinstance(value, (list, tuple)):
        return gen.dynamic(path, value, "a list")
    items = []
    for i, item in enumerate(value):
        if isinstance(item, dict) and dropped_key in item:
            gen.diff(f"{path}[{i}].{dropped_key}: {why}")
            continue
        node = gen.shape(shape, item, f"{path}[{i}]")
        if node is not None:
            items.append(node)
    return ("list", items)
