"""Run one function over many files in worker processes: one file at a time per worker, each
file within its own time limit, results in the files' order whatever order they finish in.

Workers are forked from this process (as bridge.parse.worker's are), so the function and what it
closes over (a rule registry with the user's `--rules` modules, the config) reach them as they
are; only the index of the next file goes to a worker, and only its result (pickled) comes back.
A file whose worker runs past the limit, dies (the kernel's out-of-memory killer, a crash in a
native library) or fails becomes a `Stopped` for that file, and the run goes on in a fresh
worker. Each worker leads its own process group, so stopping it also stops what it started (the
parse worker, ruff) and a Ctrl-C at the terminal reaches this process only, which stops them all.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Generic, TypeVar

from bridge.diagnostics import Diagnostic

T = TypeVar("T")
R = TypeVar("R")

_WORKING = object()  # a worker's state: no result yet
_GONE = object()  # what a worker whose end of the pipe closed sent

RECYCLE_AFTER = 100  # files per worker: bounds what caches and the heap grow to across files
_POLL = 0.5  # seconds between checks for a dead worker where the kernel has no pidfd


@dataclass(frozen=True)
class Stopped:
    """A file the worker did not finish: `kind` is "timeout", "died" or "error" (an exception
    the function let through); `reason` says it in words."""

    kind: str
    reason: str

    def diagnostic(self, path: str) -> Diagnostic:
        """What the file reports: BRG225, or BRG199 for an exception (a bug of ours)."""
        if self.kind == "error":
            return Diagnostic.make("BRG199", 0, f"internal error: {self.reason}", path)
        message = f"not finished: {self.reason}; the run went on without this file"
        return Diagnostic.make("BRG225", 0, message, path)


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, as a container or `taskset` sets it),
    not the machine's."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13
    if count is not None:
        return count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_pool(
    work: Callable[[T], R],
    items: Sequence[T],
    *,
    jobs: int,
    timeout: float,
    on_done: Callable[[int], None] | None = None,
) -> list[R | Stopped]:
    """`work(item)` for each item, by up to `jobs` workers, each item within `timeout` seconds;
    `on_done(index)` as each one finishes (a progress bar)."""
    results: list[R | Stopped | None] = [None] * len(items)
    if not hasattr(os, "fork"):  # pragma: no cover - Windows: one after another, no limit
        jobs = 0
    pool = _Pool(work, list(items), jobs=min(jobs, len(items)), timeout=timeout)
    try:
        for index, result in pool.run():
            results[index] = result
            if on_done is not None:
                on_done(index)
    finally:
        pool.close()
    return results  # type: ignore[return-value] - every index was filled


class _Pool(Generic[T, R]):
    def __init__(self, work: Callable[[T], R], items: list[T], *, jobs: int, timeout: float):
        self.work = work
        self.items = items
        self.jobs = jobs
        self.timeout = timeout
        self.workers: list[_Worker] = []

    def run(self) -> Iterator[tuple[int, R | Stopped]]:
        if self.jobs < 1:
            for index in range(len(self.items)):
                yield index, self._here(index)
            return
        pending = deque(range(len(self.items)))  # handed out in file order
        while pending or self._busy():
            while pending and (self._idle() or len(self.workers) < self.jobs):
                worker = self._idle() or self._start()
                index = pending.popleft()
                if worker is None:  # no process to spare: this file here, without a limit
                    yield index, self._here(index)
                elif not worker.assign(index, time.monotonic() + self.timeout):
                    self._retire(worker, kill=True)  # it died while idle: the file waits
                    pending.appendleft(index)
            busy = self._busy()
            if not busy:
                continue
            deadline = min(w.deadline for w in busy)
            has_pidfd = all(w.pidfd is not None for w in busy)
            wait_for = max(0.0, deadline - time.monotonic())
            ready = set(
                wait(
                    [w.results for w in busy] + [w.pidfd for w in busy if w.pidfd is not None],
                    timeout=wait_for if has_pidfd else min(wait_for, _POLL),
                )
            )
            for worker in busy:
                result = self._collect(worker, ready)
                if result is _WORKING:
                    continue
                index, worker.index = worker.index, None
                if worker.pid is None:  # stopped or dead: a fresh one takes the next file
                    self.workers.remove(worker)
                elif worker.served >= RECYCLE_AFTER:
                    self._retire(worker, kill=False)
                yield index, result  # type: ignore[misc]

    def _collect(self, worker: _Worker, ready: set):
        """The worker's result if it has one, why it has none, or _WORKING."""
        if worker.results in ready:
            result = worker.receive()
            return worker.reap() if result is _GONE else result
        if time.monotonic() >= worker.deadline:
            worker.kill()
            return Stopped("timeout", f"took longer than {self.timeout:g} s")
        if worker.pidfd in ready or (worker.pidfd is None and worker.exited()):
            return worker.reap()
        return _WORKING

    def _idle(self) -> _Worker | None:
        return next((w for w in self.workers if w.index is None), None)

    def _busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.index is not None]

    def _start(self) -> _Worker | None:
        try:
            worker = _Worker.start(self.work, self.items, self.workers)
        except OSError:
            return None
        self.workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        if kill:
            worker.kill()
        else:
            worker.stop()
        self.workers.remove(worker)

    def _here(self, index: int) -> R | Stopped:
        try:
            return self.work(self.items[index])
        except Exception as exc:  # a bug of ours: reported for this file, the run goes on
            return Stopped("error", f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop every worker: idle ones finish, busy ones (Ctrl-C, an error here) are killed."""
        for worker in list(self.workers):
            self._retire(worker, kill=worker.index is not None)


class _Worker:
    def __init__(self, pid: int, requests: Connection, results: Connection):
        self.pid: int | None = pid
        self.requests = requests  # index of the next item -> worker
        self.results = results  # pickled (ok, result or error text) <- worker
        self.pidfd = _pidfd(pid)  # readable once the worker has exited
        self.index: int | None = None
        self.deadline = float("inf")
        self.served = 0

    @classmethod
    def start(cls, work: Callable, items: list, others: list[_Worker]) -> _Worker:
        request_r, request_w = os.pipe()
        result_r, result_w = os.pipe()
        sys.stdout.flush()  # nothing buffered here is written twice
        sys.stderr.flush()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            for fd in (request_r, request_w, result_r, result_w):
                os.close(fd)
            raise
        if pid == 0:  # pragma: no cover - the worker; coverage does not follow forks
            code = 1
            try:
                _own_group_and_parent_death(parent)
                os.close(request_w)
                os.close(result_r)
                for other in others:  # the other workers' pipes: they must see this process go
                    other.close_fds()
                _serve(work, items, Connection(request_r, writable=False), result_w)
                code = 0
            finally:
                os._exit(code)
        try:
            os.setpgid(pid, pid)  # also here: the worker may not have run yet when it is killed
        except OSError:
            pass
        os.close(request_r)
        os.close(result_w)
        return cls(pid, Connection(request_w, readable=False), Connection(result_r, writable=False))

    def assign(self, index: int, deadline: float) -> bool:
        try:
            self.requests.send_bytes(b"%d" % index)
        except OSError:
            return False
        self.index = index
        self.deadline = deadline
        return True

    def receive(self):
        """The result of the current item, or _GONE when the worker closed its end."""
        try:
            data = self.results.recv_bytes()
        except (EOFError, OSError):
            return _GONE
        self.served += 1
        self.deadline = float("inf")
        try:
            ok, value = pickle.loads(data)
        except Exception as exc:  # a truncated or foreign message: this file, not the run
            return Stopped("error", f"its result could not be read: {exc}")
        return value if ok else Stopped("error", value)

    def exited(self) -> bool:
        """The worker has exited (left unreaped, so that its process group id stays its own
        until whatever it started is stopped)."""
        if self.pid is None:
            return True
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def reap(self) -> Stopped:
        """Why the worker died (whatever it started is stopped with it)."""
        self._kill_group()
        return Stopped("died", _death(self._reaped()))

    def kill(self) -> None:
        if self.pid is not None:
            self._kill_group()
            self._reaped()

    def stop(self) -> None:
        """Let an idle worker finish: it exits on the empty request."""
        if self.pid is None:
            return
        try:
            self.requests.send_bytes(b"")
        except OSError:
            self._kill_group()
        self._reaped()

    def _kill_group(self) -> None:
        """SIGKILL to the worker's process group, before it is reaped (so the id is still its)."""
        assert self.pid is not None
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:  # no group of its own after all: the worker alone
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _reaped(self) -> int | None:
        """Wait for the worker to end; its wait status (None if it was reaped elsewhere)."""
        assert self.pid is not None
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = None
        self.pid = None
        self.close_fds()
        return status

    def close_fds(self) -> None:
        for conn in (self.requests, self.results):
            conn.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def _own_group_and_parent_death(parent: int) -> None:  # pragma: no cover - runs in the worker
    """Lead a process group of its own, and die with this process should it be killed without
    stopping its workers (SIGTERM): a worker on a hung file would otherwise run on."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's handler (bridge.cli)
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, Linux
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent went before the line above: so do we
        os._exit(1)


def _serve(work: Callable, items: list, requests: Connection, results: int) -> None:
    """The worker's loop: an index in, the pickled result out, until the empty request."""
    gc.freeze()  # what was inherited is never collected: no copy-on-write from the GC
    out = Connection(results, readable=False)
    while True:
        try:
            request = requests.recv_bytes()
        except EOFError:  # the parent is gone
            return
        if not request:
            return
        try:
            payload = pickle.dumps(
                (True, work(items[int(request)])), protocol=pickle.HIGHEST_PROTOCOL
            )
        except Exception as exc:  # reported for this file; the worker goes on with the next
            payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
        out.send_bytes(payload)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)  # Linux 5.3+
    except (AttributeError, OSError):
        return None


def _death(status: int | None) -> str:
    if status is None:
        return "its worker process died"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGKILL:  # what the kernel's out-of-memory killer sends
            return f"its worker process was killed ({name}; out of memory?)"
        return f"its worker process died from {name}"
    return f"its worker process exited with status {os.WEXITSTATUS(status)}"


__all__ = ["Stopped", "available_cores", "run_pool"]
