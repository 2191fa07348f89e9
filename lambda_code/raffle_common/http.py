"""Thin-handler helpers for API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from api_input import BadInput, json_object

MAX_BODY = 4096
JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


class HttpError(Exception):
    """A client error answered as {"error": message} with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def respond(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": dict(JSON_HEADERS),
            "body": json.dumps(body, sort_keys=True)}


def method_of(event: dict) -> str:
    return (event.get("requestContext", {}).get("http", {}).get("method")
            or event.get("httpMethod") or "").upper()


def json_body(event: dict, limit: int = MAX_BODY) -> dict:
    """The request body as a checked JSON object (api_input: size, depth, strict JSON,
    clean text); a client mistake raises BadInput, answered 400 by `handle`."""
    return json_object(event, limit)


def handle(event: dict, context: Any, method: str, action: Callable[[dict], tuple],
           route: str) -> dict:
    """Run one route: 405 for other methods, JSON errors, one structured log line."""
    started = time.perf_counter()
    got = method_of(event)
    try:
        if got != method:
            raise HttpError(405, f"use {method} for {route}")
        status, body = action(event)
    except HttpError as exc:
        status, body = exc.status, {"error": exc.message}
    except BadInput as exc:
        status, body = 400, {"error": str(exc)}
    except Exception as exc:  # never a stack trace to the caller
        _log(context, route, got, 500, started, error=type(exc).__name__)
        return respond(500, {"error": "internal error; try again later"})
    _log(context, route, got, status, started)
    response = respond(status, body)
    if status == 405:
        response["headers"]["allow"] = method
    return response


def _log(context: Any, route: str, method: str, status: int, started: float,
         **extra: Any) -> None:
    line = {"route": route, "method": method, "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "request_id": getattr(context, "aws_request_id", None), **extra}
    print(json.dumps(line, sort_keys=True))
