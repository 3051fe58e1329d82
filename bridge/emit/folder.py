"""Write a PipelineModel as an output folder: pipeline.py, steps/, manifest.json, REPORT.md.

Deterministic: the same DAG and config give the same bytes (no timestamps, sorted keys). Python
output is formatted with ruff (`ruff format`, then `ruff check --fix` for import order).

The folder is OUT/<name>, `name` one safe path component for the DAG id (`output_folder_name`).
The bridge replaces a folder only when it wrote it: it holds the `.bridge-output` marker (or,
written before the marker existed, a manifest.json of this DAG next to a pipeline.py) and is a
real folder directly inside OUT. Anything else there is left alone and the DAG is not written.
Every id, path and text from the DAG goes into the files through bridge.quoting.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.images import image_constants
from bridge.emit.manifest import build_manifest
from bridge.emit.pipeline_body import helper_functions, render_steps
from bridge.emit.report import build_report
from bridge.emit.step_scripts import (
    RUNTIME_FILE,
    RUNTIME_INPUT,
    assign_files,
    runtime_source,
    script_text,
)
from bridge.parse.model import DagModel
from bridge.translate.pipeline_model import PipelineModel
from bridge.translate.step_specs import LambdaSpec, script_of

_py = quoting.py_literal
_PARAM_CLASSES = {
    "String": "ParameterString",
    "Integer": "ParameterInteger",
    "Float": "ParameterFloat",
    "Boolean": "ParameterBoolean",
}


MARKER = ".bridge-output"
MARKER_TEXT = (
    "Written by `bridge translate`. Translating this DAG again into the same output folder\n"
    "deletes this folder and writes it anew: keep your own files elsewhere.\n"
)


class OutputRefused(Exception):
    """The DAG's output folder cannot be written; `code` is the diagnostic to report."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def output_folder_name(dag_id: str) -> str:
    """The DAG's folder under OUT: its id when that is a safe name (every id Airflow accepts),
    else a safe name ending in a hash of the id (see bridge.quoting.path_component)."""
    return quoting.path_component(dag_id, fallback="dag")


@dataclass
class OutputClaims:
    """The output folders written in one run, so that two DAGs never share one: keyed by OUT
    and the folder name as case- and normalisation-insensitive file systems see it."""

    taken: dict[tuple[str, str], tuple[str, str, int]] = field(default_factory=dict)

    @staticmethod
    def _key(out: Path, name: str) -> tuple[str, str]:
        return (str(out.resolve()), quoting.fold_key(name))

    def check(self, out: Path, name: str, dag: DagModel, source_path: str) -> None:
        owner = self.taken.get(self._key(out, name))
        if owner is None or owner == _identity(dag, source_path):
            return
        dag_id, path, line = owner
        raise OutputRefused(
            "BRG220",
            f"DAG `{quoting.one_line(dag.dag_id)}` ({quoting.one_line(source_path)}:{dag.line}) "
            f"maps to output folder `{quoting.one_line(name)}`, which DAG "
            f"`{quoting.one_line(dag_id)}` ({quoting.one_line(path)}:{line}) was written to "
            "earlier in this run: not written",
        )

    def claim(self, out: Path, name: str, dag: DagModel, source_path: str) -> None:
        self.taken[self._key(out, name)] = _identity(dag, source_path)


def _identity(dag: DagModel, source_path: str) -> tuple[str, str, int]:
    return (dag.dag_id, str(Path(source_path).resolve()), dag.line)


def prepare_folder(out: Path, name: str) -> Path:
    """OUT/name, empty but for the marker: a folder the bridge wrote before is deleted first;
    anything else that is there and not empty is refused (OutputRefused BRG221)."""
    folder = out / name
    shown = quoting.one_line(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        root = out.resolve()
        if folder.is_symlink():
            raise OutputRefused("BRG221", f"{shown} is a symbolic link: left as it is")
        if folder.exists():
            if not folder.is_dir():
                raise OutputRefused("BRG221", f"{shown} exists and is not a folder: left as it is")
            if folder.resolve().parent != root:
                raise OutputRefused("BRG221", f"{shown} resolves outside {quoting.one_line(out)}")
            if made_by_bridge(folder):
                clear_translation(folder)
            elif any(folder.iterdir()):
                raise OutputRefused(
                    "BRG221",
                    f"{shown} exists and was not written by the bridge (no {MARKER} file): "
                    "left as it is",
                )
        folder.mkdir(exist_ok=True)
        (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise OutputRefused("BRG221", f"{shown} cannot be written: {exc}") from None
    return folder


# What `bridge run` and `bridge compare` keep in the folder: records of the user's runs, which a
# new translation must not delete.
KEPT = frozenset({"runs", "compare"})


def clear_translation(folder: Path) -> None:
    """Remove the previous translation from a folder the bridge wrote, keeping run records."""
    for entry in folder.iterdir():
        if entry.name in KEPT and entry.is_dir() and not entry.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def made_by_bridge(folder: Path) -> bool:
    """The folder holds the bridge's marker, or (written before the marker existed) a
    manifest.json of a DAG whose output folder this is, next to a pipeline.py."""
    if (folder / MARKER).is_file():
        return True
    manifest, pipeline_py = folder / "manifest.json", folder / "pipeline.py"
    if not (manifest.is_file() and pipeline_py.is_file()):
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    dag_id = data.get("dag_id") if isinstance(data, dict) else None
    if not isinstance(dag_id, str) or "schema_version" not in data:
        return False
    # The folder this DAG gets now, or got before (its id with `/` as `_`).
    names = (output_folder_name(dag_id), dag_id.replace("/", "_"))
    return quoting.fold_key(folder.name) in {quoting.fold_key(n) for n in names}


def emit(
    pipeline: PipelineModel,
    dag: DagModel,
    config: BridgeConfig,
    source_path: str,
    out: Path,
    claims: OutputClaims | None = None,
) -> Path:
    """Write the DAG's output folder; OutputRefused when it clashes with another DAG of the run
    (`claims`) or the folder there is not the bridge's."""
    name = output_folder_name(dag.dag_id)
    if claims is not None:
        claims.check(out, name, dag, source_path)
    folder = prepare_folder(out, name)
    if claims is not None:
        claims.claim(out, name, dag, source_path)
    steps_dir = folder / "steps"
    steps_dir.mkdir()
    files = assign_files(pipeline)
    python_files = [folder / "pipeline.py"]
    for name, step in sorted(files.items()):
        (steps_dir / name).write_text(script_text(step, dag.dag_id, source_path), encoding="utf-8")
        python_files.append(steps_dir / name)
    (steps_dir / RUNTIME_FILE).write_text(runtime_source(), encoding="utf-8")
    for step in pipeline.steps.values():  # extra files a rule asks for (Lambda handlers, ...)
        extra = step.spec.files if isinstance(step.spec, LambdaSpec) else None
        for name, text in sorted((extra or {}).items()):
            if name != quoting.path_component(name) or name == RUNTIME_FILE:
                raise ValueError(f"rule `{step.rule}` asks for an unsafe file name {name!r}")
            (steps_dir / name).write_text(text, encoding="utf-8")
            if name.endswith(".py"):
                python_files.append(steps_dir / name)
    (folder / "pipeline.py").write_text(
        pipeline_source(pipeline, dag, config, source_path), encoding="utf-8"
    )
    format_python(python_files)
    copy_repository_data(pipeline, source_path, folder / "inputs")
    manifest = build_manifest(pipeline, dag, config, source_path)
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    (folder / "REPORT.md").write_text(build_report(manifest, pipeline, dag), encoding="utf-8")
    return folder


def copy_repository_data(pipeline: PipelineModel, source_path: str, inputs: Path) -> None:
    """inputs/<name>/: each data folder of the DAG's repository a step reads (checked and
    bounded by bridge.translate.data_flow), for pipeline.py to upload and `bridge run` to stage."""
    from bridge.translate.data_flow import repository_files, repository_folder

    staged = {
        f.name: f.folder
        for s in pipeline.steps.values()
        for f in getattr(script_of(s.spec), "folders", ())
        if any(i.step is None for i in f.inputs)
    }
    for name, data in sorted(staged.items()):
        root = repository_folder(Path(source_path).parent, data)
        for path in repository_files(root) if root else []:
            target = inputs / name / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def format_python(paths: list[Path]) -> None:
    """ruff: sort imports, then format. Emitted code must pass `ruff check` and compile."""
    ruff = [sys.executable, "-m", "ruff"]
    files = [str(p) for p in paths]
    options = ["--line-length", "100", "--no-cache", "--isolated"]
    subprocess.run(
        [*ruff, "check", "--select", "I,F401", "--fix", "--quiet", *options, *files],
        check=False,
        capture_output=True,
    )
    subprocess.run([*ruff, "format", "--quiet", *options, *files], check=True, capture_output=True)


def pipeline_source(
    pipeline: PipelineModel, dag: DagModel, config: BridgeConfig, source_path: str
) -> str:
    body, names = render_steps(pipeline, config, source_path)
    names.need(
        "import boto3",
        "import functools",
        "from sagemaker.core.image_uris import retrieve",
        "from sagemaker.core.network import NetworkConfig",
        "from sagemaker.core.processing import ScriptProcessor",
        "from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output",
        "from sagemaker.core.workflow.execution_variables import ExecutionVariables",
        "from sagemaker.core.workflow.functions import Join",
        "from sagemaker.core.workflow.pipeline_context import LocalPipelineSession, PipelineSession",
        "from sagemaker.mlops.workflow import ParallelismConfiguration, Pipeline, PipelineExperimentConfig, PipelineSchedule",
    )
    params = []
    for spec in sorted(pipeline.parameters.values(), key=lambda s: s.name):
        cls = _PARAM_CLASSES[spec.type]
        names.need(f"from sagemaker.core.workflow.parameters import {cls}")
        params.append(
            f"{names.param(spec.name)} = {cls}(name={quoting.py_literal(spec.name)}, "
            f"default_value={quoting.py_literal(spec.default)})"
            + (f"  # {quoting.comment(spec.airflow)}" if spec.airflow else "")
        )
    # Steps listed in a ConditionStep's if/else lists must not be listed again at the top.
    nested = {target for (_, target) in pipeline.branch_sides}
    step_vars = ", ".join(v for n, v in names.step_vars.items() if n not in nested)
    param_vars = ", ".join(
        names.param(s.name) for s in sorted(pipeline.parameters.values(), key=lambda s: s.name)
    )
    images = image_constants(pipeline, config)
    tags = [{"Key": "airflow:dag_id", "Value": dag.dag_id}] + [
        {"Key": k, "Value": v} for k, v in sorted(config.tags.items())
    ]
    pipeline_tags = [{"Key": f"airflow:tag:{t}", "Value": "true"} for t in pipeline.tags]
    network = config.network
    schedule = pipeline.schedule or {}
    # What only script steps (Python, bash) use; a pipeline of SageMaker jobs does without it.
    script_setup = (
        """    if local:
        instance_type = "local"
    bucket = BUCKET or session.default_bucket()
"""
        if any(script_of(s.spec) is not None for s in pipeline.steps.values())
        else ""
    )
    imports = "\n".join(sorted(names.imports))
    about = quoting.docstring(f"`{dag.dag_id}` ({source_path}:{dag.line})")
    return f'''"""SageMaker pipeline translated from the Airflow DAG {about}.

Generated by `bridge translate`; see REPORT.md for what mapped exactly, approximately or not at
all, and manifest.json for the task-by-task record.

    python pipeline.py                      # print the pipeline definition JSON
    python pipeline.py --upsert             # create or update the pipeline in your account
    python pipeline.py --upsert --start     # ... and start an execution
    python pipeline.py --upsert --start --endpoint-url http://127.0.0.1:8765  # ... on bridge serve
    python pipeline.py --local              # build it for SageMaker local mode
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

{imports}

HERE = Path(__file__).resolve().parent
STEPS_DIR = HERE / "steps"
PIPELINE_NAME = {_py(pipeline.name)}
REGION = {_py(config.region)}
ROLE_ARN = {_py(config.role)}  # empty: $SAGEMAKER_ROLE_ARN
BUCKET = {_py(config.bucket)}  # empty: the session's default bucket
INSTANCE_TYPE = {_py(config.instance_type)}
{images}
TAGS = {_py(tags)}  # cost tags on every job the pipeline starts
PIPELINE_TAGS = {_py(pipeline_tags)}
SUBNETS = {_py(network.subnets)}
SECURITY_GROUP_IDS = {_py(network.security_group_ids)}
ENABLE_NETWORK_ISOLATION = {_py(network.enable_network_isolation)}
SCHEDULE = {_py(schedule.get("kwargs") or {})}  # Airflow schedule {quoting.comment(_one_line(dag.schedule))} (EventBridge)
MAX_PARALLEL_STEPS = {_py(pipeline.max_parallel)}  # Airflow max_active_tasks


def use_endpoint(url: str) -> None:
    """Send this process's SageMaker, S3 and STS calls to `url` (`bridge serve`, LocalStack):
    the variables boto3 reads for every client, including those the SDK makes itself."""
    for name in ("AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS"):
        os.environ[name] = url


def pipeline_session() -> PipelineSession:
    """A session for SageMaker where boto3 points it: AWS, or the endpoint named by
    AWS_ENDPOINT_URL_SAGEMAKER / AWS_ENDPOINT_URL. The SDK asks AWS's own STS for the account
    of its default bucket and checks roles with AWS's IAM; at another endpoint that endpoint's
    STS names the account, and the role check is left to the endpoint."""
    boto_session = boto3.Session()
    bucket = BUCKET or None
    if os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER") or os.environ.get("AWS_ENDPOINT_URL"):
        os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
        if not bucket:
            account = boto_session.client("sts").get_caller_identity()["Account"]
            bucket = f"sagemaker-{{boto_session.region_name}}-{{account}}"
    return PipelineSession(boto_session=boto_session, default_bucket=bucket)


def network_config() -> NetworkConfig | None:
    if not (SUBNETS or SECURITY_GROUP_IDS or ENABLE_NETWORK_ISOLATION):
        return None
    return NetworkConfig(
        subnets=SUBNETS or None,
        security_group_ids=SECURITY_GROUP_IDS or None,
        enable_network_isolation=ENABLE_NETWORK_ISOLATION,
    )


def step_file(name: str) -> str:
    """A file under steps/, relative when building from this folder: SageMaker names uploaded
    code by path and content, so the definition then does not depend on where the folder is."""
    return f"steps/{{name}}" if Path.cwd() == HERE else str(STEPS_DIR / name)


def image_uri(session, image: dict[str, str] | str) -> str:
    """An image URI as it is, or a framework image (framework/version) in the session's region."""
    if isinstance(image, str):
        return image
    region = session.boto_region_name or REGION
    return framework_image(image["framework"], image["version"], region)


@functools.cache
def framework_image(framework: str, version: str, region: str) -> str:
    return retrieve(framework=framework, region=region, version=version)  # ~50 ms: once per image


def script_processor(session, role, image, instance_type, env=None, max_runtime=None):
    """The processor that runs one step script (see steps/) on `image` (see image_uri)."""
    return ScriptProcessor(
        role=role,
        image_uri=image_uri(session, image),
        command=["python3"],
        instance_type=instance_type,
        instance_count=1,
        env=env,
        max_runtime_in_seconds=max_runtime,
        network_config=network_config(),
        tags=TAGS,
        sagemaker_session=session,
    )


def xcom_input(step, local_path: str) -> ProcessingInput:
    """An upstream step's XCom output, mounted where the step runtime reads it. Reading the
    output property tells SageMaker the data dependency; the final "/" keeps the prefix of step
    `a` from also matching step `a-0`'s."""
    output = step.properties.ProcessingOutputConfig.Outputs["xcom"].S3Output.S3Uri
    return ProcessingInput(
        input_name="xcom-" + step.name[:50],
        s3_input=ProcessingS3Input(
            s3_uri=Join(on="/", values=[output, ""]),
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def runtime_input() -> ProcessingInput:
    return ProcessingInput(
        input_name="bridge-runtime",
        s3_input=ProcessingS3Input(
            s3_uri=step_file({RUNTIME_FILE!r}),
            local_path={RUNTIME_INPUT!r},
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def execution_uri(bucket: str, *parts: str) -> Join:
    """s3://<bucket>/<pipeline>/<execution id>/<parts>: each execution's outputs apart."""
    return Join(
        on="/",
        values=["s3://" + bucket, PIPELINE_NAME, ExecutionVariables.PIPELINE_EXECUTION_ID, *parts],
    )


def xcom_output(bucket: str, step_name: str) -> ProcessingOutput:
    """The step's xcom.json, uploaded when the job ends under the execution's XCom prefix,
    s3://<bucket>/<pipeline>/<execution id>/xcom/<step>: a step reading more XComs than its
    job has inputs for mounts that whole prefix (execution_xcom_input)."""
    return ProcessingOutput(
        output_name="xcom",
        s3_output=ProcessingS3Output(
            s3_uri=execution_uri(bucket, "xcom", step_name),
            local_path="/opt/ml/processing/output/xcom",
            s3_upload_mode="EndOfJob",
        ),
    )


def job_output(bucket: str, step_name: str, name: str) -> ProcessingOutput:
    """/opt/ml/processing/output/<name>, uploaded when the job ends under the execution's
    prefix, s3://<bucket>/<pipeline>/<execution id>/<step>/<name>: a folder the step shares
    with later steps (REPORT.md, "Files between steps")."""
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=execution_uri(bucket, step_name, name),
            local_path="/opt/ml/processing/output/" + name,
            s3_upload_mode="EndOfJob",
        ),
    )
{helper_functions(names)}

def get_pipeline(
    session=None,
    role: str | None = None,
    *,
    pipeline_name: str = PIPELINE_NAME,
    version: str | None = None,
    local: bool = False,
    instance_type: str = INSTANCE_TYPE,
) -> Pipeline:
    """The pipeline. `version` makes a side-by-side copy ("<name>-<version>")."""
    if session is None:
        session = (
            LocalPipelineSession(default_bucket=BUCKET or None)
            if local
            else pipeline_session()
        )
    role = role or ROLE_ARN or os.environ.get("SAGEMAKER_ROLE_ARN", "")
{script_setup}
    # Pipeline parameters: DAG params, and the Airflow context values the steps use.
    {chr(10).join("    " + p if i else p for i, p in enumerate(params)) or "pass"}

{_indent(body)}

    return Pipeline(
        name=f"{{pipeline_name}}-{{version}}" if version else pipeline_name,
        parameters=[{param_vars}],
        steps=[{step_vars}],
        sagemaker_session=session,
        pipeline_experiment_config=PipelineExperimentConfig(
            experiment_name=ExecutionVariables.PIPELINE_NAME,
            trial_name=ExecutionVariables.PIPELINE_EXECUTION_ID,
        ),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upsert", action="store_true", help="create or update the pipeline")
    parser.add_argument("--start", action="store_true", help="start an execution after --upsert")
    parser.add_argument("--local", action="store_true", help="use LocalPipelineSession")
    parser.add_argument("--role", default=None, help="execution role ARN")
    parser.add_argument("--version", default=None, help="deploy as <name>-<version>")
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="SageMaker and S3 endpoint, e.g. bridge serve's (default: boto3's AWS_ENDPOINT_URL_*)",
    )
    args = parser.parse_args(argv)
    if args.endpoint_url:
        use_endpoint(args.endpoint_url)
    os.chdir(HERE)  # see step_file()
    pipeline = get_pipeline(role=args.role, local=args.local, version=args.version)
    if not args.upsert:
        print(json.dumps(json.loads(pipeline.definition()), indent=2, sort_keys=True))
        return
    role = args.role or ROLE_ARN or os.environ["SAGEMAKER_ROLE_ARN"]
    parallelism = (
        ParallelismConfiguration(max_parallel_execution_steps=MAX_PARALLEL_STEPS)
        if MAX_PARALLEL_STEPS
        else None
    )
    pipeline.upsert(role_arn=role, tags=TAGS + PIPELINE_TAGS, parallelism_config=parallelism)
    if SCHEDULE:
        pipeline.put_triggers(
            triggers=[PipelineSchedule(name=f"{{pipeline.name}}-schedule"[:256], **SCHEDULE)],
            role_arn=role,
        )
    if args.start:
        print(pipeline.start(parallelism_config=parallelism).arn)


if __name__ == "__main__":
    main()
'''


def _one_line(value) -> str:
    return json.dumps(value, default=str).replace("\n", " ")[:120]


def _indent(text: str) -> str:
    return "\n".join(("    " + line) if line.strip() else "" for line in text.splitlines())
