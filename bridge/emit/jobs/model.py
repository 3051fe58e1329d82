"""CreateModel (SageMakerModelOperator) as a ``ModelBuilder(...).build()`` step."""

from __future__ import annotations

from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.shapes import RAW, TAGS, L, M, V

_BUILDER_CONTAINER_KEYS = {
    "Image": "image_uri",
    "ModelDataUrl": "s3_model_data_url",
    "ModelDataSource": "s3_model_data_url",
    "Environment": "env_vars",
    "ImageConfig": "image_config",
}


def model_builder(
    gen: Gen, cfg: dict, container_path: str = "PrimaryContainer"
) -> tuple[str, list]:
    """ModelBuilder arguments for a CreateModel-shaped config; returns (builder, build kwargs)."""
    args: list = []
    if "Containers" in cfg and "PrimaryContainer" not in cfg:
        containers = cfg["Containers"]
        if isinstance(containers, (list, tuple)):
            models = []
            for i, container in enumerate(containers):
                node = gen.shape("ContainerDefinition", container, f"Containers[{i}]")
                if node is None:
                    continue
                name = repr(f"{gen.base_name}-container-{i + 1}")
                models.append(
                    (
                        "call",
                        gen.imp("sagemaker.core.resources", "Model"),
                        [("model_name", name), ("primary_container", node)],
                    )
                )
            args.append(("model", ("list", models)))
        else:
            gen.dynamic("Containers", containers, "a list")
    else:
        if "Containers" in cfg:
            gen.diff("Containers: ignored because PrimaryContainer is set.")
        container = gen.sub(cfg, "PrimaryContainer", container_path)
        cpath = f"{container_path}."
        if "ModelDataUrl" in container and "ModelDataSource" in container:
            gen.diff(
                f"{cpath}ModelDataSource: ModelBuilder takes either a model data URL "
                "or a ModelDataSource; ModelDataSource dropped."
            )
        for key, kwarg in _BUILDER_CONTAINER_KEYS.items():
            if key not in container:
                continue
            if key == "ModelDataSource" and "ModelDataUrl" in container:
                continue
            kind = (
                M
                if key == "Environment"
                else RAW
                if key in ("ModelDataSource", "ImageConfig")
                else V
            )
            gen.take(args, kwarg, container, key, cpath, kind)
        gen.rest(container, set(_BUILDER_CONTAINER_KEYS), cpath, "ModelBuilder")
    gen.take(args, "role_arn", cfg, "ExecutionRoleArn", "", default="role")
    net_args: list = []
    if "VpcConfig" in cfg:
        vpc = gen.sub(cfg, "VpcConfig", "VpcConfig")
        gen.take(net_args, "subnets", vpc, "Subnets", "VpcConfig.", L)
        gen.take(net_args, "security_group_ids", vpc, "SecurityGroupIds", "VpcConfig.", L)
        gen.rest(vpc, {"Subnets", "SecurityGroupIds"}, "VpcConfig.", "Networking")
    gen.take(net_args, "enable_network_isolation", cfg, "EnableNetworkIsolation", "")
    if net_args:
        args.append(("network", ("call", gen.shape_class("Networking"), net_args)))
    # An empty dependencies dict keeps ModelBuilder out of script mode, which would add
    # SAGEMAKER_PROGRAM / SAGEMAKER_REGION ... to the container environment.
    args.append(("dependencies", ("dict", [])))
    args.append(("sagemaker_session", "session"))
    build: list = []
    gen.take(build, "tags", cfg, "Tags", "", TAGS)
    gen.imp("sagemaker.serve", "ModelBuilder")
    builder = f"{gen.var}_builder"
    gen.call_stmt(builder, "ModelBuilder", args)
    return builder, build


def build(gen: Gen, cfg: dict) -> None:
    builder, build_args = model_builder(gen, cfg)
    gen.rest(
        cfg,
        {
            "ExecutionRoleArn",
            "PrimaryContainer",
            "Containers",
            "VpcConfig",
            "EnableNetworkIsolation",
            "Tags",
        },
        "",
        "ModelBuilder",
    )
    gen.call_stmt(f"{gen.var}_args", f"{builder}.build", build_args)
