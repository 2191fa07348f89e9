"""The organiser's credential: a Lambda REQUEST authorizer of the raffle's HTTP API.

API Gateway calls it (payload 2.0, simple responses) before the draw route, and lets the
request through only on {"isAuthorized": true}: when the `Authorization` header is
`Bearer <token>` and the token equals the organiser token, a secret CloudFormation
generated in Secrets Manager (ORGANISER_TOKEN_SECRET names it, never the value). The
comparison takes constant time; the token is never logged. A malformed header is a plain
"no", never an error (an authorizer error is a 500 to the caller). The secret is read at
most once a minute per container, so a rotated token counts within a minute.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from typing import Any

SECRET_TTL = 60.0
_cache: dict[str, tuple[float, bytes]] = {}
_client = None


def presented_token(event: dict) -> bytes | None:
    """The bearer token of the request, or None for anything else."""
    headers = event.get("headers")
    value = headers.get("authorization") if isinstance(headers, dict) else None
    if not isinstance(value, str) or not value.isascii():
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token.encode("ascii")


def organiser_token(read_secret, now: float) -> bytes:
    """The current token, from Secrets Manager at most once every SECRET_TTL seconds."""
    secret_id = os.environ["ORGANISER_TOKEN_SECRET"]
    fetched_at, token = _cache.get(secret_id, (float("-inf"), b""))
    if now - fetched_at > SECRET_TTL:
        token = read_secret(secret_id).encode("utf-8")
        _cache[secret_id] = (now, token)
    return token


def authorized(event: dict, read_secret, now: float) -> bool:
    presented = presented_token(event)
    if presented is None:
        return False
    expected = organiser_token(read_secret, now)
    return bool(expected) and hmac.compare_digest(presented, expected)


def read_from_secrets_manager(secret_id: str) -> str:
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("secretsmanager")
    return _client.get_secret_value(SecretId=secret_id)["SecretString"]


def handler(event: dict, context: Any, read_secret=None, clock=time.monotonic) -> dict:
    answer = authorized(event, read_secret or read_from_secrets_manager, clock())
    print(json.dumps({"authorizer": "organiser", "authorized": answer,
                      "route": event.get("routeKey"),
                      "request_id": getattr(context, "aws_request_id", None)}))
    return {"isAuthorized": answer}
