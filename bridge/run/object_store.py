"""A local stand-in for S3, used by `bridge run` and `bridge serve`: `s3://bucket/key` is the
file `ROOT/bucket/key`.

It is a plain folder so a person can look inside (`ls runs/store/...`): the parts of a key
between `/` are folders, the last one the object's file. S3 prefixes are treated as folders:
`s3://b/a/x` names the object `a/x`, or every object under `a/x/`, or both. That is how the
pipelines we emit use them (SageMaker's S3Prefix also matches `a/xy`, which nothing here relies
on).

S3's key space is flat: `a` and `a/x` can both be objects (the SageMaker SDK puts a definition
of 100 KiB or more at `s3://<bucket>/<pipeline name>`, and the pipeline's files live under
`<pipeline name>/`). A file cannot also be a folder, so the object `a` then lives in its folder
as `a/.bridge-object` (OBJECT_FILE): writing `a/x` when `a` is a file moves it there, writing
`a` when the folder `a` holds keys puts it there. Deleting (only `bridge serve`'s S3 deletes)
moves it back once nothing else is under `a/`, and removes the folders left empty.

A file is written as `.bridge-upload-<random>` (TEMP) beside its place and renamed into place
when whole, so a reader never sees half of an object. OBJECT_FILE and TEMP names are the store's
own: no key may have such a part. Every change of the layout (folders made, an object moved into
or out of its folder, a file renamed into place) and every look-up of an object's file happens
under one lock, so readers of this process never miss an object being moved: `open()` and the
methods that read are exact; `path()` hands out a file name, which a caller that opens it later
could find moved. Links are followed only while they stay inside the store.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# S3's bucket names (including the legacy ones with capitals and underscores); never `.` or `..`.
BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
OBJECT_FILE = ".bridge-object"  # the object `a` when `a/` holds keys too: `a/.bridge-object`
TEMP = ".bridge-upload-"  # a file being written, renamed into place when whole
_LAYOUT = threading.Lock()


class UnusableKey(ValueError):
    """The key cannot be written: a link or a special file on its way, or out of the store."""


def store_part(part: str) -> bool:
    """Whether a part of a key (between `/`) is one of the store's own names, which no key has."""
    return part == OBJECT_FILE or part.startswith(TEMP)


def object_file(path: Path) -> Path | None:
    """The file holding the object whose key is at `path` (bucket folder / key parts), or None.
    Call it holding the layout lock (`open_object`, `objects`, `writing`, `remove` do)."""
    if path.is_file():
        return path
    inner = path / OBJECT_FILE
    return inner if inner.is_file() else None


def open_object(path: Path, root: Path) -> BinaryIO | None:
    """The object at `path` open for reading; None if there is none or its file leads out of
    the store `root`. An open file stays readable whatever later moves it."""
    with _LAYOUT:
        file = _contained_object(path, root)
        return None if file is None else file.open("rb")


def _contained_object(path: Path, root: Path) -> Path | None:
    file = object_file(path)
    return file if file is not None and _inside(file, root) else None


def objects(folder: Path, start: Path, root: Path) -> list[tuple[str, Path]]:
    """(key, file) of every object of the bucket folder `folder` found under `start`, sorted by
    key. A file reached through a link out of the store `root` is no object."""
    with _LAYOUT:
        return _walk(folder, start, root)


def _walk(folder: Path, start: Path, root: Path) -> list[tuple[str, Path]]:
    if not start.is_dir():
        return []
    found = []
    for file in start.rglob("*"):  # does not descend into linked folders
        if file.name.startswith(TEMP) or not file.is_file() or not _inside(file, root):
            continue
        relative = file.relative_to(folder)
        if file.name == OBJECT_FILE:
            relative = relative.parent  # the object its folder is named for
        if relative.parts:
            found.append((relative.as_posix(), file))
    return sorted(found)


@contextlib.contextmanager
def writing(path: Path, folder: Path, root: Path) -> Iterator[BinaryIO]:
    """A file to write the object at `path` (in the bucket folder `folder` of the store `root`)
    into; it becomes the object when the block ends without an error. UnusableKey if the key
    cannot be written."""
    if path == folder or not path.is_relative_to(folder):
        raise UnusableKey("it names no object of the bucket")
    with _LAYOUT:
        _make_folders(path.parent, folder, root)
        temp = path.parent / f"{TEMP}{uuid.uuid4().hex}"
        file = temp.open("xb")
    try:
        with file:
            yield file
        with _LAYOUT:
            os.replace(temp, _place(path, root))
    finally:
        temp.unlink(missing_ok=True)


def _make_folders(target: Path, folder: Path, root: Path) -> None:
    """Make `target` and the folders above it up to the bucket folder; an object on the way
    moves into its folder."""
    current = folder
    for part in target.relative_to(folder).parts:
        current = current / part
        if not _inside(current, root):
            raise UnusableKey("it leads out of the store")
        if current.is_dir():  # a folder, or a link to one inside the store
            continue
        if current.is_file() and not current.is_symlink():
            _into_folder(current)
            continue
        try:
            current.mkdir()
        except OSError:
            raise UnusableKey(f"{part!r} is a link or a special file, not a folder") from None


def _place(path: Path, root: Path) -> Path:
    """Where the object at `path` is written: its own name, or OBJECT_FILE in its folder."""
    if path.is_dir() and not path.is_symlink():
        try:
            path.rmdir()  # a folder without a key under it: the object takes its name
        except OSError:
            path = path / OBJECT_FILE
    # A link at `path` is replaced, never written through.
    if not _inside(path.parent, root):
        raise UnusableKey("it leads out of the store")
    return path


def remove(path: Path, folder: Path) -> None:
    """Delete the object at `path` (none: nothing to do), then the folders that leaves empty up
    to the bucket folder; an object left alone in its folder moves back to the folder's name."""
    with _LAYOUT:
        file = object_file(path)
        if file is None:
            return
        file.unlink()
        current = file.parent
        while current != folder and current.is_relative_to(folder) and not current.is_symlink():
            left = os.listdir(current)
            if left == [OBJECT_FILE] and not (current / OBJECT_FILE).is_symlink():
                _out_of_folder(current)
                return
            if left:
                return
            current.rmdir()
            current = current.parent


def _into_folder(file: Path) -> None:
    temp = file.with_name(f"{TEMP}{uuid.uuid4().hex}")
    os.rename(file, temp)
    file.mkdir()
    os.rename(temp, file / OBJECT_FILE)


def _out_of_folder(folder: Path) -> None:
    temp = folder.with_name(f"{TEMP}{uuid.uuid4().hex}")
    os.rename(folder / OBJECT_FILE, temp)
    folder.rmdir()
    os.rename(temp, folder)


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, is inside `root`."""
    return path.resolve().is_relative_to(root.resolve())


class ObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def _locate(self, uri: str) -> tuple[Path, Path]:
        """(bucket folder, key path) of `uri`, always inside the store: a definition or an
        `artifacts.json` is input we did not write, so `..`, odd buckets, the store's own names
        and links out of the store are refused."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ValueError(f"not an S3 URI: {uri!r}")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        parts = [p for p in key.split("/") if p]
        if (
            not BUCKET.match(bucket)
            or ".." in bucket
            or "\0" in key
            or any(p in (".", "..") or store_part(p) for p in parts)
        ):
            raise ValueError(f"unusable S3 URI: {uri!r}")
        folder = self.root / bucket
        path = folder.joinpath(*parts)
        if not _inside(path, self.root):
            raise ValueError(f"S3 URI leads out of the object store: {uri!r}")
        return folder, path

    def path(self, uri: str) -> Path:
        """The file holding the object `uri`; else the folder of the prefix `uri` (which need
        not exist)."""
        _, path = self._locate(uri)
        with _LAYOUT:
            return _contained_object(path, self.root) or path

    def exists(self, uri: str) -> bool:
        """Whether `uri` is an object or a prefix of one."""
        folder, path = self._locate(uri)
        with _LAYOUT:
            return _contained_object(path, self.root) is not None or bool(
                _walk(folder, path, self.root)
            )

    def open(self, uri: str) -> BinaryIO:
        """The object `uri` open for reading; FileNotFoundError if there is none."""
        _, path = self._locate(uri)
        file = open_object(path, self.root)
        if file is None:
            raise FileNotFoundError(uri)
        return file

    def read_text(self, uri: str) -> str:
        with self.open(uri) as file:
            return file.read().decode("utf-8")

    def put_file(self, uri: str, source: Path) -> None:
        folder, path = self._locate(uri)
        folder.mkdir(parents=True, exist_ok=True)
        with Path(source).open("rb") as data, writing(path, folder, self.root) as target:
            shutil.copyfileobj(data, target)

    def download(self, uri: str, folder: Path) -> int:
        """Copy the object (into `folder`, under its own name) and the prefix's objects (keeping
        the part of their key after the prefix). Returns how many files; FileNotFoundError if
        there is nothing under `uri`. A file cannot also be a folder: an object that is also a
        prefix of others copied is left out (its name goes to the folder)."""
        bucket, source = self._locate(uri)
        with _LAYOUT:
            own = _contained_object(source, self.root)
            below = _walk(bucket, source, self.root)
        key = "/".join(source.relative_to(bucket).parts)
        relatives = [k.removeprefix(key + "/") for k, _ in below if k != key]
        folders = {p for r in relatives for p in _prefixes(r)}
        wanted = [(r, bucket / key / r) for r in relatives if r not in folders]
        if own is not None and source.name not in folders | set(relatives):
            wanted.append((source.name, source))
        folder.mkdir(parents=True, exist_ok=True)
        count = 0
        for relative, path in wanted:
            data = open_object(path, self.root)
            if data is None:  # deleted meanwhile
                continue
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with data, target.open("wb") as copy:
                shutil.copyfileobj(data, copy)
            count += 1
        if not count:
            raise FileNotFoundError(uri)
        return count

    def upload(self, folder: Path, uri: str) -> int:
        """Copy every file under `folder` to the prefix `uri`; returns how many. ValueError,
        before anything is copied, if a file's name is one of the store's own."""
        self._locate(uri)
        files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        for file in files:
            if any(store_part(p) for p in file.relative_to(folder).parts):
                raise ValueError(f"{file}: {file.name!r} is a name the object store keeps")
        for file in files:
            relative = file.relative_to(folder).as_posix()
            self.put_file(f"{uri.rstrip('/')}/{relative}", file)
        return len(files)


def _prefixes(relative: str) -> Iterator[str]:
    """The folders a relative file name needs: 'a/b/c' -> 'a', 'a/b'."""
    parts = relative.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])
