"""CreateTransformJob (SageMakerTransformOperator) as a ``Transformer(...).transform()`` step."""

from __future__ import annotations

from bridge.emit.jobs.render import Gen, experiment_config
from bridge.emit.jobs.shapes import RAW, TAGS, M


def build(gen: Gen, cfg: dict) -> None:
    args: list = []
    run: list = []
    gen.take(args, "model_name", cfg, "ModelName", "")
    resources = gen.sub(cfg, "TransformResources", "TransformResources")
    rpath = "TransformResources."
    gen.take(args, "instance_count", resources, "InstanceCount", rpath)
    gen.take(args, "instance_type", resources, "InstanceType", rpath)
    gen.take(args, "volume_kms_key", resources, "VolumeKmsKeyId", rpath)
    gen.take(args, "transform_ami_version", resources, "TransformAmiVersion", rpath)
    gen.rest(
        resources,
        {"InstanceCount", "InstanceType", "VolumeKmsKeyId", "TransformAmiVersion"},
        rpath,
        "Transformer",
    )
    gen.take(args, "strategy", cfg, "BatchStrategy", "")
    output = gen.sub(cfg, "TransformOutput", "TransformOutput")
    opath = "TransformOutput."
    gen.take(args, "output_path", output, "S3OutputPath", opath)
    gen.take(args, "accept", output, "Accept", opath)
    gen.take(args, "assemble_with", output, "AssembleWith", opath)
    gen.take(args, "output_kms_key", output, "KmsKeyId", opath)
    gen.rest(output, {"S3OutputPath", "Accept", "AssembleWith", "KmsKeyId"}, opath, "Transformer")
    gen.take(args, "max_concurrent_transforms", cfg, "MaxConcurrentTransforms", "")
    gen.take(args, "max_payload", cfg, "MaxPayloadInMB", "")
    gen.take(args, "env", cfg, "Environment", "", M)
    gen.take(args, "tags", cfg, "Tags", "", TAGS)
    args.append(("base_transform_job_name", repr(gen.base_name)))
    args.append(("sagemaker_session", "session"))

    tin = gen.sub(cfg, "TransformInput", "TransformInput")
    source = gen.sub(tin, "DataSource", "TransformInput.DataSource")
    s3 = gen.sub(source, "S3DataSource", "TransformInput.DataSource.S3DataSource")
    spath = "TransformInput.DataSource.S3DataSource."
    gen.take(run, "data", s3, "S3Uri", spath)
    gen.take(run, "data_type", s3, "S3DataType", spath)
    gen.rest(s3, {"S3Uri", "S3DataType"}, spath, "Transformer.transform")
    gen.rest(source, {"S3DataSource"}, "TransformInput.DataSource.", "Transformer.transform")
    ipath = "TransformInput."
    gen.take(run, "content_type", tin, "ContentType", ipath)
    gen.take(run, "compression_type", tin, "CompressionType", ipath)
    gen.take(run, "split_type", tin, "SplitType", ipath)
    gen.rest(
        tin,
        {"DataSource", "ContentType", "CompressionType", "SplitType"},
        ipath,
        "Transformer.transform",
    )
    processing = gen.sub(cfg, "DataProcessing", "DataProcessing")
    dpath = "DataProcessing."
    gen.take(run, "input_filter", processing, "InputFilter", dpath)
    gen.take(run, "output_filter", processing, "OutputFilter", dpath)
    gen.take(run, "join_source", processing, "JoinSource", dpath)
    gen.rest(
        processing, {"InputFilter", "OutputFilter", "JoinSource"}, dpath, "Transformer.transform"
    )
    experiment_config(gen, cfg, run)
    gen.take(run, "model_client_config", cfg, "ModelClientConfig", "", RAW)
    gen.take(
        run, "batch_data_capture_config", cfg, "DataCaptureConfig", "", "BatchDataCaptureConfig"
    )
    gen.rest(
        cfg,
        {
            "ModelName",
            "TransformResources",
            "BatchStrategy",
            "TransformOutput",
            "MaxConcurrentTransforms",
            "MaxPayloadInMB",
            "Environment",
            "Tags",
            "TransformInput",
            "DataProcessing",
            "ExperimentConfig",
            "ModelClientConfig",
            "DataCaptureConfig",
        },
        "",
        "Transformer",
    )
    gen.imp("sagemaker.core.transformer", "Transformer")
    transformer = f"{gen.var}_transformer"
    gen.call_stmt(transformer, "Transformer", args)
    gen.call_stmt(f"{gen.var}_args", f"{transformer}.transform", run)
