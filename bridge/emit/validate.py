"""`bridge validate OUT/<dag_id>`: build each emitted pipeline offline and check it.

The emitted `pipeline.py` is imported in a child process (the SageMaker SDK takes seconds to import
and needs its environment set first) with moto standing in for S3 and STS: no AWS credentials, no
network. For each folder it writes `definition.json` and checks:
  (a) for the tasks that became steps, "must run before" in the definition equals the DAG's
      (a task with several steps or branch copies runs before another when any of its steps does;
      a pipeline order that the DAG lacks is always a problem);
  (b) SageMaker operator steps: the step Arguments equal the operator's config field by field;
  (c) every task of the DAG is in manifest.json, and every step of the definition in the manifest.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bridge.definition import ARTIFACTS_FILE, RUNTIME_VALUE, all_steps, step_dependencies
from bridge.emit.iam import OfflineBuild, Target, function_roles, write_iam
from bridge.run.pipeline_module import import_pipeline

REGION = "us-east-1"
BUCKET = "bridge-validate"
ROLE = "arn:aws:iam::123456789012:role/BridgeValidate"
OFFLINE_BUILD = OfflineBuild(bucket=BUCKET, role=ROLE, account=ROLE.split(":")[4], region=REGION)


def validate_folders(folders: list[Path], timeout: float = 600.0) -> dict[str, dict]:
    """Verdicts {folder: {"ok": bool, "problems": [...]}} from one child process, keyed by the
    folders' absolute paths (the child changes directory while it builds)."""
    folders = [Path(f).resolve() for f in folders]
    missing = missing_modules()
    if missing:
        problem = {"ok": None, "problems": [], "skipped": skipped_reason(missing)}
        return {str(f): dict(problem) for f in folders}
    cmd = [sys.executable, "-m", "bridge.emit.validate", *[str(f) for f in folders]]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {
            str(f): {"ok": False, "problems": [f"timed out after {timeout:.0f} s"]} for f in folders
        }
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        tail = (done.stderr or "").strip().splitlines()[-3:]
        message = "validation process failed: " + " | ".join(tail)
        return {str(f): {"ok": False, "problems": [message]} for f in folders}


# What the child imports: the SageMaker SDK to build, moto to stand in for S3/STS, boto3.
VALIDATE_MODULES = ("sagemaker", "moto", "boto3")


def missing_modules() -> list[str]:
    """The modules validation needs that this environment lacks (a plain `pip install`)."""

    return [m for m in VALIDATE_MODULES if importlib.util.find_spec(m) is None]


def skipped_reason(missing: list[str]) -> str:
    return (
        f"not validated: {', '.join(missing)} not installed; "
        "pip install 'airflow-sagemaker-bridge[validate]', or pass --no-validate"
    )


def offline_environment() -> None:
    config = Path(tempfile.mkdtemp(prefix="bridge-validate-")) / "sagemaker.yaml"
    config.write_text(
        'SchemaVersion: "1.0"\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n'
    )
    os.environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        SAGEMAKER_VALIDATE_ROLE="false",
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(config),
    )


def _child(folders: list[str]) -> dict[str, dict]:
    offline_environment()
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import boto3
    import moto

    _cache_schema_checks()
    verdicts = {}
    with moto.mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        # LambdaSteps built from a script create their function inside definition(): moto
        # checks that the execution role exists.
        boto3.client("iam", region_name=REGION).create_role(
            RoleName=ROLE.rsplit("/", 1)[-1],
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        session = PipelineSession(default_bucket=BUCKET)
        for folder in folders:
            verdicts[folder] = validate_folder(Path(folder), session)
    return verdicts


def _cache_schema_checks() -> None:
    """The SDK validates its config with `jsonschema.validate` on every lookup, which re-checks
    its large schema each time (0.3 s a call, 150 calls for an 8-step pipeline). Build one
    validator per schema instead; instances are still validated."""
    import jsonschema

    validators: dict[int, Any] = {}

    def validate(instance, schema, cls=None, *args, **kwargs):
        validator = validators.get(id(schema))
        if validator is None:
            validator_cls = cls or jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
            validator = validators[id(schema)] = validator_cls(schema, *args, **kwargs)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    jsonschema.validate = validate
    # ProcessingStep/TransformStep build a whole LocalSagemakerClient (a session, clients, a config
    # load) only to read a method's __name__, 0.5-3 s a step; the class gives the same name.
    import sagemaker.mlops.workflow.steps as steps_module

    local_client = steps_module.LocalSagemakerClient
    steps_module.LocalSagemakerClient = lambda: local_client


def validate_folder(folder: Path, session) -> dict[str, Any]:
    problems: list[str] = []
    folder = folder.resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    cwd = os.getcwd()
    # Step files are uploaded by relative path, so the definition is the same anywhere.
    os.chdir(folder)
    try:
        module = _import(folder / "pipeline.py")
        pipeline = module.get_pipeline(session=session, role=ROLE)
        definition = json.loads(pipeline.definition())
    except Exception as exc:  # the emitted code failed to build: that is the verdict
        return {"ok": False, "problems": [f"definition did not build: {type(exc).__name__}: {exc}"]}
    finally:
        os.chdir(cwd)
    (folder / "definition.json").write_text(
        json.dumps(definition, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    record_artifacts(folder, definition)
    record_iam(folder, definition, manifest, module, pipeline)
    steps = all_steps(definition["Steps"])
    problems += _manifest_problems(folder, manifest, steps)
    problems += closure_differences(manifest, steps)
    problems += _round_trip(manifest, steps)
    problems += job_limit_problems(steps)
    return {"ok": not problems, "problems": problems}


def job_limit_problems(steps: dict[str, dict]) -> list[str]:
    """Processing jobs SageMaker would refuse to start: a literal argument over its length, or
    more inputs or outputs than a job takes (bridge/translate/job_limits.py)."""
    from bridge.translate.job_limits import MAX_ARGUMENT, MAX_INPUTS, MAX_OUTPUTS

    problems = []
    for name, step in sorted(steps.items()):
        if step.get("Type") != "Processing":
            continue
        args = step.get("Arguments") or {}
        arguments = (args.get("AppSpecification") or {}).get("ContainerArguments") or []
        long = [a for a in arguments if isinstance(a, str) and len(a) > MAX_ARGUMENT]
        if long:
            problems.append(
                f"step `{name}`: a job argument of {len(long[0])} characters (at most "
                f"{MAX_ARGUMENT}): {long[0][:40]}..."
            )
        inputs = len(args.get("ProcessingInputs") or [])
        outputs = len((args.get("ProcessingOutputConfig") or {}).get("Outputs") or [])
        if inputs > MAX_INPUTS or outputs > MAX_OUTPUTS:
            problems.append(
                f"step `{name}`: {inputs} job inputs and {outputs} outputs (at most "
                f"{MAX_INPUTS} and {MAX_OUTPUTS})"
            )
    return problems


def record_iam(folder: Path, definition: dict, manifest: dict, module, pipeline) -> None:
    """iam/: the policies the built pipeline needs (bridge.emit.iam), for the bucket and role
    pipeline.py is configured with and the roles of the Lambda functions it creates."""
    role, bucket = getattr(module, "ROLE_ARN", ""), getattr(module, "BUCKET", "")
    name, region = manifest["pipeline"]["name"], manifest["pipeline"]["region"]
    target = Target.of(name, region, role, bucket)
    write_iam(folder, definition, manifest, target, OFFLINE_BUILD, function_roles(pipeline))


def record_artifacts(folder: Path, definition: dict) -> None:
    """artifacts.json: each S3 object the definition names (code, the runtime, repository data)
    and the file of the folder with the same bytes, so `bridge run` can stage them without AWS.
    An object that is no file here (a tarball the SDK made) is kept under artifacts/."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    # Step code, and the repository data copied to inputs/ (bridge.emit.folder).
    files = [*(folder / "steps").glob("**/*"), *(folder / "inputs").glob("**/*")]
    local = {p.read_bytes(): p for p in sorted(files) if p.is_file()}
    recorded: dict[str, str] = {}
    for uri in sorted(_literal_uris(definition)):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        for obj in listing:
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            path = local.get(body)
            if path is None:
                path = folder / "artifacts" / obj["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
            recorded[f"s3://{bucket}/{obj['Key']}"] = path.relative_to(folder).as_posix()
    (folder / ARTIFACTS_FILE).write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")


def _literal_uris(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {u for v in value.values() for u in _literal_uris(v)}
    if isinstance(value, list):
        return {u for v in value for u in _literal_uris(v)}
    if isinstance(value, str) and value.startswith(f"s3://{BUCKET}/") and len(value) > 20:
        return {value}
    return set()


def _import(path: Path):
    return import_pipeline(path, f"bridge_emitted_{abs(hash(str(path.resolve())))}")


def closure_differences(manifest: dict, steps: dict[str, dict]) -> list[str]:
    """Check (a) on a built definition: its step dependencies against the DAG's edges."""
    step_edges = [(d, name) for name, deps in step_dependencies(steps).items() for d in deps]
    task_steps = {t: info["steps"] for t, info in manifest["tasks"].items()}
    return order_differences(manifest["dag_edges"], task_steps, step_edges)


def order_differences(
    dag_edges: list, task_steps: dict[str, list[str]], step_edges: list
) -> list[str]:
    """Pairs of tasks (both with steps) whose "must run before" differs between DAG and pipeline.

    A task runs before another in the pipeline when some step of the first precedes some step
    of the second: branch copies of a join each follow their own branch only.
    """
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(s for names in task_steps.values() for s in names)
    g.add_edges_from(step_edges)
    task_of = {s: t for t, names in task_steps.items() for s in names}
    dag = nx.DiGraph()
    dag.add_nodes_from(task_steps)
    dag.add_edges_from(map(tuple, dag_edges))
    pipeline_before: set[tuple[str, str]] = set()
    for name in g.nodes:
        for later in nx.descendants(g, name):
            a, b = task_of.get(name), task_of.get(later)
            if a and b and a != b:
                pipeline_before.add((a, b))
    survivors = [t for t, names in task_steps.items() if names]
    problems = []
    for a in survivors:
        after = nx.descendants(dag, a)
        for b in survivors:
            if a == b:
                continue
            dag_says, pipeline_says = b in after, (a, b) in pipeline_before
            if dag_says and not pipeline_says:
                problems.append(f"`{a}` runs before `{b}` in the DAG but not in the pipeline")
            elif pipeline_says and not dag_says:
                problems.append(f"`{a}` runs before `{b}` in the pipeline but not in the DAG")
    return problems


def source_file(folder: Path, shown: str) -> Path | None:
    """The DAG file a manifest names: absolute, or relative to the folder translate ran from,
    which is an ancestor of the output folder (found from the folder, not the working dir)."""
    path = Path(shown)
    if path.is_absolute():
        return path if path.is_file() else None
    return next((p / path for p in folder.parents if (p / path).is_file()), None)


def _manifest_problems(folder: Path, manifest: dict, steps: dict[str, dict]) -> list[str]:
    from bridge.parse.dag_file import parse_file

    problems = []
    source = source_file(folder, manifest["source"]["path"])
    dags = [d for d in parse_file(source).dags if d.dag_id == manifest["dag_id"]] if source else []
    if dags and set(dags[0].tasks) != set(manifest["tasks"]):
        missing = sorted(set(dags[0].tasks) - set(manifest["tasks"]))
        problems.append(f"tasks missing from the manifest: {', '.join(missing)}")
    unknown = sorted(set(steps) - set(manifest["steps"]))
    if unknown:
        problems.append(f"definition steps not in the manifest: {', '.join(unknown)}")
    absent = sorted(set(manifest["steps"]) - set(steps))
    if absent:
        problems.append(f"manifest steps not in the definition: {', '.join(absent)}")
    return problems


def _round_trip(manifest: dict, steps: dict[str, dict]) -> list[str]:
    problems = []
    for name, info in manifest["steps"].items():
        job = info.get("job")
        if not job or name not in steps:
            continue
        from bridge.emit.jobs.registry import JobPractices, compare_arguments

        config = _mark_templates(job["config"])
        arguments = _mark_variables(steps[name].get("Arguments") or {})
        practices = JobPractices.from_dict(job.get("practices"))
        for difference in compare_arguments(job["job"], config, arguments, practices=practices):
            problems.append(f"step `{name}` ({job['job']}): {difference}")
    return problems


# A config leaf known only at run time (a template, a name read from another step) is compared
# as "some pipeline value"; translators/sagemaker.py marks linked names with it too.
def _mark_templates(value: Any) -> Any:
    """A templated config string becomes a pipeline expression: compare it as a run-time value."""
    if isinstance(value, dict):
        return {k: _mark_templates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_templates(v) for v in value]
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return RUNTIME_VALUE
    return value


def _mark_variables(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) & {"Get", "Std:Join", "Std:JsonGet"}:
            return RUNTIME_VALUE
        return {k: _mark_variables(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_variables(v) for v in value]
    return value


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1:])))
