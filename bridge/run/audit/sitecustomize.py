"""The bridge's file audit for one job process: which paths outside the job's own files it uses.

`bridge run` puts this folder first on PYTHONPATH of every Python process of a Processing or
Training step, so Python imports it at start-up (as `sitecustomize`) and it installs an audit
hook (PEP 578) before the step's own code runs: the bridge step runtime and users' scripts alike.
Standard library only, Python 3.8+: it runs on the image's interpreter.

Each path the process opens, reads, writes, lists, creates, renames or removes is classified:
  quiet     under the job's own folders (/opt/ml, the interpreter, the system folders, /dev,
            /proc, /sys) or above them ("/", "/opt"): not recorded;
  elsewhere recorded; a write is allowed (it vanishes with the job), a read of something the job
            would not have fails with FileNotFoundError naming the path and why, as the read
            would fail on SageMaker (the file is not there). Inside the sandbox a path that
            exists there was made by the job (its /tmp and HOME start empty), so only missing
            ones are refused; unsandboxed, only what this step wrote, and the folders in
            BRIDGE_AUDIT_READABLE (the --data-dir escape hatch), are readable.
Records go as JSON lines to $BRIDGE_AUDIT_FILE (never under /opt/ml: that is uploaded).

Environment: BRIDGE_AUDIT_FILE, BRIDGE_AUDIT_QUIET and BRIDGE_AUDIT_READABLE (folders joined by
os.pathsep), BRIDGE_AUDIT_SANDBOXED ("1" inside bubblewrap).
"""

import errno
import json
import os
import sys
import threading

MAX_RECORDS = 2000  # per process; the runner caps what it keeps per step again
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# event -> (index of the path argument, what it does); rename-like events also name a target
READS = {"os.listdir": 0, "os.scandir": 0, "os.chdir": 0}
WRITES = {
    "os.mkdir": 0,
    "os.remove": 0,
    "os.rmdir": 0,
    "os.chmod": 0,
    "os.chown": 0,
    "os.truncate": 0,
    "os.utime": 0,
    "shutil.rmtree": 0,
    "tempfile.mkstemp": 0,
    "tempfile.mkdtemp": 0,
}
PAIRS = {  # (source, target): source read (copies) or changed (moves)
    "shutil.copyfile": "read",
    "shutil.copytree": "read",
    "shutil.copymode": "read",
    "shutil.copystat": "read",
    "os.rename": "write",
    "shutil.move": "write",
    "os.symlink": None,  # the link's target is not opened
    "os.link": "read",
}
REFUSAL = (
    "BRG307 {path} is not in this job's file system: a SageMaker job has no such file (it is "
    "on the machine that ran the pipeline); declare it as an input of the step"
)


def _folders(variable):
    return [os.path.normpath(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]


def _user_site():
    try:
        import site

        return [site.getusersitepackages()]
    except (AttributeError, ImportError):  # a Python run with -S, or a stripped site module
        return []


def _under(path, roots):
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


class Audit:
    def __init__(self, record_file):
        self.record_file = record_file
        here = os.path.dirname(os.path.abspath(__file__))
        interpreter = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        self.quiet = _folders("BRIDGE_AUDIT_QUIET") + [here, os.path.dirname(record_file)]
        self.quiet += [os.path.normpath(p) for p in interpreter] + ["/dev", "/proc", "/sys"]
        # The user's site-packages is the interpreter's too (not all of sys.path: an editable
        # install puts a repository there).
        self.quiet += [os.path.normpath(p) for p in _user_site()]
        self.readable = _folders("BRIDGE_AUDIT_READABLE")
        self.sandboxed = os.environ.get("BRIDGE_AUDIT_SANDBOXED") == "1"
        self.seen = set()
        self.known_quiet = set()  # paths already found quiet: no realpath again
        self.written = set()
        self.busy = threading.local()  # the hook's own file operations raise events too
        self.fd = None

    def __call__(self, event, args):
        if getattr(self.busy, "on", False):
            return
        accesses = self.accesses(event, args)
        if not accesses:
            return
        self.busy.on = True
        try:
            refusal = None
            for path, mode in accesses:
                refusal = self.check(path, mode) or refusal
        finally:
            self.busy.on = False
        if refusal:  # the error a job gets for a file it does not have, with the reason
            raise FileNotFoundError(errno.ENOENT, refusal)

    def accesses(self, event, args):
        """(absolute path, "read" | "write") pairs an event touches; [] for others."""
        if event == "open":
            path, mode, flags = args
            if mode is None and not self.absolute(path):
                return []  # os.open relative to a dir_fd (shutil.rmtree walks so)
            writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & WRITE_FLAGS)
            return self.paths([(path, "write" if writing else "read")])
        if event in READS or event in WRITES:
            if len(args) > 1 and isinstance(args[-1], int) and args[-1] not in (-1,):
                if not self.absolute(args[0]):
                    return []  # relative to a directory descriptor
            return self.paths([(args[0], "read" if event in READS else "write")])
        if event in PAIRS and len(args) >= 2:
            source_mode = PAIRS[event]
            pairs = [(args[1], "write")]
            if source_mode:
                pairs.append((args[0], source_mode))
            return self.paths(pairs)
        return []

    @staticmethod
    def absolute(path):
        try:
            return os.path.isabs(os.fsdecode(path))
        except TypeError:
            return False

    @staticmethod
    def paths(pairs):
        found = []
        for path, mode in pairs:
            if path is None or isinstance(path, int):
                continue  # a file descriptor
            try:
                text = os.fsdecode(path)
            except TypeError:
                continue
            found.append((os.path.normpath(os.path.abspath(text)), mode))
        return found

    def check(self, path, mode):
        """Record the access; the refusal, for a read of a file the job would not have."""
        if path in self.known_quiet:
            return None
        real = os.path.realpath(path)
        if _under(path, self.quiet) or _under(real, self.quiet) or self.above_own(path):
            self.known_quiet.add(path)
            return None
        refused = mode == "read" and not self.readable_here(path, real)
        if mode == "write":
            self.written.add(path)
        reason = REFUSAL.format(path=path) if refused else None
        self.record(path, mode, refused, reason)
        return reason

    def above_own(self, path):
        """A folder above the job's own ("/", "/opt"): the import system lists them."""
        return any(_under(root, [path]) for root in self.quiet + self.readable)

    def readable_here(self, path, real):
        if self.sandboxed:  # all that exists in the sandbox is the job's (or --data-dir's)
            return os.path.lexists(path)
        if _under(path, self.readable) or _under(real, self.readable):
            return True
        return self.wrote(path)

    def wrote(self, path):
        """This step (any of its processes) wrote the path or a folder above it."""
        if _under(path, self.written):
            return True
        try:
            with open(self.record_file, encoding="utf-8") as records:
                for line in records:
                    entry = json.loads(line)
                    if entry.get("mode") == "write" and _under(path, [entry.get("path", "")]):
                        return True
        except (OSError, ValueError):
            return False
        return False

    def record(self, path, mode, refused, reason):
        key = (path, mode, refused)
        if key in self.seen or len(self.seen) >= MAX_RECORDS:
            return
        self.seen.add(key)
        entry = {"path": path, "mode": mode, "refused": refused}
        if reason:
            entry["reason"] = reason
        line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8", "replace")
        try:
            if self.fd is None:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                self.fd = os.open(self.record_file, flags, 0o644)
            os.write(self.fd, line)
        except OSError:
            pass  # the audit must never be what fails the job


def install():
    record_file = os.environ.get("BRIDGE_AUDIT_FILE")
    if record_file and hasattr(sys, "addaudithook"):
        sys.addaudithook(Audit(record_file))


def _chain():
    """Run the sitecustomize this one shadows (an interpreter may ship its own)."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


install()
_chain()
