"""Reference: every SageMaker Python SDK v3 construct the Airflow emitter uses, built offline.

Builds ONE pipeline under ``moto.mock_aws()`` (no network, no AWS account) and prints
``pipeline.definition()`` (JSON) on stdout. Timings, notes and the moto deploy round trip
(upsert / start / put_triggers) go to stderr. Findings: ``sagemaker-sdk-v3.md``, section
"Constructs the emitter uses".

    cd /work/main && .venv/bin/python docs/notes/sdk-v3-reference.py > /dev/null
    .venv/bin/python docs/notes/sdk-v3-reference.py --local > /dev/null   # LocalPipelineSession
    .venv/bin/python docs/notes/sdk-v3-reference.py --bench 1000 --fast

Measured with sagemaker 3.27, sagemaker-core 2.27, sagemaker-mlops 1.27, moto 5.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "sdkref-bucket"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/LambdaExecutionRole"
PIPELINE_NAME = "sdkref-pipeline"
WORKDIR = Path(tempfile.mkdtemp(prefix="sdkref-"))


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr)


def offline_environment(workdir: Path) -> None:
    """Env for an offline build; must be set before the first Session is created."""
    config = workdir / "sagemaker-config.yaml"
    # SchemaVersion is required: without it the config loader raises a jsonschema error.
    config.write_text(
        'SchemaVersion: "1.0"\n'
        "SageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    os.environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        SAGEMAKER_VALIDATE_ROLE="false",
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(config),
    )


offline_environment(WORKDIR)

_t_import = time.perf_counter()
import boto3  # noqa: E402
import moto  # noqa: E402

# --- primitives and helpers: sagemaker.core ------------------------------------------
from sagemaker.core import s3 as sm_s3  # noqa: E402
from sagemaker.core.config.config_manager import SageMakerConfig  # noqa: E402
from sagemaker.core.image_uris import retrieve  # noqa: E402
from sagemaker.core.lambda_helper import Lambda  # noqa: E402
from sagemaker.core.local.local_session import LocalSagemakerClient  # noqa: E402
from sagemaker.core.network import NetworkConfig  # noqa: E402
from sagemaker.core.processing import FrameworkProcessor, ScriptProcessor  # noqa: E402
from sagemaker.core.shapes import (  # noqa: E402
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.conditions import (  # noqa: E402
    ConditionEquals,
    ConditionGreaterThanOrEqualTo,
    ConditionIn,
    ConditionLessThan,
    ConditionNot,
    ConditionOr,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.core.workflow.functions import Join, JsonGet  # noqa: E402
from sagemaker.core.workflow.parameters import (  # noqa: E402
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.pipeline_context import (  # noqa: E402
    LocalPipelineSession,
    PipelineSession,
)
from sagemaker.core.workflow.properties import PropertyFile  # noqa: E402

# --- orchestration: sagemaker.mlops.workflow -----------------------------------------
from sagemaker.mlops.workflow import (  # noqa: E402
    CacheConfig,
    CallbackOutput,
    CallbackStep,
    ConditionStep,
    CurrentItem,
    EMRStep,
    EMRStepConfig,
    FailStep,
    ForEachStep,
    LambdaOutput,
    LambdaStep,
    ParallelismConfiguration,
    Pipeline,
    PipelineExperimentConfig,
    PipelineSchedule,
    ProcessingStep,
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow import steps as sm_steps  # noqa: E402
from sagemaker.mlops.workflow.callback_step import CallbackOutputTypeEnum  # noqa: E402
from sagemaker.mlops.workflow.function_step import step  # noqa: E402
from sagemaker.mlops.workflow.lambda_step import LambdaOutputTypeEnum  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t_import


def apply_speedups() -> None:
    """Opt-in (--fast): two monkeypatches; large offline builds get 2-3 orders of magnitude faster.

    a. With ANY SDK config file loaded (we need one for TelemetryOptOut) every config lookup
       re-runs jsonschema validation of the whole config, metaschema check included: ~0.2 s
       per lookup, ~9 lookups per ScriptProcessor and ~6 per step in definition(). The file
       is still validated once when a Session loads it (sagemaker.core.config.config).
    b. ProcessingStep.__init__ (and TransformStep) evaluates
       ``LocalSagemakerClient().create_processing_job.__name__`` only to get a method name;
       that builds a whole LocalSession (boto session, clients, config load + validation):
       ~0.5-3 s per step. The class attribute has the same __name__.
    """
    SageMakerConfig.validate_sagemaker_config = staticmethod(lambda sagemaker_config=None: None)
    sm_steps.LocalSagemakerClient = lambda: LocalSagemakerClient


# --------------------------------------------------------------------------------------
# Step scripts, written at run time (the emitter writes them next to the pipeline module).
# --------------------------------------------------------------------------------------
STEP_SCRIPTS = {
    "extract.py": """\
        import json, os, sys
        out = "/opt/ml/processing/output/xcom"
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "return.json"), "w") as f:
            json.dump({"rows": 42, "status": "ok", "partitions": ["a", "b"]}, f)
        print(sys.argv[1:])
        """,
    "transform.py": """\
        import sys
        print("transform", sys.argv[1:])
        """,
    "per_item.py": """\
        import sys
        print("item", sys.argv[1:])
        """,
    "notify.py": """\
        def handler(event, context):
            return {"message_id": "m-1", "ok": True}
        """,
}


def write_step_scripts(root: Path) -> Path:
    steps_dir = root / "steps"
    steps_dir.mkdir(parents=True, exist_ok=True)
    for name, body in STEP_SCRIPTS.items():
        (steps_dir / name).write_text(textwrap.dedent(body))
    (steps_dir / "requirements.txt").write_text("pyyaml==6.0.2\n")
    # FrameworkProcessor variant: a source_dir holding the script and requirements.txt
    fw_dir = root / "fw_src"
    fw_dir.mkdir(exist_ok=True)
    (fw_dir / "transform.py").write_text(textwrap.dedent(STEP_SCRIPTS["transform.py"]))
    (fw_dir / "requirements.txt").write_text("pyyaml==6.0.2\n")
    return steps_dir


@contextlib.contextmanager
def offline_aws() -> Iterator[None]:
    """moto stands in for S3 (code upload), IAM + Lambda (LambdaStep creates its function
    inside definition()), SageMaker (upsert/start) and EventBridge Scheduler (put_triggers)."""
    with moto.mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        boto3.client("iam", region_name=REGION).create_role(
            RoleName="LambdaExecutionRole",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        yield


# 1. Session. PipelineSession makes processor.run(...) return deferred step arguments
#    (nothing runs; code is uploaded when definition() is built). LocalPipelineSession lives
#    in the same module, constructs without Docker and builds the same definition
#    (processors then take instance_type="local").
def make_session(local: bool) -> PipelineSession:
    if local:
        return LocalPipelineSession(default_bucket=BUCKET)
    return PipelineSession(default_bucket=BUCKET)


def script_processor(session: PipelineSession, image_uri: str, **kwargs) -> ScriptProcessor:
    """3. ScriptProcessor: the v3 class for "run this local .py in this image"."""
    kwargs.setdefault("command", ["python3"])
    kwargs.setdefault("instance_type", "ml.m5.large")
    return ScriptProcessor(
        role=ROLE,
        image_uri=image_uri,
        instance_count=1,
        sagemaker_session=session,
        **kwargs,
    )


def build_pipeline(steps_dir: Path, session: PipelineSession, local: bool = False) -> Pipeline:
    instance_type = "local" if local else "ml.m5.large"

    # 2. Parameters and execution variables.
    p_input = ParameterString(name="InputUri", default_value=f"s3://{BUCKET}/input/")
    p_mode = ParameterString(name="Mode", default_value="full", enum_values=["full", "delta"])
    p_threshold = ParameterInteger(name="Threshold", default_value=10)
    p_score = ParameterFloat(name="MinScore", default_value=0.5)
    p_dry_run = ParameterBoolean(name="DryRun", default_value=False)
    run_id = ExecutionVariables.PIPELINE_EXECUTION_ID

    # Image URI resolved offline from the SDK's bundled JSON (no ECR/network call).
    image_uri = retrieve(framework="sklearn", region=REGION, version="1.2-1")

    # 3. ProcessingStep: local script, env, stopping condition, NetworkConfig, tags,
    #    one ProcessingOutput "xcom" and a PropertyFile on it, retries and caching.
    extract_proc = script_processor(
        session,
        image_uri,
        instance_type=instance_type,
        env={"AIRFLOW_TASK_ID": "extract", "RUN_ID": run_id},
        max_runtime_in_seconds=3600,  # -> StoppingCondition.MaxRuntimeInSeconds
        network_config=NetworkConfig(
            subnets=["subnet-0abc"],
            security_group_ids=["sg-0abc"],
            enable_network_isolation=False,
            encrypt_inter_container_traffic=True,
        ),
        tags=[{"Key": "airflow:dag_id", "Value": "ref_dag"}],
        base_job_name="extract",
    )
    xcom_file = PropertyFile(name="ExtractXcom", output_name="xcom", path="return.json")
    extract = ProcessingStep(
        name="extract",
        display_name="extract (airflow task)",
        description="PythonOperator extract",
        step_args=extract_proc.run(
            code=str(steps_dir / "extract.py"),
            inputs=[
                ProcessingInput(
                    input_name="raw",
                    s3_input=ProcessingS3Input(
                        s3_uri=p_input,
                        local_path="/opt/ml/processing/input/raw",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="xcom",
                    s3_output=ProcessingS3Output(
                        # s3_uri is required; a non-S3 value (e.g. the local path) is replaced
                        # by Join(s3://bucket/<pipeline>/<execution id>/<step>/output/xcom).
                        s3_uri=Join(on="/", values=[f"s3://{BUCKET}", "xcom", run_id, "extract"]),
                        local_path="/opt/ml/processing/output/xcom",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
            # ContainerArguments are strings: non-string variables go through .to_string()
            arguments=["--mode", p_mode, "--threshold", p_threshold.to_string(), "--ds", run_id],
        ),
        property_files=[xcom_file],
        # 4. Retry policies (exactly one of max_attempts / expire_after_mins each) + cache.
        retry_policies=[
            StepRetryPolicy(
                exception_types=[
                    StepExceptionTypeEnum.SERVICE_FAULT,
                    StepExceptionTypeEnum.THROTTLING,
                ],
                interval_seconds=30,
                backoff_rate=2.0,
                max_attempts=3,
            ),
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR],
                failure_reason_types=[SageMakerJobExceptionTypeEnum.INTERNAL_ERROR],
                interval_seconds=60,
                expire_after_mins=120,
            ),
        ],
        cache_config=CacheConfig(enable_caching=True, expire_after="P30D"),
    )

    # 2b. JsonGet names the producing step with step_name= (a str); and a step output URI.
    rows = JsonGet(step_name=extract.name, property_file=xcom_file, json_path="rows")
    extract_xcom_uri = extract.properties.ProcessingOutputConfig.Outputs["xcom"].S3Output.S3Uri

    # 3b. Downstream ProcessingStep: input = upstream output URI; arguments mix literals,
    #     Parameter, Join, JsonGet. Requirements: requirements.txt as its own ProcessingInput
    #     (a local path is uploaded to s3://bucket/<pipeline>/<step>/input/<input name>/) and
    #     `sh -c 'pip install -r ... && exec python3 "$0" "$@"'` (script path becomes $0).
    transform_proc = script_processor(
        session,
        image_uri,
        instance_type=instance_type,
        command=[
            "sh",
            "-c",
            "pip install -r /opt/ml/processing/input/requirements/requirements.txt"
            ' && exec python3 "$0" "$@"',
        ],
    )
    transform = ProcessingStep(
        name="transform",
        step_args=transform_proc.run(
            code=str(steps_dir / "transform.py"),
            inputs=[
                ProcessingInput(
                    input_name="upstream",
                    s3_input=ProcessingS3Input(
                        s3_uri=extract_xcom_uri,
                        local_path="/opt/ml/processing/input/upstream",
                        s3_data_type="S3Prefix",
                    ),
                ),
                ProcessingInput(
                    input_name="requirements",
                    s3_input=ProcessingS3Input(
                        s3_uri=str(steps_dir / "requirements.txt"),
                        local_path="/opt/ml/processing/input/requirements",
                        s3_data_type="S3Prefix",
                    ),
                ),
            ],
            arguments=[
                "--rows",
                rows.to_string(),
                "--input",
                Join(on="/", values=[p_input, "date=", run_id]),
                "--min-score",
                p_score.to_string(),
                "--dry-run",
                p_dry_run.to_string(),
            ],
        ),
        depends_on=[extract],
    )

    # 3c. Alternative for requirements: FrameworkProcessor.run(source_dir=, requirements=).
    #     Works, but uploads sourcedir.tar.gz under a timestamped job name: the definition
    #     changes on every build. The sh -c pattern above is deterministic.
    fw_proc = FrameworkProcessor(
        image_uri=image_uri,
        role=ROLE,
        instance_type=instance_type,
        instance_count=1,
        command=["python3"],
        sagemaker_session=session,
    )
    transform_fw = ProcessingStep(
        name="transform-fw",
        step_args=fw_proc.run(
            code="transform.py",
            source_dir=str(steps_dir.parent / "fw_src"),
            requirements="requirements.txt",
            arguments=["--rows", rows.to_string()],
        ),
    )

    # 6. LambdaStep: (a) existing function ARN; (b) function created from a local script.
    #    (b) calls Lambda CreateFunction/UpdateFunctionCode INSIDE definition() (and again
    #    on every definition()/upsert()); only moto keeps that offline.
    notify_existing = LambdaStep(
        name="notify-existing",
        lambda_func=Lambda(
            function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:existing-notify",
            session=session,
        ),
        inputs={"rows": rows, "run_id": run_id, "static": "x"},
        outputs=[
            LambdaOutput(output_name="message_id", output_type=LambdaOutputTypeEnum.String),
            LambdaOutput(output_name="ok", output_type=LambdaOutputTypeEnum.Boolean),
        ],
        depends_on=[transform],
    )
    notify_created = LambdaStep(
        name="notify-created",
        lambda_func=Lambda(
            function_name="sdkref-notify",
            execution_role_arn=LAMBDA_ROLE,
            script=str(steps_dir / "notify.py"),
            handler="notify.handler",
            runtime="python3.12",  # SDK default is python3.8 (deprecated by Lambda)
            session=session,
        ),
        inputs={"message_id": notify_existing.properties.Outputs["message_id"]},
        outputs=[LambdaOutput(output_name="ok", output_type=LambdaOutputTypeEnum.Boolean)],
    )

    # 7. EMRStep on a running cluster (display_name and description are required args).
    emr = EMRStep(
        name="spark-job",
        display_name="spark-job",
        description="EmrAddStepsOperator",
        cluster_id="j-1ABCDEFGHIJKL",
        step_config=EMRStepConfig(
            jar="command-runner.jar",
            args=["spark-submit", "s3://bucket/job.py", "--ds", run_id],
        ),
        depends_on=[extract],
        cache_config=CacheConfig(enable_caching=False),
    )

    # 8. CallbackStep: sensor approximation. An external poller reads the SQS message and
    #    answers with SendPipelineExecutionStepSuccess(OutputParameters=[found=...]).
    sensor = CallbackStep(
        name="wait-for-file",
        sqs_queue_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/sensor-queue",
        inputs={"bucket_key": Join(on="", values=[p_input, "_SUCCESS"]), "poke_interval": 60},
        outputs=[CallbackOutput(output_name="found", output_type=CallbackOutputTypeEnum.Boolean)],
        depends_on=[extract],
    )

    # 5. ConditionStep (the conditions list is ANDed) + FailStep in else_steps.
    fail = FailStep(
        name="fail",
        error_message=Join(on=" ", values=["extract returned", rows, "rows; run", run_id]),
    )
    status = JsonGet(step_name=extract.name, property_file=xcom_file, json_path="status")
    branch = ConditionStep(
        name="branch",
        conditions=[
            ConditionOr(
                conditions=[
                    ConditionEquals(left=status, right="ok"),
                    ConditionIn(value=p_mode, in_values=["full", "delta"]),
                ]
            ),
            ConditionNot(expression=ConditionLessThan(left=rows, right=p_threshold)),
            ConditionGreaterThanOrEqualTo(left=rows, right=1),
            ConditionEquals(left=sensor.properties.Outputs["found"], right=True),
        ],
        if_steps=[notify_existing, notify_created],
        else_steps=[fail],
        depends_on=[transform],
    )

    # 11. ForEachStep over a literal list and over a JsonGet (body reads CurrentItem()).
    def per_item(name: str) -> ProcessingStep:
        proc = script_processor(session, image_uri, instance_type=instance_type)
        return ProcessingStep(
            name=name,
            step_args=proc.run(
                code=str(steps_dir / "per_item.py"), arguments=["--item", CurrentItem()]
            ),
        )

    fan_literal = ForEachStep(
        name="fan-literal",
        iterable_items=["a", "b", "c"],
        max_concurrency=2,
        for_each_body=[per_item("per-item-literal")],
        depends_on=[extract],
    )
    fan_xcom = ForEachStep(
        name="fan-xcom",
        iterable_items=JsonGet(
            step_name=extract.name, property_file=xcom_file, json_path="partitions"
        ),
        max_concurrency=5,
        for_each_body=[per_item("per-item-xcom")],
    )

    # 9. @step function step: a Training job running the pickled function. Builds offline,
    #    but the definition is not reproducible (timestamped S3 dir, fresh public key).
    @step(
        name="py-callable",
        instance_type="ml.m5.large",
        role=ROLE,
        image_uri=image_uri,
        retry_policies=[
            StepRetryPolicy(exception_types=[StepExceptionTypeEnum.THROTTLING], max_attempts=2)
        ],
    )
    def summarise(threshold: int, mode: str, upstream_status: str) -> dict:
        return {"threshold": threshold, "mode": mode, "upstream": upstream_status}

    # Arguments may be Parameters, step Properties, other @step results; NOT Join/JsonGet.
    summary = summarise(p_threshold, p_mode, extract.properties.ProcessingJobStatus)

    # 10. Pipeline. Top-level steps only: if/else and ForEach body steps are not listed.
    return Pipeline(
        name=PIPELINE_NAME,
        parameters=[p_input, p_mode, p_threshold, p_score, p_dry_run],
        steps=[extract, transform, transform_fw, emr, sensor, branch, fan_literal, fan_xcom]
        + [summary],
        sagemaker_session=session,
        pipeline_experiment_config=PipelineExperimentConfig(
            experiment_name=ExecutionVariables.PIPELINE_NAME,
            trial_name=ExecutionVariables.PIPELINE_EXECUTION_ID,
        ),
    )


def deploy_to_moto(pipeline: Pipeline) -> None:
    """10. upsert / start / schedule. Parallelism is NOT a Pipeline() argument."""
    parallelism = ParallelismConfiguration(max_parallel_execution_steps=10)
    response = pipeline.upsert(
        role_arn=ROLE,
        description="translated from ref_dag",
        tags=[{"Key": "airflow:dag_id", "Value": "ref_dag"}],
        parallelism_config=parallelism,
    )
    log("upsert ->", response["PipelineArn"])
    execution = pipeline.start(
        parameters={"Mode": "delta", "Threshold": 3}, parallelism_config=parallelism
    )
    log("start ->", execution.arn)
    # Schedules are EventBridge Scheduler schedules attached after upsert; every Parameter
    # needs a default_value.
    schedule = PipelineSchedule(name="ref-dag-daily", cron="0 3 * * ? *")
    log("put_triggers ->", pipeline.put_triggers(triggers=[schedule], role_arn=ROLE))


def bench(steps_dir: Path, n: int, distinct_code: bool) -> None:
    """N plain ProcessingSteps: one ScriptProcessor + run() per step, as the emitter does."""
    uploads = {"files": 0}
    real_upload = sm_s3.S3Uploader.upload

    def counting_upload(*args, **kwargs):
        uploads["files"] += 1
        return real_upload(*args, **kwargs)

    sm_s3.S3Uploader.upload = staticmethod(counting_upload)
    session = PipelineSession(default_bucket=BUCKET)
    image_uri = retrieve(framework="sklearn", region=REGION, version="1.2-1")
    codes = []
    for i in range(n if distinct_code else 1):
        path = steps_dir / f"bench_{i}.py"
        path.write_text(f"print({i})\n")
        codes.append(str(path))
    name = f"bench-{'distinct' if distinct_code else 'same'}"
    t = time.perf_counter()
    steps = [
        ProcessingStep(
            name=f"task-{i}",
            step_args=script_processor(session, image_uri).run(
                code=codes[i % len(codes)], arguments=["--i", str(i)]
            ),
        )
        for i in range(n)
    ]
    pipeline = Pipeline(name=name, steps=steps, sagemaker_session=session)
    t_construct = time.perf_counter() - t
    t = time.perf_counter()
    definition = pipeline.definition()
    t_definition = time.perf_counter() - t
    listing = boto3.client("s3", region_name=REGION).get_paginator("list_objects_v2")
    objects = sum(len(p.get("Contents", [])) for p in listing.paginate(Bucket=BUCKET, Prefix=name))
    sm_s3.S3Uploader.upload = staticmethod(real_upload)
    log(
        f"bench n={n} distinct_code={distinct_code}: construct {t_construct:.2f}s, "
        f"definition() {t_definition:.2f}s, {len(definition) / 1e6:.2f} MB JSON, "
        f"{uploads['files']} uploads, {objects} distinct S3 objects"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="use LocalPipelineSession")
    parser.add_argument("--bench", type=int, default=0, help="time N plain ProcessingSteps")
    parser.add_argument("--fast", action="store_true", help="apply the two SDK speed-ups")
    parser.add_argument("--no-deploy", action="store_true", help="skip moto upsert/start")
    args = parser.parse_args()
    log(f"imports: {IMPORT_SECONDS:.2f}s")
    if args.fast:
        apply_speedups()
    # Code paths are passed RELATIVE ("steps/extract.py"): the S3 key of uploaded code is
    # sha256(path string as given + file content), so absolute temp paths change it per run.
    os.chdir(WORKDIR)
    steps_dir = write_step_scripts(Path("."))
    with offline_aws():
        if args.bench:
            bench(steps_dir, args.bench, distinct_code=False)
            bench(steps_dir, args.bench, distinct_code=True)
            return 0
        session = make_session(args.local)
        t = time.perf_counter()
        pipeline = build_pipeline(steps_dir, session, local=args.local)
        log(f"construct: {time.perf_counter() - t:.2f}s")
        t = time.perf_counter()
        definition = pipeline.definition()
        log(f"definition(): {time.perf_counter() - t:.2f}s, {len(definition)} bytes")
        print(definition)
        if not (args.no_deploy or args.local):
            # Pipeline.upsert() with the core LocalPipelineSession fails (its local client has
            # no create_pipeline); local runs go through sagemaker.mlops.local instead.
            deploy_to_moto(pipeline)
    return 0


if __name__ == "__main__":
    try:
        exit_code = main()
    finally:
        os.chdir(tempfile.gettempdir())
        shutil.rmtree(WORKDIR, ignore_errors=True)
    sys.exit(exit_code)
