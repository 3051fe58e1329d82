"""The bridge step runtime: copied verbatim into every generated step script.

It rebuilds the call Airflow would have made from the step's arguments, runs it, and writes the
result as the step's XCom. Standard library only: it runs in any SageMaker Processing image and
locally: `bridge run` sets BRIDGE_ML_ROOT to the step's folder that stands for /opt/ml.

Arguments (built by the emitted pipeline.py):
  --call JSON                   the literal part of the call: op_args, op_kwargs, templates_dict,
                                params, context, command, env (run-time values are null here)
  --set PATH TYPE VALUE         put a pipeline value (Parameter, Join, ExecutionVariable) at PATH
                                (a JSON list of keys); TYPE: str, int, float, bool or json
  --xcom PATH TASK_ID KEY       put an upstream task's XCom at PATH (null if that step did not run)
Output: OUTPUT_DIR/xcom.json = {"return_value": ..., <pushed keys>..., "bridge_branch": [...],
"bridge_condition": ...}.
"""

import inspect
import json
import os
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


def read_xcom(task_id, key):
    """An upstream step's XCom; a mapped upstream gives the list of its instances' values."""
    folder = INPUT_DIR / task_id
    if (folder / "xcom.json").is_file():
        return json.loads((folder / "xcom.json").read_text()).get(key)
    parts = sorted((p for p in folder.glob("*/xcom.json")), key=lambda p: int(p.parent.name))
    if parts:
        return [json.loads(p.read_text()).get(key) for p in parts]
    return None  # the upstream step did not run (a branch not taken)


def parse_args(argv):
    call, i = {}, 0
    while i < len(argv):
        flag = argv[i]
        if flag == "--call":
            call = _merge(call, json.loads(argv[i + 1]))
            i += 2
        elif flag == "--set":
            _put(call, json.loads(argv[i + 1]), _typed(argv[i + 2], argv[i + 3]))
            i += 4
        elif flag == "--xcom":
            _put(call, json.loads(argv[i + 1]), read_xcom(argv[i + 2], argv[i + 3]))
            i += 4
        else:
            raise SystemExit(f"bridge step runtime: unknown argument {flag!r}")
    return call


def _merge(base, extra):
    for key, value in extra.items():
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

    def __init__(self, task_id, pushed):
        self.task_id = task_id
        self._pushed = pushed

    def xcom_pull(self, task_ids=None, key="return_value", **_):
        if isinstance(task_ids, (list, tuple)):
            return [read_xcom(t, key) for t in task_ids]
        return read_xcom(task_ids, key) if task_ids else None

    def xcom_push(self, key, value, **_):
        self._pushed[key] = value


def call_function(fn, call, task_id, pushed):
    """Call `fn` as Airflow does: op_args, op_kwargs, then context keys the function accepts."""
    context = dict(call.get("context") or {})
    context["params"] = call.get("params") or {}
    context["templates_dict"] = call.get("templates_dict")
    ti = TaskInstance(task_id, pushed)
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


def run_bash(command, env, append_env):
    environment = {**os.environ, **(env or {})} if append_env or not env else dict(env)
    done = subprocess.run(
        ["bash", "-c", command], env=environment, capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode == SKIP_EXIT_CODE:
        print("bridge: exit code 99, Airflow would mark the task skipped")
        return None
    if done.returncode:
        raise SystemExit(f"bash command failed with exit code {done.returncode}")
    lines = done.stdout.rstrip("\n").splitlines()
    return lines[-1] if lines else None


def main(fn, mode, task_id, argv=None, map_keys=None):
    call = parse_args(sys.argv[1:] if argv is None else argv)
    pushed = {}
    if mode == "bash":
        result = run_bash(call.get("command") or "", call.get("env"), call.get("append_env"))
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
        result = run_bash(result, call.get("env"), True)
    output = {"return_value": result, **pushed}
    if isinstance(result, dict):  # TaskFlow pushes a dict's keys too (multiple_outputs)
        output.update({k: v for k, v in result.items() if isinstance(k, str) and k not in output})
    if mode == "branch":
        chosen = [result] if isinstance(result, str) else list(result or [])
        output["bridge_branch"] = [t in chosen for t in call.get("targets", [])]
    if mode == "short_circuit":
        output["bridge_condition"] = bool(result)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUTPUT_DIR / "xcom.json").write_text(json.dumps(output, default=str, sort_keys=True))


def _instances(kwargs, keys):
    """`.expand(x=[...], y=[...])`: the cross product of the mapped arguments, as Airflow maps."""
    combos = [{}]
    for key in keys:
        combos = [{**c, key: v} for c in combos for v in (kwargs.get(key) or [])]
    return combos
