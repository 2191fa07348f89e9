"""POST /orders → 202 {"id": …}: the order is checked, then queued for the worker.

Queuing (rather than writing the table here) keeps the API fast and lets the worker
retry; a body that is not an order is a 400 before anything is sent.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
from api_input import BadInput, json_object

LIMIT = 4096


def order(data: dict) -> dict:
    """The order a request asks for: an item name and a quantity of 1 to 100."""
    item, quantity = data.get("item"), data.get("quantity", 1)
    if not isinstance(item, str) or not 0 < len(item) <= 100:
        raise BadInput("item must be a name of 1 to 100 characters")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= 100:
        raise BadInput("quantity must be a whole number from 1 to 100")
    return {"id": str(uuid.uuid4()), "item": item, "quantity": quantity}


def response(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}


def handler(event: dict, context: Any, sqs: Any = None) -> dict:
    try:
        placed = order(json_object(event, LIMIT))
    except BadInput as error:
        return response(400, {"error": str(error)})
    sqs = sqs or boto3.client("sqs")
    sqs.send_message(QueueUrl=os.environ["INTAKE_QUEUE_URL"], MessageBody=json.dumps(placed))
    return response(202, {"id": placed["id"]})
