"""The S3 side of `bridge serve`: path-style requests on the server's port, answered from the
object store folder (`<state>/store`, where `s3://bucket/key` is `store/bucket/key`).

GetObject (with Range), HeadObject, PutObject, DeleteObject, ListObjects and ListObjectsV2
(prefix, delimiter, paging, `encoding-type=url`), CreateBucket, HeadBucket and ListBuckets, with
S3's XML errors. Anything else (multipart uploads, copies, ACLs, tagging, ...) is a 501
NotImplemented. A PutObject writes a temporary file and renames it, so a step reading the object
never sees half of it.

The key space is flat, as S3's: `a` and `a/x` can both be objects, written in either order. The
layout that makes this a plain folder (`a/x` the file `x` in the folder `a`, and then the object
`a` the file `a/.bridge-object`) is bridge/run/object_store.py's; its walks, reads, writes and
deletes are this module's too, so runs and clients see the same objects. `.bridge-object` and
`.bridge-upload-*` are refused as parts of a key.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

from bridge.run.object_store import (
    OBJECT_FILE,
    TEMP,
    UnusableKey,
    objects,
    open_object,
    remove,
    store_part,
    writing,
)
from bridge.serve import sts

MAX_S3_BODY = 1024 * 1024  # an S3 request other than PutObject (CreateBucket's XML)
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
# botocore's own rule for bucket names (S3's, with the legacy capitals and underscores), minus a
# leading '.': the store's own folders (.cache) start with one.
BUCKET = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
MAX_KEY = 1024  # bytes of a key, as S3
MAX_PART = 255  # bytes of one /-separated part of a key: a file name
MAX_LIST = 1000  # keys in one listing page, as S3
_SIGNING = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
            "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
            "AWSAccessKeyId", "Signature", "Expires"}  # fmt: skip


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


class S3Handler:
    """The S3 methods of the request handler (bridge/serve/server.py mixes them in)."""

    path: str
    command: str
    headers: Any
    server: Any
    rfile: Any
    _pending: int  # body bytes not read yet

    def _send(  # provided by the request handler
        self, status: int, body: bytes, headers: dict[str, str], length: int | None = None
    ) -> None:
        raise NotImplementedError

    def _read_body(self, limit: int) -> bytes:  # provided by the request handler
        raise NotImplementedError

    def _body_chunks(self, limit: int, refusal: Any) -> Iterator[bytes]:  # ditto
        raise NotImplementedError

    def _s3(self) -> None:
        if self.command == "POST" and sts.signed_for_sts(self.headers):
            return self._sts()  # STS comes without X-Amz-Target too (bridge/serve/sts.py)
        parts = urlsplit(self.path)
        try:
            query = parse_qs(
                parts.query, keep_blank_values=True, errors="strict", max_num_fields=100
            )
            bucket, _, key = unquote(parts.path, errors="strict").lstrip("/").partition("/")
        except (ValueError, UnicodeDecodeError):
            return self._s3_error(400, "InvalidURI", "Couldn't parse the specified URI.")
        operation = _s3_operation(self.command, bucket, key, query, self.headers)
        limit = self.server.bridge.max_object_bytes
        if operation == "PutObject" and self._pending > limit:  # refused unread
            return self._s3_error(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=str(self._pending),
                MaxSizeAllowed=str(limit),
            )
        if operation != "PutObject":
            self._read_body(MAX_S3_BODY)  # not used: read so the connection stays usable
        fault = self.server.bridge.record_call(f"s3:{operation}")
        if fault is not None:
            error, message = fault
            status = error if isinstance(error, int) else 503 if error == "SlowDown" else 400
            code = "InternalError" if isinstance(error, int) else error
            return self._s3_error(status, code, message)
        root = self.server.bridge.state.store_root
        if operation == "ListBuckets":
            return self._list_buckets(root)
        if operation == "NotImplemented":
            return self._s3_error(
                501,
                "NotImplemented",
                f"bridge serve does not answer {self.command} {self.path[:200]}",
            )
        if not BUCKET.fullmatch(bucket):
            return self._s3_error(400, "InvalidBucketName", "The specified bucket is not valid.")
        folder = root / bucket
        if operation == "CreateBucket":
            folder.mkdir(parents=True, exist_ok=True)
            return self._send(200, b"", {"Location": f"/{bucket}"})
        if not folder.is_dir() or not _contained(folder, root):
            return self._s3_error(
                404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket
            )
        if operation == "HeadBucket":
            return self._send(200, b"", {"x-amz-bucket-region": self.server.bridge.state.region})
        if operation in ("ListObjects", "ListObjectsV2"):
            return self._list_objects(folder, bucket, query, v2=operation == "ListObjectsV2")
        if key.endswith("/") and operation != "PutObject" and not _key_problem(key[:-1])[0]:
            # A folder marker ("a/"): the store keeps none, so there is no such object.
            if operation == "DeleteObject":
                return self._send(204, b"", {})
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        code, problem = _key_problem(key)
        if code:
            return self._s3_error(400, code, f"unusable key: {problem}")
        path = folder.joinpath(*key.split("/"))
        if not _contained(path, root):
            return self._s3_error(400, "InvalidArgument", "unusable key: it leads out of the store")
        if operation == "PutObject":
            return self._put_object(path, folder, root)
        if operation == "DeleteObject":
            remove(path, folder)
            return self._send(204, b"", {})
        found = open_object(path, root)
        if found is None:
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        with found:
            self._get_object(found)

    def _sts(self) -> None:
        body = self._read_body(MAX_S3_BODY)
        fault = self.server.bridge.record_call("sts:GetCallerIdentity")
        rid = request_id()
        status, answer = sts.answer(body, rid, fault)
        self._send(status, answer, {"Content-Type": "text/xml", "x-amzn-RequestId": rid})

    def _s3_error(self, status: int, code: str, message: str, **extra: str) -> None:
        if sts.signed_for_sts(self.headers):  # refused at the gate: in STS's shape, not S3's
            body = sts.error_body(code, message, request_id())
            return self._send(status, body, {"Content-Type": "text/xml"})
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{fields}"
            f"<RequestId>{request_id()}</RequestId></Error>"
        ).encode()
        # A HEAD error has no body: botocore then names the error by its status ("404").
        self._send(status, body, {"Content-Type": "application/xml"}, length=len(body))

    def _put_object(self, path: Path, folder: Path, root: Path) -> None:
        digest = hashlib.md5()
        try:
            with writing(path, folder, root) as file:
                # Its size was checked against the limit in _s3, before anything else.
                for chunk in self._body_chunks(self.server.bridge.max_object_bytes, None):
                    digest.update(chunk)
                    file.write(chunk)
        except UnusableKey as exc:  # a link on its way, made after the checks in _s3
            return self._s3_error(400, "InvalidArgument", f"unusable key: {exc}")
        self._send(200, b"", {"ETag": f'"{digest.hexdigest()}"'})

    def _get_object(self, file: BinaryIO) -> None:
        data = file.read()
        size = len(data)
        headers = {
            "Content-Type": "binary/octet-stream",
            "ETag": f'"{hashlib.md5(data).hexdigest()}"',
            "Last-Modified": email.utils.formatdate(os.fstat(file.fileno()).st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        status = 200
        wanted = self.headers.get("Range")
        if wanted and self.command == "GET":
            span = _byte_range(wanted, size)
            if span is None:
                return self._s3_error(
                    416, "InvalidRange", "The requested range is not satisfiable."
                )
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            data, status = data[start : end + 1], 206
        self._send(status, data, headers, length=len(data))

    def _list_buckets(self, root: Path) -> None:
        buckets = "".join(
            f"<Bucket><Name>{escape(p.name)}</Name>"
            f"<CreationDate>{_iso(p.stat().st_mtime)}</CreationDate></Bucket>"
            for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{S3_NS}">'
            "<Owner><ID>bridge-serve</ID><DisplayName>bridge-serve</DisplayName></Owner>"
            f"<Buckets>{buckets}</Buckets></ListAllMyBucketsResult>"
        ).encode()
        self._send(200, body, {"Content-Type": "application/xml"})

    def _list_objects(
        self, folder: Path, bucket: str, query: dict[str, list[str]], v2: bool
    ) -> None:
        def arg(name: str) -> str:
            return (query.get(name) or [""])[0]

        prefix, delimiter = arg("prefix"), arg("delimiter")
        if "\0" in prefix or "\0" in delimiter:
            return self._s3_error(400, "InvalidArgument", "prefix and delimiter take no NUL")
        raw_max = arg("max-keys") or str(MAX_LIST)
        if not raw_max.isascii() or not raw_max.isdigit() or len(raw_max) > 9:
            return self._s3_error(400, "InvalidArgument", "max-keys must be a non-negative integer")
        max_keys = min(int(raw_max), MAX_LIST)
        start = _prefix_folder(folder, prefix)
        if start is None:
            return self._s3_error(
                400, "InvalidArgument", "unusable prefix: '.', '..' or a leading '/' in a key"
            )
        marker = arg("start-after") if v2 else arg("marker")
        if v2 and arg("continuation-token"):
            marker = _unb64(arg("continuation-token"))
        url = arg("encoding-type") == "url"

        def text(value: str) -> str:
            return escape(quote(value, safe="/") if url else value)

        contents, prefixes, truncated, last = [], [], False, ""
        store = self.server.bridge.state.store_root
        for key, _ in objects(folder, start, store):
            if not key.startswith(prefix):
                continue
            if marker and (key <= marker or _inside(key, marker, delimiter)):
                continue
            common = ""
            if delimiter and delimiter in key[len(prefix) :]:
                rest = key[len(prefix) :]
                common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                if prefixes and prefixes[-1] == common:
                    continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if common:
                prefixes.append(common)
                last = common
            else:
                contents.append(key)
                last = key
        items, count = "", len(prefixes)
        for key in contents:
            facts = _facts(folder.joinpath(*key.split("/")), store)
            if facts is None:  # deleted since the walk
                continue
            mtime, size, md5 = facts
            items += (
                f"<Contents><Key>{text(key)}</Key><LastModified>{_iso(mtime)}</LastModified>"
                f'<ETag>"{md5}"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass>'
                "</Contents>"
            )
            count += 1
        items += "".join(
            f"<CommonPrefixes><Prefix>{text(p)}</Prefix></CommonPrefixes>" for p in prefixes
        )
        extra = f"<Delimiter>{text(delimiter)}</Delimiter>" if delimiter else ""
        extra += "<EncodingType>url</EncodingType>" if url else ""
        if v2:
            extra += f"<KeyCount>{count}</KeyCount>"
            if arg("continuation-token"):
                token = escape(arg("continuation-token"))
                extra += f"<ContinuationToken>{token}</ContinuationToken>"
            if arg("start-after"):
                extra += f"<StartAfter>{text(arg('start-after'))}</StartAfter>"
            if truncated:
                extra += f"<NextContinuationToken>{_b64(last)}</NextContinuationToken>"
        else:
            extra += f"<Marker>{text(marker)}</Marker>"
            if truncated:  # S3 sends it only with a delimiter; clients then use the last key
                extra += f"<NextMarker>{text(last)}</NextMarker>"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{S3_NS}">'
            f"<Name>{escape(bucket)}</Name><Prefix>{text(prefix)}</Prefix>"
            f"<MaxKeys>{max_keys}</MaxKeys>"
            f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{extra}{items}"
            "</ListBucketResult>"
        ).encode()
        self._send(200, body, {"Content-Type": "application/xml"})


def _s3_operation(method: str, bucket: str, key: str, query: dict, headers: Any) -> str:
    """The S3 operation a path-style request asks for (NotImplemented for the rest)."""
    subresources = set(query) - _SIGNING - {"list-type", "prefix", "delimiter", "max-keys",
                                            "marker", "continuation-token", "start-after",
                                            "encoding-type", "fetch-owner", "x-id"}  # fmt: skip
    if subresources or headers.get("x-amz-copy-source"):
        return "NotImplemented"
    if not bucket:
        return "ListBuckets" if method == "GET" else "NotImplemented"
    if not key:
        if method == "GET":
            return "ListObjectsV2" if (query.get("list-type") or [""])[0] == "2" else "ListObjects"
        return {"HEAD": "HeadBucket", "PUT": "CreateBucket"}.get(method, "NotImplemented")
    return {
        "GET": "GetObject",
        "HEAD": "HeadObject",
        "PUT": "PutObject",
        "DELETE": "DeleteObject",
    }.get(method, "NotImplemented")


def _inside(key: str, marker: str, delimiter: str) -> bool:
    """Whether `key` was listed under the common prefix `marker` (a page ended on it)."""
    return bool(delimiter) and marker.endswith(delimiter) and key.startswith(marker)


def _key_problem(key: str) -> tuple[str, str]:
    """(S3 error code, why) if `key` cannot name a file of the store, else ("", ""): every key
    stays inside its bucket's folder, and names exactly one file."""
    if "\0" in key:
        return "InvalidArgument", "it contains NUL"
    if len(key.encode()) > MAX_KEY:
        return "KeyTooLongError", f"it is longer than {MAX_KEY} bytes"
    parts = key.split("/")
    if key.startswith("/"):
        return "InvalidArgument", "it starts with '/'"
    if key.endswith("/"):
        return "InvalidArgument", "it ends with '/' (folder markers are not kept)"
    if any(p in ("", ".", "..") for p in parts):
        return "InvalidArgument", "it has an empty, '.' or '..' part"
    if any(store_part(p) for p in parts):
        return (
            "InvalidArgument",
            f"a part is one of the store's own names ({OBJECT_FILE}, {TEMP}*)",
        )
    if any(len(p.encode()) > MAX_PART for p in parts):
        return "KeyTooLongError", f"a part between '/' is longer than {MAX_PART} bytes"
    return "", ""


def _contained(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, is inside `root`."""
    return path.resolve().is_relative_to(root.resolve())


def _prefix_folder(folder: Path, prefix: str) -> Path | None:
    """The deepest folder a listing of `prefix` must walk; None if the prefix could lead out."""
    whole = prefix.split("/")[:-1]  # the parts the prefix names entirely
    if prefix.startswith("/") or any(p in (".", "..") for p in whole):
        return None
    start = folder.joinpath(*[p for p in whole if p])
    if any(len(p.encode()) > MAX_PART for p in whole) or not _contained(start, folder):
        return folder / TEMP  # no object can be under it (a link out is no folder of keys)
    return start


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    unit, _, spec = header.partition("=")
    first, _, last = spec.partition("-")
    try:
        if unit.strip() != "bytes" or "," in spec:
            return None
        if not first:  # the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None
    return (start, end) if start <= end and start < size else None


def _facts(path: Path, store: Path) -> tuple[float, int, str] | None:
    """(mtime, size, MD5) of the object at `path`; None if it was deleted meanwhile."""
    found = open_object(path, store)
    if found is None:
        return None
    digest = hashlib.md5()
    with found as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
        facts = os.fstat(f.fileno())
    return facts.st_mtime, facts.st_size, digest.hexdigest()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _unb64(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return token


def request_id() -> str:
    return str(uuid.uuid4())
