"""The S3 side of `bridge serve`: path-style requests on the server's port, answered from the
object store folder (`<state>/store`, where `s3://bucket/key` is `store/bucket/key`).

GetObject (with Range), HeadObject, PutObject, DeleteObject, ListObjects and ListObjectsV2
(prefix, delimiter, paging, `encoding-type=url`), CreateBucket, HeadBucket and ListBuckets, with
S3's XML errors. Anything else (multipart uploads, copies, ACLs, tagging, ...) is a 501
NotImplemented. A PutObject writes a temporary file and renames it, so a step reading the object
never sees half of it.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_TEMP = ".bridge-upload-"  # PutObject writes here first, then renames


class S3Handler:
    """The S3 methods of the request handler (bridge/serve.py mixes them in)."""

    path: str
    command: str
    headers: Any
    server: Any

    def _send(  # provided by the request handler
        self, status: int, body: bytes, headers: dict[str, str], length: int | None = None
    ) -> None:
        raise NotImplementedError

    def _s3(self, body: bytes) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        operation = _s3_operation(self.command, bucket, key, query, self.headers)
        fault = self.server.bridge.record_call(f"s3:{operation}")
        if fault is not None:
            error, message = fault
            status = error if isinstance(error, int) else 503 if error == "SlowDown" else 400
            code = "InternalError" if isinstance(error, int) else error
            return self._s3_error(status, code, message)
        root = self.server.bridge.state.store_root
        if operation == "ListBuckets":
            return self._list_buckets(root)
        if bucket.startswith(".") or "/" in bucket or bucket in ("", ".."):
            return self._s3_error(400, "InvalidBucketName", "The specified bucket is not valid.")
        folder = root / bucket
        if operation == "CreateBucket":
            folder.mkdir(parents=True, exist_ok=True)
            return self._send(200, b"", {"Location": f"/{bucket}"})
        if operation == "NotImplemented":
            return self._s3_error(
                501, "NotImplemented", f"bridge serve does not answer {self.command} {self.path}"
            )
        if not folder.is_dir():
            return self._s3_error(
                404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket
            )
        if operation == "HeadBucket":
            return self._send(200, b"", {"x-amz-bucket-region": self.server.bridge.state.region})
        if operation in ("ListObjects", "ListObjectsV2"):
            return self._list_objects(folder, bucket, query, v2=operation == "ListObjectsV2")
        path = _object_path(folder, key)
        if path is None:
            return self._s3_error(400, "InvalidArgument", f"unusable key {key!r}")
        if operation == "PutObject":
            return self._put_object(path, body)
        if operation == "DeleteObject":
            if path.is_file():
                path.unlink()
            return self._send(204, b"", {})
        if not path.is_file():
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        self._get_object(path)

    def _s3_error(self, status: int, code: str, message: str, **extra: str) -> None:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{fields}"
            f"<RequestId>{request_id()}</RequestId></Error>"
        ).encode()
        # A HEAD error has no body: botocore then names the error by its status ("404").
        self._send(status, body, {"Content-Type": "application/xml"}, length=len(body))

    def _put_object(self, path: Path, body: bytes) -> None:
        if path.is_dir():
            return self._s3_error(400, "InvalidArgument", "that key is a prefix of other keys")
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{_TEMP}{uuid.uuid4().hex}")
        temp.write_bytes(body)
        os.replace(temp, path)
        self._send(200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})

    def _get_object(self, path: Path) -> None:
        data = path.read_bytes()
        size = len(data)
        headers = {
            "Content-Type": "binary/octet-stream",
            "ETag": f'"{hashlib.md5(data).hexdigest()}"',
            "Last-Modified": email.utils.formatdate(path.stat().st_mtime, usegmt=True),
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
        try:
            max_keys = int(arg("max-keys") or 1000)
        except ValueError:
            return self._s3_error(400, "InvalidArgument", "max-keys must be an integer")
        marker = arg("start-after") if v2 else arg("marker")
        if v2 and arg("continuation-token"):
            marker = _unb64(arg("continuation-token"))
        url = arg("encoding-type") == "url"

        def text(value: str) -> str:
            return escape(quote(value, safe="/") if url else value)

        contents, prefixes, truncated, last = [], [], False, ""
        for key, path in _objects(folder, prefix):
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
                contents.append((key, path))
                last = key
        items = "".join(
            f"<Contents><Key>{text(key)}</Key><LastModified>{_iso(path.stat().st_mtime)}"
            f'</LastModified><ETag>"{_md5(path)}"</ETag><Size>{path.stat().st_size}</Size>'
            "<StorageClass>STANDARD</StorageClass></Contents>"
            for key, path in contents
        )
        items += "".join(
            f"<CommonPrefixes><Prefix>{text(p)}</Prefix></CommonPrefixes>" for p in prefixes
        )
        extra = f"<Delimiter>{text(delimiter)}</Delimiter>" if delimiter else ""
        extra += "<EncodingType>url</EncodingType>" if url else ""
        if v2:
            extra += f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>"
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
    subresources = set(query) - {"list-type", "prefix", "delimiter", "max-keys", "marker",
                                 "continuation-token", "start-after", "encoding-type",
                                 "fetch-owner", "x-id"}  # fmt: skip
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


def _object_path(folder: Path, key: str) -> Path | None:
    parts = [p for p in key.split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(_TEMP) for p in parts):
        return None
    return folder.joinpath(*parts)


def _objects(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    """(key, file) of every object in the bucket folder whose key starts with `prefix`, sorted."""
    start = folder.joinpath(*[p for p in prefix.split("/")[:-1] if p])  # the deepest whole folder
    if not start.is_dir():
        return []
    found = []
    for path in start.rglob("*"):
        if path.is_file() and not path.name.startswith(_TEMP):
            key = path.relative_to(folder).as_posix()
            if key.startswith(prefix):
                found.append((key, path))
    return sorted(found)


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


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
