"""`bridge validate OUT/<dag_id>`: build each emitted pipeline offline and check it.

The emitted `pipeline.py` is imported in a child process (the SageMaker SDK takes seconds to import
and needs its environment set first) with moto standing in for S3 and STS: no AWS credentials, no
network. For each folder it writes `definition.json` and checks:
  (a) for the tasks that became steps, "must run before" in the definition equals the DAG's
      (a task with several steps or branch copies runs before another when any of its steps does;
      a pipeline order that the DAG lacks is always a problem);
  (b) SageMaker operator steps: the step Arguments equal the operator's config field by field;
  (c) every task of the DAG is in manifest.json, and every step of the definition in the manifest;
  (d) each step file the definition names by content (pipeline_support.StepFiles) is in the
      folder with that content.
It records the definition's size and step count (manifest.json, REPORT.md) and iam/. Every step
is built by the SDK; the checks grow linearly with the pipeline (the closure as bit sets).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bridge.definition import ARTIFACTS_FILE, RUNTIME_VALUE, all_steps, step_dependencies
from bridge.emit.iam import OfflineBuild, Target, function_roles, write_iam
from bridge.emit.manifest import write_manifest
from bridge.reach import descendant_bits, members
from bridge.run.pipeline_module import import_pipeline

REGION = "us-east-1"
BUCKET = "bridge-validate"
ROLE = "arn:aws:iam::123456789012:role/BridgeValidate"
OFFLINE_BUILD = OfflineBuild(bucket=BUCKET, role=ROLE, account=ROLE.split(":")[4], region=REGION)


def validate_folders(
    folders: list[Path], timeout: float = 600.0, tasks: dict[Path, list[str]] | None = None
) -> dict[str, dict]:
    """Verdicts {folder: {"ok": bool, "problems": [...]}} from one child process, keyed by the
    folders' absolute paths (the child changes directory while it builds). `tasks`: the DAG's
    task ids for folders whose DAG was just parsed (else the child parses the file again)."""
    return Validation.start().verdicts(folders, timeout, tasks)


class Validation:
    """The validation children, started before they have work: `bridge translate` starts them
    first, so that their imports (the SageMaker SDK, moto: seconds) overlap the translation.
    Each reads its folders from stdin and answers one JSON line; folders are dealt out to them
    in turn, so that a run of many DAGs is validated on every core."""

    def __init__(self, children: list[subprocess.Popen], missing: list[str]):
        self.children, self.missing = children, missing

    @classmethod
    def start(cls, children: int = 1) -> Validation:
        missing = missing_modules()
        if missing:
            return cls([], missing)
        cmd = [sys.executable, "-m", "bridge.emit.validate", "--stdin"]
        pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return cls([subprocess.Popen(cmd, text=True, **pipes) for _ in range(children)], [])

    def verdicts(
        self,
        folders: list[Path],
        timeout: float = 600.0,
        tasks: dict[Path, list[str]] | None = None,
    ) -> dict[str, dict]:
        folders = [Path(f).resolve() for f in folders]
        if not self.children:
            problem = {"ok": None, "problems": [], "skipped": skipped_reason(self.missing)}
            return {str(f): dict(problem) for f in folders}
        known = {str(Path(f).resolve()): ids for f, ids in (tasks or {}).items()}
        shares = [folders[i :: len(self.children)] for i in range(len(self.children))]
        for child, share in zip(self.children, shares, strict=True):
            named = [str(f) for f in share]
            request = {"folders": named, "tasks": {f: known[f] for f in named if f in known}}
            try:
                child.stdin.write(json.dumps(request) + "\n")  # an empty share: the child ends
                child.stdin.flush()
            except OSError:  # it has died already: _answer reports what it said
                pass
        deadline = time.monotonic() + timeout
        verdicts: dict[str, dict] = {}
        for child, share in zip(self.children, shares, strict=True):
            verdicts.update(_answer(child, share, max(0.0, deadline - time.monotonic()), timeout))
        return verdicts

    def cancel(self) -> None:
        """No work for them after all: the children are stopped."""
        for child in self.children:
            _stop(child)


def _answer(child: subprocess.Popen, folders: list[Path], wait: float, timeout: float) -> dict:
    """One child's verdicts, or each of its folders' problem when it failed or took too long."""
    try:
        stdout, stderr = child.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        _stop(child)
        message = f"timed out after {timeout:.0f} s"
        return {str(f): {"ok": False, "problems": [message]} for f in folders}
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        tail = (stderr or "").strip().splitlines()[-3:]
        message = f"validation process failed (exit {child.returncode}): " + " | ".join(tail)
        return {str(f): {"ok": False, "problems": [message]} for f in folders}


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.communicate()


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


def _child(folders: list[str] | None, tasks: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """Build and check each folder. `folders` None: Validation's child, which gets everything
    ready (the SDK's import, moto, the session: seconds that overlap the translation), then
    reads its folders and the DAGs' task ids from stdin."""
    offline_environment()
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import boto3
    import moto
    import networkx  # noqa: F401  (the closure check's)

    import bridge.emit.jobs.registry  # noqa: F401  (the round trip's)

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
        if folders is None:
            # One line, not up to EOF: processes the parent forked since (the parse worker,
            # the file pool) hold copies of the pipe's other end.
            request = json.loads(sys.stdin.readline())
            folders, tasks = request["folders"], request.get("tasks")
        for folder in folders:
            verdicts[folder] = validate_folder(Path(folder), session, (tasks or {}).get(folder))
    return verdicts


def _cache_schema_checks() -> None:
    """The SDK validates its config with `jsonschema.validate` on every lookup, which re-checks
    its large schema each time (0.3 s a call, 150 calls for an 8-step pipeline). Build one
    validator per schema instead, and validate each distinct config once."""
    import jsonschema

    validators: dict[int, Any] = {}
    valid: set[tuple[int, str]] = set()  # (schema, instance as JSON) known valid

    def validate(instance, schema, cls=None, *args, **kwargs):
        # The SDK checks the same small config on every lookup, 15 times a step.
        seen = (id(schema), json.dumps(instance, sort_keys=True, default=repr))
        if seen in valid:
            return
        validator = validators.get(id(schema))
        if validator is None:
            validator_cls = cls or jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
            validator = validators[id(schema)] = validator_cls(schema, *args, **kwargs)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error
        valid.add(seen)

    jsonschema.validate = validate
    # ProcessingStep/TransformStep build a whole LocalSagemakerClient (a session, clients, a config
    # load) only to read a method's __name__, 0.5-3 s a step; the class gives the same name.
    import sagemaker.mlops.workflow.steps as steps_module

    local_client = steps_module.LocalSagemakerClient
    steps_module.LocalSagemakerClient = lambda: local_client


def validate_folder(folder: Path, session, tasks: list[str] | None = None) -> dict[str, Any]:
    """Build and check one folder; `tasks`: the DAG's task ids, if the caller just parsed it."""
    problems: list[str] = []
    folder = folder.resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    # First: a parse must not add to the build's peak.
    problems += _missing_tasks(folder, manifest, tasks)
    cwd = os.getcwd()
    # Step files are uploaded by relative path, so the definition is the same anywhere.
    os.chdir(folder)
    try:
        module = _import(folder / "pipeline.py")
        pipeline = module.get_pipeline(session=session, role=ROLE, **_no_upload(module))
        text = pipeline.definition()
        definition = json.loads(text)
    except Exception as exc:  # the emitted code failed to build: that is the verdict
        return {"ok": False, "problems": [f"definition did not build: {type(exc).__name__}: {exc}"]}
    finally:
        os.chdir(cwd)
    with (folder / "definition.json").open("w", encoding="utf-8") as out:
        json.dump(definition, out, indent=2, sort_keys=True)  # in pieces, not one string
        out.write("\n")
    problems += record_artifacts(folder, definition)
    record_iam(folder, definition, manifest, module, pipeline)
    steps = all_steps(definition["Steps"])
    record_size(folder, manifest, text, steps)
    problems += _unlisted_steps(manifest, steps)
    problems += closure_differences(manifest, steps)
    problems += _round_trip(manifest, steps)
    problems += job_limit_problems(steps)
    return {"ok": not problems, "problems": problems}


# CreatePipeline takes at most this many characters in PipelineDefinition; the SDK sends a
# definition of 100 KiB or more through PipelineDefinitionS3Location (Pipeline.upsert).
INLINE_LIMIT = 1024 * 1024
SDK_S3_FROM = 100 * 1024
REPORT_SECTION = "## The built definition"


def record_size(folder: Path, manifest: dict, text: str, steps: dict[str, dict]) -> None:
    """The definition's size and step count, in manifest.json ("definition") and REPORT.md
    (a section of its own, replaced when validated again)."""
    size = len(text.encode("utf-8"))
    via = "inline" if size < SDK_S3_FROM else "PipelineDefinitionS3Location"
    manifest["definition"] = {
        "characters": len(text),
        "bytes": size,
        "steps": len(steps),
        "upsert": via,
    }
    write_manifest(folder, manifest)
    report = folder / "REPORT.md"
    before = report.read_text(encoding="utf-8").split(f"\n{REPORT_SECTION}\n")[0].rstrip("\n")
    sent = (
        "inline"
        if via == "inline"
        else f"through `PipelineDefinitionS3Location` (the SDK puts it in the bucket: "
        f"CreatePipeline takes at most {INLINE_LIMIT:,} characters inline)"
    )
    section = [
        REPORT_SECTION,
        "",
        f"`bridge validate` built `definition.json` offline with the SageMaker SDK: "
        f"{len(steps):,} steps, {len(text):,} characters ({size:,} bytes). "
        f"`python pipeline.py --upsert` sends it {sent}.",
        "",
        "Checked on that definition: each task's order against the DAG's (the dependency "
        "closure), each SageMaker operator step's configuration field by field against the "
        "operator's, every task and step in manifest.json, and the job limits. Every step was "
        "built by the SDK; none was checked without it.",
    ]
    report.write_text(before + "\n\n" + "\n".join(section) + "\n", encoding="utf-8")


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


def _no_upload(module) -> dict[str, bool]:
    """get_pipeline(upload=False): the definition names the step files by content, so they
    need not be put in S3 to build it (older outputs upload: they lack the argument)."""
    import inspect

    return (
        {"upload": False} if "upload" in inspect.signature(module.get_pipeline).parameters else {}
    )


# pipeline_support.StepFiles: a file or folder of the output, named by its content.
CODE_KEY = re.compile(r"[^/]+/code/(?P<digest>[0-9a-f]{64})/(?P<path>(?:steps|inputs)/.+)")


def record_artifacts(folder: Path, definition: dict) -> list[str]:
    """artifacts.json: each S3 object the definition names and its file in the folder, so
    `bridge run` can stage them without AWS. The step files (steps/, inputs/) are named by
    content, which is checked here; an object the SDK put while building (a tarball) is kept
    under artifacts/. Returns the files whose content differs from what the definition names."""
    recorded: dict[str, str] = {}
    problems: list[str] = []
    built: list[str] = []
    for uri in sorted(_literal_uris(definition)):
        match = CODE_KEY.fullmatch(uri.removeprefix(f"s3://{BUCKET}/"))
        if match is None:
            built.append(uri)
            continue
        path = folder / match["path"]
        if not path.resolve().is_relative_to(folder) or not path.exists():
            problems.append(f"{uri} names {match['path']}, which is not in the folder")
        elif content_digest(path) != match["digest"]:
            problems.append(f"{uri} names other content than {match['path']} holds")
        elif path.is_file():
            recorded[uri] = match["path"]
        else:
            for file in sorted(f for f in path.rglob("*") if f.is_file()):
                inside = file.relative_to(path).as_posix()
                recorded[uri.rstrip("/") + "/" + inside] = file.relative_to(folder).as_posix()
    recorded.update(_sdk_objects(folder, built))
    (folder / ARTIFACTS_FILE).write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    return problems


def _sdk_objects(folder: Path, uris: list[str]) -> dict[str, str]:
    """The objects under `uris` that the SDK put in the (moto) bucket while building, copied to
    artifacts/: one listing of the bucket, not one per URI."""
    if not uris:
        return {}
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for obj in page.get("Contents", [])
    ]
    wanted = {uri.removeprefix(f"s3://{BUCKET}/") for uri in uris}
    files = [*(folder / "steps").glob("**/*"), *(folder / "inputs").glob("**/*")]
    local = {p.read_bytes(): p for p in sorted(files) if p.is_file()}
    recorded = {}
    for key in keys:
        if not any(key.startswith(prefix) for prefix in wanted):
            continue
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        path = local.get(body)
        if path is None:  # made by the SDK (a tarball): kept as it is
            path = folder / "artifacts" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        recorded[f"s3://{BUCKET}/{key}"] = path.relative_to(folder).as_posix()
    return recorded


def content_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (their relative paths and digests): the
    definition's name for it (pipeline_support.content_digest, computed here independently)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{content_digest(file)}\0".encode())
    return digest.hexdigest()


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
    import networkx as nx

    step_edges = [(d, name) for name, deps in step_dependencies(steps).items() for d in deps]
    task_steps = {t: info["steps"] for t, info in manifest["tasks"].items()}
    try:
        return order_differences(manifest["dag_edges"], task_steps, step_edges)
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(nx.DiGraph(step_edges))
        return ["the steps wait for each other in a cycle: " + " -> ".join(u for u, _ in cycle)]


def order_differences(
    dag_edges: list, task_steps: dict[str, list[str]], step_edges: list
) -> list[str]:
    """Pairs of tasks (both with steps) whose "must run before" differs between DAG and pipeline.

    A task runs before another in the pipeline when some step of the first precedes some step
    of the second: branch copies of a join each follow their own branch only. Both relations
    are transitive closures, held as one bit set of tasks per node (bridge.reach): linear in
    the edges, with n-bit words.
    """
    survivors = [t for t, names in task_steps.items() if names]
    bit = {t: 1 << i for i, t in enumerate(survivors)}
    task_of = {s: t for t, names in task_steps.items() for s in names}
    step_nodes = [s for names in task_steps.values() for s in names]
    later_steps = descendant_bits(step_nodes, step_edges, lambda s: bit.get(task_of.get(s), 0))
    later_tasks = descendant_bits(list(task_steps), map(tuple, dag_edges), lambda t: bit.get(t, 0))
    problems = []
    for a in survivors:
        pipeline_says = 0
        for step in task_steps[a]:
            pipeline_says |= later_steps.get(step, 0)
        pipeline_says &= ~bit[a]
        dag_says = later_tasks[a] & ~bit[a]
        for b in members(pipeline_says ^ dag_says, survivors):
            if dag_says & bit[b]:
                problems.append(f"`{a}` runs before `{b}` in the DAG but not in the pipeline")
            else:
                problems.append(f"`{a}` runs before `{b}` in the pipeline but not in the DAG")
    return problems


def source_file(folder: Path, shown: str) -> Path | None:
    """The DAG file a manifest names: absolute, or relative to the folder translate ran from,
    which is an ancestor of the output folder (found from the folder, not the working dir)."""
    path = Path(shown)
    if path.is_absolute():
        return path if path.is_file() else None
    return next((p / path for p in folder.parents if (p / path).is_file()), None)


def _missing_tasks(folder: Path, manifest: dict, tasks: list[str] | None = None) -> list[str]:
    """Check (c), tasks: the DAG's tasks (`tasks`, from the parse `bridge translate` just did,
    or the file parsed again by the parse worker, within the parse budget) against the
    manifest."""
    if tasks is None:
        from bridge.parse.worker import parse_file_budgeted

        source = source_file(folder, manifest["source"]["path"])
        if source is None:
            return []
        dags = [d for d in parse_file_budgeted(source).dags if d.dag_id == manifest["dag_id"]]
        tasks = list(dags[0].tasks) if dags else []
    missing = sorted(set(tasks) - set(manifest["tasks"]))
    return [f"tasks missing from the manifest: {', '.join(missing)}"] if missing else []


def _unlisted_steps(manifest: dict, steps: dict[str, dict]) -> list[str]:
    """Check (c), steps: every step of the definition in the manifest, and the reverse."""
    problems = []
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
    if sys.argv[1:] == ["--stdin"]:
        print(json.dumps(_child(None)))
    else:
        print(json.dumps(_child(sys.argv[1:])))
