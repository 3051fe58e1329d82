"""`bridge serve`: a local SageMaker Pipelines endpoint, on the real wire protocol.

One port answers two services, told apart as AWS clients send them:
  - SageMaker (AWS JSON 1.1): `POST /` with `X-Amz-Target: SageMaker.<Action>` and a JSON body.
    The pipeline actions (Create/Update/Describe/Delete/ListPipelines, Start/Describe/List/
    Stop/RetryPipelineExecution, ListPipelineExecutionSteps, ListPipelineParametersForExecution,
    DescribePipelineDefinitionForExecution) and DescribeProcessingJob / DescribeTrainingJob for
    the jobs the server's executions ran (bridge/serve_api.py). Errors are HTTP 400 with
    `{"__type": "ValidationException" | "ResourceNotFound" | "ConflictException" | ...,
    "message": ...}`, so botocore raises ClientError with that code; a bug is a 500.
  - S3, path style, backed by the server's object store (`<state>/store`, the folder the steps
    read and write): GetObject (with Range), HeadObject, PutObject, DeleteObject,
    ListObjects(V2), CreateBucket, HeadBucket, ListBuckets, with S3's XML errors (NoSuchKey,
    NoSuchBucket) (bridge/serve_s3.py). Any request without X-Amz-Target is taken as S3.
Any boto3 client with `endpoint_url` set to the server (S3: `Config(s3={"addressing_style":
"path"})`) and dummy credentials works; nothing checks signatures.

Test hooks (not AWS APIs):
  - `POST /_bridge/faults` with `{"action": "DescribePipelineExecution", "error":
    "ThrottlingException" | 500, "count": N}`: the next N calls of that action fail that way (a
    string is an error code, sent with HTTP 400, or 503 for SlowDown; a number is an HTTP
    status, sent as InternalFailure). S3 actions are named `s3:GetObject`, ... here.
    `GET /_bridge/faults` lists the pending faults, `DELETE /_bridge/faults` clears them.
  - `GET /_bridge/calls`: `{action: number of calls}` since the start or the last
    `DELETE /_bridge/calls`; a call that got an injected fault counts too.

Pipelines and executions: bridge/serve_state.py and bridge/serve_runs.py (docs/serve.md has the
whole story). Only the standard library's http.server: start-up stays fast (the runner is
imported when the first execution starts). The Python API: `serve(...)` returns a running BridgeServer (`.url`,
`.shutdown()`, a context manager); `bridge serve` is the command line.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.serve_api import ACTIONS
from bridge.serve_s3 import S3Handler, request_id
from bridge.serve_state import ApiError, ServeState

DEFAULT_PORT = 8765
DEFAULT_STATE = Path(".bridge-serve")
JSON_TYPE = "application/x-amz-json-1.1"


class BridgeServer:
    """The HTTP server and the state behind it. Bound on creation; `start()` serves in a thread."""

    def __init__(self, state: ServeState, httpd: _HTTPServer):
        self.state = state
        self.loaded: list[tuple[str, Path]] = []  # pipelines created from output folders
        self.warnings: list[str] = []
        self.calls: Counter[str] = Counter()
        self.faults: dict[str, list[Any]] = {}  # action -> [error, remaining count]
        self.hooks_lock = threading.Lock()
        self.closing = False
        self.httpd = httpd
        self.httpd.bridge = self
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
    input_dir: Path | None = None,
    data_dir: Path | None = None,
    step_timeout: float = 3600.0,
) -> BridgeServer:
    """Load the `bridge translate` output folders under `out_dirs` as pipelines and serve them
    in a background thread (port 0: a free port, see `.url`). OSError if it cannot listen (then
    nothing under `state` was touched)."""
    httpd = _HTTPServer((host, port), _Handler)
    try:
        serve_state = ServeState(
            Path(state),
            region=region,
            input_dir=input_dir,
            data_dir=data_dir,
            step_timeout=step_timeout,
        )
        server = BridgeServer(serve_state, httpd)
        server.loaded, server.warnings = serve_state.load([Path(d) for d in out_dirs])
    except BaseException:
        httpd.server_close()
        raise
    return server.start()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    bridge: BridgeServer


class _Handler(S3Handler, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` for PutObject
    timeout = 60  # an idle kept-alive connection is closed after this many seconds
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass  # quiet: clients poll; errors are reported to them

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
        if bridge.closing:
            self.close_connection = True
        try:
            body = self._body()
            if self.headers.get("X-Amz-Target"):
                self._sagemaker(body)
            elif urlsplit(self.path).path.startswith("/_bridge/"):
                self._hooks(body)
            else:
                self._s3(body)
        except Exception as exc:  # a bug: tell the client, keep serving
            traceback.print_exc(file=sys.stderr)
            with contextlib.suppress(OSError):
                self._json(500, {"__type": "InternalFailure", "message": repr(exc)})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], length: int | None = None
    ) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, default=str).encode()
        self._send(status, body, {"Content-Type": JSON_TYPE, "x-amzn-RequestId": request_id()})

    # -- SageMaker ----------------------------------------------------------------------------

    def _sagemaker(self, body: bytes) -> None:
        service, _, action = self.headers["X-Amz-Target"].partition(".")
        fault = self.server.bridge.record_call(action)
        if fault is not None:
            error, message = fault
            if isinstance(error, int):
                code = "ServiceUnavailable" if error == 503 else "InternalFailure"
                return self._json(error, {"__type": code, "message": message})
            return self._json(400, {"__type": error, "message": message})
        handler = ACTIONS.get(action) if service == "SageMaker" else None
        if self.command != "POST" or handler is None:
            return self._json(
                400,
                {
                    "__type": "UnknownOperationException",
                    "message": f"bridge serve does not answer {self.headers['X-Amz-Target']}",
                },
            )
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as exc:
            return self._json(400, {"__type": "SerializationException", "message": str(exc)})
        try:
            response = handler(self.server.bridge.state, request)
        except ApiError as exc:
            return self._json(exc.status, {"__type": exc.code, "message": exc.message})
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
                    fault = json.loads(body or b"{}")
                    action, error = fault["action"], fault["error"]
                    count = int(fault.get("count", 1))
                    if not isinstance(action, str) or not isinstance(error, str | int) or count < 1:
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    return self._json(
                        400,
                        {
                            "message": 'expected {"action": NAME, "error": CODE or HTTP status, '
                            '"count": N >= 1}'
                        },
                    )
                bridge.faults[action] = [error, count]
                return self._json(200, {action: {"error": error, "count": count}})
        self._json(404, {"message": f"no test hook {self.command} {self.path}"})
