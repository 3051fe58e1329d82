"""What every pipeline written by `bridge translate` shares: copied unchanged next to each
pipeline.py, which describes its own steps and imports the rest from here.

- `Jobs`: the script steps' factory. One processor per step, on the step's image, with the
  pipeline's role, network and cost tags; each step's XCom goes under the execution's prefix.
- `retry_policies`: Airflow's retries as SageMaker retry policies.
- `main`: the command line (print the definition, upsert, start, schedule, local mode).
"""

# ruff: noqa: E402  (the SDK's imports come after a region is lent for them)
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import boto3

# Importing the SDK makes an AWS client, which needs a region: one is lent for the imports only,
# so that `python pipeline.py --help` works anywhere; every call still uses boto3's own region.
_LENT_REGION = not boto3.Session().region_name
if _LENT_REGION:
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

from sagemaker.core.image_uris import retrieve
from sagemaker.core.lambda_helper import Lambda
from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.pipeline_context import LocalPipelineSession, PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow import (
    CacheConfig,
    ForEachStep,
    ParallelismConfiguration,
    PipelineSchedule,
    ProcessingStep,
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.for_each_step import CurrentItem

if _LENT_REGION:
    del os.environ["AWS_DEFAULT_REGION"]


def _build_in_linear_time() -> None:
    """Two costs the SDK pays for every step, which make a pipeline of a thousand steps take
    minutes (or, with a SageMaker config file, hours) to build:
    - ProcessingStep and TransformStep build a LocalSagemakerClient (a boto3 session and its
      clients, about 0.2 s) only to read one of its method names: one is built, then reused;
    - every config lookup validates the whole config against its schema (about 15 lookups a
      step): each distinct config is validated once."""
    import sagemaker.mlops.workflow.steps as sdk_steps
    from sagemaker.core.config.config_manager import SageMakerConfig

    sdk_steps.LocalSagemakerClient = functools.cache(sdk_steps.LocalSagemakerClient)
    validate = SageMakerConfig.validate_sagemaker_config
    valid: set[str] = set()

    def validate_once(config: dict | None = None) -> None:
        seen = json.dumps(config, sort_keys=True, default=repr)
        if seen not in valid:
            validate(config)
            valid.add(seen)

    SageMakerConfig.validate_sagemaker_config = staticmethod(validate_once)


_build_in_linear_time()

HERE = Path(__file__).resolve().parent
RUNTIME_FILE = "_bridge_runtime.py"  # steps/_bridge_runtime.py: Airflow's call, rebuilt in a job
RUNTIME_DIR = "/opt/ml/processing/input/runtime"
XCOM_DIR = "/opt/ml/processing/input/xcom"  # <task id>[/<i>]: an upstream task's XCom
FILES_DIR = "/opt/ml/processing/input/files"  # <folder>/<step>: a folder an upstream step wrote
REPOSITORY_DIR = "/opt/ml/processing/input/repository"  # <folder>: the DAG's own data
OUTPUT_DIR = "/opt/ml/processing/output"  # <folder>: a folder the step writes for later steps
WORK_DIR = "/opt/ml/processing/work"  # <folder>: a folder the step only reads
# Each script step writes its XCom (return value and pushed keys) to xcom.json.
XCOM = PropertyFile(name="xcom", output_name="xcom", path="xcom.json")


def use_endpoint(url: str) -> None:
    """Send this process's SageMaker, S3, STS and CloudWatch Logs calls to `url` (`bridge
    serve`, LocalStack): the variables boto3 reads for every client, the SDK's included."""
    for service in ("SAGEMAKER", "S3", "STS", "CLOUDWATCH_LOGS", "LAMBDA"):
        os.environ[f"AWS_ENDPOINT_URL_{service}"] = url


def pipeline_session(bucket: str = "", local: bool = False) -> PipelineSession:
    """A session for SageMaker where boto3 points it. At an endpoint other than AWS (see
    use_endpoint) its STS names the account of the default bucket, and roles are not checked
    against AWS's IAM."""
    if local:
        return LocalPipelineSession(default_bucket=bucket or None)
    boto_session = boto3.Session()
    if os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER") or os.environ.get("AWS_ENDPOINT_URL"):
        os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
        if not bucket:
            account = boto_session.client("sts").get_caller_identity()["Account"]
            bucket = f"sagemaker-{boto_session.region_name}-{account}"
    return PipelineSession(boto_session=boto_session, default_bucket=bucket or None)


def network_config(
    subnets: Sequence[str], security_group_ids: Sequence[str], isolation: bool
) -> NetworkConfig | None:
    """The jobs' VPC and network isolation, when configured."""
    if not (subnets or security_group_ids or isolation):
        return None
    return NetworkConfig(
        subnets=list(subnets) or None,
        security_group_ids=list(security_group_ids) or None,
        enable_network_isolation=isolation,
    )


def step_file(name: str) -> str:
    """A file under steps/ (a Lambda function's code, read by --upsert)."""
    return f"steps/{name}" if Path.cwd() == HERE else str(HERE / "steps" / name)


@functools.cache
def content_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (their relative paths and contents)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{content_digest(file)}\0".encode())
    return digest.hexdigest()


@dataclass
class StepFiles:
    """The files of this folder the jobs read (step scripts, the step runtime, the DAG's data),
    each put once at s3://<bucket>/<pipeline>/code/<sha256>/<path>. Named by content: every
    step reading a file names the same object, the definition does not depend on where it is
    built, and a changed file gets a new key (so a cached step runs again)."""

    bucket: str
    pipeline_name: str
    pending: dict[str, Path] = field(default_factory=dict)  # S3 key -> local file

    def uri(self, relative: str) -> str:
        path = HERE / relative
        if not path.exists():
            raise FileNotFoundError(f"{relative} is missing from {HERE}")
        key = f"{self.pipeline_name}/code/{content_digest(path)}/{relative}"
        if path.is_file():
            self.pending[key] = path
            return f"s3://{self.bucket}/{key}"
        for file in sorted(path.rglob("*")):
            if file.is_file():
                self.pending[f"{key}/{file.relative_to(path).as_posix()}"] = file
        return f"s3://{self.bucket}/{key}/"  # a folder: the "/" keeps `data2/` out of `data`

    def upload(self, session) -> None:
        """Put each file once (get_pipeline does, unless asked not to). In the bucket the SDK
        named itself (sagemaker-<region>-<account>, which anyone can predict), only if this
        account owns it: the SDK's own check for its uploads."""
        owner = session._get_account_id_if_default_bucket(self.bucket)
        extra = {"ExpectedBucketOwner": owner} if owner else None
        client = session.s3_client or session.boto_session.client("s3")
        for key, path in sorted(self.pending.items()):
            client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)


@functools.cache
def framework_image(framework: str, version: str, region: str) -> str:
    return retrieve(framework=framework, region=region, version=version)  # ~50 ms: once each


def retry_policies(
    max_attempts: int, interval_seconds: int, backoff_rate: float = 1.0, job: bool = True
) -> list:
    """Airflow's retries as retry policies. SageMaker retries a step after service faults and
    throttling, and a job step after the job's internal, capacity and resource-limit errors. It
    never retries an error of the step's own code (AlgorithmError), which Airflow would."""
    timing = dict(
        interval_seconds=interval_seconds, backoff_rate=backoff_rate, max_attempts=max_attempts
    )
    step_faults = [StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING]
    policies: list = [StepRetryPolicy(exception_types=step_faults, **timing)]
    if job:
        job_faults = [
            SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
            SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
        ]
        policies.append(SageMakerJobStepRetryPolicy(failure_reason_types=job_faults, **timing))
    return policies


def cache_config(expire_after: str) -> CacheConfig | None:
    """Step caching for `expire_after` (ISO 8601, e.g. P30D); "" turns it off."""
    return CacheConfig(enable_caching=True, expire_after=expire_after) if expire_after else None


def xcom(step, json_path: str = "return_value") -> JsonGet:
    """A value of `step`'s XCom (its xcom.json), for a later step or a condition to read."""
    return JsonGet(step_name=step.name, property_file=XCOM, json_path=json_path)


def s3_input(name: str, uri, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def xcom_input(step, task_id: str, index: int | None = None) -> ProcessingInput:
    """Task `task_id`'s XCom as `step` wrote it (the index-th of a task mapped over a literal),
    mounted where the step runtime reads it. Reading the output property tells SageMaker the
    data dependency; the final "/" keeps the prefix of step `a` from also matching `a-0`'s.
    A mapped task's ForEachStep: its children's XComs, <index>/xcom.json each (the reader's
    depends_on orders it after them)."""
    if isinstance(step, MappedTaskStep):
        local_path = f"{XCOM_DIR}/{task_id}"
        return s3_input("xcom-" + step.name[:50], step.xcom_prefix, local_path)
    output = step.properties.ProcessingOutputConfig.Outputs["xcom"].S3Output.S3Uri
    local_path = f"{XCOM_DIR}/{task_id}" + ("" if index is None else f"/{index}")
    return s3_input("xcom-" + step.name[:50], Join(on="/", values=[output, ""]), local_path)


def folder_input(step, name: str) -> ProcessingInput:
    """The folder `name` as an upstream step wrote it (REPORT.md, "Files between steps")."""
    output = step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
    local_path = f"{FILES_DIR}/{name}/{step.name}"
    return s3_input(f"{name}-{step.name}", Join(on="/", values=[output, ""]), local_path)


def repository_input(files: StepFiles, name: str) -> ProcessingInput:
    """A data folder of the DAG's repository, copied to inputs/<name> by `bridge translate`."""
    return s3_input(f"repository-{name}", files.uri(f"inputs/{name}"), f"{REPOSITORY_DIR}/{name}")


@dataclass(frozen=True)
class SharedFolder:
    """A folder the step shares with other steps (REPORT.md, "Files between steps"): the DAG's
    own copy and what each upstream step in `after` wrote are mounted, and the step runtime
    stages them, in that order, where the code looks; a folder the step `writes` goes on to
    later steps as an output. `env` names the variable that points the code at it."""

    name: str
    after: Sequence = ()
    repository: bool = False
    writes: bool = False
    env: str | None = None

    @property
    def path(self) -> str:
        return f"{OUTPUT_DIR if self.writes else WORK_DIR}/{self.name}"

    def read(self, *after, repository: bool = False) -> SharedFolder:
        """For a step that reads the folder: after the DAG's copy and these steps' copies."""
        return replace(self, after=after, repository=repository, writes=False)

    def write(self, *after, repository: bool = False) -> SharedFolder:
        """For a step that (also) writes the folder, for the steps after it."""
        return replace(self, after=after, repository=repository, writes=True)

    def inputs(self, files: StepFiles) -> list[ProcessingInput]:
        own = [repository_input(files, self.name)] if self.repository else []
        return own + [folder_input(step, self.name) for step in self.after]


@dataclass(frozen=True)
class Jobs:
    """What the jobs of one pipeline share: the session, role, bucket, instance type, network,
    cost tags and step caching."""

    session: PipelineSession
    role: str
    pipeline_name: str
    bucket: str
    instance_type: str
    tags: list[dict[str, str]] = field(default_factory=list)
    network: NetworkConfig | None = None
    cache: CacheConfig | None = None
    image: dict[str, str] | str = ""  # the script steps' image, unless a step names another

    @functools.cached_property
    def files(self) -> StepFiles:
        return StepFiles(self.bucket, self.pipeline_name)

    def runtime_input(self) -> ProcessingInput:
        """The step runtime (steps/_bridge_runtime.py), one object for every step."""
        return s3_input("bridge-runtime", self.files.uri(f"steps/{RUNTIME_FILE}"), RUNTIME_DIR)

    def upload_files(self) -> None:
        """Put the files the steps read in S3, each once."""
        self.files.upload(self.session)

    def execution_uri(self, *parts: str) -> Join:
        """s3://<bucket>/<pipeline>/<execution id>/<parts>: each execution's outputs apart."""
        root = ["s3://" + self.bucket, self.pipeline_name, ExecutionVariables.PIPELINE_EXECUTION_ID]
        return Join(on="/", values=[*root, *parts])

    def output(self, step_name: str, name: str, uri: Join | None = None) -> ProcessingOutput:
        """/opt/ml/processing/output/<name>, uploaded when the job ends to
        s3://<bucket>/<pipeline>/<execution id>/<step>/<name> (XComs: .../xcom/<step>)."""
        parts = ("xcom", step_name) if name == "xcom" else (step_name, name)
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=uri or self.execution_uri(*parts),
                local_path="/opt/ml/processing/output/" + name,
                s3_upload_mode="EndOfJob",
            ),
        )

    def execution_xcoms(self) -> ProcessingInput:
        """Every XCom of the execution so far, mounted as <step>/xcom.json: for a step reading
        more XComs than a job has inputs for. Its depends_on orders it after them."""
        return s3_input("xcom", self.execution_uri("xcom", ""), XCOM_DIR)

    def image_uri(self, image: dict[str, str] | str) -> str:
        """An image URI as it is, or a framework image (framework, version) in the session's
        region."""
        if isinstance(image, str):
            return image
        return framework_image(image["framework"], image["version"], self.session.boto_region_name)

    def script_step(
        self,
        name: str,
        script: str,
        *,
        image: dict[str, str] | str | None = None,
        task_id: str | None = None,
        description: str | None = None,
        arguments: dict | None = None,
        context: dict | None = None,
        runtime_arguments: Sequence = (),
        inputs: Sequence[ProcessingInput] = (),
        folders: Sequence[SharedFolder] = (),
        instance_type: str | None = None,
        env: dict | None = None,
        max_runtime: int | None = None,
        xcom_uri: Join | None = None,
        **step: object,
    ) -> ProcessingStep:
        """A Processing step running steps/<script> on `image`: a Python script as itself, a
        bash script (.sh) through the step runtime, which renders it as Airflow would.

        `arguments` are its named arguments (--name value); `context` the Airflow context
        values it uses (ds, ...): the runtime derives those left empty from the run's start and
        the DAG's schedule, as an EventBridge schedule passes none. `runtime_arguments` is what
        only the step runtime's general form carries (XComs, nested and templated values: see
        steps/_bridge_runtime.py). Its XCom, and each of its `folders` it writes for later
        steps, are outputs under the execution's prefix; `step` holds the ProcessingStep's own
        arguments (depends_on, retry policies)."""
        task_id = task_id or name
        runtime = f"{RUNTIME_DIR}/{RUNTIME_FILE}"
        env = {**(env or {}), **{f.env: f.path for f in folders if f.env}} or None
        inputs = [*inputs, *(i for f in folders for i in f.inputs(self.files))]
        processor = ScriptProcessor(
            role=self.role,
            image_uri=self.image_uri(image or self.image),
            command=["python3"] if script.endswith(".py") else ["python3", runtime],
            instance_type=instance_type or self.instance_type,
            instance_count=1,
            env=env,
            max_runtime_in_seconds=max_runtime,
            network_config=self.network,
            tags=[*self.tags, {"Key": "airflow:task_id", "Value": task_id}],
            sagemaker_session=self.session,
        )
        step_args = processor.run(
            code=self.files.uri(f"steps/{script}"),
            arguments=[
                str(a) if isinstance(a, (int, float)) else a
                for a in [*_flat(arguments or {}), *_context(context), *runtime_arguments]
            ],
            inputs=[self.runtime_input(), *inputs],
            outputs=[
                self.output(name, "xcom", xcom_uri),
                *(self.output(name, f.name) for f in folders if f.writes),
            ],
        )
        return ProcessingStep(
            name=name,
            display_name=task_id[:82],
            description=description,
            step_args=step_args,
            property_files=[XCOM],
            cache_config=self.cache,
            **step,
        )

    def for_each_step(
        self,
        name: str,
        script: str,
        *,
        body: str,
        items,
        max_concurrency: int,
        task_id: str | None = None,
        description: str | None = None,
        depends_on: Sequence | None = None,
        runtime_arguments: Sequence = (),
        **job: object,
    ) -> MappedTaskStep:
        """A task mapped over a list known only at run time (Airflow's `.expand()`): a
        ForEachStep running the script step `body` once per index in `items` (the producer's
        list of indexes, as JSON text), at most `max_concurrency` at a time. Each child runs
        the instance of its element (--map-index) and writes its XCom to
        xcom/<name>/<index>/, where readers find the list of the instances' values in order,
        as Airflow gives it; `job` holds the script step's arguments."""
        index = CurrentItem()
        child = self.script_step(
            body,
            script,
            task_id=task_id or name,
            runtime_arguments=[*runtime_arguments, "--map-index", index],
            xcom_uri=self.execution_uri("xcom", name, index),
            **job,
        )
        return MappedTaskStep(
            name=name,
            display_name=(task_id or name)[:82],
            description=description,
            iterable_items=items,
            max_concurrency=max_concurrency,
            for_each_body=[child],
            depends_on=depends_on,
            xcom_prefix=self.execution_uri("xcom", name, ""),
        )


class MappedTaskStep(ForEachStep):
    """The ForEachStep of a mapped task; `xcom_prefix` holds its children's XComs."""

    def __init__(self, *, xcom_prefix: Join, **step: object):
        super().__init__(**step)
        self.xcom_prefix = xcom_prefix


def _flat(named: dict) -> list:
    return [item for flag, value in named.items() for item in (flag, value)]


def _context(values: dict | None) -> list:
    if values is None:
        return []
    named = {"--context-" + k.replace("_", "-"): v for k, v in values.items()}
    return _flat({**named, "--started": ExecutionVariables.START_DATETIME})


@dataclass(frozen=True)
class LambdaFunction:
    """A Lambda function the pipeline's LambdaSteps call, created by `--upsert` (never while
    the definition is built) from steps/<script>."""

    name: str
    script: str
    handler: str
    timeout: int = 120
    runtime: str = "python3.12"

    def arn(self, session) -> str:
        region = session.boto_region_name
        return f"arn:aws:lambda:{region}:{session.account_id()}:function:{self.name}"

    def step_function(self, session) -> Lambda:
        """The function as a LambdaStep names it: by ARN, so building creates nothing."""
        return Lambda(function_arn=self.arn(session), session=session)

    def upsert(self, session, role: str) -> None:
        Lambda(
            function_name=self.name,
            execution_role_arn=role,
            script=step_file(self.script),
            handler=self.handler,
            runtime=self.runtime,
            timeout=self.timeout,
            session=session,
        ).upsert()


def main(module, argv: list[str] | None = None) -> None:
    """The command line of a pipeline.py (`module`): its get_pipeline(), docstring and
    settings (TAGS, PIPELINE_TAGS, ROLE_ARN, SCHEDULE, SCHEDULER_ROLE_ARN, MAX_PARALLEL_STEPS,
    FUNCTIONS, LAMBDA_ROLE_ARN, REGION). AWS errors end it with their message, not a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    args = _parser(module.__doc__ or "A SageMaker pipeline").parse_args(argv)
    if args.endpoint_url:
        use_endpoint(args.endpoint_url)
    settings = vars(module)
    if not boto3.Session().region_name:
        raise SystemExit(
            "no AWS region: set AWS_REGION (this pipeline was translated for "
            f"{settings.get('REGION') or 'a region'})"
        )
    os.chdir(HERE)  # see step_file()
    try:
        pipeline = module.get_pipeline(
            role=args.role, local=args.local, version=args.version, upload=args.upsert
        )
        if not args.upsert:
            print(json.dumps(json.loads(pipeline.definition()), indent=2, sort_keys=True))
            return
        _deploy(pipeline, args, settings)
    except (BotoCoreError, ClientError) as exc:
        raise SystemExit(f"{type(exc).__name__}: {exc}") from None


def _parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--upsert", action="store_true", help="create or update the pipeline")
    parser.add_argument("--start", action="store_true", help="start an execution after --upsert")
    parser.add_argument("--local", action="store_true", help="SageMaker local mode (Docker)")
    parser.add_argument("--role", default=None, help="execution role ARN")
    parser.add_argument("--version", default=None, help="deploy as <name>-<version>")
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="SageMaker and S3 endpoint, e.g. bridge serve's (default: boto3's AWS_ENDPOINT_URL_*)",
    )
    return parser


def _deploy(pipeline, args: argparse.Namespace, settings: dict) -> None:
    """--upsert: the Lambda functions, the pipeline, its schedule; --start: an execution."""
    role = args.role or settings.get("ROLE_ARN") or os.environ.get("SAGEMAKER_ROLE_ARN", "")
    if not role and not args.local:
        raise SystemExit("no execution role: pass --role, set ROLE_ARN or $SAGEMAKER_ROLE_ARN")
    session = pipeline.sagemaker_session
    for function in settings.get("FUNCTIONS", {}).values():  # the LambdaSteps call them
        function.upsert(session, settings.get("LAMBDA_ROLE_ARN") or role)
    steps = settings.get("MAX_PARALLEL_STEPS")
    parallelism = ParallelismConfiguration(max_parallel_execution_steps=steps) if steps else None
    tags = settings.get("TAGS", []) + settings.get("PIPELINE_TAGS", [])
    pipeline.upsert(role_arn=role, tags=tags, parallelism_config=parallelism)
    if settings.get("SCHEDULE") and not args.local:
        schedule = PipelineSchedule(name=f"{pipeline.name}-schedule"[:256], **settings["SCHEDULE"])
        pipeline.put_triggers(triggers=[schedule], role_arn=_scheduler_role(settings, role))
    if args.start:
        print(pipeline.start(parallelism_config=parallelism).arn)


def _scheduler_role(settings: dict, role: str) -> str:
    """The role EventBridge Scheduler assumes (iam/scheduler-role-policy.json)."""
    scheduler_role = settings.get("SCHEDULER_ROLE_ARN") or os.environ.get(
        "SAGEMAKER_SCHEDULER_ROLE_ARN", ""
    )
    if scheduler_role:
        return scheduler_role
    print(
        "warning: no scheduler role (SCHEDULER_ROLE_ARN, $SAGEMAKER_SCHEDULER_ROLE_ARN): "
        "EventBridge Scheduler assumes the execution role; iam/ has a role of its own",
        file=sys.stderr,
    )
    return role
