"""A local stand-in for S3 used by `bridge run`: `s3://bucket/key` is the file `ROOT/bucket/key`.

It is a plain folder so a person can look inside (`ls runs/store/...`). S3 prefixes are treated
as folders: `s3://b/a/x` names the object `a/x`, or every object under `a/x/`. That is how the
pipelines we emit use them (SageMaker's S3Prefix also matches `a/xy`, which nothing here relies
on).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# S3's bucket names (including the legacy ones with capitals and underscores); never `.` or `..`.
BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")


class ObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def path(self, uri: str) -> Path:
        """The file of `uri`, always inside the store: a definition or an `artifacts.json` is
        input we did not write, so `..`, odd buckets and links out of the store are refused."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ValueError(f"not an S3 URI: {uri!r}")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        parts = [p for p in key.split("/") if p]
        if (
            not BUCKET.match(bucket)
            or ".." in bucket
            or "\0" in key
            or any(p in (".", "..") for p in parts)
        ):
            raise ValueError(f"unusable S3 URI: {uri!r}")
        path = self.root.joinpath(bucket, *parts)
        if not path.resolve().is_relative_to(self.root):
            raise ValueError(f"S3 URI leads out of the object store: {uri!r}")
        return path

    def exists(self, uri: str) -> bool:
        path = self.path(uri)
        return path.is_file() or (path.is_dir() and any(p.is_file() for p in path.rglob("*")))

    def read_text(self, uri: str) -> str:
        path = self.path(uri)
        if not path.is_file():
            raise FileNotFoundError(uri)
        return path.read_text(encoding="utf-8")

    def put_file(self, uri: str, source: Path) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def download(self, uri: str, folder: Path) -> int:
        """Copy the object (into `folder`, under its own name) or the prefix's objects (keeping
        the part of their key after the prefix). Returns how many files; FileNotFoundError if
        there is nothing under `uri`."""
        source = self.path(uri)
        folder.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            shutil.copyfile(source, folder / source.name)
            return 1
        files = [p for p in source.rglob("*") if p.is_file()] if source.is_dir() else []
        if not files:
            raise FileNotFoundError(uri)
        for file in files:
            target = folder / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
        return len(files)

    def upload(self, folder: Path, uri: str) -> int:
        """Copy every file under `folder` to the prefix `uri`; returns how many."""
        target = self.path(uri)
        count = 0
        for file in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            destination = target / file.relative_to(folder)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, destination)
            count += 1
        return count
