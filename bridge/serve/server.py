"""`bridge serve`: a local SageMaker Pipelines endpoint, on the real wire protocol.

One port answers several services, told apart as AWS clients send them:
  - SageMaker (AWS JSON 1.1): `POST /` with `X-Amz-Target: SageMaker.<Action>` and a JSON body.
    The pipeline actions (Create/Update/Describe/Delete/ListPipelines, Start/Describe/List/
    Stop/RetryPipelineExecution, ListPipelineExecutionSteps, ListPipelineParametersForExecution,
    DescribePipelineDefinitionForExecution) and DescribeProcessingJob / DescribeTrainingJob for
    the jobs the server's executions ran (bridge/serve/api.py). Errors are HTTP 400 with
    `{"__type": "ValidationException" | "ResourceNotFound" | "ConflictException" | ...,
    "message": ...}`, so botocore raises ClientError with that code; a bug is a 500.
  - CloudWatch Logs (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.<Action>`): DescribeLogStreams
    and GetLogEvents for those jobs' log streams (bridge/serve/logs.py), same error shape.
  - S3, path style, backed by the server's object store (`<state>/store`, the folder the steps
    read and write): GetObject (with Range), HeadObject, PutObject, DeleteObject,
    ListObjects(V2), CreateBucket, HeadBucket, ListBuckets, with S3's XML errors (NoSuchKey,
    NoSuchBucket) (bridge/serve/s3.py). Any request without X-Amz-Target is taken as S3.

It runs the commands its clients submit (a Processing step's entrypoint), as SageMaker does, so
every request is admitted by the same gate before anything else is looked at (`_admit`):
  - the Host header must name this server (localhost, 127.0.0.1, [::1] or the bound address,
    with the port, or a name given with `allowed_hosts`): a web page that rebinds its own DNS
    name to 127.0.0.1 gets 403, and so does a request a browser sends for another site
    (`Origin`, `Sec-Fetch-Site: cross-site|same-site`);
  - unless started without auth, the request must carry the server's token as its AWS access
    key id: SigV4's `Authorization: ... Credential=<token>/...` (boto3, the Airflow AWS
    connection), SigV2's `AWS <token>:...`, a presigned URL's `X-Amz-Credential` or
    `AWSAccessKeyId`, or `Authorization: Bearer <token>` (curl, the test hooks). Signatures are
    not checked: the token is the secret. 403 `MissingAuthenticationTokenException` /
    `UnrecognizedClientException` (JSON) or `AccessDenied` / `InvalidAccessKeyId` (S3 XML);
  - the body's size comes from Content-Length, checked before a byte is read: not a number, or
    chunked, is 400/411; more than MAX_JSON_BODY (SageMaker, hooks), MAX_S3_BODY (S3 requests
    other than PutObject) or `max_object_bytes` (PutObject, streamed to a file) is refused
    unread (413 / 400 EntityTooLarge). A refused body is never read: the connection closes.
Malformed client data (wrong JSON types, NUL, nesting deeper than checks.MAX_DEPTH) is a
400 in AWS's shape; an exception the request handling still raises on client data is a 400 too,
and logged with its traceback in case it is a bug; only what is left is a 500.

Test hooks (not AWS APIs; behind the same gate):
  - `POST /_bridge/faults` with `{"action": "DescribePipelineExecution", "error":
    "ThrottlingException" | 500, "count": N}`: the next N calls of that action fail that way (a
    string is an error code, sent with HTTP 400, or 503 for SlowDown; a number is an HTTP
    status, sent as InternalFailure). S3 actions are named `s3:GetObject`, ..., CloudWatch Logs ones
    `logs:GetLogEvents`, ... here.
    `GET /_bridge/faults` lists the pending faults, `DELETE /_bridge/faults` clears them.
  - `GET /_bridge/calls`: `{action: number of calls}` since the start or the last
    `DELETE /_bridge/calls`; a call that got an injected fault counts too.

Pipelines and executions: bridge/serve/state.py and bridge/serve/runs.py (docs/serve.md has the
whole story). Only the standard library's http.server: start-up stays fast (the runner is
imported when the first execution starts). The Python API: `serve(...)` returns a running
BridgeServer (`.url`, `.token`, `.shutdown()`, a context manager); `bridge serve` is the
command line.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.serve import logs
from bridge.serve.access import TOKEN, allowed_hosts, new_token, presented_key
from bridge.serve.api import ACTIONS, check_request
from bridge.serve.checks import check_document
from bridge.serve.errors import ApiError
from bridge.serve.s3 import ClientGone, S3Handler, request_id
from bridge.serve.state import ServeState


def _launch(state: ServeState, execution, reuse: dict) -> None:
    """Run an execution with the local runner, in its own thread (loaded with the first one)."""
    from bridge.serve.runs import ExecutionRun

    ExecutionRun(state, execution, reuse).start()


DEFAULT_PORT = 8765
DEFAULT_STATE = Path(".bridge-serve")
JSON_TYPE = "application/x-amz-json-1.1"
MAX_JSON_BODY = 16 * 1024 * 1024  # a SageMaker request (the inline definition is at most 1 MiB)
MAX_OBJECT = 256 * 1024 * 1024  # a PutObject body, by default (streamed to a file)
LINGER_SECONDS, LINGER_BYTES = 2.0, 1024 * 1024  # drained after refusing a body, then closed
_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")


class BridgeServer:
    """The HTTP server and the state behind it. Bound on creation; `start()` serves in a thread."""

    def __init__(
        self,
        state: ServeState,
        httpd: _HTTPServer,
        *,
        token: str | None = None,
        hosts: Iterable[str] = (),
        max_object_bytes: int = MAX_OBJECT,
    ):
        self.state = state
        self.loaded: list[tuple[str, Path]] = []  # pipelines created from output folders
        self.warnings: list[str] = []
        self.calls: Counter[str] = Counter()
        self.faults: dict[str, list[Any]] = {}  # action -> [error, remaining count]
        self.hooks_lock = threading.Lock()
        self.closing = False
        self.token = token  # None: no authentication (`--no-auth`)
        self.max_object_bytes = max_object_bytes
        self.httpd = httpd
        self.httpd.bridge = self
        bound, port = httpd.server_address[:2]
        self.allowed_hosts = allowed_hosts(httpd.requested_host, bound, port, hosts)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> BridgeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="bridge-serve-http",
                daemon=True,
            )
            self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        if self._thread is not None:
            self._thread.join()

    def shutdown(self) -> None:
        """Stop the executions still running (their processes are killed), then the server."""
        self.closing = True
        self.state.shutdown()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> BridgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- test hooks ---------------------------------------------------------------------------

    def record_call(self, action: str) -> tuple[str | int, str] | None:
        """Count a call; the fault to answer it with, if one is pending."""
        with self.hooks_lock:
            self.calls[action] += 1
            pending = self.faults.get(action)
            if not pending:
                return None
            pending[1] -= 1
            if pending[1] <= 0:
                del self.faults[action]
            return pending[0], f"injected by bridge serve (POST /_bridge/faults) for {action}"


def serve(
    out_dirs: Iterable[Path] = (),
    state: Path = DEFAULT_STATE,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    region: str = "us-east-1",
    data_dir: Path | None = None,
    step_timeout: float = 3600.0,
    isolation: bool = True,
    token: str | None = None,
    auth: bool = True,
    allow_hosts: Iterable[str] = (),
    max_object_bytes: int = MAX_OBJECT,
) -> BridgeServer:
    """Load the `bridge translate` output folders under `out_dirs` as pipelines and serve them
    in a background thread (port 0: a free port, see `.url`). OSError if it cannot listen (then
    nothing under `state` was touched).

    With `auth` (the default) every request must present `token` (a fresh one from
    `new_token()` when None; `.token` tells it) as its AWS access key id; ValueError if the
    token given is not 16-128 letters, digits or '_'. `allow_hosts`: more Host header names to
    answer besides localhost and the listening address."""
    if not auth:
        token = None
    elif token is None:
        token = new_token()
    elif not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise ValueError("the token must be 16 to 128 letters, digits or '_' (an access key id)")
    httpd = _HTTPServer((host, port), _Handler)
    httpd.requested_host = host
    try:
        serve_state = ServeState(
            Path(state),
            region=region,
            data_dir=data_dir,
            step_timeout=step_timeout,
            isolation=isolation,
            launch=_launch,
        )
        server = BridgeServer(
            serve_state,
            httpd,
            token=token,
            hosts=allow_hosts,
            max_object_bytes=max_object_bytes,
        )
        server.loaded, server.warnings = serve_state.load([Path(d) for d in out_dirs])
    except BaseException:
        httpd.server_close()
        raise
    return server.start()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    bridge: BridgeServer
    requested_host: str = ""


class _Refusal(Exception):
    """A request refused before it is handled: HTTP status, the JSON and the S3 error codes."""

    def __init__(self, status: int, json_code: str, s3_code: str, message: str):
        super().__init__(message)
        self.status = status
        self.json_code = json_code
        self.s3_code = s3_code
        self.message = message


class _Handler(S3Handler, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` for PutObject
    timeout = 60  # an idle kept-alive connection is closed after this many seconds
    server: _HTTPServer
    _pending = 0  # body bytes not read yet (-1: unknown): the connection closes after the answer
    _responded = False
    _continued = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass  # quiet: clients poll; errors are reported to them

    def handle_expect_100(self) -> bool:
        return True  # `100 Continue` is sent once the request is admitted (`_expect_body`)

    # -- dispatch -----------------------------------------------------------------------------

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        bridge = self.server.bridge
        self._responded = self._continued = False
        if bridge.closing:
            self.close_connection = True
        if self.headers.get("X-Amz-Target"):
            kind = "sagemaker"
        elif self.path.startswith("/_bridge/"):
            kind = "hooks"
        else:
            kind = "s3"
        try:
            framing = self._framing()
            self._admit()
            if framing is not None:
                raise framing
            if kind == "s3":
                self._s3()
            else:
                body = self._read_body(MAX_JSON_BODY)
                if kind == "sagemaker":
                    self._sagemaker(body)
                else:
                    self._hooks(body)
        except _Refusal as refusal:
            self._refuse(kind, refusal)
        except (ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away mid-request: nobody to answer
        except Exception:  # a bug: log it, tell the client without details, keep serving
            traceback.print_exc(file=sys.stderr)
            if self._responded:
                self.close_connection = True
            else:
                with contextlib.suppress(OSError):
                    self._refuse(
                        kind,
                        _Refusal(
                            500,
                            "InternalFailure",
                            "InternalError",
                            "bridge serve failed on this request (the server's log has why)",
                        ),
                    )
        finally:
            if self._pending:
                self._linger()

    def _refuse(self, kind: str, refusal: _Refusal) -> None:
        if kind == "s3":
            self._s3_error(refusal.status, refusal.s3_code, refusal.message)
        else:
            self._json(refusal.status, {"__type": refusal.json_code, "message": refusal.message})

    # -- the gate -----------------------------------------------------------------------------

    def _framing(self) -> _Refusal | None:
        """Set `_pending` from Content-Length; the refusal if the body cannot be delimited."""
        self._pending = 0
        coding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if coding and coding != "identity":
            self._pending = -1
            return _Refusal(
                411,
                "MissingContentLength",
                "MissingContentLength",
                "bridge serve takes bodies with a Content-Length only (not chunked)",
            )
        if not lengths:
            return None
        value = lengths.pop()
        if lengths or not _CONTENT_LENGTH.fullmatch(value):
            self._pending = -1
            return _Refusal(
                400,
                "SerializationException",
                "InvalidArgument",
                "Content-Length must be one non-negative integer",
            )
        self._pending = int(value)
        return None

    def _admit(self) -> None:
        """Only this machine's own clients with the token get past here (see the docstring)."""
        bridge = self.server.bridge
        if not self.path.startswith("/"):
            raise _Refusal(
                400, "ValidationException", "InvalidRequest", "the request target must be a path"
            )
        hosts = self.headers.get_all("Host") or []
        host = hosts[0].strip().lower() if len(hosts) == 1 else ""
        if host not in bridge.allowed_hosts:
            shown = host[:100] if host else "missing or repeated"
            raise _Refusal(
                403,
                "AccessDeniedException",
                "AccessDenied",
                f"bridge serve answers requests addressed to this machine only: Host {shown!r} "
                "is not localhost, 127.0.0.1 or its listening address (with its port); "
                "--allow-host adds a name",
            )
        site = (self.headers.get("Sec-Fetch-Site") or "").strip().lower()
        if self.headers.get("Origin") is not None or site in ("cross-site", "same-site"):
            raise _Refusal(
                403,
                "AccessDeniedException",
                "AccessDenied",
                "bridge serve does not answer requests a web page makes (Origin, Sec-Fetch-Site)",
            )
        if bridge.token is None:
            return
        key = presented_key(self.headers, urlsplit(self.path).query)
        if not key:
            raise _Refusal(
                403,
                "MissingAuthenticationTokenException",
                "AccessDenied",
                "bridge serve wants its token (printed when it starts) as the AWS access key "
                "id; any secret key will do",
            )
        if not hmac.compare_digest(key.encode(), bridge.token.encode()):
            raise _Refusal(
                403,
                "UnrecognizedClientException",
                "InvalidAccessKeyId",
                "The AWS access key id is not this bridge serve's token (printed when it starts)",
            )

    # -- bodies -------------------------------------------------------------------------------

    def _expect_body(self) -> None:
        """The client may send its body now (if it waits for `100 Continue`)."""
        if self._continued:
            return
        self._continued = True
        if (self.headers.get("Expect") or "").lower() == "100-continue" and (
            self.request_version >= "HTTP/1.1"
        ):
            self.send_response_only(100)
            self.end_headers()

    def _body_chunks(self, limit: int, refusal: _Refusal) -> Iterator[bytes]:
        """The body in chunks, after checking its size against `limit` (`refusal` if over)."""
        if self._pending < 0 or self._pending > limit:
            raise refusal
        self._expect_body()
        while self._pending > 0:
            chunk = self.rfile.read(min(self._pending, 1 << 20))
            if not chunk:
                raise ClientGone
            self._pending -= len(chunk)
            yield chunk

    def _read_body(self, limit: int) -> bytes:
        too_big = _Refusal(
            413,
            "RequestEntityTooLarge",
            "EntityTooLarge",
            f"the request body is larger than bridge serve takes ({limit} bytes)",
        )
        return b"".join(self._body_chunks(limit, too_big))

    def _linger(self) -> None:
        """Close a connection whose body was refused unread, so that the client still reads
        the answer: stop sending, drain (a little, briefly) what it already sent, close."""
        self.close_connection = True
        with contextlib.suppress(OSError, ValueError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            deadline, drained = time.monotonic() + LINGER_SECONDS, 0
            while drained < LINGER_BYTES and time.monotonic() < deadline:
                chunk = self.rfile.read1(65536)
                if not chunk:
                    break
                drained += len(chunk)

    # -- answers ------------------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], length: int | None = None
    ) -> None:
        self._responded = True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if self._pending or self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, default=str).encode()
        self._send(status, body, {"Content-Type": JSON_TYPE, "x-amzn-RequestId": request_id()})

    # -- SageMaker and CloudWatch Logs --------------------------------------------------------

    def _sagemaker(self, body: bytes) -> None:
        """A JSON-protocol request: SageMaker's, or CloudWatch Logs' (bridge/serve/logs.py)."""
        target = self.headers["X-Amz-Target"]
        service, _, action = target.partition(".")
        actions, check, counted = _JSON_SERVICES.get(service, ({}, check_request, ""))
        handler = actions.get(action)
        if self.command != "POST" or handler is None:
            return self._json(
                400,
                {
                    "__type": "UnknownOperationException",
                    "message": f"bridge serve does not answer {target[:200]!r}",
                },
            )
        fault = self.server.bridge.record_call(counted + action)
        if fault is not None:
            error, message = fault
            if isinstance(error, int):
                code = "ServiceUnavailable" if error == 503 else "InternalFailure"
                return self._json(error, {"__type": code, "message": message})
            return self._json(400, {"__type": error, "message": message})
        try:
            request = json.loads(body or b"{}", parse_constant=_no_constant)
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
        except RecursionError:
            return self._json(
                400, {"__type": "SerializationException", "message": "the body is nested too deep"}
            )
        except ValueError as exc:  # UnicodeDecodeError included
            return self._json(400, {"__type": "SerializationException", "message": str(exc)})
        try:
            check_document(request, "the request", "SerializationException")
            check(request)
            response = handler(self.server.bridge.state, request)
        except ApiError as exc:
            return self._json(exc.status, {"__type": exc.code, "message": exc.message})
        except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError,
                RecursionError, UnicodeError) as exc:  # fmt: skip
            # Client data the checks let through: the client gets a 400, the log the traceback
            # (a well-formed request ending here is a bug to fix).
            print(f"bridge serve: {action}: refused a request it could not use:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return self._json(
                400,
                {
                    "__type": "ValidationException",
                    "message": f"bridge serve cannot use this {action} request "
                    f"({type(exc).__name__}); check its fields against the API reference",
                },
            )
        self._json(200, response)

    # -- test hooks ---------------------------------------------------------------------------

    def _hooks(self, body: bytes) -> None:
        bridge = self.server.bridge
        route = (self.command, urlsplit(self.path).path.rstrip("/"))
        with bridge.hooks_lock:
            if route == ("GET", "/_bridge/calls"):
                return self._json(200, dict(bridge.calls))
            if route == ("DELETE", "/_bridge/calls"):
                bridge.calls.clear()
                return self._json(200, {})
            if route == ("GET", "/_bridge/faults"):
                return self._json(
                    200, {a: {"error": e, "count": n} for a, (e, n) in bridge.faults.items()}
                )
            if route == ("DELETE", "/_bridge/faults"):
                bridge.faults.clear()
                return self._json(200, {})
            if route == ("POST", "/_bridge/faults"):
                try:
                    fault = json.loads(body or b"{}", parse_constant=_no_constant)
                    action, error = fault["action"], fault["error"]
                    count = int(fault.get("count", 1))
                    if (
                        not isinstance(action, str)
                        or not isinstance(error, str | int)
                        or isinstance(error, bool)
                        or count < 1
                    ):
                        raise ValueError
                    if isinstance(error, int) and not 400 <= error <= 599:
                        raise ValueError
                except (ValueError, KeyError, TypeError, AttributeError, OverflowError,
                        RecursionError):  # fmt: skip
                    return self._json(
                        400,
                        {
                            "__type": "ValidationException",
                            "message": 'expected {"action": NAME, "error": CODE or HTTP status '
                            '(400-599), "count": N >= 1}',
                        },
                    )
                bridge.faults[action] = [error, count]
                return self._json(200, {action: {"error": error, "count": count}})
        self._json(
            404,
            {"__type": "UnknownOperationException", "message": f"no test hook {self.command} "
             f"{self.path[:200]}"},
        )  # fmt: skip


# X-Amz-Target service -> (its actions, its request check, the prefix its calls are counted and
# its faults injected under).
_JSON_SERVICES = {
    "SageMaker": (ACTIONS, check_request, ""),
    logs.TARGET_PREFIX: (logs.ACTIONS, logs.check_request, "logs:"),
}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
