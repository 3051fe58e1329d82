"""What the file analysis finds for one task: typed, frozen, read by the data-flow wiring.

A *folder* is the unit of SageMaker's data contract. In Airflow, tasks on one worker share its
disk; on SageMaker each job has its own container, so every folder that one task writes and a
later task reads must become a job output of the producer and a job input of the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FolderKind = Literal["path", "env", "dag"]
Mode = Literal["read", "write"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Folder:
    """A folder tasks share on the Airflow worker.

    kind "path": an absolute path on the worker (`key` is that path, normalised, posix);
    kind "env":  the folder an environment variable names (`key` is the variable, `default`
                 the path used when it is unset, if the DAG gives one);
    kind "dag":  a folder of the DAG's own repository (`key` is relative to the DAG file's
                 folder, posix, "" for that folder itself), as in `Path(__file__).parent / "data"`.
    """

    kind: FolderKind
    key: str
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Access:
    """One read or write of a file or folder under `folder`."""

    folder: Folder
    mode: Mode
    path: str  # the path as the DAG builds it, for messages: "/tmp/x/raw_{ds}.csv"
    line: int  # line in the DAG file


@dataclass(frozen=True, slots=True, kw_only=True)
class Unresolved:
    """A file access whose path cannot be determined statically: never exact."""

    expression: str  # the source text of the path expression
    line: int
    why: str  # e.g. "the path is computed at run time"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFiles:
    accesses: tuple[Access, ...] = ()
    unresolved: tuple[Unresolved, ...] = ()

    def folders(self, mode: Mode) -> tuple[Folder, ...]:
        """Folders accessed with `mode`, in first-seen order, each once."""
        return tuple(dict.fromkeys(a.folder for a in self.accesses if a.mode == mode))
