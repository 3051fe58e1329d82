"""Parse DAG files with a time and memory budget, in a worker process.

`parse_files(paths)` (or `parse_file_budgeted(path)`, one file at a time) is the entry point for
runs over user files (`bridge graph`, `translate`, `analyze`). Files are parsed by
`parse.parse_file` in a worker forked from this process: libcst and the parser are already
imported, and the worker is reused from file to file (a fork here costs ~7 ms, and its first
file pays copy-on-write faults), under `RLIMIT_AS` and a wall-clock deadline per file. The worker
sends each FileResult back pickled through a pipe. A file over its budget, or a worker that
crashes (a signal from a native library), becomes a diagnostic for that file; the worker is
replaced and the run goes on:

- BRG118: over the time budget (`BRIDGE_PARSE_TIMEOUT` seconds, 60 by default);
- BRG119: over the memory budget (`BRIDGE_PARSE_MEMORY_MB`, 2048 by default);
- BRG120: the worker died from a signal, or failed in a way it could not report.

A file that fails (other than by time) in a worker that served other files first is tried once
more in a fresh worker, so that nothing left over from earlier files decides its fate.

`parse.parse_file` stays the in-process path (tests, and callers that parse trusted files); it is
also the fallback where `os.fork` does not exist. `ParsePool` holds one worker; a pool of several
can replace it without changing `parse_files`'s callers.
"""

from __future__ import annotations

import atexit
import gc
import os
import pickle
import re
import select
import signal
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bridge.diagnostics import Diagnostic
from bridge.parse.dag_file import parse_file
from bridge.parse.model import FileResult

DEFAULT_SECONDS = 60.0
DEFAULT_MEMORY_MB = 2048
RECYCLE_AFTER = 200  # files per worker; bounds heap drift across files

_EXIT_MEMORY = 86  # the worker ran out of memory in Python (MemoryError)
_EXIT_ERROR = 87  # anything else the worker could not turn into a FileResult
_MiB = 1024 * 1024
_HEADER = 8  # bytes of the length prefix of each message


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Budget:
    """Wall-clock seconds per file, and memory (MiB of address space beyond what the worker
    inherits from this process)."""

    seconds: float = DEFAULT_SECONDS
    memory_mb: int = DEFAULT_MEMORY_MB

    @classmethod
    def from_env(cls) -> Budget:
        return cls(
            seconds=_env_number("BRIDGE_PARSE_TIMEOUT", DEFAULT_SECONDS),
            memory_mb=int(_env_number("BRIDGE_PARSE_MEMORY_MB", DEFAULT_MEMORY_MB)),
        )


def _limits() -> tuple:
    """The parser's tunable limits as they are now: a worker forked with other values (a test
    that monkeypatches one) is replaced, so the worker always parses as this process would."""
    from bridge.parse import interpreter
    from bridge.parse import source as parse

    return (
        interpreter.MAX_STEPS,
        interpreter.MAX_DEPTH,
        interpreter.MAX_RANGE,
        interpreter.MAX_VALUE,
        interpreter.MAX_BUILT,
        interpreter.MAX_INT_BITS,
        parse.MAX_FILE_BYTES,
        parse.MAX_EXPR_DEPTH,
        parse.CHAIN_FLATTEN,
    )


def parse_files(paths: Iterable[str | Path], budget: Budget | None = None) -> list[FileResult]:
    """Parse each file within the budget, in order. Never raises for bad input."""
    with ParsePool(budget) as pool:
        return [pool.parse(path) for path in paths]


_shared: ParsePool | None = None
_shared_lock = threading.Lock()


def parse_file_budgeted(path: str | Path, budget: Budget | None = None) -> FileResult:
    """One file within the budget, by a worker kept for the next call (closed at exit)."""
    global _shared
    budget = budget or Budget.from_env()
    with _shared_lock:
        if _shared is None or _shared.budget != budget or _shared.owner != os.getpid():
            if _shared is not None and _shared.owner == os.getpid():
                _shared.close()
            _shared = ParsePool(budget)
        return _shared.parse(path)


@atexit.register
def _close_shared() -> None:
    if _shared is not None and _shared.owner == os.getpid():
        _shared.close()


class ParsePool:
    """One reusable worker process; `parse(path)` -> FileResult within the budget."""

    def __init__(self, budget: Budget | None = None):
        self.budget = budget or Budget.from_env()
        self.owner = os.getpid()
        self._worker: _Worker | None = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def parse(self, path: str | Path) -> FileResult:
        if not hasattr(os, "fork"):  # pragma: no cover - Windows: no budget, same results
            return parse_file(path)
        shown = str(path)
        retried = False
        while True:
            worker = self._worker
            if worker is not None and worker.limits != _limits():
                self.close()
                worker = None
            if worker is None:
                try:
                    worker = self._worker = _Worker.start(self.budget)
                except OSError:  # no process to spare: parse here rather than lose the file
                    return parse_file(path)
            fresh = worker.served == 0
            try:
                result, (code, message) = worker.parse(path, self.budget)
            except BaseException:  # Ctrl-C: the worker was killed on the way out
                self._worker = None
                raise
            if result is not None:
                if worker.served >= RECYCLE_AFTER or worker.grown() > self.memory_bytes // 2:
                    self.close()
                return result
            self._worker = None  # the worker is gone (it died or was killed)
            if code != "BRG118" and not fresh and not retried:
                # Memory left over from earlier files, or a worker that died between files,
                # may be the cause: once more, in a fresh worker.
                retried = True
                continue
            return FileResult(path=shown, diagnostics=[Diagnostic.make(code, 0, message, shown)])

    @property
    def memory_bytes(self) -> int:
        return self.budget.memory_mb * _MiB


class _Worker:
    def __init__(self, pid: int, requests: int, results: int, baseline: int, stderr):
        self.pid = pid
        self.requests = requests
        self.results = results
        self.baseline = baseline  # resident bytes of this process when the worker was forked
        self.stderr = stderr  # the worker's stderr: read when it dies, never shown
        self.served = 0
        self.limits = _limits()

    @classmethod
    def start(cls, budget: Budget) -> _Worker:
        request_r, request_w = os.pipe()
        result_r, result_w = os.pipe()
        stderr = tempfile.TemporaryFile()
        baseline = _statm(1)
        try:
            pid = os.fork()
        except OSError:
            for fd in (request_r, request_w, result_r, result_w):
                os.close(fd)
            stderr.close()
            raise
        if pid == 0:  # pragma: no cover - the worker; coverage does not follow forks
            _serve(request_r, result_w, (request_w, result_r), budget, stderr.fileno())
        os.close(request_r)
        os.close(result_w)
        return cls(pid, request_w, result_r, baseline, stderr)

    def last_words(self) -> str:
        """The end of what the worker wrote to stderr (a native library's abort message)."""
        try:
            self.stderr.seek(max(self.stderr.seek(0, os.SEEK_END) - 4096, 0))
            return self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def grown(self) -> int:
        """Resident bytes the worker holds beyond what it shared with this process at fork."""
        return max(_statm(1, self.pid) - self.baseline, 0)

    def parse(self, path, budget: Budget) -> tuple[FileResult | None, tuple[str, str]]:
        deadline = time.monotonic() + budget.seconds
        done = False
        try:
            try:
                _send(self.requests, pickle.dumps(path))
                data = _receive(self.results, deadline)
            except (BrokenPipeError, EOFError):
                data = None
            except TimeoutError:
                self.kill()
                done = True
                return None, (
                    "BRG118",
                    f"parsing took longer than {budget.seconds:g} s and was stopped",
                )
            if data is not None:
                try:
                    result = pickle.loads(data)
                except Exception as exc:  # a truncated or foreign message: report, never crash
                    self.kill()
                    done = True
                    return None, ("BRG120", f"the parser's result could not be read: {exc}")
                self.served += 1
                done = True
                return result, ("", "")
            # The worker closed its end: it exited or died.
            _, status, usage = os.wait4(self.pid, 0)
            last_words = self.last_words()
            self._close_fds()
            done = True
            return None, _failure(status, usage, self.baseline, budget, last_words)
        finally:
            if not done:  # interrupted (Ctrl-C) or a bug: leave no worker behind
                self.kill()

    def stop(self) -> None:
        """Let the worker finish: it exits when its request pipe closes."""
        self._close_fds()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.stop()

    def _close_fds(self) -> None:
        for fd in (self.requests, self.results):
            try:
                os.close(fd)
            except OSError:
                pass
        self.requests = self.results = -1
        self.stderr.close()


def _serve(
    requests: int, results: int, parent_ends: tuple[int, int], budget: Budget, stderr: int
) -> None:
    """The worker's loop (in the forked child): path in, pickled FileResult out, until EOF."""
    code = _EXIT_ERROR
    try:  # pragma: no cover - runs in the child
        for fd in parent_ends:
            os.close(fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _quiet(stderr)
        _fixed_mmap_threshold()
        gc.freeze()  # what was inherited is never collected: no copy-on-write from the GC
        _limit_memory(budget.memory_mb)
        while True:
            message = _read_message(requests)
            if message is None:
                code = 0
                break
            _limit_cpu(budget.seconds)
            result = parse_file(pickle.loads(message))
            _send(results, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            del result
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException:
        code = _EXIT_ERROR
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


def _quiet(stderr: int) -> None:  # pragma: no cover - runs in the child
    """The worker reports through its results only: native libraries' messages (an allocation
    failure under the memory limit prints a Rust backtrace) go to a file the parent reads when
    the worker dies, never to the terminal."""
    import faulthandler

    faulthandler.disable()  # a crash is reported as BRG120 by the parent
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    os.dup2(devnull, 1)
    os.dup2(stderr, 2)
    os.close(devnull)


def _fixed_mmap_threshold() -> None:  # pragma: no cover - runs in the child
    """glibc raises its mmap threshold each time a large block is freed, so after CPython's
    check (parse.check_source) frees its tree, libcst's large buffers land in the heap and are
    not given back: a 10,000-task file then peaks ~50 MB higher. A fixed threshold (glibc's
    initial 128 KiB) keeps large blocks mmapped and returned when freed."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _limit_memory(memory_mb: int) -> None:  # pragma: no cover - runs in the child
    try:
        import resource
    except ImportError:
        return
    limit = (_statm(0) or 1024 * _MiB) + memory_mb * _MiB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _limit_cpu(seconds: float) -> None:  # pragma: no cover - runs in the child
    """A second line behind the parent's deadline: should the parent vanish mid-file, the
    worker stops on its own (SIGXCPU) instead of parsing a hostile file for ever."""
    try:
        import resource
    except ImportError:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + 2 * seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def _statm(field: int, pid: int | str = "self") -> int:
    """Virtual size (field 0) or resident size (1) of a process, in bytes; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _send(fd: int, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(_HEADER, "big") + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_message(fd: int) -> bytes | None:  # pragma: no cover - the worker's side
    """A whole message, blocking; None at EOF."""
    header = _read_exact(fd, _HEADER, None)
    if header is None:
        return None
    return _read_exact(fd, int.from_bytes(header, "big"), None)


def _receive(fd: int, deadline: float) -> bytes | None:
    """The worker's next message; None when it closed the pipe; TimeoutError past the deadline."""
    header = _read_exact(fd, _HEADER, deadline)
    if header is None:
        return None
    return _read_exact(fd, int.from_bytes(header, "big"), deadline)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    poller = None
    if deadline is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while left > 0:
        if poller is not None:
            remaining = deadline - time.monotonic()  # type: ignore[operator]
            if remaining <= 0:
                raise TimeoutError()
            if not poller.poll(max(int(remaining * 1000), 1)):
                continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# What allocators print when an allocation fails: Rust's (libcst's native parser) and glibc's.
_OUT_OF_MEMORY = re.compile(
    r"memory allocation of \d+ bytes failed|Cannot allocate memory|MemoryError"
)


def _failure(status: int, usage, baseline: int, budget: Budget, last_words: str) -> tuple[str, str]:
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code == _EXIT_MEMORY:
            return "BRG119", (
                f"parsing needed more than {budget.memory_mb:,} MiB of memory and was stopped"
            )
        return "BRG120", f"the parser process failed (exit status {code})"
    number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    # Native code (libcst's parser) aborts when an allocation fails under RLIMIT_AS; the kernel's
    # OOM killer sends SIGKILL. Either, with the worker's memory near its budget, is the budget.
    grew = max(usage.ru_maxrss * 1024 - baseline, 0)
    if _OUT_OF_MEMORY.search(last_words) or (
        number in (signal.SIGABRT, signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS)
        and grew >= budget.memory_mb * _MiB // 2
    ):
        return "BRG119", (
            f"parsing needed more than {budget.memory_mb:,} MiB of memory "
            f"(the parser process died from {name})"
        )
    return "BRG120", f"the parser process died from {name}"


__all__ = ["Budget", "ParsePool", "parse_file_budgeted", "parse_files"]
