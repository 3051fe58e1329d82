"""The one STS action `bridge serve` answers: GetCallerIdentity.

Clients ask it before anything else: the SageMaker SDK names its default bucket after the
account (`sagemaker-<region>-<account>`), and Airflow's AWS connection test calls it. STS is AWS's
query protocol (a form-encoded `POST /`), told apart from S3 by the service its request is signed
for (`Credential=<key>/<date>/<region>/sts/aws4_request`). The caller is the holder of the token:
the server's one account, as in its ARNs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from bridge.serve.state import ACCOUNT

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
CALLER_ARN = f"arn:aws:iam::{ACCOUNT}:user/bridge-serve"
_SCOPE = re.compile(r"\bCredential=[^/,\s]+/[0-9]{8}/[^/,\s]+/([a-z0-9-]+)/aws4_request")


def signed_for_sts(headers: Any) -> bool:
    """Whether the request is signed for STS (SigV4's credential scope names the service)."""
    match = _SCOPE.search(headers.get("Authorization") or "")
    return match is not None and match.group(1) == "sts"


def answer(
    body: bytes, request_id: str, fault: tuple[str | int, str] | None = None
) -> tuple[int, bytes]:
    """(HTTP status, XML) for an STS request's form body, or for the fault injected for it
    (`POST /_bridge/faults` with the action `sts:GetCallerIdentity`)."""
    if fault is not None:
        error, message = fault
        if isinstance(error, int):
            return error, error_body("InternalFailure", message, request_id)
        return 400, error_body(error, message, request_id)
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=100, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        form = {}
    action = (form.get("Action") or [""])[0]
    if action != "GetCallerIdentity":
        return 400, error_body(
            "InvalidAction",
            f"bridge serve answers STS GetCallerIdentity only, not {action[:100]!r}",
            request_id,
        )
    return 200, (
        f'<GetCallerIdentityResponse xmlns="{STS_NS}">'
        "<GetCallerIdentityResult>"
        f"<Arn>{CALLER_ARN}</Arn><UserId>{ACCOUNT}</UserId><Account>{ACCOUNT}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()


def error_body(code: str, message: str, request_id: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    ).encode()
