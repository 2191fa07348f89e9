"""Helpers to load Lambda handlers (each folder has its own handler.py) and build events."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from dataclasses import dataclass
from types import ModuleType

from .conftest import REPO

LAMBDA_CODE = REPO / "lambda_code"
HTTP_EVENT = json.loads((LAMBDA_CODE / "raffle_common/fixtures/http_api_event.json")
                        .read_text())


def load_handler(folder: str) -> ModuleType:
    if str(LAMBDA_CODE) not in sys.path:
        sys.path.insert(0, str(LAMBDA_CODE))
    spec = importlib.util.spec_from_file_location(f"{folder}_handler",
                                                  LAMBDA_CODE / folder / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def http_event(method: str, route: str, body=None, raw: str | None = None,
               base64: bool = False) -> dict:
    """The recorded HTTP API (payload 2.0) event, with another method, route and body."""
    event = copy.deepcopy(HTTP_EVENT)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/raffle{route}"
    event["body"] = raw if raw is not None else (json.dumps(body) if body is not None else None)
    event["isBase64Encoded"] = base64
    return event


@dataclass
class FakeContext:
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    function_name: str = "test"
