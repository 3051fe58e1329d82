"""Who `bridge serve` answers: the token (sent as the AWS access key id, however the client
signs) and the Host names that address this machine (against DNS rebinding)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
# An AWS access key id: what boto3 and the Airflow connection send as-is (no '/', no ':').
TOKEN = re.compile(r"[A-Za-z0-9_]{16,128}")
_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SIGV4 = re.compile(r"\bCredential=([^/,\s]+)/")
_SIGV2 = re.compile(r"^AWS ([^:\s]+):")
_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$")


def new_token() -> str:
    """A fresh token shaped like an AWS access key id: BRG and 29 capitals or digits (~150
    bits), so every AWS client and the Airflow AWS connection take it unchanged."""
    return "BRG" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(29))


def presented_key(headers: Any, query: str) -> str | None:
    """The AWS access key id a request presents, however the client signed it; None if none."""
    authorization = (headers.get("Authorization") or "").strip()
    for pattern in (_SIGV4, _SIGV2, _BEARER):
        match = pattern.search(authorization)
        if match:
            return match.group(1)
    if query:
        try:
            fields = parse_qs(query, max_num_fields=100)
        except ValueError:  # too many fields: no credential worth looking for
            return None
        credential = (fields.get("X-Amz-Credential") or [""])[0].split("/")[0]
        return credential or (fields.get("AWSAccessKeyId") or [None])[0]
    return None


def allowed_hosts(host: str, bound: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values the server answers: the loopback names, the address it was
    asked to listen on and the one it bound, and `extra`, each with the port (alone too for
    port 80, where clients leave it out). A name in `extra` may carry its own port."""
    names, allowed = set(LOOPBACK), set()
    for name in (host, bound, *extra):
        name = name.strip().lower()
        if not name:
            continue
        if re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+):[0-9]+", name):
            allowed.add(name)
            continue
        names.add(f"[{name}]" if ":" in name and not name.startswith("[") else name)
    allowed |= {f"{name}:{port}" for name in names}
    if port == 80:
        allowed |= names
    return frozenset(allowed)
