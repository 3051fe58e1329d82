"""CreateTrainingJob (SageMakerTrainingOperator) as a ``ModelTrainer(...).train()`` step."""

from __future__ import annotations

from typing import Any

from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.shapes import TAG_SHAPES, L, M


def model_trainer(gen: Gen, cfg: dict, path: str, tuning: bool) -> tuple[str, list]:
    """The ModelTrainer for a training job (or a tuning job's TrainingJobDefinition).

    Returns the trainer's variable name and, for tuning, the metric definitions the tuner
    (not the trainer) carries.
    """
    trainer = f"{gen.var}_trainer"
    args: list = []
    after: list[tuple[str, Any]] = []
    metric_definitions: list = []
    where = "HyperparameterTuner" if tuning else "ModelTrainer"

    algo = gen.sub(cfg, "AlgorithmSpecification", f"{path}AlgorithmSpecification")
    apath = f"{path}AlgorithmSpecification."
    gen.take(args, "training_image", algo, "TrainingImage", apath)
    if tuning and "AlgorithmName" in algo:
        gen.unsupported(f"{apath}AlgorithmName", where)
    else:
        gen.take(args, "algorithm_name", algo, "AlgorithmName", apath)
    gen.take(args, "training_input_mode", algo, "TrainingInputMode", apath)
    if tuning:
        if "TrainingImageConfig" in algo:
            gen.unsupported(f"{apath}TrainingImageConfig", where)
        if "MetricDefinitions" in algo:
            node = gen.raw(algo["MetricDefinitions"])
            metric_definitions = [("metric_definitions", node)]
    else:
        gen.take(
            args, "training_image_config", algo, "TrainingImageConfig", apath, "TrainingImageConfig"
        )
        if "MetricDefinitions" in algo:
            node = gen.shapes(
                "MetricDefinition", algo["MetricDefinitions"], f"{apath}MetricDefinitions"
            )
            if node is not None:
                after.append(("with_metric_definitions", node))
    gen.rest(
        algo,
        {
            "TrainingImage",
            "AlgorithmName",
            "TrainingInputMode",
            "MetricDefinitions",
            "TrainingImageConfig",
        },
        apath,
        where,
    )

    gen.take(args, "role", cfg, "RoleArn", path, default="role")

    compute_cfg = gen.sub(cfg, "ResourceConfig", f"{path}ResourceConfig")
    if tuning:
        compute_cfg = dict(compute_cfg)
        for key in list(compute_cfg):
            if key not in ("InstanceType", "InstanceCount", "VolumeSizeInGB"):
                gen.unsupported(f"{path}ResourceConfig.{key}", where)
                compute_cfg.pop(key)
    if "ResourceConfig" in cfg or "EnableManagedSpotTraining" in cfg:
        compute = gen.shape("Compute", compute_cfg, f"{path}ResourceConfig")
        if compute is not None:
            gen.take(
                compute[2], "enable_managed_spot_training", cfg, "EnableManagedSpotTraining", path
            )
            args.append(("compute", compute))

    stop = cfg.get("StoppingCondition")
    if tuning and isinstance(stop, dict) and "MaxPendingTimeInSeconds" in stop:
        gen.unsupported(f"{path}StoppingCondition.MaxPendingTimeInSeconds", where)
        stop = {k: v for k, v in stop.items() if k != "MaxPendingTimeInSeconds"}
    if "StoppingCondition" in cfg:
        gen.take(
            args,
            "stopping_condition",
            {"StoppingCondition": stop},
            "StoppingCondition",
            path,
            "StoppingCondition",
        )
    gen.take(args, "output_data_config", cfg, "OutputDataConfig", path, "OutputDataConfig")
    gen.take(args, "input_data_config", cfg, "InputDataConfig", path, ["Channel"])
    hp_key = "StaticHyperParameters" if tuning else "HyperParameters"
    gen.take(args, "hyperparameters", cfg, hp_key, path, M)
    gen.take(args, "environment", cfg, "Environment", path, M)

    net_args: list = []
    if "VpcConfig" in cfg:
        vpc = gen.sub(cfg, "VpcConfig", f"{path}VpcConfig")
        gen.take(net_args, "subnets", vpc, "Subnets", f"{path}VpcConfig.", L)
        gen.take(net_args, "security_group_ids", vpc, "SecurityGroupIds", f"{path}VpcConfig.", L)
        gen.rest(vpc, {"Subnets", "SecurityGroupIds"}, f"{path}VpcConfig.", "Networking")
    for key, kwarg in (
        ("EnableNetworkIsolation", "enable_network_isolation"),
        ("EnableInterContainerTrafficEncryption", "enable_inter_container_traffic_encryption"),
    ):
        if key in cfg:
            if tuning:
                gen.unsupported(f"{path}{key}", where)
            else:
                gen.take(net_args, kwarg, cfg, key, path)
    if net_args:
        args.append(("networking", ("call", gen.shape_class("Networking"), net_args)))

    gen.take(args, "checkpoint_config", cfg, "CheckpointConfig", path, "CheckpointConfig")
    if not tuning:
        gen.take(args, "tags", cfg, "Tags", path, TAG_SHAPES)
        gen.take(
            args, "model_package_config", cfg, "ModelPackageConfig", path, "ModelPackageConfig"
        )
        for key, method in (
            ("TensorBoardOutputConfig", "with_tensorboard_output_config"),
            ("InfraCheckConfig", "with_infra_check_config"),
            ("SessionChainingConfig", "with_session_chaining_config"),
            ("RemoteDebugConfig", "with_remote_debug_config"),
        ):
            if key in cfg:
                node = gen.shape(key, cfg[key], f"{path}{key}")
                if node is not None:
                    after.append((method, node))
    if "RetryStrategy" in cfg:
        node = gen.shape("RetryStrategy", cfg["RetryStrategy"], f"{path}RetryStrategy")
        if node is not None:
            after.append(("with_retry_strategy", node))

    handled = {
        "AlgorithmSpecification",
        "RoleArn",
        "ResourceConfig",
        "EnableManagedSpotTraining",
        "StoppingCondition",
        "OutputDataConfig",
        "InputDataConfig",
        hp_key,
        "Environment",
        "VpcConfig",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "CheckpointConfig",
        "RetryStrategy",
    }
    if not tuning:
        handled |= {
            "Tags",
            "ModelPackageConfig",
            "TensorBoardOutputConfig",
            "InfraCheckConfig",
            "SessionChainingConfig",
            "RemoteDebugConfig",
        }
    gen.rest(cfg, handled, path, where)

    args.append(("base_job_name", repr(gen.base_name)))
    args.append(("sagemaker_session", "session"))
    gen.imp("sagemaker.train", "ModelTrainer")
    gen.call_stmt(trainer, "ModelTrainer", args)
    for method, node in after:
        gen.call_stmt(None, f"{trainer}.{method}", [(None, node)])
    return trainer, metric_definitions


def build(gen: Gen, cfg: dict) -> None:
    trainer, _ = model_trainer(gen, cfg, "", tuning=False)
    gen.lines.append(f"{gen.var}_args = {trainer}.train()")
