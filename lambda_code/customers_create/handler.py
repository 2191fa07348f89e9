"""POST /customers {"firstname", "lastname"?, "email"?} → 201 {"id"}.

The table name comes from the DB_NAME environment variable (CloudFormation resolves it
from SSM Parameter Store at deploy time). Items are written with a fresh id and a
condition that the id is new, so nothing is ever overwritten; only the declared fields
are stored.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any

MAX_BODY = 8192
MAX_FIELD = 256
FIELDS = {"firstname": True, "lastname": False, "email": False}  # name → required
_client = None


class BadRequest(Exception):
    pass


def respond(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, sort_keys=True)}


def parse(event: dict) -> dict[str, str]:
    """The customer fields of a request body, or BadRequest naming what is wrong."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("body is not valid UTF-8") from None
    if len(raw.encode("utf-8")) > MAX_BODY:
        raise BadRequest(f"body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    customer = {}
    for name, required in FIELDS.items():
        value = data.get(name)
        if value is None:
            if required:
                raise BadRequest(f"{name} is required")
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD:
            raise BadRequest(f"{name} must be a non-empty string of at most "
                             f"{MAX_FIELD} characters")
        customer[name] = value.strip()
    return customer


def store(client, table: str, customer: dict[str, str]) -> str:
    item_id = str(uuid.uuid4())
    item = {"id": {"S": item_id}, **{k: {"S": v} for k, v in customer.items()}}
    client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(id)")
    return item_id


def handler(event: dict, context: Any, client=None) -> dict:
    global _client
    started = time.perf_counter()
    method = (event.get("httpMethod") or event.get("requestContext", {}).get("httpMethod")
              or "").upper()
    try:
        if method != "POST":
            status, body = 405, {"error": "use POST for /customers"}
        else:
            if client is None:
                import boto3

                _client = _client or boto3.client("dynamodb")
                client = _client
            status, body = 201, {"id": store(client, os.environ["DB_NAME"], parse(event))}
    except BadRequest as exc:
        status, body = 400, {"error": str(exc)}
    except Exception as exc:  # never a stack trace to the caller
        print(json.dumps({"route": "/customers", "status": 500, "error": type(exc).__name__}))
        return respond(500, {"error": "internal error; try again later"})
    print(json.dumps({"route": "/customers", "method": method, "status": status,
                      "ms": round((time.perf_counter() - started) * 1000, 1),
                      "request_id": getattr(context, "aws_request_id", None)}))
    return respond(status, body)
