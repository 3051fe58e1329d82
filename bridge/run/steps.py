"""How `bridge run` executes each kind of step on this machine: one executor per step Type.

Each executor gets a `StepJob` (the step's JSON with its Arguments already resolved, a working
folder, the object store) and returns an `Outcome`. A job's `/opt/ml` is a folder of the step
(`steps/<name>/ml`). A Processing or Training job whose entrypoint is a Python or bash script
runs in a bubblewrap sandbox (bridge/run/sandbox.py) that mounts that folder at /opt/ml and
shows nothing else of this machine but its system folders, on the image's Python when it is
installed here (bridge/run/interpreters.py). Without a sandbox it runs on the host with /opt/ml
paths in its entrypoint, arguments and environment rewritten to the folder, and BRIDGE_ML_ROOT
telling the bridge step runtime where it is. Either way the audit hook (bridge/run/audit) records
the files it touches outside its own, and refuses reads of files the job would not have.
A job whose image must run as a container runs through Docker when an engine is present, and
is otherwise NotRunnable with the reason.

A job's process is killed when it outlives its timeout or when the run is stopped (`StepJob.stop`):
both go through the same kill, fired by a timer or by the StopSignal's `set()`, never by polling.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bridge.run import interpreters, sandbox
from bridge.run.interpreters import Interpreter
from bridge.run.object_store import ObjectStore
from bridge.run.record import FAILED, NOT_RUNNABLE, STOPPED, SUCCEEDED, FileAccess
from bridge.run.values import Scope, evaluate_conditions

OPT_ML = sandbox.OPT_ML
AUDIT_DIR = Path(__file__).parent / "audit"  # holds the sitecustomize.py every job imports
AUDIT_FILE = "audit.jsonl"
MAX_FILE_ACCESS = 100  # paths kept per step in the RunRecord
PYTHONS = re.compile(r"^python(\d+(\.\d+)?)?$")
SHELLS = {"bash", "sh"}
# A process killed by a signal (the OOM killer, a lost instance) is the local analogue of an
# infrastructure failure, which SageMaker retry policies cover; a non-zero exit is the script's
# own error (AlgorithmError), which they do not.
INFRASTRUCTURE_FAILURE = ("Step.SERVICE_FAULT", "SageMaker.JOB_INTERNAL_ERROR")


@dataclass
class StepJob:
    name: str
    step: dict  # the step's JSON in the definition
    arguments: Any  # its Arguments, resolved
    workdir: Path  # steps/<name>/ under the run folder
    log: Path
    timeout: float
    store: ObjectStore
    scope: Scope
    folder: Path  # the translation's output folder (Lambda handlers live in its steps/)
    manifest_step: dict = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # added to the environment of processes
    attempt: int = 1
    stop: threading.Event | None = None  # set: the run is stopped, kill the job's process
    bwrap: str | None = None  # run script jobs in this bubblewrap; None: on the host
    shared: tuple[Path, ...] = ()  # host folders a job sees at their own path (--data-dir)

    @property
    def ml_root(self) -> Path:
        return self.workdir / "ml"

    def seen(self, value: Any) -> Any:
        """`value` as the job's process sees it: /opt/ml in the sandbox, the folder without."""
        return value if self.bwrap else self.local(value)

    def local(self, value: Any) -> Any:
        """`value` with /opt/ml paths moved under this step's folder."""
        if isinstance(value, str) and (value == OPT_ML or value.startswith(OPT_ML + "/")):
            return str(self.ml_root) + value[len(OPT_ML) :]
        if isinstance(value, list):
            return [self.local(v) for v in value]
        if isinstance(value, dict):
            return {k: self.local(v) for k, v in value.items()}
        return value


@dataclass
class Outcome:
    status: str
    properties: dict = field(default_factory=dict)
    property_files: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    reason: str = ""
    failure_types: tuple[str, ...] = ()  # what a retry policy may match
    branch: bool | None = None
    python: str = ""  # the interpreter a script job ran on
    python_note: str = ""  # "python differs: image 3.9, ran 3.11"
    file_access: list[FileAccess] = field(default_factory=list)  # outside the job's own files


EXECUTORS: dict[str, Callable[[StepJob], Outcome]] = {}


def executor(*types: str):
    def register(fn):
        for step_type in types:
            EXECUTORS[step_type] = fn
        return fn

    return register


def execute(job: StepJob) -> Outcome:
    run = EXECUTORS.get(job.step.get("Type", ""))
    if run is None:
        return Outcome(NOT_RUNNABLE, reason=_service_only(job.step.get("Type", "?")))
    return run(job)


def _service_only(step_type: str) -> str:
    return (
        f"a {step_type} step is carried out by the SageMaker service itself (it creates or "
        "changes resources in your account): not runnable locally; use --engine aws"
    )


# ---- processes ------------------------------------------------------------------------------


class StopSignal(threading.Event):
    """A stop request for a run that takes effect at once: `set()` also calls the hooks of the
    processes running at that moment (each kills its process group). A plain threading.Event
    works as a stop request too, but is only seen between steps and when a process starts."""

    def __init__(self) -> None:
        super().__init__()
        self._hooks: dict[int, Callable[[], None]] = {}
        self._hooks_lock = threading.Lock()
        self._next_hook = 0

    def set(self) -> None:
        super().set()
        with self._hooks_lock:
            hooks = list(self._hooks.values())
        for hook in hooks:
            hook()

    def subscribe(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` when the signal is set (now, if it already is); returns the unsubscribe."""
        with self._hooks_lock:
            key = self._next_hook
            self._next_hook += 1
            self._hooks[key] = hook
        if self.is_set():
            hook()

        def unsubscribe() -> None:
            with self._hooks_lock:
                self._hooks.pop(key, None)

        return unsubscribe


def on_stop(stop: threading.Event | None, hook: Callable[[], None]) -> Callable[[], None]:
    """Run `hook` when `stop` is set; returns what undoes that."""
    if isinstance(stop, StopSignal):
        return stop.subscribe(hook)
    if stop is not None and stop.is_set():
        hook()
    return lambda: None


@dataclass
class Finished:
    returncode: int | None  # None: timed out
    tail: str  # the last lines of the log
    stopped: bool = False  # killed because the run was stopped


def run_process(
    argv: list[str], job: StepJob, cwd: Path, env: dict[str, str] | None = None
) -> Finished:
    """Run one job process with the step's timeout; stdout and stderr go to the step log.
    `env`: its whole environment (default: this process's, plus the job's variables)."""
    env = {**os.environ, **job.env} if env is None else env
    job.log.parent.mkdir(parents=True, exist_ok=True)
    with job.log.open("a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")  # can be pasted to re-run the step by hand
        log.flush()
        start = log.tell()  # the failure reason quotes the process's output, not the command
        try:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as exc:
            log.write(f"cannot start: {exc}\n")
            return Finished(-1, f"cannot start {argv[0]}: {exc}")
        # A timer kills it: Popen.wait(timeout=...) polls in sleeps of up to 50 ms, which
        # would be most of a small step's time. A stop request kills it the same way.
        timed_out, stopped = threading.Event(), threading.Event()

        def kill(why: threading.Event) -> None:
            if process.poll() is None:  # not reaped yet: its process group is still ours
                why.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(job.timeout, kill, args=(timed_out,))
        timer.start()
        unsubscribe = on_stop(job.stop, lambda: kill(stopped))
        try:
            code = process.wait()
        finally:
            timer.cancel()
            unsubscribe()
    if stopped.is_set() and code != 0:
        return Finished(code, _tail(job.log, start), stopped=True)
    return Finished(None if timed_out.is_set() else code, _tail(job.log, start))


def _tail(log: Path, start: int = 0, lines: int = 3) -> str:
    """The last lines the process wrote to its log (from byte `start`)."""
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", errors="replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


def _failed(job: StepJob, done: Finished, what: str) -> Outcome:
    if done.stopped:
        return Outcome(STOPPED, reason=f"{what} was stopped: the run was stopped while it ran")
    if done.returncode is None:
        return Outcome(FAILED, reason=f"{what} exceeded its maximum runtime of {job.timeout:g} s")
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = str(-done.returncode)
        return Outcome(
            FAILED,
            reason=f"{what} was killed by signal {name}: {done.tail}",
            failure_types=INFRASTRUCTURE_FAILURE,
        )
    return Outcome(FAILED, reason=f"AlgorithmError: exit code {done.returncode}: {done.tail}")


@cache
def docker_available() -> bool:
    """A Docker engine that answers (not only a `docker` binary)."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def docker_argv(job: StepJob, image: str, argv: list[str], entrypoint: list[str]) -> list[str]:
    """`docker run` for a job whose image must run as a container, /opt/ml mounted."""
    command = ["docker", "run", "--rm", "-v", f"{job.ml_root}:{OPT_ML}"]
    for key, value in job.env.items():
        command += ["-e", f"{key}={value}"]
    if entrypoint:
        command += ["--entrypoint", entrypoint[0]]
    return command + [image, *entrypoint[1:], *argv]


def _stage_inputs(job: StepJob, inputs: list[tuple[str, str, str]]) -> str | None:
    """Download (name, uri, /opt/ml path) inputs; the problem, if one is missing."""
    for name, uri, local_path in inputs:
        try:
            job.store.download(uri, Path(job.local(local_path)))
        except (FileNotFoundError, ValueError):
            return f"ClientError: input {name}: no object at {uri}"
    return None


@dataclass(frozen=True)
class Script:
    """A script job's command as the job sees it (/opt/ml paths), and the Python it runs on."""

    argv: list[str]
    interpreter: Interpreter
    python_note: str = ""  # the image's Python is not installed here


@dataclass(frozen=True)
class Audited:
    """What the audit hook saw a job's processes do outside the job's own files."""

    accesses: list[FileAccess]
    refusal: str = ""  # the first read it refused: the reason the job failed, if it did


def image_python(job: StepJob) -> tuple[Interpreter, str]:
    """The interpreter of the step's image (manifest `python`, e.g. "3.9") when installed
    here, else this one with a note saying so; this one when the image's is not recorded."""
    wanted = job.manifest_step.get("python")
    if not wanted:
        return interpreters.host(), ""
    found = interpreters.find(str(wanted))
    if found is not None:
        return _with_requirements(job, found, str(wanted))
    ran = interpreters.host()
    return ran, f"python differs: image {wanted}, ran {ran.minor}"


def _with_requirements(job: StepJob, found: Interpreter, wanted: str) -> tuple[Interpreter, str]:
    """The image's Python, unless it lacks the requirements the script installs in the job
    (`bridge run` installs nothing) and the bridge's own environment has them all: then that
    one, with a note saying so."""
    from bridge.run.requirements import missing, requirements_of

    script = job.manifest_step.get("script")
    requirements = requirements_of(job.folder / "steps" / script) if script else []
    lacking = missing(found, requirements) if requirements else []
    ran = interpreters.host()
    if not lacking or ran == found:
        return found, ""
    if missing(ran, requirements):
        return found, f"python {wanted} here lacks the step's requirements: {', '.join(lacking)}"
    return ran, (
        f"python differs: image {wanted}, ran {ran.minor}, the bridge's environment, which has "
        f"the step's requirements ({', '.join(requirements)}); python {wanted} here lacks them"
    )


def _script(job: StepJob, entrypoint: list[str], arguments: list[str]) -> Script | None:
    """The script to run on this machine, or None if it needs the image's container."""
    if not entrypoint:
        return None
    program = Path(entrypoint[0]).name
    interpreter, note = image_python(job)
    if PYTHONS.match(program):
        return Script([interpreter.executable, *entrypoint[1:], *arguments], interpreter, note)
    if program in SHELLS:  # its `python3` is the image's too: first on its PATH
        return Script([program, *entrypoint[1:], *arguments], interpreter)
    return None


def run_script(job: StepJob, script: Script, cwd: str) -> tuple[Finished, Audited]:
    """Run a script job in its sandbox (or, without one, on the host), audited; `cwd` is the
    job's working folder as the job sees it."""
    record_dir = job.workdir / "audit"
    record_dir.mkdir(parents=True, exist_ok=True)
    job.ml_root.mkdir(parents=True, exist_ok=True)  # a job with no inputs still has /opt/ml
    (record_dir / AUDIT_FILE).unlink(missing_ok=True)
    # The worker folders the translation declared for this step are its job folders under
    # their Airflow paths (the runtime links them): using them is not undeclared access.
    from bridge.run.requirements import entry_point_packages

    outside = entry_point_packages(script.interpreter)  # the environment's, outside its prefixes
    quiet = [
        *sandbox.SYSTEM_FOLDERS,
        *script.interpreter.prefixes,
        *map(str, outside),
        *_declared_paths(job),
    ]
    readable = [str(f) for f in job.shared]
    if job.bwrap:
        view = sandbox.View(
            ml_root=job.ml_root,
            interpreter_prefixes=script.interpreter.prefixes,
            interpreter_bin=str(Path(script.interpreter.executable).parent),
            audit_dir=AUDIT_DIR,
            record_dir=record_dir,
            cwd=cwd,
            shared=job.shared,
            readonly=outside,
        )
        audit = _audit_env(
            f"{sandbox.RECORD_MOUNT}/{AUDIT_FILE}",
            sandbox.AUDIT_MOUNT,
            quiet=[OPT_ML, "/opt/bridge", *quiet],
            readable=["/tmp", sandbox.HOME, *readable],
            sandboxed=True,
        )
        env = sandbox.job_environment(view, {**job.env, **audit}, dict(os.environ))
        argv = sandbox.bwrap_argv(job.bwrap, view, script.argv)
        done = run_process(argv, job, cwd=job.workdir, env=env)
    else:
        search = [str(AUDIT_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        audit = _audit_env(
            str(record_dir / AUDIT_FILE),
            os.pathsep.join(search),
            quiet=[str(job.ml_root), *quiet],
            readable=readable,  # not the host's /tmp or HOME: the job's start empty
            sandboxed=False,
        )
        env = {**os.environ, **job.env, "BRIDGE_ML_ROOT": str(job.ml_root), **audit}
        done = run_process(job.local(script.argv), job, cwd=Path(job.local(cwd)), env=env)
    return done, read_audit(record_dir / AUDIT_FILE)


def _declared_paths(job: StepJob) -> list[str]:
    """Absolute worker paths of the step's folders (manifest `folders`, kind "path")."""
    folders = job.manifest_step.get("folders") or []
    return [
        f["path"] for f in folders if f.get("kind") == "path" and str(f.get("path")).startswith("/")
    ]


def _audit_env(
    record_file: str, python_path: str, *, quiet: list[str], readable: list[str], sandboxed: bool
) -> dict[str, str]:
    return {
        "PYTHONPATH": python_path,
        "BRIDGE_AUDIT_FILE": record_file,
        "BRIDGE_AUDIT_QUIET": os.pathsep.join(quiet),
        "BRIDGE_AUDIT_READABLE": os.pathsep.join(readable),
        "BRIDGE_AUDIT_SANDBOXED": "1" if sandboxed else "0",
    }


def read_audit(path: Path) -> Audited:
    """The hook's JSON lines, one entry per path and mode, refused ones first, capped."""
    found: dict[tuple[str, str], bool] = {}
    refusal = ""
    lines = (
        path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
    )
    for line in lines:
        try:
            entry = json.loads(line)
            key = (str(entry["path"]), str(entry["mode"]))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a killed process
        found[key] = found.get(key, False) or bool(entry.get("refused"))
        if entry.get("refused") and not refusal:
            refusal = str(entry.get("reason") or f"undeclared file {key[0]}")
    ordered = sorted(found.items(), key=lambda item: (not item[1], item[0]))
    accesses = [FileAccess(path, mode, refused) for (path, mode), refused in ordered]
    return Audited(accesses[:MAX_FILE_ACCESS], refusal)


def _script_outcome(
    job: StepJob, script: Script, done: Finished, audited: Audited, what: str
) -> Outcome | None:
    """The failed outcome of a script job (the audit's refusal as its reason when there was
    one), or None when it succeeded; either way the caller adds `_script_facts`."""
    if done.returncode == 0:
        return None
    failed = _failed(job, done, what)
    if audited.refusal and done.returncode and done.returncode > 0:
        failed.reason = f"AlgorithmError: exit code {done.returncode}: {audited.refusal}"
    return failed


def _script_facts(outcome: Outcome, script: Script | None, audited: Audited | None) -> Outcome:
    if script is not None:
        outcome.python = script.interpreter.text
        outcome.python_note = script.python_note
    if audited is not None:
        outcome.file_access = audited.accesses
    return outcome


# ---- Processing -----------------------------------------------------------------------------


@executor("Processing")
def run_processing(job: StepJob) -> Outcome:
    args = job.arguments
    app = args.get("AppSpecification") or {}
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    arguments = [str(a) for a in app.get("ContainerArguments") or []]
    job.env.update({k: str(v) for k, v in job.seen(args.get("Environment") or {}).items()})
    inputs = [
        (i["InputName"], i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"])
        for i in args.get("ProcessingInputs") or []
        if "S3Input" in i
    ]
    outputs = [
        (o["OutputName"], o["S3Output"]["S3Uri"], o["S3Output"]["LocalPath"])
        for o in (args.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if "S3Output" in o
    ]
    script = _script(job, entrypoint, arguments)
    if script is None and not docker_available():
        return Outcome(
            NOT_RUNNABLE,
            reason=f"image {app.get('ImageUri')} has no script entrypoint to run here and no "
            "Docker engine is available",
        )
    problem = _stage_inputs(job, inputs)
    if problem:
        return Outcome(FAILED, reason=problem)
    for _, _, local_path in outputs:
        Path(job.local(local_path)).mkdir(parents=True, exist_ok=True)
    audited = None
    if script is None:
        done = run_process(
            docker_argv(job, app["ImageUri"], arguments, entrypoint), job, job.workdir
        )
        failed = None if done.returncode == 0 else _failed(job, done, "processing job")
    else:
        # The script's folder, as a job's WORKDIR would be; /opt/ml for a bash command.
        scripts = [a for a in script.argv[1:] if a.endswith(".py")]
        cwd = posixpath.dirname(scripts[0]) if scripts else OPT_ML
        done, audited = run_script(job, script, cwd)
        failed = _script_outcome(job, script, done, audited, "processing job")
    if failed is not None:
        return _script_facts(failed, script, audited)
    for _, uri, local_path in outputs:
        job.store.upload(Path(job.local(local_path)), uri)
    properties = {
        **args,
        "ProcessingJobName": f"pipelines-{job.scope.execution['PipelineExecutionId']}-{job.name}",
        "ProcessingJobStatus": "Completed",
    }
    return _script_facts(
        Outcome(SUCCEEDED, properties=properties, property_files=_property_files(job, outputs)),
        script,
        audited,
    )


def _property_files(job: StepJob, outputs: list[tuple[str, str, str]]) -> dict:
    uris = {name: uri for name, uri, _ in outputs}
    found = {}
    for declared in job.step.get("PropertyFiles") or []:
        uri = uris.get(declared["OutputName"], "").rstrip("/") + "/" + declared["FilePath"]
        try:
            found[declared["PropertyFileName"]] = json.loads(job.store.read_text(uri))
        except (FileNotFoundError, ValueError, json.JSONDecodeError):
            found[declared["PropertyFileName"]] = None
    return found


# ---- Training -------------------------------------------------------------------------------


@executor("Training")
def run_training(job: StepJob) -> Outcome:
    """The training container contract: channels under input/data, config JSON under
    input/config, SM_* variables, model/ and output/ archived to the output path."""
    args = job.arguments
    spec = args.get("AlgorithmSpecification") or {}
    hyper = {k: str(v) for k, v in (args.get("HyperParameters") or {}).items()}
    program = _unquote(hyper.get("sagemaker_program", ""))
    entrypoint = list(spec.get("ContainerEntrypoint") or [])
    code_dir = job.ml_root / "code"
    if not entrypoint and program:
        entrypoint = ["python3", f"{OPT_ML}/code/{program}"]
    script = _script(job, entrypoint, [str(a) for a in spec.get("ContainerArguments") or []])
    image = spec.get("TrainingImage") or spec.get("AlgorithmName") or "?"
    if script is None and not docker_available():
        return Outcome(
            NOT_RUNNABLE,
            reason=f"image {image} runs its own training code in its container and no Docker "
            "engine is available",
        )
    channels = {c["ChannelName"]: c for c in args.get("InputDataConfig") or []}
    problem = _stage_inputs(
        job,
        [
            (name, c["DataSource"]["S3DataSource"]["S3Uri"], f"{OPT_ML}/input/data/{name}")
            for name, c in channels.items()
            if "S3DataSource" in c.get("DataSource", {})
        ],
    )
    if not problem and "sagemaker_submit_directory" in hyper:
        problem = _unpack_source(job, _unquote(hyper["sagemaker_submit_directory"]), code_dir)
    if problem:
        return Outcome(FAILED, reason=problem)
    config_dir = job.ml_root / "input" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "hyperparameters.json").write_text(json.dumps(hyper))
    (config_dir / "inputdataconfig.json").write_text(
        json.dumps(
            {n: {k: v for k, v in c.items() if k != "DataSource"} for n, c in channels.items()}
        )
    )
    (config_dir / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    for sub in ("model", "output/data", "code"):
        (job.ml_root / sub).mkdir(parents=True, exist_ok=True)
    job.env.update(_training_env(job, hyper, channels))
    job.env.update({k: str(v) for k, v in job.seen(args.get("Environment") or {}).items()})
    audited = None
    if script is None:
        done = run_process(docker_argv(job, image, ["train"], entrypoint), job, cwd=code_dir)
        failed = None if done.returncode == 0 else _failed(job, done, "training job")
    else:
        done, audited = run_script(job, script, f"{OPT_ML}/code")
        failed = _script_outcome(job, script, done, audited, "training job")
    if failed is not None:
        failure = job.ml_root / "output" / "failure"
        if failure.is_file() and done.returncode and done.returncode > 0:
            failed.reason = f"AlgorithmError: {failure.read_text().strip()[:500]}"
        return _script_facts(failed, script, audited)
    job_name = f"pipelines-{job.scope.execution['PipelineExecutionId']}-{job.name}"
    output_path = (args.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
    model_uri = f"{output_path}/{job_name}/output/model.tar.gz"
    _archive(job, job.ml_root / "model", model_uri)
    _archive(job, job.ml_root / "output" / "data", f"{output_path}/{job_name}/output/output.tar.gz")
    properties = {
        **args,
        "TrainingJobName": job_name,
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": model_uri},
        "FinalMetricDataList": _metrics(job, spec.get("MetricDefinitions") or []),
    }
    return _script_facts(Outcome(SUCCEEDED, properties=properties), script, audited)


def _unquote(value: str) -> str:
    """Framework hyperparameters are JSON-encoded strings ('"train.py"')."""
    try:
        decoded = json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value
    return decoded if isinstance(decoded, str) else value


def _unpack_source(job: StepJob, uri: str, code_dir: Path) -> str | None:
    try:
        archive = job.store.path(uri)
    except ValueError:
        return f"ClientError: source directory {uri} is not an S3 URI"
    if not archive.is_file():
        return f"ClientError: no source archive at {uri}"
    code_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(code_dir, filter="data")
    return None


def _training_env(job: StepJob, hyper: dict, channels: dict) -> dict[str, str]:
    ml = Path(job.seen(OPT_ML))
    env = {
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_OUTPUT_DIR": str(ml / "output"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_INPUT_DIR": str(ml / "input"),
        "SM_INPUT_CONFIG_DIR": str(ml / "input" / "config"),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps({k: _unquote(v) for k, v in hyper.items()}),
        "SM_CURRENT_HOST": "algo-1",
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": "0",
    }
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = str(ml / "input" / "data" / name)
    for key, value in hyper.items():
        if not key.startswith("sagemaker_"):
            env[f"SM_HP_{key.upper()}"] = str(_unquote(value))
    return env


def _archive(job: StepJob, folder: Path, uri: str) -> None:
    archive = job.workdir / (Path(uri).name)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    job.store.put_file(uri, archive)


def _metrics(job: StepJob, definitions: list[dict]) -> list[dict]:
    """FinalMetricDataList: the last match of each metric's regex in the job log."""
    text = job.log.read_text(encoding="utf-8", errors="replace") if job.log.exists() else ""
    found = []
    for metric in definitions:
        matches = re.findall(metric.get("Regex", "(?!)"), text)
        if matches:
            last = matches[-1]
            value = last[0] if isinstance(last, tuple) else last
            try:
                found.append({"MetricName": metric["Name"], "Value": float(value)})
            except ValueError:
                continue
    return found


# ---- Lambda, Condition, Fail ----------------------------------------------------------------


@executor("Lambda")
def run_lambda(job: StepJob) -> Outcome:
    """Calls the handler `bridge translate` emitted for this step, in its own process."""
    handler = job.manifest_step.get("handler")
    script = job.manifest_step.get("script")
    if not handler or not script:
        return Outcome(
            NOT_RUNNABLE,
            reason=f"Lambda function {job.step.get('FunctionArn')} exists only in AWS (no "
            "handler was emitted for it)",
        )
    module, _, function = handler.rpartition(".")
    event = job.workdir / "event.json"
    result = job.workdir / "result.json"
    job.workdir.mkdir(parents=True, exist_ok=True)
    event.write_text(json.dumps(job.arguments or {}, default=str))
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(job.folder / 'steps')!r})\n"
        f"from {module} import {function} as handler\n"
        f"event = json.load(open({str(event)!r}))\n"
        f"json.dump(handler(event, None), open({str(result)!r}, 'w'), default=str)\n"
    )
    done = run_process([sys.executable, "-c", code], job, cwd=job.workdir)
    if done.returncode != 0:
        return _failed(job, done, "Lambda function")
    returned = json.loads(result.read_text())
    declared = [o["OutputName"] for o in job.step.get("OutputParameters") or []]
    missing = [n for n in declared if not isinstance(returned, dict) or n not in returned]
    if missing:
        return Outcome(FAILED, reason=f"Lambda output(s) {', '.join(missing)} not returned")
    outputs = {n: returned[n] for n in declared}
    return Outcome(
        SUCCEEDED, properties={"OutputParameters": outputs}, outputs={"return": returned}
    )


@executor("Condition")
def run_condition(job: StepJob) -> Outcome:
    try:
        outcome = evaluate_conditions(job.step["Arguments"].get("Conditions", []), job.scope)
    except ValueError as exc:
        return Outcome(FAILED, reason=str(exc))
    return Outcome(SUCCEEDED, properties={"Outcome": outcome}, branch=outcome)


@executor("Fail")
def run_fail(job: StepJob) -> Outcome:
    message = (job.arguments or {}).get("ErrorMessage", "")
    return Outcome(FAILED, reason=str(message), properties={"ErrorMessage": message})
