"""The bridge step runtime: copied verbatim into every generated step script.

It rebuilds the call Airflow would have made from the step's arguments, runs it, and writes the
result as the step's XCom. Standard library only: it runs in any SageMaker Processing image and
locally: `bridge run` sets BRIDGE_ML_ROOT to the step's folder that stands for /opt/ml.

Arguments (built by the emitted pipeline.py):
  --<name> VALUE                a named argument the step script declares (`arguments`): VALUE
                                put at the declared place in the call (op_kwargs, params,
                                templates_dict, context), read as the declared type
  --call JSON                   the literal part of the call: op_args, op_kwargs, templates_dict,
                                params, context, command, env (run-time values are null here)
  --set PATH TYPE VALUE         put a pipeline value (Parameter, Join, ExecutionVariable) at PATH
                                (a JSON list of keys); TYPE: str, int, float, bool or json
  --xcom PATH TASK_ID KEY       put an upstream task's XCom at PATH (null if the task is known
                                not to run on this path: the call's "skipped"); read from the
                                steps the call's "xcom_steps" names when the job mounts the
                                execution's whole XCom prefix
  --folder KIND ORIGINAL WORK   a folder shared with other steps: staged in WORK, ORIGINAL (a
                                path, a variable, a folder next to the DAG) pointed at it
  --folder-input PATH           a job input copied into the last --folder's WORK, in order
  --template PATH PIECES        put a templated string at PATH, rendered once empty context
                                values are derived: PIECES is a JSON list of text,
                                {"context": name} and nulls that --set PATH+[i] fills (a
                                second --template for PATH appends)
  --map-index I                 a ForEach child of a mapped task: run the instance of the I-th
                                element of the mapped argument only
Output: OUTPUT_DIR/xcom.json = {"return_value": ..., <pushed keys>..., "bridge_branch": [...],
"bridge_condition": ..., "bridge_map_items": {key: "[\"0\", ...]"} when a ForEach maps over it}.
"""

import atexit
import datetime
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ML_ROOT = os.environ.get("BRIDGE_ML_ROOT", "/opt/ml")  # `bridge run` moves /opt/ml to a folder
INPUT_DIR = Path(os.environ.get("BRIDGE_INPUT_DIR", ML_ROOT + "/processing/input/xcom"))
OUTPUT_DIR = Path(os.environ.get("BRIDGE_OUTPUT_DIR", ML_ROOT + "/processing/output/xcom"))
SKIP_EXIT_CODE = 99  # BashOperator's default skip_on_exit_code


def install_requirements(requirements):
    """Virtualenv tasks: install their requirements in the job before the callable's imports."""
    if requirements and not os.environ.get("BRIDGE_SKIP_REQUIREMENTS"):
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *requirements])


class XComNotWired(LookupError):
    """An xcom_pull of a task whose output is not an input of this step."""


def read_xcom(task_id, key, skipped=(), steps=None):
    """An upstream step's XCom; a mapped upstream gives the list of its instances' values.

    `steps` (the call's "xcom_steps") is set when the job mounts the execution's whole XCom
    prefix, every step's under its name: the task's value is read from the steps named for it
    there, never from whatever else the prefix holds. A task the translation knows did not run
    on this path (`skipped`: the other branch of a join's copy) gives None, as in Airflow. Any
    other task whose output is not mounted is an error: on SageMaker a job sees only its
    declared inputs, so a silent None would hide it."""
    files, several = _task_xcoms(task_id) if steps is None else _step_xcoms(steps.get(task_id))
    if files:
        values = [json.loads(f.read_text()).get(key) for f in files]
        return values if several else values[0]
    if task_id in skipped:
        return None
    raise XComNotWired(
        f"xcom_pull of task {task_id!r}: its output is not an input of this step (the "
        "translation did not wire it; see REPORT.md). Pull it with a literal task id, from a "
        "task that runs before this one, or pass it as an argument."
    )


def _task_xcoms(task_id):
    """One input per task: <task_id>/xcom.json, or <task_id>/<i>/xcom.json for each step of a
    task mapped over a literal."""
    folder = INPUT_DIR / task_id
    if (folder / "xcom.json").is_file():
        return [folder / "xcom.json"], False
    parts = sorted(folder.glob("*/xcom.json"), key=lambda p: int(p.parent.name))
    return parts, True


def _step_xcoms(names):
    """The execution's XCom prefix: <step>/xcom.json of each step named (none unless all are
    there)."""
    files = [INPUT_DIR / name / "xcom.json" for name in names or ()]
    if len(files) == 1 and not files[0].is_file():  # a ForEach step: its children's, in order
        return _task_xcoms(names[0])
    return (files if all(f.is_file() for f in files) else []), len(files) > 1


def parse_args(argv, arguments=None, values=None, base=None):
    """The call from the step's arguments. `arguments` declares the named ones: flag -> (the
    path in the call, the type). The literal call is JSON text that may come in several
    `--call` arguments in a row (a job argument holds at most 256 characters): their texts are
    joined before it is read. `values` (a bash script's step) collects every other `--name
    VALUE`: the values pasted into its command. `base` is the static call the script holds.
    """
    call, i = json.loads(json.dumps(base or {})), 0
    arguments = arguments or {}
    xcoms = []  # named XCom arguments, read once the call says where (xcom_steps, skipped)
    while i < len(argv):
        flag = argv[i]
        if flag in arguments:
            path, kind = arguments[flag]
            if kind.startswith("xcom"):  # VALUE names the task; the kind may name the key
                xcoms.append((list(path), argv[i + 1], kind[5:] or "return_value"))
            else:
                _put(call, list(path), _typed(kind, argv[i + 1]))
            i += 2
        elif flag == "--call":
            text = ""
            while i < len(argv) and argv[i] == "--call":
                text, i = text + argv[i + 1], i + 2
            call = _merge(call, json.loads(text))
        elif flag == "--set":
            _put(call, json.loads(argv[i + 1]), _typed(argv[i + 2], argv[i + 3]))
            i += 4
        elif flag == "--xcom":
            skipped, steps = call.get("skipped") or (), call.get("xcom_steps")
            value = read_xcom(argv[i + 2], argv[i + 3], skipped, steps)
            _put(call, json.loads(argv[i + 1]), value)
            i += 4
        elif flag == "--folder":  # a shared folder: KIND ORIGINAL WORK (see SharedFolder)
            folder = {"kind": argv[i + 1], "key": argv[i + 2], "work": argv[i + 3], "inputs": []}
            call.setdefault("folders", []).append(folder)
            i += 4
        elif flag == "--folder-input":  # a job input copied into the last --folder
            call["folders"][-1]["inputs"].append(argv[i + 1])
            i += 2
        elif flag == "--template":
            _add_template(call, json.loads(argv[i + 1]), json.loads(argv[i + 2]))
            i += 3
        elif flag == "--map-index":  # a ForEach child: the mapped task's instance to run
            call["map_index"] = int(argv[i + 1])
            i += 2
        elif values is not None and flag.startswith("--") and i + 1 < len(argv):
            values[flag[2:].replace("-", "_")] = argv[i + 1]
            i += 2
        else:
            raise SystemExit(f"bridge step runtime: unknown argument {flag!r}")
    skipped, steps = call.get("skipped") or (), call.get("xcom_steps")
    for path, task_id, key in xcoms:
        _put(call, path, read_xcom(task_id, key, skipped, steps))
    return call


def _merge(base, extra):
    """The literal call into what named arguments already put there (both may fill params)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _typed(kind, value):
    if kind == "int":
        return int(float(value))
    if kind == "float":
        return float(value)
    if kind == "bool":
        return str(value).lower() in ("true", "1")
    if kind == "json":
        return json.loads(value)
    return value


def _put(target, path, value):
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    target[path[-1]] = value


class TaskInstance:
    """A stand-in for `ti`: xcom_pull reads upstream step outputs, xcom_push adds output keys."""

    def __init__(self, task_id, pushed, skipped=(), xcom_steps=None):
        self.task_id = task_id
        self._pushed = pushed
        self._skipped = set(skipped)
        self._xcom_steps = xcom_steps

    def xcom_pull(self, task_ids=None, key="return_value", **_):
        if isinstance(task_ids, (list, tuple)):
            return [read_xcom(t, key, self._skipped, self._xcom_steps) for t in task_ids]
        return read_xcom(task_ids, key, self._skipped, self._xcom_steps) if task_ids else None

    def xcom_push(self, key, value, **_):
        self._pushed[key] = value


def call_function(fn, call, task_id, pushed):
    """Call `fn` as Airflow does: op_args, op_kwargs, then context keys the function accepts."""
    context = dict(call.get("context") or {})
    context["params"] = call.get("params") or {}
    context["templates_dict"] = call.get("templates_dict")
    ti = TaskInstance(task_id, pushed, call.get("skipped") or (), call.get("xcom_steps"))
    context["ti"] = context["task_instance"] = ti
    kwargs = dict(call.get("op_kwargs") or {})
    signature = inspect.signature(fn)
    takes_all = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    for name, value in context.items():
        # A TaskFlow argument left at its default (None) is filled from the context, as Airflow
        # does for `def f(params=None)`; the translation carries defaults as None.
        if kwargs.get(name) is None and (takes_all or name in signature.parameters):
            kwargs[name] = value
    return fn(*(call.get("op_args") or []), **kwargs)


class Skipped(Exception):
    """The command exited with one of the task's skip_on_exit_code values."""


def run_bash(command, env, append_env, skip_codes=None):
    """Run the command as BashOperator does; the last line of stdout is the XCom.

    `skip_codes` (from the translation) are the exit codes after which Airflow skips the task:
    they raise Skipped, and a ConditionStep after the step stops its downstream steps. None: the
    translation saw no way for the command to exit with one, so no gate exists and such an exit
    fails the step rather than let its downstream run."""
    environment = {**os.environ, **(env or {})} if append_env or not env else dict(env)
    done = subprocess.run(
        ["bash", "-c", command], env=environment, capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if skip_codes is not None and done.returncode in skip_codes:
        print(f"bridge: exit code {done.returncode}: Airflow skips the task and its downstream")
        raise Skipped(done.returncode)
    if done.returncode == SKIP_EXIT_CODE and skip_codes is None:
        raise SystemExit(
            "bash command exited 99, after which Airflow skips the task (skip_on_exit_code); the "
            "translation found no `exit 99` in the command, so nothing stops its downstream "
            "steps: the step fails instead"
        )
    if done.returncode:
        raise SystemExit(f"bash command failed with exit code {done.returncode}")
    lines = done.stdout.rstrip("\n").splitlines()
    return lines[-1] if lines else None


def main(fn, mode, task_id, argv=None, map_keys=None, arguments=None, call=None):
    """Run the step: `arguments` declares its named arguments, `call` is the static part of
    its call (literals, shared folders) when the script holds it."""
    call = parse_args(sys.argv[1:] if argv is None else argv, arguments, base=call)
    run_call(with_context(call), fn, mode, task_id, map_keys)


def bash_arguments():
    """A bash step's own flags; every other `--name VALUE` is a value pasted into its command."""
    return {
        "--started": (["started"], "str"),
        "--schedule": (["schedule"], "json"),
        **{"--context-" + k.replace("_", "-"): (["context", k], "str") for k in CONTEXT_KEYS},
    }


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


CALL_HEADER = "# bridge-call: "  # a bash script's static call (bridge translate writes it)


def run_bash_file(path, argv):
    """`python3 _bridge_runtime.py <task>.sh ARGS`: a bash step. The script is the task's
    command; each ${name} in it that is a context value or a `--name` value is pasted in
    before bash reads the command, as Airflow renders the template."""
    values = {}
    text = Path(path).read_text(encoding="utf-8")
    static = [
        line[len(CALL_HEADER) :] for line in text.splitlines() if line.startswith(CALL_HEADER)
    ]
    base = json.loads(static[0]) if static else None
    call = parse_args(argv, bash_arguments(), values, base)
    context = call.get("context") or {}
    pieces, at = [], 0
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name in context or name in values:
            pieces.append(text[at : match.start()])
            pieces.append({"context": name} if name in context else values[name])
            at = match.end()
    pieces.append(text[at:])
    call["command"] = Template(pieces)
    stage_code = os.path.dirname(os.path.abspath(path))
    run_call(with_context(call), None, "bash", Path(path).stem, None, stage_code)


def run_call(call, fn, mode, task_id, map_keys=None, code_dir=None):
    load_secrets(call.get("secrets"))
    shared = stage_folders(call, code_dir)  # files handed between steps: see REPORT.md
    pushed = {}
    skip_codes = call.get("skip_exit_codes")
    skipped = False
    if mode == "bash":
        try:
            result = run_bash(
                call.get("command") or "", call.get("env"), call.get("append_env"), skip_codes
            )
        except Skipped:
            result, skipped = None, True
        if call.get("output") == "json" and result is not None:  # output_processor=json.loads
            result = json.loads(result)
    elif map_keys and "map_index" in call:  # one instance, a ForEach child of its own
        result = call_function(fn, _instance(call, map_keys), task_id, pushed)
    elif map_keys:
        result = [
            call_function(
                fn, {**call, "op_kwargs": {**call.get("op_kwargs", {}), **one}}, task_id, pushed
            )
            for one in _instances(call.get("op_kwargs") or {}, map_keys)
        ]
        # Pulling key k of a mapped task gives the list of each instance's k, as in Airflow.
        keys = sorted({k for r in result if isinstance(r, dict) for k in r if isinstance(k, str)})
        pushed.update(
            {k: [r.get(k) if isinstance(r, dict) else None for r in result] for k in keys}
        )
    else:
        result = call_function(fn, call, task_id, pushed)
    if mode == "bash_callable":
        try:
            result = run_bash(result, call.get("env"), True, skip_codes)
        except Skipped:
            result, skipped = None, True
    output = {"return_value": result, **pushed}
    if isinstance(result, dict):  # TaskFlow pushes a dict's keys too (multiple_outputs)
        output.update({k: v for k, v in result.items() if isinstance(k, str) and k not in output})
    for key in call.get("map_items") or ():  # a ForEachStep iterates over this list's indexes
        output["bridge_map_items"] = {
            **output.get("bridge_map_items", {}),
            key: _indexes(output, key),
        }
    if mode == "branch":
        chosen = [result] if isinstance(result, str) else list(result or [])
        output["bridge_branch"] = [t in chosen for t in call.get("targets", [])]
    if mode == "short_circuit":
        output["bridge_condition"] = bool(result)
    if skip_codes is not None:  # a bash step's gate: its downstream runs unless it was skipped
        output["bridge_condition"] = not skipped
    if skipped:  # what Airflow records as the task's state: `bridge compare` reads it
        output["bridge_skipped"] = True
    release_folders(shared)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUTPUT_DIR / "xcom.json").write_text(json.dumps(output, default=str, sort_keys=True))


def _instance(call, map_keys):
    """The call of a ForEach child: the mapped argument is the map_index-th element of what
    it reads (a dict maps over its (key, value) pairs, as in Airflow)."""
    (key,) = map_keys
    kwargs = dict(call.get("op_kwargs") or {})
    values = kwargs.get(key)
    values = list(values.items()) if isinstance(values, dict) else values
    kwargs[key] = values[call["map_index"]]
    return {**call, "op_kwargs": kwargs}


def _indexes(output, key):
    """The indexes of XCom `key`'s list as JSON text: what a ForEachStep iterates over."""
    value = output.get(key)
    if not isinstance(value, (list, dict)):
        raise SystemExit(
            f"bridge: XCom {key!r} is mapped over, but it is {type(value).__name__}, not a "
            "list or dict (Airflow: UnmappableXComTypePushed)"
        )
    return json.dumps([str(i) for i in range(len(value))])


def _instances(kwargs, keys):
    """`.expand(x=[...], y=[...])`: the cross product of the mapped arguments, as Airflow maps."""
    combos = [{}]
    for key in keys:
        combos = [{**c, key: v} for c in combos for v in (kwargs.get(key) or [])]
    return combos


# --- Airflow's Variables and connections in a job without Airflow ------------------------------

_SECRET_NAMES = {}  # environment variable -> the secret it is filled from (for messages)


def load_secrets(names):
    """Fill AIRFLOW_VAR_<KEY> / AIRFLOW_CONN_<CONN_ID> from the secrets the pipeline names, at job
    start: AWS Secrets Manager, else SSM Parameter Store ("/" + name). A variable already set
    wins; a secret found in neither store leaves it unset (Variable.get's default then applies,
    as in Airflow)."""
    _SECRET_NAMES.update(names or {})
    wanted = sorted((env, name) for env, name in (names or {}).items() if env not in os.environ)
    if not wanted:
        return
    for env, name in wanted:
        value = fetch_secret(name)
        if value is None:
            print(f"bridge: no secret {name!r} in Secrets Manager or SSM: {env} stays unset")
        else:
            os.environ[env] = value


def fetch_secret(name):
    """The secret's text from Secrets Manager, else the SSM parameter "/<name>"; None if absent."""
    import boto3  # in the SageMaker framework images; only needed when secrets are declared
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    except BotoCoreError as exc:
        raise SystemExit(f"bridge: cannot read secret {name!r}: {exc}") from None
    try:
        parameter = boto3.client("ssm").get_parameter(
            Name="/" + name.lstrip("/"), WithDecryption=True
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return parameter["Parameter"]["Value"]


_MISSING = object()


class Variable:
    """Stand-in for Airflow's Variable: reads AIRFLOW_VAR_<KEY>, as Airflow's environment
    backend does."""

    @staticmethod
    def get(key, default_var=_MISSING, deserialize_json=False, default=_MISSING):
        env = "AIRFLOW_VAR_" + key.upper()
        value = os.environ.get(env)
        if value is None:
            fallback = default if default is not _MISSING else default_var
            if fallback is not _MISSING:
                return fallback
            where = _SECRET_NAMES.get(env)
            raise KeyError(
                f"Variable {key} does not exist: {env} is not set"
                + (f" (no secret {where!r} was found)" if where else "")
            )
        return json.loads(value) if deserialize_json else value

    @staticmethod
    def set(key, value, *args, **kwargs):
        raise RuntimeError(f"Variable.set({key!r}): a SageMaker job has no Airflow to write to")


class Connection:
    """Stand-in for Airflow's Connection, read from AIRFLOW_CONN_<CONN_ID> (a URI or JSON, as
    Airflow accepts there)."""

    def __init__(
        self,
        conn_id=None,
        conn_type=None,
        host=None,
        login=None,
        password=None,
        schema=None,
        port=None,
        extra=None,
    ):
        self.conn_id, self.conn_type, self.host = conn_id, conn_type, host
        self.login, self.password, self.schema, self.port = login, password, schema, port
        self.extra = json.dumps(extra) if isinstance(extra, dict) else extra

    @property
    def extra_dejson(self):
        return json.loads(self.extra) if self.extra else {}

    @classmethod
    def get_connection_from_secrets(cls, conn_id):
        env = "AIRFLOW_CONN_" + conn_id.upper()
        text = os.environ.get(env)
        if text is None:
            where = _SECRET_NAMES.get(env)
            raise KeyError(
                f"The conn_id `{conn_id}` isn't defined: {env} is not set"
                + (f" (no secret {where!r} was found)" if where else "")
            )
        if text.lstrip().startswith("{"):
            fields = json.loads(text)
            return cls(conn_id=conn_id, **{k: fields.get(k) for k in _CONN_FIELDS})
        return cls.from_uri(conn_id, text)

    get = get_connection_from_secrets

    @classmethod
    def from_uri(cls, conn_id, uri):
        from urllib.parse import parse_qsl, unquote, urlsplit

        parts = urlsplit(uri)
        query = dict(parse_qsl(parts.query))
        extra = json.loads(query["__extra__"]) if "__extra__" in query else (query or None)
        return cls(
            conn_id=conn_id,
            conn_type=parts.scheme.replace("-", "_"),
            host=unquote(parts.hostname or "") or None,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=unquote(parts.path.lstrip("/")) or None,
            port=parts.port,
            extra=extra,
        )


_CONN_FIELDS = ("conn_type", "host", "login", "password", "schema", "port", "extra")


class BaseHook:
    """Stand-in for Airflow's BaseHook: only get_connection."""

    @classmethod
    def get_connection(cls, conn_id):
        return Connection.get_connection_from_secrets(conn_id)


class _NoDatabase(type):
    """Airflow's metadata models (DagRun, TaskInstance, ...): any use fails, as in the job."""

    def __getattr__(cls, name):
        raise RuntimeError(f"{cls.__name__}.{name}: a SageMaker job has no Airflow database")

    def __call__(cls, *args, **kwargs):
        raise RuntimeError(f"{cls.__name__}(...): a SageMaker job has no Airflow database")


_MODELS = ("DagRun", "TaskInstance", "XCom", "DagBag", "DagModel", "Log", "TaskReschedule")


def install_airflow_stand_ins():
    """Make `from airflow.models import Variable` (and airflow.sdk, airflow.hooks.base) import
    these stand-ins: the step image has no Airflow, and a local run must not use the host's."""
    import types

    models = {name: _NoDatabase(name, (), {}) for name in _MODELS}
    contents = {
        "airflow": {},
        "airflow.models": {"Variable": Variable, "Connection": Connection, **models},
        "airflow.models.variable": {"Variable": Variable},
        "airflow.models.connection": {"Connection": Connection},
        "airflow.sdk": {"Variable": Variable, "Connection": Connection, "BaseHook": BaseHook},
        "airflow.hooks": {},
        "airflow.hooks.base": {"BaseHook": BaseHook},
        "airflow.sdk.bases": {},
        "airflow.sdk.bases.hook": {"BaseHook": BaseHook},
    }
    for name, attributes in contents.items():
        module = types.ModuleType(name, "Stand-in for Airflow inside a SageMaker job")
        module.__path__ = []  # a package: other airflow modules fail to import, as in the image
        module.__dict__.update(attributes)
        module.__getattr__ = _missing(name)
        sys.modules[name] = module
    for name in contents:  # `import airflow.models` binds the submodule on its parent
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, sys.modules[name])


def _missing(module):
    def __getattr__(name):
        raise AttributeError(f"{module}.{name} is not available: the step image has no Airflow")

    return __getattr__


# --- Airflow context values when nobody passed them ---------------------------------------------
# An execution started by its EventBridge schedule cannot pass parameters, and one started by
# hand usually does not: the context parameters then arrive as "". The translation passes the
# execution's start ("started") and the DAG's schedule ("schedule", see
# bridge/translate/context_values.py), and each empty value is derived from them the way
# Airflow 3.3 dates the run its timetable creates at that moment. Values that were passed (the
# bridge's Airflow operator passes its run's own) are kept.

CONTEXT_KEYS = (
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
)
# `{{ ts_nodash | lower }}` travels as its own context value (bridge/translate/templates.py).
CONTEXT_KEYS += tuple(k + "_" + case for k in CONTEXT_KEYS for case in ("lower", "upper"))
UTC = datetime.timezone(datetime.timedelta(0))  # datetime.UTC is Python 3.11+
_UTC_NAMES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU", "UNIVERSAL"}
# (lowest, highest, names) of the five cron fields; names count from the lowest value.
_CRON_SPECS = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    (0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_MAX_DAYS_BACK = 8 * 366  # a cron on 29 February matches within eight years (2096, 2104)


class Template(list):
    """A templated string's pieces, rendered once context values are known: text,
    {"context": name}, or a pipeline value put here by --set."""


def _add_template(call, path, pieces):
    """--template PATH PIECES; a long template arrives in several parts, appended in order."""
    target = call
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    current = target.get(path[-1]) if isinstance(target, dict) else target[path[-1]]
    if isinstance(current, Template):
        current.extend(pieces)
    else:
        target[path[-1]] = Template(pieces)


def with_context(call):
    """The call with empty context values derived and templated strings rendered."""
    context = call.get("context")
    if not isinstance(context, dict):
        context = {}
    empty = [k for k in CONTEXT_KEYS if k in context and context[k] in ("", None)]
    if empty and call.get("started"):
        derived = derive_context(call.get("schedule") or {}, call["started"])
        context.update({k: derived[k] for k in empty})
        values = ", ".join(f"{k}={derived[k]}" for k in empty)
        print(
            f"bridge: context values not passed, derived from the start {call['started']}: {values}"
        )
    return _render(call, context)


def _render(value, context):
    if isinstance(value, Template):
        return "".join(_piece(p, context) for p in value)
    if isinstance(value, dict):
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context) for v in value]
    return value


def _piece(piece, context):
    if isinstance(piece, dict):  # a context value
        piece = context.get(piece.get("context"))
    return "" if piece is None else str(piece)  # as Std:Join renders an empty parameter


def derive_context(schedule, started):
    """Airflow's context values for the run that `schedule` creates at `started`."""
    logical, start, end = run_dates(schedule, parse_started(started))
    ts = logical.isoformat()
    values = {
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "ts": ts,
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "logical_date": str(logical),  # what Jinja renders: "2024-01-01 00:00:00+00:00"
        "data_interval_start": str(start),
        "data_interval_end": str(end),
    }
    for name, value in list(values.items()):
        values[name + "_lower"] = value.lower()
        values[name + "_upper"] = value.upper()
    return values


def parse_started(text):
    """START_DATETIME as an aware UTC datetime: ISO 8601 (SageMaker, `bridge run`; any number of
    fraction digits, "Z" or an offset) or epoch seconds (the SDK's local mode)."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return datetime.datetime.fromtimestamp(float(text), UTC)
    match = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
        r"\s*(Z|[+-]\d\d:?\d\d)?",
        text,
        re.IGNORECASE,
    )
    if match is None:
        raise SystemExit(f"bridge: cannot read the execution's start time {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = datetime.timedelta(0)
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    value = datetime.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
        int((fraction or "0")[:6].ljust(6, "0")), datetime.timezone(offset),
    )  # fmt: skip
    return value.astimezone(UTC)


def run_dates(schedule, started):
    """(logical date, data interval start, data interval end), aware UTC, of the run Airflow 3.3
    creates at `started` for `schedule` (RunClock.to_dict())."""
    kind = schedule.get("timetable") or "manual"
    interval = datetime.timedelta(seconds=schedule.get("interval") or 0)
    if kind in ("cron_trigger", "cron_interval"):
        zone = _zone(schedule.get("timezone") or "UTC")
        fields = cron_fields(schedule.get("cron") or "")
        local = started.astimezone(zone).replace(tzinfo=None)
        tick = last_cron_tick(fields, local)
        end = _aware(tick, zone)
        if kind == "cron_trigger":  # CronTriggerTimetable: the run is dated at its tick
            return end - interval, end - interval, end
        # CronDataIntervalTimetable: the interval that ends at the tick; dated at its start
        start = _aware(last_cron_tick(fields, tick - datetime.timedelta(minutes=1)), zone)
        return start, start, end
    if kind == "delta_interval":  # DeltaDataIntervalTimetable: ticks every delta since the epoch
        delta = datetime.timedelta(seconds=schedule["delta"])
        epoch = datetime.datetime(1970, 1, 1, tzinfo=UTC)
        end = epoch + ((started - epoch) // delta) * delta
        return end - delta, end - delta, end
    # DeltaTriggerTimetable (catchup off, it does not align) and manual runs: the start itself
    return started - interval, started - interval, started


def cron_fields(expression):
    """A 5-field cron as (minutes, hours, days, months, weekdays, days_any, weekdays_any):
    sets of values (weekday 0 = Sunday; 7 folded to 0) and whether a day field is unrestricted.
    Raises SystemExit for forms outside that subset (L, W, #, six fields)."""
    texts = expression.split()
    if len(texts) != 5:
        raise SystemExit(f"bridge: cron {expression!r}: five fields expected")
    sets = [_cron_field(texts[i], _CRON_SPECS[i], expression) for i in range(5)]
    sets[4] = {d % 7 for d in sets[4]}
    return tuple(sets) + (texts[2] in ("*", "?"), texts[4] in ("*", "?"))


def _cron_field(text, spec, expression):
    low, high = spec[:2]
    values = set()
    for part in text.upper().split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            first, last = low, high
        else:
            first_text, dash, last_text = base.partition("-")
            first = _cron_value(first_text, spec, expression)
            last = _cron_value(last_text, spec, expression) if dash else first
            if step and not dash:
                last = high  # "5/15": from 5 to the field's end
        if not step.isdigit() and step:
            raise SystemExit(f"bridge: cron {expression!r}: bad step in {part!r}")
        every = int(step) if step else 1
        if last < first:  # a range that wraps (22-2, FRI-MON), as croniter reads it
            span = list(range(first, high + 1)) + list(range(low, last + 1))
        else:
            span = list(range(first, last + 1))
        values.update(span[::every])
    return values


def _cron_value(text, spec, expression):
    low, high, names = spec
    if text in names:
        return names.index(text) + low
    if not text.isdigit() or not low <= int(text) <= high:
        raise SystemExit(f"bridge: cron {expression!r}: {text!r} is not a value the step can read")
    return int(text)


def last_cron_tick(fields, at):
    """The latest minute at or before the naive time `at` that the cron matches. As croniter
    (so Airflow) reads it, when both day fields are restricted either one may match."""
    minutes, hours, days, months, weekdays, days_any, weekdays_any = fields
    day = at.date()
    for _ in range(_MAX_DAYS_BACK):
        weekday = (day.weekday() + 1) % 7  # cron counts from Sunday
        if days_any or weekdays_any:
            day_ok = day.day in days and weekday in weekdays
        else:
            day_ok = day.day in days or weekday in weekdays
        if day.month in months and day_ok:
            for hour in sorted(hours, reverse=True):
                if day == at.date() and hour > at.hour:
                    continue
                limit = at.minute if (day == at.date() and hour == at.hour) else 59
                fitting = [m for m in minutes if m <= limit]
                if fitting:
                    return datetime.datetime.combine(day, datetime.time(hour, max(fitting)))
        day -= datetime.timedelta(days=1)
    raise SystemExit(f"bridge: the cron matches no time in the eight years before {at}")


def _zone(name):
    """The tzinfo of an IANA zone name (zoneinfo, Python 3.9+); UTC, said loudly, without it."""
    if name.upper() in _UTC_NAMES:
        return UTC
    try:
        # Guarded: Python 3.8 has no zoneinfo and falls back to UTC below.
        from zoneinfo import ZoneInfo  # novermin

        return ZoneInfo(name)
    except (ImportError, LookupError, ValueError, OSError):  # 3.8, or no time zone data
        print(f"bridge: time zone {name!r} is not available here: the schedule is read in UTC")
        return UTC


def _aware(naive, zone):
    """A naive local time in `zone` as aware UTC (the earlier one when the clock repeats it)."""
    return naive.replace(tzinfo=zone).astimezone(UTC)


# --- Files shared with other steps (the data contract) ------------------------------------------
# On the Airflow worker, tasks hand files to each other through folders on its disk; each
# SageMaker job has its own. The translation names every folder a step shares (--folder KIND
# ORIGINAL WORK, then --folder-input PATH for each job input of it): before the call the runtime
# copies the inputs into the work folder in order (later producers' files win, as on a shared
# disk) and points the original location at it; after the call it removes the staged files the
# step left unchanged, so the job output (the work folder, when the step writes the folder) holds
# only what the step itself wrote.

FOLDER_MARKER = ".bridge-folder"  # keeps an output non-empty: a job refuses an empty S3 input


def container_path(path):
    """A /opt/ml path where this process sees it: under $BRIDGE_ML_ROOT when not sandboxed."""
    if ML_ROOT != "/opt/ml" and (path == "/opt/ml" or path.startswith("/opt/ml/")):
        return ML_ROOT + path[len("/opt/ml") :]
    return path


class SharedFolder:
    """One folder the step shares: kind "path" (an absolute path), "env" (a variable the job
    sets to the work folder) or "dag" (a folder next to the DAG file, so next to the script)."""

    def __init__(self, kind, key, work, inputs, code_dir):
        self.kind, self.key = kind, key
        self.work = Path(container_path(work))
        self.inputs = [Path(container_path(p)) for p in inputs]
        self.code_dir = Path(code_dir)
        self.staged = {}  # relative path -> digest of the copy staged there
        self.links = []  # symbolic links made to the work folder
        self.made = []  # folders made to hold them, deepest first

    def stage(self):
        self.work.mkdir(parents=True, exist_ok=True)
        for source in self.inputs:
            if source == self.work:
                continue  # a folder the step only reads, used where the job mounted it
            if not source.is_dir():
                raise SystemExit(f"bridge: input {source} of shared folder {self.key} is missing")
            for folder, dirs, files in os.walk(source):
                dirs.sort()
                for name in sorted(files):
                    path = Path(folder) / name
                    relative = path.relative_to(source)
                    if relative.as_posix() != FOLDER_MARKER:
                        self._copy(path, relative)

    def _copy(self, path, relative):
        target = self.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        shutil.copyfile(path, target)
        self.staged[relative.as_posix()] = _digest(target)

    def redirect(self):
        """Point the original location at the work folder."""
        if self.kind == "path":
            self._link(Path(self.key), replace_link=False)
        elif self.kind == "dag" and self.key:
            self._link(self.code_dir / self.key, replace_link=True)
        elif self.kind == "dag":  # the DAG's own folder is the script's: link what it holds
            for entry in sorted(self.work.iterdir()):
                if not os.path.lexists(self.code_dir / entry.name):
                    self._link(self.code_dir / entry.name, replace_link=False, target=entry)
        else:
            os.environ[self.key] = str(self.work)

    def _link(self, link, replace_link, target=None):
        target = target or self.work
        if os.path.islink(link) and (replace_link or os.readlink(link) == str(target)):
            os.unlink(link)
        elif os.path.isdir(link) and not os.listdir(link) and ML_ROOT == "/opt/ml":
            os.rmdir(link)  # an empty folder of the image: nothing is lost
        elif os.path.lexists(link):
            where = "in the job" if ML_ROOT == "/opt/ml" else "on this machine (not sandboxed)"
            raise SystemExit(
                f"bridge: cannot point {link} at the step's copy of the shared folder: it "
                f"already exists {where}, and the bridge never replaces it"
            )
        parent = link.parent
        while not parent.exists():
            self.made.append(parent)
            parent = parent.parent
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(str(target), str(link))
        self.links.append(link)

    def prune(self):
        """Remove the staged files the step did not change, and the folders that leaves empty."""
        for relative, digest in self.staged.items():
            path = self.work / relative
            if path.is_file() and not path.is_symlink() and _digest(path) == digest:
                path.unlink()
        for folder, _dirs, _files in os.walk(self.work, topdown=False):
            if folder != str(self.work) and not os.listdir(folder):
                os.rmdir(folder)
        (self.work / FOLDER_MARKER).write_text(
            f"Files the step wrote to {self.key} (a folder tasks share; see REPORT.md).\n"
        )

    def unlink(self):
        """Remove the links (and the folders made for them): a run that is not sandboxed leaves
        this machine as it found it."""
        for link in self.links:
            if os.path.islink(link):
                os.unlink(link)
        for folder in self.made:
            try:
                folder.rmdir()
            except OSError:
                break
        self.links, self.made = [], []


def stage_folders(call, code_dir=None):
    """Stage the folders the call names (--folder) and point their original locations at them.
    A folder named by an environment variable is also set in a bash task's own `env`."""
    code_dir = code_dir or os.path.dirname(os.path.abspath(sys.argv[0]))
    folders = [
        SharedFolder(f["kind"], f["key"], f["work"], f["inputs"], code_dir)
        for f in call.pop("folders", None) or []
    ]
    atexit.register(_unlink_all, folders)  # also when the call fails
    for folder in folders:
        folder.stage()
        folder.redirect()
        if folder.kind == "env" and isinstance(call.get("env"), dict):
            call["env"][folder.key] = str(folder.work)
    return folders


def release_folders(folders):
    """After a successful call: leave only the step's own files in its outputs, remove links."""
    for folder in folders:
        folder.prune()
    _unlink_all(folders)


def _unlink_all(folders):
    for folder in folders:
        folder.unlink()


def _digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":  # a bash step: python3 _bridge_runtime.py <task>.sh ARGS
    run_bash_file(sys.argv[1], sys.argv[2:])
