"""CreateHyperParameterTuningJob (SageMakerTuningOperator) as a
``HyperparameterTuner(...).tune()`` step.
"""

from __future__ import annotations

from bridge.emit.jobs.render import Gen
from bridge.emit.jobs.shapes import TAGS
from bridge.emit.jobs.training import model_trainer

_RANGE_CLASSES = {
    "IntegerParameterRanges": "IntegerParameter",
    "ContinuousParameterRanges": "ContinuousParameter",
    "CategoricalParameterRanges": "CategoricalParameter",
}


def build(gen: Gen, cfg: dict) -> None:
    if "TrainingJobDefinitions" in cfg:
        gen.diff(
            "TrainingJobDefinitions: several training definitions need "
            "HyperparameterTuner.create(model_trainer_dict=...), which this generator does not "
            "emit; only TrainingJobDefinition is translated."
        )
    definition = gen.sub(cfg, "TrainingJobDefinition", "TrainingJobDefinition")
    for key in ("DefinitionName", "TuningObjective", "HyperParameterRanges"):
        if key in definition:
            gen.unsupported(f"TrainingJobDefinition.{key}", "HyperparameterTuner")
    definition = {
        k: v
        for k, v in definition.items()
        if k not in ("DefinitionName", "TuningObjective", "HyperParameterRanges")
    }
    trainer, metric_definitions = model_trainer(
        gen, definition, "TrainingJobDefinition.", tuning=True
    )

    args: list = [("model_trainer", trainer)]
    job = gen.sub(cfg, "HyperParameterTuningJobConfig", "HyperParameterTuningJobConfig")
    jpath = "HyperParameterTuningJobConfig."
    objective = gen.sub(
        job, "HyperParameterTuningJobObjective", f"{jpath}HyperParameterTuningJobObjective"
    )
    opath = f"{jpath}HyperParameterTuningJobObjective."
    if "MetricName" in objective:
        gen.take(args, "objective_metric_name", objective, "MetricName", opath)
    else:
        args.append(("objective_metric_name", "None"))
    gen.take(args, "objective_type", objective, "Type", opath)
    gen.rest(objective, {"MetricName", "Type"}, opath, "HyperparameterTuner")

    ranges = gen.sub(job, "ParameterRanges", f"{jpath}ParameterRanges")
    range_items = []
    for key, cls in _RANGE_CLASSES.items():
        if key not in ranges:
            continue
        items = ranges[key]
        if not isinstance(items, (list, tuple)):
            gen.dynamic(f"{jpath}ParameterRanges.{key}", items, "a list")
            continue
        for i, item in enumerate(items):
            path = f"{jpath}ParameterRanges.{key}[{i}]"
            if not isinstance(item, dict) or "Name" not in item:
                gen.dynamic(path, item, "a dict with a Name")
                continue
            gen.imp("sagemaker.core.parameter", cls)
            if cls == "CategoricalParameter":
                values = gen.values(item.get("Values", []), f"{path}.Values")
                call = ("call", cls, [("values", values)] if values is not None else [])
                gen.rest(item, {"Name", "Values"}, f"{path}.", cls)
            else:
                call_args = [
                    ("min_value", gen.leaf(item.get("MinValue"), f"{path}.MinValue")),
                    ("max_value", gen.leaf(item.get("MaxValue"), f"{path}.MaxValue")),
                ]
                gen.take(call_args, "scaling_type", item, "ScalingType", f"{path}.")
                gen.rest(item, {"Name", "MinValue", "MaxValue", "ScalingType"}, f"{path}.", cls)
                call = ("call", cls, call_args)
            range_items.append((gen.value_code(item["Name"]), call))
    gen.rest(ranges, set(_RANGE_CLASSES), f"{jpath}ParameterRanges.", "HyperparameterTuner")
    args.append(("hyperparameter_ranges", ("dict", range_items)))
    args.extend(metric_definitions)
    gen.take(args, "strategy", job, "Strategy", jpath)
    limits = gen.sub(job, "ResourceLimits", f"{jpath}ResourceLimits")
    lpath = f"{jpath}ResourceLimits."
    gen.take(args, "max_jobs", limits, "MaxNumberOfTrainingJobs", lpath)
    gen.take(args, "max_parallel_jobs", limits, "MaxParallelTrainingJobs", lpath)
    gen.take(args, "max_runtime_in_seconds", limits, "MaxRuntimeInSeconds", lpath)
    gen.rest(
        limits,
        {"MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs", "MaxRuntimeInSeconds"},
        lpath,
        "HyperparameterTuner",
    )
    gen.take(
        args,
        "strategy_config",
        job,
        "StrategyConfig",
        jpath,
        "HyperParameterTuningJobStrategyConfig",
    )
    gen.take(
        args,
        "completion_criteria_config",
        job,
        "TuningJobCompletionCriteria",
        jpath,
        "TuningJobCompletionCriteria",
    )
    gen.take(args, "early_stopping_type", job, "TrainingJobEarlyStoppingType", jpath)
    gen.take(args, "random_seed", job, "RandomSeed", jpath)
    if job.get("RandomSeed") == 0:
        gen.diff(f"{jpath}RandomSeed: the tuner leaves a seed of 0 out of the request.")
    gen.rest(
        job,
        {
            "HyperParameterTuningJobObjective",
            "ParameterRanges",
            "Strategy",
            "ResourceLimits",
            "StrategyConfig",
            "TuningJobCompletionCriteria",
            "TrainingJobEarlyStoppingType",
            "RandomSeed",
        },
        jpath,
        "HyperparameterTuner",
    )
    gen.take(args, "tags", cfg, "Tags", "", TAGS)
    gen.take(
        args,
        "warm_start_config",
        cfg,
        "WarmStartConfig",
        "",
        "HyperParameterTuningJobWarmStartConfig",
    )
    if "Autotune" in cfg:
        autotune = cfg["Autotune"]
        if isinstance(autotune, dict) and autotune.get("Mode") == "Enabled":
            args.append(("autotune", "True"))
        else:
            gen.diff(
                "Autotune: only {'Mode': 'Enabled'} maps to HyperparameterTuner(autotune=True)."
            )
    gen.rest(
        cfg,
        {
            "HyperParameterTuningJobConfig",
            "TrainingJobDefinition",
            "TrainingJobDefinitions",
            "Tags",
            "WarmStartConfig",
            "Autotune",
        },
        "",
        "HyperparameterTuner",
    )
    args.append(("base_tuning_job_name", repr(gen.base_name)))
    gen.imp("sagemaker.train.tuner", "HyperparameterTuner")
    tuner = f"{gen.var}_tuner"
    gen.call_stmt(tuner, "HyperparameterTuner", args)
    gen.lines.append(f"{gen.var}_args = {tuner}.tune()")
