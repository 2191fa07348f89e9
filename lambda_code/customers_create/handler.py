"""POST /customers {"firstname", "lastname"?, "email"?} → 201 {"id"}.

The body is checked by the shared api_input package (size, nesting, strict JSON, clean
text) and `email`, when given, is a valid address, stored trimmed and lower-cased as the
raffle stores its entries.

The table name comes from the DB_NAME environment variable (CloudFormation resolves it
from SSM Parameter Store at deploy time). Items are written with a fresh id and a
condition that the id is new, so nothing is ever overwritten; only the declared fields
are stored.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from api_input import BadInput, json_object, normalise_email

MAX_BODY = 8192
MAX_FIELD = 256
FIELDS = {"firstname": True, "lastname": False, "email": False}  # name → required
_client = None


def respond(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, sort_keys=True)}


def parse(event: dict) -> dict[str, str]:
    """The customer fields of a request body (checked by api_input), or BadInput."""
    data = json_object(event, MAX_BODY)
    customer = {}
    for name, required in FIELDS.items():
        value = data.get(name)
        if value is None:
            if required:
                raise BadInput(f"{name} is required")
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD:
            raise BadInput(f"{name} must be a non-empty string of at most "
                           f"{MAX_FIELD} characters")
        customer[name] = value.strip()
    if "email" in customer:
        customer["email"] = normalise_email(customer["email"])
    return customer


def store(client, table: str, customer: dict[str, str]) -> str:
    item_id = str(uuid.uuid4())
    item = {"id": {"S": item_id}, **{k: {"S": v} for k, v in customer.items()}}
    client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(id)")
    return item_id


def shared_client():
    """The DynamoDB client of this Lambda container, created on first use (kept warm)."""
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("dynamodb")
    return _client


def create(event: dict, client) -> tuple[int, dict]:
    customer = parse(event)         # a bad body is refused before any AWS call
    return 201, {"id": store(client or shared_client(), os.environ["DB_NAME"], customer)}


def handler(event: dict, context: Any, client=None) -> dict:
    started = time.perf_counter()
    method = str(event.get("httpMethod") or "").upper()
    try:
        if method != "POST":
            status, body = 405, {"error": "use POST for /customers"}
        else:
            status, body = create(event, client)
    except BadInput as exc:
        status, body = 400, {"error": str(exc)}
    except Exception as exc:  # never a stack trace to the caller
        print(json.dumps({"route": "/customers", "status": 500, "error": type(exc).__name__}))
        return respond(500, {"error": "internal error; try again later"})
    print(json.dumps({"route": "/customers", "method": method, "status": status,
                      "ms": round((time.perf_counter() - started) * 1000, 1),
                      "request_id": getattr(context, "aws_request_id", None)}))
    return respond(status, body)
