"""What `bridge serve` tells the person who started it, and its wait until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys

from bridge.serve.access import LOOPBACK
from bridge.serve.server import BridgeServer


def run_until_stopped(server: BridgeServer, host: str) -> None:
    """Print where the server listens, what it loaded and how to reach it; serve until stopped."""
    for warning in server.warnings:
        print(f"bridge serve: warning: {warning}", file=sys.stderr)
    if host.strip().lower() not in (*LOOPBACK, "::1") and not host.startswith("127."):
        print(
            f"bridge serve: warning: listening on {host}, which other machines may reach; "
            "it runs the commands its clients submit",
            file=sys.stderr,
        )
    if server.token is None:
        print(
            "bridge serve: warning: --no-auth: every program and user that can reach the port "
            "can run commands as you",
            file=sys.stderr,
        )
    print(f"bridge serve: listening on {server.url}")
    for name, folder in server.loaded:
        print(f"  pipeline {name}  ({folder})")
    if not server.loaded:
        print("  no pipelines loaded: create them with CreatePipeline, or pass --out OUT")
    print(f"  state: {server.state.root}")
    if server.token is not None:
        print(
            f"  token: {server.token}  (send it as the AWS access key id, any secret key: "
            f"AWS_ACCESS_KEY_ID={server.token}, or the login of the Airflow AWS connection)"
        )
    print(
        f"  point clients at it: AWS_ENDPOINT_URL_SAGEMAKER={server.url} "
        f"AWS_ENDPOINT_URL_S3={server.url} AWS_ENDPOINT_URL_CLOUDWATCH_LOGS={server.url} (or "
        f"AWS_ENDPOINT_URL={server.url}) / endpoint_url in the Airflow connection extra"
    )
    sys.stdout.flush()

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
